//! Checking the `initData` a Telegram Mini-App sends, as Telegram documents it
//! (core.telegram.org/bots/webapps, "Validating data received via the Mini App"): every field
//! but `hash`, sorted by name, as `name=value` lines, signed with HMAC-SHA-256 under the key
//! HMAC-SHA-256("WebAppData", bot token). Only data that the platform bot's Telegram signed, and
//! recently, names a Telegram user the appliance will trust.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::AppError;

/// Longest `initData` read; Telegram's are a few hundred bytes.
const MAX_LEN: usize = 8 * 1024;
/// How far ahead of our clock an `auth_date` may be (clocks drift a little).
const SKEW_SECS: i64 = 60;

/// The Telegram user the data names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebAppUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    /// IETF tag of the user's Telegram language (`tr`, `en`, …).
    pub language_code: Option<String>,
}

/// What checked `initData` tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub user: WebAppUser,
    pub auth_date: i64,
    /// The `start_param` of a link that opened the app, if any.
    pub start_param: Option<String>,
}

fn refuse(code: &'static str, message: &'static str) -> AppError {
    AppError::Unauthorized { code, message }
}

/// Every field but `hash`, sorted by name, as `name=value` lines.
fn data_check(fields: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = fields.iter().filter(|(k, _)| k != "hash").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn keyed(key: &[u8]) -> Result<Hmac<Sha256>, AppError> {
    // HMAC takes keys of any length; the error cannot happen.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| AppError::Internal("HMAC refused its key".into()))
}

/// HMAC-SHA-256("WebAppData", bot token): the key `hash` is made with.
fn secret_key(bot_token: &str) -> Result<Vec<u8>, AppError> {
    let mut m = keyed(b"WebAppData")?;
    m.update(bot_token.as_bytes());
    Ok(m.finalize().into_bytes().to_vec())
}

/// The signature Telegram puts in `hash` for these fields (hex), under `bot_token`.
pub fn sign(fields: &[(String, String)], bot_token: &str) -> Result<String, AppError> {
    let mut m = keyed(&secret_key(bot_token)?)?;
    m.update(data_check(fields).as_bytes());
    Ok(hex::encode(m.finalize().into_bytes()))
}

/// Checks `init_data` against the platform bot's token: signed by it, not older than
/// `max_age_secs` (nor from the future), with a user. Each refusal has its own code.
pub fn verify(
    init_data: &str,
    bot_token: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<Verified, AppError> {
    if init_data.trim().is_empty() {
        return Err(refuse(
            "webapp.missing",
            "no initData: open the app from the bot's button in Telegram",
        ));
    }
    if init_data.len() > MAX_LEN {
        return Err(refuse("webapp.malformed", "the initData is too long"));
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(init_data.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(refuse(
            "webapp.malformed",
            "a field of the initData is repeated",
        ));
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(hash) = get("hash") else {
        return Err(refuse(
            "webapp.missing_field",
            "the initData carries no hash",
        ));
    };
    let Ok(given) = hex::decode(hash) else {
        return Err(refuse(
            "webapp.bad_signature",
            "the initData's hash is not hexadecimal",
        ));
    };
    // Constant time: `verify_slice` compares without an early exit.
    let mut check = keyed(&secret_key(bot_token)?)?;
    check.update(data_check(&fields).as_bytes());
    if check.verify_slice(&given).is_err() {
        return Err(refuse(
            "webapp.bad_signature",
            "the initData was not signed for this appliance's bot, or was changed on the way",
        ));
    }
    let Some(auth_date) = get("auth_date") else {
        return Err(refuse(
            "webapp.missing_field",
            "the initData carries no auth_date",
        ));
    };
    let Ok(auth_date) = auth_date.parse::<i64>() else {
        return Err(refuse(
            "webapp.malformed",
            "the initData's auth_date is not a number",
        ));
    };
    if auth_date > now + SKEW_SECS {
        return Err(refuse(
            "webapp.from_future",
            "the initData is dated in the future: check the server's clock",
        ));
    }
    if now - auth_date > max_age_secs {
        return Err(refuse(
            "webapp.expired",
            "the initData is too old: close the app and open it again from Telegram",
        ));
    }
    let Some(user) = get("user") else {
        return Err(refuse("webapp.missing_field", "the initData names no user"));
    };
    let user: serde_json::Value = serde_json::from_str(user)
        .map_err(|_| refuse("webapp.malformed", "the initData's user is not JSON"))?;
    let Some(id) = user["id"].as_i64() else {
        return Err(refuse("webapp.malformed", "the initData's user has no id"));
    };
    let text = |k: &str| user[k].as_str().map(str::to_string);
    Ok(Verified {
        user: WebAppUser {
            id,
            first_name: text("first_name").unwrap_or_default(),
            username: text("username"),
            language_code: text("language_code"),
        },
        auth_date,
        start_param: get("start_param").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
    const OTHER_BOT: &str = "7000000002:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";
    const NOW: i64 = 1_796_400_000;

    /// `initData` as a Telegram client makes it: fields, then `hash` over them with `token`,
    /// written as a query string.
    fn init_data(fields: &[(&str, &str)], token: &str) -> String {
        let owned: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let hash = sign(&owned, token).unwrap();
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &owned {
            q.append_pair(k, v);
        }
        q.append_pair("hash", &hash);
        q.finish()
    }

    const USER: &str = r#"{"id":279058397,"first_name":"Ayşe","last_name":"Yılmaz","username":"ayse_cicek","language_code":"tr","allows_write_to_pm":true}"#;

    fn good(auth_date: i64) -> Vec<(&'static str, String)> {
        vec![
            ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc".to_string()),
            ("user", USER.to_string()),
            ("auth_date", auth_date.to_string()),
            ("start_param", "campaign-7".to_string()),
        ]
    }

    fn of<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    fn code(r: Result<Verified, AppError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn data_signed_as_telegram_documents_it_is_accepted() {
        let d = init_data(&of(&good(NOW - 30)), BOT);
        let v = verify(&d, BOT, NOW, 3600).unwrap();
        assert_eq!(v.user.id, 279058397);
        assert_eq!(v.user.first_name, "Ayşe");
        assert_eq!(v.user.username.as_deref(), Some("ayse_cicek"));
        assert_eq!(v.user.language_code.as_deref(), Some("tr"));
        assert_eq!(v.start_param.as_deref(), Some("campaign-7"));
        // The field order as sent does not matter; the data-check string sorts them.
        let mut reversed = good(NOW - 30);
        reversed.reverse();
        assert_eq!(
            code(verify(&init_data(&of(&reversed), BOT), BOT, NOW, 3600)),
            "ok"
        );
        // A newer client's `signature` field is signed like any other field.
        let mut with_sig = good(NOW);
        with_sig.push(("signature", "c2lnbmF0dXJl".to_string()));
        assert_eq!(
            code(verify(&init_data(&of(&with_sig), BOT), BOT, NOW, 3600)),
            "ok"
        );
    }

    #[test]
    fn each_bad_init_data_has_its_own_refusal() {
        let signed = init_data(&of(&good(NOW - 30)), BOT);
        let tampered = signed.replace("279058397", "279058398");
        let no_hash = signed.split("&hash=").next().unwrap().to_string();
        let bad_hex = format!("{no_hash}&hash=zz");
        let mut no_user = good(NOW);
        no_user.remove(1);
        let mut no_date = good(NOW);
        no_date.remove(2);
        let mut bad_date = good(NOW);
        bad_date[2].1 = "yesterday".into();
        let mut bad_user = good(NOW);
        bad_user[1].1 = "{not json".into();
        let mut no_id = good(NOW);
        no_id[1].1 = r#"{"first_name":"Ayşe"}"#.into();
        let repeated = format!("{signed}&user=x");
        let cases: Vec<(&str, String, i64, &str)> = vec![
            ("empty", String::new(), NOW, "webapp.missing"),
            ("tampered user", tampered, NOW, "webapp.bad_signature"),
            (
                "signed for another bot",
                init_data(&of(&good(NOW)), OTHER_BOT),
                NOW,
                "webapp.bad_signature",
            ),
            ("no hash", no_hash, NOW, "webapp.missing_field"),
            ("hash not hex", bad_hex, NOW, "webapp.bad_signature"),
            (
                "no user",
                init_data(&of(&no_user), BOT),
                NOW,
                "webapp.missing_field",
            ),
            (
                "no auth_date",
                init_data(&of(&no_date), BOT),
                NOW,
                "webapp.missing_field",
            ),
            (
                "auth_date not a number",
                init_data(&of(&bad_date), BOT),
                NOW,
                "webapp.malformed",
            ),
            (
                "user not JSON",
                init_data(&of(&bad_user), BOT),
                NOW,
                "webapp.malformed",
            ),
            (
                "user without id",
                init_data(&of(&no_id), BOT),
                NOW,
                "webapp.malformed",
            ),
            ("a field twice", repeated, NOW, "webapp.malformed"),
            (
                "too long",
                "a=".to_string() + &"b".repeat(MAX_LEN),
                NOW,
                "webapp.malformed",
            ),
            (
                "older than the limit",
                init_data(&of(&good(NOW - 3601)), BOT),
                NOW,
                "webapp.expired",
            ),
            (
                "from the future",
                init_data(&of(&good(NOW + 600)), BOT),
                NOW,
                "webapp.from_future",
            ),
        ];
        for (what, data, now, want) in cases {
            assert_eq!(code(verify(&data, BOT, now, 3600)), want, "{what}");
        }
        // Valid once, the same data replayed after the limit is refused.
        let d = init_data(&of(&good(NOW)), BOT);
        assert_eq!(code(verify(&d, BOT, NOW + 10, 3600)), "ok");
        assert_eq!(code(verify(&d, BOT, NOW + 3601, 3600)), "webapp.expired");
        // A little clock drift is forgiven.
        assert_eq!(
            code(verify(
                &init_data(&of(&good(NOW + 30)), BOT),
                BOT,
                NOW,
                3600
            )),
            "ok"
        );
    }

    #[test]
    fn the_signature_matches_telegrams_published_construction() {
        // Computed independently: the key is HMAC-SHA-256 with "WebAppData" as the key and
        // the token as the message, then the data-check string under that key.
        let fields = vec![
            ("auth_date".to_string(), "1".to_string()),
            ("user".to_string(), r#"{"id":1}"#.to_string()),
        ];
        let mac = |key: &[u8], data: &[u8]| {
            let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        };
        let key = mac(b"WebAppData", BOT.as_bytes());
        let want = hex::encode(mac(&key, b"auth_date=1\nuser={\"id\":1}"));
        assert_eq!(sign(&fields, BOT).unwrap(), want);
        assert_eq!(want.len(), 64);
    }
}
