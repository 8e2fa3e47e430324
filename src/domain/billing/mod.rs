//! Selling plans: a plan's price, each tenant's subscription and its life, payments (a bank
//! transfer recorded by an admin, Telegram Stars through the platform bot: `stars`), invoices
//! and credit notes (`invoices`), and the renewal job that moves subscriptions on time. Money is integer minor units; Stars are
//! whole. See `lifecycle` for the states and `proration` for plan changes.

pub mod invoices;
pub mod legal;
pub mod lifecycle;
pub mod payload;
pub mod pdf;
pub mod proration;
pub mod report;
pub mod stars;

use botyard_shards::ids::{AccountId, PaymentId, PlanId, TenantId};
use botyard_shards::records::{
    AuditRec, Language, PaymentProviderRec, PaymentRec, PlanPriceRec, SubEventRec, SubStateRec,
    SubscriptionRec, TenantStatus,
};
use botyard_shards::{TenantCatalog, TenantScope, WriteTransaction};

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use lifecycle::{Policy, Step};

/// Highest price in Stars per period (Telegram's own cap on one invoice is lower).
pub const MAX_STARS: u32 = 1_000_000;
/// Longest free trial.
pub const MAX_TRIAL_DAYS: u32 = 90;
/// Most days one payment may buy.
pub const MAX_PAID_DAYS: u32 = 3 * 366;

pub fn policy(st: &AppState) -> Policy {
    Policy {
        grace_secs: i64::from(st.config.billing.grace_days) * lifecycle::DAY,
        retention_secs: i64::from(st.config.billing.retention_days) * lifecycle::DAY,
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Invalid {
        code: "billing.invalid",
        field: field.into(),
        message: message.into(),
    }
}

/// A plan's price as an admin sets it.
#[derive(Clone, Debug)]
pub struct PriceInput {
    pub stars: u32,
    pub minor: u64,
    pub currency: String,
    pub trial_days: u32,
    pub offered: bool,
}

/// Sets a plan's price (admins); running subscriptions keep theirs until they renew.
pub fn set_price(
    st: &AppState,
    actor: Option<AccountId>,
    plan: PlanId,
    p: PriceInput,
    now: i64,
) -> AppResult<PlanPriceRec> {
    if p.stars > MAX_STARS {
        return Err(invalid("stars", "at most 1,000,000 Stars per period"));
    }
    if p.trial_days > MAX_TRIAL_DAYS {
        return Err(invalid("trial_days", "at most 90 days"));
    }
    let currency = p.currency.trim().to_ascii_uppercase();
    if p.minor > 0 && !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(invalid(
            "currency",
            "a manual price needs its currency's three-letter code (TRY, EUR, USD)",
        ));
    }
    let rec = PlanPriceRec {
        stars: p.stars,
        minor: p.minor,
        currency: if p.minor > 0 { currency } else { String::new() },
        trial_days: p.trial_days,
        offered: p.offered,
        updated_at: now,
    };
    st.store.catalog_write(|c| {
        if c.plan(plan)?.is_none() {
            return Err(AppError::NotFound("plan"));
        }
        c.put_plan_price(plan, &rec)?;
        c.audit(&AuditRec {
            at: now,
            actor,
            tenant: None,
            action: "plan.priced".into(),
            detail: format!(
                "plan {}: {} Stars, {} {}, trial {} days, offered {}",
                plan.0, rec.stars, rec.minor, rec.currency, rec.trial_days, rec.offered
            ),
        })?;
        Ok(rec.clone())
    })
}

/// What a tenant's people see of their subscription.
#[derive(Clone, Debug)]
pub struct View {
    pub subscription: Option<SubscriptionRec>,
    pub events: Vec<SubEventRec>,
    pub payments: Vec<(PaymentId, PaymentRec)>,
}

pub fn view(scope: &TenantScope) -> AppResult<View> {
    let c = scope.catalog_read()?;
    Ok(View {
        subscription: c.subscription()?,
        events: c.sub_events(50)?,
        payments: c.payments()?,
    })
}

/// Writes a step: the subscription, its history and the audit log, in the caller's
/// transaction (so a step is never half written).
fn record_step(
    c: &mut TenantCatalog<WriteTransaction>,
    s: &SubscriptionRec,
    step: &Step,
    actor: Option<AccountId>,
    now: i64,
) -> AppResult<()> {
    c.put_subscription(s)?;
    c.add_sub_event(&event(s, step, now))?;
    let id = c.tenant_id();
    c.audit(&audit(id, s, step, actor, now))?;
    Ok(())
}

