//! A deterministic simulated Telegram. The same seed gives the same groups, members and event
//! stream, so tests can recount every number; failures (flood waits, revocation, removal from
//! a group, slow mode) are switched on by configuration.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{
    ChatKind, Dialog, IncomingEvent, Me, MessageContent, MessageKind, OutgoingMessage, PortError,
    SentMessage, TelegramPort, UserRef,
};

const FIRST_NAMES: &[&str] = &[
    "Ayşe", "Mehmet", "Zeynep", "Emre", "Elif", "Can", "Selin", "Burak", "Deniz", "Oğuz", "Alice",
    "Bob", "Carol", "Dave", "Eve", "Grace",
];
/// What simulated members write, and whether it has a link (for group rules to act on).
const TEXTS: &[(&str, bool)] = &[
    ("Merhaba, bugün açık mısınız?", false),
    ("Fiyat ne kadar?", false),
    ("Teşekkürler 🙏", false),
    ("Kampanya burada: https://example.com/indirim", true),
    ("Is this still in stock?", false),
    ("İyi akşamlar, sipariş verebilir miyim?", false),
    ("👍", false),
];
const LAST_NAMES: &[&str] = &[
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Smith", "Jones",
];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    pub seed: u64,
    pub is_bot: bool,
    pub groups: u32,
    pub members_per_group: u32,
    /// Incoming events per second of simulated time; 0 means as fast as they are asked for
    /// (tests and benchmarks only: the API refuses it). One when a request leaves it out.
    #[serde(default = "one_per_sec")]
    pub events_per_sec: f64,
    /// Shares of the event stream, per thousand (the rest are text messages).
    pub media_per_mille: u32,
    pub service_per_mille: u32,
    pub join_per_mille: u32,
    pub leave_per_mille: u32,
    /// Unix seconds of the first event.
    pub start_at: i64,
    /// Simulated seconds between two events (0: as `events_per_sec` says), so a fast stream
    /// can cover days of simulated time.
    pub step_secs: u32,
    /// The session is an admin with every right in its groups, so group rules can delete,
    /// mute and remove (which the simulator then accepts without doing more).
    pub admin: bool,
    pub failures: SimFailures,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimFailures {
    /// Every Nth send answers FLOOD_WAIT.
    pub flood_wait_every: Option<u32>,
    pub flood_wait_secs: u32,
    /// After this many sends the session is revoked.
    pub revoke_after_sends: Option<u32>,
    /// Chats the session has been removed from (sends there are forbidden).
    pub removed_from: Vec<i64>,
    /// Chats still listed, where posts are refused: rights taken away since the last listing.
    pub forbidden_in: Vec<i64>,
    /// Slow mode in seconds for every group.
    pub slow_mode_secs: u32,
    /// After this many incoming events the client hangs in a blocking call, the way a
    /// Telegram client stuck on a dead connection can: its whole process stops answering.
    pub stall_after_events: Option<u32>,
}

fn one_per_sec() -> f64 {
    1.0
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            is_bot: true,
            groups: 3,
            members_per_group: 50,
            events_per_sec: 0.0,
            media_per_mille: 150,
            service_per_mille: 20,
            join_per_mille: 10,
            leave_per_mille: 5,
            start_at: 1_767_225_600, // 2026-01-01T00:00:00Z
            step_secs: 0,
            admin: false,
            failures: SimFailures::default(),
        }
    }
}

/// Bounds of what the API accepts for a simulated session: a demo and test tool must not be
/// able to exhaust the host.
pub mod bounds {
    pub const GROUPS: u32 = 50;
    pub const MEMBERS_PER_GROUP: u32 = 1_000;
    pub const EVENTS_PER_SEC: f64 = 1_000.0;
    pub const STEP_SECS: u32 = 86_400;
    pub const FAILURE_SECS: u32 = 3_600;
    pub const LISTED_CHATS: usize = 100;
    /// 2000-01-01 and 2100-01-01.
    pub const START_AT: std::ops::RangeInclusive<i64> = 946_684_800..=4_102_444_800;
}

