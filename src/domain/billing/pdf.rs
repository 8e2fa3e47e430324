//! An invoice or credit note as a one-page A4 PDF, made in-process: text is shaped and DejaVu
//! Sans (which covers Turkish: ğ ş ı İ) is subset and embedded by krilla, so the file reads
//! the same everywhere. Amounts are integers to the end: formatted from minor units, never
//! through a float.

use std::sync::{Arc, LazyLock};

use botyard_shards::records::{InvoiceKindRec, InvoiceRec, Language};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

use crate::error::{AppError, AppResult};

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The fonts, parsed once (their bytes are in the binary).
struct Fonts {
    regular: Font,
    bold: Font,
    regular_face: ttf_parser::Face<'static>,
    bold_face: ttf_parser::Face<'static>,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Font::new(Arc::new(REGULAR.to_vec()).into(), 0)?,
        bold: Font::new(Arc::new(BOLD.to_vec()).into(), 0)?,
        regular_face: ttf_parser::Face::parse(REGULAR, 0).ok()?,
        bold_face: ttf_parser::Face::parse(BOLD, 0).ok()?,
    })
});

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// `amount` minor units of `currency` as people read it: `1.499,90 TRY` in Turkish,
/// `1,499.90 TRY` in English; Stars are whole: `250 XTR`.
pub fn money(amount: u64, currency: &str, language: Language) -> String {
    let (thousands, decimal) = match language {
        Language::Tr => ('.', ','),
        Language::En => (',', '.'),
    };
    let group = |n: u64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(thousands);
            }
            out.push(ch);
        }
        out
    };
    if currency == "XTR" {
        return format!("{} XTR", group(amount));
    }
    format!(
        "{}{decimal}{:02} {currency}",
        group(amount / 100),
        amount % 100
    )
}

/// A rate in basis points as a percentage: 2000 → `20`, 1850 → `18,5` (or `18.5`).
fn percent(bp: u32, language: Language) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        return whole.to_string();
    }
    let sep = if language == Language::Tr { ',' } else { '.' };
    let frac = format!("{frac:02}");
    format!("{whole}{sep}{}", frac.trim_end_matches('0'))
}

fn date(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .strftime("%d.%m.%Y")
                .to_string()
        })
        .unwrap_or_default()
}

struct Words {
    title: &'static str,
    number: &'static str,
    date: &'static str,
    seller: &'static str,
    buyer: &'static str,
    description: &'static str,
    quantity: &'static str,
    amount: &'static str,
    net: &'static str,
    tax: &'static str,
    total: &'static str,
    reference: &'static str,
    corrects: &'static str,
    stars_note: &'static str,
    footer: &'static str,
}

fn words(kind: InvoiceKindRec, language: Language) -> Words {
    match language {
        Language::Tr => Words {
            title: match kind {
                InvoiceKindRec::Invoice => "FATURA",
                InvoiceKindRec::CreditNote => "İADE FATURASI",
            },
            number: "Numara",
            date: "Tarih",
            seller: "Satıcı",
            buyer: "Alıcı",
            description: "Açıklama",
            quantity: "Miktar",
            amount: "Tutar",
            net: "Matrah",
            tax: "KDV",
            total: "Genel toplam",
            reference: "Ödeme referansı",
            corrects: "İlgili fatura",
            stars_note: "Telegram Yıldızları (XTR) ile ödenmiştir; vergi Telegram'ın koşullarına tabidir.",
            footer: "Bu belge elektronik olarak düzenlenmiştir.",
        },
        Language::En => Words {
            title: match kind {
                InvoiceKindRec::Invoice => "INVOICE",
                InvoiceKindRec::CreditNote => "CREDIT NOTE",
            },
            number: "Number",
            date: "Date",
            seller: "Seller",
            buyer: "Buyer",
            description: "Description",
            quantity: "Qty",
            amount: "Amount",
            net: "Net",
            tax: "VAT",
            total: "Total",
            reference: "Payment reference",
            corrects: "Corrects invoice",
            stars_note: "Paid in Telegram Stars (XTR); tax is subject to Telegram's terms.",
            footer: "This document was issued electronically.",
        },
    }
}

