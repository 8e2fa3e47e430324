//! Tenant sessions and their worker: connecting and removing sessions, and keeping the
//! supervisor's view in line with the store (a worker runs while the tenant is active and has
//! at least one session).

use botyard_shards::ids::{SecretId, TenantId};
use botyard_shards::records::TenantStatus;
use botyard_shards::{SecretSlot, StoreError, TenantScope};

use crate::config::PlatformBot;
use crate::domain::sessions::{PLATFORM_BOT_SECRET, PLATFORM_SESSION, add_session};
use crate::error::{AppError, AppResult};
use crate::runtime::supervisor::{WorkerKey, WorkerLimits};
use crate::security::keys::slot_aad;
use crate::state::{AppState, Shared, blocking};
use crate::worker::ipc::messages::{SessionKind, SessionSpec, SessionState};
use crate::worker::telegram::sim::SimConfig;

/// The tenant's media folder, handed to its worker read-only.
pub fn media_dir(st: &AppState, tenant: TenantId) -> std::path::PathBuf {
    media_root(st).join(tenant.0.to_string())
}

/// Creates the tenant's media folder for its worker: private to the server, or, when workers
/// run as another user (`workers.user`), readable by that user's group and nobody else.
pub fn prepare_media_dir(st: &AppState, tenant: TenantId) -> AppResult<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = media_dir(st, tenant);
    let err = |e: std::io::Error| AppError::Internal(format!("media folder: {e}"));
    std::fs::create_dir_all(&dir).map_err(err)?;
    let group = st
        .config
        .workers
        .run_as
        .filter(|_| rustix::process::geteuid().is_root())
        .map(|(_, gid)| gid);
    let mode = match group {
        Some(gid) => {
            std::os::unix::fs::chown(&dir, None, Some(gid)).map_err(err)?;
            for f in std::fs::read_dir(&dir).map_err(err)?.flatten() {
                std::os::unix::fs::chown(f.path(), None, Some(gid)).map_err(err)?;
                std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o640))
                    .map_err(err)?;
            }
            0o750
        }
        None => 0o700,
    };
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    Ok(dir)
}

/// Adds a bot session by its token; its worker signs in and reports the key it got.
pub fn connect_bot(
    st: &AppState,
    scope: &TenantScope,
    label: &str,
    token: &str,
    now: i64,
) -> AppResult<SecretId> {
    let label = crate::domain::tenancy::clean_name("label", label)?;
    if !crate::domain::sessions::valid_bot_token(token) {
        return Err(AppError::Invalid {
            code: "session.token_format",
            field: "token".into(),
            message: "a bot token looks like 123456789:AAH…, as @BotFather gives it".into(),
        });
    }
    if st.appliance().telegram.is_none() {
        return Err(AppError::Conflict {
            code: "telegram.not_configured",
            message: "the reseller has not configured telegram.api_id and telegram.api_hash".into(),
        });
    }
    check_session_limit(st, scope)?;
    let seed = match &st.config.telegram.seed_auth_key_file {
        Some(p) => {
            let k = std::fs::read(p).map_err(|e| AppError::Internal(format!("seed key: {e}")))?;
            if k.len() != 256 {
                return Err(AppError::Internal(
                    "the seed auth key is not 256 bytes".into(),
                ));
            }
            Some(zeroize::Zeroizing::new(k))
        }
        None => None,
    };
    let (dc_id, addr) = st.config.telegram.dc;
    let kind = SessionKind::Bot(crate::worker::ipc::messages::BotSession {
        token: zeroize::Zeroizing::new(token.trim().to_string()),
        dc_id,
        addr,
        auth_key: seed,
        user_id: None,
        sync: None,
    });
    let id = add_session(&st.keyring, scope, label, &kind, now)?;
    tracing::info!(
        tenant_id = scope.tenant_id().0,
        session = id.0,
        "bot session added"
    );
    Ok(id)
}

/// Waits for a new session's first outcome: online, refused, or flood wait (`None` when the
/// worker said nothing conclusive in time).
pub async fn first_verdict(
    st: &AppState,
    tenant: TenantId,
    session: SecretId,
    wait: std::time::Duration,
) -> Option<crate::worker::ipc::messages::SessionState> {
    use crate::worker::ipc::messages::SessionState as S;
    let mut rx = st.supervisor.watch(tenant)?;
    let done = |s: &crate::runtime::supervisor::WorkerStatus| {
        matches!(
            s.sessions.get(&session.0),
            Some(S::Online { .. } | S::Rejected { .. } | S::FloodWait { .. } | S::Revoked)
        )
    };
    let r = tokio::time::timeout(wait, rx.wait_for(done)).await;
    match r {
        Ok(Ok(s)) => s.sessions.get(&session.0).cloned(),
        _ => None,
    }
}

