//! Files sent to be saved rather than shown: one rule for their `Content-Disposition`.

use axum::http::HeaderValue;

/// `attachment; filename="…"` with the name in ASCII (anything else becomes `_`), and the
/// exact name as `filename*` (RFC 6266) when that changed it.
pub fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut v = format!("attachment; filename=\"{ascii}\"");
    if ascii != name {
        v.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
                v.push(char::from(b));
            } else {
                v.push_str(&format!("%{b:02X}"));
            }
        }
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_kept_in_ascii_and_exactly_in_utf8() {
        assert_eq!(
            disposition("2026-000001.pdf"),
            "attachment; filename=\"2026-000001.pdf\""
        );
        assert_eq!(
            disposition("ekran görüntüsü.png"),
            "attachment; filename=\"ekran_g_r_nt_s_.png\"; filename*=UTF-8''ekran%20g%C3%B6r%C3%BCnt%C3%BCs%C3%BC.png"
        );
        assert!(!disposition("a\"b\r\n.txt").to_str().unwrap().contains('\n'));
    }
}
