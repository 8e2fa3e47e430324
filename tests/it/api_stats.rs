//! Statistics through the API against a brute-force recount of the simulated event stream:
//! tenants in Berlin (a daylight-saving change inside the range) and Kolkata (a half-hour
//! offset) run simulated sessions from a random seed; once their workers are stopped, the
//! same seed replays exactly the events that were stored, and every number of every endpoint
//! must equal the recount done here with jiff, independently of the server's code.

use crate::common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use botyard::worker::telegram::IncomingEvent;
use botyard::worker::telegram::sim::{Sim, SimConfig};
use common::App;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

/// 2026-10-21T00:00:00Z: Berlin leaves summer time on the 25th.
const START: i64 = 1_792_540_800;
const STEP_SECS: u32 = 173;
const EVENTS: u64 = 6_500;

fn sim_config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        groups: 3,
        members_per_group: 30,
        events_per_sec: 1000.0,
        media_per_mille: 150,
        service_per_mille: 40,
        join_per_mille: 25,
        leave_per_mille: 15,
        start_at: START,
        step_secs: STEP_SECS,
        ..SimConfig::default()
    }
}

/// The recount: every event placed on its local date and hour with jiff.
#[derive(Default)]
struct Recount {
    /// (date, hour, chat) → messages.
    hours: BTreeMap<(Date, i8, i64), u64>,
    kinds: BTreeMap<(Date, i64), [u64; 3]>,
    joins: BTreeMap<(Date, i64), u64>,
    leaves: BTreeMap<(Date, i64), u64>,
    /// (date, chat, user) → messages.
    posts: BTreeMap<(Date, i64, i64), u64>,
    /// user → first local date seen (message or join).
    first_seen: HashMap<i64, Date>,
}

impl Recount {
    fn of(events: &[IncomingEvent], tz: &TimeZone) -> Self {
        let mut r = Recount::default();
        let local = |at: i64| {
            Timestamp::from_second(at)
                .unwrap()
                .to_zoned_datetime(tz.clone())
        };
        for e in events {
            match e {
                IncomingEvent::Message {
                    chat_id,
                    sender,
                    kind,
                    at,
                    ..
                } => {
                    let z = local(*at);
                    *r.hours.entry((z.date(), z.hour(), *chat_id)).or_default() += 1;
                    let k = match kind {
                        botyard::worker::telegram::MessageKind::Text => 0,
                        botyard::worker::telegram::MessageKind::Media => 1,
                        botyard::worker::telegram::MessageKind::Service => 2,
                    };
                    r.kinds.entry((z.date(), *chat_id)).or_default()[k] += 1;
                    if let Some(u) = sender {
                        *r.posts.entry((z.date(), *chat_id, u.id)).or_default() += 1;
                        r.first_seen.entry(u.id).or_insert(z.date());
                    }
                }
                IncomingEvent::MemberJoined { chat_id, user, at } => {
                    let z = local(*at);
                    *r.joins.entry((z.date(), *chat_id)).or_default() += 1;
                    r.first_seen.entry(user.id).or_insert(z.date());
                }
                IncomingEvent::MemberLeft { chat_id, at, .. } => {
                    *r.leaves.entry((local(*at).date(), *chat_id)).or_default() += 1;
                }
                _ => {}
            }
        }
        r
    }

    fn messages(&self, from: Date, to: Date, chat: Option<i64>) -> u64 {
        self.hours
            .iter()
            .filter(|((d, _, c), _)| *d >= from && *d <= to && chat.is_none_or(|x| x == *c))
            .map(|(_, n)| n)
            .sum()
    }

    fn posters(&self, from: Date, to: Date, chat: Option<i64>) -> HashSet<i64> {
        self.posts
            .keys()
            .filter(|(d, c, _)| *d >= from && *d <= to && chat.is_none_or(|x| x == *c))
            .map(|(_, _, u)| *u)
            .collect()
    }

    fn sum(map: &BTreeMap<(Date, i64), u64>, from: Date, to: Date, chat: Option<i64>) -> u64 {
        map.iter()
            .filter(|((d, c), _)| *d >= from && *d <= to && chat.is_none_or(|x| x == *c))
            .map(|(_, n)| n)
            .sum()
    }
}

fn dates(from: Date, to: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d = d.tomorrow().unwrap();
    }
    out
}

