//! Group automation rules: what a tenant keeps (welcome and goodbye messages, auto-replies,
//! anti-flood, filters, join captcha), the specs its worker runs, and what the worker
//! reports they did. Plain functions over a `TenantScope`; the engine itself lives in the
//! worker (`worker::rules`).

pub mod manage;
pub mod texts;

use std::collections::HashMap;

use botyard_shards::ids::{ChatId, RuleId, TemplateId};
use botyard_shards::records::{
    GroupRec, Language, PenaltyRec, RuleHitRec, RuleKindRec, RuleRec, TemplateFormatRec, WarnRec,
};
use botyard_shards::{Store, StoreError, TenantScope, TenantShard};

use crate::domain::templates::{self, vars};
use crate::error::{AppError, AppResult};
use crate::worker::rules::{
    self as engine, Hit, HitKind, Matcher, Penalty, Reply, RuleKind, RuleSet, RuleSpec, Warning,
    fill,
};
use crate::worker::telegram::Markup;

/// Most rules per tenant.
pub const RULES_MAX: usize = 100;
/// Most keywords, filter words and allowed users per rule, and their sizes.
pub const WORDS_MAX: usize = 50;
pub const WORD_MAX_CHARS: usize = 64;
pub const ALLOW_MAX: usize = 100;
pub const CHATS_MAX: usize = 500;
pub const NAME_MAX_CHARS: usize = 80;

/// A rule's kind and the rights its session needs in each group.
pub fn needs(kind: &RuleKindRec) -> (bool, bool) {
    // (delete messages, ban users)
    match kind {
        RuleKindRec::Welcome { .. }
        | RuleKindRec::Goodbye { .. }
        | RuleKindRec::AutoReply { .. } => (false, false),
        RuleKindRec::Filter { warn, .. } => (true, warn.is_some_and(|w| w.limit > 0)),
        RuleKindRec::AntiFlood { penalty, warn, .. } => (
            true,
            !matches!(penalty, PenaltyRec::Delete | PenaltyRec::Warn)
                || warn.is_some_and(|w| w.limit > 0),
        ),
        RuleKindRec::Captcha { .. } => (true, true),
    }
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: field.into(),
        message: message.into(),
    }
}

