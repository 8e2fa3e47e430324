//! The real Telegram port, on grammers-client 0.11. The session lives in memory, seeded with
//! what the supervisor sent (datacenter, address, auth key); every call has a timeout (the
//! crate has none); flood waits up to a threshold are slept in place and longer ones are
//! returned; a rejected or replaced auth key is reported as `Revoked`.
//!
//! Dialogs, sending and incoming updates use the raw API, so the domain mapping and the
//! `random_id` of each send stay in our hands.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use grammers_client::sender::{
    ConnectionParams, NoRetries, SenderPoolHandle, UpdatesConfiguration, UpdatesReceiver,
};
use grammers_client::session::storages::{ErasedSession, MemorySession};
use grammers_client::session::types::{
    ChannelState, DcOption, PeerAuth, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_client::session::updates::UpdatesLike;
use grammers_client::session::{Session, SessionData};
use grammers_client::{Client, InvocationError, SenderPool, tl};
use tokio::sync::mpsc;

use super::{
    ChatKind, Dialog, IncomingEvent, Me, MessageKind, OutgoingMessage, PortError, SentMessage,
    SyncState, TelegramPort, UserRef,
};

pub use super::Markup;

mod login;
mod moderation;
mod payments;
mod sending;
mod updates;

use login::me_of;
pub use login::{CodeToken, LoginError, QrCode, QrStep};
use moderation::Banned;

#[derive(Clone)]
pub struct GrammersConfig {
    pub api_id: i32,
    pub api_hash: String,
    pub dc_id: i32,
    pub addr: SocketAddrV4,
    /// The session's key; `None` makes the client run a key exchange (real Telegram only).
    pub auth_key: Option<[u8; 256]>,
    /// Signs in as this bot when set; otherwise the session is already logged in.
    pub bot_token: Option<String>,
    /// Longest any single call may take.
    pub call_timeout: Duration,
    /// Flood waits up to this many seconds are slept in place.
    pub flood_sleep_max: u32,
    pub markup: Markup,
    /// `socks5://[user:password@]ip:port`.
    pub proxy: Option<String>,
    /// Where the session left off: it asks Telegram for what it missed since.
    pub resume: Option<SyncState>,
    /// Test datacenters only: the key to use on a datacenter the login moves to (a fake
    /// cannot do a key exchange, since Telegram's RSA keys are pinned in the client).
    pub seed_key: Option<[u8; 256]>,
}

/// A connected grammers client.
pub struct Grammers {
    cfg: GrammersConfig,
    client: Client,
    session: Arc<MemorySession>,
    erased: Arc<ErasedSession>,
    handle: SenderPoolHandle,
    runner: tokio::task::JoinHandle<()>,
    /// Raw updates until the stream below takes them over (logins read them directly).
    raw_updates: Option<mpsc::Receiver<UpdatesLike>>,
    /// grammers' ordered update stream: it finds gaps and asks for the difference.
    stream: Option<UpdatesReceiver>,
    /// Chats seen in dialogs or updates, by Bot API id, with what it takes to address them.
    peers: HashMap<i64, tl::enums::InputPeer>,
    pending: std::collections::VecDeque<IncomingEvent>,
    /// Files uploaded for campaign posts, by media file name, with when: one upload serves
    /// every group of a run (Telegram keeps uploaded parts for about a day).
    uploads: HashMap<String, (tl::enums::InputFile, std::time::Instant)>,
    /// Access hashes of the members seen in group updates, for the rules' restrictions.
    users: HashMap<i64, i64>,
}

/// Members whose access hash a session keeps; past it the map starts again (a member who
/// writes again is learned again).
const USERS_KEPT: usize = 50_000;

/// What a session may do as an admin, from the chat's own view of it.
fn rights_of(
    creator: bool,
    rights: Option<&tl::enums::ChatAdminRights>,
) -> crate::worker::telegram::AdminRights {
    if creator {
        return crate::worker::telegram::AdminRights::ALL;
    }
    match rights {
        Some(tl::enums::ChatAdminRights::Rights(r)) => crate::worker::telegram::AdminRights {
            delete_messages: r.delete_messages,
            ban_users: r.ban_users,
        },
        None => crate::worker::telegram::AdminRights::default(),
    }
}

/// How long an uploaded file is used again before it is uploaded anew.
const UPLOAD_REUSE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

impl Grammers {
    /// How to address a chat seen in the dialogs or updates.
    fn peer(&self, chat_id: i64) -> Result<tl::enums::InputPeer, PortError> {
        self.peers
            .get(&chat_id)
            .cloned()
            .ok_or(PortError::ChatNotFound(chat_id))
    }
}

impl Drop for Grammers {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

/// Bot API style id of a chat: `-id` for basic groups, `-100…` for channels.
fn chat_id_of(peer: &tl::enums::Peer) -> Option<i64> {
    match peer {
        tl::enums::Peer::Chat(c) => Some(-c.chat_id),
        tl::enums::Peer::Channel(c) => Some(-1_000_000_000_000 - c.channel_id),
        tl::enums::Peer::User(_) => None,
    }
}

/// The datacenter a `*_MIGRATE_n` answer (303) sends the account to, when `e` is one.
fn migrate_target(e: &InvocationError) -> Option<Result<i32, PortError>> {
    match e {
        InvocationError::Rpc(r) if r.code == 303 => Some(
            r.value
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| PortError::Other(format!("{} without a datacenter", r.name))),
        ),
        _ => None,
    }
}

/// The account a sign-in answered with.
fn me_from_user(user: tl::enums::User) -> Result<Me, PortError> {
    match user {
        tl::enums::User::User(u) => Ok(Me {
            user_id: u.id,
            username: u.username,
            is_bot: u.bot,
        }),
        tl::enums::User::Empty(_) => Err(PortError::Other("Telegram sent an empty user".into())),
    }
}

fn map_error(e: InvocationError) -> PortError {
    match e {
        InvocationError::Rpc(r) => {
            if r.is("FLOOD_WAIT") || r.is("FLOOD_PREMIUM_WAIT") {
                return PortError::FloodWait(r.value.unwrap_or(1));
            }
            if r.is("SLOWMODE_WAIT") {
                return PortError::SlowMode(r.value.unwrap_or(1));
            }
            match r.name.as_str() {
                "AUTH_KEY_UNREGISTERED"
                | "AUTH_KEY_INVALID"
                | "SESSION_REVOKED"
                | "SESSION_EXPIRED"
                | "USER_DEACTIVATED"
                | "USER_DEACTIVATED_BAN"
                | "AUTH_KEY_DUPLICATED" => PortError::Revoked,
                "SESSION_PASSWORD_NEEDED" => PortError::PasswordNeeded,
                "ACCESS_TOKEN_INVALID" | "ACCESS_TOKEN_EXPIRED" | "BOT_TOKEN_INVALID" => {
                    PortError::Rejected("the bot token is not valid".into())
                }
                "CHAT_WRITE_FORBIDDEN"
                | "CHAT_ADMIN_REQUIRED"
                | "USER_BANNED_IN_CHANNEL"
                | "CHANNEL_PRIVATE"
                | "CHAT_RESTRICTED"
                | "MESSAGE_DELETE_FORBIDDEN"
                | "RIGHT_FORBIDDEN"
                | "USER_ADMIN_INVALID" => PortError::Forbidden(0),
                "PEER_ID_INVALID" | "CHANNEL_INVALID" | "CHAT_ID_INVALID" => {
                    PortError::ChatNotFound(0)
                }
                _ => PortError::Other(format!("{} ({})", r.name, r.code)),
            }
        }
        // Telegram's transport answer for an auth key it does not know (revoked, or the
        // account deleted).
        InvocationError::Transport(grammers_mtproto::transport::Error::BadStatus {
            status: 404,
        }) => PortError::Revoked,
        InvocationError::Io(e) => PortError::Network(e.to_string()),
        other => PortError::Network(other.to_string()),
    }
}

impl Grammers {
    /// Builds the client over an in-memory session seeded with the given key. Nothing is sent
    /// until the first call.
    pub fn new(cfg: GrammersConfig) -> Self {
        let mut data = SessionData {
            home_dc: cfg.dc_id,
            ..Default::default()
        };
        data.dc_options.insert(
            cfg.dc_id,
            DcOption {
                id: cfg.dc_id,
                ipv4: cfg.addr,
                ipv6: SocketAddrV6::new(cfg.addr.ip().to_ipv6_mapped(), cfg.addr.port(), 0, 0),
                auth_key: cfg.auth_key,
            },
        );
        let mut peers = HashMap::new();
        if let Some(r) = &cfg.resume {
            data.updates_state = UpdatesState {
                pts: r.pts,
                qts: r.qts,
                date: r.date,
                seq: r.seq,
                channels: r
                    .channels
                    .iter()
                    .map(|&(id, pts)| ChannelState { id, pts })
                    .collect(),
            };
            for &(id, hash) in &r.access_hashes {
                let Some(peer) = PeerId::channel(id) else {
                    continue;
                };
                data.peer_infos.insert(
                    peer,
                    PeerInfo::Channel {
                        id,
                        auth: Some(PeerAuth::from_hash(hash)),
                        kind: None,
                    },
                );
                peers.insert(
                    -1_000_000_000_000 - id,
                    tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
                        channel_id: id,
                        access_hash: hash,
                    }),
                );
            }
        }
        let session = Arc::new(MemorySession::from(data));
        let params = ConnectionParams {
            device_model: "botyard".into(),
            system_version: "Linux".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            // Flood waits are ours to decide on (sleep or report), not the library's.
            retry_policy: Box::new(NoRetries),
            proxy_url: cfg.proxy.clone(),
            ..Default::default()
        };
        let pool = SenderPool::with_configuration(session.clone(), cfg.api_id, params);
        let (handle, erased) = (pool.handle.thin.clone(), pool.handle.session.clone());
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        Grammers {
            cfg,
            client,
            session,
            erased,
            handle,
            runner,
            raw_updates: Some(pool.updates),
            stream: None,
            peers,
            pending: Default::default(),
            uploads: HashMap::new(),
            users: HashMap::new(),
        }
    }

    /// Makes `dc` the session's home (Telegram said the account or login lives there).
    async fn move_home(&self, dc: i32) -> Result<(), PortError> {
        let store = |e: grammers_client::session::storages::MemorySessionError| {
            PortError::Other(format!("session store: {e}"))
        };
        let old = self.session.home_dc_id().map_err(store)?;
        let Some(mut option) = self.session.dc_option(dc).map_err(store)? else {
            return Err(PortError::Other(format!(
                "Telegram moved the login to datacenter {dc}, which it never described"
            )));
        };
        if option.auth_key.is_none()
            && let Some(key) = self.cfg.seed_key
        {
            option.auth_key = Some(key);
            self.session.set_dc_option(&option).await.map_err(store)?;
        }
        // The old connection is of no more use; the next call connects to the new home.
        self.handle.disconnect_from_dc(old);
        self.session.set_home_dc_id(dc).await.map_err(store)?;
        tracing::info!(from = old, to = dc, "login moved to another datacenter");
        Ok(())
    }

    /// Where the session lives now and with which key (after a key exchange or a move to the
    /// account's own datacenter).
    pub fn location(&self) -> Option<(i32, std::net::SocketAddr, [u8; 256])> {
        let dc = self.session.home_dc_id().ok()?;
        let o = self.session.dc_option(dc).ok().flatten()?;
        Some((dc, std::net::SocketAddr::V4(o.ipv4), o.auth_key?))
    }

    /// The auth key the session holds now (grammers replaces it after a -404).
    pub fn current_key(&self) -> Option<[u8; 256]> {
        self.session
            .dc_option(self.cfg.dc_id)
            .ok()
            .flatten()
            .and_then(|o| o.auth_key)
    }

    /// Runs one call with the timeout, sleeping through short flood waits (once) and
    /// following the account to the datacenter a `*_MIGRATE_n` answer names (once).
    async fn call<R, F, Fut>(&self, mut f: F) -> Result<R, PortError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<R, InvocationError>>,
    {
        let (mut slept, mut moved) = (false, false);
        loop {
            let r = match tokio::time::timeout(self.cfg.call_timeout, f()).await {
                Ok(Err(e)) => match migrate_target(&e) {
                    Some(dc) if !moved => {
                        self.move_home(dc?).await?;
                        moved = true;
                        continue;
                    }
                    _ => Err(map_error(e)),
                },
                Ok(Ok(v)) => Ok(v),
                Err(_) => Err(self.timed_out()),
            };
            match r {
                Err(PortError::FloodWait(s)) if !slept && s <= self.cfg.flood_sleep_max => {
                    slept = true;
                    tokio::time::sleep(Duration::from_secs(u64::from(s))).await;
                }
                Err(e) => return Err(self.revoked_if_key_replaced(e)),
                ok => return ok,
            }
        }
    }

    /// grammers answers a -404 by making a new key on its own: to the product that session
    /// is revoked, whatever error surfaced.
    fn revoked_if_key_replaced(&self, e: PortError) -> PortError {
        if self.cfg.auth_key.is_some() && self.current_key() != self.cfg.auth_key {
            PortError::Revoked
        } else {
            e
        }
    }
}

