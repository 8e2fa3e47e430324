//! Extractors that turn every kind of bad input into the error envelope: JSON bodies, path and
//! query parameters, credentials, and the tenant a request is about.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use botyard_shards::ids::TenantId;
use botyard_shards::{AdminScope, TenantScope};

use crate::domain::auth::{Caller, admin_scope, authenticate, scope};
use crate::error::{AppError, AppResult};
use crate::state::{AppState, Shared};

/// A JSON body: 415 without a JSON content type, 413 over the limit, 400 for malformed JSON
/// or unknown fields, 422 naming the field for wrong types or missing fields.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
                    || (v.starts_with("application/") && v.ends_with("+json"))
            });
        if !json_type {
            return Err(AppError::UnsupportedMediaType);
        }
        let ApiBytes(bytes) = ApiBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A raw body (uploads), with the API's errors for one too large or unreadable.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|e: BytesRejection| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge
                } else {
                    AppError::BadRequest {
                        code: "request.unreadable_body",
                        message: "request body could not be read".into(),
                    }
                }
            })
    }
}

/// A file sent as the raw body, or as the file of a `multipart/form-data` form (`curl -F
/// file=@name`): the body's limit applies to the whole form.
pub struct ApiFile(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiFile {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
            .map(str::to_owned);
        let ApiBytes(body) = ApiBytes::from_request(req, state).await?;
        match form {
            Some(content_type) => form_file(&content_type, body).await.map(ApiFile),
            None => Ok(ApiFile(body)),
        }
    }
}

/// The first part of a form that carries a file name.
async fn form_file(content_type: &str, body: Bytes) -> Result<Bytes, AppError> {
    let unreadable = |e: multer::Error| AppError::BadRequest {
        code: "request.bad_form",
        message: format!("the multipart form could not be read: {e}"),
    };
    let boundary = multer::parse_boundary(content_type).map_err(unreadable)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        if field.file_name().is_some() {
            return field.bytes().await.map_err(unreadable);
        }
    }
    Err(AppError::Invalid {
        code: "request.no_file",
        field: "body".into(),
        message: "the form carries no file: send it as `-F file=@name.session`, or as the raw body"
            .into(),
    })
}

/// Parses JSON with the error classification of [`ApiJson`]. Every body of the API is an
/// object: serde would otherwise fill a struct from an array (`[null, null]`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AppError::Invalid {
            code: "validation.wrong_type",
            field: String::new(),
            message: "the body is a JSON object, not an array".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        match inner.classify() {
            // serde_json reports a value of the wrong kind where an enum belongs (`"role": 1`)
            // as a syntax error; when the document itself parses, the type was wrong.
            serde_json::error::Category::Syntax
                if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() =>
            {
                AppError::Invalid {
                    code: "validation.wrong_type",
                    field: if path == "." { String::new() } else { path },
                    message: "invalid type or value".into(),
                }
            }
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => AppError::BadRequest {
                code: "request.malformed_json",
                message: format!("malformed JSON: {msg}"),
            },
            serde_json::error::Category::Data => {
                let field = if path == "." { String::new() } else { path };
                if msg.starts_with("unknown field") {
                    AppError::BadRequest {
                        code: "request.unknown_field",
                        message: if field.is_empty() {
                            msg
                        } else {
                            format!("{field}: {msg}")
                        },
                    }
                } else if msg.starts_with("missing field") {
                    let name = msg.split('`').nth(1).unwrap_or("").to_string();
                    let full = if field.is_empty() {
                        name
                    } else {
                        format!("{field}.{name}")
                    };
                    AppError::Invalid {
                        code: "validation.missing_field",
                        field: full,
                        message: msg,
                    }
                } else {
                    AppError::Invalid {
                        code: "validation.wrong_type",
                        field,
                        message: msg,
                    }
                }
            }
        }
    })?;
    // Trailing garbage after the value.
    de.end().map_err(|e| AppError::BadRequest {
        code: "request.malformed_json",
        message: format!("malformed JSON: {e}"),
    })?;
    Ok(value)
}

/// Path parameters; a value of the wrong shape is a 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        // One rule for ids: decimal digits, with a sign only for negative chat ids (`+1` is not
        // another way to write 1).
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = raw.iter().find(|(_, v)| v.starts_with('+'))
        {
            return Err(AppError::BadRequest {
                code: "request.invalid_path",
                message: format!("`{name}` is not a valid id"),
            });
        }
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| AppError::BadRequest {
                code: "request.invalid_path",
                message: e.body_text(),
            })
    }
}

