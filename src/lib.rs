//! botyard: a single-binary appliance for reselling Telegram automation to many tenants.
//!
//! The library entry point is [`run`]: the binary calls it, and so do the tests (on port 0).

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod i18n;
pub mod runtime;
pub mod security;
pub mod state;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botyard_shards::ingest::{Ingest, IngestConfig};
use botyard_shards::{OpenError, Store, StoreConfig};

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::domain::{auth, campaigns, demo, stats, telegram_link, tenant_workers};
use crate::runtime::metrics::Metrics;
use crate::runtime::tenant_logs::TenantLogs;
use crate::runtime::{cgroup, supervisor};
use crate::security::crypto::{CryptoError, Keyring};
use crate::security::keys;
use crate::security::lockout::{Lockout, LockoutPolicy};
use crate::security::passwords::HashPool;
use crate::security::tokens::TokenKeys;
use crate::state::AppState;

/// Errors that stop the server from starting or end it.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Open(#[from] OpenError),
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    #[error("first admin: {0}")]
    Bootstrap(String),
    #[error("{0}")]
    DataFolder(String),
    #[error("{0}")]
    Store(#[from] botyard_shards::StoreError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Creates the data folder private to this user (0700), or refuses to serve from one that
/// other local users can read: it holds password hashes and sealed secrets.
pub fn private_data_dir(dir: &std::path::Path) -> Result<(), RunError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let ctx = |what: &str| format!("{what} {}", dir.display());
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| RunError::Io {
                context: ctx("creating"),
                source,
            })?;
    }
    let mode = std::fs::metadata(dir)
        .map_err(|source| RunError::Io {
            context: ctx("reading"),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(RunError::DataFolder(format!(
            "the data folder {} is open to other users (mode {:o}); it holds password hashes \
             and encrypted secrets. Fix it with: chmod 700 {}",
            dir.display(),
            mode & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

/// Called once the server is serving.
pub type OnReady = Box<dyn FnOnce(&Ready) + Send>;

/// What tests may inject; production uses the defaults.
pub struct RunOptions {
    pub clock: SharedClock,
    /// Called once the server is serving, with the bound address and the setup link if one
    /// was issued.
    pub on_ready: Option<OnReady>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            clock: Arc::new(SystemClock),
            on_ready: None,
        }
    }
}

/// Facts about a started server.
#[derive(Clone)]
pub struct Ready {
    pub addr: SocketAddr,
    pub base_url: String,
    pub setup_url: Option<String>,
    /// The worker supervisor, so tests can follow workers without polling.
    pub supervisor: Arc<supervisor::Supervisor>,
    /// The campaign scheduler, so tests can follow runs.
    pub scheduler: Arc<campaigns::scheduler::Scheduler>,
    /// The store while the app runs, for tests to set up what only Telegram could otherwise
    /// (an account's Telegram link on the simulated platform bot). Weak, so a stopped app
    /// lets its files go.
    pub store: std::sync::Weak<Store>,
    /// The demo tenant, with `--demo`.
    pub demo: Option<demo::Demo>,
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url)
            .field("setup_url", &self.setup_url.as_ref().map(|_| "…"))
            .finish()
    }
}

/// How long in-flight requests get after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Runs the appliance on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish, flushes the stores and returns.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    run_with(config, listener, shutdown, RunOptions::default()).await
}

