//! Message templates with their versions, the tenant's own variables, and previews.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use botyard_shards::ids::{ChatId, MediaId, TemplateId};
use botyard_shards::records::{TemplateRec, TemplateVersionRec};

use crate::clock::rfc3339;
use crate::domain::templates::{self, Content};
use crate::error::{AppError, AppResult};
use crate::http::error::ErrorEnvelope;
use crate::http::extract::{ApiJson, ApiPath, TenantCtx};
use crate::state::{Shared, blocking};

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template, delete_template))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(preview_template))
        .routes(routes!(get_variables, put_variables))
}

#[derive(Serialize, ToSchema)]
pub struct TemplateOut {
    pub id: u64,
    pub name: String,
    /// The latest version's number; campaigns use it unless they pin one.
    pub version: u32,
    pub format: FormatIo,
    pub body: String,
    pub buttons: Vec<Vec<ButtonIo>>,
    pub media_id: Option<u64>,
    pub created_at: String,
    pub updated_at: String,
}

fn template_out(id: TemplateId, t: TemplateRec, v: TemplateVersionRec) -> TemplateOut {
    TemplateOut {
        id: id.0,
        name: t.name,
        version: t.latest,
        format: templates::TemplateFormat::from(v.format).into(),
        buttons: buttons_out(&v),
        body: v.body,
        media_id: v.media.map(|m| m.0),
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
    }
}

fn buttons_out(v: &TemplateVersionRec) -> Vec<Vec<ButtonIo>> {
    buttons_io(templates::buttons_of(v))
}

#[derive(Serialize, ToSchema)]
pub struct TemplateSummary {
    pub id: u64,
    pub name: String,
    pub version: u32,
    pub updated_at: String,
}

