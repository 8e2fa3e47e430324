//! botyard: a single-binary appliance for reselling Telegram automation to many tenants.
//!
//! The library entry point is [`run`]: the binary calls it, and so do the tests (on port 0).

pub mod clock;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod help;
pub mod http;
pub mod i18n;
pub mod runtime;
pub mod security;
pub mod startup;
pub mod state;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use botyard_shards::Store;
use botyard_shards::ingest::{Ingest, IngestConfig};

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::domain::{campaigns, demo, telegram_link};
use crate::runtime::metrics::Metrics;
use crate::runtime::supervisor;
use crate::runtime::tenant_logs::TenantLogs;
use crate::security::keys;
use crate::security::lockout::{Lockout, LockoutPolicy};
use crate::security::passwords::HashPool;
use crate::security::tokens::TokenKeys;
use crate::state::AppState;

pub use crate::startup::{RunError, private_data_dir};

/// The version `botyard --version` prints: the package's and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BUILD_GIT_COMMIT"),
    ")"
);

/// Called once the server is serving.
pub type OnReady = Box<dyn FnOnce(&Ready) + Send>;

/// What tests may inject; production uses the defaults.
pub struct RunOptions {
    pub clock: SharedClock,
    /// Called once the server is serving, with the bound address and the setup link if one
    /// was issued.
    pub on_ready: Option<OnReady>,
    /// systemd's notification socket and watchdog (the binary reads them from its
    /// environment; tests leave it off).
    pub notifier: runtime::systemd::Notifier,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            clock: Arc::new(SystemClock),
            on_ready: None,
            notifier: runtime::systemd::Notifier::none(),
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
    /// Built-in HTTPS, when configured.
    pub tls: Option<TlsReady>,
}

/// Built-in HTTPS of a started server.
#[derive(Clone)]
pub struct TlsReady {
    pub certs: Arc<runtime::tls::CertStore>,
    /// With ACME: the client, so tests can check for renewal after moving the clock.
    pub acme: Option<Arc<runtime::tls::acme::Acme>>,
    /// Where the plain-HTTP listener (challenges, redirects) is bound.
    pub http_addr: Option<SocketAddr>,
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

    let (keyring, store) = startup::open_store(&config).await?;
    let jwt_secret = keys::signing_key(&store, &keyring)?;
    let https =
        runtime::tls::Https::prepare(&config, keyring.clone(), store.clone(), opts.clock.clone())?;
    // Made before anything runs beside the server, so a failure here leaves nothing behind.
    let listener = match &https {
        Some(h) => startup::Listening::Tls(
            http::tls_listener::TlsListener::new(listener, h.server.clone())
                .map_err(io("the HTTPS listener"))?,
        ),
        None => startup::Listening::Plain(listener),
    };
    let http_listener = match (&https, config.tls.http_listen) {
        (Some(_), Some(at)) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .map_err(io(&format!("listening on {at} (tls.http_listen)")))?,
        ),
        _ => None,
    };

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
    let bound_url = config.base_url_bound(addr);
    let appliance = {
        let (store, keyring) = (store.clone(), keyring.clone());
        let (stored, logo) =
            tokio::task::spawn_blocking(move || crate::domain::appliance::load(&store, &keyring))
                .await
                .map_err(|e| RunError::Bootstrap(format!("appliance settings: {e}")))?
                .map_err(|e| RunError::Bootstrap(format!("appliance settings: {e}")))?;
        crate::domain::appliance::Effective::build(&config, &bound_url, &stored, logo)
    };
    let mut sup_cfg = startup::supervisor_config(&config, &appliance, exe)?;
    sup_cfg.clock = opts.clock.clone();
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
        bound_url,
        appliance: std::sync::RwLock::new(Arc::new(appliance)),
        appliance_save: tokio::sync::Mutex::new(()),
        supervisor: supervisor.clone(),
        scheduler: scheduler.clone(),
        tokens: TokenKeys::new(&jwt_secret, config.auth.access_ttl_secs as i64),
        payload_key: crate::domain::billing::payload::PayloadKey::derive(&jwt_secret),
        unsubscribe_key: crate::domain::mail::unsubscribe::UnsubscribeKey::derive(&jwt_secret),
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
        web_links: telegram_link::LinkCodes::default(),
        signup_starts: crate::domain::signup::starts::Starts::default(),
        ready: AtomicBool::new(false),
        mail_wake: Arc::new(tokio::sync::Notify::new()),
        backups: Default::default(),
        overview: Default::default(),
        store: store.clone(),
        keyring,
        config,
    });

    let base_url = st.base_url();
    let setup_url = startup::first_admin(&st, &base_url).await?;

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
    crate::domain::platform_bot::spawn_inbox(&st);
    crate::domain::billing::stars::spawn_inbox(&st);
    st.ready.store(true, Ordering::SeqCst);
    let starter = startup::start_workers(&st, demo.as_ref().map(|d| d.tenant));
    // The banner comes once the admin socket listens too, so a command run right after it
    // (`botyard backup create`, `tenants export`) finds the server.
    let background = startup::Background::start(&st, scheduler.clone(), starter, ingest);
    startup::banner(
        &base_url,
        setup_url.as_deref(),
        st.config.auth.setup_link_ttl_mins,
        demo.as_ref(),
    );
    tracing::info!(%addr, data = %st.config.data_dir.display(), shards = store.shard_count(), "serving");
    let ready = Ready {
        addr,
        base_url,
        setup_url,
        supervisor: supervisor.clone(),
        scheduler: scheduler.clone(),
        store: Arc::downgrade(&store),
        demo: demo.clone(),
        tls: https.as_ref().map(|h| TlsReady {
            certs: h.certs.clone(),
            acme: h.acme.clone(),
            http_addr: http_listener.as_ref().and_then(|l| l.local_addr().ok()),
        }),
    };
    if let Some(f) = opts.on_ready {
        f(&ready);
    }
    let notifier = opts.notifier;
    notifier.ready(&format!("serving {}", ready.base_url));
    let (watchdog_stop, watchdog_rx) = tokio::sync::oneshot::channel::<()>();
    let watchdog = notifier.keep_alive(store.clone(), watchdog_rx);
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        notifier.stopping();
        let _ = stopping_tx.send(true);
    };
    let redirect = match (&https, http_listener) {
        (Some(h), Some(l)) => Some(startup::serve_redirect(
            l,
            h.challenges.clone(),
            ready.base_url.clone(),
            stopping.clone(),
        )),
        _ => None,
    };
    let upkeep = https.as_ref().map(|h| {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        (tx, h.spawn_upkeep(rx))
    });

    let served = match listener {
        startup::Listening::Tls(tls) => startup::serve(tls, app, shutdown).await,
        startup::Listening::Plain(tcp) => startup::serve(tcp, app, shutdown).await,
    };
    let _ = watchdog_stop.send(());
    if let Some(task) = watchdog {
        let _ = task.await;
    }
    if let Some((stop, task)) = upkeep {
        let _ = stop.send(());
        let _ = task.await;
    }
    if let Some(task) = redirect {
        let _ = task.await;
    }
    drop(https);
    drop(ready);

    drop(supervisor);
    drop(store);
    background.shutdown(st).await?;
    tracing::info!("stopped");
    served
}
