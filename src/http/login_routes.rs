//! Logging a user account in through the API: by phone (code, then the 2FA password if the
//! account has one) or by QR code. The flow is `domain::logins`; this is its JSON face.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::rfc3339;
use crate::domain::logins::{self, Method, Stage};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ApiPath, TenantCtx};
use crate::http::worker_routes::SessionOut;
use crate::state::Shared;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(start_login))
        .routes(routes!(get_login, cancel_login))
        .routes(routes!(submit_code))
        .routes(routes!(submit_password))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginStateOut {
    Working,
    CodeSent,
    PasswordNeeded,
    Qr,
    Done,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    pub login_id: u64,
    pub state: LoginStateOut,
    /// For `password_needed`: the hint the account owner set.
    pub hint: Option<String>,
    /// For `qr`: the `tg://login?token=…` link, the same as an SVG QR code, and when it
    /// expires (a new one follows; poll this login).
    pub qr_url: Option<String>,
    pub qr_svg: Option<String>,
    pub qr_expires_at: Option<String>,
    /// For `done`: the new session.
    pub session: Option<SessionOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartLoginIn {
    /// `phone` or `qr`.
    pub method: String,
    /// The session's label.
    pub label: String,
    /// For `phone`: the number in international form, e.g. +905551112233.
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    pub code: String,
}

/// The account's Telegram 2FA password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorIn {
    pub password: String,
}

/// A stage as the API shows it.
fn out(login: u64, s: Stage) -> LoginOut {
    let mut o = LoginOut {
        login_id: login,
        state: LoginStateOut::Working,
        hint: None,
        qr_url: None,
        qr_svg: None,
        qr_expires_at: None,
        session: None,
    };
    match s {
        Stage::Working => {}
        Stage::CodeSent => o.state = LoginStateOut::CodeSent,
        Stage::PasswordNeeded { hint } => {
            o.state = LoginStateOut::PasswordNeeded;
            o.hint = hint;
        }
        Stage::Qr { url, svg, expires } => {
            o.state = LoginStateOut::Qr;
            o.qr_svg = svg;
            o.qr_url = Some(url);
            o.qr_expires_at = Some(rfc3339(expires));
        }
        Stage::Done { id, rec } => {
            o.state = LoginStateOut::Done;
            o.session = Some(crate::http::worker_routes::session_out(id, &rec, None));
        }
    }
    o
}

/// Start logging a user account in, by phone or QR code (owners and admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/logins", tag = "sessions", params(("id" = u64, Path, description = "Tenant id")),
    request_body = StartLoginIn,
    responses((status = 201, body = LoginOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn start_login(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<StartLoginIn>,
) -> AppResult<(StatusCode, Json<LoginOut>)> {
    let method = match b.method.as_str() {
        "phone" => Method::Phone(b.phone.unwrap_or_default()),
        "qr" => Method::Qr,
        _ => {
            return Err(AppError::Invalid {
                code: "login.method",
                field: "method".into(),
                message: "method is `phone` or `qr`".into(),
            });
        }
    };
    let (login, stage) = logins::start(&st, &t.scope, &b.label, method).await?;
    Ok((StatusCode::CREATED, Json(out(login, stage))))
}

/// Where a login stands; a scanned QR code finishes it here (poll while showing the code).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/logins/{login_id}", tag = "sessions",
    params(("id" = u64, Path, description = "Tenant id"), ("login_id" = u64, Path, description = "Login id")),
    responses((status = 200, body = LoginOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_login(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<LoginOut>> {
    let stage = logins::status(&st, &t.scope, ids.1).await?;
    Ok(Json(out(ids.1, stage)))
}

/// Give up a login.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/logins/{login_id}", tag = "sessions",
    params(("id" = u64, Path, description = "Tenant id"), ("login_id" = u64, Path, description = "Login id")),
    responses((status = 204), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn cancel_login(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    logins::cancel(&st, &t.scope, ids.1).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The code Telegram sent to the account's apps (phone logins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/logins/{login_id}/code", tag = "sessions",
    params(("id" = u64, Path, description = "Tenant id"), ("login_id" = u64, Path, description = "Login id")),
    request_body = CodeIn,
    responses((status = 200, body = LoginOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn submit_code(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<CodeIn>,
) -> AppResult<Json<LoginOut>> {
    let stage = logins::code(&st, &t.scope, ids.1, &b.code).await?;
    Ok(Json(out(ids.1, stage)))
}

/// The account's 2FA password (checked with SRP; it is not stored or logged).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/logins/{login_id}/password", tag = "sessions",
    params(("id" = u64, Path, description = "Tenant id"), ("login_id" = u64, Path, description = "Login id")),
    request_body = TwoFactorIn,
    responses((status = 200, body = LoginOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn submit_password(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<TwoFactorIn>,
) -> AppResult<Json<LoginOut>> {
    let password = zeroize::Zeroizing::new(b.password);
    let stage = logins::password(&st, &t.scope, ids.1, password).await?;
    Ok(Json(out(ids.1, stage)))
}
