//! Turns the events a worker reports into store increments. Counters and per-user days are
//! kept in the tenant's local days and hours (its time zone at the time of the event), so
//! every statistic is exact in the zone the tenant reads it in, daylight-saving days included.

use botyard_shards::ids::{ChatId, Day, TenantId};
use botyard_shards::ingest::{Batch, CounterKey, Increment, UserDayIncrement, UserSeen};

use crate::worker::telegram::{IncomingEvent, MessageKind};

/// Counter metrics in the `counters` table: 0–23 are messages in that UTC hour of the day.
pub mod metric {
    pub const HOUR_0: u8 = 0;
    pub const TEXT: u8 = 24;
    pub const MEDIA: u8 = 25;
    pub const SERVICE: u8 = 26;
    pub const JOINS: u8 = 27;
    pub const LEAVES: u8 = 28;
    /// What a group's automation rules did (`domain::rules`).
    pub const RULE_ACTIONS: u8 = 29;
}

/// A worker's budget of incoming events per second (its plan's `events_per_sec`): a token
/// bucket holding two seconds' worth, so a short burst passes and a flood is cut to the rate.
#[derive(Debug, Clone)]
pub struct Budget {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl Budget {
    pub fn new(per_sec: u32, now: std::time::Instant) -> Budget {
        let rate = f64::from(per_sec.max(1));
        Budget {
            rate,
            burst: rate * 2.0,
            tokens: rate * 2.0,
            last: now,
        }
    }

