//! One Markdown page to HTML: headings get ids (their own `{#id}`, or one made from their
//! words), links between pages become `/help/{lang}/…`, screenshots and videos are served
//! from the reader's language, and raw HTML is shown as text, never passed through.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Where a page's links point, for the link check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Another help page (or this one when `page` is empty), and a heading's id.
    Page {
        page: String,
        anchor: Option<String>,
    },
    /// A file under `help/` (a screenshot, a video or its captions).
    Asset(String),
}

/// A heading and the words under it, for search and the page's contents.
#[derive(Clone, Debug)]
pub struct Section {
    /// Empty for the words before the first heading.
    pub id: String,
    pub title: String,
    pub level: u8,
    pub text: String,
    /// `title` and `text` folded for search ([`super::search::fold`]), once.
    pub folded_title: String,
    pub folded_text: String,
}

pub struct Rendered {
    pub title: String,
    pub html: String,
    pub sections: Vec<Section>,
    pub targets: Vec<Target>,
}

/// How links out of a page are read.
pub struct Links<'a> {
    pub lang: &'a str,
    /// Markdown files outside `help/` that are published under another name (`OPERATIONS.md`
    /// → `operations`); a link to any other `.md` keeps its words and loses the link.
    pub published: &'a [(&'a str, &'a str)],
}

pub fn render(markdown: &str, links: &Links) -> Rendered {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut events: Vec<Event> = Parser::new_ext(markdown, options).collect();
    name_headings(&mut events);

    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut title = String::new();
    let mut sections = vec![Section {
        id: String::new(),
        title: String::new(),
        level: 1,
        text: String::new(),
        folded_title: String::new(),
        folded_text: String::new(),
    }];
    let mut targets = Vec::new();
    let mut in_title = false;
    let mut in_heading = false;
    let mut dropped_link = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let ev = std::mem::replace(&mut events[i], Event::SoftBreak);
        i += 1;
        match ev {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) if title.is_empty() => in_title = true,
            Event::End(TagEnd::Heading(HeadingLevel::H1)) if in_title => in_title = false,
            _ if in_title => {
                if let Event::Text(t) | Event::Code(t) = &ev {
                    title.push_str(t);
                }
            }
            Event::Start(Tag::Heading { level, ref id, .. }) => {
                in_heading = true;
                sections.push(Section {
                    id: id.as_deref().unwrap_or("").to_string(),
                    title: String::new(),
                    level: level as u8,
                    text: String::new(),
                    folded_title: String::new(),
                    folded_text: String::new(),
                });
                out.push(ev);
            }
            Event::End(TagEnd::Heading(_)) => {
                in_heading = false;
                out.push(ev);
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                add_text(&mut sections, in_heading, &h);
                out.push(Event::Text(h));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title: link_title,
                id,
            }) => match link_to(&dest_url, links) {
                Some((href, target)) => {
                    if let Some(t) = target {
                        targets.push(t);
                    }
                    dropped_link.push(false);
                    out.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url: href.into(),
                        title: link_title,
                        id,
                    }));
                }
                None => dropped_link.push(true),
            },
            Event::End(TagEnd::Link) => {
                if !dropped_link.pop().unwrap_or(false) {
                    out.push(ev);
                }
            }
            Event::Start(Tag::Image {
                dest_url,
                title: image_title,
                id,
                link_type,
            }) => {
                // The alternative text is the image's events up to its end.
                let mut alt = String::new();
                while i < events.len() {
                    let e = std::mem::replace(&mut events[i], Event::SoftBreak);
                    i += 1;
                    match e {
                        Event::End(TagEnd::Image) => break,
                        Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                        _ => {}
                    }
                }
                let (src, asset) = asset_url(&dest_url, links.lang);
                if let Some(a) = asset {
                    targets.push(a);
                }
                if dest_url.ends_with(".webm") {
                    targets.push(Target::Asset(captions_of(&dest_url, links.lang)));
                    out.push(Event::Html(video(&src, &alt, links.lang).into()));
                } else {
                    out.push(Event::Start(Tag::Image {
                        link_type,
                        dest_url: src.into(),
                        title: image_title,
                        id,
                    }));
                    out.push(Event::Text(alt.into()));
                    out.push(Event::End(TagEnd::Image));
                }
            }
            // Wide tables scroll on their own on a phone rather than widening the page.
            Event::Start(Tag::Table(_)) => {
                out.push(Event::Html("<div class=\"table-wrap\">".into()));
                out.push(ev);
            }
            Event::End(TagEnd::Table) => {
                out.push(ev);
                out.push(Event::Html("</div>".into()));
            }
            Event::Text(ref t) | Event::Code(ref t) => {
                add_text(&mut sections, in_heading, t);
                out.push(ev);
            }
            Event::SoftBreak | Event::HardBreak => {
                add_text(&mut sections, in_heading, " ");
                out.push(ev);
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell) => {
                add_text(&mut sections, in_heading, " ");
                out.push(ev);
            }
            other => out.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    for s in &mut sections {
        s.text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
        s.title = s.title.trim().to_string();
        s.folded_title = super::search::fold(&s.title);
        s.folded_text = super::search::fold(&s.text);
    }
    Rendered {
        title: title.trim().to_string(),
        html,
        sections,
        targets,
    }
}

