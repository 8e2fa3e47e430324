//! A tenant's page and what can be done from it. The tenant is reached only through the
//! viewer's `TenantScope` (another tenant is a 404, as in the API), and each action asks the
//! same role table as the API.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::records::{CampaignStateRec, Role, TenantStatus};
use botyard_shards::{Access, TenantScope};

use super::admin_pages::{form_plan, same_name, status_names};
use super::authorize::{self, Want};
use super::session::{Chrome, Viewer};
use super::{error_page, render};
use crate::domain::auth::{self, normalize_email};
use crate::domain::tenancy;
use crate::error::{AppError, AppResult};
use crate::http::roles::Needs;
use crate::state::{Shared, blocking};

pub struct TenantHead {
    pub id: u64,
    pub name: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub plan_id: Option<u64>,
}

pub struct UsageTile {
    pub key: &'static str,
    pub used: usize,
    pub limit: Option<u32>,
}

pub struct SessionRow {
    pub id: u64,
    pub kind: String,
    pub name: String,
    pub state: String,
    /// What to do about the state, when something is to be done.
    pub todo: Option<&'static str>,
}

pub struct GroupRow {
    pub chat: i64,
    pub title: String,
    pub members: u32,
    pub enabled: bool,
    pub tags: String,
    pub can_post: bool,
    /// The slow mode's interval in words; empty without one.
    pub slow_mode: String,
}

pub struct CampaignRow {
    pub name: String,
    pub status: String,
    pub next_run: String,
}

#[derive(Template)]
#[template(path = "console/tenant.html")]
struct TenantPage {
    c: Chrome,
    /// `""`: every part (the console's tenant page); or the one part a screen of its own shows
    /// (`groups`, `sessions`, `members`, `subscription`).
    section: &'static str,
    /// The catalogue key of that part's title.
    section_key: &'static str,
    /// The groups' search, as typed.
    q: String,
    plan_name: Option<String>,
    /// The subscription screen's facts (that screen only).
    billing: Option<super::billing_pages::BillingFacts>,
    t: TenantHead,
    admin: bool,
    manage: bool,
    edit: bool,
    usage: Vec<UsageTile>,
    plans: Vec<(u64, String)>,
    /// For admins: the tenant's shard now, and how many the store has.
    shard: Option<(u32, u32)>,
    sessions: Vec<SessionRow>,
    groups: Vec<GroupRow>,
    campaigns: Vec<CampaignRow>,
    /// `(account id, email, role)`.
    members: Vec<(u64, String, String)>,
    /// Pending invitations: `(id, email, role, expires)`.
    invitations: Vec<(u64, String, String, String)>,
    /// `(id, period, made at)`, newest first.
    reports: Vec<(u64, String, String)>,
    notice: Option<String>,
    error: Option<String>,
    invite_link: Option<String>,
}

#[derive(Deserialize)]
pub struct TenantQuery {
    done: Option<String>,
    invite: Option<String>,
    #[serde(default)]
    q: String,
}

/// Where a tenant action goes back to: the tenant's page, or in the Mini-App the screen the
/// action belongs to.
pub fn back_to(v: &Viewer, id: u64, done: &str) -> String {
    let screen = match done {
        // The subscription is a screen of its own in both faces.
        "trial" | "cancelled" | "renewing" | "paid" | "profile" | "refunded" | "switched"
        | "scheduled" | "pay_upgrade" => "/subscription",
        _ if !v.chrome.app => "",
        "group" | "refreshed" => "/groups",
        "session" | "imported" | "login" => "/sessions",
        "member" | "invited" => "/members",
        _ => "",
    };
    format!("{}/tenants/{id}{screen}?done={done}", v.chrome.root)
}

fn role_name(r: Role) -> String {
    format!("{r:?}").to_lowercase()
}

