//! The Mini-App's own screens at `/app`: the opening page (it signs in with the `initData`
//! Telegram hands the app), linking a Telegram user from inside the app, the dashboard, More,
//! Help and the language switch. Every other screen is one of the console's tenant pages shown
//! in the app's phone frame (see `session::Chrome::for_path`): one product, two faces.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use botyard_shards::records::CampaignStateRec;
use botyard_shards::{Access, TenantScope};

use super::auth_pages::anonymous;
use super::authorize::{self, Want};
use super::session::{
    APP, Chrome, LANG_COOKIE, Viewer, browser_language, cookie, session_cookie, set_cookie,
};
use super::{error_page, error_text, render};
use crate::config::Secret;
use crate::domain::{alerts, browser_sessions, stats, tenancy};
use crate::error::{AppError, AppResult};
use crate::http::extract::ClientIp;
use crate::i18n::Language;
use crate::state::{Shared, blocking};

#[derive(Template)]
#[template(path = "app/open.html")]
struct OpenPage {
    c: Chrome,
    /// Where a browser that already has a session goes when Telegram gave no `initData`.
    home: Option<&'static str>,
    error: Option<String>,
    /// `t.me/<platform bot>`, to open the app from Telegram.
    bot: Option<String>,
}

#[derive(Template)]
#[template(path = "app/link.html")]
struct LinkOfferPage {
    c: Chrome,
    init_data: String,
    email: String,
    error: Option<String>,
    /// Once the account is known: the bot's deep link that finishes linking.
    deep_link: Option<String>,
}

#[derive(Template)]
#[template(path = "app/signup.html")]
struct SignupPage {
    c: Chrome,
    init_data: String,
    business: String,
    email: String,
    invite: String,
    need_invite: bool,
    /// The bot saw this Telegram user press Start (needed to sign up).
    started: bool,
    /// `t.me/<platform bot>?start=trial`, to press Start first.
    bot_start: Option<String>,
    /// `(plan, trial days)`.
    trial: Option<(String, u32)>,
    error: Option<String>,
    /// The refusal's code, for the page's FAQ link.
    code: &'static str,
}

impl SignupPage {
    fn new(st: &Shared, c: Chrome, init_data: &str) -> SignupPage {
        let now = st.now();
        let started = crate::domain::browser_sessions::verify_webapp(st, init_data)
            .ok()
            .and_then(|v| st.signup_starts.get(v.user.id, now))
            .is_some();
        let trial = crate::domain::signup::trial_plan(st)
            .ok()
            .flatten()
            .and_then(|(p, days)| {
                let name = st.store.catalog_read().ok()?.plan(p).ok()??.name;
                Some((name, days))
            });
        SignupPage {
            c,
            init_data: init_data.chars().take(8 * 1024).collect(),
            business: String::new(),
            email: String::new(),
            invite: String::new(),
            need_invite: st.appliance().signup.mode
                == crate::domain::appliance::effective::SignupMode::Invite,
            started,
            bot_start: crate::domain::storefront::trial_link(st),
            trial,
            error: None,
            code: "",
        }
    }
}

fn bot_link(st: &Shared) -> Option<String> {
    st.supervisor
        .platform_bot()
        .and_then(|me| me.username)
        .map(|u| format!("https://t.me/{u}"))
}

/// The opening page. Inside Telegram its script posts `initData` to `/app/session` at once;
/// elsewhere it goes on with the browser's session, or says how to open the app.
pub async fn open(State(st): State<Shared>, headers: HeaderMap) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    let live = cookie(&headers, session_cookie(&st))
        .is_some_and(|t| browser_sessions::authenticate(&st, t).is_ok());
    let page = OpenPage {
        c: c.for_path(APP),
        home: live.then_some("/app/home"),
        error: None,
        bot: bot_link(&st),
    };
    with_cookie(render(&page), set)
}

