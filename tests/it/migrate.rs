//! `botyard-migrate sqlite` against a real appliance (in-process, real HTTP) whose bot signs
//! in at the loopback fake datacenter, importing a legacy database written by the repo's
//! script: a dry run changes nothing and names every row it cannot map; the import creates
//! what the mapping names; a second run creates nothing.

use crate::api_telegram::{TOKEN, app_at_test_dc, key};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use botyard_fakedc::FakeDc;
use botyard_fakedc::world::{FakeChat, World};
use botyard_migrate::MigrateError;
use botyard_migrate::sqlite::{self, Created, Options};

fn legacy_db(dir: &Path) -> PathBuf {
    let db = dir.join("legacy.db");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("migrate-tool/legacy/make_legacy_db.py"))
        .arg(&db)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn map() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrate-tool/legacy/aiogram.toml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_bot_is_imported_once_with_every_unmappable_row_named() {
    let world = Arc::new(World::new(
        &[(TOKEN, 5555, "kadikoy_bot")],
        vec![FakeChat {
            id: 1000000099,
            title: "Başka Grup".into(),
            supergroup: true,
            members: 120,
            access_hash: 9,
        }],
    ));
    let dc = FakeDc::start(key(), world).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    let seed_file = seed.path().join("seed.key");
    std::fs::write(&seed_file, key()).unwrap();
    let app = app_at_test_dc(&dc, &seed_file).await;
    let admin = app.admin().await.access;
    let dir = tempfile::tempdir().unwrap();
    let db = legacy_db(dir.path());
    let opts = |dry_run| Options {
        db: db.clone(),
        map: map(),
        tenant: "Kadıköy Kahve".into(),
        server: app.url(""),
        token: admin.clone(),
        dry_run,
    };

    // A dry run: what would be made, every row that cannot be, and nothing changed.
    let r = sqlite::run(&opts(true)).await.expect("dry run");
    let text = r.render();
    assert!(text.starts_with("Dry run"), "{text}");
    assert!(
        text.contains("would create tenant \"Kadıköy Kahve\""),
        "{text}"
    );
    assert!(
        text.contains("would import 4 groups (4 new) and 200 Telegram users"),
        "{text}"
    );
    assert!(text.contains("would create 3 templates of 3"), "{text}");
    assert!(text.contains("would create 3 campaigns"), "{text}");
    let mut named: Vec<(String, String)> = r
        .problems
        .iter()
        .map(|p| (p.kind.to_string(), p.row.clone()))
        .collect();
    named.sort();
    let want: Vec<(String, String)> = [
        ("groups", "-1001000000006"),
        ("groups", "5550001"),
        ("schedules", "4"),
        ("schedules", "5"),
        ("schedules", "6"),
        ("schedules", "7"),
        ("templates", "4"),
        ("users", "0"),
    ]
    .iter()
    .map(|(k, r)| (k.to_string(), r.to_string()))
    .collect();
    assert_eq!(named, want, "{text}");
    let why = |kind: &str, row: &str| {
        r.problems
            .iter()
            .find(|p| p.kind == kind && p.row == row)
            .map(|p| p.why.clone())
            .unwrap()
    };
    assert!(why("schedules", "4").contains("template 9"));
    assert!(why("schedules", "5").contains("every 2 minutes"));
    assert!(why("schedules", "6").contains("five fields"));
    assert!(why("schedules", "7").contains("Mars/Olympus"));
    assert!(why("groups", "5550001").contains("private"));
    assert_eq!(r.created, Created::default());
    let tenants = app.get("/api/v1/tenants", &admin).await.expect(200).clone();
    assert_eq!(tenants["items"].as_array().unwrap().len(), 0, "{tenants}");

    // The import.
    let r = sqlite::run(&opts(false)).await.expect("import");
    assert_eq!(
        r.created,
        Created {
            tenants: 1,
            sessions: 1,
            groups: 4,
            users: 200,
            templates: 3,
            campaigns: 3,
        },
        "{}",
        r.render()
    );
    let t = r.tenant.unwrap();
    let base = format!("/api/v1/tenants/{t}");
    let settings = app
        .get(&format!("{base}/settings"), &admin)
        .await
        .expect(200)
        .clone();
    assert_eq!(settings["time_zone"], "Europe/Istanbul");
    let templates = app
        .get(&format!("{base}/templates"), &admin)
        .await
        .expect(200)
        .clone();
    let id_of = |name: &str| {
        templates
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    };
    let body = |id: u64| {
        let app = &app;
        let admin = &admin;
        let base = &base;
        async move {
            app.get(&format!("{base}/templates/{id}"), admin)
                .await
                .expect(200)["body"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // Telegram's legacy Markdown and plain text, as the HTML that looks the same.
    assert_eq!(
        body(id_of("Kampanya")).await,
        "<b>Hafta sonu</b> indirimi: tüm kahveler %20 ucuz"
    );
    assert_eq!(
        body(id_of("Hatırlatma")).await,
        "Pazar günü kapalıyız. İyi hafta sonları &amp; görüşmek üzere &lt;3"
    );
    let groups = app
        .get(&format!("{base}/groups"), &admin)
        .await
        .expect(200)
        .clone();
    let titles: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Moda Kahve Severler"), "{groups}");
    let aile = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["title"] == "Aile Grubu")
        .unwrap();
    assert_eq!(aile["enabled"], false, "an inactive chat stays off");
    let campaigns = app
        .get(&format!("{base}/campaigns"), &admin)
        .await
        .expect(200)
        .clone();
    let campaigns = campaigns.as_array().unwrap();
    assert_eq!(campaigns.len(), 3);
    assert!(
        campaigns.iter().all(|c| c["state"] == "draft"),
        "{campaigns:?}"
    );
    assert!(
        campaigns
            .iter()
            .any(|c| c["schedule"]["cron"] == "0 9 * * sat"
                && c["chat_ids"] == serde_json::json!([-1001000000002i64])),
        "{campaigns:?}"
    );
    let users = app
        .get(
            &format!("{base}/stats/users?from=2025-01-01&to=2025-12-31"),
            &admin,
        )
        .await;
    users.expect(200);

    // Again: nothing new, the same rows.
    let again = sqlite::run(&opts(false)).await.expect("second import");
    assert_eq!(again.created, Created::default(), "{}", again.render());
    assert_eq!(again.tenant, Some(t));
    assert_eq!(
        app.get(&format!("{base}/campaigns"), &admin)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Bad inputs are clear errors.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, just text").unwrap();
    let mut o = opts(true);
    o.db = garbage;
    let e = sqlite::run(&o).await.expect_err("not a database");
    assert!(matches!(e, MigrateError::Input(_)), "{e}");
    let bad_map = dir.path().join("bad.toml");
    std::fs::write(
        &bad_map,
        "[groups]\ntable = \"chats\"\nchat = \"chat_id\"\n",
    )
    .unwrap();
    let mut o = opts(true);
    o.map = bad_map;
    let e = sqlite::run(&o).await.expect_err("unknown key");
    assert!(e.to_string().contains("chat"), "{e}");
    // A mapping naming a column the database lacks: a clear error, and nothing changes even
    // without --dry-run (the database is read whole before anything is sent).
    let missing = dir.path().join("missing.toml");
    std::fs::write(
        &missing,
        std::fs::read_to_string(map())
            .unwrap()
            .replace("title = \"title\"", "title = \"chat_title\""),
    )
    .unwrap();
    let count = app.get("/api/v1/tenants", &admin).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len();
    let mut o = opts(false);
    o.map = missing;
    o.tenant = "Başka Kahve".into();
    let e = sqlite::run(&o).await.expect_err("a missing column");
    assert!(e.to_string().contains("chat_title"), "{e}");
    assert_eq!(
        app.get("/api/v1/tenants", &admin).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        count
    );
    let mut o = opts(true);
    o.server = "https://example.com".into();
    let e = sqlite::run(&o).await.expect_err("https");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
}
