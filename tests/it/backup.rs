//! Online backups against real files: a backup taken while a simulated session floods the
//! ingestion writers, one taken at rest and restored into a fresh server that must give the
//! same answer to every read of the API, backups that are damaged, sealed, cut short by a full
//! disk, or from a newer schema.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use botyard::commands::admin_client::{self as client, ClientError};
use botyard::domain::backup::{self, BackupError, Passphrase};
use botyard::http::admin_socket::{BackupMade, BackupRequest};
use botyard::worker::telegram::sim::SimConfig;
use common::App;
use serde_json::{Value, json};

const PASS: &str = "kapali-carsi-1461-anahtar";

/// A tenant with a simulated session posting as fast as it is read, a template, a campaign,
/// a media file and a member; returns (tenant, owner's token, session).
async fn busy_tenant(app: &App, admin: &str) -> (u64, String, u64) {
    let (tenant, _, owner) = app
        .tenant_with_owner(admin, "Çarşı", "owner@carsi.test")
        .await;
    app.put_on_plan(admin, tenant, "Plan Çarşı", common::limits())
        .await;
    let owner = owner.access;
    app.upload(
        &format!("/api/v1/tenants/{tenant}/media?name=logo.png"),
        &owner,
        common::png(3000, 7),
    )
    .await
    .expect(201);
    app.add_member(admin, tenant, "editor@carsi.test", "editor")
        .await;
    let sim = SimConfig {
        seed: 7,
        groups: 4,
        members_per_group: 40,
        events_per_sec: 1000.0,
        media_per_mille: 100,
        join_per_mille: 20,
        leave_per_mille: 10,
        start_at: 1_792_540_800,
        step_secs: 30,
        ..SimConfig::default()
    };
    let session = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions"),
            admin,
            json!({"kind": "sim", "label": "sim", "sim": serde_json::to_value(sim).unwrap()}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    app.template_and_campaign(&owner, tenant, "Günaydın", "all")
        .await;
    (tenant, owner, session)
}

fn events_stored(
    app: &App,
    tenant: u64,
) -> tokio::sync::watch::Receiver<botyard::runtime::supervisor::WorkerStatus> {
    app.ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .expect("worker")
}

/// Every read of the API that a backup must give back, by path: status and body. Left out:
/// the tenant's log files and the worker processes (neither is data a backup carries).
async fn answers(
    app: &App,
    admin: &str,
    owner: &str,
    tenant: u64,
    ids: &[(&str, i64)],
) -> BTreeMap<String, Value> {
    let doc: Value = serde_json::from_str(&botyard::http::openapi_json()).unwrap();
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if item.get("get").is_none()
            || path.ends_with("/logs")
            || path.ends_with("/worker")
            || path == "/api/v1/workers"
            || path.starts_with("/api/v1/backups")
        {
            continue;
        }
        let url = common::fill(path, tenant, ids);
        let token = if path.starts_with("/api/v1/tenants/{id}") {
            owner
        } else {
            admin
        };
        let r = app.get(&url, token).await;
        let body = if r.json.is_null() {
            json!(r.text.len())
        } else {
            r.json.clone()
        };
        out.insert(url, json!({"status": r.status, "body": body}));
    }
    out
}

