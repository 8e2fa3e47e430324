//! Malformed requests, route family by route family, with the status and error code each
//! must get; none of them may produce a 500 or show internals, and the server keeps serving.

use crate::common;

use reqwest::Method;
use serde_json::json;

use common::{App, PASSWORD, limits, settings_body};

#[derive(Clone, Copy)]
enum Auth {
    None,
    Admin,
    Owner,
    Header(&'static str),
}

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

/// A case with a JSON body (content type set).
fn json_case(
    what: &'static str,
    method: Method,
    path: &str,
    auth: Auth,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        method,
        path: path.to_string(),
        auth,
        content_type: Some("application/json"),
        body: Some(body.into()),
        status,
        code,
        field: None,
    }
}

/// A case without a body.
fn bare(
    what: &'static str,
    method: Method,
    path: &str,
    auth: Auth,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        method,
        path: path.to_string(),
        auth,
        content_type: None,
        body: None,
        status,
        code,
        field: None,
    }
}

impl Case {
    fn field(mut self, f: &'static str) -> Case {
        self.field = Some(f);
        self
    }
    fn content_type(mut self, ct: Option<&'static str>) -> Case {
        self.content_type = ct;
        self
    }
}

const FORBIDDEN_IN_BODIES: [&str; 6] = [
    "/work",
    "panicked",
    "src/",
    ".rs:",
    "RUST_BACKTRACE",
    "/root",
];

