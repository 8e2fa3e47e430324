//! Measuring processes from /proc, shared by the bench binaries.
#![allow(dead_code)] // each bench binary uses its own part

use std::time::{Duration, Instant};

use botyard::config::Config;
use botyard::runtime::supervisor::{WorkerState, WorkerStatus};
use botyard::worker::ipc::messages::SessionState;
use botyard::{Ready, RunOptions};

pub struct Running {
    pub ready: Ready,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), botyard::RunError>>,
    started: Instant,
}

pub async fn start(config: Config) -> Running {
    start_with(config, RunOptions::default()).await
}

/// Starts with `options` (a clock of the bench's choosing); its `on_ready` is replaced.
pub async fn start_with(config: Config, options: RunOptions) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let task = tokio::spawn(botyard::run_with(
        config,
        listener,
        async move {
            let _ = stop_rx.await;
        },
        RunOptions {
            on_ready: Some(Box::new(move |r: &Ready| {
                let _ = ready_tx.send(r.clone());
            })),
            ..options
        },
    ));
    let ready = match ready_rx.await {
        Ok(r) => r,
        Err(_) => panic!("the server did not start: {:?}", task.await),
    };
    Running {
        ready,
        stop,
        task,
        started,
    }
}

impl Running {
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        self.task.await.expect("server task").expect("server");
    }

    /// Waits until `n` workers run with their session online; returns the time since start.
    pub async fn all_online(&self, n: usize) -> Duration {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let online = self
                .ready
                .supervisor
                .all()
                .iter()
                .filter(|(_, s)| online(s))
                .count();
            if online >= n {
                return self.started.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "only {online} of {n} workers online"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn pids(&self) -> Vec<u32> {
        self.ready
            .supervisor
            .all()
            .iter()
            .filter_map(|(_, s)| s.pid)
            .collect()
    }

    pub fn events(&self) -> u64 {
        self.ready
            .supervisor
            .all()
            .iter()
            .map(|(_, s)| s.events_stored)
            .sum()
    }
}

pub fn online(s: &WorkerStatus) -> bool {
    s.state == WorkerState::Running
        && !s.sessions.is_empty()
        && s.sessions
            .values()
            .all(|x| matches!(x, SessionState::Online { .. }))
}

/// (anonymous, resident, proportional) memory of a process in KiB.
pub fn memory(pid: &str) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let kb = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        kb(&status, "RssAnon:"),
        kb(&status, "VmRSS:"),
        kb(&rollup, "Pss:"),
    )
}

/// CPU seconds (user + system) of a process.
pub fn cpu(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / rustix::param::clock_ticks_per_second() as f64
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

pub fn mb(kib: f64) -> String {
    format!("{:.2} MiB", kib / 1024.0)
}

/// A temporary data folder only its owner may read, as the server requires.
pub fn private_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod 700");
    dir
}

/// `n` active tenants written through the store API into `c`'s data folder, each with the
/// one session `kind(i)` makes for the i-th tenant.
/// The store of `c`'s data folder, opened directly (the appliance is not running).
pub fn open_store(c: &Config) -> botyard_shards::Store {
    botyard_shards::Store::open(&botyard_shards::StoreConfig {
        dir: c.data_dir.clone(),
        shards: c.store.shards,
        catalog_cache_bytes: 32 << 20,
        shard_cache_bytes: 16 << 20,
    })
    .expect("store")
}

pub fn fill_tenants(
    c: &Config,
    n: usize,
    kind: impl Fn(usize) -> botyard::worker::ipc::messages::SessionKind,
) -> Vec<botyard_shards::ids::TenantId> {
    use botyard_shards::records::{TenantRec, TenantStatus};
    let dir = &c.data_dir;
    std::fs::create_dir_all(dir).expect("data dir");
    let keyring = botyard::security::crypto::Keyring::load_or_create(&c.master_key_path(), true)
        .expect("master key");
    let store = open_store(c);
    let admin = store.system_admin();
    let recs: Vec<TenantRec> = (0..n)
        .map(|i| TenantRec {
            name: format!("Dükkan {i}"),
            status: TenantStatus::Active,
            plan: None,
            created_at: 0,
            updated_at: 0,
        })
        .collect();
    let ids = admin.create_tenants(&recs).expect("tenants");
    for (i, id) in ids.iter().enumerate() {
        let scope = admin.tenant(*id).expect("scope");
        botyard::domain::sessions::add_session(&keyring, &scope, "bench".into(), &kind(i), 0)
            .expect("session");
    }
    ids
}

/// Signs in through the console's form, as a browser does; the session cookie.
pub async fn sign_in(c: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let page = c
        .get(format!("{base}/console/login"))
        .send()
        .await
        .expect("login page");
    let pre = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("pre cookie")
        .to_string();
    let html = page.text().await.expect("html");
    let marker = r#"name="csrf-token" content=""#;
    let at = html.find(marker).expect("csrf") + marker.len();
    let csrf = &html[at..at + html[at..].find('"').expect("end")];
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("_csrf", csrf)
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let r = c
        .post(format!("{base}/console/login"))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), 303);
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("botyard_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string()
}

/// An access token for `email` through the API's login.
pub async fn api_login(c: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let r: serde_json::Value = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    r["access_token"].as_str().expect("token").to_string()
}

/// The configuration of an in-process appliance on an existing 4-shard store at `dir`, quiet,
/// without cgroups, with this first admin.
pub fn store_config(dir: &std::path::Path, email: &str, password: &str) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.store.shards = 4;
    c.log.level = "error".into();
    c.workers.cgroup = false;
    c.admin.email = Some(email.into());
    c.admin.password = Some(botyard::config::Secret::new(password));
    c
}
