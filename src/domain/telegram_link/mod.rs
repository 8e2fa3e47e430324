//! Linking a botyard account to the Telegram user behind it: the account asks for a one-time
//! code, the user opens `t.me/<platform bot>?start=<code>`, and the platform bot's worker
//! reports the `/start <code>` command. The platform bot can then write to the user ("send a
//! test to me", later alerts).

use std::collections::HashMap;

use botyard_shards::ids::AccountId;
use botyard_shards::records::{Language, TelegramLinkRec};

use crate::error::{AppError, AppResult, Upstream};
use crate::runtime::supervisor::{BotCommand, DirectError};
use crate::state::{Shared, blocking};
use crate::worker::ipc::messages::{DeliveryOutcome, SendJob};
use crate::worker::telegram::{Markup, UrlButton};

pub mod codes;

pub use codes::{CODE_TTL_SECS, LinkCodes, TestTurn};

/// How long an answer or a test post may wait for the platform bot.
pub const DIRECT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The `/start` payload of the storefront's trial button: not a link code.
pub const TRIAL_START: &str = "trial";

/// `https://t.me/<bot>?start=<code>`.
pub fn deep_link(bot_username: &str, code: &str) -> String {
    format!("https://t.me/{bot_username}?start={code}")
}

/// What the platform bot answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Linked {
        email: String,
        language: Language,
    },
    Expired,
    Hello,
    /// `/web`: a one-time link that signs the account in to the console in a browser.
    WebLink {
        url: String,
        language: Language,
    },
    /// `/web` from a Telegram user no account is linked to.
    WebNotLinked,
}

impl Reply {
    /// The answer's words, naming the product as the reseller brands it.
    pub fn text(&self, brand: &str) -> String {
        match self {
            Reply::Linked {
                email,
                language: Language::Tr,
            } => format!(
                "✅ Bu sohbet {brand} hesabınıza ({email}) bağlandı. Deneme gönderileri buraya gelecek."
            ),
            Reply::Linked { email, .. } => format!(
                "✅ This chat is now linked to your {brand} account ({email}). Test posts will arrive here."
            ),
            Reply::Expired => format!("This link has expired. In {brand}, choose \"Link Telegram\" again.\n\n\
                 Bu bağlantının süresi doldu. {brand} içinde \"Telegram'ı bağla\" seçeneğine yeniden dokunun."),
            Reply::Hello => "Hello! Manage your groups, templates and campaigns in the app: tap the button below (or the menu button). Send /web for a link to the console in a browser, /pay to pay for your plan in Stars.\n\n\
                 Merhaba! Gruplarınızı, şablonlarınızı ve kampanyalarınızı uygulamadan yönetin: aşağıdaki düğmeye (ya da menü düğmesine) dokunun. Tarayıcıda konsol bağlantısı için /web, paketinizi Yıldız ile ödemek için /pay gönderin."
                .into(),
            Reply::WebLink {
                url,
                language: Language::Tr,
            } => format!(
                "Konsola bu tarayıcıda giriş yapmak için bağlantıyı 10 dakika içinde açın (tek kullanımlık):\n{url}"
            ),
            Reply::WebLink { url, .. } => format!(
                "Open this link within 10 minutes to sign in to the console in a browser (it works once):\n{url}"
            ),
            Reply::WebNotLinked => format!("This Telegram account is not linked to a {brand} account yet. Open the app with the button below and sign in once to link it.\n\n\
                 Bu Telegram hesabı henüz bir {brand} hesabına bağlı değil. Aşağıdaki düğmeyle uygulamayı açın ve bağlamak için bir kez giriş yapın."),
        }
    }
}

/// Stores the link and says in which language to confirm it: the language of the account's
/// first tenant.
pub fn link(
    store: &botyard_shards::Store,
    account: AccountId,
    cmd: &BotCommand,
    now: i64,
) -> AppResult<Reply> {
    let rec = TelegramLinkRec {
        user_id: cmd.user.id,
        access_hash: cmd.access_hash,
        first_name: cmd.user.first_name.clone(),
        username: cmd.user.username.clone(),
        linked_at: now,
    };
    let email = store.catalog_write(|c| {
        c.link_telegram(account, &rec)?;
        Ok::<_, AppError>(c.account(account)?.map(|a| a.email).unwrap_or_default())
    })?;
    // The link is stored; a failed read of the language only changes the answer's language.
    let language = account_language(store, account);
    tracing::info!(account = account.0, "account linked to a Telegram user");
    Ok(Reply::Linked { email, language })
}

