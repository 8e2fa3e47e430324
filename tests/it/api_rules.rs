//! Group rules through the API: saved and checked, refused without the rights they need, run
//! by the tenant's worker on a simulated session, logged, counted and kept to their tenant.
//! (The same rules against Telegram's wire format are in `api_telegram`.)

use serde_json::{Value, json};

use crate::binary::eventually;
use crate::common::{App, SimTenant, limits, settings_body};

/// A simulated session in `groups` groups (supergroups, then a basic group, then a channel),
/// with members joining often and writing fast.
fn sim(seed: u64, groups: u32, admin: bool, is_bot: bool) -> Value {
    json!({"seed": seed, "groups": groups, "admin": admin, "is_bot": is_bot,
           "members_per_group": 20, "events_per_sec": 200.0, "join_per_mille": 40})
}

/// The tenant's groups of `kind`, by chat id.
async fn groups_of(app: &App, t: &SimTenant, kind: &str) -> Vec<i64> {
    let list = app
        .get(&format!("/api/v1/tenants/{}/groups", t.tenant), &t.owner)
        .await
        .expect(200)
        .clone();
    let mut out: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == kind)
        .map(|g| g["chat_id"].as_i64().unwrap())
        .collect();
    out.sort_unstable();
    out
}

async fn template(app: &App, t: &SimTenant, name: &str, body: &str) -> u64 {
    app.post(
        &format!("/api/v1/tenants/{}/templates", t.tenant),
        &t.owner,
        json!({"name": name, "body": body, "format": "html"}),
    )
    .await
    .expect(201)["id"]
        .as_u64()
        .unwrap()
}

