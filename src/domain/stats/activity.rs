//! What happens in the groups: messages, the heat map, active, new and top users, one user's
//! activity, and the groups' growth.

use std::collections::{BTreeMap, HashMap, HashSet};

use botyard_shards::ids::{ChatId, Day};
use botyard_shards::{Reader, TenantShard};
use serde::Serialize;

use super::{Range, date_of, week_start};
use crate::error::{AppError, AppResult};
use crate::runtime::ingestion::metric;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ByKind {
    pub text: u64,
    pub media: u64,
    pub service: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    /// `2026-11-28`, or `2026-11-28T14:00` per hour (local time).
    pub at: String,
    pub value: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Day,
    Hour,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Messages {
    pub total: u64,
    pub by_kind: ByKind,
    /// Every day (or hour) of the range, zeros included.
    pub series: Vec<Point>,
}

/// Messages per (local day, local hour).
type ByHour = BTreeMap<(Day, u8), u64>;

/// Message counts per local hour of each day, and per kind, over `chats`.
fn hours<T: Reader>(s: &TenantShard<T>, chats: &[ChatId], r: Range) -> AppResult<(ByHour, ByKind)> {
    let mut by_hour = BTreeMap::new();
    let mut kinds = ByKind::default();
    for chat in chats {
        s.counters_in(*chat, r.from, r.to, |day, m, n| match m {
            h if h < 24 => *by_hour.entry((day, h)).or_default() += n,
            metric::TEXT => kinds.text += n,
            metric::MEDIA => kinds.media += n,
            metric::SERVICE => kinds.service += n,
            _ => {}
        })?;
    }
    Ok((by_hour, kinds))
}

pub fn messages<T: Reader>(
    s: &TenantShard<T>,
    chats: &[ChatId],
    r: Range,
    interval: Interval,
) -> AppResult<Messages> {
    let (by_hour, by_kind) = hours(s, chats, r)?;
    let series = match interval {
        Interval::Day => {
            let mut per_day: HashMap<Day, u64> = HashMap::new();
            for ((d, _), n) in &by_hour {
                *per_day.entry(*d).or_default() += n;
            }
            r.days()
                .map(|d| Point {
                    at: date_of(d).to_string(),
                    value: per_day.get(&d).copied().unwrap_or(0),
                })
                .collect()
        }
        Interval::Hour => r
            .days()
            .flat_map(|d| (0..24u8).map(move |h| (d, h)))
            .map(|(d, h)| Point {
                at: format!("{}T{h:02}:00", date_of(d)),
                value: by_hour.get(&(d, h)).copied().unwrap_or(0),
            })
            .collect(),
    };
    Ok(Messages {
        total: by_hour.values().sum(),
        by_kind,
        series,
    })
}

/// Messages by weekday (Monday first) and local hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Heatmap {
    /// Seven rows (Monday to Sunday) of 24 hours.
    pub cells: Vec<Vec<u64>>,
}

