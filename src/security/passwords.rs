//! Password policy and hashing. argon2id at the OWASP parameters on a bounded pool: at most
//! `workers` hashes run at once (19 MiB each) and at most `queue` wait, so a login flood costs
//! a fixed amount of memory and gets 503s instead of exhausting the machine.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::Secret;
use crate::error::AppError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .collect()
});

/// Refuses passwords that are too short, too long, or on the common list.
pub fn check_policy(field: &str, pw: &str) -> Result<(), AppError> {
    let n = pw.chars().count();
    if n < MIN_LEN {
        return Err(AppError::Invalid {
            code: "password.too_short",
            field: field.into(),
            message: format!("password must have at least {MIN_LEN} characters"),
        });
    }
    if n > MAX_LEN {
        return Err(AppError::Invalid {
            code: "password.too_long",
            field: field.into(),
            message: format!("password must have at most {MAX_LEN} characters"),
        });
    }
    if COMMON.contains(pw.to_lowercase().as_str()) {
        return Err(AppError::Invalid {
            code: "password.too_common",
            field: field.into(),
            message: "this password is on the list of commonly used passwords; choose another"
                .into(),
        });
    }
    Ok(())
}

fn argon() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// The argon2 working memory of this hashing thread, allocated once and reused, so the
    /// allocator never gets 19 MiB back to keep.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs argon2 `a` into `out` on this thread's reused working memory.
fn argon_into(a: &Argon2<'_>, pw: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), AppError> {
    let count = a.params().block_count();
    BLOCKS
        .with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < count {
                b.resize(count, argon2::Block::default());
            }
            a.hash_password_into_with_memory(pw, salt, out, &mut b[..count])
        })
        .map_err(|e| AppError::Internal(format!("hash: {e}")))
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `pw`, with a random salt.
pub(crate) fn hash_phc(pw: &[u8]) -> Result<String, AppError> {
    use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
    let a = argon()?;
    let err = |e: argon2::password_hash::phc::Error| AppError::Internal(format!("hash: {e}"));
    let salt_bytes: [u8; 16] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(err)?;
    let mut out = [0u8; 32];
    argon_into(&a, pw, salt.as_ref(), &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(a.params())
            .map_err(|e| AppError::Internal(format!("hash: {e}")))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(err)?),
    };
    Ok(phc.to_string())
}

/// Whether `pw` matches the PHC string `phc` (compared in constant time).
fn verify_phc(pw: &[u8], phc: &str) -> Result<bool, AppError> {
    use argon2::password_hash::phc::{Output, PasswordHash};
    let bad = |e: String| AppError::Internal(format!("stored password hash: {e}"));
    let h = PasswordHash::new(phc).map_err(|e| bad(e.to_string()))?;
    let params = Params::try_from(&h).map_err(|e| bad(e.to_string()))?;
    let algorithm = Algorithm::try_from(h.algorithm.as_str()).map_err(|e| bad(e.to_string()))?;
    let version = match h.version {
        Some(v) => Version::try_from(v).map_err(|e| bad(e.to_string()))?,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return Err(bad("no salt or hash".into()));
    };
    let a = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon_into(&a, pw, salt.as_ref(), &mut out)?;
    let got = Output::new(&out).map_err(|e| bad(e.to_string()))?;
    Ok(got == expected)
}

/// A fixed set of hashing threads fed by a bounded queue. Fixed threads, not the runtime's
/// blocking pool: each thread keeps the allocator's memory for the 19 MiB argon2 blocks it
/// reuses, so a flood costs `workers` × 19 MiB, not an arena for every thread a burst spawned
/// (measured in docs/PERFORMANCE.md: 310 MB kept after a flood before, now bounded).
pub struct HashPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
    dummy: OnceLock<String>,
}

impl HashPool {
    /// `workers` threads; at most `queue` hashes wait, beyond that callers get `auth.busy`.
    pub fn new(workers: usize, queue: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("hash-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take one job.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(p) => p.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            // The pool is gone: the server stops.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        HashPool {
            jobs: tx,
            dummy: OnceLock::new(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.try_send(job).map_err(|e| match e {
            std::sync::mpsc::TrySendError::Full(_) => AppError::Busy { code: "auth.busy" },
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                AppError::Internal("password hashing threads are gone".into())
            }
        })?;
        rx.await
            .map_err(|_| AppError::Internal("hash task ended without an answer".into()))?
    }

    pub async fn hash(&self, pw: Secret) -> Result<String, AppError> {
        self.run(move || hash_phc(pw.expose().as_bytes())).await
    }

    /// Verifies `pw` against a PHC string. With `None` (unknown account) it still spends the
    /// same work on a dummy hash, so timing does not reveal whether the account exists.
    pub async fn verify(&self, pw: Secret, phc: Option<String>) -> Result<bool, AppError> {
        let known = phc.is_some();
        let phc = match phc {
            Some(p) => p,
            None => self.dummy().await?,
        };
        let ok = self
            .run(move || verify_phc(pw.expose().as_bytes(), &phc))
            .await?;
        Ok(ok && known)
    }

    async fn dummy(&self) -> Result<String, AppError> {
        if let Some(d) = self.dummy.get() {
            return Ok(d.clone());
        }
        let h = self
            .hash(Secret::new(crate::security::crypto::random_token()))
            .await?;
        Ok(self.dummy.get_or_init(|| h).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes made by the argon2 crate's own hasher (every stored one so far) verify on the
    /// reused memory, and ours verify with the crate's verifier.
    #[test]
    fn phc_strings_agree_with_the_argon2_crate_both_ways() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let a = argon().unwrap();
        let theirs = a.hash_password(b"kirmizi-fener-1907").unwrap().to_string();
        assert!(verify_phc(b"kirmizi-fener-1907", &theirs).unwrap());
        assert!(!verify_phc(b"kirmizi-fener-1908", &theirs).unwrap());
        let ours = hash_phc(b"mavi-deniz-1907").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(a.verify_password(b"mavi-deniz-1907", ours.as_str()).is_ok());
        assert!(
            a.verify_password(b"mavi-deniz-1908", ours.as_str())
                .is_err()
        );
        assert!(verify_phc(b"x", "not a phc string").is_err());
    }

    #[test]
    fn policy() {
        assert_eq!(
            check_policy("p", "short").unwrap_err().code(),
            "password.too_short"
        );
        assert_eq!(
            check_policy("p", &"x".repeat(129)).unwrap_err().code(),
            "password.too_long"
        );
        assert_eq!(
            check_policy("p", "Password123").unwrap_err().code(),
            "password.too_common"
        );
        assert_eq!(
            check_policy("p", "qwertyuiop").unwrap_err().code(),
            "password.too_common"
        );
        assert!(check_policy("p", "kırmızı-fener-1907").is_ok());
        // Length counts characters, not bytes.
        assert!(check_policy("p", "çğıöşüçğ").is_ok());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let pool = HashPool::new(1, 4);
        let h = pool.hash(Secret::new("kırmızı-fener-1907")).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            pool.verify(Secret::new("kırmızı-fener-1907"), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(Secret::new("wrong-password"), Some(h))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(Secret::new("anything-at-all"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flood_beyond_the_queue_gets_busy() {
        let pool = Arc::new(HashPool::new(1, 2));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let p = pool.clone();
            tasks.push(tokio::spawn(async move {
                p.hash(Secret::new("kırmızı-fener-1907")).await
            }));
        }
        let mut busy = 0;
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!(e.code(), "auth.busy");
                    busy += 1
                }
            }
        }
        assert!(busy > 0, "some requests must be refused");
        assert!(ok >= 1);
    }
}
