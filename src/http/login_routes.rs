//! Logging a user account in through the web app: by phone (code, then the 2FA password if
//! the account has one) or by QR code. The login runs in the tenant's worker and lives as
//! long as it does; when it succeeds the account becomes one of the tenant's sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::TenantId;

use crate::clock::rfc3339;
use crate::domain::tenant_workers;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ApiPath, TenantCtx};
use crate::http::worker_routes::SessionOut;
use crate::runtime::supervisor::PendingLogin;
use crate::state::Shared;
use crate::worker::ipc::messages::{LoginState, LoginStep};

/// How long one login step may take (Telegram calls time out at 30 s).
const STEP_WAIT: std::time::Duration = std::time::Duration::from_secs(40);

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

fn clean_phone(p: &str) -> AppResult<String> {
    let digits: String = p
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let ok = digits
        .strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(AppError::Invalid {
            code: "login.phone_format",
            field: "phone".into(),
            message: "the phone number in international form, e.g. +905551112233".into(),
        });
    }
    Ok(digits)
}

fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .build(),
    )
}

/// Turns where a login stands into the answer; a finished login becomes a session here.
async fn answer(
    st: &Shared,
    t: &TenantCtx,
    login: u64,
    pending: Option<PendingLogin>,
) -> AppResult<Json<LoginOut>> {
    let tenant = t.scope.tenant_id();
    let Some(p) = pending else {
        // Finished, cancelled, or never this tenant's.
        return Err(AppError::NotFound("login"));
    };
    let mut out = LoginOut {
        login_id: login,
        state: LoginStateOut::Working,
        hint: None,
        qr_url: None,
        qr_svg: None,
        qr_expires_at: None,
        session: None,
    };
    match p.state {
        LoginState::Working => {}
        LoginState::CodeSent => out.state = LoginStateOut::CodeSent,
        LoginState::PasswordNeeded { hint } => {
            out.state = LoginStateOut::PasswordNeeded;
            out.hint = hint;
        }
        LoginState::Qr { url, expires } => {
            out.state = LoginStateOut::Qr;
            out.qr_svg = qr_svg(&url);
            out.qr_url = Some(url);
            out.qr_expires_at = Some(rfc3339(expires));
        }
        LoginState::Failed {
            code: failure,
            message,
        } => {
            let code = failure.code();
            return Err(if failure.is_bad_input() {
                AppError::Invalid {
                    code,
                    field: String::new(),
                    message,
                }
            } else {
                AppError::Conflict { code, message }
            });
        }
        LoginState::Done {
            me,
            dc_id,
            addr,
            auth_key,
        } => {
            let done = tenant_workers::LoggedIn {
                label: p.label.clone(),
                qr: p.qr,
                me,
                dc_id,
                addr,
                auth_key,
            };
            let (id, rec) = tenant_workers::finish_login(st, tenant, login, done).await?;
            out.state = LoginStateOut::Done;
            out.session = Some(crate::http::worker_routes::session_out(id, &rec, None));
        }
    }
    Ok(Json(out))
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
    let label = crate::domain::tenancy::clean_name("label", &b.label)?;
    let step = match b.method.as_str() {
        "phone" => LoginStep::StartPhone {
            phone: clean_phone(b.phone.as_deref().unwrap_or(""))?,
        },
        "qr" => LoginStep::StartQr,
        _ => {
            return Err(AppError::Invalid {
                code: "login.method",
                field: "method".into(),
                message: "method is `phone` or `qr`".into(),
            });
        }
    };
    if st.config.telegram.api_id.is_none() {
        return Err(AppError::Conflict {
            code: "telegram.not_configured",
            message: "the reseller has not configured telegram.api_id and telegram.api_hash".into(),
        });
    }
    tenant_workers::check_session_limit(&st, &t.scope)?;
    let tenant = t.scope.tenant_id();
    tenant_workers::ensure_worker(&st, tenant).await?;
    let login = rand::random::<u64>() >> 11;
    let qr = matches!(step, LoginStep::StartQr);
    let pending = st
        .supervisor
        .login_step(tenant, login, Some((label, qr)), step, STEP_WAIT)
        .await;
    if pending.is_none() {
        return Err(AppError::Conflict {
            code: "login.busy",
            message: "too many logins are in progress for this tenant; finish or cancel one".into(),
        });
    }
    let out = answer(&st, &t, login, pending).await?;
    Ok((StatusCode::CREATED, out))
}

async fn step(
    st: &Shared,
    t: &TenantCtx,
    login: u64,
    step: LoginStep,
) -> AppResult<Json<LoginOut>> {
    let tenant: TenantId = t.scope.tenant_id();
    if st.supervisor.pending_login(tenant, login).is_none() {
        return answer(st, t, login, None).await;
    }
    let pending = st
        .supervisor
        .login_step(tenant, login, None, step, STEP_WAIT)
        .await;
    answer(st, t, login, pending).await
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
    let pending = st.supervisor.pending_login(t.scope.tenant_id(), ids.1);
    answer(&st, &t, ids.1, pending).await
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
    let tenant = t.scope.tenant_id();
    if st.supervisor.pending_login(tenant, ids.1).is_none() {
        return Err(AppError::NotFound("login"));
    }
    let _ = st
        .supervisor
        .login_step(
            tenant,
            ids.1,
            None,
            LoginStep::Cancel,
            std::time::Duration::from_millis(10),
        )
        .await;
    st.supervisor.end_login(tenant, ids.1);
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
    let code = b.code.trim().to_string();
    if code.is_empty() || code.len() > 16 || !code.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid("code", "the code as Telegram sent it"));
    }
    step(&st, &t, ids.1, LoginStep::Code { code }).await
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
    if b.password.is_empty() || b.password.len() > 256 {
        return Err(AppError::invalid("password", "1 to 256 bytes"));
    }
    let password = zeroize::Zeroizing::new(b.password);
    step(&st, &t, ids.1, LoginStep::Password { password }).await
}
