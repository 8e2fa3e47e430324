//! `botyard backup create | verify | list | restore`.

use std::path::{Path, PathBuf};

use crate::commands::admin_client::{self as client, ClientError};
use crate::config::Config;
use crate::domain::backup::{self, Passphrase};
use crate::http::admin_socket::{BackupMade, BackupRequest};

/// The passphrase from `--passphrase-file`, else `BOTYARD_BACKUP_PASSPHRASE`.
pub fn passphrase(file: Option<&Path>) -> Result<Option<Passphrase>, String> {
    let raw = match file {
        Some(f) => std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        None => match std::env::var("BOTYARD_BACKUP_PASSPHRASE") {
            Ok(v) => v,
            Err(_) => return Ok(None),
        },
    };
    Passphrase::new(&raw).map(Some).map_err(|e| e.to_string())
}

fn human(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MB {
        format!("{:.1} MiB", bytes as f64 / MB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// Makes a backup through the running server; with no server running on the data folder,
/// opens the store itself (nobody else can have it open then).
pub async fn create(
    config: &Config,
    to: Option<PathBuf>,
    seal: Option<Passphrase>,
) -> Result<String, String> {
    let req = BackupRequest {
        to: to.clone(),
        passphrase: seal.as_ref().map(|p| p.expose().to_string()),
    };
    let made: BackupMade = match client::post(&config.data_dir, "/v1/backups", &req).await {
        Ok(m) => m,
        Err(ClientError::NotRunning(_)) => offline(config, to, seal).await?,
        Err(e) => return Err(e.to_string()),
    };
    Ok(format!(
        "backup written: {}\n  {} store files, {} media files, {} rows, {} in {:.1} s{}\n",
        made.file.display(),
        made.files,
        made.media,
        made.rows,
        human(made.bytes),
        made.seconds,
        if made.sealed {
            "\n  sealed with your passphrase; it carries the master key"
        } else {
            "\n  the master key is not inside: keep master.key safe apart from it"
        }
    ))
}

async fn offline(
    config: &Config,
    to: Option<PathBuf>,
    seal: Option<Passphrase>,
) -> Result<BackupMade, String> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let (store, keyring) = super::open_store(&config)?;
        let src = backup::Source {
            store: &store,
            media_root: config.data_dir.join("media"),
            master_key: config.master_key_path(),
            key_id: keyring.primary_id(),
        };
        let now = jiff::Timestamp::now().as_second();
        let dir = to.clone().unwrap_or_else(|| config.backup_dir());
        let made = backup::create(&src, &dir, seal.as_ref(), now).map_err(|e| e.to_string())?;
        Ok(BackupMade {
            bytes: made.bytes,
            seconds: made.secs,
            rows: made.manifest.total_rows(),
            files: made.manifest.files.len(),
            media: made.manifest.media.len(),
            sealed: seal.is_some(),
            file: made.path,
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

fn describe(c: &backup::Checked) -> String {
    let m = &c.manifest;
    let made = jiff::Timestamp::from_second(m.created_at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let schema: Vec<String> = m
        .files
        .iter()
        .take(2)
        .map(|f| format!("{} v{}", f.kind, f.schema_version))
        .collect();
    format!(
        "made {made} by botyard {}; {} shards; schema {}\n  {} rows in {} store files, {} media files, {} in all; master key {:08x} {}\n",
        m.botyard_version,
        m.shard_count,
        schema.join(", "),
        m.total_rows(),
        m.files.len(),
        m.media.len(),
        human(m.total_bytes()),
        m.key_id,
        if m.master_key.is_some() {
            "inside (sealed)"
        } else {
            "not inside"
        },
    )
}

pub fn verify(file: &Path, pass: Option<&Passphrase>) -> Result<String, String> {
    let c = backup::verify(file, pass).map_err(|e| e.to_string())?;
    Ok(format!("{}: valid\n  {}", file.display(), describe(&c)))
}

pub fn restore(file: &Path, pass: Option<&Passphrase>, data: &Path) -> Result<String, String> {
    let c = backup::restore(file, pass, data).map_err(|e| e.to_string())?;
    let mut out = format!("restored into {}\n  {}", data.display(), describe(&c));
    out.push_str(&format!(
        "start it with: botyard serve --data {} (store.shards must be {})\n",
        data.display(),
        c.manifest.shard_count
    ));
    if c.manifest.master_key.is_none() {
        out.push_str(&format!(
            "the backup holds no master key: copy the master key {:08x} to {}/master.key (or set security.master_key_file) before starting\n",
            c.manifest.key_id,
            data.display()
        ));
    }
    Ok(out)
}

pub fn list(dir: &Path) -> Result<String, String> {
    let all = backup::list(dir).map_err(|e| e.to_string())?;
    if all.is_empty() {
        return Ok(format!("no backups in {}\n", dir.display()));
    }
    let mut out = match all.len() {
        1 => format!("1 backup in {}:\n", dir.display()),
        n => format!("{n} backups in {}, newest first:\n", dir.display()),
    };
    for b in all {
        let at = jiff::Timestamp::from_second(b.made_at)
            .map(|t| t.to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<36} {:>12}  {}{}\n",
            b.name,
            human(b.bytes),
            at,
            if b.sealed { "  (with key, sealed)" } else { "" }
        ));
    }
    Ok(out)
}
