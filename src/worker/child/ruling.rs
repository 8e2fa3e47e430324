//! The group rules in a session's loop: events go through the engine, its actions go to
//! Telegram through the session (replies through the same pacing as campaign posts), and
//! what they did goes to the supervisor in batches.

use super::*;
use crate::worker::ipc::messages::{RULE_HITS_MAX, RulePost};
use crate::worker::rules::{Act, Engine, Hit, HitKind, Outcome, RuleSet, Seen};

/// How often the rules' actions go to the supervisor (and the admin lists are looked at).
pub(super) const HITS_EVERY: Duration = Duration::from_secs(1);
/// How long a group's admin list is trusted.
const ADMINS_EVERY: Duration = Duration::from_secs(600);
/// Rule replies waiting for the pacer at once; past it, new ones are dropped (a raid of
/// keywords must not build an hour of replies).
const QUEUED_MAX: usize = 200;

pub(super) struct Rules {
    session: u64,
    me: i64,
    engine: Engine,
    hits: Vec<Hit>,
    admins_at: Option<std::time::Instant>,
}

impl Rules {
    pub(super) fn new(session: u64, set: &RuleSet, me: i64) -> Rules {
        let mut r = Rules {
            session,
            me,
            engine: Engine::default(),
            hits: Vec::new(),
            admins_at: None,
        };
        r.set(set);
        r
    }

    pub(super) fn set(&mut self, set: &RuleSet) {
        self.engine.set_rules(set, self.session);
        self.admins_at = None;
    }

    pub(super) fn dialogs(&mut self, dialogs: &[Dialog]) {
        for d in dialogs {
            self.engine.set_title(d.chat_id, &d.title);
        }
    }

    /// Learns the admins of the moderated groups, when the list is older than
    /// [`ADMINS_EVERY`] (or `now`).
    pub(super) async fn refresh_admins<P: TelegramPort>(&mut self, port: &mut P, now: bool) {
        if self.engine.is_empty() {
            return;
        }
        if !now && self.admins_at.is_some_and(|t| t.elapsed() < ADMINS_EVERY) {
            return;
        }
        self.admins_at = Some(std::time::Instant::now());
        for chat in self.engine.moderated_chats() {
            match port.admins(chat).await {
                Ok(list) => self.engine.set_admins(chat, list),
                Err(e) => tracing::debug!(chat, error = %e, "admins not listed"),
            }
        }
    }

