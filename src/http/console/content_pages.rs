//! A tenant's templates and campaigns in the console: lists, a template editor with a live
//! preview as Telegram shows it, a campaign form, the campaign actions, and a run's lines per
//! group. The same domain calls as the API; the viewer's `TenantScope` bounds everything.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::TenantScope;
use botyard_shards::ids::{CampaignId, TemplateId};
use botyard_shards::records::{CampaignStateRec, DeliveryStateRec, ScheduleRec, TemplateFormatRec};

use super::DoneQuery;
use super::authorize::{Want, tenant};
use super::buttons_text;
use super::campaign_form::{self, CampaignForm, Fields};
use super::session::{Chrome, Viewer};
use super::telegram_html;
use super::{error_page, error_text, render};
use crate::domain::campaigns::{self, actions::RunOutcome};
use crate::domain::templates::{self, Content, TemplateFormat};
use crate::domain::tenancy;
use crate::error::{AppError, AppResult};
use crate::http::roles::Needs;
use crate::state::{Shared, blocking};

fn can_edit(scope: &TenantScope) -> bool {
    crate::http::roles::check(scope.access(), Needs::Edit, true).is_ok()
}

// ---- templates ----

pub struct TemplateRow {
    pub id: u64,
    pub name: String,
    pub format: &'static str,
    pub versions: u32,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "console/templates.html")]
struct TemplatesPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    templates: Vec<TemplateRow>,
    /// `(id, name, kind, size)`.
    media: Vec<(u64, String, String, String)>,
    edit: bool,
    draft_name: String,
    draft_body: String,
    draft_buttons: String,
    draft_html: bool,
    notice: Option<&'static str>,
    error: Option<String>,
}

struct Draft {
    name: String,
    body: String,
    buttons: String,
    html: bool,
}

async fn templates_page(
    st: &Shared,
    v: &Viewer,
    id: u64,
    draft: Draft,
    notice: Option<&'static str>,
    error: Option<String>,
) -> AppResult<Response> {
    let scope = tenant(st, v, id, Want::Read).await?;
    let t = v.chrome.t.clone();
    let (name, edit) = (scope.record().name.clone(), can_edit(&scope));
    let t2 = v.chrome.t.clone();
    let (rows, media) = blocking(move || {
        let s = scope.shard_read()?;
        let media = s
            .media_files()?
            .into_iter()
            .map(|(id, m)| {
                (
                    id.0,
                    m.name,
                    format!("{:?}", m.kind).to_lowercase(),
                    t2.bytes(m.size),
                )
            })
            .collect::<Vec<_>>();
        let mut rows = Vec::new();
        for (tid, rec) in s.templates()? {
            let format = match s.template_version(tid, rec.latest)?.map(|v| v.format) {
                Some(TemplateFormatRec::Html) => "HTML",
                _ => "Markdown",
            };
            rows.push(TemplateRow {
                id: tid.0,
                name: rec.name,
                format,
                versions: rec.latest,
                updated: t.when(rec.updated_at),
            });
        }
        Ok((rows, media))
    })
    .await?;
    Ok(render(&TemplatesPage {
        tenant: id,
        tenant_name: name,
        templates: rows,
        media,
        edit,
        draft_name: draft.name,
        draft_body: draft.body,
        draft_buttons: draft.buttons,
        draft_html: draft.html,
        notice,
        error,
        c: v.tenant_page(),
    }))
}

pub async fn templates(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let notice = (q.done.as_deref() == Some("saved")).then(|| v.chrome.t.s("tpl.saved"));
    let draft = Draft {
        name: String::new(),
        body: String::new(),
        buttons: String::new(),
        html: false,
    };
    templates_page(&st, &v, id, draft, notice, None)
        .await
        .unwrap_or_else(|e| error_page(v.page(""), e))
}

#[derive(Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    media_id: String,
    /// Link buttons, as [`buttons_text`] writes them.
    #[serde(default)]
    buttons: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    format: String,
}

