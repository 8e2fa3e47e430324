//! Live views over Server-Sent Events: once a second the workers' rows (rendered as on the
//! page) and the dashboard's totals, the event rate included. Each stream reads the
//! supervisor's status snapshot; it holds no lock between ticks.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};

use super::admin_pages::{WorkerRowsFragment, worker_rows, worker_totals};
use super::session::{Chrome, Viewer};
use crate::state::{AppState, Shared};

/// Time between two updates.
const EVERY: Duration = Duration::from_secs(1);

fn events_stored(st: &AppState) -> u64 {
    st.supervisor
        .all()
        .iter()
        .map(|(_, s)| s.events_stored)
        .sum()
}

struct Tick {
    st: Shared,
    caller: crate::domain::auth::Caller,
    c: Chrome,
    actions: bool,
    last_events: u64,
    first: bool,
}

fn update(t: &mut Tick) -> Vec<Event> {
    let workers = match crate::domain::auth::admin_scope(&t.st, &t.caller) {
        Ok(admin) => worker_rows(&t.c.t, &t.st, &admin),
        Err(_) => Vec::new(),
    };
    let rows = WorkerRowsFragment {
        c: t.c.clone(),
        workers,
        actions: t.actions,
    }
    .render()
    .unwrap_or_default();
    let (running, trouble) = worker_totals(&t.st);
    let events = events_stored(&t.st);
    let rate = if t.first {
        "–".to_string()
    } else {
        t.c.t
            .num(events.saturating_sub(t.last_events) / EVERY.as_secs().max(1))
    };
    t.last_events = events;
    t.first = false;
    let totals = serde_json::json!({
        "running": t.c.t.num(running),
        "trouble": t.c.t.num(trouble),
        "rate": rate,
    });
    vec![
        Event::default().event("rows").data(rows),
        Event::default().event("totals").data(totals.to_string()),
    ]
}

fn ticks(t: Tick) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(
        (t, tokio::time::interval(EVERY)),
        |(mut t, mut every)| async move {
            every.tick().await;
            let events = update(&mut t);
            Some((stream::iter(events.into_iter().map(Ok)), (t, every)))
        },
    )
    .flat_map(|s| s)
}

/// The workers' live rows (admins; anyone else gets a missing page).
#[derive(serde::Deserialize)]
pub struct LiveQuery {
    #[serde(default)]
    actions: bool,
}

pub async fn workers(
    State(st): State<Shared>,
    v: Viewer,
    axum::extract::Query(q): axum::extract::Query<LiveQuery>,
) -> Response {
    if !v.is_admin() {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    let tick = Tick {
        c: v.page("workers"),
        actions: q.actions,
        caller: v.caller.clone(),
        last_events: 0,
        first: true,
        st,
    };
    Sse::new(ticks(tick))
        .keep_alive(KeepAlive::default())
        .into_response()
}
