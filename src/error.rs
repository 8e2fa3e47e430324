//! The application's error type and its one mapping to HTTP. What the user reads (`code`,
//! `message`) is separate from what is logged (`internal` details never leave the server).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use botyard_shards::StoreError;

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
    /// Telegram, or the platform bot's worker, could not do it: 502 (refused), 503 (not
    /// online) or 504 (no answer in time).
    #[error("{message}")]
    Upstream {
        status: u16,
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

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooLarge | AppError::TooLargeFor { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Upstream { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            | AppError::TooLargeFor { code, .. } => code,
            AppError::NotFound(_) => "resource.not_found",
            AppError::TooLarge => "request.too_large",
            AppError::UnsupportedMediaType => "request.unsupported_media_type",
            AppError::Locked { .. } => "auth.locked",
            AppError::StorageFull => "storage.full",
            AppError::Internal(_) => "internal.error",
        }
    }

    fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error; the server log has the details".into(),
            AppError::Locked { .. } => {
                "too many failed attempts; try again after the time in Retry-After".into()
            }
            AppError::Busy { .. } => "server is busy; try again shortly".into(),
            other => other.to_string(),
        }
    }

    fn field(&self) -> Option<&str> {
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
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<crate::security::crypto::CryptoError> for AppError {
    fn from(e: crate::security::crypto::CryptoError) -> Self {
        AppError::Internal(e.to_string())
    }
}

/// `{"error":{"code":"area.reason","message":"…"}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code, `area.reason`.
    pub code: String,
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error as it was raised, kept on the response so the HTTP layer that picks the reader's
/// language (`http/language.rs`) can tell it in that language.
#[derive(Clone, Debug)]
pub struct ErrorFacts {
    pub code: &'static str,
    /// The English message, without the field.
    pub message: String,
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(detail) = &self {
            tracing::error!(code = self.code(), %detail, "request failed");
        }
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code().to_string(),
                message: self.public_message(),
                field: self.field().map(str::to_string),
            },
        };
        let facts = ErrorFacts {
            code: self.code(),
            message: match &self {
                AppError::Invalid { message, .. } => message.clone(),
                other => other.public_message(),
            },
            field: body.error.field.clone(),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.extensions_mut().insert(facts);
        if let AppError::Locked { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;