fn format_of(f: &str) -> TemplateFormat {
    if f == "html" {
        TemplateFormat::Html
    } else {
        TemplateFormat::Markdown
    }
}

/// The live preview (htmx): the draft as Telegram shows it, or what is wrong with it.
pub async fn preview(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<TemplateForm>,
) -> Response {
    let scope = match tenant(&st, &v, id, Want::Read).await {
        Ok(s) => s,
        Err(e) => return (StatusCode::NOT_FOUND, error_text(&v.chrome, &e)).into_response(),
    };
    let now = st.now();
    let format = format_of(&f.format);
    let shown = blocking(move || {
        let buttons = buttons_text::parse(&f.buttons)?;
        templates::check_buttons(&buttons)?;
        let settings = tenancy::settings(&scope)?;
        let s = scope.shard_read()?;
        let (text, entities) = templates::preview_draft(&s, &settings, &f.body, format, now)?;
        Ok((text, entities, buttons))
    })
    .await;
    match shown {
        Ok((text, entities, buttons)) => {
            // Telegram counts a message's length in UTF-16 units, after formatting.
            let mut html = format!(
                r#"<div class="tg-text" data-length="{}">{}</div>"#,
                text.encode_utf16().count(),
                telegram_html::to_html(&text, &entities)
            );
            html.push_str(&telegram_html::keyboard(&buttons));
            Html(html).into_response()
        }
        Err(e) => Html(format!(
            r#"<p class="error" role="alert">{}</p>"#,
            html_escape(&error_text(&v.chrome, &e))
        ))
        .into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn create_template(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<TemplateForm>,
) -> Response {
    let scope = match tenant(
        &st,
        &v,
        id,
        Want::Change(Method::POST, "/api/v1/tenants/{id}/templates"),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return error_page(v.page(""), e),
    };
    let now = st.now();
    let author = v.account.0;
    let st2 = st.clone();
    let (name, body, format) = (f.name.clone(), f.body.clone(), format_of(&f.format));
    let buttons_written = f.buttons.clone();
    let media = match f.media_id.as_str() {
        "" => None,
        m => match m.parse::<u64>() {
            Ok(id) => Some(botyard_shards::ids::MediaId(id)),
            Err(_) => {
                return error_page(
                    v.page(""),
                    AppError::invalid("media_id", "not a file of this tenant"),
                );
            }
        },
    };
    let saved = blocking(move || {
        let limit = tenancy::plan_limit(&st2.store, scope.record().plan, |l| l.templates)?;
        let c = Content {
            body,
            format,
            buttons: buttons_text::parse(&buttons_written)?,
            media,
        };
        templates::create(&scope, limit, &name, c, now, Some(author)).map(|_| ())
    })
    .await;
    match saved {
        // The form's submit is a plain post (htmx only previews it).
        Ok(()) => Redirect::to(&format!(
            "{}/tenants/{id}/templates?done=saved",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            let draft = Draft {
                name: f.name,
                body: f.body,
                buttons: f.buttons,
                html: f.format == "html",
            };
            match templates_page(&st, &v, id, draft, None, Some(text)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => error_page(v.page(""), e),
            }
        }
    }
}

// ---- campaigns ----

pub struct CampaignRow {
    pub id: u64,
    pub name: String,
    pub state_key: &'static str,
    pub schedule: String,
    pub next_run: String,
    pub runs: u32,
    pub actions: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "console/campaigns.html")]
struct CampaignsPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    campaigns: Vec<CampaignRow>,
    f: Fields,
    edit: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn schedule_text(c: &Chrome, s: &ScheduleRec) -> String {
    match s {
        ScheduleRec::Once { at } => format!("{} {at}", c.t.s("camp.once")),
        ScheduleRec::Every { minutes } => format!(
            "{} {minutes} {}",
            c.t.s("camp.every_short"),
            c.t.s("camp.minutes")
        ),
        ScheduleRec::Cron { expr } => match campaign_form::weekly_of(expr) {
            Some((time, days)) => {
                const KEYS: [&str; 7] = [
                    "day.mon", "day.tue", "day.wed", "day.thu", "day.fri", "day.sat", "day.sun",
                ];
                let on = if days == 0 {
                    c.t.s("camp.every_day").to_string()
                } else {
                    KEYS.iter()
                        .enumerate()
                        .filter(|(i, _)| days & (1 << i) != 0)
                        .map(|(_, k)| c.t.s(k))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("{on} {time}")
            }
            None => format!("cron {expr}"),
        },
    }
}

async fn campaigns_page(
    st: &Shared,
    v: &Viewer,
    id: u64,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let scope = tenant(st, v, id, Want::Read).await?;
    let (name, edit) = (scope.record().name.clone(), can_edit(&scope));
    let c = v.tenant_page();
    let c2 = c.clone();
    let (campaigns, templates, groups, sessions) = blocking(move || {
        let s = scope.shard_read()?;
        let campaigns = s
            .campaigns()?
            .into_iter()
            .map(|(cid, k)| {
                let (state_key, actions) = state_and_actions(&k.state);
                CampaignRow {
                    id: cid.0,
                    name: k.name.clone(),
                    state_key,
                    schedule: schedule_text(&c2, &k.schedule),
                    next_run: k.next_run.map(|n| c2.t.when(n)).unwrap_or_default(),
                    runs: k.runs,
                    actions,
                }
            })
            .collect::<Vec<_>>();
        let templates = s
            .templates()?
            .into_iter()
            .map(|(tid, r)| (tid.0, r.name))
            .collect::<Vec<_>>();
        Ok((
            campaigns,
            templates,
            enabled_groups(&s)?,
            session_choices(&s)?,
        ))
    })
    .await?;
    Ok(render(&CampaignsPage {
        f: Fields::new_campaign(v.chrome.root, id, templates, groups, sessions),
        tenant: id,
        tenant_name: name,
        campaigns,
        edit,
        notice,
        error,
        c,
    }))
}

pub async fn campaigns_list(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let notice = q.done.as_deref().and_then(|d| match d {
        "created" => Some("camp.created"),
        "started" => Some("camp.started"),
        "changed" => Some("camp.changed"),
        "tested" => Some("camp.tested"),
        _ => None,
    });
    let notice = notice.map(|k| v.chrome.t.s(k).to_string());
    campaigns_page(&st, &v, id, notice, None)
        .await
        .unwrap_or_else(|e| error_page(v.page(""), e))
}

pub async fn create_campaign(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<CampaignForm>,
) -> Response {
    let created = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/campaigns"),
        )
        .await?;
        let i = campaign_form::input(&f)?;
        let st2 = st.clone();
        blocking(move || {
            let limit = tenancy::plan_limit(&st2.store, scope.record().plan, |l| l.campaigns)?;
            campaigns::create(&scope, limit, i, st2.now()).map(|_| ())
        })
        .await
    }
    .await;
    match created {
        Ok(()) => Redirect::to(&format!(
            "{}/tenants/{id}/campaigns?done=created",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match campaigns_page(&st, &v, id, None, Some(text)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => error_page(v.page(""), e),
            }
        }
    }
}

pub async fn campaign_action(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, cid, action)): Path<(u64, u64, String)>,
) -> Response {
    let done = async {
        let route = match action.as_str() {
            "activate" => "/api/v1/tenants/{id}/campaigns/{campaign_id}/activate",
            "pause" => "/api/v1/tenants/{id}/campaigns/{campaign_id}/pause",
            "resume" => "/api/v1/tenants/{id}/campaigns/{campaign_id}/resume",
            "run" => "/api/v1/tenants/{id}/campaigns/{campaign_id}/run",
            "test" => "/api/v1/tenants/{id}/campaigns/{campaign_id}/test",
            _ => return Err(AppError::NotFound("action")),
        };
        let scope = tenant(&st, &v, id, Want::Change(Method::POST, route)).await?;
        let cid = CampaignId(cid);
        match action.as_str() {
            "activate" => {
                let scope = blocking(move || {
                    campaigns::ensure_targets(&scope, cid, false)?;
                    Ok(scope)
                })
                .await?;
                campaigns::actions::change_state(&st, scope, cid, campaigns::activate).await?;
                Ok("changed")
            }
            "pause" => {
                campaigns::actions::change_state(&st, scope, cid, |s, _, id, now| {
                    campaigns::pause(s, id, now)
                })
                .await?;
                Ok("changed")
            }
            "resume" => {
                campaigns::actions::change_state(&st, scope, cid, campaigns::resume).await?;
                Ok("changed")
            }
            "run" => match campaigns::actions::run_now(&st, scope, cid).await? {
                RunOutcome::Started { run, .. } => Ok(if run > 0 { "started" } else { "changed" }),
                RunOutcome::Skipped { code, .. } | RunOutcome::Paused { code } => {
                    Err(AppError::Conflict {
                        code: "campaign.not_run",
                        message: format!("the run did not start ({code})"),
                    })
                }
            },
            "test" => {
                let account = v.account;
                campaigns::actions::send_test(&st, scope, account, cid, None).await?;
                Ok("tested")
            }
            _ => Err(AppError::NotFound("action")),
        }
    }
    .await;
    match done {
        Ok(d) => Redirect::to(&format!(
            "{}/tenants/{id}/campaigns?done={d}",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match campaigns_page(&st, &v, id, None, Some(text)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => error_page(v.page(""), e),
            }
        }
    }
}

// ---- a run ----

pub struct RunLine {
    pub group: String,
    pub state: &'static str,
    pub state_key: &'static str,
    pub reason: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "console/run.html")]
