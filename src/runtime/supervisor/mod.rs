//! The TenantManager: one `botyard worker` process per tenant with sessions, started and
//! watched by the server. It hands each worker its configuration, checks its heartbeat, feeds
//! its events to the shard writers and acknowledges them once durable, restarts it with
//! backoff when it dies, and quarantines a worker that keeps crashing.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use botyard_shards::Store;
use botyard_shards::ids::TenantId;
use botyard_shards::ingest::IngestHandle;

use crate::runtime::ingestion;
use crate::worker::ipc::frame::{FrameError, FrameReader, FrameWriter};
use crate::worker::ipc::messages::{
    CallOk, DeliveryOutcome, FromWorker, PROTOCOL_VERSION, PortCall, SendJob, SessionSpec,
    SessionState, ToWorker, WorkerInit,
};
use crate::worker::sandbox::SandboxReport;

mod conversation;
mod lifecycle;
mod persistence;
mod start_limit;
mod status;

pub use start_limit::StartLimiter;
use status::{EXIT_GRACE, describe_exit, lost_logins};
pub use status::{
    HISTORY, MemoryEnforcement, PendingLogin, Usage, WorkerLimits, WorkerState, WorkerStatus,
    sample,
};

#[derive(Clone)]
pub struct SupervisorConfig {
    /// The `botyard` executable to run as `botyard worker`.
    pub exe: PathBuf,
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before it is killed.
    pub heartbeat_misses: u32,
    pub connect_ports: Vec<u16>,
    pub sandbox_require: bool,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// More crashes than this within `crash_window` quarantines the worker.
    pub crash_limit: usize,
    pub crash_window: Duration,
    pub stop_deadline: Duration,
    pub batch_max_events: u32,
    pub batch_max_ms: u64,
    /// How often worker CPU and memory are sampled.
    pub monitor_every: Duration,
    /// Worker starts per second, and how many may start at once.
    pub start_rate: f64,
    pub start_burst: u32,
    /// A delegated cgroup subtree for per-worker `memory.max`, when the host gives one.
    pub cgroup: Option<Arc<crate::runtime::cgroup::Delegated>>,
    /// The reseller's Telegram application, handed to workers for real sessions.
    pub telegram: Option<crate::worker::ipc::messages::TelegramApp>,
    /// The platform bot's token, to store its key under once it signed in.
    pub platform_bot_token: Option<zeroize::Zeroizing<String>>,
    pub delivery: crate::config::DeliverySection,
    /// `(uid, gid)` workers run as when the server runs as root.
    pub run_as: Option<(u32, u32)>,
    /// Timestamps in statuses, samples, stored groups and alerts come from here.
    pub clock: crate::clock::SharedClock,
}

impl SupervisorConfig {
    pub fn new(exe: PathBuf) -> Self {
        SupervisorConfig {
            exe,
            heartbeat: Duration::from_secs(5),
            heartbeat_misses: 3,
            connect_ports: crate::worker::sandbox::TELEGRAM_PORTS.to_vec(),
            sandbox_require: false,
            delivery: crate::config::DeliverySection::default(),
            run_as: None,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            crash_limit: 5,
            crash_window: Duration::from_secs(600),
            stop_deadline: Duration::from_secs(10),
            batch_max_events: 1000,
            batch_max_ms: 200,
            monitor_every: Duration::from_secs(10),
            start_rate: 25.0,
            start_burst: 25,
            cgroup: None,
            telegram: None,
            platform_bot_token: None,
            clock: Arc::new(crate::clock::SystemClock),
        }
    }
}

struct Slot {
    status: Arc<watch::Sender<WorkerStatus>>,
    stop: watch::Sender<bool>,
    release: mpsc::Sender<()>,
    commands: mpsc::Sender<ToWorker>,
    /// Campaign posts for the worker (unbounded: each is a durable pending delivery, so the
    /// queue is bounded by the runs started).
    jobs: mpsc::UnboundedSender<Vec<SendJob>>,
    task: tokio::task::JoinHandle<()>,
}

