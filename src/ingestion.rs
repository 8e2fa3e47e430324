//! Turns the events a worker reports into store increments. Counters are kept per UTC day and
//! hour, so statistics can be shown in any whole-hour time zone at read time.

use botyard_shards::ids::{ChatId, Day, TenantId};
use botyard_shards::ingest::{Batch, CounterKey, Increment, UserDayIncrement, UserSeen};

use crate::telegram::{IncomingEvent, MessageKind};

/// Counter metrics in the `counters` table: 0–23 are messages in that UTC hour of the day.
pub mod metric {
    pub const HOUR_0: u8 = 0;
    pub const TEXT: u8 = 24;
    pub const MEDIA: u8 = 25;
    pub const SERVICE: u8 = 26;
    pub const JOINS: u8 = 27;
    pub const LEAVES: u8 = 28;
}

fn day_hour(at: i64) -> (Day, u8) {
    let day = at.div_euclid(86_400);
    let hour = at.rem_euclid(86_400) / 3600;
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
pub fn to_batch(tenant: TenantId, events: &[IncomingEvent]) -> Batch {
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
                let (day, hour) = day_hour(*at);
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
                count(&mut b, tenant, *chat_id, day_hour(*at).0, metric::JOINS);
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
                count(&mut b, tenant, *chat_id, day_hour(*at).0, metric::LEAVES);
            }
            // Member counts and titles are chat state, not counters: the groups table keeps
            // them (member-count history comes with the statistics issue).
            IncomingEvent::MemberCountChanged { .. } | IncomingEvent::ChatTitleChanged { .. } => {}
            // A bot's private commands are not group activity (the platform bot's link
            // codes are handled by the supervisor).
            IncomingEvent::Command { .. } => {}
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
    use crate::telegram::UserRef;

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
            },
            IncomingEvent::Message {
                chat_id: -10,
                message_id: 2,
                sender: None,
                kind: MessageKind::Service,
                at,
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
        let b = to_batch(TenantId(3), &ev);
        let (day, hour) = day_hour(at);
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
        assert_eq!(day_hour(-1), (Day(0), 23));
    }
}
