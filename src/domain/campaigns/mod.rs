//! Campaigns: which template goes to which groups, from which session, when. Saved as
//! drafts, activated after a check, paused by the tenant or automatically.

pub mod actions;
pub mod runs;
pub mod schedule;
pub mod scheduler;

use botyard_shards::ids::{CampaignId, ChatId, SecretId, TemplateId};
use botyard_shards::records::{
    CampaignRec, CampaignStateRec, Language, ScheduleRec, SessionKindRec, SettingsRec, WindowRec,
};
use botyard_shards::{Reader, TenantScope, TenantShard};

use crate::error::{AppError, AppResult};
use crate::worker::pacing::Pacing;

pub const MAX_NAME: usize = 100;
pub const MAX_CHATS: usize = 500;
pub const MAX_JITTER_SECS: u32 = 3_600;

/// What a tenant saves as a campaign.
#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub template: TemplateId,
    pub version: Option<u32>,
    pub chats: Vec<i64>,
    pub tags: Vec<String>,
    /// The session that posts; `None` means the tenant's only one.
    pub session: Option<u64>,
    pub schedule: ScheduleRec,
    pub window: Option<WindowRec>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub jitter_secs: u32,
    pub delete_previous: bool,
    pub pin: bool,
    /// Save even when no enabled group matches the targets yet.
    pub force: bool,
}

/// An input that passed [`check_input`], with what the check resolved.
struct Checked {
    name: String,
    tags: Vec<String>,
    session: SecretId,
}

/// Whether any enabled group is named or carries one of `tags`.
fn matches_any<T: Reader>(
    s: &TenantShard<T>,
    chats: &[ChatId],
    tags: &[String],
) -> AppResult<bool> {
    Ok(s.groups()?
        .iter()
        .any(|(c, g)| g.enabled && (chats.contains(c) || g.tags.iter().any(|t| tags.contains(t)))))
}

fn no_targets() -> AppError {
    AppError::Conflict {
        code: "campaign.no_targets",
        message: "no enabled group matches the campaign's groups and tags, so its runs would post nothing; enable groups or tag them first, or send `force`".into(),
    }
}

/// Refuses to activate a campaign whose targets match no enabled group, unless `force`.
pub fn ensure_targets(scope: &TenantScope, id: CampaignId, force: bool) -> AppResult<()> {
    if force {
        return Ok(());
    }
    let s = scope.shard_read()?;
    let rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
    if matches_any(&s, &rec.chats, &rec.tags)? {
        Ok(())
    } else {
        Err(no_targets())
    }
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: field.into(),
        message: message.into(),
    }
}

/// What the tenant's plan and the date bound a schedule by.
#[derive(Clone, Copy, Debug)]
pub struct ScheduleRules {
    /// Shortest time between two runs, in minutes.
    pub min_interval_mins: u32,
    /// Today (UTC), from which the horizon counts.
    pub today: jiff::civil::Date,
}

impl ScheduleRules {
    /// The rules of the scope's tenant now: its plan's minimum interval, or the default.
    pub fn of(scope: &TenantScope, now: i64) -> AppResult<ScheduleRules> {
        let min_interval_mins = scope
            .plan_limits()?
            .map_or(schedule::MIN_EVERY_MINUTES, |l| l.min_interval_mins);
        let today = jiff::Timestamp::from_second(now)
            .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
            .unwrap_or(jiff::civil::Date::MIN);
        Ok(ScheduleRules {
            min_interval_mins,
            today,
        })
    }
}