impl TelegramPort for Grammers {
    async fn login(&mut self) -> Result<Me, PortError> {
        let me = match self.cfg.bot_token.clone() {
            Some(token) => self.bot_sign_in(&token).await?,
            None => me_of(&self.call(|| self.client.get_me()).await?)?,
        };
        // A session with nothing to resume from starts counting from now.
        let fresh = self.cfg.resume.as_ref().is_none_or(|r| r.pts == 0);
        if fresh
            && let Ok(tl::enums::updates::State::State(st)) = self
                .call(|| self.client.invoke(&tl::functions::updates::GetState {}))
                .await
        {
            let all = UpdateState::All(UpdatesState {
                pts: st.pts,
                qts: st.qts,
                date: st.date,
                seq: st.seq,
                channels: Vec::new(),
            });
            if self.session.set_update_state(all).await.is_err() {
                tracing::warn!("cannot keep the update state in the session store");
            }
        }
        Ok(me)
    }

    async fn export_invoice(&mut self, invoice: &super::StarsInvoice) -> Result<String, PortError> {
        self.invoice_link(invoice).await
    }

    async fn answer_precheckout(
        &mut self,
        query_id: i64,
        error: Option<&str>,
    ) -> Result<(), PortError> {
        self.precheckout_answer(query_id, error).await
    }

