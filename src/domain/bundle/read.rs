//! Importing a tenant's bundle: checked whole first, then written as a new tenant.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use botyard_shards::ids::{PaymentId, PlanId, SecretId, TenantId};
use botyard_shards::records::{AccountRec, AuditRec, PaymentProviderRec, TenantRec, TenantStatus};
use botyard_shards::{FileKind, Store, TenantScope};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{
    BundleError, BundleManifest, CATALOG_FILES, CatalogRows, FORMAT, Row, SECRETS_TABLE,
    catalog_path, damaged, table_path,
};
use crate::domain::backup::archive::{Passphrase, Source};
use crate::domain::backup::io_error;
use crate::domain::backup::manifest::Place;
use crate::security::crypto::Keyring;

/// A tenant made from a bundle.
#[derive(Clone, Debug)]
pub struct Imported {
    pub tenant: TenantId,
    pub name: String,
    pub status: TenantStatus,
    pub rows: u64,
    pub media: usize,
    pub members: usize,
    pub source_id: u64,
}

/// Rows written to the shard per transaction.
const CHUNK: usize = 20_000;
/// The largest catalog file or `bundle.json` read into memory.
const SMALL_MAX: u64 = 64 << 20;

/// Imports the bundle at `from` as a new tenant. Nothing is left behind when it fails.
pub fn import(
    store: &Store,
    keyring: &Keyring,
    media_root: &Path,
    from: &Path,
    pass: &Passphrase,
    now: i64,
) -> Result<Imported, BundleError> {
    let (manifest, rows) = check(from, pass)?;
    let plans = plan_ids(store)?;
    let plan_of = |name: &str| {
        plans
            .get(name)
            .copied()
            .ok_or_else(|| BundleError::UnknownPlan(name.to_string()))
    };
    // Refused before anything is written: a missing plan, or rows this appliance has already.
    let plan = manifest.tenant.plan.as_deref().map(plan_of).transpose()?;
    for p in rows
        .subscription
        .iter()
        .flat_map(|s| std::iter::once(&s.plan).chain(s.next_plan.as_ref()))
        .chain(rows.subscription_events.iter().map(|e| &e.plan))
        .chain(rows.payments.iter().map(|p| &p.plan))
    {
        plan_of(p)?;
    }
    {
        let c = store.catalog_read()?;
        for k in &rows.api_keys {
            if c.api_key_by_hash(&k.hash)?.is_some() {
                return Err(BundleError::Taken(format!(
                    "the API key {}… exists",
                    k.prefix
                )));
            }
        }
        // A bank transfer's charge is named by its tenant, so it is new here by construction.
        for p in rows
            .payments
            .iter()
            .filter(|p| p.rec.provider != PaymentProviderRec::Manual)
        {
            if c.payment_by_charge(p.rec.provider, &p.rec.charge_id)?
                .is_some()
            {
                return Err(BundleError::Taken(format!(
                    "the payment {} is recorded",
                    p.rec.charge_id
                )));
            }
        }
    }

    let admin = store.system_admin();
    let scope = admin.create_tenant(&TenantRec {
        name: manifest.tenant.name.clone(),
        status: TenantStatus::Suspended,
        plan,
        created_at: manifest.tenant.created_at,
        updated_at: now,
    })?;
    let tenant = scope.tenant_id();
    let media_dir = media_root.join(tenant.0.to_string());
    let r = fill(
        &scope, keyring, &media_dir, from, pass, &manifest, &rows, &plan_of, now,
    );
    match r {
        Ok(n) => Ok(Imported {
            tenant,
            name: manifest.tenant.name.clone(),
            status: manifest.tenant.status,
            rows: n,
            media: manifest.media.len(),
            members: rows.members.len(),
            source_id: manifest.tenant.source_id,
        }),
        Err(e) => {
            if let Err(d) = admin.delete_tenant(tenant) {
                tracing::error!(tenant_id = tenant.0, error = %d, "removing a failed import");
            }
            let _ = fs::remove_dir_all(&media_dir);
            Err(e)
        }
    }
}

fn plan_ids(store: &Store) -> Result<HashMap<String, PlanId>, BundleError> {
    Ok(store
        .catalog_read()?
        .plans()?
        .into_iter()
        .map(|(id, p)| (p.name, id))
        .collect())
}

