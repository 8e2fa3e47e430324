//! The admin's pages: dashboard, tenants, workers, plans, audit. A tenant's people reach only
//! `home` here, which lists their tenants; every other page answers them 404.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::ids::{PlanId, TenantId};
use botyard_shards::records::{PlanLimits, Role, TenantStatus};
use botyard_shards::{AdminScope, search_fold};

use super::DoneQuery;
use super::session::{Chrome, Tr, Viewer};
use super::{error_page, error_text, render};
use crate::domain::auth::normalize_email;
use crate::domain::tenancy;
use crate::error::{AppError, AppResult};
use crate::runtime::supervisor::{WorkerKey, WorkerState, WorkerStatus};
use crate::state::{AppState, Shared, blocking};

/// Pages only admins see answer everyone else as a missing page.
/// A worker state's catalogue key.
pub(super) fn state_key(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Starting => "state.starting",
        WorkerState::Running => "state.running",
        WorkerState::Backoff => "state.backoff",
        WorkerState::Quarantined => "state.quarantined",
        WorkerState::Stopped => "state.stopped",
    }
}

/// A missing page for anyone but an admin.
pub(super) fn admins_only(v: &Viewer) -> Option<Response> {
    if v.is_admin() {
        None
    } else {
        Some(super::message(
            v.page(""),
            StatusCode::NOT_FOUND,
            v.chrome.t.s("error.title"),
            v.chrome.t.s("error.not_found"),
            "/console",
        ))
    }
}

// ---- dashboard ----

pub struct DashFacts {
    pub posts_sent: u64,
    pub posts_failed: u64,
    pub tenants_active: u64,
    pub tenants_suspended: u64,
    pub workers_running: u64,
    pub workers_trouble: u64,
    pub event_rate: String,
    pub disk_bytes: u64,
    pub files: Vec<(String, u64)>,
}

pub struct AuditRow {
    pub at: String,
    pub action: String,
    pub tenant: Option<u64>,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    d: DashFacts,
    workers: Vec<WorkerRow>,
    actions: bool,
    audit: Vec<AuditRow>,
    alerts: Vec<AlertRow>,
    open_alerts: u64,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    c: Chrome,
    tenants: Vec<(u64, String, String)>,
}

/// An alert as the console shows it.
pub struct AlertRow {
    pub id: u64,
    pub at: String,
    /// The catalogue key of its kind's title.
    pub title_key: &'static str,
    pub tenant: Option<u64>,
    pub subject: String,
    pub detail: String,
    pub acked: Option<String>,
}

pub fn alert_rows(
    t: &Tr,
    st: &AppState,
    open_only: bool,
    limit: usize,
) -> AppResult<Vec<AlertRow>> {
    Ok(crate::domain::alerts::list(&st.store, open_only, limit)?
        .into_iter()
        .map(|(id, r)| AlertRow {
            id: id.0,
            at: t.when(r.at),
            title_key: alert_title_key(&r.kind),
            tenant: r.tenant.map(|x| x.0),
            subject: r.subject,
            detail: r.detail,
            acked: r.acked_at.map(|at| t.when(at)),
        })
        .collect())
}

/// The catalogue key naming an alert kind.
pub fn alert_title_key(kind: &str) -> &'static str {
    use crate::domain::alerts as a;
    match kind {
        a::WORKER_QUARANTINED => "alert.worker_quarantined",
        a::SESSION_REVOKED => "alert.session_revoked",
        a::CAMPAIGN_PAUSED => "alert.campaign_paused",
        a::DISK_LOW => "alert.disk_low",
        a::FLOOD_WAIT => "alert.flood_wait",
        a::POSTS_FAILING => "alert.failure_rate",
        a::GROUP_REMOVED => "alert.group_removed",
        crate::runtime::tls::acme::RENEWAL_FAILED => "alert.tls_renewal_failed",
        crate::domain::backup::schedule::BACKUP_FAILED => "alert.backup_failed",
        crate::domain::billing::stars::FORGED_PAYMENT => "alert.forged_payment",
        crate::domain::billing::stars::ORPHAN_PAYMENT => "alert.orphan_payment",
        crate::domain::billing::stars::RECONCILIATION => "alert.reconciliation",
        crate::domain::billing::stars::RENEWALS_NOT_FOLLOWED => "alert.stars_renewals",
        _ => "alert.other",
    }
}

