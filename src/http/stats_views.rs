//! The statistics answers as the API shows and documents them. The domain's values
//! (`domain::stats`) stay plain Rust; these carry the OpenAPI schemas, under the same names.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::stats::{activity, campaigns, summary};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ByKind {
    pub text: u64,
    pub media: u64,
    pub service: u64,
}

impl From<activity::ByKind> for ByKind {
    fn from(v: activity::ByKind) -> Self {
        Self {
            text: v.text,
            media: v.media,
            service: v.service,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Point {
    /// `2026-11-28`, or `2026-11-28T14:00` per hour (local time).
    pub at: String,
    pub value: u64,
}

impl From<activity::Point> for Point {
    fn from(v: activity::Point) -> Self {
        Self {
            at: v.at,
            value: v.value,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Messages {
    pub total: u64,
    pub by_kind: ByKind,
    /// Every day (or hour) of the range, zeros included.
    pub series: Vec<Point>,
}

impl From<activity::Messages> for Messages {
    fn from(v: activity::Messages) -> Self {
        Self {
            total: v.total,
            by_kind: v.by_kind.into(),
            series: v.series.into_iter().map(Into::into).collect(),
        }
    }
}

/// Messages by weekday (Monday first) and local hour.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Heatmap {
    /// Seven rows (Monday to Sunday) of 24 hours.
    pub cells: Vec<Vec<u64>>,
}

impl From<activity::Heatmap> for Heatmap {
    fn from(v: activity::Heatmap) -> Self {
        Self { cells: v.cells }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
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

impl From<activity::Users> for Users {
    fn from(v: activity::Users) -> Self {
        Self {
            active: v.active,
            new: v.new,
            daily: v.daily.into_iter().map(Into::into).collect(),
            weekly: v.weekly.into_iter().map(Into::into).collect(),
            monthly: v.monthly.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopUser {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub messages: u64,
}

impl From<activity::TopUser> for TopUser {
    fn from(v: activity::TopUser) -> Self {
        Self {
            user_id: v.user_id,
            first_name: v.first_name,
            last_name: v.last_name,
            username: v.username,
            messages: v.messages,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupCount {
    pub chat_id: i64,
    pub title: String,
    pub messages: u64,
}

impl From<activity::GroupCount> for GroupCount {
    fn from(v: activity::GroupCount) -> Self {
        Self {
            chat_id: v.chat_id,
            title: v.title,
            messages: v.messages,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
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

impl From<activity::UserActivity> for UserActivity {
    fn from(v: activity::UserActivity) -> Self {
        Self {
            user_id: v.user_id,
            first_name: v.first_name,
            last_name: v.last_name,
            username: v.username,
            first_seen: v.first_seen,
            last_seen: v.last_seen,
            messages_all_time: v.messages_all_time,
            messages: v.messages,
            daily: v.daily.into_iter().map(Into::into).collect(),
            by_group: v.by_group.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
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
    /// What the group's rules did (every action in their log).
    pub rule_actions: u64,
}

impl From<activity::GroupActivity> for GroupActivity {
    fn from(v: activity::GroupActivity) -> Self {
        Self {
            chat_id: v.chat_id,
            title: v.title,
            members: v.members,
            messages: v.messages,
            joins: v.joins,
            leaves: v.leaves,
            net: v.net,
            rule_actions: v.rule_actions,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GrowthDay {
    pub at: String,
    /// The last member count known on that day (null before the first one).
    pub members: Option<u32>,
    pub joins: u64,
    pub leaves: u64,
    pub net: i64,
    /// What the group's rules did that day.
    pub rule_actions: u64,
}

impl From<activity::GrowthDay> for GrowthDay {
    fn from(v: activity::GrowthDay) -> Self {
        Self {
            at: v.at,
            members: v.members,
            joins: v.joins,
            leaves: v.leaves,
            net: v.net,
            rule_actions: v.rule_actions,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupGrowth {
    pub chat_id: i64,
    pub title: String,
    pub joins: u64,
    pub leaves: u64,
    pub net: i64,
    pub days: Vec<GrowthDay>,
}

impl From<activity::GroupGrowth> for GroupGrowth {
    fn from(v: activity::GroupGrowth) -> Self {
        Self {
            chat_id: v.chat_id,
            title: v.title,
            joins: v.joins,
            leaves: v.leaves,
            net: v.net,
            days: v.days.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Tally {
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl From<campaigns::Tally> for Tally {
    fn from(v: campaigns::Tally) -> Self {
        Self {
            sent: v.sent,
            failed: v.failed,
            skipped: v.skipped,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CampaignTally {
    pub campaign_id: u64,
    pub name: String,
    #[serde(flatten)]
    pub tally: Tally,
}

impl From<campaigns::CampaignTally> for CampaignTally {
    fn from(v: campaigns::CampaignTally) -> Self {
        Self {
            campaign_id: v.campaign_id,
            name: v.name,
            tally: v.tally.into(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupTally {
    pub chat_id: i64,
    pub title: String,
    #[serde(flatten)]
    pub tally: Tally,
}

impl From<campaigns::GroupTally> for GroupTally {
    fn from(v: campaigns::GroupTally) -> Self {
        Self {
            chat_id: v.chat_id,
            title: v.title,
            tally: v.tally.into(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DayTally {
    pub at: String,
    #[serde(flatten)]
    pub tally: Tally,
}

impl From<campaigns::DayTally> for DayTally {
    fn from(v: campaigns::DayTally) -> Self {
        Self {
            at: v.at,
            tally: v.tally.into(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Deliveries {
    #[serde(flatten)]
    pub total: Tally,
    /// Failed and skipped posts by their code (`forbidden`, `flood_wait`, `no_rights` …).
    pub by_reason: BTreeMap<String, u64>,
    pub by_campaign: Vec<CampaignTally>,
    pub by_group: Vec<GroupTally>,
    pub daily: Vec<DayTally>,
}

impl From<campaigns::Deliveries> for Deliveries {
    fn from(v: campaigns::Deliveries) -> Self {
        Self {
            total: v.total.into(),
            by_reason: v.by_reason,
            by_campaign: v.by_campaign.into_iter().map(Into::into).collect(),
            by_group: v.by_group.into_iter().map(Into::into).collect(),
            daily: v.daily.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
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

impl From<summary::Period> for Period {
    fn from(v: summary::Period) -> Self {
        Self {
            from: v.from,
            to: v.to,
            messages: v.messages,
            active_users: v.active_users,
            new_users: v.new_users,
            joins: v.joins,
            leaves: v.leaves,
            net: v.net,
            top_group: v.top_group.map(Into::into),
            sent: v.sent,
            failed: v.failed,
            skipped: v.skipped,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopGroup {
    pub chat_id: i64,
    pub title: String,
    pub messages: u64,
}

impl From<summary::TopGroup> for TopGroup {
    fn from(v: summary::TopGroup) -> Self {
        Self {
            chat_id: v.chat_id,
            title: v.title,
            messages: v.messages,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Summary {
    pub today: Period,
    pub yesterday: Period,
    /// Monday to today.
    pub this_week: Period,
    /// The whole week before.
    pub last_week: Period,
}

impl From<summary::Summary> for Summary {
    fn from(v: summary::Summary) -> Self {
        Self {
            today: v.today.into(),
            yesterday: v.yesterday.into(),
            this_week: v.this_week.into(),
            last_week: v.last_week.into(),
        }
    }
}
// No doc comment: the schema stays as the API always described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Day,
    Hour,
}

impl From<Interval> for activity::Interval {
    fn from(v: Interval) -> Self {
        match v {
            Interval::Day => activity::Interval::Day,
            Interval::Hour => activity::Interval::Hour,
        }
    }
}
