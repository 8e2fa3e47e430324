//! The subscription screen's facts and actions, in the console and the Mini-App: its state and
//! period, the trial to start, cancel and resume, its history and payments, and an admin's
//! record of a bank transfer. The same domain calls and role checks as the billing API.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;

use botyard_shards::ids::PlanId;
use botyard_shards::records::{InvoiceKindRec, PaymentProviderRec, SubStateRec};
use botyard_shards::{Access, TenantScope};

use super::session::Tr;
use super::tenant_pages::act;
use crate::domain::billing;
use crate::error::{AppError, AppResult};
use crate::state::{AppState, Shared};

/// What the subscription screen shows.
pub struct BillingFacts {
    pub state_key: &'static str,
    /// `ok`, `warn` or `bad`, for its colour.
    pub state_class: &'static str,
    /// "Renews on" or "ends on", and when.
    pub until_key: &'static str,
    pub until: String,
    pub grace_until: Option<String>,
    /// A cancelled subscription: when the tenant's data is deleted.
    pub deleted_on: Option<String>,
    pub can_cancel: bool,
    pub can_resume: bool,
    /// Offered plans with a trial, when the tenant never had a subscription: `(id, name,
    /// days)`.
    pub trials: Vec<(u64, String, u32)>,
    /// Other offered plans a trial or an active subscription may change to: `(id, name)`.
    pub other_plans: Vec<(u64, String)>,
    /// `(when, catalogue key of the reason)`, newest first.
    pub events: Vec<(String, &'static str)>,
    /// Each payment, newest first.
    pub payments: Vec<PaymentRow>,
    /// What can be paid in Telegram Stars now (with a platform bot set up).
    pub stars: Vec<StarsOffer>,
    /// Invoices and credit notes, newest first.
    pub invoices: Vec<InvoiceRow>,
    /// The billing profile, for its form.
    pub profile: botyard_shards::records::BillingProfileRec,
    /// The tenant's referral link and what it brought, while people may sign up.
    pub referral: Option<Referral>,
}

pub struct Referral {
    pub link: String,
    /// Telegram's share sheet for the link.
    pub share: String,
    /// "3 signed up · 1 paid · 30 days earned".
    pub line: String,
    pub reward_days: u32,
}

fn referral(st: &AppState, t: &Tr, scope: &TenantScope) -> AppResult<Option<Referral>> {
    if st.appliance().signup.mode == crate::domain::appliance::effective::SignupMode::Closed {
        return Ok(None);
    }
    let s = crate::domain::signup::referrals::summary(st, scope)?;
    let Some(link) = s.link else {
        return Ok(None);
    };
    let text = t.s("bill.referral_share_text");
    let share = format!(
        "https://t.me/share/url?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("url", &link)
            .append_pair("text", text)
            .finish()
    );
    Ok(Some(Referral {
        line: t
            .s("bill.referral_line")
            .replace("{n}", &s.signed_up.to_string())
            .replace("{paid}", &s.rewarded.to_string())
            .replace("{days}", &s.days_earned.to_string()),
        link,
        share,
        reward_days: s.reward_days,
    }))
}

pub struct PaymentRow {
    pub id: u64,
    pub when: String,
    pub amount: String,
    pub reference: String,
    /// `stars` or `transfer`, as a catalogue key.
    pub provider_key: &'static str,
    /// The credit note, once refunded.
    pub credit_note: Option<String>,
}

/// A payment in Stars the tenant can make: the next period of a plan, or an upgrade.
pub struct StarsOffer {
    pub plan_id: u64,
    pub plan: String,
    pub stars: u32,
    /// `bill.stars_period` or `bill.stars_upgrade`.
    pub key: &'static str,
}

pub struct InvoiceRow {
    pub id: u64,
    pub number: String,
    pub when: String,
    pub total: String,
    /// `bill.invoice` or `bill.credit_note`.
    pub kind_key: &'static str,
}

fn reason_key(reason: &str) -> &'static str {
    match reason {
        "trial_started" => "bill.reason_trial_started",
        "payment" => "bill.reason_payment",
        "trial_ended" => "bill.reason_trial_ended",
        "renewal_due" => "bill.reason_renewal_due",
        "grace_ended" => "bill.reason_grace_ended",
        "cancelled_at_period_end" => "bill.reason_cancelled",
        "referral_reward" => "bill.reason_referral",
        _ => "bill.reason_other",
    }
}

