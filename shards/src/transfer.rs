//! A tenant's shard rows as JSON, table by table: what a tenant bundle carries between
//! appliances. A key is written whole (its tenant part is the source's id and is replaced on
//! import); a record is written decoded, so an old layout leaves upgraded and the other side
//! stores it in its own current layout.

use redb::{ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value};
use serde_json::Value as Json;

use crate::error::{Result, StoreError};
use crate::ids::TenantId;
use crate::moves::{TenantKeyed, TenantTables, visit};
use crate::record::{Rec, Record, decode, encode};
use crate::scope::TenantScope;

/// A value type a tenant table holds, convertible to JSON and back from its stored bytes.
pub trait Portable: Value + 'static {
    fn to_json(bytes: &[u8]) -> Result<Json>;
    fn from_json(json: Json) -> Result<Vec<u8>>;
}

fn bad(table: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::BadRow {
        table: table.to_string(),
        reason: reason.to_string(),
    }
}

impl<T: Record + 'static> Portable for Rec<T> {
    fn to_json(bytes: &[u8]) -> Result<Json> {
        serde_json::to_value(decode::<T>(bytes)?).map_err(|e| bad(T::NAME, e))
    }
    fn from_json(json: Json) -> Result<Vec<u8>> {
        let v: T = serde_json::from_value(json).map_err(|e| bad(T::NAME, e))?;
        Ok(encode(&v)?)
    }
}

/// Raw bytes (sealed secrets) as hex.
impl Portable for &'static [u8] {
    fn to_json(bytes: &[u8]) -> Result<Json> {
        Ok(Json::String(hex::encode(bytes)))
    }
    fn from_json(json: Json) -> Result<Vec<u8>> {
        json.as_str()
            .and_then(|s| hex::decode(s).ok())
            .ok_or_else(|| bad("bytes", "expected a hex string"))
    }
}

macro_rules! portable_int {
    ($($t:ty),*) => {$(
        impl Portable for $t {
            fn to_json(bytes: &[u8]) -> Result<Json> {
                Ok(Json::from(<$t>::from_bytes(bytes)))
            }
            fn from_json(json: Json) -> Result<Vec<u8>> {
                let v: $t = serde_json::from_value(json).map_err(|e| bad(stringify!($t), e))?;
                Ok(<$t as Value>::as_bytes(&v).as_ref().to_vec())
            }
        }
    )*};
}
portable_int!(u32, u64);

impl Portable for () {
    fn to_json(_: &[u8]) -> Result<Json> {
        Ok(Json::Null)
    }
    fn from_json(_: Json) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// Takes a tenant's rows: each table's name, then its rows in key order.
pub trait RowSink {
    fn table(&mut self, name: &str) -> Result<()>;
    fn row(&mut self, key: Json, value: Json) -> Result<()>;
}

/// Every row of `tenant` in the shard `tx` reads, table by table, to `sink`. Returns the count.
pub(crate) fn export(
    tx: &ReadTransaction,
    tenant: TenantId,
    sink: &mut impl RowSink,
) -> Result<u64> {
    struct Export<'a, S> {
        tx: &'a ReadTransaction,
        tenant: TenantId,
        sink: &'a mut S,
        rows: u64,
    }
    impl<S: RowSink> TenantTables for Export<'_, S> {
        fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()> {
            let name = def.name().to_string();
            self.sink.table(&name)?;
            let t = match self.tx.open_table(def) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            for row in t.range(K::lo(self.tenant)..=K::hi(self.tenant))? {
                let (k, v) = row?;
                let key = serde_json::to_value(k.value()).map_err(|e| bad(&name, e))?;
                let value = V::to_json(V::as_bytes(&v.value()).as_ref())?;
                self.sink.row(key, value)?;
                self.rows += 1;
            }
            Ok(())
        }
    }
    let mut e = Export {
        tx,
        tenant,
        sink,
        rows: 0,
    };
    visit(&mut e)?;
    Ok(e.rows)
}

/// The names of the tables [`export`] writes, in its order.
pub fn table_names() -> Result<Vec<String>> {
    struct Names(Vec<String>);
    impl TenantTables for Names {
        fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()> {
            self.0.push(def.name().to_string());
            Ok(())
        }
    }
    let mut n = Names(Vec::new());
    visit(&mut n)?;
    Ok(n.0)
}

