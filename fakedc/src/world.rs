//! Enough of Telegram for the adapter's tests: a bot that signs in with a token, its chats
//! (basic groups and supergroups), sending messages, the update state, logging out, and
//! FLOOD_WAIT on demand.

use std::collections::HashMap;
use std::sync::Mutex;

use grammers_tl_types::{self as tl, Identifiable};

use crate::{Answer, Call, Handler, defaults as d};

fn now() -> i32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or(0)
}

#[derive(Clone, Debug)]
pub struct FakeChat {
    /// Telegram's bare id (positive); the Bot API id is `-id` for basic groups and
    /// `-100…id` for supergroups.
    pub id: i64,
    pub title: String,
    pub supergroup: bool,
    pub members: i32,
    pub access_hash: i64,
}

/// A message the fake received through `messages.sendMessage`.
#[derive(Clone, Debug)]
pub struct Sent {
    pub peer: tl::enums::InputPeer,
    /// The text, or a media post's caption.
    pub text: String,
    pub entities: Vec<tl::enums::MessageEntity>,
    pub random_id: i64,
    pub id: i32,
    pub media: Option<SentMedia>,
    /// The buttons under it, as sent.
    pub markup: Option<tl::enums::ReplyMarkup>,
}

/// The file of a media post, as uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMedia {
    /// `photo`, `video` or `document`.
    pub kind: &'static str,
    pub mime: String,
    pub name: String,
    pub size: usize,
}

#[derive(Default)]
struct State {
    me: Option<tl::types::User>,
    pts: i32,
    next_message_id: i32,
    sent: Vec<Sent>,
    seen_random_ids: HashMap<i64, i32>,
    /// Posts are accepted from this one on (1-based) but never answered, the way a
    /// connection can die after Telegram took a message and before the answer arrived.
    swallow_from: Option<usize>,
    /// Uploaded file parts: file id → part → bytes.
    uploads: HashMap<i64, std::collections::BTreeMap<i32, Vec<u8>>>,
    upload_calls: usize,
    /// The bot's menu button, as last set: `(text, url)`.
    menu_button: Option<(String, String)>,
    /// Messages deleted and pinned: (peer, message id).
    deleted: Vec<(tl::enums::InputPeer, i32)>,
    pinned: Vec<(tl::enums::InputPeer, i32)>,
    /// Method constructor → FLOOD_WAIT seconds for its next call.
    flood: HashMap<u32, i32>,
    /// Method constructor → the serialized answer to give instead, once.
    overrides: HashMap<u32, Vec<u8>>,
    /// Phone logins: the phone whose code was sent.
    code_sent_to: Option<String>,
    /// The password check in progress (srp_id, phone, challenge).
    challenge: Option<(i64, String, crate::srp::Challenge)>,
    /// QR login: the token handed out, and the account that scanned it.
    qr_token: Option<Vec<u8>>,
    qr_scanned_by: Option<tl::types::User>,
    /// QR login by an account that lives on another datacenter: export answers
    /// `loginTokenMigrateTo` this datacenter.
    qr_migrate_to: Option<i32>,
    /// This datacenter accepts `auth.importLoginToken` as this account (the other side of a
    /// QR login migration).
    imported_token_user: Option<tl::types::User>,
    /// Which datacenter this is, and the whole list `help.getConfig` gives.
    this_dc: i32,
    dcs: Vec<(i32, std::net::SocketAddr)>,
    /// Every message update made, for `updates.getDifference` to replay what a client missed.
    history: Vec<Logged>,
    /// Each supergroup's own pts.
    channel_pts: HashMap<i64, i32>,
    /// Chats (bare id) where the account is an admin: (delete messages, ban users).
    admin_in: HashMap<i64, (bool, bool)>,
    /// Other admins of a chat (user ids), as `channels.getParticipants` lists them.
    admins: HashMap<i64, Vec<tl::types::User>>,
    /// Members' rights changed with `channels.editBanned`, and members removed from basic
    /// groups (`messages.deleteChatUser`, as a ban with `view_messages`).
    banned: Vec<Banned>,
    /// Button presses answered: (query id, the note shown).
    button_answers: Vec<(i64, Option<String>)>,
    next_query_id: i64,
}

/// A change of a member's rights, as the account asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Banned {
    /// The chat's bare id.
    pub chat: i64,
    pub user: i64,
    /// Out of the chat.
    pub view_messages: bool,
    /// No writing.
    pub send_messages: bool,
    /// Unix seconds; 0: for ever.
    pub until_date: i32,
}

/// A message update as the fake made it: which sequence it belongs to (the account's, or a
/// supergroup's) and its pts.
#[derive(Clone)]
struct Logged {
    channel: Option<i64>,
    pts: i32,
    message: tl::enums::Message,
    user: tl::types::User,
    /// None for a private chat.
    chat: Option<tl::enums::Chat>,
}

/// A user account that can log in by phone (code `12345`), with an optional 2FA password.
#[derive(Clone)]
pub struct Account {
    pub user: tl::types::User,
    pub password: Option<String>,
    /// The datacenter the account lives on; another one answers `PHONE_MIGRATE_n`.
    pub home_dc: Option<i32>,
}

/// The code the fake accepts; `00000` is always expired.
pub const CODE: &str = "12345";
pub const EXPIRED_CODE: &str = "00000";

