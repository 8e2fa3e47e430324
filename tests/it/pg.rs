//! `botyard-migrate postgres export` into a real PostgreSQL (a private cluster made with
//! `initdb` in a temporary folder, listening on a Unix socket there only): a full export of
//! two tenants, a second run that changes nothing, an incremental one that carries new
//! statistics, a deleted template and a deleted tenant, and the row-level security a tenant's
//! read-only role meets.

use crate::common;

use std::time::Duration;

use botyard_migrate::postgres::{self, ExportOptions, Exported};
use botyard_migrate::scratch::Cluster;
use botyard_shards::ids::TenantId;
use serde_json::json;

async fn count(c: &botyard_migrate::tokio_postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

async fn templates_of(c: &botyard_migrate::tokio_postgres::Client, tenant: u64) -> i64 {
    count(
        c,
        &format!("SELECT count(*) FROM botyard.templates WHERE tenant_id = {tenant}"),
    )
    .await
}

/// Every exported table's rows as one digest, to see that nothing changed.
async fn digest(c: &botyard_migrate::tokio_postgres::Client) -> String {
    let mut all = String::new();
    for t in ["tenants", "plans", "members"]
        .into_iter()
        .chain(botyard_migrate::pg_schema::SPECS.iter().map(|s| s.table))
    {
        let row = c
            .query_one(
                &format!("SELECT coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM botyard.{t} x"),
                &[],
            )
            .await
            .unwrap();
        all.push_str(&format!("{t}:{} ", row.get::<_, String>(0)));
    }
    all
}

async fn wait_events(app: &common::App, tenant: u64, at_least: u64) {
    let mut rx = app
        .ready
        .supervisor
        .watch(TenantId(tenant))
        .expect("worker");
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.events_stored >= at_least),
    )
    .await
    .expect("events stored")
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_goes_to_postgres_then_only_what_changed() {
    let Some(pg) = Cluster::start().expect("a PostgreSQL cluster") else {
        return;
    };
    let app = common::App::start().await;
    let admin = app.admin().await.access;
    let sim = |seed: u64| {
        json!({"seed": seed, "groups": 3, "members_per_group": 25, "events_per_sec": 1000.0,
               "join_per_mille": 20, "start_at": 1_792_540_800i64, "step_secs": 600})
    };
    let a = app
        .sim_tenant(&admin, "Moda", common::limits(), sim(3))
        .await;
    let b = app
        .sim_tenant(&admin, "Fener", common::limits(), sim(4))
        .await;
    app.template_and_campaign(&a.owner, a.tenant, "Günaydın", "all")
        .await;
    let spare = app
        .post(
            &format!("/api/v1/tenants/{}/templates", a.tenant),
            &a.owner,
            json!({"name": "Silinecek", "body": "geçici"}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    wait_events(&app, a.tenant, 800).await;
    wait_events(&app, b.tenant, 800).await;
    // Their workers stopped, so what the store holds stays still.
    for t in [a.tenant, b.tenant] {
        app.post(&format!("/api/v1/tenants/{t}/suspend"), &admin, json!({}))
            .await
            .expect(200);
    }
    let opts = |full: bool, tenant_roles: bool| ExportOptions {
        server: app.url(""),
        token: admin.clone(),
        pg: pg.conn.clone(),
        schema: "botyard".into(),
        full,
        tenant_roles,
    };

    let first: Exported = postgres::export(&opts(false, false))
        .await
        .expect("full export");
    assert!(first.full && first.tenants == 2, "{first:?}");
    assert!(first.rows > 500, "{first:?}");
    let c = postgres::connect(&pg.conn).await.unwrap();
    let groups_api = app
        .get(&format!("/api/v1/tenants/{}/groups", a.tenant), &admin)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len() as i64;
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT count(*) FROM botyard.groups WHERE tenant_id = {}",
                a.tenant
            )
        )
        .await,
        groups_api
    );
    assert_eq!(templates_of(&c, a.tenant).await, 2);
    let messages = |t: u64| {
        format!(
            "SELECT coalesce(sum(count), 0)::bigint FROM botyard.counters WHERE tenant_id = {t} AND metric = 0"
        )
    };
    let msgs_a = count(&c, &messages(a.tenant)).await;
    assert!(msgs_a > 0);
    assert!(count(&c, "SELECT count(DISTINCT day) FROM botyard.counters").await > 1);
    assert_eq!(
        count(&c, "SELECT count(*) FROM botyard.members").await,
        2,
        "the two owners"
    );
    // No secrets: sessions carry their label and kind only; members have no password column.
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM botyard.sessions WHERE data::text ~* '(key|token|secret|hash)'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'botyard' AND column_name ~ '(password|hash|secret)'").await,
        0
    );
    // Row-level security is forced on every tenant table.
    assert_eq!(
        count(&c, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'botyard' AND c.relkind = 'r' AND c.relname NOT IN ('plans', 'export_state', 'tenant_roles') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)").await,
        0
    );

    // And back: every tenant from PostgreSQL into a fresh appliance (with plans of the same
    // names), each answering every read as at the source, but for what does not travel that
    // way: sessions, media, people, billing.
    let fresh = common::App::start().await;
    let fresh_admin = fresh.admin().await.access;
    for plan in ["Plan Moda", "Plan Fener"] {
        fresh
            .post(
                "/api/v1/plans",
                &fresh_admin,
                json!({"name": plan, "limits": common::limits()}),
            )
            .await
            .expect(201);
    }
    let back_opts = |tenant: Option<u64>, name: Option<&str>| postgres::ImportOptions {
        server: fresh.url(""),
        token: fresh_admin.clone(),
        pg: pg.conn.clone(),
        schema: "botyard".into(),
        tenant,
        name: name.map(str::to_string),
    };
    let back = postgres::import(&back_opts(None, None))
        .await
        .expect("import from PostgreSQL");
    assert_eq!(back.len(), 2, "{back:?}");
    let skip = [
        "/media",
        "/check",
        "/members",
        "/invitations",
        "/api-keys",
        "/subscription",
        "/invoices",
        "/billing",
    ];
    for src in [a.tenant, b.tenant] {
        let copy_id = back.iter().find(|i| i.source == src).unwrap().tenant;
        assert!(back.iter().find(|i| i.source == src).unwrap().rows > 100);
        let ids = app.path_ids(&admin, src).await;
        let mut source = crate::bundle::tenant_answers(&app, &admin, src, &ids, &skip).await;
        let mut copy =
            crate::bundle::tenant_answers(&fresh, &fresh_admin, copy_id, &ids, &skip).await;
        // The record: the same name, active (the source is suspended for this test).
        let record = copy.remove("/api/v1/tenants/T").unwrap();
        let was = source.remove("/api/v1/tenants/T").unwrap();
        assert_eq!(record["body"]["name"], was["body"]["name"]);
        assert_eq!(record["body"]["status"], "active");
        let d = crate::bundle::diff(&source, &copy);
        assert!(d.is_empty(), "{} reads differ:\n{}", d.len(), d.join("\n"));
        assert!(source.values().filter(|v| v["status"] == 200).count() >= 15);
    }
    // Again: refused, the names are taken; one tenant can come under a new name.
    let e = postgres::import(&back_opts(Some(a.tenant), None))
        .await
        .expect_err("the name is taken");
    assert!(e.to_string().contains("already"), "{e}");
    let again = postgres::import(&back_opts(Some(a.tenant), Some("Moda (geri)")))
        .await
        .expect("under a new name");
    assert_eq!(again.len(), 1);

    // Again with nothing changed: nothing sent, nothing different.
    let before = digest(&c).await;
    let again = postgres::export(&opts(false, false))
        .await
        .expect("second export");
    assert!(!again.full, "{again:?}");
    assert_eq!((again.slices, again.rows), (0, 0), "{again:?}");
    assert_eq!(digest(&c).await, before);

    // Changes: a template deleted in one tenant, more statistics in the other.
    app.delete(
        &format!("/api/v1/tenants/{}/templates/{spare}", a.tenant),
        &admin,
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/tenants/{}/resume", b.tenant),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    let stored = app
        .ready
        .supervisor
        .watch(TenantId(b.tenant))
        .expect("worker")
        .borrow()
        .events_stored;
    wait_events(&app, b.tenant, stored + 300).await;
    app.post(
        &format!("/api/v1/tenants/{}/suspend", b.tenant),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    let msgs_b = count(&c, &messages(b.tenant)).await;
    let inc = postgres::export(&opts(false, false))
        .await
        .expect("incremental export");
    assert!(!inc.full && inc.slices > 0, "{inc:?}");
    assert!(inc.rows < first.rows, "{inc:?} against {first:?}");
    assert_eq!(
        templates_of(&c, a.tenant).await,
        1,
        "the deleted template is gone"
    );
    assert!(count(&c, &messages(b.tenant)).await > msgs_b);
    assert_eq!(count(&c, &messages(a.tenant)).await, msgs_a);
    // What an incremental export left equals a full one.
    let after_inc = digest(&c).await;
    postgres::export(&opts(true, false))
        .await
        .expect("full again");
    assert_eq!(digest(&c).await, after_inc, "incremental and full agree");

    // A deleted tenant leaves with every row; the tenant roles see their own tenant only.
    app.delete(&format!("/api/v1/tenants/{}", b.tenant), &admin)
        .await
        .expect(204);
    let r = postgres::export(&opts(false, true))
        .await
        .expect("export with roles");
    assert_eq!(r.tenants, 1);
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT count(*) FROM botyard.counters WHERE tenant_id = {}",
                b.tenant
            )
        )
        .await,
        0
    );
    let role = format!("botyard_tenant_{}", a.tenant);
    let ro = postgres::connect(&pg.conn_as(&role)).await.unwrap();
    assert_eq!(count(&ro, "SELECT count(*) FROM botyard.tenants").await, 1);
    assert_eq!(
        count(&ro, "SELECT count(*) FROM botyard.groups").await,
        groups_api
    );
    // Changing the setting to another tenant opens nothing.
    ro.batch_execute(&format!("SET botyard.tenant_id = '{}'", b.tenant))
        .await
        .unwrap();
    assert_eq!(count(&ro, "SELECT count(*) FROM botyard.groups").await, 0);
    assert!(
        ro.batch_execute("DELETE FROM botyard.groups")
            .await
            .is_err()
    );

    // Without the setting (emptied; a reset brings back the role's own), it sees nothing.
    ro.batch_execute("SET botyard.tenant_id = ''")
        .await
        .unwrap();
    assert_eq!(count(&ro, "SELECT count(*) FROM botyard.groups").await, 0);

    // A role that is not a tenant's sees nothing, whatever it sets; and exporting as a role
    // that row-level security binds is refused before anything is written.
    c.batch_execute(
        "CREATE ROLE plain LOGIN; GRANT USAGE ON SCHEMA botyard TO plain; GRANT SELECT ON ALL TABLES IN SCHEMA botyard TO plain",
    )
    .await
    .unwrap();
    let other = postgres::connect(&pg.conn_as("plain")).await.unwrap();
    assert_eq!(
        count(&other, "SELECT count(*) FROM botyard.groups").await,
        0
    );
    other
        .batch_execute(&format!("SET botyard.tenant_id = '{}'", a.tenant))
        .await
        .unwrap();
    assert_eq!(
        count(&other, "SELECT count(*) FROM botyard.groups").await,
        0
    );
    assert_eq!(
        count(&other, "SELECT count(*) FROM botyard.counters").await,
        0
    );
    let mut o = opts(false, false);
    o.pg = pg.conn_as("plain");
    let e = postgres::export(&o).await.expect_err("no BYPASSRLS");
    assert!(e.to_string().contains("BYPASSRLS"), "{e}");
}
