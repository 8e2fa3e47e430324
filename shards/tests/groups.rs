//! Merging a session's dialog list into the tenant's groups keeps the tenant's choices.

mod common;

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
            gone: 0
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
            gone: 1
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
            gone: 0
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

    // Another tenant sees none of it.
    assert!(other.shard_read().unwrap().groups().unwrap().is_empty());
}
