//! Support requests in the console and the Mini-App: a tenant's people list theirs, open one
//! (with an attachment: the forms are multipart), read a thread, answer, resolve or reopen,
//! and send feedback; the reseller reads the inbox and answers. Logic is in `domain::support`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use botyard_shards::TenantScope;
use botyard_shards::ids::{TenantId, TicketId};
use botyard_shards::records::{TicketKindRec, TicketMessageRec, TicketRec, TicketStateRec};
use serde::Deserialize;

use super::admin_pages::admins_only;
use super::authorize::{self, Want};
use super::session::{Chrome, Viewer};
use super::{DoneQuery, error_page, error_text, render};
use crate::domain::support::{self, Message, Side, Upload};
use crate::error::{AppError, AppResult};
use crate::state::{Shared, blocking};

/// A multipart form's text fields and its file.
struct Sent {
    fields: std::collections::HashMap<String, String>,
    file: Option<Upload>,
}

impl Sent {
    fn get(&self, k: &str) -> &str {
        self.fields.get(k).map_or("", String::as_str)
    }

    fn message(self) -> Message {
        Message {
            body: self.get("body").to_string(),
            file: self.file,
        }
    }
}

/// Reads a form sent as `multipart/form-data` (or as a plain form, without a file).
async fn read_form(headers: &HeaderMap, body: axum::body::Bytes) -> AppResult<Sent> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut sent = Sent {
        fields: Default::default(),
        file: None,
    };
    if !ct.starts_with("multipart/form-data") {
        for (k, v) in form_urlencoded::parse(&body) {
            sent.fields.insert(k.into_owned(), v.into_owned());
        }
        return Ok(sent);
    }
    let unreadable = |e: multer::Error| AppError::BadRequest {
        code: "request.bad_form",
        message: format!("the form could not be read: {e}"),
    };
    let boundary = multer::parse_boundary(ct).map_err(unreadable)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if !bytes.is_empty() {
                    sent.file = Some(Upload {
                        name: file_name,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            None => {
                if sent.fields.len() < 16 {
                    let text = field.text().await.map_err(unreadable)?;
                    sent.fields.insert(name, text);
                }
            }
        }
    }
    Ok(sent)
}

pub struct Row {
    pub id: u64,
    pub tenant: u64,
    pub tenant_name: String,
    pub subject: String,
    pub state: &'static str,
    pub when: String,
    pub messages: u32,
}

fn state_key(s: TicketStateRec) -> &'static str {
    match s {
        TicketStateRec::Open => "support.state_open",
        TicketStateRec::Waiting => "support.state_waiting",
        TicketStateRec::Resolved => "support.state_resolved",
    }
}

fn row(c: &Chrome, id: TicketId, t: &TicketRec, tenant_name: String) -> Row {
    Row {
        id: id.0,
        tenant: t.tenant.0,
        tenant_name,
        subject: t.subject.clone(),
        state: state_key(t.state),
        when: c.t.when(t.updated_at),
        messages: t.messages,
    }
}

#[derive(Template)]
#[template(path = "console/support.html")]
struct ListPage {
    c: Chrome,
    id: u64,
    rows: Vec<Row>,
    notice: Option<String>,
    error: Option<String>,
    subject: String,
    body: String,
    screen: String,
    limit_kb: usize,
}

pub struct Msg {
    pub n: usize,
    pub staff: bool,
    pub when: String,
    pub body: String,
    pub file: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/support_thread.html")]
struct ThreadPage {
    c: Chrome,
    /// Where this thread's forms post (`/console/support/7` or `…/tenants/3/support/7`).
    base: String,
    staff: bool,
    tenant: u64,
    tenant_name: String,
    subject: String,
    state: &'static str,
    resolved: bool,
    feedback: bool,
    context: String,
    messages: Vec<Msg>,
    notice: Option<String>,
    error: Option<String>,
    limit_kb: usize,
}

const NOTICES: &[(&str, &str)] = &[
    ("opened", "support.opened"),
    ("sent", "support.sent"),
    ("state", "support.state_saved"),
    ("feedback", "support.feedback_thanks"),
];

/// Runs `f` with the scope once it is granted, in a blocking task.
async fn on_scope<T: Send + 'static>(
    granted: AppResult<TenantScope>,
    f: impl FnOnce(&TenantScope) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let scope = granted?;
    blocking(move || f(&scope)).await
}

