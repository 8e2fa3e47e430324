//! Checking a backup and restoring it into an empty folder. Both read the whole file: every
//! table dump is read through and its rows counted, every file's SHA-256 compared with the
//! manifest; a restore also builds each store file from its dump and opens it again (redb's
//! page checksums checked, rows counted).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use botyard_shards::{FileKind, snapshot};
use sha2::{Digest, Sha256};

use super::Hashing;

use super::archive::{Passphrase, Source};
use super::manifest::{Entry, FORMAT, FileEntry, Manifest, Place};
use super::{BackupError, io_error};

/// A backup that was read whole and matched its manifest.
#[derive(Clone, Debug)]
pub struct Checked {
    pub manifest: Manifest,
    pub sealed: bool,
}

/// The page cache of a file being built from its dump.
const LOAD_CACHE: usize = 64 << 20;

fn create_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(dir, e))
}

/// The largest manifest read (a store's worth of media entries fits easily).
const MANIFEST_MAX: u64 = 256 << 20;

/// Reads `file` through and checks it; nothing is kept.
pub fn verify(file: &Path, pass: Option<&Passphrase>) -> Result<Checked, BackupError> {
    read(file, pass, &Target::Check)
}

/// Restores `file` into `data`, which must be missing or empty. On any failure what was
/// written is removed again.
pub fn restore(
    file: &Path,
    pass: Option<&Passphrase>,
    data: &Path,
) -> Result<Checked, BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    let created = match fs::read_dir(data) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(BackupError::NotEmpty(data.display().to_string()));
            }
            false
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(data)
                .map_err(|e| io_error(data, e))?;
            true
        }
        Err(e) => return Err(io_error(data, e)),
    };
    let r = read(file, pass, &Target::Restore(data.to_path_buf()));
    if r.is_err() {
        if created {
            let _ = fs::remove_dir_all(data);
        } else if let Ok(rd) = fs::read_dir(data) {
            for e in rd.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
    r
}

enum Target {
    /// Read through only.
    Check,
    Restore(PathBuf),
}

/// Copies an entry to `out` (when any), returning its size and SHA-256.
fn drain(r: &mut impl Read, mut out: Option<&mut File>) -> io::Result<(u64, String)> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        hash.update(&buf[..k]);
        if let Some(f) = out.as_deref_mut() {
            f.write_all(&buf[..k])?;
        }
        n += k as u64;
    }
    Ok((n, hex::encode(hash.finalize())))
}

fn create_file(path: &Path) -> Result<File, BackupError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| io_error(parent, e))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(path, e))
}

fn damaged(what: impl Into<String>) -> BackupError {
    BackupError::Damaged(what.into())
}

