//! Authorization handles. A [`Principal`] is built only from catalog rows (an account or an
//! API key); a [`TenantScope`] only from a principal allowed into that tenant. All tenant data
//! is reached through a scope, so no code path can read another tenant's rows by mistake.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::catalog::{CatalogTx, Page};
use crate::error::{Result, StoreError};
use crate::ids::{AccountId, ApiKeyId, InvitationId, SecretId, TenantId};
use crate::records::{ApiKeyRec, InvitationRec, Role, TenantRec, TenantStatus};
use crate::shard::TenantShard;
use crate::store::{Shard, Store};

/// Who is asking, as the catalog says now (not as a token claimed when it was issued).
#[derive(Clone, Debug)]
pub struct Principal {
    pub(crate) account: Option<AccountId>,
    pub(crate) api_key: Option<(ApiKeyId, TenantId, Role)>,
    pub(crate) admin: bool,
    pub(crate) memberships: Vec<(TenantId, Role)>,
}

impl Principal {
    pub fn account(&self) -> Option<AccountId> {
        self.account
    }
    pub fn api_key(&self) -> Option<ApiKeyId> {
        self.api_key.map(|k| k.0)
    }
    pub fn is_admin(&self) -> bool {
        self.admin
    }
    pub fn memberships(&self) -> &[(TenantId, Role)] {
        &self.memberships
    }
}

/// What a scope's holder may do in the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Admin,
    Owner,
    Editor,
    Viewer,
}

impl Access {
    /// Admin or owner: sessions, members, API keys, settings.
    pub fn can_manage(self) -> bool {
        matches!(self, Access::Admin | Access::Owner)
    }

    /// Admin, owner or editor: templates, media, variables, groups' settings, campaigns.
    pub fn can_edit(self) -> bool {
        !matches!(self, Access::Viewer)
    }
}

/// Handle on one tenant's data, granted to one principal.
pub struct TenantScope {
    pub(crate) tenant: TenantId,
    pub(crate) access: Access,
    pub(crate) status: TenantStatus,
    /// The tenant record as read when the scope was granted (same transaction).
    pub(crate) record: TenantRec,
    pub(crate) actor: Option<AccountId>,
    pub(crate) catalog: Arc<Database>,
    /// The tenant's shard when the scope was granted; a move since is found through `moves`.
    pub(crate) shard: Arc<Shard>,
    pub(crate) shards: Arc<[Arc<Shard>]>,
    pub(crate) moves: Arc<crate::moves::Moves>,
}

/// Catalog rows of one tenant, inside a catalog transaction. Derefs to the transaction for
/// account operations, which are not tenant data.
pub struct TenantCatalog<T> {
    tenant: TenantId,
    inner: CatalogTx<T>,
}

impl<T> Deref for TenantCatalog<T> {
    type Target = CatalogTx<T>;
    fn deref(&self) -> &CatalogTx<T> {
        &self.inner
    }
}
impl<T> DerefMut for TenantCatalog<T> {
    fn deref_mut(&mut self) -> &mut CatalogTx<T> {
        &mut self.inner
    }
}

impl<T> TenantCatalog<T> {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }
}

impl<T: crate::tx::Reader> TenantCatalog<T> {
    pub fn tenant(&self) -> Result<TenantRec> {
        self.inner.tenant(self.tenant)?.ok_or(StoreError::NotFound)
    }
    pub fn members(&self) -> Result<Vec<(AccountId, Role)>> {
        self.inner.members(self.tenant)
    }
    pub fn member_role(&self, account: AccountId) -> Result<Option<Role>> {
        self.inner.member_role(self.tenant, account)
    }
    pub fn api_keys(&self) -> Result<Vec<(ApiKeyId, ApiKeyRec)>> {
        self.inner.api_keys(self.tenant)
    }
    pub fn invitations(&self) -> Result<Vec<(InvitationId, InvitationRec)>> {
        self.inner.invitations(self.tenant)
    }
    /// The imported auth keys (by id) this tenant's sessions own.
    pub fn session_keys(&self) -> Result<Vec<(SecretId, u64)>> {
        self.inner.session_keys(self.tenant)
    }
}

