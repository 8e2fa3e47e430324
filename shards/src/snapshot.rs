//! Every table of the store in one list, and what is done with it whole: a consistent copy of
//! a live file from one read transaction (online backups), and row counts (their manifest and
//! its check). `inspect` reads through the same list, so a table missing here is caught there.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{
    Builder, Database, Key, ReadTransaction, ReadableDatabase, ReadableTableMetadata,
    TableDefinition, TableHandle, Value, WriteTransaction,
};

use crate::error::{Result, StoreError};
use crate::tables::{self, catalog as c, shard as s};

/// Something done to each table in turn; its types come with the definition.
pub trait TableVisitor {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()>;
}

/// Visits every table a catalog or shard file may hold (a file holds the tables of its kind).
pub fn visit_tables(v: &mut impl TableVisitor) -> Result<()> {
    v.table(tables::META)?;
    v.table(c::SEQUENCES)?;
    v.table(c::ACCOUNTS)?;
    v.table(c::ACCOUNT_EMAILS)?;
    v.table(c::MEMBERS)?;
    v.table(c::ACCOUNT_TENANTS)?;
    v.table(c::TENANTS)?;
    v.table(c::PLACEMENT)?;
    v.table(c::SHARD_LOAD)?;
    v.table(c::PLANS)?;
    v.table(c::REFRESH_TOKENS)?;
    v.table(c::FAMILIES)?;
    v.table(c::FAMILY_TOKENS)?;
    v.table(c::ACCOUNT_FAMILIES)?;
    v.table(c::API_KEYS)?;
    v.table(c::API_KEY_HASHES)?;
    v.table(c::TENANT_API_KEYS)?;
    v.table(c::SECRETS)?;
    v.table(c::SETUP_TOKENS)?;
    v.table(c::AUDIT)?;
    v.table(c::TELEGRAM_LINKS)?;
    v.table(c::TELEGRAM_LINK_USERS)?;
    v.table(c::SESSION_KEYS)?;
    v.table(c::SESSION_KEY_OWNERS)?;
    v.table(c::INVITATIONS)?;
    v.table(c::INVITATION_HASHES)?;
    v.table(c::TENANT_INVITATIONS)?;
    v.table(c::BROWSER_SESSIONS)?;
    v.table(c::FAMILY_BROWSER)?;
    v.table(c::ACCOUNT_PREFS)?;
    v.table(c::ALERTS)?;
    v.table(c::OPEN_ALERTS)?;
    v.table(c::PLAN_PRICES)?;
    v.table(c::SUBSCRIPTIONS)?;
    v.table(c::SUBSCRIPTIONS_DUE)?;
    v.table(c::SUBSCRIPTION_EVENTS)?;
    v.table(c::PAYMENTS)?;
    v.table(c::PAYMENT_CHARGES)?;
    v.table(c::TENANT_PAYMENTS)?;
    v.table(c::INVOICES)?;
    v.table(c::TENANT_INVOICES)?;
    v.table(c::BILLING_PROFILES)?;
    v.table(c::OUTBOX)?;
    v.table(c::OUTBOX_DUE)?;
    v.table(c::NOTICE_PREFS)?;
    v.table(c::NOTICE_CURSORS)?;
    v.table(c::DIGEST)?;
    v.table(c::KNOWN_DEVICES)?;
    v.table(c::ACCOUNT_TOKENS)?;
    v.table(c::MAILINGS)?;
    visit_tenant_tables(v)?;
    v.table(s::POSTS_BY_DAY)?;
    Ok(())
}

/// Visits every shard table whose key starts with the tenant: what a tenant's data is.
pub fn visit_tenant_tables(v: &mut impl TableVisitor) -> Result<()> {
    v.table(s::SETTINGS)?;
    v.table(s::SECRETS)?;
    v.table(s::COUNTERS)?;
    v.table(s::USER_DAYS)?;
    v.table(s::TG_USERS)?;
    v.table(s::SESSIONS)?;
    v.table(s::GROUPS)?;
    v.table(s::TENANT_SEQ)?;
    v.table(s::TEMPLATES)?;
    v.table(s::TEMPLATE_VERSIONS)?;
    v.table(s::VARIABLES)?;
    v.table(s::MEDIA)?;
    v.table(s::CAMPAIGNS)?;
    v.table(s::RUNS)?;
    v.table(s::DELIVERIES)?;
    v.table(s::PENDING)?;
    v.table(s::SENDS)?;
    v.table(s::MEMBER_COUNTS)?;
    v.table(s::REPORTS)?;
    Ok(())
}

/// The names of every known table.
pub fn known_tables() -> Vec<String> {
    struct Names(Vec<String>);
    impl TableVisitor for Names {
        fn table<K: Key + 'static, V: Value + 'static>(
            &mut self,
            def: TableDefinition<K, V>,
        ) -> Result<()> {
            self.0.push(def.name().to_string());
            Ok(())
        }
    }
    let mut n = Names(Vec::new());
    // Only fails if a visitor fails, and this one does not.
    let _ = visit_tables(&mut n);
    n.0
}

