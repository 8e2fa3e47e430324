//! The child process's main loop: read the init frame, apply the sandbox, run the sessions.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::worker::ipc::frame::{self, FrameError, FrameReader, FrameWriter};
use crate::worker::ipc::messages::{
    CallOk, DeliveryOutcome, FailureCode, FromWorker, LoginFailure, LoginState, LoginStep,
    PROTOCOL_VERSION, PortCall, SendJob, SessionKind, SessionSpec, SessionState, ToWorker,
    WORKER_MEDIA_FD, WORKER_SOCKET_FD, WorkerInit,
};
use crate::worker::pacing::Pacer;
use crate::worker::sandbox::{self, SandboxPolicy, SandboxReport};
use crate::worker::telegram::grammers::{Grammers, GrammersConfig, Markup};
use crate::worker::telegram::sim::Sim;
use crate::worker::telegram::{
    Dialog, IncomingEvent, Me, OutgoingMessage, PortError, SentMessage, TelegramPort,
};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("ipc: {0}")]
    Ipc(#[from] FrameError),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

mod login;
mod posting;
mod ruling;

use login::login_task;
use posting::{Posted, Sending, now_ms, post, send_wait};

/// Entry point of the hidden `worker` subcommand.
pub fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(WorkerError::Refused(r)) => {
            eprintln!("botyard worker: refused to run: {r}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("botyard worker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), WorkerError> {
    let mut sock = std::os::unix::net::UnixStream::from(sandbox::inherited_fd(WORKER_SOCKET_FD)?);
    let init = match frame::read_blocking::<ToWorker>(&mut sock, 0)? {
        ToWorker::Init(init) => *init,
        other => {
            return Err(WorkerError::Protocol(format!(
                "first frame is {other:?}, not Init"
            )));
        }
    };
    if init.protocol != PROTOCOL_VERSION {
        let reason = format!(
            "protocol {} offered, this worker speaks {PROTOCOL_VERSION}",
            init.protocol
        );
        let _ = frame::write_blocking(
            &mut sock,
            0,
            &FromWorker::Refused {
                reason: reason.clone(),
            },
        );
        return Err(WorkerError::Refused(reason));
    }
    // The Telegram code gets this handle and no other way into the filesystem.
    let media = match &init.media_dir {
        Some(_) => Some(sandbox::media_dir_from_fd(sandbox::inherited_fd(
            WORKER_MEDIA_FD,
        )?)?),
        None => None,
    };
    let policy = SandboxPolicy {
        read_only_dir: init.media_dir.as_ref().map(PathBuf::from),
        connect_ports: init.connect_ports.clone(),
        ..SandboxPolicy::telegram(None)
    };
    let report = sandbox::apply(&policy);
    if init.sandbox_require
        && let Err(missing) = report.require()
    {
        let reason = missing.to_string();
        let _ = frame::write_blocking(
            &mut sock,
            0,
            &FromWorker::Refused {
                reason: reason.clone(),
            },
        );
        return Err(WorkerError::Refused(reason));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(sock, init, report, media))
}

/// The worker's loop, after the sandbox is in place.
pub async fn serve(
    sock: std::os::unix::net::UnixStream,
    init: WorkerInit,
    report: SandboxReport,
    media: Option<cap_std::fs::Dir>,
) -> Result<(), WorkerError> {
    let media = std::sync::Arc::new(media);
    sock.set_nonblocking(true)?;
    let (r, w) = tokio::net::UnixStream::from_std(sock)?.into_split();
    let mut writer = FrameWriter::new(w);
    writer
        .send(&FromWorker::Ready {
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
            sandbox: Box::new(report),
        })
        .await?;

    let (mut in_rx, _reader) = FrameReader::resume(r, 1).spawn::<ToWorker>();

    let (out_tx, mut out_rx) = mpsc::channel::<FromWorker>(64);
    let (ev_tx, mut ev_rx) = mpsc::channel::<(u64, Flow)>(4096);
    let mut controls: HashMap<u64, mpsc::Sender<SessionCmd>> = HashMap::new();
    let mut job_queues: HashMap<u64, mpsc::UnboundedSender<SendJob>> = HashMap::new();
    let mut logins: HashMap<u64, mpsc::Sender<LoginStep>> = HashMap::new();
    let rules = std::sync::Arc::new(init.rules.clone());
    for spec in init.sessions.clone() {
        let (refresh_tx, refresh_rx) = mpsc::channel::<SessionCmd>(CALLS_QUEUED);
        controls.insert(spec.id, refresh_tx);
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel::<SendJob>();
        job_queues.insert(spec.id, jobs_tx);
        let id = spec.id;
        let sending = Sending {
            jobs: jobs_rx,
            pacing_bot: init.pacing_bot.clone(),
            pacing_user: init.pacing_user.clone(),
            flood_wait_max_secs: init.flood_wait_max_secs,
            media: media.clone(),
            rules: rules.clone(),
        };
        let task = tokio::spawn(session_task(
            spec,
            init.telegram.clone(),
            out_tx.clone(),
            ev_tx.clone(),
            refresh_rx,
            sending,
        ));
        // The Telegram client panics on some server answers; that ends this session with a
        // reason, never the worker (which would only crash-loop on the same answer).
        let out = out_tx.clone();
        tokio::spawn(async move {
            if let Err(e) = task.await
                && e.is_panic()
            {
                let _ = out
                    .send(FromWorker::Session {
                        session: id,
                        state: SessionState::Error {
                            reason: "the Telegram client failed on an unexpected answer; the session stopped".into(),
                        },
                    })
                    .await;
            }
        });
    }
    drop(ev_tx);

    let max_events = init.batch_max_events.max(1) as usize;
    let max_unacked = init.max_unacked_batches.max(1) as usize;
    let mut buffers: HashMap<u64, Vec<IncomingEvent>> = HashMap::new();
    let mut unacked: BTreeSet<u64> = BTreeSet::new();
    let mut next_batch = 1u64;
    let mut tick = tokio::time::interval(Duration::from_millis(init.batch_max_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            m = in_rx.recv() => match m {
                Some(Ok(ToWorker::Heartbeat { nonce })) => writer.send(&FromWorker::HeartbeatAck { nonce }).await?,
                Some(Ok(ToWorker::EventsAck { batch })) => {
                    unacked = unacked.split_off(&(batch + 1));
                }
                Some(Ok(ToWorker::Stop)) => {
                    for (session, events) in buffers.drain() {
                        if !events.is_empty() {
                            writer.send(&FromWorker::Events { batch: next_batch, session, events }).await?;
                            next_batch += 1;
                        }
                    }
                    writer.send(&FromWorker::Stopped).await?;
                    return Ok(());
                }
                Some(Ok(ToWorker::Login { login, step })) => {
                    logins.retain(|_, tx| !tx.is_closed());
                    let starts = matches!(step, LoginStep::StartPhone { .. } | LoginStep::StartQr);
                    if starts && !logins.contains_key(&login) && logins.len() < MAX_LOGINS {
                        let (tx, rx) = mpsc::channel(4);
                        logins.insert(login, tx);
                        tokio::spawn(login_task(login, init.telegram.clone(), out_tx.clone(), rx));
                    }
                    let sent = match logins.get(&login) {
                        Some(tx) => tx.send(step).await.is_ok(),
                        None => false,
                    };
                    if !sent {
                        writer.send(&FromWorker::Login { login, state: LoginState::Failed {
                            code: LoginFailure::Lost,
                            message: "this login is no longer pending; start again".into(),
                        } }).await?;
                    }
                }
                Some(Ok(ToWorker::Logout { session })) => {
                    let asked = match controls.get(&session) {
                        Some(c) => c.send(SessionCmd::Logout).await.is_ok(),
                        None => false,
                    };
                    if !asked {
                        writer.send(&FromWorker::LoggedOut { session, result: Err("the session is not running".into()) }).await?;
                    }
                }
                Some(Ok(ToWorker::Send { jobs })) => {
                    for job in jobs {
                        let queued = job_queues.get(&job.session).is_some_and(|q| q.send(job.clone()).is_ok());
                        if !queued {
                            writer.send(&FromWorker::Delivered {
                                campaign: job.campaign,
                                run: job.run,
                                chat_id: job.chat_id,
                                outcome: DeliveryOutcome::Failed { code: FailureCode::SessionNotRunning, at_ms: now_ms() },
                            }).await?;
                        }
                    }
                }
                Some(Ok(ToWorker::Call { call, session, op })) => {
                    let queued = controls.get(&session).is_some_and(|c| c.try_send(SessionCmd::Call(call, op)).is_ok());
                    if !queued {
                        writer.send(&FromWorker::CallDone { call, result: Err("the session is not running or is busy".into()) }).await?;
                    }
                }
                Some(Ok(ToWorker::Rules(set))) => {
                    let set = std::sync::Arc::new(*set);
                    for c in controls.values() {
                        // A session too busy to take them now gets the next change.
                        let _ = c.try_send(SessionCmd::Rules(set.clone()));
                    }
                }
                Some(Ok(ToWorker::RefreshDialogs)) => {
                    for r in controls.values() {
                        // A refresh already queued covers this one.
                        let _ = r.try_send(SessionCmd::Refresh);
                    }
                }
                Some(Ok(ToWorker::Init(_))) => return Err(WorkerError::Protocol("second Init".into())),
                Some(Err(FrameError::Closed)) | None => return Ok(()),
                Some(Err(e)) => return Err(e.into()),
            },
            Some(m) = out_rx.recv() => writer.send(&m).await?,
            Some((session, flow)) = ev_rx.recv(), if unacked.len() < max_unacked => {
                let buf = buffers.entry(session).or_default();
                let event = match flow {
                    Flow::Event(e) => e,
                    Flow::Sync(state) => {
                        // The state goes after the events it covers, so the supervisor stores
                        // it only once they are durable.
                        if !buf.is_empty() {
                            let events = std::mem::take(buf);
                            writer.send(&FromWorker::Events { batch: next_batch, session, events }).await?;
                            unacked.insert(next_batch);
                            next_batch += 1;
                        }
                        writer.send(&FromWorker::SessionSync { session, state }).await?;
                        continue;
                    }
                };
                // Telegram waits at most 10 s for a pre-checkout answer, and a payment is
                // credited before anything else: neither waits for the batch timer.
                let urgent = matches!(event, IncomingEvent::Precheckout { .. } | IncomingEvent::Paid { .. });
                buf.push(event);
                if buf.len() >= max_events || urgent {
                    let events = std::mem::take(buf);
                    writer.send(&FromWorker::Events { batch: next_batch, session, events }).await?;
                    unacked.insert(next_batch);
                    next_batch += 1;
                }
            }
            _ = tick.tick() => {
                for (session, buf) in buffers.iter_mut() {
                    if !buf.is_empty() && unacked.len() < max_unacked {
                        let events = std::mem::take(buf);
                        writer.send(&FromWorker::Events { batch: next_batch, session: *session, events }).await?;
                        unacked.insert(next_batch);
                        next_batch += 1;
                    }
                }
            }
        }
    }
}

/// Lists the session's dialogs and sends them; false when the session cannot go on.
async fn report_dialogs<P: TelegramPort>(
    port: &mut P,
    id: u64,
    out: &mpsc::Sender<FromWorker>,
    rules: &mut ruling::Rules,
) -> bool {
    match port.dialogs().await {
        Ok(dialogs) => {
            rules.dialogs(&dialogs);
            out.send(FromWorker::Dialogs {
                session: id,
                dialogs,
            })
            .await
            .is_ok()
        }
        Err(e) => {
            let _ = out
                .send(FromWorker::Session {
                    session: id,
                    state: state_of(&e, port.now()),
                })
                .await;
            false
        }
    }
}

/// What a tenant reads for a network error. The socket's own words (refused, reset, timed
/// out) would tell which ports answer at the address a session names: never shown.
const NETWORK_REASON: &str = "cannot reach Telegram's datacenter (a network error)";

/// Attempts after network errors: exponential backoff from 1 s to 5 minutes, jittered, with
/// the state that tells the tenant when the next one is.
struct Retry {
    attempt: u32,
    backoff: Duration,
}

impl Retry {
    const FIRST: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(300);

    fn new() -> Self {
        Retry {
            attempt: 0,
            backoff: Self::FIRST,
        }
    }

    /// Counts a failed attempt; returns the wait before the next and the state to report.
    fn next(&mut self, now: i64) -> (Duration, SessionState) {
        self.attempt = self.attempt.saturating_add(1);
        let wait = jittered(self.backoff);
        self.backoff = (self.backoff * 2).min(Self::MAX);
        let state = SessionState::Retrying {
            reason: NETWORK_REASON.into(),
            attempt: self.attempt,
            next_at: now + i64::try_from(wait.as_secs_f64().ceil() as u64).unwrap_or(i64::MAX),
        };
        (wait, state)
    }
}

fn state_of(e: &PortError, now: i64) -> SessionState {
    match e {
        PortError::Rejected(reason) => SessionState::Rejected {
            reason: reason.clone(),
        },
        PortError::Revoked => SessionState::Revoked,
        PortError::FloodWait(s) => SessionState::FloodWait {
            until: now + i64::from(*s),
        },
        // Retried: the caller reports `Retry::next`'s state instead.
        PortError::Network(_) => SessionState::Error {
            reason: NETWORK_REASON.into(),
        },
        other => SessionState::Error {
            reason: other.to_string(),
        },
    }
}

/// Logins one worker holds at once.
const MAX_LOGINS: usize = 4;

/// What a session hands the batcher, in order.
enum Flow {
    Event(IncomingEvent),
    /// Where the session stands after the events before it.
    Sync(crate::worker::telegram::SyncState),
}

/// How often a session's update state goes to the supervisor (when it changed). A crash
/// replays at most this much from Telegram's difference.
const SYNC_EVERY: Duration = Duration::from_secs(5);

/// How often an idle session proves its connection alive.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(60);

/// What the worker's loop asks of one session.
enum SessionCmd {
    Refresh,
    /// Sign out at Telegram, report, and end.
    Logout,
    /// One call to Telegram, answered by `CallDone`.
    Call(u64, PortCall),
    /// The group rules changed.
    Rules(std::sync::Arc<crate::worker::rules::RuleSet>),
}

/// Runs one call through the port.
async fn call<P: TelegramPort>(port: &mut P, op: PortCall) -> Result<CallOk, String> {
    let r = match op {
        PortCall::ExportInvoice(inv) => port.export_invoice(&inv).await.map(CallOk::InvoiceLink),
        PortCall::AnswerPrecheckout { query_id, error } => port
            .answer_precheckout(query_id, error.as_deref())
            .await
            .map(|()| CallOk::Done),
        PortCall::RefundStars {
            user_id,
            access_hash,
            charge_id,
        } => port
            .refund_stars(user_id, access_hash, &charge_id)
            .await
            .map(|()| CallOk::Done),
        PortCall::CancelStarsSubscription {
            user_id,
            access_hash,
            charge_id,
            restore,
        } => port
            .cancel_stars_subscription(user_id, access_hash, &charge_id, restore)
            .await
            .map(|()| CallOk::Done),
        PortCall::StarsTransactions { offset } => port
            .stars_transactions(&offset)
            .await
            .map(CallOk::Transactions),
    };
    r.map_err(|e| e.to_string())
}

/// Builds the grammers port for an imported session.
fn grammers_port(
    imp: &crate::worker::session_import::ImportedSession,
    app: Option<&crate::worker::ipc::messages::TelegramApp>,
) -> Result<Grammers, String> {
    let app = app.ok_or(
        "the reseller has not configured telegram.api_id and telegram.api_hash".to_string(),
    )?;
    let addr = crate::worker::telegram::grammers::v4(imp.addr)
        .ok_or_else(|| format!("datacenter address {} is not IPv4", imp.addr))?;
    let key: [u8; 256] = imp.auth_key[..]
        .try_into()
        .map_err(|_| "the auth key is not 256 bytes".to_string())?;
    let key = Some(key);
    Ok(Grammers::new(GrammersConfig {
        api_id: app.api_id,
        api_hash: app.api_hash.clone(),
        dc_id: i32::from(imp.dc_id),
        addr,
        auth_key: key,
        bot_token: None,
        call_timeout: CALL_TIMEOUT,
        flood_sleep_max: app.flood_sleep_max_secs,
        markup: Markup::Markdown,
        proxy: app.proxy.as_ref().map(|p| p.to_string()),
        resume: imp.sync.clone(),
        seed_key: seed_key(app),
    }))
}

/// Builds the grammers port for a bot: a first start signs in with the token (after a key
/// exchange when no key is known yet); later starts reuse the key it reported.
fn bot_port(
    b: &crate::worker::ipc::messages::BotSession,
    app: Option<&crate::worker::ipc::messages::TelegramApp>,
) -> Result<Grammers, String> {
    let app = app.ok_or(
        "the reseller has not configured telegram.api_id and telegram.api_hash".to_string(),
    )?;
    let addr = crate::worker::telegram::grammers::v4(b.addr)
        .ok_or_else(|| format!("datacenter address {} is not IPv4", b.addr))?;
    let key = match &b.auth_key {
        Some(k) => Some(
            <[u8; 256]>::try_from(&k[..])
                .map_err(|_| "the auth key is not 256 bytes".to_string())?,
        ),
        None => None,
    };
    Ok(Grammers::new(GrammersConfig {
        api_id: app.api_id,
        api_hash: app.api_hash.clone(),
        dc_id: b.dc_id,
        addr,
        auth_key: key,
        bot_token: match (b.user_id, &b.auth_key) {
            (Some(_), Some(_)) => None,
            _ => Some(b.token.to_string()),
        },
        call_timeout: CALL_TIMEOUT,
        flood_sleep_max: app.flood_sleep_max_secs,
        markup: Markup::Markdown,
        proxy: app.proxy.as_ref().map(|p| p.to_string()),
        resume: b.sync.clone(),
        seed_key: seed_key(app),
    }))
}

/// Test datacenters only: the key every datacenter of the fake accepts.
fn seed_key(app: &crate::worker::ipc::messages::TelegramApp) -> Option<[u8; 256]> {
    app.seed_auth_key
        .as_ref()
        .and_then(|k| <[u8; 256]>::try_from(&k[..]).ok())
}

/// Longest a Telegram call may take before the session counts it as lost.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Commands and calls waiting for one session (a refresh, pre-checkout answers, refunds).
const CALLS_QUEUED: usize = 32;

async fn session_task(
    spec: SessionSpec,
    app: Option<crate::worker::ipc::messages::TelegramApp>,
    out: mpsc::Sender<FromWorker>,
    events: mpsc::Sender<(u64, Flow)>,
    refresh: mpsc::Receiver<SessionCmd>,
    sending: Sending,
) {
    let id = spec.id;
    match spec.kind {
        SessionKind::Sim(cfg) => {
            run_session(Sim::new(cfg), id, false, out, events, refresh, sending).await
        }
        SessionKind::Bot(b) => match bot_port(&b, app.as_ref()) {
            Ok(port) => {
                let first = b.user_id.is_none() || b.auth_key.is_none();
                // The platform bot sets its menu button to the Mini-App first.
                let port = MenuFirst {
                    port,
                    menu: spec.menu_app,
                };
                run_session(port, id, first, out, events, refresh, sending).await
            }
            Err(reason) => {
                let _ = out
                    .send(FromWorker::Session {
                        session: id,
                        state: SessionState::Error { reason },
                    })
                    .await;
            }
        },
        SessionKind::Imported(imp) => match grammers_port(&imp, app.as_ref()) {
            Ok(port) => run_session(port, id, false, out, events, refresh, sending).await,
            Err(reason) => {
                let _ = out
                    .send(FromWorker::Session {
                        session: id,
                        state: SessionState::Error { reason },
                    })
                    .await;
            }
        },
    }
}

/// A port that sets the bot's menu button right after each sign-in. A refusal (Telegram wants
/// an HTTPS address) is logged and the session goes on: the bot works without it.
struct MenuFirst<P> {
    port: P,
    menu: Option<crate::worker::ipc::messages::MenuApp>,
}

impl<P: TelegramPort> TelegramPort for MenuFirst<P> {
    async fn login(&mut self) -> Result<Me, PortError> {
        let me = self.port.login().await?;
        if let Some(m) = self.menu.as_ref().filter(|_| me.is_bot)
            && let Err(e) = self.port.set_menu_app(&m.text, &m.url).await
        {
            tracing::warn!(error = %e, url = %m.url, "the bot's menu button was not set (Mini-Apps need an HTTPS public URL)");
        }
        Ok(me)
    }
    async fn dialogs(&mut self) -> Result<Vec<Dialog>, PortError> {
        self.port.dialogs().await
    }
    async fn send(&mut self, msg: OutgoingMessage) -> Result<SentMessage, PortError> {
        self.port.send(msg).await
    }
    async fn next_event(&mut self) -> Result<IncomingEvent, PortError> {
        self.port.next_event().await
    }
    async fn logout(&mut self) -> Result<(), PortError> {
        self.port.logout().await
    }
    fn location(&self) -> Option<(i32, std::net::SocketAddr, [u8; 256])> {
        self.port.location()
    }
    fn now(&self) -> i64 {
        self.port.now()
    }
    async fn keepalive(&mut self) -> Result<(), PortError> {
        self.port.keepalive().await
    }
    async fn delete_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        self.port.delete_message(chat_id, message_id).await
    }
    async fn pin_message(&mut self, chat_id: i64, message_id: i64) -> Result<(), PortError> {
        self.port.pin_message(chat_id, message_id).await
    }
    async fn delete_messages(
        &mut self,
        chat_id: i64,
        message_ids: &[i64],
    ) -> Result<(), PortError> {
        self.port.delete_messages(chat_id, message_ids).await
    }
    async fn restrict(
        &mut self,
        chat_id: i64,
        user_id: i64,
        until: Option<i64>,
    ) -> Result<(), PortError> {
        self.port.restrict(chat_id, user_id, until).await
    }
    async fn kick(&mut self, chat_id: i64, user_id: i64) -> Result<(), PortError> {
        self.port.kick(chat_id, user_id).await
    }
    async fn answer_button(&mut self, query_id: i64, text: Option<&str>) -> Result<(), PortError> {
        self.port.answer_button(query_id, text).await
    }
    async fn admins(&mut self, chat_id: i64) -> Result<Vec<i64>, PortError> {
        self.port.admins(chat_id).await
    }
    async fn sync_state(&mut self) -> Option<crate::worker::telegram::SyncState> {
        self.port.sync_state().await
    }
    async fn export_invoice(
        &mut self,
        invoice: &crate::worker::telegram::StarsInvoice,
    ) -> Result<String, PortError> {
        self.port.export_invoice(invoice).await
    }
    async fn answer_precheckout(
        &mut self,
        query_id: i64,
        error: Option<&str>,
    ) -> Result<(), PortError> {
        self.port.answer_precheckout(query_id, error).await
    }
    async fn refund_stars(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
    ) -> Result<(), PortError> {
        self.port
            .refund_stars(user_id, access_hash, charge_id)
            .await
    }
    async fn stars_transactions(
        &mut self,
        offset: &str,
    ) -> Result<crate::worker::telegram::StarsPage, PortError> {
        self.port.stars_transactions(offset).await
    }
    async fn cancel_stars_subscription(
        &mut self,
        user_id: i64,
        access_hash: i64,
        charge_id: &str,
        restore: bool,
    ) -> Result<(), PortError> {
        self.port
            .cancel_stars_subscription(user_id, access_hash, charge_id, restore)
            .await
    }
}

/// One session's life: log in, report the dialogs, then stream events; flood waits pause it,
/// lost connections are retried with backoff, a revoked key ends it.
async fn run_session<P: TelegramPort>(
    mut port: P,
    id: u64,
    report_location: bool,
    out: mpsc::Sender<FromWorker>,
    events: mpsc::Sender<(u64, Flow)>,
    mut refresh: mpsc::Receiver<SessionCmd>,
    mut sending: Sending,
) {
    let say = |state| FromWorker::Session { session: id, state };
    let mut queue: VecDeque<SendJob> = VecDeque::new();
    // A flood wait shows in the session's state until the next post goes through.
    let mut flooded = false;
    if out.send(say(SessionState::Connecting)).await.is_err() {
        return;
    }
    let mut retry = Retry::new();
    let me = loop {
        match port.login().await {
            Ok(me) => break me,
            Err(PortError::Network(_)) => {
                let (wait, state) = retry.next(port.now());
                let _ = out.send(say(state)).await;
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                let _ = out.send(say(state_of(&e, port.now()))).await;
                return;
            }
        }
    };
    // Paced by what signed in: an imported session's kind may only be known now.
    let mut pacer = Pacer::new(if me.is_bot {
        sending.pacing_bot.clone()
    } else {
        sending.pacing_user.clone()
    });
    if report_location && let Some((dc_id, addr, key)) = port.location() {
        let _ = out
            .send(FromWorker::SessionMoved {
                session: id,
                dc_id,
                addr,
                auth_key: crate::worker::ipc::messages::KeyBytes(zeroize::Zeroizing::new(
                    key.to_vec(),
                )),
                user_id: me.user_id,
            })
            .await;
    }
    let _ = out.send(say(SessionState::Online { me: me.clone() })).await;
    let mut rules = ruling::Rules::new(id, &sending.rules, me.user_id);
    if !report_dialogs(&mut port, id, &out, &mut rules).await {
        return;
    }
    retry = Retry::new();
    let mut n = 0u32;
    let mut synced: Option<crate::worker::telegram::SyncState> = None;
    let mut sync_tick = tokio::time::interval(SYNC_EVERY);
    sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut alive_tick = tokio::time::interval_at(
        tokio::time::Instant::now() + KEEPALIVE_EVERY,
        KEEPALIVE_EVERY,
    );
    alive_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    rules.refresh_admins(&mut port, true).await;
    let mut hits_tick = tokio::time::interval(ruling::HITS_EVERY);
    hits_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let due = rules.due_in(port.now());
        let next = tokio::select! {
            _ = tokio::time::sleep(due.unwrap_or(Duration::MAX)), if due.is_some() => {
                rules.tick(&mut port, &mut queue).await;
                continue;
            }
            _ = hits_tick.tick() => {
                rules.flush(&out).await;
                rules.refresh_admins(&mut port, false).await;
                continue;
            }
            _ = alive_tick.tick() => match port.keepalive().await {
                Ok(()) => continue,
                // Handled below like a failed read: report, back off, reconnect.
                Err(e) => Err(e),
            },
            _ = sync_tick.tick() => {
                if let Some(state) = port.sync_state().await
                    && synced.as_ref() != Some(&state)
                {
                    synced = Some(state.clone());
                    if events.send((id, Flow::Sync(state))).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            Some(job) = sending.jobs.recv() => {
                // A job already queued (handed again after a worker restart raced a run)
                // goes once.
                if !queue.iter().any(|j| j.key() == job.key()) {
                    queue.push_back(job);
                }
                continue;
            }
            _ = send_wait(&pacer, &queue), if !queue.is_empty() => {
                let Ok(i) = pacer.pick(queue.iter().map(|j| j.chat_id), now_ms() as u64) else { continue };
                let Some(job) = queue.remove(i) else { continue };
                if let Some(rp) = job.rule.clone() {
                    let posted = post(&mut port, &job, &sending).await;
                    pacer.sent(job.chat_id, now_ms() as u64);
                    if let Posted::Again { .. } = posted {
                        // A rule's message is not worth a second try after a wait: by then
                        // the moment it answered has passed.
                        rules.failed(rp.rule, job.chat_id, "Telegram asked to wait");
                    } else if let Posted::Done(outcome) = posted {
                        rules.posted(&rp, job.chat_id, outcome, port.now());
                    }
                    continue;
                }
                match post(&mut port, &job, &sending).await {
                    Posted::Done(outcome) => {
                        // A refused post was a call to Telegram too: it counts for the pace.
                        pacer.sent(job.chat_id, now_ms() as u64);
                        if let DeliveryOutcome::Failed { code, .. } = &outcome
                            && *code == FailureCode::FloodWait
                        {
                            // Longer than we wait for: the rest of the queue still holds off.
                            pacer.flood_wait(now_ms() as u64, sending.flood_wait_max_secs);
                        }
                        if matches!(outcome, DeliveryOutcome::Sent { .. }) && flooded {
                            flooded = false;
                            let _ = out.send(say(SessionState::Online { me: me.clone() })).await;
                        }
                        let revoked = matches!(&outcome, DeliveryOutcome::Failed { code: FailureCode::Revoked, .. });
                        let _ = out.send(FromWorker::Delivered { campaign: job.campaign, run: job.run, chat_id: job.chat_id, outcome }).await;
                        if revoked {
                            let at_ms = now_ms();
                            for j in queue.drain(..) {
                                let _ = out.send(FromWorker::Delivered { campaign: j.campaign, run: j.run, chat_id: j.chat_id, outcome: DeliveryOutcome::Failed { code: FailureCode::Revoked, at_ms } }).await;
                            }
                            let _ = out.send(say(SessionState::Revoked)).await;
                            return;
                        }
                    }
                    Posted::Again { flood_secs, slow_secs, net } => {
                        let now = now_ms() as u64;
                        if let Some(s) = flood_secs {
                            flooded = true;
                            pacer.flood_wait(now, s);
                            let _ = out.send(say(state_of(&PortError::FloodWait(s), port.now()))).await;
                        }
                        if let Some(s) = slow_secs {
                            pacer.slow_mode(job.chat_id, now, s);
                        }
                        if net {
                            // Give the connection a moment; the next call reconnects.
                            pacer.flood_wait(now, 5);
                        }
                        queue.push_front(job);
                    }
                }
                continue;
            }
            Some(cmd) = refresh.recv() => {
                match cmd {
                    SessionCmd::Refresh => {
                        if !report_dialogs(&mut port, id, &out, &mut rules).await {
                            return;
                        }
                    }
                    SessionCmd::Logout => {
                        let result = port.logout().await.map_err(|e| e.to_string());
                        let _ = out.send(FromWorker::LoggedOut { session: id, result }).await;
                        return;
                    }
                    SessionCmd::Call(c, op) => {
                        let result = call(&mut port, op).await;
                        let _ = out.send(FromWorker::CallDone { call: c, result }).await;
                    }
                    SessionCmd::Rules(set) => {
                        rules.set(&set);
                        rules.refresh_admins(&mut port, true).await;
                    }
                }
                continue;
            }
            e = port.next_event() => e,
        };
        match next {
            Ok(mut e) => {
                rules.on_event(&mut port, &mut queue, &e).await;
                // What members wrote stays here; a button press is the rules' alone.
                match &mut e {
                    IncomingEvent::Message { content, .. } => *content = None,
                    IncomingEvent::Button { .. } => continue,
                    _ => {}
                }
                if events.send((id, Flow::Event(e))).await.is_err() {
                    return;
                }
                n = n.wrapping_add(1);
                // A simulator at full speed never waits: let the rest of the worker run.
                if n.is_multiple_of(256) {
                    tokio::task::yield_now().await;
                }
            }
            Err(PortError::FloodWait(s)) => {
                let _ = out
                    .send(say(state_of(&PortError::FloodWait(s), port.now())))
                    .await;
                tokio::time::sleep(Duration::from_secs(u64::from(s))).await;
                let _ = out.send(say(SessionState::Online { me: me.clone() })).await;
            }
            Err(PortError::Network(_)) => {
                // Reconnect by asking for something; the client opens a new connection.
                let (wait, state) = retry.next(port.now());
                let _ = out.send(say(state)).await;
                tokio::time::sleep(wait).await;
                if report_dialogs(&mut port, id, &out, &mut rules).await {
                    retry = Retry::new();
                    let _ = out.send(say(SessionState::Online { me: me.clone() })).await;
                }
            }
            Err(e) => {
                let _ = out.send(say(state_of(&e, port.now()))).await;
                return;
            }
        }
    }
}

/// `d` plus up to a quarter more, so sessions that failed together do not retry together.
fn jittered(d: Duration) -> Duration {
    d + d.mul_f64(rand::random_range(0.0..0.25))
}
