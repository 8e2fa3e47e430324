//! Running the appliance for real: systemd's notifications and watchdog, the unit's hardening
//! score and its settings applied by hand, admin recovery from the command line, `doctor`,
//! and the container image.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::binary::{PATIENCE, Server};

/// The datagrams the server sends to `NOTIFY_SOCKET`, as text.
fn notifications(sock: &UnixDatagram, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 4096];
    while !until(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "notifications so far: {got:?}");
        sock.set_read_timeout(Some(left)).expect("timeout");
        let n = sock.recv(&mut buf).expect("a notification");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// `Type=notify`: READY once serving (the start-up lines are printed by then), watchdog pings
/// at half of `WATCHDOG_USEC`, STOPPING at SIGTERM, and a clean exit.
#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    let dir = crate::common::private_tempdir();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
    let data = dir.path().join("data");
    let sock_env = sock_path.to_string_lossy().into_owned();
    let mut server = Server::start(
        dir.path(),
        &data,
        &[
            ("NOTIFY_SOCKET", &sock_env),
            // 0.4 s: a ping every 0.2 s.
            ("WATCHDOG_USEC", "400000"),
            ("BOTYARD_STORE_SHARDS", "2"),
        ],
    );
    let started = Instant::now();
    let got = notifications(&sock, |got| {
        got.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3
    });
    let first = &got[0];
    assert!(first.lines().any(|l| l == "READY=1"), "{got:?}");
    let serving = format!("STATUS=serving http://127.0.0.1:{}", server.port);
    assert!(first.lines().any(|l| l == serving), "{got:?}");
    // Three pings at 0.2 s apart come well within the watchdog's patience, not all at once.
    assert!(started.elapsed() >= Duration::from_millis(300), "{got:?}");

    let status = server.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    let after = notifications(&sock, |got| got.iter().any(|m| m.contains("STOPPING=1")));
    assert!(
        after.iter().any(|m| m.lines().any(|l| l == "STOPPING=1")),
        "{after:?}"
    );
}

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/botyard.service");
const BACKUP_UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/botyard-backup.service"
);
const BACKUP_TIMER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/botyard-backup.timer");

/// The exposure score `systemd-analyze security` gives a unit file, e.g. 1.7.
fn exposure(unit: &str) -> f64 {
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", unit])
        .output()
        .expect("systemd-analyze (Debian's systemd package) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no score in: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let after = line.rsplit(':').next().expect("score");
    after
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable score: {line}"))
}

#[test]
fn the_units_hardening_scores_two_or_lower() {
    let score = exposure(UNIT);
    assert!(score <= 2.0, "botyard.service exposure {score}");
    // The backup job runs the same binary against the same data: held to the same bar.
    let score = exposure(BACKUP_UNIT);
    assert!(score <= 2.0, "botyard-backup.service exposure {score}");
}

/// The units parse as systemd reads them (with the binary's real path put in).
#[test]
fn the_units_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    for unit in [UNIT, BACKUP_UNIT, BACKUP_TIMER] {
        let text = std::fs::read_to_string(unit).expect("unit");
        let text = text.replace("/usr/local/bin/botyard", crate::binary::BIN);
        let name = std::path::Path::new(unit).file_name().expect("name");
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("botyard.service"))
        .arg(dir.path().join("botyard-backup.service"))
        .arg(dir.path().join("botyard-backup.timer"))
        .output()
        .expect("systemd-analyze");
    let said = String::from_utf8_lossy(&out.stderr);
    // Without systemd as PID 1 verify still reads every setting; it may only say it cannot
    // reach the system's manager. A misspelt or misplaced setting is an error either way.
    let problems: Vec<&str> = said
        .lines()
        .filter(|l| {
            !l.contains("Failed to connect")
                && !l.contains("System has not been booted with systemd")
                && !l.trim().is_empty()
        })
        .collect();
    assert!(problems.is_empty(), "{said}");
}

const BY_HAND: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/unit_by_hand.py");
/// The unprivileged user the unit's settings are applied as (the unit's `User=botyard` is
/// such a user; which uid does not matter, only that it is not root).
const NOBODY: &str = "65534";

