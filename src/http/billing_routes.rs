//! Billing: plan prices (admins), a tenant's subscription (its people: trial, cancel,
//! resume), and bank transfers recorded by admins. Money is integer minor units; Stars whole.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::PlanId;
use botyard_shards::ids::{InvoiceId, PaymentId};
use botyard_shards::records::{
    InvoiceKindRec, PaymentProviderRec, PaymentRec, PlanPriceRec, SubEventRec, SubStateRec,
    SubscriptionRec,
};

use crate::clock::rfc3339;
use crate::domain::billing::{self, ManualPayment, PriceInput};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson, ApiPath, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(get_price, set_price))
        .routes(routes!(get_subscription))
        .routes(routes!(start_trial))
        .routes(routes!(cancel))
        .routes(routes!(resume))
        .routes(routes!(change_plan))
        .routes(routes!(list_invoices))
        .routes(routes!(invoice_pdf))
        .routes(routes!(pay_stars))
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(record_payment))
        .routes(routes!(refund_payment))
        .routes(routes!(run_renewals))
}

#[derive(Serialize, ToSchema)]
pub struct RenewalPass {
    /// Steps taken (a subscription can take two in one pass: past due, then suspended).
    pub steps: usize,
    /// Tenants suspended for not paying, or because their cancelled subscription ended.
    pub suspended: usize,
    /// Cancelled tenants whose retention (`billing.retention_days`) ended: deleted with their
    /// data.
    pub deleted: usize,
}

