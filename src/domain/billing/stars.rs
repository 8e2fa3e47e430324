//! Telegram Stars through the platform bot: the invoice link a tenant opens, the pre-checkout
//! answer, crediting the payment service message once per charge, refunds, and the daily
//! reconciliation with the bot's Stars history.
//!
//! An invoice's payload names the tenant, the plan and the price, and carries a MAC made with
//! a key of the appliance's own, so a payload the appliance did not make (forged, or another
//! bot's) is refused at pre-checkout and never credited.

use std::time::Duration;

use botyard_shards::ids::{PaymentId, PlanId, TenantId};
use botyard_shards::records::{Language, PayerRec, PaymentProviderRec, PaymentRec, SubStateRec};

use super::invoices::{self, Charge};
pub use super::payload::{Payload, PayloadKey, Purpose};
use super::{Credited, lifecycle, proration};
use crate::error::{AppError, AppResult, Upstream};
use crate::runtime::supervisor::{CallError, Precheckout, StarsEvent, StarsPaid};
use crate::state::{AppState, Shared, blocking};
use crate::worker::ipc::messages::{CallOk, PortCall};
use crate::worker::telegram::{StarsInvoice, StarsPage};

/// How long a call through the platform bot may wait.
const CALL_WAIT: Duration = Duration::from_secs(20);
/// A pre-checkout answer must reach Telegram within 10 s; this leaves room for the way back.
const PRECHECKOUT_WAIT: Duration = Duration::from_secs(6);
pub const CURRENCY: &str = "XTR";
/// Alert kinds.
pub const FORGED_PAYMENT: &str = "billing.forged_payment";
pub const ORPHAN_PAYMENT: &str = "billing.payment_for_deleted_tenant";
pub const RECONCILIATION: &str = "billing.reconciliation";
pub const RENEWALS_NOT_FOLLOWED: &str = "billing.stars_renewals";

/// What the tenant would pay now: the next period of its plan, or an upgrade to `plan`.
pub fn quote(
    scope: &botyard_shards::TenantScope,
    plan: Option<PlanId>,
    now: i64,
) -> AppResult<Payload> {
    let c = scope.catalog_read()?;
    let sub = c.subscription()?;
    let current = sub
        .as_ref()
        .map(lifecycle::renewal_plan)
        .or(c.tenant()?.plan);
    let target = plan.or(current).ok_or(AppError::Invalid {
        code: "validation.invalid",
        field: "plan_id".into(),
        message: "the tenant has no plan yet: name the plan to pay for".into(),
    })?;
    let price = c
        .plan_price(target)?
        .filter(|p| p.stars > 0 && (p.offered || Some(target) == current))
        .ok_or(AppError::Conflict {
            code: "billing.not_for_stars",
            message: "this plan has no price in Stars".into(),
        })?;
    let upgrade = sub
        .as_ref()
        .filter(|s| s.state == SubStateRec::Active && s.plan != target && price.stars > s.stars);
    Ok(match upgrade {
        Some(s) => {
            let (_, charge) =
                proration::upgrade(s.stars, price.stars, s.period_start, s.period_end, now);
            Payload {
                tenant: scope.tenant_id(),
                plan: target,
                stars: charge.max(1),
                purpose: Purpose::Upgrade,
            }
        }
        None => Payload {
            tenant: scope.tenant_id(),
            plan: target,
            stars: price.stars,
            purpose: Purpose::Period,
        },
    })
}

/// An invoice link to pay in Stars.
#[derive(Clone, Debug)]
pub struct InvoiceLink {
    pub url: String,
    pub payload: Payload,
}

fn platform_error(e: CallError) -> AppError {
    match e {
        CallError::Unavailable => crate::domain::telegram_link::unavailable(),
        CallError::Timeout => AppError::Upstream {
            kind: Upstream::Timeout,
            code: "platform_bot.timeout",
            message: "the platform bot did not answer in time; try again".into(),
        },
        CallError::Telegram(reason) => AppError::Upstream {
            kind: Upstream::Refused,
            code: "billing.telegram_refused",
            message: format!("Telegram refused: {reason}"),
        },
    }
}

