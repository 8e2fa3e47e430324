//! HTTPS served by the appliance itself (rustls on ring): the certificate in force, swapped
//! without a restart when a renewed one arrives; where it comes from (files, re-read when
//! they change, or an ACME authority, in [`acme`]); and the HTTP-01 challenges the plain-HTTP
//! listener answers while a certificate is being issued.
//!
//! The listener that does the handshakes is `http::tls_listener`; this module knows nothing
//! of HTTP.

pub mod acme;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::ring as provider;
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("the certificate: {0}")]
    Certificate(String),
    #[error("TLS settings: {0}")]
    Config(String),
}

/// A certificate in force, with what the status pages and the renewal need to know.
#[derive(Clone)]
pub struct Installed {
    pub key: Arc<CertifiedKey>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// The leaf's serial number in hex, to tell one certificate from the next.
    pub serial: String,
    pub names: Vec<String>,
}

impl std::fmt::Debug for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installed")
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .field("names", &self.names)
            .finish()
    }
}

impl Installed {
    /// A chain and its private key from PEM text; the key must match the leaf.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Installed, TlsError> {
        let bad = |e: &dyn std::fmt::Display| TlsError::Certificate(e.to_string());
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&e))?;
        let leaf = certs
            .first()
            .ok_or_else(|| TlsError::Certificate("no certificate in the PEM".into()))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| bad(&e))?;
        let (not_before, not_after, serial, names) = leaf_facts(leaf)?;
        let signing = provider::sign::any_supported_type(&key).map_err(|e| bad(&e))?;
        let certified = CertifiedKey::new(certs, signing);
        certified
            .keys_match()
            .map_err(|e| TlsError::Certificate(format!("the key does not match it: {e}")))?;
        Ok(Installed {
            key: Arc::new(certified),
            not_before,
            not_after,
            serial,
            names,
        })
    }
}

/// Validity, serial and DNS names of a leaf certificate.
fn leaf_facts(leaf: &CertificateDer<'_>) -> Result<(i64, i64, String, Vec<String>), TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| TlsError::Certificate(format!("unreadable: {e}")))?;
    let validity = cert.validity();
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push((*d).to_string());
            }
        }
    }
    Ok((
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
        cert.raw_serial_as_string().replace(':', ""),
        names,
    ))
}

/// The certificate handshakes get; swapped in place when a new one is installed.
#[derive(Default, Debug)]
pub struct CertStore {
    current: RwLock<Option<Installed>>,
}

impl CertStore {
    pub fn install(&self, cert: Installed) {
        tracing::info!(serial = %cert.serial, names = ?cert.names, not_after = cert.not_after, "TLS certificate installed");
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(cert);
    }

    pub fn current(&self) -> Option<Installed> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // One certificate for every name (ACME orders one for all the configured names).
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|c| c.key.clone())
    }
}

/// HTTP-01 challenges in progress: token → key authorization.
#[derive(Clone, Default, Debug)]
pub struct Challenges(Arc<RwLock<HashMap<String, String>>>);

impl Challenges {
    pub fn answer(&self, token: &str) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    fn set(&self, token: String, key_authorization: String) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token, key_authorization);
    }

    fn clear(&self) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The rustls server settings: TLS 1.2 and 1.3 with ring's safe defaults, HTTP/1.1, and
/// session resumption both ways (a server-side cache and TLS 1.3 tickets).
pub fn server_config(certs: Arc<CertStore>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut c = rustls::ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    c.session_storage = ServerSessionMemoryCache::new(8192);
    c.ticketer = provider::Ticketer::new().map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(c))
}

