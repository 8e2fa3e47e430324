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

    /// The media of a post: the file uploaded once (or again after a while), described as
    /// the photo, video or document it is.
    async fn upload(
        &mut self,
        file: &super::MediaFile,
        bytes: &[u8],
    ) -> Result<tl::enums::InputMedia, PortError> {
        let cached = self
            .uploads
            .get(&file.file)
            .filter(|(_, at)| at.elapsed() < UPLOAD_REUSE)
            .map(|(f, _)| f.clone());
        let input = match cached {
            Some(f) => f,
            None => {
                let mut stream = std::io::Cursor::new(bytes);
                let up = tokio::time::timeout(
                    // A minute, plus a second per MiB.
                    std::time::Duration::from_secs(60 + (bytes.len() as u64 >> 20)),
                    self.client
                        .upload_stream(&mut stream, bytes.len(), file.name.clone()),
                )
                .await
                .map_err(|_| PortError::Network("upload timed out".into()))?
                .map_err(|e| PortError::Network(format!("upload: {e}")))?;
                self.uploads.insert(
                    file.file.clone(),
                    (up.raw.clone(), std::time::Instant::now()),
                );
                up.raw
            }
        };
        let name: tl::enums::DocumentAttribute = tl::types::DocumentAttributeFilename {
            file_name: file.name.clone(),
        }
        .into();
        Ok(match file.kind {
            super::MediaKind::Photo => tl::types::InputMediaUploadedPhoto {
                spoiler: false,
                live_photo: false,
                file: input,
                stickers: None,
                ttl_seconds: None,
                video: None,
            }
            .into(),
            super::MediaKind::Video => tl::types::InputMediaUploadedDocument {
                nosound_video: false,
                force_file: false,
                spoiler: false,
                file: input,
                thumb: None,
                mime_type: file.mime.clone(),
                attributes: vec![
                    tl::types::DocumentAttributeVideo {
                        round_message: false,
                        supports_streaming: true,
                        nosound: false,
                        duration: 0.0,
                        w: 0,
                        h: 0,
                        preload_prefix_size: None,
                        video_start_ts: None,
                        video_codec: None,
                    }
                    .into(),
                    name,
                ],
                stickers: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            }
            .into(),
            super::MediaKind::Document => tl::types::InputMediaUploadedDocument {
                nosound_video: false,
                force_file: true,
                spoiler: false,
                file: input,
                thumb: None,
                mime_type: file.mime.clone(),
                attributes: vec![name],
                stickers: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            }
            .into(),
        })
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
                | "CHAT_RESTRICTED" => PortError::Forbidden(0),
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

    /// Keeps what it takes to address each chat; supergroups also go into the session, where
    /// the update stream needs their access hash to ask for what it missed.
    async fn remember_chats(&mut self, chats: &[tl::enums::Chat]) {
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

    async fn events_of(
        &mut self,
        list: Vec<tl::enums::Update>,
        users: Vec<tl::enums::User>,
        chats: Vec<tl::enums::Chat>,
    ) -> Vec<IncomingEvent> {
        self.remember_chats(&chats).await;
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
            });
        }
        out
    }
}

impl Grammers {
    /// A command a user sent the bot in a private chat. Other private messages, and any to a
    /// user account, are not reported: they are not the product's to read.
    fn command_of(
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
        let (command, payload) = super::parse_command(&m.message)?;
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

/// Why a user login step failed, in the terms the API reports.
#[derive(Debug)]
pub enum LoginError {
    InvalidPhone,
    InvalidCode,
    CodeExpired,
    /// The account has a 2FA password; answer with it.
    PasswordRequired {
        token: grammers_client::client::PasswordToken,
        hint: Option<String>,
    },
    InvalidPassword {
        token: grammers_client::client::PasswordToken,
    },
    /// No Telegram account with this number: it must be made in an official app first.
    SignUpRequired,
    Port(PortError),
}

impl LoginError {
    /// Stable error code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::InvalidPhone => "login.invalid_phone",
            LoginError::InvalidCode => "login.invalid_code",
            LoginError::CodeExpired => "login.code_expired",
            LoginError::PasswordRequired { .. } => "login.password_required",
            LoginError::InvalidPassword { .. } => "login.invalid_password",
            LoginError::SignUpRequired => "login.sign_up_required",
            LoginError::Port(PortError::FloodWait(_)) => "login.flood_wait",
            LoginError::Port(_) => "login.failed",
        }
    }
}

