//! Operational subcommands of the binary (`botyard backup …`, `admin …`, `tenants …`): what they do, apart from
//! parsing their arguments (`main.rs`). Each returns the text to print or an error to show.

pub mod admin;
pub mod admin_client;
pub mod backup;
pub mod doctor;
pub mod tenants;

use botyard_shards::{Store, StoreConfig};

use crate::config::Config;
use crate::security::crypto::Keyring;

/// Opens the store and the master key when no server runs on the data folder (nobody else can
/// have it open then).
pub(crate) fn open_store(config: &Config) -> Result<(Store, Keyring), String> {
    if !config.data_dir.join("catalog.redb").exists() {
        return Err(format!("no store in {}", config.data_dir.display()));
    }
    let keyring =
        Keyring::load_or_create(&config.master_key_path(), false).map_err(|e| e.to_string())?;
    let open = |shards| {
        Store::open(&StoreConfig {
            dir: config.data_dir.clone(),
            shards,
            catalog_cache_bytes: 16 << 20,
            shard_cache_bytes: 16 << 20,
        })
    };
    // A command works on the store as it is: its shard count is the one it was made with,
    // whatever the configuration at hand says (the server itself refuses a mismatch).
    let store = match open(config.store.shards) {
        Err(botyard_shards::OpenError::ShardCount { found, .. }) => open(found),
        other => other,
    }
    .map_err(|e| e.to_string())?;
    Ok((store, keyring))
}
