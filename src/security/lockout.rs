//! Failed-login tracking per (account, client address) pair and per client address, with
//! escalating lockouts. A guess is reserved before its password is checked and settled after,
//! so a burst of concurrent requests gets no more guesses than the policy allows. Locking the
//! pair, not the account, keeps an attacker from locking the real user out everywhere. In
//! memory and bounded: a restart forgets it, which is the right trade for a single node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LockKey {
    /// The email typed (whether or not an account has it) from one client address.
    Pair(String, IpAddr),
    Ip(IpAddr),
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    failures: u32,
    /// Guesses reserved and not settled yet.
    pending: u32,
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
/// Several people may share an address (an office, a carrier NAT): it gets more room.
const IP_FACTOR: u32 = 4;

pub struct Lockout {
    policy: LockoutPolicy,
    entries: Mutex<HashMap<LockKey, Entry>>,
}

/// One reserved guess. Settle it with [`Attempt::failed`] or [`Attempt::succeeded`]; one
/// dropped unsettled (the request was abandoned mid-check) counts as a failure.
pub struct Attempt<'a> {
    lockout: &'a Lockout,
    email: String,
    ip: IpAddr,
    at: i64,
    settled: bool,
}

impl Attempt<'_> {
    /// The password was wrong; returns the lockout this failure started, if any.
    pub fn failed(mut self, now: i64) -> Option<u64> {
        self.settled = true;
        self.lockout.settle_failure(&self.email, self.ip, now)
    }

    /// The password was right: the pair's count is cleared (not the address's). With other
    /// guesses of the pair still in flight (a burst, not a person) this one keeps its place in
    /// the count, so a burst never gets more than the threshold of guesses.
    pub fn succeeded(mut self) {
        self.settled = true;
        let mut m = self.lockout.lock();
        let pair = LockKey::Pair(self.email.clone(), self.ip);
        match m.get_mut(&pair) {
            Some(e) if e.pending > 1 => {
                e.pending -= 1;
                e.failures += 1;
            }
            _ => {
                m.remove(&pair);
            }
        }
        if let Some(e) = m.get_mut(&LockKey::Ip(self.ip)) {
            e.pending = e.pending.saturating_sub(1);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.lockout.settle_failure(&self.email, self.ip, self.at);
        }
    }
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

    fn keys(&self, email: &str, ip: IpAddr) -> [(LockKey, u32); 2] {
        [
            (LockKey::Pair(email.to_string(), ip), self.policy.threshold),
            (
                LockKey::Ip(ip),
                self.policy.threshold.saturating_mul(IP_FACTOR),
            ),
        ]
    }

    /// Reserves one guess for `email` from `ip`, before its password is checked. `Err(seconds)`
    /// while the pair or the address is locked, or while the guesses already in flight would
    /// reach the threshold.
    pub fn begin(&self, email: &str, ip: IpAddr, now: i64) -> Result<Attempt<'_>, u64> {
        let mut m = self.lock();
        if m.len() >= MAX_ENTRIES {
            m.retain(|_, e| {
                e.pending > 0 || (now - e.last_failure < FORGET_AFTER && e.locked_until > now)
            });
        }
        let keys = self.keys(email, ip);
        let mut wait = 0i64;
        for (key, threshold) in &keys {
            if let Some(e) = m.get_mut(key) {
                if now - e.last_failure > FORGET_AFTER && e.pending == 0 {
                    *e = Entry::default();
                }
                // Guesses left before a lockout; after one has passed, one at a time (each
                // failure then locks again, for longer).
                let room = threshold.saturating_sub(e.failures).max(1);
                if e.locked_until > now {
                    wait = wait.max(e.locked_until - now);
                } else if e.pending >= room {
                    // Guesses in flight will settle into a lockout: wait for at least its start.
                    wait = wait.max(self.policy.base_secs as i64);
                }
            }
        }
        if wait > 0 {
            return Err(wait as u64);
        }
        for (key, _) in keys {
            m.entry(key).or_default().pending += 1;
        }
        Ok(Attempt {
            lockout: self,
            email: email.to_string(),
            ip,
            at: now,
            settled: false,
        })
    }

    fn settle_failure(&self, email: &str, ip: IpAddr, now: i64) -> Option<u64> {
        let mut m = self.lock();
        let mut longest = None;
        for (key, threshold) in self.keys(email, ip) {
            let e = m.entry(key).or_default();
            e.pending = e.pending.saturating_sub(1);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(threshold: u32, base_secs: u64, max_secs: u64) -> Lockout {
        Lockout::new(LockoutPolicy {
            threshold,
            base_secs,
            max_secs,
        })
    }

    #[test]
    fn escalates_and_releases() {
        let l = policy(3, 10, 35);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let t = 1000;
        assert_eq!(l.begin("a@x", ip, t).unwrap().failed(t), None);
        assert_eq!(l.begin("a@x", ip, t).unwrap().failed(t), None);
        assert_eq!(l.begin("a@x", ip, t).unwrap().failed(t), Some(10));
        assert_eq!(l.begin("a@x", ip, t).err(), Some(10));
        // Released after the wait; the next failure doubles, then the cap holds.
        assert_eq!(l.begin("a@x", ip, t + 10).unwrap().failed(t + 10), Some(20));
        assert_eq!(l.begin("a@x", ip, t + 30).unwrap().failed(t + 30), Some(35));
        // The same account from another address is not locked.
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        l.begin("a@x", other, t + 30).unwrap().succeeded();
        // A success clears the pair.
        l.begin("a@x", ip, t + 100).unwrap().succeeded();
        assert!(l.begin("a@x", ip, t + 100).is_ok());
    }

    #[test]
    fn a_burst_gets_no_more_guesses_than_the_threshold() {
        let l = policy(5, 60, 3600);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        // 64 requests at once: each reserves before any hash is checked.
        let attempts: Vec<_> = (0..64).map(|_| l.begin("v@x", ip, 0)).collect();
        let granted = attempts.iter().filter(|a| a.is_ok()).count();
        assert_eq!(granted, 5);
        for a in attempts.into_iter().flatten() {
            a.failed(0);
        }
        assert_eq!(l.begin("v@x", ip, 1).err(), Some(59));
    }

    #[test]
    fn a_right_guess_inside_a_burst_does_not_open_room_for_more() {
        let l = policy(5, 60, 3600);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let mut attempts: Vec<_> = (0..5).map(|_| l.begin("v@x", ip, 0).unwrap()).collect();
        assert!(l.begin("v@x", ip, 0).is_err());
        // The right password settles first, while four guesses are still in flight.
        attempts.remove(0).succeeded();
        assert!(l.begin("v@x", ip, 0).is_err(), "a sixth guess got in");
        for a in attempts {
            a.failed(0);
        }
        assert!(l.begin("v@x", ip, 1).is_err(), "the burst ends locked");
        // A person's own right guess, alone, clears the count as before.
        let me: IpAddr = "198.51.100.1".parse().unwrap();
        l.begin("w@x", me, 0).unwrap().failed(0);
        l.begin("w@x", me, 0).unwrap().succeeded();
        for _ in 0..4 {
            l.begin("w@x", me, 0).unwrap().failed(0);
        }
        assert!(
            l.begin("w@x", me, 0).is_ok(),
            "the success cleared the earlier failure"
        );
    }

    #[test]
    fn an_abandoned_guess_counts_as_a_failure() {
        let l = policy(2, 60, 3600);
        let ip: IpAddr = "203.0.113.8".parse().unwrap();
        drop(l.begin("v@x", ip, 0).unwrap());
        drop(l.begin("v@x", ip, 0).unwrap());
        assert!(l.begin("v@x", ip, 0).is_err());
    }

    #[test]
    fn ip_lockout_covers_many_accounts() {
        let l = policy(2, 60, 600);
        let ip: IpAddr = "203.0.113.10".parse().unwrap();
        for i in 0..8 {
            l.begin(&format!("user{i}@x"), ip, 0).unwrap().failed(0);
        }
        assert!(
            l.begin("fresh@x", ip, 1).is_err(),
            "the address is locked for every account"
        );
    }
}
