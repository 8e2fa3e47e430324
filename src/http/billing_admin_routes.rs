//! The reseller's side of billing (admins): the seller's legal details on invoices, the
//! books (revenue, subscriptions by state, renewals coming up, flagged payments), a year's
//! invoices, reconciliation with Telegram's Stars history, and refunds of payments whose
//! tenant is gone.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::PaymentId;

use crate::clock::rfc3339;
use crate::domain::appliance::Seller;
use crate::domain::billing::{self, report, stars};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson, ApiPath, ApiQuery};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(get_seller, put_seller))
        .routes(routes!(get_report))
        .routes(routes!(year_invoices))
        .routes(routes!(reconcile))
        .routes(routes!(refund_unowned))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SellerBody {
    /// The legal name on invoices; the brand's name when empty.
    #[serde(default)]
    #[schema(example = "Yıldız Yazılım Ltd. Şti.")]
    pub legal_name: String,
    #[serde(default)]
    #[schema(example = "Bağdat Cad. 100\nKadıköy / İstanbul")]
    pub address: String,
    #[serde(default)]
    #[schema(example = "Göztepe")]
    pub tax_office: String,
    /// 10 digits (VKN) or 11 (TCKN).
    #[serde(default)]
    #[schema(example = "9876543210")]
    pub tax_number: String,
}

fn seller_view(s: &Seller) -> SellerBody {
    SellerBody {
        legal_name: s.legal_name.clone().unwrap_or_default(),
        address: s.address.clone(),
        tax_office: s.tax_office.clone(),
        tax_number: s.tax_number.clone(),
    }
}

