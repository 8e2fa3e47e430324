//! Authentication against the in-process server: login, refresh rotation with reuse
//! detection, logout, password change and policy, lockout, token forgery, API keys and the
//! first-run setup link.

use crate::common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde_json::{Value, json};

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, App, PASSWORD, Pair};

#[tokio::test]
async fn login_returns_a_token_pair_and_me_knows_the_caller() {
    let app = App::start().await;
    assert!(
        app.ready.setup_url.is_none(),
        "an admin from configuration needs no setup link"
    );

    let r = app.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let v = r.expect(200);
    assert_eq!(v["expires_in"], 900);
    assert_eq!(v["token_type"], "Bearer");
    let pair = Pair::from_json(v);
    assert_eq!(pair.access.split('.').count(), 3, "access token is a JWT");
    assert!(
        pair.refresh.len() >= 32,
        "refresh token carries 256 random bits"
    );
    assert_ne!(pair.access, pair.refresh);

    let me = app.get("/api/v1/auth/me", &pair.access).await;
    let me = me.expect(200);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["is_admin"], true);
    assert!(me["account_id"].as_u64().is_some());
    assert!(me["api_key_id"].is_null());
    assert_eq!(me["memberships"], json!([]));

    // Emails are matched case-insensitively; the wrong password is refused.
    app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD).await;
    app.login_raw(ADMIN_EMAIL, "not-the-password-1")
        .await
        .expect_err(401, "auth.invalid_credentials");

    // A member sees their membership.
    let (t, owner, pair) = app
        .tenant_with_owner(&app.admin().await.access, "Çay Evi", "owner@example.com")
        .await;
    let me = app.get("/api/v1/auth/me", &pair.access).await;
    let me = me.expect(200);
    assert_eq!(me["account_id"], owner);
    assert_eq!(me["is_admin"], false);
    assert_eq!(
        me["memberships"],
        json!([{"tenant_id": t, "role": "owner"}])
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = App::start().await;
    let first = app.admin().await;
    // An unrelated login of the same account must survive the reuse below.
    let other = app.admin().await;

    let second = Pair::from_json(app.refresh_raw(&first.refresh).await.expect(200));
    assert_ne!(second.refresh, first.refresh, "refresh tokens rotate");
    app.get("/api/v1/auth/me", &second.access).await.expect(200);

    // The rotated-away token comes back: reuse is detected...
    app.refresh_raw(&first.refresh)
        .await
        .expect_err(401, "auth.refresh_reused");
    // ...and every token of the family is dead: the newest refresh token,
    app.refresh_raw(&second.refresh)
        .await
        .expect_err(401, "auth.invalid_refresh");
    // the access tokens of the family,
    app.get("/api/v1/auth/me", &second.access)
        .await
        .expect_err(401, "auth.session_revoked");
    app.get("/api/v1/auth/me", &first.access)
        .await
        .expect_err(401, "auth.session_revoked");
    // and presenting the old one again finds a login that no longer exists.
    app.refresh_raw(&first.refresh)
        .await
        .expect_err(401, "auth.invalid_refresh");

    // Another login of the same account is untouched.
    app.get("/api/v1/auth/me", &other.access).await.expect(200);
    let rotated = Pair::from_json(app.refresh_raw(&other.refresh).await.expect(200));
    app.get("/api/v1/auth/me", &rotated.access)
        .await
        .expect(200);

    // A token that was never issued.
    app.refresh_raw("definitely-not-a-token")
        .await
        .expect_err(401, "auth.invalid_refresh");
}

#[tokio::test]
async fn logout_revokes_access_and_refresh_tokens() {
    let app = App::start().await;
    let pair = app.admin().await;
    let keep = app.admin().await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&pair.access),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get("/api/v1/auth/me", &pair.access)
        .await
        .expect_err(401, "auth.session_revoked");
    app.refresh_raw(&pair.refresh)
        .await
        .expect_err(401, "auth.invalid_refresh");
    // Only that login ended.
    app.get("/api/v1/auth/me", &keep.access).await.expect(200);
    // Logging out again is refused: the login is gone.
    app.call(
        Method::POST,
        "/api/v1/auth/logout",
        Some(&pair.access),
        None,
    )
    .await
    .expect_err(401, "auth.session_revoked");
}

