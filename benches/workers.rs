//! Tenant worker benchmarks, each on the full appliance (`run_with`, real `botyard worker`
//! children, real store):
//!
//! - `idle`: 200 workers with one idle `sim` session each; per-worker anonymous memory, RSS
//!   and PSS (median and total) and the server's own memory.
//! - `ingest`: 100 workers whose simulated groups send as fast as they can; durable events per
//!   second and the server's CPU per event.
//! - `fleet`: 500 tenants with a session each; time from `run` to every worker ready, with
//!   the default start-rate limit, and the server's memory then.
//!
//! `cargo bench --bench workers` runs all three; `cargo bench --bench workers -- idle` one.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use botyard::config::Config;
use botyard::worker::ipc::messages::SessionKind;
use botyard::worker::telegram::sim::SimConfig;
use common::{cpu, fill_tenants, mb, median, memory, private_tempdir, start};

const EXE: &str = env!("CARGO_BIN_EXE_botyard");

fn config(dir: &Path) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.workers.exe = Some(EXE.into());
    c.workers.cgroup = false;
    c.log.level = "warn".into();
    c
}

/// `n` active tenants with one simulated session each.
fn fill(dir: &Path, n: usize, sim: &SimConfig) {
    fill_tenants(&config(dir), n, |i| {
        SessionKind::Sim(SimConfig {
            seed: i as u64 + 1,
            ..sim.clone()
        })
    });
}

async fn idle() {
    const N: usize = 200;
    let dir = private_tempdir();
    fill(
        dir.path(),
        N,
        &SimConfig {
            // One event every 1,000 s: a quiet shop.
            events_per_sec: 0.001,
            ..SimConfig::default()
        },
    );
    let run = start(config(dir.path())).await;
    let t = run.all_online(N).await;
    // Let start-up allocations settle the way an idle worker would after a while.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pids = run.pids();
    let (mut anon, mut rss, mut pss) = (Vec::new(), Vec::new(), Vec::new());
    for p in &pids {
        let (a, r, s) = memory(&p.to_string());
        anon.push(a as f64);
        rss.push(r as f64);
        pss.push(s as f64);
    }
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let (ta, tr, tp) = (total(&anon), total(&rss), total(&pss));
    let (sa, sr, sp) = memory("self");
    println!(
        "idle: {} workers online after {:.1} s",
        pids.len(),
        t.as_secs_f64()
    );
    println!(
        "idle: per worker median anon {}  rss {}  pss {}",
        mb(median(&mut anon)),
        mb(median(&mut rss)),
        mb(median(&mut pss))
    );
    println!(
        "idle: all workers anon {}  rss {} (shared pages counted per process)  pss {} (shared pages split)",
        mb(ta),
        mb(tr),
        mb(tp)
    );
    println!(
        "idle: server process anon {}  rss {}  pss {}",
        mb(sa as f64),
        mb(sr as f64),
        mb(sp as f64)
    );
    run.shutdown().await;
}

async fn ingest() {
    const N: usize = 100;
    const WINDOW: Duration = Duration::from_secs(5);
    let dir = private_tempdir();
    fill(
        dir.path(),
        N,
        &SimConfig {
            events_per_sec: 0.0,
            groups: 5,
            members_per_group: 500,
            ..SimConfig::default()
        },
    );
    let run = start(config(dir.path())).await;
    run.all_online(N).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (mut rates, mut costs, mut cpus, mut worker_cpus) = (vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        let pids: Vec<String> = run.pids().iter().map(u32::to_string).collect();
        let wcpu = |pids: &[String]| pids.iter().map(|p| cpu(p)).sum::<f64>();
        let (e0, c0, w0, t0) = (run.events(), cpu("self"), wcpu(&pids), Instant::now());
        tokio::time::sleep(WINDOW).await;
        let (e1, c1, w1) = (run.events(), cpu("self"), wcpu(&pids));
        let secs = t0.elapsed().as_secs_f64();
        let events = (e1 - e0) as f64;
        rates.push(events / secs);
        cpus.push((c1 - c0) / secs * 100.0);
        worker_cpus.push((w1 - w0) / secs * 100.0);
        costs.push((c1 - c0) / events.max(1.0) * 1e6);
    }
    println!(
        "ingest: {N} workers, median of 5 windows of {} s: {:.0} durable events/s",
        WINDOW.as_secs(),
        median(&mut rates)
    );
    println!(
        "ingest: server process (supervisor + shard writers) CPU {:.0}% of one core, {:.2} µs CPU per event; all workers together {:.0}%",
        median(&mut cpus),
        median(&mut costs),
        median(&mut worker_cpus)
    );
    run.shutdown().await;
}

async fn fleet() {
    const N: usize = 500;
    const RUNS: usize = 3;
    let dir = private_tempdir();
    fill(
        dir.path(),
        N,
        &SimConfig {
            events_per_sec: 0.001,
            ..SimConfig::default()
        },
    );
    let (mut times, mut anon, mut rss) = (vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let run = start(config(dir.path())).await;
        let t = run.all_online(N).await;
        let (a, r, _) = memory("self");
        times.push(t.as_secs_f64());
        anon.push(a as f64);
        rss.push(r as f64);
        run.shutdown().await;
    }
    let c = Config::default();
    println!(
        "fleet: {N} tenants, start rate {}/s burst {}: all workers ready {:.1} s after run (median of {RUNS}: {:?})",
        c.workers.start_rate,
        c.workers.start_burst,
        median(&mut times.clone()),
        times.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>()
    );
    println!(
        "fleet: server process then: anon {}  rss {} (median)",
        mb(median(&mut anon)),
        mb(median(&mut rss))
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if wants("idle") {
            idle().await;
        }
        if wants("ingest") {
            ingest().await;
        }
        if wants("fleet") {
            fleet().await;
        }
    });
}
