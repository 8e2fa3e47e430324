//! Statistics benchmarks on a real store.
//!
//! - `queries`: a store of 1,000 tenants × 20 groups × 365 days of counters and about
//!   10,000,000 per-user-day rows (one group has 10,000 members, 3,000 of them posting each
//!   day). Times the dashboard summary of a random tenant, a year of daily messages of a
//!   random group, and the top 100 users over 30 days of the 10,000-member group. The store
//!   is built once into `target/bench-stats-v1` and reused.
//! - `prune`: 100 tenants with 120 days of rows on a 30-day plan: pruning throughput, and the
//!   ingestion rate of a steady writer while pruning runs against without; 2,000 rows per
//!   transaction (the default) against 20,000, alternating, each on a fresh store.
//!
//! - `app`: the Mini-App's screens served over HTTP by the appliance running on the `queries`
//!   store (1,000 tenants × a year): each screen, and the statistics calls its dashboard makes,
//!   for 200 random tenants, one request at a time on loopback (latency as the client sees it,
//!   an upper bound of the server's time).
//!
//! - `backup`: an online backup of the `queries` store, alone and while a steady writer
//!   ingests, whose rate is compared with its rate without the backup.
//!
//! - `move`: a tenant of the `queries` store moved to another shard and back while a steady
//!   writer posts to it: rows, time, and how long its writes were paused.
//!
//! - `pg`: `botyard-migrate postgres export` of the `queries` store into a scratch PostgreSQL
//!   cluster (initdb under `target/`): the full export against a raw binary `COPY` of the same
//!   rows into the same tables, then one day of traffic for every tenant and the incremental
//!   export that carries it, and one with nothing changed.
//!
//! `cargo bench --bench stats` runs them all; `cargo bench --bench stats -- queries` one.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use botyard::domain::stats::{self, Range, activity};
use botyard_shards::ids::{ChatId, Day, TenantId};
use botyard_shards::ingest::{
    Batch, CounterKey, Increment, Ingest, IngestConfig, UserDayIncrement,
};
use botyard_shards::records::*;
use botyard_shards::tables::shard::{COUNTERS, TG_USERS, USER_DAYS};
use botyard_shards::{GroupFacts, RecBytes, Store, StoreConfig};

/// 2026-11-28 as a day number.
const TODAY: Day = Day(20_785);
const GROUPS: i64 = 20;
const DAYS: u32 = 365;
const HEAVY_MEMBERS: i64 = 10_000;
const HEAVY_DAILY: i64 = 3_000;

fn open(dir: &Path, shards: u32) -> Arc<Store> {
    Arc::new(
        Store::open(&StoreConfig {
            dir: dir.to_path_buf(),
            shards,
            catalog_cache_bytes: 32 << 20,
            shard_cache_bytes: 256 << 20,
        })
        .expect("store"),
    )
}

/// A cheap, fixed hash for the fake traffic.
fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut x = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add(c);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

fn chat(g: i64) -> ChatId {
    ChatId(-1_000_000_000_000 - 1000 - g)
}