impl SimConfig {
    /// What the API gives a simulated session when it says nothing: three groups, one event
    /// a second.
    pub fn api_default() -> SimConfig {
        SimConfig {
            events_per_sec: 1.0,
            ..SimConfig::default()
        }
    }

    /// Checks every parameter against [`bounds`]; `Err((field, message))` names the first
    /// one out of range.
    pub fn check_bounds(&self) -> Result<(), (&'static str, String)> {
        use bounds::*;
        let range = |field: &'static str, v: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err((field, format!("must be between {lo} and {hi}")))
            }
        };
        range("sim.groups", self.groups, 1, GROUPS)?;
        range(
            "sim.members_per_group",
            self.members_per_group,
            1,
            MEMBERS_PER_GROUP,
        )?;
        if !(self.events_per_sec > 0.0 && self.events_per_sec <= EVENTS_PER_SEC) {
            return Err((
                "sim.events_per_sec",
                format!("must be above 0 and at most {EVENTS_PER_SEC}"),
            ));
        }
        let shares = [
            ("sim.media_per_mille", self.media_per_mille),
            ("sim.service_per_mille", self.service_per_mille),
            ("sim.join_per_mille", self.join_per_mille),
            ("sim.leave_per_mille", self.leave_per_mille),
        ];
        for (field, v) in shares {
            range(field, v, 0, 1000)?;
        }
        if shares.iter().map(|(_, v)| v).sum::<u32>() > 1000 {
            return Err((
                "sim.media_per_mille",
                "the shares add up to at most 1000".into(),
            ));
        }
        if !START_AT.contains(&self.start_at) {
            return Err((
                "sim.start_at",
                "must be a Unix time between 2000 and 2100".into(),
            ));
        }
        range("sim.step_secs", self.step_secs, 0, STEP_SECS)?;
        let f = &self.failures;
        range(
            "sim.failures.flood_wait_secs",
            f.flood_wait_secs,
            0,
            FAILURE_SECS,
        )?;
        range(
            "sim.failures.slow_mode_secs",
            f.slow_mode_secs,
            0,
            FAILURE_SECS,
        )?;
        if f.removed_from.len() > LISTED_CHATS || f.forbidden_in.len() > LISTED_CHATS {
            return Err((
                "sim.failures",
                format!("at most {LISTED_CHATS} chats in each list"),
            ));
        }
        if f.flood_wait_every == Some(0) {
            return Err(("sim.failures.flood_wait_every", "must be at least 1".into()));
        }
        Ok(())
    }
}

struct Group {
    chat_id: i64,
    title: String,
    kind: ChatKind,
    members: Vec<i64>,
    next_message_id: i64,
}