/// A thread as the page shows it.
fn thread_page(
    c: Chrome,
    base: String,
    staff: bool,
    tenant: (TenantId, String),
    t: TicketRec,
    messages: Vec<TicketMessageRec>,
) -> ThreadPage {
    let messages = messages
        .into_iter()
        .enumerate()
        .map(|(n, m)| Msg {
            n,
            staff: m.staff,
            when: c.t.when(m.at),
            body: m.body,
            file: m
                .attachment
                .map(|a| (a.name, format!("{} KB", a.size.div_ceil(1024)))),
        })
        .collect();
    ThreadPage {
        base,
        staff,
        tenant: tenant.0.0,
        tenant_name: tenant.1,
        subject: t.subject,
        state: state_key(t.state),
        resolved: t.state == TicketStateRec::Resolved,
        feedback: t.kind == TicketKindRec::Feedback,
        context: t.context,
        messages,
        notice: None,
        error: None,
        limit_kb: support::ATTACHMENT_MAX / 1024,
        c,
    }
}

/// A thread read through `scope`, with the tenant's id and name.
type Thread = ((TenantId, String), TicketRec, Vec<TicketMessageRec>);

async fn read_thread(scope: TenantScope, tid: u64) -> AppResult<Thread> {
    blocking(move || {
        let (t, m) = support::thread(&scope, TicketId(tid))?;
        Ok(((scope.tenant_id(), scope.record().name.clone()), t, m))
    })
    .await
}

// ---- a tenant's side ----

async fn list_page(
    st: &Shared,
    v: &Viewer,
    id: u64,
    notice: Option<String>,
    error: Option<(String, String, String)>,
    screen: String,
) -> Response {
    let scope = match authorize::tenant(st, v, id, Want::Read).await {
        Ok(s) => s,
        Err(e) => return error_page(v.tenant_page(), e),
    };
    let tickets = match blocking(move || Ok(scope.catalog_read()?.tickets(100)?)).await {
        Ok(t) => t,
        Err(e) => return error_page(v.tenant_page(), e),
    };
    let c = v.tenant_page();
    let rows = tickets
        .iter()
        .filter(|(_, t)| t.kind == TicketKindRec::Support)
        .map(|(tid, t)| row(&c, *tid, t, String::new()))
        .collect();
    let (error, subject, body) = match error {
        Some((e, s, b)) => (Some(e), s, b),
        None => (None, String::new(), String::new()),
    };
    render(&ListPage {
        id,
        rows,
        notice,
        error,
        subject,
        body,
        screen,
        limit_kb: support::ATTACHMENT_MAX / 1024,
        c,
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    /// The screen the reader came from, carried into the request's context.
    from: Option<String>,
}

pub async fn list(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<ListQuery>,
) -> Response {
    let notice = DoneQuery { done: q.done }.notice(&v.chrome.t, NOTICES);
    let screen: String = q
        .from
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(200)
        .collect();
    list_page(&st, &v, id, notice, None, screen).await
}

fn refused_status(mut r: Response, e: &AppError) -> Response {
    *r.status_mut() = crate::http::error::status_of(e);
    r
}

pub async fn open(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let sent = match read_form(&headers, body).await {
        Ok(s) => s,
        Err(e) => return error_page(v.tenant_page(), e),
    };
    let (subject, text, screen) = (
        sent.get("subject").to_string(),
        sent.get("body").to_string(),
        sent.get("screen").to_string(),
    );
    let (st2, subject2, screen2) = (st.clone(), subject.clone(), screen.clone());
    let made = on_scope(
        authorize::tenant(&st, &v, id, Want::Read).await,
        move |scope| {
            support::open(
                &st2,
                scope,
                TicketKindRec::Support,
                &subject2,
                sent.message(),
                &screen2,
            )
        },
    )
    .await;
    match made {
        Ok(tid) => Redirect::to(&format!(
            "{}/tenants/{id}/support/{}?done=opened",
            v.chrome.root, tid.0
        ))
        .into_response(),
        Err(e) => {
            let text_e = error_text(&v.chrome, &e);
            let r = list_page(&st, &v, id, None, Some((text_e, subject, text)), screen).await;
            refused_status(r, &e)
        }
    }
}

async fn tenant_thread(
    st: &Shared,
    v: &Viewer,
    id: u64,
    tid: u64,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let read = match authorize::tenant(st, v, id, Want::Read).await {
        Ok(scope) => read_thread(scope, tid).await,
        Err(e) => Err(e),
    };
    match read {
        Ok((tenant, t, m)) => {
            let base = format!("{}/tenants/{id}/support/{tid}", v.chrome.root);
            let mut page = thread_page(v.tenant_page(), base, false, tenant, t, m);
            page.notice = notice;
            page.error = error;
            render(&page)
        }
        Err(e) => error_page(v.tenant_page(), e),
    }
}

pub async fn thread(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, tid)): Path<(u64, u64)>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let notice = q.notice(&v.chrome.t, NOTICES);
    tenant_thread(&st, &v, id, tid, notice, None).await
}

