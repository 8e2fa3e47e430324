//! /api/v1/tenants and everything under a tenant.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::{AccountId, ApiKeyId, InvitationId, PlanId, TenantId};
use botyard_shards::records::{Language, ParseMode, SettingsRec, TenantStatus};

use crate::clock::rfc3339;
use crate::config::Secret;
use crate::domain::auth::{Caller, admin_scope, hash_new_password, normalize_email};
use crate::domain::tenancy;
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{AdminCtx, ApiJson, ApiPath, ApiQuery, TenantCtx};
use crate::http::views::{Role, TenantOut, role_rec, role_view, tenant_view};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(suspend_tenant))
        .routes(routes!(resume_tenant))
        .routes(routes!(move_tenant))
        .routes(routes!(list_members, add_member))
        .routes(routes!(update_member, remove_member))
        .routes(routes!(list_invitations, invite))
        .routes(routes!(withdraw_invitation))
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(tenant_logs))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Case-insensitive part of the name.
    pub q: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List tenants: every tenant for admins, one's own tenants for everyone else.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(ListQuery),
    responses((status = 200, body = TenantPage), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_tenants(
    State(st): State<Shared>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<TenantPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: "limit must be between 1 and 200".into(),
        });
    }
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| AppError::BadRequest {
            code: "request.invalid_cursor",
            message: "cursor is not one this server issued".into(),
        })?),
    };
    if q.q.as_ref().is_some_and(|s| s.len() > 100) {
        return Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: "q must have at most 100 characters".into(),
        });
    }
    if let Some(admin) = st.store.admin(&caller.principal) {
        let page = admin.list_tenants(after, limit, q.q.as_deref())?;
        return Ok(Json(TenantPage {
            items: page
                .items
                .iter()
                .map(|(id, t)| tenant_view(*id, t))
                .collect(),
            next_cursor: page.next.map(|n| n.to_string()),
        }));
    }
    let mut items = Vec::new();
    let needle = q.q.as_deref().map(botyard_shards::search_fold);
    for (tid, _) in caller.principal.memberships() {
        if after.is_some_and(|a| tid.0 <= a) {
            continue;
        }
        let scope = crate::domain::auth::scope(&st, &caller, *tid)?;
        let t = scope.record();
        if needle
            .as_ref()
            .is_none_or(|n| botyard_shards::search_fold(&t.name).contains(n.as_str()))
        {
            items.push(tenant_view(*tid, t));
        }
    }
    items.sort_by_key(|t| t.id);
    let next_cursor = (items.len() > limit).then(|| items[limit - 1].id.to_string());
    items.truncate(limit);
    Ok(Json(TenantPage { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantIn {
    /// 1 to 100 characters.
    #[schema(example = "Kahve Dükkanı")]
    pub name: String,
    pub plan_id: Option<u64>,
}

/// Create a tenant (admins). It is placed on the least-loaded shard.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenantIn,
    responses((status = 201, body = TenantOut), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn create_tenant(
    State(st): State<Shared>,
    a: AdminCtx,
    ApiJson(b): ApiJson<CreateTenantIn>,
) -> AppResult<(StatusCode, Json<TenantOut>)> {
    let st2 = st.clone();
    let (id, rec) = blocking(move || {
        let admin = a.scope(&st2)?;
        tenancy::create_tenant(&admin, &b.name, b.plan_id.map(PlanId), st2.now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(tenant_view(id, &rec))))
}

/// Get a tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn get_tenant(t: TenantCtx) -> AppResult<Json<TenantOut>> {
    Ok(Json(tenant_view(t.scope.tenant_id(), t.scope.record())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantIn {
    pub name: Option<String>,
    /// A plan id, or null to take the tenant off any plan. Omit to keep.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub plan_id: Option<Option<u64>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Ok(Some(Option::<u64>::deserialize(d)?))
}

/// Rename a tenant or change its plan (admins).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = u64, Path, description = "Tenant id")),
    request_body = UpdateTenantIn,
    responses((status = 200, body = TenantOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_tenant(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<UpdateTenantIn>,
) -> AppResult<Json<TenantOut>> {
    let now = st.now();
    let rec = blocking(move || {
        tenancy::update_tenant(
            &t.scope,
            b.name.as_deref(),
            b.plan_id.map(|p| p.map(PlanId)),
            now,
        )
        .map(|r| (t.scope.tenant_id(), r))
    })
    .await?;
    Ok(Json(tenant_view(rec.0, &rec.1)))
}

/// Delete a tenant and all of its data (admins). Cannot be undone.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn delete_tenant(State(st): State<Shared>, t: TenantCtx) -> AppResult<StatusCode> {
    let id = t.scope.tenant_id();
    let st2 = st.clone();
    let caller = t.caller.clone();
    // Its worker goes first: nothing may write for the tenant while its rows are removed.
    st.supervisor.stop(id).await;
    blocking(move || {
        let admin = admin_scope(&st2, &caller)?;
        tenancy::delete_tenant(&admin, id, st2.now())
    })
    .await?;
    // Its media files and log go with its rows.
    crate::domain::billing::remove_files(&st, id).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_status(
    st: Shared,
    t: TenantCtx,
    status: TenantStatus,
) -> AppResult<Json<TenantOut>> {
    let now = st.now();
    let id = t.scope.tenant_id();
    let rec = blocking(move || tenancy::set_status(&t.scope, status, now)).await?;
    crate::domain::tenant_workers::reconcile(&st, id).await?;
    Ok(Json(tenant_view(id, &rec)))
}

/// Suspend a tenant (admins): its members can read but not change anything.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/suspend", tag = "tenants", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn suspend_tenant(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<TenantOut>> {
    change_status(st, t, TenantStatus::Suspended).await
}

/// Resume a suspended tenant (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/resume", tag = "tenants", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn resume_tenant(State(st): State<Shared>, t: TenantCtx) -> AppResult<Json<TenantOut>> {
    change_status(st, t, TenantStatus::Active).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// The shard to move to (0 to `store.shards` − 1).
    pub shard: u32,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct MovedOut {
    pub from: u32,
    pub to: u32,
    /// The tenant's rows in its shard.
    pub rows: u64,
    /// Rows brought over while its writes were paused.
    pub caught_up: u64,
    /// How long its writes waited.
    pub paused_ms: u64,
    pub took_ms: u64,
}

impl From<botyard_shards::moves::Moved> for MovedOut {
    fn from(m: botyard_shards::moves::Moved) -> Self {
        MovedOut {
            from: m.from,
            to: m.to,
            rows: m.rows,
            caught_up: m.caught_up,
            paused_ms: m.paused.as_millis() as u64,
            took_ms: m.took.as_millis() as u64,
        }
    }
}

/// Move a tenant to another shard of this appliance (admins), while it runs: its rows are
/// copied, its writes wait a moment while the last changes follow and the placement switches,
/// then the old rows are removed. One move at a time (`409 tenant.move_busy`).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/move", tag = "tenants", params(("id" = u64, Path, description = "Tenant id")),
    request_body = MoveIn,
    responses((status = 200, body = MovedOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn move_tenant(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<MoveIn>,
) -> AppResult<Json<MovedOut>> {
    let actor = t.caller.account();
    let moved = crate::domain::tenant_moves::move_tenant(&st, actor, t.scope, b.shard).await?;
    Ok(Json(moved.into()))
}

#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    pub account_id: u64,
    pub email: String,
    pub role: Role,
}

fn member_view(m: tenancy::MemberView) -> MemberOut {
    MemberOut {
        account_id: m.account.0,
        email: m.email,
        role: role_view(m.role),
    }
}

/// List the tenant's members.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/members", tag = "members", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<MemberOut>), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn list_members(t: TenantCtx) -> AppResult<Json<Vec<MemberOut>>> {
    Ok(Json(
        tenancy::members(&t.scope)?
            .into_iter()
            .map(member_view)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberIn {
    pub email: String,
    /// Required for a new account: 8 to 128 characters, not a common password.
    pub password: Option<String>,
    pub role: Role,
}

/// Add a member directly (admins). A new email creates the account with the given password;
/// an existing account is attached. Owners invite instead (`403 member.invite_instead`).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/members", tag = "members", params(("id" = u64, Path, description = "Tenant id")),
    request_body = AddMemberIn,
    responses((status = 201, body = MemberOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn add_member(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<AddMemberIn>,
) -> AppResult<(StatusCode, Json<MemberOut>)> {
    tenancy::require_direct_add(&t.scope)?;
    let email = normalize_email("email", &b.email)?;
    let hash = match b.password {
        Some(p) => Some(hash_new_password(&st, "password", Secret::new(p)).await?),
        None => None,
    };
    let now = st.now();
    let m =
        blocking(move || tenancy::add_member(&t.scope, email, hash, role_rec(b.role), now)).await?;
    Ok((StatusCode::CREATED, Json(member_view(m))))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: u64,
    pub email: String,
    pub role: Role,
    pub created_at: String,
    /// After this the link no longer works.
    pub expires_at: String,
    pub expired: bool,
}

#[derive(Serialize, ToSchema)]
pub struct NewInvitationOut {
    #[serde(flatten)]
    pub invitation: InvitationOut,
    /// The one-time link token, shown only now: give it to the person invited, who redeems
    /// it with `POST /api/v1/invitations/accept`.
    pub token: String,
}

fn invitation_view(i: &tenancy::Invitation, now: i64) -> InvitationOut {
    InvitationOut {
        id: i.id.0,
        email: i.email.clone(),
        role: role_view(i.role),
        created_at: rfc3339(i.created_at),
        expires_at: rfc3339(i.expires_at),
        expired: i.expires_at <= now,
    }
}

/// List the tenant's pending invitations (owners and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/invitations", tag = "members", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<InvitationOut>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_invitations(
    State(st): State<Shared>,
    t: TenantCtx,
) -> AppResult<Json<Vec<InvitationOut>>> {
    let now = st.now();
    let all = tenancy::invitations(&t.scope)?;
    Ok(Json(all.iter().map(|i| invitation_view(i, now)).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteIn {
    pub email: String,
    pub role: Role,
}

/// Invite someone by email (owners and admins). The answer is the same whether or not the
/// address has an account; the link token in it is shown once. Inviting the same address
/// again replaces the earlier invitation.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/invitations", tag = "members", params(("id" = u64, Path, description = "Tenant id")),
    request_body = InviteIn,
    responses((status = 201, body = NewInvitationOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn invite(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<InviteIn>,
) -> AppResult<(StatusCode, Json<NewInvitationOut>)> {
    let email = normalize_email("email", &b.email)?;
    let now = st.now();
    let ttl = st.config.auth.invitation_ttl_hours as i64 * 3600;
    let mail = crate::domain::mail::notices::MailCtx::of(&st);
    let i =
        blocking(move || tenancy::invite(&t.scope, email, role_rec(b.role), &mail, ttl)).await?;
    st.mail_wake.notify_one();
    let token = i.token.clone().unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(NewInvitationOut {
            invitation: invitation_view(&i, now),
            token,
        }),
    ))
}

/// Withdraw a pending invitation (owners and admins): its link stops working.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/invitations/{invitation_id}", tag = "members",
    params(("id" = u64, Path, description = "Tenant id"), ("invitation_id" = u64, Path, description = "Invitation id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn withdraw_invitation(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    let now = st.now();
    blocking(move || tenancy::withdraw_invitation(&t.scope, InvitationId(ids.1), now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberIn {
    pub role: Role,
}

/// Change a member's role (owners and admins). The last owner stays an owner.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/members/{account_id}", tag = "members",
    params(("id" = u64, Path, description = "Tenant id"), ("account_id" = u64, Path, description = "Account id")),
    request_body = UpdateMemberIn,
    responses((status = 200, body = MemberOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_member(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<UpdateMemberIn>,
) -> AppResult<Json<MemberOut>> {
    let now = st.now();
    let m = blocking(move || {
        tenancy::set_member_role(&t.scope, AccountId(ids.1), role_rec(b.role), now)
    })
    .await?;
    Ok(Json(member_view(m)))
}

/// Remove a member (owners and admins). Their logins end.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/members/{account_id}", tag = "members",
    params(("id" = u64, Path, description = "Tenant id"), ("account_id" = u64, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn remove_member(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    let now = st.now();
    blocking(move || tenancy::remove_member(&t.scope, AccountId(ids.1), now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: u64,
    pub name: String,
    pub role: Role,
    /// First characters of the key, to tell keys apart.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NewApiKeyOut {
    #[serde(flatten)]
    pub key_info: ApiKeyOut,
    /// The key itself. Shown only in this response; store it now.
    pub key: String,
}

fn api_key_view(id: ApiKeyId, k: &botyard_shards::records::ApiKeyRec) -> ApiKeyOut {
    ApiKeyOut {
        id: id.0,
        name: k.name.clone(),
        role: role_view(k.role),
        prefix: k.prefix.clone(),
        created_at: rfc3339(k.created_at),
        last_used_at: k.last_used_at.map(rfc3339),
        revoked_at: k.revoked_at.map(rfc3339),
    }
}

/// List the tenant's API keys (owners and admins). Keys themselves are never shown again.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/api-keys", tag = "api-keys", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<ApiKeyOut>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn list_api_keys(t: TenantCtx) -> AppResult<Json<Vec<ApiKeyOut>>> {
    let keys = t.scope.catalog_read()?.api_keys()?;
    Ok(Json(
        keys.iter().map(|(id, k)| api_key_view(*id, k)).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyIn {
    pub name: String,
    pub role: Role,
}

/// Create an API key for automation (owners and admins).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/api-keys", tag = "api-keys", params(("id" = u64, Path, description = "Tenant id")),
    request_body = CreateApiKeyIn,
    responses((status = 201, body = NewApiKeyOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn create_api_key(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<CreateApiKeyIn>,
) -> AppResult<(StatusCode, Json<NewApiKeyOut>)> {
    // A member-role key cannot mint an owner key.
    if t.caller.principal.api_key().is_some()
        && b.role == Role::Owner
        && t.scope.access() != botyard_shards::Access::Owner
    {
        return Err(AppError::Forbidden {
            code: "auth.forbidden",
            message: "this key may not create owner keys",
        });
    }
    let now = st.now();
    let k =
        blocking(move || tenancy::create_api_key(&t.scope, &b.name, role_rec(b.role), now)).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewApiKeyOut {
            key_info: api_key_view(k.id, &k.rec),
            key: k.key,
        }),
    ))
}

/// Revoke an API key (owners and admins). It stops working at once.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/api-keys/{key_id}", tag = "api-keys",
    params(("id" = u64, Path, description = "Tenant id"), ("key_id" = u64, Path, description = "Key id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn revoke_api_key(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<StatusCode> {
    let now = st.now();
    blocking(move || tenancy::revoke_api_key(&t.scope, ApiKeyId(ids.1), now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Tr,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ParseModeIo {
    Markdown,
    Html,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendOptions {
    /// How message templates are parsed.
    pub parse_mode: ParseModeIo,
    /// Send without notification sound.
    pub silent: bool,
    pub disable_link_preview: bool,
    /// Forbid forwarding and saving.
    pub protect_content: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// IANA time zone, e.g. `Europe/Istanbul`.
    #[schema(example = "Europe/Istanbul")]
    pub time_zone: String,
    pub language: Lang,
    /// Name shown to the tenant's customers, 1 to 100 characters.
    pub display_name: String,
    /// Defaults for sending messages.
    pub sending: SendOptions,
}

fn settings_view(s: &SettingsRec) -> Settings {
    Settings {
        time_zone: s.time_zone.clone(),
        language: match s.language {
            Language::En => Lang::En,
            Language::Tr => Lang::Tr,
        },
        display_name: s.display_name.clone(),
        sending: SendOptions {
            parse_mode: match s.send.parse_mode {
                ParseMode::Markdown => ParseModeIo::Markdown,
                ParseMode::Html => ParseModeIo::Html,
            },
            silent: s.send.silent,
            disable_link_preview: s.send.disable_link_preview,
            protect_content: s.send.protect_content,
        },
    }
}

/// The tenant's settings.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/settings", tag = "settings", params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Settings), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn get_settings(t: TenantCtx) -> AppResult<Json<Settings>> {
    Ok(Json(settings_view(&tenancy::settings(&t.scope)?)))
}

/// Replace the tenant's settings (owners and admins).
#[utoipa::path(put, path = "/api/v1/tenants/{id}/settings", tag = "settings", params(("id" = u64, Path, description = "Tenant id")),
    request_body = Settings,
    responses((status = 200, body = Settings), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn put_settings(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<Settings>,
) -> AppResult<Json<Settings>> {
    let input = tenancy::SettingsInput {
        time_zone: b.time_zone,
        language: match b.language {
            Lang::En => Language::En,
            Lang::Tr => Language::Tr,
        },
        display_name: b.display_name,
        parse_mode: match b.sending.parse_mode {
            ParseModeIo::Markdown => ParseMode::Markdown,
            ParseModeIo::Html => ParseMode::Html,
        },
        silent: b.sending.silent,
        disable_link_preview: b.sending.disable_link_preview,
        protect_content: b.sending.protect_content,
    };
    let rec = crate::domain::settings::save(&st, t.scope, input).await?;
    Ok(Json(settings_view(&rec)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Lowest level shown: trace, debug, info, warn, error (default info).
    pub level: Option<String>,
    /// Only lines containing this text (case-insensitive).
    pub q: Option<String>,
    /// Lines to return, 1 to 1000 (default 200).
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = LogLine)]
pub struct LogLineOut {
    /// RFC 3339 time.
    pub time: String,
    /// TRACE, DEBUG, INFO, WARN or ERROR.
    pub level: String,
    pub message: String,
}

/// The tail of the tenant's log (owners and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/logs", tag = "tenants", params(("id" = u64, Path, description = "Tenant id"), LogQuery),
    responses((status = 200, body = Vec<LogLineOut>), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn tenant_logs(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> AppResult<Json<Vec<LogLineOut>>> {
    let level = match q
        .level
        .as_deref()
        .unwrap_or("info")
        .to_ascii_lowercase()
        .as_str()
    {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "warn" => tracing::Level::WARN,
        "error" => tracing::Level::ERROR,
        _ => {
            return Err(AppError::BadRequest {
                code: "request.invalid_query",
                message: "level must be one of trace, debug, info, warn, error".into(),
            });
        }
    };
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) || q.q.as_ref().is_some_and(|s| s.len() > 200) {
        return Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: "limit must be between 1 and 1000 and q at most 200 characters".into(),
        });
    }
    let id: TenantId = t.scope.tenant_id();
    let logs = st.tenant_logs.clone();
    let lines = blocking(move || Ok(logs.tail(id, level, q.q.as_deref(), limit))).await?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| LogLineOut {
                time: l.time,
                level: l.level,
                message: l.message,
            })
            .collect(),
    ))
}