/// Refuses a new session beyond the plan's limit.
pub fn check_session_limit(st: &AppState, scope: &TenantScope) -> AppResult<()> {
    if let Some(plan) = scope.record().plan {
        let limit = st
            .store
            .catalog_read()?
            .plan(plan)?
            .map(|p| p.limits.sessions);
        let have = scope.shard_read()?.sessions()?.len();
        if let Some(limit) = limit
            && have >= limit as usize
        {
            return Err(AppError::Conflict {
                code: "plan.session_limit",
                message: format!("the plan allows {limit} sessions; remove one or change plan"),
            });
        }
    }
    Ok(())
}

/// Stores a session imported from another client, sealed. The caller tells the tenant to stop
/// the old client: two clients on one auth key get it revoked by Telegram.
pub fn import_session(
    st: &AppState,
    scope: &TenantScope,
    label: &str,
    imported: crate::worker::session_import::ImportedSession,
    now: i64,
) -> AppResult<SecretId> {
    let label = crate::domain::tenancy::clean_name("label", label)?;
    check_session_limit(st, scope)?;
    let source = imported.source;
    let key_id = imported.key_id();
    let id = add_session(
        &st.keyring,
        scope,
        label,
        &SessionKind::Imported(imported),
        now,
    )?;
    // Claimed after the session exists and released before it goes (`disconnect`), so an
    // interruption can leave a key unclaimed but never claimed by a session that is gone.
    if let Some((owner, session)) = scope.catalog_write(|c| c.claim_session_key(id, key_id))? {
        scope.shard_write(|s| s.delete_session(id))?;
        let message = if owner == scope.tenant_id() {
            format!(
                "this session is already imported here as session {session}; two clients on one key get it revoked by Telegram"
            )
        } else {
            "this session's key is already in use by another botyard session; two clients on one key get it revoked by Telegram".to_string()
        };
        return Err(AppError::Conflict {
            code: "import.key_in_use",
            message,
        });
    }
    tracing::info!(
        tenant_id = scope.tenant_id().0,
        session = id.0,
        source = ?source,
        "session imported"
    );
    Ok(id)
}

/// Adds a simulated session; its setup is sealed like any session secret.
pub fn connect_sim(
    st: &AppState,
    scope: &TenantScope,
    label: &str,
    sim: &SimConfig,
    now: i64,
) -> AppResult<SecretId> {
    let label = crate::domain::tenancy::clean_name("label", label)?;
    if sim.groups > 200
        || sim.members_per_group > 100_000
        || !(0.0..=10_000.0).contains(&sim.events_per_sec)
    {
        return Err(AppError::invalid(
            "sim",
            "at most 200 groups, 100000 members per group and 10000 events/s",
        ));
    }
    check_session_limit(st, scope)?;
    let id = add_session(
        &st.keyring,
        scope,
        label,
        &SessionKind::Sim(sim.clone()),
        now,
    )?;
    let tenant = scope.tenant_id();
    tracing::info!(
        tenant_id = tenant.0,
        session = id.0,
        "session connected (simulated)"
    );
    Ok(id)
}

/// Removes a session and its secrets; its chats stay listed, marked gone, automation off.
pub fn disconnect(scope: &TenantScope, id: SecretId, now: i64) -> AppResult<()> {
    scope.catalog_write(|c| c.release_session_key(id))?;
    let had = scope.shard_write(|s| -> AppResult<bool> {
        let had = s.delete_session(id)?;
        if had {
            s.forget_session_groups(id.0, now)?;
        }
        Ok(had)
    })?;
    if !had {
        return Err(AppError::NotFound("session"));
    }
    tracing::info!(
        tenant_id = scope.tenant_id().0,
        session = id.0,
        "session removed"
    );
    Ok(())
}

/// The sessions a worker of this tenant runs, with their material opened.
pub fn session_specs(st: &AppState, scope: &TenantScope) -> AppResult<Vec<SessionSpec>> {
    let r = scope.shard_read()?;
    let mut out = Vec::new();
    for (id, _) in r.sessions()? {
        let Some(sealed) = r.secret(id)? else {
            tracing::warn!(
                tenant_id = scope.tenant_id().0,
                session = id.0,
                "session has no material; skipped"
            );
            continue;
        };
        let plain = st.keyring.open(
            &sealed,
            &slot_aad(SecretSlot::Tenant(scope.tenant_id(), id)),
        )?;
        let kind: SessionKind = serde_json::from_slice(&plain)
            .map_err(|e| AppError::Internal(format!("session {id} material: {e}")))?;
        out.push(SessionSpec {
            id: id.0,
            kind,
            menu_app: None,
        });
    }
    Ok(out)
}

