//! Importing sessions made by other Telegram clients: Telethon and Pyrogram string sessions
//! (Pyrogram in all three layouts it has used) and their `.session` SQLite files. What comes
//! out is an auth key with its datacenter, ready to be sealed in the store.
//!
//! Layouts, as the two libraries write them:
//! - Telethon string: `'1'` + URL-safe base64 of `>B{4|16}sH256s` (dc id, IPv4 or IPv6
//!   address, port, auth key): 263 or 275 bytes.
//! - GramJS `StringSession`: `'1'` + standard base64 of dc id (1 byte), address length
//!   (2 bytes, big-endian), the address as text, port (2 bytes), auth key: 261 + address bytes.
//! - Pyrogram string, URL-safe base64 without padding of:
//!   - `>B?256sI?` (dc id, test mode, auth key, 32-bit user id, is bot): 263 bytes, until 1.x;
//!   - `>B?256sQ?` (64-bit user id): 267 bytes;
//!   - `>BI?256sQ?` (dc id, api id, test mode, auth key, user id, is bot): 271 bytes, 2.x;
//!   - 0.x wrote the first layout after a `:`.
//! - Telethon file: tables `version(version)` and
//!   `sessions(dc_id, server_address, port, auth_key, …)`; `update_state(id, pts, qts, date,
//!   seq)` (id 0: the account's sequence; others: a channel's pts) and `entities(id, hash, …)`
//!   (channels under their marked id) seed where the session resumes.
//! - Either file in WAL mode (bytes 18–19 of the header are 2) is read as a rollback-journal
//!   file: once its client closed it, its pages hold everything.
//! - Pyrogram file: tables `version(number)` and
//!   `sessions(dc_id, [api_id,] test_mode, auth_key, date, user_id, is_bot)`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Largest `.session` file accepted (a Telethon entity cache of a busy account stays well below).
pub const FILE_MAX: usize = 16 << 20;
/// Longest string accepted (the longest real layout is 368 characters).
pub const STRING_MAX: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    TelethonString,
    PyrogramString,
    GramjsString,
    TelethonFile,
    PyrogramFile,
    /// Not imported: logged in here by phone.
    PhoneLogin,
    /// Not imported: logged in here by QR code.
    QrLogin,
}

/// A session taken over from another client. The auth key is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedSession {
    pub source: ImportSource,
    pub dc_id: u8,
    /// Where that datacenter is (Pyrogram does not store it: taken from Telegram's list).
    pub addr: SocketAddr,
    pub auth_key: Zeroizing<Vec<u8>>,
    pub user_id: Option<i64>,
    pub is_bot: Option<bool>,
    pub test_mode: bool,
    pub api_id: Option<i32>,
    /// Where the session left off in Telegram's update sequences (set by its worker).
    #[serde(default)]
    pub sync: Option<crate::worker::telegram::SyncState>,
}

impl ImportedSession {
    /// The auth key's id as MTProto defines it: the low 64 bits of the key's SHA-1.
    pub fn key_id(&self) -> u64 {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(self.auth_key.as_slice());
        let mut low = [0u8; 8];
        low.copy_from_slice(&digest[12..20]);
        u64::from_le_bytes(low)
    }
}

impl std::fmt::Debug for ImportedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedSession")
            .field("source", &self.source)
            .field("dc_id", &self.dc_id)
            .field("addr", &self.addr)
            .field("auth_key", &"***")
            .field("user_id", &self.user_id)
            .field("is_bot", &self.is_bot)
            .field("test_mode", &self.test_mode)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("the session string is empty")]
    Empty,
    #[error("the session string has {0} characters; real ones have fewer than {STRING_MAX}")]
    TooLong(usize),
    #[error("the session string is not URL-safe base64: {0}")]
    NotBase64(String),
    #[error("Telethon string session version `{0}` is not supported (only version 1 exists)")]
    TelethonVersion(char),
    #[error(
        "the decoded session has {0} bytes, which matches no layout (Telethon: 263 or 275; GramJS: 261 and the address; Pyrogram: 263, 267 or 271)"
    )]
    Length(usize),
    #[error("the file is {0} bytes; at most {FILE_MAX} are accepted")]
    FileTooLarge(usize),
    #[error("the file is not an SQLite database")]
    NotSqlite,
    #[error("the SQLite file is not a Telethon or Pyrogram session: {0}")]
    Schema(String),
    #[error("the session file holds no logged-in session")]
    NoSession,
    #[error(
        "the file is in WAL mode and its latest changes are still in its `-wal` file: stop the client that uses it (it then writes them into the file) and send the file again"
    )]
    WalPending,
    #[error("the auth key has {0} bytes instead of 256")]
    AuthKey(usize),
    #[error("datacenter {0} does not exist")]
    Datacenter(i64),
    #[error("the datacenter address is not valid: {0}")]
    Address(String),
}

