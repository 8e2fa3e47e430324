//! Health, readiness, metrics, the OpenAPI document, Swagger UI, and the first-run setup page.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::runtime::metrics::SchedulerSample;
use crate::runtime::metrics::StatusLabels;
use crate::state::Shared;

pub fn router(doc: Arc<str>) -> Router<Shared> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(move || openapi(doc.clone())))
        .route("/api/docs", get(docs))
        .route("/api/docs/swagger-ui-bundle.js", get(swagger_js))
        .route("/api/docs/swagger-ui.css", get(swagger_css))
        .route("/setup", get(setup_page))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(st): State<Shared>) -> Response {
    if st.ready.load(Ordering::SeqCst) {
        Json(serde_json::json!({"status": "ready", "shards": st.store.shard_count()}))
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "starting"})),
        )
            .into_response()
    }
}

/// Loopback clients only (not forwarded by a proxy), unless a token is configured (then the
/// token, from anywhere).
async fn metrics(
    State(st): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let allowed = match &st.config.metrics.token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.expose().as_bytes()))),
        // A visitor behind a reverse proxy on this machine also comes from loopback: a
        // forwarded request is a remote one, whether the proxy is trusted or not.
        None => {
            peer.ip().is_loopback()
                && !headers.contains_key("forwarded")
                && !headers.contains_key("x-forwarded-for")
        }
    };
    if !allowed {
        return Err(AppError::Unauthorized {
            code: "metrics.unauthorized",
            message: "metrics need the configured token, or a loopback client",
        });
    }
    if let Ok((active, suspended)) = st
        .store
        .catalog_read()
        .and_then(|c| c.tenant_count_by_status())
    {
        st.metrics
            .tenants
            .get_or_create(&StatusLabels { status: "active" })
            .set(active as i64);
        st.metrics
            .tenants
            .get_or_create(&StatusLabels {
                status: "suspended",
            })
            .set(suspended as i64);
    }
    let workers = st.supervisor.all();
    let sched = st.scheduler.watch().borrow().clone();
    let text = st.metrics.scrape(
        workers
            .iter()
            .map(|(key, w)| w.metrics_sample(key.to_string())),
        &SchedulerSample {
            timers: sched.timers,
            runs_started: sched.runs_started,
            runs_skipped: sched.runs_skipped,
        },
    );
    // Prometheus asks for OpenMetrics; anything else gets the classic text format.
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let (body, kind) = if openmetrics {
        (
            text,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            crate::runtime::metrics::to_prometheus_text(&text),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    };
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    Ok(r)
}

async fn openapi(doc: Arc<str>) -> Response {
    let mut r = doc.to_string().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

async fn swagger_js() -> Response {
    asset(
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
        "text/javascript; charset=utf-8",
    )
}

async fn swagger_css() -> Response {
    asset(
        include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
        "text/css; charset=utf-8",
    )
}

async fn docs() -> Html<&'static str> {
    Html(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>botyard API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"##,
    )
}

/// Old setup links go to the console's setup page, their token kept.
async fn setup_page(uri: axum::http::Uri) -> axum::response::Redirect {
    let to = match uri.query() {
        Some(q) => format!("/console/setup?{q}"),
        None => "/console/setup".to_string(),
    };
    axum::response::Redirect::to(&to)
}