fn event(s: &SubscriptionRec, step: &Step, now: i64) -> SubEventRec {
    SubEventRec {
        at: now,
        from: step.from,
        to: step.to,
        plan: s.plan,
        reason: step.reason.into(),
    }
}

fn audit(
    tenant: TenantId,
    s: &SubscriptionRec,
    step: &Step,
    actor: Option<AccountId>,
    now: i64,
) -> AuditRec {
    AuditRec {
        at: now,
        actor,
        tenant: Some(tenant),
        action: format!("subscription.{}", step.reason),
        detail: format!("{:?} → {:?}, plan {}", step.from, step.to, s.plan.0),
    }
}

/// Puts the tenant on `plan` (its limits apply) when it is not already.
fn use_plan(c: &mut TenantCatalog<WriteTransaction>, plan: PlanId, now: i64) -> AppResult<()> {
    let mut t = c.tenant()?;
    if t.plan != Some(plan) {
        t.plan = Some(plan);
        t.updated_at = now;
        c.put_tenant(&t)?;
    }
    Ok(())
}

/// Starts the free trial of an offered plan (admins may pick any plan). A tenant gets one
/// trial: refused once it has had any subscription.
pub fn start_trial(
    scope: &TenantScope,
    plan: PlanId,
    admin: bool,
    now: i64,
) -> AppResult<SubscriptionRec> {
    let actor = scope.actor();
    scope.catalog_write(|c| {
        if c.subscription()?.is_some() {
            return Err(AppError::Conflict {
                code: "billing.trial_used",
                message: "this tenant has had a subscription already; a trial is for new tenants"
                    .into(),
            });
        }
        // A plan named in the body is bad input (422), not a missing resource.
        if c.plan(plan)?.is_none() {
            return Err(crate::domain::tenancy::unknown_plan(plan));
        }
        let price = c
            .plan_price(plan)?
            .filter(|p| admin || p.offered)
            .ok_or_else(|| crate::domain::tenancy::unknown_plan(plan))?;
        let s = lifecycle::start_trial(plan, price.stars, price.trial_days, now).ok_or(
            AppError::Conflict {
                code: "billing.no_trial",
                message: "this plan has no free trial; pay for it to start".into(),
            },
        )?;
        let step = Step {
            from: None,
            to: SubStateRec::Trialing,
            reason: "trial_started",
        };
        record_step(c, &s, &step, actor, now)?;
        use_plan(c, plan, now)?;
        Ok(s)
    })
}

/// A change asked of a tenant that has no subscription: it exists, its subscription does not
/// yet (a 409, not a 404: the tenant is there).
fn no_subscription() -> AppError {
    AppError::Conflict {
        code: "billing.no_subscription",
        message: "the tenant has no subscription yet: start a trial or pay for a plan first".into(),
    }
}

fn change(
    scope: &TenantScope,
    now: i64,
    reason: &'static str,
    f: impl FnOnce(&mut SubscriptionRec) -> Result<(), &'static str>,
) -> AppResult<SubscriptionRec> {
    let actor = scope.actor();
    let id = scope.tenant_id();
    scope.catalog_write(|c| {
        let mut s = c.subscription()?.ok_or_else(no_subscription)?;
        f(&mut s).map_err(|m| AppError::Conflict {
            code: "billing.state",
            message: m.into(),
        })?;
        c.put_subscription(&s)?;
        c.audit(&AuditRec {
            at: now,
            actor,
            tenant: Some(id),
            action: format!("subscription.{reason}"),
            detail: String::new(),
        })?;
        Ok(s)
    })
}

/// The tenant stops renewing: the subscription ends with its period.
pub fn cancel(scope: &TenantScope, now: i64) -> AppResult<SubscriptionRec> {
    change(scope, now, "cancel_requested", |s| {
        lifecycle::cancel(s, now)
    })
}

/// Takes a cancellation back before the period ends.
pub fn resume(scope: &TenantScope, now: i64) -> AppResult<SubscriptionRec> {
    change(scope, now, "cancel_withdrawn", |s| {
        lifecycle::resume(s, now)
    })
}

