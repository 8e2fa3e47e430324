//! Mail against a real SMTP server process (aiosmtpd, `tests/smtp/server.py`) on a loopback
//! port: STARTTLS with a certificate of the test's own, AUTH, DKIM verified by dkimpy, what
//! arrived parsed by Python's MIME parser; the notices; and the faults (4xx, 5xx, the server
//! down).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, ADMIN_EMAIL, App, PASSWORD};
use botyard::config::{MailSecurity, Secret};

pub const USER: &str = "bildirim";
pub const SMTP_PASSWORD: &str = "posta-kutusu-77";
const FROM: &str = "bildirim@yard.test";

/// The Python with aiosmtpd and dkimpy: `BOTYARD_SMTP_PYTHON`, else the venv `.ci/run` makes.
/// `None` (the test skips) when neither exists, which fails under `BOTYARD_E2E=1`.
pub fn python() -> Option<PathBuf> {
    let p = std::env::var_os("BOTYARD_SMTP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mailvenv/bin/python")
        });
    let ok = Command::new(&p)
        .args(["-c", "import aiosmtpd, dkim"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !std::env::var("BOTYARD_E2E").is_ok_and(|v| v == "1"),
            "BOTYARD_E2E=1 but {} has no aiosmtpd and dkimpy",
            p.display()
        );
        eprintln!("skipped: no Python with aiosmtpd (set BOTYARD_SMTP_PYTHON)");
        return None;
    }
    Some(p)
}

/// Keys and a certificate made by openssl for one test.
pub struct Keys {
    pub dir: tempfile::TempDir,
}