impl ImportError {
    /// Stable error code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Empty | ImportError::TooLong(_) => "import.string",
            ImportError::NotBase64(_) => "import.encoding",
            ImportError::TelethonVersion(_) => "import.version",
            ImportError::Length(_) => "import.length",
            ImportError::FileTooLarge(_) => "import.too_large",
            ImportError::NotSqlite => "import.not_sqlite",
            ImportError::Schema(_) => "import.schema",
            ImportError::NoSession => "import.no_session",
            ImportError::WalPending => "import.wal",
            ImportError::AuthKey(_) => "import.auth_key",
            ImportError::Datacenter(_) => "import.datacenter",
            ImportError::Address(_) => "import.address",
        }
    }
}

/// Telegram's datacenters (production and test), as clients that store only the id use them.
/// Telegram's published address ranges (core.telegram.org/resources/cidr.txt): production
/// and test datacenters. An imported session may name no other address, so an import cannot
/// make a worker probe the host's network.
pub const TELEGRAM_NETS: [&str; 14] = [
    "91.105.192.0/23",
    "91.108.4.0/22",
    "91.108.8.0/22",
    "91.108.12.0/22",
    "91.108.16.0/22",
    "91.108.20.0/22",
    "91.108.56.0/22",
    "95.161.64.0/20",
    "149.154.160.0/20",
    "185.76.151.0/24",
    "2001:67c:4e8::/48",
    "2001:b28:f23c::/47",
    "2001:b28:f23f::/48",
    "2a0a:f280::/32",
];

/// Whether `ip` is one of Telegram's, or in `also` (`telegram.import_allow`, for a
/// self-hosted test datacenter).
pub fn is_telegram_address(ip: IpAddr, also: &[ipnet::IpNet]) -> bool {
    TELEGRAM_NETS
        .iter()
        .filter_map(|n| n.parse::<ipnet::IpNet>().ok())
        .chain(also.iter().copied())
        .any(|n| n.contains(&ip))
}

/// Refuses a session whose datacenter address is not Telegram's (`import.address`).
pub fn check_address(s: &ImportedSession, also: &[ipnet::IpNet]) -> Result<(), ImportError> {
    if is_telegram_address(s.addr.ip(), also) {
        Ok(())
    } else {
        Err(ImportError::Address(format!(
            "{} is not one of Telegram's datacenters",
            s.addr.ip()
        )))
    }
}

pub fn datacenter(dc_id: u8, test_mode: bool) -> Option<SocketAddr> {
    let ip = match (test_mode, dc_id) {
        (false, 1) => Ipv4Addr::new(149, 154, 175, 53),
        (false, 2) => Ipv4Addr::new(149, 154, 167, 51),
        (false, 3) => Ipv4Addr::new(149, 154, 175, 100),
        (false, 4) => Ipv4Addr::new(149, 154, 167, 91),
        (false, 5) => Ipv4Addr::new(91, 108, 56, 130),
        (true, 1) => Ipv4Addr::new(149, 154, 175, 10),
        (true, 2) => Ipv4Addr::new(149, 154, 167, 40),
        (true, 3) => Ipv4Addr::new(149, 154, 175, 117),
        _ => return None,
    };
    Some(SocketAddr::new(IpAddr::V4(ip), 443))
}

fn dc(id: i64, test_mode: bool) -> Result<(u8, SocketAddr), ImportError> {
    let d = u8::try_from(id).map_err(|_| ImportError::Datacenter(id))?;
    let addr = datacenter(d, test_mode).ok_or(ImportError::Datacenter(id))?;
    Ok((d, addr))
}

fn key(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    if bytes.len() != 256 {
        return Err(ImportError::AuthKey(bytes.len()));
    }
    Ok(Zeroizing::new(bytes.to_vec()))
}

fn b64(s: &str) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // Telethon pads, Pyrogram does not; a cut-off paste should be reported by its length.
    // GramJS writes the standard alphabet: its two letters are mapped to the URL-safe ones.
    let s: String = s
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT
        .decode(&s)
        .map(Zeroizing::new)
        .map_err(|e| ImportError::NotBase64(e.to_string()))
}

