//! A tenant's message templates (each edit a new version) and its own template variables.

use redb::{ReadableTable, WriteTransaction};

use crate::error::{Result, StoreError};
use crate::ids::TemplateId;
use crate::record::RecBytes;
use crate::records::{TemplateRec, TemplateVersionRec, VariablesRec};
use crate::shard::TenantShard;
use crate::tables::shard::{TEMPLATE_VERSIONS, TEMPLATES, TENANT_SEQ, VARIABLES};
use crate::tx::Reader;

/// Sequence kinds in `tenant_seq`.
const SEQ_TEMPLATE: u8 = 1;

impl<T: Reader> TenantShard<T> {
    pub fn templates(&self) -> Result<Vec<(TemplateId, TemplateRec)>> {
        let t = self.tx.table(TEMPLATES)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, TemplateId::MIN)..=(self.tenant, TemplateId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn template(&self, id: TemplateId) -> Result<Option<TemplateRec>> {
        let t = self.tx.table(TEMPLATES)?;
        let v = t.get((self.tenant, id))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn template_version(
        &self,
        id: TemplateId,
        version: u32,
    ) -> Result<Option<TemplateVersionRec>> {
        let t = self.tx.table(TEMPLATE_VERSIONS)?;
        let v = t.get((self.tenant, id, version))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// Every version of a template, oldest first.
    pub fn template_versions(&self, id: TemplateId) -> Result<Vec<(u32, TemplateVersionRec)>> {
        let t = self.tx.table(TEMPLATE_VERSIONS)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, id, 0)..=(self.tenant, id, u32::MAX))? {
            let (k, v) = row?;
            out.push((k.value().2, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn variables(&self) -> Result<VariablesRec> {
        let t = self.tx.table(VARIABLES)?;
        let v = t.get(self.tenant)?;
        Ok(match v {
            Some(v) => v.value().decode()?,
            None => VariablesRec::default(),
        })
    }
}

impl TenantShard<WriteTransaction> {
    /// Adds a template with its first version; the id is never given out again.
    pub fn insert_template(
        &mut self,
        name: &str,
        first: &TemplateVersionRec,
    ) -> Result<TemplateId> {
        let id = {
            let mut seq = self.tx.open_table(TENANT_SEQ)?;
            let next = seq
                .get((self.tenant, SEQ_TEMPLATE))?
                .map_or(0, |v| v.value())
                + 1;
            seq.insert((self.tenant, SEQ_TEMPLATE), next)?;
            TemplateId(next)
        };
        let rec = TemplateRec {
            name: name.to_string(),
            latest: 1,
            created_at: first.created_at,
            updated_at: first.created_at,
        };
        self.tx
            .open_table(TEMPLATES)?
            .insert((self.tenant, id), RecBytes::encode(&rec)?)?;
        self.tx
            .open_table(TEMPLATE_VERSIONS)?
            .insert((self.tenant, id, 1), RecBytes::encode(first)?)?;
        Ok(id)
    }

    /// Saves an edit as the next version (and a new name, when given); the template as it is
    /// now, or `NotFound`.
    pub fn add_template_version(
        &mut self,
        id: TemplateId,
        name: Option<&str>,
        next: &TemplateVersionRec,
    ) -> Result<TemplateRec> {
        let mut rec = self.template(id)?.ok_or(StoreError::NotFound)?;
        rec.latest = rec
            .latest
            .checked_add(1)
            .ok_or(StoreError::Conflict("the template has too many versions"))?;
        rec.updated_at = next.created_at;
        if let Some(n) = name {
            rec.name = n.to_string();
        }
        self.tx
            .open_table(TEMPLATES)?
            .insert((self.tenant, id), RecBytes::encode(&rec)?)?;
        self.tx
            .open_table(TEMPLATE_VERSIONS)?
            .insert((self.tenant, id, rec.latest), RecBytes::encode(next)?)?;
        Ok(rec)
    }

    /// Renames without a new version.
    pub fn rename_template(&mut self, id: TemplateId, name: &str, now: i64) -> Result<TemplateRec> {
        let mut rec = self.template(id)?.ok_or(StoreError::NotFound)?;
        rec.name = name.to_string();
        rec.updated_at = now;
        self.tx
            .open_table(TEMPLATES)?
            .insert((self.tenant, id), RecBytes::encode(&rec)?)?;
        Ok(rec)
    }

    /// Removes a template and all its versions; false when there was none.
    pub fn delete_template(&mut self, id: TemplateId) -> Result<bool> {
        let had = self
            .tx
            .open_table(TEMPLATES)?
            .remove((self.tenant, id))?
            .is_some();
        self.tx.open_table(TEMPLATE_VERSIONS)?.retain_in(
            (self.tenant, id, 0)..=(self.tenant, id, u32::MAX),
            |_, _| false,
        )?;
        Ok(had)
    }

    pub fn put_variables(&mut self, v: &VariablesRec) -> Result<()> {
        self.tx
            .open_table(VARIABLES)?
            .insert(self.tenant, RecBytes::encode(v)?)?;
        Ok(())
    }
}
