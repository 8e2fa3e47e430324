//! Support requests and feedback. A tenant's people open a request (subject, message, an
//! attachment within limits) from the console or the Mini-App; the tenant's context is
//! attached by itself. The reseller answers in the console. Each message is kept as written
//! (the request's audit) and noted in the audit log; each side is told by mail and through
//! the platform bot, in the transaction that stored the message. A request is open (the
//! reseller's turn), waiting (the tenant's turn) or resolved; either side may resolve it or
//! open it again. Feedback from the Mini-App is a request of its own kind, read in the console.

use botyard_shards::TenantScope;
use botyard_shards::ids::{AccountId, TicketId};
use botyard_shards::records::{
    AttachmentRec, AuditRec, Language, MailRec, TicketKindRec, TicketMessageRec, TicketRec,
    TicketStateRec,
};
use botyard_shards::{CatalogTx, WriteTransaction};

use crate::domain::mail::notices::{MailCtx, Notice, language_of};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const SUBJECT_MAX: usize = 120;
pub const BODY_MAX: usize = 4_000;
/// The largest attachment: a screenshot or a short PDF.
pub const ATTACHMENT_MAX: usize = 1024 * 1024;
const NAME_MAX: usize = 100;
/// Requests a tenant may open per hour and per day, and messages it may write per hour.
pub const OPENED_PER_HOUR: usize = 5;
pub const OPENED_PER_DAY: usize = 20;
pub const MESSAGES_PER_HOUR: usize = 30;
/// Messages one request holds at most.
const MESSAGES_MAX: u32 = 200;

/// A file sent with a message, as uploaded.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What is written: the text and an optional file.
pub struct Message {
    pub body: String,
    pub file: Option<Upload>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code: "support.invalid",
        field: field.into(),
        message: message.into(),
    }
}

fn text(field: &str, v: &str, max: usize, multiline: bool) -> AppResult<String> {
    let v = v.trim().replace("\r\n", "\n");
    if v.is_empty() {
        return Err(invalid(field, "write something here"));
    }
    if v.chars().count() > max
        || v.chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(invalid(field, format!("at most {max} characters of text")));
    }
    Ok(v)
}

/// The file's type from its bytes: pictures, PDF and plain text only, so nothing served back
/// can run in a browser.
pub fn attachment_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if std::str::from_utf8(bytes).is_ok_and(|t| {
        !t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    }) {
        Some("text/plain; charset=utf-8")
    } else {
        None
    }
}

/// A checked attachment: its record and bytes.
fn checked_file(u: Upload) -> AppResult<CheckedFile> {
    if u.bytes.is_empty() {
        return Err(invalid("file", "the file is empty"));
    }
    if u.bytes.len() > ATTACHMENT_MAX {
        return Err(AppError::Invalid {
            code: "support.file_too_large",
            field: "file".into(),
            message: format!("a file is at most {} KB", ATTACHMENT_MAX / 1024),
        });
    }
    let mime = attachment_type(&u.bytes).ok_or_else(|| AppError::Invalid {
        code: "support.file_type",
        field: "file".into(),
        message: "attach a picture (PNG, JPEG, WebP), a PDF or a text file".into(),
    })?;
    let name: String = u
        .name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(NAME_MAX)
        .collect();
    Ok((
        AttachmentRec {
            name: if name.trim().is_empty() {
                "file".into()
            } else {
                name
            },
            mime: mime.into(),
            size: u32::try_from(u.bytes.len()).unwrap_or(u32::MAX),
        },
        u.bytes,
    ))
}

/// A checked attachment with its bytes.
type CheckedFile = (AttachmentRec, Vec<u8>);

fn checked(m: Message) -> AppResult<(String, Option<CheckedFile>)> {
    let body = text("body", &m.body, BODY_MAX, true)?;
    let file = m.file.filter(|f| !f.bytes.is_empty() || !f.name.is_empty());
    Ok((body, file.map(checked_file).transpose()?))
}

fn too_many(message: &str) -> AppError {
    AppError::TooOften {
        code: "support.rate_limited",
        message: message.into(),
    }
}

