//! Authentication use cases: login, refresh rotation with reuse detection, logout, password
//! change, first-admin bootstrap, and turning a bearer credential into a principal.

use std::net::IpAddr;

use serde::Serialize;

use botyard_shards::ids::{AccountId, FamilyId};
use botyard_shards::records::{AccountRec, AuditRec, RefreshRec};
use botyard_shards::{Principal, StoreError, TenantScope};

use crate::config::Secret;
use crate::error::{AppError, AppResult};
use crate::security::crypto::{random_token, sha256};
use crate::security::passwords::check_policy;
use crate::security::tokens::TokenError;
use crate::state::{AppState, Shared, blocking};

use crate::security::tokens::API_KEY_PREFIX;

#[derive(Serialize, Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Who made a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// The login the access token belongs to (None for API keys).
    pub family: Option<FamilyId>,
}

impl Caller {
    pub fn account(&self) -> Option<AccountId> {
        self.principal.account()
    }
}

fn unauthorized(code: &'static str, message: &'static str) -> AppError {
    AppError::Unauthorized { code, message }
}

/// Lower-cases and checks an email address.
pub fn normalize_email(field: &str, email: &str) -> AppResult<String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(AppError::Invalid {
            code: "validation.email",
            field: field.into(),
            message: "not a valid email address".into(),
        })
    }
}

/// Creates a login family and its first refresh token, returns the pair.
fn new_session(
    st: &AppState,
    c: &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
    account: AccountId,
    now: i64,
) -> AppResult<TokenPair> {
    let expires = now + st.config.auth.refresh_ttl_days as i64 * 86_400;
    let family = c.create_family(account, now, expires)?;
    pair_for(st, c, account, family, now, expires)
}

fn pair_for(
    st: &AppState,
    c: &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
    account: AccountId,
    family: FamilyId,
    now: i64,
    expires_at: i64,
) -> AppResult<TokenPair> {
    let refresh = random_token();
    c.insert_refresh_token(
        sha256(refresh.as_bytes()),
        &RefreshRec {
            family,
            account,
            expires_at,
            used: false,
        },
    )?;
    let access = st
        .tokens
        .issue(account, family, now)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: st.tokens.ttl(),
    })
}

/// Signs in with email and password: the tokens and the account they are for.
pub async fn login(
    st: &Shared,
    email: &str,
    password: Secret,
    ip: IpAddr,
) -> AppResult<(TokenPair, AccountId)> {
    let id = check_credentials(st, email, password, ip).await?;
    let now = st.now();
    let st2 = st.clone();
    let pair = blocking(move || st2.store.catalog_write(|c| new_session(&st2, c, id, now))).await?;
    Ok((pair, id))
}

/// The account an email and password sign in to, counted by the lockout: the API's login and
/// the console's sign-in both go through here.
pub async fn check_credentials(
    st: &Shared,
    email: &str,
    password: Secret,
    ip: IpAddr,
) -> AppResult<AccountId> {
    let now = st.now();
    // Malformed emails get the same answer as wrong passwords.
    let email = email.trim().to_lowercase();
    // The guess is counted before the password is checked: a burst gets no more guesses
    // than the policy allows.
    let attempt = st
        .lockout
        .begin(&email, ip, now)
        .map_err(|wait| AppError::Locked { retry_after: wait })?;
    let found = st.store.catalog_read()?.account_by_email(&email)?;
    let ok = st
        .hashes
        .verify(
            password,
            found.as_ref().map(|(_, a)| a.password_hash.clone()),
        )
        .await?;
    let Some((id, _)) = found.filter(|_| ok) else {
        st.metrics.login_failures.inc();
        if let Some(wait) = attempt.failed(now) {
            tracing::warn!(%ip, "login locked out after repeated failures");
            return Err(AppError::Locked { retry_after: wait });
        }
        return Err(unauthorized(
            "auth.invalid_credentials",
            "email or password is wrong",
        ));
    };
    attempt.succeeded();
    Ok(id)
}

/// Redeems an invitation link and signs its holder in. When the invited address has an
/// account, `password` must be that account's (counted by the login lockout); otherwise it
/// becomes the new account's password (checked by the password policy).
pub async fn accept_invitation(
    st: &Shared,
    token: &str,
    password: Secret,
    ip: IpAddr,
) -> AppResult<TokenPair> {
    let st2 = st.clone();
    accept_invitation_then(st, token, password, ip, move |c, account, now| {
        new_session(&st2, c, account, now)
    })
    .await
}

/// The email an invitation link is for, while it is good (the console shows it on the form).
pub fn invitation_email(st: &AppState, token: &str) -> AppResult<Option<String>> {
    let c = st.store.catalog_read()?;
    Ok(c.invitation_by_hash(&sha256(token.as_bytes()))?
        .filter(|(_, i)| i.expires_at > st.now())
        .map(|(_, i)| i.email))
}

