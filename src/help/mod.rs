//! The in-product help at `/help`: the tenant's and the reseller's guides (Markdown in
//! `help/{en,tr}/`, compiled in by `build.rs`), the install, operations and API guides from
//! `docs/`, and the FAQ of every error code and alert ([`faq`]), rendered once into one
//! [`Library`] per process. [`Library::problems`] is the check a test runs: a page missing
//! in a language, headings that differ between the two, a link to a page, heading or file
//! that does not exist.

pub mod faq;
pub mod render;
pub mod search;

use std::collections::BTreeMap;

use crate::i18n::Language;
use render::{Links, Section, Target};

mod files {
    include!(concat!(env!("OUT_DIR"), "/help_files.rs"));
}

/// Which guide a page belongs to, for the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Tenant,
    Reseller,
    Reference,
}

/// The written guides, in their reading order: each is `help/{en,tr}/{slug}.md`.
pub const GUIDES: &[(&str, Part)] = &[
    ("index", Part::Tenant),
    ("sessions", Part::Tenant),
    ("groups", Part::Tenant),
    ("templates", Part::Tenant),
    ("campaigns", Part::Tenant),
    ("rules", Part::Tenant),
    ("statistics", Part::Tenant),
    ("billing", Part::Tenant),
    ("account", Part::Tenant),
    ("reseller", Part::Reseller),
];

const INSTALL_EN: &str = include_str!("../../docs/INSTALL.md");
const INSTALL_TR: &str = include_str!("../../docs/INSTALL.tr.md");
const OPERATIONS: &str = include_str!("../../docs/OPERATIONS.md");
const API: &str = include_str!("../../docs/API.md");

/// Files of `docs/` that are published here, and under which page.
const PUBLISHED: &[(&str, &str)] = &[
    ("INSTALL.md", "en/install"),
    ("INSTALL.tr.md", "tr/install"),
    ("OPERATIONS.md", "operations"),
    ("API.md", "api"),
];

pub struct Page {
    pub slug: &'static str,
    pub part: Part,
    /// May hold `{brand}`, as may `html` and the sections: see [`Library::branded`].
    pub title: String,
    pub html: String,
    pub sections: Vec<Section>,
    /// Shown in English to Turkish readers too (the operations and API references).
    pub english_only: bool,
    targets: Vec<Target>,
}

impl Page {
    /// The page's main headings, for its table of contents.
    pub fn contents(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(|s| s.level == 2)
    }
}

pub struct Library {
    en: Vec<Page>,
    tr: Vec<Page>,
    assets: BTreeMap<&'static str, &'static [u8]>,
    /// Guide files under `help/` that no entry of [`GUIDES`] names, and names without a file.
    strays: Vec<String>,
}

fn code(lang: Language) -> &'static str {
    match lang {
        Language::En => "en",
        Language::Tr => "tr",
    }
}

