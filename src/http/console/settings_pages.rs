//! A tenant's settings (name shown in templates, time zone, language, sending defaults), for
//! those who run the tenant.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use axum::http::Method;
use botyard_shards::records::{Language, ParseMode, SettingsRec};

use super::DoneQuery;
use super::authorize::{Want, tenant};
use super::session::{Chrome, Viewer};
use super::{error_page, error_text, render};
use crate::domain::tenancy;
use crate::error::AppError;
use crate::http::roles::Needs;
use crate::state::{Shared, blocking};

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    c: Chrome,
    tenant: u64,
    tenant_name: String,
    display_name: String,
    time_zone: String,
    tr: bool,
    html: bool,
    silent: bool,
    no_preview: bool,
    protect: bool,
    saved: bool,
    error: Option<String>,
}

fn page(
    v: &Viewer,
    tenant: u64,
    name: String,
    s: &SettingsRec,
    saved: bool,
    error: Option<String>,
) -> Response {
    render(&SettingsPage {
        tenant,
        tenant_name: name,
        display_name: s.display_name.clone(),
        time_zone: s.time_zone.clone(),
        tr: s.language == Language::Tr,
        html: s.send.parse_mode == ParseMode::Html,
        silent: s.send.silent,
        no_preview: s.send.disable_link_preview,
        protect: s.send.protect_content,
        saved,
        error,
        c: v.tenant_page(),
    })
}

pub async fn settings(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let found = async {
        let scope = tenant(&st, &v, id, Want::See(Needs::Manage)).await?;
        let name = scope.record().name.clone();
        let s = blocking(move || tenancy::settings(&scope)).await?;
        Ok::<_, AppError>((name, s))
    }
    .await;
    match found {
        Ok((name, s)) => page(&v, id, name, &s, q.done.is_some(), None),
        Err(e) => error_page(v.page(""), e),
    }
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    parse_mode: String,
    silent: Option<String>,
    disable_link_preview: Option<String>,
    protect_content: Option<String>,
}

pub async fn save(
    State(st): State<Shared>,
    v: Viewer,
    Path(id): Path<u64>,
    Form(f): Form<SettingsForm>,
) -> Response {
    let input = tenancy::SettingsInput {
        time_zone: f.time_zone.trim().to_string(),
        language: if f.language == "en" {
            Language::En
        } else {
            Language::Tr
        },
        display_name: f.display_name.clone(),
        parse_mode: if f.parse_mode == "html" {
            ParseMode::Html
        } else {
            ParseMode::Markdown
        },
        silent: f.silent.is_some(),
        disable_link_preview: f.disable_link_preview.is_some(),
        protect_content: f.protect_content.is_some(),
    };
    let saved = async {
        let scope = tenant(
            &st,
            &v,
            id,
            Want::Change(Method::PUT, "/api/v1/tenants/{id}/settings"),
        )
        .await?;
        crate::domain::settings::save(&st, scope, input).await
    }
    .await;
    match saved {
        Ok(_) => Redirect::to(&format!(
            "{}/tenants/{id}/settings?done=saved",
            v.chrome.root
        ))
        .into_response(),
        Err(e @ AppError::Invalid { .. }) => {
            // Show the form again with what was typed and why it was refused.
            let status = crate::http::error::status_of(&e);
            let text = error_text(&v.chrome, &e);
            let current = async {
                let scope = tenant(&st, &v, id, Want::See(Needs::Manage)).await?;
                let name = scope.record().name.clone();
                let mut s = blocking(move || tenancy::settings(&scope)).await?;
                s.display_name = f.display_name;
                s.time_zone = f.time_zone;
                Ok::<_, AppError>((name, s))
            }
            .await;
            match current {
                Ok((name, s)) => {
                    (status, page(&v, id, name, &s, false, Some(text))).into_response()
                }
                Err(e) => error_page(v.page(""), e),
            }
        }
        Err(e) => error_page(v.page(""), e),
    }
}
