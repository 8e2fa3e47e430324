//! The reseller's billing screen: subscriptions by state, revenue per month and plan, renewals
//! coming up, payments flagged for a refund, the plans' prices, the seller's details on
//! invoices, and reconciliation with Telegram's Stars history. Admins only; the same domain
//! calls as `/api/v1/billing/*`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::ids::{PaymentId, PlanId};

use super::DoneQuery;
use super::admin_pages::admins_only;
use super::billing_pages::money;
use super::session::{Chrome, Viewer};
use super::{error_page, render};
use crate::domain::appliance::Seller;
use crate::domain::billing::{self, report};
use crate::error::{AppError, AppResult};
use crate::state::{AppState, Shared, blocking};

pub struct RevenueRow {
    pub month: String,
    pub plan: String,
    pub payments: String,
    pub paid: String,
    pub refunded: String,
}

pub struct UpcomingRow {
    pub tenant_id: u64,
    pub tenant: String,
    pub due: String,
    pub state_key: &'static str,
    pub stars: String,
    pub ends: bool,
}

pub struct FlaggedRow {
    pub id: u64,
    pub tenant_id: u64,
    pub amount: String,
    pub charge: String,
    pub refunded: Option<String>,
}

pub struct PriceRow {
    pub id: u64,
    pub name: String,
    pub stars: u32,
    /// As typed: `499,90`; empty without a manual price.
    pub manual: String,
    pub currency: String,
    pub trial_days: u32,
    pub offered: bool,
}

#[derive(Template)]
#[template(path = "console/billing.html")]
struct BillingPage {
    c: Chrome,
    notice: Option<String>,
    error: Option<String>,
    /// `(catalogue key, count)` per state.
    states: Vec<(&'static str, String)>,
    revenue: Vec<RevenueRow>,
    upcoming: Vec<UpcomingRow>,
    flagged: Vec<FlaggedRow>,
    prices: Vec<PriceRow>,
    seller: Seller,
    platform: bool,
}

fn state_key(code: &str) -> &'static str {
    match code {
        "trialing" => "bill.state_trialing",
        "active" => "bill.state_active",
        "past_due" => "bill.state_past_due",
        "suspended" => "bill.state_suspended",
        _ => "bill.state_cancelled",
    }
}

fn page(
    st: &AppState,
    v: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let t = &v.chrome.t;
    let r = report::build(&st.store, st.now())?;
    let names = ["trialing", "active", "past_due", "suspended", "cancelled"];
    let c = st.store.catalog_read()?;
    let prices = c
        .plans()?
        .into_iter()
        .map(|(id, p)| {
            let price = c.plan_price(id).ok().flatten();
            PriceRow {
                id: id.0,
                name: p.name,
                stars: price.as_ref().map_or(0, |x| x.stars),
                manual: price
                    .as_ref()
                    .filter(|x| x.minor > 0)
                    .map(|x| {
                        let sep = if t.code() == "tr" { ',' } else { '.' };
                        format!("{}{sep}{:02}", x.minor / 100, x.minor % 100)
                    })
                    .unwrap_or_default(),
                currency: price
                    .as_ref()
                    .map(|x| x.currency.clone())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "TRY".into()),
                trial_days: price.as_ref().map_or(0, |x| x.trial_days),
                offered: price.as_ref().is_some_and(|x| x.offered),
            }
        })
        .collect();
    Ok(render(&BillingPage {
        notice,
        error,
        states: names
            .iter()
            .zip(r.states)
            .map(|(n, count)| (state_key(n), t.num(count)))
            .collect(),
        revenue: r
            .revenue
            .iter()
            .map(|x| RevenueRow {
                month: x.month.clone(),
                plan: x.plan_name.clone(),
                payments: t.num(x.payments),
                paid: money(t, x.paid, &x.currency),
                refunded: if x.refunded > 0 {
                    money(t, x.refunded, &x.currency)
                } else {
                    String::new()
                },
            })
            .collect(),
        upcoming: r
            .upcoming
            .iter()
            .map(|(tid, name, s)| UpcomingRow {
                tenant_id: tid.0,
                tenant: name.clone(),
                due: t.when(s.due_at.unwrap_or(s.period_end)),
                state_key: state_key(billing::state_code(s.state)),
                stars: t.num(s.stars),
                ends: s.cancel_at_period_end,
            })
            .collect(),
        flagged: r
            .flagged
            .iter()
            .map(|(id, p)| FlaggedRow {
                id: id.0,
                tenant_id: p.tenant.0,
                amount: money(t, p.amount, &p.currency),
                charge: p.charge_id.clone(),
                refunded: p.refund.as_ref().map(|r| t.when(r.at)),
            })
            .collect(),
        prices,
        seller: st.appliance().seller.clone(),
        platform: crate::domain::telegram_link::platform_configured(&st.config),
        c: v.page("billing"),
    }))
}

