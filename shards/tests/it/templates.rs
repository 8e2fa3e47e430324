//! Templates keep every version, ids are never reused, and each tenant sees only its own.

use crate::common;

use botyard_shards::StoreError;
use botyard_shards::ids::TemplateId;
use botyard_shards::records::{TemplateFormatRec, TemplateVersionRec, VariablesRec};
use common::{admin, create_tenant, open};

fn version(body: &str, at: i64) -> TemplateVersionRec {
    TemplateVersionRec {
        body: body.into(),
        format: TemplateFormatRec::Markdown,
        buttons: Vec::new(),
        created_at: at,
        author: Some(1),
        media: None,
    }
}

#[test]
fn edits_are_versions_and_ids_are_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let a = admin(&store, "root@example.com");
    let t = create_tenant(&store, &a, "Kahve");
    let other = create_tenant(&store, &a, "Simit");

    let id = t
        .shard_write(|s| s.insert_template("Cuma indirimi", &version("v1", 10)))
        .unwrap();
    let rec = t
        .shard_write(|s| s.add_template_version(id, None, &version("v2", 20)))
        .unwrap();
    assert_eq!((rec.latest, rec.created_at, rec.updated_at), (2, 10, 20));
    let r = t.shard_read().unwrap();
    let bodies: Vec<String> = r
        .template_versions(id)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v.body)
        .collect();
    assert_eq!(bodies, ["v1", "v2"]);
    assert_eq!(r.template_version(id, 1).unwrap().unwrap().body, "v1");
    drop(r);
    // Another tenant sees none of it, and gets its own numbering.
    assert!(other.shard_read().unwrap().template(id).unwrap().is_none());
    assert!(matches!(
        other.shard_write(|s| s.add_template_version(id, None, &version("x", 1))),
        Err(StoreError::NotFound)
    ));

    // A deleted template's id is not given out again; its versions go with it.
    assert!(t.shard_write(|s| s.delete_template(id)).unwrap());
    let next = t
        .shard_write(|s| s.insert_template("Yeni", &version("v1", 30)))
        .unwrap();
    assert_eq!(next, TemplateId(id.0 + 1));
    assert!(
        t.shard_read()
            .unwrap()
            .template_versions(id)
            .unwrap()
            .is_empty()
    );

    t.shard_write(|s| {
        s.put_variables(&VariablesRec {
            vars: vec![("telefon".into(), "0212".into())],
            updated_at: 5,
        })
    })
    .unwrap();
    assert_eq!(t.shard_read().unwrap().variables().unwrap().vars.len(), 1);
    assert!(
        other
            .shard_read()
            .unwrap()
            .variables()
            .unwrap()
            .vars
            .is_empty()
    );
}
