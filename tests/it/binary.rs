//! The real built binary: first-run bootstrap through the printed setup link, the admin from
//! the environment, `healthcheck`, SIGTERM/SIGINT, `config check`/`config example`, and
//! `keys rotate` followed by a restart on the same data.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use common::{PASSWORD, Pair, client, send};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_botyard");
/// How long the binary may take to print a line or to exit.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// The binary with an empty environment (no `BOTYARD_*` from whoever runs the tests) in a
/// folder of its own (so no stray `./botyard.toml` is read).
pub(crate) fn botyard(cwd: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear().current_dir(cwd).stdin(Stdio::null());
    // A test server never rearranges the cgroups of whoever runs the tests.
    c.env("BOTYARD_WORKERS_CGROUP", "false");
    c
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run botyard")
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A `botyard serve` child, killed if the test ends early.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) setup_url: Option<String>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `botyard serve` on a free port over `data` and reads its start-up lines.
    pub(crate) fn start(cwd: &Path, data: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_with(cwd, data, env, &[])
    }

    /// As [`Server::start`], with more `serve` arguments.
    pub(crate) fn start_with(
        cwd: &Path,
        data: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Server {
        let mut cmd = botyard(cwd);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(args)
            .envs(env.iter().copied());
        Self::spawn(cmd)
    }

    /// Starts a prepared `botyard serve` command (perhaps behind a wrapper that prints
    /// nothing on standard output) and reads its start-up lines.
    pub(crate) fn spawn(mut cmd: Command) -> Server {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn botyard serve");
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&text(&buf[..n]));
            }
        });
        let mut s = Server {
            child,
            port: 0,
            setup_url: None,
            lines,
            stdout: Vec::new(),
            stderr,
        };
        // "botyard is serving on http://127.0.0.1:PORT  (API docs: …)"
        let serving = s.line_starting("botyard is serving on ");
        let rest = serving
            .strip_prefix("botyard is serving on http://127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected serving line: {serving}"));
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        s.port = digits.parse().expect("port");
        assert_ne!(s.port, 0);
        let next = s.next_line();
        if next.starts_with("No admin exists yet") {
            let link = s.next_line().trim().to_string();
            assert!(
                link.starts_with(&format!("http://127.0.0.1:{}/console/setup?token=", s.port)),
                "{link}"
            );
            s.setup_url = Some(link);
        } else {
            assert!(next.starts_with("Sign in with POST"), "{next}");
        }
        s
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => {
                self.stdout.push(l.clone());
                l
            }
            Err(e) => panic!(
                "no line from botyard ({e:?}); stdout so far: {:?}; stderr: {}",
                self.stdout,
                self.stderr()
            ),
        }
    }

    pub(crate) fn line_starting(&mut self, prefix: &str) -> String {
        loop {
            let l = self.next_line();
            if l.starts_with(prefix) {
                return l;
            }
        }
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends a signal and waits for the process to exit: its stdout closes when it does.
    pub(crate) fn stop_with(&mut self, signal: &str) -> ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(killed.success(), "kill {signal} {pid} failed");
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(l) => self.stdout.push(l),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "botyard did not exit within {PATIENCE:?} of {signal}; stderr: {}",
                    self.stderr()
                ),
            }
        }
        self.child.wait().expect("wait for botyard")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind, whatever happened in the test.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn healthcheck(cwd: &Path, addr: &str) -> Output {
    run(botyard(cwd).args(["healthcheck", "--addr", addr]))
}

pub(crate) async fn login(base: &str, email: &str, password: &str) -> common::Resp {
    send(
        client()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password})),
    )
    .await
}

pub(crate) async fn me(base: &str, access: &str) -> common::Resp {
    send(
        client()
            .get(format!("{base}/api/v1/auth/me"))
            .bearer_auth(access),
    )
    .await
}

