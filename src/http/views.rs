//! API types shared by several route modules, and their mapping from stored records.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use botyard_shards::ids::TenantId;
use botyard_shards::records::{self, PlanLimits, TenantRec, TenantStatus};

use crate::clock::rfc3339;

/// A role in a tenant (see API.md, "Roles"): `owner` runs the tenant, `editor` manages its
/// content and campaigns, `viewer` reads. `member`, the old name of `viewer`, is accepted.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Editor,
    #[serde(alias = "member")]
    Viewer,
}

pub fn role_view(r: records::Role) -> Role {
    match r {
        records::Role::Owner => Role::Owner,
        records::Role::Editor => Role::Editor,
        records::Role::Viewer => Role::Viewer,
    }
}

pub fn role_rec(r: Role) -> records::Role {
    match r {
        Role::Owner => records::Role::Owner,
        Role::Editor => records::Role::Editor,
        Role::Viewer => records::Role::Viewer,
    }
}

#[derive(Serialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Suspended,
}

#[derive(Serialize, ToSchema)]
pub struct TenantOut {
    pub id: u64,
    pub name: String,
    pub status: Status,
    pub plan_id: Option<u64>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

pub fn tenant_view(id: TenantId, t: &TenantRec) -> TenantOut {
    TenantOut {
        id: id.0,
        name: t.name.clone(),
        status: match t.status {
            TenantStatus::Active => Status::Active,
            TenantStatus::Suspended => Status::Suspended,
        },
        plan_id: t.plan.map(|p| p.0),
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
    }
}

/// Limits a plan grants.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Telegram sessions (bots and user accounts).
    pub sessions: u32,
    /// Groups the tenant may manage.
    pub groups: u32,
    pub templates: u32,
    pub campaigns: u32,
    pub sends_per_day: u32,
    /// Days of detailed statistics kept.
    pub retention_days: u32,
    /// Memory cap of the tenant's worker process, in MiB.
    pub worker_memory_mb: u32,
    /// Largest media file a template may carry, in MiB (default 10).
    #[serde(default = "default_media_mb")]
    pub media_mb: u32,
    /// Incoming Telegram events per second the tenant's worker may record (default 200);
    /// more are dropped and counted in `/metrics` and the worker's status.
    #[serde(default = "default_events_per_sec")]
    pub events_per_sec: u32,
    /// Shortest time between two runs of a campaign, in minutes, for every kind of schedule
    /// (default 10).
    #[serde(default = "default_min_interval_mins")]
    pub min_interval_mins: u32,
}

fn default_media_mb() -> u32 {
    botyard_shards::records::DEFAULT_MEDIA_MB
}

fn default_events_per_sec() -> u32 {
    botyard_shards::records::DEFAULT_EVENTS_PER_SEC
}

fn default_min_interval_mins() -> u32 {
    botyard_shards::records::DEFAULT_MIN_INTERVAL_MINS
}

pub fn limits_view(l: &PlanLimits) -> Limits {
    Limits {
        sessions: l.sessions,
        groups: l.groups,
        templates: l.templates,
        campaigns: l.campaigns,
        sends_per_day: l.sends_per_day,
        retention_days: l.retention_days,
        worker_memory_mb: l.worker_memory_mb,
        media_mb: l.media_mb,
        events_per_sec: l.events_per_sec,
        min_interval_mins: l.min_interval_mins,
    }
}

pub fn limits_rec(l: &Limits) -> PlanLimits {
    PlanLimits {
        sessions: l.sessions,
        groups: l.groups,
        templates: l.templates,
        campaigns: l.campaigns,
        sends_per_day: l.sends_per_day,
        retention_days: l.retention_days,
        worker_memory_mb: l.worker_memory_mb,
        media_mb: l.media_mb,
        events_per_sec: l.events_per_sec,
        min_interval_mins: l.min_interval_mins,
    }
}
