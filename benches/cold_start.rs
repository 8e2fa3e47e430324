//! Cold start with 10,000 tenants: time from spawning `botyard serve` to systemd's `READY=1`
//! (on a notification socket of the bench's), to the serving line, and to the first 200 from
//! /readyz. Run with `cargo bench --bench cold_start`; with `BOTYARD_DIST_BIN=target/dist/botyard`
//! the shipped build (`cargo build --profile dist`) runs too, its runs interleaved with the
//! release build's.
//!
//! The store is filled once through the store API (10,000 tenants, each with an owner
//! account and saved settings), then each binary is started and stopped several times; the
//! medians are reported.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use botyard_shards::records::{AccountRec, SettingsRec, TenantRec, TenantStatus};
use botyard_shards::{Store, StoreConfig};

const TENANTS: usize = 10_000;
const RUNS: usize = 7;

fn fill(dir: &std::path::Path) {
    let store = Store::open(&StoreConfig {
        dir: dir.to_path_buf(),
        shards: 8,
        catalog_cache_bytes: 32 << 20,
        shard_cache_bytes: 16 << 20,
    })
    .expect("open store");
    let admin_id = store
        .catalog_write(|c| {
            c.insert_account(&AccountRec {
                email: "bench-admin@example.com".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
                is_admin: true,
                created_at: 0,
                password_changed_at: 0,
            })
        })
        .expect("admin");
    let admin_p = store
        .principal_for_account(admin_id)
        .expect("p")
        .expect("admin");
    let admin = store.admin(&admin_p).expect("admin scope");
    let recs: Vec<TenantRec> = (0..TENANTS)
        .map(|i| TenantRec {
            name: format!("Dükkan {i}"),
            status: if i % 50 == 0 {
                TenantStatus::Suspended
            } else {
                TenantStatus::Active
            },
            plan: None,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_000,
        })
        .collect();
    let ids = admin.create_tenants(&recs).expect("tenants");
    for chunk in ids.chunks(1000) {
        store
            .catalog_write(|c| -> Result<(), botyard_shards::StoreError> {
                for id in chunk {
                    c.insert_account(&AccountRec {
                        email: format!("owner{}@example.com", id.0),
                        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
                        is_admin: false,
                        created_at: 0,
                        password_changed_at: 0,
                    })?;
                }
                Ok(())
            })
            .expect("owners");
    }
    for id in &ids {
        let scope = admin.tenant(*id).expect("scope");
        if id.0 % 10 == 0 {
            scope
                .shard_write(|s| s.put_settings(&SettingsRec::defaults("bench")))
                .expect("settings");
        }
    }
}

fn healthy(addr: SocketAddr, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

/// One start: spawn → READY=1, → serving line, → /readyz 200; then SIGTERM.
fn start_once(bin: &str, data: &std::path::Path) -> (Duration, Duration, Duration) {
    let sock_dir = tempfile::tempdir().expect("temp dir");
    let sock_path = sock_dir.path().join("notify");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env_clear()
        .env("BOTYARD_LOG_LEVEL", "warn")
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut buf = [0u8; 512];
    let notified = loop {
        let n = sock.recv(&mut buf).expect("a notification within 30 s");
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            break start.elapsed();
        }
    };
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("server exited").expect("read");
        if let Some(rest) = line.strip_prefix("botyard is serving on http://") {
            break rest
                .split_whitespace()
                .next()
                .expect("addr")
                .parse()
                .expect("addr");
        }
    };
    let listening = start.elapsed();
    // Polling here measures the server, not a test's readiness: the deadline bounds it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy(addr, "/readyz") {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(1));
    }
    let ready = start.elapsed();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("wait");
    assert!(status.success(), "server exit {status:?}");
    (notified, listening, ready)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut bins = vec![("release", env!("CARGO_BIN_EXE_botyard").to_string())];
    if let Ok(dist) = std::env::var("BOTYARD_DIST_BIN") {
        bins.push(("dist", dist));
    }
    let dir = common::private_tempdir();
    let t = Instant::now();
    fill(dir.path());
    println!(
        "filled {TENANTS} tenants in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut times: Vec<Vec<(Duration, Duration, Duration)>> = vec![Vec::new(); bins.len()];
    for run in 0..RUNS {
        for (i, (name, bin)) in bins.iter().enumerate() {
            let (notified, listening, ready) = start_once(bin, dir.path());
            println!(
                "run {run} {name}: READY=1 after {:.1} ms, serving line after {:.1} ms, /readyz 200 after {:.1} ms",
                ms(notified),
                ms(listening),
                ms(ready)
            );
            times[i].push((notified, listening, ready));
        }
    }
    for ((name, bin), t) in bins.iter().zip(times) {
        let median = |f: fn(&(Duration, Duration, Duration)) -> Duration| {
            let mut v: Vec<Duration> = t.iter().map(f).collect();
            v.sort();
            (ms(v[RUNS / 2]), ms(v[0]), ms(v[RUNS - 1]))
        };
        let (n, n_min, n_max) = median(|x| x.0);
        let (l, _, _) = median(|x| x.1);
        let (r, _, _) = median(|x| x.2);
        let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
        println!(
            "{name} ({:.1} MB): cold start with {TENANTS} tenants: median {n:.1} ms to READY=1 (min {n_min:.1}, max {n_max:.1}), {l:.1} ms to the serving line, {r:.1} ms to /readyz 200; target < 1000 ms",
            size as f64 / 1e6
        );
    }
}