#[tokio::test]
async fn first_run_setup_healthcheck_sigterm_and_key_rotation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let key_file = data.join("master.key");

    // (a) First run without an admin: a setup link is printed.
    let mut server = Server::start(dir.path(), &data, &[]);
    let link = server.setup_url.clone().expect("a setup link on first run");
    let token = link.split_once("token=").expect("token").1.to_string();
    let base = server.base();
    let mode = std::fs::metadata(&key_file)
        .expect("master key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "master key mode {mode:o}");
    // A new store is created at its current schema in one step, without a line per version.
    assert!(
        !server.stderr().contains("migrated schema"),
        "{}",
        server.stderr()
    );

    let page = send(client().get(&link)).await;
    assert_eq!(page.status, 200);
    let setup = |token: String| {
        let base = base.clone();
        async move {
            send(client().post(format!("{base}/api/v1/setup")).json(&json!({
                "token": token, "email": "root@example.com", "password": PASSWORD
            })))
            .await
        }
    };
    let r = setup(token.clone()).await;
    let first = Pair::from_json(r.expect(201));
    setup(token).await.expect_err(401, "setup.invalid_token");
    let pair = Pair::from_json(login(&base, "root@example.com", PASSWORD).await.expect(200));
    let m = me(&base, &first.access).await;
    assert_eq!(m.expect(200)["is_admin"], true);
    // Some work to find again after the restart.
    let created = send(
        client()
            .post(format!("{base}/api/v1/tenants"))
            .bearer_auth(&pair.access)
            .json(&json!({"name": "Kalıcı Kiracı"})),
    )
    .await;
    let tenant = created.expect(201)["id"].as_u64().expect("tenant id");

    // (b) healthcheck while serving.
    let h = healthcheck(dir.path(), &server.addr());
    assert!(
        h.status.success(),
        "healthcheck failed: {}",
        text(&h.stderr)
    );

    // Rotation refuses to run under a live server (the store is locked) and leaves the key be.
    let before = std::fs::read(&key_file).expect("master key");
    let out = run(botyard(dir.path())
        .args(["keys", "rotate", "--data"])
        .arg(&data));
    assert!(
        !out.status.success(),
        "rotate ran beside the server: {}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read(&key_file).expect("master key"), before);
    me(&base, &pair.access).await.expect(200);

    // (c) SIGTERM: a clean exit with code 0.
    let status = server.stop_with("-TERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status:?}; stderr: {}",
        server.stderr()
    );
    assert!(server.stderr().contains("stopped"), "{}", server.stderr());
    let h = healthcheck(dir.path(), &server.addr());
    assert!(
        !h.status.success(),
        "healthcheck passed with the server stopped"
    );
    assert!(text(&h.stderr).contains("unhealthy"), "{}", text(&h.stderr));
    drop(server);

    // (f) keys rotate, with the server stopped.
    let old_key = std::fs::read(&key_file).expect("master key");
    let out = run(botyard(dir.path())
        .args(["keys", "rotate", "--data"])
        .arg(&data));
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "rotate failed: {stdout} {}",
        text(&out.stderr)
    );
    let count: usize = stdout
        .trim()
        .strip_prefix("re-encrypted ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output: {stdout}"));
    assert!(
        count >= 1,
        "at least the token signing key is sealed: {stdout}"
    );
    assert!(stdout.contains("secrets under new master key"), "{stdout}");
    let new_key = std::fs::read(&key_file).expect("master key");
    assert_ne!(old_key, new_key, "the master key file changed");
    let mode = std::fs::metadata(&key_file)
        .expect("master key")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "master key mode after rotation {mode:o}"
    );
    // The old key is gone from the file: only the new one remains.
    let key_lines = |b: &[u8]| -> Vec<String> {
        text(b)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let (old_lines, new_lines) = (key_lines(&old_key), key_lines(&new_key));
    assert_eq!((old_lines.len(), new_lines.len()), (1, 1));
    assert_ne!(old_lines[0], new_lines[0]);
    assert!(
        stdout.contains(new_lines[0].split(' ').next().expect("key id")),
        "{stdout}"
    );

    // The server starts again on the same data, under the new key.
    let mut server = Server::start(dir.path(), &data, &[]);
    assert!(server.setup_url.is_none(), "an admin exists: no setup link");
    let base = server.base();
    // An access token issued before the rotation still verifies: the signing key was
    // re-sealed, not replaced.
    let m = me(&base, &pair.access).await;
    assert_eq!(m.expect(200)["email"], "root@example.com");
    let got = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}"))
            .bearer_auth(&pair.access),
    )
    .await;
    assert_eq!(got.expect(200)["name"], "Kalıcı Kiracı");
    // The old refresh token and the old credentials work too.
    let r = send(
        client()
            .post(format!("{base}/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": pair.refresh})),
    )
    .await;
    Pair::from_json(r.expect(200));
    let again = Pair::from_json(login(&base, "root@example.com", PASSWORD).await.expect(200));
    me(&base, &again.access).await.expect(200);
    let h = healthcheck(dir.path(), &server.addr());
    assert!(h.status.success());
    let status = server.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn admin_from_the_environment_and_sigint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut server = Server::start(
        dir.path(),
        &data,
        &[
            ("BOTYARD_ADMIN_EMAIL", "env-admin@example.com"),
            ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
            ("BOTYARD_STORE_SHARDS", "2"),
        ],
    );
    assert!(
        server.setup_url.is_none(),
        "no setup link when the admin is configured"
    );
    let base = server.base();
    let pair = Pair::from_json(
        login(&base, "env-admin@example.com", PASSWORD)
            .await
            .expect(200),
    );
    let m = me(&base, &pair.access).await;
    assert_eq!(m.expect(200)["is_admin"], true);
    login(&base, "env-admin@example.com", "not-the-password")
        .await
        .expect_err(401, "auth.invalid_credentials");
    let ready = send(client().get(format!("{base}/readyz"))).await;
    assert_eq!(ready.expect(200)["shards"], 2);
    // The password never reaches the logs.
    assert!(!server.stderr().contains(PASSWORD));

    let status = server.stop_with("-INT");
    assert_eq!(
        status.code(),
        Some(0),
        "{status:?}; stderr: {}",
        server.stderr()
    );
}

