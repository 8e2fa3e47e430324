//! Tenants, members, settings, plans and tenant logs against the in-process server.

use crate::common;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use common::{App, PASSWORD, limits, settings_body};

fn ids(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_u64().expect("id"))
        .collect()
}

/// Follows `next_cursor` from the first page to the last; returns every id in order.
async fn walk_pages(app: &App, token: &str, query: &str) -> (Vec<u64>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/tenants?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&path, token).await;
        let page = r.expect(200).clone();
        pages += 1;
        assert!(pages < 100, "pagination does not end");
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(page["next_cursor"].is_null());
                break;
            }
        }
    }
    (seen, pages)
}

#[tokio::test]
async fn tenants_list_in_cursor_pages_and_search_by_name() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let mut created = Vec::new();
    for name in [
        "Kahve Dükkanı",
        "Çiçekçi",
        "Kitap Dükkanı",
        "Fırın",
        "Kahve Evi",
    ] {
        created.push(app.create_tenant(&admin, name).await);
    }

    // limit=2 over 5 tenants: 2 + 2 + 1, every id once, in order.
    let (seen, pages) = walk_pages(&app, &admin, "limit=2").await;
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), 5);
    // A page size that divides the count exactly still ends with no cursor.
    let (seen, pages) = walk_pages(&app, &admin, "limit=5").await;
    assert_eq!((seen.len(), pages), (5, 1));
    // The default page holds them all.
    let all = app.get("/api/v1/tenants", &admin).await;
    assert_eq!(ids(all.expect(200)), created);

    // Search: case-insensitive part of the name, with Turkish letters.
    for (q, expected) in [
        ("kahve", vec![created[0], created[4]]),
        ("KAHVE", vec![created[0], created[4]]),
        ("dükkan", vec![created[0], created[2]]),
        ("DÜKKAN", vec![created[0], created[2]]),
        ("Kahve%20D%C3%BCkk", vec![created[0]]),
        ("çiçek", vec![created[1]]),
        // Turkish dotless ı and dotted İ fold together.
        ("D%C3%9CKKANI", vec![created[0], created[2]]),
        ("d%C3%BCkkani", vec![created[0], created[2]]),
        ("yok-böyle-bir-şey", vec![]),
    ] {
        let r = app.get(&format!("/api/v1/tenants?q={q}"), &admin).await;
        assert_eq!(ids(r.expect(200)), expected, "q={q}");
    }
    // Search and pagination together.
    let (seen, pages) = walk_pages(&app, &admin, "limit=1&q=d%C3%BCkkan%C4%B1").await;
    assert_eq!(seen, vec![created[0], created[2]]);
    assert_eq!(pages, 2);

    // A cursor this server did not issue.
    app.get("/api/v1/tenants?cursor=abc", &admin)
        .await
        .expect_err(400, "request.invalid_cursor");

    // Owners list only their own tenants.
    let owner_tenant = created[3];
    app.add_member(&admin, owner_tenant, "firin@example.com", "owner")
        .await;
    app.add_member(&admin, created[1], "firin@example.com", "viewer")
        .await;
    let owner = app.login("firin@example.com", PASSWORD).await.access;
    let (seen, pages) = walk_pages(&app, &owner, "limit=1").await;
    assert_eq!(seen, vec![created[1], owner_tenant]);
    assert_eq!(pages, 2);
    let r = app.get("/api/v1/tenants?q=f%C4%B1r", &owner).await;
    assert_eq!(ids(r.expect(200)), vec![owner_tenant]);
}