#[tokio::test]
async fn change_password_ends_every_other_login_and_returns_a_new_pair() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, a) = app
        .tenant_with_owner(&admin.access, "Simit Sarayı", "sahip@example.com")
        .await;
    let b = app.login("sahip@example.com", PASSWORD).await;
    let new_pw = "lacivert-gökyüzü-2024";

    // The current password is checked.
    app.post(
        "/api/v1/auth/password",
        &a.access,
        json!({"current_password": "wrong-current-pw", "new_password": new_pw}),
    )
    .await
    .expect_err(422, "auth.wrong_password");

    let r = app
        .post(
            "/api/v1/auth/password",
            &a.access,
            json!({"current_password": PASSWORD, "new_password": new_pw}),
        )
        .await;
    let v = r.expect(200);
    assert_eq!(v["expires_in"], 900);
    let fresh = Pair::from_json(v);

    // Every earlier login of the account has ended, the other one and the one that asked.
    for old in [&a, &b] {
        app.get("/api/v1/auth/me", &old.access)
            .await
            .expect_err(401, "auth.session_revoked");
        app.refresh_raw(&old.refresh)
            .await
            .expect_err(401, "auth.invalid_refresh");
    }
    // The new pair works, including its refresh token.
    app.get(&format!("/api/v1/tenants/{t}"), &fresh.access)
        .await
        .expect(200);
    let rotated = Pair::from_json(app.refresh_raw(&fresh.refresh).await.expect(200));
    app.get("/api/v1/auth/me", &rotated.access)
        .await
        .expect(200);
    // Old password out, new password in.
    app.login_raw("sahip@example.com", PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
    app.login("sahip@example.com", new_pw).await;
    // The admin's logins are someone else's and stay.
    app.get("/api/v1/auth/me", &admin.access).await.expect(200);
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let app = App::start().await;
    let admin = app.admin().await;
    let cases = [
        ("short1", "password.too_short"),
        ("çğıöşü", "password.too_short"),
        ("password123", "password.too_common"),
        ("Password123", "password.too_common"),
        ("qwerty123", "password.too_common"),
        ("iloveyou", "password.too_common"),
    ];
    for (pw, code) in cases {
        let r = app
            .post(
                "/api/v1/auth/password",
                &admin.access,
                json!({"current_password": ADMIN_PASSWORD, "new_password": pw}),
            )
            .await;
        r.expect_err(422, code);
        assert_eq!(r.json["error"]["field"], "new_password", "{}", r.text);
    }
    let long = "x".repeat(129);
    app.post(
        "/api/v1/auth/password",
        &admin.access,
        json!({"current_password": ADMIN_PASSWORD, "new_password": long}),
    )
    .await
    .expect_err(422, "password.too_long");
    // None of that changed anything: the admin's login still works.
    app.get("/api/v1/auth/me", &admin.access).await.expect(200);
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // New accounts get the same policy.
    let t = app.create_tenant(&admin.access, "Lokanta").await;
    for (pw, code) in [
        ("kısa", "password.too_short"),
        ("sunshine1", "password.too_common"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/tenants/{t}/members"),
                &admin.access,
                json!({"email": "new@example.com", "password": pw, "role": "viewer"}),
            )
            .await;
        r.expect_err(422, code);
        assert_eq!(r.json["error"]["field"], "password");
    }
    app.login_raw("new@example.com", "sunshine1")
        .await
        .expect_err(401, "auth.invalid_credentials");
}

