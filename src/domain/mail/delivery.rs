//! Notices from what the runtime stored: new alerts become mail (and Telegram messages for
//! admins), and held digest items become one mail an hour.

use botyard_shards::Recipient;
use botyard_shards::ids::AlertId;
use botyard_shards::records::{AlertRec, Language, MailRec, Role};
use botyard_shards::{CatalogTx, WriteTransaction};

use super::letter::Branding;
use super::notices::{MailCtx, Notice, digest_row, enqueue, host_of, language_of, to_people};
use crate::error::AppResult;
use crate::state::{AppState, blocking};

impl MailCtx {
    pub fn of(st: &AppState) -> MailCtx {
        let e = st.appliance();
        let domain = e
            .mail
            .as_ref()
            .and_then(|m| m.from_address.rsplit_once('@').map(|(_, d)| d.to_string()))
            .unwrap_or_else(|| host_of(&e.base_url));
        MailCtx {
            brand: Branding::of(&e),
            domain,
            now: st.now(),
        }
    }
}

/// How many alerts one pass turns into mail.
const ALERTS_PER_PASS: usize = 100;
/// The cursor of alerts turned into notices.
const ALERT_CURSOR: &str = "alerts";
/// An account's digest goes this long after its first held item.
pub const DIGEST_EVERY: i64 = 3600;

/// Turns new alerts into notices (admins by mail and Telegram, the tenant's people by
/// mail) and sends the digests that are due. Each alert's mails are queued in one
/// transaction with the cursor's move, so none is lost or doubled.
pub async fn deliver_pending(st: &std::sync::Arc<AppState>) -> AppResult<()> {
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    let queued = blocking(move || {
        let mut queued = 0usize;
        let alerts = {
            let c = store.catalog_read()?;
            c.alerts_after(AlertId(c.notice_cursor(ALERT_CURSOR)?), ALERTS_PER_PASS)?
        };
        for (id, alert) in alerts {
            queued += alert_notices(&store, &ctx, id, &alert)?;
        }
        queued += digests(&store, &ctx)?;
        Ok(queued)
    })
    .await?;
    if queued > 0 {
        st.mail_wake.notify_one();
    }
    Ok(())
}

fn alert_notices(
    store: &botyard_shards::Store,
    ctx: &MailCtx,
    id: AlertId,
    alert: &AlertRec,
) -> AppResult<usize> {
    let tenant_scope = match alert.tenant {
        Some(t) => store.system_admin().tenant(t).ok(),
        None => None,
    };
    let tenant_name = tenant_scope.as_ref().map(|s| s.record().name.clone());
    let admin_notice = Notice::AdminAlert {
        tenant: tenant_name.clone(),
        alert: alert.clone(),
    };
    let admin_rows = |c: &mut CatalogTx<WriteTransaction>| -> AppResult<Vec<MailRec>> {
        let admins = c.admin_recipients()?;
        let mut rows = Vec::new();
        for a in &admins {
            let lang = language_of(&a.language, Language::En);
            rows.push(ctx.row(&admin_notice, &a.email, None, lang)?);
            if c.telegram_link(a.account)?.is_some() {
                rows.push(ctx.telegram_row(&admin_notice, a.account, lang)?);
            }
        }
        Ok(rows)
    };
    match (tenant_scope, tenant_name) {
        (Some(scope), Some(name)) => {
            let fallback = crate::domain::tenancy::settings(&scope)?.language;
            scope.catalog_write(|c| -> AppResult<usize> {
                if c.notice_cursor(ALERT_CURSOR)? >= id.0 {
                    return Ok(0);
                }
                let rows = admin_rows(c)?;
                let people: Vec<Recipient> = c
                    .recipients()?
                    .into_iter()
                    .filter(|r| matches!(r.role, Some(Role::Owner | Role::Editor)))
                    .collect();
                let notice = Notice::BotStatus {
                    tenant: name.clone(),
                    alert: alert.clone(),
                };
                let tenant = Some(c.tenant_id());
                let tenant_rows = to_people(c, ctx, &notice, &people, tenant, fallback)?;
                let n = rows.len() + tenant_rows.len();
                enqueue(c, ctx, rows)?;
                for r in tenant_rows {
                    c.enqueue_mail(r, &ctx.domain)?;
                }
                c.set_notice_cursor(ALERT_CURSOR, id.0)?;
                Ok(n)
            })
        }
        _ => store.catalog_write(|c| -> AppResult<usize> {
            if c.notice_cursor(ALERT_CURSOR)? >= id.0 {
                return Ok(0);
            }
            let rows = admin_rows(c)?;
            let n = rows.len();
            enqueue(c, ctx, rows)?;
            c.set_notice_cursor(ALERT_CURSOR, id.0)?;
            Ok(n)
        }),
    }
}

/// Sends each account's digest whose oldest item waited an hour.
fn digests(store: &botyard_shards::Store, ctx: &MailCtx) -> AppResult<usize> {
    let heads = store.catalog_read()?.digest_heads()?;
    let mut sent = 0;
    for (account, first) in heads {
        if ctx.now < first + DIGEST_EVERY {
            continue;
        }
        sent += store.catalog_write(|c| -> AppResult<usize> {
            let Some(who) = c.account_recipient(account)? else {
                c.take_digest(account)?;
                return Ok(0);
            };
            let items = c.take_digest(account)?;
            if items.is_empty() {
                return Ok(0);
            }
            let lang = language_of(&who.language, Language::En);
            let row = digest_row(ctx, &who.email, lang, &items)?;
            c.enqueue_account_mail(row, &ctx.domain)?;
            Ok(1)
        })?;
    }
    Ok(sent)
}
