//! Tenant worker benchmarks, each on the full appliance (`run_with`, real `botyard worker`
//! children, real store):
//!
//! - `idle`: 200 workers with one idle `sim` session each; per-worker anonymous memory, RSS
//!   and PSS (median and total) and the server's own memory.
//! - `ingest`: 100 workers whose simulated groups send as fast as they can; durable events per
//!   second and the server's CPU per event.
//! - `fleet`: 500 tenants with a session each; time from `run` to every worker ready, with
//!   the default start-rate limit, and the server's memory then.
//! - `rules`: 20 workers whose session is in 50 busy groups, without rules and then with 100
//!   group rules over those 50 groups; per-worker anonymous memory and RSS side by side.
//!
//! `cargo bench --bench workers` runs them all; `cargo bench --bench workers -- idle` one.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use botyard::config::Config;
use botyard::worker::ipc::messages::SessionKind;
use botyard::worker::telegram::sim::SimConfig;
use common::{cpu, fill_tenants, mb, median, memory, open_store, private_tempdir, start};

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
fn fill(dir: &Path, n: usize, sim: &SimConfig) -> Vec<botyard_shards::ids::TenantId> {
    fill_tenants(&config(dir), n, |i| {
        SessionKind::Sim(SimConfig {
            seed: i as u64 + 1,
            ..sim.clone()
        })
    })
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

/// 100 rules over every one of `groups` simulated groups, for each tenant: 60 keyword replies
/// (three words each), 20 regular-expression replies, 10 filters, 10 flood limits.
fn add_rules(dir: &Path, tenants: &[botyard_shards::ids::TenantId], groups: u32, patterns: bool) {
    use botyard_shards::records::{PenaltyRec, RuleKindRec, RuleRec, TemplateFormatRec, WarnRec};
    let store = open_store(&config(dir));
    let admin = store.system_admin();
    let chats: Vec<i64> = (0..groups)
        .map(|g| -1_000_000_000_000 - i64::from(g) - 1)
        .collect();
    for t in tenants {
        let scope = admin.tenant(*t).expect("scope");
        let (tpl, ..) = botyard::domain::templates::create(
            &scope,
            None,
            "Yanıt",
            botyard::domain::templates::Content {
                body:
                    "Merhaba {user.mention}, {group.title} grubunda size nasıl yardım edebiliriz?"
                        .into(),
                format: TemplateFormatRec::Html.into(),
                buttons: Vec::new(),
                media: None,
            },
            0,
            None,
        )
        .expect("template");
        let session = scope
            .shard_read()
            .expect("read")
            .sessions()
            .expect("sessions")[0]
            .0;
        let rule = |i: usize, kind: RuleKindRec| RuleRec {
            name: format!("Kural {i}"),
            session: session.0,
            chats: chats.clone(),
            tag: None,
            dry_run: false,
            enabled: true,
            paused: None,
            allow_users: Vec::new(),
            kind,
            created_at: 0,
            updated_at: 0,
        };
        scope
            .shard_write(|s| {
                for i in 0..100 {
                    let kind = match i {
                        0..60 => RuleKindRec::AutoReply {
                            keywords: vec![
                                format!("ürün{i}"),
                                format!("fiyat{i}"),
                                format!("sipariş {i}"),
                            ],
                            pattern: None,
                            template: tpl.0,
                            chat_cooldown_secs: 300,
                            user_cooldown_secs: 3600,
                        },
                        60..80 if patterns => RuleKindRec::AutoReply {
                            keywords: Vec::new(),
                            pattern: Some(format!(r"(kargo|teslimat)\s*{i}\d*")),
                            template: tpl.0,
                            chat_cooldown_secs: 300,
                            user_cooldown_secs: 3600,
                        },
                        60..80 => RuleKindRec::AutoReply {
                            keywords: vec![format!("kargo {i}"), format!("teslimat {i}")],
                            pattern: None,
                            template: tpl.0,
                            chat_cooldown_secs: 300,
                            user_cooldown_secs: 3600,
                        },
                        80..90 => RuleKindRec::Filter {
                            links: true,
                            invites: true,
                            channel_forwards: true,
                            words: vec![format!("kumar{i}"), format!("bahis{i}")],
                            warn: Some(WarnRec {
                                limit: 3,
                                then: PenaltyRec::Mute { secs: 3600 },
                            }),
                        },
                        _ => RuleKindRec::AntiFlood {
                            messages: 5 + i as u32 % 5,
                            window_secs: 10,
                            penalty: PenaltyRec::Mute { secs: 600 },
                            warn: None,
                        },
                    };
                    s.insert_rule(&rule(i, kind))?;
                }
                Ok::<_, botyard_shards::StoreError>(())
            })
            .expect("rules");
    }
}

async fn rules() {
    const N: usize = 20;
    const GROUPS: u32 = 50;
    let sim = SimConfig {
        groups: GROUPS,
        members_per_group: 50,
        // A busy tenant: every rule is looked at for each of these messages.
        events_per_sec: 20.0,
        admin: true,
        ..SimConfig::default()
    };
    // No rules; 100 rules of keywords, filters and flood limits; the same with 20 of the
    // keyword replies as regular expressions.
    for (with_rules, patterns) in [(false, false), (true, false), (true, true)] {
        let dir = private_tempdir();
        let tenants = fill(dir.path(), N, &sim);
        if with_rules {
            add_rules(dir.path(), &tenants, GROUPS, patterns);
        }
        let run = start(config(dir.path())).await;
        run.all_online(N).await;
        // The rules arrive once the groups are listed; then the groups are busy for a while,
        // so flood windows, cooldowns and warnings fill.
        tokio::time::sleep(Duration::from_secs(20)).await;
        let (mut anon, mut rss) = (Vec::new(), Vec::new());
        for p in run.pids() {
            let (a, r, _) = memory(&p.to_string());
            anon.push(a as f64);
            rss.push(r as f64);
        }
        run.shutdown().await;
        let hits = if with_rules {
            let store = open_store(&config(dir.path()));
            let admin = store.system_admin();
            tenants
                .iter()
                .map(|t| {
                    let scope = admin.tenant(*t).expect("scope");
                    let log = scope
                        .shard_read()
                        .expect("read")
                        .rule_log(&botyard_shards::RuleLogFilter {
                            limit: 100_000,
                            ..Default::default()
                        })
                        .expect("log");
                    log.len()
                })
                .sum::<usize>()
        } else {
            0
        };
        println!(
            "rules: {N} workers, {GROUPS} groups each, {} rules each ({} regular expressions): per worker median anon {}  rss {}; rule actions logged {hits}",
            if with_rules { 100 } else { 0 },
            if patterns { 20 } else { 0 },
            mb(median(&mut anon)),
            mb(median(&mut rss)),
        );
    }
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
        if wants("rules") {
            rules().await;
        }
    });
}
