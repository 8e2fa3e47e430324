//! Signing up through the platform bot, over the real grammers client and the fake DC: a
//! Telegram user presses Start on a tenant's referral link, opens the Mini-App, and with a
//! beta invite code gets an account, a tenant on the trial and a session; the sign-up is
//! attributed to the referrer, whose subscription gets the reward days once the new tenant
//! pays. Closed sign-ups, a used-up code and a second sign-up are refused and change nothing.

use std::sync::Arc;

use botyard_fakedc::world::{World, person};
use serde_json::json;

use crate::api_telegram::{TOKEN, platform_app, posts};
use crate::console::Browser;
use crate::miniapp::init_data;

/// The Mini-App's answer to `initData` of a Telegram user without an account.
async fn open_unlinked(b: &mut Browser, data: &str) -> crate::console::Page {
    let csrf = b.get("/app").await.csrf();
    b.post("/app/session", &[("_csrf", &csrf), ("init_data", data)])
        .await
}

async fn sign_up(
    b: &mut Browser,
    data: &str,
    business: &str,
    email: &str,
    invite: &str,
) -> crate::console::Page {
    let page = open_unlinked(b, data).await;
    let csrf = page.csrf();
    b.post(
        "/app/signup",
        &[
            ("_csrf", &csrf),
            ("init_data", data),
            ("business", business),
            ("email", email),
            ("invite", invite),
        ],
    )
    .await
}