/// Something the smaller plan allows less of than the tenant has: `(what, has, allows)`.
pub type Cut = (&'static str, u64, u64);

/// What asking for another plan did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanChange {
    /// During a trial the plan changes at once (the trial's end stays).
    Switched,
    /// A cheaper plan waits for the period's end; until then nothing is cut. What it would
    /// cut is listed so the tenant can tidy up first.
    Scheduled { at: i64, cuts: Vec<Cut> },
    /// A dearer plan takes effect when paid: the unused part of this period is credited.
    PaymentRequired { credit: u32, charge: u32 },
}

/// What the tenant has that `limits` would not allow, and statistics the plan keeps less long.
fn cuts(scope: &TenantScope, limits: &botyard_shards::records::PlanLimits) -> AppResult<Vec<Cut>> {
    let s = scope.shard_read()?;
    let now = [
        (
            "sessions",
            s.sessions()?.len() as u64,
            u64::from(limits.sessions),
        ),
        (
            "groups",
            s.groups()?.iter().filter(|(_, g)| g.enabled).count() as u64,
            u64::from(limits.groups),
        ),
        (
            "templates",
            s.templates()?.len() as u64,
            u64::from(limits.templates),
        ),
        (
            "campaigns",
            s.campaigns()?.len() as u64,
            u64::from(limits.campaigns),
        ),
    ];
    let mut out: Vec<Cut> = now.into_iter().filter(|(_, has, may)| has > may).collect();
    if let Some(current) = scope.plan_limits()?
        && current.retention_days > limits.retention_days
    {
        out.push((
            "retention_days",
            u64::from(current.retention_days),
            u64::from(limits.retention_days),
        ));
    }
    Ok(out)
}

/// Asks for plan `plan`: at once during a trial, at the period's end for a cheaper one (with
/// what it would cut), after payment for a dearer one (with the proration).
pub fn change_plan(
    scope: &TenantScope,
    plan: PlanId,
    admin: bool,
    now: i64,
) -> AppResult<PlanChange> {
    let actor = scope.actor();
    let id = scope.tenant_id();
    let c = scope.catalog_read()?;
    let s = c.subscription()?.ok_or_else(no_subscription)?;
    let target = c
        .plan(plan)?
        .ok_or_else(|| crate::domain::tenancy::unknown_plan(plan))?;
    let price = c
        .plan_price(plan)?
        .filter(|p| admin || p.offered)
        .ok_or_else(|| crate::domain::tenancy::unknown_plan(plan))?;
    drop(c);
    let state = |m: &str| AppError::Conflict {
        code: "billing.state",
        message: m.into(),
    };
    if !matches!(s.state, SubStateRec::Trialing | SubStateRec::Active) {
        return Err(state(
            "only a trial or an active subscription changes plan; pay first",
        ));
    }
    if s.plan == plan {
        return Err(state("the subscription is on this plan already"));
    }
    let cut = cuts(scope, &target.limits)?;
    let change = if s.state == SubStateRec::Trialing {
        PlanChange::Switched
    } else if price.stars < s.stars {
        PlanChange::Scheduled {
            at: s.period_end,
            cuts: cut,
        }
    } else {
        let (credit, charge) =
            proration::upgrade(s.stars, price.stars, s.period_start, s.period_end, now);
        return Ok(PlanChange::PaymentRequired { credit, charge });
    };
    scope.catalog_write(|c| -> AppResult<()> {
        let mut s = c.subscription()?.ok_or_else(no_subscription)?;
        let action = match change {
            PlanChange::Switched => {
                s.plan = plan;
                s.stars = price.stars;
                use_plan(c, plan, now)?;
                "subscription.plan_switched"
            }
            _ => {
                s.next_plan = Some(plan);
                "subscription.downgrade_scheduled"
            }
        };
        s.updated_at = now;
        c.put_subscription(&s)?;
        c.audit(&AuditRec {
            at: now,
            actor,
            tenant: Some(id),
            action: action.into(),
            detail: format!("plan {}", plan.0),
        })?;
        Ok(())
    })?;
    Ok(change)
}

