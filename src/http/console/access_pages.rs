//! A tenant's API keys and its log, for the people who run the tenant (owners and admins).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use axum::http::Method;
use botyard_shards::TenantScope;
use botyard_shards::ids::ApiKeyId;
use botyard_shards::records::Role;

use super::authorize::{Want, tenant};
use super::session::{Chrome, Viewer};
use super::{error_page, render};
use crate::domain::tenancy;
use crate::error::{AppError, AppResult};
use crate::http::roles::Needs;
use crate::runtime::tenant_logs::LogLine;
use crate::state::{Shared, blocking};

pub struct KeyRow {
    pub id: u64,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created: String,
    pub used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
}

fn keys_page(v: &Viewer, scope: &TenantScope, new_key: Option<String>) -> AppResult<Response> {
    let t = &v.chrome.t;
    let keys = scope
        .catalog_read()?
        .api_keys()?
        .into_iter()
        .map(|(id, k)| KeyRow {
            id: id.0,
            name: k.name,
            role: format!("{:?}", k.role).to_lowercase(),
            prefix: k.prefix,
            created: t.when(k.created_at),
            used: k.last_used_at.map(|u| t.when(u)).unwrap_or_default(),
            revoked: k.revoked_at.is_some(),
        })
        .collect();
    Ok(render(&KeysPage {
        tenant: scope.tenant_id().0,
        tenant_name: scope.record().name.clone(),
        keys,
        new_key,
        c: v.tenant_page(),
    }))
}

pub async fn keys(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    let page = async {
        let scope = tenant(&st, &v, id, Want::See(Needs::Manage)).await?;
        keys_page(&v, &scope, None)
    }
    .await;
    page.unwrap_or_else(|e| error_page(v.page(""), e))
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// Creates a key and shows it once, on the answer itself (never in a URL or a log).
pub async fn create_key(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<KeyForm>,
) -> Response {
    let page = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/api-keys"),
        )
        .await?;
        let role = match f.role.as_str() {
            "owner" => Role::Owner,
            "editor" => Role::Editor,
            "viewer" => Role::Viewer,
            _ => return Err(AppError::invalid("role", "choose owner, editor or viewer")),
        };
        let now = st.now();
        let (scope, key) = blocking(move || {
            let k = tenancy::create_api_key(&scope, &f.name, role, now)?;
            Ok((scope, k.key))
        })
        .await?;
        keys_page(&v, &scope, Some(key))
    }
    .await;
    page.unwrap_or_else(|e| error_page(v.page(""), e))
}

pub async fn revoke_key(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, key)): Path<(u64, u64)>,
) -> Response {
    let page = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::DELETE, "/api/v1/tenants/{id}/api-keys/{key_id}"),
        )
        .await?;
        let now = st.now();
        let scope = blocking(move || {
            tenancy::revoke_api_key(&scope, ApiKeyId(key), now)?;
            Ok(scope)
        })
        .await?;
        keys_page(&v, &scope, None)
    }
    .await;
    page.unwrap_or_else(|e| error_page(v.page(""), e))
}

#[derive(Template)]
#[template(path = "console/logs.html")]
struct LogsPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    levels: Vec<&'static str>,
    level: String,
    q: String,
    lines: Vec<LogLine>,
}

#[derive(Deserialize)]
pub struct LogQuery {
    level: Option<String>,
    q: Option<String>,
}

/// The tenant's log, newest last, filtered by level and text.
pub async fn logs(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<LogQuery>,
) -> Response {
    let page = async {
        let scope = tenant(&st, &v, id, Want::See(Needs::Manage)).await?;
        let level_name = q
            .level
            .unwrap_or_else(|| "info".into())
            .to_ascii_lowercase();
        let level = match level_name.as_str() {
            "debug" => tracing::Level::DEBUG,
            "warn" => tracing::Level::WARN,
            "error" => tracing::Level::ERROR,
            _ => tracing::Level::INFO,
        };
        let text: String = q.q.unwrap_or_default().chars().take(200).collect();
        let logs = st.tenant_logs.clone();
        let (tid, filter) = (scope.tenant_id(), text.clone());
        let lines = blocking(move || {
            Ok(logs.tail(
                tid,
                level,
                (!filter.is_empty()).then_some(filter.as_str()),
                500,
            ))
        })
        .await?;
        Ok::<_, AppError>(render(&LogsPage {
            tenant: id,
            tenant_name: scope.record().name.clone(),
            levels: vec!["debug", "info", "warn", "error"],
            level: level_name,
            q: text,
            lines,
            c: v.tenant_page(),
        }))
    }
    .await;
    page.unwrap_or_else(|e| error_page(v.page(""), e))
}
