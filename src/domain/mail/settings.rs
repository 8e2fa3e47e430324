//! The SMTP server mails go through: from the configuration file (which then fixes it) or
//! from the console, where it is stored sealed with the other appliance settings.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::config::{MailSection, MailSecurity, Secret};
use crate::error::{AppError, AppResult};

/// What the console saved.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmtpStored {
    pub host: String,
    pub port: Option<u16>,
    pub security: MailSecurity,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
    pub dkim_selector: Option<String>,
    /// PEM (RSA, PKCS#1) or the base64 of an Ed25519 key's 32 bytes.
    pub dkim_key: Option<String>,
}

impl Drop for SmtpStored {
    fn drop(&mut self) {
        if let Some(p) = &mut self.password {
            p.zeroize();
        }
        if let Some(k) = &mut self.dkim_key {
            k.zeroize();
        }
    }
}

/// The SMTP server in force.
#[derive(Clone)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub credentials: Option<(String, Secret)>,
    pub from_address: String,
    /// The brand's name when none is set.
    pub from_name: String,
    pub dkim: Option<(String, Secret)>,
    /// A certificate (PEM) trusted besides the public roots.
    pub extra_root: Option<Vec<u8>>,
    /// Set by the configuration file: the console only shows it.
    pub locked: bool,
}

impl MailServer {
    /// The configuration's server when it names one, else the console's, else none.
    pub fn build(c: &MailSection, stored: Option<&SmtpStored>, brand: &str) -> Option<MailServer> {
        if let Some(host) = &c.smtp_host {
            let read = |p: &std::path::Path, what: &str| {
                std::fs::read(p)
                    .inspect_err(|e| tracing::error!(error = %e, path = %p.display(), "cannot read the mail {what}"))
                    .ok()
            };
            let dkim = match (&c.dkim_selector, &c.dkim_key_file) {
                (Some(s), Some(p)) => read(p, "DKIM key")
                    .map(|b| (s.clone(), Secret::new(String::from_utf8_lossy(&b).trim()))),
                _ => None,
            };
            return Some(MailServer {
                host: host.clone(),
                port: c
                    .smtp_port
                    .unwrap_or_else(|| c.smtp_security.default_port()),
                security: c.smtp_security,
                credentials: c.smtp_user.clone().zip(c.smtp_password.clone()),
                from_address: c.from_address.clone().unwrap_or_default(),
                from_name: c.from_name.clone().unwrap_or_else(|| brand.to_string()),
                dkim,
                extra_root: c.ca_file.as_deref().and_then(|p| read(p, "CA file")),
                locked: true,
            });
        }
        let s = stored?;
        Some(MailServer {
            host: s.host.clone(),
            port: s.port.unwrap_or_else(|| s.security.default_port()),
            security: s.security,
            credentials: s.user.clone().zip(s.password.as_ref().map(Secret::new)),
            from_address: s.from_address.clone(),
            from_name: s.from_name.clone().unwrap_or_else(|| brand.to_string()),
            dkim: s
                .dkim_selector
                .clone()
                .zip(s.dkim_key.as_ref().map(Secret::new)),
            extra_root: None,
            locked: false,
        })
    }

    /// What identifies a connection: when it changes, the sender opens new ones.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.host,
            self.port,
            self.security.name(),
            self.credentials
                .as_ref()
                .map(|(u, p)| format!("{u}:{}", hex::encode(sha2_of(p.expose()))))
                .unwrap_or_default(),
            self.extra_root
                .as_deref()
                .map(sha2_of)
                .map(hex::encode)
                .unwrap_or_default(),
        )
    }
}

fn sha2_of(b: impl AsRef<[u8]>) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b.as_ref()).into()
}

/// The console's form. Secrets left empty keep what is stored.
#[derive(Default)]
pub struct SmtpInput {
    pub host: String,
    pub port: String,
    pub security: String,
    pub user: String,
    pub password: String,
    pub from_address: String,
    pub from_name: String,
    pub dkim_selector: String,
    pub dkim_key: String,
    /// Forget the server: no mail is sent (queued mails wait).
    pub clear: bool,
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: field.into(),
        message: message.into(),
    }
}

/// Checks an address people type (`name@example.com`), as SMTP will take it.
pub fn address(field: &str, v: &str) -> AppResult<String> {
    let v = v.trim();
    if v.len() > 254 || v.parse::<lettre::Address>().is_err() {
        return Err(invalid(
            "mail.address",
            field,
            "an email address looks like name@example.com",
        ));
    }
    Ok(v.to_string())
}

/// The DKIM key's kind, or why it is not one.
pub fn dkim_key(v: &str) -> AppResult<lettre::message::dkim::DkimSigningKey> {
    use lettre::message::dkim::{DkimSigningAlgorithm, DkimSigningKey};
    let algo = if v.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningAlgorithm::Rsa
    } else {
        DkimSigningAlgorithm::Ed25519
    };
    DkimSigningKey::new(v.trim(), algo).map_err(|_| {
        invalid(
            "mail.dkim_key",
            "dkim_key",
            "the DKIM key is an RSA key in PEM (BEGIN RSA PRIVATE KEY) or an Ed25519 key's 32 bytes in base64",
        )
    })
}