fn login_error(e: grammers_client::SignInError) -> LoginError {
    use grammers_client::SignInError as S;
    match e {
        S::SignUpRequired => LoginError::SignUpRequired,
        S::PasswordRequired(token) => LoginError::PasswordRequired {
            hint: token.hint().map(str::to_string),
            token,
        },
        S::InvalidCode => LoginError::InvalidCode,
        S::InvalidPassword(token) => LoginError::InvalidPassword { token },
        S::Other(InvocationError::Rpc(r)) if r.name == "PHONE_CODE_EXPIRED" => {
            LoginError::CodeExpired
        }
        S::Other(InvocationError::Rpc(r))
            if r.name == "PHONE_NUMBER_INVALID" || r.name == "PHONE_NUMBER_BANNED" =>
        {
            LoginError::InvalidPhone
        }
        S::Other(e) => LoginError::Port(map_error(e)),
    }
}

fn me_of(user: &grammers_client::peer::User) -> Result<Me, PortError> {
    Ok(Me {
        user_id: user
            .id()
            .bare_id()
            .ok_or_else(|| PortError::Other("Telegram sent a user without an id".into()))?,
        username: user.username().map(str::to_string),
        is_bot: user.is_bot(),
    })
}

/// A phone login waiting for its code: which phone, and Telegram's hash for the code sent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeToken {
    pub phone: String,
    pub hash: String,
}

/// A QR login in progress: show `url` as a QR code until `expires` (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrCode {
    pub url: String,
    pub expires: i64,
}

#[derive(Debug)]
pub enum QrStep {
    /// Not scanned yet: (re)show this code.
    Show(QrCode),
    /// Scanned by an account with a 2FA password: answer with it.
    PasswordNeeded {
        token: grammers_client::client::PasswordToken,
        hint: Option<String>,
    },
    LoggedIn(Me),
}

