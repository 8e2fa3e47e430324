//! Session import: strings and `.session` files in every supported layout, made by a generator
//! that follows each format's documented layout, and malformed ones that must be refused with
//! an error naming the problem. Then the same through the API, where the key lands sealed.

use crate::common;

use base64::Engine;
use botyard::worker::session_import::{ImportError, ImportSource, parse_file, parse_string};
use serde_json::json;

/// A recognisable 256-byte auth key.
fn auth_key(seed: u8) -> Vec<u8> {
    (0..=255u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(seed))
        .collect()
}

fn b64url(b: &[u8], pad: bool) -> String {
    if pad {
        base64::engine::general_purpose::URL_SAFE.encode(b)
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }
}

/// Generators following each library's layout (see the module docs of `session_import`).
pub mod make {
    use super::*;

    /// Telethon `StringSession.save()`: '1' + urlsafe_b64encode(pack('>B{4|16}sH256s', …)).
    pub fn telethon(dc: u8, ip: std::net::IpAddr, port: u16, key: &[u8]) -> String {
        let mut b = vec![dc];
        match ip {
            std::net::IpAddr::V4(v) => b.extend_from_slice(&v.octets()),
            std::net::IpAddr::V6(v) => b.extend_from_slice(&v.octets()),
        }
        b.extend_from_slice(&port.to_be_bytes());
        b.extend_from_slice(key);
        format!("1{}", b64url(&b, true))
    }

    /// GramJS `StringSession.save()`: '1' + standard base64 of dc id, a 2-byte big-endian
    /// address length, the address as text, a 2-byte port and the key.
    pub fn gramjs(dc: u8, address: &str, port: u16, key: &[u8]) -> String {
        let mut b = vec![dc];
        b.extend_from_slice(&(address.len() as u16).to_be_bytes());
        b.extend_from_slice(address.as_bytes());
        b.extend_from_slice(&port.to_be_bytes());
        b.extend_from_slice(key);
        format!("1{}", base64::engine::general_purpose::STANDARD.encode(&b))
    }

    /// Pyrogram before 1.x: '>B?256sI?'.
    pub fn pyrogram_old(dc: u8, test: bool, key: &[u8], user: u32, bot: bool) -> String {
        let mut b = vec![dc, test as u8];
        b.extend_from_slice(key);
        b.extend_from_slice(&user.to_be_bytes());
        b.push(bot as u8);
        b64url(&b, false)
    }

    /// Pyrogram 1.x with 64-bit user ids: '>B?256sQ?'.
    pub fn pyrogram_64(dc: u8, test: bool, key: &[u8], user: u64, bot: bool) -> String {
        let mut b = vec![dc, test as u8];
        b.extend_from_slice(key);
        b.extend_from_slice(&user.to_be_bytes());
        b.push(bot as u8);
        b64url(&b, false)
    }

    /// Pyrogram 2.x: '>BI?256sQ?' (with the api id).
    pub fn pyrogram(dc: u8, api_id: u32, test: bool, key: &[u8], user: u64, bot: bool) -> String {
        let mut b = vec![dc];
        b.extend_from_slice(&api_id.to_be_bytes());
        b.push(test as u8);
        b.extend_from_slice(key);
        b.extend_from_slice(&user.to_be_bytes());
        b.push(bot as u8);
        b64url(&b, false)
    }