    /// Seconds until the engine's next timer, as a wait.
    pub(super) fn due_in(&self, now: i64) -> Option<Duration> {
        self.engine
            .next_due()
            .map(|at| Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
    }

    pub(super) async fn on_event<P: TelegramPort>(
        &mut self,
        port: &mut P,
        queue: &mut VecDeque<SendJob>,
        event: &IncomingEvent,
    ) {
        if self.engine.is_empty() {
            return;
        }
        let seen = match event {
            IncomingEvent::Message {
                chat_id,
                message_id,
                sender: Some(sender),
                content: Some(c),
                at,
                ..
            } if sender.id != self.me => Seen::Message {
                chat: *chat_id,
                message: *message_id,
                sender,
                text: &c.text,
                link: c.link,
                channel_forward: c.channel_forward,
                at: *at,
            },
            IncomingEvent::MemberJoined { chat_id, user, at } if user.id != self.me => {
                Seen::Joined {
                    chat: *chat_id,
                    user,
                    at: *at,
                }
            }
            IncomingEvent::MemberLeft { chat_id, user, at } if user.id != self.me => Seen::Left {
                chat: *chat_id,
                user,
                at: *at,
            },
            IncomingEvent::Button {
                chat_id,
                message_id,
                user,
                query_id,
                data,
                at,
            } => Seen::Button {
                chat: *chat_id,
                message: *message_id,
                user,
                query_id: *query_id,
                data,
                at: *at,
            },
            _ => return,
        };
        let outcome = self.engine.on_event(seen);
        self.run(port, queue, outcome).await;
    }

    pub(super) async fn tick<P: TelegramPort>(
        &mut self,
        port: &mut P,
        queue: &mut VecDeque<SendJob>,
    ) {
        let outcome = self.engine.tick(port.now());
        self.run(port, queue, outcome).await;
    }

    /// Does what the engine asked. A refusal for want of rights pauses the rule (the
    /// supervisor pauses it for good and raises an alert).
    async fn run<P: TelegramPort>(
        &mut self,
        port: &mut P,
        queue: &mut VecDeque<SendJob>,
        outcome: Outcome,
    ) {
        for h in outcome.hits {
            self.push(h);
        }
        for act in outcome.acts {
            let (rule, chat, r) = match act {
                Act::Send {
                    rule,
                    chat,
                    text,
                    reply,
                    reply_to,
                    delete_after_secs,
                    captcha_for,
                    kind,
                    users,
                } => {
                    if queue.len() >= QUEUED_MAX {
                        self.failed(rule, chat, "too many replies waiting to be sent");
                        continue;
                    }
                    queue.push_back(SendJob {
                        campaign: 0,
                        run: 0,
                        chat_id: chat,
                        session: self.session,
                        random_id: rand::random(),
                        text,
                        markup: reply.markup,
                        buttons: reply.buttons,
                        media: reply.media,
                        delete_message: None,
                        pin: false,
                        silent: false,
                        access_hash: None,
                        reply_to,
                        rule: Some(RulePost {
                            rule,
                            kind,
                            users,
                            delete_after_secs,
                            captcha_for,
                        }),
                    });
                    continue;
                }
                Act::Delete {
                    rule,
                    chat,
                    messages,
                } => (rule, chat, port.delete_messages(chat, &messages).await),
                Act::Restrict {
                    rule,
                    chat,
                    user,
                    until,
                } => (rule, chat, port.restrict(chat, user, Some(until)).await),
                Act::Unrestrict { rule, chat, user } => {
                    (rule, chat, port.restrict(chat, user, None).await)
                }
                Act::Kick { rule, chat, user } => (rule, chat, port.kick(chat, user).await),
                Act::AnswerButton { query_id, text } => {
                    // An answer that fails only leaves the button spinning a while.
                    if let Err(e) = port.answer_button(query_id, text.as_deref()).await {
                        tracing::debug!(error = %e, "button press not answered");
                    }
                    continue;
                }
            };
            if let Err(e) = r {
                // Auto-deletes of the rules' own messages are no rule's failure.
                if rule != 0 {
                    self.failed(rule, chat, &e.to_string());
                }
            }
        }
    }

    /// A rule's message went out (or did not).
    pub(super) fn posted(&mut self, rp: &RulePost, chat: i64, outcome: DeliveryOutcome, now: i64) {
        match outcome {
            DeliveryOutcome::Sent { message_id, .. } => {
                self.engine
                    .sent(chat, message_id, now, rp.delete_after_secs, rp.captcha_for);
                // Warnings and released messages were reported when decided.
                if matches!(rp.kind, HitKind::Warned | HitKind::Held) {
                    return;
                }
                self.push(Hit {
                    rule: rp.rule,
                    chat,
                    user: rp.users.first().copied(),
                    message: Some(message_id),
                    kind: rp.kind,
                    dry_run: false,
                    at: now,
                    warnings: None,
                    detail: if rp.users.len() > 1 {
                        format!("{} members together", rp.users.len())
                    } else {
                        String::new()
                    },
                });
            }
            DeliveryOutcome::Failed { code, .. } => self.failed(rp.rule, chat, code.as_str()),
        }
    }

    /// Telegram refused a rule's action: the rule rests until the supervisor sends the
    /// rules again, and the refusal is reported.
    pub(super) fn failed(&mut self, rule: u64, chat: i64, why: &str) {
        self.engine.pause(rule);
        self.push(Hit {
            rule,
            chat,
            user: None,
            message: None,
            kind: HitKind::Failed,
            dry_run: false,
            at: jiff::Timestamp::now().as_second(),
            warnings: None,
            detail: why.chars().take(crate::worker::rules::DETAIL_MAX).collect(),
        });
    }

    fn push(&mut self, hit: Hit) {
        // Bounded: when the supervisor is slow, the oldest half goes.
        if self.hits.len() >= RULE_HITS_MAX * 4 {
            self.hits.drain(..RULE_HITS_MAX * 2);
        }
        self.hits.push(hit);
    }

    pub(super) async fn flush(&mut self, out: &mpsc::Sender<FromWorker>) {
        while !self.hits.is_empty() {
            let n = self.hits.len().min(RULE_HITS_MAX);
            let hits: Vec<Hit> = self.hits.drain(..n).collect();
            if out
                .send(FromWorker::RuleHits {
                    session: self.session,
                    hits,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}
