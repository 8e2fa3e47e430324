//! Password policy and hashing. argon2id at the OWASP parameters on a bounded pool: at most
//! `workers` hashes run at once (19 MiB each) and at most `queue` wait, so a login flood costs
//! a fixed amount of memory and gets 503s instead of exhausting the machine.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::config::Secret;
use crate::error::AppError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../assets/common-passwords.txt")
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

pub struct HashPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    dummy: OnceLock<String>,
}

impl HashPool {
    pub fn new(workers: usize, queue: usize) -> Self {
        HashPool {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            dummy: OnceLock::new(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst)
            >= self.queue + self.permits.available_permits()
        {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::Busy { code: "auth.busy" });
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| AppError::Busy { code: "auth.busy" })?;

        tokio::task::spawn_blocking(move || {
            let r = f();
            drop(permit);
            r
        })
        .await
        .map_err(|e| AppError::Internal(format!("hash task: {e}")))?
    }

    pub async fn hash(&self, pw: Secret) -> Result<String, AppError> {
        self.run(move || {
            argon()?
                .hash_password(pw.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(format!("hash: {e}")))
        })
        .await
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
            .run(move || {
                Ok(argon()?
                    .verify_password(pw.expose().as_bytes(), phc.as_str())
                    .is_ok())
            })
            .await?;
        Ok(ok && known)
    }

    async fn dummy(&self) -> Result<String, AppError> {
        if let Some(d) = self.dummy.get() {
            return Ok(d.clone());
        }
        let h = self
            .hash(Secret::new(crate::crypto::random_token()))
            .await?;
        Ok(self.dummy.get_or_init(|| h).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
