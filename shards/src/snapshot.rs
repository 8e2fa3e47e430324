//! Every table of the store in one list, and what is done with it whole: a dump of a live
//! file from one read transaction (online backups) and the file built again from a dump, and
//! row counts (their manifest and its check). `inspect` reads through the same list, so a
//! table missing here is caught there.

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
    v.table(c::INVITE_CODES)?;
    v.table(c::SIGNUPS)?;
    v.table(c::REFERRAL_CODES)?;
    v.table(c::TENANT_REFERRAL)?;
    v.table(c::TICKETS)?;
    v.table(c::TENANT_TICKETS)?;
    v.table(c::TICKET_MESSAGES)?;
    v.table(c::TICKET_FILES)?;
    crate::moves::visit(&mut AsTenantTables(v))?;
    v.table(s::POSTS_BY_DAY)?;
    Ok(())
}

/// The tenant tables' list (`moves::visit`) seen by a visitor of any table.
struct AsTenantTables<'a, T>(&'a mut T);

impl<T: TableVisitor> crate::moves::TenantTables for AsTenantTables<'_, T> {
    fn table<K: crate::moves::TenantKeyed, V: crate::transfer::Portable>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()> {
        self.0.table(def)
    }
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

/// Begins the read transaction a copy is taken from; writers go on while it lives.
pub fn begin(db: &Database) -> Result<ReadTransaction> {
    Ok(db.begin_read()?)
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

/// The first bytes of a table dump.
pub const DUMP_MAGIC: &[u8; 16] = b"botyard-dump\0\0\0\x01";

fn put_len(out: &mut impl std::io::Write, mut n: usize) -> std::io::Result<()> {
    // LEB128: one byte for the short keys and values most rows have.
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            return out.write_all(&[b]);
        }
        out.write_all(&[b | 0x80])?;
    }
}

fn io_err(e: std::io::Error) -> StoreError {
    StoreError::Db(redb::Error::Io(e))
}

struct Dump<'a, W: std::io::Write> {
    tx: &'a ReadTransaction,
    out: &'a mut W,
    rows: RowCounts,
    bytes: u64,
}

impl<W: std::io::Write> TableVisitor for Dump<'_, W> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()> {
        let t = match self.tx.open_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let name = def.name().as_bytes();
        let w = &mut *self.out;
        w.write_all(b"T").map_err(io_err)?;
        w.write_all(&(name.len() as u16).to_le_bytes())
            .map_err(io_err)?;
        w.write_all(name).map_err(io_err)?;
        let (kw, vw) = (K::fixed_width(), V::fixed_width());
        let mut n = 0u64;
        for row in redb::ReadableTable::iter(&t)? {
            let (k, v) = row?;
            let (k, v) = (k.value(), v.value());
            let (kb, vb) = (K::as_bytes(&k), V::as_bytes(&v));
            let (kb, vb) = (kb.as_ref(), vb.as_ref());
            w.write_all(&[1]).map_err(io_err)?;
            if kw.is_none() {
                put_len(w, kb.len()).map_err(io_err)?;
            }
            w.write_all(kb).map_err(io_err)?;
            if vw.is_none() {
                put_len(w, vb.len()).map_err(io_err)?;
            }
            w.write_all(vb).map_err(io_err)?;
            self.bytes += (kb.len() + vb.len()) as u64;
            n += 1;
        }
        w.write_all(&[0]).map_err(io_err)?;
        w.write_all(&n.to_le_bytes()).map_err(io_err)?;
        self.rows.insert(def.name().to_string(), n);
        Ok(())
    }
}

/// Writes everything a read transaction sees as a table dump: each table's name, then its
/// rows' key and value bytes in key order, then its row count. Far faster to write than a
/// new redb file (no B-tree is built); [`load_dump`] builds the file when it is restored.
pub fn dump_tx(rtx: &ReadTransaction, out: &mut impl std::io::Write) -> Result<FileSummary> {
    check_known(rtx)?;
    let (kind, schema_version) = meta_of(rtx)?;
    out.write_all(DUMP_MAGIC).map_err(io_err)?;
    let mut d = Dump {
        tx: rtx,
        out,
        rows: RowCounts::new(),
        bytes: 0,
    };
    visit_tables(&mut d)?;
    let (rows, bytes) = (d.rows, d.bytes);
    out.write_all(b"Z").map_err(io_err)?;
    Ok(FileSummary {
        kind,
        schema_version,
        rows,
        bytes,
    })
}

/// Why a dump does not read.
fn bad(what: &'static str) -> StoreError {
    StoreError::BadDump(what)
}

fn get_u8(r: &mut impl std::io::Read) -> Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).map_err(|_| bad("it ends too early"))?;
    Ok(b[0])
}

fn get_len(r: &mut impl std::io::Read) -> Result<usize> {
    let mut n = 0usize;
    for shift in (0..35).step_by(7) {
        let b = get_u8(r)?;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err(bad("a length is malformed"))
}

/// Reads a dump in the order [`visit_tables`] wrote it; with `dst`, inserts the rows there.
struct Load<'a, R: std::io::Read> {
    input: &'a mut R,
    dst: Option<&'a WriteTransaction>,
    /// A table name read that did not match the table visited (that table was absent).
    pending: Option<String>,
    rows: RowCounts,
    bytes: u64,
    kind: Option<u64>,
    version: u64,
}