/// Redeems an invitation and signs its holder in with `sign_in`, in the same transaction.
pub async fn accept_invitation_then<T: Send + 'static>(
    st: &Shared,
    token: &str,
    password: Secret,
    ip: IpAddr,
    sign_in: impl FnOnce(
        &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
        AccountId,
        i64,
    ) -> AppResult<T>
    + Send
    + 'static,
) -> AppResult<T> {
    let now = st.now();
    let hash = sha256(token.as_bytes());
    let invalid = || {
        unauthorized(
            "invitation.invalid",
            "this invitation link is invalid, used or expired; ask for a new one",
        )
    };
    let (found, existing) = {
        let c = st.store.catalog_read()?;
        let found = c.invitation_by_hash(&hash)?;
        let existing = match &found {
            Some((_, inv)) => c.account_by_email(&inv.email)?,
            None => None,
        };
        (found, existing)
    };
    let Some((id, inv)) = found.filter(|(_, i)| i.expires_at > now) else {
        return Err(invalid());
    };
    let new_hash = match &existing {
        Some((_, account)) => {
            let attempt = st
                .lockout
                .begin(&inv.email, ip, now)
                .map_err(|wait| AppError::Locked { retry_after: wait })?;
            let ok = st
                .hashes
                .verify(password, Some(account.password_hash.clone()))
                .await?;
            if !ok {
                st.metrics.login_failures.inc();
                if let Some(wait) = attempt.failed(now) {
                    return Err(AppError::Locked { retry_after: wait });
                }
                return Err(unauthorized(
                    "auth.invalid_credentials",
                    "email or password is wrong",
                ));
            }
            attempt.succeeded();
            None
        }
        None => Some(hash_new_password(st, "password", password).await?),
    };
    let st2 = st.clone();
    blocking(move || {
        st2.store.catalog_write(|c| -> AppResult<T> {
            // Checked again in the transaction: used meanwhile, or the account changed.
            if c.invitation_by_hash(&hash)?.is_none_or(|(i, _)| i != id) {
                return Err(invalid());
            }
            let account = match (c.account_by_email(&inv.email)?, new_hash, existing) {
                (Some((a, _)), None, Some((b, _))) if a == b => a,
                (None, Some(password_hash), None) => c.insert_account(&AccountRec {
                    email: inv.email.clone(),
                    password_hash,
                    is_admin: false,
                    created_at: now,
                    password_changed_at: now,
                })?,
                _ => return Err(invalid()),
            };
            let (tenant, role) = c.redeem_invitation(id, account)?;
            c.audit(&AuditRec {
                at: now,
                actor: Some(account),
                tenant: Some(tenant),
                action: "member.joined".into(),
                detail: format!("invitation {id} accepted as {role:?}"),
            })?;
            sign_in(c, account, now)
        })
    })
    .await
}

enum RefreshOutcome {
    Rotated(TokenPair),
    Reused,
    Invalid,
}

pub async fn refresh(st: &Shared, token: &str) -> AppResult<TokenPair> {
    let now = st.now();
    let hash = sha256(token.as_bytes());
    let st2 = st.clone();
    let outcome = blocking(move || {
        st2.store.catalog_write(|c| -> AppResult<RefreshOutcome> {
            let Some(r) = c.refresh_token(&hash)? else {
                return Ok(RefreshOutcome::Invalid);
            };
            let family = c.family(r.family)?;
            let Some(family) = family.filter(|f| !f.revoked && f.expires_at > now) else {
                return Ok(RefreshOutcome::Invalid);
            };
            if r.used {
                // A rotated token came back: someone holds a copy. End the whole login.
                c.revoke_family(r.family)?;
                c.audit(&AuditRec {
                    at: now,
                    actor: Some(r.account),
                    tenant: None,
                    action: "auth.refresh_reused".into(),
                    detail: format!("family {} revoked", r.family),
                })?;
                return Ok(RefreshOutcome::Reused);
            }
            if r.expires_at <= now {
                return Ok(RefreshOutcome::Invalid);
            }
            c.mark_refresh_used(&hash)?;
            Ok(RefreshOutcome::Rotated(pair_for(
                &st2,
                c,
                r.account,
                r.family,
                now,
                family.expires_at,
            )?))
        })
    })
    .await?;
    match outcome {
        RefreshOutcome::Rotated(p) => Ok(p),
        RefreshOutcome::Reused => {
            tracing::warn!("refresh token reuse detected; login revoked");
            Err(unauthorized(
                "auth.refresh_reused",
                "this refresh token was already used; the login has been revoked, sign in again",
            ))
        }
        RefreshOutcome::Invalid => Err(unauthorized(
            "auth.invalid_refresh",
            "refresh token is invalid or expired",
        )),
    }
}

