//! Shared application state, built once at start and handed to every handler.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use botyard_shards::Store;
use botyard_shards::ids::ApiKeyId;
use botyard_shards::ingest::IngestHandle;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::runtime::metrics::Metrics;
use crate::runtime::tenant_logs::TenantLogs;
use crate::security::crypto::Keyring;
use crate::security::lockout::Lockout;
use crate::security::passwords::HashPool;
use crate::security::tokens::TokenKeys;

pub struct AppState {
    pub config: Config,
    /// The URL built from the listening address, for when no public URL is set.
    pub bound_url: String,
    /// The appliance settings in force (configuration, then the console's); read with
    /// [`AppState::appliance`].
    pub appliance: std::sync::RwLock<Arc<crate::domain::appliance::effective::Effective>>,
    /// Saves of the appliance settings run one at a time.
    pub appliance_save: tokio::sync::Mutex<()>,
    pub store: Arc<Store>,
    pub keyring: Arc<Keyring>,
    pub tokens: TokenKeys,
    pub hashes: HashPool,
    pub lockout: Lockout,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
    pub tenant_logs: Arc<TenantLogs>,
    pub ingest: Option<IngestHandle>,
    pub supervisor: Arc<crate::runtime::supervisor::Supervisor>,
    pub scheduler: Arc<crate::domain::campaigns::scheduler::Scheduler>,
    /// When each API key's last-used time was last written, so a busy key costs one write a
    /// minute rather than one per request.
    pub api_key_touched: Mutex<HashMap<ApiKeyId, i64>>,
    /// One-time codes that link an account to a Telegram user.
    pub link_codes: crate::domain::telegram_link::codes::LinkCodes,
    /// One-time console sign-in links the platform bot's `/web` hands out.
    pub web_links: crate::domain::telegram_link::codes::LinkCodes,
    /// Telegram users who pressed Start and may sign up in the Mini-App.
    pub signup_starts: crate::domain::signup::starts::Starts,
    /// Signs the payloads of Stars invoices.
    pub payload_key: crate::domain::billing::payload::PayloadKey,
    /// Signs marketing mail's unsubscribe links.
    pub unsubscribe_key: crate::domain::mail::unsubscribe::UnsubscribeKey,
    pub ready: AtomicBool,
    /// Wakes the outbox's sender when a mail was queued.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Whether a backup runs (one at a time) and how the last one ended.
    pub backups: Arc<crate::domain::backup::status::Status>,
    /// The dashboard's slow facts, shared for a moment (see `domain::overview`).
    pub overview: crate::domain::overview::Cache,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn appliance(&self) -> Arc<crate::domain::appliance::effective::Effective> {
        match self.appliance.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_appliance(&self, e: crate::domain::appliance::effective::Effective) {
        let e = Arc::new(e);
        match self.appliance.write() {
            Ok(mut g) => *g = e,
            Err(p) => *p.into_inner() = e,
        }
    }

    /// The URL people reach this server at, for links the server hands out.
    pub fn base_url(&self) -> String {
        self.appliance().base_url.clone()
    }
}

/// Runs blocking store work (writes wait for fsync) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    // Keep the request's span (tenant, app instance) for events logged inside `f`.
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
}
