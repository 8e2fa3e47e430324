//! Sign-in, sign-out and the first-run setup, as pages.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{
    Chrome, Viewer, browser_language, cookie, pre_cookie, session_cookie, set_cookie,
};
use super::{error_text, render};
use crate::config::Secret;
use crate::domain::auth;
use crate::domain::browser_sessions::{self, Origin, csrf_token};
use crate::error::AppError;
use crate::http::extract::ClientIp;
use crate::i18n::Language;
use crate::security::crypto::random_token;
use crate::state::Shared;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    c: Chrome,
    email: String,
    error: Option<String>,
    signed_out: bool,
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    c: Chrome,
    token: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    lang: Option<String>,
    out: Option<String>,
}

/// The chrome of a page without a session, and the pre-session cookie to set when the
/// browser has none yet.
pub fn anonymous(
    st: &Shared,
    headers: &HeaderMap,
    lang: Language,
) -> (Chrome, Option<HeaderValue>) {
    // The CSRF check takes the session's cookie first (see `csrf.rs`): a signed-in browser
    // opening a mailed link posts with its session's token.
    if let Some(session) = cookie(headers, session_cookie(st)) {
        return (Chrome::anonymous(st, lang, csrf_token(session)), None);
    }
    match cookie(headers, pre_cookie(st)) {
        Some(pre) => (Chrome::anonymous(st, lang, csrf_token(pre)), None),
        None => {
            let pre = random_token();
            let set = set_cookie(st, pre_cookie(st), &pre, 3600);
            (Chrome::anonymous(st, lang, csrf_token(&pre)), Some(set))
        }
    }
}

/// Where a sign-in comes from: the client's address and its browser.
pub fn origin(ip: std::net::IpAddr, headers: &HeaderMap) -> Origin {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Origin { ip, user_agent }
}

pub(super) fn with_cookie(mut r: Response, set: Option<HeaderValue>) -> Response {
    if let Some(v) = set {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn chosen_language(q: Option<&str>, headers: &HeaderMap) -> Language {
    match q {
        Some("tr") => Language::Tr,
        Some("en") => Language::En,
        _ => browser_language(headers),
    }
}

pub async fn login_page(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let live = cookie(&headers, session_cookie(&st))
        .is_some_and(|t| browser_sessions::authenticate(&st, t).is_ok());
    if live {
        return Redirect::to("/console").into_response();
    }
    let lang = chosen_language(q.lang.as_deref(), &headers);
    let (c, set) = anonymous(&st, &headers, lang);
    let page = LoginPage {
        c,
        email: String::new(),
        error: None,
        signed_out: q.out.is_some(),
    };
    with_cookie(render(&page), set)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let origin = origin(ip, &headers);
    match browser_sessions::sign_in(&st, &f.email, Secret::new(f.password), origin).await {
        Ok(started) => signed_in(&st, &started.token),
        Err(e) => {
            let lang = browser_language(&headers);
            let (c, set) = anonymous(&st, &headers, lang);
            let (status, key) = match &e {
                AppError::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, "login.locked"),
                AppError::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "login.failed"),
                _ => (crate::http::error::status_of(&e), ""),
            };
            let error = if key.is_empty() {
                error_text(&c, &e)
            } else {
                c.t.s(key).to_string()
            };
            let page = LoginPage {
                c,
                email: f.email.chars().take(254).collect(),
                error: Some(error),
                signed_out: false,
            };
            with_cookie((status, render(&page)).into_response(), set)
        }
    }
}

#[derive(Deserialize)]
pub struct WebAppForm {
    #[serde(default)]
    init_data: String,
}

/// Signs in from the Mini-App: the `initData` Telegram handed it, checked against the platform
/// bot's token, names a linked Telegram user. Answers like the sign-in form (a session cookie
/// and the way in), or the refusal's code and text.
pub async fn webapp_sign_in(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<WebAppForm>,
) -> Response {
    let origin = origin(ip, &headers);
    match browser_sessions::sign_in_webapp(&st, &f.init_data, origin).await {
        Ok(s) => webapp_started(&st, s),
        Err(e) => super::app_pages::refused(&st, &headers, &f.init_data, e),
    }
}

/// A Mini-App session begun: its cookie, the app's language, and on to the app's home.
pub fn webapp_started(st: &Shared, s: browser_sessions::WebAppStarted) -> Response {
    let ttl = browser_sessions::WEBAPP_SESSION_SECS;
    let mut r = with_session(st, &s.started.token, ttl, "/app/home");
    if let Some(lang) = s.language {
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(st, super::session::LANG_COOKIE, lang_code(lang), ttl),
        );
    }
    r
}

fn lang_code(l: Language) -> &'static str {
    match l {
        Language::Tr => "tr",
        Language::En => "en",
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "console/link.html")]
struct LinkPage {
    c: Chrome,
    token: String,
}

