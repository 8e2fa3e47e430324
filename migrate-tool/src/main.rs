//! `botyard-migrate`: see the crate's documentation and docs/OPERATIONS.md, "Migrating".

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "botyard-migrate",
    version,
    about = "Data into and out of a botyard appliance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import a legacy bot's SQLite database into a tenant, through the appliance's API.
    Sqlite {
        #[arg(long)]
        db: PathBuf,
        /// The mapping file (see migrate-tool/legacy/aiogram.toml).
        #[arg(long)]
        map: PathBuf,
        /// The tenant's name; created when no tenant has it.
        #[arg(long)]
        tenant: String,
        /// The appliance, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// An admin's access token (or env BOTYARD_TOKEN).
        #[arg(long, env = "BOTYARD_TOKEN", hide_env_values = true)]
        token: String,
        /// Print what would be created and every row that cannot be mapped; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// PostgreSQL: every tenant's data out of the appliance.
    Postgres {
        #[command(subcommand)]
        action: PostgresAction,
    },
}

#[derive(Subcommand)]
enum PostgresAction {
    /// Load every tenant's data into a schema (the first time, or with --full), else only what
    /// changed since the last run; one transaction, binary COPY, row-level security forced.
    Export {
        #[arg(long)]
        server: String,
        #[arg(long, env = "BOTYARD_TOKEN", hide_env_values = true)]
        token: String,
        /// A libpq connection string or URL (postgres://user@host/db).
        #[arg(long, env = "BOTYARD_PG", hide_env_values = true)]
        pg: String,
        #[arg(long, default_value = "botyard")]
        schema: String,
        #[arg(long)]
        full: bool,
        /// Also make a read-only role per tenant, botyard_tenant_ID (needs CREATEROLE).
        #[arg(long)]
        tenant_roles: bool,
    },
    /// Bring one tenant back from the schema into an appliance, as a new tenant.
    Import {
        #[arg(long)]
        server: String,
        #[arg(long, env = "BOTYARD_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long, env = "BOTYARD_PG", hide_env_values = true)]
        pg: String,
        #[arg(long, default_value = "botyard")]
        schema: String,
        /// The tenant's id in the schema.
        #[arg(long)]
        tenant: u64,
        /// The new tenant's name.
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("botyard-migrate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = match cli.command {
        Command::Sqlite {
            db,
            map,
            tenant,
            server,
            token,
            dry_run,
        } => rt
            .block_on(botyard_migrate::sqlite::run(
                &botyard_migrate::sqlite::Options {
                    db,
                    map,
                    tenant,
                    server,
                    token,
                    dry_run,
                },
            ))
            .map(|r| r.render()),
        Command::Postgres {
            action:
                PostgresAction::Export {
                    server,
                    token,
                    pg,
                    schema,
                    full,
                    tenant_roles,
                },
        } => rt
            .block_on(botyard_migrate::postgres::export(
                &botyard_migrate::postgres::ExportOptions {
                    server,
                    token,
                    pg,
                    schema,
                    full,
                    tenant_roles,
                },
            ))
            .map(|r| r.render()),
        Command::Postgres {
            action:
                PostgresAction::Import {
                    server,
                    token,
                    pg,
                    schema,
                    tenant,
                    name,
                },
        } => rt
            .block_on(botyard_migrate::postgres::import(
                &botyard_migrate::postgres::ImportOptions {
                    server,
                    token,
                    pg,
                    schema,
                    tenant,
                    name,
                },
            ))
            .map(|r| r.render()),
    };
    match out {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("botyard-migrate: {e}");
            ExitCode::FAILURE
        }
    }
}
