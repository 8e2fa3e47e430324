//! The PostgreSQL side: one table per kind of row, each with `tenant_id`, its key columns
//! and the record (`data jsonb`) or count; keys, foreign keys, the statistics' indexes,
//! comments, and row-level security forced on every tenant table.

use std::fmt::Write as _;

use tokio_postgres::types::Type;

/// A key column's type.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    Big,
    Int,
    Small,
    /// A day number (days since 1970-01-01) as a date.
    Date,
}

impl Ty {
    pub fn sql(self) -> &'static str {
        match self {
            Ty::Big => "bigint",
            Ty::Int => "integer",
            Ty::Small => "smallint",
            Ty::Date => "date",
        }
    }
    pub fn pg(self) -> Type {
        match self {
            Ty::Big => Type::INT8,
            Ty::Int => Type::INT4,
            Ty::Small => Type::INT2,
            Ty::Date => Type::DATE,
        }
    }
}

/// What a row's value becomes.
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// The record, as JSON.
    Json,
    /// A count, in a `bigint` column of this name.
    Big(&'static str),
    Int(&'static str),
}

/// Which slice of a tenant a table belongs to (what the appliance replaces whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Content,
    Users,
    Stats,
}

pub struct Spec {
    /// The appliance's table.
    pub source: &'static str,
    /// Ours.
    pub table: &'static str,
    pub keys: &'static [(&'static str, Ty)],
    pub value: Val,
    pub part: Part,
    /// The parent table and its key columns (after `tenant_id`).
    pub parent: Option<(&'static str, &'static [&'static str])>,
    pub indexes: &'static [&'static [&'static str]],
    pub comment: &'static str,
}

pub const SPECS: &[Spec] = &[
    Spec {
        source: "tenant_settings",
        table: "settings",
        keys: &[],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "The tenant's settings: display name, time zone, language, sending defaults.",
    },
    Spec {
        source: "sessions",
        table: "sessions",
        keys: &[("session_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "The tenant's Telegram sessions (their label and kind; never their keys or tokens).",
    },
    Spec {
        source: "telegram_users",
        table: "telegram_users",
        keys: &[("user_id", Ty::Big)],
        value: Val::Json,
        part: Part::Users,
        parent: None,
        indexes: &[],
        comment: "Telegram users the tenant's groups saw: names, first and last seen, messages.",
    },
    Spec {
        source: "groups",
        table: "groups",
        keys: &[("chat_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Chats the tenant's sessions are in, with automation and tags.",
    },
    Spec {
        source: "templates",
        table: "templates",
        keys: &[("template_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Message templates (the latest version is in template_versions).",
    },
    Spec {
        source: "template_versions",
        table: "template_versions",
        keys: &[("template_id", Ty::Big), ("version", Ty::Int)],
        value: Val::Json,
        part: Part::Content,
        parent: Some(("templates", &["template_id"])),
        indexes: &[],
        comment: "Every saved version of a template: text, format, buttons, media.",
    },
    Spec {
        source: "tenant_variables",
        table: "variables",
        keys: &[],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "The tenant's template variables.",
    },
    Spec {
        source: "media",
        table: "media",
        keys: &[("media_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Files in the tenant's media folder (their facts; the files stay on the appliance).",
    },
    Spec {
        source: "campaigns",
        table: "campaigns",
        keys: &[("campaign_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Campaigns: template, targets, schedule, window, state.",
    },
    Spec {
        source: "campaign_runs",
        table: "campaign_runs",
        keys: &[("campaign_id", Ty::Big), ("run", Ty::Int)],
        value: Val::Json,
        part: Part::Content,
        parent: Some(("campaigns", &["campaign_id"])),
        indexes: &[],
        comment: "Each run of a campaign: when, and how its posts went.",
    },
    Spec {
        source: "deliveries",
        table: "deliveries",
        keys: &[
            ("campaign_id", Ty::Big),
            ("run", Ty::Int),
            ("chat_id", Ty::Big),
        ],
        value: Val::Json,
        part: Part::Content,
        parent: Some(("campaign_runs", &["campaign_id", "run"])),
        indexes: &[],
        comment: "Each post of a run into one chat: state, message id, error.",
    },
    Spec {
        source: "sends_per_day",
        table: "sends_per_day",
        keys: &[("day", Ty::Date)],
        value: Val::Big("posts"),
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Campaign posts handed out per UTC day (the plan's daily limit).",
    },
    Spec {
        source: "member_counts",
        table: "member_counts",
        keys: &[("chat_id", Ty::Big), ("day", Ty::Date)],
        value: Val::Int("members"),
        part: Part::Content,
        parent: None,
        indexes: &[&["tenant_id", "day"]],
        comment: "A chat's member count at the end of each day (the tenant's time zone).",
    },
    Spec {
        source: "reports",
        table: "reports",
        keys: &[("report_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Statistics reports made for the tenant.",
    },
    Spec {
        source: "rules",
        table: "rules",
        keys: &[("rule_id", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Group automation rules: kind, session, groups, dry run, paused.",
    },
    Spec {
        source: "rule_log",
        table: "rule_log",
        keys: &[("seq", Ty::Big)],
        value: Val::Json,
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "What the group rules did (the newest 20,000 per tenant).",
    },
    Spec {
        source: "rule_warnings",
        table: "rule_warnings",
        keys: &[("chat_id", Ty::Big), ("user_id", Ty::Big)],
        value: Val::Int("warnings"),
        part: Part::Content,
        parent: None,
        indexes: &[],
        comment: "Warnings the group rules counted per member and group.",
    },
    Spec {
        source: "counters",
        table: "counters",
        keys: &[
            ("chat_id", Ty::Big),
            ("day", Ty::Date),
            ("metric", Ty::Small),
        ],
        value: Val::Big("count"),
        part: Part::Stats,
        parent: None,
        indexes: &[&["tenant_id", "day"]],
        comment: "Events per chat and day (the tenant's time zone); metric: 0 messages, 1 media, 2 service, 3 joins, 4 leaves, 5 posts sent, 6 posts failed.",
    },
    Spec {
        source: "user_days",
        table: "user_days",
        keys: &[
            ("chat_id", Ty::Big),
            ("day", Ty::Date),
            ("user_id", Ty::Big),
        ],
        value: Val::Big("messages"),
        part: Part::Stats,
        parent: None,
        indexes: &[&["tenant_id", "day"], &["tenant_id", "user_id"]],
        comment: "Messages per chat, day and Telegram user.",
    },
];

pub fn spec(source: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.source == source)
}

/// `"schema"."name"`.
pub fn q(schema: &str, name: &str) -> String {
    format!("\"{}\".\"{}\"", schema.replace('"', "\"\""), name)
}

/// Tables every export keeps beside the tenants' rows.
pub const META: [&str; 2] = ["export_state", "tenant_roles"];

/// The schema, made or brought up to date (every statement can run again).
pub fn ddl(schema: &str) -> String {
    let s = |n: &str| q(schema, n);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "CREATE SCHEMA IF NOT EXISTS \"{}\";",
        schema.replace('"', "\"\"")
    );
    let _ = writeln!(
        out,
        "CREATE TABLE IF NOT EXISTS {} (plan_id bigint PRIMARY KEY, name text NOT NULL);
COMMENT ON TABLE {} IS 'The appliance''s plans.';
CREATE TABLE IF NOT EXISTS {} (
    tenant_id bigint PRIMARY KEY, name text NOT NULL, status text NOT NULL,
    plan_id bigint REFERENCES {} ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    shard integer NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
COMMENT ON TABLE {} IS 'Tenants: one per customer of the reseller.';
CREATE TABLE IF NOT EXISTS {} (
    tenant_id bigint NOT NULL REFERENCES {} ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    email text NOT NULL, role text NOT NULL, PRIMARY KEY (tenant_id, email));
COMMENT ON TABLE {} IS 'People of each tenant and their role (owner, editor, viewer); no passwords.';
CREATE TABLE IF NOT EXISTS {} (shard integer PRIMARY KEY, seq bigint NOT NULL);
COMMENT ON TABLE {} IS 'Each shard''s change sequence at the last export: the next one sends what changed since.';
CREATE TABLE IF NOT EXISTS {} (
    tenant_id bigint PRIMARY KEY REFERENCES {} ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    role_name text NOT NULL UNIQUE);
COMMENT ON TABLE {} IS 'The read-only role of each tenant: its members see that tenant''s rows only.';",
        s("plans"),
        s("plans"),
        s("tenants"),
        s("plans"),
        s("tenants"),
        s("members"),
        s("tenants"),
        s("members"),
        s("export_state"),
        s("export_state"),
        s("tenant_roles"),
        s("tenants"),
        s("tenant_roles"),
    );
    for sp in SPECS {
        let mut cols = vec!["tenant_id bigint NOT NULL".to_string()];
        cols.extend(
            sp.keys
                .iter()
                .map(|(n, t)| format!("{n} {} NOT NULL", t.sql())),
        );
        cols.push(match sp.value {
            Val::Json => "data jsonb NOT NULL".into(),
            Val::Big(n) => format!("{n} bigint NOT NULL"),
            Val::Int(n) => format!("{n} integer NOT NULL"),
        });
        let key: Vec<&str> = std::iter::once("tenant_id")
            .chain(sp.keys.iter().map(|(n, _)| *n))
            .collect();
        cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
        cols.extend(
            foreign_keys(schema, sp)
                .into_iter()
                .map(|(name, def)| format!("CONSTRAINT \"{name}\" {def}")),
        );
        let _ = writeln!(
            out,
            "CREATE TABLE IF NOT EXISTS {} (\n    {});\nCOMMENT ON TABLE {} IS '{}';",
            s(sp.table),
            cols.join(",\n    "),
            s(sp.table),
            sp.comment.replace('\'', "''")
        );
        for ix in sp.indexes {
            let _ = writeln!(
                out,
                "CREATE INDEX IF NOT EXISTS \"{}_{}\" ON {} ({});",
                sp.table,
                ix.join("_"),
                s(sp.table),
                ix.join(", ")
            );
        }
    }
    out
}

/// A table's foreign keys: (name, definition). The two statistics tables have none: checked
/// row by row, a key costs more than loading the row (an incremental day of 1,000 tenants is
/// two million of them); the export removes a gone tenant's rows from them itself.
fn foreign_keys(schema: &str, sp: &Spec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if sp.part != Part::Stats {
        out.push((
            format!("{}_tenant_fk", sp.table),
            format!(
                "FOREIGN KEY (tenant_id) REFERENCES {} ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
                q(schema, "tenants")
            ),
        ));
    }
    if let Some((parent, pk)) = sp.parent {
        let cols = format!("tenant_id, {}", pk.join(", "));
        out.push((
            format!("{}_parent_fk", sp.table),
            format!(
                "FOREIGN KEY ({cols}) REFERENCES {} ({cols}) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
                q(schema, parent)
            ),
        ));
    }
    out
}

/// Before a full load: the tenant tables' foreign keys dropped. Checked row by row, a key costs
/// a trigger per row at the commit (minutes for tens of millions of rows); added back after
/// the load and validated, it is one join per key.
pub fn drop_foreign_keys(schema: &str) -> String {
    let mut out = String::new();
    for sp in SPECS.iter().rev() {
        for (name, _) in foreign_keys(schema, sp) {
            let _ = writeln!(
                out,
                "ALTER TABLE {} DROP CONSTRAINT IF EXISTS \"{name}\";",
                q(schema, sp.table)
            );
        }
    }
    out
}

/// After a full load: the foreign keys back, each validated in one pass.
pub fn add_foreign_keys(schema: &str) -> String {
    let mut out = String::new();
    for sp in SPECS {
        for (name, def) in foreign_keys(schema, sp) {
            let t = q(schema, sp.table);
            let _ = writeln!(
                out,
                "ALTER TABLE {t} ADD CONSTRAINT \"{name}\" {def} NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT \"{name}\";"
            );
        }
    }
    out
}

/// Every table holding a tenant's rows: row-level security enabled and forced. The exporting
/// role bypasses it (PostgreSQL refuses `COPY FROM` into a table whose policies apply to the
/// caller); any other role reads the rows of the tenant named by `botyard.tenant_id`, and only
/// when it holds that tenant's role (the setting alone, which anyone can change, opens
/// nothing).
pub fn rls(schema: &str) -> String {
    let mut out = String::new();
    let tables = ["tenants", "members"]
        .into_iter()
        .chain(SPECS.iter().map(|s| s.table));
    for t in tables {
        let name = q(schema, t);
        let _ = writeln!(
            out,
            "ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {name} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS exporter ON {name};
DROP POLICY IF EXISTS tenant_reader ON {name};
CREATE POLICY tenant_reader ON {name} FOR SELECT USING (
    tenant_id = nullif(current_setting('botyard.tenant_id', true), '')::bigint
    AND tenant_id IN (SELECT r.tenant_id FROM {roles} r WHERE pg_has_role(current_user, r.role_name, 'MEMBER')));",
            roles = q(schema, "tenant_roles"),
        );
    }
    out
}
