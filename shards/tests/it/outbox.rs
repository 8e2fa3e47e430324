//! The outbox: a mail is queued in the transaction that causes it, with its Message-ID fixed;
//! the sender takes what is due in order and moves each on once (sent, retried later, failed),
//! and all of it survives closing the store.

use crate::common;

use botyard_shards::records::{Language, MailRec, MailStateRec};
use common::{admin, create_tenant, open};

fn mail(to: &str, tenant: Option<botyard_shards::ids::TenantId>, at: i64) -> MailRec {
    MailRec {
        kind: "account.invitation".into(),
        to: to.into(),
        tenant,
        language: Language::Tr,
        subject: "Davet: Çiçekçi".into(),
        text: "Merhaba".into(),
        html: "<p>Merhaba</p>".into(),
        invoice: None,
        message_id: String::new(),
        state: MailStateRec::Queued,
        attempts: 0,
        next_at: at,
        created_at: at,
        last_error: None,
        unsubscribe: None,
    }
}

#[test]
fn mails_are_taken_in_order_and_moved_on_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1);
    let root = admin(&store, "admin@shop.test");
    let shop = create_tenant(&store, &root, "Çiçekçi");
    let other = create_tenant(&store, &root, "Fırın");
    let domain = "yard.example";
    let a = store
        .catalog_write(|c| c.enqueue_account_mail(mail("ayse@example.com", None, 200), domain))
        .unwrap();
    let b = shop
        .catalog_write(|c| {
            c.enqueue_mail(
                mail("owner@example.com", Some(shop.tenant_id()), 100),
                domain,
            )
        })
        .unwrap();
    // A tenant queues only its own mails; an account mail names no tenant.
    assert!(
        shop.catalog_write(
            |c| c.enqueue_mail(mail("x@example.com", Some(other.tenant_id()), 1), domain)
        )
        .is_err()
    );
    assert!(
        store
            .catalog_write(|c| c
                .enqueue_account_mail(mail("x@example.com", Some(other.tenant_id()), 1), domain))
            .is_err()
    );

    let read = store.catalog_read().unwrap();
    let due: Vec<_> = read.mails_due(150, 10).unwrap();
    assert_eq!(due.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![b]);
    let due = read.mails_due(1_000, 10).unwrap();
    assert_eq!(
        due.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![b, a]
    );
    assert_eq!(
        due[1].1.message_id,
        format!("<outbox.{}.200@yard.example>", a.0)
    );
    drop(read);

    // A temporary failure: later, with the reason; then sent; then nothing moves it again.
    let sys = store.system_admin();
    assert!(
        sys.settle_mail(
            b,
            MailStateRec::Queued,
            Some(500),
            Some("421 try later".into())
        )
        .unwrap()
    );
    let read = store.catalog_read().unwrap();
    assert_eq!(
        read.mails_due(400, 10)
            .unwrap()
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![a]
    );
    let m = read.mail(b).unwrap().unwrap();
    assert_eq!(
        (m.attempts, m.next_at, m.last_error.as_deref()),
        (1, 500, Some("421 try later"))
    );
    drop(read);
    assert!(
        sys.settle_mail(b, MailStateRec::Sent { at: 510 }, None, None)
            .unwrap()
    );
    assert!(
        !sys.settle_mail(b, MailStateRec::Sent { at: 520 }, None, None)
            .unwrap()
    );
    assert!(
        sys.settle_mail(
            a,
            MailStateRec::Failed {
                at: 600,
                reason: "550 no such user".into()
            },
            None,
            None
        )
        .unwrap()
    );
    drop((sys, shop, other, root));
    drop(store);

    // Closed and opened again: nothing is due, both outcomes kept, the Message-ID the same.
    let store = open(dir.path(), 1);
    let read = store.catalog_read().unwrap();
    assert!(read.mails_due(i64::MAX, 10).unwrap().is_empty());
    let all = read.mails(10).unwrap();
    assert_eq!(
        all.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![b, a]
    );
    assert_eq!(all[0].1.state, MailStateRec::Sent { at: 510 });
    assert_eq!(
        all[0].1.message_id,
        format!("<outbox.{}.100@yard.example>", b.0)
    );
    assert!(
        matches!(&all[1].1.state, MailStateRec::Failed { reason, .. } if reason.starts_with("550"))
    );
}
