//! The audit log (who changed what) and the alerts the server raised (a quarantined worker,
//! a revoked session, a campaign it paused, a disk nearly full), acknowledged by a person.
//! Admins only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::rfc3339;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiPath, ApiQuery};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(list_alerts))
        .routes(routes!(acknowledge_alert))
}

/// How many of the newest rows: 1 to 500, 100 by default.
fn limit(asked: Option<usize>) -> AppResult<usize> {
    match asked.unwrap_or(100) {
        n @ 1..=500 => Ok(n),
        _ => Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: "limit must be between 1 and 500".into(),
        }),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Newest entries, 1 to 500 (default 100).
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: u64,
    pub at: String,
    /// The account that acted; absent for the server's own alerts.
    pub actor_id: Option<u64>,
    pub tenant_id: Option<u64>,
    /// e.g. `tenant.created`, `worker.quarantined`, `session.revoked`.
    pub action: String,
    pub detail: String,
}

/// The newest audit entries and alerts, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "tenants", params(AuditQuery),
    responses((status = 200, body = Vec<AuditOut>), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_audit(
    State(st): State<Shared>,
    _admin: AdminCtx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<Vec<AuditOut>>> {
    let limit = limit(q.limit)?;
    let st2 = st.clone();
    let rows = blocking(move || Ok(st2.store.catalog_read()?.audit_tail(limit)?)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, a)| AuditOut {
                id: id.0,
                at: rfc3339(a.at),
                actor_id: a.actor.map(|x| x.0),
                tenant_id: a.tenant.map(|t| t.0),
                action: a.action,
                detail: a.detail,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Only alerts nobody acknowledged yet (default true).
    pub open: Option<bool>,
    /// Newest alerts, 1 to 500 (default 100).
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertOut {
    pub id: u64,
    pub at: String,
    /// `worker.quarantined`, `session.revoked`, `campaign.auto_paused`, `disk.nearly_full` or `tls.renewal_failed`.
    pub kind: String,
    pub tenant_id: Option<u64>,
    /// What it is about, e.g. `session 4`, `campaign 7`.
    pub subject: String,
    pub detail: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<u64>,
}

/// Alerts newest first: the open ones by default, or all with `open=false` (admins).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "tenants", params(AlertQuery),
    responses((status = 200, body = Vec<AlertOut>), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_alerts(
    State(st): State<Shared>,
    _admin: AdminCtx,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> AppResult<Json<Vec<AlertOut>>> {
    let limit = limit(q.limit)?;
    let open = q.open.unwrap_or(true);
    let st2 = st.clone();
    let rows = blocking(move || crate::domain::alerts::list(&st2.store, open, limit)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, a)| AlertOut {
                id: id.0,
                at: rfc3339(a.at),
                kind: a.kind,
                tenant_id: a.tenant.map(|t| t.0),
                subject: a.subject,
                detail: a.detail,
                acknowledged_at: a.acked_at.map(rfc3339),
                acknowledged_by: a.acked_by.map(|x| x.0),
            })
            .collect(),
    ))
}

/// Acknowledges an open alert: it leaves the open list, and the same trouble may raise a new
/// one (admins; `404` when it is not open).
#[utoipa::path(post, path = "/api/v1/alerts/{alert_id}/ack", tag = "tenants",
    params(("alert_id" = u64, Path, description = "Alert id")),
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn acknowledge_alert(
    State(st): State<Shared>,
    admin: AdminCtx,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<StatusCode> {
    let by = admin.caller.account().ok_or(AppError::Forbidden {
        code: "auth.account_required",
        message: "acknowledging an alert needs an account",
    })?;
    let now = st.now();
    let st2 = st.clone();
    blocking(move || {
        crate::domain::alerts::acknowledge(&st2.store, botyard_shards::ids::AlertId(id), by, now)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
