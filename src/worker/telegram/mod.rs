//! The worker's Telegram seam: one trait in domain types, two implementations — `grammers`
//! (real Telegram over MTProto) and `sim` (a deterministic simulated Telegram for tests,
//! benchmarks and the demo).

pub mod grammers;
pub mod sim;

use serde::{Deserialize, Serialize};

/// Who a session is logged in as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: i64,
    pub username: Option<String>,
    pub is_bot: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatKind {
    Group,
    Supergroup,
    Channel,
}

/// A chat the session is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialog {
    pub chat_id: i64,
    pub title: String,
    pub kind: ChatKind,
    pub members: u32,
    /// The session may post here.
    pub can_post: bool,
    pub is_admin: bool,
    /// What the session may do as an admin here.
    #[serde(default)]
    pub rights: AdminRights,
    /// Seconds between messages a member may send, 0 when off.
    pub slow_mode_secs: u32,
}

/// An admin's rights the rules need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRights {
    pub delete_messages: bool,
    pub ban_users: bool,
}

impl AdminRights {
    pub const ALL: AdminRights = AdminRights {
        delete_messages: true,
        ban_users: true,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageKind {
    Text,
    Media,
    Service,
}

/// A Telegram user as seen in an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

/// Something that happened in a chat the session is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncomingEvent {
    Message {
        chat_id: i64,
        message_id: i64,
        sender: Option<UserRef>,
        kind: MessageKind,
        /// Unix seconds.
        at: i64,
        /// What the group rules read. It stays in the worker: the worker drops it before the
        /// event goes to the supervisor, which never stores what members wrote.
        #[serde(default)]
        content: Option<Box<MessageContent>>,
    },
    MemberJoined {
        chat_id: i64,
        user: UserRef,
        at: i64,
    },
    MemberLeft {
        chat_id: i64,
        user: UserRef,
        at: i64,
    },
    ChatTitleChanged {
        chat_id: i64,
        title: String,
        at: i64,
    },
    MemberCountChanged {
        chat_id: i64,
        members: u32,
        at: i64,
    },
    /// A command sent to a bot in a private chat (`/start <payload>`); only bot sessions
    /// report these, and only their command and payload, never other private text.
    Command {
        user: UserRef,
        /// What it takes to write back to the user (0 where the port needs none).
        access_hash: i64,
        /// Without the slash or a `@botname` suffix, at most [`COMMAND_MAX`] bytes.
        command: String,
        /// At most [`COMMAND_PAYLOAD_MAX`] bytes.
        payload: String,
        at: i64,
    },
    /// A member pressed a callback button under one of the bot's messages in a group (a
    /// rule's captcha). Bot sessions only; handled in the worker, never sent on.
    Button {
        chat_id: i64,
        message_id: i64,
        user: UserRef,
        query_id: i64,
        /// At most [`BUTTON_DATA_MAX`] bytes.
        data: String,
        at: i64,
    },
    /// Someone is about to pay one of the bot's invoices: Telegram waits (10 s at most) for
    /// the bot to accept or refuse. Bot sessions only.
    Precheckout {
        query_id: i64,
        user: UserRef,
        currency: String,
        /// Minor units of `currency` (whole Stars for `XTR`).
        amount: i64,
        /// The invoice's payload, as the bot made it (at most [`INVOICE_PAYLOAD_MAX`] bytes).
        payload: String,
        at: i64,
    },
    /// The payment service message: the only proof that a payment went through. Bot sessions
    /// only, from private chats.
    Paid {
        user: UserRef,
        access_hash: i64,
        currency: String,
        amount: i64,
        payload: String,
        /// Telegram's id of the charge (what a refund names).
        charge_id: String,
        /// A renewal of a subscription (not its first payment).
        renewal: bool,
        /// A subscription's payment: when the period it paid ends (Unix seconds).
        subscription_until: Option<i64>,
        at: i64,
    },
}

/// A group message's text and what Telegram marked in it, for the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The text or caption, at most [`MESSAGE_TEXT_MAX`] bytes.
    pub text: String,
    /// Telegram marked a link (a URL or a text link) in it.
    pub link: bool,
    /// Forwarded from a channel.
    pub channel_forward: bool,
}

