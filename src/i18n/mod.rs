//! The API in its readers' languages: English, in which messages are written, and Turkish,
//! from a catalogue per error code.

pub mod console;
mod errors_tr;
pub mod faq;

pub use botyard_shards::records::Language;

/// The supported language an `Accept-Language` header prefers most (by q-value, then order).
pub fn from_accept_language(header: &str) -> Option<Language> {
    let mut best: Option<(f32, Language)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").map(str::trim))
            .map_or(Some(1.0), |v| v.parse::<f32>().ok())
            .filter(|q| (0.0..=1.0).contains(q));
        let Some(q) = q.filter(|q| *q > 0.0) else {
            continue;
        };
        let primary = tag.split('-').next().unwrap_or("");
        let lang = match primary {
            "tr" => Language::Tr,
            "en" => Language::En,
            _ => continue,
        };
        if best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// The Turkish message of `code`, with its placeholders (see `errors_tr`).
pub fn turkish_template(code: &str) -> Option<&'static str> {
    errors_tr::MESSAGES
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| errors_tr::MESSAGES[i].1)
}

/// Every code the Turkish catalogue has.
pub fn turkish_codes() -> impl Iterator<Item = &'static str> {
    errors_tr::MESSAGES.iter().map(|(c, _)| *c)
}

/// An error's message for a reader of `lang`. `english` is the message the code was made
/// with: its values (numbers, dates, sizes) fill the translation's `{v0}`, `{v1}` …; a
/// translation whose values the English message does not have falls back to English.
pub fn error_message(lang: Language, code: &str, english: &str, field: Option<&str>) -> String {
    let english_full = match field {
        Some(f) if !f.is_empty() => format!("{f}: {english}"),
        _ => english.to_string(),
    };
    if lang == Language::En {
        return english_full;
    }
    let Some(template) = turkish_template(code) else {
        return english_full;
    };
    let values = values(english);
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = if name == "field" {
            field.filter(|f| !f.is_empty()).map(str::to_string)
        } else if let Some(i) = name.strip_prefix('q').and_then(|i| i.parse::<usize>().ok()) {
            quoted(english).get(i).map(|v| (*v).to_string())
        } else {
            name.strip_prefix('v')
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| values.get(i))
                .map(|v| (*v).to_string())
        };
        match value {
            Some(v) => out.push_str(&v),
            None if name == "field" => {
                // No field: the sentence reads without its "field:" lead.
                if rest[open + close + 1..].starts_with(": ") {
                    rest = &rest[open + close + 3..];
                    continue;
                }
            }
            None => return english_full,
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    // A sentence that starts with a field name keeps the name as it is.
    if template.starts_with("{field}") && field.is_some_and(|f| !f.is_empty()) {
        out
    } else {
        capitalize_tr(out)
    }
}

/// The first letter in upper case, the Turkish way (`i` → `İ`).
fn capitalize_tr(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some('i') => format!("İ{}", chars.as_str()),
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => s,
    }
}

/// The “quoted” names in a message (a group's title, a rule's name), for `{q0}`, `{q1}` ….
fn quoted(message: &str) -> Vec<&str> {
    message
        .split('“')
        .skip(1)
        .filter_map(|part| part.split_once('”').map(|(q, _)| q))
        .collect()
}

