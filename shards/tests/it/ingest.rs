//! The ingest writer: what many concurrent submitters were acknowledged for is exactly what the
//! counters hold, with and without merging; bad batches are refused whole.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;

use botyard_shards::ids::{ChatId, Day, TenantId};
use botyard_shards::ingest::{CounterKey, Increment, IngestConfig, IngestError};
use botyard_shards::{Principal, Store, TenantScope};
use common::{create_tenant, open, start_ingest};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn setup(shards: u32, tenants: usize) -> (tempfile::TempDir, Store, Principal, Vec<TenantScope>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), shards);
    let admin = common::admin(&store, "root@example.test");
    let scopes = (0..tenants)
        .map(|i| create_tenant(&store, &admin, &format!("t{i}")))
        .collect();
    (dir, store, admin, scopes)
}

fn read_all(
    scopes: &[TenantScope],
    keys: impl Iterator<Item = CounterKey>,
) -> HashMap<CounterKey, u64> {
    let by_tenant: HashMap<TenantId, &TenantScope> =
        scopes.iter().map(|s| (s.tenant_id(), s)).collect();
    keys.map(|k| {
        let r = by_tenant[&k.tenant].shard_read().unwrap();
        (k, r.counter(k.chat, k.day, k.metric).unwrap())
    })
    .collect()
}

