//! Reading a legacy bot's database through its mapping, read-only. Each row becomes what
//! botyard keeps, or a problem that names the row and why it cannot be mapped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use crate::MigrateError;
use crate::mapping::Mapping;
use crate::markup;

/// Where the bot's session comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotSource {
    Token(String),
    SessionFile(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub chat_id: i64,
    pub title: String,
    pub kind: &'static str,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub legacy_id: String,
    pub name: String,
    /// Always HTML: legacy Markdown and plain text are converted, so they look as they did.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub legacy_id: String,
    pub name: String,
    pub template: String,
    pub chat_id: Option<i64>,
    pub every_minutes: Option<u32>,
    pub cron: Option<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub messages: u64,
    pub first_seen: Option<String>,
}

/// A row that cannot be mapped: its table's kind, its id, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: &'static str,
    pub row: String,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Legacy {
    pub bot: Option<BotSource>,
    pub time_zone: Option<String>,
    pub groups: Vec<Group>,
    pub templates: Vec<Template>,
    pub schedules: Vec<Schedule>,
    pub users: Vec<User>,
    pub problems: Vec<Problem>,
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `SELECT rowid, cols… FROM table [WHERE filter]`; a missing optional column reads NULL.
fn select(
    db: &Connection,
    table: &str,
    cols: &[Option<&str>],
    filter: Option<&str>,
) -> Result<Vec<Vec<Value>>, MigrateError> {
    // SQLite reads a double-quoted name that is no column as a string: check the names first.
    let known: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .and_then(|mut st| {
            st.query_map([table], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(|e| MigrateError::Input(format!("{table}: {e}")))?;
    if known.is_empty() {
        return Err(MigrateError::Input(format!(
            "the database has no table {table} (the mapping names it)"
        )));
    }
    if let Some(missing) = cols
        .iter()
        .flatten()
        .find(|c| !known.iter().any(|k| k == *c))
    {
        return Err(MigrateError::Input(format!(
            "the table {table} has no column {missing} (the mapping names it); it has: {}",
            known.join(", ")
        )));
    }
    let list: Vec<String> = cols
        .iter()
        .map(|c| c.map_or_else(|| "NULL".to_string(), ident))
        .collect();
    let mut sql = format!("SELECT rowid, {} FROM {}", list.join(", "), ident(table));
    if let Some(f) = filter {
        sql.push_str(&format!(" WHERE ({f})"));
    }
    sql.push_str(" ORDER BY rowid");
    let mut st = db
        .prepare(&sql)
        .map_err(|e| MigrateError::Input(format!("{table}: {e}")))?;
    let n = cols.len() + 1;
    let rows = st
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .map_err(|e| MigrateError::Input(format!("{table}: {e}")))?;
    rows.collect::<Result<Vec<Vec<Value>>, _>>()
        .map_err(|e| MigrateError::Input(format!("{table}: {e}")))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        Value::Real(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        Value::Integer(i) => Some(i.to_string()),
        _ => None,
    }
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

fn flag(v: &Value, default: bool) -> bool {
    match v {
        Value::Null => default,
        Value::Integer(i) => *i != 0,
        Value::Text(t) => matches!(t.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
        _ => default,
    }
}

/// A row's id for the report: the id column's value, else its rowid.
fn row_id(row: &[Value], id_col: Option<usize>) -> String {
    id_col
        .and_then(|i| row.get(i))
        .and_then(text)
        .or_else(|| row.first().and_then(int).map(|r| format!("rowid {r}")))
        .unwrap_or_default()
}

/// A moment as RFC 3339: unix seconds, `YYYY-MM-DD HH:MM:SS` (UTC) or RFC 3339.
fn moment(v: &Value) -> Option<String> {
    if let Value::Integer(s) = v {
        return jiff::Timestamp::from_second(*s).ok().map(|t| t.to_string());
    }
    let t = text(v)?;
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.to_string());
    }
    let dt = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", &t).ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(dt)
        .ok()
        .map(|t| t.to_string())
}

/// Reads everything the mapping names from `db`.
pub fn read(db_path: &Path, m: &Mapping) -> Result<Legacy, MigrateError> {
    let db = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| MigrateError::Input(format!("{}: {e}", db_path.display())))?;
    let mut out = Legacy {
        time_zone: m.tenant.time_zone.clone(),
        ..Legacy::default()
    };
    if let Some(b) = &m.bot {
        out.bot = match (&b.token, &b.session_file) {
            (Some(at), _) => {
                let rows = select(&db, &at.table, &[Some(&at.column)], at.filter.as_deref())?;
                match rows.as_slice() {
                    [row] => row.get(1).and_then(text).map(BotSource::Token),
                    _ => {
                        out.problems.push(Problem {
                            kind: "bot",
                            row: at.table.clone(),
                            why: format!(
                                "the token condition matches {} rows, not one",
                                rows.len()
                            ),
                        });
                        None
                    }
                }
            }
            (None, Some(f)) => Some(BotSource::SessionFile(f.clone())),
            (None, None) => None,
        };
    }
    if let Some(g) = &m.groups {
        read_groups(&db, g, &mut out)?;
    }
    if let Some(t) = &m.templates {
        read_templates(&db, t, &mut out)?;
    }
    if let Some(s) = &m.schedules {
        read_schedules(&db, s, &mut out)?;
    }
    if let Some(u) = &m.users {
        read_users(&db, u, &mut out)?;
    }
    Ok(out)
}

fn read_groups(
    db: &Connection,
    g: &crate::mapping::GroupsMap,
    out: &mut Legacy,
) -> Result<(), MigrateError> {
    let cols = [
        Some(g.chat_id.as_str()),
        Some(g.title.as_str()),
        g.kind.as_deref(),
        g.enabled.as_deref(),
    ];
    let mut seen = HashSet::new();
    for row in select(db, &g.table, &cols, g.filter.as_deref())? {
        let id = row_id(&row, Some(1));
        let mut bad = |why: String| {
            out.problems.push(Problem {
                kind: "groups",
                row: id.clone(),
                why,
            })
        };
        let Some(chat_id) = int(&row[1]) else {
            bad("the chat id is not a number".into());
            continue;
        };
        let kind = match text(&row[3]).map(|k| k.to_ascii_lowercase()).as_deref() {
            None if chat_id < -1_000_000_000_000 => "supergroup",
            None if chat_id < 0 => "group",
            Some("supergroup") => "supergroup",
            Some("group") => "group",
            Some("channel") => "channel",
            Some(other) => {
                bad(format!("a {other} chat is not a group or channel"));
                continue;
            }
            None => {
                bad("a positive id is a private chat, not a group".into());
                continue;
            }
        };
        let Some(title) = text(&row[2]) else {
            bad("the chat has no title".into());
            continue;
        };
        if !seen.insert(chat_id) {
            bad("the chat is listed twice".into());
            continue;
        }
        out.groups.push(Group {
            chat_id,
            title,
            kind,
            enabled: flag(&row[4], true),
        });
    }
    Ok(())
}

fn read_templates(
    db: &Connection,
    t: &crate::mapping::TemplatesMap,
    out: &mut Legacy,
) -> Result<(), MigrateError> {
    let cols = [
        Some(t.id.as_str()),
        Some(t.name.as_str()),
        Some(t.text.as_str()),
        t.format.as_deref(),
    ];
    let mut names = HashSet::new();
    for row in select(db, &t.table, &cols, t.filter.as_deref())? {
        let id = row_id(&row, Some(1));
        let mut bad = |why: String| {
            out.problems.push(Problem {
                kind: "templates",
                row: id.clone(),
                why,
            })
        };
        let name = text(&row[2]).unwrap_or_else(|| format!("Template {id}"));
        let Some(raw) = text(&row[3]) else {
            bad("the text is empty".into());
            continue;
        };
        let body = match text(&row[4]).map(|f| f.to_ascii_lowercase()).as_deref() {
            None | Some("none") | Some("plain") => Ok(markup::escape(&raw)),
            Some("html") => Ok(raw),
            Some("markdown") => markup::markdown_to_html(&raw, false),
            Some("markdownv2") => markup::markdown_to_html(&raw, true),
            Some(other) => Err(format!("unknown parse mode {other}")),
        };
        let body = match body {
            Ok(b) => b,
            Err(why) => {
                bad(why);
                continue;
            }
        };
        if !names.insert(name.clone()) {
            bad(format!("another template is named {name}"));
            continue;
        }
        out.templates.push(Template {
            legacy_id: id,
            name,
            body,
        });
    }
    Ok(())
}

fn read_schedules(
    db: &Connection,
    s: &crate::mapping::SchedulesMap,
    out: &mut Legacy,
) -> Result<(), MigrateError> {
    let cols = [
        Some(s.id.as_str()),
        Some(s.template.as_str()),
        s.name.as_deref(),
        s.chat_id.as_deref(),
        s.interval_minutes.as_deref(),
        s.cron.as_deref(),
        s.time_zone.as_deref(),
        s.enabled.as_deref(),
    ];
    let groups: HashSet<i64> = out.groups.iter().map(|g| g.chat_id).collect();
    for row in select(db, &s.table, &cols, s.filter.as_deref())? {
        let id = row_id(&row, Some(1));
        let mut bad = |why: String| {
            out.problems.push(Problem {
                kind: "schedules",
                row: id.clone(),
                why,
            })
        };
        let template = text(&row[2]).unwrap_or_default();
        let Some(t) = out.templates.iter().find(|t| t.legacy_id == template) else {
            bad(format!("its template {template} is not imported"));
            continue;
        };
        let chat_id = match (&row[4], int(&row[4])) {
            (Value::Null, _) => None,
            (_, Some(c)) if groups.contains(&c) => Some(c),
            (_, Some(c)) => {
                bad(format!("its chat {c} is not an imported group"));
                continue;
            }
            (_, None) => {
                bad("its chat id is not a number".into());
                continue;
            }
        };
        let every = int(&row[5]);
        let cron = text(&row[6]);
        let (every_minutes, cron) = match (every, cron) {
            (Some(m), None) if (10..=10_080).contains(&m) => (Some(m as u32), None),
            (Some(m), None) => {
                bad(format!(
                    "every {m} minutes: botyard posts every 10 to 10080 minutes"
                ));
                continue;
            }
            (None, Some(c)) if c.split_whitespace().count() == 5 => (None, Some(c)),
            (None, Some(c)) => {
                bad(format!(
                    "cron \"{c}\" does not have five fields (minute hour day month weekday)"
                ));
                continue;
            }
            (Some(_), Some(_)) => {
                bad("it has both an interval and a cron".into());
                continue;
            }
            (None, None) => {
                bad("it has neither an interval nor a cron".into());
                continue;
            }
        };
        if let Some(z) = text(&row[7]) {
            if jiff::tz::TimeZone::get(&z).is_err() {
                bad(format!("there is no time zone {z}"));
                continue;
            }
            match &out.time_zone {
                None => out.time_zone = Some(z),
                Some(tz) if *tz == z => {}
                Some(tz) => {
                    bad(format!("it runs in {z}; the tenant's time zone is {tz}"));
                    continue;
                }
            }
        }
        let name = text(&row[3]).unwrap_or_else(|| format!("{} (schedule {id})", t.name));
        out.schedules.push(Schedule {
            legacy_id: id,
            name,
            template: template.clone(),
            chat_id,
            every_minutes,
            cron,
            enabled: flag(&row[8], true),
        });
    }
    Ok(())
}

fn read_users(
    db: &Connection,
    u: &crate::mapping::UsersMap,
    out: &mut Legacy,
) -> Result<(), MigrateError> {
    let cols = [
        Some(u.user_id.as_str()),
        Some(u.first_name.as_str()),
        u.last_name.as_deref(),
        u.username.as_deref(),
        u.messages.as_deref(),
        u.first_seen.as_deref(),
    ];
    for row in select(db, &u.table, &cols, u.filter.as_deref())? {
        let id = row_id(&row, Some(1));
        let mut bad = |why: String| {
            out.problems.push(Problem {
                kind: "users",
                row: id.clone(),
                why,
            })
        };
        let Some(user_id) = int(&row[1]).filter(|u| *u > 0) else {
            bad("the user id is not a positive number".into());
            continue;
        };
        let first_name = text(&row[2]).unwrap_or_default();
        out.users.push(User {
            user_id,
            first_name,
            last_name: text(&row[3]),
            username: text(&row[4]).map(|u| u.trim_start_matches('@').to_string()),
            messages: int(&row[5]).unwrap_or(0).max(0) as u64,
            first_seen: moment(&row[6]),
        });
    }
    Ok(())
}