#[tokio::test]
async fn get_and_patch_a_tenant() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Eski Ad", "sahip@example.com")
        .await;
    let plan = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "Temel", "limits": limits()}),
        )
        .await;
    let plan = plan.expect(201)["id"].as_u64().expect("plan id");

    let got = app.get(&format!("/api/v1/tenants/{t}"), &admin).await;
    let got = got.expect(200).clone();
    assert_eq!(got["name"], "Eski Ad");
    assert_eq!(got["status"], "active");
    assert!(got["plan_id"].is_null());
    assert_eq!(got["created_at"], got["updated_at"]);

    app.clock.advance(120);
    let r = app
        .patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"name": "  Yeni Ad  "}),
        )
        .await;
    let v = r.expect(200);
    assert_eq!(v["name"], "Yeni Ad", "names are trimmed");
    assert_ne!(v["updated_at"], got["updated_at"]);
    assert_eq!(v["created_at"], got["created_at"]);

    let r = app
        .patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"plan_id": plan}),
        )
        .await;
    assert_eq!(r.expect(200)["plan_id"], plan);
    // The owner sees the change.
    let seen = app
        .get(&format!("/api/v1/tenants/{t}"), &owner.access)
        .await;
    let seen = seen.expect(200);
    assert_eq!(
        (seen["name"].as_str(), seen["plan_id"].as_u64()),
        (Some("Yeni Ad"), Some(plan))
    );

    // Unknown plan; invalid names.
    let r = app
        .patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"plan_id": 9999}),
        )
        .await;
    r.expect_err(422, "plan.unknown");
    assert_eq!(r.json["error"]["field"], "plan_id");
    for bad in [
        json!(""),
        json!("   "),
        json!("x".repeat(101)),
        json!("a\u{7}b"),
    ] {
        let r = app
            .patch(
                &format!("/api/v1/tenants/{t}"),
                &admin,
                json!({"name": bad}),
            )
            .await;
        r.expect_err(422, "validation.invalid");
        assert_eq!(r.json["error"]["field"], "name");
    }
    // 100 characters are fine, counted as characters.
    let long = "ş".repeat(100);
    let r = app
        .patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"name": long}),
        )
        .await;
    assert_eq!(r.expect(200)["name"], long.as_str());
    // Nothing else changed by the refused edits; null takes the tenant off its plan.
    let r = app
        .patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"plan_id": null}),
        )
        .await;
    let v = r.expect(200);
    assert!(v["plan_id"].is_null());
    assert_eq!(v["name"], long.as_str());
    // Omitting plan_id keeps it.
    app.patch(
        &format!("/api/v1/tenants/{t}"),
        &admin,
        json!({"plan_id": plan}),
    )
    .await
    .expect(200);
    let r = app
        .patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"name": "Son Ad"}),
        )
        .await;
    assert_eq!(r.expect(200)["plan_id"], plan);

    // Owners cannot edit the tenant record, nor create tenants on unknown plans.
    app.patch(
        &format!("/api/v1/tenants/{t}"),
        &owner.access,
        json!({"name": "Benim"}),
    )
    .await
    .expect_err(403, "auth.admin_required");
    app.post(
        "/api/v1/tenants",
        &admin,
        json!({"name": "Planlı", "plan_id": 4242}),
    )
    .await
    .expect_err(422, "plan.unknown");
    let r = app
        .post(
            "/api/v1/tenants",
            &admin,
            json!({"name": "Planlı", "plan_id": plan}),
        )
        .await;
    assert_eq!(r.expect(201)["plan_id"], plan);
}

