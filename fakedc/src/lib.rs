//! A fake Telegram datacenter on loopback for botyard's tests. It speaks MTProto 2.0 as a
//! server: the full transport (length, sequence number, CRC32), message encryption and
//! decryption with an auth key the test knows (clients are seeded with it, so no key exchange
//! happens), message containers, gzip-packed requests and answers, `rpc_result` and
//! `rpc_error`, pings, and updates pushed at any time. Answers come from a [`Handler`]; the
//! [`world::World`] handler behaves like enough of Telegram for the adapter's tests.

pub mod crypto;
pub mod defaults;
pub mod socks;
pub mod srp;
pub mod stars;
pub mod world;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use grammers_tl_types::{self as tl, Deserializable, Identifiable, Serializable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

use crate::crypto::Key;

pub const RPC_RESULT: u32 = 0xf35c_6d01;
pub const MSG_CONTAINER: u32 = 0x73f1_f8dc;
pub const GZIP_PACKED: u32 = 0x3072_cfa1;
/// Answers at least this long are sent gzip-packed, as Telegram does.
pub const GZIP_OVER: usize = 512;
const FRAME_MAX: usize = 4 << 20;

/// One request a client made (wrappers such as `invokeWithLayer` and `initConnection`
/// removed).
#[derive(Clone, Debug)]
pub struct Call {
    pub constructor: u32,
    pub name: &'static str,
    /// The serialized request, constructor id included.
    pub body: Vec<u8>,
    /// The layer the client announced on this connection.
    pub layer: Option<i32>,
    /// Which TCP connection (counts up from 1).
    pub connection: u64,
}

impl Call {
    /// Decodes the request as `F` when it is one.
    pub fn decode<F: Identifiable + Deserializable>(&self) -> Option<F> {
        if self.constructor != F::CONSTRUCTOR_ID {
            return None;
        }
        F::from_bytes(&self.body[4..]).ok()
    }
}

pub enum Answer {
    /// The serialized (boxed) result object.
    Result(Vec<u8>),
    /// An `rpc_error`, e.g. `(420, "FLOOD_WAIT_30")`.
    Error(i32, String),
    /// No answer at all: a server gone silent.
    Silent,
}

impl Answer {
    pub fn of<T: Serializable>(value: &T) -> Self {
        Answer::Result(value.to_bytes())
    }
}

pub trait Handler: Send + Sync + 'static {
    fn answer(&self, call: &Call) -> Answer;
}

/// Things the server saw besides calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Connected(u64),
    /// A message under an auth key the server does not know, answered with transport -404.
    KeyRejected(u64),
    /// A plaintext message (a client starting a key exchange).
    KeyExchangeAttempt(u64),
    /// A frame that did not decode; the connection was closed.
    BadFrame(u64, String),
}

struct Shared {
    key: Key,
    handler: Arc<dyn Handler>,
    calls: Mutex<Vec<Call>>,
    events: Mutex<Vec<Event>>,
    reject_key: AtomicBool,
    silent: AtomicBool,
    connections: AtomicU64,
    pushes: broadcast::Sender<Vec<u8>>,
    changed: tokio::sync::Notify,
}

/// A running fake datacenter.
pub struct FakeDc {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeDc {
    /// Listens on 127.0.0.1 on a free port.
    pub async fn start(auth_key: [u8; 256], handler: Arc<dyn Handler>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (pushes, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            key: Key::new(auth_key),
            handler,
            calls: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            reject_key: AtomicBool::new(false),
            silent: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            pushes,
            changed: tokio::sync::Notify::new(),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let n = s.connections.fetch_add(1, Ordering::SeqCst) + 1;
                s.event(Event::Connected(n));
                tokio::spawn(Conn::new(s.clone(), n).serve(stream));
            }
        });
        Ok(FakeDc { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared.calls).clone()
    }

    pub fn events(&self) -> Vec<Event> {
        lock(&self.shared.events).clone()
    }

    /// Waits until `f` holds for the calls and events seen so far.
    pub async fn wait_for(&self, mut f: impl FnMut(&[Call], &[Event]) -> bool) {
        loop {
            let notified = self.shared.changed.notified();
            if f(&lock(&self.shared.calls), &lock(&self.shared.events)) {
                return;
            }
            notified.await;
        }
    }

    /// From now on every message is answered with transport error -404, as Telegram does for
    /// an auth key it does not know (revoked, or deleted with the account).
    pub fn reject_key(&self, on: bool) {
        self.shared.reject_key.store(on, Ordering::SeqCst);
    }

    /// Stops answering anything (pings included) while on.
    pub fn set_silent(&self, on: bool) {
        self.shared.silent.store(on, Ordering::SeqCst);
    }

    /// Sends an update to every connected client.
    pub fn push(&self, updates: &tl::enums::Updates) {
        let _ = self.shared.pushes.send(updates.to_bytes());
    }
}

impl Shared {
    fn event(&self, e: Event) {
        lock(&self.events).push(e);
        self.changed.notify_waiters();
    }
}

