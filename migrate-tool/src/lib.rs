//! `botyard-migrate`: data into and out of a botyard appliance, always through the running
//! server's API (never its files): a legacy single-tenant bot's SQLite database in
//! (`sqlite`), and every tenant's data out to PostgreSQL (`postgres`).

pub mod api;
pub mod legacy;
pub mod mapping;
pub mod markup;
pub mod pg_schema;
pub mod postgres;
pub mod scratch;
pub use tokio_postgres;
pub mod sqlite;

/// What can stop a migration, said so the operator knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Input(String),
    #[error("the appliance cannot be reached: {0}")]
    Unreachable(String),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("the appliance refused ({status} {code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
}
