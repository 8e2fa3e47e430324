//! Merging a session's dialog list into the tenant's groups keeps the tenant's choices.

use crate::common;

use botyard_shards::ids::ChatId;
use botyard_shards::records::GroupKindRec;
use botyard_shards::{GroupFacts, StoreError, SyncOutcome};
use common::{admin, create_tenant, open};

fn facts(chat: i64, title: &str, members: u32) -> GroupFacts {
    GroupFacts {
        chat: ChatId(chat),
        title: title.into(),
        kind: GroupKindRec::Supergroup,
        members,
        can_post: true,
        is_admin: false,
        slow_mode_secs: 0,
        rights: (false, false),
    }
}

#[test]
fn refresh_adds_updates_and_marks_gone_but_keeps_choices() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let a = admin(&store, "root@example.com");
    let t = create_tenant(&store, &a, "Kahve");
    let other = create_tenant(&store, &a, "Simit");

    let first = [facts(-100, "Kadıköy", 10), facts(-200, "Moda", 20)];
    let out = t.shard_write(|s| s.sync_groups(1, &first, 100)).unwrap();
    assert_eq!(
        out,
        SyncOutcome {
            added: 2,
            updated: 0,
            gone: 0,
            lost: Vec::new(),
        }
    );

    // The tenant enables one and tags it.
    t.shard_write(|s| {
        let mut g = s.group(ChatId(-100))?.unwrap();
        g.enabled = true;
        g.tags = vec!["istanbul".into()];
        s.put_group(ChatId(-100), &g)?;
        Ok::<_, StoreError>(())
    })
    .unwrap();

    // Same list again: nothing changes.
    let out = t.shard_write(|s| s.sync_groups(1, &first, 200)).unwrap();
    assert_eq!(out, SyncOutcome::default());

    // A rename and a member change, one chat left, one new.
    let second = [
        facts(-100, "Kadıköy Esnafı", 11),
        facts(-300, "Beşiktaş", 5),
    ];
    let out = t.shard_write(|s| s.sync_groups(1, &second, 300)).unwrap();
    assert_eq!(
        out,
        SyncOutcome {
            added: 1,
            updated: 1,
            gone: 1,
            // Moda was not used by automation: nobody needs telling.
            lost: Vec::new(),
        }
    );

    let r = t.shard_read().unwrap();
    let g = r.group(ChatId(-100)).unwrap().unwrap();
    assert_eq!(g.title, "Kadıköy Esnafı");
    assert_eq!(g.members, 11);
    assert!(g.enabled, "the tenant's choice survives a refresh");
    assert_eq!(g.tags, vec!["istanbul".to_string()]);
    assert_eq!(g.discovered_at, 100);
    assert_eq!(g.updated_at, 300);
    let gone = r.group(ChatId(-200)).unwrap().unwrap();
    assert!(!gone.present && !gone.can_post && !gone.enabled);
    let new = r.group(ChatId(-300)).unwrap().unwrap();
    assert!(new.present && !new.enabled);
    assert_eq!(r.groups().unwrap().len(), 3);

    // A second session's list does not mark the first session's chats gone.
    let out = t
        .shard_write(|s| s.sync_groups(2, &[facts(-400, "Üsküdar", 3)], 400))
        .unwrap();
    assert_eq!(
        out,
        SyncOutcome {
            added: 1,
            updated: 0,
            gone: 0,
            lost: Vec::new(),
        }
    );

    // Title and member updates from events.
    assert!(
        t.shard_write(|s| s.chat_changed(ChatId(-300), Some("Beşiktaş Çarşı"), Some(6), 500))
            .unwrap()
    );
    assert!(
        !t.shard_write(|s| s.chat_changed(ChatId(-999), Some("x"), None, 500))
            .unwrap()
    );
    let g = t
        .shard_read()
        .unwrap()
        .group(ChatId(-300))
        .unwrap()
        .unwrap();
    assert_eq!((g.title.as_str(), g.members), ("Beşiktaş Çarşı", 6));

    // The enabled chat leaves the session's list: it is lost to automation and named.
    let out = t
        .shard_write(|s| s.sync_groups(1, &[facts(-300, "Beşiktaş Çarşı", 6)], 600))
        .unwrap();
    assert_eq!(out.gone, 1);
    assert_eq!(out.lost, vec![(ChatId(-100), "Kadıköy Esnafı".to_string())]);

    // Another tenant sees none of it.
    assert!(other.shard_read().unwrap().groups().unwrap().is_empty());
}

#[test]
fn a_chat_two_sessions_share_keeps_its_choices_when_one_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1);
    let a = admin(&store, "root@example.com");
    let t = create_tenant(&store, &a, "Lale");
    // The shop's bot (1) and its owner's account (2) are both in the same group.
    t.shard_write(|s| s.sync_groups(1, &[facts(-5, "Moda", 30)], 10))
        .unwrap();
    t.shard_write(|s| s.sync_groups(2, &[facts(-5, "Moda", 30)], 11))
        .unwrap();
    t.shard_write(|s| {
        let mut g = s.group(ChatId(-5))?.unwrap();
        g.enabled = true;
        s.put_group(ChatId(-5), &g)?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let g = t.shard_read().unwrap().group(ChatId(-5)).unwrap().unwrap();
    assert_eq!(g.session, 1, "the first session keeps posting");
    assert_eq!(g.seen_by, vec![1, 2]);

    // The bot is removed: the account still sees the chat, and takes over posting.
    let out = t.shard_write(|s| s.forget_session_groups(1, 20)).unwrap();
    assert_eq!(out, 0, "nothing is gone");
    let g = t.shard_read().unwrap().group(ChatId(-5)).unwrap().unwrap();
    assert!(g.present && g.enabled, "{g:?}");
    assert_eq!((g.session, g.seen_by.clone()), (2, vec![2]));

    // The account leaves too: now it is gone, automation off.
    assert_eq!(
        t.shard_write(|s| s.sync_groups(2, &[], 30)).unwrap().gone,
        1
    );
    let g = t.shard_read().unwrap().group(ChatId(-5)).unwrap().unwrap();
    assert!(!g.present && !g.enabled && g.seen_by.is_empty());
}

#[test]
fn a_version_1_group_record_is_read_as_seen_by_its_session() {
    use botyard_shards::Record;
    use botyard_shards::records::GroupRec;
    // Version 1 had no `seen_by`: the fields of GroupRec without it, in order.
    #[derive(serde::Serialize)]
    struct V1 {
        session: u64,
        title: String,
        kind: GroupKindRec,
        members: u32,
        can_post: bool,
        is_admin: bool,
        slow_mode_secs: u32,
        present: bool,
        enabled: bool,
        tags: Vec<String>,
        discovered_at: i64,
        updated_at: i64,
    }
    let body = postcard::to_allocvec(&V1 {
        session: 3,
        title: "Eski".into(),
        kind: GroupKindRec::Group,
        members: 4,
        can_post: true,
        is_admin: false,
        slow_mode_secs: 0,
        present: true,
        enabled: true,
        tags: vec!["x".into()],
        discovered_at: 1,
        updated_at: 2,
    })
    .unwrap();
    let g = GroupRec::upgrade(1, &body).unwrap();
    assert_eq!((g.session, g.seen_by, g.enabled), (3, vec![3], true));
}
