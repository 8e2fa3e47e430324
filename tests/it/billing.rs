//! Billing through the API: plan prices, a trial that lapses into past due and suspension on
//! time (the renewal pass run by an admin, as the server runs it each minute), a bank transfer
//! that brings the tenant back, and what is refused without changing anything.

use serde_json::{Value, json};

use crate::common::{self, App};

const DAY: i64 = 86_400;

/// The tenant as the API shows it to an admin.
async fn tenant_row(app: &App, admin: &str, tenant: u64) -> serde_json::Value {
    app.get(&format!("/api/v1/tenants/{tenant}"), admin)
        .await
        .expect(200)
        .clone()
}

/// A plan with a price and a 7-day trial, offered to tenants: its id.
pub async fn priced_plan(app: &App, admin: &str) -> u64 {
    let plan = app
        .post(
            "/api/v1/plans",
            admin,
            json!({"name": "Esnaf", "limits": common::limits()}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let p = app
        .put(
            &format!("/api/v1/plans/{plan}/price"),
            admin,
            json!({"stars": 250, "minor": 49900, "currency": "try", "trial_days": 7, "offered": true}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!((&p["stars"], &p["currency"]), (&json!(250), &json!("TRY")));
    plan
}

#[tokio::test]
async fn a_plan_price_is_checked_and_only_admins_set_it() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let plan = priced_plan(&app, &admin).await;
    let (_, _, owner) = app
        .tenant_with_owner(&admin, "Fiyat", "fiyat@example.com")
        .await;
    app.put(
        &format!("/api/v1/plans/{plan}/price"),
        &owner.access,
        json!({"stars": 1}),
    )
    .await
    .expect_err(403, "auth.admin_required");
    for (bad, field) in [
        (json!({"stars": 2_000_000}), "stars"),
        (json!({"stars": 10, "minor": 100}), "currency"),
        (
            json!({"stars": 10, "minor": 100, "currency": "TL!"}),
            "currency",
        ),
        (json!({"stars": 10, "trial_days": 91}), "trial_days"),
    ] {
        let r = app
            .put(&format!("/api/v1/plans/{plan}/price"), &admin, bad)
            .await;
        r.expect_err(422, "billing.invalid");
        assert_eq!(r.json["error"]["field"], field, "{}", r.text);
    }
    app.put("/api/v1/plans/999/price", &admin, json!({"stars": 1}))
        .await
        .expect_err(404, "resource.not_found");
    // Nothing changed.
    let p = app
        .get(&format!("/api/v1/plans/{plan}/price"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!((&p["stars"], &p["trial_days"]), (&json!(250), &json!(7)));
    app.stop().await.unwrap();
}

/// Fresh tokens for the admin and Ayşe, the owner.
async fn signed_in(app: &App) -> (String, common::Pair) {
    (
        app.admin().await.access,
        app.login("ayse@example.com", common::PASSWORD).await,
    )
}

#[tokio::test]
async fn a_trial_lapses_on_time_and_a_transfer_brings_the_tenant_back() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let plan = priced_plan(&app, &admin).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Çiçekçi Ayşe", "ayse@example.com")
        .await;
    let sub = format!("/api/v1/tenants/{tenant}/subscription");
    let none = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(none["subscription"], json!(null));
    // Nothing to cancel or change yet: the tenant is there, its subscription is not.
    app.post(&format!("{sub}/cancel"), &owner.access, json!({}))
        .await
        .expect_err(409, "billing.no_subscription");
    app.post(
        &format!("{sub}/plan"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect_err(409, "billing.no_subscription");

    // The owner starts the trial; the tenant is on the plan from then on.
    let s = app
        .post(
            &format!("{sub}/trial"),
            &owner.access,
            json!({"plan_id": plan}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(s["state"], "trialing");
    let t = tenant_row(&app, &admin, tenant).await;
    assert_eq!(t["plan_id"], plan);
    // Once per tenant.
    app.post(
        &format!("{sub}/trial"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect_err(409, "billing.trial_used");

    // Nothing is due yet.
    let renew = "/api/v1/billing/renewals";
    let pass = app.post(renew, &admin, json!({})).await.expect(200).clone();
    assert_eq!(pass, json!({"steps": 0, "suspended": 0, "deleted": 0}));
    app.post(renew, &owner.access, json!({}))
        .await
        .expect_err(403, "auth.admin_required");

    // Day 7: past due (everything still works); day 10: suspended.
    app.clock.advance(7 * DAY);
    // (Tokens expire as the clock moves: sign in again.)
    let (admin, owner) = signed_in(&app).await;
    let pass = app.post(renew, &admin, json!({})).await.expect(200).clone();
    assert_eq!(pass, json!({"steps": 1, "suspended": 0, "deleted": 0}));
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(s["subscription"]["state"], "past_due");
    assert!(s["subscription"]["grace_until"].is_string());
    app.clock.advance(3 * DAY);
    let (admin, owner) = signed_in(&app).await;
    let pass = app.post(renew, &admin, json!({})).await.expect(200).clone();
    assert_eq!(pass, json!({"steps": 1, "suspended": 1, "deleted": 0}));
    // Run again: nothing more (a restart's pass does the same).
    let pass = app.post(renew, &admin, json!({})).await.expect(200).clone();
    assert_eq!(pass, json!({"steps": 0, "suspended": 0, "deleted": 0}));
    let t = tenant_row(&app, &admin, tenant).await;
    assert_eq!(t["status"], "suspended");
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    let reasons: Vec<&str> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["grace_ended", "trial_ended", "trial_started"]);
    // The people of a suspended tenant still read their subscription.
    assert_eq!(s["subscription"]["state"], "suspended");

    // A bank transfer: only admins record it, each reference once, with a real date.
    let pay = format!("/api/v1/tenants/{tenant}/payments");
    let transfer = json!({"amount": 49900, "currency": "TRY", "paid_on": "2026-12-04",
                          "reference": "EFT-0001"});
    app.post(&pay, &owner.access, transfer.clone())
        .await
        .expect_err(403, "auth.admin_required");
    let mut bad = transfer.clone();
    bad["paid_on"] = json!("04.12.2026");
    app.post(&pay, &admin, bad)
        .await
        .expect_err(422, "validation.invalid");
    let mut bad = transfer.clone();
    bad["amount"] = json!(0);
    app.post(&pay, &admin, bad)
        .await
        .expect_err(422, "billing.invalid");
    let now = botyard::clock::Clock::now(&*app.clock);
    let r = app
        .post(&pay, &admin, transfer.clone())
        .await
        .expect(201)
        .clone();
    assert_eq!(r["subscription"]["state"], "active");
    let end = jiff::Timestamp::from_second(now + 30 * DAY)
        .unwrap()
        .to_string();
    assert_eq!(r["subscription"]["period_end"], end);
    app.post(&pay, &admin, transfer)
        .await
        .expect_err(409, "billing.payment_recorded");
    // Its invoice: the first number of the year, 20 % KDV inside the total.
    let year = jiff::Timestamp::from_second(now)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year();
    assert_eq!(r["invoice_number"], format!("{year}-000001"));
    let inv = app
        .get(&format!("/api/v1/tenants/{tenant}/invoices"), &owner.access)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        inv.as_array().unwrap().len(),
        1,
        "the refused duplicate issued nothing"
    );
    let i = &inv[0];
    assert_eq!(
        (
            &i["net"],
            &i["tax"],
            &i["total"],
            &i["tax_rate_bp"],
            &i["buyer"],
            &i["reference"]
        ),
        (
            &json!(41_583),
            &json!(8_317),
            &json!(49_900),
            &json!(2000),
            &json!("Çiçekçi Ayşe"),
            &json!("EFT-0001")
        )
    );
    let t = tenant_row(&app, &admin, tenant).await;
    assert_eq!(t["status"], "active", "paid, the tenant works again");
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    let p = &s["payments"][0];
    assert_eq!(
        (&p["provider"], &p["amount"], &p["reference"], &p["days"]),
        (
            &json!("manual"),
            &json!(49900),
            &json!("EFT-0001"),
            &json!(30)
        )
    );

    // Cancelled, it ends with the period it paid for; taken back, it does not.
    app.post(&format!("{sub}/cancel"), &owner.access, json!({}))
        .await
        .expect(200);
    app.post(&format!("{sub}/resume"), &owner.access, json!({}))
        .await
        .expect(200);
    app.post(&format!("{sub}/resume"), &owner.access, json!({}))
        .await
        .expect_err(409, "billing.state");
    let s = app
        .post(&format!("{sub}/cancel"), &owner.access, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(s["cancel_at_period_end"], true);
    app.clock.advance(30 * DAY);
    let (admin, owner) = signed_in(&app).await;
    let pass = app.post(renew, &admin, json!({})).await.expect(200).clone();
    // (A cancelled tenant is suspended too: its workers stop, its data is kept.)
    assert_eq!(pass, json!({"steps": 1, "suspended": 1, "deleted": 0}));
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(s["subscription"]["state"], "cancelled");
    assert_eq!(
        tenant_row(&app, &admin, tenant).await["status"],
        "suspended"
    );
    // Paying again brings it back.
    app.post(
        &format!("/api/v1/tenants/{tenant}/payments"),
        &admin,
        json!({"amount": 49900, "currency": "TRY", "paid_on": "2026-12-04", "reference": "EFT-0002"}),
    )
    .await
    .expect(201);
    assert_eq!(tenant_row(&app, &admin, tenant).await["status"], "active");
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(s["subscription"]["state"], "active");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_due_subscription_moves_once_across_a_restart() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let plan = priced_plan(&app, &admin).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Yeniden", "yeniden@example.com")
        .await;
    let sub = format!("/api/v1/tenants/{tenant}/subscription");
    app.post(
        &format!("{sub}/trial"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect(201);
    // The server is down when the trial ends; at start its renewal job finds it due once.
    let later = botyard::clock::Clock::now(&*app.clock) + 8 * DAY;
    let app = app.restart_at(later).await;
    let admin = app.admin().await.access;
    let owner = app.login("yeniden@example.com", common::PASSWORD).await;
    // Whether the start-up pass or this one took the step, it was taken once.
    app.post("/api/v1/billing/renewals", &admin, json!({}))
        .await
        .expect(200);
    app.post("/api/v1/billing/renewals", &admin, json!({}))
        .await
        .expect(200);
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(s["subscription"]["state"], "past_due");
    let reasons: Vec<&str> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["trial_ended", "trial_started"]);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_subscription_screen_starts_a_trial_and_an_admin_records_a_transfer() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    priced_plan(&app, &admin).await;
    let (tenant, _, _) = app
        .tenant_with_owner(&admin, "Ekran", "ekran@example.com")
        .await;
    let screen = format!("/console/tenants/{tenant}/subscription");
    let mut owner = crate::console::Browser::new(&app);
    owner.sign_in("ekran@example.com", common::PASSWORD).await;
    let page = owner.get(&screen).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("no subscription"), "{}", page.text);
    assert!(page.text.contains("Esnaf · 7 days free"), "{}", page.text);
    // An owner does not see the transfer form.
    assert!(!page.text.contains("Record a bank transfer"));
    let csrf = page.csrf();
    let plan = page
        .text
        .split(r#"<option value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let r = owner
        .post(
            &format!("{screen}/trial"),
            &[("_csrf", &csrf), ("plan_id", &plan)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), format!("{screen}?done=trial"));
    let page = owner.get(r.location()).await;
    assert!(page.text.contains("free trial"), "{}", page.text);
    assert!(page.text.contains("Free trial started"));
    // The owner may not record money.
    let r = owner
        .post(
            &format!("/console/tenants/{tenant}/payments"),
            &[
                ("_csrf", &csrf),
                ("amount", "499,90"),
                ("currency", "TRY"),
                ("paid_on", "2026-12-04"),
                ("reference", "EFT-1"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    let mut a = crate::console::Browser::new(&app);
    a.sign_in(common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    let page = a.get(&screen).await;
    assert!(page.text.contains("Record a bank transfer"));
    let csrf = page.csrf();
    let form = |amount: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("amount", amount.to_string()),
            ("currency", "try".to_string()),
            ("paid_on", "2026-12-04".to_string()),
            ("reference", "EFT-2026-1".to_string()),
        ]
    };
    let send = |f: &Vec<(&'static str, String)>| {
        f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let bad = send(&form("dört yüz"));
    let refs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = a
        .post(&format!("/console/tenants/{tenant}/payments"), &refs)
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let good = send(&form("1.499,90"));
    let refs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = a
        .post(&format!("/console/tenants/{tenant}/payments"), &refs)
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = a.get(r.location()).await;
    assert!(page.text.contains("1,499.90 TRY"), "{}", page.text);
    assert!(page.text.contains("EFT-2026-1"));
    assert!(page.text.contains("Payment received"));
    // Twice is refused and changes nothing.
    let r = a
        .post(&format!("/console/tenants/{tenant}/payments"), &refs)
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    let s = app
        .get(&format!("/api/v1/tenants/{tenant}/subscription"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(s["payments"].as_array().unwrap().len(), 1);
    assert_eq!(s["payments"][0]["amount"], 149_990);
    // The first invoice of this appliance.
    let inv = app
        .get(&format!("/api/v1/tenants/{tenant}/invoices"), &admin)
        .await
        .expect(200)
        .clone();
    assert!(inv[0]["number"].as_str().unwrap().ends_with("-000001"));
    assert_eq!(s["subscription"]["state"], "active");

    // The owner's screen lists the invoice with its PDF, and saves billing details.
    let page = owner.get(&screen).await;
    let pdf_link = format!("/console/tenants/{tenant}/invoices/{}/pdf", inv[0]["id"]);
    assert!(page.text.contains(&pdf_link), "{}", page.text);
    let pdf = owner.get(&pdf_link).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.text.starts_with("%PDF-"));
    let csrf = page.csrf();
    let r = owner
        .post(
            &format!("/console/tenants/{tenant}/billing-profile"),
            &[
                ("_csrf", &csrf),
                ("legal_name", "Ekran Ltd."),
                ("tax_number", "12"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = owner
        .post(
            &format!("/console/tenants/{tenant}/billing-profile"),
            &[
                ("_csrf", &csrf),
                ("legal_name", "Ekran Ltd."),
                ("tax_office", "Moda"),
                ("tax_number", "1234567890"),
                ("address", "Moda Cad. 1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = owner.get(r.location()).await;
    assert!(page.text.contains("Billing details saved"), "{}", page.text);
    assert!(
        page.text.contains(r#"value="Ekran Ltd.""#),
        "{}",
        page.text.split("bp-name").nth(2).unwrap_or(&page.text)
    );
    // Only an admin sees the refund button, and the reseller's billing screen.
    assert!(!page.text.contains("/refund"));
    assert_eq!(owner.get("/console/billing").await.status, 404);

    // The reseller's billing screen: the transfer in this month's revenue; a price saved.
    let books = a.get("/console/billing").await;
    assert_eq!(books.status, 200);
    assert!(books.text.contains("1,499.90 TRY"), "{}", books.text);
    assert!(books.text.contains("Esnaf"));
    let csrf = books.csrf();
    let r = a
        .post(
            &format!("/console/billing/prices/{plan}"),
            &[
                ("_csrf", &csrf),
                ("stars", "400"),
                ("manual", "599,90"),
                ("currency", "TRY"),
                ("trial_days", "14"),
                ("offered", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let p = app
        .get(&format!("/api/v1/plans/{plan}/price"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (&p["stars"], &p["minor"], &p["trial_days"]),
        (&json!(400), &json!(59_990), &json!(14))
    );
    let r = a
        .post(
            &format!("/console/billing/prices/{plan}"),
            &[("_csrf", &csrf), ("stars", "-1")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = a
        .post(
            "/console/billing/seller",
            &[
                ("_csrf", &csrf),
                ("legal_name", "Yıldız Yazılım A.Ş."),
                ("tax_number", "9876543210"),
                ("tax_office", "Göztepe"),
                ("address", "Bağdat Cad. 100"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/billing/seller", &admin).await.expect(200)["legal_name"],
        "Yıldız Yazılım A.Ş."
    );
    // The admin refunds the transfer from the tenant's screen: a credit note.
    let page = a.get(&screen).await;
    let payment = s["payments"][0]["id"].as_u64().unwrap();
    let refund = format!("/console/tenants/{tenant}/payments/{payment}/refund");
    assert!(page.text.contains(&refund), "{}", page.text);
    let r = a.post(&refund, &[("_csrf", &page.csrf())]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = a.get(r.location()).await;
    assert!(page.text.contains("Payment refunded"), "{}", page.text);
    assert!(page.text.contains("CN-"), "{}", page.text);
    app.stop().await.unwrap();
}

/// A priced plan named `name` at `stars`, with `templates` templates allowed: its id.
pub(crate) async fn plan_at(app: &App, admin: &str, name: &str, stars: u32, templates: u32) -> u64 {
    let mut limits = common::limits();
    limits["templates"] = json!(templates);
    let plan = app
        .post(
            "/api/v1/plans",
            admin,
            json!({"name": name, "limits": limits}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    app.put(
        &format!("/api/v1/plans/{plan}/price"),
        admin,
        json!({"stars": stars, "offered": true}),
    )
    .await
    .expect(200);
    plan
}

#[tokio::test]
async fn plans_change_at_once_in_a_trial_at_the_period_end_downward_and_after_payment_upward() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let esnaf = priced_plan(&app, &admin).await;
    let small = plan_at(&app, &admin, "Küçük", 100, 1).await;
    let big = plan_at(&app, &admin, "Büyük", 900, 50).await;
    let premium = plan_at(&app, &admin, "Premium", 1800, 50).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Değişen", "degisen@example.com")
        .await;
    let sub = format!("/api/v1/tenants/{tenant}/subscription");
    let change = |plan: u64| json!({"plan_id": plan});
    // No subscription yet: nothing to change (the tenant is there: a conflict, not a 404).
    app.post(&format!("{sub}/plan"), &owner.access, change(big))
        .await
        .expect_err(409, "billing.no_subscription");
    app.post(&format!("{sub}/trial"), &owner.access, change(esnaf))
        .await
        .expect(201);
    // In the trial: at once.
    let c = app
        .post(&format!("{sub}/plan"), &owner.access, change(big))
        .await
        .expect(200)
        .clone();
    assert_eq!(c["change"], "switched");
    let t = tenant_row(&app, &admin, tenant).await;
    assert_eq!(t["plan_id"], big);
    app.post(&format!("{sub}/plan"), &owner.access, change(big))
        .await
        .expect_err(409, "billing.state");
    // Paid: active on the big plan at its price.
    app.post(
        &format!("/api/v1/tenants/{tenant}/payments"),
        &admin,
        json!({"amount": 90000, "currency": "TRY", "paid_on": "2026-12-04", "reference": "A1"}),
    )
    .await
    .expect(201);
    for name in ["Bir", "İki"] {
        app.post(
            &format!("/api/v1/tenants/{tenant}/templates"),
            &owner.access,
            json!({"name": name, "body": "metin"}),
        )
        .await
        .expect(201);
    }
    // Cheaper: at the period's end, with what it would cut; nothing changes before.
    let c = app
        .post(&format!("{sub}/plan"), &owner.access, change(small))
        .await
        .expect(200)
        .clone();
    assert_eq!(c["change"], "scheduled");
    assert_eq!(
        c["cuts"],
        json!([{"what": "templates", "has": 2, "allows": 1}]),
        "{c}"
    );
    let s = app.get(&sub, &owner.access).await.expect(200).clone();
    assert_eq!(
        (
            &s["subscription"]["plan_id"],
            &s["subscription"]["next_plan_id"]
        ),
        (&json!(big), &json!(small))
    );
    assert_eq!(c["at"], s["subscription"]["period_end"]);
    // Dearer: quoted, the unused period credited (all of it, just paid).
    let c = app
        .post(&format!("{sub}/plan"), &owner.access, change(premium))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (&c["change"], &c["credit"], &c["charge"]),
        (&json!("payment_required"), &json!(900), &json!(900))
    );
    // The renewal pays for the smaller plan, which applies then; its invoice is the next
    // number.
    let r = app
        .post(
            &format!("/api/v1/tenants/{tenant}/payments"),
            &admin,
            json!({"amount": 10000, "currency": "TRY", "paid_on": "2026-12-05", "reference": "A2"}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (
            &r["subscription"]["plan_id"],
            &r["subscription"]["next_plan_id"],
            &r["subscription"]["stars"]
        ),
        (&json!(small), &json!(null), &json!(100))
    );
    let t = tenant_row(&app, &admin, tenant).await;
    assert_eq!(t["plan_id"], small);
    let inv = app
        .get(&format!("/api/v1/tenants/{tenant}/invoices"), &admin)
        .await
        .expect(200)
        .clone();
    let numbers: Vec<&str> = inv
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap().split('-').nth(1).unwrap())
        .collect();
    assert_eq!(numbers, ["000001", "000002"]);
    assert!(
        inv[1]["lines"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Küçük")
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_transfer_gets_an_invoice_pdf_with_vat_and_its_refund_a_credit_note() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let plan = priced_plan(&app, &admin).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Moda Kahve", "moda@example.com")
        .await;
    let owner = owner.access;
    let profile = format!("/api/v1/tenants/{tenant}/billing-profile");
    // The billing profile: checked, and a refusal changes nothing.
    assert_eq!(
        app.get(&profile, &owner).await.expect(200)["legal_name"],
        ""
    );
    for (bad, field) in [
        (json!({"tax_number": "12345"}), "tax_number"),
        (json!({"tax_number": "12345678901x"}), "tax_number"),
        (json!({"email": "not-an-address"}), "email"),
        (json!({"legal_name": "x".repeat(201)}), "legal_name"),
    ] {
        let r = app.put(&profile, &owner, bad).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.json["error"]["field"], field, "{}", r.text);
    }
    app.put(
        &profile,
        &owner,
        json!({"legal_name": "Moda Kahve Gıda Ltd.", "tax_number": "1111111111"}),
    )
    .await
    .expect(200);
    app.put(
        "/api/v1/billing/seller",
        &owner,
        json!({"legal_name": "Yıldız"}),
    )
    .await
    .expect_err(403, "auth.admin_required");
    app.put(
        "/api/v1/billing/seller",
        &admin,
        json!({"legal_name": "Yıldız Yazılım A.Ş.", "tax_number": "98"}),
    )
    .await
    .expect_err(422, "appliance.seller");
    app.put(
        "/api/v1/billing/seller",
        &admin,
        json!({"legal_name": "Yıldız Yazılım A.Ş.", "address": "Bağdat Cad. 100", "tax_office": "Göztepe", "tax_number": "9876543210"}),
    )
    .await
    .expect(200);

    // A transfer of 499.00 TRY: an English invoice with 20 % VAT split out.
    let paid = app
        .post(
            &format!("/api/v1/tenants/{tenant}/payments"),
            &admin,
            json!({"amount": 49900, "currency": "TRY", "paid_on": "2026-12-01",
                   "reference": "EFT-0001", "plan_id": plan}),
        )
        .await
        .expect(201)
        .clone();
    let list = app
        .get(&format!("/api/v1/tenants/{tenant}/invoices"), &owner)
        .await
        .expect(200)
        .clone();
    let inv = &list[0];
    assert_eq!(
        (&inv["net"], &inv["tax"], &inv["total"], &inv["buyer"]),
        (
            &json!(41_583),
            &json!(8_317),
            &json!(49_900),
            &json!("Moda Kahve Gıda Ltd.")
        )
    );
    let pdf = |id: u64| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let r = app
                .client
                .get(app.url(&format!("/api/v1/tenants/{tenant}/invoices/{id}/pdf")))
                .bearer_auth(&owner)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let cd = r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_string();
            (cd, r.bytes().await.unwrap().to_vec())
        }
    };
    let (cd, bytes) = pdf(inv["id"].as_u64().unwrap()).await;
    let number = inv["number"].as_str().unwrap();
    assert_eq!(cd, format!("attachment; filename=\"{number}.pdf\""));
    if let Some(text) = common::pdf_text(&bytes, "transfer-invoice") {
        for want in [
            "INVOICE",
            number,
            "Yıldız Yazılım A.Ş.",
            "Tax office: Göztepe",
            "Moda Kahve Gıda Ltd.",
            "Tax number: 1111111111",
            "499.00 TRY",
            "415.83 TRY",
            "VAT 20%",
            "83.17 TRY",
            "EFT-0001",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
    }

    // Given back (the admin sends the money by bank): a credit note for the whole invoice.
    let payment = paid["payment_id"].as_u64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/tenants/{tenant}/payments/{payment}/refund"),
            &admin,
            json!({}),
        )
        .await
        .expect(200)
        .clone();
    let note_number = r["credit_note"].as_str().unwrap().to_string();
    assert!(note_number.starts_with("CN-"), "{r}");
    let list = app
        .get(&format!("/api/v1/tenants/{tenant}/invoices"), &owner)
        .await
        .expect(200)
        .clone();
    let note = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == note_number.as_str())
        .unwrap()
        .clone();
    let (_, bytes) = pdf(note["id"].as_u64().unwrap()).await;
    if let Some(text) = common::pdf_text(&bytes, "credit-note") {
        for want in [
            "CREDIT NOTE",
            note_number.as_str(),
            "Corrects invoice",
            number,
            "499.00 TRY",
            "Payment reference: EFT-0001",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
    }
    // Another tenant's owner cannot read it.
    let (_, _, other) = app
        .tenant_with_owner(&admin, "Başka", "baska@example.com")
        .await;
    let r = app
        .client
        .get(app.url(&format!(
            "/api/v1/tenants/{tenant}/invoices/{}/pdf",
            note["id"]
        )))
        .bearer_auth(&other.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The year's books list both.
    let books = app
        .get("/api/v1/billing/invoices?year=2026", &admin)
        .await
        .expect(200)
        .clone();
    let kinds: Vec<&str> = books
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["credit_note", "invoice"]);
    app.get("/api/v1/billing/invoices?year=1999", &admin)
        .await
        .expect_err(422, "validation.invalid");
}

#[tokio::test]
async fn a_cancelled_tenant_is_suspended_then_deleted_after_its_retention() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let plan = priced_plan(&app, &admin).await;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Giden", "giden@example.com")
        .await;
    app.post(
        &format!("/api/v1/tenants/{tenant}/subscription/trial"),
        &owner.access,
        json!({"plan_id": plan}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tenants/{tenant}/subscription/cancel"),
        &owner.access,
        json!({}),
    )
    .await
    .expect(200);
    let media = app.data_dir().join("media").join(tenant.to_string());
    std::fs::create_dir_all(&media).unwrap();
    std::fs::write(media.join("kept.png"), b"x").unwrap();
    // The trial's 7 days end: cancelled, and suspended (its workers stop), its data kept.
    app.clock.advance(7 * DAY + 60);
    let admin = app.admin().await.access;
    let pass = app
        .post("/api/v1/billing/renewals", &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (&pass["steps"], &pass["suspended"], &pass["deleted"]),
        (&json!(1), &json!(1), &json!(0))
    );
    assert_eq!(
        tenant_row(&app, &admin, tenant).await["status"],
        "suspended"
    );
    let s = app
        .get(&format!("/api/v1/tenants/{tenant}/subscription"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(s["subscription"]["state"], "cancelled");
    // A day before the retention (30 days) ends nothing is deleted … (a payment would bring
    // it back: see the transfer below for another tenant)
    app.clock.advance(29 * DAY);
    let admin = app.admin().await.access;
    let pass = app
        .post("/api/v1/billing/renewals", &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(pass["deleted"], 0);
    assert!(media.join("kept.png").exists());
    // … then the tenant goes with its data and files, once.
    app.clock.advance(DAY);
    let admin = app.admin().await.access;
    let pass = app
        .post("/api/v1/billing/renewals", &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(pass["deleted"], 1, "{pass}");
    app.get(&format!("/api/v1/tenants/{tenant}"), &admin)
        .await
        .expect_err(404, "resource.not_found");
    assert!(!media.exists());
    let pass = app
        .post("/api/v1/billing/renewals", &admin, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!((&pass["steps"], &pass["deleted"]), (&json!(0), &json!(0)));
    let audit = app
        .get("/api/v1/audit", &admin)
        .await
        .expect(200)
        .to_string();
    assert!(audit.contains("tenant.deleted"), "{audit}");
}

#[tokio::test]
async fn the_subscription_screen_changes_plan_smaller_at_the_period_end_larger_after_payment() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let small = plan_at(&app, &admin, "Küçük", 100, 5).await;
    let big = plan_at(&app, &admin, "Büyük", 900, 50).await;
    let mid = plan_at(&app, &admin, "Orta", 300, 20).await;
    let (tenant, _, _) = app
        .tenant_with_owner(&admin, "Pazar", "pazar@example.com")
        .await;
    app.patch(
        &format!("/api/v1/tenants/{tenant}"),
        &admin,
        json!({"plan_id": mid}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tenants/{tenant}/payments"),
        &admin,
        json!({"amount": 29900, "currency": "TRY", "paid_on": "2026-12-04", "reference": "EFT-P1"}),
    )
    .await
    .expect(201);
    let screen = format!("/console/tenants/{tenant}/subscription");
    let mut owner = crate::console::Browser::new(&app);
    owner.sign_in("pazar@example.com", common::PASSWORD).await;
    let page = owner.get(&screen).await;
    // The two other offered plans, not the current one.
    assert!(
        page.text
            .contains(&format!(r#"<option value="{small}">Küçük</option>"#)),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!(r#"<option value="{big}">Büyük</option>"#))
    );
    assert!(!page.text.contains(&format!(r#"<option value="{mid}">"#)));
    let csrf = page.csrf();
    // Larger: paid first; nothing changes yet.
    let r = owner
        .post(
            &format!("{screen}/plan"),
            &[("_csrf", &csrf), ("plan_id", &big.to_string())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = owner.get(r.location()).await;
    assert!(
        page.text.contains("A larger plan starts once it is paid"),
        "{}",
        page.text
    );
    let s = app
        .get(&format!("/api/v1/tenants/{tenant}/subscription"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            &s["subscription"]["plan_id"],
            &s["subscription"]["next_plan_id"]
        ),
        (&json!(mid), &Value::Null)
    );
    // Smaller: at the period's end.
    let r = owner
        .post(
            &format!("{screen}/plan"),
            &[("_csrf", &csrf), ("plan_id", &small.to_string())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = owner.get(r.location()).await;
    assert!(
        page.text
            .contains("The smaller plan starts when this period ends"),
        "{}",
        page.text
    );
    let s = app
        .get(&format!("/api/v1/tenants/{tenant}/subscription"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            &s["subscription"]["plan_id"],
            &s["subscription"]["next_plan_id"]
        ),
        (&json!(mid), &json!(small))
    );
    // A plan that is not offered, or junk, is refused and changes nothing.
    let r = owner
        .post(
            &format!("{screen}/plan"),
            &[("_csrf", &csrf), ("plan_id", "x")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    app.stop().await.unwrap();
}
