//! The appliance settings' types and rules, without the running server: what is stored, what
//! is in force, how a form is checked, the logo and the brand's stylesheet.

use std::sync::Arc;

use botyard_shards::ids::AccountId;
use botyard_shards::records::AuditRec;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::config::{Config, Secret};
use crate::error::{AppError, AppResult};
use crate::security::crypto::Keyring;
use crate::security::keys::catalog_aad;

pub(super) const SETTINGS: &str = "appliance.settings";
pub(super) const LOGO: &str = "appliance.logo";
/// Largest logo accepted; it is sent with every console page's header.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;
const NAME_MAX: usize = 40;

/// What the console saved (every field optional: unset falls back to the default).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stored {
    pub platform_bot_token: Option<String>,
    pub api_id: Option<i32>,
    pub api_hash: Option<String>,
    pub public_url: Option<String>,
    pub brand_name: Option<String>,
    /// `#rrggbb`.
    pub accent: Option<String>,
    /// The seller named on invoices.
    #[serde(default)]
    pub seller: Seller,
    /// The SMTP server, unless the configuration names one.
    #[serde(default)]
    pub smtp: Option<crate::domain::mail::settings::SmtpStored>,
    /// The storefront at `/` (off: `/` leads to the console).
    #[serde(default)]
    pub storefront: bool,
    /// Who may sign up through the platform bot, on which plan, and the referral reward.
    #[serde(default)]
    pub signup: SignupPolicy,
}

/// Whether people may sign themselves up through the platform bot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// Only the reseller creates tenants.
    #[default]
    Closed,
    /// Anyone may sign up for a trial.
    Open,
    /// A beta: signing up needs an invite code.
    Invite,
}

impl SignupMode {
    pub fn code(self) -> &'static str {
        match self {
            SignupMode::Closed => "closed",
            SignupMode::Open => "open",
            SignupMode::Invite => "invite",
        }
    }

    pub fn parse(s: &str) -> Option<SignupMode> {
        match s {
            "closed" => Some(SignupMode::Closed),
            "open" => Some(SignupMode::Open),
            "invite" => Some(SignupMode::Invite),
            _ => None,
        }
    }
}

/// The reseller's rules for sign-ups through the platform bot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignupPolicy {
    pub mode: SignupMode,
    /// The plan a new tenant's trial is on; unset: the cheapest offered plan with a trial.
    pub plan: Option<botyard_shards::ids::PlanId>,
    /// Free days a tenant gets when a tenant its referral link brought first pays (0: none).
    pub reward_days: u32,
}

/// The longest referral reward.
pub const REWARD_DAYS_MAX: u32 = 365;

/// The reseller's legal details, printed on every invoice and credit note.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Seller {
    /// The brand's name when unset.
    pub legal_name: Option<String>,
    pub address: String,
    pub tax_office: String,
    pub tax_number: String,
}

impl Seller {
    /// Checks what an admin typed.
    pub fn parse(
        legal_name: &str,
        address: &str,
        tax_office: &str,
        tax_number: &str,
    ) -> AppResult<Seller> {
        let text = |field: &str, v: &str, max: usize| -> AppResult<String> {
            let v = v.trim().replace("\r\n", "\n");
            if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') {
                return Err(invalid(
                    "appliance.seller",
                    field,
                    format!("at most {max} characters of text"),
                ));
            }
            Ok(v)
        };
        let tax_number = text("seller_tax_number", tax_number, 11)?;
        if !(tax_number.is_empty()
            || (matches!(tax_number.len(), 10 | 11)
                && tax_number.bytes().all(|b| b.is_ascii_digit())))
        {
            return Err(invalid(
                "appliance.seller",
                "seller_tax_number",
                "10 digits (a tax number, VKN) or 11 (a citizen's number, TCKN)",
            ));
        }
        let name = text("seller_legal_name", legal_name, 200)?.replace('\n', " ");
        Ok(Seller {
            legal_name: (!name.is_empty()).then_some(name),
            address: text("seller_address", address, 500)?,
            tax_office: text("seller_tax_office", tax_office, 100)?.replace('\n', " "),
            tax_number,
        })
    }
}

