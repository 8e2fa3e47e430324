//! The Backups page (admins): the folder's backups with downloads, how the last one went,
//! the schedule the configuration sets, and "Back up now" (with the master key, sealed, when
//! a passphrase is given).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::DoneQuery;
use super::admin_pages::admins_only;
use super::session::{Chrome, Viewer};
use super::{error_text, render};
use crate::domain::backup::Passphrase;
use crate::http::backup_routes::{backup_file, backups_view, spawn_backup, stream_file};
use crate::state::Shared;

struct Row {
    name: String,
    when: String,
    size: String,
    sealed: bool,
}

#[derive(Template)]
#[template(path = "console/backups.html")]
struct BackupsPage {
    c: Chrome,
    notice: Option<String>,
    error: Option<String>,
    running: Option<String>,
    /// `made` or `failed`, with when, and the size or the reason.
    last: Option<(String, String, String)>,
    dir: String,
    daily_at: Option<String>,
    keep_daily: u32,
    keep_weekly: u32,
    rows: Vec<Row>,
}

fn page(st: &Shared, v: &Viewer, notice: Option<String>, error: Option<String>) -> Response {
    let t = &v.chrome.t;
    let view = match backups_view(st) {
        Ok(view) => view,
        Err(e) => return render_error(st, v, &e),
    };
    let (running, last) = st.backups.read();
    let last = last.map(|o| match o {
        crate::domain::backup::status::Outcome::Made {
            at, bytes, secs, ..
        } => (
            "made".to_string(),
            t.when(at),
            // Whole seconds, at least one, in the reader's units.
            format!(
                "{} · {}",
                t.bytes(bytes),
                t.span((secs.ceil() as i64).max(1))
            ),
        ),
        crate::domain::backup::status::Outcome::Failed { at, error } => {
            ("failed".to_string(), t.when(at), error)
        }
    });
    let rows = crate::domain::backup::list(&st.config.backup_dir())
        .unwrap_or_default()
        .into_iter()
        .map(|b| Row {
            when: t.when(b.made_at),
            size: t.bytes(b.bytes),
            sealed: b.sealed,
            name: b.name,
        })
        .collect();
    render(&BackupsPage {
        notice,
        error,
        running: running.map(|at| t.when(at)),
        last,
        dir: view.dir,
        daily_at: view.daily_at,
        keep_daily: view.keep_daily,
        keep_weekly: view.keep_weekly,
        rows,
        c: v.page("backups"),
    })
}

fn render_error(st: &Shared, v: &Viewer, e: &crate::error::AppError) -> Response {
    let _ = st;
    let mut r = super::message(
        v.page("backups"),
        crate::http::error::status_of(e),
        v.chrome.t.s("error.title"),
        &error_text(&v.chrome, e),
        "/console",
    );
    *r.status_mut() = crate::http::error::status_of(e);
    r
}

pub async fn show(State(st): State<Shared>, v: Viewer, Query(q): Query<DoneQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = q.notice(&v.chrome.t, &[("started", "backup.started")]);
    page(&st, &v, notice, None)
}

#[derive(Deserialize)]
pub struct BackupForm {
    #[serde(default)]
    passphrase: String,
}

pub async fn start(State(st): State<Shared>, v: Viewer, Form(f): Form<BackupForm>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let seal = match f.passphrase.trim() {
        "" => None,
        p => match Passphrase::new(p) {
            Ok(p) => Some(p),
            Err(e) => return failed(&st, &v, e.into()),
        },
    };
    match spawn_backup(&st, seal) {
        Ok(()) => Redirect::to("/console/backups?done=started").into_response(),
        Err(e) => failed(&st, &v, e.into()),
    }
}

fn failed(st: &Shared, v: &Viewer, e: crate::error::AppError) -> Response {
    let text = error_text(&v.chrome, &e);
    let mut r = page(st, v, None, Some(text));
    *r.status_mut() = crate::http::error::status_of(&e);
    r
}

pub async fn download(State(st): State<Shared>, v: Viewer, Path(name): Path<String>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match backup_file(&st, &name) {
        Ok(path) => match stream_file(&path, &name).await {
            Ok(r) => r,
            Err(e) => render_error(&st, &v, &e),
        },
        Err(e) => render_error(&st, &v, &e),
    }
}
