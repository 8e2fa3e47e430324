//! When a campaign runs: once, every N minutes, or by a cron expression, in the tenant's time
//! zone, inside an active window and between start and end dates.
//!
//! Local times that do not exist (a spring-forward gap) run at the first instant after the
//! gap; local times that happen twice (an autumn fold) run once, at the first. A change of the
//! tenant's time zone applies from the next computation, since only civil times are stored.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use botyard_shards::records::{ScheduleRec, WindowRec};

/// Shortest interval of any schedule when the tenant has no plan (a plan sets its own).
pub const MIN_EVERY_MINUTES: u32 = 10;
/// Longest: a week.
pub const MAX_EVERY_MINUTES: u32 = 7 * 24 * 60;
/// How far ahead a next run is looked for (a cron on 29 February needs four years).
const HORIZON_DAYS: i32 = 4 * 366 + 1;
/// How far ahead a date or time may be set: a campaign planned further out is a typo.
pub const MAX_YEARS_AHEAD: i16 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron: {0}")]
    Cron(String),
    #[error("{0}")]
    Invalid(String),
}

/// A parsed five-field cron expression: minute hour day-of-month month day-of-week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    /// Bit 0 = Sunday.
    weekdays: u8,
    days_restricted: bool,
    weekdays_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field_value(s: &str, names: &[&str], base: u32) -> Option<u32> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Some(i as u32 + base);
    }
    s.parse().ok()
}

/// Parses one field into a bit set of allowed values in `lo..=hi`.
fn parse_field(
    s: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
    name_base: u32,
    what: &str,
) -> Result<u64, ScheduleError> {
    let bad = || ScheduleError::Cron(format!("{what} field `{s}` is not valid ({lo}–{hi})"));
    let mut bits = 0u64;
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (
                r,
                st.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(bad)?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                field_value(a, names, name_base).ok_or_else(bad)?,
                field_value(b, names, name_base).ok_or_else(bad)?,
            )
        } else {
            let v = field_value(range, names, name_base).ok_or_else(bad)?;
            // `5/15` means from 5 to the end, every 15.
            (v, if part.contains('/') { hi } else { v })
        };
        if a < lo || b > hi || a > b {
            return Err(bad());
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            match v.checked_add(step) {
                Some(n) => v = n,
                None => break,
            }
        }
    }
    Ok(bits)
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Cron, ScheduleError> {
        if expr.len() > 200 {
            return Err(ScheduleError::Cron("too long".into()));
        }
        let f: Vec<&str> = expr.split_whitespace().collect();
        let [mi, h, dom, mon, dow] = f.as_slice() else {
            return Err(ScheduleError::Cron(
                "five fields: minute hour day-of-month month day-of-week".into(),
            ));
        };
        let mut weekdays = parse_field(dow, 0, 7, &WEEKDAYS, 0, "day-of-week")?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        Ok(Cron {
            minutes: parse_field(mi, 0, 59, &[], 0, "minute")?,
            hours: parse_field(h, 0, 23, &[], 0, "hour")? as u32,
            days: parse_field(dom, 1, 31, &[], 0, "day-of-month")? as u32,
            months: parse_field(mon, 1, 12, &MONTHS, 1, "month")? as u16,
            weekdays: weekdays as u8,
            days_restricted: *dom != "*",
            weekdays_restricted: *dow != "*",
        })
    }

    fn matches_day(&self, d: Date) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        // Classic cron: when both are restricted, either one matching is enough.
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        }
    }

    /// The shortest time between two of its runs, in minutes, ignoring daylight-saving
    /// shifts; `None` when it never runs. Across midnight only where two days in a row match.
    pub fn closest_runs_minutes(&self) -> Option<u32> {
        let day: Vec<u32> = self
            .times()
            .map(|t| t.hour() as u32 * 60 + t.minute() as u32)
            .collect();
        let (first, last) = (*day.first()?, *day.last()?);
        let mut closest = day.windows(2).map(|w| w[1] - w[0]).min();
        // Four years hold every month length and weekday pattern.
        let mut d = Date::constant(2024, 1, 1);
        let (mut matched_any, mut prev) = (false, false);
        for _ in 0..HORIZON_DAYS {
            let m = self.matches_day(d);
            matched_any |= m;
            if m && prev {
                let wrap = first + 24 * 60 - last;
                closest = Some(closest.map_or(wrap, |c| c.min(wrap)));
                break;
            }
            prev = m;
            let Ok(next) = d.tomorrow() else { break };
            d = next;
        }
        if !matched_any {
            return None;
        }
        // One run a day on days never adjacent: a day apart at least.
        Some(closest.unwrap_or(24 * 60))
    }

    /// The day's matching local times, in order.
    fn times(&self) -> impl Iterator<Item = Time> + '_ {
        (0..24i8)
            .filter(|h| self.hours & (1 << h) != 0)
            .flat_map(move |h| {
                (0..60i8)
                    .filter(|m| self.minutes & (1 << m) != 0)
                    .filter_map(move |m| Time::new(h, m, 0, 0).ok())
            })
    }
}