/// Minor units as the reader writes money: `499,90 TRY`, `1.499,90 TRY` in Turkish.
pub(super) fn money(t: &Tr, minor: u64, currency: &str) -> String {
    if currency == "XTR" {
        return format!("{} Stars", t.num(minor));
    }
    let sep = if t.code() == "tr" { ',' } else { '.' };
    format!("{}{sep}{:02} {currency}", t.num(minor / 100), minor % 100)
}

pub fn facts(st: &AppState, t: &Tr, scope: &TenantScope) -> AppResult<BillingFacts> {
    let v = billing::view(scope)?;
    let c = st.store.catalog_read()?;
    let tc = scope.catalog_read()?;
    let (state_key, state_class) = match v.subscription.as_ref().map(|s| s.state) {
        None => ("bill.state_none", "warn"),
        Some(SubStateRec::Trialing) => ("bill.state_trialing", "ok"),
        Some(SubStateRec::Active) => ("bill.state_active", "ok"),
        Some(SubStateRec::PastDue) => ("bill.state_past_due", "warn"),
        Some(SubStateRec::Suspended) => ("bill.state_suspended", "bad"),
        Some(SubStateRec::Cancelled) => ("bill.state_cancelled", "bad"),
    };
    let s = v.subscription.as_ref();
    let live = s.is_some_and(|s| matches!(s.state, SubStateRec::Trialing | SubStateRec::Active));
    let trials = if s.is_none() {
        c.plans()?
            .into_iter()
            .filter_map(|(id, p)| {
                let price = c.plan_price(id).ok().flatten()?;
                (price.offered && price.trial_days > 0).then_some((id.0, p.name, price.trial_days))
            })
            .collect()
    } else {
        Vec::new()
    };
    let other_plans = match s {
        Some(sub) if live => c
            .plans()?
            .into_iter()
            .filter(|(id, _)| *id != sub.plan)
            .filter(|(id, _)| c.plan_price(*id).ok().flatten().is_some_and(|p| p.offered))
            .map(|(id, p)| (id.0, p.name))
            .collect(),
        _ => Vec::new(),
    };
    Ok(BillingFacts {
        other_plans,
        state_key,
        state_class,
        until_key: match s {
            Some(s) if s.cancel_at_period_end => "bill.ends_on",
            Some(s) if s.state == SubStateRec::Trialing => "bill.trial_ends",
            _ => "bill.renews_on",
        },
        until: s
            .filter(|_| live)
            .map(|s| t.when(s.period_end))
            .unwrap_or_default(),
        grace_until: s
            .filter(|s| s.state == SubStateRec::PastDue)
            .and_then(|s| s.grace_until)
            .map(|g| t.when(g)),
        deleted_on: s
            .filter(|s| s.state == SubStateRec::Cancelled)
            .and_then(|s| s.grace_until)
            .map(|g| t.when(g)),
        can_cancel: live && s.is_some_and(|s| !s.cancel_at_period_end),
        can_resume: live && s.is_some_and(|s| s.cancel_at_period_end),
        trials,
        events: v
            .events
            .iter()
            .map(|e| (t.when(e.at), reason_key(&e.reason)))
            .collect(),
        payments: v
            .payments
            .iter()
            .rev()
            .map(|(id, p)| {
                let reference = match p.provider {
                    PaymentProviderRec::Manual => p
                        .charge_id
                        .split_once(':')
                        .map_or(p.charge_id.clone(), |(_, r)| r.to_string()),
                    PaymentProviderRec::Stars => p.charge_id.clone(),
                };
                PaymentRow {
                    id: id.0,
                    when: t.when(p.paid_at),
                    amount: money(t, p.amount, &p.currency),
                    reference,
                    provider_key: match p.provider {
                        PaymentProviderRec::Stars => "bill.by_stars",
                        PaymentProviderRec::Manual => "bill.by_transfer",
                    },
                    credit_note: p.refund.as_ref().map(|r| r.credit_note.clone()),
                }
            })
            .collect(),
        stars: if crate::domain::telegram_link::platform_configured(&st.config) {
            stars_offers(&tc, scope, st.now())?
        } else {
            Vec::new()
        },
        invoices: tc
            .invoices()?
            .into_iter()
            .rev()
            .map(|(id, i)| InvoiceRow {
                id: id.0,
                when: t.when(i.issued_at),
                total: money(t, i.total, &i.currency),
                number: i.number,
                kind_key: match i.kind {
                    InvoiceKindRec::Invoice => "bill.invoice",
                    InvoiceKindRec::CreditNote => "bill.credit_note",
                },
            })
            .collect(),
        profile: tc.billing_profile()?.unwrap_or_default(),
        referral: referral(st, t, scope)?,
    })
}