#[tokio::test]
async fn lockout_engages_looks_the_same_for_unknown_accounts_and_releases() {
    let threshold = 3;
    let app = App::start_with(|c| {
        c.auth.lockout_threshold = threshold;
        c.auth.lockout_base_secs = 30;
    })
    .await;
    let admin = app.admin().await;
    let t = app.create_tenant(&admin.access, "Börekçi").await;
    app.add_member(&admin.access, t, "victim@example.com", "owner")
        .await;

    // The same sequence for an existing account and for an email nobody has.
    let mut transcripts = Vec::new();
    for email in ["victim@example.com", "ghost@example.com"] {
        let mut seen = Vec::new();
        for attempt in 1..=threshold {
            let r = app.login_raw(email, "wrong-password-1").await;
            if attempt < threshold {
                r.expect_err(401, "auth.invalid_credentials");
                assert!(r.header("retry-after").is_none());
            } else {
                // The failure that reaches the threshold starts the lockout.
                r.expect_err(429, "auth.locked");
            }
            seen.push((
                r.status,
                r.header("retry-after").map(str::to_string),
                r.json.clone(),
            ));
        }
        // The next attempt is refused without checking the password.
        let r = app.login_raw(email, "wrong-password-1").await;
        r.expect_err(429, "auth.locked");
        seen.push((
            r.status,
            r.header("retry-after").map(str::to_string),
            r.json.clone(),
        ));
        transcripts.push(seen);
    }
    assert_eq!(
        transcripts[0], transcripts[1],
        "a locked existing account and a locked unknown email must look the same"
    );
    let last = transcripts[0].last().expect("attempts");
    let retry_after: i64 = last
        .1
        .as_deref()
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert_eq!(retry_after, 30);

    // Even the right password is refused while locked, with the same answer.
    let r = app.login_raw("victim@example.com", PASSWORD).await;
    r.expect_err(429, "auth.locked");
    assert_eq!(r.json, last.2);
    assert!(r.header("retry-after").is_some());

    // One second short of the wait: still locked.
    app.clock.advance(retry_after - 1);
    app.login_raw("victim@example.com", PASSWORD)
        .await
        .expect_err(429, "auth.locked");
    // Past it: the right password works again.
    app.clock.advance(2);
    let pair = app.login("victim@example.com", PASSWORD).await;
    app.get(&format!("/api/v1/tenants/{t}"), &pair.access)
        .await
        .expect(200);

    // The unknown email is released too, and its next failure escalates the lockout.
    let r = app.login_raw("ghost@example.com", "wrong-password-1").await;
    r.expect_err(429, "auth.locked");
    assert_eq!(r.header("retry-after"), Some("60"), "lockouts double");

    // Other accounts were never locked (the address has more room than one account).
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime_and_leeway() {
    let app = App::start().await;
    let pair = app.admin().await;
    app.get("/api/v1/auth/me", &pair.access).await.expect(200);
    // 15 minutes plus 30 s of leeway.
    app.clock.advance(900 + 29);
    app.get("/api/v1/auth/me", &pair.access).await.expect(200);
    app.clock.advance(2);
    app.get("/api/v1/auth/me", &pair.access)
        .await
        .expect_err(401, "auth.token_expired");
    // The refresh token still gives a fresh access token.
    let fresh = Pair::from_json(app.refresh_raw(&pair.refresh).await.expect(200));
    app.get("/api/v1/auth/me", &fresh.access).await.expect(200);
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&B64.decode(payload).expect("base64")).expect("claims")
}

#[tokio::test]
async fn tampered_unsigned_and_foreign_key_tokens_are_refused() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (_, member_id, member) = app
        .tenant_with_owner(&admin.access, "Pastane", "member@example.com")
        .await;
    let claims = claims_of(&member.access);
    assert_eq!(claims["aud"], "botyard-api");
    let parts: Vec<&str> = member.access.split('.').collect();

    // Tampered: the member claims to be the admin, signature kept.
    let admin_claims = claims_of(&admin.access);
    let mut forged = claims.clone();
    forged["sub"] = admin_claims["sub"].clone();
    assert_ne!(forged["sub"], json!(member_id.to_string()));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(forged.to_string()),
        parts[2]
    );
    // One flipped signature character.
    let mut sig = parts[2].to_string();
    let flipped = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(flipped);
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], sig);
    // `alg: none`, unsigned.
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(claims.to_string())
    );
    // The same claims signed with another key.
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&[9u8; 32]),
    )
    .expect("sign");
    // An algorithm switch, signed with another key too.
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&[9u8; 32]),
    )
    .expect("sign");

    for (what, token) in [
        ("tampered claims", tampered.as_str()),
        ("flipped signature", bad_sig.as_str()),
        ("alg none", none.as_str()),
        ("other key", other_key.as_str()),
        ("HS512", hs512.as_str()),
        ("garbage", "not.a.token"),
        ("empty API key", "bya_"),
        ("unknown API key", "bya_0123456789abcdef"),
    ] {
        let r = app.get("/api/v1/auth/me", token).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "auth.invalid_token"),
            "{what}: {}",
            r.text
        );
        let r = app.get("/api/v1/tenants", token).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "auth.invalid_token"),
            "{what}: {}",
            r.text
        );
    }
    // Another scheme is refused as well.
    let r = common::send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .header("authorization", format!("Basic {}", member.access)),
    )
    .await;
    r.expect_err(401, "auth.invalid_token");
    // The genuine token still works and names the member.
    let me = app.get("/api/v1/auth/me", &member.access).await;
    assert_eq!(me.expect(200)["account_id"], member_id);
}

