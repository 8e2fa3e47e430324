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
    email: String,
    notice_kinds: Vec<KindRow>,
    digest: bool,
    marketing: bool,
}

/// A notice kind the reader may turn off.
pub struct KindRow {
    pub kind: &'static str,
    pub label: String,
    pub on: bool,
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
        let c = st2.store.catalog_read()?;
        let email = c.account(account)?.map(|a| a.email).unwrap_or_default();
        let notices = c.notice_prefs(account)?;
        Ok((
            browser_sessions::prefs(&st2, account)?,
            browser_sessions::logins(&st2, account)?,
            telegram,
            (email, notices),
        ))
    })
    .await;
    let (prefs, logins, telegram, (email, notices)) = match found {
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
    let notice_kinds = crate::domain::mail::notices::KINDS
        .iter()
        .filter(|(k, _)| crate::domain::mail::notices::optional(k))
        .map(|(k, _)| KindRow {
            kind: k,
            label: t.s(kind_key(k)).to_string(),
            on: !notices.muted.iter().any(|m| m == k),
        })
        .collect();
    render(&AccountPage {
        email,
        notice_kinds,
        digest: notices.digest,
        marketing: notices.marketing,
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
        Some("notices") => Some(v.chrome.t.s("account.notices_saved").to_string()),
        Some("email") => Some(v.chrome.t.s("account.email_sent").to_string()),
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

/// The catalogue key naming a notice kind people may turn off.
fn kind_key(kind: &str) -> &'static str {
    match kind {
        "bot.session_revoked" => "notice.bot_session_revoked",
        "bot.worker_quarantined" => "notice.bot_worker_quarantined",
        "bot.campaign_paused" => "notice.bot_campaign_paused",
        "bot.flood_wait" => "notice.bot_flood_wait",
        "bot.posts_failing" => "notice.bot_posts_failing",
        _ => "notice.bot_removed_from_group",
    }
}

/// The preferences form: checked kinds are sent, the others muted.
pub async fn save_notices(
    State(st): State<Shared>,
    v: Viewer,
    body: axum::body::Bytes,
) -> Response {
    let mut on = Vec::new();
    let (mut digest, mut marketing) = (false, false);
    for (k, val) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "on" => on.push(val.into_owned()),
            "digest" => digest = true,
            "marketing" => marketing = true,
            _ => {}
        }
    }
    let muted: Vec<String> = crate::domain::mail::notices::KINDS
        .iter()
        .filter(|(k, _)| crate::domain::mail::notices::optional(k) && !on.iter().any(|o| o == k))
        .map(|(k, _)| (*k).to_string())
        .collect();
    let (store, account, now) = (st.store.clone(), v.account, st.now());
    let saved = blocking(move || {
        let r = crate::domain::mail::notices::prefs(muted, digest, marketing, now)?;
        crate::domain::mail::notices::save_prefs(&store, account, &r, now)
    })
    .await;
    match saved {
        Ok(()) => Redirect::to("/console/account?done=notices").into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let status = crate::http::error::status_of(&e);
            (status, page(&st, &v, None, Some(text)).await).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn change_email(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<EmailForm>,
) -> Response {
    let done = if f.password.len() > 1024 {
        Err(crate::error::AppError::invalid("password", "too long"))
    } else {
        crate::domain::mail::account::request_email_change(
            &st,
            v.account,
            &f.email,
            Secret::new(f.password),
        )
        .await
    };
    match done {
        Ok(()) => Redirect::to("/console/account?done=email").into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let status = crate::http::error::status_of(&e);
            (status, page(&st, &v, None, Some(text)).await).into_response()
        }
    }
}
