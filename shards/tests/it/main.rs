//! The store's integration tests, one module per area, in one test binary (each file would
//! otherwise link the store again).

mod common;

mod alerts;
mod campaigns;
mod crash;
mod delete_tenant;
mod groups;
mod ingest;
mod moves;
mod open;
mod outbox;
mod placement;
mod scopes;
mod stats;
mod telegram_links;
mod templates;
