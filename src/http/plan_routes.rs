//! /api/v1/plans (admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::PlanId;
use botyard_shards::records::PlanRec;

use crate::clock::rfc3339;
use crate::domain::tenancy;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson, ApiPath};
use crate::http::views::{Limits, limits_rec, limits_view};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan, update_plan, delete_plan))
}

#[derive(Serialize, ToSchema)]
pub struct PlanOut {
    pub id: u64,
    pub name: String,
    pub limits: Limits,
    pub created_at: String,
    pub updated_at: String,
}

fn plan_view(id: PlanId, p: &PlanRec) -> PlanOut {
    PlanOut {
        id: id.0,
        name: p.name.clone(),
        limits: limits_view(&p.limits),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    #[schema(example = "Başlangıç")]
    pub name: String,
    pub limits: Limits,
}

/// List plans.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    responses((status = 200, body = Vec<PlanOut>), (status = 403, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn list_plans(State(st): State<Shared>, _admin: AdminCtx) -> AppResult<Json<Vec<PlanOut>>> {
    let plans = st.store.catalog_read()?.plans()?;
    Ok(Json(
        plans.iter().map(|(id, p)| plan_view(*id, p)).collect(),
    ))
}

/// Create a plan.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = PlanIn,
    responses((status = 201, body = PlanOut), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn create_plan(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiJson(b): ApiJson<PlanIn>,
) -> AppResult<(StatusCode, Json<PlanOut>)> {
    let st2 = st.clone();
    let (id, p) = blocking(move || {
        let admin = a.scope(&st2)?;
        tenancy::create_plan(&admin, &b.name, limits_rec(&b.limits), st2.now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(plan_view(id, &p))))
}

/// Get a plan.
#[utoipa::path(get, path = "/api/v1/plans/{plan_id}", tag = "plans", params(("plan_id" = u64, Path, description = "Plan id")),
    responses((status = 200, body = PlanOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn get_plan(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<PlanOut>> {
    let admin = a.scope(&st)?;
    let p = admin.plan(PlanId(id))?.ok_or(AppError::NotFound("plan"))?;
    Ok(Json(plan_view(PlanId(id), &p)))
}

/// Replace a plan's name and limits. Tenants on it get the new limits.
#[utoipa::path(put, path = "/api/v1/plans/{plan_id}", tag = "plans", params(("plan_id" = u64, Path, description = "Plan id")),
    request_body = PlanIn,
    responses((status = 200, body = PlanOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_plan(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiPath(id): ApiPath<u64>,
    ApiJson(b): ApiJson<PlanIn>,
) -> AppResult<Json<PlanOut>> {
    let st2 = st.clone();
    let p = blocking(move || {
        let admin = a.scope(&st2)?;
        tenancy::update_plan(
            &admin,
            PlanId(id),
            &b.name,
            limits_rec(&b.limits),
            st2.now(),
        )
    })
    .await?;
    Ok(Json(plan_view(PlanId(id), &p)))
}

/// Delete a plan no tenant is on.
#[utoipa::path(delete, path = "/api/v1/plans/{plan_id}", tag = "plans", params(("plan_id" = u64, Path, description = "Plan id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn delete_plan(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<StatusCode> {
    let st2 = st.clone();
    blocking(move || {
        let admin = a.scope(&st2)?;
        tenancy::delete_plan(&admin, PlanId(id))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
