//! Group automation rules: save, change, switch to a dry run, remove; what they did; the
//! warnings they counted per group. Every change goes to the tenant's running worker.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::RuleLogFilter;
use botyard_shards::ids::{ChatId, RuleId, SecretId, TenantId};
use botyard_shards::records::{PenaltyRec, RuleHitRec, RuleKindRec, RuleRec, WarnRec};

use crate::clock::rfc3339;
use crate::domain::rules::manage::{self, Draft};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, update_rule, delete_rule))
        .routes(routes!(rule_log))
        .routes(routes!(list_warnings, clear_warnings))
}

/// What a rule does to a member: `{"action":"mute","secs":600}`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PenaltyIo {
    /// Delete the message only.
    Delete,
    /// Delete it and warn the member.
    Warn,
    /// Delete it and keep the member from writing for `secs` (30 s to 366 days).
    Mute { secs: u32 },
    /// Delete it and remove the member (they may join again).
    Kick,
}

impl From<PenaltyIo> for PenaltyRec {
    fn from(p: PenaltyIo) -> Self {
        match p {
            PenaltyIo::Delete => PenaltyRec::Delete,
            PenaltyIo::Warn => PenaltyRec::Warn,
            PenaltyIo::Mute { secs } => PenaltyRec::Mute { secs },
            PenaltyIo::Kick => PenaltyRec::Kick,
        }
    }
}

impl From<PenaltyRec> for PenaltyIo {
    fn from(p: PenaltyRec) -> Self {
        match p {
            PenaltyRec::Delete => PenaltyIo::Delete,
            PenaltyRec::Warn => PenaltyIo::Warn,
            PenaltyRec::Mute { secs } => PenaltyIo::Mute { secs },
            PenaltyRec::Kick => PenaltyIo::Kick,
        }
    }
}

/// Warnings before the member is muted or removed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarnIo {
    /// The warning that escalates (e.g. 3: the third); 0 warns without escalating. At most 20.
    pub limit: u32,
    /// What the `limit`-th warning does: `mute` or `kick`.
    pub then: PenaltyIo,
}

fn warn_in(w: Option<WarnIo>) -> Option<WarnRec> {
    w.map(|w| WarnRec {
        limit: w.limit,
        then: w.then.into(),
    })
}

fn warn_out(w: Option<WarnRec>) -> Option<WarnIo> {
    w.map(|w| WarnIo {
        limit: w.limit,
        then: w.then.into(),
    })
}

fn sixty() -> u32 {
    60
}

fn ninety() -> u32 {
    90
}

/// A rule's kind and its settings, by `type`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleKindIo {
    /// Greets members who join with a template (`{user.mention}`, `{user.first_name}`,
    /// `{group.title}` are filled in). Joins within `gap_secs` of a welcome are greeted together.
    Welcome {
        template_id: u64,
        /// Delete the welcome after this many seconds (0: keep it; at most 7 days).
        #[serde(default)]
        delete_after_secs: u32,
        /// At most one welcome per this many seconds per group (0 to 86,400; default 60).
        #[serde(default = "sixty")]
        gap_secs: u32,
    },
    /// Says goodbye to members who leave.
    Goodbye {
        template_id: u64,
        #[serde(default)]
        delete_after_secs: u32,
    },
    /// Replies to a message with keywords (whole words, any case, Turkish İ/ı included) or
    /// matching a regular expression: give one of `keywords` and `pattern`.
    AutoReply {
        #[serde(default)]
        keywords: Vec<String>,
        /// A regular expression (the `regex` crate's syntax), at most 500 characters.
        pattern: Option<String>,
        template_id: u64,
        /// Seconds before the rule answers again in the same group (at most 86,400).
        #[serde(default)]
        chat_cooldown_secs: u32,
        /// Seconds before it answers the same member again (at most 7 days).
        #[serde(default)]
        user_cooldown_secs: u32,
    },
    /// More than `messages` messages in `window_secs` seconds from one member.
    AntiFlood {
        /// 2 to 100.
        messages: u32,
        /// 1 to 600.
        window_secs: u32,
        penalty: PenaltyIo,
        warn: Option<WarnIo>,
    },
    /// Deletes messages with links, invite links to other chats, forwards from channels or
    /// one of `words` (up to 50).
    Filter {
        #[serde(default)]
        links: bool,
        #[serde(default)]
        invites: bool,
        #[serde(default)]
        channel_forwards: bool,
        #[serde(default)]
        words: Vec<String>,
        warn: Option<WarnIo>,
    },
    /// A new member must press a button within `timeout_secs` (15 to 3,600; default 90) or is
    /// removed; what they write meanwhile is held. Needs a bot that is an admin.
    Captcha {
        /// The question; the built-in one in the tenant's language when absent.
        template_id: Option<u64>,
        #[serde(default = "ninety")]
        timeout_secs: u32,
    },
}