#[tokio::test]
async fn suspended_tenants_can_read_but_not_change() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Askıda", "askida@example.com")
        .await;
    let owner = owner.access;
    let settings = format!("/api/v1/tenants/{t}/settings");

    // Owners cannot suspend themselves.
    app.post(&format!("/api/v1/tenants/{t}/suspend"), &owner, json!({}))
        .await
        .expect_err(403, "auth.admin_required");
    let r = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/tenants/{t}/suspend"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.expect(200)["status"], "suspended");

    // Reads work.
    let got = app.get(&format!("/api/v1/tenants/{t}"), &owner).await;
    assert_eq!(got.expect(200)["status"], "suspended");
    app.get(&settings, &owner).await.expect(200);
    app.get(&format!("/api/v1/tenants/{t}/members"), &owner)
        .await
        .expect(200);
    // Changes do not.
    app.put(&settings, &owner, settings_body("Askıda"))
        .await
        .expect_err(403, "tenant.suspended");
    app.post(
        &format!("/api/v1/tenants/{t}/invitations"),
        &owner,
        json!({"email": "yeni@example.com", "role": "viewer"}),
    )
    .await
    .expect_err(403, "tenant.suspended");
    app.post(
        &format!("/api/v1/tenants/{t}/api-keys"),
        &owner,
        json!({"name": "k", "role": "viewer"}),
    )
    .await
    .expect_err(403, "tenant.suspended");
    // The settings are still the defaults.
    let s = app.get(&settings, &owner).await;
    assert_eq!(s.expect(200)["time_zone"], "UTC");
    // Admins may still change it.
    app.put(&settings, &admin, settings_body("Admin yazdı"))
        .await
        .expect(200);

    let r = app
        .post(&format!("/api/v1/tenants/{t}/resume"), &admin, json!({}))
        .await;
    assert_eq!(r.expect(200)["status"], "active");
    let r = app.put(&settings, &owner, settings_body("Yeniden")).await;
    assert_eq!(r.expect(200)["display_name"], "Yeniden");
    let s = app.get(&settings, &owner).await;
    assert_eq!(s.expect(200)["display_name"], "Yeniden");
}

#[tokio::test]
async fn deleting_a_tenant_removes_it_and_accounts_only_it_had() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (gone, _, owner) = app
        .tenant_with_owner(&admin, "Kapanan", "kapanan@example.com")
        .await;
    let stays = app.create_tenant(&admin, "Kalan").await;
    // An account in both tenants keeps its account and the other tenant.
    app.add_member(&admin, gone, "ikisi@example.com", "viewer")
        .await;
    app.post(
        &format!("/api/v1/tenants/{stays}/members"),
        &admin,
        json!({"email": "ikisi@example.com", "role": "owner"}),
    )
    .await
    .expect(201);
    app.create_api_key(&owner.access, gone, "k", "owner").await;
    app.put(
        &format!("/api/v1/tenants/{gone}/settings"),
        &owner.access,
        settings_body("Kapanan"),
    )
    .await
    .expect(200);
    app.upload(
        &format!("/api/v1/tenants/{gone}/media?name=fiyat.txt"),
        &owner.access,
        b"Simit 15 TL".to_vec(),
    )
    .await
    .expect(201);
    let media = app.data_dir().join("media").join(gone.to_string());
    assert!(media.is_dir());

    // Only admins delete.
    app.delete(&format!("/api/v1/tenants/{gone}"), &owner.access)
        .await
        .expect_err(403, "auth.admin_required");
    let r = app.delete(&format!("/api/v1/tenants/{gone}"), &admin).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!media.exists(), "the tenant's media folder is removed");

    app.get(&format!("/api/v1/tenants/{gone}"), &admin)
        .await
        .expect_err(404, "resource.not_found");
    app.get(&format!("/api/v1/tenants/{gone}/settings"), &admin)
        .await
        .expect_err(404, "resource.not_found");
    app.delete(&format!("/api/v1/tenants/{gone}"), &admin)
        .await
        .expect_err(404, "resource.not_found");
    let list = app.get("/api/v1/tenants", &admin).await;
    assert_eq!(ids(list.expect(200)), vec![stays]);

    // The owner's account is gone with it: no login, and the old token is dead.
    app.login_raw("kapanan@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
    let r = app.get("/api/v1/auth/me", &owner.access).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // The shared account remains, in the other tenant only.
    let both = app.login("ikisi@example.com", PASSWORD).await;
    let me = app.get("/api/v1/auth/me", &both.access).await;
    assert_eq!(
        me.expect(200)["memberships"],
        json!([{"tenant_id": stays, "role": "owner"}])
    );
    // The email of the deleted owner is free again.
    app.add_member(&admin, stays, "kapanan@example.com", "viewer")
        .await;
}

