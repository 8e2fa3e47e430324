//! Beta invite codes: the reseller makes them in the console, each with how many sign-ups it
//! allows and until when; while sign-ups are by invitation, a new tenant needs one.

use botyard_shards::ids::AccountId;
use botyard_shards::records::{AuditRec, InviteCodeRec};
use botyard_shards::{CatalogTx, WriteTransaction};

use crate::error::{AppError, AppResult};

/// The longest code and note accepted.
const CODE_MAX: usize = 32;
const NOTE_MAX: usize = 200;
/// Sign-ups one code may allow at most.
pub const USES_MAX: u32 = 10_000;

/// What the console's form sends: an empty code makes one up.
pub struct NewInvite {
    pub code: String,
    pub note: String,
    pub max_uses: u32,
    /// Days from now it works for; 0: no expiry.
    pub days: u32,
}

/// A code as people type it: letters, digits and dashes, compared in upper case.
pub fn normalize(code: &str) -> Option<String> {
    let c = code.trim().to_ascii_uppercase();
    (!c.is_empty()
        && c.len() <= CODE_MAX
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(c)
}

/// Eight letters and digits people can read aloud (no 0/O, 1/I).
fn made_up() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..8)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code: "invite.invalid",
        field: field.into(),
        message: message.into(),
    }
}

/// Stores a new code; answers its text.
pub fn create(
    c: &mut CatalogTx<WriteTransaction>,
    input: &NewInvite,
    actor: AccountId,
    now: i64,
) -> AppResult<String> {
    let code = if input.code.trim().is_empty() {
        made_up()
    } else {
        normalize(&input.code).ok_or_else(|| {
            invalid(
                "code",
                format!("a code is 1 to {CODE_MAX} letters, digits or dashes"),
            )
        })?
    };
    let note = input.note.trim();
    if note.chars().count() > NOTE_MAX || note.chars().any(char::is_control) {
        return Err(invalid(
            "note",
            format!("a note is up to {NOTE_MAX} characters on one line"),
        ));
    }
    if input.max_uses == 0 || input.max_uses > USES_MAX {
        return Err(invalid(
            "max_uses",
            format!("a code allows 1 to {USES_MAX} sign-ups"),
        ));
    }
    if input.days > 3650 {
        return Err(invalid("days", "a code works for 0 (always) to 3650 days"));
    }
    let rec = InviteCodeRec {
        note: note.to_string(),
        max_uses: input.max_uses,
        uses: 0,
        expires_at: (input.days > 0).then(|| now + i64::from(input.days) * 86_400),
        created_at: now,
        created_by: Some(actor),
        disabled: false,
    };
    if !c.insert_invite_code(&code, &rec)? {
        return Err(AppError::Conflict {
            code: "invite.exists",
            message: format!("the code {code} exists already"),
        });
    }
    c.audit(&AuditRec {
        at: now,
        actor: Some(actor),
        tenant: None,
        action: "invite.created".into(),
        detail: code.clone(),
    })?;
    Ok(code)
}

/// Turns a code off (or on again).
pub fn set_disabled(
    c: &mut CatalogTx<WriteTransaction>,
    code: &str,
    disabled: bool,
    actor: AccountId,
    now: i64,
) -> AppResult<()> {
    let code = normalize(code).ok_or(AppError::NotFound("invite code"))?;
    let mut rec = c
        .invite_code(&code)?
        .ok_or(AppError::NotFound("invite code"))?;
    rec.disabled = disabled;
    c.put_invite_code(&code, &rec)?;
    c.audit(&AuditRec {
        at: now,
        actor: Some(actor),
        tenant: None,
        action: if disabled {
            "invite.disabled"
        } else {
            "invite.enabled"
        }
        .into(),
        detail: code,
    })?;
    Ok(())
}

/// Why a code cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Disabled,
    Expired,
    UsedUp,
}

impl Refusal {
    /// Its error code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Disabled => "invite.disabled",
            Refusal::Expired => "invite.expired",
            Refusal::UsedUp => "invite.used_up",
        }
    }

    pub fn error(self) -> AppError {
        AppError::Invalid {
            code: self.code(),
            field: "invite".into(),
            message: match self {
                Refusal::Expired => "this invite code has expired",
                Refusal::UsedUp => "this invite code has been used as many times as it allows",
                Refusal::Disabled => "this invite code has been turned off",
            }
            .into(),
        }
    }
}

/// Whether a code can be used now, and why not.
pub fn usable(rec: &InviteCodeRec, now: i64) -> Result<(), Refusal> {
    if rec.disabled {
        Err(Refusal::Disabled)
    } else if rec.expires_at.is_some_and(|e| e <= now) {
        Err(Refusal::Expired)
    } else if rec.uses >= rec.max_uses {
        Err(Refusal::UsedUp)
    } else {
        Ok(())
    }
}

/// A whole number from a form field; empty is `default`.
pub fn form_number(field: &str, s: &str, default: u32) -> AppResult<u32> {
    match s.trim() {
        "" => Ok(default),
        n => n.parse().map_err(|_| invalid(field, "a whole number")),
    }
}

/// Takes one use of `code` for a sign-up, in the sign-up's transaction.
pub fn redeem(c: &mut CatalogTx<WriteTransaction>, code: &str, now: i64) -> AppResult<String> {
    let refused = |code: &'static str, message: &str| AppError::Invalid {
        code,
        field: "invite".into(),
        message: message.into(),
    };
    let code = normalize(code).ok_or_else(|| {
        refused(
            "invite.required",
            "sign-ups are by invitation now: enter the invite code you were given",
        )
    })?;
    let mut rec = c.invite_code(&code)?.ok_or_else(|| {
        refused(
            "invite.unknown",
            "there is no such invite code; check how it is written",
        )
    })?;
    usable(&rec, now).map_err(Refusal::error)?;
    rec.uses += 1;
    c.put_invite_code(&code, &rec)?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_compared_in_upper_case_and_limited() {
        assert_eq!(normalize(" beta-2026 ").as_deref(), Some("BETA-2026"));
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("kod şu"), None);
        assert_eq!(normalize(&"A".repeat(33)), None);
        let m = made_up();
        assert_eq!(m.len(), 8);
        assert_eq!(normalize(&m), Some(m));
    }

    #[test]
    fn a_code_is_usable_until_off_expired_or_used_up() {
        let mut r = InviteCodeRec {
            note: String::new(),
            max_uses: 2,
            uses: 1,
            expires_at: Some(100),
            created_at: 0,
            created_by: None,
            disabled: false,
        };
        assert_eq!(usable(&r, 99), Ok(()));
        assert_eq!(usable(&r, 100), Err(Refusal::Expired));
        r.uses = 2;
        assert_eq!(usable(&r, 50), Err(Refusal::UsedUp));
        r.disabled = true;
        assert_eq!(usable(&r, 50), Err(Refusal::Disabled));
        assert_eq!(Refusal::Disabled.code(), "invite.disabled");
    }
}
