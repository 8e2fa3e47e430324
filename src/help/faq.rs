//! The FAQ page (`errors`): every error code and alert with what it means and what to do, in
//! the reader's language, grouped under the guide that covers its area, each entry's id the
//! code itself so an error can link to `/help/{lang}/errors#{code}`.

use std::fmt::Write as _;

use crate::i18n::{self, Language, faq};

/// The guide page that covers the codes of an area (the part of a code before its dot).
pub fn guide_of(code: &str) -> &'static str {
    let area = code.split('.').next().unwrap_or("");
    match area {
        "auth" | "account" | "password" | "setup" | "webapp" | "web_link" | "invitation"
        | "member" | "notice" | "settings" | "api_key" => "account",
        "session" | "import" | "login" | "worker" | "telegram" | "platform_bot" => "sessions",
        "group" | "groups" => "groups",
        "template" | "variables" | "media" => "templates",
        "campaign" | "delivery" => "campaigns",
        "stats" | "report" => "statistics",
        "billing" | "plan" => "billing",
        "appliance" | "mail" | "marketing" | "backup" | "tenant" | "bundle" | "tls" | "disk"
        | "metrics" => "reseller",
        _ => "api",
    }
}

struct Words {
    title: &'static str,
    intro: &'static str,
    alerts: &'static str,
    alerts_intro: &'static str,
    shown: &'static str,
    more: &'static str,
    other: &'static str,
}

fn words(lang: Language) -> Words {
    match lang {
        Language::En => Words {
            title: "Errors and alerts",
            intro: "Every error {brand} can answer has a code, such as `campaign.no_groups`, shown \
                    with its message. Find the code below (or type it in the search box) to read \
                    what it means and what to do. Alerts are what the server raises for a person \
                    to look at; they are listed first.",
            alerts: "Alerts",
            alerts_intro: "An alert stays open until someone acknowledges it. The reseller sees \
                           every alert on the console's dashboard; a tenant's people get the \
                           ones about their tenant by mail if they chose to.",
            shown: "The message reads:",
            more: "More in",
            other: "Requests and everything else",
        },
        Language::Tr => Words {
            title: "Hatalar ve uyarılar",
            intro: "{brand}'ın verebileceği her hatanın `campaign.no_groups` gibi bir kodu vardır \
                    ve mesajıyla birlikte gösterilir. Ne anlama geldiğini ve ne yapmanız \
                    gerektiğini okumak için kodu aşağıda bulun (veya arama kutusuna yazın). \
                    Uyarılar, sunucunun bir kişinin bakması için açtıklarıdır; önce onlar \
                    listelenir.",
            alerts: "Uyarılar",
            alerts_intro: "Bir uyarı, biri onu görene kadar açık kalır. Bayi tüm uyarıları \
                           konsolun panosunda görür; müşterinin kişileri kendi müşterileriyle \
                           ilgili olanları seçtilerse e-postayla alır.",
            shown: "Mesaj şöyle görünür:",
            more: "Ayrıntısı:",
            other: "İstekler ve diğerleri",
        },
    }
}

/// The FAQ as Markdown. `page_title` gives a guide's title (by slug) in this language;
/// `alert_title` an alert kind's name.
pub fn markdown(
    lang: Language,
    page_title: &dyn Fn(&str) -> Option<String>,
    alert_title: &dyn Fn(&str) -> &'static str,
) -> String {
    let w = words(lang);
    let pick = |en: &'static str, tr: &'static str| match lang {
        Language::En => en,
        Language::Tr => tr,
    };
    let mut md = format!("# {}\n\n{}\n\n", w.title, w.intro);
    let _ = write!(md, "## {} {{#alerts}}\n\n{}\n\n", w.alerts, w.alerts_intro);
    for (kind, en, tr) in faq::ALERTS {
        // An alert named like an error code (`session.flood_wait`) leaves the code its id.
        let id = if i18n::turkish_template(kind).is_some() {
            format!("{kind}-alert")
        } else {
            kind.to_string()
        };
        let _ = write!(
            md,
            "### {} {{#{id}}}\n\n`{kind}`. {}\n\n",
            alert_title(kind),
            pick(en, tr)
        );
    }
    let mut order: Vec<&str> = crate::help::GUIDES.iter().map(|(s, _)| *s).collect();
    order.push("api");
    for guide in order {
        let entries: Vec<_> = faq::ERRORS
            .iter()
            .filter(|(code, _, _)| guide_of(code) == guide)
            .collect();
        if entries.is_empty() {
            continue;
        }
        let heading = if guide == "api" {
            w.other.to_string()
        } else {
            page_title(guide).unwrap_or_else(|| guide.to_string())
        };
        let _ = write!(md, "## {heading} {{#area-{guide}}}\n\n");
        for (code, en, tr) in entries {
            let _ = write!(md, "### `{code}` {{#{code}}}\n\n");
            if lang == Language::Tr
                && let Some(message) = i18n::turkish_template(code)
            {
                let _ = write!(md, "{} «{}»\n\n", w.shown, placeholders(message));
            }
            let _ = write!(md, "{}", pick(en, tr));
            if guide != "api" {
                let _ = write!(md, " {} [{heading}]({guide}.md).", w.more);
            }
            md.push_str("\n\n");
        }
    }
    md
}

/// A catalogue message with its blanks shown as an ellipsis, escaped for Markdown.
fn placeholders(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push('…');
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.replace('*', "\\*")
        .replace('_', "\\_")
        .replace('[', "\\[")
        .replace('<', "\\<")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faq_covers_every_code_the_api_can_answer_and_every_alert() {
        let codes: Vec<&str> = faq::ERRORS.iter().map(|(c, _, _)| *c).collect();
        let catalogue: Vec<&str> = i18n::turkish_codes().collect();
        assert_eq!(
            codes, catalogue,
            "faq::ERRORS and errors_tr::MESSAGES name the same codes"
        );
        let kinds: Vec<&str> = faq::ALERTS.iter().map(|(k, _, _)| *k).collect();
        let mut sorted = kinds.clone();
        sorted.sort_unstable();
        assert_eq!(kinds, sorted, "ALERTS is sorted");
        for (code, en, tr) in faq::ERRORS.iter().chain(faq::ALERTS) {
            assert!(
                !en.trim().is_empty() && !tr.trim().is_empty(),
                "{code} is explained"
            );
            assert!(
                !en.contains('{') && !tr.contains('{'),
                "{code} has no blanks"
            );
        }
    }

    #[test]
    fn blanks_become_an_ellipsis() {
        assert_eq!(
            placeholders("{field}: en çok {v0} karakter_"),
            "…: en çok … karakter\\_"
        );
    }

    #[test]
    fn every_area_has_a_guide_or_the_reference() {
        for (code, _, _) in faq::ERRORS {
            let g = guide_of(code);
            assert!(
                g == "api" || crate::help::GUIDES.iter().any(|(s, _)| *s == g),
                "{code}"
            );
        }
    }
}
