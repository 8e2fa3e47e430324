//! Failed-login tracking per account (by the email typed, whether or not it exists) and per
//! client IP, with escalating lockouts. In memory and bounded: a restart forgets it, which is
//! the right trade for a single node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LockKey {
    Account(String),
    Ip(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    locked_until: i64,
    last_failure: i64,
}

#[derive(Clone, Copy, Debug)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub base_secs: u64,
    pub max_secs: u64,
}

/// Failures are forgotten a day after the last one.
const FORGET_AFTER: i64 = 86_400;
const MAX_ENTRIES: usize = 100_000;
/// Several people may share an IP (an office, a carrier NAT): it gets more room.
const IP_FACTOR: u32 = 4;

pub struct Lockout {
    policy: LockoutPolicy,
    entries: Mutex<HashMap<LockKey, Entry>>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Lockout {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LockKey, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(seconds)` while either the account or the IP is locked.
    pub fn check(&self, email: &str, ip: IpAddr, now: i64) -> Result<(), u64> {
        let m = self.lock();
        let wait = [LockKey::Account(email.to_string()), LockKey::Ip(ip)]
            .iter()
            .filter_map(|k| m.get(k))
            .map(|e| e.locked_until - now)
            .max()
            .unwrap_or(0);
        if wait > 0 { Err(wait as u64) } else { Ok(()) }
    }

    /// Records a failure; returns the lockout it started, if any.
    pub fn failure(&self, email: &str, ip: IpAddr, now: i64) -> Option<u64> {
        let mut m = self.lock();
        if m.len() >= MAX_ENTRIES {
            m.retain(|_, e| now - e.last_failure < FORGET_AFTER && e.locked_until > now);
        }
        let mut longest = None;
        for (key, threshold) in [
            (LockKey::Account(email.to_string()), self.policy.threshold),
            (
                LockKey::Ip(ip),
                self.policy.threshold.saturating_mul(IP_FACTOR),
            ),
        ] {
            let e = m.entry(key).or_insert(Entry {
                failures: 0,
                locked_until: 0,
                last_failure: now,
            });
            if now - e.last_failure > FORGET_AFTER {
                e.failures = 0;
            }
            e.failures += 1;
            e.last_failure = now;
            if e.failures >= threshold {
                let steps = (e.failures - threshold).min(30);
                let secs = self
                    .policy
                    .base_secs
                    .saturating_mul(1u64 << steps)
                    .min(self.policy.max_secs);
                e.locked_until = now + secs as i64;
                longest = Some(longest.map_or(secs, |l: u64| l.max(secs)));
            }
        }
        longest
    }

    /// A successful login clears the account's count (not the IP's).
    pub fn success(&self, email: &str) {
        self.lock().remove(&LockKey::Account(email.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_and_releases() {
        let l = Lockout::new(LockoutPolicy {
            threshold: 3,
            base_secs: 10,
            max_secs: 35,
        });
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let t = 1000;
        assert!(l.check("a@x", ip, t).is_ok());
        assert_eq!(l.failure("a@x", ip, t), None);
        assert_eq!(l.failure("a@x", ip, t), None);
        assert_eq!(l.failure("a@x", ip, t), Some(10));
        assert_eq!(l.check("a@x", ip, t), Err(10));
        // Released after the wait.
        assert!(l.check("a@x", ip, t + 10).is_ok());
        // Next failure doubles, then the cap holds.
        assert_eq!(l.failure("a@x", ip, t + 10), Some(20));
        assert_eq!(l.failure("a@x", ip, t + 30), Some(35));
        // Another account from another IP is unaffected.
        assert!(
            l.check("b@x", "198.51.100.1".parse().unwrap(), t + 30)
                .is_ok()
        );
        l.success("a@x");
        assert!(
            l.check("a@x", "198.51.100.1".parse().unwrap(), t + 100)
                .is_ok()
        );
    }

    #[test]
    fn ip_lockout_covers_many_accounts() {
        let l = Lockout::new(LockoutPolicy {
            threshold: 2,
            base_secs: 60,
            max_secs: 600,
        });
        let ip: IpAddr = "203.0.113.10".parse().unwrap();
        for i in 0..8 {
            l.failure(&format!("user{i}@x"), ip, 0);
        }
        assert!(
            l.check("fresh@x", ip, 1).is_err(),
            "the IP is locked for every account"
        );
    }
}
