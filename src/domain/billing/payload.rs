//! A Stars invoice's payload: it names the tenant, the plan and the price, and carries a MAC
//! made with a key of the appliance's own, so a payload the appliance did not make (forged,
//! or another bot's) is refused at pre-checkout and never credited.

use base64::Engine;
use botyard_shards::ids::{PlanId, TenantId};
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The key that signs invoice payloads, derived from the token signing key (both stay on the
/// server).
#[derive(Clone)]
pub struct PayloadKey(HmacSha256);

impl PayloadKey {
    /// At start-up: HMAC takes a key of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    pub fn derive(secret: &[u8]) -> PayloadKey {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC key");
        m.update(b"botyard:stars-payload:v1");
        let key = m.finalize().into_bytes();
        PayloadKey(<HmacSha256 as KeyInit>::new_from_slice(&key).expect("HMAC key"))
    }

    fn tag(&self, body: &str) -> String {
        let mut m = self.0.clone();
        m.update(body.as_bytes());
        let tag = m.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..12])
    }
}

/// What an invoice pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A period of the plan (the first, or a renewal), as a monthly Stars subscription.
    Period,
    /// An upgrade to the plan, once, at its prorated price.
    Upgrade,
}

/// What an invoice's payload says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    pub tenant: TenantId,
    pub plan: PlanId,
    pub stars: u32,
    pub purpose: Purpose,
}

impl Payload {
    fn body(&self) -> String {
        let p = match self.purpose {
            Purpose::Period => 'p',
            Purpose::Upgrade => 'u',
        };
        format!("by1.{p}.{}.{}.{}", self.tenant.0, self.plan.0, self.stars)
    }

    pub fn encode(&self, key: &PayloadKey) -> String {
        let body = self.body();
        let mac = key.tag(&body);
        format!("{body}.{mac}")
    }

    /// The payload, when the appliance made it.
    pub fn decode(text: &str, key: &PayloadKey) -> Option<Payload> {
        let (body, mac) = text.rsplit_once('.')?;
        let expected = key.tag(body);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            mac.as_bytes(),
        )) {
            return None;
        }
        let mut it = body.split('.');
        if it.next()? != "by1" {
            return None;
        }
        let purpose = match it.next()? {
            "p" => Purpose::Period,
            "u" => Purpose::Upgrade,
            _ => return None,
        };
        let tenant = TenantId(it.next()?.parse().ok()?);
        let plan = PlanId(it.next()?.parse().ok()?);
        let stars = it.next()?.parse().ok()?;
        it.next().is_none().then_some(Payload {
            tenant,
            plan,
            stars,
            purpose,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_the_appliances_own() {
        let key = PayloadKey::derive(&[7u8; 32]);
        let p = Payload {
            tenant: TenantId(12),
            plan: PlanId(3),
            stars: 250,
            purpose: Purpose::Period,
        };
        let text = p.encode(&key);
        assert!(
            text.len() <= crate::worker::telegram::INVOICE_PAYLOAD_MAX,
            "{text}"
        );
        assert_eq!(Payload::decode(&text, &key), Some(p));
        // Another key, a changed price or tenant, junk: refused.
        assert_eq!(
            Payload::decode(&text, &PayloadKey::derive(&[8u8; 32])),
            None
        );
        let tampered = text.replace(".250.", ".25.");
        assert_eq!(Payload::decode(&tampered, &key), None);
        let other = text.replacen(".12.", ".13.", 1);
        assert_eq!(Payload::decode(&other, &key), None);
        for junk in ["", "by1", "by1.p.1.2.3", "x.y", "by1.p.1.2.3.4.mac"] {
            assert_eq!(Payload::decode(junk, &key), None, "{junk}");
        }
    }
}
