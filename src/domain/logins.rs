//! Logging a user account in: by phone (code, then the 2FA password if the account has one)
//! or by QR code. The login runs in the tenant's worker and lives as long as it does; when it
//! succeeds the account becomes one of the tenant's sessions. The API and the console both
//! drive it through here.

use botyard_shards::TenantScope;
use botyard_shards::ids::SecretId;
use botyard_shards::records::SessionRec;

use crate::domain::tenant_workers;
use crate::error::{AppError, AppResult};
use crate::runtime::supervisor::PendingLogin;
use crate::state::Shared;
use crate::worker::ipc::messages::{LoginState, LoginStep};

/// How long one login step may take (Telegram calls time out at 30 s).
const STEP_WAIT: std::time::Duration = std::time::Duration::from_secs(40);

/// How a login starts.
pub enum Method {
    /// The number as typed; checked here.
    Phone(String),
    Qr,
}

/// Where a login stands.
pub enum Stage {
    Working,
    CodeSent,
    PasswordNeeded {
        hint: Option<String>,
    },
    /// Show this code (a `tg://login?token=…` link, and the same as an SVG QR code) until
    /// `expires`; a new one follows.
    Qr {
        url: String,
        svg: Option<String>,
        expires: i64,
    },
    /// The account is one of the tenant's sessions now.
    Done {
        id: SecretId,
        rec: SessionRec,
    },
}

/// A phone number in international form, spaces and dashes dropped.
pub fn clean_phone(p: &str) -> AppResult<String> {
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

/// The link as an SVG QR code (attributes only, no style or script).
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .build(),
    )
}

/// Turns where a login stands into a stage; a finished login becomes a session here.
async fn stage(
    st: &Shared,
    scope: &TenantScope,
    login: u64,
    pending: Option<PendingLogin>,
) -> AppResult<Stage> {
    let Some(p) = pending else {
        // Finished, cancelled, or never this tenant's.
        return Err(AppError::NotFound("login"));
    };
    Ok(match p.state {
        LoginState::Working => Stage::Working,
        LoginState::CodeSent => Stage::CodeSent,
        LoginState::PasswordNeeded { hint } => Stage::PasswordNeeded { hint },
        LoginState::Qr { url, expires } => Stage::Qr {
            svg: qr_svg(&url),
            url,
            expires,
        },
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
            let (id, rec) =
                tenant_workers::finish_login(st, scope.tenant_id(), login, done).await?;
            Stage::Done { id, rec }
        }
    })
}

/// Starts a login in the tenant's worker; answers its id and first stage.
pub async fn start(
    st: &Shared,
    scope: &TenantScope,
    label: &str,
    method: Method,
) -> AppResult<(u64, Stage)> {
    let label = crate::domain::tenancy::clean_name("label", label)?;
    let step = match method {
        Method::Phone(p) => LoginStep::StartPhone {
            phone: clean_phone(&p)?,
        },
        Method::Qr => LoginStep::StartQr,
    };
    if st.appliance().telegram.is_none() {
        return Err(AppError::Conflict {
            code: "telegram.not_configured",
            message: "the reseller has not configured telegram.api_id and telegram.api_hash".into(),
        });
    }
    tenant_workers::check_session_limit(st, scope)?;
    let tenant = scope.tenant_id();
    tenant_workers::ensure_worker(st, tenant).await?;
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
    Ok((login, stage(st, scope, login, pending).await?))
}

/// Where a login stands now; a scanned QR code finishes it here.
pub async fn status(st: &Shared, scope: &TenantScope, login: u64) -> AppResult<Stage> {
    let pending = st.supervisor.pending_login(scope.tenant_id(), login);
    stage(st, scope, login, pending).await
}

async fn step(st: &Shared, scope: &TenantScope, login: u64, step: LoginStep) -> AppResult<Stage> {
    let tenant = scope.tenant_id();
    if st.supervisor.pending_login(tenant, login).is_none() {
        return stage(st, scope, login, None).await;
    }
    let pending = st
        .supervisor
        .login_step(tenant, login, None, step, STEP_WAIT)
        .await;
    stage(st, scope, login, pending).await
}

/// The code Telegram sent to the account's apps.
pub async fn code(st: &Shared, scope: &TenantScope, login: u64, code: &str) -> AppResult<Stage> {
    let code = code.trim().to_string();
    if code.is_empty() || code.len() > 16 || !code.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid("code", "the code as Telegram sent it"));
    }
    step(st, scope, login, LoginStep::Code { code }).await
}

/// The account's 2FA password (checked with SRP; it is not stored or logged).
pub async fn password(
    st: &Shared,
    scope: &TenantScope,
    login: u64,
    password: zeroize::Zeroizing<String>,
) -> AppResult<Stage> {
    if password.is_empty() || password.len() > 256 {
        return Err(AppError::invalid("password", "1 to 256 bytes"));
    }
    step(st, scope, login, LoginStep::Password { password }).await
}

/// Gives up a login.
pub async fn cancel(st: &Shared, scope: &TenantScope, login: u64) -> AppResult<()> {
    let tenant = scope.tenant_id();
    if st.supervisor.pending_login(tenant, login).is_none() {
        return Err(AppError::NotFound("login"));
    }
    let _ = st
        .supervisor
        .login_step(
            tenant,
            login,
            None,
            LoginStep::Cancel,
            std::time::Duration::from_millis(10),
        )
        .await;
    st.supervisor.end_login(tenant, login);
    Ok(())
}