impl TenantScope {
    /// Writes rows of `table` (as [`export`] wrote them, from any tenant) as this tenant's, in
    /// one transaction. A row that does not parse fails the whole call and nothing is written.
    pub fn import_rows(&self, table: &str, rows: Vec<(Json, Json)>) -> Result<()> {
        struct Import<'a> {
            tx: &'a redb::WriteTransaction,
            tenant: TenantId,
            table: &'a str,
            rows: Option<Vec<(Json, Json)>>,
        }
        impl TenantTables for Import<'_> {
            fn table<K: TenantKeyed, V: Portable>(
                &mut self,
                def: TableDefinition<K, V>,
            ) -> Result<()> {
                if def.name() != self.table {
                    return Ok(());
                }
                let Some(rows) = self.rows.take() else {
                    return Ok(());
                };
                let mut out = self.tx.open_table(def)?;
                for (k, v) in rows {
                    let key: K = serde_json::from_value(k).map_err(|e| bad(self.table, e))?;
                    let bytes = V::from_json(v)?;
                    out.insert(key.retenant(self.tenant), V::from_bytes(&bytes))?;
                }
                Ok(())
            }
        }
        let tenant = self.tenant_id();
        self.shard_write(|s| {
            let mut i = Import {
                tx: &s.tx,
                tenant,
                table,
                rows: Some(rows),
            };
            visit(&mut i)?;
            if i.rows.is_some() {
                return Err(bad(table, "no such tenant table"));
            }
            Ok(())
        })
    }
}

impl crate::shard::TenantShard<ReadTransaction> {
    /// Every row of this tenant in this read of its shard, table by table, to `sink`.
    pub fn export_rows(&self, sink: &mut impl RowSink) -> Result<u64> {
        export(&self.tx, self.tenant, sink)
    }
}

/// A part of a tenant's rows an export sends whole (the receiver replaces what it had).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slice {
    /// Every table but the Telegram users and the day counters.
    Content,
    /// The Telegram users its groups saw.
    Users,
    /// Every day of its counters and per-user counts.
    Stats,
    /// One day of them.
    Day(crate::ids::Day),
}

/// What an export never sends: sealed secrets, id sequences, the scheduler's queue, the
/// change marks themselves.
const NOT_EXPORTED: [&str; 4] = [
    "tenant_secrets",
    "tenant_seq",
    "pending_deliveries",
    "changes",
];

fn slice_of(table: &str) -> Option<Slice> {
    match table {
        t if NOT_EXPORTED.contains(&t) => None,
        "telegram_users" => Some(Slice::Users),
        "counters" | "user_days" => Some(Slice::Stats),
        _ => Some(Slice::Content),
    }
}

/// The tables an export sends, in its order.
pub fn exported_tables() -> Result<Vec<String>> {
    Ok(table_names()?
        .into_iter()
        .filter(|t| slice_of(t).is_some())
        .collect())
}

/// The tables a slice covers.
pub fn slice_tables(slice: Slice) -> Result<Vec<String>> {
    let want = match slice {
        Slice::Day(_) => Slice::Stats,
        s => s,
    };
    Ok(exported_tables()?
        .into_iter()
        .filter(|t| slice_of(t) == Some(want))
        .collect())
}

/// What a shard's export sends: every slice of the tenants placed on it, or (given the
/// sequence the last export saw) the slices changed since, plus every slice of the tenants
/// in `whole` (new to the receiver, or moved). Returns the shard's sequence now.
pub fn plan(
    tx: &ReadTransaction,
    since: Option<u64>,
    placed: &[TenantId],
    whole: &std::collections::BTreeSet<TenantId>,
) -> Result<(u64, Vec<(TenantId, Slice)>)> {
    let all = |t: TenantId| [(t, Slice::Content), (t, Slice::Users), (t, Slice::Stats)];
    let (seq, changed) = crate::changes::since(tx, since.unwrap_or(u64::MAX))?;
    let mut out = std::collections::BTreeSet::new();
    for t in placed {
        if since.is_none() || whole.contains(t) {
            out.extend(all(*t));
        }
    }
    if since.is_some() {
        let here: std::collections::BTreeSet<TenantId> = placed.iter().copied().collect();
        for (t, part) in changed {
            if !here.contains(&t) || whole.contains(&t) {
                continue;
            }
            out.insert((
                t,
                match part {
                    crate::changes::Part::Content => Slice::Content,
                    crate::changes::Part::Users => Slice::Users,
                    crate::changes::Part::Day(d) => Slice::Day(d),
                },
            ));
        }
    }
    Ok((seq, out.into_iter().collect()))
}

