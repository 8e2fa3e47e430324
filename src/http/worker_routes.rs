//! Sessions of a tenant and its worker.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::SecretId;
use botyard_shards::records::SessionKindRec;

use crate::clock::rfc3339;
use crate::domain::tenant_workers::{self, NewSession};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiFile, ApiJson, ApiPath, ApiQuery, TenantCtx};
use crate::runtime::supervisor::{MemoryEnforcement, WorkerKey, WorkerState, WorkerStatus};
use crate::state::{Shared, blocking};
use crate::worker::ipc::messages::SessionState;
use crate::worker::telegram::sim::SimConfig;

pub fn router() -> OpenApiRouter<Shared> {
    // Session files are larger than the default body limit allows.
    let files = OpenApiRouter::new()
        .routes(routes!(import_session_file))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::worker::session_import::FILE_MAX,
        ));
    OpenApiRouter::new()
        .merge(files)
        .routes(routes!(import_session_string))
        .routes(routes!(list_sessions, connect_session))
        .routes(routes!(disconnect_session))
        .routes(routes!(get_worker))
        .routes(routes!(restart_worker))
        .routes(routes!(release_worker))
        .routes(routes!(list_workers))
        .routes(routes!(restart_platform_worker))
        .routes(routes!(release_platform_worker))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStateOut {
    /// No worker runs this session now.
    Offline,
    Connecting,
    Online,
    FloodWait,
    Revoked,
    Error,
    /// A temporary (network) failure: see `retry`.
    Retrying,
}

/// Whether a session's error passes by itself.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKindOut {
    /// The network: the session retries by itself.
    Temporary,
    /// Revoked, refused, or a bad address: it stays stopped until someone acts.
    Permanent,
}