/// Fails when the transaction's file holds a table this code does not know, so nothing can
/// hide from a scan or a copy.
pub fn check_known(tx: &ReadTransaction) -> Result<()> {
    let known = known_tables();
    for t in tx.list_tables()? {
        if !known.iter().any(|k| k == t.name()) {
            return Err(StoreError::UnknownTable(t.name().to_string()));
        }
    }
    if tx.list_multimap_tables()?.next().is_some() {
        return Err(StoreError::UnknownTable("a multimap table".into()));
    }
    Ok(())
}

/// Rows per table, for the tables the file holds.
pub type RowCounts = BTreeMap<String, u64>;

/// What a copied file holds: its kind and schema version from `meta`, and rows per table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// `catalog` or `shard` (`meta.kind`), `unknown` when absent.
    pub kind: &'static str,
    pub schema_version: u32,
    pub rows: RowCounts,
    /// The logical size of what was copied (keys and values), for throughput figures.
    pub bytes: u64,
}

fn kind_name(code: Option<u64>) -> &'static str {
    match code {
        Some(1) => "catalog",
        Some(2) => "shard",
        _ => "unknown",
    }
}

fn meta_of(tx: &ReadTransaction) -> Result<(&'static str, u32)> {
    let meta = match tx.open_table(tables::META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(("unknown", 0)),
        Err(e) => return Err(e.into()),
    };
    let kind = meta.get("kind")?.map(|v| v.value());
    let version = meta.get("schema_version")?.map_or(0, |v| v.value());
    Ok((kind_name(kind), u32::try_from(version).unwrap_or(u32::MAX)))
}

struct Copy<'a> {
    src: &'a ReadTransaction,
    dst: &'a WriteTransaction,
    rows: RowCounts,
    bytes: u64,
}

impl TableVisitor for Copy<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()> {
        let from = match self.src.open_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut to = self.dst.open_table(def)?;
        let mut n = 0u64;
        for row in redb::ReadableTable::iter(&from)? {
            let (k, v) = row?;
            let (k, v) = (k.value(), v.value());
            self.bytes += (K::as_bytes(&k).as_ref().len() + V::as_bytes(&v).as_ref().len()) as u64;
            to.insert(k, v)?;
            n += 1;
        }
        self.rows.insert(def.name().to_string(), n);
        Ok(())
    }
}

/// Begins the read transaction a copy is taken from; writers go on while it lives.
pub fn begin(db: &Database) -> Result<ReadTransaction> {
    Ok(db.begin_read()?)
}

/// Copies everything a read transaction sees into a new file at `dest`. The copy is committed
/// durably before this returns; a copy interrupted before that is not a redb file anyone
/// should trust, which is why callers write it under a temporary name.
pub fn copy_tx(rtx: &ReadTransaction, dest: &Path, cache_bytes: usize) -> Result<FileSummary> {
    check_known(rtx)?;
    let (kind, schema_version) = meta_of(rtx)?;
    let out = Builder::new()
        .set_cache_size(cache_bytes)
        .create(dest)
        .map_err(redb::Error::from)?;
    let wtx = out.begin_write()?;
    let mut copy = Copy {
        src: rtx,
        dst: &wtx,
        rows: RowCounts::new(),
        bytes: 0,
    };
    visit_tables(&mut copy)?;
    let (rows, bytes) = (copy.rows, copy.bytes);
    wtx.commit()?;
    Ok(FileSummary {
        kind,
        schema_version,
        rows,
        bytes,
    })
}

struct Count<'a> {
    tx: &'a ReadTransaction,
    rows: RowCounts,
}

impl TableVisitor for Count<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()> {
        match self.tx.open_table(def) {
            Ok(t) => {
                self.rows.insert(def.name().to_string(), t.len()?);
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

/// Opens a copied file (never a live one: this takes the file's lock), checks redb's page
/// checksums, and reads what it holds, every table opened with its types.
pub fn summarize(path: &Path) -> Result<FileSummary> {
    let db = Builder::new()
        .set_check_integrity_on_open(true)
        .open(path)
        .map_err(|e| match e {
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(_)) => StoreError::Damaged,
            e => redb::Error::from(e).into(),
        })?;
    let tx = db.begin_read()?;
    check_known(&tx)?;
    let (kind, schema_version) = meta_of(&tx)?;
    let mut count = Count {
        tx: &tx,
        rows: RowCounts::new(),
    };
    visit_tables(&mut count)?;
    Ok(FileSummary {
        kind,
        schema_version,
        rows: count.rows,
        bytes: 0,
    })
}
