//! Pages behind mailed links, without a session: "forgot your password?", setting a new one
//! with a reset link, and confirming a new email address. A link's token is used only by a
//! form's POST, so a mail reader that fetches links ahead does not spend it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth_pages::{anonymous, with_cookie};
use super::session::{Chrome, browser_language};
use super::{error_text, message, render};
use crate::config::Secret;
use crate::domain::mail::account;
use crate::error::AppError;
use crate::state::Shared;

#[derive(Template)]
#[template(path = "console/recovery.html")]
struct RecoveryPage {
    c: Chrome,
    title: String,
    intro: String,
    action: &'static str,
    token: String,
    /// `email`, `password` or empty (a button only).
    field: &'static str,
    submit: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn form(c: Chrome, which: &'static str, token: String, error: Option<String>) -> RecoveryPage {
    let (title, intro, action, field, submit) = match which {
        "forgot" => (
            "recovery.forgot_title",
            "recovery.forgot_intro",
            "/console/forgot",
            "email",
            "recovery.forgot_submit",
        ),
        "reset" => (
            "recovery.reset_title",
            "recovery.reset_intro",
            "/console/reset",
            "password",
            "recovery.reset_submit",
        ),
        _ => (
            "recovery.email_title",
            "recovery.email_intro",
            "/console/email",
            "",
            "recovery.email_submit",
        ),
    };
    RecoveryPage {
        title: c.t.s(title).to_string(),
        intro: c.t.s(intro).to_string(),
        submit: c.t.s(submit).to_string(),
        action,
        token,
        field,
        error,
        c,
    }
}

fn clean(token: Option<String>) -> String {
    token
        .filter(|t| {
            t.len() <= 100
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_default()
}

pub async fn forgot_page(State(st): State<Shared>, headers: HeaderMap) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    with_cookie(render(&form(c, "forgot", String::new(), None)), set)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(st): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<ForgotForm>,
) -> Response {
    let lang = browser_language(&headers);
    let (c, set) = anonymous(&st, &headers, lang);
    if let Err(e) = account::request_password_reset(&st, &f.email, lang).await {
        tracing::warn!(error = %e, "a password reset was not queued");
    }
    // The same page whatever the address: it does not tell who has an account.
    let (title, body) = (
        c.t.s("recovery.forgot_title"),
        c.t.s("recovery.forgot_sent"),
    );
    with_cookie(
        message(c.clone(), StatusCode::OK, title, body, "/console/login"),
        set,
    )
}

pub async fn reset_page(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    with_cookie(render(&form(c, "reset", clean(q.token), None)), set)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn reset(
    State(st): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<ResetForm>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    if f.password.len() > 1024 {
        return with_cookie(StatusCode::UNPROCESSABLE_ENTITY.into_response(), set);
    }
    match account::reset_password(&st, &clean(Some(f.token.clone())), Secret::new(f.password)).await
    {
        Ok(_) => {
            let (title, body) = (c.t.s("recovery.reset_title"), c.t.s("recovery.reset_done"));
            with_cookie(
                message(c.clone(), StatusCode::OK, title, body, "/console/login"),
                set,
            )
        }
        Err(e) => failed(c, "reset", f.token, e, set),
    }
}

fn failed(
    c: Chrome,
    which: &'static str,
    token: String,
    e: AppError,
    set: Option<axum::http::HeaderValue>,
) -> Response {
    let text = error_text(&c, &e);
    let status = crate::http::error::status_of(&e);
    with_cookie(
        (
            status,
            render(&form(c, which, clean(Some(token)), Some(text))),
        )
            .into_response(),
        set,
    )
}

pub async fn email_page(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    with_cookie(render(&form(c, "email", clean(q.token), None)), set)
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    token: String,
}

pub async fn email(
    State(st): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<EmailForm>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    match account::confirm_email_change(&st, &clean(Some(f.token.clone()))).await {
        Ok(_) => {
            let (title, body) = (c.t.s("recovery.email_title"), c.t.s("recovery.email_done"));
            with_cookie(
                message(c.clone(), StatusCode::OK, title, body, "/console/login"),
                set,
            )
        }
        Err(e) => failed(c, "email", f.token, e, set),
    }
}