pub async fn logout(st: &Shared, caller: &Caller) -> AppResult<()> {
    let Some(family) = caller.family else {
        return Err(AppError::BadRequest {
            code: "auth.not_a_login",
            message: "API keys do not log out; revoke the key instead".into(),
        });
    };
    let st2 = st.clone();
    blocking(move || Ok(st2.store.catalog_write(|c| c.revoke_family(family))?)).await
}

pub async fn change_password(
    st: &Shared,
    caller: &Caller,
    current: Secret,
    new: Secret,
) -> AppResult<TokenPair> {
    let st2 = st.clone();
    change_password_then(st, caller, current, new, move |c, account, now| {
        new_session(&st2, c, account, now)
    })
    .await
}

/// Changes the caller's password, ends all of its logins and signs it in again with
/// `sign_in`, in one transaction.
/// The account, once `password` is its current one (a change of password or address asks
/// for it); `auth.wrong_password` on `field` otherwise.
pub async fn check_current_password(
    st: &Shared,
    account: AccountId,
    password: Secret,
    field: &str,
) -> AppResult<botyard_shards::records::AccountRec> {
    let rec = st
        .store
        .catalog_read()?
        .account(account)?
        .ok_or(AppError::NotFound("account"))?;
    if !st
        .hashes
        .verify(password, Some(rec.password_hash.clone()))
        .await?
    {
        return Err(AppError::Invalid {
            code: "auth.wrong_password",
            field: field.into(),
            message: "current password is wrong".into(),
        });
    }
    Ok(rec)
}

pub async fn change_password_then<T: Send + 'static>(
    st: &Shared,
    caller: &Caller,
    current: Secret,
    new: Secret,
    sign_in: impl FnOnce(
        &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
        AccountId,
        i64,
    ) -> AppResult<T>
    + Send
    + 'static,
) -> AppResult<T> {
    let account = caller.account().ok_or(AppError::Forbidden {
        code: "auth.account_required",
        message: "only an account can change its password",
    })?;
    check_policy("new_password", new.expose())?;
    let rec = check_current_password(st, account, current, "current_password").await?;
    let hash = st.hashes.hash(new).await?;
    let now = st.now();
    let st2 = st.clone();
    blocking(move || {
        st2.store.catalog_write(|c| {
            let mut rec = rec;
            rec.password_hash = hash;
            rec.password_changed_at = now;
            c.update_account(account, &rec)?;
            c.revoke_account_families(account)?;
            c.audit(&AuditRec {
                at: now,
                actor: Some(account),
                tenant: None,
                action: "auth.password_changed".into(),
                detail: String::new(),
            })?;
            sign_in(c, account, now)
        })
    })
    .await
}

/// Turns a bearer credential into a caller: an API key (`bya_…`) or an access token whose
/// login is still live and whose account still exists.
pub async fn authenticate(st: &Shared, bearer: &str) -> AppResult<Caller> {
    let now = st.now();
    if let Some(key) = bearer.strip_prefix(API_KEY_PREFIX) {
        if key.is_empty() || key.len() > 100 {
            return Err(unauthorized(
                "auth.invalid_token",
                "credential is not valid",
            ));
        }
        let hash = sha256(bearer.as_bytes());
        let Some((id, principal)) = st.store.principal_for_api_key(&hash)? else {
            return Err(unauthorized(
                "auth.invalid_token",
                "credential is not valid",
            ));
        };
        touch_api_key(st, id, now);
        return Ok(Caller {
            principal,
            family: None,
        });
    }
    let (account, family) = st.tokens.verify(bearer, now).map_err(|e| match e {
        TokenError::Expired => {
            unauthorized("auth.token_expired", "access token has expired; refresh it")
        }
        TokenError::Invalid | TokenError::NotYetValid => {
            unauthorized("auth.invalid_token", "credential is not valid")
        }
    })?;
    let principal = st
        .store
        .principal_for_login(account, family)?
        .ok_or_else(|| {
            unauthorized(
                "auth.session_revoked",
                "this login has ended; sign in again",
            )
        })?;
    Ok(Caller {
        principal,
        family: Some(family),
    })
}

fn touch_api_key(st: &Shared, id: botyard_shards::ids::ApiKeyId, now: i64) {
    {
        let mut m = st.api_key_touched.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(&id).is_some_and(|t| now - t < 60) {
            return;
        }
        m.insert(id, now);
    }
    let st = st.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = st.store.catalog_write(|c| c.touch_api_key(id, now)) {
            tracing::warn!(error = %e, "could not record API key use");
        }
    });
}

