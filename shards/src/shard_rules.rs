//! A tenant's group automation rules, the log of what they did, and the warnings they
//! counted per member and group.

use redb::{ReadableTable, WriteTransaction};

use crate::error::{Result, StoreError};
use crate::ids::{ChatId, Day, RuleId};
use crate::record::RecBytes;
use crate::records::{RuleHitRec, RuleRec};
use crate::shard::TenantShard;
use crate::tables::shard::{COUNTERS, RULE_LOG, RULES, WARNINGS};
use crate::tx::Reader;

/// Sequence kinds in `tenant_seq`.
const SEQ_RULE: u8 = 5;
const SEQ_RULE_LOG: u8 = 6;

/// Entries of a tenant's rule log kept; older ones are dropped as new ones come.
pub const RULE_LOG_KEPT: u64 = 20_000;

/// Which log entries to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct RuleLogFilter {
    pub rule: Option<u64>,
    pub chat: Option<i64>,
    pub user: Option<i64>,
    /// Only entries before this sequence number (the next page).
    pub before: Option<u64>,
    pub limit: usize,
}

impl<T: Reader> TenantShard<T> {
    pub fn rules(&self) -> Result<Vec<(RuleId, RuleRec)>> {
        let t = self.tx.table(RULES)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, RuleId::MIN)..=(self.tenant, RuleId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn rule(&self, id: RuleId) -> Result<Option<RuleRec>> {
        let t = self.tx.table(RULES)?;
        let v = t.get((self.tenant, id))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// Log entries matching `f`, newest first, with their sequence numbers.
    pub fn rule_log(&self, f: &RuleLogFilter) -> Result<Vec<(u64, RuleHitRec)>> {
        let t = self.tx.table(RULE_LOG)?;
        let hi = f.before.map_or(u64::MAX, |b| b.saturating_sub(1));
        let mut out = Vec::new();
        for row in t.range((self.tenant, 0)..=(self.tenant, hi))?.rev() {
            let (k, v) = row?;
            let rec: RuleHitRec = v.value().decode()?;
            if f.rule.is_some_and(|r| r != rec.rule)
                || f.chat.is_some_and(|c| c != rec.chat)
                || f.user.is_some_and(|u| Some(u) != rec.user)
            {
                continue;
            }
            out.push((k.value().1, rec));
            if out.len() >= f.limit {
                break;
            }
        }
        Ok(out)
    }

    /// Warnings per member of a group, most first.
    pub fn warnings(&self, chat: ChatId) -> Result<Vec<(i64, u32)>> {
        let t = self.tx.table(WARNINGS)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, chat, i64::MIN)..=(self.tenant, chat, i64::MAX))? {
            let (k, v) = row?;
            out.push((k.value().2, v.value()));
        }
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Every warning of the tenant: (chat, user, count).
    pub fn all_warnings(&self) -> Result<Vec<(i64, i64, u32)>> {
        let t = self.tx.table(WARNINGS)?;
        let mut out = Vec::new();
        for row in
            t.range((self.tenant, ChatId::MIN, i64::MIN)..=(self.tenant, ChatId::MAX, i64::MAX))?
        {
            let (k, v) = row?;
            let (_, chat, user) = k.value();
            out.push((chat.0, user, v.value()));
        }
        Ok(out)
    }
}

impl TenantShard<WriteTransaction> {
    pub fn insert_rule(&mut self, rec: &RuleRec) -> Result<RuleId> {
        let id = RuleId(self.next_seq(SEQ_RULE)?);
        self.tx
            .open_table(RULES)?
            .insert((self.tenant, id), RecBytes::encode(rec)?)?;
        Ok(id)
    }

    /// Replaces a rule; `NotFound` when there is none.
    pub fn put_rule(&mut self, id: RuleId, rec: &RuleRec) -> Result<()> {
        let mut t = self.tx.open_table(RULES)?;
        if t.get((self.tenant, id))?.is_none() {
            return Err(StoreError::NotFound);
        }
        t.insert((self.tenant, id), RecBytes::encode(rec)?)?;
        Ok(())
    }

    pub fn delete_rule(&mut self, id: RuleId) -> Result<bool> {
        Ok(self
            .tx
            .open_table(RULES)?
            .remove((self.tenant, id))?
            .is_some())
    }

    /// Appends to the log (dropping the oldest past [`RULE_LOG_KEPT`]) and counts the
    /// action in the group's statistics for `day` under `metric`.
    pub fn log_rule_hit(&mut self, hit: &RuleHitRec, day: Day, metric: u8) -> Result<u64> {
        let n = self.next_seq(SEQ_RULE_LOG)?;
        let mut log = self.tx.open_table(RULE_LOG)?;
        log.insert((self.tenant, n), RecBytes::encode(hit)?)?;
        if n > RULE_LOG_KEPT {
            log.remove((self.tenant, n - RULE_LOG_KEPT))?;
        }
        crate::changes::mark(&self.tx, [(self.tenant, crate::changes::Part::Day(day))])?;
        let mut c = self.tx.open_table(COUNTERS)?;
        let key = (self.tenant, ChatId(hit.chat), day, metric);
        let cur = c.get(key)?.map_or(0, |v| v.value());
        c.insert(key, cur + 1)?;
        Ok(n)
    }

    /// Sets a member's warnings in a group (0 removes the row).
    pub fn set_warnings(&mut self, chat: ChatId, user: i64, count: u32) -> Result<()> {
        let mut t = self.tx.open_table(WARNINGS)?;
        if count == 0 {
            t.remove((self.tenant, chat, user))?;
        } else {
            t.insert((self.tenant, chat, user), count)?;
        }
        Ok(())
    }

    /// Clears a group's warnings, one member's or everyone's; how many rows went.
    pub fn clear_warnings(&mut self, chat: ChatId, user: Option<i64>) -> Result<usize> {
        let mut t = self.tx.open_table(WARNINGS)?;
        let (lo, hi) = match user {
            Some(u) => (u, u),
            None => (i64::MIN, i64::MAX),
        };
        let mut n = 0;
        t.retain_in((self.tenant, chat, lo)..=(self.tenant, chat, hi), |_, _| {
            n += 1;
            false
        })?;
        Ok(n)
    }
}