/// The seller's legal details printed on invoices.
#[utoipa::path(get, path = "/api/v1/billing/seller", tag = "billing",
    responses((status = 200, body = SellerBody), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_seller(State(st): State<Shared>, _a: AdminCtx) -> Json<SellerBody> {
    Json(seller_view(&st.appliance().seller))
}

/// Set the seller's legal details; invoices issued from now on carry them.
#[utoipa::path(put, path = "/api/v1/billing/seller", tag = "billing",
    request_body = SellerBody,
    responses((status = 200, body = SellerBody), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn put_seller(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiJson(b): ApiJson<SellerBody>,
) -> AppResult<Json<SellerBody>> {
    let seller = Seller::parse(&b.legal_name, &b.address, &b.tax_office, &b.tax_number)?;
    let actor = a
        .caller
        .account()
        .ok_or_else(|| AppError::invalid("caller", "an account saves settings"))?;
    crate::domain::appliance::save_seller(&st, actor, seller).await?;
    Ok(Json(seller_view(&st.appliance().seller)))
}

#[derive(Serialize, ToSchema)]
pub struct RevenueOut {
    /// `2026-12`.
    pub month: String,
    pub currency: String,
    pub plan_id: u64,
    pub plan: String,
    pub payments: u32,
    /// Minor units paid in the month, and the part of it refunded since.
    pub paid: u64,
    pub refunded: u64,
}

#[derive(Serialize, ToSchema)]
pub struct StatesOut {
    pub trialing: u64,
    pub active: u64,
    pub past_due: u64,
    pub suspended: u64,
    pub cancelled: u64,
}

#[derive(Serialize, ToSchema)]
pub struct UpcomingOut {
    pub tenant_id: u64,
    pub tenant: String,
    /// `trialing` or `active` (a renewal or a trial's end), `past_due` (its grace ends).
    pub state: String,
    pub plan_id: u64,
    /// When it renews, ends or is suspended.
    pub due_at: String,
    pub stars: u32,
    pub cancel_at_period_end: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FlaggedOut {
    pub payment_id: u64,
    pub tenant_id: u64,
    pub amount: u64,
    pub currency: String,
    pub charge_id: String,
    pub flag: String,
    pub refunded_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BooksOut {
    pub revenue: Vec<RevenueOut>,
    pub subscriptions: StatesOut,
    /// Within the next 30 days, soonest first.
    pub upcoming: Vec<UpcomingOut>,
    /// Payments no subscription took (their tenant was deleted): refund them.
    pub flagged: Vec<FlaggedOut>,
}

/// The books: revenue per month, currency and plan, subscriptions by state, renewals in the
/// next 30 days, and payments flagged for a refund.
#[utoipa::path(get, path = "/api/v1/billing/report", tag = "billing",
    responses((status = 200, body = BooksOut), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_report(State(st): State<Shared>, _a: AdminCtx) -> AppResult<Json<BooksOut>> {
    let now = st.now();
    let store = st.store.clone();
    let r = blocking(move || report::build(&store, now)).await?;
    Ok(Json(report_out(r)))
}

pub fn report_out(r: report::Report) -> BooksOut {
    let [trialing, active, past_due, suspended, cancelled] = r.states;
    BooksOut {
        revenue: r
            .revenue
            .into_iter()
            .map(|x| RevenueOut {
                month: x.month,
                currency: x.currency,
                plan_id: x.plan.0,
                plan: x.plan_name,
                payments: x.payments,
                paid: x.paid,
                refunded: x.refunded,
            })
            .collect(),
        subscriptions: StatesOut {
            trialing,
            active,
            past_due,
            suspended,
            cancelled,
        },
        upcoming: r
            .upcoming
            .into_iter()
            .map(|(t, name, s)| UpcomingOut {
                tenant_id: t.0,
                tenant: name,
                state: crate::domain::billing::state_code(s.state).into(),
                plan_id: s.plan.0,
                due_at: rfc3339(s.due_at.unwrap_or(s.period_end)),
                stars: s.stars,
                cancel_at_period_end: s.cancel_at_period_end,
            })
            .collect(),
        flagged: r
            .flagged
            .into_iter()
            .map(|(id, p)| FlaggedOut {
                payment_id: id.0,
                tenant_id: p.tenant.0,
                amount: p.amount,
                currency: p.currency,
                charge_id: p.charge_id,
                flag: p.flag.unwrap_or_default(),
                refunded_at: p.refund.map(|r| rfc3339(r.at)),
            })
            .collect(),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The year (UTC); this year when absent.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i16>,
}

#[derive(Serialize, ToSchema)]
pub struct BookInvoiceOut {
    pub id: u64,
    pub number: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    pub tenant_id: u64,
    pub buyer: String,
    pub issued_at: String,
    pub currency: String,
    pub net: u64,
    pub tax: u64,
    pub total: u64,
}

/// Every invoice and credit note of a year, newest first (the reseller's books).
#[utoipa::path(get, path = "/api/v1/billing/invoices", tag = "billing", params(YearQuery),
    responses((status = 200, body = Vec<BookInvoiceOut>), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn year_invoices(
    State(st): State<Shared>,
    _a: AdminCtx,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Vec<BookInvoiceOut>>> {
    let year = match q.year {
        Some(y) if (2000..=2100).contains(&y) => y,
        Some(_) => return Err(AppError::invalid("year", "a year from 2000 to 2100")),
        None => jiff::Timestamp::from_second(st.now())
            .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).year())
            .unwrap_or(2026),
    };
    let store = st.store.clone();
    let all = blocking(move || report::invoices_of_year(&store, year)).await?;
    Ok(Json(
        all.into_iter()
            .map(|(id, r)| BookInvoiceOut {
                id: id.0,
                number: r.number,
                kind: match r.kind {
                    botyard_shards::records::InvoiceKindRec::Invoice => "invoice",
                    botyard_shards::records::InvoiceKindRec::CreditNote => "credit_note",
                }
                .into(),
                tenant_id: r.tenant.0,
                buyer: r.buyer,
                issued_at: rfc3339(r.issued_at),
                currency: r.currency,
                net: r.net,
                tax: r.tax,
                total: r.total,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ReconciliationOut {
    /// History from here was compared.
    pub since: String,
    /// Payments in Telegram's history over that time.
    pub telegram_payments: u32,
    /// Stars payments in the books over the same time.
    pub recorded_payments: u32,
    /// Charge ids Telegram has that the books do not.
    pub missing_in_books: Vec<String>,
    /// Charge ids the books have that Telegram does not.
    pub missing_at_telegram: Vec<String>,
    /// Charge ids refunded on one side only.
    pub refund_mismatches: Vec<String>,
    /// Nothing differs.
    pub matches: bool,
}

/// Compare the platform bot's Stars history of the last 35 days with the recorded payments
/// now, as the server does daily; a difference raises an alert.
#[utoipa::path(post, path = "/api/v1/billing/reconcile", tag = "billing",
    responses((status = 200, body = ReconciliationOut), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 502, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope), (status = 504, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn reconcile(State(st): State<Shared>, _a: AdminCtx) -> AppResult<Json<ReconciliationOut>> {
    if !crate::domain::telegram_link::platform_configured(&st.config) {
        return Err(crate::domain::telegram_link::not_configured());
    }
    let r = stars::reconcile(&st).await?;
    Ok(Json(ReconciliationOut {
        since: rfc3339(r.since),
        telegram_payments: r.telegram_payments,
        recorded_payments: r.recorded_payments,
        matches: r.matches(),
        missing_in_books: r.missing_in_books,
        missing_at_telegram: r.missing_at_telegram,
        refund_mismatches: r.refund_mismatches,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct UnownedRefundOut {
    pub payment_id: u64,
    pub refunded_at: String,
}

/// Give back a payment flagged because its tenant was deleted (Stars through Telegram).
#[utoipa::path(post, path = "/api/v1/billing/payments/{payment_id}/refund", tag = "billing",
    params(("payment_id" = u64, Path, description = "Payment id")),
    responses((status = 200, body = UnownedRefundOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 502, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope), (status = 504, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn refund_unowned(
    State(st): State<Shared>,
    _a: AdminCtx,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<UnownedRefundOut>> {
    let p = billing::stars::refund_unowned(&st, PaymentId(id)).await?;
    Ok(Json(UnownedRefundOut {
        payment_id: id,
        refunded_at: p.refund.map(|r| rfc3339(r.at)).unwrap_or_default(),
    }))
}
