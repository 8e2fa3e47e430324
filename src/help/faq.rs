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
        | "member" | "notice" | "settings" | "api_key" | "signup" | "invite" => "account",
        "session" | "import" | "login" | "worker" | "telegram" | "platform_bot" => "sessions",
        "group" | "groups" => "groups",
        "template" | "variables" | "media" => "templates",
        "campaign" | "delivery" => "campaigns",
        "rule" => "rules",
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
    api_guide: &str,
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
    let explained = from_api_guide(api_guide);
    let mut order: Vec<&str> = crate::help::GUIDES.iter().map(|(s, _)| *s).collect();
    order.push("api");
    for guide in order {
        let entries: Vec<&str> = i18n::turkish_codes()
            .filter(|code| guide_of(code) == guide)
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
        for code in entries {
            let _ = write!(md, "### `{code}` {{#{code}}}\n\n");
            if lang == Language::Tr
                && let Some(message) = i18n::turkish_template(code)
            {
                let _ = write!(md, "{} «{}»\n\n", w.shown, placeholders(message));
            }
            if let Some((_, en, tr)) = faq::error(code) {
                let _ = write!(md, "{}", pick(en, tr));
            } else if let Some((status, note)) = explained.get(code) {
                let _ = write!(md, "{}", status_meaning(*status, lang));
                if lang == Language::En
                    && let Some(note) = note
                {
                    let _ = write!(md, " In short: {note}.");
                }
            }
            if guide != "api" {
                let _ = write!(md, " {} [{heading}]({guide}.md).", w.more);
            }
            md.push_str("\n\n");
        }
    }
    md
}

/// Each code of the API guide's error table with its HTTP status and, where the guide says
/// more in brackets after it, that note.
fn from_api_guide(api_guide: &str) -> std::collections::BTreeMap<&str, (u16, Option<&str>)> {
    let mut out = std::collections::BTreeMap::new();
    for line in api_guide.lines() {
        let Some(row) = line.strip_prefix("| ") else {
            continue;
        };
        let Some((status, codes)) = row.split_once(" | ") else {
            continue;
        };
        // "400, 409 from `botyard tenants import` …" reads as its first status.
        let first = status
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("");
        let Ok(status) = first.parse::<u16>() else {
            continue;
        };
        // `code` (note), `code`, … : a note belongs to the code before it.
        let mut rest = codes;
        while let Some(open) = rest.find('`') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('`') else {
                break;
            };
            let code = &after[..close];
            rest = &after[close + 1..];
            let note = rest
                .strip_prefix(" (")
                .and_then(|r| r.find(')').map(|end| &r[..end]))
                .filter(|n| !n.contains('`'));
            if code.contains('.') && !code.contains(' ') {
                out.entry(code).or_insert((status, note));
            }
        }
    }
    out
}

