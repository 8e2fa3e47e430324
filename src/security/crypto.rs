//! The master key and sealing of secrets at rest (XChaCha20-Poly1305).
//!
//! Key file: one key per line as `<id hex> <key hex>`, the first line the key that seals; the
//! others only open. Rotation writes the new key first, re-seals, then drops the old one, so a
//! crash half-way leaves every secret openable.
//! Sealed blob: `[1, key id (4 bytes), nonce (24), ciphertext+tag]`; the associated data names
//! what the secret is, so a blob copied to another slot does not open.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 4 + 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("sealed secret is malformed")]
    Malformed,
    #[error("sealed with key {0:08x}, which the key file does not hold")]
    UnknownKey(u32),
    #[error("secret does not open (wrong key, or tampered)")]
    Open,
    #[error("cannot seal secret")]
    Seal,
}

struct Key {
    id: u32,
    cipher: XChaCha20Poly1305,
    bytes: Zeroizing<[u8; 32]>,
}

/// The master keys. The first seals; all open.
pub struct Keyring {
    path: PathBuf,
    keys: Vec<Key>,
}

fn random_key() -> (u32, Zeroizing<[u8; 32]>) {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::fill(&mut k[..]);
    let mut id = [0u8; 4];
    rand::fill(&mut id[..]);
    (u32::from_be_bytes(id), k)
}

fn make_key(id: u32, bytes: Zeroizing<[u8; 32]>) -> Key {
    Key {
        id,
        cipher: XChaCha20Poly1305::new(&(*bytes).into()),
        bytes,
    }
}

impl Keyring {
    /// Loads the key file, creating it with a fresh key (mode 0600) when `create` and absent.
    pub fn load_or_create(path: &Path, create: bool) -> Result<Keyring, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        if !path.exists() {
            if !create {
                return Err(err("does not exist".into()));
            }
            let (id, k) = random_key();
            let ring = Keyring {
                path: path.to_path_buf(),
                keys: vec![make_key(id, k)],
            };
            ring.save()?;
            tracing::info!(path = %path.display(), "generated a new master key");
            return Ok(ring);
        }
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "master key file is readable by group or others; chmod 600 it");
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, key) = line
                .split_once(' ')
                .ok_or_else(|| err(format!("line {}: expected `<id> <key>`", n + 1)))?;
            let id = u32::from_str_radix(id, 16)
                .map_err(|_| err(format!("line {}: bad key id", n + 1)))?;
            let mut bytes = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(key.trim(), &mut bytes[..])
                .map_err(|_| err(format!("line {}: key must be 64 hex digits", n + 1)))?;
            keys.push(make_key(id, bytes));
        }
        if keys.is_empty() {
            return Err(err("holds no key".into()));
        }
        Ok(Keyring {
            path: path.to_path_buf(),
            keys,
        })
    }

    /// Writes the key file atomically with mode 0600.
    fn save(&self) -> Result<(), CryptoError> {
        let mut text = Zeroizing::new(String::from(
            "# botyard master key. Keep it apart from backups of the data. First line seals.\n",
        ));
        for k in &self.keys {
            text.push_str(&format!("{:08x} {}\n", k.id, hex::encode(&k.bytes[..])));
        }
        write_private(&self.path, text.as_bytes()).map_err(|e| CryptoError::KeyFile {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })
    }

    pub fn primary_id(&self) -> u32 {
        self.keys.first().map_or(0, |k| k.id)
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.keys.first().ok_or(CryptoError::Seal)?;
        let mut nonce = [0u8; 24];
        rand::fill(&mut nonce[..]);
        let ct = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(HEADER + ct.len());
        out.push(FORMAT);
        out.extend_from_slice(&key.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < HEADER + 16 || sealed[0] != FORMAT {
            return Err(CryptoError::Malformed);
        }
        let id = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(CryptoError::UnknownKey(id))?;
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&sealed[5..HEADER]);
        key.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &sealed[HEADER..],
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Open)
    }

    /// Step 1 of rotation: a new sealing key in front, the old ones kept. Saved before any
    /// secret is re-sealed.
    pub fn begin_rotation(&mut self) -> Result<u32, CryptoError> {
        let (id, k) = random_key();
        self.keys.insert(0, make_key(id, k));
        self.save()?;
        Ok(id)
    }

    /// Step 2: every secret now uses the first key; drop the rest.
    pub fn finish_rotation(&mut self) -> Result<(), CryptoError> {
        self.keys.truncate(1);
        self.save()
    }
}

/// SHA-256, for high-entropy tokens (refresh tokens, API keys, setup links) that are stored
/// hashed. Passwords use argon2id instead.
/// Writes a file only this user may read (mode 0600), atomically: a temporary file beside
/// it, synced, renamed over it, and the folder synced. Its folder is made when missing.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// A random 256-bit token, base64url without padding.
pub fn random_token() -> String {
    use base64::Engine;
    let mut b = Zeroizing::new([0u8; 32]);
    rand::fill(&mut b[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mut ring = Keyring::load_or_create(&path, true).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let sealed = ring.seal(b"bot token", b"slot-1").unwrap();
        assert_eq!(&ring.open(&sealed, b"slot-1").unwrap()[..], b"bot token");
        assert!(matches!(
            ring.open(&sealed, b"slot-2"),
            Err(CryptoError::Open)
        ));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            ring.open(&tampered, b"slot-1"),
            Err(CryptoError::Open)
        ));
        assert!(matches!(
            ring.open(&sealed[..10], b"slot-1"),
            Err(CryptoError::Malformed)
        ));

        let old = ring.primary_id();
        let new = ring.begin_rotation().unwrap();
        assert_ne!(old, new);
        // Mid-rotation (also after a crash: reload from disk) both open.
        let reloaded = Keyring::load_or_create(&path, false).unwrap();
        assert_eq!(
            &reloaded.open(&sealed, b"slot-1").unwrap()[..],
            b"bot token"
        );
        let resealed = ring.seal(b"bot token", b"slot-1").unwrap();
        ring.finish_rotation().unwrap();
        let after = Keyring::load_or_create(&path, false).unwrap();
        assert_eq!(after.primary_id(), new);
        assert!(matches!(
            after.open(&sealed, b"slot-1"),
            Err(CryptoError::UnknownKey(_))
        ));
        assert_eq!(&after.open(&resealed, b"slot-1").unwrap()[..], b"bot token");
    }
}