/// The instant a local time names: the first after a gap, the first of a fold.
fn instant(dt: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    tz.to_ambiguous_timestamp(dt).compatible().ok()
}

fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_zoned_datetime(tz.clone()).date()
}

/// Bit of `d`'s weekday in a window's `days` (bit 0 = Monday).
fn weekday_bit(d: Date) -> u8 {
    1 << (d.weekday().to_monday_zero_offset())
}

/// Everything that bounds a campaign's runs besides its schedule.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub window: Option<WindowRec>,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
}

impl Bounds {
    pub fn none() -> Self {
        Bounds {
            window: None,
            starts_on: None,
            ends_on: None,
        }
    }

    fn date_ok(&self, d: Date) -> bool {
        self.starts_on.is_none_or(|s| d >= s) && self.ends_on.is_none_or(|e| d <= e)
    }

    /// Whether a local time is inside the window (an unset window is always open).
    pub fn in_window(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let Some(w) = self.window else { return true };
        let z = at.to_zoned_datetime(tz.clone());
        let min = z.hour() as u16 * 60 + z.minute() as u16;
        w.days & weekday_bit(z.date()) != 0 && min >= w.start_min && min < w.end_min
    }
}

fn window_time(min: u16) -> Time {
    Time::new((min / 60) as i8, (min % 60) as i8, 0, 0).unwrap_or(Time::midnight())
}

/// Checks a window: start before end, at least one day.
pub fn check_window(w: &WindowRec) -> Result<(), ScheduleError> {
    if w.start_min >= w.end_min || w.end_min > 24 * 60 {
        return Err(ScheduleError::Invalid(
            "the window starts before it ends, within one day (00:00–24:00)".into(),
        ));
    }
    if w.days & 0x7f == 0 {
        return Err(ScheduleError::Invalid(
            "the window needs at least one weekday".into(),
        ));
    }
    Ok(())
}

/// Checks a schedule on its own (not whether its time has passed): runs at least
/// `min_minutes` apart, and nothing set beyond [`MAX_YEARS_AHEAD`] from `today`.
pub fn check(s: &ScheduleRec, min_minutes: u32, today: Date) -> Result<(), ScheduleError> {
    match s {
        ScheduleRec::Once { at } => {
            let at = parse_civil(at)?;
            check_horizon(at.date(), today)
        }
        ScheduleRec::Every { minutes } => {
            if (min_minutes..=MAX_EVERY_MINUTES).contains(minutes) {
                Ok(())
            } else {
                Err(ScheduleError::Invalid(format!(
                    "every {min_minutes} minutes at the most often, every week at the least"
                )))
            }
        }
        ScheduleRec::Cron { expr } => {
            let closest = Cron::parse(expr)?.closest_runs_minutes();
            match closest {
                Some(gap) if gap < min_minutes => Err(ScheduleError::Invalid(format!(
                    "this cron runs {gap} minutes apart at its closest; the plan allows one \
                     run every {min_minutes} minutes at the most often"
                ))),
                Some(_) => Ok(()),
                None => Err(ScheduleError::Cron("it never runs".into())),
            }
        }
    }
}

/// Refuses a date more than [`MAX_YEARS_AHEAD`] after `today`.
pub fn check_horizon(d: Date, today: Date) -> Result<(), ScheduleError> {
    let last = today
        .checked_add(i64::from(MAX_YEARS_AHEAD).years())
        .unwrap_or(Date::MAX);
    if d > last {
        return Err(ScheduleError::Invalid(format!(
            "{d} is more than {MAX_YEARS_AHEAD} years ahead"
        )));
    }
    Ok(())
}

