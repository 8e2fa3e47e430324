//! A legacy template's text as HTML, so it looks in botyard as it did: Telegram's Markdown
//! (and MarkdownV2) converted, plain text escaped.

/// Plain text, safe inside HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Telegram's Markdown as HTML: `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ````,
/// `[text](url)`; with `v2` also `__underline__`, `~strike~`, `||spoiler||`, and a backslash
/// escapes any character. Markup left open, or closed out of order, is an error.
pub fn markdown_to_html(s: &str, v2: bool) -> Result<String, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 16);
    let mut open: Vec<&'static str> = Vec::new();
    let mut i = 0;
    let at = |i: usize, pat: &str| {
        pat.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            out.push_str(&escape(&chars[i + 1].to_string()));
            i += 2;
            continue;
        }
        if at(i, "```") {
            let rest: String = chars[i + 3..].iter().collect();
            let end = rest.find("```").ok_or("a ``` block is not closed")?;
            let mut body = &rest[..end];
            // A language name on the opening line is not part of the text.
            if let Some((first, tail)) = body.split_once('\n')
                && !first.contains(' ')
            {
                body = tail;
            }
            out.push_str(&format!("<pre>{}</pre>", escape(body)));
            i += 3 + rest[..end].chars().count() + 3;
            continue;
        }
        if c == '`' {
            let rest: String = chars[i + 1..].iter().collect();
            let end = rest.find('`').ok_or("a ` is not closed")?;
            out.push_str(&format!("<code>{}</code>", escape(&rest[..end])));
            i += 1 + rest[..end].chars().count() + 1;
            continue;
        }
        if c == '[' {
            let rest: String = chars[i + 1..].iter().collect();
            if let Some(mid) = rest.find("](")
                && let Some(close) = rest[mid + 2..].find(')')
            {
                let text = &rest[..mid];
                let url = &rest[mid + 2..mid + 2 + close];
                out.push_str(&format!("<a href=\"{}\">{}</a>", escape(url), escape(text)));
                i += 1 + rest[..mid + 2 + close + 1].chars().count();
                continue;
            }
        }
        let (tag, width) = if v2 && at(i, "__") {
            (Some("u"), 2)
        } else if v2 && at(i, "||") {
            (Some("tg-spoiler"), 2)
        } else {
            match c {
                '*' => (Some("b"), 1),
                '_' => (Some("i"), 1),
                '~' if v2 => (Some("s"), 1),
                _ => (None, 1),
            }
        };
        match tag {
            Some(t) => {
                if open.last() == Some(&t) {
                    open.pop();
                    out.push_str(&format!("</{t}>"));
                } else if open.contains(&t) {
                    return Err(format!("the markup closes <{t}> out of order"));
                } else {
                    open.push(t);
                    out.push_str(&format!("<{t}>"));
                }
                i += width;
            }
            None => {
                out.push_str(&escape(&c.to_string()));
                i += 1;
            }
        }
    }
    match open.last() {
        Some(t) => Err(format!("the markup leaves <{t}> open")),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_markdown_becomes_the_same_html() {
        assert_eq!(
            markdown_to_html("*Hafta sonu* indirimi: _tüm_ kahveler %20 & `kod`", false).unwrap(),
            "<b>Hafta sonu</b> indirimi: <i>tüm</i> kahveler %20 &amp; <code>kod</code>"
        );
        assert_eq!(
            markdown_to_html("[Menü](https://ornek.test/?a=1&b=2) 3 < 4", false).unwrap(),
            "<a href=\"https://ornek.test/?a=1&amp;b=2\">Menü</a> 3 &lt; 4"
        );
        assert_eq!(
            markdown_to_html("__alt__ ~üstü~ ||gizli|| \\*yıldız\\*", true).unwrap(),
            "<u>alt</u> <s>üstü</s> <tg-spoiler>gizli</tg-spoiler> *yıldız*"
        );
        assert_eq!(
            markdown_to_html("```rust\nlet x = 1 < 2;```", true).unwrap(),
            "<pre>let x = 1 &lt; 2;</pre>"
        );
        assert!(markdown_to_html("*açık kaldı", false).is_err());
        assert!(markdown_to_html("*_çapraz*_", false).is_err());
        assert!(markdown_to_html("`kapanmadı", false).is_err());
        assert_eq!(escape("<b>\"ş\"</b>"), "&lt;b&gt;&quot;ş&quot;&lt;/b&gt;");
    }
}