fn diff(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<String> {
    let mut d = Vec::new();
    for (k, v) in a {
        if b.get(k) != Some(v) {
            d.push(format!("{k}:\n  source:   {v}\n  restored: {:?}", b.get(k)));
        }
    }
    d
}

async fn socket_backup(app: &App, req: &BackupRequest) -> Result<BackupMade, ClientError> {
    client::post(app.data_dir(), "/v1/backups", req).await
}

fn restore_into(file: &Path, pass: Option<&Passphrase>) -> tempfile::TempDir {
    let dir = common::private_tempdir();
    backup::restore(file, pass, dir.path()).expect("restore");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_ingestion_and_one_at_rest_restore_to_the_same_answers() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, owner, session) = busy_tenant(&app, &admin).await;
    let mut rx = events_stored(&app, tenant);
    rx.wait_for(|s| s.events_stored >= 2_000).await.unwrap();

    // During ingestion, through the admin socket as `botyard backup create` does, three in
    // a row into a folder of their own.
    let hot_dir = common::private_tempdir();
    let before = rx.borrow().events_stored;
    let mut hot = None;
    for _ in 0..3 {
        let req = BackupRequest {
            to: Some(hot_dir.path().to_path_buf()),
            passphrase: None,
        };
        hot = Some(
            socket_backup(&app, &req)
                .await
                .expect("backup during ingestion"),
        );
    }
    let hot = hot.unwrap();
    rx.changed().await.unwrap();
    let after = rx.borrow().events_stored;
    assert!(after > before, "ingestion went on ({before} → {after})");
    assert_eq!(backup::list(hot_dir.path()).unwrap().len(), 3);
    assert!(!hot.sealed && hot.files == 3 && hot.media == 1, "{hot:?}");
    let checked = backup::verify(&hot.file, None).expect("verify");
    assert!(checked.manifest.master_key.is_none());
    let counters_in = |m: &backup::manifest::Manifest| -> u64 {
        m.files.iter().filter_map(|f| f.rows.get("user_days")).sum()
    };
    assert!(counters_in(&checked.manifest) > 0);

    // At rest: the session gone, every event stored; then a sealed backup through the API.
    app.delete(
        &format!("/api/v1/tenants/{tenant}/sessions/{session}"),
        &owner,
    )
    .await
    .expect(204);
    while rx.changed().await.is_ok() {}
    let r = app
        .post("/api/v1/backups", &admin, json!({"passphrase": PASS}))
        .await;
    r.expect(202);
    let listed = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let v = app.get("/api/v1/backups", &admin).await.expect(200).clone();
            if v["running_since"].is_null() && v["last"]["outcome"] == "made" {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the API's backup ends");
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{listed}");
    assert_eq!(files[0]["sealed"], true);
    let cold = app
        .data_dir()
        .join("backups")
        .join(files[0]["name"].as_str().unwrap());
    assert!(matches!(
        backup::verify(&cold, None),
        Err(BackupError::NeedsPassphrase)
    ));
    let wrong = Passphrase::new("yanlis-anahtar-cumlesi").unwrap();
    assert!(matches!(
        backup::verify(&cold, Some(&wrong)),
        Err(BackupError::Damaged(_))
    ));
    let pass = Passphrase::new(PASS).unwrap();
    backup::verify(&cold, Some(&pass)).expect("verify sealed");

    // The API's file is the same through a download.
    let r = app
        .get(
            &format!("/api/v1/backups/{}", files[0]["name"].as_str().unwrap()),
            &admin,
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-length"),
        Some(std::fs::metadata(&cold).unwrap().len().to_string().as_str())
    );

    let ids = app.path_ids(&owner, tenant).await;
    let now = botyard::clock::Clock::now(&*app.clock);
    let source = answers(&app, &admin, &owner, tenant, &ids).await;
    let read = source.values().filter(|v| v["status"] == 200).count();
    assert!(read >= 35, "only {read} reads answered 200: {source:#?}");
    let final_events = rx.borrow().events_stored;

    // The sealed backup carries its key: the restored server opens with it alone.
    let restored = App::start_in(restore_into(&cold, Some(&pass)), now, |_| {}).await;
    let got = answers(&restored, &admin, &owner, tenant, &ids).await;
    let d = diff(&source, &got);
    assert!(
        d.is_empty(),
        "{} answers differ:\n{}",
        d.len(),
        d.join("\n")
    );
    assert!(
        restored
            .data_dir()
            .join("media")
            .join(tenant.to_string())
            .read_dir()
            .unwrap()
            .count()
            == 1
    );
    restored.stop().await.unwrap();

    // The hot backup: the same accounts, templates and campaigns; statistics as far as it
    // got, which is between what was stored before it started and the end.
    let hot_dir = restore_into(&hot.file, None);
    std::fs::copy(
        app.data_dir().join("master.key"),
        hot_dir.path().join("master.key"),
    )
    .unwrap();
    let restored = App::start_in(hot_dir, now, |_| {}).await;
    let got = answers(&restored, &admin, &owner, tenant, &ids).await;
    for path in [
        format!("/api/v1/tenants/{tenant}/templates"),
        format!("/api/v1/tenants/{tenant}/campaigns"),
        format!("/api/v1/tenants/{tenant}/members"),
        format!("/api/v1/tenants/{tenant}/settings"),
        format!("/api/v1/tenants/{tenant}/media"),
        "/api/v1/tenants".to_string(),
    ] {
        assert_eq!(source.get(&path), got.get(&path), "{path}");
    }
    let summary = |a: &BTreeMap<String, Value>| {
        a[&format!("/api/v1/tenants/{tenant}/stats/summary")]["body"].clone()
    };
    assert_eq!(
        got[&format!("/api/v1/tenants/{tenant}/stats/summary")]["status"],
        200
    );
    let messages = |v: &Value| {
        v["totals"]["messages"]
            .as_u64()
            .or_else(|| v["messages"].as_u64())
    };
    if let (Some(hot_msgs), Some(all_msgs)) =
        (messages(&summary(&got)), messages(&summary(&source)))
    {
        assert!(hot_msgs <= all_msgs, "{hot_msgs} > {all_msgs}");
    }
    assert!(final_events >= after);
    restored.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_backups_are_refused_and_restore_wants_an_empty_folder() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    app.create_tenant(&admin, "Kadıköy").await;
    let made = socket_backup(&app, &BackupRequest::default())
        .await
        .unwrap();
    let bytes = std::fs::read(&made.file).unwrap();
    let work = tempfile::tempdir().unwrap();

    // One byte flipped inside a store file, and the file cut short.
    let flipped = work.path().join("botyard-20260101-000000.tar");
    let mut b = bytes.clone();
    let mid = b.len() / 3;
    b[mid] ^= 0x55;
    std::fs::write(&flipped, &b).unwrap();
    assert!(
        matches!(backup::verify(&flipped, None), Err(BackupError::Damaged(_))),
        "flipped"
    );
    let cut = work.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() - 3000]).unwrap();
    let e = backup::verify(&cut, None).unwrap_err();
    assert!(matches!(e, BackupError::Damaged(_)), "{e}");
    let junk = work.path().join("junk.tar");
    std::fs::write(&junk, b"not a backup at all").unwrap();
    assert!(backup::verify(&junk, None).is_err());

    // A restore that fails leaves nothing behind; a folder with something in it is refused.
    let target = work.path().join("restored");
    assert!(backup::restore(&flipped, None, &target).is_err());
    assert!(!target.exists(), "a failed restore removes what it wrote");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("note.txt"), "mine").unwrap();
    assert!(matches!(
        backup::restore(&made.file, None, &target),
        Err(BackupError::NotEmpty(_))
    ));
    assert_eq!(
        std::fs::read_to_string(target.join("note.txt")).unwrap(),
        "mine"
    );

    // A backup from a newer schema: the catalog's version raised, checksums made to match.
    let newer = work.path().join("newer.tar");
    rewrite_with_newer_schema(&made.file, &newer, work.path());
    let e = backup::restore(&newer, None, &work.path().join("newer-data")).unwrap_err();
    assert!(matches!(e, BackupError::NewerSchema { .. }), "{e}");
    assert!(!work.path().join("newer-data").exists());
    app.stop().await.unwrap();
}

