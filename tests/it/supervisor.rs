//! The TenantManager with the real worker binary: events from a simulated session reach the
//! store exactly, a killed worker is restarted, a hostile worker is cut off and quarantined,
//! and no worker outlives the supervisor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use botyard::runtime::ingestion::{metric, to_batch};
use botyard::runtime::supervisor::{
    Supervisor, SupervisorConfig, WorkerLimits, WorkerState, WorkerStatus,
};
use botyard::worker::ipc::messages::{SessionKind, SessionSpec};
use botyard::worker::telegram::sim::{Sim, SimConfig};
use botyard_shards::ids::{ChatId, Day};
use botyard_shards::ingest::{Ingest, IngestConfig};
use botyard_shards::records::{AccountRec, TenantRec, TenantStatus};
use botyard_shards::{Store, StoreConfig, TenantScope};
use tokio::sync::watch;

struct World {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    ingest: Option<Ingest>,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(&StoreConfig {
            dir: dir.path().to_path_buf(),
            shards: 2,
            catalog_cache_bytes: 4 << 20,
            shard_cache_bytes: 4 << 20,
        })
        .unwrap(),
    );
    let s2 = store.clone();
    let ingest = Ingest::start(
        store.shards(),
        IngestConfig::default(),
        Arc::new(move |t| s2.shard_of(t).ok().flatten()),
        None,
    );
    World {
        _dir: dir,
        store,
        ingest: Some(ingest),
    }
}

impl World {
    /// A supervisor over this world's store and ingest, with `cfg`.
    fn supervisor(&self, cfg: SupervisorConfig) -> Arc<Supervisor> {
        Supervisor::new(
            cfg,
            self.ingest.as_ref().unwrap().handle().unwrap(),
            self.store.clone(),
            keyring(),
        )
    }
}

fn tenant(store: &Store, name: &str) -> TenantScope {
    let admin = store
        .catalog_write(|c| {
            c.insert_account(&AccountRec {
                email: format!("{name}-admin@example.com"),
                password_hash: "x".into(),
                is_admin: true,
                created_at: 0,
                password_changed_at: 0,
            })
        })
        .unwrap();
    let p = store.principal_for_account(admin).unwrap().unwrap();
    store
        .admin(&p)
        .unwrap()
        .create_tenant(&TenantRec {
            name: name.into(),
            status: TenantStatus::Active,
            plan: None,
            created_at: 0,
            updated_at: 0,
        })
        .unwrap()
}

fn keyring() -> Arc<botyard::security::crypto::Keyring> {
    let dir = tempfile::tempdir().unwrap();
    Arc::new(
        botyard::security::crypto::Keyring::load_or_create(&dir.path().join("k"), true).unwrap(),
    )
}

fn config(exe: &str) -> SupervisorConfig {
    let mut c = SupervisorConfig::new(exe.into());
    c.heartbeat = Duration::from_millis(200);
    c.backoff_min = Duration::from_millis(20);
    c.backoff_max = Duration::from_millis(200);
    c.stop_deadline = Duration::from_secs(5);
    c.connect_ports = vec![];
    c
}

fn sim(seed: u64) -> SessionSpec {
    SessionSpec {
        id: 1,
        kind: SessionKind::Sim(SimConfig {
            seed,
            events_per_sec: 0.0,
            ..SimConfig::default()
        }),
        menu_app: None,
    }
}

