//! The reseller's launch checklist: what an appliance needs before it is sold, and whether
//! each is there.

use crate::error::AppResult;
use crate::state::AppState;

/// One thing a launch needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Telegram opens Mini-Apps only from an https:// address.
    Https,
    PlatformBot,
    /// api_id and api_hash, for user-account sessions.
    TelegramApi,
    Mail,
    /// At least one plan offered with a price.
    PricedPlan,
    /// A backup schedule, or a backup of the last two days (the systemd timer's).
    Backups,
    /// A name or a logo of the reseller's own.
    Branding,
}

/// A backup newer than this counts as "backups happen".
const RECENT_BACKUP_SECS: i64 = 2 * 86_400;

/// Each need, in the order a launch meets them, with whether it is met now.
pub fn checklist(st: &AppState) -> AppResult<Vec<(Need, bool)>> {
    let a = st.appliance();
    let priced = {
        let c = st.store.catalog_read()?;
        let mut any = false;
        for (id, _) in c.plans()? {
            if c.plan_price(id)?
                .is_some_and(|p| p.offered && (p.stars > 0 || p.minor > 0))
            {
                any = true;
                break;
            }
        }
        any
    };
    let backups = st.config.backup.at_minute.is_some()
        || crate::domain::backup::list(&st.config.backup_dir())
            .ok()
            .and_then(|l| l.first().map(|b| st.now() - b.made_at < RECENT_BACKUP_SECS))
            .unwrap_or(false);
    Ok(vec![
        (Need::Https, a.base_url.starts_with("https://")),
        (Need::PlatformBot, a.platform_bot_token.is_some()),
        (Need::TelegramApi, a.telegram.is_some()),
        (Need::Mail, a.mail.is_some()),
        (Need::PricedPlan, priced),
        (Need::Backups, backups),
        (
            Need::Branding,
            a.stored_brand_name.is_some() || a.brand.logo.is_some(),
        ),
    ])
}