/// Reads a Telethon or Pyrogram string session, telling them apart by their layouts.
pub fn parse_string(s: &str) -> Result<ImportedSession, ImportError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ImportError::Empty);
    }
    if s.len() > STRING_MAX {
        return Err(ImportError::TooLong(s.len()));
    }
    // Telethon and GramJS prefix a version digit; Pyrogram's first character encodes a dc id
    // of 1–5, which base64 writes as `A`, or is the `:` of its 0.x strings.
    match s.chars().next() {
        Some(c) if c.is_ascii_digit() => {
            if c != '1' {
                return Err(ImportError::TelethonVersion(c));
            }
            let b = b64(&s[1..])?;
            match gramjs_address_len(&b) {
                Some(n) => parse_gramjs(&b, n),
                None => parse_telethon(&b),
            }
        }
        Some(':') => parse_pyrogram(&b64(&s[1..])?),
        _ => parse_pyrogram(&b64(s)?),
    }
}

/// The address length of a GramJS layout: the two bytes after the dc id give the length of
/// a printable address that fills the string up to its port and key. (In Telethon's layout
/// they are the first bytes of an IP address and never match.)
fn gramjs_address_len(b: &[u8]) -> Option<usize> {
    let n = usize::from(u16::from_be_bytes([*b.get(1)?, *b.get(2)?]));
    (n > 0 && b.len() == 261 + n && b[3..3 + n].iter().all(u8::is_ascii_graphic)).then_some(n)
}

fn parse_gramjs(b: &[u8], n: usize) -> Result<ImportedSession, ImportError> {
    let dc_id = b[0];
    let text = String::from_utf8_lossy(&b[3..3 + n]);
    let ip: IpAddr = text
        .parse()
        .map_err(|_| ImportError::Address(text.chars().take(64).collect()))?;
    let port = u16::from_be_bytes([b[3 + n], b[4 + n]]);
    let (_, known) = dc(i64::from(dc_id), false)?;
    let addr = if ip.is_ipv6() {
        known
    } else {
        checked_addr(ip, i64::from(port))?
    };
    Ok(ImportedSession {
        source: ImportSource::GramjsString,
        dc_id,
        addr,
        auth_key: key(&b[5 + n..])?,
        user_id: None,
        is_bot: None,
        test_mode: false,
        api_id: None,
        sync: None,
    })
}

fn parse_telethon(b: &[u8]) -> Result<ImportedSession, ImportError> {
    let ip_len = match b.len() {
        263 => 4,
        275 => 16,
        n => return Err(ImportError::Length(n)),
    };
    let dc_id = b[0];
    let ip: IpAddr = if ip_len == 4 {
        let o: [u8; 4] = b[1..5]
            .try_into()
            .map_err(|_| ImportError::Length(b.len()))?;
        IpAddr::V4(Ipv4Addr::from(o))
    } else {
        let o: [u8; 16] = b[1..17]
            .try_into()
            .map_err(|_| ImportError::Length(b.len()))?;
        IpAddr::V6(Ipv6Addr::from(o))
    };
    let port = u16::from_be_bytes([b[1 + ip_len], b[2 + ip_len]]);
    let (_, known) = dc(i64::from(dc_id), false)?;
    // The worker connects over IPv4: a session saved over IPv6 goes to its DC's IPv4 address.
    let addr = if ip.is_ipv6() {
        known
    } else {
        checked_addr(ip, i64::from(port))?
    };
    Ok(ImportedSession {
        source: ImportSource::TelethonString,
        dc_id,
        addr,
        auth_key: key(&b[3 + ip_len..])?,
        user_id: None,
        is_bot: None,
        test_mode: false,
        api_id: None,
        sync: None,
    })
}

fn checked_addr(ip: IpAddr, port: i64) -> Result<SocketAddr, ImportError> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| ImportError::Address(format!("port {port}")))?;
    if ip.is_unspecified() || ip.is_multicast() {
        return Err(ImportError::Address(ip.to_string()));
    }
    Ok(SocketAddr::new(ip, port))
}