pub struct World {
    /// Bot tokens that sign in, and the bot each one is.
    pub bots: HashMap<String, (i64, String)>,
    /// Accounts by phone number.
    pub accounts: HashMap<String, Account>,
    pub chats: Vec<FakeChat>,
    /// Telegram Stars paid to the bot.
    pub stars: crate::stars::Stars,
    state: Mutex<State>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn bot_user(id: i64, username: &str) -> tl::types::User {
    tl::types::User {
        id,
        bot: true,
        is_self: true,
        access_hash: Some(id ^ 0x5a5a),
        first_name: Some(username.to_string()),
        username: Some(username.to_string()),
        bot_info_version: Some(1),
        ..d::user()
    }
}

pub fn person(id: i64, first_name: &str, username: Option<&str>) -> tl::types::User {
    tl::types::User {
        id,
        access_hash: Some(id * 7),
        first_name: Some(first_name.to_string()),
        username: username.map(str::to_string),
        ..d::user()
    }
}

impl World {
    pub fn new(bots: &[(&str, i64, &str)], chats: Vec<FakeChat>) -> Self {
        World {
            bots: bots
                .iter()
                .map(|(t, id, name)| (t.to_string(), (*id, name.to_string())))
                .collect(),
            accounts: HashMap::new(),
            chats,
            stars: crate::stars::Stars::default(),
            state: Mutex::new(State {
                pts: 100,
                next_message_id: 1000,
                this_dc: 2,
                ..State::default()
            }),
        }
    }

    /// Adds an account that logs in by phone.
    pub fn with_account(
        mut self,
        phone: &str,
        user: tl::types::User,
        password: Option<&str>,
    ) -> Self {
        self.accounts.insert(
            phone.to_string(),
            Account {
                user,
                password: password.map(str::to_string),
                home_dc: None,
            },
        );
        self
    }

    /// Adds an account that lives on datacenter `dc`: asking this one for its code answers
    /// `PHONE_MIGRATE_<dc>`.
    pub fn with_account_on(mut self, dc: i32, phone: &str, user: tl::types::User) -> Self {
        self.accounts.insert(
            phone.to_string(),
            Account {
                user,
                password: None,
                home_dc: Some(dc),
            },
        );
        self
    }

    /// Says which datacenter this world plays (2 unless told).
    pub fn on_dc(self, dc: i32) -> Self {
        lock(&self.state).this_dc = dc;
        self
    }

    /// The datacenters `help.getConfig` lists (a second fake for a migration test).
    pub fn set_dcs(&self, dcs: &[(i32, std::net::SocketAddr)]) {
        lock(&self.state).dcs = dcs.to_vec();
    }

    /// Someone whose account lives on datacenter `dc` scans the QR code: the next export
    /// answers `loginTokenMigrateTo`, and the client is told with `updateLoginToken`.
    pub fn scan_qr_from_dc(&self, dc: i32) -> tl::enums::Updates {
        lock(&self.state).qr_migrate_to = Some(dc);
        tl::enums::Updates::UpdateShort(tl::types::UpdateShort {
            update: tl::enums::Update::LoginToken,
            date: now(),
        })
    }

    /// This datacenter completes a migrated QR login as `user`.
    pub fn accept_login_token(&self, user: tl::types::User) {
        lock(&self.state).imported_token_user = Some(user);
    }

    /// Someone scans the QR code on their phone: the next login-token export succeeds as
    /// `user`, and the client is told so with `updateLoginToken`.
    pub fn scan_qr(&self, user: tl::types::User) -> tl::enums::Updates {
        lock(&self.state).qr_scanned_by = Some(user);
        tl::enums::Updates::UpdateShort(tl::types::UpdateShort {
            update: tl::enums::Update::LoginToken,
            date: now(),
        })
    }

    fn authorized(&self, user: tl::types::User) -> Answer {
        let me = tl::types::User {
            is_self: true,
            ..user
        };
        lock(&self.state).me = Some(me.clone());
        Answer::of(&tl::enums::auth::Authorization::Authorization(
            d::auth_authorization(me.into()),
        ))
    }

    /// A session already logged in as `me` (an imported user session).
    pub fn logged_in(self, me: tl::types::User) -> Self {
        lock(&self.state).me = Some(me);
        self
    }

    /// The next call of method `F` answers FLOOD_WAIT for `secs` seconds.
    pub fn flood_next<F: Identifiable>(&self, secs: i32) {
        lock(&self.state).flood.insert(F::CONSTRUCTOR_ID, secs);
    }

    /// The next call of method `F` gets `answer` instead of the usual one (odd answers that
    /// real servers send, to test how the client copes).
    pub fn override_next<F: Identifiable>(&self, answer: Vec<u8>) {
        lock(&self.state)
            .overrides
            .insert(F::CONSTRUCTOR_ID, answer);
    }

    /// Posts from the `n`-th on are taken but not answered (`None`: answer again).
    pub fn swallow_sends_from(&self, n: Option<usize>) {
        lock(&self.state).swallow_from = n;
    }

    /// Makes the account an admin of chat `chat` (bare id) with these rights: its dialogs say
    /// so, and deleting members' messages and banning them works there.
    pub fn make_admin(&self, chat: i64, delete_messages: bool, ban_users: bool) {
        lock(&self.state)
            .admin_in
            .insert(chat, (delete_messages, ban_users));
    }

    /// Other admins of chat `chat`, listed by `channels.getParticipants`.
    pub fn set_admins(&self, chat: i64, users: Vec<tl::types::User>) {
        lock(&self.state).admins.insert(chat, users);
    }

    /// Every change of a member's rights so far, oldest first.
    pub fn banned(&self) -> Vec<Banned> {
        lock(&self.state).banned.clone()
    }

    /// Button presses answered: (query id, the note shown to the member).
    pub fn button_answers(&self) -> Vec<(i64, Option<String>)> {
        lock(&self.state).button_answers.clone()
    }

