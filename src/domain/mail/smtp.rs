//! Connections to the SMTP server (lettre's SMTP client over rustls) kept open for reuse, and
//! what the server's answers mean for the outbox: sent, try again later, or refused for good.
//!
//! The pool is ours rather than lettre's so that a plain or STARTTLS connection is opened with
//! `TCP_NODELAY`: lettre writes a message's body and its closing dot in two writes, and with
//! Nagle's algorithm the second waits for the server's delayed acknowledgement (~40 ms a
//! mail; see docs/PERFORMANCE.md). Implicit TLS connections are opened by lettre (no hook).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::settings::MailServer;
use crate::config::MailSecurity;

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// A 4xx, no connection, a timeout, TLS trouble: the same mail may go later.
    Temporary(String),
    /// A 5xx: the server will never take this mail.
    Permanent(String),
}

/// How long a connection may wait unused before it is closed rather than reused (servers
/// drop idle clients after a minute or more).
const IDLE: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(30);

/// A server's connections with what every mail through it needs.
pub struct Smtp {
    host: String,
    port: u16,
    security: MailSecurity,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    pub from: Mailbox,
    pub dkim: Option<lettre::message::dkim::DkimConfig>,
    /// Of the server settings it was made from.
    pub fingerprint: String,
}

/// Why a transport cannot be made from the settings.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

impl Smtp {
    pub fn new(s: &MailServer) -> Result<Smtp, SetupError> {
        let tls = match s.security {
            MailSecurity::None => None,
            MailSecurity::Starttls | MailSecurity::Tls => {
                let mut b = TlsParameters::builder(s.host.clone());
                if let Some(pem) = &s.extra_root {
                    let cert = Certificate::from_pem(pem)
                        .map_err(|e| SetupError(format!("the mail CA file: {e}")))?;
                    b = b.add_root_certificate(cert);
                }
                Some(
                    b.build_rustls()
                        .map_err(|e| SetupError(format!("TLS: {e}")))?,
                )
            }
        };
        let from = Mailbox::new(
            Some(s.from_name.clone()),
            s.from_address
                .parse()
                .map_err(|_| SetupError(format!("`{}` is not an address", s.from_address)))?,
        );
        let dkim = match &s.dkim {
            Some((selector, key)) => Some(
                super::compose::dkim(&s.from_address, selector, key.expose())
                    .map_err(|_| SetupError("the DKIM key cannot be read".into()))?,
            ),
            None => None,
        };
        Ok(Smtp {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            tls,
            credentials: s
                .credentials
                .as_ref()
                .map(|(u, p)| Credentials::new(u.clone(), p.expose().to_string())),
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            from,
            dkim,
            fingerprint: s.fingerprint(),
        })
    }

    /// A new connection: connected, encrypted as the settings say, signed in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failed> {
        let mut c = match self.security {
            MailSecurity::Tls => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(TIMEOUT),
                    &self.hello,
                    self.tls.clone(),
                    None,
                )
                .await?
            }
            MailSecurity::Starttls | MailSecurity::None => {
                let tcp = tokio::time::timeout(
                    TIMEOUT,
                    tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await
                .map_err(|_| Failed::Network("connection timed out".into()))?
                .map_err(|e| Failed::Network(format!("connection: {e}")))?;
                tcp.set_nodelay(true)
                    .map_err(|e| Failed::Network(format!("connection: {e}")))?;
                let mut c =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
                if let (MailSecurity::Starttls, Some(tls)) = (self.security, &self.tls) {
                    // Required: a server that does not offer it gets no mail in the clear.
                    c.starttls(tls.clone(), &self.hello).await?;
                }
                c
            }
        };
        if let Some(creds) = &self.credentials {
            c.auth(&[Mechanism::Plain, Mechanism::Login], creds).await?;
        }
        Ok(c)
    }

    /// An open connection from the pool, or a new one.
    async fn take(&self) -> Result<(AsyncSmtpConnection, bool), Failed> {
        loop {
            let next = lock(&self.idle).pop();
            match next {
                Some((c, at)) if at.elapsed() < IDLE => return Ok((c, true)),
                Some((mut c, _)) => {
                    let _ = c.quit().await;
                }
                None => return Ok((self.connect().await?, false)),
            }
        }
    }

    /// Hands one message to the server. A reused connection that broke while idle is
    /// replaced once.
    pub async fn send(&self, msg: &Message) -> Outcome {
        let bytes = msg.formatted();
        for _ in 0..2 {
            let (mut c, reused) = match self.take().await {
                Ok(c) => c,
                Err(e) => return e.outcome(),
            };
            match c.send(msg.envelope(), &bytes).await {
                Ok(_) => {
                    lock(&self.idle).push((c, Instant::now()));
                    return Outcome::Sent;
                }
                // The server closed it meanwhile: try a fresh one.
                Err(e) if reused && e.status().is_none() => continue,
                // Any refusal ends the connection (lettre aborts it); the next mail opens one.
                Err(e) => return classify(&e),
            }
        }
        Outcome::Temporary("the connection broke twice".into())
    }

    /// Connects, says hello and signs in: the console's check.
    pub async fn check(&self) -> Outcome {
        match self.connect().await {
            Ok(mut c) => {
                let _ = c.quit().await;
                Outcome::Sent
            }
            Err(e) => e.outcome(),
        }
    }
}

/// Why a connection could not be had.
enum Failed {
    Network(String),
    Smtp(lettre::transport::smtp::Error),
}

impl From<lettre::transport::smtp::Error> for Failed {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Failed::Smtp(e)
    }
}

impl Failed {
    fn outcome(&self) -> Outcome {
        match self {
            Failed::Network(why) => Outcome::Temporary(why.clone()),
            Failed::Smtp(e) => classify(e),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A server's refusal with its code, a failure without one as what went wrong.
fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    let said = match e.status() {
        Some(code) => format!("{code} {e}"),
        None => e.to_string(),
    };
    // Only a 5xx is final; everything else (4xx, the network, TLS, timeouts) may pass. A
    // refused sign-in is the settings' fault, not the mail's: it waits for them to be fixed.
    let auth = e
        .status()
        .is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535" | "538"));
    if e.is_permanent() && !auth {
        Outcome::Permanent(said)
    } else {
        Outcome::Temporary(said)
    }
}