struct RunPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    campaign: String,
    run: u32,
    sent: usize,
    failed: usize,
    pending: usize,
    lines: Vec<RunLine>,
}

pub async fn run(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, cid, n)): Path<(u64, u64, u32)>,
) -> Response {
    let page = async {
        let scope = tenant(&st, &v, id, Want::Read).await?;
        let tenant_name = scope.record().name.clone();
        let t = v.chrome.t.clone();
        let (campaign, lines) = blocking(move || {
            let s = scope.shard_read()?;
            let k = s
                .campaign(CampaignId(cid))?
                .ok_or(AppError::NotFound("campaign"))?;
            s.run(CampaignId(cid), n)?
                .ok_or(AppError::NotFound("run"))?;
            let groups: std::collections::HashMap<i64, String> = s
                .groups()?
                .into_iter()
                .map(|(c, g)| (c.0, g.title))
                .collect();
            let lines = s
                .deliveries(CampaignId(cid), n)?
                .into_iter()
                .map(|(chat, d)| {
                    let group = groups
                        .get(&chat.0)
                        .cloned()
                        .unwrap_or_else(|| chat.0.to_string());
                    match d.state {
                        DeliveryStateRec::Pending => RunLine {
                            group,
                            state: "pending",
                            state_key: "run.state_pending",
                            reason: String::new(),
                            at: String::new(),
                        },
                        DeliveryStateRec::Sent { at_ms, .. } => RunLine {
                            group,
                            state: "sent",
                            state_key: "run.state_sent",
                            reason: String::new(),
                            at: t.when(at_ms / 1000),
                        },
                        DeliveryStateRec::Failed { code, at_ms, .. } => RunLine {
                            group,
                            state: "failed",
                            state_key: "run.state_failed",
                            reason: code,
                            at: t.when(at_ms / 1000),
                        },
                        DeliveryStateRec::Skipped { code } => RunLine {
                            group,
                            state: "skipped",
                            state_key: "run.state_skipped",
                            reason: code,
                            at: String::new(),
                        },
                    }
                })
                .collect::<Vec<_>>();
            Ok((k.name, lines))
        })
        .await?;
        let count = |s: &str| lines.iter().filter(|l| l.state == s).count();
        Ok::<_, AppError>(RunPage {
            tenant: id,
            tenant_name,
            campaign,
            run: n,
            sent: count("sent"),
            failed: count("failed") + count("skipped"),
            pending: count("pending"),
            c: v.tenant_page(),
            lines,
        })
    }
    .await;
    match page {
        Ok(p) => render(&p),
        Err(e) => error_page(v.page(""), e),
    }
}

