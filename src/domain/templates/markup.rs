//! Checks a template body the way Telegram will render it, so a mistake is refused at save
//! time with its position rather than posted as broken text. Positions are character offsets
//! from 0.

use super::TemplateFormat;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct MarkupError {
    pub position: usize,
    pub message: String,
}

fn err(position: usize, message: impl Into<String>) -> MarkupError {
    MarkupError {
        position,
        message: message.into(),
    }
}

/// Tags Telegram's HTML style understands.
const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

pub fn validate(body: &str, format: TemplateFormat) -> Result<(), MarkupError> {
    match format {
        TemplateFormat::Markdown => markdown(body),
        TemplateFormat::Html => html(body),
    }
}

fn html(body: &str) -> Result<(), MarkupError> {
    let chars: Vec<char> = body.chars().collect();
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '<' => {
                let start = i;
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == '>')
                    .map(|p| i + p)
                    .ok_or_else(|| err(start, "a tag is not closed with '>'"))?;
                let inner: String = chars[i + 1..end].iter().collect();
                let closing = inner.starts_with('/');
                let inner = inner.trim_start_matches('/').trim();
                let name: String = inner
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect::<String>()
                    .to_ascii_lowercase();
                if !HTML_TAGS.contains(&name.as_str()) {
                    return Err(err(
                        start,
                        format!(
                            "<{name}> is not a tag Telegram knows (use b, i, u, s, a, code, pre, blockquote, tg-spoiler)"
                        ),
                    ));
                }
                if closing {
                    match open.pop() {
                        Some((o, _)) if o == name => {}
                        Some((o, at)) => {
                            return Err(err(
                                start,
                                format!("</{name}> closes <{o}> opened at character {at}"),
                            ));
                        }
                        None => return Err(err(start, format!("</{name}> closes nothing"))),
                    }
                } else {
                    let attrs = inner[name.len()..].trim();
                    if name == "a" && !attrs.to_ascii_lowercase().starts_with("href=") {
                        return Err(err(start, "a link needs href=\"…\""));
                    }
                    if attrs.matches('"').count() % 2 == 1 {
                        return Err(err(start, "an attribute's quote is not closed"));
                    }
                    open.push((name, start));
                }
                i = end + 1;
            }
            '>' => return Err(err(i, "a bare '>' must be written &gt;")),
            '&' => {
                let end = chars[i..]
                    .iter()
                    .take(12)
                    .position(|c| *c == ';')
                    .map(|p| i + p)
                    .ok_or_else(|| err(i, "a bare '&' must be written &amp;"))?;
                let name: String = chars[i + 1..end].iter().collect();
                let known = matches!(name.as_str(), "lt" | "gt" | "amp" | "quot")
                    || name
                        .strip_prefix("#x")
                        .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
                    || name
                        .strip_prefix('#')
                        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
                if !known {
                    return Err(err(i, format!("&{name}; is not an entity Telegram knows")));
                }
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    match open.pop() {
        Some((name, at)) => Err(err(at, format!("<{name}> is never closed"))),
        None => Ok(()),
    }
}

/// Markdown as the sender renders it (CommonMark): `**bold**` or `__bold__`, `*italic*` or
/// `_italic_`, `` `code` ``, ```` ```pre``` ````, `[text](url)`. A marker left open would be
/// posted as a literal; `_` inside a word (snake_case) and `* ` list bullets are text.
fn markdown(body: &str) -> Result<(), MarkupError> {
    let chars: Vec<char> = body.chars().collect();
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut i = 0;
    let at = |i: usize, s: &str| {
        chars[i..]
            .iter()
            .take(s.chars().count())
            .copied()
            .eq(s.chars())
    };
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if at(i, "```") {
            let rest: String = chars[i + 3..].iter().collect();
            match rest.find("```") {
                Some(p) => {
                    i += 3 + rest[..p].chars().count() + 3;
                    continue;
                }
                None => return Err(err(i, "a ``` block is never closed")),
            }
        }
        if chars[i] == '`' {
            match chars[i + 1..].iter().position(|c| *c == '`') {
                Some(p) => {
                    i += p + 2;
                    continue;
                }
                None => return Err(err(i, "inline code (`) is never closed")),
            }
        }
        if chars[i] == '[' {
            let close = chars[i..].iter().position(|c| *c == ']').map(|p| i + p);
            if let Some(c) = close
                && chars.get(c + 1) == Some(&'(')
            {
                match chars[c + 1..].iter().position(|ch| *ch == ')') {
                    Some(_) => {}
                    None => return Err(err(c + 1, "a link's (url) is never closed")),
                }
            }
        }
        let marker = ["**", "__", "*", "_"].into_iter().find(|m| at(i, m));
        if let Some(m) = marker {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + m.len()).copied();
            let closes = matches!(open.last(), Some((o, _)) if *o == m)
                && prev.is_some_and(|c| !c.is_whitespace());
            let opens = next.is_some_and(|c| !c.is_whitespace())
                && !(m.starts_with('_') && prev.is_some_and(char::is_alphanumeric));
            if closes {
                open.pop();
            } else if opens {
                open.push((m, i));
            }
            i += m.len();
            continue;
        }
        i += 1;
    }
    match open.first() {
        Some((m, at)) => Err(err(*at, format!("{m} is opened here and never closed"))),
        None => Ok(()),
    }
}

/// Characters Telegram counts toward its limits (UTF-16 code units of the visible text).
pub fn visible_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_errors_name_the_position() {
        assert!(html("<b>Merhaba</b> <a href=\"https://x.tr\">site</a> &amp; &#39;").is_ok());
        assert_eq!(html("<b>açık").unwrap_err().position, 0);
        assert_eq!(html("ab <x>y</x>").unwrap_err().position, 3);
        assert_eq!(html("<b><i>x</b></i>").unwrap_err().position, 7);
        assert_eq!(html("1 & 2").unwrap_err().position, 2);
        assert_eq!(html("<a>x</a>").unwrap_err().position, 0);
        assert_eq!(html("x <b").unwrap_err().position, 2);
    }

    #[test]
    fn markdown_errors_name_the_position() {
        assert!(markdown("**kalın** __eğik__ `kod` [site](https://x.tr) ```\nblok\n```").is_ok());
        assert!(markdown("snake\\_case and snake_case").is_ok());
        assert!(markdown("* madde\n* madde").is_ok());
        assert_eq!(markdown("ilk **kalın").unwrap_err().position, 4);
        assert_eq!(markdown("a `kod").unwrap_err().position, 2);
        assert_eq!(markdown("[a](https://x").unwrap_err().position, 3);
        assert_eq!(markdown("```x").unwrap_err().position, 0);
    }

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(visible_len("ığüşöç"), 6);
        assert_eq!(visible_len("👍"), 2);
    }
}