fn parse_pyrogram(b: &[u8]) -> Result<ImportedSession, ImportError> {
    // (offset of test mode, of the key, of the user id, user id width, api id present)
    let (api, test_at, user_width) = match b.len() {
        263 => (false, 1, 4),
        267 => (false, 1, 8),
        271 => (true, 5, 8),
        n => return Err(ImportError::Length(n)),
    };
    let test_mode = b[test_at] != 0;
    let (dc_id, addr) = dc(i64::from(b[0]), test_mode)?;
    let key_at = test_at + 1;
    let user_at = key_at + 256;
    let user = &b[user_at..user_at + user_width];
    let user_id = if user_width == 4 {
        i64::from(u32::from_be_bytes([user[0], user[1], user[2], user[3]]))
    } else {
        let mut w = [0u8; 8];
        w.copy_from_slice(user);
        i64::from_be_bytes(w)
    };
    let api_id = api.then(|| i32::from_be_bytes([b[1], b[2], b[3], b[4]]));
    Ok(ImportedSession {
        source: ImportSource::PyrogramString,
        dc_id,
        addr,
        auth_key: key(&b[key_at..user_at])?,
        user_id: Some(user_id),
        is_bot: Some(b[user_at + user_width] != 0),
        test_mode,
        api_id: api_id.filter(|a| *a != 0),
        sync: None,
    })
}

/// Reads a Telethon or Pyrogram `.session` SQLite file from memory (nothing touches disk).
pub fn parse_file(bytes: &[u8]) -> Result<ImportedSession, ImportError> {
    if bytes.len() > FILE_MAX {
        return Err(ImportError::FileTooLarge(bytes.len()));
    }
    if !bytes.starts_with(b"SQLite format 3\0") {
        return Err(ImportError::NotSqlite);
    }
    // A WAL-mode file is read as a rollback-journal one: the in-memory reader has no WAL.
    let wal = bytes.len() > 19 && (bytes[18] == 2 || bytes[19] == 2);
    let unwal;
    let bytes = if wal {
        unwal = {
            let mut v = Zeroizing::new(bytes.to_vec());
            v[18] = 1;
            v[19] = 1;
            v
        };
        unwal.as_slice()
    } else {
        bytes
    };
    let mut conn = rusqlite::Connection::open_in_memory()
        .map_err(|e| ImportError::Schema(format!("cannot open: {e}")))?;
    conn.deserialize_read_exact(rusqlite::MAIN_DB, bytes, bytes.len(), true)
        .map_err(|_| ImportError::NotSqlite)?;
    let read = read_session_tables(&conn);
    match read {
        // What a WAL-mode file lacks is still in its `-wal` file.
        Err(ImportError::NoSession | ImportError::Schema(_)) if wal => Err(ImportError::WalPending),
        other => other,
    }
}

fn read_session_tables(conn: &rusqlite::Connection) -> Result<ImportedSession, ImportError> {
    let columns = |table: &str| -> Result<Vec<String>, ImportError> {
        let mut st = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .map_err(|_| ImportError::NotSqlite)?;
        let rows = st
            .query_map([table], |r| r.get::<_, String>(0))
            .map_err(|_| ImportError::NotSqlite)?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|_| ImportError::NotSqlite)
    };
    let sessions = columns("sessions")?;
    let has = |c: &str| sessions.iter().any(|x| x == c);
    if sessions.is_empty() {
        return Err(ImportError::Schema("no `sessions` table".into()));
    }
    if has("server_address") && has("port") && has("auth_key") {
        read_telethon_file(conn)
    } else if has("test_mode") && has("auth_key") {
        read_pyrogram_file(conn, has("user_id"), has("is_bot"), has("api_id"))
    } else {
        Err(ImportError::Schema(format!(
            "`sessions` has columns {}",
            sessions.join(", ")
        )))
    }
}

fn row_err(e: rusqlite::Error) -> ImportError {
    match e {
        rusqlite::Error::QueryReturnedNoRows => ImportError::NoSession,
        rusqlite::Error::InvalidColumnType(_, name, _) => {
            ImportError::Schema(format!("column `{name}` has the wrong type"))
        }
        other => ImportError::Schema(other.to_string()),
    }
}

