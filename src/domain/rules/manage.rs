//! Saving, changing and removing a tenant's rules, reading what they did, and the warnings
//! they counted. Every save runs the same checks: the rule's own settings, the templates and
//! the session it names, and (for a rule that runs) the session's rights in its groups.

use botyard_shards::ids::{ChatId, RuleId, SecretId, TemplateId};
use botyard_shards::records::{RuleHitRec, RuleKindRec, RuleRec};
use botyard_shards::{RuleLogFilter, TenantScope, TenantShard, WriteTransaction};

use super::{RULES_MAX, check, check_rights};
use crate::domain::groups::clean_tags;
use crate::error::{AppError, AppResult};

/// Most log entries in one page.
pub const LOG_PAGE_MAX: usize = 500;

/// What a tenant chooses for a rule; the rest (times, pause) is the store's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    pub session: SecretId,
    pub chats: Vec<i64>,
    pub tag: Option<String>,
    pub dry_run: bool,
    pub enabled: bool,
    pub allow_users: Vec<i64>,
    pub kind: RuleKindRec,
}

impl Draft {
    /// The draft a stored rule was saved from.
    pub fn of(rec: &RuleRec) -> Draft {
        Draft {
            name: rec.name.clone(),
            session: SecretId(rec.session),
            chats: rec.chats.clone(),
            tag: rec.tag.clone(),
            dry_run: rec.dry_run,
            enabled: rec.enabled,
            allow_users: rec.allow_users.clone(),
            kind: rec.kind.clone(),
        }
    }
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: field.into(),
        message: message.into(),
    }
}

fn dedup(v: Vec<i64>) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// The templates a rule's replies use.
fn templates_of(kind: &RuleKindRec) -> Vec<u64> {
    match kind {
        RuleKindRec::Welcome { template, .. }
        | RuleKindRec::Goodbye { template, .. }
        | RuleKindRec::AutoReply { template, .. } => vec![*template],
        RuleKindRec::Captcha {
            template: Some(t), ..
        } => vec![*t],
        RuleKindRec::Captcha { template: None, .. }
        | RuleKindRec::AntiFlood { .. }
        | RuleKindRec::Filter { .. } => Vec::new(),
    }
}

/// The rule a draft becomes, checked against what the tenant has now.
fn checked(
    s: &TenantShard<WriteTransaction>,
    d: Draft,
    created_at: i64,
    now: i64,
    paused: Option<String>,
) -> AppResult<RuleRec> {
    let tag = match d.tag.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => clean_tags(&[t.to_string()])?.into_iter().next(),
    };
    let mut rec = RuleRec {
        name: d.name.trim().to_string(),
        session: d.session.0,
        chats: dedup(d.chats),
        tag,
        dry_run: d.dry_run,
        enabled: d.enabled,
        // Saving a rule that runs means its owner has seen why it stopped.
        paused: if d.enabled { None } else { paused },
        allow_users: dedup(d.allow_users),
        kind: d.kind,
        created_at,
        updated_at: now,
    };
    if let RuleKindRec::AutoReply { keywords, .. }
    | RuleKindRec::Filter {
        words: keywords, ..
    } = &mut rec.kind
    {
        let mut seen: Vec<String> = Vec::new();
        for w in keywords.drain(..) {
            let w = w.trim().to_string();
            if !seen.contains(&w) {
                seen.push(w);
            }
        }
        *keywords = seen;
    }
    check(&rec)?;
    if !s.sessions()?.iter().any(|(id, _)| *id == d.session) {
        return Err(invalid(
            "rule.unknown_session",
            "session_id",
            format!("the tenant has no session {}", d.session.0),
        ));
    }
    for t in templates_of(&rec.kind) {
        if s.template(TemplateId(t))?.is_none() {
            return Err(invalid(
                "rule.unknown_template",
                "template_id",
                format!("the tenant has no template {t}"),
            ));
        }
    }
    // A rule that is off may wait for its rights; one that runs must have them.
    if rec.enabled {
        check_rights(s, &rec)?;
    }
    Ok(rec)
}