/// The next `n` runs a campaign with this schedule, window and dates would have if saved now
/// (jitter left out): what the campaign form shows while it is filled in. The schedule is
/// checked as saving it would be.
pub fn preview_runs(
    scope: &TenantScope,
    settings: &SettingsRec,
    i: &Input,
    now: i64,
    n: usize,
) -> AppResult<Vec<i64>> {
    let rules = ScheduleRules::of(scope, now)?;
    schedule::check(&i.schedule, rules.min_interval_mins, rules.today)
        .map_err(|e| invalid("campaign.schedule", "schedule", e.to_string()))?;
    if let Some(w) = &i.window {
        schedule::check_window(w)
            .map_err(|e| invalid("campaign.window", "window", e.to_string()))?;
    }
    let date = |d: &Option<String>, field: &str| {
        d.as_deref()
            .map(schedule::parse_date)
            .transpose()
            .map_err(|e| invalid("campaign.dates", field, e.to_string()))
    };
    let bounds = schedule::Bounds {
        window: i.window,
        starts_on: date(&i.starts_on, "starts_on")?,
        ends_on: date(&i.ends_on, "ends_on")?,
    };
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let anchor = jiff::Timestamp::from_second(now)
        .map_err(|_| AppError::Internal("the clock is out of range".into()))?;
    let mut out = Vec::with_capacity(n);
    let mut after = anchor;
    while out.len() < n {
        match schedule::next_run(&i.schedule, &bounds, &tz, anchor, after) {
            Some(at) if at > after => {
                out.push(at.as_second());
                after = at;
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Checks an input against the tenant's templates, groups and sessions.
fn check_input<T: Reader>(
    s: &TenantShard<T>,
    i: &Input,
    rules: ScheduleRules,
) -> AppResult<Checked> {
    let name = i.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(invalid(
            "validation.invalid",
            "name",
            format!("1 to {MAX_NAME} characters"),
        ));
    }
    crate::domain::names::check_visible("name", name)?;
    let Some(t) = s.template(i.template)? else {
        return Err(invalid(
            "campaign.template",
            "template_id",
            "no such template",
        ));
    };
    if let Some(v) = i.version
        && (v == 0 || v > t.latest)
    {
        return Err(invalid(
            "campaign.version",
            "version",
            format!("the template has versions 1 to {}", t.latest),
        ));
    }
    let tags = crate::domain::groups::clean_tags(&i.tags)
        .map_err(|e| invalid("campaign.targets", "tags", e.to_string()))?;
    if i.chats.len() > MAX_CHATS {
        return Err(invalid(
            "campaign.targets",
            "chat_ids",
            format!("at most {MAX_CHATS} groups; use tags for more"),
        ));
    }
    if i.chats.is_empty() && tags.is_empty() {
        return Err(invalid(
            "campaign.targets",
            "chat_ids",
            "name at least one group or tag",
        ));
    }
    for c in &i.chats {
        match s.group(ChatId(*c))? {
            Some(g) if g.enabled => {}
            Some(_) => {
                return Err(invalid(
                    "campaign.chat",
                    "chat_ids",
                    format!("group {c} is not enabled for automation"),
                ));
            }
            None => {
                return Err(invalid(
                    "campaign.chat",
                    "chat_ids",
                    format!("no group {c}"),
                ));
            }
        }
    }
    let sessions = s.sessions()?;
    let session = match (i.session, sessions.as_slice()) {
        (Some(id), _) if sessions.iter().any(|(s, _)| *s == SecretId(id)) => SecretId(id),
        (Some(_), _) => return Err(invalid("campaign.session", "session_id", "no such session")),
        (None, [(only, _)]) => *only,
        (None, []) => {
            return Err(invalid(
                "campaign.session",
                "session_id",
                "the tenant has no session yet; connect one first",
            ));
        }
        (None, more) => {
            return Err(invalid(
                "campaign.session",
                "session_id",
                format!("name the session that posts: the tenant has {}", more.len()),
            ));
        }
    };
    schedule::check(&i.schedule, rules.min_interval_mins, rules.today)
        .map_err(|e| invalid("campaign.schedule", "schedule", e.to_string()))?;
    if let Some(w) = &i.window {
        schedule::check_window(w)
            .map_err(|e| invalid("campaign.window", "window", e.to_string()))?;
    }
    let start = i
        .starts_on
        .as_deref()
        .map(schedule::parse_date)
        .transpose()
        .map_err(|e| invalid("campaign.dates", "starts_on", e.to_string()))?;
    let end = i
        .ends_on
        .as_deref()
        .map(schedule::parse_date)
        .transpose()
        .map_err(|e| invalid("campaign.dates", "ends_on", e.to_string()))?;
    for (field, d) in [("starts_on", start), ("ends_on", end)] {
        if let Some(d) = d {
            schedule::check_horizon(d, rules.today)
                .map_err(|e| invalid("campaign.dates", field, e.to_string()))?;
        }
    }
    if let (Some(a), Some(b)) = (start, end)
        && b < a
    {
        return Err(invalid(
            "campaign.dates",
            "ends_on",
            "the end date is before the start date",
        ));
    }
    if i.jitter_secs > MAX_JITTER_SECS {
        return Err(invalid(
            "campaign.jitter",
            "jitter_secs",
            format!("at most {MAX_JITTER_SECS} seconds"),
        ));
    }
    let chats: Vec<ChatId> = i.chats.iter().copied().map(ChatId).collect();
    if !i.force && !matches_any(s, &chats, &tags)? {
        return Err(no_targets());
    }
    Ok(Checked {
        name: name.to_string(),
        tags,
        session,
    })
}

fn apply(rec: &mut CampaignRec, i: Input, checked: Checked) {
    let Checked {
        name,
        tags,
        session,
    } = checked;
    rec.name = name;
    rec.template = i.template;
    rec.version = i.version;
    let mut chats: Vec<ChatId> = i.chats.into_iter().map(ChatId).collect();
    chats.sort();
    chats.dedup();
    rec.chats = chats;
    rec.tags = tags;
    rec.session = session;
    rec.schedule = i.schedule;
    rec.window = i.window;
    rec.starts_on = i.starts_on;
    rec.ends_on = i.ends_on;
    rec.jitter_secs = i.jitter_secs;
    rec.delete_previous = i.delete_previous;
    rec.pin = i.pin;
}

fn limit_error(limit: u32) -> AppError {
    AppError::Conflict {
        code: "plan.campaign_limit",
        message: format!("the plan allows {limit} campaigns"),
    }
}

/// Saves a new campaign as a draft, within the plan's limit.
pub fn create(
    scope: &TenantScope,
    limit: Option<u32>,
    i: Input,
    now: i64,
) -> AppResult<(CampaignId, CampaignRec)> {
    let rules = ScheduleRules::of(scope, now)?;
    scope.shard_write(|s| {
        let checked = check_input(s, &i, rules)?;
        if let Some(l) = limit
            && s.campaigns()?.len() >= l as usize
        {
            return Err(limit_error(l));
        }
        let mut rec = CampaignRec {
            name: String::new(),
            template: i.template,
            version: None,
            chats: Vec::new(),
            tags: Vec::new(),
            session: checked.session,
            schedule: i.schedule.clone(),
            window: None,
            starts_on: None,
            ends_on: None,
            jitter_secs: 0,
            delete_previous: false,
            pin: false,
            state: CampaignStateRec::Draft,
            anchor: now,
            next_run: None,
            runs: 0,
            last_posts: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        apply(&mut rec, i, checked);
        let id = s.insert_campaign(&rec)?;
        Ok((id, rec))
    })
}

/// The instant of the next run after `after`, jitter included, or none.
pub fn next_run(rec: &CampaignRec, settings: &SettingsRec, after: i64) -> Option<i64> {
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let bounds = schedule::Bounds {
        window: rec.window,
        starts_on: rec
            .starts_on
            .as_deref()
            .and_then(|d| schedule::parse_date(d).ok()),
        ends_on: rec
            .ends_on
            .as_deref()
            .and_then(|d| schedule::parse_date(d).ok()),
    };
    let anchor = jiff::Timestamp::from_second(rec.anchor).ok()?;
    let after = jiff::Timestamp::from_second(after).ok()?;
    let t = schedule::next_run(&rec.schedule, &bounds, &tz, anchor, after)?;
    let jitter = if rec.jitter_secs > 0 {
        rand::random_range(0..=i64::from(rec.jitter_secs))
    } else {
        0
    };
    Some(t.as_second() + jitter)
}

/// Replaces a campaign's settings; an active one is rescheduled.
pub fn update(
    scope: &TenantScope,
    settings: &SettingsRec,
    id: CampaignId,
    i: Input,
    now: i64,
) -> AppResult<CampaignRec> {
    let rules = ScheduleRules::of(scope, now)?;
    scope.shard_write(|s| {
        let mut rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        let checked = check_input(s, &i, rules)?;
        apply(&mut rec, i, checked);
        if rec.state == CampaignStateRec::Active {
            rec.next_run = next_run(&rec, settings, now);
            if rec.next_run.is_none() {
                rec.state = CampaignStateRec::Finished;
            }
        }
        rec.updated_at = now;
        s.put_campaign(id, &rec)?;
        Ok(rec)
    })
}

pub fn delete(scope: &TenantScope, id: CampaignId) -> AppResult<()> {
    scope.shard_write(|s| {
        if s.delete_campaign(id)? {
            Ok(())
        } else {
            Err(AppError::NotFound("campaign"))
        }
    })
}

/// Starts (or restarts) the schedule from now; refused when it has no run left.
pub fn activate(
    scope: &TenantScope,
    settings: &SettingsRec,
    id: CampaignId,
    now: i64,
) -> AppResult<CampaignRec> {
    let rules = ScheduleRules::of(scope, now)?;
    scope.shard_write(|s| {
        let mut rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        // Saved under older rules or another plan: checked again as it starts.
        schedule::check(&rec.schedule, rules.min_interval_mins, rules.today)
            .map_err(|e| invalid("campaign.schedule", "schedule", e.to_string()))?;
        if s.template(rec.template)?.is_none() {
            return Err(invalid(
                "campaign.template",
                "template_id",
                "its template was deleted",
            ));
        }
        rec.anchor = now;
        let Some(next) = next_run(&rec, settings, now) else {
            return Err(AppError::Conflict {
                code: "campaign.no_future_run",
                message: "the schedule has no run left: its time or end date has passed".into(),
            });
        };
        rec.state = CampaignStateRec::Active;
        rec.next_run = Some(next);
        rec.updated_at = now;
        s.put_campaign(id, &rec)?;
        Ok(rec)
    })
}

pub fn pause(scope: &TenantScope, id: CampaignId, now: i64) -> AppResult<CampaignRec> {
    scope.shard_write(|s| {
        let mut rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        if rec.state != CampaignStateRec::Active {
            return Err(AppError::Conflict {
                code: "campaign.not_active",
                message: "only an active campaign can be paused".into(),
            });
        }
        rec.state = CampaignStateRec::Paused {
            code: "campaign.paused".into(),
            reason: "paused by the tenant".into(),
        };
        rec.next_run = None;
        rec.updated_at = now;
        s.put_campaign(id, &rec)?;
        Ok(rec)
    })
}

/// Resumes a paused campaign: its next run is the next one after now (runs missed while
/// paused are not made up).
pub fn resume(
    scope: &TenantScope,
    settings: &SettingsRec,
    id: CampaignId,
    now: i64,
) -> AppResult<CampaignRec> {
    let rec = scope
        .shard_read()?
        .campaign(id)?
        .ok_or(AppError::NotFound("campaign"))?;
    if !matches!(rec.state, CampaignStateRec::Paused { .. }) {
        return Err(AppError::Conflict {
            code: "campaign.not_paused",
            message: "only a paused campaign can be resumed".into(),
        });
    }
    scope.shard_write(|s| {
        let mut rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        let Some(next) = next_run(&rec, settings, now) else {
            return Err(AppError::Conflict {
                code: "campaign.no_future_run",
                message: "the schedule has no run left: its time or end date has passed".into(),
            });
        };
        rec.state = CampaignStateRec::Active;
        rec.next_run = Some(next);
        rec.updated_at = now;
        s.put_campaign(id, &rec)?;
        Ok(rec)
    })
}

/// A draft copy, named after the original.
pub fn duplicate(
    scope: &TenantScope,
    limit: Option<u32>,
    language: Language,
    id: CampaignId,
    now: i64,
) -> AppResult<(CampaignId, CampaignRec)> {
    scope.shard_write(|s| {
        let src = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        if let Some(l) = limit
            && s.campaigns()?.len() >= l as usize
        {
            return Err(limit_error(l));
        }
        let suffix = match language {
            Language::Tr => " (kopya)",
            Language::En => " (copy)",
        };
        let mut name: String = src
            .name
            .chars()
            .take(MAX_NAME - suffix.chars().count())
            .collect();
        name.push_str(suffix);
        let rec = CampaignRec {
            name,
            state: CampaignStateRec::Draft,
            anchor: now,
            next_run: None,
            runs: 0,
            last_posts: Vec::new(),
            created_at: now,
            updated_at: now,
            ..src
        };
        let id = s.insert_campaign(&rec)?;
        Ok((id, rec))
    })
}

/// One target in the pre-activation check.
#[derive(Clone, Debug)]
pub struct TargetCheck {
    pub chat_id: i64,
    pub title: String,
    /// Whether the sender can post there now.
    pub ok: bool,
    /// `not_member`, `not_in_session` or `no_rights` when it cannot.
    pub problem: Option<&'static str>,
    /// Slow mode in the group, in seconds (0: off).
    pub slow_mode_secs: u32,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub targets: Vec<TargetCheck>,
    /// Targets that will get a post.
    pub sendable: u32,
    /// Estimated seconds for one run to finish at the sender's rate limits.
    pub eta_secs: u64,
    /// Whether the sender posts at bot or at user-account speed.
    pub sender: &'static str,
}

/// How long one post to each of `n` groups takes with these limits (each group gets one).
pub fn eta_secs(n: u32, p: &Pacing) -> u64 {
    if n == 0 {
        return 0;
    }
    let per = p.overall_ms + p.jitter_ms / 2;
    (u64::from(n - 1) * per).div_ceil(1_000)
}

/// Whether the sender can post in each target, and how long a run will take.
pub fn check(scope: &TenantScope, id: CampaignId, bot: &Pacing, user: &Pacing) -> AppResult<Check> {
    let s = scope.shard_read()?;
    let rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
    let groups = s.groups()?;
    let is_bot = s
        .sessions()?
        .into_iter()
        .find(|(sid, _)| *sid == rec.session)
        // Simulated sessions post at bot speed unless configured as a user account.
        .is_some_and(|(_, r)| matches!(r.kind, SessionKindRec::Bot | SessionKindRec::Sim));
    let mut out = Vec::new();
    for (chat, g) in runs::targets(&groups, &rec) {
        let problem = runs::target_problem(g, rec.session.0);
        out.push(TargetCheck {
            chat_id: chat.0,
            title: g.title.clone(),
            ok: problem.is_none(),
            problem,
            slow_mode_secs: g.slow_mode_secs,
        });
    }
    let sendable = out.iter().filter(|t| t.ok).count() as u32;
    let pacing = if is_bot { bot } else { user };
    Ok(Check {
        targets: out,
        sendable,
        eta_secs: eta_secs(sendable, pacing),
        sender: if is_bot { "bot" } else { "user" },
    })
}

/// Runs a campaign now, outside its schedule (its next scheduled run stays).
pub fn run_now(
    scope: &TenantScope,
    settings: &SettingsRec,
    id: CampaignId,
    now: i64,
    sends_per_day: Option<u32>,
) -> AppResult<runs::Started> {
    scope.shard_write(|s| {
        let mut rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
        let at = runs::RunAt {
            due: now,
            manual: true,
            now,
            sends_per_day,
        };
        runs::start(s, settings, id, &mut rec, at)
    })
}

/// Recomputes every active campaign's next run (after the tenant's time zone changed).
pub fn reschedule_all(
    scope: &TenantScope,
    settings: &SettingsRec,
    now: i64,
) -> AppResult<Vec<(CampaignId, Option<i64>)>> {
    scope.shard_write(|s| {
        let mut out = Vec::new();
        for (id, mut rec) in s.campaigns()? {
            if rec.state != CampaignStateRec::Active {
                continue;
            }
            rec.next_run = next_run(&rec, settings, now);
            if rec.next_run.is_none() {
                rec.state = CampaignStateRec::Finished;
            }
            rec.updated_at = now;
            s.put_campaign(id, &rec)?;
            out.push((id, rec.next_run));
        }
        Ok(out)
    })
}

/// The campaign's post as "send a test to me" sends it: rendered for `group` (or its first
/// target, or the tenant's first group), to the linked user's private chat with the platform
/// bot. Nothing is recorded: a test is not a run.
pub fn test_post(
    scope: &TenantScope,
    settings: &SettingsRec,
    id: CampaignId,
    group: Option<ChatId>,
    to: &botyard_shards::records::TelegramLinkRec,
    now: i64,
) -> AppResult<crate::worker::ipc::messages::SendJob> {
    let s = scope.shard_read()?;
    let rec = s.campaign(id)?.ok_or(AppError::NotFound("campaign"))?;
    let t = s
        .template(rec.template)?
        .ok_or(AppError::NotFound("template"))?;
    let version = rec.version.unwrap_or(t.latest);
    let v = s
        .template_version(rec.template, version)?
        .ok_or(AppError::NotFound("template version"))?;
    let groups = s.groups()?;
    let chat = match group {
        Some(c) => {
            s.group(c)?.ok_or(AppError::NotFound("group"))?;
            c
        }
        None => runs::targets(&groups, &rec)
            .first()
            .map(|(c, _)| *c)
            .or_else(|| groups.first().map(|(c, _)| *c))
            .ok_or_else(|| AppError::Conflict {
                code: "campaign.no_groups",
                message: "the tenant has no group to fill the template's variables with".into(),
            })?,
    };
    let mut job = runs::job(&s, settings, id, 0, chat, &rec, &v, now)?;
    // The platform bot reads every tenant's media, under the tenant's folder.
    if let Some(m) = job.media.as_mut() {
        m.file = format!("{}/{}", scope.tenant_id().0, m.file);
    }
    Ok(crate::worker::ipc::messages::SendJob {
        chat_id: to.user_id,
        access_hash: Some(to.access_hash),
        reply_to: None,
        rule: None,
        random_id: rand::random(),
        delete_message: None,
        pin: false,
        silent: false,
        ..job
    })
}
