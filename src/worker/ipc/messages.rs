//! What the supervisor and a worker say to each other. The first frame each way carries the
//! protocol version; a peer speaking another version is refused.

use serde::{Deserialize, Serialize};

use crate::worker::sandbox::SandboxReport;
use crate::worker::telegram::sim::SimConfig;
use crate::worker::telegram::{Dialog, IncomingEvent, Me};

pub const PROTOCOL_VERSION: u16 = 9;

/// Most rule actions one `RuleHits` frame carries.
pub const RULE_HITS_MAX: usize = 500;

/// Descriptor numbers the supervisor places in a worker.
pub const WORKER_SOCKET_FD: i32 = 3;
pub const WORKER_MEDIA_FD: i32 = 4;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum SessionKind {
    /// A simulated Telegram session.
    Sim(SimConfig),
    /// An auth key taken over from another client (Telethon, Pyrogram).
    Imported(crate::worker::session_import::ImportedSession),
    /// A bot, by its token from @BotFather.
    Bot(BotSession),
}

/// A bot session's material: the token, and once it has signed in, the datacenter and key it
/// uses (so a restart neither makes a new key nor signs in again).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct BotSession {
    pub token: zeroize::Zeroizing<String>,
    pub dc_id: i32,
    pub addr: std::net::SocketAddr,
    pub auth_key: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// Set once the token signed in with this key.
    pub user_id: Option<i64>,
    /// Where the session left off in Telegram's update sequences.
    #[serde(default)]
    pub sync: Option<crate::worker::telegram::SyncState>,
}

impl std::fmt::Debug for BotSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotSession")
            .field("dc_id", &self.dc_id)
            .field("addr", &self.addr)
            .field("signed_in", &self.user_id.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SessionSpec {
    pub id: u64,
    pub kind: SessionKind,
    /// The platform bot only: the Mini-App its menu button opens, set after each sign-in.
    #[serde(default)]
    pub menu_app: Option<MenuApp>,
}

/// A bot's menu button that opens a Mini-App.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MenuApp {
    pub text: String,
    pub url: String,
}

impl SessionSpec {
    /// Bots post at Telegram's bot limits; user accounts slower. An imported session is
    /// what its file said, or what its first sign-in showed; unknown ones count as users
    /// until then (the worker paces by the account it signed in as).
    pub fn is_bot(&self) -> bool {
        match &self.kind {
            SessionKind::Sim(c) => c.is_bot,
            SessionKind::Bot(_) => true,
            SessionKind::Imported(i) => i.is_bot == Some(true),
        }
    }
}

/// Everything a worker knows, sent as its first frame: the worker reads nothing else.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WorkerInit {
    pub protocol: u16,
    pub tenant: u64,
    /// The tenant's media folder (opened by the supervisor and passed as descriptor 4; the
    /// path is for the sandbox rules).
    pub media_dir: Option<String>,
    /// TCP ports the worker may connect to.
    pub connect_ports: Vec<u16>,
    /// Refuse to run when a sandbox layer is missing.
    pub sandbox_require: bool,
    /// Send events at most this many at a time …
    pub batch_max_events: u32,
    /// … or at least this often, in milliseconds.
    pub batch_max_ms: u64,
    /// Event batches sent but not yet acknowledged before the worker stops reading events.
    pub max_unacked_batches: u32,
    pub sessions: Vec<SessionSpec>,
    /// The reseller's Telegram application, for real sessions.
    pub telegram: Option<TelegramApp>,
    /// How fast bots and user accounts post campaign messages.
    pub pacing_bot: crate::worker::pacing::Pacing,
    pub pacing_user: crate::worker::pacing::Pacing,
    /// A flood wait longer than this fails the post instead of waiting.
    pub flood_wait_max_secs: u32,
    /// The tenant's group rules.
    pub rules: crate::worker::rules::RuleSet,
}