/// The data folder holds password hashes and sealed secrets: a new one is private to the
/// server's user, its databases too, and one that other users can read is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_private_and_an_open_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let server = Server::start(
        dir.path(),
        &data,
        &[
            ("BOTYARD_ADMIN_EMAIL", "env-admin@example.com"),
            ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
            ("BOTYARD_STORE_SHARDS", "2"),
        ],
    );
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("shards")), 0o700);
    for f in [
        "catalog.redb",
        "shards/00.redb",
        "shards/01.redb",
        "master.key",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    drop(server);

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(botyard(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("open to other users (mode 755)") && err.contains("chmod 700"),
        "{err}"
    );
}

#[test]
fn config_check_names_unknown_keys_and_the_example_is_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nlisten = \"127.0.0.1:0\"\nlisen = \"127.0.0.1:1\"\n",
    )
    .expect("write");
    let out = run(botyard(dir.path())
        .arg("--config")
        .arg(&bad)
        .args(["config", "check"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("server.lisen"),
        "{}",
        text(&out.stderr)
    );

    // An unknown section, and an unknown environment variable.
    std::fs::write(&bad, "[sever]\nlisten = \"127.0.0.1:0\"\n").expect("write");
    let out = run(botyard(dir.path())
        .arg("--config")
        .arg(&bad)
        .args(["config", "check"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("sever.listen"),
        "{}",
        text(&out.stderr)
    );
    let out = run(botyard(dir.path())
        .args(["config", "check"])
        .env("BOTYARD_LISTN", "x"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("BOTYARD_LISTN"),
        "{}",
        text(&out.stderr)
    );

    // A good file passes and is shown, secrets masked.
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[server]\nlisten = \"127.0.0.1:9999\"\n[metrics]\ntoken = \"very-secret-token\"\n",
    )
    .expect("write");
    let out = run(botyard(dir.path())
        .arg("--config")
        .arg(&good)
        .args(["config", "check"]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("server.listen = 127.0.0.1:9999"),
        "{stdout}"
    );
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(!stdout.contains("very-secret-token"), "{stdout}");

    // `config example` is the committed example file.
    let out = run(botyard(dir.path()).args(["config", "example"]));
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        include_str!("../../botyard.example.toml"),
        "botyard.example.toml drifted from `botyard config example`"
    );
    // And the example is itself a valid configuration.
    let example = dir.path().join("example.toml");
    std::fs::write(&example, &out.stdout).expect("write");
    let out = run(botyard(dir.path())
        .arg("--config")
        .arg(&example)
        .args(["config", "check"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Polls `f` every 100 ms until it holds (a separate process has no channel to wait on).
pub(crate) async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_runs_a_simulated_tenant_and_platform_bot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let env = [
        ("BOTYARD_ADMIN_EMAIL", "env-admin@example.com"),
        ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
        ("BOTYARD_STORE_SHARDS", "2"),
    ];
    let mut server = Server::start_with(dir.path(), &data, &env, &["--demo"]);
    // "Demo tenant N runs on simulated Telegram. Its owner signs in as E with password P (shown once)."
    let line = server.line_starting("Demo tenant ");
    let words: Vec<&str> = line.split_whitespace().collect();
    let tenant: u64 = words[2].parse().expect("tenant id");
    let pw_at = words
        .iter()
        .position(|w| *w == "password")
        .expect("password")
        + 1;
    let password = words[pw_at].to_string();
    assert!(line.contains("demo@botyard.invalid"), "{line}");
    let base = server.base();
    let owner = Pair::from_json(
        login(&base, "demo@botyard.invalid", &password)
            .await
            .expect(200),
    );
    let admin = Pair::from_json(
        login(&base, "env-admin@example.com", PASSWORD)
            .await
            .expect(200),
    );

    // The simulated bot's groups appear, and its traffic is counted.
    let groups = eventually("the demo groups", async || {
        let r = send(
            client()
                .get(format!("{base}/api/v1/tenants/{tenant}/groups"))
                .bearer_auth(&owner.access),
        )
        .await;
        let v = r.expect(200).clone();
        (v.as_array()?.len() == 6).then_some(v)
    })
    .await;
    assert!(groups[0]["title"].as_str().is_some_and(|t| !t.is_empty()));
    let settings = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}/settings"))
            .bearer_auth(&owner.access),
    )
    .await;
    assert_eq!(settings.expect(200)["time_zone"], "Europe/Istanbul");
    // A month of history is there from the start: every one of the last 30 days has
    // messages, afternoons busier than nights, and last week's report is made.
    let daily = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}/stats/messages"))
            .bearer_auth(&owner.access),
    )
    .await;
    let daily = daily.expect(200).clone();
    let series = daily["series"].as_array().unwrap();
    assert_eq!(series.len(), 30, "{daily}");
    let counts: Vec<u64> = series
        .iter()
        .map(|d| d["value"].as_u64().unwrap())
        .collect();
    assert!(counts[..29].iter().all(|n| *n > 100), "{counts:?}");
    let heat = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}/stats/heatmap"))
            .bearer_auth(&owner.access),
    )
    .await;
    let cells = heat.expect(200)["cells"].clone();
    let hour = |h: usize| -> u64 { (0..7).map(|d| cells[d][h].as_u64().unwrap()).sum() };
    assert!(hour(15) > 5 * hour(3), "{cells}");
    let reports = send(
        client()
            .get(format!("{base}/api/v1/tenants/{tenant}/reports"))
            .bearer_auth(&owner.access),
    )
    .await;
    assert_eq!(
        reports.expect(200).as_array().unwrap().len(),
        1,
        "{}",
        reports.text
    );
    eventually("demo events stored", async || {
        let r = send(
            client()
                .get(format!("{base}/api/v1/tenants/{tenant}/worker"))
                .bearer_auth(&owner.access),
        )
        .await;
        let v = r.expect(200).clone();
        (v["state"] == "running" && v["events_stored"].as_u64()? > 0).then_some(())
    })
    .await;
    // A template and an active campaign aimed at the demo groups are there to look at.
    let campaigns = eventually("the demo campaign", async || {
        let r = send(
            client()
                .get(format!("{base}/api/v1/tenants/{tenant}/campaigns"))
                .bearer_auth(&owner.access),
        )
        .await;
        let v = r.expect(200).clone();
        (v.as_array()?.len() == 1).then_some(v)
    })
    .await;
    assert_eq!(campaigns[0]["state"], "active", "{campaigns}");
    assert!(campaigns[0]["next_run"].is_string());
    let check = send(
        client()
            .get(format!(
                "{base}/api/v1/tenants/{tenant}/campaigns/{}/check",
                campaigns[0]["id"]
            ))
            .bearer_auth(&owner.access),
    )
    .await;
    assert!(
        check.expect(200)["sendable"].as_u64().unwrap() >= 1,
        "{}",
        check.text
    );
    // Its first run comes right after start, not an hour later: posts are there to see.
    let report = eventually("the demo campaign's first run", async || {
        let r = send(
            client()
                .get(format!(
                    "{base}/api/v1/tenants/{tenant}/campaigns/{}/report",
                    campaigns[0]["id"]
                ))
                .bearer_auth(&owner.access),
        )
        .await;
        let v = r.expect(200).clone();
        (v["sent"].as_u64()? >= 1).then_some(v)
    })
    .await;
    assert_eq!(report["runs"], 1, "{report}");
    // The platform bot runs in a worker of its own.
    let workers = eventually("the platform worker", async || {
        let r = send(
            client()
                .get(format!("{base}/api/v1/workers"))
                .bearer_auth(&admin.access),
        )
        .await;
        let v = r.expect(200).clone();
        let platform = v
            .as_array()?
            .iter()
            .find(|w| w["worker"] == "platform")?
            .clone();
        (platform["state"] == "running").then_some(v)
    })
    .await;
    assert!(
        workers
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["tenant_id"] == tenant),
        "{workers}"
    );
    // "Send a test to me" works in the demo: the owner is linked to a simulated Telegram user
    // and the simulated platform bot delivers (retried until the platform bot is online).
    let sent = eventually("the demo test post", async || {
        let r = send(
            client()
                .post(format!(
                    "{base}/api/v1/tenants/{tenant}/campaigns/{}/test",
                    campaigns[0]["id"]
                ))
                .bearer_auth(&owner.access),
        )
        .await;
        (r.status == 200).then_some(r.json)
    })
    .await;
    assert!(sent["message_id"].as_i64().unwrap() > 0, "{sent}");
    // The statistics show the simulated traffic.
    let summary = eventually("demo statistics", async || {
        let r = send(
            client()
                .get(format!("{base}/api/v1/tenants/{tenant}/stats/summary"))
                .bearer_auth(&owner.access),
        )
        .await;
        let v = r.expect(200).clone();
        (v["today"]["messages"].as_u64()? > 0).then_some(v)
    })
    .await;
    assert!(summary["this_week"]["messages"].as_u64().unwrap() > 0);
    // The owner's password is not in the logs.
    assert!(!server.stderr().contains(&password));
    assert_eq!(server.stop_with("-TERM").code(), Some(0));

    // Again on the same data: the same demo tenant, no second one.
    let mut server = Server::start_with(dir.path(), &data, &env, &["--demo"]);
    let line = server.line_starting("Demo tenant ");
    assert!(
        line.starts_with(&format!("Demo tenant {tenant} runs")),
        "{line}"
    );
    assert!(!line.contains(&password));
    assert_eq!(server.stop_with("-TERM").code(), Some(0));
}

