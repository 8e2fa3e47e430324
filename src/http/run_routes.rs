//! A campaign's runs and delivery reports: each run with a line per group, and the totals of
//! its last runs by reason and by group.

use std::collections::BTreeMap;

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::CampaignId;
use botyard_shards::records::{DeliveryStateRec, RunRec, RunStatusRec};

use crate::clock::rfc3339;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiPath, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(campaign_report))
}

#[derive(Serialize, ToSchema)]
pub struct RunOut {
    pub run: u32,
    /// `running`, `done` or `skipped`.
    pub status: &'static str,
    /// Why it was skipped (`campaign.missed`, `plan.sends_per_day`, `campaign.no_targets` …).
    pub code: Option<String>,
    pub manual: bool,
    pub version: u32,
    pub due_at: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Seconds from start to the last result.
    pub duration_secs: Option<i64>,
    pub targets: u32,
    pub sent: u32,
    pub failed: u32,
    pub skipped: u32,
    pub pending: u32,
}

fn run_out(n: u32, r: &RunRec) -> RunOut {
    let (status, code) = match &r.status {
        RunStatusRec::Running => ("running", None),
        RunStatusRec::Done => ("done", None),
        RunStatusRec::Skipped { code } => ("skipped", Some(code.clone())),
    };
    let pending = if matches!(r.status, RunStatusRec::Running) {
        r.targets.saturating_sub(r.sent + r.failed + r.skipped)
    } else {
        0
    };
    RunOut {
        run: n,
        status,
        code,
        manual: r.manual,
        version: r.version,
        due_at: rfc3339(r.due_at),
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        duration_secs: r.finished_at.map(|f| f - r.started_at),
        targets: r.targets,
        sent: r.sent,
        failed: r.failed,
        skipped: r.skipped,
        pending,
    }
}

/// The campaign's runs, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/runs", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 200, body = Vec<RunOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_runs(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<Vec<RunOut>>> {
    let id = CampaignId(ids.1);
    let runs = blocking(move || {
        let s = t.scope.shard_read()?;
        s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        Ok(s.runs(id, 100)?)
    })
    .await?;
    Ok(Json(runs.iter().map(|(n, r)| run_out(*n, r)).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    pub chat_id: i64,
    /// `pending`, `sent`, `failed` or `skipped`.
    pub state: &'static str,
    pub message_id: Option<i64>,
    /// Why it failed or was skipped (`forbidden`, `not_member`, `no_rights`, `flood_wait` …).
    pub code: Option<String>,
    /// When Telegram accepted it (or it failed), RFC 3339 with milliseconds.
    pub at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunOut,
    pub deliveries: Vec<DeliveryOut>,
}

fn at_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// One run with a line per target group.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/runs/{run}", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id"),
           ("run" = u32, Path, description = "Run number")),
    responses((status = 200, body = RunDetail), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_run(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64, u32)>,
) -> AppResult<Json<RunDetail>> {
    let (id, n) = (CampaignId(ids.1), ids.2);
    let (run, ds) = blocking(move || {
        let s = t.scope.shard_read()?;
        let run = s.run(id, n)?.ok_or(AppError::NotFound("run"))?;
        Ok((run, s.deliveries(id, n)?))
    })
    .await?;
    let deliveries = ds
        .into_iter()
        .map(|(chat, d)| match d.state {
            DeliveryStateRec::Pending => DeliveryOut {
                chat_id: chat.0,
                state: "pending",
                message_id: None,
                code: None,
                at: None,
            },
            DeliveryStateRec::Sent {
                message_id,
                at_ms: t,
            } => DeliveryOut {
                chat_id: chat.0,
                state: "sent",
                message_id: Some(message_id),
                code: None,
                at: Some(at_ms(t)),
            },
            DeliveryStateRec::Failed { code, at_ms: t } => DeliveryOut {
                chat_id: chat.0,
                state: "failed",
                message_id: None,
                code: Some(code),
                at: Some(at_ms(t)),
            },
            DeliveryStateRec::Skipped { code } => DeliveryOut {
                chat_id: chat.0,
                state: "skipped",
                message_id: None,
                code: Some(code),
                at: None,
            },
        })
        .collect();
    Ok(Json(RunDetail {
        run: run_out(n, &run),
        deliveries,
    }))
}

#[derive(Serialize, ToSchema, Default)]
pub struct RunGroupTally {
    pub sent: u32,
    pub failed: u32,
    pub skipped: u32,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignReport {
    pub runs: u32,
    pub runs_skipped: u32,
    pub sent: u32,
    pub failed: u32,
    pub skipped: u32,
    /// Failures and skips by code.
    pub by_reason: BTreeMap<String, u32>,
    /// Per target group (chat id as a string key).
    pub by_group: BTreeMap<String, RunGroupTally>,
    /// Median seconds a run took to finish.
    pub median_duration_secs: Option<i64>,
}

/// Totals over the campaign's last 100 runs: sent, failed by reason, skipped, per group.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/campaigns/{campaign_id}/report", tag = "campaigns",
    params(("id" = u64, Path, description = "Tenant id"), ("campaign_id" = u64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignReport), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn campaign_report(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<CampaignReport>> {
    let id = CampaignId(ids.1);
    let r = blocking(move || {
        let s = t.scope.shard_read()?;
        s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        let mut rep = CampaignReport {
            runs: 0,
            runs_skipped: 0,
            sent: 0,
            failed: 0,
            skipped: 0,
            by_reason: BTreeMap::new(),
            by_group: BTreeMap::new(),
            median_duration_secs: None,
        };
        let mut durations = Vec::new();
        for (n, run) in s.runs(id, 100)? {
            rep.runs += 1;
            if let RunStatusRec::Skipped { code } = &run.status {
                rep.runs_skipped += 1;
                *rep.by_reason.entry(code.clone()).or_default() += 1;
                continue;
            }
            if let Some(f) = run.finished_at {
                durations.push(f - run.started_at);
            }
            for (chat, d) in s.deliveries(id, n)? {
                let g = rep.by_group.entry(chat.0.to_string()).or_default();
                match d.state {
                    DeliveryStateRec::Sent { .. } => {
                        rep.sent += 1;
                        g.sent += 1;
                    }
                    DeliveryStateRec::Failed { code, .. } => {
                        rep.failed += 1;
                        g.failed += 1;
                        *rep.by_reason.entry(code).or_default() += 1;
                    }
                    DeliveryStateRec::Skipped { code } => {
                        rep.skipped += 1;
                        g.skipped += 1;
                        *rep.by_reason.entry(code).or_default() += 1;
                    }
                    DeliveryStateRec::Pending => {}
                }
            }
        }
        durations.sort_unstable();
        rep.median_duration_secs = durations.get(durations.len() / 2).copied();
        Ok(rep)
    })
    .await?;
    Ok(Json(r))
}
