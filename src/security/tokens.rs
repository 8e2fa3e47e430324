//! Access tokens: HS256 JWTs with an algorithm allowlist of one. `exp` and `nbf` are checked
//! against the injected clock (not the library's wall clock) so tests can move time.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use botyard_shards::ids::{AccountId, FamilyId};

/// What starts an API key, so a bearer value is told from an access token at a glance.
pub const API_KEY_PREFIX: &str = "bya_";

pub const AUDIENCE: &str = "botyard-api";
pub const ISSUER: &str = "botyard";
const LEEWAY: i64 = 30;

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
pub struct Claims {
    pub sub: String,
    /// Refresh-token family: revoking it ends this access token too.
    pub sid: u64,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("token is malformed or its signature is wrong")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
}

pub struct TokenKeys {
    secret: Zeroizing<Vec<u8>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut v = Validation::new(Algorithm::HS256);
        v.algorithms = vec![Algorithm::HS256];
        v.set_audience(&[AUDIENCE]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        // Time is checked below against the app's clock.
        v.validate_exp = false;
        v.validate_nbf = false;
        TokenKeys {
            secret: Zeroizing::new(secret.to_vec()),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation: v,
            ttl: ttl_secs,
        }
    }

    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    pub fn secret_len(&self) -> usize {
        self.secret.len()
    }

    pub fn issue(
        &self,
        account: AccountId,
        family: FamilyId,
        now: i64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            sub: account.to_string(),
            sid: family.0,
            aud: AUDIENCE.into(),
            iss: ISSUER.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<(AccountId, FamilyId), TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let c = data.claims;
        if now > c.exp + LEEWAY {
            return Err(TokenError::Expired);
        }
        if now + LEEWAY < c.nbf {
            return Err(TokenError::NotYetValid);
        }
        let account = c.sub.parse().map_err(|_| TokenError::Invalid)?;
        Ok((AccountId(account), FamilyId(c.sid)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], 900)
    }

    fn forge(header: &str, claims: &serde_json::Value, sig: &str) -> String {
        format!(
            "{}.{}.{}",
            B64.encode(header),
            B64.encode(claims.to_string()),
            sig
        )
    }

    #[test]
    fn round_trip_and_time_checks() {
        let k = keys();
        let t = k.issue(AccountId(5), FamilyId(9), 1_000_000).unwrap();
        assert_eq!(
            k.verify(&t, 1_000_100).unwrap(),
            (AccountId(5), FamilyId(9))
        );
        assert_eq!(k.verify(&t, 1_000_000 + 900 + 31), Err(TokenError::Expired));
        assert_eq!(k.verify(&t, 1_000_000 - 31), Err(TokenError::NotYetValid));
    }

    #[test]
    fn rejects_tampering_other_keys_none_and_audience() {
        let k = keys();
        let t = k.issue(AccountId(5), FamilyId(9), 1_000_000).unwrap();
        // Another key.
        let other = TokenKeys::new(&[8u8; 32], 900);
        assert_eq!(other.verify(&t, 1_000_000), Err(TokenError::Invalid));
        // Tampered payload (sub changed, signature kept).
        let parts: Vec<&str> = t.split('.').collect();
        let claims = serde_json::json!({"sub":"1","sid":9,"aud":AUDIENCE,"iss":ISSUER,"iat":1_000_000,"nbf":1_000_000,"exp":1_000_900});
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(claims.to_string()),
            parts[2]
        );
        assert_eq!(k.verify(&tampered, 1_000_000), Err(TokenError::Invalid));
        // alg: none, unsigned.
        let none = forge(r#"{"alg":"none","typ":"JWT"}"#, &claims, "");
        assert_eq!(k.verify(&none, 1_000_000), Err(TokenError::Invalid));
        // Algorithm switch to HS512 signed with the same secret.
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(k.verify(&hs512, 1_000_000), Err(TokenError::Invalid));
        // Wrong audience, properly signed.
        let mut wrong_aud = claims.clone();
        wrong_aud["aud"] = "someone-else".into();
        let t2 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &wrong_aud,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(k.verify(&t2, 1_000_000), Err(TokenError::Invalid));
        // Missing nbf.
        let mut no_nbf = claims.clone();
        no_nbf.as_object_mut().unwrap().remove("nbf");
        let t3 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &no_nbf,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(k.verify(&t3, 1_000_000), Err(TokenError::Invalid));
        assert_eq!(k.verify("garbage", 1_000_000), Err(TokenError::Invalid));
    }
}
