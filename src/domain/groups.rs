//! The tenant's groups: chats discovered from its sessions' dialogs, chosen for automation and
//! tagged by the tenant. Plain functions over a `TenantScope`.

use botyard_shards::ids::ChatId;
use botyard_shards::records::{GroupKindRec, GroupRec};
use botyard_shards::{GroupFacts, Store, StoreError, SyncOutcome, TenantScope, search_fold};

use crate::error::{AppError, AppResult};
use crate::worker::telegram::{ChatKind, Dialog};

pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 32;
/// Longest title kept from Telegram (its own limit is 128 characters).
const TITLE_MAX_CHARS: usize = 255;
/// Most dialogs taken from one report of a worker.
pub const DIALOGS_MAX: usize = 5_000;

/// Turns a worker's dialog list into group facts, bounded whatever the worker sent.
pub fn facts(dialogs: &[Dialog]) -> Vec<GroupFacts> {
    dialogs
        .iter()
        .take(DIALOGS_MAX)
        .map(|d| GroupFacts {
            chat: ChatId(d.chat_id),
            title: d
                .title
                .chars()
                .filter(|c| !c.is_control())
                .take(TITLE_MAX_CHARS)
                .collect(),
            kind: match d.kind {
                ChatKind::Group => GroupKindRec::Group,
                ChatKind::Supergroup => GroupKindRec::Supergroup,
                ChatKind::Channel => GroupKindRec::Channel,
            },
            members: d.members,
            can_post: d.can_post,
            is_admin: d.is_admin,
            slow_mode_secs: d.slow_mode_secs,
            rights: (d.rights.delete_messages, d.rights.ban_users),
        })
        .collect()
}

/// Stores what a worker's session reported as its dialogs (called by the supervisor).
pub fn store_dialogs(
    store: &Store,
    tenant: botyard_shards::ids::TenantId,
    session: u64,
    dialogs: &[Dialog],
    now: i64,
) -> Result<SyncOutcome, StoreError> {
    let scope = store.supervisor_scope(tenant)?;
    let f = facts(dialogs);
    // In the same transaction: a session removed while its worker was reporting must not
    // bring its chats back.
    scope.shard_write(|s| {
        if !s.sessions()?.iter().any(|(id, _)| id.0 == session) {
            return Ok(SyncOutcome::default());
        }
        let out = s.sync_groups(session, &f, now)?;
        // Each listing is a point of the member-count history.
        let day = local_day(s, now)?;
        for g in &f {
            s.put_member_count(g.chat, day, g.members)?;
        }
        Ok(out)
    })
}

/// Title and member-count changes seen in updates.
pub fn store_chat_changes(
    store: &Store,
    tenant: botyard_shards::ids::TenantId,
    changes: &[(i64, Option<String>, Option<u32>)],
    now: i64,
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let scope = store.supervisor_scope(tenant)?;
    scope.shard_write(|s| {
        for (chat, title, members) in changes {
            let title = title.as_deref().map(|t| {
                t.chars()
                    .filter(|c| !c.is_control())
                    .take(TITLE_MAX_CHARS)
                    .collect::<String>()
            });
            let known = s.chat_changed(ChatId(*chat), title.as_deref(), *members, now)?;
            if let (true, Some(m)) = (known, members) {
                let day = local_day(s, now)?;
                s.put_member_count(ChatId(*chat), day, *m)?;
            }
        }
        Ok(())
    })
}

/// Today in the tenant's zone.
fn local_day<T: botyard_shards::Reader>(
    s: &botyard_shards::TenantShard<T>,
    now: i64,
) -> Result<botyard_shards::ids::Day, StoreError> {
    let zone = s.settings()?.map_or(jiff::tz::TimeZone::UTC, |st| {
        crate::domain::tenancy::zone(&st)
    });
    Ok(crate::runtime::ingestion::day_hour(&zone, now).0)
}

/// Filters of the group list; every one that is set must match.
#[derive(Debug, Default, Clone)]
pub struct GroupFilter {
    pub enabled: Option<bool>,
    pub can_post: Option<bool>,
    pub present: Option<bool>,
    pub kind: Option<GroupKindRec>,
    pub tag: Option<String>,
    pub session: Option<u64>,
    /// Part of the title, matched without case (Turkish dotted and dotless i alike).
    pub q: Option<String>,
}

impl GroupFilter {
    pub fn matches(&self, g: &GroupRec) -> bool {
        self.enabled.is_none_or(|e| g.enabled == e)
            && self.can_post.is_none_or(|c| g.can_post == c)
            && self.present.is_none_or(|p| g.present == p)
            && self.kind.is_none_or(|k| g.kind == k)
            && self.session.is_none_or(|s| g.session == s)
            && self
                .tag
                .as_ref()
                .is_none_or(|t| g.tags.iter().any(|x| x == t))
            && self
                .q
                .as_ref()
                .is_none_or(|q| search_fold(&g.title).contains(&search_fold(q)))
    }
}

