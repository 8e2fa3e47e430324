//! What notices need besides the outbox: each account's preferences, how far alerts have
//! been turned into mail, the hourly digests, the devices an account signed in from, and
//! the one-time links sent by mail (password reset, email change).

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use crate::catalog::CatalogTx;
use crate::error::Result;
use crate::ids::{AccountId, AlertId, MailingId, OutboxId, TenantId};
use crate::records::{
    AccountRec, AccountTokenRec, AlertRec, DigestItemRec, MailStateRec, MailingRec, NoticePrefsRec,
    Role,
};
use crate::tables::catalog::*;
use crate::tx::Reader;

/// Someone a notice may go to, with what decides whether and how.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub account: AccountId,
    pub email: String,
    /// Their role in the tenant the notice is about (`None` for an admin).
    pub role: Option<Role>,
    /// `en`, `tr`, or empty when never chosen.
    pub language: String,
    pub prefs: NoticePrefsRec,
}

impl<T: Reader> CatalogTx<T> {
    fn recipient(&self, account: AccountId, role: Option<Role>) -> Result<Option<Recipient>> {
        let Some(a) = self.account(account)? else {
            return Ok(None);
        };
        Ok(Some(Recipient {
            account,
            email: a.email,
            role,
            language: self.account_prefs(account)?.language,
            prefs: self.notice_prefs(account)?,
        }))
    }

    /// A tenant's members as recipients: only through a scope of that tenant (or billing).
    pub(crate) fn recipients_of(&self, tenant: TenantId) -> Result<Vec<Recipient>> {
        let mut out = Vec::new();
        for (account, role) in self.members(tenant)? {
            out.extend(self.recipient(account, Some(role))?);
        }
        Ok(out)
    }

    /// The admins as recipients.
    pub fn admin_recipients(&self) -> Result<Vec<Recipient>> {
        let mut out = Vec::new();
        for (account, _) in self.admins()? {
            out.extend(self.recipient(account, None)?);
        }
        Ok(out)
    }

    /// One account as a recipient.
    pub fn account_recipient(&self, account: AccountId) -> Result<Option<Recipient>> {
        self.recipient(account, None)
    }

    /// An account's notice preferences (defaults when never set).
    pub fn notice_prefs(&self, account: AccountId) -> Result<NoticePrefsRec> {
        Ok(match self.tx.table(NOTICE_PREFS)?.get(account)? {
            Some(v) => v.value().decode()?,
            None => NoticePrefsRec::default(),
        })
    }

    /// The admin accounts.
    pub fn admins(&self) -> Result<Vec<(AccountId, AccountRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(ACCOUNTS)?.iter()? {
            let (k, v) = row?;
            let a: AccountRec = v.value().decode()?;
            if a.is_admin {
                out.push((k.value(), a));
            }
        }
        Ok(out)
    }

    /// Alerts raised after `after`, oldest first, at most `limit`.
    pub fn alerts_after(&self, after: AlertId, limit: usize) -> Result<Vec<(AlertId, AlertRec)>> {
        let mut out = Vec::new();
        let t = self.tx.table(ALERTS)?;
        for row in t.range(AlertId(after.0.saturating_add(1))..)?.take(limit) {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }

    /// How far the named source has been turned into mail.
    pub fn notice_cursor(&self, name: &str) -> Result<u64> {
        Ok(self
            .tx
            .table(NOTICE_CURSORS)?
            .get(name)?
            .map_or(0, |v| v.value()))
    }

    /// Each account with held digest items and when its oldest came.
    pub fn digest_heads(&self) -> Result<Vec<(AccountId, i64)>> {
        let mut out: Vec<(AccountId, i64)> = Vec::new();
        for row in self.tx.table(DIGEST)?.iter()? {
            let (k, v) = row?;
            let account = k.value().0;
            if out.last().is_none_or(|(a, _)| *a != account) {
                let item: DigestItemRec = v.value().decode()?;
                out.push((account, item.at));
            }
        }
        Ok(out)
    }

    /// Items held for digests, all accounts.
    pub fn digest_len(&self) -> Result<u64> {
        Ok(self.tx.table(DIGEST)?.len()?)
    }

    /// A mailed link by its token's hash.
    pub fn account_token(&self, hash: &[u8; 32]) -> Result<Option<AccountTokenRec>> {
        Ok(self
            .tx
            .table(ACCOUNT_TOKENS)?
            .get(hash)?
            .map(|v| v.value().decode())
            .transpose()?)
    }
}

impl CatalogTx<WriteTransaction> {
    pub fn set_notice_prefs(&mut self, account: AccountId, r: &NoticePrefsRec) -> Result<()> {
        self.tx
            .open_table(NOTICE_PREFS)?
            .insert(account, crate::catalog::enc(r)?)?;
        Ok(())
    }

