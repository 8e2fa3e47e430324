//! Groups and Telegram users brought over from another bot (the legacy SQLite import of
//! `botyard-migrate`). Keyed by Telegram's own ids, so sending the same rows again changes
//! nothing: a known group keeps the tenant's choices (automation, tags) and takes the new
//! title; a known user keeps the larger message count.

use botyard_shards::TenantScope;
use botyard_shards::ids::{ChatId, SecretId};
use botyard_shards::records::{GroupKindRec, GroupRec, TgUserRec};

use crate::error::{AppError, AppResult};

/// The most rows one call takes.
pub const MAX_ROWS: usize = 5_000;

pub struct GroupIn {
    pub chat_id: i64,
    pub title: String,
    pub kind: GroupKindRec,
    pub enabled: bool,
}

pub struct UserIn {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub messages: u64,
    pub first_seen: Option<i64>,
}

/// What one call did to one kind of row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}

fn check_rows(field: &str, n: usize) -> AppResult<()> {
    if n > MAX_ROWS {
        return Err(AppError::invalid(
            field,
            format!("at most {MAX_ROWS} rows per call; send them in batches"),
        ));
    }
    Ok(())
}

fn clean(field: &str, s: &str, max: usize) -> AppResult<String> {
    let t = s.trim();
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("at most {max} characters, no control characters"),
        ));
    }
    Ok(t.to_string())
}

/// Adds or updates the tenant's groups, posted by `session` (one of the tenant's).
pub fn groups(
    scope: &TenantScope,
    session: SecretId,
    rows: &[GroupIn],
    now: i64,
) -> AppResult<Counts> {
    check_rows("groups", rows.len())?;
    let titles = rows
        .iter()
        .map(|g| {
            if g.chat_id == 0 {
                return Err(AppError::invalid("groups.chat_id", "a Telegram chat id"));
            }
            let t = clean("groups.title", &g.title, 255)?;
            if t.is_empty() {
                return Err(AppError::invalid("groups.title", "a group needs a title"));
            }
            Ok(t)
        })
        .collect::<AppResult<Vec<String>>>()?;
    scope.shard_write(|s| -> AppResult<Counts> {
        if !s.sessions()?.iter().any(|(id, _)| *id == session) {
            return Err(AppError::NotFound("session"));
        }
        let mut c = Counts::default();
        for (g, title) in rows.iter().zip(titles) {
            let chat = ChatId(g.chat_id);
            match s.group(chat)? {
                Some(old) if old.title == title => c.unchanged += 1,
                Some(mut old) => {
                    old.title = title;
                    old.updated_at = now;
                    s.put_group(chat, &old)?;
                    c.updated += 1;
                }
                None => {
                    s.put_group(
                        chat,
                        &GroupRec {
                            session: session.0,
                            title,
                            kind: g.kind,
                            members: 0,
                            can_post: true,
                            is_admin: false,
                            slow_mode_secs: 0,
                            present: true,
                            enabled: g.enabled,
                            tags: vec!["imported".into()],
                            discovered_at: now,
                            updated_at: now,
                            seen_by: vec![session.0],
                            admin_of: Vec::new(),
                        },
                    )?;
                    c.created += 1;
                }
            }
        }
        Ok(c)
    })
}

/// Adds or updates the Telegram users the tenant's groups have seen.
pub fn users(scope: &TenantScope, rows: &[UserIn], now: i64) -> AppResult<Counts> {
    check_rows("users", rows.len())?;
    let mut clean_rows = Vec::with_capacity(rows.len());
    for u in rows {
        if u.user_id <= 0 {
            return Err(AppError::invalid("users.user_id", "a Telegram user id"));
        }
        let opt = |f: &str, v: &Option<String>| -> AppResult<Option<String>> {
            v.as_deref()
                .map(|s| clean(f, s, 64))
                .transpose()
                .map(|s| s.filter(|s| !s.is_empty()))
        };
        clean_rows.push(TgUserRec {
            first_name: clean("users.first_name", &u.first_name, 64)?,
            last_name: opt("users.last_name", &u.last_name)?,
            username: opt("users.username", &u.username)?,
            first_seen: u.first_seen.unwrap_or(now).min(now),
            last_seen: u.first_seen.unwrap_or(now).min(now),
            messages: u.messages,
        });
    }
    scope.shard_write(|s| -> AppResult<Counts> {
        let mut c = Counts::default();
        for (u, rec) in rows.iter().zip(clean_rows) {
            match s.telegram_user(u.user_id)? {
                None => {
                    s.put_telegram_user(u.user_id, &rec)?;
                    c.created += 1;
                }
                Some(old) => {
                    let mut next = old.clone();
                    next.messages = old.messages.max(rec.messages);
                    next.first_seen = old.first_seen.min(rec.first_seen);
                    if next.username.is_none() {
                        next.username = rec.username;
                    }
                    if next.last_name.is_none() {
                        next.last_name = rec.last_name;
                    }
                    if next == old {
                        c.unchanged += 1;
                    } else {
                        s.put_telegram_user(u.user_id, &next)?;
                        c.updated += 1;
                    }
                }
            }
        }
        Ok(c)
    })
}
