//! Built-in HTTPS: a certificate from files (TLS 1.3, resumption, HSTS, secure cookies, the
//! plain-HTTP redirect), and certificates from ACME against pebble, Debian's ACME test
//! server, on loopback: issued, served, renewed, and a refused renewal that leaves the old
//! certificate serving and raises an alert.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, App, Pair};

/// A certificate authority made for one test.
pub struct TestCa {
    pub pem: String,
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "botyard test CA");
        let key = rcgen::KeyPair::generate().expect("key");
        let issuer = rcgen::CertifiedIssuer::self_signed(p, key).expect("CA");
        TestCa {
            pem: issuer.pem(),
            issuer,
        }
    }

    /// A leaf for `names` (host names or IP addresses): its chain and key, PEM.
    pub fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &self.issuer)
            .expect("leaf");
        (cert.pem(), key.serialize_pem())
    }
}

/// A TLS client trusting only `roots` (PEM), on ring, with rustls's session cache.
pub fn client_config(roots: &[&str]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for pem in roots {
        for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            store.add(c.expect("root")).expect("add root");
        }
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// What one handshake showed.
#[derive(Debug)]
pub struct Handshake {
    pub version: rustls::ProtocolVersion,
    pub resumed: bool,
    /// The leaf's serial, hex.
    pub serial: String,
}

/// Connects to `addr` as `name`, completes the handshake and sends one request, so the
/// session's tickets arrive for the next connection.
pub async fn handshake(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    name: &str,
) -> Handshake {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    let server = ServerName::try_from(name.to_string()).expect("name");
    let mut tls = connector.connect(server, tcp).await.expect("TLS handshake");
    tls.write_all(
        format!("GET /healthz HTTP/1.1\r\nhost: {name}\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("request");
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let (_, conn) = tls.get_ref();
    let leaf = conn.peer_certificates().expect("certificates")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).expect("x509");
    Handshake {
        version: conn.protocol_version().expect("version"),
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        serial: cert.raw_serial_as_string().replace(':', ""),
    }
}

fn https_client(config: Arc<rustls::ClientConfig>) -> reqwest::Client {
    crate::common::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured((*config).clone())
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_from_files_tls13_resumption_hsts_secure_cookies_and_the_redirect() {
    let ca = TestCa::new();
    let (chain, key) = ca.leaf(&["localhost", "127.0.0.1"]);
    let files = tempfile::tempdir().expect("temp dir");
    let (cert_path, key_path) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert_path, &chain).expect("cert");
    std::fs::write(&key_path, &key).expect("key");
    let app = App::start_with(|c| {
        c.tls.cert_file = Some(cert_path.clone());
        c.tls.key_file = Some(key_path.clone());
        c.tls.http_listen = Some("127.0.0.1:0".parse().expect("addr"));
    })
    .await;
    let base = app.ready.base_url.clone();
    assert_eq!(base, format!("https://127.0.0.1:{}", app.addr().port()));

    // TLS 1.3, and the second connection resumes the first one's session.
    let config = client_config(&[&ca.pem]);
    let first = handshake(&config, app.addr(), "localhost").await;
    assert_eq!(first.version, rustls::ProtocolVersion::TLSv1_3);
    assert!(!first.resumed);
    let second = handshake(&config, app.addr(), "localhost").await;
    assert!(second.resumed, "{second:?}");

    let client = https_client(config);
    let r = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET over HTTPS");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    // Cookies are Secure and __Host- over HTTPS.
    let r = client
        .get(format!("{base}/console/login"))
        .send()
        .await
        .expect("login page");
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_string())
        .collect();
    assert!(!cookies.is_empty());
    for c in &cookies {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(c.contains("; Secure"), "{c}");
    }
    // The API over HTTPS, signed in.
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    let pair = Pair::from_json(&r.json().await.expect("json"));
    let me = client
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(&pair.access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);

    // `botyard healthcheck` (systemd's and the container's probe) speaks TLS to it.
    let probe = |tls: bool| {
        let mut c = crate::binary::botyard(files.path());
        c.args(["healthcheck", "--addr", &app.addr().to_string()]);
        if tls {
            c.arg("--tls");
        }
        crate::binary::run(&mut c)
    };
    let out = probe(true);
    assert!(out.status.success(), "{}", crate::binary::text(&out.stderr));
    assert!(
        !probe(false).status.success(),
        "plain HTTP to the HTTPS port"
    );

    // Plain HTTP on port "80" sends everyone to the same path over HTTPS, to the server's
    // own address whatever Host said; unknown challenges are 404.
    let http = app
        .ready
        .tls
        .as_ref()
        .and_then(|t| t.http_addr)
        .expect("HTTP listener");
    let plain = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = plain
        .get(format!("http://{http}/console/tenants?page=2"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("redirect");
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.headers()["location"],
        format!("{base}/console/tenants?page=2")
    );
    let r = plain
        .get(format!("http://{http}/.well-known/acme-challenge/unknown"))
        .send()
        .await
        .expect("challenge");
    assert_eq!(r.status(), 404);
    app.stop().await.expect("clean stop");
}

/// A certificate file that does not match its key stops the start with a clear error.
#[tokio::test]
async fn a_broken_certificate_file_stops_the_start_with_a_clear_error() {
    let ca = TestCa::new();
    let (chain, _) = ca.leaf(&["localhost"]);
    let (_, other_key) = ca.leaf(&["localhost"]);
    let files = tempfile::tempdir().expect("temp dir");
    let (cert_path, key_path) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert_path, &chain).expect("cert");
    std::fs::write(&key_path, &other_key).expect("key");
    let dir = crate::common::private_tempdir();
    let mut config = crate::common::test_config(dir.path());
    config.tls.cert_file = Some(cert_path);
    config.tls.key_file = Some(key_path);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let e = botyard::run(config, listener, std::future::pending())
        .await
        .expect_err("refused");
    assert!(
        e.to_string()
            .starts_with("HTTPS: the certificate: the key does not match it"),
        "{e}"
    );
}

/// pebble and its DNS server (pebble-challtestsrv, which answers 127.0.0.1 for every name).
struct Pebble {
    children: Vec<Child>,
    dir: tempfile::TempDir,
    pub directory: String,
    pub ca_file: std::path::PathBuf,
    management: u16,
    dns: u16,
    listen: u16,
}

impl Pebble {
    /// Starts pebble validating HTTP-01 challenges on `http_port`.
    fn start(http_port: u16) -> Pebble {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new();
        let (chain, key) = ca.leaf(&["localhost", "127.0.0.1"]);
        std::fs::write(dir.path().join("cert.pem"), chain).expect("cert");
        std::fs::write(dir.path().join("key.pem"), key).expect("key");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.pem).expect("ca");
        let mut p = Pebble {
            children: Vec::new(),
            dir,
            directory: String::new(),
            ca_file,
            management: crate::common::free_port(),
            dns: crate::common::free_port(),
            listen: crate::common::free_port(),
        };
        let dns = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{}", p.dns)])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args([
                "-management",
                &format!("127.0.0.1:{}", crate::common::free_port()),
            ])
            .args(["-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (Debian's pebble package) must be installed");
        p.children.push(dns);
        p.run(http_port);
        p
    }

    /// (Re)starts pebble itself, validating on `http_port`.
    fn run(&mut self, http_port: u16) {
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{}", self.listen),
            "managementListenAddress": format!("127.0.0.1:{}", self.management),
            "certificate": self.dir.path().join("cert.pem"),
            "privateKey": self.dir.path().join("key.pem"),
            "httpPort": http_port,
            "tlsPort": crate::common::free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let path = self.dir.path().join("pebble.json");
        std::fs::write(&path, config.to_string()).expect("config");
        let mut child = Command::new("pebble")
            .arg("-config")
            .arg(&path)
            .args(["-dnsserver", &format!("127.0.0.1:{}", self.dns)])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            // Every order validates afresh (no reuse of an earlier valid authorization).
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian's pebble package) must be installed");
        // Ready once it says so on standard output.
        let out = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(out));
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("Listening on") => break,
                Some(Ok(_)) => {}
                _ => panic!("pebble stopped before listening"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        // It prints that line just before it listens.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.listen)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "pebble never listened"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.children.push(child);
        self.directory = format!("https://127.0.0.1:{}/dir", self.listen);
    }

    /// Stops pebble itself (the DNS server stays).
    fn stop_pebble(&mut self) {
        if let Some(mut c) = self.children.pop() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The root pebble issues under (made at its start), PEM.
    async fn issuing_root(&self) -> String {
        let config = client_config(&[&std::fs::read_to_string(&self.ca_file).expect("ca")]);
        https_client(config)
            .get(format!("https://127.0.0.1:{}/roots/0", self.management))
            .send()
            .await
            .expect("pebble's roots")
            .text()
            .await
            .expect("pem")
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

const DOMAIN: &str = "bots.botyard.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_issues_serves_renews_and_a_refused_renewal_keeps_the_old_certificate() {
    use botyard::runtime::tls::acme::Checked;
    let http_port = crate::common::free_port();
    let mut pebble = Pebble::start(http_port);
    let app = App::start_with(|c| {
        c.tls.acme_domains = vec![DOMAIN.into()];
        c.tls.acme_email = Some("ops@botyard.test".into());
        c.tls.acme_directory = pebble.directory.clone();
        c.tls.acme_ca_file = Some(pebble.ca_file.clone());
        c.tls.http_listen = Some(format!("127.0.0.1:{http_port}").parse().expect("addr"));
    })
    .await;
    assert_eq!(
        app.ready.base_url,
        format!("https://{DOMAIN}:{}", app.addr().port())
    );
    let tls = app.ready.tls.clone().expect("HTTPS");
    let acme = tls.acme.clone().expect("ACME");

    // Issued at start: a check waits for that order, then finds nothing due.
    let checked = acme.check().await.expect("issued at start");
    assert!(matches!(checked, Checked::NotDue { .. }), "{checked:?}");
    let first = tls.certs.current().expect("a certificate");
    assert_eq!(first.names, vec![DOMAIN.to_string()]);
    let root = pebble.issuing_root().await;
    // A fresh client each time: a resumed session would show the certificate of the first.
    let served_serial = async |addr| {
        handshake(&client_config(&[&root]), addr, DOMAIN)
            .await
            .serial
    };
    let served = handshake(&client_config(&[&root]), app.addr(), DOMAIN).await;
    assert_eq!(served.serial, first.serial);
    // Kept in the data folder: the chain in the clear, the two keys sealed.
    let tls_dir = app.data_dir().join("tls");
    let chain = std::fs::read_to_string(tls_dir.join("cert.pem")).expect("chain");
    assert!(chain.starts_with("-----BEGIN CERTIFICATE-----"));
    for sealed in ["key.sealed", "acme-account.sealed"] {
        let bytes = std::fs::read(tls_dir.join(sealed)).expect(sealed);
        assert!(
            !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "{sealed}"
        );
    }

    // Within 30 days of expiry (by the server's clock) it is renewed, and served at once.
    let renew_at = first.not_after - 29 * 86_400;
    app.clock.set(renew_at);
    let renewed = acme.check().await.expect("renewed");
    let Checked::Issued { serial, .. } = renewed else {
        panic!("{renewed:?}")
    };
    assert_ne!(serial, first.serial);
    assert_eq!(served_serial(app.addr()).await, serial);

    // pebble refuses the next one (its validation reaches a closed port): the renewed
    // certificate keeps serving and the alert is raised.
    pebble.stop_pebble();
    pebble.run(crate::common::free_port());
    app.clock.set(renew_at + 86_400);
    let refused = acme.check().await.expect_err("refused");
    assert!(refused.to_string().contains(DOMAIN), "{refused}");
    assert_eq!(served_serial(app.addr()).await, serial);
    // Through the domain's name, resolved to the server, trusting pebble's root.
    crate::common::install_tls_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .resolve(DOMAIN, app.addr())
        .tls_backend_preconfigured((*client_config(&[&root])).clone())
        .build()
        .expect("client");
    let login = client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    let admin = Pair::from_json(&login.json().await.expect("json"));
    let alerts: serde_json::Value = client
        .get(app.url("/api/v1/alerts"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("alerts")
        .json()
        .await
        .expect("json");
    let alert = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["kind"] == "tls.renewal_failed")
        .unwrap_or_else(|| panic!("{alerts}"))
        .clone();
    assert_eq!(alert["subject"], DOMAIN);

    // A restart serves the kept certificate at once, before any order. (The test's handles
    // on the ACME client hold the store: they go first.)
    drop((acme, tls));
    let app = app.restart_at(renew_at + 86_400).await;
    let kept = app
        .ready
        .tls
        .as_ref()
        .and_then(|t| t.certs.current())
        .expect("kept");
    assert_eq!(kept.serial, serial);
    app.stop().await.expect("clean stop");
}
