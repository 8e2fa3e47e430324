//! The HTTP surface: router, OpenAPI document, middleware and the small system endpoints.

pub mod admin_socket;
pub mod audit_routes;
pub mod auth_routes;
pub mod backup_routes;
pub mod billing_admin_routes;
pub mod billing_routes;
pub mod campaign_routes;
pub mod client_addr;
pub mod console;
pub mod csv;
pub mod download;
pub mod error;
pub mod export_routes;
pub mod extract;
pub mod group_routes;
pub mod import_routes;
pub mod language;
pub mod login_routes;
pub mod mail_routes;
pub mod media_routes;
pub mod openapi;
pub mod plan_routes;
pub mod redirect;
pub mod roles;
pub mod rule_routes;
pub mod run_routes;
pub mod stats_routes;
pub mod stats_views;
pub mod system;
pub mod template_routes;
pub mod tenant_routes;
pub mod tls_listener;
pub mod views;
pub mod worker_routes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;
use crate::runtime::metrics::{HttpLabels, RouteLabels};
use crate::state::Shared;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "botyard API",
        description = "Control-plane API of the botyard appliance. Errors are `{\"error\":{\"code\":\"area.reason\",\"message\":\"…\"}}` with stable codes; another tenant's resource is a 404.",
        version = "1"
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Login, tokens, first-run setup"),
        (name = "tenants", description = "Tenants (admins manage; members read their own)"),
        (name = "members", description = "Accounts in a tenant"),
        (name = "api-keys", description = "API keys for tenant automation"),
        (name = "settings", description = "Tenant-specific configuration"),
        (name = "plans", description = "Subscription plans and their limits (admins)"),
        (name = "billing", description = "Plan prices, a tenant's subscription and its payments"),
        (name = "sessions", description = "Telegram sessions of a tenant and its worker process"),
        (name = "groups", description = "Chats the sessions are in, chosen for automation"),
        (name = "templates", description = "Message templates, their versions, variables and media"),
        (name = "campaigns", description = "Scheduled posts of a template to groups, with delivery reports"),
        (name = "rules", description = "Group automation: welcome and goodbye messages, auto-replies, anti-flood, filters, join captcha; their log and warnings"),
        (name = "stats", description = "Statistics in the tenant's local dates, as JSON or CSV"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("access token (JWT) or API key (bya_…)")
                    .build(),
            ),
        );
    }
}

fn api_router() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth_routes::router())
        .merge(tenant_routes::router())
        .merge(plan_routes::router())
        .merge(billing_routes::router())
        .merge(billing_admin_routes::router())
        .merge(mail_routes::router())
        .merge(backup_routes::router())
        .merge(worker_routes::router())
        .merge(export_routes::router())
        .merge(group_routes::router())
        .merge(import_routes::router())
        .merge(audit_routes::router())
        .merge(login_routes::router())
        .merge(template_routes::router())
        .merge(media_routes::router())
        .merge(campaign_routes::router())
        .merge(rule_routes::router())
        .merge(run_routes::router())
        .merge(stats_routes::router())
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi_json() -> String {
    let (_, api) = api_router().split_for_parts();
    document_json(&api)
}

/// The generated document, completed with the answers every operation shares.
fn document_json(api: &utoipa::openapi::OpenApi) -> String {
    let mut doc = match serde_json::to_value(api) {
        Ok(v) => v,
        Err(e) => return format!("{{\"error\":\"{e}\"}}\n"),
    };
    openapi::complete(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

pub fn router(st: Shared) -> Router {
    let (api, doc) = api_router().split_for_parts();
    let doc_json: Arc<str> = document_json(&doc).into();
    let body_limit = st.config.http.body_limit_kb * 1024;
    let timeout = Duration::from_secs(st.config.http.request_timeout_secs);
    api.merge(system::router(doc_json))
        .merge(console::router(st.clone()))
        .merge(console::unsubscribe_pages::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            st.clone(),
            language::localize,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(st.clone(), observe))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal("handler panicked".into()).into_response()
        }))
        .with_state(st)
}

async fn not_found() -> Response {
    let mut r = AppError::BadRequest {
        code: "route.not_found",
        message: "no such route".into(),
    }
    .into_response();
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

async fn method_not_allowed() -> Response {
    let mut r = AppError::BadRequest {
        code: "route.method_not_allowed",
        message: "method not allowed on this route".into(),
    }
    .into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// Metrics, the request span and security headers. The span's `tenant_id` (which sends the
/// request's events to that tenant's log) is recorded by [`extract::TenantCtx`] once the caller
/// is authorized for the tenant, so requests of strangers never reach a tenant's log.
async fn observe(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let span = tracing::info_span!(
        "http",
        %method,
        route = %route,
        tenant_id = tracing::field::Empty,
        botyard_instance = st.tenant_logs.instance()
    );
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, ms = elapsed.as_millis() as u64, "request failed");
        } else {
            tracing::debug!(status, ms = elapsed.as_millis() as u64, "request");
        }
    });
    st.metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    st.metrics
        .http_duration
        .get_or_create(&RouteLabels { method, route })
        .observe(elapsed.as_secs_f64());
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Served over HTTPS (built in, or behind a proxy with an https public URL): browsers
    // keep to HTTPS for a year. Subdomains are the reseller's business, so not included.
    if st.appliance().base_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_openapi_matches_the_code() {
        let committed = include_str!("../../docs/openapi.json");
        assert!(
            committed == super::openapi_json(),
            "docs/openapi.json drifted: run `cargo run -- openapi > docs/openapi.json`"
        );
        assert!(committed.contains("\"openapi\": \"3.1"));
    }
}
