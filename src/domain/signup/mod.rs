//! Signing up through the platform bot: a Telegram user presses Start (from the storefront's
//! trial button or a tenant's referral link), opens the Mini-App, and names their business
//! and email. That makes an account linked to their Telegram user, a tenant they own on the
//! sign-up plan's free trial, and a session in the app, in one go. The reseller decides in
//! the console whether sign-ups are open, closed, or need a beta invite code.

pub mod invites;
pub mod referrals;
pub mod starts;

use botyard_shards::ids::{AccountId, PlanId, TenantId};
use botyard_shards::records::{
    AccountPrefsRec, AccountRec, AuditRec, Language, Role, SignupRec, TelegramLinkRec,
};

use crate::config::Secret;
use crate::domain::appliance::effective::SignupMode;
use crate::domain::browser_sessions::{Origin, WebAppStarted};
use crate::error::{AppError, AppResult};
use crate::state::{Shared, blocking};

pub use starts::{Start, Starts};

/// What the Mini-App's sign-up form sends.
#[derive(Clone, Debug, Default)]
pub struct SignupForm {
    /// The business's name: the tenant's.
    pub business: String,
    pub email: String,
    /// A beta invite code (needed while sign-ups are by invitation).
    pub invite: String,
}

fn conflict(code: &'static str, message: &str) -> AppError {
    AppError::Conflict {
        code,
        message: message.into(),
    }
}

/// The policy the console's form sends: `mode` (closed, open, invite), `plan` (empty: the
/// cheapest with a trial) and `reward_days` (empty: none).
pub fn policy_from_form(
    mode: &str,
    plan: &str,
    reward_days: &str,
) -> AppResult<crate::domain::appliance::effective::SignupPolicy> {
    let mode = SignupMode::parse(mode.trim())
        .ok_or_else(|| AppError::invalid("mode", "closed, open or invite"))?;
    let plan = match plan.trim() {
        "" => None,
        p => {
            Some(PlanId(p.parse().map_err(|_| {
                AppError::invalid("plan", "a plan from the list")
            })?))
        }
    };
    let reward_days = match reward_days.trim() {
        "" => 0,
        d => d.parse().map_err(|_| AppError::Invalid {
            code: "signup.reward_days",
            field: "reward_days".into(),
            message: "a number of days, 0 for none".into(),
        })?,
    };
    Ok(crate::domain::appliance::effective::SignupPolicy {
        mode,
        plan,
        reward_days,
    })
}

/// Sign-ups are closed: the reseller adds tenants.
pub fn closed() -> AppError {
    conflict(
        "signup.closed",
        "sign-ups are closed; ask the seller for an account",
    )
}

/// The plan a new tenant's trial is on: the one the reseller chose, else the cheapest plan
/// offered with a free trial.
pub fn trial_plan(st: &crate::state::AppState) -> AppResult<Option<(PlanId, u32)>> {
    let chosen = st.appliance().signup.plan;
    let c = st.store.catalog_read()?;
    if let Some(p) = chosen {
        let trial = c.plan_price(p)?.map_or(0, |x| x.trial_days);
        return Ok((c.plan(p)?.is_some() && trial > 0).then_some((p, trial)));
    }
    drop(c);
    Ok(crate::domain::storefront::offers(st)?
        .into_iter()
        .find(|o| o.trial_days > 0)
        .map(|o| (o.plan, o.trial_days)))
}

/// Whether a visitor can sign up now (sign-ups open and a plan with a trial to put them on).
pub fn open_for_signups(st: &crate::state::AppState) -> bool {
    st.appliance().signup.mode != SignupMode::Closed && matches!(trial_plan(st), Ok(Some(_)))
}

/// The referral code in a `/start` payload or a Mini-App `start_param` (`ref_<code>`).
pub fn referral_in(payload: &str) -> Option<String> {
    payload
        .strip_prefix(referrals::REF_PREFIX)
        .and_then(referrals::normalize)
}

/// The language a Telegram user's app is in, when it is one of ours.
fn language_of(code: Option<&str>) -> Option<Language> {
    code.and_then(crate::i18n::from_accept_language)
}