/// `setpriv` with what a unit sets before its process starts: an unprivileged user, the
/// capabilities the unit grants (`AmbientCapabilities=`, `CapabilityBoundingSet=`),
/// `NoNewPrivileges=yes`; then the unit's system-call filter (tests/unit_by_hand.py), then
/// `botyard ARGS`.
fn as_the_unit(
    unit: &str,
    caps: &str,
    cwd: &std::path::Path,
    args: &[&str],
) -> std::process::Command {
    let mut c = std::process::Command::new("setpriv");
    c.env_clear()
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .env("BOTYARD_WORKERS_CGROUP", "false")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            &format!("--inh-caps=-all{caps}"),
            &format!("--ambient-caps=-all{caps}"),
            &format!("--bounding-set=-all{caps}"),
            "--no-new-privs",
            "--",
            "/usr/bin/python3",
            BY_HAND,
            unit,
            "--",
            crate::binary::BIN,
        ])
        .args(args);
    c
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The worker sandbox still starts, fully, under the unit's user, capabilities,
/// no_new_privs and system-call filter applied by hand; and the backup unit's job works
/// under its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_goes_online_under_the_units_settings_applied_by_hand() {
    use crate::common::{PASSWORD, Pair, client, send};
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        eprintln!("skipped: applying a unit's user by hand needs root (setpriv --reuid)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let nobody: u32 = NOBODY.parse().expect("uid");
    std::os::unix::fs::chown(&data, Some(nobody), Some(nobody)).expect("chown");
    let data_arg = data.to_string_lossy().into_owned();

    let mut cmd = as_the_unit(
        UNIT,
        ",+net_bind_service",
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            &data_arg,
            "--demo",
        ],
    );
    cmd.envs([
        ("BOTYARD_ADMIN_EMAIL", "unit-admin@example.com"),
        ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
        ("BOTYARD_STORE_SHARDS", "2"),
        // A worker missing any required layer would be refused, not started.
        ("BOTYARD_WORKERS_SANDBOX_REQUIRE", "true"),
    ]);
    let mut server = Server::spawn(cmd);
    assert!(
        server.stderr().contains("system calls allowed"),
        "the filter was not installed: {}",
        server.stderr()
    );
    let line = server.line_starting("Demo tenant ");
    let tenant: u64 = line
        .split_whitespace()
        .nth(2)
        .and_then(|w| w.parse().ok())
        .expect("tenant id");
    let base = server.base();
    let admin = Pair::from_json(
        crate::binary::login(&base, "unit-admin@example.com", PASSWORD)
            .await
            .expect(200),
    );
    let sessions = crate::binary::eventually("the demo session online", async || {
        first_session_online(&base, &admin.access, tenant).await
    })
    .await;
    assert_eq!(sessions[0]["state"], "online", "{sessions}");
    let worker = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}/worker"))
            .bearer_auth(&admin.access),
    )
    .await;
    let worker = worker.expect(200).clone();
    let layers = worker["sandbox"]["layers"]
        .as_array()
        .expect("layers")
        .clone();
    for layer in &layers {
        let name = layer["layer"].as_str().unwrap_or("?");
        if name != "landlock_scope" {
            assert_eq!(layer["status"], "enforced", "{name}: {worker}");
        }
    }
    // The files the server made belong to the unit's user, and stay private.
    let meta = std::fs::metadata(data.join("catalog.redb")).expect("catalog");
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), nobody);

    // The backup timer's job, under the backup unit's settings, through the admin socket.
    let backups = data.join("backups");
    let out = as_the_unit(
        BACKUP_UNIT,
        "",
        dir.path(),
        &["backup", "create", "--data", &data_arg],
    )
    .output()
    .expect("backup create");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Vec<_> = std::fs::read_dir(&backups)
        .expect("backups folder")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");

    let status = server.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
}

/// The tenant's sessions once its first one is online (else `None`, to ask again).
async fn first_session_online(base: &str, token: &str, tenant: u64) -> Option<serde_json::Value> {
    use crate::common::{client, send};
    let r = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}/sessions"))
            .bearer_auth(token),
    )
    .await;
    let v = r.expect(200).clone();
    (v.as_array()?.first()?["state"] == "online").then_some(v)
}