/// An amount typed by a person (`499`, `499,90`, `1.499,90`, `499.9`) in minor units
/// (hundredths); `None` for anything else. No floating point: the digits are read as text.
pub fn parse_money(text: &str) -> Option<u64> {
    let t: String = text.trim().chars().filter(|c| !c.is_whitespace()).collect();
    // The last separator followed by one or two digits is the decimal one; others group
    // thousands.
    let (whole, frac) = match t.rfind([',', '.']) {
        Some(i) if (1..=2).contains(&(t.len() - i - 1)) => (&t[..i], &t[i + 1..]),
        _ => (t.as_str(), ""),
    };
    let whole: String = whole.chars().filter(|c| *c != '.' && *c != ',').collect();
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse::<u64>().ok()?,
    };
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

/// A bank transfer an admin records.
#[derive(Clone, Debug)]
pub struct ManualPayment {
    pub amount: u64,
    pub currency: String,
    /// When the money arrived, Unix seconds.
    pub paid_at: i64,
    /// The transfer's reference (unique per tenant: recording it twice is refused).
    pub reference: String,
    /// The plan it pays for; the subscription's (or the tenant's) when `None`.
    pub plan: Option<PlanId>,
    pub days: u32,
}

/// A state's stable code, as the API and notices name it.
pub fn state_code(s: SubStateRec) -> &'static str {
    match s {
        SubStateRec::Trialing => "trialing",
        SubStateRec::Active => "active",
        SubStateRec::PastDue => "past_due",
        SubStateRec::Suspended => "suspended",
        SubStateRec::Cancelled => "cancelled",
    }
}

/// Who issues invoices and at what tax.
#[derive(Clone, Debug)]
pub struct Issuer {
    pub seller: String,
    /// The seller's legal details (address, tax office and number).
    pub details: crate::domain::appliance::Seller,
    /// Basis points (2000 = 20 %), for money other than Stars.
    pub tax_bp: u32,
    /// How the owners are told (the payment's notice goes with its invoice).
    pub mail: crate::domain::mail::notices::MailCtx,
}

pub fn issuer(st: &AppState) -> Issuer {
    let a = st.appliance();
    Issuer {
        seller: a
            .seller
            .legal_name
            .clone()
            .unwrap_or_else(|| a.brand.name.clone()),
        details: a.seller.clone(),
        tax_bp: st.config.billing.tax_percent.saturating_mul(100),
        mail: crate::domain::mail::notices::MailCtx::of(st),
    }
}

impl Issuer {
    /// The seller's details, a line each, in `language`.
    pub fn seller_lines(&self, language: botyard_shards::records::Language) -> Vec<String> {
        legal::legal_lines(
            &self.details.address,
            &self.details.tax_office,
            &self.details.tax_number,
            language,
        )
    }
}

/// `total` (tax included) split into `(net, tax)` at `tax_bp`, the net rounded half up.
pub fn split_tax(total: u64, tax_bp: u32) -> (u64, u64) {
    let d = 10_000u128 + u128::from(tax_bp);
    let net = (u128::from(total) * 10_000 + d / 2) / d;
    let net = u64::try_from(net).unwrap_or(total).min(total);
    (net, total - net)
}

/// What crediting a payment did.
#[derive(Clone, Debug)]
pub struct Credited {
    pub payment: PaymentId,
    /// The invoice issued for it (`2026-000001`).
    pub invoice: String,
    pub subscription: SubscriptionRec,
    /// The tenant was suspended by billing and is active again: its worker should start.
    pub resumed: bool,
}

/// Records a transfer and extends the subscription as a Stars payment would.
pub fn record_manual(
    scope: &TenantScope,
    issuer: &Issuer,
    p: ManualPayment,
    now: i64,
) -> AppResult<Credited> {
    let reference = p.reference.trim().to_string();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(invalid(
            "reference",
            "1 to 100 characters: the transfer's reference",
        ));
    }
    if p.amount == 0 {
        return Err(invalid("amount", "more than zero, in minor units (kuruş)"));
    }
    let currency = p.currency.trim().to_ascii_uppercase();
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(invalid("currency", "a three-letter currency code (TRY)"));
    }
    if p.days == 0 || p.days > MAX_PAID_DAYS {
        return Err(invalid("days", "1 to 1098 days"));
    }
    let tenant = scope.tenant_id();
    let charge = invoices::Charge {
        provider: PaymentProviderRec::Manual,
        amount: p.amount,
        currency,
        charge_id: format!("{}:{reference}", tenant.0),
        reference: reference.clone(),
        plan: p.plan,
        days: p.days,
        paid_at: p.paid_at,
        payer: None,
        upgrade: false,
    };
    invoices::credit(scope, issuer, charge, now)?.ok_or_else(|| AppError::Conflict {
        code: "billing.payment_recorded",
        message: format!("a transfer with reference {reference} is recorded already"),
    })
}

