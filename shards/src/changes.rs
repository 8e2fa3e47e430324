//! What changed in a shard since an export. Every write of a tenant's rows leaves a mark in
//! the same transaction: its content (every table but the Telegram users and the day
//! counters), its Telegram users, or one day of its counters, stamped with the shard's next
//! change sequence. An export reads the marks above the sequence it saw last and sends only
//! those parts again; the parts are small enough to replace whole, so deletes go too.

use std::collections::BTreeSet;

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use crate::error::Result;
use crate::ids::{Day, TenantId};
use crate::tables::META;
use crate::tables::shard::CHANGES;

const SEQ: &str = "change_seq";

/// Which part of a tenant changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Content,
    Users,
    /// One day of counters and per-user counts.
    Day(Day),
}

impl Part {
    fn key(self, t: TenantId) -> (TenantId, u8, Day) {
        match self {
            Part::Content => (t, 0, Day::MIN),
            Part::Users => (t, 1, Day::MIN),
            Part::Day(d) => (t, 2, d),
        }
    }

    fn from_key(kind: u8, day: Day) -> Option<Part> {
        match kind {
            0 => Some(Part::Content),
            1 => Some(Part::Users),
            2 => Some(Part::Day(day)),
            _ => None,
        }
    }
}

/// Stamps `marks` with the shard's next change sequence, inside the writer's transaction.
pub(crate) fn mark(
    tx: &WriteTransaction,
    marks: impl IntoIterator<Item = (TenantId, Part)>,
) -> Result<()> {
    let mut marks = marks.into_iter().peekable();
    if marks.peek().is_none() {
        return Ok(());
    }
    let mut meta = tx.open_table(META)?;
    let seq = meta.get(SEQ)?.map_or(0, |v| v.value()) + 1;
    meta.insert(SEQ, seq)?;
    let mut t = tx.open_table(CHANGES)?;
    for (tenant, part) in marks {
        t.insert(part.key(tenant), seq)?;
    }
    Ok(())
}

/// The shard's change sequence as `tx` sees it, and every part changed after `since`.
pub fn since(tx: &ReadTransaction, since: u64) -> Result<(u64, BTreeSet<(TenantId, Part)>)> {
    let seq = match tx.open_table(META) {
        Ok(m) => m.get(SEQ)?.map_or(0, |v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    let mut out = BTreeSet::new();
    if seq <= since {
        return Ok((seq, out));
    }
    let t = match tx.open_table(CHANGES) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((seq, out)),
        Err(e) => return Err(e.into()),
    };
    for row in t.iter()? {
        let (k, v) = row?;
        if v.value() > since {
            let (tenant, kind, day) = k.value();
            if let Some(p) = Part::from_key(kind, day) {
                out.insert((tenant, p));
            }
        }
    }
    Ok((seq, out))
}
