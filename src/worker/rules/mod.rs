//! Group automation rules (welcome and goodbye messages, auto-replies, anti-flood, filters,
//! join captcha), evaluated in the worker next to the events so a reply or a deletion does
//! not wait for the server. The supervisor sends the specs; the engine here is pure logic
//! over events and timestamps and answers with what to do ([`Act`]) and what to report
//! ([`Hit`]). Its state (cooldowns, flood windows, captchas waiting) is bounded.

pub mod fill;
pub mod matching;

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::worker::telegram::{Markup, MediaFile, UrlButton, UserRef};

/// A message a rule sends, rendered by the supervisor with [`fill`]'s markers left in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub text: String,
    pub markup: Markup,
    pub buttons: Vec<Vec<UrlButton>>,
    pub media: Option<MediaFile>,
}

/// What a rule does to a member.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Penalty {
    /// Delete the message only.
    Delete,
    /// Delete it and count a warning.
    Warn,
    /// Delete it and take the right to write away for this long.
    Mute { secs: u32 },
    /// Delete it and remove the member (who may join again).
    Kick,
}

/// A warning said in the chat, and what the `limit`-th one does.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Warning {
    pub text: String,
    pub markup: Markup,
    /// 0: warnings never escalate.
    pub limit: u32,
    /// `Mute` or `Kick`.
    pub then: Penalty,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Matcher {
    /// Whole words or phrases, folded the Turkish way.
    Keywords(Vec<String>),
    Regex(String),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum RuleKind {
    Welcome {
        reply: Reply,
        /// 0: kept.
        delete_after_secs: u32,
        /// At most one welcome this often per group; joins meanwhile are greeted together.
        gap_secs: u32,
    },
    Goodbye {
        reply: Reply,
        delete_after_secs: u32,
    },
    AutoReply {
        matcher: Matcher,
        reply: Reply,
        chat_cooldown_secs: u32,
        user_cooldown_secs: u32,
    },
    AntiFlood {
        messages: u32,
        window_secs: u32,
        penalty: Penalty,
        warn: Option<Warning>,
    },
    Filter {
        links: bool,
        invites: bool,
        channel_forwards: bool,
        words: Vec<String>,
        warn: Option<Warning>,
    },
    Captcha {
        reply: Reply,
        /// The button's label.
        button: String,
        timeout_secs: u32,
        /// Shown to someone else who presses the button.
        not_for_you: String,
    },
}

/// One rule as the worker runs it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleSpec {
    pub id: u64,
    /// The session that acts (and whose events the rule sees).
    pub session: u64,
    pub chats: Vec<i64>,
    /// Log what it would do; do nothing.
    pub dry_run: bool,
    /// Members the moderation rules leave alone (the chat's admins always are).
    pub allow_users: Vec<i64>,
    pub kind: RuleKind,
}

/// A worker's rules and the warnings counted so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<RuleSpec>,
    /// (chat, user, warnings).
    pub warnings: Vec<(i64, i64, u32)>,
}

impl RuleSet {
    /// Most rules a worker takes, and warnings it is handed (a frame is bounded anyway).
    pub const MAX_RULES: usize = 500;
    pub const MAX_WARNINGS: usize = 100_000;
}

/// Something a rule did (or, in a dry run, would have done).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Welcomed,
    SaidGoodbye,
    Replied,
    Deleted,
    Warned,
    Muted,
    Kicked,
    CaptchaSent,
    CaptchaPassed,
    CaptchaFailed,
    /// A message from a member who has not passed the captcha yet, held back.
    Held,
    /// Telegram refused the rule's action (no rights): the rule is paused.
    Failed,
}

impl HitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Welcomed => "welcomed",
            HitKind::SaidGoodbye => "said_goodbye",
            HitKind::Replied => "replied",
            HitKind::Deleted => "deleted",
            HitKind::Warned => "warned",
            HitKind::Muted => "muted",
            HitKind::Kicked => "kicked",
            HitKind::CaptchaSent => "captcha_sent",
            HitKind::CaptchaPassed => "captcha_passed",
            HitKind::CaptchaFailed => "captcha_failed",
            HitKind::Held => "held",
            HitKind::Failed => "failed",
        }
    }
}

