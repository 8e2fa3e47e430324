//! The server's log for admins (the recent lines kept in memory, filtered by level, tenant
//! and text) and the live tail of it, or of one tenant's lines, over Server-Sent Events.

use std::convert::Infallible;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tracing::Level;

use super::authorize::{Want, tenant};
use super::render;
use super::session::{Chrome, Viewer};
use crate::http::roles::Needs;
use crate::runtime::recent_log::Entry;
use crate::state::Shared;

/// Lines a page shows at first.
const SHOWN: usize = 500;

/// The filter of a log page and its live tail, read from the query once.
#[derive(Deserialize, Default)]
pub struct LogFilter {
    level: Option<String>,
    q: Option<String>,
    tenant: Option<String>,
}

struct Filter {
    level: Level,
    level_name: &'static str,
    text: String,
    tenant: Option<u64>,
}

impl LogFilter {
    fn read(&self) -> Filter {
        let (level, level_name) = match self.level.as_deref().map(str::to_ascii_lowercase) {
            Some(l) if l == "warn" => (Level::WARN, "warn"),
            Some(l) if l == "error" => (Level::ERROR, "error"),
            _ => (Level::INFO, "info"),
        };
        Filter {
            level,
            level_name,
            text: self
                .q
                .clone()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
            tenant: self.tenant.as_deref().and_then(|t| t.trim().parse().ok()),
        }
    }
}

impl Filter {
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("level", self.level_name);
        if !self.text.is_empty() {
            q.append_pair("q", &self.text);
        }
        if let Some(t) = self.tenant {
            q.append_pair("tenant", &t.to_string());
        }
        q.finish()
    }
}

/// One line as a table row (the page's rows and the tail's events alike).
#[derive(Template)]
#[template(path = "console/log_row.html")]
pub struct LogRow {
    pub time: String,
    pub level: &'static str,
    /// Shown (and linked) on the server's log; `None` on a tenant's.
    pub tenant: Option<Option<u64>>,
    pub message: String,
}

fn row(e: &Entry, with_tenant: bool) -> LogRow {
    LogRow {
        time: e.time.clone(),
        level: e.level.as_str(),
        tenant: with_tenant.then_some(e.tenant),
        message: e.message.clone(),
    }
}

#[derive(Template)]
#[template(path = "console/server_logs.html")]
struct ServerLogPage {
    c: Chrome,
    levels: [&'static str; 3],
    level: &'static str,
    q: String,
    tenant: String,
    rows: Vec<LogRow>,
    tail: String,
}

pub async fn server_log(
    State(st): State<Shared>,
    v: Viewer,
    Query(f): Query<LogFilter>,
) -> Response {
    if let Some(r) = super::admin_pages::admins_only(&v) {
        return r;
    }
    let f = f.read();
    let rows = st
        .tenant_logs
        .recent
        .tail(f.level, f.tenant, &f.text, SHOWN)
        .iter()
        .map(|e| row(e, true))
        .collect();
    render(&ServerLogPage {
        levels: ["info", "warn", "error"],
        level: f.level_name,
        q: f.text.clone(),
        tenant: f.tenant.map(|t| t.to_string()).unwrap_or_default(),
        rows,
        tail: format!("/console/live/log?{}", f.query()),
        c: v.page("logs"),
    })
}

/// New lines of the server's log as they come (admins).
pub async fn server_tail(
    State(st): State<Shared>,
    v: Viewer,
    Query(f): Query<LogFilter>,
) -> Response {
    if !v.is_admin() {
        return StatusCode::NOT_FOUND.into_response();
    }
    tail(&st, f.read(), true)
}

/// New lines of one tenant's log as they come (those who run the tenant).
pub async fn tenant_tail(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(f): Query<LogFilter>,
) -> Response {
    if tenant(&st, &v, id, Want::See(Needs::Manage)).await.is_err() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut f = f.read();
    f.tenant = Some(id);
    tail(&st, f, false)
}

fn tail(st: &Shared, f: Filter, with_tenant: bool) -> Response {
    let rx = st.tenant_logs.recent.follow();
    let needle = botyard_shards::search_fold(&f.text);
    Sse::new(lines(rx, f, needle, with_tenant))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn lines(
    rx: tokio::sync::broadcast::Receiver<Arc<Entry>>,
    f: Filter,
    needle: String,
    with_tenant: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((rx, f, needle), move |(mut rx, f, needle)| async move {
        loop {
            let ev = match rx.recv().await {
                Ok(e) if e.matches(f.level, f.tenant, &needle) => {
                    let html = row(&e, with_tenant).render().unwrap_or_default();
                    Event::default().event("line").data(html)
                }
                Ok(_) => continue,
                // A slow reader skips what it missed and says so.
                Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(ev), (rx, f, needle)));
        }
    })
}
