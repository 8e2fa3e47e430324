//! Crediting a payment and the documents money leaves behind: an invoice for each payment and
//! a credit note for each refund, both numbered without gaps in the transaction that stores
//! them, in the tenant's language, with the seller's and the buyer's legal details as they
//! were that day. A tenant's billing profile holds the buyer's.

use botyard_shards::ids::{InvoiceId, PaymentId, PlanId};
use botyard_shards::records::{
    BillingProfileRec, InvoiceKindRec, InvoiceLineRec, InvoiceRec, Language, PayerRec,
    PaymentProviderRec, PaymentRec, RefundRec, SubStateRec, TenantStatus,
};
use botyard_shards::{TenantCatalog, TenantScope, WriteTransaction};

use super::legal::legal_lines;
use super::{Credited, Issuer, invalid, lifecycle, record_step, split_tax, use_plan};
use crate::error::{AppError, AppResult};

/// A payment to credit, from any provider.
#[derive(Clone, Debug)]
pub struct Charge {
    pub provider: PaymentProviderRec,
    /// Minor units of `currency` (whole Stars for `XTR`).
    pub amount: u64,
    pub currency: String,
    /// Unique per provider: the same charge is credited once.
    pub charge_id: String,
    /// Printed on the invoice.
    pub reference: String,
    /// The plan it pays for; the subscription's (or the tenant's) when `None`.
    pub plan: Option<PlanId>,
    pub days: u32,
    pub paid_at: i64,
    pub payer: Option<PayerRec>,
    /// Pays an upgrade to `plan`: it applies at once, with a new period.
    pub upgrade: bool,
}

/// Who an invoice is made out to.
#[derive(Clone, Debug)]
pub struct Buyer {
    pub name: String,
    pub lines: Vec<String>,
    pub language: Language,
}

/// The tenant's details for invoices (its billing profile, else its name) and its language.
pub fn buyer(scope: &TenantScope) -> AppResult<Buyer> {
    let language = crate::domain::tenancy::settings(scope)?.language;
    let c = scope.catalog_read()?;
    let name = c.tenant()?.name;
    let p = c.billing_profile()?.unwrap_or_default();
    Ok(Buyer {
        name: if p.legal_name.trim().is_empty() {
            name
        } else {
            p.legal_name.clone()
        },
        lines: legal_lines(&p.address, &p.tax_office, &p.tax_number, language),
        language,
    })
}

fn year_of(now: i64) -> i16 {
    jiff::Timestamp::from_second(now)
        .map(|ts| ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).year())
        .unwrap_or(1970)
}

fn line_text(plan: &str, days: u32, upgrade: bool, language: Language) -> String {
    match (language, upgrade) {
        (Language::Tr, false) => format!("{plan} planı · {days} gün"),
        (Language::Tr, true) => format!("{plan} planına yükseltme · {days} gün"),
        (Language::En, false) => format!("{plan} plan · {days} days"),
        (Language::En, true) => format!("Upgrade to the {plan} plan · {days} days"),
    }
}

