//! Group commit of high-rate events. One writer thread per shard takes batches from many
//! submitters, merges increments that touch the same counter, writes them in key order in one
//! durable transaction, and only then acknowledges every batch it took.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{Durability, ReadableTable};
use tokio::sync::{mpsc, oneshot};

use crate::changes::Part;
use crate::ids::{ChatId, Day, TenantId};
use crate::record::RecBytes;
use crate::records::TgUserRec;
use crate::store::Shard;
use crate::tables::shard::{COUNTERS, TG_USERS, USER_DAYS};

/// One counter: (tenant, chat, day, metric).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey {
    pub tenant: TenantId,
    pub chat: ChatId,
    pub day: Day,
    pub metric: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Increment {
    pub key: CounterKey,
    pub delta: u64,
}

/// Messages of one Telegram user in one chat on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserDayIncrement {
    pub tenant: TenantId,
    pub chat: ChatId,
    pub day: Day,
    pub user: i64,
    pub delta: u64,
}

/// A Telegram user seen in a tenant's chats: names are the latest seen, times widen, message
/// counts add up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSeen {
    pub tenant: TenantId,
    pub user: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub at: i64,
    pub messages: u64,
}

/// One submission: everything a worker reported in one frame.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub counters: Vec<Increment>,
    pub user_days: Vec<UserDayIncrement>,
    pub users: Vec<UserSeen>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.counters.len() + self.user_days.len() + self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn all_for(&self, tenant: TenantId) -> bool {
        self.counters.iter().all(|e| e.key.tenant == tenant)
            && self.user_days.iter().all(|e| e.tenant == tenant)
            && self.users.iter().all(|e| e.tenant == tenant)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("ingest writer stopped")]
    Stopped,
    #[error("commit failed, nothing of this batch was stored: {0}")]
    Commit(String),
    #[error("batch of {0} events is over the limit of {1}")]
    TooLarge(usize, usize),
}

/// What one commit did, for metrics.
#[derive(Clone, Copy, Debug)]
pub struct CommitStats {
    pub shard: u32,
    pub batches: usize,
    pub events: usize,
    pub distinct_keys: usize,
    pub duration: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct IngestConfig {
    /// Most events merged into one commit.
    pub max_events_per_commit: usize,
    /// Most events in one submitted batch.
    pub max_batch: usize,
    /// Batches waiting per shard before submitters wait.
    pub queue: usize,
    /// Merge equal keys before writing (off only to measure what merging buys).
    pub merge: bool,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_events_per_commit: 200_000,
            max_batch: 10_000,
            queue: 4096,
            merge: true,
        }
    }
}

struct Job {
    tenant: TenantId,
    batch: Batch,
    ack: oneshot::Sender<Result<(), IngestError>>,
}

enum Msg {
    Job(Job),
    /// Commit what is held and stop, whoever still holds a handle.
    Stop,
}

/// Totals since start, readable without locks.
#[derive(Default, Debug)]
pub struct IngestTotals {
    pub commits: AtomicU64,
    pub events: AtomicU64,
    pub failed_commits: AtomicU64,
}

type StatsHook = Arc<dyn Fn(CommitStats) + Send + Sync>;

/// Submits to the writer of each shard. Cloneable; the writers stop when every handle is
/// dropped and [`Ingest::shutdown`] is called.
#[derive(Clone)]
pub struct IngestHandle {
    senders: Arc<Vec<mpsc::Sender<Msg>>>,
    placement: Arc<dyn Fn(TenantId) -> Option<u32> + Send + Sync>,
    max_batch: usize,
}

pub struct Ingest {
    handle: Option<IngestHandle>,
    threads: Vec<JoinHandle<()>>,
    pub totals: Arc<IngestTotals>,
}

