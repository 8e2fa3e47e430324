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
    DeliveryOutcome, FromWorker, PROTOCOL_VERSION, SendJob, SessionSpec, SessionState, ToWorker,
    WorkerInit,
};
use crate::worker::sandbox::SandboxReport;

#[derive(Clone, Debug)]
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
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Starting,
    Running,
    Backoff,
    Quarantined,
    Stopped,
}

/// How long a failed worker may take to exit by itself before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(300);

/// How a worker process ended, for `last_exit`; none for a clean exit.
fn describe_exit(exit: std::process::ExitStatus, memory_mb: Option<u32>) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = exit.signal() {
        let name = match sig {
            libc::SIGKILL => "SIGKILL",
            libc::SIGABRT => "SIGABRT",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGBUS => "SIGBUS",
            libc::SIGILL => "SIGILL",
            libc::SIGSYS => "SIGSYS",
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            _ => "signal",
        };
        let hint = match (sig, memory_mb) {
            // Rust aborts when an allocation fails: here, the plan's RLIMIT_DATA.
            (libc::SIGABRT, Some(mb)) => format!(", most likely out of its {mb} MiB of memory"),
            (libc::SIGKILL, _) => ", by the kernel or an operator".to_string(),
            (libc::SIGSYS, _) => ", by the seccomp filter".to_string(),
            _ => String::new(),
        };
        return Some(format!("killed by signal {sig} ({name}){hint}"));
    }
    match exit.code() {
        Some(0) | None => None,
        Some(code) => Some(format!("exited with code {code}")),
    }
}

/// What a tenant's plan allows its worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Anonymous memory, in MiB.
    pub memory_mb: Option<u32>,
    /// Incoming events stored per second; the excess is dropped and counted.
    pub events_per_sec: Option<u32>,
}

/// What the API shows of a worker.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerStatus {
    pub state: WorkerState,
    pub pid: Option<u32>,
    pub started_at: Option<i64>,
    pub restarts: u32,
    pub last_exit: Option<String>,
    pub sandbox: Option<SandboxReport>,
    pub sessions: HashMap<u64, SessionState>,
    /// Dialog lists received and stored (see the groups).
    pub dialogs_reported: u64,
    /// Answers to sign-out requests, by session.
    pub logouts: HashMap<u64, Result<(), String>>,
    /// User-account logins in progress in this worker, by login id (never serialized: a
    /// finished one holds the new key until the API stores it).
    #[serde(skip)]
    pub logins: HashMap<u64, PendingLogin>,
    pub events_stored: u64,
    /// Session update states stored (each covers the events stored before it).
    pub syncs_stored: u64,
    /// Campaign posts handed to the worker, and results of them stored.
    pub jobs_handed: u64,
    pub deliveries_settled: u64,
    /// The plan's memory cap; a worker above it (anonymous memory) is restarted.
    pub memory_limit_mb: Option<u32>,
    /// The plan's budget of incoming events per second; the excess is dropped.
    pub events_per_sec: Option<u32>,
    /// Incoming events dropped over the budget since the worker's slot was made.
    pub events_dropped: u64,
    /// Who enforces the cap: the kernel (cgroup `memory.max`) or the supervisor's watchdog.
    pub memory_enforcement: Option<MemoryEnforcement>,
    /// Resource samples, newest last (at most [`HISTORY`]).
    pub usage: VecDeque<Usage>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemoryEnforcement {
    /// `memory.max` on the worker's own cgroup, in a subtree the service manager delegated.
    Cgroup,
    /// The supervisor samples anonymous memory and restarts a worker over the cap.
    Watchdog,
}

/// A login the API started; the worker reports its state.
#[derive(Clone, Debug)]
pub struct PendingLogin {
    /// The label the session gets.
    pub label: String,
    pub qr: bool,
    pub state: crate::worker::ipc::messages::LoginState,
}

/// The same logins, each marked lost (its worker process is gone).
fn lost_logins(logins: &HashMap<u64, PendingLogin>) -> HashMap<u64, PendingLogin> {
    logins
        .iter()
        .map(|(id, p)| {
            (
                *id,
                PendingLogin {
                    state: crate::worker::ipc::messages::LoginState::Failed {
                        code: "login.lost".into(),
                        message: "the worker holding this login restarted; start again".into(),
                    },
                    ..p.clone()
                },
            )
        })
        .collect()
}

/// Samples kept per worker.
pub const HISTORY: usize = 30;

