//! Support requests and feedback: each request with its messages in the order written (kept
//! as its audit) and their attachments apart. A tenant reaches only its own through
//! [`TenantCatalog`]; the reseller's inbox lists them all.

use redb::{ReadableTable, WriteTransaction};

use crate::catalog::{CatalogTx, enc};
use crate::error::{Result, StoreError};
use crate::ids::{TenantId, TicketId};
use crate::records::{TicketKindRec, TicketMessageRec, TicketRec, TicketStateRec};
use crate::scope::TenantCatalog;
use crate::tables::catalog::*;
use crate::tx::Reader;

impl<T: Reader> CatalogTx<T> {
    /// The reseller's inbox: newest first, of one kind, in the given states, at most `limit`.
    pub fn inbox(
        &self,
        kind: TicketKindRec,
        states: &[TicketStateRec],
        limit: usize,
    ) -> Result<Vec<(TicketId, TicketRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(TICKETS)?.iter()?.rev() {
            let (k, v) = row?;
            let r: TicketRec = v.value().decode()?;
            if r.kind == kind && states.contains(&r.state) {
                out.push((k.value(), r));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Which tenant a request belongs to, for the reseller to open that tenant's scope.
    pub fn ticket_tenant(&self, id: TicketId) -> Result<Option<TenantId>> {
        let r: Option<TicketRec> = self
            .tx
            .table(TICKETS)?
            .get(id)?
            .map(|v| v.value().decode())
            .transpose()?;
        Ok(r.map(|r| r.tenant))
    }

    fn ticket_of(&self, tenant: TenantId, id: TicketId) -> Result<Option<TicketRec>> {
        let r: Option<TicketRec> = self
            .tx
            .table(TICKETS)?
            .get(id)?
            .map(|v| v.value().decode())
            .transpose()?;
        Ok(r.filter(|r| r.tenant == tenant))
    }

    fn tickets_of(&self, tenant: TenantId, limit: usize) -> Result<Vec<(TicketId, TicketRec)>> {
        let ids = self.tx.table(TENANT_TICKETS)?;
        let t = self.tx.table(TICKETS)?;
        let mut out = Vec::new();
        for row in ids
            .range((tenant, TicketId::MIN)..=(tenant, TicketId::MAX))?
            .rev()
            .take(limit)
        {
            let (_, id) = row?.0.value();
            if let Some(v) = t.get(id)? {
                out.push((id, v.value().decode()?));
            }
        }
        Ok(out)
    }

    fn messages_of(&self, id: TicketId) -> Result<Vec<TicketMessageRec>> {
        let mut out = Vec::new();
        for row in self
            .tx
            .table(TICKET_MESSAGES)?
            .range((id, 0)..=(id, u32::MAX))?
        {
            out.push(row?.1.value().decode()?);
        }
        Ok(out)
    }

    fn file_of(&self, id: TicketId, n: u32) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tx
            .table(TICKET_FILES)?
            .get((id, n))?
            .map(|v| v.value().to_vec()))
    }
}

impl CatalogTx<WriteTransaction> {
    fn purge_tickets(&mut self, tenant: TenantId) -> Result<()> {
        let ids: Vec<TicketId> = self
            .tickets_of(tenant, usize::MAX)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut tickets = self.tx.open_table(TICKETS)?;
        let mut index = self.tx.open_table(TENANT_TICKETS)?;
        let mut messages = self.tx.open_table(TICKET_MESSAGES)?;
        let mut files = self.tx.open_table(TICKET_FILES)?;
        for id in ids {
            tickets.remove(id)?;
            index.remove((tenant, id))?;
            messages.retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
            files.retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
        }
        Ok(())
    }

    /// Removes a deleted tenant's sign-up, referral code and support requests.
    pub(crate) fn purge_tenant_extras(&mut self, tenant: TenantId) -> Result<()> {
        self.purge_growth(tenant)?;
        self.purge_tickets(tenant)
    }
}

impl<T: Reader> TenantCatalog<T> {
    /// This tenant's requests, newest first, at most `limit`.
    pub fn tickets(&self, limit: usize) -> Result<Vec<(TicketId, TicketRec)>> {
        (**self).tickets_of(self.tenant_id(), limit)
    }
    /// One of this tenant's requests (none when it is another tenant's).
    pub fn ticket(&self, id: TicketId) -> Result<Option<TicketRec>> {
        (**self).ticket_of(self.tenant_id(), id)
    }
    pub fn ticket_messages(&self, id: TicketId) -> Result<Vec<TicketMessageRec>> {
        if self.ticket(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        (**self).messages_of(id)
    }
    /// The attachment of message `n` of one of this tenant's requests.
    pub fn ticket_file(&self, id: TicketId, n: u32) -> Result<Option<Vec<u8>>> {
        if self.ticket(id)?.is_none() {
            return Ok(None);
        }
        (**self).file_of(id, n)
    }
}

impl TenantCatalog<WriteTransaction> {
    /// Opens a request of this tenant's (the record's tenant is overwritten with the scope's).
    pub fn insert_ticket(&mut self, mut r: TicketRec) -> Result<TicketId> {
        r.tenant = self.tenant_id();
        let id = TicketId(self.next_id("ticket")?);
        self.tx.open_table(TICKETS)?.insert(id, enc(&r)?)?;
        self.tx
            .open_table(TENANT_TICKETS)?
            .insert((r.tenant, id), ())?;
        Ok(id)
    }

    /// Stores a request's new state; not found when it is another tenant's.
    pub fn put_ticket(&mut self, id: TicketId, mut r: TicketRec) -> Result<()> {
        if self.ticket(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        r.tenant = self.tenant_id();
        self.tx.open_table(TICKETS)?.insert(id, enc(&r)?)?;
        Ok(())
    }

    /// Adds message number `n` to one of this tenant's requests, with its attachment's bytes.
    pub fn add_ticket_message(
        &mut self,
        id: TicketId,
        n: u32,
        m: &TicketMessageRec,
        file: Option<&[u8]>,
    ) -> Result<()> {
        if self.ticket(id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        self.tx
            .open_table(TICKET_MESSAGES)?
            .insert((id, n), enc(m)?)?;
        if let Some(bytes) = file {
            self.tx.open_table(TICKET_FILES)?.insert((id, n), bytes)?;
        }
        Ok(())
    }
}
