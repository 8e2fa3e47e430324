//! The outbox's sender: takes due rows in order, sends each at most once at a time through a
//! pool of SMTP connections at the server's rate (or through the platform bot for Telegram
//! rows), and moves each on: sent, retried later with growing pauses, or failed with the
//! server's answer. Rows are read in small batches, so memory stays flat however long the
//! queue.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use botyard_shards::ids::{AccountId, InvoiceId, OutboxId};
use botyard_shards::records::{MailRec, MailStateRec};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

use super::compose::{self, Attached};
use super::notices::TELEGRAM_PREFIX;
use super::smtp::{Outcome, Smtp};
use crate::error::{AppError, AppResult};
use crate::state::{AppState, blocking};

/// How often the sender looks for due rows when nothing wakes it.
const TICK: Duration = Duration::from_secs(1);
/// The first pause after a temporary failure; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: i64 = 30;
const MAX_PAUSE: i64 = 3600;
/// How long a Telegram message may take through the platform bot's queue.
const TELEGRAM_WAIT: Duration = Duration::from_secs(60);

/// When a row that failed for now on its `attempts`-th try goes next, or `None` when it has
/// been retried for `retry_secs` since it was written.
pub fn next_attempt(created_at: i64, attempts: u32, now: i64, retry_secs: i64) -> Option<i64> {
    let pause = FIRST_PAUSE
        .saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(MAX_PAUSE);
    let at = now.saturating_add(pause);
    (at <= created_at.saturating_add(retry_secs)).then_some(at)
}