/// `kill -9` with mails queued: after a restart every one is delivered, and the only copies
/// a receiver sees twice are those the server was sending at the kill, with the same
/// Message-ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_queued_at_a_kill_9_are_all_sent_after_the_restart_none_twice_unrecognised() {
    let Some(py) = crate::mail::python() else {
        return;
    };
    let keys = crate::mail::Keys::new();
    let smtp = crate::mail::Smtp::start(&py, &keys, 0);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let port = smtp.port.to_string();
    let ca = keys.path("ca.pem").display().to_string();
    let env = [
        ("BOTYARD_ADMIN_EMAIL", "admin@example.com"),
        ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
        ("BOTYARD_STORE_SHARDS", "2"),
        ("BOTYARD_MAIL_SMTP_HOST", "127.0.0.1"),
        ("BOTYARD_MAIL_SMTP_PORT", port.as_str()),
        ("BOTYARD_MAIL_SMTP_USER", crate::mail::USER),
        ("BOTYARD_MAIL_SMTP_PASSWORD", crate::mail::SMTP_PASSWORD),
        ("BOTYARD_MAIL_FROM_ADDRESS", "bildirim@yard.test"),
        ("BOTYARD_MAIL_CA_FILE", ca.as_str()),
        // Slow enough that the kill lands with most of them queued.
        ("BOTYARD_MAIL_RATE_PER_SEC", "5"),
    ];
    let mut server = Server::start(dir.path(), &data, &env);
    let base = server.base();
    let admin = Pair::from_json(
        login(&base, "admin@example.com", PASSWORD)
            .await
            .expect(200),
    );
    const N: usize = 40;
    for i in 0..N {
        send(
            client()
                .post(format!("{base}/api/v1/mail/test"))
                .bearer_auth(&admin.access)
                .json(&json!({"to": format!("r{i}@example.com")})),
        )
        .await
        .expect(202);
    }
    smtp.wait_for(5).await;
    let status = server.stop_with("-KILL");
    assert_eq!(status.code(), None, "killed by a signal");
    let at_kill = smtp.received().len();
    assert!(
        at_kill < N,
        "the kill came with mails still queued ({at_kill} sent)"
    );
    let mut again = Server::start(dir.path(), &data, &env);
    let mut got = Vec::new();
    for _ in 0..600 {
        got = smtp.received();
        let distinct: std::collections::HashSet<String> = got
            .iter()
            .map(|m| m["rcpt_tos"][0].as_str().unwrap().to_string())
            .collect();
        if distinct.len() == N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut by_id: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for m in &got {
        by_id
            .entry(m["headers"]["Message-ID"].as_str().unwrap().to_string())
            .or_default()
            .push(m["rcpt_tos"][0].as_str().unwrap().to_string());
    }
    assert_eq!(
        by_id.len(),
        N,
        "every mail arrived: {} distinct ids",
        by_id.len()
    );
    // A copy seen twice is one that was being sent at the kill (at most the connections at
    // once), and it carries its first copy's Message-ID.
    let twice: Vec<_> = by_id.values().filter(|v| v.len() > 1).collect();
    assert!(twice.len() <= 4, "{twice:?}");
    assert!(twice.iter().all(|v| v.iter().all(|r| *r == v[0])));
    assert!(got.len() <= N + 4);
    let status = again.stop_with("-TERM");
    assert_eq!(status.code(), Some(0), "{}", again.stderr());
}

