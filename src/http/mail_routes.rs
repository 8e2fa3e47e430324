//! Mail: the admin's test mail and outbox (with resend), and an account's own mailed links
//! (password reset, email change) and notification preferences.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::{AccountId, OutboxId};
use botyard_shards::records::{Language, MailStateRec};

use crate::clock::rfc3339;
use crate::config::Secret;
use crate::domain::auth::Caller;
use crate::domain::mail::{account, notices, outbox};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson, ApiPath, ApiQuery};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(test_mail))
        .routes(routes!(list_outbox))
        .routes(routes!(resend))
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .routes(routes!(email_change))
        .routes(routes!(email_change_confirm))
        .routes(routes!(get_notices, put_notices))
}

/// The language a request reads: `tr` when its `Accept-Language` prefers Turkish.
pub fn request_language(h: &HeaderMap) -> Language {
    h.get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::i18n::from_accept_language)
        .unwrap_or(Language::En)
}

fn account_of(caller: &Caller) -> AppResult<AccountId> {
    caller.account().ok_or(AppError::Forbidden {
        code: "auth.account_required",
        message: "only an account has mail and notification preferences",
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestMailIn {
    #[schema(example = "ayse@example.com")]
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueuedMailOut {
    pub mail_id: u64,
}

/// Send a test mail (admins): it is queued and sent like any other, so the outbox shows how it went.
#[utoipa::path(post, path = "/api/v1/mail/test", tag = "mail", request_body = TestMailIn,
    responses((status = 202, body = QueuedMailOut), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn test_mail(
    State(st): State<Shared>,
    a: AdminCtx,
    headers: HeaderMap,
    ApiJson(b): ApiJson<TestMailIn>,
) -> AppResult<(StatusCode, Json<QueuedMailOut>)> {
    let actor = account_of(&a.caller)?;
    let id = outbox::queue_test(&st, actor, &b.to, request_language(&headers)).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedMailOut { mail_id: id.0 })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `all` (default), `queued`, `sent` or `failed`.
    pub state: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxMailOut {
    pub mail_id: u64,
    /// The notice kind (`account.invitation`, `bot.campaign_paused`, …).
    pub kind: String,
    /// An address, or `telegram:<account id>` for the platform bot.
    pub to: String,
    pub tenant_id: Option<u64>,
    pub subject: String,
    /// `queued`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub created_at: String,
    /// While queued: the next attempt.
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub failed_at: Option<String>,
    /// The server's answer: why it failed, or the last temporary refusal while queued.
    pub error: Option<String>,
    pub message_id: String,
}

/// The outbox (admins): mails queued, sent and failed, newest first.
#[utoipa::path(get, path = "/api/v1/mail/outbox", tag = "mail", params(OutboxQuery),
    responses((status = 200, body = [OutboxMailOut]), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_outbox(
    State(st): State<Shared>,
    _a: AdminCtx,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> AppResult<Json<Vec<OutboxMailOut>>> {
    let filter = outbox::Filter::parse(q.state.as_deref())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = outbox::list(&st, filter, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, r)| {
                let (state, sent_at, failed_at, error) = match &r.state {
                    MailStateRec::Queued => ("queued", None, None, r.last_error.clone()),
                    MailStateRec::Sent { at } => ("sent", Some(rfc3339(*at)), None, None),
                    MailStateRec::Failed { at, reason } => {
                        ("failed", None, Some(rfc3339(*at)), Some(reason.clone()))
                    }
                };
                OutboxMailOut {
                    mail_id: id.0,
                    kind: r.kind,
                    to: r.to,
                    tenant_id: r.tenant.map(|t| t.0),
                    subject: r.subject,
                    state: state.into(),
                    attempts: r.attempts,
                    created_at: rfc3339(r.created_at),
                    next_attempt_at: (state == "queued").then(|| rfc3339(r.next_at)),
                    sent_at,
                    failed_at,
                    error,
                    message_id: r.message_id,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct MailPath {
    pub mail_id: u64,
}

/// Send a sent or failed mail again (admins), now; same Message-ID.
#[utoipa::path(post, path = "/api/v1/mail/outbox/{mail_id}/resend", tag = "mail", params(MailPath),
    responses((status = 202, body = QueuedMailOut), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn resend(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiPath(p): ApiPath<MailPath>,
) -> AppResult<(StatusCode, Json<QueuedMailOut>)> {
    let actor = account_of(&a.caller)?;
    outbox::resend(&st, actor, OutboxId(p.mail_id)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedMailOut { mail_id: p.mail_id }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetIn {
    #[schema(example = "ayse@example.com")]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedOut {
    pub status: String,
}

/// Ask for a password reset link by mail.
///
/// The answer is the same whether or not the address has an account; the link works once,
/// for 30 minutes, and a new request replaces it.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetIn,
    responses((status = 202, body = AcceptedOut), (status = 422, body = ErrorEnvelope)))]
async fn password_reset(
    State(st): State<Shared>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<ResetIn>,
) -> AppResult<(StatusCode, Json<AcceptedOut>)> {
    account::request_password_reset(&st, &b.email, request_language(&headers)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            status: "if the address has an account, a link is on its way".into(),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmIn {
    /// The `token` of the mailed link.
    pub token: String,
    pub password: String,
}

/// Set a new password with a reset link's token; every login of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmIn,
    responses((status = 204), (status = 422, body = ErrorEnvelope)))]
async fn password_reset_confirm(
    State(st): State<Shared>,
    ApiJson(b): ApiJson<ResetConfirmIn>,
) -> AppResult<StatusCode> {
    if b.token.len() > 200 || b.password.len() > 1024 {
        return Err(AppError::invalid("token", "too long"));
    }
    account::reset_password(&st, &b.token, Secret::new(b.password)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeIn {
    /// The new address; a link to confirm it goes there.
    #[schema(example = "ayse.yeni@example.com")]
    pub email: String,
    /// The account's current password.
    pub password: String,
}

/// Change the account's email address: a confirmation link goes to the new address.
#[utoipa::path(post, path = "/api/v1/auth/email", tag = "auth", request_body = EmailChangeIn,
    responses((status = 202, body = AcceptedOut), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn email_change(
    State(st): State<Shared>,
    caller: Caller,
    ApiJson(b): ApiJson<EmailChangeIn>,
) -> AppResult<(StatusCode, Json<AcceptedOut>)> {
    let me = account_of(&caller)?;
    if b.password.len() > 1024 {
        return Err(AppError::invalid("password", "too long"));
    }
    account::request_email_change(&st, me, &b.email, Secret::new(b.password)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            status: "a link to confirm the address was sent to it".into(),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfirmIn {
    pub token: String,
}

/// Confirm a new email address with the mailed link's token; the old address is told.
#[utoipa::path(post, path = "/api/v1/auth/email/confirm", tag = "auth", request_body = EmailConfirmIn,
    responses((status = 204), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn email_change_confirm(
    State(st): State<Shared>,
    ApiJson(b): ApiJson<EmailConfirmIn>,
) -> AppResult<StatusCode> {
    if b.token.len() > 200 {
        return Err(AppError::invalid("token", "too long"));
    }
    account::confirm_email_change(&st, &b.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticePrefsBody {
    /// Notice kinds not to send. Only bot-status and plan-limit kinds can be turned off.
    #[serde(default)]
    #[schema(example = json!(["bot.flood_wait"]))]
    pub muted: Vec<String>,
    /// Hold the notices that may wait and send them together once an hour.
    #[serde(default)]
    pub digest: bool,
    /// Receive the reseller's news by mail.
    #[serde(default)]
    pub marketing: bool,
    /// Every kind with whether it can be turned off (ignored when saving).
    #[serde(default)]
    pub kinds: Vec<NoticeKindOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NoticeKindOut {
    pub kind: String,
    pub optional: bool,
}

fn prefs_view(r: &botyard_shards::records::NoticePrefsRec) -> NoticePrefsBody {
    NoticePrefsBody {
        muted: r.muted.clone(),
        digest: r.digest,
        marketing: r.marketing,
        kinds: notices::KINDS
            .iter()
            .map(|(k, _)| NoticeKindOut {
                kind: (*k).into(),
                optional: notices::optional(k),
            })
            .collect(),
    }
}

/// Your notification preferences.
#[utoipa::path(get, path = "/api/v1/auth/notices", tag = "auth",
    responses((status = 200, body = NoticePrefsBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_notices(State(st): State<Shared>, caller: Caller) -> AppResult<Json<NoticePrefsBody>> {
    let me = account_of(&caller)?;
    let r = st.store.catalog_read()?.notice_prefs(me)?;
    Ok(Json(prefs_view(&r)))
}

/// Set your notification preferences.
#[utoipa::path(put, path = "/api/v1/auth/notices", tag = "auth", request_body = NoticePrefsBody,
    responses((status = 200, body = NoticePrefsBody), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn put_notices(
    State(st): State<Shared>,
    caller: Caller,
    ApiJson(b): ApiJson<NoticePrefsBody>,
) -> AppResult<Json<NoticePrefsBody>> {
    let me = account_of(&caller)?;
    let now = st.now();
    let store = st.store.clone();
    let r = blocking(move || {
        let r = notices::prefs(b.muted, b.digest, b.marketing, now)?;
        notices::save_prefs(&store, me, &r, now)?;
        Ok(r)
    })
    .await?;
    Ok(Json(prefs_view(&r)))
}