/// One client connection: transport framing, the message envelope and dispatch.
struct Conn {
    shared: Arc<Shared>,
    n: u64,
    out_seq: i32,
    in_seq: i32,
    session_id: i64,
    content_sent: i32,
    last_msg_id: i64,
    layer: Option<i32>,
}

#[derive(Debug)]
struct Bad(String);

impl Conn {
    fn new(shared: Arc<Shared>, n: u64) -> Self {
        Conn {
            shared,
            n,
            out_seq: 0,
            in_seq: 0,
            session_id: 0,
            content_sent: 0,
            last_msg_id: 0,
            layer: None,
        }
    }

    async fn serve(mut self, stream: TcpStream) {
        let (mut rd, mut wr) = stream.into_split();
        let mut pushes = self.shared.pushes.subscribe();
        loop {
            tokio::select! {
                frame = read_frame(&mut rd, &mut self.in_seq) => {
                    let payload = match frame {
                        Ok(Some(p)) => p,
                        Ok(None) => return,
                        Err(Bad(why)) => {
                            self.shared.event(Event::BadFrame(self.n, why));
                            return;
                        }
                    };
                    match self.on_payload(&payload) {
                        Ok(Reply::Messages(out)) => {
                            for body in out {
                                if self.send(&mut wr, &body).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Ok(Reply::Status(code)) => {
                            let _ = wr.write_all(&code.to_le_bytes()).await;
                            return;
                        }
                        Ok(Reply::Close) => return,
                        Err(Bad(why)) => {
                            self.shared.event(Event::BadFrame(self.n, why));
                            return;
                        }
                    }
                }
                push = pushes.recv() => {
                    let Ok(body) = push else { continue };
                    if self.session_id != 0
                        && !self.shared.silent.load(Ordering::SeqCst)
                        && self.send(&mut wr, &body).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
    }

    fn on_payload(&mut self, payload: &[u8]) -> Result<Reply, Bad> {
        if payload.len() >= 8 && payload[..8] == [0; 8] {
            self.shared.event(Event::KeyExchangeAttempt(self.n));
            return Ok(Reply::Close);
        }
        if self.shared.reject_key.load(Ordering::SeqCst) {
            self.shared.event(Event::KeyRejected(self.n));
            return Ok(Reply::Status(-404));
        }
        let plain = crypto::decrypt_from_client(&self.shared.key, payload).map_err(|e| {
            if matches!(e, crypto::CryptoError::UnknownKey(_)) {
                self.shared.event(Event::KeyRejected(self.n));
            }
            Bad(format!("{e:?}"))
        })?;
        if plain.len() < 32 {
            return Err(Bad("short envelope".into()));
        }
        let i64_at = |o: usize| i64::from_le_bytes(plain[o..o + 8].try_into().unwrap_or([0; 8]));
        self.session_id = i64_at(8);
        let msg_id = i64_at(16);
        let len = i32::from_le_bytes(plain[28..32].try_into().unwrap_or([0; 4]));
        let len = usize::try_from(len).map_err(|_| Bad("negative length".into()))?;
        let body = plain
            .get(32..32 + len)
            .ok_or_else(|| Bad("length past the end".into()))?;
        if self.shared.silent.load(Ordering::SeqCst) {
            return Ok(Reply::Messages(Vec::new()));
        }
        let mut out = Vec::new();
        self.dispatch(msg_id, body, &mut out)?;
        Ok(Reply::Messages(out))
    }

    fn dispatch(&mut self, msg_id: i64, body: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), Bad> {
        let ctor = u32_at(body, 0)?;
        match ctor {
            MSG_CONTAINER => {
                let count = u32_at(body, 4)? as usize;
                let mut at = 8;
                for _ in 0..count {
                    let inner_id = i64::from_le_bytes(
                        body.get(at..at + 8)
                            .and_then(|b| b.try_into().ok())
                            .ok_or_else(|| Bad("container truncated".into()))?,
                    );
                    let len = u32_at(body, at + 12)? as usize;
                    let inner = body
                        .get(at + 16..at + 16 + len)
                        .ok_or_else(|| Bad("container item truncated".into()))?;
                    self.dispatch(inner_id, inner, out)?;
                    at += 16 + len;
                }
                Ok(())
            }
            GZIP_PACKED => {
                let packed = Vec::<u8>::from_bytes(&body[4..])
                    .map_err(|e| Bad(format!("gzip_packed: {e}")))?;
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&packed[..])
                    .take(FRAME_MAX as u64)
                    .read_to_end(&mut plain)
                    .map_err(|e| Bad(format!("gunzip: {e}")))?;
                self.dispatch(msg_id, &plain, out)
            }
            tl::types::MsgsAck::CONSTRUCTOR_ID => Ok(()),
            tl::functions::Ping::CONSTRUCTOR_ID
            | tl::functions::PingDelayDisconnect::CONSTRUCTOR_ID => {
                let ping_id = i64::from_le_bytes(
                    body.get(4..12)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| Bad("ping truncated".into()))?,
                );
                out.push(tl::enums::Pong::Pong(tl::types::Pong { msg_id, ping_id }).to_bytes());
                Ok(())
            }
            tl::functions::InvokeWithLayer::<()>::CONSTRUCTOR_ID => {
                let layer = u32_at(body, 4)? as i32;
                self.layer = Some(layer);
                self.dispatch(msg_id, &body[8..], out)
            }
            tl::functions::InitConnection::<()>::CONSTRUCTOR_ID => {
                // flags, api_id, then six strings; grammers sets neither proxy nor params.
                let mut c = tl::Cursor::from_slice(&body[4..]);
                let flags = i32::deserialize(&mut c).map_err(|e| Bad(e.to_string()))?;
                if flags != 0 {
                    return Err(Bad(format!("initConnection flags {flags} not supported")));
                }
                let _api_id = i32::deserialize(&mut c).map_err(|e| Bad(e.to_string()))?;
                for _ in 0..6 {
                    String::deserialize(&mut c).map_err(|e| Bad(e.to_string()))?;
                }
                let at = 4 + c.pos();
                self.dispatch(msg_id, &body[at..], out)
            }
            _ => {
                let call = Call {
                    constructor: ctor,
                    name: tl::name_for_id(ctor),
                    body: body.to_vec(),
                    layer: self.layer,
                    connection: self.n,
                };
                let answer = self.shared.handler.answer(&call);
                lock(&self.shared.calls).push(call);
                self.shared.changed.notify_waiters();
                let result = match answer {
                    Answer::Silent => return Ok(()),
                    Answer::Result(bytes) => bytes,
                    Answer::Error(code, message) => {
                        tl::enums::RpcError::Error(tl::types::RpcError {
                            error_code: code,
                            error_message: message,
                        })
                        .to_bytes()
                    }
                };
                let mut m = Vec::with_capacity(result.len() + 12);
                m.extend_from_slice(&RPC_RESULT.to_le_bytes());
                m.extend_from_slice(&msg_id.to_le_bytes());
                if result.len() >= GZIP_OVER {
                    m.extend_from_slice(&GZIP_PACKED.to_le_bytes());
                    gzip(&result).serialize(&mut m);
                } else {
                    m.extend_from_slice(&result);
                }
                out.push(m);
                Ok(())
            }
        }
    }

    fn next_msg_id(&mut self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        // Server messages: msg_id ≡ 1 (mod 4), strictly increasing.
        let id = ((now << 32) | 1).max(self.last_msg_id + 4);
        self.last_msg_id = id;
        id
    }

    async fn send(
        &mut self,
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
        body: &[u8],
    ) -> std::io::Result<()> {
        let msg_id = self.next_msg_id();
        let seq_no = self.content_sent * 2 + 1;
        self.content_sent += 1;
        let mut plain = Vec::with_capacity(32 + body.len());
        plain.extend_from_slice(&0i64.to_le_bytes());
        plain.extend_from_slice(&self.session_id.to_le_bytes());
        plain.extend_from_slice(&msg_id.to_le_bytes());
        plain.extend_from_slice(&seq_no.to_le_bytes());
        plain.extend_from_slice(&(body.len() as i32).to_le_bytes());
        plain.extend_from_slice(body);
        let packet = crypto::encrypt_for_client(&self.shared.key, &plain, msg_id as u8);
        write_frame(wr, &mut self.out_seq, &packet).await
    }
}

enum Reply {
    Messages(Vec<Vec<u8>>),
    /// A transport error code, then the connection closes.
    Status(i32),
    Close,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Bad> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| Bad(format!("truncated at {at}")))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Full transport: `len:i32 | seq:i32 | payload | crc32`, all little-endian.
async fn read_frame(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    seq: &mut i32,
) -> Result<Option<Vec<u8>>, Bad> {
    let mut head = [0u8; 8];
    match rd.read_exact(&mut head).await {
        Ok(_) => {}
        Err(_) => return Ok(None),
    }
    let len = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let got_seq = i32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let len = usize::try_from(len)
        .ok()
        .filter(|l| (12..=FRAME_MAX).contains(l))
        .ok_or_else(|| Bad(format!("frame length {len}")))?;
    let mut rest = vec![0u8; len - 8];
    rd.read_exact(&mut rest)
        .await
        .map_err(|e| Bad(format!("frame body: {e}")))?;
    let (payload, crc) = rest.split_at(len - 12);
    let mut h = crc32fast::Hasher::new();
    h.update(&head);
    h.update(payload);
    if h.finalize().to_le_bytes() != crc {
        return Err(Bad("crc32 mismatch".into()));
    }
    if got_seq != *seq {
        return Err(Bad(format!("transport seq {got_seq}, expected {seq}")));
    }
    *seq += 1;
    Ok(Some(payload.to_vec()))
}

async fn write_frame(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    seq: &mut i32,
    payload: &[u8],
) -> std::io::Result<()> {
    let len = (payload.len() + 12) as i32;
    let mut f = Vec::with_capacity(payload.len() + 12);
    f.extend_from_slice(&len.to_le_bytes());
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(payload);
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    *seq += 1;
    wr.write_all(&f).await
}
