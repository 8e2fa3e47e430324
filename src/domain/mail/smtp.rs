//! The connection pool to the SMTP server (lettre over rustls) and what its answers mean for
//! the outbox: sent, try again later, or refused for good.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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

/// A server's transport with what every mail through it needs.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
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
    /// A pool of at most `connections` connections to `s`.
    pub fn new(s: &MailServer, connections: u32) -> Result<Smtp, SetupError> {
        let tls = || -> Result<TlsParameters, SetupError> {
            let mut b = TlsParameters::builder(s.host.clone());
            if let Some(pem) = &s.extra_root {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| SetupError(format!("the mail CA file: {e}")))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| SetupError(format!("TLS: {e}")))
        };
        let tls = match s.security {
            MailSecurity::Starttls => Tls::Required(tls()?),
            MailSecurity::Tls => Tls::Wrapper(tls()?),
            MailSecurity::None => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(
                PoolConfig::new()
                    .max_size(connections)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let Some((user, pw)) = &s.credentials {
            b = b.credentials(Credentials::new(user.clone(), pw.expose().to_string()));
        }
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
            transport: b.build(),
            from,
            dkim,
            fingerprint: s.fingerprint(),
        })
    }

    /// Hands one message to the server.
    pub async fn send(&self, msg: &Message) -> Outcome {
        match self.transport.send(msg.clone()).await {
            Ok(_) => Outcome::Sent,
            Err(e) => classify(&e),
        }
    }

    /// Connects and says hello (and authenticates): the console's check.
    pub async fn check(&self) -> Outcome {
        match self.transport.test_connection().await {
            Ok(true) => Outcome::Sent,
            Ok(false) => Outcome::Temporary("the server did not answer".into()),
            Err(e) => classify(&e),
        }
    }
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