impl Grammers {
    /// Runs a client call on its own task: the crate panics on some server answers (a
    /// payment-required sent code, a sign-up demand), and a panic must become an error.
    async fn contained<T, Fut>(&self, fut: Fut) -> Result<T, PortError>
    where
        T: Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        match tokio::time::timeout(self.cfg.call_timeout, tokio::spawn(fut)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_panic() => Err(PortError::Other(
                "Telegram answered in a way this client cannot handle".into(),
            )),
            Ok(Err(e)) => Err(PortError::Other(e.to_string())),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// A call got no answer in time: the connection is presumed dead (grammers neither
    /// notices a missing pong nor times out), so drop it and let the next call reconnect.
    fn timed_out(&self) -> PortError {
        let home = self.session.home_dc_id().unwrap_or(self.cfg.dc_id);
        self.handle.disconnect_from_dc(home);
        PortError::Network(format!(
            "no answer from Telegram within {} s",
            self.cfg.call_timeout.as_secs()
        ))
    }

    /// Phone login, step 1: Telegram sends a code to the account's apps or by SMS.
    pub async fn request_code(&self, phone: &str) -> Result<CodeToken, LoginError> {
        let req = tl::functions::auth::SendCode {
            phone_number: phone.to_string(),
            api_id: self.cfg.api_id,
            api_hash: self.cfg.api_hash.clone(),
            settings: tl::enums::CodeSettings::Settings(tl::types::CodeSettings {
                allow_flashcall: false,
                current_number: false,
                allow_app_hash: false,
                allow_missed_call: false,
                allow_firebase: false,
                unknown_number: false,
                logout_tokens: None,
                token: None,
                app_sandbox: None,
            }),
        };
        let client = self.client.clone();
        let again = req.clone();
        let mut answer = self
            .contained(async move { client.invoke(&req).await })
            .await;
        // The number's account lives on another datacenter: the login continues there.
        if let Ok(Err(e)) = &answer
            && let Some(dc) = migrate_target(e)
        {
            let dc = dc.map_err(LoginError::Port)?;
            self.move_home(dc).await.map_err(LoginError::Port)?;
            let client = self.client.clone();
            answer = self
                .contained(async move { client.invoke(&again).await })
                .await;
        }
        match answer {
            Ok(Ok(tl::enums::auth::SentCode::Code(c))) => Ok(CodeToken {
                phone: phone.to_string(),
                hash: c.phone_code_hash,
            }),
            Ok(Ok(_)) => Err(LoginError::Port(PortError::Other(
                "Telegram answered the code request in a way this client cannot handle".into(),
            ))),
            Ok(Err(InvocationError::Rpc(r))) if r.name.starts_with("PHONE_NUMBER") => {
                Err(LoginError::InvalidPhone)
            }
            Ok(Err(e)) => Err(LoginError::Port(self.revoked_if_key_replaced(map_error(e)))),
            Err(e) => Err(LoginError::Port(e)),
        }
    }

    /// Phone login, step 2: the code. A 2FA account answers `PasswordRequired`.
    pub async fn submit_code(&self, token: &CodeToken, code: &str) -> Result<Me, LoginError> {
        let req = tl::functions::auth::SignIn {
            phone_number: token.phone.clone(),
            phone_code_hash: token.hash.clone(),
            phone_code: Some(code.to_string()),
            email_verification: None,
        };
        let client = self.client.clone();
        match self
            .contained(async move { client.invoke(&req).await })
            .await
        {
            Ok(Ok(tl::enums::auth::Authorization::Authorization(a))) => {
                me_from_user(a.user).map_err(LoginError::Port)
            }
            Ok(Ok(tl::enums::auth::Authorization::SignUpRequired(_))) => {
                Err(LoginError::SignUpRequired)
            }
            Ok(Err(InvocationError::Rpc(r))) if r.name == "SESSION_PASSWORD_NEEDED" => {
                let client = self.client.clone();
                match self
                    .contained(async move {
                        client.invoke(&tl::functions::account::GetPassword {}).await
                    })
                    .await
                {
                    Ok(Ok(tl::enums::account::Password::Password(p))) => {
                        let token = grammers_client::client::PasswordToken::new(p);
                        Err(LoginError::PasswordRequired {
                            hint: token.hint().map(str::to_string),
                            token,
                        })
                    }
                    Ok(Err(e)) => Err(LoginError::Port(map_error(e))),
                    Err(e) => Err(LoginError::Port(e)),
                }
            }
            Ok(Err(InvocationError::Rpc(r))) if r.name == "PHONE_CODE_EXPIRED" => {
                Err(LoginError::CodeExpired)
            }
            Ok(Err(InvocationError::Rpc(r))) if r.name.starts_with("PHONE_CODE") => {
                Err(LoginError::InvalidCode)
            }
            Ok(Err(e)) => Err(LoginError::Port(map_error(e))),
            Err(e) => Err(LoginError::Port(e)),
        }
    }

    /// A fresh 2FA challenge (each password attempt needs its own).
    pub async fn password_token(
        &self,
    ) -> Result<grammers_client::client::PasswordToken, PortError> {
        match self
            .call(|| self.client.invoke(&tl::functions::account::GetPassword {}))
            .await?
        {
            tl::enums::account::Password::Password(p) => {
                Ok(grammers_client::client::PasswordToken::new(p))
            }
        }
    }

    /// Phone login, step 3: the 2FA password (checked with SRP; it never leaves as text).
    pub async fn submit_password(
        &self,
        token: grammers_client::client::PasswordToken,
        password: &str,
    ) -> Result<Me, LoginError> {
        let (client, password) = (self.client.clone(), password.to_string());
        match self
            .contained(async move { client.check_password(token, password.as_bytes()).await })
            .await
        {
            Ok(Ok(user)) => me_of(&user).map_err(LoginError::Port),
            Ok(Err(e)) => Err(login_error(e)),
            Err(e) => Err(LoginError::Port(e)),
        }
    }

    /// QR login: exports a login token (a `tg://login` URL to show as a QR code), or, once
    /// the code was scanned, completes the login. Call again when the code expires or when
    /// Telegram says it was scanned.
    pub async fn qr_step(&self) -> Result<QrStep, PortError> {
        let req = tl::functions::auth::ExportLoginToken {
            api_id: self.cfg.api_id,
            api_hash: self.cfg.api_hash.clone(),
            except_ids: Vec::new(),
        };
        let mut token = match self.call(|| self.client.invoke(&req)).await {
            Err(PortError::PasswordNeeded) => return self.qr_password().await,
            other => other?,
        };
        // The account lives on another datacenter: finish the login there with the token.
        if let tl::enums::auth::LoginToken::MigrateTo(m) = token {
            self.move_home(m.dc_id).await?;
            let import = tl::functions::auth::ImportLoginToken { token: m.token };
            token = match self.call(|| self.client.invoke(&import)).await {
                Err(PortError::PasswordNeeded) => return self.qr_password().await,
                other => other?,
            };
        }
        match token {
            tl::enums::auth::LoginToken::Token(t) => {
                use base64::Engine;
                Ok(QrStep::Show(QrCode {
                    url: format!(
                        "tg://login?token={}",
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&t.token)
                    ),
                    expires: i64::from(t.expires),
                }))
            }
            tl::enums::auth::LoginToken::Success(s) => match s.authorization {
                tl::enums::auth::Authorization::Authorization(a) => {
                    me_from_user(a.user).map(QrStep::LoggedIn)
                }
                tl::enums::auth::Authorization::SignUpRequired(_) => Err(PortError::Rejected(
                    "this account must be created in an official Telegram app first".into(),
                )),
            },
            tl::enums::auth::LoginToken::MigrateTo(m) => Err(PortError::Other(format!(
                "Telegram moved the login twice (to datacenter {})",
                m.dc_id
            ))),
        }
    }