pub fn parse_civil(s: &str) -> Result<DateTime, ScheduleError> {
    s.parse::<DateTime>().map_err(|_| {
        ScheduleError::Invalid(format!(
            "`{s}` is not a local date and time like 2026-12-01T09:00"
        ))
    })
}

pub fn parse_date(s: &str) -> Result<Date, ScheduleError> {
    s.parse::<Date>()
        .map_err(|_| ScheduleError::Invalid(format!("`{s}` is not a date like 2026-12-01")))
}

/// The first run strictly after `after`, or none when the campaign has no run left.
/// `anchor` is where an unwindowed "every" schedule counts from.
pub fn next_run(
    s: &ScheduleRec,
    b: &Bounds,
    tz: &TimeZone,
    anchor: Timestamp,
    after: Timestamp,
) -> Option<Timestamp> {
    match s {
        ScheduleRec::Once { at } => {
            let t = instant(parse_civil(at).ok()?, tz)?;
            (t > after && b.date_ok(local_date(t, tz))).then_some(t)
        }
        ScheduleRec::Every { minutes } => match b.window {
            // Inside a window the runs restart at the window's opening each day.
            Some(w) => by_day(b, tz, after, |d| {
                let step = *minutes as u16;
                (0..)
                    .map(move |k: u16| w.start_min.saturating_add(k.saturating_mul(step)))
                    .take_while(move |m| *m < w.end_min && step > 0)
                    .map(window_time)
                    .map(move |t| d.to_datetime(t))
                    .collect()
            }),
            None => {
                let step = i64::from(*minutes) * 60;
                let from = after.as_second().max(anchor.as_second() - 1);
                let k = (from - anchor.as_second()).div_euclid(step) + 1;
                let mut t = Timestamp::from_second(anchor.as_second() + k * step).ok()?;
                // Dates only: step forward until inside them (bounded by the horizon).
                for _ in 0..100_000 {
                    let d = local_date(t, tz);
                    if b.ends_on.is_some_and(|e| d > e) {
                        return None;
                    }
                    if b.date_ok(d) {
                        return Some(t);
                    }
                    t = t.checked_add(step.seconds()).ok()?;
                }
                None
            }
        },
        ScheduleRec::Cron { expr } => {
            let cron = Cron::parse(expr).ok()?;
            by_day(b, tz, after, |d| {
                if cron.matches_day(d) {
                    cron.times().map(|t| d.to_datetime(t)).collect()
                } else {
                    Vec::new()
                }
            })
        }
    }
}

/// Walks local days from `after`'s, taking each day's earliest candidate that is after
/// `after` and inside the bounds.
fn by_day(
    b: &Bounds,
    tz: &TimeZone,
    after: Timestamp,
    candidates: impl Fn(Date) -> Vec<DateTime>,
) -> Option<Timestamp> {
    let mut d = local_date(after, tz);
    if let Some(s) = b.starts_on
        && s > d
    {
        d = s;
    }
    for _ in 0..HORIZON_DAYS {
        if b.ends_on.is_some_and(|e| d > e) {
            return None;
        }
        if b.window.is_none_or(|w| w.days & weekday_bit(d) != 0) {
            let best = candidates(d)
                .into_iter()
                .filter_map(|dt| instant(dt, tz))
                .filter(|t| *t > after && b.in_window(*t, tz))
                .min();
            if best.is_some() {
                return best;
            }
        }
        d = d.tomorrow().ok()?;
    }
    None
}

