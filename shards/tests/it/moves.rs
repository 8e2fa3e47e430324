//! Moving a tenant between shards while its counters are written: every acknowledged
//! increment is on the new shard, the old one keeps nothing, moves back and forth never hang
//! (a writer that handed a batch on holds no pass), and a scope made before a move finds the
//! rows after it.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use botyard_shards::ids::{ChatId, Day};
use botyard_shards::ingest::{CounterKey, Increment, IngestConfig};
use botyard_shards::{MoveRefusal, StoreError};
use common::{create_tenant, open, start_ingest};
use redb::ReadableDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_under_ingestion_lose_nothing_and_never_hang() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), 2));
    let admin = common::admin(&store, "root@example.test");
    let scope = create_tenant(&store, &admin, "Kuzguncuk");
    let neighbour = create_tenant(&store, &admin, "Çengelköy");
    let t = scope.tenant_id();
    // The placement the writers were started with goes stale at the first move: batches for
    // the old shard are handed on by its writer.
    let (ingest, handle) = start_ingest(&store, &admin, IngestConfig::default());
    let key = CounterKey {
        tenant: t,
        chat: ChatId(-1001),
        day: Day(20_000),
        metric: 0,
    };
    // More rows than one copy chunk holds: 45,000 other counters, on days after the hot one.
    for chunk in 0..9u32 {
        let batch: Vec<Increment> = (0..5_000u32)
            .map(|i| Increment {
                key: CounterKey {
                    day: Day(30_000 + chunk * 5_000 + i),
                    ..key
                },
                delta: 1,
            })
            .collect();
        handle.submit(t, batch).await.expect("history");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let (handle, stop) = (handle.clone(), stop.clone());
            tokio::spawn(async move {
                let mut acked = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let batch = vec![Increment { key, delta: 1 }; 50];
                    handle.submit(t, batch).await.expect("acknowledged");
                    acked += 50;
                }
                acked
            })
        })
        .collect();
    for _ in 0..8 {
        let to = 1 - store.current_shard(t).unwrap();
        let s = store.clone();
        let moved = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || s.move_tenant(t, to)),
        )
        .await
        .expect("the move finishes")
        .unwrap()
        .expect("moved");
        assert_eq!(moved.to, to);
        // The scope made before any move writes and reads where the rows are now.
        scope
            .shard_write(|w| {
                w.put_settings(&botyard_shards::records::SettingsRec::defaults("Kuzguncuk"))
            })
            .unwrap();
        assert!(scope.shard_read().unwrap().settings().unwrap().is_some());
    }
    stop.store(true, Ordering::Relaxed);
    let mut acked = 0;
    for w in writers {
        acked += w.await.unwrap();
    }
    assert!(acked > 0);
    let now = store.current_shard(t).unwrap();
    let fresh = store.admin(&admin).unwrap().tenant(t).unwrap();
    assert_eq!(fresh.shard_index(), now);
    assert_eq!(
        fresh
            .shard_read()
            .unwrap()
            .counter(key.chat, key.day, 0)
            .unwrap(),
        acked,
        "every acknowledged increment is on the tenant's shard"
    );
    let new = &store.shards()[now as usize];
    let tx = new.database().begin_read().unwrap();
    let counters = tx
        .open_table(botyard_shards::tables::shard::COUNTERS)
        .unwrap();
    let rows = redb::ReadableTable::range(
        &counters,
        (t, ChatId::MIN, Day::MIN, 0u8)..=(t, ChatId::MAX, Day::MAX, u8::MAX),
    )
    .unwrap()
    .count();
    assert_eq!(rows, 45_001, "every counter row came along");
    drop(tx);
    let old = &store.shards()[(1 - now) as usize];
    let tx = old.database().begin_read().unwrap();
    let counters = tx
        .open_table(botyard_shards::tables::shard::COUNTERS)
        .unwrap();
    assert!(
        counters.get((t, key.chat, key.day, 0u8)).unwrap().is_none(),
        "the old shard keeps nothing"
    );
    drop(tx);
    let _ = neighbour;

    // Refused before anything happens.
    assert!(matches!(
        store.move_tenant(t, now),
        Err(StoreError::MoveRefused(MoveRefusal::SameShard))
    ));
    assert!(matches!(
        store.move_tenant(t, 7),
        Err(StoreError::MoveRefused(MoveRefusal::NoSuchShard))
    ));
    drop(handle);
    ingest.shutdown();
}
