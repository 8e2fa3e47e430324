//! The campaign timers: the next run of every active campaign in one ordered set, loaded at
//! start. Due runs are started in one write transaction per shard (their pending deliveries
//! durable before anything is sent), then handed to the tenants' workers.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botyard_shards::Store;
use botyard_shards::ids::{CampaignId, TenantId};
use botyard_shards::records::{CampaignStateRec, RunRec, RunStatusRec, SettingsRec, TenantStatus};
use tokio::sync::{Notify, watch};

use crate::clock::SharedClock;
use crate::error::{AppError, AppResult};
use crate::worker::ipc::messages::SendJob;

/// A run this much past its time when the scheduler gets to it was missed (the server was
/// down): it runs once if still inside its window, else it is recorded as skipped.
pub const MISSED_AFTER_SECS: i64 = 120;
/// How often the timers are looked at when nothing wakes the scheduler.
const TICK: Duration = Duration::from_millis(200);

type Key = (TenantId, CampaignId);
/// A due timer: (unix seconds, tenant, campaign).
type Due = (i64, TenantId, CampaignId);

#[derive(Default)]
struct Timers {
    by_time: BTreeSet<Due>,
    at: HashMap<Key, i64>,
}

impl Timers {
    fn set(&mut self, key: Key, next: Option<i64>) {
        if let Some(old) = self.at.remove(&key) {
            self.by_time.remove(&(old, key.0, key.1));
        }
        if let Some(t) = next {
            self.at.insert(key, t);
            self.by_time.insert((t, key.0, key.1));
        }
    }

    fn pop_due(&mut self, now: i64) -> Vec<Due> {
        let mut due = Vec::new();
        while let Some(first) = self.by_time.first().copied() {
            if first.0 > now {
                break;
            }
            self.by_time.pop_first();
            self.at.remove(&(first.1, first.2));
            due.push(first);
        }
        due
    }
}

/// What the scheduler has done, for the API and for tests to follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    pub timers: usize,
    pub runs_started: u64,
    pub runs_skipped: u64,
    /// Jobs handed to workers.
    pub jobs: u64,
    /// Passes over due timers.
    pub passes: u64,
}

/// Where the jobs of a started run go: the supervisor in the server, a recorder in benches.
pub trait JobSink: Send + Sync {
    fn deliver(&self, tenant: TenantId, jobs: Vec<SendJob>);
}

pub struct Scheduler {
    timers: Mutex<Timers>,
    wake: Notify,
    store: Arc<Store>,
    clock: SharedClock,
    sink: Arc<dyn JobSink>,
    stats: watch::Sender<SchedulerStats>,
    /// Write the shards of a pass side by side (on by default; the bench compares).
    parallel: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Scheduler {
    pub fn new(store: Arc<Store>, clock: SharedClock, sink: Arc<dyn JobSink>) -> Arc<Self> {
        Arc::new(Scheduler {
            timers: Mutex::new(Timers::default()),
            wake: Notify::new(),
            store,
            clock,
            sink,
            stats: watch::Sender::new(SchedulerStats::default()),
            parallel: AtomicBool::new(true),
        })
    }

    /// Loads every active campaign's next run; returns how many.
    pub fn load(&self) -> AppResult<usize> {
        let mut all = Vec::new();
        for i in 0..self.store.shard_count() {
            all.extend(self.store.campaign_timers(i)?);
        }
        let n = all.len();
        let mut t = lock(&self.timers);
        for (tenant, id, next) in all {
            t.set((tenant, id), Some(next));
        }
        let len = t.at.len();
        drop(t);
        self.stats.send_modify(|s| s.timers = len);
        self.wake.notify_one();
        Ok(n)
    }

    /// Sets (or clears) a campaign's next run after it changed.
    pub fn set(&self, tenant: TenantId, id: CampaignId, next: Option<i64>) {
        let len = {
            let mut t = lock(&self.timers);
            t.set((tenant, id), next);
            t.at.len()
        };
        self.stats.send_modify(|s| s.timers = len);
        self.wake.notify_one();
    }

    /// Looks at the timers now rather than at the next tick (tests move a manual clock).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn watch(&self) -> watch::Receiver<SchedulerStats> {
        self.stats.subscribe()
    }

    /// Whether a pass writes its shards side by side (default) or one after another.
    pub fn set_parallel(&self, on: bool) {
        self.parallel.store(on, Ordering::Relaxed);
    }