    pub fn file(setup: impl FnOnce(&rusqlite::Connection)) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.session");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            setup(&c);
        }
        std::fs::read(&path).unwrap()
    }

    /// Telethon's SQLiteSession, schema version 7.
    pub fn telethon_file(dc: u8, server: &str, port: u16, key: Option<&[u8]>) -> Vec<u8> {
        file(|c| {
            c.execute_batch(
                "CREATE TABLE version (version integer primary key);
                 INSERT INTO version VALUES (7);
                 CREATE TABLE sessions (dc_id integer primary key, server_address text,
                     port integer, auth_key blob, takeout_id integer);
                 CREATE TABLE entities (id integer primary key, hash integer not null,
                     username text, phone integer, name text, date integer);
                 CREATE TABLE sent_files (md5_digest blob, file_size integer, type integer,
                     id integer, hash integer, primary key(md5_digest, file_size, type));
                 CREATE TABLE update_state (id integer primary key, pts integer, qts integer,
                     date integer, seq integer);",
            )
            .unwrap();
            c.execute(
                "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4, NULL)",
                rusqlite::params![dc, server, port, key],
            )
            .unwrap();
            c.execute(
                "INSERT INTO entities VALUES (123, 456, 'dukkan', NULL, 'Dükkan', 0)",
                [],
            )
            .unwrap();
        })
    }

    /// Pyrogram's FileStorage: version 3 has `api_id`, version 2 does not.
    pub fn pyrogram_file(version: u8, dc: u8, key: &[u8], user: i64, bot: bool) -> Vec<u8> {
        file(|c| {
            let api = if version >= 3 { "api_id INTEGER," } else { "" };
            c.execute_batch(&format!(
                "CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, {api} test_mode INTEGER,
                     auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER);
                 CREATE TABLE peers (id INTEGER PRIMARY KEY, access_hash INTEGER,
                     type INTEGER NOT NULL, username TEXT, phone_number TEXT,
                     last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER)));
                 CREATE TABLE version (number INTEGER PRIMARY KEY);
                 INSERT INTO version VALUES ({version});"
            ))
            .unwrap();
            if version >= 3 {
                c.execute(
                    "INSERT INTO sessions VALUES (?1, 12345, 0, ?2, 0, ?3, ?4)",
                    rusqlite::params![dc, key, user, bot],
                )
                .unwrap();
            } else {
                c.execute(
                    "INSERT INTO sessions VALUES (?1, 0, ?2, 0, ?3, ?4)",
                    rusqlite::params![dc, key, user, bot],
                )
                .unwrap();
            }
        })
    }
}

#[test]
fn telethon_strings_ipv4_and_ipv6() {
    let key = auth_key(1);
    let s = make::telethon(2, "149.154.167.51".parse().unwrap(), 443, &key);
    let got = parse_string(&s).unwrap();
    assert_eq!(got.source, ImportSource::TelethonString);
    assert_eq!(got.dc_id, 2);
    assert_eq!(got.addr.to_string(), "149.154.167.51:443");
    assert_eq!(&got.auth_key[..], &key[..]);
    // Pasted with the padding stripped and surrounding spaces: still read.
    let trimmed = format!("  {}\n", s.trim_end_matches('='));
    assert_eq!(parse_string(&trimmed).unwrap(), got);

    let s6 = make::telethon(4, "2001:67c:4e8:f004::a".parse().unwrap(), 443, &key);
    let got6 = parse_string(&s6).unwrap();
    assert_eq!(got6.dc_id, 4);
    // Saved over IPv6, connected over IPv4: the DC's known address.
    assert_eq!(got6.addr.to_string(), "149.154.167.91:443");
}

#[test]
fn gramjs_strings_and_pyrogram_0x_colon_strings() {
    let key = auth_key(11);
    // Addresses of every length a dotted IPv4 can have, so the standard alphabet's `+` and
    // `/` and every padding occur.
    for (dc, ip) in [
        (2, "149.154.167.51"),
        (5, "91.108.56.130"),
        (4, "149.154.167.91"),
    ] {
        let s = make::gramjs(dc, ip, 443, &key);
        let got = parse_string(&s).unwrap();
        assert_eq!(
            (got.source, got.dc_id, got.addr.to_string()),
            (ImportSource::GramjsString, dc, format!("{ip}:443"))
        );
        assert_eq!(&got.auth_key[..], &key[..]);
    }
    // Saved over IPv6: the DC's IPv4 address; a host name is not an address.
    let v6 = parse_string(&make::gramjs(2, "2001:67c:4e8:f002::a", 443, &key)).unwrap();
    assert_eq!(v6.addr.to_string(), "149.154.167.51:443");
    let named = parse_string(&make::gramjs(2, "dc2.example.org", 443, &key)).unwrap_err();
    assert_eq!(named.code(), "import.address");
    // A GramJS string with its key cut is reported by its length, not as another layout.
    let cut = make::gramjs(2, "149.154.167.51", 443, &key[..200]);
    assert_eq!(parse_string(&cut).unwrap_err().code(), "import.length");

    // Pyrogram 0.x wrote its layout after a colon.
    let old = make::pyrogram_old(3, false, &key, 7_000_000, false);
    let colon = parse_string(&format!(":{old}")).unwrap();
    assert_eq!(colon, parse_string(&old).unwrap());
    assert_eq!(colon.source, ImportSource::PyrogramString);
}

