//! File kinds, schema versions and ordered migrations. Every file records its kind and
//! version in `meta`; opening runs the missing migrations in order, each in its own
//! transaction, and refuses a file newer than this binary.

use redb::{Database, ReadableDatabase, WriteTransaction};

use crate::error::OpenError;
use crate::tables::{self, META};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Catalog,
    Shard,
}

impl FileKind {
    fn code(self) -> u64 {
        match self {
            FileKind::Catalog => 1,
            FileKind::Shard => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FileKind::Catalog => "catalog",
            FileKind::Shard => "shard",
        }
    }

    fn migrations(self) -> &'static [Migration] {
        match self {
            FileKind::Catalog => CATALOG_MIGRATIONS,
            FileKind::Shard => SHARD_MIGRATIONS,
        }
    }

    /// The version this binary writes.
    pub fn current_version(self) -> u32 {
        self.migrations().last().map_or(0, |m| m.to)
    }
}

pub struct Migration {
    pub to: u32,
    pub run: fn(&WriteTransaction) -> Result<(), redb::Error>,
}

const CATALOG_MIGRATIONS: &[Migration] = &[
    Migration {
        to: 1,
        run: catalog_v1,
    },
    Migration {
        to: 2,
        run: catalog_v2,
    },
    Migration {
        to: 3,
        run: catalog_v3,
    },
    Migration {
        to: 4,
        run: catalog_v4,
    },
    Migration {
        to: 5,
        run: catalog_v5,
    },
    Migration {
        to: 6,
        run: catalog_v6,
    },
    Migration {
        to: 7,
        run: catalog_v7,
    },
    Migration {
        to: 8,
        run: catalog_v8,
    },
    Migration {
        to: 9,
        run: catalog_v9,
    },
    Migration {
        to: 10,
        run: catalog_v10,
    },
    Migration {
        to: 11,
        run: catalog_v11,
    },
    Migration {
        to: 12,
        run: catalog_v12,
    },
];

/// v12: sign-ups through the platform bot (invite codes, referrals) and support requests.
fn catalog_v12(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(INVITE_CODES)?;
    tx.open_table(SIGNUPS)?;
    tx.open_table(REFERRAL_CODES)?;
    tx.open_table(TENANT_REFERRAL)?;
    tx.open_table(TICKETS)?;
    tx.open_table(TENANT_TICKETS)?;
    tx.open_table(TICKET_MESSAGES)?;
    tx.open_table(TICKET_FILES)?;
    Ok(())
}

/// v11: the reseller's marketing mails.
fn catalog_v11(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::catalog::MAILINGS)?;
    Ok(())
}

/// v10: notice preferences, the alert-delivery cursor, digests, known devices, and mailed
/// one-time links.
fn catalog_v10(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::catalog::NOTICE_PREFS)?;
    tx.open_table(tables::catalog::NOTICE_CURSORS)?;
    tx.open_table(tables::catalog::DIGEST)?;
    tx.open_table(tables::catalog::KNOWN_DEVICES)?;
    tx.open_table(tables::catalog::ACCOUNT_TOKENS)?;
    Ok(())
}

/// v9: the outbox of mails and its index of queued mails by their next attempt.
fn catalog_v9(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::catalog::OUTBOX)?;
    tx.open_table(tables::catalog::OUTBOX_DUE)?;
    Ok(())
}

/// v8: tenants' billing profiles (payments and invoices gained fields: upgraded on read).
fn catalog_v8(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::catalog::BILLING_PROFILES)?;
    Ok(())
}

/// v7: billing: plan prices, subscriptions with their due index and events, payments.
fn catalog_v7(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(PLAN_PRICES)?;
    tx.open_table(SUBSCRIPTIONS)?;
    tx.open_table(SUBSCRIPTIONS_DUE)?;
    tx.open_table(SUBSCRIPTION_EVENTS)?;
    tx.open_table(PAYMENTS)?;
    tx.open_table(PAYMENT_CHARGES)?;
    tx.open_table(TENANT_PAYMENTS)?;
    tx.open_table(INVOICES)?;
    tx.open_table(TENANT_INVOICES)?;
    Ok(())
}

/// v6: alerts for people to acknowledge.
fn catalog_v6(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(ALERTS)?;
    tx.open_table(OPEN_ALERTS)?;
    Ok(())
}

/// v5: browser sessions of the console.
fn catalog_v5(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(BROWSER_SESSIONS)?;
    tx.open_table(FAMILY_BROWSER)?;
    tx.open_table(ACCOUNT_PREFS)?;
    Ok(())
}

/// v4: invitations to join a tenant.
fn catalog_v4(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(INVITATIONS)?;
    tx.open_table(INVITATION_HASHES)?;
    tx.open_table(TENANT_INVITATIONS)?;
    Ok(())
}

/// v3: which session owns each imported auth key.
fn catalog_v3(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(SESSION_KEYS)?;
    tx.open_table(SESSION_KEY_OWNERS)?;
    Ok(())
}

