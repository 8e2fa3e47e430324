//! The help at `/help`: both languages, branded, searchable, linked from every screen and
//! from error pages. (Its pages' links and translations are checked by `help::Library`'s
//! unit tests; here is what a reader gets over HTTP.)

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, App};
use crate::console::Browser;

#[tokio::test]
async fn the_help_opens_in_the_readers_language_and_carries_the_brand() {
    let app = App::start().await;
    let mut b = Browser::new(&app);
    b.lang = "tr-TR,tr;q=0.9";
    let r = b.get("/help").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), "/help/tr/");
    b.lang = "en";
    assert_eq!(b.get("/help").await.location(), "/help/en/");

    // The reseller's name replaces the product's everywhere, escaped.
    b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = b.get("/console/appliance").await.csrf();
    let saved = b
        .post(
            "/console/appliance",
            &[("_csrf", csrf.as_str()), ("brand_name", "Kuzey <Bot>")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);

    let anon = Browser::new(&app);
    for lang in ["en", "tr"] {
        let mut anon = Browser::at(&anon.base);
        let page = anon.get(&format!("/help/{lang}/campaigns")).await;
        assert_eq!(page.status, 200, "{lang}: {}", page.text);
        assert!(page.text.contains(&format!("<html lang=\"{lang}\"")));
        assert!(
            page.text.contains("id=\"cron\""),
            "{lang}: the cron section"
        );
        assert!(!page.text.contains("{brand}"), "{lang}: a placeholder left");
        assert!(page.text.contains("Kuzey &lt;Bot&gt;"), "{lang}: the brand");
        assert!(
            !page.text.contains("Kuzey <Bot>"),
            "{lang}: the brand unescaped"
        );
        let csp = page
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        // The same page in the other language is one link away.
        let other = if lang == "en" { "tr" } else { "en" };
        assert!(
            page.text
                .contains(&format!("href=\"/help/{other}/campaigns\""))
        );
    }
    let tr = Browser::at(&anon.base).get("/help/tr/campaigns").await;
    assert!(tr.text.contains("Kampanya"), "{}", tr.text);

    // The API guide is published in English, said so to a Turkish reader.
    let api = Browser::at(&anon.base).get("/help/tr/api").await;
    assert_eq!(api.status, 200);
    assert!(api.text.contains("yalnızca İngilizce"));
    assert!(
        api.text.contains("id=\"errors\""),
        "API.md's headings get ids"
    );

    app.stop().await.expect("stop");
}

#[tokio::test]
async fn search_finds_sections_and_error_codes_in_both_languages() {
    let app = App::start().await;
    let mut b = Browser::new(&app);
    let r = b.get("/help/en/search?q=cron").await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("href=\"/help/en/campaigns#cron\""),
        "{}",
        r.text
    );

    // Without Turkish letters on the keyboard, Turkish words are still found.
    let r = b.get("/help/tr/search?q=sablon+degisken").await;
    assert!(
        r.text.contains("href=\"/help/tr/templates#variables\""),
        "{}",
        r.text
    );

    // An error code finds its FAQ entry, which says what to do in the reader's language.
    let r = b.get("/help/tr/search?q=campaign.no_groups").await;
    assert!(
        r.text
            .contains("href=\"/help/tr/errors#campaign.no_groups\""),
        "{}",
        r.text
    );
    let faq = b.get("/help/tr/errors").await;
    assert!(faq.text.contains("id=\"campaign.no_groups\""));
    assert!(faq.text.contains("id=\"worker.quarantined\""), "alerts too");
    assert!(
        faq.text.contains("İşçi karantinada"),
        "alerts by their console name"
    );

    // Nothing found, a hostile query and an unknown page are answered, not failed.
    let r = b.get("/help/en/search?q=zzzqqq").await;
    assert!(r.text.contains("Nothing found"));
    let r = b
        .get(&format!("/help/en/search?q={}", "%3Cscript%3E".repeat(200)))
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("<script>"));
    assert_eq!(b.get("/help/en/no-such-page").await.status, 404);
    assert_eq!(b.get("/help/de/index").await.status, 404);
    assert_eq!(b.get("/help/shots/en/../../Cargo.toml").await.status, 404);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn screens_and_errors_link_to_their_help() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (t, _, _) = app
        .tenant_with_owner(&admin.access, "Lale Çiçek", "lale@example.com")
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("lale@example.com", crate::common::PASSWORD).await;
    for (path, help) in [
        (format!("/console/tenants/{t}/campaigns"), "campaigns"),
        (format!("/console/tenants/{t}/groups"), "groups"),
        (format!("/console/tenants/{t}/subscription"), "billing"),
        ("/console/account".to_string(), "account#password"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let link = format!("href=\"/help/en/{help}\"");
        assert!(page.text.contains(&link), "{path}: {link}");
        // And the place exists.
        let (page_path, anchor) = help.split_once('#').unwrap_or((help, ""));
        let target = b.get(&format!("/help/en/{page_path}")).await;
        assert_eq!(target.status, 200, "{help}");
        if !anchor.is_empty() {
            assert!(target.text.contains(&format!("id=\"{anchor}\"")), "{help}");
        }
    }
    // A refused page says what its error means, in the reader's language.
    b.lang = "tr";
    let page = b
        .get(&format!("/console/tenants/{t}/campaigns/999999"))
        .await;
    assert_eq!(page.status, 404, "{}", page.text);
    assert!(
        page.text.contains("/help/tr/errors#resource.not_found"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Bu ne anlama geliyor?"));
    app.stop().await.expect("stop");
}
