//! The reverse-proxy examples of docs/OPERATIONS.md ("Behind a reverse proxy"), run as
//! written (only the addresses changed) in front of the appliance: nginx and Caddy. Through
//! them the appliance counts failed logins against the real client, whatever a client puts
//! in `X-Forwarded-For`.

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, App};

const OPERATIONS: &str = include_str!("../../docs/OPERATIONS.md");

/// The fenced block of `lang` in the "Behind a reverse proxy" section.
fn example(lang: &str) -> String {
    let section = OPERATIONS
        .split("### Behind a reverse proxy")
        .nth(1)
        .expect("the section");
    let start = section
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("no {lang} block"))
        + lang.len()
        + 4;
    let len = section[start..].find("```").expect("end of block");
    section[start..start + len].to_string()
}

struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts on `port` (the proxy has started).
fn wait_for(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the proxy exited: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the proxy never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn app_with_trusted_proxy() -> impl FnOnce(&mut botyard::config::Config) {
    |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
        c.auth.lockout_threshold = 3;
    }
}

/// A client whose connections come from `ip` (another loopback address than the proxy's).
fn client_from(ip: &str) -> reqwest::Client {
    crate::common::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> (u16, String) {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        // A client's own claim about its address, which must change nothing.
        .header("x-forwarded-for", "203.0.113.9")
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login through the proxy");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// Failures from 127.0.0.2 with many addresses (the lockout gives a client address four times
/// the threshold, 12 here) lock 127.0.0.2 out, however it dresses its header; a client at
/// 127.0.0.3 signs in through the same proxy.
async fn lockout_follows_the_real_client(base: &str) {
    let attacker = client_from("127.0.0.2");
    for n in 0..12 {
        let (status, body) = login(
            &attacker,
            base,
            &format!("nobody{n}@example.com"),
            "wrong-password-1",
        )
        .await;
        assert!(status == 401 || status == 429, "{status} {body}");
    }
    let (status, body) = login(&attacker, base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 429, "the attacker's address is locked: {body}");
    assert!(body.contains("auth.locked"), "{body}");
    let (status, body) = login(&client_from("127.0.0.3"), base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "another client is not: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_as_documented_passes_the_real_client() {
    let app = App::start_with(app_with_trusted_proxy()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = crate::common::free_port();
    let server = example("nginx")
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("127.0.0.1:8080", &app.addr().to_string());
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{server}\n}}\n"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).expect("nginx.conf");
    let mut child = Command::new("nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian's nginx-light) must be installed");
    wait_for(port, &mut child);
    let _proxy = Proxy(child);
    lockout_follows_the_real_client(&format!("http://127.0.0.1:{port}")).await;
    app.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_as_documented_passes_the_real_client() {
    let app = App::start_with(app_with_trusted_proxy()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = crate::common::free_port();
    // The documented site with a plain-HTTP address on loopback (no certificate to get here).
    let site = example("caddy")
        .replace("bots.example.com", &format!("http://127.0.0.1:{port}"))
        .replace("127.0.0.1:8080", &app.addr().to_string());
    let conf = format!("{{\n  admin off\n}}\n{site}");
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, conf).expect("Caddyfile");
    let mut child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("caddy (Debian's caddy) must be installed");
    wait_for(port, &mut child);
    let _proxy = Proxy(child);
    lockout_follows_the_real_client(&format!("http://127.0.0.1:{port}")).await;
    app.stop().await.expect("stop");
}