/// Run the renewal pass now (admins), as the server does every minute: every subscription
/// that is due moves on. Safe to repeat: what is not due does not move.
#[utoipa::path(post, path = "/api/v1/billing/renewals", tag = "billing",
    responses((status = 200, body = RenewalPass), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn run_renewals(State(st): State<Shared>, _a: AdminCtx) -> AppResult<Json<RenewalPass>> {
    let now = st.now();
    let st2 = st.clone();
    let (pass, changed) = blocking(move || {
        let done = billing::run_due(&st2, now)?;
        billing::remind(&st2, now)?;
        Ok(done)
    })
    .await?;
    for t in changed.stopped {
        st.supervisor.stop(t).await;
    }
    for t in changed.deleted {
        billing::remove_files(&st, t).await;
    }
    Ok(Json(RenewalPass {
        steps: pass.steps,
        suspended: pass.suspended,
        deleted: pass.deleted,
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceIn {
    /// Telegram Stars per 30 days (0 to 1,000,000).
    #[schema(example = 250)]
    pub stars: u32,
    /// The price for a bank transfer, in minor units of `currency` (kuruş); 0 or absent: none.
    #[serde(default)]
    #[schema(example = 49900)]
    pub minor: u64,
    /// ISO 4217 code of `minor`, required with it.
    #[serde(default)]
    #[schema(example = "TRY")]
    pub currency: String,
    /// Days of free trial for a new tenant (0 to 90).
    #[serde(default)]
    #[schema(example = 14)]
    pub trial_days: u32,
    /// Whether tenants may choose the plan themselves.
    #[serde(default)]
    pub offered: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PriceOut {
    pub plan_id: u64,
    pub stars: u32,
    pub minor: u64,
    pub currency: String,
    pub trial_days: u32,
    pub offered: bool,
    pub updated_at: String,
}

fn price_view(plan: PlanId, p: &PlanPriceRec) -> PriceOut {
    PriceOut {
        plan_id: plan.0,
        stars: p.stars,
        minor: p.minor,
        currency: p.currency.clone(),
        trial_days: p.trial_days,
        offered: p.offered,
        updated_at: rfc3339(p.updated_at),
    }
}

/// A plan's price.
#[utoipa::path(get, path = "/api/v1/plans/{plan_id}/price", tag = "billing", params(("plan_id" = u64, Path, description = "Plan id")),
    responses((status = 200, body = PriceOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "No such plan, or it has no price")),
    security(("bearer" = [])))]
async fn get_price(
    State(st): State<Shared>,
    _a: AdminCtx,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<PriceOut>> {
    let p = st
        .store
        .catalog_read()?
        .plan_price(PlanId(id))?
        .ok_or(AppError::NotFound("plan price"))?;
    Ok(Json(price_view(PlanId(id), &p)))
}

/// Set a plan's price, trial and whether it is offered. Running subscriptions keep their price
/// until they renew.
#[utoipa::path(put, path = "/api/v1/plans/{plan_id}/price", tag = "billing", params(("plan_id" = u64, Path, description = "Plan id")),
    request_body = PriceIn,
    responses((status = 200, body = PriceOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn set_price(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiPath(id): ApiPath<u64>,
    ApiJson(b): ApiJson<PriceIn>,
) -> AppResult<Json<PriceOut>> {
    let st2 = st.clone();
    let actor = a.caller.account();
    let p = blocking(move || {
        billing::set_price(
            &st2,
            actor,
            PlanId(id),
            PriceInput {
                stars: b.stars,
                minor: b.minor,
                currency: b.currency,
                trial_days: b.trial_days,
                offered: b.offered,
            },
            st2.now(),
        )
    })
    .await?;
    Ok(Json(price_view(PlanId(id), &p)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubState {
    Trialing,
    Active,
    PastDue,
    Suspended,
    Cancelled,
}

fn state_view(s: SubStateRec) -> SubState {
    match s {
        SubStateRec::Trialing => SubState::Trialing,
        SubStateRec::Active => SubState::Active,
        SubStateRec::PastDue => SubState::PastDue,
        SubStateRec::Suspended => SubState::Suspended,
        SubStateRec::Cancelled => SubState::Cancelled,
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionOut {
    pub state: SubState,
    pub plan_id: u64,
    pub period_start: String,
    pub period_end: String,
    /// Stars per 30 days, fixed for this period.
    pub stars: u32,
    pub cancel_at_period_end: bool,
    /// A downgrade that takes effect at the next renewal.
    pub next_plan_id: Option<u64>,
    /// While past due: when the tenant is suspended unless it pays.
    pub grace_until: Option<String>,
}

fn sub_view(s: &SubscriptionRec) -> SubscriptionOut {
    SubscriptionOut {
        state: state_view(s.state),
        plan_id: s.plan.0,
        period_start: rfc3339(s.period_start),
        period_end: rfc3339(s.period_end),
        stars: s.stars,
        cancel_at_period_end: s.cancel_at_period_end,
        next_plan_id: s.next_plan.map(|p| p.0),
        grace_until: s.grace_until.map(rfc3339),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubEventOut {
    pub at: String,
    pub from: Option<SubState>,
    pub to: SubState,
    pub plan_id: u64,
    /// `trial_started`, `payment`, `trial_ended`, `renewal_due`, `grace_ended`,
    /// `cancelled_at_period_end`.
    pub reason: String,
}

fn event_view(e: &SubEventRec) -> SubEventOut {
    SubEventOut {
        at: rfc3339(e.at),
        from: e.from.map(state_view),
        to: state_view(e.to),
        plan_id: e.plan.0,
        reason: e.reason.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: u64,
    /// `stars` or `manual`.
    pub provider: String,
    /// Minor units of `currency` (whole Stars for `XTR`).
    pub amount: u64,
    pub currency: String,
    pub reference: String,
    pub plan_id: u64,
    pub days: u32,
    pub paid_at: String,
    pub recorded_at: String,
    /// When it was given back, and the credit note issued for it.
    pub refunded_at: Option<String>,
    pub credit_note: Option<String>,
}

fn payment_view(id: u64, p: &PaymentRec, tenant: u64) -> PaymentOut {
    PaymentOut {
        id,
        provider: match p.provider {
            PaymentProviderRec::Stars => "stars",
            PaymentProviderRec::Manual => "manual",
        }
        .into(),
        amount: p.amount,
        currency: p.currency.clone(),
        // A transfer's charge id is `<tenant>:<reference>`.
        reference: p
            .charge_id
            .strip_prefix(&format!("{tenant}:"))
            .unwrap_or(&p.charge_id)
            .to_string(),
        plan_id: p.plan.0,
        days: p.days,
        paid_at: rfc3339(p.paid_at),
        recorded_at: rfc3339(p.recorded_at),
        refunded_at: p.refund.as_ref().map(|r| rfc3339(r.at)),
        credit_note: p.refund.as_ref().map(|r| r.credit_note.clone()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct BillingOut {
    /// None before a trial or a first payment.
    pub subscription: Option<SubscriptionOut>,
    /// Its steps, newest first (at most 50).
    pub events: Vec<SubEventOut>,
    pub payments: Vec<PaymentOut>,
}

/// The tenant's subscription, its history and its payments.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/subscription", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = BillingOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_subscription(t: TenantCtx) -> AppResult<Json<BillingOut>> {
    let tenant = t.scope.tenant_id().0;
    let v = blocking(move || billing::view(&t.scope)).await?;
    Ok(Json(BillingOut {
        subscription: v.subscription.as_ref().map(sub_view),
        events: v.events.iter().map(event_view).collect(),
        payments: v
            .payments
            .iter()
            .map(|(id, p)| payment_view(id.0, p, tenant))
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialIn {
    pub plan_id: u64,
}

/// Start the free trial of an offered plan (owners; admins any plan with a trial). Once per
/// tenant.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/subscription/trial", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    request_body = TrialIn,
    responses((status = 201, body = SubscriptionOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "No such tenant, or no such offered plan"),
              (status = 409, body = ErrorEnvelope, description = "The tenant had a subscription (`billing.trial_used`) or the plan has no trial (`billing.no_trial`)")),
    security(("bearer" = [])))]
async fn start_trial(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<TrialIn>,
) -> AppResult<(StatusCode, Json<SubscriptionOut>)> {
    let admin = t.caller.principal.is_admin();
    let now = st.now();
    let s = blocking(move || billing::start_trial(&t.scope, PlanId(b.plan_id), admin, now)).await?;
    Ok((StatusCode::CREATED, Json(sub_view(&s))))
}

/// Stop renewing: the subscription ends with its period (or its trial).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/subscription/cancel", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = SubscriptionOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "No subscription yet (`billing.no_subscription`), or not a trial or an active subscription (`billing.state`)")),
    security(("bearer" = [])))]
async fn cancel(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<SubscriptionOut>> {
    let now = st.now();
    let tenant = t.scope.tenant_id();
    let s = blocking(move || billing::cancel(&t.scope, now)).await?;
    billing::stars::follow_renewals(&st, tenant, false).await;
    Ok(Json(sub_view(&s)))
}

/// Take a cancellation back before the period ends.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/subscription/resume", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = SubscriptionOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "No subscription yet (`billing.no_subscription`), or not set to end (`billing.state`)")),
    security(("bearer" = [])))]
async fn resume(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<SubscriptionOut>> {
    let now = st.now();
    let tenant = t.scope.tenant_id();
    let s = blocking(move || billing::resume(&t.scope, now)).await?;
    billing::stars::follow_renewals(&st, tenant, true).await;
    Ok(Json(sub_view(&s)))
}

#[derive(Serialize, ToSchema)]
pub struct CutOut {
    /// `sessions`, `groups` (enabled), `templates`, `campaigns` or `retention_days`.
    pub what: String,
    pub has: u64,
    pub allows: u64,
}

#[derive(Serialize, ToSchema)]
pub struct PlanChangeOut {
    /// `switched` (during a trial, at once), `scheduled` (a cheaper plan, at the period's
    /// end) or `payment_required` (a dearer plan, once paid).
    pub change: String,
    /// When a scheduled change takes effect.
    pub at: Option<String>,
    /// What the new plan allows less of than the tenant has (nothing is removed before then).
    pub cuts: Vec<CutOut>,
    /// For a dearer plan: the unused part of this period credited, and what is left to pay,
    /// in Stars (the credit rounded down).
    pub credit: Option<u32>,
    pub charge: Option<u32>,
}

/// Ask for another plan: during a trial it changes at once; a cheaper one waits for the
/// period's end (with what it would cut); a dearer one is quoted with the unused part of this
/// period credited, and takes effect when paid.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/subscription/plan", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    request_body = TrialIn,
    responses((status = 200, body = PlanChangeOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "No such offered plan"),
              (status = 409, body = ErrorEnvelope, description = "No subscription yet (`billing.no_subscription`), not a trial or an active subscription, or already on that plan (`billing.state`)")),
    security(("bearer" = [])))]
async fn change_plan(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<TrialIn>,
) -> AppResult<Json<PlanChangeOut>> {
    let admin = t.caller.principal.is_admin();
    let now = st.now();
    let c = blocking(move || billing::change_plan(&t.scope, PlanId(b.plan_id), admin, now)).await?;
    let cuts = |cuts: &[billing::Cut]| {
        cuts.iter()
            .map(|(what, has, allows)| CutOut {
                what: (*what).into(),
                has: *has,
                allows: *allows,
            })
            .collect()
    };
    Ok(Json(match c {
        billing::PlanChange::Switched => PlanChangeOut {
            change: "switched".into(),
            at: None,
            cuts: Vec::new(),
            credit: None,
            charge: None,
        },
        billing::PlanChange::Scheduled { at, cuts: c } => PlanChangeOut {
            change: "scheduled".into(),
            at: Some(rfc3339(at)),
            cuts: cuts(&c),
            credit: None,
            charge: None,
        },
        billing::PlanChange::PaymentRequired { credit, charge } => PlanChangeOut {
            change: "payment_required".into(),
            at: None,
            cuts: Vec::new(),
            credit: Some(credit),
            charge: Some(charge),
        },
    }))
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceLineOut {
    pub description: String,
    pub quantity: u32,
    /// Tax included, minor units.
    pub amount: u64,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceOut {
    pub id: u64,
    /// Gapless per reseller and year: `2026-000001`.
    #[schema(example = "2026-000001")]
    pub number: String,
    pub issued_at: String,
    pub currency: String,
    pub lines: Vec<InvoiceLineOut>,
    /// Basis points: 2000 is 20 %.
    pub tax_rate_bp: u32,
    /// Minor units: `net + tax = total`.
    pub net: u64,
    pub tax: u64,
    pub total: u64,
    pub seller: String,
    pub buyer: String,
    pub reference: String,
    pub payment_id: u64,
    /// `invoice`, or `credit_note` for a refund (numbered `CN-2026-000001`).
    pub kind: String,
    /// A credit note: the invoice it corrects.
    pub corrects: Option<String>,
}

/// The tenant's invoices, oldest first (owners and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/invoices", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<InvoiceOut>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_invoices(t: TenantCtx) -> AppResult<Json<Vec<InvoiceOut>>> {
    let all = blocking(move || Ok(t.scope.catalog_read()?.invoices()?)).await?;
    Ok(Json(
        all.into_iter()
            .map(|(id, r)| InvoiceOut {
                id: id.0,
                number: r.number,
                issued_at: rfc3339(r.issued_at),
                currency: r.currency,
                lines: r
                    .lines
                    .into_iter()
                    .map(|l| InvoiceLineOut {
                        description: l.description,
                        quantity: l.quantity,
                        amount: l.amount,
                    })
                    .collect(),
                tax_rate_bp: r.tax_rate_bp,
                net: r.net,
                tax: r.tax,
                total: r.total,
                seller: r.seller,
                buyer: r.buyer,
                reference: r.reference,
                payment_id: r.payment,
                kind: match r.kind {
                    InvoiceKindRec::Invoice => "invoice",
                    InvoiceKindRec::CreditNote => "credit_note",
                }
                .into(),
                corrects: r.corrects,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// In minor units of `currency` (kuruş): 49900 is 499.00 TRY.
    #[schema(example = 49900)]
    pub amount: u64,
    #[schema(example = "TRY")]
    pub currency: String,
    /// The day the money arrived, `YYYY-MM-DD`.
    #[schema(example = "2026-12-04")]
    pub paid_on: String,
    /// The transfer's reference; one transfer is recorded once per tenant.
    #[schema(example = "EFT-2026-1204-0001")]
    pub reference: String,
    /// The plan paid for; the subscription's (or the tenant's) when absent.
    pub plan_id: Option<u64>,
    /// Days it pays for (default 30).
    pub days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentRecorded {
    pub payment_id: u64,
    /// The invoice issued for it, numbered without gaps per year: `2026-000001`.
    pub invoice_number: String,
    pub subscription: SubscriptionOut,
}

/// Record a bank transfer (admins): it extends the subscription like a Stars payment, and a
/// tenant suspended for not paying is active again.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/payments", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    request_body = PaymentIn,
    responses((status = 201, body = PaymentRecorded), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "The reference is recorded already (`billing.payment_recorded`)"), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn record_payment(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<PaymentIn>,
) -> AppResult<(StatusCode, Json<PaymentRecorded>)> {
    let paid_at = jiff::civil::Date::strptime("%Y-%m-%d", b.paid_on.trim())
        .ok()
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_second())
        .ok_or_else(|| AppError::invalid("paid_on", "a date, YYYY-MM-DD"))?;
    let now = st.now();
    let tenant = t.scope.tenant_id();
    let st2 = st.clone();
    let issuer = billing::issuer(&st);
    let credited = blocking(move || {
        billing::record_manual(
            &t.scope,
            &issuer,
            ManualPayment {
                amount: b.amount,
                currency: b.currency,
                paid_at,
                reference: b.reference,
                plan: b.plan_id.map(PlanId),
                days: b.days.unwrap_or(billing::lifecycle::PERIOD_DAYS),
            },
            now,
        )
    })
    .await?;
    if credited.resumed
        && let Err(e) = crate::domain::tenant_workers::reconcile(&st2, tenant).await
    {
        tracing::warn!(tenant_id = tenant.0, error = %e, "worker not started after a payment");
    }
    Ok((
        StatusCode::CREATED,
        Json(PaymentRecorded {
            payment_id: credited.payment.0,
            invoice_number: credited.invoice,
            subscription: sub_view(&credited.subscription),
        }),
    ))
}

/// An invoice or credit note as a PDF, in the language it was issued in (owners and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/invoices/{invoice_id}/pdf", tag = "billing",
    params(("id" = u64, Path, description = "Tenant id"), ("invoice_id" = u64, Path, description = "Invoice id")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn invoice_pdf(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<axum::response::Response> {
    let (number, pdf) = blocking(move || {
        let inv = billing::invoices::invoice(&t.scope, InvoiceId(ids.1))?;
        Ok((inv.number.clone(), billing::pdf::render(&inv)?))
    })
    .await?;
    Ok(pdf_response(&number, pdf))
}

/// A PDF to download as `<number>.pdf`.
pub fn pdf_response(number: &str, pdf: Vec<u8>) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut resp = pdf.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    let file: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    h.insert(
        header::CONTENT_DISPOSITION,
        super::download::disposition(&format!("{file}.pdf")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    resp
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StarsIn {
    /// The plan to pay for: the subscription's (or the tenant's) when absent; a dearer one
    /// than an active subscription's is an upgrade at its prorated price.
    pub plan_id: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct StarsInvoiceOut {
    /// Open it in Telegram (the Mini-App's `openInvoice`, or a link the bot sends).
    #[schema(example = "https://t.me/$AbCdEf")]
    pub url: String,
    pub plan_id: u64,
    pub stars: u32,
    /// `period` (30 days, renewed monthly by Telegram until cancelled) or `upgrade` (once).
    pub purpose: String,
}

/// An invoice link to pay in Telegram Stars through the platform bot (owners and admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/subscription/stars", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    request_body = StarsIn,
    responses((status = 201, body = StarsInvoiceOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "The plan has no Stars price, or no platform bot is set up"),
              (status = 502, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope), (status = 504, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn pay_stars(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<StarsIn>,
) -> AppResult<(StatusCode, Json<StarsInvoiceOut>)> {
    let link = billing::stars::invoice_link(&st, t.scope, b.plan_id.map(PlanId)).await?;
    Ok((
        StatusCode::CREATED,
        Json(StarsInvoiceOut {
            url: link.url,
            plan_id: link.payload.plan.0,
            stars: link.payload.stars,
            purpose: match link.payload.purpose {
                billing::stars::Purpose::Period => "period",
                billing::stars::Purpose::Upgrade => "upgrade",
            }
            .into(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RefundOut {
    /// The credit note issued for it: `CN-2026-000001`.
    pub credit_note: String,
    pub subscription: Option<SubscriptionOut>,
}

/// Give a payment back (admins): Stars through Telegram (`payments.refundStarsCharge`), a
/// transfer recorded as sent back; either way a credit note, and the period it bought is taken
/// off the subscription.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/payments/{payment_id}/refund", tag = "billing",
    params(("id" = u64, Path, description = "Tenant id"), ("payment_id" = u64, Path, description = "Payment id")),
    responses((status = 200, body = RefundOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "Refunded already (`billing.refunded`)"),
              (status = 502, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope), (status = 504, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn refund_payment(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<RefundOut>> {
    let r = billing::stars::refund(&st, t.scope, PaymentId(ids.1)).await?;
    Ok(Json(RefundOut {
        credit_note: r.credit_note,
        subscription: r.subscription.as_ref().map(sub_view),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// The name invoices are made out to; the tenant's name when empty.
    #[serde(default)]
    #[schema(example = "Ece Fotoğrafçılık Ltd. Şti.")]
    pub legal_name: String,
    /// Lines separated by newlines.
    #[serde(default)]
    #[schema(example = "Moda Cad. 12\nKadıköy / İstanbul")]
    pub address: String,
    #[serde(default)]
    #[schema(example = "Kadıköy")]
    pub tax_office: String,
    /// 10 digits (VKN) or 11 (TCKN); empty when none.
    #[serde(default)]
    #[schema(example = "1234567890")]
    pub tax_number: String,
    /// Where invoices go.
    #[serde(default)]
    pub email: String,
}

fn profile_view(p: &botyard_shards::records::BillingProfileRec) -> ProfileBody {
    ProfileBody {
        legal_name: p.legal_name.clone(),
        address: p.address.clone(),
        tax_office: p.tax_office.clone(),
        tax_number: p.tax_number.clone(),
        email: p.email.clone(),
    }
}

/// The tenant's details for its invoices (owners and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/billing-profile", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = ProfileBody), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_profile(t: TenantCtx) -> AppResult<Json<ProfileBody>> {
    let p = blocking(move || billing::invoices::profile(&t.scope)).await?;
    Ok(Json(profile_view(&p)))
}

/// Set the tenant's details for invoices issued from now on (owners and admins).
#[utoipa::path(put, path = "/api/v1/tenants/{id}/billing-profile", tag = "billing", params(("id" = u64, Path, description = "Tenant id")),
    request_body = ProfileBody,
    responses((status = 200, body = ProfileBody), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn put_profile(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<ProfileBody>,
) -> AppResult<Json<ProfileBody>> {
    let now = st.now();
    let p = blocking(move || {
        billing::invoices::set_profile(
            &t.scope,
            billing::invoices::ProfileInput {
                legal_name: b.legal_name,
                address: b.address,
                tax_office: b.tax_office,
                tax_number: b.tax_number,
                email: b.email,
            },
            now,
        )
    })
    .await?;
    Ok(Json(profile_view(&p)))
}