/// Starts, restarts or stops the tenant's worker so it matches the store.
pub async fn reconcile(st: &AppState, tenant: TenantId) -> AppResult<()> {
    let scope = match st.store.supervisor_scope(tenant) {
        Ok(s) => s,
        Err(StoreError::NotFound) => {
            st.supervisor.stop(tenant).await;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let specs = session_specs(st, &scope)?;
    if scope.status() == TenantStatus::Active && !specs.is_empty() {
        let media = prepare_media_dir(st, tenant)?;
        let limits = worker_limits(&scope)?;
        st.supervisor
            .start(tenant, specs, Some(media), limits)
            .await;
    } else {
        st.supervisor.stop(tenant).await;
    }
    Ok(())
}

/// Where the platform bot signed in before, if the token is still the one configured.
fn platform_bot_stored(
    st: &AppState,
    token: &str,
) -> Option<crate::worker::ipc::messages::BotSession> {
    let sealed = st
        .store
        .catalog_read()
        .ok()?
        .secret(PLATFORM_BOT_SECRET)
        .ok()??;
    let plain = st
        .keyring
        .open(
            &sealed,
            &crate::security::keys::catalog_aad(PLATFORM_BOT_SECRET),
        )
        .ok()?;
    let b: crate::worker::ipc::messages::BotSession = serde_json::from_slice(&plain).ok()?;
    (b.token.as_str() == token).then_some(b)
}

/// Everyone's media, read-only for the platform bot's worker: a "send a test to me" carries
/// the tenant's file. The platform bot is the reseller's own, trusted as the server is.
pub fn media_root(st: &AppState) -> std::path::PathBuf {
    st.config.data_dir.join("media")
}

/// The session the platform bot's worker runs, when one is configured: the real bot when a
/// token is set, a simulated one with `platform.bot = "sim"` or `--demo`.
pub fn platform_spec(st: &AppState) -> Option<SessionSpec> {
    if let Some(token) = &st.appliance().platform_bot_token {
        let kind = match platform_bot_stored(st, token.expose()) {
            Some(b) => b,
            None => {
                let seed = st
                    .config
                    .telegram
                    .seed_auth_key_file
                    .as_ref()
                    .and_then(|p| std::fs::read(p).ok())
                    .filter(|k| k.len() == 256)
                    .map(zeroize::Zeroizing::new);
                crate::worker::ipc::messages::BotSession {
                    token: zeroize::Zeroizing::new(token.expose().to_string()),
                    dc_id: st.config.telegram.dc.0,
                    addr: st.config.telegram.dc.1,
                    auth_key: seed,
                    user_id: None,
                    sync: None,
                }
            }
        };
        return Some(SessionSpec {
            id: PLATFORM_SESSION,
            kind: SessionKind::Bot(kind),
            menu_app: Some(menu_app(st)),
        });
    }
    match st.config.platform.bot {
        PlatformBot::Off if !st.config.demo => None,
        // The demo shows the whole product, the reseller's bot included.
        PlatformBot::Off | PlatformBot::Sim => Some(SessionSpec {
            id: PLATFORM_SESSION,
            kind: SessionKind::Sim(SimConfig {
                seed: 7,
                groups: 1,
                members_per_group: 5,
                events_per_sec: 0.2,
                ..SimConfig::default()
            }),
            menu_app: None,
        }),
    }
}

/// The platform bot's menu button: the reseller's product name, opening the Mini-App at the
/// public URL in force.
pub fn menu_app(st: &AppState) -> crate::worker::ipc::messages::MenuApp {
    let a = st.appliance();
    crate::worker::ipc::messages::MenuApp {
        text: a.brand.name.chars().take(64).collect(),
        url: format!("{}/app", a.base_url.trim_end_matches('/')),
    }
}

/// What the tenant's plan allows its worker; a tenant without a plan gets the default event
/// budget and no memory cap.
fn worker_limits(scope: &TenantScope) -> AppResult<WorkerLimits> {
    let l = scope.plan_limits()?;
    Ok(WorkerLimits {
        memory_mb: l.as_ref().map(|l| l.worker_memory_mb),
        events_per_sec: Some(
            l.map_or(botyard_shards::records::DEFAULT_EVENTS_PER_SEC, |l| {
                l.events_per_sec
            }),
        ),
    })
}

/// Makes sure the tenant has a running worker (one with no session yet holds a login).
pub async fn ensure_worker(st: &AppState, tenant: TenantId) -> AppResult<()> {
    if st.supervisor.status(tenant).is_some() {
        return Ok(());
    }
    let scope = st.store.supervisor_scope(tenant)?;
    let specs = session_specs(st, &scope)?;
    let media = prepare_media_dir(st, tenant)?;
    let limits = worker_limits(&scope)?;
    st.supervisor
        .start(tenant, specs, Some(media), limits)
        .await;
    Ok(())
}

/// (Re)starts the platform bot's worker; false when no platform bot is configured.
pub async fn start_platform(st: &AppState) -> bool {
    match platform_spec(st) {
        Some(spec) => {
            let media = media_root(st);
            if let Err(e) = std::fs::create_dir_all(&media) {
                tracing::error!(error = %e, "cannot create the media folder");
            }
            st.supervisor
                .start(
                    WorkerKey::Platform,
                    vec![spec],
                    Some(media),
                    WorkerLimits::default(),
                )
                .await;
            true
        }
        None => false,
    }
}

/// At start: the platform bot, and a worker for every active tenant with sessions.
pub async fn reconcile_all(st: &AppState) {
    start_platform(st).await;
    let tenants = match st.store.tenant_ids() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot list tenants to start workers");
            return;
        }
    };
    for (t, status) in tenants {
        if status != TenantStatus::Active {
            continue;
        }
        let has = st
            .store
            .supervisor_scope(t)
            .and_then(|s| s.shard_read()?.sessions())
            .map(|s| !s.is_empty())
            .unwrap_or(false);
        if has && let Err(e) = reconcile(st, t).await {
            tracing::error!(tenant_id = t.0, error = %e, "cannot start worker");
        }
    }
}

