//! The subscription screen's facts and actions, in the console and the Mini-App: its state and
//! period, the trial to start, cancel and resume, its history and payments, and an admin's
//! record of a bank transfer. The same domain calls and role checks as the billing API.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;

use botyard_shards::ids::PlanId;
use botyard_shards::records::{PaymentProviderRec, SubStateRec};
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
    pub can_cancel: bool,
    pub can_resume: bool,
    /// Offered plans with a trial, when the tenant never had a subscription: `(id, name,
    /// days)`.
    pub trials: Vec<(u64, String, u32)>,
    /// `(when, catalogue key of the reason)`, newest first.
    pub events: Vec<(String, &'static str)>,
    /// `(when, amount with its currency, reference)`.
    pub payments: Vec<(String, String, String)>,
}

fn reason_key(reason: &str) -> &'static str {
    match reason {
        "trial_started" => "bill.reason_trial_started",
        "payment" => "bill.reason_payment",
        "trial_ended" => "bill.reason_trial_ended",
        "renewal_due" => "bill.reason_renewal_due",
        "grace_ended" => "bill.reason_grace_ended",
        "cancelled_at_period_end" => "bill.reason_cancelled",
        _ => "bill.reason_other",
    }
}

/// Minor units as the reader writes money: `499,90 TRY`, `1.499,90 TRY` in Turkish.
fn money(t: &Tr, minor: u64, currency: &str) -> String {
    if currency == "XTR" {
        return format!("{} Stars", t.num(minor));
    }
    let sep = if t.code() == "tr" { ',' } else { '.' };
    format!("{}{sep}{:02} {currency}", t.num(minor / 100), minor % 100)
}

pub fn facts(st: &AppState, t: &Tr, scope: &TenantScope) -> AppResult<BillingFacts> {
    let v = billing::view(scope)?;
    let c = st.store.catalog_read()?;
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
    Ok(BillingFacts {
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
        grace_until: s.and_then(|s| s.grace_until).map(|g| t.when(g)),
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
            .map(|(_, p)| {
                let reference = match p.provider {
                    PaymentProviderRec::Manual => p
                        .charge_id
                        .split_once(':')
                        .map_or(p.charge_id.clone(), |(_, r)| r.to_string()),
                    PaymentProviderRec::Stars => p.charge_id.clone(),
                };
                (
                    t.when(p.paid_at),
                    money(t, p.amount, &p.currency),
                    reference,
                )
            })
            .collect(),
    })
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
