//! Filling a rule's reply for one event. The supervisor renders the template (tenant
//! variables, date) and leaves a marker where the event's values go; the worker puts them
//! in, escaped for the reply's markup so a member's name cannot add formatting.

use crate::worker::telegram::{Markup, UserRef};

/// Markers the supervisor writes for the per-event placeholders (private-use characters:
/// no escaping touches them and no template can type them, the store refuses them).
pub const FIRST_NAME: char = '\u{E000}';
pub const MENTION: char = '\u{E001}';
pub const GROUP_TITLE: char = '\u{E002}';
pub const COUNT: char = '\u{E003}';
pub const LIMIT: char = '\u{E004}';

/// What a reply's markers stand for.
#[derive(Default)]
pub struct Values<'a> {
    pub users: &'a [UserRef],
    pub group_title: &'a str,
    pub count: u32,
    pub limit: u32,
}

pub fn escape_html(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn escape_markdown(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if "\\`*_[]()#+-.!<>~|{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn escape(markup: Markup, v: &str) -> String {
    match markup {
        Markup::Html => escape_html(v),
        Markup::Markdown => escape_markdown(v),
        Markup::Plain => v.to_string(),
    }
}

/// A user's name as shown: the first name, else the username, else a number.
pub fn name_of(u: &UserRef) -> String {
    if !u.first_name.trim().is_empty() {
        u.first_name.trim().to_string()
    } else if let Some(n) = &u.username {
        n.clone()
    } else {
        u.id.to_string()
    }
}

/// A link to the user that notifies them, in the reply's markup.
fn mention(markup: Markup, u: &UserRef) -> String {
    let name = name_of(u);
    match markup {
        Markup::Html => format!(
            "<a href=\"tg://user?id={}\">{}</a>",
            u.id,
            escape_html(&name)
        ),
        Markup::Markdown => format!("[{}](tg://user?id={})", escape_markdown(&name), u.id),
        Markup::Plain => name,
    }
}

/// `text` with its markers replaced.
pub fn fill(text: &str, markup: Markup, v: &Values<'_>) -> String {
    if !text.contains([FIRST_NAME, MENTION, GROUP_TITLE, COUNT, LIMIT]) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 32);
    for c in text.chars() {
        match c {
            FIRST_NAME => {
                let names: Vec<String> = v.users.iter().map(name_of).collect();
                out.push_str(&escape(markup, &names.join(", ")));
            }
            MENTION => {
                let links: Vec<String> = v.users.iter().map(|u| mention(markup, u)).collect();
                out.push_str(&links.join(", "));
            }
            GROUP_TITLE => out.push_str(&escape(markup, v.group_title)),
            COUNT => out.push_str(&v.count.to_string()),
            LIMIT => out.push_str(&v.limit.to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, name: &str) -> UserRef {
        UserRef {
            id,
            first_name: name.into(),
            last_name: None,
            username: None,
        }
    }

    #[test]
    fn markers_are_filled_and_escaped() {
        let users = [user(7, "Ayşe_<b>"), user(8, "Şule")];
        let v = Values {
            users: &users,
            group_title: "Moda *Sahil*",
            count: 2,
            limit: 3,
        };
        let t = format!("Hoş geldin {MENTION} ({FIRST_NAME}) — {GROUP_TITLE} {COUNT}/{LIMIT}");
        assert_eq!(
            fill(&t, Markup::Html, &v),
            "Hoş geldin <a href=\"tg://user?id=7\">Ayşe_&lt;b&gt;</a>, <a href=\"tg://user?id=8\">Şule</a> (Ayşe_&lt;b&gt;, Şule) — Moda *Sahil* 2/3"
        );
        assert_eq!(
            fill(&t, Markup::Markdown, &v),
            "Hoş geldin [Ayşe\\_\\<b\\>](tg://user?id=7), [Şule](tg://user?id=8) (Ayşe\\_\\<b\\>, Şule) — Moda \\*Sahil\\* 2/3"
        );
        assert_eq!(fill("no markers", Markup::Html, &v), "no markers");
    }
}
