//! Keeping statistics within the plan: per-user days for the plan's `retention_days`, totals
//! per group and day for at least a year. A background job prunes the rest in small
//! transactions, so the ingestion writers are never held up for long.

use botyard_shards::ids::{Day, TenantId};
use botyard_shards::{Reader, Store, TenantShard, WriteTransaction};

use super::{Horizon, date_of, kept_from};
use crate::error::AppResult;

/// Rows removed per write transaction.
pub const PRUNE_BATCH: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    pub retention_days: u32,
    /// Per-user rows (active, new and top users) are kept from this date on.
    pub users_kept_from: String,
    /// Totals per group and day (messages, joins, leaves, member counts) from this date on.
    pub totals_kept_from: String,
    /// The oldest per-user day still stored (null when there is none).
    pub oldest_user_day: Option<String>,
    /// Per-user rows the next pruning run drops: older than `users_kept_from`, which follows
    /// the plan (a downgrade shows here before it takes effect).
    pub user_rows_to_drop: u64,
}

pub fn view<T: Reader>(
    s: &TenantShard<T>,
    today: Day,
    retention_days: u32,
) -> AppResult<Retention> {
    let users = kept_from(today, retention_days, Horizon::Users);
    Ok(Retention {
        retention_days,
        users_kept_from: date_of(users).to_string(),
        totals_kept_from: date_of(kept_from(today, retention_days, Horizon::Counters)).to_string(),
        oldest_user_day: s.oldest_user_day()?.map(|d| date_of(d).to_string()),
        user_rows_to_drop: s.user_days_before(users)?,
    })
}

/// What a pruning run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub tenants: u64,
    pub user_rows: u64,
    /// Telegram users no longer seen within the retention.
    pub users: u64,
    pub total_rows: u64,
    pub transactions: u64,
}

/// Prunes one tenant, `batch` rows per transaction.
pub fn prune_tenant(store: &Store, tenant: TenantId, now: i64, batch: usize) -> AppResult<Pruned> {
    let scope = store.supervisor_scope(tenant)?;
    let settings = crate::domain::tenancy::settings(&scope)?;
    let zone = crate::domain::tenancy::zone(&settings);
    let today = super::today(&zone, now);
    let retention =
        crate::domain::tenancy::plan_limit(store, scope.record().plan, |l| l.retention_days)?
            .unwrap_or(u32::MAX);
    let mut out = Pruned {
        tenants: 1,
        ..Pruned::default()
    };
    // One kind of row at a time, `batch` per transaction, until a transaction comes up short.
    let mut drain = |prune: &dyn Fn(
        &mut TenantShard<WriteTransaction>,
    ) -> Result<usize, botyard_shards::StoreError>|
     -> AppResult<u64> {
        let mut rows = 0;
        loop {
            let n = scope.shard_write(|s| prune(s))?;
            rows += n as u64;
            out.transactions += 1;
            if n < batch {
                return Ok(rows);
            }
        }
    };
    let users = kept_from(today, retention, Horizon::Users);
    let user_rows = drain(&|s| s.prune_user_days(users, batch))?;
    // Telegram users last seen before the first kept day (its start in the tenant's zone).
    let since = super::date_of(users)
        .to_zoned_datetime(zone)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(i64::MIN);
    let seen = drain(&|s| s.prune_telegram_users(since, batch))?;
    let totals = kept_from(today, retention, Horizon::Counters);
    let total_rows = drain(&|s| s.prune_counters(totals, batch))?;
    out.user_rows = user_rows;
    out.users = seen;
    out.total_rows = total_rows;
    Ok(out)
}

/// One pruning run over every tenant. Each tenant is pruned in its own blocking task, so the
/// async runtime and the writers keep going between transactions.
pub async fn prune_all(store: std::sync::Arc<Store>, now: i64) -> Pruned {
    prune_all_in(store, now, PRUNE_BATCH).await
}

/// [`prune_all`] with `batch` rows per transaction (the benchmark compares sizes).
pub async fn prune_all_in(store: std::sync::Arc<Store>, now: i64, batch: usize) -> Pruned {
    let tenants = match store.tenant_ids() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot list tenants to prune statistics");
            return Pruned::default();
        }
    };
    let mut total = Pruned::default();
    for (tenant, _) in tenants {
        let store = store.clone();
        let r = tokio::task::spawn_blocking(move || prune_tenant(&store, tenant, now, batch)).await;
        match r {
            Ok(Ok(p)) => {
                total.tenants += 1;
                total.user_rows += p.user_rows;
                total.users += p.users;
                total.total_rows += p.total_rows;
                total.transactions += p.transactions;
            }
            Ok(Err(e)) => {
                tracing::error!(tenant_id = tenant.0, error = %e, "cannot prune statistics")
            }
            Err(e) => tracing::error!(error = %e, "pruning task failed"),
        }
    }
    if total.user_rows + total.total_rows > 0 {
        tracing::info!(
            tenants = total.tenants,
            user_rows = total.user_rows,
            total_rows = total.total_rows,
            "old statistics pruned"
        );
    }
    total
}

/// Statistics upkeep a minute after start, then every `every`, until `stop`: pruning, then
/// the reports that are due.
pub async fn run(
    store: std::sync::Arc<Store>,
    clock: crate::clock::SharedClock,
    every: std::time::Duration,
    reports: super::report::Every,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut wait = std::time::Duration::from_secs(60).min(every);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(wait) => {}
        }
        prune_all(store.clone(), clock.now()).await;
        let (store2, now) = (store.clone(), clock.now());
        if let Err(e) =
            tokio::task::spawn_blocking(move || super::report::run_due(&store2, reports, now)).await
        {
            tracing::error!(error = %e, "report task failed");
        }
        wait = every;
    }
}
