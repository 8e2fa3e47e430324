//! Backups (admins): start one, see the folder and how the last one went, download one. A
//! backup can outlast a request, so starting answers at once and the backup goes on; the
//! local `botyard backup create` waits for it instead (see `admin_socket`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::rfc3339;
use crate::domain::backup::status::Outcome;
use crate::domain::backup::{self, BackupError, Passphrase, schedule};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson, ApiPath};
use crate::state::Shared;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(start_backup, list_backups))
        .routes(routes!(download_backup))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BackupIn {
    /// Include the master key, sealing the backup with this passphrase (at least 12
    /// characters). Without it the backup holds no key: keep `master.key` safe apart.
    #[serde(default)]
    pub passphrase: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BackupStartedOut {
    /// When it started (RFC 3339).
    pub started_at: String,
}

/// Start a backup (admins): a snapshot of the catalog, every shard and the media, while the
/// server goes on serving. It runs in the background; `GET /api/v1/backups` shows when it ends.
#[utoipa::path(post, path = "/api/v1/backups", tag = "backups", request_body = BackupIn,
    responses((status = 202, body = BackupStartedOut), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn start_backup(
    State(st): State<Shared>,
    _a: AdminCtx,
    ApiJson(b): ApiJson<BackupIn>,
) -> AppResult<(StatusCode, Json<BackupStartedOut>)> {
    let seal = b.passphrase.as_deref().map(Passphrase::new).transpose()?;
    let now = st.now();
    spawn_backup(&st, seal)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BackupStartedOut {
            started_at: rfc3339(now),
        }),
    ))
}

/// Starts a backup in the background (refused while one runs); its end shows in the status.
pub fn spawn_backup(st: &Shared, seal: Option<Passphrase>) -> Result<(), BackupError> {
    let run = schedule::begin(st)?;
    let st = st.clone();
    tokio::spawn(async move {
        if let Err(e) = schedule::run_claimed(&st, run, seal, None).await {
            tracing::warn!(error = %e, "backup failed");
        }
    });
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct BackupFileOut {
    pub name: String,
    pub made_at: String,
    pub bytes: u64,
    /// Carries the master key, sealed with a passphrase.
    pub sealed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct LastBackupOut {
    /// `made` or `failed`.
    pub outcome: String,
    pub at: String,
    pub name: Option<String>,
    pub bytes: Option<u64>,
    pub rows: Option<u64>,
    pub seconds: Option<f64>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BackupsOut {
    /// The folder backups go to (`backup.dir`).
    pub dir: String,
    /// The daily backup's time (HH:MM, UTC), when scheduled.
    pub daily_at: Option<String>,
    pub keep_daily: u32,
    pub keep_weekly: u32,
    /// Since when a backup runs, if one does.
    pub running_since: Option<String>,
    /// How the last backup since the server started ended.
    pub last: Option<LastBackupOut>,
    /// The backups in the folder, newest first.
    pub files: Vec<BackupFileOut>,
}

/// The folder's facts, shared with the console's Backups page.
pub fn backups_view(st: &Shared) -> AppResult<BackupsOut> {
    let dir = st.config.backup_dir();
    let files = backup::list(&dir)?
        .into_iter()
        .map(|b| BackupFileOut {
            made_at: rfc3339(b.made_at),
            name: b.name,
            bytes: b.bytes,
            sealed: b.sealed,
        })
        .collect();
    let (running, last) = st.backups.read();
    let last = last.map(|o| match o {
        Outcome::Made {
            at,
            name,
            bytes,
            rows,
            secs,
        } => LastBackupOut {
            outcome: "made".into(),
            at: rfc3339(at),
            name: Some(name),
            bytes: Some(bytes),
            rows: Some(rows),
            seconds: Some((secs * 100.0).round() / 100.0),
            error: None,
        },
        Outcome::Failed { at, error } => LastBackupOut {
            outcome: "failed".into(),
            at: rfc3339(at),
            name: None,
            bytes: None,
            rows: None,
            seconds: None,
            error: Some(error),
        },
    });
    let cfg = &st.config.backup;
    Ok(BackupsOut {
        dir: dir.display().to_string(),
        daily_at: cfg
            .at_minute
            .map(|m| format!("{:02}:{:02}", m / 60, m % 60)),
        keep_daily: cfg.keep_daily,
        keep_weekly: cfg.keep_weekly,
        running_since: running.map(rfc3339),
        last,
        files,
    })
}

/// Backups (admins): the folder's files, the schedule, and whether one runs now.
#[utoipa::path(get, path = "/api/v1/backups", tag = "backups",
    responses((status = 200, body = BackupsOut), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_backups(State(st): State<Shared>, _a: AdminCtx) -> AppResult<Json<BackupsOut>> {
    Ok(Json(backups_view(&st)?))
}

/// The path of a backup in the folder by its name, which must be one of ours.
pub fn backup_file(st: &Shared, name: &str) -> AppResult<std::path::PathBuf> {
    if backup::made_at(name).is_none() || name.contains('/') {
        return Err(AppError::NotFound("backup"));
    }
    let path = st.config.backup_dir().join(name);
    if !path.is_file() {
        return Err(AppError::NotFound("backup"));
    }
    Ok(path)
}

/// Streams a backup file with its name, for the caller to keep elsewhere.
pub async fn stream_file(path: &std::path::Path, name: &str) -> AppResult<Response> {
    let f = tokio::fs::File::open(path)
        .await
        .map_err(|_| AppError::NotFound("backup"))?;
    let len = f
        .metadata()
        .await
        .map_err(|e| AppError::Internal(format!("backup file: {e}")))?
        .len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Download a backup (admins), by its name in the list.
#[utoipa::path(get, path = "/api/v1/backups/{name}", tag = "backups",
    params(("name" = String, Path, description = "The backup's file name, e.g. botyard-20261204-033000.tar")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn download_backup(
    State(st): State<Shared>,
    _a: AdminCtx,
    ApiPath(name): ApiPath<String>,
) -> AppResult<Response> {
    let path = backup_file(&st, &name)?;
    stream_file(&path, &name).await
}
