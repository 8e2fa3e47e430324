//! The data export for `botyard-migrate postgres export`: JSON lines, streamed as they are
//! read (see `domain::export`).

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::TenantId;

use crate::domain::export::{self, Since};
use crate::error::AppResult;
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson};
use crate::state::Shared;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(export_data))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// Each shard's change sequence from the last export's `begin` line; absent for a full
    /// export (also when the shard count differs).
    pub since: Option<Vec<u64>>,
    /// The tenants the receiver has, as `[tenant, shard]`: one missing, or on another shard
    /// now, is sent whole.
    #[serde(default)]
    pub known: Vec<[u64; 2]>,
}

/// A chunk of the stream handed from the reading thread to the response.
struct Chunks {
    tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl std::io::Write for Chunks {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

/// Every tenant's data, or what changed since the last export, as JSON lines (admins).
#[utoipa::path(post, path = "/api/v1/export", tag = "backups",
    request_body = ExportIn,
    responses((status = 200, content_type = "application/x-ndjson", body = String,
               description = "`begin`, `plan`, `tenant`, `member`, `slice`, then per table `table` and its `row`s, `end`; see docs/OPERATIONS.md, \"PostgreSQL\""),
              (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn export_data(
    State(st): State<Shared>,
    _admin: AdminCtx,
    ApiJson(b): ApiJson<ExportIn>,
) -> AppResult<Response> {
    let since = Since {
        shards: b.since,
        known: b
            .known
            .into_iter()
            .map(|[t, s]| (TenantId(t), u32::try_from(s).unwrap_or(u32::MAX)))
            .collect(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Chunks {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = export::write(&st2.store, &since, &mut out) {
            tracing::warn!(error = %e, "export cut short");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