/// The tenant's context as the reseller reads it: plan and subscription, sessions and the
/// worker, groups, language and the screen the request came from.
fn context(st: &AppState, scope: &TenantScope, screen: &str) -> AppResult<String> {
    let c = scope.catalog_read()?;
    let plan = match scope.record().plan {
        Some(p) => c.plan(p)?.map_or_else(|| format!("#{p}"), |p| p.name),
        None => "-".into(),
    };
    let sub = c
        .subscription()?
        .map_or("none", |s| crate::domain::billing::state_code(s.state));
    drop(c);
    let sh = scope.shard_read()?;
    let sessions = sh.sessions()?;
    drop(sh);
    let groups = crate::domain::groups::list(
        scope,
        &crate::domain::groups::GroupFilter {
            enabled: Some(true),
            ..Default::default()
        },
    )?
    .len();
    let worker = st.supervisor.status(scope.tenant_id()).map_or_else(
        || "not started".to_string(),
        |w| format!("{:?}", w.state).to_lowercase(),
    );
    let settings = crate::domain::tenancy::settings(scope)?;
    let screen: String = screen
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    Ok(format!(
        "plan: {plan} ({sub}) · sessions: {} · worker: {worker} · groups enabled: {groups} · language: {} · time zone: {} · screen: {}",
        sessions.len(),
        match settings.language {
            Language::Tr => "tr",
            Language::En => "en",
        },
        settings.time_zone,
        if screen.is_empty() { "-" } else { &screen },
    ))
}

fn audit(
    c: &mut CatalogTx<WriteTransaction>,
    actor: Option<AccountId>,
    scope: &TenantScope,
    action: &str,
    id: TicketId,
    now: i64,
) -> AppResult<()> {
    c.audit(&AuditRec {
        at: now,
        actor,
        tenant: Some(scope.tenant_id()),
        action: action.into(),
        detail: format!("request {id}"),
    })?;
    Ok(())
}

/// Opens a request (or sends feedback) from one of the tenant's people.
pub fn open(
    st: &AppState,
    scope: &TenantScope,
    kind: TicketKindRec,
    subject: &str,
    message: Message,
    screen: &str,
) -> AppResult<TicketId> {
    let subject = match kind {
        TicketKindRec::Support => text("subject", subject, SUBJECT_MAX, false)?,
        TicketKindRec::Feedback => "Feedback".into(),
    };
    let (body, file) = checked(message)?;
    let context = context(st, scope, screen)?;
    let now = st.now();
    let actor = scope.actor();
    let ctx = MailCtx::of(st);
    let tenant_name = scope.record().name.clone();
    let id = scope.catalog_write(|c| -> AppResult<TicketId> {
        let recent = c.tickets(OPENED_PER_DAY)?;
        let opened = |secs: i64| {
            recent
                .iter()
                .filter(|(_, t)| now - t.created_at < secs)
                .count()
        };
        if opened(3600) >= OPENED_PER_HOUR || opened(86_400) >= OPENED_PER_DAY {
            return Err(too_many(
                "too many requests opened lately; add to an open one, or try again in an hour",
            ));
        }
        let id = c.insert_ticket(TicketRec {
            tenant: scope.tenant_id(),
            kind,
            subject: subject.clone(),
            state: TicketStateRec::Open,
            opened_by: actor,
            context,
            created_at: now,
            updated_at: now,
            messages: 1,
        })?;
        let (attachment, bytes) = file.map_or((None, None), |(a, b)| (Some(a), Some(b)));
        c.add_ticket_message(
            id,
            0,
            &TicketMessageRec {
                at: now,
                author: actor,
                staff: false,
                body: body.clone(),
                attachment,
            },
            bytes.as_deref(),
        )?;
        let action = match kind {
            TicketKindRec::Support => "support.opened",
            TicketKindRec::Feedback => "feedback.sent",
        };
        audit(c, actor, scope, action, id, now)?;
        if kind == TicketKindRec::Support {
            let notice = Notice::SupportRequest {
                tenant: tenant_name.clone(),
                subject: subject.clone(),
                excerpt: excerpt(&body),
                link: format!("{}/console/support/{id}", ctx.brand.base_url),
            };
            for row in admin_rows(c, &ctx, &notice)? {
                c.enqueue_account_mail(row, &ctx.domain)?;
            }
        }
        Ok(id)
    })?;
    st.mail_wake.notify_one();
    tracing::info!(
        tenant_id = scope.tenant_id().0,
        request = id.0,
        "support request opened"
    );
    Ok(id)
}