// ---- one campaign: schedule, next runs, pre-flight check, runs ----

#[derive(Template)]
#[template(path = "console/campaign.html")]
struct CampaignPage {
    c: Chrome,
    edit: bool,
    tenant: u64,
    tenant_name: String,
    id: u64,
    name: String,
    state_key: &'static str,
    /// What can be done to it now: `(path, catalogue key)`.
    actions: Vec<(&'static str, &'static str)>,
    schedule: String,
    zone: String,
    next_runs: Vec<String>,
    sendable: u32,
    eta: String,
    sender: &'static str,
    /// `(title, ok, problem, slow mode)`.
    targets: Vec<(String, bool, String, String)>,
    runs: Vec<(u32, String)>,
    /// The form that changes it, for those who may.
    form: Option<Fields>,
    dates: String,
    notice: Option<String>,
    error: Option<String>,
}

/// A moment in words in the reader's language and the tenant's zone: "Mon 2026-12-07 09:30".
fn in_words(t: &super::session::Tr, at: i64) -> String {
    let day = jiff::Timestamp::from_second(at)
        .map(|ts| ts.to_zoned_datetime(t.zone.clone()).weekday())
        .map(|w| match w {
            jiff::civil::Weekday::Monday => "day.mon",
            jiff::civil::Weekday::Tuesday => "day.tue",
            jiff::civil::Weekday::Wednesday => "day.wed",
            jiff::civil::Weekday::Thursday => "day.thu",
            jiff::civil::Weekday::Friday => "day.fri",
            jiff::civil::Weekday::Saturday => "day.sat",
            jiff::civil::Weekday::Sunday => "day.sun",
        });
    match day {
        Ok(key) => format!("{} {}", t.s(key), t.when(at)),
        Err(_) => t.when(at),
    }
}