/// The words of a keyword or filter list, bounded and non-empty.
fn check_words(words: &[String], field: &str) -> AppResult<()> {
    if words.len() > WORDS_MAX {
        return Err(invalid(
            "rule.too_many_words",
            field,
            format!("at most {WORDS_MAX} words"),
        ));
    }
    for w in words {
        if w.chars().count() > WORD_MAX_CHARS || engine::matching::keyword(w).is_none() {
            return Err(invalid(
                "rule.bad_word",
                field,
                format!(
                    "a word has at most {WORD_MAX_CHARS} characters, with a letter or a digit; “{w}” does not fit"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a rule's own settings (not yet its groups and session).
pub fn check(rec: &RuleRec) -> AppResult<()> {
    let name = rec.name.trim();
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(invalid(
            "rule.name",
            "name",
            format!("a name of 1 to {NAME_MAX_CHARS} characters on one line"),
        ));
    }
    if rec.chats.is_empty() && rec.tag.is_none() {
        return Err(invalid(
            "rule.no_groups",
            "chats",
            "choose groups, or a tag whose groups the rule applies to",
        ));
    }
    if rec.chats.len() > CHATS_MAX || rec.allow_users.len() > ALLOW_MAX {
        return Err(invalid(
            "rule.too_many",
            "chats",
            format!("at most {CHATS_MAX} groups and {ALLOW_MAX} allowed users"),
        ));
    }
    let secs = |v: u32, field: &str, lo: u32, hi: u32| -> AppResult<()> {
        if v < lo || v > hi {
            return Err(invalid(
                "rule.out_of_range",
                field,
                format!("between {lo} and {hi}"),
            ));
        }
        Ok(())
    };
    let warn_ok = |w: &Option<WarnRec>| -> AppResult<()> {
        if let Some(w) = w {
            secs(w.limit, "warn.limit", 0, 20)?;
            if matches!(w.then, PenaltyRec::Delete | PenaltyRec::Warn) && w.limit > 0 {
                return Err(invalid(
                    "rule.bad_escalation",
                    "warn.then",
                    "the last warning mutes or removes the member",
                ));
            }
            if let PenaltyRec::Mute { secs: s } = w.then {
                secs(s, "warn.then.secs", 30, 366 * 86_400)?;
            }
        }
        Ok(())
    };
    match &rec.kind {
        RuleKindRec::Welcome {
            delete_after_secs,
            gap_secs,
            ..
        } => {
            secs(*delete_after_secs, "delete_after_secs", 0, 7 * 86_400)?;
            secs(*gap_secs, "gap_secs", 0, 86_400)?;
        }
        RuleKindRec::Goodbye {
            delete_after_secs, ..
        } => secs(*delete_after_secs, "delete_after_secs", 0, 7 * 86_400)?,
        RuleKindRec::AutoReply {
            keywords,
            pattern,
            chat_cooldown_secs,
            user_cooldown_secs,
            ..
        } => {
            match (keywords.is_empty(), pattern) {
                (true, None) | (false, Some(_)) => {
                    return Err(invalid(
                        "rule.matcher",
                        "keywords",
                        "give keywords or a pattern (one of them)",
                    ));
                }
                (_, Some(p)) => {
                    engine::matching::compile(p)
                        .map_err(|e| invalid("rule.pattern", "pattern", e))?;
                }
                (false, None) => check_words(keywords, "keywords")?,
            }
            secs(*chat_cooldown_secs, "chat_cooldown_secs", 0, 86_400)?;
            secs(*user_cooldown_secs, "user_cooldown_secs", 0, 7 * 86_400)?;
        }
        RuleKindRec::AntiFlood {
            messages,
            window_secs,
            penalty,
            warn,
        } => {
            secs(*messages, "messages", 2, 100)?;
            secs(*window_secs, "window_secs", 1, 600)?;
            if let PenaltyRec::Mute { secs: s } = penalty {
                secs(*s, "penalty.secs", 30, 366 * 86_400)?;
            }
            warn_ok(warn)?;
        }
        RuleKindRec::Filter {
            links,
            invites,
            channel_forwards,
            words,
            warn,
        } => {
            if !links && !invites && !channel_forwards && words.is_empty() {
                return Err(invalid(
                    "rule.empty_filter",
                    "words",
                    "choose what the filter removes: links, invite links, forwards from channels or words",
                ));
            }
            check_words(words, "words")?;
            warn_ok(warn)?;
        }
        RuleKindRec::Captcha { timeout_secs, .. } => {
            secs(*timeout_secs, "timeout_secs", 15, 3_600)?
        }
    }
    Ok(())
}

/// The groups a rule applies to now: its chosen ones and those with its tag, that its
/// session is in.
pub fn groups_of<T: botyard_shards::Reader>(
    s: &TenantShard<T>,
    rec: &RuleRec,
) -> Result<Vec<ChatId>, StoreError> {
    Ok(groups_in(&s.groups()?, rec))
}

/// [`groups_of`] among the tenant's groups read once (for many rules, or many hits).
pub fn groups_in(groups: &[(ChatId, GroupRec)], rec: &RuleRec) -> Vec<ChatId> {
    let mut out = Vec::new();
    for (chat, g) in groups {
        let chosen = rec.chats.contains(&chat.0)
            || rec
                .tag
                .as_ref()
                .is_some_and(|t| g.enabled && g.tags.iter().any(|x| x == t));
        if chosen && g.present && g.seen_by.contains(&rec.session) {
            out.push(*chat);
        }
    }
    out
}

/// Refuses a rule whose session lacks what it needs in one of its chosen groups, naming
/// what is missing where.
pub fn check_rights<T: botyard_shards::Reader>(s: &TenantShard<T>, rec: &RuleRec) -> AppResult<()> {
    let session = s
        .sessions()?
        .into_iter()
        .find(|(id, _)| id.0 == rec.session)
        .ok_or(AppError::NotFound("session"))?;
    let (delete, ban) = needs(&rec.kind);
    if matches!(rec.kind, RuleKindRec::Captcha { .. })
        && session.1.kind == botyard_shards::records::SessionKindRec::User
    {
        return Err(invalid(
            "rule.needs_bot",
            "session",
            "a join captcha needs a bot session (its button is a bot's)",
        ));
    }
    for chat in &rec.chats {
        s.group(ChatId(*chat))?
            .filter(|g| g.present && g.seen_by.contains(&rec.session))
            .ok_or_else(|| {
                invalid(
                    "rule.not_in_group",
                    "chats",
                    format!("the session is not in group {chat}"),
                )
            })?;
    }
    // Chosen and tagged groups alike.
    for chat in groups_of(s, rec)? {
        let Some(g) = s.group(chat)? else {
            continue;
        };
        let rights = g.rights_of(rec.session);
        if ban
            && matches!(
                rec.kind,
                RuleKindRec::Captcha { .. } | RuleKindRec::AntiFlood { .. }
            )
            && g.kind != botyard_shards::records::GroupKindRec::Supergroup
        {
            return Err(invalid(
                "rule.needs_supergroup",
                "chats",
                format!(
                    "“{}” is a basic group: muting members needs a supergroup",
                    g.title
                ),
            ));
        }
        let needed: Vec<&str> = [(delete, "delete messages"), (ban, "ban users")]
            .into_iter()
            .filter_map(|(n, what)| n.then_some(what))
            .collect();
        if needed.is_empty() {
            continue;
        }
        if !g.is_admin_for(rec.session) {
            return Err(invalid(
                "rule.missing_rights",
                "chats",
                format!(
                    "in “{}” the session is not an admin: make it an admin allowed to {}, then refresh the groups",
                    g.title,
                    needed.join(" and ")
                ),
            ));
        }
        let missing: Vec<&str> = [
            (delete && !rights.0, "delete messages"),
            (ban && !rights.1, "ban users"),
        ]
        .into_iter()
        .filter_map(|(m, what)| m.then_some(what))
        .collect();
        if !missing.is_empty() {
            return Err(invalid(
                "rule.missing_rights",
                "chats",
                format!(
                    "in “{}” the session is an admin that may not {}: give it that right, then refresh the groups",
                    g.title,
                    missing.join(" or ")
                ),
            ));
        }
    }
    Ok(())
}

/// A template as a rule's reply: the tenant's variables filled now, the member's and the
/// group's left as markers for the worker.
fn reply_of<T: botyard_shards::Reader>(
    s: &TenantShard<T>,
    template: u64,
    tenant_name: &str,
) -> Result<Option<Reply>, StoreError> {
    let id = TemplateId(template);
    let Some(t) = s.template(id)? else {
        return Ok(None);
    };
    let Some(v) = s.template_version(id, t.latest)? else {
        return Ok(None);
    };
    let custom = s.variables()?.vars;
    let mut values: HashMap<&str, String> = HashMap::new();
    values.insert("user.first_name", fill::FIRST_NAME.to_string());
    values.insert("user.mention", fill::MENTION.to_string());
    values.insert("group.title", fill::GROUP_TITLE.to_string());
    values.insert("tenant.name", tenant_name.to_string());
    for (n, val) in &custom {
        values.insert(n.as_str(), val.clone());
    }
    let markup = match v.format {
        TemplateFormatRec::Markdown => Markup::Markdown,
        TemplateFormatRec::Html => Markup::Html,
    };
    // The markers are single characters no escaping touches.
    let text = vars::render(&v.body, &values, |x| {
        if x.chars().count() == 1 && x.chars().all(|c| ('\u{E000}'..='\u{E0FF}').contains(&c)) {
            x.to_string()
        } else {
            match markup {
                Markup::Html => fill::escape_html(x),
                _ => fill::escape_markdown(x),
            }
        }
    })
    .unwrap_or_default();
    let media = match v.media {
        Some(mid) => s
            .media(mid)?
            .map(|m| crate::domain::media::worker_file(mid, m)),
        None => None,
    };
    Ok(Some(Reply {
        text,
        markup,
        buttons: templates::url_buttons(templates::buttons_of(&v)),
        media,
    }))
}

fn penalty(p: PenaltyRec) -> Penalty {
    match p {
        PenaltyRec::Delete => Penalty::Delete,
        PenaltyRec::Warn => Penalty::Warn,
        PenaltyRec::Mute { secs } => Penalty::Mute { secs },
        PenaltyRec::Kick => Penalty::Kick,
    }
}

fn warning(w: &Option<WarnRec>, language: Language, force: bool) -> Option<Warning> {
    match w {
        Some(w) => Some(Warning {
            text: texts::warning(language),
            markup: Markup::Html,
            limit: w.limit,
            then: penalty(w.then),
        }),
        // A flood rule whose penalty is a warning warns without escalating.
        None if force => Some(Warning {
            text: texts::warning(language),
            markup: Markup::Html,
            limit: 0,
            then: Penalty::Delete,
        }),
        None => None,
    }
}

/// The spec the worker runs for a stored rule; None when it cannot run now (no template,
/// no group, paused or off).
pub fn spec_of<T: botyard_shards::Reader>(
    s: &TenantShard<T>,
    groups: &[(ChatId, GroupRec)],
    id: RuleId,
    rec: &RuleRec,
    language: Language,
    tenant_name: &str,
) -> Result<Option<RuleSpec>, StoreError> {
    if !rec.enabled || rec.paused.is_some() {
        return Ok(None);
    }
    let chats: Vec<i64> = groups_in(groups, rec).into_iter().map(|c| c.0).collect();
    if chats.is_empty() {
        return Ok(None);
    }
    let kind = match &rec.kind {
        RuleKindRec::Welcome {
            template,
            delete_after_secs,
            gap_secs,
        } => match reply_of(s, *template, tenant_name)? {
            Some(reply) => RuleKind::Welcome {
                reply,
                delete_after_secs: *delete_after_secs,
                gap_secs: *gap_secs,
            },
            None => return Ok(None),
        },
        RuleKindRec::Goodbye {
            template,
            delete_after_secs,
        } => match reply_of(s, *template, tenant_name)? {
            Some(reply) => RuleKind::Goodbye {
                reply,
                delete_after_secs: *delete_after_secs,
            },
            None => return Ok(None),
        },
        RuleKindRec::AutoReply {
            keywords,
            pattern,
            template,
            chat_cooldown_secs,
            user_cooldown_secs,
        } => match reply_of(s, *template, tenant_name)? {
            Some(reply) => RuleKind::AutoReply {
                matcher: match pattern {
                    Some(p) => Matcher::Regex(p.clone()),
                    None => Matcher::Keywords(keywords.clone()),
                },
                reply,
                chat_cooldown_secs: *chat_cooldown_secs,
                user_cooldown_secs: *user_cooldown_secs,
            },
            None => return Ok(None),
        },
        RuleKindRec::AntiFlood {
            messages,
            window_secs,
            penalty: p,
            warn,
        } => RuleKind::AntiFlood {
            messages: *messages,
            window_secs: *window_secs,
            penalty: penalty(*p),
            warn: warning(warn, language, *p == PenaltyRec::Warn),
        },
        RuleKindRec::Filter {
            links,
            invites,
            channel_forwards,
            words,
            warn,
        } => RuleKind::Filter {
            links: *links,
            invites: *invites,
            channel_forwards: *channel_forwards,
            words: words.clone(),
            warn: warning(warn, language, false),
        },
        RuleKindRec::Captcha {
            template,
            timeout_secs,
        } => {
            let reply = match template {
                Some(t) => reply_of(s, *t, tenant_name)?,
                None => None,
            }
            .unwrap_or_else(|| Reply {
                text: texts::captcha(language, *timeout_secs),
                markup: Markup::Html,
                buttons: Vec::new(),
                media: None,
            });
            RuleKind::Captcha {
                reply,
                button: texts::captcha_button(language).into(),
                timeout_secs: *timeout_secs,
                not_for_you: texts::not_for_you(language).into(),
            }
        }
    };
    Ok(Some(RuleSpec {
        id: id.0,
        session: rec.session,
        chats,
        dry_run: rec.dry_run,
        allow_users: rec.allow_users.clone(),
        kind,
    }))
}

/// Everything the tenant's worker runs: its rules as specs and the warnings so far.
pub fn worker_set(
    store: &Store,
    tenant: botyard_shards::ids::TenantId,
) -> Result<RuleSet, StoreError> {
    let scope = store.supervisor_scope(tenant)?;
    let s = scope.shard_read()?;
    set_of(&s)
}

fn set_of<T: botyard_shards::Reader>(s: &TenantShard<T>) -> Result<RuleSet, StoreError> {
    let (language, name) = s.settings()?.map_or((Language::En, String::new()), |st| {
        (st.language, st.display_name)
    });
    let mut rules = Vec::new();
    let groups = s.groups()?;
    for (id, rec) in s.rules()? {
        if let Some(spec) = spec_of(s, &groups, id, &rec, language, &name)? {
            rules.push(spec);
        }
    }
    let mut warnings = s.all_warnings()?;
    warnings.truncate(RuleSet::MAX_WARNINGS);
    Ok(RuleSet { rules, warnings })
}

/// The tenant's rule set as it stands, for pushing to its worker after a change.
pub fn current_set(scope: &TenantScope) -> AppResult<RuleSet> {
    Ok(set_of(&scope.shard_read()?)?)
}

/// A rule Telegram refused: paused, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub rule: u64,
    pub name: String,
    pub reason: String,
}

/// Stores what a worker's session reported its rules did: the log, the statistics, the
/// warnings; a failure pauses its rule. Hits naming a rule the tenant does not have, or one
/// of another session, are dropped (the worker is not trusted).
pub fn record_hits(
    store: &Store,
    tenant: botyard_shards::ids::TenantId,
    session: u64,
    hits: &[Hit],
    now: i64,
) -> Result<Vec<Paused>, StoreError> {
    let scope = store.supervisor_scope(tenant)?;
    scope.shard_write(|s| {
        let zone = s.settings()?.map_or(jiff::tz::TimeZone::UTC, |st| {
            crate::domain::tenancy::zone(&st)
        });
        let mut rules: HashMap<u64, RuleRec> = s
            .rules()?
            .into_iter()
            .filter(|(_, r)| r.session == session)
            .map(|(id, r)| (id.0, r))
            .collect();
        let groups = s.groups()?;
        // Each rule's groups, worked out once per frame of up to 500 hits.
        let mut applies: HashMap<u64, Vec<ChatId>> = HashMap::new();
        let mut paused = Vec::new();
        for h in hits
            .iter()
            .take(crate::worker::ipc::messages::RULE_HITS_MAX)
        {
            let Some(rule) = rules.get_mut(&h.rule) else {
                continue;
            };
            if !applies
                .entry(h.rule)
                .or_insert_with(|| groups_in(&groups, rule))
                .contains(&ChatId(h.chat))
            {
                continue;
            }
            let detail: String = h
                .detail
                .chars()
                .filter(|c| !c.is_control())
                .take(engine::DETAIL_MAX)
                .collect();
            // Telegram's time for the event, unless it is far off the server's.
            let at = if (h.at - now).abs() > 86_400 {
                now
            } else {
                h.at
            };
            let rec = RuleHitRec {
                rule: h.rule,
                chat: h.chat,
                user: h.user,
                message: h.message,
                kind: h.kind.as_str().into(),
                dry_run: h.dry_run,
                at,
                detail: detail.clone(),
            };
            let day = crate::runtime::ingestion::day_hour(&zone, at).0;
            s.log_rule_hit(&rec, day, crate::runtime::ingestion::metric::RULE_ACTIONS)?;
            if let (Some(user), Some(n), false) = (h.user, h.warnings, h.dry_run) {
                s.set_warnings(ChatId(h.chat), user, n.min(1_000))?;
            }
            if h.kind == HitKind::Failed && rule.paused.is_none() {
                rule.paused = Some(detail.clone());
                rule.updated_at = now;
                s.put_rule(RuleId(h.rule), rule)?;
                paused.push(Paused {
                    rule: h.rule,
                    name: rule.name.clone(),
                    reason: detail,
                });
            }
        }
        Ok(paused)
    })
}
