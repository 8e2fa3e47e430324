//! Session material in the store: a session's record and its secrets sealed with the master
//! key (bound to the tenant and session id), and what its worker reports back (where it
//! signed in, its kind, where it stands in Telegram's updates). Over `(&Store, &Keyring)`
//! only, so the supervisor can keep what workers report without the application state.

use botyard_shards::ids::{SecretId, TenantId};
use botyard_shards::records::{SessionKindRec, SessionRec};
use botyard_shards::{SecretSlot, TenantScope};

use crate::error::{AppError, AppResult};
use crate::security::keys::slot_aad;
use crate::worker::ipc::messages::SessionKind;

/// Catalog secret holding the platform bot's key and datacenter once it signed in.
pub const PLATFORM_BOT_SECRET: &str = "platform_bot_session";

/// Stores a session: its record, and its material sealed with the master key, bound to the
/// tenant and session id. No limits are checked here.
pub fn add_session(
    keyring: &crate::security::crypto::Keyring,
    scope: &TenantScope,
    label: String,
    kind: &SessionKind,
    now: i64,
) -> AppResult<SecretId> {
    let material = zeroize::Zeroizing::new(
        serde_json::to_vec(kind).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    let rec_kind = match kind {
        SessionKind::Sim(_) => SessionKindRec::Sim,
        SessionKind::Bot(_) => SessionKindRec::Bot,
        SessionKind::Imported(i) if i.is_bot == Some(true) => SessionKindRec::Bot,
        SessionKind::Imported(_) => SessionKindRec::User,
    };
    let tenant = scope.tenant_id();
    scope.shard_write(|s| -> AppResult<SecretId> {
        let id = s.insert_session(&SessionRec {
            label,
            kind: rec_kind,
            created_at: now,
        })?;
        let sealed = keyring.seal(&material, &slot_aad(SecretSlot::Tenant(tenant, id)))?;
        s.put_secret(id, &sealed)?;
        Ok(id)
    })
}

/// Where a bot signed in, and with which key.
#[derive(Clone, Copy)]
pub struct SignedIn<'a> {
    pub dc_id: i32,
    pub addr: std::net::SocketAddr,
    pub auth_key: &'a [u8],
    pub user_id: i64,
}

/// Reseals a bot session's material with where it now lives and its key (reported by its
/// worker after signing in). Other kinds keep their material.
pub fn store_moved(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    tenant: TenantId,
    session: SecretId,
    at: &SignedIn<'_>,
) -> AppResult<bool> {
    let SignedIn {
        dc_id,
        addr,
        auth_key,
        user_id,
    } = *at;
    if auth_key.len() != 256 {
        return Err(AppError::Internal(
            "a worker reported a key of the wrong size".into(),
        ));
    }
    reseal(store, keyring, tenant, session, |kind| {
        let SessionKind::Bot(b) = kind else {
            return false;
        };
        b.dc_id = dc_id;
        b.addr = addr;
        b.auth_key = Some(zeroize::Zeroizing::new(auth_key.to_vec()));
        b.user_id = Some(user_id);
        true
    })
}

/// Reseals a real session's material with where it stands in Telegram's update sequences
/// (reported by its worker after the events it covers were stored).
pub fn store_sync(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    tenant: TenantId,
    session: SecretId,
    state: &crate::worker::telegram::SyncState,
) -> AppResult<bool> {
    reseal(store, keyring, tenant, session, |kind| match kind {
        SessionKind::Bot(b) => {
            b.sync = Some(state.clone());
            true
        }
        SessionKind::Imported(i) => {
            i.sync = Some(state.clone());
            true
        }
        SessionKind::Sim(_) => false,
    })
}

