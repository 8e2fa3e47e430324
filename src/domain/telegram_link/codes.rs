//! One-time link codes: handed out to an account, redeemed by the `/start <code>` the
//! platform bot reports. Kept in memory: a code lives ten minutes, and after a restart the
//! user asks for a new one. Also the one-at-a-time turn of an account's test post.

use std::collections::HashMap;
use std::sync::Mutex;

use botyard_shards::ids::AccountId;

use crate::error::{AppError, AppResult};

/// How long a link code works.
pub const CODE_TTL_SECS: i64 = 600;
/// Codes waiting at most (one per account; expired ones are dropped first).
const MAX_CODES: usize = 10_000;
/// Link codes handed out and not used yet, by their hash. Kept in memory: a code lives ten
/// minutes, and after a restart the user asks for a new one.
#[derive(Default)]
pub struct LinkCodes {
    codes: Mutex<HashMap<[u8; 32], (AccountId, i64)>>,
    /// Accounts with a test post on its way: one at a time each.
    testing: Mutex<std::collections::HashSet<AccountId>>,
}

/// An account's test post in flight; dropping it lets the next one go.
pub struct TestTurn<'a> {
    codes: &'a LinkCodes,
    account: AccountId,
}

impl Drop for TestTurn<'_> {
    fn drop(&mut self) {
        self.codes
            .testing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.account);
    }
}

impl LinkCodes {
    /// A new code for `account` (its earlier one stops working), and when it expires.
    pub fn issue(&self, account: AccountId, now: i64) -> AppResult<(String, i64)> {
        let code = crate::security::crypto::random_token();
        let expires = now + CODE_TTL_SECS;
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, (a, exp)| *exp > now && *a != account);
        if codes.len() >= MAX_CODES {
            return Err(AppError::Busy {
                code: "telegram.too_many_links",
            });
        }
        codes.insert(
            crate::security::crypto::sha256(code.as_bytes()),
            (account, expires),
        );
        Ok((code, expires))
    }

    /// The account's turn to send a test post, or 409 while its previous one is on its way
    /// (a test waits up to 30 s; a user tapping again must not queue post after post).
    pub fn test_turn(&self, account: AccountId) -> AppResult<TestTurn<'_>> {
        let fresh = self
            .testing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account);
        if !fresh {
            return Err(AppError::Conflict {
                code: "telegram.test_in_progress",
                message: "your previous test post is still on its way".into(),
            });
        }
        Ok(TestTurn {
            codes: self,
            account,
        })
    }

    /// The account a code was issued to, once: the code is used up.
    pub fn redeem(&self, code: &str, now: i64) -> Option<AccountId> {
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        let (account, expires) = codes.remove(&crate::security::crypto::sha256(code.as_bytes()))?;
        (expires > now).then_some(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_for_its_account_until_it_expires() {
        let codes = LinkCodes::default();
        let (a, exp) = codes.issue(AccountId(1), 1000).unwrap();
        assert_eq!(exp, 1000 + CODE_TTL_SECS);
        assert!(a.len() <= crate::worker::telegram::COMMAND_PAYLOAD_MAX);
        assert_eq!(codes.redeem(&a, 1001), Some(AccountId(1)));
        assert_eq!(codes.redeem(&a, 1002), None, "used up");

        let (old, _) = codes.issue(AccountId(2), 1000).unwrap();
        let (new, _) = codes.issue(AccountId(2), 1010).unwrap();
        assert_eq!(codes.redeem(&old, 1011), None, "replaced by the newer code");
        assert_eq!(codes.redeem(&new, 1011), Some(AccountId(2)));

        let (late, _) = codes.issue(AccountId(3), 1000).unwrap();
        assert_eq!(codes.redeem(&late, 1000 + CODE_TTL_SECS), None);
        assert_eq!(codes.redeem("not a code", 1000), None);
    }

    #[test]
    fn one_test_post_at_a_time_per_account() {
        let codes = LinkCodes::default();
        let turn = codes.test_turn(AccountId(1)).unwrap();
        assert_eq!(
            codes.test_turn(AccountId(1)).err().map(|e| e.code()),
            Some("telegram.test_in_progress")
        );
        assert!(codes.test_turn(AccountId(2)).is_ok(), "another account");
        drop(turn);
        assert!(codes.test_turn(AccountId(1)).is_ok());
    }
}
