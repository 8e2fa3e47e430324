//! The storefront at `/` (when the reseller turns it on): what the product does, the plans on
//! sale with their prices, and a button that starts a trial in the platform bot. One small
//! page with no script and nothing from elsewhere, with Open Graph tags so a shared link
//! previews well in Telegram. Off, `/` leads to the console.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::billing_pages::money;
use super::render;
use super::session::{self, Chrome};
use crate::domain::billing::lifecycle::PERIOD_DAYS;
use crate::domain::storefront;
use crate::i18n::Language;
use crate::state::Shared;

struct Plan {
    name: String,
    prices: Vec<String>,
    trial: Option<String>,
    limits: Vec<String>,
}

#[derive(Template)]
#[template(path = "store/front.html")]
struct Front {
    c: Chrome,
    lead: String,
    plans: Vec<Plan>,
    trial_link: Option<String>,
    url: String,
    image: Option<String>,
    other_lang: &'static str,
    other_name: &'static str,
    locale: &'static str,
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn front(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let a = st.appliance();
    if !a.storefront {
        return Redirect::to("/console").into_response();
    }
    let lang = match q.lang.as_deref() {
        Some("tr") => Language::Tr,
        Some("en") => Language::En,
        _ => session::browser_language(&headers),
    };
    let c = Chrome::anonymous(&st, lang, String::new());
    let offers = {
        let st = st.clone();
        match crate::state::blocking(move || storefront::offers(&st)).await {
            Ok(o) => o,
            Err(e) => return super::error_page(c, e),
        }
    };
    let t = &c.t;
    let per = |s: String| format!("{s} / {} {}", PERIOD_DAYS, t.s("store.days"));
    let plans = offers
        .into_iter()
        .map(|o| {
            let mut prices = Vec::new();
            if o.minor > 0 {
                prices.push(per(money(t, o.minor, &o.currency)));
            }
            if o.stars > 0 {
                prices.push(per(format!("{} {}", t.num(o.stars), t.s("store.stars"))));
            }
            let limit = |n: u32, key: &str| format!("{} {}", t.num(n), t.s(key));
            Plan {
                name: o.name,
                prices,
                trial: (o.trial_days > 0)
                    .then(|| t.s("store.trial_days").replace("{n}", &t.num(o.trial_days))),
                limits: vec![
                    limit(o.limits.sessions, "store.sessions"),
                    limit(o.limits.groups, "store.groups"),
                    limit(o.limits.templates, "store.templates"),
                    limit(o.limits.campaigns, "store.campaigns"),
                    limit(o.limits.sends_per_day, "store.sends_per_day"),
                ],
            }
        })
        .collect();
    let (other_lang, other_name, locale) = match lang {
        Language::En => ("tr", "Türkçe", "en_US"),
        Language::Tr => ("en", "English", "tr_TR"),
    };
    render(&Front {
        lead: t.s("store.lead").replace("{brand}", &c.product),
        plans,
        // Only where people can sign up: otherwise the bot could only say hello.
        trial_link: crate::domain::signup::open_for_signups(&st)
            .then(|| storefront::trial_link(&st))
            .flatten(),
        url: format!("{}/", a.base_url),
        image: a.brand.logo.as_ref().map(|l| {
            format!(
                "{}/console/brand/logo?v={}",
                a.base_url,
                l.etag.trim_matches('"')
            )
        }),
        other_lang,
        other_name,
        locale,
        c,
    })
}
