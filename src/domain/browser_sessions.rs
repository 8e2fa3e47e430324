//! Signing in from a browser (the console): a browser session is a login family whose
//! credential is a random cookie token, stored only as its SHA-256. Revoking the family (sign
//! out, a password change, the account's removal, or the account page's "end session") removes
//! it, and with it the cookie's power. The CSRF token is derived from the cookie token, so it
//! needs no storage and dies with the session.

use std::net::IpAddr;

use botyard_shards::ids::{AccountId, FamilyId};
use botyard_shards::records::{AccountPrefsRec, AuditRec, BrowserSessionRec};
use botyard_shards::{CatalogTx, WriteTransaction};

use crate::config::Secret;
use crate::domain::auth::{Caller, check_credentials, complete_setup_then};
use crate::error::{AppError, AppResult};
use crate::security::crypto::{random_token, sha256};
use crate::state::{AppState, Shared, blocking};

/// The longest `User-Agent` kept to recognise a session by.
const USER_AGENT_MAX: usize = 160;

/// Where a sign-in comes from, to show in the session list.
#[derive(Clone, Debug)]
pub struct Origin {
    pub ip: IpAddr,
    pub user_agent: String,
}

/// A new browser session: the cookie token (shown once, to the browser).
pub struct Started {
    pub token: String,
    pub account: AccountId,
}

/// Starts a browser session for `account` inside a catalog write.
pub fn start(
    st: &AppState,
    c: &mut CatalogTx<WriteTransaction>,
    account: AccountId,
    origin: &Origin,
    now: i64,
) -> AppResult<Started> {
    let ttl = st.config.auth.refresh_ttl_days as i64 * 86_400;
    start_for(c, account, origin, now, ttl)
}

/// Starts a browser session that lasts `ttl_secs`.
fn start_for(
    c: &mut CatalogTx<WriteTransaction>,
    account: AccountId,
    origin: &Origin,
    now: i64,
    ttl_secs: i64,
) -> AppResult<Started> {
    let expires = now + ttl_secs;
    let family = c.create_family(account, now, expires)?;
    let token = random_token();
    let user_agent: String = origin
        .user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX)
        .collect();
    c.insert_browser_session(
        sha256(token.as_bytes()),
        &BrowserSessionRec {
            family,
            account,
            created_at: now,
            user_agent,
            ip: origin.ip.to_string(),
        },
    )?;
    Ok(Started { token, account })
}

/// Signs in with an email and password (the same lockout as the API's login).
pub async fn sign_in(
    st: &Shared,
    email: &str,
    password: Secret,
    origin: Origin,
) -> AppResult<Started> {
    let account = check_credentials(st, email, password, origin.ip).await?;
    let now = st.now();
    let (ip, agent) = (origin.ip, origin.user_agent.clone());
    let st2 = st.clone();
    let started = blocking(move || {
        st2.store
            .catalog_write(|c| start(&st2, c, account, &origin, now))
    })
    .await?;
    crate::domain::mail::account::note_sign_in(st, account, ip, &agent).await;
    Ok(started)
}

/// How long a session opened from the Mini-App lasts: Telegram hands the app fresh `initData`
/// each time it opens, so it need not outlive a day's use.
pub const WEBAPP_SESSION_SECS: i64 = 12 * 3600;

/// A Mini-App sign-in: the session, and the language the Telegram user's app is in.
pub struct WebAppStarted {
    pub started: Started,
    pub language: Option<crate::i18n::Language>,
}

/// `initData` checked against the platform bot's token and this appliance's age limit.
pub(crate) fn verify_webapp(
    st: &Shared,
    init_data: &str,
) -> AppResult<crate::domain::webapp_auth::Verified> {
    let Some(token) = st.appliance().platform_bot_token.clone() else {
        return Err(AppError::Conflict {
            code: "platform_bot.not_configured",
            message: "the reseller has not set up the platform bot".into(),
        });
    };
    let max_age = i64::try_from(st.config.auth.webapp_max_age_secs).unwrap_or(i64::MAX);
    crate::domain::webapp_auth::verify(init_data, token.expose(), st.now(), max_age)
}

