//! Starting and stopping the appliance, in the pieces `run_with` puts together: configuration
//! translated for the supervisor, the first admin (or a setup link), the banner, and the
//! background tasks with their one ordered shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use botyard_shards::ingest::Ingest;
use botyard_shards::{OpenError, Store, StoreConfig};
use tokio::sync::oneshot;

use crate::config::{self, Config};
use crate::domain::{auth, campaigns, demo, stats, tenant_workers};
use crate::runtime::cgroup;
use crate::runtime::supervisor::{Supervisor, SupervisorConfig};
use crate::security::crypto::{CryptoError, Keyring};
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
    #[error("HTTPS: {0}")]
    Tls(#[from] crate::runtime::tls::TlsError),
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

fn io(context: &str) -> impl FnOnce(std::io::Error) -> RunError {
    let context = context.to_string();
    move |source| RunError::Io { context, source }
}

/// The master key (made on first start) and the store, its files migrated to this version.
pub async fn open_store(config: &Config) -> Result<(Arc<Keyring>, Arc<Store>), RunError> {
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
    Ok((keyring, store))
}

/// Starts every tenant's worker (and the demo's campaign) in the background: workers start
/// after the server answers, so a reboot with many tenants serves at once.
pub fn start_workers(
    st: &Arc<AppState>,
    demo_tenant: Option<botyard_shards::ids::TenantId>,
) -> tokio::task::JoinHandle<()> {
    let st = st.clone();
    tokio::spawn(async move {
        tenant_workers::reconcile_all(&st).await;
        // The demo's worker exists now; its campaign follows its groups.
        if let Some(tenant) = demo_tenant
            && let Err(e) = demo::prepare_campaign(st, tenant).await
        {
            tracing::warn!(error = %e, "demo campaign not set up");
        }
    })
}

/// How long in-flight requests get after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` until `shutdown` resolves, then lets in-flight requests finish for at most
/// [`DRAIN`].
pub async fn serve<L>(
    listener: L,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), RunError>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    use axum::serve::ListenerExt;
    let (drain_tx, drain_rx) = oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = drain_tx.send(());
    };
    // Through `tap_io`, which gives every kind of listener the client's address as
    // `ConnectInfo<SocketAddr>`.
    let server = axum::serve(
        listener.tap_io(|_| {}),
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(graceful);
    tokio::select! {
        r = server => r.map_err(io("serving")),
        _ = async {
            let _ = drain_rx.await;
            tokio::time::sleep(DRAIN).await;
        } => {
            tracing::warn!("in-flight requests did not finish within {DRAIN:?}; closing");
            Ok(())
        }
    }
}

/// The listener the server answers on: plain TCP, or built-in HTTPS.
pub enum Listening {
    Plain(tokio::net::TcpListener),
    Tls(crate::http::tls_listener::TlsListener),
}

/// Built-in HTTPS's plain-HTTP side (`tls.http_listen`): ACME challenges and redirects,
/// until `stop` turns true.
pub fn serve_redirect(
    listener: tokio::net::TcpListener,
    challenges: crate::runtime::tls::Challenges,
    base_url: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let app = crate::http::redirect::router(challenges, base_url);
    tokio::spawn(async move {
        let graceful = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(graceful)
            .await
        {
            tracing::error!(error = %e, "the plain-HTTP listener stopped");
        }
    })
}

/// The supervisor's configuration from the appliance's: sandbox, start rate, pacing, the
/// ports workers may reach (a proxy's included), the Telegram app and the memory caps.
pub fn supervisor_config(
    config: &Config,
    appliance: &crate::domain::appliance::Effective,
    exe: PathBuf,
) -> Result<SupervisorConfig, RunError> {
    let mut sup_cfg = SupervisorConfig::new(exe);
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
    sup_cfg.platform_bot_token = appliance
        .platform_bot_token
        .as_ref()
        .map(|t| zeroize::Zeroizing::new(t.expose().to_string()));
    if let Some(p) = &config.telegram.seed_auth_key_file {
        std::fs::metadata(p).map_err(io(&format!("reading {}", p.display())))?;
    }
    sup_cfg.telegram = appliance
        .telegram
        .as_ref()
        .map(|(id, hash)| crate::domain::appliance::telegram_app(config, *id, hash));
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
    Ok(sup_cfg)
}

/// First run: an admin from configuration, or a one-time setup link (returned). Also drops
/// logins that expired while the server was down.
pub async fn first_admin(st: &Arc<AppState>, base_url: &str) -> Result<Option<String>, RunError> {
    let mut setup_url = None;
    if let (Some(email), Some(pw)) = (&st.config.admin.email, &st.config.admin.password) {
        if auth::bootstrap_admin(st, email, pw.clone())
            .await
            .map_err(|e| RunError::Bootstrap(e.to_string()))?
        {
            tracing::info!("created the first admin from configuration");
        }
    } else if !st.store.catalog_read()?.has_admin()? {
        let token = auth::new_setup_token(st)
            .await
            .map_err(|e| RunError::Bootstrap(e.to_string()))?;
        setup_url = Some(format!("{base_url}/console/setup?token={token}"));
    }
    let st = st.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let now = st.now();
        st.store.catalog_write(|c| c.prune_families(now))
    })
    .await;
    Ok(setup_url)
}

