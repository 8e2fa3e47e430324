//! Uploading the photos, videos and documents templates carry.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::TenantScope;
use botyard_shards::ids::MediaId;
use botyard_shards::records::{DEFAULT_MEDIA_MB, MediaKindRec, MediaRec};

use crate::clock::rfc3339;
use crate::domain::media;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiPath, ApiQuery, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_media, upload_media))
        .routes(routes!(delete_media))
        // Uploads are streamed to disk against the plan's own limit.
        .layer(DefaultBodyLimit::disable())
}

#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Photo,
    Video,
    Document,
}

#[derive(Serialize, ToSchema)]
pub struct MediaOut {
    pub id: u64,
    pub kind: MediaKind,
    /// Sniffed from the bytes.
    pub mime: String,
    pub size: u64,
    pub name: String,
    pub created_at: String,
}

fn media_out(id: MediaId, m: MediaRec) -> MediaOut {
    MediaOut {
        id: id.0,
        kind: match m.kind {
            MediaKindRec::Photo => MediaKind::Photo,
            MediaKindRec::Video => MediaKind::Video,
            MediaKindRec::Document => MediaKind::Document,
        },
        mime: m.mime,
        size: m.size,
        name: m.name,
        created_at: rfc3339(m.created_at),
    }
}

/// The tenant's media files.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/media", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<MediaOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_media(t: TenantCtx) -> AppResult<Json<Vec<MediaOut>>> {
    let all = blocking(move || Ok(t.scope.shard_read()?.media_files()?)).await?;
    Ok(Json(
        all.into_iter().map(|(id, m)| media_out(id, m)).collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, shown with a document.
    pub name: String,
}

/// Uploads a file as the raw request body. Its type is read from the bytes (a photo, an MP4
/// video, or a document); the size limit is the plan's `media_mb`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/media", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = MediaOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 507, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn upload_media(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Body,
) -> AppResult<(StatusCode, Json<MediaOut>)> {
    let (id, rec) = upload(&st, t.scope, &q.name, body).await?;
    Ok((StatusCode::CREATED, Json(media_out(id, rec))))
}

/// Receives an upload for the tenant: streamed to a temporary file within the plan's size
/// limit, its type read from its bytes, a photo checked, then stored. The API and the console
/// both upload through here.
pub async fn upload(
    st: &Shared,
    scope: TenantScope,
    name: &str,
    body: Body,
) -> AppResult<(MediaId, MediaRec)> {
    let name = media::clean_name(name)?;
    let st2 = st.clone();
    let plan = scope.record().plan;
    let limit_mb =
        blocking(move || crate::domain::tenancy::plan_limit(&st2.store, plan, |l| l.media_mb))
            .await?
            .unwrap_or(DEFAULT_MEDIA_MB);
    let limit = u64::from(limit_mb) * 1024 * 1024;
    let dir = crate::domain::tenant_workers::media_dir(st, scope.tenant_id());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(media::io_error)?;
    let tmp = media::temp_path(&dir);
    // Removes the partial file however the request ends (an error, a timeout, a client gone).
    let guard = media::TempFile(tmp.clone());
    let (size, kind, mime) = receive(body, &tmp, limit, limit_mb).await?;
    if kind == MediaKindRec::Photo {
        let (path, m) = (tmp.clone(), mime.clone());
        blocking(move || media::check_photo(&path, &m).map(drop)).await?;
    }
    let rec = MediaRec {
        kind,
        mime,
        size,
        name,
        created_at: st.now(),
    };
    let st2 = st.clone();
    let (id, rec) = blocking(move || {
        let r = media::store(&scope, &dir, &tmp, rec);
        drop(guard);
        // The new file, readable by the worker's user where workers run as another one.
        crate::domain::tenant_workers::prepare_media_dir(&st2, scope.tenant_id())?;
        r
    })
    .await?;
    Ok((id, rec))
}

/// Streams the body into `tmp`, refusing it past `limit` or when the first bytes are not a
/// supported type; the file is synced before this returns.
async fn receive(
    body: Body,
    tmp: &std::path::Path,
    limit: u64,
    limit_mb: u32,
) -> AppResult<(u64, MediaKindRec, String)> {
    let mut file = tokio::fs::File::create(tmp)
        .await
        .map_err(media::io_error)?;
    let mut body = body;
    let mut head: Vec<u8> = Vec::with_capacity(media::SNIFF_BYTES);
    let mut sniffed: Option<(MediaKindRec, String)> = None;
    let mut size = 0u64;
    let mut text = media::TextCheck::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| AppError::BadRequest {
            code: "request.unreadable_body",
            message: "request body could not be read".into(),
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        size += chunk.len() as u64;
        if size > limit {
            return Err(AppError::Invalid {
                code: "media.too_large",
                field: "body".into(),
                message: format!("the plan allows files up to {limit_mb} MiB"),
            });
        }
        if sniffed.is_none() {
            let take = (media::SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() >= media::SNIFF_BYTES {
                sniffed = Some(media::sniff(&head)?);
            }
        }
        text.feed(&chunk);
        file.write_all(&chunk).await.map_err(media::io_error)?;
    }
    let (kind, mime) = match sniffed {
        Some(s) => s,
        None => media::sniff(&head)?,
    };
    if mime == "text/plain" && !text.is_text() {
        return Err(AppError::Invalid {
            code: "media.unsupported",
            field: "body".into(),
            message: "this file starts as text but is not text to its end (binary data follows); send a photo, a video or a document".into(),
        });
    }
    file.sync_all().await.map_err(media::io_error)?;
    Ok((size, kind, mime))
}

/// Deletes a file no template's latest version uses.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/media/{media_id}", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("media_id" = u64, Path, description = "Media id")),
    responses((status = 204), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn delete_media(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    let dir = crate::domain::tenant_workers::media_dir(&st, t.scope.tenant_id());
    blocking(move || media::delete(&t.scope, &dir, MediaId(ids.1))).await?;
    Ok(StatusCode::NO_CONTENT)
}
