//! The campaign form of the console, for a new campaign and for changing a saved one: the
//! fields as the page shows them (filled from a campaign, or with a new one's defaults), and
//! the posted form read into the domain's input once.

use botyard_shards::ids::TemplateId;
use botyard_shards::records::{CampaignRec, ScheduleRec, WindowRec};
use serde::Deserialize;

use crate::domain::campaigns;
use crate::error::{AppError, AppResult};

/// The weekday checkboxes: `(field, catalogue key)`, Monday first.
const DAYS: [(&str, &str); 7] = [
    ("d0", "day.mon"),
    ("d1", "day.tue"),
    ("d2", "day.wed"),
    ("d3", "day.thu"),
    ("d4", "day.fri"),
    ("d5", "day.sat"),
    ("d6", "day.sun"),
];

/// What the form's fields show.
pub struct Fields {
    /// Where it posts, and the catalogue key of its button.
    pub action: String,
    /// Where the next runs of the schedule being filled in come from.
    pub preview: String,
    pub submit: &'static str,
    /// Prefix of the controls' ids, so two forms on a page stay apart.
    pub p: &'static str,
    pub templates: Vec<(u64, String)>,
    pub name: String,
    pub template: u64,
    pub tags: String,
    pub kind: &'static str,
    pub value: String,
    pub window_from: String,
    pub window_to: String,
    /// `(field, catalogue key, ticked)`.
    pub days: Vec<(&'static str, &'static str, bool)>,
    pub jitter_minutes: u32,
    pub delete_previous: bool,
    pub pin: bool,
    pub starts_on: String,
    pub ends_on: String,
    /// The tenant's enabled groups to choose by name: `(chat id, title, ticked)`.
    pub groups: Vec<(i64, String, bool)>,
    /// The tenant's sessions `(id, label)` and the one that posts (chosen in the form only
    /// when there are two or more; with one, it posts).
    pub sessions: Vec<(u64, String)>,
    pub session: u64,
}

/// The form's field of group `chat`, ticked to target it.
const GROUP_FIELD: &str = "g_";

impl Fields {
    /// A new campaign's form: every hour, any time of day.
    pub fn new_campaign(
        root: &str,
        tenant: u64,
        templates: Vec<(u64, String)>,
        groups: Vec<(i64, String)>,
        sessions: Vec<(u64, String)>,
    ) -> Fields {
        Fields {
            action: format!("{root}/tenants/{tenant}/campaigns"),
            preview: format!("{root}/tenants/{tenant}/campaigns/schedule"),
            submit: "camp.create",
            p: "c",
            templates,
            name: String::new(),
            template: 0,
            tags: String::new(),
            kind: "every",
            value: "60".into(),
            window_from: String::new(),
            window_to: String::new(),
            days: DAYS.iter().map(|(f, k)| (*f, *k, false)).collect(),
            jitter_minutes: 0,
            delete_previous: false,
            pin: false,
            starts_on: String::new(),
            ends_on: String::new(),
            groups: groups.into_iter().map(|(c, t)| (c, t, false)).collect(),
            session: sessions.first().map_or(0, |s| s.0),
            sessions,
        }
    }

