//! Referrals: each tenant has a share link, `t.me/<platform bot>?start=ref_<code>`. A sign-up
//! through it is attributed to the tenant, and when that new tenant first pays, billing gives
//! the referrer the free days the reseller set (`billing::reward_referrers`).

use botyard_shards::TenantScope;

use crate::error::AppResult;

/// The `/start` payload's prefix of a referral link.
pub const REF_PREFIX: &str = "ref_";
const CODE_LEN: usize = 8;

/// A referral code as it comes back in a `/start` payload: lower-case letters and digits.
pub fn normalize(code: &str) -> Option<String> {
    let c = code.trim().to_ascii_lowercase();
    (c.len() == CODE_LEN
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    .then_some(c)
}

fn made_up() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..CODE_LEN)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The tenant's referral code, made the first time it is asked for.
pub fn code_for(scope: &TenantScope) -> AppResult<String> {
    if let Some(code) = scope.catalog_read()?.referral_code()? {
        return Ok(code);
    }
    scope.catalog_write(|c| -> AppResult<String> {
        if let Some(code) = c.referral_code()? {
            return Ok(code);
        }
        loop {
            let code = made_up();
            if c.set_referral_code(&code)? {
                return Ok(code);
            }
        }
    })
}

/// What the tenant's referral page shows.
pub struct Summary {
    /// The share link; none while the platform bot is not online.
    pub link: Option<String>,
    pub code: String,
    pub signed_up: usize,
    /// Of those, how many have paid (and so earned the reward).
    pub rewarded: usize,
    pub days_earned: u32,
    /// The reward for the next one, as the reseller set it (0: none).
    pub reward_days: u32,
}

pub fn summary(st: &crate::state::AppState, scope: &TenantScope) -> AppResult<Summary> {
    let code = code_for(scope)?;
    let referred = scope.catalog_read()?.referrals()?;
    let link = st
        .supervisor
        .platform_bot()
        .and_then(|me| me.username)
        .map(|bot| crate::domain::telegram_link::deep_link(&bot, &format!("{REF_PREFIX}{code}")));
    Ok(Summary {
        link,
        code,
        signed_up: referred.len(),
        rewarded: referred
            .iter()
            .filter(|(_, s)| s.rewarded_at.is_some())
            .count(),
        days_earned: referred.iter().map(|(_, s)| s.reward_days).sum(),
        reward_days: st.appliance().signup.reward_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_a_start_payload() {
        let c = made_up();
        assert_eq!(normalize(&c), Some(c.clone()));
        assert_eq!(
            crate::domain::signup::referral_in(&format!("ref_{c}")),
            Some(c)
        );
        assert_eq!(crate::domain::signup::referral_in("ref_short"), None);
        assert_eq!(crate::domain::signup::referral_in("trial"), None);
        assert_eq!(normalize("ABCDEFGH").as_deref(), Some("abcdefgh"));
        assert_eq!(normalize("abcdefg!"), None);
    }
}