#[tokio::test]
async fn malformed_requests_get_the_documented_errors() {
    let app = App::start_with(|c| c.http.body_limit_kb = 4).await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Sınır Testi", "sinir@example.com")
        .await;
    let owner = owner.access;
    let member = app
        .invite_and_join(&owner, t, "uye@example.com", "viewer")
        .await;
    let (key_id, _) = app.create_api_key(&owner, t, "anahtar", "viewer").await;
    let plan = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "P", "limits": limits()}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .expect("plan");

    let big = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(10 * 1024)
    );
    let big_tenant = format!(r#"{{"name":"{}"}}"#, "ş".repeat(5 * 1024));
    let long_token: &'static str =
        Box::leak(format!("Bearer {}", "a".repeat(5000)).into_boxed_str());
    let tenant = format!("/api/v1/tenants/{t}");
    let members = format!("{tenant}/members");
    let settings = format!("{tenant}/settings");
    let mut nested_missing = settings_body("x");
    nested_missing["sending"]
        .as_object_mut()
        .expect("sending")
        .remove("protect_content");
    let mut nested_unknown = settings_body("x");
    nested_unknown["sending"]["sound"] = json!("ding");
    let mut nested_wrong = settings_body("x");
    nested_wrong["sending"]["silent"] = json!("yes");
    let mut language_number = settings_body("x");
    language_number["language"] = json!(5);
    let mut parse_mode_null = settings_body("x");
    parse_mode_null["sending"]["parse_mode"] = json!(null);
    let mut limits_negative = limits();
    limits_negative["sessions"] = json!(-1);
    let mut limits_overflow = limits();
    limits_overflow["groups"] = json!(4_294_967_296u64);
    let mut limits_missing = limits();
    limits_missing
        .as_object_mut()
        .expect("limits")
        .remove("campaigns");

    use Auth::{Admin, Header, Owner};
    let login = "/api/v1/auth/login";
    let post = Method::POST;
    let cases = vec![
        // --- auth ---
        json_case(
            "truncated JSON",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"#,
            400,
            "request.malformed_json",
        ),
        json_case(
            "not JSON",
            post.clone(),
            login,
            Auth::None,
            "email=a&password=b",
            400,
            "request.malformed_json",
        ),
        json_case(
            "empty body",
            post.clone(),
            login,
            Auth::None,
            "",
            400,
            "request.malformed_json",
        ),
        json_case(
            "trailing garbage",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"a@example.com","password":"x"} {}"#,
            400,
            "request.malformed_json",
        ),
        json_case(
            "invalid UTF-8",
            post.clone(),
            login,
            Auth::None,
            b"{\"email\":\"\xff\xfe\",\"password\":\"x\"}".to_vec(),
            400,
            "request.malformed_json",
        ),
        json_case(
            "unknown field",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"a@example.com","password":"x","remember":true}"#,
            400,
            "request.unknown_field",
        ),
        json_case(
            "wrong type",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":1,"password":"x"}"#,
            422,
            "validation.wrong_type",
        )
        .field("email"),
        json_case(
            "missing field",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"a@example.com"}"#,
            422,
            "validation.missing_field",
        )
        .field("password"),
        json_case(
            "array body",
            post.clone(),
            login,
            Auth::None,
            "[]",
            422,
            "validation.wrong_type",
        ),
        json_case(
            "over the limit",
            post.clone(),
            login,
            Auth::None,
            big.clone(),
            413,
            "request.too_large",
        ),
        json_case(
            "no content type",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"a@example.com","password":"x"}"#,
            415,
            "request.unsupported_media_type",
        )
        .content_type(None),
        json_case(
            "form content type",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"a@example.com","password":"x"}"#,
            415,
            "request.unsupported_media_type",
        )
        .content_type(Some("application/x-www-form-urlencoded")),
        json_case(
            "JSON with a charset is fine",
            post.clone(),
            login,
            Auth::None,
            r#"{"email":"nobody@example.com","password":"wrong-password"}"#,
            401,
            "auth.invalid_credentials",
        )
        .content_type(Some("application/json; charset=utf-8")),
        json_case(
            "refresh wrong type",
            post.clone(),
            "/api/v1/auth/refresh",
            Auth::None,
            r#"{"refresh_token":5}"#,
            422,
            "validation.wrong_type",
        )
        .field("refresh_token"),
        json_case(
            "refresh unknown field",
            post.clone(),
            "/api/v1/auth/refresh",
            Auth::None,
            r#"{"refresh_token":"x","a":1}"#,
            400,
            "request.unknown_field",
        ),
        json_case(
            "password missing field",
            post.clone(),
            "/api/v1/auth/password",
            Admin,
            r#"{"current_password":"x"}"#,
            422,
            "validation.missing_field",
        )
        .field("new_password"),
        json_case(
            "password malformed",
            post.clone(),
            "/api/v1/auth/password",
            Admin,
            "{",
            400,
            "request.malformed_json",
        ),
        json_case(
            "setup unknown field",
            post.clone(),
            "/api/v1/setup",
            Auth::None,
            r#"{"token":"t","email":"a@b.co","password":"x","admin":true}"#,
            400,
            "request.unknown_field",
        ),
        json_case(
            "setup missing token",
            post.clone(),
            "/api/v1/setup",
            Auth::None,
            r#"{"email":"a@b.co","password":"x"}"#,
            422,
            "validation.missing_field",
        )
        .field("token"),
        // --- tenants ---
        // Names that show nothing, or reorder what is shown, are refused everywhere.
        json_case(
            "tenant name of invisible characters",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            "{\"name\": \"\u{200B}\u{3164}\u{2060}\"}",
            422,
            "validation.name",
        )
        .field("name"),
        json_case(
            "tenant name with a bidi override",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            "{\"name\": \"Kahve \u{202E}fdp.exe\"}",
            422,
            "validation.name",
        )
        .field("name"),
        json_case(
            "tenant malformed",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            r#"{"name": "x",}"#,
            400,
            "request.malformed_json",
        ),
        json_case(
            "tenant unknown field",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            r#"{"name":"x","status":"active"}"#,
            400,
            "request.unknown_field",
        ),
        json_case(
            "tenant wrong type",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            r#"{"name":5}"#,
            422,
            "validation.wrong_type",
        )
        .field("name"),
        json_case(
            "tenant plan wrong type",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            r#"{"name":"x","plan_id":"abc"}"#,
            422,
            "validation.wrong_type",
        )
        .field("plan_id"),
        json_case(
            "tenant plan negative",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            r#"{"name":"x","plan_id":-1}"#,
            422,
            "validation.wrong_type",
        )
        .field("plan_id"),
        json_case(
            "tenant missing field",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            "{}",
            422,
            "validation.missing_field",
        )
        .field("name"),
        json_case(
            "tenant over the limit",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            big_tenant.clone(),
            413,
            "request.too_large",
        ),
        json_case(
            "tenant no content type",
            post.clone(),
            "/api/v1/tenants",
            Admin,
            r#"{"name":"x"}"#,
            415,
            "request.unsupported_media_type",
        )
        .content_type(None),
        json_case(
            "tenant body without credentials",
            post.clone(),
            "/api/v1/tenants",
            Auth::None,
            "{",
            401,
            "auth.missing_credentials",
        ),
        json_case(
            "patch unknown field",
            Method::PATCH,
            &tenant,
            Admin,
            r#"{"status":"suspended"}"#,
            400,
            "request.unknown_field",
        ),
        json_case(
            "patch wrong type",
            Method::PATCH,
            &tenant,
            Admin,
            r#"{"plan_id":"x"}"#,
            422,
            "validation.wrong_type",
        )
        .field("plan_id"),
        json_case(
            "patch not an object",
            Method::PATCH,
            &tenant,
            Admin,
            r#""name""#,
            422,
            "validation.wrong_type",
        ),
        // --- members ---
        json_case(
            "member unknown role",
            post.clone(),
            &members,
            Owner,
            format!(r#"{{"email":"n@example.com","password":"{PASSWORD}","role":"boss"}}"#),
            422,
            "validation.wrong_type",
        )
        .field("role"),
        json_case(
            "member missing role",
            post.clone(),
            &members,
            Owner,
            r#"{"email":"n@example.com"}"#,
            422,
            "validation.missing_field",
        )
        .field("role"),
        json_case(
            "member email array",
            post.clone(),
            &members,
            Owner,
            r#"{"email":[],"role":"viewer"}"#,
            422,
            "validation.wrong_type",
        )
        .field("email"),
        // serde would fill a struct from an array; the API takes objects only.
        json_case(
            "member patch as an array",
            Method::PATCH,
            &format!("{members}/{member}"),
            Owner,
            r#"[null]"#,
            422,
            "validation.wrong_type",
        ),
        json_case(
            "member role wrong type",
            Method::PATCH,
            &format!("{members}/{member}"),
            Owner,
            r#"{"role":1}"#,
            422,
            "validation.wrong_type",
        )
        .field("role"),
        json_case(
            "member unknown field",
            Method::PATCH,
            &format!("{members}/{member}"),
            Owner,
            r#"{"role":"owner","admin":true}"#,
            400,
            "request.unknown_field",
        ),
        // --- API keys ---
        json_case(
            "key missing field",
            post.clone(),
            &format!("{tenant}/api-keys"),
            Owner,
            "{}",
            422,
            "validation.missing_field",
        )
        .field("name"),
        json_case(
            "key role wrong type",
            post.clone(),
            &format!("{tenant}/api-keys"),
            Owner,
            r#"{"name":"k","role":true}"#,
            422,
            "validation.wrong_type",
        )
        .field("role"),
        json_case(
            "key malformed",
            post.clone(),
            &format!("{tenant}/api-keys"),
            Owner,
            "{\"name\"",
            400,
            "request.malformed_json",
        ),
        // --- settings ---
        json_case(
            "settings nested wrong type",
            Method::PUT,
            &settings,
            Owner,
            nested_wrong.to_string(),
            422,
            "validation.wrong_type",
        )
        .field("sending.silent"),
        json_case(
            "settings enum as number",
            Method::PUT,
            &settings,
            Owner,
            language_number.to_string(),
            422,
            "validation.wrong_type",
        )
        .field("language"),
        json_case(
            "settings nested enum null",
            Method::PUT,
            &settings,
            Owner,
            parse_mode_null.to_string(),
            422,
            "validation.wrong_type",
        )
        .field("sending.parse_mode"),
        json_case(
            "settings nested missing",
            Method::PUT,
            &settings,
            Owner,
            nested_missing.to_string(),
            422,
            "validation.missing_field",
        )
        .field("sending.protect_content"),
        json_case(
            "settings nested unknown",
            Method::PUT,
            &settings,
            Owner,
            nested_unknown.to_string(),
            400,
            "request.unknown_field",
        ),
        json_case(
            "settings text body",
            Method::PUT,
            &settings,
            Owner,
            settings_body("x").to_string(),
            415,
            "request.unsupported_media_type",
        )
        .content_type(Some("text/plain")),
        // --- plans ---
        json_case(
            "plan negative limit",
            post.clone(),
            "/api/v1/plans",
            Admin,
            json!({"name":"x","limits":limits_negative}).to_string(),
            422,
            "validation.wrong_type",
        )
        .field("limits.sessions"),
        json_case(
            "plan overflowing limit",
            post.clone(),
            "/api/v1/plans",
            Admin,
            json!({"name":"x","limits":limits_overflow}).to_string(),
            422,
            "validation.wrong_type",
        )
        .field("limits.groups"),
        json_case(
            "plan missing limit",
            post.clone(),
            "/api/v1/plans",
            Admin,
            json!({"name":"x","limits":limits_missing}).to_string(),
            422,
            "validation.missing_field",
        )
        .field("limits.campaigns"),
        json_case(
            "plan update malformed",
            Method::PUT,
            &format!("/api/v1/plans/{plan}"),
            Admin,
            "nul",
            400,
            "request.malformed_json",
        ),
        // --- path parameters ---
        bare(
            "plan id not a number",
            Method::GET,
            "/api/v1/plans/abc",
            Admin,
            400,
            "request.invalid_path",
        ),
        bare(
            "plan id too big",
            Method::GET,
            "/api/v1/plans/99999999999999999999999",
            Admin,
            400,
            "request.invalid_path",
        ),
        bare(
            "plan id negative",
            Method::DELETE,
            "/api/v1/plans/-1",
            Admin,
            400,
            "request.invalid_path",
        ),
        // One rule for every id, the tenant's too: decimal digits, else a path error.
        bare(
            "tenant id not a number",
            Method::GET,
            "/api/v1/tenants/abc",
            Admin,
            400,
            "request.invalid_path",
        ),
        bare(
            "tenant id not a number (owner)",
            Method::GET,
            "/api/v1/tenants/abc/settings",
            Owner,
            400,
            "request.invalid_path",
        ),
        bare(
            "tenant id too big",
            Method::GET,
            "/api/v1/tenants/99999999999999999999999/members",
            Admin,
            400,
            "request.invalid_path",
        ),
        bare(
            "tenant id negative",
            Method::DELETE,
            "/api/v1/tenants/-1",
            Admin,
            400,
            "request.invalid_path",
        ),
        bare(
            "tenant id with a plus sign",
            Method::GET,
            "/api/v1/tenants/+1",
            Admin,
            400,
            "request.invalid_path",
        ),
        bare(
            "plan id with a plus sign",
            Method::GET,
            "/api/v1/plans/+1",
            Admin,
            400,
            "request.invalid_path",
        ),
        // Sub-resource ids under a real tenant are path errors again.
        bare(
            "member id not a number",
            Method::DELETE,
            &format!("{members}/abc"),
            Owner,
            400,
            "request.invalid_path",
        ),
        bare(
            "key id not a number",
            Method::DELETE,
            &format!("{tenant}/api-keys/1x"),
            Owner,
            400,
            "request.invalid_path",
        ),
        bare(
            "key id with a plus sign",
            Method::DELETE,
            &format!("{tenant}/api-keys/+1"),
            Owner,
            400,
            "request.invalid_path",
        ),
        bare(
            "malformed tenant id without credentials",
            Method::GET,
            "/api/v1/tenants/abc",
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        // --- query parameters ---
        bare(
            "limit zero",
            Method::GET,
            "/api/v1/tenants?limit=0",
            Admin,
            400,
            "request.invalid_query",
        ),
        bare(
            "limit text",
            Method::GET,
            "/api/v1/tenants?limit=abc",
            Admin,
            400,
            "request.invalid_query",
        ),
        bare(
            "limit negative",
            Method::GET,
            "/api/v1/tenants?limit=-1",
            Admin,
            400,
            "request.invalid_query",
        ),
        bare(
            "limit too big",
            Method::GET,
            "/api/v1/tenants?limit=201",
            Admin,
            400,
            "request.invalid_query",
        ),
        bare(
            "unknown query parameter",
            Method::GET,
            "/api/v1/tenants?sort=name",
            Admin,
            400,
            "request.invalid_query",
        ),
        bare(
            "bad cursor",
            Method::GET,
            "/api/v1/tenants?cursor=zzz",
            Admin,
            400,
            "request.invalid_cursor",
        ),
        bare(
            "search too long",
            Method::GET,
            &format!("/api/v1/tenants?q={}", "a".repeat(101)),
            Admin,
            400,
            "request.invalid_query",
        ),
        bare(
            "owner limit zero",
            Method::GET,
            "/api/v1/tenants?limit=0",
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "log level",
            Method::GET,
            &format!("{tenant}/logs?level=loud"),
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "log limit",
            Method::GET,
            &format!("{tenant}/logs?limit=1001"),
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "log limit text",
            Method::GET,
            &format!("{tenant}/logs?limit=x"),
            Owner,
            400,
            "request.invalid_query",
        ),
        // --- routes and methods ---
        bare(
            "unknown API route",
            Method::GET,
            "/api/v1/nope",
            Admin,
            404,
            "route.not_found",
        ),
        bare(
            "unknown route",
            Method::GET,
            "/wp-login.php",
            Auth::None,
            404,
            "route.not_found",
        ),
        bare(
            "unknown tenant sub-route",
            Method::GET,
            &format!("{tenant}/newsletters"),
            Owner,
            404,
            "route.not_found",
        ),
        bare(
            "media upload without a file name",
            Method::POST,
            &format!("{tenant}/media"),
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "campaign id that is not a number",
            Method::GET,
            &format!("{tenant}/campaigns/abc"),
            Owner,
            400,
            "request.invalid_path",
        ),
        bare(
            "stats range with a date that is not one",
            Method::GET,
            &format!("{tenant}/stats/messages?from=28.11.2026"),
            Owner,
            422,
            "stats.date",
        )
        .field("from"),
        bare(
            "stats range that ends before it starts",
            Method::GET,
            &format!("{tenant}/stats/messages?from=2026-11-20&to=2026-11-10"),
            Owner,
            422,
            "stats.range_order",
        )
        .field("to"),
        bare(
            "stats range longer than a year",
            Method::GET,
            &format!("{tenant}/stats/messages?from=2020-01-01&to=2021-06-01"),
            Owner,
            422,
            "stats.range_too_long",
        )
        .field("from"),
        bare(
            "stats of a group the tenant does not have",
            Method::GET,
            &format!("{tenant}/stats/messages?group=-1009999"),
            Owner,
            404,
            "resource.not_found",
        ),
        bare(
            "stats with an unknown interval",
            Method::GET,
            &format!("{tenant}/stats/messages?interval=week"),
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "stats with an unknown parameter",
            Method::GET,
            &format!("{tenant}/stats/heatmap?gruop=1"),
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "top users with a limit of 0",
            Method::GET,
            &format!("{tenant}/stats/users/top?limit=0"),
            Owner,
            422,
            "validation.invalid",
        )
        .field("limit"),
        bare(
            "top users with a limit over 100",
            Method::GET,
            &format!("{tenant}/stats/users/top?limit=101"),
            Owner,
            422,
            "validation.invalid",
        )
        .field("limit"),
        bare(
            "stats export in an unknown format",
            Method::GET,
            &format!("{tenant}/stats/groups?format=xlsx"),
            Owner,
            400,
            "request.invalid_query",
        ),
        bare(
            "a report that does not exist",
            Method::GET,
            &format!("{tenant}/reports/999"),
            Owner,
            404,
            "resource.not_found",
        ),
        bare(
            "unknown route with a body",
            Method::POST,
            "/api/v2/tenants",
            Admin,
            404,
            "route.not_found",
        ),
        bare(
            "login with GET",
            Method::GET,
            login,
            Auth::None,
            405,
            "route.method_not_allowed",
        ),
        bare(
            "login with PUT",
            Method::PUT,
            login,
            Auth::None,
            405,
            "route.method_not_allowed",
        ),
        bare(
            "plans with DELETE",
            Method::DELETE,
            "/api/v1/plans",
            Admin,
            405,
            "route.method_not_allowed",
        ),
        bare(
            "settings with PATCH",
            Method::PATCH,
            &settings,
            Owner,
            405,
            "route.method_not_allowed",
        ),
        bare(
            "healthz with POST",
            Method::POST,
            "/healthz",
            Auth::None,
            405,
            "route.method_not_allowed",
        ),
        // --- credentials ---
        bare(
            "no credentials: list",
            Method::GET,
            "/api/v1/tenants",
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        bare(
            "no credentials: me",
            Method::GET,
            "/api/v1/auth/me",
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        bare(
            "no credentials: plan",
            Method::GET,
            &format!("/api/v1/plans/{plan}"),
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        bare(
            "no credentials: logs",
            Method::GET,
            &format!("{tenant}/logs"),
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        bare(
            "no credentials: revoke",
            Method::DELETE,
            &format!("{tenant}/api-keys/{key_id}"),
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        bare(
            "no credentials: logout",
            Method::POST,
            "/api/v1/auth/logout",
            Auth::None,
            401,
            "auth.missing_credentials",
        ),
        bare(
            "basic scheme",
            Method::GET,
            "/api/v1/auth/me",
            Header("Basic YWRtaW46YWRtaW4="),
            401,
            "auth.invalid_token",
        ),
        bare(
            "bearer without token",
            Method::GET,
            "/api/v1/auth/me",
            Header("Bearer"),
            401,
            "auth.invalid_token",
        ),
        bare(
            "oversized token",
            Method::GET,
            "/api/v1/auth/me",
            Header(long_token),
            401,
            "auth.invalid_token",
        ),
        bare(
            "not UTF-8",
            Method::GET,
            "/api/v1/auth/me",
            Header("Bearer \u{e7}ay"),
            401,
            "auth.invalid_token",
        ),
    ];

    let mut failures = Vec::new();
    for case in &cases {
        let mut req = app.client.request(case.method.clone(), app.url(&case.path));
        match case.auth {
            Auth::None => {}
            Admin => req = req.bearer_auth(&admin),
            Owner => req = req.bearer_auth(&owner),
            Header(v) => req = req.header("authorization", v.as_bytes()),
        }
        if let Some(ct) = case.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(b) = &case.body {
            req = req.body(b.clone());
        }
        let r = common::send(req).await;
        let got = (
            r.status,
            r.code().to_string(),
            r.json["error"]["field"].as_str().map(str::to_string),
        );
        let mut ok = got.0 == case.status && got.1 == case.code;
        if let Some(f) = case.field {
            ok &= got.2.as_deref() == Some(f);
        }
        ok &= r.json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty());
        if !ok {
            failures.push(format!(
                "{}: {} {} → expected {} {} {:?}, got {} {}",
                case.what,
                case.method,
                case.path.chars().take(80).collect::<String>(),
                case.status,
                case.code,
                case.field,
                r.status,
                r.text.chars().take(300).collect::<String>()
            ));
        }
        assert_ne!(r.status, 500, "{}: {}", case.what, r.text);
        for needle in FORBIDDEN_IN_BODIES {
            assert!(
                !r.text.contains(needle),
                "{}: the answer shows `{needle}`: {}",
                case.what,
                r.text
            );
        }
        if r.status >= 400 {
            assert!(
                r.header("content-type")
                    .is_some_and(|c| c.starts_with("application/json")),
                "{}: error without the JSON envelope",
                case.what
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The server is still fine: health, and real work.
    let h = common::send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(h.status, 200);
    let t2 = app.create_tenant(&admin, "Hâlâ Çalışıyor").await;
    let got = app.get(&format!("/api/v1/tenants/{t2}"), &admin).await;
    assert_eq!(got.expect(200)["name"], "Hâlâ Çalışıyor");
    app.put(&settings, &owner, settings_body("Sınır"))
        .await
        .expect(200);
    // None of the refused requests changed anything.
    let m = app.get(&members, &owner).await;
    assert_eq!(m.expect(200).as_array().map(Vec::len), Some(2));
    let plans = app.get("/api/v1/plans", &admin).await;
    assert_eq!(plans.expect(200).as_array().map(Vec::len), Some(1));
    let list = app.get("/api/v1/tenants", &admin).await;
    assert_eq!(list.expect(200)["items"].as_array().map(Vec::len), Some(2));
    app.login_raw("n@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_speak_the_tenants_language_or_the_browsers() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Lale Çiçekçilik", "lale@example.com")
        .await;
    let owner = owner.access;
    let mut l = limits();
    l["sessions"] = json!(0);
    app.put_on_plan(&admin, tenant, "Sıfır", l).await;
    let sim = json!({"kind": "sim", "label": "x", "sim": {}});
    let base = format!("/api/v1/tenants/{tenant}");

    // A tenant that has not chosen Turkish, and a caller that has not asked for it: English.
    let r = app
        .post(&format!("{base}/sessions"), &admin, sim.clone())
        .await;
    r.expect_err(409, "plan.session_limit");
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the plan allows 0 sessions")
    );
    assert_eq!(r.headers["content-language"], "en");

    // The tenant's language is Turkish: its errors are Turkish, the code and the limit kept.
    app.put(&format!("{base}/settings"), &owner, settings_body("Lale"))
        .await
        .expect(200);
    let r = app.post(&format!("{base}/sessions"), &admin, sim).await;
    r.expect_err(409, "plan.session_limit");
    assert_eq!(
        r.json["error"]["message"],
        "Planınız en fazla 0 oturuma izin veriyor; birini kaldırın veya planınızı değiştirin."
    );
    assert_eq!(r.headers["content-language"], "tr");
    // A field error names the field in Turkish too.
    let r = app
        .post(&format!("{base}/templates"), &owner, json!({"name": "x"}))
        .await;
    r.expect_err(422, "validation.missing_field");
    assert_eq!(r.json["error"]["message"], "Zorunlu bir alan eksik: body.");
    let r = app
        .post(
            &format!("{base}/templates"),
            &owner,
            json!({"name": "x", "body": "{yok}"}),
        )
        .await;
    r.expect_err(422, "template.unknown_variable");
    assert_eq!(
        r.json["error"]["message"],
        "body: şablon bilinmeyen bir değişken kullanıyor."
    );

    // Before any tenant is known (a failed sign-in), the browser's language decides.
    let login = |lang: Option<&'static str>| {
        let mut req = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "lale@example.com", "password": "yanlış parola 123"}));
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        common::send(req)
    };
    let r = login(Some("tr-TR,tr;q=0.9,en;q=0.8")).await;
    r.expect_err(401, "auth.invalid_credentials");
    assert_eq!(
        r.json["error"]["message"],
        "E-posta adresi veya parola yanlış."
    );
    let r = login(Some("de-DE,en;q=0.5")).await;
    r.expect_err(401, "auth.invalid_credentials");
    assert_eq!(r.headers["content-language"], "en");
    // A stranger to the tenant is answered in the header's language, not the tenant's.
    let r = common::send(
        app.client
            .get(app.url(&format!("{base}/settings")))
            .bearer_auth("not-a-token")
            .header("accept-language", "en"),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["content-language"], "en");
    app.stop().await.unwrap();
}
