//! Mails about an account itself: a password reset by a one-time link (the same answer
//! whether or not the address has an account), an email address change confirmed from the
//! new address (the old one is told), and a notice when someone signs in from a device the
//! account had not used.

use std::net::IpAddr;

use botyard_shards::ids::AccountId;
use botyard_shards::records::{AccountTokenKind, AccountTokenRec, AuditRec, Language};

use super::notices::{MailCtx, Notice, language_of};
use crate::config::Secret;
use crate::error::{AppError, AppResult};
use crate::security::crypto::{random_token, sha256};
use crate::state::{Shared, blocking};

/// How long a password reset link works.
pub const RESET_MINUTES: i64 = 30;
/// How long an email change link works.
pub const CHANGE_HOURS: i64 = 24;

/// Mails a reset link when `email` has an account; says nothing either way. Each request
/// replaces the account's earlier link.
pub async fn request_password_reset(st: &Shared, email: &str, lang: Language) -> AppResult<()> {
    let email = email.trim().to_lowercase();
    if email.len() > 320 {
        return Ok(());
    }
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    let queued = blocking(move || {
        let Some((account, _)) = store.catalog_read()?.account_by_email(&email)? else {
            return Ok(false);
        };
        let token = random_token();
        let link = format!("{}/console/reset?token={token}", ctx.brand.base_url);
        store.catalog_write(|c| -> AppResult<bool> {
            c.prune_account_tokens(
                account,
                |r| r.kind == AccountTokenKind::PasswordReset,
                ctx.now,
            )?;
            c.insert_account_token(
                &sha256(token.as_bytes()),
                &AccountTokenRec {
                    account,
                    kind: AccountTokenKind::PasswordReset,
                    created_at: ctx.now,
                    expires_at: ctx.now + RESET_MINUTES * 60,
                },
            )?;
            let lang = language_of(&c.account_prefs(account)?.language, lang);
            let notice = Notice::PasswordReset {
                link,
                minutes: RESET_MINUTES,
            };
            c.enqueue_account_mail(ctx.row(&notice, &email, None, lang)?, &ctx.domain)?;
            c.audit(&AuditRec {
                at: ctx.now,
                actor: Some(account),
                tenant: None,
                action: "auth.password_reset_requested".into(),
                detail: String::new(),
            })?;
            Ok(true)
        })
    })
    .await?;
    if queued {
        st.mail_wake.notify_one();
    }
    Ok(())
}

fn link_invalid() -> AppError {
    AppError::Invalid {
        code: "auth.link_invalid",
        field: "token".into(),
        message: "this link is not valid: it was used, replaced by a newer one, or it expired; ask for a new one".into(),
    }
}

/// Sets a new password with a reset link's token; every login of the account ends.
pub async fn reset_password(st: &Shared, token: &str, password: Secret) -> AppResult<AccountId> {
    crate::security::passwords::check_policy("password", password.expose())?;
    let hash = sha256(token.trim().as_bytes());
    let now = st.now();
    let live = st
        .store
        .catalog_read()?
        .account_token(&hash)?
        .filter(|r| r.expires_at > now && r.kind == AccountTokenKind::PasswordReset);
    if live.is_none() {
        return Err(link_invalid());
    }
    let new_hash = st.hashes.hash(password).await?;
    let store = st.store.clone();
    blocking(move || {
        store.catalog_write(|c| -> AppResult<AccountId> {
            // Taken in the write: two uses of one link cannot both pass.
            let Some(t) = c
                .take_account_token(&hash)?
                .filter(|r| r.expires_at > now && r.kind == AccountTokenKind::PasswordReset)
            else {
                return Err(link_invalid());
            };
            let mut rec = c.account(t.account)?.ok_or(AppError::NotFound("account"))?;
            rec.password_hash = new_hash;
            rec.password_changed_at = now;
            c.update_account(t.account, &rec)?;
            c.revoke_account_families(t.account)?;
            c.audit(&AuditRec {
                at: now,
                actor: Some(t.account),
                tenant: None,
                action: "auth.password_reset".into(),
                detail: String::new(),
            })?;
            Ok(t.account)
        })
    })
    .await
}

