//! The appliance's own secrets under the master key, and `botyard keys rotate`.

use botyard_shards::{SecretSlot, Store, StoreConfig, StoreError};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::security::crypto::{CryptoError, Keyring};

const SIGNING_KEY: &str = "jwt_signing_key";

/// Associated data binding a sealed catalog secret to its name.
pub fn catalog_aad(name: &str) -> Vec<u8> {
    format!("botyard:catalog-secret:{name}").into_bytes()
}

/// Associated data of any sealed secret, from where it is stored.
pub fn slot_aad(slot: SecretSlot<'_>) -> Vec<u8> {
    match slot {
        SecretSlot::Catalog(name) => catalog_aad(name),
        SecretSlot::Tenant(t, id) => format!("botyard:tenant-secret:{t}:{id}").into_bytes(),
    }
}

/// The access-token signing key: generated on first start, stored sealed.
pub fn signing_key(
    store: &Store,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, crate::RunError> {
    let aad = catalog_aad(SIGNING_KEY);
    if let Some(sealed) = store.catalog_read()?.secret(SIGNING_KEY)? {
        return Ok(keyring.open(&sealed, &aad)?);
    }
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rand::fill(&mut key[..]);
    let sealed = keyring.seal(&key, &aad)?;
    store.catalog_write(|c| c.put_secret(SIGNING_KEY, &sealed))?;
    Ok(key)
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Open(#[from] botyard_shards::OpenError),
}

/// Re-seals every secret under a new master key. Needs the server stopped (the store files
/// are locked while it runs). Safe to re-run after a crash: until the last step the key file
/// holds both keys.
pub fn rotate(config: &Config) -> Result<(usize, u32), RotateError> {
    let mut ring = Keyring::load_or_create(&config.master_key_path(), false)?;
    let store = Store::open(&StoreConfig {
        dir: config.data_dir.clone(),
        shards: config.store.shards,
        catalog_cache_bytes: 8 << 20,
        shard_cache_bytes: 4 << 20,
    })?;
    let new_id = ring.begin_rotation()?;
    // Each blob is opened with whatever key sealed it and sealed again with the new one.
    let mut err = None;
    let n = store.rewrap_secrets(|slot, sealed| -> Result<Vec<u8>, StoreError> {
        let aad = slot_aad(slot);
        match ring
            .open(sealed, &aad)
            .and_then(|plain| ring.seal(&plain, &aad))
        {
            Ok(v) => Ok(v),
            Err(e) => {
                err = Some(e);
                Err(StoreError::Conflict("secret does not open"))
            }
        }
    });
    if let Some(e) = err {
        return Err(e.into());
    }
    let n = n?;
    ring.finish_rotation()?;
    Ok((n, new_id))
}

/// `botyard keys new FILE`: a fresh master key file (mode 0600), never over an existing one.
pub fn new_key_file(path: &std::path::Path) -> Result<String, String> {
    if path.exists() {
        return Err(format!(
            "{} exists; a master key is never overwritten (it opens every sealed secret)",
            path.display()
        ));
    }
    let ring = Keyring::load_or_create(path, true).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote master key {:08x} to {}; keep a copy apart from the backups\n",
        ring.primary_id(),
        path.display()
    ))
}
