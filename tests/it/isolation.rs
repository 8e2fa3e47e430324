//! The foreign-tenant walk: every tenant-scoped operation of the OpenAPI document, called by
//! another tenant's owner (with a login and with an API key) on tenant A's ids, answers 404,
//! and A's data is the same afterwards.

use crate::common;

use reqwest::Method;
use serde_json::{Value, json};

use common::{App, PASSWORD, fill, settings_body, tenant_operations};

/// Tenant-scoped operations in the API today; the walk must cover at least these.
const KNOWN_TENANT_OPERATIONS: usize = 40;

fn has_body(m: &Method) -> bool {
    *m == Method::POST || *m == Method::PUT || *m == Method::PATCH
}

/// Everything of tenant A that the walk could have touched, as its admin sees it.
async fn snapshot(app: &App, admin: &str, t: u64) -> Value {
    let mut members = app
        .get(&format!("/api/v1/tenants/{t}/members"), admin)
        .await
        .expect(200)
        .clone();
    members
        .as_array_mut()
        .expect("members")
        .sort_by_key(|m| m["account_id"].as_u64());
    // When a key was last used is not data the walk could change.
    let mut keys = app
        .get(&format!("/api/v1/tenants/{t}/api-keys"), admin)
        .await
        .expect(200)
        .clone();
    for k in keys.as_array_mut().expect("keys") {
        k.as_object_mut().expect("key").remove("last_used_at");
    }
    json!({
        "tenant": app.get(&format!("/api/v1/tenants/{t}"), admin).await.expect(200),
        "members": members,
        "api_keys": keys,
        "settings": app.get(&format!("/api/v1/tenants/{t}/settings"), admin).await.expect(200),
        "sessions": app.get(&format!("/api/v1/tenants/{t}/sessions"), admin).await.expect(200)
            .as_array().expect("sessions").iter().map(|s| s["id"].clone()).collect::<Vec<_>>(),
        "groups": app.get(&format!("/api/v1/tenants/{t}/groups"), admin).await.expect(200),
        "templates": app.get(&format!("/api/v1/tenants/{t}/templates"), admin).await.expect(200),
        "variables": app.get(&format!("/api/v1/tenants/{t}/variables"), admin).await.expect(200),
        "media": app.get(&format!("/api/v1/tenants/{t}/media"), admin).await.expect(200),
        // Deliveries settle in the background; what the walk could change is the campaigns.
        "campaigns": app.get(&format!("/api/v1/tenants/{t}/campaigns"), admin).await.expect(200)
            .as_array().expect("campaigns").iter()
            .map(|c| json!([c["id"], c["name"], c["state"], c["schedule"], c["template_id"], c["chat_ids"]]))
            .collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_tenant_scoped_operation() {
    let app = App::start().await;
    let admin = app.admin().await.access;

    // Tenant A, with data: a member, an API key, settings.
    let (a, a_owner_id, a_owner) = app
        .tenant_with_owner(&admin, "Kiracı A", "a-owner@example.com")
        .await;
    let a_member = app
        .invite_and_join(&a_owner.access, a, "a-member@example.com", "viewer")
        .await;
    let (a_key_id, a_key) = app
        .create_api_key(&a_owner.access, a, "a-otomasyon", "owner")
        .await;
    app.put(
        &format!("/api/v1/tenants/{a}/settings"),
        &a_owner.access,
        settings_body("Kiracı A Ltd."),
    )
    .await
    .expect(200);
    // A simulated session, and the groups its dialogs bring.
    let a_session = app
        .post(
            &format!("/api/v1/tenants/{a}/sessions"),
            &admin,
            json!({"kind": "sim", "label": "A bot", "sim": {"seed": 3}}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("session id");
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(a))
        .expect("worker");
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .expect("A's dialogs")
    .expect("worker status");
    let a_chat = app
        .get(&format!("/api/v1/tenants/{a}/groups"), &a_owner.access)
        .await
        .expect(200)[0]["chat_id"]
        .as_i64()
        .expect("chat id");

    // A template with a media file and a campaign that has run once.
    let ta = format!("/api/v1/tenants/{a}");
    app.patch(
        &format!("{ta}/groups/{a_chat}"),
        &a_owner.access,
        json!({"enabled": true}),
    )
    .await
    .expect(200);
    app.put(
        &format!("{ta}/variables"),
        &a_owner.access,
        json!({"variables": {"gizli": "A"}}),
    )
    .await
    .expect(200);
    let a_media = app
        .upload(
            &format!("{ta}/media?name=a.txt"),
            &a_owner.access,
            b"Kiraci A".to_vec(),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("media id");
    let a_template = app
        .post(
            &format!("{ta}/templates"),
            &a_owner.access,
            json!({"name": "A", "body": "{gizli}", "media_id": a_media}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("template id");
    let a_campaign = app
        .post(
            &format!("{ta}/campaigns"),
            &a_owner.access,
            json!({"name": "A", "template_id": a_template, "chat_ids": [a_chat], "session_id": a_session,
                   "schedule": {"every_minutes": 60}}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("campaign id");
    app.post(
        &format!("{ta}/campaigns/{a_campaign}/run"),
        &a_owner.access,
        json!({}),
    )
    .await
    .expect(202);

    // Tenant B, whose owner and owner-role key go looking.
    let (b, _, b_owner) = app
        .tenant_with_owner(&admin, "Kiracı B", "b-owner@example.com")
        .await;
    let (b_key_id, b_key) = app
        .create_api_key(&b_owner.access, b, "b-otomasyon", "owner")
        .await;
    let b_member = app
        .invite_and_join(&b_owner.access, b, "b-member@example.com", "viewer")
        .await;

    let before = snapshot(&app, &admin, a).await;
    let b_before = snapshot(&app, &admin, b).await;
    let logs_before = app
        .get(
            &format!("/api/v1/tenants/{a}/logs?level=debug&limit=1000"),
            &admin,
        )
        .await
        .expect(200)
        .as_array()
        .expect("lines")
        .len();

    // The document the server serves.
    let doc = common::send(app.client.get(app.url("/api/openapi.json")))
        .await
        .json;
    let ops = tenant_operations(&doc);
    assert!(
        ops.len() >= KNOWN_TENANT_OPERATIONS,
        "the document lists only {} tenant-scoped operations: {ops:?}",
        ops.len()
    );

    // A's ids wherever a path names one; the account is a member of A, not the owner, so a
    // successful DELETE would not be stopped by the last-owner rule.
    let a_ids = [
        ("account_id", a_member as i64),
        ("key_id", a_key_id as i64),
        ("session_id", a_session),
        ("chat_id", a_chat),
        ("template_id", a_template),
        ("media_id", a_media),
        ("campaign_id", a_campaign),
        ("version", 1),
        ("run", 1),
    ];
    let mut called = 0;
    for (who, token) in [
        ("B's owner", b_owner.access.as_str()),
        ("B's API key", b_key.as_str()),
    ] {
        for (method, template) in &ops {
            let path = fill(template, a, &a_ids);
            let mut req = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(token);
            if has_body(method) {
                req = req.header("content-type", "application/json").body("{}");
            }
            let r = common::send(req).await;
            assert_eq!(
                (r.status, r.code()),
                (404, "resource.not_found"),
                "{who}: {method} {path}: {}",
                r.text
            );
            assert!(
                !r.text.contains("Kiracı A"),
                "{who}: {method} {path} leaked: {}",
                r.text
            );
            called += 1;
        }
    }
    assert_eq!(called, 2 * ops.len());
    assert!(called >= 2 * KNOWN_TENANT_OPERATIONS);

    // Valid bodies change nothing either: the tenant check comes before the body is read.
    for (method, template, body) in [
        (
            Method::PATCH,
            "/api/v1/tenants/{id}",
            json!({"name": "Ele geçirildi"}),
        ),
        (
            Method::PUT,
            "/api/v1/tenants/{id}/settings",
            settings_body("Ele geçirildi"),
        ),
        (
            Method::POST,
            "/api/v1/tenants/{id}/members",
            json!({"email": "intruder@example.com", "password": PASSWORD, "role": "owner"}),
        ),
        (
            Method::POST,
            "/api/v1/tenants/{id}/api-keys",
            json!({"name": "arka kapı", "role": "owner"}),
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/{id}/members/{account_id}",
            json!({"role": "owner"}),
        ),
        (
            Method::PUT,
            "/api/v1/tenants/{id}/variables",
            json!({"variables": {}}),
        ),
        (
            Method::POST,
            "/api/v1/tenants/{id}/templates",
            json!({"name": "B", "body": "ele geçirildi"}),
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/{id}/templates/{template_id}",
            json!({"body": "ele geçirildi"}),
        ),
    ] {
        let r = app
            .call(
                method.clone(),
                &fill(template, a, &a_ids),
                Some(&b_owner.access),
                Some(body),
            )
            .await;
        r.expect_err(404, "resource.not_found");
    }

    // B's own tenant with A's sub-resource ids: A's member and key are not B's either.
    let mut cross = 0;
    for (method, template) in ops.iter().filter(|(_, p)| p.matches('{').count() > 1) {
        let path = fill(template, b, &a_ids);
        // Valid bodies, so the only thing wrong is whose resource it is.
        let body = if template.contains("{account_id}") {
            Some(json!({"role": "owner"}))
        } else if template.ends_with("/code") {
            Some(json!({"code": "12345"}))
        } else if template.ends_with("/password") {
            Some(json!({"password": "mavi-kedi"}))
        } else if template.ends_with("/preview") {
            Some(json!({"chat_id": a_chat}))
        } else if template.ends_with("{campaign_id}") {
            Some(
                json!({"name": "B", "template_id": a_template, "tags": ["x"], "session_id": a_session,
                        "schedule": {"every_minutes": 60}}),
            )
        } else {
            Some(json!({}))
        };
        let r = app
            .call(
                method.clone(),
                &path,
                Some(&b_owner.access),
                if has_body(method) { body } else { None },
            )
            .await;
        // An owner may not refund at all: the answer says nothing of whose payment it is.
        let expected = if template.contains("/payments/") {
            (403, "auth.admin_required")
        } else {
            (404, "resource.not_found")
        };
        assert_eq!(
            (r.status, r.code()),
            expected,
            "{method} {path}: {}",
            r.text
        );
        cross += 1;
    }
    assert!(cross >= 3, "sub-resource operations: {cross}");

    // Nobody signed in: 401, nothing else.
    for (method, template) in &ops {
        let r = app
            .call(method.clone(), &fill(template, a, &a_ids), None, None)
            .await;
        r.expect_err(401, "auth.missing_credentials");
    }

    // A is exactly as it was, and still works for its own people.
    assert_eq!(snapshot(&app, &admin, a).await, before);
    assert_eq!(before["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(before["members"][0]["account_id"], a_owner_id);
    assert_eq!(before["settings"]["display_name"], "Kiracı A Ltd.");
    assert!(before["api_keys"][0]["revoked_at"].is_null());
    app.get(&format!("/api/v1/tenants/{a}"), &a_key)
        .await
        .expect(200);
    app.get(&format!("/api/v1/tenants/{a}"), &a_owner.access)
        .await
        .expect(200);
    let m = app.login("a-member@example.com", PASSWORD).await.access;
    app.get(&format!("/api/v1/tenants/{a}/settings"), &m)
        .await
        .expect(200);
    app.login_raw("intruder@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");

    // The foreign and anonymous requests left no lines in A's log: it is for A's requests.
    let lines = app
        .get(
            &format!("/api/v1/tenants/{a}/logs?level=debug&limit=1000"),
            &admin,
        )
        .await
        .expect(200)
        .clone();
    let lines = lines.as_array().expect("lines");
    assert!(lines.len() >= logs_before);
    assert!(
        !lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.contains("status=404") || m.contains("status=401"))),
        "foreign requests were logged into A's log: {lines:#?}"
    );

    // B is unchanged too, and B's people still work.
    assert_eq!(snapshot(&app, &admin, b).await, b_before);
    assert_eq!(b_before["api_keys"][0]["id"], b_key_id);
    assert!(
        b_before["members"]
            .to_string()
            .contains(&b_member.to_string())
    );
    app.get(&format!("/api/v1/tenants/{b}"), &b_key)
        .await
        .expect(200);
}