impl Drop for Stored {
    fn drop(&mut self) {
        if let Some(t) = &mut self.platform_bot_token {
            t.zeroize();
        }
        if let Some(h) = &mut self.api_hash {
            h.zeroize();
        }
    }
}

/// A colour as the browser reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn parse(s: &str) -> Option<Rgb> {
        let h = s.trim().strip_prefix('#')?;
        if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        Some(Rgb(c(0)?, c(2)?, c(4)?))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance.
    fn luminance(self) -> f64 {
        let ch = |v: u8| {
            let s = f64::from(v) / 255.0;
            if s <= 0.039_28 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(self.0) + 0.7152 * ch(self.1) + 0.0722 * ch(self.2)
    }

    /// WCAG contrast ratio between two colours (1 to 21).
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }

    /// Text on this colour: white or near-black, whichever reads better.
    pub fn ink(self) -> Rgb {
        let (white, black) = (Rgb(255, 255, 255), Rgb(0x1b, 0x1f, 0x24));
        if self.contrast(white) >= self.contrast(black) {
            white
        } else {
            black
        }
    }
}

/// The reseller's logo, kept in memory: it is small and on every page.
pub struct Logo {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
    /// Changes with the bytes, for caching.
    pub etag: String,
}

/// The branding every surface shows.
#[derive(Clone)]
pub struct Brand {
    pub name: String,
    pub accent: Option<Rgb>,
    pub logo: Option<Arc<Logo>>,
}

/// Which settings the configuration file or environment fixes.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Locked {
    pub platform_bot_token: bool,
    pub telegram: bool,
    pub public_url: bool,
}

/// The settings in force: configuration first, then what the console saved, then defaults.
#[derive(Clone)]
pub struct Effective {
    pub base_url: String,
    pub platform_bot_token: Option<Secret>,
    pub telegram: Option<(i32, Secret)>,
    pub brand: Brand,
    pub seller: Seller,
    /// Where mail goes out, if anywhere.
    pub mail: Option<crate::domain::mail::settings::MailServer>,
    pub locked: Locked,
    /// Whether `/` is the storefront.
    pub storefront: bool,
    pub signup: SignupPolicy,
    /// What the console saved, for showing (secrets are never shown, only whether set).
    pub stored_public_url: Option<String>,
    pub stored_accent: Option<String>,
    pub stored_brand_name: Option<String>,
    pub platform_token_set: bool,
    pub api_hash_set: bool,
    pub api_id: Option<i32>,
}

impl Effective {
    /// `bound_url` is the URL built from the listening address, used when none is set.
    pub fn build(config: &Config, bound_url: &str, s: &Stored, logo: Option<Arc<Logo>>) -> Self {
        let locked = Locked {
            platform_bot_token: config.platform.bot_token.is_some(),
            telegram: config.telegram.api_id.is_some(),
            public_url: config.public_url.is_some(),
        };
        let base_url = config
            .public_url
            .clone()
            .or_else(|| s.public_url.clone())
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| bound_url.to_string());
        let platform_bot_token = config
            .platform
            .bot_token
            .clone()
            .or_else(|| s.platform_bot_token.as_ref().map(Secret::new));
        let telegram = match (config.telegram.api_id, &config.telegram.api_hash) {
            (Some(id), Some(h)) => Some((id, h.clone())),
            _ => match (s.api_id, &s.api_hash) {
                (Some(id), Some(h)) => Some((id, Secret::new(h.clone()))),
                _ => None,
            },
        };
        let brand_name = s.brand_name.clone().unwrap_or_else(|| "botyard".into());
        let mail = crate::domain::mail::settings::MailServer::build(
            &config.mail,
            s.smtp.as_ref(),
            &brand_name,
        );
        Effective {
            base_url,
            platform_bot_token,
            telegram,
            mail,
            brand: Brand {
                name: s.brand_name.clone().unwrap_or_else(|| "botyard".into()),
                accent: s.accent.as_deref().and_then(Rgb::parse),
                logo,
            },
            seller: s.seller.clone(),
            locked,
            storefront: s.storefront,
            signup: s.signup.clone(),
            stored_public_url: s.public_url.clone(),
            stored_accent: s.accent.clone(),
            stored_brand_name: s.brand_name.clone(),
            platform_token_set: s.platform_bot_token.is_some() || locked.platform_bot_token,
            api_hash_set: s.api_hash.is_some() || locked.telegram,
            api_id: config.telegram.api_id.or(s.api_id),
        }
    }
}

