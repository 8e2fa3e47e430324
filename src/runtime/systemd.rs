//! Telling systemd how the server is doing (`Type=notify`): `READY=1` once the store is open
//! and the listener bound, `WATCHDOG=1` while the server's loop and its store answer, and
//! `STOPPING=1` when shutdown begins.
//!
//! Outside systemd (no `NOTIFY_SOCKET`) every call does nothing, so tests and `cargo run`
//! need no switch. Failures to notify are logged once, never fatal: the unit's own timeouts
//! are the fallback.

use std::sync::Arc;
use std::time::Duration;

use botyard_shards::Store;
use sd_notify::NotifyState;
use tokio::sync::oneshot;

/// The service manager's socket, read once at start-up.
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    enabled: bool,
    /// systemd's `WatchdogSec=`, when the unit sets it for this process.
    watchdog: Option<Duration>,
}

impl Notifier {
    /// The notifier systemd asked for through `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
    pub fn from_env() -> Self {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    /// One that never notifies (tests, `RunOptions::default`).
    pub fn none() -> Self {
        Notifier::default()
    }

    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }

    /// Pings the watchdog at half its interval for as long as a read of the catalog answers
    /// within that half; a wedged store or runtime stops the pings and systemd restarts the
    /// service. Returns `None` when no watchdog is asked for.
    pub fn keep_alive(
        &self,
        store: Arc<Store>,
        stop: oneshot::Receiver<()>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.watchdog?.checked_div(2)?;
        if !self.enabled || every.is_zero() {
            return None;
        }
        let me = self.clone();
        Some(tokio::spawn(async move {
            let mut stop = stop;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tick.tick() => {}
                }
                let store = store.clone();
                let probe = tokio::task::spawn_blocking(move || store.catalog_read().map(drop));
                match tokio::time::timeout(every, probe).await {
                    Ok(Ok(Ok(()))) => me.send(&[NotifyState::Watchdog]),
                    Ok(Ok(Err(e))) => {
                        tracing::error!(error = %e, "watchdog: the catalog does not answer; not pinging")
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "watchdog: probe failed; not pinging")
                    }
                    Err(_) => tracing::error!(
                        "watchdog: the catalog took longer than {every:?}; not pinging"
                    ),
                }
            }
        }))
    }
}