/// One simulated session.
pub struct Sim {
    cfg: SimConfig,
    rng: StdRng,
    groups: Vec<Group>,
    users: HashMap<i64, UserRef>,
    next_user: i64,
    /// Simulated time of the next event, in milliseconds.
    clock_ms: i64,
    logged_in: bool,
    revoked: bool,
    sends: u32,
    events: u32,
    sent: Vec<SentMessage>,
    seen_random_ids: HashMap<i64, SentMessage>,
    last_send_in: HashMap<i64, i64>,
    removed: HashSet<i64>,
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut users = HashMap::new();
        let mut next_user = 1_000_000 + (cfg.seed % 1000) as i64 * 1_000_000;
        let mut groups = Vec::new();
        for g in 0..cfg.groups {
            let mut members = Vec::with_capacity(cfg.members_per_group as usize);
            for _ in 0..cfg.members_per_group {
                let u = make_user(&mut rng, next_user);
                members.push(u.id);
                users.insert(u.id, u);
                next_user += 1;
            }
            let kind = match g % 5 {
                0..=2 => ChatKind::Supergroup,
                3 => ChatKind::Group,
                _ => ChatKind::Channel,
            };
            groups.push(Group {
                chat_id: -1_000_000_000_000 - i64::from(g) - 1,
                title: format!(
                    "{} {}",
                    ["Kahve", "Çiçekçi", "Kitap", "Market", "Shop"][g as usize % 5],
                    g + 1
                ),
                kind,
                members,
                next_message_id: 1,
            });
        }
        let removed = cfg.failures.removed_from.iter().copied().collect();
        Sim {
            clock_ms: cfg.start_at * 1000,
            cfg,
            rng,
            groups,
            users,
            next_user,
            logged_in: false,
            revoked: false,
            sends: 0,
            events: 0,
            sent: Vec::new(),
            seen_random_ids: HashMap::new(),
            last_send_in: HashMap::new(),
            removed,
        }
    }

    /// Every message actually posted (a repeated `random_id` is not posted again).
    pub fn sent(&self) -> &[SentMessage] {
        &self.sent
    }

    /// Simulated time now, unix seconds.
    pub fn now(&self) -> i64 {
        self.clock_ms / 1000
    }

    /// Moderation needs the `admin` switch and a group the session is still in.
    fn moderate(&self, chat_id: i64) -> Result<(), PortError> {
        self.check_session()?;
        if !self.cfg.admin {
            return Err(PortError::Other("CHAT_ADMIN_REQUIRED".into()));
        }
        if self.removed.contains(&chat_id) || !self.groups.iter().any(|g| g.chat_id == chat_id) {
            return Err(PortError::Forbidden(chat_id));
        }
        Ok(())
    }

    fn check_session(&self) -> Result<(), PortError> {
        if self.revoked {
            return Err(PortError::Revoked);
        }
        if !self.logged_in {
            return Err(PortError::Other("not logged in".into()));
        }
        Ok(())
    }

    fn pick_member(&mut self, g: usize) -> Option<i64> {
        let members = &self.groups[g].members;
        if members.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..members.len());
        Some(members[i])
    }

    /// The next event of the stream, advancing simulated time.
    pub fn generate(&mut self) -> Option<IncomingEvent> {
        if self.groups.is_empty() {
            return None;
        }
        let step = if self.cfg.step_secs > 0 {
            i64::from(self.cfg.step_secs) * 1000
        } else if self.cfg.events_per_sec > 0.0 {
            (1000.0 / self.cfg.events_per_sec).max(1.0) as i64
        } else {
            1
        };
        self.clock_ms += step;
        let at = self.clock_ms / 1000;
        let g = self.rng.random_range(0..self.groups.len());
        let chat_id = self.groups[g].chat_id;
        let roll = self.rng.random_range(0..1000u32);
        let c = &self.cfg;
        let (join, leave, service, media) = (
            c.join_per_mille,
            c.join_per_mille + c.leave_per_mille,
            c.join_per_mille + c.leave_per_mille + c.service_per_mille,
            c.join_per_mille + c.leave_per_mille + c.service_per_mille + c.media_per_mille,
        );
        if roll < join {
            let u = make_user(&mut self.rng, self.next_user);
            self.next_user += 1;
            self.groups[g].members.push(u.id);
            self.users.insert(u.id, u.clone());
            return Some(IncomingEvent::MemberJoined {
                chat_id,
                user: u,
                at,
            });
        }
        if roll < leave
            && let Some(id) = self.pick_member(g)
        {
            self.groups[g].members.retain(|m| *m != id);
            let user = self.users.get(&id).cloned()?;
            return Some(IncomingEvent::MemberLeft { chat_id, user, at });
        }
        let kind = if roll < service {
            MessageKind::Service
        } else if roll < media {
            MessageKind::Media
        } else {
            MessageKind::Text
        };
        let sender = self
            .pick_member(g)
            .and_then(|id| self.users.get(&id).cloned());
        let group = &mut self.groups[g];
        let message_id = group.next_message_id;
        group.next_message_id += 1;
        // Texts follow the message id, not the random stream: adding them changed no count.
        let content = (kind == MessageKind::Text).then(|| {
            let (text, link) = TEXTS[(message_id.unsigned_abs() % TEXTS.len() as u64) as usize];
            Box::new(MessageContent {
                text: text.into(),
                link,
                channel_forward: false,
            })
        });
        Some(IncomingEvent::Message {
            chat_id,
            message_id,
            sender,
            kind,
            at,
            content,
        })
    }
}