/// The newest log entries (up to 500) matching `query`.
async fn log(app: &App, t: &SimTenant, query: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/tenants/{}/rule-log?limit=500{query}", t.tenant),
        &t.owner,
    )
    .await
    .expect(200)["entries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_checked_at_save_run_by_the_worker_and_logged() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(&admin, "Kural", limits(), sim(21, 4, true, true))
        .await;
    let rules = format!("/api/v1/tenants/{}/rules", t.tenant);
    let supergroups = groups_of(&app, &t, "supergroup").await;
    let basic = groups_of(&app, &t, "group").await;
    assert_eq!((supergroups.len(), basic.len()), (3, 1));
    let welcome_tpl = template(
        &app,
        &t,
        "Hoş geldin",
        "Hoş geldin {user.mention}, {group.title} grubuna!",
    )
    .await;

    // A welcome in one group: the defaults are filled in, and the groups it applies to shown.
    let welcome = app
        .post(
            &rules,
            &t.owner,
            json!({"name": "  Karşılama ", "session_id": t.session, "chats": [supergroups[0]],
                   "kind": {"type": "welcome", "template_id": welcome_tpl}}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(welcome["name"], "Karşılama");
    assert_eq!(welcome["kind"]["gap_secs"], 60);
    assert_eq!(welcome["groups"], json!([supergroups[0]]));
    assert_eq!(
        (welcome["enabled"].clone(), welcome["dry_run"].clone()),
        (json!(true), json!(false))
    );
    let welcome_id = welcome["id"].as_u64().unwrap();

    // Anti-flood in a dry run over every supergroup, by tag.
    for g in &supergroups {
        app.patch(
            &format!("/api/v1/tenants/{}/groups/{g}", t.tenant),
            &t.owner,
            json!({"enabled": true, "tags": ["Satış"]}),
        )
        .await
        .expect(200);
    }
    let flood = app
        .post(
            &rules,
            &t.owner,
            json!({"name": "Flood", "session_id": t.session, "tag": "SATIŞ", "dry_run": true,
                   "kind": {"type": "anti_flood", "messages": 2, "window_secs": 60,
                            "penalty": {"action": "warn"},
                            "warn": {"limit": 3, "then": {"action": "mute", "secs": 600}}}}),
        )
        .await
        .expect(201)
        .clone();
    // Tags fold as group tags do (Turkish I and ı alike).
    assert_eq!(flood["tag"], "satiş");
    assert_eq!(flood["groups"], json!(supergroups));
    assert_eq!(
        flood["kind"]["warn"]["then"],
        json!({"action": "mute", "secs": 600})
    );
    let flood_id = flood["id"].as_u64().unwrap();

    // Every refusal has its code, and none of them is saved.
    let refused = [
        (
            json!({"type": "auto_reply", "keywords": ["fiyat"], "pattern": "fiyat", "template_id": welcome_tpl}),
            "rule.matcher",
        ),
        (
            json!({"type": "auto_reply", "pattern": "(a{1000}){1000}", "template_id": welcome_tpl}),
            "rule.pattern",
        ),
        (
            json!({"type": "auto_reply", "keywords": ["  ", "ok"], "template_id": welcome_tpl}),
            "rule.bad_word",
        ),
        (
            json!({"type": "auto_reply", "keywords": ["fiyat"], "template_id": 999}),
            "rule.unknown_template",
        ),
        (
            json!({"type": "anti_flood", "messages": 1, "window_secs": 60, "penalty": {"action": "delete"}}),
            "rule.out_of_range",
        ),
        (
            json!({"type": "anti_flood", "messages": 5, "window_secs": 10, "penalty": {"action": "mute", "secs": 5}}),
            "rule.out_of_range",
        ),
        (
            json!({"type": "filter", "links": true, "warn": {"limit": 3, "then": {"action": "delete"}}}),
            "rule.bad_escalation",
        ),
        (json!({"type": "filter"}), "rule.empty_filter"),
        (
            json!({"type": "captcha", "timeout_secs": 5}),
            "rule.out_of_range",
        ),
    ];
    for (kind, code) in refused {
        app.post(
            &rules,
            &t.owner,
            json!({"name": "X", "session_id": t.session, "chats": [supergroups[0]], "kind": kind}),
        )
        .await
        .expect_err(422, code);
    }
    let filter = json!({"type": "filter", "links": true});
    for (body, status, code) in [
        (
            json!({"name": "", "session_id": t.session, "chats": [supergroups[0]], "kind": filter}),
            422,
            "rule.name",
        ),
        (
            json!({"name": "a\nb", "session_id": t.session, "chats": [supergroups[0]], "kind": filter}),
            422,
            "rule.name",
        ),
        (
            json!({"name": "X", "session_id": t.session, "kind": filter}),
            422,
            "rule.no_groups",
        ),
        (
            json!({"name": "X", "session_id": 999, "chats": [supergroups[0]], "kind": filter}),
            422,
            "rule.unknown_session",
        ),
        (
            json!({"name": "X", "session_id": t.session, "chats": [-5], "kind": filter}),
            422,
            "rule.not_in_group",
        ),
        (
            json!({"name": "X", "session_id": t.session, "tag": "bad tag!", "kind": filter}),
            422,
            "group.tag",
        ),
        (
            json!({"name": "X", "session_id": t.session, "chats": [basic[0]],
                "kind": {"type": "anti_flood", "messages": 5, "window_secs": 10, "penalty": {"action": "mute", "secs": 60}}}),
            422,
            "rule.needs_supergroup",
        ),
        (
            json!({"name": "X", "session_id": t.session, "chats": [supergroups[0]], "kind": {"type": "sing"}}),
            422,
            "validation.wrong_type",
        ),
        (
            json!({"name": "X", "session_id": t.session, "chats": [supergroups[0]], "kind": filter, "extra": 1}),
            400,
            "request.unknown_field",
        ),
    ] {
        let r = app.post(&rules, &t.owner, body).await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.text);
    }
    let all = app.get(&rules, &t.owner).await.expect(200).clone();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");

    // A template a rule replies with stays.
    app.delete(
        &format!("/api/v1/tenants/{}/templates/{welcome_tpl}", t.tenant),
        &t.owner,
    )
    .await
    .expect_err(409, "template.in_use");

    // The worker greets joiners and logs what the flood rule would have done.
    let entries = eventually("a welcome and a dry-run warning in the log", async || {
        let e = log(&app, &t, "").await;
        let welcomed = e
            .iter()
            .any(|h| h["action"] == "welcomed" && h["rule_id"] == welcome_id);
        let warned = e
            .iter()
            .any(|h| h["action"] == "warned" && h["rule_id"] == flood_id && h["dry_run"] == true);
        (welcomed && warned).then_some(e)
    })
    .await;
    for h in &entries {
        assert!(supergroups.contains(&h["chat_id"].as_i64().unwrap()), "{h}");
        assert!(h["at"].as_str().unwrap().starts_with("20"), "{h}");
        if h["rule_id"] == welcome_id {
            assert_eq!(h["chat_id"], supergroups[0], "{h}");
        }
    }
    // A dry run counts no warnings.
    let warnings = format!(
        "/api/v1/tenants/{}/groups/{}/warnings",
        t.tenant, supergroups[0]
    );
    assert_eq!(app.get(&warnings, &t.owner).await.expect(200), &json!([]));

    // Filters and pages.
    let only_welcome = log(&app, &t, &format!("&rule_id={welcome_id}")).await;
    assert!(!only_welcome.is_empty());
    assert!(only_welcome.iter().all(|h| h["rule_id"] == welcome_id));
    let page = app
        .get(
            &format!("/api/v1/tenants/{}/rule-log?limit=1", t.tenant),
            &t.owner,
        )
        .await
        .expect(200)
        .clone();
    let first = page["entries"][0]["seq"].as_u64().unwrap();
    let next = page["next_before"].as_u64().unwrap();
    assert_eq!(next, first);
    let older = app
        .get(
            &format!(
                "/api/v1/tenants/{}/rule-log?limit=2&before={next}",
                t.tenant
            ),
            &t.owner,
        )
        .await
        .expect(200)
        .clone();
    assert!(
        older["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["seq"].as_u64().unwrap() < first)
    );
    for q in ["limit=0", "limit=501", "rule_id=x", "colour=red"] {
        app.get(
            &format!("/api/v1/tenants/{}/rule-log?{q}", t.tenant),
            &t.owner,
        )
        .await
        .expect_err(400, "request.invalid_query");
    }

    // Out of the dry run, warnings are counted per member; they can be read and cleared.
    let r = app
        .patch(
            &format!("{rules}/{flood_id}"),
            &t.owner,
            json!({"dry_run": false}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(r["dry_run"], false);
    let (chat, list) = eventually("warnings counted", async || {
        for g in &supergroups {
            let w = app
                .get(
                    &format!("/api/v1/tenants/{}/groups/{g}/warnings", t.tenant),
                    &t.owner,
                )
                .await
                .expect(200)
                .clone();
            if !w.as_array().unwrap().is_empty() {
                return Some((*g, w));
            }
        }
        None
    })
    .await;
    let user = list[0]["user_id"].as_i64().unwrap();
    assert!(list[0]["warnings"].as_u64().unwrap() >= 1);
    let cleared = app
        .delete(
            &format!(
                "/api/v1/tenants/{}/groups/{chat}/warnings?user_id={user}",
                t.tenant
            ),
            &t.owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(cleared["cleared"], 1);
    app.delete(
        &format!("/api/v1/tenants/{}/groups/{chat}/warnings", t.tenant),
        &t.owner,
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/tenants/{}/groups/-5/warnings", t.tenant),
        &t.owner,
    )
    .await
    .expect_err(404, "resource.not_found");

    // Rule actions are counted in the statistics, per group.
    let stats = app
        .get(
            &format!("/api/v1/tenants/{}/stats/groups", t.tenant),
            &t.owner,
        )
        .await
        .expect(200)
        .clone();
    let acted: u64 = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rule_actions"].as_u64().unwrap())
        .sum();
    assert!(acted >= 2, "{stats}");

    // Switching off, then removing.
    let off = app
        .patch(
            &format!("{rules}/{welcome_id}"),
            &t.owner,
            json!({"enabled": false, "remove_tag": true}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(off["enabled"], false);
    app.patch(
        &format!("{rules}/{welcome_id}"),
        &t.owner,
        json!({"tag": "x", "remove_tag": true}),
    )
    .await
    .expect_err(422, "validation.invalid");
    app.delete(&format!("{rules}/{welcome_id}"), &t.owner)
        .await
        .expect(204);
    app.get(&format!("{rules}/{welcome_id}"), &t.owner)
        .await
        .expect_err(404, "resource.not_found");
    app.delete(&format!("{rules}/{welcome_id}"), &t.owner)
        .await
        .expect_err(404, "resource.not_found");
    // The template is free again.
    app.delete(
        &format!("/api/v1/tenants/{}/templates/{welcome_tpl}", t.tenant),
        &t.owner,
    )
    .await
    .expect(204);

    // Another tenant sees none of it, and its rules reach only its own session's groups.
    let other = app
        .sim_tenant(&admin, "Başka", limits(), sim(22, 2, true, true))
        .await;
    for path in [
        format!("{rules}/{flood_id}"),
        format!("/api/v1/tenants/{}/rule-log", t.tenant),
        format!("/api/v1/tenants/{}/groups/{chat}/warnings", t.tenant),
    ] {
        app.get(&path, &other.owner)
            .await
            .expect_err(404, "resource.not_found");
    }
    let theirs = format!("/api/v1/tenants/{}/rules", other.tenant);
    app.get(&format!("{theirs}/{flood_id}"), &other.owner)
        .await
        .expect_err(404, "resource.not_found");
    app.patch(
        &format!("{theirs}/{flood_id}"),
        &other.owner,
        json!({"enabled": false}),
    )
    .await
    .expect_err(404, "resource.not_found");
    app.delete(&format!("{theirs}/{flood_id}"), &other.owner)
        .await
        .expect_err(404, "resource.not_found");
    app.post(
        &theirs,
        &other.owner,
        json!({"name": "X", "session_id": other.session, "chats": [supergroups[0]], "kind": filter}),
    )
    .await
    .expect_err(422, "rule.not_in_group");
    assert_eq!(app.get(&theirs, &other.owner).await.expect(200), &json!([]));
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_whose_session_lacks_rights_is_refused_saying_what_is_missing() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    // A session that is no admin anywhere.
    let t = app
        .sim_tenant(&admin, "Haklar", limits(), sim(23, 2, false, false))
        .await;
    let rules = format!("/api/v1/tenants/{}/rules", t.tenant);
    let groups = groups_of(&app, &t, "supergroup").await;
    let titles = app
        .get(
            &format!("/api/v1/tenants/{}/groups/{}", t.tenant, groups[0]),
            &t.owner,
        )
        .await
        .expect(200)["title"]
        .as_str()
        .unwrap()
        .to_string();
    let filter = json!({"name": "Bağlantılar", "session_id": t.session, "chats": [groups[0]],
                        "kind": {"type": "filter", "links": true,
                                 "warn": {"limit": 2, "then": {"action": "kick"}}}});
    let r = app.post(&rules, &t.owner, filter.clone()).await;
    r.expect_err(422, "rule.missing_rights");
    let msg = r.json["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&titles)
            && msg.contains(
                "is not an admin: make it an admin allowed to delete messages and ban users"
            ),
        "{msg}"
    );
    // Groups reached by a tag are checked the same way.
    app.patch(
        &format!("/api/v1/tenants/{}/groups/{}", t.tenant, groups[0]),
        &t.owner,
        json!({"enabled": true, "tags": ["vitrin"]}),
    )
    .await
    .expect(200);
    app.post(
        &rules,
        &t.owner,
        json!({"name": "Etiketle", "session_id": t.session, "tag": "vitrin",
               "kind": {"type": "filter", "links": true}}),
    )
    .await
    .expect_err(422, "rule.missing_rights");
    // A captcha needs the right to restrict newcomers.
    let r = app
        .post(
            &rules,
            &t.owner,
            json!({"name": "Doğrulama", "session_id": t.session, "chats": [groups[0]],
                   "kind": {"type": "captcha"}}),
        )
        .await;
    r.expect_err(422, "rule.missing_rights");
    // A welcome needs no rights.
    let tpl = template(&app, &t, "Selam", "Selam {user.first_name}").await;
    app.post(
        &rules,
        &t.owner,
        json!({"name": "Selam", "session_id": t.session, "chats": [groups[0]],
               "kind": {"type": "welcome", "template_id": tpl, "gap_secs": 0}}),
    )
    .await
    .expect(201);

    // Saved switched off, it waits for the rights; switching it on checks them again.
    let mut off = filter.clone();
    off["enabled"] = json!(false);
    let saved = app.post(&rules, &t.owner, off).await.expect(201).clone();
    let id = saved["id"].as_u64().unwrap();
    app.patch(&format!("{rules}/{id}"), &t.owner, json!({"enabled": true}))
        .await
        .expect_err(422, "rule.missing_rights");
    assert_eq!(
        app.get(&format!("{rules}/{id}"), &t.owner)
            .await
            .expect(200)["enabled"],
        false
    );

    // In the tenant's language, the group is still named.
    app.put(
        &format!("/api/v1/tenants/{}/settings", t.tenant),
        &t.owner,
        settings_body("Haklar"),
    )
    .await
    .expect(200);
    let r = app.post(&rules, &t.owner, filter).await;
    r.expect_err(422, "rule.missing_rights");
    let msg = r.json["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("“{titles}” grubunda")) && msg.contains("yetkilere sahip değil"),
        "{msg}"
    );
    app.stop().await.unwrap();
}