fn read(file: &Path, pass: Option<&Passphrase>, target: &Target) -> Result<Checked, BackupError> {
    let f = File::open(file).map_err(|e| io_error(file, e))?;
    let (source, sealed) = Source::open(io::BufReader::with_capacity(1 << 20, f), pass)?;
    let mut archive = tar::Archive::new(source);
    let mut files: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut others: BTreeMap<String, Entry> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    let entries = archive.entries().map_err(|e| io_error(file, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| io_error(file, e))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(damaged("it holds something other than plain files"));
        }
        let path = entry
            .path()
            .map_err(|e| io_error(file, e))?
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| damaged("a file name is not UTF-8"))?;
        let place =
            Place::parse(&path).ok_or_else(|| damaged(format!("unexpected file `{path}`")))?;
        if files.contains_key(&path) || others.contains_key(&path) {
            return Err(damaged(format!("`{path}` appears twice")));
        }
        match place {
            Place::Manifest => {
                if entry.size() > MANIFEST_MAX {
                    return Err(damaged("the manifest is too large"));
                }
                let mut json = Vec::new();
                entry
                    .read_to_end(&mut json)
                    .map_err(|e| io_error(file, e))?;
                let m: Manifest = serde_json::from_slice(&json)
                    .map_err(|e| damaged(format!("the manifest does not read: {e}")))?;
                manifest = Some(m);
            }
            Place::Catalog | Place::Shard(_) => {
                let kind = if place == Place::Catalog {
                    FileKind::Catalog
                } else {
                    FileKind::Shard
                };
                let mut reader = Hashing {
                    inner: &mut entry,
                    hash: Sha256::new(),
                    bytes: 0,
                };
                let read = match target {
                    Target::Check => snapshot::scan_dump(&mut reader),
                    Target::Restore(data) => {
                        let dest = data.join(path.replace(".dump", ".redb"));
                        if let Some(parent) = dest.parent() {
                            create_dir(parent)?;
                        }
                        snapshot::load_dump(&mut reader, &dest, LOAD_CACHE).and_then(|loaded| {
                            // The file built is opened again, its pages checked and counted.
                            let built = snapshot::summarize(&dest)?;
                            if built.rows != loaded.rows {
                                return Err(botyard_shards::StoreError::Damaged);
                            }
                            Ok(loaded)
                        })
                    }
                };
                let summary = read.map_err(|e| match e {
                    e if e.is_disk_full() => BackupError::DiskFull { path: path.clone() },
                    e => damaged(format!("`{path}` does not read: {e}")),
                })?;
                // Anything after the dump's end would be something it does not account for.
                io::copy(&mut reader, &mut io::sink()).map_err(|e| io_error(file, e))?;
                let (bytes, sha256) = (reader.bytes, hex::encode(reader.hash.finalize()));
                let supported = kind.current_version();
                if summary.schema_version > supported {
                    return Err(BackupError::NewerSchema {
                        file: path,
                        found: summary.schema_version,
                        supported,
                    });
                }
                files.insert(
                    path.clone(),
                    FileEntry {
                        path,
                        kind: summary.kind.to_string(),
                        schema_version: summary.schema_version,
                        bytes,
                        sha256,
                        rows: summary.rows,
                    },
                );
            }
            Place::Media { .. } | Place::MasterKey => {
                let (bytes, sha256) = match target {
                    Target::Check => drain(&mut entry, None).map_err(|e| io_error(file, e))?,
                    Target::Restore(data) => {
                        let dest = data.join(&path);
                        let mut out = create_file(&dest)?;
                        let r =
                            drain(&mut entry, Some(&mut out)).map_err(|e| io_error(&dest, e))?;
                        out.sync_all().map_err(|e| io_error(&dest, e))?;
                        r
                    }
                };
                others.insert(
                    path.clone(),
                    Entry {
                        path,
                        bytes,
                        sha256,
                    },
                );
            }
        }
    }
    let manifest =
        manifest.ok_or_else(|| damaged("it has no manifest (the backup did not finish)"))?;
    check(&manifest, &files, &others)?;
    Ok(Checked { manifest, sealed })
}

/// What was read against what the manifest says.
fn check(
    m: &Manifest,
    files: &BTreeMap<String, FileEntry>,
    others: &BTreeMap<String, Entry>,
) -> Result<(), BackupError> {
    if m.format != FORMAT {
        return Err(BackupError::NotABackup(
            "its format is not one this binary reads",
        ));
    }
    let mut want: Vec<String> = vec!["catalog.dump".into()];
    want.extend((0..m.shard_count).map(super::dump_name));
    let listed: Vec<String> = m.files.iter().map(|f| f.path.clone()).collect();
    if listed != want {
        return Err(damaged(
            "the manifest does not list the catalog and every shard",
        ));
    }
    for f in &m.files {
        let got = files
            .get(&f.path)
            .ok_or_else(|| damaged(format!("`{}` is missing", f.path)))?;
        if got.sha256 != f.sha256 || got.bytes != f.bytes {
            return Err(damaged(format!("`{}` does not match its checksum", f.path)));
        }
        if got.kind != f.kind || got.schema_version != f.schema_version {
            return Err(damaged(format!(
                "`{}` is not the file the manifest names",
                f.path
            )));
        }
        if got.rows != f.rows {
            return Err(damaged(format!(
                "`{}` does not hold the rows counted",
                f.path
            )));
        }
    }
    if files.len() != m.files.len() {
        return Err(damaged("it holds a store file the manifest does not list"));
    }
    let mut expected: Vec<&Entry> = m.media.iter().collect();
    expected.extend(m.master_key.iter());
    for e in &expected {
        let got = others
            .get(&e.path)
            .ok_or_else(|| damaged(format!("`{}` is missing", e.path)))?;
        if got.sha256 != e.sha256 || got.bytes != e.bytes {
            return Err(damaged(format!("`{}` does not match its checksum", e.path)));
        }
    }
    if others.len() != expected.len() {
        return Err(damaged("it holds a file the manifest does not list"));
    }
    Ok(())
}