fn make_user(rng: &mut StdRng, id: i64) -> UserRef {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = (rng.random_range(0..3u8) > 0)
        .then(|| LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].to_string());
    let username =
        (rng.random_range(0..2u8) == 0).then(|| format!("{}{}", first.to_lowercase(), id % 10_000));
    UserRef {
        id,
        first_name: first.to_string(),
        last_name: last,
        username,
    }
}

impl TelegramPort for Sim {
    async fn login(&mut self) -> Result<Me, PortError> {
        if self.revoked {
            return Err(PortError::Revoked);
        }
        self.logged_in = true;
        Ok(Me {
            user_id: 7_000_000_000 + self.cfg.seed as i64 % 1_000_000,
            username: Some(format!("sim_{}_bot", self.cfg.seed)),
            is_bot: self.cfg.is_bot,
        })
    }

    async fn dialogs(&mut self) -> Result<Vec<Dialog>, PortError> {
        self.check_session()?;
        Ok(self
            .groups
            .iter()
            .filter(|g| !self.removed.contains(&g.chat_id))
            .map(|g| Dialog {
                chat_id: g.chat_id,
                title: g.title.clone(),
                kind: g.kind,
                members: g.members.len() as u32,
                can_post: g.kind != ChatKind::Channel || self.cfg.is_bot,
                is_admin: g.kind == ChatKind::Channel || self.cfg.admin,
                rights: if g.kind == ChatKind::Channel || self.cfg.admin {
                    crate::worker::telegram::AdminRights::ALL
                } else {
                    crate::worker::telegram::AdminRights::default()
                },
                slow_mode_secs: self.cfg.failures.slow_mode_secs,
            })
            .collect())
    }

    async fn send(&mut self, msg: OutgoingMessage) -> Result<SentMessage, PortError> {
        self.check_session()?;
        if let Some(prev) = self.seen_random_ids.get(&msg.random_id) {
            return Ok(prev.clone());
        }
        let f = &self.cfg.failures;
        if f.revoke_after_sends.is_some_and(|n| self.sends >= n) {
            self.revoked = true;
            return Err(PortError::Revoked);
        }
        self.sends += 1;
        if f.flood_wait_every
            .is_some_and(|n| n > 0 && self.sends.is_multiple_of(n))
        {
            return Err(PortError::FloodWait(f.flood_wait_secs.max(1)));
        }
        if self.removed.contains(&msg.chat_id) || f.forbidden_in.contains(&msg.chat_id) {
            return Err(PortError::Forbidden(msg.chat_id));
        }
        let now = self.clock_ms / 1000;
        if f.slow_mode_secs > 0
            && !self.cfg.is_bot
            && let Some(last) = self.last_send_in.get(&msg.chat_id)
        {
            let wait = last + i64::from(f.slow_mode_secs) - now;
            if wait > 0 {
                return Err(PortError::SlowMode(wait as u32));
            }
        }
        let message_id = if msg.chat_id > 0 {
            // A private chat: a bot can write to a user who wrote to it first (the access
            // hash comes from that message).
            if !self.cfg.is_bot || msg.access_hash.is_none() {
                return Err(PortError::ChatNotFound(msg.chat_id));
            }
            self.sent
                .iter()
                .filter(|m| m.chat_id == msg.chat_id)
                .count() as i64
                + 1
        } else {
            let group = self
                .groups
                .iter_mut()
                .find(|g| g.chat_id == msg.chat_id)
                .ok_or(PortError::ChatNotFound(msg.chat_id))?;
            group.next_message_id += 1;
            group.next_message_id - 1
        };
        let sent = SentMessage {
            chat_id: msg.chat_id,
            message_id,
            at: now,
        };
        self.last_send_in.insert(msg.chat_id, now);
        self.seen_random_ids.insert(msg.random_id, sent.clone());
        self.sent.push(sent.clone());
        Ok(sent)
    }