/// The Telegram application handed to workers: the reseller's `api_id`/`api_hash` (from the
/// configuration or the console) with how to reach Telegram.
pub fn telegram_app(
    config: &Config,
    api_id: i32,
    api_hash: &crate::config::Secret,
) -> crate::worker::ipc::messages::TelegramApp {
    let seed_auth_key = config.telegram.seed_auth_key_file.as_ref().and_then(|p| {
        std::fs::read(p)
            .inspect_err(|e| tracing::error!(error = %e, "cannot read the seed auth key"))
            .ok()
            .map(zeroize::Zeroizing::new)
    });
    crate::worker::ipc::messages::TelegramApp {
        api_id,
        api_hash: api_hash.expose().to_string(),
        flood_sleep_max_secs: config.telegram.flood_sleep_max_secs,
        dc_id: config.telegram.dc.0,
        dc_addr: config.telegram.dc.1,
        seed_auth_key,
        proxy: config
            .telegram
            .proxy
            .as_ref()
            .map(|p| zeroize::Zeroizing::new(p.expose().to_string())),
    }
}

/// Reads what the console saved (nothing at first).
pub fn load(
    store: &botyard_shards::Store,
    keyring: &Keyring,
) -> AppResult<(Stored, Option<Arc<Logo>>)> {
    let (settings, logo) = {
        let c = store.catalog_read()?;
        (c.secret(SETTINGS)?, c.secret(LOGO)?)
    };
    let stored = match settings {
        Some(sealed) => {
            let plain = keyring.open(&sealed, &catalog_aad(SETTINGS))?;
            serde_json::from_slice(&plain)
                .map_err(|e| AppError::Internal(format!("appliance settings: {e}")))?
        }
        None => Stored::default(),
    };
    let logo = match logo {
        Some(sealed) => {
            let plain = keyring.open(&sealed, &catalog_aad(LOGO))?;
            logo_of(plain.to_vec()).ok().map(Arc::new)
        }
        None => None,
    };
    Ok((stored, logo))
}

/// A form's values. Secrets left empty keep what is stored; `clear_*` removes them.
#[derive(Default)]
pub struct Input {
    pub platform_bot_token: String,
    pub clear_platform_bot_token: bool,
    pub api_id: String,
    pub api_hash: String,
    pub clear_telegram: bool,
    pub public_url: String,
    pub brand_name: String,
    pub accent: String,
    pub storefront: bool,
}

