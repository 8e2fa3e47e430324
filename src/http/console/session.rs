//! Who is looking at a console page: the browser session from its cookie, the account's
//! language and zone, and the page chrome every template shares.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use botyard_shards::ids::AccountId;

use crate::domain::auth::Caller;
use crate::domain::browser_sessions;
use crate::i18n::{self, Language};
use crate::state::{AppState, Shared};

/// The session cookie's name: `__Host-` (which browsers only keep when it is `Secure`, for
/// this host, on `/`) when the console is served over HTTPS.
pub fn session_cookie(st: &AppState) -> &'static str {
    if secure(st) {
        "__Host-botyard_session"
    } else {
        "botyard_session"
    }
}

/// The cookie a browser without a session carries so its sign-in and setup forms can prove
/// they came from our page (double submit).
pub fn pre_cookie(st: &AppState) -> &'static str {
    if secure(st) {
        "__Host-botyard_pre"
    } else {
        "botyard_pre"
    }
}

/// Behind HTTPS (the public URL in force says so), cookies are `Secure` and `__Host-`.
fn secure(st: &AppState) -> bool {
    st.appliance().base_url.starts_with("https://")
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, on `/`, `Secure` behind HTTPS.
pub fn set_cookie(st: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if secure(st) { "; Secure" } else { "" };
    let v = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of cookie `name` in the request's headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 100)
}

/// Words and formats in the reader's language and zone.
#[derive(Clone)]
pub struct Tr {
    pub lang: Language,
    pub zone: jiff::tz::TimeZone,
}

impl Tr {
    /// The text of a catalogue key.
    pub fn s(&self, key: &str) -> &'static str {
        i18n::console::text(self.lang, key)
    }

    pub fn code(&self) -> &'static str {
        match self.lang {
            Language::Tr => "tr",
            Language::En => "en",
        }
    }

    /// A whole number with the language's thousands separator.
    pub fn num(&self, n: impl Into<i128>) -> String {
        let n: i128 = n.into();
        let digits = n.unsigned_abs().to_string();
        let sep = match self.lang {
            Language::Tr => '.',
            Language::En => ',',
        };
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(ch);
        }
        out
    }

    /// A size in bytes, in KiB/MiB/GiB with one decimal in the language's style.
    pub fn bytes(&self, n: u64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut v = n as f64;
        let mut u = 0;
        while v >= 1024.0 && u + 1 < units.len() {
            v /= 1024.0;
            u += 1;
        }
        let s = if u == 0 {
            format!("{n}")
        } else {
            format!("{v:.1}")
        };
        let s = match self.lang {
            Language::Tr => s.replace('.', ","),
            Language::En => s,
        };
        format!("{s} {}", units[u])
    }

    /// A moment (unix seconds) as a date and time in the reader's zone.
    pub fn when(&self, at: i64) -> String {
        let Ok(ts) = jiff::Timestamp::from_second(at) else {
            return at.to_string();
        };
        let z = ts.to_zoned_datetime(self.zone.clone());
        match self.lang {
            Language::Tr => z.strftime("%d.%m.%Y %H:%M").to_string(),
            Language::En => z.strftime("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// A duration in seconds, short (`3 d 4 h`, `5 min`).
    pub fn span(&self, secs: i64) -> String {
        let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
        let (dn, hn, mn, sn) = match self.lang {
            Language::Tr => ("g", "sa", "dk", "sn"),
            Language::En => ("d", "h", "min", "s"),
        };
        if d > 0 {
            format!("{d} {dn} {h} {hn}")
        } else if h > 0 {
            format!("{h} {hn} {m} {mn}")
        } else if m > 0 {
            format!("{m} {mn}")
        } else {
            format!("{} {sn}", secs.max(0))
        }
    }
}

/// The cookie that keeps the language of the Telegram app a Mini-App session was opened from.
pub const LANG_COOKIE: &str = "botyard_lang";

/// The reader's language: the Telegram app's (for a Mini-App session), else `Accept-Language`.
pub fn browser_language(headers: &HeaderMap) -> Language {
    match cookie(headers, LANG_COOKIE) {
        Some("tr") => return Language::Tr,
        Some("en") => return Language::En,
        _ => {}
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(i18n::from_accept_language)
        .unwrap_or(Language::En)
}

/// Signed in: the navigation for the header.
#[derive(Clone)]
pub struct Nav {
    pub email: String,
    pub admin: bool,
}

/// What every page's frame needs.
#[derive(Clone)]
pub struct Chrome {
    pub t: Tr,
    pub csrf: String,
    pub product: String,
    /// The reseller's logo and colours, by version (for caching), when set.
    pub logo: Option<String>,
    pub brand_css: Option<String>,
    pub nav: Option<Nav>,
    /// The navigation entry of this page.
    pub tab: &'static str,
    /// Where this face's pages live: `/console`, or `/app` for the Mini-App, which shows the
    /// same tenant pages in its phone frame.
    pub root: &'static str,
    pub app: bool,
    /// In the Mini-App: the tenant the path names (for its tab bar; the page itself checks
    /// access) and which tab the page belongs to.
    pub tenant: Option<u64>,
    pub app_tab: &'static str,
    /// The help section about this page (`page` or `page#id` under `/help/{lang}/`).
    pub help: &'static str,
    /// On a tenant's page: its support screen, told which page the person came from (the
    /// request's context; no `Referer` is sent).
    pub support: Option<String>,
}

impl Chrome {
    /// The frame of a page seen without a session (sign-in, setup).
    pub fn anonymous(st: &AppState, lang: Language, csrf: String) -> Chrome {
        Chrome::new(
            st,
            Tr {
                lang,
                zone: jiff::tz::TimeZone::UTC,
            },
            csrf,
            None,
        )
    }

    fn new(st: &AppState, t: Tr, csrf: String, nav: Option<Nav>) -> Chrome {
        let a = st.appliance();
        Chrome {
            t,
            csrf,
            product: a.brand.name.clone(),
            logo: a
                .brand
                .logo
                .as_ref()
                .map(|l| l.etag.trim_matches('"').to_string()),
            brand_css: a
                .brand
                .accent
                .map(|c| c.hex().trim_start_matches('#').to_string()),
            nav,
            tab: "",
            root: CONSOLE,
            app: false,
            tenant: None,
            app_tab: "",
            help: "index",
            support: None,
        }
    }

    /// The same frame in the face `path` belongs to.
    pub fn for_path(self, path: &str) -> Chrome {
        let admin = self.nav.as_ref().is_some_and(|n| n.admin);
        let help = super::help_pages::section_for(path, admin);
        let c = Chrome {
            help,
            support: if admin { None } else { support_link(path) },
            ..self
        };
        if is_app(path) {
            let (tenant, app_tab) = app_place(path);
            Chrome {
                root: APP,
                app: true,
                tenant,
                app_tab,
                ..c
            }
        } else {
            c
        }
    }
}

pub const CONSOLE: &str = "/console";
pub const APP: &str = "/app";

/// `…/tenants/{id}/support?from={path}` for a page of a tenant's (not its support screens).
fn support_link(path: &str) -> Option<String> {
    let (root, rest) = [CONSOLE, APP]
        .iter()
        .find_map(|r| path.strip_prefix(r).map(|rest| (*r, rest)))?;
    let mut parts = rest.trim_start_matches('/').split('/');
    if parts.next() != Some("tenants") {
        return None;
    }
    let id: u64 = parts.next()?.parse().ok()?;
    if matches!(parts.next(), Some("support" | "feedback")) {
        return None;
    }
    let from: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    Some(format!("{root}/tenants/{id}/support?from={from}"))
}

/// The tenant a Mini-App path is under, and the tab its screen belongs to.
fn app_place(path: &str) -> (Option<u64>, &'static str) {
    let mut parts = path.trim_start_matches("/app/").split('/');
    if parts.next() != Some("tenants") {
        return (
            None,
            if path.starts_with("/app/help") {
                "more"
            } else {
                ""
            },
        );
    }
    let tenant = parts.next().and_then(|id| id.parse().ok());
    let tab = match parts.next() {
        None | Some("") => "home",
        Some("groups") => "groups",
        Some("templates") => "templates",
        Some("campaigns") => "campaigns",
        Some(_) => "more",
    };
    (tenant, tab)
}

/// Whether `path` is one of the Mini-App's pages.
pub fn is_app(path: &str) -> bool {
    path == APP || path.starts_with("/app/")
}

/// A signed-in console reader: the caller and the chrome of its pages.
pub struct Viewer {
    pub caller: Caller,
    pub account: AccountId,
    pub chrome: Chrome,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.caller.principal.is_admin()
    }

    /// The chrome of a tenant's pages: under Tenants for admins, under their home for the
    /// tenant's people.
    pub fn tenant_page(&self) -> Chrome {
        self.page(if self.is_admin() {
            "tenants"
        } else {
            "dashboard"
        })
    }

    /// The chrome with this page's tab marked.
    pub fn page(&self, tab: &'static str) -> Chrome {
        Chrome {
            tab,
            ..self.chrome.clone()
        }
    }
}

/// No session: pages go to the sign-in form; htmx requests are told to go there too.
pub struct SignInFirst {
    htmx: bool,
    app: bool,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        // The Mini-App signs in again from Telegram's initData on its opening page.
        let to = if self.app { APP } else { "/console/login" };
        if self.htmx {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            r.headers_mut()
                .insert("HX-Redirect", HeaderValue::from_static(to));
            r
        } else {
            Redirect::to(to).into_response()
        }
    }
}

impl<S> FromRequestParts<S> for Viewer
where
    Shared: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SignInFirst> {
        let st = Shared::from_ref(state);
        let refuse = SignInFirst {
            htmx: parts.headers.contains_key("HX-Request"),
            app: is_app(parts.uri.path()),
        };
        let Some(token) = cookie(&parts.headers, session_cookie(&st)) else {
            return Err(refuse);
        };
        let token = token.to_string();
        let st2 = st.clone();
        let looked_up = crate::state::blocking(move || {
            let caller = browser_sessions::authenticate(&st2, &token)?;
            let account = caller
                .account()
                .ok_or(crate::error::AppError::NotFound("account"))?;
            let c = st2.store.catalog_read()?;
            let email = c.account(account)?.map(|a| a.email).unwrap_or_default();
            let prefs = c.account_prefs(account)?;
            Ok((caller, account, email, prefs, token))
        })
        .await;
        let Ok((caller, account, email, prefs, token)) = looked_up else {
            return Err(refuse);
        };
        let lang = match prefs.language.as_str() {
            "tr" => Language::Tr,
            "en" => Language::En,
            _ => browser_language(&parts.headers),
        };
        let zone = jiff::tz::TimeZone::get(&prefs.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let admin = caller.principal.is_admin();
        Ok(Viewer {
            caller,
            account,
            chrome: Chrome::new(
                &st,
                Tr { lang, zone },
                browser_sessions::csrf_token(&token),
                Some(Nav { email, admin }),
            )
            .for_path(parts.uri.path()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sizes_and_dates_in_each_language() {
        let en = Tr {
            lang: Language::En,
            zone: jiff::tz::TimeZone::UTC,
        };
        let tr = Tr {
            lang: Language::Tr,
            zone: jiff::tz::TimeZone::get("Europe/Istanbul").unwrap(),
        };
        assert_eq!(en.num(1_234_567u64), "1,234,567");
        assert_eq!(tr.num(1_234_567u64), "1.234.567");
        assert_eq!(tr.num(-12i64), "-12");
        assert_eq!(en.bytes(1536), "1.5 KiB");
        assert_eq!(tr.bytes(1536), "1,5 KiB");
        assert_eq!(en.bytes(12), "12 B");
        // 2026-12-04 10:00 UTC is 13:00 in Istanbul.
        assert_eq!(en.when(1_796_378_400), "2026-12-04 10:00");
        assert_eq!(tr.when(1_796_378_400), "04.12.2026 13:00");
        assert_eq!(en.span(90_061), "1 d 1 h");
        assert_eq!(tr.span(125), "2 dk");
    }

    #[test]
    fn app_paths_name_their_tenant_and_tab() {
        assert_eq!(app_place("/app/tenants/7"), (Some(7), "home"));
        assert_eq!(
            app_place("/app/tenants/7/campaigns/3"),
            (Some(7), "campaigns")
        );
        assert_eq!(app_place("/app/tenants/7/sessions"), (Some(7), "more"));
        assert_eq!(app_place("/app/tenants/x/groups"), (None, "groups"));
        assert_eq!(app_place("/app/help"), (None, "more"));
        assert!(is_app("/app") && is_app("/app/tenants/1") && !is_app("/apple"));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; botyard_session=abc; botyard_session_x=no"),
        );
        assert_eq!(cookie(&h, "botyard_session"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
