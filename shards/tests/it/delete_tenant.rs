//! Deleting a tenant leaves nothing of it in any file, and nothing of anyone else goes.
//!
//! Tenant A's data carries a marker string; the other tenants' data carries another. After the
//! deletion the files are reopened with redb directly and every row of every table is read.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use botyard_shards::ids::{
    AccountId, ApiKeyId, AuditId, ChatId, Day, FamilyId, SecretId, TenantId,
};
use botyard_shards::ingest::{
    Batch, CounterKey, Increment, IngestConfig, UserDayIncrement, UserSeen,
};
use botyard_shards::inspect::{RawRow, all_rows};
use botyard_shards::records::{AuditRec, RefreshRec, Role, SettingsRec};
use botyard_shards::{Principal, Store, StoreError, TenantScope, shard_path};
use common::{add_member, api_key_rec, create_tenant, key_hash, open, principal};

const MARK: &str = "ZQXMARKER";
const KEEP: &str = "KEEPBMARK";

/// What belongs to tenant A (ids the classifier needs).
#[derive(Default)]
struct Owned {
    tenant: Option<TenantId>,
    accounts: BTreeSet<AccountId>,
    families: BTreeSet<FamilyId>,
    refresh: BTreeSet<[u8; 32]>,
    api_keys: BTreeSet<ApiKeyId>,
    api_key_hashes: BTreeSet<[u8; 32]>,
    invitation_hashes: BTreeSet<[u8; 32]>,
    audit: BTreeSet<AuditId>,
}