/// What real sessions need to talk to Telegram.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct TelegramApp {
    pub api_id: i32,
    pub api_hash: String,
    pub flood_sleep_max_secs: u32,
    /// Where logins of new accounts start.
    pub dc_id: i32,
    pub dc_addr: std::net::SocketAddr,
    /// Test datacenters only: the key new logins start with.
    pub seed_auth_key: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// `socks5://[user:password@]ip:port` for every Telegram connection.
    pub proxy: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for TelegramApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramApp")
            .field("api_id", &self.api_id)
            .field("api_hash", &"***")
            .finish()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum ToWorker {
    Init(Box<WorkerInit>),
    Heartbeat {
        nonce: u64,
    },
    /// Batches up to and including this one are durable.
    EventsAck {
        batch: u64,
    },
    /// List every session's dialogs again and report them.
    RefreshDialogs,
    /// A step of a user-account login held by this worker; it answers `Login`.
    Login {
        login: u64,
        step: LoginStep,
    },
    /// Sign this session out at Telegram; the worker answers `LoggedOut`.
    Logout {
        session: u64,
    },
    /// Campaign posts to send, paced by the worker; each is answered by `Delivered`.
    Send {
        jobs: Vec<SendJob>,
    },
    /// One call to Telegram through a session (the platform bot's payments); answered by
    /// `CallDone` with the same `call`.
    Call {
        call: u64,
        session: u64,
        op: PortCall,
    },
    /// The tenant's group rules changed: these replace them.
    Rules(Box<crate::worker::rules::RuleSet>),
    /// Log out nothing, finish what is in flight, exit.
    Stop,
}

/// A call the supervisor makes through a worker's session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum PortCall {
    ExportInvoice(crate::worker::telegram::StarsInvoice),
    AnswerPrecheckout {
        query_id: i64,
        error: Option<String>,
    },
    RefundStars {
        user_id: i64,
        access_hash: i64,
        charge_id: String,
    },
    StarsTransactions {
        offset: String,
    },
    CancelStarsSubscription {
        user_id: i64,
        access_hash: i64,
        charge_id: String,
        restore: bool,
    },
}

/// What a call gave back.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum CallOk {
    Done,
    InvoiceLink(String),
    Transactions(crate::worker::telegram::StarsPage),
}

/// One campaign post: which delivery it is, what to send, where, from which session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SendJob {
    pub campaign: u64,
    pub run: u32,
    pub chat_id: i64,
    pub session: u64,
    /// Derived from the delivery, so a resend is the same message to Telegram.
    pub random_id: i64,
    pub text: String,
    pub markup: crate::worker::telegram::Markup,
    pub buttons: Vec<Vec<crate::worker::telegram::UrlButton>>,
    pub media: Option<crate::worker::telegram::MediaFile>,
    /// The campaign's previous post in this chat, deleted first.
    pub delete_message: Option<i64>,
    pub pin: bool,
    pub silent: bool,
    /// A post to a private chat (the platform bot's test messages): the user's access hash.
    pub access_hash: Option<i64>,
    /// An answer to this message.
    #[serde(default)]
    pub reply_to: Option<i64>,
    /// A group rule's message, not a campaign's: it is reported as the rule's action.
    #[serde(default)]
    pub rule: Option<RulePost>,
}

/// What the worker remembers about a rule's message until it is sent.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RulePost {
    pub rule: u64,
    pub kind: crate::worker::rules::HitKind,
    pub users: Vec<i64>,
    pub delete_after_secs: u32,
    pub captcha_for: Option<i64>,
}

impl SendJob {
    pub fn key(&self) -> (u64, u32, i64) {
        (self.campaign, self.run, self.chat_id)
    }
}

/// How a post ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum DeliveryOutcome {
    Sent {
        message_id: i64,
        /// Unix milliseconds when Telegram accepted it.
        at_ms: i64,
    },
    Failed {
        code: FailureCode,
        at_ms: i64,
    },
}