/// Where systemd is PID 1 (and root may install units), the real unit starts, a worker goes
/// online under it, and it stops cleanly. Elsewhere (these build machines, containers) it
/// says it skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_runs_under_systemd_where_systemd_is_pid_1() {
    let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    if pid1.trim() != "systemd" {
        eprintln!(
            "skipped: PID 1 is {:?}, not systemd; the unit's settings were applied by hand instead \
             (a_worker_goes_online_under_the_units_settings_applied_by_hand)",
            pid1.trim()
        );
        return;
    }
    if !is_root() {
        eprintln!("skipped: installing a unit needs root");
        return;
    }
    under_systemd::run().await;
}

mod under_systemd {
    use std::process::Command;

    use crate::common::{PASSWORD, Pair, client, send};

    fn systemctl(args: &[&str]) -> String {
        let out = Command::new("systemctl")
            .args(args)
            .output()
            .expect("systemctl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Removes the installed copy whatever happens.
    struct Installed(String);

    impl Drop for Installed {
        fn drop(&mut self) {
            systemctl(&["stop", &format!("{}.service", self.0)]);
            let _ = std::fs::remove_file(format!("/run/systemd/system/{}.service", self.0));
            systemctl(&["daemon-reload"]);
        }
    }

    /// Installs a copy of the unit (its binary, key and folders pointed at this test's, a
    /// dynamic user, the demo tenant on), starts it, follows a worker to `online` through
    /// the API at the address the unit's status names, and stops it.
    pub(super) async fn run() {
        let name = format!("botyard-test-{}", std::process::id());
        let service = format!("{name}.service");
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("master.key");
        let made = Command::new(crate::binary::BIN)
            .args(["keys", "new"])
            .arg(&key)
            .status()
            .expect("keys new");
        assert!(made.success());
        let unit = std::fs::read_to_string(super::UNIT)
            .expect("unit")
            .replace(
                "/usr/local/bin/botyard --config /etc/botyard/botyard.toml serve",
                &format!("{} serve --demo", crate::binary::BIN),
            )
            .replace("/etc/botyard/master.key", &key.to_string_lossy())
            .replace("User=botyard\nGroup=botyard\n", "DynamicUser=yes\n")
            .replace("StateDirectory=botyard", &format!("StateDirectory={name}"))
            .replace("/var/lib/botyard", &format!("/var/lib/{name}"))
            .replace(
                "[Service]\n",
                &format!(
                    "[Service]\nEnvironment=BOTYARD_LISTEN=127.0.0.1:0 BOTYARD_ADMIN_EMAIL=unit@example.com BOTYARD_ADMIN_PASSWORD={PASSWORD} BOTYARD_WORKERS_SANDBOX_REQUIRE=true\n"
                ),
            );
        std::fs::write(format!("/run/systemd/system/{service}"), unit).expect("install the unit");
        let _installed = Installed(name.clone());
        systemctl(&["daemon-reload"]);
        let started = Command::new("systemctl")
            .args(["start", &service])
            .status()
            .expect("systemctl start");
        assert!(started.success(), "the unit did not reach READY=1");
        // "serving http://127.0.0.1:PORT", sent with READY=1.
        let status = systemctl(&["show", "-p", "StatusText", "--value", &service]);
        let base = status
            .trim()
            .strip_prefix("serving ")
            .unwrap_or_else(|| panic!("status: {status}"))
            .to_string();
        let admin = Pair::from_json(
            crate::binary::login(&base, "unit@example.com", PASSWORD)
                .await
                .expect(200),
        );
        let online = crate::binary::eventually("a worker online under systemd", async || {
            let tenants = send(
                client()
                    .get(format!("{base}/api/v1/tenants"))
                    .bearer_auth(&admin.access),
            )
            .await;
            let id = tenants.expect(200)["items"].as_array()?.first()?["id"].as_u64()?;
            super::first_session_online(&base, &admin.access, id).await
        })
        .await;
        assert_eq!(online[0]["state"], "online");
        systemctl(&["stop", &service]);
        let result = systemctl(&["show", "-p", "Result", "--value", &service]);
        assert_eq!(result.trim(), "success");
    }
}

/// `keys new` makes the key file the unit hands over as a credential; the server uses it
/// and makes none in the data folder; a second `keys new` never overwrites it.
#[test]
fn keys_new_writes_a_private_key_file_once_and_the_server_uses_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::common::private_tempdir();
    let key = dir.path().join("etc").join("master.key");
    let out = crate::binary::run(
        crate::binary::botyard(dir.path())
            .args(["keys", "new"])
            .arg(&key),
    );
    assert!(out.status.success(), "{}", crate::binary::text(&out.stderr));
    assert!(crate::binary::text(&out.stdout).starts_with("wrote master key "));
    let before = std::fs::read(&key).expect("key");
    let mode = std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = crate::binary::run(
        crate::binary::botyard(dir.path())
            .args(["keys", "new"])
            .arg(&key),
    );
    assert!(!again.status.success());
    assert!(crate::binary::text(&again.stderr).contains("never overwritten"));
    assert_eq!(std::fs::read(&key).expect("key"), before);

    let data = dir.path().join("data");
    let key_env = key.to_string_lossy().into_owned();
    let mut server = Server::start(
        dir.path(),
        &data,
        &[
            ("BOTYARD_MASTER_KEY_FILE", &key_env),
            ("BOTYARD_STORE_SHARDS", "2"),
        ],
    );
    assert!(!data.join("master.key").exists());
    assert_eq!(server.stop_with("-TERM").code(), Some(0));
}

/// `botyard admin …` with the first line of standard input as the password.
fn admin_cmd(
    cwd: &std::path::Path,
    data: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    let mut cmd = crate::binary::botyard(cwd);
    // No BOTYARD_STORE_SHARDS: the store made with 2 is opened as it is, not as the default 8.
    cmd.arg("admin").args(args).arg("--data").arg(data);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("botyard admin");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait")
}

/// A lost admin password comes back from the server's command line: through the running
/// server's admin socket (a new password from standard input, or a one-time link), and with
/// the server stopped a new admin is created on the store's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_recovery_from_the_command_line_running_and_stopped() {
    use crate::binary::{login, text};
    use crate::common::{PASSWORD, Pair, client, send};
    let dir = crate::common::private_tempdir();
    let data = dir.path().join("data");
    let email = "lost@example.com";
    let mut server = Server::start(
        dir.path(),
        &data,
        &[
            ("BOTYARD_ADMIN_EMAIL", email),
            ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
            ("BOTYARD_STORE_SHARDS", "2"),
        ],
    );
    let base = server.base();
    let before = Pair::from_json(login(&base, email, PASSWORD).await.expect(200));