/// Longest text a port keeps of a message (Telegram's limit is 4,096 characters).
pub const MESSAGE_TEXT_MAX: usize = 16_384;
/// Longest callback data (Telegram allows 64 bytes).
pub const BUTTON_DATA_MAX: usize = 64;

/// Longest invoice payload (Telegram allows 128 bytes).
pub const INVOICE_PAYLOAD_MAX: usize = 128;
/// Longest charge id a port reports.
pub const CHARGE_ID_MAX: usize = 128;

/// An invoice for the bot to make a payment link of, in Telegram Stars.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarsInvoice {
    pub title: String,
    pub description: String,
    /// Comes back with the pre-checkout query and the payment.
    pub payload: String,
    pub stars: i64,
    /// Renews every 30 days until cancelled (a Telegram Stars subscription).
    pub monthly: bool,
}

/// One entry of the bot's Stars history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarsTxn {
    /// For a user's payment: its charge id (a refund carries the charge it gave back).
    pub id: String,
    /// Whole Stars; negative for money going out (a refund).
    pub amount: i64,
    pub at: i64,
    pub refund: bool,
    pub user_id: Option<i64>,
}

/// A page of the bot's Stars history, newest first, and where the next one starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarsPage {
    pub txns: Vec<StarsTxn>,
    pub next_offset: Option<String>,
}

impl StarsPage {
    /// Most entries a page may carry (a frame from a worker is untrusted).
    pub const MAX: usize = 200;
}

impl IncomingEvent {
    /// When it happened (Unix seconds).
    pub fn at(&self) -> i64 {
        match self {
            IncomingEvent::Message { at, .. }
            | IncomingEvent::MemberJoined { at, .. }
            | IncomingEvent::MemberLeft { at, .. }
            | IncomingEvent::ChatTitleChanged { at, .. }
            | IncomingEvent::MemberCountChanged { at, .. }
            | IncomingEvent::Command { at, .. }
            | IncomingEvent::Button { at, .. }
            | IncomingEvent::Precheckout { at, .. }
            | IncomingEvent::Paid { at, .. } => *at,
        }
    }
}

/// Longest command name a port reports.
pub const COMMAND_MAX: usize = 32;
/// Longest command payload a port reports (Telegram's `/start` parameter is at most 64).
pub const COMMAND_PAYLOAD_MAX: usize = 64;

/// Splits a private message to a bot into command and payload, when it is a command that
/// fits the limits: `/start abc` → ("start", "abc"), `/start@yard_bot` → ("start", "").
pub fn parse_command(text: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix('/')?;
    let (head, payload) = match rest.split_once(char::is_whitespace) {
        Some((h, p)) => (h, p.trim()),
        None => (rest, ""),
    };
    let command = head.split('@').next().unwrap_or_default();
    let ok = !command.is_empty()
        && command.len() <= COMMAND_MAX
        && command
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && payload.len() <= COMMAND_PAYLOAD_MAX;
    ok.then(|| (command.to_ascii_lowercase(), payload.to_string()))
}

/// How a text is marked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Markup {
    Plain,
    Markdown,
    Html,
}

/// An inline button that opens an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlButton {
    pub label: String,
    pub url: String,
    /// Opens `url` as a Mini-App (a bot's private chat only) rather than in a browser.
    #[serde(default)]
    pub web_app: bool,
    /// A callback button instead (a rule's captcha): what it answers with, at most 64 bytes.
    #[serde(default)]
    pub data: Option<String>,
}

/// A file from the tenant's media folder to send with a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    /// Name inside the media folder.
    pub file: String,
    pub kind: MediaKind,
    pub mime: String,
    /// Shown with a document.
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaKind {
    Photo,
    Video,
    Document,
}

