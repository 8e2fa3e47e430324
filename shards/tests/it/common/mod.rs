//! Helpers shared by the integration tests: real stores in temporary directories.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use botyard_shards::ids::{AccountId, TenantId};
use botyard_shards::ingest::{Ingest, IngestConfig, IngestHandle};
use botyard_shards::records::{AccountRec, ApiKeyRec, Role, TenantRec, TenantStatus};
use botyard_shards::{Principal, Store, StoreConfig, TenantScope};
use sha2::{Digest, Sha256};

pub fn config(dir: &Path, shards: u32) -> StoreConfig {
    StoreConfig {
        dir: dir.to_path_buf(),
        shards,
        catalog_cache_bytes: 4 << 20,
        shard_cache_bytes: 4 << 20,
    }
}

pub fn open(dir: &Path, shards: u32) -> Store {
    Store::open(&config(dir, shards)).expect("open store")
}

pub fn account_rec(email: &str, is_admin: bool) -> AccountRec {
    AccountRec {
        email: email.to_string(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$hash-of-{email}"),
        is_admin,
        created_at: 1_700_000_000,
        password_changed_at: 1_700_000_000,
    }
}

pub fn insert_account(store: &Store, email: &str, is_admin: bool) -> AccountId {
    store
        .catalog_write(|c| c.insert_account(&account_rec(email, is_admin)))
        .expect("insert account")
}

pub fn principal(store: &Store, id: AccountId) -> Principal {
    store
        .principal_for_account(id)
        .expect("read principal")
        .expect("account exists")
}

/// Creates an admin account and returns its principal.
pub fn admin(store: &Store, email: &str) -> Principal {
    let id = insert_account(store, email, true);
    principal(store, id)
}

pub fn tenant_rec(name: &str) -> TenantRec {
    TenantRec {
        name: name.to_string(),
        status: TenantStatus::Active,
        plan: None,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
    }
}

pub fn create_tenant(store: &Store, admin: &Principal, name: &str) -> TenantScope {
    store
        .admin(admin)
        .expect("admin scope")
        .create_tenant(&tenant_rec(name))
        .expect("create tenant")
}

/// Creates an account and makes it a member of the scope's tenant.
pub fn add_member(store: &Store, scope: &TenantScope, email: &str, role: Role) -> AccountId {
    let id = insert_account(store, email, false);
    scope
        .catalog_write(|c| c.set_member(id, role))
        .expect("set member");
    id
}

pub fn key_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn api_key_rec(tenant: TenantId, name: &str, secret: &str, role: Role) -> ApiKeyRec {
    ApiKeyRec {
        tenant,
        role,
        name: name.to_string(),
        prefix: secret.chars().take(8).collect(),
        hash: key_hash(secret),
        created_at: 1_700_000_000,
        last_used_at: None,
        revoked_at: None,
    }
}

/// Tenant → shard index of every tenant, as the catalog says now.
pub fn placement_map(store: &Store, admin: &Principal) -> HashMap<TenantId, u32> {
    let a = store.admin(admin).expect("admin scope");
    store
        .tenant_ids()
        .expect("tenant ids")
        .into_iter()
        .map(|(t, _)| {
            let s = a.placement(t).expect("placement").expect("placed");
            (t, s)
        })
        .collect()
}

/// Starts the ingest writers of `store` with a placement read from the catalog once.
pub fn start_ingest(store: &Store, admin: &Principal, cfg: IngestConfig) -> (Ingest, IngestHandle) {
    let map = placement_map(store, admin);
    let ingest = Ingest::start(
        store.shards(),
        cfg,
        Arc::new(move |t| map.get(&t).copied()),
        None,
    );
    let handle = ingest.handle().expect("ingest handle");
    (ingest, handle)
}