/// The next five runs of the schedule being filled in, in the tenant's zone, as a list the
/// campaign form shows; what is wrong with it otherwise.
pub async fn schedule_preview(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<campaign_form::CampaignForm>,
) -> Response {
    let scope = match tenant(&st, &v, id, Want::Read).await {
        Ok(s) => s,
        Err(e) => return (StatusCode::NOT_FOUND, error_text(&v.chrome, &e)).into_response(),
    };
    let now = st.now();
    let lang = v.chrome.t.lang;
    let shown = blocking(move || {
        let settings = tenancy::settings(&scope)?;
        let t = super::session::Tr {
            lang,
            zone: tenancy::zone(&settings),
        };
        let i = campaign_form::input(&f)?;
        let runs = campaigns::preview_runs(&scope, &settings, &i, now, 5)?;
        Ok::<_, AppError>((
            runs.into_iter()
                .map(|at| in_words(&t, at))
                .collect::<Vec<_>>(),
            settings.time_zone,
        ))
    })
    .await;
    match shown {
        Ok((runs, _)) if runs.is_empty() => Html(format!(
            "<p>{}</p>",
            html_escape(v.chrome.t.s("camp.no_next"))
        ))
        .into_response(),
        Ok((runs, zone)) => {
            let items: String = runs
                .iter()
                .map(|r| format!("<li>{}</li>", html_escape(r)))
                .collect();
            Html(format!(
                r#"<ol>{items}</ol><p class="help">{} {}</p>"#,
                html_escape(v.chrome.t.s("camp.zone")),
                html_escape(&zone)
            ))
            .into_response()
        }
        Err(e) => Html(format!(
            r#"<p class="error" role="alert">{}</p>"#,
            html_escape(&error_text(&v.chrome, &e))
        ))
        .into_response(),
    }
}