/// A session the API asks to connect.
pub enum NewSession {
    /// A simulated session (admins, or anyone in the demo); the API's defaults when `None`.
    Sim(Option<SimConfig>),
    /// A bot by its token from @BotFather, checked by signing in.
    Bot { token: String },
}

/// A connected session, with its worker's view when it was waited for.
pub struct Connected {
    pub id: SecretId,
    pub rec: botyard_shards::records::SessionRec,
    pub status: Option<crate::runtime::supervisor::WorkerStatus>,
}

/// Connects a session and restarts the tenant's worker with it. A bot's token is checked by
/// signing in: this waits for the worker's first verdict and removes a refused session.
pub async fn connect_session(
    st: &Shared,
    scope: TenantScope,
    label: String,
    new: NewSession,
) -> AppResult<Connected> {
    let tenant = scope.tenant_id();
    let is_bot = matches!(new, NewSession::Bot { .. });
    let st2 = st.clone();
    let (id, rec) = blocking(move || {
        let now = st2.now();
        let id = match new {
            NewSession::Sim(sim) => {
                // A simulator is a demo and test tool: admins' (and everyone's in the demo).
                if scope.access() != botyard_shards::Access::Admin && !st2.config.demo {
                    return Err(AppError::Forbidden {
                        code: "session.sim_admin_only",
                        message: "only admins may connect simulated sessions",
                    });
                }
                let sim = sim.unwrap_or_else(SimConfig::api_default);
                sim.check_bounds()
                    .map_err(|(field, message)| AppError::Invalid {
                        code: "session.sim_bounds",
                        field: field.into(),
                        message,
                    })?;
                // Failure injection (hangs, revocations) is a test tool, not a tenant's.
                if sim.failures != crate::worker::telegram::sim::SimFailures::default()
                    && scope.access() != botyard_shards::Access::Admin
                {
                    return Err(AppError::Forbidden {
                        code: "auth.admin_required",
                        message: "only admins may inject simulated failures",
                    });
                }
                connect_sim(&st2, &scope, &label, &sim, now)?
            }
            NewSession::Bot { token } => connect_bot(&st2, &scope, &label, &token, now)?,
        };
        let rec = session_rec(&scope, id)?;
        Ok((id, rec))
    })
    .await?;
    reconcile(st, tenant).await?;
    if !is_bot {
        return Ok(Connected {
            id,
            rec,
            status: None,
        });
    }
    match first_verdict(st, tenant, id, std::time::Duration::from_secs(30)).await {
        Some(SessionState::Rejected { reason }) => {
            remove_refused(st, tenant, id).await?;
            Err(AppError::Invalid {
                code: "session.token_invalid",
                field: "token".into(),
                message: format!("Telegram refused the token: {reason}"),
            })
        }
        Some(SessionState::FloodWait { until }) => {
            remove_refused(st, tenant, id).await?;
            Err(AppError::Conflict {
                code: "session.flood_wait",
                message: format!(
                    "Telegram asks to wait before this bot signs in again, until {}",
                    crate::clock::rfc3339(until)
                ),
            })
        }
        _ => Ok(Connected {
            id,
            rec,
            status: st.supervisor.status(tenant),
        }),
    }
}