pub struct Supervisor {
    limiter: StartLimiter,
    cfg: SupervisorConfig,
    ingest: IngestHandle,
    /// For what workers report besides counters: dialogs, chat changes.
    store: Arc<Store>,
    /// Seals session material a worker reports (a bot's new key).
    keyring: Arc<crate::security::crypto::Keyring>,
    slots: Mutex<HashMap<WorkerKey, Slot>>,
    /// Starts and stops of one key run one at a time, so two starts cannot both find nothing
    /// to stop and leave two processes holding the same Telegram session.
    key_locks: Mutex<HashMap<WorkerKey, Arc<tokio::sync::Mutex<()>>>>,
    /// When each worker was last asked to refresh its dialogs.
    last_refresh: Mutex<HashMap<WorkerKey, Instant>>,
    /// Sessions already reported revoked (one alert per session per server run).
    revoked_alerted: Mutex<std::collections::HashSet<(WorkerKey, u64)>>,
    /// Each tenant's posts this hour, for the failure-rate alert.
    failure_windows: Mutex<HashMap<TenantId, crate::domain::alerts::FailureWindow>>,
    /// Posts the platform bot sends for the API (test posts, answers to commands), by job
    /// key, with whoever waits for the outcome.
    direct: Mutex<HashMap<(u64, u32, i64), oneshot::Sender<DeliveryOutcome>>>,
    direct_seq: std::sync::atomic::AtomicU64,
    /// Where commands users send the platform bot go.
    platform_inbox: Mutex<Option<mpsc::Sender<BotCommand>>>,
    /// Where the platform bot's pre-checkout queries and payments go.
    stars_inbox: Mutex<Option<mpsc::Sender<StarsEvent>>>,
    /// Calls through a worker's session, with whoever waits for the answer.
    calls: Mutex<HashMap<u64, oneshot::Sender<Result<CallOk, String>>>>,
    call_seq: std::sync::atomic::AtomicU64,
    /// Tenants' time zones, for counting events in local days and hours.
    zones: Mutex<HashMap<TenantId, jiff::tz::TimeZone>>,
    /// The Telegram app and platform bot token in force: the configuration's at start, then
    /// whatever an admin saves in the console (workers started afterwards get the new ones).
    telegram: Mutex<Option<crate::worker::ipc::messages::TelegramApp>>,
    platform_bot_token: Mutex<Option<zeroize::Zeroizing<String>>>,
}

/// A command a Telegram user sent the platform bot in a private chat.
#[derive(Clone, Debug)]
pub struct BotCommand {
    pub user: crate::worker::telegram::UserRef,
    pub access_hash: i64,
    pub command: String,
    pub payload: String,
}

impl BotCommand {
    /// Within what a port may report (a worker's frame is untrusted).
    fn from_event(e: &crate::worker::telegram::IncomingEvent) -> Option<Self> {
        let crate::worker::telegram::IncomingEvent::Command {
            user,
            access_hash,
            command,
            payload,
            ..
        } = e
        else {
            return None;
        };
        let name_ok = |s: &str| s.len() <= 256;
        let ok = user.id > 0
            && command.len() <= crate::worker::telegram::COMMAND_MAX
            && payload.len() <= crate::worker::telegram::COMMAND_PAYLOAD_MAX
            && name_ok(&user.first_name)
            && user.last_name.as_deref().is_none_or(name_ok)
            && user.username.as_deref().is_none_or(name_ok);
        ok.then(|| BotCommand {
            user: user.clone(),
            access_hash: *access_hash,
            command: command.clone(),
            payload: payload.clone(),
        })
    }
}

/// A pre-checkout query or a payment the platform bot received, checked against the limits
/// of a worker's frame.
#[derive(Debug)]
pub enum StarsEvent {
    Precheckout(Precheckout),
    /// Answered once the payment is durable (or known already): `false` leaves its batch
    /// unacknowledged, so the worker's restart brings it again.
    Paid(StarsPaid, oneshot::Sender<bool>),
    /// `/pay` to the bot: the user asks for an invoice link.
    Pay(BotCommand),
}