    async fn next_event(&mut self) -> Result<IncomingEvent, PortError> {
        self.check_session()?;
        if self.cfg.events_per_sec > 0.0 {
            let ms = (1000.0 / self.cfg.events_per_sec).max(1.0) as u64;
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        self.events = self.events.saturating_add(1);
        if self
            .cfg
            .failures
            .stall_after_events
            .is_some_and(|n| self.events > n)
        {
            // Deliberately blocks the thread (and so the worker's single-threaded runtime).
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        self.generate().ok_or(PortError::Other(
            "the simulated session is in no group".into(),
        ))
    }

    async fn logout(&mut self) -> Result<(), PortError> {
        self.logged_in = false;
        Ok(())
    }

    async fn delete_messages(
        &mut self,
        chat_id: i64,
        message_ids: &[i64],
    ) -> Result<(), PortError> {
        if !self.cfg.admin {
            for id in message_ids {
                self.delete_message(chat_id, *id).await?;
            }
            return Ok(());
        }
        self.moderate(chat_id)?;
        self.sent
            .retain(|m| !(m.chat_id == chat_id && message_ids.contains(&m.message_id)));
        Ok(())
    }

    async fn restrict(
        &mut self,
        chat_id: i64,
        _user_id: i64,
        _until: Option<i64>,
    ) -> Result<(), PortError> {
        self.moderate(chat_id)
    }

    async fn kick(&mut self, chat_id: i64, _user_id: i64) -> Result<(), PortError> {
        self.moderate(chat_id)
    }

    async fn answer_button(
        &mut self,
        _query_id: i64,
        _text: Option<&str>,
    ) -> Result<(), PortError> {
        self.check_session()
    }

    async fn delete_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        self.check_session()?;
        let before = self.sent.len();
        self.sent
            .retain(|m| !(m.chat_id == chat_id && m.message_id == message_id));
        if self.sent.len() == before {
            return Err(PortError::Other("MESSAGE_ID_INVALID".into()));
        }
        Ok(())
    }

    async fn pin_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        self.check_session()?;
        if self
            .sent
            .iter()
            .any(|m| m.chat_id == chat_id && m.message_id == message_id)
        {
            Ok(())
        } else {
            Err(PortError::Other("MESSAGE_ID_INVALID".into()))
        }
    }

