//! The role walk: every write operation of the OpenAPI document that names a tenant, called by
//! each role of that tenant (owner, editor, viewer, a viewer's API key), is refused or let
//! through exactly as API.md's role table says, and a refused call changes nothing.

use crate::common;

use reqwest::Method;
use serde_json::{Value, json};

use common::{App, fill, tenant_operations};

/// Who may call a write operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    Admin,
    Owner,
    Editor,
    /// Computes an answer and changes nothing (template preview): everyone.
    Anyone,
}

fn needs(method: &Method, path: &str) -> Needs {
    let rest = path.trim_start_matches("/api/v1/tenants/{id}");
    let first = rest.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "" | "suspend" | "resume" | "worker" | "payments" | "move" | "import" | "rows" => {
            Needs::Admin
        }
        "api-keys" | "members" | "invitations" | "sessions" | "logins" | "settings" | "reports"
        | "subscription" | "billing-profile" => Needs::Owner,
        "templates" if rest.ends_with("/preview") => Needs::Anyone,
        "campaigns" | "groups" | "media" | "templates" | "variables" | "rules" => Needs::Editor,
        other => {
            panic!("no role expectation for {method} {path} ({other}): add it here and to API.md")
        }
    }
}

fn rank(who: &str) -> u8 {
    match who {
        "owner" => 3,
        "editor" => 2,
        _ => 1,
    }
}

fn allowed(needs: Needs, who: &str) -> bool {
    match needs {
        Needs::Admin => false,
        Needs::Owner => rank(who) >= 3,
        Needs::Editor => rank(who) >= 2,
        Needs::Anyone => true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_route_obeys_every_role() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Roller", common::limits(), json!({"seed": 6}))
        .await;
    app.invite_and_join(&t.owner, t.tenant, "editor@example.com", "editor")
        .await;
    app.invite_and_join(&t.owner, t.tenant, "viewer@example.com", "viewer")
        .await;
    let editor = app
        .login("editor@example.com", common::PASSWORD)
        .await
        .access;
    let viewer = app
        .login("viewer@example.com", common::PASSWORD)
        .await
        .access;
    let (_, viewer_key) = app
        .create_api_key(&t.owner, t.tenant, "okur", "viewer")
        .await;
    let (_, editor_key) = app
        .create_api_key(&t.owner, t.tenant, "yazar", "editor")
        .await;

    let doc = common::send(app.client.get(app.url("/api/openapi.json")))
        .await
        .json;
    let before = app
        .get(&format!("/api/v1/tenants/{}/members", t.tenant), &t.owner)
        .await
        .json;
    let writes: Vec<(Method, String)> = tenant_operations(&doc)
        .into_iter()
        .filter(|(m, _)| *m != Method::GET)
        .collect();
    assert!(writes.len() >= 38, "{} write operations", writes.len());
    // Sub-resources that do not exist: an allowed call ends in 404 or 422, never changes.
    let ids = [
        ("campaign_id", 999_999),
        ("template_id", 999_999),
        ("media_id", 999_999),
        ("session_id", 999_999),
        ("login_id", 999_999),
        ("key_id", 999_999),
        ("account_id", 999_999),
        ("invitation_id", 999_999),
        ("chat_id", 999_999),
    ];
    let callers = [
        ("viewer", viewer.as_str()),
        ("viewer", viewer_key.as_str()),
        ("editor", editor.as_str()),
        ("editor", editor_key.as_str()),
        ("owner", t.owner.as_str()),
    ];
    let mut checked = 0;
    for (method, template) in &writes {
        let path = fill(template, t.tenant, &ids);
        let needs = needs(method, template);
        for (who, token) in callers {
            let body =
                matches!(*method, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let r = app.call(method.clone(), &path, Some(token), body).await;
            if allowed(needs, who) {
                // (A 403 for another reason, such as an API key asking for a Telegram
                // user, is not a role refusal.)
                assert!(
                    !(r.status == 403 && r.code().starts_with("auth.")),
                    "{who} may {method} {template}, got {}",
                    r.text
                );
            } else {
                assert_eq!(
                    r.status, 403,
                    "{who} must not {method} {template}: {}",
                    r.text
                );
                let code = r.code();
                let expected = if who == "viewer" {
                    "auth.read_only"
                } else if needs == Needs::Admin {
                    "auth.admin_required"
                } else {
                    "auth.forbidden"
                };
                assert_eq!(code, expected, "{who} {method} {template}: {}", r.text);
            }
            checked += 1;
        }
    }
    assert!(checked >= 38 * callers.len());
    // Nothing the refused calls reached changed the tenant's members.
    let after = app
        .get(&format!("/api/v1/tenants/{}/members", t.tenant), &t.owner)
        .await
        .json;
    assert_eq!(before, after);

    // An editor does the content work end to end; a viewer reads it.
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{}/templates", t.tenant),
            &editor,
            json!({"name": "Editörün", "body": "Merhaba"}),
        )
        .await;
    let tpl: Value = tpl.expect(201).clone();
    app.get(
        &format!("/api/v1/tenants/{}/templates/{}", t.tenant, tpl["id"]),
        &viewer,
    )
    .await
    .expect(200);
    let groups = app
        .get(&format!("/api/v1/tenants/{}/groups", t.tenant), &viewer)
        .await;
    let chat = groups.expect(200)[0]["chat_id"].clone();
    app.post(
        &format!(
            "/api/v1/tenants/{}/templates/{}/preview",
            t.tenant, tpl["id"]
        ),
        &viewer,
        json!({"chat_id": chat}),
    )
    .await
    .expect(200);
    // `member`, the old name of `viewer`, is still accepted.
    let r = app
        .post(
            &format!("/api/v1/tenants/{}/invitations", t.tenant),
            &t.owner,
            json!({"email": "eski@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(r.expect(201)["role"], "viewer");
}