/// Each tenant's own language (for owners who never chose one).
fn tenant_languages(
    admin: &botyard_shards::AdminScope<'_>,
    tenants: impl Iterator<Item = TenantId>,
) -> std::collections::HashMap<TenantId, Language> {
    tenants
        .filter_map(|t| {
            let scope = admin.tenant(t).ok()?;
            Some((t, crate::domain::tenancy::settings(&scope).ok()?.language))
        })
        .collect()
}

/// A day as its reader writes it.
pub fn day(at: i64, lang: Language) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(at) else {
        return at.to_string();
    };
    let d = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    match lang {
        Language::Tr => d.strftime("%d.%m.%Y").to_string(),
        Language::En => d.strftime("%Y-%m-%d").to_string(),
    }
}

/// Tells the owners what a step of the renewal job did to their subscription.
fn step_notice(
    b: &mut botyard_shards::BillingTx<'_>,
    mail: &crate::domain::mail::notices::MailCtx,
    tenant: TenantId,
    s: &SubscriptionRec,
    step: &lifecycle::Step,
    lang: Language,
) -> AppResult<()> {
    use crate::domain::mail::notices::{Notice, owner_rows};
    let Some(t) = b.tenant(tenant)? else {
        return Ok(());
    };
    let until = s.grace_until.unwrap_or(s.period_end);
    let notice = match step.to {
        SubStateRec::PastDue => Notice::RenewalFailed {
            tenant: t.name,
            date: day(until, lang),
        },
        SubStateRec::Suspended => Notice::Suspended { tenant: t.name },
        SubStateRec::Cancelled => Notice::Cancelled {
            tenant: t.name,
            data_until: day(until, lang),
        },
        SubStateRec::Trialing | SubStateRec::Active => return Ok(()),
    };
    let people = b.recipients(tenant)?;
    for row in owner_rows(mail, &notice, &people, tenant, lang)? {
        b.enqueue_mail(row, &mail.domain)?;
    }
    Ok(())
}

/// How far ahead each reminder goes: a trial's end, a grace's end, a data deletion.
const TRIAL_NOTICE: i64 = 3 * lifecycle::DAY;
const GRACE_NOTICE: i64 = lifecycle::DAY;
const DELETION_NOTICE: i64 = 3 * lifecycle::DAY;

/// Sends the reminders that are due: a trial ending in three days, a grace period ending in
/// a day, data deleted in three days. Each is sent once for its date (a ledger in the
/// catalog, written with the mail), so a restart or a second pass does not repeat it.
pub fn remind(st: &AppState, now: i64) -> AppResult<usize> {
    use crate::domain::mail::notices::{MailCtx, Notice, owner_rows};
    let mail = MailCtx::of(st);
    let admin = st.store.system_admin();
    let soon =
        st.store
            .catalog_read()?
            .upcoming(now, now + TRIAL_NOTICE.max(DELETION_NOTICE), 10_000)?;
    let langs = tenant_languages(&admin, soon.iter().map(|(t, _, _)| *t));
    let mut sent = 0;
    for (tenant, name, s) in soon {
        let Some(due) = s.due_at else { continue };
        let lang = langs.get(&tenant).copied().unwrap_or(Language::En);
        let (kind, ahead, notice) = match s.state {
            SubStateRec::Trialing if !s.cancel_at_period_end => (
                "trial",
                TRIAL_NOTICE,
                Notice::TrialEnding {
                    tenant: name,
                    date: day(due, lang),
                },
            ),
            SubStateRec::PastDue => (
                "grace",
                GRACE_NOTICE,
                Notice::GraceEnding {
                    tenant: name,
                    date: day(due, lang),
                },
            ),
            SubStateRec::Cancelled => (
                "deletion",
                DELETION_NOTICE,
                Notice::DeletionWarning {
                    tenant: name,
                    date: day(due, lang),
                },
            ),
            _ => continue,
        };
        if due - now > ahead {
            continue;
        }
        let ledger = format!("remind|{kind}|{}|{due}", tenant.0);
        sent += admin.billing_write(|b| -> AppResult<usize> {
            if b.notice_sent(&ledger)? {
                return Ok(0);
            }
            let people = b.recipients(tenant)?;
            let rows = owner_rows(&mail, &notice, &people, tenant, lang)?;
            let n = rows.len();
            for row in rows {
                b.enqueue_mail(row, &mail.domain)?;
            }
            b.mark_notice_sent(&ledger)?;
            Ok(n)
        })?;
    }
    Ok(sent)
}