/// A session's attempts to reach Telegram again.
#[derive(Serialize, ToSchema)]
pub struct RetryOut {
    /// Failed attempts since it last worked.
    pub attempt: u32,
    /// When the next attempt is (RFC 3339).
    pub next_retry_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionOut {
    pub id: u64,
    pub label: String,
    /// `sim` for now; `bot` and `user` come with the Telegram client.
    pub kind: String,
    pub created_at: String,
    pub state: SessionStateOut,
    /// For `flood_wait`: when work resumes (RFC 3339).
    pub flood_wait_until: Option<String>,
    /// For `error`, `revoked` and `retrying`: why.
    pub error: Option<String>,
    /// For `error`, `revoked` and `retrying`: whether it passes by itself.
    pub error_kind: Option<ErrorKindOut>,
    /// For `retrying`: the attempts so far and when the next is.
    pub retry: Option<RetryOut>,
    /// Telegram account or bot the session is logged in as.
    pub username: Option<String>,
}

pub fn session_out(
    id: SecretId,
    rec: &botyard_shards::records::SessionRec,
    status: Option<&WorkerStatus>,
) -> SessionOut {
    let state = status.and_then(|s| s.sessions.get(&id.0));
    let (st, until, error, username) = match state {
        None => (SessionStateOut::Offline, None, None, None),
        Some(SessionState::Connecting) => (SessionStateOut::Connecting, None, None, None),
        Some(SessionState::Online { me }) => {
            (SessionStateOut::Online, None, None, me.username.clone())
        }
        Some(SessionState::FloodWait { until }) => (
            SessionStateOut::FloodWait,
            Some(rfc3339(*until)),
            None,
            None,
        ),
        Some(SessionState::Revoked) => (
            SessionStateOut::Revoked,
            None,
            Some("Telegram no longer accepts this session's key: log in or import it again".into()),
            None,
        ),
        Some(SessionState::Error { reason } | SessionState::Rejected { reason }) => {
            (SessionStateOut::Error, None, Some(reason.clone()), None)
        }
        Some(SessionState::Retrying { reason, .. }) => {
            (SessionStateOut::Retrying, None, Some(reason.clone()), None)
        }
    };
    let error_kind = match state {
        Some(SessionState::Retrying { .. }) => Some(ErrorKindOut::Temporary),
        Some(s) if s.is_permanent_failure() => Some(ErrorKindOut::Permanent),
        _ => None,
    };
    let retry = match state {
        Some(SessionState::Retrying {
            attempt, next_at, ..
        }) => Some(RetryOut {
            attempt: *attempt,
            next_retry_at: rfc3339(*next_at),
        }),
        _ => None,
    };
    let running = status.is_some_and(|s| s.state == WorkerState::Running);
    SessionOut {
        id: id.0,
        label: rec.label.clone(),
        kind: match rec.kind {
            SessionKindRec::Sim => "sim",
            SessionKindRec::Bot => "bot",
            SessionKindRec::User => "user",
        }
        .into(),
        created_at: rfc3339(rec.created_at),
        state: if running {
            st
        } else {
            SessionStateOut::Offline
        },
        flood_wait_until: until,
        error,
        error_kind: if running { error_kind } else { None },
        retry: if running { retry } else { None },
        username,
    }
}

/// The tenant's Telegram sessions and their state. Secrets are never returned.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/sessions", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<SessionOut>), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn list_sessions(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<Vec<SessionOut>>> {
    let status = st.supervisor.status(t.scope.tenant_id());
    let sessions = t.scope.shard_read()?.sessions()?;
    Ok(Json(
        sessions
            .iter()
            .map(|(id, r)| session_out(*id, r, status.as_ref()))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectSessionIn {
    /// `bot` (with `token`) or `sim`, a simulated Telegram session (admins only, or anyone
    /// in `--demo`). User accounts log in or are imported (`sessions/login`, `sessions/import`).
    pub kind: String,
    pub label: String,
    /// For `bot`: the token from @BotFather. It is checked by signing in.
    pub token: Option<String>,
    /// Simulator setup for `sim` (seed, groups 1–50, members_per_group 1–1000, events_per_sec
    /// above 0 and at most 1000, failures …); three groups and one event a second when omitted.
    #[schema(value_type = Option<Object>)]
    pub sim: Option<SimConfig>,
}

/// Connect a session (owners and admins). The tenant's worker restarts with it.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/sessions", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    request_body = ConnectSessionIn,
    responses((status = 201, body = SessionOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn connect_session(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<ConnectSessionIn>,
) -> AppResult<(StatusCode, Json<SessionOut>)> {
    let new = match b.kind.as_str() {
        "sim" => NewSession::Sim(b.sim),
        "bot" => NewSession::Bot {
            token: b.token.ok_or_else(|| AppError::Invalid {
                code: "validation.missing_field",
                field: "token".into(),
                message: "a bot session needs its token".into(),
            })?,
        },
        _ => {
            return Err(AppError::Invalid {
                code: "session.kind",
                field: "kind".into(),
                message: "kind is `bot` or `sim`; user accounts are imported (sessions/import)"
                    .into(),
            });
        }
    };
    let c = tenant_workers::connect_session(&st, t.scope, b.label, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(session_out(c.id, &c.rec, c.status.as_ref())),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ImportedOut {
    pub session: SessionOut,
    /// `telethon_string`, `pyrogram_string`, `telethon_file` or `pyrogram_file`.
    #[schema(value_type = String)]
    pub source: crate::worker::session_import::ImportSource,
    pub dc_id: u8,
    /// The Telegram account, when the session says (Pyrogram does).
    pub telegram_user_id: Option<i64>,
    pub notice: String,
}

const STOP_OLD_CLIENT: &str = "Stop the client this session came from before it connects here: two clients using one auth key get it revoked by Telegram.";

async fn import(
    st: Shared,
    t: TenantCtx,
    label: String,
    parsed: Result<
        crate::worker::session_import::ImportedSession,
        crate::worker::session_import::ImportError,
    >,
) -> AppResult<(StatusCode, Json<ImportedOut>)> {
    let i = tenant_workers::import_parsed(&st, t.scope, label, parsed).await?;
    Ok((
        StatusCode::CREATED,
        Json(ImportedOut {
            session: session_out(i.id, &i.rec, None),
            source: i.source,
            dc_id: i.dc_id,
            telegram_user_id: i.telegram_user_id,
            notice: STOP_OLD_CLIENT.into(),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportStringIn {
    pub label: String,
    /// A Telethon `StringSession` or a Pyrogram session string (any of its three layouts).
    pub string: String,
}

/// Import a Telethon or Pyrogram string session (owners and admins). The auth key goes
/// straight into the encrypted store; stop the old client first.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/sessions/import", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    request_body = ImportStringIn,
    responses((status = 201, body = ImportedOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn import_session_string(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<ImportStringIn>,
) -> AppResult<(StatusCode, Json<ImportedOut>)> {
    let parsed = crate::worker::session_import::parse_string(&b.string);
    import(st, t, b.label, parsed).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportFileQuery {
    pub label: String,
}

/// A `.session` file sent as a form (`curl -F file=@name.session`).
#[derive(ToSchema)]
pub struct SessionFileForm {
    /// The file; its part needs a file name.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Import a Telethon or Pyrogram `.session` file, sent as the raw request body or as the file
/// of a multipart form (at most 16 MiB; owners and admins). It is read in memory and never
/// written to disk.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/sessions/import-file", tag = "sessions",
    params(("id" = u64, Path, description = "Tenant id"), ImportFileQuery),
    request_body(content((Vec<u8> = "application/octet-stream"), (SessionFileForm = "multipart/form-data"))),
    responses((status = 201, body = ImportedOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn import_session_file(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<ImportFileQuery>,
    body: Result<ApiFile, AppError>,
) -> AppResult<(StatusCode, Json<ImportedOut>)> {
    let ApiFile(body) = body.map_err(|e| match e {
        AppError::TooLarge => AppError::TooLargeFor {
            code: "import.too_large",
            message: format!(
                "a session file is at most {} MiB; a Telethon or Pyrogram .session file is a few KiB",
                crate::worker::session_import::FILE_MAX / (1024 * 1024)
            ),
        },
        other => other,
    })?;
    let parsed = blocking(move || Ok(crate::worker::session_import::parse_file(&body))).await?;
    import(st, t, q.label, parsed).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DisconnectQuery {
    /// Remove the session here even when signing out at Telegram fails.
    #[serde(default)]
    pub force: bool,
}

/// Sign a session out at Telegram, then remove it and its secrets (owners and admins). A
/// session that is not online is only removed here.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/sessions/{session_id}", tag = "sessions",
    params(("id" = u64, Path, description = "Tenant id"), ("session_id" = u64, Path, description = "Session id"), DisconnectQuery),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn disconnect_session(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiQuery(q): ApiQuery<DisconnectQuery>,
) -> AppResult<StatusCode> {
    let tenant = t.scope.tenant_id();
    let id = SecretId(ids.1);
    let known = t
        .scope
        .shard_read()?
        .sessions()?
        .iter()
        .any(|(i, _)| *i == id);
    if !known {
        return Err(AppError::NotFound("session"));
    }
    let online = st.supervisor.status(tenant).is_some_and(|s| {
        s.state == WorkerState::Running
            && matches!(s.sessions.get(&id.0), Some(SessionState::Online { .. }))
    });
    if online
        && let Err(reason) = st
            .supervisor
            .logout(tenant, id.0, std::time::Duration::from_secs(40))
            .await
        && !q.force
    {
        return Err(AppError::Conflict {
            code: "session.logout_failed",
            message: format!(
                "signing out at Telegram failed ({reason}); retry, or pass force=true to remove the session here anyway"
            ),
        });
    }
    let now = st.now();
    blocking(move || tenant_workers::disconnect(&t.scope, id, now)).await?;
    tenant_workers::reconcile(&st, tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WorkerState)]
pub enum WorkerStateOut {
    Starting,
    Running,
    Backoff,
    Quarantined,
    Stopped,
}

impl From<WorkerState> for WorkerStateOut {
    fn from(s: WorkerState) -> Self {
        match s {
            WorkerState::Starting => WorkerStateOut::Starting,
            WorkerState::Running => WorkerStateOut::Running,
            WorkerState::Backoff => WorkerStateOut::Backoff,
            WorkerState::Quarantined => WorkerStateOut::Quarantined,
            WorkerState::Stopped => WorkerStateOut::Stopped,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MemoryEnforcement)]
pub enum MemoryEnforcementOut {
    /// `memory.max` on the worker's own cgroup, in a subtree the service manager delegated.
    Cgroup,
    /// The supervisor samples anonymous memory and restarts a worker over the cap.
    Watchdog,
}

impl From<MemoryEnforcement> for MemoryEnforcementOut {
    fn from(m: MemoryEnforcement) -> Self {
        match m {
            MemoryEnforcement::Cgroup => MemoryEnforcementOut::Cgroup,
            MemoryEnforcement::Watchdog => MemoryEnforcementOut::Watchdog,
        }
    }
}

/// One resource sample of a worker process, from /proc.
#[derive(Serialize, ToSchema)]
#[schema(as = Usage)]
pub struct UsageOut {
    pub at: i64,
    /// CPU time used since the process started, seconds (user + system).
    pub cpu_secs: f64,
    pub rss_kb: u64,
    pub anon_kb: u64,
}

#[derive(Serialize, ToSchema)]
pub struct WorkerOut {
    /// The tenant's id, or `platform` for the reseller's bot.
    pub worker: String,
    /// Absent for the platform bot.
    pub tenant_id: Option<u64>,
    pub state: WorkerStateOut,
    pub pid: Option<u32>,
    pub started_at: Option<String>,
    pub uptime_secs: Option<i64>,
    pub restarts: u32,
    pub last_exit: Option<String>,
    pub events_stored: u64,
    /// The plan's budget of incoming events per second.
    pub events_per_sec: Option<u32>,
    /// Incoming events dropped over that budget.
    pub events_dropped: u64,
    /// Latest sample: CPU seconds, resident and anonymous memory (KiB).
    pub usage: Option<UsageOut>,
    pub memory_limit_mb: Option<u32>,
    /// Who enforces the memory cap.
    pub memory_enforcement: Option<MemoryEnforcementOut>,
    /// What the kernel enforced in the worker, layer by layer (null until it reports).
    #[schema(value_type = Option<Object>)]
    pub sandbox: Option<crate::worker::sandbox::SandboxReport>,
}

fn worker_out(key: WorkerKey, s: Option<WorkerStatus>, now: i64) -> WorkerOut {
    match s {
        Some(s) => WorkerOut {
            usage: s.latest().map(|u| UsageOut {
                at: u.at,
                cpu_secs: u.cpu_secs,
                rss_kb: u.rss_kb,
                anon_kb: u.anon_kb,
            }),
            worker: key.to_string(),
            tenant_id: key.tenant().map(|t| t.0),
            state: s.state.into(),
            pid: s.pid,
            started_at: s.started_at.map(rfc3339),
            uptime_secs: s
                .started_at
                .filter(|_| s.state == WorkerState::Running)
                .map(|t| now - t),
            restarts: s.restarts,
            last_exit: s.last_exit,
            events_stored: s.events_stored,
            events_per_sec: s.events_per_sec,
            events_dropped: s.events_dropped,
            memory_limit_mb: s.memory_limit_mb,
            memory_enforcement: s.memory_enforcement.map(Into::into),
            sandbox: s.sandbox,
        },
        None => WorkerOut {
            worker: key.to_string(),
            tenant_id: key.tenant().map(|t| t.0),
            state: WorkerStateOut::Stopped,
            pid: None,
            started_at: None,
            uptime_secs: None,
            restarts: 0,
            last_exit: None,
            events_stored: 0,
            events_per_sec: None,
            events_dropped: 0,
            usage: None,
            memory_limit_mb: None,
            memory_enforcement: None,
            sandbox: None,
        },
    }
}

/// The tenant's worker process.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/worker", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = WorkerOut), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn get_worker(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<WorkerOut>> {
    let id = t.scope.tenant_id();
    Ok(Json(worker_out(
        id.into(),
        st.supervisor.status(id),
        st.now(),
    )))
}

/// Restart the tenant's worker (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/worker/restart", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = WorkerOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn restart_worker(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<WorkerOut>> {
    let id = t.scope.tenant_id();
    tenant_workers::reconcile(&st, id).await?;
    Ok(Json(worker_out(
        id.into(),
        st.supervisor.status(id),
        st.now(),
    )))
}

/// Let a quarantined worker start again (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/worker/release", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = WorkerOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn release_worker(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<WorkerOut>> {
    let id = t.scope.tenant_id();
    let quarantined = st
        .supervisor
        .status(id)
        .is_some_and(|s| s.state == WorkerState::Quarantined);
    if !quarantined || !st.supervisor.release(id) {
        return Err(AppError::Conflict {
            code: "worker.not_quarantined",
            message: "this tenant's worker is not in quarantine".into(),
        });
    }
    Ok(Json(worker_out(
        id.into(),
        st.supervisor.status(id),
        st.now(),
    )))
}

/// Every worker (admins).
#[utoipa::path(get, path = "/api/v1/workers", tag = "sessions",
    responses((status = 200, body = Vec<WorkerOut>), (status = 403, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn list_workers(
    State(st): State<Shared>,
    _admin: AdminCtx,
) -> AppResult<Json<Vec<WorkerOut>>> {
    let now = st.now();
    let mut all: Vec<WorkerOut> = st
        .supervisor
        .all()
        .into_iter()
        .map(|(t, s)| worker_out(t, Some(s), now))
        .collect();
    // Tenants by id, the platform bot last.
    all.sort_by_key(|w| w.tenant_id.unwrap_or(u64::MAX));
    Ok(Json(all))
}

/// Restart the platform bot's worker (admins).
#[utoipa::path(post, path = "/api/v1/workers/platform/restart", tag = "sessions",
    responses((status = 200, body = WorkerOut), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn restart_platform_worker(
    State(st): State<Shared>,
    _admin: AdminCtx,
) -> AppResult<Json<WorkerOut>> {
    if !tenant_workers::start_platform(&st).await {
        return Err(AppError::Conflict {
            code: "platform.not_configured",
            message: "no platform bot is configured (platform.bot_token or platform.bot)".into(),
        });
    }
    let key = WorkerKey::Platform;
    Ok(Json(worker_out(key, st.supervisor.status(key), st.now())))
}

/// Let a quarantined platform bot worker start again (admins).
#[utoipa::path(post, path = "/api/v1/workers/platform/release", tag = "sessions",
    responses((status = 200, body = WorkerOut), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn release_platform_worker(
    State(st): State<Shared>,
    _admin: AdminCtx,
) -> AppResult<Json<WorkerOut>> {
    let key = WorkerKey::Platform;
    let quarantined = st
        .supervisor
        .status(key)
        .is_some_and(|s| s.state == WorkerState::Quarantined);
    if !quarantined || !st.supervisor.release(key) {
        return Err(AppError::Conflict {
            code: "worker.not_quarantined",
            message: "the platform bot's worker is not in quarantine".into(),
        });
    }
    Ok(Json(worker_out(key, st.supervisor.status(key), st.now())))
}
