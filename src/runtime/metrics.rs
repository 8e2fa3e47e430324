//! Prometheus metrics. Labels are bounded: routes are templates (or `unmatched`), statuses
//! are numbers, shards are indices.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabels {
    pub shard: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerLabels {
    /// Tenant id, or `platform` for the reseller's bot.
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

type HistFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn batch_sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 4.0, 10))
}

/// The `status` label of `botyard_workers`, indexed by [`WorkerSample::state`].
pub const WORKER_STATES: [&str; 5] = ["starting", "running", "backoff", "quarantined", "stopped"];

/// One worker as the metrics see it: plain numbers, so this module knows no supervisor type.
pub struct WorkerSample {
    /// The `tenant` label: a tenant id or `platform`.
    pub worker: String,
    /// Index into [`WORKER_STATES`].
    pub state: u8,
    pub restarts: u32,
    pub events_stored: u64,
    pub events_dropped: u64,
    pub posts_handed: u64,
    pub posts_settled: u64,
    /// The latest resource sample of a running process.
    pub usage: Option<UsageSample>,
}

#[derive(Clone, Copy)]
pub struct UsageSample {
    pub rss_kb: u64,
    pub anon_kb: u64,
    pub cpu_secs: f64,
}

/// The scheduler's totals.
pub struct SchedulerSample {
    pub timers: usize,
    pub runs_started: u64,
    pub runs_skipped: u64,
}

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistFamily<RouteLabels>,
    pub commit_duration: HistFamily<ShardLabels>,
    pub commit_events: HistFamily<ShardLabels>,
    pub tenants: Family<StatusLabels, Gauge>,
    pub login_failures: Counter,
    pub workers: Family<StatusLabels, Gauge>,
    pub worker_rss: Family<WorkerLabels, Gauge>,
    pub worker_anon: Family<WorkerLabels, Gauge>,
    pub worker_cpu: Family<WorkerLabels, Counter<f64, AtomicU64>>,
    pub worker_restarts: Family<WorkerLabels, Counter>,
    pub worker_events: Family<WorkerLabels, Counter>,
    pub worker_events_dropped: Family<WorkerLabels, Counter>,
    pub worker_posts_handed: Family<WorkerLabels, Counter>,
    pub worker_posts_settled: Family<WorkerLabels, Counter>,
    pub campaign_timers: Gauge,
    pub campaign_runs: Family<StatusLabels, Counter>,
    /// Outbox attempts by how they ended: sent, deferred (retried later), failed.
    pub mails: Family<StatusLabels, Counter>,
    /// Backups by how they ended (ok, failed).
    pub backups: Family<StatusLabels, Counter>,
    /// One scrape at a time: a scrape clears and refills the families it observes.
    scrape: std::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("botyard");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration: HistFamily<RouteLabels> = Family::new_with_constructor(latency);
        let commit_duration: HistFamily<ShardLabels> = Family::new_with_constructor(latency);
        let commit_events: HistFamily<ShardLabels> = Family::new_with_constructor(batch_sizes);
        let tenants = Family::<StatusLabels, Gauge>::default();
        let login_failures = Counter::default();
        let workers = Family::<StatusLabels, Gauge>::default();
        let worker_rss = Family::<WorkerLabels, Gauge>::default();
        let worker_anon = Family::<WorkerLabels, Gauge>::default();
        let worker_cpu = Family::<WorkerLabels, Counter<f64, AtomicU64>>::default();
        let worker_restarts = Family::<WorkerLabels, Counter>::default();
        let worker_events = Family::<WorkerLabels, Counter>::default();
        let worker_events_dropped = Family::<WorkerLabels, Counter>::default();
        let worker_posts_handed = Family::<WorkerLabels, Counter>::default();
        let worker_posts_settled = Family::<WorkerLabels, Counter>::default();
        let campaign_timers = Gauge::default();
        let campaign_runs = Family::<StatusLabels, Counter>::default();
        let mails = Family::<StatusLabels, Counter>::default();
        let backups = Family::<StatusLabels, Counter>::default();
        registry.register(
            "backups",
            "Backups since the server started, by how they ended (ok, failed)",
            backups.clone(),
        );
        registry.register(
            "mails",
            "Outbox attempts since the server started, by how they ended (sent, deferred, failed)",
            mails.clone(),
        );
        registry.register(
            "worker_posts_handed",
            "Campaign posts handed to each worker since it started",
            worker_posts_handed.clone(),
        );
        registry.register(
            "worker_posts_settled",
            "Campaign post results stored for each worker since it started",
            worker_posts_settled.clone(),
        );
        registry.register(
            "campaign_timers",
            "Active campaigns waiting for their next run",
            campaign_timers.clone(),
        );
        registry.register(
            "campaign_runs",
            "Campaign runs the scheduler started or skipped since the server started",
            campaign_runs.clone(),
        );
        registry.register("workers", "Worker processes by state", workers.clone());
        registry.register(
            "worker_resident_bytes",
            "Resident memory of each worker (latest sample)",
            worker_rss.clone(),
        );
        registry.register(
            "worker_anonymous_bytes",
            "Anonymous memory of each worker (latest sample)",
            worker_anon.clone(),
        );
        registry.register(
            "worker_cpu_seconds",
            "CPU time used by each worker process since it started",
            worker_cpu.clone(),
        );
        registry.register(
            "worker_restarts",
            "Restarts of each tenant's worker",
            worker_restarts.clone(),
        );
        registry.register(
            "worker_events_stored",
            "Events each worker delivered to the store",
            worker_events.clone(),
        );
        registry.register(
            "worker_events_dropped",
            "Events of each worker dropped over its plan's events per second",
            worker_events_dropped.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route template and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            http_duration.clone(),
        );
        registry.register(
            "store_commit_duration_seconds",
            "Group-commit latency per shard",
            commit_duration.clone(),
        );
        registry.register(
            "store_commit_events",
            "Events per group commit per shard",
            commit_events.clone(),
        );
        registry.register("tenants", "Tenants by status", tenants.clone());
        registry.register("login_failures", "Failed logins", login_failures.clone());
        Metrics {
            registry,
            http_requests,
            http_duration,
            commit_duration,
            commit_events,
            tenants,
            login_failures,
            workers,
            worker_rss,
            worker_anon,
            worker_cpu,
            worker_restarts,
            worker_events,
            worker_events_dropped,
            worker_posts_handed,
            worker_posts_settled,
            campaign_timers,
            campaign_runs,
            mails,
            backups,
            scrape: std::sync::Mutex::new(()),
        }
    }

    /// Counts one backup.
    pub fn backup(&self, status: &'static str) {
        self.backups.get_or_create(&StatusLabels { status }).inc();
    }

    /// Counts one outbox attempt.
    pub fn mail(&self, status: &'static str) {
        self.mails.get_or_create(&StatusLabels { status }).inc();
    }

    /// The exposition at scrape time: the workers' and the scheduler's current view, then
    /// every family, under one lock so concurrent scrapes do not mix.
    pub fn scrape(
        &self,
        workers: impl IntoIterator<Item = WorkerSample>,
        scheduler: &SchedulerSample,
    ) -> String {
        let _one = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        self.observe_workers(workers);
        self.observe_scheduler(scheduler);
        self.encode()
    }

    pub fn observe_scheduler(&self, s: &SchedulerSample) {
        self.campaign_timers
            .set(i64::try_from(s.timers).unwrap_or(i64::MAX));
        // Totals kept by the scheduler; the families hold them as counters.
        self.campaign_runs.clear();
        self.campaign_runs
            .get_or_create(&StatusLabels { status: "started" })
            .inc_by(s.runs_started);
        self.campaign_runs
            .get_or_create(&StatusLabels { status: "skipped" })
            .inc_by(s.runs_skipped);
    }

    /// Replaces the per-worker series with the current view (at scrape time, so a stopped
    /// worker's series disappear).
    pub fn observe_workers(&self, all: impl IntoIterator<Item = WorkerSample>) {
        // The supervisor keeps the totals: cleared, each counter is set to it (a counter
        // restarts from zero with its worker's slot, which Prometheus' rate() allows for).
        for f in [&self.worker_rss, &self.worker_anon] {
            f.clear();
        }
        for f in [
            &self.worker_restarts,
            &self.worker_events,
            &self.worker_events_dropped,
            &self.worker_posts_handed,
            &self.worker_posts_settled,
        ] {
            f.clear();
        }
        self.worker_cpu.clear();
        let mut by_state = [0i64; WORKER_STATES.len()];
        for w in all {
            by_state[w.state as usize] += 1;
            let l = WorkerLabels { tenant: w.worker };
            self.worker_restarts
                .get_or_create(&l)
                .inc_by(u64::from(w.restarts));
            self.worker_events.get_or_create(&l).inc_by(w.events_stored);
            self.worker_events_dropped
                .get_or_create(&l)
                .inc_by(w.events_dropped);
            self.worker_posts_handed
                .get_or_create(&l)
                .inc_by(w.posts_handed);
            self.worker_posts_settled
                .get_or_create(&l)
                .inc_by(w.posts_settled);
            if let Some(u) = w.usage {
                let kib = |k: u64| i64::try_from(k.saturating_mul(1024)).unwrap_or(i64::MAX);
                self.worker_rss.get_or_create(&l).set(kib(u.rss_kb));
                self.worker_anon.get_or_create(&l).set(kib(u.anon_kb));
                self.worker_cpu.get_or_create(&l).inc_by(u.cpu_secs);
            }
        }
        for (i, status) in WORKER_STATES.into_iter().enumerate() {
            self.workers
                .get_or_create(&StatusLabels { status })
                .set(by_state[i]);
        }
    }

    pub fn observe_commit(&self, s: &botyard_shards::ingest::CommitStats) {
        let l = ShardLabels { shard: s.shard };
        self.commit_duration
            .get_or_create(&l)
            .observe(s.duration.as_secs_f64());
        self.commit_events
            .get_or_create(&l)
            .observe(s.events as f64);
    }

    /// OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// The Prometheus text format (0.0.4) of an OpenMetrics exposition, for scrapers and tools that
/// do not ask for OpenMetrics (promtool, curl): a counter family is named with its `_total`
/// suffix, and there are no `# UNIT` or `# EOF` lines.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|r| r.strip_suffix(" counter"))
        {
            counters.insert(name.to_string());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_names_counter_families_with_their_suffix() {
        let m = Metrics::new();
        m.login_failures.inc();
        let om = m.encode();
        assert!(om.contains("# TYPE botyard_login_failures counter"), "{om}");
        assert!(om.ends_with("# EOF\n"), "{om}");
        let text = to_prometheus_text(&om);
        assert!(
            text.contains("# HELP botyard_login_failures_total Failed logins."),
            "{text}"
        );
        assert!(
            text.contains("# TYPE botyard_login_failures_total counter"),
            "{text}"
        );
        assert!(
            text.contains("\nbotyard_login_failures_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE botyard_campaign_timers gauge"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }
}
