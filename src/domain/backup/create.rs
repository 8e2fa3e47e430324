//! Making a backup from the running store.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use botyard_shards::{ReadTransaction, Store, snapshot};

use super::archive::{Passphrase, Sink, TarWriter};
use super::manifest::{Entry, FORMAT, FileEntry, Manifest};
use super::{BackupError, file_name, io_error};

/// What a backup is made from.
pub struct Source<'a> {
    pub store: &'a Store,
    pub media_root: PathBuf,
    pub master_key: PathBuf,
    pub key_id: u32,
}

/// A finished backup.
#[derive(Clone, Debug)]
pub struct Made {
    pub path: PathBuf,
    pub bytes: u64,
    pub secs: f64,
    pub manifest: Manifest,
}

/// A store error while writing a dump: a full disk is told apart.
fn store_error(e: botyard_shards::StoreError, at: &Path) -> BackupError {
    if e.is_disk_full() {
        BackupError::DiskFull {
            path: at.display().to_string(),
        }
    } else {
        e.into()
    }
}

/// Removes what a backup left behind when it did not finish.
fn clean_partials(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with("botyard-") && name.ends_with(".partial") {
            let _ = fs::remove_file(ent.path());
        } else if name.starts_with(".botyard-staging-") {
            let _ = fs::remove_dir_all(ent.path());
        }
    }
}

/// Makes a backup in `dir` (created if missing): sealed with `seal`, and then carrying the
/// master key. Partial files are removed on failure; a crash leaves only `*.partial` names,
/// which the next backup removes. The calling thread's CPU priority is lowered for good (a
/// backup yields to requests and ingestion), so call it on a thread of its own.
pub fn create(
    src: &Source,
    dir: &Path,
    seal: Option<&Passphrase>,
    now: i64,
) -> Result<Made, BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    let started = Instant::now();
    // Niceness is per thread on Linux; failing to lower it changes nothing else.
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(dir, e))?;
    clean_partials(dir);
    let mut name = file_name(now, seal.is_some());
    let mut n = 2;
    while dir.join(&name).exists() {
        // Two backups in one second: the later one waits its turn by name.
        name = file_name(now, seal.is_some()).replacen(".tar", &format!("-{n}.tar"), 1);
        n += 1;
    }
    let partial = dir.join(format!("{name}.partial"));
    let staging = dir.join(format!(".botyard-staging-{now}"));
    let r = write(src, &partial, &staging, seal, now);
    let _ = fs::remove_dir_all(&staging);
    let (manifest, bytes) = match r {
        Ok(m) => m,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    let path = dir.join(&name);
    fs::rename(&partial, &path).map_err(|e| io_error(&path, e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Made {
        path,
        bytes,
        secs: started.elapsed().as_secs_f64(),
        manifest,
    })
}

fn write(
    src: &Source,
    partial: &Path,
    staging: &Path,
    seal: Option<&Passphrase>,
    now: i64,
) -> Result<(Manifest, u64), BackupError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    // Every file's read transaction is begun before any copy, so the files are cut at
    // (nearly) one moment.
    let mut reads: Vec<(String, ReadTransaction)> = Vec::new();
    reads.push((
        "catalog.dump".into(),
        snapshot::begin(src.store.catalog_database())?,
    ));
    for shard in src.store.shards() {
        reads.push((
            super::dump_name(shard.index()),
            snapshot::begin(shard.database())?,
        ));
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(staging)
        .map_err(|e| io_error(staging, e))?;
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .map_err(|e| io_error(partial, e))?;
    let out = BufWriter::with_capacity(1 << 20, file);
    let sink = match seal {
        Some(p) => Sink::sealed(out, p)?,
        None => Sink::plain(out),
    };
    let mut w = TarWriter::new(sink, now, partial);
    let mut files = Vec::new();
    for (name, rtx) in reads {
        let tmp = staging.join("copy.dump");
        let summary = {
            let f = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
            let mut out = BufWriter::with_capacity(1 << 20, f);
            let summary = snapshot::dump_tx(&rtx, &mut out).map_err(|e| store_error(e, staging))?;
            out.flush().map_err(|e| io_error(&tmp, e))?;
            summary
        };
        drop(rtx);
        let f = File::open(&tmp).map_err(|e| io_error(&tmp, e))?;
        let (bytes, sha256) = w.append(&name, f)?;
        fs::remove_file(&tmp).map_err(|e| io_error(&tmp, e))?;
        files.push(FileEntry {
            path: name,
            kind: summary.kind.to_string(),
            schema_version: summary.schema_version,
            bytes,
            sha256,
            rows: summary.rows,
        });
    }
    let media = append_media(&mut w, &src.media_root)?;
    let master_key = match seal {
        Some(_) => {
            let f = File::open(&src.master_key).map_err(|e| io_error(&src.master_key, e))?;
            let (bytes, sha256) = w.append("master.key", f)?;
            Some(Entry {
                path: "master.key".into(),
                bytes,
                sha256,
            })
        }
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT,
        created_at: now,
        botyard_version: env!("CARGO_PKG_VERSION").to_string(),
        shard_count: src.store.shard_count(),
        key_id: src.key_id,
        files,
        media,
        master_key,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io {
        path: "manifest.json".into(),
        source: io::Error::other(e),
    })?;
    w.append_bytes("manifest.json", &json)?;
    let bytes = w.finish()?;
    Ok((manifest, bytes))
}

/// Every tenant's media files, in a stable order. A file removed meanwhile is skipped.
fn append_media(w: &mut TarWriter, root: &Path) -> Result<Vec<Entry>, BackupError> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(root) else {
        return Ok(out);
    };
    let mut tenants: Vec<(u64, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id: u64 = name.parse().ok()?;
            (id.to_string() == name && e.file_type().ok()?.is_dir()).then(|| (id, e.path()))
        })
        .collect();
    tenants.sort();
    for (tenant, dir) in tenants {
        out.extend(w.append_media_dir(&dir, tenant)?);
    }
    Ok(out)
}
