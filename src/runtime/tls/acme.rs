//! Certificates from an ACME authority (RFC 8555; Let's Encrypt, or pebble in the tests)
//! for `tls.acme_domains`, by the HTTP-01 challenge, which the plain-HTTP listener answers.
//!
//! Everything lives in `<data>/tls/`: the chain in `cert.pem`, and the two secrets, the
//! certificate's private key and the ACME account's key, sealed with the master key. A
//! certificate is ordered when there is none, when the configured names changed, or when it
//! has fewer than `tls.renew_before_days` left (by the injected clock). A failed order leaves
//! the certificate in force serving and raises the alert `tls.renewal_failed`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use botyard_shards::Store;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use tokio::sync::Mutex;

use super::{CertStore, Challenges, Installed, TlsError};
use crate::clock::SharedClock;
use crate::config::TlsSection;
use crate::security::crypto::Keyring;

/// The alert a failed issue or renewal raises.
pub const RENEWAL_FAILED: &str = "tls.renewal_failed";

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("the ACME authority: {0}")]
    Protocol(#[from] instant_acme::Error),
    #[error("the ACME authority did not validate {0}")]
    NotValidated(String),
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("{0}")]
    Store(String),
}

/// What a check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The certificate in force is good for longer than the renewal margin.
    NotDue { days_left: i64 },
    /// A new certificate was issued and is now served.
    Issued { serial: String, not_after: i64 },
}

pub struct Acme {
    domains: Vec<String>,
    email: Option<String>,
    directory: String,
    ca_file: Option<PathBuf>,
    renew_before_secs: i64,
    dir: PathBuf,
    keyring: Arc<Keyring>,
    store: Arc<Store>,
    clock: SharedClock,
    certs: Arc<CertStore>,
    challenges: Challenges,
    /// One order at a time (the loop and a test's `check` may meet).
    running: Mutex<()>,
}

const KEY_AAD: &[u8] = b"tls:certificate-key";
const ACCOUNT_AAD: &[u8] = b"tls:acme-account";