fn excerpt(body: &str) -> String {
    let mut s: String = body.chars().take(400).collect();
    if body.chars().count() > 400 {
        s.push('…');
    }
    s
}

/// A notice to every admin: by mail, and through the platform bot to those linked to it.
fn admin_rows(
    c: &mut CatalogTx<WriteTransaction>,
    ctx: &MailCtx,
    notice: &Notice,
) -> AppResult<Vec<MailRec>> {
    let mut rows = Vec::new();
    for a in c.admin_recipients()? {
        let lang = language_of(&a.language, Language::En);
        rows.push(ctx.row(notice, &a.email, None, lang)?);
        if c.telegram_link(a.account)?.is_some() {
            rows.push(ctx.telegram_row(notice, a.account, lang)?);
        }
    }
    Ok(rows)
}

/// Where a request's answer goes: whoever opened it, or the tenant's owners if they left.
fn tenant_rows(
    c: &mut botyard_shards::TenantCatalog<WriteTransaction>,
    ctx: &MailCtx,
    notice: &Notice,
    opener: Option<AccountId>,
    fallback: Language,
) -> AppResult<Vec<MailRec>> {
    let people = c.recipients()?;
    let chosen: Vec<_> = match people.iter().find(|p| Some(p.account) == opener) {
        Some(p) => vec![p.clone()],
        None => people
            .into_iter()
            .filter(|p| p.role == Some(botyard_shards::records::Role::Owner))
            .collect(),
    };
    let mut rows = Vec::new();
    for p in chosen {
        let lang = language_of(&p.language, fallback);
        rows.push(ctx.row(notice, &p.email, None, lang)?);
        if c.telegram_link(p.account)?.is_some() {
            rows.push(ctx.telegram_row(notice, p.account, lang)?);
        }
    }
    Ok(rows)
}

/// Who writes a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// One of the tenant's people.
    Tenant,
    /// The reseller's staff (an admin).
    Staff,
}

/// Adds a message to a request. The tenant's message makes it the reseller's turn (open); the
/// reseller's, the tenant's (waiting) or, with `resolve`, resolved. The other side is told.
pub fn reply(
    st: &AppState,
    scope: &TenantScope,
    id: TicketId,
    side: Side,
    message: Message,
    resolve: bool,
) -> AppResult<TicketRec> {
    let (body, file) = checked(message)?;
    let now = st.now();
    let actor = scope.actor();
    let ctx = MailCtx::of(st);
    let fallback = crate::domain::tenancy::settings(scope)?.language;
    let tenant_name = scope.record().name.clone();
    let t = scope.catalog_write(|c| -> AppResult<TicketRec> {
        let mut t = c.ticket(id)?.ok_or(AppError::NotFound("support request"))?;
        if t.kind != TicketKindRec::Support {
            return Err(AppError::NotFound("support request"));
        }
        if t.messages >= MESSAGES_MAX {
            return Err(AppError::Conflict {
                code: "support.too_long",
                message: format!("this request has {MESSAGES_MAX} messages; open a new one"),
            });
        }
        if side == Side::Tenant {
            let mut written = 0;
            for (tid, r) in c.tickets(OPENED_PER_DAY)? {
                if now - r.updated_at < 3600 {
                    written += c
                        .ticket_messages(tid)?
                        .iter()
                        .filter(|m| !m.staff && now - m.at < 3600)
                        .count();
                }
            }
            if written >= MESSAGES_PER_HOUR {
                return Err(too_many(
                    "too many messages in the last hour; try again a little later",
                ));
            }
        }
        let (attachment, bytes) = file.map_or((None, None), |(a, b)| (Some(a), Some(b)));
        c.add_ticket_message(
            id,
            t.messages,
            &TicketMessageRec {
                at: now,
                author: actor,
                staff: side == Side::Staff,
                body: body.clone(),
                attachment,
            },
            bytes.as_deref(),
        )?;
        t.messages += 1;
        t.updated_at = now;
        t.state = match (side, resolve) {
            (Side::Tenant, _) => TicketStateRec::Open,
            (Side::Staff, false) => TicketStateRec::Waiting,
            (Side::Staff, true) => TicketStateRec::Resolved,
        };
        c.put_ticket(id, t.clone())?;
        audit(c, actor, scope, "support.message", id, now)?;
        let rows = match side {
            Side::Tenant => {
                let notice = Notice::SupportRequest {
                    tenant: tenant_name.clone(),
                    subject: t.subject.clone(),
                    excerpt: excerpt(&body),
                    link: format!("{}/console/support/{id}", ctx.brand.base_url),
                };
                admin_rows(c, &ctx, &notice)?
            }
            Side::Staff => {
                let notice = Notice::SupportAnswer {
                    subject: t.subject.clone(),
                    excerpt: excerpt(&body),
                    link: format!(
                        "{}/console/tenants/{}/support/{id}",
                        ctx.brand.base_url,
                        scope.tenant_id()
                    ),
                };
                tenant_rows(c, &ctx, &notice, t.opened_by, fallback)?
            }
        };
        for row in rows {
            c.enqueue_account_mail(row, &ctx.domain)?;
        }
        Ok(t)
    })?;
    st.mail_wake.notify_one();
    Ok(t)
}

