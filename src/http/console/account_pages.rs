//! The reader's own account: language and zone, password, and where they are signed in.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::ids::FamilyId;

use super::session::{Chrome, Viewer, session_cookie, set_cookie};
use super::{error_page, error_text, render};
use crate::config::Secret;
use crate::domain::{auth, browser_sessions};
use crate::state::{Shared, blocking};

pub struct LoginRow {
    pub id: u64,
    pub since: String,
    pub place: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    c: Chrome,
    time_zone: String,
    /// The linked Telegram user's name, when linked.
    telegram: Option<String>,
    /// A fresh link to open in Telegram.
    link: Option<String>,
    logins: Vec<LoginRow>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

async fn page(st: &Shared, v: &Viewer, notice: Option<String>, error: Option<String>) -> Response {
    page_with(st, v, notice, error, None).await
}

async fn page_with(
    st: &Shared,
    v: &Viewer,
    notice: Option<String>,
    error: Option<String>,
    link: Option<String>,
) -> Response {
    let st2 = st.clone();
    let account = v.account;
    let found = blocking(move || {
        let telegram =
            st2.store
                .catalog_read()?
                .telegram_link(account)?
                .map(|l| match l.username {
                    Some(u) => format!("{} (@{u})", l.first_name),
                    None => l.first_name,
                });
        Ok((
            browser_sessions::prefs(&st2, account)?,
            browser_sessions::logins(&st2, account)?,
            telegram,
        ))
    })
    .await;
    let (prefs, logins, telegram) = match found {
        Ok(f) => f,
        Err(e) => return error_page(v.page("account"), e),
    };
    let t = &v.chrome.t;
    let logins = logins
        .into_iter()
        .map(|l| LoginRow {
            id: l.family.0,
            since: t.when(l.created_at),
            place: match l.browser {
                Some((ua, ip)) => format!("{ip} · {ua}"),
                None => t.s("api_login").to_string(),
            },
            current: v.caller.family == Some(l.family),
        })
        .collect();
    render(&AccountPage {
        time_zone: prefs.time_zone,
        telegram,
        link,
        logins,
        notice,
        error,
        c: v.page("account"),
    })
}

pub async fn account(
    State(st): State<Shared>,
    v: Viewer,
    Query(q): Query<AccountQuery>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("prefs") => Some(v.chrome.t.s("account.prefs_saved").to_string()),
        Some("password") => Some(v.chrome.t.s("account.password_changed").to_string()),
        _ => None,
    };
    page(&st, &v, notice, None).await
}

#[derive(Deserialize)]
pub struct PrefsForm {
    language: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn save_prefs(State(st): State<Shared>, v: Viewer, Form(f): Form<PrefsForm>) -> Response {
    match browser_sessions::set_prefs(&st, v.account, &f.language, &f.time_zone).await {
        Ok(()) => Redirect::to("/console/account?done=prefs").into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let status = crate::http::error::status_of(&e);
            (status, page(&st, &v, None, Some(text)).await).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes the password: every login ends, this browser gets a new one.
pub async fn change_password(
    State(st): State<Shared>,
    v: Viewer,
    headers: HeaderMap,
    crate::http::extract::ClientIp(ip): crate::http::extract::ClientIp,
    Form(f): Form<PasswordForm>,
) -> Response {
    let origin = super::auth_pages::origin(ip, &headers);
    let st2 = st.clone();
    let changed = auth::change_password_then(
        &st,
        &v.caller,
        Secret::new(f.current_password),
        Secret::new(f.new_password),
        move |c, account, now| browser_sessions::start(&st2, c, account, &origin, now),
    )
    .await;
    match changed {
        Ok(s) => {
            let ttl = st.config.auth.refresh_ttl_days as i64 * 86_400;
            let mut r = Redirect::to("/console/account?done=password").into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&st, session_cookie(&st), &s.token, ttl),
            );
            r
        }
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let status = crate::http::error::status_of(&e);
            (status, page(&st, &v, None, Some(text)).await).into_response()
        }
    }
}

pub async fn end_login(State(st): State<Shared>, v: Viewer, Path(family): Path<u64>) -> Response {
    match browser_sessions::end_login(&st, v.account, FamilyId(family)).await {
        Ok(()) => Redirect::to("/console/account").into_response(),
        Err(e) => error_page(v.page("account"), e),
    }
}

/// A one-time link that ties this account to the Telegram user who opens it (the platform
/// bot's `/start <code>`); test posts then go to that chat.
pub async fn link_telegram(State(st): State<Shared>, v: Viewer) -> Response {
    match crate::domain::telegram_link::new_code(&st, v.account) {
        Ok((url, ..)) => page_with(&st, &v, None, None, Some(url)).await,
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            (status, page(&st, &v, None, Some(text)).await).into_response()
        }
    }
}

pub async fn unlink_telegram(State(st): State<Shared>, v: Viewer) -> Response {
    let account = v.account;
    let st2 = st.clone();
    match blocking(move || Ok(st2.store.catalog_write(|c| c.unlink_telegram(account))?)).await {
        Ok(_) => Redirect::to("/console/account").into_response(),
        Err(e) => error_page(v.page("account"), e),
    }
}