/// Tenants with `GROUPS` groups each (through the store API), then raw counter, user-day and
/// user rows in key order, one transaction per shard. Returns the tenants.
fn fill(store: &Store, tenants: usize, days: u32, heavy: bool) -> Vec<TenantId> {
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
    for id in &ids {
        let s = store.shard_of(*id).expect("placement").expect("shard");
        by_shard[s as usize].push(*id);
    }
    let first = Day(TODAY.0 - (days - 1));
    let mut rows = (0u64, 0u64);
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
                        let facts: Vec<GroupFacts> = (0..GROUPS)
                            .map(|g| GroupFacts {
                                chat: chat(g),
                                title: format!("Grup {g}"),
                                kind: GroupKindRec::Supergroup,
                                members: if heavy && g == 0 && t.0 == ids[0].0 {
                                    10_000
                                } else {
                                    300
                                },
                                can_post: true,
                                is_admin: true,
                                slow_mode_secs: 0,
                                rights: (false, false),
                            })
                            .collect();
                        s.sync_groups(session.0, &facts, 0)?;
                        Ok::<_, botyard_shards::StoreError>(())
                    })??;
                }
                Ok::<_, botyard_shards::StoreError>(())
            })
            .expect("groups");
        let db = store.shards()[shard].database();
        let mut tx = db.begin_write().expect("tx");
        tx.set_durability(redb::Durability::None)
            .expect("durability");
        {
            let mut counters = tx.open_table(COUNTERS).expect("counters");
            let mut user_days = tx.open_table(USER_DAYS).expect("user days");
            let mut users = tx.open_table(TG_USERS).expect("users");
            for t in ts {
                let is_heavy = heavy && t.0 == ids[0].0;
                for g in 0..GROUPS {
                    let c = chat(g);
                    for d in first.0..=TODAY.0 {
                        let h = mix(t.0, g as u64, u64::from(d));
                        // Six busy hours a day, the kinds, joins and leaves.
                        let start = (h % 12) as u8 + 8;
                        for hour in start..start + 6 {
                            counters
                                .insert((*t, c, Day(d), hour), 3 + h % 40)
                                .expect("row");
                        }
                        for m in [24u8, 25, 27, 28] {
                            counters
                                .insert((*t, c, Day(d), m), 1 + (h >> 8) % 30)
                                .expect("row");
                        }
                        rows.0 += 10;
                        if is_heavy && g == 0 {
                            // 3,000 of the 10,000 members post each day.
                            let off = (h % HEAVY_MEMBERS as u64) as i64;
                            let mut day_users: Vec<i64> = (0..HEAVY_DAILY)
                                .map(|i| 5_000_000 + (off + i * 3) % HEAVY_MEMBERS)
                                .collect();
                            day_users.sort_unstable();
                            day_users.dedup();
                            for u in day_users {
                                user_days
                                    .insert((*t, c, Day(d), u), 1 + mix(u as u64, 1, 2) % 20)
                                    .expect("row");
                                rows.1 += 1;
                            }
                        } else {
                            let n = if h.is_multiple_of(5) { 2 } else { 1 };
                            for i in 0..n {
                                let u = 1_000 + ((h >> 16) as i64 + i) % 60;
                                user_days
                                    .insert((*t, c, Day(d), u), 1 + i as u64)
                                    .expect("row");
                                rows.1 += 1;
                            }
                        }
                    }
                }
                let ids: Vec<i64> = if is_heavy {
                    (1_000..1_060)
                        .chain(5_000_000..5_000_000 + HEAVY_MEMBERS)
                        .collect()
                } else {
                    (1_000..1_060).collect()
                };
                for u in ids {
                    let rec = TgUserRec {
                        first_name: format!("Üye {u}"),
                        last_name: None,
                        username: None,
                        first_seen: i64::from(first.0) * 86_400 + (u % 86_400),
                        last_seen: i64::from(TODAY.0) * 86_400,
                        messages: 10,
                    };
                    users
                        .insert((*t, u), RecBytes::encode(&rec).expect("encode"))
                        .expect("row");
                }
            }
        }
        tx.commit().expect("commit");
    }
    // Make it all durable once.
    for s in store.shards() {
        let tx = s.database().begin_write().expect("tx");
        tx.commit().expect("commit");
    }
    println!(
        "filled {tenants} tenants: {} counter rows, {} per-user-day rows",
        rows.0, rows.1
    );
    ids
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut ms: Vec<f64>, target_ms: f64) {
    let med = percentile(&mut ms, 0.5);
    let p99 = percentile(&mut ms, 0.99);
    println!(
        "{name}: median {med:.3} ms, p99 {p99:.3} ms over {} runs (target {target_ms} ms)",
        ms.len()
    );
}

/// The `queries` store, built on first use: its folder and tenants.
fn queries_store() -> (std::path::PathBuf, Vec<TenantId>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-stats-v1");
    let marker = dir.join("filled");
    let tenants = if marker.exists() {
        let store = open(&dir, 4);
        let ids: Vec<TenantId> = store
            .tenant_ids()
            .expect("tenants")
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        drop(store);
        ids
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let store = open(&dir, 4);
        let t0 = Instant::now();
        let ids = fill(&store, 1_000, DAYS, true);
        println!("built in {:.0} s", t0.elapsed().as_secs_f64());
        std::fs::write(&marker, b"1").expect("marker");
        ids
    };
    (dir, tenants)
}

