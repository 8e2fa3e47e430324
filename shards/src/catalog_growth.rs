//! How tenants arrive by themselves: beta invite codes, each self sign-up with what brought
//! it, and each tenant's referral code. A tenant's own rows are reached through
//! [`TenantCatalog`].

use redb::{ReadableTable, WriteTransaction};

use crate::catalog::{CatalogTx, enc};
use crate::error::Result;
use crate::ids::TenantId;
use crate::records::{InviteCodeRec, SignupRec};
use crate::scope::TenantCatalog;
use crate::tables::catalog::*;
use crate::tx::Reader;

impl<T: Reader> CatalogTx<T> {
    /// Every invite code, in the order of their text.
    pub fn invite_codes(&self) -> Result<Vec<(String, InviteCodeRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(INVITE_CODES)?.iter()? {
            let (k, v) = row?;
            out.push((k.value().to_string(), v.value().decode()?));
        }
        Ok(out)
    }

    pub fn invite_code(&self, code: &str) -> Result<Option<InviteCodeRec>> {
        Ok(self
            .tx
            .table(INVITE_CODES)?
            .get(code)?
            .map(|v| v.value().decode())
            .transpose()?)
    }

    /// The tenant a referral code belongs to.
    pub fn referral_tenant(&self, code: &str) -> Result<Option<TenantId>> {
        Ok(self.tx.table(REFERRAL_CODES)?.get(code)?.map(|v| v.value()))
    }

    /// The latest self sign-ups, newest first, at most `limit`.
    pub fn signups(&self, limit: usize) -> Result<Vec<(TenantId, SignupRec)>> {
        let mut all = Vec::new();
        for row in self.tx.table(SIGNUPS)?.iter()? {
            let (k, v) = row?;
            let s: SignupRec = v.value().decode()?;
            all.push((k.value(), s));
        }
        all.sort_by_key(|(t, s)| std::cmp::Reverse((s.at, *t)));
        all.truncate(limit);
        Ok(all)
    }

    pub(crate) fn signup_of(&self, tenant: TenantId) -> Result<Option<SignupRec>> {
        Ok(self
            .tx
            .table(SIGNUPS)?
            .get(tenant)?
            .map(|v| v.value().decode())
            .transpose()?)
    }

    pub(crate) fn referral_code_of(&self, tenant: TenantId) -> Result<Option<String>> {
        Ok(self
            .tx
            .table(TENANT_REFERRAL)?
            .get(tenant)?
            .map(|v| v.value().to_string()))
    }

    /// Referrals whose reward is owed, `(referee, referrer)`: the referee has paid and its
    /// referrer has not been rewarded for it yet; at most `limit`.
    pub fn referrals_owed(&self, limit: usize) -> Result<Vec<(TenantId, TenantId)>> {
        let mut out = Vec::new();
        for row in self.tx.table(SIGNUPS)?.iter()? {
            let (k, v) = row?;
            let s: SignupRec = v.value().decode()?;
            let referee = k.value();
            if let (Some(referrer), None) = (s.referrer, s.rewarded_at)
                && !self.payments(referee)?.is_empty()
            {
                out.push((referee, referrer));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The tenants `tenant`'s referral link brought, with their sign-ups.
    pub(crate) fn referred_by(&self, tenant: TenantId) -> Result<Vec<(TenantId, SignupRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(SIGNUPS)?.iter()? {
            let (k, v) = row?;
            let s: SignupRec = v.value().decode()?;
            if s.referrer == Some(tenant) {
                out.push((k.value(), s));
            }
        }
        Ok(out)
    }
}

impl CatalogTx<WriteTransaction> {
    /// Stores an invite code; false, changing nothing, when the code exists already.
    pub fn insert_invite_code(&mut self, code: &str, r: &InviteCodeRec) -> Result<bool> {
        let mut t = self.tx.open_table(INVITE_CODES)?;
        if t.get(code)?.is_some() {
            return Ok(false);
        }
        t.insert(code, enc(r)?)?;
        Ok(true)
    }

    pub fn put_invite_code(&mut self, code: &str, r: &InviteCodeRec) -> Result<()> {
        self.tx.open_table(INVITE_CODES)?.insert(code, enc(r)?)?;
        Ok(())
    }

    pub(crate) fn put_signup(&mut self, tenant: TenantId, r: &SignupRec) -> Result<()> {
        self.tx.open_table(SIGNUPS)?.insert(tenant, enc(r)?)?;
        Ok(())
    }

    /// Gives `tenant` its referral code; false, changing nothing, when another tenant has it.
    pub(crate) fn set_referral_code(&mut self, tenant: TenantId, code: &str) -> Result<bool> {
        let mut codes = self.tx.open_table(REFERRAL_CODES)?;
        if codes.get(code)?.is_some() {
            return Ok(false);
        }
        codes.insert(code, tenant)?;
        self.tx.open_table(TENANT_REFERRAL)?.insert(tenant, code)?;
        Ok(true)
    }

    /// Forgets a deleted tenant's sign-up and referral code (the sign-ups it referred keep
    /// their record, pointing at a tenant that is gone).
    pub(crate) fn purge_growth(&mut self, tenant: TenantId) -> Result<()> {
        self.tx.open_table(SIGNUPS)?.remove(tenant)?;
        let code = self
            .tx
            .open_table(TENANT_REFERRAL)?
            .remove(tenant)?
            .map(|v| v.value().to_string());
        if let Some(code) = code {
            self.tx.open_table(REFERRAL_CODES)?.remove(code.as_str())?;
        }
        Ok(())
    }
}

impl<T: Reader> TenantCatalog<T> {
    /// How this tenant signed up, when it did so by itself.
    pub fn signup(&self) -> Result<Option<SignupRec>> {
        (**self).signup_of(self.tenant_id())
    }
    pub fn referral_code(&self) -> Result<Option<String>> {
        (**self).referral_code_of(self.tenant_id())
    }
    /// The tenants this tenant's referral link brought.
    pub fn referrals(&self) -> Result<Vec<(TenantId, SignupRec)>> {
        (**self).referred_by(self.tenant_id())
    }
}

impl TenantCatalog<WriteTransaction> {
    pub fn put_signup(&mut self, r: &SignupRec) -> Result<()> {
        let t = self.tenant_id();
        (**self).put_signup(t, r)
    }
    pub fn set_referral_code(&mut self, code: &str) -> Result<bool> {
        let t = self.tenant_id();
        (**self).set_referral_code(t, code)
    }

    /// Takes the reward this tenant is owed for bringing `referee` (marked given, `days`
    /// long): false, changing nothing, when it is not owed to this tenant.
    pub fn claim_referral(&mut self, referee: TenantId, days: u32, now: i64) -> Result<bool> {
        let Some(mut s) = (**self).signup_of(referee)? else {
            return Ok(false);
        };
        if s.referrer != Some(self.tenant_id()) || s.rewarded_at.is_some() {
            return Ok(false);
        }
        s.rewarded_at = Some(now);
        s.reward_days = days;
        (**self).put_signup(referee, &s)?;
        Ok(true)
    }
}