/// Credits `ch` to the tenant's subscription and issues its invoice, in one transaction;
/// `None` when the charge was credited already (a payment reported twice).
pub fn credit(
    scope: &TenantScope,
    issuer: &Issuer,
    ch: Charge,
    now: i64,
) -> AppResult<Option<Credited>> {
    let buyer = buyer(scope)?;
    let actor = scope.actor();
    let tenant = scope.tenant_id();
    scope.catalog_write(|c| {
        let existing = c.subscription()?;
        let plan = ch
            .plan
            .or(existing.as_ref().map(lifecycle::renewal_plan))
            .or(c.tenant()?.plan)
            .ok_or_else(|| invalid("plan_id", "the tenant has no plan: name the one paid for"))?;
        let plan_name = c.plan(plan)?.ok_or(AppError::NotFound("plan"))?.name;
        let stars = c.plan_price(plan)?.map_or(0, |x| x.stars);
        let Some(payment) = c.insert_payment(&PaymentRec {
            tenant,
            provider: ch.provider,
            amount: ch.amount,
            currency: ch.currency.clone(),
            charge_id: ch.charge_id.clone(),
            plan,
            days: ch.days,
            paid_at: ch.paid_at,
            recorded_at: now,
            recorded_by: actor,
            payer: ch.payer.clone(),
            refund: None,
            flag: None,
        })?
        else {
            return Ok(None);
        };
        // Billing suspends a tenant whose grace ended or whose cancelled subscription ended.
        let was_suspended = existing
            .as_ref()
            .is_some_and(|s| matches!(s.state, SubStateRec::Suspended | SubStateRec::Cancelled));
        let (s, step) = match existing {
            Some(mut s) if ch.upgrade => {
                let step = lifecycle::upgrade(&mut s, plan, stars, ch.days, now);
                (s, step)
            }
            Some(mut s) => {
                let step = lifecycle::pay(&mut s, plan, stars, ch.days, now);
                (s, step)
            }
            None => lifecycle::first_payment(plan, stars, ch.days, now),
        };
        record_step(c, &s, &step, actor, now)?;
        use_plan(c, s.plan, now)?;
        let mut t = c.tenant()?;
        // Stars are Telegram's: no tax line on them.
        let tax_bp = if ch.currency == "XTR" {
            0
        } else {
            issuer.tax_bp
        };
        let (net, tax) = split_tax(ch.amount, tax_bp);
        let (invoice_id, invoice) = c.insert_invoice(
            year_of(now),
            InvoiceRec {
                number: String::new(),
                tenant,
                payment: payment.0,
                issued_at: now,
                currency: ch.currency.clone(),
                lines: vec![InvoiceLineRec {
                    description: line_text(&plan_name, ch.days, ch.upgrade, buyer.language),
                    quantity: 1,
                    amount: ch.amount,
                }],
                tax_rate_bp: tax_bp,
                net,
                tax,
                total: ch.amount,
                seller: issuer.seller.clone(),
                buyer: buyer.name.clone(),
                reference: ch.reference.clone(),
                kind: InvoiceKindRec::Invoice,
                corrects: None,
                seller_lines: issuer.seller_lines(buyer.language),
                buyer_lines: buyer.lines.clone(),
                language: buyer.language,
            },
        )?;
        // The owners are told in the same transaction, with the invoice attached.
        let notice = crate::domain::mail::notices::Notice::PaymentReceived {
            tenant: t.name.clone(),
            amount: super::pdf::money(ch.amount, &ch.currency, buyer.language),
            invoice: invoice.number.clone(),
        };
        let people = c.recipients()?;
        let rows = crate::domain::mail::notices::owner_rows(
            &issuer.mail,
            &notice,
            &people,
            tenant,
            buyer.language,
        )?;
        for mut row in rows {
            row.invoice = Some(invoice_id.0);
            c.enqueue_mail(row, &issuer.mail.domain)?;
        }
        let resumed = was_suspended && t.status == TenantStatus::Suspended;
        if resumed {
            t.status = TenantStatus::Active;
            t.updated_at = now;
            c.put_tenant(&t)?;
        }
        Ok(Some(Credited {
            payment,
            invoice: invoice.number,
            subscription: s,
            resumed,
        }))
    })
}

/// A payment that can be given back: this tenant's, not refunded yet.
pub fn refundable(scope: &TenantScope, payment: PaymentId) -> AppResult<PaymentRec> {
    let p = scope
        .catalog_read()?
        .payment(payment)?
        .ok_or(AppError::NotFound("payment"))?;
    if p.refund.is_some() {
        return Err(AppError::Conflict {
            code: "billing.refunded",
            message: "this payment was refunded already".into(),
        });
    }
    Ok(p)
}

/// What giving a payment back did.
#[derive(Clone, Debug)]
pub struct Refunded {
    pub credit_note: String,
    pub subscription: Option<botyard_shards::records::SubscriptionRec>,
}