/// Draws text on one page, measuring it for right alignment and cutting it to a width.
struct Pen<'a, 'b> {
    surface: krilla::surface::Surface<'a>,
    fonts: &'b Fonts,
}

impl Pen<'_, '_> {
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold {
            &self.fonts.bold_face
        } else {
            &self.fonts.regular_face
        };
        let units: u32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0, u32::from)
            })
            .sum();
        units as f32 * size / f32::from(face.units_per_em())
    }

    /// `text` cut (with an ellipsis) to fit `max` points.
    fn fit(&self, text: &str, size: f32, bold: bool, max: f32) -> String {
        if self.width(text, size, bold) <= max {
            return text.to_string();
        }
        let mut out: String = text.to_string();
        while !out.is_empty() && self.width(&format!("{out}…"), size, bold) > max {
            out.pop();
        }
        format!("{out}…")
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let font = if bold {
            self.fonts.bold.clone()
        } else {
            self.fonts.regular.clone()
        };
        self.surface.draw_text(
            Point::from_xy(x, y),
            font,
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn right(&mut self, x_end: f32, y: f32, size: f32, bold: bool, text: &str) {
        let w = self.width(text, size, bold);
        self.text(x_end - w, y, size, bold, text);
    }

    fn rule(&mut self, y: f32, grey: u8) {
        let mut pb = PathBuilder::new();
        pb.move_to(MARGIN, y);
        pb.line_to(WIDTH - MARGIN, y);
        if let Some(path) = pb.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(grey, grey, grey).into(),
                width: 0.8,
                ..Default::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
            self.ink();
        }
    }

    fn band(&mut self, y: f32, h: f32) {
        if let Some(rect) = Rect::from_xywh(MARGIN, y, WIDTH - 2.0 * MARGIN, h) {
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            if let Some(path) = pb.finish() {
                self.surface.set_fill(Some(Fill {
                    paint: rgb::Color::new(238, 241, 245).into(),
                    ..Default::default()
                }));
                self.surface.draw_path(&path);
                self.ink();
            }
        }
    }

    fn ink(&mut self) {
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(20, 24, 31).into(),
            ..Default::default()
        }));
    }
}

/// The PDF of an invoice or credit note, in the language it was issued in.
pub fn render(inv: &InvoiceRec) -> AppResult<Vec<u8>> {
    let fonts = FONTS
        .as_ref()
        .ok_or_else(|| AppError::Internal("the invoice font did not load".into()))?;
    let mut doc = Document::new();
    let settings = PageSettings::from_wh(WIDTH, HEIGHT)
        .ok_or_else(|| AppError::Internal("page size".into()))?;
    let mut page = doc.start_page_with(settings);
    draw(&mut page, fonts, inv);
    page.finish();
    doc.finish()
        .map_err(|e| AppError::Internal(format!("invoice PDF: {e:?}")))
}

