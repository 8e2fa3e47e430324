//! Rows brought from another bot (`botyard-migrate sqlite`): the tenant's groups and the
//! Telegram users they saw. Templates and campaigns come through their own routes.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::SecretId;

use crate::domain::imports::{self, Counts, GroupIn, UserIn};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, TenantCtx};
use crate::http::group_routes::GroupKind;
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(import_rows))
        .routes(routes!(import_table_rows))
}

/// The most rows one call of `…/rows` takes.
pub const ROWS_MAX: usize = 2_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsIn {
    /// A table the export carries (`POST /api/v1/export`), except `sessions` and `media`.
    pub table: String,
    /// Up to 2,000 `[key, value]` pairs as the export writes them; the key's tenant part is
    /// replaced with this tenant.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<(serde_json::Value, serde_json::Value)>,
}

#[derive(Serialize, ToSchema, Debug)]
pub struct RowsOut {
    pub table: String,
    pub rows: usize,
}

/// Load rows of one table, as the export wrote them, into this tenant (admins; what
/// `botyard-migrate postgres import` sends). A row that does not fit its table refuses the
/// whole call. The tenant's id sequences move past the ids loaded.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/rows", tag = "tenants",
    params(("id" = u64, Path, description = "Tenant id")),
    request_body = RowsIn,
    responses((status = 200, body = RowsOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn import_table_rows(t: TenantCtx, ApiJson(b): ApiJson<RowsIn>) -> AppResult<Json<RowsOut>> {
    let exported = botyard_shards::transfer::exported_tables()?;
    if !exported.contains(&b.table) {
        return Err(AppError::invalid("table", "not a table the export carries"));
    }
    if b.table == "sessions" || b.table == "media" {
        return Err(AppError::invalid(
            "table",
            "sessions and media files do not travel this way (no keys, no files): connect the sessions again and upload the media",
        ));
    }
    if b.rows.len() > ROWS_MAX {
        return Err(AppError::invalid(
            "rows",
            format!("at most {ROWS_MAX} rows per call"),
        ));
    }
    let n = b.rows.len();
    let table = b.table.clone();
    blocking(move || -> AppResult<()> {
        t.scope.import_rows(&b.table, b.rows)?;
        t.scope.settle_sequences()?;
        Ok(())
    })
    .await?;
    Ok(Json(RowsOut { table, rows: n }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportGroupIn {
    pub chat_id: i64,
    pub title: String,
    pub kind: GroupKind,
    /// Automation on for it (a new group only; a known one keeps the tenant's choice).
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUserIn {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    /// Messages counted by the old bot.
    #[serde(default)]
    pub messages: u64,
    /// When the old bot first saw them (RFC 3339), if it knew.
    pub first_seen: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportIn {
    /// The session that posts in the groups (required with groups).
    pub session_id: Option<u64>,
    /// Up to 5,000.
    #[serde(default)]
    pub groups: Vec<ImportGroupIn>,
    /// Up to 5,000.
    #[serde(default)]
    pub users: Vec<ImportUserIn>,
}

#[derive(Serialize, ToSchema, Debug, Default)]
pub struct CountsOut {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}

impl From<Counts> for CountsOut {
    fn from(c: Counts) -> Self {
        CountsOut {
            created: c.created,
            updated: c.updated,
            unchanged: c.unchanged,
        }
    }
}

#[derive(Serialize, ToSchema, Debug)]
pub struct ImportOut {
    pub groups: CountsOut,
    pub users: CountsOut,
}

/// Bring groups and Telegram users from another bot (admins). Keyed by Telegram's ids:
/// sending the same rows again changes nothing.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/import", tag = "tenants",
    params(("id" = u64, Path, description = "Tenant id")),
    request_body = ImportIn,
    responses((status = 200, body = ImportOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn import_rows(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<ImportIn>,
) -> AppResult<Json<ImportOut>> {
    let now = st.now();
    let groups: Vec<GroupIn> = b
        .groups
        .into_iter()
        .map(|g| GroupIn {
            chat_id: g.chat_id,
            title: g.title,
            kind: g.kind.into(),
            enabled: g.enabled,
        })
        .collect();
    let mut users = Vec::with_capacity(b.users.len());
    for u in b.users {
        let first_seen = match u.first_seen.as_deref() {
            Some(s) => Some(
                s.parse::<jiff::Timestamp>()
                    .map_err(|_| crate::error::AppError::invalid("users.first_seen", "RFC 3339"))?
                    .as_second(),
            ),
            None => None,
        };
        users.push(UserIn {
            user_id: u.user_id,
            first_name: u.first_name,
            last_name: u.last_name,
            username: u.username,
            messages: u.messages,
            first_seen,
        });
    }
    let session = b.session_id.map(SecretId);
    if !groups.is_empty() && session.is_none() {
        return Err(crate::error::AppError::invalid(
            "session_id",
            "groups need the session that posts in them",
        ));
    }
    let out = blocking(move || -> AppResult<ImportOut> {
        let g = match session {
            Some(s) if !groups.is_empty() => imports::groups(&t.scope, s, &groups, now)?,
            _ => Counts::default(),
        };
        let u = imports::users(&t.scope, &users, now)?;
        Ok(ImportOut {
            groups: g.into(),
            users: u.into(),
        })
    })
    .await?;
    Ok(Json(out))
}
