//! Tenant bundles between two appliances (two real servers on real files): a tenant with a
//! session, stored statistics, templates, a campaign, media, members, an API key and a paid
//! subscription is exported from one and imported into the other, where it answers every read
//! of the API as it did at the source, its people sign in with their own passwords, and its
//! session runs under the new appliance's key (and no longer at the source). Damaged bundles,
//! a wrong passphrase, a missing plan and a second import change nothing.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use botyard::commands::admin_client as client;
use botyard::http::admin_socket::{ExportMade, ExportRequest, ImportDone, ImportRequest};
use botyard::worker::telegram::sim::SimConfig;
use common::App;
use serde_json::{Value, json};

const PASS: &str = "bogazici-koprusu-1973";

async fn export(app: &App, tenant: u64, to: &Path) -> Result<ExportMade, String> {
    let req = ExportRequest {
        to: to.to_path_buf(),
        passphrase: PASS.into(),
    };
    client::post(
        app.data_dir(),
        &format!("/v1/tenants/{tenant}/export"),
        &req,
    )
    .await
    .map_err(|e| e.to_string())
}

async fn import(app: &App, from: &Path, pass: &str) -> Result<ImportDone, String> {
    let req = ImportRequest {
        from: from.to_path_buf(),
        passphrase: pass.into(),
    };
    client::post(app.data_dir(), "/v1/tenants/import", &req)
        .await
        .map_err(|e| e.to_string())
}

/// Every read of the tenant's part of the API: status and body, with the tenant's own id
/// written as `T`. Left out: its sessions (released at the source), its log files and worker,
/// and paths with any of `skip` in them.
pub(crate) async fn tenant_answers(
    app: &App,
    token: &str,
    tenant: u64,
    ids: &[(&str, i64)],
    skip: &[&str],
) -> BTreeMap<String, Value> {
    let doc: Value = serde_json::from_str(&botyard::http::openapi_json()).unwrap();
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if item.get("get").is_none()
            || !path.starts_with("/api/v1/tenants/{id}")
            || path.contains("/sessions")
            || path.ends_with("/logs")
            || path.ends_with("/worker")
            || path.ends_with("/audit")
            || skip.iter().any(|s| path.contains(s))
        {
            continue;
        }
        let url = common::fill(path, tenant, ids);
        let r = app.get(&url, token).await;
        let mut body = if r.json.is_null() {
            json!(r.text.len())
        } else {
            r.json.clone()
        };
        strip_volatile(&mut body);
        let key = url.replacen(&format!("/tenants/{tenant}"), "/tenants/T", 1);
        out.insert(key, json!({"status": r.status, "body": body}));
    }
    out
}

/// Fields that name this appliance's ids or moments rather than the tenant's data.
pub(crate) fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "id",
                "tenant_id",
                "plan_id",
                "next_plan_id",
                "payment_id",
                "updated_at",
            ] {
                if m.contains_key(k) {
                    m.insert(k.into(), json!("*"));
                }
            }
            m.values_mut().for_each(strip_volatile);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

