//! Billing rows of the catalog: plan prices, each tenant's subscription (with the index of
//! when the renewal job must look at it next), its history, and payments, each credited once
//! by its provider's charge id. Tenant rows are reached through [`TenantCatalog`].

use redb::{ReadableTable, WriteTransaction};

use crate::catalog::CatalogTx;
use crate::error::Result;
use crate::ids::{InvoiceId, PaymentId, PlanId, TenantId};
use crate::records::{
    AuditRec, BillingProfileRec, InvoiceKindRec, InvoiceRec, PaymentProviderRec, PaymentRec,
    PlanPriceRec, SubEventRec, SubscriptionRec, TenantRec,
};
use crate::scope::{AdminScope, TenantCatalog};
use crate::tables::catalog::*;
use crate::tx::Reader;

fn charge_key(provider: PaymentProviderRec, charge_id: &str) -> String {
    let p = match provider {
        PaymentProviderRec::Stars => "stars",
        PaymentProviderRec::Manual => "manual",
    };
    format!("{p}:{charge_id}")
}

impl<T: Reader> CatalogTx<T> {
    pub fn plan_price(&self, plan: PlanId) -> Result<Option<PlanPriceRec>> {
        self.tx
            .table(PLAN_PRICES)?
            .get(plan)?
            .map(|v| v.value().decode())
            .transpose()
            .map_err(Into::into)
    }

