//! A tenant's group rules in the console: the list with their state and switches, a form for
//! a new rule (one fieldset per kind), what the rules did lately, and the warnings they
//! counted per group. The same domain calls as the API; the viewer's `TenantScope` bounds all.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::RuleLogFilter;
use botyard_shards::ids::{ChatId, RuleId, SecretId, TenantId};
use botyard_shards::records::{PenaltyRec, RuleKindRec, RuleRec, WarnRec};

use super::DoneQuery;
use super::authorize::{Want, tenant};
use super::session::{Chrome, Viewer};
use super::{error_page, error_text, render};
use crate::domain::rules::manage::{self, Draft};
use crate::error::{AppError, AppResult};
use crate::http::roles::Needs;
use crate::state::{Shared, blocking};

/// Log entries the page shows.
const LOG_SHOWN: usize = 50;
const GROUP_FIELD: &str = "g_";

pub struct RuleRow {
    pub id: u64,
    pub name: String,
    pub kind_key: &'static str,
    pub groups: usize,
    /// Catalogue key of its state, and the pause's reason.
    pub state_key: &'static str,
    pub paused: String,
    pub dry_run: bool,
    pub enabled: bool,
}

pub struct LogRow {
    pub when: String,
    pub rule: String,
    pub group: String,
    pub user: String,
    pub action_key: &'static str,
    pub dry_run: bool,
    pub detail: String,
}

pub struct WarningRow {
    pub chat: i64,
    pub group: String,
    pub user: i64,
    pub warnings: u32,
}

#[derive(Template)]
#[template(path = "console/rules.html")]
struct RulesPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    rules: Vec<RuleRow>,
    log: Vec<LogRow>,
    warnings: Vec<WarningRow>,
    edit: bool,
    /// `(id, label)`.
    sessions: Vec<(u64, String)>,
    templates: Vec<(u64, String)>,
    /// `(chat id, title, ticked)`.
    groups: Vec<(i64, String, bool)>,
    f: RuleForm,
    kinds: &'static [(&'static str, &'static str)],
    penalties: &'static [(&'static str, &'static str)],
    notice: Option<String>,
    error: Option<String>,
}

/// The kinds of rule the form offers: `(value, catalogue key)`.
const KINDS: &[(&str, &str)] = &[
    ("welcome", "rules.kind_welcome"),
    ("goodbye", "rules.kind_goodbye"),
    ("auto_reply", "rules.kind_auto_reply"),
    ("anti_flood", "rules.kind_anti_flood"),
    ("filter", "rules.kind_filter"),
    ("captcha", "rules.kind_captcha"),
];

const PENALTIES: &[(&str, &str)] = &[
    ("delete", "rules.pen_delete"),
    ("warn", "rules.pen_warn"),
    ("mute", "rules.pen_mute"),
    ("kick", "rules.pen_kick"),
];

/// The new-rule form as posted: every field text, read once by [`draft`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub name: String,
    pub session_id: String,
    pub tag: String,
    pub kind: String,
    pub template_id: String,
    pub gap_secs: String,
    pub delete_after_mins: String,
    pub keywords: String,
    pub pattern: String,
    pub chat_cooldown_secs: String,
    pub user_cooldown_secs: String,
    pub messages: String,
    pub window_secs: String,
    pub penalty: String,
    pub mute_mins: String,
    pub links: Option<String>,
    pub invites: Option<String>,
    pub channel_forwards: Option<String>,
    pub words: String,
    pub timeout_secs: String,
    pub captcha_template: String,
    pub warn_limit: String,
    pub warn_then: String,
    pub warn_mute_mins: String,
    pub allow_users: String,
    pub dry_run: Option<String>,
    /// Ticked groups, as `g_<chat id>` fields.
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
}

impl RuleForm {
    /// What an empty form shows: a welcome, with sensible numbers in every fieldset.
    fn blank() -> RuleForm {
        RuleForm {
            kind: "welcome".into(),
            gap_secs: "60".into(),
            delete_after_mins: "0".into(),
            chat_cooldown_secs: "300".into(),
            user_cooldown_secs: "3600".into(),
            messages: "5".into(),
            window_secs: "10".into(),
            penalty: "mute".into(),
            mute_mins: "60".into(),
            links: Some("1".into()),
            timeout_secs: "90".into(),
            warn_limit: "3".into(),
            warn_then: "mute".into(),
            warn_mute_mins: "1440".into(),
            ..RuleForm::default()
        }
    }

