//! Every tenant's data as a stream of JSON lines, for `botyard-migrate postgres export`. One
//! read of the catalog and of every shard, begun together. With the change sequences the last
//! export saw (one per shard), only what changed since is sent, as whole slices the receiver
//! replaces: a tenant's content, its Telegram users, or one day of its counters. Secrets
//! (session material, password hashes, API key hashes) are never in it.
//!
//! Lines, in order: `begin` (the sequences to keep for next time), `plan`s, `tenant`s (all of
//! them, so the receiver drops the ones gone), `member`s, `slice`s (what the receiver
//! replaces), then per table a `table` line followed by its `row`s, and `end`.

use std::collections::BTreeSet;
use std::io::Write;

use botyard_shards::Store;
use botyard_shards::ids::TenantId;
use botyard_shards::records::{Role, TenantStatus};
use botyard_shards::transfer::{self, ExportSink, Slice};
use serde_json::{Value, json};

use crate::error::{AppError, AppResult};

/// What the receiver has.
pub struct Since {
    /// Each shard's change sequence at the last export; `None` for a full export.
    pub shards: Option<Vec<u64>>,
    /// The tenants the receiver has, with the shard each was on; one it lacks or that moved
    /// is sent whole.
    pub known: std::collections::BTreeMap<TenantId, u32>,
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Owner => "owner",
        Role::Editor => "editor",
        Role::Viewer => "viewer",
    }
}

struct Lines<'a, W: Write> {
    out: &'a mut W,
}

impl<W: Write> Lines<'_, W> {
    fn line(&mut self, v: &Value) -> Result<(), botyard_shards::StoreError> {
        let io = |e: std::io::Error| botyard_shards::StoreError::BadRow {
            table: "export".into(),
            reason: e.to_string(),
        };
        serde_json::to_writer(&mut *self.out, v).map_err(|e| io(std::io::Error::other(e)))?;
        self.out.write_all(b"\n").map_err(io)
    }
}

impl<W: Write> ExportSink for Lines<'_, W> {
    fn table(&mut self, name: &str) -> Result<(), botyard_shards::StoreError> {
        self.line(&json!({"table": name}))
    }
    fn row(
        &mut self,
        tenant: TenantId,
        key: Value,
        value: Value,
    ) -> Result<(), botyard_shards::StoreError> {
        self.line(&json!({"row": [tenant.0, key, value]}))
    }
}

/// Writes the export to `out` (blocking). Returns the rows sent.
pub fn write(store: &Store, since: &Since, out: &mut impl Write) -> AppResult<u64> {
    let (catalog, shards) = store.export_reads()?;
    let count = shards.len();
    let since_seq = since.shards.as_ref().filter(|s| s.len() == count);
    let tenants = catalog.tenants_for_export()?;
    let whole: BTreeSet<TenantId> = tenants
        .iter()
        .filter(|t| since.known.get(&t.id) != Some(&t.shard))
        .map(|t| t.id)
        .collect();
    let mut planned = Vec::with_capacity(count);
    let mut seqs = Vec::with_capacity(count);
    for (i, tx) in shards.iter().enumerate() {
        let placed: Vec<TenantId> = tenants
            .iter()
            .filter(|t| t.shard as usize == i)
            .map(|t| t.id)
            .collect();
        let prev = since_seq.and_then(|s| s.get(i).copied());
        let (seq, slices) = transfer::plan(tx, prev, &placed, &whole)?;
        seqs.push(seq);
        planned.push(slices);
    }
    let mut w = Lines { out };
    w.line(&json!({"begin": {"full": since_seq.is_none(), "shards": seqs}}))?;
    for (id, p) in catalog.plans()? {
        w.line(&json!({"plan": {"id": id.0, "name": p.name}}))?;
    }
    for t in &tenants {
        w.line(&json!({"tenant": {
            "id": t.id.0,
            "name": t.rec.name,
            "status": match t.rec.status { TenantStatus::Active => "active", TenantStatus::Suspended => "suspended" },
            "plan_id": t.rec.plan.map(|p| p.0),
            "created_at": t.rec.created_at,
            "updated_at": t.rec.updated_at,
            "shard": t.shard,
        }}))?;
        for (email, r) in &t.members {
            w.line(&json!({"member": {"tenant": t.id.0, "email": email, "role": role(*r)}}))?;
        }
    }
    for (tenant, slice) in planned.iter().flatten() {
        let (name, day) = match slice {
            Slice::Content => ("content", None),
            Slice::Users => ("users", None),
            Slice::Stats => ("stats", None),
            Slice::Day(d) => ("day", Some(d.0)),
        };
        w.line(&json!({"slice": {"tenant": tenant.0, "slice": name, "day": day}}))?;
    }
    let pairs: Vec<(&botyard_shards::ReadTransaction, &[(TenantId, Slice)])> = shards
        .iter()
        .zip(planned.iter())
        .map(|(tx, s)| (tx, s.as_slice()))
        .collect();
    let rows = transfer::export_slices(&pairs, &mut w)?;
    w.line(&json!({"end": {"rows": rows}}))?;
    w.out
        .flush()
        .map_err(|e| AppError::Internal(format!("export: {e}")))?;
    Ok(rows)
}