/// Makes the invoice link for what the tenant would pay now (see [`quote`]).
pub async fn invoice_link(
    st: &Shared,
    scope: botyard_shards::TenantScope,
    plan: Option<PlanId>,
) -> AppResult<InvoiceLink> {
    if !crate::domain::telegram_link::platform_configured(&st.config) {
        return Err(crate::domain::telegram_link::not_configured());
    }
    let now = st.now();
    let (payload, plan_name, language) = blocking(move || {
        let payload = quote(&scope, plan, now)?;
        let name = scope
            .catalog_read()?
            .plan(payload.plan)?
            .ok_or(AppError::NotFound("plan"))?
            .name;
        let language = crate::domain::tenancy::settings(&scope)?.language;
        Ok((payload, name, language))
    })
    .await?;
    let brand = st.appliance().brand.name.clone();
    let (title, description) = match (language, payload.purpose) {
        (Language::Tr, Purpose::Period) => (
            format!("{brand} · {plan_name}"),
            format!(
                "{plan_name} planı, 30 gün; her 30 günde bir yenilenir, istediğiniz zaman iptal edebilirsiniz."
            ),
        ),
        (Language::Tr, Purpose::Upgrade) => (
            format!("{brand} · {plan_name}"),
            format!(
                "{plan_name} planına yükseltme: bu dönemin kullanılmayan kısmı düşüldü; yeni 30 günlük dönem hemen başlar."
            ),
        ),
        (Language::En, Purpose::Period) => (
            format!("{brand} · {plan_name}"),
            format!("The {plan_name} plan for 30 days; renews every 30 days until you cancel."),
        ),
        (Language::En, Purpose::Upgrade) => (
            format!("{brand} · {plan_name}"),
            format!(
                "Upgrade to the {plan_name} plan: the unused part of this period is credited; a new 30-day period starts at once."
            ),
        ),
    };
    let invoice = StarsInvoice {
        title: title.chars().take(32).collect(),
        description: description.chars().take(255).collect(),
        payload: payload.encode(&st.payload_key),
        stars: i64::from(payload.stars),
        monthly: payload.purpose == Purpose::Period,
    };
    match st
        .supervisor
        .call_platform(PortCall::ExportInvoice(invoice), CALL_WAIT)
        .await
        .map_err(platform_error)?
    {
        CallOk::InvoiceLink(url) if url.starts_with("https://") && url.len() <= 512 => {
            Ok(InvoiceLink { url, payload })
        }
        _ => Err(AppError::Internal(
            "the platform bot answered something else than an invoice link".into(),
        )),
    }
}

/// Why a pre-checkout query is refused: shown to the payer by Telegram, in both languages.
fn refusal(en: &str, tr: &str) -> String {
    format!("{en} / {tr}")
}

/// Whether to accept a pre-checkout query: the payload is the appliance's, in Stars, for the
/// amount it names, and the tenant, plan and price still hold.
pub fn precheckout_verdict(st: &AppState, q: &Precheckout, now: i64) -> Result<Payload, String> {
    let Some(p) = Payload::decode(&q.payload, &st.payload_key) else {
        return Err(refusal(
            "This invoice is not valid.",
            "Bu fatura geçerli değil.",
        ));
    };
    if q.currency != CURRENCY || q.amount != i64::from(p.stars) {
        return Err(refusal(
            "The amount does not match the invoice.",
            "Tutar faturayla eşleşmiyor.",
        ));
    }
    let changed = || {
        refusal(
            "The price or plan changed. Open the payment again from the app.",
            "Fiyat ya da plan değişti. Ödemeyi uygulamadan yeniden açın.",
        )
    };
    let Ok(scope) = st.store.supervisor_scope(p.tenant) else {
        return Err(refusal(
            "This account no longer exists.",
            "Bu hesap artık yok.",
        ));
    };
    match quote(&scope, Some(p.plan), now) {
        Ok(now_q) if now_q.purpose == p.purpose && now_q.plan == p.plan => {
            // An upgrade costs a little more as its period runs out: paying what was quoted
            // a moment ago is fine, paying less than today's price is not.
            let ok = match p.purpose {
                Purpose::Period => now_q.stars == p.stars,
                Purpose::Upgrade => p.stars >= now_q.stars,
            };
            if ok { Ok(p) } else { Err(changed()) }
        }
        _ => Err(changed()),
    }
}

