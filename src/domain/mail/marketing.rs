//! Marketing mail: the reseller writes one (HTML, with `{tenant.name}`, `{plan.name}` and
//! `{email}`), picks tenants by plan, status and language, and sends it to their owners who
//! opted in, paced through the outbox. Each copy has a signed one-click unsubscribe link
//! (`List-Unsubscribe` + `List-Unsubscribe-Post`, RFC 8058) that works without signing in.

use std::collections::BTreeMap;

use botyard_shards::ids::{AccountId, MailingId, OutboxId, PlanId};
use botyard_shards::records::{
    AuditRec, Language, MailingFilterRec, MailingRec, Role, TenantStatus,
};

use super::letter::{Letter, pick, render};
use super::notices::{MailCtx, language_of, queued};
use crate::error::{AppError, AppResult};
use crate::state::{Shared, blocking};

const SUBJECT_MAX: usize = 150;
const HTML_MAX: usize = 100 * 1024;

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code: "marketing.invalid",
        field: field.into(),
        message: message.into(),
    }
}

/// Checks what the reseller wrote. The body is HTML for mail readers: nothing that runs or
/// submits is accepted (scripts, frames, forms, event handlers, `javascript:` links).
pub fn check(subject: &str, html: &str) -> AppResult<(String, String)> {
    let subject = subject.trim();
    if subject.is_empty()
        || subject.chars().count() > SUBJECT_MAX
        || subject.chars().any(char::is_control)
    {
        return Err(invalid(
            "subject",
            format!("1 to {SUBJECT_MAX} characters on one line"),
        ));
    }
    let html = html.trim();
    if html.is_empty() || html.len() > HTML_MAX {
        return Err(invalid(
            "html",
            format!("1 byte to {} KB of HTML", HTML_MAX / 1024),
        ));
    }
    let lower = html.to_lowercase();
    for bad in [
        "<script",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<input",
        "<button",
        "javascript:",
        "<meta",
        "<link",
        "<base",
    ] {
        if lower.contains(bad) {
            return Err(invalid(
                "html",
                format!("mail readers refuse `{bad}`: use text, links, images and tables"),
            ));
        }
    }
    if has_event_handler(&lower) {
        return Err(invalid(
            "html",
            "event attributes (onclick=…) do not work in mail",
        ));
    }
    Ok((subject.to_string(), html.to_string()))
}

