//! Marketing mail (admins): write one with a preview, see who it would reach (owners who
//! opted in, of the tenants the filters keep), send it paced, and follow its progress.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use botyard_shards::ids::{AccountId, MailingId};
use botyard_shards::records::{Language, MailingRec};
use serde::Deserialize;

use super::DoneQuery;
use super::admin_pages::admins_only;
use super::session::{Chrome, Viewer};
use super::{error_page, error_text, render};
use crate::domain::mail::marketing::{self, Reader};
use crate::state::{Shared, blocking};

struct Row {
    id: u64,
    subject: String,
    when: String,
    progress: String,
}

#[derive(Template)]
#[template(path = "console/marketing.html")]
struct MarketingPage {
    c: Chrome,
    error: Option<String>,
    subject: String,
    html: String,
    plans: Vec<(u64, String)>,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "console/mailing.html")]
struct MailingPage {
    c: Chrome,
    id: u64,
    subject: String,
    notice: Option<String>,
    error: Option<String>,
    sent: bool,
    readers: usize,
    readers_text: String,
    total: u32,
    done: u32,
    progress_text: String,
}

fn progress_text(c: &Chrome, m: &MailingRec, p: [u32; 3]) -> String {
    c.t.s("mkt.progress_line")
        .replace("{sent}", &p[1].to_string())
        .replace("{total}", &m.recipients.to_string())
        .replace("{queued}", &p[0].to_string())
        .replace("{failed}", &p[2].to_string())
}

async fn list(
    st: &Shared,
    v: &Viewer,
    error: Option<String>,
    subject: String,
    html: String,
) -> Response {
    let store = st.store.clone();
    let found = blocking(move || {
        let c = store.catalog_read()?;
        let plans: Vec<(u64, String)> = c
            .plans()?
            .into_iter()
            .map(|(id, p)| (id.0, p.name))
            .collect();
        let mut rows = Vec::new();
        for (id, m) in c.mailings(100)? {
            let p = marketing::progress(&store, &m)?;
            rows.push((id, m, p));
        }
        Ok((plans, rows))
    })
    .await;
    let (plans, rows) = match found {
        Ok(f) => f,
        Err(e) => return error_page(v.page("marketing"), e),
    };
    let chrome = v.page("marketing");
    let rows = rows
        .into_iter()
        .map(|(id, m, p)| Row {
            id: id.0,
            subject: m.subject.clone(),
            when: chrome.t.when(m.sent_at.unwrap_or(m.created_at)),
            progress: if m.sent_at.is_some() {
                progress_text(&chrome, &m, p)
            } else {
                chrome.t.s("mkt.draft").to_string()
            },
        })
        .collect();
    render(&MarketingPage {
        c: chrome,
        error,
        subject,
        html,
        plans,
        rows,
    })
}

pub async fn show(State(st): State<Shared>, v: Viewer) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    list(&st, &v, None, String::new(), String::new()).await
}

#[derive(Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    html: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    language: String,
}

pub async fn create(State(st): State<Shared>, v: Viewer, Form(f): Form<DraftForm>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let plan = match f.plan.trim() {
        "" => Ok(None),
        p => p
            .parse::<u64>()
            .map(Some)
            .map_err(|_| crate::error::AppError::invalid("plan", "a plan from the list")),
    };
    let made = match plan.and_then(|p| marketing::filter(p, f.status.trim(), f.language.trim())) {
        Ok(filter) => marketing::create(&st, v.account, &f.subject, &f.html, filter).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(id) => Redirect::to(&format!("/console/marketing/{}", id.0)).into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let mut r = list(&st, &v, Some(text), f.subject, f.html).await;
            *r.status_mut() = crate::http::error::status_of(&e);
            r
        }
    }
}

async fn detail(
    st: &Shared,
    v: &Viewer,
    id: u64,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let store = st.store.clone();
    let found = blocking(move || {
        let m = store
            .catalog_read()?
            .mailing(MailingId(id))?
            .ok_or(crate::error::AppError::NotFound("mailing"))?;
        let p = marketing::progress(&store, &m)?;
        let readers = if m.sent_at.is_none() {
            marketing::readers(&store, &m.filter)?.len()
        } else {
            0
        };
        Ok((m, p, readers))
    })
    .await;
    let (m, p, readers) = match found {
        Ok(f) => f,
        Err(e) => return error_page(v.page("marketing"), e),
    };
    let c = v.page("marketing");
    render(&MailingPage {
        id,
        subject: m.subject.clone(),
        notice,
        error,
        sent: m.sent_at.is_some(),
        readers,
        readers_text: c
            .t
            .s("mkt.readers_line")
            .replace("{n}", &readers.to_string()),
        total: m.recipients.max(1),
        done: p[1] + p[2],
        progress_text: progress_text(&c, &m, p),
        c,
    })
}

pub async fn mailing(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = (q.done.as_deref() == Some("sent")).then(|| v.chrome.t.s("mkt.sent").to_string());
    detail(&st, &v, id, notice, None).await
}

pub async fn send(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match marketing::send(&st, v.account, MailingId(id)).await {
        Ok(_) => Redirect::to(&format!("/console/marketing/{id}?done=sent")).into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let mut r = detail(&st, &v, id, None, Some(text)).await;
            *r.status_mut() = crate::http::error::status_of(&e);
            r
        }
    }
}

/// The mail as a reader sees it (a sample reader, the link not signed): its own page, framed
/// by the console, with a policy that runs nothing and loads only images.
pub async fn preview(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let m = match st
        .store
        .catalog_read()
        .and_then(|c| c.mailing(MailingId(id)))
    {
        Ok(Some(m)) => m,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return error_page(v.page("marketing"), e.into()),
    };
    let lang = m.filter.language.unwrap_or(v.chrome.t.lang);
    let sample = Reader {
        account: AccountId(0),
        email: "ornek@example.com".into(),
        language: lang,
        tenant: match lang {
            Language::Tr => "Örnek Çiçekçi".into(),
            Language::En => "Sample Shop".into(),
        },
        plan: "Esnaf".into(),
    };
    let ctx = crate::domain::mail::notices::MailCtx::of(&st);
    let letter = marketing::letter(&m, &sample, &format!("{}/unsubscribe", ctx.brand.base_url));
    match crate::domain::mail::letter::render(&letter, &ctx.brand, lang) {
        Ok(r) => {
            let mut resp = axum::response::Html(r.html).into_response();
            resp.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'self'; sandbox",
                ),
            );
            resp
        }
        Err(e) => error_page(v.page("marketing"), e),
    }
}