fn bench_queries() {
    let (dir, tenants) = queries_store();
    let store = open(&dir, 4);
    let zone = jiff::tz::TimeZone::UTC;
    let year = Range {
        from: Day(TODAY.0 - (DAYS - 1)),
        to: TODAY,
    };
    let month = Range {
        from: Day(TODAY.0 - 29),
        to: TODAY,
    };
    let scopes: Vec<_> = tenants
        .iter()
        .map(|t| store.supervisor_scope(*t).expect("scope"))
        .collect();
    // Warm the caches the way a running server has them.
    for s in scopes.iter().take(200) {
        let r = s.shard_read().expect("read");
        stats::summary::summary(&r, &zone, TODAY).expect("summary");
    }
    let mut summary = Vec::new();
    let mut series = Vec::new();
    for i in 0..3_000u64 {
        let s = &scopes[(mix(i, 7, 7) % scopes.len() as u64) as usize];
        let t0 = Instant::now();
        let r = s.shard_read().expect("read");
        let out = stats::summary::summary(&r, &zone, TODAY).expect("summary");
        summary.push(t0.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(out);

        let g = (mix(i, 9, 9) % GROUPS as u64) as i64;
        let t0 = Instant::now();
        let r = s.shard_read().expect("read");
        let out =
            activity::messages(&r, &[chat(g)], year, activity::Interval::Day).expect("messages");
        series.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(out.series.len(), DAYS as usize);
    }
    report("dashboard summary, one tenant (20 groups)", summary, 10.0);
    let mut heavy = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        let r = scopes[0].shard_read().expect("read");
        std::hint::black_box(stats::summary::summary(&r, &zone, TODAY).expect("summary"));
        heavy.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    report(
        "dashboard summary, the tenant with the 10,000-member group",
        heavy,
        10.0,
    );
    report("a year of daily messages, one group", series, 5.0);
    let mut top = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        let r = scopes[0].shard_read().expect("read");
        let out = activity::top_users(&r, &[chat(0)], month, 100).expect("top");
        top.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(out.len(), 100);
    }
    report("top 100 users over 30 days, 10,000-member group", top, 20.0);
}

fn bench_prune() {
    // The default batch against a large one, each on a fresh store, in one run.
    for batch in [
        stats::retention::PRUNE_BATCH,
        20_000,
        stats::retention::PRUNE_BATCH,
        20_000,
    ] {
        prune_round(batch);
    }
}

/// The ingestion writers of `store`, placing tenants as the store does.
fn start_ingest(store: &Arc<Store>) -> (Ingest, botyard_shards::ingest::IngestHandle) {
    let placement = store.clone();
    let ingest = Ingest::start(
        store.shards(),
        IngestConfig::default(),
        Arc::new(move |t| placement.shard_of(t).ok().flatten()),
        None,
    );
    let handle = ingest.handle().expect("handle");
    (ingest, handle)
}

/// A steady writer: batches of 1,000 counter and 1,000 per-user-day increments for each of
/// `tenants` in turn, durably, as fast as they commit, until `stop`; answers increments/s.
fn steady_writer(
    rt: &tokio::runtime::Runtime,
    handle: botyard_shards::ingest::IngestHandle,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tenants: Vec<TenantId>,
) -> tokio::task::JoinHandle<f64> {
    rt.spawn(async move {
        let t0 = Instant::now();
        let mut events = 0u64;
        let mut i = 0u64;
        let mut pending = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for t in &tenants {
                let mut b = Batch::default();
                for k in 0..1_000u64 {
                    i += 1;
                    b.counters.push(Increment {
                        key: CounterKey {
                            tenant: *t,
                            chat: chat((k % 20) as i64),
                            day: TODAY,
                            metric: (k % 24) as u8,
                        },
                        delta: 1,
                    });
                    b.user_days.push(UserDayIncrement {
                        tenant: *t,
                        chat: chat((k % 20) as i64),
                        day: TODAY,
                        user: (i % 5_000) as i64,
                        delta: 1,
                    });
                }
                pending.push(handle.enqueue_batch(*t, b).await.expect("enqueue"));
                events += 1_000;
            }
            for p in pending.drain(..) {
                p.await.expect("ack").expect("commit");
            }
        }
        events as f64 / t0.elapsed().as_secs_f64()
    })
}

