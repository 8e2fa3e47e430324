//! Linking a botyard account to the Telegram user behind it: the account asks for a one-time
//! code, the user opens `t.me/<platform bot>?start=<code>`, and the platform bot's worker
//! reports the `/start <code>` command (answered in `domain::platform_bot`). The platform bot
//! can then write to the user ("send a test to me", alerts).

use crate::error::{AppError, AppResult, Upstream};
use crate::runtime::supervisor::DirectError;
use crate::worker::ipc::messages::{DeliveryOutcome, SendJob};
use crate::worker::telegram::Markup;

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
        reply_to: None,
        rule: None,
    }
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
    use botyard_shards::ids::AccountId;

    #[test]
    fn codes_parse_as_start_payloads() {
        let codes = LinkCodes::default();
        let (code, _) = codes.issue(AccountId(1), 0).unwrap();
        let (cmd, payload) =
            crate::worker::telegram::parse_command(&format!("/start {code}")).unwrap();
        assert_eq!((cmd.as_str(), payload.as_str()), ("start", code.as_str()));
    }
}
