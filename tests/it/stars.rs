//! Telegram Stars end to end, through the sandboxed platform bot's worker speaking MTProto
//! with grammers to the loopback fake datacenter: an invoice link, the pre-checkout round trip
//! inside Telegram's 10 seconds, the payment service message credited once per charge (a
//! second delivery and a restart change nothing), a renewal, an upgrade, a refund with its
//! credit note, reconciliation with the bot's Stars history, and what is never credited: a
//! forged payload, a wrong amount, a payment for a deleted tenant (flagged for refund).

use std::sync::Arc;
use std::time::Duration;

use botyard::clock::Clock;
use botyard::runtime::supervisor::WorkerKey;
use botyard_fakedc::stars::Verdict;
use botyard_fakedc::world::{World, person};
use serde_json::{Value, json};

use crate::api_telegram::{TOKEN, platform_app, posts, to_user};
use crate::common::{self, App};

const DAY: i64 = 86_400;

/// An offered plan at `stars` per period, with the suite's usual limits.
async fn priced_plan(app: &App, admin: &str, name: &str, stars: u32) -> u64 {
    crate::billing::plan_at(app, admin, name, stars, 50).await
}

/// Waits until the platform bot's worker has had `n` more events handled (a payment is
/// credited, or refused, before its batch counts).
async fn handled(app: &App, before: u64, n: u64) {
    let mut rx = app.ready.supervisor.watch(WorkerKey::Platform).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.events_stored >= before + n),
    )
    .await
    .expect("the platform bot's events were handled")
    .expect("watch");
}

fn stored(app: &App) -> u64 {
    app.ready
        .supervisor
        .status(WorkerKey::Platform)
        .map_or(0, |s| s.events_stored)
}

async fn subscription(app: &App, token: &str, tenant: u64) -> Value {
    app.get(&format!("/api/v1/tenants/{tenant}/subscription"), token)
        .await
        .expect(200)
        .clone()
}

async fn invoices(app: &App, token: &str, tenant: u64) -> Vec<Value> {
    app.get(&format!("/api/v1/tenants/{tenant}/invoices"), token)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .clone()
}