/// One resource sample of a worker process, from /proc.
#[derive(Clone, Copy, Debug, Serialize, utoipa::ToSchema)]
pub struct Usage {
    pub at: i64,
    /// CPU time used since the process started, seconds (user + system).
    pub cpu_secs: f64,
    pub rss_kb: u64,
    pub anon_kb: u64,
}

/// Reads a process's CPU time and memory from /proc; `None` when it is gone.
pub fn sample(pid: u32, at: i64) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some(Usage {
        at,
        cpu_secs: ticks as f64 / hz.max(1.0),
        rss_kb: kb("VmRSS:"),
        anon_kb: kb("RssAnon:"),
    })
}

/// Spaces worker starts: a token bucket, so a reboot with hundreds of tenants does not
/// connect every session at once.
pub struct StartLimiter {
    rate: f64,
    burst: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl StartLimiter {
    pub fn new(per_sec: f64, burst: u32) -> Self {
        StartLimiter {
            rate: per_sec.max(0.001),
            burst: f64::from(burst.max(1)),
            state: tokio::sync::Mutex::new((f64::from(burst.max(1)), tokio::time::Instant::now())),
        }
    }

    /// Waits for a start token.
    pub async fn acquire(&self) {
        let wait = {
            let mut st = self.state.lock().await;
            let now = tokio::time::Instant::now();
            let tokens =
                (st.0 + now.duration_since(st.1).as_secs_f64() * self.rate).min(self.burst);
            // Take the token now (possibly going negative) and wait for it outside the lock.
            *st = (tokens - 1.0, now);
            if tokens >= 1.0 {
                None
            } else {
                Some(Duration::from_secs_f64((1.0 - tokens) / self.rate))
            }
        };
        if let Some(w) = wait {
            tokio::time::sleep(w).await;
        }
    }
}

impl WorkerStatus {
    fn new() -> Self {
        WorkerStatus {
            state: WorkerState::Starting,
            pid: None,
            started_at: None,
            restarts: 0,
            last_exit: None,
            sandbox: None,
            sessions: HashMap::new(),
            dialogs_reported: 0,
            logouts: HashMap::new(),
            logins: HashMap::new(),
            events_stored: 0,
            syncs_stored: 0,
            jobs_handed: 0,
            deliveries_settled: 0,
            memory_limit_mb: None,
            events_per_sec: None,
            events_dropped: 0,
            memory_enforcement: None,
            usage: VecDeque::new(),
        }
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&Usage> {
        self.usage.back()
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
    /// Posts the platform bot sends for the API (test posts, answers to commands), by job
    /// key, with whoever waits for the outcome.
    direct: Mutex<HashMap<(u64, u32, i64), oneshot::Sender<DeliveryOutcome>>>,
    direct_seq: std::sync::atomic::AtomicU64,
    /// Where commands users send the platform bot go.
    platform_inbox: Mutex<Option<mpsc::Sender<BotCommand>>>,
    /// Tenants' time zones, for counting events in local days and hours.
    zones: Mutex<HashMap<TenantId, jiff::tz::TimeZone>>,
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

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
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

/// A failure code from a worker: short, lower-case letters and `_` (it is stored and shown).
pub fn valid_delivery_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
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
            cfg,
            ingest,
            store,
            keyring,
            slots: Mutex::new(HashMap::new()),
            key_locks: Mutex::new(HashMap::new()),
            last_refresh: Mutex::new(HashMap::new()),
            revoked_alerted: Mutex::new(std::collections::HashSet::new()),
            direct: Mutex::new(HashMap::new()),
            direct_seq: std::sync::atomic::AtomicU64::new(1),
            platform_inbox: Mutex::new(None),
            zones: Mutex::new(HashMap::new()),
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

    /// Commands users send the platform bot go to `tx` from now on.
    pub fn set_platform_inbox(&self, tx: mpsc::Sender<BotCommand>) {
        *lock(&self.platform_inbox) = Some(tx);
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

    async fn keep_running(
        self: Arc<Self>,
        key: WorkerKey,
        sessions: Vec<SessionSpec>,
        media_dir: Option<PathBuf>,
        status: Arc<watch::Sender<WorkerStatus>>,
        mut ctl: Control,
    ) {
        let mut crashes: VecDeque<Instant> = VecDeque::new();
        let mut backoff = self.cfg.backoff_min;
        loop {
            status.send_modify(|s| s.state = WorkerState::Starting);
            let started = Instant::now();
            let end = self
                .run_once(key, &sessions, media_dir.as_deref(), &status, &mut ctl)
                .await;
            status.send_modify(|s| {
                s.pid = None;
                s.last_exit = Some(end.to_string());
                // The logins this process held died with it.
                s.logins = lost_logins(&s.logins);
            });
            if matches!(end, RunEnd::Stopped) || *ctl.stop.borrow() {
                status.send_modify(|s| s.state = WorkerState::Stopped);
                return;
            }
            tracing::warn!(reason = %end, "worker ended; restarting");
            let now = Instant::now();
            crashes.push_back(now);
            while crashes
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.cfg.crash_window)
            {
                crashes.pop_front();
            }
            if started.elapsed() > self.cfg.backoff_max {
                backoff = self.cfg.backoff_min;
            }
            if crashes.len() > self.cfg.crash_limit {
                tracing::error!(
                    crashes = crashes.len(),
                    "worker quarantined after repeated crashes"
                );
                self.record_alert(
                    key,
                    "worker.quarantined",
                    format!(
                        "{} crashes within {} s; last: {}",
                        crashes.len(),
                        self.cfg.crash_window.as_secs(),
                        status.borrow().last_exit.clone().unwrap_or_default()
                    ),
                )
                .await;
                // Shown once the alert is durable.
                status.send_modify(|s| s.state = WorkerState::Quarantined);
                tokio::select! {
                    _ = ctl.stop.changed() => { status.send_modify(|s| s.state = WorkerState::Stopped); return; }
                    _ = ctl.release.recv() => { crashes.clear(); backoff = self.cfg.backoff_min; }
                }
            } else {
                status.send_modify(|s| s.state = WorkerState::Backoff);
                let jitter = rand::random_range(0.0..0.25) * backoff.as_secs_f64();
                let wait = backoff + Duration::from_secs_f64(jitter);
                tokio::select! {
                    _ = ctl.stop.changed() => { status.send_modify(|s| s.state = WorkerState::Stopped); return; }
                    _ = tokio::time::sleep(wait) => {}
                }
                backoff = (backoff * 2).min(self.cfg.backoff_max);
            }
            status.send_modify(|s| s.restarts += 1);
        }
    }

    /// One life of a worker process.
    async fn run_once(
        &self,
        key: WorkerKey,
        sessions: &[SessionSpec],
        media_dir: Option<&std::path::Path>,
        status: &Arc<watch::Sender<WorkerStatus>>,
        ctl: &mut Control,
    ) -> RunEnd {
        tokio::select! {
            _ = self.limiter.acquire() => {}
            _ = ctl.stop.changed() => return RunEnd::Stopped,
        }
        let memory_mb = status.borrow().memory_limit_mb;
        let opts = crate::worker::sandbox::spawn::SpawnOptions {
            data_limit: memory_mb.map(|mb| u64::from(mb) * 1024 * 1024),
            run_as: self.cfg.run_as,
        };
        let (mut child, sock) =
            match crate::worker::sandbox::spawn::spawn_worker(&self.cfg.exe, media_dir, opts) {
                Ok(c) => c,
                Err(e) => return RunEnd::Failed(format!("cannot start worker: {e}")),
            };
        let pid = child.id();
        // Into its capped cgroup before it hears its configuration (and so before it holds
        // any session).
        let cgroup = match (&self.cfg.cgroup, pid) {
            (Some(cg), Some(pid)) => {
                let limit = status.borrow().memory_limit_mb;
                match cg.place(&key.to_string(), pid, limit) {
                    Ok(()) => Some((cg.clone(), cg.oom_kills(&key.to_string()))),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot place the worker in its cgroup; the memory watchdog applies");
                        None
                    }
                }
            }
            _ => None,
        };
        status.send_modify(|s| {
            s.memory_enforcement = s.memory_limit_mb.map(|_| {
                if cgroup.is_some() {
                    MemoryEnforcement::Cgroup
                } else {
                    MemoryEnforcement::Watchdog
                }
            })
        });
        let mut result = self
            .talk(key, sessions, media_dir, status, ctl, sock, pid)
            .await;
        // However it ended, the process is gone before this returns.
        match &result {
            RunEnd::Stopped => {
                if tokio::time::timeout(self.cfg.stop_deadline, child.wait())
                    .await
                    .is_err()
                {
                    tracing::warn!("worker did not stop in time; killing it");
                    let _ = child.kill().await;
                }
            }
            RunEnd::Failed(why) => {
                // A worker that died by itself (a signal, an exit) is described by how it
                // ended, not by the broken connection that followed.
                match tokio::time::timeout(EXIT_GRACE, child.wait()).await {
                    Ok(Ok(exit)) => {
                        if let Some(how) = describe_exit(exit, memory_mb) {
                            // A lost connection is the death's echo; another reason stays beside it.
                            let echo = [
                                "bad frame",
                                "worker closed",
                                "worker connection",
                                "sending init",
                            ]
                            .iter()
                            .any(|p| why.starts_with(p));
                            result =
                                RunEnd::Failed(if echo { how } else { format!("{how}; {why}") });
                        }
                    }
                    _ => {
                        let _ = child.kill().await;
                    }
                }
            }
        }
        let _ = child.wait().await;
        if let Some((cg, kills_before)) = cgroup {
            let name = key.to_string();
            if cg.oom_kills(&name) > kills_before
                && let RunEnd::Failed(why) = &mut result
            {
                *why = format!("killed by the kernel over its memory.max ({why})");
            }
            cg.remove(&name);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn talk(
        &self,
        key: WorkerKey,
        sessions: &[SessionSpec],
        media_dir: Option<&std::path::Path>,
        status: &Arc<watch::Sender<WorkerStatus>>,
        ctl: &mut Control,
        sock: tokio::net::UnixStream,
        pid: Option<u32>,
    ) -> RunEnd {
        let (r, w) = sock.into_split();
        let mut writer = FrameWriter::new(w);
        let init = WorkerInit {
            protocol: PROTOCOL_VERSION,
            tenant: key.tenant().map_or(0, |t| t.0),
            media_dir: media_dir.map(|p| p.display().to_string()),
            connect_ports: self.cfg.connect_ports.clone(),
            sandbox_require: self.cfg.sandbox_require,
            batch_max_events: self.cfg.batch_max_events,
            batch_max_ms: self.cfg.batch_max_ms,
            max_unacked_batches: 8,
            sessions: sessions.to_vec(),
            telegram: self.cfg.telegram.clone(),
            pacing_bot: self.cfg.delivery.bot.clone(),
            pacing_user: self.cfg.delivery.user.clone(),
            flood_wait_max_secs: self.cfg.delivery.flood_wait_max_secs,
        };
        if let Err(e) = writer.send(&ToWorker::Init(Box::new(init))).await {
            return RunEnd::Failed(format!("sending init: {e}"));
        }
        let (mut in_rx, reader_task) = FrameReader::new(r).spawn::<FromWorker>();
        let result = self
            .converse(key, status, ctl, &mut writer, &mut in_rx, pid)
            .await;
        reader_task.abort();
        result
    }

    async fn converse(
        &self,
        key: WorkerKey,
        status: &Arc<watch::Sender<WorkerStatus>>,
        ctl: &mut Control,
        writer: &mut FrameWriter<tokio::net::unix::OwnedWriteHalf>,
        in_rx: &mut mpsc::Receiver<Result<FromWorker, FrameError>>,
        pid: Option<u32>,
    ) -> RunEnd {
        // The first frame says whether the worker runs, and with which sandbox.
        let first =
            tokio::time::timeout(self.cfg.heartbeat * self.cfg.heartbeat_misses, in_rx.recv())
                .await;
        match first {
            Ok(Some(Ok(FromWorker::Ready {
                protocol,
                pid: wpid,
                sandbox,
            }))) if protocol == PROTOCOL_VERSION => {
                let missing = sandbox.missing();
                if !missing.is_empty() {
                    let names: Vec<&str> = missing.iter().map(|l| l.layer.name()).collect();
                    tracing::warn!(
                        "the worker's sandbox lacks {} on this kernel (see `botyard sandbox-check`)",
                        names.join(", ")
                    );
                }
                status.send_modify(|s| {
                    s.state = WorkerState::Running;
                    s.pid = pid.or(Some(wpid));
                    s.started_at = Some(now());
                    s.sandbox = Some(*sandbox);
                });
            }
            Ok(Some(Ok(FromWorker::Refused { reason }))) => {
                return RunEnd::Failed(format!("worker refused: {reason}"));
            }
            Ok(Some(Ok(other))) => {
                return RunEnd::Failed(format!("worker spoke out of turn: {}", other.name()));
            }
            Ok(Some(Err(e))) => return RunEnd::Failed(format!("bad frame from worker: {e}")),
            Ok(None) => return RunEnd::Failed("worker closed the connection".into()),
            Err(_) => return RunEnd::Failed("worker did not report ready in time".into()),
        }
        match pid {
            Some(pid) => tracing::info!(pid, "worker running"),
            None => tracing::info!("worker running"),
        }
        // Jobs queued while no worker ran are pending in the store too: hand the store's.
        while ctl.jobs.try_recv().is_ok() {}
        if let Some(tenant) = key.tenant() {
            let jobs = self.pending_jobs(tenant).await;
            if let Err(e) = self.hand_jobs(writer, status, jobs).await {
                return RunEnd::Failed(format!("worker connection: {e}"));
            }
        }

        let mut beat = tokio::time::interval(self.cfg.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut nonce = 0u64;
        let mut last_ack = Instant::now();
        let mut expected_batch = 1u64;
        let mut monitor = tokio::time::interval(self.cfg.monitor_every);
        monitor.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Delivery results, committed together (a result lost in a crash leaves its delivery
        // pending: it is handed out again and Telegram refuses the repeat).
        let mut results: Vec<(
            botyard_shards::DeliveryKey,
            crate::worker::ipc::messages::DeliveryOutcome,
        )> = Vec::new();
        let mut budget = status
            .borrow()
            .events_per_sec
            .map(|r| crate::runtime::ingestion::Budget::new(r, Instant::now()));
        let mut dropping = false;
        // Sessions whose kind (bot or user) was checked against their first sign-in this run.
        let mut kinds_known: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let mut results_tick = tokio::time::interval(RESULTS_EVERY);
        results_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = results_tick.tick(), if !results.is_empty() => {
                    if let Some(tenant) = key.tenant() {
                        self.settle_results(tenant, status, &mut results).await;
                    }
                }
                _ = ctl.stop.changed() => {
                    if let Some(tenant) = key.tenant() {
                        self.settle_results(tenant, status, &mut results).await;
                    }
                    let _ = writer.send(&ToWorker::Stop).await;
                    // Store what the worker flushes on its way out.
                    let deadline = tokio::time::sleep(self.cfg.stop_deadline);
                    tokio::pin!(deadline);
                    loop {
                        tokio::select! {
                            _ = &mut deadline => break,
                            m = in_rx.recv() => match m {
                                Some(Ok(FromWorker::Events { batch, session: _, events })) if batch == expected_batch => {
                                    if self.store_events(key, status, &events).await.is_ok() {
                                        expected_batch += 1;
                                    }
                                }
                                Some(Ok(FromWorker::Stopped)) | None | Some(Err(_)) => break,
                                Some(Ok(_)) => {}
                            }
                        }
                    }
                    return RunEnd::Stopped;
                }
                Some(jobs) = ctl.jobs.recv() => {
                    if let Err(e) = self.hand_jobs(writer, status, jobs).await {
                        return RunEnd::Failed(format!("worker connection: {e}"));
                    }
                }
                Some(cmd) = ctl.commands.recv() => {
                    if let Err(e) = writer.send(&cmd).await {
                        return RunEnd::Failed(format!("worker connection: {e}"));
                    }
                }
                _ = monitor.tick() => {
                    let Some(u) = pid.and_then(|p| sample(p, now())) else { continue };
                    // The kernel enforces the cap when the worker is in a capped cgroup.
                    let limit = {
                        let s = status.borrow();
                        s.memory_limit_mb.filter(|_| s.memory_enforcement == Some(MemoryEnforcement::Watchdog))
                    };
                    status.send_modify(|s| {
                        if s.usage.len() >= HISTORY {
                            s.usage.pop_front();
                        }
                        s.usage.push_back(u);
                    });
                    if let Some(mb) = limit.filter(|mb| u.anon_kb > u64::from(*mb) * 1024) {
                        tracing::warn!(anon_kb = u.anon_kb, limit_mb = mb, "worker over its memory limit; restarting");
                        return RunEnd::Failed(format!("memory limit: {} KiB anonymous memory over {mb} MiB", u.anon_kb));
                    }
                }
                _ = beat.tick() => {
                    if last_ack.elapsed() > self.cfg.heartbeat * self.cfg.heartbeat_misses {
                        return RunEnd::Failed("missed heartbeats".into());
                    }
                    nonce += 1;
                    if let Err(e) = writer.send(&ToWorker::Heartbeat { nonce }).await {
                        return RunEnd::Failed(format!("worker connection: {e}"));
                    }
                }
                m = in_rx.recv() => match m {
                    Some(Ok(FromWorker::HeartbeatAck { nonce: n })) => {
                        if n == nonce {
                            last_ack = Instant::now();
                        }
                    }
                    Some(Ok(FromWorker::Session { session, state })) => {
                        tracing::info!(session, "session {session}: {state}");
                        let newly_revoked = state == SessionState::Revoked
                            && lock(&self.revoked_alerted).insert((key, session));
                        if newly_revoked {
                            // The bot-status event the notifications will send; durable
                            // before the API shows the state.
                            self.record_alert(key, "session.revoked", format!("session {session}: Telegram no longer accepts its auth key")).await;
                        }
                        if let (SessionState::Online { me }, Some(tenant)) = (&state, key.tenant())
                            && kinds_known.insert(session)
                        {
                            let (store, keyring, is_bot) = (self.store.clone(), self.keyring.clone(), me.is_bot);
                            let r = tokio::task::spawn_blocking(move || {
                                crate::domain::sessions::store_kind(&store, &keyring, tenant, botyard_shards::ids::SecretId(session), is_bot)
                            }).await;
                            match r {
                                Ok(Ok(true)) => tracing::info!(session, is_bot, "session {session} signed in as a {}", if is_bot { "bot" } else { "user account" }),
                                Ok(Ok(false)) => {}
                                Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store the session's kind"),
                                Err(e) => tracing::error!(error = %e, "session kind task failed"),
                            }
                        }
                        status.send_modify(|s| { s.sessions.insert(session, state); });
                    }
                    Some(Ok(FromWorker::Dialogs { session, dialogs })) => {
                        // The platform bot's chats are not a tenant's groups.
                        let Some(tenant) = key.tenant() else { continue };
                        let store = self.store.clone();
                        let n = dialogs.len();
                        let stored = tokio::task::spawn_blocking(move || {
                            crate::domain::groups::store_dialogs(&store, tenant, session, &dialogs, now())
                        })
                        .await;
                        match stored {
                            Ok(Ok(out)) => tracing::info!(session, dialogs = n, added = out.added, updated = out.updated, gone = out.gone, "dialogs refreshed"),
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store dialogs"),
                            Err(e) => tracing::error!(error = %e, "dialog task failed"),
                        }
                        status.send_modify(|s| { s.dialogs_reported += 1; });
                    }
                    Some(Ok(FromWorker::Events { batch, session: _, events })) => {
                        if batch != expected_batch {
                            return RunEnd::Failed(format!("event batch {batch} out of order, expected {expected_batch}"));
                        }
                        if events.len() > self.cfg.batch_max_events as usize {
                            return RunEnd::Failed(format!("event batch of {} is over the limit", events.len()));
                        }
                        // Over the plan's budget, the newest events of the batch are dropped
                        // (and the batch acknowledged): a flood costs the host no more.
                        let keep = budget.as_mut().map_or(events.len(), |b| b.take(events.len(), Instant::now()));
                        let dropped = events.len() - keep;
                        if dropped > 0 {
                            status.send_modify(|s| s.events_dropped += dropped as u64);
                            if !dropping {
                                tracing::warn!(dropped, limit = status.borrow().events_per_sec, "more Telegram events than the plan allows per second; the excess is not counted");
                            }
                        }
                        dropping = dropped > 0;
                        let stored = if keep > 0 { self.store_events(key, status, &events[..keep]).await } else { Ok(()) };
                        match stored {
                            Ok(()) => {
                                expected_batch += 1;
                                if let Err(e) = writer.send(&ToWorker::EventsAck { batch }).await {
                                    return RunEnd::Failed(format!("worker connection: {e}"));
                                }
                            }
                            // Not durable, so not acknowledged: the worker keeps the batch; a
                            // restart loses only what it had not sent.
                            Err(e) => return RunEnd::Failed(format!("storing events: {e}")),
                        }
                    }
                    Some(Ok(FromWorker::SessionMoved { session, dc_id, addr, auth_key, user_id })) => {
                        let auth_key = auth_key.0;
                        let Some(tenant) = key.tenant() else {
                            self.store_platform_moved(dc_id, addr, auth_key, user_id).await;
                            continue;
                        };
                        let (store, keyring) = (self.store.clone(), self.keyring.clone());
                        let r = tokio::task::spawn_blocking(move || {
                            let at = crate::domain::sessions::SignedIn { dc_id, addr, auth_key: &auth_key, user_id };
                            crate::domain::sessions::store_moved(&store, &keyring, tenant, botyard_shards::ids::SecretId(session), &at)
                        }).await;
                        match r {
                            Ok(Ok(_)) => tracing::info!(session, dc_id, "session key and datacenter stored"),
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store the session's key"),
                            Err(e) => tracing::error!(error = %e, "session key task failed"),
                        }
                    }
                    Some(Ok(FromWorker::SessionSync { session, state })) => {
                        if !state.within_limits() {
                            return RunEnd::Failed(format!("session {session} sent an update state over the limits"));
                        }
                        let (store, keyring) = (self.store.clone(), self.keyring.clone());
                        let r = tokio::task::spawn_blocking(move || match key.tenant() {
                            Some(tenant) => crate::domain::sessions::store_sync(&store, &keyring, tenant, botyard_shards::ids::SecretId(session), &state),
                            None => crate::domain::sessions::store_platform_sync(&store, &keyring, &state),
                        }).await;
                        match r {
                            Ok(Ok(_)) => {
                                tracing::debug!(session, "session update state stored");
                                status.send_modify(|s| s.syncs_stored += 1);
                            }
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store the session's update state"),
                            Err(e) => tracing::error!(error = %e, "update state task failed"),
                        }
                    }
                    Some(Ok(FromWorker::Login { login, state })) => {
                        // Only logins the API started: a worker cannot make up its own.
                        status.send_modify(|s| {
                            if let Some(p) = s.logins.get_mut(&login) {
                                p.state = state;
                            }
                        });
                    }
                    Some(Ok(FromWorker::Delivered { campaign, run, chat_id, outcome })) => {
                        if let crate::worker::ipc::messages::DeliveryOutcome::Failed { code, .. } = &outcome
                            && !valid_delivery_code(code)
                        {
                            return RunEnd::Failed("worker sent a malformed delivery code".into());
                        }
                        let Some(tenant) = key.tenant() else {
                            // Only posts someone waits for: a worker cannot make up its own.
                            if let Some(tx) = lock(&self.direct).remove(&(campaign, run, chat_id)) {
                                let _ = tx.send(outcome);
                            }
                            continue;
                        };
                        let key3 = (botyard_shards::ids::CampaignId(campaign), run, botyard_shards::ids::ChatId(chat_id));
                        results.push((key3, outcome));
                        if results.len() >= RESULTS_PER_COMMIT {
                            self.settle_results(tenant, status, &mut results).await;
                        }
                    }
                    Some(Ok(FromWorker::LoggedOut { session, result })) => {
                        status.send_modify(|s| {
                            // Answers are only kept for sessions someone asked about.
                            if s.logouts.len() < 64 {
                                s.logouts.insert(session, result);
                            }
                        });
                    }
                    Some(Ok(FromWorker::Ready { .. } | FromWorker::Refused { .. })) => {
                        return RunEnd::Failed("worker sent a second greeting".into());
                    }
                    Some(Ok(FromWorker::Stopped)) => return RunEnd::Failed("worker stopped on its own".into()),
                    Some(Err(e)) => return RunEnd::Failed(format!("bad frame from worker: {e}")),
                    None => return RunEnd::Failed("worker closed the connection".into()),
                }
            }
        }
    }

    /// Stores delivery results in one shard transaction.
    async fn settle_results(
        &self,
        tenant: TenantId,
        status: &Arc<watch::Sender<WorkerStatus>>,
        results: &mut Vec<(
            botyard_shards::DeliveryKey,
            crate::worker::ipc::messages::DeliveryOutcome,
        )>,
    ) {
        if results.is_empty() {
            return;
        }
        let batch = std::mem::take(results);
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || {
            let scope = store.supervisor_scope(tenant)?;
            let at = now();
            scope.shard_write(|s| {
                let mut settled = 0u64;
                for (key, outcome) in &batch {
                    // None: not pending (a repeat after a restart, or a stranger's key).
                    if let Some(done) =
                        crate::domain::campaigns::runs::settle(s, *key, outcome, at)?
                    {
                        settled += 1;
                        if let Some(code) = done.paused {
                            tracing::warn!(campaign = key.0.0, code, "campaign paused");
                        }
                    }
                }
                Ok::<_, crate::error::AppError>(settled)
            })
        })
        .await;
        match r {
            Ok(Ok(n)) => status.send_modify(|s| s.deliveries_settled += n),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot store delivery results"),
            Err(e) => tracing::error!(error = %e, "delivery result task failed"),
        }
    }

    /// Hands campaign posts to the worker, in frames well under the size limit.
    async fn hand_jobs(
        &self,
        writer: &mut FrameWriter<tokio::net::unix::OwnedWriteHalf>,
        status: &Arc<watch::Sender<WorkerStatus>>,
        jobs: Vec<SendJob>,
    ) -> Result<(), FrameError> {
        let n = jobs.len() as u64;
        for chunk in jobs.chunks(JOBS_PER_FRAME) {
            writer
                .send(&ToWorker::Send {
                    jobs: chunk.to_vec(),
                })
                .await?;
        }
        if n > 0 {
            status.send_modify(|s| s.jobs_handed += n);
        }
        Ok(())
    }

    /// The tenant's pending deliveries as jobs; those that can no longer be sent are failed.
    async fn pending_jobs(&self, tenant: TenantId) -> Vec<SendJob> {
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || {
            let scope = store.supervisor_scope(tenant)?;
            let settings = crate::domain::tenancy::settings(&scope)?;
            let at = now();
            let crate::domain::campaigns::runs::Pending { jobs, dead } =
                crate::domain::campaigns::runs::pending(&scope.shard_read()?, &settings, at)?;
            if !dead.is_empty() {
                scope.shard_write(|s| {
                    for (key, code) in &dead {
                        let outcome = crate::worker::ipc::messages::DeliveryOutcome::Failed {
                            code: (*code).into(),
                            at_ms: at * 1000,
                        };
                        crate::domain::campaigns::runs::settle(s, *key, &outcome, at)?;
                    }
                    Ok::<_, crate::error::AppError>(())
                })?;
            }
            Ok::<_, crate::error::AppError>(jobs)
        })
        .await;
        match r {
            Ok(Ok(jobs)) => jobs,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot load pending deliveries");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, "pending deliveries task failed");
                Vec::new()
            }
        }
    }