    /// `from` presses the callback button carrying `data` under message `msg_id` in `chat`,
    /// as Telegram pushes it to the bot; returns the updates and the query id.
    pub fn button_press(
        &self,
        chat: &FakeChat,
        from: &tl::types::User,
        msg_id: i32,
        data: &[u8],
    ) -> (tl::enums::Updates, i64) {
        let query_id = {
            let mut s = lock(&self.state);
            s.next_query_id += 1;
            0x5157_0000 + s.next_query_id
        };
        let update = tl::enums::Update::BotCallbackQuery(tl::types::UpdateBotCallbackQuery {
            query_id,
            user_id: from.id,
            peer: Self::peer(chat),
            msg_id,
            chat_instance: chat.id ^ 0x1234,
            data: Some(data.to_vec()),
            game_short_name: None,
        });
        let updates = tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![update],
            users: vec![from.clone().into()],
            chats: vec![Self::chat_object(chat)],
            date: now(),
            seq: 0,
        });
        (updates, query_id)
    }

    /// The account's rights in chat `chat`: (delete messages, ban users).
    fn rights_in(&self, chat: i64) -> Option<(bool, bool)> {
        lock(&self.state).admin_in.get(&chat).copied()
    }

    pub fn deleted(&self) -> Vec<(tl::enums::InputPeer, i32)> {
        lock(&self.state).deleted.clone()
    }

    pub fn pinned(&self) -> Vec<(tl::enums::InputPeer, i32)> {
        lock(&self.state).pinned.clone()
    }

    /// The bot's menu button, as last set with `bots.setBotMenuButton`: `(text, url)`.
    pub fn menu_button(&self) -> Option<(String, String)> {
        lock(&self.state).menu_button.clone()
    }

    /// How many `upload.saveFilePart` calls the fake answered.
    pub fn upload_calls(&self) -> usize {
        lock(&self.state).upload_calls
    }

    /// Takes a post (deduplicated by its random id) and answers as Telegram does.
    fn post(
        &self,
        peer: tl::enums::InputPeer,
        (text, entities): (String, Vec<tl::enums::MessageEntity>),
        random_id: i64,
        media: Option<SentMedia>,
        markup: Option<tl::enums::ReplyMarkup>,
    ) -> Answer {
        let mut s = lock(&self.state);
        let swallowing = s.swallow_from.is_some_and(|n| s.sent.len() + 1 >= n);
        if s.seen_random_ids.contains_key(&random_id) {
            if swallowing {
                return Answer::Silent;
            }
            return Answer::Error(400, "RANDOM_ID_DUPLICATE".into());
        }
        s.next_message_id += 1;
        let id = s.next_message_id;
        s.seen_random_ids.insert(random_id, id);
        s.sent.push(Sent {
            peer: peer.clone(),
            text: text.clone(),
            entities,
            random_id,
            id,
            media,
            markup,
        });
        if swallowing {
            return Answer::Silent;
        }
        // Like Telegram, a post in a supergroup comes back as full updates in the channel's
        // own sequence (grammers asserts a short answer is never a channel's).
        if let tl::enums::InputPeer::Channel(ch) = &peer
            && let Some(chat) = self
                .chats
                .iter()
                .find(|c| c.supergroup && c.id == ch.channel_id)
        {
            let message: tl::enums::Message = tl::types::Message {
                id,
                out: true,
                message: text,
                date: now(),
                ..d::message(Self::peer(chat))
            }
            .into();
            let me = s.me.clone().unwrap_or_else(|| person(1, "me", None));
            let update = Self::new_message(&mut s, chat, &me, message);
            return Answer::of(&tl::enums::Updates::Updates(tl::types::Updates {
                updates: vec![
                    tl::enums::Update::MessageId(tl::types::UpdateMessageId { id, random_id }),
                    update,
                ],
                users: Vec::new(),
                chats: vec![Self::chat_object(chat)],
                date: now(),
                seq: 0,
            }));
        }
        Answer::of(&tl::enums::Updates::UpdateShortSentMessage(
            tl::types::UpdateShortSentMessage {
                out: true,
                id,
                pts: s.pts,
                pts_count: 0,
                date: now(),
                ..d::update_short_sent_message()
            },
        ))
    }

    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.state).sent.clone()
    }

    fn chat_object(c: &FakeChat) -> tl::enums::Chat {
        if c.supergroup {
            tl::enums::Chat::Channel(tl::types::Channel {
                id: c.id,
                title: c.title.clone(),
                megagroup: true,
                access_hash: Some(c.access_hash),
                participants_count: Some(c.members),
                date: now(),
                ..d::channel(tl::enums::ChatPhoto::Empty)
            })
        } else {
            tl::enums::Chat::Chat(tl::types::Chat {
                id: c.id,
                title: c.title.clone(),
                participants_count: c.members,
                date: now(),
                ..d::chat(tl::enums::ChatPhoto::Empty)
            })
        }
    }

    /// A chat object that says the account is an admin with these rights.
    fn with_rights(chat: tl::enums::Chat, rights: Option<(bool, bool)>) -> tl::enums::Chat {
        let Some((delete, ban)) = rights else {
            return chat;
        };
        let r = Some(admin_rights(delete, ban));
        match chat {
            tl::enums::Chat::Channel(mut c) => {
                c.admin_rights = r;
                tl::enums::Chat::Channel(c)
            }
            tl::enums::Chat::Chat(mut c) => {
                c.admin_rights = r;
                tl::enums::Chat::Chat(c)
            }
            other => other,
        }
    }

    fn peer(c: &FakeChat) -> tl::enums::Peer {
        if c.supergroup {
            tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: c.id })
        } else {
            tl::enums::Peer::Chat(tl::types::PeerChat { chat_id: c.id })
        }
    }

    /// An incoming text message in a basic group, as Telegram pushes it.
    pub fn incoming(
        &self,
        chat: &FakeChat,
        from: &tl::types::User,
        text: &str,
    ) -> tl::enums::Updates {
        let mut s = lock(&self.state);
        s.next_message_id += 1;
        let message: tl::enums::Message = tl::types::Message {
            id: s.next_message_id,
            from_id: Some(tl::enums::Peer::User(tl::types::PeerUser {
                user_id: from.id,
            })),
            message: text.to_string(),
            date: now(),
            ..d::message(Self::peer(chat))
        }
        .into();
        let update = Self::new_message(&mut s, chat, from, message);
        tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![update],
            users: vec![from.clone().into()],
            chats: vec![Self::chat_object(chat)],
            date: now(),
            seq: 0,
        })
    }

    /// A private message from `from` to the account (a user writing to the bot), as Telegram
    /// pushes it, in the account's own update sequence.
    pub fn private_message(&self, from: &tl::types::User, text: &str) -> tl::enums::Updates {
        let peer = tl::enums::Peer::User(tl::types::PeerUser { user_id: from.id });
        self.private(from, |id| {
            tl::types::Message {
                id,
                from_id: Some(peer.clone()),
                message: text.to_string(),
                date: now(),
                ..d::message(peer.clone())
            }
            .into()
        })
    }

    /// A message `make` builds (given its id) in `from`'s private chat with the account,
    /// logged in the account's update sequence so `updates.getDifference` replays it.
    fn private(
        &self,
        from: &tl::types::User,
        make: impl FnOnce(i32) -> tl::enums::Message,
    ) -> tl::enums::Updates {
        let mut s = lock(&self.state);
        s.next_message_id += 1;
        let message = make(s.next_message_id);
        s.pts += 1;
        let pts = s.pts;
        s.history.push(Logged {
            channel: None,
            pts,
            message: message.clone(),
            user: from.clone(),
            chat: None,
        });
        tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
                message,
                pts,
                pts_count: 1,
            })],
            users: vec![from.clone().into()],
            chats: Vec::new(),
            date: now(),
            seq: 0,
        })
    }

    /// The payment service message the bot gets in the payer's private chat, in the account's
    /// update sequence (so a client that missed it gets it from the difference). Records the
    /// charge in the bot's Stars history; returns the updates and the charge id.
    pub fn stars_payment(
        &self,
        from: &tl::types::User,
        payload: &[u8],
        amount: i64,
        renewal: bool,
        until: Option<i32>,
    ) -> (tl::enums::Updates, String) {
        let charge = self.stars.charge(from.id, amount);
        let action = crate::stars::Stars::payment_action(payload, amount, &charge, renewal, until);
        (self.private_service(from, action), charge)
    }

    /// The same payment message delivered again (Telegram may send an update twice).
    pub fn stars_payment_again(
        &self,
        from: &tl::types::User,
        payload: &[u8],
        amount: i64,
        charge: &str,
    ) -> tl::enums::Updates {
        let action = crate::stars::Stars::payment_action(payload, amount, charge, false, None);
        self.private_service(from, action)
    }

    fn private_service(
        &self,
        from: &tl::types::User,
        action: tl::enums::MessageAction,
    ) -> tl::enums::Updates {
        let peer = tl::enums::Peer::User(tl::types::PeerUser { user_id: from.id });
        self.private(from, |id| {
            tl::types::MessageService {
                id,
                from_id: Some(peer.clone()),
                date: now(),
                ..d::message_service(peer.clone(), action)
            }
            .into()
        })
    }

    /// A service message (someone joined, left, renamed the chat) in a chat.
    pub fn service(
        &self,
        chat: &FakeChat,
        from: &tl::types::User,
        action: tl::enums::MessageAction,
    ) -> tl::enums::Updates {
        let mut s = lock(&self.state);
        s.next_message_id += 1;
        let message: tl::enums::Message = tl::types::MessageService {
            id: s.next_message_id,
            from_id: Some(tl::enums::Peer::User(tl::types::PeerUser {
                user_id: from.id,
            })),
            date: now(),
            ..d::message_service(Self::peer(chat), action)
        }
        .into();
        let update = Self::new_message(&mut s, chat, from, message);
        tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![update],
            users: vec![from.clone().into()],
            chats: vec![Self::chat_object(chat)],
            date: now(),
            seq: 0,
        })
    }

    /// Records a new message and makes its update, in the account's sequence for a basic
    /// group and in the supergroup's own for a supergroup.
    fn new_message(
        s: &mut State,
        chat: &FakeChat,
        from: &tl::types::User,
        message: tl::enums::Message,
    ) -> tl::enums::Update {
        let pts = Self::log(s, chat, from, message.clone());
        if chat.supergroup {
            tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
                message,
                pts,
                pts_count: 1,
            })
        } else {
            tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
                message,
                pts,
                pts_count: 1,
            })
        }
    }

    /// Records a message update and gives it the next pts of its sequence.
    fn log(
        s: &mut State,
        chat: &FakeChat,
        from: &tl::types::User,
        message: tl::enums::Message,
    ) -> i32 {
        let (channel, pts) = if chat.supergroup {
            let p = s.channel_pts.entry(chat.id).or_insert(1);
            *p += 1;
            (Some(chat.id), *p)
        } else {
            s.pts += 1;
            (None, s.pts)
        };
        s.history.push(Logged {
            channel,
            pts,
            message,
            user: from.clone(),
            chat: Some(Self::chat_object(chat)),
        });
        pts
    }

    fn state_now(s: &State) -> tl::enums::updates::State {
        tl::enums::updates::State::State(tl::types::updates::State {
            pts: s.pts,
            date: now(),
            ..d::updates_state()
        })
    }

    /// `updates.getDifference`: the account's messages after `pts`.
    fn difference(&self, pts: i32) -> tl::enums::updates::Difference {
        let s = lock(&self.state);
        let missed: Vec<&Logged> = s
            .history
            .iter()
            .filter(|l| l.channel.is_none() && l.pts > pts)
            .collect();
        if missed.is_empty() {
            return tl::enums::updates::Difference::Empty(tl::types::updates::DifferenceEmpty {
                date: now(),
                seq: 0,
            });
        }
        tl::enums::updates::Difference::Difference(tl::types::updates::Difference {
            new_messages: missed.iter().map(|l| l.message.clone()).collect(),
            new_encrypted_messages: Vec::new(),
            other_updates: Vec::new(),
            chats: missed.iter().filter_map(|l| l.chat.clone()).collect(),
            users: missed.iter().map(|l| l.user.clone().into()).collect(),
            state: Self::state_now(&s),
        })
    }

    /// `updates.getChannelDifference`: a supergroup's messages after `pts`.
    fn channel_difference(&self, channel: i64, pts: i32) -> tl::enums::updates::ChannelDifference {
        let s = lock(&self.state);
        let now_pts = s.channel_pts.get(&channel).copied().unwrap_or(1);
        let missed: Vec<&Logged> = s
            .history
            .iter()
            .filter(|l| l.channel == Some(channel) && l.pts > pts)
            .collect();
        if missed.is_empty() {
            return tl::enums::updates::ChannelDifference::Empty(
                tl::types::updates::ChannelDifferenceEmpty {
                    r#final: true,
                    pts: now_pts,
                    timeout: None,
                },
            );
        }
        tl::enums::updates::ChannelDifference::Difference(tl::types::updates::ChannelDifference {
            r#final: true,
            pts: now_pts,
            timeout: None,
            new_messages: missed.iter().map(|l| l.message.clone()).collect(),
            other_updates: Vec::new(),
            chats: missed.iter().filter_map(|l| l.chat.clone()).collect(),
            users: missed.iter().map(|l| l.user.clone().into()).collect(),
        })
    }

    /// A scanned QR code logs in, unless the account has a 2FA password: then the password
    /// step follows, as for a phone login.
    fn token_or_password(&self, user: tl::types::User) -> Answer {
        let with_password = self
            .accounts
            .iter()
            .find(|(_, a)| a.user.id == user.id && a.password.is_some());
        if let Some((phone, _)) = with_password {
            lock(&self.state).code_sent_to = Some(phone.clone());
            return Answer::Error(401, "SESSION_PASSWORD_NEEDED".into());
        }
        self.authorized_token(user)
    }

    fn authorized_token(&self, user: tl::types::User) -> Answer {
        let me = tl::types::User {
            is_self: true,
            ..user
        };
        lock(&self.state).me = Some(me.clone());
        Answer::of(&tl::enums::auth::LoginToken::Success(
            tl::types::auth::LoginTokenSuccess {
                authorization: d::auth_authorization(me.into()).into(),
            },
        ))
    }

    fn dialogs(&self) -> tl::enums::messages::Dialogs {
        let mut dialogs = Vec::new();
        let mut messages = Vec::new();
        let mut chats = Vec::new();
        for (i, c) in self.chats.iter().enumerate() {
            let top = 10 + i as i32;
            dialogs.push(tl::enums::Dialog::Dialog(tl::types::Dialog {
                top_message: top,
                ..d::dialog(
                    Self::peer(c),
                    tl::enums::PeerNotifySettings::Settings(d::peer_notify_settings()),
                )
            }));
            messages.push(tl::enums::Message::Message(tl::types::Message {
                id: top,
                message: "merhaba".into(),
                date: now(),
                ..d::message(Self::peer(c))
            }));
            chats.push(Self::with_rights(
                Self::chat_object(c),
                self.rights_in(c.id),
            ));
        }
        tl::enums::messages::Dialogs::Dialogs(tl::types::messages::Dialogs {
            dialogs,
            messages,
            chats,
            users: Vec::new(),
        })
    }
}