fn read_telethon_file(conn: &rusqlite::Connection) -> Result<ImportedSession, ImportError> {
    // Telethon keeps one row: the current datacenter.
    let (dc_id, server, port, auth_key): (i64, Option<String>, Option<i64>, Option<Vec<u8>>) = conn
        .query_row(
            "SELECT dc_id, server_address, port, auth_key FROM sessions LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(row_err)?;
    let auth_key = Zeroizing::new(auth_key.ok_or(ImportError::NoSession)?);
    let (dc_id, known) = dc(dc_id, false)?;
    let addr = match server {
        Some(s) => {
            let ip: IpAddr = s
                .trim()
                .parse()
                .map_err(|_| ImportError::Address(s.chars().take(64).collect()))?;
            if ip.is_ipv6() {
                known
            } else {
                checked_addr(ip, port.unwrap_or(443))?
            }
        }
        None => known,
    };
    Ok(ImportedSession {
        source: ImportSource::TelethonFile,
        dc_id,
        addr,
        auth_key: key(&auth_key)?,
        user_id: None,
        is_bot: None,
        test_mode: false,
        api_id: None,
        sync: telethon_update_state(conn),
    })
}

/// Where the Telethon client left off in Telegram's update sequences, so updates between it
/// stopping and this session starting are asked for rather than lost. Optional tables: a file
/// without them (or with rows out of range) resumes from now, as before.
fn telethon_update_state(
    conn: &rusqlite::Connection,
) -> Option<crate::worker::telegram::SyncState> {
    /// Telethon marks a channel's id as -(10^12 + id).
    const CHANNEL_MARK: i64 = 1_000_000_000_000;
    let int = |v: rusqlite::types::Value| match v {
        rusqlite::types::Value::Integer(i) => i32::try_from(i).ok(),
        rusqlite::types::Value::Real(f) if f.is_finite() && f.abs() < f64::from(i32::MAX) => {
            Some(f as i32)
        }
        _ => None,
    };
    let mut state = crate::worker::telegram::SyncState::default();
    let mut st = conn
        .prepare("SELECT id, pts, qts, date, seq FROM update_state")
        .ok()?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, rusqlite::types::Value>(1)?,
                r.get::<_, rusqlite::types::Value>(2)?,
                r.get::<_, rusqlite::types::Value>(3)?,
                r.get::<_, rusqlite::types::Value>(4)?,
            ))
        })
        .ok()?;
    let mut has_main = false;
    for row in rows {
        let (id, pts, qts, date, seq) = row.ok()?;
        if id == 0 {
            state.pts = int(pts)?;
            state.qts = int(qts)?;
            state.date = int(date)?;
            state.seq = int(seq)?;
            has_main = true;
        } else if id > 0 && state.channels.len() < crate::worker::telegram::SyncState::MAX_CHANNELS
        {
            state.channels.push((id, int(pts)?));
        }
    }
    if !has_main {
        return None;
    }
    let channels: std::collections::HashSet<i64> = state.channels.iter().map(|c| c.0).collect();
    if let Ok(mut st) = conn.prepare("SELECT id, hash FROM entities WHERE id < ?1") {
        let mark = -CHANNEL_MARK;
        if let Ok(rows) = st.query_map([mark], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))) {
            for (marked, hash) in rows.flatten() {
                let bare = -(marked + CHANNEL_MARK);
                if channels.contains(&bare) {
                    state.access_hashes.push((bare, hash));
                }
            }
        }
    }
    Some(state)
}

fn read_pyrogram_file(
    conn: &rusqlite::Connection,
    has_user: bool,
    has_bot: bool,
    has_api: bool,
) -> Result<ImportedSession, ImportError> {
    let sql = format!(
        "SELECT dc_id, test_mode, auth_key, {}, {}, {} FROM sessions LIMIT 1",
        if has_user { "user_id" } else { "NULL" },
        if has_bot { "is_bot" } else { "NULL" },
        if has_api { "api_id" } else { "NULL" },
    );
    type Row = (
        i64,
        Option<i64>,
        Option<Vec<u8>>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let (dc_id, test_mode, auth_key, user_id, is_bot, api_id): Row = conn
        .query_row(&sql, [], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .map_err(row_err)?;
    let auth_key = Zeroizing::new(auth_key.ok_or(ImportError::NoSession)?);
    let test_mode = test_mode.unwrap_or(0) != 0;
    let (dc_id, addr) = dc(dc_id, test_mode)?;
    Ok(ImportedSession {
        source: ImportSource::PyrogramFile,
        dc_id,
        addr,
        auth_key: key(&auth_key)?,
        user_id,
        is_bot: is_bot.map(|b| b != 0),
        test_mode,
        api_id: api_id
            .and_then(|a| i32::try_from(a).ok())
            .filter(|a| *a != 0),
        sync: None,
    })
}
