//! What the supervisor shows of a worker: its state, limits, resource samples, how it last
//! ended, and the logins in progress in it.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Starting,
    Running,
    Backoff,
    Quarantined,
    Stopped,
}

/// How long a failed worker may take to exit by itself before it is killed.
pub(super) const EXIT_GRACE: Duration = Duration::from_millis(300);

/// How a worker process ended, for `last_exit`; none for a clean exit.
pub(super) fn describe_exit(
    exit: std::process::ExitStatus,
    memory_mb: Option<u32>,
) -> Option<String> {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
pub(super) fn lost_logins(logins: &HashMap<u64, PendingLogin>) -> HashMap<u64, PendingLogin> {
    logins
        .iter()
        .map(|(id, p)| {
            (
                *id,
                PendingLogin {
                    state: crate::worker::ipc::messages::LoginState::Failed {
                        code: crate::worker::ipc::messages::LoginFailure::Lost,
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
#[derive(Clone, Copy, Debug, Serialize)]
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

impl WorkerStatus {
    pub(super) fn new() -> Self {
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

impl WorkerStatus {
    /// What the metrics expose of this worker, labelled `worker`.
    pub fn metrics_sample(&self, worker: String) -> crate::runtime::metrics::WorkerSample {
        crate::runtime::metrics::WorkerSample {
            worker,
            state: match self.state {
                WorkerState::Starting => 0,
                WorkerState::Running => 1,
                WorkerState::Backoff => 2,
                WorkerState::Quarantined => 3,
                WorkerState::Stopped => 4,
            },
            restarts: self.restarts,
            events_stored: self.events_stored,
            events_dropped: self.events_dropped,
            posts_handed: self.jobs_handed,
            posts_settled: self.deliveries_settled,
            usage: self.latest().filter(|_| self.pid.is_some()).map(|u| {
                crate::runtime::metrics::UsageSample {
                    rss_kb: u.rss_kb,
                    anon_kb: u.anon_kb,
                    cpu_secs: u.cpu_secs,
                }
            }),
        }
    }
}
