//! Operations on one tenant's rows in its shard file. Every method is bound to the scope's
//! tenant: there is no way to name another tenant's key from here.

use redb::{ReadableTable, WriteTransaction};

use crate::error::Result;
use crate::ids::{ChatId, Day, SecretId, TenantId};
use crate::record::RecBytes;
use crate::records::{GroupKindRec, GroupRec, SessionRec, SettingsRec};
use crate::tables::shard::{COUNTERS, GROUPS, SECRETS, SESSIONS, SETTINGS, TG_USERS, USER_DAYS};

/// What a session's dialog list says about one chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFacts {
    pub chat: ChatId,
    pub title: String,
    pub kind: GroupKindRec,
    pub members: u32,
    pub can_post: bool,
    pub is_admin: bool,
    pub slow_mode_secs: u32,
    /// (delete messages, ban users) when the session is an admin.
    pub rights: (bool, bool),
}

/// What a dialog refresh changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    pub added: u32,
    pub updated: u32,
    /// Chats the session no longer sees (kept, marked not present, automation off).
    pub gone: u32,
    /// Of those, the ones automation used: their id and title.
    pub lost: Vec<(ChatId, String)>,
}
use crate::tx::Reader;

pub struct TenantShard<T> {
    pub(crate) tenant: TenantId,
    pub(crate) tx: T,
}

impl<T: Reader> TenantShard<T> {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn settings(&self) -> Result<Option<SettingsRec>> {
        let t = self.tx.table(SETTINGS)?;
        let v = t.get(self.tenant)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn secret(&self, id: SecretId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tx
            .table(SECRETS)?
            .get((self.tenant, id))?
            .map(|v| v.value().to_vec()))
    }

