//! A message as Telegram will show it, as safe HTML for the preview: the plain text escaped,
//! the entities (offsets in UTF-16 code units, as Telegram counts) turned into a small set of
//! tags. Nothing of the template's own markup reaches the page.

use crate::domain::templates::Entity;

fn open_tag(e: &Entity) -> String {
    match e.kind {
        "bold" => "<b>".into(),
        "italic" => "<i>".into(),
        "underline" => "<u>".into(),
        "strikethrough" => "<s>".into(),
        "spoiler" => r#"<span class="spoiler">"#.into(),
        "code" => "<code>".into(),
        "pre" => "<pre>".into(),
        "blockquote" => "<blockquote>".into(),
        "text_url" | "url" => match e.url.as_deref().filter(|u| safe_url(u)) {
            Some(u) => format!(r#"<a href="{}" rel="noopener nofollow">"#, escape(u)),
            None => "<a>".into(),
        },
        _ => "<span>".into(),
    }
}

fn close_tag(e: &Entity) -> &'static str {
    match e.kind {
        "bold" => "</b>",
        "italic" => "</i>",
        "underline" => "</u>",
        "strikethrough" => "</s>",
        "code" => "</code>",
        "pre" => "</pre>",
        "blockquote" => "</blockquote>",
        "text_url" | "url" => "</a>",
        _ => "</span>",
    }
}

/// Only web and mail links become clickable.
fn safe_url(u: &str) -> bool {
    let l = u.trim_start().to_ascii_lowercase();
    l.starts_with("https://")
        || l.starts_with("http://")
        || l.starts_with("mailto:")
        || l.starts_with("tg://")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Closes the entities ending at `pos`, then opens those starting there.
fn boundary<'e>(
    pos: i32,
    out: &mut String,
    open: &mut Vec<&'e Entity>,
    sorted: &[&'e Entity],
    next: &mut usize,
) {
    while let Some(e) = open.last() {
        if e.offset + e.length <= pos {
            out.push_str(close_tag(e));
            open.pop();
        } else {
            break;
        }
    }
    while *next < sorted.len() && sorted[*next].offset <= pos {
        let e = sorted[*next];
        *next += 1;
        // Not nested in the innermost open entity: skip it (Telegram sends nested ones).
        if open
            .last()
            .is_some_and(|o| e.offset + e.length > o.offset + o.length)
        {
            continue;
        }
        out.push_str(&open_tag(e));
        open.push(e);
    }
}

/// A message's link buttons under its bubble, as Telegram lays them out (labels only: the
/// links are not followed from a preview).
pub fn keyboard(rows: &[Vec<crate::domain::templates::Button>]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(r#"<div class="tg-keyboard">"#);
    for row in rows {
        out.push_str(r#"<div class="tg-row">"#);
        for b in row {
            out.push_str(&format!(
                r#"<span class="tg-button" title="{}">{}</span>"#,
                escape(&b.url),
                escape(&b.label)
            ));
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}

/// The text with its entities as nested tags. Entities that overlap without nesting are
/// closed early rather than producing broken HTML.
pub fn to_html(text: &str, entities: &[Entity]) -> String {
    let mut sorted: Vec<&Entity> = entities.iter().filter(|e| e.length > 0).collect();
    sorted.sort_by_key(|e| (e.offset, -e.length));
    let mut out = String::with_capacity(text.len() * 2);
    let mut open: Vec<&Entity> = Vec::new();
    let mut next = 0;
    let mut pos: i32 = 0;
    for ch in text.chars() {
        boundary(pos, &mut out, &mut open, &sorted, &mut next);
        out.push_str(&escape(ch.encode_utf8(&mut [0; 4])));
        pos += ch.len_utf16() as i32;
    }
    boundary(pos, &mut out, &mut open, &sorted, &mut next);
    while let Some(e) = open.pop() {
        out.push_str(close_tag(e));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: &'static str, offset: i32, length: i32, url: Option<&str>) -> Entity {
        Entity {
            kind,
            offset,
            length,
            url: url.map(str::to_string),
            language: None,
        }
    }

    #[test]
    fn entities_become_tags_and_text_is_escaped() {
        let html = to_html(
            "Çiçek <b> indirim",
            &[e("bold", 0, 5, None), e("italic", 10, 7, None)],
        );
        assert_eq!(html, "<b>Çiçek</b> &lt;b&gt; <i>indirim</i>");
    }

    #[test]
    fn offsets_count_utf16_units() {
        // The emoji is two UTF-16 units.
        let html = to_html("🌷 lale", &[e("bold", 3, 4, None)]);
        assert_eq!(html, "🌷 <b>lale</b>");
    }

    #[test]
    fn nested_entities_and_links() {
        let html = to_html(
            "site burada",
            &[
                e("text_url", 0, 11, Some("https://ornek.com/?a=1&b=2")),
                e("bold", 5, 6, None),
            ],
        );
        assert_eq!(
            html,
            r#"<a href="https://ornek.com/?a=1&amp;b=2" rel="noopener nofollow">site <b>burada</b></a>"#
        );
        let bad = to_html("x", &[e("text_url", 0, 1, Some("javascript:alert(1)"))]);
        assert_eq!(bad, "<a>x</a>");
    }
}