    pub fn set_notice_cursor(&mut self, name: &str, at: u64) -> Result<()> {
        self.tx.open_table(NOTICE_CURSORS)?.insert(name, at)?;
        Ok(())
    }

    /// Holds a notice for the account's next digest.
    pub fn hold_for_digest(&mut self, account: AccountId, r: &DigestItemRec) -> Result<()> {
        let seq = self.next_id("digest")?;
        self.tx
            .open_table(DIGEST)?
            .insert((account, seq), crate::catalog::enc(r)?)?;
        Ok(())
    }

    /// Takes every item held for the account, oldest first.
    pub fn take_digest(&mut self, account: AccountId) -> Result<Vec<DigestItemRec>> {
        let mut t = self.tx.open_table(DIGEST)?;
        let mut out = Vec::new();
        for row in t.extract_from_if((account, 0)..=(account, u64::MAX), |_, _| true)? {
            out.push(row?.1.value().decode()?);
        }
        Ok(out)
    }

    /// Records a sign-in from `device`; `true` when the account had not used it before.
    pub fn remember_device(
        &mut self,
        account: AccountId,
        device: [u8; 16],
        now: i64,
    ) -> Result<bool> {
        let mut t = self.tx.open_table(KNOWN_DEVICES)?;
        let seen_before = t.insert((account, device), now)?.is_some();
        Ok(!seen_before)
    }

    /// Whether the account ever signed in from anywhere (its first sign-in is no news).
    pub fn has_known_device(&self, account: AccountId) -> Result<bool> {
        let t = self.tx.open_table(KNOWN_DEVICES)?;
        let mut r = t.range((account, [0u8; 16])..=(account, [0xff; 16]))?;
        Ok(r.next().is_some())
    }

    pub fn insert_account_token(&mut self, hash: &[u8; 32], r: &AccountTokenRec) -> Result<()> {
        self.tx
            .open_table(ACCOUNT_TOKENS)?
            .insert(hash, crate::catalog::enc(r)?)?;
        Ok(())
    }

    /// Takes a mailed link's token: it works once.
    pub fn take_account_token(&mut self, hash: &[u8; 32]) -> Result<Option<AccountTokenRec>> {
        Ok(self
            .tx
            .open_table(ACCOUNT_TOKENS)?
            .remove(hash)?
            .map(|v| v.value().decode())
            .transpose()?)
    }

    /// Forgets an account's mailed links of one kind (a new one replaces them) and every
    /// expired link.
    pub fn prune_account_tokens(
        &mut self,
        account: AccountId,
        same: impl Fn(&AccountTokenRec) -> bool,
        now: i64,
    ) -> Result<()> {
        let mut t = self.tx.open_table(ACCOUNT_TOKENS)?;
        for row in t.extract_if(|_, v| {
            v.decode().is_ok_and(|r: AccountTokenRec| {
                r.expires_at <= now || (r.account == account && same(&r))
            })
        })? {
            row?;
        }
        Ok(())
    }

