//! How fast one session posts. Telegram's limits for bots are 1 message a second per chat,
//! 20 a minute per group and 30 a second overall; user accounts get slower, jittered
//! defaults. A flood wait stops the whole session; slow mode stops one chat.
//!
//! Pure logic over millisecond timestamps, so the limits are tested without waiting.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pacing {
    /// Least time between two posts in one chat, in milliseconds.
    pub per_chat_ms: u64,
    /// Most posts in one chat within any minute.
    pub per_chat_per_min: u32,
    /// Least time between any two posts of the session, in milliseconds.
    pub overall_ms: u64,
    /// Up to this much more between two posts, at random, in milliseconds.
    pub jitter_ms: u64,
}

impl Pacing {
    /// Telegram's published limits for bots (30 a second: one every 34 ms).
    pub fn bot() -> Self {
        Pacing {
            per_chat_ms: 1_000,
            per_chat_per_min: 20,
            overall_ms: 34,
            jitter_ms: 0,
        }
    }

    /// User accounts: about one post every 4 s, never two in a chat within a minute.
    pub fn user() -> Self {
        Pacing {
            per_chat_ms: 60_000,
            per_chat_per_min: 1,
            overall_ms: 3_000,
            jitter_ms: 2_000,
        }
    }
}

const MINUTE_MS: u64 = 60_000;
/// Queue entries looked at for one that may go now (the rest wait their turn).
const LOOK_AHEAD: usize = 256;

#[derive(Debug)]
pub struct Pacer {
    cfg: Pacing,
    last_any: Option<u64>,
    /// This chat's posts within the last minute, oldest first.
    recent: HashMap<i64, VecDeque<u64>>,
    /// Flood wait: nothing before this.
    paused_until: u64,
    /// Slow mode: nothing in this chat before this.
    chat_paused: HashMap<i64, u64>,
    jitter: u64,
}

impl Pacer {
    pub fn new(cfg: Pacing) -> Self {
        Pacer {
            cfg,
            last_any: None,
            recent: HashMap::new(),
            paused_until: 0,
            chat_paused: HashMap::new(),
            jitter: 0,
        }
    }

    /// When the session may post next, in any chat.
    fn session_ready(&self) -> u64 {
        let after_last = self
            .last_any
            .map_or(0, |t| t + self.cfg.overall_ms + self.jitter);
        after_last.max(self.paused_until)
    }

    /// When a post in `chat` may go.
    pub fn ready_at(&self, chat: i64) -> u64 {
        let mut t = self.session_ready();
        if let Some(p) = self.chat_paused.get(&chat) {
            t = t.max(*p);
        }
        if let Some(r) = self.recent.get(&chat) {
            if let Some(last) = r.back() {
                t = t.max(last + self.cfg.per_chat_ms);
            }
            let cap = self.cfg.per_chat_per_min.max(1) as usize;
            if r.len() >= cap {
                // The post `cap` back must have left the minute.
                t = t.max(r[r.len() - cap] + MINUTE_MS);
            }
        }
        t
    }

    /// The first queued chat that may post at `now`, or the earliest time one may.
    pub fn pick(&self, chats: impl IntoIterator<Item = i64>, now: u64) -> Result<usize, u64> {
        let session = self.session_ready();
        if session > now {
            return Err(session);
        }
        let mut earliest = u64::MAX;
        for (i, chat) in chats.into_iter().take(LOOK_AHEAD).enumerate() {
            let t = self.ready_at(chat);
            if t <= now {
                return Ok(i);
            }
            earliest = earliest.min(t);
        }
        Err(earliest)
    }

    /// Records a post at `now`.
    pub fn sent(&mut self, chat: i64, now: u64) {
        self.last_any = Some(now);
        let r = self.recent.entry(chat).or_default();
        r.push_back(now);
        while r.front().is_some_and(|t| *t + MINUTE_MS <= now) {
            r.pop_front();
        }
        self.jitter = if self.cfg.jitter_ms > 0 {
            rand::random_range(0..=self.cfg.jitter_ms)
        } else {
            0
        };
        // Chats quiet for a minute need no memory.
        if self.recent.len() > 1_024 {
            self.recent
                .retain(|_, r| r.back().is_some_and(|t| *t + MINUTE_MS > now));
        }
    }

    /// FLOOD_WAIT: the whole session waits.
    pub fn flood_wait(&mut self, now: u64, secs: u32) {
        self.paused_until = self.paused_until.max(now + u64::from(secs) * 1_000);
    }

