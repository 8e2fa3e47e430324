//! Alerts: what the server raises for a person to see and acknowledge (a quarantined worker,
//! a revoked session, a campaign the server paused, a disk nearly full). One thing raises one
//! open alert until someone acknowledges it; each is also written to the audit log. Delivery
//! by email and Telegram comes with the notifications.

use botyard_shards::Store;
use botyard_shards::ids::{AccountId, AlertId, TenantId};
use botyard_shards::records::{AlertRec, AuditRec};

use crate::error::{AppError, AppResult};

/// The kinds of alert, by their stable codes.
pub const WORKER_QUARANTINED: &str = "worker.quarantined";
pub const SESSION_REVOKED: &str = "session.revoked";
pub const CAMPAIGN_PAUSED: &str = "campaign.auto_paused";
pub const DISK_LOW: &str = "disk.nearly_full";
pub const FLOOD_WAIT: &str = "session.flood_wait";
pub const POSTS_FAILING: &str = "delivery.failure_rate";
/// A flood wait at least this long raises [`FLOOD_WAIT`]; shorter ones are waited out.
pub const LONG_FLOOD_WAIT_SECS: i64 = 600;
pub const GROUP_REMOVED: &str = "group.removed";
pub const RULE_PAUSED: &str = "rule.paused";

/// Raises an alert (and its audit entry) unless the same one is open; `Some` when new.
pub fn raise(
    store: &Store,
    now: i64,
    kind: &str,
    tenant: Option<TenantId>,
    subject: &str,
    detail: &str,
) -> AppResult<Option<AlertId>> {
    let rec = AlertRec {
        at: now,
        kind: kind.into(),
        tenant,
        subject: subject.into(),
        detail: detail.into(),
        acked_at: None,
        acked_by: None,
    };
    Ok(store.catalog_write(|c| {
        let id = c.raise_alert(&rec)?;
        if id.is_some() {
            c.audit(&AuditRec {
                at: now,
                actor: None,
                tenant,
                action: kind.into(),
                detail: format!("{subject}: {detail}"),
            })?;
        }
        Ok::<_, botyard_shards::StoreError>(id)
    })?)
}

/// Alerts newest first: the open ones, or all (acknowledged included).
pub fn list(store: &Store, open_only: bool, limit: usize) -> AppResult<Vec<(AlertId, AlertRec)>> {
    Ok(store.catalog_read()?.alerts(open_only, limit)?)
}

/// The open alerts about one tenant, newest first: what its people should see and act on.
pub fn open_for_tenant(store: &Store, tenant: TenantId) -> AppResult<Vec<AlertRec>> {
    // Open alerts are few (one per kind, tenant and subject), so a scan of them is cheap.
    Ok(list(store, true, 1_000)?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.tenant == Some(tenant))
        .collect())
}

/// Acknowledges an open alert (admins); audited.
pub fn acknowledge(store: &Store, id: AlertId, by: AccountId, now: i64) -> AppResult<()> {
    store.catalog_write(|c| {
        if !c.ack_alert(id, by, now)? {
            return Err(AppError::NotFound("open alert"));
        }
        c.audit(&AuditRec {
            at: now,
            actor: Some(by),
            tenant: None,
            action: "alert.acknowledged".into(),
            detail: format!("alert {}", id.0),
        })?;
        Ok(())
    })
}

/// Whether a disk with `avail` of `total` bytes free is nearly full: under 10 % or under
/// 1 GiB free. Returns what to say.
pub fn disk_low(total: u64, avail: u64) -> Option<String> {
    const MIN_FREE: u64 = 1 << 30;
    if total == 0 {
        return None;
    }
    let percent = avail.saturating_mul(100) / total;
    (percent < 10 || avail < MIN_FREE).then(|| {
        format!(
            "{} MiB free of {} MiB ({percent} %)",
            avail >> 20,
            total >> 20
        )
    })
}

/// Checks the data folder's disk every `every` and raises [`DISK_LOW`] when it is nearly full.
pub async fn watch_disk(
    store: std::sync::Arc<Store>,
    clock: crate::clock::SharedClock,
    dir: std::path::PathBuf,
    every: std::time::Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let (store2, dir2, now) = (store.clone(), dir.clone(), clock.now());
        let checked = tokio::task::spawn_blocking(move || -> AppResult<()> {
            let s = rustix::fs::statvfs(&dir2)
                .map_err(|e| AppError::Internal(format!("statvfs: {e}")))?;
            let total = s.f_blocks.saturating_mul(s.f_frsize);
            let avail = s.f_bavail.saturating_mul(s.f_frsize);
            if let Some(what) = disk_low(total, avail) {
                tracing::warn!(%what, "the data folder's disk is nearly full");
                raise(&store2, now, DISK_LOW, None, "data folder", &what)?;
            }
            Ok(())
        })
        .await;
        if !matches!(checked, Ok(Ok(()))) {
            tracing::warn!("cannot check the data folder's free space");
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// A tenant's campaign posts in the current hour, for the failure-rate rule: at least
/// [`FAILING_MIN_POSTS`] posts of which half or more failed raises [`POSTS_FAILING`], once an hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureWindow {
    hour: i64,
    sent: u32,
    failed: u32,
    tripped: bool,
}

pub const FAILING_MIN_POSTS: u32 = 20;

impl FailureWindow {
    /// Counts a batch of outcomes at `now`; what to say when the rule trips.
    pub fn record(&mut self, now: i64, sent: u32, failed: u32) -> Option<String> {
        let hour = now.div_euclid(3600);
        if hour != self.hour {
            *self = FailureWindow {
                hour,
                ..FailureWindow::default()
            };
        }
        self.sent = self.sent.saturating_add(sent);
        self.failed = self.failed.saturating_add(failed);
        let total = self.sent.saturating_add(self.failed);
        if self.tripped || total < FAILING_MIN_POSTS || self.failed.saturating_mul(2) < total {
            return None;
        }
        self.tripped = true;
        Some(format!("{} of {total} posts failed this hour", self.failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_rule_trips_once_an_hour_at_half_of_twenty_posts() {
        let mut w = FailureWindow::default();
        let h = 3600 * 1000;
        assert_eq!(w.record(h, 15, 4), None, "19 posts are too few to judge");
        assert_eq!(w.record(h + 10, 0, 1), None, "5 of 20 failed");
        assert_eq!(
            w.record(h + 20, 0, 15),
            Some("20 of 35 posts failed this hour".into())
        );
        assert_eq!(w.record(h + 30, 0, 50), None, "once an hour");
        assert_eq!(
            w.record(h + 3600, 10, 10),
            Some("10 of 20 posts failed this hour".into())
        );
    }

    #[test]
    fn a_disk_is_nearly_full_under_ten_percent_or_a_gibibyte() {
        const G: u64 = 1 << 30;
        assert_eq!(disk_low(100 * G, 50 * G), None);
        assert!(disk_low(100 * G, 9 * G).unwrap().contains("(9 %)"));
        assert!(disk_low(5 * G, G / 2).is_some(), "half a GiB is too little");
        assert_eq!(disk_low(0, 0), None);
    }
}
