//! /api/v1/auth and /api/v1/setup.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Secret;
use crate::domain::auth::{self, Caller};
use crate::error::AppResult;
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ClientIp};
use crate::http::views::{Role, role_view};
use crate::state::Shared;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(setup))
        .routes(routes!(accept_invitation))
        .routes(routes!(get_telegram_link, delete_telegram_link))
        .routes(routes!(new_telegram_link))
}

fn account_of(caller: &Caller) -> AppResult<botyard_shards::ids::AccountId> {
    caller.account().ok_or(crate::error::AppError::Forbidden {
        code: "telegram.account_required",
        message: "an API key has no Telegram user; log in as a person",
    })
}

/// The Telegram user the caller's account is linked to.
#[derive(Serialize, ToSchema)]
pub struct TelegramLinkOut {
    pub linked: bool,
    pub user_id: Option<i64>,
    pub first_name: Option<String>,
    pub username: Option<String>,
    /// Unix seconds.
    pub linked_at: Option<i64>,
}

/// My Telegram link: the user the platform bot sends my test posts to.
#[utoipa::path(get, path = "/api/v1/auth/telegram", tag = "auth",
    responses((status = 200, body = TelegramLinkOut), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_telegram_link(
    State(st): State<Shared>,
    caller: Caller,
) -> AppResult<Json<TelegramLinkOut>> {
    let account = account_of(&caller)?;
    let link = st.store.catalog_read()?.telegram_link(account)?;
    Ok(Json(TelegramLinkOut {
        linked: link.is_some(),
        user_id: link.as_ref().map(|l| l.user_id),
        first_name: link.as_ref().map(|l| l.first_name.clone()),
        username: link.as_ref().and_then(|l| l.username.clone()),
        linked_at: link.as_ref().map(|l| l.linked_at),
    }))
}

/// Unlink my Telegram user.
#[utoipa::path(delete, path = "/api/v1/auth/telegram", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn delete_telegram_link(State(st): State<Shared>, caller: Caller) -> AppResult<StatusCode> {
    let account = account_of(&caller)?;
    let removed = crate::state::blocking(move || {
        Ok(st.store.catalog_write(|c| c.unlink_telegram(account))?)
    })
    .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(crate::error::AppError::NotFound("telegram link"))
    }
}

#[derive(Serialize, ToSchema)]
pub struct TelegramLinkCode {
    /// Open this on the phone: Telegram starts the platform bot with the code.
    #[schema(example = "https://t.me/yard_platform_bot?start=Xq3…")]
    pub url: String,
    /// The `/start` payload, for typing `/start <code>` to the bot by hand.
    pub code: String,
    pub bot_username: String,
    /// Unix seconds; the code works once, until then.
    pub expires_at: i64,
}

/// A one-time link to connect my Telegram user: opening it starts the platform bot, which
/// links the chat to my account and confirms. A new code replaces the previous one.
#[utoipa::path(post, path = "/api/v1/auth/telegram/link", tag = "auth",
    responses((status = 201, body = TelegramLinkCode), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "No platform bot is set up (`platform_bot.not_configured`)"),
              (status = 503, body = ErrorEnvelope, description = "The platform bot is not online now (`platform_bot.unavailable`)")),
    security(("bearer" = [])))]
async fn new_telegram_link(
    State(st): State<Shared>,
    caller: Caller,
) -> AppResult<(StatusCode, Json<TelegramLinkCode>)> {
    let account = account_of(&caller)?;
    let (url, code, bot_username, expires_at) =
        crate::domain::telegram_link::new_code(&st, account)?;
    Ok((
        StatusCode::CREATED,
        Json(TelegramLinkCode {
            url,
            code,
            bot_username,
            expires_at,
        }),
    ))
}

