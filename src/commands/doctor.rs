//! `botyard doctor`: looks over the machine the appliance runs on and says what to fix: the
//! data folder (owner, permissions, free space), the master key, the worker sandbox the
//! kernel can enforce, cgroup delegation for memory caps, the clock, the public URL's
//! certificate, and the ports. It changes nothing.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check's outcome: what was looked at, what was found, and what to do about it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub status: Status,
    pub check: &'static str,
    pub detail: String,
    pub fix: Option<String>,
}

fn ok(check: &'static str, detail: impl Into<String>) -> Finding {
    Finding {
        status: Status::Ok,
        check,
        detail: detail.into(),
        fix: None,
    }
}

fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        status: Status::Warn,
        check,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        status: Status::Fail,
        check,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// Every check, in the order they are printed.
pub async fn run(config: &Config) -> Vec<Finding> {
    let running = server_running(&config.data_dir).await;
    let mut out = vec![
        data_folder(&config.data_dir),
        free_space(&config.data_dir),
        master_key(config),
        sandbox(),
        cgroups(),
        clock(config),
    ];
    out.push(public_url(config).await);
    out.extend(ports(config, running));
    out
}

/// The findings as text, and whether any failed.
pub fn report(findings: &[Finding]) -> (String, bool) {
    let mut text = String::new();
    for f in findings {
        let tag = match f.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        text.push_str(&format!("{tag}  {:<12} {}\n", f.check, f.detail));
        if let Some(fix) = &f.fix {
            text.push_str(&format!("      {:<12} → {fix}\n", ""));
        }
    }
    let failed = findings.iter().any(|f| f.status == Status::Fail);
    let warned = findings.iter().filter(|f| f.status == Status::Warn).count();
    text.push_str(&match (failed, warned) {
        (true, _) => "\nSome checks failed: fix those first.\n".to_string(),
        (false, 0) => "\nAll checks passed.\n".to_string(),
        (false, n) => format!("\nNo failures; {n} warning(s) worth a look.\n"),
    });
    (text, failed)
}

async fn server_running(data: &Path) -> bool {
    tokio::net::UnixStream::connect(crate::http::admin_socket::path(data))
        .await
        .is_ok()
}

fn data_folder(dir: &Path) -> Finding {
    const C: &str = "data folder";
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ok(
                C,
                format!(
                    "{} does not exist yet; the first start creates it (0700)",
                    dir.display()
                ),
            );
        }
        Err(e) => {
            return fail(
                C,
                format!("{}: {e}", dir.display()),
                "check the path and its parents' permissions",
            );
        }
    };
    if !meta.is_dir() {
        return fail(
            C,
            format!("{} is not a folder", dir.display()),
            "point server.data at a folder",
        );
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return fail(
            C,
            format!(
                "{} belongs to uid {}, this is uid {me}",
                dir.display(),
                meta.uid()
            ),
            format!(
                "run as the folder's owner (sudo -u botyard …), or chown -R {me} {}",
                dir.display()
            ),
        );
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return fail(
            C,
            format!(
                "{} is mode {mode:03o}: other users can read password hashes and sealed secrets",
                dir.display()
            ),
            format!("chmod 700 {}", dir.display()),
        );
    }
    if rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_err() {
        return fail(
            C,
            format!("{} is not writable", dir.display()),
            format!("chmod u+w {}", dir.display()),
        );
    }
    ok(
        C,
        format!("{} (mode {mode:03o}, owned by this user)", dir.display()),
    )
}

fn free_space(dir: &Path) -> Finding {
    const C: &str = "free space";
    // The folder itself, or the nearest existing parent before the first start.
    let Some(at) = dir.ancestors().find(|p| p.exists()) else {
        return warn(
            C,
            "cannot find the data folder's disk",
            "create the data folder",
        );
    };
    match rustix::fs::statvfs(at) {
        Ok(s) => {
            let total = s.f_blocks.saturating_mul(s.f_frsize);
            let avail = s.f_bavail.saturating_mul(s.f_frsize);
            match crate::domain::alerts::disk_low(total, avail) {
                Some(what) => fail(
                    C,
                    what,
                    "free space on that disk, or move the data folder (docs/OPERATIONS.md, Store)",
                ),
                None => ok(
                    C,
                    format!("{} MiB free of {} MiB", avail >> 20, total >> 20),
                ),
            }
        }
        Err(e) => warn(
            C,
            format!("statvfs {}: {e}", at.display()),
            "check the disk",
        ),
    }
}

