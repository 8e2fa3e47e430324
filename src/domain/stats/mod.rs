//! Statistics over the counters the ingestion writes: messages, users, groups, the weekly heat
//! map and campaign deliveries, all in the tenant's local days (the counters are kept that
//! way), over a range of dates. Plain functions over a shard read; the HTTP layer only parses
//! and shapes.

pub mod activity;
pub mod campaigns;
pub mod report;
pub mod retention;
pub mod summary;

use botyard_shards::ids::{ChatId, Day};
use botyard_shards::{Reader, TenantShard};
use jiff::civil::Date;

use crate::error::{AppError, AppResult};

/// Longest range one request may cover (a leap year).
pub const MAX_RANGE_DAYS: u32 = 366;
/// Counters (totals per group and day) are kept at least this long, whatever the plan.
pub const COUNTER_DAYS_MIN: u32 = 366;
/// Default range: the last 30 days.
pub const DEFAULT_RANGE_DAYS: u32 = 30;

/// Local day `d` as a date.
pub fn date_of(d: Day) -> Date {
    let epoch = Date::constant(1970, 1, 1);
    epoch
        .checked_add(jiff::Span::new().days(i64::from(d.0)))
        .unwrap_or(epoch)
}

/// A date as a local day number (days since 1970-01-01).
pub fn day_of(date: Date) -> Option<Day> {
    let days = date
        .since((jiff::Unit::Day, Date::constant(1970, 1, 1)))
        .ok()?
        .get_days();
    u32::try_from(days).ok().map(Day)
}

/// Today in `zone`.
pub fn today(zone: &jiff::tz::TimeZone, now: i64) -> Day {
    crate::runtime::ingestion::day_hour(zone, now).0
}

/// Monday is 0.
pub fn weekday(d: Day) -> usize {
    // 1970-01-01 was a Thursday.
    ((d.0 + 3) % 7) as usize
}

/// The Monday of `d`'s week.
pub fn week_start(d: Day) -> Day {
    Day(d.0.saturating_sub(weekday(d) as u32))
}

/// Dates from and to (both included), in the tenant's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: Day,
    pub to: Day,
}

impl Range {
    pub fn days(&self) -> impl Iterator<Item = Day> + use<> {
        (self.from.0..=self.to.0).map(Day)
    }

    pub fn contains(&self, d: Day) -> bool {
        self.from <= d && d <= self.to
    }

    pub fn len(&self) -> u32 {
        self.to.0 - self.from.0 + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Which data a range reads: per-user rows are kept for the plan's retention, totals for at
/// least a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Horizon {
    Counters,
    Users,
}

/// How far back data is kept for a tenant whose plan keeps per-user rows `retention_days`.
pub fn kept_from(today: Day, retention_days: u32, h: Horizon) -> Day {
    let days = match h {
        Horizon::Users => retention_days.max(1),
        Horizon::Counters => retention_days.max(COUNTER_DAYS_MIN),
    };
    Day(today.0.saturating_sub(days - 1))
}

fn parse_date(field: &str, v: &str) -> AppResult<Day> {
    v.parse::<Date>()
        .ok()
        .and_then(day_of)
        .ok_or_else(|| AppError::Invalid {
            code: "stats.date",
            field: field.into(),
            message: format!("{v:?} is not a date like 2026-11-28"),
        })
}

/// The range a request asks for (`from`, `to` as local dates; default the last 30 days),
/// checked: in order, at most a year, within what the plan keeps.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    today: Day,
    retention_days: u32,
    h: Horizon,
) -> AppResult<Range> {
    let to = match to {
        Some(v) => parse_date("to", v)?,
        None => today,
    };
    let from = match from {
        Some(v) => parse_date("from", v)?,
        None => Day(to.0.saturating_sub(DEFAULT_RANGE_DAYS - 1)),
    };
    if to < from {
        return Err(AppError::Invalid {
            code: "stats.range_order",
            field: "to".into(),
            message: format!("{} is before {}", date_of(to), date_of(from)),
        });
    }
    if to.0 - from.0 + 1 > MAX_RANGE_DAYS {
        return Err(AppError::Invalid {
            code: "stats.range_too_long",
            field: "from".into(),
            message: format!("a range covers at most {MAX_RANGE_DAYS} days"),
        });
    }
    let kept = kept_from(today, retention_days, h);
    if from < kept {
        return Err(AppError::Invalid {
            code: "stats.beyond_retention",
            field: "from".into(),
            message: format!(
                "the plan keeps this data from {} on ({} days)",
                date_of(kept),
                match h {
                    Horizon::Users => retention_days.max(1),
                    Horizon::Counters => retention_days.max(COUNTER_DAYS_MIN),
                }
            ),
        });
    }
    Ok(Range { from, to })
}

/// The chats a question is about: one group (which must be the tenant's), or every chat with
/// data.
pub fn chats<T: Reader>(s: &TenantShard<T>, group: Option<i64>) -> AppResult<Vec<ChatId>> {
    match group {
        Some(g) => {
            s.group(ChatId(g))?.ok_or(AppError::NotFound("group"))?;
            Ok(vec![ChatId(g)])
        }
        None => Ok(s.counter_chats()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_round_trip() {
        let d = Date::constant(2026, 11, 28);
        let day = day_of(d).unwrap();
        assert_eq!(date_of(day), d);
        assert_eq!(day_of(Date::constant(1970, 1, 1)), Some(Day(0)));
        assert_eq!(day_of(Date::constant(1969, 12, 31)), None);
        // 2026-11-28 is a Saturday; its week starts on Monday the 23rd.
        assert_eq!(weekday(day), 5);
        assert_eq!(date_of(week_start(day)), Date::constant(2026, 11, 23));
    }

    #[test]
    fn ranges_are_checked() {
        let today = day_of(Date::constant(2026, 11, 28)).unwrap();
        let r = range(None, None, today, 90, Horizon::Users).unwrap();
        assert_eq!((r.len(), r.to), (30, today));
        let code = |e: AppError| e.code();
        assert_eq!(
            code(
                range(
                    Some("2026-11-20"),
                    Some("2026-11-10"),
                    today,
                    90,
                    Horizon::Users
                )
                .unwrap_err()
            ),
            "stats.range_order"
        );
        assert_eq!(
            code(
                range(
                    Some("2025-01-01"),
                    Some("2026-11-10"),
                    today,
                    900,
                    Horizon::Users
                )
                .unwrap_err()
            ),
            "stats.range_too_long"
        );
        assert_eq!(
            code(range(Some("2026-08-01"), None, today, 90, Horizon::Users).unwrap_err()),
            "stats.beyond_retention"
        );
        // Totals are kept a year even on a 90-day plan.
        assert!(range(Some("2026-08-01"), None, today, 90, Horizon::Counters).is_ok());
        assert_eq!(
            code(range(Some("28.11.2026"), None, today, 90, Horizon::Users).unwrap_err()),
            "stats.date"
        );
        // 90 days kept: today and the 89 before it.
        let kept = kept_from(today, 90, Horizon::Users);
        assert_eq!(today.0 - kept.0, 89);
        assert!(
            range(
                Some(&date_of(kept).to_string()),
                None,
                today,
                90,
                Horizon::Users
            )
            .is_ok()
        );
    }
}
