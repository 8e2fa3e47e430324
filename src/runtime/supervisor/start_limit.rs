//! The start-rate limit: a token bucket over worker starts.

use super::*;

/// Spaces worker starts: a token bucket, so a reboot with hundreds of tenants does not
/// connect every session at once.
pub struct StartLimiter {
    rate: f64,
    burst: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl StartLimiter {
    pub fn new(per_sec: f64, burst: u32) -> Self {
        StartLimiter {
            rate: per_sec.max(0.001),
            burst: f64::from(burst.max(1)),
            state: tokio::sync::Mutex::new((f64::from(burst.max(1)), tokio::time::Instant::now())),
        }
    }

    /// Waits for a start token.
    pub async fn acquire(&self) {
        let wait = {
            let mut st = self.state.lock().await;
            let now = tokio::time::Instant::now();
            let tokens =
                (st.0 + now.duration_since(st.1).as_secs_f64() * self.rate).min(self.burst);
            // Take the token now (possibly going negative) and wait for it outside the lock.
            *st = (tokens - 1.0, now);
            if tokens >= 1.0 {
                None
            } else {
                Some(Duration::from_secs_f64((1.0 - tokens) / self.rate))
            }
        };
        if let Some(w) = wait {
            tokio::time::sleep(w).await;
        }
    }
}
