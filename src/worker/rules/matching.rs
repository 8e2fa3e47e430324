//! Matching a message's text: Turkish-aware case folding, whole-word keywords, bounded
//! regular expressions, and spotting links, invite links and channel forwards.

use regex::{Regex, RegexBuilder};

/// Longest pattern a rule may carry, in bytes.
pub const PATTERN_MAX: usize = 500;
/// Compiled size a pattern may grow to (the `regex` crate refuses bigger ones, so
/// `(a{1000}){1000}` is an error at save, not a slow worker).
const COMPILED_MAX: usize = 256 * 1024;
/// Cache of the lazy DFA per pattern: bounded so 100 rules stay small in the worker (each
/// pattern's cache grows to this, forward and reverse; at 64 KiB twenty patterns held 2 MiB).
const DFA_MAX: usize = 16 * 1024;

/// Lower case the way Turkish writes it: `I` → `ı` and `İ` → `i` (Unicode's default maps
/// `I` to `i` and `İ` to `i̇`, so "IŞIK" would not match "ışık"). Everything else follows
/// Unicode's lower case.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'I' => out.push('ı'),
            'İ' => out.push('i'),
            // A decomposed İ (I and a combining dot above) is an i as well.
            '\u{307}' if out.ends_with('ı') => {
                out.pop();
                out.push('i');
            }
            '\u{307}' if out.ends_with('i') => {}
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The folded words of `text`, each with one space on either side (" merhaba dünya "), so
/// a keyword phrase matches whole words with a plain substring search.
pub fn words(text: &str) -> String {
    words_of_folded(&fold(text))
}

/// [`words`] of a text already folded.
pub fn words_of_folded(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    for w in folded.split(|c: char| !c.is_alphanumeric()) {
        if !w.is_empty() {
            out.push_str(w);
            out.push(' ');
        }
    }
    out
}

/// A keyword or phrase as [`words`] writes it: " kargo ücreti ". None when it has no
/// letters or digits.
pub fn keyword(k: &str) -> Option<String> {
    let w = words(k);
    (w.len() > 1).then_some(w)
}

/// Compiles a tenant's pattern within the bounds: folded like the text, Unicode-aware, for
/// matching against the folded text ([`is_match`]), so any case matches.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > PATTERN_MAX {
        return Err(format!(
            "the pattern is longer than {PATTERN_MAX} characters"
        ));
    }
    // The text is folded to lower case and so is the pattern: matching is exact, which
    // keeps each compiled pattern and its literal prefilter small (a case-insensitive one
    // held about 100 KiB in the worker).
    RegexBuilder::new(&fold_pattern(pattern))
        .case_insensitive(false)
        .size_limit(COMPILED_MAX)
        .dfa_size_limit(DFA_MAX)
        .nest_limit(32)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                "the pattern is too complex (it would use too much memory)".to_string()
            }
            regex::Error::Syntax(s) => {
                // The syntax error's last line says what is wrong.
                let why = s.lines().last().unwrap_or("invalid").trim().to_string();
                format!("the pattern is not a valid regular expression: {why}")
            }
            _ => "the pattern is not a valid regular expression".to_string(),
        })
}

/// A pattern matches the text as written (case-insensitive the Unicode way) or folded the
/// Turkish way ("IŞIK" → "ışık").
pub fn is_match(r: &Regex, text: &str) -> bool {
    r.is_match(&fold(text))
}

/// The pattern folded the way the text is (`İstanbul` → `istanbul`, `[A-Z]` → `[a-z]`), so
/// one exact scan of the folded text matches; escapes (`\D`, `\p{Latin}`) are left as
/// written.
fn fold_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                let Some(e) = chars.next() else { break };
                out.push(e);
                if matches!(e, 'p' | 'P') && chars.peek() == Some(&'{') {
                    for n in chars.by_ref() {
                        out.push(n);
                        if n == '}' {
                            break;
                        }
                    }
                }
            }
            'I' => out.push('ı'),
            'İ' => out.push('i'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// What a message carries that the filters look at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traits {
    pub link: bool,
    pub invite: bool,
}

const INVITE_MARKS: &[&str] = &[
    "t.me/+",
    "t.me/joinchat",
    "telegram.me/joinchat",
    "tg://join",
    "telegram.me/+",
];
const LINK_MARKS: &[&str] = &[
    "http://",
    "https://",
    "www.",
    "t.me/",
    "telegram.me/",
    "tg://",
];

/// Links by their marks in the text (Telegram also marks them as entities, which the port
/// adds), and invite links to chats. Addresses are ASCII: the text is lower-cased the ASCII
/// way (the Turkish fold would turn "JOIN" into "joın").
pub fn traits(text: &str) -> Traits {
    let folded = text.to_ascii_lowercase();
    let folded = folded.as_str();
    let invite = INVITE_MARKS.iter().any(|m| folded.contains(m));
    let link = invite || LINK_MARKS.iter().any(|m| folded.contains(m)) || bare_domain(folded);
    Traits { link, invite }
}

