//! The signed unsubscribe link of marketing mail: it names an account and carries an HMAC
//! of it, so it works without signing in and cannot be made for another account.

use base64::Engine;
use botyard_shards::ids::AccountId;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The key unsubscribe links are signed with, derived from the token signing secret.
pub struct UnsubscribeKey(HmacSha256);

impl UnsubscribeKey {
    /// At start-up: HMAC takes a key of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    pub fn derive(secret: &[u8]) -> UnsubscribeKey {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC key");
        m.update(b"botyard:unsubscribe:v1");
        let key = m.finalize().into_bytes();
        UnsubscribeKey(<HmacSha256 as KeyInit>::new_from_slice(&key).expect("HMAC key"))
    }

    fn mac(&self, account: AccountId) -> HmacSha256 {
        let mut m = self.0.clone();
        m.update(format!("unsubscribe|{}", account.0).as_bytes());
        m
    }

    /// The link's signature for `account`.
    pub fn sign(&self, account: AccountId) -> String {
        let tag = self.mac(account).finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16])
    }

    /// Whether `sig` is `account`'s signature (compared in constant time).
    pub fn verify(&self, account: AccountId, sig: &str) -> bool {
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig.trim()) else {
            return false;
        };
        tag.len() == 16 && self.mac(account).verify_truncated_left(&tag).is_ok()
    }

    /// The one-click link for `account` under `base`.
    pub fn url(&self, base: &str, account: AccountId) -> String {
        format!(
            "{base}/unsubscribe?a={}&s={}",
            account.0,
            self.sign(account)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_for_its_account_only_and_any_change_breaks_it() {
        let k = UnsubscribeKey::derive(b"secret");
        let sig = k.sign(AccountId(7));
        assert!(k.verify(AccountId(7), &sig));
        assert!(!k.verify(AccountId(8), &sig), "another account");
        let mut bad = sig.clone().into_bytes();
        bad[0] = if bad[0] == b'A' { b'B' } else { b'A' };
        assert!(
            !k.verify(AccountId(7), &String::from_utf8(bad).unwrap()),
            "altered"
        );
        assert!(!k.verify(AccountId(7), &sig[..10]), "shortened");
        assert!(!k.verify(AccountId(7), "%%%"), "not base64");
        assert!(
            !UnsubscribeKey::derive(b"other").verify(AccountId(7), &sig),
            "another key"
        );
    }
}