#[test]
fn a_telethon_file_resumes_where_its_client_stopped() {
    let key = auth_key(12);
    let file = make::file(|c| {
        c.execute_batch(
            "CREATE TABLE version (version integer primary key);
             INSERT INTO version VALUES (7);
             CREATE TABLE sessions (dc_id integer primary key, server_address text,
                 port integer, auth_key blob, takeout_id integer);
             CREATE TABLE entities (id integer primary key, hash integer not null,
                 username text, phone integer, name text, date integer);
             CREATE TABLE update_state (id integer primary key, pts integer, qts integer,
                 date integer, seq integer);
             INSERT INTO update_state VALUES (0, 4821, 17, 1764750000.0, 233);
             INSERT INTO update_state VALUES (1512345678, 90210, 0, 0, 0);
             INSERT INTO update_state VALUES (1598765432, 77, 0, 0, 0);
             INSERT INTO entities VALUES (-1001512345678, -5544332211, 'dukkan', NULL, 'Dükkan', 0);
             INSERT INTO entities VALUES (-1009999999999, 42, 'baska', NULL, 'Başka', 0);
             INSERT INTO entities VALUES (777000, 1, NULL, NULL, 'Telegram', 0);",
        )
        .unwrap();
        c.execute(
            "INSERT INTO sessions VALUES (2, '149.154.167.51', 443, ?1, NULL)",
            [&key],
        )
        .unwrap();
    });
    let got = parse_file(&file).unwrap();
    let sync = got.sync.expect("update state seeded from the file");
    assert_eq!(
        (sync.pts, sync.qts, sync.date, sync.seq),
        (4821, 17, 1_764_750_000, 233)
    );
    assert_eq!(sync.channels, vec![(1512345678, 90210), (1598765432, 77)]);
    // The access hash of a channel it has state for; other entities are not needed.
    assert_eq!(sync.access_hashes, vec![(1512345678, -5544332211)]);

    // A file without update state (a client that never received one) resumes from now.
    let plain = parse_file(&make::telethon_file(2, "149.154.167.51", 443, Some(&key))).unwrap();
    assert_eq!(plain.sync, None);
}

#[test]
fn wal_mode_files_are_read_and_a_pending_wal_is_named() {
    let key = auth_key(13);
    // Closed by its client: the WAL was checkpointed into the file, which still says WAL.
    let closed = make::file(|c| {
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.execute_batch(
            "CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, test_mode INTEGER,
                 auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER);",
        )
        .unwrap();
        c.execute("INSERT INTO sessions VALUES (2, 0, ?1, 0, 99, 0)", [&key])
            .unwrap();
    });
    assert_eq!((closed[18], closed[19]), (2, 2), "a WAL-mode file");
    let p = parse_file(&closed).unwrap();
    assert_eq!((p.dc_id, p.user_id), (2, Some(99)));
    assert_eq!(&p.auth_key[..], &key[..]);

    // Copied while its client runs: the session is still in the `-wal` file beside it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.session");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute_batch("CREATE TABLE version (number INTEGER PRIMARY KEY);")
        .unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    c.execute_batch(
        "CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, test_mode INTEGER,
             auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER);",
    )
    .unwrap();
    let live = std::fs::read(&path).unwrap();
    let e = parse_file(&live).unwrap_err();
    assert_eq!(e.code(), "import.wal", "{e}");
    assert!(e.to_string().contains("-wal"));
    drop(c);
}

#[test]
fn pyrogram_strings_in_all_three_layouts() {
    let key = auth_key(2);
    let old = make::pyrogram_old(3, false, &key, 7_000_000, false);
    assert_eq!(old.len(), 351, "Pyrogram's OLD_SESSION_STRING_SIZE");
    let o = parse_string(&old).unwrap();
    assert_eq!(
        (o.source, o.dc_id, o.user_id, o.is_bot, o.api_id),
        (
            ImportSource::PyrogramString,
            3,
            Some(7_000_000),
            Some(false),
            None
        )
    );
    assert_eq!(o.addr.to_string(), "149.154.175.100:443");
    assert_eq!(&o.auth_key[..], &key[..]);

    let wide = make::pyrogram_64(5, false, &key, 6_123_456_789, true);
    assert_eq!(wide.len(), 356, "Pyrogram's OLD_SESSION_STRING_SIZE_64");
    let w = parse_string(&wide).unwrap();
    assert_eq!(
        (w.dc_id, w.user_id, w.is_bot),
        (5, Some(6_123_456_789), Some(true))
    );

    let new = make::pyrogram(1, 94575, true, &key, 5_000_000_001, false);
    assert_eq!(new.len(), 362);
    let n = parse_string(&new).unwrap();
    assert_eq!(
        (n.dc_id, n.api_id, n.test_mode, n.user_id),
        (1, Some(94575), true, Some(5_000_000_001))
    );
    assert_eq!(n.addr.to_string(), "149.154.175.10:443", "test DC 1");
}