/// Why a post failed: a closed set, so a frame with any other value does not decode. The
/// codes are stored and shown (`by_reason` in reports).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    // Reported by the worker.
    Forbidden,
    ChatNotFound,
    FloodWait,
    Revoked,
    Rejected,
    MediaMissing,
    SessionNotRunning,
    Error,
    // Decided by the server for a post that can no longer go.
    CampaignDeleted,
    CampaignPaused,
    RunMissing,
    Expired,
    TemplateMissing,
    TooLong,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Forbidden => "forbidden",
            FailureCode::ChatNotFound => "chat_not_found",
            FailureCode::FloodWait => "flood_wait",
            FailureCode::Revoked => "revoked",
            FailureCode::Rejected => "rejected",
            FailureCode::MediaMissing => "media_missing",
            FailureCode::SessionNotRunning => "session_not_running",
            FailureCode::Error => "error",
            FailureCode::CampaignDeleted => "campaign_deleted",
            FailureCode::CampaignPaused => "campaign_paused",
            FailureCode::RunMissing => "run_missing",
            FailureCode::Expired => "expired",
            FailureCode::TemplateMissing => "template_missing",
            FailureCode::TooLong => "too_long",
        }
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum SessionState {
    Connecting,
    Online {
        me: Me,
    },
    FloodWait {
        until: i64,
    },
    Revoked,
    Error {
        reason: String,
    },
    /// Telegram refused what was offered (an invalid bot token).
    Rejected {
        reason: String,
    },
    /// A temporary failure (the network): the session tries again at `next_at`.
    Retrying {
        reason: String,
        /// Attempts since it last worked, this one included.
        attempt: u32,
        next_at: i64,
    },
}

impl SessionState {
    /// Whether the session has stopped for good (until someone changes something): a
    /// revoked key, a refusal, an error other than the network's.
    pub fn is_permanent_failure(&self) -> bool {
        matches!(
            self,
            SessionState::Revoked | SessionState::Error { .. } | SessionState::Rejected { .. }
        )
    }
}

/// What a tenant reads in its log: words, not Rust's debug output.
impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionState::Connecting => f.write_str("connecting to Telegram"),
            SessionState::Online { me } => {
                let what = if me.is_bot { "bot" } else { "user account" };
                match &me.username {
                    Some(u) => write!(f, "online as the {what} @{u}"),
                    None => write!(f, "online as the {what} {}", me.user_id),
                }
            }
            SessionState::FloodWait { until } => write!(
                f,
                "Telegram asks to wait (flood wait) until {}",
                crate::clock::rfc3339(*until)
            ),
            SessionState::Revoked => f.write_str(
                "revoked: Telegram no longer accepts this session; log in or import it again",
            ),
            SessionState::Error { reason } => write!(f, "stopped: {reason}"),
            SessionState::Rejected { reason } => write!(f, "refused by Telegram: {reason}"),
            SessionState::Retrying {
                reason,
                attempt,
                next_at,
            } => write!(
                f,
                "{reason}; attempt {attempt} failed, next try at {}",
                crate::clock::rfc3339(*next_at)
            ),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum FromWorker {
    /// First frame: the worker runs, with this sandbox.
    Ready {
        protocol: u16,
        pid: u32,
        sandbox: Box<SandboxReport>,
    },
    /// First frame when the worker will not run (wrong protocol, sandbox required but missing).
    Refused {
        reason: String,
    },
    HeartbeatAck {
        nonce: u64,
    },
    Session {
        session: u64,
        state: SessionState,
    },
    Dialogs {
        session: u64,
        dialogs: Vec<Dialog>,
    },
    /// Events in order; batch numbers count up from 1 without gaps.
    Events {
        batch: u64,
        session: u64,
        events: Vec<IncomingEvent>,
    },
    /// Where a session now lives and with which key (after a key exchange, a datacenter
    /// move or a first sign-in); the supervisor stores it sealed.
    SessionMoved {
        session: u64,
        dc_id: i32,
        addr: std::net::SocketAddr,
        auth_key: KeyBytes,
        user_id: i64,
    },
    /// Where a session stands in Telegram's update sequences, after the events sent before
    /// it; the supervisor stores it sealed, for the next start to catch up from.
    SessionSync {
        session: u64,
        state: crate::worker::telegram::SyncState,
    },
    /// Where a login stands.
    Login {
        login: u64,
        state: LoginState,
    },
    /// How a `SendJob` ended.
    Delivered {
        campaign: u64,
        run: u32,
        chat_id: i64,
        outcome: DeliveryOutcome,
    },
    /// The answer to `Logout`.
    LoggedOut {
        session: u64,
        result: Result<(), String>,
    },
    /// The answer to `Call`.
    CallDone {
        call: u64,
        result: Result<CallOk, String>,
    },
    /// What the group rules did (at most [`RULE_HITS_MAX`] a frame).
    RuleHits {
        session: u64,
        hits: Vec<crate::worker::rules::Hit>,
    },
    Stopped,
}