/// The new stored settings from `input` over `current`, or the first field refused. Locked
/// fields are kept as they are whatever the form says.
pub fn validate(input: &Input, current: &Stored, locked: Locked) -> AppResult<Stored> {
    let mut next = current.clone();
    if !locked.platform_bot_token {
        let t = input.platform_bot_token.trim();
        if input.clear_platform_bot_token {
            next.platform_bot_token = None;
        } else if !t.is_empty() {
            if !crate::domain::sessions::valid_bot_token(t) {
                return Err(AppError::Invalid {
                    code: "session.token_format",
                    field: "platform_bot_token".into(),
                    message: "a bot token looks like 123456789:AAH…, as @BotFather gives it".into(),
                });
            }
            next.platform_bot_token = Some(t.to_string());
        }
    }
    if !locked.telegram {
        if input.clear_telegram {
            next.api_id = None;
            next.api_hash = None;
        } else {
            let id = input.api_id.trim();
            let hash = input.api_hash.trim();
            if !id.is_empty() {
                match id.parse::<i32>() {
                    Ok(n) if n > 0 => next.api_id = Some(n),
                    _ => {
                        return Err(invalid(
                            "appliance.api_id",
                            "api_id",
                            "api_id is the positive number my.telegram.org shows",
                        ));
                    }
                }
            }
            if !hash.is_empty() {
                if hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        "appliance.api_hash",
                        "api_hash",
                        "api_hash is the 32 hexadecimal digits my.telegram.org shows",
                    ));
                }
                next.api_hash = Some(hash.to_ascii_lowercase());
            }
            if next.api_id.is_some() != next.api_hash.is_some() {
                return Err(invalid(
                    "appliance.api_pair",
                    "api_hash",
                    "api_id and api_hash go together",
                ));
            }
        }
    }
    if !locked.public_url {
        next.public_url = public_url(&input.public_url)?;
    }
    let name = input.brand_name.trim();
    next.brand_name = if name.is_empty() {
        None
    } else if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(invalid(
            "appliance.brand_name",
            "brand_name",
            format!("the product name is up to {NAME_MAX} characters on one line"),
        ));
    } else {
        Some(name.to_string())
    };
    let accent = input.accent.trim();
    next.accent = if accent.is_empty() {
        None
    } else {
        let Some(c) = Rgb::parse(accent) else {
            return Err(invalid(
                "appliance.accent",
                "accent",
                "the colour is written #rrggbb, e.g. #0b5cad",
            ));
        };
        // Buttons carry white or dark text on it; either must stay readable (WCAG AA).
        if c.contrast(c.ink()) < 4.5 {
            return Err(invalid(
                "appliance.accent_contrast",
                "accent",
                "text on this colour would be hard to read; choose a darker or lighter one",
            ));
        }
        Some(c.hex())
    };
    next.storefront = input.storefront;
    Ok(next)
}

/// `http(s)://host[:port][/path]`, without query or fragment; empty means none.
fn public_url(v: &str) -> AppResult<Option<String>> {
    let v = v.trim().trim_end_matches('/');
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || {
        invalid(
            "appliance.public_url",
            "public_url",
            "the public URL is https://your.domain (http:// only for testing)",
        )
    };
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || v.len() > 200
        || v.contains(['?', '#', ' ', '@', '"', '<', '>', '\\'])
        || v.chars().any(char::is_control)
    {
        return Err(bad());
    }
    Ok(Some(v.to_string()))
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: field.into(),
        message: message.into(),
    }
}

/// What a save changed, for applying it and telling the admin.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub platform_bot: bool,
    pub telegram: bool,
    pub public_url: bool,
    pub brand: bool,
    pub seller: bool,
}

pub(super) fn changed(a: &Stored, b: &Stored) -> Changed {
    Changed {
        platform_bot: a.platform_bot_token != b.platform_bot_token,
        telegram: a.api_id != b.api_id || a.api_hash != b.api_hash,
        public_url: a.public_url != b.public_url,
        brand: a.brand_name != b.brand_name || a.accent != b.accent || a.storefront != b.storefront,
        seller: a.seller != b.seller,
    }
}

pub(super) fn seal_settings(keyring: &Keyring, s: &Stored) -> AppResult<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(s).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(keyring.seal(&plain, &catalog_aad(SETTINGS))?)
}

pub(super) fn audit(actor: AccountId, now: i64, action: &str, detail: String) -> AuditRec {
    AuditRec {
        at: now,
        actor: Some(actor),
        tenant: None,
        action: action.into(),
        detail,
    }
}

pub fn logo_too_large() -> AppError {
    AppError::TooLargeFor {
        code: "appliance.logo_too_large",
        message: format!("the logo is over {} KB", LOGO_MAX_BYTES / 1024),
    }
}