impl TenantCatalog<WriteTransaction> {
    pub fn put_tenant(&mut self, r: &TenantRec) -> Result<()> {
        self.inner.put_tenant(self.tenant, r)
    }
    pub fn set_member(&mut self, account: AccountId, role: Role) -> Result<()> {
        self.inner.set_member(self.tenant, account, role)
    }
    /// Removes a member; an account left in no tenant (and not an admin) is deleted with it,
    /// so it cannot sign in and its email can be added again as a new account. Returns
    /// whether it was a member, and whether its account was deleted.
    pub fn remove_member(&mut self, account: AccountId) -> Result<(bool, bool)> {
        if !self.inner.remove_member(self.tenant, account)? {
            return Ok((false, false));
        }
        let orphan = self.inner.memberships(account)?.is_empty()
            && self.inner.account(account)?.is_some_and(|a| !a.is_admin);
        if orphan {
            self.inner.delete_account(account)?;
        }
        Ok((true, orphan))
    }
    /// Stores a key for this tenant (the record's tenant is overwritten with the scope's).
    pub fn insert_api_key(&mut self, mut r: ApiKeyRec) -> Result<ApiKeyId> {
        r.tenant = self.tenant;
        self.inner.insert_api_key(&r)
    }
    pub fn revoke_api_key(&mut self, id: ApiKeyId, now: i64) -> Result<()> {
        self.inner.revoke_api_key(self.tenant, id, now)
    }
    /// Stores an invitation to this tenant (the record's tenant is overwritten with the
    /// scope's).
    pub fn insert_invitation(&mut self, mut r: InvitationRec) -> Result<InvitationId> {
        r.tenant = self.tenant;
        self.inner.insert_invitation(&r)
    }
    /// Withdraws one of this tenant's invitations; false when there is none by that id.
    pub fn remove_invitation(&mut self, id: InvitationId) -> Result<bool> {
        self.inner.remove_invitation(self.tenant, id)
    }
    /// Gives an imported auth key (by its id) to this tenant's `session`; answers the session
    /// that already owns it instead, in this tenant or another, and changes nothing.
    pub fn claim_session_key(
        &mut self,
        session: SecretId,
        key_id: u64,
    ) -> Result<Option<(TenantId, SecretId)>> {
        self.inner.claim_session_key(self.tenant, session, key_id)
    }
    pub fn release_session_key(&mut self, session: SecretId) -> Result<()> {
        self.inner.release_session_key(self.tenant, session)
    }
}

impl TenantScope {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }
    pub fn access(&self) -> Access {
        self.access
    }
    pub fn status(&self) -> TenantStatus {
        self.status
    }
    /// The tenant record read while granting this scope; re-read through
    /// [`TenantScope::catalog_read`] inside a use case that changes it.
    pub fn record(&self) -> &TenantRec {
        &self.record
    }
    pub fn actor(&self) -> Option<AccountId> {
        self.actor
    }
    pub fn shard_index(&self) -> u32 {
        self.moves.current(self.tenant).unwrap_or(self.shard.index)
    }

    /// The tenant's shard now (it may have moved since the scope was granted).
    fn shard_now(&self, at: Option<u32>) -> Arc<Shard> {
        at.and_then(|i| self.shards.get(i as usize).cloned())
            .unwrap_or_else(|| self.shard.clone())
    }

    /// The limits of the tenant's plan as they are now; none when it has no plan.
    pub fn plan_limits(&self) -> Result<Option<crate::records::PlanLimits>> {
        match self.record.plan {
            Some(p) => Ok(self.catalog_read()?.plan(p)?.map(|p| p.limits)),
            None => Ok(None),
        }
    }

    pub fn catalog_read(&self) -> Result<TenantCatalog<ReadTransaction>> {
        Ok(TenantCatalog {
            tenant: self.tenant,
            inner: CatalogTx {
                tx: self.catalog.begin_read()?,
            },
        })
    }

    /// Runs `f` in one catalog write transaction; commits only if it returns `Ok`.
    pub fn catalog_write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut TenantCatalog<WriteTransaction>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut c = TenantCatalog {
            tenant: self.tenant,
            inner: CatalogTx {
                tx: self.catalog.begin_write().map_err(StoreError::from)?,
            },
        };
        let r = f(&mut c)?;
        c.inner.tx.commit().map_err(StoreError::from)?;
        Ok(r)
    }

    pub fn shard_read(&self) -> Result<TenantShard<ReadTransaction>> {
        let shard = self.shard_now(self.moves.current(self.tenant));
        Ok(TenantShard {
            tenant: self.tenant,
            tx: shard.db.begin_read()?,
        })
    }

    /// Runs `f` in one shard write transaction; commits only if it returns `Ok`.
    pub fn shard_write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut TenantShard<WriteTransaction>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.shard_write_marked(true, f)
    }

    /// As [`TenantScope::shard_write`]; `mark` false for the tenant's deletion, which leaves no
    /// change behind (an export sees the tenant gone from the catalog).
    pub(crate) fn shard_write_marked<R, E: From<StoreError>>(
        &self,
        mark: bool,
        f: impl FnOnce(&mut TenantShard<WriteTransaction>) -> Result<R, E>,
    ) -> Result<R, E> {
        // Held until the commit, so a move waits for this write.
        let all = self.moves.enter_all();
        let pass = self.moves.enter(self.tenant);
        let shard = self.shard_now(pass.as_ref().map(|p| p.shard));
        let mut s = TenantShard {
            tenant: self.tenant,
            tx: shard.db.begin_write().map_err(StoreError::from)?,
        };
        let r = f(&mut s)?;
        if mark {
            crate::changes::mark(&s.tx, [(self.tenant, crate::changes::Part::Content)])?;
        }
        s.tx.commit().map_err(StoreError::from)?;
        drop((pass, all));
        Ok(r)
    }
}

