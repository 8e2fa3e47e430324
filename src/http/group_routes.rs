//! The tenant's groups: list with filters, one group, enable/disable and tags, refresh.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::ChatId;
use botyard_shards::records::{GroupKindRec, GroupRec};

use crate::clock::rfc3339;
use crate::domain::groups::{self, GroupFilter, GroupPatch};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_groups))
        .routes(routes!(get_group, update_group))
        .routes(routes!(refresh_groups))
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Group,
    Supergroup,
    Channel,
}

impl From<GroupKindRec> for GroupKind {
    fn from(k: GroupKindRec) -> Self {
        match k {
            GroupKindRec::Group => GroupKind::Group,
            GroupKindRec::Supergroup => GroupKind::Supergroup,
            GroupKindRec::Channel => GroupKind::Channel,
        }
    }
}

impl From<GroupKind> for GroupKindRec {
    fn from(k: GroupKind) -> Self {
        match k {
            GroupKind::Group => GroupKindRec::Group,
            GroupKind::Supergroup => GroupKindRec::Supergroup,
            GroupKind::Channel => GroupKindRec::Channel,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupOut {
    /// Telegram's chat id (negative for groups and channels).
    pub chat_id: i64,
    pub title: String,
    pub kind: GroupKind,
    pub members: u32,
    /// The session may post here.
    pub can_post: bool,
    pub is_admin: bool,
    /// Seconds between messages, 0 when slow mode is off.
    pub slow_mode_secs: u32,
    /// The session that sees this chat.
    pub session_id: u64,
    /// Still among the session's chats at the last refresh.
    pub present: bool,
    /// Chosen for automation.
    pub enabled: bool,
    pub tags: Vec<String>,
    pub discovered_at: String,
    pub updated_at: String,
}

fn group_out(chat: ChatId, g: GroupRec) -> GroupOut {
    GroupOut {
        chat_id: chat.0,
        title: g.title,
        kind: g.kind.into(),
        members: g.members,
        can_post: g.can_post,
        is_admin: g.is_admin,
        slow_mode_secs: g.slow_mode_secs,
        session_id: g.session,
        present: g.present,
        enabled: g.enabled,
        tags: g.tags,
        discovered_at: rfc3339(g.discovered_at),
        updated_at: rfc3339(g.updated_at),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    pub enabled: Option<bool>,
    pub can_post: Option<bool>,
    /// Still among the session's chats (default: any).
    pub present: Option<bool>,
    pub kind: Option<GroupKind>,
    /// Groups carrying this tag.
    pub tag: Option<String>,
    pub session_id: Option<u64>,
    /// Part of the title, any case (Turkish İ/ı included).
    pub q: Option<String>,
}

/// The tenant's groups, largest first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/groups", tag = "groups",
    params(("id" = u64, Path, description = "Tenant id"), GroupQuery),
    responses((status = 200, body = Vec<GroupOut>), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_groups(
    t: TenantCtx,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> AppResult<Json<Vec<GroupOut>>> {
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 100)
        || q.tag.as_ref().is_some_and(|s| s.chars().count() > 32)
    {
        return Err(AppError::BadRequest {
            code: "request.invalid_query",
            message: "q has at most 100 characters and tag at most 32".into(),
        });
    }
    let filter = GroupFilter {
        enabled: q.enabled,
        can_post: q.can_post,
        present: q.present,
        kind: q.kind.map(Into::into),
        tag: q.tag.map(|t| botyard_shards::search_fold(t.trim())),
        session: q.session_id,
        q: q.q,
    };
    let all = blocking(move || groups::list(&t.scope, &filter)).await?;
    Ok(Json(
        all.into_iter().map(|(c, g)| group_out(c, g)).collect(),
    ))
}

/// One group.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/groups/{chat_id}", tag = "groups",
    params(("id" = u64, Path, description = "Tenant id"), ("chat_id" = i64, Path, description = "Telegram chat id")),
    responses((status = 200, body = GroupOut), (status = 404, body = ErrorEnvelope)), security(("bearer" = [])))]
async fn get_group(t: TenantCtx, ApiPath(ids): ApiPath<(u64, i64)>) -> AppResult<Json<GroupOut>> {
    let chat = ChatId(ids.1);
    let g = blocking(move || groups::get(&t.scope, chat)).await?;
    Ok(Json(group_out(chat, g)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatchIn {
    /// Use this group for automation; counts against the plan's group limit.
    pub enabled: Option<bool>,
    /// Replaces the tags: up to 20, each 1–32 letters, digits, `-` or `_` (stored lower-case).
    pub tags: Option<Vec<String>>,
}

/// Turn a group on or off for automation, or set its tags (any member of an active tenant).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/groups/{chat_id}", tag = "groups",
    params(("id" = u64, Path, description = "Tenant id"), ("chat_id" = i64, Path, description = "Telegram chat id")),
    request_body = GroupPatchIn,
    responses((status = 200, body = GroupOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_group(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, i64)>,
    ApiJson(b): ApiJson<GroupPatchIn>,
) -> AppResult<Json<GroupOut>> {
    if b.tags.as_ref().is_some_and(|t| t.len() > 100) {
        return Err(AppError::invalid("tags", "at most 20 tags"));
    }
    let chat = ChatId(ids.1);
    let st2 = st.clone();
    let tenant = t.scope.tenant_id();
    let g = blocking(move || {
        let limit =
            crate::domain::tenancy::plan_limit(&st2.store, t.scope.record().plan, |l| l.groups)?;
        groups::update(
            &t.scope,
            limit,
            chat,
            GroupPatch {
                enabled: b.enabled,
                tags: b.tags,
            },
            st2.now(),
        )
    })
    .await?;
    // A rule with a tag follows the groups that carry it.
    st.supervisor.push_rules(tenant).await;
    Ok(Json(group_out(chat, g)))
}

/// Ask the tenant's worker to list its sessions' chats again. The list updates when the
/// worker answers (usually within a second).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/groups/refresh", tag = "groups",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 202), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn refresh_groups(State(st): State<Shared>, t: TenantCtx) -> AppResult<StatusCode> {
    groups::refresh(&st, &t.scope)?;
    Ok(StatusCode::ACCEPTED)
}