    /// Queues a sent or failed mail again, now (an admin's resend). `false` when it is
    /// queued already.
    pub fn requeue_mail(&mut self, id: OutboxId, now: i64) -> Result<bool> {
        let Some(mut r) = self.mail(id)? else {
            return Err(crate::error::StoreError::NotFound);
        };
        if r.state == MailStateRec::Queued {
            return Ok(false);
        }
        r.state = MailStateRec::Queued;
        r.next_at = now;
        // The retry window starts again.
        r.created_at = now;
        r.last_error = None;
        self.tx.open_table(OUTBOX_DUE)?.insert((now, id), ())?;
        self.tx
            .open_table(OUTBOX)?
            .insert(id, crate::catalog::enc(&r)?)?;
        Ok(true)
    }
}

impl<T: Reader> crate::scope::TenantCatalog<T> {
    /// This tenant's members as recipients of its notices.
    pub fn recipients(&self) -> Result<Vec<Recipient>> {
        self.recipients_of(self.tenant_id())
    }
}

impl crate::catalog_billing::BillingTx<'_> {
    /// A tenant's members as recipients of its billing notices.
    pub fn recipients(&mut self, tenant: TenantId) -> Result<Vec<Recipient>> {
        self.catalog().recipients_of(tenant)
    }
}

impl CatalogTx<WriteTransaction> {
    /// Gives an account a new (lower-cased) email address; `false` when another account has it.
    pub fn change_account_email(&mut self, id: AccountId, new_email: &str) -> Result<bool> {
        let Some(mut rec) = self.account(id)? else {
            return Err(crate::error::StoreError::NotFound);
        };
        let mut emails = self.tx.open_table(ACCOUNT_EMAILS)?;
        if let Some(owner) = emails.get(new_email)?.map(|v| v.value())
            && owner != id
        {
            return Ok(false);
        }
        emails.remove(rec.email.as_str())?;
        emails.insert(new_email, id)?;
        drop(emails);
        rec.email = new_email.to_string();
        self.update_account(id, &rec)?;
        Ok(true)
    }
}

impl crate::catalog_billing::BillingTx<'_> {
    /// Whether the once-only notice `key` went already.
    pub fn notice_sent(&mut self, key: &str) -> Result<bool> {
        Ok(self.catalog().notice_cursor(key)? > 0)
    }

    /// Marks the once-only notice `key` as sent.
    pub fn mark_notice_sent(&mut self, key: &str) -> Result<()> {
        self.catalog().set_notice_cursor(key, 1)
    }
}

impl<T: Reader> CatalogTx<T> {
    pub fn mailing(&self, id: MailingId) -> Result<Option<MailingRec>> {
        Ok(self
            .tx
            .table(MAILINGS)?
            .get(id)?
            .map(|v| v.value().decode())
            .transpose()?)
    }

    /// The newest marketing mails first, at most `limit`.
    pub fn mailings(&self, limit: usize) -> Result<Vec<(MailingId, MailingRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(MAILINGS)?.iter()?.rev().take(limit) {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }

    /// `[queued, sent, failed]` among the outbox rows `first..=last`.
    pub fn mail_states(&self, first: OutboxId, last: OutboxId) -> Result<[u32; 3]> {
        let mut n = [0u32; 3];
        for row in self.tx.table(OUTBOX)?.range(first..=last)? {
            let r: crate::records::MailRec = row?.1.value().decode()?;
            let i = match r.state {
                MailStateRec::Queued => 0,
                MailStateRec::Sent { .. } => 1,
                MailStateRec::Failed { .. } => 2,
            };
            n[i] += 1;
        }
        Ok(n)
    }
}

impl CatalogTx<WriteTransaction> {
    pub fn insert_mailing(&mut self, r: &MailingRec) -> Result<MailingId> {
        let id = MailingId(self.next_id("mailing")?);
        self.put_mailing(id, r)?;
        Ok(id)
    }

    pub fn put_mailing(&mut self, id: MailingId, r: &MailingRec) -> Result<()> {
        self.tx
            .open_table(MAILINGS)?
            .insert(id, crate::catalog::enc(r)?)?;
        Ok(())
    }
}
