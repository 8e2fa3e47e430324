//! Templates through the API: versions, validation with positions and counts, variables,
//! media uploads sniffed and limited by the plan, previews for a real group, plan limits and
//! tenant isolation.

use crate::common;

use common::App;
use serde_json::{Value, json};

fn limits(templates: u32, media_mb: u32) -> Value {
    let mut l = common::limits();
    l["templates"] = json!(templates);
    l["media_mb"] = json!(media_mb);
    l
}

/// A real PNG padded up to `len` bytes.
fn png(len: usize) -> Vec<u8> {
    common::png(len, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_keep_versions_and_preview_for_a_group() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let t = app
        .sim_tenant(
            &admin,
            "Moda Butik",
            limits(3, 1),
            json!({"seed": 7, "groups": 2}),
        )
        .await;
    let other = app
        .sim_tenant(
            &admin,
            "Simitçi",
            limits(3, 1),
            json!({"seed": 8, "groups": 1}),
        )
        .await;
    let base = format!("/api/v1/tenants/{}/templates", t.tenant);
    let owner = &t.owner;
    app.put(
        &format!("/api/v1/tenants/{}/settings", t.tenant),
        owner,
        common::settings_body("Moda Butik"),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/tenants/{}/variables", t.tenant),
        owner,
        json!({"variables": {"telefon": "0212 555 00 00"}}),
    )
    .await
    .expect(200);

    let created = app
        .post(
            &base,
            owner,
            json!({"name": "Cuma indirimi", "body": "**{group.title}** 🎉 {tenant.name}: {telefon}",
                   "buttons": [[{"label": "Mağaza", "url": "https://moda.example.com"}]]}),
        )
        .await;
    let created = created.expect(201).clone();
    let id = created["id"].as_u64().unwrap();
    assert_eq!(
        (created["version"].as_u64(), created["format"].as_str()),
        (Some(1), Some("markdown"))
    );

    // A content edit is a new version; a rename alone is not.
    let edited = app
        .patch(
            &format!("{base}/{id}"),
            owner,
            json!({"body": "<b>{group.title}</b> — {date}", "format": "html"}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(edited["version"], 2);
    assert_eq!(
        edited["buttons"][0][0]["label"], "Mağaza",
        "buttons carried over"
    );
    let renamed = app
        .patch(
            &format!("{base}/{id}"),
            owner,
            json!({"name": "Hafta sonu"}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (renamed["version"].as_u64(), renamed["name"].as_str()),
        (Some(2), Some("Hafta sonu"))
    );
    let versions = app
        .get(&format!("{base}/{id}/versions"), owner)
        .await
        .expect(200)
        .clone();
    let bodies: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "**{group.title}** 🎉 {tenant.name}: {telefon}",
            "<b>{group.title}</b> — {date}"
        ]
    );
    let v1 = app
        .get(&format!("{base}/{id}/versions/1"), owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(v1["format"], "markdown");

    // Preview for a real group: its title, in bold, offsets in UTF-16 units.
    let groups = app
        .get(&format!("/api/v1/tenants/{}/groups", t.tenant), owner)
        .await
        .expect(200)
        .clone();
    let group = &groups[0];
    let title = group["title"].as_str().unwrap();
    let p = app
        .post(
            &format!("{base}/{id}/preview"),
            owner,
            json!({"chat_id": group["chat_id"], "version": 1}),
        )
        .await
        .expect(200)
        .clone();
    let want = format!("{title} 🎉 Moda Butik: 0212 555 00 00");
    assert_eq!(p["text"], want.as_str());
    let title_units = title.encode_utf16().count() as u64;
    assert_eq!(p["entities"][0]["kind"], "bold");
    assert_eq!(
        (
            p["entities"][0]["offset"].as_u64(),
            p["entities"][0]["length"].as_u64()
        ),
        (Some(0), Some(title_units))
    );
    assert_eq!(
        p["length"].as_u64(),
        Some(want.encode_utf16().count() as u64)
    );
    assert_eq!(p["limit"], 4096);
    // The latest version: the date in Istanbul, in Turkish.
    let p = app
        .post(
            &format!("{base}/{id}/preview"),
            owner,
            json!({"chat_id": group["chat_id"]}),
        )
        .await
        .expect(200)
        .clone();
    let month_tr = [
        "Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim",
        "Kasım", "Aralık",
    ];
    let text = p["text"].as_str().unwrap();
    assert!(month_tr.iter().any(|m| text.contains(m)), "{text}");
    // An unknown group is a 404.
    app.post(
        &format!("{base}/{id}/preview"),
        owner,
        json!({"chat_id": 12345}),
    )
    .await
    .expect_err(404, "resource.not_found");

    // A variable in use cannot be removed.
    app.put(
        &format!("/api/v1/tenants/{}/variables", t.tenant),
        owner,
        json!({"variables": {}}),
    )
    .await
    .expect(200);
    let uses = app
        .post(
            &base,
            owner,
            json!({"name": "Telefon", "body": "Ara: {telefon}"}),
        )
        .await;
    uses.expect_err(422, "template.unknown_variable");
    app.put(
        &format!("/api/v1/tenants/{}/variables", t.tenant),
        owner,
        json!({"variables": {"telefon": "1"}}),
    )
    .await
    .expect(200);
    app.post(
        &base,
        owner,
        json!({"name": "Telefon", "body": "Ara: {telefon}"}),
    )
    .await
    .expect(201);
    app.put(
        &format!("/api/v1/tenants/{}/variables", t.tenant),
        owner,
        json!({"variables": {}}),
    )
    .await
    .expect_err(409, "variables.in_use");

    // The plan allows 3 templates.
    app.post(&base, owner, json!({"name": "Üç", "body": "3"}))
        .await
        .expect(201);
    app.post(&base, owner, json!({"name": "Dört", "body": "4"}))
        .await
        .expect_err(409, "plan.template_limit");

    // Another tenant sees none of it.
    app.get(
        &format!("/api/v1/tenants/{}/templates/{id}", t.tenant),
        &other.owner,
    )
    .await
    .expect_err(404, "resource.not_found");
    app.get(
        &format!("/api/v1/tenants/{}/templates/{id}", other.tenant),
        &other.owner,
    )
    .await
    .expect_err(404, "resource.not_found");
    let theirs = app
        .get(
            &format!("/api/v1/tenants/{}/templates", other.tenant),
            &other.owner,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(theirs.as_array().unwrap().len(), 0);

    app.delete(&format!("{base}/{id}"), owner).await.expect(204);
    app.get(&format!("{base}/{id}/versions"), owner)
        .await
        .expect_err(404, "resource.not_found");
}

#[tokio::test]
async fn bad_templates_are_refused_with_their_code() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Kırtasiye", "k@example.com")
        .await;
    let owner = owner.access;
    let base = format!("/api/v1/tenants/{tenant}/templates");
    let long = "a".repeat(4097);
    let row: Vec<Value> = (0..9)
        .map(|i| json!({"label": format!("b{i}"), "url": "https://x.example"}))
        .collect();
    let rows: Vec<Value> = (0..11)
        .map(|_| json!([{"label": "b", "url": "https://x.example"}]))
        .collect();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"name": "x", "body": "   "}),
            422,
            "template.empty",
            "",
        ),
        (
            json!({"name": "x", "body": "Merhaba {isim}"}),
            422,
            "template.unknown_variable",
            "at character 8",
        ),
        (
            json!({"name": "x", "body": "<b>kalın", "format": "html"}),
            422,
            "template.markup",
            "at character",
        ),
        (
            json!({"name": "x", "body": "<script>x</script>", "format": "html"}),
            422,
            "template.markup",
            "at character",
        ),
        (
            json!({"name": "x", "body": long}),
            422,
            "template.too_long",
            "4097",
        ),
        (
            json!({"name": "x", "body": format!("<b>{}</b>", "<i></i>".repeat(5_000)), "format": "html"}),
            422,
            "template.too_long",
            "bytes",
        ),
        (
            json!({"name": "x", "body": "x", "buttons": [[{"label": "Site", "url": "http://x.example"}]]}),
            422,
            "template.button_url",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "buttons": [[{"label": "Site", "url": "javascript:alert(1)"}]]}),
            422,
            "template.button_url",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "buttons": [row]}),
            422,
            "template.buttons",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "buttons": rows}),
            422,
            "template.buttons",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "buttons": [[]]}),
            422,
            "template.buttons",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "media_id": 99}),
            422,
            "template.media",
            "",
        ),
        (
            json!({"name": "", "body": "x"}),
            422,
            "validation.invalid",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "format": "bbcode"}),
            422,
            "validation.wrong_type",
            "",
        ),
        (
            json!({"name": "x", "body": "x", "colour": "red"}),
            400,
            "request.unknown_field",
            "",
        ),
        (json!({"name": "x"}), 422, "validation.missing_field", ""),
    ];
    for (body, status, code, says) in cases {
        let r = app.post(&base, &owner, body.clone()).await;
        r.expect_err(status, code);
        let msg = r.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains(says), "{body}: {msg}");
    }
    // Nothing was saved.
    let list = app.get(&base, &owner).await.expect(200).clone();
    assert_eq!(list.as_array().unwrap().len(), 0);
    // Variables: bad names, built-in names, too many.
    let vars = format!("/api/v1/tenants/{tenant}/variables");
    app.put(&vars, &owner, json!({"variables": {"Büyük": "x"}}))
        .await
        .expect_err(422, "variables.name");
    app.put(&vars, &owner, json!({"variables": {"date": "x"}}))
        .await
        .expect_err(422, "variables.name");
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("v{i}"), json!("x"))).collect();
    app.put(&vars, &owner, json!({"variables": many}))
        .await
        .expect_err(422, "variables.too_many");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_sniffed_limited_by_the_plan_and_kept_while_used() {
    let app = App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Fotoğrafçı", "f@example.com")
        .await;
    let owner = owner.access;
    app.put_on_plan(&admin, tenant, "Bir", limits(5, 1)).await;
    let up = format!("/api/v1/tenants/{tenant}/media?name=afi%C5%9F.png");
    let media_dir = app.data_dir().join("media").join(tenant.to_string());
    let files = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&media_dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };

    // Refused: an executable, a file over the plan's 1 MiB, a path as a name.
    app.upload(
        &up,
        &owner,
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0rest".to_vec(),
    )
    .await
    .expect_err(422, "media.unsupported");
    // 8 KiB of text and then an executable is not a text document.
    let mut disguised = "Fiyat listesi\n".repeat(700).into_bytes();
    disguised.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0rest");
    assert!(disguised.len() > 8 * 1024);
    app.upload(&up, &owner, disguised)
        .await
        .expect_err(422, "media.unsupported");
    // A PNG signature before an executable is not a photo; a photo Telegram would refuse
    // (one pixel high, 30 wide) is refused here.
    let mut fake_png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    fake_png.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0rest");
    fake_png.resize(9000, 0);
    app.upload(&up, &owner, fake_png)
        .await
        .expect_err(422, "media.bad_image");
    let thin = app
        .upload(&up, &owner, common::png_sized(30, 1, 100, 0))
        .await;
    thin.expect_err(422, "media.photo_dimensions");
    assert!(
        thin.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("30×1")
    );
    let big = app.upload(&up, &owner, png(1024 * 1024 + 1)).await;
    big.expect_err(422, "media.too_large");
    assert!(
        big.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 MiB")
    );
    app.upload(
        &format!("/api/v1/tenants/{tenant}/media?name=..%2Fx"),
        &owner,
        png(100),
    )
    .await
    .expect_err(422, "media.name");
    assert!(files().is_empty(), "nothing left behind: {:?}", files());

    let m = app
        .upload(&up, &owner, png(1024 * 1024))
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (m["kind"].as_str(), m["mime"].as_str(), m["name"].as_str()),
        (Some("photo"), Some("image/png"), Some("afiş.png"))
    );
    let mid = m["id"].as_u64().unwrap();
    assert_eq!(files(), vec![format!("m{mid}")]);
    assert_eq!(
        std::fs::metadata(media_dir.join(format!("m{mid}")))
            .unwrap()
            .len(),
        1024 * 1024
    );
    let doc = app
        .upload(
            &format!("/api/v1/tenants/{tenant}/media?name=fiyat.txt"),
            &owner,
            "Çay 20₺\nKahve 60₺\n".as_bytes().to_vec(),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(
        (doc["kind"].as_str(), doc["mime"].as_str()),
        (Some("document"), Some("text/plain"))
    );

    // With media the text is a caption: 1,024 at most.
    let base = format!("/api/v1/tenants/{tenant}/templates");
    let r = app
        .post(
            &base,
            &owner,
            json!({"name": "Afiş", "body": "a".repeat(1025), "media_id": mid}),
        )
        .await;
    r.expect_err(422, "template.too_long");
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024")
    );
    let tpl = app
        .post(
            &base,
            &owner,
            json!({"name": "Afiş", "body": "", "media_id": mid}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(tpl["media_id"].as_u64(), Some(mid));
    app.delete(&format!("/api/v1/tenants/{tenant}/media/{mid}"), &owner)
        .await
        .expect_err(409, "media.in_use");
    app.patch(
        &format!("{base}/{}", tpl["id"]),
        &owner,
        json!({"remove_media": true, "body": "Yalnız metin"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/api/v1/tenants/{tenant}/media/{mid}"), &owner)
        .await
        .expect(204);
    assert_eq!(files(), vec![format!("m{}", doc["id"])]);
    let list = app
        .get(&format!("/api/v1/tenants/{tenant}/media"), &owner)
        .await
        .expect(200)
        .clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
}
