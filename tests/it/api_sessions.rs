//! Sessions through the API: connecting a simulated session starts the tenant's sandboxed
//! worker, its events reach the store, suspension stops it, and deletion leaves no process.

use crate::common;

use std::time::Duration;

use common::App;
use serde_json::json;

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

/// Follows the worker until `f` holds; the supervisor's watch channel drives it.
async fn worker_until(
    app: &App,
    token: &str,
    tenant: u64,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .expect("worker slot");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let w = app
            .get(&format!("/api/v1/tenants/{tenant}/worker"), token)
            .await;
        let v = w.expect(200).clone();
        if f(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {v}"
        );
        let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sim_session_runs_in_a_worker_and_stops_with_the_tenant() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Kahve Dükkanı", "sahip@example.com")
        .await;
    let owner = owner.access;

    // Kinds are `bot` and `sim`; anything else is a clear 422.
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &owner,
        json!({"kind":"user","label":"x"}),
    )
    .await
    .expect_err(422, "session.kind");

    // Simulated sessions are the admins' demo and test tool, with bounded parameters.
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &owner,
        json!({"kind":"sim","label":"x","sim":{}}),
    )
    .await
    .expect_err(403, "session.sim_admin_only");
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &owner,
        json!({"kind":"sim","label":"x","sim":{"failures":{"stall_after_events":1}}}),
    )
    .await
    .expect_err(403, "session.sim_admin_only");
    for (sim, field) in [
        (
            json!({"groups": 200, "members_per_group": 100000}),
            "sim.groups",
        ),
        (
            json!({"members_per_group": 100000}),
            "sim.members_per_group",
        ),
        (json!({"events_per_sec": 0.0}), "sim.events_per_sec"),
        (json!({"events_per_sec": 1e9}), "sim.events_per_sec"),
        (
            json!({"media_per_mille": 900, "join_per_mille": 900}),
            "sim.media_per_mille",
        ),
        (json!({"step_secs": 10000000}), "sim.step_secs"),
    ] {
        let r = app
            .post(
                &format!("/api/v1/tenants/{tenant}/sessions"),
                &admin,
                json!({"kind":"sim","label":"x","sim": sim}),
            )
            .await;
        r.expect_err(422, "session.sim_bounds");
        assert_eq!(r.json["error"]["field"], field, "{}", r.text);
    }
    let r = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions"),
            &admin,
            json!({"kind":"sim","label":"Demo bot","sim":{"seed":9,"events_per_sec":500.0}}),
        )
        .await;
    let session = r.expect(201)["id"].as_u64().unwrap();

    let w = worker_until(&app, &owner, tenant, "events stored", |w| {
        w["state"] == "running" && w["events_stored"].as_u64().unwrap_or(0) > 0
    })
    .await;
    // The tenant's log says what happened in words, not Rust's debug output.
    let logs = app
        .get(&format!("/api/v1/tenants/{tenant}/logs"), &owner)
        .await;
    let text = logs.expect(200).to_string();
    assert!(text.contains("online as the bot"), "{text}");
    for debug in ["Online {", "Me {", "Some("] {
        assert!(!text.contains(debug), "{debug} in the tenant's log: {text}");
    }
    let pid = w["pid"].as_u64().unwrap();
    assert!(alive(pid));
    // Per-worker figures in /metrics (a loopback client needs no token).
    let m = common::send(app.client.get(app.url("/metrics"))).await;
    assert_eq!(m.status, 200);
    for series in [
        format!("botyard_worker_resident_bytes{{tenant=\"{tenant}\"}}"),
        format!("botyard_worker_anonymous_bytes{{tenant=\"{tenant}\"}}"),
        format!("botyard_worker_cpu_seconds_total{{tenant=\"{tenant}\"}}"),
        format!("botyard_worker_restarts_total{{tenant=\"{tenant}\"}} 0"),
        format!("botyard_worker_events_dropped_total{{tenant=\"{tenant}\"}} 0"),
        "botyard_workers{status=\"running\"} 1".to_string(),
    ] {
        assert!(
            m.text.contains(&series),
            "{series} missing from:\n{}",
            m.text
        );
    }
    // The worker reports what the kernel enforced.
    assert!(
        w["sandbox"]["layers"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{w}"
    );

    let list = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner)
        .await;
    let list = list.expect(200);
    assert_eq!(list[0]["id"], session);
    assert_eq!(list[0]["state"], "online");
    assert!(
        !list.to_string().contains("seed"),
        "session material must not be returned: {list}"
    );

    // Suspension stops the worker; resume starts a new one.
    app.post(
        &format!("/api/v1/tenants/{tenant}/suspend"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    assert!(!alive(pid), "worker survived suspension");
    let w = app
        .get(&format!("/api/v1/tenants/{tenant}/worker"), &owner)
        .await;
    assert_eq!(w.expect(200)["state"], "stopped");
    app.post(
        &format!("/api/v1/tenants/{tenant}/resume"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    let w = worker_until(&app, &owner, tenant, "running again", |w| {
        w["state"] == "running"
    })
    .await;
    let pid2 = w["pid"].as_u64().unwrap();

    // Admins see every worker; members may not restart.
    let all = app.get("/api/v1/workers", &admin).await;
    assert!(
        all.expect(200)
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["tenant_id"] == tenant)
    );
    app.post(
        &format!("/api/v1/tenants/{tenant}/worker/restart"),
        &owner,
        json!({}),
    )
    .await
    .expect_err(403, "auth.admin_required");
    app.post(
        &format!("/api/v1/tenants/{tenant}/worker/release"),
        &admin,
        json!({}),
    )
    .await
    .expect_err(409, "worker.not_quarantined");

    // Removing the last session stops the worker.
    app.delete(
        &format!("/api/v1/tenants/{tenant}/sessions/{session}"),
        &owner,
    )
    .await
    .expect(204);
    assert!(!alive(pid2), "worker survived its last session");
    app.delete(
        &format!("/api/v1/tenants/{tenant}/sessions/{session}"),
        &owner,
    )
    .await
    .expect_err(404, "resource.not_found");

    // A new session, then the tenant is deleted: no worker is left.
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &admin,
        json!({"kind":"sim","label":"Again"}),
    )
    .await
    .expect(201);
    let w = worker_until(&app, &admin, tenant, "running", |w| w["state"] == "running").await;
    let pid3 = w["pid"].as_u64().unwrap();
    app.delete(&format!("/api/v1/tenants/{tenant}"), &admin)
        .await
        .expect(204);
    assert!(!alive(pid3), "worker survived its tenant");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_worker_outlives_the_server() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let mut tenants = Vec::new();
    for name in ["Bir", "İki"] {
        let t = app.create_tenant(&admin, name).await;
        app.post(
            &format!("/api/v1/tenants/{t}/sessions"),
            &admin,
            json!({"kind":"sim","label":"s"}),
        )
        .await
        .expect(201);
        tenants.push(t);
    }
    let mut pids = Vec::new();
    for t in tenants {
        let w = worker_until(&app, &admin, t, "running", |w| w["state"] == "running").await;
        pids.push(w["pid"].as_u64().unwrap());
    }
    app.stop().await.unwrap();
    for pid in pids {
        assert!(!alive(pid), "worker {pid} outlived the server");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_come_from_the_dialogs_and_obey_the_plan() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Çay Evi", "sahip@example.com")
        .await;
    let owner = owner.access;
    let mut limits = common::limits();
    limits["groups"] = json!(2);
    let plan = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "Küçük", "limits": limits}),
        )
        .await;
    let plan = plan.expect(201)["id"].as_u64().unwrap();
    app.patch(
        &format!("/api/v1/tenants/{tenant}"),
        &admin,
        json!({"plan_id": plan}),
    )
    .await
    .expect(200);

    // No worker yet: a refresh has nobody to ask.
    app.post(
        &format!("/api/v1/tenants/{tenant}/groups/refresh"),
        &owner,
        json!({}),
    )
    .await
    .expect_err(409, "worker.not_running");

    let session = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions"),
            &admin,
            json!({"kind":"sim","label":"Dükkan","sim":{"seed":4,"groups":4}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .unwrap();
    let reported = tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .expect("dialogs reported")
    .unwrap()
    .dialogs_reported;

    let base = format!("/api/v1/tenants/{tenant}/groups");
    let list = app.get(&base, &owner).await.expect(200).clone();
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 4, "{list:?}");
    let members: Vec<u64> = list
        .iter()
        .map(|g| g["members"].as_u64().unwrap())
        .collect();
    assert!(members.windows(2).all(|w| w[0] >= w[1]), "largest first");
    for g in &list {
        assert_eq!(g["session_id"], session);
        assert_eq!(g["enabled"], false);
        assert_eq!(g["present"], true);
        assert!(g["chat_id"].as_i64().unwrap() < 0);
    }
    let chats: Vec<i64> = list
        .iter()
        .map(|g| g["chat_id"].as_i64().unwrap())
        .collect();

    // Enable two with tags; the plan allows no third.
    for (i, chat) in chats.iter().take(2).enumerate() {
        let g = app
            .patch(
                &format!("{base}/{chat}"),
                &owner,
                json!({"enabled": true, "tags": ["İstanbul", format!("t{i}")]}),
            )
            .await;
        let g = g.expect(200);
        assert_eq!(g["enabled"], true);
        assert_eq!(g["tags"], json!(["istanbul", format!("t{i}")]));
    }
    app.patch(
        &format!("{base}/{}", chats[2]),
        &owner,
        json!({"enabled": true}),
    )
    .await
    .expect_err(409, "plan.group_limit");
    // Bad input changes nothing.
    app.patch(
        &format!("{base}/{}", chats[2]),
        &owner,
        json!({"tags": ["a b"]}),
    )
    .await
    .expect_err(422, "group.tag");
    app.patch(
        &format!("{base}/{}", chats[2]),
        &owner,
        json!({"colour": "red"}),
    )
    .await
    .expect_err(400, "request.unknown_field");
    app.patch(&format!("{base}/-42"), &owner, json!({"enabled": true}))
        .await
        .expect_err(404, "resource.not_found");
    let g = app.get(&format!("{base}/{}", chats[2]), &owner).await;
    assert_eq!(g.expect(200)["tags"], json!([]));

    // Filters.
    let on = app.get(&format!("{base}?enabled=true"), &owner).await;
    assert_eq!(on.expect(200).as_array().unwrap().len(), 2);
    let tagged = app.get(&format!("{base}?tag=ISTANBUL"), &owner).await;
    assert_eq!(tagged.expect(200).as_array().unwrap().len(), 2);
    let t0 = app
        .get(&format!("{base}?tag=t0&enabled=true"), &owner)
        .await;
    assert_eq!(t0.expect(200).as_array().unwrap().len(), 1);
    app.get(&format!("{base}?kind=forum"), &owner)
        .await
        .expect_err(400, "request.invalid_query");

    // A refresh re-reads the dialogs and keeps the choices.
    app.post(&format!("{base}/refresh"), &owner, json!({}))
        .await
        .expect(202);
    // Another right away would cost Telegram calls for nothing.
    app.post(&format!("{base}/refresh"), &owner, json!({}))
        .await
        .expect_err(409, "groups.refresh_too_soon");
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported > reported),
    )
    .await
    .expect("second dialog report")
    .unwrap();
    let on = app.get(&format!("{base}?enabled=true"), &owner).await;
    assert_eq!(on.expect(200).as_array().unwrap().len(), 2);

    // Another tenant sees none of it.
    let (other, _, stranger) = app
        .tenant_with_owner(&admin, "Başka", "baska@example.com")
        .await;
    let _ = other;
    app.get(&format!("{base}/{}", chats[0]), &stranger.access)
        .await
        .expect_err(404, "resource.not_found");

    // Removing the session keeps the chats, gone and off.
    app.delete(
        &format!("/api/v1/tenants/{tenant}/sessions/{session}"),
        &owner,
    )
    .await;
    let list = app.get(&base, &owner).await.expect(200).clone();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|g| g["present"] == false && g["enabled"] == false),
        "{list}"
    );
    app.patch(
        &format!("{base}/{}", chats[0]),
        &owner,
        json!({"enabled": true}),
    )
    .await
    .expect_err(409, "group.gone");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_restart_the_platform_worker_and_only_admins() {
    let app = App::start_with(|c| c.platform.bot = botyard::config::PlatformBot::Sim).await;
    let admin = app.admin().await.access;
    let (_tenant, _, owner) = app
        .tenant_with_owner(&admin, "Sahip", "sahip2@example.com")
        .await;
    app.post("/api/v1/workers/platform/restart", &owner.access, json!({}))
        .await
        .expect_err(403, "auth.admin_required");
    let r = app
        .post("/api/v1/workers/platform/restart", &admin, json!({}))
        .await;
    assert_eq!(r.expect(200)["worker"], "platform");
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard::runtime::supervisor::WorkerKey::Platform)
        .expect("platform worker");
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.state == botyard::runtime::supervisor::WorkerState::Running),
    )
    .await
    .expect("running")
    .unwrap();
    // Not quarantined: nothing to release.
    app.post("/api/v1/workers/platform/release", &admin, json!({}))
        .await
        .expect_err(409, "worker.not_quarantined");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_platform_bot_restart_says_so() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    app.post("/api/v1/workers/platform/restart", &admin, json!({}))
        .await
        .expect_err(409, "platform.not_configured");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_events_is_cut_to_the_plans_budget_and_counted() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let tenant = app.create_tenant(&admin, "Sel").await;
    let mut limits = common::limits();
    limits["events_per_sec"] = json!(20);
    app.put_on_plan(&admin, tenant, "Dar", limits).await;
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &admin,
        json!({"kind":"sim","label":"Sel","sim":{"seed":5,"events_per_sec":1000.0}}),
    )
    .await
    .expect(201);
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .unwrap();
    let started = std::time::Instant::now();
    let s = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        rx.wait_for(|s| s.events_dropped >= 500),
    )
    .await
    .expect("events dropped")
    .unwrap()
    .clone();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(s.events_per_sec, Some(20));
    // Two seconds' burst, then 20 a second (the worker started after `started`).
    let allowed = 40.0 + 20.0 * secs + 1.0;
    assert!(
        (s.events_stored as f64) <= allowed,
        "{} stored in {secs:.1} s, at most {allowed} allowed",
        s.events_stored
    );
    let w = app
        .get(&format!("/api/v1/tenants/{tenant}/worker"), &admin)
        .await;
    let w = w.expect(200);
    assert_eq!(w["events_per_sec"], 20);
    assert!(w["events_dropped"].as_u64().unwrap() >= 500, "{w}");
    let m = common::send(app.client.get(app.url("/metrics"))).await;
    let line = m
        .text
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "botyard_worker_events_dropped_total{{tenant=\"{tenant}\"}}"
            ))
        })
        .unwrap_or_else(|| panic!("no dropped counter in:\n{}", m.text));
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 500.0, "{line}");
    assert!(
        m.text
            .contains("# TYPE botyard_worker_events_dropped_total counter"),
        "{}",
        m.text
    );
    app.stop().await.unwrap();
}
