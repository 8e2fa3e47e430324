//! A real Telegram session through the whole product: a Telethon string session is imported
//! through the API, the tenant's sandboxed worker connects with grammers to the loopback fake
//! datacenter, its chats become the tenant's groups and an incoming message is counted.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use botyard_fakedc::FakeDc;
use botyard_fakedc::world::{FakeChat, World, person};
use botyard_shards::ids::TenantId;
use serde_json::json;

pub(crate) fn key() -> [u8; 256] {
    let mut k = [0u8; 256];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(29).wrapping_add(3);
    }
    k
}

/// Telethon's StringSession layout, pointing at the fake datacenter.
fn telethon_string(port: u16) -> String {
    let mut b = vec![2u8, 127, 0, 0, 1];
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&key());
    format!("1{}", base64::engine::general_purpose::URL_SAFE.encode(b))
}

/// An app whose workers may reach `ports`, with a tenant whose owner imported a Telethon
/// session for the fake datacenter on `port`.
struct Imported {
    app: common::App,
    admin: String,
    tenant: u64,
    owner: common::Pair,
    session: u64,
}

async fn import_for_new_tenant(port: u16, ports: Vec<u16>, name: &str, email: &str) -> Imported {
    let app = app_for_fake_dc(ports).await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app.tenant_with_owner(&admin, name, email).await;
    let session = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions/import"),
            &owner.access,
            json!({"label": "Telethon", "string": telethon_string(port)}),
        )
        .await
        .expect(201)["session"]["id"]
        .as_u64()
        .unwrap();
    Imported {
        app,
        admin,
        tenant,
        owner,
        session,
    }
}

