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
/// The largest form with a file (a support request's attachment and its text).
pub const UPLOAD_FORM_LIMIT: usize = crate::domain::support::ATTACHMENT_MAX + 64 * 1024;

/// The `_csrf` field of a multipart form, if it comes before any file.
async fn multipart_token(content_type: &str, body: axum::body::Bytes) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.file_name().is_some() {
            return None;
        }
        if field.name() == Some("_csrf") {
            return field.text().await.ok();
        }
    }
    None
}

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
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if content_type.starts_with("multipart/form-data") {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, UPLOAD_FORM_LIMIT).await else {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "error.too_large");
        };
        let ok = multipart_token(&content_type, bytes.clone())
            .await
            .is_some_and(|t| csrf_matches(&source, &t));
        if !ok {
            return refuse(StatusCode::FORBIDDEN, "error.csrf");
        }
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
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
