//! The Mini-App end to end in a real browser at a phone's size: `e2e/miniapp.mjs`
//! (playwright-core driving Debian's chromium, a stub of Telegram's WebView bridge) against an
//! appliance run here in-process with a simulated tenant whose owner is linked to a Telegram
//! user. Screenshots land in `target/e2e-shots-miniapp/`, the performance figures in
//! `perf.json` there.
//!
//! Like the console's, it needs `node`, `e2e/node_modules` and chromium; `BOTYARD_E2E=1` makes
//! their absence a failure rather than a skip.

use std::path::PathBuf;

use serde_json::json;

use crate::common::{self, App};

const BOT: &str = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

fn init_data(app: &App, user: i64, lang: &str) -> String {
    let fields = vec![
        (
            "auth_date".to_string(),
            botyard::clock::Clock::now(&*app.clock).to_string(),
        ),
        (
            "user".to_string(),
            format!(r#"{{"id":{user},"first_name":"Ayşe","language_code":"{lang}"}}"#),
        ),
    ];
    let hash = botyard::domain::webapp_auth::sign(&fields, BOT).unwrap();
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .append_pair("hash", &hash)
        .finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mini_app_on_a_phone_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(chromium) = crate::console_e2e::browser() else {
        return;
    };
    let app = App::start_with(|c| {
        c.platform.bot_token = Some(botyard::config::Secret::new(BOT));
        // The platform bot's worker cannot reach Telegram here; the app's sign-in needs only
        // its token.
        c.telegram.dc = (2, "127.0.0.1:9".parse().unwrap());
        // Long enough for the slowest run of the script.
        c.auth.webapp_max_age_secs = 3600;
    })
    .await;
    let admin = app.admin().await;
    let mut limits = common::limits();
    limits["groups"] = json!(20);
    let sim = app
        .sim_tenant(
            &admin.access,
            "Moda Cicek",
            limits,
            json!({"seed": 11, "groups": 3, "events_per_sec": 2.0}),
        )
        .await;
    app.link_telegram("owner-moda-cicek@example.com", 279_058_397);
    // The tenant's plan is for sale with a trial, for the subscription screen.
    let plan = app
        .get(&format!("/api/v1/tenants/{}", sim.tenant), &admin.access)
        .await
        .expect(200)["plan_id"]
        .as_u64()
        .expect("plan");
    app.put(
        &format!("/api/v1/plans/{plan}/price"),
        &admin.access,
        json!({"stars": 250, "minor": 49900, "currency": "TRY", "trial_days": 14, "offered": true}),
    )
    .await
    .expect(200);

    let shots = root.join("target/e2e-shots-miniapp");
    crate::console_e2e::run_script(
        "miniapp.mjs",
        &chromium,
        &[
            ("BASE", app.ready.base_url.clone()),
            ("TENANT", sim.tenant.to_string()),
            ("INIT_DATA", init_data(&app, 279_058_397, "en")),
            ("INIT_DATA_2", init_data(&app, 279_058_397, "tr")),
            ("OWNER_EMAIL", "owner-moda-cicek@example.com".into()),
            ("OWNER_PASSWORD", common::PASSWORD.into()),
            ("SHOTS", shots.display().to_string()),
        ],
    )
    .await;
    app.stop().await.unwrap();
}