    /// Stores where the platform bot signed in, so a restart does not sign in again.
    async fn store_platform_moved(
        &self,
        dc_id: i32,
        addr: std::net::SocketAddr,
        auth_key: zeroize::Zeroizing<Vec<u8>>,
        user_id: i64,
    ) {
        let Some(token) = self.cfg.platform_bot_token.clone() else {
            return;
        };
        let (store, keyring) = (self.store.clone(), self.keyring.clone());
        let r = tokio::task::spawn_blocking(move || {
            let at = crate::domain::sessions::SignedIn {
                dc_id,
                addr,
                auth_key: &auth_key,
                user_id,
            };
            crate::domain::sessions::store_platform_bot(&store, &keyring, &token, &at)
        })
        .await;
        if !matches!(r, Ok(Ok(()))) {
            tracing::error!("cannot store the platform bot's key");
        }
    }

    /// A durable alert in the audit log, for admins and the notifications to come.
    async fn record_alert(&self, key: WorkerKey, action: &'static str, detail: String) {
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || {
            store.catalog_write(|c| {
                c.audit(&botyard_shards::records::AuditRec {
                    at: now(),
                    actor: None,
                    tenant: key.tenant(),
                    action: action.into(),
                    detail,
                })
            })
        })
        .await;
        if !matches!(r, Ok(Ok(_))) {
            tracing::error!(action, "cannot record the alert in the audit log");
        }
    }