impl Ingest {
    /// Starts one writer thread per shard. `placement` maps a tenant to its shard index.
    pub fn start(
        shards: &[Arc<Shard>],
        cfg: IngestConfig,
        placement: Arc<dyn Fn(TenantId) -> Option<u32> + Send + Sync>,
        hook: Option<StatsHook>,
    ) -> Self {
        let totals = Arc::new(IngestTotals::default());
        let mut senders = Vec::with_capacity(shards.len());
        let mut receivers = Vec::with_capacity(shards.len());
        for _ in shards {
            let (tx, rx) = mpsc::channel(cfg.queue.max(1));
            senders.push(tx);
            receivers.push(rx);
        }
        // Each writer may hand a moved tenant's batch to the writer of its new shard; weakly,
        // so the channels still close when the handles go.
        let peers: Arc<Vec<mpsc::WeakSender<Msg>>> =
            Arc::new(senders.iter().map(|s| s.downgrade()).collect());
        let mut threads = Vec::with_capacity(shards.len());
        for (shard, rx) in shards.iter().zip(receivers) {
            let shard = shard.clone();
            let totals = totals.clone();
            let hook = hook.clone();
            let peers = peers.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ingest-{:02}", shard.index()))
                .spawn(move || writer_loop(shard, rx, cfg, totals, hook, peers));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => tracing::error!(error = %e, "cannot start ingest writer thread"),
            }
        }
        Ingest {
            handle: Some(IngestHandle {
                senders: Arc::new(senders),
                placement,
                max_batch: cfg.max_batch,
            }),
            threads,
            totals,
        }
    }

    pub fn handle(&self) -> Option<IngestHandle> {
        self.handle.clone()
    }

    /// Stops taking work, lets the writers commit what they hold, and waits for them.
    pub fn shutdown(mut self) {
        if let Some(h) = self.handle.take() {
            for sender in h.senders.iter() {
                // Queued batches before the stop are committed and acknowledged.
                let mut msg = Msg::Stop;
                loop {
                    match sender.try_send(msg) {
                        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => break,
                        Err(mpsc::error::TrySendError::Full(m)) => {
                            msg = m;
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl IngestHandle {
    /// Submits a batch for one tenant and resolves once it is durably committed.
    pub async fn submit(
        &self,
        tenant: TenantId,
        events: Vec<Increment>,
    ) -> Result<(), IngestError> {
        let rx = self.enqueue(tenant, events).await?;
        rx.await.map_err(|_| IngestError::Stopped)?
    }

    /// Queues a batch and returns the acknowledgement to wait for, so a caller can keep
    /// several batches in flight.
    pub async fn enqueue(
        &self,
        tenant: TenantId,
        events: Vec<Increment>,
    ) -> Result<oneshot::Receiver<Result<(), IngestError>>, IngestError> {
        self.enqueue_batch(
            tenant,
            Batch {
                counters: events,
                ..Batch::default()
            },
        )
        .await
    }

    /// Submits a mixed batch and resolves once it is durably committed.
    pub async fn submit_batch(&self, tenant: TenantId, batch: Batch) -> Result<(), IngestError> {
        let rx = self.enqueue_batch(tenant, batch).await?;
        rx.await.map_err(|_| IngestError::Stopped)?
    }

    /// Queues a mixed batch; see [`IngestHandle::enqueue`].
    pub async fn enqueue_batch(
        &self,
        tenant: TenantId,
        batch: Batch,
    ) -> Result<oneshot::Receiver<Result<(), IngestError>>, IngestError> {
        if batch.len() > self.max_batch {
            return Err(IngestError::TooLarge(batch.len(), self.max_batch));
        }
        // Events carry their own tenant; a batch may only touch the submitter's tenant.
        if !batch.all_for(tenant) {
            return Err(IngestError::Commit(
                "event for another tenant in batch".into(),
            ));
        }
        let shard = (self.placement)(tenant).ok_or(IngestError::Stopped)?;
        let sender = self
            .senders
            .get(shard as usize)
            .ok_or(IngestError::Stopped)?;
        let (ack, rx) = oneshot::channel();
        sender
            .send(Msg::Job(Job { tenant, batch, ack }))
            .await
            .map_err(|_| IngestError::Stopped)?;
        Ok(rx)
    }
}

/// Passes the common gate and the job's tenant gate once per commit (a tenant being moved
/// waits here, and a move waits for this commit). A job whose tenant moved to another shard
/// is returned as `Err`, to go to that shard's writer once this round holds no pass.
fn admit(
    job: Job,
    shard: &Shard,
    all: &mut Option<crate::moves::Pass>,
    passes: &mut HashMap<TenantId, crate::moves::Pass>,
) -> Result<Job, (u32, Job)> {
    if all.is_none() {
        *all = Some(shard.moves().enter_all());
    }
    if !passes.contains_key(&job.tenant)
        && let Some(p) = shard.moves().enter(job.tenant)
    {
        passes.insert(job.tenant, p);
    }
    match passes.get(&job.tenant) {
        Some(p) if p.shard != shard.index() => Err((p.shard, job)),
        _ => Ok(job),
    }
}

/// Hands jobs on to the writers of their tenants' shards now.
fn hand_on(jobs: &mut Vec<(u32, Job)>, peers: &[mpsc::WeakSender<Msg>]) {
    for (to, job) in jobs.drain(..) {
        match peers.get(to as usize).and_then(|p| p.upgrade()) {
            Some(peer) => {
                if let Err(mpsc::error::SendError(Msg::Job(j))) = peer.blocking_send(Msg::Job(job))
                {
                    let _ = j.ack.send(Err(IngestError::Stopped));
                }
            }
            None => {
                let _ = job.ack.send(Err(IngestError::Stopped));
            }
        }
    }
}

fn writer_loop(
    shard: Arc<Shard>,
    mut rx: mpsc::Receiver<Msg>,
    cfg: IngestConfig,
    totals: Arc<IngestTotals>,
    hook: Option<StatsHook>,
    peers: Arc<Vec<mpsc::WeakSender<Msg>>>,
) {
    let mut passes: HashMap<TenantId, crate::moves::Pass> = HashMap::new();
    let mut all: Option<crate::moves::Pass> = None;
    let mut moved: Vec<(u32, Job)> = Vec::new();
    let mut merged: HashMap<CounterKey, u64> = HashMap::new();
    let mut plain: Vec<Increment> = Vec::new();
    let mut user_days: HashMap<(TenantId, ChatId, Day, i64), u64> = HashMap::new();
    let mut users: HashMap<(TenantId, i64), SeenMerged> = HashMap::new();
    let mut acks = Vec::new();
    let mut stopping = false;
    while !stopping {
        let first = match rx.blocking_recv() {
            Some(Msg::Job(j)) => j,
            Some(Msg::Stop) | None => break,
        };
        let started = Instant::now();
        let mut events = 0usize;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            let job = match admit(job, &shard, &mut all, &mut passes) {
                Ok(job) => job,
                Err(elsewhere) => {
                    moved.push(elsewhere);
                    next = match rx.try_recv() {
                        Ok(Msg::Job(j)) => Some(j),
                        Ok(Msg::Stop) => {
                            stopping = true;
                            None
                        }
                        Err(_) => None,
                    };
                    continue;
                }
            };
            events += job.batch.len();
            if cfg.merge {
                for e in &job.batch.counters {
                    *merged.entry(e.key).or_insert(0) += e.delta;
                }
            } else {
                plain.extend_from_slice(&job.batch.counters);
            }
            for e in &job.batch.user_days {
                *user_days
                    .entry((e.tenant, e.chat, e.day, e.user))
                    .or_insert(0) += e.delta;
            }
            for u in job.batch.users {
                merge_user(
                    users
                        .entry((u.tenant, u.user))
                        .or_insert_with(|| SeenMerged {
                            first_at: u.at,
                            last: UserSeen {
                                messages: 0,
                                ..u.clone()
                            },
                        }),
                    u,
                );
            }
            acks.push(job.ack);
            if events < cfg.max_events_per_commit {
                next = match rx.try_recv() {
                    Ok(Msg::Job(j)) => Some(j),
                    Ok(Msg::Stop) => {
                        stopping = true;
                        None
                    }
                    Err(_) => None,
                };
            }
        }
        if acks.is_empty() {
            // Every job goes to another shard's writer: nothing to commit, no pass to hold.
            passes.clear();
            all = None;
            hand_on(&mut moved, &peers);
            continue;
        }
        let distinct = if cfg.merge { merged.len() } else { plain.len() };
        let result = commit(&shard, &merged, &plain, &user_days, &users);
        // Committed (or not): moves waiting for these tenants may go on.
        passes.clear();
        all = None;
        hand_on(&mut moved, &peers);
        let batches = acks.len();
        match &result {
            Ok(()) => {
                totals.commits.fetch_add(1, Ordering::Relaxed);
                totals.events.fetch_add(events as u64, Ordering::Relaxed);
            }
            Err(e) => {
                totals.failed_commits.fetch_add(1, Ordering::Relaxed);
                tracing::error!(shard = shard.index(), error = %e, "ingest commit failed");
            }
        }
        for ack in acks.drain(..) {
            let _ = ack.send(result.clone());
        }
        merged.clear();
        plain.clear();
        user_days.clear();
        users.clear();
        if let Some(h) = &hook {
            h(CommitStats {
                shard: shard.index(),
                batches,
                events,
                distinct_keys: distinct,
                duration: started.elapsed(),
            });
        }
    }
}

/// A user's sightings within one commit: the names and time of the latest, the earliest
/// time, and the messages summed.
struct SeenMerged {
    first_at: i64,
    last: UserSeen,
}

fn merge_user(into: &mut SeenMerged, u: UserSeen) {
    into.first_at = into.first_at.min(u.at);
    let last = &mut into.last;
    if u.at >= last.at {
        last.first_name = u.first_name;
        last.last_name = u.last_name;
        last.username = u.username;
        last.at = u.at;
    }
    last.messages += u.messages;
}

fn commit(
    shard: &Shard,
    merged: &HashMap<CounterKey, u64>,
    plain: &[Increment],
    user_days: &HashMap<(TenantId, ChatId, Day, i64), u64>,
    users: &HashMap<(TenantId, i64), SeenMerged>,
) -> Result<(), IngestError> {
    let err = |e: redb::Error| IngestError::Commit(e.to_string());
    let mut tx = shard.database().begin_write().map_err(|e| err(e.into()))?;
    tx.set_durability(Durability::Immediate)
        .map_err(|e| err(e.into()))?;
    {
        let mut t = tx.open_table(COUNTERS).map_err(|e| err(e.into()))?;
        let mut apply = |k: &CounterKey, d: u64| -> Result<(), IngestError> {
            let key = (k.tenant, k.chat, k.day, k.metric);
            let cur = t
                .get(key)
                .map_err(|e| err(e.into()))?
                .map_or(0, |v| v.value());
            t.insert(key, cur.saturating_add(d))
                .map_err(|e| err(e.into()))?;
            Ok(())
        };
        if merged.is_empty() {
            for e in plain.iter() {
                apply(&e.key, e.delta)?;
            }
        } else {
            // Key order keeps the B-tree writes local.
            let mut keys: Vec<(&CounterKey, &u64)> = merged.iter().collect();
            keys.sort_unstable_by_key(|(k, _)| **k);
            for (k, d) in keys {
                apply(k, *d)?;
            }
        }
    }
    if !user_days.is_empty() {
        let mut t = tx.open_table(USER_DAYS).map_err(|e| err(e.into()))?;
        let mut keys: Vec<_> = user_days.iter().collect();
        keys.sort_unstable_by_key(|(k, _)| **k);
        for (k, d) in keys {
            let cur = t
                .get(*k)
                .map_err(|e| err(e.into()))?
                .map_or(0, |v| v.value());
            t.insert(*k, cur.saturating_add(*d))
                .map_err(|e| err(e.into()))?;
        }
    }
    if !users.is_empty() {
        let mut t = tx.open_table(TG_USERS).map_err(|e| err(e.into()))?;
        let mut keys: Vec<_> = users.iter().collect();
        keys.sort_unstable_by_key(|(k, _)| **k);
        for (k, m) in keys {
            let u = &m.last;
            let old: Option<TgUserRec> = match t.get(*k).map_err(|e| err(e.into()))? {
                Some(v) => Some(
                    v.value()
                        .decode()
                        .map_err(|e| IngestError::Commit(e.to_string()))?,
                ),
                None => None,
            };
            let rec = match old {
                Some(mut r) => {
                    if u.at >= r.last_seen {
                        r.first_name = u.first_name.clone();
                        r.last_name = u.last_name.clone();
                        r.username = u.username.clone();
                        r.last_seen = u.at;
                    }
                    r.first_seen = r.first_seen.min(m.first_at);
                    r.messages = r.messages.saturating_add(u.messages);
                    r
                }
                None => TgUserRec {
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    username: u.username.clone(),
                    first_seen: m.first_at,
                    last_seen: u.at,
                    messages: u.messages,
                },
            };
            let bytes = RecBytes::encode(&rec).map_err(|e| IngestError::Commit(e.to_string()))?;
            t.insert(*k, bytes).map_err(|e| err(e.into()))?;
        }
    }
    // What changed, for the PostgreSQL export: each tenant's days, and its users.
    let mut marks = std::collections::BTreeSet::new();
    if merged.is_empty() {
        marks.extend(plain.iter().map(|e| (e.key.tenant, Part::Day(e.key.day))));
    } else {
        marks.extend(merged.keys().map(|k| (k.tenant, Part::Day(k.day))));
    }
    marks.extend(user_days.keys().map(|k| (k.0, Part::Day(k.2))));
    marks.extend(users.keys().map(|k| (k.0, Part::Users)));
    crate::changes::mark(&tx, marks).map_err(|e| IngestError::Commit(e.to_string()))?;
    tx.commit().map_err(|e| err(e.into()))
}