fn master_key(config: &Config) -> Finding {
    const C: &str = "master key";
    let path = config.master_key_path();
    if !path.exists() {
        if config.security.master_key_file.is_none()
            && !config.data_dir.join("catalog.redb").exists()
        {
            return ok(C, format!("{} is made at the first start", path.display()));
        }
        return fail(
            C,
            format!(
                "{} is missing: sealed secrets cannot be opened",
                path.display()
            ),
            "restore it from where you keep it apart from the backups (never make a new one for an existing store)",
        );
    }
    let mode = match std::fs::metadata(&path) {
        Ok(m) => m.permissions().mode() & 0o777,
        Err(e) => {
            return fail(
                C,
                format!("{}: {e}", path.display()),
                "check the file's permissions",
            );
        }
    };
    if let Err(e) = crate::security::crypto::Keyring::load_or_create(&path, false) {
        return fail(C, e.to_string(), "restore the key file from your copy");
    }
    if mode & 0o077 != 0 {
        return fail(
            C,
            format!("{} is mode {mode:03o}: readable by others", path.display()),
            format!("chmod 600 {}", path.display()),
        );
    }
    if path.starts_with(&config.data_dir) {
        return warn(
            C,
            format!(
                "{} (mode {mode:03o}) lives in the data folder",
                path.display()
            ),
            "keep it apart from the data: security.master_key_file, e.g. a systemd credential (systemd/botyard.service)",
        );
    }
    ok(C, format!("{} (mode {mode:03o})", path.display()))
}