pub async fn answer(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, tid)): Path<(u64, u64)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let sent = match read_form(&headers, body).await {
        Ok(s) => s,
        Err(e) => return error_page(v.tenant_page(), e),
    };
    let st2 = st.clone();
    let done = on_scope(
        authorize::tenant(&st, &v, id, Want::Read).await,
        move |scope| {
            support::reply(
                &st2,
                scope,
                TicketId(tid),
                Side::Tenant,
                sent.message(),
                false,
            )
        },
    )
    .await;
    match done {
        Ok(_) => Redirect::to(&format!(
            "{}/tenants/{id}/support/{tid}?done=sent",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let r = tenant_thread(&st, &v, id, tid, None, Some(text)).await;
            refused_status(r, &e)
        }
    }
}

#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    resolved: String,
}

pub async fn set_state(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, tid)): Path<(u64, u64)>,
    axum::Form(f): axum::Form<StateForm>,
) -> Response {
    let st2 = st.clone();
    let resolved = f.resolved == "1";
    let done = on_scope(
        authorize::tenant(&st, &v, id, Want::Read).await,
        move |scope| support::set_state(&st2, scope, TicketId(tid), resolved),
    )
    .await;
    match done {
        Ok(_) => Redirect::to(&format!(
            "{}/tenants/{id}/support/{tid}?done=state",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => error_page(v.tenant_page(), e),
    }
}

/// An attachment, served as a download that cannot run in the page.
fn download(name: &str, mime: &str, bytes: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        crate::http::download::disposition(name),
    );
    // `nosniff` comes with every answer; a file opened anyway still runs nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

async fn serve_file(scope: TenantScope, tid: u64, n: u32) -> AppResult<Response> {
    let (rec, bytes) = blocking(move || support::file(&scope, TicketId(tid), n)).await?;
    Ok(download(&rec.name, &rec.mime, bytes))
}

pub async fn file(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, tid, n)): Path<(u64, u64, u32)>,
) -> Response {
    let served = match authorize::tenant(&st, &v, id, Want::Read).await {
        Ok(scope) => serve_file(scope, tid, n).await,
        Err(e) => Err(e),
    };
    served.unwrap_or_else(|e| error_page(v.tenant_page(), e))
}

#[derive(Template)]
#[template(path = "console/feedback.html")]
struct FeedbackPage {
    c: Chrome,
    id: u64,
    notice: Option<String>,
    error: Option<String>,
    body: String,
}

pub async fn feedback_form(
    State(_st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let notice = q.notice(&v.chrome.t, NOTICES);
    render(&FeedbackPage {
        c: v.tenant_page(),
        id,
        notice,
        error: None,
        body: String::new(),
    })
}

#[derive(Deserialize)]
pub struct FeedbackForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    screen: String,
}