/// What the operator reads on the terminal at start: where it serves, how to sign in, and
/// the demo owner's login.
pub fn banner(
    base_url: &str,
    setup_url: Option<&str>,
    setup_ttl_mins: u64,
    demo: Option<&demo::Demo>,
) {
    println!("botyard is serving on {base_url}  (API docs: {base_url}/api/docs)");
    match setup_url {
        Some(u) => println!(
            "No admin exists yet. Open this one-time link to create one (valid {setup_ttl_mins} minutes):\n  {u}"
        ),
        None => println!(
            "Sign in with POST {base_url}/api/v1/auth/login, or in a browser at {base_url}/console"
        ),
    }
    if let Some(d) = demo {
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
}

/// Everything that runs beside the HTTP server, stopped in one order: nothing new is started,
/// the scheduler and the statistics pruner stop, the workers stop (their last events are
/// stored), the shard writers flush, and the store's files are let go.
pub struct Background {
    starter: tokio::task::JoinHandle<()>,
    scheduler: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    pruner: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    disk: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    renewals: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    reconciliations: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    mail: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    backups: (oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    admin_socket: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
    supervisor: Arc<Supervisor>,
    ingest: Ingest,
    store: Arc<Store>,
}

impl Background {
    /// Starts the scheduler and the pruner; `starter` is the task starting the workers.
    pub fn start(
        st: &Arc<AppState>,
        scheduler: Arc<campaigns::scheduler::Scheduler>,
        starter: tokio::task::JoinHandle<()>,
        ingest: Ingest,
    ) -> Self {
        let (sched_stop, sched_stop_rx) = oneshot::channel::<()>();
        let sched_task = tokio::spawn(scheduler.run(async move {
            let _ = sched_stop_rx.await;
        }));
        let (prune_stop, prune_stop_rx) = oneshot::channel::<()>();
        let prune_task = tokio::spawn(stats::retention::run(
            st.store.clone(),
            st.clock.clone(),
            Duration::from_secs(u64::from(st.config.stats.prune_every_mins) * 60),
            st.config.stats.reports,
            prune_stop_rx,
        ));
        let (disk_stop, disk_stop_rx) = oneshot::channel::<()>();
        let disk_task = tokio::spawn(crate::domain::alerts::watch_disk(
            st.store.clone(),
            st.clock.clone(),
            st.config.data_dir.clone(),
            Duration::from_secs(60),
            disk_stop_rx,
        ));
        let (renew_stop, renew_stop_rx) = oneshot::channel::<()>();
        let renew_task = tokio::spawn(crate::domain::billing::renewals(
            Arc::downgrade(st),
            Duration::from_secs(60),
            renew_stop_rx,
        ));
        let (backup_stop, backup_stop_rx) = oneshot::channel::<()>();
        let backup_task = tokio::spawn(crate::domain::backup::schedule::daily(
            Arc::downgrade(st),
            Duration::from_secs(30),
            backup_stop_rx,
        ));
        let admin_socket = match crate::http::admin_socket::bind(&st.config.data_dir) {
            Ok(l) => {
                let (stop, stop_rx) = oneshot::channel::<()>();
                let task = tokio::spawn(crate::http::admin_socket::serve(st.clone(), l, stop_rx));
                Some((stop, task))
            }
            Err(e) => {
                tracing::warn!(error = %e, "no admin socket: `botyard backup create` and friends cannot reach this server");
                None
            }
        };
        let (recon_stop, recon_stop_rx) = oneshot::channel::<()>();
        let recon_task = tokio::spawn(crate::domain::billing::stars::reconciliations(
            Arc::downgrade(st),
            Duration::from_secs(24 * 3600),
            recon_stop_rx,
        ));
        let (mail_stop, mail_stop_rx) = oneshot::channel::<()>();
        let mail_task = tokio::spawn(crate::domain::mail::sender::run(
            Arc::downgrade(st),
            st.mail_wake.clone(),
            mail_stop_rx,
        ));
        Background {
            starter,
            mail: (mail_stop, mail_task),
            reconciliations: (recon_stop, recon_task),
            scheduler: (sched_stop, sched_task),
            pruner: (prune_stop, prune_task),
            disk: (disk_stop, disk_task),
            renewals: (renew_stop, renew_task),
            backups: (backup_stop, backup_task),
            admin_socket,
            supervisor: st.supervisor.clone(),
            ingest,
            store: st.store.clone(),
        }
    }

    /// Stops everything in order; `st` goes with it, so the store's last handles drop here.
    pub async fn shutdown(self, st: Arc<AppState>) -> Result<(), RunError> {
        st.ready.store(false, std::sync::atomic::Ordering::SeqCst);
        self.starter.abort();
        let _ = self.scheduler.0.send(());
        let _ = self.scheduler.1.await;
        let _ = self.pruner.0.send(());
        let _ = self.pruner.1.await;
        let _ = self.disk.0.send(());
        let _ = self.disk.1.await;
        let _ = self.renewals.0.send(());
        let _ = self.renewals.1.await;
        let _ = self.backups.0.send(());
        let _ = self.backups.1.await;
        if let Some((stop, task)) = self.admin_socket {
            let _ = stop.send(());
            let _ = task.await;
        }
        let _ = self.reconciliations.0.send(());
        let _ = self.reconciliations.1.await;
        // Mails being sent are marked before the store closes; the platform bot's Telegram
        // messages among them still have their worker.
        let _ = self.mail.0.send(());
        let _ = self.mail.1.await;
        self.supervisor.shutdown().await;
        drop(st);
        drop(self.supervisor);
        let ingest = self.ingest;
        tokio::task::spawn_blocking(move || ingest.shutdown())
            .await
            .map_err(|e| RunError::Bootstrap(format!("ingest shutdown: {e}")))?;
        drop(self.store);
        Ok(())
    }
}