#[derive(Clone, Debug)]
pub struct Precheckout {
    pub query_id: i64,
    pub user_id: i64,
    pub currency: String,
    pub amount: i64,
    pub payload: String,
}

#[derive(Clone, Debug)]
pub struct StarsPaid {
    pub user_id: i64,
    pub access_hash: i64,
    pub currency: String,
    pub amount: i64,
    pub payload: String,
    pub charge_id: String,
    pub renewal: bool,
    pub at: i64,
}

/// A Stars event within what a port may report (a worker's frame is untrusted).
enum StarsReport {
    Precheckout(Precheckout),
    Paid(StarsPaid),
    /// A Stars event out of bounds: dropped.
    Bad,
}

impl StarsReport {
    fn from_event(e: &crate::worker::telegram::IncomingEvent) -> Option<Self> {
        use crate::worker::telegram::{CHARGE_ID_MAX, INVOICE_PAYLOAD_MAX, IncomingEvent};
        let fits = |payload: &str, currency: &str, user: i64| {
            payload.len() <= INVOICE_PAYLOAD_MAX && currency.len() <= 8 && user > 0
        };
        match e {
            IncomingEvent::Precheckout {
                query_id,
                user,
                currency,
                amount,
                payload,
                ..
            } => Some(if fits(payload, currency, user.id) {
                StarsReport::Precheckout(Precheckout {
                    query_id: *query_id,
                    user_id: user.id,
                    currency: currency.clone(),
                    amount: *amount,
                    payload: payload.clone(),
                })
            } else {
                StarsReport::Bad
            }),
            IncomingEvent::Paid {
                user,
                access_hash,
                currency,
                amount,
                payload,
                charge_id,
                renewal,
                at,
                ..
            } => Some(
                if fits(payload, currency, user.id)
                    && !charge_id.is_empty()
                    && charge_id.len() <= CHARGE_ID_MAX
                {
                    StarsReport::Paid(StarsPaid {
                        user_id: user.id,
                        access_hash: *access_hash,
                        currency: currency.clone(),
                        amount: *amount,
                        payload: payload.clone(),
                        charge_id: charge_id.clone(),
                        renewal: *renewal,
                        at: *at,
                    })
                } else {
                    StarsReport::Bad
                },
            ),
            _ => None,
        }
    }
}

/// Removes a call's waiter when its caller stops waiting.
struct CallWaiter<'a> {
    sup: &'a Supervisor,
    call: u64,
}

impl Drop for CallWaiter<'_> {
    fn drop(&mut self) {
        lock(&self.sup.calls).remove(&self.call);
    }
}

/// Removes a direct post's waiter when its sender stops waiting.
struct DirectWaiter<'a> {
    sup: &'a Supervisor,
    key: (u64, u32, i64),
}

impl Drop for DirectWaiter<'_> {
    fn drop(&mut self) {
        lock(&self.sup.direct).remove(&self.key);
    }
}

/// Why a call through the platform bot did not get an answer.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the platform bot is not online")]
    Unavailable,
    #[error("the platform bot did not answer in time")]
    Timeout,
    /// Telegram refused it.
    #[error("Telegram refused: {0}")]
    Telegram(String),
}

/// Why a post through the platform bot did not get an answer.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectError {
    #[error("the platform bot is not online")]
    Unavailable,
    #[error("the platform bot did not answer in time")]
    Timeout,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Supervisor {
    fn now(&self) -> i64 {
        self.cfg.clock.now()
    }
}

/// Whose worker: a tenant's, or the reseller's platform bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkerKey {
    Tenant(TenantId),
    Platform,
}

impl WorkerKey {
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            WorkerKey::Tenant(t) => Some(t),
            WorkerKey::Platform => None,
        }
    }
}

impl From<TenantId> for WorkerKey {
    fn from(t: TenantId) -> Self {
        WorkerKey::Tenant(t)
    }
}

impl std::fmt::Display for WorkerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerKey::Tenant(t) => write!(f, "{}", t.0),
            WorkerKey::Platform => f.write_str("platform"),
        }
    }
}

/// Delivery results are committed at least this often, or once this many are waiting.
const RESULTS_EVERY: Duration = Duration::from_millis(100);
const RESULTS_PER_COMMIT: usize = 64;

