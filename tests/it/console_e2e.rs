//! The console end to end in a real browser: `e2e/console.mjs` (playwright-core driving
//! Debian's chromium) against two appliances run here in-process: one without an admin (the
//! first-run setup) and one with a simulated tenant whose worker the browser watches die and
//! come back. Screenshots land in `target/e2e-shots/`.
//!
//! It needs `node`, `e2e/node_modules` and chromium: `.ci/run` installs them and sets
//! `BOTYARD_E2E=1`, which makes their absence a failure rather than a skip.

use std::path::PathBuf;

use serde_json::json;

use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, App, PASSWORD};

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Chromium, when it and `e2e/node_modules` are here; `None` means skip (a failure with
/// `BOTYARD_E2E=1`).
pub fn browser() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let required = std::env::var("BOTYARD_E2E").is_ok_and(|v| v == "1");
    let modules = root.join("e2e/node_modules/playwright-core");
    let found = chromium().filter(|_| modules.exists());
    if found.is_none() {
        assert!(
            !required,
            "BOTYARD_E2E=1 but chromium or e2e/node_modules is missing (npm ci in e2e/)"
        );
        eprintln!("skipped: no chromium or e2e/node_modules (set BOTYARD_E2E=1 to require them)");
    }
    found
}

/// Runs `e2e/<script>` with node, `chromium` and `env`, and fails unless it says "all good".
/// With `BOTYARD_E2E_VIDEOS=<dir>` the scripts also record the help's tutorials there
/// (`scripts/help-media.sh`).
pub async fn run_script(script: &str, chromium: &std::path::Path, env: &[(&str, String)]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut node = tokio::process::Command::new("node");
    if let Ok(videos) = std::env::var("BOTYARD_E2E_VIDEOS") {
        node.env("VIDEOS", videos);
    }
    let out = node
        .arg(root.join("e2e").join(script))
        .current_dir(root.join("e2e"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("CHROMIUM", chromium)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser run failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all good"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(chromium) = browser() else {
        return;
    };

    let fresh = App::start_with(|c| {
        c.admin.email = None;
        c.admin.password = None;
    })
    .await;
    let setup_url = fresh.ready.setup_url.clone().expect("setup link");

    let app = App::start().await;
    let admin = app.admin().await;
    let mut limits = common::limits();
    limits["groups"] = json!(20);
    let sim = app
        .sim_tenant(
            &admin.access,
            "Kadikoy Sim",
            limits,
            json!({"seed": 7, "groups": 3, "events_per_sec": 2.0}),
        )
        .await;

    // A transfer on the owner's plan: the subscription screen lists its invoice and the
    // billing screen this month's revenue.
    let plan = app
        .get(&format!("/api/v1/tenants/{}", sim.tenant), &admin.access)
        .await
        .expect(200)["plan_id"]
        .as_u64()
        .unwrap();
    app.put(
        &format!("/api/v1/plans/{plan}/price"),
        &admin.access,
        json!({"stars": 300, "minor": 149_990, "currency": "TRY", "offered": true}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/tenants/{}/payments", sim.tenant),
        &admin.access,
        json!({"amount": 149_990, "currency": "TRY", "paid_on": "2026-12-01", "reference": "EFT-E2E-1"}),
    )
    .await
    .expect(201);

    let shots = root.join("target/e2e-shots");
    run_script(
        "console.mjs",
        &chromium,
        &[
            ("SETUP_URL", setup_url),
            ("BASE", app.ready.base_url.clone()),
            ("ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("SIM_TENANT", sim.tenant.to_string()),
            ("SIM_OWNER", "owner-kadikoy-sim@example.com".into()),
            ("OWNER_PASSWORD", PASSWORD.into()),
            ("SHOTS", shots.display().to_string()),
        ],
    )
    .await;
}
