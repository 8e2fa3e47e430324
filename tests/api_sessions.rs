//! Sessions through the API: connecting a simulated session starts the tenant's sandboxed
//! worker, its events reach the store, suspension stops it, and deletion leaves no process.

mod common;

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

    // Only simulated sessions exist in this version; anything else is a clear 422.
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &owner,
        json!({"kind":"bot","label":"x"}),
    )
    .await
    .expect_err(422, "session.kind");

    let r = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions"),
            &owner,
            json!({"kind":"sim","label":"Demo bot","sim":{"seed":9,"events_per_sec":500.0}}),
        )
        .await;
    let session = r.expect(201)["id"].as_u64().unwrap();

    let w = worker_until(&app, &owner, tenant, "events stored", |w| {
        w["state"] == "running" && w["events_stored"].as_u64().unwrap_or(0) > 0
    })
    .await;
    let pid = w["pid"].as_u64().unwrap();
    assert!(alive(pid));
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
        &owner,
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
