//! Names people give things (tenants, templates, files, campaigns): what makes one unfit to
//! show. A leaf module: it knows only the error type.

use crate::error::{AppError, AppResult};

/// Characters that change how the text around them is shown: bidi embeddings, overrides and
/// isolates (an "exe.pdf" that reads "fdp.exe").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show nothing: spaces of every width, joiners, the Hangul filler, …
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
                | '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
                | '\u{180E}'
                | '\u{2800}'
        )
        || is_bidi_control(c)
}

/// Refuses a name that shows nothing, or that reorders what is shown (`validation.name`).
pub fn check_visible(field: &str, name: &str) -> AppResult<()> {
    if name.chars().any(is_bidi_control) {
        return Err(AppError::Invalid {
            code: "validation.name",
            field: field.into(),
            message: "must not contain right-to-left or left-to-right override characters".into(),
        });
    }
    if name.chars().all(is_invisible) {
        return Err(AppError::Invalid {
            code: "validation.name",
            field: field.into(),
            message: "must contain at least one visible character".into(),
        });
    }
    Ok(())
}