#[test]
fn session_files_of_both_libraries() {
    let key = auth_key(3);
    let t = parse_file(&make::telethon_file(2, "149.154.167.51", 443, Some(&key))).unwrap();
    assert_eq!(t.source, ImportSource::TelethonFile);
    assert_eq!(
        (t.dc_id, t.addr.to_string()),
        (2, "149.154.167.51:443".into())
    );
    assert_eq!(&t.auth_key[..], &key[..]);

    for version in [2, 3] {
        let p = parse_file(&make::pyrogram_file(version, 4, &key, 777, true)).unwrap();
        assert_eq!(p.source, ImportSource::PyrogramFile);
        assert_eq!((p.dc_id, p.user_id, p.is_bot), (4, Some(777), Some(true)));
        assert_eq!(p.api_id, (version >= 3).then_some(12345));
        assert_eq!(&p.auth_key[..], &key[..]);
    }
}

#[test]
fn malformed_input_is_refused_with_the_problem_named() {
    let key = auth_key(4);
    let good = make::pyrogram(2, 1, false, &key, 1, false);
    let tele = make::telethon(2, "149.154.167.51".parse().unwrap(), 443, &key);
    let cases: Vec<(String, &str, &str)> = vec![
        ("".into(), "import.string", "empty"),
        ("A".repeat(2000), "import.string", "characters"),
        (good[..200].to_string(), "import.length", "150 bytes"),
        (tele[..300].to_string(), "import.length", "bytes"),
        (format!("2{}", &tele[1..]), "import.version", "version `2`"),
        ("AAAA*AAAA".into(), "import.encoding", "base64"),
        (
            make::pyrogram(9, 1, false, &key, 1, false),
            "import.datacenter",
            "datacenter 9",
        ),
        (
            make::telethon(2, "0.0.0.0".parse().unwrap(), 443, &key),
            "import.address",
            "0.0.0.0",
        ),
        (
            make::telethon(2, "149.154.167.51".parse().unwrap(), 0, &key),
            "import.address",
            "port 0",
        ),
    ];
    for (input, code, says) in cases {
        let e = parse_string(&input).unwrap_err();
        assert_eq!(e.code(), code, "{input:.40}: {e}");
        assert!(e.to_string().contains(says), "{e} should say {says}");
    }

    let files: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            b"not a database at all".to_vec(),
            "import.not_sqlite",
            "not an SQLite",
        ),
        (
            // A truncated file: the header survives, the pages do not.
            make::telethon_file(2, "149.154.167.51", 443, Some(&key))[..600].to_vec(),
            "import.not_sqlite",
            "not an SQLite",
        ),
        (
            make::telethon_file(2, "149.154.167.51", 443, None),
            "import.no_session",
            "no logged-in session",
        ),
        (
            make::telethon_file(2, "149.154.167.51", 443, Some(&key[..255])),
            "import.auth_key",
            "255 bytes",
        ),
        (
            make::telethon_file(2, "not-an-ip", 443, Some(&key)),
            "import.address",
            "not-an-ip",
        ),
        (
            {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("other.db");
                rusqlite::Connection::open(&p)
                    .unwrap()
                    .execute_batch("CREATE TABLE sessions (who text); CREATE TABLE x (y);")
                    .unwrap();
                std::fs::read(&p).unwrap()
            },
            "import.schema",
            "who",
        ),
        (
            {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("empty.db");
                rusqlite::Connection::open(&p)
                    .unwrap()
                    .execute_batch("CREATE TABLE notes (t text);")
                    .unwrap();
                std::fs::read(&p).unwrap()
            },
            "import.schema",
            "no `sessions` table",
        ),
    ];
    for (bytes, code, says) in files {
        let e = parse_file(&bytes).unwrap_err();
        assert_eq!(e.code(), code, "{e}");
        assert!(e.to_string().contains(says), "{e} should say {says}");
    }
    assert!(matches!(
        parse_file(&vec![0u8; botyard::worker::session_import::FILE_MAX + 1]),
        Err(ImportError::FileTooLarge(_))
    ));
    // The key never shows in debug output.
    let s = parse_string(&good).unwrap();
    assert!(!format!("{s:?}").contains("auth_key: ["));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_through_the_api_are_sealed_and_counted_against_the_plan() {
    let app = common::App::start().await;
    let admin = app.admin().await.access;
    let (tenant, _, owner) = app
        .tenant_with_owner(&admin, "Lale Çiçekçilik", "lale@example.com")
        .await;
    let owner = owner.access;
    let mut limits = common::limits();
    limits["sessions"] = json!(2);
    app.put_on_plan(&admin, tenant, "İki", limits).await;

    let key = auth_key(9);
    let string = make::pyrogram(2, 777, false, &key, 42_000, false);
    let base = format!("/api/v1/tenants/{tenant}/sessions");
    let r = app
        .post(
            &format!("{base}/import"),
            &owner,
            json!({"label": "Eski Pyrogram", "string": string}),
        )
        .await;
    let v = r.expect(201).clone();
    assert_eq!(v["source"], "pyrogram_string");
    assert_eq!(v["dc_id"], 2);
    assert_eq!(v["telegram_user_id"], 42_000);
    assert_eq!(v["session"]["kind"], "user");
    assert!(v["notice"].as_str().unwrap().contains("Stop the client"));
    assert!(!v.to_string().contains(&string[10..40]));

    // A file, as the raw body.
    let file = make::telethon_file(4, "149.154.167.91", 443, Some(&auth_key(10)));
    let r = common::send(
        app.client
            .post(app.url(&format!("{base}/import-file?label=Telethon%20dosyas%C4%B1")))
            .bearer_auth(&owner)
            .header("content-type", "application/octet-stream")
            .body(file.clone()),
    )
    .await;
    assert_eq!(r.expect(201)["source"], "telethon_file");

    // The same file as a form, the way `curl -F file=@x.session` sends it, into a tenant
    // with room for it.
    let (other, _, other_owner) = app
        .tenant_with_owner(&admin, "Form Dükkanı", "form@example.com")
        .await;
    let form_file = make::telethon_file(2, "149.154.167.51", 443, Some(&auth_key(14)));
    let form = |file: Option<&[u8]>| {
        let mut body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"label\"\r\n\r\nForm\r\n".to_vec();
        if let Some(f) = file {
            body.extend_from_slice(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.session\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            );
            body.extend_from_slice(f);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        body
    };
    let send_form = |body: Vec<u8>| {
        common::send(
            app.client
                .post(app.url(&format!(
                    "/api/v1/tenants/{other}/sessions/import-file?label=Form"
                )))
                .bearer_auth(&other_owner.access)
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body(body),
        )
    };
    send_form(form(None))
        .await
        .expect_err(422, "request.no_file");
    send_form(b"--XyZ\r\ngarbage".to_vec())
        .await
        .expect_err(400, "request.bad_form");
    let r = send_form(form(Some(&form_file))).await;
    assert_eq!(r.expect(201)["source"], "telethon_file");

    // The plan's two sessions are used up.
    app.post(
        &format!("{base}/import"),
        &owner,
        json!({"label": "Üçüncü", "string": make::telethon(2, "149.154.167.51".parse().unwrap(), 443, &key)}),
    )
    .await
    .expect_err(409, "plan.session_limit");

    // Bad input is a 422 naming the problem, and changes nothing.
    app.post(
        &format!("{base}/import"),
        &owner,
        json!({"label": "Bozuk", "string": &string[..100]}),
    )
    .await
    .expect_err(422, "import.length");
    let r = common::send(
        app.client
            .post(app.url(&format!("{base}/import-file?label=x")))
            .bearer_auth(&owner)
            .body(b"PK\x03\x04 a zip, not a session".to_vec()),
    )
    .await;
    r.expect_err(422, "import.not_sqlite");
    // Over the file limit: the import's own code, naming the limit.
    let r = common::send(
        app.client
            .post(app.url(&format!("{base}/import-file?label=x")))
            .bearer_auth(&owner)
            .body(vec![0u8; botyard::worker::session_import::FILE_MAX + 1]),
    )
    .await;
    r.expect_err(413, "import.too_large");
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("16 MiB"),
        "{}",
        r.text
    );
    let sessions = app.get(&base, &owner).await;
    assert_eq!(sessions.expect(200).as_array().unwrap().len(), 2);

    // The key is in the store only sealed: no file of the data folder holds it in clear.
    let dir = app.data_dir().to_path_buf();
    let needle = &key[..32];
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} holds the auth key in clear",
            entry.display()
        );
    }
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_auth_key_belongs_to_one_session_across_tenants() {
    let app = common::App::start().await;
    let admin = app.admin().await.access;
    let (a, _, owner_a) = app
        .tenant_with_owner(&admin, "Lale Çiçekçilik", "lale@example.com")
        .await;
    let (b, _, owner_b) = app
        .tenant_with_owner(&admin, "Moda Butik", "moda@example.com")
        .await;
    let (owner_a, owner_b) = (owner_a.access, owner_b.access);
    let key = auth_key(21);
    let first = import(
        &app,
        a,
        &owner_a,
        make::pyrogram(2, 777, false, &key, 42_000, false),
    )
    .await;
    let first_id = first.expect(201)["session"]["id"].as_u64().unwrap();

    // The same key again, in another format: here it names the session that has it …
    let telethon = make::telethon(2, "149.154.167.51".parse().unwrap(), 443, &key);
    let again = import(&app, a, &owner_a, telethon.clone()).await;
    again.expect_err(409, "import.key_in_use");
    assert!(
        again.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("session {first_id}")),
        "{}",
        again.text
    );
    // … and in another tenant it says only that the key is taken.
    let other = import(&app, b, &owner_b, telethon.clone()).await;
    other.expect_err(409, "import.key_in_use");
    assert!(!other.text.contains(&format!("session {first_id}")));
    // A refused import leaves no session behind.
    for (t, o, n) in [(a, &owner_a, 1), (b, &owner_b, 0)] {
        let list = app.get(&format!("/api/v1/tenants/{t}/sessions"), o).await;
        assert_eq!(list.expect(200).as_array().unwrap().len(), n, "tenant {t}");
    }
    // Another key is welcome.
    import(
        &app,
        b,
        &owner_b,
        make::telethon(2, "149.154.167.51".parse().unwrap(), 443, &auth_key(22)),
    )
    .await
    .expect(201);

    // Once the owning session is removed, the key can be imported again, elsewhere.
    app.delete(
        &format!("/api/v1/tenants/{a}/sessions/{first_id}"),
        &owner_a,
    )
    .await
    .expect(204);
    import(&app, b, &owner_b, telethon.clone())
        .await
        .expect(201);
    // Deleting tenant b frees its keys too.
    app.delete(&format!("/api/v1/tenants/{b}"), &admin)
        .await
        .expect(204);
    import(&app, a, &owner_a, telethon).await.expect(201);
    app.stop().await.unwrap();
}