fn monday(d: Date) -> Date {
    d.checked_sub(jiff::Span::new().days(i64::from(d.weekday().to_monday_zero_offset())))
        .unwrap()
}

struct Tenant {
    id: u64,
    owner: String,
    tz: TimeZone,
    seed: u64,
    stored: u64,
}

/// A tenant in `zone` whose simulated session posts until `EVENTS` events are stored; then the
/// session is removed, which stops its worker, and the count of stored events is final.
async fn run_tenant(app: &App, admin: &str, name: &str, zone: &str, seed: u64) -> Tenant {
    run_tenant_with(
        app,
        admin,
        name,
        zone,
        seed,
        sim_config(seed),
        common::limits(),
        EVENTS,
        false,
    )
    .await
    .0
}

/// The same, with a simulator set-up and plan limits of the caller's; also returns the plan.
/// With `moving`, the tenant moves to the other shard a third of the way through its stream,
/// while its worker goes on posting events.
#[allow(clippy::too_many_arguments)]
async fn run_tenant_with(
    app: &App,
    admin: &str,
    name: &str,
    zone: &str,
    seed: u64,
    cfg: SimConfig,
    limits: Value,
    events: u64,
    moving: bool,
) -> (Tenant, Value) {
    let email = format!("owner@{}.test", name.to_lowercase());
    let (tenant, _, owner) = app.tenant_with_owner(admin, name, &email).await;
    let plan = app
        .post(
            "/api/v1/plans",
            admin,
            json!({"name": format!("Plan {name}"), "limits": limits}),
        )
        .await
        .expect(201)["id"]
        .clone();
    app.patch(
        &format!("/api/v1/tenants/{tenant}"),
        admin,
        json!({"plan_id": plan}),
    )
    .await
    .expect(200);
    let mut settings = common::settings_body(name);
    settings["time_zone"] = json!(zone);
    app.put(
        &format!("/api/v1/tenants/{tenant}/settings"),
        &owner.access,
        settings,
    )
    .await
    .expect(200);
    let sim = serde_json::to_value(cfg).unwrap();
    let session = app
        .post(
            &format!("/api/v1/tenants/{tenant}/sessions"),
            admin,
            json!({"kind": "sim", "label": "sim", "sim": sim}),
        )
        .await
        .expect(201)["id"]
        .clone();
    let mut rx = app
        .ready
        .supervisor
        .watch(botyard_shards::ids::TenantId(tenant))
        .expect("worker");
    if moving {
        rx.wait_for(|s| s.events_stored >= events / 3)
            .await
            .unwrap();
        let store = app.ready.store.upgrade().unwrap();
        let from = store
            .current_shard(botyard_shards::ids::TenantId(tenant))
            .unwrap();
        drop(store);
        let moved = app
            .post(
                &format!("/api/v1/tenants/{tenant}/move"),
                admin,
                json!({"shard": 1 - from}),
            )
            .await
            .expect(200)
            .clone();
        assert_eq!(moved["to"], 1 - from, "{moved}");
        assert!(moved["paused_ms"].as_u64().unwrap() < 1000, "{moved}");
        let during = rx.borrow().events_stored;
        assert!(during < events, "the stream was still running: {during}");
    }
    tokio::time::timeout(
        Duration::from_secs(120),
        rx.wait_for(|s| s.events_stored >= events),
    )
    .await
    .expect("events stored")
    .unwrap();
    // Without a session the tenant has no worker; it stays active.
    app.delete(
        &format!("/api/v1/tenants/{tenant}/sessions/{session}"),
        &owner.access,
    )
    .await
    .expect(204);
    // The keeper publishes its last count, then goes away with the worker.
    while rx.changed().await.is_ok() {}
    let stored = rx.borrow().events_stored;
    (
        Tenant {
            id: tenant,
            owner: owner.access,
            tz: TimeZone::get(zone).unwrap(),
            seed,
            stored,
        },
        plan,
    )
}

async fn get(app: &App, t: &Tenant, path: &str) -> Value {
    app.get(&format!("/api/v1/tenants/{}/stats/{path}", t.id), &t.owner)
        .await
        .expect(200)
        .clone()
}

async fn get_path(app: &App, t: &Tenant, path: &str) -> Value {
    app.get(&format!("/api/v1/tenants/{}/{path}", t.id), &t.owner)
        .await
        .expect(200)
        .clone()
}