/// What the renewal job did in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub steps: usize,
    pub suspended: usize,
    /// Cancelled tenants whose retention ended: deleted.
    pub deleted: usize,
}

/// Tenants a pass changed, for the caller's part: stop the workers of `stopped`; remove the
/// files (media, logs) of `deleted`.
#[derive(Clone, Debug, Default)]
pub struct Changed {
    pub stopped: Vec<TenantId>,
    pub deleted: Vec<TenantId>,
}

/// Moves every subscription that is due at `now` on, a step at a time until nothing is due;
/// a tenant whose grace ended, or whose cancelled subscription ended, is suspended (stopping
/// its worker is the caller's: the tenants are returned), and a cancelled tenant whose
/// retention ended is deleted with all its rows (its subscription and due entry with them, so
/// a crash before the deletion only delays it). Due subscriptions are taken a batch at a time, each batch in one catalog
/// transaction with the next due times, so a pass after a crash finds only what is still due
/// and a step is never taken twice.
pub fn run_due(st: &AppState, now: i64) -> AppResult<(Pass, Changed)> {
    const BATCH: usize = 1_000;
    let p = policy(st);
    let admin = st.store.system_admin();
    let mut pass = Pass::default();
    let mut changed = Changed::default();
    let mail = crate::domain::mail::notices::MailCtx::of(st);
    loop {
        let due = st.store.catalog_read()?.subscriptions_due(now, BATCH)?;
        if due.is_empty() {
            break;
        }
        let langs = tenant_languages(&admin, due.iter().map(|(_, t)| *t));
        let done =
            admin.billing_write(|b| -> AppResult<(usize, Vec<TenantId>, Vec<TenantId>)> {
                let mut steps = 0;
                let mut suspended = Vec::new();
                let mut to_delete = Vec::new();
                for (at, tenant) in &due {
                    let Some(mut s) = b.subscription(*tenant)? else {
                        b.forget_due(*at, *tenant)?;
                        continue;
                    };
                    if lifecycle::deletion_due(&s, now) {
                        to_delete.push(*tenant);
                        continue;
                    }
                    let mut n = 0;
                    while let Some(step) = lifecycle::tick(&mut s, now, p) {
                        b.put_subscription(*tenant, &s)?;
                        b.add_sub_event(*tenant, &event(&s, &step, now))?;
                        b.audit(&audit(*tenant, &s, &step, None, now))?;
                        let lang = langs.get(tenant).copied().unwrap_or(Language::En);
                        step_notice(b, &mail, *tenant, &s, &step, lang)?;
                        n += 1;
                        if matches!(step.to, SubStateRec::Suspended | SubStateRec::Cancelled)
                            && let Some(mut t) = b.tenant(*tenant)?
                            && t.status == TenantStatus::Active
                        {
                            t.status = TenantStatus::Suspended;
                            t.updated_at = now;
                            b.put_tenant(*tenant, &t)?;
                            suspended.push(*tenant);
                        }
                    }
                    if n == 0 {
                        // Due with nothing to do (the clock moved back): filed again for later.
                        s.due_at = lifecycle::due_at(&s).filter(|d| *d > now);
                        b.put_subscription(*tenant, &s)?;
                    }
                    steps += n;
                }
                Ok((steps, suspended, to_delete))
            })?;
        pass.steps += done.0;
        pass.suspended += done.1.len();
        changed.stopped.extend(done.1);
        for tenant in done.2 {
            // Its worker stopped when it was cancelled (a cancelled tenant is suspended).
            crate::domain::tenancy::delete_tenant(&admin, tenant, now)?;
            tracing::info!(
                tenant_id = tenant.0,
                "a cancelled tenant's retention ended; its data was deleted"
            );
            pass.deleted += 1;
            changed.deleted.push(tenant);
        }
    }
    // After the steps, so a payment that reactivated a subscription counts as live.
    if let Err(e) = reward_referrers(st, now) {
        tracing::warn!(error = %e, "referral rewards are not given yet; trying again");
    }
    Ok((pass, changed))
}

