//! A campaign run: targets resolved at run time, a durable pending delivery per target written
//! before anything is sent, send jobs for the worker, and results settled once each.

use botyard_shards::ids::{CampaignId, ChatId, Day, TenantId};
use botyard_shards::records::{
    CampaignRec, CampaignStateRec, DeliveryStateRec, GroupRec, RunRec, RunStatusRec, SettingsRec,
    TemplateVersionRec,
};
use botyard_shards::{DeliveryKey, Reader, TenantShard, WriteTransaction};
use sha2::{Digest, Sha256};

use crate::domain::templates::{self, TemplateFormat};
use crate::error::AppResult;
use crate::worker::ipc::messages::{DeliveryOutcome, FailureCode, SendJob};
use crate::worker::telegram::Markup;

/// The `random_id` Telegram gets for a delivery: the same for every resend of it, different
/// for every other delivery (of any tenant).
pub fn random_id(tenant: TenantId, key: DeliveryKey) -> i64 {
    let mut h = Sha256::new();
    h.update(b"botyard delivery v1");
    h.update(tenant.0.to_be_bytes());
    h.update(key.0.0.to_be_bytes());
    h.update(key.1.to_be_bytes());
    h.update(key.2.0.to_be_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    match i64::from_be_bytes(b) {
        0 => 1,
        n => n,
    }
}

/// The error code of a message that grew too long with its variables filled.
const TOO_LONG: &str = "template.too_long";

/// A delivery still pending this long after its run started is not sent any more (a worker
/// that was down for a day should not post yesterday's offer).
pub const PENDING_FOR_AT_MOST_SECS: i64 = 12 * 3600;

/// Why a target gets no post in a run.
pub fn target_problem(g: &GroupRec, session: u64) -> Option<&'static str> {
    if !g.present {
        Some("not_member")
    } else if !g.seen_by.contains(&session) && g.session != session {
        Some("not_in_session")
    } else if !g.can_post {
        Some("no_rights")
    } else {
        None
    }
}

/// The campaign's targets now: enabled groups it names or that carry one of its tags.
pub fn targets<'a>(
    groups: &'a [(ChatId, GroupRec)],
    rec: &CampaignRec,
) -> Vec<(ChatId, &'a GroupRec)> {
    groups
        .iter()
        .filter(|(c, g)| {
            g.enabled && (rec.chats.contains(c) || g.tags.iter().any(|t| rec.tags.contains(t)))
        })
        .map(|(c, g)| (*c, g))
        .collect()
}

/// The UTC day a send counts against the plan's daily limit.
pub fn send_day(now: i64) -> Day {
    Day(u32::try_from(now.div_euclid(86_400)).unwrap_or(0))
}