    async fn refund_stars(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
    ) -> Result<(), PortError> {
        self.refund(user_id, access_hash, charge_id).await
    }

    async fn stars_transactions(&mut self, offset: &str) -> Result<super::StarsPage, PortError> {
        self.history(offset).await
    }

    async fn cancel_stars_subscription(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
        restore: bool,
    ) -> Result<(), PortError> {
        let req = tl::functions::payments::BotCancelStarsSubscription {
            restore,
            user_id: tl::types::InputUser {
                user_id,
                access_hash,
            }
            .into(),
            charge_id: charge_id.to_string(),
        };
        self.call(|| self.client.invoke(&req)).await?;
        Ok(())
    }

    async fn set_menu_app(&mut self, text: &str, url: &str) -> Result<(), PortError> {
        // An empty user sets the default for everyone.
        let req = tl::functions::bots::SetBotMenuButton {
            user_id: tl::enums::InputUser::Empty,
            button: tl::types::BotMenuButton {
                text: text.to_string(),
                url: url.to_string(),
            }
            .into(),
        };
        self.call(|| self.client.invoke(&req)).await?;
        Ok(())
    }

    async fn dialogs(&mut self) -> Result<Vec<Dialog>, PortError> {
        let req = tl::functions::messages::GetDialogs {
            exclude_pinned: false,
            folder_id: None,
            offset_date: 0,
            offset_id: 0,
            offset_peer: tl::enums::InputPeer::Empty,
            limit: 100,
            hash: 0,
        };
        let chats = match self.call(|| self.client.invoke(&req)).await? {
            tl::enums::messages::Dialogs::Dialogs(d) => d.chats,
            tl::enums::messages::Dialogs::Slice(d) => d.chats,
            tl::enums::messages::Dialogs::NotModified(_) => Vec::new(),
        };
        self.remember_chats(&chats).await;
        Ok(chats
            .iter()
            .filter_map(|c| match c {
                tl::enums::Chat::Chat(g) => Some(Dialog {
                    chat_id: -g.id,
                    title: g.title.clone(),
                    kind: ChatKind::Group,
                    members: u32::try_from(g.participants_count).unwrap_or(0),
                    can_post: !g.left && !g.deactivated,
                    is_admin: g.creator || g.admin_rights.is_some(),
                    rights: rights_of(g.creator, g.admin_rights.as_ref()),
                    slow_mode_secs: 0,
                }),
                tl::enums::Chat::Channel(ch) => Some(Dialog {
                    chat_id: -1_000_000_000_000 - ch.id,
                    title: ch.title.clone(),
                    kind: if ch.megagroup {
                        ChatKind::Supergroup
                    } else {
                        ChatKind::Channel
                    },
                    members: ch
                        .participants_count
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(0),
                    can_post: !ch.left && (ch.megagroup || ch.creator || ch.admin_rights.is_some()),
                    is_admin: ch.creator || ch.admin_rights.is_some(),
                    rights: rights_of(ch.creator, ch.admin_rights.as_ref()),
                    slow_mode_secs: 0,
                }),
                _ => None,
            })
            .collect())
    }

