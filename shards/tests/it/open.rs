//! Opening and reopening a store: the shard count is fixed at first start, shard files must
//! stay, and only one handle may hold the files.

use crate::common;

use botyard_shards::{OpenError, Store, shard_path};
use common::{config, create_tenant, open};

#[test]
fn first_start_creates_catalog_and_every_shard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 8);
    assert_eq!(store.shard_count(), 8);
    assert!(dir.path().join("catalog.redb").is_file());
    for i in 0..8 {
        let path = shard_path(dir.path(), i);
        assert!(path.is_file(), "{} missing", path.display());
        assert_eq!(store.shards()[i as usize].index(), i);
    }
    assert_eq!(
        shard_path(dir.path(), 7),
        dir.path().join("shards").join("07.redb")
    );
}

#[test]
fn reopen_keeps_data_and_shard_count() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = {
        let store = open(dir.path(), 4);
        let admin = common::admin(&store, "root@example.test");
        create_tenant(&store, &admin, "acme").tenant_id()
    };
    let store = open(dir.path(), 4);
    assert_eq!(store.shard_count(), 4);
    let ids: Vec<_> = store
        .tenant_ids()
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(ids, vec![tenant]);
}

#[test]
fn reopen_with_another_shard_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), 8));
    for configured in [1, 4, 16] {
        match Store::open(&config(dir.path(), configured)) {
            Err(OpenError::ShardCount {
                found: 8,
                configured: c,
            }) => assert_eq!(c, configured),
            Err(e) => panic!("expected ShardCount, got {e}"),
            Ok(_) => panic!("opened an 8-shard store as {configured} shards"),
        }
    }
    // The refusal changed nothing: the right count still opens, with no extra files.
    let store = open(dir.path(), 8);
    assert_eq!(store.shard_count(), 8);
    assert!(!shard_path(dir.path(), 8).exists());
}

#[test]
fn missing_shard_file_on_a_later_start_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), 4));
    let gone = shard_path(dir.path(), 2);
    std::fs::remove_file(&gone).unwrap();
    match Store::open(&config(dir.path(), 4)) {
        Err(OpenError::MissingShard { path }) => assert_eq!(path, gone.display().to_string()),
        Err(e) => panic!("expected MissingShard, got {e}"),
        Ok(_) => panic!("opened a store with a missing shard"),
    }
    // And it is not silently recreated by the failed attempt.
    assert!(!gone.exists());
}

#[test]
fn first_start_that_died_before_recording_the_shard_count_starts_again() {
    // A first start that stops after migrating the catalog but before every shard file exists
    // leaves a catalog without `shard_count`; the next start must finish the job rather than
    // report a missing shard.
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), 4));
    {
        let db = redb::Database::open(dir.path().join("catalog.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(botyard_shards::tables::META)
            .unwrap()
            .remove("shard_count")
            .unwrap();
        tx.commit().unwrap();
    }
    for i in 1..4 {
        std::fs::remove_file(shard_path(dir.path(), i)).unwrap();
    }
    let store = open(dir.path(), 4);
    assert_eq!(store.shard_count(), 4);
    drop(store);
    // Now the count is recorded.
    assert!(matches!(
        Store::open(&config(dir.path(), 2)),
        Err(OpenError::ShardCount {
            found: 4,
            configured: 2
        })
    ));
}

#[test]
fn second_open_while_open_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    match Store::open(&config(dir.path(), 2)) {
        Err(OpenError::AlreadyOpen { path }) => {
            assert!(path.ends_with("catalog.redb"), "{path}")
        }
        Err(e) => panic!("expected AlreadyOpen, got {e}"),
        Ok(_) => panic!("opened the same store twice"),
    }
    // A shard file held by the first store is refused too.
    assert!(matches!(
        redb::Database::create(shard_path(dir.path(), 1)),
        Err(redb::DatabaseError::DatabaseAlreadyOpen)
    ));
    drop(store);
    // Once the first handle is gone the store opens again.
    drop(open(dir.path(), 2));
}
