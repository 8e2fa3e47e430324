//! Operations on `catalog.redb`. Methods that take a `TenantId` are crate-private: outside this
//! crate they are reached through [`crate::TenantScope`] or [`crate::AdminScope`].

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use crate::error::{Result, StoreError};
use crate::ids::{
    AccountId, AlertId, ApiKeyId, AuditId, FamilyId, InvitationId, PlanId, SecretId, TenantId,
};
use crate::record::RecBytes;
use crate::records::{
    AccountPrefsRec, AccountRec, AlertRec, ApiKeyRec, AuditRec, BrowserSessionRec, FamilyRec,
    InvitationRec, PlanRec, RefreshRec, Role, TelegramLinkRec, TenantRec, TenantStatus,
};
use crate::tables::catalog::*;
use crate::tx::Reader;

/// A catalog transaction: `CatalogTx<ReadTransaction>` reads, `CatalogTx<WriteTransaction>`
/// also writes.
pub struct CatalogTx<T> {
    pub(crate) tx: T,
}

pub(crate) fn role_to_u8(r: Role) -> u8 {
    match r {
        Role::Owner => 1,
        Role::Viewer => 2,
        Role::Editor => 3,
    }
}

/// An unknown value reads as the least role.
pub(crate) fn role_from_u8(v: u8) -> Role {
    match v {
        1 => Role::Owner,
        3 => Role::Editor,
        _ => Role::Viewer,
    }
}

pub(crate) fn enc<T: crate::record::Record>(v: &T) -> Result<RecBytes<'static, T>> {
    Ok(RecBytes::encode(v)?)
}

/// The sequence bumped by every write to a tenant's row (see `Store::search_tenants`).
const NAMES_CHANGED: &str = "tenant_rows_changed";

/// One open alert per kind, tenant and subject.
fn alert_key(r: &AlertRec) -> String {
    format!("{}|{}|{}", r.kind, r.tenant.map_or(0, |t| t.0), r.subject)
}

/// Case folding for name search that also matches Turkish dotted and dotless i:
/// "DÜKKANI", "dükkanı" and "Dükkani" all fold to "dükkani".
pub fn search_fold(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            'I' | 'İ' | 'ı' => ['i'].into_iter().chain(None),
            c => {
                let mut l = c.to_lowercase();
                let first = l.next().unwrap_or(c);
                [first].into_iter().chain(l.next())
            }
        })
        .filter(|c| *c != '\u{307}')
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn turkish_i_folds() {
        let f = super::search_fold;
        assert_eq!(f("DÜKKANI"), f("Dükkanı"));
        assert_eq!(f("İSTANBUL"), f("istanbul"));
        assert_eq!(f("Istanbul"), "istanbul");
        assert!(f("Kahve Dükkanı").contains(&f("KAHVE DÜKKANI")));
    }
}

/// A page of a listing plus the cursor for the next one.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<u64>,
}