/// Checks a logo: PNG, JPEG or WebP, within the size limit, an image that decodes.
pub fn logo_of(bytes: Vec<u8>) -> AppResult<Logo> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(logo_too_large());
    }
    let mime = match infer::get(&bytes).map(|k| k.mime_type()) {
        Some("image/png") => "image/png",
        Some("image/jpeg") => "image/jpeg",
        Some("image/webp") => "image/webp",
        _ => {
            return Err(invalid(
                "appliance.logo_type",
                "logo",
                "the logo must be a PNG, JPEG or WebP image",
            ));
        }
    };
    let dims = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok());
    match dims {
        Some((w, h)) if w > 0 && h > 0 && w <= 4096 && h <= 4096 => {}
        _ => {
            return Err(invalid(
                "appliance.logo_unreadable",
                "logo",
                "the logo could not be read as an image (at most 4096×4096 pixels)",
            ));
        }
    }
    let digest = short_digest(&bytes);
    Ok(Logo {
        mime,
        bytes,
        etag: format!("\"{digest}\""),
    })
}

fn short_digest(b: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(b);
    d.iter().take(8).map(|x| format!("{x:02x}")).collect()
}

/// `c` mixed towards `toward` in 5 % steps until it reads on `bg` (WCAG AA, 4.5).
fn readable_on(c: Rgb, bg: Rgb, toward: Rgb) -> Rgb {
    let mix =
        |a: u8, b: u8, t: f64| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    (0..=20)
        .map(|i| {
            let t = f64::from(i) / 20.0;
            Rgb(
                mix(c.0, toward.0, t),
                mix(c.1, toward.1, t),
                mix(c.2, toward.2, t),
            )
        })
        .find(|m| m.contrast(bg) >= 4.5)
        .unwrap_or(toward)
}