fn series(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["at"].as_str().unwrap().to_string(),
                p["value"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn check_tenant(app: &App, t: &Tenant) {
    let mut sim = Sim::new(sim_config(t.seed));
    let events: Vec<IncomingEvent> = (0..t.stored).map(|_| sim.generate().unwrap()).collect();
    let rc = Recount::of(&events, &t.tz);
    let last = rc.hours.keys().map(|k| k.0).max().unwrap();
    let from = Date::constant(2026, 10, 20);
    let to = last;
    let chats: Vec<i64> = rc
        .hours
        .keys()
        .map(|k| k.2)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let q = format!("from={from}&to={to}");
    let ctx = format!(
        "tenant {} ({}), seed {}",
        t.id,
        t.tz.iana_name().unwrap(),
        t.seed
    );

    // Messages: total, kinds, per day; and per group.
    let m = get(app, t, &format!("messages?{q}")).await;
    assert_eq!(m["total"], rc.messages(from, to, None), "{ctx}");
    let kinds = rc
        .kinds
        .values()
        .fold([0u64; 3], |a, k| [a[0] + k[0], a[1] + k[1], a[2] + k[2]]);
    assert_eq!(
        m["by_kind"],
        json!({"text": kinds[0], "media": kinds[1], "service": kinds[2]}),
        "{ctx}"
    );
    let want: Vec<(String, u64)> = dates(from, to)
        .into_iter()
        .map(|d| (d.to_string(), rc.messages(d, d, None)))
        .collect();
    assert_eq!(series(&m["series"]), want, "{ctx}");
    for chat in &chats {
        let m = get(app, t, &format!("messages?{q}&group={chat}")).await;
        assert_eq!(
            m["total"],
            rc.messages(from, to, Some(*chat)),
            "{ctx} chat {chat}"
        );
    }

    // Per local hour over the days around the change (Berlin's 25 October has 25 hours: its
    // 02:00 hour happens twice and counts both).
    let (h_from, h_to) = (Date::constant(2026, 10, 24), Date::constant(2026, 10, 26));
    let m = get(
        app,
        t,
        &format!("messages?from={h_from}&to={h_to}&interval=hour"),
    )
    .await;
    let want: Vec<(String, u64)> = dates(h_from, h_to)
        .into_iter()
        .flat_map(|d| (0..24i8).map(move |h| (d, h)))
        .map(|(d, h)| {
            let n = rc
                .hours
                .iter()
                .filter(|((dd, hh, _), _)| *dd == d && *hh == h)
                .map(|(_, n)| n)
                .sum();
            (format!("{d}T{h:02}:00"), n)
        })
        .collect();
    assert_eq!(series(&m["series"]), want, "{ctx}");

    // Heat map: weekday × hour.
    let h = get(app, t, &format!("heatmap?{q}")).await;
    let mut cells = vec![vec![0u64; 24]; 7];
    for ((d, hour, _), n) in &rc.hours {
        if *d >= from && *d <= to {
            cells[d.weekday().to_monday_zero_offset() as usize][*hour as usize] += n;
        }
    }
    assert_eq!(h["cells"], json!(cells), "{ctx}");

    // Users: active, new, per day, week (clipped to the range) and month.
    let u = get(app, t, &format!("users?{q}")).await;
    assert_eq!(u["active"], rc.posters(from, to, None).len(), "{ctx}");
    let new = rc
        .first_seen
        .values()
        .filter(|d| **d >= from && **d <= to)
        .count();
    assert_eq!(u["new"], new, "{ctx}");
    let daily: Vec<(String, u64)> = dates(from, to)
        .into_iter()
        .map(|d| (d.to_string(), rc.posters(d, d, None).len() as u64))
        .collect();
    assert_eq!(series(&u["daily"]), daily, "{ctx}");
    let mut weeks: BTreeMap<Date, HashSet<i64>> = BTreeMap::new();
    let mut months: BTreeMap<Date, HashSet<i64>> = BTreeMap::new();
    for (d, _, user) in rc.posts.keys().filter(|(d, _, _)| *d >= from && *d <= to) {
        weeks.entry(monday(*d)).or_default().insert(*user);
        months.entry(d.first_of_month()).or_default().insert(*user);
    }
    let flat = |m: BTreeMap<Date, HashSet<i64>>| -> Vec<(String, u64)> {
        m.into_iter()
            .map(|(d, s)| (d.to_string(), s.len() as u64))
            .collect()
    };
    let u_weeks = weeks.len();
    assert_eq!(series(&u["weekly"]), flat(weeks), "{ctx}");
    assert_eq!(series(&u["monthly"]), flat(months), "{ctx}");
    // New users of one group: their first message there.
    let chat = chats[0];
    let mut first_in: HashMap<i64, Date> = HashMap::new();
    for (d, c, user) in rc.posts.keys() {
        if *c == chat {
            first_in.entry(*user).or_insert(*d);
        }
    }
    let (w_from, w_to) = (Date::constant(2026, 10, 27), to);
    let u = get(
        app,
        t,
        &format!("users?from={w_from}&to={w_to}&group={chat}"),
    )
    .await;
    assert_eq!(
        u["new"],
        first_in
            .values()
            .filter(|d| **d >= w_from && **d <= w_to)
            .count(),
        "{ctx}"
    );
    assert_eq!(
        u["active"],
        rc.posters(w_from, w_to, Some(chat)).len(),
        "{ctx}"
    );

    // Top users, ties by id.
    let mut per_user: HashMap<i64, u64> = HashMap::new();
    for ((d, _, user), n) in &rc.posts {
        if *d >= from && *d <= to {
            *per_user.entry(*user).or_default() += n;
        }
    }
    let mut top: Vec<(i64, u64)> = per_user.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    let got = get(app, t, &format!("users/top?{q}&limit=10")).await;
    let got: Vec<(i64, u64)> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["user_id"].as_i64().unwrap(),
                u["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, top, "{ctx}");
    let first = got[0].0;
    let a = get(app, t, &format!("users/{first}?{q}")).await;
    assert_eq!(a["messages"], got[0].1, "{ctx}");
    let daily: Vec<(String, u64)> = dates(from, to)
        .into_iter()
        .map(|d| {
            let n = rc
                .posts
                .iter()
                .filter(|((dd, _, u), _)| *dd == d && *u == first)
                .map(|(_, n)| n)
                .sum();
            (d.to_string(), n)
        })
        .collect();
    assert_eq!(series(&a["daily"]), daily, "{ctx}");
    assert!(!a["first_name"].as_str().unwrap().is_empty());

    // Groups: messages, joins, leaves, net; one group's days.
    let g = get(app, t, &format!("groups?{q}")).await;
    for row in g.as_array().unwrap() {
        let c = row["chat_id"].as_i64().unwrap();
        let (j, l) = (
            Recount::sum(&rc.joins, from, to, Some(c)),
            Recount::sum(&rc.leaves, from, to, Some(c)),
        );
        assert_eq!(
            (
                row["messages"].as_u64(),
                row["joins"].as_u64(),
                row["leaves"].as_u64(),
                row["net"].as_i64()
            ),
            (
                Some(rc.messages(from, to, Some(c))),
                Some(j),
                Some(l),
                Some(j as i64 - l as i64)
            ),
            "{ctx} chat {c}"
        );
    }
    let gg = get(app, t, &format!("groups/{chat}?{q}")).await;
    for day in gg["days"].as_array().unwrap() {
        let d: Date = day["at"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            day["joins"],
            Recount::sum(&rc.joins, d, d, Some(chat)),
            "{ctx} {d}"
        );
        assert_eq!(
            day["leaves"],
            Recount::sum(&rc.leaves, d, d, Some(chat)),
            "{ctx} {d}"
        );
    }

    // The dashboard: today is 2 November (a Monday) in both zones.
    let s = get(app, t, "summary").await;
    let today = Date::constant(2026, 11, 2);
    let periods = [
        ("today", today, today),
        (
            "yesterday",
            today.yesterday().unwrap(),
            today.yesterday().unwrap(),
        ),
        ("this_week", monday(today), today),
        (
            "last_week",
            monday(today)
                .checked_sub(jiff::Span::new().days(7))
                .unwrap(),
            monday(today).yesterday().unwrap(),
        ),
    ];
    for (name, a, b) in periods {
        let p = &s[name];
        assert_eq!(
            (p["from"].as_str(), p["to"].as_str()),
            (Some(a.to_string().as_str()), Some(b.to_string().as_str())),
            "{ctx} {name}"
        );
        let j = Recount::sum(&rc.joins, a, b, None);
        let l = Recount::sum(&rc.leaves, a, b, None);
        assert_eq!(
            (
                &p["messages"],
                &p["active_users"],
                &p["new_users"],
                &p["joins"],
                &p["leaves"],
                &p["net"],
                &p["sent"]
            ),
            (
                &json!(rc.messages(a, b, None)),
                &json!(rc.posters(a, b, None).len()),
                &json!(
                    rc.first_seen
                        .values()
                        .filter(|d| **d >= a && **d <= b)
                        .count()
                ),
                &json!(j),
                &json!(l),
                &json!(j as i64 - l as i64),
                &json!(0)
            ),
            "{ctx} {name}"
        );
        let best = chats
            .iter()
            .map(|c| (rc.messages(a, b, Some(*c)), *c))
            .max_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)));
        if let Some((n, c)) = best.filter(|(n, _)| *n > 0) {
            assert_eq!(
                (&p["top_group"]["chat_id"], &p["top_group"]["messages"]),
                (&json!(c), &json!(n)),
                "{ctx} {name}"
            );
        }
    }

    // A report of last week, in the tenant's language, with the week's numbers and charts.
    let (r_from, r_to) = (Date::constant(2026, 10, 26), Date::constant(2026, 11, 1));
    let made = app
        .post(
            &format!("/api/v1/tenants/{}/reports?from={r_from}&to={r_to}", t.id),
            &t.owner,
            json!({}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (made["from"].as_str(), made["scheduled"].as_bool()),
        (Some("2026-10-26"), Some(false))
    );
    let html = app
        .get(
            &format!("/api/v1/tenants/{}/reports/{}", t.id, made["id"]),
            &t.owner,
        )
        .await;
    assert_eq!(html.status, 200);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        html.header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(html.text.contains(r#"<html lang="tr">"#), "{}", html.text);
    assert!(html.text.matches("<svg").count() >= 3);
    assert!(!html.text.contains("<script"));
    let week = rc.messages(r_from, r_to, None);
    let before = rc.messages(
        Date::constant(2026, 10, 19),
        Date::constant(2026, 10, 25),
        None,
    );
    assert!(
        html.text.contains(&format!(
            "<tr><td>Mesajlar</td><td>{week}</td><td>{before}</td>"
        )),
        "{ctx}: {}",
        html.text
    );

    // CSV: the same series.
    let csv = app
        .get(
            &format!("/api/v1/tenants/{}/stats/messages?{q}&format=csv", t.id),
            &t.owner,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut lines = csv.text.lines();
    assert_eq!(lines.next(), Some("at,messages"));
    let want: Vec<String> = dates(from, to)
        .into_iter()
        .map(|d| format!("{d},{}", rc.messages(d, d, None)))
        .collect();
    assert_eq!(lines.map(str::to_string).collect::<Vec<_>>(), want, "{ctx}");
    let csv = app
        .get(
            &format!("/api/v1/tenants/{}/stats/summary?format=csv", t.id),
            &t.owner,
        )
        .await;
    let today_row = csv.text.lines().nth(1).unwrap().to_string();
    let today_n = rc.messages(today, today, None);
    assert!(
        today_row.starts_with(&format!("today,{today},{today},{today_n},")),
        "{ctx}: {}",
        csv.text
    );
    let csv = app
        .get(
            &format!("/api/v1/tenants/{}/stats/users?{q}&format=csv", t.id),
            &t.owner,
        )
        .await;
    let weeks = csv
        .text
        .lines()
        .filter(|l| l.starts_with("weekly,"))
        .count();
    assert_eq!(weeks, u_weeks, "{ctx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statistic_equals_a_recount_of_the_simulated_stream() {
    let seed: u64 = std::env::var("BOTYARD_STATS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (rerun with BOTYARD_STATS_SEED={seed})");
    let app = App::start().await;
    // 2 November 2026, 09:00 UTC: inside the simulated fortnight.
    app.clock.set(1_793_610_000);
    let admin = app.admin().await.access;
    let berlin = run_tenant(&app, &admin, "Berlin", "Europe/Berlin", seed).await;
    let kolkata = run_tenant(
        &app,
        &admin,
        "Kolkata",
        "Asia/Kolkata",
        seed.wrapping_add(1),
    )
    .await;
    check_tenant(&app, &berlin).await;
    check_tenant(&app, &kolkata).await;

    // The schedule makes last week's report once for each active tenant.
    let store = app.ready.store.upgrade().unwrap();
    let every = botyard::domain::stats::report::Every::Weekly;
    assert_eq!(
        botyard::domain::stats::report::run_due(&store, every, 1_793_610_000),
        2
    );
    assert_eq!(
        botyard::domain::stats::report::run_due(&store, every, 1_793_610_000),
        0
    );
    drop(store);
    let list = get_path(&app, &berlin, "reports").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        (&list[0]["scheduled"], &list[0]["from"], &list[0]["to"]),
        (&json!(true), &json!("2026-10-26"), &json!("2026-11-01"))
    );
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_moved_to_another_shard_while_it_ingests_keeps_every_statistic() {
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let app = App::start().await;
    app.clock.set(1_793_610_000);
    let admin = app.admin().await.access;
    let store = app.ready.store.upgrade().unwrap();
    // A neighbour that stays, on the shard the moved tenant leaves.
    let (t, _) = run_tenant_with(
        &app,
        &admin,
        "Izmir",
        "Europe/Istanbul",
        seed,
        sim_config(seed),
        common::limits(),
        EVENTS,
        true,
    )
    .await;
    let id = botyard_shards::ids::TenantId(t.id);
    let to = store.current_shard(id).unwrap();
    check_tenant(&app, &t).await;
    // The old shard holds none of its rows; the placement says where it is.
    use botyard_shards::ids::{ChatId, Day};
    use redb::ReadableDatabase;
    let old = &store.shards()[(1 - to) as usize];
    let tx = old.database().begin_read().unwrap();
    let counters = tx
        .open_table(botyard_shards::tables::shard::COUNTERS)
        .unwrap();
    let mut left = redb::ReadableTable::range(
        &counters,
        (id, ChatId(i64::MIN), Day(0), 0u8)..=(id, ChatId(i64::MAX), Day(u32::MAX), u8::MAX),
    )
    .unwrap();
    assert!(left.next().is_none(), "rows left on the old shard");
    let admin_scope = store.system_admin();
    assert_eq!(admin_scope.placement(id).unwrap(), Some(to));
    // Moving it where it is, or to a shard that does not exist, is refused.
    let r = app
        .post(
            &format!("/api/v1/tenants/{}/move", t.id),
            &admin,
            json!({"shard": to}),
        )
        .await;
    r.expect_err(409, "tenant.same_shard");
    let r = app
        .post(
            &format!("/api/v1/tenants/{}/move", t.id),
            &admin,
            json!({"shard": 9}),
        )
        .await;
    r.expect_err(422, "tenant.no_such_shard");
    let r = app
        .post(
            &format!("/api/v1/tenants/{}/move", t.id),
            &t.owner,
            json!({"shard": 1 - to}),
        )
        .await;
    r.expect_err(403, "auth.admin_required");
    drop(tx);
    drop(store);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_exactly_what_the_plan_retains() {
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let app = App::start().await;
    // 2 November 2026, 09:00 UTC; the stream covers the 20 days before it.
    let now = 1_793_610_000;
    app.clock.set(now);
    let admin = app.admin().await.access;
    let cfg = SimConfig {
        start_at: now - 20 * 86_400,
        step_secs: 577,
        ..sim_config(seed)
    };
    let mut limits = common::limits();
    limits["retention_days"] = json!(7);
    let (t, plan) = run_tenant_with(
        &app,
        &admin,
        "Moda",
        "Europe/Istanbul",
        seed,
        cfg.clone(),
        limits.clone(),
        3_000,
        false,
    )
    .await;
    let mut sim = Sim::new(cfg);
    let events: Vec<IncomingEvent> = (0..t.stored).map(|_| sim.generate().unwrap()).collect();
    let rc = Recount::of(&events, &t.tz);
    let today = Date::constant(2026, 11, 2);
    let days_ago = |n: i64| today.checked_sub(jiff::Span::new().days(n)).unwrap();
    let rows_before = |d: Date| {
        rc.posts
            .keys()
            .map(|(day, c, u)| (*day, *c, *u))
            .filter(|(day, _, _)| *day < d)
            .count() as u64
    };
    let first = rc.posts.keys().map(|k| k.0).min().unwrap();
    assert!(
        first < days_ago(10),
        "the stream starts before the retention window"
    );

    // Before pruning, the API says what the next run drops.
    let r = get(&app, &t, "retention").await;
    assert_eq!(r["retention_days"], 7);
    assert_eq!(r["users_kept_from"], days_ago(6).to_string());
    assert_eq!(r["oldest_user_day"], first.to_string());
    assert_eq!(r["user_rows_to_drop"], rows_before(days_ago(6)));
    // Asking for per-user data older than the plan keeps is refused.
    app.get(
        &format!("/api/v1/tenants/{}/stats/users?from={}", t.id, days_ago(7)),
        &t.owner,
    )
    .await
    .expect_err(422, "stats.beyond_retention");

    let store = app.ready.store.upgrade().unwrap();
    // Users last seen (a message or a join) before the kept days go too.
    let mut last_seen: HashMap<i64, Date> = HashMap::new();
    for e in &events {
        let (id, at) = match e {
            IncomingEvent::Message {
                sender: Some(u),
                at,
                ..
            } => (u.id, *at),
            IncomingEvent::MemberJoined { user, at, .. } => (user.id, *at),
            _ => continue,
        };
        let d = Timestamp::from_second(at)
            .unwrap()
            .to_zoned_datetime(t.tz.clone())
            .date();
        last_seen.insert(id, d);
    }
    let gone: Vec<i64> = last_seen
        .iter()
        .filter(|(_, d)| **d < days_ago(6))
        .map(|(u, _)| *u)
        .collect();
    assert!(!gone.is_empty());
    app.get(
        &format!(
            "/api/v1/tenants/{}/stats/users/{}?from={}",
            t.id,
            gone[0],
            days_ago(6)
        ),
        &t.owner,
    )
    .await
    .expect(200);
    let p = botyard::domain::stats::retention::prune_all(store.clone(), now).await;
    assert_eq!(p.user_rows, rows_before(days_ago(6)));
    assert_eq!(p.users, gone.len() as u64);
    app.get(
        &format!(
            "/api/v1/tenants/{}/stats/users/{}?from={}",
            t.id,
            gone[0],
            days_ago(6)
        ),
        &t.owner,
    )
    .await
    .expect_err(404, "resource.not_found");
    assert_eq!(p.total_rows, 0, "totals are kept a year");
    let r = get(&app, &t, "retention").await;
    assert_eq!(r["user_rows_to_drop"], 0);
    let oldest = rc
        .posts
        .keys()
        .map(|k| k.0)
        .filter(|d| *d >= days_ago(6))
        .min()
        .unwrap();
    assert_eq!(r["oldest_user_day"], oldest.to_string());
    // What is kept is exact: the week's users, and every day's totals.
    let q = format!("from={}&to={today}", days_ago(6));
    let u = get(&app, &t, &format!("users?{q}")).await;
    assert_eq!(u["active"], rc.posters(days_ago(6), today, None).len());
    let from = days_ago(20);
    let m = get(&app, &t, &format!("messages?from={from}&to={today}")).await;
    let want: Vec<(String, u64)> = dates(from, today)
        .into_iter()
        .map(|d| (d.to_string(), rc.messages(d, d, None)))
        .collect();
    assert_eq!(series(&m["series"]), want);

    // A downgrade to 3 days shows before it applies, and applies at the next run.
    limits["retention_days"] = json!(3);
    app.put(
        &format!("/api/v1/plans/{plan}"),
        &admin,
        json!({"name": "Plan Moda", "limits": limits}),
    )
    .await
    .expect(200);
    let r = get(&app, &t, "retention").await;
    assert_eq!(r["users_kept_from"], days_ago(2).to_string());
    let between = rows_before(days_ago(2)) - rows_before(days_ago(6));
    assert_eq!(r["user_rows_to_drop"], between);
    let p = botyard::domain::stats::retention::prune_all(store, now).await;
    assert_eq!(p.user_rows, between);
    let u = get(&app, &t, &format!("users?from={}&to={today}", days_ago(2))).await;
    assert_eq!(u["active"], rc.posters(days_ago(2), today, None).len());
    app.stop().await.unwrap();
}
