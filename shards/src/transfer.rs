//! A tenant's shard rows as JSON, table by table: what a tenant bundle carries between
//! appliances. A key is written whole (its tenant part is the source's id and is replaced on
//! import); a record is written decoded, so an old layout leaves upgraded and the other side
//! stores it in its own current layout.

use redb::{ReadTransaction, TableDefinition, TableHandle, Value};
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