/// The next `n` runs after `now` as the schedule and window give them (jitter left out).
fn next_runs(
    rec: &botyard_shards::records::CampaignRec,
    settings: &botyard_shards::records::SettingsRec,
    now: i64,
    n: usize,
) -> Vec<i64> {
    let mut plain = rec.clone();
    plain.jitter_secs = 0;
    let mut out = Vec::with_capacity(n);
    let mut after = now;
    while out.len() < n {
        match campaigns::next_run(&plain, settings, after) {
            Some(at) if at > after => {
                out.push(at);
                after = at;
            }
            _ => break,
        }
    }
    out
}

/// The tenant's sessions to choose the poster from: `(id, label)`.
fn session_choices<T: botyard_shards::Reader>(
    s: &botyard_shards::TenantShard<T>,
) -> AppResult<Vec<(u64, String)>> {
    Ok(s.sessions()?
        .into_iter()
        .map(|(id, r)| (id.0, r.label))
        .collect())
}

/// The groups a campaign may name: enabled and still among the sessions' chats, by title.
fn enabled_groups<T: botyard_shards::Reader>(
    s: &botyard_shards::TenantShard<T>,
) -> AppResult<Vec<(i64, String)>> {
    let mut g: Vec<(i64, String)> = s
        .groups()?
        .into_iter()
        .filter(|(_, g)| g.enabled && g.present)
        .map(|(c, g)| (c.0, g.title))
        .collect();
    g.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(g)
}

/// A campaign state's catalogue key and the actions it allows: `(path, catalogue key)`.
fn state_and_actions(
    state: &CampaignStateRec,
) -> (&'static str, Vec<(&'static str, &'static str)>) {
    match state {
        CampaignStateRec::Draft => (
            "camp.state_draft",
            vec![("activate", "camp.activate"), ("run", "camp.run_now")],
        ),
        CampaignStateRec::Active => (
            "camp.state_active",
            vec![("pause", "camp.pause"), ("run", "camp.run_now")],
        ),
        CampaignStateRec::Paused { .. } => (
            "camp.state_paused",
            vec![("resume", "camp.resume"), ("run", "camp.run_now")],
        ),
        _ => ("camp.state_done", vec![("run", "camp.run_now")]),
    }
}

async fn campaign_page(st: &Shared, v: &Viewer, id: u64, cid: u64) -> AppResult<CampaignPage> {
    {
        let scope = tenant(st, v, id, Want::Read).await?;
        let tenant_name = scope.record().name.clone();
        let edit = can_edit(&scope);
        let c = v.tenant_page();
        let c2 = c.clone();
        let st2 = st.clone();
        blocking(move || {
            let cid = CampaignId(cid);
            let settings = tenancy::settings(&scope)?;
            let zone = tenancy::zone(&settings);
            let t = super::session::Tr {
                lang: c2.t.lang,
                zone,
            };
            let s = scope.shard_read()?;
            let rec = s.campaign(cid)?.ok_or(AppError::NotFound("campaign"))?;
            let d = &st2.config.delivery;
            let check = campaigns::check(&scope, cid, &d.bot, &d.user)?;
            let runs = s
                .runs(cid, 20)?
                .into_iter()
                .map(|(n, r)| (n, t.when(r.started_at)))
                .collect();
            let form = if edit {
                let templates = s
                    .templates()?
                    .into_iter()
                    .map(|(tid, r)| (tid.0, r.name))
                    .collect();
                Some(Fields::of(
                    c2.root,
                    id,
                    cid.0,
                    &rec,
                    templates,
                    enabled_groups(&s)?,
                    session_choices(&s)?,
                ))
            } else {
                None
            };
            let dates = match (&rec.starts_on, &rec.ends_on) {
                (None, None) => String::new(),
                (a, b) => format!(
                    "{} – {}",
                    a.as_deref().unwrap_or("…"),
                    b.as_deref().unwrap_or("…")
                ),
            };
            let (state_key, actions) = state_and_actions(&rec.state);
            Ok(CampaignPage {
                edit,
                tenant: id,
                tenant_name,
                id: cid.0,
                name: rec.name.clone(),
                state_key,
                actions: if edit { actions } else { Vec::new() },
                schedule: schedule_text(&c2, &rec.schedule),
                zone: settings.time_zone.clone(),
                next_runs: next_runs(&rec, &settings, st2.now(), 5)
                    .into_iter()
                    .map(|at| in_words(&t, at))
                    .collect(),
                sendable: check.sendable,
                eta: t.span(check.eta_secs as i64),
                sender: check.sender,
                targets: check
                    .targets
                    .into_iter()
                    .map(|g| {
                        (
                            g.title,
                            g.ok,
                            g.problem.unwrap_or("").to_string(),
                            if g.slow_mode_secs > 0 {
                                t.span(i64::from(g.slow_mode_secs))
                            } else {
                                String::new()
                            },
                        )
                    })
                    .collect(),
                runs,
                form,
                dates,
                notice: None,
                error: None,
                c: c2,
            })
        })
        .await
    }
}

