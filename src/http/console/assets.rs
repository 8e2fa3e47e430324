//! The console's static files, embedded at build time from `web/` (vendored htmx and uPlot,
//! our CSS and script). Nothing is fetched at run time.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `(name, content type, bytes)`.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/static/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/static/console.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/static/charts.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/vendor/htmx-2.0.11.min.js"),
    ),
    (
        "uPlot.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/vendor/uPlot-1.6.32.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/vendor/uPlot-1.6.32.min.css"),
    ),
];

/// The Mini-App's own files, from `miniapp/`.
const APP_FILES: &[(&str, &str, &[u8])] = &[
    (
        "miniapp.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../miniapp/static/miniapp.css"),
    ),
    (
        "miniapp.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../miniapp/static/miniapp.js"),
    ),
    (
        "telegram-web-app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../miniapp/vendor/telegram-web-app.js"),
    ),
];

pub async fn app_asset(Path(file): Path<String>) -> Response {
    let Some((_, ctype, bytes)) = APP_FILES.iter().find(|(n, _, _)| *n == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    cached(*bytes, ctype)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, ctype, bytes)) = FILES.iter().find(|(n, _, _)| *n == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Names do not change within a build; a day is short enough for upgrades.
    cached(*bytes, ctype)
}

/// A body browsers may keep for a day: for files whose URL changes with their content.
pub fn cached(body: impl IntoResponse, ctype: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}