/// The words of a message that carry a digit (a number, a date, `30×1`), trimmed of the
/// punctuation around them.
fn values(message: &str) -> Vec<&str> {
    message
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| {
                matches!(c, '(' | ')' | ',' | ';' | ':' | '.' | '`' | '"' | '\'')
            })
        })
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        for (h, want) in [
            ("tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7", Some(Language::Tr)),
            ("en-GB,en;q=0.9,tr;q=0.8", Some(Language::En)),
            ("de-DE,de;q=0.9,tr;q=0.5,en;q=0.4", Some(Language::Tr)),
            ("de, fr", None),
            ("tr;q=0, en;q=0.1", Some(Language::En)),
            ("TR", Some(Language::Tr)),
            ("*", None),
            ("tr;q=abc", None),
            ("", None),
        ] {
            assert_eq!(from_accept_language(h), want, "{h}");
        }
    }

    #[test]
    fn the_catalogue_is_sorted_unique_and_its_placeholders_are_known() {
        let codes: Vec<&str> = turkish_codes().collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        for (code, text) in errors_tr::MESSAGES {
            let mut rest = *text;
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').expect("closed placeholder") + open;
                let name = &rest[open + 1..close];
                assert!(
                    name == "field"
                        || name
                            .strip_prefix(['v', 'q'])
                            .is_some_and(|i| i.parse::<u8>().is_ok()),
                    "{code}: {{{name}}}"
                );
                rest = &rest[close + 1..];
            }
        }
    }

    /// Every code API.md's error table lists has a Turkish message, and every Turkish message
    /// is for a code API.md documents.
    #[test]
    fn the_catalogue_and_the_api_guide_name_the_same_codes() {
        let guide = include_str!("../../docs/API.md");
        let errors = &guide[guide.find("## Errors").unwrap()..guide.find("## Pagination").unwrap()];
        let is_code = |w: &str| {
            let mut parts = w.split('.');
            let ok = |p: Option<&str>| {
                p.is_some_and(|p| {
                    !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                })
            };
            ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
        };
        let documented: Vec<&str> = errors
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| is_code(w) && !w.starts_with("http."))
            .collect();
        assert!(documented.len() > 90, "{}", documented.len());
        for code in &documented {
            assert!(
                turkish_template(code).is_some(),
                "no Turkish message for `{code}`"
            );
        }
        let words: std::collections::HashSet<&str> = guide
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '.'))
            .map(|w| w.trim_matches('.'))
            .collect();
        for code in turkish_codes() {
            assert!(words.contains(code), "`{code}` is not in docs/API.md");
        }
    }

    #[test]
    fn values_carry_over_and_missing_ones_fall_back_to_english() {
        let m = error_message(
            Language::Tr,
            "media.too_large",
            "the plan allows files up to 5 MiB",
            Some("body"),
        );
        assert_eq!(m, "Planınız en fazla 5 MiB dosyaya izin veriyor.");
        let m = error_message(
            Language::Tr,
            "media.photo_dimensions",
            "a photo is 30×1 pixels; Telegram takes photos whose width and height add up to at most 10000 and whose long side is at most 20 times the short one: resize it",
            Some("body"),
        );
        assert!(m.starts_with("Fotoğraf 30×1 piksel"), "{m}");
        assert!(
            m.contains("en fazla 10000") && m.contains("en fazla 20 katı"),
            "{m}"
        );
        let m = error_message(
            Language::Tr,
            "validation.missing_field",
            "missing field `name`",
            Some("name"),
        );
        assert_eq!(m, "Zorunlu bir alan eksik: name.");
        // Quoted names carry over too, whatever digits they hold.
        let m = error_message(
            Language::Tr,
            "rule.missing_rights",
            "in “Kadıköy 2 Satış” the session cannot delete messages; make it an admin",
            Some("chats"),
        );
        assert!(
            m.starts_with("chats: oturum “Kadıköy 2 Satış” grubunda"),
            "{m}"
        );
        // A field-led sentence without a field reads without the lead.
        let m = error_message(Language::Tr, "validation.invalid", "bad", None);
        assert_eq!(m, "Bu değer kabul edilmiyor.");
        // The English message lacks the value the translation needs: English it is.
        let m = error_message(Language::Tr, "plan.session_limit", "no number here", None);
        assert_eq!(m, "no number here");
        // English readers get the message as it was made.
        let m = error_message(
            Language::En,
            "validation.invalid",
            "1 to 100 characters",
            Some("name"),
        );
        assert_eq!(m, "name: 1 to 100 characters");
        // An unknown code stays English.
        assert_eq!(error_message(Language::Tr, "nope.nope", "x", None), "x");
    }
}
