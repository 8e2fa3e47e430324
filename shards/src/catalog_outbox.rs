//! The outbox: mails written in the transaction of what causes them (so a notice is never
//! lost to a crash after its cause was stored) and sent afterwards by the server's sender,
//! which takes them by their next attempt from an index and marks each sent, retried or failed.
//! A mail's `Message-ID` is fixed when it is written.

use redb::{ReadableTable, WriteTransaction};

use crate::catalog::CatalogTx;
use crate::error::{Result, StoreError};
use crate::ids::OutboxId;
use crate::records::{MailRec, MailStateRec};
use crate::scope::TenantCatalog;
use crate::tables::catalog::*;
use crate::tx::Reader;

impl<T: Reader> CatalogTx<T> {
    pub fn mail(&self, id: OutboxId) -> Result<Option<MailRec>> {
        self.tx
            .table(OUTBOX)?
            .get(id)?
            .map(|v| v.value().decode())
            .transpose()
            .map_err(Into::into)
    }

    /// Queued mails whose next attempt is at or before `now`, earliest first, at most `limit`.
    pub fn mails_due(&self, now: i64, limit: usize) -> Result<Vec<(OutboxId, MailRec)>> {
        let due = self.tx.table(OUTBOX_DUE)?;
        let mails = self.tx.table(OUTBOX)?;
        let mut out = Vec::new();
        for row in due.range((i64::MIN, OutboxId::MIN)..=(now, OutboxId::MAX))? {
            let (_, id) = row?.0.value();
            if let Some(v) = mails.get(id)? {
                out.push((id, v.value().decode()?));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// How many mails are queued.
    pub fn mails_queued(&self) -> Result<u64> {
        use redb::ReadableTableMetadata;
        Ok(self.tx.table(OUTBOX_DUE)?.len()?)
    }

    /// The newest mails first, at most `limit` (the admin's view of the outbox).
    pub fn mails(&self, limit: usize) -> Result<Vec<(OutboxId, MailRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(OUTBOX)?.iter()?.rev().take(limit) {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }
}

impl CatalogTx<WriteTransaction> {
    /// Queues a mail for `r.next_at`; its `Message-ID` is `<outbox.<id>.<created>@<domain>>`
    /// unless one is set.
    pub(crate) fn enqueue_mail(&mut self, mut r: MailRec, domain: &str) -> Result<OutboxId> {
        let id = OutboxId(self.next_id("outbox")?);
        if r.message_id.is_empty() {
            r.message_id = format!("<outbox.{}.{}@{domain}>", id.0, r.created_at);
        }
        r.state = MailStateRec::Queued;
        self.tx
            .open_table(OUTBOX_DUE)?
            .insert((r.next_at, id), ())?;
        self.tx
            .open_table(OUTBOX)?
            .insert(id, crate::catalog::enc(&r)?)?;
        Ok(id)
    }

    /// A mail about no tenant (an account's: an invitation, a password reset).
    pub fn enqueue_account_mail(&mut self, r: MailRec, domain: &str) -> Result<OutboxId> {
        if r.tenant.is_some() {
            return Err(StoreError::NotFound);
        }
        self.enqueue_mail(r, domain)
    }

    /// Moves a queued mail on: sent, failed for good, or queued again for `next_at` with the
    /// temporary failure. A mail no longer queued is left as it is (`false`).
    pub(crate) fn settle_mail(
        &mut self,
        id: OutboxId,
        state: MailStateRec,
        next_at: Option<i64>,
        error: Option<String>,
    ) -> Result<bool> {
        let Some(mut r) = self.mail(id)? else {
            return Err(StoreError::NotFound);
        };
        if r.state != MailStateRec::Queued {
            return Ok(false);
        }
        let mut due = self.tx.open_table(OUTBOX_DUE)?;
        due.remove((r.next_at, id))?;
        r.attempts = r.attempts.saturating_add(1);
        r.last_error = error;
        match (&state, next_at) {
            (MailStateRec::Queued, Some(at)) => {
                r.next_at = at;
                due.insert((at, id), ())?;
            }
            (MailStateRec::Queued, None) => return Err(StoreError::NotFound),
            _ => {}
        }
        drop(due);
        r.state = state;
        self.tx
            .open_table(OUTBOX)?
            .insert(id, crate::catalog::enc(&r)?)?;
        Ok(true)
    }
}

impl TenantCatalog<WriteTransaction> {
    /// Queues a mail about this tenant (`r.tenant` must be it).
    pub fn enqueue_mail(&mut self, r: MailRec, domain: &str) -> Result<OutboxId> {
        if r.tenant != Some(self.tenant_id()) {
            return Err(StoreError::NotFound);
        }
        (**self).enqueue_mail(r, domain)
    }
}

impl crate::catalog_billing::BillingTx<'_> {
    /// Queues a mail about any tenant (the renewal job's notices).
    pub fn enqueue_mail(&mut self, r: MailRec, domain: &str) -> Result<OutboxId> {
        self.catalog().enqueue_mail(r, domain)
    }
}

impl crate::scope::AdminScope<'_> {
    /// The sender's step for one mail (see `CatalogTx::settle_mail`), in its own transaction.
    pub fn settle_mail(
        &self,
        id: OutboxId,
        state: MailStateRec,
        next_at: Option<i64>,
        error: Option<String>,
    ) -> Result<bool> {
        self.store
            .catalog_write(|c| c.settle_mail(id, state, next_at, error))
    }

    /// Several of the sender's steps in one transaction (one commit for a batch of sends).
    pub fn settle_mails(&self, steps: Vec<MailStep>) -> Result<()> {
        self.store.catalog_write(|c| {
            for s in steps {
                c.settle_mail(s.id, s.state, s.next_at, s.error)?;
            }
            Ok(())
        })
    }
}

/// How one attempt at a queued mail ended, for [`AdminScope::settle_mails`](crate::AdminScope).
pub struct MailStep {
    pub id: OutboxId,
    pub state: MailStateRec,
    pub next_at: Option<i64>,
    pub error: Option<String>,
}
