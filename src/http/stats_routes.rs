//! Statistics: the dashboard summary, messages, users, groups, the heat map, campaign
//! deliveries and retention. Every series is in the tenant's local dates; `format=csv` gives
//! the same data as a CSV download.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::{CampaignId, ChatId, Day};
use botyard_shards::{ReadTransaction, TenantScope, TenantShard};

use crate::domain::stats::activity;
use crate::domain::stats::{self, Horizon, Range};
use crate::error::{AppError, AppResult};
use crate::http::csv;
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiPath, ApiQuery, TenantCtx};
use crate::http::stats_views::{self as view, Interval};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(messages))
        .routes(routes!(heatmap))
        .routes(routes!(users))
        .routes(routes!(top_users))
        .routes(routes!(user_activity))
        .routes(routes!(groups))
        .routes(routes!(group_growth))
        .routes(routes!(deliveries))
        .routes(routes!(retention))
        .routes(routes!(list_reports, make_report))
        .routes(routes!(get_report))
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = StatsFormat)]
pub enum Format {
    #[default]
    Json,
    Csv,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First local date, `2026-11-01` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last local date, included (default: today in the tenant's zone).
    pub to: Option<String>,
    /// One group's chat id (default: all groups).
    pub group: Option<i64>,
    /// `day` (default) or `hour`, for the message series.
    #[param(inline)]
    pub interval: Option<Interval>,
    /// Top users: how many, 1 to 100 (default 20).
    pub limit: Option<usize>,
    /// Deliveries: one campaign.
    pub campaign: Option<u64>,
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<Format>,
}

/// The tenant's zone, today there, and how long its plan keeps per-user rows.
struct Ctx {
    zone: jiff::tz::TimeZone,
    today: Day,
    retention: u32,
}

fn ctx(st: &Shared, scope: &TenantScope) -> AppResult<Ctx> {
    let settings = crate::domain::tenancy::settings(scope)?;
    let zone = crate::domain::tenancy::zone(&settings);
    let retention =
        crate::domain::tenancy::plan_limit(&st.store, scope.record().plan, |l| l.retention_days)?
            .unwrap_or(u32::MAX);
    Ok(Ctx {
        today: stats::today(&zone, st.now()),
        zone,
        retention,
    })
}

impl StatsQuery {
    fn range(&self, c: &Ctx, h: Horizon) -> AppResult<Range> {
        stats::range(
            self.from.as_deref(),
            self.to.as_deref(),
            c.today,
            c.retention,
            h,
        )
    }