/// What an answer's status tells a reader, and what to do.
fn status_meaning(status: u16, lang: Language) -> &'static str {
    match (status, lang) {
        (400, Language::En) => {
            "The request could not be read as sent; whoever built it (a script, or the API client) should fix it."
        }
        (400, Language::Tr) => {
            "İstek gönderildiği haliyle okunamadı; onu hazırlayan (bir betik veya API istemcisi) düzeltmelidir."
        }
        (401, Language::En) => "The sign-in is missing, wrong or no longer valid: sign in again.",
        (401, Language::Tr) => {
            "Giriş bilgisi eksik, yanlış ya da artık geçerli değil: yeniden giriş yapın."
        }
        (403, Language::En) => {
            "Your role, or the state of the account, does not allow this: ask an owner of the business, or the reseller."
        }
        (403, Language::Tr) => {
            "Rolünüz veya hesabın durumu buna izin vermiyor: işletmenin bir sahibine veya satıcıya danışın."
        }
        (404, Language::En) => {
            "It does not exist (any more), or it belongs to another business: go back to the list and reload it."
        }
        (404, Language::Tr) => {
            "Böyle bir şey (artık) yok ya da başka bir işletmeye ait: listeye dönüp sayfayı yenileyin."
        }
        (405, Language::En) => "This address does not accept that kind of request.",
        (405, Language::Tr) => "Bu adres bu tür bir isteği kabul etmez.",
        (409, Language::En) => {
            "It cannot be done in the present state (a limit, a state, or something already there); the message says what to change first. Nothing was changed."
        }
        (409, Language::Tr) => {
            "Şu anki durumda yapılamaz (bir sınır, bir durum ya da zaten var olan bir şey); mesaj önce neyin değişmesi gerektiğini söyler. Hiçbir şey değiştirilmedi."
        }
        (413, Language::En) => "What you sent is larger than allowed; the message gives the limit.",
        (413, Language::Tr) => "Gönderdiğiniz şey izin verilenden büyük; mesaj sınırı söyler.",
        (415, Language::En) => "The request's content type is not one this address reads.",
        (415, Language::Tr) => "İsteğin içerik türü bu adresin okuduğu türlerden değil.",
        (422, Language::En) => {
            "A value was not accepted; the message names the field and what is allowed. Correct it and save again: nothing was saved."
        }
        (422, Language::Tr) => {
            "Bir değer kabul edilmedi; mesaj alanı ve neye izin verildiğini söyler. Düzeltip yeniden kaydedin: hiçbir şey kaydedilmedi."
        }
        (429, Language::En) => {
            "Too many attempts: wait the time the message gives, then try again."
        }
        (429, Language::Tr) => {
            "Çok fazla deneme: mesajın söylediği süre kadar bekleyip yeniden deneyin."
        }
        (502, Language::En) => "Telegram refused; the message gives Telegram's reason.",
        (502, Language::Tr) => "Telegram reddetti; mesaj Telegram'ın nedenini verir.",
        (503, Language::En) => "It is not available right now: try again in a minute.",
        (503, Language::Tr) => "Şu an kullanılamıyor: bir dakika sonra yeniden deneyin.",
        (504, Language::En) => "Telegram did not answer in time: try again in a minute.",
        (504, Language::Tr) => {
            "Telegram zamanında yanıt vermedi: bir dakika sonra yeniden deneyin."
        }
        (507, Language::En) => {
            "The server's disk is full and nothing was saved; the reseller must free space."
        }
        (507, Language::Tr) => {
            "Sunucunun diski dolu ve hiçbir şey kaydedilmedi; satıcının yer açması gerekir."
        }
        (_, Language::En) => {
            "Something went wrong on the server; the reseller finds the details in its log."
        }
        (_, Language::Tr) => {
            "Sunucuda bir sorun oldu; satıcı ayrıntıları sunucunun kaydında bulur."
        }
    }
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
    fn every_code_has_an_entry_with_its_status_and_every_alert_its_words() {
        let api = include_str!("../../docs/API.md");
        let explained = from_api_guide(api);
        for code in i18n::turkish_codes() {
            assert!(
                explained.contains_key(code),
                "{code} is not in API.md's error table"
            );
        }
        assert_eq!(explained.get("campaign.no_targets").map(|e| e.0), Some(409));
        // Written explanations: sorted, of codes that exist, in both languages.
        assert!(
            faq::ERRORS.windows(2).all(|w| w[0].0 < w[1].0),
            "ERRORS is sorted"
        );
        for (code, en, tr) in faq::ERRORS {
            assert!(
                explained.contains_key(code),
                "{code} is explained but not a code"
            );
            assert!(!en.is_empty() && !tr.is_empty() && en != tr, "{code}");
        }
        assert_eq!(
            explained.get("import.key_in_use").and_then(|e| e.1),
            Some("another session already holds the imported auth key")
        );
        for lang in [Language::En, Language::Tr] {
            let md = markdown(lang, api, &|_| Some("Guide".into()), &|_| "Alert");
            for code in i18n::turkish_codes() {
                assert!(md.contains(&format!("{{#{code}}}")), "{code}");
            }
            assert!(
                md.contains("{#session.flood_wait-alert}"),
                "an alert named like a code"
            );
            assert!(!md.contains("{#session.flood_wait}\n\n`session.flood_wait`. "));
        }
        for (code, en, tr) in faq::ALERTS {
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
    fn every_alert_the_server_raises_is_explained() {
        use crate::domain::alerts as a;
        use crate::domain::billing::stars as s;
        let raised = [
            a::WORKER_QUARANTINED,
            a::SESSION_REVOKED,
            a::CAMPAIGN_PAUSED,
            a::DISK_LOW,
            a::FLOOD_WAIT,
            a::POSTS_FAILING,
            a::GROUP_REMOVED,
            a::RULE_PAUSED,
            s::FORGED_PAYMENT,
            s::ORPHAN_PAYMENT,
            s::RECONCILIATION,
            s::RENEWALS_NOT_FOLLOWED,
            crate::domain::backup::schedule::BACKUP_FAILED,
            crate::runtime::tls::acme::RENEWAL_FAILED,
        ];
        let explained: Vec<&str> = faq::ALERTS.iter().map(|(k, _, _)| *k).collect();
        let mut sorted = raised.to_vec();
        sorted.sort_unstable();
        assert_eq!(explained, sorted);
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
        for code in i18n::turkish_codes() {
            let g = guide_of(code);
            assert!(
                g == "api" || crate::help::GUIDES.iter().any(|(s, _)| *s == g),
                "{code}"
            );
        }
    }
}