pub fn audit_rows(t: &Tr, st: &AppState, limit: usize) -> AppResult<Vec<AuditRow>> {
    Ok(st
        .store
        .catalog_read()?
        .audit_tail(limit)?
        .into_iter()
        .map(|(_, a)| AuditRow {
            at: t.when(a.at),
            action: a.action,
            tenant: a.tenant.map(|x| x.0),
            detail: a.detail,
        })
        .collect())
}

pub async fn home(State(st): State<Shared>, v: Viewer) -> Response {
    if !v.is_admin() {
        return owner_home(st, v).await;
    }
    let t = v.chrome.t.clone();
    let st2 = st.clone();
    let caller = v.caller.clone();
    let facts = blocking(move || {
        let admin = crate::domain::auth::admin_scope(&st2, &caller)?;
        let o = crate::domain::overview::get(
            &st2.overview,
            &st2.store,
            &st2.config.data_dir,
            st2.now(),
        )?;
        let audit = audit_rows(&t, &st2, 10)?;
        let alerts = alert_rows(&t, &st2, true, 5)?;
        let open_alerts = st2.store.catalog_read()?.open_alert_count()?;
        let workers = worker_rows(&t, &st2, &admin);
        Ok((o, audit, alerts, open_alerts, workers))
    })
    .await;
    let (o, audit, alerts, open_alerts, workers) = match facts {
        Ok(f) => f,
        Err(e) => return error_page(v.page("dashboard"), e),
    };
    let (running, trouble) = worker_totals(&st);
    let page = DashboardPage {
        d: DashFacts {
            posts_sent: o.posts_today.0,
            posts_failed: o.posts_today.1,
            tenants_active: o.tenants_active,
            tenants_suspended: o.tenants_suspended,
            workers_running: running,
            workers_trouble: trouble,
            event_rate: "–".into(),
            disk_bytes: o.files.iter().map(|f| f.1).sum(),
            files: o.files.clone(),
        },
        workers,
        actions: false,
        audit,
        alerts,
        open_alerts,
        c: v.page("dashboard"),
    };
    render(&page)
}

/// A tenant's person: their tenants (one goes straight to its page).
pub(super) async fn owner_home(st: Shared, v: Viewer) -> Response {
    let st2 = st.clone();
    let caller = v.caller.clone();
    let tenants = blocking(move || {
        let mut out = Vec::new();
        for (tid, role) in caller.principal.memberships() {
            if let Ok(scope) = st2.store.scope(&caller.principal, *tid) {
                out.push((
                    tid.0,
                    scope.record().name.clone(),
                    format!("{role:?}").to_lowercase(),
                ));
            }
        }
        Ok(out)
    })
    .await;
    match tenants {
        Ok(t) if t.len() == 1 => {
            Redirect::to(&format!("{}/tenants/{}", v.chrome.root, t[0].0)).into_response()
        }
        Ok(tenants) => render(&HomePage {
            c: v.page("dashboard"),
            tenants,
        }),
        Err(e) => error_page(v.page("dashboard"), e),
    }
}

// ---- workers ----

pub struct WorkerRow {
    pub key: String,
    pub name: String,
    pub tenant: Option<u64>,
    pub state: &'static str,
    pub state_key: &'static str,
    pub pid: Option<u32>,
    pub uptime: String,
    pub restarts: u32,
    pub memory: String,
    /// The memory samples as a small SVG (numbers only, so it is safe to embed).
    pub memory_spark: String,
    pub cpu: String,
    pub sandbox: String,
}

/// A sparkline of `values` as an inline SVG polyline, 60×16, scaled to its own maximum.
pub fn sparkline(values: &[f64]) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let max = values.iter().cloned().fold(f64::MIN, f64::max).max(1.0);
    let step = 60.0 / (values.len() - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, 15.0 - v / max * 14.0))
        .collect();
    format!(
        r#"<svg class="spark" viewBox="0 0 60 16" width="60" height="16" aria-hidden="true"><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/></svg>"#,
        points.join(" ")
    )
}