// A login: what every sign-in answers (the domain's `auth::TokenPair`, with its schema).
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl From<auth::TokenPair> for TokenPair {
    fn from(p: auth::TokenPair) -> Self {
        TokenPair {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            token_type: p.token_type,
            expires_in: p.expires_in,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    #[schema(example = "ayse@example.com")]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationIn {
    /// The invitation's link token.
    #[schema(max_length = 256)]
    pub token: String,
    /// The invited address's account password when it has one; otherwise the new account's
    /// (8 to 128 characters, not a common password).
    #[schema(max_length = 1024)]
    pub password: String,
}

/// Accept an invitation and sign in.
///
/// Joins the tenant with the invited role. If the invited address already has an account,
/// its password is required (wrong guesses count towards the login lockout); if not, the
/// account is created with this password.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptInvitationIn,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn accept_invitation(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<AcceptInvitationIn>,
) -> AppResult<Json<TokenPair>> {
    if b.token.len() > 256 || b.password.len() > 1024 {
        return Err(crate::error::AppError::Unauthorized {
            code: "invitation.invalid",
            message: "this invitation link is invalid, used or expired; ask for a new one",
        });
    }
    Ok(Json(
        auth::accept_invitation(&st, &b.token, Secret::new(b.password), ip)
            .await?
            .into(),
    ))
}

/// Log in with email and password.
///
/// Failed attempts are counted per account and per client address; past the threshold the
/// answer is 429 with `Retry-After`, the same whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn login(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<LoginIn>,
) -> AppResult<Json<TokenPair>> {
    if b.password.len() > 1024 || b.email.len() > 320 {
        return Err(crate::error::AppError::Unauthorized {
            code: "auth.invalid_credentials",
            message: "email or password is wrong",
        });
    }
    let (pair, account) = auth::login(&st, &b.email, Secret::new(b.password), ip).await?;
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    crate::domain::mail::account::note_sign_in(&st, account, ip, agent).await;
    Ok(Json(pair.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair.
///
/// Each refresh token works once. Presenting one that was already exchanged revokes the whole
/// login (every token descended from it).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorEnvelope)))]
async fn refresh(
    State(st): State<Shared>,
    ApiJson(b): ApiJson<RefreshIn>,
) -> AppResult<Json<TokenPair>> {
    if b.refresh_token.len() > 200 {
        return Err(crate::error::AppError::Unauthorized {
            code: "auth.invalid_refresh",
            message: "refresh token is invalid or expired",
        });
    }
    Ok(Json(auth::refresh(&st, &b.refresh_token).await?.into()))
}

/// End this login: its refresh tokens and access tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 400, body = ErrorEnvelope, description = "An API key: it does not log out (`auth.not_a_login`)"),
              (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn logout(State(st): State<Shared>, caller: Caller) -> AppResult<StatusCode> {
    auth::logout(&st, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Membership {
    pub tenant_id: u64,
    pub role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct MeOut {
    /// Absent for API keys.
    pub account_id: Option<u64>,
    pub email: Option<String>,
    pub is_admin: bool,
    /// Set when the caller is an API key.
    pub api_key_id: Option<u64>,
    pub memberships: Vec<Membership>,
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = MeOut), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn me(State(st): State<Shared>, caller: Caller) -> AppResult<Json<MeOut>> {
    let email = match caller.account() {
        Some(a) => st.store.catalog_read()?.account(a)?.map(|a| a.email),
        None => None,
    };
    Ok(Json(MeOut {
        account_id: caller.account().map(|a| a.0),
        email,
        is_admin: caller.principal.is_admin(),
        api_key_id: caller.principal.api_key().map(|k| k.0),
        memberships: caller
            .principal
            .memberships()
            .iter()
            .map(|(t, r)| Membership {
                tenant_id: t.0,
                role: role_view(*r),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordIn {
    pub current_password: String,
    /// 8 to 128 characters, not a commonly used password.
    pub new_password: String,
}

/// Change my password. Every login of the account ends; a fresh pair is returned.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordIn,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope, description = "An API key has no password (`auth.account_required`)"),
              (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope, description = "Password hashing is saturated (`auth.busy`)")),
    security(("bearer" = [])))]
async fn change_password(
    State(st): State<Shared>,
    caller: Caller,
    ApiJson(b): ApiJson<ChangePasswordIn>,
) -> AppResult<Json<TokenPair>> {
    if b.current_password.len() > 1024 {
        return Err(crate::error::AppError::invalid(
            "current_password",
            "current password is wrong",
        ));
    }
    Ok(Json(
        auth::change_password(
            &st,
            &caller,
            Secret::new(b.current_password),
            Secret::new(b.new_password),
        )
        .await?
        .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupIn {
    /// The token from the setup link printed at first start.
    pub token: String,
    pub email: String,
    pub password: String,
}

/// Create the first admin with the one-time setup link. Works once, before any admin exists.
#[utoipa::path(post, path = "/api/v1/setup", tag = "auth", request_body = SetupIn,
    responses((status = 201, body = TokenPair), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn setup(
    State(st): State<Shared>,
    ApiJson(b): ApiJson<SetupIn>,
) -> AppResult<(StatusCode, Json<TokenPair>)> {
    if b.token.len() > 200 {
        return Err(crate::error::AppError::Unauthorized {
            code: "setup.invalid_token",
            message: "this setup link is invalid, used or expired; restart the server for a new one",
        });
    }
    let pair = auth::complete_setup(&st, &b.token, &b.email, Secret::new(b.password)).await?;
    Ok((StatusCode::CREATED, Json(pair.into())))
}
