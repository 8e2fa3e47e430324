//! Health, readiness, Prometheus metrics, Swagger UI and the OpenAPI document.

use crate::common;

use serde_json::{Value, json};

use common::{App, Resp, send};

async fn get_plain(app: &App, path: &str) -> Resp {
    send(app.client.get(app.url(path))).await
}

/// The value of the first sample whose line starts with `name{` and has every label given.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|lab| l.contains(lab)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn health_readiness_and_metrics_by_route_template() {
    let app = App::start().await;

    let h = get_plain(&app, "/healthz").await;
    assert_eq!(h.expect(200), &json!({"status": "ok"}));
    assert_eq!(h.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(h.header("cache-control"), Some("no-store"));
    let r = get_plain(&app, "/readyz").await;
    assert_eq!(r.expect(200), &json!({"status": "ready", "shards": 2}));

    let admin = app.admin().await.access;
    let a = app.create_tenant(&admin, "Metrik A").await;
    let b = app.create_tenant(&admin, "Metrik B").await;
    for t in [a, b, a] {
        app.get(&format!("/api/v1/tenants/{t}"), &admin)
            .await
            .expect(200);
    }
    app.get("/api/v1/tenants/424242", &admin)
        .await
        .expect_err(404, "resource.not_found");
    get_plain(&app, "/no/such/page-9f8e7d")
        .await
        .expect_err(404, "route.not_found");
    app.login_raw("nobody@example.com", "wrong-password-1")
        .await
        .expect_err(401, "auth.invalid_credentials");

    // Prometheus asks for OpenMetrics.
    let m = send(app.client.get(app.url("/metrics")).header(
        "accept",
        "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
    ))
    .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        m.header("content-type")
    );
    let text = &m.text;
    let route = r#"route="/api/v1/tenants/{id}""#;
    assert_eq!(
        sample(
            text,
            "botyard_http_requests_total",
            &[r#"method="GET""#, route, r#"status="200""#]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            text,
            "botyard_http_requests_total",
            &[r#"method="GET""#, route, r#"status="404""#]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            text,
            "botyard_http_requests_total",
            &[
                r#"method="POST""#,
                r#"route="/api/v1/tenants""#,
                r#"status="201""#
            ]
        ),
        Some(2.0),
        "{text}"
    );
    // Raw paths never become labels: ids and unknown paths are bounded.
    for raw in [
        format!(r#"route="/api/v1/tenants/{a}""#),
        r#"route="/api/v1/tenants/424242""#.to_string(),
        "page-9f8e7d".to_string(),
    ] {
        assert!(!text.contains(&raw), "raw path {raw} in the metrics");
    }
    assert!(
        sample(
            text,
            "botyard_http_requests_total",
            &[r#"route="unmatched""#, r#"status="404""#]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        sample(
            text,
            "botyard_http_request_duration_seconds_bucket",
            &[route]
        )
        .is_some(),
        "latency histogram by route template: {text}"
    );
    assert_eq!(
        sample(text, "botyard_tenants", &[r#"status="active""#]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(text, "botyard_tenants", &[r#"status="suspended""#]),
        Some(0.0),
        "{text}"
    );
    assert!(text.contains("botyard_login_failures_total 1"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));

    // The tenant gauge follows the store.
    app.post(&format!("/api/v1/tenants/{b}/suspend"), &admin, json!({}))
        .await
        .expect(200);
    let text = get_plain(&app, "/metrics").await.text;
    assert_eq!(
        sample(&text, "botyard_tenants", &[r#"status="active""#]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "botyard_tenants", &[r#"status="suspended""#]),
        Some(1.0),
        "{text}"
    );
    // The scrape itself is counted under its own route.
    assert!(
        sample(
            &text,
            "botyard_http_requests_total",
            &[r#"route="/metrics""#]
        )
        .is_some()
    );
}

#[tokio::test]
async fn metrics_token_is_required_when_configured() {
    let app = App::start_with(|c| {
        c.metrics.token = Some(botyard::config::Secret::new("scrape-me-7f3a"));
    })
    .await;
    let none = get_plain(&app, "/metrics").await;
    none.expect_err(401, "metrics.unauthorized");
    assert!(!none.text.contains("botyard_http_requests_total"));
    for wrong in [
        "Bearer scrape-me-7f3",
        "Bearer scrape-me-7f3a0",
        "Basic scrape-me-7f3a",
        "scrape-me-7f3a",
    ] {
        let r = send(
            app.client
                .get(app.url("/metrics"))
                .header("authorization", wrong),
        )
        .await;
        r.expect_err(401, "metrics.unauthorized");
    }
    let r = send(
        app.client
            .get(app.url("/metrics"))
            .bearer_auth("scrape-me-7f3a"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("botyard_http_requests_total"));
    assert!(r.text.contains("botyard_tenants"));
    // Health endpoints need no token.
    get_plain(&app, "/healthz").await.expect(200);
    get_plain(&app, "/readyz").await.expect(200);
}

#[tokio::test]
async fn swagger_ui_and_the_openapi_document_are_served() {
    let app = App::start().await;

    let docs = get_plain(&app, "/api/docs").await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(docs.text.contains("/api/docs/swagger-ui-bundle.js"));
    assert!(docs.text.contains("/api/openapi.json"));
    // Vendored assets, no CDN.
    assert!(
        !docs.text.contains("https://"),
        "the docs page loads nothing from elsewhere"
    );

    let js = get_plain(&app, "/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .is_some_and(|c| c.starts_with("text/javascript")),
        "{:?}",
        js.header("content-type")
    );
    assert!(
        js.text.len() > 100_000,
        "the bundle is {} bytes",
        js.text.len()
    );
    assert!(js.text.contains("SwaggerUIBundle"));
    let css = get_plain(&app, "/api/docs/swagger-ui.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.header("content-type")
            .is_some_and(|c| c.starts_with("text/css"))
    );

    let doc = get_plain(&app, "/api/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(
        doc.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let v = &doc.json;
    let version = v["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "{version}");
    assert_eq!(v["info"]["title"], "botyard API");
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
    let paths = v["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/auth/login",
        "/api/v1/tenants",
        "/api/v1/tenants/{id}",
        "/api/v1/tenants/{id}/members",
        "/api/v1/tenants/{id}/settings",
        "/api/v1/tenants/{id}/logs",
        "/api/v1/plans/{plan_id}",
        "/api/v1/setup",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    // The served document is the committed one.
    let committed: Value =
        serde_json::from_str(include_str!("../../docs/openapi.json")).expect("committed document");
    assert_eq!(
        v, &committed,
        "docs/openapi.json differs from the served document"
    );

    // The API guide in the help links to it.
    let guide = get_plain(&app, "/help/en/api").await;
    assert_eq!(guide.status, 200);
    assert!(guide.text.contains("href=\"/api/docs\""), "{}", guide.text);
}

/// An address of this machine other than loopback, if it has one.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    [
        "192.0.2.1:9",
        "198.51.100.1:9",
        "203.0.113.1:9",
        "10.255.255.1:9",
    ]
    .iter()
    .find_map(|target| {
        s.connect(target).ok()?;
        let ip = s.local_addr().ok()?.ip();
        (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
    })
}

#[tokio::test]
async fn metrics_without_a_token_answer_only_loopback_clients() {
    let app = App::start_on("0.0.0.0:0", |_| {}).await;
    let port = app.addr().port();
    // From loopback: allowed.
    let r = send(app.client.get(format!("http://127.0.0.1:{port}/metrics"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Through a reverse proxy on this machine, a visitor's request comes from loopback too:
    // forwarded, it is not a local client (trusted proxy or not).
    for header in ["x-forwarded-for", "forwarded"] {
        let value = if header == "forwarded" {
            "for=203.0.113.9"
        } else {
            "203.0.113.9"
        };
        let r = send(
            app.client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .header(header, value),
        )
        .await;
        r.expect_err(401, "metrics.unauthorized");
    }
    let Some(ip) = non_loopback_ip() else {
        eprintln!("this machine has no non-loopback address; the remote half is not checked");
        return;
    };
    // From another address of this machine: refused, while health stays open.
    let r = send(app.client.get(format!("http://{ip}:{port}/metrics"))).await;
    r.expect_err(401, "metrics.unauthorized");
    assert!(!r.text.contains("botyard_http_requests_total"));
    let h = send(app.client.get(format!("http://{ip}:{port}/healthz"))).await;
    assert_eq!(h.status, 200);
}

/// Every family of a busy server passes `promtool check metrics` (Debian's `prometheus`
/// package; `.ci/run` installs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_scraped_metrics() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    app.login_raw("nobody@example.com", "wrong-password-1")
        .await
        .expect_err(401, "auth.invalid_credentials");
    let t = app
        .sim_tenant(&admin, "Promtool", common::limits(), json!({"seed": 2}))
        .await;
    app.get(&format!("/api/v1/tenants/{}", t.tenant), &admin)
        .await
        .expect(200);
    let m = get_plain(&app, "/metrics").await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(
        m.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for counter in [
        "botyard_http_requests_total",
        "botyard_login_failures_total",
        "botyard_worker_events_stored_total",
        "botyard_worker_restarts_total",
        "botyard_campaign_runs_total",
    ] {
        assert!(
            m.text.contains(&format!("# TYPE {counter} counter")),
            "{counter} is not a counter:\n{}",
            m.text
        );
    }
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(m.text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{}",
        m.text
    );
    app.stop().await.unwrap();
}

/// The response check every test's requests go through is not vacuous: an undocumented status
/// and a body off its schema are both caught.
#[test]
fn the_openapi_response_check_catches_what_the_document_does_not_say() {
    let resp = |status: u16, body: serde_json::Value| {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Resp {
            status,
            headers,
            text: body.to_string(),
            json: body,
        }
    };
    let me = reqwest::Method::GET;
    let ok = std::panic::catch_unwind(|| {
        common::openapi_check::check(&me, "/api/v1/auth/me", &resp(200, json!({"nope": 1})))
    });
    assert!(ok.is_err(), "a body off the schema passed");
    let ok = std::panic::catch_unwind(|| {
        common::openapi_check::check(&me, "/api/v1/auth/me", &resp(418, json!({})))
    });
    assert!(ok.is_err(), "an undocumented status passed");
    let r = std::panic::catch_unwind(|| {
        common::openapi_check::check(
            &me,
            "/api/v1/auth/me",
            &resp(
                401,
                json!({"error": {"code": "auth.missing_credentials", "message": "x"}}),
            ),
        )
    });
    assert!(r.is_ok(), "a documented error was refused");
}
