//! Tenant bundles: one tenant carried to another appliance (the scale-out path when a VPS is
//! full). A bundle is a tar stream, always sealed with a transfer passphrase (the backup
//! format's sealing): `tables/NAME.ndjson` for each shard table (a line per row, the key and
//! the decoded record), `catalog/NAME.ndjson` for the tenant's rows in the catalog (members
//! with their sign-in, API keys, subscription, payments, invoices, imported auth keys),
//! `media/ID/NAME` for its files, and `bundle.json` last (format, schema versions, rows and
//! SHA-256 per file). Session secrets leave opened from the source's master key (the sealing
//! is their protection on the way) and are sealed again under the target's.
//!
//! The source stops the tenant's worker first and, once the bundle is on disk, releases the
//! tenant's sessions: an auth key never has two live owners. The target reads the bundle
//! through twice: first every checksum, then the import, so a damaged bundle changes nothing.

mod read;
mod write;

use botyard_shards::records::{
    AccountPrefsRec, ApiKeyRec, BillingProfileRec, InvoiceRec, PaymentRec, Role, SubEventRec,
    SubscriptionRec, TenantStatus,
};
use serde::{Deserialize, Serialize};

use crate::domain::backup::BackupError;
use crate::domain::backup::manifest::Entry;

pub use read::{Imported, import};
pub use write::{Exported, export};

/// The layout written today.
pub const FORMAT: u32 = 1;

/// `bundle.json`: what the bundle holds, written last.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: u32,
    pub created_at: i64,
    pub botyard_version: String,
    pub catalog_schema: u32,
    pub shard_schema: u32,
    pub tenant: TenantHead,
    pub files: Vec<TableFile>,
    pub media: Vec<Entry>,
}

/// The tenant as it was at the source.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantHead {
    pub source_id: u64,
    pub name: String,
    pub status: TenantStatus,
    pub plan: Option<String>,
    pub created_at: i64,
}

/// One NDJSON file of the bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFile {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// A line of a shard table's file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    k: serde_json::Value,
    v: serde_json::Value,
}

/// A member: the account comes along (an account with the same email on the target is used
/// as it is, its password kept).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRow {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: i64,
    pub password_changed_at: i64,
    pub prefs: AccountPrefsRec,
}

/// Plans are named on the way, since ids differ between appliances.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRow {
    pub rec: SubscriptionRec,
    pub plan: String,
    pub next_plan: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubEventRow {
    pub rec: SubEventRec,
    pub plan: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRow {
    /// The payment's id at the source, which its invoices name.
    pub id: u64,
    pub rec: PaymentRec,
    pub plan: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionKeyRow {
    pub session: u64,
    pub key_id: u64,
}

/// The catalog's files, in the order they are written.
pub const CATALOG_FILES: [&str; 8] = [
    "members",
    "api_keys",
    "subscription",
    "subscription_events",
    "billing_profile",
    "payments",
    "invoices",
    "session_keys",
];

/// The tenant's catalog rows as carried.
#[derive(Default)]
struct CatalogRows {
    members: Vec<MemberRow>,
    api_keys: Vec<ApiKeyRec>,
    subscription: Vec<SubscriptionRow>,
    subscription_events: Vec<SubEventRow>,
    billing_profile: Vec<BillingProfileRec>,
    payments: Vec<PaymentRow>,
    invoices: Vec<InvoiceRec>,
    session_keys: Vec<SessionKeyRow>,
}

/// The shard table holding sealed secrets: opened on export, sealed again on import.
const SECRETS_TABLE: &str = "tenant_secrets";

/// What can go wrong with a bundle, said so an operator knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    File(#[from] BackupError),
    #[error("store: {0}")]
    Store(#[from] botyard_shards::StoreError),
    #[error("this is not a tenant bundle, or it is damaged: {0}")]
    Damaged(String),
    #[error(
        "the bundle was written by a newer botyard (schema {found}, this one knows {supported}): upgrade this appliance first"
    )]
    Newer { found: u32, supported: u32 },
    #[error("the plan \"{0}\" does not exist here: create a plan with that name first")]
    UnknownPlan(String),
    #[error("{0}: was this bundle imported already?")]
    Taken(String),
    #[error("{0} exists already: choose another file name")]
    Exists(String),
    #[error("a session secret does not open with this appliance's master key")]
    Secret,
    #[error("{0}")]
    App(String),
}

impl From<BundleError> for crate::error::AppError {
    fn from(e: BundleError) -> Self {
        use crate::error::AppError;
        match e {
            BundleError::File(BackupError::Damaged(_) | BackupError::NotABackup(_)) => {
                AppError::BadRequest {
                    code: "bundle.invalid",
                    message: "this is not a tenant bundle, or it does not open: a wrong passphrase, or a damaged or cut-short file".into(),
                }
            }
            BundleError::File(b) => b.into(),
            BundleError::Store(s) if s.is_disk_full() => AppError::StorageFull,
            BundleError::Damaged(_) | BundleError::Newer { .. } => AppError::BadRequest {
                code: "bundle.invalid",
                message: e.to_string(),
            },
            BundleError::UnknownPlan(_) => AppError::Conflict {
                code: "bundle.unknown_plan",
                message: e.to_string(),
            },
            BundleError::Taken(_) | BundleError::Exists(_) => AppError::Conflict {
                code: "bundle.conflict",
                message: e.to_string(),
            },
            e => AppError::Internal(format!("bundle: {e}")),
        }
    }
}

impl From<crate::error::AppError> for BundleError {
    fn from(e: crate::error::AppError) -> Self {
        BundleError::App(e.to_string())
    }
}

fn damaged(what: impl Into<String>) -> BundleError {
    BundleError::Damaged(what.into())
}

/// Where a table's rows are inside the bundle.
fn table_path(name: &str) -> String {
    format!("tables/{name}.ndjson")
}

fn catalog_path(name: &str) -> String {
    format!("catalog/{name}.ndjson")
}

/// A secrets-table row's value, hex on both sides, passed through `f` with the associated data
/// of its slot under `tenant`: opened on export, sealed again on import.
fn convert_secret(
    tenant: botyard_shards::ids::TenantId,
    key: &serde_json::Value,
    value: &serde_json::Value,
    f: impl FnOnce(&[u8], &[u8]) -> Result<Vec<u8>, crate::security::crypto::CryptoError>,
) -> Result<serde_json::Value, BundleError> {
    use botyard_shards::ids::{SecretId, TenantId};
    let (_, id): (TenantId, SecretId) =
        serde_json::from_value(key.clone()).map_err(|e| damaged(e.to_string()))?;
    let bytes = zeroize::Zeroizing::new(
        value
            .as_str()
            .and_then(|s| hex::decode(s).ok())
            .ok_or_else(|| damaged("a secret is not hex"))?,
    );
    let aad = crate::security::keys::slot_aad(botyard_shards::SecretSlot::Tenant(tenant, id));
    let out = zeroize::Zeroizing::new(f(&bytes, &aad).map_err(|_| BundleError::Secret)?);
    Ok(serde_json::Value::String(hex::encode(&out[..])))
}