    async fn send(&mut self, msg: OutgoingMessage) -> Result<SentMessage, PortError> {
        self.send_message(msg).await
    }

    async fn next_event(&mut self) -> Result<IncomingEvent, PortError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            if self.stream.is_none() {
                let raw = self.raw_updates.take().ok_or_else(|| {
                    PortError::Network("the connection to Telegram closed".into())
                })?;
                // Loads the stored (or just fetched) state and asks for what was missed.
                let stream = UpdatesReceiver::create(
                    self.handle.clone(),
                    self.erased.clone(),
                    raw,
                    UpdatesConfiguration { catch_up: true },
                )
                .await
                .map_err(|e| PortError::Other(format!("update stream: {e}")))?;
                self.stream = Some(stream);
            }
            let Some(stream) = self.stream.as_mut() else {
                continue;
            };
            let (updates, users, chats) = stream.next().await.map_err(map_error)?;
            let list = updates.into_iter().map(|(u, _)| u).collect();
            let events = self.events_of(list, users, chats).await;
            self.pending.extend(events);
        }
    }

    async fn keepalive(&mut self) -> Result<(), PortError> {
        let ping = tl::functions::Ping {
            ping_id: rand::random(),
        };
        self.call(|| self.client.invoke(&ping)).await.map(|_| ())
    }

    async fn sync_state(&mut self) -> Option<SyncState> {
        let stream = self.stream.as_ref()?;
        if stream.sync_update_state().await.is_err() {
            return None;
        }
        let st = self.session.updates_state().await.ok()?;
        let mut channels: Vec<(i64, i32)> = st.channels.iter().map(|c| (c.id, c.pts)).collect();
        channels.sort_unstable();
        let mut access_hashes: Vec<(i64, i64)> = self
            .peers
            .values()
            .filter_map(|p| match p {
                tl::enums::InputPeer::Channel(c) => Some((c.channel_id, c.access_hash)),
                _ => None,
            })
            .collect();
        access_hashes.sort_unstable();
        Some(SyncState {
            pts: st.pts,
            qts: st.qts,
            date: st.date,
            seq: st.seq,
            channels,
            access_hashes,
        })
    }

    async fn logout(&mut self) -> Result<(), PortError> {
        self.call(|| self.client.sign_out()).await.map(|_| ())
    }

    async fn delete_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        let peer = self.peer(chat_id)?;
        let id = i32::try_from(message_id).map_err(|_| PortError::Other("message id".into()))?;
        match peer {
            tl::enums::InputPeer::Channel(c) => {
                let req = tl::functions::channels::DeleteMessages {
                    channel: tl::types::InputChannel {
                        channel_id: c.channel_id,
                        access_hash: c.access_hash,
                    }
                    .into(),
                    id: vec![id],
                };
                self.call(|| self.client.invoke(&req)).await.map(|_| ())
            }
            _ => {
                let req = tl::functions::messages::DeleteMessages {
                    revoke: true,
                    id: vec![id],
                };
                self.call(|| self.client.invoke(&req)).await.map(|_| ())
            }
        }
    }

    async fn delete_messages(
        &mut self,
        chat_id: i64,
        message_ids: &[i64],
    ) -> Result<(), PortError> {
        self.delete_many(chat_id, message_ids).await
    }

    async fn restrict(
        &mut self,
        chat_id: i64,
        user_id: i64,
        until: Option<i64>,
    ) -> Result<(), PortError> {
        self.edit_banned(
            chat_id,
            user_id,
            until.map(Banned::Mute).unwrap_or(Banned::Lift),
        )
        .await
    }

    async fn kick(&mut self, chat_id: i64, user_id: i64) -> Result<(), PortError> {
        self.remove_member(chat_id, user_id).await
    }

    async fn answer_button(&mut self, query_id: i64, text: Option<&str>) -> Result<(), PortError> {
        let req = tl::functions::messages::SetBotCallbackAnswer {
            alert: false,
            query_id,
            message: text.map(str::to_string),
            url: None,
            cache_time: 0,
        };
        self.call(|| self.client.invoke(&req)).await.map(|_| ())
    }

    async fn admins(&mut self, chat_id: i64) -> Result<Vec<i64>, PortError> {
        self.chat_admins(chat_id).await
    }

    async fn pin_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        let peer = self.peer(chat_id)?;
        let id = i32::try_from(message_id).map_err(|_| PortError::Other("message id".into()))?;
        let req = tl::functions::messages::UpdatePinnedMessage {
            silent: true,
            unpin: false,
            pm_oneside: false,
            peer,
            id,
        };
        self.call(|| self.client.invoke(&req)).await.map(|_| ())
    }

    fn location(&self) -> Option<(i32, std::net::SocketAddr, [u8; 256])> {
        Grammers::location(self)
    }
}

/// An address for the fake datacenter or a real one, as the session wants it.
pub fn v4(addr: std::net::SocketAddr) -> Option<SocketAddrV4> {
    match addr {
        std::net::SocketAddr::V4(a) => Some(a),
        std::net::SocketAddr::V6(a) => a
            .ip()
            .to_ipv4_mapped()
            .map(|ip: Ipv4Addr| SocketAddrV4::new(ip, a.port())),
    }
}