fn state_name(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Starting => "starting",
        WorkerState::Running => "running",
        WorkerState::Backoff => "backoff",
        WorkerState::Quarantined => "quarantined",
        WorkerState::Stopped => "stopped",
    }
}

fn worker_row(
    t: &Tr,
    key: WorkerKey,
    s: &WorkerStatus,
    names: &HashMap<u64, String>,
    now: i64,
) -> WorkerRow {
    let state = state_name(s.state);
    let usage = s.latest();
    let tenant = key.tenant().map(|t| t.0);
    WorkerRow {
        key: key.to_string(),
        name: match tenant {
            Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
            None => "platform bot".into(),
        },
        tenant,
        state,
        state_key: state_key(s.state),
        pid: s.pid,
        uptime: s
            .started_at
            .filter(|_| s.state == WorkerState::Running)
            .map(|at| t.span(now - at))
            .unwrap_or_default(),
        restarts: s.restarts,
        memory: usage.map(|u| t.bytes(u.rss_kb * 1024)).unwrap_or_default(),
        memory_spark: sparkline(&s.usage.iter().map(|u| u.rss_kb as f64).collect::<Vec<_>>()),
        cpu: usage
            .map(|u| format!("{:.1}", u.cpu_secs))
            .unwrap_or_default(),
        sandbox: s
            .sandbox
            .as_ref()
            .map(|r| {
                let on = r
                    .layers
                    .iter()
                    .filter(|l| l.status == crate::worker::sandbox::Enforcement::Enforced)
                    .count();
                format!("{on}/{}", r.layers.len())
            })
            .unwrap_or_default(),
    }
}

/// Every worker as a row, tenants by id and the platform bot last (an admin's view).
pub fn worker_rows(t: &Tr, st: &AppState, admin: &AdminScope<'_>) -> Vec<WorkerRow> {
    let mut all = st.supervisor.all();
    all.sort_by_key(|(k, _)| k.tenant().map_or(u64::MAX, |t| t.0));
    let names: HashMap<u64, String> = all
        .iter()
        .filter_map(|(k, _)| k.tenant())
        .filter_map(|id| {
            admin
                .tenant(id)
                .ok()
                .map(|s| (id.0, s.record().name.clone()))
        })
        .collect();
    let now = st.now();
    all.iter()
        .map(|(k, s)| worker_row(t, *k, s, &names, now))
        .collect()
}

/// Workers running, and workers in trouble (backing off or quarantined).
pub fn worker_totals(st: &AppState) -> (u64, u64) {
    let all = st.supervisor.all();
    let running = all
        .iter()
        .filter(|(_, s)| s.state == WorkerState::Running)
        .count() as u64;
    let trouble = all
        .iter()
        .filter(|(_, s)| matches!(s.state, WorkerState::Backoff | WorkerState::Quarantined))
        .count() as u64;
    (running, trouble)
}

#[derive(Template)]
#[template(path = "console/workers.html")]
struct WorkersPage {
    c: Chrome,
    workers: Vec<WorkerRow>,
    actions: bool,
}

#[derive(Template)]
#[template(path = "console/worker_rows.html")]
pub struct WorkerRowsFragment {
    pub c: Chrome,
    pub workers: Vec<WorkerRow>,
    pub actions: bool,
}

pub async fn workers(State(st): State<Shared>, v: Viewer) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let admin = match crate::domain::auth::admin_scope(&st, &v.caller) {
        Ok(a) => a,
        Err(e) => return error_page(v.page("workers"), e),
    };
    render(&WorkersPage {
        workers: worker_rows(&v.chrome.t, &st, &admin),
        actions: true,
        c: v.page("workers"),
    })
}

fn worker_key(key: &str) -> Option<WorkerKey> {
    if key == "platform" {
        return Some(WorkerKey::Platform);
    }
    key.parse::<u64>()
        .ok()
        .map(|id| WorkerKey::Tenant(TenantId(id)))
}

