//! Campaigns: CRUD, actions (activate, pause, resume, run now, duplicate, test post) and the
//! pre-activation check. Their runs and delivery reports are in `run_routes`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::{CampaignId, TemplateId};
use botyard_shards::records::{CampaignRec, CampaignStateRec, ScheduleRec, WindowRec};

use crate::clock::rfc3339;
use crate::domain::campaigns::{self, Input, schedule};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(get_campaign, update_campaign, delete_campaign))
        .routes(routes!(activate_campaign))
        .routes(routes!(pause_campaign))
        .routes(routes!(resume_campaign))
        .routes(routes!(run_campaign))
        .routes(routes!(duplicate_campaign))
        .routes(routes!(test_campaign))
        .routes(routes!(check_campaign))
}

/// When a campaign runs: exactly one of the fields.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIo {
    /// Once, at a local date and time: `2026-12-01T09:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub once: Option<String>,
    /// Every so many minutes (10 to 10080).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
    /// Five-field cron: minute hour day-of-month month day-of-week (`0 9 * * mon-fri`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
}

/// Hours and weekdays in which posts go out, in the tenant's time zone.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct WindowIo {
    /// `09:00`
    pub start: String,
    /// `21:00` (exclusive; `24:00` for the end of the day)
    pub end: String,
    /// `mon` … `sun`; all days when omitted.
    #[serde(default)]
    pub days: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    pub name: String,
    pub template_id: u64,
    /// Pin a template version; by default each run sends the latest.
    pub version: Option<u32>,
    /// Groups by chat id (enabled for automation)…
    #[serde(default)]
    pub chat_ids: Vec<i64>,
    /// …and/or every enabled group with one of these tags, resolved at each run.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The session that posts (default: the tenant's only session).
    pub session_id: Option<u64>,
    pub schedule: ScheduleIo,
    pub window: Option<WindowIo>,
    /// First and last day (`2026-12-01`), inclusive, in the tenant's time zone.
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    /// Each run starts up to this many seconds late, at random (at most 3600).
    #[serde(default)]
    pub jitter_secs: u32,
    /// Delete the campaign's previous post in a group before posting the next.
    #[serde(default)]
    pub delete_previous: bool,
    /// Pin each post.
    #[serde(default)]
    pub pin: bool,
    /// Save even when no enabled group matches the targets yet (else `409 campaign.no_targets`).
    #[serde(default)]
    pub force: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Active,
    Paused,
    Finished,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: u64,
    pub name: String,
    pub template_id: u64,
    pub version: Option<u32>,
    pub chat_ids: Vec<i64>,
    pub tags: Vec<String>,
    pub session_id: u64,
    pub schedule: ScheduleIo,
    pub window: Option<WindowIo>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub jitter_secs: u32,
    pub delete_previous: bool,
    pub pin: bool,
    pub state: CampaignState,
    /// Why it is paused: `campaign.paused` (by the tenant), `session.revoked`,
    /// `campaign.removed_from_most`, `campaign.flood_wait`, `campaign.template_missing` …
    pub paused_code: Option<String>,
    pub paused_reason: Option<String>,
    /// The next run (jitter included), when active, in UTC.
    pub next_run: Option<String>,
    /// The same instant in the tenant's time zone, as the schedule and window are written
    /// (`2026-12-04T09:30:00+03:00[Europe/Istanbul]`).
    pub next_run_local: Option<String>,
    pub runs: u32,
    pub created_at: String,
    pub updated_at: String,
}

fn hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

