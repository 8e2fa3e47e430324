//! Configuration: built-in defaults → `botyard.toml` → `BOTYARD_*` environment → flags.
//! Every key is declared once in [`KEYS`]; the TOML reader, the environment reader, `config
//! example` and the docs all come from that table, so they cannot drift apart.
//!
//! Long on purpose (about 950 lines before its tests): most of it is that table, a few lines
//! per key, kept in one place so a key is added, documented and parsed by one declaration.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use zeroize::Zeroize;

/// How often statistics reports are made (`stats.reports`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Every {
    Off,
    Daily,
    #[default]
    Weekly,
}

/// A secret string: never printed, wiped on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Base URL people use to reach the server (for printed links); derived from `listen`
    /// when empty.
    pub public_url: Option<String>,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub store: StoreSection,
    pub tls: TlsSection,
    pub security: SecuritySection,
    pub admin: AdminSection,
    pub log: LogSection,
    pub metrics: MetricsSection,
    pub auth: AuthSection,
    pub http: HttpSection,
    pub billing: BillingSection,
    pub mail: MailSection,
    pub backup: BackupSection,
    pub workers: WorkersSection,
    pub delivery: DeliverySection,
    pub stats: StatsSection,
    pub platform: PlatformSection,
    pub telegram: TelegramSection,
    /// Create a demo tenant whose sessions run on the simulator (`serve --demo`).
    pub demo: bool,
}

/// HTTPS served by the appliance itself: a certificate from files, or one from an ACME
/// authority (Let's Encrypt) for `acme_domains`. Neither: plain HTTP (behind a proxy).
#[derive(Clone, Debug)]
pub struct TlsSection {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub acme_domains: Vec<String>,
    pub acme_email: Option<String>,
    pub acme_directory: String,
    /// A PEM root trusted for the ACME server besides the system's (a private or test CA).
    pub acme_ca_file: Option<PathBuf>,
    /// Renew when the certificate has fewer days left than this.
    pub renew_before_days: u32,
    /// The plain-HTTP listener that answers ACME's HTTP-01 challenges and redirects every
    /// other request to HTTPS; `None` for none.
    pub http_listen: Option<SocketAddr>,
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            cert_file: None,
            key_file: None,
            acme_domains: Vec::new(),
            acme_email: None,
            acme_directory: LETS_ENCRYPT.into(),
            acme_ca_file: None,
            renew_before_days: 30,
            http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 80))),
        }
    }
}

impl TlsSection {
    /// Whether the appliance serves HTTPS itself.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || !self.acme_domains.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct WorkersSection {
    /// The executable started as `<exe> worker`; this binary when unset.
    pub exe: Option<PathBuf>,
    /// Refuse to run a worker whose sandbox misses a layer.
    pub sandbox_require: bool,
    /// Worker starts per second, and how many may start at once.
    pub start_rate: u32,
    pub start_burst: u32,
    /// Use a delegated cgroup v2 subtree for per-worker memory caps when there is one.
    pub cgroup: bool,
    /// `(uid, gid)` workers run as when the server runs as root.
    pub run_as: Option<(u32, u32)>,
}

impl Default for WorkersSection {
    fn default() -> Self {
        WorkersSection {
            exe: None,
            sandbox_require: false,
            cgroup: true,
            run_as: None,
            start_rate: 25,
            start_burst: 25,
        }
    }
}

/// How campaign posts are paced and when a flood wait fails a post.
#[derive(Clone, Debug)]
pub struct DeliverySection {
    pub bot: crate::worker::pacing::Pacing,
    pub user: crate::worker::pacing::Pacing,
    /// A flood wait longer than this fails the post (and pauses the campaign).
    pub flood_wait_max_secs: u32,
}

impl Default for DeliverySection {
    fn default() -> Self {
        DeliverySection {
            bot: crate::worker::pacing::Pacing::bot(),
            user: crate::worker::pacing::Pacing::user(),
            flood_wait_max_secs: 300,
        }
    }
}

/// Statistics upkeep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSection {
    /// Minutes between two upkeep runs: pruning (per-user rows past the plan's retention,
    /// totals past a year) and the reports that are due.
    pub prune_every_mins: u32,
    /// How often each tenant gets a statistics report.
    pub reports: Every,
}

impl Default for StatsSection {
    fn default() -> Self {
        StatsSection {
            prune_every_mins: 60,
            reports: Every::Weekly,
        }
    }
}

/// The reseller's own bot, run in a worker of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlatformBot {
    #[default]
    Off,
    /// A simulated bot (demo, tests); a real bot token comes with the Telegram client.
    Sim,
}

#[derive(Clone, Debug, Default)]
pub struct PlatformSection {
    pub bot: PlatformBot,
    /// The platform bot's token from @BotFather.
    pub bot_token: Option<Secret>,
}

/// The reseller's Telegram application (my.telegram.org) and how to reach Telegram.
#[derive(Clone, Debug)]
pub struct TelegramSection {
    pub api_id: Option<i32>,
    pub api_hash: Option<Secret>,
    /// `socks5://[user:password@]host:port`.
    pub proxy: Option<Secret>,
    /// TCP ports workers may connect to (Telegram's datacenters use 443, 80 and 5222).
    pub ports: Vec<u16>,
    /// Flood waits up to this many seconds are waited out in place; longer ones put the
    /// session in `flood_wait` until they end.
    pub flood_sleep_max_secs: u32,
    /// The datacenter new sessions start at: id and address.
    pub dc: (i32, std::net::SocketAddr),
    /// For test datacenters only: new sessions start with this auth key instead of a key
    /// exchange (which needs Telegram's own servers).
    pub seed_auth_key_file: Option<PathBuf>,
    /// Addresses besides Telegram's that imported sessions may name (a self-hosted test DC).
    pub import_allow: Vec<ipnet::IpNet>,
}