/// The current plan's next period, and upgrades to dearer offered plans, priced in Stars.
fn stars_offers(
    c: &botyard_shards::TenantCatalog<botyard_shards::ReadTransaction>,
    scope: &TenantScope,
    now: i64,
) -> AppResult<Vec<StarsOffer>> {
    let mut out = Vec::new();
    let current = billing::stars::quote(scope, None, now).ok();
    let mut plans = vec![current.map(|q| q.plan)];
    plans.extend(c.plans()?.into_iter().map(|(id, _)| Some(id)));
    let mut seen = std::collections::BTreeSet::new();
    for plan in plans.into_iter().flatten() {
        if !seen.insert(plan) {
            continue;
        }
        let Ok(q) = billing::stars::quote(scope, Some(plan), now) else {
            continue;
        };
        let is_current = current.is_some_and(|cq| cq.plan == plan);
        if !is_current && q.purpose == billing::stars::Purpose::Period {
            // Another plan at full price: a change of plan, not a payment (see the plan form).
            continue;
        }
        let name = c.plan(plan)?.map(|p| p.name).unwrap_or_default();
        out.push(StarsOffer {
            plan_id: plan.0,
            plan: name,
            stars: q.stars,
            key: match q.purpose {
                billing::stars::Purpose::Period => "bill.stars_period",
                billing::stars::Purpose::Upgrade => "bill.stars_upgrade",
            },
        });
    }
    Ok(out)
}

/// The viewer's scope of tenant `id` for `want`, or the page that says why not.
async fn scope_or_page(
    st: &Shared,
    v: &super::session::Viewer,
    id: u64,
    want: super::authorize::Want,
) -> Result<TenantScope, Response> {
    super::authorize::tenant(st, v, id, want)
        .await
        .map_err(|e| super::error_page(v.page(""), e))
}

#[derive(Deserialize)]
pub struct StarsForm {
    #[serde(default)]
    plan_id: String,
}