/// The stylesheet that carries the brand's colour (empty without one). The colour is made
/// darker on the light theme and lighter on the dark one where it would not read as link
/// text on the page; buttons carry white or dark text, whichever reads on it.
pub fn brand_css(b: &Brand) -> String {
    let Some(c) = b.accent else {
        return String::new();
    };
    // The pages' backgrounds (console.css): light `--bg`, dark `--card`, the harder of each.
    let light = readable_on(c, Rgb(0xf6, 0xf7, 0xf9), Rgb(0, 0, 0));
    let dark = readable_on(c, Rgb(0x1b, 0x1f, 0x24), Rgb(255, 255, 255));
    format!(
        ":root{{--accent:{};--accent-fg:{}}}\n@media (prefers-color-scheme: dark){{:root{{--accent:{};--accent-fg:{}}}}}\n",
        light.hex(),
        light.ink().hex(),
        dark.hex(),
        dark.ink().hex()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::default()
    }

    #[test]
    fn config_wins_over_the_console_and_shows_locked() {
        let mut c = cfg();
        c.public_url = Some("https://from.file/".into());
        let mut s = Stored::default();
        s.public_url = Some("https://from.console".into());
        s.api_id = Some(5);
        s.api_hash = Some("0".repeat(32));
        let e = Effective::build(&c, "http://127.0.0.1:1", &s, None);
        assert_eq!(e.base_url, "https://from.file");
        assert!(e.locked.public_url);
        assert!(!e.locked.telegram);
        assert_eq!(e.telegram.as_ref().map(|t| t.0), Some(5));
        let e = Effective::build(&cfg(), "http://127.0.0.1:1", &Stored::default(), None);
        assert_eq!(e.base_url, "http://127.0.0.1:1");
        assert_eq!(e.brand.name, "botyard");
    }

    #[test]
    fn validation_refuses_bad_values_and_keeps_secrets_left_empty() {
        let mut current = Stored::default();
        current.platform_bot_token = Some("123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw".into());
        let ok = validate(&Input::default(), &current, Locked::default()).unwrap();
        assert_eq!(ok.platform_bot_token, current.platform_bot_token);
        for (input, field) in [
            (
                Input {
                    platform_bot_token: "nope".into(),
                    ..Input::default()
                },
                "platform_bot_token",
            ),
            (
                Input {
                    api_id: "-3".into(),
                    ..Input::default()
                },
                "api_id",
            ),
            (
                Input {
                    api_id: "12".into(),
                    ..Input::default()
                },
                "api_hash",
            ),
            (
                Input {
                    public_url: "ftp://x".into(),
                    ..Input::default()
                },
                "public_url",
            ),
            (
                Input {
                    public_url: "https://a.b/?x".into(),
                    ..Input::default()
                },
                "public_url",
            ),
            (
                Input {
                    accent: "#777777".into(),
                    ..Input::default()
                },
                "accent",
            ),
            (
                Input {
                    brand_name: "x".repeat(41),
                    ..Input::default()
                },
                "brand_name",
            ),
        ] {
            match validate(&input, &current, Locked::default()) {
                Err(AppError::Invalid { field: f, .. }) => assert_eq!(f, field),
                _ => panic!("{field} accepted"),
            }
        }
        let cleared = validate(
            &Input {
                clear_platform_bot_token: true,
                accent: "#0B5CAD".into(),
                ..Input::default()
            },
            &current,
            Locked::default(),
        )
        .unwrap();
        assert_eq!(cleared.platform_bot_token, None);
        assert_eq!(cleared.accent.as_deref(), Some("#0b5cad"));
    }

    #[test]
    fn locked_fields_ignore_the_form() {
        let locked = Locked {
            platform_bot_token: true,
            telegram: true,
            public_url: true,
        };
        let s = validate(
            &Input {
                platform_bot_token: "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw".into(),
                api_id: "1".into(),
                api_hash: "a".repeat(32),
                public_url: "https://x.y".into(),
                ..Input::default()
            },
            &Stored::default(),
            locked,
        )
        .unwrap();
        assert!(s == Stored::default());
    }

    #[test]
    fn the_brand_colour_is_adjusted_to_read_on_both_themes() {
        let purple = Rgb::parse("#7a1fa2").unwrap();
        let css = brand_css(&Brand {
            name: "x".into(),
            accent: Some(purple),
            logo: None,
        });
        // Dark enough for the light theme as it is; lightened for the dark one.
        assert!(
            css.starts_with(":root{--accent:#7a1fa2;--accent-fg:#ffffff}"),
            "{css}"
        );
        let dark = css.split("--accent:").nth(2).unwrap()[..7].to_string();
        let d = Rgb::parse(&dark).unwrap();
        assert!(d.contrast(Rgb(0x1b, 0x1f, 0x24)) >= 4.5, "{dark}");
        assert!(d.contrast(d.ink()) >= 4.5);
        let pale = readable_on(Rgb(0xff, 0xe0, 0x66), Rgb(0xf6, 0xf7, 0xf9), Rgb(0, 0, 0));
        assert!(pale.contrast(Rgb(0xf6, 0xf7, 0xf9)) >= 4.5);
    }

    #[test]
    fn ink_reads_on_the_colour() {
        assert_eq!(Rgb(0x0b, 0x5c, 0xad).ink(), Rgb(255, 255, 255));
        assert_eq!(Rgb(0xff, 0xe0, 0x66).ink(), Rgb(0x1b, 0x1f, 0x24));
        assert!(Rgb(0, 0, 0).contrast(Rgb(255, 255, 255)) > 20.9);
        assert!(
            brand_css(&Brand {
                name: "x".into(),
                accent: Rgb::parse("#123456"),
                logo: None
            })
            .contains("--accent:#123456")
        );
    }

    #[test]
    fn logos_must_be_images_within_limits() {
        assert!(logo_of(b"<svg onload=alert(1)>".to_vec()).is_err());
        assert!(logo_of(vec![0u8; LOGO_MAX_BYTES + 1]).is_err());
        let mut png = Vec::new();
        image::RgbImage::new(2, 2)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let l = logo_of(png).unwrap();
        assert_eq!(l.mime, "image/png");
        // A PNG signature with nothing behind it is refused.
        assert!(logo_of(b"\x89PNG\r\n\x1a\n".to_vec()).is_err());
    }
}
