//! Crash durability of the ingest writer: a child process (this test binary, re-executed)
//! submits batches continuously and prints a line for every acknowledged batch; the parent
//! kills it with SIGKILL, reopens the store as a normal start would, and checks that every
//! acknowledged batch is there, exactly, and that no batch is there in part.
//!
//! Each batch has counter keys of its own, so "present" and "exact" can be told apart from
//! other batches; each submitter also has cumulative keys that every one of its batches bumps.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use botyard_shards::ids::{ChatId, Day, TenantId};
use botyard_shards::ingest::{CounterKey, Increment, IngestConfig};
use botyard_shards::{Store, TenantScope};

const DIR_ENV: &str = "BOTYARD_SHARDS_CRASH_CHILD_DIR";
const GEN_ENV: &str = "BOTYARD_SHARDS_CRASH_CHILD_GEN";
const CHILD_TEST: &str = "crash::crash_child_process";
const ADMIN: &str = "root@crash.test";
const SHARDS: u32 = 2;
const TENANTS: usize = 3;
/// Concurrent submitters in the child, each with one batch in flight.
const TASKS: u64 = 8;
/// Keys of its own in every batch.
const OWN_KEYS: u8 = 8;
/// Cumulative ("hot") keys per submitter, and how many increments of 1 each gets per batch.
const HOT_KEYS: u8 = 4;
const HOT_PER_BATCH: u64 = 25;
/// Acknowledged lines the parent waits for before each kill, and kills per test.
const ACKS_BEFORE_KILL: usize = 300;
const GENERATIONS: u64 = 3;
/// A child that runs this long without reaching the kill point is stuck: fail, don't hang.
const WATCHDOG: Duration = Duration::from_secs(180);

fn submitter_chat(generation: u64, task: u64) -> i64 {
    (generation * 100 + task + 1) as i64
}

/// The keys of its own of batch `seq` of `task`, with their deltas.
fn own_keys(tenant: TenantId, generation: u64, task: u64, seq: u64) -> Vec<(CounterKey, u64)> {
    (0..OWN_KEYS)
        .map(|m| {
            let key = CounterKey {
                tenant,
                chat: ChatId(submitter_chat(generation, task)),
                day: Day(1_000 + seq as u32),
                metric: m,
            };
            (key, seq % 97 + u64::from(m) + 1)
        })
        .collect()
}

fn hot_key(tenant: TenantId, generation: u64, task: u64, m: u8) -> CounterKey {
    CounterKey {
        tenant,
        chat: ChatId(-submitter_chat(generation, task)),
        day: Day(0),
        metric: m,
    }
}

fn batch(tenant: TenantId, generation: u64, task: u64, seq: u64) -> Vec<Increment> {
    let mut out: Vec<Increment> = own_keys(tenant, generation, task, seq)
        .into_iter()
        .map(|(key, delta)| Increment { key, delta })
        .collect();
    for _ in 0..HOT_PER_BATCH {
        for m in 0..HOT_KEYS {
            out.push(Increment {
                key: hot_key(tenant, generation, task, m),
                delta: 1,
            });
        }
    }
    out
}

fn tenant_of(tenants: &[TenantId], task: u64) -> TenantId {
    tenants[task as usize % tenants.len()]
}