/// Resolves a request, or opens it again.
pub fn set_state(
    st: &AppState,
    scope: &TenantScope,
    id: TicketId,
    resolved: bool,
) -> AppResult<TicketRec> {
    let now = st.now();
    let actor = scope.actor();
    scope.catalog_write(|c| -> AppResult<TicketRec> {
        let mut t = c.ticket(id)?.ok_or(AppError::NotFound("support request"))?;
        t.state = if resolved {
            TicketStateRec::Resolved
        } else {
            TicketStateRec::Open
        };
        t.updated_at = now;
        c.put_ticket(id, t.clone())?;
        let action = if resolved {
            "support.resolved"
        } else {
            "support.reopened"
        };
        audit(c, actor, scope, action, id, now)?;
        Ok(t)
    })
}

/// A request with its messages (one of the scope's tenant's).
pub fn thread(scope: &TenantScope, id: TicketId) -> AppResult<(TicketRec, Vec<TicketMessageRec>)> {
    let c = scope.catalog_read()?;
    let t = c.ticket(id)?.ok_or(AppError::NotFound("support request"))?;
    let m = c.ticket_messages(id)?;
    Ok((t, m))
}

/// An attachment's record and bytes.
pub fn file(scope: &TenantScope, id: TicketId, n: u32) -> AppResult<(AttachmentRec, Vec<u8>)> {
    let c = scope.catalog_read()?;
    let rec = c
        .ticket_messages(id)
        .map_err(|_| AppError::NotFound("attachment"))?
        .into_iter()
        .nth(n as usize)
        .and_then(|m| m.attachment)
        .ok_or(AppError::NotFound("attachment"))?;
    let bytes = c
        .ticket_file(id, n)?
        .ok_or(AppError::NotFound("attachment"))?;
    Ok((rec, bytes))
}

/// The state's stable code.
pub fn state_code(s: TicketStateRec) -> &'static str {
    match s {
        TicketStateRec::Open => "open",
        TicketStateRec::Waiting => "waiting",
        TicketStateRec::Resolved => "resolved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pictures_pdf_and_text_are_attached() {
        assert_eq!(attachment_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(attachment_type(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(
            attachment_type("Merhaba, şablon kayboldu.\n".as_bytes()),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(attachment_type(b"<svg onload=alert(1)>\x00"), None);
        assert_eq!(attachment_type(b"MZ\x90\x00\x03"), None);
    }

    #[test]
    fn a_file_name_keeps_only_its_last_part_and_no_markup() {
        let (a, _) = checked_file(Upload {
            name: "C:\\Users\\ayşe\\<ekran>\".png".into(),
            bytes: b"\x89PNG\r\n\x1a\n".to_vec(),
        })
        .unwrap();
        assert_eq!(a.name, "ekran.png");
        let big = checked_file(Upload {
            name: "x.txt".into(),
            bytes: vec![b'a'; ATTACHMENT_MAX + 1],
        });
        assert_eq!(big.unwrap_err().code(), "support.file_too_large");
    }

    #[test]
    fn text_is_bounded_and_single_line_where_it_must_be() {
        assert!(text("subject", "  ", 10, false).is_err());
        assert!(text("subject", "a\nb", 10, false).is_err());
        assert_eq!(text("body", "a\r\nb", 10, true).unwrap(), "a\nb");
        assert!(text("body", &"ş".repeat(11), 10, true).is_err());
    }
}