    // A new password on standard input, through the socket: the old one and its logins end.
    let new_pw = "yeni-parola-mavi-deniz-7";
    let out = admin_cmd(
        dir.path(),
        &data,
        &["reset-password", email, "--password-stdin"],
        Some(&format!("{new_pw}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("every login ended (1)"), "{said}");
    assert!(!said.contains(new_pw));
    login(&base, email, PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
    let r = send(
        client()
            .post(format!("{base}/api/v1/auth/refresh"))
            .json(&serde_json::json!({"refresh_token": before.refresh})),
    )
    .await;
    assert_eq!(r.status, 401, "the old login ended");
    login(&base, email, new_pw).await.expect(200);

    // A weak password and an unknown address are refused, and change nothing.
    let weak = admin_cmd(
        dir.path(),
        &data,
        &["reset-password", email, "--password-stdin"],
        Some("123\n"),
    );
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("password"),
        "{}",
        text(&weak.stderr)
    );
    let unknown = admin_cmd(
        dir.path(),
        &data,
        &["reset-password", "nobody@example.com"],
        None,
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("not found"),
        "{}",
        text(&unknown.stderr)
    );
    login(&base, email, new_pw).await.expect(200);

    // Without a password: a one-time link to the console's reset page, which works once.
    let out = admin_cmd(dir.path(), &data, &["reset-password", email], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let link = said
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http://"))
        .unwrap_or_else(|| panic!("{said}"))
        .to_string();
    let path = link.strip_prefix(&base).expect("the server's own address");
    let token = path.rsplit('=').next().expect("token").to_string();
    let mut browser = crate::console::Browser::at(&base);
    let form = browser.get(path).await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    let linked_pw = "linkten-gelen-parola-3";
    let done = browser
        .post(
            "/console/reset",
            &[("_csrf", &csrf), ("token", &token), ("password", linked_pw)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    login(&base, email, linked_pw).await.expect(200);
    let again = browser
        .post(
            "/console/reset",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("password", "baska-bir-parola-44"),
            ],
        )
        .await;
    assert_eq!(again.status, 422, "a link works once");

    assert_eq!(server.stop_with("-TERM").code(), Some(0));

    // Server stopped: a new admin straight into the store; an existing address is refused.
    let second = "second-admin@example.com";
    let out = admin_cmd(
        dir.path(),
        &data,
        &["create", second, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("admin second-admin@example.com created"));
    let taken = admin_cmd(
        dir.path(),
        &data,
        &["create", email, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(!taken.status.success());
    assert!(text(&taken.stderr).contains("another account uses this address"));

    let mut server = Server::start(dir.path(), &data, &[("BOTYARD_STORE_SHARDS", "2")]);
    let base = server.base();
    let pair = Pair::from_json(login(&base, second, PASSWORD).await.expect(200));
    let me = crate::binary::me(&base, &pair.access).await;
    assert_eq!(me.expect(200)["is_admin"], true);
    // The audit log names both, as done from the command line.
    let audit = send(
        client()
            .get(format!("{base}/api/v1/audit"))
            .bearer_auth(&pair.access),
    )
    .await;
    let audit = audit.expect(200).to_string();
    assert!(audit.contains("admin.created"), "{audit}");
    assert!(audit.contains("from the server's command line"), "{audit}");
    assert_eq!(server.stop_with("-TERM").code(), Some(0));
}

/// The install script lays the files out (here into a folder rather than /), writes a
/// configuration `config check` accepts and a private master key, and a second run (an
/// upgrade) keeps both.
#[test]
fn the_install_script_lays_out_the_files_and_keeps_config_and_key_on_upgrade() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("temp dir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install.sh");
    let install = || {
        std::process::Command::new("sh")
            // Nothing of the test runner's environment (its BOTYARD_* switches among it).
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .arg(script)
            .args(["--binary", crate::binary::BIN, "--root"])
            .arg(root.path())
            .args(["--domain", "bots.example.com", "--email", "ops@example.com"])
            .output()
            .expect("install.sh")
    };
    let out = install();
    assert!(
        out.status.success(),
        "{}{}",
        crate::binary::text(&out.stdout),
        crate::binary::text(&out.stderr)
    );
    let r = root.path();
    for f in [
        "usr/local/bin/botyard",
        "etc/systemd/system/botyard.service",
        "etc/systemd/system/botyard-backup.service",
        "etc/systemd/system/botyard-backup.timer",
        "usr/local/share/doc/botyard/OPERATIONS.md",
    ] {
        assert!(r.join(f).exists(), "{f} missing");
    }
    let mode = |f: &str| std::fs::metadata(r.join(f)).expect(f).permissions().mode() & 0o777;
    assert_eq!(mode("usr/local/bin/botyard"), 0o755);
    assert_eq!(mode("etc/botyard/master.key"), 0o600);
    assert_eq!(mode("etc/botyard/botyard.toml"), 0o640);
    let config = std::fs::read_to_string(r.join("etc/botyard/botyard.toml")).expect("config");
    assert!(
        config.contains("public_url = \"https://bots.example.com\""),
        "{config}"
    );
    assert!(config.contains("data = \"/var/lib/botyard\""), "{config}");
    for line in [
        "listen = \"0.0.0.0:443\"",
        "[tls]",
        "acme_domains = \"bots.example.com\"",
        "acme_email = \"ops@example.com\"",
    ] {
        assert!(config.contains(line), "{line} missing in {config}");
    }
    let key = std::fs::read(r.join("etc/botyard/master.key")).expect("key");

    // An upgrade: the operator's edits and the key stay.
    std::fs::write(
        r.join("etc/botyard/botyard.toml"),
        format!("{config}# edited\n"),
    )
    .expect("edit");
    let out = install();
    assert!(out.status.success(), "{}", crate::binary::text(&out.stderr));
    assert!(crate::binary::text(&out.stdout).contains("keeping"));
    assert!(
        std::fs::read_to_string(r.join("etc/botyard/botyard.toml"))
            .expect("config")
            .ends_with("# edited\n")
    );
    assert_eq!(
        std::fs::read(r.join("etc/botyard/master.key")).expect("key"),
        key
    );
}

/// `--version` names the commit the binary was built from.
#[test]
fn version_names_the_git_commit() {
    let out =
        crate::binary::run(crate::binary::botyard(std::path::Path::new("/")).arg("--version"));
    let said = crate::binary::text(&out.stdout);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| crate::binary::text(&o.stdout).trim().to_string());
    let commit = head.unwrap_or_else(|| "unknown".into());
    assert_eq!(
        said.trim(),
        format!("botyard {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}

/// `doctor` passes a healthy appliance (the running server holding its port, the public
/// URL's certificate checked against the roots it is told to trust), and names what to fix
/// when the data folder is open to others or the master key is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_healthy_appliance_and_names_the_fix_for_a_broken_one() {
    use crate::binary::text;
    use std::os::unix::fs::PermissionsExt;
    // An HTTPS front for the public URL check, with a certificate from a test CA.
    let ca = crate::https::TestCa::new();
    let (chain, key) = ca.leaf(&["localhost"]);
    let files = tempfile::tempdir().expect("temp dir");
    let (cert, key_file, roots) = (
        files.path().join("cert.pem"),
        files.path().join("key.pem"),
        files.path().join("roots.pem"),
    );
    std::fs::write(&cert, chain).expect("cert");
    std::fs::write(&key_file, key).expect("key");
    std::fs::write(&roots, &ca.pem).expect("roots");
    let front = crate::common::App::start_with(|c| {
        c.tls.cert_file = Some(cert.clone());
        c.tls.key_file = Some(key_file.clone());
        c.tls.http_listen = None;
    })
    .await;
    let public = format!("https://localhost:{}", front.addr().port());

    let dir = crate::common::private_tempdir();
    let data = dir.path().join("data");
    let mut server = Server::start(dir.path(), &data, &[("BOTYARD_STORE_SHARDS", "2")]);
    let listen = server.addr();
    let roots_env = roots.to_string_lossy().into_owned();
    let doctor = |extra: &[(&str, &str)]| {
        let mut cmd = crate::binary::botyard(dir.path());
        cmd.args(["doctor", "--data"])
            .arg(&data)
            .envs([
                ("BOTYARD_STORE_SHARDS", "2"),
                ("BOTYARD_LISTEN", listen.as_str()),
                ("BOTYARD_PUBLIC_URL", public.as_str()),
                ("SSL_CERT_FILE", roots_env.as_str()),
            ])
            .envs(extra.iter().copied());
        crate::binary::run(&mut cmd)
    };
    let out = doctor(&[]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    for line in [
        "ok    data folder",
        "ok    sandbox      every layer enforced",
        &format!("ok    public URL   {public}: certificate valid, "),
        &format!("ok    listen       {listen} is in use by the running server"),
        // The key lives in the data folder by default: a warning with the way out.
        "WARN  master key",
    ] {
        assert!(said.contains(line), "{line:?} missing in:\n{said}");
    }
    assert!(said.contains("security.master_key_file"), "{said}");
    // Without the test CA the certificate is not trusted, and that fails.
    let out = doctor(&[("SSL_CERT_FILE", "/nonexistent")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("FAIL  public URL"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(server.stop_with("-TERM").code(), Some(0));

    // Broken: the folder open to others, the key gone.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::remove_file(data.join("master.key")).expect("rm key");
    let out = doctor(&[]);
    let said = text(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("FAIL  data folder"), "{said}");
    assert!(
        said.contains(&format!("chmod 700 {}", data.display())),
        "{said}"
    );
    assert!(said.contains("FAIL  master key"), "{said}");
    assert!(
        said.contains("is missing: sealed secrets cannot be opened"),
        "{said}"
    );
    assert!(
        said.contains("listen       ") && said.contains("is free to listen on"),
        "{said}"
    );
    front.stop().await.expect("stop");
}

/// The image's build context from the test binary, in a folder of the test's.
fn container_context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let ctx = dir.path().join("ctx");
    let out = std::process::Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/container-rootfs.sh"
        ))
        .arg(crate::binary::BIN)
        .arg(&ctx)
        .output()
        .expect("container-rootfs.sh");
    assert!(out.status.success(), "{}", crate::binary::text(&out.stderr));
    dir
}

/// Whether the container tests must run (CI sets BOTYARD_CONTAINER_TESTS=1 and installs
/// podman and hadolint); elsewhere they say they skipped when a tool is missing.
fn container_tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("BOTYARD_CONTAINER_TESTS").as_deref() != Ok("1"),
            "{name} is not installed (BOTYARD_CONTAINER_TESTS=1)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

/// The image's root filesystem holds all the binary needs: run in it (chroot) as the image's
/// user, with no write access outside /data and /tmp, it serves, answers `botyard
/// healthcheck` (the image's HEALTHCHECK) and stops cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_images_root_filesystem_serves_as_its_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let dir = container_context();
    let root = dir.path().join("ctx").join("rootfs");
    let data = root.join("data");
    std::fs::create_dir(&data).expect("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::os::unix::fs::chown(&data, Some(10001), Some(10001)).expect("chown");
    let in_image = |args: &[&str]| {
        let mut c = std::process::Command::new("/usr/sbin/chroot");
        c.env_clear()
            .env("BOTYARD_WORKERS_CGROUP", "false")
            // A chroot has no /proc to find the executable by (a container has).
            .env("BOTYARD_WORKERS_EXE", "/usr/local/bin/botyard")
            .arg("--userspec=10001:10001")
            .arg(&root)
            .arg("/usr/local/bin/botyard")
            .args(args);
        c
    };
    let out = in_image(&["--version"]).output().expect("chroot");
    assert!(out.status.success(), "{}", crate::binary::text(&out.stderr));
    assert!(crate::binary::text(&out.stdout).starts_with("botyard "));

    let mut cmd = in_image(&["serve", "--listen", "127.0.0.1:0", "--data", "/data"]);
    cmd.env("BOTYARD_STORE_SHARDS", "2");
    let mut server = Server::spawn(cmd);
    let addr = server.addr();
    let health = in_image(&["healthcheck", "--addr", &addr])
        .output()
        .expect("healthcheck");
    assert!(
        health.status.success(),
        "{}",
        crate::binary::text(&health.stderr)
    );
    // Nothing but the data folder was written.
    assert!(data.join("catalog.redb").exists());
    let status = server.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
}

/// The Containerfile is clean under hadolint and podman builds it; the image runs as its
/// user with the health check and the data volume. Running it needs a container runtime
/// that may set limits, which these build machines refuse: there it says it skipped.
#[test]
fn the_container_image_lints_builds_and_runs_where_podman_can() {
    let containerfile = concat!(env!("CARGO_MANIFEST_DIR"), "/Containerfile");
    if let Some(hadolint) = container_tool("hadolint") {
        let out = std::process::Command::new(hadolint)
            .arg(containerfile)
            .output()
            .expect("hadolint");
        assert!(
            out.status.success(),
            "{}{}",
            crate::binary::text(&out.stdout),
            crate::binary::text(&out.stderr)
        );
    }
    let Some(podman) = container_tool("podman") else {
        return;
    };
    let dir = container_context();
    let tag = format!("localhost/botyard-test:{}", std::process::id());
    let podman_cmd = |args: &[&str]| {
        std::process::Command::new(&podman)
            .args(args)
            .output()
            .expect("podman")
    };
    let built = std::process::Command::new(&podman)
        // The Docker image format: OCI's drops HEALTHCHECK.
        .args([
            "build",
            "-q",
            "--format",
            "docker",
            "-f",
            containerfile,
            "-t",
            &tag,
        ])
        .arg(dir.path().join("ctx"))
        .output()
        .expect("podman build");
    assert!(
        built.status.success(),
        "{}",
        crate::binary::text(&built.stderr)
    );
    struct Image<'a>(&'a std::path::Path, String);
    impl Drop for Image<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new(self.0)
                .args(["rmi", "-f", &self.1])
                .output();
        }
    }
    let _image = Image(&podman, tag.clone());
    let inspect = podman_cmd(&["image", "inspect", &tag]);
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("inspect json");
    let config = &v[0]["Config"];
    assert_eq!(config["User"], "10001:10001", "{config}");
    assert!(config["Volumes"].get("/data").is_some(), "{config}");
    let health =
        v[0]["Healthcheck"]["Test"].to_string() + &config["Healthcheck"]["Test"].to_string();
    assert!(health.contains("healthcheck"), "{v}");
    assert_eq!(config["Entrypoint"][0], "/usr/local/bin/botyard");

    // Running: read-only root, /tmp in memory, the options OPERATIONS.md gives.
    let name = format!("botyard-test-{}", std::process::id());
    let run = podman_cmd(&[
        "run",
        "-d",
        "--name",
        &name,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "label=disable",
        "-p",
        "127.0.0.1::8080",
        &tag,
    ]);
    if !run.status.success() {
        let why = crate::binary::text(&run.stderr);
        let _ = podman_cmd(&["rm", "-f", &name]);
        assert!(
            why.contains("setrlimit") || why.contains("OCI permission denied"),
            "podman run failed otherwise: {why}"
        );
        eprintln!(
            "skipped: this machine's container runtime cannot run containers ({})",
            why.trim()
        );
        return;
    }
    struct Container<'a>(&'a std::path::Path, String);
    impl Drop for Container<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new(self.0)
                .args(["rm", "-f", &self.1])
                .output();
        }
    }
    let _container = Container(&podman, name.clone());
    let port = crate::binary::text(&podman_cmd(&["port", &name, "8080"]).stdout);
    let port = port.trim().rsplit(':').next().expect("port").to_string();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let ok = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok()
            && podman_cmd(&["exec", &name, "/usr/local/bin/botyard", "healthcheck"])
                .status
                .success();
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the container never became healthy"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let sandbox = podman_cmd(&[
        "exec",
        &name,
        "/usr/local/bin/botyard",
        "sandbox-check",
        "--require",
    ]);
    assert!(
        sandbox.status.success(),
        "{}",
        crate::binary::text(&sandbox.stdout)
    );
    let stop = podman_cmd(&["stop", "-t", "30", &name]);
    assert!(stop.status.success());
    let code = podman_cmd(&["inspect", "-f", "{{.State.ExitCode}}", &name]);
    assert_eq!(crate::binary::text(&code.stdout).trim(), "0");
}

/// compose.yaml: the appliance from the image the docs build, read-only with the health
/// check and its secrets as files, PostgreSQL only with its profile; and the settings it
/// gives are ones `botyard config check` accepts.
#[test]
fn compose_yaml_runs_the_image_with_known_settings_and_postgres_behind_a_profile() {
    let script = r#"
import json, sys, yaml
print(json.dumps(yaml.safe_load(open(sys.argv[1]))))
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            script,
            concat!(env!("CARGO_MANIFEST_DIR"), "/compose.yaml"),
        ])
        .output()
        .expect("python3 with yaml (Debian's python3-yaml)");
    assert!(out.status.success(), "{}", crate::binary::text(&out.stderr));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let app = &c["services"]["botyard"];
    assert_eq!(app["image"], "localhost/botyard:latest");
    assert_eq!(app["read_only"], true);
    assert_eq!(app["healthcheck"]["test"][1], "/usr/local/bin/botyard");
    assert_eq!(app["volumes"][0], "botyard-data:/data");
    assert!(app.get("profiles").is_none(), "the appliance always runs");
    let pg = &c["services"]["postgres"];
    assert_eq!(pg["profiles"][0], "postgres");
    assert!(pg["image"].as_str().unwrap_or("").contains("postgres:15"));

    // The appliance's environment, its secret files put where the test can make them.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = crate::binary::botyard(dir.path());
    cmd.args(["config", "check"]);
    for (k, v) in app["environment"].as_object().expect("environment") {
        let mut v = v.as_str().expect("string").to_string();
        if let Some(secret) = v.strip_prefix("/run/secrets/") {
            let path = dir.path().join(secret);
            std::fs::write(&path, "0123456789abcdef-test-secret\n").expect("secret");
            v = path.to_string_lossy().into_owned();
        }
        cmd.env(k, v);
    }
    let out = crate::binary::run(&mut cmd);
    assert!(
        out.status.success(),
        "{}{}",
        crate::binary::text(&out.stdout),
        crate::binary::text(&out.stderr)
    );
    for secret in c["secrets"].as_object().expect("secrets").values() {
        let file = secret["file"].as_str().expect("file");
        assert!(
            file.starts_with("./"),
            "secrets are files beside compose.yaml: {file}"
        );
    }
}
