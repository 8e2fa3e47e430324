//! The storefront at `/`: off by default (`/` leads to the console); on, the reseller's
//! brand, the plans on sale with their prices in both currencies, both languages, a trial
//! button into the platform bot, link-preview tags, and a page that stays small and asks
//! nothing of other sites.

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, App};
use crate::console::Browser;

/// Every `src`/`href` in `html` that points outside this appliance.
fn outside_refs(html: &str, allowed: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\"", "content=\"http"] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            let v = if attr.starts_with("content") {
                format!("http{}", &rest[..end])
            } else {
                rest[..end].to_string()
            };
            if (v.starts_with("http") || v.starts_with("//"))
                && !allowed.iter().any(|a| v.starts_with(a))
            {
                out.push(v);
            }
        }
    }
    out
}

#[tokio::test]
async fn the_storefront_sells_the_offered_plans_in_both_languages() {
    let app = App::start_with(|c| c.platform.bot = botyard::config::PlatformBot::Sim).await;
    let admin = app.admin().await;
    let mut visitor = Browser::new(&app);
    let r = visitor.get("/").await;
    assert_eq!(r.status, 303, "off by default");
    assert_eq!(r.location(), "/console");

    // A plan offered with a price is sold; one not offered is not shown.
    crate::billing::priced_plan(&app, &admin.access).await;
    app.post(
        "/api/v1/plans",
        &admin.access,
        serde_json::json!({"name": "Gizli", "limits": crate::common::limits()}),
    )
    .await
    .expect(201);

    let mut b = Browser::new(&app);
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/appliance").await.csrf();
    let saved = b
        .post(
            "/console/appliance",
            &[
                ("_csrf", csrf.as_str()),
                ("brand_name", "Kuzey Bot"),
                ("storefront", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert!(
        b.get("/console/appliance")
            .await
            .text
            .contains("name=\"storefront\" value=\"1\" checked")
    );
    app.platform_online().await;
    // While sign-ups are closed the page leads to the console, not to a trial nobody can start.
    let closed = visitor.get("/").await;
    assert!(!closed.text.contains("?start=trial"), "{}", closed.text);
    assert!(closed.text.contains("href=\"/console\""));
    let page = b.get("/console/signups").await;
    let r = b
        .post(
            "/console/signups/policy",
            &[
                ("_csrf", &page.csrf()),
                ("mode", "open"),
                ("plan", ""),
                ("reward_days", "0"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);

    visitor.lang = "tr-TR,tr;q=0.9,en;q=0.5";
    let tr = visitor.get("/").await;
    assert_eq!(tr.status, 200, "{}", tr.text);
    let page = &tr.text;
    assert!(page.contains("<html lang=\"tr\""));
    assert!(page.contains("Kuzey Bot"));
    assert!(page.contains("Telegram gruplarınıza planlı gönderi yapın"));
    assert!(page.contains("Esnaf"), "the offered plan");
    assert!(!page.contains("Gizli"), "a plan not offered");
    assert!(page.contains("499,00 TRY / 30 gün"), "{page}");
    assert!(page.contains("250 Yıldız / 30 gün"), "{page}");
    assert!(page.contains("7 gün ücretsiz deneme"));
    // The trial opens the platform bot with a start payload it knows.
    let bot = app
        .ready
        .supervisor
        .platform_bot()
        .and_then(|m| m.username)
        .expect("the platform bot's username");
    assert!(
        page.contains(&format!("href=\"https://t.me/{bot}?start=trial\"")),
        "{page}"
    );
    // Link previews in Telegram: Open Graph in the reader's language.
    for tag in [
        "property=\"og:title\" content=\"Kuzey Bot",
        "property=\"og:description\" content=\"Kuzey Bot, botlarınızı",
        "property=\"og:locale\" content=\"tr_TR\"",
        "property=\"og:type\" content=\"website\"",
        "property=\"og:url\" content=\"http://",
    ] {
        assert!(page.contains(tag), "{tag}");
    }
    // The other language is one link away, and English prices read as English.
    assert!(page.contains("href=\"/?lang=en\""));
    let en = visitor.get("/?lang=en").await.text;
    assert!(en.contains("<html lang=\"en\""));
    assert!(en.contains("499.00 TRY / 30 days"), "{en}");
    assert!(en.contains("7-day free trial"));
    assert!(en.contains("Start a free trial"));

    // Small and self-contained: no request to any other site, and the page with its
    // stylesheets under 50 KB.
    let own = app.ready.base_url.clone();
    let allowed = [own.as_str(), "https://t.me/"];
    assert_eq!(outside_refs(page, &allowed), Vec::<String>::new());
    let css = visitor.get("/console/assets/console.css").await;
    let brand = visitor.get("/console/brand.css").await;
    let weight = page.len() + css.text.len() + brand.text.len();
    assert!(weight < 50 * 1024, "the storefront weighs {weight} bytes");
    let csp = tr
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    app.stop().await.expect("stop");
}

#[test]
fn outside_references_are_found() {
    let html = r#"<img src="https://evil.example/x.png"><a href="https://t.me/b?start=trial">
<meta property="og:image" content="http://own/logo"><link href="/console/assets/console.css">"#;
    assert_eq!(
        outside_refs(html, &["http://own", "https://t.me/"]),
        vec!["https://evil.example/x.png".to_string()]
    );
}