/// Admin rights with only these two of them.
fn admin_rights(delete_messages: bool, ban_users: bool) -> tl::enums::ChatAdminRights {
    tl::types::ChatAdminRights {
        change_info: false,
        post_messages: false,
        edit_messages: false,
        delete_messages,
        ban_users,
        invite_users: true,
        pin_messages: true,
        add_admins: false,
        anonymous: false,
        manage_call: false,
        other: true,
        manage_topics: false,
        post_stories: false,
        edit_stories: false,
        delete_stories: false,
        manage_direct_messages: false,
        manage_ranks: false,
        manage_linked_peers: false,
        manage_welcome_messages: false,
    }
    .into()
}

fn no_updates() -> Answer {
    Answer::of(&tl::enums::Updates::Updates(tl::types::Updates {
        updates: Vec::new(),
        users: Vec::new(),
        chats: Vec::new(),
        date: now(),
        seq: 0,
    }))
}

impl Handler for World {
    fn answer(&self, call: &Call) -> Answer {
        use tl::functions as f;
        if let Some(secs) = lock(&self.state).flood.remove(&call.constructor) {
            return Answer::Error(420, format!("FLOOD_WAIT_{secs}"));
        }
        if let Some(bytes) = lock(&self.state).overrides.remove(&call.constructor) {
            return Answer::Result(bytes);
        }
        // A refund names a user by id and access hash, as Telegram gave them out.
        // (`person` gives out `id * 7`.)
        let known = |id: i64, hash: i64| id > 0 && hash == id.wrapping_mul(7);
        if let Some(a) = self.stars.answer(call, &known) {
            return a;
        }
        match call.constructor {
            f::help::GetConfig::CONSTRUCTOR_ID => {
                let s = lock(&self.state);
                Answer::of(&tl::enums::Config::Config(tl::types::Config {
                    date: now(),
                    expires: now() + 3600,
                    this_dc: s.this_dc,
                    dc_options: s
                        .dcs
                        .iter()
                        .map(|(id, addr)| {
                            tl::enums::DcOption::Option(tl::types::DcOption {
                                ipv6: false,
                                media_only: false,
                                tcpo_only: false,
                                cdn: false,
                                r#static: true,
                                this_port_only: false,
                                id: *id,
                                ip_address: addr.ip().to_string(),
                                port: i32::from(addr.port()),
                                secret: None,
                            })
                        })
                        .collect(),
                    ..d::config()
                }))
            }
            f::updates::GetState::CONSTRUCTOR_ID => {
                Answer::of(&Self::state_now(&lock(&self.state)))
            }
            f::updates::GetDifference::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::updates::GetDifference>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                Answer::of(&self.difference(req.pts))
            }
            f::updates::GetChannelDifference::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::updates::GetChannelDifference>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let tl::enums::InputChannel::Channel(ch) = req.channel else {
                    return Answer::Error(400, "CHANNEL_INVALID".into());
                };
                if !self.chats.iter().any(|c| {
                    c.supergroup && c.id == ch.channel_id && c.access_hash == ch.access_hash
                }) {
                    return Answer::Error(400, "CHANNEL_INVALID".into());
                }
                Answer::of(&self.channel_difference(ch.channel_id, req.pts))
            }
            f::auth::ImportLoginToken::CONSTRUCTOR_ID => {
                let user = lock(&self.state).imported_token_user.take();
                match user {
                    Some(u) => self.token_or_password(u),
                    None => Answer::Error(400, "AUTH_TOKEN_INVALID".into()),
                }
            }
            f::auth::ImportBotAuthorization::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::auth::ImportBotAuthorization>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                match self.bots.get(&req.bot_auth_token) {
                    Some((id, name)) => {
                        let me = bot_user(*id, name);
                        lock(&self.state).me = Some(me.clone());
                        Answer::of(&tl::enums::auth::Authorization::Authorization(
                            d::auth_authorization(me.into()),
                        ))
                    }
                    None => Answer::Error(400, "ACCESS_TOKEN_INVALID".into()),
                }
            }
            f::users::GetUsers::CONSTRUCTOR_ID => match lock(&self.state).me.clone() {
                Some(me) => Answer::of(&vec![tl::enums::User::User(me)]),
                None => Answer::Error(401, "AUTH_KEY_UNREGISTERED".into()),
            },
            f::messages::GetDialogs::CONSTRUCTOR_ID => Answer::of(&self.dialogs()),
            f::messages::DeleteMessages::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::DeleteMessages>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let mut s = lock(&self.state);
                let mut n = 0;
                for id in req.id {
                    if let Some(m) = s.sent.iter().find(|m| m.id == id) {
                        let peer = m.peer.clone();
                        s.deleted.push((peer, id));
                        n += 1;
                    }
                }
                s.pts += n;
                Answer::of(&tl::enums::messages::AffectedMessages::Messages(
                    tl::types::messages::AffectedMessages {
                        pts: s.pts,
                        pts_count: n,
                    },
                ))
            }
            f::channels::DeleteMessages::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::channels::DeleteMessages>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let tl::enums::InputChannel::Channel(ch) = &req.channel else {
                    return Answer::Error(400, "CHANNEL_INVALID".into());
                };
                let mut s = lock(&self.state);
                let can_delete = s.admin_in.get(&ch.channel_id).is_some_and(|r| r.0);
                let peer: tl::enums::InputPeer = tl::types::InputPeerChannel {
                    channel_id: ch.channel_id,
                    access_hash: ch.access_hash,
                }
                .into();
                for id in &req.id {
                    let own = s.sent.iter().any(|m| m.id == *id);
                    // Members' messages go only for an admin with the right.
                    if !own && !can_delete {
                        return Answer::Error(403, "MESSAGE_DELETE_FORBIDDEN".into());
                    }
                    s.deleted.push((peer.clone(), *id));
                }
                Answer::of(&tl::enums::messages::AffectedMessages::Messages(
                    tl::types::messages::AffectedMessages {
                        pts: 1,
                        pts_count: req.id.len() as i32,
                    },
                ))
            }
            f::channels::EditBanned::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::channels::EditBanned>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let (tl::enums::InputChannel::Channel(ch), tl::enums::InputPeer::User(u)) =
                    (&req.channel, &req.participant)
                else {
                    return Answer::Error(400, "PARTICIPANT_ID_INVALID".into());
                };
                if u.access_hash != u.user_id.wrapping_mul(7) {
                    return Answer::Error(400, "USER_ID_INVALID".into());
                }
                let mut s = lock(&self.state);
                if !s.admin_in.get(&ch.channel_id).is_some_and(|r| r.1) {
                    return Answer::Error(400, "CHAT_ADMIN_REQUIRED".into());
                }
                let tl::enums::ChatBannedRights::Rights(r) = &req.banned_rights;
                s.banned.push(Banned {
                    chat: ch.channel_id,
                    user: u.user_id,
                    view_messages: r.view_messages,
                    send_messages: r.send_messages,
                    until_date: r.until_date,
                });
                drop(s);
                no_updates()
            }
            f::messages::DeleteChatUser::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::DeleteChatUser>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let tl::enums::InputUser::User(u) = &req.user_id else {
                    return Answer::Error(400, "USER_ID_INVALID".into());
                };
                let mut s = lock(&self.state);
                if !s.admin_in.get(&req.chat_id).is_some_and(|r| r.1) {
                    return Answer::Error(400, "CHAT_ADMIN_REQUIRED".into());
                }
                s.banned.push(Banned {
                    chat: req.chat_id,
                    user: u.user_id,
                    view_messages: true,
                    send_messages: true,
                    until_date: 0,
                });
                drop(s);
                no_updates()
            }
            f::channels::GetParticipants::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::channels::GetParticipants>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let tl::enums::InputChannel::Channel(ch) = &req.channel else {
                    return Answer::Error(400, "CHANNEL_INVALID".into());
                };
                if !matches!(
                    req.filter,
                    tl::enums::ChannelParticipantsFilter::ChannelParticipantsAdmins
                ) {
                    return Answer::Error(400, "FAKE_DC_ONLY_ADMINS_ARE_LISTED".into());
                }
                let s = lock(&self.state);
                let mut users: Vec<tl::types::User> =
                    s.admins.get(&ch.channel_id).cloned().unwrap_or_default();
                if let (true, Some(me)) = (s.admin_in.contains_key(&ch.channel_id), &s.me) {
                    users.push(me.clone());
                }
                let participants = users
                    .iter()
                    .map(|u| {
                        let (delete, ban) = s
                            .admin_in
                            .get(&ch.channel_id)
                            .copied()
                            .unwrap_or((true, true));
                        tl::enums::ChannelParticipant::Admin(tl::types::ChannelParticipantAdmin {
                            can_edit: false,
                            is_self: u.is_self,
                            user_id: u.id,
                            inviter_id: None,
                            promoted_by: 1,
                            date: now(),
                            admin_rights: admin_rights(delete, ban),
                            rank: None,
                        })
                    })
                    .collect::<Vec<_>>();
                Answer::of(&tl::enums::channels::ChannelParticipants::Participants(
                    tl::types::channels::ChannelParticipants {
                        count: participants.len() as i32,
                        participants,
                        chats: Vec::new(),
                        users: users.into_iter().map(Into::into).collect(),
                    },
                ))
            }
            f::messages::SetBotCallbackAnswer::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::SetBotCallbackAnswer>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let mut s = lock(&self.state);
                if !(0x5157_0000..=0x5157_0000 + s.next_query_id).contains(&req.query_id) {
                    return Answer::Error(400, "QUERY_ID_INVALID".into());
                }
                s.button_answers.push((req.query_id, req.message));
                Answer::of(&true)
            }
            f::messages::UpdatePinnedMessage::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::UpdatePinnedMessage>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                lock(&self.state).pinned.push((req.peer.clone(), req.id));
                Answer::of(&tl::enums::Updates::Updates(tl::types::Updates {
                    updates: Vec::new(),
                    users: Vec::new(),
                    chats: Vec::new(),
                    date: now(),
                    seq: 0,
                }))
            }
            f::bots::SetBotMenuButton::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::bots::SetBotMenuButton>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                match req.button {
                    tl::enums::BotMenuButton::Button(b) => {
                        lock(&self.state).menu_button = Some((b.text, b.url));
                        Answer::of(&true)
                    }
                    _ => Answer::Error(400, "BUTTON_TYPE_INVALID".into()),
                }
            }
            f::messages::SendMessage::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::SendMessage>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let entities = req.entities.clone().unwrap_or_default();
                self.post(
                    req.peer,
                    (req.message, entities),
                    req.random_id,
                    None,
                    req.reply_markup,
                )
            }
            f::messages::SendMedia::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::messages::SendMedia>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let media = {
                    let s = lock(&self.state);
                    let (kind, file, mime, name) = match &req.media {
                        tl::enums::InputMedia::UploadedPhoto(p) => {
                            ("photo", p.file.clone(), String::new(), String::new())
                        }
                        tl::enums::InputMedia::UploadedDocument(d) => {
                            let name = d.attributes.iter().find_map(|a| match a {
                                tl::enums::DocumentAttribute::Filename(f) => {
                                    Some(f.file_name.clone())
                                }
                                _ => None,
                            });
                            let video = d
                                .attributes
                                .iter()
                                .any(|a| matches!(a, tl::enums::DocumentAttribute::Video(_)));
                            let kind = if video { "video" } else { "document" };
                            (
                                kind,
                                d.file.clone(),
                                d.mime_type.clone(),
                                name.unwrap_or_default(),
                            )
                        }
                        _ => return Answer::Error(400, "MEDIA_INVALID".into()),
                    };
                    let id = match &file {
                        tl::enums::InputFile::File(f) => f.id,
                        tl::enums::InputFile::Big(f) => f.id,
                        _ => return Answer::Error(400, "FILE_PARTS_INVALID".into()),
                    };
                    let Some(size) = s.uploads.get(&id).map(|p| p.values().map(Vec::len).sum())
                    else {
                        return Answer::Error(400, "FILE_PARTS_INVALID".into());
                    };
                    SentMedia {
                        kind,
                        mime,
                        name,
                        size,
                    }
                };
                let entities = req.entities.clone().unwrap_or_default();
                self.post(
                    req.peer,
                    (req.message, entities),
                    req.random_id,
                    Some(media),
                    req.reply_markup,
                )
            }
            f::upload::SaveFilePart::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::upload::SaveFilePart>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let mut s = lock(&self.state);
                s.upload_calls += 1;
                s.uploads
                    .entry(req.file_id)
                    .or_default()
                    .insert(req.file_part, req.bytes);
                Answer::of(&true)
            }
            f::auth::SendCode::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::auth::SendCode>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let Some(account) = self.accounts.get(&req.phone_number) else {
                    return Answer::Error(400, "PHONE_NUMBER_INVALID".into());
                };
                let this_dc = lock(&self.state).this_dc;
                if let Some(dc) = account.home_dc.filter(|dc| *dc != this_dc) {
                    return Answer::Error(303, format!("PHONE_MIGRATE_{dc}"));
                }
                lock(&self.state).code_sent_to = Some(req.phone_number.clone());
                Answer::of(&tl::enums::auth::SentCode::Code(
                    tl::types::auth::SentCode {
                        phone_code_hash: format!("hash-{}", req.phone_number),
                        ..d::auth_sent_code(tl::enums::auth::SentCodeType::App(
                            tl::types::auth::SentCodeTypeApp { length: 5 },
                        ))
                    },
                ))
            }
            f::auth::SignIn::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::auth::SignIn>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let Some(account) = self.accounts.get(&req.phone_number).cloned() else {
                    return Answer::Error(400, "PHONE_NUMBER_INVALID".into());
                };
                if req.phone_code_hash != format!("hash-{}", req.phone_number) {
                    return Answer::Error(400, "PHONE_CODE_HASH_EMPTY".into());
                }
                match req.phone_code.as_deref() {
                    Some(CODE) => {}
                    Some(EXPIRED_CODE) => return Answer::Error(400, "PHONE_CODE_EXPIRED".into()),
                    _ => return Answer::Error(400, "PHONE_CODE_INVALID".into()),
                }
                if account.password.is_some() {
                    lock(&self.state).code_sent_to = Some(req.phone_number.clone());
                    return Answer::Error(401, "SESSION_PASSWORD_NEEDED".into());
                }
                self.authorized(account.user)
            }
            f::account::GetPassword::CONSTRUCTOR_ID => {
                let mut s = lock(&self.state);
                let Some(phone) = s.code_sent_to.clone() else {
                    return Answer::Error(401, "AUTH_KEY_UNREGISTERED".into());
                };
                let Some(password) = self.accounts.get(&phone).and_then(|a| a.password.clone())
                else {
                    return Answer::Error(400, "PASSWORD_MISSING".into());
                };
                let mut b = [0u8; 256];
                rand::fill(&mut b[..]);
                let c = crate::srp::Challenge::new(&password, vec![11; 40], vec![22; 16], b);
                let srp_id = i64::from(now());
                let answer = tl::types::account::Password {
                    has_password: true,
                    current_algo: Some(
                        tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
                            salt1: c.salt1.clone(),
                            salt2: c.salt2.clone(),
                            g: crate::srp::G as i32,
                            p: crate::srp::p_bytes(),
                        }
                        .into(),
                    ),
                    srp_b: Some(c.g_b.to_vec()),
                    srp_id: Some(srp_id),
                    hint: Some("kedinin adı".into()),
                    secure_random: vec![5; 32],
                    ..d::account_password(
                        tl::enums::PasswordKdfAlgo::Unknown,
                        tl::enums::SecurePasswordKdfAlgo::Unknown,
                    )
                };
                s.challenge = Some((srp_id, phone, c));
                Answer::of(&tl::enums::account::Password::Password(answer))
            }
            f::auth::CheckPassword::CONSTRUCTOR_ID => {
                let Some(req) = call.decode::<f::auth::CheckPassword>() else {
                    return Answer::Error(400, "INPUT_REQUEST_INVALID".into());
                };
                let tl::enums::InputCheckPasswordSrp::Srp(srp) = req.password else {
                    return Answer::Error(400, "PASSWORD_HASH_INVALID".into());
                };
                let verified = {
                    let s = lock(&self.state);
                    match &s.challenge {
                        Some((id, phone, c)) if *id == srp.srp_id && c.verify(&srp.a, &srp.m1) => {
                            Some(phone.clone())
                        }
                        Some((id, _, _)) if *id != srp.srp_id => {
                            return Answer::Error(400, "SRP_ID_INVALID".into());
                        }
                        _ => None,
                    }
                };
                match verified.and_then(|p| self.accounts.get(&p).cloned()) {
                    Some(a) => self.authorized(a.user),
                    None => Answer::Error(400, "PASSWORD_HASH_INVALID".into()),
                }
            }
            f::auth::ExportLoginToken::CONSTRUCTOR_ID => {
                let (scanned, migrate) = {
                    let mut s = lock(&self.state);
                    (s.qr_scanned_by.take(), s.qr_migrate_to.take())
                };
                if let Some(dc_id) = migrate {
                    let token = lock(&self.state).qr_token.clone().unwrap_or_default();
                    return Answer::of(&tl::enums::auth::LoginToken::MigrateTo(
                        tl::types::auth::LoginTokenMigrateTo { dc_id, token },
                    ));
                }
                match scanned {
                    Some(user) => self.token_or_password(user),
                    None => {
                        let mut token = vec![0u8; 16];
                        rand::fill(&mut token[..]);
                        lock(&self.state).qr_token = Some(token.clone());
                        Answer::of(&tl::enums::auth::LoginToken::Token(
                            tl::types::auth::LoginToken {
                                expires: now() + 30,
                                token,
                            },
                        ))
                    }
                }
            }
            f::auth::LogOut::CONSTRUCTOR_ID => {
                lock(&self.state).me = None;
                Answer::of(&tl::enums::auth::LoggedOut::Out(
                    tl::types::auth::LoggedOut {
                        future_auth_token: None,
                    },
                ))
            }
            _ => Answer::Error(400, format!("FAKE_DC_UNSUPPORTED_{}", call.name)),
        }
    }
}