fn add_text(sections: &mut [Section], in_heading: bool, t: &str) {
    if let Some(s) = sections.last_mut() {
        if in_heading {
            s.title.push_str(t);
        } else {
            s.text.push_str(t);
        }
    }
}

/// Gives every heading below the title an id: its own, or one made from its words (with
/// `-2`, `-3` … when the words repeat an earlier heading's).
fn name_headings(events: &mut [Event]) {
    let mut used: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Start(Tag::Heading { id: Some(id), .. }) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading {
            level, id: None, ..
        }) = &events[i]
            && *level != HeadingLevel::H1
        {
            let mut words = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => words.push_str(t),
                    _ => {}
                }
            }
            let base = slug(&words);
            let mut made = base.clone();
            let mut n = 1;
            while used.contains(&made) {
                n += 1;
                made = format!("{base}-{n}");
            }
            used.insert(made.clone());
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(made.into());
            }
        }
        i += 1;
    }
}

/// An id from a heading's words: lowercase letters and digits, the rest one hyphen.
pub fn slug(words: &str) -> String {
    let mut out = String::with_capacity(words.len());
    for c in words.chars() {
        let c = crate::help::search::fold_char(c);
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A link's new address and what it points at; `None` drops the link and keeps its words.
fn link_to(dest: &str, links: &Links) -> Option<(String, Option<Target>)> {
    if dest.starts_with("https://") || dest.starts_with("http://") || dest.starts_with("mailto:") {
        return Some((dest.to_string(), None));
    }
    if dest.starts_with('/') {
        // The appliance's own pages (`/console`, `/api/docs`): nothing to rewrite.
        return Some((dest.to_string(), None));
    }
    if let Some(anchor) = dest.strip_prefix('#') {
        return Some((
            dest.to_string(),
            Some(Target::Page {
                page: String::new(),
                anchor: Some(anchor.to_string()),
            }),
        ));
    }
    let (file, anchor) = match dest.split_once('#') {
        Some((f, a)) => (f, Some(a)),
        None => (dest, None),
    };
    let file = file.trim_start_matches("./");
    let (lang, page) = match links.published.iter().find(|(f, _)| *f == file) {
        Some((_, to)) => match to.split_once('/') {
            Some((lang, page)) => (lang, page),
            None => (links.lang, *to),
        },
        // Help pages are lowercase (`campaigns.md`); another `docs/` file (`SANDBOX.md`)
        // is not published, so its link goes.
        None => (
            links.lang,
            file.strip_suffix(".md")
                .filter(|p| !p.bytes().any(|b| b.is_ascii_uppercase()))?,
        ),
    };
    if page.is_empty() || page.contains('/') || page.contains('.') {
        return None;
    }
    let href = match anchor {
        Some(a) => format!("/help/{lang}/{page}#{a}"),
        None => format!("/help/{lang}/{page}"),
    };
    // Only links within the reader's language are checked here; the other language's
    // pages are checked when that language's pages are.
    let target = (lang == links.lang).then(|| Target::Page {
        page: page.to_string(),
        anchor: anchor.map(str::to_string),
    });
    Some((href, target))
}

/// `shots/x.webp` is served from the reader's language's folder; `videos/x.webm` is one
/// file for both, with captions per language.
fn asset_url(dest: &str, lang: &str) -> (String, Option<Target>) {
    if let Some(name) = dest.strip_prefix("shots/") {
        let path = format!("shots/{lang}/{name}");
        return (format!("/help/{path}"), Some(Target::Asset(path)));
    }
    if dest.starts_with("videos/") {
        return (
            format!("/help/{dest}"),
            Some(Target::Asset(dest.to_string())),
        );
    }
    (dest.to_string(), None)
}

/// The captions of a video, in the reader's language.
fn captions_of(video: &str, lang: &str) -> String {
    format!("{}.{lang}.vtt", video.trim_end_matches(".webm"))
}

fn video(src: &str, alt: &str, lang: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
    };
    let captions = captions_of(src, lang);
    format!(
        "<figure class=\"video\"><video controls preload=\"none\" src=\"{}\" aria-label=\"{}\">\
<track kind=\"captions\" srclang=\"{lang}\" src=\"{}\" default></video>\
<figcaption>{}</figcaption></figure>",
        esc(src),
        esc(alt),
        esc(&captions),
        esc(alt)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(lang: &str) -> Links<'_> {
        Links {
            lang,
            published: &[
                ("OPERATIONS.md", "operations"),
                ("INSTALL.tr.md", "tr/install"),
            ],
        }
    }

    #[test]
    fn headings_keep_their_ids_or_get_one_from_their_words() {
        let r = render(
            "# Kampanyalar\n\nGiriş.\n\n## Zamanlama {#schedule}\n\nHer gün.\n\n## Şablon İçeriği\n\nMetin.\n\n### `campaign.no_groups` {#campaign.no_groups}\n",
            &links("tr"),
        );
        assert_eq!(r.title, "Kampanyalar");
        assert!(
            !r.html.contains("<h1"),
            "the title is the layout's: {}",
            r.html
        );
        assert!(
            r.html.contains("<h2 id=\"schedule\">Zamanlama</h2>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("<h2 id=\"sablon-icerigi\">"), "{}", r.html);
        assert!(r.html.contains("id=\"campaign.no_groups\""), "{}", r.html);
        let ids: Vec<_> = r.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["", "schedule", "sablon-icerigi", "campaign.no_groups"]
        );
        assert_eq!(r.sections[1].title, "Zamanlama");
        assert_eq!(r.sections[1].text, "Her gün.");
        assert_eq!(r.sections[0].text, "Giriş.");
    }

    #[test]
    fn links_between_pages_are_rewritten_and_recorded() {
        let r = render(
            "# T\n\n[a](campaigns.md#cron) [b](#here) [c](OPERATIONS.md) [d](INSTALL.tr.md) \
             [e](PERFORMANCE.md) [f](https://t.me/BotFather) [g](/console)",
            &links("en"),
        );
        assert!(
            r.html.contains("href=\"/help/en/campaigns#cron\""),
            "{}",
            r.html
        );
        assert!(r.html.contains("href=\"#here\""));
        assert!(r.html.contains("href=\"/help/en/operations\""));
        assert!(r.html.contains("href=\"/help/tr/install\""));
        assert!(!r.html.contains("PERFORMANCE"), "{}", r.html);
        assert!(
            r.html.contains(" e "),
            "a dropped link keeps its words: {}",
            r.html
        );
        assert!(r.html.contains("href=\"https://t.me/BotFather\""));
        assert_eq!(
            r.targets,
            vec![
                Target::Page {
                    page: "campaigns".into(),
                    anchor: Some("cron".into())
                },
                Target::Page {
                    page: String::new(),
                    anchor: Some("here".into())
                },
                Target::Page {
                    page: "operations".into(),
                    anchor: None
                },
            ]
        );
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let r = render(
            "# T\n\n<script>alert(1)</script>\n\nA <img src=x onerror=alert(1)> b.\n",
            &links("en"),
        );
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("<img"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
    }

    #[test]
    fn screenshots_come_from_the_readers_language_and_videos_get_captions() {
        let r = render(
            "# T\n\n![The form](shots/campaign-form.webp)\n\n![First campaign](videos/first-campaign.webm)\n",
            &links("tr"),
        );
        assert!(
            r.html
                .contains("src=\"/help/shots/tr/campaign-form.webp\" alt=\"The form\""),
            "{}",
            r.html
        );
        assert!(r.html.contains("<video"), "{}", r.html);
        assert!(
            r.html
                .contains("src=\"/help/videos/first-campaign.tr.vtt\""),
            "{}",
            r.html
        );
        assert_eq!(
            r.targets,
            vec![
                Target::Asset("shots/tr/campaign-form.webp".into()),
                Target::Asset("videos/first-campaign.webm".into()),
                Target::Asset("videos/first-campaign.tr.vtt".into())
            ]
        );
    }

    #[test]
    fn tables_scroll_inside_their_own_box() {
        let r = render("# T\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n", &links("en"));
        assert!(
            r.html.contains("<div class=\"table-wrap\"><table>"),
            "{}",
            r.html
        );
    }
}