/// An app whose workers may reach `ports` of the loopback fake datacenter.
async fn app_for_fake_dc(ports: Vec<u16>) -> common::App {
    common::App::start_with(move |c| {
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        ));
        c.telegram.ports = ports;
        // The fake datacenter listens on loopback: a self-hosted test DC.
        c.telegram.import_allow = vec!["127.0.0.1/32".parse().unwrap()];
        // Faster than a real account's defaults, so campaign tests finish quickly.
        c.delivery.user = botyard::worker::pacing::Pacing {
            per_chat_ms: 1_000,
            per_chat_per_min: 20,
            overall_ms: 200,
            jitter_ms: 100,
        };
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_session_connects_lists_groups_and_counts_messages() {
    let chat = FakeChat {
        id: 4001,
        title: "Kadıköy Esnafı".into(),
        supergroup: false,
        members: 12,
        access_hash: 0,
    };
    let me = person(31337, "Zeynep", Some("zeynep_shop"));
    let world = Arc::new(World::new(&[], vec![chat.clone()]).logged_in(tl_self(me.clone())));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let port = dc.addr().port();

    // The sandbox lets workers reach only the configured ports: the fake's is one.
    let Imported {
        app,
        admin,
        tenant,
        owner,
        session,
    } = import_for_new_tenant(port, vec![443, port], "Zeynep Butik", "zeynep@example.com").await;

    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    let waited = tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .map(|r| r.map(|s| s.clone()));
    let s = match waited {
        Ok(Ok(s)) => s,
        _ => panic!("no dialogs: {:?} {:?}", rx.borrow().sessions, dc.events()),
    };
    match s.sessions.get(&session) {
        Some(botyard::worker::ipc::messages::SessionState::Online { me }) => {
            assert_eq!(me.user_id, 31337);
            assert_eq!(me.username.as_deref(), Some("zeynep_shop"));
            assert!(!me.is_bot);
        }
        other => panic!("{other:?}"),
    }
    // The worker ran sandboxed and still reached the datacenter.
    let sandbox = s.sandbox.clone().unwrap();
    eprintln!(
        "sandbox layers missing: {:?}",
        sandbox
            .missing()
            .iter()
            .map(|l| l.layer.name())
            .collect::<Vec<_>>()
    );

    let groups = app
        .get(&format!("/api/v1/tenants/{tenant}/groups"), &owner.access)
        .await;
    let groups = groups.expect(200).clone();
    assert_eq!(groups[0]["chat_id"], -4001);
    assert_eq!(groups[0]["title"], "Kadıköy Esnafı");
    assert_eq!(groups[0]["members"], 12);

    // A message in the group reaches the counters.
    let ayse = person(901, "Ayşe", None);
    dc.wait_for(|calls, _| calls.iter().any(|c| c.name == "messages.getDialogs"))
        .await;
    dc.push(&world.incoming(&chat, &ayse, "selam"));
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.events_stored >= 1),
    )
    .await
    .expect("the message was stored")
    .unwrap();

    // The worker stores where the session stands; messages it never received (as if it
    // were down) are fetched from Telegram's difference after a restart and counted.
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.syncs_stored >= 1),
    )
    .await
    .expect("the update state was stored")
    .unwrap();
    world.incoming(&chat, &ayse, "kaçırdın");
    world.incoming(&chat, &ayse, "bunu da");
    let before = dc.calls().len();
    app.post(
        &format!("/api/v1/tenants/{tenant}/worker/restart"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    // The restart gives the worker a fresh status (its counters start again).
    let caught_up = async {
        loop {
            let Some(mut rx) = app.ready.supervisor.watch(TenantId(tenant)) else {
                tokio::task::yield_now().await;
                continue;
            };
            if rx.wait_for(|s| s.events_stored >= 2).await.is_ok() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), caught_up)
        .await
        .expect("the missed messages were stored");
    let after: Vec<&str> = dc.calls()[before..].iter().map(|c| c.name).collect();
    assert!(after.contains(&"updates.getDifference"), "{after:?}");
    assert!(!after.contains(&"updates.getState"), "{after:?}");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_telethon_file_fetches_what_its_old_client_missed() {
    let chat = FakeChat {
        id: 4002,
        title: "Moda Esnafı".into(),
        supergroup: false,
        members: 9,
        access_hash: 0,
    };
    let world = Arc::new(
        World::new(&[], vec![chat.clone()]).logged_in(tl_self(person(31338, "Elif", None))),
    );
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let port = dc.addr().port();
    let ayse = person(901, "Ayşe", None);
    // The old Telethon client saw the first message and stopped; two more came after.
    world.incoming(&chat, &ayse, "gördün");
    let file = crate::session_import::make::file(|c| {
        c.execute_batch(
            "CREATE TABLE version (version integer primary key);
             INSERT INTO version VALUES (7);
             CREATE TABLE sessions (dc_id integer primary key, server_address text,
                 port integer, auth_key blob, takeout_id integer);
             CREATE TABLE update_state (id integer primary key, pts integer, qts integer,
                 date integer, seq integer);
             INSERT INTO update_state VALUES (0, 1, 0, 1764750000, 0);",
        )
        .unwrap();
        c.execute(
            "INSERT INTO sessions VALUES (2, '127.0.0.1', ?1, ?2, NULL)",
            rusqlite::params![port, &key()[..]],
        )
        .unwrap();
    });
    world.incoming(&chat, &ayse, "kaçırdın");
    world.incoming(&chat, &ayse, "bunu da");

    let app = app_for_fake_dc(vec![443, port]).await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Elif Moda", "elif@example.com")
        .await;
    common::send(
        app.client
            .post(app.url(&format!(
                "/api/v1/tenants/{tenant}/sessions/import-file?label=Telethon"
            )))
            .bearer_auth(&owner.access)
            .header("content-type", "application/octet-stream")
            .body(file),
    )
    .await
    .expect(201);
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.events_stored >= 2),
    )
    .await
    .expect("the messages after the file's pts were fetched and stored")
    .unwrap();
    let calls: Vec<&str> = dc.calls().iter().map(|c| c.name).collect();
    assert!(calls.contains(&"updates.getDifference"), "{calls:?}");
    assert!(!calls.contains(&"updates.getState"), "{calls:?}");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_bot_is_known_as_a_bot_once_it_signs_in() {
    let chat = FakeChat {
        id: 4003,
        title: "Bot Grubu".into(),
        supergroup: false,
        members: 5,
        access_hash: 0,
    };
    let mut me = tl_self(person(5550001, "Dükkan Bot", Some("dukkan_bot")));
    me.bot = true;
    // `bot` and `bot_info_version` share a flag bit in the TL layout.
    me.bot_info_version = Some(1);
    let world = Arc::new(World::new(&[], vec![chat]).logged_in(me));
    let dc = FakeDc::start(key(), world).await.unwrap();
    let port = dc.addr().port();
    // A Telethon string does not say whether it is a bot's.
    let Imported {
        app,
        tenant,
        owner,
        session,
        ..
    } = import_for_new_tenant(port, vec![443, port], "Bot Dükkanı", "bot@example.com").await;
    let list = format!("/api/v1/tenants/{tenant}/sessions");
    let kind = |v: &serde_json::Value| v.as_array().unwrap()[0]["kind"].clone();
    assert_eq!(
        kind(app.get(&list, &owner.access).await.expect(200)),
        "user"
    );

    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    let online = tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            matches!(
                s.sessions.get(&session),
                Some(botyard::worker::ipc::messages::SessionState::Online { .. })
            )
        }),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if !online {
        let calls: Vec<&str> = dc.calls().iter().map(|c| c.name).collect();
        panic!("not online: {:?} {calls:?}", rx.borrow().sessions);
    }
    // The kind is stored right after the sign-in is reported.
    let shown = async {
        loop {
            let v = app.get(&list, &owner.access).await;
            if kind(v.expect(200)) == "bot" {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), shown)
        .await
        .expect("the session shows as a bot after its sign-in");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_datacenter_shows_when_the_next_try_is() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Imported {
        app,
        tenant,
        owner,
        session,
        ..
    } = import_for_new_tenant(port, vec![443, port], "Kapalı Kapı", "kapali@example.com").await;
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            matches!(
                s.sessions.get(&session),
                Some(botyard::worker::ipc::messages::SessionState::Retrying { attempt, .. }) if *attempt >= 2
            )
        }),
    )
    .await
    .expect("retried twice")
    .unwrap();
    let v = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner.access)
        .await;
    let s = &v.expect(200)[0];
    assert_eq!(s["state"], "retrying", "{s}");
    assert_eq!(s["error_kind"], "temporary");
    assert!(s["retry"]["attempt"].as_u64().unwrap() >= 2, "{s}");
    let next = s["retry"]["next_retry_at"].as_str().unwrap();
    let next: jiff::Timestamp = next.parse().unwrap();
    let now = jiff::Timestamp::now();
    assert!(
        next >= now - jiff::SignedDuration::from_secs(2)
            && next <= now + jiff::SignedDuration::from_secs(400),
        "{next} vs {now}"
    );
    // No socket error reaches the tenant: the fixed sentence only.
    let error = s["error"].as_str().unwrap();
    assert_eq!(
        error,
        "cannot reach Telegram's datacenter (a network error)"
    );
    // Each retry is one readable line in the tenant's log.
    let logs = app
        .get(&format!("/api/v1/tenants/{tenant}/logs"), &owner.access)
        .await;
    let text = logs.expect(200).to_string();
    assert!(text.contains("attempt 1 failed, next try at"), "{text}");
    assert!(!text.contains("refused"), "{text}");
    app.stop().await.unwrap();
}