/// What became of a payment the platform bot reported.
#[derive(Debug)]
pub enum PaidOutcome {
    Credited(Credited),
    /// Its charge was credited before (Telegram sent it again, or the server restarted
    /// before acknowledging it).
    Duplicate,
    /// Not the appliance's payload, or not what it says: logged and alerted, not credited.
    Refused(&'static str),
    /// Its tenant is gone: recorded and flagged for a refund.
    Orphan(PaymentId),
}

/// Credits a payment service message, once per Telegram charge id.
pub fn credit_paid(st: &AppState, p: &StarsPaid, now: i64) -> AppResult<PaidOutcome> {
    let alert = |kind: &str, tenant: Option<TenantId>, detail: String| {
        let subject = format!("charge {}", p.charge_id);
        if let Err(e) =
            crate::domain::alerts::raise(&st.store, now, kind, tenant, &subject, &detail)
        {
            tracing::error!(error = %e, "cannot raise the payment alert");
        }
    };
    let Some(payload) = Payload::decode(&p.payload, &st.payload_key) else {
        tracing::warn!(charge = %p.charge_id, user = p.user_id, "a payment with a payload this appliance did not make was not credited");
        alert(
            FORGED_PAYMENT,
            None,
            format!(
                "{} {} from Telegram user {}: unknown payload",
                p.amount, p.currency, p.user_id
            ),
        );
        return Ok(PaidOutcome::Refused("payload"));
    };
    if p.currency != CURRENCY || p.amount != i64::from(payload.stars) || p.amount <= 0 {
        tracing::warn!(charge = %p.charge_id, "a payment whose amount or currency does not match its invoice was not credited");
        alert(
            FORGED_PAYMENT,
            Some(payload.tenant),
            format!(
                "{} {} paid for an invoice of {} XTR",
                p.amount, p.currency, payload.stars
            ),
        );
        return Ok(PaidOutcome::Refused("amount"));
    }
    let payer = Some(PayerRec {
        user_id: p.user_id,
        access_hash: p.access_hash,
    });
    let scope = match st.store.supervisor_scope(payload.tenant) {
        Ok(s) => s,
        Err(botyard_shards::StoreError::NotFound) => {
            let rec = PaymentRec {
                tenant: payload.tenant,
                provider: PaymentProviderRec::Stars,
                amount: p.amount.unsigned_abs(),
                currency: CURRENCY.into(),
                charge_id: p.charge_id.clone(),
                plan: payload.plan,
                days: lifecycle::PERIOD_DAYS,
                paid_at: p.at,
                recorded_at: now,
                recorded_by: None,
                payer,
                refund: None,
                flag: Some("tenant deleted: refund due".into()),
            };
            let id = st
                .store
                .system_admin()
                .billing_write(|b| b.insert_unowned_payment(&rec))?;
            return Ok(match id {
                Some(id) => {
                    alert(
                        ORPHAN_PAYMENT,
                        Some(payload.tenant),
                        format!(
                            "{} XTR for deleted tenant {}: refund it (payment {})",
                            p.amount, payload.tenant.0, id.0
                        ),
                    );
                    PaidOutcome::Orphan(id)
                }
                None => PaidOutcome::Duplicate,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let charge = Charge {
        provider: PaymentProviderRec::Stars,
        amount: p.amount.unsigned_abs(),
        currency: CURRENCY.into(),
        charge_id: p.charge_id.clone(),
        reference: p.charge_id.clone(),
        plan: Some(payload.plan),
        days: lifecycle::PERIOD_DAYS,
        paid_at: p.at,
        payer,
        upgrade: payload.purpose == Purpose::Upgrade,
    };
    Ok(
        match invoices::credit(&scope, &super::issuer(st), charge, now)? {
            Some(c) => PaidOutcome::Credited(c),
            None => PaidOutcome::Duplicate,
        },
    )
}

/// Listens for the platform bot's pre-checkout queries and payments until the server stops.
pub fn spawn_inbox(st: &Shared) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    st.supervisor.set_stars_inbox(tx);
    let weak = std::sync::Arc::downgrade(st);
    tokio::spawn(async move {
        // `/pay` is answered once per user every few seconds: anyone can write to the bot.
        let mut asked: std::collections::HashMap<i64, std::time::Instant> =
            std::collections::HashMap::new();
        while let Some(ev) = rx.recv().await {
            let Some(st) = weak.upgrade() else { break };
            match ev {
                StarsEvent::Pay(cmd) => {
                    let now = std::time::Instant::now();
                    asked.retain(|_, at| now.duration_since(*at) < PAY_EVERY);
                    if asked.len() < 10_000 && asked.insert(cmd.user.id, now).is_none() {
                        tokio::spawn(pay_by_bot(st, cmd));
                    }
                }
                StarsEvent::Precheckout(q) => {
                    tokio::spawn(answer_precheckout(st, q));
                }
                StarsEvent::Paid(p, done) => {
                    let now = st.now();
                    let st2 = st.clone();
                    let p2 = p.clone();
                    let r = blocking(move || credit_paid(&st2, &p2, now)).await;
                    let _ = done.send(r.is_ok());
                    match r {
                        Ok(PaidOutcome::Credited(c)) => {
                            tracing::info!(payment = c.payment.0, invoice = %c.invoice, "Stars payment credited");
                            after_credit(&st, &p, &c).await;
                        }
                        Ok(PaidOutcome::Duplicate) => {
                            tracing::info!(charge = %p.charge_id, "Stars payment seen before; credited once")
                        }
                        Ok(PaidOutcome::Refused(why)) => {
                            tracing::warn!(charge = %p.charge_id, why, "Stars payment not credited")
                        }
                        Ok(PaidOutcome::Orphan(id)) => tracing::warn!(
                            payment = id.0,
                            "Stars payment for a deleted tenant flagged for refund"
                        ),
                        Err(e) => {
                            tracing::error!(error = %e, "Stars payment not recorded yet; it comes again")
                        }
                    }
                }
            }
        }
    });
}

async fn answer_precheckout(st: Shared, q: Precheckout) {
    let now = st.now();
    let st2 = st.clone();
    let q2 = q.clone();
    let verdict = blocking(move || Ok(precheckout_verdict(&st2, &q2, now)))
        .await
        .unwrap_or_else(|_| Err(refusal("Please try again.", "Lütfen yeniden deneyin.")));
    let error = match &verdict {
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(user = q.user_id, reason = %e, "pre-checkout refused");
            Some(e.clone())
        }
    };
    let op = PortCall::AnswerPrecheckout {
        query_id: q.query_id,
        error,
    };
    if let Err(e) = st.supervisor.call_platform(op, PRECHECKOUT_WAIT).await {
        tracing::warn!(error = %e, "pre-checkout answer not delivered");
    }
}

/// One `/pay` per user this often, at most.
const PAY_EVERY: Duration = Duration::from_secs(5);

/// `/pay` to the platform bot: an invoice link for the next period of the linked account's
/// tenant (the first it owns), sent back as a button; or why not.
async fn pay_by_bot(st: Shared, cmd: crate::runtime::supervisor::BotCommand) {
    let (st2, user) = (st.clone(), cmd.user.id);
    let found = blocking(move || {
        let c = st2.store.catalog_read()?;
        let Some(account) = c.account_for_telegram_user(user)? else {
            return Ok(None);
        };
        let owned = c
            .memberships(account)?
            .into_iter()
            .find(|(_, role)| *role == botyard_shards::records::Role::Owner)
            .map(|(t, _)| t);
        let language = owned
            .and_then(|t| st2.store.supervisor_scope(t).ok())
            .and_then(|s| crate::domain::tenancy::settings(&s).ok())
            .map_or(Language::En, |s| s.language);
        Ok(Some((owned, language)))
    })
    .await;
    let (text, button) = match found {
        Ok(Some((Some(tenant), language))) => match st.store.supervisor_scope(tenant) {
            Ok(scope) => match invoice_link(&st, scope, None).await {
                Ok(link) => {
                    let label = match language {
                        Language::Tr => format!("★ {} Yıldız öde", link.payload.stars),
                        Language::En => format!("★ Pay {} Stars", link.payload.stars),
                    };
                    let text = match language {
                        Language::Tr => {
                            "30 günlük dönem için ödeme: aşağıdaki düğmeye dokunun. Her 30 günde bir yenilenir; uygulamadan durdurabilirsiniz."
                        }
                        Language::En => {
                            "Payment for a 30-day period: tap the button below. It renews every 30 days; you can stop it in the app."
                        }
                    };
                    let button = crate::worker::telegram::UrlButton {
                        label,
                        url: link.url,
                        web_app: false,
                        data: None,
                    };
                    (text.to_string(), Some(button))
                }
                Err(e) => {
                    tracing::info!(error = %e, "no invoice for /pay");
                    let text = match language {
                        Language::Tr => "Şu anda ödeme bağlantısı yapılamadı; uygulamadan deneyin.",
                        Language::En => {
                            "A payment link cannot be made right now; try from the app."
                        }
                    };
                    (text.to_string(), None)
                }
            },
            Err(_) => return,
        },
        Ok(Some((None, _))) => (
            "Only a tenant's owner pays for it. / Ödemeyi yalnızca hesabın sahibi yapabilir."
                .to_string(),
            None,
        ),
        Ok(None) => (
            crate::domain::platform_bot::Reply::WebNotLinked.text(&st.appliance().brand.name),
            None,
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot answer /pay");
            return;
        }
    };
    let mut job = crate::domain::telegram_link::private_post(
        cmd.user.id,
        cmd.access_hash,
        text,
        crate::worker::telegram::Markup::Plain,
    );
    job.buttons = button.map(|b| vec![vec![b]]).unwrap_or_default();
    if let Err(e) = st.supervisor.send_direct(job, CALL_WAIT).await {
        tracing::warn!(error = %e, "the answer to /pay was not sent");
    }
}

/// After a credit: the tenant's workers start again if it was suspended, and the payer hears
/// that it went through.
async fn after_credit(st: &Shared, p: &StarsPaid, c: &Credited) {
    if c.resumed
        && let Some(payload) = Payload::decode(&p.payload, &st.payload_key)
        && let Err(e) = crate::domain::tenant_workers::reconcile(st, payload.tenant).await
    {
        tracing::warn!(error = %e, "worker not started after a payment");
    }
    let until = crate::clock::rfc3339(c.subscription.period_end);
    let text = format!(
        "✅ Payment received, thank you. Invoice {n}; paid until {until}.\n\n✅ Ödemeniz alındı, teşekkürler. Fatura {n}; {until} tarihine kadar ödendi.",
        n = c.invoice
    );
    let job = crate::domain::telegram_link::private_post(
        p.user_id,
        p.access_hash,
        text,
        crate::worker::telegram::Markup::Plain,
    );
    if let Err(e) = st.supervisor.send_direct(job, CALL_WAIT).await {
        tracing::info!(error = %e, "payment confirmation not sent");
    }
}

/// Stops (or, with `restore`, restarts) Telegram's monthly renewals of the tenant's Stars
/// subscription, when it pays in Stars: a cancelled tenant must not be charged again. `Ok(false)`
/// when there is nothing to stop (it pays by transfer).
pub async fn set_renewals(st: &Shared, tenant: TenantId, restore: bool) -> AppResult<bool> {
    let store = st.store.clone();
    let last = blocking(move || {
        let scope = store.supervisor_scope(tenant)?;
        let payments = scope.catalog_read()?.payments()?;
        Ok(payments
            .into_iter()
            .rev()
            .map(|(_, p)| p)
            .find(|p| p.provider == PaymentProviderRec::Stars && p.refund.is_none()))
    })
    .await?;
    let Some(p) = last else { return Ok(false) };
    let Some(payer) = p.payer else {
        return Ok(false);
    };
    let op = PortCall::CancelStarsSubscription {
        user_id: payer.user_id,
        access_hash: payer.access_hash,
        charge_id: p.charge_id,
        restore,
    };
    st.supervisor
        .call_platform(op, CALL_WAIT)
        .await
        .map_err(platform_error)?;
    Ok(true)
}

/// After a cancel (or its resume): Telegram's renewals follow, or an admin is told to stop
/// them by hand.
pub async fn follow_renewals(st: &Shared, tenant: TenantId, restore: bool) {
    match set_renewals(st, tenant, restore).await {
        Ok(true) => tracing::info!(
            tenant_id = tenant.0,
            restore,
            "Telegram Stars renewals followed the subscription"
        ),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(tenant_id = tenant.0, error = %e, "Telegram Stars renewals not changed");
            let (store, now) = (st.store.clone(), st.now());
            let what = if restore { "restart" } else { "stop" };
            let detail = format!("{what} the tenant's Stars subscription renewals by hand: {e}");
            let r = blocking(move || {
                crate::domain::alerts::raise(
                    &store,
                    now,
                    RENEWALS_NOT_FOLLOWED,
                    Some(tenant),
                    "Telegram Stars",
                    &detail,
                )
            })
            .await;
            if r.is_err() {
                tracing::error!("cannot raise the renewals alert");
            }
        }
    }
}

/// Gives a payment back: through Telegram for Stars (then recorded), at once for a transfer
/// (the admin sends the money back by bank), with a credit note either way.
pub async fn refund(
    st: &Shared,
    scope: botyard_shards::TenantScope,
    payment: PaymentId,
) -> AppResult<invoices::Refunded> {
    let (scope, p) = blocking(move || {
        let p = invoices::refundable(&scope, payment)?;
        Ok((scope, p))
    })
    .await?;
    if p.provider == PaymentProviderRec::Stars {
        let payer = p.payer.clone().ok_or(AppError::Conflict {
            code: "billing.no_payer",
            message: "Telegram's payer of this payment is unknown; refund it in Telegram".into(),
        })?;
        give_back(st, &payer, &p.charge_id).await?;
    }
    let issuer = super::issuer(st);
    let now = st.now();
    blocking(move || invoices::record_refund(&scope, &issuer, payment, now)).await
}

/// Telegram's refund; one already made counts as done (a retry after a lost answer).
async fn give_back(st: &Shared, payer: &PayerRec, charge_id: &str) -> AppResult<()> {
    let op = PortCall::RefundStars {
        user_id: payer.user_id,
        access_hash: payer.access_hash,
        charge_id: charge_id.to_string(),
    };
    match st.supervisor.call_platform(op, CALL_WAIT).await {
        Ok(_) => Ok(()),
        Err(CallError::Telegram(r)) if r.contains("CHARGE_ALREADY_REFUNDED") => Ok(()),
        Err(e) => Err(platform_error(e)),
    }
}

/// Gives back a payment whose tenant is gone (flagged when it arrived).
pub async fn refund_unowned(st: &Shared, payment: PaymentId) -> AppResult<PaymentRec> {
    let store = st.store.clone();
    let p = blocking(move || {
        store
            .catalog_read()?
            .all_payments()
            .map_err(AppError::from)
            .map(|all| {
                all.into_iter()
                    .find(|(id, _)| *id == payment)
                    .map(|(_, p)| p)
            })
    })
    .await?
    .ok_or(AppError::NotFound("payment"))?;
    if p.refund.is_some() {
        return Err(AppError::Conflict {
            code: "billing.refunded",
            message: "this payment was refunded already".into(),
        });
    }
    if p.flag.is_none() {
        return Err(AppError::NotFound("payment"));
    }
    if p.provider == PaymentProviderRec::Stars
        && let Some(payer) = &p.payer
    {
        give_back(st, payer, &p.charge_id).await?;
    }
    let (store, now) = (st.store.clone(), st.now());
    blocking(move || {
        let mut p = p;
        p.refund = Some(botyard_shards::records::RefundRec {
            at: now,
            by: None,
            credit_note: String::new(),
        });
        store
            .system_admin()
            .billing_write(|b| b.put_unowned_payment(payment, &p))?;
        Ok(p)
    })
    .await
}

/// What comparing the bot's Stars history with the books found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Unix seconds: history from here was compared.
    pub since: i64,
    /// Payments in Telegram's history.
    pub telegram_payments: u32,
    /// Stars payments in the books over the same time.
    pub recorded_payments: u32,
    /// Charges Telegram has that the books do not.
    pub missing_in_books: Vec<String>,
    /// Charges the books have that Telegram does not.
    pub missing_at_telegram: Vec<String>,
    /// Refunds on one side only.
    pub refund_mismatches: Vec<String>,
}

impl Reconciliation {
    pub fn matches(&self) -> bool {
        self.missing_in_books.is_empty()
            && self.missing_at_telegram.is_empty()
            && self.refund_mismatches.is_empty()
    }
}

/// Days of history compared.
pub const RECONCILE_DAYS: i64 = 35;
/// Payments younger than this may not be in one side yet.
const SETTLING_SECS: i64 = 600;
/// Pages of history read at most (100 entries each).
const MAX_PAGES: usize = 50;

/// Compares Telegram's history with the recorded Stars payments over `[since, until)`.
pub fn compare(
    history: &[crate::worker::telegram::StarsTxn],
    books: &[(PaymentId, PaymentRec)],
    since: i64,
    until: i64,
) -> Reconciliation {
    use std::collections::{BTreeMap, BTreeSet};
    let in_window = |at: i64| at >= since && at < until;
    let paid: BTreeSet<&str> = history
        .iter()
        .filter(|t| !t.refund && t.amount > 0 && in_window(t.at))
        .map(|t| t.id.as_str())
        .collect();
    let refunded_at_telegram: BTreeSet<&str> = history
        .iter()
        .filter(|t| t.refund)
        .map(|t| t.id.as_str())
        .collect();
    let recorded: BTreeMap<&str, &PaymentRec> = books
        .iter()
        .filter(|(_, p)| p.provider == PaymentProviderRec::Stars && in_window(p.paid_at))
        .map(|(_, p)| (p.charge_id.as_str(), p))
        .collect();
    let all_recorded: BTreeMap<&str, &PaymentRec> = books
        .iter()
        .filter(|(_, p)| p.provider == PaymentProviderRec::Stars)
        .map(|(_, p)| (p.charge_id.as_str(), p))
        .collect();
    Reconciliation {
        since,
        telegram_payments: paid.len() as u32,
        recorded_payments: recorded.len() as u32,
        missing_in_books: paid
            .iter()
            .filter(|id| !all_recorded.contains_key(*id))
            .map(|s| s.to_string())
            .collect(),
        missing_at_telegram: recorded
            .keys()
            .filter(|id| !paid.contains(*id))
            .map(|s| s.to_string())
            .collect(),
        refund_mismatches: recorded
            .iter()
            .filter(|(id, p)| p.refund.is_some() != refunded_at_telegram.contains(*id))
            .map(|(id, _)| id.to_string())
            .chain(
                refunded_at_telegram
                    .iter()
                    .filter(|id| {
                        all_recorded
                            .get(*id)
                            .is_some_and(|p| p.refund.is_none() && !recorded.contains_key(*id))
                    })
                    .map(|s| s.to_string()),
            )
            .collect(),
    }
}

/// Reads the bot's Stars history and compares it with the books; a difference raises an
/// alert for the admin.
pub async fn reconcile(st: &Shared) -> AppResult<Reconciliation> {
    let now = st.now();
    let since = now - RECONCILE_DAYS * lifecycle::DAY;
    let mut history = Vec::new();
    let mut offset = String::new();
    for _ in 0..MAX_PAGES {
        let page = match st
            .supervisor
            .call_platform(
                PortCall::StarsTransactions {
                    offset: offset.clone(),
                },
                CALL_WAIT,
            )
            .await
            .map_err(platform_error)?
        {
            CallOk::Transactions(p) if p.txns.len() <= StarsPage::MAX => p,
            _ => {
                return Err(AppError::Internal(
                    "the platform bot answered something else than a Stars history".into(),
                ));
            }
        };
        let older = page.txns.iter().any(|t| t.at < since);
        history.extend(page.txns);
        match page.next_offset {
            Some(o) if !older && o != offset => offset = o,
            _ => break,
        }
    }
    let store = st.store.clone();
    let books = blocking(move || Ok(store.catalog_read()?.all_payments()?)).await?;
    let r = compare(&history, &books, since, now - SETTLING_SECS);
    if !r.matches() {
        let detail = format!(
            "not in the books: {:?}; not at Telegram: {:?}; refunds differ: {:?}",
            r.missing_in_books, r.missing_at_telegram, r.refund_mismatches
        );
        tracing::warn!(%detail, "Stars reconciliation found differences");
        let store = st.store.clone();
        blocking(move || {
            crate::domain::alerts::raise(
                &store,
                now,
                RECONCILIATION,
                None,
                "Telegram Stars",
                &detail,
            )
        })
        .await?;
    }
    Ok(r)
}

/// The daily reconciliation, while a platform bot is set up and online.
pub async fn reconciliations(
    st: std::sync::Weak<AppState>,
    every: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(every) => {}
        }
        let Some(s) = st.upgrade() else { return };
        if s.supervisor.platform_bot().is_some() {
            match reconcile(&s).await {
                Ok(r) if r.matches() => tracing::info!(
                    payments = r.telegram_payments,
                    "Stars reconciliation: the books match"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "Stars reconciliation did not run; it runs again tomorrow")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: &str, at: i64, refund: bool) -> crate::worker::telegram::StarsTxn {
        crate::worker::telegram::StarsTxn {
            id: id.into(),
            amount: if refund { -100 } else { 100 },
            at,
            refund,
            user_id: Some(5),
        }
    }

    fn paid(id: &str, at: i64, refunded: bool) -> (PaymentId, PaymentRec) {
        (
            PaymentId(1),
            PaymentRec {
                tenant: TenantId(1),
                provider: PaymentProviderRec::Stars,
                amount: 100,
                currency: "XTR".into(),
                charge_id: id.into(),
                plan: PlanId(1),
                days: 30,
                paid_at: at,
                recorded_at: at,
                recorded_by: None,
                payer: None,
                refund: refunded.then(|| botyard_shards::records::RefundRec {
                    at,
                    by: None,
                    credit_note: "CN-2026-000001".into(),
                }),
                flag: None,
            },
        )
    }

    #[test]
    fn reconciliation_names_each_difference() {
        let h = [
            txn("a", 100, false),
            txn("b", 200, false),
            txn("b", 250, true),
            txn("c", 300, false),
            txn("old", 5, false),
        ];
        let books = [
            paid("a", 100, false),
            paid("b", 200, true),
            paid("d", 310, false),
            paid("old", 5, false),
        ];
        let r = compare(&h, &books, 50, 1000);
        assert_eq!(r.telegram_payments, 3);
        assert_eq!(r.recorded_payments, 3);
        assert_eq!(r.missing_in_books, vec!["c".to_string()]);
        assert_eq!(r.missing_at_telegram, vec!["d".to_string()]);
        assert!(r.refund_mismatches.is_empty(), "{r:?}");
        // A refund recorded that Telegram never made, and one the other way round.
        let books = [
            paid("a", 100, true),
            paid("b", 200, false),
            paid("c", 300, false),
        ];
        let r = compare(&h, &books, 50, 1000);
        assert_eq!(r.refund_mismatches, vec!["a".to_string(), "b".to_string()]);
        assert!(!r.matches());
        let books = [
            paid("a", 100, false),
            paid("b", 200, true),
            paid("c", 300, false),
        ];
        assert!(compare(&h, &books, 50, 1000).matches());
    }
}