    fn csv(&self) -> bool {
        self.format == Some(Format::Csv)
    }
}

/// The request's range, the tenant's shard and the chats asked about (one group, or all),
/// handed to `f` inside the blocking task.
fn read<T>(
    st: &Shared,
    scope: &TenantScope,
    q: &StatsQuery,
    h: Horizon,
    f: impl FnOnce(&Ctx, Range, &TenantShard<ReadTransaction>, &[ChatId]) -> AppResult<T>,
) -> AppResult<(Range, T)> {
    let c = ctx(st, scope)?;
    let r = q.range(&c, h)?;
    let s = scope.shard_read()?;
    let chats = stats::chats(&s, q.group)?;
    Ok((r, f(&c, r, &s, &chats)?))
}

fn name(kind: &str, r: Range) -> String {
    format!("{kind}-{}-{}", stats::date_of(r.from), stats::date_of(r.to))
}

fn n(v: impl ToString) -> String {
    v.to_string()
}

#[derive(Serialize, ToSchema)]
pub struct RangeOut {
    pub from: String,
    pub to: String,
}

fn range_out(r: Range) -> RangeOut {
    RangeOut {
        from: stats::date_of(r.from).to_string(),
        to: stats::date_of(r.to).to_string(),
    }
}

/// The dashboard in one call: messages, active and new users, joins and leaves, the most
/// active group and campaign posts, today against yesterday and this week (Monday to today)
/// against last week.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/summary", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), SummaryQuery),
    responses((status = 200, body = view::Summary, description = "JSON, or CSV (a row per period) with format=csv"), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn summary(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> AppResult<Response> {
    let out = blocking(move || {
        let c = ctx(&st, &t.scope)?;
        stats::summary::summary(&t.scope.shard_read()?, &c.zone, c.today)
    })
    .await?;
    if q.format == Some(Format::Csv) {
        let row = |name: &str, p: &stats::summary::Period| {
            vec![
                name.to_string(),
                p.from.clone(),
                p.to.clone(),
                n(p.messages),
                n(p.active_users),
                n(p.new_users),
                n(p.joins),
                n(p.leaves),
                n(p.net),
                n(p.sent),
                n(p.failed),
                n(p.skipped),
            ]
        };
        let rows = vec![
            row("today", &out.today),
            row("yesterday", &out.yesterday),
            row("this_week", &out.this_week),
            row("last_week", &out.last_week),
        ];
        return Ok(csv::response(
            &format!("summary-{}", out.today.to),
            &[
                "period",
                "from",
                "to",
                "messages",
                "active_users",
                "new_users",
                "joins",
                "leaves",
                "net",
                "sent",
                "failed",
                "skipped",
            ],
            rows.into_iter(),
        ));
    }
    Ok(Json(view::Summary::from(out)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<Format>,
}
#[derive(Serialize, ToSchema)]
pub struct MessagesOut {
    #[serde(flatten)]
    pub range: RangeOut,
    #[serde(flatten)]
    pub messages: view::Messages,
}

/// Messages: the total, by kind (text, media, service) and per day or per local hour.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/messages", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), StatsQuery),
    responses((status = 200, body = MessagesOut, description = "JSON, or CSV (`at,messages`) with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn messages(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, m) = blocking(move || {
        read(&st, &t.scope, &q, Horizon::Counters, |_, r, s, chats| {
            activity::messages(s, chats, r, q.interval.unwrap_or(Interval::Day).into())
        })
    })
    .await?;
    if csv {
        let rows = m.series.into_iter().map(|p| vec![p.at, n(p.value)]);
        return Ok(csv::response(
            &name("messages", r),
            &["at", "messages"],
            rows,
        ));
    }
    Ok(Json(MessagesOut {
        range: range_out(r),
        messages: m.into(),
    })
    .into_response())
}

/// Messages by weekday (Monday first) and local hour.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/heatmap", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), StatsQuery),
    responses((status = 200, body = view::Heatmap, description = "JSON, or CSV (`weekday,h00…h23`) with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn heatmap(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, h) = blocking(move || {
        read(&st, &t.scope, &q, Horizon::Counters, |_, r, s, chats| {
            activity::heatmap(s, chats, r)
        })
    })
    .await?;
    if csv {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let hours: Vec<String> = (0..24).map(|h| format!("h{h:02}")).collect();
        let mut header = vec!["weekday"];
        header.extend(hours.iter().map(String::as_str));
        let rows = h.cells.into_iter().enumerate().map(|(i, row)| {
            std::iter::once(DAYS[i].to_string())
                .chain(row.into_iter().map(n))
                .collect()
        });
        return Ok(csv::response(&name("heatmap", r), &header, rows));
    }
    Ok(Json(view::Heatmap::from(h)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct UsersOut {
    #[serde(flatten)]
    pub range: RangeOut,
    #[serde(flatten)]
    pub users: view::Users,
}

/// Active users per day, week and month (distinct posters) and users new in the range.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/users", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), StatsQuery),
    responses((status = 200, body = UsersOut, description = "JSON, or CSV (`date,active`) with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn users(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, u) = blocking(move || {
        read(&st, &t.scope, &q, Horizon::Users, |c, r, s, chats| {
            activity::users(s, &c.zone, chats, q.group.map(ChatId), r)
        })
    })
    .await?;
    if csv {
        // One file: each series under its name.
        let tag =
            |kind: &'static str| move |p: activity::Point| vec![kind.to_string(), p.at, n(p.value)];
        let rows = u
            .daily
            .into_iter()
            .map(tag("daily"))
            .chain(u.weekly.into_iter().map(tag("weekly")))
            .chain(u.monthly.into_iter().map(tag("monthly")));
        return Ok(csv::response(
            &name("active-users", r),
            &["series", "from", "active"],
            rows,
        ));
    }
    Ok(Json(UsersOut {
        range: range_out(r),
        users: u.into(),
    })
    .into_response())
}

/// The most active users, with their names, most messages first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/users/top", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), StatsQuery),
    responses((status = 200, body = Vec<view::TopUser>, description = "JSON, or CSV with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn top_users(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "limit is 1 to 100"));
    }
    let (r, top) = blocking(move || {
        read(&st, &t.scope, &q, Horizon::Users, |_, r, s, chats| {
            activity::top_users(s, chats, r, limit)
        })
    })
    .await?;
    if csv {
        let rows = top.into_iter().map(|u| {
            vec![
                n(u.user_id),
                csv::text(u.first_name),
                csv::text(u.last_name.unwrap_or_default()),
                csv::text(u.username.unwrap_or_default()),
                n(u.messages),
            ]
        });
        return Ok(csv::response(
            &name("top-users", r),
            &["user_id", "first_name", "last_name", "username", "messages"],
            rows,
        ));
    }
    Ok(Json(top.into_iter().map(view::TopUser::from).collect::<Vec<_>>()).into_response())
}

/// One Telegram user's activity: messages per day and per group.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/users/{user_id}", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), ("user_id" = i64, Path, description = "Telegram user id"), StatsQuery),
    responses((status = 200, body = view::UserActivity, description = "JSON, or CSV (`date,messages`) with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn user_activity(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, i64)>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, a) = blocking(move || {
        read(&st, &t.scope, &q, Horizon::Users, |_, r, s, chats| {
            activity::user(s, chats, ids.1, r)
        })
    })
    .await?;
    if csv {
        let rows = a
            .daily
            .into_iter()
            .map(|p| vec!["daily".into(), p.at, String::new(), n(p.value)])
            .chain(a.by_group.into_iter().map(|g| {
                vec![
                    "group".into(),
                    n(g.chat_id),
                    csv::text(g.title),
                    n(g.messages),
                ]
            }));
        return Ok(csv::response(
            &name(&format!("user-{}", ids.1), r),
            &["table", "key", "title", "messages"],
            rows,
        ));
    }
    Ok(Json(view::UserActivity::from(a)).into_response())
}

/// Every group with its messages, joins, leaves and net growth in the range, most active
/// first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/groups", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), StatsQuery),
    responses((status = 200, body = Vec<view::GroupActivity>, description = "JSON, or CSV with format=csv"),
        (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn groups(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, g) = blocking(move || {
        let c = ctx(&st, &t.scope)?;
        let r = q.range(&c, Horizon::Counters)?;
        Ok((r, activity::groups(&t.scope.shard_read()?, r)?))
    })
    .await?;
    if csv {
        let rows = g.into_iter().map(|g| {
            vec![
                n(g.chat_id),
                csv::text(g.title),
                n(g.members),
                n(g.messages),
                n(g.joins),
                n(g.leaves),
                n(g.net),
                n(g.rule_actions),
            ]
        });
        return Ok(csv::response(
            &name("groups", r),
            &[
                "chat_id",
                "title",
                "members",
                "messages",
                "joins",
                "leaves",
                "net",
                "rule_actions",
            ],
            rows,
        ));
    }
    Ok(Json(
        g.into_iter()
            .map(view::GroupActivity::from)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// One group's growth: member count history, joins and leaves per day.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/groups/{chat_id}", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), ("chat_id" = i64, Path, description = "Chat id"), StatsQuery),
    responses((status = 200, body = view::GroupGrowth, description = "JSON, or CSV (`date,members,joins,leaves,net,rule_actions`) with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn group_growth(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, i64)>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, g) = blocking(move || {
        let c = ctx(&st, &t.scope)?;
        let r = q.range(&c, Horizon::Counters)?;
        Ok((
            r,
            activity::growth(&t.scope.shard_read()?, ChatId(ids.1), r)?,
        ))
    })
    .await?;
    if csv {
        let rows = g.days.into_iter().map(|d| {
            vec![
                d.at,
                d.members.map(n).unwrap_or_default(),
                n(d.joins),
                n(d.leaves),
                n(d.net),
                n(d.rule_actions),
            ]
        });
        return Ok(csv::response(
            &name(&format!("group-{}", ids.1), r),
            &["date", "members", "joins", "leaves", "net", "rule_actions"],
            rows,
        ));
    }
    Ok(Json(view::GroupGrowth::from(g)).into_response())
}

/// Campaign posts in the range: sent, failed by reason and skipped, per campaign, per group
/// and per day (a post counts on the day Telegram answered).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/campaigns", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), StatsQuery),
    responses((status = 200, body = view::Deliveries, description = "JSON, or CSV (`date,sent,failed,skipped`) with format=csv"),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn deliveries(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Response> {
    let csv = q.csv();
    let (r, d) = blocking(move || {
        let c = ctx(&st, &t.scope)?;
        let r = q.range(&c, Horizon::Counters)?;
        let s = t.scope.shard_read()?;
        if let Some(g) = q.group {
            s.group(ChatId(g))?.ok_or(AppError::NotFound("group"))?;
        }
        let campaign = q.campaign.map(CampaignId);
        if let Some(id) = campaign {
            s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        }
        Ok((
            r,
            stats::campaigns::deliveries(&s, &c.zone, r, campaign, q.group.map(ChatId))?,
        ))
    })
    .await?;
    if csv {
        // One file: each table under its name (reasons carry their count as `failed`).
        let row = |table: &str, key: String, name: String, t: &stats::campaigns::Tally| {
            vec![
                table.to_string(),
                key,
                name,
                n(t.sent),
                n(t.failed),
                n(t.skipped),
            ]
        };
        let mut rows: Vec<Vec<String>> = Vec::new();
        rows.push(row("total", String::new(), String::new(), &d.total));
        rows.extend(
            d.daily
                .iter()
                .map(|x| row("daily", x.at.clone(), String::new(), &x.tally)),
        );
        rows.extend(d.by_campaign.iter().map(|x| {
            row(
                "campaign",
                n(x.campaign_id),
                csv::text(x.name.clone()),
                &x.tally,
            )
        }));
        rows.extend(
            d.by_group
                .iter()
                .map(|x| row("group", n(x.chat_id), csv::text(x.title.clone()), &x.tally)),
        );
        rows.extend(d.by_reason.iter().map(|(code, k)| {
            vec![
                "reason".into(),
                code.clone(),
                String::new(),
                "0".into(),
                n(k),
                "0".into(),
            ]
        }));
        return Ok(csv::response(
            &name("campaigns", r),
            &["table", "key", "name", "sent", "failed", "skipped"],
            rows.into_iter(),
        ));
    }
    Ok(Json(view::Deliveries::from(d)).into_response())
}

/// How long statistics are kept on the tenant's plan, and what the next pruning run drops.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/stats/retention", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = RetentionOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn retention(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<RetentionOut>> {
    let r = blocking(move || {
        let c = ctx(&st, &t.scope)?;
        stats::retention::view(&t.scope.shard_read()?, c.today, c.retention)
    })
    .await?;
    Ok(Json(RetentionOut {
        retention_days: r.retention_days,
        users_kept_from: r.users_kept_from,
        totals_kept_from: r.totals_kept_from,
        oldest_user_day: r.oldest_user_day,
        user_rows_to_drop: r.user_rows_to_drop,
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Retention)]
pub struct RetentionOut {
    pub retention_days: u32,
    /// Per-user rows (active, new and top users) are kept from this date on.
    pub users_kept_from: String,
    /// Totals per group and day (messages, joins, leaves, member counts) from this date on.
    pub totals_kept_from: String,
    /// The oldest per-user day still stored (null when there is none).
    pub oldest_user_day: Option<String>,
    /// Per-user rows the next pruning run drops: older than `users_kept_from`, which follows
    /// the plan (a downgrade shows here before it takes effect).
    pub user_rows_to_drop: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub id: u64,
    pub from: String,
    pub to: String,
    pub created_at: String,
    /// Made by the schedule (`stats.reports`), or asked for.
    pub scheduled: bool,
}

fn report_out(
    id: botyard_shards::ids::ReportId,
    r: &botyard_shards::records::ReportRec,
) -> ReportOut {
    ReportOut {
        id: id.0,
        from: stats::date_of(r.from).to_string(),
        to: stats::date_of(r.to).to_string(),
        created_at: crate::clock::rfc3339(r.created_at),
        scheduled: r.scheduled,
    }
}

/// The tenant's statistics reports, newest first (the last 60 are kept).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/reports", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<ReportOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_reports(State(_st): State<Shared>, t: TenantCtx) -> AppResult<Json<Vec<ReportOut>>> {
    let out = blocking(move || {
        Ok(t.scope
            .shard_read()?
            .reports()?
            .iter()
            .map(|(id, r)| report_out(*id, r))
            .collect())
    })
    .await?;
    Ok(Json(out))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First local date (default: the last complete week, Monday to Sunday).
    pub from: Option<String>,
    /// Last local date, included.
    pub to: Option<String>,
}

/// Makes a report now: of the given dates, or of last week (owners and admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/reports", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), ReportQuery),
    responses((status = 201, body = ReportOut), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn make_report(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<(axum::http::StatusCode, Json<ReportOut>)> {
    // Reports are kept 60 deep: members must not push the scheduled ones out.
    let out = blocking(move || {
        let c = ctx(&st, &t.scope)?;
        let period = match (&q.from, &q.to) {
            (None, None) => stats::report::last_period(stats::report::Every::Weekly, c.today)
                .ok_or_else(|| AppError::invalid("from", "no complete week yet"))?,
            _ => stats::range(
                q.from.as_deref(),
                q.to.as_deref(),
                c.today,
                c.retention,
                Horizon::Counters,
            )?,
        };
        let id = stats::report::make(&t.scope, period, st.now(), false)?;
        let r = t
            .scope
            .shard_read()?
            .report(id)?
            .ok_or(AppError::NotFound("report"))?;
        Ok(report_out(id, &r))
    })
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(out)))
}

/// The report as an HTML document (inline SVG charts, no scripts).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/reports/{report_id}", tag = "stats",
    params(("id" = u64, Path, description = "Tenant id"), ("report_id" = u64, Path, description = "Report id")),
    responses((status = 200, content_type = "text/html", description = "The report"), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_report(
    State(_st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Response> {
    let r = blocking(move || {
        t.scope
            .shard_read()?
            .report(botyard_shards::ids::ReportId(ids.1))?
            .ok_or(AppError::NotFound("report"))
    })
    .await?;
    let name = format!(
        "report-{}-{}.html",
        stats::date_of(r.from),
        stats::date_of(r.to)
    );
    let mut resp = r.html.into_response();
    let h = resp.headers_mut();
    use axum::http::{HeaderValue, header};
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The document draws with inline styles and SVG only; nothing may run or load.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
