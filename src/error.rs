//! The application's error type, in product terms: what went wrong and its stable code. It knows
//! no HTTP; `http/error.rs` maps it to a status and the error envelope, once. What the user reads
//! (`code`, `message`) is separate from what is logged (`Internal` details never leave the server).

use botyard_shards::StoreError;

/// Which way an upstream (Telegram, the platform bot's worker) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// It answered and refused.
    Refused,
    /// It is not online now.
    Offline,
    /// It did not answer in time; the effect may still happen.
    Timeout,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request itself is malformed (bad JSON, unknown field, bad path).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A field has a value we refuse.
    #[error("{field}: {message}")]
    Invalid {
        code: &'static str,
        field: String,
        message: String,
    },
    #[error("{message}")]
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than the limit")]
    TooLarge,
    /// A body over an operation's own limit, which the message names.
    #[error("{message}")]
    TooLargeFor { code: &'static str, message: String },
    #[error("unsupported media type: send application/json")]
    UnsupportedMediaType,
    #[error("too many attempts")]
    Locked { retry_after: u64 },
    #[error("server is busy")]
    Busy { code: &'static str },
    /// A limit on how often something may be done (not a lockout), which the message names.
    #[error("{message}")]
    TooOften { code: &'static str, message: String },
    /// Telegram, or the platform bot's worker, could not do it.
    #[error("{message}")]
    Upstream {
        kind: Upstream,
        code: &'static str,
        message: String,
    },
    /// The disk is full: nothing was saved.
    #[error("the server's disk is full; nothing was saved")]
    StorageFull,
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code: "validation.invalid",
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The stable, grep-able code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Invalid { code, .. }
            | AppError::Unauthorized { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Upstream { code, .. }
            | AppError::Busy { code }
            | AppError::TooOften { code, .. }
            | AppError::TooLargeFor { code, .. } => code,
            AppError::NotFound(_) => "resource.not_found",
            AppError::TooLarge => "request.too_large",
            AppError::UnsupportedMediaType => "request.unsupported_media_type",
            AppError::Locked { .. } => "auth.locked",
            AppError::StorageFull => "storage.full",
            AppError::Internal(_) => "internal.error",
        }
    }

    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error; the server log has the details".into(),
            AppError::Locked { .. } => {
                "too many failed attempts; try again after the time in Retry-After".into()
            }
            AppError::Busy { .. } => "server is busy; try again shortly".into(),
            other => other.to_string(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("resource"),
            StoreError::Conflict(what) => AppError::Conflict {
                code: "resource.conflict",
                message: format!("conflict: {what}"),
            },
            StoreError::MoveRefused(r) => match r {
                botyard_shards::MoveRefusal::Busy => AppError::Conflict {
                    code: "tenant.move_busy",
                    message: r.to_string(),
                },
                botyard_shards::MoveRefusal::SameShard => AppError::Conflict {
                    code: "tenant.same_shard",
                    message: r.to_string(),
                },
                botyard_shards::MoveRefusal::NoSuchShard => AppError::Invalid {
                    code: "tenant.no_such_shard",
                    field: "shard".into(),
                    message: r.to_string(),
                },
            },
            StoreError::BadRow { table, reason } => AppError::Invalid {
                code: "validation.invalid",
                field: "rows".into(),
                message: format!("a row of {table} does not fit: {reason}"),
            },
            other if other.is_disk_full() => AppError::StorageFull,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<crate::security::crypto::CryptoError> for AppError {
    fn from(e: crate::security::crypto::CryptoError) -> Self {
        AppError::Internal(e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
