//! Authorization scopes: a principal reaches only the tenants the catalog says it may, and
//! another tenant looks exactly like a tenant that does not exist.

use crate::common;

use botyard_shards::ids::{ChatId, Day, SecretId, TenantId};
use botyard_shards::records::{Role, SettingsRec};
use botyard_shards::{Access, StoreError};
use common::{add_member, api_key_rec, create_tenant, key_hash, open, principal};

fn is_not_found<T>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound))
}

#[test]
fn members_owners_and_admins_get_their_access_and_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 4);
    let admin = common::admin(&store, "root@example.test");
    let a = create_tenant(&store, &admin, "alpha");
    let b = create_tenant(&store, &admin, "beta");
    let (ta, tb) = (a.tenant_id(), b.tenant_id());

    let member = principal(&store, add_member(&store, &a, "m@alpha.test", Role::Viewer));
    let owner = principal(&store, add_member(&store, &a, "o@alpha.test", Role::Owner));
    let outsider = principal(
        &store,
        common::insert_account(&store, "x@nowhere.test", false),
    );

    // Member of A.
    let s = store.scope(&member, ta).unwrap();
    assert_eq!(s.tenant_id(), ta);
    assert_eq!(s.access(), Access::Viewer);
    assert!(!s.access().can_manage());
    assert_eq!(s.actor(), member.account());
    assert!(is_not_found(store.scope(&member, tb)));
    assert!(store.admin(&member).is_none());

    // Owner of A.
    let s = store.scope(&owner, ta).unwrap();
    assert_eq!(s.access(), Access::Owner);
    assert!(s.access().can_manage());
    assert!(is_not_found(store.scope(&owner, tb)));

    // No membership at all.
    assert!(is_not_found(store.scope(&outsider, ta)));
    assert!(is_not_found(store.scope(&outsider, tb)));

    // Admin reaches both; a tenant that does not exist is NotFound even for an admin.
    for t in [ta, tb] {
        let s = store.scope(&admin, t).unwrap();
        assert_eq!(s.access(), Access::Admin);
        assert!(s.access().can_manage());
    }
    assert!(is_not_found(store.scope(&admin, TenantId(9_999))));
    // A member asking for a tenant that does not exist sees the same as for B.
    assert!(is_not_found(store.scope(&member, TenantId(9_999))));

    // The scope reads its own tenant's record and members only.
    let c = store.scope(&member, ta).unwrap();
    let c = c.catalog_read().unwrap();
    assert_eq!(c.tenant().unwrap().name, "alpha");
    let mut members = c.members().unwrap();
    members.sort_by_key(|m| m.0);
    assert_eq!(
        members,
        vec![
            (member.account().unwrap(), Role::Viewer),
            (owner.account().unwrap(), Role::Owner)
        ]
    );
    let bc = b.catalog_read().unwrap();
    assert_eq!(bc.tenant().unwrap().name, "beta");
    assert!(bc.members().unwrap().is_empty());
    assert_eq!(bc.member_role(member.account().unwrap()).unwrap(), None);
}

#[test]
fn principals_follow_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let admin = common::admin(&store, "root@example.test");
    let a = create_tenant(&store, &admin, "alpha");
    let b = create_tenant(&store, &admin, "beta");
    let id = add_member(&store, &a, "m@alpha.test", Role::Viewer);

    let p = principal(&store, id);
    assert_eq!(p.memberships(), &[(a.tenant_id(), Role::Viewer)]);
    assert!(!p.is_admin());

    // Promote in A, add to B.
    a.catalog_write(|c| c.set_member(id, Role::Owner)).unwrap();
    b.catalog_write(|c| c.set_member(id, Role::Viewer)).unwrap();
    let p = principal(&store, id);
    assert_eq!(
        store.scope(&p, a.tenant_id()).unwrap().access(),
        Access::Owner
    );
    assert_eq!(
        store.scope(&p, b.tenant_id()).unwrap().access(),
        Access::Viewer
    );

    // Removed from A: a fresh principal no longer reaches it; still in B, it is kept.
    assert_eq!(
        a.catalog_write(|c| c.remove_member(id)).unwrap(),
        (true, false)
    );
    let p = principal(&store, id);
    assert!(is_not_found(store.scope(&p, a.tenant_id())));
    assert_eq!(
        store.scope(&p, b.tenant_id()).unwrap().access(),
        Access::Viewer
    );
    // Removed from its last tenant, the account goes: no principal, the email is free again.
    assert_eq!(
        b.catalog_write(|c| c.remove_member(id)).unwrap(),
        (true, true)
    );
    assert!(store.catalog_read().unwrap().account(id).unwrap().is_none());
    assert!(
        store
            .catalog_read()
            .unwrap()
            .account_by_email("m@alpha.test")
            .unwrap()
            .is_none()
    );
    assert_eq!(
        b.catalog_write(|c| c.remove_member(id)).unwrap(),
        (false, false)
    );

    // An account that does not exist has no principal.
    assert!(
        store
            .principal_for_account(botyard_shards::ids::AccountId(424_242))
            .unwrap()
            .is_none()
    );
}

