//! The store: `catalog.redb` plus `shards/NN.redb`. The only process that opens them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Builder, Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use crate::catalog::CatalogTx;
use crate::error::{OpenError, Result, StoreError};
use crate::ids::{ApiKeyId, TenantId};
use crate::records::TenantStatus;
use crate::schema::{self, FileKind};
use crate::scope::{Access, AdminScope, Principal, TenantScope};
use crate::tables::{META, catalog::SECRETS};

#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub dir: PathBuf,
    /// Shard count for a new store; an existing store must match.
    pub shards: u32,
    pub catalog_cache_bytes: usize,
    pub shard_cache_bytes: usize,
}

/// Where a sealed secret lives; its sealing binds it to this slot.
#[derive(Clone, Copy, Debug)]
pub enum SecretSlot<'a> {
    Catalog(&'a str),
    Tenant(TenantId, crate::ids::SecretId),
}

/// A shard write transaction shared by several tenants' work, one tenant at a time.
pub struct ShardBatch {
    tx: Option<WriteTransaction>,
    index: u32,
    moves: Arc<crate::moves::Moves>,
    /// The gates passed, held until the batch commits (one per tenant).
    passes: std::collections::HashMap<TenantId, crate::moves::Pass>,
    /// The common gate, passed before the transaction began.
    _all: crate::moves::Pass,
    /// The tenants written, marked changed at the commit.
    touched: std::collections::BTreeSet<TenantId>,
}

impl ShardBatch {
    /// Runs `f` on `tenant`'s rows inside the batch's transaction; `Moved` when the tenant's
    /// rows went to another shard since the caller looked.
    pub fn tenant<R>(
        &mut self,
        tenant: TenantId,
        f: impl FnOnce(&mut crate::TenantShard<WriteTransaction>) -> R,
    ) -> Result<R> {
        if !self.passes.contains_key(&tenant)
            && let Some(pass) = self.moves.enter(tenant)
        {
            self.passes.insert(tenant, pass);
        }
        if let Some(p) = self.passes.get(&tenant)
            && p.shard != self.index
        {
            return Err(StoreError::Moved(tenant));
        }
        let tx = self
            .tx
            .take()
            .ok_or(StoreError::Conflict("batch transaction lost"))?;
        let mut s = crate::TenantShard { tenant, tx };
        let r = f(&mut s);
        self.tx = Some(s.tx);
        self.touched.insert(tenant);
        Ok(r)
    }
}

pub struct Shard {
    pub(crate) index: u32,
    pub(crate) db: Database,
    pub(crate) moves: Arc<crate::moves::Moves>,
}

impl Shard {
    pub fn index(&self) -> u32 {
        self.index
    }
    pub fn database(&self) -> &Database {
        &self.db
    }
    /// The gates of moved tenants, which the ingestion writers pass.
    pub fn moves(&self) -> &crate::moves::Moves {
        &self.moves
    }
}

pub struct Store {
    dir: PathBuf,
    catalog: Arc<Database>,
    pub(crate) shards: Arc<[Arc<Shard>]>,
    pub(crate) moves: Arc<crate::moves::Moves>,
    /// Tenants' folded names by id, with the change count they were read at: a search reads
    /// this instead of decoding every tenant row.
    names: std::sync::Mutex<Option<(u64, NameIndex)>>,
}

/// Tenants' folded names in id order.
type NameIndex = Arc<Vec<(TenantId, String)>>;

/// Opens (or creates) a database file readable by its owner only: it holds password hashes
/// and sealed secrets.
fn open_db(path: &Path, cache: usize) -> Result<Database, OpenError> {
    use std::os::unix::fs::PermissionsExt;
    let db = Builder::new()
        .set_cache_size(cache)
        .create(path)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => OpenError::AlreadyOpen {
                path: path.display().to_string(),
            },
            e => OpenError::Db {
                path: path.display().to_string(),
                source: e.into(),
            },
        })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        OpenError::Io {
            path: path.display().to_string(),
            source,
        }
    })?;
    Ok(db)
}

/// An account's principal as the catalog says now, within the caller's read transaction.
fn account_principal(
    c: &CatalogTx<ReadTransaction>,
    id: crate::ids::AccountId,
) -> Result<Option<Principal>> {
    let Some(a) = c.account(id)? else {
        return Ok(None);
    };
    Ok(Some(Principal {
        account: Some(id),
        api_key: None,
        admin: a.is_admin,
        memberships: c.memberships(id)?,
    }))
}