/// A rule's action, reported to the supervisor and stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Hit {
    pub rule: u64,
    pub chat: i64,
    pub user: Option<i64>,
    pub message: Option<i64>,
    pub kind: HitKind,
    pub dry_run: bool,
    pub at: i64,
    /// The user's warnings in this chat after this action (a warning, or 0 after one
    /// escalated); None when it did not change them.
    pub warnings: Option<u32>,
    /// Why, for people: the keyword matched, the filter, Telegram's error.
    pub detail: String,
}

/// Longest `detail` a hit carries.
pub const DETAIL_MAX: usize = 200;

/// What the worker does for the engine, through the rule's session.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    Send {
        rule: u64,
        chat: i64,
        text: String,
        reply: Reply,
        reply_to: Option<i64>,
        delete_after_secs: u32,
        /// A captcha message for this member (its button answers with [`captcha_data`]).
        captcha_for: Option<i64>,
        /// The hit to report once it is sent.
        kind: HitKind,
        users: Vec<i64>,
    },
    Delete {
        rule: u64,
        chat: i64,
        messages: Vec<i64>,
    },
    /// Takes the right to write away until `until` (Unix seconds; 0: until lifted).
    Restrict {
        rule: u64,
        chat: i64,
        user: i64,
        until: i64,
    },
    Unrestrict {
        rule: u64,
        chat: i64,
        user: i64,
    },
    Kick {
        rule: u64,
        chat: i64,
        user: i64,
    },
    AnswerButton {
        query_id: i64,
        text: Option<String>,
    },
}

/// An event as the rules see it.
#[derive(Clone, Copy, Debug)]
pub enum Seen<'a> {
    Message {
        chat: i64,
        message: i64,
        sender: &'a UserRef,
        text: &'a str,
        /// Telegram marked a link in it.
        link: bool,
        channel_forward: bool,
        at: i64,
    },
    Joined {
        chat: i64,
        user: &'a UserRef,
        at: i64,
    },
    Left {
        chat: i64,
        user: &'a UserRef,
        at: i64,
    },
    Button {
        chat: i64,
        message: i64,
        user: &'a UserRef,
        query_id: i64,
        data: &'a str,
        at: i64,
    },
}

/// What the engine wants done and reported for one event or tick.
#[derive(Debug, Default)]
pub struct Outcome {
    pub acts: Vec<Act>,
    pub hits: Vec<Hit>,
}

/// A captcha button's payload for `user`.
pub fn captcha_data(user: i64) -> String {
    format!("cap:{user}")
}

enum Compiled {
    Keywords(Vec<String>),
    Regex(regex::Regex),
}

struct Rule {
    spec: RuleSpec,
    matcher: Option<Compiled>,
    /// Filter words, as [`matching::keyword`] writes them.
    words: Vec<String>,
}

struct Pending {
    rule: u64,
    deadline: i64,
    message: Option<i64>,
    held: Vec<String>,
    user: UserRef,
}

#[derive(Default)]
struct Greeting {
    last: i64,
    waiting: Vec<UserRef>,
}

/// Members tracked per chat for flood windows, cooldowns and captchas; beyond it the oldest
/// state is dropped (a flood by more people at once than this is a raid, not a flood).
const TRACKED_MAX: usize = 10_000;
/// The longest flood window a rule may have, and the most messages it may allow plus one
/// (`domain::rules::check` holds rules to these).
const FLOOD_WINDOW_MAX: i64 = 600;
const FLOOD_MESSAGES_MAX: usize = 101;
/// Messages held per member waiting on a captcha, and their length.
const HELD_MAX: usize = 5;
const HELD_CHARS: usize = 1_000;
/// Members greeted together in one welcome.
const GREET_MAX: usize = 30;

/// The rules of one session and what they remember.
#[derive(Default)]
pub struct Engine {
    rules: Vec<Rule>,
    by_chat: HashMap<i64, Vec<usize>>,
    admins: HashMap<i64, Vec<i64>>,
    titles: HashMap<i64, String>,
    warnings: HashMap<(i64, i64), u32>,
    /// (chat, member) → when they wrote lately, shared by the chat's flood rules and kept
    /// for the longest of their windows.
    flood: HashMap<(i64, i64), VecDeque<i64>>,
    chat_cooldown: HashMap<(u64, i64), i64>,
    user_cooldown: HashMap<(u64, i64, i64), i64>,
    greetings: HashMap<(u64, i64), Greeting>,
    captchas: HashMap<(i64, i64), Pending>,
    /// (when, chat, message): the rules' own messages to delete.
    deletions: Vec<(i64, i64, i64)>,
    /// Rules Telegram refused: they do nothing until the supervisor sends them again.
    paused: Vec<u64>,
}