/// Signs up the Telegram user `init_data` proves and signs them in to the Mini-App.
pub async fn sign_up(
    st: &Shared,
    init_data: &str,
    form: SignupForm,
    origin: Origin,
) -> AppResult<WebAppStarted> {
    let v = crate::domain::browser_sessions::verify_webapp(st, init_data)?;
    let policy = st.appliance().signup.clone();
    if policy.mode == SignupMode::Closed {
        return Err(closed());
    }
    let user = v.user.id;
    if st
        .store
        .catalog_read()?
        .account_for_telegram_user(user)?
        .is_some()
    {
        return Err(conflict(
            "signup.already",
            "this Telegram account has an account already: open the app again to sign in",
        ));
    }
    // The bot must have seen the user to write to them later (alerts, support answers).
    let start = st.signup_starts.get(user, st.now()).ok_or_else(|| {
        conflict(
            "signup.start_bot",
            "press Start in the bot first, then open the app from its button",
        )
    })?;
    let business = crate::domain::tenancy::clean_name("business", &form.business)?;
    let email = crate::domain::auth::normalize_email("email", &form.email)?;
    let (plan, _) = trial_plan(st)?.ok_or_else(|| {
        conflict(
            "signup.no_plan",
            "sign-ups are not possible now: no plan has a free trial; ask the seller",
        )
    })?;
    let referral = start
        .referral
        .clone()
        .or_else(|| v.start_param.as_deref().and_then(referral_in));
    let language = language_of(v.user.language_code.as_deref());
    // An unknown password: the account signs in through Telegram, or sets one by "forgot
    // password" for the console.
    let hash = st
        .hashes
        .hash(Secret::new(crate::security::crypto::random_token()))
        .await?;
    let st2 = st.clone();
    let now = st.now();
    let made = blocking(move || {
        make(
            &st2,
            Made {
                user,
                start,
                business,
                email,
                invite: (policy.mode == SignupMode::Invite).then_some(form.invite),
                referral,
                plan,
                language,
                hash,
                origin,
            },
            now,
        )
    })
    .await?;
    st.signup_starts.forget(user);
    tracing::info!(
        tenant_id = made.0.0,
        account = made.1.started.account.0,
        "a tenant signed up through the platform bot"
    );
    Ok(made.1)
}

struct Made {
    user: i64,
    start: Start,
    business: String,
    email: String,
    invite: Option<String>,
    referral: Option<String>,
    plan: PlanId,
    language: Option<Language>,
    hash: String,
    origin: Origin,
}

fn taken() -> AppError {
    conflict(
        "signup.email_taken",
        "this email has an account already: sign in with it in the app to link Telegram",
    )
}