impl From<RuleKindIo> for RuleKindRec {
    fn from(k: RuleKindIo) -> Self {
        match k {
            RuleKindIo::Welcome {
                template_id,
                delete_after_secs,
                gap_secs,
            } => RuleKindRec::Welcome {
                template: template_id,
                delete_after_secs,
                gap_secs,
            },
            RuleKindIo::Goodbye {
                template_id,
                delete_after_secs,
            } => RuleKindRec::Goodbye {
                template: template_id,
                delete_after_secs,
            },
            RuleKindIo::AutoReply {
                keywords,
                pattern,
                template_id,
                chat_cooldown_secs,
                user_cooldown_secs,
            } => RuleKindRec::AutoReply {
                keywords,
                pattern,
                template: template_id,
                chat_cooldown_secs,
                user_cooldown_secs,
            },
            RuleKindIo::AntiFlood {
                messages,
                window_secs,
                penalty,
                warn,
            } => RuleKindRec::AntiFlood {
                messages,
                window_secs,
                penalty: penalty.into(),
                warn: warn_in(warn),
            },
            RuleKindIo::Filter {
                links,
                invites,
                channel_forwards,
                words,
                warn,
            } => RuleKindRec::Filter {
                links,
                invites,
                channel_forwards,
                words,
                warn: warn_in(warn),
            },
            RuleKindIo::Captcha {
                template_id,
                timeout_secs,
            } => RuleKindRec::Captcha {
                template: template_id,
                timeout_secs,
            },
        }
    }
}

