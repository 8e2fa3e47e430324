//! Placement: a new tenant goes to the least-loaded shard (lowest index on a tie), deletions
//! free room that new tenants fill, and the loads survive a restart.

use crate::common;

use botyard_shards::ids::TenantId;
use botyard_shards::{Principal, Store};
use common::{create_tenant, open, placement_map};

fn loads(store: &Store, admin: &Principal) -> Vec<usize> {
    let mut out = vec![0; store.shard_count() as usize];
    for s in placement_map(store, admin).values() {
        out[*s as usize] += 1;
    }
    out
}

#[test]
fn new_tenants_go_to_the_least_loaded_shard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 8);
    let admin = common::admin(&store, "root@example.test");
    let a = store.admin(&admin).unwrap();

    let mut by_shard: Vec<Vec<TenantId>> = vec![Vec::new(); 8];
    for i in 0..20 {
        // Before each creation, the chosen shard must be a least-loaded one.
        let before = loads(&store, &admin);
        let min = *before.iter().min().unwrap();
        let scope = create_tenant(&store, &admin, &format!("tenant-{i}"));
        let s = scope.shard_index();
        assert_eq!(before[s as usize], min, "tenant {i} went to a fuller shard");
        // Ties go to the lowest index.
        assert_eq!(before.iter().position(|n| *n == min), Some(s as usize));
        assert_eq!(a.placement(scope.tenant_id()).unwrap(), Some(s));
        by_shard[s as usize].push(scope.tenant_id());
    }
    assert_eq!(loads(&store, &admin), vec![3, 3, 3, 3, 2, 2, 2, 2]);

    // Empty shard 6 and take one tenant from shard 1.
    for t in by_shard[6].drain(..) {
        a.delete_tenant(t).unwrap();
    }
    let t = by_shard[1].pop().unwrap();
    a.delete_tenant(t).unwrap();
    assert_eq!(loads(&store, &admin), vec![3, 2, 3, 3, 2, 2, 0, 2]);

    // The emptiest shard fills first, then the ties in index order.
    let next: Vec<u32> = (0..4)
        .map(|i| create_tenant(&store, &admin, &format!("late-{i}")).shard_index())
        .collect();
    assert_eq!(next, vec![6, 6, 1, 4]);
    assert_eq!(loads(&store, &admin), vec![3, 3, 3, 3, 3, 2, 2, 2]);

    // The loads are stored, not recomputed from memory: after a restart placement continues.
    drop(store);
    let store = open(dir.path(), 8);
    let admin = common::principal(&store, admin.account().unwrap());
    assert_eq!(loads(&store, &admin), vec![3, 3, 3, 3, 3, 2, 2, 2]);
    let next: Vec<u32> = (0..4)
        .map(|i| create_tenant(&store, &admin, &format!("after-restart-{i}")).shard_index())
        .collect();
    assert_eq!(next, vec![5, 6, 7, 0]);
    assert_eq!(loads(&store, &admin), vec![4, 3, 3, 3, 3, 3, 3, 3]);
}

#[test]
fn deleting_a_tenant_twice_is_not_found_and_does_not_skew_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let admin = common::admin(&store, "root@example.test");
    let a = store.admin(&admin).unwrap();
    let t0 = create_tenant(&store, &admin, "zero").tenant_id();
    let _t1 = create_tenant(&store, &admin, "one");
    a.delete_tenant(t0).unwrap();
    assert!(matches!(
        a.delete_tenant(t0),
        Err(botyard_shards::StoreError::NotFound)
    ));
    assert_eq!(loads(&store, &admin), vec![0, 1]);
    // Shard 0 is emptier and gets the next one; the tie after it goes to the lower index.
    let next: Vec<u32> = (0..3)
        .map(|i| create_tenant(&store, &admin, &format!("n{i}")).shard_index())
        .collect();
    assert_eq!(next, vec![0, 0, 1]);
}

#[test]
fn only_admins_get_an_admin_scope() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let admin = common::admin(&store, "root@example.test");
    let scope = create_tenant(&store, &admin, "acme");
    let owner = common::add_member(
        &store,
        &scope,
        "owner@acme.test",
        botyard_shards::records::Role::Owner,
    );
    let owner = common::principal(&store, owner);
    assert!(store.admin(&owner).is_none());
    assert!(store.admin(&admin).is_some());
}
