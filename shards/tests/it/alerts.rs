//! Alerts: one open alert per kind, tenant and subject; acknowledging closes it once.

use crate::common;

use botyard_shards::ids::{AlertId, TenantId};
use botyard_shards::records::AlertRec;
use common::{insert_account, open};

fn alert(kind: &str, tenant: Option<u64>, subject: &str) -> AlertRec {
    AlertRec {
        at: 100,
        kind: kind.into(),
        tenant: tenant.map(TenantId),
        subject: subject.into(),
        detail: "why".into(),
        acked_at: None,
        acked_by: None,
    }
}

#[test]
fn the_same_trouble_raises_one_open_alert_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1);
    let admin = insert_account(&store, "admin@shop.test", true);
    let raise = |a: &AlertRec| store.catalog_write(|c| c.raise_alert(a)).unwrap();
    let first = raise(&alert("worker.quarantined", Some(3), "worker 3")).unwrap();
    assert_eq!(
        raise(&alert("worker.quarantined", Some(3), "worker 3")),
        None
    );
    // Another tenant, subject or kind is another alert.
    assert!(raise(&alert("worker.quarantined", Some(4), "worker 4")).is_some());
    assert!(raise(&alert("session.revoked", Some(3), "session 1")).is_some());
    assert!(raise(&alert("session.revoked", Some(3), "session 2")).is_some());
    let read = store.catalog_read().unwrap();
    assert_eq!(read.open_alert_count().unwrap(), 4);
    let open_ones = read.alerts(true, 10).unwrap();
    assert_eq!(open_ones.len(), 4);
    assert!(
        open_ones.windows(2).all(|w| w[0].0 > w[1].0),
        "newest first"
    );
    assert_eq!(read.alerts(true, 2).unwrap().len(), 2);
    drop(read);

    let ack = |id: AlertId| {
        store
            .catalog_write(|c| c.ack_alert(id, admin, 200))
            .unwrap()
    };
    assert!(ack(first));
    assert!(!ack(first), "once");
    assert!(!ack(AlertId(999)));
    let read = store.catalog_read().unwrap();
    assert_eq!(read.open_alert_count().unwrap(), 3);
    let all = read.alerts(false, 10).unwrap();
    let a = &all.iter().find(|(id, _)| *id == first).unwrap().1;
    assert_eq!((a.acked_at, a.acked_by), (Some(200), Some(admin)));
    drop(read);
    // The trouble coming back after the acknowledgement raises a new alert.
    let again = raise(&alert("worker.quarantined", Some(3), "worker 3")).unwrap();
    assert!(again > first);
}
