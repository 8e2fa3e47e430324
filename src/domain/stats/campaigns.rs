//! What the campaigns delivered over a range: sent, failed by reason and skipped, per
//! campaign, per group and per day. A post counts on the local day Telegram answered it; a
//! skipped one on the day its run started.

use std::collections::{BTreeMap, HashMap};

use botyard_shards::ids::{CampaignId, ChatId, Day};
use botyard_shards::records::DeliveryStateRec;
use botyard_shards::{Reader, TenantShard};
use serde::Serialize;

use super::{Range, date_of};
use crate::error::AppResult;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CampaignTally {
    pub campaign_id: u64,
    pub name: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupTally {
    pub chat_id: i64,
    pub title: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayTally {
    pub at: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deliveries {
    #[serde(flatten)]
    pub total: Tally,
    /// Failed and skipped posts by their code (`forbidden`, `flood_wait`, `no_rights` …).
    pub by_reason: BTreeMap<String, u64>,
    pub by_campaign: Vec<CampaignTally>,
    pub by_group: Vec<GroupTally>,
    pub daily: Vec<DayTally>,
}

/// Runs that can have posts in the range started at most this long before it (pending posts
/// are given up after 12 hours).
const RUN_LEAD_SECS: i64 = 2 * 86_400;

pub fn deliveries<T: Reader>(
    s: &TenantShard<T>,
    zone: &jiff::tz::TimeZone,
    r: Range,
    campaign: Option<CampaignId>,
    group: Option<ChatId>,
) -> AppResult<Deliveries> {
    let day_of = |secs: i64| crate::runtime::ingestion::day_hour(zone, secs).0;
    // The earliest instant of the range, minus a margin for the zone and for slow runs.
    let since = i64::from(r.from.0) * 86_400 - RUN_LEAD_SECS;
    let mut total = Tally::default();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_campaign: BTreeMap<CampaignId, (String, Tally)> = BTreeMap::new();
    let mut per_group: BTreeMap<ChatId, Tally> = BTreeMap::new();
    let mut per_day: HashMap<Day, Tally> = HashMap::new();
    for (id, rec) in s.campaigns()? {
        if campaign.is_some_and(|c| c != id) {
            continue;
        }
        per_campaign
            .entry(id)
            .or_insert((rec.name.clone(), Tally::default()));
        for (run, run_rec) in s.runs_started_since(id, since)? {
            for (chat, d) in s.deliveries(id, run)? {
                if group.is_some_and(|g| g != chat) {
                    continue;
                }
                let (day, reason, bump): (Day, Option<&str>, fn(&mut Tally)) = match &d.state {
                    DeliveryStateRec::Pending => continue,
                    DeliveryStateRec::Sent { at_ms, .. } => {
                        (day_of(at_ms.div_euclid(1000)), None, |t| t.sent += 1)
                    }
                    DeliveryStateRec::Failed { code, at_ms } => {
                        (day_of(at_ms.div_euclid(1000)), Some(code), |t| {
                            t.failed += 1
                        })
                    }
                    DeliveryStateRec::Skipped { code } => {
                        (day_of(run_rec.started_at), Some(code), |t| t.skipped += 1)
                    }
                };
                if !r.contains(day) {
                    continue;
                }
                bump(&mut total);
                if let Some((_, t)) = per_campaign.get_mut(&id) {
                    bump(t);
                }
                bump(per_group.entry(chat).or_default());
                bump(per_day.entry(day).or_default());
                if let Some(code) = reason {
                    *by_reason.entry(code.to_string()).or_default() += 1;
                }
            }
        }
    }
    let mut by_group = Vec::new();
    for (chat, tally) in per_group {
        by_group.push(GroupTally {
            chat_id: chat.0,
            title: s.group(chat)?.map(|g| g.title).unwrap_or_default(),
            tally,
        });
    }
    Ok(Deliveries {
        total,
        by_reason,
        by_campaign: per_campaign
            .into_iter()
            .map(|(id, (name, tally))| CampaignTally {
                campaign_id: id.0,
                name,
                tally,
            })
            .collect(),
        by_group,
        daily: r
            .days()
            .map(|d| DayTally {
                at: date_of(d).to_string(),
                tally: per_day.get(&d).cloned().unwrap_or_default(),
            })
            .collect(),
    })
}