fn notice_key(done: &str) -> Option<&'static str> {
    Some(match done {
        "seller" => "books.seller_saved",
        "price" => "books.price_saved",
        "refunded" => "bill.done_refunded",
        _ => return None,
    })
}

pub async fn show(State(st): State<Shared>, v: Viewer, Query(q): Query<DoneQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = q
        .done
        .as_deref()
        .and_then(notice_key)
        .map(|k| v.chrome.t.s(k).to_string());
    page(&st, &v, notice, None).unwrap_or_else(|e| error_page(v.page("billing"), e))
}

/// The page again with what went wrong, at the error's status.
async fn failed(st: Shared, v: Viewer, e: AppError) -> Response {
    let status = crate::http::error::status_of(&e);
    let text = super::error_text(&v.chrome, &e);
    match page(&st, &v, None, Some(text)) {
        Ok(r) => (status, r).into_response(),
        Err(e2) => error_page(v.page("billing"), e2),
    }
}

#[derive(Deserialize)]
pub struct SellerForm {
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    tax_office: String,
    #[serde(default)]
    tax_number: String,
}

pub async fn save_seller(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<SellerForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let saved = match (
        Seller::parse(&f.legal_name, &f.address, &f.tax_office, &f.tax_number),
        v.caller.account(),
    ) {
        (Ok(s), Some(actor)) => crate::domain::appliance::save_seller(&st, actor, s).await,
        (Err(e), _) => Err(e),
        (_, None) => Err(AppError::invalid("caller", "an account saves settings")),
    };
    match saved {
        Ok(()) => Redirect::to("/console/billing?done=seller").into_response(),
        Err(e) => failed(st, v, e).await,
    }
}

#[derive(Deserialize)]
pub struct PriceForm {
    #[serde(default)]
    stars: String,
    #[serde(default)]
    manual: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    trial_days: String,
    #[serde(default)]
    offered: Option<String>,
}

pub async fn save_price(
    State(st): State<Shared>,
    v: Viewer,
    Path(plan): Path<u64>,
    Form(f): Form<PriceForm>,
) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let number = |field: &str, text: &str| -> AppResult<u32> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(0);
        }
        text.parse()
            .map_err(|_| AppError::invalid(field, "a whole number"))
    };
    let input = (|| -> AppResult<billing::PriceInput> {
        let minor = if f.manual.trim().is_empty() {
            0
        } else {
            billing::parse_money(&f.manual)
                .ok_or_else(|| AppError::invalid("minor", "an amount such as 499,90"))?
        };
        Ok(billing::PriceInput {
            stars: number("stars", &f.stars)?,
            minor,
            currency: f.currency.clone(),
            trial_days: number("trial_days", &f.trial_days)?,
            offered: f.offered.is_some(),
        })
    })();
    let st2 = st.clone();
    let actor = v.caller.account();
    let saved = match input {
        Ok(p) => {
            blocking(move || {
                let now = st2.now();
                billing::set_price(&st2, actor, PlanId(plan), p, now).map(|_| ())
            })
            .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Redirect::to("/console/billing?done=price").into_response(),
        Err(e) => failed(st, v, e).await,
    }
}

pub async fn reconcile(State(st): State<Shared>, v: Viewer) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match billing::stars::reconcile(&st).await {
        Ok(r) => {
            let t = &v.chrome.t;
            let text = if r.matches() {
                format!(
                    "{} ({})",
                    t.s("books.reconciled"),
                    t.num(r.telegram_payments)
                )
            } else {
                format!(
                    "{} {}",
                    t.s("books.reconcile_differs"),
                    r.missing_in_books
                        .iter()
                        .chain(&r.missing_at_telegram)
                        .chain(&r.refund_mismatches)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            match page(&st, &v, Some(text), None) {
                Ok(r) => r,
                Err(e) => error_page(v.page("billing"), e),
            }
        }
        Err(e) => failed(st, v, e).await,
    }
}

pub async fn refund(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match billing::stars::refund_unowned(&st, PaymentId(id)).await {
        Ok(_) => Redirect::to("/console/billing?done=refunded").into_response(),
        Err(e) => failed(st, v, e).await,
    }
}