fn open(
    from: &Path,
    pass: &Passphrase,
) -> Result<tar::Archive<Source<BufReader<File>>>, BundleError> {
    let f = File::open(from).map_err(|e| io_error(from, e))?;
    let (source, sealed) = Source::open(BufReader::with_capacity(1 << 20, f), Some(pass))?;
    if !sealed {
        return Err(damaged("it is not sealed (a bundle always is)"));
    }
    Ok(tar::Archive::new(source))
}

/// What a path inside a bundle is.
enum Part {
    Manifest,
    Catalog,
    Table,
    Media(u64),
}

fn part(path: &str, tables: &[String]) -> Option<Part> {
    if path == "bundle.json" {
        return Some(Part::Manifest);
    }
    if CATALOG_FILES.iter().any(|n| catalog_path(n) == path) {
        return Some(Part::Catalog);
    }
    if tables.iter().any(|n| table_path(n) == path) {
        return Some(Part::Table);
    }
    match Place::parse(path)? {
        Place::Media { tenant, .. } => Some(Part::Media(tenant)),
        _ => None,
    }
}

fn entry_path(e: &tar::Entry<'_, impl Read>) -> Result<String, BundleError> {
    let p = e.path().map_err(|e| damaged(e.to_string()))?;
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| damaged("a name is not UTF-8"))
}

/// Reads the bundle through: every file's size, rows and SHA-256 against `bundle.json`, no
/// file unlisted, nothing after `bundle.json`. Returns it with the catalog rows parsed.
fn check(from: &Path, pass: &Passphrase) -> Result<(BundleManifest, CatalogRows), BundleError> {
    let tables = botyard_shards::transfer::table_names()?;
    let mut archive = open(from, pass)?;
    let mut seen: BTreeMap<String, (u64, String, u64)> = BTreeMap::new();
    let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut manifest: Option<BundleManifest> = None;
    let mut media_tenants = Vec::new();
    for entry in archive.entries().map_err(|e| io_error(from, e))? {
        let mut entry = entry.map_err(|e| io_error(from, e))?;
        let path = entry_path(&entry)?;
        if manifest.is_some() {
            return Err(damaged(format!("{path} comes after bundle.json")));
        }
        let kind = part(&path, &tables)
            .ok_or_else(|| damaged(format!("it holds an unknown file {path}")))?;
        if seen.contains_key(&path) {
            return Err(damaged(format!("{path} is there twice")));
        }
        match kind {
            Part::Manifest => {
                let bytes = read_small(&mut entry, &path)?;
                manifest = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| damaged(format!("bundle.json: {e}")))?,
                );
            }
            Part::Catalog => {
                let bytes = read_small(&mut entry, &path)?;
                let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
                seen.insert(
                    path.clone(),
                    (
                        bytes.len() as u64,
                        hex::encode(Sha256::digest(&bytes)),
                        lines,
                    ),
                );
                small.insert(path, bytes);
            }
            Part::Table | Part::Media(_) => {
                if let Part::Media(t) = kind {
                    media_tenants.push(t);
                }
                let (bytes, sha, lines) = hash(&mut entry).map_err(|e| io_error(from, e))?;
                seen.insert(path, (bytes, sha, lines));
            }
        }
    }
    let m = manifest.ok_or_else(|| damaged("bundle.json is missing (cut short?)"))?;
    if m.format != FORMAT {
        return Err(damaged(format!("it has format {}, not {FORMAT}", m.format)));
    }
    for (found, kind) in [
        (m.catalog_schema, FileKind::Catalog),
        (m.shard_schema, FileKind::Shard),
    ] {
        if found > kind.current_version() {
            return Err(BundleError::Newer {
                found,
                supported: kind.current_version(),
            });
        }
    }
    if media_tenants.iter().any(|t| *t != m.tenant.source_id) {
        return Err(damaged("it holds another tenant's media"));
    }
    let mut listed = 0;
    for f in &m.files {
        let got = seen
            .get(&f.path)
            .ok_or_else(|| damaged(format!("{} is missing", f.path)))?;
        if got.0 != f.bytes || got.1 != f.sha256 || got.2 != f.rows {
            return Err(damaged(format!("{} does not match bundle.json", f.path)));
        }
        listed += 1;
    }
    for e in &m.media {
        let got = seen
            .get(&e.path)
            .ok_or_else(|| damaged(format!("{} is missing", e.path)))?;
        if got.0 != e.bytes || got.1 != e.sha256 {
            return Err(damaged(format!("{} does not match bundle.json", e.path)));
        }
        listed += 1;
    }
    if listed != seen.len() {
        return Err(damaged("it holds files bundle.json does not list"));
    }
    let rows = CatalogRows {
        members: lines(&small, "members")?,
        api_keys: lines(&small, "api_keys")?,
        subscription: lines(&small, "subscription")?,
        subscription_events: lines(&small, "subscription_events")?,
        billing_profile: lines(&small, "billing_profile")?,
        payments: lines(&small, "payments")?,
        invoices: lines(&small, "invoices")?,
        session_keys: lines(&small, "session_keys")?,
    };
    Ok((m, rows))
}