/// An invoice link to pay in Stars: the Mini-App asks for JSON and opens it with
/// `Telegram.WebApp.openInvoice`; a browser is sent to the link (Telegram opens it).
pub async fn pay_stars(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
    headers: axum::http::HeaderMap,
    Form(f): Form<StarsForm>,
) -> Response {
    use axum::response::IntoResponse;
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"));
    let scope = match scope_or_page(
        &st,
        &v,
        id,
        super::authorize::Want::Change(Method::POST, "/api/v1/tenants/{id}/subscription/stars"),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let plan = f.plan_id.trim().parse().ok().map(PlanId);
    match billing::stars::invoice_link(&st, scope, plan).await {
        Ok(link) if wants_json => axum::Json(serde_json::json!({"url": link.url})).into_response(),
        Ok(link) => axum::response::Redirect::to(&link.url).into_response(),
        Err(e) => super::error_page(v.page(""), e),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    plan_id: String,
}

/// Another plan: at once in a trial, at the period's end for a smaller one; a larger one is
/// paid first (the Stars button), so the answer says so.
pub async fn change_plan(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
    Form(f): Form<ChangeForm>,
) -> Response {
    use axum::response::IntoResponse;
    let scope = match scope_or_page(
        &st,
        &v,
        id,
        super::authorize::Want::Change(Method::POST, "/api/v1/tenants/{id}/subscription/plan"),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = st.now();
    let changed = crate::state::blocking(move || {
        let plan = f
            .plan_id
            .parse()
            .map(PlanId)
            .map_err(|_| AppError::invalid("plan_id", "choose a plan"))?;
        let admin = scope.access() == Access::Admin;
        billing::change_plan(&scope, plan, admin, now)
    })
    .await;
    let done = match changed {
        Ok(billing::PlanChange::Switched) => "switched",
        Ok(billing::PlanChange::Scheduled { .. }) => "scheduled",
        Ok(billing::PlanChange::PaymentRequired { .. }) => "pay_upgrade",
        Err(e) => return super::error_page(v.page(""), e),
    };
    axum::response::Redirect::to(&super::tenant_pages::back_to(&v, id, done)).into_response()
}

/// An invoice or credit note as a PDF (owners and admins).
pub async fn invoice_pdf(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path((id, invoice)): Path<(u64, u64)>,
) -> Response {
    let scope = match scope_or_page(
        &st,
        &v,
        id,
        super::authorize::Want::See(crate::http::roles::Needs::Manage),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let made = crate::state::blocking(move || {
        let inv = billing::invoices::invoice(&scope, botyard_shards::ids::InvoiceId(invoice))?;
        Ok((inv.number.clone(), billing::pdf::render(&inv)?))
    })
    .await;
    match made {
        Ok((number, pdf)) => crate::http::billing_routes::pdf_response(&number, pdf),
        Err(e) => super::error_page(v.page(""), e),
    }
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    tax_office: String,
    #[serde(default)]
    tax_number: String,
    #[serde(default)]
    email: String,
}

pub async fn save_profile(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
    Form(f): Form<ProfileForm>,
) -> Response {
    act(
        st,
        v,
        id,
        (Method::PUT, "/api/v1/tenants/{id}/billing-profile"),
        "profile",
        move |_, scope, now| {
            billing::invoices::set_profile(
                scope,
                billing::invoices::ProfileInput {
                    legal_name: f.legal_name,
                    address: f.address,
                    tax_office: f.tax_office,
                    tax_number: f.tax_number,
                    email: f.email,
                },
                now,
            )
            .map(|_| None)
        },
    )
    .await
}

/// An admin gives a payment back (Stars through Telegram), with a credit note.
pub async fn refund(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path((id, payment)): Path<(u64, u64)>,
) -> Response {
    use axum::response::IntoResponse;
    let scope = match scope_or_page(
        &st,
        &v,
        id,
        super::authorize::Want::Change(
            Method::POST,
            "/api/v1/tenants/{id}/payments/{payment_id}/refund",
        ),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    match billing::stars::refund(&st, scope, botyard_shards::ids::PaymentId(payment)).await {
        Ok(_) => axum::response::Redirect::to(&super::tenant_pages::back_to(&v, id, "refunded"))
            .into_response(),
        Err(e) => super::error_page(v.page(""), e),
    }
}

#[derive(Deserialize)]
pub struct TrialForm {
    #[serde(default)]
    plan_id: String,
}

pub async fn start_trial(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
    Form(f): Form<TrialForm>,
) -> Response {
    act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/subscription/trial"),
        "trial",
        move |_, scope, now| {
            let plan = f
                .plan_id
                .parse()
                .map(PlanId)
                .map_err(|_| AppError::invalid("plan_id", "choose a plan"))?;
            let admin = scope.access() == Access::Admin;
            billing::start_trial(scope, plan, admin, now).map(|_| None)
        },
    )
    .await
}

pub async fn cancel(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
) -> Response {
    let st2 = st.clone();
    let r = act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/subscription/cancel"),
        "cancelled",
        |_, scope, now| billing::cancel(scope, now).map(|_| None),
    )
    .await;
    if r.status().is_redirection() {
        billing::stars::follow_renewals(&st2, botyard_shards::ids::TenantId(id), false).await;
    }
    r
}

pub async fn resume(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
) -> Response {
    let st2 = st.clone();
    let r = act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/subscription/resume"),
        "renewing",
        |_, scope, now| billing::resume(scope, now).map(|_| None),
    )
    .await;
    if r.status().is_redirection() {
        billing::stars::follow_renewals(&st2, botyard_shards::ids::TenantId(id), true).await;
    }
    r
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    paid_on: String,
    #[serde(default)]
    reference: String,
}

/// An admin records a bank transfer; a tenant suspended for not paying works again.
pub async fn record_transfer(
    State(st): State<Shared>,
    v: super::session::Viewer,
    Path(id): Path<u64>,
    Form(f): Form<TransferForm>,
) -> Response {
    let st2 = st.clone();
    let issuer = billing::issuer(&st);
    let r = act(
        st,
        v,
        id,
        (Method::POST, "/api/v1/tenants/{id}/payments"),
        "paid",
        move |_, scope, now| {
            let amount = billing::parse_money(&f.amount)
                .ok_or_else(|| AppError::invalid("amount", "an amount such as 499,90"))?;
            let paid_at = crate::domain::campaigns::schedule::parse_date(f.paid_on.trim())
                .ok()
                .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp().as_second())
                .ok_or_else(|| AppError::invalid("paid_on", "a date"))?;
            billing::record_manual(
                scope,
                &issuer,
                billing::ManualPayment {
                    amount,
                    currency: f.currency,
                    paid_at,
                    reference: f.reference,
                    plan: None,
                    days: billing::lifecycle::PERIOD_DAYS,
                },
                now,
            )
            .map(|_| None)
        },
    )
    .await;
    if r.status().is_redirection()
        && let Err(e) =
            crate::domain::tenant_workers::reconcile(&st2, botyard_shards::ids::TenantId(id)).await
    {
        tracing::warn!(tenant_id = id, error = %e, "worker not started after a payment");
    }
    r
}