#[derive(Deserialize)]
pub struct ChangedQuery {
    done: Option<String>,
}

pub async fn campaign(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, cid)): Path<(u64, u64)>,
    Query(q): Query<ChangedQuery>,
) -> Response {
    match campaign_page(&st, &v, id, cid).await {
        Ok(mut p) => {
            if q.done.as_deref() == Some("saved") {
                p.notice = Some(v.chrome.t.s("camp.saved").to_string());
            }
            render(&p)
        }
        Err(e) => error_page(v.page(""), e),
    }
}

/// Changes a saved campaign from its page; an active one is rescheduled at once. The pinned
/// version and the session (set through the API) stay as they are.
pub async fn edit_campaign(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, cid)): Path<(u64, u64)>,
    Form(f): Form<CampaignForm>,
) -> Response {
    let saved = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::PUT, "/api/v1/tenants/{id}/campaigns/{campaign_id}"),
        )
        .await?;
        let mut i = campaign_form::input(&f)?;
        let st2 = st.clone();
        let (scope, rec) = blocking(move || {
            let cid = CampaignId(cid);
            let old = scope
                .shard_read()?
                .campaign(cid)?
                .ok_or(AppError::NotFound("campaign"))?;
            i.version = old.version;
            // The form names the session only when the tenant has several.
            i.session = i.session.or(Some(old.session.0));
            let settings = tenancy::settings(&scope)?;
            let rec = campaigns::update(&scope, &settings, cid, i, st2.now())?;
            Ok((scope, rec))
        })
        .await?;
        campaigns::actions::reschedule(&st, &scope, CampaignId(cid), &rec);
        Ok::<_, AppError>(())
    }
    .await;
    match saved {
        Ok(()) => Redirect::to(&format!(
            "{}/tenants/{id}/campaigns/{cid}?done=saved",
            v.chrome.root
        ))
        .into_response(),
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match campaign_page(&st, &v, id, cid).await {
                Ok(mut p) => {
                    p.error = Some(text);
                    (status, render(&p)).into_response()
                }
                Err(e) => error_page(v.page(""), e),
            }
        }
    }
}

/// A file uploaded as the raw body (the console's script sends it with its progress shown);
/// answers 201 or the error's text.
pub async fn upload_media(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<UploadQuery>,
    body: axum::body::Body,
) -> Response {
    let stored = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/media"),
        )
        .await?;
        crate::http::media_routes::upload(&st, scope, &q.name, body).await
    }
    .await;
    match stored {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(e) => super::error_fragment(&v.chrome, &e),
    }
}

#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: String,
}

// ---- one template: its latest version in the editor; saving makes a new version ----

#[derive(Template)]
#[template(path = "console/template_edit.html")]
struct TemplateEditPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    id: u64,
    name: String,
    version: u32,
    body: String,
    buttons: String,
    html: bool,
    media_id: Option<u64>,
    media: Vec<(u64, String)>,
    /// Every saved version, newest first: `(number, saved at, its text's start)`.
    history: Vec<(u32, String, String)>,
    edit: bool,
    error: Option<String>,
}