pub async fn send_feedback(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    axum::Form(f): axum::Form<FeedbackForm>,
) -> Response {
    let kept = f.body.clone();
    let st2 = st.clone();
    let done = on_scope(
        authorize::tenant(&st, &v, id, Want::Read).await,
        move |scope| {
            support::open(
                &st2,
                scope,
                TicketKindRec::Feedback,
                "",
                Message {
                    body: f.body,
                    file: None,
                },
                &f.screen,
            )
        },
    )
    .await;
    match done {
        Ok(_) => Redirect::to(&format!(
            "{}/tenants/{id}/feedback?done=feedback",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => {
            let page = FeedbackPage {
                error: Some(error_text(&v.chrome, &e)),
                c: v.tenant_page(),
                id,
                notice: None,
                body: kept.chars().take(support::BODY_MAX).collect(),
            };
            refused_status(render(&page), &e)
        }
    }
}

// ---- the reseller's side ----

#[derive(Template)]
#[template(path = "console/support_inbox.html")]
struct InboxPage {
    c: Chrome,
    show: &'static str,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
pub struct InboxQuery {
    show: Option<String>,
}

pub async fn inbox(State(st): State<Shared>, v: Viewer, Query(q): Query<InboxQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let show: &'static str = match q.show.as_deref() {
        Some("waiting") => "waiting",
        Some("resolved") => "resolved",
        Some("feedback") => "feedback",
        _ => "open",
    };
    let (kind, states): (TicketKindRec, &'static [TicketStateRec]) = match show {
        "waiting" => (TicketKindRec::Support, &[TicketStateRec::Waiting]),
        "resolved" => (TicketKindRec::Support, &[TicketStateRec::Resolved]),
        "feedback" => (
            TicketKindRec::Feedback,
            &[
                TicketStateRec::Open,
                TicketStateRec::Waiting,
                TicketStateRec::Resolved,
            ],
        ),
        _ => (TicketKindRec::Support, &[TicketStateRec::Open]),
    };
    let st2 = st.clone();
    let found = blocking(move || {
        let list = st2.store.catalog_read()?.inbox(kind, states, 200)?;
        let admin = st2.store.system_admin();
        Ok(list
            .into_iter()
            .map(|(id, t)| {
                let name = admin
                    .tenant(t.tenant)
                    .map_or_else(|_| format!("#{}", t.tenant), |s| s.record().name.clone());
                (id, t, name)
            })
            .collect::<Vec<_>>())
    })
    .await;
    let c = v.page("support");
    match found {
        Ok(list) => {
            let rows = list
                .into_iter()
                .map(|(id, t, name)| row(&c, id, &t, name))
                .collect();
            render(&InboxPage { c, show, rows })
        }
        Err(e) => error_page(c, e),
    }
}

/// The tenant scope of a request, for an admin.
async fn admin_scope(st: &Shared, v: &Viewer, tid: u64) -> AppResult<TenantScope> {
    let tenant = st
        .store
        .catalog_read()?
        .ticket_tenant(TicketId(tid))?
        .ok_or(AppError::NotFound("support request"))?;
    authorize::tenant(st, v, tenant.0, Want::Read).await
}

async fn staff_thread(
    st: &Shared,
    v: &Viewer,
    tid: u64,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let read = match admin_scope(st, v, tid).await {
        Ok(scope) => read_thread(scope, tid).await,
        Err(e) => Err(e),
    };
    match read {
        Ok((tenant, t, m)) => {
            let base = format!("/console/support/{tid}");
            let mut page = thread_page(v.page("support"), base, true, tenant, t, m);
            page.notice = notice;
            page.error = error;
            render(&page)
        }
        Err(e) => error_page(v.page("support"), e),
    }
}

pub async fn staff_view(
    State(st): State<Shared>,
    v: Viewer,
    Path(tid): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = q.notice(&v.chrome.t, NOTICES);
    staff_thread(&st, &v, tid, notice, None).await
}

pub async fn staff_answer(
    State(st): State<Shared>,
    v: Viewer,
    Path(tid): Path<u64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let sent = match read_form(&headers, body).await {
        Ok(s) => s,
        Err(e) => return error_page(v.page("support"), e),
    };
    let resolve = sent.get("resolve") == "1";
    let st2 = st.clone();
    let done = on_scope(admin_scope(&st, &v, tid).await, move |scope| {
        support::reply(
            &st2,
            scope,
            TicketId(tid),
            Side::Staff,
            sent.message(),
            resolve,
        )
    })
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/console/support/{tid}?done=sent")).into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let r = staff_thread(&st, &v, tid, None, Some(text)).await;
            refused_status(r, &e)
        }
    }
}

pub async fn staff_state(
    State(st): State<Shared>,
    v: Viewer,
    Path(tid): Path<u64>,
    axum::Form(f): axum::Form<StateForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let st2 = st.clone();
    let resolved = f.resolved == "1";
    let done = on_scope(admin_scope(&st, &v, tid).await, move |scope| {
        support::set_state(&st2, scope, TicketId(tid), resolved)
    })
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/console/support/{tid}?done=state")).into_response(),
        Err(e) => error_page(v.page("support"), e),
    }
}

pub async fn staff_file(
    State(st): State<Shared>,
    v: Viewer,
    Path((tid, n)): Path<(u64, u32)>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let served = match admin_scope(&st, &v, tid).await {
        Ok(scope) => serve_file(scope, tid, n).await,
        Err(e) => Err(e),
    };
    served.unwrap_or_else(|e| error_page(v.page("support"), e))
}