/// Takes an export: each table's name, then its rows with their tenant.
pub trait ExportSink {
    fn table(&mut self, name: &str) -> Result<()>;
    fn row(&mut self, tenant: TenantId, key: Json, value: Json) -> Result<()>;
}

/// Sends the planned slices of every shard (`shards[i]` read with `slices[i]`), table by
/// table, so a receiver can load one table at a time. Returns the rows sent.
pub fn export_slices(
    shards: &[(&ReadTransaction, &[(TenantId, Slice)])],
    sink: &mut impl ExportSink,
) -> Result<u64> {
    struct Tables<'a, S> {
        shards: &'a [(&'a ReadTransaction, &'a [(TenantId, Slice)])],
        sink: &'a mut S,
        rows: u64,
    }
    impl<S: ExportSink> TenantTables for Tables<'_, S> {
        fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()> {
            let name = def.name().to_string();
            let Some(kind) = slice_of(&name) else {
                return Ok(());
            };
            self.sink.table(&name)?;
            for (tx, slices) in self.shards {
                let t = match tx.open_table(def) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => continue,
                    Err(e) => return Err(e.into()),
                };
                for (tenant, slice) in slices.iter() {
                    let day = match (slice, kind) {
                        (Slice::Day(d), Slice::Stats) => Some(*d),
                        (s, k) if *s == k => None,
                        _ => continue,
                    };
                    match day {
                        None => {
                            for row in t.range(K::lo(*tenant)..=K::hi(*tenant))? {
                                let (k, v) = row?;
                                let key =
                                    serde_json::to_value(k.value()).map_err(|e| bad(&name, e))?;
                                self.sink.row(
                                    *tenant,
                                    key,
                                    V::to_json(V::as_bytes(&v.value()).as_ref())?,
                                )?;
                                self.rows += 1;
                            }
                        }
                        Some(d) => {
                            let sink = &mut *self.sink;
                            let mut n = 0;
                            let mut emit = |key: Json, value: u64| {
                                n += 1;
                                sink.row(*tenant, key, Json::from(value))
                            };
                            match name.as_str() {
                                "counters" => day_rows(
                                    tx,
                                    crate::tables::shard::COUNTERS,
                                    *tenant,
                                    d,
                                    &mut emit,
                                )?,
                                "user_days" => day_rows(
                                    tx,
                                    crate::tables::shard::USER_DAYS,
                                    *tenant,
                                    d,
                                    &mut emit,
                                )?,
                                _ => return Err(bad(&name, "not a table of days")),
                            }
                            self.rows += n;
                        }
                    }
                }
            }
            Ok(())
        }
    }
    let mut t = Tables {
        shards,
        sink,
        rows: 0,
    };
    visit(&mut t)?;
    Ok(t.rows)
}