async fn concurrent_sums(merge: bool) {
    let (_dir, store, admin, scopes) = setup(3, 5);
    let tenants: Vec<TenantId> = scopes.iter().map(|s| s.tenant_id()).collect();
    let cfg = IngestConfig {
        merge,
        max_batch: 500,
        ..IngestConfig::default()
    };
    let (ingest, handle) = start_ingest(&store, &admin, cfg);
    let totals = ingest.totals.clone();

    const SUBMITTERS: u64 = 48;
    const BATCHES: usize = 25;
    let mut tasks = Vec::new();
    for n in 0..SUBMITTERS {
        let handle = handle.clone();
        let tenants = tenants.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(n);
            let mut sums: HashMap<CounterKey, u64> = HashMap::new();
            let mut events = 0u64;
            let mut in_flight = Vec::new();
            for b in 0..BATCHES {
                // Each batch is for one tenant; keys collide a lot within and across batches.
                let tenant = tenants[rng.random_range(0..tenants.len())];
                let len = rng.random_range(1..=200);
                let batch: Vec<Increment> = (0..len)
                    .map(|_| Increment {
                        key: CounterKey {
                            tenant,
                            chat: ChatId(rng.random_range(-4i64..4) * 1_000_000_007),
                            day: Day(20_000 + rng.random_range(0..3)),
                            metric: rng.random_range(0..3),
                        },
                        delta: rng.random_range(1..=1_000),
                    })
                    .collect();
                for e in &batch {
                    *sums.entry(e.key).or_default() += e.delta;
                }
                events += batch.len() as u64;
                // Half the submitters keep several batches in flight, half wait for each.
                if n % 2 == 0 {
                    in_flight.push(handle.enqueue(tenant, batch).await.unwrap());
                    if in_flight.len() == 4 || b + 1 == BATCHES {
                        for ack in in_flight.drain(..) {
                            ack.await.unwrap().unwrap();
                        }
                    }
                } else {
                    handle.submit(tenant, batch).await.unwrap();
                }
            }
            (sums, events)
        }));
    }
    let mut expected: HashMap<CounterKey, u64> = HashMap::new();
    let mut events = 0;
    for t in tasks {
        let (sums, n) = t.await.unwrap();
        events += n;
        for (k, v) in sums {
            *expected.entry(k).or_default() += v;
        }
    }
    drop(handle);
    let got = read_all(&scopes, expected.keys().copied());
    assert_eq!(got, expected);
    let commits = totals.commits.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        totals.events.load(std::sync::atomic::Ordering::Relaxed),
        events
    );
    assert_eq!(
        totals
            .failed_commits
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(commits >= 1);
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();

    // A key nobody wrote reads as zero, also after a restart the sums are all there.
    drop(scopes);
    drop(store);
    let store = open(_dir.path(), 3);
    let admin = common::principal(&store, admin.account().unwrap());
    let scopes: Vec<TenantScope> = tenants
        .iter()
        .map(|t| store.scope(&admin, *t).unwrap())
        .collect();
    assert_eq!(read_all(&scopes, expected.keys().copied()), expected);
    assert_eq!(
        scopes[0]
            .shard_read()
            .unwrap()
            .counter(ChatId(5), Day(20_000), 0)
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submitters_sum_exactly_with_merge() {
    concurrent_sums(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submitters_sum_exactly_without_merge() {
    concurrent_sums(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_stats_hook_sees_every_event() {
    let (_dir, store, admin, scopes) = setup(2, 2);
    let map = common::placement_map(&store, &admin);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_seen = seen.clone();
    let ingest = botyard_shards::ingest::Ingest::start(
        store.shards(),
        IngestConfig::default(),
        Arc::new(move |t| map.get(&t).copied()),
        Some(Arc::new(move |s| hook_seen.lock().unwrap().push(s))),
    );
    let handle = ingest.handle().unwrap();
    let key = |s: &TenantScope, chat| CounterKey {
        tenant: s.tenant_id(),
        chat: ChatId(chat),
        day: Day(1),
        metric: 0,
    };
    for s in &scopes {
        let batch = vec![
            Increment {
                key: key(s, 1),
                delta: 2,
            },
            Increment {
                key: key(s, 1),
                delta: 3,
            },
            Increment {
                key: key(s, 2),
                delta: 1,
            },
        ];
        handle.submit(s.tenant_id(), batch).await.unwrap();
        assert_eq!(
            s.shard_read()
                .unwrap()
                .counter(ChatId(1), Day(1), 0)
                .unwrap(),
            5
        );
    }
    drop(handle);
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().map(|s| s.events).sum::<usize>(), 6);
    assert_eq!(seen.iter().map(|s| s.batches).sum::<usize>(), 2);
    // Merged: each commit wrote 2 distinct keys for 3 events.
    assert!(seen.iter().all(|s| s.distinct_keys == 2 && s.events == 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batches_are_refused_whole() {
    let (_dir, store, admin, scopes) = setup(2, 2);
    let (a, b) = (&scopes[0], &scopes[1]);
    let cfg = IngestConfig {
        max_batch: 10,
        ..IngestConfig::default()
    };
    let (ingest, handle) = start_ingest(&store, &admin, cfg);
    let key = |t: TenantId, chat| CounterKey {
        tenant: t,
        chat: ChatId(chat),
        day: Day(3),
        metric: 1,
    };
    let ok: Vec<Increment> = (0..10)
        .map(|i| Increment {
            key: key(a.tenant_id(), i),
            delta: 1,
        })
        .collect();
    handle.submit(a.tenant_id(), ok.clone()).await.unwrap();

    // One over the limit: refused, nothing written.
    let mut big = ok.clone();
    big.push(Increment {
        key: key(a.tenant_id(), 99),
        delta: 1,
    });
    match handle.submit(a.tenant_id(), big).await {
        Err(IngestError::TooLarge(11, 10)) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(matches!(
        handle.enqueue(a.tenant_id(), vec![ok[0]; 11]).await,
        Err(IngestError::TooLarge(11, 10))
    ));

    // A batch for A that carries one event of B: refused, nothing of it written to either.
    let mut mixed: Vec<Increment> = (0..5)
        .map(|i| Increment {
            key: key(a.tenant_id(), i),
            delta: 100,
        })
        .collect();
    mixed.push(Increment {
        key: key(b.tenant_id(), 0),
        delta: 100,
    });
    let r = handle.submit(a.tenant_id(), mixed.clone()).await;
    assert!(r.is_err(), "mixed batch was accepted");
    // Submitted as B's batch it is refused too.
    assert!(handle.submit(b.tenant_id(), mixed).await.is_err());

    // A tenant with no placement is refused.
    assert!(
        handle
            .submit(
                TenantId(9_999),
                vec![Increment {
                    key: key(TenantId(9_999), 0),
                    delta: 1
                }]
            )
            .await
            .is_err()
    );

    // An empty batch is fine and changes nothing.
    handle.submit(a.tenant_id(), Vec::new()).await.unwrap();

    let ra = a.shard_read().unwrap();
    for i in 0..10 {
        assert_eq!(ra.counter(ChatId(i), Day(3), 1).unwrap(), 1, "chat {i}");
    }
    assert_eq!(ra.counter(ChatId(99), Day(3), 1).unwrap(), 0);
    assert_eq!(
        b.shard_read()
            .unwrap()
            .counter(ChatId(0), Day(3), 1)
            .unwrap(),
        0
    );
    assert_eq!(
        ingest
            .totals
            .events
            .load(std::sync::atomic::Ordering::Relaxed),
        10
    );
    drop(handle);
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_commits_what_was_queued() {
    let (_dir, store, admin, scopes) = setup(1, 1);
    let t = scopes[0].tenant_id();
    let (ingest, handle) = start_ingest(&store, &admin, IngestConfig::default());
    let mut acks = Vec::new();
    for i in 0..50 {
        let e = Increment {
            key: CounterKey {
                tenant: t,
                chat: ChatId(i % 5),
                day: Day(0),
                metric: 0,
            },
            delta: 1,
        };
        acks.push(handle.enqueue(t, vec![e]).await.unwrap());
    }
    drop(handle);
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();
    for a in acks {
        a.await.unwrap().unwrap();
    }
    let r = scopes[0].shard_read().unwrap();
    for c in 0..5 {
        assert_eq!(r.counter(ChatId(c), Day(0), 0).unwrap(), 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_days_sum_and_users_keep_latest_names() {
    use botyard_shards::ingest::{Batch, UserDayIncrement, UserSeen};
    let (_dir, store, admin, scopes) = setup(2, 1);
    let t = scopes[0].tenant_id();
    let (ingest, handle) = start_ingest(&store, &admin, IngestConfig::default());
    let seen = |at: i64, name: &str| UserSeen {
        tenant: t,
        user: 77,
        first_name: name.into(),
        last_name: Some("Yılmaz".into()),
        username: None,
        at,
        messages: 1,
    };
    let day = |delta| UserDayIncrement {
        tenant: t,
        chat: ChatId(-100),
        day: Day(20_000),
        user: 77,
        delta,
    };
    // Two batches in one submission window and one later, names arriving out of time order.
    let b1 = Batch {
        user_days: vec![day(1), day(2)],
        users: vec![seen(2_000, "Ayşe"), seen(1_000, "Eski")],
        ..Batch::default()
    };
    let b2 = Batch {
        user_days: vec![day(4)],
        users: vec![seen(1_500, "Arada")],
        ..Batch::default()
    };
    let r1 = handle.enqueue_batch(t, b1).await.unwrap();
    let r2 = handle.enqueue_batch(t, b2).await.unwrap();
    r1.await.unwrap().unwrap();
    r2.await.unwrap().unwrap();
    // A new user seen twice in one commit is first seen at the earlier time.
    let mid = scopes[0]
        .shard_read()
        .unwrap()
        .telegram_user(77)
        .unwrap()
        .unwrap();
    assert_eq!((mid.first_seen, mid.last_seen), (1_000, 2_000));
    handle
        .submit_batch(
            t,
            Batch {
                users: vec![seen(500, "Daha eski")],
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    // Another tenant's event in the batch is refused whole.
    let foreign = Batch {
        user_days: vec![UserDayIncrement {
            tenant: TenantId(t.0 + 99),
            ..day(1)
        }],
        ..Batch::default()
    };
    assert!(handle.submit_batch(t, foreign).await.is_err());
    drop(handle);
    ingest.shutdown();
    let r = scopes[0].shard_read().unwrap();
    assert_eq!(r.user_day(ChatId(-100), Day(20_000), 77).unwrap(), 7);
    let u = r.telegram_user(77).unwrap().unwrap();
    assert_eq!(u.first_name, "Ayşe");
    assert_eq!((u.first_seen, u.last_seen, u.messages), (500, 2_000, 4));
}