/// Saves a new rule.
pub fn create(scope: &TenantScope, d: Draft, now: i64) -> AppResult<(RuleId, RuleRec)> {
    scope.shard_write(|s| {
        if s.rules()?.len() >= RULES_MAX {
            return Err(AppError::Conflict {
                code: "rule.limit",
                message: format!("a tenant has at most {RULES_MAX} rules"),
            });
        }
        let rec = checked(s, d, now, now, None)?;
        let id = s.insert_rule(&rec)?;
        Ok((id, rec))
    })
}

/// Changes a rule: `edit` gets the draft it was saved from and changes what the caller asks.
pub fn update(
    scope: &TenantScope,
    id: RuleId,
    edit: impl FnOnce(&mut Draft),
    now: i64,
) -> AppResult<RuleRec> {
    scope.shard_write(|s| {
        let cur = s.rule(id)?.ok_or(AppError::NotFound("rule"))?;
        let mut d = Draft::of(&cur);
        edit(&mut d);
        let rec = checked(s, d, cur.created_at, now, cur.paused)?;
        s.put_rule(id, &rec)?;
        Ok(rec)
    })
}

pub fn delete(scope: &TenantScope, id: RuleId) -> AppResult<()> {
    scope.shard_write(|s| {
        if s.delete_rule(id)? {
            Ok(())
        } else {
            Err(AppError::NotFound("rule"))
        }
    })
}

pub fn get(scope: &TenantScope, id: RuleId) -> AppResult<RuleRec> {
    scope
        .shard_read()?
        .rule(id)?
        .ok_or(AppError::NotFound("rule"))
}

/// A rule with the groups it applies to now.
pub fn list(scope: &TenantScope) -> AppResult<Vec<(RuleId, RuleRec, Vec<ChatId>)>> {
    let s = scope.shard_read()?;
    let groups = s.groups()?;
    Ok(s.rules()?
        .into_iter()
        .map(|(id, r)| {
            let applies = super::groups_in(&groups, &r);
            (id, r, applies)
        })
        .collect())
}

pub fn groups(scope: &TenantScope, rec: &RuleRec) -> AppResult<Vec<ChatId>> {
    Ok(super::groups_of(&scope.shard_read()?, rec)?)
}

/// The rule that uses a template, if one does (a template a rule replies with stays).
pub fn using_template<T: botyard_shards::Reader>(
    s: &TenantShard<T>,
    template: TemplateId,
) -> AppResult<Option<(RuleId, RuleRec)>> {
    Ok(s.rules()?
        .into_iter()
        .find(|(_, r)| templates_of(&r.kind).contains(&template.0)))
}

/// A page of the log, newest first; `limit` is bounded by [`LOG_PAGE_MAX`].
pub fn log(scope: &TenantScope, mut f: RuleLogFilter) -> AppResult<Vec<(u64, RuleHitRec)>> {
    f.limit = f.limit.clamp(1, LOG_PAGE_MAX);
    Ok(scope.shard_read()?.rule_log(&f)?)
}

/// Members of a group with warnings, most first.
pub fn warnings(scope: &TenantScope, chat: ChatId) -> AppResult<Vec<(i64, u32)>> {
    let s = scope.shard_read()?;
    s.group(chat)?.ok_or(AppError::NotFound("group"))?;
    Ok(s.warnings(chat)?)
}

/// Forgets a group's warnings, one member's or everyone's; how many members had some.
pub fn clear_warnings(scope: &TenantScope, chat: ChatId, user: Option<i64>) -> AppResult<usize> {
    scope.shard_write(|s| {
        s.group(chat)?.ok_or(AppError::NotFound("group"))?;
        Ok(s.clear_warnings(chat, user)?)
    })
}