/// Starts a Mini-App session inside a catalog write (a sign-up's).
pub(crate) fn start_webapp(
    c: &mut CatalogTx<WriteTransaction>,
    account: AccountId,
    origin: &Origin,
    now: i64,
) -> AppResult<Started> {
    start_for(c, account, origin, now, WEBAPP_SESSION_SECS)
}

/// Signs in the account linked to the Telegram user that `init_data` names, once the data is
/// checked against the platform bot's token.
pub async fn sign_in_webapp(
    st: &Shared,
    init_data: &str,
    origin: Origin,
) -> AppResult<WebAppStarted> {
    let v = verify_webapp(st, init_data)?;
    let now = st.now();
    let language = v
        .user
        .language_code
        .as_deref()
        .and_then(crate::i18n::from_accept_language);
    let st2 = st.clone();
    let started = blocking(move || {
        st2.store.catalog_write(|c| {
            let Some(account) = c.account_for_telegram_user(v.user.id)? else {
                return Err(AppError::Unauthorized {
                    code: "webapp.not_linked",
                    message: "this Telegram account is not linked to a botyard account yet: \
                              get a link code on your account page and send it to the bot",
                });
            };
            start_for(c, account, &origin, now, WEBAPP_SESSION_SECS)
        })
    })
    .await?;
    Ok(WebAppStarted { started, language })
}

/// Links the Telegram user of a Mini-App to an account from inside the app: the app's
/// `initData` proves who opens it, the email and password which account, and the `/start
/// <code>` the user then sends the bot (the deep link returned) stores the link as from the
/// account page, so the bot learns how to write to the user.
pub async fn link_from_webapp(
    st: &Shared,
    init_data: &str,
    email: &str,
    password: Secret,
    ip: IpAddr,
) -> AppResult<String> {
    verify_webapp(st, init_data)?;
    let account = check_credentials(st, email, password, ip).await?;
    let (deep_link, ..) = crate::domain::telegram_link::new_code(st, account)?;
    Ok(deep_link)
}

/// Redeems a one-time console link the platform bot's `/web` handed out, and signs its
/// account in.
pub async fn sign_in_with_link(st: &Shared, code: &str, origin: Origin) -> AppResult<Started> {
    let now = st.now();
    let account = st.web_links.redeem(code, now).ok_or(AppError::Unauthorized {
        code: "web_link.expired",
        message: "this sign-in link was used already or has expired; send /web to the bot again",
    })?;
    let st2 = st.clone();
    blocking(move || {
        st2.store
            .catalog_write(|c| start(&st2, c, account, &origin, now))
    })
    .await
}

/// Completes the first-run setup from the console and signs the new admin in.
pub async fn complete_setup(
    st: &Shared,
    setup_token: &str,
    email: &str,
    password: Secret,
    origin: Origin,
) -> AppResult<Started> {
    let st2 = st.clone();
    complete_setup_then(st, setup_token, email, password, move |c, id, now| {
        start(&st2, c, id, &origin, now)
    })
    .await
}

/// Redeems an invitation link from the console and signs its holder in.
pub async fn accept_invitation(
    st: &Shared,
    token: &str,
    password: Secret,
    origin: Origin,
) -> AppResult<Started> {
    let st2 = st.clone();
    let ip = origin.ip;
    crate::domain::auth::accept_invitation_then(st, token, password, ip, move |c, id, now| {
        start(&st2, c, id, &origin, now)
    })
    .await
}