    fn now(&self) -> i64 {
        Sim::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn same_seed_same_world() {
        let stream = |seed| {
            let mut s = Sim::new(SimConfig {
                seed,
                ..SimConfig::default()
            });
            run(async move {
                s.login().await.unwrap();
                let d = s.dialogs().await.unwrap();
                let mut ev = Vec::new();
                for _ in 0..500 {
                    ev.push(s.next_event().await.unwrap());
                }
                (d, ev)
            })
        };
        assert_eq!(stream(42), stream(42));
        assert_ne!(stream(42).1, stream(43).1);
        let (dialogs, events) = stream(42);
        assert_eq!(dialogs.len(), 3);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, IncomingEvent::MemberJoined { .. }))
        );
        assert!(events.iter().any(|e| matches!(
            e,
            IncomingEvent::Message {
                kind: MessageKind::Media,
                ..
            }
        )));
        assert!(events.iter().any(|e| matches!(
            e,
            IncomingEvent::Message {
                kind: MessageKind::Text,
                ..
            }
        )));
    }

    #[test]
    fn repeated_random_id_posts_once() {
        let mut s = Sim::new(SimConfig::default());
        run(async {
            s.login().await.unwrap();
            let chat = s.dialogs().await.unwrap()[0].chat_id;
            let m = OutgoingMessage {
                chat_id: chat,
                text: "Merhaba".into(),
                random_id: 99,
                silent: false,
                markup: None,
                buttons: Vec::new(),
                media: None,
                access_hash: None,
                reply_to: None,
            };
            let a = s.send(m.clone()).await.unwrap();
            let b = s.send(m).await.unwrap();
            assert_eq!(a, b);
        });
        assert_eq!(s.sent().len(), 1);
    }

    #[test]
    fn a_chat_that_took_the_rights_away_is_listed_but_refuses_posts() {
        let cfg = SimConfig {
            failures: SimFailures {
                forbidden_in: vec![-1_000_000_000_002],
                ..SimFailures::default()
            },
            ..SimConfig::default()
        };
        let mut s = Sim::new(cfg);
        run(async {
            s.login().await.unwrap();
            assert_eq!(s.dialogs().await.unwrap().len(), 3);
            let m = OutgoingMessage {
                chat_id: -1_000_000_000_002,
                text: "x".into(),
                random_id: 1,
                silent: false,
                markup: None,
                buttons: Vec::new(),
                media: None,
                access_hash: None,
                reply_to: None,
            };
            assert_eq!(
                s.send(m).await,
                Err(PortError::Forbidden(-1_000_000_000_002))
            );
        });
    }

    #[test]
    fn failures_flood_revoke_removed_slow_mode() {
        let cfg = SimConfig {
            failures: SimFailures {
                flood_wait_every: Some(3),
                flood_wait_secs: 42,
                revoke_after_sends: Some(6),
                removed_from: vec![-1_000_000_000_002],
                forbidden_in: Vec::new(),
                slow_mode_secs: 0,
                stall_after_events: None,
            },
            ..SimConfig::default()
        };
        let mut s = Sim::new(cfg);
        run(async {
            s.login().await.unwrap();
            let chats: Vec<i64> = s
                .dialogs()
                .await
                .unwrap()
                .iter()
                .map(|d| d.chat_id)
                .collect();
            assert!(
                !chats.contains(&-1_000_000_000_002),
                "removed chat is not listed"
            );
            let m = |chat, id| OutgoingMessage {
                chat_id: chat,
                text: "x".into(),
                random_id: id,
                silent: false,
                markup: None,
                buttons: Vec::new(),
                media: None,
                access_hash: None,
                reply_to: None,
            };
            assert!(s.send(m(chats[0], 1)).await.is_ok());
            assert!(s.send(m(chats[0], 2)).await.is_ok());
            assert_eq!(s.send(m(chats[0], 3)).await, Err(PortError::FloodWait(42)));
            assert_eq!(
                s.send(m(-1_000_000_000_002, 4)).await,
                Err(PortError::Forbidden(-1_000_000_000_002))
            );
            assert!(s.send(m(chats[1], 5)).await.is_ok());
            assert_eq!(s.send(m(chats[1], 6)).await, Err(PortError::FloodWait(42)));
            assert_eq!(s.send(m(chats[1], 7)).await, Err(PortError::Revoked));
            assert_eq!(s.dialogs().await, Err(PortError::Revoked));
        });

        let mut user = Sim::new(SimConfig {
            is_bot: false,
            failures: SimFailures {
                slow_mode_secs: 30,
                ..SimFailures::default()
            },
            ..SimConfig::default()
        });
        run(async {
            user.login().await.unwrap();
            let chat = user.dialogs().await.unwrap()[0].chat_id;
            let m = |id| OutgoingMessage {
                chat_id: chat,
                text: "x".into(),
                random_id: id,
                silent: false,
                markup: None,
                buttons: Vec::new(),
                media: None,
                access_hash: None,
                reply_to: None,
            };
            assert!(user.send(m(1)).await.is_ok());
            assert_eq!(user.send(m(2)).await, Err(PortError::SlowMode(30)));
        });
    }
}