    /// Signs in with a bot token, following Telegram to the bot's own datacenter.
    async fn bot_sign_in(&self, token: &str) -> Result<Me, PortError> {
        let req = tl::functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: self.cfg.api_id,
            api_hash: self.cfg.api_hash.clone(),
            bot_auth_token: token.to_string(),
        };
        match self.call(|| self.client.invoke(&req)).await? {
            tl::enums::auth::Authorization::Authorization(a) => me_from_user(a.user),
            tl::enums::auth::Authorization::SignUpRequired(_) => {
                Err(PortError::Other("Telegram asked a bot to sign up".into()))
            }
        }
    }

    async fn qr_password(&self) -> Result<QrStep, PortError> {
        let token = self.password_token().await?;
        Ok(QrStep::PasswordNeeded {
            hint: token.hint().map(str::to_string),
            token,
        })
    }

    /// Waits for Telegram to say the QR code was scanned (`updateLoginToken`), at most `wait`.
    pub async fn qr_scanned(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        let Some(updates) = self.raw_updates.as_mut() else {
            return false;
        };
        loop {
            let next = tokio::time::timeout_at(deadline, updates.recv()).await;
            match next {
                Ok(Some(UpdatesLike::Updates(tl::enums::Updates::UpdateShort(u))))
                    if matches!(u.update, tl::enums::Update::LoginToken) =>
                {
                    return true;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return false,
            }
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
                    slow_mode_secs: 0,
                }),
                _ => None,
            })
            .collect())
    }

    async fn send(&mut self, msg: OutgoingMessage) -> Result<SentMessage, PortError> {
        let peer = match msg.access_hash {
            // A private chat with a user who wrote to the bot (maybe before a restart).
            Some(access_hash) if msg.chat_id > 0 => {
                tl::enums::InputPeer::User(tl::types::InputPeerUser {
                    user_id: msg.chat_id,
                    access_hash,
                })
            }
            _ => self.peer(msg.chat_id)?,
        };
        let (text, entities) = match msg.markup.unwrap_or(self.cfg.markup) {
            Markup::Plain => (msg.text.clone(), Vec::new()),
            Markup::Markdown => grammers_client::parsers::parse_markdown_message(&msg.text),
            Markup::Html => grammers_client::parsers::parse_html_message(&msg.text),
        };
        let entities = (!entities.is_empty()).then_some(entities);
        let chat_id = msg.chat_id;
        let answer = match &msg.media {
            None => {
                let req = tl::functions::messages::SendMessage {
                    no_webpage: false,
                    silent: msg.silent,
                    background: false,
                    clear_draft: false,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    allow_paid_floodskip: false,
                    peer,
                    reply_to: None,
                    message: text,
                    random_id: msg.random_id,
                    reply_markup: url_keyboard(&msg.buttons),
                    entities,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                    rich_message: None,
                };
                self.call(|| self.client.invoke(&req)).await
            }
            Some((file, bytes)) => {
                let media = self.upload(file, bytes).await?;
                let req = tl::functions::messages::SendMedia {
                    silent: msg.silent,
                    background: false,
                    clear_draft: false,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    allow_paid_floodskip: false,
                    peer,
                    reply_to: None,
                    media,
                    message: text,
                    random_id: msg.random_id,
                    reply_markup: url_keyboard(&msg.buttons),
                    entities,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                };
                self.call(|| self.client.invoke(&req)).await
            }
        };
        let answer = match answer {
            Ok(a) => a,
            // Telegram already has this message (sent before a crash, the answer lost).
            Err(PortError::Other(e)) if e.starts_with("RANDOM_ID_DUPLICATE") => {
                return Ok(SentMessage {
                    chat_id,
                    message_id: 0,
                    at: jiff::Timestamp::now().as_second(),
                });
            }
            Err(PortError::Forbidden(_)) => return Err(PortError::Forbidden(chat_id)),
            Err(PortError::ChatNotFound(_)) => return Err(PortError::ChatNotFound(chat_id)),
            Err(e) => return Err(e),
        };
        let (message_id, at) = match answer {
            tl::enums::Updates::UpdateShortSentMessage(s) => (i64::from(s.id), i64::from(s.date)),
            tl::enums::Updates::Updates(u) => {
                let id = u.updates.iter().find_map(|x| match x {
                    tl::enums::Update::MessageId(m) if m.random_id == msg.random_id => Some(m.id),
                    _ => None,
                });
                (i64::from(id.unwrap_or(0)), i64::from(u.date))
            }
            _ => (0, 0),
        };
        Ok(SentMessage {
            chat_id,
            message_id,
            at,
        })
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

/// Rows of URL buttons as Telegram's inline keyboard.
fn url_keyboard(rows: &[Vec<super::UrlButton>]) -> Option<tl::enums::ReplyMarkup> {
    if rows.is_empty() {
        return None;
    }
    Some(
        tl::types::ReplyInlineMarkup {
            force_reply: false,
            rows: rows
                .iter()
                .map(|r| {
                    tl::types::KeyboardInlineButtonRow {
                        buttons: r
                            .iter()
                            .map(|b| {
                                tl::types::KeyboardInlineButton {
                                    style: None,
                                    text: b.label.clone(),
                                    r#type: tl::types::InlineButtonTypeUrl { url: b.url.clone() }
                                        .into(),
                                }
                                .into()
                            })
                            .collect(),
                    }
                    .into()
                })
                .collect(),
        }
        .into(),
    )
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
