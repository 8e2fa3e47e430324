//! Admin recovery from the server's own command line (`botyard admin reset-password|create`):
//! a lost admin password otherwise has no way back. Only someone who may act as the
//! server's user on the machine gets here (the admin socket, or the store's files with the
//! server stopped), never anyone over the network.
//!
//! A password is set either from a hash the caller made (the password came on standard
//! input), or not at all: the account gets a one-time link to the console's reset page, which
//! is printed rather than mailed.

use botyard_shards::Store;
use botyard_shards::ids::AccountId;
use botyard_shards::records::{AccountRec, AccountTokenKind, AccountTokenRec, AuditRec};

use crate::error::{AppError, AppResult};
use crate::security::crypto::{random_token, sha256};

/// How long a link printed on the command line works.
pub const LINK_MINUTES: i64 = 60;

/// The new password: already hashed, or a link for the person to choose one.
pub enum NewPassword {
    Hash(String),
    Link,
}

/// What was done, to print.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Recovered {
    pub account: u64,
    pub email: String,
    pub is_admin: bool,
    /// The one-time link, when no password was given.
    pub link: Option<String>,
    /// Logins (refresh-token families) ended.
    pub logins_ended: usize,
}

/// Sets a new password for `email` (any account), or prints a link to choose one. Every
/// login of the account ends either way (whoever knew the old password is out).
pub fn reset_password(
    store: &Store,
    email: &str,
    how: NewPassword,
    now: i64,
    base_url: &str,
) -> AppResult<Recovered> {
    let email = crate::domain::auth::normalize_email("email", email)?;
    store.catalog_write(|c| -> AppResult<Recovered> {
        let (id, mut rec) = c
            .account_by_email(&email)?
            .ok_or(AppError::NotFound("account"))?;
        let link = match how {
            NewPassword::Hash(hash) => {
                rec.password_hash = hash;
                rec.password_changed_at = now;
                c.update_account(id, &rec)?;
                None
            }
            NewPassword::Link => Some(issue_link(c, id, now, base_url)?),
        };
        let logins_ended = c.revoke_account_families(id)?;
        c.audit(&AuditRec {
            at: now,
            actor: None,
            tenant: None,
            action: "auth.password_reset".into(),
            detail: format!(
                "{} from the server's command line",
                if link.is_some() {
                    "link issued"
                } else {
                    "password set"
                }
            ),
        })?;
        Ok(Recovered {
            account: id.0,
            email: rec.email,
            is_admin: rec.is_admin,
            link,
            logins_ended,
        })
    })
}

/// Creates an admin account with `password_hash`. With `with_link` the hash is of a random
/// secret nobody saw, and the account is entered through the printed link.
pub fn create_admin(
    store: &Store,
    email: &str,
    password_hash: String,
    with_link: bool,
    now: i64,
    base_url: &str,
) -> AppResult<Recovered> {
    let email = crate::domain::auth::normalize_email("email", email)?;
    let (hash, wants_link) = (password_hash, with_link);
    store.catalog_write(|c| -> AppResult<Recovered> {
        if c.account_by_email(&email)?.is_some() {
            return Err(AppError::Conflict {
                code: "account.email_taken",
                message: "another account uses this address; reset its password instead".into(),
            });
        }
        let id = c.insert_account(&AccountRec {
            email: email.clone(),
            password_hash: hash,
            is_admin: true,
            created_at: now,
            password_changed_at: now,
        })?;
        // A pending first-run link has no use once an admin exists.
        c.clear_setup_tokens()?;
        let link = if wants_link {
            Some(issue_link(c, id, now, base_url)?)
        } else {
            None
        };
        c.audit(&AuditRec {
            at: now,
            actor: None,
            tenant: None,
            action: "admin.created".into(),
            detail: format!("{email}, from the server's command line"),
        })?;
        Ok(Recovered {
            account: id.0,
            email,
            is_admin: true,
            link,
            logins_ended: 0,
        })
    })
}

/// A one-time link to the console's reset page, replacing the account's earlier ones.
fn issue_link(
    c: &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
    account: AccountId,
    now: i64,
    base_url: &str,
) -> AppResult<String> {
    let token = random_token();
    c.prune_account_tokens(account, |r| r.kind == AccountTokenKind::PasswordReset, now)?;
    c.insert_account_token(
        &sha256(token.as_bytes()),
        &AccountTokenRec {
            account,
            kind: AccountTokenKind::PasswordReset,
            created_at: now,
            expires_at: now + LINK_MINUTES * 60,
        },
    )?;
    Ok(format!("{base_url}/console/reset?token={token}"))
}