    /// A campaign's timer, if it has one.
    pub fn next_of(&self, tenant: TenantId, id: CampaignId) -> Option<i64> {
        lock(&self.timers).at.get(&(tenant, id)).copied()
    }

    pub fn timers(&self) -> usize {
        lock(&self.timers).at.len()
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
            let now = self.clock.now();
            if lock(&self.timers).by_time.first().is_none_or(|f| f.0 > now) {
                continue;
            }
            let me = self.clone();
            let r = tokio::task::spawn_blocking(move || me.run_due(now)).await;
            match r {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "campaign runs not started"),
                Err(e) => tracing::error!(error = %e, "campaign run task failed"),
            }
        }
    }

    /// Starts every run due at `now`; returns how many timers were due.
    pub fn run_due(&self, now: i64) -> AppResult<usize> {
        let due = lock(&self.timers).pop_due(now);
        let n = due.len();
        if n > 0
            && let Err(e) = self.start_due(due.clone(), now)
        {
            // Nothing was started: the timers go back, to be tried on the next pass.
            let mut t = lock(&self.timers);
            for (at, tenant, id) in due {
                t.set((tenant, id), Some(at));
            }
            return Err(e);
        }
        Ok(n)
    }

    /// Starts every due run: one transaction per shard, then the jobs go to the workers and
    /// the next runs into the timers. A shard whose transaction fails keeps its timers, to be
    /// tried again on the next pass.
    fn start_due(&self, due: Vec<Due>, now: i64) -> AppResult<()> {
        let catalog = self.store.catalog_read()?;
        let mut by_shard: HashMap<u32, Vec<Due>> = HashMap::new();
        let mut tenants: HashMap<TenantId, TenantInfo> = HashMap::new();
        for d in &due {
            if let std::collections::hash_map::Entry::Vacant(e) = tenants.entry(d.1) {
                // A tenant deleted since its timer was set has nothing left to run.
                let Ok(scope) = self.store.supervisor_scope(d.1) else {
                    continue;
                };
                let shard = scope.shard_index();
                let rec = scope.record().clone();
                let sends = match rec.plan {
                    Some(p) => catalog.plan(p)?.map(|p| p.limits.sends_per_day),
                    None => None,
                };
                e.insert(TenantInfo {
                    shard,
                    name: rec.name,
                    suspended: rec.status == TenantStatus::Suspended,
                    sends,
                });
            }
            if let Some(info) = tenants.get(&d.1) {
                by_shard.entry(info.shard).or_default().push(*d);
            }
        }
        drop(catalog);
        let mut out: Vec<(TenantId, Vec<SendJob>)> = Vec::new();
        let mut next: Vec<(Key, Option<i64>)> = Vec::new();
        let (mut started, mut skipped) = (0u64, 0u64);
        // Each shard is its own file with its own writer: they are written side by side.
        let run_shard = |shard: u32, items: &[Due]| {
            self.store.shard_batch(shard, |b| {
                let mut o = BatchOut::default();
                for (at, tenant, id) in items {
                    let Some(info) = tenants.get(tenant) else {
                        continue;
                    };
                    match b.tenant(*tenant, |s| start_one(s, info, *id, *at, now, &mut o)) {
                        Ok(r) => r?,
                        // Moved to another shard since this pass looked: the next pass
                        // finds it there.
                        Err(botyard_shards::StoreError::Moved(_)) => {
                            o.next.push(((*tenant, *id), Some(*at)));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok::<_, AppError>(o)
            })
        };
        let shards: Vec<(u32, Vec<Due>)> = by_shard.into_iter().collect();
        let results: Vec<AppResult<BatchOut>> = if self.parallel.load(Ordering::Relaxed) {
            std::thread::scope(|scope| {
                let handles: Vec<_> = shards
                    .iter()
                    .map(|(shard, items)| scope.spawn(|| run_shard(*shard, items)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(AppError::Internal("campaign run thread panicked".into()))
                        })
                    })
                    .collect()
            })
        } else {
            shards
                .iter()
                .map(|(shard, items)| run_shard(*shard, items))
                .collect()
        };
        for ((shard, items), r) in shards.into_iter().zip(results) {
            match r {
                Ok(o) => {
                    started += o.started;
                    skipped += o.skipped;
                    out.extend(o.jobs);
                    next.extend(o.next);
                }
                Err(e) => {
                    tracing::error!(shard, error = %e, "campaign runs on this shard not started; retrying");
                    for (at, tenant, id) in items {
                        next.push(((tenant, id), Some(at)));
                    }
                }
            }
        }
        {
            let mut t = lock(&self.timers);
            for (k, n) in next {
                t.set(k, n);
            }
        }
        let mut jobs = 0u64;
        for (tenant, j) in out {
            jobs += j.len() as u64;
            self.sink.deliver(tenant, j);
        }
        let len = self.timers();
        self.stats.send_modify(|s| {
            s.timers = len;
            s.runs_started += started;
            s.runs_skipped += skipped;
            s.jobs += jobs;
            s.passes += 1;
        });
        Ok(())
    }
}

