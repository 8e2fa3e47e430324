//! The one mapping from [`AppError`] to HTTP: its status, the error envelope, and the
//! `Retry-After` of a lockout. The envelope's message is told in the reader's language later, by
//! `language.rs`, from the [`ErrorFacts`] left on the response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, Upstream};

/// The status an error is answered with.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::TooLarge | AppError::TooLargeFor { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::Locked { .. } | AppError::TooOften { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        AppError::Upstream { kind, .. } => match kind {
            Upstream::Refused => StatusCode::BAD_GATEWAY,
            Upstream::Offline => StatusCode::SERVICE_UNAVAILABLE,
            Upstream::Timeout => StatusCode::GATEWAY_TIMEOUT,
        },
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        let status = status_of(&self);
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