/// Removes a session Telegram refused at its first sign-in.
async fn remove_refused(st: &Shared, tenant: TenantId, id: SecretId) -> AppResult<()> {
    let st2 = st.clone();
    blocking(move || {
        let scope = st2.store.supervisor_scope(tenant)?;
        disconnect(&scope, id, st2.now())
    })
    .await?;
    reconcile(st, tenant).await
}

/// What a finished user login handed back.
pub struct LoggedIn {
    pub label: String,
    /// By QR code (else by phone).
    pub qr: bool,
    pub me: crate::worker::telegram::Me,
    pub dc_id: i32,
    pub addr: std::net::SocketAddr,
    pub auth_key: zeroize::Zeroizing<Vec<u8>>,
}

/// Stores a finished login as the tenant's new user session, ends the login and restarts the
/// worker with the session.
pub async fn finish_login(
    st: &Shared,
    tenant: TenantId,
    login: u64,
    done: LoggedIn,
) -> AppResult<(SecretId, botyard_shards::records::SessionRec)> {
    use crate::worker::session_import::{ImportSource, ImportedSession};
    let imported = ImportedSession {
        source: if done.qr {
            ImportSource::QrLogin
        } else {
            ImportSource::PhoneLogin
        },
        dc_id: u8::try_from(done.dc_id).unwrap_or(2),
        addr: done.addr,
        auth_key: done.auth_key,
        user_id: Some(done.me.user_id),
        is_bot: Some(false),
        test_mode: false,
        api_id: None,
        sync: None,
    };
    let label = done.label;
    let st2 = st.clone();
    let (id, rec) = blocking(move || {
        let scope = st2.store.supervisor_scope(tenant)?;
        let id = import_session(&st2, &scope, &label, imported, st2.now())?;
        let rec = session_rec(&scope, id)?;
        Ok((id, rec))
    })
    .await?;
    st.supervisor.end_login(tenant, login);
    reconcile(st, tenant).await?;
    Ok((id, rec))
}

/// One of the tenant's sessions, by id.
pub fn session_rec(
    scope: &TenantScope,
    id: SecretId,
) -> AppResult<botyard_shards::records::SessionRec> {
    scope
        .shard_read()?
        .sessions()?
        .into_iter()
        .find(|(i, _)| *i == id)
        .map(|(_, r)| r)
        .ok_or(AppError::NotFound("session"))
}

/// A session imported from another client, as stored.
pub struct Imported {
    pub id: SecretId,
    pub rec: botyard_shards::records::SessionRec,
    pub source: crate::worker::session_import::ImportSource,
    pub dc_id: u8,
    pub telegram_user_id: Option<i64>,
}

/// Imports a parsed session string or file: refuses a datacenter address outside
/// `telegram.import_allow`, stores it sealed and restarts the tenant's worker with it.
pub async fn import_parsed(
    st: &Shared,
    scope: TenantScope,
    label: String,
    parsed: Result<
        crate::worker::session_import::ImportedSession,
        crate::worker::session_import::ImportError,
    >,
) -> AppResult<Imported> {
    let imported = parsed
        .and_then(|s| {
            crate::worker::session_import::check_address(&s, &st.config.telegram.import_allow)?;
            Ok(s)
        })
        .map_err(|e| AppError::Invalid {
            code: e.code(),
            field: "session".into(),
            message: e.to_string(),
        })?;
    let (source, dc_id, telegram_user_id) = (imported.source, imported.dc_id, imported.user_id);
    let tenant = scope.tenant_id();
    let st2 = st.clone();
    let (id, rec) = blocking(move || {
        let id = import_session(&st2, &scope, &label, imported, st2.now())?;
        let rec = session_rec(&scope, id)?;
        Ok((id, rec))
    })
    .await?;
    reconcile(st, tenant).await?;
    Ok(Imported {
        id,
        rec,
        source,
        dc_id,
        telegram_user_id,
    })
}
