//! The tenant Mini-App at `/app` through HTTP: signing in with Telegram's `initData` (signed
//! here exactly as Telegram documents it), every screen in the phone frame, the language the
//! Telegram app is in, linking from inside the app, the `/web` sign-in link, and another
//! tenant's ids answered with 404 as in the API.

use serde_json::json;

use crate::common::{App, PASSWORD};
use crate::console::Browser;

const BOT: &str = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
const TG_USER: i64 = 279058397;

/// An appliance whose platform bot has a token (its worker cannot reach Telegram here, which
/// the sign-in does not need).
async fn appliance() -> App {
    App::start_with(|c| {
        c.platform.bot_token = Some(botyard::config::Secret::new(BOT));
        c.telegram.dc = (2, "127.0.0.1:9".parse().unwrap());
        c.auth.webapp_max_age_secs = 600;
    })
    .await
}

/// `fields` as `initData` signed with `token`.
pub(crate) fn signed(fields: &[(String, String)], token: &str) -> String {
    let hash = botyard::domain::webapp_auth::sign(fields, token).unwrap();
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair("hash", &hash)
        .finish()
}

/// `initData` for Telegram user `user` signed with `token`, as the Telegram app makes it.
pub(crate) fn init_data(app: &App, user: i64, lang: &str, token: &str) -> String {
    let fields = vec![
        (
            "auth_date".to_string(),
            botyard::clock::Clock::now(&*app.clock).to_string(),
        ),
        (
            "query_id".to_string(),
            "AAHdF6IQAAAAAN0XohDhrOrc".to_string(),
        ),
        (
            "user".to_string(),
            format!(r#"{{"id":{user},"first_name":"Ayşe","language_code":"{lang}"}}"#),
        ),
    ];
    signed(&fields, token)
}

/// Opens the app as Telegram would: the opening page, then its form with `initData`.
async fn open_app(b: &mut Browser, data: &str) -> crate::console::Page {
    let open = b.get("/app").await;
    assert_eq!(open.status, 200, "{}", open.text);
    assert!(open.text.contains(r#"action="/app/session""#));
    let csrf = open.csrf();
    b.post("/app/session", &[("_csrf", &csrf), ("init_data", data)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mini_app_signs_a_linked_telegram_user_in_with_signed_init_data() {
    let app = appliance().await;
    let admin = app.admin().await;
    app.tenant_with_owner(&admin.access, "Mini Dükkan", "mini@example.com")
        .await;
    app.link_telegram("mini@example.com", TG_USER);
    let mut b = Browser::new(&app);
    let csrf = b.get("/app").await.csrf();
    // Without the form's token, nothing happens.
    let r = b
        .post(
            "/app/session",
            &[("init_data", &init_data(&app, TG_USER, "en", BOT))],
        )
        .await;
    assert_eq!(r.status, 403);
    let other_bot = "7000000002:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";
    for (data, code_text) in [
        // Signed by another bot: a Mini-App of someone else's.
        (
            init_data(&app, TG_USER, "en", other_bot),
            "not signed for this appliance",
        ),
        // Tampered after signing.
        (
            init_data(&app, TG_USER, "en", BOT).replace("279058397", "279058398"),
            "not signed for this appliance",
        ),
        (init_data(&app, 5, "en", BOT), "not linked"),
        (String::new(), "no initData"),
        // Signed, but without the field that dates it.
        (
            signed(
                &[(
                    "user".into(),
                    format!(r#"{{"id":{TG_USER},"first_name":"A"}}"#),
                )],
                BOT,
            ),
            "no auth_date",
        ),
    ] {
        let r = b
            .post("/app/session", &[("_csrf", &csrf), ("init_data", &data)])
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert!(r.text.contains(code_text), "{code_text}: {}", r.text);
        assert!(!b.cookies.contains_key("botyard_session"));
    }
    let r = b
        .post(
            "/app/session",
            &[
                ("_csrf", &csrf),
                ("init_data", &init_data(&app, TG_USER, "en", BOT)),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), "/app/home");
    let set: Vec<_> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        set.iter()
            .any(|c| c.starts_with("botyard_session=") && c.contains("Max-Age=43200")),
        "a short session: {set:?}"
    );
    let page = b.get("/console/account").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("mini@example.com"));

    // The same data replayed after the configured limit is refused.
    let old = init_data(&app, TG_USER, "en", BOT);
    app.clock.advance(601);
    let mut late = Browser::new(&app);
    let r = open_app(&mut late, &old).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("too old"), "{}", r.text);
    // The refusal is a screen of the app, which offers the way in again.
    assert!(r.text.contains("/app/assets/miniapp.js"), "{}", r.text);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_opens_in_the_phone_frame_in_the_telegram_apps_language() {
    let app = appliance().await;
    let admin = app.admin().await;
    let t = app
        .sim_tenant(
            &admin.access,
            "Kadikoy Cicek",
            crate::common::limits(),
            json!({"seed": 3, "groups": 2}),
        )
        .await;
    let (tenant, owner) = (t.tenant, t.owner);
    app.link_telegram("owner-kadikoy-cicek@example.com", TG_USER);
    // A template and a campaign to open.
    let (tpl, camp) = app
        .template_and_campaign(&owner, tenant, "Günaydın", "sabah")
        .await;

    // Something the tenant must act on, and something about another tenant it must not see.
    let store = app.ready.store.upgrade().unwrap();
    let now = botyard::clock::Clock::now(&*app.clock);
    use botyard::domain::alerts;
    alerts::raise(
        &store,
        now,
        alerts::SESSION_REVOKED,
        Some(botyard_shards::ids::TenantId(tenant)),
        "session 1",
        "Telegram revoked the session Dükkan",
    )
    .unwrap();
    alerts::raise(
        &store,
        now,
        alerts::CAMPAIGN_PAUSED,
        Some(botyard_shards::ids::TenantId(tenant + 100)),
        "campaign 9",
        "someone else's campaign",
    )
    .unwrap();
    drop(store);
    let mut b = Browser::new(&app);
    // The Telegram app is in Turkish; the browser asks for English.
    let r = open_app(&mut b, &init_data(&app, TG_USER, "tr", BOT)).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let home = b.get("/app/home").await;
    assert_eq!(home.location(), format!("/app/tenants/{tenant}"));
    let dash = b.get(&format!("/app/tenants/{tenant}")).await;
    assert_eq!(dash.status, 200, "{}", dash.text);
    let csp = dash.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors https://web.telegram.org")
            && csp.contains("script-src 'self'"),
        "{csp}"
    );
    for want in [
        "/app/assets/telegram-web-app.js",
        "/app/assets/miniapp.js",
        r#"<nav class="tabs""#,
        "Bugün",
        "dünle karşılaştırma",
        r#"data-chart="users""#,
        r#"class="heat""#,
        "Sıradaki kampanya gönderimleri",
        "Telegram revoked the session Dükkan",
        &format!("/app/tenants/{tenant}/sessions"),
    ] {
        assert!(dash.text.contains(want), "{want}: {}", dash.text);
    }
    assert!(!dash.text.contains("someone else"), "{}", dash.text);
    let base = format!("/app/tenants/{tenant}");
    for (path, want) in [
        (format!("{base}/groups"), "Gruplarda ara"),
        (format!("{base}/templates"), "Günaydın"),
        (format!("{base}/templates/{tpl}"), "Günaydın"),
        (format!("{base}/campaigns"), "Günaydın"),
        (format!("{base}/campaigns/{camp}"), "Günaydın"),
        (format!("{base}/sessions"), "Telegram oturumları"),
        (format!("{base}/members"), "owner-kadikoy-cicek@example.com"),
        (format!("{base}/subscription"), "Abonelik"),
        (format!("{base}/settings"), "Saat dilimi"),
        (format!("{base}/more"), "Türkçe"),
        ("/app/help".to_string(), "Başlarken"),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 200, "{path}: {}", p.text);
        assert!(p.text.contains(want), "{path} lacks {want}: {}", p.text);
        assert!(
            p.text.contains(r#"class="app""#),
            "{path} not in the app frame"
        );
        // Links stay inside the app.
        assert!(
            !p.text.contains(&format!("/console/tenants/{tenant}/")),
            "{path} links into the console: {}",
            p.text
        );
    }
    // The template form's main action is the one Telegram's MainButton shows.
    let t = b.get(&format!("{base}/templates")).await;
    assert!(
        t.text.contains(r#"data-main="Şablonu kaydet""#),
        "{}",
        t.text
    );

    // A change made in the app comes back to the app's screen.
    let csrf = dash.csrf();
    let r = b
        .post(
            &format!("{base}/settings"),
            &[
                ("_csrf", &csrf),
                ("display_name", "Kadıköy Çiçek"),
                ("time_zone", "Europe/Istanbul"),
                ("language", "tr"),
                ("parse_mode", "markdown"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(
        r.location().starts_with(&format!("{base}/settings")),
        "{}",
        r.location()
    );

    // Switching the language is the account's choice from then on.
    let r = b
        .post(
            "/app/language",
            &[
                ("_csrf", &csrf),
                ("language", "en"),
                ("back", &format!("{base}/more")),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), format!("{base}/more"));
    let more = b.get(&format!("{base}/more")).await;
    assert!(more.text.contains("Language"), "{}", more.text);
    // It never sends the reader out of the app.
    let r = b
        .post(
            "/app/language",
            &[
                ("_csrf", &csrf),
                ("language", "tr"),
                ("back", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/app/home");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_ids_are_404_from_the_app() {
    let app = appliance().await;
    let admin = app.admin().await;
    let (mine, _, _) = app
        .tenant_with_owner(&admin.access, "Benim", "benim@example.com")
        .await;
    let t = app
        .sim_tenant(
            &admin.access,
            "Onlarin",
            crate::common::limits(),
            json!({"seed": 4, "groups": 1}),
        )
        .await;
    let (theirs, them) = (t.tenant, t.owner);
    let (tpl, camp) = app
        .template_and_campaign(&them, theirs, "Gizli", "gizli")
        .await;
    app.link_telegram("benim@example.com", TG_USER);
    let mut b = Browser::new(&app);
    let r = open_app(&mut b, &init_data(&app, TG_USER, "en", BOT)).await;
    assert_eq!(r.status, 303);
    assert_eq!(b.get(&format!("/app/tenants/{mine}")).await.status, 200);
    let base = format!("/app/tenants/{theirs}");
    for path in [
        base.clone(),
        format!("{base}/groups"),
        format!("{base}/sessions"),
        format!("{base}/members"),
        format!("{base}/subscription"),
        format!("{base}/more"),
        format!("{base}/settings"),
        format!("{base}/templates"),
        format!("{base}/templates/{tpl}"),
        format!("{base}/campaigns"),
        format!("{base}/campaigns/{camp}"),
        format!("{base}/campaigns/{camp}/runs/1"),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(!p.text.contains("Gizli"), "{path} leaks: {}", p.text);
    }
    let csrf = b.get(&format!("/app/tenants/{mine}")).await.csrf();
    for path in [
        format!("{base}/campaigns/{camp}/run"),
        format!("{base}/campaigns/{camp}/pause"),
        format!("{base}/templates/{tpl}"),
    ] {
        let r = b
            .post(&path, &[("_csrf", &csrf), ("name", "x"), ("body", "x")])
            .await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    app.stop().await.unwrap();
}

#[tokio::test]
async fn an_unlinked_telegram_user_is_offered_to_link_from_inside_the_app() {
    let app = appliance().await;
    let admin = app.admin().await;
    app.tenant_with_owner(&admin.access, "Yeni", "yeni@example.com")
        .await;
    let mut b = Browser::new(&app);
    let data = init_data(&app, 42, "en", BOT);
    let r = open_app(&mut b, &data).await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains(r#"action="/app/link""#), "{}", r.text);
    let csrf = r.csrf();
    // A wrong password links nothing and says so.
    let r = b
        .post(
            "/app/link",
            &[
                ("_csrf", &csrf),
                ("init_data", &data),
                ("email", "yeni@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("Email or password is wrong"), "{}", r.text);
    // initData that is not Telegram's links nothing either, whatever the password.
    let r = b
        .post(
            "/app/link",
            &[
                ("_csrf", &csrf),
                ("init_data", &data.replace("42", "43")),
                ("email", "yeni@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(
        r.text.contains("not signed for this appliance"),
        "{}",
        r.text
    );
    // The right password gets as far as the bot, which is offline here.
    let r = b
        .post(
            "/app/link",
            &[
                ("_csrf", &csrf),
                ("init_data", &data),
                ("email", "yeni@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.text.contains("not online"), "{}", r.text);
    assert!(!b.cookies.contains_key("botyard_session"));
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_schedule_builder_shows_the_next_runs_and_saves_as_cron() {
    let app = appliance().await;
    let admin = app.admin().await;
    let t = app
        .sim_tenant(
            &admin.access,
            "Haftalik",
            crate::common::limits(),
            json!({"seed": 6, "groups": 1}),
        )
        .await;
    app.link_telegram("owner-haftalik@example.com", TG_USER);
    let groups = app
        .get(&format!("/api/v1/tenants/{}/groups", t.tenant), &t.owner)
        .await
        .expect(200)
        .clone();
    let chat = groups[0]["chat_id"].as_i64().unwrap();
    app.patch(
        &format!("/api/v1/tenants/{}/groups/{chat}", t.tenant),
        &t.owner,
        json!({"enabled": true, "tags": ["cuma"]}),
    )
    .await
    .expect(200);
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{}/templates", t.tenant),
            &t.owner,
            json!({"name": "Cuma", "body": "Hafta sonu indirimi"}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mut b = Browser::new(&app);
    let r = open_app(&mut b, &init_data(&app, TG_USER, "tr", BOT)).await;
    assert_eq!(r.status, 303);
    let base = format!("/app/tenants/{}", t.tenant);
    let csrf = b.get(&format!("{base}/campaigns")).await.csrf();
    let tpl = tpl.to_string();
    let form = |kind: &'static str, value: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", "Cuma sabahı".to_string()),
            ("template_id", tpl.clone()),
            ("tags", "cuma".to_string()),
            ("kind", kind.to_string()),
            ("value", value.to_string()),
            ("d0", "1".to_string()),
            ("d4", "1".to_string()),
        ]
    };
    let send = |f: &Vec<(&'static str, String)>| {
        f.iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect::<Vec<(&str, String)>>()
    };
    // Mondays and Fridays at 09:30, in the tenant's zone, in Turkish words.
    let f = send(&form("weekly", "09:30"));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post(&format!("{base}/campaigns/schedule"), &refs).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.text.matches("<li>").count(), 5, "{}", p.text);
    assert!(p.text.contains("09:30"), "{}", p.text);
    let days: Vec<&str> = p
        .text
        .split("<li>")
        .skip(1)
        .map(|li| li.split(' ').next().unwrap())
        .collect();
    assert!(
        days.iter().all(|d| *d == "Pzt" || *d == "Cum"),
        "only Mondays and Fridays: {days:?}"
    );
    let f = send(&form("every", "90"));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post(&format!("{base}/campaigns/schedule"), &refs).await;
    assert_eq!(p.text.matches("<li>").count(), 5, "{}", p.text);
    // A schedule that cannot be is said, not listed.
    let f = send(&form("weekly", "25:99"));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = b.post(&format!("{base}/campaigns/schedule"), &refs).await;
    assert!(p.text.contains(r#"class="error""#), "{}", p.text);
    assert!(!p.text.contains("<li>"));
    // Saved, it is cron; opened again, the builder shows it.
    let f = send(&form("weekly", "09:30"));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&format!("{base}/campaigns"), &refs).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = app
        .get(&format!("/api/v1/tenants/{}/campaigns", t.tenant), &t.owner)
        .await
        .expect(200)
        .clone();
    let c = &list.as_array().unwrap()[0];
    assert_eq!(c["schedule"]["cron"], "30 9 * * mon,fri", "{c}");
    let page = b
        .get(&format!("{base}/campaigns/{}", c["id"].as_u64().unwrap()))
        .await;
    assert!(
        page.text.contains(r#"<option value="weekly" selected>"#),
        "{}",
        page.text
    );
    // Listed in words, not as cron.
    let list = b.get(&format!("{base}/campaigns")).await;
    assert!(list.text.contains("Pzt, Cum 09:30"), "{}", list.text);

    // A campaign may name groups rather than tags; its page shows them ticked.
    let group_field = format!("g_{chat}");
    let refs = [
        ("_csrf", csrf.as_str()),
        ("name", "Tek grup"),
        ("template_id", tpl.as_str()),
        ("kind", "every"),
        ("value", "120"),
        (group_field.as_str(), "1"),
    ];
    let r = b.post(&format!("{base}/campaigns"), &refs).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let list = app
        .get(&format!("/api/v1/tenants/{}/campaigns", t.tenant), &t.owner)
        .await
        .expect(200)
        .clone();
    let one = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Tek grup")
        .expect("saved");
    assert_eq!(one["chat_ids"], json!([chat]), "{one}");
    let page = b
        .get(&format!("{base}/campaigns/{}", one["id"].as_u64().unwrap()))
        .await;
    assert!(
        page.text
            .contains(&format!(r#"name="{group_field}" value="1" checked"#)),
        "{}",
        page.text
    );
    app.stop().await.unwrap();
}