impl Default for TelegramSection {
    fn default() -> Self {
        TelegramSection {
            api_id: None,
            api_hash: None,
            proxy: None,
            ports: crate::worker::sandbox::TELEGRAM_PORTS.to_vec(),
            flood_sleep_max_secs: 60,
            dc: (2, std::net::SocketAddr::from(([149, 154, 167, 51], 443))),
            seed_auth_key_file: None,
            import_allow: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct StoreSection {
    pub shards: u32,
    pub catalog_cache_mb: u32,
    pub shard_cache_mb: u32,
}

#[derive(Clone, Debug)]
pub struct SecuritySection {
    /// Where the master key lives; `<data>/master.key` when empty.
    pub master_key_file: Option<PathBuf>,
}

#[derive(Clone, Debug, Default)]
pub struct AdminSection {
    pub email: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Clone, Debug)]
pub struct LogSection {
    pub format: LogFormat,
    pub level: String,
    pub tenant_file_max_kb: u64,
    pub tenant_files_kept: u32,
}

#[derive(Clone, Debug, Default)]
pub struct MetricsSection {
    pub token: Option<Secret>,
}

#[derive(Clone, Debug)]
pub struct AuthSection {
    pub access_ttl_secs: u64,
    pub refresh_ttl_days: u64,
    pub hash_workers: usize,
    pub hash_queue: usize,
    pub lockout_threshold: u32,
    pub lockout_base_secs: u64,
    pub lockout_max_secs: u64,
    pub setup_link_ttl_mins: u64,
    pub invitation_ttl_hours: u64,
    /// How old a Mini-App's `initData` may be when it signs in, in seconds.
    pub webapp_max_age_secs: u64,
}

#[derive(Clone, Debug)]
pub struct BillingSection {
    /// Days a subscription past its period keeps working before the tenant is suspended.
    pub grace_days: u32,
    /// The tax included in prices paid in money (KDV), in whole percent; Stars carry none.
    pub tax_percent: u32,
    /// Days a cancelled tenant's data is kept after its subscription ended, then deleted.
    pub retention_days: u32,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

impl MailSecurity {
    pub fn parse(v: &str) -> Option<MailSecurity> {
        match v.trim() {
            "starttls" => Some(MailSecurity::Starttls),
            "tls" => Some(MailSecurity::Tls),
            "none" => Some(MailSecurity::None),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MailSecurity::Starttls => "starttls",
            MailSecurity::Tls => "tls",
            MailSecurity::None => "none",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            MailSecurity::Starttls => 587,
            MailSecurity::Tls => 465,
            MailSecurity::None => 25,
        }
    }
}

/// Outgoing mail. With `smtp_host` set, the SMTP settings come from here and the console only
/// shows them; without it, the console's settings apply.
#[derive(Clone, Debug)]
pub struct MailSection {
    pub smtp_host: Option<String>,
    /// Unset: the usual port for `smtp_security`.
    pub smtp_port: Option<u16>,
    pub smtp_security: MailSecurity,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<Secret>,
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    /// DKIM: the selector and the private key (PEM, RSA or Ed25519); the domain is the From
    /// address's.
    pub dkim_selector: Option<String>,
    pub dkim_key_file: Option<PathBuf>,
    /// A PEM certificate trusted besides the public roots (a private relay's own CA).
    pub ca_file: Option<PathBuf>,
    /// Mails handed to the SMTP server per second, at most.
    pub rate_per_sec: u32,
    /// Connections kept open to the SMTP server (mails sent at once).
    pub connections: u32,
    /// How long a mail the server refuses for now is retried before it is marked failed.
    pub retry_hours: u32,
    /// Marketing mails queued per minute (their attempts spread out), so news does not
    /// crowd out notices or trip the provider's limits.
    pub marketing_per_minute: u32,
}

impl Default for MailSection {
    fn default() -> Self {
        MailSection {
            smtp_host: None,
            smtp_port: None,
            smtp_security: MailSecurity::Starttls,
            smtp_user: None,
            smtp_password: None,
            from_address: None,
            from_name: None,
            dkim_selector: None,
            dkim_key_file: None,
            ca_file: None,
            rate_per_sec: 10,
            connections: 4,
            retry_hours: 48,
            marketing_per_minute: 60,
        }
    }
}

/// Online backups: where they go, when the scheduled one runs, and how many are kept.
#[derive(Clone, Debug)]
pub struct BackupSection {
    /// Unset: `<data>/backups`. Better on another disk.
    pub dir: Option<PathBuf>,
    /// The daily backup's time of day in UTC, minutes after midnight; unset: no schedule.
    pub at_minute: Option<u16>,
    /// Backups kept in `dir`: the newest of each of the last `keep_daily` days and of each of
    /// the last `keep_weekly` ISO weeks.
    pub keep_daily: u32,
    pub keep_weekly: u32,
}

impl Default for BackupSection {
    fn default() -> Self {
        BackupSection {
            dir: None,
            at_minute: None,
            keep_daily: 7,
            keep_weekly: 4,
        }
    }
}

/// `HH:MM` (24 hours) as minutes after midnight.
pub fn parse_time_of_day(v: &str) -> Option<u16> {
    let (h, m) = v.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && v.trim().len() == 5).then_some(h * 60 + m)
}

#[derive(Clone, Debug)]
pub struct HttpSection {
    pub body_limit_kb: usize,
    pub request_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./botyard-data"),
            public_url: None,
            trusted_proxies: Vec::new(),
            store: StoreSection {
                shards: 8,
                catalog_cache_mb: 32,
                shard_cache_mb: 16,
            },
            tls: TlsSection::default(),
            security: SecuritySection {
                master_key_file: None,
            },
            admin: AdminSection::default(),
            log: LogSection {
                format: LogFormat::Text,
                level: "info".into(),
                tenant_file_max_kb: 1024,
                tenant_files_kept: 3,
            },
            metrics: MetricsSection::default(),
            auth: AuthSection {
                access_ttl_secs: 900,
                refresh_ttl_days: 30,
                hash_workers: 2,
                hash_queue: 64,
                lockout_threshold: 5,
                lockout_base_secs: 30,
                lockout_max_secs: 3600,
                setup_link_ttl_mins: 60,
                invitation_ttl_hours: 72,
                webapp_max_age_secs: 3600,
            },
            http: HttpSection {
                body_limit_kb: 1024,
                request_timeout_secs: 30,
            },
            billing: BillingSection {
                grace_days: 3,
                tax_percent: 20,
                retention_days: 30,
            },
            mail: MailSection::default(),
            backup: BackupSection::default(),
            workers: WorkersSection::default(),
            delivery: DeliverySection::default(),
            stats: StatsSection::default(),
            platform: PlatformSection::default(),
            telegram: TelegramSection::default(),
            demo: false,
        }
    }
}

impl Config {
    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.security
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The URL printed for people: `public_url`, or one built from `listen`.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_string();
        }
        self.base_url_bound(bound)
    }

    /// The URL built from the listening address alone.
    pub fn base_url_bound(&self, bound: SocketAddr) -> String {
        let scheme = if self.tls.enabled() { "https" } else { "http" };
        let host = if let Some(domain) = self.tls.acme_domains.first() {
            domain.clone()
        } else if bound.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if bound.is_ipv6() {
            format!("[{}]", bound.ip())
        } else {
            bound.ip().to_string()
        };
        if scheme == "https" && bound.port() == 443 {
            format!("https://{host}")
        } else {
            format!("{scheme}://{host}:{}", bound.port())
        }
    }

    /// Checks values that parse but make no sense together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.to_string(),
                reason: why.to_string(),
            })
        };
        if !(1..=256).contains(&self.store.shards) {
            return bad("store.shards", "must be between 1 and 256");
        }
        if self.auth.hash_workers == 0 {
            return bad("auth.hash_workers", "must be at least 1");
        }
        if !(60..=86_400).contains(&self.auth.access_ttl_secs) {
            return bad("auth.access_ttl_secs", "must be between 60 and 86400");
        }
        if self.admin.email.is_some() != self.admin.password.is_some() {
            return bad(
                "admin.email",
                "admin.email and admin.password (or BOTYARD_ADMIN_PASSWORD_FILE) go together",
            );
        }
        if self.billing.grace_days > 30 {
            return bad("billing.grace_days", "must be between 0 and 30");
        }
        if self.billing.tax_percent > 100 {
            return bad("billing.tax_percent", "must be between 0 and 100");
        }
        if !(1..=3650).contains(&self.billing.retention_days) {
            return bad("billing.retention_days", "must be between 1 and 3650");
        }
        if !(1..=10_000).contains(&self.mail.rate_per_sec) {
            return bad("mail.rate_per_sec", "must be between 1 and 10000");
        }
        if !(1..=64).contains(&self.mail.connections) {
            return bad("mail.connections", "must be between 1 and 64");
        }
        if !(1..=10_000).contains(&self.mail.marketing_per_minute) {
            return bad("mail.marketing_per_minute", "must be between 1 and 10000");
        }
        if self.backup.keep_daily > 366 || self.backup.keep_weekly > 520 {
            return bad(
                "backup.keep_daily",
                "keep at most 366 daily and 520 weekly backups",
            );
        }
        if !(1..=720).contains(&self.mail.retry_hours) {
            return bad("mail.retry_hours", "must be between 1 and 720");
        }
        if self.mail.smtp_host.is_some() && self.mail.from_address.is_none() {
            return bad(
                "mail.from_address",
                "mail.smtp_host needs mail.from_address (the address mails come from)",
            );
        }
        if self.mail.smtp_user.is_some() != self.mail.smtp_password.is_some() {
            return bad(
                "mail.smtp_user",
                "mail.smtp_user and mail.smtp_password go together",
            );
        }
        if self.mail.dkim_selector.is_some() != self.mail.dkim_key_file.is_some() {
            return bad(
                "mail.dkim_selector",
                "mail.dkim_selector and mail.dkim_key_file go together",
            );
        }
        if !(60..=86_400).contains(&self.auth.webapp_max_age_secs) {
            return bad("auth.webapp_max_age_secs", "must be between 60 and 86400");
        }
        if self.telegram.api_id.is_some() != self.telegram.api_hash.is_some() {
            return bad(
                "telegram.api_id",
                "telegram.api_id and telegram.api_hash go together",
            );
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return bad("server.public_url", "must start with http:// or https://");
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return bad(
                "tls.cert_file",
                "tls.cert_file and tls.key_file go together",
            );
        }
        if self.tls.cert_file.is_some() && !self.tls.acme_domains.is_empty() {
            return bad(
                "tls.acme_domains",
                "give a certificate (tls.cert_file) or ACME domains, not both",
            );
        }
        if !self.tls.acme_domains.is_empty() && self.tls.http_listen.is_none() {
            return bad(
                "tls.http_listen",
                "ACME's HTTP-01 challenge needs the plain-HTTP listener (port 80)",
            );
        }
        if !(1..=60).contains(&self.tls.renew_before_days) {
            return bad("tls.renew_before_days", "must be between 1 and 60");
        }
        for d in &self.tls.acme_domains {
            let ok = d.len() <= 253
                && d.contains('.')
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return bad(
                    "tls.acme_domains",
                    "each must be a host name such as bots.example.com",
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown configuration key `{0}`")]
    UnknownKey(String),
    #[error(
        "unknown environment variable `{0}` (BOTYARD_* variables must name a configuration key)"
    )]
    UnknownEnv(String),
    #[error("`{key}`: {reason}")]
    Invalid { key: String, reason: String },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Bool,
}