/// Key material in a message: wiped on drop, never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct KeyBytes(pub zeroize::Zeroizing<Vec<u8>>);

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} key bytes>", self.0.len())
    }
}

impl FromWorker {
    /// The message's kind, for logs (the payload may hold a key).
    pub fn name(&self) -> &'static str {
        match self {
            FromWorker::Ready { .. } => "Ready",
            FromWorker::Refused { .. } => "Refused",
            FromWorker::HeartbeatAck { .. } => "HeartbeatAck",
            FromWorker::Session { .. } => "Session",
            FromWorker::Dialogs { .. } => "Dialogs",
            FromWorker::Events { .. } => "Events",
            FromWorker::SessionMoved { .. } => "SessionMoved",
            FromWorker::SessionSync { .. } => "SessionSync",
            FromWorker::Login { .. } => "Login",
            FromWorker::LoggedOut { .. } => "LoggedOut",
            FromWorker::Delivered { .. } => "Delivered",
            FromWorker::CallDone { .. } => "CallDone",
            FromWorker::RuleHits { .. } => "RuleHits",
            FromWorker::Stopped => "Stopped",
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub enum LoginStep {
    StartPhone {
        phone: String,
    },
    Code {
        code: String,
    },
    Password {
        password: zeroize::Zeroizing<String>,
    },
    StartQr,
    Cancel,
}

impl std::fmt::Debug for LoginStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoginStep::StartPhone { .. } => "StartPhone",
            LoginStep::Code { .. } => "Code",
            LoginStep::Password { .. } => "Password",
            LoginStep::StartQr => "StartQr",
            LoginStep::Cancel => "Cancel",
        })
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub enum LoginState {
    /// Busy with the last step.
    Working,
    CodeSent,
    PasswordNeeded {
        hint: Option<String>,
    },
    /// Show `url` as a QR code until `expires`; a new one follows.
    Qr {
        url: String,
        expires: i64,
    },
    /// Logged in: the account and where its new session lives.
    Done {
        me: Me,
        dc_id: i32,
        addr: std::net::SocketAddr,
        auth_key: zeroize::Zeroizing<Vec<u8>>,
    },
    /// The last step failed. Steps may be retried where that makes sense (a wrong code).
    Failed {
        code: LoginFailure,
        message: String,
    },
}

/// Why a login step failed: a closed set (a frame with any other value does not decode),
/// each with the API error code it is reported as.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum LoginFailure {
    InvalidPhone,
    InvalidCode,
    CodeExpired,
    InvalidPassword,
    SignUpRequired,
    FloodWait,
    /// A step out of turn.
    Order,
    /// The worker holding the login restarted.
    Lost,
    /// No Telegram app (api_id, api_hash) is configured.
    NotConfigured,
    /// Telegram ended the login for another reason.
    Failed,
}

