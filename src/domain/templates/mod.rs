//! Message templates: saved in versions, checked at save time the way Telegram will render
//! them (markup, length, variables, buttons), and rendered for a group at send time.

pub mod markup;
pub mod vars;

use std::collections::HashMap;

use botyard_shards::ids::{ChatId, MediaId, TemplateId};
use botyard_shards::records::{
    ButtonRec, Language, MediaRec, TemplateFormatRec, TemplateRec, TemplateVersionRec, VariablesRec,
};
use botyard_shards::{TenantScope, TenantShard};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Telegram's limits on a message.
pub const MAX_TEXT: usize = 4_096;
pub const MAX_CAPTION: usize = 1_024;
/// The body as saved, markup included (Telegram's limits count what is shown).
pub const MAX_BODY_BYTES: usize = 32 * 1024;
pub const MAX_NAME: usize = 100;
/// Inline keyboard limits: rows, buttons per row, label length.
pub const MAX_ROWS: usize = 10;
pub const MAX_PER_ROW: usize = 8;
pub const MAX_LABEL: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateFormat {
    Markdown,
    Html,
}

impl From<TemplateFormat> for TemplateFormatRec {
    fn from(f: TemplateFormat) -> Self {
        match f {
            TemplateFormat::Markdown => TemplateFormatRec::Markdown,
            TemplateFormat::Html => TemplateFormatRec::Html,
        }
    }
}

impl From<TemplateFormatRec> for TemplateFormat {
    fn from(f: TemplateFormatRec) -> Self {
        match f {
            TemplateFormatRec::Markdown => TemplateFormat::Markdown,
            TemplateFormatRec::Html => TemplateFormat::Html,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Button {
    pub label: String,
    /// `https://` only.
    pub url: String,
}

/// What a tenant saves as a template's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    pub body: String,
    pub format: TemplateFormat,
    pub buttons: Vec<Vec<Button>>,
    /// A file from the tenant's media folder; the text is then its caption.
    pub media: Option<MediaId>,
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a template's content against Telegram's rules and the tenant's variables; `media`
/// is the record of the file it carries, if any.
pub fn check(c: &Content, custom: &[(String, String)], media: Option<&MediaRec>) -> AppResult<()> {
    if c.media.is_some() && media.is_none() {
        return Err(invalid("template.media", "media_id", "no such media file"));
    }
    if c.body.len() > MAX_BODY_BYTES {
        return Err(invalid(
            "template.too_long",
            "body",
            format!(
                "the text with its markup is {} bytes; at most {MAX_BODY_BYTES}",
                c.body.len()
            ),
        ));
    }
    if c.body.trim().is_empty() && media.is_none() {
        return Err(invalid("template.empty", "body", "the text is empty"));
    }
    vars::check(&c.body, custom).map_err(|e| {
        invalid(
            "template.unknown_variable",
            "body",
            format!("at character {}: {}", e.position, e.message),
        )
    })?;
    markup::validate(&c.body, c.format).map_err(|e| {
        invalid(
            "template.markup",
            "body",
            format!("at character {}: {}", e.position, e.message),
        )
    })?;
    let shown = visible_text(&c.body, c.format);
    let n = markup::visible_len(&shown);
    let (max, what) = if media.is_some() {
        (MAX_CAPTION, "a caption")
    } else {
        (MAX_TEXT, "a text")
    };
    if n > max {
        return Err(invalid(
            "template.too_long",
            "body",
            format!("the text is {n} characters; Telegram allows {max} in {what}"),
        ));
    }
    check_buttons(&c.buttons)
}

/// A saved version's buttons, as content again.
pub fn buttons_of(v: &TemplateVersionRec) -> Vec<Vec<Button>> {
    v.buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| Button {
                    label: b.label.clone(),
                    url: b.url.clone(),
                })
                .collect()
        })
        .collect()
}