    /// Subscriptions due at or before `until`, earliest first, at most `limit`.
    pub fn subscriptions_due(&self, until: i64, limit: usize) -> Result<Vec<(i64, TenantId)>> {
        let t = self.tx.table(SUBSCRIPTIONS_DUE)?;
        let mut out = Vec::new();
        for row in t.range((i64::MIN, TenantId::MIN)..=(until, TenantId::MAX))? {
            out.push(row?.0.value());
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Subscriptions due in `[from, until]`, earliest first, at most `limit`, with their
    /// tenant's name (the admin's upcoming renewals).
    pub fn upcoming(
        &self,
        from: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<(TenantId, String, SubscriptionRec)>> {
        let t = self.tx.table(SUBSCRIPTIONS_DUE)?;
        let mut out = Vec::new();
        for row in t.range((from, TenantId::MIN)..=(until, TenantId::MAX))? {
            let (_, tenant) = row?.0.value();
            let (Some(s), Some(rec)) = (self.subscription(tenant)?, self.tenant(tenant)?) else {
                continue;
            };
            out.push((tenant, rec.name, s));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// How many subscriptions are in each state: `(trialing, active, past due, suspended,
    /// cancelled)`.
    pub fn subscription_counts(&self) -> Result<[u64; 5]> {
        let mut n = [0u64; 5];
        for row in self.tx.table(SUBSCRIPTIONS)?.iter()? {
            let r: SubscriptionRec = row?.1.value().decode()?;
            n[r.state as usize] += 1;
        }
        Ok(n)
    }

    pub(crate) fn subscription(&self, tenant: TenantId) -> Result<Option<SubscriptionRec>> {
        self.tx
            .table(SUBSCRIPTIONS)?
            .get(tenant)?
            .map(|v| v.value().decode())
            .transpose()
            .map_err(Into::into)
    }

    pub(crate) fn sub_events(&self, tenant: TenantId, limit: usize) -> Result<Vec<SubEventRec>> {
        let t = self.tx.table(SUBSCRIPTION_EVENTS)?;
        let mut out = Vec::new();
        for row in t.range((tenant, 0)..=(tenant, u64::MAX))?.rev().take(limit) {
            out.push(row?.1.value().decode()?);
        }
        Ok(out)
    }

    pub(crate) fn payments(&self, tenant: TenantId) -> Result<Vec<(PaymentId, PaymentRec)>> {
        let ids = self.tx.table(TENANT_PAYMENTS)?;
        let t = self.tx.table(PAYMENTS)?;
        let mut out = Vec::new();
        for row in ids.range((tenant, PaymentId::MIN)..=(tenant, PaymentId::MAX))? {
            let (_, id) = row?.0.value();
            if let Some(v) = t.get(id)? {
                out.push((id, v.value().decode()?));
            }
        }
        Ok(out)
    }
}

impl<T: Reader> CatalogTx<T> {
    pub(crate) fn invoices(&self, tenant: TenantId) -> Result<Vec<(InvoiceId, InvoiceRec)>> {
        let ids = self.tx.table(TENANT_INVOICES)?;
        let t = self.tx.table(INVOICES)?;
        let mut out = Vec::new();
        for row in ids.range((tenant, InvoiceId::MIN)..=(tenant, InvoiceId::MAX))? {
            let (_, id) = row?.0.value();
            if let Some(v) = t.get(id)? {
                out.push((id, v.value().decode()?));
            }
        }
        Ok(out)
    }

    pub(crate) fn invoice(&self, id: InvoiceId) -> Result<Option<InvoiceRec>> {
        self.tx
            .table(INVOICES)?
            .get(id)?
            .map(|v| v.value().decode())
            .transpose()
            .map_err(Into::into)
    }

    pub(crate) fn payment(&self, id: PaymentId) -> Result<Option<PaymentRec>> {
        self.tx
            .table(PAYMENTS)?
            .get(id)?
            .map(|v| v.value().decode())
            .transpose()
            .map_err(Into::into)
    }

    /// The payment recorded for a provider's charge, if any.
    pub fn payment_by_charge(
        &self,
        provider: PaymentProviderRec,
        charge_id: &str,
    ) -> Result<Option<(PaymentId, PaymentRec)>> {
        let key = charge_key(provider, charge_id);
        let Some(id) = self
            .tx
            .table(PAYMENT_CHARGES)?
            .get(key.as_str())?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        Ok(self.payment(id)?.map(|p| (id, p)))
    }

    /// Every payment, oldest first (the reseller's revenue, reconciliation).
    pub fn all_payments(&self) -> Result<Vec<(PaymentId, PaymentRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(PAYMENTS)?.iter()? {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }

    pub(crate) fn billing_profile(&self, tenant: TenantId) -> Result<Option<BillingProfileRec>> {
        self.tx
            .table(BILLING_PROFILES)?
            .get(tenant)?
            .map(|v| v.value().decode())
            .transpose()
            .map_err(Into::into)
    }

    /// Every invoice and credit note issued in `[from, until)`, newest first.
    pub fn invoices_between(&self, from: i64, until: i64) -> Result<Vec<(InvoiceId, InvoiceRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(INVOICES)?.iter()?.rev() {
            let (k, v) = row?;
            let r: InvoiceRec = v.value().decode()?;
            if r.issued_at >= from && r.issued_at < until {
                out.push((k.value(), r));
            }
        }
        Ok(out)
    }

    /// Every invoice, newest first, at most `limit` (the reseller's books).
    pub fn all_invoices(&self, limit: usize) -> Result<Vec<(InvoiceId, InvoiceRec)>> {
        let mut out = Vec::new();
        for row in self.tx.table(INVOICES)?.iter()?.rev().take(limit) {
            let (k, v) = row?;
            out.push((k.value(), v.value().decode()?));
        }
        Ok(out)
    }
}

impl CatalogTx<WriteTransaction> {
    /// Stores an invoice under the next number of `year` (`2026-000001`; a credit note
    /// `CN-2026-000001`, its own series): the counter moves in this transaction, so a number
    /// is used once and none is skipped.
    pub(crate) fn insert_invoice(
        &mut self,
        year: i16,
        mut r: InvoiceRec,
    ) -> Result<(InvoiceId, InvoiceRec)> {
        r.number = match r.kind {
            InvoiceKindRec::Invoice => {
                let n = self.next_id(&format!("invoice_number_{year}"))?;
                format!("{year}-{n:06}")
            }
            InvoiceKindRec::CreditNote => {
                let n = self.next_id(&format!("credit_note_number_{year}"))?;
                format!("CN-{year}-{n:06}")
            }
        };
        let id = InvoiceId(self.next_id("invoice")?);
        self.tx
            .open_table(INVOICES)?
            .insert(id, crate::catalog::enc(&r)?)?;
        self.tx
            .open_table(TENANT_INVOICES)?
            .insert((r.tenant, id), ())?;
        Ok((id, r))
    }

    pub fn put_plan_price(&mut self, plan: PlanId, r: &PlanPriceRec) -> Result<()> {
        self.tx
            .open_table(PLAN_PRICES)?
            .insert(plan, crate::catalog::enc(r)?)?;
        Ok(())
    }

    /// Stores the subscription and moves it in the due index to its `due_at`.
    pub(crate) fn put_subscription(&mut self, tenant: TenantId, r: &SubscriptionRec) -> Result<()> {
        let old = self.subscription(tenant)?;
        let mut due = self.tx.open_table(SUBSCRIPTIONS_DUE)?;
        if let Some(at) = old.and_then(|o| o.due_at) {
            due.remove((at, tenant))?;
        }
        if let Some(at) = r.due_at {
            due.insert((at, tenant), ())?;
        }
        drop(due);
        self.tx
            .open_table(SUBSCRIPTIONS)?
            .insert(tenant, crate::catalog::enc(r)?)?;
        Ok(())
    }

    /// Removes a (deleted) tenant's subscription and its history; its payments stay for the
    /// books (a reseller must keep what was paid).
    pub(crate) fn remove_subscription(&mut self, tenant: TenantId) -> Result<()> {
        if let Some(at) = self.subscription(tenant)?.and_then(|o| o.due_at) {
            self.tx
                .open_table(SUBSCRIPTIONS_DUE)?
                .remove((at, tenant))?;
        }
        self.tx.open_table(SUBSCRIPTIONS)?.remove(tenant)?;
        self.tx
            .open_table(SUBSCRIPTION_EVENTS)?
            .retain_in((tenant, 0)..=(tenant, u64::MAX), |_, _| false)?;
        Ok(())
    }

    pub(crate) fn add_sub_event(&mut self, tenant: TenantId, r: &SubEventRec) -> Result<()> {
        let seq = self.next_id("subscription_event")?;
        self.tx
            .open_table(SUBSCRIPTION_EVENTS)?
            .insert((tenant, seq), crate::catalog::enc(r)?)?;
        Ok(())
    }

    /// Replaces a recorded payment (a refund, a flag); its charge and tenant stay.
    pub(crate) fn put_payment(&mut self, id: PaymentId, r: &PaymentRec) -> Result<()> {
        match self.payment(id)? {
            Some(old) if old.tenant == r.tenant && old.charge_id == r.charge_id => {}
            _ => return Err(crate::error::StoreError::NotFound),
        }
        self.tx
            .open_table(PAYMENTS)?
            .insert(id, crate::catalog::enc(r)?)?;
        Ok(())
    }

    pub(crate) fn put_billing_profile(
        &mut self,
        tenant: TenantId,
        r: &BillingProfileRec,
    ) -> Result<()> {
        self.tx
            .open_table(BILLING_PROFILES)?
            .insert(tenant, crate::catalog::enc(r)?)?;
        Ok(())
    }

    /// Records a payment; `None` when its charge was recorded already (a payment is credited
    /// once, however often it is reported).
    pub(crate) fn insert_payment(&mut self, r: &PaymentRec) -> Result<Option<PaymentId>> {
        let key = charge_key(r.provider, &r.charge_id);
        if self
            .tx
            .open_table(PAYMENT_CHARGES)?
            .get(key.as_str())?
            .is_some()
        {
            return Ok(None);
        }
        let id = PaymentId(self.next_id("payment")?);
        self.tx
            .open_table(PAYMENTS)?
            .insert(id, crate::catalog::enc(r)?)?;
        self.tx
            .open_table(PAYMENT_CHARGES)?
            .insert(key.as_str(), id)?;
        self.tx
            .open_table(TENANT_PAYMENTS)?
            .insert((r.tenant, id), ())?;
        Ok(Some(id))
    }
}

impl<T: Reader> TenantCatalog<T> {
    pub fn subscription(&self) -> Result<Option<SubscriptionRec>> {
        (**self).subscription(self.tenant_id())
    }
    /// The latest steps of the subscription, newest first.
    pub fn sub_events(&self, limit: usize) -> Result<Vec<SubEventRec>> {
        (**self).sub_events(self.tenant_id(), limit)
    }
    pub fn payments(&self) -> Result<Vec<(PaymentId, PaymentRec)>> {
        (**self).payments(self.tenant_id())
    }
    pub fn invoices(&self) -> Result<Vec<(InvoiceId, InvoiceRec)>> {
        (**self).invoices(self.tenant_id())
    }
    /// One of this tenant's invoices (another tenant's is not found).
    pub fn invoice(&self, id: InvoiceId) -> Result<Option<InvoiceRec>> {
        Ok((**self)
            .invoice(id)?
            .filter(|r| r.tenant == self.tenant_id()))
    }
    /// One of this tenant's payments (another tenant's is not found).
    pub fn payment(&self, id: PaymentId) -> Result<Option<PaymentRec>> {
        Ok((**self)
            .payment(id)?
            .filter(|r| r.tenant == self.tenant_id()))
    }
    pub fn billing_profile(&self) -> Result<Option<BillingProfileRec>> {
        (**self).billing_profile(self.tenant_id())
    }
}

impl TenantCatalog<WriteTransaction> {
    pub fn put_subscription(&mut self, r: &SubscriptionRec) -> Result<()> {
        let t = self.tenant_id();
        (**self).put_subscription(t, r)
    }
    pub fn add_sub_event(&mut self, r: &SubEventRec) -> Result<()> {
        let t = self.tenant_id();
        (**self).add_sub_event(t, r)
    }
    /// Issues an invoice of this tenant's under the next number of `year`.
    pub fn insert_invoice(&mut self, year: i16, r: InvoiceRec) -> Result<(InvoiceId, InvoiceRec)> {
        if r.tenant != self.tenant_id() {
            return Err(crate::error::StoreError::NotFound);
        }
        (**self).insert_invoice(year, r)
    }
    /// Keeps an invoice issued elsewhere (a tenant brought from another appliance) under its
    /// own number; this appliance's series are not touched.
    pub fn keep_invoice(&mut self, mut r: InvoiceRec) -> Result<InvoiceId> {
        r.tenant = self.tenant_id();
        let c = &mut **self;
        let id = InvoiceId(c.next_id("invoice")?);
        c.tx.open_table(INVOICES)?
            .insert(id, crate::catalog::enc(&r)?)?;
        c.tx.open_table(TENANT_INVOICES)?
            .insert((r.tenant, id), ())?;
        Ok(id)
    }
    /// Replaces one of this tenant's payments (a refund).
    pub fn put_payment(&mut self, id: PaymentId, r: &PaymentRec) -> Result<()> {
        if r.tenant != self.tenant_id() {
            return Err(crate::error::StoreError::NotFound);
        }
        (**self).put_payment(id, r)
    }
    pub fn put_billing_profile(&mut self, r: &BillingProfileRec) -> Result<()> {
        let t = self.tenant_id();
        (**self).put_billing_profile(t, r)
    }
    /// Records a payment of this tenant's; `None` when its charge was recorded already.
    pub fn insert_payment(&mut self, r: &PaymentRec) -> Result<Option<PaymentId>> {
        if r.tenant != self.tenant_id() {
            return Err(crate::error::StoreError::NotFound);
        }
        (**self).insert_payment(r)
    }
}

/// Many tenants' subscriptions in one catalog transaction, for the renewal job (one commit for
/// a whole batch); reached only through [`AdminScope::billing_write`].
pub struct BillingTx<'a> {
    c: &'a mut CatalogTx<WriteTransaction>,
}

impl BillingTx<'_> {
    pub(crate) fn catalog(&mut self) -> &mut CatalogTx<WriteTransaction> {
        self.c
    }
    pub fn subscription(&self, tenant: TenantId) -> Result<Option<SubscriptionRec>> {
        self.c.subscription(tenant)
    }
    pub fn put_subscription(&mut self, tenant: TenantId, r: &SubscriptionRec) -> Result<()> {
        self.c.put_subscription(tenant, r)
    }
    pub fn add_sub_event(&mut self, tenant: TenantId, r: &SubEventRec) -> Result<()> {
        self.c.add_sub_event(tenant, r)
    }
    pub fn tenant(&self, tenant: TenantId) -> Result<Option<TenantRec>> {
        self.c.tenant(tenant)
    }
    /// Drops an entry of the due index that has no subscription behind it.
    pub fn forget_due(&mut self, at: i64, tenant: TenantId) -> Result<()> {
        self.c
            .tx
            .open_table(SUBSCRIPTIONS_DUE)?
            .remove((at, tenant))?;
        Ok(())
    }
    pub fn put_tenant(&mut self, tenant: TenantId, r: &TenantRec) -> Result<()> {
        self.c.put_tenant(tenant, r)
    }
    pub fn audit(&mut self, r: &AuditRec) -> Result<()> {
        self.c.audit(r).map(|_| ())
    }
    /// Records a payment that no tenant's subscription takes (its tenant is gone), so the
    /// books show it and the admin can give it back; `None` when recorded already.
    pub fn insert_unowned_payment(&mut self, r: &PaymentRec) -> Result<Option<PaymentId>> {
        if self.c.tenant(r.tenant)?.is_some() {
            return Err(crate::error::StoreError::NotFound);
        }
        self.c.insert_payment(r)
    }
    pub fn payment(&self, id: PaymentId) -> Result<Option<PaymentRec>> {
        self.c.payment(id)
    }
    /// Marks a payment no tenant owns any more as given back.
    pub fn put_unowned_payment(&mut self, id: PaymentId, r: &PaymentRec) -> Result<()> {
        if self.c.tenant(r.tenant)?.is_some() {
            return Err(crate::error::StoreError::NotFound);
        }
        self.c.put_payment(id, r)
    }
}

impl AdminScope<'_> {
    /// Runs `f` over subscriptions in one catalog write transaction; commits only on `Ok`.
    pub fn billing_write<R, E: From<crate::error::StoreError>>(
        &self,
        f: impl FnOnce(&mut BillingTx<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.store.catalog_write(|c| f(&mut BillingTx { c }))
    }
}