#[test]
fn api_keys_reach_only_their_tenant_and_die_when_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let admin = common::admin(&store, "root@example.test");
    let a = create_tenant(&store, &admin, "alpha");
    let b = create_tenant(&store, &admin, "beta");
    let (ta, tb) = (a.tenant_id(), b.tenant_id());

    // The scope stores the key for its own tenant whatever the record says.
    let key_id = a
        .catalog_write(|c| c.insert_api_key(api_key_rec(tb, "ci", "byk_secret_one", Role::Viewer)))
        .unwrap();
    let owner_key = a
        .catalog_write(|c| c.insert_api_key(api_key_rec(ta, "ops", "byk_secret_two", Role::Owner)))
        .unwrap();

    let (id, p) = store
        .principal_for_api_key(&key_hash("byk_secret_one"))
        .unwrap()
        .expect("live key");
    assert_eq!(id, key_id);
    assert_eq!(p.api_key(), Some(key_id));
    assert_eq!(p.account(), None);
    assert!(!p.is_admin());
    assert!(store.admin(&p).is_none());
    let s = store.scope(&p, ta).unwrap();
    assert_eq!(s.access(), Access::Viewer);
    assert_eq!(s.actor(), None);
    assert!(is_not_found(store.scope(&p, tb)));

    let (_, p2) = store
        .principal_for_api_key(&key_hash("byk_secret_two"))
        .unwrap()
        .unwrap();
    assert_eq!(store.scope(&p2, ta).unwrap().access(), Access::Owner);
    assert!(is_not_found(store.scope(&p2, tb)));

    // Keys are listed under A only.
    let keys = a.catalog_read().unwrap().api_keys().unwrap();
    assert_eq!(
        keys.iter().map(|k| (k.0, k.1.tenant)).collect::<Vec<_>>(),
        vec![(key_id, ta), (owner_key, ta)]
    );
    assert!(b.catalog_read().unwrap().api_keys().unwrap().is_empty());

    // B cannot revoke A's key: the key is "not found" from B.
    assert!(is_not_found(
        b.catalog_write(|c| c.revoke_api_key(key_id, 5))
    ));
    assert!(
        store
            .principal_for_api_key(&key_hash("byk_secret_one"))
            .unwrap()
            .is_some()
    );

    // Revoked by A: the key no longer yields a principal; the other key still works.
    a.catalog_write(|c| c.revoke_api_key(key_id, 1_700_000_100))
        .unwrap();
    assert!(
        store
            .principal_for_api_key(&key_hash("byk_secret_one"))
            .unwrap()
            .is_none()
    );
    let keys = a.catalog_read().unwrap().api_keys().unwrap();
    assert_eq!(keys[0].1.revoked_at, Some(1_700_000_100));
    assert!(
        store
            .principal_for_api_key(&key_hash("byk_secret_two"))
            .unwrap()
            .is_some()
    );
    // An unknown hash is not a key.
    assert!(store.principal_for_api_key(&[7u8; 32]).unwrap().is_none());
}

