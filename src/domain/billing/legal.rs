//! A party's legal details as printed on invoices, in the document's language.

use botyard_shards::records::Language;

/// An address (one line per line typed) and the tax office and number, as printed.
pub fn legal_lines(
    address: &str,
    tax_office: &str,
    tax_number: &str,
    language: Language,
) -> Vec<String> {
    let mut out: Vec<String> = address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let (office, number) = match language {
        Language::Tr => ("Vergi dairesi", "Vergi no"),
        Language::En => ("Tax office", "Tax number"),
    };
    match (tax_office.trim(), tax_number.trim()) {
        ("", "") => {}
        (o, "") => out.push(format!("{office}: {o}")),
        ("", n) => out.push(format!("{number}: {n}")),
        (o, n) => out.push(format!("{office}: {o} · {number}: {n}")),
    }
    out
}
