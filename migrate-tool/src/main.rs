//! `botyard-migrate`: see the crate's documentation and docs/OPERATIONS.md, "Migrating a
//! legacy bot (SQLite)" and "PostgreSQL".

use std::path::PathBuf;
use std::process::ExitCode;

use botyard_migrate::{MigrateError, postgres, sqlite};
use clap::{Args, Parser, Subcommand};

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

/// The appliance, reached as an admin.
#[derive(Args)]
struct Appliance {
    /// The appliance's local address, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// An admin's access token (or env BOTYARD_TOKEN).
    #[arg(long, env = "BOTYARD_TOKEN", hide_env_values = true)]
    token: String,
}

/// The PostgreSQL database and schema.
#[derive(Args)]
struct Database {
    /// A libpq connection string or URL (postgres://user@host/db), or env BOTYARD_PG.
    #[arg(long, env = "BOTYARD_PG", hide_env_values = true)]
    pg: String,
    #[arg(long, default_value = "botyard")]
    schema: String,
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
        #[command(flatten)]
        appliance: Appliance,
        /// Print what would be created and every row that cannot be mapped; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// PostgreSQL: every tenant's data out of the appliance, and one tenant back.
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
        #[command(flatten)]
        appliance: Appliance,
        #[command(flatten)]
        database: Database,
        #[arg(long)]
        full: bool,
        /// Also make a read-only role per tenant, botyard_tenant_ID (needs CREATEROLE).
        #[arg(long)]
        tenant_roles: bool,
    },
    /// Bring the schema's tenants (or one) into an appliance, as new tenants.
    Import {
        #[command(flatten)]
        appliance: Appliance,
        #[command(flatten)]
        database: Database,
        /// One tenant's id in the schema (default: every tenant).
        #[arg(long)]
        tenant: Option<u64>,
        /// Its name on the appliance (default: its name in the schema).
        #[arg(long, requires = "tenant")]
        name: Option<String>,
    },
}

async fn run(command: Command) -> Result<String, MigrateError> {
    match command {
        Command::Sqlite {
            db,
            map,
            tenant,
            appliance: Appliance { server, token },
            dry_run,
        } => sqlite::run(&sqlite::Options {
            db,
            map,
            tenant,
            server,
            token,
            dry_run,
        })
        .await
        .map(|r| r.render()),
        Command::Postgres {
            action:
                PostgresAction::Export {
                    appliance: Appliance { server, token },
                    database: Database { pg, schema },
                    full,
                    tenant_roles,
                },
        } => postgres::export(&postgres::ExportOptions {
            server,
            token,
            pg,
            schema,
            full,
            tenant_roles,
        })
        .await
        .map(|r| r.render()),
        Command::Postgres {
            action:
                PostgresAction::Import {
                    appliance: Appliance { server, token },
                    database: Database { pg, schema },
                    tenant,
                    name,
                },
        } => postgres::import(&postgres::ImportOptions {
            server,
            token,
            pg,
            schema,
            tenant,
            name,
        })
        .await
        .map(|done| {
            let mut text: String = done.iter().map(postgres::Imported::render).collect();
            text.push_str(postgres::IMPORT_AFTERWORD);
            text
        }),
    }
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
    match rt.block_on(run(cli.command)) {
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