    pub fn sessions(&self) -> Result<Vec<(SecretId, SessionRec)>> {
        let t = self.tx.table(SESSIONS)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, SecretId::MIN)..=(self.tenant, SecretId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn user_day(&self, chat: ChatId, day: Day, user: i64) -> Result<u64> {
        Ok(self
            .tx
            .table(USER_DAYS)?
            .get((self.tenant, chat, day, user))?
            .map_or(0, |v| v.value()))
    }

    pub fn telegram_user(&self, user: i64) -> Result<Option<crate::records::TgUserRec>> {
        let t = self.tx.table(TG_USERS)?;
        let v = t.get((self.tenant, user))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn groups(&self) -> Result<Vec<(ChatId, GroupRec)>> {
        let t = self.tx.table(GROUPS)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, ChatId::MIN)..=(self.tenant, ChatId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn group(&self, chat: ChatId) -> Result<Option<GroupRec>> {
        let t = self.tx.table(GROUPS)?;
        let v = t.get((self.tenant, chat))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn counter(&self, chat: ChatId, day: Day, metric: u8) -> Result<u64> {
        Ok(self
            .tx
            .table(COUNTERS)?
            .get((self.tenant, chat, day, metric))?
            .map_or(0, |v| v.value()))
    }
}

impl TenantShard<WriteTransaction> {
    pub fn put_settings(&mut self, s: &SettingsRec) -> Result<()> {
        self.tx
            .open_table(SETTINGS)?
            .insert(self.tenant, RecBytes::encode(s)?)?;
        Ok(())
    }

    pub fn put_secret(&mut self, id: SecretId, sealed: &[u8]) -> Result<()> {
        self.tx
            .open_table(SECRETS)?
            .insert((self.tenant, id), sealed)?;
        Ok(())
    }

    /// Adds a session with the next free id and returns the id.
    pub fn insert_session(&mut self, rec: &SessionRec) -> Result<SecretId> {
        let mut t = self.tx.open_table(SESSIONS)?;
        let next = t
            .range((self.tenant, SecretId::MIN)..=(self.tenant, SecretId::MAX))?
            .next_back()
            .transpose()?
            .map_or(1, |(k, _)| k.value().1.0 + 1);
        let id = SecretId(next);
        t.insert((self.tenant, id), RecBytes::encode(rec)?)?;
        Ok(id)
    }

    /// Replaces a session's record; false (and nothing written) when there is none.
    pub fn put_session(&mut self, id: SecretId, rec: &SessionRec) -> Result<bool> {
        let mut t = self.tx.open_table(SESSIONS)?;
        if t.get((self.tenant, id))?.is_none() {
            return Ok(false);
        }
        t.insert((self.tenant, id), RecBytes::encode(rec)?)?;
        Ok(true)
    }

    /// Removes a session and its sealed material; false when there was none.
    pub fn delete_session(&mut self, id: SecretId) -> Result<bool> {
        let had = self
            .tx
            .open_table(SESSIONS)?
            .remove((self.tenant, id))?
            .is_some();
        self.tx.open_table(SECRETS)?.remove((self.tenant, id))?;
        Ok(had)
    }

    /// Stores a Telegram user as seen (an import from another bot; the ingestion writers keep
    /// these up to date as messages come).
    pub fn put_telegram_user(&mut self, user: i64, rec: &crate::records::TgUserRec) -> Result<()> {
        self.tx
            .open_table(TG_USERS)?
            .insert((self.tenant, user), RecBytes::encode(rec)?)?;
        Ok(())
    }

    pub fn put_group(&mut self, chat: ChatId, rec: &GroupRec) -> Result<()> {
        self.tx
            .open_table(GROUPS)?
            .insert((self.tenant, chat), RecBytes::encode(rec)?)?;
        Ok(())
    }

    /// Merges a session's full dialog list: new chats are added with automation off, known
    /// ones take the new facts (from the session that posts there) and keep the tenant's
    /// choices, and a chat this session listed before but no longer does loses it; a chat no
    /// session lists any more is marked gone with automation off.
    pub fn sync_groups(
        &mut self,
        session: u64,
        found: &[GroupFacts],
        now: i64,
    ) -> Result<SyncOutcome> {
        let mut out = SyncOutcome::default();
        let mut seen = std::collections::HashSet::with_capacity(found.len());
        for f in found {
            seen.insert(f.chat);
            let rec = match self.group(f.chat)? {
                Some(old) => {
                    let mut next = old.clone();
                    if !next.seen_by.contains(&session) {
                        next.seen_by.push(session);
                    }
                    next.admin_of.retain(|a| a.session != session);
                    if f.is_admin {
                        next.admin_of.push(admin_of(session, f));
                    }
                    // The posting session's view wins; another session takes over only when
                    // the posting one no longer sees the chat.
                    let posting_here = !old.present
                        || old.session == session
                        || !old.seen_by.contains(&old.session);
                    if posting_here {
                        next.session = session;
                        next.title = f.title.clone();
                        next.kind = f.kind;
                        next.members = f.members;
                        next.can_post = f.can_post;
                        next.is_admin = f.is_admin;
                        next.slow_mode_secs = f.slow_mode_secs;
                    }
                    next.present = true;
                    if next == old {
                        continue;
                    }
                    next.updated_at = now;
                    out.updated += 1;
                    next
                }
                None => {
                    out.added += 1;
                    GroupRec {
                        session,
                        title: f.title.clone(),
                        kind: f.kind,
                        members: f.members,
                        can_post: f.can_post,
                        is_admin: f.is_admin,
                        slow_mode_secs: f.slow_mode_secs,
                        present: true,
                        enabled: false,
                        tags: Vec::new(),
                        discovered_at: now,
                        updated_at: now,
                        seen_by: vec![session],
                        admin_of: if f.is_admin {
                            vec![admin_of(session, f)]
                        } else {
                            Vec::new()
                        },
                    }
                }
            };
            self.put_group(f.chat, &rec)?;
        }
        for (chat, mut rec) in self.groups()? {
            if !rec.seen_by.contains(&session) || seen.contains(&chat) {
                continue;
            }
            rec.seen_by.retain(|s| *s != session);
            rec.admin_of.retain(|a| a.session != session);
            rec.updated_at = now;
            match rec.seen_by.first() {
                None => {
                    out.gone += 1;
                    if rec.enabled {
                        out.lost.push((chat, rec.title.clone()));
                    }
                    rec.present = false;
                    rec.can_post = false;
                    rec.enabled = false;
                }
                Some(other) if rec.session == session => {
                    // Another session still sees it; it posts from now on.
                    rec.session = *other;
                    out.updated += 1;
                }
                Some(_) => out.updated += 1,
            }
            self.put_group(chat, &rec)?;
        }
        Ok(out)
    }

    /// Marks every chat of a removed session as gone.
    pub fn forget_session_groups(&mut self, session: u64, now: i64) -> Result<u32> {
        self.sync_groups(session, &[], now).map(|o| o.gone)
    }

    /// Applies a title or member-count change seen in an update; unknown chats are ignored.
    pub fn chat_changed(
        &mut self,
        chat: ChatId,
        title: Option<&str>,
        members: Option<u32>,
        now: i64,
    ) -> Result<bool> {
        let Some(mut rec) = self.group(chat)? else {
            return Ok(false);
        };
        if let Some(t) = title {
            rec.title = t.to_string();
        }
        if let Some(m) = members {
            rec.members = m;
        }
        rec.updated_at = now;
        self.put_group(chat, &rec)?;
        Ok(true)
    }

    pub fn delete_secret(&mut self, id: SecretId) -> Result<bool> {
        Ok(self
            .tx
            .open_table(SECRETS)?
            .remove((self.tenant, id))?
            .is_some())
    }
}

/// A sealed secret's key and bytes.
type SecretRow = ((TenantId, SecretId), Vec<u8>);

/// Every sealed secret in a shard, for key rotation.
pub(crate) fn all_secrets(tx: &WriteTransaction) -> Result<Vec<SecretRow>> {
    let t = tx.open_table(SECRETS)?;
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        out.push((k.value(), v.value().to_vec()));
    }
    Ok(out)
}

pub(crate) fn put_raw_secret(
    tx: &WriteTransaction,
    key: (TenantId, SecretId),
    sealed: &[u8],
) -> Result<()> {
    tx.open_table(SECRETS)?.insert(key, sealed)?;
    Ok(())
}

fn admin_of(session: u64, f: &GroupFacts) -> crate::records::AdminOfRec {
    crate::records::AdminOfRec {
        session,
        delete_messages: f.rights.0,
        ban_users: f.rights.1,
    }
}

#[cfg(test)]
mod purge_tests {
    use super::*;
    use redb::ReadableDatabase;

    #[test]
    fn purge_keeps_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("s.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(USER_DAYS).unwrap();
            for ten in [2u64, 3, 4] {
                for user in [i64::MIN, -5, 0, 42, i64::MAX] {
                    t.insert((TenantId(ten), ChatId::MIN, Day::MAX, user), 2)
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(SETTINGS).unwrap();
        tx.open_table(SECRETS).unwrap();
        tx.open_table(COUNTERS).unwrap();
        tx.open_table(TG_USERS).unwrap();
        tx.open_table(SESSIONS).unwrap();
        tx.open_table(GROUPS).unwrap();
        crate::moves::purge(&tx, TenantId(3)).unwrap();
        tx.commit().unwrap();
        let rtx = db.begin_read().unwrap();
        let t = rtx.open_table(USER_DAYS).unwrap();
        let keys: Vec<_> = t.iter().unwrap().map(|r| r.unwrap().0.value()).collect();
        assert_eq!(keys.len(), 10, "{keys:?}");
    }
}