fn tl_self(mut u: grammers_client::tl::types::User) -> grammers_client::tl::types::User {
    u.is_self = true;
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_makes_the_client_panic_stops_the_session_not_the_worker() {
    let me = person(31338, "Elif", None);
    let world = Arc::new(World::new(&[], vec![]).logged_in(tl_self(me)));
    // users.getUsers answering an empty list makes grammers' get_me panic.
    world.override_next::<grammers_client::tl::functions::users::GetUsers>(
        grammers_client::tl::Serializable::to_bytes(&Vec::<grammers_client::tl::enums::User>::new()),
    );
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let port = dc.addr().port();
    let Imported {
        app,
        tenant,
        owner,
        session,
        ..
    } = import_for_new_tenant(port, vec![port], "Elif Çiçek", "elif@example.com").await;
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    let s = tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            matches!(
                s.sessions.get(&session),
                Some(botyard::worker::ipc::messages::SessionState::Error { .. })
            )
        }),
    )
    .await
    .expect("the session reports its failure")
    .unwrap()
    .clone();
    match s.sessions.get(&session) {
        Some(botyard::worker::ipc::messages::SessionState::Error { reason }) => {
            assert!(reason.contains("unexpected answer"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.state, botyard::runtime::supervisor::WorkerState::Running);
    assert_eq!(s.restarts, 0, "no crash loop");
    let listed = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner.access)
        .await;
    assert_eq!(listed.expect(200)[0]["state"], "error");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_shows_as_revoked_with_an_alert() {
    let me = person(31339, "Can", None);
    let world = Arc::new(World::new(&[], vec![]).logged_in(tl_self(me)));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let port = dc.addr().port();
    let Imported {
        app,
        admin,
        tenant,
        owner,
        session,
    } = import_for_new_tenant(port, vec![port], "Can Kırtasiye", "can@example.com").await;
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .expect("online")
    .unwrap();

    // Telegram stops accepting the key (the user ended the session from another device).
    dc.reject_key(true);
    app.post(
        &format!("/api/v1/tenants/{tenant}/groups/refresh"),
        &owner.access,
        json!({}),
    )
    .await
    .expect(202);
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            s.sessions.get(&session) == Some(&botyard::worker::ipc::messages::SessionState::Revoked)
        }),
    )
    .await
    .expect("revoked")
    .unwrap();
    let listed = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner.access)
        .await;
    let listed = listed.expect(200);
    assert_eq!(listed[0]["state"], "revoked");
    assert_eq!(listed[0]["error_kind"], "permanent");
    assert!(listed[0]["retry"].is_null());
    // A durable alert for the notifications to send, in the admins' audit log.
    let audit = app.get("/api/v1/audit?limit=50", &admin).await;
    let audit = audit.expect(200).clone();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "session.revoked" && a["tenant_id"] == tenant),
        "{audit}"
    );
    app.get("/api/v1/audit", &owner.access)
        .await
        .expect_err(403, "auth.admin_required");
    app.stop().await.unwrap();
}

pub(crate) const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_connects_with_its_token_and_keeps_its_key() {
    let chat = FakeChat {
        id: 4100,
        title: "Moda Pazarı".into(),
        supergroup: true,
        members: 250,
        access_hash: 41,
    };
    let world = Arc::new(World::new(&[(TOKEN, 5555, "yard_bot")], vec![chat]));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    let seed_file = seed.path().join("seed.key");
    std::fs::write(&seed_file, key()).unwrap();
    let app = app_at_test_dc(&dc, &seed_file).await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Moda Kitabevi", "moda@example.com")
        .await;
    let base = format!("/api/v1/tenants/{tenant}/sessions");

    // Refused tokens are clear errors and leave nothing behind.
    app.post(
        &base,
        &owner.access,
        json!({"kind": "bot", "label": "x", "token": "nope"}),
    )
    .await
    .expect_err(422, "session.token_format");
    app.post(
        &base,
        &owner.access,
        json!({"kind": "bot", "label": "Yanlış", "token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"}),
    )
    .await
    .expect_err(422, "session.token_invalid");
    assert!(
        app.get(&base, &owner.access)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty()
    );

    let r = app
        .post(
            &base,
            &owner.access,
            json!({"kind": "bot", "label": "Dükkan botu", "token": TOKEN}),
        )
        .await;
    let v = r.expect(201).clone();
    assert_eq!(v["kind"], "bot");
    assert_eq!(v["state"], "online");
    assert_eq!(v["username"], "yard_bot");
    let session = v["id"].as_u64().unwrap();
    // The token never comes back.
    let listed = app.get(&base, &owner.access).await;
    assert!(!listed.text.contains("AAHdqTcv"));

    // Restarted, the worker reuses the stored key: no second sign-in.
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .unwrap()
    .unwrap();
    app.post(
        &format!("/api/v1/tenants/{tenant}/worker/restart"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            matches!(
                s.sessions.get(&session),
                Some(botyard::worker::ipc::messages::SessionState::Online { .. })
            ) && s.dialogs_reported >= 1
        }),
    )
    .await
    .expect("online again")
    .unwrap();
    let sign_ins = dc
        .calls()
        .iter()
        .filter(|c| c.name == "auth.importBotAuthorization")
        .count();
    assert_eq!(
        sign_ins, 2,
        "one refused token, one sign-in, none on restart"
    );
    assert!(dc.calls().iter().any(|c| c.name == "users.getUsers"));
    let groups = app
        .get(&format!("/api/v1/tenants/{tenant}/groups"), &owner.access)
        .await;
    assert_eq!(groups.expect(200)[0]["title"], "Moda Pazarı");
    app.stop().await.unwrap();
}

/// An app whose new sessions start at the test datacenter `dc`, with the auth key in `seed`
/// that it knows.
pub(crate) async fn app_at_test_dc(dc: &FakeDc, seed: &std::path::Path) -> common::App {
    app_at_test_dc_with(dc, seed, |_| {}).await
}