/// The tenant's templates, by id.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/templates", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<TemplateSummary>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_templates(t: TenantCtx) -> AppResult<Json<Vec<TemplateSummary>>> {
    let all = blocking(move || Ok(t.scope.shard_read()?.templates()?)).await?;
    Ok(Json(
        all.into_iter()
            .map(|(id, r)| TemplateSummary {
                id: id.0,
                name: r.name,
                version: r.latest,
                updated_at: rfc3339(r.updated_at),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// 1–100 characters.
    pub name: String,
    /// The text, with `{variables}`; at most 4,096 characters as shown (1,024 with media).
    pub body: String,
    #[serde(default = "markdown")]
    pub format: FormatIo,
    /// Rows of inline URL buttons (up to 10 rows of 8).
    #[serde(default)]
    pub buttons: Vec<Vec<ButtonIo>>,
    /// A file uploaded through `POST …/media`.
    pub media_id: Option<u64>,
}

fn markdown() -> FormatIo {
    FormatIo::Markdown
}

/// Saves a new template (checked as Telegram will render it: 422 names the position of a
/// markup error or the length over the limit).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/templates", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id")),
    request_body = TemplateIn,
    responses((status = 201, body = TemplateOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn create_template(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<TemplateIn>,
) -> AppResult<(StatusCode, Json<TemplateOut>)> {
    let author = t.caller.account().map(|a| a.0);
    let (id, rec, v) = blocking(move || {
        let limit =
            crate::domain::tenancy::plan_limit(&st.store, t.scope.record().plan, |l| l.templates)?;
        templates::create(
            &t.scope,
            limit,
            &b.name,
            Content {
                body: b.body,
                format: b.format.into(),
                buttons: buttons_in(b.buttons),
                media: b.media_id.map(MediaId),
            },
            st.now(),
            author,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(template_out(id, rec, v))))
}

/// A template with its latest version.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/templates/{template_id}", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("template_id" = u64, Path, description = "Template id")),
    responses((status = 200, body = TemplateOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_template(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<TemplateOut>> {
    let id = TemplateId(ids.1);
    let (rec, v) = blocking(move || {
        let s = t.scope.shard_read()?;
        let rec = s.template(id)?.ok_or(AppError::NotFound("template"))?;
        let v = s
            .template_version(id, rec.latest)?
            .ok_or(AppError::NotFound("template version"))?;
        Ok((rec, v))
    })
    .await?;
    Ok(Json(template_out(id, rec, v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    /// Renames without a new version when nothing else changes.
    pub name: Option<String>,
    pub body: Option<String>,
    pub format: Option<FormatIo>,
    pub buttons: Option<Vec<Vec<ButtonIo>>>,
    pub media_id: Option<u64>,
    /// Drop the media file from the next version.
    #[serde(default)]
    pub remove_media: bool,
}

/// Edits a template: any change to the content saves a new version built from the latest.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/templates/{template_id}", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("template_id" = u64, Path, description = "Template id")),
    request_body = TemplatePatch,
    responses((status = 200, body = TemplateOut), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn update_template(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<TemplatePatch>,
) -> AppResult<Json<TemplateOut>> {
    if b.remove_media && b.media_id.is_some() {
        return Err(AppError::invalid(
            "media_id",
            "give media_id or remove_media, not both",
        ));
    }
    let id = TemplateId(ids.1);
    let author = t.caller.account().map(|a| a.0);
    let (tenant, now) = (t.scope.tenant_id(), st.now());
    let scope = t.scope;
    let (rec, v) = blocking(move || {
        let content_changes = b.body.is_some()
            || b.format.is_some()
            || b.buttons.is_some()
            || b.media_id.is_some()
            || b.remove_media;
        let content = if content_changes {
            let s = scope.shard_read()?;
            let rec = s.template(id)?.ok_or(AppError::NotFound("template"))?;
            let cur = s
                .template_version(id, rec.latest)?
                .ok_or(AppError::NotFound("template version"))?;
            let buttons = templates::buttons_of(&cur);
            Some(Content {
                body: b.body.unwrap_or(cur.body),
                format: b.format.map_or(cur.format.into(), Into::into),
                buttons: b.buttons.map_or(buttons, buttons_in),
                media: if b.remove_media {
                    None
                } else {
                    b.media_id.map(MediaId).or(cur.media)
                },
            })
        } else {
            None
        };
        templates::update(&scope, id, b.name.as_deref(), content, now, author)
    })
    .await?;
    // Rules reply with the latest version.
    st.supervisor.push_rules(tenant).await;
    Ok(Json(template_out(id, rec, v)))
}

/// Deletes a template with its versions; refused while a campaign uses it.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/templates/{template_id}", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("template_id" = u64, Path, description = "Template id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn delete_template(t: TenantCtx, ApiPath(ids): ApiPath<(u64, u64)>) -> AppResult<StatusCode> {
    let id = TemplateId(ids.1);
    blocking(move || templates::delete(&t.scope, id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct VersionOut {
    pub version: u32,
    pub format: FormatIo,
    pub body: String,
    pub buttons: Vec<Vec<ButtonIo>>,
    pub media_id: Option<u64>,
    pub created_at: String,
    /// The account that saved it.
    pub author: Option<u64>,
}

fn version_out(n: u32, v: TemplateVersionRec) -> VersionOut {
    VersionOut {
        version: n,
        format: templates::TemplateFormat::from(v.format).into(),
        buttons: buttons_out(&v),
        body: v.body,
        media_id: v.media.map(|m| m.0),
        created_at: rfc3339(v.created_at),
        author: v.author,
    }
}

/// Every saved version, oldest first.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/templates/{template_id}/versions", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("template_id" = u64, Path, description = "Template id")),
    responses((status = 200, body = Vec<VersionOut>), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn list_versions(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
) -> AppResult<Json<Vec<VersionOut>>> {
    let id = TemplateId(ids.1);
    let all = blocking(move || {
        let s = t.scope.shard_read()?;
        s.template(id)?.ok_or(AppError::NotFound("template"))?;
        Ok(s.template_versions(id)?)
    })
    .await?;
    Ok(Json(
        all.into_iter().map(|(n, v)| version_out(n, v)).collect(),
    ))
}

/// One saved version.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/templates/{template_id}/versions/{version}", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("template_id" = u64, Path, description = "Template id"),
           ("version" = u32, Path, description = "Version number")),
    responses((status = 200, body = VersionOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_version(
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64, u32)>,
) -> AppResult<Json<VersionOut>> {
    let (id, n) = (TemplateId(ids.1), ids.2);
    let v = blocking(move || {
        t.scope
            .shard_read()?
            .template_version(id, n)?
            .ok_or(AppError::NotFound("template version"))
    })
    .await?;
    Ok(Json(version_out(n, v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewIn {
    /// The group to fill `{group.title}` and `{group.members}` from.
    pub chat_id: i64,
    /// A saved version (default: the latest).
    pub version: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewOut {
    /// The text Telegram will show, markup removed.
    pub text: String,
    /// Formatting, in UTF-16 code units as Telegram counts them.
    pub entities: Vec<EntityOut>,
    pub buttons: Vec<Vec<ButtonIo>>,
    pub media_id: Option<u64>,
    /// Length of `text` as Telegram counts it, and the limit that applies.
    pub length: usize,
    pub limit: usize,
}

/// The message as a group would get it now: variables filled, markup turned into entities.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/templates/{template_id}/preview", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id"), ("template_id" = u64, Path, description = "Template id")),
    request_body = PreviewIn,
    responses((status = 200, body = PreviewOut), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn preview_template(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiPath(ids): ApiPath<(u64, u64)>,
    ApiJson(b): ApiJson<PreviewIn>,
) -> AppResult<Json<PreviewOut>> {
    let id = TemplateId(ids.1);
    let now = st.now();
    let p = blocking(move || {
        let settings = crate::domain::tenancy::settings(&t.scope)?;
        let s = t.scope.shard_read()?;
        let rec = s.template(id)?.ok_or(AppError::NotFound("template"))?;
        let v = s
            .template_version(id, b.version.unwrap_or(rec.latest))?
            .ok_or(AppError::NotFound("template version"))?;
        templates::prepare(&s, &settings, &v, ChatId(b.chat_id), now)
    })
    .await?;
    let (text, entities) = templates::entities(&p.body, p.format);
    let length = templates::markup::visible_len(&text);
    Ok(Json(PreviewOut {
        text,
        entities: entities.into_iter().map(Into::into).collect(),
        buttons: buttons_io(p.buttons),
        limit: if p.media.is_some() {
            templates::MAX_CAPTION
        } else {
            templates::MAX_TEXT
        },
        media_id: p.media.map(|(m, _)| m.0),
        length,
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesBody {
    /// Name → value. Names are lower-case letters, digits and `_`; values up to 1,000
    /// characters; at most 50.
    pub variables: BTreeMap<String, String>,
}

/// The tenant's own template variables.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/variables", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id")),
    responses((status = 200, body = VariablesBody), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn get_variables(t: TenantCtx) -> AppResult<Json<VariablesBody>> {
    let v = blocking(move || Ok(t.scope.shard_read()?.variables()?)).await?;
    Ok(Json(VariablesBody {
        variables: v.vars.into_iter().collect(),
    }))
}

/// Replaces the tenant's variables; removing one a template still uses is refused (409).
#[utoipa::path(put, path = "/api/v1/tenants/{id}/variables", tag = "templates",
    params(("id" = u64, Path, description = "Tenant id")),
    request_body = VariablesBody,
    responses((status = 200, body = VariablesBody), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
async fn put_variables(
    State(st): State<Shared>,
    t: TenantCtx,
    ApiJson(b): ApiJson<VariablesBody>,
) -> AppResult<Json<VariablesBody>> {
    let (tenant, now) = (t.scope.tenant_id(), st.now());
    let scope = t.scope;
    let rec =
        blocking(move || templates::set_variables(&scope, b.variables.into_iter().collect(), now))
            .await?;
    st.supervisor.push_rules(tenant).await;
    Ok(Json(VariablesBody {
        variables: rec.vars.into_iter().collect(),
    }))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TemplateFormat)]
pub enum FormatIo {
    Markdown,
    Html,
}

impl From<FormatIo> for templates::TemplateFormat {
    fn from(f: FormatIo) -> Self {
        match f {
            FormatIo::Markdown => templates::TemplateFormat::Markdown,
            FormatIo::Html => templates::TemplateFormat::Html,
        }
    }
}

impl From<templates::TemplateFormat> for FormatIo {
    fn from(f: templates::TemplateFormat) -> Self {
        match f {
            templates::TemplateFormat::Markdown => FormatIo::Markdown,
            templates::TemplateFormat::Html => FormatIo::Html,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Button)]
pub struct ButtonIo {
    pub label: String,
    /// `https://` only.
    pub url: String,
}

fn buttons_in(rows: Vec<Vec<ButtonIo>>) -> Vec<Vec<templates::Button>> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .map(|b| templates::Button {
                    label: b.label,
                    url: b.url,
                })
                .collect()
        })
        .collect()
}

fn buttons_io(rows: Vec<Vec<templates::Button>>) -> Vec<Vec<ButtonIo>> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .map(|b| ButtonIo {
                    label: b.label,
                    url: b.url,
                })
                .collect()
        })
        .collect()
}

/// A formatting span of a rendered message, as Telegram will receive it (offsets and lengths
/// in UTF-16 code units).
#[derive(Serialize, ToSchema)]
#[schema(as = Entity)]
pub struct EntityOut {
    /// bold, italic, underline, strikethrough, spoiler, code, pre, text_url, url, email,
    /// mention, hashtag, blockquote, custom_emoji …
    pub kind: &'static str,
    pub offset: i32,
    pub length: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl From<templates::Entity> for EntityOut {
    fn from(e: templates::Entity) -> Self {
        EntityOut {
            kind: e.kind,
            offset: e.offset,
            length: e.length,
            url: e.url,
            language: e.language,
        }
    }
}
