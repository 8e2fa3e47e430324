//! What runs in the server besides answering requests: the supervisor of the tenants' worker
//! processes (and their cgroups), turning worker events into store increments, metrics, and
//! logging (process-wide and per tenant).

pub mod cgroup;
pub mod ingestion;
pub mod logging;
pub mod metrics;
pub mod supervisor;
pub mod tenant_logs;
