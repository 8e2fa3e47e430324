//! What the rules say in a group on the tenant's behalf, in its language. Markers from
//! `worker::rules::fill` stand for the member, the count and the limit.

use botyard_shards::records::Language;

use crate::worker::rules::fill::{COUNT, LIMIT, MENTION};

/// A warning after a removed message.
pub fn warning(language: Language) -> String {
    match language {
        Language::Tr => format!(
            "{MENTION}, mesajınız grubun kurallarına uymadığı için silindi. Uyarı {COUNT}/{LIMIT}."
        ),
        Language::En => format!(
            "{MENTION}, your message was removed: it breaks this group's rules. Warning {COUNT}/{LIMIT}."
        ),
    }
}

/// The built-in captcha question.
pub fn captcha(language: Language, timeout_secs: u32) -> String {
    match language {
        Language::Tr => format!(
            "Hoş geldiniz {MENTION}! Yazabilmek için {timeout_secs} saniye içinde aşağıdaki düğmeye basın."
        ),
        Language::En => format!(
            "Welcome {MENTION}! Press the button below within {timeout_secs} seconds to be able to write."
        ),
    }
}

pub fn captcha_button(language: Language) -> &'static str {
    match language {
        Language::Tr => "Ben insanım ✅",
        Language::En => "I am human ✅",
    }
}

pub fn not_for_you(language: Language) -> &'static str {
    match language {
        Language::Tr => "Bu düğme yeni gelen üye için.",
        Language::En => "This button is for the new member.",
    }
}