/// The caller a cookie token stands for, while its login lives.
pub fn authenticate(st: &AppState, token: &str) -> AppResult<Caller> {
    let refused = || AppError::Unauthorized {
        code: "auth.session_revoked",
        message: "this login has ended; sign in again",
    };
    if token.is_empty() || token.len() > 100 {
        return Err(refused());
    }
    let hash = sha256(token.as_bytes());
    let rec = st
        .store
        .catalog_read()?
        .browser_session(&hash)?
        .ok_or_else(refused)?;
    let principal = st
        .store
        .principal_for_login(rec.account, rec.family)?
        .ok_or_else(refused)?;
    let live = st
        .store
        .catalog_read()?
        .family(rec.family)?
        .is_some_and(|f| f.expires_at > st.now());
    if !live {
        return Err(refused());
    }
    Ok(Caller {
        principal,
        family: Some(rec.family),
    })
}

/// The CSRF token of a browser session: a keyed digest of its cookie token, so a page can
/// carry it and a request must prove it read the page.
pub fn csrf_token(cookie_token: &str) -> String {
    let d = sha256(format!("botyard-csrf:{cookie_token}").as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Whether `presented` is the CSRF token of `cookie_token`, compared in constant time.
pub fn csrf_matches(cookie_token: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    let want = csrf_token(cookie_token);
    want.len() == presented.len() && bool::from(want.as_bytes().ct_eq(presented.as_bytes()))
}

/// One of an account's logins, for the account page.
#[derive(Clone, Debug)]
pub struct Login {
    pub family: FamilyId,
    pub created_at: i64,
    /// None for a login through the API (a token pair).
    pub browser: Option<(String, String)>,
}

pub fn logins(st: &AppState, account: AccountId) -> AppResult<Vec<Login>> {
    let now = st.now();
    Ok(st
        .store
        .catalog_read()?
        .account_logins(account)?
        .into_iter()
        .filter(|(_, f, _)| f.expires_at > now)
        .map(|(family, f, b)| Login {
            family,
            created_at: f.created_at,
            browser: b.map(|b| (b.user_agent, b.ip)),
        })
        .collect())
}

/// Ends one of the caller's own logins (404 for anyone else's).
pub async fn end_login(st: &Shared, account: AccountId, family: FamilyId) -> AppResult<()> {
    let now = st.now();
    let st2 = st.clone();
    blocking(move || {
        st2.store.catalog_write(|c| {
            let own = c.family(family)?.is_some_and(|f| f.account == account);
            if !own {
                return Err(AppError::NotFound("login"));
            }
            c.revoke_family(family)?;
            c.audit(&AuditRec {
                at: now,
                actor: Some(account),
                tenant: None,
                action: "auth.login_ended".into(),
                detail: format!("login {}", family.0),
            })?;
            Ok(())
        })
    })
    .await
}

/// The account's console preferences.
pub fn prefs(st: &AppState, account: AccountId) -> AppResult<AccountPrefsRec> {
    Ok(st.store.catalog_read()?.account_prefs(account)?)
}

/// Saves the account's language (`en`, `tr`) and time zone (IANA name, or empty for UTC).
pub async fn set_prefs(
    st: &Shared,
    account: AccountId,
    language: &str,
    time_zone: &str,
) -> AppResult<()> {
    if !matches!(language, "en" | "tr") {
        return Err(AppError::invalid("language", "choose en or tr"));
    }
    let time_zone = time_zone.trim();
    if !time_zone.is_empty() && jiff::tz::TimeZone::get(time_zone).is_err() {
        return Err(AppError::Invalid {
            code: "settings.time_zone",
            field: "time_zone".into(),
            message: "not a known time zone (an IANA name such as Europe/Istanbul)".into(),
        });
    }
    let p = AccountPrefsRec {
        language: language.into(),
        time_zone: time_zone.into(),
    };
    let st2 = st.clone();
    blocking(move || {
        Ok(st2
            .store
            .catalog_write(|c| c.set_account_prefs(account, &p))?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let a = csrf_token("cookie-a");
        assert_eq!(a.len(), 32);
        assert!(csrf_matches("cookie-a", &a));
        assert!(!csrf_matches("cookie-b", &a));
        assert!(!csrf_matches("cookie-a", ""));
        assert!(!csrf_matches("cookie-a", &a[..31]));
    }
}