fn read_small(r: &mut impl Read, path: &str) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    r.take(SMALL_MAX + 1)
        .read_to_end(&mut out)
        .map_err(|e| io_error(path, e))?;
    if out.len() as u64 > SMALL_MAX {
        return Err(damaged(format!("{path} is larger than {SMALL_MAX} bytes")));
    }
    Ok(out)
}

/// Size, SHA-256 and newline count of an entry.
fn hash(r: &mut impl Read) -> io::Result<(u64, String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut n, mut lines) = (0u64, 0u64);
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        lines += buf[..k].iter().filter(|b| **b == b'\n').count() as u64;
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize()), lines))
}

fn lines<T: DeserializeOwned>(
    small: &BTreeMap<String, Vec<u8>>,
    name: &str,
) -> Result<Vec<T>, BundleError> {
    let path = catalog_path(name);
    let Some(bytes) = small.get(&path) else {
        return Ok(Vec::new());
    };
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_slice(l).map_err(|e| damaged(format!("{path} line {}: {e}", i + 1)))
        })
        .collect()
}

/// Writes the bundle's shard rows and media, then its catalog rows in one transaction (which
/// also sets the tenant's status as it was at the source). Returns the shard rows written.
#[allow(clippy::too_many_arguments)]
fn fill(
    scope: &TenantScope,
    keyring: &Keyring,
    media_dir: &Path,
    from: &Path,
    pass: &Passphrase,
    m: &BundleManifest,
    rows: &CatalogRows,
    plan_of: &dyn Fn(&str) -> Result<PlanId, BundleError>,
    now: i64,
) -> Result<u64, BundleError> {
    let tables = botyard_shards::transfer::table_names()?;
    let mut written = 0u64;
    let mut archive = open(from, pass)?;
    for entry in archive.entries().map_err(|e| io_error(from, e))? {
        let entry = entry.map_err(|e| io_error(from, e))?;
        let path = entry_path(&entry)?;
        match part(&path, &tables) {
            Some(Part::Table) => {
                let table = path
                    .strip_prefix("tables/")
                    .and_then(|p| p.strip_suffix(".ndjson"))
                    .unwrap_or_default()
                    .to_string();
                written += import_table(scope, keyring, &table, entry)?;
            }
            Some(Part::Media(_)) => {
                let Some(Place::Media { name, .. }) = Place::parse(&path) else {
                    continue;
                };
                write_media(media_dir, &name, entry)?;
            }
            _ => {}
        }
    }
    write_catalog(scope, m, rows, plan_of, now)?;
    Ok(written)
}

fn import_table(
    scope: &TenantScope,
    keyring: &Keyring,
    table: &str,
    entry: impl Read,
) -> Result<u64, BundleError> {
    let tenant = scope.tenant_id();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut n = 0u64;
    for (i, line) in BufReader::with_capacity(1 << 20, entry).lines().enumerate() {
        let line = line.map_err(|e| io_error(table, e))?;
        let row: Row = serde_json::from_str(&line)
            .map_err(|e| damaged(format!("{table} line {}: {e}", i + 1)))?;
        let v = if table == SECRETS_TABLE {
            seal_secret(keyring, tenant, &row.k, &row.v)?
        } else {
            row.v
        };
        chunk.push((row.k, v));
        if chunk.len() == CHUNK {
            n += chunk.len() as u64;
            scope.import_rows(table, std::mem::take(&mut chunk))?;
        }
    }
    if !chunk.is_empty() {
        n += chunk.len() as u64;
        scope.import_rows(table, chunk)?;
    }
    Ok(n)
}

