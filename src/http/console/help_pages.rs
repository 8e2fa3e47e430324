//! The help at `/help/{lang}/…`: the guides and references of [`crate::help`], in one
//! layout branded like the console, with a search; open to everyone (a prospect reads it
//! before signing up). Also where each console and Mini-App screen's help link points
//! ([`section_for`]).

use std::sync::OnceLock;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render;
use super::session::{self, Chrome};
use crate::help::{Library, Part, search};
use crate::i18n::Language;
use crate::state::Shared;

/// Rendered on first use, not at start: the server is ready sooner, and most never read it.
pub fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        Library::build(&|kind, lang| {
            crate::i18n::console::text(lang, super::admin_pages::alert_title_key(kind))
        })
    })
}

/// The help section for a console or Mini-App page (`page` or `page#id`), by its path.
pub fn section_for(path: &str, admin: bool) -> &'static str {
    let rest = path
        .strip_prefix(session::CONSOLE)
        .or_else(|| path.strip_prefix(session::APP))
        .unwrap_or(path);
    let mut parts = rest.trim_start_matches('/').split('/');
    let first = parts.next().unwrap_or("");
    if first == "tenants"
        && let Some(_id) = parts.next().filter(|p| !p.is_empty())
    {
        let what = parts.next().unwrap_or("");
        let more = parts.next();
        return match what {
            "" | "reports" => "statistics#dashboard",
            "sessions" | "logs" => "sessions",
            "logins" => "sessions#qr",
            "groups" => "groups",
            "templates" => "templates",
            "rules" => "rules",
            "media" => "templates#media",
            "campaigns" => match more {
                None => "campaigns",
                Some(_) if path.contains("/runs") => "campaigns#runs",
                Some(_) => "campaigns#schedule",
            },
            "members" | "invitations" => "account#members",
            "api-keys" => "account#api-keys",
            "settings" => "account#settings",
            "subscription" | "invoices" | "payments" | "billing-profile" => "billing",
            "more" => "index#console-and-app",
            "support" => "index#support",
            "feedback" => "index#feedback",
            _ if admin => "reseller#moving-tenants",
            _ => "index",
        };
    }
    match first {
        "account" => "account#password",
        "home" | "" if !admin => "index",
        "launch" => "reseller#launch",
        "signups" => "reseller#signups",
        "support" => "reseller#support",
        "tenants" => "reseller#moving-tenants",
        "workers" | "logs" | "audit" => "reseller#monitoring",
        "plans" => "reseller#plans",
        "billing" => "reseller#prices",
        "appliance" => "reseller#branding",
        "mail" | "marketing" => "reseller#mail",
        "backups" => "reseller#backups",
        "help" => "index",
        _ if admin => "reseller",
        _ => "index",
    }
}

fn lang_of(code: &str) -> Option<Language> {
    match code {
        "en" => Some(Language::En),
        "tr" => Some(Language::Tr),
        _ => None,
    }
}

struct NavItem {
    href: String,
    title: String,
    current: bool,
}

struct NavGroup {
    title: &'static str,
    items: Vec<NavItem>,
}

struct Hit {
    href: String,
    title: String,
    page: String,
    snippet: String,
}

#[derive(Template)]
#[template(path = "help/page.html")]
struct HelpPage {
    c: Chrome,
    title: String,
    body: String,
    contents: Vec<(String, String)>,
    english_only: bool,
    nav: Vec<NavGroup>,
    other_href: String,
    other_name: &'static str,
    query: String,
    hits: Option<Vec<Hit>>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page's frame: the navigation of `lang`'s pages with `current` marked.
fn frame(st: &Shared, lang: Language, current: &str, path_in_other: &str) -> HelpPage {
    let c = Chrome::anonymous(st, lang, String::new());
    let brand = c.product.clone();
    let lib = library();
    let lc = c.t.code();
    let group = |part: Part, key: &'static str| NavGroup {
        title: c.t.s(key),
        items: lib
            .pages(lang)
            .iter()
            .filter(|p| p.part == part)
            .map(|p| NavItem {
                href: format!("/help/{lc}/{}", p.slug),
                title: Library::branded(&p.title, &brand),
                current: p.slug == current,
            })
            .collect(),
    };
    let nav = vec![
        group(Part::Tenant, "guide.part_tenant"),
        group(Part::Reseller, "guide.part_reseller"),
        group(Part::Reference, "guide.part_reference"),
    ];
    let (other_code, other_name) = match lang {
        Language::En => ("tr", "Türkçe"),
        Language::Tr => ("en", "English"),
    };
    HelpPage {
        nav,
        other_href: format!("/help/{other_code}/{path_in_other}"),
        other_name,
        title: String::new(),
        body: String::new(),
        contents: Vec::new(),
        english_only: false,
        query: String::new(),
        hits: None,
        c,
    }
}

