//! Writing a tenant's bundle from the store.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use botyard_shards::ids::TenantId;
use botyard_shards::records::Role;
use botyard_shards::transfer::RowSink;
use botyard_shards::{FileKind, Store, StoreError};
use serde::Serialize;

use super::{
    BundleError, BundleManifest, CatalogRows, FORMAT, MemberRow, PaymentRow, Row, SECRETS_TABLE,
    SessionKeyRow, SubEventRow, SubscriptionRow, TableFile, TenantHead, catalog_path, damaged,
    table_path,
};
use crate::domain::backup::archive::{Passphrase, Sink, TarWriter};
use crate::domain::backup::io_error;
use crate::domain::backup::manifest::Entry;
use crate::security::crypto::Keyring;

/// A bundle on disk.
#[derive(Clone, Debug)]
pub struct Exported {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    pub media: usize,
    pub manifest: BundleManifest,
}

/// Writes `tenant`'s bundle to `to` (which must not exist), sealed with `pass`. The file
/// appears under its name only once whole and on disk.
pub fn export(
    store: &Store,
    keyring: &Keyring,
    media_root: &Path,
    tenant: TenantId,
    pass: &Passphrase,
    to: &Path,
    now: i64,
) -> Result<Exported, BundleError> {
    if to.exists() {
        return Err(BundleError::Exists(to.display().to_string()));
    }
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = to
        .file_name()
        .ok_or_else(|| BundleError::App(format!("{} is not a file name", to.display())))?;
    let partial = dir.join(format!("{}.partial", file_name.to_string_lossy()));
    let staging = tempfile::Builder::new()
        .prefix(".botyard-bundle-")
        .tempdir_in(&dir)
        .map_err(|e| io_error(&dir, e))?;
    let r = write(
        store,
        keyring,
        media_root,
        tenant,
        pass,
        &partial,
        staging.path(),
        now,
    );
    let (manifest, bytes) = match r {
        Ok(v) => v,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, to).map_err(|e| io_error(to, e))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(Exported {
        path: to.to_path_buf(),
        bytes,
        rows: manifest.files.iter().map(|f| f.rows).sum(),
        media: manifest.media.len(),
        manifest,
    })
}

/// NDJSON into a staging file, counted.
struct Lines {
    out: BufWriter<File>,
    path: PathBuf,
    rows: u64,
}

impl Lines {
    fn create(path: PathBuf) -> Result<Lines, BundleError> {
        let f = File::create(&path).map_err(|e| io_error(&path, e))?;
        Ok(Lines {
            out: BufWriter::with_capacity(1 << 20, f),
            path,
            rows: 0,
        })
    }

    fn line(&mut self, v: &impl Serialize) -> Result<(), BundleError> {
        serde_json::to_writer(&mut self.out, v)
            .map_err(|e| io_error(&self.path, std::io::Error::other(e)))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| io_error(&self.path, e))?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes and appends the file to the bundle under `name`.
    fn append(self, w: &mut TarWriter, name: String) -> Result<TableFile, BundleError> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| io_error(&self.path, e.into_error()))?;
        drop(file);
        let f = File::open(&self.path).map_err(|e| io_error(&self.path, e))?;
        let (bytes, sha256) = w.append(&name, f)?;
        fs::remove_file(&self.path).map_err(|e| io_error(&self.path, e))?;
        Ok(TableFile {
            path: name,
            rows: self.rows,
            bytes,
            sha256,
        })
    }
}

/// A table's rows into the bundle; the secrets table's values opened from the master key.
struct Tables<'a> {
    w: &'a mut TarWriter,
    staging: &'a Path,
    keyring: &'a Keyring,
    tenant: TenantId,
    current: Option<(String, Lines)>,
    files: Vec<TableFile>,
    error: Option<BundleError>,
}

impl Tables<'_> {
    fn close(&mut self) -> Result<(), BundleError> {
        if let Some((name, lines)) = self.current.take() {
            self.files.push(lines.append(self.w, table_path(&name))?);
        }
        Ok(())
    }

    fn fail(&mut self, e: BundleError) -> StoreError {
        self.error = Some(e);
        StoreError::Conflict("bundle")
    }
}

