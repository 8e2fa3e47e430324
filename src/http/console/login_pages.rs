//! Logging a user account in from the console: the QR code shown and refreshed until it is
//! scanned (htmx polls the stage), or the phone number, the code and the 2FA password. The
//! flow is `domain::logins`, as in the API.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::TenantScope;

use super::authorize::{Want, tenant};
use super::session::{Chrome, Viewer};
use super::{error_page, error_text, render};
use crate::domain::logins::{self, Stage};
use crate::error::{AppError, AppResult};
use crate::http::roles::Needs;
use crate::state::Shared;

/// What the stage fragment shows.
pub enum StageView {
    Working,
    /// The QR code as SVG (made by the `qrcode` crate from the link: attributes only).
    /// The QR code as SVG, and the `tg://login` link it holds (for a login on this phone).
    Qr(String, String),
    Code,
    /// The password hint, empty when none.
    Password(String),
}

#[derive(Template)]
#[template(path = "console/tg_login.html")]
struct LoginPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    login: u64,
    stage: StageView,
    poll: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/tg_login_stage.html")]
struct StageFragment {
    c: Chrome,
    tenant: u64,
    login: u64,
    stage: StageView,
    poll: bool,
}

/// The view of a stage; `None` when the login is done (the session exists).
fn view(s: Stage) -> Option<(StageView, bool)> {
    Some(match s {
        Stage::Working => (StageView::Working, true),
        Stage::Qr { svg, url, .. } => (StageView::Qr(svg.unwrap_or_default(), url), true),
        Stage::CodeSent => (StageView::Code, false),
        Stage::PasswordNeeded { hint } => (StageView::Password(hint.unwrap_or_default()), false),
        Stage::Done { .. } => return None,
    })
}

fn done(v: &Viewer, id: u64) -> Response {
    Redirect::to(&super::tenant_pages::back_to(v, id, "login")).into_response()
}

/// The login's page at `stage`, or the tenant's page when it is done.
fn page(
    v: &Viewer,
    scope: &TenantScope,
    login: u64,
    stage: Stage,
    error: Option<String>,
) -> Response {
    let id = scope.tenant_id().0;
    match view(stage) {
        Some((stage, poll)) => render(&LoginPage {
            tenant: id,
            tenant_name: scope.record().name.clone(),
            login,
            stage,
            poll,
            error,
            c: v.tenant_page(),
        }),
        None => done(v, id),
    }
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    phone: String,
}

pub async fn start(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<StartForm>,
) -> Response {
    let started = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/logins"),
        )
        .await?;
        let method = match f.method.as_str() {
            "phone" => logins::Method::Phone(f.phone.clone()),
            "qr" => logins::Method::Qr,
            _ => {
                return Err(AppError::invalid(
                    "method",
                    "choose a QR code or a phone number",
                ));
            }
        };
        let (login, _) = logins::start(&st, &scope, &f.label, method).await?;
        Ok(login)
    }
    .await;
    match started {
        // The login's own page shows its stage (and reloads keep working).
        Ok(login) => {
            Redirect::to(&format!("{}/tenants/{id}/logins/{login}", v.chrome.root)).into_response()
        }
        Err(e) => error_page(v.page(""), e),
    }
}

pub async fn show(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, login)): Path<(u64, u64)>,
) -> Response {
    let shown = async {
        let scope = tenant(&st, &v, id, Want::See(Needs::Manage)).await?;
        let stage = logins::status(&st, &scope, login).await?;
        Ok::<_, AppError>(page(&v, &scope, login, stage, None))
    }
    .await;
    shown.unwrap_or_else(|e| error_page(v.page(""), e))
}

/// The stage alone, for htmx's poll; a finished login sends the browser to the tenant.
pub async fn stage(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, login)): Path<(u64, u64)>,
) -> Response {
    let stage = async {
        let scope = tenant(&st, &v, id, Want::See(Needs::Manage)).await?;
        logins::status(&st, &scope, login).await
    }
    .await;
    match stage.map(view) {
        Ok(Some((stage, poll))) => render(&StageFragment {
            tenant: id,
            login,
            stage,
            poll,
            c: v.page(""),
        }),
        Ok(None) => {
            let mut r = axum::http::StatusCode::OK.into_response();
            if let Ok(to) = HeaderValue::from_str(&super::tenant_pages::back_to(&v, id, "login")) {
                r.headers_mut().insert("HX-Redirect", to);
            }
            r
        }
        Err(e) => (
            crate::http::error::status_of(&e),
            format!(
                r#"<p class="error" role="alert">{}</p>"#,
                error_text(&v.chrome, &e)
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
            ),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// Answers a step: the next stage's page, or the step's own form again with what was wrong
/// (the worker keeps the login at that step after a bad code or password).
fn answered(
    v: &Viewer,
    scope: &TenantScope,
    login: u64,
    result: AppResult<Stage>,
    again: StageView,
) -> Response {
    match result {
        Ok(stage) => page(v, scope, login, stage, None),
        Err(e @ AppError::Invalid { .. }) => {
            let text = error_text(&v.chrome, &e);
            let page = render(&LoginPage {
                tenant: scope.tenant_id().0,
                tenant_name: scope.record().name.clone(),
                login,
                stage: again,
                poll: false,
                error: Some(text),
                c: v.tenant_page(),
            });
            (crate::http::error::status_of(&e), page).into_response()
        }
        Err(e) => error_page(v.page(""), e),
    }
}

pub async fn code(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, login)): Path<(u64, u64)>,
    Form(f): Form<CodeForm>,
) -> Response {
    let step = Want::Change(Method::POST, "/api/v1/tenants/{id}/logins/{login_id}/code");
    match tenant(&st, &v, id, step).await {
        Ok(scope) => {
            let r = logins::code(&st, &scope, login, &f.code).await;
            answered(&v, &scope, login, r, StageView::Code)
        }
        Err(e) => error_page(v.page(""), e),
    }
}

pub async fn password(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, login)): Path<(u64, u64)>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let step = Want::Change(
        Method::POST,
        "/api/v1/tenants/{id}/logins/{login_id}/password",
    );
    match tenant(&st, &v, id, step).await {
        Ok(scope) => {
            let pw = zeroize::Zeroizing::new(f.password);
            let r = logins::password(&st, &scope, login, pw).await;
            answered(&v, &scope, login, r, StageView::Password(String::new()))
        }
        Err(e) => error_page(v.page(""), e),
    }
}

pub async fn cancel(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, login)): Path<(u64, u64)>,
) -> Response {
    let cancelled = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::DELETE, "/api/v1/tenants/{id}/logins/{login_id}"),
        )
        .await?;
        logins::cancel(&st, &scope, login).await
    }
    .await;
    match cancelled {
        Ok(()) | Err(AppError::NotFound(_)) => {
            Redirect::to(&format!("{}/tenants/{id}", v.chrome.root)).into_response()
        }
        Err(e) => error_page(v.page(""), e),
    }
}