fn draw(page: &mut krilla::page::Page<'_>, fonts: &Fonts, inv: &InvoiceRec) {
    let lang = inv.language;
    let w = words(inv.kind, lang);
    {
        let mut pen = Pen {
            surface: page.surface(),
            fonts,
        };
        pen.ink();
        let right = WIDTH - MARGIN;
        let mut y = 80.0;
        pen.text(MARGIN, y, 22.0, true, w.title);
        pen.right(
            right,
            y - 8.0,
            10.0,
            false,
            &format!("{}: {}", w.number, inv.number),
        );
        pen.right(
            right,
            y + 6.0,
            10.0,
            false,
            &format!("{}: {}", w.date, date(inv.issued_at)),
        );
        y += 20.0;
        pen.rule(y, 200);

        // Seller and buyer, side by side.
        y += 24.0;
        let col = 320.0;
        let top = y;
        pen.text(MARGIN, y, 9.0, true, w.seller);
        pen.text(col, y, 9.0, true, w.buyer);
        y += 15.0;
        let mut ys = y;
        let seller = pen.fit(&inv.seller, 11.0, true, col - MARGIN - 10.0);
        pen.text(MARGIN, ys, 11.0, true, &seller);
        for l in &inv.seller_lines {
            ys += 13.0;
            let l = pen.fit(l, 9.0, false, col - MARGIN - 10.0);
            pen.text(MARGIN, ys, 9.0, false, &l);
        }
        let mut yb = y;
        let buyer = pen.fit(&inv.buyer, 11.0, true, right - col);
        pen.text(col, yb, 11.0, true, &buyer);
        for l in &inv.buyer_lines {
            yb += 13.0;
            let l = pen.fit(l, 9.0, false, right - col);
            pen.text(col, yb, 9.0, false, &l);
        }
        y = ys.max(yb).max(top + 40.0) + 30.0;

        // Lines.
        pen.band(y - 13.0, 19.0);
        pen.text(MARGIN + 6.0, y, 9.0, true, w.description);
        pen.right(400.0, y, 9.0, true, w.quantity);
        pen.right(right - 6.0, y, 9.0, true, w.amount);
        for l in &inv.lines {
            y += 22.0;
            let d = pen.fit(&l.description, 10.0, false, 300.0);
            pen.text(MARGIN + 6.0, y, 10.0, false, &d);
            pen.right(400.0, y, 10.0, false, &l.quantity.to_string());
            pen.right(
                right - 6.0,
                y,
                10.0,
                false,
                &money(l.amount, &inv.currency, lang),
            );
        }
        y += 12.0;
        pen.rule(y, 200);

        // Totals.
        let label_x = 330.0;
        y += 20.0;
        pen.text(label_x, y, 10.0, false, w.net);
        pen.right(
            right - 6.0,
            y,
            10.0,
            false,
            &money(inv.net, &inv.currency, lang),
        );
        y += 16.0;
        pen.text(
            label_x,
            y,
            10.0,
            false,
            &match lang {
                Language::Tr => format!("{} %{}", w.tax, percent(inv.tax_rate_bp, lang)),
                Language::En => format!("{} {}%", w.tax, percent(inv.tax_rate_bp, lang)),
            },
        );
        pen.right(
            right - 6.0,
            y,
            10.0,
            false,
            &money(inv.tax, &inv.currency, lang),
        );
        y += 10.0;
        pen.rule(y, 120);
        y += 18.0;
        pen.text(label_x, y, 12.0, true, w.total);
        pen.right(
            right - 6.0,
            y,
            12.0,
            true,
            &money(inv.total, &inv.currency, lang),
        );

        // Reference and notes.
        y += 40.0;
        let reference = pen.fit(
            &format!("{}: {}", w.reference, inv.reference),
            9.0,
            false,
            right - MARGIN,
        );
        pen.text(MARGIN, y, 9.0, false, &reference);
        if let Some(n) = &inv.corrects {
            y += 14.0;
            pen.text(MARGIN, y, 9.0, false, &format!("{}: {n}", w.corrects));
        }
        if inv.currency == "XTR" {
            y += 14.0;
            pen.text(MARGIN, y, 9.0, false, w.stars_note);
        }
        pen.rule(HEIGHT - 60.0, 220);
        pen.text(MARGIN, HEIGHT - 45.0, 8.0, false, w.footer);
        pen.right(right, HEIGHT - 45.0, 8.0, false, &inv.number);
        pen.surface.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_people_write_it() {
        assert_eq!(money(149_990, "TRY", Language::Tr), "1.499,90 TRY");
        assert_eq!(money(149_990, "TRY", Language::En), "1,499.90 TRY");
        assert_eq!(money(5, "EUR", Language::En), "0.05 EUR");
        assert_eq!(money(1_000_000, "XTR", Language::Tr), "1.000.000 XTR");
        assert_eq!(money(250, "XTR", Language::En), "250 XTR");
        assert_eq!(percent(2000, Language::Tr), "20");
        assert_eq!(percent(1850, Language::Tr), "18,5");
        assert_eq!(percent(105, Language::En), "1.05");
    }
}
