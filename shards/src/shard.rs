//! Operations on one tenant's rows in its shard file. Every method is bound to the scope's
//! tenant: there is no way to name another tenant's key from here.

use redb::{ReadableTable, WriteTransaction};

use crate::error::Result;
use crate::ids::{ChatId, Day, SecretId, TenantId};
use crate::record::RecBytes;
use crate::records::SettingsRec;
use crate::tables::shard::{COUNTERS, SECRETS, SETTINGS};
use crate::tx::Reader;

pub struct TenantShard<T> {
    pub(crate) tenant: TenantId,
    pub(crate) tx: T,
}

impl<T: Reader> TenantShard<T> {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn settings(&self) -> Result<Option<SettingsRec>> {
        let t = self.tx.table(SETTINGS)?;
        let v = t.get(self.tenant)?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn secret(&self, id: SecretId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tx
            .table(SECRETS)?
            .get((self.tenant, id))?
            .map(|v| v.value().to_vec()))
    }

    pub fn counter(&self, chat: ChatId, day: Day, metric: u8) -> Result<u64> {
        Ok(self
            .tx
            .table(COUNTERS)?
            .get((self.tenant, chat, day, metric))?
            .map_or(0, |v| v.value()))
    }
}

impl TenantShard<WriteTransaction> {
    pub fn put_settings(&mut self, s: &SettingsRec) -> Result<()> {
        self.tx
            .open_table(SETTINGS)?
            .insert(self.tenant, RecBytes::encode(s)?)?;
        Ok(())
    }

    pub fn put_secret(&mut self, id: SecretId, sealed: &[u8]) -> Result<()> {
        self.tx
            .open_table(SECRETS)?
            .insert((self.tenant, id), sealed)?;
        Ok(())
    }

    pub fn delete_secret(&mut self, id: SecretId) -> Result<bool> {
        Ok(self
            .tx
            .open_table(SECRETS)?
            .remove((self.tenant, id))?
            .is_some())
    }
}

/// Removes every row of `tenant` from a shard, inside the caller's transaction.
pub(crate) fn purge(tx: &WriteTransaction, tenant: TenantId) -> Result<()> {
    tx.open_table(SETTINGS)?.remove(tenant)?;
    tx.open_table(SECRETS)?
        .retain_in((tenant, SecretId::MIN)..=(tenant, SecretId::MAX), |_, _| {
            false
        })?;
    tx.open_table(COUNTERS)?.retain_in(
        (tenant, ChatId::MIN, Day::MIN, 0)..=(tenant, ChatId::MAX, Day::MAX, u8::MAX),
        |_, _| false,
    )?;
    Ok(())
}

/// A sealed secret's key and bytes.
type SecretRow = ((TenantId, SecretId), Vec<u8>);

/// Every sealed secret in a shard, for key rotation.
pub(crate) fn all_secrets(tx: &WriteTransaction) -> Result<Vec<SecretRow>> {
    let t = tx.open_table(SECRETS)?;
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        out.push((k.value(), v.value().to_vec()));
    }
    Ok(out)
}

pub(crate) fn put_raw_secret(
    tx: &WriteTransaction,
    key: (TenantId, SecretId),
    sealed: &[u8],
) -> Result<()> {
    tx.open_table(SECRETS)?.insert(key, sealed)?;
    Ok(())
}