pub fn shard_path(dir: &Path, index: u32) -> PathBuf {
    dir.join("shards").join(format!("{index:02}.redb"))
}

use std::os::unix::fs::DirBuilderExt;

impl Store {
    /// Opens (creating on first start) and migrates every file.
    pub fn open(cfg: &StoreConfig) -> Result<Self, OpenError> {
        let io = |path: &Path, source| OpenError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(cfg.dir.join("shards"))
            .map_err(|e| io(&cfg.dir, e))?;
        let catalog_path = cfg.dir.join("catalog.redb");
        let cpath = catalog_path.display().to_string();
        let catalog = open_db(&catalog_path, cfg.catalog_cache_bytes)?;
        schema::migrate(&catalog, FileKind::Catalog, &cpath)?;

        let db_err = |e: redb::Error| OpenError::Db {
            path: cpath.clone(),
            source: e,
        };
        // The shard count is recorded only once every shard file exists, so a first start
        // that dies half-way is still a first start next time (not a `MissingShard`).
        let stored = {
            let tx = catalog.begin_read().map_err(|e| db_err(e.into()))?;
            let meta = tx.open_table(META).map_err(|e| db_err(e.into()))?;
            meta.get("shard_count")
                .map_err(|e| db_err(e.into()))?
                .map(|v| v.value())
        };
        let first_start = stored.is_none();
        let count = stored.map_or(cfg.shards, |n| n as u32);
        if count != cfg.shards {
            return Err(OpenError::ShardCount {
                found: count,
                configured: cfg.shards,
            });
        }

        let moves = Arc::new(crate::moves::Moves::default());
        let mut shards = Vec::with_capacity(count as usize);
        for i in 0..count {
            let path = shard_path(&cfg.dir, i);
            if !first_start && !path.exists() {
                return Err(OpenError::MissingShard {
                    path: path.display().to_string(),
                });
            }
            let db = open_db(&path, cfg.shard_cache_bytes)?;
            let p = path.display().to_string();
            schema::migrate(&db, FileKind::Shard, &p)?;
            shards.push(Arc::new(Shard {
                index: i,
                db,
                moves: moves.clone(),
            }));
        }
        if first_start {
            let tx = catalog.begin_write().map_err(|e| db_err(e.into()))?;
            tx.open_table(META)
                .map_err(|e| db_err(e.into()))?
                .insert("shard_count", u64::from(count))
                .map_err(|e| db_err(e.into()))?;
            tx.commit().map_err(|e| db_err(e.into()))?;
        }
        Ok(Store {
            dir: cfg.dir.clone(),
            catalog: Arc::new(catalog),
            shards: shards.into(),
            moves,
            names: std::sync::Mutex::new(None),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn shard_count(&self) -> u32 {
        self.shards.len() as u32
    }

    pub fn shards(&self) -> &[Arc<Shard>] {
        &self.shards
    }

    pub fn catalog_database(&self) -> &Database {
        &self.catalog
    }

    pub fn catalog_read(&self) -> Result<CatalogTx<ReadTransaction>> {
        Ok(CatalogTx {
            tx: self.catalog.begin_read()?,
        })
    }

    /// Runs `f` in one catalog write transaction; commits only if it returns `Ok`.
    pub fn catalog_write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut CatalogTx<WriteTransaction>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut c = CatalogTx {
            tx: self.catalog.begin_write().map_err(StoreError::from)?,
        };
        let r = f(&mut c)?;
        c.tx.commit().map_err(StoreError::from)?;
        Ok(r)
    }

    /// One write transaction on shard `index` for work on several of its tenants (the
    /// campaign scheduler's group commit); commits only if `f` returns `Ok`. Server-internal:
    /// the caller names tenants it found on this shard.
    pub fn shard_batch<R, E: From<StoreError>>(
        &self,
        index: u32,
        f: impl FnOnce(&mut ShardBatch) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let shard = self
            .shards
            .get(index as usize)
            .ok_or(StoreError::NotFound)?;
        let all = self.moves.enter_all();
        let mut b = ShardBatch {
            _all: all,
            tx: Some(shard.db.begin_write().map_err(StoreError::from)?),
            index,
            moves: self.moves.clone(),
            passes: std::collections::HashMap::new(),
            touched: std::collections::BTreeSet::new(),
        };
        let r = f(&mut b)?;
        let tx =
            b.tx.take()
                .ok_or(StoreError::Conflict("batch transaction lost"))?;
        crate::changes::mark(
            &tx,
            b.touched
                .iter()
                .map(|t| (*t, crate::changes::Part::Content)),
        )?;
        tx.commit().map_err(StoreError::from)?;
        Ok(r)
    }

    /// Every active campaign's next run on shard `index`: (tenant, campaign, unix seconds).
    pub fn campaign_timers(
        &self,
        index: u32,
    ) -> Result<Vec<(TenantId, crate::ids::CampaignId, i64)>> {
        let shard = self
            .shards
            .get(index as usize)
            .ok_or(StoreError::NotFound)?;
        let tx = shard.db.begin_read()?;
        crate::shard_campaigns::campaign_timers(&tx)
    }

    /// The shard a tenant lives on (not tenant data: routing for the ingest writers).
    pub fn shard_of(&self, tenant: TenantId) -> Result<Option<u32>> {
        self.catalog_read()?.placement(tenant)
    }

    /// The principal of an account, or `None` if it no longer exists.
    pub fn principal_for_account(&self, id: crate::ids::AccountId) -> Result<Option<Principal>> {
        account_principal(&self.catalog_read()?, id)
    }

    /// The principal behind an access token: `None` unless the login (`family`) is live and
    /// belongs to `id`, and the account still exists. One read transaction.
    pub fn principal_for_login(
        &self,
        id: crate::ids::AccountId,
        family: crate::ids::FamilyId,
    ) -> Result<Option<Principal>> {
        let c = self.catalog_read()?;
        let live = c
            .family(family)?
            .is_some_and(|f| !f.revoked && f.account == id);
        if !live {
            return Ok(None);
        }
        account_principal(&c, id)
    }

    /// The principal of a live (not revoked) API key, found by the key's hash.
    pub fn principal_for_api_key(&self, hash: &[u8; 32]) -> Result<Option<(ApiKeyId, Principal)>> {
        let c = self.catalog_read()?;
        let Some((id, k)) = c.api_key_by_hash(hash)? else {
            return Ok(None);
        };
        if k.revoked_at.is_some() {
            return Ok(None);
        }
        Ok(Some((
            id,
            Principal {
                account: None,
                api_key: Some((id, k.tenant, k.role)),
                admin: false,
                memberships: vec![(k.tenant, k.role)],
            },
        )))
    }

    pub fn admin<'a>(&'a self, p: &Principal) -> Option<AdminScope<'a>> {
        p.admin.then_some(AdminScope {
            store: self,
            actor: p.account,
        })
    }

