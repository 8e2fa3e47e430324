//! What runs in the server besides answering requests: the supervisor of the tenants' worker
//! processes (and their cgroups), turning worker events into store increments, metrics, and
//! logging (process-wide, per tenant, and the recent lines the console shows), telling
//! systemd how the server is doing, and keeping built-in HTTPS's certificate fresh.

pub mod cgroup;
pub mod ingestion;
pub mod logging;
pub mod metrics;
pub mod recent_log;
pub mod supervisor;
pub mod systemd;
pub mod tenant_logs;
pub mod tls;