pub fn heatmap<T: Reader>(s: &TenantShard<T>, chats: &[ChatId], r: Range) -> AppResult<Heatmap> {
    let (by_hour, _) = hours(s, chats, r)?;
    let mut cells = vec![vec![0u64; 24]; 7];
    for ((d, h), n) in by_hour {
        cells[super::weekday(d)][usize::from(h)] += n;
    }
    Ok(Heatmap { cells })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Users {
    /// Distinct users who posted in the range.
    pub active: u64,
    /// Users first seen in the range: overall, by their first message, join or leave in any
    /// group; for one group, by their first message there (within the rows the plan keeps).
    pub new: u64,
    /// Distinct posters per day.
    pub daily: Vec<Point>,
    /// Distinct posters per week (Monday first; the range's first and last weeks only count
    /// their days inside the range), `at` is the week's Monday.
    pub weekly: Vec<Point>,
    /// Distinct posters per calendar month (clipped to the range the same way), `at` is the
    /// month's first day.
    pub monthly: Vec<Point>,
}

fn month_start(d: Day) -> Day {
    let date = date_of(d);
    super::day_of(date.first_of_month()).unwrap_or(d)
}

/// Who posted on each day of the range.
fn posters<T: Reader>(
    s: &TenantShard<T>,
    chats: &[ChatId],
    r: Range,
) -> AppResult<BTreeMap<Day, HashSet<i64>>> {
    let mut out: BTreeMap<Day, HashSet<i64>> = BTreeMap::new();
    for chat in chats {
        s.user_days_in(*chat, r.from, r.to, |d, u, _| {
            out.entry(d).or_default().insert(u);
        })?;
    }
    Ok(out)
}

fn distinct_by(days: &BTreeMap<Day, HashSet<i64>>, key: impl Fn(Day) -> Day) -> Vec<Point> {
    let mut buckets: BTreeMap<Day, HashSet<i64>> = BTreeMap::new();
    for (d, users) in days {
        buckets.entry(key(*d)).or_default().extend(users);
    }
    buckets
        .into_iter()
        .map(|(d, u)| Point {
            at: date_of(d).to_string(),
            value: u.len() as u64,
        })
        .collect()
}

/// Users first seen in `r`: overall from the Telegram users table, for one group from its
/// per-user days.
pub fn new_users<T: Reader>(
    s: &TenantShard<T>,
    zone: &jiff::tz::TimeZone,
    group: Option<ChatId>,
    r: Range,
) -> AppResult<u64> {
    match group {
        None => {
            let mut n = 0;
            s.telegram_users(|_, u| {
                if r.contains(crate::runtime::ingestion::day_hour(zone, u.first_seen).0) {
                    n += 1;
                }
            })?;
            Ok(n)
        }
        Some(chat) => {
            let mut first: HashMap<i64, Day> = HashMap::new();
            s.user_days_in(chat, Day::MIN, r.to, |d, u, _| {
                first.entry(u).or_insert(d);
            })?;
            Ok(first.values().filter(|d| r.contains(**d)).count() as u64)
        }
    }
}

pub fn users<T: Reader>(
    s: &TenantShard<T>,
    zone: &jiff::tz::TimeZone,
    chats: &[ChatId],
    group: Option<ChatId>,
    r: Range,
) -> AppResult<Users> {
    let days = posters(s, chats, r)?;
    let active: HashSet<i64> = days.values().flatten().copied().collect();
    Ok(Users {
        active: active.len() as u64,
        new: new_users(s, zone, group, r)?,
        daily: r
            .days()
            .map(|d| Point {
                at: date_of(d).to_string(),
                value: days.get(&d).map_or(0, |u| u.len() as u64),
            })
            .collect(),
        weekly: distinct_by(&days, week_start),
        monthly: distinct_by(&days, month_start),
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopUser {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub messages: u64,
}

/// Most active posters, most messages first (ties by id).
pub fn top_users<T: Reader>(
    s: &TenantShard<T>,
    chats: &[ChatId],
    r: Range,
    limit: usize,
) -> AppResult<Vec<TopUser>> {
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for chat in chats {
        s.user_days_in(*chat, r.from, r.to, |_, u, n| {
            *counts.entry(u).or_default() += n;
        })?;
    }
    let mut all: Vec<(i64, u64)> = counts.into_iter().collect();
    let limit = limit.min(all.len());
    if limit < all.len() {
        all.select_nth_unstable_by(limit, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(limit);
    }
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.into_iter()
        .map(|(id, messages)| {
            let u = s.telegram_user(id)?;
            Ok(TopUser {
                user_id: id,
                first_name: u.as_ref().map(|u| u.first_name.clone()).unwrap_or_default(),
                last_name: u.as_ref().and_then(|u| u.last_name.clone()),
                username: u.and_then(|u| u.username),
                messages,
            })
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupCount {
    pub chat_id: i64,
    pub title: String,
    pub messages: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserActivity {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// Every message counted since the user was first seen.
    pub messages_all_time: u64,
    /// Messages in the range.
    pub messages: u64,
    pub daily: Vec<Point>,
    pub by_group: Vec<GroupCount>,
}

pub fn user<T: Reader>(
    s: &TenantShard<T>,
    chats: &[ChatId],
    user: i64,
    r: Range,
) -> AppResult<UserActivity> {
    let u = s
        .telegram_user(user)?
        .ok_or(AppError::NotFound("telegram user"))?;
    let mut per_day: HashMap<Day, u64> = HashMap::new();
    let mut per_chat: BTreeMap<ChatId, u64> = BTreeMap::new();
    for chat in chats {
        s.user_days_in(*chat, r.from, r.to, |d, who, n| {
            if who == user {
                *per_day.entry(d).or_default() += n;
                *per_chat.entry(*chat).or_default() += n;
            }
        })?;
    }
    let mut by_group = Vec::new();
    for (chat, messages) in per_chat {
        let title = s.group(chat)?.map(|g| g.title).unwrap_or_default();
        by_group.push(GroupCount {
            chat_id: chat.0,
            title,
            messages,
        });
    }
    by_group.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.chat_id.cmp(&b.chat_id)));
    Ok(UserActivity {
        user_id: user,
        first_name: u.first_name,
        last_name: u.last_name,
        username: u.username,
        first_seen: crate::clock::rfc3339(u.first_seen),
        last_seen: crate::clock::rfc3339(u.last_seen),
        messages_all_time: u.messages,
        messages: per_day.values().sum(),
        daily: r
            .days()
            .map(|d| Point {
                at: date_of(d).to_string(),
                value: per_day.get(&d).copied().unwrap_or(0),
            })
            .collect(),
        by_group,
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupActivity {
    pub chat_id: i64,
    pub title: String,
    /// Members now.
    pub members: u32,
    pub messages: u64,
    pub joins: u64,
    pub leaves: u64,
    /// Joins minus leaves.
    pub net: i64,
    /// What the group's rules did: welcomes, replies, deletions, warnings, mutes, removals.
    pub rule_actions: u64,
}

/// Every group with its messages, joins and leaves in the range, most active first.
pub fn groups<T: Reader>(s: &TenantShard<T>, r: Range) -> AppResult<Vec<GroupActivity>> {
    let mut out = Vec::new();
    let known: HashMap<ChatId, botyard_shards::records::GroupRec> =
        s.groups()?.into_iter().collect();
    let mut chats: Vec<ChatId> = s.counter_chats()?;
    chats.extend(
        known
            .keys()
            .filter(|c| !chats.contains(c))
            .copied()
            .collect::<Vec<_>>(),
    );
    for chat in chats {
        let (mut messages, mut joins, mut leaves, mut rule_actions) = (0, 0, 0, 0);
        s.counters_in(chat, r.from, r.to, |_, m, n| match m {
            h if h < 24 => messages += n,
            metric::JOINS => joins += n,
            metric::LEAVES => leaves += n,
            metric::RULE_ACTIONS => rule_actions += n,
            _ => {}
        })?;
        let g = known.get(&chat);
        out.push(GroupActivity {
            chat_id: chat.0,
            title: g.map(|g| g.title.clone()).unwrap_or_default(),
            members: g.map_or(0, |g| g.members),
            messages,
            joins,
            leaves,
            net: joins as i64 - leaves as i64,
            rule_actions,
        });
    }
    out.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.chat_id.cmp(&b.chat_id)));
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrowthDay {
    pub at: String,
    /// The last member count known on that day (null before the first one).
    pub members: Option<u32>,
    pub joins: u64,
    pub leaves: u64,
    pub net: i64,
    pub rule_actions: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupGrowth {
    pub chat_id: i64,
    pub title: String,
    pub joins: u64,
    pub leaves: u64,
    pub net: i64,
    pub days: Vec<GrowthDay>,
}

pub fn growth<T: Reader>(s: &TenantShard<T>, chat: ChatId, r: Range) -> AppResult<GroupGrowth> {
    let g = s.group(chat)?.ok_or(AppError::NotFound("group"))?;
    let mut jl: HashMap<Day, (u64, u64, u64)> = HashMap::new();
    s.counters_in(chat, r.from, r.to, |d, m, n| match m {
        metric::JOINS => jl.entry(d).or_default().0 += n,
        metric::LEAVES => jl.entry(d).or_default().1 += n,
        metric::RULE_ACTIONS => jl.entry(d).or_default().2 += n,
        _ => {}
    })?;
    let (mut last, points) = s.member_counts(chat, r.from, r.to)?;
    let points: HashMap<Day, u32> = points.into_iter().collect();
    let days: Vec<GrowthDay> = r
        .days()
        .map(|d| {
            if let Some(m) = points.get(&d) {
                last = Some(*m);
            }
            let (j, l, a) = jl.get(&d).copied().unwrap_or_default();
            GrowthDay {
                at: date_of(d).to_string(),
                members: last,
                joins: j,
                leaves: l,
                net: j as i64 - l as i64,
                rule_actions: a,
            }
        })
        .collect();
    let joins = days.iter().map(|d| d.joins).sum::<u64>();
    let leaves = days.iter().map(|d| d.leaves).sum::<u64>();
    Ok(GroupGrowth {
        chat_id: chat.0,
        title: g.title,
        joins,
        leaves,
        net: joins as i64 - leaves as i64,
        days,
    })
}