/// (file, table, key) → value.
type Rows = BTreeMap<(String, String, Vec<u8>), Vec<u8>>;

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn be(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

fn collect(file: &str, rows: Vec<RawRow>, out: &mut Rows) {
    for (table, k, v) in rows {
        let prev = out.insert((file.to_string(), table, k), v);
        assert!(prev.is_none(), "duplicate row in {file}");
    }
}

fn snapshot_live(store: &Store) -> Rows {
    let mut out = Rows::new();
    collect(
        "catalog",
        all_rows(store.catalog_database()).unwrap(),
        &mut out,
    );
    for s in store.shards() {
        collect(
            &format!("shard{:02}", s.index()),
            all_rows(s.database()).unwrap(),
            &mut out,
        );
    }
    out
}

fn snapshot_files(dir: &Path, shards: u32) -> Rows {
    let mut out = Rows::new();
    let db = redb::Database::open(dir.join("catalog.redb")).unwrap();
    collect("catalog", all_rows(&db).unwrap(), &mut out);
    for i in 0..shards {
        let db = redb::Database::open(shard_path(dir, i)).unwrap();
        collect(&format!("shard{i:02}"), all_rows(&db).unwrap(), &mut out);
    }
    out
}

/// Whether a row is tenant A's (and so must be gone after the deletion).
fn is_a(o: &Owned, table: &str, k: &[u8], v: &[u8]) -> bool {
    let t = be(o.tenant.unwrap().0);
    let acct = |b: &[u8]| o.accounts.iter().any(|a| b.get(..8) == Some(&be(a.0)[..]));
    let fam = |b: &[u8]| o.families.iter().any(|f| b.get(..8) == Some(&be(f.0)[..]));
    if contains(k, MARK) || contains(v, MARK) {
        return true;
    }
    match table {
        "tenants" | "placement" | "tenant_settings" => k == t,
        "members" | "tenant_api_keys" | "tenant_secrets" | "counters" | "user_days"
        | "sessions" | "telegram_users" | "groups" | "tenant_seq" | "templates"
        | "template_versions" | "tenant_variables" | "member_counts" | "reports"
        | "session_key_owners" | "tenant_invitations" | "media" | "campaigns" | "campaign_runs"
        | "deliveries" | "pending_deliveries" | "sends_per_day" | "changes" => k.starts_with(&t),
        // Its email carries the marker, and so does the row.
        "invitations" => false,
        // key id → (tenant, session)
        "session_keys" => v.starts_with(&t),
        // (account, tenant): A's membership rows, and every row of A's own accounts.
        "account_tenants" => k.get(8..16) == Some(&t[..]) || acct(k),
        "accounts" | "account_families" | "telegram_links" => acct(k),
        "telegram_link_users" => acct(v),
        "token_families" | "family_tokens" => fam(k),
        "refresh_tokens" => o.refresh.iter().any(|h| k == h),
        "api_keys" => o.api_keys.iter().any(|id| k == be(id.0)),
        "api_key_hashes" => o.api_key_hashes.iter().any(|h| k == h),
        "invitation_hashes" => o.invitation_hashes.iter().any(|h| k == h),
        "audit" => o.audit.iter().any(|id| k == be(id.0)),
        _ => false,
    }
}

fn settings(name: &str) -> SettingsRec {
    SettingsRec::defaults(name)
}

fn audit(
    store: &Store,
    actor: Option<AccountId>,
    tenant: Option<TenantId>,
    detail: &str,
) -> AuditId {
    store
        .catalog_write(|c| {
            c.audit(&AuditRec {
                at: 1_700_000_500,
                actor,
                tenant,
                action: "test.event".into(),
                detail: detail.into(),
            })
        })
        .unwrap()
}

/// Gives an account a login (token family + two refresh tokens, one used).
fn login(store: &Store, account: AccountId, tag: &str) -> (FamilyId, Vec<[u8; 32]>) {
    store
        .catalog_write(|c| {
            let fam = c.create_family(account, 1_700_000_000, 1_900_000_000)?;
            let mut hashes = Vec::new();
            for n in 0..2 {
                let h = key_hash(&format!("refresh-{tag}-{n}"));
                c.insert_refresh_token(
                    h,
                    &RefreshRec {
                        family: fam,
                        account,
                        expires_at: 1_900_000_000,
                        used: n == 0,
                    },
                )?;
                hashes.push(h);
            }
            c.mark_refresh_used(&hashes[0])?;
            Ok::<_, StoreError>((fam, hashes))
        })
        .unwrap()
}

/// Members, an owner, API keys, settings, secrets, audit entries and logins for one tenant;
/// every string carries `mark`. Returns the ids it created.
fn populate(store: &Store, admin: &Principal, scope: &TenantScope, mark: &str, o: &mut Owned) {
    let t = scope.tenant_id();
    for (role, who) in [(Role::Owner, "owner"), (Role::Viewer, "member")] {
        let email = format!("{who}-{mark}-{t}@tenant.test");
        let id = add_member(store, scope, &email, role);
        o.accounts.insert(id);
        let link = botyard_shards::records::TelegramLinkRec {
            user_id: 7_000_000 + id.0 as i64,
            access_hash: 99,
            first_name: format!("{who} {mark}"),
            username: None,
            linked_at: 1,
        };
        store.catalog_write(|c| c.link_telegram(id, &link)).unwrap();
        let (fam, hashes) = login(store, id, &email);
        o.families.insert(fam);
        o.refresh.extend(hashes);
        o.audit.insert(audit(
            store,
            Some(id),
            Some(t),
            &format!("{email} logged in to {mark}"),
        ));
    }
    for (n, revoke) in [(1, false), (2, true)] {
        let secret = format!("byk_{t}_{n}");
        let id = scope
            .catalog_write(|c| {
                let id = c.insert_api_key(api_key_rec(
                    t,
                    &format!("ci-{mark}-{n}"),
                    &secret,
                    Role::Viewer,
                ))?;
                if revoke {
                    c.revoke_api_key(id, 1_700_000_900)?;
                }
                Ok::<_, StoreError>(id)
            })
            .unwrap();
        o.api_keys.insert(id);
        o.api_key_hashes.insert(key_hash(&secret));
    }
    // A pending invitation.
    let hash = key_hash(&format!("invite-{t}"));
    scope
        .catalog_write(|c| {
            c.insert_invitation(botyard_shards::records::InvitationRec {
                tenant: t,
                email: format!("davet-{mark}@example.com"),
                role: Role::Editor,
                hash,
                created_by: None,
                created_at: 1_700_000_000,
                expires_at: 1_900_000_000,
            })
        })
        .unwrap();
    o.invitation_hashes.insert(hash);
    // Its billing details.
    scope
        .catalog_write(|c| {
            c.put_billing_profile(&botyard_shards::records::BillingProfileRec {
                legal_name: format!("Unvan {mark}"),
                ..Default::default()
            })
        })
        .unwrap();
    // Its imported session's auth key id, claimed in the catalog.
    let claimed = scope
        .catalog_write(|c| c.claim_session_key(SecretId(1), 0x5e55_0000 + t.0))
        .unwrap();
    assert_eq!(claimed, None);
    scope
        .shard_write(|s| {
            s.put_settings(&settings(&format!("Shop {mark}")))?;
            let mut sealed = vec![0u8, 0xff, 0x10];
            sealed.extend_from_slice(format!("session:{mark}").as_bytes());
            sealed.extend_from_slice(&[0xde, 0xad]);
            s.put_secret(SecretId(1), &sealed)?;
            // Groups at the edges of the chat range; the title carries no marker.
            let facts = [ChatId::MIN, ChatId(-1_001_234_567_890), ChatId::MAX].map(|chat| {
                botyard_shards::GroupFacts {
                    chat,
                    title: "Çay ocağı".into(),
                    kind: botyard_shards::records::GroupKindRec::Supergroup,
                    members: 12,
                    can_post: true,
                    is_admin: false,
                    slow_mode_secs: 0,
                    rights: (false, false),
                }
            });
            s.sync_groups(1, &facts, 5)?;
            let v = botyard_shards::records::TemplateVersionRec {
                body: format!("İndirim {mark}"),
                format: botyard_shards::records::TemplateFormatRec::Markdown,
                buttons: Vec::new(),
                created_at: 5,
                author: None,
                media: None,
            };
            let id = s.insert_template("Cuma", &v)?;
            let media = s.insert_media(&botyard_shards::records::MediaRec {
                kind: botyard_shards::records::MediaKindRec::Photo,
                mime: "image/png".into(),
                size: 3,
                name: format!("afiş-{mark}.png"),
                created_at: 5,
            })?;
            assert_eq!(media.0, 1);
            let c = s.insert_campaign(&campaign(id, mark))?;
            let run = botyard_shards::records::RunRec {
                due_at: 5,
                started_at: 5,
                finished_at: None,
                status: botyard_shards::records::RunStatusRec::Running,
                template: id,
                version: 1,
                session: SecretId(1),
                manual: false,
                targets: 3,
                sent: 0,
                failed: 0,
                skipped: 0,
            };
            let targets = [ChatId::MIN, ChatId(-100), ChatId::MAX];
            s.start_run(c, u32::MAX, &run, &targets, 5)?;
            s.settle_delivery(
                (c, u32::MAX, ChatId(-100)),
                botyard_shards::records::DeliveryStateRec::Failed {
                    code: format!("forbidden-{mark}"),
                    at_ms: 6,
                },
                6,
            )?;
            s.add_sends(Day::MAX, 3)?;
            s.add_template_version(id, None, &v)?;
            s.put_variables(&botyard_shards::records::VariablesRec {
                vars: vec![("telefon".into(), mark.to_string())],
                updated_at: 5,
            })?;
            s.put_secret(SecretId(u64::MAX), format!("bot-token-{mark}").as_bytes())
        })
        .unwrap();
    // An audit entry without the marker, found by tenant only.
    o.audit
        .insert(audit(store, admin.account(), Some(t), "plan changed"));
}

fn campaign(
    template: botyard_shards::ids::TemplateId,
    mark: &str,
) -> botyard_shards::records::CampaignRec {
    use botyard_shards::records::*;
    CampaignRec {
        name: format!("Kampanya {mark}"),
        template,
        version: None,
        chats: vec![ChatId(-100)],
        tags: vec![format!("t{mark}")],
        session: SecretId(1),
        schedule: ScheduleRec::Cron {
            expr: "0 9 * * 1-5".into(),
        },
        window: None,
        starts_on: None,
        ends_on: None,
        jitter_secs: 0,
        delete_previous: true,
        pin: false,
        state: CampaignStateRec::Active,
        anchor: 5,
        next_run: Some(60),
        runs: u32::MAX,
        last_posts: vec![(ChatId(-100), 7)],
        created_at: 5,
        updated_at: 5,
    }
}

/// Counters at the edges of the tenant's key range and in the middle, through the writer.
fn counter_events(t: TenantId) -> Vec<Increment> {
    let mut out = Vec::new();
    for chat in [
        ChatId::MIN,
        ChatId(-1_001_234_567_890),
        ChatId(0),
        ChatId(77),
        ChatId::MAX,
    ] {
        for day in [Day::MIN, Day(19_700), Day::MAX] {
            for metric in [0u8, 3, u8::MAX] {
                out.push(Increment {
                    key: CounterKey {
                        tenant: t,
                        chat,
                        day,
                        metric,
                    },
                    delta: 1 + u64::from(metric),
                });
            }
        }
    }
    out
}

/// Per-user-day counts and Telegram users (names carry the marker) at the key-range edges.
fn user_events(t: TenantId, mark: &str) -> Batch {
    let mut b = Batch::default();
    for user in [i64::MIN, -5, 0, 42, i64::MAX] {
        b.user_days.push(UserDayIncrement {
            tenant: t,
            chat: ChatId::MIN,
            day: Day::MAX,
            user,
            delta: 2,
        });
        b.users.push(UserSeen {
            tenant: t,
            user,
            first_name: format!("Ayşe {mark}"),
            last_name: None,
            username: Some(format!("u_{mark}")),
            at: 1_700_000_000,
            messages: 1,
        });
    }
    b
}

fn scenario(shards: u32) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), shards);
    let admin = common::admin(&store, "root@example.test");
    // A sits between two tenants that stay, so range deletes must stop exactly at its edges.
    let b = create_tenant(&store, &admin, &format!("before-{KEEP}"));
    let a = create_tenant(&store, &admin, &format!("doomed-{MARK}"));
    let c = create_tenant(&store, &admin, &format!("after-{KEEP}"));
    let (ta, tb, tc) = (a.tenant_id(), b.tenant_id(), c.tenant_id());
    assert_eq!((tb.0 + 1, ta.0 + 1), (ta.0, tc.0));

    let mut owned_a = Owned {
        tenant: Some(ta),
        ..Owned::default()
    };
    let mut kept = Owned::default();
    populate(&store, &admin, &a, MARK, &mut owned_a);
    populate(&store, &admin, &b, KEEP, &mut kept);
    populate(&store, &admin, &c, KEEP, &mut kept);

    // Someone in both A and B (their email is not A's data) and the admin's own login.
    let shared = add_member(&store, &b, "shared@both.test", Role::Viewer);
    a.catalog_write(|c| c.set_member(shared, Role::Owner))
        .unwrap();
    login(&store, shared, "shared");
    login(&store, admin.account().unwrap(), "admin");
    audit(&store, admin.account(), None, "appliance started");
    store
        .catalog_write(|c| c.put_secret("jwt_signing_key", b"sealed-appliance-secret"))
        .unwrap();

    // Counters for all three tenants through the ingest writer.
    {
        let (ingest, handle) = common::start_ingest(&store, &admin, IngestConfig::default());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            for t in [ta, tb, tc] {
                handle.submit(t, counter_events(t)).await.unwrap();
                handle.submit(t, counter_events(t)).await.unwrap();
                let mark = if t == ta { MARK } else { KEEP };
                handle.submit_batch(t, user_events(t, mark)).await.unwrap();
            }
        });
        drop(handle);
        ingest.shutdown();
    }
    assert_eq!(
        a.shard_read()
            .unwrap()
            .counter(ChatId::MAX, Day::MAX, u8::MAX)
            .unwrap(),
        2 * 256
    );

    let before = snapshot_live(&store);
    // The scenario really put A's marker in every kind of row it should have.
    for table in [
        "accounts",
        "account_emails",
        "tenants",
        "api_keys",
        "audit",
        "tenant_settings",
        "tenant_secrets",
        "telegram_users",
    ] {
        assert!(
            before
                .iter()
                .any(|((_, tb, k), v)| tb == table && (contains(k, MARK) || contains(v, MARK))),
            "setup put no marker in {table}"
        );
    }
    let a_shard = format!("shard{:02}", a.shard_index());
    let a_counters = before
        .keys()
        .filter(|(f, t, k)| *f == a_shard && t == "counters" && k.starts_with(&be(ta.0)))
        .count();
    assert_eq!(a_counters, counter_events(ta).len());

    // Delete A.
    let a_index = a.shard_index();
    drop(a);
    store.admin(&admin).unwrap().delete_tenant(ta).unwrap();

    // Through the API: A is gone, its people and keys with it; the shared account stays in B.
    assert!(matches!(store.scope(&admin, ta), Err(StoreError::NotFound)));
    for acct in &owned_a.accounts {
        assert!(store.principal_for_account(*acct).unwrap().is_none());
    }
    for h in &owned_a.api_key_hashes {
        assert!(store.principal_for_api_key(h).unwrap().is_none());
    }
    assert_eq!(
        principal(&store, shared).memberships(),
        &[(tb, Role::Viewer)]
    );
    for t in [tb, tc] {
        let s = store.scope(&admin, t).unwrap();
        assert_eq!(
            s.catalog_read().unwrap().members().unwrap().len(),
            2 + usize::from(t == tb)
        );
        assert_eq!(
            s.shard_read()
                .unwrap()
                .counter(ChatId::MIN, Day::MIN, 0)
                .unwrap(),
            2
        );
        let (_, p) = store
            .principal_for_api_key(&key_hash(&format!("byk_{t}_1")))
            .unwrap()
            .unwrap();
        assert!(store.scope(&p, t).is_ok());
    }
    drop(b);
    drop(c);
    drop(store);

    // Through the files.
    let after = snapshot_files(dir.path(), shards);
    for ((file, table, k), v) in &after {
        assert!(
            !contains(k, MARK) && !contains(v, MARK),
            "{file}/{table}: a row still holds A's marker"
        );
        assert!(
            !is_a(&owned_a, table, k, v),
            "{file}/{table}: row {k:02x?} of tenant A remains"
        );
    }
    // Every row that is not A's is still there, byte for byte (the shard load of A's shard
    // and the count of tenant-row changes moved by one, below).
    for ((file, table, k), v) in &before {
        let key = (file.clone(), table.clone(), k.clone());
        if is_a(&owned_a, table, k, v) {
            assert!(
                !after.contains_key(&key),
                "{file}/{table}: A's row {k:02x?} remains"
            );
        } else if table == "shard_load" {
            // redb stores plain integers little-endian.
            let n = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
            let expect = n(v) - u64::from(k[..] == a_index.to_le_bytes());
            assert_eq!(
                after.get(&key).map(|v| n(v)),
                Some(expect),
                "shard_load {k:?}"
            );
        } else if table == "sequences" && k[..] == *b"tenant_rows_changed" {
            // The count of changes to tenant rows goes up by the deletion.
            let n = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
            assert_eq!(after.get(&key).map(|v| n(v)), Some(n(v) + 1));
        } else {
            assert_eq!(
                after.get(&key),
                Some(v),
                "{file}/{table}: row {k:02x?} lost or changed"
            );
        }
    }
    // And nothing appeared.
    for key in after.keys() {
        assert!(before.contains_key(key), "new row {key:?}");
    }
    // Tenant B's and C's marked rows are all there (a sanity check on the classifier).
    let kept_before = before
        .iter()
        .filter(|((_, _, k), v)| contains(k, KEEP) || contains(v, KEEP))
        .count();
    let kept_after = after
        .iter()
        .filter(|((_, _, k), v)| contains(k, KEEP) || contains(v, KEEP))
        .count();
    assert!(kept_before > 20);
    assert_eq!(kept_before, kept_after);
    for acct in &kept.accounts {
        assert!(after.contains_key(&("catalog".into(), "accounts".into(), be(acct.0).to_vec())));
    }
    for t in [tb, tc] {
        let n = after
            .keys()
            .filter(|(_, table, k)| table == "counters" && k.starts_with(&be(t.0)))
            .count();
        assert_eq!(n, counter_events(t).len());
    }

    // The store still opens and works after the deletion.
    let store = open(dir.path(), shards);
    let ids: Vec<TenantId> = store
        .tenant_ids()
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(ids, vec![tb, tc]);
}

#[test]
fn deleting_a_tenant_leaves_nothing_with_tenants_on_separate_shards() {
    scenario(4);
}

#[test]
fn deleting_a_tenant_leaves_nothing_with_tenants_sharing_one_shard() {
    scenario(1);
}