/// The sender's task: runs until `stop`, woken early by `wake` (a row was queued).
pub async fn run(st: Weak<AppState>, wake: Arc<Notify>, mut stop: oneshot::Receiver<()>) {
    let mut smtp: Option<Arc<Smtp>> = None;
    // Taken and not yet marked: never taken again meanwhile.
    let mut in_flight: HashSet<OutboxId> = HashSet::new();
    let mut sends: JoinSet<Attempted> = JoinSet::new();
    let mut done: Vec<Attempted> = Vec::new();
    let mut bucket = Bucket::new(1);
    let mut last_notices: Option<tokio::time::Instant> = None;
    loop {
        let Some(s) = st.upgrade() else { return };
        // What finished is marked in one transaction: one commit per batch, not per mail.
        if !done.is_empty() {
            let batch = std::mem::take(&mut done);
            let ids: Vec<OutboxId> = batch.iter().map(|a| a.id).collect();
            settle(&s, batch).await;
            for id in ids {
                in_flight.remove(&id);
            }
        }
        let cap = s.config.mail.connections as usize;
        if bucket.rate != s.config.mail.rate_per_sec {
            bucket = Bucket::new(s.config.mail.rate_per_sec);
        }
        let server = s.appliance().mail.clone();
        if server.as_ref().map(|m| m.fingerprint()) != smtp.as_ref().map(|m| m.fingerprint.clone())
        {
            smtp = match server.as_ref().map(Smtp::new) {
                None => None,
                Some(Ok(t)) => Some(Arc::new(t)),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "the mail server's settings cannot be used");
                    None
                }
            };
        }
        // New alerts and due digests, at most once a tick (they come from other tasks).
        if last_notices.is_none_or(|at| at.elapsed() >= TICK) {
            last_notices = Some(tokio::time::Instant::now());
            if let Err(e) = super::delivery::deliver_pending(&s).await {
                tracing::warn!(error = %e, "alerts and digests are not queued yet; trying again");
            }
        }
        if in_flight.len() < cap {
            // The rows in flight are among the earliest due: `cap` rows hold every new one.
            let want = cap;
            let now = s.now();
            let store = s.store.clone();
            let due = blocking(move || Ok(store.catalog_read()?.mails_due(now, want)?)).await;
            match due {
                Ok(rows) => {
                    for (id, row) in rows {
                        if in_flight.len() >= cap {
                            break;
                        }
                        if !in_flight.insert(id) {
                            continue;
                        }
                        bucket.take().await;
                        let (s2, smtp2) = (s.clone(), smtp.clone());
                        sends.spawn(async move {
                            let outcome = attempt(&s2, smtp2.as_deref(), &row).await;
                            Attempted { id, row, outcome }
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the outbox"),
            }
        }
        drop(s);
        tokio::select! {
            _ = &mut stop => {
                // Sends under way finish, and are marked, before the store closes.
                while let Some(r) = sends.join_next().await {
                    done.extend(r.ok());
                }
                if let Some(s) = st.upgrade() && !done.is_empty() {
                    settle(&s, done).await;
                }
                return;
            }
            Some(r) = sends.join_next(), if !sends.is_empty() => {
                // A panicked send keeps its id in flight until restart: never sent twice.
                done.extend(r.ok());
                while let Some(r) = sends.try_join_next() {
                    done.extend(r.ok());
                }
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// One attempt made, to be marked.
struct Attempted {
    id: OutboxId,
    row: MailRec,
    outcome: Outcome,
}

/// One attempt at one row.
async fn attempt(st: &AppState, smtp: Option<&Smtp>, row: &MailRec) -> Outcome {
    if let Some(account) = row.to.strip_prefix(TELEGRAM_PREFIX) {
        return telegram(st, account, row).await;
    }
    let Some(smtp) = smtp else {
        return Outcome::Temporary("no mail server is set (console: Settings → Mail)".into());
    };
    let attached = match attachment(st, row).await {
        Ok(a) => a,
        Err(e) => return Outcome::Permanent(format!("the attachment: {e}")),
    };
    let at = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(st.now()).unwrap_or(0));
    match compose::message(row, &smtp.from, attached, smtp.dkim.as_ref(), at) {
        Ok(msg) => smtp.send(&msg).await,
        Err(e) => Outcome::Permanent(e.to_string()),
    }
}

/// The invoice's PDF, for a row that names one.
async fn attachment(st: &AppState, row: &MailRec) -> AppResult<Option<Attached>> {
    let (Some(id), Some(tenant)) = (row.invoice, row.tenant) else {
        return Ok(None);
    };
    let store = st.store.clone();
    blocking(move || {
        let scope = store.system_admin().tenant(tenant)?;
        let inv = crate::domain::billing::invoices::invoice(&scope, InvoiceId(id))?;
        let bytes = crate::domain::billing::pdf::render(&inv)?;
        Ok(Some(Attached {
            name: format!("{}.pdf", inv.number),
            mime: "application/pdf",
            bytes,
        }))
    })
    .await
}

/// A Telegram row: the text through the platform bot to the account's linked user.
async fn telegram(st: &AppState, account: &str, row: &MailRec) -> Outcome {
    let Ok(account) = account.parse::<u64>().map(AccountId) else {
        return Outcome::Permanent(format!("`{}` names no account", row.to));
    };
    let store = st.store.clone();
    let link = blocking(move || Ok(store.catalog_read()?.telegram_link(account)?)).await;
    let link = match link {
        Ok(Some(l)) => l,
        Ok(None) => return Outcome::Permanent("the account has no Telegram linked".into()),
        Err(e) => return Outcome::Temporary(e.to_string()),
    };
    let mut job = crate::domain::telegram_link::private_post(
        link.user_id,
        link.access_hash,
        row.text.clone(),
        crate::worker::telegram::Markup::Plain,
    );
    // The same row is the same message to Telegram, which drops a repeat.
    job.random_id = random_id(&row.message_id);
    match st.supervisor.send_direct(job, TELEGRAM_WAIT).await {
        Ok(crate::worker::ipc::messages::DeliveryOutcome::Sent { .. }) => Outcome::Sent,
        Ok(crate::worker::ipc::messages::DeliveryOutcome::Failed { code, .. }) => {
            use crate::worker::ipc::messages::FailureCode as F;
            match code {
                F::Forbidden | F::ChatNotFound => Outcome::Permanent(format!(
                    "Telegram refused it ({code:?}): the user blocked the bot"
                )),
                other => Outcome::Temporary(format!("Telegram: {other:?}")),
            }
        }
        Err(e) => Outcome::Temporary(format!("the platform bot: {e}")),
    }
}

fn random_id(message_id: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(message_id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_le_bytes(b)
}

/// Stores how the attempts ended, in one transaction. A row that cannot be marked stays
/// queued and goes again: its Message-ID lets the receiver drop the second copy.
async fn settle(st: &Arc<AppState>, batch: Vec<Attempted>) {
    let now = st.now();
    let retry_secs = i64::from(st.config.mail.retry_hours) * 3600;
    let mut steps = Vec::with_capacity(batch.len());
    for Attempted { id, row, outcome } in batch {
        let attempts = row.attempts.saturating_add(1);
        let (state, next_at, error) = match &outcome {
            Outcome::Sent => (MailStateRec::Sent { at: now }, None, None),
            Outcome::Permanent(why) => (
                MailStateRec::Failed {
                    at: now,
                    reason: why.clone(),
                },
                None,
                None,
            ),
            Outcome::Temporary(why) => {
                match next_attempt(row.created_at, attempts, now, retry_secs) {
                    Some(at) => (MailStateRec::Queued, Some(at), Some(why.clone())),
                    None => (
                        MailStateRec::Failed {
                            at: now,
                            reason: format!(
                                "gave up after {attempts} attempts in {} hours: {why}",
                                st.config.mail.retry_hours
                            ),
                        },
                        None,
                        None,
                    ),
                }
            }
        };
        match &outcome {
            Outcome::Sent => tracing::debug!(outbox = id.0, kind = %row.kind, "mail sent"),
            Outcome::Temporary(why) => {
                tracing::info!(outbox = id.0, kind = %row.kind, error = %why, "mail not sent yet; trying again later")
            }
            Outcome::Permanent(why) => {
                tracing::warn!(outbox = id.0, kind = %row.kind, error = %why, "mail refused for good")
            }
        }
        st.metrics.mail(match outcome {
            Outcome::Sent => "sent",
            Outcome::Temporary(_) => "deferred",
            Outcome::Permanent(_) => "failed",
        });
        steps.push(botyard_shards::MailStep {
            id,
            state,
            next_at,
            error,
        });
    }
    let n = steps.len();
    let store = st.store.clone();
    let r = blocking(move || {
        store
            .system_admin()
            .settle_mails(steps)
            .map_err(AppError::from)
    })
    .await;
    if let Err(e) = r {
        tracing::error!(mails = n, error = %e, "cannot mark the mails; they may go twice");
    }
}

/// At most `rate` takes per second, one at a time, evenly spaced.
struct Bucket {
    rate: u32,
    every: Duration,
    next: tokio::time::Instant,
}

impl Bucket {
    fn new(rate: u32) -> Bucket {
        Bucket {
            rate,
            every: Duration::from_secs(1) / rate.max(1),
            next: tokio::time::Instant::now(),
        }
    }

    async fn take(&mut self) {
        let now = tokio::time::Instant::now();
        if self.next > now {
            tokio::time::sleep_until(self.next).await;
        }
        // A quiet spell does not save up a burst.
        self.next = self.next.max(now) + self.every;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_to_an_hour_and_stop_after_the_retry_window() {
        let day2 = 48 * 3600;
        assert_eq!(next_attempt(0, 1, 0, day2), Some(30));
        assert_eq!(next_attempt(0, 2, 100, day2), Some(160));
        assert_eq!(next_attempt(0, 30, 1000, day2), Some(4600));
        assert_eq!(next_attempt(0, 9, day2 - 10, day2), None);
    }
}