/// Cross-tenant operations, only for admins.
pub struct AdminScope<'a> {
    pub(crate) store: &'a Store,
    pub(crate) actor: Option<AccountId>,
}

impl AdminScope<'_> {
    pub fn actor(&self) -> Option<AccountId> {
        self.actor
    }

    /// Creates a tenant on the least-loaded shard and returns its scope.
    pub fn create_tenant(&self, rec: &TenantRec) -> Result<TenantScope> {
        let ids = self.create_tenants(std::slice::from_ref(rec))?;
        let id = ids.first().copied().ok_or(StoreError::NotFound)?;
        self.tenant(id)
    }

    /// Creates many tenants in one transaction (imports, benchmarks), each on the shard that
    /// is least loaded at that moment.
    pub fn create_tenants(&self, recs: &[TenantRec]) -> Result<Vec<TenantId>> {
        let count = self.store.shard_count();
        self.store.catalog_write(|c| {
            let loads = c.shard_loads()?;
            let mut load: Vec<u64> = (0..count)
                .map(|i| loads.iter().find(|(s, _)| *s == i).map_or(0, |(_, n)| *n))
                .collect();
            let mut ids = Vec::with_capacity(recs.len());
            for rec in recs {
                let shard = (0..count)
                    .min_by_key(|i| (load[*i as usize], *i))
                    .unwrap_or(0);
                ids.push(c.insert_tenant(rec, shard)?);
                if let Some(n) = load.get_mut(shard as usize) {
                    *n += 1;
                }
            }
            Ok(ids)
        })
    }

    pub fn tenant(&self, id: TenantId) -> Result<TenantScope> {
        self.store.scope_for(id, Access::Admin, self.actor)
    }

    pub fn list_tenants(
        &self,
        after: Option<u64>,
        limit: usize,
        query: Option<&str>,
    ) -> Result<Page<(TenantId, TenantRec)>> {
        match query.filter(|q| !q.trim().is_empty()) {
            Some(q) => self.store.search_tenants(after, limit, q),
            None => self.store.catalog_read()?.list_tenants(after, limit, None),
        }
    }

    /// Deletes every row of the tenant: shard first, then catalog, so a failure half-way
    /// leaves a tenant that can be deleted again rather than unreachable rows.
    pub fn delete_tenant(&self, id: TenantId) -> Result<()> {
        let scope = self.tenant(id)?;
        scope.shard_write_marked(false, |s| crate::moves::purge(&s.tx, id))?;
        self.store.catalog_write(|c| c.purge_tenant(id))
    }

    /// Runs `f` in one catalog write transaction with the whole catalog in reach.
    pub fn catalog_write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut CatalogTx<WriteTransaction>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.store.catalog_write(f)
    }

    pub fn plan(&self, id: crate::ids::PlanId) -> Result<Option<crate::records::PlanRec>> {
        self.store.catalog_read()?.plan(id)
    }

    /// Tenant ids per shard index, for operators.
    pub fn placement(&self, id: TenantId) -> Result<Option<u32>> {
        self.store.catalog_read()?.placement(id)
    }
}
