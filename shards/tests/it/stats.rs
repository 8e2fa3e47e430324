//! Pruning statistics rows keeps what the growth chart still needs.

use crate::common;

use botyard_shards::ids::{ChatId, Day};
use common::{admin, create_tenant, open};

#[test]
fn pruning_member_counts_keeps_each_chats_newest_before_the_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1);
    let admin = admin(&store, "admin@yard.test");
    let t = create_tenant(&store, &admin, "Moda");
    let (a, b) = (ChatId(-1001), ChatId(-1002));
    t.shard_write(|s| {
        for (d, n) in [(1, 100), (2, 101), (3, 102), (9, 110)] {
            s.put_member_count(a, Day(d), n)?;
        }
        s.put_member_count(b, Day(1), 50)?;
        Ok::<_, botyard_shards::StoreError>(())
    })
    .unwrap();
    let n = t.shard_write(|s| s.prune_counters(Day(5), 100)).unwrap();
    assert_eq!(n, 2, "days 1 and 2 of chat a");
    let r = t.shard_read().unwrap();
    assert_eq!(
        r.member_counts(a, Day(5), Day(10)).unwrap(),
        (Some(102), vec![(Day(9), 110)])
    );
    assert_eq!(
        r.member_counts(b, Day(5), Day(10)).unwrap(),
        (Some(50), vec![])
    );
    // A second run has nothing more to take.
    drop(r);
    assert_eq!(t.shard_write(|s| s.prune_counters(Day(5), 100)).unwrap(), 0);
}