    /// The scope of `tenant` for `p`, or `NotFound` when the tenant does not exist or `p` has
    /// no access: the two look the same to the caller.
    pub fn scope(&self, p: &Principal, tenant: TenantId) -> Result<TenantScope> {
        let access = if p.admin {
            Access::Admin
        } else {
            match p.memberships.iter().find(|(t, _)| *t == tenant) {
                Some((_, crate::records::Role::Owner)) => Access::Owner,
                Some((_, crate::records::Role::Viewer)) => Access::Viewer,
                Some((_, crate::records::Role::Editor)) => Access::Editor,
                None => return Err(StoreError::NotFound),
            }
        };
        self.scope_for(tenant, access, p.account)
    }

    /// Admin rights for the server's own start-up tasks (the `--demo` tenant), with no actor.
    pub fn system_admin(&self) -> AdminScope<'_> {
        AdminScope {
            store: self,
            actor: None,
        }
    }

    /// The scope the server itself uses to run a tenant's workers (no request, no principal):
    /// only the supervisor calls this.
    pub fn supervisor_scope(&self, tenant: TenantId) -> Result<TenantScope> {
        self.scope_for(tenant, Access::Admin, None)
    }

    pub(crate) fn scope_for(
        &self,
        tenant: TenantId,
        access: Access,
        actor: Option<crate::ids::AccountId>,
    ) -> Result<TenantScope> {
        let c = self.catalog_read()?;
        let rec = c.tenant(tenant)?.ok_or(StoreError::NotFound)?;
        let shard = c
            .placement(tenant)?
            .ok_or(StoreError::NoPlacement(tenant))?;
        let shard = self
            .shards
            .get(shard as usize)
            .cloned()
            .ok_or(StoreError::NoPlacement(tenant))?;
        Ok(TenantScope {
            tenant,
            access,
            status: rec.status,
            record: rec,
            actor,
            catalog: self.catalog.clone(),
            shard,
            shards: self.shards.clone(),
            moves: self.moves.clone(),
        })
    }

    /// Tenants (id, status) in id order, for start-up work such as scheduling.
    /// Tenants after `after` whose folded name contains the folded `query`, at most `limit`,
    /// from the name index (rebuilt when a tenant row changed since it was read).
    pub(crate) fn search_tenants(
        &self,
        after: Option<u64>,
        limit: usize,
        query: &str,
    ) -> Result<crate::catalog::Page<(TenantId, crate::records::TenantRec)>> {
        let c = self.catalog_read()?;
        let seen = c.names_changed()?;
        let cached = {
            let g = self.names.lock().unwrap_or_else(|p| p.into_inner());
            g.as_ref()
                .filter(|(at, _)| *at == seen)
                .map(|(_, n)| n.clone())
        };
        let names = match cached {
            Some(n) => n,
            None => {
                let n = Arc::new(c.tenant_names()?);
                *self.names.lock().unwrap_or_else(|p| p.into_inner()) = Some((seen, n.clone()));
                n
            }
        };
        let needle = crate::catalog::search_fold(query);
        let from = after.map_or(0, |a| a.saturating_add(1));
        let start = names.partition_point(|(id, _)| id.0 < from);
        let mut hits = names[start..]
            .iter()
            .filter(|(_, n)| n.contains(needle.as_str()))
            .map(|(id, _)| *id);
        let mut items = Vec::new();
        for id in hits.by_ref().take(limit) {
            if let Some(rec) = c.tenant(id)? {
                items.push((id, rec));
            }
        }
        let next = if hits.next().is_some() {
            items.last().map(|(id, _)| id.0)
        } else {
            None
        };
        Ok(crate::catalog::Page { items, next })
    }

    /// Campaign posts sent and failed on a UTC day, all shards together.
    pub fn posts_on(&self, day: crate::ids::Day) -> Result<(u64, u64)> {
        let (mut sent, mut failed) = (0, 0);
        for sh in self.shards.iter() {
            let tx = sh.database().begin_read()?;
            let t = tx.open_table(crate::tables::shard::POSTS_BY_DAY)?;
            if let Some(v) = t.get(day)? {
                let (s, f) = v.value();
                sent += s;
                failed += f;
            }
        }
        Ok((sent, failed))
    }

    pub fn tenant_ids(&self) -> Result<Vec<(TenantId, TenantStatus)>> {
        let c = self.catalog_read()?;
        let t = crate::tx::Reader::table(&c.tx, crate::tables::catalog::TENANTS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?.status));
        }
        Ok(out)
    }

    /// Rewrites every sealed secret (catalog and shards) with `rewrap`, each file in one
    /// transaction. Used by key rotation; returns how many secrets were rewritten.
    pub fn rewrap_secrets<E: From<StoreError>>(
        &self,
        mut rewrap: impl FnMut(SecretSlot<'_>, &[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<usize, E> {
        let mut n = 0;
        // Shards first: the catalog holds the appliance's own secrets and goes last.
        for s in self.shards.iter() {
            let tx = s.db.begin_write().map_err(StoreError::from)?;
            for (k, v) in crate::shard::all_secrets(&tx)? {
                let sealed = rewrap(SecretSlot::Tenant(k.0, k.1), &v)?;
                crate::shard::put_raw_secret(&tx, k, &sealed)?;
                n += 1;
            }
            tx.commit().map_err(StoreError::from)?;
        }
        let tx = self.catalog.begin_write().map_err(StoreError::from)?;
        {
            let mut t = tx.open_table(SECRETS).map_err(StoreError::from)?;
            let rows: Vec<(String, Vec<u8>)> = t
                .iter()
                .map_err(StoreError::from)?
                .map(|r| r.map(|(k, v)| (k.value().to_string(), v.value().to_vec())))
                .collect::<Result<_, _>>()
                .map_err(StoreError::from)?;
            for (k, v) in rows {
                let sealed = rewrap(SecretSlot::Catalog(&k), &v)?;
                t.insert(k.as_str(), sealed.as_slice())
                    .map_err(StoreError::from)?;
                n += 1;
            }
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(n)
    }
}
