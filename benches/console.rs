//! The console under load, on the release binary as a reseller runs it (`botyard serve`, a
//! child process on loopback), with 10,000 tenants:
//! - the dashboard and the tenant list (first page, and a search) at 64 concurrent
//!   connections: latency as the client sees it (median, p99) and requests a second;
//! - page weight: the dashboard's HTML, CSS and JS as sent gzipped;
//! - 200 open live streams (SSE, one update a second): the server's memory and CPU.
//!
//! `cargo bench --bench console [-- tenants secs]` (defaults 10000 and 10).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

mod common;

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "kirmizi-fener-1907";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// RSS (KiB) and CPU ticks (user + system) of a process.
fn usage(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (rss, ticks)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The server's own latency histogram of `route` (cumulative counts by upper bound, seconds).
async fn server_buckets(base: &str, route: &str) -> Vec<(f64, u64)> {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let want = format!("route=\"{route}\"");
    text.lines()
        .filter(|l| {
            l.starts_with("botyard_http_request_duration_seconds_bucket")
                && l.contains(&want)
                && l.contains("method=\"GET\"")
        })
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let n = l.rsplit(' ').next()?.parse().ok()?;
            Some((le, n))
        })
        .collect()
}

/// The bucket bound under which fraction `p` of the requests between two scrapes fell.
fn server_quantile(before: &[(f64, u64)], after: &[(f64, u64)], p: f64) -> f64 {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .map(|(le, n)| {
            let b = before.iter().find(|(l, _)| l == le).map_or(0, |(_, m)| *m);
            (*le, n - b)
        })
        .collect();
    let total = delta.last().map_or(0, |(_, n)| *n);
    delta
        .iter()
        .find(|(_, n)| *n as f64 >= total as f64 * p)
        .map_or(f64::INFINITY, |(le, _)| *le)
}

/// GETs `path` (route template `route`) from 64 connections for `secs`; prints the client's
/// median and p99, the rate, and the server's own p50/p99 (the bucket bounds they fall under).
async fn load(base: &str, cookie: &str, path: &str, route: &str, secs: u64) {
    let before = server_buckets(base, route).await;
    let stop = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let c = client();
        let url = format!("{base}{path}");
        let cookie = cookie.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < stop {
                let t = Instant::now();
                let r = c
                    .get(&url)
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("get");
                assert_eq!(r.status(), 200, "{url}");
                r.bytes().await.expect("body");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    let after = server_buckets(base, route).await;
    println!(
        "{path:<38} n={:>7} {:>6.0} req/s | client median {:>6.2} ms p99 {:>6.2} ms | server p50 ≤ {} ms p99 ≤ {} ms",
        all.len(),
        all.len() as f64 / secs as f64,
        percentile(&all, 0.5).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
        server_quantile(&before, &after, 0.5) * 1000.0,
        server_quantile(&before, &after, 0.99) * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let tenants: usize = args.first().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let secs: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(10);
    let workers: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(20);

    let data = tempfile::tempdir().expect("temp dir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
    }
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_botyard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env("BOTYARD_ADMIN_EMAIL", EMAIL)
        .env("BOTYARD_ADMIN_PASSWORD", PASSWORD)
        .env("BOTYARD_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("botyard");
    let pid = child.id().expect("pid");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("a serving line");
        if let Some(rest) = line.strip_prefix("botyard is serving on ") {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let c = client();

    // An API token to fill the appliance.
    let token = common::api_login(&c, &base, EMAIL, PASSWORD).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..32usize {
        let (c, base, token) = (client(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..tenants).step_by(32) {
                let r = c
                    .post(format!("{base}/api/v1/tenants"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"name": format!("Dükkan {i}")}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    println!(
        "{tenants} tenants created in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A browser session, through the sign-in form.
    let cookie = common::sign_in(&c, &base, EMAIL, PASSWORD).await;

    println!("== 64 connections, {secs} s each");
    load(&base, &cookie, "/console", "/console", secs).await;
    load(&base, &cookie, "/console/tenants", "/console/tenants", secs).await;
    load(
        &base,
        &cookie,
        "/console/tenants?q=d%C3%BCkkan+7777",
        "/console/tenants",
        secs,
    )
    .await;

    // Page weight: what a browser downloads for the dashboard, gzipped.
    let mut total = 0usize;
    for path in [
        "/console",
        "/console/assets/console.css",
        "/console/assets/htmx.min.js",
        "/console/assets/console.js",
    ] {
        let r = c
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("get");
        let enc = r
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_string();
        let n = r.bytes().await.expect("body").len();
        total += n;
        println!("{path:<32} {n:>7} bytes ({enc})");
    }
    println!(
        "dashboard page weight: {total} bytes ({:.1} KB)",
        total as f64 / 1024.0
    );

    // Workers, so each live update renders their rows: the first `workers` tenants get a
    // simulated session (one event a second).
    for i in 1..=workers {
        let r = c
            .post(format!("{base}/api/v1/tenants/{i}/sessions"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"kind": "sim", "label": "bench",
                "sim": {"groups": 3, "events_per_sec": 1.0}}))
            .send()
            .await
            .expect("sim session");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }
    let waited = Instant::now();
    loop {
        let list: serde_json::Value = c
            .get(format!("{base}/api/v1/workers"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("workers")
            .json()
            .await
            .expect("json");
        let running = list
            .as_array()
            .map_or(0, |l| l.iter().filter(|w| w["state"] == "running").count());
        if running >= workers || waited.elapsed() > Duration::from_secs(60) {
            println!("{running} workers running");
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The server's own cost with those workers and no stream, for comparison.
    let (rss_idle, ticks_idle) = usage(pid);
    let t_idle = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (_, ticks_idle1) = usage(pid);
    let idle_cpu =
        (ticks_idle1 - ticks_idle) as f64 / 100.0 / t_idle.elapsed().as_secs_f64() * 100.0;
    println!(
        "{workers} workers, no stream: server RSS {rss_idle} KiB, CPU {idle_cpu:.1} % of a core"
    );

    // 200 live streams for `secs`.
    let (rss0, ticks0) = usage(pid);
    let t0 = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..200 {
        let c = client();
        let url = format!("{base}/console/live/workers");
        let cookie = cookie.clone();
        streams.push(tokio::spawn(async move {
            let mut r = c
                .get(&url)
                .header("cookie", &cookie)
                .send()
                .await
                .expect("stream");
            let mut bytes = 0usize;
            while let Ok(Some(chunk)) = r.chunk().await {
                bytes += chunk.len();
            }
            bytes
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (rss1, ticks1) = usage(pid);
    let elapsed = t0.elapsed().as_secs_f64();
    let hz = 100.0; // USER_HZ on Linux
    let cpu = (ticks1 - ticks0) as f64 / hz / elapsed * 100.0;
    println!(
        "200 live streams for {elapsed:.1} s: server RSS {} → {} KiB (+{:.1} MiB), CPU {cpu:.1} % of a core",
        rss0,
        rss1,
        (rss1 as f64 - rss0 as f64) / 1024.0
    );
    for s in streams {
        s.abort();
    }
    let _ = child.kill().await;
}
