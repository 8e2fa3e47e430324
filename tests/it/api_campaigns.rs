//! Campaigns through the API on the simulated Telegram: runs post once to each target within
//! the pacing limits, flood waits and revoked sessions are handled, the scheduler follows the
//! tenant's clock and zone, and a run missed while the server was down runs once or is
//! recorded as skipped.

use crate::common;

use std::time::Duration;

use common::{App, SimTenant};
use serde_json::{Value, json};

fn limits() -> Value {
    let mut l = common::limits();
    l["groups"] = json!(50);
    l["campaigns"] = json!(10);
    l["sends_per_day"] = json!(1000);
    l
}

fn sim(seed: u64, groups: u32, failures: Value) -> Value {
    json!({"seed": seed, "groups": groups, "events_per_sec": 2.0, "failures": failures})
}

/// Enables every group for automation, tagging them; returns their chat ids, largest first.
async fn enable_all(app: &App, t: &SimTenant, tag: &str) -> Vec<i64> {
    let base = format!("/api/v1/tenants/{}/groups", t.tenant);
    let list = app.get(&base, &t.owner).await.expect(200).clone();
    let mut ids = Vec::new();
    for g in list.as_array().unwrap() {
        let id = g["chat_id"].as_i64().unwrap();
        app.patch(
            &format!("{base}/{id}"),
            &t.owner,
            json!({"enabled": true, "tags": [tag]}),
        )
        .await
        .expect(200);
        ids.push(id);
    }
    ids
}

async fn template(app: &App, t: &SimTenant, body: &str) -> u64 {
    app.post(
        &format!("/api/v1/tenants/{}/templates", t.tenant),
        &t.owner,
        json!({"name": "Duyuru", "body": body}),
    )
    .await
    .expect(201)["id"]
        .as_u64()
        .unwrap()
}

async fn campaign(app: &App, t: &SimTenant, body: Value) -> u64 {
    app.post(
        &format!("/api/v1/tenants/{}/campaigns", t.tenant),
        &t.owner,
        body,
    )
    .await
    .expect(201)["id"]
        .as_u64()
        .unwrap()
}

/// Waits until the tenant's worker has stored `n` delivery results.
async fn settled(app: &App, tenant: u64, n: u64) {
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .expect("worker");
    tokio::time::timeout(
        Duration::from_secs(90),
        rx.wait_for(|s| s.deliveries_settled >= n),
    )
    .await
    .unwrap_or_else(|_| panic!("{n} deliveries not settled in time"))
    .expect("watch");
}

