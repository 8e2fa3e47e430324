//! Statistics rows of one tenant: reading counters, per-user days, member-count history and
//! Telegram users over a range of days, and pruning old rows in small batches.

use redb::{ReadableTable, WriteTransaction};

use crate::error::Result;
use crate::ids::{ChatId, Day};
use crate::record::RecBytes;
use crate::records::TgUserRec;
use crate::shard::TenantShard;
use crate::tables::shard::{COUNTERS, MEMBER_COUNTS, TG_USERS, USER_DAYS};
use crate::tx::Reader;

/// The last member count before a range, and the counts by day inside it.
pub type MemberHistory = (Option<u32>, Vec<(Day, u32)>);

impl<T: Reader> TenantShard<T> {
    /// Chats that have counters, in id order (found by seeking, one lookup per chat).
    pub fn counter_chats(&self) -> Result<Vec<ChatId>> {
        let t = self.tx.table(COUNTERS)?;
        let mut out = Vec::new();
        let mut from = ChatId::MIN;
        loop {
            let mut r = t.range(
                (self.tenant, from, Day::MIN, 0)..=(self.tenant, ChatId::MAX, Day::MAX, u8::MAX),
            )?;
            let Some(row) = r.next() else { break };
            let chat = row?.0.value().1;
            out.push(chat);
            match chat.0.checked_add(1) {
                Some(next) => from = ChatId(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// Every counter of `chat` from day `from` to day `to` (inclusive): (day, metric, count).
    pub fn counters_in(
        &self,
        chat: ChatId,
        from: Day,
        to: Day,
        mut f: impl FnMut(Day, u8, u64),
    ) -> Result<()> {
        let t = self.tx.table(COUNTERS)?;
        for row in t.range((self.tenant, chat, from, 0)..=(self.tenant, chat, to, u8::MAX))? {
            let (k, v) = row?;
            let (_, _, day, metric) = k.value();
            f(day, metric, v.value());
        }
        Ok(())
    }

    /// Every per-user day of `chat` from `from` to `to` (inclusive): (day, user, messages).
    pub fn user_days_in(
        &self,
        chat: ChatId,
        from: Day,
        to: Day,
        mut f: impl FnMut(Day, i64, u64),
    ) -> Result<()> {
        let t = self.tx.table(USER_DAYS)?;
        for row in
            t.range((self.tenant, chat, from, i64::MIN)..=(self.tenant, chat, to, i64::MAX))?
        {
            let (k, v) = row?;
            let (_, _, day, user) = k.value();
            f(day, user, v.value());
        }
        Ok(())
    }

    /// Every Telegram user seen in the tenant's chats.
    pub fn telegram_users(&self, mut f: impl FnMut(i64, TgUserRec)) -> Result<()> {
        let t = self.tx.table(TG_USERS)?;
        for row in t.range((self.tenant, i64::MIN)..=(self.tenant, i64::MAX))? {
            let (k, v) = row?;
            f(k.value().1, v.value().decode()?);
        }
        Ok(())
    }

    /// Member counts of `chat` by day from `from` to `to`, plus the last one before `from`.
    pub fn member_counts(&self, chat: ChatId, from: Day, to: Day) -> Result<MemberHistory> {
        let t = self.tx.table(MEMBER_COUNTS)?;
        let before = t
            .range((self.tenant, chat, Day::MIN)..(self.tenant, chat, from))?
            .next_back()
            .transpose()?
            .map(|(_, v)| v.value());
        let mut out = Vec::new();
        for row in t.range((self.tenant, chat, from)..=(self.tenant, chat, to))? {
            let (k, v) = row?;
            out.push((k.value().2, v.value()));
        }
        Ok((before, out))
    }

    /// Per-user day rows older than `before`, counted (what a pruning run would drop).
    pub fn user_days_before(&self, before: Day) -> Result<u64> {
        let t = self.tx.table(USER_DAYS)?;
        let mut n = 0;
        for chat in self.user_day_chats()? {
            n += t
                .range(
                    (self.tenant, chat, Day::MIN, i64::MIN)..(self.tenant, chat, before, i64::MIN),
                )?
                .count() as u64;
        }
        Ok(n)
    }

    /// The oldest per-user day kept.
    pub fn oldest_user_day(&self) -> Result<Option<Day>> {
        let t = self.tx.table(USER_DAYS)?;
        let mut oldest: Option<Day> = None;
        for chat in self.user_day_chats()? {
            if let Some(row) = t
                .range(
                    (self.tenant, chat, Day::MIN, i64::MIN)
                        ..=(self.tenant, chat, Day::MAX, i64::MAX),
                )?
                .next()
            {
                let d = row?.0.value().2;
                oldest = Some(oldest.map_or(d, |o| o.min(d)));
            }
        }
        Ok(oldest)
    }

    fn user_day_chats(&self) -> Result<Vec<ChatId>> {
        let t = self.tx.table(USER_DAYS)?;
        let mut out = Vec::new();
        let mut from = ChatId::MIN;
        loop {
            let mut r = t.range(
                (self.tenant, from, Day::MIN, i64::MIN)
                    ..=(self.tenant, ChatId::MAX, Day::MAX, i64::MAX),
            )?;
            let Some(row) = r.next() else { break };
            let chat = row?.0.value().1;
            out.push(chat);
            match chat.0.checked_add(1) {
                Some(next) => from = ChatId(next),
                None => break,
            }
        }
        Ok(out)
    }
}

impl TenantShard<WriteTransaction> {
    /// Records `chat`'s member count on `day` (the day's last value wins).
    pub fn put_member_count(&mut self, chat: ChatId, day: Day, members: u32) -> Result<()> {
        self.tx
            .open_table(MEMBER_COUNTS)?
            .insert((self.tenant, chat, day), members)?;
        Ok(())
    }

    /// Removes up to `limit` Telegram users last seen before `before` (Unix seconds): who
    /// they were is per-user data, kept only as long as the plan says.
    pub fn prune_telegram_users(&mut self, before: i64, limit: usize) -> Result<usize> {
        let mut keys = Vec::new();
        {
            let t = self.tx.open_table(TG_USERS)?;
            for row in t.range((self.tenant, i64::MIN)..=(self.tenant, i64::MAX))? {
                if keys.len() >= limit {
                    break;
                }
                let (k, v) = row?;
                let u: TgUserRec = v.value().decode()?;
                if u.last_seen < before {
                    keys.push(k.value());
                }
            }
        }
        let mut t = self.tx.open_table(TG_USERS)?;
        for k in &keys {
            t.remove(k)?;
        }
        Ok(keys.len())
    }

    /// Removes up to `limit` per-user day rows older than `before`; returns how many went.
    pub fn prune_user_days(&mut self, before: Day, limit: usize) -> Result<usize> {
        let chats = self.user_day_chats()?;
        let mut keys = Vec::new();
        {
            let t = self.tx.open_table(USER_DAYS)?;
            for chat in chats {
                for row in t.range(
                    (self.tenant, chat, Day::MIN, i64::MIN)..(self.tenant, chat, before, i64::MIN),
                )? {
                    if keys.len() >= limit {
                        break;
                    }
                    keys.push(row?.0.value());
                }
            }
        }
        let mut t = self.tx.open_table(USER_DAYS)?;
        for k in &keys {
            t.remove(k)?;
        }
        Ok(keys.len())
    }

    /// Removes up to `limit` counter and member-count rows older than `before`.
    pub fn prune_counters(&mut self, before: Day, limit: usize) -> Result<usize> {
        let chats = self.counter_chats()?;
        let mut keys = Vec::new();
        {
            let t = self.tx.open_table(COUNTERS)?;
            for chat in chats {
                for row in
                    t.range((self.tenant, chat, Day::MIN, 0)..(self.tenant, chat, before, 0))?
                {
                    if keys.len() >= limit {
                        break;
                    }
                    keys.push(row?.0.value());
                }
            }
        }
        // Member counts older than `before`, except each chat's newest one: the growth
        // chart carries it forward until the next count.
        let mut members = Vec::new();
        {
            let t = self.tx.open_table(MEMBER_COUNTS)?;
            let mut old: Vec<(crate::ids::TenantId, ChatId, Day)> = Vec::new();
            for row in t.range(
                (self.tenant, ChatId::MIN, Day::MIN)..=(self.tenant, ChatId::MAX, Day::MAX),
            )? {
                let k = row?.0.value();
                if k.2 < before {
                    old.push(k);
                }
            }
            for (i, k) in old.iter().enumerate() {
                let newest_of_chat = old.get(i + 1).is_none_or(|n| n.1 != k.1);
                if newest_of_chat {
                    continue;
                }
                if keys.len() + members.len() >= limit {
                    break;
                }
                members.push(*k);
            }
        }
        let mut t = self.tx.open_table(COUNTERS)?;
        for k in &keys {
            t.remove(k)?;
        }
        let mut t = self.tx.open_table(MEMBER_COUNTS)?;
        for k in &members {
            t.remove(k)?;
        }
        Ok(keys.len() + members.len())
    }
}

impl<T: Reader> TenantShard<T> {
    /// A campaign's runs started at or after `since`, newest first (run numbers follow start
    /// times, so the walk stops at the first older one).
    pub fn runs_started_since(
        &self,
        id: crate::ids::CampaignId,
        since: i64,
    ) -> Result<Vec<(u32, crate::records::RunRec)>> {
        let t = self.tx.table(crate::tables::shard::RUNS)?;
        let mut out = Vec::new();
        for row in t
            .range((self.tenant, id, 0)..=(self.tenant, id, u32::MAX))?
            .rev()
        {
            let (k, v) = row?;
            let rec: crate::records::RunRec = v.value().decode()?;
            if rec.started_at < since {
                break;
            }
            out.push((k.value().2, rec));
        }
        Ok(out)
    }
}

/// The tenant sequence of report ids (templates 1, media 2, campaigns 3).
const SEQ_REPORT: u8 = 4;

/// Reports kept per tenant; older ones go when a new one is stored.
pub const REPORTS_KEPT: usize = 60;

impl<T: Reader> TenantShard<T> {
    /// The tenant's reports without their documents, newest first.
    pub fn reports(&self) -> Result<Vec<(crate::ids::ReportId, crate::records::ReportRec)>> {
        let t = self.tx.table(crate::tables::shard::REPORTS)?;
        let mut out = Vec::new();
        for row in t
            .range(
                (self.tenant, crate::ids::ReportId::MIN)..=(self.tenant, crate::ids::ReportId::MAX),
            )?
            .rev()
        {
            let (k, v) = row?;
            let mut r: crate::records::ReportRec = v.value().decode()?;
            r.html = String::new();
            out.push((k.value().1, r));
        }
        Ok(out)
    }

    pub fn report(&self, id: crate::ids::ReportId) -> Result<Option<crate::records::ReportRec>> {
        let t = self.tx.table(crate::tables::shard::REPORTS)?;
        let v = t.get((self.tenant, id))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }
}

impl TenantShard<WriteTransaction> {
    /// Stores a report, dropping the oldest beyond [`REPORTS_KEPT`].
    pub fn insert_report(
        &mut self,
        rec: &crate::records::ReportRec,
    ) -> Result<crate::ids::ReportId> {
        let id = crate::ids::ReportId(self.next_seq(SEQ_REPORT)?);
        let mut t = self.tx.open_table(crate::tables::shard::REPORTS)?;
        t.insert((self.tenant, id), RecBytes::encode(rec)?)?;
        let ids: Vec<crate::ids::ReportId> = t
            .range(
                (self.tenant, crate::ids::ReportId::MIN)..=(self.tenant, crate::ids::ReportId::MAX),
            )?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<std::result::Result<_, _>>()?;
        for old in ids.iter().take(ids.len().saturating_sub(REPORTS_KEPT)) {
            t.remove((self.tenant, *old))?;
        }
        Ok(id)
    }
}