impl RowSink for Tables<'_> {
    fn table(&mut self, name: &str) -> Result<(), StoreError> {
        let opened = self
            .close()
            .and_then(|()| Lines::create(self.staging.join("table.ndjson")));
        match opened {
            Ok(l) => {
                self.current = Some((name.to_string(), l));
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn row(&mut self, key: serde_json::Value, value: serde_json::Value) -> Result<(), StoreError> {
        let r = (|| -> Result<(), BundleError> {
            let (name, lines) = self
                .current
                .as_mut()
                .ok_or_else(|| damaged("a row before its table"))?;
            let v = if name == SECRETS_TABLE {
                open_secret(self.keyring, self.tenant, &key, &value)?
            } else {
                value
            };
            lines.line(&Row { k: key, v })
        })();
        r.map_err(|e| self.fail(e))
    }
}

/// A sealed secret's plaintext, as hex.
fn open_secret(
    keyring: &Keyring,
    tenant: TenantId,
    key: &serde_json::Value,
    value: &serde_json::Value,
) -> Result<serde_json::Value, BundleError> {
    super::convert_secret(tenant, key, value, |sealed, aad| {
        keyring.open(sealed, aad).map(|p| p.to_vec())
    })
}

#[allow(clippy::too_many_arguments)]
fn write(
    store: &Store,
    keyring: &Keyring,
    media_root: &Path,
    tenant: TenantId,
    pass: &Passphrase,
    partial: &Path,
    staging: &Path,
    now: i64,
) -> Result<(BundleManifest, u64), BundleError> {
    use std::os::unix::fs::OpenOptionsExt;
    let scope = store.system_admin().tenant(tenant)?;
    // One read of the catalog and one of the shard: the tenant as of one moment.
    let catalog = scope.catalog_read()?;
    let shard = scope.shard_read()?;
    let rec = catalog.tenant()?;
    let rows = catalog_rows(&catalog)?;
    let plan = match rec.plan {
        Some(p) => catalog.plan(p)?.map(|p| p.name),
        None => None,
    };

    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .map_err(|e| io_error(partial, e))?;
    let sink = Sink::sealed(BufWriter::with_capacity(1 << 20, file), pass)?;
    let mut w = TarWriter::new(sink, now, partial);

    let mut tables = Tables {
        w: &mut w,
        staging,
        keyring,
        tenant,
        current: None,
        files: Vec::new(),
        error: None,
    };
    let r = shard.export_rows(&mut tables);
    if let Some(e) = tables.error.take() {
        return Err(e);
    }
    r?;
    tables.close()?;
    let mut files = std::mem::take(&mut tables.files);
    drop(shard);

    files.extend(write_catalog(&mut w, staging, &rows)?);
    let media = append_media(&mut w, media_root, tenant)?;
    let manifest = BundleManifest {
        format: FORMAT,
        created_at: now,
        botyard_version: env!("CARGO_PKG_VERSION").to_string(),
        catalog_schema: FileKind::Catalog.current_version(),
        shard_schema: FileKind::Shard.current_version(),
        tenant: TenantHead {
            source_id: tenant.0,
            name: rec.name,
            status: rec.status,
            plan,
            created_at: rec.created_at,
        },
        files,
        media,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| io_error(partial, std::io::Error::other(e)))?;
    w.append_bytes("bundle.json", &json)?;
    let bytes = w.finish()?;
    Ok((manifest, bytes))
}

fn plan_name(
    c: &botyard_shards::TenantCatalog<botyard_shards::ReadTransaction>,
    id: botyard_shards::ids::PlanId,
) -> Result<String, BundleError> {
    c.plan(id)?
        .map(|p| p.name)
        .ok_or_else(|| damaged(format!("plan {} is missing", id.0)))
}

/// The tenant's rows in the catalog, with account and plan ids turned into emails and names.
fn catalog_rows(
    c: &botyard_shards::TenantCatalog<botyard_shards::ReadTransaction>,
) -> Result<CatalogRows, BundleError> {
    let mut rows = CatalogRows::default();
    for (account, role) in c.members()? {
        let Some(a) = c.account(account)? else {
            continue;
        };
        rows.members.push(MemberRow {
            email: a.email,
            role,
            password_hash: a.password_hash,
            created_at: a.created_at,
            password_changed_at: a.password_changed_at,
            prefs: c.account_prefs(account)?,
        });
    }
    rows.api_keys = c.api_keys()?.into_iter().map(|(_, k)| k).collect();
    if let Some(s) = c.subscription()? {
        rows.subscription.push(SubscriptionRow {
            plan: plan_name(c, s.plan)?,
            next_plan: s.next_plan.map(|p| plan_name(c, p)).transpose()?,
            rec: s,
        });
    }
    let mut events = c.sub_events(usize::MAX)?;
    events.reverse();
    for e in events {
        rows.subscription_events.push(SubEventRow {
            plan: plan_name(c, e.plan)?,
            rec: e,
        });
    }
    rows.billing_profile.extend(c.billing_profile()?);
    for (id, p) in c.payments()? {
        rows.payments.push(PaymentRow {
            id: id.0,
            plan: plan_name(c, p.plan)?,
            rec: p,
        });
    }
    rows.invoices = c.invoices()?.into_iter().map(|(_, i)| i).collect();
    rows.session_keys = c
        .session_keys()?
        .into_iter()
        .map(|(s, k)| SessionKeyRow {
            session: s.0,
            key_id: k,
        })
        .collect();
    // Owners first, so an import reads the people who run the tenant before its viewers.
    rows.members
        .sort_by_key(|m| (m.role != Role::Owner, m.email.clone()));
    Ok(rows)
}

fn write_catalog(
    w: &mut TarWriter,
    staging: &Path,
    rows: &CatalogRows,
) -> Result<Vec<TableFile>, BundleError> {
    fn one<T: Serialize>(
        w: &mut TarWriter,
        staging: &Path,
        name: &str,
        rows: &[T],
    ) -> Result<TableFile, BundleError> {
        let mut l = Lines::create(staging.join("catalog.ndjson"))?;
        for r in rows {
            l.line(r)?;
        }
        l.append(w, catalog_path(name))
    }
    Ok(vec![
        one(w, staging, "members", &rows.members)?,
        one(w, staging, "api_keys", &rows.api_keys)?,
        one(w, staging, "subscription", &rows.subscription)?,
        one(w, staging, "subscription_events", &rows.subscription_events)?,
        one(w, staging, "billing_profile", &rows.billing_profile)?,
        one(w, staging, "payments", &rows.payments)?,
        one(w, staging, "invoices", &rows.invoices)?,
        one(w, staging, "session_keys", &rows.session_keys)?,
    ])
}

/// The tenant's media files, in name order.
fn append_media(
    w: &mut TarWriter,
    root: &Path,
    tenant: TenantId,
) -> Result<Vec<Entry>, BundleError> {
    Ok(w.append_media_dir(&root.join(tenant.0.to_string()), tenant.0)?)
}