/// Monday-first weekday names, for the API.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn weekday_of(name: &str) -> Option<Weekday> {
    DAY_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .and_then(|i| Weekday::from_monday_zero_offset(i as i8).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(s: &str, zone: &str) -> Timestamp {
        s.parse::<DateTime>()
            .unwrap()
            .to_zoned_datetime(tz(zone))
            .unwrap()
            .timestamp()
    }

    fn local(t: Timestamp, zone: &str) -> String {
        t.to_zoned_datetime(tz(zone))
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    fn runs(s: &ScheduleRec, b: &Bounds, zone: &str, from: &str, n: usize) -> Vec<String> {
        let z = tz(zone);
        let anchor = at(from, zone);
        let mut after = anchor;
        let mut out = Vec::new();
        for _ in 0..n {
            let Some(t) = next_run(s, b, &z, anchor, after) else {
                break;
            };
            out.push(local(t, zone));
            after = t;
        }
        out
    }

    fn cron(e: &str) -> ScheduleRec {
        ScheduleRec::Cron { expr: e.into() }
    }

    #[test]
    fn daily_cron_keeps_local_time_across_dst() {
        // Europe/Berlin moves to summer time on 2026-03-29 at 02:00.
        let r = runs(
            &cron("30 9 * * *"),
            &Bounds::none(),
            "Europe/Berlin",
            "2026-03-27T12:00",
            4,
        );
        assert_eq!(
            r,
            [
                "2026-03-28 09:30 CET",
                "2026-03-29 09:30 CEST",
                "2026-03-30 09:30 CEST",
                "2026-03-31 09:30 CEST"
            ]
        );
    }

    #[test]
    fn times_in_a_gap_run_once_after_it_and_a_fold_runs_once() {
        // 02:30 does not exist in Berlin on 2026-03-29: it runs at 03:30 that day.
        let r = runs(
            &cron("30 2 * * *"),
            &Bounds::none(),
            "Europe/Berlin",
            "2026-03-28T12:00",
            3,
        );
        assert_eq!(
            r,
            [
                "2026-03-29 03:30 CEST",
                "2026-03-30 02:30 CEST",
                "2026-03-31 02:30 CEST"
            ]
        );
        // Every half hour through the gap: 03:00 and 03:30 once each.
        let r = runs(
            &cron("*/30 * * * *"),
            &Bounds::none(),
            "Europe/Berlin",
            "2026-03-29T01:15",
            4,
        );
        assert_eq!(
            r,
            [
                "2026-03-29 01:30 CET",
                "2026-03-29 03:00 CEST",
                "2026-03-29 03:30 CEST",
                "2026-03-29 04:00 CEST"
            ]
        );
        // 02:30 happens twice on 2026-10-25 in Berlin: one run.
        let r = runs(
            &cron("30 2 * * *"),
            &Bounds::none(),
            "Europe/Berlin",
            "2026-10-24T12:00",
            3,
        );
        assert_eq!(
            r,
            [
                "2026-10-25 02:30 CEST",
                "2026-10-26 02:30 CET",
                "2026-10-27 02:30 CET"
            ]
        );
    }

    #[test]
    fn every_n_counts_real_time_without_a_window() {
        let s = ScheduleRec::Every { minutes: 90 };
        let r = runs(&s, &Bounds::none(), "Europe/Berlin", "2026-10-25T00:10", 3);
        // Across the fold the wall clock repeats an hour; 90 real minutes each.
        assert_eq!(
            r,
            [
                "2026-10-25 01:40 CEST",
                "2026-10-25 02:10 CET",
                "2026-10-25 03:40 CET"
            ]
        );
    }

    #[test]
    fn windows_and_weekdays_bound_every_and_cron() {
        // Weekdays 09:00–21:00, every 4 hours from the window's opening.
        let b = Bounds {
            window: Some(WindowRec {
                start_min: 9 * 60,
                end_min: 21 * 60,
                days: 0b001_1111,
            }),
            starts_on: None,
            ends_on: None,
        };
        let s = ScheduleRec::Every { minutes: 240 };
        // 2026-11-27 is a Friday.
        let r = runs(&s, &b, "Europe/Istanbul", "2026-11-27T14:00", 4);
        assert_eq!(
            r,
            [
                "2026-11-27 17:00 +03",
                "2026-11-30 09:00 +03",
                "2026-11-30 13:00 +03",
                "2026-11-30 17:00 +03"
            ]
        );
        // A cron every hour, only inside the window.
        let r = runs(
            &cron("0 * * * *"),
            &b,
            "Europe/Istanbul",
            "2026-11-27T19:30",
            3,
        );
        assert_eq!(
            r,
            [
                "2026-11-27 20:00 +03",
                "2026-11-30 09:00 +03",
                "2026-11-30 10:00 +03"
            ]
        );
    }

    #[test]
    fn dates_start_and_end_runs() {
        let b = Bounds {
            window: None,
            starts_on: Some(parse_date("2026-12-01").unwrap()),
            ends_on: Some(parse_date("2026-12-02").unwrap()),
        };
        let r = runs(
            &cron("0 10 * * *"),
            &b,
            "Europe/Istanbul",
            "2026-11-20T00:00",
            5,
        );
        assert_eq!(r, ["2026-12-01 10:00 +03", "2026-12-02 10:00 +03"]);
        let once = ScheduleRec::Once {
            at: "2026-12-05T10:00".into(),
        };
        assert!(runs(&once, &b, "Europe/Istanbul", "2026-11-20T00:00", 1).is_empty());
    }

    #[test]
    fn a_zone_change_moves_the_next_run_to_the_new_local_time() {
        let s = cron("0 9 * * *");
        let after = at("2026-11-28T10:00", "UTC");
        let ist = next_run(&s, &Bounds::none(), &tz("Europe/Istanbul"), after, after).unwrap();
        let ny = next_run(&s, &Bounds::none(), &tz("America/New_York"), after, after).unwrap();
        assert_eq!(local(ist, "Europe/Istanbul"), "2026-11-29 09:00 +03");
        assert_eq!(local(ny, "America/New_York"), "2026-11-28 09:00 EST");
    }

    #[test]
    fn cron_fields_parse_like_cron() {
        let c = Cron::parse("*/15 9-17 * * mon-fri").unwrap();
        assert_eq!(c.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(c.weekdays, 0b011_1110);
        let c = Cron::parse("0 0 1,15 * 7").unwrap();
        assert_eq!(c.weekdays, 1);
        // Day-of-month or day-of-week when both are given: 2026-11-01 is a Sunday, 15th a Sunday
        // too; Sunday the 8th matches by weekday.
        let r = runs(
            &cron("0 12 1,20 * sun"),
            &Bounds::none(),
            "UTC",
            "2026-10-31T00:00",
            3,
        );
        assert_eq!(
            r,
            [
                "2026-11-01 12:00 UTC",
                "2026-11-08 12:00 UTC",
                "2026-11-15 12:00 UTC"
            ]
        );
        let r = runs(
            &cron("0 0 29 2 *"),
            &Bounds::none(),
            "UTC",
            "2026-03-01T00:00",
            1,
        );
        assert_eq!(r, ["2028-02-29 00:00 UTC"]);
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "*/0 * * * *",
            "5-1 * * * *",
            "* * * * funday",
            "a b c d e",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_closest_runs_bound_every_kind_of_schedule() {
        let gap = |e: &str| Cron::parse(e).unwrap().closest_runs_minutes();
        assert_eq!(gap("* * * * *"), Some(1));
        assert_eq!(gap("*/15 * * * *"), Some(15));
        assert_eq!(gap("0,5 9 * * *"), Some(5));
        // Across midnight: 23:55 and 00:05 the next day.
        assert_eq!(gap("5,55 0,23 * * *"), Some(10));
        // Two times a day, but never on two days in a row: no wrap across midnight.
        assert_eq!(gap("50 23 * * mon"), Some(24 * 60));
        assert_eq!(gap("0 0,23 * * mon"), Some(23 * 60));
        assert_eq!(gap("0 9 * * *"), Some(24 * 60));
        // 31 February never comes.
        assert_eq!(gap("0 9 31 2 *"), None);
        let today = Date::constant(2026, 12, 3);
        let min = 10;
        assert!(check(&cron("* * * * *"), min, today).is_err());
        assert!(check(&cron("*/9 * * * *"), min, today).is_err());
        assert!(check(&cron("*/10 * * * *"), min, today).is_ok());
        assert!(check(&cron("0 9 31 2 *"), min, today).is_err());
        assert!(check(&ScheduleRec::Every { minutes: 9 }, min, today).is_err());
        assert!(check(&ScheduleRec::Every { minutes: 10 }, min, today).is_ok());
        // A plan with a longer minimum.
        assert!(check(&ScheduleRec::Every { minutes: 30 }, 60, today).is_err());
        assert!(check(&cron("0,30 * * * *"), 60, today).is_err());
        assert!(check(&cron("0 * * * *"), 60, today).is_ok());
    }

    #[test]
    fn dates_beyond_the_horizon_are_refused() {
        let today = Date::constant(2026, 12, 3);
        let once = |at: &str| ScheduleRec::Once { at: at.into() };
        assert!(check(&once("2027-01-01T09:00"), 10, today).is_ok());
        assert!(check(&once("2031-12-03T09:00"), 10, today).is_ok());
        assert!(check(&once("2031-12-04T09:00"), 10, today).is_err());
        assert!(check(&once("9999-12-31T23:59"), 10, today).is_err());
    }
}
