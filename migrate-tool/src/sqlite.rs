//! `botyard-migrate sqlite`: a legacy bot's data into one tenant, through the appliance's API.
//! Everything is matched by a natural key before it is sent (the tenant and templates and
//! campaigns by name, the session by its label, groups and users by Telegram's ids), so a
//! second run adds nothing. Campaigns are made as drafts: activate them once the old bot is
//! stopped, or both would post.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::MigrateError;
use crate::api::Api;
use crate::legacy::{self, BotSource, Legacy, Problem};
use crate::mapping::Mapping;

pub struct Options {
    pub db: PathBuf,
    pub map: PathBuf,
    pub tenant: String,
    pub server: String,
    pub token: String,
    pub dry_run: bool,
}

/// What a run did, or would do, and every row it could not map.
#[derive(Debug, Default)]
pub struct Report {
    pub tenant: Option<u64>,
    pub dry_run: bool,
    pub actions: Vec<String>,
    pub problems: Vec<Problem>,
    /// Rows created (by kind) — zero on a second run.
    pub created: Created,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    pub tenants: u32,
    pub sessions: u32,
    pub groups: u32,
    pub users: u32,
    pub templates: u32,
    pub campaigns: u32,
}

impl Report {
    /// The report as the command prints it.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.dry_run {
            s.push_str("Dry run: nothing was changed.\n");
        }
        for a in &self.actions {
            s.push_str(&format!("  {a}\n"));
        }
        if self.problems.is_empty() {
            s.push_str("Every row was mapped.\n");
        } else {
            s.push_str(&format!("{} rows cannot be mapped:\n", self.problems.len()));
            for p in &self.problems {
                s.push_str(&format!("  {} {}: {}\n", p.kind, p.row, p.why));
            }
        }
        s
    }
}

/// Users per request.
const BATCH: usize = 5_000;

pub async fn run(o: &Options) -> Result<Report, MigrateError> {
    let map = Mapping::load(&o.map)?;
    let legacy = legacy::read(&o.db, &map)?;
    let api = Api::new(&o.server, &o.token)?;
    let mut r = Report {
        dry_run: o.dry_run,
        problems: legacy.problems.clone(),
        ..Report::default()
    };
    let tenant = find_tenant(&api, &o.tenant).await?;
    let tenant = match tenant {
        Some(id) => {
            r.actions
                .push(format!("tenant \"{}\" exists (id {id})", o.tenant));
            Some(id)
        }
        None if o.dry_run => {
            r.actions
                .push(format!("would create tenant \"{}\"", o.tenant));
            None
        }
        None => {
            let v = api
                .post("/api/v1/tenants", json!({"name": o.tenant}))
                .await?;
            let id = v["id"].as_u64().unwrap_or_default();
            r.actions
                .push(format!("created tenant \"{}\" (id {id})", o.tenant));
            r.created.tenants += 1;
            Some(id)
        }
    };
    r.tenant = tenant;
    let state = match tenant {
        Some(t) => State::read(&api, t).await?,
        None => State::default(),
    };
    let base = tenant.map(|t| format!("/api/v1/tenants/{t}"));
    let session = bot_session(&api, base.as_deref(), &map, &legacy, &state, &mut r).await?;
    time_zone(&api, base.as_deref(), &legacy, &state, &mut r).await?;
    groups_and_users(&api, base.as_deref(), session, &legacy, &state, &mut r).await?;
    let templates = templates(&api, base.as_deref(), &legacy, &state, &mut r).await?;
    campaigns(
        &api,
        base.as_deref(),
        session,
        &legacy,
        &state,
        &templates,
        &mut r,
    )
    .await?;
    Ok(r)
}

