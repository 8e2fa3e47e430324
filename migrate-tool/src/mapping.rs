//! The mapping file: which table and columns of a legacy bot's database hold what.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::MigrateError;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub bot: Option<BotMap>,
    #[serde(default)]
    pub tenant: TenantMap,
    pub groups: Option<GroupsMap>,
    pub templates: Option<TemplatesMap>,
    pub schedules: Option<SchedulesMap>,
    pub users: Option<UsersMap>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotMap {
    pub token: Option<ValueAt>,
    pub session_file: Option<PathBuf>,
    #[serde(default = "default_label")]
    pub label: String,
}

fn default_label() -> String {
    "Imported bot".into()
}

/// One column of the one row a condition picks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueAt {
    pub table: String,
    pub column: String,
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantMap {
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupsMap {
    pub table: String,
    pub chat_id: String,
    pub title: String,
    pub kind: Option<String>,
    pub enabled: Option<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesMap {
    pub table: String,
    pub id: String,
    pub name: String,
    pub text: String,
    pub format: Option<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulesMap {
    pub table: String,
    pub id: String,
    pub template: String,
    pub name: Option<String>,
    pub chat_id: Option<String>,
    pub interval_minutes: Option<String>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub enabled: Option<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersMap {
    pub table: String,
    pub user_id: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub messages: Option<String>,
    pub first_seen: Option<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
}

impl Mapping {
    /// Reads and checks a mapping file; a session file is taken relative to it.
    pub fn load(path: &Path) -> Result<Mapping, MigrateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MigrateError::Input(format!("{}: {e}", path.display())))?;
        let mut m: Mapping = toml::from_str(&text)
            .map_err(|e| MigrateError::Input(format!("{}: {e}", path.display())))?;
        if let Some(b) = m.bot.as_mut() {
            if b.token.is_some() == b.session_file.is_some() {
                return Err(MigrateError::Input(format!(
                    "{}: [bot] needs either token or session_file",
                    path.display()
                )));
            }
            if let Some(f) = b.session_file.as_mut()
                && f.is_relative()
            {
                *f = path.parent().unwrap_or(Path::new(".")).join(&*f);
            }
        }
        if let Some(s) = &m.schedules
            && s.interval_minutes.is_none()
            && s.cron.is_none()
        {
            return Err(MigrateError::Input(format!(
                "{}: [schedules] needs interval_minutes or cron",
                path.display()
            )));
        }
        if let Some(z) = &m.tenant.time_zone {
            jiff::tz::TimeZone::get(z).map_err(|_| {
                MigrateError::Input(format!("{}: no time zone {z}", path.display()))
            })?;
        }
        Ok(m)
    }
}