/// The child: not a test on its own (ignored, and a no-op without the environment switch).
#[test]
#[ignore = "run by acknowledged_batches_survive_sigkill as a child process"]
fn crash_child_process() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let generation: u64 = std::env::var(GEN_ENV).unwrap().parse().unwrap();
    let store = common::open(std::path::Path::new(&dir), SHARDS);
    let (admin_id, _) = store
        .catalog_read()
        .unwrap()
        .account_by_email(ADMIN)
        .unwrap()
        .unwrap();
    let admin = common::principal(&store, admin_id);
    let tenants: Vec<TenantId> = store
        .tenant_ids()
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    let (_ingest, handle) = common::start_ingest(&store, &admin, IngestConfig::default());
    let out = Arc::new(Mutex::new(std::io::stdout()));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let handle = handle.clone();
            let tenant = tenant_of(&tenants, task);
            let out = out.clone();
            tasks.push(tokio::spawn(async move {
                // Bounded, so a child whose parent vanished cannot run forever.
                for seq in 0..100_000u64 {
                    handle
                        .submit(tenant, batch(tenant, generation, task, seq))
                        .await
                        .unwrap();
                    let mut out = out.lock().unwrap();
                    // A closed pipe means the parent is gone: stop.
                    if writeln!(out, "ACK {task} {seq}")
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// Runs one child generation until `ACKS_BEFORE_KILL` acknowledgements, kills it, and returns
/// the highest acknowledged sequence number per submitter (all of them, including those read
/// after the kill).
fn run_child_and_kill(dir: &std::path::Path, generation: u64) -> BTreeMap<u64, u64> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            CHILD_TEST,
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(GEN_ENV, generation.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Arc::new(Mutex::new(child));

    // Watchdog: kills a stuck child so the reads below end (no sleeping: it waits on a channel).
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watched = child.clone();
    let watchdog = std::thread::spawn(move || {
        let timed_out = done_rx.recv_timeout(WATCHDOG).is_err();
        if timed_out {
            let _ = watched.lock().unwrap().kill();
        }
        timed_out
    });

    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut count = 0usize;
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest may print "test <name> ... " without a newline before the first line.
        let Some(at) = line.find("ACK ") else {
            continue;
        };
        let rest = &line[at + 4..];
        let mut parts = rest.split(' ').map(|p| p.parse::<u64>().unwrap());
        let (task, seq) = (parts.next().unwrap(), parts.next().unwrap());
        // One batch in flight per submitter: acknowledgements come in order.
        let expected_seq = acked.get(&task).map_or(0, |s| s + 1);
        assert_eq!(
            seq, expected_seq,
            "submitter {task} acknowledged out of order"
        );
        acked.insert(task, seq);
        count += 1;
        if count == ACKS_BEFORE_KILL && !killed {
            child.lock().unwrap().kill().unwrap();
            killed = true;
        }
    }
    let status = child.lock().unwrap().wait().unwrap();
    let _ = done_tx.send(());
    assert!(
        !watchdog.join().unwrap(),
        "child got stuck (watchdog fired)"
    );
    assert!(
        killed,
        "child ended after {count} acknowledgements without being killed: {status}"
    );
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "child was not killed by SIGKILL: {status}"
        );
    }
    acked
}

/// Checks one generation's writes against what was acknowledged.
fn check_generation(
    scopes: &BTreeMap<TenantId, TenantScope>,
    tenants: &[TenantId],
    generation: u64,
    acked: &BTreeMap<u64, u64>,
) -> (u64, u64) {
    let (mut acked_batches, mut unacked_present) = (0, 0);
    for task in 0..TASKS {
        let tenant = tenant_of(tenants, task);
        let r = scopes[&tenant].shard_read().unwrap();
        let read = |k: CounterKey| r.counter(k.chat, k.day, k.metric).unwrap();
        // Sequences 0..acked_count were acknowledged.
        let acked_count = acked.get(&task).map_or(0, |s| s + 1);
        acked_batches += acked_count;
        for seq in 0..acked_count {
            for (k, delta) in own_keys(tenant, generation, task, seq) {
                assert_eq!(
                    read(k),
                    delta,
                    "gen {generation} task {task} batch {seq}: {k:?}"
                );
            }
        }
        // The batch after the last acknowledged one may have been committed before the kill
        // (not yet acknowledged); if so, all of it. Nothing after it.
        let next = own_keys(tenant, generation, task, acked_count);
        let present: Vec<bool> = next.iter().map(|(k, _)| read(*k) != 0).collect();
        let next_in = present.iter().all(|p| *p);
        assert!(
            next_in || present.iter().all(|p| !*p),
            "gen {generation} task {task}: batch {acked_count} is there in part"
        );
        if next_in {
            unacked_present += 1;
            for (k, delta) in next {
                assert_eq!(read(k), delta);
            }
        }
        for seq in acked_count + 1..acked_count + 3 {
            for (k, _) in own_keys(tenant, generation, task, seq) {
                assert_eq!(
                    read(k),
                    0,
                    "gen {generation} task {task}: batch {seq} was never sent"
                );
            }
        }
        // Cumulative keys: exactly the committed batches.
        let committed = acked_count + u64::from(next_in);
        for m in 0..HOT_KEYS {
            assert_eq!(
                read(hot_key(tenant, generation, task, m)),
                committed * HOT_PER_BATCH,
                "gen {generation} task {task} hot key {m}"
            );
        }
    }
    (acked_batches, unacked_present)
}

fn reopen(dir: &std::path::Path) -> (Store, BTreeMap<TenantId, TenantScope>, Vec<TenantId>) {
    let store = common::open(dir, SHARDS);
    let (admin_id, _) = store
        .catalog_read()
        .unwrap()
        .account_by_email(ADMIN)
        .unwrap()
        .unwrap();
    let admin = common::principal(&store, admin_id);
    let tenants: Vec<TenantId> = store
        .tenant_ids()
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    let scopes = tenants
        .iter()
        .map(|t| (*t, store.scope(&admin, *t).unwrap()))
        .collect();
    (store, scopes, tenants)
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = common::open(dir.path(), SHARDS);
        let admin = common::admin(&store, ADMIN);
        for i in 0..TENANTS {
            common::create_tenant(&store, &admin, &format!("crash-{i}"));
        }
    }

    let mut history = Vec::new();
    for generation in 0..GENERATIONS {
        let acked = run_child_and_kill(dir.path(), generation);
        history.push(acked);
        // Reopen as a normal start does (redb recovers the file itself) and check every
        // generation so far: a later crash must not disturb earlier writes.
        let (store, scopes, tenants) = reopen(dir.path());
        assert_eq!(tenants.len(), TENANTS);
        for (g, acked) in history.iter().enumerate() {
            let (batches, extra) = check_generation(&scopes, &tenants, g as u64, acked);
            assert!(batches >= ACKS_BEFORE_KILL as u64);
            if g as u64 == generation {
                eprintln!(
                    "generation {g}: {batches} acknowledged batches all present; \
                     {extra} committed-but-unacknowledged batches found whole"
                );
            }
        }
        drop(scopes);
        drop(store);
    }
}
