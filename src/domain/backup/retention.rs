//! Which backups a folder keeps: every one from the last day (a backup made by hand this
//! morning survives tonight's), the newest of each of the last `daily` days that have one, and
//! the newest of each of the last `weekly` ISO weeks (UTC). Both zero keeps everything.

use std::collections::BTreeSet;

use super::Listed;

fn day(at: i64) -> i64 {
    at.div_euclid(86_400)
}

/// ISO week as (year, week), from a UTC day.
fn week(at: i64) -> (i16, i8) {
    let ts = jiff::Timestamp::from_second(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let d = ts
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .iso_week_date();
    (d.year(), d.week())
}

/// Backups younger than this, counted from the newest, are all kept.
const KEEP_ALL_SECS: i64 = 86_400;

/// The backups to remove, given every backup in the folder.
pub fn to_remove(all: &[Listed], daily: u32, weekly: u32) -> Vec<Listed> {
    if daily == 0 && weekly == 0 {
        return Vec::new();
    }
    let mut newest_first: Vec<&Listed> = all.iter().collect();
    newest_first.sort_by(|a, b| b.made_at.cmp(&a.made_at).then(b.name.cmp(&a.name)));
    let mut keep = BTreeSet::new();
    let (mut days, mut weeks) = (BTreeSet::new(), BTreeSet::new());
    let newest = newest_first.first().map_or(0, |b| b.made_at);
    for b in &newest_first {
        if newest - b.made_at < KEEP_ALL_SECS {
            keep.insert(b.name.clone());
        }
        let (d, w) = (day(b.made_at), week(b.made_at));
        if !days.contains(&d) && days.len() < daily as usize {
            days.insert(d);
            keep.insert(b.name.clone());
        }
        if !weeks.contains(&w) && weeks.len() < weekly as usize {
            weeks.insert(w);
            keep.insert(b.name.clone());
        }
    }
    newest_first
        .into_iter()
        .filter(|b| !keep.contains(&b.name))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64, hour: i64) -> Listed {
        // Day 0 is Monday 2026-11-02.
        let t = 1_793_577_600 + day * 86_400 + hour * 3600;
        let name = super::super::file_name(t, false);
        Listed {
            path: name.clone().into(),
            name,
            made_at: t,
            bytes: 1,
            sealed: false,
        }
    }

    fn names(v: &[Listed]) -> Vec<String> {
        v.iter().map(|b| b.name.clone()).collect()
    }

    #[test]
    fn keeps_the_newest_per_day_and_per_week() {
        assert_eq!(week(at(0, 3).made_at).1, week(at(6, 3).made_at).1);
        assert_ne!(week(at(6, 3).made_at).1, week(at(7, 3).made_at).1);
        // Two a day for 21 days (three ISO weeks).
        let all: Vec<Listed> = (0..21).flat_map(|d| [at(d, 3), at(d, 15)]).collect();
        let gone = to_remove(&all, 3, 2);
        let kept: Vec<String> = all
            .iter()
            .filter(|b| !gone.contains(b))
            .map(|b| b.name.clone())
            .collect();
        // Everything of the last day (day 20's two); the newest of days 20, 19, 18; the newest
        // of the last two weeks (day 20, day 13).
        let want: BTreeSet<String> = [at(20, 15), at(20, 3), at(19, 15), at(18, 15), at(13, 15)]
            .iter()
            .map(|b| b.name.clone())
            .collect();
        assert_eq!(kept.into_iter().collect::<BTreeSet<_>>(), want);
        assert_eq!(gone.len(), all.len() - 5);
    }

    #[test]
    fn zero_keeps_everything_and_one_keeps_the_newest() {
        let all = vec![at(0, 1), at(1, 1), at(1, 2)];
        assert!(to_remove(&all, 0, 0).is_empty());
        assert_eq!(names(&to_remove(&all, 1, 0)), names(&[at(0, 1)]));
        let days = vec![at(0, 1), at(2, 1), at(3, 1)];
        assert_eq!(names(&to_remove(&days, 1, 0)), names(&[at(2, 1), at(0, 1)]));
    }
}