/// One configuration key.
pub struct KeyDef {
    /// `section.key` in TOML.
    pub path: &'static str,
    /// Environment variable.
    pub env: &'static str,
    pub doc: &'static str,
    /// Secret keys also accept `<path>_file` / `<ENV>_FILE` naming a file that holds the value.
    pub secret: bool,
    kind: Kind,
    get: fn(&Config) -> Option<String>,
    set: fn(&mut Config, &str) -> Result<(), String>,
}

fn parse<T: std::str::FromStr>(v: &str) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    v.trim().parse::<T>().map_err(|e| e.to_string())
}

/// Comma-separated addresses or CIDRs; a bare address is a single host.
fn cidrs(v: &str) -> Result<Vec<ipnet::IpNet>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| format!("`{p}` is not an address or CIDR (e.g. 10.0.0.0/8)"))
        })
        .collect()
}

/// `UID:GID`, both numbers and neither root's.
fn uid_gid(v: &str) -> Result<(u32, u32), String> {
    let bad = || "must be UID:GID, two numbers other than 0 (e.g. 65534:65534)".to_string();
    let (u, g) = v.trim().split_once(':').ok_or_else(bad)?;
    let (u, g): (u32, u32) = (u.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?);
    if u == 0 || g == 0 {
        return Err(bad());
    }
    Ok((u, g))
}

fn positive_i32(v: &str) -> Result<i32, String> {
    match parse::<i32>(v)? {
        n if n > 0 => Ok(n),
        _ => Err("must be a positive number".into()),
    }
}

/// Telegram's api_hash: 32 hexadecimal digits.
fn api_hash(v: &str) -> Result<Secret, String> {
    let v = v.trim();
    if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(Secret::new(v.to_ascii_lowercase()))
    } else {
        Err("must be the 32 hexadecimal digits my.telegram.org shows".into())
    }
}

/// `socks5://[user:password@]host:port`; the message never repeats the value (it may hold a
/// password).
fn socks5(v: &str) -> Result<Secret, String> {
    let rest = v
        .trim()
        .strip_prefix("socks5://")
        .ok_or("must start with socks5://")?;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let (host, port) = hostport.rsplit_once(':').ok_or("must end with :port")?;
    if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(
            "must be socks5://[user:password@]host:port with a port from 1 to 65535".into(),
        );
    }
    // Workers cannot resolve names (their sandbox allows no DNS).
    if host
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<std::net::IpAddr>()
        .is_err()
    {
        return Err("the proxy host must be an IP address (workers cannot resolve names)".into());
    }
    Ok(Secret::new(v.trim()))
}

/// The port of a checked `socks5://…` URL.
pub fn proxy_port(url: &str) -> Option<u16> {
    url.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// `ID@IP:PORT`, e.g. `2@149.154.167.51:443`.
fn dc_option(v: &str) -> Result<(i32, std::net::SocketAddr), String> {
    let (id, addr) = v
        .trim()
        .split_once('@')
        .ok_or("expected ID@IP:PORT, e.g. 2@149.154.167.51:443")?;
    let id: i32 = id
        .parse()
        .ok()
        .filter(|d| (1..=1000).contains(d))
        .ok_or("the datacenter id is a number from 1 to 1000")?;
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| "the address is IP:PORT (no host names: workers cannot resolve them)")?;
    Ok((id, addr))
}

fn ports(v: &str) -> Result<Vec<u16>, String> {
    let out: Result<Vec<u16>, String> = v
        .split(',')
        .map(|p| match p.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("`{}` is not a TCP port", p.trim())),
            Ok(n) => Ok(n),
        })
        .collect();
    let out = out?;
    if out.is_empty() || out.len() > 16 {
        return Err("between 1 and 16 ports".into());
    }
    Ok(out)
}

