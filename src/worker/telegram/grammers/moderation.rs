//! What the group rules do through a session: delete members' messages, mute and remove
//! members, answer button presses, and list a group's admins.

use super::*;

/// A change of a member's rights in a supergroup.
pub(super) enum Banned {
    /// No writing until then (Unix seconds; 0: until lifted).
    Mute(i64),
    /// Writing allowed again.
    Lift,
    /// Out of the group (until lifted).
    Out,
}

fn banned_rights(b: &Banned) -> tl::enums::ChatBannedRights {
    let (view, send, until) = match b {
        Banned::Mute(until) => (false, true, *until),
        Banned::Lift => (false, false, 0),
        Banned::Out => (true, true, 0),
    };
    tl::types::ChatBannedRights {
        view_messages: view,
        send_messages: send,
        send_media: send,
        send_stickers: send,
        send_gifs: send,
        send_games: send,
        send_inline: send,
        embed_links: send,
        send_polls: send,
        change_info: false,
        invite_users: false,
        pin_messages: false,
        manage_topics: false,
        send_photos: send,
        send_videos: send,
        send_roundvideos: send,
        send_audios: send,
        send_voices: send,
        send_docs: send,
        send_plain: send,
        edit_rank: false,
        send_reactions: false,
        manage_linked_peers: false,
        until_date: i32::try_from(until).unwrap_or(0),
    }
    .into()
}

/// Telegram's refusal of a moderation call says which right is missing, where (a post's
/// refusal means "cannot post"; here it means "not an admin with this right").
fn refused(e: PortError, chat_id: i64, right: &str) -> PortError {
    match e {
        PortError::Forbidden(_) => PortError::Other(format!(
            "Telegram refused: the session is not an admin allowed to {right} in chat {chat_id}"
        )),
        e => e,
    }
}

impl Grammers {
    /// Remembers members' access hashes from an update's users.
    pub(super) fn remember_users(&mut self, users: &[tl::enums::User]) {
        for u in users {
            if let tl::enums::User::User(u) = u
                && let Some(hash) = u.access_hash.filter(|_| !u.min)
            {
                if self.users.len() >= USERS_KEPT && !self.users.contains_key(&u.id) {
                    self.users.clear();
                }
                self.users.insert(u.id, hash);
            }
        }
    }

    fn input_user(&self, user_id: i64) -> Result<tl::types::InputUser, PortError> {
        let access_hash = self
            .users
            .get(&user_id)
            .copied()
            .ok_or_else(|| PortError::Other(format!("member {user_id} not seen yet")))?;
        Ok(tl::types::InputUser {
            user_id,
            access_hash,
        })
    }

    fn channel(&self, chat_id: i64) -> Result<Option<tl::enums::InputChannel>, PortError> {
        Ok(match self.peer(chat_id)? {
            tl::enums::InputPeer::Channel(c) => Some(
                tl::types::InputChannel {
                    channel_id: c.channel_id,
                    access_hash: c.access_hash,
                }
                .into(),
            ),
            _ => None,
        })
    }

    pub(super) async fn delete_many(
        &mut self,
        chat_id: i64,
        message_ids: &[i64],
    ) -> Result<(), PortError> {
        let id: Vec<i32> = message_ids
            .iter()
            .filter_map(|m| i32::try_from(*m).ok())
            .collect();
        if id.is_empty() {
            return Ok(());
        }
        match self.channel(chat_id)? {
            Some(channel) => {
                let req = tl::functions::channels::DeleteMessages { channel, id };
                self.call(|| self.client.invoke(&req))
                    .await
                    .map(|_| ())
                    .map_err(|e| refused(e, chat_id, "delete messages"))
            }
            None => {
                let req = tl::functions::messages::DeleteMessages { revoke: true, id };
                self.call(|| self.client.invoke(&req))
                    .await
                    .map(|_| ())
                    .map_err(|e| refused(e, chat_id, "delete messages"))
            }
        }
    }

    /// Basic groups have no per-member rights: only removal works there.
    pub(super) async fn edit_banned(
        &mut self,
        chat_id: i64,
        user_id: i64,
        b: Banned,
    ) -> Result<(), PortError> {
        let Some(channel) = self.channel(chat_id)? else {
            return Err(PortError::Other(
                "members can be muted in supergroups only".into(),
            ));
        };
        let user = self.input_user(user_id)?;
        let req = tl::functions::channels::EditBanned {
            channel,
            participant: tl::types::InputPeerUser {
                user_id: user.user_id,
                access_hash: user.access_hash,
            }
            .into(),
            banned_rights: banned_rights(&b),
        };
        self.call(|| self.client.invoke(&req))
            .await
            .map(|_| ())
            .map_err(|e| refused(e, chat_id, "ban users"))
    }

    /// Removes a member who may join again: banned, then the ban lifted.
    pub(super) async fn remove_member(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<(), PortError> {
        if self.channel(chat_id)?.is_some() {
            self.edit_banned(chat_id, user_id, Banned::Out).await?;
            return self.edit_banned(chat_id, user_id, Banned::Lift).await;
        }
        let user = self.input_user(user_id)?;
        let req = tl::functions::messages::DeleteChatUser {
            revoke_history: false,
            chat_id: -chat_id,
            user_id: user.into(),
        };
        self.call(|| self.client.invoke(&req))
            .await
            .map(|_| ())
            .map_err(|e| refused(e, chat_id, "ban users"))
    }

    pub(super) async fn chat_admins(&mut self, chat_id: i64) -> Result<Vec<i64>, PortError> {
        let Some(channel) = self.channel(chat_id)? else {
            let req = tl::functions::messages::GetFullChat { chat_id: -chat_id };
            let full = self.call(|| self.client.invoke(&req)).await?;
            let tl::enums::messages::ChatFull::Full(full) = full;
            let tl::enums::ChatFull::Full(chat) = full.full_chat else {
                return Ok(Vec::new());
            };
            let tl::enums::ChatParticipants::Participants(p) = chat.participants else {
                return Ok(Vec::new());
            };
            return Ok(p
                .participants
                .iter()
                .filter_map(|p| match p {
                    tl::enums::ChatParticipant::Creator(c) => Some(c.user_id),
                    tl::enums::ChatParticipant::Admin(a) => Some(a.user_id),
                    _ => None,
                })
                .collect());
        };
        let req = tl::functions::channels::GetParticipants {
            channel,
            filter: tl::enums::ChannelParticipantsFilter::ChannelParticipantsAdmins,
            offset: 0,
            limit: 200,
            hash: 0,
        };
        let tl::enums::channels::ChannelParticipants::Participants(p) =
            self.call(|| self.client.invoke(&req)).await?
        else {
            return Ok(Vec::new());
        };
        self.remember_users(&p.users);
        Ok(p.participants
            .iter()
            .filter_map(|p| match p {
                tl::enums::ChannelParticipant::Creator(c) => Some(c.user_id),
                tl::enums::ChannelParticipant::Admin(a) => Some(a.user_id),
                _ => None,
            })
            .collect())
    }
}