fn with_cookie(mut r: Response, set: Option<axum::http::HeaderValue>) -> Response {
    if let Some(v) = set {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// A refused Mini-App sign-in, as a screen: a Telegram user not linked yet is offered to link
/// here; anything else says what went wrong.
pub fn refused(st: &Shared, headers: &HeaderMap, init_data: &str, e: AppError) -> Response {
    let (c, set) = anonymous(st, headers, browser_language(headers));
    let c = c.for_path(APP);
    let status = crate::http::error::status_of(&e);
    let page = if e.code() == "webapp.not_linked" && crate::domain::signup::open_for_signups(st) {
        render(&SignupPage::new(st, c, init_data))
    } else if e.code() == "webapp.not_linked" {
        render(&LinkOfferPage {
            c,
            init_data: init_data.chars().take(8 * 1024).collect(),
            email: String::new(),
            error: None,
            deep_link: None,
        })
    } else {
        let error = Some(error_text(&c, &e));
        render(&OpenPage {
            c,
            home: None,
            error,
            bot: bot_link(st),
        })
    };
    with_cookie((status, page).into_response(), set)
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    init_data: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Links the Telegram user opening the app to the account whose email and password are given:
/// the answer is the bot's `/start` link that completes it.
pub async fn link(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LinkForm>,
) -> Response {
    let (c, set) = anonymous(&st, &headers, browser_language(&headers));
    let c = c.for_path(APP);
    let linked = browser_sessions::link_from_webapp(
        &st,
        &f.init_data,
        &f.email,
        Secret::new(f.password),
        ip,
    )
    .await;
    let (status, deep_link, error) = match linked {
        Ok(link) => (StatusCode::OK, Some(link), None),
        Err(e) => {
            let text = match &e {
                AppError::Unauthorized { code, .. } if code.starts_with("auth.") => {
                    c.t.s("login.failed").to_string()
                }
                AppError::Locked { .. } => c.t.s("login.locked").to_string(),
                _ => error_text(&c, &e),
            };
            (crate::http::error::status_of(&e), None, Some(text))
        }
    };
    let page = LinkOfferPage {
        c,
        init_data: f.init_data.chars().take(8 * 1024).collect(),
        email: f.email.chars().take(254).collect(),
        error,
        deep_link,
    };
    with_cookie((status, render(&page)).into_response(), set)
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    init_data: String,
    #[serde(default)]
    business: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    invite: String,
}

/// Signs the Telegram user opening the app up: a tenant on the trial, and a session.
pub async fn signup(
    State(st): State<Shared>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SignupForm>,
) -> Response {
    let origin = super::auth_pages::origin(ip, &headers);
    let form = crate::domain::signup::SignupForm {
        business: f.business.clone(),
        email: f.email.clone(),
        invite: f.invite.clone(),
    };
    match crate::domain::signup::sign_up(&st, &f.init_data, form, origin).await {
        Ok(s) => super::auth_pages::webapp_started(&st, s),
        Err(e) => {
            let (c, set) = anonymous(&st, &headers, browser_language(&headers));
            let c = c.for_path(APP);
            let error = Some(error_text(&c, &e));
            let mut page = SignupPage::new(&st, c, &f.init_data);
            page.business = f.business.chars().take(100).collect();
            page.email = f.email.chars().take(254).collect();
            page.invite = f.invite.chars().take(32).collect();
            page.error = error;
            page.code = e.code();
            let status = crate::http::error::status_of(&e);
            with_cookie((status, render(&page)).into_response(), set)
        }
    }
}

/// The app's home: the account's tenant (or its list of tenants).
pub async fn home(State(st): State<Shared>, v: Viewer) -> Response {
    super::admin_pages::owner_home(st, v).await
}

// ---- dashboard ----

/// One period against the one before.
pub struct Compare {
    pub key: &'static str,
    pub now: String,
    pub before: String,
    /// `up`, `down` or `same`.
    pub trend: &'static str,
}

fn compare(t: &super::session::Tr, key: &'static str, now: u64, before: u64) -> Compare {
    Compare {
        key,
        now: t.num(now),
        before: t.num(before),
        trend: match now.cmp(&before) {
            std::cmp::Ordering::Greater => "up",
            std::cmp::Ordering::Less => "down",
            std::cmp::Ordering::Equal => "same",
        },
    }
}

pub struct NextRun {
    pub id: u64,
    pub name: String,
    pub when: String,
}

pub struct TenantAlert {
    pub title_key: &'static str,
    pub detail: String,
    /// The screen where it is dealt with.
    pub fix: &'static str,
}

#[derive(Template)]
#[template(path = "app/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    id: u64,
    name: String,
    notice: Option<String>,
    day: Vec<Compare>,
    week: Vec<Compare>,
    /// `(label, state, state class)`.
    sessions: Vec<(String, String, &'static str)>,
    next_runs: Vec<NextRun>,
    alerts: Vec<TenantAlert>,
    /// Seven rows (Monday first) of `(weekday key, 24 intensity levels 0–4)`.
    heat: Vec<(&'static str, Vec<u8>)>,
    heat_max: u64,
    manage: bool,
}

const WEEKDAYS: [&str; 7] = [
    "day.mon", "day.tue", "day.wed", "day.thu", "day.fri", "day.sat", "day.sun",
];

/// Heat map cells as levels 0 (none) to 4 (the busiest hour), so the page needs no inline
/// style: each level is a class.
pub fn heat_levels(cells: &[Vec<u64>]) -> (Vec<Vec<u8>>, u64) {
    let max = cells.iter().flatten().copied().max().unwrap_or(0);
    let levels = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|&n| match n {
                    0 => 0,
                    _ if max == 0 => 0,
                    // 1..=4, rounding up so any activity shows.
                    _ => u8::try_from((n * 4).div_ceil(max)).unwrap_or(4).min(4),
                })
                .collect()
        })
        .collect();
    (levels, max)
}

/// What the dashboard shows, read in one blocking task.
struct DashFacts {
    day: Vec<Compare>,
    week: Vec<Compare>,
    sessions: Vec<(String, String, &'static str)>,
    next_runs: Vec<NextRun>,
    alerts: Vec<TenantAlert>,
    heat: Vec<Vec<u8>>,
    heat_max: u64,
}

fn build_dashboard(st: &Shared, c: &Chrome, scope: &TenantScope) -> AppResult<DashFacts> {
    let settings = tenancy::settings(scope)?;
    let zone = tenancy::zone(&settings);
    let t = super::session::Tr {
        lang: c.t.lang,
        zone: zone.clone(),
    };
    let today = stats::today(&zone, st.now());
    let shard = scope.shard_read()?;
    let sum = stats::summary::summary(&shard, &zone, today)?;
    let pair = |a: &stats::summary::Period, b: &stats::summary::Period| {
        vec![
            compare(&t, "app.messages", a.messages, b.messages),
            compare(&t, "app.active_users", a.active_users, b.active_users),
            compare(&t, "app.new_users", a.new_users, b.new_users),
            compare(&t, "app.posts_sent", a.sent, b.sent),
        ]
    };
    let day = pair(&sum.today, &sum.yesterday);
    let week = pair(&sum.this_week, &sum.last_week);
    let worker = st.supervisor.status(scope.tenant_id());
    let sessions = shard
        .sessions()?
        .iter()
        .map(|(id, r)| {
            let out = crate::http::worker_routes::session_out(*id, r, worker.as_ref());
            let state = super::tenant_pages::state_name(&out);
            let class = match state.as_str() {
                "online" => "ok",
                "revoked" | "error" => "bad",
                _ => "warn",
            };
            (
                r.label.clone(),
                t.s(super::tenant_pages::session_state_key(&state))
                    .to_string(),
                class,
            )
        })
        .collect();
    let mut next: Vec<(i64, NextRun)> = shard
        .campaigns()?
        .into_iter()
        .filter(|(_, k)| k.state == CampaignStateRec::Active)
        .filter_map(|(id, k)| {
            k.next_run.map(|at| {
                (
                    at,
                    NextRun {
                        id: id.0,
                        name: k.name,
                        when: t.when(at),
                    },
                )
            })
        })
        .collect();
    next.sort_by_key(|(at, _)| *at);
    let next_runs = next.into_iter().take(5).map(|(_, n)| n).collect();
    let alerts = alerts::open_for_tenant(&st.store, scope.tenant_id())?
        .into_iter()
        .map(|r| {
            let (title_key, fix) = match r.kind.as_str() {
                alerts::SESSION_REVOKED => ("alert.session_revoked", "sessions"),
                alerts::CAMPAIGN_PAUSED => ("alert.campaign_paused", "campaigns"),
                alerts::WORKER_QUARANTINED => ("alert.worker_quarantined", "sessions"),
                _ => ("alert.other", ""),
            };
            TenantAlert {
                title_key,
                detail: r.detail,
                fix,
            }
        })
        .collect();
    let range = stats::Range {
        from: botyard_shards::ids::Day(today.0.saturating_sub(27)),
        to: today,
    };
    let chats = stats::chats(&shard, None)?;
    let heat = stats::activity::heatmap(&shard, &chats, range)?;
    let (heat, heat_max) = heat_levels(&heat.cells);
    Ok(DashFacts {
        day,
        week,
        sessions,
        next_runs,
        alerts,
        heat,
        heat_max,
    })
}

/// The Mini-App's dashboard of tenant `id`.
pub async fn dashboard(st: Shared, v: Viewer, id: u64, done: Option<String>) -> Response {
    let c = v.page("dashboard");
    let scope = match authorize::tenant(&st, &v, id, Want::Read).await {
        Ok(s) => s,
        Err(e) => return error_page(c, e),
    };
    let name = scope.record().name.clone();
    let manage = scope.access().can_manage() || scope.access() == Access::Admin;
    let (st2, c2) = (st.clone(), c.clone());
    match blocking(move || build_dashboard(&st2, &c2, &scope)).await {
        Ok(f) => {
            let notice = done
                .as_deref()
                .filter(|d| *d == "login")
                .map(|_| c.t.s("tenant.logged_in").to_string());
            render(&DashboardPage {
                id,
                name,
                notice,
                day: f.day,
                week: f.week,
                sessions: f.sessions,
                next_runs: f.next_runs,
                alerts: f.alerts,
                heat: WEEKDAYS.iter().copied().zip(f.heat).collect(),
                heat_max: f.heat_max,
                manage,
                c,
            })
        }
        Err(e) => error_page(c, e),
    }
}

// ---- more, help, language ----

#[derive(Template)]
#[template(path = "app/more.html")]
struct MorePage {
    c: Chrome,
    id: u64,
    manage: bool,
    console: String,
}

pub async fn more(State(st): State<Shared>, v: Viewer, Path(id): Path<u64>) -> Response {
    let c = v.page("");
    match authorize::tenant(&st, &v, id, Want::Read).await {
        Ok(scope) => render(&MorePage {
            id,
            manage: scope.access().can_manage(),
            console: format!("{}/console/tenants/{id}", st.base_url()),
            c,
        }),
        Err(e) => error_page(c, e),
    }
}

#[derive(Template)]
#[template(path = "app/help.html")]
struct HelpPage {
    c: Chrome,
}

pub async fn help(v: Viewer) -> Response {
    render(&HelpPage { c: v.page("") })
}

#[derive(Deserialize)]
pub struct LanguageForm {
    language: String,
    #[serde(default)]
    back: String,
}

/// The app's language switch: saved as the account's choice (the console follows it too).
pub async fn language(
    State(st): State<Shared>,
    v: Viewer,
    Form(f): Form<LanguageForm>,
) -> Response {
    let lang = match f.language.as_str() {
        "tr" => Language::Tr,
        "en" => Language::En,
        _ => {
            let e = AppError::invalid("language", "choose tr or en");
            return error_page(v.page(""), e);
        }
    };
    let account = v.account;
    let st2 = st.clone();
    let zone = blocking(move || Ok(st2.store.catalog_read()?.account_prefs(account)?.time_zone))
        .await
        .unwrap_or_default();
    if let Err(e) = browser_sessions::set_prefs(&st, account, &f.language, &zone).await {
        return error_page(v.page(""), e);
    }
    // Only back into the app, never elsewhere.
    let back = if f.back.starts_with("/app/") && !f.back.starts_with("/app//") {
        f.back.as_str()
    } else {
        "/app/home"
    };
    let mut r = Redirect::to(back).into_response();
    let code = match lang {
        Language::Tr => "tr",
        Language::En => "en",
    };
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            &st,
            LANG_COOKIE,
            code,
            browser_sessions::WEBAPP_SESSION_SECS,
        ),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_levels_scale_to_the_busiest_hour() {
        let (l, max) = heat_levels(&[vec![0, 1, 5, 10, 3]]);
        assert_eq!(max, 10);
        assert_eq!(l, vec![vec![0, 1, 2, 4, 2]]);
        let (l, max) = heat_levels(&[vec![0, 0]]);
        assert_eq!((l, max), (vec![vec![0, 0]], 0));
    }

    #[test]
    fn trends_compare_two_periods() {
        let t = super::super::session::Tr {
            lang: Language::Tr,
            zone: jiff::tz::TimeZone::UTC,
        };
        assert_eq!(compare(&t, "k", 5, 3).trend, "up");
        assert_eq!(compare(&t, "k", 3, 5).trend, "down");
        let same = compare(&t, "k", 1200, 1200);
        assert_eq!((same.trend, same.now.as_str()), ("same", "1.200"));
    }
}