/// A message to send. `random_id` makes a resend after a crash a no-op at Telegram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub chat_id: i64,
    pub text: String,
    pub random_id: i64,
    pub silent: bool,
    /// None: the session's default.
    pub markup: Option<Markup>,
    pub buttons: Vec<Vec<UrlButton>>,
    /// The file, already read from the media folder.
    pub media: Option<(MediaFile, Vec<u8>)>,
    /// For a private chat (a positive `chat_id`): the user's access hash, from the command
    /// they sent.
    pub access_hash: Option<i64>,
    /// An answer to this message (a rule's reply to a keyword).
    #[serde(default)]
    pub reply_to: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
    pub at: i64,
}

/// Errors at the seam, in the terms the product acts on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum PortError {
    #[error("flood wait: retry after {0} s")]
    FloodWait(u32),
    #[error("slow mode: wait {0} s")]
    SlowMode(u32),
    #[error("session is revoked or unknown to Telegram")]
    Revoked,
    #[error("not a member of chat {0} or no right to post")]
    Forbidden(i64),
    #[error("chat {0} not found")]
    ChatNotFound(i64),
    /// Telegram refused what was offered (an invalid bot token, a wrong code).
    #[error("rejected: {0}")]
    Rejected(String),
    #[error("network: {0}")]
    Network(String),
    /// A login needs the account's 2FA password to finish.
    #[error("the account has a 2FA password")]
    PasswordNeeded,
    #[error("{0}")]
    Other(String),
}

/// The Telegram operations a worker needs. Implemented by `sim` and (next issue) `grammers`.
#[allow(async_fn_in_trait)]
pub trait TelegramPort {
    async fn login(&mut self) -> Result<Me, PortError>;
    async fn dialogs(&mut self) -> Result<Vec<Dialog>, PortError>;
    async fn send(&mut self, msg: OutgoingMessage) -> Result<SentMessage, PortError>;
    /// Waits for the next incoming event.
    async fn next_event(&mut self) -> Result<IncomingEvent, PortError>;
    async fn logout(&mut self) -> Result<(), PortError>;
    /// Where the session lives and with which key, for ports that have one to persist.
    fn location(&self) -> Option<(i32, std::net::SocketAddr, [u8; 256])> {
        None
    }
    /// Unix seconds by this port's clock (the simulator has its own).
    fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second()
    }
    /// Proves the connection is alive while no updates come (a hung connection otherwise
    /// goes unnoticed until the next call).
    async fn keepalive(&mut self) -> Result<(), PortError> {
        Ok(())
    }
    /// Deletes one of the session's own messages (a campaign's previous post).
    async fn delete_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        let _ = (chat_id, message_id);
        Err(PortError::Other(
            "deleting messages is not supported by this port".into(),
        ))
    }
    /// Pins a message in a chat, silently.
    async fn pin_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        let _ = (chat_id, message_id);
        Err(PortError::Other(
            "pinning is not supported by this port".into(),
        ))
    }
    /// Deletes members' messages in a group (the session needs the right to).
    async fn delete_messages(
        &mut self,
        chat_id: i64,
        message_ids: &[i64],
    ) -> Result<(), PortError> {
        for id in message_ids {
            self.delete_message(chat_id, *id).await?;
        }
        Ok(())
    }
    /// Takes a member's right to write in a supergroup away until `until` (Unix seconds; 0:
    /// until lifted), or gives it back with `until` = None.
    async fn restrict(
        &mut self,
        chat_id: i64,
        user_id: i64,
        until: Option<i64>,
    ) -> Result<(), PortError> {
        let _ = (chat_id, user_id, until);
        Err(unsupported("restrictions"))
    }
    /// Removes a member from a group; they may join again.
    async fn kick(&mut self, chat_id: i64, user_id: i64) -> Result<(), PortError> {
        let _ = (chat_id, user_id);
        Err(unsupported("removals"))
    }
    /// Answers a button press, with a short note shown to the member who pressed.
    async fn answer_button(&mut self, query_id: i64, text: Option<&str>) -> Result<(), PortError> {
        let _ = (query_id, text);
        Err(unsupported("buttons"))
    }
    /// The group's administrators (user ids).
    async fn admins(&mut self, chat_id: i64) -> Result<Vec<i64>, PortError> {
        let _ = chat_id;
        Ok(Vec::new())
    }
    /// Sets the bot's menu button, for every user, to open the Mini-App at `url`.
    async fn set_menu_app(&mut self, text: &str, url: &str) -> Result<(), PortError> {
        let _ = (text, url);
        Err(PortError::Other(
            "menu buttons are not supported by this port".into(),
        ))
    }
    /// A payment link for `invoice` (`payments.exportInvoice`).
    async fn export_invoice(&mut self, invoice: &StarsInvoice) -> Result<String, PortError> {
        let _ = invoice;
        Err(unsupported("invoices"))
    }
    /// Accepts a pre-checkout query, or refuses it with `error` shown to the payer.
    async fn answer_precheckout(
        &mut self,
        query_id: i64,
        error: Option<&str>,
    ) -> Result<(), PortError> {
        let _ = (query_id, error);
        Err(unsupported("payments"))
    }
    /// Gives a Stars payment back to the user who made it.
    async fn refund_stars(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
    ) -> Result<(), PortError> {
        let _ = (user_id, access_hash, charge_id);
        Err(unsupported("refunds"))
    }
    /// Stops (or, with `restore`, restarts) the monthly renewals of a user's Stars
    /// subscription, named by the charge that started it.
    async fn cancel_stars_subscription(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
        restore: bool,
    ) -> Result<(), PortError> {
        let _ = (user_id, access_hash, charge_id, restore);
        Err(unsupported("Stars subscriptions"))
    }
    /// A page of the bot's Stars history, from `offset` (empty: the newest).
    async fn stars_transactions(&mut self, offset: &str) -> Result<StarsPage, PortError> {
        let _ = offset;
        Err(unsupported("Stars transactions"))
    }
    /// Where the session stands in Telegram's update sequences and the access hashes it
    /// learned, for ports that can resume from them.
    async fn sync_state(&mut self) -> Option<SyncState> {
        None
    }
}

