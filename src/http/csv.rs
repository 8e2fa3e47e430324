//! CSV exports: UTF-8 with a header row, written in chunks as the body streams out, so a large
//! table is never held as one string.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 32 * 1024;

/// A text cell written by someone else (a Telegram name, a group title): one a spreadsheet
/// would read as a formula (`=`, `+`, `-`, `@`, their full-width forms, or white space first)
/// gets a leading
/// `'`, so opening the export cannot run anything.
pub fn text(s: String) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | ' ' | '＝' | '＋' | '－' | '＠') => {
            format!("'{s}")
        }
        _ => s,
    }
}

/// A CSV download named `name.csv`: `header`, then every row.
pub fn response<I>(name: &str, header: &[&str], rows: I) -> Response
where
    I: Iterator<Item = Vec<String>> + Send + 'static,
{
    let head: Vec<String> = header.iter().map(|h| (*h).to_string()).collect();
    let mut rows = std::iter::once(head).chain(rows).peekable();
    let chunks = std::iter::from_fn(move || {
        rows.peek()?;
        let mut w = csv::Writer::from_writer(Vec::with_capacity(CHUNK + 1024));
        for row in rows.by_ref() {
            if let Err(e) = w.write_record(&row) {
                return Some(Err(std::io::Error::other(e)));
            }
            if w.get_ref().len() >= CHUNK {
                break;
            }
        }
        Some(
            w.into_inner()
                .map(Bytes::from)
                .map_err(|e| std::io::Error::other(e.to_string())),
        )
    });
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    // A plain name: a CSV's name is made of the report's words.
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    h.insert(
        header::CONTENT_DISPOSITION,
        super::download::disposition(&format!("{file}.csv")),
    );
    resp
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn rows_stream_in_chunks_and_quote_what_needs_it() {
        let rows = (0..5000).map(|i| vec![format!("Kadıköy, \"{i}\""), i.to_string()]);
        let resp = super::response("top users", &["name", "messages"], rows);
        assert_eq!(
            resp.headers()["content-disposition"],
            "attachment; filename=\"top_users.csv\""
        );
        let mut body = resp.into_body();
        let mut chunks = 0;
        let mut all = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.unwrap();
            if let Some(d) = frame.data_ref() {
                chunks += 1;
                all.extend_from_slice(d);
            }
        }
        assert!(chunks > 1, "streamed in {chunks} chunks");
        let text = String::from_utf8(all).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("name,messages"));
        assert_eq!(lines.next(), Some("\"Kadıköy, \"\"0\"\"\",0"));
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(r.records().count(), 5000);
    }

    #[test]
    fn formulas_in_names_are_defused() {
        assert_eq!(
            super::text("=HYPERLINK(\"x\")".into()),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(super::text("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(super::text("-1+1".into()), "'-1+1");
        assert_eq!(super::text("Ayşe".into()), "Ayşe");
        assert_eq!(super::text("＝1+1".into()), "'＝1+1");
        assert_eq!(super::text(" =1".into()), "' =1");
        assert_eq!(super::text(String::new()), "");
    }
}
