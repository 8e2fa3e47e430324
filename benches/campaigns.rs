//! Campaign scheduler benchmarks on a real store (no workers: a recorder takes the jobs).
//!
//! - `due`: 10,000 active campaigns across 1,000 tenants (3 target groups each), all due in
//!   the same minute: time from the scheduler's pass to every run's pending deliveries
//!   durable and every job handed out.
//! - `load`: 100,000 active campaigns across 1,000 tenants: time to load the timers at start.
//! - `memory`: the timer structure's memory per active campaign (runs first, on a fresh heap).
//!
//! `cargo bench --bench campaigns` runs both; `cargo bench --bench campaigns -- due` one.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use botyard::clock::ManualClock;
use botyard::domain::campaigns::scheduler::{JobSink, Scheduler};
use botyard::worker::ipc::messages::SendJob;
use botyard_shards::ids::{ChatId, TenantId};
use botyard_shards::records::*;
use botyard_shards::{GroupFacts, Store, StoreConfig};

/// 2026-12-04T10:00:00Z
const DUE: i64 = 1_796_378_400;

struct Recorder {
    jobs: AtomicU64,
    deliveries: AtomicU64,
}

impl JobSink for Recorder {
    fn deliver(&self, _tenant: TenantId, jobs: Vec<SendJob>) {
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
    }
}

fn open(dir: &Path) -> Arc<Store> {
    Arc::new(
        Store::open(&StoreConfig {
            dir: dir.to_path_buf(),
            shards: 4,
            catalog_cache_bytes: 32 << 20,
            shard_cache_bytes: 64 << 20,
        })
        .expect("store"),
    )
}

/// `tenants` tenants with `per_tenant` active campaigns each, due at `DUE`, each aimed at
/// `groups` enabled groups. One write transaction per shard.
fn fill(store: &Store, tenants: usize, per_tenant: usize, groups: usize) {
    let admin = store.system_admin();
    let recs: Vec<TenantRec> = (0..tenants)
        .map(|i| TenantRec {
            name: format!("Dükkan {i}"),
            status: TenantStatus::Active,
            plan: None,
            created_at: 0,
            updated_at: 0,
        })
        .collect();
    let ids = admin.create_tenants(&recs).expect("tenants");
    let mut by_shard: Vec<Vec<TenantId>> = vec![Vec::new(); store.shard_count() as usize];
    for id in ids {
        let s = store.shard_of(id).expect("placement").expect("shard");
        by_shard[s as usize].push(id);
    }
    for (shard, ts) in by_shard.iter().enumerate() {
        store
            .shard_batch(shard as u32, |b| {
                for t in ts {
                    b.tenant(*t, |s| {
                        let session = s.insert_session(&SessionRec {
                            label: "bot".into(),
                            kind: SessionKindRec::Sim,
                            created_at: 0,
                        })?;
                        let facts: Vec<GroupFacts> = (0..groups)
                            .map(|g| GroupFacts {
                                chat: ChatId(-1_000 - g as i64),
                                title: format!("Grup {g}"),
                                kind: GroupKindRec::Supergroup,
                                members: 100,
                                can_post: true,
                                is_admin: false,
                                slow_mode_secs: 0,
                                rights: (false, false),
                            })
                            .collect();
                        s.sync_groups(session.0, &facts, 0)?;
                        for (c, mut g) in s.groups()? {
                            g.enabled = true;
                            s.put_group(c, &g)?;
                        }
                        let template = s.insert_template(
                            "Duyuru",
                            &TemplateVersionRec {
                                body:
                                    "**{group.title}**: bugün {date} indirim, {group.members} üye"
                                        .into(),
                                format: TemplateFormatRec::Markdown,
                                buttons: Vec::new(),
                                created_at: 0,
                                author: None,
                                media: None,
                            },
                        )?;
                        for i in 0..per_tenant {
                            s.insert_campaign(&CampaignRec {
                                name: format!("Kampanya {i}"),
                                template,
                                version: None,
                                chats: facts.iter().map(|f| f.chat).collect(),
                                tags: Vec::new(),
                                session,
                                schedule: ScheduleRec::Every { minutes: 60 },
                                window: None,
                                starts_on: None,
                                ends_on: None,
                                jitter_secs: 0,
                                delete_previous: false,
                                pin: false,
                                state: CampaignStateRec::Active,
                                anchor: DUE - 3_600,
                                next_run: Some(DUE),
                                runs: 0,
                                last_posts: Vec::new(),
                                created_at: 0,
                                updated_at: 0,
                            })?;
                        }
                        Ok::<_, botyard_shards::StoreError>(())
                    })??;
                }
                Ok::<_, botyard_shards::StoreError>(())
            })
            .expect("fill");
    }
}

