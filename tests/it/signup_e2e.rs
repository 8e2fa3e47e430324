//! Sign-up and support end to end in a real browser: `e2e/signup.mjs` (playwright-core driving
//! Debian's chromium) against an appliance whose platform bot runs over the real grammers
//! client at the fake datacenter. A Telegram user presses Start, opens the Mini-App at a
//! phone's size, signs up with a beta invite code, opens a support request with a screenshot
//! and sends feedback; the reseller reads and answers them in the console on a desktop.
//! Screenshots land in `target/e2e-shots-signup/`.

use std::path::PathBuf;
use std::sync::Arc;

use botyard_fakedc::world::{FakeChat, World, person};

use crate::api_telegram::{TOKEN, platform_app, posts};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::console::Browser;

const SHOP_BOT: &str = "6002000000:AAFz7bUtikNisantasiButikBotToken00";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_and_asking_for_help_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(chromium) = crate::console_e2e::browser() else {
        return;
    };
    // The shop's own bot, which Selin connects after signing up, is in one group.
    let chat = FakeChat {
        id: 5001,
        title: "Nişantaşı Esnafı".into(),
        supergroup: true,
        members: 48,
        access_hash: 77,
    };
    let world = Arc::new(World::new(
        &[
            (TOKEN, 6000, "yard_platform_bot"),
            (SHOP_BOT, 6002, "nisantasi_butik_bot"),
        ],
        vec![chat],
    ));
    let (dc, _seed, app) = platform_app(&world).await;
    let admin = app.admin().await.access;
    crate::billing::priced_plan(&app, &admin).await;
    app.platform_online().await;
    // A beta with one invite code, set in the console.
    let mut console = Browser::new(&app);
    console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = console.get("/console/signups").await.csrf();
    for (path, form) in [
        (
            "/console/signups/policy",
            vec![("mode", "invite"), ("plan", ""), ("reward_days", "14")],
        ),
        (
            "/console/signups/invites",
            vec![
                ("code", "BETA2026"),
                ("max_uses", "20"),
                ("days", "30"),
                ("note", "Nişantaşı esnafı"),
            ],
        ),
    ] {
        let mut f = vec![("_csrf", csrf.as_str())];
        f.extend(form);
        assert_eq!(console.post(path, &f).await.status, 303);
    }
    // Selin presses Start on the storefront's trial link.
    let selin = person(772_001, "Selin", None);
    dc.push(&world.private_message(&selin, "/start trial"));
    posts(&world, 1).await;
    // Emre, whose Telegram is in English, only looks at the form.
    let emre = person(772_002, "Emre", None);
    dc.push(&world.private_message(&emre, "/start"));
    posts(&world, 2).await;

    let shots = root.join("target/e2e-shots-signup");
    crate::console_e2e::run_script(
        "signup.mjs",
        &chromium,
        &[
            ("BASE", app.ready.base_url.clone()),
            (
                "INIT_DATA",
                crate::miniapp::init_data(&app, 772_001, "tr", TOKEN),
            ),
            (
                "INIT_DATA_EN",
                crate::miniapp::init_data(&app, 772_002, "en", TOKEN),
            ),
            ("SHOP_BOT", SHOP_BOT.into()),
            ("ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("SHOTS", shots.display().to_string()),
        ],
    )
    .await;
    // The answer reached Selin through the platform bot.
    let sent = posts(&world, 3).await;
    assert!(
        sent.iter().any(|p| p.text.contains("talebinize yanıt")),
        "{sent:?}"
    );
    app.stop().await.unwrap();
}
