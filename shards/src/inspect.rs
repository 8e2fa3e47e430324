//! Reads every row of every table as raw bytes, for tests and operators that must check what
//! a file really holds (e.g. that a deleted tenant left nothing behind).

use redb::{Database, Key, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, Value};

use crate::error::Result;
use crate::snapshot::{self, TableVisitor};

/// A raw row: table name, key bytes, value bytes.
pub type RawRow = (String, Vec<u8>, Vec<u8>);

struct Dump<'a> {
    db: &'a Database,
    out: Vec<RawRow>,
}

impl TableVisitor for Dump<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<()> {
        let tx = self.db.begin_read()?;
        let t = match tx.open_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for row in t.iter()? {
            let (k, v) = row?;
            self.out.push((
                def.name().to_string(),
                K::as_bytes(&k.value()).as_ref().to_vec(),
                V::as_bytes(&v.value()).as_ref().to_vec(),
            ));
        }
        Ok(())
    }
}

/// Every row of a catalog or shard file. Fails if the file holds a table this code does not
/// know, so nothing can hide from the scan.
pub fn all_rows(db: &Database) -> Result<Vec<RawRow>> {
    snapshot::check_known(&db.begin_read()?)?;
    let mut d = Dump {
        db,
        out: Vec::new(),
    };
    snapshot::visit_tables(&mut d)?;
    Ok(d.out)
}
