//! Telegram Stars for a bot: invoice links, pre-checkout answers, refunds, the Stars history,
//! and the payment service messages and pre-checkout queries in the update stream.

use super::*;
use crate::worker::telegram::{
    CHARGE_ID_MAX, INVOICE_PAYLOAD_MAX, StarsInvoice, StarsPage, StarsTxn,
};

/// A Stars subscription's period: Telegram accepts exactly 30 days.
const SUBSCRIPTION_PERIOD: i32 = 30 * 86_400;
/// Entries asked for per page of the Stars history.
const HISTORY_PAGE: i32 = 100;

impl Grammers {
    pub(super) async fn invoice_link(&mut self, inv: &StarsInvoice) -> Result<String, PortError> {
        if inv.payload.len() > INVOICE_PAYLOAD_MAX || inv.stars <= 0 {
            return Err(PortError::Rejected(
                "invoice out of Telegram's limits".into(),
            ));
        }
        let req = tl::functions::payments::ExportInvoice {
            invoice_media: tl::types::InputMediaInvoice {
                title: inv.title.clone(),
                description: inv.description.clone(),
                photo: None,
                invoice: tl::types::Invoice {
                    test: false,
                    name_requested: false,
                    phone_requested: false,
                    email_requested: false,
                    shipping_address_requested: false,
                    flexible: false,
                    phone_to_provider: false,
                    email_to_provider: false,
                    recurring: false,
                    currency: "XTR".into(),
                    prices: vec![
                        tl::types::LabeledPrice {
                            label: inv.title.clone(),
                            amount: inv.stars,
                        }
                        .into(),
                    ],
                    max_tip_amount: None,
                    suggested_tip_amounts: None,
                    terms_url: None,
                    subscription_period: inv.monthly.then_some(SUBSCRIPTION_PERIOD),
                }
                .into(),
                payload: inv.payload.as_bytes().to_vec(),
                // Stars need no payment provider.
                provider: None,
                provider_data: tl::types::DataJson { data: "{}".into() }.into(),
                start_param: None,
                extended_media: None,
            }
            .into(),
        };
        let tl::enums::payments::ExportedInvoice::Invoice(e) =
            self.call(|| self.client.invoke(&req)).await?;
        Ok(e.url)
    }

    pub(super) async fn precheckout_answer(
        &mut self,
        query_id: i64,
        error: Option<&str>,
    ) -> Result<(), PortError> {
        let req = tl::functions::messages::SetBotPrecheckoutResults {
            success: error.is_none(),
            query_id,
            error: error.map(str::to_string),
        };
        self.call(|| self.client.invoke(&req)).await?;
        Ok(())
    }

    pub(super) async fn refund(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
    ) -> Result<(), PortError> {
        let req = tl::functions::payments::RefundStarsCharge {
            user_id: tl::types::InputUser {
                user_id,
                access_hash,
            }
            .into(),
            charge_id: charge_id.to_string(),
        };
        self.call(|| self.client.invoke(&req)).await?;
        Ok(())
    }

    pub(super) async fn history(&mut self, offset: &str) -> Result<StarsPage, PortError> {
        let req = tl::functions::payments::GetStarsTransactions {
            inbound: false,
            outbound: false,
            ascending: false,
            ton: false,
            subscription_id: None,
            peer: tl::enums::InputPeer::PeerSelf,
            offset: offset.to_string(),
            limit: HISTORY_PAGE,
        };
        let tl::enums::payments::StarsStatus::Status(s) =
            self.call(|| self.client.invoke(&req)).await?;
        let txns = s
            .history
            .unwrap_or_default()
            .into_iter()
            .take(StarsPage::MAX)
            .filter_map(|t| {
                let tl::enums::StarsTransaction::Transaction(t) = t;
                // TON is not Stars: not ours to reconcile.
                let tl::enums::StarsAmount::Amount(a) = t.amount else {
                    return None;
                };
                let amount = a.amount;
                let user_id = match t.peer {
                    tl::enums::StarsTransactionPeer::Peer(p) => match p.peer {
                        tl::enums::Peer::User(u) => Some(u.user_id),
                        _ => None,
                    },
                    _ => None,
                };
                Some(StarsTxn {
                    id: t.id.chars().take(CHARGE_ID_MAX).collect(),
                    amount,
                    at: i64::from(t.date),
                    refund: t.refund,
                    user_id,
                })
            })
            .collect();
        Ok(StarsPage {
            txns,
            next_offset: s.next_offset.filter(|o| !o.is_empty()),
        })
    }
}

/// A pre-checkout query as an event (bots only; Telegram sends them to no one else).
pub(super) fn precheckout_of(
    q: &tl::types::UpdateBotPrecheckoutQuery,
    users: &HashMap<i64, UserRef>,
) -> Option<IncomingEvent> {
    if q.payload.len() > INVOICE_PAYLOAD_MAX {
        return None;
    }
    let user = users.get(&q.user_id).cloned().unwrap_or(UserRef {
        id: q.user_id,
        first_name: String::new(),
        last_name: None,
        username: None,
    });
    Some(IncomingEvent::Precheckout {
        query_id: q.query_id,
        user,
        currency: q.currency.chars().take(8).collect(),
        amount: q.total_amount,
        payload: String::from_utf8_lossy(&q.payload).into_owned(),
        at: jiff::Timestamp::now().as_second(),
    })
}

/// The payment service message a bot gets in the payer's private chat, as an event.
pub(super) fn paid_of(
    m: &tl::types::MessageService,
    users: &HashMap<i64, UserRef>,
    hashes: &HashMap<i64, i64>,
) -> Option<IncomingEvent> {
    let tl::enums::Peer::User(peer) = &m.peer_id else {
        return None;
    };
    let tl::enums::MessageAction::PaymentSentMe(p) = &m.action else {
        return None;
    };
    let tl::enums::PaymentCharge::Charge(charge) = &p.charge;
    if p.payload.len() > INVOICE_PAYLOAD_MAX || charge.id.len() > CHARGE_ID_MAX {
        return None;
    }
    let user = users.get(&peer.user_id).cloned().unwrap_or(UserRef {
        id: peer.user_id,
        first_name: String::new(),
        last_name: None,
        username: None,
    });
    Some(IncomingEvent::Paid {
        user,
        access_hash: hashes.get(&peer.user_id).copied().unwrap_or(0),
        currency: p.currency.chars().take(8).collect(),
        amount: p.total_amount,
        payload: String::from_utf8_lossy(&p.payload).into_owned(),
        charge_id: charge.id.clone(),
        renewal: p.recurring_used,
        subscription_until: p.subscription_until_date.map(i64::from),
        at: i64::from(m.date),
    })
}
