//! The admin's side of the outbox: a test mail, the rows and their state, and a resend.

use botyard_shards::ids::{AccountId, OutboxId};
use botyard_shards::records::{AuditRec, Language, MailRec, MailStateRec};

use super::notices::{MailCtx, Notice};
use super::settings::address;
use crate::error::{AppError, AppResult};
use crate::state::{Shared, blocking};

/// Queues a test mail to `to`, from an admin; audited.
pub async fn queue_test(
    st: &Shared,
    actor: AccountId,
    to: &str,
    lang: Language,
) -> AppResult<OutboxId> {
    let to = address("to", to)?;
    if st.appliance().mail.is_none() {
        return Err(AppError::Conflict {
            code: "mail.not_configured",
            message: "no mail server is set: fill in Settings → Mail (or mail.smtp_host in the configuration) first".into(),
        });
    }
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    let id = blocking(move || {
        let row = ctx.row(&Notice::Test, &to, None, lang)?;
        store.catalog_write(|c| -> AppResult<OutboxId> {
            let id = c.enqueue_account_mail(row, &ctx.domain)?;
            c.audit(&AuditRec {
                at: ctx.now,
                actor: Some(actor),
                tenant: None,
                action: "mail.test".into(),
                detail: format!("outbox {}", id.0),
            })?;
            Ok(id)
        })
    })
    .await?;
    st.mail_wake.notify_one();
    Ok(id)
}

/// Which rows to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    Queued,
    Sent,
    Failed,
}

impl Filter {
    pub fn parse(v: Option<&str>) -> AppResult<Filter> {
        Ok(match v.unwrap_or("all") {
            "all" => Filter::All,
            "queued" => Filter::Queued,
            "sent" => Filter::Sent,
            "failed" => Filter::Failed,
            _ => return Err(AppError::invalid("state", "all, queued, sent or failed")),
        })
    }

    fn keeps(self, r: &MailRec) -> bool {
        matches!(
            (self, &r.state),
            (Filter::All, _)
                | (Filter::Queued, MailStateRec::Queued)
                | (Filter::Sent, MailStateRec::Sent { .. })
                | (Filter::Failed, MailStateRec::Failed { .. })
        )
    }
}

/// The newest rows first, at most `limit` of those `filter` keeps (among the newest 10,000).
pub async fn list(
    st: &Shared,
    filter: Filter,
    limit: usize,
) -> AppResult<Vec<(OutboxId, MailRec)>> {
    let store = st.store.clone();
    blocking(move || {
        Ok(store
            .catalog_read()?
            .mails(10_000)?
            .into_iter()
            .filter(|(_, r)| filter.keeps(r))
            .take(limit)
            .collect())
    })
    .await
}

/// Queues a sent or failed row again, now; audited.
pub async fn resend(st: &Shared, actor: AccountId, id: OutboxId) -> AppResult<()> {
    let store = st.store.clone();
    let now = st.now();
    blocking(move || {
        store.catalog_write(|c| -> AppResult<()> {
            match c.requeue_mail(id, now) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(AppError::Conflict {
                        code: "mail.already_queued",
                        message: "this mail is queued already; it goes at its next attempt".into(),
                    });
                }
                Err(botyard_shards::StoreError::NotFound) => {
                    return Err(AppError::NotFound("mail"));
                }
                Err(e) => return Err(e.into()),
            }
            c.audit(&AuditRec {
                at: now,
                actor: Some(actor),
                tenant: None,
                action: "mail.resend".into(),
                detail: format!("outbox {}", id.0),
            })?;
            Ok(())
        })
    })
    .await?;
    st.mail_wake.notify_one();
    Ok(())
}
