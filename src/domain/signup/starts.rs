//! Telegram users who pressed Start in the platform bot and have no account yet. The bot
//! learns there what it needs to write to them later (the user's access hash) and which
//! referral link brought them; the Mini-App's sign-up form then finds it by the Telegram
//! user its `initData` proves. Kept in memory: after a restart the user presses Start again.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a Start is remembered.
pub const START_TTL_SECS: i64 = 24 * 3600;
/// Starts remembered at most (the oldest are forgotten first).
const MAX_STARTS: usize = 10_000;

/// One Start, as the platform bot saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub access_hash: i64,
    pub first_name: String,
    pub username: Option<String>,
    /// The referral code of the link it came through (`ref_<code>`), as typed.
    pub referral: Option<String>,
    pub at: i64,
}

#[derive(Default)]
pub struct Starts {
    map: Mutex<HashMap<i64, Start>>,
}

impl Starts {
    /// Remembers `user`'s Start; a later Start without a referral keeps the earlier one's.
    pub fn note(&self, user: i64, mut start: Start) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = start.at;
        if map.len() >= MAX_STARTS {
            map.retain(|_, s| now - s.at < START_TTL_SECS);
        }
        if map.len() >= MAX_STARTS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.at).map(|(u, _)| *u)
        {
            map.remove(&oldest);
        }
        if start.referral.is_none() {
            start.referral = map.get(&user).and_then(|s| s.referral.clone());
        }
        map.insert(user, start);
    }

    /// `user`'s Start, while it is remembered.
    pub fn get(&self, user: i64, now: i64) -> Option<Start> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&user)
            .filter(|s| now - s.at < START_TTL_SECS)
            .cloned()
    }

    /// Forgets `user`'s Start (the account is made).
    pub fn forget(&self, user: i64) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(at: i64, referral: Option<&str>) -> Start {
        Start {
            access_hash: 7,
            first_name: "Ayşe".into(),
            username: None,
            referral: referral.map(str::to_string),
            at,
        }
    }

    #[test]
    fn a_plain_start_keeps_the_referral_and_old_starts_expire() {
        let s = Starts::default();
        s.note(1, start(100, Some("abc")));
        s.note(1, start(200, None));
        assert_eq!(s.get(1, 300).unwrap().referral.as_deref(), Some("abc"));
        assert!(s.get(1, 200 + START_TTL_SECS).is_none());
        s.forget(1);
        assert!(s.get(1, 300).is_none());
    }

    #[test]
    fn the_map_stays_bounded() {
        let s = Starts::default();
        for u in 0..(MAX_STARTS as i64 + 10) {
            s.note(u, start(u, None));
        }
        assert!(s.map.lock().unwrap().len() <= MAX_STARTS);
        assert!(
            s.get(MAX_STARTS as i64 + 9, MAX_STARTS as i64 + 9)
                .is_some()
        );
    }
}