/// [`app_at_test_dc`], with `tweak` applied to the rest of the configuration.
pub(crate) async fn app_at_test_dc_with(
    dc: &FakeDc,
    seed: &std::path::Path,
    tweak: impl FnOnce(&mut botyard::config::Config) + Send + 'static,
) -> common::App {
    let port = dc.addr().port();
    let addr = dc.addr();
    let seed = seed.to_path_buf();
    common::App::start_with(move |c| {
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        ));
        c.telegram.ports = vec![port];
        c.telegram.dc = (2, addr);
        c.telegram.seed_auth_key_file = Some(seed);
        tweak(c);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_by_phone_with_2fa_through_the_api() {
    use botyard_fakedc::world::CODE;
    let world = Arc::new(World::new(&[], vec![]).with_account(
        "+905551112233",
        person(7001, "Selin", Some("selin_butik")),
        Some("mavi-kedi"),
    ));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let app = app_at_test_dc(&dc, &seed.path().join("k")).await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Selin Butik", "selin@example.com")
        .await;
    let owner = owner.access;
    let base = format!("/api/v1/tenants/{tenant}/logins");

    app.post(
        &base,
        &owner,
        json!({"method": "phone", "label": "x", "phone": "0555"}),
    )
    .await
    .expect_err(422, "login.phone_format");
    app.post(
        &base,
        &owner,
        json!({"method": "phone", "label": "x", "phone": "+90 000 000 00 00"}),
    )
    .await
    .expect_err(422, "login.invalid_phone");

    let r = app
        .post(
            &base,
            &owner,
            json!({"method": "phone", "label": "Selin'in hesabı", "phone": "+90 555 111 22 33"}),
        )
        .await;
    let v = r.expect(201).clone();
    assert_eq!(v["state"], "code_sent");
    let login = v["login_id"].as_u64().unwrap();
    let at = |what: &str| format!("{base}/{login}/{what}");

    app.post(&at("code"), &owner, json!({"code": "99999"}))
        .await
        .expect_err(422, "login.invalid_code");
    let v = app.post(&at("code"), &owner, json!({"code": CODE})).await;
    let v = v.expect(200).clone();
    assert_eq!(v["state"], "password_needed");
    assert_eq!(v["hint"], "kedinin adı");
    app.post(&at("password"), &owner, json!({"password": "yanlış"}))
        .await
        .expect_err(422, "login.invalid_password");
    let v = app
        .post(&at("password"), &owner, json!({"password": "mavi-kedi"}))
        .await;
    let v = v.expect(200).clone();
    assert_eq!(v["state"], "done");
    assert_eq!(v["session"]["kind"], "user");
    let session = v["session"]["id"].as_u64().unwrap();

    // The new session runs in the worker with the key the login made.
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            matches!(
                s.sessions.get(&session),
                Some(botyard::worker::ipc::messages::SessionState::Online { me }) if me.user_id == 7001
            )
        }),
    )
    .await
    .expect("the logged-in session is online")
    .unwrap();
    // The finished login is gone; the password never reached the logs.
    app.get(&format!("{base}/{login}"), &owner)
        .await
        .expect_err(404, "resource.not_found");
    let logs = app
        .get(
            &format!("/api/v1/tenants/{tenant}/logs?level=debug&limit=1000"),
            &admin,
        )
        .await;
    assert!(!logs.text.contains("mavi-kedi"));
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_by_qr_code_through_the_api() {
    let world = Arc::new(World::new(&[], vec![]));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let app = app_at_test_dc(&dc, &seed.path().join("k")).await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Emre Kafe", "emre@example.com")
        .await;
    let owner = owner.access;
    let base = format!("/api/v1/tenants/{tenant}/logins");
    let v = app
        .post(&base, &owner, json!({"method": "qr", "label": "Emre"}))
        .await;
    let v = v.expect(201).clone();
    assert_eq!(v["state"], "qr");
    assert!(
        v["qr_url"]
            .as_str()
            .unwrap()
            .starts_with("tg://login?token=")
    );
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let login = v["login_id"].as_u64().unwrap();

    // Not scanned yet: polling shows the code.
    let v = app.get(&format!("{base}/{login}"), &owner).await;
    assert_eq!(v.expect(200)["state"], "qr");
    // Scanned on the phone: the login finishes, and the next poll makes it a session.
    dc.push(&world.scan_qr(person(7004, "Emre", Some("emre_kafe"))));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let v = app.get(&format!("{base}/{login}"), &owner).await;
        let v = v.expect(200).clone();
        if v["state"] == "done" {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), rx.changed()).await;
    };
    assert_eq!(done["session"]["kind"], "user");
    let sessions = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner)
        .await;
    assert_eq!(sessions.expect(200).as_array().unwrap().len(), 1);

    // A pending login lives as long as its worker: a restart loses it, and the API says so.
    let v = app
        .post(&base, &owner, json!({"method": "qr", "label": "İkinci"}))
        .await;
    let second = v.expect(201)["login_id"].as_u64().unwrap();
    app.post(
        &format!("/api/v1/tenants/{tenant}/worker/restart"),
        &admin,
        json!({}),
    )
    .await
    .expect(200);
    app.get(&format!("{base}/{second}"), &owner)
        .await
        .expect_err(409, "login.lost");
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_login_moves_to_the_accounts_datacenter_and_asks_for_its_password() {
    let user = person(7300, "Defne", Some("defne_cicek"));
    let w2 = Arc::new(World::new(&[], vec![]));
    let w4 = Arc::new(
        World::new(&[], vec![])
            .with_account("+905556667788", user.clone(), Some("papatya"))
            .on_dc(4),
    );
    let dc2 = FakeDc::start(key(), w2.clone()).await.unwrap();
    let dc4 = FakeDc::start(key(), w4.clone()).await.unwrap();
    let dcs = [(2, dc2.addr()), (4, dc4.addr())];
    w2.set_dcs(&dcs);
    w4.set_dcs(&dcs);
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let (addr, seed_file) = (dc2.addr(), seed.path().join("k"));
    let ports = vec![dc2.addr().port(), dc4.addr().port()];
    let app = common::App::start_with(move |c| {
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        ));
        c.telegram.ports = ports;
        c.telegram.dc = (2, addr);
        c.telegram.seed_auth_key_file = Some(seed_file);
    })
    .await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Defne Çiçekçilik", "defne@example.com")
        .await;
    let owner = owner.access;
    let base = format!("/api/v1/tenants/{tenant}/logins");
    let v = app
        .post(&base, &owner, json!({"method": "qr", "label": "Defne"}))
        .await;
    let login = v.expect(201)["login_id"].as_u64().unwrap();

    // Scanned on a phone whose account lives on datacenter 4, with a 2FA password.
    w4.accept_login_token(user);
    dc2.push(&w2.scan_qr_from_dc(4));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = app.get(&format!("{base}/{login}"), &owner).await;
        let v = v.expect(200).clone();
        if v["state"] == "password_needed" {
            assert_eq!(v["hint"], "kedinin adı");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), rx.changed()).await;
    }
    let v = app
        .post(
            &format!("{base}/{login}/password"),
            &owner,
            json!({"password": "papatya"}),
        )
        .await;
    let v = v.expect(200).clone();
    assert_eq!(v["state"], "done");
    let session = v["session"]["id"].as_u64().unwrap();
    // The session runs on datacenter 4 from now on.
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| {
            matches!(
                s.sessions.get(&session),
                Some(botyard::worker::ipc::messages::SessionState::Online { me }) if me.user_id == 7300
            )
        }),
    )
    .await
    .expect("the session is online")
    .unwrap();
    assert!(
        dc4.calls()
            .iter()
            .any(|c| c.name == "messages.getDialogs" && c.connection > 1),
        "the worker talks to datacenter 4"
    );
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_bot_runs_on_its_token_in_its_own_worker() {
    let world = Arc::new(World::new(&[(TOKEN, 6000, "yard_platform_bot")], vec![]));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let port = dc.addr().port();
    let addr = dc.addr();
    let seed_file = seed.path().join("k");
    let app = common::App::start_with(move |c| {
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        ));
        c.telegram.ports = vec![port];
        c.telegram.dc = (2, addr);
        c.telegram.seed_auth_key_file = Some(seed_file);
        c.platform.bot_token = Some(botyard::config::Secret::new(TOKEN));
    })
    .await;
    let admin = app.admin().await.access;
    let s = app.platform_online().await;
    match s.sessions.get(&1) {
        Some(botyard::worker::ipc::messages::SessionState::Online { me }) => {
            assert_eq!(me.username.as_deref(), Some("yard_platform_bot"));
            assert!(me.is_bot);
        }
        other => panic!("{other:?}"),
    }
    let workers = app.get("/api/v1/workers", &admin).await;
    let workers = workers.expect(200).clone();
    assert!(
        workers
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["worker"] == "platform" && w["state"] == "running"),
        "{workers}"
    );
    assert!(
        dc.calls()
            .iter()
            .any(|c| c.name == "auth.importBotAuthorization")
    );
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_posts_each_target_exactly_once() {
    let chats: Vec<FakeChat> = (0..6)
        .map(|i| FakeChat {
            id: 5001 + i,
            title: format!("Şube {i}"),
            supergroup: i >= 4,
            members: 10 + i as i32,
            access_hash: if i >= 4 { 77_000 + i } else { 0 },
        })
        .collect();
    let me = person(31340, "Deniz", None);
    let world = Arc::new(World::new(&[], chats).logged_in(tl_self(me)));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let port = dc.addr().port();
    let Imported {
        app,
        tenant,
        owner,
        session,
        ..
    } = import_for_new_tenant(port, vec![port], "Deniz Kırtasiye", "deniz@example.com").await;
    let owner = owner.access;
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    enable_tagged(&app, &mut rx, tenant, &owner, "subeler").await;
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{tenant}/templates"),
            &owner,
            json!({"name": "Okul", "body": "**{group.title}**: okul listeleri hazır",
                   "buttons": [[{"label": "Sipariş", "url": "https://deniz.example.com/siparis"}]]}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let c = app
        .post(
            &format!("/api/v1/tenants/{tenant}/campaigns"),
            &owner,
            json!({"name": "Okul", "template_id": tpl, "tags": ["subeler"], "session_id": session,
                   "schedule": {"every_minutes": 60}, "delete_previous": true, "pin": true}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let base = format!("/api/v1/tenants/{tenant}/campaigns/{c}");

    // Telegram takes the third post, but its answer never arrives; the worker is killed
    // while it waits.
    world.swallow_sends_from(Some(3));
    app.post(&format!("{base}/run"), &owner, json!({}))
        .await
        .expect(202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while world.sent().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "three posts: {:?}",
            world.sent().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    world.swallow_sends_from(None);
    let pid = app
        .get(&format!("/api/v1/tenants/{tenant}/worker"), &owner)
        .await
        .expect(200)["pid"]
        .as_i64()
        .unwrap();
    assert_eq!(unsafe_free_kill(pid), 0);
    tokio::time::timeout(
        Duration::from_secs(90),
        rx.wait_for(|s| s.deliveries_settled >= 6),
    )
    .await
    .expect("all six settled after the restart")
    .unwrap();

    // Each group got exactly one post; Telegram refused the resent third by its random id.
    let sent = world.sent();
    assert_eq!(sent.len(), 6, "{sent:?}");
    let mut peers: Vec<String> = sent.iter().map(|m| format!("{:?}", m.peer)).collect();
    peers.sort();
    peers.dedup();
    assert_eq!(peers.len(), 6);
    let run = app
        .get(&format!("{base}/runs/1"), &owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(run["sent"], 6, "{run}");
    let unknown_ids = run["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["message_id"] == 0)
        .count();
    assert_eq!(unknown_ids, 1, "the post whose answer was lost: {run}");
    assert!(
        app.get(&format!("/api/v1/tenants/{tenant}/worker"), &owner)
            .await
            .expect(200)["restarts"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // The posts were pinned, with their buttons.
    assert!(world.pinned().len() >= 5, "{:?}", world.pinned());

    // The next run deletes the previous posts it knows the ids of, then posts again.
    app.post(&format!("{base}/run"), &owner, json!({}))
        .await
        .expect(202);
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.deliveries_settled >= 12),
    )
    .await
    .expect("second run settled")
    .unwrap();
    assert_eq!(world.sent().len(), 12);
    assert_eq!(world.deleted().len(), 5, "{:?}", world.deleted());
    app.stop().await.unwrap();
}

/// Sends SIGKILL through the `kill` command, keeping the test free of `unsafe`.
fn unsafe_free_kill(pid: i64) -> i32 {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .map(|s| s.code().unwrap_or(-1))
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_posts_media_the_worker_reads_from_the_tenants_folder() {
    let chats: Vec<FakeChat> = (0..2)
        .map(|i| FakeChat {
            id: 6001 + i,
            title: format!("Vitrin {i}"),
            supergroup: i == 1,
            members: 40,
            access_hash: if i == 1 { 88_001 } else { 0 },
        })
        .collect();
    let world = Arc::new(World::new(&[], chats).logged_in(tl_self(person(31341, "Ece", None))));
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let port = dc.addr().port();
    let Imported {
        app,
        tenant,
        owner,
        session,
        ..
    } = import_for_new_tenant(port, vec![port], "Ece Foto", "ece@example.com").await;
    let owner = owner.access;
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    enable_tagged(&app, &mut rx, tenant, &owner, "vitrin").await;
    let (media, png) = upload_png(&app, tenant, &owner, 70_000, 7).await;
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{tenant}/templates"),
            &owner,
            json!({"name": "Vitrin", "body": "Yeni sezon: **{group.title}**", "media_id": media}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let c = app
        .post(
            &format!("/api/v1/tenants/{tenant}/campaigns"),
            &owner,
            json!({"name": "Vitrin", "template_id": tpl, "tags": ["vitrin"], "session_id": session,
                   "schedule": {"every_minutes": 60}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    app.post(
        &format!("/api/v1/tenants/{tenant}/campaigns/{c}/run"),
        &owner,
        json!({}),
    )
    .await
    .expect(202);
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.deliveries_settled >= 2),
    )
    .await
    .expect("settled")
    .unwrap();
    let sent = world.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for m in &sent {
        let media = m.media.as_ref().expect("a media post");
        assert_eq!((media.kind, media.size), ("photo", png.len()));
        assert!(m.text.starts_with("Yeni sezon: Vitrin"), "{}", m.text);
    }
    // One upload served both groups.
    assert_eq!(world.upload_calls(), 1);
    app.stop().await.unwrap();
}

/// Once the session's dialogs are in, turns every group on for automation with `tag`.
async fn enable_tagged(
    app: &common::App,
    rx: &mut tokio::sync::watch::Receiver<botyard::runtime::supervisor::WorkerStatus>,
    tenant: u64,
    owner: &str,
    tag: &str,
) {
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .expect("dialogs")
    .unwrap();
    let groups = app
        .get(&format!("/api/v1/tenants/{tenant}/groups"), owner)
        .await
        .expect(200)
        .clone();
    for g in groups.as_array().unwrap() {
        app.patch(
            &format!("/api/v1/tenants/{tenant}/groups/{}", g["chat_id"]),
            owner,
            json!({"enabled": true, "tags": [tag]}),
        )
        .await
        .expect(200);
    }
}

/// Waits until the fake datacenter holds `n` posts.
pub(crate) async fn posts(world: &World, n: usize) -> Vec<botyard_fakedc::world::Sent> {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let sent = world.sent();
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} posts did not arrive: {:?}", world.sent()))
}

pub(crate) fn to_user(p: &botyard_fakedc::world::Sent) -> Option<(i64, i64)> {
    match &p.peer {
        grammers_client::tl::enums::InputPeer::User(u) => Some((u.user_id, u.access_hash)),
        _ => None,
    }
}

/// The fake DC serving `world`, and an appliance whose platform bot is `yard_platform_bot`
/// there (the seed key's folder lives as long as the returned guard).
pub(crate) async fn platform_app(world: &Arc<World>) -> (FakeDc, tempfile::TempDir, common::App) {
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let (port, addr, seed_file) = (dc.addr().port(), dc.addr(), seed.path().join("k"));
    let app = common::App::start_with(move |c| {
        c.telegram.api_id = Some(11);
        c.telegram.api_hash = Some(botyard::config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        ));
        c.telegram.ports = vec![port];
        c.telegram.dc = (2, addr);
        c.telegram.seed_auth_key_file = Some(seed_file);
        c.platform.bot_token = Some(botyard::config::Secret::new(TOKEN));
    })
    .await;
    (dc, seed, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_links_its_telegram_by_start_code_and_gets_test_posts_there() {
    let world = Arc::new(World::new(&[(TOKEN, 6000, "yard_platform_bot")], vec![]));
    let (dc, _seed, app) = platform_app(&world).await;
    let admin = app.admin().await.access;
    let mut limits = common::limits();
    limits["campaigns"] = json!(5);
    let t = app
        .sim_tenant(&admin, "Ece Foto", limits, json!({"seed": 5, "groups": 2}))
        .await;
    let owner = t.owner.clone();
    let tenant = t.tenant;
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    enable_tagged(&app, &mut rx, tenant, &owner, "vitrin").await;
    app.platform_online().await;

    let (media, png) = upload_png(&app, tenant, &owner, 40_000, 9).await;
    let tpl = app
        .post(
            &format!("/api/v1/tenants/{tenant}/templates"),
            &owner,
            json!({"name": "Vitrin", "body": "Yeni sezon: **{group.title}**", "media_id": media,
                   "buttons": [[{"label": "Mağaza", "url": "https://ece.example/magaza"}]]}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let c = app
        .post(
            &format!("/api/v1/tenants/{tenant}/campaigns"),
            &owner,
            json!({"name": "Vitrin", "template_id": tpl, "tags": ["vitrin"], "session_id": t.session,
                   "schedule": {"every_minutes": 60}}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let test = format!("/api/v1/tenants/{tenant}/campaigns/{c}/test");

    // The link: a one-time code, opened in Telegram as `/start <code>`.
    let link = app
        .post("/api/v1/auth/telegram/link", &owner, json!({}))
        .await
        .expect(201)
        .clone();
    let code = link["code"].as_str().unwrap().to_string();
    assert_eq!(link["bot_username"], "yard_platform_bot");
    assert_eq!(
        link["url"],
        format!("https://t.me/yard_platform_bot?start={code}")
    );
    let ece = person(555_001, "Ece", Some("ece_foto"));
    // Private chatter that is not a command is not the product's to read or answer.
    dc.push(&world.private_message(&ece, "merhaba"));
    dc.push(&world.private_message(&ece, &format!("/start {code}")));
    let sent = posts(&world, 1).await;
    assert_eq!(to_user(&sent[0]), Some((555_001, 555_001 * 7)), "{sent:?}");
    assert!(sent[0].text.contains("linked"), "{}", sent[0].text);
    let me = app
        .get("/api/v1/auth/telegram", &owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (
            &me["linked"],
            &me["user_id"],
            &me["first_name"],
            &me["username"]
        ),
        (
            &json!(true),
            &json!(555_001),
            &json!("Ece"),
            &json!("ece_foto")
        )
    );

    // The test post: the campaign's media, caption and buttons, in the private chat.
    let r = app.post(&test, &owner, json!({})).await.expect(200).clone();
    assert_eq!(r["telegram_user_id"], 555_001);
    let sent = posts(&world, 2).await;
    let p = &sent[1];
    assert_eq!(to_user(p), Some((555_001, 555_001 * 7)));
    assert_eq!(r["message_id"], p.id);
    let m = p.media.as_ref().expect("the template's photo");
    assert_eq!((m.kind, m.size), ("photo", png.len()));
    assert!(p.text.starts_with("Yeni sezon: "), "{}", p.text);
    // Nothing was posted to the groups (they are simulated; a test is not a run).
    let runs = app
        .get(
            &format!("/api/v1/tenants/{tenant}/campaigns/{c}/runs"),
            &owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(runs, json!([]));

    // A used code is refused, in both languages; nothing else changes. (Another user: the
    // bot answers each user at most once every 5 s.)
    let deniz = person(555_002, "Deniz", None);
    dc.push(&world.private_message(&deniz, &format!("/start {code}")));
    let sent = posts(&world, 3).await;
    assert!(sent[2].text.contains("expired"), "{}", sent[2].text);
    assert_eq!(to_user(&sent[2]), Some((555_002, 555_002 * 7)));
    assert!(sent[2].text.contains("süresi doldu"), "{}", sent[2].text);
    assert_eq!(sent.len(), 3, "'merhaba' got no answer: {sent:?}");
    app.stop().await.unwrap();
}

/// Uploads a real PNG padded with `fill` to `len` bytes as the tenant's `vitrin.png`;
/// returns its media id and bytes.
async fn upload_png(
    app: &common::App,
    tenant: u64,
    owner: &str,
    len: usize,
    fill: u8,
) -> (u64, Vec<u8>) {
    let png = common::png(len, fill);
    let media = app
        .upload(
            &format!("/api/v1/tenants/{tenant}/media?name=vitrin.png"),
            owner,
            png.clone(),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    (media, png)
}

/// An imported session may name only Telegram's datacenters: not this host, not the cloud's
/// metadata service. Nothing is stored, no worker starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_naming_an_internal_address_is_refused() {
    let app = common::App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Sonda", "sonda@example.com")
        .await;
    for (ip, port) in [([127, 0, 0, 1], 80u16), ([169, 254, 169, 254], 80)] {
        let mut b = vec![2u8];
        b.extend_from_slice(&ip);
        b.extend_from_slice(&port.to_be_bytes());
        b.extend_from_slice(&[7u8; 256]);
        let s = format!("1{}", base64::engine::general_purpose::URL_SAFE.encode(&b));
        let r = app
            .post(
                &format!("/api/v1/tenants/{tenant}/sessions/import"),
                &owner.access,
                json!({"label": "Sonda", "string": s}),
            )
            .await;
        r.expect_err(422, "import.address");
    }
    let sessions = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &owner.access)
        .await;
    assert_eq!(sessions.expect(200), &json!([]));
    assert!(
        app.ready
            .supervisor
            .status(botyard_shards::ids::TenantId(tenant))
            .is_none()
    );
}

/// The console's pages drive the same logins as the API (each on its own fake DC: one auth
/// key belongs to one session).
async fn console_login_setup(
    account: Option<(&str, i64)>,
) -> (
    FakeDc,
    Arc<World>,
    tempfile::TempDir,
    common::App,
    u64,
    crate::console::Browser,
    String,
) {
    let mut world = World::new(&[], vec![]);
    if let Some((phone, id)) = account {
        world = world.with_account(
            phone,
            person(id, "Derya", Some("derya_cicek")),
            Some("mor-lale"),
        );
    }
    let world = Arc::new(world);
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let app = app_at_test_dc(&dc, &seed.path().join("k")).await;
    let admin = app.admin().await.access;
    let (tenant, _, _) = app
        .tenant_with_owner(&admin, "Derya Çiçek", "derya@example.com")
        .await;
    let mut b = crate::console::Browser::new(&app);
    b.sign_in("derya@example.com", common::PASSWORD).await;
    let csrf = b.get(&format!("/console/tenants/{tenant}")).await.csrf();
    (dc, world, seed, app, tenant, b, csrf)
}

#[tokio::test]
async fn the_console_logs_a_user_in_by_phone_with_2fa() {
    use botyard_fakedc::world::CODE;
    let (_dc, _world, _seed, _app, tenant, mut b, csrf) =
        console_login_setup(Some(("+905551112244", 7101))).await;
    // A wrong code says so on the page, then the code, then the password.
    let r = b
        .post(
            &format!("/console/tenants/{tenant}/logins"),
            &[
                ("_csrf", &csrf),
                ("method", "phone"),
                ("label", "Derya"),
                ("phone", "+90 555 111 22 44"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let login_page = r.location().to_string();
    let page = b.get(&login_page).await;
    assert!(page.text.contains("tg-code"), "{}", page.text);
    let wrong = b
        .post(
            &format!("{login_page}/code"),
            &[("_csrf", &csrf), ("code", "99999")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text.contains("role=\"alert\"") && wrong.text.contains("tg-code"));
    let next = b
        .post(
            &format!("{login_page}/code"),
            &[("_csrf", &csrf), ("code", CODE)],
        )
        .await;
    assert_eq!(next.status, 200);
    assert!(next.text.contains("tg-pw"), "the 2FA step: {}", next.text);
    let done = b
        .post(
            &format!("{login_page}/password"),
            &[("_csrf", &csrf), ("password", "mor-lale")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(
        done.location(),
        format!("/console/tenants/{tenant}?done=login")
    );
    let page = b.get(done.location()).await;
    assert!(page.text.contains("The account is logged in"));
    assert!(!page.text.contains("mor-lale"));
}

#[tokio::test]
async fn the_console_shows_a_qr_code_until_it_is_scanned() {
    let (dc, world, _seed, app, tenant, mut b, csrf) = console_login_setup(None).await;
    let r = b
        .post(
            &format!("/console/tenants/{tenant}/logins"),
            &[("_csrf", &csrf), ("method", "qr"), ("label", "Derya QR")],
        )
        .await;
    assert_eq!(r.status, 303);
    let login_page = r.location().to_string();
    let page = b.get(&login_page).await;
    assert!(page.text.contains("<svg"), "{}", page.text);
    assert!(page.text.contains("hx-trigger=\"every 2s\""));
    dc.push(&world.scan_qr(person(7102, "Derya", Some("derya_qr"))));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let url = format!("{}{login_page}/stage", b.base);
        let req = b.client.get(url).header("HX-Request", "true");
        let s = b.send(req).await;
        if s.headers.contains_key("hx-redirect") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", s.text);
        let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), rx.changed()).await;
    }
    let admin = app.admin().await.access;
    let sessions = app
        .get(&format!("/api/v1/tenants/{tenant}/sessions"), &admin)
        .await;
    assert_eq!(sessions.expect(200).as_array().unwrap().len(), 1);
}

/// The web-app button under a bot's answer, if it has one.
fn web_app_url(p: &botyard_fakedc::world::Sent) -> Option<String> {
    use grammers_client::tl::enums::{
        InlineButtonType, KeyboardInlineButton, KeyboardInlineButtonRow, ReplyMarkup,
    };
    let Some(ReplyMarkup::ReplyInlineMarkup(m)) = &p.markup else {
        return None;
    };
    m.rows.iter().find_map(|r| {
        let KeyboardInlineButtonRow::Row(r) = r;
        r.buttons.iter().find_map(|b| {
            let KeyboardInlineButton::Button(b) = b;
            match &b.r#type {
                InlineButtonType::WebView(w) => Some(w.url.clone()),
                _ => None,
            }
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_bot_opens_the_mini_app_and_hands_out_one_time_console_links() {
    let world = Arc::new(World::new(&[(TOKEN, 6000, "yard_platform_bot")], vec![]));
    let (dc, _seed, app) = platform_app(&world).await;
    let admin = app.admin().await.access;
    app.tenant_with_owner(&admin, "Moda Kitap", "kitap@example.com")
        .await;
    app.platform_online().await;
    let app_url = format!("{}/app", app.ready.base_url);
    // The menu button opens the Mini-App; it was set when the bot signed in.
    assert_eq!(
        world.menu_button(),
        Some(("botyard".to_string(), app_url.clone()))
    );

    // /start answers with a button that opens the app.
    let zeynep = person(556_001, "Zeynep", None);
    dc.push(&world.private_message(&zeynep, "/start"));
    let sent = posts(&world, 1).await;
    assert_eq!(to_user(&sent[0]), Some((556_001, 556_001 * 7)));
    assert_eq!(
        web_app_url(&sent[0]),
        Some(app_url.clone()),
        "{:?}",
        sent[0]
    );

    // /web from someone not linked: no link, the way to link instead.
    let can = person(556_002, "Can", None);
    dc.push(&world.private_message(&can, "/web"));
    let sent = posts(&world, 2).await;
    assert!(sent[1].text.contains("not linked"), "{}", sent[1].text);
    assert!(!sent[1].text.contains("/console/link"), "{}", sent[1].text);
    assert_eq!(web_app_url(&sent[1]), Some(app_url.clone()));

    // A linked owner (linked as `/start <code>` does, tested above) gets a one-time console
    // link, in the tenant's language.
    app.link_telegram("kitap@example.com", 556_003);
    let ayse = person(556_003, "Ayşe", None);
    dc.push(&world.private_message(&ayse, "/web"));
    let sent = posts(&world, 3).await;
    let text = &sent[2].text;
    assert!(text.contains("10 minutes"), "{text}");
    let at = text.find("/console/link?token=").expect(text);
    let path = text[at..].split_whitespace().next().unwrap().to_string();
    let token = path.trim_start_matches("/console/link?token=").to_string();
    let mut b = crate::console::Browser::new(&app);
    // Opening it (as a link preview would) signs nobody in.
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(!b.cookies.contains_key("botyard_session"));
    let csrf = page.csrf();
    let r = b
        .post("/console/link", &[("_csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.location(), "/console");
    assert!(
        b.get("/console/account")
            .await
            .text
            .contains("kitap@example.com")
    );
    // It works once.
    let mut other = crate::console::Browser::new(&app);
    let csrf = other.get(&path).await.csrf();
    let r = other
        .post("/console/link", &[("_csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("/web"), "{}", r.text);
    assert!(!other.cookies.contains_key("botyard_session"));
    app.stop().await.unwrap();
}
