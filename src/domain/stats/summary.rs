//! The dashboard in one call: today against yesterday, this week against last week.

use std::collections::{BTreeMap, HashMap};

use botyard_shards::ids::{ChatId, Day};
use botyard_shards::{Reader, TenantShard};
use serde::Serialize;

use super::{Range, date_of, week_start};
use crate::error::AppResult;
use crate::runtime::ingestion::metric;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First and last local date of the period.
    pub from: String,
    pub to: String,
    pub messages: u64,
    pub active_users: u64,
    pub new_users: u64,
    pub joins: u64,
    pub leaves: u64,
    pub net: i64,
    /// The group with the most messages (none without messages).
    pub top_group: Option<TopGroup>,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopGroup {
    pub chat_id: i64,
    pub title: String,
    pub messages: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub today: Period,
    pub yesterday: Period,
    /// Monday to today.
    pub this_week: Period,
    /// The whole week before.
    pub last_week: Period,
}

/// Per day: messages per chat, joins, leaves and who posted.
#[derive(Default)]
struct DayFacts {
    messages: HashMap<ChatId, u64>,
    joins: u64,
    leaves: u64,
    /// Sorted, without repeats (once read).
    posters: Vec<i64>,
    new_users: u64,
}

/// Everything the periods are summed from, read once for a range of days.
pub struct Facts {
    days: BTreeMap<Day, DayFacts>,
    deliveries: HashMap<Day, super::campaigns::Tally>,
    titles: HashMap<ChatId, String>,
}

impl Facts {
    pub fn read<T: Reader>(
        s: &TenantShard<T>,
        zone: &jiff::tz::TimeZone,
        all: Range,
    ) -> AppResult<Facts> {
        let mut days: BTreeMap<Day, DayFacts> = BTreeMap::new();
        for chat in s.counter_chats()? {
            s.counters_in(chat, all.from, all.to, |d, m, n| {
                let f = days.entry(d).or_default();
                match m {
                    h if h < 24 => *f.messages.entry(chat).or_default() += n,
                    metric::JOINS => f.joins += n,
                    metric::LEAVES => f.leaves += n,
                    _ => {}
                }
            })?;
            s.user_days_in(chat, all.from, all.to, |d, u, _| {
                days.entry(d).or_default().posters.push(u);
            })?;
        }
        // Sorted vectors rather than hash sets: a busy day has thousands of posters, and
        // sorting them once is cheaper than hashing each.
        for f in days.values_mut() {
            f.posters.sort_unstable();
            f.posters.dedup();
        }
        s.telegram_users(|_, u| {
            let d = crate::runtime::ingestion::day_hour(zone, u.first_seen).0;
            if all.contains(d) {
                days.entry(d).or_default().new_users += 1;
            }
        })?;
        let delivered = super::campaigns::deliveries(s, zone, all, None, None)?;
        let deliveries = all
            .days()
            .zip(delivered.daily)
            .map(|(d, t)| (d, t.tally))
            .collect();
        let titles = s.groups()?.into_iter().map(|(c, g)| (c, g.title)).collect();
        Ok(Facts {
            days,
            deliveries,
            titles,
        })
    }

    /// The totals of the days `from` to `to` (inside the range read).
    pub fn period(&self, from: Day, to: Day) -> Period {
        let mut p = Period {
            from: date_of(from).to_string(),
            to: date_of(to).to_string(),
            ..Period::default()
        };
        let mut posters: Vec<i64> = Vec::new();
        let mut by_chat: HashMap<ChatId, u64> = HashMap::new();
        for (_, f) in self.days.range(from..=to) {
            for (c, n) in &f.messages {
                p.messages += n;
                *by_chat.entry(*c).or_default() += n;
            }
            p.joins += f.joins;
            p.leaves += f.leaves;
            p.new_users += f.new_users;
            posters.extend_from_slice(&f.posters);
        }
        posters.sort_unstable();
        posters.dedup();
        for d in (from.0..=to.0).map(Day) {
            if let Some(t) = self.deliveries.get(&d) {
                p.sent += t.sent;
                p.failed += t.failed;
                p.skipped += t.skipped;
            }
        }
        p.active_users = posters.len() as u64;
        p.net = p.joins as i64 - p.leaves as i64;
        p.top_group = by_chat
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(c, n)| TopGroup {
                chat_id: c.0,
                title: self.titles.get(&c).cloned().unwrap_or_default(),
                messages: n,
            });
        p
    }

    /// Messages and distinct posters of one day.
    pub fn day(&self, d: Day) -> (u64, u64) {
        self.days.get(&d).map_or((0, 0), |f| {
            (f.messages.values().sum(), f.posters.len() as u64)
        })
    }
}

pub fn summary<T: Reader>(
    s: &TenantShard<T>,
    zone: &jiff::tz::TimeZone,
    today: Day,
) -> AppResult<Summary> {
    let this_week = week_start(today);
    let last_week = Day(this_week.0.saturating_sub(7));
    let facts = Facts::read(
        s,
        zone,
        Range {
            from: last_week,
            to: today,
        },
    )?;
    let yesterday = Day(today.0.saturating_sub(1));
    Ok(Summary {
        today: facts.period(today, today),
        yesterday: facts.period(yesterday, yesterday),
        this_week: facts.period(this_week, today),
        last_week: facts.period(last_week, Day(this_week.0.saturating_sub(1))),
    })
}
