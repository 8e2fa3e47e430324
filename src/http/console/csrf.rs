//! CSRF protection by construction: every state-changing request to the console must carry
//! the token of the browser's session (or, before sign-in, of its pre-session cookie), as the
//! `X-CSRF-Token` header (htmx, set by `console.js`) or a `_csrf` form field. The cookies are
//! `SameSite=Strict` as well; this is the second lock.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::session::{Chrome, browser_language, cookie, pre_cookie, session_cookie};
use crate::domain::browser_sessions::csrf_matches;
use crate::state::Shared;

/// The largest form the console accepts; its forms are a few fields.
const FORM_LIMIT: usize = 64 * 1024;

pub async fn require(State(st): State<Shared>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let lang = browser_language(req.headers());
    let refuse = |status: StatusCode, key: &str| {
        let c = Chrome::anonymous(&st, lang, String::new());
        let title = c.t.s("error.title");
        let body = c.t.s(key);
        super::message(c, status, title, body, "/console")
    };
    let source = cookie(req.headers(), session_cookie(&st))
        .or_else(|| cookie(req.headers(), pre_cookie(&st)))
        .map(str::to_string);
    let Some(source) = source else {
        return refuse(StatusCode::FORBIDDEN, "error.csrf");
    };
    if let Some(t) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        if csrf_matches(&source, t) {
            return next.run(req).await;
        }
        return refuse(StatusCode::FORBIDDEN, "error.csrf");
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refuse(StatusCode::FORBIDDEN, "error.csrf");
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "error.csrf");
    };
    let ok = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "_csrf")
        .is_some_and(|(_, v)| csrf_matches(&source, &v));
    if !ok {
        return refuse(StatusCode::FORBIDDEN, "error.csrf");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
