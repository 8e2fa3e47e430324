use crate::ids::TenantId;

/// A stored value that does not decode. Means a bug or a damaged file, never user input.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{record}: value is truncated")]
    Truncated { record: &'static str },
    #[error("{record}: value has tag {found}, not this record's")]
    WrongTag { record: &'static str, found: u8 },
    #[error("{record}: unknown record version {version}")]
    UnknownVersion { record: &'static str, version: u8 },
    #[error("{record}: cannot decode: {reason}")]
    Decode {
        record: &'static str,
        reason: String,
    },
    #[error("{record}: cannot encode: {reason}")]
    Encode {
        record: &'static str,
        reason: String,
    },
}

/// Errors of opening the store: these stop the server before it serves.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: another botyard process has this database open (stop it first)")]
    AlreadyOpen { path: String },
    #[error(
        "{path}: schema version {found} is newer than this binary's {supported}; refusing to downgrade"
    )]
    Downgrade {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("{path}: this is a {found} file, expected a {expected} file")]
    WrongKind {
        path: String,
        found: String,
        expected: &'static str,
    },
    #[error(
        "store was created with {found} shards, configuration says {configured}; the shard count is fixed at first start"
    )]
    ShardCount { found: u32, configured: u32 },
    #[error("shard file {path} is missing")]
    MissingShard { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Db {
        path: String,
        #[source]
        source: redb::Error,
    },
}

/// Errors of store operations after open.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("tenant {0} has no shard placement")]
    NoPlacement(TenantId),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    #[error("the file holds a table this binary does not know: {0}")]
    UnknownTable(String),
    #[error("the file fails redb's integrity check")]
    Damaged,
    #[error("the table dump is damaged: {0}")]
    BadDump(&'static str),
    #[error("tenant {0} moved to another shard meanwhile")]
    Moved(TenantId),
    #[error("{0}")]
    MoveRefused(MoveRefusal),
    /// A row brought in from outside (a tenant bundle) does not fit its table.
    #[error("a row of {table} does not fit: {reason}")]
    BadRow { table: String, reason: String },
}

/// Why a tenant move is refused before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefusal {
    #[error("another tenant is being moved; try again when it is done")]
    Busy,
    #[error("there is no such shard")]
    NoSuchShard,
    #[error("the tenant is on that shard already")]
    SameShard,
}

impl StoreError {
    /// The disk (or the user's quota) is full: the operation can succeed once space is freed.
    pub fn is_disk_full(&self) -> bool {
        let io = match self {
            StoreError::Db(redb::Error::Io(e)) => e,
            _ => return false,
        };
        io.kind() == std::io::ErrorKind::StorageFull
            || io.kind() == std::io::ErrorKind::QuotaExceeded
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError,
    redb::CompactionError,
    redb::SetDurabilityError
);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
