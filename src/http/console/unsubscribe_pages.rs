//! The unsubscribe link of marketing mail, outside the console: no session and no CSRF
//! token, the link's signature is the authority. `GET` shows a button (mail scanners that
//! fetch links do not unsubscribe anyone); `POST` unsubscribes at once, which is also what a
//! mail reader's one-click unsubscribe sends (RFC 8058).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use botyard_shards::ids::AccountId;
use serde::Deserialize;

use super::session::{Chrome, browser_language};
use super::{CSP, message, render};
use crate::state::Shared;

pub fn router() -> Router<Shared> {
    Router::new().route("/unsubscribe", get(page).post(unsubscribe))
}

#[derive(Deserialize)]
pub struct Link {
    #[serde(default)]
    a: u64,
    #[serde(default)]
    s: String,
}

#[derive(Template)]
#[template(path = "console/unsubscribe.html")]
struct UnsubscribePage {
    c: Chrome,
    account: u64,
    sig: String,
}

fn strict(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn chrome(st: &Shared, headers: &HeaderMap) -> Chrome {
    Chrome::anonymous(st, browser_language(headers), String::new())
}

fn forged(c: Chrome) -> Response {
    let (title, body) = (c.t.s("unsub.title"), c.t.s("unsub.forged"));
    message(c.clone(), StatusCode::BAD_REQUEST, title, body, "/console")
}

async fn page(State(st): State<Shared>, headers: HeaderMap, Query(q): Query<Link>) -> Response {
    let c = chrome(&st, &headers);
    if q.s.len() > 64 || !st.unsubscribe_key.verify(AccountId(q.a), &q.s) {
        return strict(forged(c));
    }
    strict(render(&UnsubscribePage {
        c,
        account: q.a,
        sig: q.s,
    }))
}

async fn unsubscribe(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<Link>,
) -> Response {
    let c = chrome(&st, &headers);
    if q.s.len() > 64 {
        return strict(forged(c));
    }
    match crate::domain::mail::marketing::unsubscribe(&st, AccountId(q.a), &q.s).await {
        Ok(true) => {
            let (title, body) = (c.t.s("unsub.title"), c.t.s("unsub.done"));
            strict(message(c.clone(), StatusCode::OK, title, body, "/console"))
        }
        Ok(false) => strict(forged(c)),
        Err(e) => {
            tracing::error!(error = %e, "an unsubscribe was not saved");
            strict(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}