async fn import(app: &common::App, tenant: u64, owner: &str, string: String) -> common::Resp {
    app.post(
        &format!("/api/v1/tenants/{tenant}/sessions/import"),
        owner,
        json!({"label": "Dükkan", "string": string}),
    )
    .await
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.is_file() {
            // Files only: the admin socket is in the folder too.
            out.push(p);
        }
    }
    out
}

#[test]
fn only_telegrams_addresses_are_accepted() {
    use botyard::worker::session_import::check_address;
    let key = auth_key(5);
    let named = |ip: &str, port: u16| {
        parse_string(&make::telethon(2, ip.parse().unwrap(), port, &key)).unwrap()
    };
    for ok in ["149.154.167.51", "91.108.56.130", "149.154.175.10"] {
        assert!(check_address(&named(ok, 443), &[]).is_ok(), "{ok}");
    }
    for bad in ["127.0.0.1", "169.254.169.254", "10.0.0.1", "8.8.8.8"] {
        let e = check_address(&named(bad, 80), &[]).unwrap_err();
        assert_eq!(e.code(), "import.address", "{bad}");
        assert!(e.to_string().contains(bad), "{e}");
    }
    // A self-hosted test DC, named in telegram.import_allow.
    let allow = vec!["127.0.0.1/32".parse().unwrap()];
    assert!(check_address(&named("127.0.0.1", 8443), &allow).is_ok());
}