/// Common top-level domains written without a scheme ("ucuz.shop/x", "kazan.com").
fn bare_domain(folded: &str) -> bool {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "me", "ru", "tr", "info", "biz", "xyz", "shop", "top", "app",
        "link", "site", "online", "club", "co",
    ];
    let bytes = folded.as_bytes();
    folded.match_indices('.').any(|(i, _)| {
        let before = i > 0 && bytes[i - 1].is_ascii_alphanumeric();
        let rest = &folded[i + 1..];
        let tld: &str = rest
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        let after = rest[tld.len()..].chars().next();
        before && TLDS.contains(&tld) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_letters_fold_the_turkish_way() {
        assert_eq!(fold("IŞIK"), "ışık");
        assert_eq!(fold("İSTANBUL"), "istanbul");
        assert_eq!(fold("ĞÜŞÖÇ"), "ğüşöç");
        // A decomposed İ (I + combining dot) folds to i as well.
        assert_eq!(fold("I\u{307}ZMIR"), "izmır");
        assert_eq!(fold("i\u{307}zmir"), "izmir");
        assert_eq!(words("Kargo ÜCRETİ ne kadar?!"), " kargo ücreti ne kadar ");
    }

    #[test]
    fn keywords_match_whole_words_only() {
        let text = words("Fiyat listesi için İstanbul şubemize gelin");
        let has = |k: &str| text.contains(&keyword(k).unwrap());
        assert!(has("fiyat"));
        assert!(has("FİYAT LİSTESİ"));
        assert!(has("istanbul"));
        assert!(!has("fiy"), "a part of a word is not a word");
        assert!(!has("liste"));
        // ı and i are different letters in Turkish: "sık" is not "sik".
        assert!(words("çok sık geliyor").contains(&keyword("sık").unwrap()));
        assert!(!words("çok sık geliyor").contains(&keyword("sik").unwrap()));
        assert_eq!(keyword("!!"), None);
    }

    #[test]
    fn patterns_match_any_case_through_the_fold() {
        let m = |p: &str, t: &str| is_match(&compile(p).unwrap(), t);
        assert!(m(r"SİPARİŞ\s*#?\d{3}", "Sipariş #123 nerede?"));
        assert!(m(r"[A-Z]{3}-\d+", "kod abc-42"));
        assert!(m(r"IŞIK", "ışık var mı"));
        assert!(!m(r"IŞIK", "isik var mi"));
        // Escapes keep their meaning: \D is still "not a digit", \S "not a space".
        assert!(m(r"^\D+\S$", "ab!"));
        assert!(!m(r"^\D+$", "ab1"));
    }

    #[test]
    fn hostile_patterns_are_refused_or_harmless() {
        assert!(
            compile("(a{1000}){1000}")
                .unwrap_err()
                .contains("too complex")
        );
        assert!(compile(&"a".repeat(501)).is_err());
        assert!(compile("(unclosed").unwrap_err().contains("not a valid"));
        assert!(compile(&format!("{}{}", "(".repeat(40), ")".repeat(40))).is_err());
        // The classic catastrophic backtracking pattern runs in linear time here.
        let r = compile("^(a+)+$").unwrap();
        let evil = "a".repeat(4000) + "!";
        let t = std::time::Instant::now();
        assert!(!is_match(&r, &evil));
        assert!(t.elapsed() < std::time::Duration::from_millis(200));
        let r = compile(r"\bkampanya\s+\d+").unwrap();
        assert!(is_match(&r, "KAMPANYA 12 başladı"));
        // Escapes keep their case: \D is not \d, \p{Latin} stays a class.
        assert!(is_match(&compile(r"^\D+$").unwrap(), "İYİ"));
        assert!(is_match(&compile(r"^\p{Latin}+$").unwrap(), "IŞIK"));
        assert!(is_match(&compile("İzmir").unwrap(), "İZMİR"));
        let r = compile("ışık").unwrap();
        assert!(
            is_match(&r, "IŞIK"),
            "case-insensitive over Turkish letters"
        );
        assert!(is_match(&compile("Istanbul").unwrap(), "ISTANBUL"));
    }

    #[test]
    fn links_and_invites_are_spotted() {
        let t = traits;
        assert_eq!(t("merhaba"), Traits::default());
        assert!(t("bak https://ucuz.example/x").link);
        assert!(t("www.ornek.com.tr").link);
        assert!(t("kazan.com adresine gel").link);
        assert!(t("ucuz.shop").link);
        assert!(!t("saat 10.30 da").link);
        assert!(!t("e.g. örnek").link);
        let inv = t("katıl: https://t.me/+AbCdEf");
        assert!(inv.link && inv.invite);
        assert!(t("T.ME/JOINCHAT/xyz").invite);
        assert!(!t("t.me/bizim_kanal").invite);
    }
}
