//! Incoming updates: remembering how to address chats, turning updates into events (messages,
//! joins and leaves, member counts, bot commands).

use super::*;

impl Grammers {
    /// Keeps what it takes to address each chat; supergroups also go into the session, where
    /// the update stream needs their access hash to ask for what it missed.
    pub(super) async fn remember_chats(&mut self, chats: &[tl::enums::Chat]) {
        let mut infos = Vec::new();
        for c in chats {
            match c {
                tl::enums::Chat::Chat(g) => {
                    self.peers.insert(
                        -g.id,
                        tl::enums::InputPeer::Chat(tl::types::InputPeerChat { chat_id: g.id }),
                    );
                }
                tl::enums::Chat::Channel(ch) => {
                    // A min channel carries no usable hash: keep the one already known.
                    let Some(hash) = ch.access_hash.filter(|_| !ch.min) else {
                        continue;
                    };
                    self.peers.insert(
                        -1_000_000_000_000 - ch.id,
                        tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
                            channel_id: ch.id,
                            access_hash: hash,
                        }),
                    );
                    if PeerId::channel(ch.id).is_some() {
                        infos.push(PeerInfo::Channel {
                            id: ch.id,
                            auth: Some(PeerAuth::from_hash(hash)),
                            kind: None,
                        });
                    }
                }
                _ => {}
            }
        }
        if !infos.is_empty() && self.session.cache_peers(infos).await.is_err() {
            tracing::warn!("cannot keep chats in the session store");
        }
    }

    pub(super) async fn events_of(
        &mut self,
        list: Vec<tl::enums::Update>,
        users: Vec<tl::enums::User>,
        chats: Vec<tl::enums::Chat>,
    ) -> Vec<IncomingEvent> {
        self.remember_chats(&chats).await;
        self.remember_users(&users);
        let hashes: HashMap<i64, i64> = users
            .iter()
            .filter_map(|u| match u {
                tl::enums::User::User(u) => Some((u.id, u.access_hash.unwrap_or(0))),
                _ => None,
            })
            .collect();
        let users: HashMap<i64, UserRef> = users
            .into_iter()
            .filter_map(|u| match u {
                tl::enums::User::User(u) => Some((
                    u.id,
                    UserRef {
                        id: u.id,
                        first_name: u.first_name.unwrap_or_default(),
                        last_name: u.last_name,
                        username: u.username,
                    },
                )),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for up in list {
            let message = match up {
                tl::enums::Update::BotPrecheckoutQuery(q) if self.cfg.bot_token.is_some() => {
                    out.extend(super::payments::precheckout_of(&q, &users));
                    continue;
                }
                tl::enums::Update::BotCallbackQuery(q) if self.cfg.bot_token.is_some() => {
                    out.extend(button_of(&q, &users));
                    continue;
                }
                tl::enums::Update::NewMessage(m) => m.message,
                tl::enums::Update::NewChannelMessage(m) => m.message,
                _ => continue,
            };
            let (chat, id, from, kind, at) = match &message {
                // The session's own posts (campaign deliveries come back this way) are counted
                // by their delivery records, not as group activity.
                tl::enums::Message::Message(m) if m.out => continue,
                tl::enums::Message::Message(m) => (
                    chat_id_of(&m.peer_id),
                    m.id,
                    m.from_id.clone(),
                    if m.media.is_some() {
                        MessageKind::Media
                    } else {
                        MessageKind::Text
                    },
                    m.date,
                ),
                tl::enums::Message::Service(m) => (
                    chat_id_of(&m.peer_id),
                    m.id,
                    m.from_id.clone(),
                    MessageKind::Service,
                    m.date,
                ),
                tl::enums::Message::Empty(_) => continue,
            };
            let Some(chat_id) = chat else {
                if let Some(e) = self.command_of(&message, &users, &hashes) {
                    out.push(e);
                }
                if let tl::enums::Message::Service(m) = &message
                    && self.cfg.bot_token.is_some()
                {
                    out.extend(super::payments::paid_of(m, &users, &hashes));
                }
                continue;
            };
            if let tl::enums::Message::Service(m) = &message {
                out.extend(service_events(chat_id, m, &users));
            }
            let sender = match from {
                Some(tl::enums::Peer::User(u)) => {
                    users.get(&u.user_id).cloned().or(Some(UserRef {
                        id: u.user_id,
                        first_name: String::new(),
                        last_name: None,
                        username: None,
                    }))
                }
                _ => None,
            };
            out.push(IncomingEvent::Message {
                chat_id,
                message_id: i64::from(id),
                sender,
                kind,
                at: i64::from(at),
                content: content_of(&message),
            });
        }
        out
    }
}

impl Grammers {
    /// A command a user sent the bot in a private chat. Other private messages, and any to a
    /// user account, are not reported: they are not the product's to read.
    pub(super) fn command_of(
        &mut self,
        message: &tl::enums::Message,
        users: &HashMap<i64, UserRef>,
        hashes: &HashMap<i64, i64>,
    ) -> Option<IncomingEvent> {
        let tl::enums::Message::Message(m) = message else {
            return None;
        };
        let tl::enums::Peer::User(peer) = &m.peer_id else {
            return None;
        };
        if self.cfg.bot_token.is_none() || m.out {
            return None;
        }
        let (command, payload) = crate::worker::telegram::parse_command(&m.message)?;
        // Not remembered here: any user can write to a bot, and the answer carries the hash.
        let access_hash = hashes.get(&peer.user_id).copied().unwrap_or(0);
        let user = users.get(&peer.user_id).cloned().unwrap_or(UserRef {
            id: peer.user_id,
            first_name: String::new(),
            last_name: None,
            username: None,
        });
        Some(IncomingEvent::Command {
            user,
            access_hash,
            command,
            payload,
            at: i64::from(m.date),
        })
    }
}

/// Joins, leaves and title changes carried by a service message.
fn service_events(
    chat_id: i64,
    m: &tl::types::MessageService,
    users: &HashMap<i64, UserRef>,
) -> Vec<IncomingEvent> {
    let at = i64::from(m.date);
    let user = |id: i64| {
        users.get(&id).cloned().unwrap_or(UserRef {
            id,
            first_name: String::new(),
            last_name: None,
            username: None,
        })
    };
    let from = match &m.from_id {
        Some(tl::enums::Peer::User(u)) => Some(u.user_id),
        _ => None,
    };
    match &m.action {
        tl::enums::MessageAction::ChatAddUser(a) => a
            .users
            .iter()
            .map(|id| IncomingEvent::MemberJoined {
                chat_id,
                user: user(*id),
                at,
            })
            .collect(),
        tl::enums::MessageAction::ChatJoinedByLink(_)
        | tl::enums::MessageAction::ChatJoinedByRequest => from
            .map(|id| IncomingEvent::MemberJoined {
                chat_id,
                user: user(id),
                at,
            })
            .into_iter()
            .collect(),
        tl::enums::MessageAction::ChatDeleteUser(a) => vec![IncomingEvent::MemberLeft {
            chat_id,
            user: user(a.user_id),
            at,
        }],
        tl::enums::MessageAction::ChatEditTitle(t) => vec![IncomingEvent::ChatTitleChanged {
            chat_id,
            title: t.title.clone(),
            at,
        }],
        _ => Vec::new(),
    }
}

/// A group message's text and marks, for the rules (the worker keeps them to itself).
fn content_of(
    message: &tl::enums::Message,
) -> Option<Box<crate::worker::telegram::MessageContent>> {
    let tl::enums::Message::Message(m) = message else {
        return None;
    };
    let link = m.entities.as_ref().is_some_and(|e| {
        e.iter().any(|e| {
            matches!(
                e,
                tl::enums::MessageEntity::Url(_) | tl::enums::MessageEntity::TextUrl(_)
            )
        })
    });
    let channel_forward = m.fwd_from.as_ref().is_some_and(|f| {
        let tl::enums::MessageFwdHeader::Header(h) = f;
        matches!(h.from_id, Some(tl::enums::Peer::Channel(_)))
    });
    let mut text = m.message.clone();
    if text.len() > crate::worker::telegram::MESSAGE_TEXT_MAX {
        let mut end = crate::worker::telegram::MESSAGE_TEXT_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Some(Box::new(crate::worker::telegram::MessageContent {
        text,
        link,
        channel_forward,
    }))
}

/// A press of a callback button under the bot's message in a group.
fn button_of(
    q: &tl::types::UpdateBotCallbackQuery,
    users: &HashMap<i64, UserRef>,
) -> Option<IncomingEvent> {
    let chat_id = chat_id_of(&q.peer)?;
    let data = String::from_utf8(q.data.clone()?).ok()?;
    if data.len() > crate::worker::telegram::BUTTON_DATA_MAX {
        return None;
    }
    Some(IncomingEvent::Button {
        chat_id,
        message_id: i64::from(q.msg_id),
        user: users.get(&q.user_id).cloned().unwrap_or(UserRef {
            id: q.user_id,
            first_name: String::new(),
            last_name: None,
            username: None,
        }),
        query_id: q.query_id,
        data,
        at: jiff::Timestamp::now().as_second(),
    })
}