pub fn check_buttons(rows: &[Vec<Button>]) -> AppResult<()> {
    if rows.len() > MAX_ROWS {
        return Err(invalid(
            "template.buttons",
            "buttons",
            format!("at most {MAX_ROWS} rows of buttons"),
        ));
    }
    for (r, row) in rows.iter().enumerate() {
        if row.is_empty() || row.len() > MAX_PER_ROW {
            return Err(invalid(
                "template.buttons",
                &format!("buttons[{r}]"),
                format!("a row holds 1 to {MAX_PER_ROW} buttons"),
            ));
        }
        for (i, b) in row.iter().enumerate() {
            let field = format!("buttons[{r}][{i}]");
            let label = b.label.trim();
            if label.is_empty() || label.chars().count() > MAX_LABEL {
                return Err(invalid(
                    "template.buttons",
                    &field,
                    format!("a label has 1 to {MAX_LABEL} characters"),
                ));
            }
            let ok = b.url.len() <= 2_048
                && !b.url.chars().any(char::is_whitespace)
                && b.url.parse::<http::Uri>().is_ok_and(|u| {
                    u.scheme_str() == Some("https") && u.host().is_some_and(|h| !h.is_empty())
                });
            if !ok {
                return Err(invalid(
                    "template.button_url",
                    &field,
                    "a button opens an https:// address",
                ));
            }
        }
    }
    Ok(())
}

/// The text Telegram shows, markup removed.
pub fn visible_text(body: &str, format: TemplateFormat) -> String {
    match format {
        TemplateFormat::Markdown => grammers_client::parsers::parse_markdown_message(body).0,
        TemplateFormat::Html => grammers_client::parsers::parse_html_message(body).0,
    }
}

fn clean_name(name: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(invalid(
            "validation.invalid",
            "name",
            format!("1 to {MAX_NAME} characters"),
        ));
    }
    crate::domain::names::check_visible("name", n)?;
    Ok(n.to_string())
}

fn version_rec(c: Content, now: i64, author: Option<u64>) -> TemplateVersionRec {
    TemplateVersionRec {
        body: c.body,
        format: c.format.into(),
        buttons: c
            .buttons
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|b| ButtonRec {
                        label: b.label.trim().to_string(),
                        url: b.url,
                    })
                    .collect()
            })
            .collect(),
        created_at: now,
        author,
        media: c.media,
    }
}

fn check_in<T: botyard_shards::Reader>(s: &TenantShard<T>, c: &Content) -> AppResult<()> {
    let media = match c.media {
        Some(id) => s.media(id)?,
        None => None,
    };
    check(c, &s.variables()?.vars, media.as_ref())
}

/// Adds a template, within the plan's limit on their number.
pub fn create(
    scope: &TenantScope,
    limit: Option<u32>,
    name: &str,
    c: Content,
    now: i64,
    author: Option<u64>,
) -> AppResult<(TemplateId, TemplateRec, TemplateVersionRec)> {
    let name = clean_name(name)?;
    scope.shard_write(|s| {
        check_in(s, &c)?;
        if let Some(limit) = limit
            && s.templates()?.len() >= limit as usize
        {
            return Err(AppError::Conflict {
                code: "plan.template_limit",
                message: format!("the plan allows {limit} templates"),
            });
        }
        let v = version_rec(c, now, author);
        let id = s.insert_template(&name, &v)?;
        let rec = s.template(id)?.ok_or(AppError::NotFound("template"))?;
        Ok((id, rec, v))
    })
}

/// Saves an edit: new content is a new version; a name alone renames.
pub fn update(
    scope: &TenantScope,
    id: TemplateId,
    name: Option<&str>,
    c: Option<Content>,
    now: i64,
    author: Option<u64>,
) -> AppResult<(TemplateRec, TemplateVersionRec)> {
    let name = name.map(clean_name).transpose()?;
    scope.shard_write(|s| {
        let Some(old) = s.template(id)? else {
            return Err(AppError::NotFound("template"));
        };
        let rec = match c {
            Some(c) => {
                check_in(s, &c)?;
                s.add_template_version(id, name.as_deref(), &version_rec(c, now, author))?
            }
            None => match name {
                Some(n) => s.rename_template(id, &n, now)?,
                None => old,
            },
        };
        let v = s
            .template_version(id, rec.latest)?
            .ok_or(AppError::NotFound("template version"))?;
        Ok((rec, v))
    })
}

