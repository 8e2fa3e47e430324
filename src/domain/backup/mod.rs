//! Online backups. A backup is one file: the catalog and every shard dumped table by table
//! from read transactions begun together (writers go on meanwhile; a restore builds the redb
//! files from the dumps), the media folders, the master key
//! only when asked (and then sealed with a passphrase), and a manifest with schema versions,
//! rows per table and checksums. It is written under a temporary name and renamed only once
//! whole and on disk, so a backup cut short by `kill -9` or a full disk never looks valid.
//!
//! `create` runs in the server (the only process that opens the store); `verify`, `restore`
//! and `list` work on files alone.

pub mod archive;
mod create;
pub mod manifest;
mod restore;
pub mod retention;
pub mod schedule;
pub mod status;

use std::path::{Path, PathBuf};

pub use archive::Passphrase;
pub use create::{Made, Source, create};
pub use restore::{Checked, restore, verify};

/// Reads through to a SHA-256, counting the bytes.
struct Hashing<R> {
    inner: R,
    hash: sha2::Sha256,
    bytes: u64,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.hash, &buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What can go wrong with a backup, said so an operator knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the disk holding {path} is full; the partial backup was removed")]
    DiskFull { path: String },
    #[error("store: {0}")]
    Store(#[from] botyard_shards::StoreError),
    #[error("this is not a botyard backup, or it is damaged: {0}")]
    NotABackup(&'static str),
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error(
        "this backup is sealed: give its passphrase (--passphrase-file or BOTYARD_BACKUP_PASSPHRASE)"
    )]
    NeedsPassphrase,
    #[error(
        "the passphrase must have at least {} characters",
        archive::MIN_PASSPHRASE
    )]
    WeakPassphrase,
    #[error(
        "{file} has schema version {found}, newer than this binary's {supported}: restore it with a newer botyard"
    )]
    NewerSchema {
        file: String,
        found: u32,
        supported: u32,
    },
    #[error("{0} is not empty: restore into a new or empty folder")]
    NotEmpty(String),
    #[error("a backup is already running")]
    Running,
}

impl From<std::io::Error> for BackupError {
    fn from(source: std::io::Error) -> Self {
        io_error("", source)
    }
}

/// An I/O failure at `path`; a full disk is told apart, since the fix differs.
pub fn io_error(path: impl AsRef<Path>, source: std::io::Error) -> BackupError {
    let path = path.as_ref().display().to_string();
    if matches!(
        source.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) {
        BackupError::DiskFull { path }
    } else if source.kind() == std::io::ErrorKind::InvalidData {
        BackupError::Damaged(source.to_string())
    } else {
        BackupError::Io { path, source }
    }
}

impl From<BackupError> for crate::error::AppError {
    fn from(e: BackupError) -> Self {
        use crate::error::AppError;
        match e {
            BackupError::Running => AppError::Conflict {
                code: "backup.running",
                message: e.to_string(),
            },
            BackupError::DiskFull { .. } => AppError::StorageFull,
            BackupError::WeakPassphrase => AppError::invalid("passphrase", e.to_string()),
            e => AppError::Internal(format!("backup: {e}")),
        }
    }
}

/// A shard's dump inside a backup; it is restored to `shards/NN.redb`.
pub fn dump_name(index: u32) -> String {
    format!("shards/{index:02}.dump")
}

/// A backup file's name for a moment (UTC), sealed or not.
pub fn file_name(at: i64, sealed: bool) -> String {
    let ts = jiff::Timestamp::from_second(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let stamp = ts.strftime("%Y%m%d-%H%M%S");
    if sealed {
        format!("botyard-{stamp}.tar.sealed")
    } else {
        format!("botyard-{stamp}.tar")
    }
}

/// When a backup file's name says it was made (unix seconds), if it is one of ours.
pub fn made_at(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("botyard-")?;
    let stamp = rest
        .strip_suffix(".tar.sealed")
        .or_else(|| rest.strip_suffix(".tar"))?;
    // A second backup within one second of another gets `-2`, `-3`, …
    let (stamp, n) = match stamp.get(15..) {
        Some("") => (stamp, None),
        Some(rest) => (stamp.get(..15)?, Some(rest.strip_prefix('-')?)),
        None => return None,
    };
    if n.is_some_and(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let dt = jiff::civil::DateTime::strptime("%Y%m%d-%H%M%S", stamp).ok()?;
    dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// A finished backup in a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub path: PathBuf,
    pub name: String,
    pub made_at: i64,
    pub bytes: u64,
    pub sealed: bool,
}

/// The finished backups in `dir`, newest first (partial ones are not listed).
pub fn list(dir: &Path) -> Result<Vec<Listed>, BackupError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| io_error(dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let Some(at) = made_at(&name) else { continue };
        let Ok(meta) = ent.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        out.push(Listed {
            path: ent.path(),
            sealed: name.ends_with(".sealed"),
            name,
            made_at: at,
            bytes: meta.len(),
        });
    }
    out.sort_by(|a, b| b.made_at.cmp(&a.made_at).then(b.name.cmp(&a.name)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_time() {
        let at = 1_796_400_000; // 2026-12-04 …
        let n = file_name(at, false);
        assert!(n.starts_with("botyard-2026") && n.ends_with(".tar"), "{n}");
        assert_eq!(made_at(&n), Some(at));
        assert_eq!(made_at(&file_name(at, true)), Some(at));
        assert_eq!(made_at("botyard-20261204-030000.tar.partial"), None);
        assert_eq!(made_at("other.tar"), None);
        let second = n.replace(".tar", "-2.tar");
        assert_eq!(made_at(&second), Some(at));
        assert_eq!(made_at(&n.replace(".tar", "-x.tar")), None);
        assert_eq!(made_at(&n.replace(".tar", "-.tar")), None);
    }
}