fn scheduler(store: Arc<Store>) -> (Arc<Scheduler>, Arc<Recorder>) {
    let rec = Arc::new(Recorder {
        jobs: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
    });
    let clock = Arc::new(ManualClock::new(DUE));
    (Scheduler::new(store, clock, rec.clone()), rec)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn bench_due() {
    let (tenants, per, groups) = (1_000, 10, 3);
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    // Alternating, so both see the same machine: shards written side by side (the default)
    // and one after another.
    for round in 0..6 {
        let parallel = round % 2 == 0;
        let dir = tempfile::tempdir().expect("dir");
        let store = open(dir.path());
        let t = Instant::now();
        fill(&store, tenants, per, groups);
        let fill_s = t.elapsed().as_secs_f64();
        let (sch, rec) = scheduler(store.clone());
        sch.set_parallel(parallel);
        let loaded = sch.load().expect("load");
        let t = Instant::now();
        let due = sch.run_due(DUE + 30).expect("run");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let jobs = rec.jobs.load(Ordering::Relaxed);
        assert_eq!((loaded, due), (tenants * per, tenants * per));
        assert_eq!(jobs, (tenants * per * groups) as u64);
        // Every delivery is durable and pending.
        let pending: usize = (0..3)
            .map(|i| {
                store
                    .supervisor_scope(TenantId(i + 1))
                    .and_then(|s| s.shard_read()?.pending_deliveries())
                    .map(|p| p.len())
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(pending, 3 * per * groups);
        let mode = if parallel {
            "side by side"
        } else {
            "one by one"
        };
        println!(
            "due round {round} ({mode}): {due} runs, {jobs} deliveries written and handed out in {ms:.0} ms (setup {fill_s:.1} s)"
        );
        times[usize::from(!parallel)].push(ms);
    }
    let [side, one] = times;
    println!(
        "due: median {:.0} ms with shards side by side, {:.0} ms one by one, for {} runs / {} deliveries (target: under 1000 ms)",
        median(side),
        median(one),
        tenants * per,
        tenants * per * groups
    );
}

fn bench_load() {
    let (tenants, per) = (1_000, 100);
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let t = Instant::now();
    fill(&store, tenants, per, 1);
    println!(
        "load: wrote {} campaigns in {:.1} s",
        tenants * per,
        t.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for _ in 0..5 {
        let (sch, _) = scheduler(store.clone());
        let t = Instant::now();
        let n = sch.load().expect("load");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(n, tenants * per);
    }
    println!(
        "load: median {:.0} ms to load {} timers",
        median(times),
        tenants * per
    );
}

/// The timer structure's memory: run first, on a fresh heap, so growth is not hidden by
/// memory an earlier step freed.
fn bench_memory() {
    let (tenants, per) = (1_000usize, 100usize);
    let dir = tempfile::tempdir().expect("dir");
    let (sch, _) = scheduler(open(dir.path()));
    let before = rss_kb();
    for i in 0..tenants * per {
        sch.set(
            TenantId(1 + (i / per) as u64),
            botyard_shards::ids::CampaignId(1 + (i % per) as u64),
            Some(DUE + i as i64),
        );
    }
    let after = rss_kb();
    println!(
        "memory: timers for {} campaigns: {} KiB RSS, {:.0} bytes per campaign",
        sch.timers(),
        after.saturating_sub(before),
        (after.saturating_sub(before) * 1024) as f64 / sch.timers() as f64
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |n: &str| which.is_empty() || which.iter().any(|w| w == n);
    if want("memory") {
        bench_memory();
    }
    if want("due") {
        bench_due();
    }
    if want("load") {
        bench_load();
    }
}