fn build(
    st: &Shared,
    v: &Viewer,
    scope: &TenantScope,
    section: &'static str,
    q: &str,
) -> AppResult<TenantPage> {
    let t = &v.chrome.t;
    let rec = scope.record().clone();
    let (status, status_key) = status_names(rec.status);
    let shard = scope.shard_read()?;
    let sessions = shard.sessions()?;
    let groups = shard.groups()?;
    let q: String = q.trim().chars().take(100).collect();
    let shown = crate::domain::groups::list(
        scope,
        &crate::domain::groups::GroupFilter {
            present: Some(true),
            q: Some(q.clone()).filter(|q| !q.is_empty()),
            ..Default::default()
        },
    )?;
    let templates = shard.templates()?;
    let campaigns = shard.campaigns()?;
    let worker = st.supervisor.status(scope.tenant_id());
    let plan = match rec.plan {
        Some(p) => st.store.catalog_read()?.plan(p)?,
        None => None,
    };
    let plan_name = plan.as_ref().map(|p| p.name.clone());
    let limits = plan.map(|p| p.limits);
    let usage = vec![
        UsageTile {
            key: "usage.sessions",
            used: sessions.len(),
            limit: limits.as_ref().map(|l| l.sessions),
        },
        UsageTile {
            key: "usage.groups",
            used: groups.iter().filter(|(_, g)| g.enabled).count(),
            limit: limits.as_ref().map(|l| l.groups),
        },
        UsageTile {
            key: "usage.templates",
            used: templates.len(),
            limit: limits.as_ref().map(|l| l.templates),
        },
        UsageTile {
            key: "usage.campaigns",
            used: campaigns.len(),
            limit: limits.as_ref().map(|l| l.campaigns),
        },
    ];
    let plans = if scope.access() == Access::Admin {
        st.store
            .catalog_read()?
            .plans()?
            .into_iter()
            .map(|(id, p)| (id.0, p.name))
            .collect()
    } else {
        Vec::new()
    };
    let members = if scope.access().can_manage() {
        tenancy::members(scope)?
            .into_iter()
            .map(|m| (m.account.0, m.email, role_name(m.role)))
            .collect()
    } else {
        Vec::new()
    };
    let invitations = if scope.access().can_manage() {
        tenancy::invitations(scope)?
            .into_iter()
            .map(|i| (i.id.0, i.email, role_name(i.role), t.when(i.expires_at)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(TenantPage {
        t: TenantHead {
            id: scope.tenant_id().0,
            name: rec.name,
            status,
            status_key,
            plan_id: rec.plan.map(|p| p.0),
        },
        admin: scope.access() == Access::Admin,
        manage: scope.access().can_manage(),
        edit: crate::http::roles::check(scope.access(), Needs::Edit, true).is_ok(),
        usage,
        plans,
        shard: (scope.access() == Access::Admin)
            .then(|| (scope.shard_index(), st.store.shard_count())),
        sessions: sessions
            .iter()
            .map(|(id, r)| {
                let out = crate::http::worker_routes::session_out(*id, r, worker.as_ref());
                let state = state_name(&out);
                SessionRow {
                    id: id.0,
                    kind: out.kind.clone(),
                    name: r.label.clone(),
                    state: v.chrome.t.s(session_state_key(&state)).to_string(),
                    todo: session_todo(&state),
                }
            })
            .collect(),
        groups: shown
            .into_iter()
            .map(|(chat, g)| GroupRow {
                chat: chat.0,
                title: g.title,
                members: g.members,
                enabled: g.enabled,
                tags: g.tags.join(", "),
                can_post: g.can_post,
                slow_mode: if g.slow_mode_secs > 0 {
                    t.span(i64::from(g.slow_mode_secs))
                } else {
                    String::new()
                },
            })
            .collect(),
        campaigns: campaigns
            .into_iter()
            .map(|(_, k)| CampaignRow {
                name: k.name,
                status: t
                    .s(match k.state {
                        CampaignStateRec::Draft => "camp.state_draft",
                        CampaignStateRec::Active => "camp.state_active",
                        CampaignStateRec::Paused { .. } => "camp.state_paused",
                        CampaignStateRec::Finished => "camp.state_done",
                    })
                    .to_string(),
                next_run: k.next_run.map(|n| t.when(n)).unwrap_or_default(),
            })
            .collect(),
        members,
        invitations,
        reports: shard
            .reports()?
            .into_iter()
            .rev()
            .take(10)
            .map(|(id, r)| {
                (
                    id.0,
                    format!(
                        "{} – {}",
                        crate::domain::stats::date_of(r.from),
                        crate::domain::stats::date_of(r.to)
                    ),
                    t.when(r.created_at),
                )
            })
            .collect(),
        notice: None,
        error: None,
        invite_link: None,
        section,
        section_key: match section {
            "groups" => "tenant.groups",
            "sessions" => "tenant.sessions",
            "members" => "tenant.members",
            "subscription" => "app.subscription",
            _ => "",
        },
        q,
        plan_name,
        billing: if section == "subscription" {
            Some(super::billing_pages::facts(st, t, scope)?)
        } else {
            None
        },
        c: v.tenant_page(),
    })
}

/// The catalogue key of a session's state as the API names it.
pub(super) fn session_state_key(state: &str) -> &'static str {
    match state {
        "online" => "sstate.online",
        "connecting" => "sstate.connecting",
        "flood_wait" => "sstate.flood_wait",
        "revoked" => "sstate.revoked",
        "error" => "sstate.error",
        "retrying" => "sstate.retrying",
        _ => "sstate.offline",
    }
}

/// A session's state as the API names it (`online`, `revoked`, …).
pub(super) fn state_name(out: &crate::http::worker_routes::SessionOut) -> String {
    serde_json::to_value(&out.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The catalogue key of what to do about a session's state, if anything.
fn session_todo(state: &str) -> Option<&'static str> {
    match state {
        "revoked" => Some("sstate.todo_revoked"),
        "error" => Some("sstate.todo_error"),
        "flood_wait" => Some("sstate.todo_flood"),
        "retrying" | "offline" => Some("sstate.todo_offline"),
        _ => None,
    }
}

/// What a `done=` redirect says.
fn notice_key(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "tenant.created",
        "plan" => "tenant.plan_set",
        "renamed" => "tenant.renamed",
        "suspended" => "tenant.suspended",
        "resumed" => "tenant.resumed",
        "moved" => "tenant.moved",
        "invited" => "tenant.invite_link",
        "group" => "tenant.group_saved",
        "refreshed" => "groups.refreshing",
        "trial" => "bill.done_trial",
        "cancelled" => "bill.done_cancelled",
        "renewing" => "bill.done_renewing",
        "paid" => "bill.done_paid",
        "profile" => "bill.done_profile",
        "switched" => "bill.done_switched",
        "scheduled" => "bill.done_scheduled",
        "pay_upgrade" => "bill.done_pay_upgrade",
        "refunded" => "bill.done_refunded",
        "session" => "tenant.session_connected",
        "imported" => "tenant.session_imported",
        "report" => "tenant.report_made",
        "login" => "tenant.logged_in",
        "member" => "tenant.member_saved",
        _ => return None,
    })
}

pub async fn tenant(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<TenantQuery>,
) -> Response {
    if v.chrome.app {
        return super::app_pages::dashboard(st, v, id, q.done).await;
    }
    show(st, v, id, "", q).await
}

/// One part of a tenant's page as a screen of its own (the Mini-App's Groups, Sessions,
/// Members and Subscription).
pub async fn groups(
    st: State<Shared>,
    v: Viewer,
    id: Path<u64>,
    q: Query<TenantQuery>,
) -> Response {
    show(st.0, v, id.0, "groups", q.0).await
}

pub async fn sessions(
    st: State<Shared>,
    v: Viewer,
    id: Path<u64>,
    q: Query<TenantQuery>,
) -> Response {
    show(st.0, v, id.0, "sessions", q.0).await
}

pub async fn members(
    st: State<Shared>,
    v: Viewer,
    id: Path<u64>,
    q: Query<TenantQuery>,
) -> Response {
    show(st.0, v, id.0, "members", q.0).await
}

pub async fn subscription(
    st: State<Shared>,
    v: Viewer,
    id: Path<u64>,
    q: Query<TenantQuery>,
) -> Response {
    show(st.0, v, id.0, "subscription", q.0).await
}

async fn show(st: Shared, v: Viewer, id: u64, section: &'static str, q: TenantQuery) -> Response {
    let built = authorize::tenant(&st, &v, id, Want::Read)
        .await
        .and_then(|scope| build(&st, &v, &scope, section, &q.q));
    match built {
        Ok(mut page) => {
            page.notice = q
                .done
                .as_deref()
                .filter(|d| *d != "invited")
                .and_then(notice_key)
                .map(|k| v.chrome.t.s(k).to_string());
            page.invite_link = q
                .invite
                .filter(|t| {
                    t.len() <= 100
                        && t.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
                .map(|t| format!("{}/console/invite?token={t}", st.base_url()));
            render(&page)
        }
        Err(e) => error_page(v.page(""), e),
    }
}

/// Runs `act` on the viewer's scope of tenant `id` once the change is allowed (`method route`:
/// the API's twin of the action), then goes back to the tenant's page with `done`.
pub(super) async fn act(
    st: Shared,
    v: Viewer,
    id: u64,
    (method, route): (Method, &'static str),
    done: &'static str,
    act: impl FnOnce(&Shared, &TenantScope, i64) -> AppResult<Option<String>> + Send + 'static,
) -> Response {
    let now = st.now();
    let st2 = st.clone();
    let result = match authorize::tenant(&st, &v, id, Want::Change(method, route)).await {
        Ok(scope) => blocking(move || act(&st2, &scope, now)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(extra) => {
            // Groups, templates and settings are what the tenant's rules are made of.
            st.supervisor
                .push_rules(botyard_shards::ids::TenantId(id))
                .await;
            let mut to = back_to(&v, id, done);
            if let Some(token) = extra {
                to.push_str("&invite=");
                to.push_str(&token);
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => error_page(v.page(""), e),
    }
}

#[derive(Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan_id: String,
}

pub async fn set_plan(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<PlanForm>,
) -> Response {
    act(
        st,
        v,
        id,
        (Method::PATCH, "/api/v1/tenants/{id}"),
        "plan",
        move |_, scope, now| {
            let plan = form_plan(&f.plan_id)?;
            tenancy::update_tenant(scope, None, Some(plan), now)?;
            Ok(None)
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    name: String,
}

pub async fn rename(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<RenameForm>,
) -> Response {
    act(
        st,
        v,
        id,
        (Method::PATCH, "/api/v1/tenants/{id}"),
        "renamed",
        move |_, scope, now| {
            tenancy::update_tenant(scope, Some(&f.name), None, now)?;
            Ok(None)
        },
    )
    .await
}

pub async fn suspend(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    let r = act(
        st.clone(),
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/suspend"),
        "suspended",
        |_, scope, now| {
            tenancy::set_status(scope, TenantStatus::Suspended, now)?;
            Ok(None)
        },
    )
    .await;
    if r.status().is_redirection() {
        st.supervisor.stop(botyard_shards::ids::TenantId(id)).await;
    }
    r
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    shard: String,
}

/// An admin moves the tenant to another shard (the copy runs before the page answers).
pub async fn move_shard(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<MoveForm>,
) -> Response {
    let actor = Some(v.account);
    act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/move"),
        "moved",
        move |st, scope, _| {
            let to: u32 = f
                .shard
                .trim()
                .parse()
                .map_err(|_| crate::error::AppError::invalid("shard", "choose a shard"))?;
            crate::domain::tenant_moves::move_now(st, actor, scope, to)?;
            Ok(None)
        },
    )
    .await
}

pub async fn resume(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    let r = act(
        st.clone(),
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/resume"),
        "resumed",
        |_, scope, now| {
            tenancy::set_status(scope, TenantStatus::Active, now)?;
            Ok(None)
        },
    )
    .await;
    if r.status().is_redirection()
        && let Err(e) =
            crate::domain::tenant_workers::reconcile(&st, botyard_shards::ids::TenantId(id)).await
    {
        tracing::warn!(tenant_id = id, error = %e, "worker not started after resume");
    }
    r
}

#[derive(Deserialize)]
pub struct DeleteForm {
    confirm: String,
}

pub async fn delete(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let tid = botyard_shards::ids::TenantId(id);
    let checked = authorize::tenant(
        &st,
        &v,
        id,
        Want::Change(Method::DELETE, "/api/v1/tenants/{id}"),
    )
    .await
    .and_then(|scope| {
        if same_name(&f.confirm, &scope.record().name) {
            Ok(())
        } else {
            Err(AppError::invalid("confirm", "the name does not match"))
        }
    });
    if let Err(e) = checked {
        let e = match e {
            AppError::Invalid { .. } => {
                let c = v.page("tenants");
                let body = c.t.s("error.confirm_mismatch");
                let title = c.t.s("error.title");
                return super::message(
                    c,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    title,
                    body,
                    &format!("{}/tenants/{id}", v.chrome.root),
                );
            }
            other => other,
        };
        return error_page(v.page("tenants"), e);
    }
    // As the API does: the worker first, then the rows, then the media folder.
    st.supervisor.stop(tid).await;
    let st2 = st.clone();
    let caller = v.caller.clone();
    let now = st.now();
    let deleted = blocking(move || {
        let admin = auth::admin_scope(&st2, &caller)?;
        tenancy::delete_tenant(&admin, tid, now)
    })
    .await;
    if let Err(e) = deleted {
        return error_page(v.page("tenants"), e);
    }
    crate::domain::billing::remove_files(&st, tid).await;
    let c = v.page("tenants");
    let title = c.t.s("tenant.deleted");
    super::message(c, StatusCode::OK, title, title, "/console/tenants")
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

pub async fn invite(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<InviteForm>,
) -> Response {
    let ttl = st.config.auth.invitation_ttl_hours as i64 * 3600;
    let mail = crate::domain::mail::notices::MailCtx::of(&st);
    act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/invitations"),
        "invited",
        move |_, scope, now| {
            let email = normalize_email("email", &f.email)?;
            let role = match f.role.as_str() {
                "owner" => Role::Owner,
                "editor" => Role::Editor,
                "viewer" => Role::Viewer,
                _ => return Err(AppError::invalid("role", "choose owner, editor or viewer")),
            };
            let _ = now;
            Ok(tenancy::invite(scope, email, role, &mail, ttl)?.token)
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct GroupForm {
    /// A checkbox: present when ticked.
    enabled: Option<String>,
    #[serde(default)]
    tags: String,
}

/// Enables a group for automation (or not) and sets its tags, comma-separated.
/// Asks Telegram for the sessions' chats again.
pub async fn refresh_groups(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/groups/refresh"),
        "refreshed",
        |st, scope, _| crate::domain::groups::refresh(st, scope).map(|()| None),
    )
    .await
}

pub async fn update_group(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, chat)): Path<(u64, i64)>,
    Form(f): Form<GroupForm>,
) -> Response {
    act(
        st,
        v,
        id,
        (Method::PATCH, "/api/v1/tenants/{id}/groups/{chat_id}"),
        "group",
        move |st, scope, now| {
            let tags: Vec<String> = f
                .tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            if tags.len() > 20 {
                return Err(AppError::invalid("tags", "at most 20 tags"));
            }
            let limit = tenancy::plan_limit(&st.store, scope.record().plan, |l| l.groups)?;
            crate::domain::groups::update(
                scope,
                limit,
                botyard_shards::ids::ChatId(chat),
                crate::domain::groups::GroupPatch {
                    enabled: Some(f.enabled.is_some()),
                    tags: Some(tags),
                },
                now,
            )?;
            Ok(None)
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    token: String,
}

/// Connects a bot by its token (or, for admins, a simulated session); the worker restarts
/// with it and a refused token is answered at once.
pub async fn connect_session(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<SessionForm>,
) -> Response {
    let connected = async {
        let scope = authorize::tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/sessions"),
        )
        .await?;
        let new = match f.kind.as_str() {
            "bot" => crate::domain::tenant_workers::NewSession::Bot {
                token: f.token.trim().to_string(),
            },
            "sim" => crate::domain::tenant_workers::NewSession::Sim(None),
            _ => {
                return Err(AppError::invalid(
                    "kind",
                    "choose a bot or a simulated session",
                ));
            }
        };
        crate::domain::tenant_workers::connect_session(&st, scope, f.label, new).await
    }
    .await;
    match connected {
        Ok(_) => Redirect::to(&back_to(&v, id, "session")).into_response(),
        Err(e) => error_page(v.page(""), e),
    }
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    string: String,
}

/// Imports a Telethon or Pyrogram session string (a user account logged in elsewhere).
pub async fn import_session(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<ImportForm>,
) -> Response {
    let imported = async {
        let scope = authorize::tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/sessions/import"),
        )
        .await?;
        let parsed = crate::worker::session_import::parse_string(f.string.trim());
        crate::domain::tenant_workers::import_parsed(&st, scope, f.label, parsed).await
    }
    .await;
    match imported {
        Ok(_) => Redirect::to(&back_to(&v, id, "imported")).into_response(),
        Err(e) => error_page(v.page(""), e),
    }
}

/// Makes last week's report; it opens in the browser from the tenant's page.
pub async fn make_report(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/reports"),
        "report",
        |_, scope, now| {
            crate::domain::stats::report::make_last_week(scope, now)?;
            Ok(None)
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct MemberForm {
    /// A new role, or `remove`.
    role: String,
}

/// Changes a member's role or removes them (a tenant keeps at least one owner).
pub async fn update_member(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, account)): Path<(u64, u64)>,
    Form(f): Form<MemberForm>,
) -> Response {
    let twin = if f.role == "remove" {
        (Method::DELETE, "/api/v1/tenants/{id}/members/{account_id}")
    } else {
        (Method::PATCH, "/api/v1/tenants/{id}/members/{account_id}")
    };
    act(st, v, id, twin, "member", move |_, scope, now| {
        let account = botyard_shards::ids::AccountId(account);
        match f.role.as_str() {
            "remove" => tenancy::remove_member(scope, account, now)?,
            r => {
                let role = match r {
                    "owner" => Role::Owner,
                    "editor" => Role::Editor,
                    "viewer" => Role::Viewer,
                    _ => return Err(AppError::invalid("role", "choose owner, editor or viewer")),
                };
                tenancy::set_member_role(scope, account, role, now)?;
            }
        }
        Ok(None)
    })
    .await
}

/// Withdraws a pending invitation: its link stops working.
pub async fn withdraw_invitation(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, invitation)): Path<(u64, u64)>,
) -> Response {
    let twin = (
        Method::DELETE,
        "/api/v1/tenants/{id}/invitations/{invitation_id}",
    );
    act(st, v, id, twin, "member", move |_, scope, now| {
        tenancy::withdraw_invitation(scope, botyard_shards::ids::InvitationId(invitation), now)?;
        Ok(None)
    })
    .await
}

#[derive(Deserialize)]
pub struct FileQuery {
    /// The file's name, kept as the session's label.
    #[serde(default)]
    name: String,
}

/// Imports a Telethon or Pyrogram `.session` file sent as the raw body (the console's upload
/// script); answers 201 or the error's text. It is read in memory, never written to disk.
pub async fn import_session_file(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<FileQuery>,
    body: axum::body::Bytes,
) -> Response {
    let imported = async {
        let scope = authorize::tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/sessions/import-file"),
        )
        .await?;
        let parsed = blocking(move || Ok(crate::worker::session_import::parse_file(&body))).await?;
        let label = q.name.trim_end_matches(".session").to_string();
        crate::domain::tenant_workers::import_parsed(&st, scope, label, parsed).await
    }
    .await;
    match imported {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(e) => super::error_fragment(&v.chrome, &e),
    }
}