    /// Slow mode: this chat waits.
    pub fn slow_mode(&mut self, chat: i64, now: u64, secs: u32) {
        let until = now + u64::from(secs) * 1_000;
        let e = self.chat_paused.entry(chat).or_insert(0);
        *e = (*e).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a queue through the pacer on a virtual clock; returns (chat, time) of each post.
    fn drain(p: &mut Pacer, mut queue: VecDeque<i64>, events: &[(u64, Event)]) -> Vec<(i64, u64)> {
        let mut now = 0;
        let mut out = Vec::new();
        let mut ev = events.iter().peekable();
        while !queue.is_empty() {
            while let Some((at, e)) = ev.peek() {
                if *at > now {
                    break;
                }
                match e {
                    Event::Flood(s) => p.flood_wait(now, *s),
                    Event::Slow(c, s) => p.slow_mode(*c, now, *s),
                }
                ev.next();
            }
            match p.pick(queue.iter().copied(), now) {
                Ok(i) => {
                    let chat = queue.remove(i).unwrap();
                    p.sent(chat, now);
                    out.push((chat, now));
                }
                Err(t) => now = t.max(now + 1),
            }
        }
        out
    }

    enum Event {
        Flood(u32),
        Slow(i64, u32),
    }

    fn check_bot_limits(posts: &[(i64, u64)]) {
        for (i, (c, t)) in posts.iter().enumerate() {
            // 30 a second overall.
            let in_second = posts
                .iter()
                .filter(|(_, u)| *u >= *t && *u < t + 1_000)
                .count();
            assert!(in_second <= 30, "{in_second} posts in the second from {t}");
            let mine: Vec<u64> = posts[..i]
                .iter()
                .filter(|(d, _)| d == c)
                .map(|(_, u)| *u)
                .collect();
            if let Some(last) = mine.last() {
                assert!(t - last >= 1_000, "chat {c}: {last} then {t}");
            }
            let in_minute = mine.iter().filter(|u| **u + 60_000 > *t).count() + 1;
            assert!(
                in_minute <= 20,
                "chat {c}: {in_minute} posts within a minute at {t}"
            );
        }
    }

    #[test]
    fn bot_limits_hold_for_a_mixed_queue() {
        // 40 posts to one busy group, 3 to each of 200 others, interleaved.
        let mut q = VecDeque::new();
        for i in 0..600 {
            q.push_back(if i % 3 == 0 && i / 3 < 40 {
                -1
            } else {
                -(2 + (i % 200))
            });
        }
        let mut p = Pacer::new(Pacing::bot());
        let posts = drain(&mut p, q, &[]);
        assert_eq!(posts.len(), 600);
        check_bot_limits(&posts);
        // The busy group needs two minutes for 40 posts at 20 a minute; the others are not
        // held up behind it: 560 posts at 30 a second take about 20 s.
        let others_done = posts
            .iter()
            .filter(|(c, _)| *c != -1)
            .map(|(_, t)| *t)
            .max()
            .unwrap();
        assert!(others_done < 25_000, "others finished at {others_done} ms");
        let busy_done = posts
            .iter()
            .filter(|(c, _)| *c == -1)
            .map(|(_, t)| *t)
            .max()
            .unwrap();
        assert!((60_000..=120_000).contains(&busy_done), "{busy_done}");
    }

    #[test]
    fn flood_wait_stops_everything_and_slow_mode_one_chat() {
        let q: VecDeque<i64> = (0..60).map(|i| -(i % 6) - 1).collect();
        let mut p = Pacer::new(Pacing::bot());
        let posts = drain(
            &mut p,
            q,
            &[(100, Event::Flood(5)), (50, Event::Slow(-1, 30))],
        );
        check_bot_limits(&posts);
        // Nothing between the flood wait (at the first post at or after 100 ms) and 5 s later.
        let flood_at = posts.iter().map(|(_, t)| *t).find(|t| *t >= 100).unwrap();
        assert!(
            flood_at >= 5_100,
            "first post after the flood wait at {flood_at}"
        );
        // Chat -1 waits out its 30 s slow mode; the others go on.
        let ones: Vec<u64> = posts
            .iter()
            .filter(|(c, _)| *c == -1)
            .map(|(_, t)| *t)
            .collect();
        assert!(ones.iter().skip(1).all(|t| *t >= 30_050), "{ones:?}");
        assert!(
            posts
                .iter()
                .filter(|(c, t)| *c != -1 && *t < 30_000)
                .count()
                >= 40
        );
    }

    #[test]
    fn user_accounts_go_slowly_with_jitter() {
        let q: VecDeque<i64> = (0..30).map(|i| -i - 1).collect();
        let mut p = Pacer::new(Pacing::user());
        let posts = drain(&mut p, q, &[]);
        let gaps: Vec<u64> = posts.windows(2).map(|w| w[1].1 - w[0].1).collect();
        assert!(gaps.iter().all(|g| (3_000..=5_000).contains(g)), "{gaps:?}");
        // Jitter varies the gaps.
        assert!(gaps.iter().any(|g| *g != gaps[0]), "{gaps:?}");
    }
}