/// A whole number of at least 1.
fn positive(v: &str) -> Result<u32, String> {
    match parse::<u32>(v)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

macro_rules! key {
    ($path:literal, $env:literal, $kind:ident, $secret:literal, $doc:literal,
     get: |$c:ident| $get:expr, set: |$m:ident, $v:ident| $set:expr) => {
        KeyDef {
            path: $path,
            env: $env,
            doc: $doc,
            secret: $secret,
            kind: Kind::$kind,
            get: |$c: &Config| $get,
            set: |$m: &mut Config, $v: &str| {
                $set;
                Ok(())
            },
        }
    };
}

pub static KEYS: &[KeyDef] = &[
    key!("server.listen", "BOTYARD_LISTEN", Str, false,
        "Address and port to serve on. Use 0.0.0.0:8080 to accept connections from other hosts.",
        get: |c| Some(c.listen.to_string()), set: |c, v| c.listen = parse(v)?),
    key!("server.data", "BOTYARD_DATA", Str, false,
        "Data folder: the store, the master key (unless security.master_key_file is set) and logs.",
        get: |c| Some(c.data_dir.display().to_string()), set: |c, v| c.data_dir = PathBuf::from(v.trim())),
    key!("server.public_url", "BOTYARD_PUBLIC_URL", Str, false,
        "URL people reach the server at, used in printed links (e.g. https://bots.example.com).",
        get: |c| c.public_url.clone(), set: |c, v| c.public_url = opt(v)),
    key!("server.trusted_proxies", "BOTYARD_TRUSTED_PROXIES", Str, false,
        "Reverse proxies (comma-separated addresses or CIDRs, e.g. 127.0.0.1/32,::1) whose Forwarded / X-Forwarded-For headers are believed for the client's address (login lockout, logs). Unset: the socket's address.",
        get: |c| (!c.trusted_proxies.is_empty()).then(|| c.trusted_proxies.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")),
        set: |c, v| c.trusted_proxies = cidrs(v)?),
    key!("tls.cert_file", "BOTYARD_TLS_CERT_FILE", Str, false,
        "Serve HTTPS with this certificate chain (PEM), with tls.key_file. Re-read when the file changes.",
        get: |c| c.tls.cert_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.tls.cert_file = opt(v).map(PathBuf::from)),
    key!("tls.key_file", "BOTYARD_TLS_KEY_FILE", Str, false,
        "The certificate's private key (PEM), e.g. a systemd credential.",
        get: |c| c.tls.key_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.tls.key_file = opt(v).map(PathBuf::from)),
    key!("tls.acme_domains", "BOTYARD_TLS_ACME_DOMAINS", Str, false,
        "Serve HTTPS with a certificate from ACME (Let's Encrypt) for these host names (comma-separated), kept in the data folder and renewed in time. They must point at this server, with port 80 open for the challenge.",
        get: |c| (!c.tls.acme_domains.is_empty()).then(|| c.tls.acme_domains.join(",")),
        set: |c, v| c.tls.acme_domains = v.split(',').map(|d| d.trim().trim_end_matches('.').to_lowercase()).filter(|d| !d.is_empty()).collect()),
    key!("tls.acme_email", "BOTYARD_TLS_ACME_EMAIL", Str, false,
        "Contact address given to the ACME authority (expiry warnings).",
        get: |c| c.tls.acme_email.clone(), set: |c, v| c.tls.acme_email = opt(v)),
    key!("tls.acme_directory", "BOTYARD_TLS_ACME_DIRECTORY", Str, false,
        "The ACME directory URL. Let's Encrypt's staging one for trials: https://acme-staging-v02.api.letsencrypt.org/directory",
        get: |c| Some(c.tls.acme_directory.clone()),
        set: |c, v| c.tls.acme_directory = v.trim().to_string()),
    key!("tls.acme_ca_file", "BOTYARD_TLS_ACME_CA_FILE", Str, false,
        "A PEM root certificate trusted for the ACME server itself (a private or test authority).",
        get: |c| c.tls.acme_ca_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.tls.acme_ca_file = opt(v).map(PathBuf::from)),
    key!("tls.renew_before_days", "BOTYARD_TLS_RENEW_BEFORE_DAYS", Int, false,
        "Renew an ACME certificate when it has fewer days left than this.",
        get: |c| Some(c.tls.renew_before_days.to_string()), set: |c, v| c.tls.renew_before_days = parse(v)?),
    key!("tls.http_listen", "BOTYARD_TLS_HTTP_LISTEN", Str, false,
        "With HTTPS on: a plain-HTTP listener that answers ACME challenges and redirects everything else to HTTPS. Empty: none.",
        get: |c| c.tls.http_listen.map(|a| a.to_string()),
        set: |c, v| c.tls.http_listen = match opt(v) { None => None, Some(v) => Some(parse(&v)?) }),
    key!("store.shards", "BOTYARD_STORE_SHARDS", Int, false,
        "Number of shard files. Fixed when the store is first created.",
        get: |c| Some(c.store.shards.to_string()), set: |c, v| c.store.shards = parse(v)?),
    key!("store.catalog_cache_mb", "BOTYARD_STORE_CATALOG_CACHE_MB", Int, false,
        "Page cache of catalog.redb, in MiB.",
        get: |c| Some(c.store.catalog_cache_mb.to_string()), set: |c, v| c.store.catalog_cache_mb = parse(v)?),
    key!("store.shard_cache_mb", "BOTYARD_STORE_SHARD_CACHE_MB", Int, false,
        "Page cache of each shard file, in MiB.",
        get: |c| Some(c.store.shard_cache_mb.to_string()), set: |c, v| c.store.shard_cache_mb = parse(v)?),
    key!("security.master_key_file", "BOTYARD_MASTER_KEY_FILE", Str, false,
        "Master key file (e.g. a systemd credential). Default: <data>/master.key, created on first start.",
        get: |c| c.security.master_key_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.security.master_key_file = opt(v).map(PathBuf::from)),
    key!("admin.email", "BOTYARD_ADMIN_EMAIL", Str, false,
        "First admin's email, used only while no admin exists. Without it a one-time setup link is printed.",
        get: |c| c.admin.email.clone(), set: |c, v| c.admin.email = opt(v)),
    key!("admin.password", "BOTYARD_ADMIN_PASSWORD", Str, true,
        "First admin's password (prefer admin.password_file / BOTYARD_ADMIN_PASSWORD_FILE).",
        get: |_c| None, set: |c, v| c.admin.password = opt(v).map(Secret::new)),
    key!("log.format", "BOTYARD_LOG_FORMAT", Str, false,
    "Log format on standard error: text or json.",
    get: |c| Some(match c.log.format { LogFormat::Text => "text".into(), LogFormat::Json => "json".into() }),
    set: |c, v| c.log.format = match v.trim() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => return Err(format!("expected text or json, got `{other}`")),
    }),
    key!("log.level", "BOTYARD_LOG_LEVEL", Str, false,
        "Log filter, e.g. info, debug, or botyard=debug,tower_http=info.",
        get: |c| Some(c.log.level.clone()), set: |c, v| c.log.level = v.trim().to_string()),
    key!("log.tenant_file_max_kb", "BOTYARD_LOG_TENANT_FILE_MAX_KB", Int, false,
        "Size at which a tenant's log file (logs/tenants/<id>.log) is rotated, in KiB.",
        get: |c| Some(c.log.tenant_file_max_kb.to_string()), set: |c, v| c.log.tenant_file_max_kb = parse(v)?),
    key!("log.tenant_files_kept", "BOTYARD_LOG_TENANT_FILES_KEPT", Int, false,
        "Rotated files kept per tenant; a tenant's logs never exceed (kept + 1) × max size.",
        get: |c| Some(c.log.tenant_files_kept.to_string()), set: |c, v| c.log.tenant_files_kept = parse(v)?),
    key!("metrics.token", "BOTYARD_METRICS_TOKEN", Str, true,
        "Bearer token for /metrics. Without it /metrics answers only loopback clients.",
        get: |_c| None, set: |c, v| c.metrics.token = opt(v).map(Secret::new)),
    key!("auth.access_ttl_secs", "BOTYARD_AUTH_ACCESS_TTL_SECS", Int, false,
        "Lifetime of access tokens, in seconds.",
        get: |c| Some(c.auth.access_ttl_secs.to_string()), set: |c, v| c.auth.access_ttl_secs = parse(v)?),
    key!("auth.refresh_ttl_days", "BOTYARD_AUTH_REFRESH_TTL_DAYS", Int, false,
        "Lifetime of a login (its refresh-token family), in days.",
        get: |c| Some(c.auth.refresh_ttl_days.to_string()), set: |c, v| c.auth.refresh_ttl_days = parse(v)?),
    key!("auth.hash_workers", "BOTYARD_AUTH_HASH_WORKERS", Int, false,
        "Password hashes computed at once (each takes 19 MiB).",
        get: |c| Some(c.auth.hash_workers.to_string()), set: |c, v| c.auth.hash_workers = parse(v)?),
    key!("auth.hash_queue", "BOTYARD_AUTH_HASH_QUEUE", Int, false,
        "Logins allowed to wait for a hash worker; beyond that logins get 503.",
        get: |c| Some(c.auth.hash_queue.to_string()), set: |c, v| c.auth.hash_queue = parse(v)?),
    key!("auth.lockout_threshold", "BOTYARD_AUTH_LOCKOUT_THRESHOLD", Int, false,
        "Failed logins (per account and per IP) before a lockout.",
        get: |c| Some(c.auth.lockout_threshold.to_string()), set: |c, v| c.auth.lockout_threshold = parse(v)?),
    key!("auth.lockout_base_secs", "BOTYARD_AUTH_LOCKOUT_BASE_SECS", Int, false,
        "First lockout length; each further failure doubles it.",
        get: |c| Some(c.auth.lockout_base_secs.to_string()), set: |c, v| c.auth.lockout_base_secs = parse(v)?),
    key!("auth.lockout_max_secs", "BOTYARD_AUTH_LOCKOUT_MAX_SECS", Int, false,
        "Longest lockout.",
        get: |c| Some(c.auth.lockout_max_secs.to_string()), set: |c, v| c.auth.lockout_max_secs = parse(v)?),
    key!("auth.setup_link_ttl_mins", "BOTYARD_AUTH_SETUP_LINK_TTL_MINS", Int, false,
        "Lifetime of the one-time admin setup link, in minutes.",
        get: |c| Some(c.auth.setup_link_ttl_mins.to_string()), set: |c, v| c.auth.setup_link_ttl_mins = parse(v)?),
    key!("auth.invitation_ttl_hours", "BOTYARD_AUTH_INVITATION_TTL_HOURS", Int, false,
        "Lifetime of an invitation to join a tenant, in hours.",
        get: |c| Some(c.auth.invitation_ttl_hours.to_string()), set: |c, v| c.auth.invitation_ttl_hours = parse(v)?),
    key!("auth.webapp_max_age_secs", "BOTYARD_AUTH_WEBAPP_MAX_AGE_SECS", Int, false,
        "How old the initData a Telegram Mini-App signs in with may be, in seconds (Telegram signs it when the app opens).",
        get: |c| Some(c.auth.webapp_max_age_secs.to_string()), set: |c, v| c.auth.webapp_max_age_secs = parse(v)?),
    key!("billing.grace_days", "BOTYARD_BILLING_GRACE_DAYS", Int, false,
        "Days a subscription whose period ended unpaid keeps working (past due) before the tenant is suspended, 0 to 30.",
        get: |c| Some(c.billing.grace_days.to_string()), set: |c, v| c.billing.grace_days = parse(v)?),
    key!("billing.tax_percent", "BOTYARD_BILLING_TAX_PERCENT", Int, false,
        "Tax included in prices paid in money (KDV in Türkiye: 20), in whole percent; invoices show it. Stars payments carry none.",
        get: |c| Some(c.billing.tax_percent.to_string()), set: |c, v| c.billing.tax_percent = parse(v)?),
    key!("billing.retention_days", "BOTYARD_BILLING_RETENTION_DAYS", Int, false,
        "Days a cancelled tenant's data is kept after its subscription ended (it can pay to come back), then deleted for good, 1 to 3650.",
        get: |c| Some(c.billing.retention_days.to_string()), set: |c, v| c.billing.retention_days = parse(v)?),
    key!("mail.smtp_host", "BOTYARD_MAIL_SMTP_HOST", Str, false,
        "SMTP server for outgoing mail (e.g. smtp.example.com). Set here, it fixes the mail settings; unset, the console's apply.",
        get: |c| c.mail.smtp_host.clone(), set: |c, v| c.mail.smtp_host = opt(v)),
    key!("mail.smtp_port", "BOTYARD_MAIL_SMTP_PORT", Int, false,
        "SMTP port. Default: 587 for starttls, 465 for tls, 25 for none.",
        get: |c| c.mail.smtp_port.map(|p| p.to_string()),
        set: |c, v| c.mail.smtp_port = match opt(v) { None => None, Some(v) => Some(parse(&v)?) }),
    key!("mail.smtp_security", "BOTYARD_MAIL_SMTP_SECURITY", Str, false,
        "starttls (required upgrade, port 587), tls (implicit, port 465) or none (a relay on this machine only).",
        get: |c| Some(c.mail.smtp_security.name().into()),
        set: |c, v| c.mail.smtp_security = MailSecurity::parse(v)
            .ok_or_else(|| format!("expected starttls, tls or none, got `{}`", v.trim()))?),
    key!("mail.smtp_user", "BOTYARD_MAIL_SMTP_USER", Str, false,
        "SMTP user name (AUTH), with mail.smtp_password.",
        get: |c| c.mail.smtp_user.clone(), set: |c, v| c.mail.smtp_user = opt(v)),
    key!("mail.smtp_password", "BOTYARD_MAIL_SMTP_PASSWORD", Str, true,
        "SMTP password (prefer mail.smtp_password_file / BOTYARD_MAIL_SMTP_PASSWORD_FILE).",
        get: |_c| None, set: |c, v| c.mail.smtp_password = opt(v).map(Secret::new)),
    key!("mail.from_address", "BOTYARD_MAIL_FROM_ADDRESS", Str, false,
        "The address mails come from (e.g. bildirim@example.com).",
        get: |c| c.mail.from_address.clone(), set: |c, v| c.mail.from_address = opt(v)),
    key!("mail.from_name", "BOTYARD_MAIL_FROM_NAME", Str, false,
        "The name mails come from. Default: the brand's name.",
        get: |c| c.mail.from_name.clone(), set: |c, v| c.mail.from_name = opt(v)),
    key!("mail.dkim_selector", "BOTYARD_MAIL_DKIM_SELECTOR", Str, false,
        "DKIM selector (the DNS record <selector>._domainkey.<From domain>), with mail.dkim_key_file.",
        get: |c| c.mail.dkim_selector.clone(), set: |c, v| c.mail.dkim_selector = opt(v)),
    key!("mail.dkim_key_file", "BOTYARD_MAIL_DKIM_KEY_FILE", Str, false,
        "DKIM private key, PEM (RSA or Ed25519): every mail is signed with it.",
        get: |c| c.mail.dkim_key_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.mail.dkim_key_file = opt(v).map(PathBuf::from)),
    key!("mail.ca_file", "BOTYARD_MAIL_CA_FILE", Str, false,
        "A PEM certificate trusted for the SMTP server besides the public roots (a private relay's CA).",
        get: |c| c.mail.ca_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.mail.ca_file = opt(v).map(PathBuf::from)),
    key!("mail.rate_per_sec", "BOTYARD_MAIL_RATE_PER_SEC", Int, false,
        "Mails handed to the SMTP server per second, at most (your provider's limit).",
        get: |c| Some(c.mail.rate_per_sec.to_string()), set: |c, v| c.mail.rate_per_sec = parse(v)?),
    key!("mail.connections", "BOTYARD_MAIL_CONNECTIONS", Int, false,
        "SMTP connections kept open, so several mails go at once.",
        get: |c| Some(c.mail.connections.to_string()), set: |c, v| c.mail.connections = parse(v)?),
    key!("mail.retry_hours", "BOTYARD_MAIL_RETRY_HOURS", Int, false,
        "Hours a mail the server refuses for now (4xx, no connection) is retried, with growing pauses, before it is marked failed.",
        get: |c| Some(c.mail.retry_hours.to_string()), set: |c, v| c.mail.retry_hours = parse(v)?),
    key!("mail.marketing_per_minute", "BOTYARD_MAIL_MARKETING_PER_MINUTE", Int, false,
        "Marketing mails sent per minute at most: a campaign's copies are spread out at this pace.",
        get: |c| Some(c.mail.marketing_per_minute.to_string()), set: |c, v| c.mail.marketing_per_minute = parse(v)?),
    key!("backup.dir", "BOTYARD_BACKUP_DIR", Str, false,
        "Folder for backups (scheduled ones and `botyard backup create`). Default: <data>/backups; another disk is better.",
        get: |c| c.backup.dir.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.backup.dir = opt(v).map(PathBuf::from)),
    key!("backup.at", "BOTYARD_BACKUP_AT", Str, false,
    "Time of day (HH:MM, UTC) of the daily backup while the server runs; empty: no scheduled backup.",
    get: |c| c.backup.at_minute.map(|m| format!("{:02}:{:02}", m / 60, m % 60)),
    set: |c, v| c.backup.at_minute = match opt(v) {
        None => None,
        Some(t) => Some(parse_time_of_day(&t).ok_or_else(|| format!("`{t}` is not a time of day as HH:MM"))?),
    }),
    key!("backup.keep_daily", "BOTYARD_BACKUP_KEEP_DAILY", Int, false,
        "Daily backups kept in backup.dir (the newest of each day); older ones are removed after each backup. 0 with keep_weekly 0 keeps everything.",
        get: |c| Some(c.backup.keep_daily.to_string()), set: |c, v| c.backup.keep_daily = parse(v)?),
    key!("backup.keep_weekly", "BOTYARD_BACKUP_KEEP_WEEKLY", Int, false,
        "Weekly backups kept besides the daily ones (the newest of each ISO week).",
        get: |c| Some(c.backup.keep_weekly.to_string()), set: |c, v| c.backup.keep_weekly = parse(v)?),
    key!("http.body_limit_kb", "BOTYARD_HTTP_BODY_LIMIT_KB", Int, false,
        "Largest request body, in KiB.",
        get: |c| Some(c.http.body_limit_kb.to_string()), set: |c, v| c.http.body_limit_kb = parse(v)?),
    key!("http.request_timeout_secs", "BOTYARD_HTTP_REQUEST_TIMEOUT_SECS", Int, false,
        "Longest time a request may take.",
        get: |c| Some(c.http.request_timeout_secs.to_string()), set: |c, v| c.http.request_timeout_secs = parse(v)?),
    key!("workers.exe", "BOTYARD_WORKERS_EXE", Str, false,
        "Executable run as `<exe> worker` for each tenant's worker. Default: this binary.",
        get: |c| c.workers.exe.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.workers.exe = opt(v).map(PathBuf::from)),
    key!("workers.sandbox_require", "BOTYARD_WORKERS_SANDBOX_REQUIRE", Bool, false,
        "Refuse to run a worker when the kernel lacks a sandbox layer (see `botyard sandbox-check`).",
        get: |c| Some(c.workers.sandbox_require.to_string()),
        set: |c, v| c.workers.sandbox_require = parse(v)?),
    key!("workers.start_rate", "BOTYARD_WORKERS_START_RATE", Int, false,
        "Worker starts per second, so a restart with many tenants does not connect every session at once.",
        get: |c| Some(c.workers.start_rate.to_string()),
        set: |c, v| c.workers.start_rate = positive(v)?),
    key!("workers.start_burst", "BOTYARD_WORKERS_START_BURST", Int, false,
        "Worker starts allowed at once before the rate applies.",
        get: |c| Some(c.workers.start_burst.to_string()),
        set: |c, v| c.workers.start_burst = positive(v)?),
    key!("workers.cgroup", "BOTYARD_WORKERS_CGROUP", Bool, false,
        "Cap worker memory with cgroup memory.max when the service manager delegated a cgroup v2 subtree (systemd Delegate=yes); else the supervisor's watchdog restarts a worker over its cap.",
        get: |c| Some(c.workers.cgroup.to_string()),
        set: |c, v| c.workers.cgroup = parse(v)?),
    key!("workers.user", "BOTYARD_WORKERS_USER", Str, false,
    "When the server runs as root: the unprivileged UID:GID (numbers, e.g. 65534:65534) workers run as. Their media folders are made readable to that group. Unset: workers keep the server's user, with every capability dropped.",
    get: |c| c.workers.run_as.map(|(u, g)| format!("{u}:{g}")),
    set: |c, v| c.workers.run_as = match opt(v) {
        None => None,
        Some(v) => Some(uid_gid(&v)?),
    }),
    key!("stats.prune_every_mins", "BOTYARD_STATS_PRUNE_EVERY_MINS", Int, false,
        "Minutes between pruning runs that drop per-user statistics past the plan's retention_days and daily totals past a year.",
        get: |c| Some(c.stats.prune_every_mins.to_string()),
        set: |c, v| c.stats.prune_every_mins = positive(v)?),
    key!("stats.reports", "BOTYARD_STATS_REPORTS", Str, false,
    "How often each tenant gets a statistics report (HTML with charts, listed under /reports): weekly (Monday to Sunday, made on Monday), daily, or off.",
    get: |c| Some(match c.stats.reports {
        Every::Off => "off".into(),
        Every::Daily => "daily".into(),
        Every::Weekly => "weekly".into(),
    }),
    set: |c, v| c.stats.reports = match v.trim() {
        "off" => Every::Off,
        "daily" => Every::Daily,
        "weekly" => Every::Weekly,
        other => return Err(format!("{other:?}: use weekly, daily or off")),
    }),
    key!("delivery.bot_per_chat_ms", "BOTYARD_DELIVERY_BOT_PER_CHAT_MS", Int, false,
        "Bots: least milliseconds between two posts in one chat (Telegram: 1000).",
        get: |c| Some(c.delivery.bot.per_chat_ms.to_string()),
        set: |c, v| c.delivery.bot.per_chat_ms = u64::from(positive(v)?)),
    key!("delivery.bot_per_chat_per_min", "BOTYARD_DELIVERY_BOT_PER_CHAT_PER_MIN", Int, false,
        "Bots: most posts in one group within a minute (Telegram: 20).",
        get: |c| Some(c.delivery.bot.per_chat_per_min.to_string()),
        set: |c, v| c.delivery.bot.per_chat_per_min = positive(v)?),
    key!("delivery.bot_overall_ms", "BOTYARD_DELIVERY_BOT_OVERALL_MS", Int, false,
        "Bots: least milliseconds between any two posts (Telegram: 30 a second, so 34).",
        get: |c| Some(c.delivery.bot.overall_ms.to_string()),
        set: |c, v| c.delivery.bot.overall_ms = u64::from(positive(v)?)),
    key!("delivery.user_per_chat_ms", "BOTYARD_DELIVERY_USER_PER_CHAT_MS", Int, false,
        "User accounts: least milliseconds between two posts in one chat.",
        get: |c| Some(c.delivery.user.per_chat_ms.to_string()),
        set: |c, v| c.delivery.user.per_chat_ms = u64::from(positive(v)?)),
    key!("delivery.user_per_chat_per_min", "BOTYARD_DELIVERY_USER_PER_CHAT_PER_MIN", Int, false,
        "User accounts: most posts in one group within a minute.",
        get: |c| Some(c.delivery.user.per_chat_per_min.to_string()),
        set: |c, v| c.delivery.user.per_chat_per_min = positive(v)?),
    key!("delivery.user_overall_ms", "BOTYARD_DELIVERY_USER_OVERALL_MS", Int, false,
        "User accounts: least milliseconds between any two posts.",
        get: |c| Some(c.delivery.user.overall_ms.to_string()),
        set: |c, v| c.delivery.user.overall_ms = u64::from(positive(v)?)),
    key!("delivery.user_jitter_ms", "BOTYARD_DELIVERY_USER_JITTER_MS", Int, false,
        "User accounts: up to this many more milliseconds between posts, at random.",
        get: |c| Some(c.delivery.user.jitter_ms.to_string()),
        set: |c, v| c.delivery.user.jitter_ms = parse(v)?),
    key!("delivery.flood_wait_max_secs", "BOTYARD_DELIVERY_FLOOD_WAIT_MAX_SECS", Int, false,
        "A flood wait up to this long holds the session's posts; a longer one fails the post and pauses the campaign.",
        get: |c| Some(c.delivery.flood_wait_max_secs.to_string()),
        set: |c, v| c.delivery.flood_wait_max_secs = parse(v)?),
    key!("telegram.api_id", "BOTYARD_TELEGRAM_API_ID", Int, false,
        "The reseller's Telegram application id, from my.telegram.org.",
        get: |c| c.telegram.api_id.map(|v| v.to_string()),
        set: |c, v| c.telegram.api_id = match opt(v) { None => None, Some(v) => Some(positive_i32(&v)?) }),
    key!("telegram.api_hash", "BOTYARD_TELEGRAM_API_HASH", Str, true,
        "The application's api_hash from my.telegram.org (32 hex digits; prefer telegram.api_hash_file).",
        get: |_c| None, set: |c, v| c.telegram.api_hash = match opt(v) { None => None, Some(v) => Some(api_hash(&v)?) }),
    key!("telegram.proxy", "BOTYARD_TELEGRAM_PROXY", Str, true,
        "SOCKS5 proxy for Telegram connections: socks5://[user:password@]host:port.",
        get: |_c| None, set: |c, v| c.telegram.proxy = match opt(v) { None => None, Some(v) => Some(socks5(&v)?) }),
    key!("telegram.ports", "BOTYARD_TELEGRAM_PORTS", Str, false,
        "TCP ports workers may connect to, comma-separated (the sandbox allows no others).",
        get: |c| Some(c.telegram.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")),
        set: |c, v| c.telegram.ports = ports(v)?),
    key!("telegram.flood_sleep_max_secs", "BOTYARD_TELEGRAM_FLOOD_SLEEP_MAX_SECS", Int, false,
        "Flood waits up to this long are waited out in place; longer ones pause the session until they end.",
        get: |c| Some(c.telegram.flood_sleep_max_secs.to_string()),
        set: |c, v| c.telegram.flood_sleep_max_secs = parse(v)?),
    key!("telegram.dc", "BOTYARD_TELEGRAM_DC", Str, false,
        "Datacenter new sessions start at, as ID@IP:PORT (Telegram moves an account to its own DC).",
        get: |c| Some(format!("{}@{}", c.telegram.dc.0, c.telegram.dc.1)),
        set: |c, v| c.telegram.dc = dc_option(v)?),
    key!("telegram.import_allow", "BOTYARD_TELEGRAM_IMPORT_ALLOW", Str, false,
        "Test datacenters only: addresses or CIDRs, besides Telegram's published ranges, that an imported session may name.",
        get: |c| (!c.telegram.import_allow.is_empty()).then(|| c.telegram.import_allow.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")),
        set: |c, v| c.telegram.import_allow = cidrs(v)?),
    key!("telegram.seed_auth_key_file", "BOTYARD_TELEGRAM_SEED_AUTH_KEY_FILE", Str, false,
        "Test datacenters only: a 256-byte auth key new sessions start with instead of a key exchange.",
        get: |c| c.telegram.seed_auth_key_file.as_ref().map(|p| p.display().to_string()),
        set: |c, v| c.telegram.seed_auth_key_file = opt(v).map(PathBuf::from)),
    key!("platform.bot_token", "BOTYARD_PLATFORM_BOT_TOKEN", Str, true,
        "The platform bot's token from @BotFather (prefer platform.bot_token_file); set, the real bot runs in a worker of its own.",
        get: |_c| None, set: |c, v| c.platform.bot_token = opt(v).map(Secret::new)),
    key!("platform.bot", "BOTYARD_PLATFORM_BOT", Str, false,
    "Without platform.bot_token: off, or sim (a simulated platform bot, as `serve --demo` uses).",
    get: |c| Some(match c.platform.bot { PlatformBot::Off => "off".into(), PlatformBot::Sim => "sim".into() }),
    set: |c, v| c.platform.bot = match v.trim() {
        "off" => PlatformBot::Off,
        "sim" => PlatformBot::Sim,
        other => return Err(format!("expected off or sim, got `{other}`")),
    }),
];

/// Environment variables read besides the keys.
pub const ENV_CONFIG: &str = "BOTYARD_CONFIG";

fn find_by_path(path: &str) -> Option<(&'static KeyDef, bool)> {
    for k in KEYS {
        if k.path == path {
            return Some((k, false));
        }
        if k.secret && path.strip_suffix("_file") == Some(k.path) {
            return Some((k, true));
        }
    }
    None
}

fn find_by_env(name: &str) -> Option<(&'static KeyDef, bool)> {
    for k in KEYS {
        if k.env == name {
            return Some((k, false));
        }
        if k.secret && name.strip_suffix("_FILE") == Some(k.env) {
            return Some((k, true));
        }
    }
    None
}

fn read_secret_file(key: &str, path: &str) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path.trim()).map_err(|e| ConfigError::Invalid {
        key: key.to_string(),
        reason: format!("cannot read {}: {e}", path.trim()),
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

fn apply(
    c: &mut Config,
    k: &KeyDef,
    from_file: bool,
    value: &str,
    name: &str,
) -> Result<(), ConfigError> {
    let value = if from_file {
        read_secret_file(name, value)?
    } else {
        value.to_string()
    };
    (k.set)(c, &value).map_err(|reason| ConfigError::Invalid {
        key: name.to_string(),
        reason,
    })
}

/// Applies a TOML document on top of `c`.
pub fn apply_toml(c: &mut Config, text: &str, origin: &str) -> Result<(), ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::File {
        path: origin.to_string(),
        reason: e.to_string(),
    })?;
    for (section, value) in &table {
        let toml::Value::Table(inner) = value else {
            return Err(ConfigError::UnknownKey(section.clone()));
        };
        for (key, value) in inner {
            let path = format!("{section}.{key}");
            let (def, from_file) =
                find_by_path(&path).ok_or_else(|| ConfigError::UnknownKey(path.clone()))?;
            let text = match (value, def.kind, from_file) {
                (toml::Value::String(s), Kind::Str, _) | (toml::Value::String(s), _, true) => {
                    s.clone()
                }
                (toml::Value::Integer(i), Kind::Int, false) => i.to_string(),
                (toml::Value::Boolean(b), Kind::Bool, false) => b.to_string(),
                _ => {
                    return Err(ConfigError::Invalid {
                        key: path,
                        reason: match def.kind {
                            Kind::Str => "must be a string".into(),
                            Kind::Int => "must be an integer".into(),
                            Kind::Bool => "must be true or false".into(),
                        },
                    });
                }
            };
            apply(c, def, from_file, &text, &path)?;
        }
    }
    Ok(())
}

/// Applies `BOTYARD_*` variables; an unknown one is an error (it is almost always a typo).
pub fn apply_env(
    c: &mut Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with("BOTYARD_") && k != ENV_CONFIG)
        .collect();
    vars.sort();
    for (name, value) in vars {
        let (def, from_file) =
            find_by_env(&name).ok_or_else(|| ConfigError::UnknownEnv(name.clone()))?;
        apply(c, def, from_file, &value, &name)?;
    }
    Ok(())
}

/// Overrides from command-line flags.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
}