impl Keys {
    pub fn new() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        // A CA of the test's own, and the server's certificate from it (a CA's certificate
        // cannot serve as a server's).
        run(&[
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
            "/CN=botyard test CA",
        ]);
        run(&[
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
        ]);
        std::fs::write(
            dir.path().join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        run(&[
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
        ]);
        run(&["genrsa", "-traditional", "-out", "dkim.pem", "2048"]);
        let der = run(&["rsa", "-in", "dkim.pem", "-pubout", "-outform", "DER"]);
        use base64::Engine;
        let p = base64::engine::general_purpose::STANDARD.encode(der);
        std::fs::write(
            dir.path().join("dkim.txt"),
            format!("v=DKIM1; k=rsa; p={p}"),
        )
        .unwrap();
        Keys { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A running aiosmtpd; killed when dropped.
pub struct Smtp {
    child: Child,
    pub port: u16,
    pub out: tempfile::TempDir,
}

impl Smtp {
    /// Starts the server (on `port`, or one it picks) with STARTTLS, AUTH and DKIM checks.
    pub fn start(py: &Path, keys: &Keys, port: u16) -> Smtp {
        Self::spawn(py, Some(keys), port)
    }

    /// Starts a plain server: no TLS, no AUTH (a relay on the machine).
    pub fn start_plain(py: &Path) -> Smtp {
        Self::spawn(py, None, 0)
    }

    fn spawn(py: &Path, keys: Option<&Keys>, port: u16) -> Smtp {
        let out = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut cmd = Command::new(py);
        cmd.arg(script)
            .arg("--out")
            .arg(out.path())
            .args(["--port", &port.to_string()]);
        if let Some(keys) = keys {
            cmd.arg("--tls-cert")
                .arg(keys.path("cert.pem"))
                .arg("--tls-key")
                .arg(keys.path("key.pem"))
                .args(["--auth", &format!("{USER}:{SMTP_PASSWORD}")])
                .arg("--dkim-key-file")
                .arg(keys.path("dkim.txt"));
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Smtp { child, port, out }
    }

    /// What it received so far, in order.
    pub fn received(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(self.out.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until `n` messages arrived (at most 30 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..600 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} of {n} mails arrived", self.received().len());
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app's mail settings for `port`, from the configuration.
pub fn configure(c: &mut botyard::config::Config, keys: &Keys, port: u16) {
    c.mail.smtp_host = Some("127.0.0.1".into());
    c.mail.smtp_port = Some(port);
    c.mail.smtp_security = MailSecurity::Starttls;
    c.mail.smtp_user = Some(USER.into());
    c.mail.smtp_password = Some(Secret::new(SMTP_PASSWORD));
    c.mail.from_address = Some(FROM.into());
    c.mail.from_name = Some("Kuşyuvası Bildirim".into());
    c.mail.dkim_selector = Some("s1".into());
    c.mail.dkim_key_file = Some(keys.path("dkim.pem"));
    c.mail.ca_file = Some(keys.path("ca.pem"));
    c.mail.rate_per_sec = 1000;
}

fn text_part(m: &Value, kind: &str) -> String {
    m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} part in {m}"))["text"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The value of `name=` in the first link of `text` that has it.
fn token_in(text: &str, name: &str) -> String {
    let at = text.find(&format!("{name}=")).expect("a link with a token") + name.len() + 1;
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Makes the tenant's own language Turkish (what its people read unless they chose).
async fn in_turkish(app: &App, admin: &str, tenant: u64, name: &str) {
    let mut settings = common::settings_body(name);
    settings["language"] = json!("tr");
    app.put(
        &format!("/api/v1/tenants/{tenant}/settings"),
        admin,
        settings,
    )
    .await
    .expect(200);
}

/// Queues a test mail to `to` as an admin; its outbox id.
async fn queue_test_mail(app: &App, admin: &str, to: &str) -> u64 {
    app.post("/api/v1/mail/test", admin, json!({"to": to}))
        .await
        .expect(202)["mail_id"]
        .as_u64()
        .unwrap()
}

/// Waits until the outbox row `id` is no longer queued with no attempt made, and returns it.
async fn outbox_row(app: &App, admin: &str, id: u64, state: &str) -> Value {
    for _ in 0..600 {
        let r = app.get("/api/v1/mail/outbox?limit=1000", admin).await;
        let rows = r.expect(200).as_array().unwrap().clone();
        if let Some(row) = rows.iter().find(|m| m["mail_id"] == id)
            && row["state"] == state
            && (state != "queued" || row["attempts"].as_u64() > Some(0))
        {
            return row.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mail {id} never reached {state}");
}

#[tokio::test]
async fn a_test_mail_arrives_over_starttls_with_auth_and_a_valid_dkim_signature() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let r = app
        .post(
            "/api/v1/mail/test",
            &admin,
            json!({"to": "ayse@example.com"}),
        )
        .await;
    let id = r.expect(202)["mail_id"].as_u64().unwrap();
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["tls"], true, "STARTTLS before MAIL");
    assert_eq!(m["authenticated"], true);
    assert_eq!(m["mail_from"], FROM);
    assert_eq!(m["rcpt_tos"], json!(["ayse@example.com"]));
    let h = &m["headers"];
    assert_eq!(h["From"], "Kuşyuvası Bildirim <bildirim@yard.test>");
    assert_eq!(h["Subject"], "Test mail from botyard");
    assert!(
        h["Message-ID"]
            .as_str()
            .unwrap()
            .starts_with(&format!("<outbox.{id}.")),
        "{h}"
    );
    assert!(h["Message-ID"].as_str().unwrap().ends_with("@yard.test>"));
    assert_eq!(h["Auto-Submitted"], "auto-generated");
    assert!(
        h["DKIM-Signature"]
            .as_str()
            .unwrap()
            .contains("d=yard.test")
    );
    assert!(h["DKIM-Signature"].as_str().unwrap().contains("s=s1"));
    assert_eq!(m["dkim_verified"], true, "dkimpy checks the signature");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert!(text_part(m, "text/plain").contains("test mail you asked for"));
    assert!(text_part(m, "text/html").contains("<!doctype html>"));
    let row = outbox_row(&app, &admin, id, "sent").await;
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["message_id"], h["Message-ID"]);
    // A resend is the same message again, for a receiver to recognise.
    app.post(
        &format!("/api/v1/mail/outbox/{id}/resend"),
        &admin,
        json!({}),
    )
    .await
    .expect(202);
    let both = smtp.wait_for(2).await;
    assert_eq!(both[1]["headers"]["Message-ID"], h["Message-ID"]);
    // Only admins see the outbox.
    let (_, _, owner) = app
        .tenant_with_owner(&admin, "Çiçekçi", "owner@example.com")
        .await;
    app.get("/api/v1/mail/outbox", &owner.access)
        .await
        .expect_err(403, "auth.admin_required");
    app.post("/api/v1/mail/test", &admin, json!({"to": "not an address"}))
        .await
        .expect_err(422, "mail.address");
}

#[tokio::test]
async fn an_invitation_goes_in_the_tenants_language_with_its_link() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let tenant = app.create_tenant(&admin, "Çiçekçi Ayşe").await;
    in_turkish(&app, &admin, tenant, "Çiçekçi Ayşe").await;
    let r = app
        .post(
            &format!("/api/v1/tenants/{tenant}/invitations"),
            &admin,
            json!({"email": "zeynep@example.com", "role": "editor"}),
        )
        .await;
    let token = r.expect(201)["token"].as_str().unwrap().to_string();
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["headers"]["Subject"], "Çiçekçi Ayşe sizi davet ediyor");
    assert_eq!(m["headers"]["Content-Language"], "tr");
    let text = text_part(m, "text/plain");
    assert!(
        text.contains("düzenleyici olarak davet edildiniz"),
        "{text}"
    );
    assert_eq!(token_in(&text, "token"), token);
    let html = text_part(m, "text/html");
    assert!(html.contains("Daveti kabul et") && html.contains("lang=\"tr\""));
}

#[tokio::test]
async fn a_password_reset_answers_the_same_and_its_link_works_once() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    app.tenant_with_owner(&admin, "Fırın", "owner@example.com")
        .await;
    let known = app
        .post(
            "/api/v1/auth/password-reset",
            "",
            json!({"email": "Owner@Example.com"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/password-reset",
            "",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!((known.status, &known.text), (unknown.status, &unknown.text));
    assert_eq!(known.status, 202);
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["owner@example.com"]));
    assert_eq!(m["headers"]["Subject"], "Reset your password");
    let token = token_in(&text_part(m, "text/plain"), "token");
    let new = "kirmizi-lale-bahcesi-5";
    app.post(
        "/api/v1/auth/password-reset/confirm",
        "",
        json!({"token": token, "password": new}),
    )
    .await
    .expect(204);
    app.login("owner@example.com", new).await;
    app.login_raw("owner@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
    app.post(
        "/api/v1/auth/password-reset/confirm",
        "",
        json!({"token": token, "password": "baska-bir-sifre-2026"}),
    )
    .await
    .expect_err(422, "auth.link_invalid");
    // Nothing went to the address without an account.
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn an_email_change_is_confirmed_from_the_new_address_and_the_old_one_is_told() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let (_, _, owner) = app
        .tenant_with_owner(&admin, "Fırın", "owner@example.com")
        .await;
    let owner = owner.access;
    app.post(
        "/api/v1/auth/email",
        &owner,
        json!({"email": "yeni@example.com", "password": "wrong-password-1"}),
    )
    .await
    .expect_err(422, "auth.wrong_password");
    app.post(
        "/api/v1/auth/email",
        &owner,
        json!({"email": "yeni@example.com", "password": PASSWORD}),
    )
    .await
    .expect(202);
    let m = smtp.wait_for(1).await[0].clone();
    assert_eq!(m["rcpt_tos"], json!(["yeni@example.com"]));
    let token = token_in(&text_part(&m, "text/plain"), "token");
    app.post("/api/v1/auth/email/confirm", "", json!({"token": token}))
        .await
        .expect(204);
    let told = &smtp.wait_for(2).await[1];
    assert_eq!(told["rcpt_tos"], json!(["owner@example.com"]));
    assert_eq!(told["headers"]["Subject"], "Your email address was changed");
    app.login("yeni@example.com", PASSWORD).await;
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_told_but_not_the_first_one() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let login = |agent: &'static str| {
        let app = &app;
        async move {
            let r = common::send(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("user-agent", agent)
                    .json(&json!({"email": ADMIN_EMAIL, "password": common::ADMIN_PASSWORD})),
            )
            .await;
            r.expect(200);
        }
    };
    login("Firefox/140").await;
    login("Firefox/140").await;
    login("Chrome/150 (Android)").await;
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["headers"]["Subject"], "New sign-in to your account");
    assert!(text_part(m, "text/plain").contains("Chrome/150 (Android)"));
    // Nothing else was queued for those sign-ins.
    let admin = common::send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("user-agent", "Firefox/140")
            .json(&json!({"email": ADMIN_EMAIL, "password": common::ADMIN_PASSWORD})),
    )
    .await;
    let admin = admin.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rows = app.get("/api/v1/mail/outbox", &admin).await;
    let rows = rows.expect(200).as_array().unwrap().clone();
    assert_eq!(
        rows.iter()
            .filter(|r| r["kind"] == "account.new_device")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_4xx_is_retried_with_a_pause_and_a_5xx_fails_with_the_servers_answer() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let temp = queue_test_mail(&app, &admin, "temp1-ali@example.com").await;
    let perm = queue_test_mail(&app, &admin, "perm-veli@example.com").await;
    let failed = outbox_row(&app, &admin, perm, "failed").await;
    assert!(
        failed["error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
    assert_eq!(failed["attempts"], 1);
    let waiting = outbox_row(&app, &admin, temp, "queued").await;
    assert!(
        waiting["error"].as_str().unwrap().contains("451"),
        "{waiting}"
    );
    assert!(waiting["next_attempt_at"].is_string());
    assert!(smtp.received().is_empty());
    // The pause is 30 s on the server's clock; then it goes.
    app.clock.advance(31);
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["temp1-ali@example.com"]));
    assert_eq!(outbox_row(&app, &admin, temp, "sent").await["attempts"], 2);
    // The permanent failure was never tried again.
    app.clock.advance(3600);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 1);
    let admin = app.admin().await.access;
    let r = app.get("/api/v1/mail/outbox?state=failed", &admin).await;
    assert_eq!(r.expect(200).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn mail_waits_while_the_server_is_down_and_goes_when_it_is_back() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = App::start_with(|c| configure(c, &keys, port)).await;
    let admin = app.admin().await.access;
    let id = queue_test_mail(&app, &admin, "ayse@example.com").await;
    let waiting = outbox_row(&app, &admin, id, "queued").await;
    assert!(waiting["error"].is_string(), "{waiting}");
    let smtp = Smtp::start(&py, &keys, port);
    app.clock.advance(31);
    let m = &smtp.wait_for(1).await[0];
    assert_eq!(m["rcpt_tos"], json!(["ayse@example.com"]));
    outbox_row(&app, &admin, id, "sent").await;
}

#[tokio::test]
async fn alerts_reach_admins_and_the_tenants_people_and_digests_gather_them() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Fırın", "owner@example.com")
        .await;
    let owner = owner.access;
    let store = app.ready.store.upgrade().unwrap();
    let raise = |subject: &str| {
        botyard::domain::alerts::raise(
            &store,
            botyard::clock::Clock::now(&*app.clock),
            botyard::domain::alerts::SESSION_REVOKED,
            Some(botyard_shards::ids::TenantId(tenant)),
            subject,
            "Telegram no longer accepts its auth key",
        )
        .unwrap()
    };
    raise("session 4");
    let got = smtp.wait_for(2).await;
    let to_admin = got
        .iter()
        .find(|m| m["rcpt_tos"] == json!([ADMIN_EMAIL]))
        .unwrap();
    assert_eq!(
        to_admin["headers"]["Subject"],
        "[session.revoked] Fırın: session 4"
    );
    let to_owner = got
        .iter()
        .find(|m| m["rcpt_tos"] == json!(["owner@example.com"]))
        .unwrap();
    assert_eq!(
        to_owner["headers"]["Subject"],
        "Fırın: a session was logged out"
    );
    assert!(text_part(to_owner, "text/plain").contains("Connect it again from Sessions"));
    // The owner asks for a digest: the next two wait for an hour and come as one mail.
    app.put(
        "/api/v1/auth/notices",
        &owner,
        json!({"digest": true, "muted": ["bot.flood_wait"]}),
    )
    .await
    .expect(200);
    app.put(
        "/api/v1/auth/notices",
        &owner,
        json!({"muted": ["billing.suspended"]}),
    )
    .await
    .expect_err(422, "notice.not_optional");
    raise("session 5");
    raise("session 6");
    let got = smtp.wait_for(4).await;
    assert!(
        got[2..]
            .iter()
            .all(|m| m["rcpt_tos"] == json!([ADMIN_EMAIL])),
        "admins get each"
    );
    app.clock.advance(3601);
    let got = smtp.wait_for(5).await;
    let digest = &got[4];
    assert_eq!(digest["rcpt_tos"], json!(["owner@example.com"]));
    assert_eq!(digest["headers"]["Subject"], "2 notices from the last hour");
    let text = text_part(digest, "text/plain");
    assert!(
        text.contains("session 5") || text.contains("a session was logged out"),
        "{text}"
    );
    assert_eq!(
        text.matches("a session was logged out").count(),
        2,
        "{text}"
    );
}

#[tokio::test]
async fn the_console_sets_the_server_sends_a_test_mail_and_shows_the_outbox() {
    let Some(py) = python() else { return };
    // The console cannot name a private CA, so the relay here is plain SMTP on loopback
    // (`none`); STARTTLS is covered by the configuration's tests above.
    let smtp = Smtp::start_plain(&py);
    let port = smtp.port.to_string();
    let app = App::start().await;
    let mut b = crate::console::Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    let page = b.get("/console/mail").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("No mail yet."));
    let csrf = page.csrf();
    let bad = b
        .post(
            "/console/mail",
            &[
                ("_csrf", &csrf),
                ("host", "smtp example"),
                ("security", "none"),
                ("from_address", FROM),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text.contains("smtp.example.com"),
        "the field's error is shown"
    );
    let saved = b
        .post(
            "/console/mail",
            &[
                ("_csrf", &csrf),
                ("host", "127.0.0.1"),
                ("port", &port),
                ("security", "none"),
                ("from_address", FROM),
                ("from_name", "Fırın Bildirim"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let sent = b
        .post(
            "/console/mail/test",
            &[("_csrf", &csrf), ("to", "zeynep@example.com")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let m = smtp.wait_for(1).await[0].clone();
    assert_eq!(m["headers"]["From"], "Fırın Bildirim <bildirim@yard.test>");
    assert_eq!(m["tls"], false, "`none` is plain");
    let mut shown = String::new();
    for _ in 0..100 {
        shown = b.get("/console/mail").await.text;
        if shown.contains("badge sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        shown.contains("zeynep@example.com") && shown.contains("badge sent"),
        "{shown}"
    );
    // The password field never shows what is stored.
    assert!(!shown.contains("posta-kutusu"));
}

#[tokio::test]
async fn the_owner_hears_of_each_step_of_the_subscription_once_and_gets_the_invoice() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let plan = crate::billing::priced_plan(&app, &admin).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Fırın", "owner@example.com")
        .await;
    // An editor hears nothing of money.
    app.add_member(&admin, tenant, "editor@example.com", "editor")
        .await;
    app.post(
        &format!("/api/v1/tenants/{tenant}/subscription/trial"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect(201);
    const DAY: i64 = 86_400;
    let pass = || async {
        let admin = app.admin().await.access;
        app.post("/api/v1/billing/renewals", &admin, json!({}))
            .await
            .expect(200);
    };
    let subjects = |n: usize| {
        let smtp = &smtp;
        async move {
            smtp.wait_for(n)
                .await
                .iter()
                .filter(|m| m["rcpt_tos"] == json!(["owner@example.com"]))
                .map(|m| m["headers"]["Subject"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // The 7-day trial: a reminder 3 days before its end, once however often the job runs.
    app.clock.advance(4 * DAY + 3600);
    pass().await;
    pass().await;
    let s = subjects(1).await;
    assert!(s[0].starts_with("Your trial of Fırın ends on "), "{s:?}");
    // Its end: past due; a day before the grace ends; suspended. (Each mail is awaited
    // before the clock moves on: mails sent at once may arrive in any order.)
    app.clock.advance(3 * DAY);
    pass().await;
    assert_eq!(subjects(2).await[1], "The renewal of Fırın was not paid");
    app.clock.advance(2 * DAY);
    pass().await;
    let s = subjects(3).await;
    assert!(s[2].starts_with("Fırın will be suspended on "), "{s:?}");
    app.clock.advance(DAY);
    pass().await;
    assert_eq!(subjects(4).await[3], "Fırın is suspended");
    // A transfer: the payment's mail carries its invoice.
    let admin = app.admin().await.access;
    app.post(
        &format!("/api/v1/tenants/{tenant}/payments"),
        &admin,
        json!({"amount": 49900, "currency": "TRY", "paid_on": "2026-12-04", "reference": "EFT-0001"}),
    )
    .await
    .expect(201);
    let got = smtp.wait_for(5).await;
    let paid = &got[4];
    assert_eq!(paid["rcpt_tos"], json!(["owner@example.com"]));
    assert_eq!(paid["headers"]["Subject"], "Payment received: 499.00 TRY");
    assert_eq!(paid["content_type"], "multipart/mixed");
    let pdf = &paid["attachments"][0];
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["head"].as_str().unwrap().get(..5), Some("%PDF-"));
    assert!(pdf["filename"].as_str().unwrap().ends_with(".pdf"));
    assert!(
        text_part(paid, "text/plain")
            .contains(pdf["filename"].as_str().unwrap().trim_end_matches(".pdf"))
    );
    // Nothing went to the editor, and nothing twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 5);
}

#[tokio::test]
async fn the_console_resets_a_password_and_confirms_an_address_from_the_mailed_links() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    app.tenant_with_owner(&admin, "Fırın", "owner@example.com")
        .await;
    let mut b = crate::console::Browser::new(&app);
    b.lang = "tr";
    let login = b.get("/console/login").await;
    assert!(login.text.contains("href=\"/console/forgot\""));
    let page = b.get("/console/forgot").await;
    let csrf = page.csrf();
    let sent = b
        .post(
            "/console/forgot",
            &[("_csrf", &csrf), ("email", "owner@example.com")],
        )
        .await;
    assert_eq!(sent.status, 200);
    let nobody = b
        .post(
            "/console/forgot",
            &[("_csrf", &csrf), ("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(
        nobody.text.replace(&csrf, ""),
        sent.text.replace(&csrf, ""),
        "the same page"
    );
    let m = &smtp.wait_for(1).await[0];
    let token = token_in(&text_part(m, "text/plain"), "token");
    // Opening the link spends nothing; the form does.
    let form = b.get(&format!("/console/reset?token={token}")).await;
    assert_eq!(form.status, 200);
    let weak = b
        .post(
            "/console/reset",
            &[("_csrf", &csrf), ("token", &token), ("password", "123")],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    let done = b
        .post(
            "/console/reset",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("password", "sari-papatya-tarlasi-8"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    b.sign_in("owner@example.com", "sari-papatya-tarlasi-8")
        .await;
    // The account page: notifications and a new address.
    let account = b.get("/console/account").await;
    assert!(account.text.contains("id=\"notices\""));
    let csrf = account.csrf();
    let r = b
        .post(
            "/console/account/notices",
            &[
                ("_csrf", &csrf),
                ("on", "bot.session_revoked"),
                ("digest", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let owner = app
        .login("owner@example.com", "sari-papatya-tarlasi-8")
        .await;
    let prefs = app.get("/api/v1/auth/notices", &owner.access).await;
    let prefs = prefs.expect(200);
    assert_eq!(prefs["digest"], true);
    assert!(
        prefs["muted"]
            .as_array()
            .unwrap()
            .contains(&json!("bot.campaign_paused"))
    );
    assert!(
        !prefs["muted"]
            .as_array()
            .unwrap()
            .contains(&json!("bot.session_revoked"))
    );
    let r = b
        .post(
            "/console/account/email",
            &[
                ("_csrf", &csrf),
                ("email", "firin@example.com"),
                ("password", "sari-papatya-tarlasi-8"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let m = smtp.wait_for(2).await[1].clone();
    assert_eq!(m["rcpt_tos"], json!(["firin@example.com"]));
    let token = token_in(&text_part(&m, "text/plain"), "token");
    let page = b.get(&format!("/console/email?token={token}")).await;
    let csrf2 = page.csrf();
    let ok = b
        .post("/console/email", &[("_csrf", &csrf2), ("token", &token)])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let again = b
        .post("/console/email", &[("_csrf", &csrf2), ("token", &token)])
        .await;
    assert_eq!(again.status, 422);
    app.login("firin@example.com", "sari-papatya-tarlasi-8")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_with_telegram_linked_get_alerts_from_the_platform_bot() {
    use botyard_fakedc::world::World;
    let world = std::sync::Arc::new(World::new(
        &[(crate::api_telegram::TOKEN, 6000, "yard_platform_bot")],
        vec![],
    ));
    let (dc, _seed, app) = crate::api_telegram::platform_app(&world).await;
    app.platform_online().await;
    app.link_telegram(ADMIN_EMAIL, 4242);
    let store = app.ready.store.upgrade().unwrap();
    botyard::domain::alerts::raise(
        &store,
        botyard::clock::Clock::now(&*app.clock),
        botyard::domain::alerts::DISK_LOW,
        None,
        "data folder",
        "800 MiB free of 20000 MiB (4 %)",
    )
    .unwrap();
    let sent = crate::api_telegram::posts(&world, 1).await;
    assert_eq!(
        crate::api_telegram::to_user(&sent[0]),
        Some((4242, 4242 * 7))
    );
    assert!(
        sent[0].text.contains("[disk.nearly_full] data folder"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("800 MiB free"));
    let admin = app.admin().await.access;
    let mut rows = Vec::new();
    for _ in 0..200 {
        rows = app
            .get("/api/v1/mail/outbox", &admin)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .clone();
        if rows
            .iter()
            .any(|r| r["to"] == "telegram:1" && r["state"] == "sent")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tg = rows
        .iter()
        .find(|r| r["to"] == "telegram:1")
        .expect("a Telegram row");
    assert_eq!(tg["state"], "sent", "{rows:?}");
    // Without a mail server the mail waits, saying why.
    let mail = rows
        .iter()
        .find(|r| r["to"] == ADMIN_EMAIL)
        .expect("a mail row");
    assert_eq!(mail["state"], "queued");
    assert!(
        mail["error"]
            .as_str()
            .unwrap_or("")
            .contains("no mail server"),
        "{mail}"
    );
    // Delivered once: a second pass of the alerts adds nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(world.sent().len(), 1);
    drop(dc);
}

#[tokio::test]
async fn news_goes_only_to_owners_who_opted_in_and_one_click_unsubscribes_them() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| {
        configure(c, &keys, smtp.port);
        c.mail.marketing_per_minute = 6000;
    })
    .await;
    let admin = app.admin().await.access;
    let (shop, _, ayse) = app
        .tenant_with_owner(&admin, "Çiçekçi Ayşe", "ayse@example.com")
        .await;
    in_turkish(&app, &admin, shop, "Çiçekçi Ayşe").await;
    let (_, _, bob) = app
        .tenant_with_owner(&admin, "Bob's Bakery", "bob@example.com")
        .await;
    let (_, _, _quiet) = app
        .tenant_with_owner(&admin, "Sessiz", "quiet@example.com")
        .await;
    for who in [&ayse, &bob] {
        app.put(
            "/api/v1/auth/notices",
            &who.access,
            json!({"marketing": true}),
        )
        .await
        .expect(200);
    }
    let mut b = crate::console::Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    let csrf = b.get("/console/marketing").await.csrf();
    let bad = b
        .post(
            "/console/marketing",
            &[
                ("_csrf", &csrf),
                ("subject", "x"),
                ("html", "<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    let r = b
        .post(
            "/console/marketing",
            &[
                ("_csrf", &csrf),
                ("subject", "Kış fırsatı: {tenant.name}"),
                ("html", "<h1>Yeni plan</h1><p>Merhaba {tenant.name}, <a href=\"https://yard.example/plan\">planlara bakın</a>.</p>"),
                ("status", "any"),
                ("language", "any"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page_url = r.location().to_string();
    let page = b.get(&page_url).await;
    assert!(
        page.text.contains("It would go to 2 owners"),
        "{}",
        page.text
    );
    let preview = b.get(&format!("{page_url}/preview")).await;
    assert_eq!(preview.status, 200);
    assert!(
        preview
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(preview.text.contains("Merhaba"));
    let sent = b
        .post(&format!("{page_url}/send"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(sent.status, 303, "{}", sent.text);
    let got = smtp.wait_for(2).await;
    let to_ayse = got
        .iter()
        .find(|m| m["rcpt_tos"] == json!(["ayse@example.com"]))
        .unwrap();
    assert!(
        got.iter()
            .any(|m| m["rcpt_tos"] == json!(["bob@example.com"]))
    );
    let h = &to_ayse["headers"];
    assert_eq!(h["Subject"], "Kış fırsatı: Çiçekçi Ayşe");
    assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    assert!(h.get("Auto-Submitted").is_none(), "news is not a notice");
    let link = h["List-Unsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    assert!(
        link.starts_with(&format!("{}/unsubscribe?a=", app.ready.base_url)),
        "{link}"
    );
    let text = text_part(to_ayse, "text/plain");
    assert!(
        text.contains("Merhaba Çiçekçi Ayşe") && text.contains(&link),
        "{text}"
    );
    // Sending twice is refused.
    let again = b
        .post(&format!("{page_url}/send"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(again.status, 409);
    // A forged or altered link changes nothing.
    let (a, s) = link.split_once("&s=").unwrap();
    let mut forged = s.to_string().into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{a}&s={}", String::from_utf8(forged).unwrap());
    let r = app
        .client
        .post(&forged)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let other = link.replace("?a=", "?a=9");
    let r = app
        .client
        .post(&other)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let prefs = app.get("/api/v1/auth/notices", &ayse.access).await;
    assert_eq!(prefs.expect(200)["marketing"], true);
    // The GET shows a button and changes nothing (link scanners fetch it).
    let r = app.client.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let prefs = app.get("/api/v1/auth/notices", &ayse.access).await;
    assert_eq!(prefs.expect(200)["marketing"], true);
    // One click, as a mail reader sends it: no session, no CSRF token.
    let r = app
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let prefs = app.get("/api/v1/auth/notices", &ayse.access).await;
    assert_eq!(prefs.expect(200)["marketing"], false);
    let audit = app.get("/api/v1/audit?limit=50", &admin).await;
    assert!(audit.text.contains("marketing.opt_out"), "audited");
    // The page follows the sending.
    let mut shown = String::new();
    for _ in 0..100 {
        shown = b.get(&page_url).await.text;
        if shown.contains("2 of 2 sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(shown.contains("2 of 2 sent"), "{shown}");
}

#[tokio::test]
async fn a_cancelled_tenant_hears_of_it_and_of_its_data_deletion_in_turkish() {
    let Some(py) = python() else { return };
    let keys = Keys::new();
    let smtp = Smtp::start(&py, &keys, 0);
    let app = App::start_with(|c| configure(c, &keys, smtp.port)).await;
    let admin = app.admin().await.access;
    let plan = crate::billing::priced_plan(&app, &admin).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Fırın", "owner@example.com")
        .await;
    in_turkish(&app, &admin, tenant, "Fırın").await;
    let sub = format!("/api/v1/tenants/{tenant}/subscription");
    app.post(
        &format!("{sub}/trial"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect(201);
    app.post(&format!("{sub}/cancel"), &owner.access, json!({}))
        .await
        .expect(200);
    const DAY: i64 = 86_400;
    let pass = || async {
        let admin = app.admin().await.access;
        app.post("/api/v1/billing/renewals", &admin, json!({}))
            .await
            .expect(200);
    };
    // A cancelled trial gets no "trial ending" reminder; its end cancels it.
    app.clock.advance(4 * DAY + 3600);
    pass().await;
    app.clock.advance(3 * DAY);
    pass().await;
    let m = smtp.wait_for(1).await[0].clone();
    assert_eq!(m["headers"]["Subject"], "Fırın iptal edildi");
    assert_eq!(m["headers"]["Content-Language"], "tr");
    let text = text_part(&m, "text/plain");
    assert!(
        text.contains("Verileriniz") && text.contains("kalıcı olarak silinir"),
        "{text}"
    );
    // Three days before the data goes (retention: 30 days), a warning; then the deletion.
    app.clock.advance(27 * DAY + 3600);
    pass().await;
    let w = smtp.wait_for(2).await[1].clone();
    assert!(
        w["headers"]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Fırın verileri "),
        "{w}"
    );
    assert!(
        w["headers"]["Subject"]
            .as_str()
            .unwrap()
            .ends_with(" tarihinde silinecek")
    );
    pass().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 2, "each once");
}
