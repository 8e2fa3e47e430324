//! Ingest throughput: 1,000,000 counter increments over 200 tenants × 40 chats × 7 days,
//! committed durably by the per-shard writers, submitted by 200 concurrent tenant tasks in
//! batches with several batches in flight per tenant. Compares merge on/off and 1 vs 8 shards.
//!
//! `cargo bench -p botyard-shards --bench ingest [-- --reps N --batch N --in-flight N]`

use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use botyard_shards::ids::{ChatId, Day, TenantId};
use botyard_shards::ingest::{CommitStats, CounterKey, Increment, Ingest, IngestConfig};
use botyard_shards::records::{AccountRec, TenantRec, TenantStatus};
use botyard_shards::{Store, StoreConfig};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

type BoxResult<T> = Result<T, Box<dyn Error>>;

const TOTAL: usize = 1_000_000;
const TENANTS: usize = 200;
const CHATS: i64 = 40;
const DAYS: u32 = 7;

#[derive(Clone, Copy)]
struct Params {
    reps: usize,
    batch: usize,
    in_flight: usize,
}

fn parse_args() -> BoxResult<Params> {
    let mut p = Params {
        reps: 5,
        batch: 100,
        in_flight: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> BoxResult<usize> {
            let v = args.next().ok_or(format!("{name} needs a value"))?;
            Ok(v.parse::<usize>()?)
        };
        match a.as_str() {
            // Passed by `cargo bench`.
            "--bench" => {}
            "--reps" => p.reps = num("--reps")?.max(1),
            "--batch" => p.batch = num("--batch")?.max(1),
            "--in-flight" => p.in_flight = num("--in-flight")?.max(1),
            other => eprintln!("ignoring argument {other:?}"),
        }
    }
    Ok(p)
}

#[derive(Clone, Copy, Debug)]
struct Config {
    shards: u32,
    merge: bool,
}

#[derive(Default)]
struct Run {
    rate: f64,
    elapsed: Duration,
    commits: usize,
    events: usize,
    distinct: usize,
    commit_time: Duration,
}

/// A fresh store with an admin and `TENANTS` tenants; returns the tenants' shard placement.
fn setup(dir: &std::path::Path, shards: u32) -> BoxResult<(Store, HashMap<TenantId, u32>)> {
    let store = Store::open(&StoreConfig {
        dir: dir.to_path_buf(),
        shards,
        catalog_cache_bytes: 16 << 20,
        shard_cache_bytes: 64 << 20,
    })?;
    let admin_id = store.catalog_write(|c| {
        c.insert_account(&AccountRec {
            email: "root@bench.test".into(),
            password_hash: "x".into(),
            is_admin: true,
            created_at: 0,
            password_changed_at: 0,
        })
    })?;
    let admin = store
        .principal_for_account(admin_id)?
        .ok_or("admin account vanished")?;
    let scope = store.admin(&admin).ok_or("not an admin")?;
    let mut placement = HashMap::new();
    for i in 0..TENANTS {
        let t = scope.create_tenant(&TenantRec {
            name: format!("tenant-{i}"),
            status: TenantStatus::Active,
            plan: None,
            created_at: 0,
            updated_at: 0,
        })?;
        placement.insert(t.tenant_id(), t.shard_index());
    }
    Ok((store, placement))
}

/// Every tenant's batches, generated before the clock starts.
fn workload(tenants: &[TenantId], batch: usize, seed: u64) -> Vec<(TenantId, Vec<Vec<Increment>>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let per_tenant = TOTAL / tenants.len();
    tenants
        .iter()
        .map(|&tenant| {
            let events: Vec<Increment> = (0..per_tenant)
                .map(|_| Increment {
                    key: CounterKey {
                        tenant,
                        chat: ChatId(-1_001_000_000_000 - rng.random_range(0..CHATS)),
                        day: Day(20_300 + rng.random_range(0..DAYS)),
                        metric: 0,
                    },
                    delta: 1,
                })
                .collect();
            (
                tenant,
                events.chunks(batch).map(<[Increment]>::to_vec).collect(),
            )
        })
        .collect()
}