async fn until(
    rx: &mut watch::Receiver<WorkerStatus>,
    what: &str,
    f: impl FnMut(&WorkerStatus) -> bool,
) -> WorkerStatus {
    let got = match tokio::time::timeout(Duration::from_secs(60), rx.wait_for(f)).await {
        Ok(Ok(s)) => Some(s.clone()),
        _ => None,
    };
    got.unwrap_or_else(|| panic!("timed out waiting for {what}: {:?}", rx.borrow()))
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive: the supervisor reaps its children.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_counters_equal_a_recount_of_the_simulated_stream() {
    let mut w = world();
    let t = tenant(&w.store, "Kahve");
    // The session exists in the store, so the dialogs it reports become the tenant's groups.
    t.shard_write(|s| {
        s.insert_session(&botyard_shards::records::SessionRec {
            label: "sim".into(),
            kind: botyard_shards::records::SessionKindRec::Sim,
            created_at: 0,
        })
    })
    .unwrap();
    let sup = w.supervisor(config(env!("CARGO_BIN_EXE_botyard")));
    sup.start(t.tenant_id(), vec![sim(11)], None, WorkerLimits::default())
        .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let running = until(&mut rx, "events", |s| {
        s.events_stored >= 20_000 && s.dialogs_reported >= 1
    })
    .await;
    assert_eq!(running.state, WorkerState::Running);
    assert!(matches!(
        running.sessions.get(&1),
        Some(botyard::worker::ipc::messages::SessionState::Online { .. })
    ));
    let groups = t.shard_read().unwrap().groups().unwrap();
    assert_eq!(groups.len(), 3, "{groups:?}");
    assert!(
        groups
            .iter()
            .all(|(_, g)| g.present && g.session == 1 && !g.enabled)
    );
    let pid = running.pid.unwrap();
    let sandbox = running.sandbox.clone().unwrap();
    eprintln!(
        "worker sandbox: missing layers {:?}",
        sandbox
            .missing()
            .iter()
            .map(|l| l.layer.name())
            .collect::<Vec<_>>()
    );

    sup.shutdown().await;
    assert!(!alive(pid), "worker {pid} survived the supervisor");
    let stored = rx.borrow().events_stored;
    assert!(stored >= 20_000);

    // Recount: the same seed gives the same stream; the first `stored` events are what the
    // worker sent and the store acknowledged, in order.
    let mut s = Sim::new(SimConfig {
        seed: 11,
        events_per_sec: 0.0,
        ..SimConfig::default()
    });
    let events: Vec<_> = (0..stored).map(|_| s.generate().unwrap()).collect();
    // A tenant without settings counts in UTC.
    let expected = to_batch(t.tenant_id(), &jiff::tz::TimeZone::UTC, &events);
    let mut want: HashMap<(ChatId, Day, u8), u64> = HashMap::new();
    for c in &expected.counters {
        *want
            .entry((c.key.chat, c.key.day, c.key.metric))
            .or_default() += c.delta;
    }
    // The writers stop once every handle is gone, the supervisor's included.
    drop(sup);
    if let Some(i) = w.ingest.take() {
        i.shutdown();
    }
    let r = t.shard_read().unwrap();
    for ((chat, day, m), n) in &want {
        assert_eq!(
            r.counter(*chat, *day, *m).unwrap(),
            *n,
            "chat {chat:?} day {day:?} metric {m}"
        );
    }
    let texts: u64 = want
        .iter()
        .filter(|(k, _)| k.2 == metric::TEXT)
        .map(|(_, n)| n)
        .sum();
    assert!(texts > 0);
    let mut per_user: HashMap<(ChatId, Day, i64), u64> = HashMap::new();
    for u in &expected.user_days {
        *per_user.entry((u.chat, u.day, u.user)).or_default() += u.delta;
    }
    for ((chat, day, user), n) in per_user.iter().take(200) {
        assert_eq!(r.user_day(*chat, *day, *user).unwrap(), *n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_restarted_and_none_survives_shutdown() {
    let w = world();
    let t = tenant(&w.store, "Çiçek");
    let sup = w.supervisor(config(env!("CARGO_BIN_EXE_botyard")));
    sup.start(t.tenant_id(), vec![sim(3)], None, WorkerLimits::default())
        .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let first = until(&mut rx, "running", |s| {
        s.state == WorkerState::Running && s.events_stored > 0
    })
    .await;
    let pid = first.pid.unwrap();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let again = until(&mut rx, "restart", |s| {
        s.restarts >= 1 && s.state == WorkerState::Running
    })
    .await;
    let pid2 = again.pid.unwrap();
    assert_ne!(pid, pid2);
    assert!(!alive(pid));
    // The worker's end is told as it was: a signal, not the broken frame that followed.
    assert_eq!(
        again.last_exit.as_deref(),
        Some("killed by signal 9 (SIGKILL), by the kernel or an operator"),
    );
    sup.shutdown().await;
    assert!(!alive(pid2), "worker {pid2} survived the supervisor");
    assert!(sup.status(t.tenant_id()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_worker_is_cut_off_and_quarantined() {
    let w = world();
    let t = tenant(&w.store, "Kötü");
    let dir = tempfile::tempdir().unwrap();
    // Writes an oversized frame header and garbage to the socket, then waits.
    let script = dir.path().join("hostile.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '\\377\\377\\377\\377garbage' >&3\nexec sleep 30\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cfg = config(script.to_str().unwrap());
    cfg.crash_limit = 2;
    let sup = w.supervisor(cfg);
    sup.start(t.tenant_id(), vec![sim(1)], None, WorkerLimits::default())
        .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let q = until(&mut rx, "quarantine", |s| {
        s.state == WorkerState::Quarantined
    })
    .await;
    assert!(q.restarts >= 2);
    let reason = q.last_exit.unwrap();
    assert!(
        reason.contains("bad frame") || reason.contains("over the limit"),
        "{reason}"
    );
    // The quarantine is a durable alert in the audit log.
    let alerts = w.store.catalog_read().unwrap().audit_tail(50).unwrap();
    assert!(
        alerts.iter().any(|(_, a)| a.action == "worker.quarantined"
            && a.tenant == Some(t.tenant_id())
            && a.detail.contains("crashes")),
        "{alerts:?}"
    );
    // Released by an admin, it is tried again (and fails again).
    assert!(sup.release(t.tenant_id()));
    until(&mut rx, "retry after release", |s| s.restarts > q.restarts).await;
    sup.shutdown().await;
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_start_limiter_spaces_starts() {
    let l = botyard::runtime::supervisor::StartLimiter::new(5.0, 10);
    let t0 = tokio::time::Instant::now();
    for _ in 0..20 {
        l.acquire().await;
    }
    // Ten at once, then five a second: the last of twenty waits two seconds.
    let waited = t0.elapsed().as_secs_f64();
    assert!((1.9..2.1).contains(&waited), "{waited}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_are_sampled_and_restarted_over_their_memory_limit() {
    let w = world();
    let t = tenant(&w.store, "Bellek");
    let mut cfg = config(env!("CARGO_BIN_EXE_botyard"));
    cfg.monitor_every = Duration::from_millis(100);
    let sup = w.supervisor(cfg);
    // A cap no process can meet: the worker is restarted for it.
    sup.start(
        t.tenant_id(),
        vec![sim(4)],
        None,
        WorkerLimits {
            memory_mb: Some(0),
            ..WorkerLimits::default()
        },
    )
    .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let s = until(&mut rx, "memory restart", |s| s.restarts >= 1).await;
    assert!(
        s.last_exit
            .as_deref()
            .unwrap_or("")
            .contains("memory limit"),
        "{:?}",
        s.last_exit
    );
    let u = s.latest().copied().expect("a sample");
    assert!(u.rss_kb > 0 && u.anon_kb > 0 && u.cpu_secs >= 0.0, "{u:?}");
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_hangs_after_ready_is_killed_and_restarted() {
    let w = world();
    let t = tenant(&w.store, "Lokum");
    let sup = w.supervisor(config(env!("CARGO_BIN_EXE_botyard")));
    // The simulated client blocks its thread after 100 events: the worker stops answering
    // heartbeats while its process stays alive.
    let spec = SessionSpec {
        id: 1,
        kind: SessionKind::Sim(SimConfig {
            seed: 5,
            failures: botyard::worker::telegram::sim::SimFailures {
                stall_after_events: Some(100),
                ..Default::default()
            },
            ..SimConfig::default()
        }),
        menu_app: None,
    };
    sup.start(t.tenant_id(), vec![spec], None, WorkerLimits::default())
        .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let first = until(&mut rx, "running", |s| {
        s.state == WorkerState::Running && s.pid.is_some()
    })
    .await;
    let pid = first.pid.unwrap();
    let after = until(&mut rx, "a restart after missed heartbeats", |s| {
        s.restarts >= 1 && s.last_exit.as_deref() == Some("missed heartbeats")
    })
    .await;
    assert!(!alive(pid), "the hung worker {pid} was not killed");
    assert!(after.restarts >= 1);
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_delegated_cgroup_each_worker_gets_memory_max() {
    // This host has no delegated cgroup v2 subtree, so the subtree is a folder laid out as the
    // kernel would; the worker is real. What the kernel does with the files is its business.
    let fake = tempfile::tempdir().unwrap();
    std::fs::write(fake.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
    std::fs::write(fake.path().join("cgroup.subtree_control"), "").unwrap();
    let cg = botyard::runtime::cgroup::Delegated::enter(fake.path()).unwrap();
    let w = world();
    let t = tenant(&w.store, "Baklava");
    let mut cfg = config(env!("CARGO_BIN_EXE_botyard"));
    cfg.cgroup = Some(Arc::new(cg));
    let sup = w.supervisor(cfg);
    sup.start(
        t.tenant_id(),
        vec![sim(8)],
        None,
        WorkerLimits {
            memory_mb: Some(64),
            ..WorkerLimits::default()
        },
    )
    .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let s = until(&mut rx, "running", |s| {
        s.state == WorkerState::Running && s.pid.is_some()
    })
    .await;
    let pid = s.pid.unwrap();
    assert_eq!(
        s.memory_enforcement,
        Some(botyard::runtime::supervisor::MemoryEnforcement::Cgroup)
    );
    let dir = fake.path().join(format!("worker-{}", t.tenant_id().0));
    assert_eq!(
        std::fs::read_to_string(dir.join("memory.max")).unwrap(),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
        pid.to_string()
    );
    // The kernel's OOM killer strikes: the restart says why.
    std::fs::write(dir.join("memory.events"), "oom 1\noom_kill 1\n").unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let after = until(&mut rx, "a restart after the OOM kill", |s| {
        s.restarts >= 1
            && s.last_exit
                .as_deref()
                .is_some_and(|e| e.contains("memory.max"))
    })
    .await;
    assert!(after.restarts >= 1);
    sup.shutdown().await;
}

/// Between the watchdog's samples a worker cannot grow past its plan: `RLIMIT_DATA` stops it
/// at once. The simulated session here would need gigabytes for its members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cannot_outgrow_its_memory_between_samples() {
    let w = world();
    let t = tenant(&w.store, "Şişkin");
    let mut cfg = config(env!("CARGO_BIN_EXE_botyard"));
    // The watchdog never samples during the test: only the rlimit can stop the worker.
    cfg.monitor_every = Duration::from_secs(3600);
    let sup = w.supervisor(cfg);
    let huge = SessionSpec {
        id: 1,
        kind: SessionKind::Sim(SimConfig {
            seed: 1,
            groups: 200,
            members_per_group: 100_000,
            ..SimConfig::default()
        }),
        menu_app: None,
    };
    sup.start(
        t.tenant_id(),
        vec![huge],
        None,
        WorkerLimits {
            memory_mb: Some(64),
            ..WorkerLimits::default()
        },
    )
    .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let s = until(&mut rx, "a restart", |s| s.restarts >= 1).await;
    // (A loaded machine may also have missed a heartbeat while the worker allocated.)
    let exit = s.last_exit.unwrap_or_default();
    assert!(
        exit.starts_with("killed by signal 6 (SIGABRT), most likely out of its 64 MiB of memory"),
        "{exit}"
    );
    sup.shutdown().await;
}

/// A descriptor the server inherited without close-on-exec (`7>>file` from a shell) does not
/// reach the worker; the worker holds no capability, whoever started the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_gets_no_stray_descriptor_and_no_capability() {
    let w = world();
    let t = tenant(&w.store, "Sızıntı");
    let dir = tempfile::tempdir().unwrap();
    let leaked_path = dir.path().join("leaked.log");
    let leaked = std::fs::File::create(&leaked_path).unwrap();
    // As a shell's redirection would hand it over: inheritable.
    rustix::io::fcntl_setfd(&leaked, rustix::io::FdFlags::empty()).unwrap();
    let sup = w.supervisor(config(env!("CARGO_BIN_EXE_botyard")));
    sup.start(t.tenant_id(), vec![sim(5)], None, WorkerLimits::default())
        .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let s = until(&mut rx, "running", |s| s.state == WorkerState::Running).await;
    let pid = s.pid.unwrap();
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        !fds.iter().any(|p| p.contains("leaked.log")),
        "the worker holds the server's stray descriptor: {fds:?}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let line = status
            .lines()
            .find(|l| l.starts_with(set))
            .unwrap_or_else(|| panic!("{set} in {status}"));
        assert!(line.ends_with("0000000000000000"), "{line}");
    }
    let report = s.sandbox.expect("sandbox report");
    let caps = report
        .layers
        .iter()
        .find(|l| l.layer == botyard::worker::sandbox::Layer::Capabilities)
        .expect("capabilities layer");
    assert_eq!(
        caps.status,
        botyard::worker::sandbox::Enforcement::Enforced,
        "{caps:?}"
    );
    drop(leaked);
    sup.shutdown().await;
}

/// A server running as root starts its workers as the configured unprivileged user, with a
/// media folder that user's group may read (skipped when the tests do not run as root).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_root_a_worker_runs_as_the_configured_user() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let w = world();
    let t = tenant(&w.store, "Kullanıcı");
    let mut cfg = config(env!("CARGO_BIN_EXE_botyard"));
    cfg.run_as = Some((65534, 65534));
    let sup = w.supervisor(cfg);
    sup.start(t.tenant_id(), vec![sim(6)], None, WorkerLimits::default())
        .await;
    let mut rx = sup.watch(t.tenant_id()).unwrap();
    let s = until(&mut rx, "running with events", |s| {
        s.state == WorkerState::Running && s.events_stored > 0
    })
    .await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid.unwrap())).unwrap();
    let ids = |key: &str| -> Vec<String> {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert!(ids("Uid:").iter().all(|u| u == "65534"), "{status}");
    assert!(ids("Gid:").iter().all(|g| g == "65534"), "{status}");
    assert!(ids("Groups:").is_empty(), "{status}");
    sup.shutdown().await;
}