/// The start of a version's text, for the history list.
fn excerpt(body: &str) -> String {
    const SHOWN: usize = 80;
    let mut out: String = body.chars().take(SHOWN).collect();
    if body.chars().nth(SHOWN).is_some() {
        out.push('…');
    }
    out
}

async fn template_page(
    st: &Shared,
    v: &Viewer,
    id: u64,
    tid: u64,
    draft: Option<TemplateForm>,
    error: Option<String>,
) -> AppResult<Response> {
    let scope = tenant(st, v, id, Want::Read).await?;
    let (tenant_name, edit) = (scope.record().name.clone(), can_edit(&scope));
    let (rec, ver, media, versions) = blocking(move || {
        let s = scope.shard_read()?;
        let rec = s
            .template(TemplateId(tid))?
            .ok_or(AppError::NotFound("template"))?;
        let ver = s
            .template_version(TemplateId(tid), rec.latest)?
            .ok_or(AppError::NotFound("template version"))?;
        let media = s
            .media_files()?
            .into_iter()
            .map(|(m, r)| (m.0, r.name))
            .collect::<Vec<_>>();
        let versions = s.template_versions(TemplateId(tid))?;
        Ok((rec, ver, media, versions))
    })
    .await?;
    let t = &v.chrome.t;
    let history = versions
        .into_iter()
        .rev()
        .map(|(n, r)| (n, t.when(r.created_at), excerpt(&r.body)))
        .collect();
    let (name, body, buttons, html, media_id) = match draft {
        Some(f) => (
            f.name,
            f.body,
            f.buttons,
            f.format == "html",
            f.media_id.parse::<u64>().ok(),
        ),
        None => (
            rec.name,
            ver.body.clone(),
            buttons_text::format(&templates::buttons_of(&ver)),
            ver.format == TemplateFormatRec::Html,
            ver.media.map(|m| m.0),
        ),
    };
    Ok(render(&TemplateEditPage {
        tenant: id,
        tenant_name,
        id: tid,
        name,
        version: rec.latest,
        body,
        buttons,
        html,
        media_id,
        media,
        history,
        edit,
        error,
        c: v.tenant_page(),
    }))
}

pub async fn template(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, tid)): Path<(u64, u64)>,
) -> Response {
    template_page(&st, &v, id, tid, None, None)
        .await
        .unwrap_or_else(|e| error_page(v.page(""), e))
}

/// Saves the editor as the template's next version (a name alone renames it).
pub async fn update_template(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, tid)): Path<(u64, u64)>,
    Form(f): Form<TemplateForm>,
) -> Response {
    let saved = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(
                Method::PATCH,
                "/api/v1/tenants/{id}/templates/{template_id}",
            ),
        )
        .await?;
        let media = match f.media_id.as_str() {
            "" => None,
            m => Some(botyard_shards::ids::MediaId(m.parse::<u64>().map_err(
                |_| AppError::invalid("media_id", "not a file of this tenant"),
            )?)),
        };
        let c = Content {
            body: f.body.clone(),
            format: format_of(&f.format),
            buttons: buttons_text::parse(&f.buttons)?,
            media,
        };
        let (name, now, author) = (f.name.clone(), st.now(), v.account.0);
        blocking(move || {
            templates::update(
                &scope,
                TemplateId(tid),
                Some(&name),
                Some(c),
                now,
                Some(author),
            )
            .map(|_| ())
        })
        .await
    }
    .await;
    if saved.is_ok() {
        // Rules reply with the latest version.
        st.supervisor
            .push_rules(botyard_shards::ids::TenantId(id))
            .await;
    }
    match saved {
        Ok(()) => Redirect::to(&format!(
            "{}/tenants/{id}/templates?done=saved",
            v.chrome.root
        ))
        .into_response(),
        Err(e @ AppError::Invalid { .. }) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match template_page(&st, &v, id, tid, Some(f), Some(text)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => error_page(v.page(""), e),
            }
        }
        Err(e) => error_page(v.page(""), e),
    }
}