    /// How many of `n` events fit the budget at `now`; those are taken from it.
    pub fn take(&mut self, n: usize, now: std::time::Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        let fit = (self.tokens.floor() as usize).min(n);
        self.tokens -= fit as f64;
        fit
    }
}

/// The local day and hour of Unix second `at` in `zone`.
pub fn day_hour(zone: &jiff::tz::TimeZone, at: i64) -> (Day, u8) {
    let offset = jiff::Timestamp::from_second(at)
        .map(|t| zone.to_offset(t).seconds())
        .unwrap_or(0);
    let local = at + i64::from(offset);
    let day = local.div_euclid(86_400);
    let hour = local.rem_euclid(86_400) / 3600;
    (Day(u32::try_from(day).unwrap_or(0)), hour as u8)
}

fn count(b: &mut Batch, tenant: TenantId, chat: i64, day: Day, metric: u8) {
    b.counters.push(Increment {
        key: CounterKey {
            tenant,
            chat: ChatId(chat),
            day,
            metric,
        },
        delta: 1,
    });
}

/// The increments one batch of events adds. Every event is for `tenant` by construction.
pub fn to_batch(tenant: TenantId, zone: &jiff::tz::TimeZone, events: &[IncomingEvent]) -> Batch {
    let mut b = Batch::default();
    for e in events {
        match e {
            IncomingEvent::Message {
                chat_id,
                sender,
                kind,
                at,
                ..
            } => {
                let (day, hour) = day_hour(zone, *at);
                count(&mut b, tenant, *chat_id, day, metric::HOUR_0 + hour);
                let m = match kind {
                    MessageKind::Text => metric::TEXT,
                    MessageKind::Media => metric::MEDIA,
                    MessageKind::Service => metric::SERVICE,
                };
                count(&mut b, tenant, *chat_id, day, m);
                if let Some(u) = sender {
                    b.user_days.push(UserDayIncrement {
                        tenant,
                        chat: ChatId(*chat_id),
                        day,
                        user: u.id,
                        delta: 1,
                    });
                    b.users.push(UserSeen {
                        tenant,
                        user: u.id,
                        first_name: u.first_name.clone(),
                        last_name: u.last_name.clone(),
                        username: u.username.clone(),
                        at: *at,
                        messages: 1,
                    });
                }
            }
            IncomingEvent::MemberJoined { chat_id, user, at } => {
                count(
                    &mut b,
                    tenant,
                    *chat_id,
                    day_hour(zone, *at).0,
                    metric::JOINS,
                );
                b.users.push(UserSeen {
                    tenant,
                    user: user.id,
                    first_name: user.first_name.clone(),
                    last_name: user.last_name.clone(),
                    username: user.username.clone(),
                    at: *at,
                    messages: 0,
                });
            }
            IncomingEvent::MemberLeft { chat_id, at, .. } => {
                count(
                    &mut b,
                    tenant,
                    *chat_id,
                    day_hour(zone, *at).0,
                    metric::LEAVES,
                );
            }
            // Member counts and titles are chat state, not counters: the groups table keeps
            // them (member-count history comes with the statistics issue).
            IncomingEvent::MemberCountChanged { .. } | IncomingEvent::ChatTitleChanged { .. } => {}
            // A bot's private commands and payments are not group activity (the platform
            // bot's are handled by the supervisor; a tenant's own bot's are not the product's).
            IncomingEvent::Command { .. }
            | IncomingEvent::Button { .. }
            | IncomingEvent::Precheckout { .. }
            | IncomingEvent::Paid { .. } => {}
        }
    }
    b
}

/// Title and member-count changes in `events`, in order: (chat, new title, new count).
pub fn chat_changes(events: &[IncomingEvent]) -> Vec<(i64, Option<String>, Option<u32>)> {
    events
        .iter()
        .filter_map(|e| match e {
            IncomingEvent::ChatTitleChanged { chat_id, title, .. } => {
                Some((*chat_id, Some(title.clone()), None))
            }
            IncomingEvent::MemberCountChanged {
                chat_id, members, ..
            } => Some((*chat_id, None, Some(*members))),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_passes_a_burst_and_cuts_a_flood_to_the_rate() {
        let t0 = std::time::Instant::now();
        let mut b = Budget::new(100, t0);
        // Two seconds' worth at once, then nothing until time passes.
        assert_eq!(b.take(150, t0), 150);
        assert_eq!(b.take(150, t0), 50);
        assert_eq!(b.take(10, t0), 0);
        // Half a second later: fifty more.
        let t1 = t0 + std::time::Duration::from_millis(500);
        assert_eq!(b.take(1000, t1), 50);
        // A long quiet spell refills only to the burst.
        let t2 = t1 + std::time::Duration::from_secs(60);
        assert_eq!(b.take(10_000, t2), 200);
        // A sustained flood of 10 seconds gets the rate, not more.
        let mut kept = 0;
        for ms in (0..10_000).step_by(10) {
            kept += b.take(50, t2 + std::time::Duration::from_millis(ms + 10));
        }
        assert!((990..=1000).contains(&kept), "{kept}");
    }
    use crate::worker::telegram::UserRef;

    #[test]
    fn maps_events_to_counters() {
        let u = UserRef {
            id: 5,
            first_name: "Zeynep".into(),
            last_name: None,
            username: None,
        };
        // 2026-03-29 01:30 UTC (the night Europe switches to summer time) is day 20541, hour 1.
        let at = 1_774_747_800;
        let ev = vec![
            IncomingEvent::Message {
                chat_id: -10,
                message_id: 1,
                sender: Some(u.clone()),
                kind: MessageKind::Media,
                at,
                content: None,
            },
            IncomingEvent::Message {
                chat_id: -10,
                message_id: 2,
                sender: None,
                kind: MessageKind::Service,
                at,
                content: None,
            },
            IncomingEvent::MemberJoined {
                chat_id: -10,
                user: u.clone(),
                at,
            },
            IncomingEvent::MemberLeft {
                chat_id: -10,
                user: u,
                at,
            },
        ];
        let utc = jiff::tz::TimeZone::UTC;
        let b = to_batch(TenantId(3), &utc, &ev);
        let (day, hour) = day_hour(&utc, at);
        assert_eq!((day, hour), (Day(20_541), 1));
        let metrics: Vec<u8> = b.counters.iter().map(|c| c.key.metric).collect();
        assert_eq!(
            metrics,
            vec![
                1,
                metric::MEDIA,
                1,
                metric::SERVICE,
                metric::JOINS,
                metric::LEAVES
            ]
        );
        assert_eq!(b.user_days.len(), 1);
        assert_eq!(b.users.len(), 2);
        assert!(
            b.counters
                .iter()
                .all(|c| c.key.tenant == TenantId(3) && c.key.day == day)
        );
        assert_eq!(day_hour(&utc, -1), (Day(0), 23));
        // Istanbul is UTC+3: 01:xx UTC is 04:xx there, the same day.
        let ist = jiff::tz::TimeZone::get("Europe/Istanbul").unwrap();
        assert_eq!(day_hour(&ist, at), (Day(20_541), 4));
        // India's half hour: 23:40 UTC is 05:10 the next day.
        let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        assert_eq!(day_hour(&kolkata, 86_400 - 20 * 60), (Day(1), 5));
        // Berlin on the autumn change (2026-10-25): 00:30 UTC is 02:30 summer time, 01:30 UTC
        // is 02:30 winter time; both count in local hour 2.
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let t0: i64 = "2026-10-25T00:30:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        assert_eq!(day_hour(&berlin, t0).1, 2);
        assert_eq!(day_hour(&berlin, t0 + 3600).1, 2);
    }
}