/// Restarts a worker and answers the refreshed rows (htmx swaps them in).
pub async fn restart_worker(
    State(st): State<Shared>,
    v: Viewer,
    Path(key): Path<String>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let done = match worker_key(&key) {
        Some(WorkerKey::Platform) => {
            if crate::domain::tenant_workers::start_platform(&st).await {
                Ok(())
            } else {
                Err(AppError::Conflict {
                    code: "platform.not_configured",
                    message: "no platform bot is configured (platform.bot_token or platform.bot)"
                        .into(),
                })
            }
        }
        Some(WorkerKey::Tenant(id)) => crate::domain::tenant_workers::reconcile(&st, id).await,
        None => Err(AppError::NotFound("worker")),
    };
    rows_or_error(&st, &v, done)
}

pub async fn release_worker(
    State(st): State<Shared>,
    v: Viewer,
    Path(key): Path<String>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let done = match worker_key(&key) {
        Some(k) => {
            let quarantined = st
                .supervisor
                .status(k)
                .is_some_and(|s| s.state == WorkerState::Quarantined);
            if quarantined && st.supervisor.release(k) {
                Ok(())
            } else {
                Err(AppError::Conflict {
                    code: "worker.not_quarantined",
                    message: "this worker is not in quarantine".into(),
                })
            }
        }
        None => Err(AppError::NotFound("worker")),
    };
    rows_or_error(&st, &v, done)
}

fn rows_or_error(st: &AppState, v: &Viewer, done: AppResult<()>) -> Response {
    let done = done.and_then(|()| crate::domain::auth::admin_scope(st, &v.caller));
    match done {
        Ok(admin) => render(&WorkerRowsFragment {
            workers: worker_rows(&v.chrome.t, st, &admin),
            actions: true,
            c: v.page("workers"),
        }),
        Err(e) => super::error_fragment(&v.chrome, &e),
    }
}

// ---- tenants ----

