//! The reseller's storefront at `/`: the plans on sale with their prices, and where a
//! visitor starts a trial (the platform bot, which signs them up).

use botyard_shards::ids::PlanId;
use botyard_shards::records::PlanLimits;

use crate::error::AppResult;
use crate::state::AppState;

/// A plan on sale, as the storefront shows it.
#[derive(Clone, Debug)]
pub struct Offer {
    pub plan: PlanId,
    pub name: String,
    pub limits: PlanLimits,
    /// Per billing period; 0 when the plan is not sold in Stars.
    pub stars: u32,
    /// Per billing period in minor units of `currency`; 0 when not sold for money.
    pub minor: u64,
    pub currency: String,
    pub trial_days: u32,
}

/// The plans offered with a price, cheapest first (by Stars, then by money).
pub fn offers(st: &AppState) -> AppResult<Vec<Offer>> {
    let c = st.store.catalog_read()?;
    let mut out = Vec::new();
    for (id, plan) in c.plans()? {
        let Some(price) = c.plan_price(id)? else {
            continue;
        };
        if !price.offered || (price.stars == 0 && price.minor == 0) {
            continue;
        }
        out.push(Offer {
            plan: id,
            name: plan.name,
            limits: plan.limits,
            stars: price.stars,
            minor: price.minor,
            currency: price.currency,
            trial_days: price.trial_days,
        });
    }
    out.sort_by(|a, b| (a.stars, a.minor, &a.name).cmp(&(b.stars, b.minor, &b.name)));
    Ok(out)
}

/// `https://t.me/<platform bot>?start=trial`, when the platform bot is online and known.
pub fn trial_link(st: &AppState) -> Option<String> {
    let bot = st.supervisor.platform_bot().and_then(|me| me.username)?;
    use crate::domain::telegram_link::{TRIAL_START, deep_link};
    Some(deep_link(&bot, TRIAL_START))
}