impl Acme {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tls: &TlsSection,
        data_dir: &Path,
        keyring: Arc<Keyring>,
        store: Arc<Store>,
        clock: SharedClock,
        certs: Arc<CertStore>,
        challenges: Challenges,
    ) -> Self {
        Acme {
            domains: tls.acme_domains.clone(),
            email: tls.acme_email.clone(),
            directory: tls.acme_directory.clone(),
            ca_file: tls.acme_ca_file.clone(),
            renew_before_secs: i64::from(tls.renew_before_days) * 86_400,
            dir: data_dir.join("tls"),
            keyring,
            store,
            clock,
            certs,
            challenges,
            running: Mutex::new(()),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Puts the certificate kept in the data folder in force, if there is one.
    pub fn load_stored(&self) -> Result<bool, AcmeError> {
        let chain = match std::fs::read(self.path("cert.pem")) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(AcmeError::Store(format!("tls/cert.pem: {e}"))),
        };
        let sealed = std::fs::read(self.path("key.sealed"))
            .map_err(|e| AcmeError::Store(format!("tls/key.sealed: {e}")))?;
        let key = self
            .keyring
            .open(&sealed, KEY_AAD)
            .map_err(|e| AcmeError::Store(format!("tls/key.sealed: {e}")))?;
        self.certs.install(Installed::from_pem(&chain, &key)?);
        Ok(true)
    }

    /// Whether a certificate must be ordered now, and the days left of the one in force.
    fn due(&self, now: i64) -> (bool, i64) {
        match self.certs.current() {
            None => (true, 0),
            Some(c) => {
                let mut have = c.names.clone();
                have.sort();
                let mut want = self.domains.clone();
                want.sort();
                let left = c.not_after - now;
                (have != want || left < self.renew_before_secs, left / 86_400)
            }
        }
    }

    /// Orders a certificate when one is due. On failure the one in force keeps serving and
    /// the alert is raised.
    pub async fn check(&self) -> Result<Checked, AcmeError> {
        let _one = self.running.lock().await;
        let now = self.clock.now();
        let (due, days_left) = self.due(now);
        if !due {
            return Ok(Checked::NotDue { days_left });
        }
        match self.issue().await {
            Ok(c) => Ok(c),
            Err(e) => {
                self.challenges.clear();
                tracing::error!(error = %e, domains = ?self.domains, "cannot get a TLS certificate; the one in force keeps serving");
                let (store, subject, detail) =
                    (self.store.clone(), self.domains.join(", "), e.to_string());
                let raised = tokio::task::spawn_blocking(move || {
                    crate::domain::alerts::raise(
                        &store,
                        now,
                        RENEWAL_FAILED,
                        None,
                        &subject,
                        &detail,
                    )
                })
                .await;
                if !matches!(raised, Ok(Ok(_))) {
                    tracing::error!("cannot raise the TLS renewal alert");
                }
                Err(e)
            }
        }
    }

    async fn account(&self) -> Result<Account, AcmeError> {
        let builder = || match &self.ca_file {
            Some(root) => Account::builder_with_root(root),
            None => Account::builder(),
        };
        let path = self.path("acme-account.sealed");
        if let Ok(sealed) = std::fs::read(&path) {
            let json = self
                .keyring
                .open(&sealed, ACCOUNT_AAD)
                .map_err(|e| AcmeError::Store(format!("tls/acme-account.sealed: {e}")))?;
            let creds: AccountCredentials = serde_json::from_slice(&json)
                .map_err(|e| AcmeError::Store(format!("tls/acme-account.sealed: {e}")))?;
            return Ok(builder()?.from_credentials(creds).await?);
        }
        let contact: Vec<String> = self.email.iter().map(|e| format!("mailto:{e}")).collect();
        let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, creds) = builder()?
            .create(
                &NewAccount {
                    contact: &contact,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.directory.clone(),
                None,
            )
            .await?;
        let json = serde_json::to_vec(&creds).map_err(|e| AcmeError::Store(e.to_string()))?;
        self.write_secret("acme-account.sealed", &json, ACCOUNT_AAD)?;
        Ok(account)
    }

    async fn issue(&self) -> Result<Checked, AcmeError> {
        tracing::info!(domains = ?self.domains, directory = %self.directory, "ordering a TLS certificate");
        let ids: Vec<Identifier> = self
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.clone()))
            .collect();
        let account = self.account().await?;
        let mut order = match account.new_order(&NewOrder::new(&ids)).await {
            Ok(o) => o,
            // The authority forgot the account (a reset staging or test server, or one
            // deactivated by hand): a new one, once.
            Err(instant_acme::Error::Api(p))
                if p.r#type.as_deref()
                    == Some("urn:ietf:params:acme:error:accountDoesNotExist") =>
            {
                tracing::warn!(
                    "the ACME authority does not know the stored account; registering again"
                );
                let _ = std::fs::remove_file(self.path("acme-account.sealed"));
                self.account()
                    .await?
                    .new_order(&NewOrder::new(&ids))
                    .await?
            }
            Err(e) => return Err(e.into()),
        };
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz?;
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(AcmeError::NotValidated(format!(
                        "{}: the authorization is {other:?}",
                        authz.identifier()
                    )));
                }
            }
            let mut challenge = authz.challenge(ChallengeType::Http01).ok_or_else(|| {
                AcmeError::NotValidated("the authority offers no HTTP-01 challenge".into())
            })?;
            self.challenges.set(
                challenge.token.clone(),
                challenge.key_authorization().as_str().to_string(),
            );
            challenge.set_ready().await?;
        }
        let patience = RetryPolicy::new()
            .initial_delay(Duration::from_millis(250))
            .backoff(1.5)
            .timeout(Duration::from_secs(90));
        let status = order.poll_ready(&patience).await?;
        self.challenges.clear();
        if status != OrderStatus::Ready {
            let why = order
                .state()
                .error
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| format!("the order is {status:?}"));
            return Err(AcmeError::NotValidated(format!(
                "{}: {why}",
                self.domains.join(", ")
            )));
        }
        let key_pem = order.finalize().await?;
        let chain = order.poll_certificate(&patience).await?;
        let installed = Installed::from_pem(chain.as_bytes(), key_pem.as_bytes())?;
        // The key first: a chain on disk always has its key beside it.
        self.write_secret("key.sealed", key_pem.as_bytes(), KEY_AAD)?;
        write_atomic(&self.path("cert.pem"), chain.as_bytes())?;
        let done = Checked::Issued {
            serial: installed.serial.clone(),
            not_after: installed.not_after,
        };
        self.certs.install(installed);
        Ok(done)
    }

    fn write_secret(&self, name: &str, plain: &[u8], aad: &[u8]) -> Result<(), AcmeError> {
        let sealed = self
            .keyring
            .seal(plain, aad)
            .map_err(|e| AcmeError::Store(format!("sealing tls/{name}: {e}")))?;
        write_atomic(&self.path(name), &sealed)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AcmeError> {
    crate::security::crypto::write_private(path, bytes)
        .map_err(|e| AcmeError::Store(format!("{}: {e}", path.display())))
}