/// Query parameters; unknown or malformed ones are a 400.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| AppError::BadRequest {
                code: "request.invalid_query",
                message: e.body_text(),
            })
    }
}

fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let missing = AppError::Unauthorized {
        code: "auth.missing_credentials",
        message: "send `Authorization: Bearer <access token or API key>`",
    };
    let v = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(missing)?
        .to_str()
        .map_err(|_| AppError::Unauthorized {
            code: "auth.invalid_token",
            message: "credential is not valid",
        })?;
    let (scheme, token) = v.split_once(' ').ok_or(AppError::Unauthorized {
        code: "auth.invalid_token",
        message: "credential is not valid",
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.len() > 4096 {
        return Err(AppError::Unauthorized {
            code: "auth.invalid_token",
            message: "credential is not valid",
        });
    }
    Ok(token.trim())
}

impl<S> FromRequestParts<S> for Caller
where
    Shared: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let st = Shared::from_ref(state);
        // A console page reads (never changes) through the API with its session cookie: the
        // statistics behind its charts, a report opened in the browser. Changes need a bearer
        // credential, so a cookie alone cannot be made to change anything from another site.
        let reads = matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        );
        if reads
            && !parts.headers.contains_key(header::AUTHORIZATION)
            && let Some(cookie) = crate::http::console::session::cookie(
                &parts.headers,
                crate::http::console::session::session_cookie(&st),
            )
        {
            let cookie = cookie.to_string();
            let st2 = st.clone();
            let caller = crate::state::blocking(move || {
                crate::domain::browser_sessions::authenticate(&st2, &cookie)
            })
            .await?;
            parts.extensions.insert(caller.clone());
            return Ok(caller);
        }
        let token = bearer(parts)?.to_string();
        let caller = authenticate(&st, &token).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The tenant named by the `{id}` path segment, authorized for the caller. Runs before the
/// body is read, so another tenant's resource is a 404 whatever the body holds. Tags the
/// request span with the tenant once authorized (see [`crate::runtime::tenant_logs`]).
pub struct TenantCtx {
    pub caller: Caller,
    pub scope: TenantScope,
}

impl<S> FromRequestParts<S> for TenantCtx
where
    Shared: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let ApiPath(params) =
            ApiPath::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        let id: u64 = params
            .get("id")
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| AppError::BadRequest {
                code: "request.invalid_path",
                message: "`id` is not a valid tenant id".into(),
            })?;
        let st = Shared::from_ref(state);
        let scope = scope(&st, &caller, TenantId(id))?;
        // From here on, errors are told in the tenant's language.
        if let Some(reply) = parts.extensions.get::<crate::http::language::ReplyTenant>() {
            reply.set(TenantId(id));
        }
        // The one place roles are enforced (API.md, "Roles"): before the body is read, so a
        // refused request changes nothing and says why whatever it carries.
        let route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or(parts.uri.path(), |m| m.as_str());
        let changes = !matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
        );
        crate::http::roles::check(
            scope.access(),
            crate::http::roles::needs(&parts.method, route),
            changes,
        )?;
        crate::http::roles::check_active(scope.status(), scope.access(), &parts.method, route)?;
        // Only now do the request's events belong in this tenant's log.
        tracing::Span::current().record("tenant_id", id);
        Ok(TenantCtx { caller, scope })
    }
}

/// An admin caller: anyone else is refused (`auth.admin_required`) before the request's body
/// is read, like a tenant route's roles in [`TenantCtx`].
pub struct AdminCtx {
    pub caller: Caller,
}

impl AdminCtx {
    /// The store's admin scope, for this admin.
    pub fn scope<'a>(&self, st: &'a AppState) -> AppResult<AdminScope<'a>> {
        admin_scope(st, &self.caller)
    }
}

impl<S> FromRequestParts<S> for AdminCtx
where
    Shared: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        admin_scope(&Shared::from_ref(state), &caller)?;
        Ok(AdminCtx { caller })
    }
}

/// The address of the socket's other end (loopback for a request without one, in tests).
pub fn peer_ip(parts_ext: &axum::http::Extensions) -> IpAddr {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip())
}

/// The client's address: the socket's, or the one a trusted proxy names
/// (`server.trusted_proxies`).
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    Shared: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let st = Shared::from_ref(state);
        Ok(ClientIp(crate::http::client_addr::client_addr(
            peer_ip(&parts.extensions),
            &parts.headers,
            &st.config.trusted_proxies,
        )))
    }
}