pub(crate) async fn find_tenant(api: &Api, name: &str) -> Result<Option<u64>, MigrateError> {
    let q: String = url_encode(name);
    let v = api.get(&format!("/api/v1/tenants?limit=100&q={q}")).await?;
    Ok(v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"].as_str() == Some(name))
        .and_then(|t| t["id"].as_u64()))
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the tenant holds already.
#[derive(Default)]
struct State {
    sessions: Vec<Value>,
    groups: Vec<Value>,
    templates: Vec<Value>,
    campaigns: Vec<Value>,
    settings: Value,
}

impl State {
    async fn read(api: &Api, t: u64) -> Result<State, MigrateError> {
        let b = format!("/api/v1/tenants/{t}");
        let list = |v: Value| v.as_array().cloned().unwrap_or_default();
        Ok(State {
            sessions: list(api.get(&format!("{b}/sessions")).await?),
            groups: list(api.get(&format!("{b}/groups")).await?),
            templates: list(api.get(&format!("{b}/templates")).await?),
            campaigns: list(api.get(&format!("{b}/campaigns")).await?),
            settings: api.get(&format!("{b}/settings")).await?,
        })
    }
}

fn problem(r: &mut Report, kind: &'static str, row: impl Into<String>, why: impl Into<String>) {
    r.problems.push(Problem {
        kind,
        row: row.into(),
        why: why.into(),
    });
}

/// The session that posts: found by its label, else added from the token or session file.
async fn bot_session(
    api: &Api,
    base: Option<&str>,
    map: &Mapping,
    legacy: &Legacy,
    state: &State,
    r: &mut Report,
) -> Result<Option<u64>, MigrateError> {
    let (Some(bot), Some(source)) = (&map.bot, &legacy.bot) else {
        return Ok(state.sessions.first().and_then(|s| s["id"].as_u64()));
    };
    if let Some(s) = state
        .sessions
        .iter()
        .find(|s| s["label"].as_str() == Some(bot.label.as_str()))
    {
        r.actions.push(format!("session \"{}\" exists", bot.label));
        return Ok(s["id"].as_u64());
    }
    let Some(base) = base.filter(|_| !r.dry_run) else {
        r.actions.push(format!(
            "would add the bot's session \"{}\" ({})",
            bot.label,
            match source {
                BotSource::Token(_) => "from its token",
                BotSource::SessionFile(_) => "from its session file",
            }
        ));
        return Ok(None);
    };
    let made = match source {
        BotSource::Token(token) => {
            api.post(
                &format!("{base}/sessions"),
                json!({"kind": "bot", "label": bot.label, "token": token}),
            )
            .await
        }
        BotSource::SessionFile(f) => {
            let bytes = std::fs::read(f)
                .map_err(|e| MigrateError::Input(format!("{}: {e}", f.display())))?;
            api.post_bytes(
                &format!(
                    "{base}/sessions/import-file?label={}",
                    url_encode(&bot.label)
                ),
                bytes,
            )
            .await
        }
    };
    match made {
        Ok(v) => {
            r.actions
                .push(format!("added the bot's session \"{}\"", bot.label));
            r.created.sessions += 1;
            Ok(v["id"].as_u64())
        }
        Err(MigrateError::Api { code, message, .. }) => {
            problem(r, "bot", bot.label.clone(), format!("{code}: {message}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The tenant's time zone, from the mapping or the schedules, when the tenant has no
/// campaigns yet (their times would move).
async fn time_zone(
    api: &Api,
    base: Option<&str>,
    legacy: &Legacy,
    state: &State,
    r: &mut Report,
) -> Result<(), MigrateError> {
    let Some(zone) = &legacy.time_zone else {
        return Ok(());
    };
    let current = state.settings["time_zone"].as_str().unwrap_or("UTC");
    if current == zone {
        return Ok(());
    }
    if !state.campaigns.is_empty() {
        problem(
            r,
            "tenant",
            "time_zone",
            format!(
                "the tenant runs in {current} and has campaigns; set {zone} in its settings yourself"
            ),
        );
        return Ok(());
    }
    match base.filter(|_| !r.dry_run) {
        None => r.actions.push(format!("would set the time zone to {zone}")),
        Some(base) => {
            let mut s = state.settings.clone();
            s["time_zone"] = json!(zone);
            api.put(&format!("{base}/settings"), s).await?;
            r.actions.push(format!("set the time zone to {zone}"));
        }
    }
    Ok(())
}

async fn groups_and_users(
    api: &Api,
    base: Option<&str>,
    session: Option<u64>,
    legacy: &Legacy,
    state: &State,
    r: &mut Report,
) -> Result<(), MigrateError> {
    let known = |id: i64| {
        state
            .groups
            .iter()
            .any(|g| g["chat_id"].as_i64() == Some(id))
    };
    let new_groups = legacy.groups.iter().filter(|g| !known(g.chat_id)).count();
    let groups: Vec<Value> = legacy
        .groups
        .iter()
        .map(|g| json!({"chat_id": g.chat_id, "title": g.title, "kind": g.kind, "enabled": g.enabled}))
        .collect();
    let users: Vec<Value> = legacy
        .users
        .iter()
        .map(|u| {
            json!({"user_id": u.user_id, "first_name": u.first_name, "last_name": u.last_name,
                   "username": u.username, "messages": u.messages, "first_seen": u.first_seen})
        })
        .collect();
    let Some(base) = base.filter(|_| !r.dry_run) else {
        r.actions.push(format!(
            "would import {} groups ({new_groups} new) and {} Telegram users",
            groups.len(),
            users.len()
        ));
        return Ok(());
    };
    if !groups.is_empty() {
        match session {
            Some(s) => {
                for chunk in groups.chunks(BATCH) {
                    let v = api
                        .post(
                            &format!("{base}/import"),
                            json!({"session_id": s, "groups": chunk}),
                        )
                        .await?;
                    r.created.groups += v["groups"]["created"].as_u64().unwrap_or(0) as u32;
                }
            }
            None => {
                for g in &legacy.groups {
                    problem(
                        r,
                        "groups",
                        g.chat_id.to_string(),
                        "no session to post there (see the bot's problem)",
                    );
                }
            }
        }
    }
    let mut updated = 0;
    for chunk in users.chunks(BATCH) {
        let v = api
            .post(&format!("{base}/import"), json!({"users": chunk}))
            .await?;
        r.created.users += v["users"]["created"].as_u64().unwrap_or(0) as u32;
        updated += v["users"]["updated"].as_u64().unwrap_or(0);
    }
    r.actions.push(format!(
        "groups: {} new of {}; Telegram users: {} new, {updated} updated, of {}",
        r.created.groups,
        groups.len(),
        r.created.users,
        users.len()
    ));
    Ok(())
}

/// Templates by name; returns legacy id → botyard id.
async fn templates(
    api: &Api,
    base: Option<&str>,
    legacy: &Legacy,
    state: &State,
    r: &mut Report,
) -> Result<Vec<(String, u64)>, MigrateError> {
    let mut ids = Vec::new();
    let mut would = 0;
    for t in &legacy.templates {
        if let Some(have) = state
            .templates
            .iter()
            .find(|x| x["name"].as_str() == Some(t.name.as_str()))
        {
            let id = have["id"].as_u64().unwrap_or_default();
            if let Some(base) = base {
                let full = api.get(&format!("{base}/templates/{id}")).await?;
                if full["body"].as_str() != Some(t.body.as_str()) {
                    r.actions.push(format!(
                        "template \"{}\" exists with another text; kept as it is",
                        t.name
                    ));
                }
            }
            ids.push((t.legacy_id.clone(), id));
            continue;
        }
        let Some(base) = base.filter(|_| !r.dry_run) else {
            would += 1;
            continue;
        };
        match api
            .post(
                &format!("{base}/templates"),
                json!({"name": t.name, "body": t.body, "format": "html"}),
            )
            .await
        {
            Ok(v) => {
                ids.push((t.legacy_id.clone(), v["id"].as_u64().unwrap_or_default()));
                r.created.templates += 1;
            }
            Err(MigrateError::Api { code, message, .. }) => {
                problem(
                    r,
                    "templates",
                    t.legacy_id.clone(),
                    format!("{code}: {message}"),
                );
            }
            Err(e) => return Err(e),
        }
    }
    if r.dry_run {
        r.actions.push(format!(
            "would create {would} templates of {}",
            legacy.templates.len()
        ));
    } else {
        r.actions.push(format!(
            "templates: {} new of {}",
            r.created.templates,
            legacy.templates.len()
        ));
    }
    Ok(ids)
}

async fn campaigns(
    api: &Api,
    base: Option<&str>,
    session: Option<u64>,
    legacy: &Legacy,
    state: &State,
    templates: &[(String, u64)],
    r: &mut Report,
) -> Result<(), MigrateError> {
    let mut would = 0;
    let mut enabled = 0;
    for s in &legacy.schedules {
        if state
            .campaigns
            .iter()
            .any(|c| c["name"].as_str() == Some(s.name.as_str()))
        {
            continue;
        }
        let Some(base) = base.filter(|_| !r.dry_run) else {
            would += 1;
            continue;
        };
        let Some((_, template_id)) = templates.iter().find(|(l, _)| *l == s.template) else {
            problem(
                r,
                "schedules",
                s.legacy_id.clone(),
                format!("its template {} was not imported", s.template),
            );
            continue;
        };
        let schedule = match (&s.every_minutes, &s.cron) {
            (Some(m), _) => json!({"every_minutes": m}),
            (None, Some(c)) => json!({"cron": c}),
            (None, None) => continue,
        };
        let mut body = json!({"name": s.name, "template_id": template_id, "schedule": schedule,
                              "session_id": session, "force": true});
        match s.chat_id {
            Some(c) => body["chat_ids"] = json!([c]),
            None => body["tags"] = json!(["imported"]),
        }
        match api.post(&format!("{base}/campaigns"), body).await {
            Ok(_) => {
                r.created.campaigns += 1;
                if s.enabled {
                    enabled += 1;
                }
            }
            Err(MigrateError::Api { code, message, .. }) => {
                problem(
                    r,
                    "schedules",
                    s.legacy_id.clone(),
                    format!("{code}: {message}"),
                );
            }
            Err(e) => return Err(e),
        }
    }
    if r.dry_run {
        r.actions.push(format!(
            "would create {would} campaigns (as drafts) of {} schedules",
            legacy.schedules.len()
        ));
    } else {
        r.actions.push(format!(
            "campaigns: {} new of {} schedules, as drafts; {enabled} of them ran in the old bot: activate them once it is stopped",
            r.created.campaigns,
            legacy.schedules.len()
        ));
    }
    Ok(())
}