#[test]
fn shard_rows_are_bound_to_the_scope_tenant() {
    let dir = tempfile::tempdir().unwrap();
    // One shard: both tenants share a file, so only the key prefix keeps them apart.
    let store = open(dir.path(), 1);
    let admin = common::admin(&store, "root@example.test");
    let a = create_tenant(&store, &admin, "alpha");
    let b = create_tenant(&store, &admin, "beta");
    assert_eq!(a.shard_index(), b.shard_index());

    a.shard_write(|s| {
        s.put_settings(&SettingsRec::defaults("Alpha"))?;
        s.put_secret(SecretId(1), b"sealed-a")
    })
    .unwrap();
    assert_eq!(
        a.shard_read()
            .unwrap()
            .settings()
            .unwrap()
            .unwrap()
            .display_name,
        "Alpha"
    );
    let rb = b.shard_read().unwrap();
    assert_eq!(rb.tenant(), b.tenant_id());
    assert!(rb.settings().unwrap().is_none());
    assert!(rb.secret(SecretId(1)).unwrap().is_none());
    assert_eq!(rb.counter(ChatId(-1), Day(1), 0).unwrap(), 0);
    assert_eq!(
        a.shard_read()
            .unwrap()
            .secret(SecretId(1))
            .unwrap()
            .as_deref(),
        Some(&b"sealed-a"[..])
    );

    // A failed use case commits nothing.
    let r: Result<(), StoreError> = a.shard_write(|s| {
        s.put_secret(SecretId(2), b"half")?;
        Err(StoreError::Conflict("test"))
    });
    assert!(r.is_err());
    assert!(
        a.shard_read()
            .unwrap()
            .secret(SecretId(2))
            .unwrap()
            .is_none()
    );
    assert!(!b.shard_write(|s| s.delete_secret(SecretId(1))).unwrap());
    assert!(a.shard_write(|s| s.delete_secret(SecretId(1))).unwrap());
}

#[test]
fn tenant_search_follows_creates_renames_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path(), 2);
    let admin_p = common::admin(&store, "root@shop.test");
    let admin = store.admin(&admin_p).unwrap();
    let names = [
        "Kadıköy Kahve",
        "Moda Çiçek",
        "KADIKÖY Kitap",
        "Beşiktaş Bal",
    ];
    let ids = admin
        .create_tenants(&names.map(common::tenant_rec))
        .unwrap();
    let found = |q: &str, after: Option<u64>, limit: usize| {
        let p = admin.list_tenants(after, limit, Some(q)).unwrap();
        (
            p.items
                .iter()
                .map(|(id, r)| (id.0, r.name.clone()))
                .collect::<Vec<_>>(),
            p.next,
        )
    };
    // Turkish-aware folding, id order, pages.
    let (hits, next) = found("kadıköy", None, 1);
    assert_eq!(hits, vec![(ids[0].0, "Kadıköy Kahve".to_string())]);
    assert_eq!(next, Some(ids[0].0));
    let (hits, next) = found("kadıköy", next, 1);
    assert_eq!(hits, vec![(ids[2].0, "KADIKÖY Kitap".to_string())]);
    assert_eq!(next, None);
    // A rename is seen at once (the index knows it is stale).
    let scope = admin.tenant(ids[1]).unwrap();
    scope
        .catalog_write(|c| {
            let mut r = common::tenant_rec("Kadıköy Moda Çiçek");
            r.updated_at += 1;
            c.put_tenant(&r)
        })
        .unwrap();
    assert_eq!(found("KADIKÖY", None, 10).0.len(), 3);
    assert_eq!(found("çiçek", None, 10).0[0].1, "Kadıköy Moda Çiçek");
    // So are new and deleted tenants.
    common::create_tenant(&store, &admin_p, "Kadıköy Balık");
    admin.delete_tenant(ids[0]).unwrap();
    let (hits, _) = found("kadıköy", None, 10);
    let names: Vec<&str> = hits.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(
        names,
        ["Kadıköy Moda Çiçek", "KADIKÖY Kitap", "Kadıköy Balık"]
    );
    assert!(found("zzz", None, 10).0.is_empty());
}