/// v2: accounts linked to Telegram users.
fn catalog_v2(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(TELEGRAM_LINKS)?;
    tx.open_table(TELEGRAM_LINK_USERS)?;
    Ok(())
}

const SHARD_MIGRATIONS: &[Migration] = &[
    Migration {
        to: 1,
        run: shard_v1,
    },
    Migration {
        to: 2,
        run: shard_v2,
    },
    Migration {
        to: 3,
        run: shard_v3,
    },
    Migration {
        to: 4,
        run: shard_v4,
    },
    Migration {
        to: 5,
        run: shard_v5,
    },
    Migration {
        to: 6,
        run: shard_v6,
    },
    Migration {
        to: 7,
        run: shard_v7,
    },
    Migration {
        to: 8,
        run: shard_v8,
    },
    Migration {
        to: 9,
        run: shard_v9,
    },
    Migration {
        to: 10,
        run: shard_v10,
    },
];

/// v10: group automation rules, what they did, and the warnings they counted.
fn shard_v10(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::shard::RULES)?;
    tx.open_table(tables::shard::RULE_LOG)?;
    tx.open_table(tables::shard::WARNINGS)?;
    Ok(())
}

/// v8: posts sent and failed per day, for the admin's dashboard.
/// v9: what changed since an export (the PostgreSQL export's watermark).
fn shard_v9(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::shard::CHANGES)?;
    Ok(())
}

fn shard_v8(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::shard::POSTS_BY_DAY)?;
    Ok(())
}

/// v7: statistics reports.
fn shard_v7(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::shard::REPORTS)?;
    Ok(())
}

/// v6: member-count history. Counters and per-user days are kept in the tenant's local days
/// from this version on (they were UTC days; a store from before keeps its old rows as they
/// are).
fn shard_v6(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::shard::MEMBER_COUNTS)?;
    Ok(())
}

fn catalog_v1(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::catalog::*;
    tx.open_table(SEQUENCES)?;
    tx.open_table(ACCOUNTS)?;
    tx.open_table(ACCOUNT_EMAILS)?;
    tx.open_table(MEMBERS)?;
    tx.open_table(ACCOUNT_TENANTS)?;
    tx.open_table(TENANTS)?;
    tx.open_table(PLACEMENT)?;
    tx.open_table(SHARD_LOAD)?;
    tx.open_table(PLANS)?;
    tx.open_table(REFRESH_TOKENS)?;
    tx.open_table(FAMILIES)?;
    tx.open_table(FAMILY_TOKENS)?;
    tx.open_table(ACCOUNT_FAMILIES)?;
    tx.open_table(API_KEYS)?;
    tx.open_table(API_KEY_HASHES)?;
    tx.open_table(TENANT_API_KEYS)?;
    tx.open_table(SECRETS)?;
    tx.open_table(SETUP_TOKENS)?;
    tx.open_table(AUDIT)?;
    Ok(())
}

/// v2: per-user-per-day message counts, Telegram users seen (ingestion of worker events) and
/// Telegram sessions.
fn shard_v2(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::shard::*;
    tx.open_table(USER_DAYS)?;
    tx.open_table(TG_USERS)?;
    tx.open_table(SESSIONS)?;
    Ok(())
}

/// v3: the chats discovered from the sessions' dialogs.
fn shard_v3(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(tables::shard::GROUPS)?;
    Ok(())
}

/// v4: message templates with their versions, the tenant's own variables, id sequences.
fn shard_v4(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::shard::*;
    tx.open_table(TENANT_SEQ)?;
    tx.open_table(TEMPLATES)?;
    tx.open_table(TEMPLATE_VERSIONS)?;
    tx.open_table(VARIABLES)?;
    Ok(())
}

/// v5: media files, campaigns with their runs and deliveries, sends per day.
fn shard_v5(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::shard::*;
    tx.open_table(MEDIA)?;
    tx.open_table(CAMPAIGNS)?;
    tx.open_table(RUNS)?;
    tx.open_table(DELIVERIES)?;
    tx.open_table(PENDING)?;
    tx.open_table(SENDS)?;
    Ok(())
}

fn shard_v1(tx: &WriteTransaction) -> Result<(), redb::Error> {
    use tables::shard::*;
    tx.open_table(SETTINGS)?;
    tx.open_table(SECRETS)?;
    tx.open_table(COUNTERS)?;
    Ok(())
}

/// Reads the file's recorded version (0 for a new file) and checks its kind.
pub fn read_version(db: &Database, kind: FileKind, path: &str) -> Result<u32, OpenError> {
    let db_err = |e: redb::Error| OpenError::Db {
        path: path.to_string(),
        source: e,
    };
    let rtx = db.begin_read().map_err(|e| db_err(e.into()))?;
    let meta = match rtx.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(db_err(e.into())),
    };
    if let Some(k) = meta.get("kind").map_err(|e| db_err(e.into()))? {
        let k = k.value();
        if k != kind.code() {
            return Err(OpenError::WrongKind {
                path: path.to_string(),
                found: if k == FileKind::Catalog.code() {
                    "catalog".into()
                } else if k == FileKind::Shard.code() {
                    "shard".into()
                } else {
                    format!("unknown ({k})")
                },
                expected: kind.name(),
            });
        }
    }
    let v = meta
        .get("schema_version")
        .map_err(|e| db_err(e.into()))?
        .map_or(0, |v| v.value());
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