/// Asks the tenant's worker to list its sessions' chats again; the list updates when it
/// answers (usually within a second).
pub fn refresh(st: &crate::state::AppState, scope: &TenantScope) -> AppResult<()> {
    use crate::runtime::supervisor::RefreshRefused;
    match st.supervisor.refresh_dialogs(scope.tenant_id()) {
        Ok(()) => Ok(()),
        Err(RefreshRefused::TooSoon(secs)) => Err(AppError::Conflict {
            code: "groups.refresh_too_soon",
            message: format!(
                "the groups were refreshed moments ago; try again in {secs} s (each refresh asks Telegram for every session's chats)"
            ),
        }),
        Err(RefreshRefused::NotRunning) => Err(AppError::Conflict {
            code: "worker.not_running",
            message:
                "the tenant's worker is not running; connect a session or wait for it to start"
                    .into(),
        }),
    }
}

pub fn list(scope: &TenantScope, filter: &GroupFilter) -> AppResult<Vec<(ChatId, GroupRec)>> {
    let mut all = scope.shard_read()?.groups()?;
    all.retain(|(_, g)| filter.matches(g));
    // Most members first, the way a shop owner looks for her big groups.
    all.sort_by(|a, b| b.1.members.cmp(&a.1.members).then(a.0.cmp(&b.0)));
    Ok(all)
}

pub fn get(scope: &TenantScope, chat: ChatId) -> AppResult<GroupRec> {
    scope
        .shard_read()?
        .group(chat)?
        .ok_or(AppError::NotFound("group"))
}

/// Trims, lower-cases and de-duplicates tags: 1–32 characters of letters, digits, `-` and `_`,
/// at most 20.
pub fn clean_tags(tags: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = search_fold(t.trim());
        let n = t.chars().count();
        if n == 0 || n > TAG_MAX_CHARS {
            return Err(AppError::Invalid {
                code: "group.tag",
                field: "tags".into(),
                message: format!("a tag has 1 to {TAG_MAX_CHARS} characters; `{t}` has {n}"),
            });
        }
        if !t
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AppError::Invalid {
                code: "group.tag",
                field: "tags".into(),
                message: format!("tag `{t}`: use letters, digits, `-` and `_` only"),
            });
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > TAGS_MAX {
        return Err(AppError::Invalid {
            code: "group.tag",
            field: "tags".into(),
            message: format!("at most {TAGS_MAX} tags, got {}", out.len()),
        });
    }
    Ok(out)
}

/// A change the tenant makes to one group.
#[derive(Debug, Default)]
pub struct GroupPatch {
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
}

/// Applies a patch in one transaction; enabling checks the chat is still there and the plan's
/// group limit.
pub fn update(
    scope: &TenantScope,
    plan_limit: Option<u32>,
    chat: ChatId,
    patch: GroupPatch,
    now: i64,
) -> AppResult<GroupRec> {
    let tags = patch.tags.as_deref().map(clean_tags).transpose()?;
    scope.shard_write(|s| -> AppResult<GroupRec> {
        let mut g = s.group(chat)?.ok_or(AppError::NotFound("group"))?;
        if let Some(enable) = patch.enabled {
            if enable && !g.enabled {
                if !g.present {
                    return Err(AppError::Conflict {
                        code: "group.gone",
                        message: "no session of this tenant is in this chat any more".into(),
                    });
                }
                if let Some(limit) = plan_limit {
                    let on = s.groups()?.iter().filter(|(_, g)| g.enabled).count();
                    if on >= limit as usize {
                        return Err(AppError::Conflict {
                            code: "plan.group_limit",
                            message: format!(
                                "the plan allows {limit} groups for automation; turn one off or change plan"
                            ),
                        });
                    }
                }
            }
            g.enabled = enable;
        }
        if let Some(tags) = tags {
            g.tags = tags;
        }
        g.updated_at = now;
        s.put_group(chat, &g)?;
        Ok(g)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_folded_deduplicated_and_bounded() {
        let t = clean_tags(&["İstanbul".into(), " istanbul ".into(), "çay_2".into()]).unwrap();
        assert_eq!(t, vec!["istanbul".to_string(), "çay_2".into()]);
        assert_eq!(clean_tags(&["".into()]).unwrap_err().code(), "group.tag");
        assert_eq!(clean_tags(&["a b".into()]).unwrap_err().code(), "group.tag");
        assert_eq!(
            clean_tags(&["x".repeat(33)]).unwrap_err().code(),
            "group.tag"
        );
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(clean_tags(&many).unwrap_err().code(), "group.tag");
    }

    #[test]
    fn hostile_dialogs_are_bounded() {
        let d = Dialog {
            chat_id: -1,
            title: format!("a\u{0}b{}", "x".repeat(1000)),
            kind: ChatKind::Group,
            members: 1,
            can_post: true,
            is_admin: false,
            rights: Default::default(),
            slow_mode_secs: 0,
        };
        let many = vec![d; DIALOGS_MAX + 10];
        let f = facts(&many);
        assert_eq!(f.len(), DIALOGS_MAX);
        assert_eq!(f[0].title.chars().count(), TITLE_MAX_CHARS);
        assert!(f[0].title.starts_with("abx"));
    }
}