/// The sandbox as a worker gets it, applied in a child process (it is irreversible).
fn sandbox() -> Finding {
    const C: &str = "sandbox";
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return warn(
                C,
                format!("cannot find this executable: {e}"),
                "run botyard sandbox-check",
            );
        }
    };
    let out = match std::process::Command::new(exe)
        .args(["sandbox-check", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            return warn(
                C,
                format!("cannot run sandbox-check: {e}"),
                "run botyard sandbox-check",
            );
        }
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return fail(
            C,
            "sandbox-check said nothing readable",
            "run botyard sandbox-check and read what it says",
        );
    };
    let layers = v["report"]["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut missing = Vec::new();
    for l in &layers {
        let (name, status) = (
            l["layer"].as_str().unwrap_or("?"),
            l["status"].as_str().unwrap_or("?"),
        );
        if status != "enforced" && l["required"] != false {
            missing.push(format!("{name} {status}"));
        }
    }
    let kernel = v["report"]["kernel_release"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    if layers.is_empty() {
        return fail(C, "no sandbox layers reported", "run botyard sandbox-check");
    }
    if missing.is_empty() {
        ok(C, format!("every layer enforced (kernel {kernel})"))
    } else {
        fail(
            C,
            format!("kernel {kernel}: {}", missing.join(", ")),
            "landlock needs Linux 6.7+ with landlock in the boot LSM list (lsm=…,landlock); a container needs seccomp and landlock allowed (docs/OPERATIONS.md, Container)",
        )
    }
}

fn cgroups() -> Finding {
    const C: &str = "cgroups";
    match crate::runtime::cgroup::check_own() {
        Ok(dir) => ok(
            C,
            format!("{} is delegated: workers get memory.max", dir.display()),
        ),
        Err((dir, why)) => warn(
            C,
            format!(
                "{why}{}: memory caps fall back to the supervisor's watchdog",
                dir.map(|d| format!(" ({})", d.display()))
                    .unwrap_or_default()
            ),
            "run under systemd with Delegate= (systemd/botyard.service does this)",
        ),
    }
}

fn clock(config: &Config) -> Finding {
    const C: &str = "clock";
    let now = jiff::Timestamp::now().as_second();
    // A clock behind the build or behind what the store already recorded went backwards.
    let built = std::fs::metadata(std::env::current_exe().unwrap_or_default())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let stored = std::fs::metadata(config.data_dir.join("catalog.redb"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    for (what, at) in [
        ("this binary was built", built),
        ("the store was last written", stored),
    ] {
        if let Some(at) = at
            && now + 300 < at
        {
            return fail(
                C,
                format!(
                    "the clock reads {} but {what} at {}",
                    fmt_time(now),
                    fmt_time(at)
                ),
                "set the time (timedatectl set-ntp true); tokens, schedules and certificates depend on it",
            );
        }
    }
    match synchronized() {
        Some(true) => ok(C, format!("{} UTC, synchronized", fmt_time(now))),
        Some(false) => warn(
            C,
            format!("{} UTC, not synchronized", fmt_time(now)),
            "enable time sync (timedatectl set-ntp true, or chrony)",
        ),
        None => ok(
            C,
            format!("{} UTC (sync state unknown here)", fmt_time(now)),
        ),
    }
}

fn fmt_time(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// systemd-timesyncd's mark; `None` when nothing tells.
fn synchronized() -> Option<bool> {
    if Path::new("/run/systemd/timesync/synchronized").exists() {
        return Some(true);
    }
    let out = std::process::Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output()
        .ok()?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The public URL's certificate, as a browser would check it (the system's roots, or
/// `SSL_CERT_FILE`).
async fn public_url(config: &Config) -> Finding {
    const C: &str = "public URL";
    let Some(url) = config.public_url.clone() else {
        return warn(
            C,
            "server.public_url is not set: links in mails and the Mini-App use the listen address",
            "set server.public_url to the https:// address people reach",
        );
    };
    let Some(rest) = url.strip_prefix("https://") else {
        return warn(
            C,
            format!("{url} is not HTTPS: Telegram opens Mini-Apps only over HTTPS"),
            "serve HTTPS (tls.acme_domains) or put a TLS proxy in front (docs/OPERATIONS.md)",
        );
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().unwrap_or(443)),
        _ => (authority.to_string(), 443u16),
    };
    match certificate_days_left(&host, port).await {
        Ok(days) if days < 14 => warn(
            C,
            format!("{url}: the certificate expires in {days} days"),
            "renew it (built-in ACME renews 30 days ahead; check the tls.renewal_failed alert)",
        ),
        Ok(days) => ok(C, format!("{url}: certificate valid, {days} days left")),
        Err(e) => fail(
            C,
            format!("{url}: {e}"),
            "check DNS, the port, and the certificate (built-in: tls.*; behind a proxy: the proxy's)",
        ),
    }
}

async fn certificate_days_left(host: &str, port: u16) -> Result<i64, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return Err("no trusted roots on this machine (install ca-certificates)".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name =
        rustls_pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))
    };
    let tls = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| "no answer within 10 s".to_string())??;
    let (_, conn) = tls.get_ref();
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no certificate")?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| e.to_string())?;
    Ok((cert.validity().not_after.timestamp() - jiff::Timestamp::now().as_second()) / 86_400)
}

/// The listen addresses: free to bind, or held by this appliance.
fn ports(config: &Config, running: bool) -> Vec<Finding> {
    let mut addrs: Vec<(&'static str, SocketAddr)> = vec![("listen", config.listen)];
    if config.tls.enabled()
        && let Some(http) = config.tls.http_listen
    {
        addrs.push(("http listen", http));
    }
    addrs
        .into_iter()
        .map(|(c, addr)| match TcpListener::bind(addr) {
            Ok(_) if running => warn(
                c,
                format!("{addr} is free, yet a server runs on this data folder"),
                "the running server listens elsewhere: check server.listen (and BOTYARD_LISTEN) in its configuration",
            ),
            Ok(_) => ok(c, format!("{addr} is free to listen on")),
            Err(_) if running => ok(c, format!("{addr} is in use by the running server")),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => fail(
                c,
                format!("{addr}: {e}"),
                "ports below 1024 need CAP_NET_BIND_SERVICE (the systemd unit grants it)",
            ),
            Err(e) => fail(
                c,
                format!("{addr}: {e}"),
                "another program holds the port (ss -ltnp); stop it or choose another port",
            ),
        })
        .collect()
}
