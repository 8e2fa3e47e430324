//! The server's side of Telegram's SRP-2048 password check (core.telegram.org/api/srp), so
//! the fake can verify what a client computed from the password without ever seeing it.

use num_bigint::BigUint;
use sha2::{Digest, Sha256, Sha512};

/// Telegram's 2048-bit safe prime for SRP, with g = 3.
pub const P_HEX: &str = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b";
pub const G: u32 = 3;

pub fn p_bytes() -> Vec<u8> {
    (0..P_HEX.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&P_HEX[i..i + 2], 16).ok())
        .collect()
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

fn pad(b: &[u8]) -> [u8; 256] {
    let mut out = [0u8; 256];
    let n = b.len().min(256);
    out[256 - n..].copy_from_slice(&b[b.len() - n..]);
    out
}

fn sh(data: &[u8], salt: &[u8]) -> [u8; 32] {
    h(&[salt, data, salt])
}

/// x = PH2(password, salt1, salt2).
fn x(password: &str, salt1: &[u8], salt2: &[u8]) -> BigUint {
    let ph1 = sh(&sh(password.as_bytes(), salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2::<hmac::Hmac<Sha512>>(&ph1, salt1, 100_000, &mut dk).unwrap_or(());
    BigUint::from_bytes_be(&sh(&dk, salt2))
}

/// One password check in progress: the server's secret `b` and what the client was sent.
pub struct Challenge {
    pub salt1: Vec<u8>,
    pub salt2: Vec<u8>,
    pub g_b: [u8; 256],
    b: BigUint,
    v: BigUint,
}

impl Challenge {
    pub fn new(password: &str, salt1: Vec<u8>, salt2: Vec<u8>, b_bytes: [u8; 256]) -> Self {
        let p = BigUint::from_bytes_be(&p_bytes());
        let g = BigUint::from(G);
        let v = g.modpow(&x(password, &salt1, &salt2), &p);
        let k = BigUint::from_bytes_be(&h(&[&p_bytes(), &pad(&[G as u8])]));
        let b = BigUint::from_bytes_be(&b_bytes) % &p;
        let g_b = (k * &v + g.modpow(&b, &p)) % &p;
        Challenge {
            salt1,
            salt2,
            g_b: pad(&g_b.to_bytes_be()),
            b,
            v,
        }
    }

    /// Whether the client's `A` and `M1` prove knowledge of the password.
    pub fn verify(&self, g_a: &[u8], m1: &[u8]) -> bool {
        let p_raw = p_bytes();
        let p = BigUint::from_bytes_be(&p_raw);
        let a = BigUint::from_bytes_be(g_a);
        if a == BigUint::ZERO || a >= p {
            return false;
        }
        let g_a = pad(g_a);
        let u = BigUint::from_bytes_be(&h(&[&g_a, &self.g_b]));
        let s_b = (a * self.v.modpow(&u, &p)).modpow(&self.b, &p);
        let k_b = h(&[&pad(&s_b.to_bytes_be())]);
        let h_p = h(&[&p_raw]);
        let h_g = h(&[&pad(&[G as u8])]);
        let mut xor = [0u8; 32];
        for i in 0..32 {
            xor[i] = h_p[i] ^ h_g[i];
        }
        let expected = h(&[
            &xor,
            &h(&[&self.salt1]),
            &h(&[&self.salt2]),
            &g_a,
            &self.g_b,
            &k_b,
        ]);
        expected[..] == *m1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_computation_verifies_and_a_wrong_password_does_not() {
        let c = Challenge::new("şifre123", vec![1; 40], vec![2; 16], [7u8; 256]);
        let (m1, g_a) = grammers_crypto::two_factor_auth::calculate_2fa(
            &c.salt1,
            &c.salt2,
            &p_bytes(),
            &(G as i32),
            c.g_b.to_vec(),
            vec![9u8; 256],
            "şifre123",
        );
        assert!(c.verify(&g_a, &m1));
        let (m1, g_a) = grammers_crypto::two_factor_auth::calculate_2fa(
            &c.salt1,
            &c.salt2,
            &p_bytes(),
            &(G as i32),
            c.g_b.to_vec(),
            vec![9u8; 256],
            "yanlış",
        );
        assert!(!c.verify(&g_a, &m1));
        assert!(grammers_crypto::two_factor_auth::check_p_and_g(
            &p_bytes(),
            &3
        ));
    }
}