/// Gives each referrer its reward for every tenant it brought that has paid since: the free
/// days the appliance's sign-up settings name, added to a live subscription in the same
/// transaction that marks the reward given (so it is given once). A referrer whose
/// subscription is not live keeps the reward owed until it is.
pub fn reward_referrers(st: &AppState, now: i64) -> AppResult<usize> {
    let days = st.appliance().signup.reward_days;
    let owed = st.store.catalog_read()?.referrals_owed(1_000)?;
    let admin = st.store.system_admin();
    let mut given = 0;
    for (referee, referrer) in owed {
        let Ok(scope) = admin.tenant(referrer) else {
            continue;
        };
        given += scope.catalog_write(|c| -> AppResult<usize> {
            if days == 0 {
                c.claim_referral(referee, 0, now)?;
                return Ok(0);
            }
            let Some(mut s) = c.subscription()? else {
                return Ok(0);
            };
            let Some(step) = lifecycle::gift(&mut s, days, now) else {
                return Ok(0);
            };
            if !c.claim_referral(referee, days, now)? {
                return Ok(0);
            }
            record_step(c, &s, &step, None, now)?;
            Ok(1)
        })?;
    }
    if given > 0 {
        tracing::info!(given, days, "referral rewards given");
    }
    Ok(given)
}

/// The files a deleted tenant leaves besides its rows: its media and its log.
pub async fn remove_files(st: &AppState, tenant: TenantId) {
    st.supervisor.stop(tenant).await;
    st.tenant_logs.remove(tenant);
    let media = crate::domain::tenant_workers::media_dir(st, tenant);
    if let Err(e) = tokio::fs::remove_dir_all(&media).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(tenant_id = tenant.0, error = %e, "media folder not removed");
    }
}

/// The renewal job: a pass every `every` until `stop`, stopping the workers of tenants it
/// suspended. Holds the state weakly, as the other background tasks do.
pub async fn renewals(
    st: std::sync::Weak<AppState>,
    every: std::time::Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let Some(s) = st.upgrade() else { return };
        let now = s.now();
        let s2 = s.clone();
        match crate::state::blocking(move || {
            let r = run_due(&s2, now);
            // Reminders come after the steps, so one never precedes the step it announces.
            if let Err(e) = remind(&s2, now) {
                tracing::warn!(error = %e, "billing reminders are not queued yet; trying again");
            }
            r
        })
        .await
        {
            Ok((pass, changed)) => {
                if pass.steps > 0 || pass.deleted > 0 {
                    tracing::info!(
                        steps = pass.steps,
                        suspended = pass.suspended,
                        deleted = pass.deleted,
                        "subscriptions moved on"
                    );
                }
                for t in changed.stopped {
                    s.supervisor.stop(t).await;
                }
                for t in changed.deleted {
                    remove_files(&s, t).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "the renewal pass failed; it runs again soon"),
        }
        drop(s);
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_included_in_a_total_is_split_to_the_minor_unit() {
        // 499.00 TL with 20 % KDV: 415.83 + 83.17.
        assert_eq!(split_tax(49_900, 2000), (41_583, 8_317));
        assert_eq!(split_tax(120, 2000), (100, 20));
        assert_eq!(split_tax(1, 2000), (1, 0));
        assert_eq!(split_tax(250, 0), (250, 0));
        assert_eq!(
            split_tax(u64::MAX, 2000).0 + split_tax(u64::MAX, 2000).1,
            u64::MAX
        );
    }

    #[test]
    fn amounts_are_read_as_people_type_them() {
        for (typed, minor) in [
            ("499", Some(49_900)),
            ("499,90", Some(49_990)),
            ("499.9", Some(49_990)),
            ("1.499,90", Some(149_990)),
            ("1,499.90", Some(149_990)),
            (" 12 345,05 ", Some(1_234_505)),
            ("0,01", Some(1)),
            ("", None),
            ("abc", None),
            ("-5", None),
            ("1e3", None),
            ("12,3x", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_money(typed), minor, "{typed}");
        }
    }
}
