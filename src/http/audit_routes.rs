//! The audit log: who changed what, and the alerts the server raised (a quarantined worker,
//! a revoked session). Admins only.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::rfc3339;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiQuery};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(list_audit))
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
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: "limit must be between 1 and 500".into(),
        });
    }
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