/// `/help`: the guide in the reader's language.
pub async fn start(headers: HeaderMap) -> Redirect {
    let lang = session::browser_language(&headers);
    Redirect::to(match lang {
        Language::Tr => "/help/tr/",
        Language::En => "/help/en/",
    })
}

pub async fn index(State(st): State<Shared>, Path(lang): Path<String>) -> Response {
    show_page(&st, &lang, "index")
}

pub async fn page(
    State(st): State<Shared>,
    Path((lang, slug)): Path<(String, String)>,
) -> Response {
    show_page(&st, &lang, &slug)
}

fn show_page(st: &Shared, lang: &str, slug: &str) -> Response {
    let Some(lang) = lang_of(lang) else {
        return not_found(st, Language::En);
    };
    let Some(p) = library().page(lang, slug) else {
        return not_found(st, lang);
    };
    let mut f = frame(st, lang, slug, slug);
    let brand = escape(&f.c.product);
    f.title = Library::branded(&p.title, &f.c.product);
    f.body = Library::branded(&p.html, &brand);
    f.contents = p
        .contents()
        .map(|s| (s.id.clone(), Library::branded(&s.title, &f.c.product)))
        .collect();
    f.english_only = p.english_only && lang == Language::Tr;
    render(&f)
}

fn not_found(st: &Shared, lang: Language) -> Response {
    let mut f = frame(st, lang, "", "");
    f.title = f.c.t.s("guide.not_found_title").to_string();
    f.body = format!("<p>{}</p>", escape(f.c.t.s("guide.not_found")));
    (StatusCode::NOT_FOUND, render(&f)).into_response()
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search_page(
    State(st): State<Shared>,
    Path(lang): Path<String>,
    Query(q): Query<SearchQuery>,
) -> Response {
    let Some(lang) = lang_of(&lang) else {
        return not_found(&st, Language::En);
    };
    let query: String = q.q.chars().take(search::QUERY_MAX_CHARS).collect();
    let encoded: String = url_encode(&query);
    let mut f = frame(&st, lang, "", &format!("search?q={encoded}"));
    let brand = f.c.product.clone();
    let lc = f.c.t.code();
    f.title = f.c.t.s("guide.results").to_string();
    f.hits = Some(
        library()
            .search(lang, &query)
            .into_iter()
            .map(|h| Hit {
                href: if h.id.is_empty() {
                    format!("/help/{lc}/{}", h.page)
                } else {
                    format!("/help/{lc}/{}#{}", h.page, h.id)
                },
                title: Library::branded(&h.title, &brand),
                page: Library::branded(&h.page_title, &brand),
                snippet: Library::branded(&h.snippet, &brand),
            })
            .collect(),
    );
    f.query = query;
    render(&f)
}

/// Percent-encodes a query's value for a link.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A screenshot of a language's guide.
pub async fn shot(Path((lang, file)): Path<(String, String)>) -> Response {
    if lang_of(&lang).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    asset(&format!("shots/{lang}/{file}"))
}

/// A tutorial video, or its captions.
pub async fn video(Path(file): Path<String>) -> Response {
    asset(&format!("videos/{file}"))
}

fn asset(path: &str) -> Response {
    let kind = match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("webp") => "image/webp",
        Some("png") => "image/png",
        Some("webm") => "video/webm",
        Some("vtt") => "text/vtt; charset=utf-8",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match library().asset(path) {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_links_to_a_place_the_help_has() {
        let lib = library();
        let paths = [
            "/console",
            "/console/account",
            "/console/launch",
            "/console/tenants",
            "/console/workers",
            "/console/logs",
            "/console/audit",
            "/console/plans",
            "/console/billing",
            "/console/appliance",
            "/console/mail",
            "/console/marketing",
            "/console/backups",
            "/console/tenants/7",
            "/console/tenants/7/sessions",
            "/console/tenants/7/logs",
            "/console/tenants/7/logins/3",
            "/console/tenants/7/groups",
            "/console/tenants/7/templates",
            "/console/tenants/7/templates/2",
            "/console/tenants/7/media",
            "/console/tenants/7/campaigns",
            "/console/tenants/7/campaigns/4",
            "/console/tenants/7/campaigns/4/runs/9",
            "/console/tenants/7/members",
            "/console/tenants/7/api-keys",
            "/console/tenants/7/settings",
            "/console/tenants/7/subscription",
            "/app/home",
            "/app/help",
            "/app/tenants/7/more",
        ];
        for path in paths {
            for admin in [false, true] {
                let to = section_for(path, admin);
                assert!(lib.has(to), "{path} (admin {admin}) → {to}: no such place");
            }
        }
        assert_eq!(
            section_for("/console/tenants/7/campaigns/4", false),
            "campaigns#schedule"
        );
        assert_eq!(section_for("/console", true), "reseller");
        assert_eq!(section_for("/console", false), "index");
    }

    #[test]
    fn a_query_is_encoded_for_its_link() {
        assert_eq!(url_encode("şablon #1&x"), "%C5%9Fablon%20%231%26x");
    }
}