#[tokio::test]
async fn api_keys_act_for_their_tenant_only_and_stop_when_revoked() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, owner) = app
        .tenant_with_owner(&admin.access, "Kahve Dükkanı", "kahve@example.com")
        .await;
    let other = app.create_tenant(&admin.access, "Başka Dükkan").await;

    let r = app
        .post(
            &format!("/api/v1/tenants/{t}/api-keys"),
            &owner.access,
            json!({"name": "otomasyon", "role": "owner"}),
        )
        .await;
    let created = r.expect(201).clone();
    let key = created["key"].as_str().expect("key").to_string();
    let key_id = created["id"].as_u64().expect("id");
    assert!(key.starts_with("bya_"));
    assert!(key.starts_with(created["prefix"].as_str().expect("prefix")));
    assert!(created["last_used_at"].is_null());
    assert!(created["revoked_at"].is_null());

    // The key is a bearer credential for its tenant.
    let got = app.get(&format!("/api/v1/tenants/{t}"), &key).await;
    assert_eq!(got.expect(200)["id"], t);
    let s = app
        .get(&format!("/api/v1/tenants/{t}/settings"), &key)
        .await;
    assert_eq!(s.expect(200)["display_name"], "Kahve Dükkanı");
    let me = app.get("/api/v1/auth/me", &key).await;
    let me = me.expect(200);
    assert_eq!(me["api_key_id"], key_id);
    assert!(me["account_id"].is_null());
    assert_eq!(
        me["memberships"],
        json!([{"tenant_id": t, "role": "owner"}])
    );
    // Listing shows only its own tenant.
    let list = app.get("/api/v1/tenants", &key).await;
    let ids: Vec<u64> = list.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, vec![t]);
    // API keys do not log out, and cannot reach another tenant or admin routes.
    app.call(Method::POST, "/api/v1/auth/logout", Some(&key), None)
        .await
        .expect_err(400, "auth.not_a_login");
    app.get(&format!("/api/v1/tenants/{other}"), &key)
        .await
        .expect_err(404, "resource.not_found");
    app.get(&format!("/api/v1/tenants/{other}/settings"), &key)
        .await
        .expect_err(404, "resource.not_found");
    app.get("/api/v1/plans", &key)
        .await
        .expect_err(403, "auth.admin_required");
    app.post("/api/v1/tenants", &key, json!({"name": "x"}))
        .await
        .expect_err(403, "auth.admin_required");

    // The key is never shown again, and its last use is recorded (written in the background).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let r = app
            .get(&format!("/api/v1/tenants/{t}/api-keys"), &owner.access)
            .await;
        let listed = r.expect(200).clone();
        assert!(
            !listed.to_string().contains(&key),
            "the key must not be listed"
        );
        if !listed[0]["last_used_at"].is_null() || tokio::time::Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], key_id);
    assert!(
        listed[0]["last_used_at"].is_string(),
        "last_used_at not set: {listed}"
    );

    // A member-role key cannot manage the tenant.
    let (_, member_key) = app
        .create_api_key(&owner.access, t, "okuma", "viewer")
        .await;
    app.get(&format!("/api/v1/tenants/{t}"), &member_key)
        .await
        .expect(200);
    app.get(&format!("/api/v1/tenants/{t}/api-keys"), &member_key)
        .await
        .expect_err(403, "auth.forbidden");

    // Revoked: it stops at once.
    let r = app
        .delete(
            &format!("/api/v1/tenants/{t}/api-keys/{key_id}"),
            &owner.access,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get(&format!("/api/v1/tenants/{t}"), &key)
        .await
        .expect_err(401, "auth.invalid_token");
    app.get("/api/v1/auth/me", &key)
        .await
        .expect_err(401, "auth.invalid_token");
    let listed = app
        .get(&format!("/api/v1/tenants/{t}/api-keys"), &owner.access)
        .await;
    let listed = listed.expect(200);
    let revoked = listed
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] == key_id)
        .expect("revoked key still listed");
    assert!(revoked["revoked_at"].is_string());
    // The other key is unaffected.
    app.get(&format!("/api/v1/tenants/{t}"), &member_key)
        .await
        .expect(200);
}

fn token_of(setup_url: &str) -> String {
    setup_url
        .split_once("token=")
        .map(|(_, t)| t.to_string())
        .expect("token in the setup link")
}