/// Send jobs per frame (each at most a few KiB; frames are limited to 1 MiB).
const JOBS_PER_FRAME: usize = 16;

/// Shortest time between two dialog refreshes of one worker.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, PartialEq, Eq)]
pub enum RefreshRefused {
    NotRunning,
    /// Seconds until the next refresh is allowed.
    TooSoon(u64),
}

/// What a worker's keeper listens to besides the worker.
struct Control {
    stop: watch::Receiver<bool>,
    release: mpsc::Receiver<()>,
    commands: mpsc::Receiver<ToWorker>,
    jobs: mpsc::UnboundedReceiver<Vec<SendJob>>,
}

#[derive(Debug, thiserror::Error)]
enum RunEnd {
    #[error("stopped")]
    Stopped,
    #[error("{0}")]
    Failed(String),
}

impl Supervisor {
    pub fn new(
        cfg: SupervisorConfig,
        ingest: IngestHandle,
        store: Arc<Store>,
        keyring: Arc<crate::security::crypto::Keyring>,
    ) -> Arc<Self> {
        Arc::new(Supervisor {
            limiter: StartLimiter::new(cfg.start_rate, cfg.start_burst),
            ingest,
            store,
            keyring,
            slots: Mutex::new(HashMap::new()),
            key_locks: Mutex::new(HashMap::new()),
            last_refresh: Mutex::new(HashMap::new()),
            revoked_alerted: Mutex::new(std::collections::HashSet::new()),
            failure_windows: Mutex::new(HashMap::new()),
            direct: Mutex::new(HashMap::new()),
            direct_seq: std::sync::atomic::AtomicU64::new(1),
            platform_inbox: Mutex::new(None),
            stars_inbox: Mutex::new(None),
            calls: Mutex::new(HashMap::new()),
            call_seq: std::sync::atomic::AtomicU64::new(1),
            zones: Mutex::new(HashMap::new()),
            telegram: Mutex::new(cfg.telegram.clone()),
            platform_bot_token: Mutex::new(cfg.platform_bot_token.clone()),
            cfg,
        })
    }

    /// Events from now on count in the tenant's new time zone.
    pub fn set_zone(&self, tenant: TenantId, zone: jiff::tz::TimeZone) {
        lock(&self.zones).insert(tenant, zone);
    }

    /// The tenant's time zone, read from its settings once.
    /// The tenant's time zone, cached (updated with its settings).
    pub async fn zone(&self, tenant: TenantId) -> jiff::tz::TimeZone {
        if let Some(z) = lock(&self.zones).get(&tenant) {
            return z.clone();
        }
        let store = self.store.clone();
        let read = tokio::task::spawn_blocking(move || {
            let scope = store.supervisor_scope(tenant)?;
            crate::domain::tenancy::settings(&scope)
        })
        .await;
        match read {
            Ok(Ok(s)) => {
                let z = crate::domain::tenancy::zone(&s);
                lock(&self.zones).insert(tenant, z.clone());
                z
            }
            // Not cached: the next batch tries again.
            _ => jiff::tz::TimeZone::UTC,
        }
    }

    /// Workers started from now on get this Telegram app.
    pub fn set_telegram_app(&self, app: Option<crate::worker::ipc::messages::TelegramApp>) {
        *lock(&self.telegram) = app;
    }

    /// The `api_id` workers started now get, if any.
    pub fn telegram_api_id(&self) -> Option<i32> {
        lock(&self.telegram).as_ref().map(|a| a.api_id)
    }

    /// The platform bot's key is stored under this token from now on.
    pub fn set_platform_token(&self, token: Option<zeroize::Zeroizing<String>>) {
        *lock(&self.platform_bot_token) = token;
    }

    /// Commands users send the platform bot go to `tx` from now on.
    pub fn set_platform_inbox(&self, tx: mpsc::Sender<BotCommand>) {
        *lock(&self.platform_inbox) = Some(tx);
    }

