//! Telegram's side of Stars payments to a bot: invoices the bot exports, the pre-checkout
//! round trip with its 10-second deadline, the payment service message (first payments and
//! subscription renewals), refunds, and the bot's Stars history.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use grammers_tl_types::{self as tl, Identifiable};

use crate::{Answer, Call, defaults as d};

/// How long Telegram waits for a bot's pre-checkout answer.
pub const PRECHECKOUT_DEADLINE: Duration = Duration::from_secs(10);

/// An invoice the bot exported.
#[derive(Clone, Debug)]
pub struct Invoice {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub currency: String,
    pub stars: i64,
    pub payload: Vec<u8>,
    /// A subscription's period in seconds.
    pub period: Option<i32>,
    pub provider: Option<String>,
}

/// How the bot answered a pre-checkout query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Refused(String),
    /// The answer came after the deadline: Telegram refused it.
    Late,
}

/// One entry of the bot's Stars history.
#[derive(Clone, Debug)]
pub struct Txn {
    pub id: String,
    pub user: i64,
    pub amount: i64,
    pub date: i32,
    pub refund: bool,
}

#[derive(Default)]
struct State {
    invoices: Vec<Invoice>,
    queries: Vec<(i64, Instant, Option<Verdict>)>,
    next_query: i64,
    history: Vec<Txn>,
    refund_calls: Vec<(i64, i64, String)>,
    /// Subscriptions the bot stopped or restarted: (user, charge, restore).
    cancels: Vec<(i64, String, bool)>,
}

#[derive(Default)]
pub struct Stars {
    state: Mutex<State>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now() -> i32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or(0)
}

impl Stars {
    pub fn invoices(&self) -> Vec<Invoice> {
        lock(&self.state).invoices.clone()
    }

    /// The invoice behind a link the bot got.
    pub fn invoice(&self, url: &str) -> Option<Invoice> {
        let slug = url.rsplit('$').next()?;
        lock(&self.state)
            .invoices
            .iter()
            .find(|i| i.slug == slug)
            .cloned()
    }

