//! Group rules against Telegram's wire format: a bot session in the tenant's sandboxed worker
//! runs them through grammers against the loopback fake datacenter, which records what it was
//! asked to do (posts, deletions, mutes, removals, button answers).

use std::sync::Arc;
use std::time::Duration;

use botyard_fakedc::FakeDc;
use botyard_fakedc::world::{Banned, FakeChat, Sent, World, person};
use botyard_shards::ids::TenantId;
use grammers_client::tl;
use serde_json::{Value, json};

use crate::api_telegram::{TOKEN, app_at_test_dc_with, key};
use crate::common;

fn supergroup(id: i64, title: &str) -> FakeChat {
    FakeChat {
        id,
        title: title.into(),
        supergroup: true,
        members: 40,
        access_hash: id * 3,
    }
}

/// The Bot API id of a fake supergroup, as the tenant's groups name it.
fn chat_id(c: &FakeChat) -> i64 {
    -1_000_000_000_000 - c.id
}

/// Waits until `f` holds of the fake's state (a separate process: nothing to wait on).
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(v) = f() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out: {what}"))
}

fn posts_with(world: &World, needle: &str) -> Vec<Sent> {
    world
        .sent()
        .into_iter()
        .filter(|p| p.text.contains(needle))
        .collect()
}

fn deleted_in(world: &World, chat: &FakeChat) -> Vec<i32> {
    world
        .deleted()
        .into_iter()
        .filter_map(|(peer, id)| match peer {
            tl::enums::InputPeer::Channel(c) if c.channel_id == chat.id => Some(id),
            _ => None,
        })
        .collect()
}

fn callback_data(p: &Sent) -> Option<Vec<u8>> {
    let Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(m)) = &p.markup else {
        return None;
    };
    m.rows.iter().find_map(|r| {
        let tl::enums::KeyboardInlineButtonRow::Row(r) = r;
        r.buttons.iter().find_map(|b| {
            let tl::enums::KeyboardInlineButton::Button(b) = b;
            match &b.r#type {
                tl::enums::InlineButtonType::Callback(c) => Some(c.data.clone()),
                _ => None,
            }
        })
    })
}

fn joined(users: &[&tl::types::User]) -> tl::enums::MessageAction {
    tl::types::MessageActionChatAddUser {
        users: users.iter().map(|u| u.id).collect(),
    }
    .into()
}

struct Setup {
    world: Arc<World>,
    dc: FakeDc,
    _seed: tempfile::TempDir,
    app: common::App,
    tenant: u64,
    owner: String,
    session: u64,
}

/// A tenant whose bot is an admin (deleting and banning) in `admin_in` of `chats`.
async fn bot_tenant(chats: Vec<FakeChat>, admin_in: &[i64]) -> Setup {
    let world = Arc::new(World::new(&[(TOKEN, 5600, "kural_bot")], chats));
    for c in admin_in {
        world.make_admin(*c, true, true);
    }
    let dc = FakeDc::start(key(), world.clone()).await.unwrap();
    let seed = tempfile::tempdir().unwrap();
    std::fs::write(seed.path().join("k"), key()).unwrap();
    let app = app_at_test_dc_with(&dc, &seed.path().join("k"), |c| {
        // Replies one after another without a bot's usual spacing, so the test is quick.
        c.delivery.bot = botyard::worker::pacing::Pacing {
            per_chat_ms: 100,
            per_chat_per_min: 60,
            overall_ms: 50,
            jitter_ms: 0,
        };
    })
    .await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Kural Dükkanı", "kural@example.com")
        .await;
    let session = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions"),
            &owner.access,
            json!({"kind": "bot", "label": "Grup botu", "token": TOKEN}),
        )
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    let mut rx = app.ready.supervisor.watch(TenantId(tenant)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        rx.wait_for(|s| s.dialogs_reported >= 1),
    )
    .await
    .expect("dialogs")
    .unwrap();
    Setup {
        world,
        dc,
        _seed: seed,
        app,
        tenant,
        owner: owner.access,
        session,
    }
}