#[tokio::test]
async fn members_roles_and_the_last_owner() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, o1, owner) = app
        .tenant_with_owner(&admin, "Ekip", "o1@example.com")
        .await;
    let owner = owner.access;
    let members = format!("/api/v1/tenants/{t}/members");

    let m = app
        .invite_and_join(&owner, t, "m@example.com", "viewer")
        .await;
    let member = app.login("m@example.com", PASSWORD).await.access;

    let list = app.get(&members, &owner).await;
    let mut list = list.expect(200).as_array().expect("members").clone();
    list.sort_by_key(|m| m["account_id"].as_u64());
    assert_eq!(
        list,
        vec![
            json!({"account_id": o1, "email": "o1@example.com", "role": "owner"}),
            json!({"account_id": m, "email": "m@example.com", "role": "viewer"}),
        ]
    );
    // Members read the list but do not manage it.
    app.get(&members, &member).await.expect(200);
    app.post(
        &members,
        &member,
        json!({"email": "x@example.com", "password": PASSWORD, "role": "viewer"}),
    )
    .await
    .expect_err(403, "auth.read_only");
    app.patch(&format!("{members}/{m}"), &member, json!({"role": "owner"}))
        .await
        .expect_err(403, "auth.read_only");
    app.delete(&format!("{members}/{o1}"), &member)
        .await
        .expect_err(403, "auth.read_only");
    // Non-admins never create tenants.
    for token in [&owner, &member] {
        app.post("/api/v1/tenants", token, json!({"name": "Benim"}))
            .await
            .expect_err(403, "auth.admin_required");
    }

    // The only owner can be neither demoted nor removed.
    app.patch(
        &format!("{members}/{o1}"),
        &owner,
        json!({"role": "viewer"}),
    )
    .await
    .expect_err(409, "member.last_owner");
    app.delete(&format!("{members}/{o1}"), &admin)
        .await
        .expect_err(409, "member.last_owner");

    // Inviting a member again, or inviting with a bad body.
    let invitations = format!("/api/v1/tenants/{t}/invitations");
    app.post(
        &invitations,
        &owner,
        json!({"email": "M@example.com", "role": "viewer"}),
    )
    .await
    .expect_err(409, "member.exists");
    app.post(&invitations, &owner, json!({"email": "a@b.co"}))
        .await
        .expect_err(422, "validation.missing_field");
    app.post(
        &invitations,
        &owner,
        json!({"email": "not-an-email", "role": "viewer"}),
    )
    .await
    .expect_err(422, "validation.email");

    // A second owner; now the first may step down.
    let o2 = app
        .invite_and_join(&owner, t, "o2@example.com", "owner")
        .await;
    let r = app
        .patch(
            &format!("{members}/{o1}"),
            &owner,
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.expect(200)["role"], "viewer");
    // o1 is a viewer now: its login reflects that at once.
    app.post(
        &members,
        &owner,
        json!({"email": "y@example.com", "password": PASSWORD, "role": "viewer"}),
    )
    .await
    .expect_err(403, "auth.read_only");
    let o2_token = app.login("o2@example.com", PASSWORD).await.access;
    app.patch(
        &format!("{members}/{o2}"),
        &o2_token,
        json!({"role": "viewer"}),
    )
    .await
    .expect_err(409, "member.last_owner");
    // Promote the member, then remove them: their login ends.
    let r = app
        .patch(
            &format!("{members}/{m}"),
            &o2_token,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(r.expect(200)["role"], "owner");
    let r = app.delete(&format!("{members}/{m}"), &o2_token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get(&format!("/api/v1/tenants/{t}"), &member)
        .await
        .expect_err(401, "auth.session_revoked");
    // In no other tenant, the account went with the membership.
    app.login_raw("m@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
    // Unknown members.
    app.patch(
        &format!("{members}/999999"),
        &o2_token,
        json!({"role": "owner"}),
    )
    .await
    .expect_err(404, "resource.not_found");
    app.delete(&format!("{members}/{m}"), &o2_token)
        .await
        .expect_err(404, "resource.not_found");

    let list = app.get(&members, &admin).await;
    let mut roles: Vec<(u64, String)> = list
        .expect(200)
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["account_id"].as_u64().expect("id"),
                m["role"].as_str().expect("role").to_string(),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(roles, vec![(o1, "viewer".into()), (o2, "owner".into())]);

    // The same email can be added again, as a new account.
    let again = app
        .invite_and_join(&o2_token, t, "m@example.com", "editor")
        .await;
    assert_ne!(again, m);
    app.login("m@example.com", PASSWORD).await;
    // Owners add people only by invitation; adding directly is for admins.
    app.post(
        &members,
        &o2_token,
        json!({"email": "yeni@example.com", "password": PASSWORD, "role": "viewer"}),
    )
    .await
    .expect_err(403, "member.invite_instead");
}

/// The invitation's answer as an owner sees it, with what differs between any two
/// invitations (id, token, times) taken out.
fn invitation_shape(mut v: serde_json::Value) -> serde_json::Value {
    for k in ["id", "token", "created_at", "expires_at", "email"] {
        v.as_object_mut().expect("object").remove(k);
    }
    v
}

#[tokio::test]
async fn owners_invite_without_learning_who_has_an_account() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Davet Dükkanı", "davet@example.com")
        .await;
    let owner = owner.access;
    let invitations = format!("/api/v1/tenants/{t}/invitations");
    // Someone with an account in another tenant, and an address nobody has.
    let other = app.create_tenant(&admin, "Başka Dükkan").await;
    app.add_member(&admin, other, "baska@example.com", "owner")
        .await;

    let known = app
        .post(
            &invitations,
            &owner,
            json!({"email": "baska@example.com", "role": "viewer"}),
        )
        .await;
    let unknown = app
        .post(
            &invitations,
            &owner,
            json!({"email": "hic-olmayan@example.com", "role": "viewer"}),
        )
        .await;
    let (known, unknown) = (known.expect(201), unknown.expect(201));
    assert_eq!(
        invitation_shape(known.clone()),
        invitation_shape(unknown.clone())
    );
    assert_eq!(known["expired"], false);

    let accept = |token: &serde_json::Value, password: &str| {
        let body = json!({"token": token, "password": password});
        app.call(
            reqwest::Method::POST,
            "/api/v1/invitations/accept",
            None,
            Some(body),
        )
    };
    // An existing account joins with its own password, not a new one.
    accept(&known["token"], "baska-bir-parola-9")
        .await
        .expect_err(401, "auth.invalid_credentials");
    let pair = accept(&known["token"], PASSWORD).await.expect(200).clone();
    let me = app
        .get("/api/v1/auth/me", pair["access_token"].as_str().unwrap())
        .await
        .expect(200)
        .clone();
    let joined: Vec<u64> = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tenant_id"].as_u64().unwrap())
        .collect();
    assert!(joined.contains(&t) && joined.contains(&other), "{me}");
    // A link works once.
    accept(&known["token"], PASSWORD)
        .await
        .expect_err(401, "invitation.invalid");

    // A new address gets an account with a password the policy accepts.
    accept(&unknown["token"], "123")
        .await
        .expect_err(422, "password.too_short");
    accept(&unknown["token"], PASSWORD).await.expect(200);
    app.login("hic-olmayan@example.com", PASSWORD).await;

    // Inviting a member again is a conflict; a second invitation replaces the first;
    // a withdrawn one stops working.
    app.post(
        &invitations,
        &owner,
        json!({"email": "baska@example.com", "role": "editor"}),
    )
    .await
    .expect_err(409, "member.exists");
    let first = app
        .post(
            &invitations,
            &owner,
            json!({"email": "uc@example.com", "role": "editor"}),
        )
        .await
        .expect(201)
        .clone();
    let second = app
        .post(
            &invitations,
            &owner,
            json!({"email": "uc@example.com", "role": "viewer"}),
        )
        .await
        .expect(201)
        .clone();
    accept(&first["token"], PASSWORD)
        .await
        .expect_err(401, "invitation.invalid");
    let pending = app.get(&invitations, &owner).await.expect(200).clone();
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    assert_eq!(pending[0]["role"], "viewer");
    app.delete(&format!("{invitations}/{}", second["id"]), &owner)
        .await
        .expect(204);
    app.delete(&format!("{invitations}/{}", second["id"]), &owner)
        .await
        .expect_err(404, "resource.not_found");
    accept(&second["token"], PASSWORD)
        .await
        .expect_err(401, "invitation.invalid");
    assert_eq!(*app.get(&invitations, &owner).await.expect(200), json!([]));
}

#[tokio::test]
async fn an_invitation_expires() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Süreli", "sure@example.com")
        .await;
    let inv = app
        .post(
            &format!("/api/v1/tenants/{t}/invitations"),
            &owner.access,
            json!({"email": "gec@example.com", "role": "viewer"}),
        )
        .await
        .expect(201)
        .clone();
    app.clock.advance(73 * 3600);
    let owner = app.login("sure@example.com", PASSWORD).await;
    let list = app
        .get(&format!("/api/v1/tenants/{t}/invitations"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(list[0]["expired"], true);
    app.call(
        reqwest::Method::POST,
        "/api/v1/invitations/accept",
        None,
        Some(json!({"token": inv["token"], "password": PASSWORD})),
    )
    .await
    .expect_err(401, "invitation.invalid");
}

#[tokio::test]
async fn settings_are_saved_and_checked() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Kahve Dükkanı", "ayarlar@example.com")
        .await;
    let owner = owner.access;
    let settings = format!("/api/v1/tenants/{t}/settings");

    // Defaults before anything is saved.
    let d = app.get(&settings, &owner).await;
    assert_eq!(
        d.expect(200),
        &json!({
            "time_zone": "UTC",
            "language": "en",
            "display_name": "Kahve Dükkanı",
            "sending": {"parse_mode": "markdown", "silent": false,
                        "disable_link_preview": false, "protect_content": false}
        })
    );

    let body = settings_body("Kahve Dükkanı Moda");
    let r = app.put(&settings, &owner, body.clone()).await;
    assert_eq!(r.expect(200), &body);
    let r = app.get(&settings, &owner).await;
    assert_eq!(r.expect(200), &body);

    // Refused values name their field and change nothing.
    let mut cases = Vec::new();
    for tz in [
        "Mars/Base",
        "",
        "Europe/Istanbul ",
        "../../etc/passwd",
        "europe/istanbul",
    ] {
        let mut b = body.clone();
        b["time_zone"] = json!(tz);
        cases.push((b, 422, "settings.time_zone", "time_zone"));
    }
    let mut b = body.clone();
    b["display_name"] = json!(" ");
    cases.push((b, 422, "validation.invalid", "display_name"));
    let mut b = body.clone();
    b["language"] = json!("de");
    cases.push((b, 422, "validation.wrong_type", "language"));
    let mut b = body.clone();
    b["sending"]["parse_mode"] = json!("bbcode");
    cases.push((b, 422, "validation.wrong_type", "sending.parse_mode"));
    for (b, status, code, field) in cases {
        let r = app.put(&settings, &owner, b.clone()).await;
        r.expect_err(status, code);
        assert_eq!(r.json["error"]["field"], field, "{b}");
    }
    let r = app.get(&settings, &owner).await;
    assert_eq!(r.expect(200), &body);

    // Other zones and the other language.
    let mut b = body.clone();
    b["time_zone"] = json!("America/Argentina/Buenos_Aires");
    b["language"] = json!("en");
    let r = app.put(&settings, &admin, b.clone()).await;
    assert_eq!(r.expect(200), &b);

    // Members read settings but do not change them.
    app.invite_and_join(&owner, t, "uye@example.com", "viewer")
        .await;
    let member = app.login("uye@example.com", PASSWORD).await.access;
    let r = app.get(&settings, &member).await;
    assert_eq!(r.expect(200), &b);
    app.put(&settings, &member, body.clone())
        .await
        .expect_err(403, "auth.read_only");
}

#[tokio::test]
async fn plans_crud_and_plans_in_use() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Planlı", "plan@example.com")
        .await;

    let r = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "Başlangıç", "limits": limits()}),
        )
        .await;
    let created = r.expect(201).clone();
    let id = created["id"].as_u64().expect("id");
    assert_eq!(created["name"], "Başlangıç");
    assert_eq!(created["limits"], limits());

    let list = app.get("/api/v1/plans", &admin).await;
    assert_eq!(list.expect(200), &json!([created.clone()]));
    let got = app.get(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(got.expect(200), &created);

    let mut new_limits = limits();
    new_limits["sessions"] = json!(10);
    new_limits["retention_days"] = json!(365);
    let r = app
        .put(
            &format!("/api/v1/plans/{id}"),
            &admin,
            json!({"name": "Profesyonel", "limits": new_limits}),
        )
        .await;
    let v = r.expect(200);
    assert_eq!(v["name"], "Profesyonel");
    assert_eq!(v["limits"], new_limits);
    let got = app.get(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(got.expect(200)["limits"]["sessions"], 10);

    // Limits are checked.
    for (field, value) in [
        ("retention_days", 0),
        ("retention_days", 4000),
        ("worker_memory_mb", 8),
        ("media_mb", 0),
        ("media_mb", 5000),
    ] {
        let mut l = limits();
        l[field] = json!(value);
        let r = app
            .post(
                "/api/v1/plans",
                &admin,
                json!({"name": "Kötü", "limits": l}),
            )
            .await;
        r.expect_err(422, "validation.invalid");
        assert_eq!(r.json["error"]["field"], format!("limits.{field}"));
    }

    // Only admins.
    app.get("/api/v1/plans", &owner.access)
        .await
        .expect_err(403, "auth.admin_required");
    app.get(&format!("/api/v1/plans/{id}"), &owner.access)
        .await
        .expect_err(403, "auth.admin_required");
    app.post(
        "/api/v1/plans",
        &owner.access,
        json!({"name": "x", "limits": limits()}),
    )
    .await
    .expect_err(403, "auth.admin_required");
    app.delete(&format!("/api/v1/plans/{id}"), &owner.access)
        .await
        .expect_err(403, "auth.admin_required");

    // In use: cannot be deleted until the tenant moves off it.
    app.patch(
        &format!("/api/v1/tenants/{t}"),
        &admin,
        json!({"plan_id": id}),
    )
    .await
    .expect(200);
    app.delete(&format!("/api/v1/plans/{id}"), &admin)
        .await
        .expect_err(409, "plan.in_use");
    app.get(&format!("/api/v1/plans/{id}"), &admin)
        .await
        .expect(200);
    app.patch(
        &format!("/api/v1/tenants/{t}"),
        &admin,
        json!({"plan_id": null}),
    )
    .await
    .expect(200);
    let r = app.delete(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(r.status, 204, "{}", r.text);

    app.get(&format!("/api/v1/plans/{id}"), &admin)
        .await
        .expect_err(404, "resource.not_found");
    app.put(
        &format!("/api/v1/plans/{id}"),
        &admin,
        json!({"name": "x", "limits": limits()}),
    )
    .await
    .expect_err(404, "resource.not_found");
    app.delete(&format!("/api/v1/plans/{id}"), &admin)
        .await
        .expect_err(404, "resource.not_found");
    let list = app.get("/api/v1/plans", &admin).await;
    assert_eq!(list.expect(200), &json!([]));
}

fn messages(lines: &Value) -> Vec<(String, String)> {
    lines
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| {
            assert!(l["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
            (
                l["level"].as_str().expect("level").to_string(),
                l["message"].as_str().expect("message").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tenant_logs_hold_the_tenants_own_lines_with_filters() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (t, _, owner) = app
        .tenant_with_owner(&admin, "Günlük", "gunluk@example.com")
        .await;
    let owner = owner.access;
    let other = app.create_tenant(&admin, "Komşu").await;

    app.put(
        &format!("/api/v1/tenants/{t}/settings"),
        &owner,
        settings_body("Günlük"),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/tenants/{other}/settings"),
        &admin,
        settings_body("Komşu"),
    )
    .await
    .expect(200);

    let logs = format!("/api/v1/tenants/{t}/logs");
    let r = app.get(&logs, &owner).await;
    let lines = messages(r.expect(200));
    let own_tag = format!("tenant_id={t}");
    let other_tag = format!("tenant_id={other}");
    assert!(
        lines.iter().any(|(level, m)| level == "INFO"
            && m.contains("settings saved")
            && m.contains(&own_tag)),
        "no `settings saved` line: {lines:?}"
    );
    assert!(
        lines.iter().any(|(_, m)| m.contains("tenant created")),
        "no `tenant created` line: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|(level, m)| level != "DEBUG" && level != "TRACE" && !m.contains(&other_tag)),
        "{lines:?}"
    );
    // The other tenant has its own.
    let r = app
        .get(&format!("/api/v1/tenants/{other}/logs"), &admin)
        .await;
    let other_lines = messages(r.expect(200));
    assert!(
        other_lines
            .iter()
            .any(|(_, m)| m.contains("settings saved") && m.contains(&other_tag))
    );
    assert!(other_lines.iter().all(|(_, m)| !m.contains(&own_tag)));

    // Level filter: warn and above hides the info lines; debug shows the request lines too.
    let r = app.get(&format!("{logs}?level=warn"), &owner).await;
    let warn = messages(r.expect(200));
    assert!(
        warn.iter().all(|(l, _)| l == "WARN" || l == "ERROR"),
        "{warn:?}"
    );
    assert!(!warn.iter().any(|(_, m)| m.contains("settings saved")));
    let r = app.get(&format!("{logs}?level=DEBUG"), &owner).await;
    let debug = messages(r.expect(200));
    assert!(
        lines.iter().all(|l| debug.contains(l)),
        "debug shows everything info does: {debug:?}"
    );

    let r = app.get(&format!("{logs}?q=SETTINGS%20SAVED"), &owner).await;
    let found = messages(r.expect(200));
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|(_, m)| m.to_lowercase().contains("settings saved"))
    );
    let r = app.get(&format!("{logs}?q=hi%C3%A7-yok"), &owner).await;
    assert_eq!(r.expect(200), &json!([]));
    let r = app.get(&format!("{logs}?limit=2"), &owner).await;
    let newest = messages(r.expect(200));
    assert!(lines.len() >= 2, "{lines:?}");
    assert_eq!(
        newest,
        lines[lines.len() - 2..],
        "limit keeps the newest lines"
    );

    // Members and member keys may not read the log.
    app.invite_and_join(&owner, t, "okur@example.com", "viewer")
        .await;
    let member = app.login("okur@example.com", PASSWORD).await.access;
    app.get(&logs, &member)
        .await
        .expect_err(403, "auth.forbidden");
    let (_, member_key) = app.create_api_key(&owner, t, "okur", "viewer").await;
    app.get(&logs, &member_key)
        .await
        .expect_err(403, "auth.forbidden");
    // Bad filters.
    app.get(&format!("{logs}?level=loud"), &owner)
        .await
        .expect_err(400, "request.invalid_query");
    app.get(&format!("{logs}?limit=0"), &owner)
        .await
        .expect_err(400, "request.invalid_query");
}