pub(crate) fn parse_hhmm(s: &str, field: &str) -> AppResult<u16> {
    let bad = || AppError::Invalid {
        code: "campaign.window",
        field: field.into(),
        message: format!("`{s}` is not a time like 09:00"),
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn schedule_in(s: ScheduleIo) -> AppResult<ScheduleRec> {
    match (s.once, s.every_minutes, s.cron) {
        (Some(at), None, None) => Ok(ScheduleRec::Once { at }),
        (None, Some(minutes), None) => Ok(ScheduleRec::Every { minutes }),
        (None, None, Some(expr)) => Ok(ScheduleRec::Cron { expr }),
        _ => Err(AppError::Invalid {
            code: "campaign.schedule",
            field: "schedule".into(),
            message: "give exactly one of once, every_minutes or cron".into(),
        }),
    }
}

fn schedule_out(s: &ScheduleRec) -> ScheduleIo {
    match s {
        ScheduleRec::Once { at } => ScheduleIo {
            once: Some(at.clone()),
            ..ScheduleIo::default()
        },
        ScheduleRec::Every { minutes } => ScheduleIo {
            every_minutes: Some(*minutes),
            ..ScheduleIo::default()
        },
        ScheduleRec::Cron { expr } => ScheduleIo {
            cron: Some(expr.clone()),
            ..ScheduleIo::default()
        },
    }
}

fn window_in(w: WindowIo) -> AppResult<WindowRec> {
    let mut days = 0u8;
    for d in &w.days {
        let wd = schedule::weekday_of(d).ok_or_else(|| AppError::Invalid {
            code: "campaign.window",
            field: "window.days".into(),
            message: format!("`{d}` is not one of mon, tue, wed, thu, fri, sat, sun"),
        })?;
        days |= 1 << wd.to_monday_zero_offset();
    }
    Ok(WindowRec {
        start_min: parse_hhmm(&w.start, "window.start")?,
        end_min: parse_hhmm(&w.end, "window.end")?,
        days: if w.days.is_empty() { 0x7f } else { days },
    })
}

fn window_out(w: &WindowRec) -> WindowIo {
    WindowIo {
        start: hhmm(w.start_min),
        end: hhmm(w.end_min),
        days: schedule::DAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| w.days & (1 << i) != 0)
            .map(|(_, d)| (*d).to_string())
            .collect(),
    }
}

fn input(b: CampaignIn) -> AppResult<Input> {
    Ok(Input {
        name: b.name,
        template: TemplateId(b.template_id),
        version: b.version,
        chats: b.chat_ids,
        tags: b.tags,
        session: b.session_id,
        schedule: schedule_in(b.schedule)?,
        window: b.window.map(window_in).transpose()?,
        starts_on: b.starts_on,
        ends_on: b.ends_on,
        jitter_secs: b.jitter_secs,
        delete_previous: b.delete_previous,
        pin: b.pin,
        force: b.force,
    })
}

fn campaign_out(id: CampaignId, r: &CampaignRec, zone: &jiff::tz::TimeZone) -> CampaignOut {
    let (state, code, reason) = match &r.state {
        CampaignStateRec::Draft => (CampaignState::Draft, None, None),
        CampaignStateRec::Active => (CampaignState::Active, None, None),
        CampaignStateRec::Paused { code, reason } => (
            CampaignState::Paused,
            Some(code.clone()),
            Some(reason.clone()),
        ),
        CampaignStateRec::Finished => (CampaignState::Finished, None, None),
    };
    CampaignOut {
        id: id.0,
        name: r.name.clone(),
        template_id: r.template.0,
        version: r.version,
        chat_ids: r.chats.iter().map(|c| c.0).collect(),
        tags: r.tags.clone(),
        session_id: r.session.0,
        schedule: schedule_out(&r.schedule),
        window: r.window.as_ref().map(window_out),
        starts_on: r.starts_on.clone(),
        ends_on: r.ends_on.clone(),
        jitter_secs: r.jitter_secs,
        delete_previous: r.delete_previous,
        pin: r.pin,
        state,
        paused_code: code,
        paused_reason: reason,
        next_run: r.next_run.map(rfc3339),
        next_run_local: r.next_run.and_then(|t| local_time(t, zone)),
        runs: r.runs,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

/// Unix second `t` in `zone`, with its offset and zone name.
fn local_time(t: i64, zone: &jiff::tz::TimeZone) -> Option<String> {
    let z = jiff::Timestamp::from_second(t)
        .ok()?
        .to_zoned_datetime(zone.clone());
    Some(z.strftime("%Y-%m-%dT%H:%M:%S%:z[%Q]").to_string())
}

/// The tenant's campaigns, by id.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/campaigns", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<CampaignOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_campaigns(
    State(st): State<Shared>,
    t: TenantCtx,
) -> AppResult<Json<Vec<CampaignOut>>> {
    let zone = st.supervisor.zone(t.scope.tenant_id()).await;
    let all = blocking(move || Ok(t.scope.shard_read()?.campaigns()?)).await?;
    Ok(Json(
        all.iter()
            .map(|(id, r)| campaign_out(*id, r, &zone))
            .collect(),
    ))
}

/// Saves a campaign as a draft (activate it to schedule it).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id")),
    request_body = CampaignIn,
    responses((status = 201, body = CampaignOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn create_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<CampaignIn>,
) -> AppResult<(StatusCode, Json<CampaignOut>)> {
    let zone = st.supervisor.zone(t.scope.tenant_id()).await;
    let i = input(b)?;
    let (id, rec) = blocking(move || {
        let limit =
            crate::domain::tenancy::plan_limit(&st.store, t.scope.record().plan, |l| l.campaigns)?;
        campaigns::create(&t.scope, limit, i, st.now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(campaign_out(id, &rec, &zone))))
}

/// One campaign.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<CampaignOut>> {
    let zone = st.supervisor.zone(t.scope.tenant_id()).await;
    let id = CampaignId(ids.1);
    let rec = blocking(move || {
        t.scope
            .shard_read()?
            .campaign(id)?
            .ok_or(AppError::NotFound("campaign"))
    })
    .await?;
    Ok(Json(campaign_out(id, &rec, &zone)))
}

/// Replaces a campaign's settings; an active one is rescheduled from now.
#[utoipa::path(put, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    request_body = CampaignIn,
    responses((status = 200, body = CampaignOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<CampaignIn>,
) -> AppResult<Json<CampaignOut>> {
    let zone = st.supervisor.zone(t.scope.tenant_id()).await;
    let id = CampaignId(ids.1);
    let i = input(b)?;
    let st2 = st.clone();
    let (scope, rec) = blocking(move || {
        let settings = crate::domain::tenancy::settings(&t.scope)?;
        let rec = campaigns::update(&t.scope, &settings, id, i, st2.now())?;
        Ok((t.scope, rec))
    })
    .await?;
    campaigns::actions::reschedule(&st, &scope, id, &rec);
    Ok(Json(campaign_out(id, &rec, &zone)))
}

/// Deletes a campaign with its runs and reports; posts already queued may still go out.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn delete_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    let id = CampaignId(ids.1);
    let tenant = t.scope.tenant_id();
    blocking(move || campaigns::delete(&t.scope, id)).await?;
    st.scheduler.set(tenant, id, None);
    Ok(StatusCode::NO_CONTENT)
}

/// An action that changes the campaign's state and schedule.
async fn state_action(
    st: Shared,
    t: TenantCtx,
    id: CampaignId,
    f: campaigns::actions::StateChange,
) -> AppResult<Json<CampaignOut>> {
    let zone = st.supervisor.zone(t.scope.tenant_id()).await;
    let (_, rec) = campaigns::actions::change_state(&st, t.scope, id, f).await?;
    Ok(Json(campaign_out(id, &rec, &zone)))
}

/// Schedules the campaign from now (409 `campaign.no_future_run` when nothing is left to run).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/activate", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id"), ForceQuery),
    responses((status = 200, body = CampaignOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn activate_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiQuery(q): ApiQuery<ForceQuery>,
) -> AppResult<Json<CampaignOut>> {
    let id = CampaignId(ids.1);
    let t = blocking(move || {
        campaigns::ensure_targets(&t.scope, id, q.force)?;
        Ok(t)
    })
    .await?;
    state_action(st, t, id, campaigns::activate).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForceQuery {
    /// Activate even when no enabled group matches the targets (else `409 campaign.no_targets`).
    #[serde(default)]
    pub force: bool,
}

/// Pauses an active campaign.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/pause", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn pause_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<CampaignOut>> {
    state_action(st, t, CampaignId(ids.1), |s, _, id, now| {
        campaigns::pause(s, id, now)
    })
    .await
}

/// Resumes a paused campaign at its next run after now.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/resume", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn resume_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<CampaignOut>> {
    state_action(st, t, CampaignId(ids.1), campaigns::resume).await
}

#[derive(Serialize, ToSchema)]
pub struct RunStarted {
    pub run: u32,
    /// `started`, `skipped` or `paused`.
    pub status: &'static str,
    /// Why it was skipped or paused.
    pub code: Option<&'static str>,
    /// Posts handed to the worker.
    pub posts: u32,
}

/// Runs the campaign now, whatever its schedule (its next scheduled run stays).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/run", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 202, body = RunStarted), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn run_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<(StatusCode, Json<RunStarted>)> {
    use campaigns::actions::RunOutcome;
    let out = match campaigns::actions::run_now(&st, t.scope, CampaignId(ids.1)).await? {
        RunOutcome::Started { run, posts } => RunStarted {
            run,
            status: "started",
            code: None,
            posts,
        },
        RunOutcome::Skipped { run, code } => RunStarted {
            run,
            status: "skipped",
            code: Some(code),
            posts: 0,
        },
        RunOutcome::Paused { code } => RunStarted {
            run: 0,
            status: "paused",
            code: Some(code),
            posts: 0,
        },
    };
    Ok((StatusCode::ACCEPTED, Json(out)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TestQuery {
    /// Fill `{group.*}` variables from this group (default: the first target).
    pub group: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TestSent {
    /// The caller's Telegram user, who got the post from the platform bot.
    pub telegram_user_id: i64,
    pub message_id: i64,
    pub sent_at: String,
}

/// Sends the campaign's post to me: to my own chat with the platform bot, as the campaign
/// would post it (template, media, buttons, variables filled for a group). Nothing is
/// recorded as a run. Link Telegram first (`POST /api/v1/auth/telegram/link`).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/test", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id"), TestQuery),
    responses((status = 200, body = TestSent), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 502, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope), (status = 504, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn test_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiQuery(q): ApiQuery<TestQuery>,
) -> AppResult<Json<TestSent>> {
    let account = t.caller.account().ok_or(AppError::Forbidden {
        code: "telegram.account_required",
        message: "an API key has no Telegram user; log in as a person",
    })?;
    let sent = campaigns::actions::send_test(
        &st,
        t.scope,
        account,
        CampaignId(ids.1),
        q.group.map(botyard_shards::ids::ChatId),
    )
    .await?;
    Ok(Json(TestSent {
        telegram_user_id: sent.telegram_user_id,
        message_id: sent.message_id,
        sent_at: rfc3339(sent.at_ms.div_euclid(1000)),
    }))
}

/// A draft copy of the campaign.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/duplicate", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 201, body = CampaignOut), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn duplicate_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<(StatusCode, Json<CampaignOut>)> {
    let zone = st.supervisor.zone(t.scope.tenant_id()).await;
    let src = CampaignId(ids.1);
    let (id, rec) = blocking(move || {
        let settings = crate::domain::tenancy::settings(&t.scope)?;
        let limit =
            crate::domain::tenancy::plan_limit(&st.store, t.scope.record().plan, |l| l.campaigns)?;
        campaigns::duplicate(&t.scope, limit, settings.language, src, st.now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(campaign_out(id, &rec, &zone))))
}

/// Whether the sender can post in each target now, and how long one run takes.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/check", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 200, body = CheckOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn check_campaign(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<CheckOut>> {
    let id = CampaignId(ids.1);
    let c = blocking(move || {
        let d = &st.config.delivery;
        campaigns::check(&t.scope, id, &d.bot, &d.user)
    })
    .await?;
    Ok(Json(CheckOut {
        targets: c
            .targets
            .into_iter()
            .map(|t| TargetCheckOut {
                chat_id: t.chat_id,
                title: t.title,
                ok: t.ok,
                problem: t.problem,
                slow_mode_secs: t.slow_mode_secs,
            })
            .collect(),
        sendable: c.sendable,
        eta_secs: c.eta_secs,
        sender: c.sender,
    }))
}

/// One target in the pre-activation check.
#[derive(Serialize, ToSchema)]
#[schema(as = TargetCheck)]
pub struct TargetCheckOut {
    pub chat_id: i64,
    pub title: String,
    /// Whether the sender can post there now.
    pub ok: bool,
    /// `not_member`, `not_in_session` or `no_rights` when it cannot.
    pub problem: Option<&'static str>,
    /// Slow mode in the group, in seconds (0: off).
    pub slow_mode_secs: u32,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Check)]
pub struct CheckOut {
    pub targets: Vec<TargetCheckOut>,
    /// Targets that will get a post.
    pub sendable: u32,
    /// Estimated seconds for one run to finish at the sender's rate limits.
    pub eta_secs: u64,
    /// Whether the sender posts at bot or at user-account speed.
    pub sender: &'static str,
}