/// Loads the whole chain: defaults, then the config file (`--config`, `BOTYARD_CONFIG`, or
/// `./botyard.toml` when present), then the environment, then flags.
pub fn load(
    flags: &Flags,
    env: &BTreeMap<String, String>,
) -> Result<(Config, Option<PathBuf>), ConfigError> {
    let mut c = Config::default();
    let explicit = flags
        .config
        .clone()
        .or_else(|| env.get(ENV_CONFIG).map(PathBuf::from));
    let file = match explicit {
        Some(p) => Some(p),
        None => Some(PathBuf::from("botyard.toml")).filter(|p| p.exists()),
    };
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        apply_toml(&mut c, &text, &path.display().to_string())?;
    }
    apply_env(&mut c, env.clone())?;
    if let Some(l) = flags.listen {
        c.listen = l;
    }
    if let Some(d) = &flags.data {
        c.data_dir = d.clone();
    }
    c.validate()?;
    Ok((c, file))
}

/// The commented example file, generated from [`KEYS`].
pub fn example() -> String {
    let defaults = Config::default();
    let mut out = String::from(
        "# botyard configuration. Every key is optional; the values shown are the defaults.\n\
         # Precedence: built-in defaults < this file < BOTYARD_* environment < command-line flags.\n\
         # Secrets also accept <key>_file (or the variable <ENV>_FILE) naming a file with the value.\n\
         # Generated by `botyard config example`.\n",
    );
    let mut section = "";
    for k in KEYS {
        let (sec, name) = k.path.split_once('.').unwrap_or(("", k.path));
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        out.push_str(&format!("# {}\n# env: {}", k.doc, k.env));
        if k.secret {
            out.push_str(&format!(" (or {}_FILE)", k.env));
        }
        out.push('\n');
        match (k.get)(&defaults) {
            Some(v) => {
                let lit = match k.kind {
                    Kind::Str => format!("{v:?}"),
                    Kind::Int | Kind::Bool => v,
                };
                out.push_str(&format!("{name} = {lit}\n"));
            }
            None => out.push_str(&format!("# {name} = \"\"\n")),
        }
    }
    out
}

