//! Prometheus metrics. Labels are bounded: routes are templates (or `unmatched`), statuses
//! are numbers, shards are indices.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistFamily<RouteLabels>,
    pub commit_duration: HistFamily<ShardLabels>,
    pub commit_events: HistFamily<ShardLabels>,
    pub tenants: Family<StatusLabels, Gauge>,
    pub login_failures: Counter,
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

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}