/// The page a `/web` link opens: a button that signs in, so that a link preview fetching the
/// address does not use the link up.
pub async fn link_page(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    let token = q.token.chars().take(100).collect();
    with_cookie(render(&LinkPage { c, token }), set)
}

pub async fn link_sign_in(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(q): Form<LinkQuery>,
) -> Response {
    let origin = origin(ip, &headers);
    match browser_sessions::sign_in_with_link(&st, &q.token, origin).await {
        Ok(started) => signed_in(&st, &started.token),
        Err(e) => {
            let (c, set) = anonymous(&st, &headers, browser_language(&headers));
            let title = c.t.s("error.title");
            let body = error_text(&c, &e);
            let status = crate::http::error::status_of(&e);
            with_cookie(
                super::message(c, status, title, &body, "/console/login"),
                set,
            )
        }
    }
}

/// Sets the session cookie, drops the pre-session one and goes to the dashboard.
fn signed_in(st: &Shared, token: &str) -> Response {
    let ttl = st.config.auth.refresh_ttl_days as i64 * 86_400;
    with_session(st, token, ttl, "/console")
}

fn with_session(st: &Shared, token: &str, ttl: i64, to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(st, session_cookie(st), token, ttl),
    );
    h.append(header::SET_COOKIE, set_cookie(st, pre_cookie(st), "", 0));
    r
}

pub async fn logout(State(st): State<Shared>, v: Viewer) -> Response {
    if let Err(e) = auth::logout(&st, &v.caller).await {
        return super::error_page(v.page(""), e);
    }
    let mut r = Redirect::to("/console/login?out=1").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&st, session_cookie(&st), "", 0),
    );
    r
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// The setup page answers only while its one-time link is good and no admin exists.
fn setup_gone(c: Chrome) -> Response {
    let title = c.t.s("setup.title");
    let body = c.t.s("setup.done");
    super::message(c, StatusCode::NOT_FOUND, title, body, "/console/login")
}

pub async fn setup_page(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Response {
    let lang = browser_language(&headers);
    let token = q.token.unwrap_or_default();
    let (c, set) = anonymous(&st, &headers, lang);
    let valid = token.len() <= 100 && auth::setup_token_valid(&st, &token).unwrap_or(false);
    if !valid {
        return setup_gone(c);
    }
    let page = SetupPage {
        c,
        token,
        email: String::new(),
        error: None,
    };
    with_cookie(render(&page), set)
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    email: String,
    password: String,
}

pub async fn setup(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SetupForm>,
) -> Response {
    let origin = origin(ip, &headers);
    let lang = browser_language(&headers);
    match browser_sessions::complete_setup(&st, &f.token, &f.email, Secret::new(f.password), origin)
        .await
    {
        Ok(started) => signed_in(&st, &started.token),
        Err(AppError::Unauthorized { .. }) => setup_gone(anonymous(&st, &headers, lang).0),
        Err(e) => {
            let (c, set) = anonymous(&st, &headers, lang);
            let error = error_text(&c, &e);
            let page = SetupPage {
                c,
                token: f.token,
                email: f.email.chars().take(254).collect(),
                error: Some(error),
            };
            with_cookie(
                (crate::http::error::status_of(&e), render(&page)).into_response(),
                set,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "console/invite.html")]
struct InvitePage {
    c: Chrome,
    token: String,
    email: String,
    error: Option<String>,
}

fn invite_gone(c: Chrome) -> Response {
    let title = c.t.s("invite.title");
    let body = c.t.s("invite.gone");
    super::message(c, StatusCode::NOT_FOUND, title, body, "/console/login")
}

/// The page behind an invitation link: join with a password.
pub async fn invite_page(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    let token = q.token.unwrap_or_default();
    let email = if token.len() <= 100 {
        auth::invitation_email(&st, &token).ok().flatten()
    } else {
        None
    };
    let Some(email) = email else {
        return invite_gone(c);
    };
    let page = InvitePage {
        c,
        token,
        email,
        error: None,
    };
    with_cookie(render(&page), set)
}

#[derive(Deserialize)]
pub struct InviteForm {
    token: String,
    password: String,
}

pub async fn accept_invite(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<InviteForm>,
) -> Response {
    let origin = origin(ip, &headers);
    let result =
        browser_sessions::accept_invitation(&st, &f.token, Secret::new(f.password), origin).await;
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    match result {
        Ok(started) => signed_in(&st, &started.token),
        Err(AppError::Unauthorized {
            code: "invitation.invalid",
            ..
        }) => invite_gone(c),
        Err(e) => {
            let email = auth::invitation_email(&st, &f.token)
                .ok()
                .flatten()
                .unwrap_or_default();
            let error = error_text(&c, &e);
            let page = InvitePage {
                c,
                token: f.token,
                email,
                error: Some(error),
            };
            with_cookie(
                (crate::http::error::status_of(&e), render(&page)).into_response(),
                set,
            )
        }
    }
}