/// Mails a confirmation link to `new_email` once the account's password is confirmed.
pub async fn request_email_change(
    st: &Shared,
    account: AccountId,
    new_email: &str,
    password: Secret,
) -> AppResult<()> {
    let new_email = crate::domain::auth::normalize_email("email", new_email)?;
    let rec =
        crate::domain::auth::check_current_password(st, account, password, "password").await?;
    if new_email == rec.email {
        return Err(AppError::invalid(
            "email",
            "this is the account's address already",
        ));
    }
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    blocking(move || {
        let token = random_token();
        let link = format!("{}/console/email?token={token}", ctx.brand.base_url);
        store.catalog_write(|c| -> AppResult<()> {
            // Whether another account has the address shows only when the link is used.
            c.prune_account_tokens(
                account,
                |r| matches!(r.kind, AccountTokenKind::EmailChange { .. }),
                ctx.now,
            )?;
            c.insert_account_token(
                &sha256(token.as_bytes()),
                &AccountTokenRec {
                    account,
                    kind: AccountTokenKind::EmailChange {
                        new_email: new_email.clone(),
                    },
                    created_at: ctx.now,
                    expires_at: ctx.now + CHANGE_HOURS * 3600,
                },
            )?;
            let lang = language_of(&c.account_prefs(account)?.language, Language::En);
            let notice = Notice::EmailChange {
                new_email: new_email.clone(),
                link,
                hours: CHANGE_HOURS,
            };
            c.enqueue_account_mail(ctx.row(&notice, &new_email, None, lang)?, &ctx.domain)?;
            c.audit(&AuditRec {
                at: ctx.now,
                actor: Some(account),
                tenant: None,
                action: "auth.email_change_requested".into(),
                detail: String::new(),
            })?;
            Ok(())
        })
    })
    .await?;
    st.mail_wake.notify_one();
    Ok(())
}

/// Makes the confirmed address the account's; the old address is told.
pub async fn confirm_email_change(st: &Shared, token: &str) -> AppResult<AccountId> {
    let hash = sha256(token.trim().as_bytes());
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    let account = blocking(move || {
        store.catalog_write(|c| -> AppResult<AccountId> {
            let Some(t) = c
                .take_account_token(&hash)?
                .filter(|r| r.expires_at > ctx.now)
            else {
                return Err(link_invalid());
            };
            let AccountTokenKind::EmailChange { new_email } = t.kind else {
                return Err(link_invalid());
            };
            let old = c
                .account(t.account)?
                .ok_or(AppError::NotFound("account"))?
                .email;
            if !c.change_account_email(t.account, &new_email)? {
                return Err(AppError::Conflict {
                    code: "account.email_taken",
                    message: "another account uses this address".into(),
                });
            }
            let lang = language_of(&c.account_prefs(t.account)?.language, Language::En);
            let notice = Notice::EmailChanged { new_email };
            c.enqueue_account_mail(ctx.row(&notice, &old, None, lang)?, &ctx.domain)?;
            c.audit(&AuditRec {
                at: ctx.now,
                actor: Some(t.account),
                tenant: None,
                action: "auth.email_changed".into(),
                detail: String::new(),
            })?;
            Ok(t.account)
        })
    })
    .await?;
    st.mail_wake.notify_one();
    Ok(account)
}

/// A device as far as notices go: the browser's description and the network it came from
/// (the /24 of an IPv4 address, the /48 of an IPv6 one), so a new address from the same
/// provider is not news but a new browser or place is.
pub fn device(ip: IpAddr, agent: &str) -> [u8; 16] {
    let net = match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}", o[0], o[1], o[2])
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            format!("{:x}:{:x}:{:x}", s[0], s[1], s[2])
        }
    };
    let d = sha256(format!("{net}|{}", agent.trim()).as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

/// Remembers a successful sign-in's device and mails the account when it is a new one (not
/// on its very first sign-in). A failure here is logged: it never blocks a sign-in.
pub async fn note_sign_in(st: &Shared, account: AccountId, ip: IpAddr, agent: &str) {
    let agent: String = agent.chars().take(200).collect();
    let ctx = MailCtx::of(st);
    let store = st.store.clone();
    let dev = device(ip, &agent);
    let r = blocking(move || {
        store.catalog_write(|c| -> AppResult<bool> {
            let known_any = c.has_known_device(account)?;
            if !c.remember_device(account, dev, ctx.now)? || !known_any {
                return Ok(false);
            }
            let Some(who) = c.account_recipient(account)? else {
                return Ok(false);
            };
            let lang = language_of(&who.language, Language::En);
            let notice = Notice::NewDevice {
                when: crate::clock::rfc3339(ctx.now),
                address: ip.to_string(),
                agent: if agent.is_empty() { "?".into() } else { agent },
            };
            c.enqueue_account_mail(ctx.row(&notice, &who.email, None, lang)?, &ctx.domain)?;
            Ok(true)
        })
    })
    .await;
    match r {
        Ok(true) => st.mail_wake.notify_one(),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cannot record the sign-in's device"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_the_browser_and_its_network() {
        let a: IpAddr = "85.105.1.10".parse().unwrap();
        let b: IpAddr = "85.105.1.200".parse().unwrap();
        let c: IpAddr = "85.106.1.10".parse().unwrap();
        assert_eq!(device(a, "Firefox"), device(b, "Firefox"));
        assert_ne!(device(a, "Firefox"), device(c, "Firefox"));
        assert_ne!(device(a, "Firefox"), device(a, "Chrome"));
    }
}