/// The tenant, its trial, the account and its link, the invite's use and the sign-up record.
/// The account is made after the tenant, so a refusal there (the email taken meanwhile, the
/// invite used up) deletes the tenant again.
fn make(st: &crate::state::AppState, m: Made, now: i64) -> AppResult<(TenantId, WebAppStarted)> {
    if st
        .store
        .catalog_read()?
        .account_by_email(&m.email)?
        .is_some()
    {
        return Err(taken());
    }
    if let Some(code) = &m.invite {
        // Checked before anything is made; taken for good in the account's transaction.
        let c = st.store.catalog_read()?;
        let code = invites::normalize(code).ok_or_else(|| AppError::Invalid {
            code: "invite.required",
            field: "invite".into(),
            message: "sign-ups are by invitation now: enter the invite code you were given".into(),
        })?;
        match c.invite_code(&code)? {
            None => {
                return Err(AppError::Invalid {
                    code: "invite.unknown",
                    field: "invite".into(),
                    message: "there is no such invite code; check how it is written".into(),
                });
            }
            Some(rec) => invites::usable(&rec, now).map_err(invites::Refusal::error)?,
        }
    }
    let admin = st.store.system_admin();
    let (tenant, _) =
        crate::domain::tenancy::create_tenant(&admin, &m.business, Some(m.plan), now)?;
    let done = (|| -> AppResult<WebAppStarted> {
        let scope = admin.tenant(tenant)?;
        crate::domain::billing::start_trial(&scope, m.plan, true, now)?;
        if let Some(language) = m.language {
            let mut s = crate::domain::tenancy::settings(&scope)?;
            s.language = language;
            if language == Language::Tr {
                s.time_zone = "Europe/Istanbul".into();
            }
            s.updated_at = now;
            scope.shard_write(|w| w.put_settings(&s))?;
        }
        let referrer = match &m.referral {
            Some(code) => st.store.catalog_read()?.referral_tenant(code)?,
            None => None,
        };
        scope.catalog_write(|c| -> AppResult<WebAppStarted> {
            if c.account_by_email(&m.email)?.is_some() {
                return Err(taken());
            }
            let invite = match &m.invite {
                Some(code) => Some(invites::redeem(c, code, now)?),
                None => None,
            };
            let account = c.insert_account(&AccountRec {
                email: m.email.clone(),
                password_hash: m.hash.clone(),
                is_admin: false,
                created_at: now,
                password_changed_at: now,
            })?;
            c.set_member(account, Role::Owner)?;
            c.link_telegram(
                account,
                &TelegramLinkRec {
                    user_id: m.user,
                    access_hash: m.start.access_hash,
                    first_name: m.start.first_name.clone(),
                    username: m.start.username.clone(),
                    linked_at: now,
                },
            )?;
            if let Some(l) = m.language {
                c.set_account_prefs(
                    account,
                    &AccountPrefsRec {
                        language: match l {
                            Language::Tr => "tr",
                            Language::En => "en",
                        }
                        .into(),
                        time_zone: String::new(),
                    },
                )?;
            }
            c.put_signup(&SignupRec {
                at: now,
                account,
                telegram_user: m.user,
                invite: invite.clone(),
                referrer: referrer.filter(|r| *r != tenant),
                reward_days: 0,
                rewarded_at: None,
            })?;
            c.audit(&AuditRec {
                at: now,
                actor: Some(account),
                tenant: Some(tenant),
                action: "tenant.signed_up".into(),
                detail: format!(
                    "invite={} referrer={}",
                    invite.as_deref().unwrap_or("-"),
                    referrer.map_or_else(|| "-".into(), |r| r.to_string())
                ),
            })?;
            let started =
                crate::domain::browser_sessions::start_webapp(c, account, &m.origin, now)?;
            Ok(WebAppStarted {
                started,
                language: m.language,
            })
        })
    })();
    match done {
        Ok(started) => Ok((tenant, started)),
        Err(e) => {
            if let Err(undo) = crate::domain::tenancy::delete_tenant(&admin, tenant, now) {
                tracing::error!(tenant_id = tenant.0, error = %undo, "a failed sign-up's tenant was not removed");
            }
            Err(e)
        }
    }
}

/// Signs up happened: the reseller's list, newest first, with the tenant's name and its
/// referrer's.
pub struct SignupView {
    pub tenant: TenantId,
    pub name: String,
    pub at: i64,
    pub invite: Option<String>,
    pub referrer: Option<(TenantId, String)>,
    pub rewarded_days: Option<u32>,
    pub account: AccountId,
}

pub fn recent(st: &crate::state::AppState, limit: usize) -> AppResult<Vec<SignupView>> {
    let admin = st.store.system_admin();
    let name_of = |t: TenantId| {
        admin
            .tenant(t)
            .map_or_else(|_| format!("#{t}"), |s| s.record().name.clone())
    };
    let mut out = Vec::new();
    for (tenant, s) in st.store.catalog_read()?.signups(limit)? {
        let name = name_of(tenant);
        let referrer = s.referrer.map(|r| (r, name_of(r)));
        out.push(SignupView {
            tenant,
            name,
            at: s.at,
            invite: s.invite,
            referrer,
            rewarded_days: s.rewarded_at.map(|_| s.reward_days),
            account: s.account,
        });
    }
    Ok(out)
}