    /// A pre-checkout query as Telegram pushes it when `user` presses Pay: `(updates, query)`.
    pub fn precheckout(
        &self,
        user: &tl::types::User,
        currency: &str,
        amount: i64,
        payload: &[u8],
    ) -> (tl::enums::Updates, i64) {
        let mut s = lock(&self.state);
        s.next_query += 1;
        let query_id = 9_000_000 + s.next_query;
        s.queries.push((query_id, Instant::now(), None));
        let update = tl::types::UpdateBotPrecheckoutQuery {
            query_id,
            user_id: user.id,
            payload: payload.to_vec(),
            info: None,
            shipping_option_id: None,
            currency: currency.to_string(),
            total_amount: amount,
        };
        let updates = tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![update.into()],
            users: vec![user.clone().into()],
            chats: Vec::new(),
            date: now(),
            seq: 0,
        });
        (updates, query_id)
    }

    /// How the bot answered a query, once it did.
    pub fn verdict(&self, query_id: i64) -> Option<Verdict> {
        lock(&self.state)
            .queries
            .iter()
            .find(|(q, _, _)| *q == query_id)
            .and_then(|(_, _, v)| v.clone())
    }

    /// Records a payment in the bot's history; the caller makes its service message.
    pub fn charge(&self, user: i64, amount: i64) -> String {
        let mut s = lock(&self.state);
        let id = format!("stxCHG{:04}u{user}", s.history.len() + 1);
        s.history.push(Txn {
            id: id.clone(),
            user,
            amount,
            date: now(),
            refund: false,
        });
        id
    }

    pub fn history(&self) -> Vec<Txn> {
        lock(&self.state).history.clone()
    }

    /// Refunds the bot asked for: (user, access hash, charge).
    pub fn refund_calls(&self) -> Vec<(i64, i64, String)> {
        lock(&self.state).refund_calls.clone()
    }

    /// Subscriptions the bot stopped (`false`) or restarted (`true`), by user and charge.
    pub fn cancels(&self) -> Vec<(i64, String, bool)> {
        lock(&self.state).cancels.clone()
    }

    /// The payment service message's action.
    pub fn payment_action(
        payload: &[u8],
        amount: i64,
        charge_id: &str,
        renewal: bool,
        until: Option<i32>,
    ) -> tl::enums::MessageAction {
        tl::types::MessageActionPaymentSentMe {
            recurring_init: until.is_some() && !renewal,
            recurring_used: renewal,
            currency: "XTR".into(),
            total_amount: amount,
            payload: payload.to_vec(),
            info: None,
            shipping_option_id: None,
            charge: tl::types::PaymentCharge {
                id: charge_id.to_string(),
                provider_charge_id: String::new(),
            }
            .into(),
            subscription_until_date: until,
        }
        .into()
    }

    /// Answers the payment methods a bot calls; `None` for any other call.
    pub fn answer(&self, call: &Call, known_users: &dyn Fn(i64, i64) -> bool) -> Option<Answer> {
        use tl::functions as f;
        let bad = || Answer::Error(400, "INPUT_REQUEST_INVALID".into());
        Some(match call.constructor {
            f::payments::ExportInvoice::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::payments::ExportInvoice>() else {
                    return Some(bad());
                };
                let tl::enums::InputMedia::Invoice(m) = req.invoice_media else {
                    return Some(Answer::Error(400, "MEDIA_INVALID".into()));
                };
                let tl::enums::Invoice::Invoice(inv) = m.invoice;
                let stars: i64 = inv
                    .prices
                    .iter()
                    .map(|p| match p {
                        tl::enums::LabeledPrice::Price(p) => p.amount,
                    })
                    .sum();
                // Telegram's rules for Stars invoices.
                if inv.currency != "XTR" || m.provider.as_deref().is_some_and(|p| !p.is_empty()) {
                    return Some(Answer::Error(400, "CURRENCY_INVALID".into()));
                }
                if inv.prices.len() != 1 || stars <= 0 || m.payload.len() > 128 {
                    return Some(Answer::Error(400, "INVOICE_PAYLOAD_INVALID".into()));
                }
                if inv.subscription_period.is_some_and(|p| p != 2_592_000) {
                    return Some(Answer::Error(400, "SUBSCRIPTION_PERIOD_INVALID".into()));
                }
                let mut s = lock(&self.state);
                let slug = format!("inv{}", s.invoices.len() + 1);
                s.invoices.push(Invoice {
                    slug: slug.clone(),
                    title: m.title,
                    description: m.description,
                    currency: inv.currency,
                    stars,
                    payload: m.payload,
                    period: inv.subscription_period,
                    provider: m.provider,
                });
                Answer::of(&tl::enums::payments::ExportedInvoice::Invoice(
                    tl::types::payments::ExportedInvoice {
                        url: format!("https://t.me/${slug}"),
                    },
                ))
            }
            f::messages::SetBotPrecheckoutResults::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::SetBotPrecheckoutResults>() else {
                    return Some(bad());
                };
                let mut s = lock(&self.state);
                let Some(q) = s
                    .queries
                    .iter_mut()
                    .find(|(q, _, v)| *q == req.query_id && v.is_none())
                else {
                    return Some(Answer::Error(400, "QUERY_ID_INVALID".into()));
                };
                if q.1.elapsed() > PRECHECKOUT_DEADLINE {
                    q.2 = Some(Verdict::Late);
                    return Some(Answer::Error(400, "QUERY_ID_INVALID".into()));
                }
                q.2 = Some(match (req.success, req.error) {
                    (true, None) => Verdict::Accepted,
                    (false, Some(e)) => Verdict::Refused(e),
                    _ => return Some(Answer::Error(400, "ERROR_TEXT_EMPTY".into())),
                });
                Answer::of(&true)
            }
            f::payments::RefundStarsCharge::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::payments::RefundStarsCharge>() else {
                    return Some(bad());
                };
                let tl::enums::InputUser::User(u) = req.user_id else {
                    return Some(Answer::Error(400, "USER_ID_INVALID".into()));
                };
                if !known_users(u.user_id, u.access_hash) {
                    return Some(Answer::Error(400, "USER_ID_INVALID".into()));
                }
                let mut s = lock(&self.state);
                s.refund_calls
                    .push((u.user_id, u.access_hash, req.charge_id.clone()));
                let Some(paid) = s
                    .history
                    .iter()
                    .find(|t| !t.refund && t.id == req.charge_id && t.user == u.user_id)
                    .cloned()
                else {
                    return Some(Answer::Error(400, "CHARGE_ID_INVALID".into()));
                };
                if s.history.iter().any(|t| t.refund && t.id == req.charge_id) {
                    return Some(Answer::Error(400, "CHARGE_ALREADY_REFUNDED".into()));
                }
                s.history.push(Txn {
                    id: paid.id,
                    user: paid.user,
                    amount: -paid.amount,
                    date: now(),
                    refund: true,
                });
                Answer::of(&tl::enums::Updates::Updates(tl::types::Updates {
                    updates: Vec::new(),
                    users: Vec::new(),
                    chats: Vec::new(),
                    date: now(),
                    seq: 0,
                }))
            }
            f::payments::BotCancelStarsSubscription::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::payments::BotCancelStarsSubscription>() else {
                    return Some(bad());
                };
                let tl::enums::InputUser::User(u) = req.user_id else {
                    return Some(Answer::Error(400, "USER_ID_INVALID".into()));
                };
                if !known_users(u.user_id, u.access_hash) {
                    return Some(Answer::Error(400, "USER_ID_INVALID".into()));
                }
                let mut s = lock(&self.state);
                if !s
                    .history
                    .iter()
                    .any(|t| !t.refund && t.id == req.charge_id && t.user == u.user_id)
                {
                    return Some(Answer::Error(400, "CHARGE_ID_INVALID".into()));
                }
                s.cancels.push((u.user_id, req.charge_id, req.restore));
                Answer::of(&true)
            }
            f::payments::GetStarsTransactions::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::payments::GetStarsTransactions>() else {
                    return Some(bad());
                };
                if !matches!(req.peer, tl::enums::InputPeer::PeerSelf) {
                    return Some(Answer::Error(400, "PEER_ID_INVALID".into()));
                }
                let s = lock(&self.state);
                let start: usize = if req.offset.is_empty() {
                    0
                } else {
                    match req.offset.parse() {
                        Ok(n) => n,
                        Err(_) => return Some(Answer::Error(400, "OFFSET_INVALID".into())),
                    }
                };
                let limit = req.limit.clamp(1, 100) as usize;
                let newest_first: Vec<&Txn> = s.history.iter().rev().collect();
                let page: Vec<tl::enums::StarsTransaction> = newest_first
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|t| {
                        tl::types::StarsTransaction {
                            refund: t.refund,
                            id: t.id.clone(),
                            amount: tl::types::StarsAmount {
                                amount: t.amount,
                                nanos: 0,
                            }
                            .into(),
                            date: t.date,
                            peer: tl::types::StarsTransactionPeer {
                                peer: tl::types::PeerUser { user_id: t.user }.into(),
                            }
                            .into(),
                            ..d::stars_transaction()
                        }
                        .into()
                    })
                    .collect();
                let end = start + page.len();
                let balance: i64 = s.history.iter().map(|t| t.amount).sum();
                Answer::of(&tl::enums::payments::StarsStatus::Status(
                    tl::types::payments::StarsStatus {
                        balance: tl::types::StarsAmount {
                            amount: balance,
                            nanos: 0,
                        }
                        .into(),
                        subscriptions: None,
                        subscriptions_next_offset: None,
                        subscriptions_missing_balance: None,
                        history: Some(page),
                        next_offset: (end < newest_first.len()).then(|| end.to_string()),
                        chats: Vec::new(),
                        users: Vec::new(),
                    },
                ))
            }
            _ => return None,
        })
    }
}