/// Asks Telegram (the fake) to run a pre-checkout for `payload` and waits for the bot's answer.
async fn precheckout(
    dc: &botyard_fakedc::FakeDc,
    world: &World,
    user: &grammers_client::tl::types::User,
    amount: i64,
    payload: &[u8],
) -> Verdict {
    let (updates, q) = world.stars.precheckout(user, "XTR", amount, payload);
    let asked = std::time::Instant::now();
    dc.push(&updates);
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(v) = world.stars.verdict(q) {
                return v;
            }
            dc.wait_for(|calls, _| {
                calls.iter().any(|c| {
                    c.constructor
                        == <grammers_client::tl::functions::messages::SetBotPrecheckoutResults as grammers_client::tl::Identifiable>::CONSTRUCTOR_ID
                }) && world.stars.verdict(q).is_some()
            })
            .await;
        }
    })
    .await
    .inspect(|_| {
        // Well inside Telegram's 10 s.
        assert!(asked.elapsed() < Duration::from_secs(5), "{:?}", asked.elapsed());
    })
    .expect("the bot answered the pre-checkout query")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_pays_renews_upgrades_and_is_refunded_in_stars() {
    let world = Arc::new(World::new(&[(TOKEN, 6000, "yard_platform_bot")], vec![]));
    let (dc, _seed, app) = platform_app(&world).await;
    let admin = app.admin().await.access;
    let temel = priced_plan(&app, &admin, "Temel", 300).await;
    let pro = priced_plan(&app, &admin, "Pro", 900).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Ece Foto", "ece@example.com")
        .await;
    let owner = owner.access;
    app.patch(
        &format!("/api/v1/tenants/{tenant}"),
        &admin,
        json!({"plan_id": temel}),
    )
    .await
    .expect(200);
    // Invoices in Turkish, with both sides' legal details.
    let mut settings = app
        .get(&format!("/api/v1/tenants/{tenant}/settings"), &owner)
        .await
        .expect(200)
        .clone();
    settings["language"] = json!("tr");
    app.put(
        &format!("/api/v1/tenants/{tenant}/settings"),
        &owner,
        settings,
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/tenants/{tenant}/billing-profile"),
        &owner,
        json!({"legal_name": "Ece Fotoğrafçılık Ltd. Şti.", "address": "Moda Cad. 12\nKadıköy / İstanbul",
               "tax_office": "Kadıköy", "tax_number": "1234567890", "email": "muhasebe@ece.example"}),
    )
    .await
    .expect(200);
    app.put(
        "/api/v1/billing/seller",
        &admin,
        json!({"legal_name": "Yıldız Yazılım A.Ş.", "address": "Bağdat Cad. 100\nGöztepe / İstanbul",
               "tax_office": "Göztepe", "tax_number": "9876543210"}),
    )
    .await
    .expect(200);
    app.platform_online().await;

    // The invoice link: a monthly Stars subscription at the plan's price.
    let link = app
        .post(
            &format!("/api/v1/tenants/{tenant}/subscription/stars"),
            &owner,
            json!({}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (&link["stars"], &link["purpose"], &link["plan_id"]),
        (&json!(300), &json!("period"), &json!(temel))
    );
    let url = link["url"].as_str().unwrap();
    let inv = world.stars.invoice(url).expect("the bot exported it");
    assert_eq!(
        (
            inv.currency.as_str(),
            inv.stars,
            inv.period,
            inv.provider.as_deref()
        ),
        ("XTR", 300, Some(30 * 86_400), None)
    );
    assert!(inv.title.contains("Temel"), "{}", inv.title);

    let ece = person(555_001, "Ece", Some("ece_foto"));
    // Pre-checkout: accepted for the invoice as made; refused for another amount, a payload
    // the appliance did not make, and another currency. Telegram shows the reason.
    assert_eq!(
        precheckout(&dc, &world, &ece, 300, &inv.payload).await,
        Verdict::Accepted
    );
    match precheckout(&dc, &world, &ece, 30, &inv.payload).await {
        Verdict::Refused(why) => assert!(why.contains("Tutar"), "{why}"),
        v => panic!("{v:?}"),
    }
    let forged = format!("by1.p.{tenant}.{temel}.1.AAAAAAAAAAAAAAAA");
    assert!(matches!(
        precheckout(&dc, &world, &ece, 1, forged.as_bytes()).await,
        Verdict::Refused(_)
    ));

    // The payment service message credits the subscription and issues invoice 1.
    let t0 = app.clock.now();
    let (paid, charge) =
        world.stars_payment(&ece, &inv.payload, 300, false, Some((t0 + 30 * DAY) as i32));
    dc.push(&paid);
    let sent = posts(&world, 1).await;
    assert_eq!(to_user(&sent[0]), Some((555_001, 555_001 * 7)));
    assert!(sent[0].text.contains("Ödemeniz alındı"), "{}", sent[0].text);
    let s = subscription(&app, &owner, tenant).await;
    assert_eq!(s["subscription"]["state"], "active", "{s}");
    assert_eq!(s["payments"].as_array().unwrap().len(), 1);
    assert_eq!(s["payments"][0]["provider"], "stars");
    assert_eq!(s["payments"][0]["reference"], charge.as_str());
    let first_end = s["subscription"]["period_end"]
        .as_str()
        .unwrap()
        .to_string();
    let list = invoices(&app, &owner, tenant).await;
    assert_eq!(list.len(), 1);
    let year = jiff::Timestamp::from_second(t0)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year();
    assert_eq!(list[0]["number"], format!("{year}-000001"));
    assert_eq!(
        (
            &list[0]["currency"],
            &list[0]["total"],
            &list[0]["tax"],
            &list[0]["kind"]
        ),
        (&json!("XTR"), &json!(300), &json!(0), &json!("invoice"))
    );
    assert!(
        sent[0].text.contains(&format!("{year}-000001")),
        "{}",
        sent[0].text
    );

    // The same message again (Telegram may deliver twice): credited once.
    let before = stored(&app);
    dc.push(&world.stars_payment_again(&ece, &inv.payload, 300, &charge));
    handled(&app, before, 1).await;
    assert_eq!(
        subscription(&app, &owner, tenant).await["payments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(invoices(&app, &owner, tenant).await.len(), 1);

    // Telegram renews the subscription a month on: a new charge, 30 more days.
    let (renewed, renewal_charge) =
        world.stars_payment(&ece, &inv.payload, 300, true, Some((t0 + 60 * DAY) as i32));
    dc.push(&renewed);
    posts(&world, 2).await;
    let s = subscription(&app, &owner, tenant).await;
    assert_eq!(s["payments"].as_array().unwrap().len(), 2);
    let second_end = s["subscription"]["period_end"]
        .as_str()
        .unwrap()
        .to_string();
    let end = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_second();
    assert_eq!(end(&second_end) - end(&first_end), 30 * DAY);

    // The invoice as a PDF: Turkish, both parties, the totals.
    let pdf = app
        .client
        .get(app.url(&format!(
            "/api/v1/tenants/{tenant}/invoices/{}/pdf",
            list[0]["id"]
        )))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = common::pdf_text(&bytes, "stars-invoice") {
        for want in [
            "FATURA",
            &format!("{year}-000001"),
            "Yıldız Yazılım A.Ş.",
            "Ece Fotoğrafçılık Ltd. Şti.",
            "Kadıköy",
            "Temel planı · 30 gün",
            "300 XTR",
            "Telegram Yıldızları",
            &charge,
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
    }

    // An upgrade to Pro now: the unused part of Temel's period is credited, the rest paid once.
    let up = app
        .post(
            &format!("/api/v1/tenants/{tenant}/subscription/stars"),
            &owner,
            json!({"plan_id": pro}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(up["purpose"], "upgrade");
    let charge_up = up["stars"].as_u64().unwrap();
    assert!((600..=900).contains(&charge_up), "{up}");
    let up_inv = world.stars.invoice(up["url"].as_str().unwrap()).unwrap();
    assert_eq!(up_inv.period, None, "an upgrade is paid once");
    assert_eq!(
        precheckout(&dc, &world, &ece, charge_up as i64, &up_inv.payload).await,
        Verdict::Accepted
    );
    let (paid_up, _) = world.stars_payment(&ece, &up_inv.payload, charge_up as i64, false, None);
    dc.push(&paid_up);
    posts(&world, 3).await;
    let s = subscription(&app, &owner, tenant).await;
    assert_eq!(
        (&s["subscription"]["plan_id"], &s["subscription"]["stars"]),
        (&json!(pro), &json!(900)),
        "{s}"
    );

    // Cancelling stops Telegram's monthly renewals of the Stars subscription; resuming
    // restarts them.
    app.post(
        &format!("/api/v1/tenants/{tenant}/subscription/cancel"),
        &owner,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tenants/{tenant}/subscription/resume"),
        &owner,
        json!({}),
    )
    .await
    .expect(200);
    let last_charge = world.stars.history().last().unwrap().id.clone();
    assert_eq!(
        world.stars.cancels(),
        vec![
            (555_001, last_charge.clone(), false),
            (555_001, last_charge, true)
        ]
    );

    // A refund of the renewal (admins only): Telegram gives the Stars back, a credit note is
    // issued and the 30 days it bought come off.
    let renewal_id = s["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["reference"] == renewal_charge.as_str())
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let refund = format!("/api/v1/tenants/{tenant}/payments/{renewal_id}/refund");
    app.post(&refund, &owner, json!({}))
        .await
        .expect_err(403, "auth.admin_required");
    let before_end = end(s["subscription"]["period_end"].as_str().unwrap());
    let r = app
        .post(&refund, &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(r["credit_note"], format!("CN-{year}-000001"));
    assert_eq!(
        end(r["subscription"]["period_end"].as_str().unwrap()),
        before_end - 30 * DAY
    );
    assert_eq!(
        world.stars.refund_calls(),
        vec![(555_001, 555_001 * 7, renewal_charge.clone())]
    );
    app.post(&refund, &admin, json!({}))
        .await
        .expect_err(409, "billing.refunded");
    let list = invoices(&app, &owner, tenant).await;
    let note = list.iter().find(|i| i["kind"] == "credit_note").unwrap();
    assert_eq!(note["corrects"], format!("{year}-000002"));
    assert_eq!(note["total"], 300);

    // Reconciliation, once the payments are older than its settling time: the books match
    // Telegram's history…
    app.clock.advance(15 * 60);
    let admin = app.admin().await.access;
    let owner = app.login("ece@example.com", common::PASSWORD).await.access;
    let rec = app
        .post("/api/v1/billing/reconcile", &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            &rec["telegram_payments"],
            &rec["recorded_payments"],
            &rec["missing_in_books"],
            &rec["refund_mismatches"]
        ),
        (&json!(3), &json!(3), &json!([]), &json!([])),
        "{rec}"
    );
    // … until Telegram has a charge the server never heard of: an alert.
    let lost = world.stars.charge(555_001, 300);
    let rec = app
        .post("/api/v1/billing/reconcile", &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(rec["missing_in_books"], json!([lost]));
    let alerts = app.get("/api/v1/alerts", &admin).await.expect(200).clone();
    assert!(
        alerts.to_string().contains("billing.reconciliation"),
        "{alerts}"
    );

    // The books: revenue per month and plan, refunds taken off; states.
    let report = app
        .get("/api/v1/billing/report", &admin)
        .await
        .expect(200)
        .clone();
    let temel_row = report["revenue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["plan_id"] == temel)
        .unwrap()
        .clone();
    assert_eq!(
        (
            &temel_row["payments"],
            &temel_row["paid"],
            &temel_row["refunded"],
            &temel_row["currency"]
        ),
        (&json!(2), &json!(600), &json!(300), &json!("XTR"))
    );
    assert_eq!(report["subscriptions"]["active"], 1);
    app.get("/api/v1/billing/report", &owner)
        .await
        .expect_err(403, "auth.admin_required");

    // `/pay` to the bot: the owner gets the invoice link as a button in the private chat.
    app.link_telegram("ece@example.com", 555_001);
    let before = world.sent().len();
    dc.push(&world.private_message(&ece, "/pay"));
    let sent = posts(&world, before + 1).await;
    let reply = &sent[before];
    assert_eq!(to_user(reply), Some((555_001, 555_001 * 7)));
    use grammers_client::tl::enums::{
        InlineButtonType, KeyboardInlineButton, KeyboardInlineButtonRow, ReplyMarkup,
    };
    let url = match &reply.markup {
        Some(ReplyMarkup::ReplyInlineMarkup(m)) => m.rows.iter().find_map(|r| {
            let KeyboardInlineButtonRow::Row(r) = r;
            r.buttons.iter().find_map(|b| {
                let KeyboardInlineButton::Button(b) = b;
                match &b.r#type {
                    InlineButtonType::Url(u) => Some((b.text.clone(), u.url.clone())),
                    _ => None,
                }
            })
        }),
        _ => None,
    };
    let (label, url) = url.expect("an invoice button");
    assert!(label.contains("900 Yıldız"), "{label}");
    let inv = world.stars.invoice(&url).expect("an exported invoice");
    assert_eq!((inv.stars, inv.period), (900, Some(30 * 86_400)));

    // A restart replays what the bot had not confirmed: nothing is credited twice.
    let now = app.clock.now();
    let app = app.restart_at(now).await;
    let admin = app.admin().await.access;
    app.platform_online().await;
    let owner = app.login("ece@example.com", common::PASSWORD).await.access;
    assert_eq!(
        subscription(&app, &owner, tenant).await["payments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.stop().await.unwrap();
    let _ = admin;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_orphan_payments_are_never_credited() {
    let world = Arc::new(World::new(&[(TOKEN, 6000, "yard_platform_bot")], vec![]));
    let (dc, _seed, app) = platform_app(&world).await;
    let admin = app.admin().await.access;
    let plan = priced_plan(&app, &admin, "Esnaf", 250).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Deniz Çiçek", "deniz@example.com")
        .await;
    let (gone, _, gone_owner) = app
        .tenant_with_owner(&admin, "Kapanan", "kapanan@example.com")
        .await;
    for t in [tenant, gone] {
        app.patch(
            &format!("/api/v1/tenants/{t}"),
            &admin,
            json!({"plan_id": plan}),
        )
        .await
        .expect(200);
    }
    app.platform_online().await;
    let link = |t: u64, tok: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/tenants/{t}/subscription/stars"),
                &tok,
                json!({}),
            )
            .await
            .expect(201)["url"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let url = link(tenant, owner.access.clone()).await;
    let payload = world.stars.invoice(&url).unwrap().payload;
    let gone_url = link(gone, gone_owner.access.clone()).await;
    let gone_payload = world.stars.invoice(&gone_url).unwrap().payload;
    let deniz = person(555_002, "Deniz", None);

    // A payload the appliance did not make, and the right payload with the wrong amount:
    // logged and alerted, never credited.
    let before = stored(&app);
    let forged = format!("by1.p.{tenant}.{plan}.250.AAAAAAAAAAAAAAAA");
    dc.push(
        &world
            .stars_payment(&deniz, forged.as_bytes(), 250, false, None)
            .0,
    );
    dc.push(&world.stars_payment(&deniz, &payload, 1, false, None).0);
    handled(&app, before, 2).await;
    let s = subscription(&app, &owner.access, tenant).await;
    assert_eq!(s["payments"], json!([]), "{s}");
    assert_eq!(s["subscription"], Value::Null);
    let alerts = app
        .get("/api/v1/alerts", &admin)
        .await
        .expect(200)
        .to_string();
    assert!(alerts.contains("billing.forged_payment"), "{alerts}");

    // A payment for a tenant deleted after its invoice was made: recorded, flagged, refunded
    // by the admin through Telegram.
    app.delete(&format!("/api/v1/tenants/{gone}"), &admin)
        .await
        .expect(204);
    let before = stored(&app);
    let (orphan, orphan_charge) = world.stars_payment(&deniz, &gone_payload, 250, false, None);
    dc.push(&orphan);
    handled(&app, before, 1).await;
    let report = app
        .get("/api/v1/billing/report", &admin)
        .await
        .expect(200)
        .clone();
    let flagged = report["flagged"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{report}");
    assert_eq!(
        (
            &flagged[0]["tenant_id"],
            &flagged[0]["charge_id"],
            &flagged[0]["refunded_at"]
        ),
        (&json!(gone), &json!(orphan_charge), &Value::Null)
    );
    assert!(report["revenue"].as_array().unwrap().is_empty(), "{report}");
    let alerts = app
        .get("/api/v1/alerts", &admin)
        .await
        .expect(200)
        .to_string();
    assert!(
        alerts.contains("billing.payment_for_deleted_tenant"),
        "{alerts}"
    );
    let id = flagged[0]["payment_id"].as_u64().unwrap();
    app.post(
        &format!("/api/v1/billing/payments/{id}/refund"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        world.stars.refund_calls(),
        vec![(555_002, 555_002 * 7, orphan_charge.clone())]
    );
    app.post(
        &format!("/api/v1/billing/payments/{id}/refund"),
        &admin,
        json!({}),
    )
    .await
    .expect_err(409, "billing.refunded");
    // The tenant still here was never credited by any of it.
    assert_eq!(
        subscription(&app, &owner.access, tenant).await["payments"],
        json!([])
    );
    app.stop().await.unwrap();
}