/// What starting a run did.
#[derive(Debug)]
pub enum Started {
    /// Deliveries written; these jobs go to the worker.
    Run { run: u32, jobs: Vec<SendJob> },
    /// Recorded as skipped, with the reason's code.
    Skipped { run: u32, code: &'static str },
    /// The campaign cannot run any more and was paused.
    Paused { code: &'static str },
}

fn pause(rec: &mut CampaignRec, code: &str, reason: String, now: i64) {
    rec.state = CampaignStateRec::Paused {
        code: code.into(),
        reason,
    };
    rec.next_run = None;
    rec.updated_at = now;
}

/// When and why a run starts.
#[derive(Clone, Copy, Debug)]
pub struct RunAt {
    /// The time it was scheduled for.
    pub due: i64,
    /// Started by "run now".
    pub manual: bool,
    pub now: i64,
    /// The plan's limit on posts a day.
    pub sends_per_day: Option<u32>,
}

/// Starts run `rec.runs + 1` of campaign `id` in the caller's transaction.
pub fn start(
    s: &mut TenantShard<WriteTransaction>,
    settings: &SettingsRec,
    id: CampaignId,
    rec: &mut CampaignRec,
    at: RunAt,
) -> AppResult<Started> {
    let RunAt {
        due,
        manual,
        now,
        sends_per_day,
    } = at;
    let Some(t) = s.template(rec.template)? else {
        pause(
            rec,
            "campaign.template_missing",
            "its template was deleted".into(),
            now,
        );
        s.put_campaign(id, rec)?;
        return Ok(Started::Paused {
            code: "campaign.template_missing",
        });
    };
    let version = rec.version.unwrap_or(t.latest);
    let Some(v) = s.template_version(rec.template, version)? else {
        pause(
            rec,
            "campaign.template_missing",
            format!("template version {version} is gone"),
            now,
        );
        s.put_campaign(id, rec)?;
        return Ok(Started::Paused {
            code: "campaign.template_missing",
        });
    };
    let groups = s.groups()?;
    let all = targets(&groups, rec);
    let session = rec.session.0;
    let sendable: Vec<ChatId> = all
        .iter()
        .filter(|(_, g)| target_problem(g, session).is_none())
        .map(|(c, _)| *c)
        .collect();
    let run_no = rec.runs.saturating_add(1);
    rec.runs = run_no;
    rec.updated_at = now;
    let mut run = RunRec {
        due_at: due,
        started_at: now,
        finished_at: None,
        status: RunStatusRec::Running,
        template: rec.template,
        version,
        session: rec.session,
        manual,
        targets: all.len() as u32,
        sent: 0,
        failed: 0,
        skipped: 0,
    };
    let day = send_day(now);
    let over_limit = sends_per_day
        .is_some_and(|l| s.sends_on(day).unwrap_or(0) + sendable.len() as u64 > u64::from(l));
    let skip = if all.is_empty() {
        Some("campaign.no_targets")
    } else if over_limit {
        Some("plan.sends_per_day")
    } else {
        None
    };
    if let Some(code) = skip {
        run.status = RunStatusRec::Skipped { code: code.into() };
        run.finished_at = Some(now);
        s.put_run(id, run_no, &run)?;
        s.put_campaign(id, rec)?;
        return Ok(Started::Skipped { run: run_no, code });
    }
    let chats: Vec<ChatId> = all.iter().map(|(c, _)| *c).collect();
    s.start_run(id, run_no, &run, &chats, now)?;
    for (chat, g) in &all {
        if let Some(code) = target_problem(g, session) {
            s.settle_delivery(
                (id, run_no, *chat),
                DeliveryStateRec::Skipped { code: code.into() },
                now,
            )?;
        }
    }
    s.add_sends(day, sendable.len() as u64)?;
    s.put_campaign(id, rec)?;
    let mut jobs = Vec::with_capacity(sendable.len());
    for chat in sendable {
        match job(s, settings, id, run_no, chat, rec, &v, now) {
            Ok(j) => jobs.push(j),
            Err(crate::error::AppError::Invalid { code: TOO_LONG, .. }) => {
                s.settle_delivery(
                    (id, run_no, chat),
                    DeliveryStateRec::Failed {
                        code: "too_long".into(),
                        at_ms: now * 1000,
                    },
                    now,
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Started::Run { run: run_no, jobs })
}

/// The send job of one delivery.
#[allow(clippy::too_many_arguments)]
pub fn job<T: Reader>(
    s: &TenantShard<T>,
    settings: &SettingsRec,
    id: CampaignId,
    run: u32,
    chat: ChatId,
    rec: &CampaignRec,
    v: &TemplateVersionRec,
    now: i64,
) -> AppResult<SendJob> {
    let p = templates::prepare(s, settings, v, chat, now)?;
    // Variables can make a message longer than Telegram takes (or than a worker frame).
    let max = if p.media.is_some() {
        templates::MAX_CAPTION
    } else {
        templates::MAX_TEXT
    };
    if p.body.len() > templates::MAX_BODY_BYTES
        || templates::markup::visible_len(&templates::visible_text(&p.body, p.format)) > max
    {
        return Err(crate::error::AppError::Invalid {
            code: TOO_LONG,
            field: "body".into(),
            message: format!(
                "with its variables filled for chat {} the text is too long",
                chat.0
            ),
        });
    }
    Ok(SendJob {
        campaign: id.0,
        run,
        chat_id: chat.0,
        session: rec.session.0,
        random_id: random_id(s.tenant(), (id, run, chat)),
        text: p.body,
        markup: match p.format {
            TemplateFormat::Markdown => Markup::Markdown,
            TemplateFormat::Html => Markup::Html,
        },
        buttons: templates::url_buttons(p.buttons),
        media: p
            .media
            .map(|(mid, m)| crate::domain::media::worker_file(mid, m)),
        delete_message: if rec.delete_previous {
            rec.last_posts
                .iter()
                .find(|(c, _)| *c == chat)
                .map(|(_, m)| *m)
        } else {
            None
        },
        pin: rec.pin,
        silent: settings.send.silent,
        access_hash: None,
        reply_to: None,
        rule: None,
    })
}

/// The tenant's pending deliveries: jobs to hand out again, and those that can no longer be
/// sent with the reason.
#[derive(Debug, Default)]
pub struct Pending {
    pub jobs: Vec<SendJob>,
    pub dead: Vec<(DeliveryKey, FailureCode)>,
}

/// Jobs for every delivery of the tenant still pending (after a worker restart).
pub fn pending<T: Reader>(
    s: &TenantShard<T>,
    settings: &SettingsRec,
    now: i64,
) -> AppResult<Pending> {
    let mut jobs = Vec::new();
    let mut dead = Vec::new();
    let mut cache: Option<(
        CampaignId,
        u32,
        CampaignRec,
        Result<TemplateVersionRec, FailureCode>,
    )> = None;
    for key in s.pending_deliveries()? {
        let (id, run, chat) = key;
        let fresh = cache
            .as_ref()
            .is_none_or(|(c, r, _, _)| (*c, *r) != (id, run));
        if fresh {
            let Some(mut rec) = s.campaign(id)? else {
                dead.push((key, FailureCode::CampaignDeleted));
                continue;
            };
            let Some(r) = s.run(id, run)? else {
                dead.push((key, FailureCode::RunMissing));
                continue;
            };
            // A resend posts what the run started with.
            rec.template = r.template;
            rec.session = r.session;
            let v = if matches!(rec.state, CampaignStateRec::Paused { .. }) {
                Err(FailureCode::CampaignPaused)
            } else if now - r.started_at > PENDING_FOR_AT_MOST_SECS {
                Err(FailureCode::Expired)
            } else {
                s.template_version(r.template, r.version)?
                    .ok_or(FailureCode::TemplateMissing)
            };
            cache = Some((id, run, rec, v));
        }
        let Some((_, _, rec, v)) = cache.as_ref() else {
            continue;
        };
        let v = match v {
            Ok(v) => v,
            Err(code) => {
                dead.push((key, *code));
                continue;
            }
        };
        match job(s, settings, id, run, chat, rec, v, now) {
            Ok(j) => jobs.push(j),
            Err(crate::error::AppError::NotFound(_)) => dead.push((key, FailureCode::ChatNotFound)),
            Err(crate::error::AppError::Invalid { code: TOO_LONG, .. }) => {
                dead.push((key, FailureCode::TooLong))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Pending { jobs, dead })
}

/// What settling a result changed.
#[derive(Debug, PartialEq)]
pub struct Settled {
    pub run: RunRec,
    /// The campaign was paused because of it, with this code.
    pub paused: Option<&'static str>,
}

/// Most of a run failing this way means the session lost those groups.
fn lost_group(code: &str) -> bool {
    [FailureCode::Forbidden, FailureCode::ChatNotFound]
        .iter()
        .any(|c| c.as_str() == code)
}

/// Settles one delivery from a worker's report; `None` when it was not pending (a repeat).
pub fn settle(
    s: &mut TenantShard<WriteTransaction>,
    key: DeliveryKey,
    outcome: &DeliveryOutcome,
    now: i64,
) -> AppResult<Option<Settled>> {
    let state = match outcome {
        DeliveryOutcome::Sent { message_id, at_ms } => DeliveryStateRec::Sent {
            message_id: *message_id,
            at_ms: *at_ms,
        },
        DeliveryOutcome::Failed { code, at_ms } => DeliveryStateRec::Failed {
            code: code.as_str().to_string(),
            at_ms: *at_ms,
        },
    };
    let Some(run) = s.settle_delivery(key, state, now)? else {
        return Ok(None);
    };
    let (id, _, chat) = key;
    let Some(mut rec) = s.campaign(id)? else {
        return Ok(Some(Settled { run, paused: None }));
    };
    let mut paused = None;
    match outcome {
        DeliveryOutcome::Sent { message_id, .. } => {
            rec.last_posts.retain(|(c, _)| *c != chat);
            if *message_id != 0 {
                rec.last_posts.push((chat, *message_id));
            }
        }
        DeliveryOutcome::Failed { code, .. } => {
            if lost_group(code.as_str())
                && let Some(mut g) = s.group(chat)?
            {
                // Flagged: later runs skip it until a refresh shows the rights back.
                g.can_post = false;
                g.updated_at = now;
                s.put_group(chat, &g)?;
            }
            let why = match code.as_str() {
                "revoked" => Some((
                    "session.revoked",
                    "Telegram no longer accepts the sending session".to_string(),
                )),
                "flood_wait" => Some((
                    "campaign.flood_wait",
                    "Telegram asked the session to wait longer than the limit".to_string(),
                )),
                "media_missing" => Some((
                    "campaign.media_missing",
                    "the template's media file is missing".to_string(),
                )),
                _ => None,
            };
            if let Some((c, reason)) = why
                && rec.state == CampaignStateRec::Active
            {
                pause(&mut rec, c, reason, now);
                paused = Some(c);
            }
        }
    }
    if run.status == RunStatusRec::Done && paused.is_none() && rec.state == CampaignStateRec::Active
    {
        let lost = s
            .deliveries(id, key.1)?
            .iter()
            .filter(|(_, d)| matches!(&d.state, DeliveryStateRec::Failed { code, .. } if lost_group(code)))
            .count() as u32;
        if run.targets >= 2 && lost * 2 > run.targets {
            pause(
                &mut rec,
                "campaign.removed_from_most",
                format!(
                    "the session could not post in {lost} of {} groups",
                    run.targets
                ),
                now,
            );
            paused = Some("campaign.removed_from_most");
        }
    }
    rec.updated_at = now;
    s.put_campaign(id, &rec)?;
    Ok(Some(Settled { run, paused }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use botyard_shards::ids::CampaignId;

    #[test]
    fn random_ids_are_stable_per_delivery_and_differ_otherwise() {
        let k = (CampaignId(3), 7, ChatId(-100));
        let a = random_id(TenantId(1), k);
        assert_eq!(a, random_id(TenantId(1), k));
        assert_ne!(a, random_id(TenantId(2), k));
        assert_ne!(a, random_id(TenantId(1), (CampaignId(3), 8, ChatId(-100))));
        assert_ne!(a, random_id(TenantId(1), (CampaignId(3), 7, ChatId(-101))));
    }
}