impl Setup {
    async fn template(&self, body: &str) -> u64 {
        self.app
            .post(
                &format!("/api/v1/tenants/{}/templates", self.tenant),
                &self.owner,
                json!({"name": body, "body": body, "format": "html"}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .unwrap()
    }

    async fn rule(&self, name: &str, chat: &FakeChat, kind: Value) -> u64 {
        self.app
            .post(
                &format!("/api/v1/tenants/{}/rules", self.tenant),
                &self.owner,
                json!({"name": name, "session_id": self.session, "chats": [chat_id(chat)], "kind": kind}),
            )
            .await
            .expect(201)["id"]
            .as_u64()
            .unwrap()
    }

    /// The rule log's actions, oldest first: (rule, action).
    async fn log(&self) -> Vec<(u64, String)> {
        let page = self
            .app
            .get(
                &format!("/api/v1/tenants/{}/rule-log?limit=500", self.tenant),
                &self.owner,
            )
            .await
            .expect(200)
            .clone();
        let mut out: Vec<(u64, String)> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["rule_id"].as_u64().unwrap(),
                    h["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.reverse();
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcomes_replies_flood_and_link_rules_act_through_grammers() {
    let moda = supergroup(4200, "Moda Pazarı");
    let bare = supergroup(4201, "Yetkisiz Grup");
    let s = bot_tenant(vec![moda.clone(), bare.clone()], &[moda.id]).await;
    let (world, dc) = (&s.world, &s.dc);

    // Without admin rights in a group, moderation is refused at save.
    let r = s
        .app
        .post(
            &format!("/api/v1/tenants/{}/rules", s.tenant),
            &s.owner,
            json!({"name": "Bağlantılar", "session_id": s.session, "chats": [chat_id(&bare)],
                   "kind": {"type": "filter", "links": true}}),
        )
        .await;
    r.expect_err(422, "rule.missing_rights");
    assert!(r.text.contains("Yetkisiz Grup"), "{}", r.text);

    let welcome_tpl = s.template("Hoş geldin {user.mention}!").await;
    let price_tpl = s.template("Fiyatlar için menüye bakın.").await;
    let thanks_tpl = s.template("Rica ederiz {user.first_name}.").await;
    let welcome = s
        .rule(
            "Karşılama",
            &moda,
            json!({"type": "welcome", "template_id": welcome_tpl, "gap_secs": 3}),
        )
        .await;
    let price = s
        .rule(
            "Fiyat",
            &moda,
            json!({"type": "auto_reply", "keywords": ["fiyat"], "template_id": price_tpl,
                   "chat_cooldown_secs": 3600}),
        )
        .await;
    s.rule(
        "Teşekkür",
        &moda,
        json!({"type": "auto_reply", "keywords": ["teşekkürler"], "template_id": thanks_tpl}),
    )
    .await;
    let flood = s
        .rule(
            "Flood",
            &moda,
            json!({"type": "anti_flood", "messages": 3, "window_secs": 60,
                   "penalty": {"action": "mute", "secs": 600}}),
        )
        .await;
    let links = s
        .rule(
            "Bağlantılar",
            &moda,
            json!({"type": "filter", "links": true}),
        )
        .await;

    // A join gets a welcome; a burst of joins right after gets one more, naming them all.
    let ayse = person(7301, "Ayşe", Some("ayse_moda"));
    let (burak, cem) = (person(7302, "Burak", None), person(7303, "Cem", None));
    dc.push(&world.service(&moda, &ayse, joined(&[&ayse])));
    let first = until("the first welcome", || {
        posts_with(world, "Hoş geldin").first().cloned()
    })
    .await;
    assert!(first.text.contains("Ayşe"), "{}", first.text);
    dc.push(&world.service(&moda, &burak, joined(&[&burak])));
    dc.push(&world.service(&moda, &cem, joined(&[&cem])));
    let second = until("the burst's welcome", || {
        posts_with(world, "Hoş geldin").get(1).cloned()
    })
    .await;
    assert!(
        second.text.contains("Burak") && second.text.contains("Cem"),
        "{}",
        second.text
    );

    // A keyword gets its reply once per cooldown, whatever its case (Turkish İ included).
    let deniz = person(7304, "Deniz", None);
    dc.push(&world.incoming(&moda, &deniz, "Fiyat ne kadar?"));
    dc.push(&world.incoming(&moda, &ayse, "FİYAT listesi var mı"));
    dc.push(&world.incoming(&moda, &cem, "Teşekkürler"));
    // The thanks come after any second price reply in the same queue.
    until("the thanks", || {
        posts_with(world, "Rica ederiz").first().cloned()
    })
    .await;
    let replies = posts_with(world, "Fiyatlar için");
    assert_eq!(replies.len(), 1, "{replies:?}");

    // A link is deleted.
    dc.push(&world.incoming(&moda, &burak, "Ucuz: https://ucuz.example/kampanya"));
    let before = deleted_in(world, &moda).len();
    until("the link deleted", || {
        (deleted_in(world, &moda).len() > before).then_some(())
    })
    .await;

    // A flood is muted: the fourth message in a minute from one member.
    let flooder = person(7305, "Hızlı", None);
    for i in 0..4 {
        dc.push(&world.incoming(&moda, &flooder, &format!("spam {i}")));
    }
    let muted = until("the flooder muted", || {
        world.banned().into_iter().find(|b| b.user == flooder.id)
    })
    .await;
    assert_eq!(
        (muted.chat, muted.send_messages, muted.view_messages),
        (moda.id, true, false)
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i32;
    assert!(
        (now + 500..now + 700).contains(&muted.until_date),
        "{muted:?}"
    );
    // No one else was touched.
    assert!(world.banned().iter().all(|b| b.user == flooder.id));

    // What each rule did is in the log.
    let log = {
        let mut got = Vec::new();
        for _ in 0..300 {
            got = s.log().await;
            let has = |r: u64, a: &str| got.iter().any(|(x, y)| *x == r && y == a);
            if has(welcome, "welcomed")
                && has(price, "replied")
                && has(links, "deleted")
                && has(flood, "muted")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        got
    };
    let count = |r: u64, a: &str| log.iter().filter(|(x, y)| *x == r && y == a).count();
    // One entry per welcome posted: the first joiner's, and the burst's.
    assert_eq!(count(welcome, "welcomed"), 2, "{log:?}");
    assert_eq!(count(price, "replied"), 1, "{log:?}");
    assert_eq!(count(links, "deleted"), 1, "{log:?}");
    assert_eq!(count(flood, "muted"), 1, "{log:?}");
    assert!(!log.iter().any(|(_, a)| a == "failed"), "{log:?}");

    // The bot loses the right to ban: the next mute fails, which pauses the rule with an
    // alert; saving it on again starts it.
    world.make_admin(moda.id, true, false);
    let other = person(7306, "Tekrar", None);
    for i in 0..4 {
        dc.push(&world.incoming(&moda, &other, &format!("yine {i}")));
    }
    let rule_path = format!("/api/v1/tenants/{}/rules/{flood}", s.tenant);
    let mut paused = Value::Null;
    for _ in 0..300 {
        paused = s.app.get(&rule_path, &s.owner).await.expect(200)["paused"].clone();
        if !paused.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        paused
            .as_str()
            .is_some_and(|p| p.contains("not an admin allowed to ban users")),
        "{paused}"
    );
    let admin = s.app.admin().await.access;
    let alerts = s
        .app
        .get("/api/v1/alerts", &admin)
        .await
        .expect(200)
        .clone();
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "rule.paused"
                && a["tenant_id"] == s.tenant
                && a["detail"].as_str().unwrap().contains("Flood")),
        "{alerts}"
    );
    let resumed = s
        .app
        .patch(&rule_path, &s.owner, json!({"enabled": true}))
        .await
        .expect(200)
        .clone();
    assert!(resumed["paused"].is_null(), "{resumed}");
    s.app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_captcha_removes_who_does_not_answer_and_releases_who_does() {
    let kapi = supergroup(4300, "Kapı Grubu");
    let s = bot_tenant(vec![kapi.clone()], &[kapi.id]).await;
    let (world, dc) = (&s.world, &s.dc);
    let admin = person(7400, "Yönetici", None);
    world.set_admins(kapi.id, vec![admin.clone()]);
    let captcha = s
        .rule(
            "Doğrulama",
            &kapi,
            json!({"type": "captcha", "timeout_secs": 15}),
        )
        .await;

    // Two join: each is muted at once and asked to press the button.
    let (ela, bot) = (person(7401, "Ela", Some("ela")), person(7402, "Spam", None));
    dc.push(&world.service(&kapi, &ela, joined(&[&ela])));
    dc.push(&world.service(&kapi, &bot, joined(&[&bot])));
    let asked = until("two captchas", || {
        let p: Vec<Sent> = world
            .sent()
            .into_iter()
            .filter(|p| callback_data(p).is_some())
            .collect();
        (p.len() == 2).then_some(p)
    })
    .await;
    let mutes: Vec<Banned> = world.banned();
    for u in [&ela, &bot] {
        assert!(
            mutes
                .iter()
                .any(|b| b.user == u.id && b.send_messages && b.until_date == 0),
            "{mutes:?}"
        );
    }
    let ela_post = asked.iter().find(|p| p.text.contains("Ela")).unwrap();
    let data = callback_data(ela_post).unwrap();

    // What Ela writes meanwhile is taken down and held.
    dc.push(&world.incoming(&kapi, &ela, "Merhaba, kargo ne zaman?"));
    until("Ela's message held", || {
        deleted_in(world, &kapi).len().ge(&1).then_some(())
    })
    .await;

    // Someone else's press is answered but changes nothing.
    let (press, _) = world.button_press(&kapi, &bot, ela_post.id, &data);
    dc.push(&press);
    until("the stranger's press answered", || {
        (!world.button_answers().is_empty()).then_some(())
    })
    .await;
    assert!(
        !world
            .banned()
            .iter()
            .any(|b| b.user == ela.id && !b.send_messages)
    );

    // Ela presses: her restriction is lifted, the captcha goes, her message comes back.
    let (press, query) = world.button_press(&kapi, &ela, ela_post.id, &data);
    dc.push(&press);
    until("Ela released", || {
        world
            .banned()
            .into_iter()
            .find(|b| b.user == ela.id && !b.send_messages && !b.view_messages)
    })
    .await;
    let released = until("Ela's held message posted", || {
        posts_with(world, "kargo ne zaman?").first().cloned()
    })
    .await;
    assert!(released.text.contains("Ela"), "{}", released.text);
    assert!(world.button_answers().iter().any(|(q, _)| *q == query));
    assert!(deleted_in(world, &kapi).contains(&ela_post.id));

    // The other never answers: after the timeout it is removed (banned out, then let back).
    let out = until("the silent one removed", || {
        world
            .banned()
            .into_iter()
            .find(|b| b.user == bot.id && b.view_messages)
    })
    .await;
    assert_eq!(out.chat, kapi.id);
    let log = s.log().await;
    let actions: Vec<&str> = log
        .iter()
        .filter(|(r, _)| *r == captcha)
        .map(|(_, a)| a.as_str())
        .collect();
    for a in ["captcha_sent", "captcha_passed"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    // The admin was never asked.
    assert!(!world.banned().iter().any(|b| b.user == admin.id));
    s.app.stop().await.unwrap();
}