fn tenants_named(app: &crate::common::App, name: &str) -> usize {
    let store = app.ready.store.upgrade().unwrap();
    store
        .system_admin()
        .list_tenants(None, 1000, None)
        .unwrap()
        .items
        .iter()
        .filter(|(_, t)| t.name == name)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_user_signs_up_by_referral_and_invite_and_the_referrer_is_rewarded() {
    let world = Arc::new(World::new(&[(TOKEN, 6000, "yard_platform_bot")], vec![]));
    let (dc, _seed, app) = platform_app(&world).await;
    let admin = app.admin().await.access;
    let plan = crate::billing::priced_plan(&app, &admin).await;
    app.platform_online().await;

    // The referrer: an existing tenant on a trial.
    let (referrer, _, owner) = app
        .tenant_with_owner(&admin, "Moda Çiçek", "cicek@example.com")
        .await;
    let sub = format!("/api/v1/tenants/{referrer}/subscription");
    app.post(
        &format!("{sub}/trial"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect(201);

    // The reseller runs a beta: invite codes, and 10 days for a referral.
    let mut console = Browser::new(&app);
    console
        .sign_in(crate::common::ADMIN_EMAIL, crate::common::ADMIN_PASSWORD)
        .await;
    let page = console.get("/console/signups").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = page.csrf();
    let r = console
        .post(
            "/console/signups/policy",
            &[
                ("_csrf", &csrf),
                ("mode", "invite"),
                ("plan", ""),
                ("reward_days", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    for (code, uses) in [("beta-kadikoy", "1"), ("TOKEN!", "1"), ("ok", "0")] {
        let r = console
            .post(
                "/console/signups/invites",
                &[
                    ("_csrf", &csrf),
                    ("code", code),
                    ("max_uses", uses),
                    ("days", "30"),
                    ("note", "Kadıköy esnafı"),
                ],
            )
            .await;
        let want = if code == "beta-kadikoy" { 303 } else { 422 };
        assert_eq!(r.status, want, "{code}: {}", r.text);
    }
    let page = console.get("/console/signups").await;
    assert!(page.text.contains("BETA-KADIKOY"), "{}", page.text);
    assert!(
        page.text.contains("Esnaf"),
        "the trial plan is named: {}",
        page.text
    );

    // The referrer's share link, from its billing screen.
    let mut owner_b = Browser::new(&app);
    owner_b
        .sign_in("cicek@example.com", crate::common::PASSWORD)
        .await;
    let page = owner_b
        .get(&format!("/console/tenants/{referrer}/subscription"))
        .await;
    let at = page
        .text
        .find("https://t.me/yard_platform_bot?start=ref_")
        .unwrap_or_else(|| panic!("no referral link: {}", page.text));
    let link: String = page.text[at..].chars().take_while(|c| *c != '"').collect();
    let payload = link.split("start=").nth(1).unwrap().to_string();
    assert!(page.text.contains("10 days"), "{}", page.text);

    // Selin presses Start on it: the bot welcomes her with the app's button.
    let selin = person(771_001, "Selin", Some("selin_dukkan"));
    dc.push(&world.private_message(&selin, &format!("/start {payload}")));
    let sent = posts(&world, 1).await;
    assert!(sent[0].text.contains("free trial"), "{}", sent[0].text);

    // The app offers to sign up; without a code, or with a wrong one, nothing is made.
    let data = init_data(&app, 771_001, "tr", TOKEN);
    let mut b = Browser::new(&app);
    let page = open_unlinked(&mut b, &data).await;
    assert!(
        page.text.contains(r#"action="/app/signup""#),
        "{}",
        page.text
    );
    assert!(page.text.contains("7"), "the trial's days: {}", page.text);
    for (invite, code) in [("", "invite.required"), ("YANLIS", "invite.unknown")] {
        let r = sign_up(&mut b, &data, "Selin Butik", "selin@example.com", invite).await;
        assert_eq!(r.status, 422, "{invite}: {}", r.text);
        assert!(r.text.contains(code), "{code}: {}", r.text);
    }
    let r = sign_up(
        &mut b,
        &data,
        "Selin Butik",
        "cicek@example.com",
        "beta-kadikoy",
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("signup.email_taken"), "{}", r.text);
    assert_eq!(
        tenants_named(&app, "Selin Butik"),
        0,
        "a refused sign-up leaves nothing"
    );

    // With the code: an account, a tenant on the trial, and the app signed in, in Turkish.
    let r = sign_up(
        &mut b,
        &data,
        "Selin Butik",
        "Selin@Example.com",
        "beta-kadikoy",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), "/app/home");
    assert_eq!(tenants_named(&app, "Selin Butik"), 1);
    let mut home = b.get("/app/home").await;
    while home.status == 303 {
        home = b.get(home.location()).await;
    }
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("Selin Butik"), "{}", home.text);
    let store = app.ready.store.upgrade().unwrap();
    let (account, _) = store
        .catalog_read()
        .unwrap()
        .account_by_email("selin@example.com")
        .unwrap()
        .expect("the account");
    let link = store
        .catalog_read()
        .unwrap()
        .telegram_link(account)
        .unwrap()
        .unwrap();
    assert_eq!((link.user_id, link.access_hash), (771_001, 771_001 * 7));
    let (new_tenant, signup) = store.catalog_read().unwrap().signups(10).unwrap()[0].clone();
    assert_eq!(signup.referrer.map(|t| t.0), Some(referrer));
    assert_eq!(signup.invite.as_deref(), Some("BETA-KADIKOY"));
    let new_sub = app
        .get(
            &format!("/api/v1/tenants/{}/subscription", new_tenant.0),
            &admin,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(new_sub["subscription"]["state"], "trialing");
    let settings = app
        .get(
            &format!("/api/v1/tenants/{}/settings", new_tenant.0),
            &admin,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (&settings["language"], &settings["time_zone"]),
        (&json!("tr"), &json!("Europe/Istanbul"))
    );

    // The code allowed one sign-up: the next person is refused and nothing is made.
    let emre = person(771_002, "Emre", None);
    dc.push(&world.private_message(&emre, "/start trial"));
    posts(&world, 2).await;
    let data2 = init_data(&app, 771_002, "en", TOKEN);
    let mut b2 = Browser::new(&app);
    let r = sign_up(
        &mut b2,
        &data2,
        "Emre Kırtasiye",
        "emre@example.com",
        "BETA-KADIKOY",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("invite.used_up"), "{}", r.text);
    assert_eq!(tenants_named(&app, "Emre Kırtasiye"), 0);
    // Selin again: she has an account, the app signs her in instead.
    let again = open_unlinked(&mut Browser::new(&app), &data).await;
    assert_eq!(again.status, 303, "{}", again.text);

    // The admin sees who brought whom.
    let page = console.get("/console/signups").await;
    assert!(
        page.text.contains("Selin Butik") && page.text.contains("Moda Çiçek"),
        "{}",
        page.text
    );

    // Selin pays: the referrer gets ten more days, once.
    let end = |v: &serde_json::Value| {
        v["subscription"]["period_end"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    };
    let before = end(&app.get(&sub, &owner.access).await.expect(200).clone());
    app.post(
        &format!("/api/v1/tenants/{}/payments", new_tenant.0),
        &admin,
        json!({"amount": 49900, "currency": "TRY", "paid_on": "2026-12-04", "reference": "EFT-SELIN"}),
    )
    .await
    .expect(201);
    for _ in 0..2 {
        app.post("/api/v1/billing/renewals", &admin, json!({}))
            .await
            .expect(200);
    }
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(end(&s), before + 10 * 86_400, "{s}");
    assert!(
        s["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["reason"] == "referral_reward")
            .count()
            == 1,
        "{s}"
    );
    let page = owner_b
        .get(&format!("/console/tenants/{referrer}/subscription"))
        .await;
    assert!(
        page.text.contains("1 signed up · 1 paid · 10 days earned"),
        "{}",
        page.text
    );

    // Closed: the app offers linking only, and a sign-up is refused.
    let r = console
        .post(
            "/console/signups/policy",
            &[
                ("_csrf", &csrf),
                ("mode", "closed"),
                ("plan", ""),
                ("reward_days", "0"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = open_unlinked(&mut b2, &data2).await;
    assert!(
        !page.text.contains(r#"action="/app/signup""#),
        "{}",
        page.text
    );
    let csrf2 = page.csrf();
    let r = b2
        .post(
            "/app/signup",
            &[
                ("_csrf", &csrf2),
                ("init_data", &data2),
                ("business", "Emre"),
                ("email", "emre@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("signup.closed"), "{}", r.text);
    app.stop().await.unwrap();
}