struct TenantInfo {
    shard: u32,
    name: String,
    suspended: bool,
    sends: Option<u32>,
}

#[derive(Default)]
struct BatchOut {
    jobs: Vec<(TenantId, Vec<SendJob>)>,
    next: Vec<(Key, Option<i64>)>,
    started: u64,
    skipped: u64,
}

fn skip_run(
    s: &mut botyard_shards::TenantShard<botyard_shards::WriteTransaction>,
    id: CampaignId,
    rec: &mut botyard_shards::records::CampaignRec,
    due: i64,
    now: i64,
    code: &str,
) -> AppResult<()> {
    rec.runs = rec.runs.saturating_add(1);
    s.put_run(
        id,
        rec.runs,
        &RunRec {
            due_at: due,
            started_at: now,
            finished_at: Some(now),
            status: RunStatusRec::Skipped { code: code.into() },
            template: rec.template,
            version: 0,
            session: rec.session,
            manual: false,
            targets: 0,
            sent: 0,
            failed: 0,
            skipped: 0,
        },
    )?;
    Ok(())
}

/// Starts one campaign's due run inside the shard batch (a stale timer does nothing).
fn start_one(
    s: &mut botyard_shards::TenantShard<botyard_shards::WriteTransaction>,
    info: &TenantInfo,
    id: CampaignId,
    due: i64,
    now: i64,
    o: &mut BatchOut,
) -> AppResult<()> {
    let Some(mut rec) = s.campaign(id)? else {
        return Ok(());
    };
    if rec.state != CampaignStateRec::Active {
        return Ok(());
    }
    if rec.next_run != Some(due) {
        // A timer that went stale (an edit raced this pass): the record says when.
        o.next.push(((s.tenant(), id), rec.next_run));
        return Ok(());
    }
    let settings = s
        .settings()?
        .unwrap_or_else(|| SettingsRec::defaults(&info.name));
    let missed = now - due > MISSED_AFTER_SECS;
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let bounds = super::schedule::Bounds {
        window: rec.window,
        starts_on: None,
        ends_on: None,
    };
    let in_window = jiff::Timestamp::from_second(now).is_ok_and(|t| bounds.in_window(t, &tz));
    let tenant = s.tenant();
    if info.suspended {
        skip_run(s, id, &mut rec, due, now, "tenant.suspended")?;
        o.skipped += 1;
    } else if missed && !in_window {
        skip_run(s, id, &mut rec, due, now, "campaign.missed")?;
        o.skipped += 1;
    } else {
        let at = super::runs::RunAt {
            due,
            manual: false,
            now,
            sends_per_day: info.sends,
        };
        match super::runs::start(s, &settings, id, &mut rec, at)? {
            super::runs::Started::Run { jobs, .. } => {
                o.started += 1;
                if !jobs.is_empty() {
                    o.jobs.push((tenant, jobs));
                }
            }
            super::runs::Started::Skipped { .. } => o.skipped += 1,
            super::runs::Started::Paused { .. } => {
                o.next.push(((tenant, id), None));
                return Ok(());
            }
        }
    }
    // Runs missed while down are not made up: the next one is after now.
    rec.next_run = super::next_run(&rec, &settings, due.max(now));
    if rec.next_run.is_none() {
        rec.state = CampaignStateRec::Finished;
    }
    rec.updated_at = now;
    s.put_campaign(id, &rec)?;
    o.next.push(((tenant, id), rec.next_run));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_pop_in_order_and_replace() {
        let mut t = Timers::default();
        let (a, b) = ((TenantId(1), CampaignId(1)), (TenantId(2), CampaignId(1)));
        t.set(a, Some(50));
        t.set(b, Some(10));
        t.set(a, Some(5));
        assert_eq!(t.pop_due(9), vec![(5, a.0, a.1)]);
        assert_eq!(t.pop_due(9), vec![]);
        t.set(b, None);
        assert_eq!(t.pop_due(100), vec![]);
        assert!(t.at.is_empty() && t.by_time.is_empty());
    }
}
