//! Campaign actions with their runtime effects, shared by the API and the console: a state
//! change keeps the scheduler's timer in step, and a manual run hands its posts to the
//! tenant's worker.

use botyard_shards::TenantScope;
use botyard_shards::ids::CampaignId;
use botyard_shards::records::{CampaignRec, CampaignStateRec, SettingsRec};

use super::runs::Started;
use super::scheduler::JobSink;
use crate::error::AppResult;
use crate::state::{AppState, Shared, blocking};

/// Points the scheduler at the campaign's next run (none unless it is active).
pub fn reschedule(st: &AppState, scope: &TenantScope, id: CampaignId, r: &CampaignRec) {
    let next = match r.state {
        CampaignStateRec::Active => r.next_run,
        _ => None,
    };
    st.scheduler.set(scope.tenant_id(), id, next);
}

/// A state change (`activate`, `pause`, `resume`), saved, then the timer set.
pub type StateChange = fn(&TenantScope, &SettingsRec, CampaignId, i64) -> AppResult<CampaignRec>;

/// Applies `change` and reschedules; gives the scope back with the new record.
pub async fn change_state(
    st: &Shared,
    scope: TenantScope,
    id: CampaignId,
    change: StateChange,
) -> AppResult<(TenantScope, CampaignRec)> {
    let st2 = st.clone();
    let (scope, rec) = blocking(move || {
        let settings = crate::domain::tenancy::settings(&scope)?;
        let rec = change(&scope, &settings, id, st2.now())?;
        Ok((scope, rec))
    })
    .await?;
    reschedule(st, &scope, id, &rec);
    Ok((scope, rec))
}

/// What a manual run came to.
pub enum RunOutcome {
    /// Started: this many posts went to the worker.
    Started {
        run: u32,
        posts: u32,
    },
    Skipped {
        run: u32,
        code: &'static str,
    },
    /// It cannot run any more and was paused.
    Paused {
        code: &'static str,
    },
}

/// Runs the campaign now, outside its schedule; the posts go to the tenant's worker.
pub async fn run_now(st: &Shared, scope: TenantScope, id: CampaignId) -> AppResult<RunOutcome> {
    let tenant = scope.tenant_id();
    let st2 = st.clone();
    let started = blocking(move || {
        let settings = crate::domain::tenancy::settings(&scope)?;
        let limit = crate::domain::tenancy::plan_limit(&st2.store, scope.record().plan, |l| {
            l.sends_per_day
        })?;
        super::run_now(&scope, &settings, id, st2.now(), limit)
    })
    .await?;
    Ok(match started {
        Started::Run { run, jobs } => {
            let posts = jobs.len() as u32;
            st.supervisor.deliver(tenant, jobs);
            RunOutcome::Started { run, posts }
        }
        Started::Skipped { run, code } => RunOutcome::Skipped { run, code },
        Started::Paused { code } => {
            st.scheduler.set(tenant, id, None);
            RunOutcome::Paused { code }
        }
    })
}

/// What a test post came to: the Telegram user who got it, the message, and when (ms).
pub struct TestSent {
    pub telegram_user_id: i64,
    pub message_id: i64,
    pub at_ms: i64,
}

/// Sends the campaign's post to `account`'s own chat with the platform bot, as the campaign
/// would post it for `group` (or its first target). Nothing is recorded as a run.
pub async fn send_test(
    st: &Shared,
    scope: TenantScope,
    account: botyard_shards::ids::AccountId,
    id: CampaignId,
    group: Option<botyard_shards::ids::ChatId>,
) -> AppResult<TestSent> {
    use crate::domain::telegram_link;
    let configured = telegram_link::platform_configured(&st.config);
    let st2 = st.clone();
    let (job, to) = blocking(move || {
        // Another tenant's campaign is a 404 before anything about the caller is said.
        scope
            .shard_read()?
            .campaign(id)?
            .ok_or(crate::error::AppError::NotFound("campaign"))?;
        if !configured {
            return Err(telegram_link::not_configured());
        }
        let to = st2
            .store
            .catalog_read()?
            .telegram_link(account)?
            .ok_or_else(|| crate::error::AppError::Conflict {
                code: "telegram.not_linked",
                message: "link your Telegram first: POST /api/v1/auth/telegram/link".into(),
            })?;
        let settings = crate::domain::tenancy::settings(&scope)?;
        let job = super::test_post(&scope, &settings, id, group, &to, st2.now())?;
        Ok((job, to.user_id))
    })
    .await?;
    let _turn = st.link_codes.test_turn(account)?;
    let r = st
        .supervisor
        .send_direct(job, telegram_link::DIRECT_WAIT)
        .await;
    let (message_id, at_ms) = telegram_link::outcome(r)?;
    Ok(TestSent {
        telegram_user_id: to,
        message_id,
        at_ms,
    })
}