impl<R: std::io::Read> Load<'_, R> {
    fn next_name(&mut self) -> Result<Option<String>> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        match get_u8(self.input)? {
            b'T' => {
                let mut l = [0u8; 2];
                self.input
                    .read_exact(&mut l)
                    .map_err(|_| bad("it ends too early"))?;
                let mut name = vec![0u8; usize::from(u16::from_le_bytes(l))];
                self.input
                    .read_exact(&mut name)
                    .map_err(|_| bad("it ends too early"))?;
                String::from_utf8(name)
                    .map(Some)
                    .map_err(|_| bad("a table name is not UTF-8"))
            }
            b'Z' => Ok(None),
            _ => Err(bad("a table does not start where it should")),
        }
    }
}

/// Longest key or value a dump may claim (redb's own limit is far below).
const MAX_ITEM: usize = 64 << 20;

/// Reads one key or value into `buf`: `width` bytes, or as many as its length prefix says.
fn read_item(r: &mut impl std::io::Read, width: Option<usize>, buf: &mut Vec<u8>) -> Result<usize> {
    let len = match width {
        Some(w) => w,
        None => get_len(r)?,
    };
    if len > MAX_ITEM {
        return Err(bad("a key or value is too long"));
    }
    buf.resize(len, 0);
    r.read_exact(buf).map_err(|_| bad("it ends too early"))?;
    Ok(len)
}

impl<R: std::io::Read> TableVisitor for Load<'_, R> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()> {
        let Some(name) = self.next_name()? else {
            self.pending = Some(String::new());
            return Ok(());
        };
        if name != def.name() {
            self.pending = Some(name);
            return Ok(());
        }
        let mut table = match self.dst {
            Some(tx) => Some(tx.open_table(def)?),
            None => None,
        };
        let (kw, vw) = (K::fixed_width(), V::fixed_width());
        let (mut kb, mut vb) = (Vec::new(), Vec::new());
        let mut n = 0u64;
        loop {
            match get_u8(self.input)? {
                1 => {}
                0 => break,
                _ => return Err(bad("a row does not start where it should")),
            }
            let kl = read_item(self.input, kw, &mut kb)?;
            let vl = read_item(self.input, vw, &mut vb)?;
            if def.name() == tables::META.name() {
                let key = <&str as Value>::from_bytes(&kb);
                if vb.len() == 8 {
                    let v = <u64 as Value>::from_bytes(&vb);
                    match key {
                        "kind" => self.kind = Some(v),
                        "schema_version" => self.version = v,
                        _ => {}
                    }
                }
            }
            if let Some(t) = table.as_mut() {
                t.insert(K::from_bytes(&kb), V::from_bytes(&vb))?;
            }
            self.bytes += (kl + vl) as u64;
            n += 1;
        }
        let mut count = [0u8; 8];
        self.input
            .read_exact(&mut count)
            .map_err(|_| bad("it ends too early"))?;
        if u64::from_le_bytes(count) != n {
            return Err(bad("a table's row count does not match its rows"));
        }
        self.rows.insert(def.name().to_string(), n);
        Ok(())
    }
}

fn read_dump(
    input: &mut impl std::io::Read,
    dst: Option<&WriteTransaction>,
) -> Result<FileSummary> {
    let mut magic = [0u8; 16];
    input
        .read_exact(&mut magic)
        .map_err(|_| bad("it is not a table dump"))?;
    if &magic != DUMP_MAGIC {
        return Err(bad("it is not a table dump"));
    }
    let mut l = Load {
        input,
        dst,
        pending: None,
        rows: RowCounts::new(),
        bytes: 0,
        kind: None,
        version: 0,
    };
    visit_tables(&mut l)?;
    match l.pending.take() {
        Some(name) if !name.is_empty() => return Err(StoreError::UnknownTable(name)),
        Some(_) => {}
        None => {
            if get_u8(l.input)? != b'Z' {
                return Err(bad("it goes on after its end"));
            }
        }
    }
    Ok(FileSummary {
        kind: kind_name(l.kind),
        schema_version: u32::try_from(l.version).unwrap_or(u32::MAX),
        rows: l.rows,
        bytes: l.bytes,
    })
}

/// Reads a dump through and says what it holds, building nothing.
pub fn scan_dump(input: &mut impl std::io::Read) -> Result<FileSummary> {
    read_dump(input, None)
}

/// Builds a new redb file at `dest` from a dump, in one durable transaction.
pub fn load_dump(
    input: &mut impl std::io::Read,
    dest: &Path,
    cache_bytes: usize,
) -> Result<FileSummary> {
    let db = Builder::new()
        .set_cache_size(cache_bytes)
        .create(dest)
        .map_err(redb::Error::from)?;
    let tx = db.begin_write()?;
    let s = read_dump(input, Some(&tx))?;
    tx.commit()?;
    Ok(s)
}