/// Deletes a template with its versions; refused while a campaign uses it.
pub fn delete(scope: &TenantScope, id: TemplateId) -> AppResult<()> {
    scope.shard_write(|s| {
        if let Some((cid, c)) = s.campaigns()?.into_iter().find(|(_, c)| c.template == id) {
            return Err(AppError::Conflict {
                code: "template.in_use",
                message: format!("campaign {cid} ({}) uses this template", c.name),
            });
        }
        if let Some((rid, r)) = crate::domain::rules::manage::using_template(s, id)? {
            return Err(AppError::Conflict {
                code: "template.in_use",
                message: format!("rule {} ({}) replies with this template", rid.0, r.name),
            });
        }
        if s.delete_template(id)? {
            Ok(())
        } else {
            Err(AppError::NotFound("template"))
        }
    })
}

/// The tenant's own variables, replaced as a whole. A variable still used by a template
/// cannot be removed.
pub fn set_variables(
    scope: &TenantScope,
    vars: Vec<(String, String)>,
    now: i64,
) -> AppResult<VariablesRec> {
    if vars.len() > vars::MAX_CUSTOM {
        return Err(invalid(
            "variables.too_many",
            "variables",
            format!("at most {}", vars::MAX_CUSTOM),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (n, v) in &vars {
        if !vars::valid_name(n) || vars::BUILT_IN.contains(&n.as_str()) {
            return Err(invalid(
                "variables.name",
                &format!("variables.{n}"),
                "a name is lower-case letters, digits and _ (up to 32), starting with a letter",
            ));
        }
        if v.chars().count() > vars::MAX_VALUE {
            return Err(invalid(
                "variables.value",
                &format!("variables.{n}"),
                format!("at most {} characters", vars::MAX_VALUE),
            ));
        }
        if !seen.insert(n.clone()) {
            return Err(invalid(
                "variables.duplicate",
                &format!("variables.{n}"),
                "named twice",
            ));
        }
    }
    scope.shard_write(|s| {
        for (id, t) in s.templates()? {
            let Some(v) = s.template_version(id, t.latest)? else {
                continue;
            };
            if let Err(e) = vars::check(&v.body, &vars) {
                return Err(AppError::Conflict {
                    code: "variables.in_use",
                    message: format!("template {id} ({}) still uses it: {}", t.name, e.message),
                });
            }
        }
        let rec = VariablesRec {
            vars,
            updated_at: now,
        };
        s.put_variables(&rec)?;
        Ok(rec)
    })
}

/// What a placeholder is filled from at send time.
pub struct RenderContext<'a> {
    pub group_title: &'a str,
    pub group_members: u32,
    pub tenant_name: &'a str,
    pub time_zone: &'a str,
    pub language: Language,
    /// Unix seconds.
    pub at: i64,
    pub custom: &'a [(String, String)],
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_TR: [&str; 12] = [
    "Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim",
    "Kasım", "Aralık",
];

/// `{date}` and `{time}` in the tenant's zone and language ("28 Kasım 2026", "14:05").
pub fn date_time(at: i64, zone: &str, language: Language) -> (String, String) {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let z = jiff::Timestamp::from_second(at)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz);
    let month = usize::try_from(z.month() - 1).unwrap_or(0).min(11);
    let date = match language {
        Language::Tr => format!("{} {} {}", z.day(), MONTHS_TR[month], z.year()),
        Language::En => format!("{} {} {}", z.day(), MONTHS_EN[month], z.year()),
    };
    (date, format!("{:02}:{:02}", z.hour(), z.minute()))
}

// Escaping is the worker's, so a rule's reply and a campaign post escape alike.
use crate::worker::rules::fill::{escape_html, escape_markdown};

/// A template's body with its placeholders filled for one group.
pub fn render(body: &str, format: TemplateFormat, cx: &RenderContext<'_>) -> AppResult<String> {
    let (date, time) = date_time(cx.at, cx.time_zone, cx.language);
    let mut values: HashMap<&str, String> = HashMap::new();
    values.insert("group.title", cx.group_title.to_string());
    values.insert("group.members", cx.group_members.to_string());
    values.insert("tenant.name", cx.tenant_name.to_string());
    values.insert("date", date);
    values.insert("time", time);
    for (n, v) in cx.custom {
        values.insert(n.as_str(), v.clone());
    }
    let escape = match format {
        TemplateFormat::Html => escape_html as fn(&str) -> String,
        TemplateFormat::Markdown => escape_markdown,
    };
    vars::render(body, &values, escape).map_err(|e| {
        invalid(
            "template.markup",
            "body",
            format!("at character {}: {}", e.position, e.message),
        )
    })
}

/// A formatting span of a rendered message, as Telegram will receive it (offsets and lengths
/// in UTF-16 code units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entity {
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

/// The plain text and entities Telegram will get for a rendered body.
pub fn entities(rendered: &str, format: TemplateFormat) -> (String, Vec<Entity>) {
    use grammers_client::tl::enums::MessageEntity as E;
    let (text, list) = match format {
        TemplateFormat::Markdown => grammers_client::parsers::parse_markdown_message(rendered),
        TemplateFormat::Html => grammers_client::parsers::parse_html_message(rendered),
    };
    let out = list
        .into_iter()
        .map(|e| {
            let (kind, offset, length, url, language) = match e {
                E::Bold(x) => ("bold", x.offset, x.length, None, None),
                E::Italic(x) => ("italic", x.offset, x.length, None, None),
                E::Underline(x) => ("underline", x.offset, x.length, None, None),
                E::Strike(x) => ("strikethrough", x.offset, x.length, None, None),
                E::Spoiler(x) => ("spoiler", x.offset, x.length, None, None),
                E::Code(x) => ("code", x.offset, x.length, None, None),
                E::Pre(x) => ("pre", x.offset, x.length, None, Some(x.language)),
                E::TextUrl(x) => ("text_url", x.offset, x.length, Some(x.url), None),
                E::Url(x) => ("url", x.offset, x.length, None, None),
                E::Email(x) => ("email", x.offset, x.length, None, None),
                E::Mention(x) => ("mention", x.offset, x.length, None, None),
                E::Hashtag(x) => ("hashtag", x.offset, x.length, None, None),
                E::Blockquote(x) => ("blockquote", x.offset, x.length, None, None),
                E::CustomEmoji(x) => ("custom_emoji", x.offset, x.length, None, None),
                E::MentionName(x) => ("mention_name", x.offset, x.length, None, None),
                other => (
                    "other",
                    other_offset(&other).0,
                    other_offset(&other).1,
                    None,
                    None,
                ),
            };
            Entity {
                kind,
                offset,
                length,
                url,
                language: language.filter(|l| !l.is_empty()),
            }
        })
        .collect();
    (text, out)
}

fn other_offset(e: &grammers_client::tl::enums::MessageEntity) -> (i32, i32) {
    use grammers_client::tl::enums::MessageEntity as E;
    match e {
        E::Unknown(x) => (x.offset, x.length),
        E::BotCommand(x) => (x.offset, x.length),
        E::Cashtag(x) => (x.offset, x.length),
        E::Phone(x) => (x.offset, x.length),
        E::BankCard(x) => (x.offset, x.length),
        _ => (0, 0),
    }
}

/// A template version made ready for one group: placeholders filled for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub body: String,
    pub format: TemplateFormat,
    pub buttons: Vec<Vec<Button>>,
    pub media: Option<(MediaId, MediaRec)>,
}

/// A template's buttons as the worker sends them (URL buttons).
pub fn url_buttons(rows: Vec<Vec<Button>>) -> Vec<Vec<crate::worker::telegram::UrlButton>> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|b| crate::worker::telegram::UrlButton {
                    label: b.label,
                    url: b.url,
                    web_app: false,
                    data: None,
                })
                .collect()
        })
        .collect()
}

