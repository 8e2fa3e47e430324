//! Cold start with 10,000 tenants: time from spawning `botyard serve` to the first 200 from
//! /healthz and from /readyz. Run with `cargo bench --bench cold_start`.
//!
//! The store is filled once through the store API (10,000 tenants, each with an owner
//! account and saved settings), then the release binary is started and stopped several times;
//! the median is reported.

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

fn main() {
    let bin = env!("CARGO_BIN_EXE_botyard");
    let dir = common::private_tempdir();
    let t = Instant::now();
    fill(dir.path());
    println!(
        "filled {TENANTS} tenants in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut to_listen = Vec::new();
    let mut to_ready = Vec::new();
    for run in 0..RUNS {
        let start = Instant::now();
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .env_clear()
            .env("BOTYARD_LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
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
        println!(
            "run {run}: serving line after {:.1} ms, /readyz 200 after {:.1} ms",
            listening.as_secs_f64() * 1e3,
            ready.as_secs_f64() * 1e3
        );
        to_listen.push(listening);
        to_ready.push(ready);
    }
    to_listen.sort();
    to_ready.sort();
    println!(
        "cold start with {TENANTS} tenants: median {:.1} ms to serving line, median {:.1} ms to /readyz 200 (min {:.1}, max {:.1}); target < 1000 ms",
        to_listen[RUNS / 2].as_secs_f64() * 1e3,
        to_ready[RUNS / 2].as_secs_f64() * 1e3,
        to_ready[0].as_secs_f64() * 1e3,
        to_ready[RUNS - 1].as_secs_f64() * 1e3
    );
}
