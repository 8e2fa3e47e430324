//! Accounts linked to Telegram users: one account per user, one user per account.

use crate::common;

use botyard_shards::StoreError;
use botyard_shards::records::TelegramLinkRec;
use common::{insert_account, open};

fn link(user_id: i64, name: &str) -> TelegramLinkRec {
    TelegramLinkRec {
        user_id,
        access_hash: user_id * 3,
        first_name: name.into(),
        username: Some(format!("{name}_tg")),
        linked_at: 100,
    }
}

#[test]
fn a_telegram_user_is_linked_to_one_account_at_most() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let ayse = insert_account(&store, "ayse@shop.test", false);
    let mehmet = insert_account(&store, "mehmet@shop.test", false);
    store
        .catalog_write(|c| c.link_telegram(ayse, &link(501, "Ayşe")))
        .unwrap();
    let read = |a| store.catalog_read().unwrap().telegram_link(a).unwrap();
    assert_eq!(read(ayse).unwrap().user_id, 501);
    assert_eq!(read(mehmet), None);

    // The same Telegram user linking Mehmet's account moves the link.
    store
        .catalog_write(|c| c.link_telegram(mehmet, &link(501, "Ayşe")))
        .unwrap();
    assert_eq!(read(ayse), None);
    assert_eq!(read(mehmet).unwrap().first_name, "Ayşe");

    // Mehmet linking another Telegram user frees 501, so Ayşe can take it back.
    store
        .catalog_write(|c| c.link_telegram(mehmet, &link(502, "Mehmet")))
        .unwrap();
    store
        .catalog_write(|c| c.link_telegram(ayse, &link(501, "Ayşe")))
        .unwrap();
    assert_eq!(read(ayse).unwrap().user_id, 501);
    assert_eq!(read(mehmet).unwrap().user_id, 502);

    assert!(store.catalog_write(|c| c.unlink_telegram(mehmet)).unwrap());
    assert!(!store.catalog_write(|c| c.unlink_telegram(mehmet)).unwrap());
    assert_eq!(read(mehmet), None);
    // 502 is free again: linking it to Ayşe replaces her 501.
    store
        .catalog_write(|c| c.link_telegram(ayse, &link(502, "Mehmet")))
        .unwrap();
    assert_eq!(read(ayse).unwrap().user_id, 502);
    store
        .catalog_write(|c| c.link_telegram(mehmet, &link(501, "Ayşe")))
        .unwrap();
    assert_eq!(read(mehmet).unwrap().user_id, 501);
    assert_eq!(read(ayse).unwrap().user_id, 502);

    let missing = botyard_shards::ids::AccountId(999);
    assert!(matches!(
        store.catalog_write(|c| c.link_telegram(missing, &link(503, "x"))),
        Err(StoreError::NotFound)
    ));
}
