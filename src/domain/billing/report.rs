//! The reseller's books at a glance: revenue per month, currency and plan (refunds taken
//! off), subscriptions by state, the renewals coming up, payments flagged for a refund, and a
//! year's invoices.

use std::collections::BTreeMap;

use botyard_shards::Store;
use botyard_shards::ids::{InvoiceId, PaymentId, PlanId, TenantId};
use botyard_shards::records::{InvoiceRec, PaymentRec, SubscriptionRec};

use crate::error::AppResult;

/// Money of one month, currency and plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revenue {
    /// `2026-12`.
    pub month: String,
    pub currency: String,
    pub plan: PlanId,
    pub plan_name: String,
    pub payments: u32,
    /// Minor units paid, and the part of it given back.
    pub paid: u64,
    pub refunded: u64,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub revenue: Vec<Revenue>,
    /// Trialing, active, past due, suspended, cancelled.
    pub states: [u64; 5],
    pub upcoming: Vec<(TenantId, String, SubscriptionRec)>,
    pub flagged: Vec<(PaymentId, PaymentRec)>,
}

fn month_of(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .strftime("%Y-%m")
                .to_string()
        })
        .unwrap_or_default()
}

/// Revenue per month (of payment), currency and plan, newest month first.
pub fn revenue(
    payments: &[(PaymentId, PaymentRec)],
    plans: &BTreeMap<PlanId, String>,
) -> Vec<Revenue> {
    let mut by: BTreeMap<(String, String, PlanId), Revenue> = BTreeMap::new();
    for (_, p) in payments.iter().filter(|(_, p)| p.flag.is_none()) {
        let month = month_of(p.paid_at);
        let r = by
            .entry((month.clone(), p.currency.clone(), p.plan))
            .or_insert_with(|| Revenue {
                month,
                currency: p.currency.clone(),
                plan: p.plan,
                plan_name: plans.get(&p.plan).cloned().unwrap_or_default(),
                payments: 0,
                paid: 0,
                refunded: 0,
            });
        r.payments += 1;
        r.paid = r.paid.saturating_add(p.amount);
        if p.refund.is_some() {
            r.refunded = r.refunded.saturating_add(p.amount);
        }
    }
    let mut out: Vec<Revenue> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.month
            .cmp(&a.month)
            .then(a.currency.cmp(&b.currency))
            .then(a.plan.cmp(&b.plan))
    });
    out
}

/// Renewals due within this many days are listed.
pub const UPCOMING_DAYS: i64 = 30;
const UPCOMING_MAX: usize = 200;

pub fn build(store: &Store, now: i64) -> AppResult<Report> {
    let c = store.catalog_read()?;
    let plans: BTreeMap<PlanId, String> =
        c.plans()?.into_iter().map(|(id, p)| (id, p.name)).collect();
    let payments = c.all_payments()?;
    Ok(Report {
        revenue: revenue(&payments, &plans),
        states: c.subscription_counts()?,
        upcoming: c.upcoming(
            now,
            now + UPCOMING_DAYS * super::lifecycle::DAY,
            UPCOMING_MAX,
        )?,
        flagged: payments
            .into_iter()
            .filter(|(_, p)| p.flag.is_some())
            .collect(),
    })
}

/// Every invoice and credit note issued in `year` (UTC), newest first.
pub fn invoices_of_year(store: &Store, year: i16) -> AppResult<Vec<(InvoiceId, InvoiceRec)>> {
    let start = jiff::civil::date(year, 1, 1)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(i64::MIN);
    let end = jiff::civil::date(year.saturating_add(1), 1, 1)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(i64::MAX);
    Ok(store.catalog_read()?.invoices_between(start, end)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay(
        at: i64,
        amount: u64,
        currency: &str,
        plan: u64,
        refunded: bool,
        flagged: bool,
    ) -> (PaymentId, PaymentRec) {
        (
            PaymentId(1),
            PaymentRec {
                tenant: TenantId(1),
                provider: botyard_shards::records::PaymentProviderRec::Manual,
                amount,
                currency: currency.into(),
                charge_id: format!("{at}"),
                plan: PlanId(plan),
                days: 30,
                paid_at: at,
                recorded_at: at,
                recorded_by: None,
                payer: None,
                refund: refunded.then(|| botyard_shards::records::RefundRec {
                    at,
                    by: None,
                    credit_note: String::new(),
                }),
                flag: flagged.then(|| "tenant deleted".into()),
            },
        )
    }

    #[test]
    fn revenue_is_summed_per_month_currency_and_plan() {
        // 2025-11-15 and 2025-12-02 (UTC).
        let nov = 1_763_164_800;
        let dec = 1_764_633_600;
        let plans = BTreeMap::from([
            (PlanId(1), "Temel".to_string()),
            (PlanId(2), "Pro".to_string()),
        ]);
        let r = revenue(
            &[
                pay(nov, 49_900, "TRY", 1, false, false),
                pay(dec, 49_900, "TRY", 1, false, false),
                pay(dec, 49_900, "TRY", 1, true, false),
                pay(dec, 250, "XTR", 2, false, false),
                pay(dec, 999, "XTR", 2, false, true),
            ],
            &plans,
        );
        let rows: Vec<(&str, &str, u64, u32, u64, u64)> = r
            .iter()
            .map(|x| {
                (
                    x.month.as_str(),
                    x.currency.as_str(),
                    x.plan.0,
                    x.payments,
                    x.paid,
                    x.refunded,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("2025-12", "TRY", 1, 2, 99_800, 49_900),
                ("2025-12", "XTR", 2, 1, 250, 0),
                ("2025-11", "TRY", 1, 1, 49_900, 0),
            ]
        );
        assert_eq!(r[0].plan_name, "Temel");
    }
}