impl From<RuleKindRec> for RuleKindIo {
    fn from(k: RuleKindRec) -> Self {
        match k {
            RuleKindRec::Welcome {
                template,
                delete_after_secs,
                gap_secs,
            } => RuleKindIo::Welcome {
                template_id: template,
                delete_after_secs,
                gap_secs,
            },
            RuleKindRec::Goodbye {
                template,
                delete_after_secs,
            } => RuleKindIo::Goodbye {
                template_id: template,
                delete_after_secs,
            },
            RuleKindRec::AutoReply {
                keywords,
                pattern,
                template,
                chat_cooldown_secs,
                user_cooldown_secs,
            } => RuleKindIo::AutoReply {
                keywords,
                pattern,
                template_id: template,
                chat_cooldown_secs,
                user_cooldown_secs,
            },
            RuleKindRec::AntiFlood {
                messages,
                window_secs,
                penalty,
                warn,
            } => RuleKindIo::AntiFlood {
                messages,
                window_secs,
                penalty: penalty.into(),
                warn: warn_out(warn),
            },
            RuleKindRec::Filter {
                links,
                invites,
                channel_forwards,
                words,
                warn,
            } => RuleKindIo::Filter {
                links,
                invites,
                channel_forwards,
                words,
                warn: warn_out(warn),
            },
            RuleKindRec::Captcha {
                template,
                timeout_secs,
            } => RuleKindIo::Captcha {
                template_id: template,
                timeout_secs,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RuleOut {
    pub id: u64,
    pub name: String,
    /// The session that acts.
    pub session_id: u64,
    /// Chosen groups (Telegram chat ids).
    pub chats: Vec<i64>,
    /// Every group with this tag too.
    pub tag: Option<String>,
    /// Only log what the rule would do.
    pub dry_run: bool,
    pub enabled: bool,
    /// Why Telegram refused the rule's last action, which stopped it; saving the rule with
    /// `enabled: true` starts it again.
    pub paused: Option<String>,
    /// Members the rule never acts on (admins never count either).
    pub allow_users: Vec<i64>,
    pub kind: RuleKindIo,
    /// The groups it applies to now: its chosen and tagged groups the session is in.
    pub groups: Vec<i64>,
    pub created_at: String,
    pub updated_at: String,
}

fn rule_out(id: RuleId, r: RuleRec, groups: Vec<ChatId>) -> RuleOut {
    RuleOut {
        id: id.0,
        name: r.name,
        session_id: r.session,
        chats: r.chats,
        tag: r.tag,
        dry_run: r.dry_run,
        enabled: r.enabled,
        paused: r.paused,
        allow_users: r.allow_users,
        kind: r.kind.into(),
        groups: groups.into_iter().map(|c| c.0).collect(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    /// 1–80 characters.
    pub name: String,
    /// The session that acts: a bot, or a user account, with the rights the rule needs.
    pub session_id: u64,
    /// Groups by Telegram chat id (up to 500) …
    #[serde(default)]
    pub chats: Vec<i64>,
    /// … and/or every enabled group with this tag.
    pub tag: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Telegram user ids the rule leaves alone (up to 100).
    #[serde(default)]
    pub allow_users: Vec<i64>,
    pub kind: RuleKindIo,
}

/// Pushes the tenant's rules to its running worker; a worker that starts later reads them.
async fn push(st: &Shared, tenant: TenantId) {
    st.supervisor.push_rules(tenant).await;
}

/// The tenant's rules, oldest first, with the groups each applies to now.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/rules", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<RuleOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_rules(t: TenantCtx) -> AppResult<Json<Vec<RuleOut>>> {
    let all = blocking(move || manage::list(&t.scope)).await?;
    Ok(Json(
        all.into_iter()
            .map(|(id, r, g)| rule_out(id, r, g))
            .collect(),
    ))
}

/// Saves a rule. Refused (422) when a setting is out of bounds, or when the session lacks
/// what the rule needs in one of its groups (the message says what, where).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/rules", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id")),
    request_body = RuleIn,
    responses((status = 201, body = RuleOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn create_rule(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<RuleIn>,
) -> AppResult<(StatusCode, Json<RuleOut>)> {
    let draft = Draft {
        name: b.name,
        session: SecretId(b.session_id),
        chats: b.chats,
        tag: b.tag,
        dry_run: b.dry_run,
        enabled: b.enabled,
        allow_users: b.allow_users,
        kind: b.kind.into(),
    };
    let (tenant, now) = (t.scope.tenant_id(), st.now());
    let scope = t.scope;
    let (id, rec, groups) = blocking(move || {
        let (id, rec) = manage::create(&scope, draft, now)?;
        let groups = manage::groups(&scope, &rec)?;
        Ok((id, rec, groups))
    })
    .await?;
    push(&st, tenant).await;
    Ok((StatusCode::CREATED, Json(rule_out(id, rec, groups))))
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/rules/{rule_id}", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id"), ("rule_id" = u64, Path, description = "Rule id")),
    responses((status = 200, body = RuleOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_rule(t: TenantCtx, ApiPath(ids): ApiPath<(u64, u64)>) -> AppResult<Json<RuleOut>> {
    let id = RuleId(ids.1);
    let (rec, groups) = blocking(move || {
        let rec = manage::get(&t.scope, id)?;
        let groups = manage::groups(&t.scope, &rec)?;
        Ok((rec, groups))
    })
    .await?;
    Ok(Json(rule_out(id, rec, groups)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    pub name: Option<String>,
    pub session_id: Option<u64>,
    pub chats: Option<Vec<i64>>,
    pub tag: Option<String>,
    /// Drop the tag (the rule keeps its chosen groups).
    #[serde(default)]
    pub remove_tag: bool,
    /// Switch between acting and only logging what it would do.
    pub dry_run: Option<bool>,
    /// `true` also starts a rule Telegram paused, once its checks pass again.
    pub enabled: Option<bool>,
    pub allow_users: Option<Vec<i64>>,
    /// Replaces the kind and its settings.
    pub kind: Option<RuleKindIo>,
}

/// Changes a rule; the result is checked as a new one is. A rule that is switched off is
/// saved without its rights being checked.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/rules/{rule_id}", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id"), ("rule_id" = u64, Path, description = "Rule id")),
    request_body = RulePatch,
    responses((status = 200, body = RuleOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_rule(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<RulePatch>,
) -> AppResult<Json<RuleOut>> {
    if b.remove_tag && b.tag.is_some() {
        return Err(AppError::invalid("tag", "give tag or remove_tag, not both"));
    }
    let id = RuleId(ids.1);
    let (tenant, now) = (t.scope.tenant_id(), st.now());
    let scope = t.scope;
    let (rec, groups) = blocking(move || {
        let rec = manage::update(
            &scope,
            id,
            |d| {
                if let Some(v) = b.name {
                    d.name = v;
                }
                if let Some(v) = b.session_id {
                    d.session = SecretId(v);
                }
                if let Some(v) = b.chats {
                    d.chats = v;
                }
                if b.remove_tag {
                    d.tag = None;
                } else if let Some(v) = b.tag {
                    d.tag = Some(v);
                }
                if let Some(v) = b.dry_run {
                    d.dry_run = v;
                }
                if let Some(v) = b.enabled {
                    d.enabled = v;
                }
                if let Some(v) = b.allow_users {
                    d.allow_users = v;
                }
                if let Some(v) = b.kind {
                    d.kind = v.into();
                }
            },
            now,
        )?;
        let groups = manage::groups(&scope, &rec)?;
        Ok((rec, groups))
    })
    .await?;
    push(&st, tenant).await;
    Ok(Json(rule_out(id, rec, groups)))
}

/// Removes a rule; its log entries stay until newer ones replace them.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/rules/{rule_id}", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id"), ("rule_id" = u64, Path, description = "Rule id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn delete_rule(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    let id = RuleId(ids.1);
    let tenant = t.scope.tenant_id();
    let scope = t.scope;
    blocking(move || manage::delete(&scope, id)).await?;
    push(&st, tenant).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    pub rule_id: Option<u64>,
    pub chat_id: Option<i64>,
    /// The member (Telegram user id) the rule acted on.
    pub user_id: Option<i64>,
    /// Entries older than this `seq` (the previous page's `next_before`).
    pub before: Option<u64>,
    /// 1 to 500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleHitOut {
    /// The entry's place in the log; newer entries have larger numbers.
    pub seq: u64,
    pub rule_id: u64,
    pub chat_id: i64,
    pub user_id: Option<i64>,
    pub message_id: Option<i64>,
    /// `welcomed`, `said_goodbye`, `replied`, `deleted`, `warned`, `muted`, `kicked`,
    /// `captcha_sent`, `captcha_passed`, `captcha_failed`, `held` (a message kept until the
    /// captcha is answered), `failed` (Telegram refused; the rule is paused).
    pub action: String,
    /// What the rule would have done: it was in a dry run.
    pub dry_run: bool,
    pub at: String,
    pub detail: String,
}

#[derive(Serialize, ToSchema)]
pub struct RuleLogPage {
    pub entries: Vec<RuleHitOut>,
    /// Pass as `before` for the next (older) page; absent on the last one.
    pub next_before: Option<u64>,
}

fn hit_out(seq: u64, h: RuleHitRec) -> RuleHitOut {
    RuleHitOut {
        seq,
        rule_id: h.rule,
        chat_id: h.chat,
        user_id: h.user,
        message_id: h.message,
        action: h.kind,
        dry_run: h.dry_run,
        at: rfc3339(h.at),
        detail: h.detail,
    }
}

/// What the tenant's rules did (and, in dry runs, would have done), newest first; the newest
/// 20,000 entries are kept.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/rule-log", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id"), LogQuery),
    responses((status = 200, body = RuleLogPage), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn rule_log(t: TenantCtx, ApiQuery(q): ApiQuery<LogQuery>) -> AppResult<Json<RuleLogPage>> {
    let limit = q.limit.unwrap_or(100) as usize;
    if limit == 0 || limit > manage::LOG_PAGE_MAX {
        return Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: format!("limit is 1 to {}", manage::LOG_PAGE_MAX),
        });
    }
    let filter = RuleLogFilter {
        rule: q.rule_id,
        chat: q.chat_id,
        user: q.user_id,
        before: q.before,
        limit,
    };
    let rows = blocking(move || manage::log(&t.scope, filter)).await?;
    let next_before = (rows.len() == limit)
        .then(|| rows.last().map(|(seq, _)| *seq))
        .flatten();
    Ok(Json(RuleLogPage {
        entries: rows.into_iter().map(|(s, h)| hit_out(s, h)).collect(),
        next_before,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct WarningOut {
    pub user_id: i64,
    pub warnings: u32,
}

/// Members of a group with warnings from the rules, most first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/groups/{chat_id}/warnings", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id"), ("chat_id" = i64, Path, description = "Telegram chat id")),
    responses((status = 200, body = Vec<WarningOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_warnings(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, i64)>,
) -> AppResult<Json<Vec<WarningOut>>> {
    let chat = ChatId(ids.1);
    let rows = blocking(move || manage::warnings(&t.scope, chat)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(user_id, warnings)| WarningOut { user_id, warnings })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClearQuery {
    /// Only this member's warnings (default: everyone's in the group).
    pub user_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Cleared {
    /// Members whose warnings were cleared.
    pub cleared: usize,
}

/// Clears a group's warnings: one member's, or everyone's. The count starts again from zero.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/groups/{chat_id}/warnings", tag = "rules",
    params(("id" = u64, Path, description = "Tenant id"), ("chat_id" = i64, Path, description = "Telegram chat id"), ClearQuery),
    responses((status = 200, body = Cleared), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn clear_warnings(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, i64)>,
    ApiQuery(q): ApiQuery<ClearQuery>,
) -> AppResult<Json<Cleared>> {
    let chat = ChatId(ids.1);
    let tenant = t.scope.tenant_id();
    let scope = t.scope;
    let cleared = blocking(move || manage::clear_warnings(&scope, chat, q.user_id)).await?;
    // The worker counts from what the store says now.
    push(&st, tenant).await;
    Ok(Json(Cleared { cleared }))
}
