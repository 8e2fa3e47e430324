//! The Mail page (admins): the SMTP server (or what the configuration fixes), a test mail, and
//! the outbox with each mail's state, the server's answer and a resend.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use botyard_shards::ids::OutboxId;
use botyard_shards::records::MailStateRec;
use serde::Deserialize;

use super::DoneQuery;
use super::admin_pages::admins_only;
use super::session::{Chrome, Viewer};
use super::{error_text, render};
use crate::domain::mail::outbox::{self, Filter};
use crate::domain::mail::settings::SmtpInput;
use crate::state::Shared;

/// One outbox row as the page shows it.
struct Row {
    id: u64,
    when: String,
    to: String,
    subject: String,
    kind: String,
    /// `queued`, `sent` or `failed` (the badge's class).
    state: &'static str,
    state_label: String,
    attempts: u32,
    error: String,
}

#[derive(Template)]
#[template(path = "console/mail.html")]
struct MailPage {
    c: Chrome,
    notice: Option<String>,
    error: Option<String>,
    locked: bool,
    configured: bool,
    host: String,
    port: u16,
    port_typed: String,
    security: &'static str,
    user: String,
    password_set: bool,
    from_address: String,
    from_name: String,
    dkim_selector: String,
    dkim_set: bool,
    me: String,
    rows: Vec<Row>,
}

async fn page(st: &Shared, v: &Viewer, notice: Option<String>, error: Option<String>) -> Response {
    let a = st.appliance();
    let stored = crate::domain::appliance::load(&st.store, &st.keyring)
        .ok()
        .and_then(|(s, _)| s.smtp.clone());
    let t = &v.chrome.t;
    let rows = outbox::list(st, Filter::All, 50)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(id, r)| {
            let (state, error) = match &r.state {
                MailStateRec::Queued => ("queued", r.last_error.clone().unwrap_or_default()),
                MailStateRec::Sent { .. } => ("sent", String::new()),
                MailStateRec::Failed { reason, .. } => ("failed", reason.clone()),
            };
            Row {
                id: id.0,
                when: t.when(r.created_at),
                to: r.to,
                subject: r.subject,
                kind: r.kind,
                state,
                state_label: t
                    .s(match state {
                        "queued" => "mail.state_queued",
                        "sent" => "mail.state_sent",
                        _ => "mail.state_failed",
                    })
                    .to_string(),
                attempts: r.attempts,
                error,
            }
        })
        .collect();
    let me = st
        .store
        .catalog_read()
        .ok()
        .and_then(|c| c.account(v.account).ok().flatten())
        .map(|a| a.email)
        .unwrap_or_default();
    let m = a.mail.as_ref();
    render(&MailPage {
        notice,
        error,
        locked: m.is_some_and(|m| m.locked),
        configured: m.is_some(),
        host: m.map(|m| m.host.clone()).unwrap_or_default(),
        port: m.map_or(587, |m| m.port),
        port_typed: stored
            .as_ref()
            .and_then(|s| s.port)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        security: m.map_or("starttls", |m| m.security.name()),
        user: m
            .and_then(|m| m.credentials.as_ref().map(|(u, _)| u.clone()))
            .unwrap_or_default(),
        password_set: m.is_some_and(|m| m.credentials.is_some()),
        from_address: m.map(|m| m.from_address.clone()).unwrap_or_default(),
        from_name: stored
            .as_ref()
            .and_then(|s| s.from_name.clone())
            .unwrap_or_default(),
        dkim_selector: m
            .and_then(|m| m.dkim.as_ref().map(|(s, _)| s.clone()))
            .unwrap_or_default(),
        dkim_set: m.is_some_and(|m| m.dkim.is_some()),
        me,
        rows,
        c: v.page("mail"),
    })
}

pub async fn show(State(st): State<Shared>, v: Viewer, Query(q): Query<DoneQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = q.notice(
        &v.chrome.t,
        &[
            ("saved", "mail.saved"),
            ("test", "mail.test_queued"),
            ("resent", "mail.resent"),
        ],
    );
    page(&st, &v, notice, None).await
}

#[derive(Deserialize)]
pub struct ServerForm {
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    security: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    from_address: String,
    #[serde(default)]
    from_name: String,
    #[serde(default)]
    dkim_selector: String,
    #[serde(default)]
    dkim_key: String,
    clear: Option<String>,
}

async fn failed(st: &Shared, v: &Viewer, e: crate::error::AppError) -> Response {
    let text = error_text(&v.chrome, &e);
    let mut r = page(st, v, None, Some(text)).await;
    *r.status_mut() = crate::http::error::status_of(&e);
    r
}

pub async fn save(State(st): State<Shared>, v: Viewer, Form(f): Form<ServerForm>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let input = SmtpInput {
        host: f.host,
        port: f.port,
        security: f.security,
        user: f.user,
        password: f.password,
        from_address: f.from_address,
        from_name: f.from_name,
        dkim_selector: f.dkim_selector,
        dkim_key: f.dkim_key,
        clear: f.clear.is_some(),
    };
    match crate::domain::appliance::save_smtp(&st, v.account, input).await {
        Ok(()) => Redirect::to("/console/mail?done=saved").into_response(),
        Err(e) => failed(&st, &v, e).await,
    }
}

#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}

pub async fn test(State(st): State<Shared>, v: Viewer, Form(f): Form<TestForm>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match outbox::queue_test(&st, v.account, &f.to, v.chrome.t.lang).await {
        Ok(_) => Redirect::to("/console/mail?done=test").into_response(),
        Err(e) => failed(&st, &v, e).await,
    }
}

pub async fn resend(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match outbox::resend(&st, v.account, OutboxId(id)).await {
        Ok(()) => Redirect::to("/console/mail?done=resent").into_response(),
        Err(e) => failed(&st, &v, e).await,
    }
}