/// Checks a spec the way the engine will run it; the error says what is wrong.
pub fn check(spec: &RuleSpec) -> Result<(), String> {
    compile(spec).map(|_| ())
}

fn compile(spec: &RuleSpec) -> Result<Rule, String> {
    let matcher = match &spec.kind {
        RuleKind::AutoReply { matcher, .. } => Some(match matcher {
            Matcher::Keywords(k) => {
                let list: Vec<String> = k.iter().filter_map(|k| matching::keyword(k)).collect();
                if list.is_empty() {
                    return Err("no keyword has a letter or a digit".into());
                }
                Compiled::Keywords(list)
            }
            Matcher::Regex(p) => Compiled::Regex(matching::compile(p)?),
        }),
        _ => None,
    };
    let words = match &spec.kind {
        RuleKind::Filter { words, .. } => {
            words.iter().filter_map(|w| matching::keyword(w)).collect()
        }
        _ => Vec::new(),
    };
    Ok(Rule {
        spec: spec.clone(),
        matcher,
        words,
    })
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

impl Engine {
    /// Runs `set`'s rules for `session`. What the rules remember carries over where the
    /// rule is still there (a cooldown is not reset by editing another rule).
    pub fn set_rules(&mut self, set: &RuleSet, session: u64) {
        self.rules.clear();
        self.by_chat.clear();
        for spec in set.rules.iter().filter(|r| r.session == session) {
            match compile(spec) {
                Ok(rule) => {
                    let i = self.rules.len();
                    for chat in &spec.chats {
                        self.by_chat.entry(*chat).or_default().push(i);
                    }
                    self.rules.push(rule);
                }
                // Checked at save; a spec that fails here is skipped, never a crash.
                Err(e) => tracing::warn!(rule = spec.id, error = %e, "rule skipped"),
            }
        }
        let ids: Vec<u64> = self.rules.iter().map(|r| r.spec.id).collect();
        let kept = |id: &u64| ids.contains(id);
        let chats: Vec<i64> = self.by_chat.keys().copied().collect();
        self.flood.retain(|k, _| chats.contains(&k.0));
        self.chat_cooldown.retain(|k, _| kept(&k.0));
        self.user_cooldown.retain(|k, _| kept(&k.0));
        self.greetings.retain(|k, _| kept(&k.0));
        self.paused.clear();
        self.warnings = set
            .warnings
            .iter()
            .filter(|(chat, _, _)| self.by_chat.contains_key(chat))
            .map(|(c, u, n)| ((*c, *u), *n))
            .collect();
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Chats whose admins the moderation rules need to know.
    pub fn moderated_chats(&self) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .by_chat
            .iter()
            .filter(|(_, rules)| {
                rules.iter().any(|i| {
                    matches!(
                        self.rules[*i].spec.kind,
                        RuleKind::AntiFlood { .. }
                            | RuleKind::Filter { .. }
                            | RuleKind::Captcha { .. }
                    )
                })
            })
            .map(|(c, _)| *c)
            .collect();
        out.sort_unstable();
        out
    }

    pub fn set_admins(&mut self, chat: i64, mut admins: Vec<i64>) {
        admins.sort_unstable();
        self.admins.insert(chat, admins);
    }

    pub fn set_title(&mut self, chat: i64, title: &str) {
        self.titles.insert(chat, title.to_string());
    }

    /// Stops a rule until the supervisor sends the rules again (Telegram refused it).
    pub fn pause(&mut self, rule: u64) {
        if !self.paused.contains(&rule) {
            self.paused.push(rule);
        }
    }

    fn exempt(&self, rule: &Rule, chat: i64, user: i64) -> bool {
        rule.spec.allow_users.contains(&user)
            || self
                .admins
                .get(&chat)
                .is_some_and(|a| a.binary_search(&user).is_ok())
    }

    fn title(&self, chat: i64) -> &str {
        self.titles.get(&chat).map_or("", String::as_str)
    }

    /// What the rules do about `event`.
    pub fn on_event(&mut self, event: Seen<'_>) -> Outcome {
        let mut out = Outcome::default();
        match event {
            Seen::Message {
                chat,
                message,
                sender,
                text,
                link,
                channel_forward,
                at,
            } => self.on_message(
                &mut out,
                Msg {
                    chat,
                    message,
                    sender,
                    text,
                    link,
                    channel_forward,
                    at,
                },
            ),
            Seen::Joined { chat, user, at } => self.on_join(&mut out, chat, user, at),
            Seen::Left { chat, user, at } => self.on_leave(&mut out, chat, user, at),
            Seen::Button {
                chat,
                message,
                user,
                query_id,
                data,
                at,
            } => self.on_button(&mut out, chat, message, user, query_id, data, at),
        }
        out
    }

    fn active(&self, chat: i64) -> Vec<usize> {
        self.by_chat
            .get(&chat)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|i| !self.paused.contains(&self.rules[*i].spec.id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Notes a message for the chat's flood rules (once, whatever their number), keeping
    /// each member's times for the longest window and no more than [`TRACKED_MAX`] members.
    fn count_for_flood(&mut self, active: &[usize], m: &Msg<'_>) {
        let window = active
            .iter()
            .filter_map(|i| match self.rules[*i].spec.kind {
                RuleKind::AntiFlood { window_secs, .. } => Some(i64::from(window_secs)),
                _ => None,
            })
            .max();
        let Some(window) = window else {
            return;
        };
        let key = (m.chat, m.sender.id);
        if self.flood.len() >= TRACKED_MAX && !self.flood.contains_key(&key) {
            let horizon = m.at - FLOOD_WINDOW_MAX;
            self.flood
                .retain(|_, q| q.back().is_some_and(|t| *t > horizon));
            if self.flood.len() >= TRACKED_MAX {
                // All of them within the window: a raid; start counting again.
                self.flood.clear();
            }
        }
        let q = self.flood.entry(key).or_default();
        while q.front().is_some_and(|t| *t <= m.at - window) {
            q.pop_front();
        }
        q.push_back(m.at);
        // No rule counts past its limit (at most 100 messages).
        if q.len() > FLOOD_MESSAGES_MAX {
            q.pop_front();
        }
    }

    fn on_message(&mut self, out: &mut Outcome, m: Msg<'_>) {
        let Some(rules) = self.by_chat.get(&m.chat) else {
            return;
        };
        if rules.is_empty() {
            return;
        }
        // A member still to pass the captcha: the message waits with the engine.
        if let Some(p) = self.captchas.get_mut(&(m.chat, m.sender.id)) {
            if p.held.len() < HELD_MAX && !m.text.trim().is_empty() {
                p.held.push(cut(m.text, HELD_CHARS));
            }
            let rule = p.rule;
            out.acts.push(Act::Delete {
                rule,
                chat: m.chat,
                messages: vec![m.message],
            });
            out.hits.push(hit(rule, &m, HitKind::Held, false, ""));
            return;
        }
        let folded = matching::fold(m.text);
        let words = matching::words_of_folded(&folded);
        let folded_traits = matching::traits(m.text);
        let link = m.link || folded_traits.link;
        let mut deleted = false;
        let active = self.active(m.chat);
        self.count_for_flood(&active, &m);
        for i in active {
            let rule = &self.rules[i];
            let id = rule.spec.id;
            let dry = rule.spec.dry_run;
            match &rule.spec.kind {
                RuleKind::Filter {
                    links,
                    invites,
                    channel_forwards,
                    warn,
                    ..
                } if !deleted && !self.exempt(rule, m.chat, m.sender.id) => {
                    let why = if *invites && folded_traits.invite {
                        Some("invite link".to_string())
                    } else if *links && link {
                        Some("link".to_string())
                    } else if *channel_forwards && m.channel_forward {
                        Some("forward from a channel".to_string())
                    } else {
                        rule.words
                            .iter()
                            .find(|w| words.contains(w.as_str()))
                            .map(|w| format!("word \"{}\"", w.trim()))
                    };
                    if let Some(why) = why {
                        deleted = true;
                        let warn = warn.clone();
                        self.punish(out, id, dry, &m, Penalty::Delete, warn.as_ref(), &why);
                    }
                }
                RuleKind::AntiFlood {
                    messages,
                    window_secs,
                    penalty,
                    warn,
                } if !deleted && !self.exempt(rule, m.chat, m.sender.id) => {
                    let (limit, window, penalty, warn) =
                        (*messages, i64::from(*window_secs), *penalty, warn.clone());
                    let Some(q) = self.flood.get_mut(&(m.chat, m.sender.id)) else {
                        continue;
                    };
                    let within = q
                        .iter()
                        .rev()
                        .take(limit as usize + 1)
                        .take_while(|t| **t > m.at - window)
                        .count();
                    if within > limit as usize {
                        // Deleting goes on for every message past the limit; the other
                        // penalties act once and start the count again.
                        if penalty != Penalty::Delete {
                            q.clear();
                        }
                        deleted = true;
                        let why = format!("more than {limit} messages in {window} s");
                        self.punish(out, id, dry, &m, penalty, warn.as_ref(), &why);
                    }
                }
                RuleKind::AutoReply {
                    reply,
                    chat_cooldown_secs,
                    user_cooldown_secs,
                    ..
                } if !deleted => {
                    let matched = match &rule.matcher {
                        Some(Compiled::Keywords(k)) => k
                            .iter()
                            .find(|k| words.contains(k.as_str()))
                            .map(|k| format!("keyword \"{}\"", k.trim())),
                        Some(Compiled::Regex(r)) => {
                            r.is_match(&folded).then(|| "pattern".to_string())
                        }
                        None => None,
                    };
                    let Some(why) = matched else { continue };
                    let chat_key = (id, m.chat);
                    let user_key = (id, m.chat, m.sender.id);
                    let chat_ok = self
                        .chat_cooldown
                        .get(&chat_key)
                        .is_none_or(|t| m.at >= t + i64::from(*chat_cooldown_secs));
                    let user_ok = self
                        .user_cooldown
                        .get(&user_key)
                        .is_none_or(|t| m.at >= t + i64::from(*user_cooldown_secs));
                    if !(chat_ok && user_ok) {
                        continue;
                    }
                    let reply = reply.clone();
                    if self.user_cooldown.len() >= TRACKED_MAX {
                        let horizon = m.at - i64::from(*user_cooldown_secs);
                        self.user_cooldown.retain(|_, t| *t > horizon);
                    }
                    self.chat_cooldown.insert(chat_key, m.at);
                    self.user_cooldown.insert(user_key, m.at);
                    if dry {
                        out.hits.push(hit(id, &m, HitKind::Replied, true, &why));
                    } else {
                        let text = fill::fill(
                            &reply.text,
                            reply.markup,
                            &fill::Values {
                                users: std::slice::from_ref(m.sender),
                                group_title: self.title(m.chat),
                                ..Default::default()
                            },
                        );
                        out.acts.push(Act::Send {
                            rule: id,
                            chat: m.chat,
                            text,
                            reply,
                            reply_to: Some(m.message),
                            delete_after_secs: 0,
                            captcha_for: None,
                            kind: HitKind::Replied,
                            users: vec![m.sender.id],
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// Deletes the message and applies `penalty`, counting a warning where one is said; the
    /// `limit`-th warning escalates.
    #[allow(clippy::too_many_arguments)]
    fn punish(
        &mut self,
        out: &mut Outcome,
        rule: u64,
        dry: bool,
        m: &Msg<'_>,
        penalty: Penalty,
        warn: Option<&Warning>,
        why: &str,
    ) {
        let user = m.sender.id;
        let h = |kind: HitKind, warnings: Option<u32>, out: &mut Outcome| {
            let mut x = hit(rule, m, kind, dry, why);
            x.warnings = warnings;
            out.hits.push(x);
        };
        if !dry {
            out.acts.push(Act::Delete {
                rule,
                chat: m.chat,
                messages: vec![m.message],
            });
        }
        h(HitKind::Deleted, None, out);
        let mut penalty = penalty;
        if let Some(w) = warn.filter(|_| matches!(penalty, Penalty::Delete | Penalty::Warn)) {
            let count = self.warnings.get(&(m.chat, user)).copied().unwrap_or(0) + 1;
            let escalate = w.limit > 0 && count >= w.limit;
            let after = if escalate { 0 } else { count };
            if !dry {
                self.warnings.insert((m.chat, user), after);
                let text = fill::fill(
                    &w.text,
                    w.markup,
                    &fill::Values {
                        users: std::slice::from_ref(m.sender),
                        group_title: self.title(m.chat),
                        count,
                        limit: w.limit,
                    },
                );
                out.acts.push(Act::Send {
                    rule,
                    chat: m.chat,
                    text,
                    reply: Reply {
                        text: String::new(),
                        markup: w.markup,
                        buttons: Vec::new(),
                        media: None,
                    },
                    reply_to: None,
                    delete_after_secs: 0,
                    captcha_for: None,
                    kind: HitKind::Warned,
                    users: vec![user],
                });
            }
            h(HitKind::Warned, Some(after), out);
            if escalate {
                penalty = w.then;
            }
        }
        match penalty {
            Penalty::Delete | Penalty::Warn => {}
            Penalty::Mute { secs } => {
                let until = m.at + i64::from(secs.max(30));
                if !dry {
                    out.acts.push(Act::Restrict {
                        rule,
                        chat: m.chat,
                        user,
                        until,
                    });
                }
                h(HitKind::Muted, None, out);
            }
            Penalty::Kick => {
                if !dry {
                    out.acts.push(Act::Kick {
                        rule,
                        chat: m.chat,
                        user,
                    });
                }
                h(HitKind::Kicked, None, out);
            }
        }
    }

    fn on_join(&mut self, out: &mut Outcome, chat: i64, user: &UserRef, at: i64) {
        for i in self.active(chat) {
            let rule = &self.rules[i];
            let id = rule.spec.id;
            let dry = rule.spec.dry_run;
            let base = Hit {
                rule: id,
                chat,
                user: Some(user.id),
                message: None,
                kind: HitKind::Welcomed,
                dry_run: dry,
                at,
                warnings: None,
                detail: String::new(),
            };
            match &rule.spec.kind {
                RuleKind::Welcome { gap_secs, .. } => {
                    if dry {
                        out.hits.push(base);
                        continue;
                    }
                    let gap = i64::from(*gap_secs);
                    let g = self.greetings.entry((id, chat)).or_default();
                    if g.waiting.is_empty() && at >= g.last + gap {
                        g.last = at;
                        let acts = self.welcome(i, chat, vec![user.clone()]);
                        out.acts.extend(acts);
                    } else if g.waiting.len() < GREET_MAX
                        && !g.waiting.iter().any(|u| u.id == user.id)
                    {
                        g.waiting.push(user.clone());
                    }
                }
                RuleKind::Captcha {
                    reply,
                    button,
                    timeout_secs,
                    ..
                } if !self.exempt(rule, chat, user.id) => {
                    if dry {
                        out.hits.push(Hit {
                            kind: HitKind::CaptchaSent,
                            ..base
                        });
                        continue;
                    }
                    if self.captchas.len() >= TRACKED_MAX {
                        continue;
                    }
                    let mut reply = reply.clone();
                    reply.buttons = vec![vec![UrlButton {
                        label: button.clone(),
                        url: String::new(),
                        web_app: false,
                        data: Some(captcha_data(user.id)),
                    }]];
                    let text = fill::fill(
                        &reply.text,
                        reply.markup,
                        &fill::Values {
                            users: std::slice::from_ref(user),
                            group_title: self.title(chat),
                            ..Default::default()
                        },
                    );
                    self.captchas.insert(
                        (chat, user.id),
                        Pending {
                            rule: id,
                            deadline: at + i64::from((*timeout_secs).max(10)),
                            message: None,
                            held: Vec::new(),
                            user: user.clone(),
                        },
                    );
                    out.acts.push(Act::Restrict {
                        rule: id,
                        chat,
                        user: user.id,
                        until: 0,
                    });
                    out.acts.push(Act::Send {
                        rule: id,
                        chat,
                        text,
                        reply,
                        reply_to: None,
                        delete_after_secs: 0,
                        captcha_for: Some(user.id),
                        kind: HitKind::CaptchaSent,
                        users: vec![user.id],
                    });
                }
                _ => {}
            }
        }
    }

    fn welcome(&self, i: usize, chat: i64, users: Vec<UserRef>) -> Vec<Act> {
        let rule = &self.rules[i];
        let RuleKind::Welcome {
            reply,
            delete_after_secs,
            ..
        } = &rule.spec.kind
        else {
            return Vec::new();
        };
        let text = fill::fill(
            &reply.text,
            reply.markup,
            &fill::Values {
                users: &users,
                group_title: self.title(chat),
                ..Default::default()
            },
        );
        vec![Act::Send {
            rule: rule.spec.id,
            chat,
            text,
            reply: reply.clone(),
            reply_to: None,
            delete_after_secs: *delete_after_secs,
            captcha_for: None,
            kind: HitKind::Welcomed,
            users: users.iter().map(|u| u.id).collect(),
        }]
    }

    fn on_leave(&mut self, out: &mut Outcome, chat: i64, user: &UserRef, at: i64) {
        if let Some(p) = self.captchas.remove(&(chat, user.id))
            && let Some(msg) = p.message
        {
            out.acts.push(Act::Delete {
                rule: p.rule,
                chat,
                messages: vec![msg],
            });
        }
        for i in self.active(chat) {
            let rule = &self.rules[i];
            if let RuleKind::Goodbye {
                reply,
                delete_after_secs,
            } = &rule.spec.kind
            {
                if rule.spec.dry_run {
                    out.hits.push(Hit {
                        rule: rule.spec.id,
                        chat,
                        user: Some(user.id),
                        message: None,
                        kind: HitKind::SaidGoodbye,
                        dry_run: true,
                        at,
                        warnings: None,
                        detail: String::new(),
                    });
                    continue;
                }
                let text = fill::fill(
                    &reply.text,
                    reply.markup,
                    &fill::Values {
                        users: std::slice::from_ref(user),
                        group_title: self.title(chat),
                        ..Default::default()
                    },
                );
                out.acts.push(Act::Send {
                    rule: rule.spec.id,
                    chat,
                    text,
                    reply: reply.clone(),
                    reply_to: None,
                    delete_after_secs: *delete_after_secs,
                    captcha_for: None,
                    kind: HitKind::SaidGoodbye,
                    users: vec![user.id],
                });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_button(
        &mut self,
        out: &mut Outcome,
        chat: i64,
        message: i64,
        user: &UserRef,
        query_id: i64,
        data: &str,
        at: i64,
    ) {
        let Some(owner) = data
            .strip_prefix("cap:")
            .and_then(|u| u.parse::<i64>().ok())
        else {
            return;
        };
        let Some(p) = self.captchas.get(&(chat, owner)) else {
            // An old captcha: nothing waits on it any more.
            out.acts.push(Act::AnswerButton {
                query_id,
                text: None,
            });
            return;
        };
        if owner != user.id {
            let text = self
                .rules
                .iter()
                .find(|r| r.spec.id == p.rule)
                .and_then(|r| match &r.spec.kind {
                    RuleKind::Captcha { not_for_you, .. } => Some(not_for_you.clone()),
                    _ => None,
                });
            out.acts.push(Act::AnswerButton { query_id, text });
            return;
        }
        let Some(p) = self.captchas.remove(&(chat, owner)) else {
            return;
        };
        out.acts.push(Act::AnswerButton {
            query_id,
            text: None,
        });
        out.acts.push(Act::Unrestrict {
            rule: p.rule,
            chat,
            user: owner,
        });
        out.acts.push(Act::Delete {
            rule: p.rule,
            chat,
            messages: vec![p.message.unwrap_or(message)],
        });
        // What they wrote meanwhile goes out now, under their name.
        for text in &p.held {
            let body = format!(
                "{}: {}",
                fill::fill(
                    &fill::MENTION.to_string(),
                    Markup::Html,
                    &fill::Values {
                        users: std::slice::from_ref(&p.user),
                        ..Default::default()
                    }
                ),
                fill::escape_html(text)
            );
            out.acts.push(Act::Send {
                rule: p.rule,
                chat,
                text: body,
                reply: Reply {
                    text: String::new(),
                    markup: Markup::Html,
                    buttons: Vec::new(),
                    media: None,
                },
                reply_to: None,
                delete_after_secs: 0,
                captcha_for: None,
                kind: HitKind::Held,
                users: vec![owner],
            });
        }
        out.hits.push(Hit {
            rule: p.rule,
            chat,
            user: Some(owner),
            message: p.message,
            kind: HitKind::CaptchaPassed,
            dry_run: false,
            at,
            warnings: None,
            detail: format!("{} held message(s) released", p.held.len()),
        });
    }

    /// A rule's message went out: remembers what to delete later.
    pub fn sent(
        &mut self,
        chat: i64,
        message: i64,
        at: i64,
        delete_after_secs: u32,
        captcha_for: Option<i64>,
    ) {
        if delete_after_secs > 0 && self.deletions.len() < TRACKED_MAX {
            self.deletions
                .push((at + i64::from(delete_after_secs), chat, message));
        }
        if let Some(user) = captcha_for
            && let Some(p) = self.captchas.get_mut(&(chat, user))
        {
            p.message = Some(message);
        }
    }

    /// The soonest time [`Engine::tick`] has something to do.
    pub fn next_due(&self) -> Option<i64> {
        let greet = self
            .greetings
            .iter()
            .filter(|(_, g)| !g.waiting.is_empty())
            .filter_map(|((rule, _), g)| {
                let i = self.rules.iter().position(|r| r.spec.id == *rule)?;
                match &self.rules[i].spec.kind {
                    RuleKind::Welcome { gap_secs, .. } => Some(g.last + i64::from(*gap_secs)),
                    _ => None,
                }
            });
        let captcha = self.captchas.values().map(|p| p.deadline);
        let deletes = self.deletions.iter().map(|d| d.0);
        greet.chain(captcha).chain(deletes).min()
    }

    /// What is due at `now`: burst welcomes, captchas not answered in time, messages to
    /// delete.
    pub fn tick(&mut self, now: i64) -> Outcome {
        let mut out = Outcome::default();
        let due: Vec<(u64, i64)> = self
            .greetings
            .iter()
            .filter(|(_, g)| !g.waiting.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for (rule, chat) in due {
            let Some(i) = self.rules.iter().position(|r| r.spec.id == rule) else {
                continue;
            };
            let RuleKind::Welcome { gap_secs, .. } = self.rules[i].spec.kind else {
                continue;
            };
            let Some(g) = self.greetings.get_mut(&(rule, chat)) else {
                continue;
            };
            if now < g.last + i64::from(gap_secs) {
                continue;
            }
            g.last = now;
            let users = std::mem::take(&mut g.waiting);
            let acts = self.welcome(i, chat, users);
            out.acts.extend(acts);
        }
        let expired: Vec<(i64, i64)> = self
            .captchas
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for (chat, user) in expired {
            let Some(p) = self.captchas.remove(&(chat, user)) else {
                continue;
            };
            out.acts.push(Act::Kick {
                rule: p.rule,
                chat,
                user,
            });
            if let Some(m) = p.message {
                out.acts.push(Act::Delete {
                    rule: p.rule,
                    chat,
                    messages: vec![m],
                });
            }
            out.hits.push(Hit {
                rule: p.rule,
                chat,
                user: Some(user),
                message: p.message,
                kind: HitKind::CaptchaFailed,
                dry_run: false,
                at: now,
                warnings: None,
                detail: format!("{} held message(s) dropped", p.held.len()),
            });
        }
        let mut keep = Vec::with_capacity(self.deletions.len());
        let mut by_chat: HashMap<i64, Vec<i64>> = HashMap::new();
        for d in self.deletions.drain(..) {
            if d.0 <= now {
                by_chat.entry(d.1).or_default().push(d.2);
            } else {
                keep.push(d);
            }
        }
        self.deletions = keep;
        for (chat, messages) in by_chat {
            out.acts.push(Act::Delete {
                rule: 0,
                chat,
                messages,
            });
        }
        out
    }
}

struct Msg<'a> {
    chat: i64,
    message: i64,
    sender: &'a UserRef,
    text: &'a str,
    link: bool,
    channel_forward: bool,
    at: i64,
}

fn hit(rule: u64, m: &Msg<'_>, kind: HitKind, dry_run: bool, why: &str) -> Hit {
    Hit {
        rule,
        chat: m.chat,
        user: Some(m.sender.id),
        message: Some(m.message),
        kind,
        dry_run,
        at: m.at,
        warnings: None,
        detail: cut(why, DETAIL_MAX),
    }
}

#[cfg(test)]
mod tests;
