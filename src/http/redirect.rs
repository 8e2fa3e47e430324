//! The plain-HTTP listener beside built-in HTTPS (`tls.http_listen`, port 80): it answers the
//! ACME authority's HTTP-01 challenges and sends everyone else to the same path over HTTPS.
//! The redirect goes to the configured base URL, never to the request's `Host`, so it cannot
//! be used to send people elsewhere.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::runtime::tls::Challenges;

#[derive(Clone)]
struct Redirect {
    challenges: Challenges,
    base_url: String,
}

pub fn router(challenges: Challenges, base_url: String) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(challenge))
        .fallback(to_https)
        .with_state(Redirect {
            challenges,
            base_url: base_url.trim_end_matches('/').to_string(),
        })
}

async fn challenge(State(r): State<Redirect>, Path(token): Path<String>) -> Response {
    match r.challenges.answer(&token) {
        Some(key_authorization) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn to_https(State(r): State<Redirect>, uri: Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, format!("{}{path}", r.base_url))],
    )
        .into_response()
}