fn unsupported(what: &str) -> PortError {
    PortError::Other(format!("{what} are not supported by this port"))
}

/// What a session needs to resume after a restart: its place in Telegram's update sequences
/// (so it can ask for what it missed) and the access hashes of its supergroups (so it can
/// address them before listing dialogs again). Stored sealed with the session's key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub pts: i32,
    pub qts: i32,
    pub date: i32,
    pub seq: i32,
    /// Bare channel id → that channel's pts.
    pub channels: Vec<(i64, i32)>,
    /// Bare channel id → access hash.
    pub access_hashes: Vec<(i64, i64)>,
}

impl SyncState {
    /// Most channels a session may carry state for (a frame from a worker is untrusted).
    pub const MAX_CHANNELS: usize = 20_000;

    pub fn within_limits(&self) -> bool {
        self.channels.len() <= Self::MAX_CHANNELS && self.access_hashes.len() <= Self::MAX_CHANNELS
    }
}

#[cfg(test)]
mod tests {
    use super::parse_command;

    #[test]
    fn commands_are_split_and_bounded() {
        let p = |t: &str| parse_command(t);
        assert_eq!(
            p("/start abc_DEF-1"),
            Some(("start".into(), "abc_DEF-1".into()))
        );
        assert_eq!(p("/start@yard_bot"), Some(("start".into(), String::new())));
        assert_eq!(p("/Start  x "), Some(("start".into(), "x".into())));
        assert_eq!(p("start abc"), None);
        assert_eq!(p("/"), None);
        assert_eq!(p("/sta rt"), Some(("sta".into(), "rt".into())));
        assert_eq!(p("/ştart"), None);
        assert_eq!(p(&format!("/start {}", "a".repeat(65))), None);
        assert_eq!(p(&format!("/{}", "a".repeat(33))), None);
    }
}
