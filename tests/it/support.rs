//! Support requests through the console and the Mini-App, over HTTP: a tenant's owner opens
//! one with a screenshot (a multipart form, CSRF-checked), the reseller reads it with the
//! tenant's context and answers, each side is notified by mail and through the platform bot,
//! the states move open → waiting → open → resolved, every step is audited, attachments are
//! checked and served as downloads, another tenant sees a 404, and opening is rate-limited.
//! Feedback from the Mini-App lands in the reseller's inbox.

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, App, PASSWORD};
use crate::console::{Browser, Page};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRscreenshot";

/// A `multipart/form-data` body of `fields` and one file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----botyardtest7a1c";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    b: &mut Browser,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> Page {
    let (ct, body) = multipart(fields, file);
    let req = b
        .client
        .post(format!("{}{path}", b.base))
        .header("content-type", ct)
        .body(body);
    b.send(req).await
}

fn mails(app: &App) -> Vec<(String, String)> {
    let store = app.ready.store.upgrade().unwrap();
    store
        .catalog_read()
        .unwrap()
        .mails(500)
        .unwrap()
        .into_iter()
        .map(|(_, m)| (m.kind, m.to))
        .collect()
}

fn audited(app: &App, action: &str) -> usize {
    let store = app.ready.store.upgrade().unwrap();
    store
        .catalog_read()
        .unwrap()
        .audit_tail(500)
        .unwrap()
        .iter()
        .filter(|(_, a)| a.action == action)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_request_flows_both_ways_with_notices_states_and_an_audit() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, _) = app
        .tenant_with_owner(&admin, "Kadıköy Kitap", "kitap@example.com")
        .await;
    let (other, _, _) = app
        .tenant_with_owner(&admin, "Moda Çay", "cay@example.com")
        .await;
    app.link_telegram("kitap@example.com", 880_001);
    app.link_telegram(ADMIN_EMAIL, 880_002);
    let store = app.ready.store.upgrade().unwrap();
    let account = |email: &str| {
        store
            .catalog_read()
            .unwrap()
            .account_by_email(email)
            .unwrap()
            .unwrap()
            .0
            .0
    };
    let (owner_id, admin_id) = (account("kitap@example.com"), account(ADMIN_EMAIL));

    let mut owner = Browser::new(&app);
    owner.sign_in("kitap@example.com", PASSWORD).await;
    let list = format!("/console/tenants/{tenant}/support");
    let page = owner
        .get(&format!("{list}?from=/console/tenants/{tenant}/campaigns"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(r#"enctype="multipart/form-data""#));
    let csrf = page.csrf();

    // Without the form's token nothing is stored.
    let r = post_multipart(&mut owner, &list, &[("subject", "x"), ("body", "y")], None).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // A file that is not a picture, PDF or text is refused, and nothing is opened.
    let r = post_multipart(
        &mut owner,
        &list,
        &[("_csrf", &csrf), ("subject", "Kampanya"), ("body", "Bakın")],
        Some(("kurulum.exe", b"MZ\x90\x00\x03\x00\x00\x00")),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("Bakın"), "the message is kept: {}", r.text);
    assert_eq!(audited(&app, "support.opened"), 0);

    let r = post_multipart(
        &mut owner,
        &list,
        &[
            ("_csrf", &csrf),
            ("screen", &format!("/console/tenants/{tenant}/campaigns")),
            ("subject", "Kampanya gönderilmedi"),
            (
                "body",
                "Dün 10:00'daki kampanya gruplara gitmedi.\nEkran görüntüsü ekte.",
            ),
        ],
        Some(("ekran görüntüsü.png", PNG)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let thread = r.location();
    let tid: u64 = thread
        .trim_start_matches(&format!("{list}/"))
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = owner.get(thread).await;
    assert!(
        page.text.contains("Kampanya gönderilmedi") && page.text.contains("Ekran görüntüsü ekte")
    );
    // The attachment comes back as a download that cannot run in the page.
    let f = owner.get(&format!("{list}/{tid}/files/0")).await;
    assert_eq!(f.status, 200);
    assert_eq!(f.headers["content-type"], "image/png");
    assert!(
        f.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(f.headers["x-content-type-options"], "nosniff");
    assert!(
        f.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    // The reseller is told by mail and through the platform bot.
    let m = mails(&app);
    assert!(
        m.contains(&("admin.support_request".into(), ADMIN_EMAIL.into())),
        "{m:?}"
    );
    assert!(
        m.contains(&(
            "admin.support_request".into(),
            format!("telegram:{admin_id}")
        )),
        "{m:?}"
    );
    assert_eq!(audited(&app, "support.opened"), 1);

    // Another tenant's people see nothing of it.
    let mut cay = Browser::new(&app);
    cay.sign_in("cay@example.com", PASSWORD).await;
    assert_eq!(cay.get(thread).await.status, 404);
    assert_eq!(
        cay.get(&format!("/console/tenants/{other}/support/{tid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        cay.get(&format!("/console/tenants/{other}/support/{tid}/files/0"))
            .await
            .status,
        404
    );
    assert_eq!(
        cay.get(&format!("/console/support/{tid}")).await.status,
        404
    );

    // The reseller reads it with the tenant's context and answers.
    let mut staff = Browser::new(&app);
    staff.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let inbox = staff.get("/console/support").await;
    assert!(
        inbox.text.contains("Kampanya gönderilmedi") && inbox.text.contains("Kadıköy Kitap"),
        "{}",
        inbox.text
    );
    let view = staff.get(&format!("/console/support/{tid}")).await;
    assert!(view.text.contains("sessions: 0"), "{}", view.text);
    assert!(
        view.text
            .contains(&format!("screen: /console/tenants/{tenant}/campaigns")),
        "{}",
        view.text
    );
    let staff_csrf = view.csrf();
    let r = post_multipart(
        &mut staff,
        &format!("/console/support/{tid}/messages"),
        &[
            ("_csrf", &staff_csrf),
            (
                "body",
                "Grubun gönderme izni kapalıymış; açtık, tekrar deneyin.",
            ),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = owner.get(thread).await;
    assert!(page.text.contains("gönderme izni") && !page.text.contains("support.state_waiting"));
    assert!(page.text.contains("Waiting for you"), "{}", page.text);
    let m = mails(&app);
    assert!(
        m.contains(&("account.support_answer".into(), "kitap@example.com".into())),
        "{m:?}"
    );
    assert!(
        m.contains(&(
            "account.support_answer".into(),
            format!("telegram:{owner_id}")
        )),
        "{m:?}"
    );
    assert!(
        !m.iter()
            .any(|(k, to)| k == "account.support_answer" && to == "cay@example.com")
    );

    // The owner answers (open again), the reseller resolves it, the owner reopens it.
    let r = post_multipart(
        &mut owner,
        &format!("{list}/{tid}/messages"),
        &[("_csrf", &csrf), ("body", "Teşekkürler, oldu.")],
        Some(("not.txt", "Gönderildi ✓\n".as_bytes())),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(
        staff
            .get("/console/support?show=open")
            .await
            .text
            .contains("Kampanya gönderilmedi")
    );
    let r = staff
        .post(
            &format!("/console/support/{tid}/state"),
            &[("_csrf", &staff_csrf), ("resolved", "1")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(
        staff
            .get("/console/support?show=resolved")
            .await
            .text
            .contains("Kampanya gönderilmedi")
    );
    assert!(
        !staff
            .get("/console/support?show=open")
            .await
            .text
            .contains("Kampanya gönderilmedi")
    );
    let r = owner
        .post(
            &format!("{list}/{tid}/state"),
            &[("_csrf", &csrf), ("resolved", "0")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(audited(&app, "support.message"), 2);
    assert_eq!(audited(&app, "support.resolved"), 1);
    assert_eq!(audited(&app, "support.reopened"), 1);
    let f = staff.get(&format!("/console/support/{tid}/files/2")).await;
    assert_eq!(f.status, 200);
    assert_eq!(f.text, "Gönderildi ✓\n");

    // Five requests an hour: the sixth is refused and nothing is stored.
    for n in 2..=5 {
        let r = post_multipart(
            &mut owner,
            &list,
            &[
                ("_csrf", &csrf),
                ("subject", &format!("Soru {n}")),
                ("body", "?"),
            ],
            None,
        )
        .await;
        assert_eq!(r.status, 303, "{n}: {}", r.text);
    }
    let r = post_multipart(
        &mut owner,
        &list,
        &[("_csrf", &csrf), ("subject", "Soru 6"), ("body", "?")],
        None,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(audited(&app, "support.opened"), 5);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_from_the_mini_app_lands_in_the_resellers_inbox() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, _) = app
        .tenant_with_owner(&admin, "Üsküdar Fırın", "firin@example.com")
        .await;
    let mut owner = Browser::new(&app);
    owner.sign_in("firin@example.com", PASSWORD).await;
    let more = owner.get(&format!("/app/tenants/{tenant}/more")).await;
    assert!(
        more.text
            .contains(&format!("/app/tenants/{tenant}/feedback")),
        "{}",
        more.text
    );
    let page = owner.get(&format!("/app/tenants/{tenant}/feedback")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = page.csrf();
    let r = owner
        .post(
            &format!("/app/tenants/{tenant}/feedback"),
            &[("_csrf", &csrf), ("body", " ")],
        )
        .await;
    assert_eq!(r.status, 422, "an empty note is refused: {}", r.text);
    let r = owner
        .post(
            &format!("/app/tenants/{tenant}/feedback"),
            &[
                ("_csrf", &csrf),
                (
                    "body",
                    "Kampanya takvimi haftalık görünümde olsa çok iyi olur.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(owner.get(r.location()).await.text.contains("Thank you"));
    let mut staff = Browser::new(&app);
    staff.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let inbox = staff.get("/console/support?show=feedback").await;
    assert!(inbox.text.contains("Üsküdar Fırın"), "{}", inbox.text);
    assert!(
        !staff
            .get("/console/support")
            .await
            .text
            .contains("Üsküdar Fırın")
    );
    let at = inbox.text.find("/console/support/").unwrap();
    let link: String = inbox.text[at..].chars().take_while(|c| *c != '"').collect();
    let view = staff.get(&link).await;
    assert!(view.text.contains("haftalık görünümde"), "{}", view.text);
    assert!(
        view.text.contains("plan: -"),
        "the tenant's context: {}",
        view.text
    );
    app.stop().await.unwrap();
}