    /// A saved campaign's form, filled with what it has.
    pub fn of(
        root: &str,
        tenant: u64,
        id: u64,
        rec: &CampaignRec,
        templates: Vec<(u64, String)>,
        groups: Vec<(i64, String)>,
        sessions: Vec<(u64, String)>,
    ) -> Fields {
        let weekly = match &rec.schedule {
            ScheduleRec::Cron { expr } => weekly_of(expr),
            _ => None,
        };
        let (kind, value) = match (&rec.schedule, &weekly) {
            (_, Some((time, _))) => ("weekly", time.clone()),
            (ScheduleRec::Every { minutes }, _) => ("every", minutes.to_string()),
            (ScheduleRec::Once { at }, _) => ("once", at.clone()),
            (ScheduleRec::Cron { expr }, _) => ("cron", expr.clone()),
        };
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let (from, to, mut days) = match &rec.window {
            Some(w) => (hhmm(w.start_min), hhmm(w.end_min), w.days),
            None => (String::new(), String::new(), 0),
        };
        if let Some((_, d)) = weekly {
            days = d;
        }
        Fields {
            action: format!("{root}/tenants/{tenant}/campaigns/{id}/edit"),
            preview: format!("{root}/tenants/{tenant}/campaigns/schedule"),
            submit: "camp.save_changes",
            p: "e",
            templates,
            name: rec.name.clone(),
            template: rec.template.0,
            tags: rec.tags.join(", "),
            kind,
            value,
            window_from: from,
            window_to: to,
            days: DAYS
                .iter()
                .enumerate()
                .map(|(i, (f, k))| (*f, *k, days != 0x7f && days & (1 << i) != 0))
                .collect(),
            jitter_minutes: rec.jitter_secs / 60,
            delete_previous: rec.delete_previous,
            pin: rec.pin,
            starts_on: rec.starts_on.clone().unwrap_or_default(),
            ends_on: rec.ends_on.clone().unwrap_or_default(),
            groups: groups
                .into_iter()
                .map(|(c, t)| (c, t, rec.chats.iter().any(|x| x.0 == c)))
                .collect(),
            session: rec.session.0,
            sessions,
        }
    }
}

