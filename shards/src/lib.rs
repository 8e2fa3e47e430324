//! botyard's embedded store: `catalog.redb` for control data and `shards/NN.redb` for tenant
//! data, reached only through authorization scopes.

mod catalog;
mod catalog_billing;
mod catalog_growth;
mod catalog_notices;
mod catalog_outbox;
mod catalog_support;
pub mod changes;
mod error;
pub mod ids;
pub mod ingest;
pub mod inspect;
pub mod moves;
mod record;
pub mod records;
mod schema;
mod scope;
mod shard;
mod shard_campaigns;
mod shard_rules;
mod shard_stats;
mod shard_templates;
pub mod snapshot;
mod store;
pub mod tables;
pub mod transfer;
mod tx;

pub use catalog::{CatalogTx, Page, search_fold};
pub use catalog_billing::BillingTx;
pub use catalog_notices::Recipient;
pub use catalog_outbox::MailStep;
pub use error::{CodecError, MoveRefusal, OpenError, StoreError};
pub use record::{Rec, RecBytes, Record};
pub use redb::{ReadTransaction, WriteTransaction};
pub use schema::FileKind;
pub use scope::{Access, AdminScope, Principal, TenantCatalog, TenantScope};
pub use shard::{GroupFacts, SyncOutcome, TenantShard};
pub use shard_campaigns::DeliveryKey;
pub use shard_rules::{RULE_LOG_KEPT, RuleLogFilter};
pub use store::{SecretSlot, Shard, ShardBatch, Store, StoreConfig, shard_path};
pub use tx::Reader;