fn ms(at: &Value) -> i64 {
    at.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_posts_once_to_each_target_and_reports_it() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Moda", limits(), sim(11, 4, json!({})))
        .await;
    let groups = enable_all(&app, &t, "hepsi").await;
    // One group untagged and not named: not a target.
    let base_g = format!("/api/v1/tenants/{}/groups", t.tenant);
    app.patch(
        &format!("{base_g}/{}", groups[3]),
        &t.owner,
        json!({"tags": []}),
    )
    .await
    .expect(200);
    let tpl = template(&app, &t, "**{group.title}**: bugün %20 indirim").await;
    let c = campaign(
        &app,
        &t,
        json!({"name": "Cuma", "template_id": tpl, "chat_ids": [groups[0]], "tags": ["hepsi"],
               "session_id": t.session, "schedule": {"every_minutes": 60}, "delete_previous": true, "pin": true}),
    )
    .await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);

    let check = app
        .get(&format!("{base}/check"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(check["sendable"], 3, "{check}");
    assert_eq!(check["sender"], "bot");
    assert_eq!(check["eta_secs"], 1);

    let r = app
        .post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202)
        .clone();
    assert_eq!(
        (r["run"].as_u64(), r["posts"].as_u64(), r["status"].as_str()),
        (Some(1), Some(3), Some("started"))
    );
    settled(&app, t.tenant, 3).await;
    let run = app
        .get(&format!("{base}/runs/1"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            run["status"].as_str(),
            run["sent"].as_u64(),
            run["pending"].as_u64()
        ),
        (Some("done"), Some(3), Some(0))
    );
    let ds = run["deliveries"].as_array().unwrap();
    assert_eq!(ds.len(), 3);
    assert!(
        ds.iter()
            .all(|d| d["state"] == "sent" && d["message_id"].as_i64().unwrap() > 0),
        "{run}"
    );
    let mut targets: Vec<i64> = ds.iter().map(|d| d["chat_id"].as_i64().unwrap()).collect();
    targets.sort();
    let mut want = groups[..3].to_vec();
    want.sort();
    assert_eq!(targets, want);

    // A second run: the same targets, new messages (the previous ones deleted first).
    app.post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202);
    settled(&app, t.tenant, 6).await;
    let run2 = app
        .get(&format!("{base}/runs/2"), &t.owner)
        .await
        .expect(200)
        .clone();
    for d in run2["deliveries"].as_array().unwrap() {
        let first = ds.iter().find(|x| x["chat_id"] == d["chat_id"]).unwrap();
        assert_ne!(d["message_id"], first["message_id"], "a new post");
    }
    let rep = app
        .get(&format!("{base}/report"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            rep["runs"].as_u64(),
            rep["sent"].as_u64(),
            rep["failed"].as_u64()
        ),
        (Some(2), Some(6), Some(0))
    );
    assert_eq!(rep["by_group"][groups[0].to_string()]["sent"], 2);

    // The statistics count the same posts, per campaign, group and day.
    let st = app
        .get(
            &format!("/api/v1/tenants/{}/stats/campaigns?campaign={c}", t.tenant),
            &t.owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (st["sent"].as_u64(), st["failed"].as_u64()),
        (Some(6), Some(0)),
        "{st}"
    );
    assert_eq!(st["by_campaign"][0]["sent"], 6);
    let by_group: Vec<u64> = st["by_group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["sent"].as_u64().unwrap())
        .collect();
    assert_eq!(by_group, vec![2, 2, 2]);
    let days: u64 = st["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(days, 6);
    let csv = app
        .get(
            &format!(
                "/api/v1/tenants/{}/stats/campaigns?campaign={c}&format=csv",
                t.tenant
            ),
            &t.owner,
        )
        .await;
    let mut lines = csv.text.lines();
    assert_eq!(lines.next(), Some("table,key,name,sent,failed,skipped"));
    assert_eq!(lines.next(), Some("total,,,6,0,0"));
    assert!(
        csv.text.contains(&format!("\ncampaign,{c},Cuma,6,0,0\n")),
        "{}",
        csv.text
    );
    app.get(
        &format!("/api/v1/tenants/{}/stats/campaigns?campaign=999", t.tenant),
        &t.owner,
    )
    .await
    .expect_err(404, "resource.not_found");

    // The server's metrics count the posts.
    let m = common::send(app.client.get(app.url("/metrics"))).await.text;
    assert!(
        m.contains(&format!(
            "botyard_worker_posts_settled_total{{tenant=\"{}\"}} 6",
            t.tenant
        )),
        "{m}"
    );
    assert!(m.contains("botyard_campaign_timers "), "{m}");

    // A template in use cannot be deleted; a duplicate is a draft.
    app.delete(
        &format!("/api/v1/tenants/{}/templates/{tpl}", t.tenant),
        &t.owner,
    )
    .await
    .expect_err(409, "template.in_use");
    let dup = app
        .post(&format!("{base}/duplicate"), &t.owner, json!({}))
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (
            dup["state"].as_str(),
            dup["name"].as_str(),
            dup["runs"].as_u64()
        ),
        (Some("draft"), Some("Cuma (copy)"), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_keep_telegrams_bot_limits_across_campaigns() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Hızlı", limits(), sim(12, 4, json!({})))
        .await;
    let groups = enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "Merhaba {group.title}").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            campaign(
                &app,
                &t,
                json!({"name": format!("K{i}"), "template_id": tpl, "tags": ["x"], "session_id": t.session,
                       "schedule": {"cron": "0 12 * * *"}}),
            )
            .await,
        );
    }
    for c in &ids {
        app.post(
            &format!("/api/v1/tenants/{}/campaigns/{c}/run", t.tenant),
            &t.owner,
            json!({}),
        )
        .await
        .expect(202);
    }
    settled(&app, t.tenant, 20).await;
    // Every post's time, per chat.
    let mut posts: Vec<(i64, i64)> = Vec::new();
    for c in &ids {
        let run = app
            .get(
                &format!("/api/v1/tenants/{}/campaigns/{c}/runs/1", t.tenant),
                &t.owner,
            )
            .await
            .expect(200)
            .clone();
        for d in run["deliveries"].as_array().unwrap() {
            assert_eq!(d["state"], "sent", "{d}");
            posts.push((d["chat_id"].as_i64().unwrap(), ms(&d["at"])));
        }
    }
    assert_eq!(posts.len(), 20);
    posts.sort_by_key(|p| p.1);
    for g in &groups {
        let times: Vec<i64> = posts.iter().filter(|p| p.0 == *g).map(|p| p.1).collect();
        assert_eq!(times.len(), 5);
        for w in times.windows(2) {
            assert!(
                w[1] - w[0] >= 1_000,
                "chat {g}: posts {} ms apart",
                w[1] - w[0]
            );
        }
    }
    for (i, p) in posts.iter().enumerate() {
        let in_second = posts[i..].iter().take_while(|q| q.1 < p.1 + 1_000).count();
        assert!(in_second <= 30);
        if let Some(next) = posts.get(i + 1) {
            assert!(next.1 - p.1 >= 34, "posts {} ms apart", next.1 - p.1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_waits_are_waited_out_and_a_revoked_session_pauses_the_campaign() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    // Every third send answers FLOOD_WAIT 2 s.
    let t = app
        .sim_tenant(
            &admin,
            "Sel",
            limits(),
            sim(13, 5, json!({"flood_wait_every": 3, "flood_wait_secs": 2})),
        )
        .await;
    enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "Duyuru").await;
    let c = campaign(&app, &t, json!({"name": "Sel", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"every_minutes": 30}})).await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);
    app.post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202);
    settled(&app, t.tenant, 5).await;
    let run = app
        .get(&format!("{base}/runs/1"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(run["sent"], 5, "{run}");
    let mut times: Vec<i64> = run["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| ms(&d["at"]))
        .collect();
    times.sort();
    // The session is back online once the posts go through again.
    let sessions = app
        .get(&format!("/api/v1/tenants/{}/sessions", t.tenant), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(sessions[0]["state"], "online", "{sessions}");
    // Two flood waits of 2 s in five sends.
    assert!(times[4] - times[0] >= 4_000, "{times:?}");

    // A session revoked after two sends: the rest fail and the campaign pauses.
    let r = app
        .sim_tenant(
            &admin,
            "İptal",
            limits(),
            sim(14, 4, json!({"revoke_after_sends": 2})),
        )
        .await;
    enable_all(&app, &r, "x").await;
    let tpl = template(&app, &r, "Duyuru").await;
    let c = campaign(&app, &r, json!({"name": "İptal", "template_id": tpl, "tags": ["x"], "session_id": r.session, "schedule": {"every_minutes": 30}})).await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", r.tenant);
    app.post(&format!("{base}/activate"), &r.owner, json!({}))
        .await
        .expect(200);
    app.post(&format!("{base}/run"), &r.owner, json!({}))
        .await
        .expect(202);
    settled(&app, r.tenant, 4).await;
    let run = app
        .get(&format!("{base}/runs/1"), &r.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (run["sent"].as_u64(), run["failed"].as_u64()),
        (Some(2), Some(2)),
        "{run}"
    );
    let camp = app.get(&base, &r.owner).await.expect(200).clone();
    assert_eq!(
        (camp["state"].as_str(), camp["paused_code"].as_str()),
        (Some("paused"), Some("session.revoked")),
        "{camp}"
    );
    assert!(camp["next_run"].is_null());
    let rep = app
        .get(&format!("{base}/report"), &r.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(rep["by_reason"]["revoked"], 2);

    // The server raised an alert for the campaign it paused, once, for a person to see.
    let open = app.get("/api/v1/alerts", &admin).await.expect(200).clone();
    let mine: Vec<&Value> = open
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "campaign.auto_paused" && a["tenant_id"] == r.tenant)
        .collect();
    assert_eq!(mine.len(), 1, "{open}");
    assert_eq!(mine[0]["subject"], format!("campaign {c}"));
    assert_eq!(mine[0]["detail"], "session.revoked");
    let alert = mine[0]["id"].as_u64().unwrap();
    app.get("/api/v1/alerts", &r.owner)
        .await
        .expect_err(403, "auth.admin_required");

    // The admin's dashboard counts today's posts and shows the alert; acknowledging it there
    // takes it off the open list, and a second acknowledgement finds nothing.
    let mut b = crate::console::Browser::new(&app);
    b.sign_in(common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    let dash = b.get("/console").await;
    assert!(
        dash.text.contains("Campaign paused by the server"),
        "{}",
        dash.text
    );
    let tile = |label: &str| {
        let at = dash.text.find(label).unwrap();
        let before = &dash.text[..at];
        let n = before.rfind(r#"<span class="n">"#).unwrap();
        before[n + r#"<span class="n">"#.len()..]
            .split('<')
            .next()
            .unwrap()
            .to_string()
    };
    assert!(tile("posts sent today").parse::<u64>().unwrap() >= 2);
    assert!(tile("posts failed today").parse::<u64>().unwrap() >= 2);
    let r2 = b
        .post(
            &format!("/console/alerts/{alert}/ack"),
            &[("_csrf", &dash.csrf()), ("back", "dashboard")],
        )
        .await;
    assert_eq!((r2.status, r2.location()), (303, "/console"));
    app.post(&format!("/api/v1/alerts/{alert}/ack"), &admin, json!({}))
        .await
        .expect_err(404, "resource.not_found");
    let open = app.get("/api/v1/alerts", &admin).await.expect(200).clone();
    assert!(!open.as_array().unwrap().iter().any(|a| a["id"] == alert));
    let all = app
        .get("/api/v1/alerts?open=false", &admin)
        .await
        .expect(200)
        .clone();
    let acked = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alert)
        .unwrap();
    assert!(acked["acknowledged_at"].is_string(), "{acked}");
}

/// Logins that outlive the clock jumps of a test.
fn long_logins(c: &mut botyard::config::Config) {
    c.auth.access_ttl_secs = 400 * 86_400;
}

const FRI_10: i64 = 1_796_378_400; // 2026-12-04T10:00:00Z, a Friday

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_follows_the_tenants_clock_zone_and_window() {
    let app = App::start_with(long_logins).await;
    // 2026-03-28 12:00 UTC: Berlin moves to summer time the next night.
    let mar28 = 1_774_699_200;
    app.clock.set(mar28);
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Saat", limits(), sim(15, 2, json!({})))
        .await;
    enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "{date} {time}").await;
    let settings = format!("/api/v1/tenants/{}/settings", t.tenant);
    let mut s = common::settings_body("Saat");
    s["time_zone"] = json!("Europe/Berlin");
    app.put(&settings, &t.owner, s.clone()).await.expect(200);
    let c = campaign(&app, &t, json!({"name": "Sabah", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"cron": "30 9 * * *"}})).await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);
    let a = app
        .post(&format!("{base}/activate"), &t.owner, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(a["next_run"], "2026-03-29T07:30:00Z", "09:30 summer time");
    assert_eq!(
        a["next_run_local"], "2026-03-29T09:30:00+02:00[Europe/Berlin]",
        "the tenant's own time beside UTC"
    );
    // The tenant moves to Istanbul: the next run is 09:30 there.
    s["time_zone"] = json!("Europe/Istanbul");
    app.put(&settings, &t.owner, s.clone()).await.expect(200);
    let a = app.get(&base, &t.owner).await.expect(200).clone();
    assert_eq!(a["next_run"], "2026-03-29T06:30:00Z");
    assert_eq!(
        a["next_run_local"],
        "2026-03-29T09:30:00+03:00[Europe/Istanbul]"
    );

    // The clock reaches it: the run starts, the next one is a day later.
    let mut stats = app.ready.scheduler.watch();
    app.clock.set(1_774_765_800);
    app.ready.scheduler.poke();
    tokio::time::timeout(
        Duration::from_secs(30),
        stats.wait_for(|s| s.runs_started >= 1),
    )
    .await
    .expect("run started")
    .unwrap();
    settled(&app, t.tenant, 2).await;
    let a = app.get(&base, &t.owner).await.expect(200).clone();
    assert_eq!(
        (a["runs"].as_u64(), a["next_run"].as_str()),
        (Some(1), Some("2026-03-30T06:30:00Z"))
    );
    let runs = app
        .get(&format!("{base}/runs"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (runs[0]["due_at"].as_str(), runs[0]["sent"].as_u64()),
        (Some("2026-03-29T06:30:00Z"), Some(2))
    );

    // Jitter delays a run by at most its bound.
    app.clock.set(FRI_10);
    let j = campaign(
        &app,
        &t,
        json!({"name": "Titrek", "template_id": tpl, "tags": ["x"], "session_id": t.session,
                                     "schedule": {"every_minutes": 10}, "jitter_secs": 120}),
    )
    .await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let a = app
            .post(
                &format!("/api/v1/tenants/{}/campaigns/{j}/activate", t.tenant),
                &t.owner,
                json!({}),
            )
            .await
            .expect(200)
            .clone();
        let next = a["next_run"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        assert!((FRI_10 + 600..=FRI_10 + 720).contains(&next), "{next}");
        seen.insert(next);
    }
    assert!(seen.len() > 1, "jitter varies");

    // A weekday window: on Friday after it closes, the next run is Monday's opening.
    let w = campaign(&app, &t, json!({"name": "Hafta içi", "template_id": tpl, "tags": ["x"], "session_id": t.session,
                                     "schedule": {"every_minutes": 30}, "window": {"start": "09:00", "end": "12:00", "days": ["mon","tue","wed","thu","fri"]}})).await;
    app.clock.set(FRI_10 + 3 * 3600); // 16:00 in Istanbul
    let a = app
        .post(
            &format!("/api/v1/tenants/{}/campaigns/{w}/activate", t.tenant),
            &t.owner,
            json!({}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(a["next_run"], "2026-12-07T06:00:00Z");
    // Paused, it leaves the timers; resumed, it comes back.
    let key = (
        botyard_shards::ids::TenantId(t.tenant),
        botyard_shards::ids::CampaignId(w),
    );
    assert!(app.ready.scheduler.next_of(key.0, key.1).is_some());
    let p = app
        .post(
            &format!("/api/v1/tenants/{}/campaigns/{w}/pause", t.tenant),
            &t.owner,
            json!({}),
        )
        .await
        .expect(200)
        .clone();
    assert!(p["next_run"].is_null());
    assert_eq!(app.ready.scheduler.next_of(key.0, key.1), None);
    app.post(
        &format!("/api/v1/tenants/{}/campaigns/{w}/resume", t.tenant),
        &t.owner,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.ready.scheduler.next_of(key.0, key.1),
        Some(1_796_623_200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_run_runs_once_after_a_restart_inside_its_window_else_is_skipped() {
    let app = App::start_with(long_logins).await;
    app.clock.set(FRI_10);
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Kesinti", limits(), sim(16, 2, json!({})))
        .await;
    enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "Açığız").await;
    app.clock.set(FRI_10);
    let always = campaign(&app, &t, json!({"name": "Her zaman", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"every_minutes": 10}})).await;
    let noon = campaign(&app, &t, json!({"name": "Öğle", "template_id": tpl, "tags": ["x"], "session_id": t.session,
                                        "schedule": {"every_minutes": 10}, "window": {"start": "11:00", "end": "12:00"}})).await;
    for c in [always, noon] {
        app.post(
            &format!("/api/v1/tenants/{}/campaigns/{c}/activate", t.tenant),
            &t.owner,
            json!({}),
        )
        .await
        .expect(200);
    }
    let owner = t.owner.clone();
    // Down from 10:00 to 14:00 (the tenant's zone is UTC): "Öğle" was due at 11:00 and its
    // window has closed; the other has no window.
    let app = app.restart_at(FRI_10 + 4 * 3600).await;
    let mut stats = app.ready.scheduler.watch();
    tokio::time::timeout(
        Duration::from_secs(30),
        stats.wait_for(|s| s.runs_started + s.runs_skipped >= 2),
    )
    .await
    .expect("missed runs handled")
    .unwrap();
    let runs = app
        .get(
            &format!("/api/v1/tenants/{}/campaigns/{always}/runs", t.tenant),
            &owner,
        )
        .await
        .expect(200)
        .clone();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "one run for the 24 missed: {runs:?}");
    assert_eq!(
        runs[0]["status"].as_str().map(|s| s != "skipped"),
        Some(true)
    );
    assert_eq!(runs[0]["due_at"], "2026-12-04T10:10:00Z");
    let a = app
        .get(
            &format!("/api/v1/tenants/{}/campaigns/{always}", t.tenant),
            &owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(a["next_run"], "2026-12-04T14:10:00Z");
    let runs = app
        .get(
            &format!("/api/v1/tenants/{}/campaigns/{noon}/runs", t.tenant),
            &owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (runs[0]["status"].as_str(), runs[0]["code"].as_str()),
        (Some("skipped"), Some("campaign.missed"))
    );
    let n = app
        .get(
            &format!("/api/v1/tenants/{}/campaigns/{noon}", t.tenant),
            &owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(n["next_run"], "2026-12-05T11:00:00Z");
    // The run that did happen reaches the groups once the worker is back.
    settled(&app, t.tenant, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_campaigns_are_refused_with_their_code() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let mut l = limits();
    l["campaigns"] = json!(1);
    let t = app
        .sim_tenant(&admin, "Hatalı", l, sim(17, 2, json!({})))
        .await;
    let groups = enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "x").await;
    let ok = json!({"name": "K", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"every_minutes": 60}});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let base = format!("/api/v1/tenants/{}/campaigns", t.tenant);
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("template_id", json!(999)), 422, "campaign.template"),
        (with("version", json!(2)), 422, "campaign.version"),
        (with("tags", json!([])), 422, "campaign.targets"),
        (with("chat_ids", json!([12345])), 422, "campaign.chat"),
        (with("session_id", json!(999)), 422, "campaign.session"),
        (
            with("schedule", json!({"every_minutes": 1})),
            422,
            "campaign.schedule",
        ),
        (
            with("schedule", json!({"cron": "61 * * * *"})),
            422,
            "campaign.schedule",
        ),
        (
            with("schedule", json!({"once": "yarın"})),
            422,
            "campaign.schedule",
        ),
        // Every kind of schedule keeps the plan's minimum interval.
        (
            with("schedule", json!({"cron": "* * * * *"})),
            422,
            "campaign.schedule",
        ),
        (
            with("schedule", json!({"cron": "0,5 9 * * *"})),
            422,
            "campaign.schedule",
        ),
        (
            with("schedule", json!({"once": "9999-12-31T23:59"})),
            422,
            "campaign.schedule",
        ),
        (with("ends_on", json!("9999-12-31")), 422, "campaign.dates"),
        (
            with(
                "schedule",
                json!({"cron": "0 9 * * *", "every_minutes": 60}),
            ),
            422,
            "campaign.schedule",
        ),
        (with("schedule", json!({})), 422, "campaign.schedule"),
        (
            with("window", json!({"start": "21:00", "end": "09:00"})),
            422,
            "campaign.window",
        ),
        (
            with("window", json!({"start": "9", "end": "10:00"})),
            422,
            "campaign.window",
        ),
        (
            with(
                "window",
                json!({"start": "09:00", "end": "10:00", "days": ["pzt"]}),
            ),
            422,
            "campaign.window",
        ),
        (
            with("starts_on", json!("2026-12-10"))
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("ends_on".into(), json!("2026-12-01"));
                    Value::Object(o)
                })
                .unwrap(),
            422,
            "campaign.dates",
        ),
        (with("jitter_secs", json!(7200)), 422, "campaign.jitter"),
        (with("name", json!(" ")), 422, "validation.invalid"),
        (with("pin", json!("evet")), 422, "validation.wrong_type"),
        (with("colour", json!(1)), 400, "request.unknown_field"),
    ];
    for (body, status, code) in cases {
        app.post(&base, &t.owner, body.clone())
            .await
            .expect_err(status, code);
    }
    // A disabled group cannot be named.
    app.patch(
        &format!("/api/v1/tenants/{}/groups/{}", t.tenant, groups[0]),
        &t.owner,
        json!({"enabled": false}),
    )
    .await
    .expect(200);
    app.post(&base, &t.owner, with("chat_ids", json!([groups[0]])))
        .await
        .expect_err(422, "campaign.chat");
    // Nothing was saved; then the plan's one campaign.
    assert_eq!(
        app.get(&base, &t.owner)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let c = campaign(&app, &t, ok.clone()).await;
    app.post(&base, &t.owner, ok.clone())
        .await
        .expect_err(409, "plan.campaign_limit");
    // A one-off in the past cannot be activated; pausing a draft is refused.
    let past = with("schedule", json!({"once": "2020-01-01T09:00"}));
    app.put(&format!("{base}/{c}"), &t.owner, past)
        .await
        .expect(200);
    app.post(&format!("{base}/{c}/activate"), &t.owner, json!({}))
        .await
        .expect_err(409, "campaign.no_future_run");
    app.post(&format!("{base}/{c}/pause"), &t.owner, json!({}))
        .await
        .expect_err(409, "campaign.not_active");
    app.post(&format!("{base}/{c}/resume"), &t.owner, json!({}))
        .await
        .expect_err(409, "campaign.not_paused");
    // Another tenant's campaign is not found.
    let other = app
        .sim_tenant(&admin, "Başka", limits(), sim(18, 1, json!({})))
        .await;
    app.get(&format!("{base}/{c}"), &other.owner)
        .await
        .expect_err(404, "resource.not_found");
    app.post(
        &format!("/api/v1/tenants/{}/campaigns/{c}/run", other.tenant),
        &other.owner,
        json!({}),
    )
    .await
    .expect_err(404, "resource.not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plans_daily_sends_skip_a_run_that_would_go_over() {
    let app = App::start_with(long_logins).await;
    let admin = app.admin().await.access;
    let mut l = limits();
    l["sends_per_day"] = json!(3);
    let t = app
        .sim_tenant(&admin, "Kota", l, sim(19, 2, json!({})))
        .await;
    enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "Kota").await;
    let c = campaign(&app, &t, json!({"name": "Kota", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"every_minutes": 60}})).await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);
    let r = app
        .post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202)
        .clone();
    assert_eq!(r["posts"], 2);
    // Two more would make four of three.
    let r = app
        .post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202)
        .clone();
    assert_eq!(
        (r["status"].as_str(), r["code"].as_str()),
        (Some("skipped"), Some("plan.sends_per_day"))
    );
    let runs = app
        .get(&format!("{base}/runs"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (runs[0]["status"].as_str(), runs[0]["code"].as_str()),
        (Some("skipped"), Some("plan.sends_per_day"))
    );
    // The next UTC day has its own count.
    app.clock.advance(86_400);
    let r = app
        .post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202)
        .clone();
    assert_eq!(r["status"], "started");
    settled(&app, t.tenant, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_removed_from_most_groups_pauses_the_campaign_and_flags_them() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    // The simulator numbers its groups -1000000000001, -1000000000002, …; three of them
    // still list the session but refuse its posts (its rights were taken away).
    let refused = json!([
        -1_000_000_000_001i64,
        -1_000_000_000_002i64,
        -1_000_000_000_003i64
    ]);
    let t = app
        .sim_tenant(
            &admin,
            "Kovuldu",
            limits(),
            sim(21, 4, json!({"forbidden_in": refused})),
        )
        .await;
    enable_all(&app, &t, "x").await;
    let tpl = template(&app, &t, "Merhaba").await;
    let c = campaign(&app, &t, json!({"name": "K", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"every_minutes": 30}})).await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);
    app.post(&format!("{base}/activate"), &t.owner, json!({}))
        .await
        .expect(200);
    app.post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202);
    settled(&app, t.tenant, 4).await;
    let run = app
        .get(&format!("{base}/runs/1"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (run["sent"].as_u64(), run["failed"].as_u64()),
        (Some(1), Some(3)),
        "{run}"
    );
    let camp = app.get(&base, &t.owner).await.expect(200).clone();
    assert_eq!(camp["paused_code"], "campaign.removed_from_most", "{camp}");
    // The three groups are flagged and the check says so.
    let check = app
        .get(&format!("{base}/check"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(check["sendable"], 1, "{check}");
    let flagged: Vec<&Value> = check["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["problem"] == "no_rights")
        .collect();
    assert_eq!(flagged.len(), 3);
    // The next run skips them rather than trying again.
    app.post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202);
    settled(&app, t.tenant, 5).await;
    let run = app
        .get(&format!("{base}/runs/2"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            run["sent"].as_u64(),
            run["skipped"].as_u64(),
            run["failed"].as_u64()
        ),
        (Some(1), Some(3), Some(0)),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_too_long_once_its_variables_are_filled_fails_without_sending() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Uzun", limits(), sim(22, 2, json!({})))
        .await;
    enable_all(&app, &t, "x").await;
    app.put(
        &format!("/api/v1/tenants/{}/variables", t.tenant),
        &t.owner,
        json!({"variables": {"uzun": "ç".repeat(100)}}),
    )
    .await
    .expect(200);
    // 3,600 characters as saved; 60,000 once filled.
    let tpl = template(&app, &t, &"{uzun}".repeat(600)).await;
    let c = campaign(&app, &t, json!({"name": "Uzun", "template_id": tpl, "tags": ["x"], "session_id": t.session, "schedule": {"every_minutes": 60}})).await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);
    let r = app
        .post(&format!("{base}/run"), &t.owner, json!({}))
        .await
        .expect(202)
        .clone();
    assert_eq!(r["posts"], 0, "{r}");
    let run = app
        .get(&format!("{base}/runs/1"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (run["status"].as_str(), run["failed"].as_u64()),
        (Some("done"), Some(2)),
        "{run}"
    );
    assert!(
        run["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["code"] == "too_long")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_post_goes_to_the_callers_own_chat_with_the_platform_bot() {
    let app = App::start_with(|c| c.platform.bot = botyard::config::PlatformBot::Sim).await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Kadıköy", limits(), sim(21, 3, json!({})))
        .await;
    let groups = enable_all(&app, &t, "vitrin").await;
    app.put(
        &format!("/api/v1/tenants/{}/settings", t.tenant),
        &t.owner,
        common::settings_body("Kadıköy Butik"),
    )
    .await
    .expect(200);
    let tpl = template(&app, &t, "**{group.title}**: yeni sezon").await;
    let c = campaign(
        &app,
        &t,
        json!({"name": "Sezon", "template_id": tpl, "tags": ["vitrin"], "session_id": t.session,
               "schedule": {"every_minutes": 60}}),
    )
    .await;
    let base = format!("/api/v1/tenants/{}/campaigns/{c}", t.tenant);
    let test = format!("{base}/test");
    app.platform_online().await;

    // An API key is no person with a Telegram chat.
    let (_, key) = app
        .create_api_key(&t.owner, t.tenant, "shop", "owner")
        .await;
    app.post(&test, &key, json!({}))
        .await
        .expect_err(403, "telegram.account_required");
    app.get("/api/v1/auth/telegram", &key)
        .await
        .expect_err(403, "telegram.account_required");
    // Not linked yet.
    let me = app.get("/api/v1/auth/telegram", &t.owner).await;
    assert_eq!(me.expect(200)["linked"], false);
    app.post(&test, &t.owner, json!({}))
        .await
        .expect_err(409, "telegram.not_linked");
    // The simulated platform bot has a username, so a link code comes with its deep link.
    let code = app
        .post("/api/v1/auth/telegram/link", &t.owner, json!({}))
        .await
        .expect(201)
        .clone();
    let url = code["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://t.me/")
            && url.ends_with(&format!("?start={}", code["code"].as_str().unwrap())),
        "{code}"
    );

    // Linking needs Telegram to deliver `/start <code>` (tested over MTProto in
    // api_telegram.rs); here the link is stored as the platform bot would store it.
    let account = app.get("/api/v1/auth/me", &t.owner).await.expect(200)["account_id"]
        .as_u64()
        .unwrap();
    let cmd = botyard::runtime::supervisor::BotCommand {
        user: botyard::worker::telegram::UserRef {
            id: 4_242_001,
            first_name: "Ayşe".into(),
            last_name: None,
            username: Some("ayse_kadikoy".into()),
        },
        access_hash: 77,
        command: "start".into(),
        payload: String::new(),
    };
    let reply = botyard::domain::platform_bot::link(
        &app.ready.store.upgrade().unwrap(),
        botyard_shards::ids::AccountId(account),
        &cmd,
        1_800_000_000,
    )
    .unwrap();
    // The tenant speaks Turkish.
    assert!(
        matches!(
            &reply,
            botyard::domain::platform_bot::Reply::Linked {
                language: botyard_shards::records::Language::Tr,
                ..
            }
        ),
        "{reply:?}"
    );
    let me = app
        .get("/api/v1/auth/telegram", &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (&me["linked"], &me["user_id"], &me["username"]),
        (&json!(true), &json!(4_242_001), &json!("ayse_kadikoy"))
    );

    let sent = app
        .post(&test, &t.owner, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(sent["telegram_user_id"], 4_242_001, "{sent}");
    assert_eq!(sent["message_id"], 1);
    let sent = app
        .post(&format!("{test}?group={}", groups[2]), &t.owner, json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(sent["message_id"], 2, "a second test is a second message");
    app.post(&format!("{test}?group=-999"), &t.owner, json!({}))
        .await
        .expect_err(404, "resource.not_found");
    app.post(&format!("{test}?grup=1"), &t.owner, json!({}))
        .await
        .expect_err(400, "request.invalid_query");
    // A test is not a run: nothing was recorded or counted.
    let runs = app
        .get(&format!("{base}/runs"), &t.owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(runs.as_array().map(Vec::len), Some(0), "{runs}");

    app.delete("/api/v1/auth/telegram", &t.owner)
        .await
        .expect(204);
    app.delete("/api/v1/auth/telegram", &t.owner)
        .await
        .expect_err(404, "resource.not_found");
    app.post(&test, &t.owner, json!({}))
        .await
        .expect_err(409, "telegram.not_linked");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_platform_bot_linking_and_test_posts_say_so() {
    let app = App::start().await;
    let admin = app.admin().await;
    app.post("/api/v1/auth/telegram/link", &admin.access, json!({}))
        .await
        .expect_err(409, "platform_bot.not_configured");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_that_would_post_nowhere_is_refused_unless_forced() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Boş", limits(), sim(23, 2, json!({})))
        .await;
    enable_all(&app, &t, "var").await;
    let tpl = template(&app, &t, "x").await;
    let base = format!("/api/v1/tenants/{}/campaigns", t.tenant);
    // No group carries the tag: the runs would post nothing. `session_id` is left out: the
    // tenant's only session posts.
    let body = json!({"name": "Hiçbir yere", "template_id": tpl, "tags": ["yok"], "schedule": {"every_minutes": 60}});
    app.post(&base, &t.owner, body.clone())
        .await
        .expect_err(409, "campaign.no_targets");
    let mut forced = body.clone();
    forced["force"] = json!(true);
    let c = app.post(&base, &t.owner, forced).await;
    let c = c.expect(201).clone();
    assert_eq!(c["session_id"], t.session);
    let id = c["id"].as_u64().unwrap();
    app.post(&format!("{base}/{id}/activate"), &t.owner, json!({}))
        .await
        .expect_err(409, "campaign.no_targets");
    app.post(
        &format!("{base}/{id}/activate?force=true"),
        &t.owner,
        json!({}),
    )
    .await
    .expect(200);
    // A bad cron is reported as the schedule, now that no field before it is missing.
    let r = app
        .post(
            &base,
            &t.owner,
            json!({"name": "Cron", "template_id": tpl, "tags": ["var"], "schedule": {"cron": "61 * * * *"}}),
        )
        .await;
    r.expect_err(422, "campaign.schedule");
}