#[derive(Deserialize)]
pub struct CampaignForm {
    #[serde(default)]
    name: String,
    /// Only in the form of a tenant with two or more sessions.
    #[serde(default)]
    session_id: String,
    #[serde(default)]
    template_id: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    /// The posting window, `HH:MM` to `HH:MM` (both empty: any time).
    #[serde(default)]
    window_from: String,
    #[serde(default)]
    window_to: String,
    /// Ticked weekdays, `d0` (Monday) to `d6`.
    d0: Option<String>,
    d1: Option<String>,
    d2: Option<String>,
    d3: Option<String>,
    d4: Option<String>,
    d5: Option<String>,
    d6: Option<String>,
    #[serde(default)]
    jitter_minutes: String,
    delete_previous: Option<String>,
    pin: Option<String>,
    /// First and last day, `YYYY-MM-DD` (empty: open).
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    /// Ticked groups, as `g_<chat id>` fields.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

/// Cron's names of the weekdays, Monday first as the form's `d0`…`d6`.
const CRON_DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The weekly builder's schedule as cron: at `time` (`HH:MM`) on the ticked days (bit 0 =
/// Monday; none or all: every day).
pub fn weekly_cron(time: &str, days: u8) -> AppResult<String> {
    let min = crate::http::campaign_routes::parse_hhmm(time, "value")?;
    let dows = if days == 0 || days == 0x7f {
        "*".to_string()
    } else {
        CRON_DAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| days & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect::<Vec<_>>()
            .join(",")
    };
    Ok(format!("{} {} * * {dows}", min % 60, min / 60))
}

/// A cron the weekly builder wrote, back as its `(HH:MM, days)`; any other cron is `None`.
pub fn weekly_of(expr: &str) -> Option<(String, u8)> {
    let f: Vec<&str> = expr.split(' ').collect();
    let [m, h, "*", "*", dows] = f.as_slice() else {
        return None;
    };
    let (m, h) = (m.parse::<u8>().ok()?, h.parse::<u8>().ok()?);
    if m > 59 || h > 23 {
        return None;
    }
    let days = if *dows == "*" {
        0
    } else {
        let mut days = 0u8;
        for d in dows.split(',') {
            days |= 1 << CRON_DAYS.iter().position(|c| c == &d)?;
        }
        days
    };
    Some((format!("{h:02}:{m:02}"), days))
}

/// The ticked weekdays as bits, bit 0 = Monday.
fn ticked(f: &CampaignForm) -> u8 {
    [&f.d0, &f.d1, &f.d2, &f.d3, &f.d4, &f.d5, &f.d6]
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .fold(0u8, |acc, (i, _)| acc | 1 << i)
}

/// The domain's input from the form; the pinned version and the session (set through the
/// API) are the caller's to carry over.
pub fn input(f: &CampaignForm) -> AppResult<campaigns::Input> {
    let template =
        f.template_id.parse::<u64>().map(TemplateId).map_err(|_| {
            AppError::invalid("template_id", "choose one of the tenant's templates")
        })?;
    let value = f.value.trim();
    let schedule = match f.kind.as_str() {
        "every" => ScheduleRec::Every {
            minutes: value
                .parse()
                .map_err(|_| AppError::invalid("value", "a number of minutes"))?,
        },
        "once" => ScheduleRec::Once {
            at: value.to_string(),
        },
        "cron" => ScheduleRec::Cron {
            expr: value.to_string(),
        },
        // The ticked days are the schedule's own here, not the window's.
        "weekly" => ScheduleRec::Cron {
            expr: weekly_cron(value, ticked(f))?,
        },
        _ => {
            return Err(AppError::invalid(
                "kind",
                "choose every, once, weekly or cron",
            ));
        }
    };
    let window = match (f.window_from.trim(), f.window_to.trim()) {
        ("", "") => None,
        (from, to) => {
            let days = if f.kind == "weekly" { 0 } else { ticked(f) };
            Some(WindowRec {
                start_min: crate::http::campaign_routes::parse_hhmm(from, "window_from")?,
                end_min: crate::http::campaign_routes::parse_hhmm(to, "window_to")?,
                days: if days == 0 { 0x7f } else { days },
            })
        }
    };
    let jitter_secs = match f.jitter_minutes.trim() {
        "" => 0,
        j => j
            .parse::<u32>()
            .ok()
            .and_then(|m| m.checked_mul(60))
            .ok_or_else(|| AppError::invalid("jitter_minutes", "a number of minutes"))?,
    };
    let date = |d: &str| (!d.trim().is_empty()).then(|| d.trim().to_string());
    Ok(campaigns::Input {
        name: f.name.clone(),
        template,
        version: None,
        chats: f
            .rest
            .keys()
            .filter_map(|k| k.strip_prefix(GROUP_FIELD)?.parse().ok())
            .collect(),
        tags: f
            .tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        session: match f.session_id.trim() {
            "" => None,
            s => Some(
                s.parse()
                    .map_err(|_| AppError::invalid("session_id", "choose one of the sessions"))?,
            ),
        },
        schedule,
        window,
        starts_on: date(&f.starts_on),
        ends_on: date(&f.ends_on),
        jitter_secs,
        delete_previous: f.delete_previous.is_some(),
        pin: f.pin.is_some(),
        force: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weekly_builder_writes_cron_and_reads_it_back() {
        let mon_wed_fri = 0b001_0101;
        assert_eq!(
            weekly_cron("09:30", mon_wed_fri).unwrap(),
            "30 9 * * mon,wed,fri"
        );
        assert_eq!(weekly_cron("18:05", 0).unwrap(), "5 18 * * *");
        assert_eq!(weekly_cron("00:00", 0x7f).unwrap(), "0 0 * * *");
        assert!(weekly_cron("25:00", 1).is_err());
        assert_eq!(
            weekly_of("30 9 * * mon,wed,fri"),
            Some(("09:30".to_string(), mon_wed_fri))
        );
        assert_eq!(weekly_of("5 18 * * *"), Some(("18:05".to_string(), 0)));
        assert_eq!(
            weekly_of("5 18 * * sun"),
            Some(("18:05".to_string(), 1 << 6))
        );
        // Anything the builder would not write stays cron.
        for other in [
            "*/15 9-17 * * mon-fri",
            "0 9 1 * *",
            "0 9 * * 1",
            "61 9 * * *",
        ] {
            assert_eq!(weekly_of(other), None, "{other}");
        }
    }
}