/// The account language a linked user is answered in: its first tenant's.
fn account_language(store: &botyard_shards::Store, account: AccountId) -> Language {
    store
        .catalog_read()
        .ok()
        .and_then(|c| c.memberships(account).ok())
        .and_then(|m| m.first().map(|(t, _)| *t))
        .and_then(|t| store.supervisor_scope(t).ok())
        .and_then(|scope| crate::domain::tenancy::settings(&scope).ok())
        .map_or(Language::En, |s| s.language)
}

/// `/web`: a one-time console sign-in link for the account linked to the user.
fn web_link(st: &crate::state::AppState, user_id: i64, now: i64) -> AppResult<Reply> {
    let Some(account) = st
        .store
        .catalog_read()?
        .account_for_telegram_user(user_id)?
    else {
        return Ok(Reply::WebNotLinked);
    };
    let (code, _) = st.web_links.issue(account, now)?;
    Ok(Reply::WebLink {
        url: format!("{}/console/link?token={code}", st.base_url()),
        language: account_language(&st.store, account),
    })
}

/// The button under the bot's answers that opens the Mini-App (Telegram opens it only from a
/// bot's private chat, which these answers are).
pub fn app_button(st: &crate::state::AppState, language: Option<Language>) -> UrlButton {
    let label = match language {
        Some(Language::Tr) => "Uygulamayı aç",
        Some(Language::En) => "Open the app",
        None => "Open the app · Uygulamayı aç",
    };
    UrlButton {
        label: label.into(),
        url: crate::domain::tenant_workers::menu_app(st).url,
        web_app: true,
    }
}

/// Handles one command a user sent the platform bot, and answers it.
pub async fn handle(st: Shared, cmd: BotCommand) {
    let now = st.now();
    if cmd.command == "web" {
        let (st2, user) = (st.clone(), cmd.user.id);
        let reply = match blocking(move || web_link(&st2, user, now)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot make a console link");
                return;
            }
        };
        let button = matches!(reply, Reply::WebNotLinked).then(|| app_button(&st, None));
        answer(&st, &cmd, &reply, button).await;
        return;
    }
    let reply = match (cmd.command.as_str(), cmd.payload.is_empty()) {
        // From the storefront's trial button: not a link code.
        ("start", false) if cmd.payload == TRIAL_START => Reply::Hello,
        ("start", false) => match st.link_codes.redeem(&cmd.payload, now) {
            Some(account) => {
                let (st2, cmd2) = (st.clone(), cmd.clone());
                match blocking(move || link(&st2.store, account, &cmd2, now)).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot store a Telegram link");
                        return;
                    }
                }
            }
            None => Reply::Expired,
        },
        _ => Reply::Hello,
    };
    let language = match &reply {
        Reply::Linked { language, .. } => Some(*language),
        _ => None,
    };
    let button = (!matches!(reply, Reply::Expired)).then(|| app_button(&st, language));
    answer(&st, &cmd, &reply, button).await;
}

async fn answer(st: &Shared, cmd: &BotCommand, reply: &Reply, button: Option<UrlButton>) {
    let mut job = private_post(
        cmd.user.id,
        cmd.access_hash,
        reply.text(&st.appliance().brand.name),
        Markup::Plain,
    );
    job.buttons = button.map(|b| vec![vec![b]]).unwrap_or_default();
    if let Err(e) = st.supervisor.send_direct(job, DIRECT_WAIT).await {
        tracing::warn!(error = %e, "the platform bot's answer was not sent");
    }
}

/// A post to a user's private chat with the platform bot.
pub fn private_post(user_id: i64, access_hash: i64, text: String, markup: Markup) -> SendJob {
    SendJob {
        campaign: 0,
        run: 0,
        chat_id: user_id,
        session: crate::domain::sessions::PLATFORM_SESSION,
        random_id: rand::random(),
        text,
        markup,
        buttons: Vec::new(),
        media: None,
        delete_message: None,
        pin: false,
        silent: false,
        access_hash: Some(access_hash),
    }
}

/// Commands answered at once, at most.
const ANSWERS_IN_FLIGHT: usize = 8;
/// One answer per Telegram user this often, at most: anyone can write to the bot.
const ANSWER_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Users remembered for that limit.
const ANSWERED_KEPT: usize = 10_000;