/// One day of a `(tenant, chat, day, …)` table: a range per chat, jumping over the other days.
fn day_rows<C: crate::moves::Bounded + serde::Serialize>(
    tx: &ReadTransaction,
    def: TableDefinition<(TenantId, crate::ids::ChatId, crate::ids::Day, C), u64>,
    tenant: TenantId,
    day: crate::ids::Day,
    emit: &mut impl FnMut(Json, u64) -> Result<()>,
) -> Result<()>
where
    (TenantId, crate::ids::ChatId, crate::ids::Day, C):
        for<'a> redb::Key<SelfType<'a> = (TenantId, crate::ids::ChatId, crate::ids::Day, C)>,
{
    use crate::ids::ChatId;
    let t = match tx.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let hi = (tenant, ChatId::MAX, crate::ids::Day::MAX, C::HI);
    let mut from = (tenant, ChatId::MIN, day, C::LO);
    loop {
        let mut next = None;
        for row in t.range(from..=hi)? {
            let (k, v) = row?;
            let key = k.value();
            let (_, chat, d, _) = key;
            if d == day {
                let json = serde_json::to_value(key).map_err(|e| bad(def.name(), e))?;
                emit(json, v.value())?;
            } else {
                next = if d < day {
                    Some((tenant, chat, day, C::LO))
                } else if chat < ChatId::MAX {
                    Some((tenant, ChatId(chat.0 + 1), day, C::LO))
                } else {
                    None
                };
                break;
            }
        }
        match next {
            Some(n) => from = n,
            None => break,
        }
    }
    Ok(())
}

/// A tenant as an export names it: its record, shard and members (emails and roles only).
pub struct TenantRow {
    pub id: TenantId,
    pub rec: crate::records::TenantRec,
    pub shard: u32,
    pub members: Vec<(String, crate::records::Role)>,
}

impl<T: crate::tx::Reader> crate::catalog::CatalogTx<T> {
    /// Every tenant with its shard and members, for an export.
    pub fn tenants_for_export(&self) -> Result<Vec<TenantRow>> {
        let mut out = Vec::new();
        for (id, rec) in self.list_tenants(None, usize::MAX, None)?.items {
            let Some(shard) = self.placement(id)? else {
                continue;
            };
            let mut members = Vec::new();
            for (account, role) in self.members(id)? {
                if let Some(a) = self.account(account)? {
                    members.push((a.email, role));
                }
            }
            out.push(TenantRow {
                id,
                rec,
                shard,
                members,
            });
        }
        Ok(out)
    }
}

impl crate::store::Store {
    /// A read of the catalog and of every shard, begun together (an export's one moment).
    pub fn export_reads(
        &self,
    ) -> Result<(
        crate::catalog::CatalogTx<ReadTransaction>,
        Vec<ReadTransaction>,
    )> {
        let catalog = self.catalog_read()?;
        let shards = self
            .shards()
            .iter()
            .map(|s| redb::ReadableDatabase::begin_read(s.database()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((catalog, shards))
    }
}

impl TenantScope {
    /// Moves the tenant's id sequences past the largest id its tables hold, so rows imported
    /// with their ids (from an export) are never given out again.
    pub fn settle_sequences(&self) -> Result<()> {
        use crate::tables::shard::{
            CAMPAIGNS, MEDIA, REPORTS, RULE_LOG, RULES, TEMPLATES, TENANT_SEQ,
        };
        fn last<A: crate::moves::Bounded>(
            tx: &redb::WriteTransaction,
            def: TableDefinition<(TenantId, A), impl Value + 'static>,
            t: TenantId,
            id: impl Fn(A) -> u64,
        ) -> Result<u64>
        where
            (TenantId, A): for<'a> redb::Key<SelfType<'a> = (TenantId, A)>,
        {
            let table = tx.open_table(def)?;
            let mut r = table.range((t, A::LO)..=(t, A::HI))?;
            Ok(match r.next_back() {
                Some(row) => id(row?.0.value().1),
                None => 0,
            })
        }
        let t = self.tenant_id();
        self.shard_write(|s| {
            let found = [
                (1u8, last(&s.tx, TEMPLATES, t, |i| i.0)?),
                (2, last(&s.tx, MEDIA, t, |i| i.0)?),
                (3, last(&s.tx, CAMPAIGNS, t, |i| i.0)?),
                (4, last(&s.tx, REPORTS, t, |i| i.0)?),
                (5, last(&s.tx, RULES, t, |i| i.0)?),
                (6, last(&s.tx, RULE_LOG, t, |i| i)?),
            ];
            let mut seq = s.tx.open_table(TENANT_SEQ)?;
            for (kind, max) in found {
                let cur = seq.get((t, kind))?.map_or(0, |v| v.value());
                if max > cur {
                    seq.insert((t, kind), max)?;
                }
            }
            Ok(())
        })
    }
}