/// Online backup of the `queries` store: alone, then with the steady writer running, whose
/// rate is compared with its rate alone (measured before and after).
fn bench_backup() {
    use botyard::domain::backup;
    let (dir, tenants) = queries_store();
    let store = open(&dir, 4);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut src_bytes = size(&dir.join("catalog.redb"));
    for i in 0..4 {
        src_bytes += size(&botyard_shards::shard_path(&dir, i));
    }
    let out = tempfile::tempdir_in(Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .expect("backup dir");
    let src = backup::Source {
        store: &store,
        media_root: dir.join("media"),
        master_key: dir.join("master.key"),
        key_id: 0,
    };
    let mb = |b: u64| b as f64 / 1e6;
    let run = |label: &str| {
        // On a thread of its own, as the server runs it (it lowers its thread's priority).
        let made = std::thread::scope(|s| {
            s.spawn(|| backup::create(&src, out.path(), None, 1_796_000_000))
                .join()
                .expect("backup thread")
        })
        .expect("backup");
        println!(
            "backup {label}: {:.0} MB (store files {:.0} MB, {} rows) in {:.1} s: {:.0} MB/s",
            mb(made.bytes),
            mb(src_bytes),
            made.manifest.total_rows(),
            made.secs,
            mb(made.bytes) / made.secs
        );
        std::fs::remove_file(&made.path).expect("remove");
        made.secs
    };
    run("alone");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ingest, handle) = start_ingest(&store);
    let writers: Vec<TenantId> = tenants.iter().step_by(250).copied().collect();
    let timed = |secs: u64| {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = steady_writer(&rt, handle.clone(), stop.clone(), writers.clone());
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(w).expect("writer")
    };
    let before = timed(10);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = steady_writer(&rt, handle.clone(), stop.clone(), writers.clone());
    std::thread::sleep(Duration::from_secs(1));
    run("during ingestion");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = rt.block_on(w).expect("writer");
    let after = timed(10);
    let alone = (before + after) / 2.0;
    println!(
        "  ingestion: {before:.0} increments/s before, {after:.0} after, {during:.0} during the backup ({:.0} % of alone)",
        during / alone * 100.0
    );
    drop(handle);
    ingest.shutdown();
}

/// Moving a tenant between shards of the `queries` store while a steady writer posts to it:
/// the busiest tenant (a year, its 10,000-member group) and a typical one, each moved and
/// moved back.
fn bench_move() {
    let (dir, tenants) = queries_store();
    let store = open(&dir, 4);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ingest, handle) = start_ingest(&store);
    for (label, t) in [
        ("busiest", tenants[0]),
        ("typical", tenants[tenants.len() / 2]),
    ] {
        let home = store.current_shard(t).expect("shard");
        for to in [(home + 1) % 4, home] {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let w = steady_writer(&rt, handle.clone(), stop.clone(), vec![t]);
            std::thread::sleep(Duration::from_millis(500));
            let m = store.move_tenant(t, to).expect("move");
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let rate = rt.block_on(w).expect("writer");
            println!(
                "move {label} tenant {} shard {} -> {}: {} rows ({} caught up) in {:.2} s, writes paused {:.1} ms; its writer {rate:.0} increments/s",
                t.0,
                m.from,
                m.to,
                m.rows,
                m.caught_up,
                m.took.as_secs_f64(),
                m.paused.as_secs_f64() * 1e3
            );
        }
    }
    drop(handle);
    ingest.shutdown();
}

