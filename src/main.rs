//! The `botyard` command.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use botyard::config::{self, Config, Flags};

#[derive(Parser)]
#[command(
    name = "botyard",
    version = botyard::VERSION,
    about = "Telegram automation for many tenants, in one binary"
)]
struct Cli {
    /// Configuration file (default: ./botyard.toml when present; env BOTYARD_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the appliance (the default).
    Serve {
        /// Address to listen on (env BOTYARD_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data folder (env BOTYARD_DATA).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Also run a demo tenant on simulated Telegram (and a simulated platform bot).
        #[arg(long)]
        demo: bool,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Master key tools.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Backups: make one while the server runs, check one, list them, restore one.
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Admin recovery on the server: reset a password, create an admin.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Tenant operations on the running server.
    Tenants {
        #[command(subcommand)]
        action: TenantsAction,
    },
    /// Look over this machine for the appliance: data folder, master key, sandbox, cgroups,
    /// clock, the public URL's certificate, ports; and say what to fix (exit 1 on a failure).
    Doctor {
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Exit 0 when the local server answers /healthz.
    Healthcheck {
        /// Address to probe (default: the configured listen address).
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Probe over TLS (implied when the configuration serves HTTPS).
        #[arg(long)]
        tls: bool,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Print the OpenAPI document.
    #[command(hide = true)]
    Openapi,
    /// A tenant's worker process; started by the server, not by hand.
    #[command(hide = true)]
    Worker,
    /// Apply the worker sandbox to this process, probe it, and print what the kernel enforces.
    SandboxCheck(botyard::worker::sandbox::check::CheckArgs),
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Load the configuration and print the effective values (secrets masked).
    Check,
    /// Print a commented example configuration with every key and its default.
    Example,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Write a new master key file (refuses to overwrite one), e.g. /etc/botyard/master.key
    /// for the systemd unit's LoadCredential=.
    New { file: PathBuf },
    /// Re-encrypt every secret under a new master key (stop the server first).
    Rotate {
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BackupAction {
    /// Make a backup now, through the running server (or from the store when it is stopped).
    Create {
        /// Folder to write it to (default: backup.dir; retention applies only there).
        #[arg(long)]
        to: Option<PathBuf>,
        /// Include the master key; the backup is then sealed with a passphrase
        /// (--passphrase-file, or env BOTYARD_BACKUP_PASSPHRASE).
        #[arg(long)]
        with_key: bool,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Read a backup through: every file opened, checksums, schema versions and row counts.
    Verify {
        file: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// The backups in backup.dir (or --dir), newest first.
    List {
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Restore a backup into a new or empty data folder.
    Restore {
        file: PathBuf,
        /// The data folder to create (must be missing or empty).
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// End every login of an account and print a one-time link to choose a new password
    /// (or set it from standard input with --password-stdin).
    ResetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Create an admin account and print a one-time link to choose its password (or set it
    /// from standard input with --password-stdin).
    Create {
        email: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TenantsAction {
    /// Move a tenant to another shard while the server runs.
    Move {
        id: u64,
        #[arg(long)]
        shard: u32,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Write a tenant's bundle for another appliance: its worker stops, and once the file is
    /// written its sessions are released here. Sealed with a transfer passphrase
    /// (--passphrase-file, or env BOTYARD_BUNDLE_PASSPHRASE).
    Export {
        id: u64,
        #[arg(long)]
        to: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Import a tenant's bundle as a new tenant of this appliance.
    Import {
        file: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn load(
    cli_config: &Option<PathBuf>,
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
) -> Result<(Config, Option<PathBuf>), ExitCode> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let flags = Flags {
        config: cli_config.clone(),
        listen,
        data,
    };
    config::load(&flags, &env).map_err(|e| {
        eprintln!("botyard: configuration error: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One TLS provider for the process (ring): HTTPS, the ACME client, SMTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command.unwrap_or(Command::Serve {
        listen: None,
        data: None,
        demo: false,
    }) {
        Command::Serve { listen, data, demo } => {
            let (mut config, _) = match load(&cli.config, listen, data) {
                Ok(c) => c,
                Err(code) => return code,
            };
            config.demo = demo;
            serve(config)
        }
        Command::Config {
            action: ConfigAction::Example,
        } => {
            print!("{}", config::example());
            ExitCode::SUCCESS
        }
        Command::Config {
            action: ConfigAction::Check,
        } => match load(&cli.config, None, None) {
            Ok((c, file)) => {
                print!("{}", config::describe(&c, file.as_deref()));
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Keys {
            action: KeysAction::New { file },
        } => said(botyard::security::keys::new_key_file(&file)),
        Command::Keys {
            action: KeysAction::Rotate { data },
        } => {
            let (config, _) = match load(&cli.config, None, data) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match botyard::security::keys::rotate(&config) {
                Ok((n, id)) => {
                    println!("re-encrypted {n} secrets under new master key {id:08x}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("botyard: key rotation failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Backup { action } => backup(&cli.config, action),
        Command::Tenants { action } => tenants(&cli.config, action),
        Command::Admin { action } => admin(&cli.config, action),
        Command::Doctor { data } => {
            let (config, _) = match load(&cli.config, None, data) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let findings = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(botyard::commands::doctor::run(&config)),
                Err(e) => return said(Err(e.to_string())),
            };
            let (text, failed) = botyard::commands::doctor::report(&findings);
            print!("{text}");
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Healthcheck { addr, data, tls } => {
            // The configuration says where and whether over TLS; --addr alone needs none.
            let config = load(&cli.config, None, data).map(|(c, _)| c);
            let (addr, tls) = match (addr, config) {
                (Some(a), Ok(c)) => (a, tls || c.tls.enabled()),
                (Some(a), Err(_)) => (a, tls),
                (None, Ok(c)) => (
                    botyard::healthcheck::probe_addr(c.listen),
                    tls || c.tls.enabled(),
                ),
                (None, Err(code)) => return code,
            };
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("botyard: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(botyard::healthcheck::check(
                addr,
                Duration::from_secs(5),
                tls,
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("unhealthy: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        // Single-threaded here: the sandbox must be applied before any thread starts.
        Command::SandboxCheck(args) => botyard::worker::sandbox::check::run(&args),
        // Single-threaded here: the worker applies its sandbox before any thread starts.
        Command::Worker => botyard::worker::main(),
        Command::Openapi => {
            print!("{}", botyard::http::openapi_json());
            ExitCode::SUCCESS
        }
    }
}

fn backup(cli_config: &Option<PathBuf>, action: BackupAction) -> ExitCode {
    use botyard::commands::backup as cmd;
    let out = match action {
        BackupAction::Create {
            to,
            with_key,
            passphrase_file,
            data,
        } => {
            let (config, _) = match load(cli_config, None, data) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let seal = match cmd::passphrase(passphrase_file.as_deref()) {
                Ok(Some(p)) if with_key => Some(p),
                Ok(None) if with_key => {
                    eprintln!(
                        "botyard: --with-key needs a passphrase (--passphrase-file, or BOTYARD_BACKUP_PASSPHRASE)"
                    );
                    return ExitCode::FAILURE;
                }
                Ok(_) => None,
                Err(e) => {
                    eprintln!("botyard: {e}");
                    return ExitCode::FAILURE;
                }
            };
            block_on(cmd::create(&config, to, seal))
        }
        BackupAction::Verify {
            file,
            passphrase_file,
        } => {
            cmd::passphrase(passphrase_file.as_deref()).and_then(|p| cmd::verify(&file, p.as_ref()))
        }
        BackupAction::List { dir, data } => match dir {
            Some(d) => cmd::list(&d),
            None => match load(cli_config, None, data) {
                Ok((c, _)) => cmd::list(&c.backup_dir()),
                Err(code) => return code,
            },
        },
        BackupAction::Restore {
            file,
            data,
            passphrase_file,
        } => cmd::passphrase(passphrase_file.as_deref())
            .and_then(|p| cmd::restore(&file, p.as_ref(), &data)),
    };
    said(out)
}

fn tenants(cli_config: &Option<PathBuf>, action: TenantsAction) -> ExitCode {
    use botyard::commands::tenants as cmd;
    let data = match &action {
        TenantsAction::Move { data, .. }
        | TenantsAction::Export { data, .. }
        | TenantsAction::Import { data, .. } => data.clone(),
    };
    let (config, _) = match load(cli_config, None, data) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let out = match action {
        TenantsAction::Move { id, shard, .. } => block_on(cmd::move_to(&config, id, shard)),
        TenantsAction::Export {
            id,
            to,
            passphrase_file,
            ..
        } => cmd::passphrase(passphrase_file.as_deref())
            .and_then(|p| block_on(cmd::export(&config, id, &to, p))),
        TenantsAction::Import {
            file,
            passphrase_file,
            ..
        } => cmd::passphrase(passphrase_file.as_deref())
            .and_then(|p| block_on(cmd::import(&config, &file, p))),
    };
    said(out)
}

fn admin(cli_config: &Option<PathBuf>, action: AdminAction) -> ExitCode {
    use botyard::commands::admin as cmd;
    let (what, email, stdin, data) = match action {
        AdminAction::ResetPassword {
            email,
            password_stdin,
            data,
        } => (cmd::Action::ResetPassword, email, password_stdin, data),
        AdminAction::Create {
            email,
            password_stdin,
            data,
        } => (cmd::Action::Create, email, password_stdin, data),
    };
    let (config, _) = match load(cli_config, None, data) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let password = if stdin {
        match cmd::password_from(std::io::stdin().lock()) {
            Ok(p) => Some(p),
            Err(e) => return said(Err(e)),
        }
    } else {
        None
    };
    said(block_on(cmd::run(&config, what, &email, password)))
}

/// Runs a command's future on a runtime of its own.
fn block_on(
    f: impl std::future::Future<Output = Result<String, String>>,
) -> Result<String, String> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => Err(e.to_string()),
    }
}

/// Prints a command's outcome: its text, or the error on standard error.
fn said(out: Result<String, String>) -> ExitCode {
    match out {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("botyard: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> ExitCode {
    botyard::runtime::logging::init(&config);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("botyard: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("botyard: cannot listen on {}: {e}", config.listen);
                return ExitCode::FAILURE;
            }
        };
        let opts = botyard::RunOptions {
            notifier: botyard::runtime::systemd::Notifier::from_env(),
            ..Default::default()
        };
        match botyard::run_with(config, listener, shutdown_signal(), opts).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("botyard: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Registers SIGTERM and SIGINT handlers now (so a signal during start-up is not fatal) and
/// returns a future that completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