/// A one-line-per-key summary of the effective configuration, secrets masked.
pub fn describe(c: &Config, file: Option<&Path>) -> String {
    let mut out = format!(
        "configuration file: {}\n",
        file.map_or("(none)".to_string(), |p| p.display().to_string())
    );
    for k in KEYS {
        let v = if k.secret {
            match k.path {
                "admin.password" => c.admin.password.as_ref().map(|_| "(set)".to_string()),
                "metrics.token" => c.metrics.token.as_ref().map(|_| "(set)".to_string()),
                _ => None,
            }
        } else {
            (k.get)(c)
        };
        out.push_str(&format!(
            "{} = {}\n",
            k.path,
            v.unwrap_or_else(|| "(unset)".into())
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_example_matches_the_code() {
        let committed = include_str!("../botyard.example.toml");
        assert_eq!(
            committed,
            example(),
            "botyard.example.toml drifted: run `cargo run -- config example > botyard.example.toml`"
        );
    }

    #[test]
    fn example_parses_back_to_the_defaults() {
        let mut c = Config::default();
        apply_toml(&mut c, &example(), "example").unwrap();
        assert_eq!(c.listen, Config::default().listen);
        assert_eq!(c.store.shards, 8);
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut c = Config::default();
        let e = apply_toml(&mut c, "[server]\nlisen = \"x\"\n", "t").unwrap_err();
        assert_eq!(e.to_string(), "unknown configuration key `server.lisen`");
        let e = apply_toml(&mut c, "[nope]\na = 1\n", "t").unwrap_err();
        assert!(e.to_string().contains("nope.a"), "{e}");
        let e = apply_env(&mut c, [("BOTYARD_LISTN".to_string(), "x".to_string())]).unwrap_err();
        assert!(e.to_string().contains("BOTYARD_LISTN"), "{e}");
    }

    #[test]
    fn wrong_types_and_values_are_named() {
        let mut c = Config::default();
        let e = apply_toml(&mut c, "[store]\nshards = \"eight\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("store.shards"), "{e}");
        let e = apply_env(&mut c, [("BOTYARD_LISTEN".into(), "nonsense".into())]).unwrap_err();
        assert!(e.to_string().contains("BOTYARD_LISTEN"), "{e}");
    }

    #[test]
    fn precedence_defaults_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9000\"\ndata = \"/from/file\"\n[log]\nlevel = \"debug\"\n").unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "correct horse battery\n").unwrap();
        let env: BTreeMap<String, String> = [
            ("BOTYARD_DATA", "/from/env"),
            ("BOTYARD_ADMIN_EMAIL", "a@example.com"),
            ("BOTYARD_ADMIN_PASSWORD_FILE", pw.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let flags = Flags {
            config: Some(file.clone()),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            data: None,
        };
        let (c, used) = load(&flags, &env).unwrap();
        assert_eq!(used.as_deref(), Some(file.as_path()));
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.data_dir, PathBuf::from("/from/env"));
        assert_eq!(c.log.level, "debug");
        assert_eq!(
            c.admin.password.as_ref().unwrap().expose(),
            "correct horse battery"
        );
        assert!(!format!("{c:?}").contains("correct horse"));
    }

    #[test]
    fn telegram_settings_are_checked_and_never_echoed() {
        let mut c = Config::default();
        let toml = "[telegram]\napi_id = 12345\napi_hash = \"0123456789ABCDEF0123456789abcdef\"\nproxy = \"socks5://u:s3cr3t@127.0.0.1:1080\"\n";
        apply_toml(&mut c, toml, "t").unwrap();
        assert_eq!(c.telegram.api_id, Some(12345));
        assert_eq!(
            c.telegram.api_hash.as_ref().unwrap().expose(),
            "0123456789abcdef0123456789abcdef"
        );
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(proxy_port("socks5://u:s3cr3t@127.0.0.1:1080"), Some(1080));
        for (bad, key) in [
            ("[telegram]\napi_hash = \"xyz\"\n", "telegram.api_hash"),
            ("[telegram]\napi_id = -4\n", "telegram.api_id"),
            ("[telegram]\nproxy = \"http://p:1\"\n", "telegram.proxy"),
            (
                "[telegram]\nproxy = \"socks5://pass@host\"\n",
                "telegram.proxy",
            ),
            (
                "[telegram]\nproxy = \"socks5://pass@proxy.example.com:1080\"\n",
                "telegram.proxy",
            ),
        ] {
            let e = apply_toml(&mut Config::default(), bad, "t").unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
            assert!(!e.to_string().contains("pass@"), "{e}");
        }
        let mut half = Config::default();
        half.telegram.api_id = Some(1);
        assert!(
            half.validate()
                .unwrap_err()
                .to_string()
                .contains("go together")
        );
    }
}