    /// The platform bot's pre-checkout queries and payments go to `tx` from now on.
    pub fn set_stars_inbox(&self, tx: mpsc::Sender<StarsEvent>) {
        *lock(&self.stars_inbox) = Some(tx);
    }

    /// Makes one call to Telegram through the platform bot and waits for its answer.
    pub async fn call_platform(&self, op: PortCall, wait: Duration) -> Result<CallOk, CallError> {
        if self.platform_bot().is_none() {
            return Err(CallError::Unavailable);
        }
        let call = self
            .call_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.calls).insert(call, tx);
        let _waiter = CallWaiter { sup: self, call };
        let cmd = ToWorker::Call {
            call,
            session: crate::domain::sessions::PLATFORM_SESSION,
            op,
        };
        let commands = lock(&self.slots)
            .get(&WorkerKey::Platform)
            .map(|slot| slot.commands.clone());
        let Some(commands) = commands else {
            return Err(CallError::Unavailable);
        };
        if commands.send_timeout(cmd, wait).await.is_err() {
            return Err(CallError::Unavailable);
        }
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(Ok(answer))) => Ok(answer),
            Ok(Ok(Err(reason))) => Err(CallError::Telegram(reason)),
            Ok(Err(_)) => Err(CallError::Unavailable),
            Err(_) => Err(CallError::Timeout),
        }
    }

    /// A worker answered a call.
    pub(super) fn call_done(&self, call: u64, result: Result<CallOk, String>) {
        if let Some(tx) = lock(&self.calls).remove(&call) {
            let _ = tx.send(result);
        }
    }

    /// The platform bot's account, when it is online.
    pub fn platform_bot(&self) -> Option<crate::worker::telegram::Me> {
        let st = self.status(WorkerKey::Platform)?;
        st.sessions.values().find_map(|s| match s {
            SessionState::Online { me } => Some(me.clone()),
            _ => None,
        })
    }

    /// Sends one post through the platform bot, paced like any other, and waits for its
    /// outcome. The job's key is replaced by one of the supervisor's own.
    pub async fn send_direct(
        &self,
        mut job: SendJob,
        wait: Duration,
    ) -> Result<DeliveryOutcome, DirectError> {
        if self.platform_bot().is_none() {
            return Err(DirectError::Unavailable);
        }
        job.campaign = self
            .direct_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        job.run = 0;
        job.session = crate::domain::sessions::PLATFORM_SESSION;
        let key = job.key();
        let (tx, rx) = oneshot::channel();
        lock(&self.direct).insert(key, tx);
        // However this ends (answer, timeout, the caller gone), the waiter goes.
        let _waiter = DirectWaiter { sup: self, key };
        let handed = lock(&self.slots)
            .get(&WorkerKey::Platform)
            .is_some_and(|slot| slot.jobs.send(vec![job]).is_ok());
        if handed {
            match tokio::time::timeout(wait, rx).await {
                Ok(Ok(outcome)) => Ok(outcome),
                // The worker went away with the post.
                Ok(Err(_)) => Err(DirectError::Unavailable),
                Err(_) => Err(DirectError::Timeout),
            }
        } else {
            Err(DirectError::Unavailable)
        }
    }

    /// Starts (or replaces) the worker of `tenant`. The previous worker, if any, has exited
    /// before the new one starts: a session has one live owner at a time.
    pub async fn start(
        self: &Arc<Self>,
        key: impl Into<WorkerKey>,
        sessions: Vec<SessionSpec>,
        media_dir: Option<PathBuf>,
        limits: WorkerLimits,
    ) {
        let key = key.into();
        let key_lock = self.key_lock(key);
        let _one_at_a_time = key_lock.lock().await;
        // Logins held by the worker being replaced die with it; keep saying so.
        let lost = self
            .status(key)
            .map(|s| lost_logins(&s.logins))
            .unwrap_or_default();
        self.stop_now(key).await;
        let status = Arc::new(watch::Sender::new(WorkerStatus {
            memory_limit_mb: limits.memory_mb,
            events_per_sec: limits.events_per_sec,
            logins: lost,
            ..WorkerStatus::new()
        }));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (release_tx, release_rx) = mpsc::channel(1);
        let (cmd_tx, cmd_rx) = mpsc::channel(8);
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let me = self.clone();
        let st = status.clone();
        let task = async move {
            let ctl = Control {
                stop: stop_rx,
                release: release_rx,
                commands: cmd_rx,
                jobs: jobs_rx,
            };
            me.keep_running(key, sessions, media_dir, st, ctl).await;
        };
        let task = match key {
            WorkerKey::Tenant(t) => task.instrument(tracing::info_span!("worker", tenant_id = t.0)),
            WorkerKey::Platform => {
                task.instrument(tracing::info_span!("worker", worker = "platform"))
            }
        };
        let task = tokio::spawn(task);
        lock(&self.slots).insert(
            key,
            Slot {
                status,
                stop: stop_tx,
                release: release_tx,
                commands: cmd_tx,
                jobs: jobs_tx,
                task,
            },
        );
    }

    fn key_lock(&self, key: WorkerKey) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.key_locks).entry(key).or_default().clone()
    }

    /// Stops the worker of `tenant` and waits until its process is gone.
    pub async fn stop(&self, key: impl Into<WorkerKey>) {
        let key = key.into();
        let key_lock = self.key_lock(key);
        let _one_at_a_time = key_lock.lock().await;
        self.stop_now(key).await;
    }

    async fn stop_now(&self, key: WorkerKey) {
        let slot = lock(&self.slots).remove(&key);
        if let Some(slot) = slot {
            let _ = slot.stop.send(true);
            let _ = slot.task.await;
        }
    }

    /// Stops every worker at once and waits for all of them.
    pub async fn shutdown(&self) {
        let slots: Vec<Slot> = lock(&self.slots).drain().map(|(_, s)| s).collect();
        for s in &slots {
            let _ = s.stop.send(true);
        }
        for s in slots {
            let _ = s.task.await;
        }
    }

    pub fn status(&self, key: impl Into<WorkerKey>) -> Option<WorkerStatus> {
        lock(&self.slots)
            .get(&key.into())
            .map(|s| s.status.borrow().clone())
    }

    /// Follows a worker's status as it changes (tests and the API's long polls).
    pub fn watch(&self, key: impl Into<WorkerKey>) -> Option<watch::Receiver<WorkerStatus>> {
        lock(&self.slots)
            .get(&key.into())
            .map(|s| s.status.subscribe())
    }

    pub fn all(&self) -> Vec<(WorkerKey, WorkerStatus)> {
        lock(&self.slots)
            .iter()
            .map(|(t, s)| (*t, s.status.borrow().clone()))
            .collect()
    }

    /// Asks the tenant's running worker to list its sessions' dialogs again. At most one
    /// refresh per [`REFRESH_EVERY`]: each costs a `getDialogs` per session at Telegram.
    pub fn refresh_dialogs(&self, key: impl Into<WorkerKey>) -> Result<(), RefreshRefused> {
        let key = key.into();
        let slots = lock(&self.slots);
        let s = slots.get(&key).ok_or(RefreshRefused::NotRunning)?;
        if s.status.borrow().state != WorkerState::Running {
            return Err(RefreshRefused::NotRunning);
        }
        let mut last = lock(&self.last_refresh);
        if let Some(at) = last.get(&key)
            && at.elapsed() < REFRESH_EVERY
        {
            return Err(RefreshRefused::TooSoon(
                (REFRESH_EVERY - at.elapsed()).as_secs().max(1),
            ));
        }
        s.commands
            .try_send(ToWorker::RefreshDialogs)
            .map_err(|_| RefreshRefused::NotRunning)?;
        last.insert(key, Instant::now());
        Ok(())
    }

    /// Sends the tenant's rules, as stored now, to its running worker (a worker that starts
    /// later reads them itself). False when no worker runs.
    pub async fn push_rules(&self, tenant: TenantId) -> bool {
        let key = WorkerKey::from(tenant);
        if !lock(&self.slots).contains_key(&key) {
            return false;
        }
        let set = self.rules_of(key).await;
        let slots = lock(&self.slots);
        let Some(s) = slots.get(&key) else {
            return false;
        };
        s.commands.try_send(ToWorker::Rules(Box::new(set))).is_ok()
    }

    /// Signs a session out at Telegram through the tenant's running worker and waits for
    /// the answer (at most `wait`).
    pub async fn logout(
        &self,
        tenant: TenantId,
        session: u64,
        wait: Duration,
    ) -> Result<(), String> {
        let (commands, mut rx) = {
            let slots = lock(&self.slots);
            let Some(s) = slots.get(&WorkerKey::Tenant(tenant)) else {
                return Err("the tenant's worker is not running".into());
            };
            s.status.send_modify(|st| {
                st.logouts.remove(&session);
            });
            (s.commands.clone(), s.status.subscribe())
        };
        commands
            .send(ToWorker::Logout { session })
            .await
            .map_err(|_| "the tenant's worker is not running".to_string())?;
        let answered =
            tokio::time::timeout(wait, rx.wait_for(|s| s.logouts.contains_key(&session)))
                .await
                .map_err(|_| "Telegram did not answer the sign-out in time".to_string())?
                .map_err(|_| "the tenant's worker stopped".to_string())?;
        answered.logouts.get(&session).cloned().unwrap_or(Ok(()))
    }

    /// Sends a login step to the tenant's running worker and waits (at most `wait`) until the
    /// login is no longer busy. `start` registers a new login with the session label.
    pub async fn login_step(
        &self,
        tenant: TenantId,
        login: u64,
        start: Option<(String, bool)>,
        step: crate::worker::ipc::messages::LoginStep,
        wait: Duration,
    ) -> Option<PendingLogin> {
        use crate::worker::ipc::messages::LoginState;
        let (commands, mut rx) = {
            let slots = lock(&self.slots);
            let s = slots.get(&WorkerKey::Tenant(tenant))?;
            let mut known = true;
            s.status.send_modify(|st| {
                if let Some((label, qr)) = start.clone() {
                    if st.logins.len() >= 16 {
                        known = false;
                        return;
                    }
                    st.logins.insert(
                        login,
                        PendingLogin {
                            label,
                            qr,
                            state: LoginState::Working,
                        },
                    );
                }
                match st.logins.get_mut(&login) {
                    Some(p) => p.state = LoginState::Working,
                    None => known = false,
                }
            });
            if !known {
                return None;
            }
            (s.commands.clone(), s.status.subscribe())
        };
        if commands
            .send(ToWorker::Login { login, step })
            .await
            .is_err()
        {
            return None;
        }
        let settled = |s: &WorkerStatus| {
            s.logins
                .get(&login)
                .is_none_or(|p| p.state != LoginState::Working)
        };
        match tokio::time::timeout(wait, rx.wait_for(settled)).await {
            Ok(Ok(s)) => s.logins.get(&login).cloned(),
            _ => self.pending_login(tenant, login),
        }
    }

    pub fn pending_login(&self, tenant: TenantId, login: u64) -> Option<PendingLogin> {
        self.status(tenant)
            .and_then(|s| s.logins.get(&login).cloned())
    }

    /// Forgets a login (finished, or given up).
    pub fn end_login(&self, tenant: TenantId, login: u64) {
        if let Some(s) = lock(&self.slots).get(&WorkerKey::Tenant(tenant)) {
            s.status.send_modify(|st| {
                st.logins.remove(&login);
            });
        }
    }

    /// Lets a quarantined worker start again.
    pub fn release(&self, key: impl Into<WorkerKey>) -> bool {
        lock(&self.slots)
            .get(&key.into())
            .is_some_and(|s| s.release.try_send(()).is_ok())
    }
}

impl crate::domain::campaigns::scheduler::JobSink for Supervisor {
    /// Hands a started run's posts to the tenant's worker. Without a worker they stay pending
    /// in the store and go when one starts.
    fn deliver(&self, tenant: TenantId, jobs: Vec<SendJob>) {
        if let Some(slot) = lock(&self.slots).get(&WorkerKey::Tenant(tenant)) {
            let _ = slot.jobs.send(jobs);
        }
    }
}