pub async fn run_with(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    opts: RunOptions,
) -> Result<(), RunError> {
    let io = |context: &str| {
        let context = context.to_string();
        move |source| RunError::Io { context, source }
    };
    let addr = listener.local_addr().map_err(io("listener address"))?;
    private_data_dir(&config.data_dir)?;

    let keyring = Arc::new(Keyring::load_or_create(&config.master_key_path(), true)?);
    let store_cfg = StoreConfig {
        dir: config.data_dir.clone(),
        shards: config.store.shards,
        catalog_cache_bytes: config.store.catalog_cache_mb as usize * 1024 * 1024,
        shard_cache_bytes: config.store.shard_cache_mb as usize * 1024 * 1024,
    };
    let store = Arc::new(
        tokio::task::spawn_blocking(move || Store::open(&store_cfg))
            .await
            .map_err(|e| RunError::Bootstrap(format!("store open task: {e}")))??,
    );
    let jwt_secret = keys::signing_key(&store, &keyring)?;

    let metrics = Arc::new(Metrics::new());
    let hook_metrics = metrics.clone();
    let placement_store = store.clone();
    let ingest = Ingest::start(
        store.shards(),
        IngestConfig::default(),
        Arc::new(move |t| placement_store.shard_of(t).ok().flatten()),
        Some(Arc::new(move |s| hook_metrics.observe_commit(&s))),
    );
    let tenant_logs = TenantLogs::new(
        config.data_dir.join("logs").join("tenants"),
        config.log.tenant_file_max_kb * 1024,
        config.log.tenant_files_kept,
    );

    let exe = match &config.workers.exe {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(io("locating this executable"))?,
    };
    let mut sup_cfg = supervisor::SupervisorConfig::new(exe);
    sup_cfg.sandbox_require = config.workers.sandbox_require;
    sup_cfg.start_rate = f64::from(config.workers.start_rate);
    sup_cfg.start_burst = config.workers.start_burst;
    sup_cfg.delivery = config.delivery.clone();
    sup_cfg.run_as = config.workers.run_as;
    sup_cfg.connect_ports = config.telegram.ports.clone();
    // With a proxy, workers connect to it rather than to Telegram.
    if let Some(port) = config
        .telegram
        .proxy
        .as_ref()
        .and_then(|p| config::proxy_port(p.expose()))
        && !sup_cfg.connect_ports.contains(&port)
    {
        sup_cfg.connect_ports.push(port);
    }
    sup_cfg.platform_bot_token = config
        .platform
        .bot_token
        .as_ref()
        .map(|t| zeroize::Zeroizing::new(t.expose().to_string()));
    sup_cfg.telegram = match (config.telegram.api_id, &config.telegram.api_hash) {
        (Some(api_id), Some(hash)) => Some(worker::ipc::messages::TelegramApp {
            api_id,
            api_hash: hash.expose().to_string(),
            flood_sleep_max_secs: config.telegram.flood_sleep_max_secs,
            dc_id: config.telegram.dc.0,
            dc_addr: config.telegram.dc.1,
            seed_auth_key: match &config.telegram.seed_auth_key_file {
                Some(p) => Some(zeroize::Zeroizing::new(
                    std::fs::read(p).map_err(io(&format!("reading {}", p.display())))?,
                )),
                None => None,
            },
            proxy: config
                .telegram
                .proxy
                .as_ref()
                .map(|p| zeroize::Zeroizing::new(p.expose().to_string())),
        }),
        _ => None,
    };
    if config.workers.cgroup {
        match cgroup::Delegated::detect() {
            Ok(Ok(d)) => {
                tracing::info!("worker memory caps: cgroup memory.max in the delegated subtree");
                sup_cfg.cgroup = Some(Arc::new(d));
            }
            Ok(Err(why)) => {
                tracing::info!(reason = %why, "worker memory caps: supervisor watchdog")
            }
            Err(e) => tracing::warn!(error = %e, "worker memory caps: supervisor watchdog"),
        }
    }
    let ingest_handle = ingest
        .handle()
        .ok_or_else(|| RunError::Bootstrap("ingest writers did not start".into()))?;
    let supervisor =
        supervisor::Supervisor::new(sup_cfg, ingest_handle, store.clone(), keyring.clone());

    let scheduler = campaigns::scheduler::Scheduler::new(
        store.clone(),
        opts.clock.clone(),
        supervisor.clone() as Arc<dyn campaigns::scheduler::JobSink>,
    );
    let timers = {
        let sch = scheduler.clone();
        tokio::task::spawn_blocking(move || sch.load())
            .await
            .map_err(|e| RunError::Bootstrap(format!("campaign timers: {e}")))?
            .map_err(|e| RunError::Bootstrap(format!("campaign timers: {e}")))?
    };
    tracing::info!(timers, "campaign timers loaded");

    let st = Arc::new(AppState {
        supervisor: supervisor.clone(),
        scheduler: scheduler.clone(),
        tokens: TokenKeys::new(&jwt_secret, config.auth.access_ttl_secs as i64),
        hashes: HashPool::new(config.auth.hash_workers, config.auth.hash_queue),
        lockout: Lockout::new(LockoutPolicy {
            threshold: config.auth.lockout_threshold.max(1),
            base_secs: config.auth.lockout_base_secs,
            max_secs: config.auth.lockout_max_secs,
        }),
        clock: opts.clock,
        metrics,
        tenant_logs,
        ingest: ingest.handle(),
        api_key_touched: Mutex::new(HashMap::new()),
        link_codes: telegram_link::LinkCodes::default(),
        ready: AtomicBool::new(false),
        store: store.clone(),
        keyring,
        config,
    });

    // First run: an admin from configuration, or a one-time setup link.
    let base_url = st.config.base_url(addr);
    let mut setup_url = None;
    if let (Some(email), Some(pw)) = (&st.config.admin.email, &st.config.admin.password) {
        if auth::bootstrap_admin(&st, email, pw.clone())
            .await
            .map_err(|e| RunError::Bootstrap(e.to_string()))?
        {
            tracing::info!("created the first admin from configuration");
        }
    } else if !store.catalog_read()?.has_admin()? {
        let token = auth::new_setup_token(&st)
            .await
            .map_err(|e| RunError::Bootstrap(e.to_string()))?;
        setup_url = Some(format!("{base_url}/setup?token={token}"));
    }
    {
        let st = st.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let now = st.now();
            st.store.catalog_write(|c| c.prune_families(now))
        })
        .await;
    }

    let demo = if st.config.demo {
        Some(
            demo::ensure(&st)
                .await
                .map_err(|e| RunError::Bootstrap(format!("demo tenant: {e}")))?,
        )
    } else {
        None
    };

    let app = http::router(st.clone());
    telegram_link::spawn_inbox(&st);
    st.ready.store(true, Ordering::SeqCst);
    // Workers start after the server answers, so a reboot with many tenants serves at once.
    let starter = {
        let st = st.clone();
        let demo_tenant = demo.as_ref().map(|d| d.tenant);
        tokio::spawn(async move {
            tenant_workers::reconcile_all(&st).await;
            // The demo's worker exists now; its campaign follows its groups.
            if let Some(tenant) = demo_tenant
                && let Err(e) = demo::prepare_campaign(st, tenant).await
            {
                tracing::warn!(error = %e, "demo campaign not set up");
            }
        })
    };
    println!("botyard is serving on {base_url}  (API docs: {base_url}/api/docs)");
    match &setup_url {
        Some(u) => println!(
            "No admin exists yet. Open this one-time link to create one (valid {} minutes):\n  {u}",
            st.config.auth.setup_link_ttl_mins
        ),
        None => println!("Sign in with POST {base_url}/api/v1/auth/login"),
    }
    if let Some(d) = &demo {
        match &d.password {
            Some(pw) => println!(
                "Demo tenant {} runs on simulated Telegram. Its owner signs in as {} with password {} (shown once).",
                d.tenant.0,
                demo::OWNER_EMAIL,
                pw.expose()
            ),
            None => println!(
                "Demo tenant {} runs on simulated Telegram (owner {}; the password was shown when it was created).",
                d.tenant.0,
                demo::OWNER_EMAIL
            ),
        }
    }
    tracing::info!(%addr, data = %st.config.data_dir.display(), shards = store.shard_count(), "serving");
    let (sched_stop_tx, sched_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sched_task = tokio::spawn(scheduler.clone().run(async move {
        let _ = sched_stop_rx.await;
    }));
    let (prune_stop_tx, prune_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let prune_task = tokio::spawn(stats::retention::run(
        store.clone(),
        st.clock.clone(),
        Duration::from_secs(u64::from(st.config.stats.prune_every_mins) * 60),
        st.config.stats.reports,
        prune_stop_rx,
    ));
    let ready = Ready {
        addr,
        base_url,
        setup_url,
        supervisor: supervisor.clone(),
        scheduler: scheduler.clone(),
        store: Arc::downgrade(&store),
        demo: demo.clone(),
    };
    if let Some(f) = opts.on_ready {
        f(&ready);
    }

    let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = drain_tx.send(());
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(graceful);
    let served = tokio::select! {
        r = server => r.map_err(io("serving")),
        _ = async {
            let _ = drain_rx.await;
            tokio::time::sleep(DRAIN).await;
        } => {
            tracing::warn!("in-flight requests did not finish within {DRAIN:?}; closing");
            Ok(())
        }
    };

    st.ready.store(false, Ordering::SeqCst);
    starter.abort();
    let _ = sched_stop_tx.send(());
    let _ = sched_task.await;
    let _ = prune_stop_tx.send(());
    let _ = prune_task.await;
    supervisor.shutdown().await;
    drop(st);
    drop(supervisor);
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .map_err(|e| RunError::Bootstrap(format!("ingest shutdown: {e}")))?;
    drop(store);
    tracing::info!("stopped");
    served
}