/// An unsaved draft as Telegram would show it: checked like a saved one, filled for the
/// tenant's first enabled group (any group when none is, a sample name when it has none).
pub fn preview_draft<T: botyard_shards::Reader>(
    s: &TenantShard<T>,
    settings: &botyard_shards::records::SettingsRec,
    body: &str,
    format: TemplateFormat,
    at: i64,
) -> AppResult<(String, Vec<Entity>)> {
    let custom = s.variables()?.vars;
    let c = Content {
        body: body.to_string(),
        format,
        buttons: Vec::new(),
        media: None,
    };
    check(&c, &custom, None)?;
    let groups = s.groups()?;
    let g = groups
        .iter()
        .find(|(_, g)| g.enabled && g.present)
        .or(groups.first());
    let (title, members) = g.map_or(("Grup".to_string(), 0), |(_, g)| {
        (g.title.clone(), g.members)
    });
    let cx = RenderContext {
        group_title: &title,
        group_members: members,
        tenant_name: &settings.display_name,
        time_zone: &settings.time_zone,
        language: settings.language,
        at,
        custom: &custom,
    };
    let rendered = render(body, format, &cx)?;
    Ok(entities(&rendered, format))
}

/// Fills a version for `chat` from the tenant's settings, variables and the group's facts.
pub fn prepare<T: botyard_shards::Reader>(
    s: &TenantShard<T>,
    settings: &botyard_shards::records::SettingsRec,
    v: &TemplateVersionRec,
    chat: ChatId,
    at: i64,
) -> AppResult<Prepared> {
    let g = s.group(chat)?.ok_or(AppError::NotFound("group"))?;
    let custom = s.variables()?.vars;
    let format = TemplateFormat::from(v.format);
    let cx = RenderContext {
        group_title: &g.title,
        group_members: g.members,
        tenant_name: &settings.display_name,
        time_zone: &settings.time_zone,
        language: settings.language,
        at,
        custom: &custom,
    };
    let body = render(&v.body, format, &cx)?;
    let media = match v.media {
        Some(id) => s.media(id)?.map(|m| (id, m)),
        None => None,
    };
    Ok(Prepared {
        body,
        format,
        buttons: v
            .buttons
            .iter()
            .map(|row| {
                row.iter()
                    .map(|b| Button {
                        label: b.label.clone(),
                        url: b.url.clone(),
                    })
                    .collect()
            })
            .collect(),
        media,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_tenants_zone_and_language() {
        // 2026-03-29 00:30 UTC: 03:30 in Istanbul (UTC+3 all year); London moves its clocks
        // forward at 01:00 UTC that night, so it still reads 00:30.
        let at = 1_774_744_200;
        assert_eq!(
            date_time(at, "Europe/Istanbul", Language::Tr),
            ("29 Mart 2026".to_string(), "03:30".to_string())
        );
        assert_eq!(
            date_time(at, "Europe/London", Language::En),
            ("29 March 2026".to_string(), "00:30".to_string())
        );
    }

    #[test]
    fn values_cannot_add_markup() {
        let cx = RenderContext {
            group_title: "*Moda* <b>",
            group_members: 340,
            tenant_name: "Zeynep",
            time_zone: "UTC",
            language: Language::En,
            at: 0,
            custom: &[],
        };
        let md = render(
            "**{group.title}** {group.members}",
            TemplateFormat::Markdown,
            &cx,
        );
        let md = md.unwrap();
        assert_eq!(
            visible_text(&md, TemplateFormat::Markdown),
            "*Moda* <b> 340"
        );
        let html = render("<b>{group.title}</b>", TemplateFormat::Html, &cx).unwrap();
        assert_eq!(visible_text(&html, TemplateFormat::Html), "*Moda* <b>");
    }

    #[test]
    fn length_and_buttons_are_checked() {
        let long = Content {
            body: "a".repeat(MAX_TEXT + 1),
            format: TemplateFormat::Markdown,
            buttons: Vec::new(),
            media: None,
        };
        let e = check(&long, &[], None).unwrap_err();
        assert!(e.to_string().contains("4097"), "{e}");
        let bad = Content {
            body: "x".into(),
            format: TemplateFormat::Html,
            buttons: vec![vec![Button {
                label: "Site".into(),
                url: "http://x.tr".into(),
            }]],
            media: None,
        };
        assert!(matches!(
            check(&bad, &[], None),
            Err(AppError::Invalid {
                code: "template.button_url",
                ..
            })
        ));
    }
}
