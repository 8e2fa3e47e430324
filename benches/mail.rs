//! The outbox draining into a real SMTP server: N queued mails (rendered notices, ~6 KB
//! each) delivered over STARTTLS with AUTH to aiosmtpd on loopback, with 1, 4 and 8 pooled
//! connections side by side in one run; the rate, and the server process's resident memory
//! while it drains (the sender reads the queue in small batches, so it stays flat).
//!
//! Needs a Python with aiosmtpd (`BOTYARD_SMTP_PYTHON`, else `target/mailvenv/bin/python`,
//! which `.ci/run` makes) and openssl.
//!
//! `cargo bench --bench mail [-- mails]` (default 10000).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use botyard::RunOptions;
use botyard::clock::ManualClock;
use botyard::config::{MailSecurity, Secret};
use botyard::domain::mail::letter::{Action, Branding, Letter, render};
use botyard_shards::records::{Language, MailRec, MailStateRec};

mod common;

const T0: i64 = 1_796_000_000;

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(ok.status.success(), "openssl {args:?}");
}

/// A CA and the SMTP server's certificate from it.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=bench CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn python() -> PathBuf {
    std::env::var_os("BOTYARD_SMTP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mailvenv/bin/python"))
}

/// aiosmtpd accepting and forgetting, with STARTTLS and AUTH required.
fn smtp(keys: &Path) -> (std::process::Child, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg("--count-only")
        .arg("--tls-cert")
        .arg(keys.join("cert.pem"))
        .arg("--tls-key")
        .arg(keys.join("key.pem"))
        .args(["--auth", "bench:bench-password"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start aiosmtpd (BOTYARD_SMTP_PYTHON)");
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().expect("port"))
}

fn row(i: usize, letter: &botyard::domain::mail::letter::Rendered) -> MailRec {
    MailRec {
        kind: "billing.payment_received".into(),
        to: format!("musteri{i}@example.com"),
        tenant: None,
        language: Language::Tr,
        subject: letter.subject.clone(),
        text: letter.text.clone(),
        html: letter.html.clone(),
        invoice: None,
        message_id: String::new(),
        state: MailStateRec::Queued,
        attempts: 0,
        next_at: T0 + 10,
        created_at: T0,
        last_error: None,
        unsubscribe: None,
    }
}

fn rss_kib() -> u64 {
    common::memory(&std::process::id().to_string()).1
}

async fn drain(n: usize, connections: u32, port: u16, keys: &Path) -> (f64, f64, u64) {
    let dir = common::private_tempdir();
    let mut c = common::store_config(dir.path(), "bench@example.com", "kirmizi-fener-1907");
    c.mail.smtp_host = Some("127.0.0.1".into());
    c.mail.smtp_port = Some(port);
    c.mail.smtp_security = MailSecurity::Starttls;
    c.mail.smtp_user = Some("bench".into());
    c.mail.smtp_password = Some(Secret::new("bench-password"));
    c.mail.from_address = Some("bildirim@yard.test".into());
    c.mail.ca_file = Some(keys.join("ca.pem"));
    c.mail.rate_per_sec = 10_000;
    c.mail.connections = connections;
    let clock = Arc::new(ManualClock::new(T0));
    let app = common::start_with(
        c,
        RunOptions {
            clock: clock.clone(),
            ..RunOptions::default()
        },
    )
    .await;
    let store = app.ready.store.upgrade().expect("store");
    let brand = Branding {
        name: "Kuşyuvası".into(),
        accent: "#0b5cad".into(),
        ink: "#ffffff".into(),
        logo_url: Some("https://bots.example.com/console/brand/logo?v=1".into()),
        base_url: "https://bots.example.com".into(),
    };
    let letter = render(
        &Letter {
            subject: "Ödemeniz alındı: 499,00 TRY".into(),
            greeting: "Merhaba,".into(),
            paragraphs: vec!["Teşekkürler: Fırın için 499,00 TRY ödemenizi aldık. 2026-000123 numaralı fatura bu e-postanın ekindedir.".into()],
            action: Some(Action { label: "Faturalarınız".into(), url: "https://bots.example.com/console/billing".into() }),
            ..Letter::default()
        },
        &brand,
        Language::Tr,
    )
    .expect("render");
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        store
            .catalog_write(|c| {
                for i in chunk {
                    c.enqueue_account_mail(row(*i, &letter), "yard.test")?;
                }
                Ok::<_, botyard_shards::StoreError>(())
            })
            .expect("enqueue");
    }
    let queued = || {
        store
            .catalog_read()
            .and_then(|c| c.mails_queued())
            .expect("count")
    };
    assert_eq!(queued(), n as u64);
    let before = rss_kib();
    let mut peak = before;
    let t = Instant::now();
    clock.advance(10);
    while queued() > 0 {
        peak = peak.max(rss_kib());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "the outbox did not drain"
        );
    }
    let secs = t.elapsed().as_secs_f64();
    drop(store);
    app.shutdown().await;
    (n as f64 / secs, secs, peak.saturating_sub(before))
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let keys = tempfile::tempdir().unwrap();
    certificates(keys.path());
    let (mut server, port) = smtp(keys.path());
    println!("{n} queued mails to aiosmtpd over STARTTLS + AUTH on loopback");
    println!(
        "{:>12} {:>10} {:>10} {:>22}",
        "connections", "mails/s", "seconds", "RSS growth while draining"
    );
    for connections in [1u32, 4, 8] {
        let (rate, secs, grew) = drain(n, connections, port, keys.path()).await;
        println!(
            "{connections:>12} {rate:>10.0} {secs:>10.1} {:>22}",
            format!("{:.1} MiB", grew as f64 / 1024.0)
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
