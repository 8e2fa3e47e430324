//! An outbox row made into the message the SMTP server receives: multipart text and HTML, the
//! Message-ID fixed when the row was written, an invoice PDF when it has one, the one-click
//! unsubscribe headers for list mail, and a DKIM signature when a key is set.

use botyard_shards::records::MailRec;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// Why a row cannot become a message: nothing a retry would change.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("the recipient `{0}` is not an email address")]
    Recipient(String),
    #[error("the message cannot be built: {0}")]
    Build(String),
}

/// A file that goes with the mail.
pub struct Attached {
    pub name: String,
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

/// Builds the message for `m` from `from`.
pub fn message(
    m: &MailRec,
    from: &Mailbox,
    attached: Option<Attached>,
    dkim: Option<&lettre::message::dkim::DkimConfig>,
    now: std::time::SystemTime,
) -> Result<Message, ComposeError> {
    let to: Mailbox =
        m.to.parse()
            .map_err(|_| ComposeError::Recipient(m.to.clone()))?;
    let mut b = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .date(now)
        .message_id(Some(m.message_id.clone()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            match m.language {
                botyard_shards::records::Language::En => "en".into(),
                botyard_shards::records::Language::Tr => "tr".into(),
            },
        ));
    if let Some(url) = &m.unsubscribe {
        b = b
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    } else {
        // Notices are not answered by machines: no vacation replies.
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    }
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(m.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(m.html.clone()),
        );
    let body = match attached {
        None => alternative,
        Some(a) => {
            let mime =
                ContentType::parse(a.mime).map_err(|e| ComposeError::Build(e.to_string()))?;
            MultiPart::mixed()
                .multipart(alternative)
                .singlepart(Attachment::new(a.name).body(a.bytes, mime))
        }
    };
    let mut msg = b
        .multipart(body)
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    if let Some(d) = dkim {
        msg.sign(d);
    }
    Ok(msg)
}

/// The DKIM configuration for mails from `from_address`, signing the headers a receiver
/// shows.
pub fn dkim(
    from_address: &str,
    selector: &str,
    key: &str,
) -> Result<lettre::message::dkim::DkimConfig, crate::error::AppError> {
    use lettre::message::dkim::{DkimCanonicalization, DkimCanonicalizationType, DkimConfig};
    let domain = from_address
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let key = super::settings::dkim_key(key)?;
    // Only headers of the message itself: a multipart body's Content-Type is written with
    // the body, where the signer does not see it.
    let headers = ["From", "To", "Subject", "Date", "Message-ID"]
        .into_iter()
        .map(HeaderName::new_from_ascii_str)
        .collect();
    Ok(DkimConfig::new(
        selector.to_string(),
        domain,
        key,
        headers,
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use botyard_shards::records::{Language, MailStateRec};

    fn row() -> MailRec {
        MailRec {
            kind: "account.password_reset".into(),
            to: "Ayşe <ayse@example.com>".into(),
            tenant: None,
            language: Language::Tr,
            subject: "Şifre sıfırlama".into(),
            text: "Merhaba Ayşe".into(),
            html: "<p>Merhaba Ayşe</p>".into(),
            invoice: None,
            message_id: "<outbox.1.2@yard.example>".into(),
            state: MailStateRec::Queued,
            attempts: 0,
            next_at: 0,
            created_at: 0,
            last_error: None,
            unsubscribe: None,
        }
    }

    #[test]
    fn the_message_has_both_parts_its_id_and_utf8_subject() {
        let from: Mailbox = "Kuşyuvası <bildirim@yard.example>".parse().unwrap();
        let m = message(&row(), &from, None, None, std::time::SystemTime::UNIX_EPOCH).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <outbox.1.2@yard.example>"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("Subject: =?utf-8?"), "encoded word: {raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        let bad = MailRec {
            to: "not an address".into(),
            ..row()
        };
        assert!(matches!(
            message(&bad, &from, None, None, std::time::SystemTime::UNIX_EPOCH),
            Err(ComposeError::Recipient(_))
        ));
    }
}
