//! The renewal pass at scale: 10,000 tenants whose trials all end on the same day, on a real
//! store, the appliance running in-process with a manual clock. Times the pass that moves
//! them all to past due, then the one that suspends them all, through the admin's
//! `POST /api/v1/billing/renewals` (the same function the server runs every minute); no
//! worker runs, so the time is the pass's own work.
//!
//! `cargo bench --bench billing [-- tenants runs]` (defaults 10000 and 3).

use std::sync::Arc;
use std::time::Instant;

use botyard::clock::ManualClock;
use botyard::domain::billing::lifecycle;
use botyard_shards::ids::TenantId;
use botyard_shards::records::{PlanLimits, PlanRec, SubStateRec, TenantRec, TenantStatus};
use botyard_shards::{Store, StoreConfig};

mod common;

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "kirmizi-fener-1907";
const T0: i64 = 1_796_000_000;

/// `n` tenants on one plan, each in a 7-day trial that began at `T0`.
fn fill(dir: &std::path::Path, n: usize) {
    let store = Store::open(&StoreConfig {
        dir: dir.to_path_buf(),
        shards: 4,
        catalog_cache_bytes: 32 << 20,
        shard_cache_bytes: 16 << 20,
    })
    .expect("store");
    let admin = store.system_admin();
    let plan = admin
        .catalog_write(|c| {
            c.insert_plan(&PlanRec {
                name: "Esnaf".into(),
                limits: PlanLimits {
                    sessions: 2,
                    groups: 50,
                    templates: 50,
                    campaigns: 10,
                    sends_per_day: 1000,
                    retention_days: 90,
                    worker_memory_mb: 64,
                    media_mb: 20,
                    events_per_sec: 50,
                    min_interval_mins: 10,
                },
                created_at: T0,
                updated_at: T0,
            })
        })
        .expect("plan");
    let recs: Vec<TenantRec> = (0..n)
        .map(|i| TenantRec {
            name: format!("Dükkan {i}"),
            status: TenantStatus::Active,
            plan: Some(plan),
            created_at: T0,
            updated_at: T0,
        })
        .collect();
    let ids: Vec<TenantId> = admin.create_tenants(&recs).expect("tenants");
    admin
        .billing_write(|b| {
            for t in &ids {
                let s = lifecycle::start_trial(plan, 250, 7, T0).expect("trial");
                b.put_subscription(*t, &s)?;
            }
            Ok::<_, botyard_shards::StoreError>(())
        })
        .expect("subscriptions");
}

async fn pass(http: &reqwest::Client, base: &str, token: &str) -> (f64, serde_json::Value) {
    let started = Instant::now();
    let r = http
        .post(format!("{base}/api/v1/billing/renewals"))
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("renewals");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    (started.elapsed().as_secs_f64() * 1000.0, body)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n: usize = args.first().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(3);
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut lapse = Vec::new();
    let mut suspend = Vec::new();
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .expect("chmod");
        }
        let t = Instant::now();
        fill(dir.path(), n);
        let filled = t.elapsed().as_secs_f64();
        let c = common::store_config(dir.path(), ADMIN_EMAIL, ADMIN_PASSWORD);
        // Started the day the trials end: its own first pass finds them due, so the clock is
        // set back a minute and moved on by hand.
        let clock = Arc::new(ManualClock::new(T0 + 7 * lifecycle::DAY - 60));
        let running = common::start_with(
            c,
            botyard::RunOptions {
                clock: clock.clone(),
                ..botyard::RunOptions::default()
            },
        )
        .await;
        let base = running.ready.base_url.clone();
        clock.advance(60);
        let token = common::api_login(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (ms, body) = pass(&http, &base, &token).await;
        assert_eq!(body["steps"], n, "{body}");
        lapse.push(ms);
        clock.advance(3 * lifecycle::DAY);
        let token = common::api_login(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (ms2, body) = pass(&http, &base, &token).await;
        assert_eq!(body["suspended"], n, "{body}");
        suspend.push(ms2);
        // Every subscription moved once: nothing more is due.
        let (_, body) = pass(&http, &base, &token).await;
        assert_eq!(body["steps"], 0, "{body}");
        println!(
            "run {run}: {n} tenants filled in {filled:.1} s; trial ended → past due: {ms:.0} ms; grace ended → suspended: {ms2:.0} ms"
        );
        let store = running.ready.store.upgrade().expect("store");
        let counts = store
            .catalog_read()
            .expect("read")
            .subscription_counts()
            .expect("counts");
        assert_eq!(counts[SubStateRec::Suspended as usize], n as u64);
        drop(store);
        running.shutdown().await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "median over {runs} runs: past due {:.0} ms, suspended {:.0} ms (target: under 1 s each)",
        median(&mut lapse),
        median(&mut suspend)
    );
}