/// The new stored server from `input` over `current`, or the first field refused.
pub fn validate(input: &SmtpInput, current: Option<&SmtpStored>) -> AppResult<Option<SmtpStored>> {
    if input.clear {
        return Ok(None);
    }
    let host = input.host.trim();
    if host.is_empty() {
        return Err(invalid(
            "mail.host",
            "smtp_host",
            "the SMTP server's name, e.g. smtp.example.com",
        ));
    }
    if host.len() > 253
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    {
        return Err(invalid(
            "mail.host",
            "smtp_host",
            "the SMTP server's name, e.g. smtp.example.com",
        ));
    }
    let security = MailSecurity::parse(&input.security)
        .ok_or_else(|| invalid("mail.security", "smtp_security", "starttls, tls or none"))?;
    let port = match input.port.trim() {
        "" => None,
        p => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            invalid(
                "mail.port",
                "smtp_port",
                "a port is a number from 1 to 65535",
            )
        })?),
    };
    let mut next = current.cloned().unwrap_or_default();
    next.host = host.to_string();
    next.port = port;
    next.security = security;
    let user = input.user.trim();
    if user.is_empty() {
        next.user = None;
        next.password = None;
    } else {
        if user.len() > 254 || user.chars().any(char::is_control) {
            return Err(invalid("mail.user", "smtp_user", "at most 254 characters"));
        }
        next.user = Some(user.to_string());
        if !input.password.is_empty() {
            next.password = Some(input.password.clone());
        }
        if next.password.is_none() {
            return Err(invalid(
                "mail.password",
                "smtp_password",
                "a user name needs its password",
            ));
        }
    }
    next.from_address = address("from_address", &input.from_address)?;
    let name = input.from_name.trim();
    if name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(invalid(
            "mail.from_name",
            "from_name",
            "at most 60 characters on one line",
        ));
    }
    next.from_name = (!name.is_empty()).then(|| name.to_string());
    let selector = input.dkim_selector.trim();
    if selector.is_empty() {
        next.dkim_selector = None;
        next.dkim_key = None;
    } else {
        if selector.len() > 63
            || !selector
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "mail.dkim_selector",
                "dkim_selector",
                "a DKIM selector is letters, digits and dashes (e.g. mail2026)",
            ));
        }
        next.dkim_selector = Some(selector.to_string());
        if !input.dkim_key.trim().is_empty() {
            dkim_key(&input.dkim_key)?;
            next.dkim_key = Some(input.dkim_key.trim().to_string());
        }
        if next.dkim_key.is_none() {
            return Err(invalid(
                "mail.dkim_key",
                "dkim_key",
                "a DKIM selector needs its private key",
            ));
        }
    }
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SmtpInput {
        SmtpInput {
            host: "smtp.example.com".into(),
            security: "starttls".into(),
            user: "bildirim".into(),
            password: "gizli".into(),
            from_address: "bildirim@example.com".into(),
            ..SmtpInput::default()
        }
    }

    #[test]
    fn a_form_is_checked_and_secrets_left_empty_are_kept() {
        let first = validate(&form(), None).unwrap().unwrap();
        assert_eq!(first.password.as_deref(), Some("gizli"));
        let again = SmtpInput {
            password: String::new(),
            ..form()
        };
        let kept = validate(&again, Some(&first)).unwrap().unwrap();
        assert_eq!(kept.password.as_deref(), Some("gizli"));
        for (f, code) in [
            (
                SmtpInput {
                    host: String::new(),
                    ..form()
                },
                "mail.host",
            ),
            (
                SmtpInput {
                    host: "smtp example".into(),
                    ..form()
                },
                "mail.host",
            ),
            (
                SmtpInput {
                    port: "70000".into(),
                    ..form()
                },
                "mail.port",
            ),
            (
                SmtpInput {
                    security: "ssl".into(),
                    ..form()
                },
                "mail.security",
            ),
            (
                SmtpInput {
                    from_address: "not an address".into(),
                    ..form()
                },
                "mail.address",
            ),
            (
                SmtpInput {
                    password: String::new(),
                    ..form()
                },
                "mail.password",
            ),
            (
                SmtpInput {
                    dkim_selector: "s1".into(),
                    ..form()
                },
                "mail.dkim_key",
            ),
            (
                SmtpInput {
                    dkim_selector: "s1".into(),
                    dkim_key: "nonsense".into(),
                    ..form()
                },
                "mail.dkim_key",
            ),
        ] {
            match validate(&f, None) {
                Err(AppError::Invalid { code: c, .. }) => assert_eq!(c, code),
                other => panic!("{code}: {:?}", other.map(|o| o.map(|s| s.host.clone()))),
            }
        }
        assert!(
            validate(
                &SmtpInput {
                    clear: true,
                    ..form()
                },
                Some(&first)
            )
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn the_configuration_wins_and_ports_follow_the_security() {
        let stored = validate(&form(), None).unwrap();
        let mut c = MailSection::default();
        let s = MailServer::build(&c, stored.as_ref(), "Botyard").unwrap();
        assert_eq!(
            (s.port, s.locked, s.from_name.as_str()),
            (587, false, "Botyard")
        );
        c.smtp_host = Some("relay.local".into());
        c.smtp_security = MailSecurity::Tls;
        c.from_address = Some("a@b.example".into());
        let s = MailServer::build(&c, stored.as_ref(), "Botyard").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.locked),
            ("relay.local", 465, true)
        );
        assert!(MailServer::build(&MailSection::default(), None, "x").is_none());
    }
}