/// A certificate and key from files (`tls.cert_file`, `tls.key_file`), re-read when either
/// changes (certbot and friends replace them in place).
#[derive(Debug)]
pub struct FileSource {
    cert: PathBuf,
    key: PathBuf,
    seen: RwLock<Option<(SystemTime, SystemTime)>>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl FileSource {
    pub fn new(cert: PathBuf, key: PathBuf) -> Self {
        FileSource {
            cert,
            key,
            seen: RwLock::new(None),
        }
    }

    /// Loads the pair into `store`.
    pub fn load(&self, store: &CertStore) -> Result<(), TlsError> {
        let stamp = (modified(&self.cert), modified(&self.key));
        let installed = Installed::from_pem(&read(&self.cert)?, &read(&self.key)?)?;
        store.install(installed);
        if let (Some(a), Some(b)) = stamp {
            *self.seen.write().unwrap_or_else(|p| p.into_inner()) = Some((a, b));
        }
        Ok(())
    }

    /// Loads the pair again when a file changed; a broken new pair leaves the old one
    /// serving. `Ok(true)` when a new one was installed.
    pub fn reload_if_changed(&self, store: &CertStore) -> Result<bool, TlsError> {
        let now = (modified(&self.cert), modified(&self.key));
        let seen = *self.seen.read().unwrap_or_else(|p| p.into_inner());
        match (now, seen) {
            ((Some(a), Some(b)), Some(old)) if (a, b) == old => Ok(false),
            _ => self.load(store).map(|()| true),
        }
    }
}

/// Built-in HTTPS as configured: the certificate store the listener resolves from, the
/// challenges the plain-HTTP listener answers, and what keeps the certificate fresh.
pub struct Https {
    pub certs: Arc<CertStore>,
    pub challenges: Challenges,
    pub server: Arc<rustls::ServerConfig>,
    pub acme: Option<Arc<acme::Acme>>,
    files: Option<Arc<FileSource>>,
}

/// How often certificate files are looked at for a change.
const FILE_CHECK: std::time::Duration = std::time::Duration::from_secs(60);
/// How often an ACME certificate's remaining days are checked; a failed order is retried
/// after [`ACME_RETRY`].
const ACME_CHECK: std::time::Duration = std::time::Duration::from_secs(12 * 3600);
const ACME_RETRY: std::time::Duration = std::time::Duration::from_secs(3600);

impl Https {
    /// `None` without `tls.cert_file` or `tls.acme_domains`. Certificate files must load now
    /// (a server that cannot serve HTTPS should not start); an ACME certificate kept in the
    /// data folder is put in force, and a missing one is ordered once the server runs.
    pub fn prepare(
        config: &crate::config::Config,
        keyring: Arc<crate::security::crypto::Keyring>,
        store: Arc<botyard_shards::Store>,
        clock: crate::clock::SharedClock,
    ) -> Result<Option<Https>, TlsError> {
        let tls = &config.tls;
        if !tls.enabled() {
            return Ok(None);
        }
        let certs = Arc::new(CertStore::default());
        let challenges = Challenges::default();
        let server = server_config(certs.clone())?;
        let (mut files, mut acme) = (None, None);
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            let f = FileSource::new(cert.clone(), key.clone());
            f.load(&certs)?;
            files = Some(Arc::new(f));
        } else {
            let a = acme::Acme::new(
                tls,
                &config.data_dir,
                keyring,
                store,
                clock,
                certs.clone(),
                challenges.clone(),
            );
            if let Err(e) = a.load_stored() {
                tracing::warn!(error = %e, "the stored TLS certificate cannot be used; ordering a new one");
            }
            acme = Some(Arc::new(a));
        }
        Ok(Some(Https {
            certs,
            challenges,
            server,
            acme,
            files,
        }))
    }

    /// Keeps the certificate fresh until `stop`: re-reads changed files, or orders from the
    /// ACME authority when due.
    pub fn spawn_upkeep(
        &self,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) -> tokio::task::JoinHandle<()> {
        let (files, acme, certs) = (self.files.clone(), self.acme.clone(), self.certs.clone());
        tokio::spawn(async move {
            loop {
                let wait = if let Some(a) = &acme {
                    match a.check().await {
                        Ok(acme::Checked::Issued { serial, not_after }) => {
                            tracing::info!(%serial, not_after, "TLS certificate issued");
                            ACME_CHECK
                        }
                        Ok(acme::Checked::NotDue { .. }) => ACME_CHECK,
                        Err(_) => ACME_RETRY,
                    }
                } else if let Some(f) = &files {
                    if let Err(e) = f.reload_if_changed(&certs) {
                        tracing::error!(error = %e, "the changed certificate files cannot be used; the one in force keeps serving");
                    }
                    FILE_CHECK
                } else {
                    return;
                };
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(name: &str) -> (String, String) {
        let k = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        (k.cert.pem(), k.signing_key.serialize_pem())
    }

    #[test]
    fn a_pair_is_read_with_its_facts_and_a_wrong_key_is_refused() {
        let (cert, key) = self_signed("bots.example.com");
        let c = Installed::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(c.names, vec!["bots.example.com".to_string()]);
        assert!(c.not_after > c.not_before);
        assert!(!c.serial.is_empty());
        let (_, other_key) = self_signed("other.example.com");
        let e = Installed::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        assert!(Installed::from_pem(b"not pem", key.as_bytes()).is_err());
    }

    #[test]
    fn files_are_reloaded_only_when_they_change_and_a_bad_pair_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed("a.example.com");
        let (cp, kp) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cp, &cert).unwrap();
        std::fs::write(&kp, &key).unwrap();
        let store = CertStore::default();
        let src = FileSource::new(cp.clone(), kp.clone());
        src.load(&store).unwrap();
        let first = store.current().unwrap().serial;
        assert!(!src.reload_if_changed(&store).unwrap());
        // A half-written renewal: the certificate changed, the key not yet.
        let (cert2, key2) = self_signed("a.example.com");
        std::fs::write(&cp, &cert2).unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&cp)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(src.reload_if_changed(&store).is_err());
        assert_eq!(store.current().unwrap().serial, first);
        std::fs::write(&kp, &key2).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&kp)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(src.reload_if_changed(&store).unwrap());
        assert_ne!(store.current().unwrap().serial, first);
    }
}