/// Brings a file to this binary's schema version, or refuses a newer file.
pub fn migrate(db: &Database, kind: FileKind, path: &str) -> Result<u32, OpenError> {
    migrate_with(db, kind, path, kind.migrations())
}

pub(crate) fn migrate_with(
    db: &Database,
    kind: FileKind,
    path: &str,
    migrations: &[Migration],
) -> Result<u32, OpenError> {
    let db_err = |e: redb::Error| OpenError::Db {
        path: path.to_string(),
        source: e,
    };
    let supported = migrations.last().map_or(0, |m| m.to);
    let mut version = read_version(db, kind, path)?;
    if version > supported {
        return Err(OpenError::Downgrade {
            path: path.to_string(),
            found: version,
            supported,
        });
    }
    let start = version;
    let pending: Vec<&Migration> = migrations.iter().filter(|m| m.to > start).collect();
    let Some(last) = pending.last().map(|m| m.to) else {
        return Ok(version);
    };
    // Every pending step in one transaction: a new file is created at the current version at
    // once, and an old one is either migrated whole or left as it was.
    let tx = db.begin_write().map_err(|e| db_err(e.into()))?;
    for m in &pending {
        (m.run)(&tx).map_err(db_err)?;
    }
    {
        let mut meta = tx.open_table(META).map_err(|e| db_err(e.into()))?;
        meta.insert("kind", kind.code())
            .map_err(|e| db_err(e.into()))?;
        meta.insert("schema_version", u64::from(last))
            .map_err(|e| db_err(e.into()))?;
    }
    tx.commit().map_err(|e| db_err(e.into()))?;
    if start == 0 {
        tracing::debug!(file = path, version = last, "created schema");
    } else {
        tracing::info!(file = path, from = start, to = last, "migrated schema");
    }
    version = last;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(tx: &WriteTransaction) -> Result<(), redb::Error> {
        let def: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("added_in_v2");
        tx.open_table(def)?.insert("x", 1)?;
        Ok(())
    }

    #[test]
    fn migrations_run_in_order_and_refuse_downgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let p = path.to_string_lossy().to_string();
        let db = Database::create(&path).unwrap();
        let current = FileKind::Shard.current_version();
        assert_eq!(migrate(&db, FileKind::Shard, &p).unwrap(), current);
        // Idempotent.
        assert_eq!(migrate(&db, FileKind::Shard, &p).unwrap(), current);

        // A newer binary adds a migration.
        let mut newer: Vec<Migration> = SHARD_MIGRATIONS
            .iter()
            .map(|m| Migration {
                to: m.to,
                run: m.run,
            })
            .collect();
        newer.push(Migration {
            to: current + 1,
            run: extra,
        });
        assert_eq!(
            migrate_with(&db, FileKind::Shard, &p, &newer).unwrap(),
            current + 1
        );
        // This binary refuses the newer file.
        match migrate(&db, FileKind::Shard, &p) {
            Err(OpenError::Downgrade {
                found, supported, ..
            }) => {
                assert_eq!((found, supported), (current + 1, current));
            }
            other => panic!("expected downgrade refusal, got {other:?}"),
        }
        // And a shard file is not a catalog.
        assert!(matches!(
            migrate(&db, FileKind::Catalog, &p),
            Err(OpenError::WrongKind { .. })
        ));
    }

    #[test]
    fn a_v1_shard_file_gains_every_later_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let p = path.to_string_lossy().to_string();
        let db = Database::create(&path).unwrap();
        let v1 = [Migration {
            to: 1,
            run: shard_v1,
        }];
        assert_eq!(migrate_with(&db, FileKind::Shard, &p, &v1).unwrap(), 1);
        assert_eq!(
            migrate(&db, FileKind::Shard, &p).unwrap(),
            FileKind::Shard.current_version()
        );
        let rtx = db.begin_read().unwrap();
        rtx.open_table(tables::shard::USER_DAYS).unwrap();
        rtx.open_table(tables::shard::TG_USERS).unwrap();
        rtx.open_table(tables::shard::GROUPS).unwrap();
        rtx.open_table(tables::shard::TEMPLATES).unwrap();
        rtx.open_table(tables::shard::TEMPLATE_VERSIONS).unwrap();
        rtx.open_table(tables::shard::VARIABLES).unwrap();
        rtx.open_table(tables::shard::TENANT_SEQ).unwrap();
        rtx.open_table(tables::shard::CAMPAIGNS).unwrap();
        rtx.open_table(tables::shard::DELIVERIES).unwrap();
        rtx.open_table(tables::shard::PENDING).unwrap();
    }
}