fn prune_round(batch: usize) {
    let tmp = tempfile::tempdir().expect("dir");
    let store = open(tmp.path(), 4);
    let ids = fill(&store, 100, 120, false);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // A steady writer: one tenant's batches of 1,000 increments, as fast as they commit.
    let (ingest, handle) = start_ingest(&store);
    let writer = |stop: Arc<std::sync::atomic::AtomicBool>, tenants: Vec<TenantId>| {
        steady_writer(&rt, handle.clone(), stop, tenants)
    };
    let writers: Vec<TenantId> = ids.iter().step_by(25).copied().collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = writer(stop.clone(), writers.clone());
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let alone = rt.block_on(w).expect("writer");
    // The same writer while every tenant is pruned to 30 days.
    {
        let admin = store.system_admin();
        let plan = admin
            .catalog_write(|c| {
                c.insert_plan(&PlanRec {
                    name: "30 gün".into(),
                    limits: PlanLimits {
                        sessions: 1,
                        groups: 20,
                        templates: 1,
                        campaigns: 1,
                        sends_per_day: 1,
                        retention_days: 30,
                        worker_memory_mb: 64,
                        media_mb: 1,
                        events_per_sec: 200,
                        min_interval_mins: 10,
                    },
                    created_at: 0,
                    updated_at: 0,
                })
            })
            .expect("plan");
        for t in &ids {
            let scope = store.supervisor_scope(*t).expect("scope");
            let mut rec = scope.record().clone();
            rec.plan = Some(plan);
            scope
                .catalog_write(|c| c.put_tenant(&rec))
                .expect("plan set");
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = writer(stop.clone(), writers);
    let t0 = Instant::now();
    let now = i64::from(TODAY.0) * 86_400 + 43_200;
    let pruned = rt.block_on(stats::retention::prune_all_in(store.clone(), now, batch));
    let took = t0.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = rt.block_on(w).expect("writer");
    println!(
        "prune, {batch} rows per transaction: {} per-user rows and {} total rows from {} tenants in {:.2} s ({:.0} rows/s, {} transactions)",
        pruned.user_rows,
        pruned.total_rows,
        pruned.tenants,
        took,
        pruned.user_rows as f64 / took,
        pruned.transactions
    );
    println!(
        "  ingestion: {alone:.0} increments/s alone, {during:.0} increments/s while pruning ({:+.1} %)",
        (during / alone - 1.0) * 100.0
    );
    drop(handle);
    ingest.shutdown();
}

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "kirmizi-fener-1907";

/// The appliance in-process on the `queries` store, its clock at noon (UTC) of the store's last
/// day, so the dashboard's today, week and heat map fall on days with traffic.
async fn serve_queries_store(dir: &Path) -> common::Running {
    {
        // The appliance refuses a data folder others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let c = common::store_config(dir, ADMIN_EMAIL, ADMIN_PASSWORD);
    let noon = i64::from(TODAY.0) * 86_400 + 12 * 3600;
    let clock = std::sync::Arc::new(botyard::clock::ManualClock::new(noon));
    common::start_with(
        c,
        botyard::RunOptions {
            clock,
            ..botyard::RunOptions::default()
        },
    )
    .await
}

fn bench_app() {
    let (dir, tenants) = queries_store();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let running = serve_queries_store(&dir).await;
        let base = running.ready.base_url.clone();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let cookie = common::sign_in(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        // The same 200 tenants for every screen, in a shuffled order.
        let mut picked: Vec<u64> = (0..200u64)
            .map(|i| tenants[(mix(i, 7, 11) % tenants.len() as u64) as usize].0)
            .collect();
        picked.dedup();
        let screens = [
            ("dashboard", ""),
            ("stats/messages (chart)", "api:stats/messages"),
            ("stats/users (chart)", "api:stats/users"),
            ("groups", "/groups"),
            ("groups search", "/groups?q=GRUP+1"),
            ("templates", "/templates"),
            ("campaigns", "/campaigns"),
            ("sessions", "/sessions"),
            ("subscription", "/subscription"),
            ("settings", "/settings"),
            ("more", "/more"),
        ];
        println!(
            "Mini-App screens, {} tenants, one request at a time (client-side ms):",
            picked.len()
        );
        println!("  (first visit: the first request for each tenant's screen; again: the second)");
        for (name, path) in screens {
            let mut ms = Vec::new();
            let mut first = Vec::new();
            for round in 0..2 {
                for t in &picked {
                    let url = match path.strip_prefix("api:") {
                        Some(api) => format!("{base}/api/v1/tenants/{t}/{api}"),
                        None => format!("{base}/app/tenants/{t}{path}"),
                    };
                    let started = Instant::now();
                    let r = http
                        .get(&url)
                        .header("cookie", &cookie)
                        .header("accept-encoding", "gzip")
                        .send()
                        .await
                        .expect("get");
                    assert_eq!(r.status(), 200, "{url}");
                    r.bytes().await.expect("body");
                    let took = started.elapsed().as_secs_f64() * 1000.0;
                    if round == 0 {
                        first.push(took);
                    } else {
                        ms.push(took);
                    }
                }
            }
            // Which first visits were slowest, by their place in the run (the first requests
            // after start warm the store's caches).
            let mut order: Vec<(usize, f64)> = first.iter().copied().enumerate().collect();
            order.sort_by(|a, b| b.1.total_cmp(&a.1));
            let slowest: Vec<String> = order
                .iter()
                .take(3)
                .map(|(i, ms)| format!("#{i} {ms:.1} ms"))
                .collect();
            let (fmed, fp99) = (percentile(&mut first, 0.5), percentile(&mut first, 0.99));
            let med = percentile(&mut ms, 0.5);
            let p99 = percentile(&mut ms, 0.99);
            println!(
                "  {name:<24} first visit median {fmed:>6.2} ms p99 {fp99:>6.2} ms | again median {med:>6.2} ms p99 {p99:>6.2} ms (target p99 < 20 ms); slowest first: {}",
                slowest.join(", ")
            );
        }
        running.shutdown().await;
    });
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |n: &str| which.is_empty() || which.iter().any(|w| w == n);
    if want("queries") {
        bench_queries();
    }
    if want("prune") {
        bench_prune();
    }
    if want("app") {
        bench_app();
    }
    if want("backup") {
        bench_backup();
    }
    if want("move") {
        bench_move();
    }
    if want("pg") {
        bench_pg(2);
    }
    // The incremental part alone (after one full export), for working on it.
    if which.iter().any(|w| w == "pg-incremental") {
        bench_pg(0);
    }
}

/// Copies every exported table out of PostgreSQL in binary, then times loading it back with
/// `COPY … FROM STDIN (FORMAT binary)` into the emptied tables, in one transaction, the
/// foreign keys dropped and validated after as the export's full load does: the raw speed the
/// export is measured against. Returns (rows, seconds).
async fn raw_copy(conn: &str) -> (u64, f64) {
    use botyard_migrate::pg_schema::SPECS;
    use futures_util::{SinkExt, StreamExt};
    let mut c = botyard_migrate::postgres::connect(conn)
        .await
        .expect("connect");
    let mut dumps = Vec::new();
    let mut rows = 0u64;
    for spec in SPECS {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM botyard.{}", spec.table), &[])
            .await
            .expect("count")
            .get(0);
        rows += n as u64;
        let out = c
            .copy_out(&format!(
                "COPY botyard.{} TO STDOUT (FORMAT binary)",
                spec.table
            ))
            .await
            .expect("copy out");
        // One message per row comes out; they go back in 4 MiB pieces, as a loader would.
        let mut chunks: Vec<Vec<u8>> = vec![Vec::with_capacity(4 << 20)];
        futures_util::pin_mut!(out);
        while let Some(b) = out.next().await {
            let b = b.expect("chunk");
            let last = chunks.last_mut().expect("a buffer");
            if last.len() + b.len() > 4 << 20 {
                chunks.push(Vec::with_capacity(4 << 20));
            }
            chunks.last_mut().expect("a buffer").extend_from_slice(&b);
        }
        dumps.push((spec.table, chunks));
    }
    let tx = c.transaction().await.expect("begin");
    let tables: Vec<String> = SPECS
        .iter()
        .map(|s| format!("botyard.{}", s.table))
        .collect();
    let t0 = Instant::now();
    // As the export's full load does: keys dropped, added back and validated after.
    tx.batch_execute(&format!(
        "TRUNCATE {};\n{}",
        tables.join(", "),
        botyard_migrate::pg_schema::drop_foreign_keys("botyard")
    ))
    .await
    .expect("truncate");
    for (table, chunks) in dumps {
        let sink = tx
            .copy_in::<_, std::io::Cursor<Vec<u8>>>(&format!(
                "COPY botyard.{table} FROM STDIN (FORMAT binary)"
            ))
            .await
            .expect("copy in");
        futures_util::pin_mut!(sink);
        for ch in chunks {
            sink.send(std::io::Cursor::new(ch)).await.expect("send");
        }
        sink.finish().await.expect("finish");
    }
    tx.batch_execute(&botyard_migrate::pg_schema::add_foreign_keys("botyard"))
        .await
        .expect("foreign keys");
    tx.commit().await.expect("commit");
    (rows, t0.elapsed().as_secs_f64())
}

/// One day (the day after the store's last) for every tenant: each group's counters and 100
/// of its posters, through the ingestion writers as live traffic goes.
fn one_more_day(store: &Arc<Store>, tenants: &[TenantId]) -> u64 {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ingest, handle) = start_ingest(store);
    let day = Day(TODAY.0 + 1);
    let mut n = 0u64;
    rt.block_on(async {
        let mut pending = Vec::new();
        for t in tenants {
            let mut b = Batch::default();
            for g in 0..GROUPS {
                for metric in 0..3u8 {
                    b.counters.push(Increment {
                        key: CounterKey {
                            tenant: *t,
                            chat: chat(g),
                            day,
                            metric,
                        },
                        delta: 1 + mix(t.0, g as u64, u64::from(metric)) % 50,
                    });
                }
                for u in 0..100i64 {
                    b.user_days.push(UserDayIncrement {
                        tenant: *t,
                        chat: chat(g),
                        day,
                        user: 1_000_000 + u,
                        delta: 1,
                    });
                }
            }
            n += (b.counters.len() + b.user_days.len()) as u64;
            pending.push(handle.enqueue_batch(*t, b).await.expect("enqueue"));
        }
        for p in pending {
            p.await.expect("ack").expect("commit");
        }
    });
    drop(handle);
    ingest.shutdown();
    n
}

/// `raw_rounds` full exports each against a raw COPY (at least one full export runs).
fn bench_pg(raw_rounds: usize) {
    use botyard_migrate::postgres::{ExportOptions, export};
    let (dir, tenants) = queries_store();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let pg = botyard_migrate::scratch::Cluster::start_in(&target)
        .expect("a PostgreSQL cluster")
        .expect("PostgreSQL is installed");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let running = serve_queries_store(&dir).await;
        let base = running.ready.base_url.clone();
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let token = common::api_login(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let opts = |full: bool| ExportOptions {
            server: base.clone(),
            token: token.clone(),
            pg: pg.conn.clone(),
            schema: "botyard".into(),
            full,
            tenant_roles: false,
        };
        let mut export_secs = Vec::new();
        let mut raw_secs = Vec::new();
        let mut rows = 0;
        for round in 0..raw_rounds.max(1) {
            let e = export(&opts(true)).await.expect("full export");
            println!(
                "full export {round}: {} tenants, {} rows in {:.1} s ({:.0} rows/s)",
                e.tenants,
                e.rows,
                e.seconds,
                e.rows as f64 / e.seconds
            );
            export_secs.push(e.seconds);
            rows = e.rows;
            if raw_rounds == 0 {
                break;
            }
            let (n, secs) = raw_copy(&pg.conn).await;
            println!("raw binary COPY {round}: {n} rows in {secs:.1} s ({:.0} rows/s)", n as f64 / secs);
            raw_secs.push(secs);
        }
        let (e, r) = (common::median(&mut export_secs), common::median(&mut raw_secs));
        if raw_rounds > 0 {
            println!(
            "  full export: median {e:.1} s for {rows} rows, raw COPY median {r:.1} s: the export runs at {:.0} % of raw COPY's speed (target ≥ 70 %)",
            r / e * 100.0
            );
        }
        // The raw COPY put back the very rows the export had loaded, so the export's state
        // in PostgreSQL still holds.
        let store = running.ready.store.upgrade().expect("store");
        let added = std::thread::scope(|s| {
            s.spawn(|| one_more_day(&store, &tenants))
                .join()
                .expect("a day of traffic")
        });
        drop(store);
        let inc = export(&opts(false)).await.expect("incremental export");
        println!(
            "  one day of {} tenants ({added} increments): incremental export {:.1} s, {} parts, {} rows (target < 10 s)",
            tenants.len(),
            inc.seconds,
            inc.slices,
            inc.rows
        );
        let none = export(&opts(false)).await.expect("empty export");
        println!(
            "  nothing changed: incremental export {:.2} s, {} parts, {} rows",
            none.seconds, none.slices, none.rows
        );
        running.shutdown().await;
    });
}