    fn ticked(&self, chat: i64) -> bool {
        self.rest.contains_key(&format!("{GROUP_FIELD}{chat}"))
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::invalid(field, message)
}

fn number(v: &str, field: &str) -> AppResult<u32> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(0);
    }
    v.parse::<u32>()
        .map_err(|_| invalid(field, "a whole number, 0 or more"))
}

/// Minutes as seconds, bounded so a huge number is refused by the rule's own checks.
fn minutes(v: &str, field: &str) -> AppResult<u32> {
    Ok(number(v, field)?.saturating_mul(60))
}

fn id_list(v: &str, field: &str) -> AppResult<Vec<i64>> {
    v.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| invalid(field, "Telegram user ids (numbers), separated by commas"))
        })
        .collect()
}

fn words(v: &str) -> Vec<String> {
    v.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn penalty(kind: &str, mute_mins: &str, field: &str) -> AppResult<PenaltyRec> {
    Ok(match kind {
        "delete" => PenaltyRec::Delete,
        "warn" => PenaltyRec::Warn,
        "mute" => PenaltyRec::Mute {
            secs: minutes(mute_mins, field)?,
        },
        "kick" => PenaltyRec::Kick,
        _ => return Err(invalid(field, "delete, warn, mute or remove")),
    })
}

fn warn(f: &RuleForm) -> AppResult<Option<WarnRec>> {
    let limit = number(&f.warn_limit, "warn_limit")?;
    if limit == 0 {
        return Ok(None);
    }
    Ok(Some(WarnRec {
        limit,
        then: penalty(&f.warn_then, &f.warn_mute_mins, "warn_mute_mins")?,
    }))
}

fn template(v: &str, field: &str) -> AppResult<u64> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| invalid(field, "choose a template"))
}

/// The rule a posted form asks for; the domain then checks it as the API's.
pub fn draft(f: &RuleForm) -> AppResult<Draft> {
    let kind = match f.kind.as_str() {
        "welcome" => RuleKindRec::Welcome {
            template: template(&f.template_id, "template_id")?,
            delete_after_secs: minutes(&f.delete_after_mins, "delete_after_mins")?,
            gap_secs: number(&f.gap_secs, "gap_secs")?,
        },
        "goodbye" => RuleKindRec::Goodbye {
            template: template(&f.template_id, "template_id")?,
            delete_after_secs: minutes(&f.delete_after_mins, "delete_after_mins")?,
        },
        "auto_reply" => {
            let pattern = Some(f.pattern.trim().to_string()).filter(|p| !p.is_empty());
            RuleKindRec::AutoReply {
                keywords: words(&f.keywords),
                pattern,
                template: template(&f.template_id, "template_id")?,
                chat_cooldown_secs: number(&f.chat_cooldown_secs, "chat_cooldown_secs")?,
                user_cooldown_secs: number(&f.user_cooldown_secs, "user_cooldown_secs")?,
            }
        }
        "anti_flood" => RuleKindRec::AntiFlood {
            messages: number(&f.messages, "messages")?,
            window_secs: number(&f.window_secs, "window_secs")?,
            penalty: penalty(&f.penalty, &f.mute_mins, "mute_mins")?,
            warn: warn(f)?,
        },
        "filter" => RuleKindRec::Filter {
            links: f.links.is_some(),
            invites: f.invites.is_some(),
            channel_forwards: f.channel_forwards.is_some(),
            words: words(&f.words),
            warn: warn(f)?,
        },
        "captcha" => RuleKindRec::Captcha {
            template: match f.captcha_template.trim() {
                "" | "0" => None,
                t => Some(template(t, "captcha_template")?),
            },
            timeout_secs: number(&f.timeout_secs, "timeout_secs")?,
        },
        _ => return Err(invalid("kind", "choose what the rule does")),
    };
    let mut chats: Vec<i64> = f
        .rest
        .keys()
        .filter_map(|k| k.strip_prefix(GROUP_FIELD)?.parse::<i64>().ok())
        .collect();
    chats.sort_unstable();
    Ok(Draft {
        name: f.name.clone(),
        session: SecretId(
            f.session_id
                .trim()
                .parse::<u64>()
                .map_err(|_| invalid("session_id", "choose the session that acts"))?,
        ),
        chats,
        tag: Some(f.tag.trim().to_string()).filter(|t| !t.is_empty()),
        dry_run: f.dry_run.is_some(),
        enabled: true,
        allow_users: id_list(&f.allow_users, "allow_users")?,
        kind,
    })
}

