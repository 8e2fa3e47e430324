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

/// Rows rendered within this long are shared by every stream that reads them alike.
const FRESH: Duration = Duration::from_millis(900);

/// Who reads rows alike: the same server, language, time zone and actions.
type RowsKey = (usize, crate::i18n::Language, String, bool);

/// The workers' rows rendered once a tick for all the streams that read them alike, so 200
/// open dashboards cost one render a second rather than 200.
static RENDERED: std::sync::Mutex<Vec<(RowsKey, std::time::Instant, std::sync::Arc<str>)>> =
    std::sync::Mutex::new(Vec::new());

fn rows_for(t: &Tick, admin: &botyard_shards::AdminScope<'_>) -> std::sync::Arc<str> {
    let key: RowsKey = (
        std::sync::Arc::as_ptr(&t.st) as usize,
        t.c.t.lang,
        t.c.t.zone.iana_name().unwrap_or("").to_string(),
        t.actions,
    );
    {
        let mut cache = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|(_, at, _)| at.elapsed() < FRESH);
        if let Some((_, _, rows)) = cache.iter().find(|(k, _, _)| *k == key) {
            return rows.clone();
        }
    }
    // Rendered outside the lock: the others wait for nothing, at worst a few render twice.
    let rows: std::sync::Arc<str> = WorkerRowsFragment {
        c: t.c.clone(),
        workers: worker_rows(&t.c.t, &t.st, admin),
        actions: t.actions,
    }
    .render()
    .unwrap_or_default()
    .into();
    RENDERED.lock().unwrap_or_else(|p| p.into_inner()).push((
        key,
        std::time::Instant::now(),
        rows.clone(),
    ));
    rows
}

fn update(t: &mut Tick) -> Vec<Event> {
    let rows = match crate::domain::auth::admin_scope(&t.st, &t.caller) {
        Ok(admin) => rows_for(t, &admin),
        Err(_) => std::sync::Arc::from(""),
    };
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
        Event::default().event("rows").data(&*rows),
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
