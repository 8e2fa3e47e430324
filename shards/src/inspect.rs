//! Reads every row of every table as raw bytes, for tests and operators that must check what
//! a file really holds (e.g. that a deleted tenant left nothing behind).

use redb::{Database, Key, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, Value};

use crate::error::{Result, StoreError};
use crate::tables::{self, catalog as c, shard as s};

/// A raw row: table name, key bytes, value bytes.
pub type RawRow = (String, Vec<u8>, Vec<u8>);

fn dump<K: Key + 'static, V: Value + 'static>(
    db: &Database,
    def: TableDefinition<K, V>,
    out: &mut Vec<RawRow>,
) -> Result<()> {
    let tx = db.begin_read()?;
    let t = match tx.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for row in t.iter()? {
        let (k, v) = row?;
        out.push((
            def.name().to_string(),
            K::as_bytes(&k.value()).as_ref().to_vec(),
            V::as_bytes(&v.value()).as_ref().to_vec(),
        ));
    }
    Ok(())
}

/// Every row of a catalog or shard file. Fails if the file holds a table this code does not
/// know, so nothing can hide from the scan.
pub fn all_rows(db: &Database) -> Result<Vec<RawRow>> {
    let mut out = Vec::new();
    dump(db, tables::META, &mut out)?;
    dump(db, c::SEQUENCES, &mut out)?;
    dump(db, c::ACCOUNTS, &mut out)?;
    dump(db, c::ACCOUNT_EMAILS, &mut out)?;
    dump(db, c::MEMBERS, &mut out)?;
    dump(db, c::ACCOUNT_TENANTS, &mut out)?;
    dump(db, c::TENANTS, &mut out)?;
    dump(db, c::PLACEMENT, &mut out)?;
    dump(db, c::SHARD_LOAD, &mut out)?;
    dump(db, c::PLANS, &mut out)?;
    dump(db, c::REFRESH_TOKENS, &mut out)?;
    dump(db, c::FAMILIES, &mut out)?;
    dump(db, c::FAMILY_TOKENS, &mut out)?;
    dump(db, c::ACCOUNT_FAMILIES, &mut out)?;
    dump(db, c::API_KEYS, &mut out)?;
    dump(db, c::API_KEY_HASHES, &mut out)?;
    dump(db, c::TENANT_API_KEYS, &mut out)?;
    dump(db, c::SECRETS, &mut out)?;
    dump(db, c::SETUP_TOKENS, &mut out)?;
    dump(db, c::AUDIT, &mut out)?;
    dump(db, c::TELEGRAM_LINKS, &mut out)?;
    dump(db, c::TELEGRAM_LINK_USERS, &mut out)?;
    dump(db, c::SESSION_KEYS, &mut out)?;
    dump(db, c::SESSION_KEY_OWNERS, &mut out)?;
    dump(db, c::INVITATIONS, &mut out)?;
    dump(db, c::INVITATION_HASHES, &mut out)?;
    dump(db, c::TENANT_INVITATIONS, &mut out)?;
    dump(db, c::BROWSER_SESSIONS, &mut out)?;
    dump(db, c::FAMILY_BROWSER, &mut out)?;
    dump(db, c::ACCOUNT_PREFS, &mut out)?;
    dump(db, c::ALERTS, &mut out)?;
    dump(db, c::OPEN_ALERTS, &mut out)?;
    dump(db, c::PLAN_PRICES, &mut out)?;
    dump(db, c::SUBSCRIPTIONS, &mut out)?;
    dump(db, c::SUBSCRIPTIONS_DUE, &mut out)?;
    dump(db, c::SUBSCRIPTION_EVENTS, &mut out)?;
    dump(db, c::PAYMENTS, &mut out)?;
    dump(db, c::PAYMENT_CHARGES, &mut out)?;
    dump(db, c::TENANT_PAYMENTS, &mut out)?;
    dump(db, c::INVOICES, &mut out)?;
    dump(db, c::TENANT_INVOICES, &mut out)?;
    dump(db, c::BILLING_PROFILES, &mut out)?;
    dump(db, c::OUTBOX, &mut out)?;
    dump(db, c::OUTBOX_DUE, &mut out)?;
    dump(db, c::NOTICE_PREFS, &mut out)?;
    dump(db, c::NOTICE_CURSORS, &mut out)?;
    dump(db, c::DIGEST, &mut out)?;
    dump(db, c::KNOWN_DEVICES, &mut out)?;
    dump(db, c::ACCOUNT_TOKENS, &mut out)?;
    dump(db, c::MAILINGS, &mut out)?;
    dump(db, s::SETTINGS, &mut out)?;
    dump(db, s::POSTS_BY_DAY, &mut out)?;
    dump(db, s::SECRETS, &mut out)?;
    dump(db, s::COUNTERS, &mut out)?;
    dump(db, s::USER_DAYS, &mut out)?;
    dump(db, s::TG_USERS, &mut out)?;
    dump(db, s::SESSIONS, &mut out)?;
    dump(db, s::GROUPS, &mut out)?;
    dump(db, s::MEMBER_COUNTS, &mut out)?;
    dump(db, s::REPORTS, &mut out)?;
    let known = KNOWN;
    let tx = db.begin_read()?;
    for t in tx.list_tables()? {
        if !known.contains(&t.name()) {
            return Err(StoreError::Conflict(
                "file holds a table unknown to inspect",
            ));
        }
    }
    Ok(out)
}

const KNOWN: &[&str] = &[
    "meta",
    "sequences",
    "accounts",
    "account_emails",
    "members",
    "account_tenants",
    "tenants",
    "placement",
    "shard_load",
    "plans",
    "refresh_tokens",
    "token_families",
    "family_tokens",
    "account_families",
    "api_keys",
    "api_key_hashes",
    "tenant_api_keys",
    "secrets",
    "setup_tokens",
    "audit",
    "telegram_links",
    "telegram_link_users",
    "session_keys",
    "session_key_owners",
    "invitations",
    "invitation_hashes",
    "tenant_invitations",
    "browser_sessions",
    "family_browser",
    "account_prefs",
    "alerts",
    "open_alerts",
    "plan_prices",
    "subscriptions",
    "subscriptions_due",
    "subscription_events",
    "payments",
    "payment_charges",
    "tenant_payments",
    "invoices",
    "tenant_invoices",
    "billing_profiles",
    "outbox",
    "outbox_due",
    "notice_prefs",
    "notice_cursors",
    "digest",
    "known_devices",
    "account_tokens",
    "mailings",
    "posts_by_day",
    "tenant_settings",
    "tenant_secrets",
    "counters",
    "user_days",
    "telegram_users",
    "groups",
    "sessions",
    "tenant_seq",
    "templates",
    "template_versions",
    "tenant_variables",
    "media",
    "campaigns",
    "campaign_runs",
    "deliveries",
    "pending_deliveries",
    "sends_per_day",
    "member_counts",
    "reports",
];