/// Records that `payment`'s money went back: a credit note for its invoice and the period it
/// bought taken off the subscription, in one transaction.
pub fn record_refund(
    scope: &TenantScope,
    issuer: &Issuer,
    payment: PaymentId,
    now: i64,
) -> AppResult<Refunded> {
    let actor = scope.actor();
    scope.catalog_write(|c| {
        let mut p = c.payment(payment)?.ok_or(AppError::NotFound("payment"))?;
        if p.refund.is_some() {
            return Err(AppError::Conflict {
                code: "billing.refunded",
                message: "this payment was refunded already".into(),
            });
        }
        let original = invoice_of_payment(c, payment)?;
        let language = original.as_ref().map_or(Language::En, |i| i.language);
        let corrects = original.as_ref().map(|i| i.number.clone());
        let text = match (&corrects, language) {
            (Some(n), Language::Tr) => format!("{n} numaralı faturanın iadesi"),
            (Some(n), Language::En) => format!("Refund of invoice {n}"),
            (None, Language::Tr) => "Ödeme iadesi".to_string(),
            (None, Language::En) => "Refund of a payment".to_string(),
        };
        let (tax_bp, net, tax) = match &original {
            Some(i) => (i.tax_rate_bp, i.net, i.tax),
            None => {
                let bp = if p.currency == "XTR" {
                    0
                } else {
                    issuer.tax_bp
                };
                let (n, t) = split_tax(p.amount, bp);
                (bp, n, t)
            }
        };
        let buyer = original
            .as_ref()
            .map(|i| (i.buyer.clone(), i.buyer_lines.clone()));
        let (buyer, buyer_lines) = match buyer {
            Some(b) => b,
            None => (c.tenant()?.name, Vec::new()),
        };
        let (_, note) = c.insert_invoice(
            year_of(now),
            InvoiceRec {
                number: String::new(),
                tenant: p.tenant,
                payment: payment.0,
                issued_at: now,
                currency: p.currency.clone(),
                lines: vec![InvoiceLineRec {
                    description: text,
                    quantity: 1,
                    amount: p.amount,
                }],
                tax_rate_bp: tax_bp,
                net,
                tax,
                total: p.amount,
                seller: issuer.seller.clone(),
                buyer,
                reference: original
                    .as_ref()
                    .map_or_else(|| p.charge_id.clone(), |i| i.reference.clone()),
                kind: InvoiceKindRec::CreditNote,
                corrects,
                seller_lines: issuer.seller_lines(language),
                buyer_lines,
                language,
            },
        )?;
        p.refund = Some(RefundRec {
            at: now,
            by: actor,
            credit_note: note.number.clone(),
        });
        c.put_payment(payment, &p)?;
        let mut sub = c.subscription()?;
        if let Some(s) = sub.as_mut() {
            lifecycle::refunded(s, p.days, now);
            c.put_subscription(s)?;
        }
        let tenant = c.tenant_id();
        c.audit(&botyard_shards::records::AuditRec {
            at: now,
            actor,
            tenant: Some(tenant),
            action: "payment.refunded".into(),
            detail: format!(
                "payment {} ({} {}), credit note {}",
                payment.0, p.amount, p.currency, note.number
            ),
        })?;
        Ok(Refunded {
            credit_note: note.number,
            subscription: sub,
        })
    })
}

/// The invoice issued for a payment, if any.
fn invoice_of_payment(
    c: &TenantCatalog<WriteTransaction>,
    payment: PaymentId,
) -> AppResult<Option<InvoiceRec>> {
    Ok(c.invoices()?
        .into_iter()
        .map(|(_, i)| i)
        .find(|i| i.payment == payment.0 && i.kind == InvoiceKindRec::Invoice))
}

/// One of the tenant's invoices or credit notes.
pub fn invoice(scope: &TenantScope, id: InvoiceId) -> AppResult<InvoiceRec> {
    scope
        .catalog_read()?
        .invoice(id)?
        .ok_or(AppError::NotFound("invoice"))
}

/// A billing profile as typed in a form or a request.
#[derive(Clone, Debug, Default)]
pub struct ProfileInput {
    pub legal_name: String,
    pub address: String,
    pub tax_office: String,
    pub tax_number: String,
    pub email: String,
}

pub fn profile(scope: &TenantScope) -> AppResult<BillingProfileRec> {
    Ok(scope.catalog_read()?.billing_profile()?.unwrap_or_default())
}

/// Checks and stores the tenant's billing profile; invoices issued from now on carry it.
pub fn set_profile(
    scope: &TenantScope,
    input: ProfileInput,
    now: i64,
) -> AppResult<BillingProfileRec> {
    let field = |name: &str, v: &str, max: usize| -> AppResult<String> {
        let v = v.trim();
        if v.chars().count() > max || v.chars().any(|ch| ch.is_control() && ch != '\n') {
            return Err(invalid(name, &format!("at most {max} characters of text")));
        }
        Ok(v.replace("\r\n", "\n"))
    };
    let tax_number = field("tax_number", &input.tax_number, 11)?;
    if !(tax_number.is_empty()
        || (matches!(tax_number.len(), 10 | 11) && tax_number.bytes().all(|b| b.is_ascii_digit())))
    {
        return Err(invalid(
            "tax_number",
            "10 digits (a tax number, VKN) or 11 (a citizen's number, TCKN)",
        ));
    }
    let email = field("email", &input.email, 254)?;
    let email = if email.is_empty() {
        email
    } else {
        crate::domain::auth::normalize_email("email", &email)?
    };
    let rec = BillingProfileRec {
        legal_name: field("legal_name", &input.legal_name, 200)?.replace('\n', " "),
        address: field("address", &input.address, 500)?,
        tax_office: field("tax_office", &input.tax_office, 100)?.replace('\n', " "),
        tax_number,
        email,
        updated_at: now,
    };
    let actor = scope.actor();
    scope.catalog_write(|c| {
        c.put_billing_profile(&rec)?;
        let tenant = c.tenant_id();
        c.audit(&botyard_shards::records::AuditRec {
            at: now,
            actor,
            tenant: Some(tenant),
            action: "billing.profile_saved".into(),
            detail: String::new(),
        })?;
        Ok::<_, AppError>(())
    })?;
    Ok(rec)
}
