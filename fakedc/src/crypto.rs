//! The server's half of MTProto 2.0 message encryption: it decrypts what a client sent
//! (x = 0) and encrypts what it sends back (x = 8). grammers-crypto implements only the
//! client's half, which the tests use as the other side.

use grammers_crypto::aes::{ige_decrypt, ige_encrypt};
use sha2::{Digest, Sha256};

/// A 2048-bit auth key and its id (the low 64 bits of its SHA-1).
#[derive(Clone)]
pub struct Key {
    pub data: [u8; 256],
    pub id: [u8; 8],
}

impl Key {
    pub fn new(data: [u8; 256]) -> Self {
        use sha1::Digest as _;
        let h = sha1::Sha1::digest(data);
        let mut id = [0u8; 8];
        id.copy_from_slice(&h[12..20]);
        Key { data, id }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// Shorter than a header, or not a whole number of AES blocks.
    Length(usize),
    /// Encrypted with another key.
    UnknownKey([u8; 8]),
    /// The message key does not match the decrypted text: tampered or wrong direction.
    MsgKey,
}

fn key_iv(key: &Key, msg_key: &[u8; 16], x: usize) -> ([u8; 32], [u8; 32]) {
    let a = Sha256::new()
        .chain_update(msg_key)
        .chain_update(&key.data[x..x + 36])
        .finalize();
    let b = Sha256::new()
        .chain_update(&key.data[40 + x..40 + x + 36])
        .chain_update(msg_key)
        .finalize();
    let mut aes_key = [0u8; 32];
    aes_key[..8].copy_from_slice(&a[..8]);
    aes_key[8..24].copy_from_slice(&b[8..24]);
    aes_key[24..].copy_from_slice(&a[24..]);
    let mut iv = [0u8; 32];
    iv[..8].copy_from_slice(&b[..8]);
    iv[8..24].copy_from_slice(&a[8..24]);
    iv[24..].copy_from_slice(&b[24..]);
    (aes_key, iv)
}

fn msg_key(key: &Key, plain: &[u8], x: usize) -> [u8; 16] {
    let large = Sha256::new()
        .chain_update(&key.data[88 + x..88 + x + 32])
        .chain_update(plain)
        .finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&large[8..24]);
    k
}

/// Decrypts a client's message: `auth_key_id ‖ msg_key ‖ ciphertext` → plaintext (with its
/// padding; the inner length field says where the message ends).
pub fn decrypt_from_client(key: &Key, packet: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if packet.len() < 24 + 16 || !(packet.len() - 24).is_multiple_of(16) {
        return Err(CryptoError::Length(packet.len()));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&packet[..8]);
    if id != key.id {
        return Err(CryptoError::UnknownKey(id));
    }
    let mut mk = [0u8; 16];
    mk.copy_from_slice(&packet[8..24]);
    let (k, iv) = key_iv(key, &mk, 0);
    let mut plain = packet[24..].to_vec();
    ige_decrypt(&mut plain, &k, &iv);
    if msg_key(key, &plain, 0) != mk {
        return Err(CryptoError::MsgKey);
    }
    Ok(plain)
}

/// Encrypts a server message for the client, adding 12–1024 bytes of padding.
pub fn encrypt_for_client(key: &Key, plain: &[u8], padding_seed: u8) -> Vec<u8> {
    let mut buf = plain.to_vec();
    let pad = 16 + (16 - buf.len() % 16);
    buf.extend((0..pad).map(|i| padding_seed.wrapping_add(i as u8)));
    let mk = msg_key(key, &buf, 8);
    let (k, iv) = key_iv(key, &mk, 8);
    ige_encrypt(&mut buf, &k, &iv);
    let mut out = Vec::with_capacity(24 + buf.len());
    out.extend_from_slice(&key.id);
    out.extend_from_slice(&mk);
    out.extend_from_slice(&buf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::{AuthKey, DequeBuffer, decrypt_data_v2, encrypt_data_v2};

    fn key() -> [u8; 256] {
        let mut k = [0u8; 256];
        for (i, b) in k.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        k
    }

    #[test]
    fn both_directions_agree_with_the_client_implementation() {
        let ours = Key::new(key());
        let theirs = AuthKey::from_bytes(key());
        let msg: Vec<u8> = (0..100u8).collect();

        // Client → server.
        let mut buf = DequeBuffer::with_capacity(256, 64);
        buf.extend(msg.iter().copied());
        encrypt_data_v2(&mut buf, &theirs);
        let plain = decrypt_from_client(&ours, &buf[..]).unwrap();
        assert_eq!(&plain[..100], &msg[..]);

        // Server → client.
        let mut packet = encrypt_for_client(&ours, &msg, 3);
        let back = decrypt_data_v2(&mut packet, &theirs).unwrap();
        assert_eq!(&back[..100], &msg[..]);

        // Tampering is caught.
        let mut bad = encrypt_for_client(&ours, &msg, 3);
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(decrypt_data_v2(&mut bad, &theirs).is_err());
        let other = Key::new([9u8; 256]);
        assert!(matches!(
            decrypt_from_client(&other, &buf[..]),
            Err(CryptoError::UnknownKey(_))
        ));
    }
}