/// The scope of a tenant for a caller; another tenant's resource is a 404.
pub fn scope(
    st: &AppState,
    caller: &Caller,
    tenant: botyard_shards::ids::TenantId,
) -> AppResult<TenantScope> {
    st.store
        .scope(&caller.principal, tenant)
        .map_err(|e| match e {
            StoreError::NotFound => AppError::NotFound("tenant"),
            other => other.into(),
        })
}

/// The admin scope of an admin caller: the authorization step for the appliance-wide
/// operations, as [`scope`] is for a tenant's.
pub fn admin_scope<'a>(
    st: &'a AppState,
    caller: &Caller,
) -> AppResult<botyard_shards::AdminScope<'a>> {
    st.store
        .admin(&caller.principal)
        .ok_or(AppError::Forbidden {
            code: "auth.admin_required",
            message: "only admins may do this",
        })
}

/// Creates an account with a checked password (used by bootstrap, setup and members).
pub async fn hash_new_password(st: &AppState, field: &str, pw: Secret) -> AppResult<String> {
    check_policy(field, pw.expose())?;
    st.hashes.hash(pw).await
}

/// Creates the first admin from configuration, when no admin exists yet.
pub async fn bootstrap_admin(st: &Shared, email: &str, password: Secret) -> AppResult<bool> {
    if st.store.catalog_read()?.has_admin()? {
        return Ok(false);
    }
    let email = normalize_email("admin.email", email)?;
    let hash = hash_new_password(st, "admin.password", password).await?;
    let now = st.now();
    let st2 = st.clone();
    blocking(move || {
        st2.store.catalog_write(|c| -> AppResult<()> {
            if c.has_admin()? {
                return Ok(());
            }
            insert_first_admin(
                c,
                email,
                hash,
                now,
                "admin.bootstrap",
                "first admin created from configuration",
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(true)
}

/// The first admin account; any pending setup link dies with it.
fn insert_first_admin(
    c: &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
    email: String,
    password_hash: String,
    now: i64,
    action: &str,
    detail: &str,
) -> AppResult<AccountId> {
    let id = c.insert_account(&AccountRec {
        email,
        password_hash,
        is_admin: true,
        created_at: now,
        password_changed_at: now,
    })?;
    c.clear_setup_tokens()?;
    c.audit(&AuditRec {
        at: now,
        actor: Some(id),
        tenant: None,
        action: action.into(),
        detail: detail.into(),
    })?;
    Ok(id)
}

/// Issues a one-time setup link token (stored hashed, expiring).
pub async fn new_setup_token(st: &Shared) -> AppResult<String> {
    let token = random_token();
    let hash = sha256(token.as_bytes());
    let expires = st.now() + st.config.auth.setup_link_ttl_mins as i64 * 60;
    let st2 = st.clone();
    blocking(move || {
        Ok(st2.store.catalog_write(|c| {
            c.clear_setup_tokens()?;
            c.insert_setup_token(hash, expires)
        })?)
    })
    .await?;
    Ok(token)
}

/// Completes setup: consumes the link token and creates the admin, signed in with a token pair.
pub async fn complete_setup(
    st: &Shared,
    token: &str,
    email: &str,
    password: Secret,
) -> AppResult<TokenPair> {
    let st2 = st.clone();
    complete_setup_then(st, token, email, password, move |c, id, now| {
        new_session(&st2, c, id, now)
    })
    .await
}

/// Whether the one-time setup link `token` is still good (the console asks before it shows
/// the form).
pub fn setup_token_valid(st: &AppState, token: &str) -> AppResult<bool> {
    let c = st.store.catalog_read()?;
    Ok(!c.has_admin()? && c.setup_token_live(&sha256(token.as_bytes()), st.now())?)
}

/// Completes setup and signs the new admin in with `sign_in`, in the same transaction.
pub async fn complete_setup_then<T: Send + 'static>(
    st: &Shared,
    token: &str,
    email: &str,
    password: Secret,
    sign_in: impl FnOnce(
        &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
        AccountId,
        i64,
    ) -> AppResult<T>
    + Send
    + 'static,
) -> AppResult<T> {
    let email = normalize_email("email", email)?;
    let hash = hash_new_password(st, "password", password).await?;
    let token_hash = sha256(token.as_bytes());
    let now = st.now();
    let st2 = st.clone();
    blocking(move || {
        st2.store.catalog_write(|c| -> AppResult<T> {
            if !c.take_setup_token(&token_hash, now)? || c.has_admin()? {
                return Err(unauthorized(
                    "setup.invalid_token",
                    "this setup link is invalid, used or expired; restart the server for a new one",
                ));
            }
            let id = insert_first_admin(
                c,
                email,
                hash,
                now,
                "admin.setup",
                "first admin created through the setup link",
            )?;
            sign_in(c, id, now)
        })
    })
    .await
}