impl Library {
    /// Renders everything. `alert_title` names an alert kind in a language (the console's
    /// words, which the FAQ repeats).
    pub fn build(alert_title: &dyn Fn(&str, Language) -> &'static str) -> Library {
        let mut assets = BTreeMap::new();
        let mut sources = BTreeMap::new();
        for (name, bytes) in files::FILES {
            if let Some(md) = name.strip_suffix(".md") {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    sources.insert(md, text);
                }
            } else {
                assets.insert(*name, *bytes);
            }
        }
        let mut strays = Vec::new();
        for name in sources.keys() {
            let known = name.split_once('/').is_some_and(|(lang, slug)| {
                matches!(lang, "en" | "tr") && GUIDES.iter().any(|(g, _)| *g == slug)
            });
            if !known {
                strays.push(format!("help/{name}.md is not a page of help::GUIDES"));
            }
        }
        let mut lib = Library {
            en: Vec::new(),
            tr: Vec::new(),
            assets,
            strays,
        };
        for lang in [Language::En, Language::Tr] {
            let lc = code(lang);
            let links = Links {
                lang: lc,
                published: PUBLISHED,
            };
            let mut pages = Vec::new();
            for (slug, part) in GUIDES {
                match sources.get(format!("{lc}/{slug}").as_str()) {
                    Some(md) => pages.push(page(slug, *part, md, &links, false)),
                    None => lib.strays.push(format!("help/{lc}/{slug}.md is missing")),
                }
            }
            let install = if lang == Language::Tr {
                INSTALL_TR
            } else {
                INSTALL_EN
            };
            pages.push(page("install", Part::Reseller, install, &links, false));
            pages.push(page("operations", Part::Reseller, OPERATIONS, &links, true));
            let titles: BTreeMap<&str, String> =
                pages.iter().map(|p| (p.slug, p.title.clone())).collect();
            let faq = faq::markdown(lang, API, &|slug| titles.get(slug).cloned(), &|kind| {
                alert_title(kind, lang)
            });
            pages.push(page("errors", Part::Reference, &faq, &links, false));
            pages.push(page("api", Part::Reference, API, &links, true));
            match lang {
                Language::En => lib.en = pages,
                Language::Tr => lib.tr = pages,
            }
        }
        lib
    }

    pub fn pages(&self, lang: Language) -> &[Page] {
        match lang {
            Language::En => &self.en,
            Language::Tr => &self.tr,
        }
    }

    pub fn page(&self, lang: Language, slug: &str) -> Option<&Page> {
        self.pages(lang).iter().find(|p| p.slug == slug)
    }

    /// A screenshot, video or captions file, by its path under `help/`.
    pub fn asset(&self, path: &str) -> Option<&'static [u8]> {
        self.assets.get(path).copied()
    }

    pub fn search(&self, lang: Language, query: &str) -> Vec<search::Hit> {
        search::search(
            self.pages(lang)
                .iter()
                .map(|p| (p.slug, p.title.as_str(), p.sections.as_slice())),
            query,
        )
    }

    /// Whether `target` (`page` or `page#id`) is a place in both languages' help.
    pub fn has(&self, target: &str) -> bool {
        let (slug, anchor) = match target.split_once('#') {
            Some((s, a)) => (s, Some(a)),
            None => (target, None),
        };
        [Language::En, Language::Tr].into_iter().all(|lang| {
            self.page(lang, slug)
                .is_some_and(|p| anchor.is_none_or(|a| p.sections.iter().any(|s| s.id == a)))
        })
    }

    /// Everything wrong with the help as built, one line each; empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.strays.clone();
        for lang in [Language::En, Language::Tr] {
            let lc = code(lang);
            for p in self.pages(lang) {
                for t in &p.targets {
                    match t {
                        Target::Asset(path) if !self.assets.contains_key(path.as_str()) => {
                            out.push(format!("{lc}/{}: no file help/{path}", p.slug));
                        }
                        Target::Asset(_) => {}
                        Target::Page { page, anchor } => {
                            let slug = if page.is_empty() { p.slug } else { page };
                            let Some(to) = self.page(lang, slug) else {
                                out.push(format!("{lc}/{}: link to no page {slug:?}", p.slug));
                                continue;
                            };
                            if let Some(a) = anchor
                                && !to.sections.iter().any(|s| &s.id == a)
                            {
                                out.push(format!("{lc}/{}: link to no heading {slug}#{a}", p.slug));
                            }
                        }
                    }
                }
                if p.title.is_empty() {
                    out.push(format!("{lc}/{}: no `# title`", p.slug));
                }
                let mut seen = std::collections::BTreeSet::new();
                for s in p.sections.iter().filter(|s| !s.id.is_empty()) {
                    if !seen.insert(s.id.as_str()) {
                        out.push(format!("{lc}/{}: two headings with id {:?}", p.slug, s.id));
                    }
                }
            }
        }
        // A written guide says the same things in both languages: the same headings, in
        // the same order (the words differ; the ids are the translation's skeleton).
        for (slug, _) in GUIDES {
            let ids = |lang| {
                self.page(lang, slug)
                    .map(|p| p.sections.iter().map(|s| s.id.clone()).collect::<Vec<_>>())
            };
            if let (Some(en), Some(tr)) = (ids(Language::En), ids(Language::Tr))
                && en != tr
            {
                let only_en: Vec<_> = en.iter().filter(|i| !tr.contains(i)).collect();
                let only_tr: Vec<_> = tr.iter().filter(|i| !en.contains(i)).collect();
                out.push(format!(
                    "{slug}: headings differ between the languages (only in English: \
                     {only_en:?}; only in Turkish: {only_tr:?}; or their order)"
                ));
            }
        }
        out
    }

    /// `text` with the product's name in place of `{brand}` (already HTML-escaped by the
    /// caller when `text` is HTML).
    pub fn branded(text: &str, brand: &str) -> String {
        text.replace("{brand}", brand)
    }
}

fn page(slug: &'static str, part: Part, md: &str, links: &Links, english_only: bool) -> Page {
    let r = render::render(md, links);
    Page {
        slug,
        part,
        title: r.title,
        html: r.html,
        sections: r.sections,
        english_only,
        targets: r.targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_has_every_page_in_both_languages_and_no_broken_link() {
        let lib = Library::build(&|kind, _| if kind.is_empty() { "" } else { "Alert" });
        let problems = lib.problems();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for lang in [Language::En, Language::Tr] {
            assert_eq!(lib.pages(lang).len(), GUIDES.len() + 4);
        }
        assert!(lib.has("campaigns#cron"));
        assert!(lib.has("errors#campaign.no_groups"));
        assert!(!lib.has("campaigns#nowhere"));
    }

    #[test]
    fn a_turkish_search_finds_turkish_pages() {
        let lib = Library::build(&|_, _| "Alert");
        let hits = lib.search(Language::Tr, "sablon degisken");
        assert!(!hits.is_empty());
        assert!(hits.iter().any(|h| h.page == "templates"), "{hits:?}");
        let by_code = lib.search(Language::En, "campaign.no_groups");
        assert_eq!(
            by_code.first().map(|h| h.id.as_str()),
            Some("campaign.no_groups")
        );
    }
}