/// Records what an imported session turned out to be at its sign-in (a bot or a user
/// account), in its record (what the API shows) and its material (what its next worker is
/// paced by). Other kinds are what they were created as.
pub fn store_kind(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    tenant: TenantId,
    session: SecretId,
    is_bot: bool,
) -> AppResult<bool> {
    let changed = reseal(store, keyring, tenant, session, |kind| match kind {
        SessionKind::Imported(i) if i.is_bot != Some(is_bot) => {
            i.is_bot = Some(is_bot);
            true
        }
        _ => false,
    })?;
    if !changed {
        return Ok(false);
    }
    let scope = store.supervisor_scope(tenant)?;
    scope.shard_write(|s| -> AppResult<bool> {
        let Some((_, mut rec)) = s.sessions()?.into_iter().find(|(id, _)| *id == session) else {
            return Ok(false);
        };
        rec.kind = if is_bot {
            SessionKindRec::Bot
        } else {
            SessionKindRec::User
        };
        Ok(s.put_session(session, &rec)?)
    })
}

/// Opens a session's sealed material, lets `change` edit it, and seals it again when it
/// says so, in one write transaction.
fn reseal(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    tenant: TenantId,
    session: SecretId,
    change: impl FnOnce(&mut SessionKind) -> bool,
) -> AppResult<bool> {
    let scope = store.supervisor_scope(tenant)?;
    let aad = slot_aad(SecretSlot::Tenant(tenant, session));
    scope.shard_write(|s| -> AppResult<bool> {
        let Some(sealed) = s.secret(session)? else {
            return Ok(false);
        };
        let plain = keyring.open(&sealed, &aad)?;
        let mut kind: SessionKind = serde_json::from_slice(&plain)
            .map_err(|e| AppError::Internal(format!("session {session} material: {e}")))?;
        if !change(&mut kind) {
            return Ok(false);
        }
        let material = zeroize::Zeroizing::new(
            serde_json::to_vec(&kind).map_err(|e| AppError::Internal(e.to_string()))?,
        );
        s.put_secret(session, &keyring.seal(&material, &aad)?)?;
        Ok(true)
    })
}

/// Keeps the platform bot's update state with its sealed material.
pub fn store_platform_sync(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    state: &crate::worker::telegram::SyncState,
) -> AppResult<bool> {
    let aad = crate::security::keys::catalog_aad(PLATFORM_BOT_SECRET);
    store.catalog_write(|c| -> AppResult<bool> {
        let Some(sealed) = c.secret(PLATFORM_BOT_SECRET)? else {
            return Ok(false);
        };
        let plain = keyring.open(&sealed, &aad)?;
        let mut b: crate::worker::ipc::messages::BotSession = serde_json::from_slice(&plain)
            .map_err(|e| AppError::Internal(format!("platform bot material: {e}")))?;
        b.sync = Some(state.clone());
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&b).map_err(|e| AppError::Internal(e.to_string()))?,
        );
        c.put_secret(PLATFORM_BOT_SECRET, &keyring.seal(&plain, &aad)?)?;
        Ok(true)
    })
}

/// Stores where the platform bot signed in (reported by its worker).
pub fn store_platform_bot(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    token: &str,
    at: &SignedIn<'_>,
) -> AppResult<()> {
    let b = crate::worker::ipc::messages::BotSession {
        token: zeroize::Zeroizing::new(token.to_string()),
        dc_id: at.dc_id,
        addr: at.addr,
        auth_key: Some(zeroize::Zeroizing::new(at.auth_key.to_vec())),
        user_id: Some(at.user_id),
        sync: None,
    };
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(&b).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    let sealed = keyring.seal(
        &plain,
        &crate::security::keys::catalog_aad(PLATFORM_BOT_SECRET),
    )?;
    store.catalog_write(|c| c.put_secret(PLATFORM_BOT_SECRET, &sealed))?;
    Ok(())
}

/// The platform bot's one session.
pub const PLATFORM_SESSION: u64 = 1;

/// `123456789:AAH…`: a bot id, a colon and a 35-character secret (length varies a little).
pub fn valid_bot_token(t: &str) -> bool {
    let t = t.trim();
    let Some((id, secret)) = t.split_once(':') else {
        return false;
    };
    (3..=15).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_digit())
        && (20..=64).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