fn kind_key(k: &RuleKindRec) -> &'static str {
    match k {
        RuleKindRec::Welcome { .. } => "rules.kind_welcome",
        RuleKindRec::Goodbye { .. } => "rules.kind_goodbye",
        RuleKindRec::AutoReply { .. } => "rules.kind_auto_reply",
        RuleKindRec::AntiFlood { .. } => "rules.kind_anti_flood",
        RuleKindRec::Filter { .. } => "rules.kind_filter",
        RuleKindRec::Captcha { .. } => "rules.kind_captcha",
    }
}

fn state_key(r: &RuleRec) -> &'static str {
    if r.paused.is_some() {
        "rules.state_paused"
    } else if !r.enabled {
        "rules.state_off"
    } else if r.dry_run {
        "rules.state_dry_run"
    } else {
        "rules.state_on"
    }
}

fn action_key(action: &str) -> &'static str {
    match action {
        "welcomed" => "rules.act_welcomed",
        "said_goodbye" => "rules.act_said_goodbye",
        "replied" => "rules.act_replied",
        "deleted" => "rules.act_deleted",
        "warned" => "rules.act_warned",
        "muted" => "rules.act_muted",
        "kicked" => "rules.act_kicked",
        "captcha_sent" => "rules.act_captcha_sent",
        "captcha_passed" => "rules.act_captcha_passed",
        "captcha_failed" => "rules.act_captcha_failed",
        "held" => "rules.act_held",
        _ => "rules.act_failed",
    }
}

fn can_edit(scope: &botyard_shards::TenantScope) -> bool {
    crate::http::roles::check(scope.access(), Needs::Edit, true).is_ok()
}

async fn page(
    st: &Shared,
    v: &Viewer,
    id: u64,
    f: RuleForm,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let scope = tenant(st, v, id, Want::Read).await?;
    let (name, edit) = (scope.record().name.clone(), can_edit(&scope));
    let c = v.tenant_page();
    let t = c.t.clone();
    let (rules, log, warnings, sessions, templates, groups) = blocking(move || {
        let s = scope.shard_read()?;
        let all_groups = s.groups()?;
        let titles: HashMap<i64, String> = all_groups
            .iter()
            .map(|(c, g)| (c.0, g.title.clone()))
            .collect();
        let mut names: HashMap<u64, String> = HashMap::new();
        let mut rules = Vec::new();
        for (rid, r) in s.rules()? {
            names.insert(rid.0, r.name.clone());
            rules.push(RuleRow {
                id: rid.0,
                name: r.name.clone(),
                kind_key: kind_key(&r.kind),
                groups: crate::domain::rules::groups_in(&all_groups, &r).len(),
                state_key: state_key(&r),
                paused: r.paused.clone().unwrap_or_default(),
                dry_run: r.dry_run,
                enabled: r.enabled,
            });
        }
        let title = |chat: i64| {
            titles
                .get(&chat)
                .cloned()
                .unwrap_or_else(|| chat.to_string())
        };
        let log = s
            .rule_log(&RuleLogFilter {
                limit: LOG_SHOWN,
                ..RuleLogFilter::default()
            })?
            .into_iter()
            .map(|(_, h)| LogRow {
                when: t.when(h.at),
                rule: names
                    .get(&h.rule)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", h.rule)),
                group: title(h.chat),
                user: h.user.map(|u| u.to_string()).unwrap_or_default(),
                action_key: action_key(&h.kind),
                dry_run: h.dry_run,
                detail: h.detail,
            })
            .collect::<Vec<_>>();
        let warnings = s
            .all_warnings()?
            .into_iter()
            .map(|(chat, user, n)| WarningRow {
                chat,
                group: title(chat),
                user,
                warnings: n,
            })
            .collect::<Vec<_>>();
        let sessions = s
            .sessions()?
            .into_iter()
            .map(|(sid, r)| (sid.0, r.label))
            .collect::<Vec<_>>();
        let templates = s
            .templates()?
            .into_iter()
            .map(|(tid, r)| (tid.0, r.name))
            .collect::<Vec<_>>();
        let mut groups: Vec<(i64, String)> = all_groups
            .into_iter()
            .filter(|(_, g)| g.present && g.kind != botyard_shards::records::GroupKindRec::Channel)
            .map(|(c, g)| (c.0, g.title))
            .collect();
        groups.sort_by(|a, b| a.1.cmp(&b.1));
        Ok((rules, log, warnings, sessions, templates, groups))
    })
    .await?;
    let groups = groups
        .into_iter()
        .map(|(chat, title)| {
            let ticked = f.ticked(chat);
            (chat, title, ticked)
        })
        .collect();
    Ok(render(&RulesPage {
        c,
        tenant: id,
        tenant_name: name,
        rules,
        log,
        warnings,
        edit,
        sessions,
        templates,
        groups,
        f,
        kinds: KINDS,
        penalties: PENALTIES,
        notice,
        error,
    }))
}