    async fn store_events(
        &self,
        key: WorkerKey,
        status: &Arc<watch::Sender<WorkerStatus>>,
        events: &[crate::worker::telegram::IncomingEvent],
    ) -> Result<(), botyard_shards::ingest::IngestError> {
        let Some(tenant) = key.tenant() else {
            // The platform bot's traffic is not a tenant's statistics; its commands (account
            // links) go to the inbox, or are dropped when it is full.
            let inbox = lock(&self.platform_inbox).clone();
            for e in events {
                let Some(cmd) = BotCommand::from_event(e) else {
                    continue;
                };
                if let Some(tx) = &inbox
                    && tx.try_send(cmd).is_err()
                {
                    tracing::warn!("platform bot command dropped: inbox full");
                }
            }
            status.send_modify(|s| s.events_stored += events.len() as u64);
            return Ok(());
        };
        // Events name chats, never tenants: the tenant is the worker's, so a worker cannot
        // write into another tenant's rows.
        let zone = self.zone(tenant).await;
        let batch = ingestion::to_batch(tenant, &zone, events);
        if !batch.is_empty() {
            self.ingest.submit_batch(tenant, batch).await?;
        }
        let changes = ingestion::chat_changes(events);
        if !changes.is_empty() {
            let store = self.store.clone();
            let r = tokio::task::spawn_blocking(move || {
                crate::domain::groups::store_chat_changes(&store, tenant, &changes, now())
            })
            .await;
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "cannot store chat changes")
                }
                Err(e) => {
                    tracing::error!(error = %e, "chat change task failed")
                }
            }
        }
        status.send_modify(|s| s.events_stored += events.len() as u64);
        Ok(())
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

#[cfg(test)]
mod tests {
    #[test]
    fn delivery_codes_from_workers_are_checked() {
        for ok in ["forbidden", "flood_wait", "chat_not_found"] {
            assert!(super::valid_delivery_code(ok), "{ok}");
        }
        for bad in [
            "",
            "Forbidden",
            "drop table",
            "x\u{0}",
            &"a".repeat(65),
            "ışık",
        ] {
            assert!(!super::valid_delivery_code(bad), "{bad:?}");
        }
    }
}
