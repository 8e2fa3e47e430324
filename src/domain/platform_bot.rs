//! The platform bot's answers: `/start <code>` links an account, `/start` (bare, from the
//! storefront's trial button or a referral link) welcomes a newcomer and remembers them for
//! the Mini-App's sign-up, and `/web` hands out a one-time console link. Commands come from
//! the platform bot's worker through the supervisor, bounded per user and in all.

use std::collections::HashMap;

use botyard_shards::ids::AccountId;
use botyard_shards::records::{Language, TelegramLinkRec};

use crate::domain::telegram_link::{DIRECT_WAIT, TRIAL_START, private_post};
use crate::error::{AppError, AppResult};
use crate::runtime::supervisor::BotCommand;
use crate::state::{Shared, blocking};
use crate::worker::telegram::{Markup, UrlButton};

/// What the platform bot answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Linked {
        email: String,
        language: Language,
    },
    Expired,
    Hello,
    /// `/start` from a Telegram user without an account while sign-ups are open.
    Welcome,
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
            Reply::Welcome => format!("Welcome to {brand}! Post to your Telegram groups on a schedule, from templates, and see what each post did. Tap \"Open the app\" below to create your account and start your free trial: it takes a minute.\n\n\
                 {brand}'e hoş geldiniz! Telegram gruplarınıza şablonlardan, zamanlanmış gönderiler yapın ve her gönderinin sonucunu görün. Hesabınızı oluşturup ücretsiz denemenizi başlatmak için aşağıdaki \"Uygulamayı aç\" düğmesine dokunun: bir dakika sürer."),
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
        data: None,
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
    let is_start = cmd.command == "start";
    let signup_start = is_start
        && (cmd.payload.is_empty()
            || cmd.payload == TRIAL_START
            || cmd
                .payload
                .starts_with(crate::domain::signup::referrals::REF_PREFIX));
    let reply = match (cmd.command.as_str(), cmd.payload.is_empty()) {
        // The storefront's trial button, a referral link or a bare Start: not a link code.
        ("start", _) if signup_start => {
            let (st2, cmd2) = (st.clone(), cmd.clone());
            match blocking(move || noted_start(&st2, &cmd2, now)).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot answer a Start");
                    Reply::Hello
                }
            }
        }
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

/// Remembers a Start from a Telegram user without an account (the Mini-App's sign-up needs
/// it) and answers with the welcome when they may sign up.
fn noted_start(st: &crate::state::AppState, cmd: &BotCommand, now: i64) -> AppResult<Reply> {
    if st
        .store
        .catalog_read()?
        .account_for_telegram_user(cmd.user.id)?
        .is_some()
    {
        return Ok(Reply::Hello);
    }
    st.signup_starts.note(
        cmd.user.id,
        crate::domain::signup::Start {
            access_hash: cmd.access_hash,
            first_name: cmd.user.first_name.clone(),
            username: cmd.user.username.clone(),
            referral: crate::domain::signup::referral_in(&cmd.payload),
            at: now,
        },
    );
    Ok(if crate::domain::signup::open_for_signups(st) {
        Reply::Welcome
    } else {
        Reply::Hello
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