impl LoginFailure {
    pub fn code(self) -> &'static str {
        match self {
            LoginFailure::InvalidPhone => "login.invalid_phone",
            LoginFailure::InvalidCode => "login.invalid_code",
            LoginFailure::CodeExpired => "login.code_expired",
            LoginFailure::InvalidPassword => "login.invalid_password",
            LoginFailure::SignUpRequired => "login.sign_up_required",
            LoginFailure::FloodWait => "login.flood_wait",
            LoginFailure::Order => "login.order",
            LoginFailure::Lost => "login.lost",
            LoginFailure::NotConfigured => "telegram.not_configured",
            LoginFailure::Failed => "login.failed",
        }
    }

    /// What the person typed was wrong (a 422), rather than the login's state (a 409).
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            LoginFailure::InvalidPhone
                | LoginFailure::InvalidCode
                | LoginFailure::CodeExpired
                | LoginFailure::InvalidPassword
                | LoginFailure::SignUpRequired
        )
    }
}

impl std::fmt::Debug for LoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginState::Done { me, dc_id, .. } => f
                .debug_struct("Done")
                .field("me", me)
                .field("dc_id", dc_id)
                .finish_non_exhaustive(),
            LoginState::Working => f.write_str("Working"),
            LoginState::CodeSent => f.write_str("CodeSent"),
            LoginState::PasswordNeeded { .. } => f.write_str("PasswordNeeded"),
            LoginState::Qr { expires, .. } => write!(f, "Qr(expires {expires})"),
            LoginState::Failed { code, .. } => write!(f, "Failed({})", code.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_code_outside_the_set_does_not_decode() {
        let ok = DeliveryOutcome::Failed {
            code: FailureCode::Error,
            at_ms: 0,
        };
        let mut bytes = postcard::to_allocvec(&ok).unwrap();
        assert_eq!(postcard::from_bytes::<DeliveryOutcome>(&bytes).unwrap(), ok);
        // The code is the second value: an index past the last variant is refused.
        bytes[1] = 99;
        assert!(postcard::from_bytes::<DeliveryOutcome>(&bytes).is_err());
        // So is a free-form string where the code goes (what a worker once sent).
        let mut free = vec![1u8];
        free.extend(postcard::to_allocvec("drop table deliveries").unwrap());
        free.push(0);
        assert!(postcard::from_bytes::<DeliveryOutcome>(&free).is_err());
        for code in [FailureCode::Forbidden, FailureCode::TooLong] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(
                json,
                code.as_str(),
                "stored and shown as its snake_case name"
            );
        }
    }

    #[test]
    fn key_material_never_shows_in_debug_output() {
        let key = vec![0xab_u8; 256];
        let moved = FromWorker::SessionMoved {
            session: 1,
            dc_id: 2,
            addr: "127.0.0.1:443".parse().unwrap(),
            auth_key: KeyBytes(zeroize::Zeroizing::new(key.clone())),
            user_id: 5,
        };
        let bot = BotSession {
            token: zeroize::Zeroizing::new("123:SECRETTOKEN".into()),
            dc_id: 2,
            addr: "127.0.0.1:443".parse().unwrap(),
            auth_key: Some(zeroize::Zeroizing::new(key.clone())),
            user_id: None,
            sync: None,
        };
        let done = LoginState::Done {
            me: Me {
                user_id: 1,
                username: None,
                is_bot: false,
            },
            dc_id: 2,
            addr: "127.0.0.1:443".parse().unwrap(),
            auth_key: zeroize::Zeroizing::new(key),
        };
        let step = LoginStep::Password {
            password: zeroize::Zeroizing::new("mavi-kedi".into()),
        };
        for text in [
            format!("{moved:?}"),
            format!("{bot:?}"),
            format!("{done:?}"),
            format!("{step:?}"),
        ] {
            assert!(!text.contains("171"), "{text}");
            assert!(!text.contains("SECRETTOKEN"), "{text}");
            assert!(!text.contains("mavi-kedi"), "{text}");
        }
        assert_eq!(moved.name(), "SessionMoved");
    }
}