/// A backup cut by `kill -9` of the server leaves nothing that looks like a backup; after a
/// restart the next one works, and the command line restores it into a server that starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_mid_way_never_looks_valid_and_the_next_one_restores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let backups = data.join("backups");
    let env = [
        ("BOTYARD_ADMIN_EMAIL", "env-admin@example.com"),
        ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
    ];
    let mut server = Server::start_with(dir.path(), &data, &env, &["--demo"]);
    server.line_starting("Demo tenant ");

    // Kill the server while its backup is being written (seen by the partial file).
    let mut killed = false;
    for _ in 0..5 {
        let mut cli = botyard(dir.path())
            .args(["backup", "create", "--data"])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("backup create");
        let deadline = std::time::Instant::now() + PATIENCE;
        let seen = loop {
            let partial = std::fs::read_dir(&backups).ok().is_some_and(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            });
            if partial {
                break true;
            }
            if cli.try_wait().expect("wait").is_some() || std::time::Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        if !seen {
            // It finished before it was seen: remove it and try again.
            let _ = cli.wait();
            let _ = std::fs::remove_dir_all(&backups);
            continue;
        }
        assert!(!server.stop_with("-KILL").success());
        let out = cli.wait_with_output().expect("backup create ends");
        assert!(!out.status.success(), "{}", text(&out.stdout));
        killed = true;
        break;
    }
    assert!(killed, "never caught a backup in progress");
    let list = run(botyard(dir.path())
        .args(["backup", "list", "--data"])
        .arg(&data));
    assert!(
        text(&list.stdout).starts_with("no backups in"),
        "{}",
        text(&list.stdout)
    );
    for e in std::fs::read_dir(&backups)
        .expect("backups folder")
        .flatten()
    {
        let out = run(botyard(dir.path()).args(["backup", "verify"]).arg(e.path()));
        assert!(!out.status.success(), "{:?} verified", e.path());
    }

    // After a restart the next backup works and the partial one is gone.
    let mut server = Server::start(dir.path(), &data, &env);
    let out = run(botyard(dir.path())
        .args(["backup", "create", "--data"])
        .arg(&data));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let names: Vec<String> = std::fs::read_dir(&backups)
        .expect("backups")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let file = backups.join(&names[0]);
    let out = run(botyard(dir.path()).args(["backup", "verify"]).arg(&file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(": valid"),
        "{}",
        text(&out.stdout)
    );

    // Restored by the command line (refusing a folder in use), started, signed in to.
    let out = run(botyard(dir.path())
        .args(["backup", "restore"])
        .arg(&file)
        .arg("--data")
        .arg(&data));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    let restored = dir.path().join("restored");
    let out = run(botyard(dir.path())
        .args(["backup", "restore"])
        .arg(&file)
        .arg("--data")
        .arg(&restored));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("holds no master key"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(server.stop_with("-TERM").code(), Some(0));
    std::fs::copy(data.join("master.key"), restored.join("master.key")).expect("copy key");
    let server = Server::start(dir.path(), &restored, &env);
    let r = login(&server.base(), "env-admin@example.com", PASSWORD).await;
    let admin = Pair::from_json(r.expect(200));
    let tenants = send(
        client()
            .get(format!("{}/api/v1/tenants", server.base()))
            .bearer_auth(&admin.access),
    )
    .await;
    assert!(
        tenants.text.contains("Demo"),
        "the demo tenant came back: {}",
        tenants.text
    );
}

/// `botyard tenants export` through a running server's admin socket (a relative `--to` is
/// the caller's), then `botyard tenants import` into a stopped appliance's store: the tenant's
/// owner signs in there with the same password and finds its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_bundle_goes_from_a_running_appliance_to_a_stopped_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let env = [
        ("BOTYARD_ADMIN_EMAIL", "env-admin@example.com"),
        ("BOTYARD_ADMIN_PASSWORD", PASSWORD),
    ];
    let mut server = Server::start_with(dir.path(), &a, &env, &["--demo"]);
    let line = server.line_starting("Demo tenant ");
    let tenant = line.split(' ').nth(2).expect("tenant id").to_string();
    let owner_pw = line
        .split("with password ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("owner password")
        .to_string();
    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "galata-kulesi-1348\n").expect("passphrase file");

    let out = run(botyard(dir.path())
        .args([
            "tenants",
            "export",
            &tenant,
            "--to",
            "demo.bundle",
            "--passphrase-file",
        ])
        .arg(&pass)
        .arg("--data")
        .arg(&a));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 sessions released"),
        "{}",
        text(&out.stdout)
    );
    assert!(dir.path().join("demo.bundle").is_file());
    assert_eq!(server.stop_with("-TERM").code(), Some(0));

    let mut target = Server::start(dir.path(), &b, &env);
    assert_eq!(target.stop_with("-TERM").code(), Some(0));
    let out = run(botyard(dir.path())
        .args(["tenants", "import", "demo.bundle", "--data"])
        .arg(&b));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("transfer passphrase"),
        "{}",
        text(&out.stderr)
    );
    let out = run(botyard(dir.path())
        .args(["tenants", "import", "demo.bundle", "--passphrase-file"])
        .arg(&pass)
        .arg("--data")
        .arg(&b));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("imported \""),
        "{}",
        text(&out.stdout)
    );

    let server = Server::start(dir.path(), &b, &env);
    let r = login(
        &server.base(),
        botyard::domain::demo::OWNER_EMAIL,
        &owner_pw,
    )
    .await;
    let owner = Pair::from_json(r.expect(200));
    let me = me(&server.base(), &owner.access).await;
    let id = me.expect(200)["memberships"][0]["tenant_id"]
        .as_u64()
        .expect("a membership");
    let sessions = send(
        client()
            .get(format!("{}/api/v1/tenants/{id}/sessions", server.base()))
            .bearer_auth(&owner.access),
    )
    .await;
    assert_eq!(sessions.expect(200).as_array().map(Vec::len), Some(1));
}