pub struct TenantRow {
    pub id: u64,
    pub name: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub plan: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/tenants.html")]
struct TenantsPage {
    c: Chrome,
    q: String,
    q_enc: String,
    tenants: Vec<TenantRow>,
    next: Option<u64>,
    plans: Vec<(u64, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/tenant_rows.html")]
struct TenantRowsFragment {
    c: Chrome,
    q_enc: String,
    tenants: Vec<TenantRow>,
    next: Option<u64>,
}

#[derive(Deserialize)]
pub struct TenantQuery {
    q: Option<String>,
    after: Option<u64>,
}

/// Tenants shown per page.
const PAGE: usize = 50;

pub fn status_names(s: TenantStatus) -> (&'static str, &'static str) {
    match s {
        TenantStatus::Active => ("active", "status.active"),
        TenantStatus::Suspended => ("suspended", "status.suspended"),
    }
}

type TenantList = (Vec<TenantRow>, Option<u64>, Vec<(u64, String)>);

fn tenant_list(st: &AppState, v: &Viewer, q: &str, after: Option<u64>) -> AppResult<TenantList> {
    let admin = crate::domain::auth::admin_scope(st, &v.caller)?;
    let query = (!q.is_empty()).then_some(q);
    let page = admin.list_tenants(after, PAGE, query)?;
    let plans: Vec<(u64, String)> = st
        .store
        .catalog_read()?
        .plans()?
        .into_iter()
        .map(|(id, p)| (id.0, p.name))
        .collect();
    let t = &v.chrome.t;
    let rows = page
        .items
        .into_iter()
        .map(|(id, r)| {
            let (status, status_key) = status_names(r.status);
            TenantRow {
                id: id.0,
                name: r.name,
                status,
                status_key,
                plan: r
                    .plan
                    .and_then(|p| plans.iter().find(|(i, _)| *i == p.0))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default(),
                created: t.when(r.created_at),
            }
        })
        .collect();
    Ok((rows, page.next, plans))
}

fn clean_query(q: Option<String>) -> String {
    q.unwrap_or_default().trim().chars().take(100).collect()
}

fn encode(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

pub async fn tenants(
    State(st): State<Shared>,
    v: Viewer,
    Query(q): Query<TenantQuery>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let query = clean_query(q.q);
    match tenant_list(&st, &v, &query, q.after) {
        Ok((tenants, next, plans)) => render(&TenantsPage {
            q_enc: encode(&query),
            q: query,
            tenants,
            next,
            plans,
            error: None,
            c: v.page("tenants"),
        }),
        Err(e) => error_page(v.page("tenants"), e),
    }
}

/// The rows alone, for the search box (htmx).
pub async fn tenant_rows(
    State(st): State<Shared>,
    v: Viewer,
    Query(q): Query<TenantQuery>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let query = clean_query(q.q);
    match tenant_list(&st, &v, &query, q.after) {
        Ok((tenants, next, _)) => render(&TenantRowsFragment {
            q_enc: encode(&query),
            tenants,
            next,
            c: v.page("tenants"),
        }),
        Err(e) => super::error_fragment(&v.chrome, &e),
    }
}

#[derive(Deserialize)]
pub struct NewTenantForm {
    name: String,
    #[serde(default)]
    plan_id: String,
    #[serde(default)]
    owner_email: String,
    /// Set: the owner's account gets this password now, instead of an invitation link.
    #[serde(default)]
    owner_password: String,
}

/// The plan id of a form's `<select>`: empty for none.
pub fn form_plan(v: &str) -> AppResult<Option<PlanId>> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u64>()
        .map(|p| Some(PlanId(p)))
        .map_err(|_| AppError::invalid("plan_id", "not a plan of this appliance"))
}

pub async fn create_tenant(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<NewTenantForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let now = st.now();
    let ttl = st.config.auth.invitation_ttl_hours as i64 * 3600;
    let mail = crate::domain::mail::notices::MailCtx::of(&st);
    let st2 = st.clone();
    let caller = v.caller.clone();
    // The password is checked and hashed before anything is created.
    let hash = match (f.owner_email.trim(), f.owner_password.as_str()) {
        (_, "") => Ok(None),
        ("", _) => Err(AppError::invalid(
            "owner_email",
            "a password is for the owner: give their email too",
        )),
        (_, pw) => crate::domain::auth::hash_new_password(
            &st,
            "owner_password",
            crate::config::Secret::new(pw),
        )
        .await
        .map(Some),
    };
    let created = match hash {
        Err(e) => Err(e),
        Ok(hash) => {
            blocking(move || {
                let plan = form_plan(&f.plan_id)?;
                let owner = match f.owner_email.trim() {
                    "" => None,
                    e => Some(normalize_email("owner_email", e)?),
                };
                let admin = crate::domain::auth::admin_scope(&st2, &caller)?;
                let (id, _) = tenancy::create_tenant(&admin, &f.name, plan, now)?;
                let token = match (owner, hash) {
                    (Some(email), Some(hash)) => {
                        let scope = admin.tenant(id)?;
                        tenancy::add_member(&scope, email, Some(hash), Role::Owner, now)?;
                        None
                    }
                    (Some(email), None) => {
                        let scope = admin.tenant(id)?;
                        tenancy::invite(&scope, email, Role::Owner, &mail, ttl)?.token
                    }
                    (None, _) => None,
                };
                Ok((id, token))
            })
            .await
        }
    };
    match created {
        Ok((id, token)) => {
            let mut to = format!("/console/tenants/{}?done=created", id.0);
            if let Some(t) = token {
                to.push_str("&invite=");
                to.push_str(&encode(&t));
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => {
            let error = error_text(&v.chrome, &e);
            match tenant_list(&st, &v, "", None) {
                Ok((tenants, next, plans)) => (
                    crate::http::error::status_of(&e),
                    render(&TenantsPage {
                        q: String::new(),
                        q_enc: String::new(),
                        tenants,
                        next,
                        plans,
                        error: Some(error),
                        c: v.page("tenants"),
                    }),
                )
                    .into_response(),
                Err(e2) => error_page(v.page("tenants"), e2),
            }
        }
    }
}

// ---- plans ----

/// The plan fields the form edits: `(name, catalogue key, default)`.
const LIMIT_FIELDS: &[(&str, &str, u32)] = &[
    ("sessions", "limit.sessions", 3),
    ("groups", "limit.groups", 100),
    ("templates", "limit.templates", 50),
    ("campaigns", "limit.campaigns", 20),
    ("sends_per_day", "limit.sends_per_day", 1000),
    ("retention_days", "limit.retention_days", 90),
    ("worker_memory_mb", "limit.worker_memory_mb", 64),
    ("media_mb", "limit.media_mb", 10),
    ("events_per_sec", "limit.events_per_sec", 200),
    ("min_interval_mins", "limit.min_interval_mins", 10),
];

fn limit_values(l: &PlanLimits) -> Vec<u32> {
    vec![
        l.sessions,
        l.groups,
        l.templates,
        l.campaigns,
        l.sends_per_day,
        l.retention_days,
        l.worker_memory_mb,
        l.media_mb,
        l.events_per_sec,
        l.min_interval_mins,
    ]
}

pub struct PlanRow {
    pub id: u64,
    pub name: String,
    pub values: Vec<String>,
    /// `(field, catalogue key, value)` for the edit form.
    pub edit: Vec<(&'static str, &'static str, u32)>,
}

#[derive(Template)]
#[template(path = "console/plans.html")]
struct PlansPage {
    c: Chrome,
    notice: Option<&'static str>,
    plans: Vec<PlanRow>,
    fields: Vec<(&'static str, &'static str, u32)>,
    error: Option<String>,
}

fn plans_page(
    st: &AppState,
    v: &Viewer,
    notice: Option<&'static str>,
    error: Option<String>,
) -> AppResult<Response> {
    let t = &v.chrome.t;
    let plans = st
        .store
        .catalog_read()?
        .plans()?
        .into_iter()
        .map(|(id, p)| {
            let raw = limit_values(&p.limits);
            PlanRow {
                id: id.0,
                name: p.name,
                values: raw.iter().map(|n| t.num(*n)).collect(),
                edit: LIMIT_FIELDS
                    .iter()
                    .zip(raw)
                    .map(|((f, k, _), v)| (*f, *k, v))
                    .collect(),
            }
        })
        .collect();
    Ok(render(&PlansPage {
        plans,
        fields: LIMIT_FIELDS.to_vec(),
        notice,
        error,
        c: v.page("plans"),
    }))
}

pub async fn plans(State(st): State<Shared>, v: Viewer, Query(q): Query<DoneQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = match q.done.as_deref() {
        Some("created") => Some(v.chrome.t.s("plans.created")),
        Some("saved") => Some(v.chrome.t.s("plans.saved")),
        _ => None,
    };
    plans_page(&st, &v, notice, None).unwrap_or_else(|e| error_page(v.page("plans"), e))
}

/// After a plan is saved: back to the plans with `done`, or the page with what was wrong.
fn plan_saved(st: &Shared, v: &Viewer, done: AppResult<()>, notice: &str) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/console/plans?done={notice}")).into_response(),
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match plans_page(st, v, None, Some(text)) {
                Ok(r) => (status, r).into_response(),
                Err(e2) => error_page(v.page("plans"), e2),
            }
        }
    }
}

pub async fn create_plan(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let parsed = plan_form(&f);
    let now = st.now();
    let st2 = st.clone();
    let caller = v.caller.clone();
    let done = match parsed {
        Ok((name, limits)) => {
            blocking(move || {
                let admin = crate::domain::auth::admin_scope(&st2, &caller)?;
                tenancy::create_plan(&admin, &name, limits, now).map(|_| ())
            })
            .await
        }
        Err(e) => Err(e),
    };
    plan_saved(&st, &v, done, "created")
}

/// A plan's name and limits from its form.
fn plan_form(f: &HashMap<String, String>) -> AppResult<(String, PlanLimits)> {
    let n = |k: &str| -> AppResult<u32> {
        f.get(k)
            .map(|s| s.trim())
            .unwrap_or("")
            .parse::<u32>()
            .map_err(|_| AppError::invalid(k, "a whole number from 0 to 4294967295"))
    };
    let limits = PlanLimits {
        sessions: n("sessions")?,
        groups: n("groups")?,
        templates: n("templates")?,
        campaigns: n("campaigns")?,
        sends_per_day: n("sends_per_day")?,
        retention_days: n("retention_days")?,
        worker_memory_mb: n("worker_memory_mb")?,
        media_mb: n("media_mb")?,
        events_per_sec: n("events_per_sec")?,
        min_interval_mins: n("min_interval_mins")?,
    };
    Ok((f.get("name").cloned().unwrap_or_default(), limits))
}

/// Saves a plan's new name and limits; tenants on it get them.
pub async fn update_plan(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let now = st.now();
    let st2 = st.clone();
    let caller = v.caller.clone();
    let done = match plan_form(&f) {
        Ok((name, limits)) => {
            blocking(move || {
                let admin = crate::domain::auth::admin_scope(&st2, &caller)?;
                tenancy::update_plan(&admin, PlanId(id), &name, limits, now).map(|_| ())
            })
            .await
        }
        Err(e) => Err(e),
    };
    plan_saved(&st, &v, done, "saved")
}

// ---- audit ----

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    notice: Option<String>,
    audit: Vec<AuditRow>,
    alerts: Vec<AlertRow>,
    all_alerts: bool,
    q: String,
    tenant: String,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tenant: String,
    alerts: Option<String>,
    done: Option<String>,
}

/// The audit page: alerts (open, or all), then the log filtered by text and tenant among its
/// newest entries.
pub async fn audit(State(st): State<Shared>, v: Viewer, Query(f): Query<AuditQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let all_alerts = f.alerts.as_deref() == Some("all");
    let text = search_fold(f.q.trim());
    let tenant = f.tenant.trim().parse::<u64>().ok();
    let t = v.chrome.t.clone();
    let st2 = st.clone();
    let found = blocking(move || {
        let alerts = alert_rows(&t, &st2, !all_alerts, 200)?;
        let audit: Vec<AuditRow> = audit_rows(&t, &st2, AUDIT_SCAN)?
            .into_iter()
            .filter(|a| tenant.is_none() || a.tenant == tenant)
            .filter(|a| {
                text.is_empty()
                    || search_fold(&a.action).contains(&text)
                    || search_fold(&a.detail).contains(&text)
            })
            .take(200)
            .collect();
        Ok((alerts, audit))
    })
    .await;
    match found {
        Ok((alerts, audit)) => render(&AuditPage {
            notice: (f.done.as_deref() == Some("acked"))
                .then(|| v.chrome.t.s("alert.acked_notice").to_string()),
            audit,
            alerts,
            all_alerts,
            q: f.q.chars().take(100).collect(),
            tenant: tenant.map(|t| t.to_string()).unwrap_or_default(),
            c: v.page("audit"),
        }),
        Err(e) => error_page(v.page("audit"), e),
    }
}

/// How many of the newest audit entries a filter looks through.
const AUDIT_SCAN: usize = 5_000;

#[derive(Deserialize)]
pub struct AckForm {
    #[serde(default)]
    back: String,
}

/// Acknowledges an alert and goes back to the page it was on.
pub async fn ack_alert(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<AckForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let (st2, by, now) = (st.clone(), v.account, st.now());
    let done = blocking(move || {
        crate::domain::alerts::acknowledge(&st2.store, botyard_shards::ids::AlertId(id), by, now)
    })
    .await;
    match done {
        Ok(()) if f.back == "dashboard" => Redirect::to("/console").into_response(),
        Ok(()) => Redirect::to("/console/audit?done=acked#alerts").into_response(),
        Err(e) => error_page(v.page("audit"), e),
    }
}

/// A tenant's name for the delete confirmation: compared after the same folding as search.
pub fn same_name(typed: &str, name: &str) -> bool {
    search_fold(typed.trim()) == search_fold(name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_maximum_and_need_two_points() {
        assert_eq!(sparkline(&[5.0]), "");
        let s = sparkline(&[0.0, 10.0, 5.0]);
        assert!(s.contains(r#"points="0.0,15.0 30.0,1.0 60.0,8.0""#), "{s}");
        assert!(!s.contains("style"));
    }
}