/// Reads the platform bot's commands until the server stops. The task holds the state
/// weakly: the supervisor holds the sender, so a strong hold would keep both alive forever.
/// Commands past the limits are dropped, not queued: the bot's send queue is shared by every
/// tenant's test posts.
pub fn spawn_inbox(st: &Shared) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    st.supervisor.set_platform_inbox(tx);
    let weak = std::sync::Arc::downgrade(st);
    tokio::spawn(async move {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(ANSWERS_IN_FLIGHT));
        let mut answered: HashMap<i64, std::time::Instant> = HashMap::new();
        while let Some(cmd) = rx.recv().await {
            let Some(st) = weak.upgrade() else { break };
            let now = std::time::Instant::now();
            if answered
                .get(&cmd.user.id)
                .is_some_and(|at| now.duration_since(*at) < ANSWER_EVERY)
            {
                tracing::debug!("platform bot command dropped: the user wrote too often");
                continue;
            }
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!("platform bot command dropped: too many at once");
                continue;
            };
            if answered.len() >= ANSWERED_KEPT {
                answered.retain(|_, at| now.duration_since(*at) < ANSWER_EVERY);
            }
            if answered.len() < ANSWERED_KEPT {
                answered.insert(cmd.user.id, now);
            }
            tokio::spawn(async move {
                handle(st, cmd).await;
                drop(slot);
            });
        }
    });
}

/// Whether the reseller set up a platform bot (a real one, or the simulated one).
pub fn platform_configured(c: &crate::config::Config) -> bool {
    c.platform.bot_token.is_some() || c.platform.bot == crate::config::PlatformBot::Sim || c.demo
}

/// No platform bot is set up: a state of the appliance, not a failure of the server.
pub fn not_configured() -> AppError {
    AppError::Conflict {
        code: "platform_bot.not_configured",
        message: "this appliance has no platform bot; the reseller sets it up in the configuration (platform.bot_token)".into(),
    }
}

/// A new one-time link code for `account`: `(t.me deep link, code, bot username, expires)`.
pub fn new_code(
    st: &crate::state::AppState,
    account: botyard_shards::ids::AccountId,
) -> AppResult<(String, String, String, i64)> {
    if !platform_configured(&st.config) {
        return Err(not_configured());
    }
    let bot = st
        .supervisor
        .platform_bot()
        .and_then(|me| me.username)
        .ok_or_else(unavailable)?;
    let (code, expires_at) = st.link_codes.issue(account, st.now())?;
    Ok((deep_link(&bot, &code), code, bot, expires_at))
}

/// The platform bot is configured but not online now.
pub fn unavailable() -> AppError {
    AppError::Upstream {
        kind: Upstream::Offline,
        code: "platform_bot.unavailable",
        message: "the platform bot is not online right now; try again in a minute".into(),
    }
}

/// What a post through the platform bot came to, as the API reports it.
pub fn outcome(r: Result<DeliveryOutcome, DirectError>) -> AppResult<(i64, i64)> {
    match r {
        Ok(DeliveryOutcome::Sent { message_id, at_ms }) => Ok((message_id, at_ms)),
        Ok(DeliveryOutcome::Failed { code, .. }) => Err(AppError::Upstream {
            kind: Upstream::Refused,
            code: "telegram.send_failed",
            message: match code.as_str() {
                "forbidden" | "chat_not_found" => "Telegram refused the post: the linked user has blocked the platform bot or deleted the chat; link Telegram again".into(),
                "media_missing" => "the template's media file is missing".into(),
                other => format!("Telegram refused the post ({other})"),
            },
        }),
        Err(DirectError::Unavailable) => Err(unavailable()),
        Err(DirectError::Timeout) => Err(AppError::Upstream {
            kind: Upstream::Timeout,
            code: "platform_bot.timeout",
            message: "the platform bot did not answer in time; the post may still arrive".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_as_start_payloads() {
        let codes = LinkCodes::default();
        let (code, _) = codes.issue(AccountId(1), 0).unwrap();
        let (cmd, payload) =
            crate::worker::telegram::parse_command(&format!("/start {code}")).unwrap();
        assert_eq!((cmd.as_str(), payload.as_str()), ("start", code.as_str()));
    }

    #[test]
    fn answers_follow_the_tenants_language() {
        let tr = Reply::Linked {
            email: "ayse@dukkan.test".into(),
            language: Language::Tr,
        };
        assert!(tr.text("Lale").contains("bağlandı"), "{}", tr.text("Lale"));
        assert!(
            tr.text("Lale").contains("Lale hesabınıza"),
            "{}",
            tr.text("Lale")
        );
        let en = Reply::Linked {
            email: "ayse@dukkan.test".into(),
            language: Language::En,
        };
        assert!(en.text("Lale").contains("linked"), "{}", en.text("Lale"));
    }
}