/// Copies a backup with its catalog's schema version set past this binary's, and a manifest
/// that agrees, so only the version is wrong.
fn rewrite_with_newer_schema(src: &Path, dest: &Path, work: &Path) {
    use sha2::Digest;
    let unpacked = work.join("unpacked");
    tar::Archive::new(std::fs::File::open(src).unwrap())
        .unpack(&unpacked)
        .unwrap();
    // The catalog's dump, loaded, changed and dumped again.
    let catalog = unpacked.join("catalog.dump");
    {
        let db_path = work.join("catalog.redb");
        botyard_shards::snapshot::load_dump(
            &mut std::fs::File::open(&catalog).unwrap(),
            &db_path,
            1 << 20,
        )
        .unwrap();
        let db = redb::Database::open(&db_path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(botyard_shards::tables::META)
            .unwrap()
            .insert("schema_version", 999u64)
            .unwrap();
        tx.commit().unwrap();
        let rtx = redb::ReadableDatabase::begin_read(&db).unwrap();
        let mut out = std::fs::File::create(&catalog).unwrap();
        botyard_shards::snapshot::dump_tx(&rtx, &mut out).unwrap();
    }
    let mut m: backup::manifest::Manifest =
        serde_json::from_slice(&std::fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();
    let bytes = std::fs::read(&catalog).unwrap();
    m.files[0].sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    m.files[0].bytes = bytes.len() as u64;
    m.files[0].schema_version = 999;
    std::fs::write(
        unpacked.join("manifest.json"),
        serde_json::to_vec(&m).unwrap(),
    )
    .unwrap();
    let mut b = tar::Builder::new(std::fs::File::create(dest).unwrap());
    let mut names: Vec<PathBuf> = vec!["catalog.dump".into()];
    names.extend(m.files[1..].iter().map(|f| PathBuf::from(&f.path)));
    names.push("manifest.json".into());
    for n in names {
        let data = std::fs::read(unpacked.join(&n)).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, &n, data.as_slice()).unwrap();
    }
    b.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_backup_cleanly_and_the_server_goes_on() {
    let disk = common::private_tempdir();
    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
        .arg(disk.path())
        .status();
    if !matches!(mount, Ok(s) if s.success()) {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (not root?)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(disk.path().to_path_buf());
    let full = disk.path().to_path_buf();
    let app = App::start_with(|c| c.backup.dir = Some(full.clone())).await;
    let admin = app.admin().await.access;
    let tenant = app.create_tenant(&admin, "Beşiktaş").await;

    // Fill the disk but for a few KiB (a backup of this store is about 10 KiB).
    let filled = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=1024", "count=250"])
        .arg(format!("of={}", full.join("filler").display()))
        .status()
        .unwrap();
    assert!(filled.success());
    let e = socket_backup(&app, &BackupRequest::default())
        .await
        .unwrap_err();
    match e {
        ClientError::Refused { code, .. } => assert_eq!(code, "storage.full"),
        e => panic!("{e}"),
    }
    // Nothing that looks like a backup is left, and the server still reads and writes.
    let left: Vec<String> = std::fs::read_dir(&full)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["filler"]);
    assert!(backup::list(&full).unwrap().is_empty());
    app.get(&format!("/api/v1/tenants/{tenant}"), &admin)
        .await
        .expect(200);
    app.create_tenant(&admin, "Üsküdar").await;
    let v = app.get("/api/v1/backups", &admin).await.expect(200).clone();
    assert_eq!(v["last"]["outcome"], "failed", "{v}");

    // Room again: the next backup works and holds the tenant made since.
    std::fs::remove_file(full.join("filler")).unwrap();
    let made = socket_backup(&app, &BackupRequest::default())
        .await
        .expect("the next backup");
    let c = backup::verify(&made.file, None).unwrap();
    assert_eq!(c.manifest.files[0].rows["tenants"], 2);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_backs_up_lists_and_downloads_for_admins_only() {
    use crate::console::Browser;
    let app = App::start().await;
    let admin = app.admin().await.access;
    let tenant = app.create_tenant(&admin, "Moda").await;
    app.add_member(&admin, tenant, "sahip@moda.test", "owner")
        .await;

    let mut b = Browser::new(&app);
    b.sign_in(common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    let page = b.get("/console/backups").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("No backups yet."), "{}", page.text);
    let csrf = page.csrf();
    // A short passphrase is refused and nothing starts.
    let r = b
        .post(
            "/console/backups",
            &[("_csrf", &csrf), ("passphrase", "kısa")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("at least 12"), "{}", r.text);
    let r = b
        .post(
            "/console/backups",
            &[("_csrf", &csrf), ("passphrase", PASS)],
        )
        .await;
    assert_eq!(r.location(), "/console/backups?done=started");
    let name = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(b) = backup::list(&app.data_dir().join("backups"))
                .unwrap()
                .first()
            {
                return b.name.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the backup is made");
    assert!(name.ends_with(".tar.sealed"));
    let page = b.get("/console/backups").await;
    assert!(page.text.contains(&name) && page.text.contains("with key, sealed"));
    let file = b.get(&format!("/console/backups/{name}")).await;
    assert_eq!(file.status, 200);
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&name)
    );
    assert_eq!(b.get("/console/backups/..%2Fmaster.key").await.status, 404);

    // In Turkish too; and an owner sees no such page.
    b.lang = "tr";
    assert!(
        b.get("/console/backups")
            .await
            .text
            .contains("Klasördeki yedekler")
    );
    let mut owner = Browser::new(&app);
    owner.sign_in("sahip@moda.test", common::PASSWORD).await;
    assert_eq!(owner.get("/console/backups").await.status, 404);
    assert_eq!(
        owner.get(&format!("/console/backups/{name}")).await.status,
        404
    );
    app.stop().await.unwrap();
}