fn run_once(cfg: Config, p: Params, seed: u64) -> BoxResult<Run> {
    let dir = tempfile::tempdir()?;
    let (store, placement) = setup(dir.path(), cfg.shards)?;
    let mut tenants: Vec<TenantId> = placement.keys().copied().collect();
    tenants.sort();
    let work = workload(&tenants, p.batch, seed);

    let stats: Arc<Mutex<Vec<CommitStats>>> = Arc::new(Mutex::new(Vec::new()));
    let hook_stats = stats.clone();
    let ingest = Ingest::start(
        store.shards(),
        IngestConfig {
            merge: cfg.merge,
            ..IngestConfig::default()
        },
        Arc::new(move |t| placement.get(&t).copied()),
        Some(Arc::new(move |s| {
            if let Ok(mut v) = hook_stats.lock() {
                v.push(s);
            }
        })),
    );
    let handle = ingest.handle().ok_or("ingest has no handle")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;

    let in_flight = p.in_flight;
    let elapsed = rt.block_on(async move {
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(work.len());
        for (tenant, batches) in work {
            let handle = handle.clone();
            tasks.push(tokio::spawn(async move {
                let mut pending = VecDeque::with_capacity(in_flight);
                for b in batches {
                    if pending.len() == in_flight
                        && let Some(ack) = pending.pop_front()
                    {
                        wait(ack).await?;
                    }
                    pending.push_back(handle.enqueue(tenant, b).await?);
                }
                for ack in pending {
                    wait(ack).await?;
                }
                Ok::<(), Box<dyn Error + Send + Sync>>(())
            }));
        }
        for t in tasks {
            t.await?.map_err(|e| e.to_string())?;
        }
        Ok::<Duration, Box<dyn Error>>(started.elapsed())
    })?;
    ingest.shutdown();

    // Not timed: every increment is in the store.
    let mut sum = 0u64;
    for s in store.shards() {
        let tx = redb::ReadableDatabase::begin_read(s.database())?;
        let t = tx.open_table(botyard_shards::tables::shard::COUNTERS)?;
        for row in redb::ReadableTable::iter(&t)? {
            sum += row?.1.value();
        }
    }
    if sum != TOTAL as u64 {
        return Err(format!("counters sum to {sum}, expected {TOTAL}").into());
    }

    let stats = stats.lock().map_err(|_| "stats lock poisoned")?;
    Ok(Run {
        rate: TOTAL as f64 / elapsed.as_secs_f64(),
        elapsed,
        commits: stats.len(),
        events: stats.iter().map(|s| s.events).sum(),
        distinct: stats.iter().map(|s| s.distinct_keys).sum(),
        commit_time: stats.iter().map(|s| s.duration).sum(),
    })
}

async fn wait(
    ack: tokio::sync::oneshot::Receiver<Result<(), botyard_shards::ingest::IngestError>>,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    ack.await??;
    Ok(())
}

fn main() -> BoxResult<()> {
    let p = parse_args()?;
    let configs = [
        Config {
            shards: 1,
            merge: true,
        },
        Config {
            shards: 1,
            merge: false,
        },
        Config {
            shards: 8,
            merge: true,
        },
        Config {
            shards: 8,
            merge: false,
        },
    ];
    println!(
        "ingest: {TOTAL} increments, {TENANTS} tenants x {CHATS} chats x {DAYS} days \
         ({} keys), batches of {}, {} in flight per tenant, durable commits, {} reps",
        TENANTS * CHATS as usize * DAYS as usize,
        p.batch,
        p.in_flight,
        p.reps
    );
    let started = Instant::now();
    let mut results: Vec<Vec<Run>> = configs.iter().map(|_| Vec::new()).collect();
    for rep in 0..p.reps {
        // Rotate the order so drift (page cache, disk) does not favour one configuration.
        for i in 0..configs.len() {
            let c = (i + rep) % configs.len();
            let run = run_once(configs[c], p, rep as u64)?;
            eprintln!(
                "  rep {rep} shards={} merge={}: {:.0} incr/s ({:.2} s, {} commits)",
                configs[c].shards,
                configs[c].merge,
                run.rate,
                run.elapsed.as_secs_f64(),
                run.commits
            );
            results[c].push(run);
        }
    }
    println!();
    for (cfg, runs) in configs.iter().zip(&mut results) {
        runs.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        let med = &runs[runs.len() / 2];
        let commits: usize = runs.iter().map(|r| r.commits).sum();
        let events: usize = runs.iter().map(|r| r.events).sum();
        let distinct: usize = runs.iter().map(|r| r.distinct).sum();
        let commit_time: Duration = runs.iter().map(|r| r.commit_time).sum();
        println!(
            "ingest shards={} merge={:<5}  median {:>9.0} incr/s  (min {:.0}, max {:.0}; n={})  \
             | per commit: {:.0} events, {:.0} keys written, {:.2} ms",
            cfg.shards,
            cfg.merge,
            med.rate,
            runs[0].rate,
            runs[runs.len() - 1].rate,
            runs.len(),
            events as f64 / commits.max(1) as f64,
            distinct as f64 / commits.max(1) as f64,
            commit_time.as_secs_f64() * 1e3 / commits.max(1) as f64,
        );
    }
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