/// An `on…=` attribute inside a tag.
fn has_event_handler(lower: &str) -> bool {
    let mut in_tag = false;
    let b = lower.as_bytes();
    for (i, c) in b.iter().enumerate() {
        match c {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b'o' if in_tag
                && i > 0
                && b[i - 1].is_ascii_whitespace()
                && b.get(i + 1) == Some(&b'n') =>
            {
                let rest = &b[i + 2..];
                let name = rest.iter().take_while(|x| x.is_ascii_alphabetic()).count();
                let after = rest[name..].iter().find(|x| !x.is_ascii_whitespace());
                if name > 0 && after == Some(&b'=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The plain-text version of a body: tags out, block ends as line breaks, the common
/// entities decoded.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut tag = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_lowercase();
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "table"
                ) && !out.ends_with('\n')
                {
                    out.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One recipient of a marketing mail.
#[derive(Clone, Debug)]
pub struct Reader {
    pub account: AccountId,
    pub email: String,
    pub language: Language,
    pub tenant: String,
    pub plan: String,
}

/// The owners who opted in, of the tenants the filter keeps; each account once (its first
/// tenant names the variables).
pub fn readers(store: &botyard_shards::Store, f: &MailingFilterRec) -> AppResult<Vec<Reader>> {
    let admin = store.system_admin();
    let c = store.catalog_read()?;
    let plans: BTreeMap<PlanId, String> =
        c.plans()?.into_iter().map(|(id, p)| (id, p.name)).collect();
    let mut out: BTreeMap<AccountId, Reader> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = admin.list_tenants(after, 500, None)?;
        for (id, t) in &page.items {
            if f.plan.is_some_and(|p| t.plan != Some(p)) || f.status.is_some_and(|s| t.status != s)
            {
                continue;
            }
            let scope = admin.tenant(*id)?;
            let fallback = crate::domain::tenancy::settings(&scope)?.language;
            for r in scope.catalog_read()?.recipients()? {
                if r.role != Some(Role::Owner) || !r.prefs.marketing || out.contains_key(&r.account)
                {
                    continue;
                }
                let language = language_of(&r.language, fallback);
                if f.language.is_some_and(|l| l != language) {
                    continue;
                }
                out.insert(
                    r.account,
                    Reader {
                        account: r.account,
                        email: r.email,
                        language,
                        tenant: t.name.clone(),
                        plan: t
                            .plan
                            .and_then(|p| plans.get(&p).cloned())
                            .unwrap_or_default(),
                    },
                );
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    Ok(out.into_values().collect())
}

/// The letter one reader gets.
pub fn letter(m: &MailingRec, r: &Reader, unsubscribe: &str) -> Letter {
    let fill = |s: &str, esc: bool| {
        let v = |x: &str| if esc { escape(x) } else { x.to_string() };
        s.replace("{tenant.name}", &v(&r.tenant))
            .replace("{plan.name}", &v(&r.plan))
            .replace("{email}", &v(&r.email))
    };
    let html = fill(&m.html, true);
    Letter {
        subject: fill(&m.subject, false),
        preheader: text_of(&html).lines().next().unwrap_or_default().to_string(),
        greeting: pick(r.language, "Hello,", "Merhaba,").to_string(),
        body_text: Some(text_of(&html)),
        body_html: Some(html),
        after: vec![pick(
            r.language,
            "You get this because you asked for news from us. One click on Unsubscribe below stops it.",
            "Bunu bizden haber almak istediğiniz için alıyorsunuz. Aşağıdaki Abonelikten çık bağlantısına bir tıklama yeterli.",
        )
        .to_string()],
        unsubscribe_url: Some(unsubscribe.to_string()),
        ..Letter::default()
    }
}

/// Saves a draft; audited.
pub async fn create(
    st: &Shared,
    actor: AccountId,
    subject: &str,
    html: &str,
    filter: MailingFilterRec,
) -> AppResult<MailingId> {
    let (subject, html) = check(subject, html)?;
    let (store, now) = (st.store.clone(), st.now());
    blocking(move || {
        store.catalog_write(|c| -> AppResult<MailingId> {
            if let Some(p) = filter.plan
                && c.plan(p)?.is_none()
            {
                return Err(AppError::NotFound("plan"));
            }
            let id = c.insert_mailing(&MailingRec {
                subject,
                html,
                filter,
                created_by: actor,
                created_at: now,
                sent_at: None,
                first_mail: None,
                last_mail: None,
                recipients: 0,
            })?;
            c.audit(&AuditRec {
                at: now,
                actor: Some(actor),
                tenant: None,
                action: "marketing.drafted".into(),
                detail: format!("mailing {}", id.0),
            })?;
            Ok(id)
        })
    })
    .await
}

/// Queues a draft for its readers, paced at `per_minute` (their next attempts spread out);
/// once only. How many it went to.
pub async fn send(st: &Shared, actor: AccountId, id: MailingId) -> AppResult<u32> {
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    let st2 = st.clone();
    let per_minute = i64::from(st.config.mail.marketing_per_minute.max(1));
    let n = blocking(move || {
        let m = store
            .catalog_read()?
            .mailing(id)?
            .ok_or(AppError::NotFound("mailing"))?;
        if m.sent_at.is_some() {
            return Err(AppError::Conflict {
                code: "marketing.sent",
                message: "this mail was sent already; copy it into a new one to send again".into(),
            });
        }
        let readers = readers(&store, &m.filter)?;
        let mut rows = Vec::with_capacity(readers.len());
        for (i, r) in readers.iter().enumerate() {
            let unsubscribe = st2.unsubscribe_key.url(&ctx.brand.base_url, r.account);
            let rendered = render(&letter(&m, r, &unsubscribe), &ctx.brand, r.language)?;
            let at = ctx.now + (i as i64) * 60 / per_minute;
            let mut row = queued(
                format!("marketing.{}", id.0),
                &r.email,
                None,
                r.language,
                rendered,
                at,
            );
            row.unsubscribe = Some(unsubscribe);
            rows.push(row);
        }
        store.catalog_write(|c| -> AppResult<u32> {
            let mut m = c.mailing(id)?.ok_or(AppError::NotFound("mailing"))?;
            if m.sent_at.is_some() {
                return Err(AppError::Conflict {
                    code: "marketing.sent",
                    message: "this mail was sent already".into(),
                });
            }
            let n = rows.len() as u32;
            for r in rows {
                let oid = c.enqueue_account_mail(r, &ctx.domain)?;
                m.first_mail.get_or_insert(oid.0);
                m.last_mail = Some(oid.0);
            }
            m.sent_at = Some(ctx.now);
            m.recipients = n;
            c.put_mailing(id, &m)?;
            c.audit(&AuditRec {
                at: ctx.now,
                actor: Some(actor),
                tenant: None,
                action: "marketing.sent".into(),
                detail: format!("mailing {} to {n} readers", id.0),
            })?;
            Ok(n)
        })
    })
    .await?;
    st.mail_wake.notify_one();
    Ok(n)
}

/// How a sent mailing goes: `[queued, sent, failed]`.
pub fn progress(store: &botyard_shards::Store, m: &MailingRec) -> AppResult<[u32; 3]> {
    match (m.first_mail, m.last_mail) {
        (Some(a), Some(b)) => Ok(store
            .catalog_read()?
            .mail_states(OutboxId(a), OutboxId(b))?),
        _ => Ok([0; 3]),
    }
}

/// An unsubscribe through a signed link: immediate, audited. `false` for a forged link.
pub async fn unsubscribe(st: &Shared, account: AccountId, sig: &str) -> AppResult<bool> {
    if !st.unsubscribe_key.verify(account, sig) {
        return Ok(false);
    }
    let (store, now) = (st.store.clone(), st.now());
    blocking(move || {
        store.catalog_write(|c| -> AppResult<bool> {
            if c.account(account)?.is_none() {
                return Ok(false);
            }
            let mut p = c.notice_prefs(account)?;
            if p.marketing {
                p.marketing = false;
                p.updated_at = now;
                c.set_notice_prefs(account, &p)?;
                c.audit(&AuditRec {
                    at: now,
                    actor: Some(account),
                    tenant: None,
                    action: "marketing.opt_out".into(),
                    detail: "unsubscribe link".into(),
                })?;
            }
            Ok(true)
        })
    })
    .await
}

/// The filter from what a form or request names.
pub fn filter(plan: Option<u64>, status: &str, language: &str) -> AppResult<MailingFilterRec> {
    Ok(MailingFilterRec {
        plan: plan.map(PlanId),
        status: match status {
            "" | "any" => None,
            "active" => Some(TenantStatus::Active),
            "suspended" => Some(TenantStatus::Suspended),
            _ => return Err(invalid("status", "any, active or suspended")),
        },
        language: match language {
            "" | "any" => None,
            "en" => Some(Language::En),
            "tr" => Some(Language::Tr),
            _ => return Err(invalid("language", "any, en or tr")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_would_run_are_refused_and_text_is_derived() {
        assert!(check("Yeni plan", "<p>Merhaba <b>{tenant.name}</b></p>").is_ok());
        for bad in [
            "<script>alert(1)</script>",
            "<a href=\"javascript:x()\">x</a>",
            "<img src=x onerror=alert(1)>",
            "<p ONCLICK = 'x'>a</p>",
            "<form action=x></form>",
        ] {
            assert!(check("s", bad).is_err(), "{bad}");
        }
        assert!(check("", "<p>x</p>").is_err());
        assert!(check("a\nb", "<p>x</p>").is_err());
        // Words that merely contain "on…=" outside a tag are text.
        assert!(check("s", "<p>one=1 and online=yes</p>").is_ok());
        assert_eq!(
            text_of("<h1>Kış kampanyası</h1><p>%20 indirim &amp; hediye<br>Son gün: 31 Aralık</p>"),
            "Kış kampanyası\n%20 indirim & hediye\nSon gün: 31 Aralık"
        );
    }

    #[test]
    fn variables_are_escaped_in_html_and_plain_in_the_subject() {
        let m = MailingRec {
            subject: "{tenant.name} için fırsat".into(),
            html: "<p>{tenant.name} · {plan.name}</p>".into(),
            filter: MailingFilterRec::default(),
            created_by: AccountId(1),
            created_at: 0,
            sent_at: None,
            first_mail: None,
            last_mail: None,
            recipients: 0,
        };
        let r = Reader {
            account: AccountId(2),
            email: "a@example.com".into(),
            language: Language::Tr,
            tenant: "Ali & <Veli>".into(),
            plan: "Esnaf".into(),
        };
        let l = letter(&m, &r, "https://b.example/unsubscribe?a=2&s=x");
        assert_eq!(l.subject, "Ali & <Veli> için fırsat");
        assert_eq!(
            l.body_html.as_deref(),
            Some("<p>Ali &amp; &lt;Veli&gt; · Esnaf</p>")
        );
        assert_eq!(l.body_text.as_deref(), Some("Ali & <Veli> · Esnaf"));
    }
}