impl<T: Reader> CatalogTx<T> {
    pub fn account(&self, id: AccountId) -> Result<Option<AccountRec>> {
        let t = self.tx.table(ACCOUNTS)?;
        let v = t.get(id)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn account_by_email(&self, email: &str) -> Result<Option<(AccountId, AccountRec)>> {
        let id = self
            .tx
            .table(ACCOUNT_EMAILS)?
            .get(email)?
            .map(|v| v.value());
        match id {
            Some(id) => Ok(self.account(id)?.map(|a| (id, a))),
            None => Ok(None),
        }
    }

    /// The Telegram user the account is linked to.
    pub fn telegram_link(&self, account: AccountId) -> Result<Option<TelegramLinkRec>> {
        let t = self.tx.table(TELEGRAM_LINKS)?;
        let v = t.get(account)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// The account linked to a Telegram user, if any.
    pub fn account_for_telegram_user(&self, user_id: i64) -> Result<Option<AccountId>> {
        Ok(self
            .tx
            .table(TELEGRAM_LINK_USERS)?
            .get(user_id)?
            .map(|v| v.value()))
    }

    pub fn has_admin(&self) -> Result<bool> {
        let t = self.tx.table(ACCOUNTS)?;
        for row in t.iter()? {
            let (_, v) = row?;
            if v.value().decode()?.is_admin {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Tenants the account belongs to, with its role in each.
    pub fn memberships(&self, account: AccountId) -> Result<Vec<(TenantId, Role)>> {
        let t = self.tx.table(ACCOUNT_TENANTS)?;
        let mut out = Vec::new();
        for row in t.range((account, TenantId::MIN)..=(account, TenantId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, role_from_u8(v.value())));
        }
        Ok(out)
    }

    pub fn refresh_token(&self, hash: &[u8; 32]) -> Result<Option<RefreshRec>> {
        let t = self.tx.table(REFRESH_TOKENS)?;
        let v = t.get(hash)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// Whether a setup link token (by its hash) exists and has not expired.
    pub fn setup_token_live(&self, hash: &[u8; 32], now: i64) -> Result<bool> {
        let t = self.tx.table(SETUP_TOKENS)?;
        let v = t.get(hash)?;
        Ok(v.is_some_and(|e| e.value() > now))
    }

    /// An account's console preferences (defaults when never set).
    pub fn account_prefs(&self, account: AccountId) -> Result<AccountPrefsRec> {
        let t = self.tx.table(ACCOUNT_PREFS)?;
        let v = t.get(account)?;
        Ok(match v {
            Some(v) => v.value().decode()?,
            None => AccountPrefsRec::default(),
        })
    }

    /// A browser session by its cookie token's hash.
    pub fn browser_session(&self, hash: &[u8; 32]) -> Result<Option<BrowserSessionRec>> {
        let t = self.tx.table(BROWSER_SESSIONS)?;
        let v = t.get(hash)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// An account's live logins, oldest first, each with its browser session if it is one.
    pub fn account_logins(
        &self,
        account: AccountId,
    ) -> Result<Vec<(FamilyId, FamilyRec, Option<BrowserSessionRec>)>> {
        let idx = self.tx.table(ACCOUNT_FAMILIES)?;
        let fams = self.tx.table(FAMILIES)?;
        let browser = self.tx.table(FAMILY_BROWSER)?;
        let sessions = self.tx.table(BROWSER_SESSIONS)?;
        let mut out = Vec::new();
        for row in idx.range((account, FamilyId::MIN)..=(account, FamilyId::MAX))? {
            let id = row?.0.value().1;
            let Some(f) = fams.get(id)? else { continue };
            let f: FamilyRec = f.value().decode()?;
            if f.revoked {
                continue;
            }
            let b = match browser.get(id)? {
                Some(h) => match sessions.get(h.value())? {
                    Some(v) => Some(v.value().decode()?),
                    None => None,
                },
                None => None,
            };
            out.push((id, f, b));
        }
        Ok(out)
    }

    pub fn family(&self, id: FamilyId) -> Result<Option<FamilyRec>> {
        let t = self.tx.table(FAMILIES)?;
        let v = t.get(id)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn api_key_by_hash(&self, hash: &[u8; 32]) -> Result<Option<(ApiKeyId, ApiKeyRec)>> {
        let id = self.tx.table(API_KEY_HASHES)?.get(hash)?.map(|v| v.value());
        let Some(id) = id else { return Ok(None) };
        let t = self.tx.table(API_KEYS)?;
        let v = t.get(id)?;
        Ok(match v {
            Some(v) => Some((id, v.value().decode()?)),
            None => None,
        })
    }

    /// The invitation a link token (by its hash) belongs to, expired or not.
    pub fn invitation_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(InvitationId, InvitationRec)>> {
        let id = self
            .tx
            .table(INVITATION_HASHES)?
            .get(hash)?
            .map(|v| v.value());
        let Some(id) = id else { return Ok(None) };
        let t = self.tx.table(INVITATIONS)?;
        let v = t.get(id)?;
        Ok(match v {
            Some(v) => Some((id, v.value().decode()?)),
            None => None,
        })
    }

    pub fn secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tx
            .table(SECRETS)?
            .get(name)?
            .map(|v| v.value().to_vec()))
    }

    pub fn plan(&self, id: PlanId) -> Result<Option<PlanRec>> {
        let t = self.tx.table(PLANS)?;
        let v = t.get(id)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn plans(&self) -> Result<Vec<(PlanId, PlanRec)>> {
        let t = self.tx.table(PLANS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }

    /// Newest first.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<(AuditId, AuditRec)>> {
        let t = self.tx.table(AUDIT)?;
        let mut out = Vec::new();
        for row in t.iter()?.rev().take(limit) {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }

    /// Alerts newest first: only the open ones, or all.
    pub fn alerts(&self, open_only: bool, limit: usize) -> Result<Vec<(AlertId, AlertRec)>> {
        let mut out = Vec::new();
        if open_only {
            let open = self.tx.table(OPEN_ALERTS)?;
            let mut ids = Vec::new();
            for row in open.iter()? {
                ids.push(row?.1.value());
            }
            ids.sort_unstable_by(|a, b| b.cmp(a));
            let t = self.tx.table(ALERTS)?;
            for id in ids.into_iter().take(limit) {
                if let Some(v) = t.get(id)? {
                    out.push((id, v.value().decode()?));
                }
            }
        } else {
            let t = self.tx.table(ALERTS)?;
            for row in t.iter()?.rev().take(limit) {
                let (k, v) = row?;
                out.push((k.value(), v.value().decode()?));
            }
        }
        Ok(out)
    }

    pub fn open_alert_count(&self) -> Result<u64> {
        Ok(self.tx.table(OPEN_ALERTS)?.len()?)
    }

    pub fn tenant_count_by_status(&self) -> Result<(u64, u64)> {
        let t = self.tx.table(TENANTS)?;
        let (mut active, mut suspended) = (0, 0);
        for row in t.iter()? {
            let (_, v) = row?;
            match v.value().decode()?.status {
                TenantStatus::Active => active += 1,
                TenantStatus::Suspended => suspended += 1,
            }
        }
        Ok((active, suspended))
    }

    pub fn tenant_total(&self) -> Result<u64> {
        Ok(self.tx.table(TENANTS)?.len()?)
    }

    /// Counts every change to the tenants' rows, so a cached name index knows it is stale.
    pub(crate) fn names_changed(&self) -> Result<u64> {
        Ok(self
            .tx
            .table(SEQUENCES)?
            .get(NAMES_CHANGED)?
            .map_or(0, |v| v.value()))
    }

    /// Every tenant's id and folded name, in id order, for the name index.
    pub(crate) fn tenant_names(&self) -> Result<Vec<(TenantId, String)>> {
        let t = self.tx.table(TENANTS)?;
        let mut out = Vec::with_capacity(t.len()? as usize);
        for row in t.iter()? {
            let (k, v) = row?;
            let rec: TenantRec = v.value().decode()?;
            out.push((k.value(), search_fold(&rec.name)));
        }
        Ok(out)
    }

    // --- tenant-keyed reads: crate-private, reached through scopes ---

    pub(crate) fn tenant(&self, id: TenantId) -> Result<Option<TenantRec>> {
        let t = self.tx.table(TENANTS)?;
        let v = t.get(id)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub(crate) fn placement(&self, id: TenantId) -> Result<Option<u32>> {
        Ok(self.tx.table(PLACEMENT)?.get(id)?.map(|v| v.value()))
    }

    pub(crate) fn shard_loads(&self) -> Result<Vec<(u32, u64)>> {
        let t = self.tx.table(SHARD_LOAD)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value(), v.value()));
        }
        Ok(out)
    }

    pub(crate) fn members(&self, tenant: TenantId) -> Result<Vec<(AccountId, Role)>> {
        let t = self.tx.table(MEMBERS)?;
        let mut out = Vec::new();
        for row in t.range((tenant, AccountId::MIN)..=(tenant, AccountId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, role_from_u8(v.value())));
        }
        Ok(out)
    }

    pub(crate) fn member_role(&self, tenant: TenantId, account: AccountId) -> Result<Option<Role>> {
        Ok(self
            .tx
            .table(MEMBERS)?
            .get((tenant, account))?
            .map(|v| role_from_u8(v.value())))
    }

    pub(crate) fn session_keys(&self, tenant: TenantId) -> Result<Vec<(SecretId, u64)>> {
        let t = self.tx.table(SESSION_KEY_OWNERS)?;
        let mut out = Vec::new();
        for row in t.range((tenant, SecretId::MIN)..=(tenant, SecretId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value()));
        }
        Ok(out)
    }

    pub(crate) fn api_keys(&self, tenant: TenantId) -> Result<Vec<(ApiKeyId, ApiKeyRec)>> {
        let idx = self.tx.table(TENANT_API_KEYS)?;
        let keys = self.tx.table(API_KEYS)?;
        let mut out = Vec::new();
        for row in idx.range((tenant, ApiKeyId::MIN)..=(tenant, ApiKeyId::MAX))? {
            let (k, _) = row?;
            let id = k.value().1;
            if let Some(v) = keys.get(id)? {
                out.push((id, v.value().decode()?));
            }
        }
        Ok(out)
    }

    pub(crate) fn invitations(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(InvitationId, InvitationRec)>> {
        let idx = self.tx.table(TENANT_INVITATIONS)?;
        let all = self.tx.table(INVITATIONS)?;
        let mut out = Vec::new();
        for row in idx.range((tenant, InvitationId::MIN)..=(tenant, InvitationId::MAX))? {
            let id = row?.0.value().1;
            if let Some(v) = all.get(id)? {
                out.push((id, v.value().decode()?));
            }
        }
        Ok(out)
    }

    /// Tenants with id greater than `after`, optionally whose name contains `query`
    /// (case-insensitive), at most `limit`.
    pub(crate) fn list_tenants(
        &self,
        after: Option<u64>,
        limit: usize,
        query: Option<&str>,
    ) -> Result<Page<(TenantId, TenantRec)>> {
        let t = self.tx.table(TENANTS)?;
        let start = TenantId(after.map_or(0, |a| a.saturating_add(1)));
        let needle = query.map(search_fold);
        let mut items = Vec::new();
        let mut next = None;
        for row in t.range(start..)? {
            let (k, v) = row?;
            let rec: TenantRec = v.value().decode()?;
            if let Some(n) = &needle
                && !search_fold(&rec.name).contains(n.as_str())
            {
                continue;
            }
            if items.len() == limit {
                next = items.last().map(|(id, _): &(TenantId, TenantRec)| id.0);
                break;
            }
            items.push((k.value(), rec));
        }
        Ok(Page { items, next })
    }
}

impl CatalogTx<WriteTransaction> {
    pub fn next_id(&mut self, sequence: &str) -> Result<u64> {
        let mut t = self.tx.open_table(SEQUENCES)?;
        let next = t.get(sequence)?.map_or(0, |v| v.value()) + 1;
        t.insert(sequence, next)?;
        Ok(next)
    }

    /// Inserts an account; the email (already normalised by the caller) must be free.
    pub fn insert_account(&mut self, rec: &AccountRec) -> Result<AccountId> {
        if self
            .tx
            .open_table(ACCOUNT_EMAILS)?
            .get(rec.email.as_str())?
            .is_some()
        {
            return Err(StoreError::Conflict("email"));
        }
        let id = AccountId(self.next_id("account")?);
        self.tx.open_table(ACCOUNTS)?.insert(id, enc(rec)?)?;
        self.tx
            .open_table(ACCOUNT_EMAILS)?
            .insert(rec.email.as_str(), id)?;
        Ok(id)
    }

    /// Links the account to a Telegram user. A user is linked to one account at most: linking
    /// it again moves it, and the account's earlier link goes.
    pub fn link_telegram(&mut self, account: AccountId, rec: &TelegramLinkRec) -> Result<()> {
        if self.tx.open_table(ACCOUNTS)?.get(account)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let previous = self
            .tx
            .open_table(TELEGRAM_LINK_USERS)?
            .insert(rec.user_id, account)?
            .map(|v| v.value());
        if let Some(other) = previous.filter(|a| *a != account) {
            self.tx.open_table(TELEGRAM_LINKS)?.remove(other)?;
        }
        let old = self
            .tx
            .open_table(TELEGRAM_LINKS)?
            .insert(account, enc(rec)?)?
            .map(|v| v.value().decode())
            .transpose()?;
        if let Some(old) = old.filter(|o| o.user_id != rec.user_id) {
            self.tx
                .open_table(TELEGRAM_LINK_USERS)?
                .remove(old.user_id)?;
        }
        Ok(())
    }

    /// Removes the account's link; false when it had none.
    pub fn unlink_telegram(&mut self, account: AccountId) -> Result<bool> {
        let old = self
            .tx
            .open_table(TELEGRAM_LINKS)?
            .remove(account)?
            .map(|v| v.value().decode())
            .transpose()?;
        match old {
            Some(old) => {
                self.tx
                    .open_table(TELEGRAM_LINK_USERS)?
                    .remove(old.user_id)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub fn update_account(&mut self, id: AccountId, rec: &AccountRec) -> Result<()> {
        let mut t = self.tx.open_table(ACCOUNTS)?;
        if t.get(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        t.insert(id, enc(rec)?)?;
        Ok(())
    }

    pub fn create_family(
        &mut self,
        account: AccountId,
        now: i64,
        expires_at: i64,
    ) -> Result<FamilyId> {
        let id = FamilyId(self.next_id("family")?);
        let f = FamilyRec {
            account,
            created_at: now,
            expires_at,
            revoked: false,
        };
        self.tx.open_table(FAMILIES)?.insert(id, enc(&f)?)?;
        self.tx
            .open_table(ACCOUNT_FAMILIES)?
            .insert((account, id), ())?;
        Ok(id)
    }

    pub fn set_account_prefs(&mut self, account: AccountId, p: &AccountPrefsRec) -> Result<()> {
        if self.tx.open_table(ACCOUNTS)?.get(account)?.is_none() {
            return Err(StoreError::NotFound);
        }
        self.tx
            .open_table(ACCOUNT_PREFS)?
            .insert(account, enc(p)?)?;
        Ok(())
    }

    /// Records a browser session for its (new) family.
    pub fn insert_browser_session(&mut self, hash: [u8; 32], r: &BrowserSessionRec) -> Result<()> {
        self.tx
            .open_table(BROWSER_SESSIONS)?
            .insert(hash, enc(r)?)?;
        self.tx.open_table(FAMILY_BROWSER)?.insert(r.family, hash)?;
        Ok(())
    }

    pub fn insert_refresh_token(&mut self, hash: [u8; 32], r: &RefreshRec) -> Result<()> {
        self.tx.open_table(REFRESH_TOKENS)?.insert(hash, enc(r)?)?;
        self.tx
            .open_table(FAMILY_TOKENS)?
            .insert((r.family, hash), ())?;
        Ok(())
    }

    pub fn mark_refresh_used(&mut self, hash: &[u8; 32]) -> Result<()> {
        let mut t = self.tx.open_table(REFRESH_TOKENS)?;
        let mut r: RefreshRec = match t.get(hash)? {
            Some(v) => v.value().decode()?,
            None => return Err(StoreError::NotFound),
        };
        r.used = true;
        t.insert(hash, enc(&r)?)?;
        Ok(())
    }

    /// Revokes a family: the family stays (marked) so access tokens naming it fail; its
    /// refresh tokens are deleted.
    pub fn revoke_family(&mut self, id: FamilyId) -> Result<()> {
        let mut fams = self.tx.open_table(FAMILIES)?;
        let f: Option<FamilyRec> = match fams.get(id)? {
            Some(v) => Some(v.value().decode()?),
            None => None,
        };
        if let Some(mut f) = f {
            f.revoked = true;
            fams.insert(id, enc(&f)?)?;
        }
        let mut idx = self.tx.open_table(FAMILY_TOKENS)?;
        let mut toks = self.tx.open_table(REFRESH_TOKENS)?;
        let hashes: Vec<[u8; 32]> = idx
            .range((id, [0u8; 32])..=(id, [0xffu8; 32]))?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for h in hashes {
            toks.remove(h)?;
            idx.remove((id, h))?;
        }
        if let Some(h) = self.tx.open_table(FAMILY_BROWSER)?.remove(id)? {
            self.tx.open_table(BROWSER_SESSIONS)?.remove(h.value())?;
        }
        Ok(())
    }

    pub fn revoke_account_families(&mut self, account: AccountId) -> Result<usize> {
        let fams: Vec<FamilyId> = self
            .tx
            .open_table(ACCOUNT_FAMILIES)?
            .range((account, FamilyId::MIN)..=(account, FamilyId::MAX))?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for f in &fams {
            self.revoke_family(*f)?;
        }
        Ok(fams.len())
    }

    /// Drops families (and their tokens) that expired before `now`.
    pub fn prune_families(&mut self, now: i64) -> Result<usize> {
        let expired: Vec<(FamilyId, AccountId)> = {
            let t = self.tx.open_table(FAMILIES)?;
            let mut out = Vec::new();
            for row in t.iter()? {
                let (k, v) = row?;
                let f: FamilyRec = v.value().decode()?;
                if f.expires_at < now {
                    out.push((k.value(), f.account));
                }
            }
            out
        };
        for (id, account) in &expired {
            self.revoke_family(*id)?;
            self.tx.open_table(FAMILIES)?.remove(*id)?;
            self.tx
                .open_table(ACCOUNT_FAMILIES)?
                .remove((*account, *id))?;
        }
        Ok(expired.len())
    }

    pub fn touch_api_key(&mut self, id: ApiKeyId, now: i64) -> Result<()> {
        let mut t = self.tx.open_table(API_KEYS)?;
        let mut r: ApiKeyRec = match t.get(id)? {
            Some(v) => v.value().decode()?,
            None => return Ok(()),
        };
        r.last_used_at = Some(now);
        t.insert(id, enc(&r)?)?;
        Ok(())
    }

    pub fn put_secret(&mut self, name: &str, sealed: &[u8]) -> Result<()> {
        self.tx.open_table(SECRETS)?.insert(name, sealed)?;
        Ok(())
    }

    pub fn delete_secret(&mut self, name: &str) -> Result<()> {
        self.tx.open_table(SECRETS)?.remove(name)?;
        Ok(())
    }

    pub fn secret_names(&mut self) -> Result<Vec<String>> {
        let t = self.tx.open_table(SECRETS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(row?.0.value().to_string());
        }
        Ok(out)
    }

    pub fn insert_setup_token(&mut self, hash: [u8; 32], expires_at: i64) -> Result<()> {
        self.tx.open_table(SETUP_TOKENS)?.insert(hash, expires_at)?;
        Ok(())
    }

    /// Consumes a setup token: true when it existed and had not expired. Either way it is gone.
    pub fn take_setup_token(&mut self, hash: &[u8; 32], now: i64) -> Result<bool> {
        let mut t = self.tx.open_table(SETUP_TOKENS)?;
        let exp = t.remove(hash)?.map(|v| v.value());
        Ok(exp.is_some_and(|e| e > now))
    }

    pub fn clear_setup_tokens(&mut self) -> Result<()> {
        self.tx.open_table(SETUP_TOKENS)?.retain(|_, _| false)?;
        Ok(())
    }

    pub fn audit(&mut self, r: &AuditRec) -> Result<AuditId> {
        let id = AuditId(self.next_id("audit")?);
        self.tx.open_table(AUDIT)?.insert(id, enc(r)?)?;
        Ok(id)
    }

    /// Raises an alert unless the same kind, tenant and subject is already open (`None`).
    pub fn raise_alert(&mut self, r: &AlertRec) -> Result<Option<AlertId>> {
        let key = alert_key(r);
        if self
            .tx
            .open_table(OPEN_ALERTS)?
            .get(key.as_str())?
            .is_some()
        {
            return Ok(None);
        }
        let id = AlertId(self.next_id("alert")?);
        self.tx.open_table(ALERTS)?.insert(id, enc(r)?)?;
        self.tx.open_table(OPEN_ALERTS)?.insert(key.as_str(), id)?;
        Ok(Some(id))
    }

    /// Acknowledges an open alert; `false` when there is none by that id or it already was.
    pub fn ack_alert(&mut self, id: AlertId, by: AccountId, now: i64) -> Result<bool> {
        let mut t = self.tx.open_table(ALERTS)?;
        let Some(mut r) = t.get(id)?.map(|v| v.value().decode()).transpose()? else {
            return Ok(false);
        };
        if r.acked_at.is_some() {
            return Ok(false);
        }
        r.acked_at = Some(now);
        r.acked_by = Some(by);
        t.insert(id, enc(&r)?)?;
        drop(t);
        self.tx
            .open_table(OPEN_ALERTS)?
            .remove(alert_key(&r).as_str())?;
        Ok(true)
    }

    pub fn insert_plan(&mut self, p: &PlanRec) -> Result<PlanId> {
        let id = PlanId(self.next_id("plan")?);
        self.tx.open_table(PLANS)?.insert(id, enc(p)?)?;
        Ok(id)
    }

    pub fn update_plan(&mut self, id: PlanId, p: &PlanRec) -> Result<()> {
        let mut t = self.tx.open_table(PLANS)?;
        if t.get(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        t.insert(id, enc(p)?)?;
        Ok(())
    }

    /// Deletes a plan no tenant uses.
    pub fn delete_plan(&mut self, id: PlanId) -> Result<()> {
        let in_use = {
            let t = self.tx.open_table(TENANTS)?;
            let mut used = false;
            for row in t.iter()? {
                let (_, v) = row?;
                if v.value().decode()?.plan == Some(id) {
                    used = true;
                    break;
                }
            }
            used
        };
        if in_use {
            return Err(StoreError::Conflict("plan in use"));
        }
        if self.tx.open_table(PLANS)?.remove(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    // --- tenant-keyed writes ---

    pub(crate) fn insert_tenant(&mut self, r: &TenantRec, shard: u32) -> Result<TenantId> {
        let id = TenantId(self.next_id("tenant")?);
        self.next_id(NAMES_CHANGED)?;
        self.tx.open_table(TENANTS)?.insert(id, enc(r)?)?;
        self.tx.open_table(PLACEMENT)?.insert(id, shard)?;
        let mut load = self.tx.open_table(SHARD_LOAD)?;
        let n = load.get(shard)?.map_or(0, |v| v.value());
        load.insert(shard, n + 1)?;
        Ok(id)
    }

    /// Moves a tenant's placement from one shard to another, with the shards' loads.
    pub(crate) fn place_tenant(&mut self, id: TenantId, from: u32, to: u32) -> Result<()> {
        let mut placement = self.tx.open_table(PLACEMENT)?;
        if placement.get(id)?.map(|v| v.value()) != Some(from) {
            return Err(StoreError::Conflict("the tenant's placement changed"));
        }
        placement.insert(id, to)?;
        let mut load = self.tx.open_table(SHARD_LOAD)?;
        let n = load.get(from)?.map_or(0, |v| v.value());
        load.insert(from, n.saturating_sub(1))?;
        let n = load.get(to)?.map_or(0, |v| v.value());
        load.insert(to, n + 1)?;
        Ok(())
    }

    pub(crate) fn put_tenant(&mut self, id: TenantId, r: &TenantRec) -> Result<()> {
        let mut t = self.tx.open_table(TENANTS)?;
        if t.get(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        t.insert(id, enc(r)?)?;
        drop(t);
        self.next_id(NAMES_CHANGED)?;
        Ok(())
    }

    pub(crate) fn set_member(
        &mut self,
        tenant: TenantId,
        account: AccountId,
        role: Role,
    ) -> Result<()> {
        let r = role_to_u8(role);
        self.tx.open_table(MEMBERS)?.insert((tenant, account), r)?;
        self.tx
            .open_table(ACCOUNT_TENANTS)?
            .insert((account, tenant), r)?;
        Ok(())
    }

    pub(crate) fn remove_member(&mut self, tenant: TenantId, account: AccountId) -> Result<bool> {
        let had = self
            .tx
            .open_table(MEMBERS)?
            .remove((tenant, account))?
            .is_some();
        self.tx
            .open_table(ACCOUNT_TENANTS)?
            .remove((account, tenant))?;
        Ok(had)
    }

    /// Gives `key_id` to the tenant's `session`, unless another session owns it: then that
    /// owner is returned and nothing changes.
    pub(crate) fn claim_session_key(
        &mut self,
        tenant: TenantId,
        session: SecretId,
        key_id: u64,
    ) -> Result<Option<(TenantId, SecretId)>> {
        let mut keys = self.tx.open_table(SESSION_KEYS)?;
        if let Some(owner) = keys.get(key_id)? {
            let owner = owner.value();
            if owner != (tenant, session) {
                return Ok(Some(owner));
            }
        }
        keys.insert(key_id, (tenant, session))?;
        self.tx
            .open_table(SESSION_KEY_OWNERS)?
            .insert((tenant, session), key_id)?;
        Ok(None)
    }

    /// Frees the key a session owned, if any.
    pub(crate) fn release_session_key(
        &mut self,
        tenant: TenantId,
        session: SecretId,
    ) -> Result<()> {
        let key_id = self
            .tx
            .open_table(SESSION_KEY_OWNERS)?
            .remove((tenant, session))?
            .map(|v| v.value());
        if let Some(k) = key_id {
            self.tx.open_table(SESSION_KEYS)?.remove(k)?;
        }
        Ok(())
    }

    pub(crate) fn insert_invitation(&mut self, r: &InvitationRec) -> Result<InvitationId> {
        let id = InvitationId(self.next_id("invitation")?);
        self.tx.open_table(INVITATIONS)?.insert(id, enc(r)?)?;
        self.tx.open_table(INVITATION_HASHES)?.insert(r.hash, id)?;
        self.tx
            .open_table(TENANT_INVITATIONS)?
            .insert((r.tenant, id), ())?;
        Ok(id)
    }

    /// Deletes a tenant's invitation; false when it has none by that id.
    pub(crate) fn remove_invitation(&mut self, tenant: TenantId, id: InvitationId) -> Result<bool> {
        if self
            .tx
            .open_table(TENANT_INVITATIONS)?
            .remove((tenant, id))?
            .is_none()
        {
            return Ok(false);
        }
        let hash = {
            let mut t = self.tx.open_table(INVITATIONS)?;
            let rec = t.remove(id)?;
            match rec {
                Some(v) => {
                    let r: InvitationRec = v.value().decode()?;
                    Some(r.hash)
                }
                None => None,
            }
        };
        if let Some(h) = hash {
            self.tx.open_table(INVITATION_HASHES)?.remove(h)?;
        }
        Ok(true)
    }

    /// Redeems an invitation for `account`: the account becomes a member with the invited
    /// role and the invitation is gone. The one way into a tenant without a principal of it.
    pub fn redeem_invitation(
        &mut self,
        id: InvitationId,
        account: AccountId,
    ) -> Result<(TenantId, Role)> {
        let rec: InvitationRec = match self.tx.open_table(INVITATIONS)?.get(id)? {
            Some(v) => v.value().decode()?,
            None => return Err(StoreError::NotFound),
        };
        self.remove_invitation(rec.tenant, id)?;
        self.set_member(rec.tenant, account, rec.role)?;
        Ok((rec.tenant, rec.role))
    }

    pub(crate) fn insert_api_key(&mut self, r: &ApiKeyRec) -> Result<ApiKeyId> {
        let id = ApiKeyId(self.next_id("api_key")?);
        self.tx.open_table(API_KEYS)?.insert(id, enc(r)?)?;
        self.tx.open_table(API_KEY_HASHES)?.insert(r.hash, id)?;
        self.tx
            .open_table(TENANT_API_KEYS)?
            .insert((r.tenant, id), ())?;
        Ok(id)
    }

    pub(crate) fn revoke_api_key(
        &mut self,
        tenant: TenantId,
        id: ApiKeyId,
        now: i64,
    ) -> Result<()> {
        let mut t = self.tx.open_table(API_KEYS)?;
        let mut r: ApiKeyRec = match t.get(id)? {
            Some(v) => v.value().decode()?,
            None => return Err(StoreError::NotFound),
        };
        if r.tenant != tenant {
            return Err(StoreError::NotFound);
        }
        r.revoked_at.get_or_insert(now);
        t.insert(id, enc(&r)?)?;
        self.tx.open_table(API_KEY_HASHES)?.remove(r.hash)?;
        Ok(())
    }

    /// Removes every catalog row of a tenant. Accounts whose only tenant this was (and that are
    /// not admins) go too, with their token families: their email is the tenant's data.
    pub(crate) fn purge_tenant(&mut self, tenant: TenantId) -> Result<()> {
        self.remove_subscription(tenant)?;
        self.tx.open_table(BILLING_PROFILES)?.remove(tenant)?;
        self.purge_tenant_extras(tenant)?;
        let shard = self.placement(tenant)?;
        self.tx.open_table(TENANTS)?.remove(tenant)?;
        self.next_id(NAMES_CHANGED)?;
        self.tx.open_table(PLACEMENT)?.remove(tenant)?;
        if let Some(s) = shard {
            let mut load = self.tx.open_table(SHARD_LOAD)?;
            let n = load.get(s)?.map_or(0, |v| v.value());
            load.insert(s, n.saturating_sub(1))?;
        }
        for (account, _) in self.members(tenant)? {
            self.remove_member(tenant, account)?;
            let orphan = self.memberships(account)?.is_empty()
                && self.account(account)?.is_some_and(|a| !a.is_admin);
            if orphan {
                self.delete_account(account)?;
            }
        }
        for (id, k) in self.api_keys(tenant)? {
            self.tx.open_table(API_KEYS)?.remove(id)?;
            self.tx.open_table(API_KEY_HASHES)?.remove(k.hash)?;
            self.tx.open_table(TENANT_API_KEYS)?.remove((tenant, id))?;
        }
        for (id, _) in self.invitations(tenant)? {
            self.remove_invitation(tenant, id)?;
        }
        let owned: Vec<(SecretId, u64)> = self
            .tx
            .open_table(SESSION_KEY_OWNERS)?
            .range((tenant, SecretId(0))..=(tenant, SecretId(u64::MAX)))?
            .map(|e| e.map(|(k, v)| (k.value().1, v.value())))
            .collect::<std::result::Result<_, _>>()?;
        for (session, _) in owned {
            self.release_session_key(tenant, session)?;
        }
        self.tx
            .open_table(AUDIT)?
            .retain(|_, v| v.decode().map_or(true, |a| a.tenant != Some(tenant)))?;
        Ok(())
    }

    pub(crate) fn delete_account(&mut self, account: AccountId) -> Result<()> {
        self.revoke_account_families(account)?;
        self.unlink_telegram(account)?;
        let fams: Vec<FamilyId> = self
            .tx
            .open_table(ACCOUNT_FAMILIES)?
            .range((account, FamilyId::MIN)..=(account, FamilyId::MAX))?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for f in fams {
            self.tx.open_table(FAMILIES)?.remove(f)?;
            self.tx.open_table(ACCOUNT_FAMILIES)?.remove((account, f))?;
        }
        self.tx.open_table(ACCOUNT_PREFS)?.remove(account)?;
        if let Some(a) = self.tx.open_table(ACCOUNTS)?.remove(account)? {
            let a: AccountRec = a.value().decode()?;
            self.tx
                .open_table(ACCOUNT_EMAILS)?
                .remove(a.email.as_str())?;
        }
        Ok(())
    }
}