/// A secret's plaintext (hex) sealed under this appliance's key, bound to the new tenant.
fn seal_secret(
    keyring: &Keyring,
    tenant: TenantId,
    key: &serde_json::Value,
    value: &serde_json::Value,
) -> Result<serde_json::Value, BundleError> {
    super::convert_secret(tenant, key, value, |plain, aad| keyring.seal(plain, aad))
}

fn write_media(dir: &Path, name: &str, mut entry: impl Read) -> Result<(), BundleError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(dir, e))?;
    let path = dir.join(name);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    io::copy(&mut entry, &mut f).map_err(|e| io_error(&path, e))?;
    f.sync_all().map_err(|e| io_error(&path, e))?;
    Ok(())
}

fn write_catalog(
    scope: &TenantScope,
    m: &BundleManifest,
    rows: &CatalogRows,
    plan_of: &dyn Fn(&str) -> Result<PlanId, BundleError>,
    now: i64,
) -> Result<(), BundleError> {
    let tenant = scope.tenant_id();
    scope.catalog_write(|c| -> Result<(), BundleError> {
        for mem in &rows.members {
            let account = match c.account_by_email(&mem.email)? {
                Some((id, _)) => id,
                None => {
                    let id = c.insert_account(&AccountRec {
                        email: mem.email.clone(),
                        password_hash: mem.password_hash.clone(),
                        is_admin: false,
                        created_at: mem.created_at,
                        password_changed_at: mem.password_changed_at,
                    })?;
                    c.set_account_prefs(id, &mem.prefs)?;
                    id
                }
            };
            c.set_member(account, mem.role)?;
        }
        for k in &rows.api_keys {
            c.insert_api_key(k.clone())?;
        }
        for s in &rows.subscription {
            let mut rec = s.rec.clone();
            rec.plan = plan_of(&s.plan)?;
            rec.next_plan = s.next_plan.as_deref().map(plan_of).transpose()?;
            c.put_subscription(&rec)?;
        }
        for e in &rows.subscription_events {
            let mut rec = e.rec.clone();
            rec.plan = plan_of(&e.plan)?;
            c.add_sub_event(&rec)?;
        }
        for p in &rows.billing_profile {
            c.put_billing_profile(p)?;
        }
        let mut payments: HashMap<u64, PaymentId> = HashMap::new();
        for p in &rows.payments {
            let mut rec = p.rec.clone();
            rec.tenant = tenant;
            rec.plan = plan_of(&p.plan)?;
            if rec.provider == PaymentProviderRec::Manual {
                let source = format!("{}:", m.tenant.source_id);
                if let Some(reference) = rec.charge_id.strip_prefix(&source) {
                    rec.charge_id = format!("{}:{reference}", tenant.0);
                }
            }
            // Account ids do not travel; who recorded it stays in the source's audit log.
            rec.recorded_by = None;
            if let Some(r) = rec.refund.as_mut() {
                r.by = None;
            }
            let id = c.insert_payment(&rec)?.ok_or_else(|| {
                BundleError::Taken(format!("the payment {} is recorded", rec.charge_id))
            })?;
            payments.insert(p.id, id);
        }
        for i in &rows.invoices {
            let mut rec = i.clone();
            rec.payment = payments.get(&rec.payment).map_or(0, |p| p.0);
            c.keep_invoice(rec)?;
        }
        for k in &rows.session_keys {
            if c.claim_session_key(SecretId(k.session), k.key_id)?
                .is_some()
            {
                return Err(BundleError::Taken(format!(
                    "an imported session's auth key (session {}) is owned here",
                    k.session
                )));
            }
        }
        let mut t = c.tenant()?;
        t.status = m.tenant.status;
        t.updated_at = now;
        c.put_tenant(&t)?;
        c.audit(&AuditRec {
            at: now,
            actor: None,
            tenant: Some(tenant),
            action: "tenant.imported".into(),
            detail: format!(
                "from tenant {} of another appliance (botyard {})",
                m.tenant.source_id, m.botyard_version
            ),
        })?;
        Ok(())
    })
}
