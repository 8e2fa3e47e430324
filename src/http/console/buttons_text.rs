//! A template's link buttons as the console's editor writes them: one line per row of
//! buttons, `|` between the buttons of a row, each `Label - https://link`. The domain checks
//! the buttons themselves (https only, how many); this reads and writes the text.

use crate::domain::templates::Button;
use crate::error::{AppError, AppResult};

/// Longest text accepted (Telegram allows 100 buttons; this is generous for those).
const MAX_LEN: usize = 16 * 1024;

pub fn parse(text: &str) -> AppResult<Vec<Vec<Button>>> {
    if text.len() > MAX_LEN {
        return Err(bad("the buttons are too long"));
    }
    let mut rows = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut row = Vec::new();
        for b in line.split('|').map(str::trim).filter(|b| !b.is_empty()) {
            let Some((label, url)) = b.rsplit_once(" - ") else {
                return Err(bad(&format!("write “{b}” as Label - https://link")));
            };
            row.push(Button {
                label: label.trim().to_string(),
                url: url.trim().to_string(),
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

pub fn format(rows: &[Vec<Button>]) -> String {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|b| format!("{} - {}", b.label, b.url))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn bad(message: &str) -> AppError {
    AppError::Invalid {
        code: "template.buttons_text",
        field: "buttons".into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_buttons_round_trip() {
        let text = "Sipariş ver - https://shop.example/order | Menü - https://shop.example/m\n\n  Konum - https://maps.example/x  ";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), 2);
        assert_eq!(rows[0][0].label, "Sipariş ver");
        assert_eq!(rows[1][0].url, "https://maps.example/x");
        assert_eq!(parse(&format(&rows)).unwrap(), rows);
        // A label may itself hold " - ": the link is what follows the last one.
        assert_eq!(
            parse("İndirim - %10 - https://a.example").unwrap()[0][0].label,
            "İndirim - %10"
        );
        assert!(parse("no link here").is_err());
        assert!(parse(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(parse("").unwrap().is_empty());
    }
}
