//! `{name}` placeholders in template bodies: the built-in ones and the tenant's own. `{{` and
//! `}}` write a literal brace. An unknown name is refused when the template is saved.

use std::collections::HashMap;

use super::markup::MarkupError;

/// Filled from the target group and the tenant at send time; the `user.` ones by group
/// rules from the member they answer or greet (empty in campaign posts).
pub const BUILT_IN: &[&str] = &[
    "group.title",
    "group.members",
    "date",
    "time",
    "tenant.name",
    "user.first_name",
    "user.mention",
];

/// Most custom variables per tenant, and their sizes.
pub const MAX_CUSTOM: usize = 50;
pub const MAX_NAME: usize = 32;
pub const MAX_VALUE: usize = 1_000;

/// A custom variable's name: lower-case ASCII letters, digits and `_`, starting with a letter.
pub fn valid_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

/// A piece of a body: literal text or a placeholder.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Var(&'a str, usize),
}

fn pieces(body: &str) -> Result<Vec<Piece<'_>>, MarkupError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = body.char_indices().peekable();
    let pos = |byte: usize| body[..byte].chars().count();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' | '}' if chars.peek().map(|p| p.1) == Some(c) => {
                out.push(Piece::Text(&body[start..i]));
                out.push(Piece::Brace(c));
                chars.next();
                start = i + 2;
            }
            '{' => {
                let Some(end) = body[i..].find('}').map(|e| i + e) else {
                    return Err(MarkupError {
                        position: pos(i),
                        message: "'{' opens a variable that is never closed (write {{ for a brace)"
                            .into(),
                    });
                };
                out.push(Piece::Text(&body[start..i]));
                out.push(Piece::Var(body[i + 1..end].trim(), pos(i)));
                while chars.peek().is_some_and(|p| p.0 <= end) {
                    chars.next();
                }
                start = end + 1;
            }
            '}' => {
                return Err(MarkupError {
                    position: pos(i),
                    message: "'}' closes nothing (write }} for a brace)".into(),
                });
            }
            _ => {}
        }
    }
    out.push(Piece::Text(&body[start..]));
    Ok(out)
}

/// Checks every placeholder names a built-in or one of `custom`.
pub fn check(body: &str, custom: &[(String, String)]) -> Result<(), MarkupError> {
    for p in pieces(body)? {
        if let Piece::Var(name, at) = p
            && !BUILT_IN.contains(&name)
            && !custom.iter().any(|(n, _)| n == name)
        {
            return Err(MarkupError {
                position: at,
                message: format!(
                    "{{{name}}} is not a variable (built in: {}; or define it under variables)",
                    BUILT_IN.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Replaces placeholders with their values, escaped for the body's markup so a value cannot
/// add formatting. An unknown name (a variable deleted since) renders as empty.
pub fn render(
    body: &str,
    values: &HashMap<&str, String>,
    escape: impl Fn(&str) -> String,
) -> Result<String, MarkupError> {
    let mut out = String::with_capacity(body.len());
    for p in pieces(body)? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Brace(c) => out.push(c),
            Piece::Var(name, _) => {
                if let Some(v) = values.get(name) {
                    out.push_str(&escape(v));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked_and_rendered() {
        let custom = vec![("telefon".to_string(), "0212 555 00 00".to_string())];
        assert!(check("Merhaba {group.title}! {{kampanya}} {telefon}", &custom).is_ok());
        let e = check("Hey {grup.adi}", &custom).unwrap_err();
        assert_eq!(e.position, 4);
        assert_eq!(check("a { b", &custom).unwrap_err().position, 2);
        assert_eq!(check("a } b", &custom).unwrap_err().position, 2);
        let values: HashMap<&str, String> = [("group.title", "Moda <Sahil>".to_string())].into();
        let r = render("{{x}} {group.title} {gone}", &values, |v| {
            v.replace('<', "&lt;")
        });
        assert_eq!(r.unwrap(), "{x} Moda &lt;Sahil> ");
        assert!(valid_name("kargo_ucreti2"));
        assert!(!valid_name("Kargo") && !valid_name("2x") && !valid_name("kargo.ucreti"));
    }
}