pub(crate) fn diff(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<String> {
    let mut d = Vec::new();
    for (k, v) in a {
        if b.get(k) != Some(v) {
            d.push(format!("{k}:\n  source:   {v}\n  imported: {:?}", b.get(k)));
        }
    }
    d
}

async fn tenant_count(app: &App, admin: &str) -> usize {
    app.get("/api/v1/tenants?limit=100", admin)
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_moves_to_another_appliance_whole() {
    let a = App::start().await;
    let admin_a = a.admin().await.access;
    // Another tenant first, so the ids differ between the two appliances.
    a.create_tenant(&admin_a, "Önceki").await;
    let (tenant, _, owner) = a
        .tenant_with_owner(&admin_a, "Kapalıçarşı", "owner@carsi.test")
        .await;
    let owner = owner.access;
    a.put_on_plan(&admin_a, tenant, "Esnaf", common::limits())
        .await;
    a.upload(
        &format!("/api/v1/tenants/{tenant}/media?name=logo.png"),
        &owner,
        common::png(3000, 7),
    )
    .await
    .expect(201);
    a.add_member(&admin_a, tenant, "editor@carsi.test", "editor")
        .await;
    let (_, api_key) = a.create_api_key(&owner, tenant, "Muhasebe", "viewer").await;
    a.post(
        &format!("/api/v1/tenants/{tenant}/payments"),
        &admin_a,
        json!({"amount": 49900, "currency": "TRY", "paid_on": "2026-12-01",
               "reference": "EFT-0042"}),
    )
    .await
    .expect(201);
    let sim = SimConfig {
        seed: 11,
        groups: 3,
        members_per_group: 30,
        events_per_sec: 1000.0,
        media_per_mille: 100,
        join_per_mille: 20,
        start_at: 1_792_540_800,
        step_secs: 60,
        ..SimConfig::default()
    };
    a.post(
        &format!("/api/v1/tenants/{tenant}/sessions"),
        &admin_a,
        json!({"kind": "sim", "label": "Dükkan", "sim": serde_json::to_value(&sim).unwrap()}),
    )
    .await
    .expect(201);
    let mut rx = a
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .expect("worker");
    rx.wait_for(|s| s.events_stored >= 1_500).await.unwrap();
    a.template_and_campaign(&owner, tenant, "Günaydın", "all")
        .await;
    let sessions_before = a
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner)
        .await
        .expect(200)
        .clone();

    // A target appliance with the plan by the same name (ids differ) and a tenant of its own.
    let b = App::start().await;
    let admin_b = b.admin().await.access;
    b.create_tenant(&admin_b, "Yerli").await;
    let other = b.create_tenant(&admin_b, "Yerli 2").await;
    b.put_on_plan(&admin_b, other, "Esnaf", common::limits())
        .await;

    // Suspended first, so its worker stops and what it answers stays still: the bundle must
    // answer the same. (The export suspends a running tenant itself.)
    a.post(
        &format!("/api/v1/tenants/{tenant}/suspend"),
        &admin_a,
        json!({}),
    )
    .await
    .expect(200);
    let ids = a.path_ids(&owner, tenant).await;
    let source = tenant_answers(&a, &owner, tenant, &ids, &[]).await;
    let ok = source.values().filter(|v| v["status"] == 200).count();
    assert!(ok >= 20, "only {ok} reads answered 200: {source:#?}");

    let dir = common::private_tempdir();
    let file = dir.path().join("carsi.bundle");
    let made = export(&a, tenant, &file).await.expect("export");
    assert_eq!(made.sessions_released, 1);
    assert_eq!(made.media, 1);
    assert!(made.rows > 200, "{made:?}");
    // The source's worker stopped before the bundle was written; its sessions are gone.
    assert!(
        a.ready
            .supervisor
            .status(botyard_shards::ids::TenantId(tenant))
            .is_none()
    );
    let row = a
        .get(&format!("/api/v1/tenants/{tenant}"), &admin_a)
        .await
        .expect(200)
        .clone();
    assert_eq!(row["status"], "suspended");
    assert_eq!(
        a.get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner)
            .await
            .expect(200),
        &json!([])
    );
    assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")
    }));

    let done = import(&b, &file, PASS).await.expect("import");
    assert_ne!(done.tenant, tenant);
    assert_eq!((done.source_id, done.members, done.media), (tenant, 2, 1));
    assert!(
        !done.active,
        "it was suspended at the source, so it is here"
    );

    // The owner signs in on the new appliance with the same password; the API key works too.
    let owner_b = b.login("owner@carsi.test", common::PASSWORD).await.access;
    let imported = tenant_answers(&b, &owner_b, done.tenant, &ids, &[]).await;
    let d = diff(&source, &imported);
    assert!(d.is_empty(), "{} reads differ:\n{}", d.len(), d.join("\n"));
    assert_eq!(imported.len(), source.len());
    b.get(
        &format!("/api/v1/tenants/{}/templates", done.tenant),
        &api_key,
    )
    .await
    .expect(200);
    b.login("editor@carsi.test", common::PASSWORD).await;

    // Resumed there, its session runs from the re-sealed secret.
    b.post(
        &format!("/api/v1/tenants/{}/resume", done.tenant),
        &admin_b,
        json!({}),
    )
    .await
    .expect(200);
    let sessions = b
        .get(
            &format!("/api/v1/tenants/{}/sessions", done.tenant),
            &owner_b,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["label"], sessions_before[0]["label"]);
    let mut rx = b
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(done.tenant))
        .expect("a worker for the imported tenant");
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .expect("the imported session signs in")
    .unwrap();

    // A second import of the same bundle is refused and changes nothing.
    let n = tenant_count(&b, &admin_b).await;
    let e = import(&b, &file, PASS).await.expect_err("second import");
    assert!(
        e.contains("bundle.conflict") || e.contains("imported already"),
        "{e}"
    );
    assert_eq!(tenant_count(&b, &admin_b).await, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_bundles_a_wrong_passphrase_and_a_missing_plan_change_nothing() {
    let a = App::start().await;
    let admin_a = a.admin().await.access;
    let (tenant, _, owner) = a
        .tenant_with_owner(&admin_a, "Galata", "owner@galata.test")
        .await;
    a.put_on_plan(&admin_a, tenant, "Liman", common::limits())
        .await;
    a.upload(
        &format!("/api/v1/tenants/{tenant}/media?name=kule.png"),
        &owner.access,
        common::png(5000, 3),
    )
    .await
    .expect(201);
    let dir = common::private_tempdir();
    let file = dir.path().join("galata.bundle");
    export(&a, tenant, &file).await.expect("export");
    // The file exists now: a second export to it is refused.
    let e = export(&a, tenant, &file).await.expect_err("exists");
    assert!(e.contains("exists already"), "{e}");
    // A relative path is refused at the socket (the command makes it absolute).
    let e = client::post::<_, ExportMade>(
        a.data_dir(),
        &format!("/v1/tenants/{tenant}/export"),
        &ExportRequest {
            to: "rel.bundle".into(),
            passphrase: PASS.into(),
        },
    )
    .await
    .expect_err("relative");
    assert!(e.to_string().contains("absolute"), "{e}");

    let b = App::start().await;
    let admin_b = b.admin().await.access;
    let before = tenant_count(&b, &admin_b).await;

    // No plan "Liman" here.
    let e = import(&b, &file, PASS).await.expect_err("missing plan");
    assert!(e.contains("Liman"), "{e}");
    let other = b.create_tenant(&admin_b, "Yerli").await;
    b.put_on_plan(&admin_b, other, "Liman", common::limits())
        .await;
    let before = before + 1;

    let e = import(&b, &file, "yanlis-bir-parola-bu")
        .await
        .expect_err("wrong passphrase");
    assert!(e.contains("damaged") || e.contains("passphrase"), "{e}");

    let bytes = std::fs::read(&file).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("one byte changed", {
            let mut b = bytes.clone();
            let i = b.len() / 2;
            b[i] ^= 0x40;
            b
        }),
        ("cut short", bytes[..bytes.len() - 700].to_vec()),
        ("not a bundle", b"{\"hello\": 1}\n".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, data) in cases {
        let f = dir.path().join("bad.bundle");
        std::fs::write(&f, data).unwrap();
        let e = import(&b, &f, PASS).await.expect_err(what);
        assert!(
            e.contains("damaged") || e.contains("not a tenant bundle") || e.contains("bundle"),
            "{what}: {e}"
        );
        assert_eq!(tenant_count(&b, &admin_b).await, before, "{what}");
    }
    assert!(
        !b.data_dir().join("media").exists()
            || std::fs::read_dir(b.data_dir().join("media"))
                .unwrap()
                .all(|e| e.unwrap().file_name() != "2"),
        "no media left from a failed import"
    );

    // The good file still imports.
    let done = import(&b, &file, PASS).await.expect("import");
    assert_eq!(done.media, 1);
    let media = b
        .get(
            &format!("/api/v1/tenants/{}/media", done.tenant),
            &b.login("owner@galata.test", common::PASSWORD).await.access,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(media.as_array().unwrap().len(), 1, "{media}");
    assert_eq!(tenant_count(&b, &admin_b).await, before + 1);
}
