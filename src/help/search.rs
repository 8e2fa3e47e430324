//! Finding sections by their words: every word of the query, in any order, found in a
//! section's heading or text. Letters are compared folded, so "sablon" finds "Şablon" and
//! "ISTANBUL" finds "İstanbul" (a phone keyboard without Turkish letters finds Turkish words).

use super::render::Section;

/// The longest query read, in characters, and the most words of it used.
pub const QUERY_MAX_CHARS: usize = 200;
pub const QUERY_MAX_WORDS: usize = 8;
/// The most results shown.
pub const HITS_MAX: usize = 30;
const SNIPPET_CHARS: usize = 180;

/// One letter folded for comparison: lowercase, Turkish dotted and dotless i as `i`, and
/// Turkish letters as their Latin base. Always one character for one, so positions agree.
pub fn fold_char(c: char) -> char {
    match c {
        'İ' | 'I' | 'ı' | 'i' => 'i',
        'Ş' | 'ş' => 's',
        'Ğ' | 'ğ' => 'g',
        'Ç' | 'ç' => 'c',
        'Ö' | 'ö' => 'o',
        'Ü' | 'ü' => 'u',
        'Â' | 'â' => 'a',
        'Î' | 'î' => 'i',
        'Û' | 'û' => 'u',
        c => c.to_lowercase().next().unwrap_or(c),
    }
}

pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// The words of a query, folded, bounded.
pub fn words(query: &str) -> Vec<String> {
    let q: String = query.chars().take(QUERY_MAX_CHARS).collect();
    let mut out: Vec<String> = Vec::new();
    for w in fold(&q).split(|c: char| !c.is_alphanumeric() && c != '.' && c != '_') {
        let w = w.trim_matches('.');
        if !w.is_empty() && !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
        if out.len() == QUERY_MAX_WORDS {
            break;
        }
    }
    out
}

/// A section that matched, with the words around the first match.
#[derive(Clone, Debug)]
pub struct Hit {
    pub page: &'static str,
    pub page_title: String,
    pub id: String,
    pub title: String,
    pub snippet: String,
    score: u32,
}

/// Sections of `pages` (a language's pages, by slug) holding every word, best first: words
/// in the heading count more than words in the text.
pub fn search<'a>(
    pages: impl Iterator<Item = (&'static str, &'a str, &'a [Section])>,
    query: &str,
) -> Vec<Hit> {
    let words = words(query);
    if words.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for (slug, page_title, sections) in pages {
        for s in sections {
            let (title, text) = (&s.folded_title, &s.folded_text);
            let mut score = 0;
            let mut all = true;
            for w in &words {
                let in_title = title.contains(w.as_str());
                let count = text.matches(w.as_str()).count() as u32;
                if !in_title && count == 0 {
                    all = false;
                    break;
                }
                score += u32::from(in_title) * 10 + count.min(5);
            }
            if !all {
                continue;
            }
            hits.push(Hit {
                page: slug,
                page_title: page_title.to_string(),
                id: s.id.clone(),
                title: if s.title.is_empty() {
                    page_title.to_string()
                } else {
                    s.title.clone()
                },
                snippet: snippet(&s.text, text, &words[0]),
                score,
            });
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.score));
    hits.truncate(HITS_MAX);
    hits
}

/// About [`SNIPPET_CHARS`] of `text` around the first place `word` is, at word boundaries.
fn snippet(text: &str, folded: &str, word: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = folded
        .find(word)
        .map_or(0, |byte| folded[..byte].chars().count());
    let mut start = at.saturating_sub(SNIPPET_CHARS / 3);
    while start > 0 && !chars[start - 1].is_whitespace() {
        start -= 1;
    }
    let mut end = (start + SNIPPET_CHARS).min(chars.len());
    while end < chars.len() && !chars[end].is_whitespace() {
        end += 1;
    }
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: &str, title: &str, text: &str) -> Section {
        Section {
            id: id.into(),
            title: title.into(),
            level: 2,
            text: text.into(),
            folded_title: fold(title),
            folded_text: fold(text),
        }
    }

    #[test]
    fn turkish_letters_fold_one_for_one() {
        assert_eq!(
            fold("İSTANBUL Işık ŞABLON Göğüs Çağ"),
            "istanbul isik sablon gogus cag"
        );
        let s = "İıŞşĞğ";
        assert_eq!(fold(s).chars().count(), s.chars().count());
    }

    #[test]
    fn every_word_must_be_found_and_headings_count_more() {
        let sections = [
            section(
                "cron",
                "Cron ile zamanlama",
                "Her gün saat 9'da bir şablon gönderin.",
            ),
            section(
                "windows",
                "Gönderim saatleri",
                "Kampanya cron ifadesi ve şablon.",
            ),
            section("pin", "Sabitleme", "Mesajı sabitler."),
        ];
        let pages = || std::iter::once(("campaigns", "Kampanyalar", &sections[..]));
        let hits = search(pages(), "SABLON cron");
        let ids: Vec<_> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["cron", "windows"]);
        assert!(search(pages(), "sabitle yok").is_empty());
        assert!(search(pages(), "  ").is_empty());
    }

    #[test]
    fn codes_are_searched_whole_and_queries_are_bounded() {
        assert_eq!(words("campaign.no_groups?"), ["campaign.no_groups"]);
        assert_eq!(words(&"a ".repeat(100)), ["a"]);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        assert_eq!(words(&many).len(), QUERY_MAX_WORDS);
        assert!(words(&"x".repeat(10_000))[0].len() <= QUERY_MAX_CHARS);
    }

    #[test]
    fn a_snippet_is_cut_at_word_boundaries_around_the_match() {
        let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let s = snippet(&text, &fold(&text), "needle");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("needle"));
        assert!(s.chars().count() < SNIPPET_CHARS + 20, "{s}");
    }
}