#[tokio::test]
async fn first_run_setup_link_creates_the_admin_once() {
    let app = App::start_with(|c| {
        c.admin.email = None;
        c.admin.password = None;
    })
    .await;
    let link = app
        .ready
        .setup_url
        .clone()
        .expect("a setup link without an admin");
    assert!(
        link.starts_with(&format!("{}/console/setup?token=", app.ready.base_url)),
        "{link}"
    );
    let token = token_of(&link);

    // The page behind the link.
    let page = common::send(app.client.get(&link)).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(r#"action="/console/setup""#));

    let setup = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/api/v1/setup",
                None,
                Some(json!({"token": token, "email": "Root@Example.com", "password": password})),
            )
            .await
        }
    };
    // A wrong token is refused and does not use up the real one.
    setup("wrong-token".into(), ADMIN_PASSWORD)
        .await
        .expect_err(401, "setup.invalid_token");
    // A weak password is refused before the token is spent.
    setup(token.clone(), "password123")
        .await
        .expect_err(422, "password.too_common");

    let r = setup(token.clone(), ADMIN_PASSWORD).await;
    let pair = Pair::from_json(r.expect(201));
    let me = app.get("/api/v1/auth/me", &pair.access).await;
    let me = me.expect(200);
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["email"], "root@example.com");

    // Single use.
    setup(token, ADMIN_PASSWORD)
        .await
        .expect_err(401, "setup.invalid_token");
    // The new admin can sign in and work.
    let admin = app.login("root@example.com", ADMIN_PASSWORD).await;
    app.create_tenant(&admin.access, "İlk Müşteri").await;
}

#[tokio::test]
async fn setup_link_expires() {
    let app = App::start_with(|c| {
        c.admin.email = None;
        c.admin.password = None;
        c.auth.setup_link_ttl_mins = 10;
    })
    .await;
    let token = token_of(app.ready.setup_url.as_deref().expect("setup link"));
    app.clock.advance(10 * 60 + 1);
    app.call(
        Method::POST,
        "/api/v1/setup",
        None,
        Some(json!({"token": token, "email": "root@example.com", "password": ADMIN_PASSWORD})),
    )
    .await
    .expect_err(401, "setup.invalid_token");
    app.login_raw("root@example.com", ADMIN_PASSWORD)
        .await
        .expect_err(401, "auth.invalid_credentials");
}

/// 63 wrong passwords and the right one at once from one client: the burst gets at most the
/// policy's guesses (each is counted before its hash is checked), and the lockout holds that
/// client only: the real user signs in from another address. Behind a trusted proxy the
/// client is the address the proxy names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_burst_gets_the_policys_guesses_and_locks_only_its_client() {
    let threshold = 5;
    let app = App::start_with(|c| {
        c.auth.lockout_threshold = threshold;
        c.auth.lockout_base_secs = 3600;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let admin = app.admin().await;
    let t = app.create_tenant(&admin.access, "Kuyumcu").await;
    app.add_member(&admin.access, t, "kurban@example.com", "owner")
        .await;
    let attacker = "198.51.100.66";
    let burst = (0..64).map(|i| {
        let password = if i == 40 { PASSWORD } else { "yanlis-sifre-00" };
        let req = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", attacker)
            .json(&json!({"email": "kurban@example.com", "password": password}));
        common::send(req)
    });
    let answers = futures_util::future::join_all(burst).await;
    let checked = answers
        .iter()
        .filter(|r| r.status == 401 || r.status == 200)
        .count();
    let locked = answers.iter().filter(|r| r.status == 429).count();
    assert!(
        checked <= threshold as usize,
        "{checked} guesses were checked"
    );
    assert_eq!(
        checked + locked,
        64,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    // The attacker's address stays locked, even with the right password — unless the burst's
    // one right guess was among those checked and settled last: then the pair's count was
    // cleared by a correct password, as for anyone who signs in (timing decides which).
    let guessed_right = answers.iter().any(|r| r.status == 200);
    let r = common::send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", attacker)
            .json(&json!({"email": "kurban@example.com", "password": PASSWORD})),
    )
    .await;
    if guessed_right && r.status == 200 {
        eprintln!("the burst's right guess was checked last and cleared the pair");
    } else {
        r.expect_err(429, "auth.locked");
    }
    // The real user, from her own address, is not locked out.
    let r = common::send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", "203.0.113.5")
            .json(&json!({"email": "kurban@example.com", "password": PASSWORD})),
    )
    .await;
    r.expect(200);
}