pub async fn rules(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let notice = q.notice(
        &v.chrome.t,
        &[
            ("created", "rules.created"),
            ("changed", "rules.changed"),
            ("deleted", "rules.deleted"),
            ("cleared", "rules.cleared"),
        ],
    );
    page(&st, &v, id, RuleForm::blank(), notice, None)
        .await
        .unwrap_or_else(|e| error_page(v.page(""), e))
}

fn back(v: &Viewer, id: u64, done: &str) -> Response {
    Redirect::to(&format!("{}/tenants/{id}/rules?done={done}", v.chrome.root)).into_response()
}

pub async fn create_rule(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<RuleForm>,
) -> Response {
    let form = f.clone();
    let created = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::POST, "/api/v1/tenants/{id}/rules"),
        )
        .await?;
        let d = draft(&f)?;
        let now = st.now();
        blocking(move || manage::create(&scope, d, now).map(|_| ())).await
    }
    .await;
    match created {
        Ok(()) => {
            st.supervisor.push_rules(TenantId(id)).await;
            back(&v, id, "created")
        }
        // The form comes back as it was, with what is wrong.
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match page(&st, &v, id, form, None, Some(text)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => error_page(v.page(""), e),
            }
        }
    }
}

/// The switches: dry run on or off, on or off (which also starts a paused rule), delete.
pub async fn rule_action(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, rid, action)): Path<(u64, u64, String)>,
) -> Response {
    let done = async {
        let method = if action == "delete" {
            Method::DELETE
        } else {
            Method::PATCH
        };
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(method, "/api/v1/tenants/{id}/rules/{rule_id}"),
        )
        .await?;
        let (rid, now) = (RuleId(rid), st.now());
        let done = match action.as_str() {
            "delete" => {
                blocking(move || manage::delete(&scope, rid)).await?;
                "deleted"
            }
            "dry_run_on" | "dry_run_off" | "enable" | "disable" => {
                let a = action.clone();
                blocking(move || {
                    manage::update(
                        &scope,
                        rid,
                        |d| match a.as_str() {
                            "dry_run_on" => d.dry_run = true,
                            "dry_run_off" => d.dry_run = false,
                            "enable" => d.enabled = true,
                            _ => d.enabled = false,
                        },
                        now,
                    )
                })
                .await?;
                "changed"
            }
            _ => return Err(AppError::NotFound("action")),
        };
        Ok(done)
    }
    .await;
    match done {
        Ok(done) => {
            st.supervisor.push_rules(TenantId(id)).await;
            back(&v, id, done)
        }
        Err(e) => {
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            match page(&st, &v, id, RuleForm::blank(), None, Some(text)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => error_page(v.page(""), e),
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ClearForm {
    #[serde(default)]
    user_id: String,
}

/// Clears one member's warnings in a group, or everyone's when no member is named.
pub async fn clear_warnings(
    State(st): State<Shared>,
    v: Viewer,
    Path((id, chat)): Path<(u64, i64)>,
    Form(f): Form<ClearForm>,
) -> Response {
    let done = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(
                Method::DELETE,
                "/api/v1/tenants/{id}/groups/{chat_id}/warnings",
            ),
        )
        .await?;
        let user = match f.user_id.trim() {
            "" => None,
            u => Some(
                u.parse::<i64>()
                    .map_err(|_| invalid("user_id", "a Telegram user id"))?,
            ),
        };
        blocking(move || manage::clear_warnings(&scope, ChatId(chat), user)).await
    }
    .await;
    match done {
        Ok(_) => {
            st.supervisor.push_rules(TenantId(id)).await;
            back(&v, id, "cleared")
        }
        Err(e) => error_page(v.page(""), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> RuleForm {
        let mut f = RuleForm::blank();
        f.name = "Kural".into();
        f.session_id = "2".into();
        f.kind = kind.into();
        f.template_id = "7".into();
        f.rest.insert("g_-1001".into(), "1".into());
        f.rest.insert("g_-1002".into(), "1".into());
        f.rest.insert("_csrf".into(), "x".into());
        f
    }

    #[test]
    fn a_posted_form_becomes_the_rule_it_shows() {
        let d = draft(&form("welcome")).unwrap();
        assert_eq!(d.session, SecretId(2));
        assert_eq!(d.chats, vec![-1002, -1001]);
        assert_eq!(
            d.kind,
            RuleKindRec::Welcome {
                template: 7,
                delete_after_secs: 0,
                gap_secs: 60
            }
        );
        let mut f = form("anti_flood");
        f.allow_users = "111, 222\n333".into();
        f.penalty = "kick".into();
        let d = draft(&f).unwrap();
        assert_eq!(d.allow_users, vec![111, 222, 333]);
        assert_eq!(
            d.kind,
            RuleKindRec::AntiFlood {
                messages: 5,
                window_secs: 10,
                penalty: PenaltyRec::Kick,
                warn: Some(WarnRec {
                    limit: 3,
                    then: PenaltyRec::Mute { secs: 86_400 }
                })
            }
        );
        let mut f = form("filter");
        f.warn_limit = "0".into();
        f.words = "kumar, bahis\n".into();
        let d = draft(&f).unwrap();
        assert_eq!(
            d.kind,
            RuleKindRec::Filter {
                links: true,
                invites: false,
                channel_forwards: false,
                words: vec!["kumar".into(), "bahis".into()],
                warn: None
            }
        );
        let mut f = form("captcha");
        f.template_id = "junk from a hidden field".into();
        assert_eq!(
            draft(&f).unwrap().kind,
            RuleKindRec::Captcha {
                template: None,
                timeout_secs: 90
            }
        );
    }

    #[test]
    fn a_form_that_makes_no_sense_says_which_field() {
        for (kind, field, value) in [
            ("sing", "kind", ""),
            ("welcome", "template_id", ""),
            ("anti_flood", "messages", "beş"),
            ("anti_flood", "penalty", "shout"),
            ("filter", "allow_users", "@ayse"),
            ("welcome", "session_id", "x"),
        ] {
            let mut f = form(kind);
            match field {
                "template_id" => f.template_id = value.into(),
                "messages" => f.messages = value.into(),
                "penalty" => f.penalty = value.into(),
                "allow_users" => f.allow_users = value.into(),
                "session_id" => f.session_id = value.into(),
                _ => {}
            }
            let e = draft(&f).unwrap_err();
            let want = if field == "penalty" {
                "mute_mins"
            } else {
                field
            };
            assert_eq!(e.field(), Some(want), "{kind} {field}: {e:?}");
        }
    }
}
