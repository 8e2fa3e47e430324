//! The appliance's settings page (admins): the platform bot, the Telegram application, the
//! public URL and the branding; and the brand's stylesheet and logo every page links.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::DoneQuery;
use super::admin_pages::admins_only;
use super::assets::cached;
use super::session::{Chrome, Viewer};
use super::{error_fragment, error_text, render};
use crate::domain::appliance::{self, Input, LOGO_MAX_BYTES};
use crate::runtime::supervisor::WorkerKey;
use crate::state::Shared;

#[derive(Template)]
#[template(path = "console/appliance.html")]
struct AppliancePage {
    c: Chrome,
    notice: Option<String>,
    error: Option<String>,
    locked_bot: bool,
    locked_telegram: bool,
    locked_url: bool,
    token_set: bool,
    api_id: String,
    hash_set: bool,
    public_url: String,
    base_url: String,
    /// The platform bot's state, e.g. "online · @shopbot".
    bot_state: String,
    brand_name: String,
    accent: String,
    storefront: bool,
    has_logo: bool,
    logo_max_kb: usize,
}

fn page(st: &Shared, v: &Viewer, notice: Option<String>, error: Option<String>) -> Response {
    let a = st.appliance();
    let t = &v.chrome.t;
    let bot_state = match st.supervisor.status(WorkerKey::Platform) {
        None => t.s("appliance.bot_off").to_string(),
        Some(s) => {
            let state = t.s(super::admin_pages::state_key(s.state)).to_string();
            match st.supervisor.platform_bot().and_then(|m| m.username) {
                Some(u) => format!("{state} · @{u}"),
                None => state,
            }
        }
    };
    render(&AppliancePage {
        notice,
        error,
        locked_bot: a.locked.platform_bot_token,
        locked_telegram: a.locked.telegram,
        locked_url: a.locked.public_url,
        token_set: a.platform_token_set,
        api_id: a.api_id.map(|i| i.to_string()).unwrap_or_default(),
        hash_set: a.api_hash_set,
        public_url: if a.locked.public_url {
            a.base_url.clone()
        } else {
            a.stored_public_url.clone().unwrap_or_default()
        },
        base_url: a.base_url.clone(),
        bot_state,
        brand_name: a.stored_brand_name.clone().unwrap_or_default(),
        accent: a.stored_accent.clone().unwrap_or_default(),
        storefront: a.storefront,
        has_logo: a.brand.logo.is_some(),
        logo_max_kb: LOGO_MAX_BYTES / 1024,
        c: v.page("appliance"),
    })
}

pub async fn show(State(st): State<Shared>, v: Viewer, Query(q): Query<DoneQuery>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let notice = q.notice(
        &v.chrome.t,
        &[
            ("saved", "appliance.saved"),
            ("bot", "appliance.saved_bot"),
            ("telegram", "appliance.saved_telegram"),
            ("logo", "appliance.logo_saved"),
        ],
    );
    page(&st, &v, notice, None)
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    platform_bot_token: String,
    clear_platform_bot_token: Option<String>,
    #[serde(default)]
    api_id: String,
    #[serde(default)]
    api_hash: String,
    clear_telegram: Option<String>,
    #[serde(default)]
    public_url: String,
    #[serde(default)]
    brand_name: String,
    #[serde(default)]
    accent: String,
    storefront: Option<String>,
}

pub async fn save(State(st): State<Shared>, v: Viewer, Form(f): Form<SettingsForm>) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let input = Input {
        platform_bot_token: f.platform_bot_token.clone(),
        clear_platform_bot_token: f.clear_platform_bot_token.is_some(),
        api_id: f.api_id.clone(),
        api_hash: f.api_hash.clone(),
        clear_telegram: f.clear_telegram.is_some(),
        public_url: f.public_url.clone(),
        brand_name: f.brand_name.clone(),
        accent: f.accent.clone(),
        storefront: f.storefront.is_some(),
    };
    match appliance::save(&st, v.account, input).await {
        Ok(c) => {
            let done = if c.platform_bot {
                "bot"
            } else if c.telegram {
                "telegram"
            } else {
                "saved"
            };
            Redirect::to(&format!("/console/appliance?done={done}")).into_response()
        }
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            let mut r = page(&st, &v, None, Some(text));
            *r.status_mut() = crate::http::error::status_of(&e);
            r
        }
    }
}

/// A logo sent as the raw body by the console's upload script; 201 or the error's text.
pub async fn upload_logo(State(st): State<Shared>, v: Viewer, body: axum::body::Body) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    let stored = async {
        let bytes = axum::body::to_bytes(body, LOGO_MAX_BYTES + 1)
            .await
            .map_err(|_| appliance::logo_too_large())?;
        appliance::set_logo(&st, v.account, Some(bytes.to_vec())).await
    }
    .await;
    match stored {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => error_fragment(&v.chrome, &e),
    }
}

pub async fn remove_logo(State(st): State<Shared>, v: Viewer) -> Response {
    if let Some(r) = admins_only(&v) {
        return r;
    }
    match appliance::set_logo(&st, v.account, None).await {
        Ok(()) => Redirect::to("/console/appliance?done=saved").into_response(),
        Err(e) => {
            let text = error_text(&v.chrome, &e);
            page(&st, &v, None, Some(text))
        }
    }
}

/// The brand's colours as a stylesheet; pages link it with the colour in the URL, so it is
/// cached for long.
pub async fn brand_css(State(st): State<Shared>) -> Response {
    let css = appliance::brand_css(&st.appliance().brand);
    cached(css, "text/css; charset=utf-8")
}

pub async fn brand_logo(State(st): State<Shared>) -> Response {
    match st.appliance().brand.logo.clone() {
        Some(l) => cached(l.bytes.clone(), l.mime),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
