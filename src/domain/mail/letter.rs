//! One layout for every mail, in HTML and plain text (askama, `web/templates/mail/`), with the
//! reseller's brand: what a notice says is a [`Letter`], how it looks is here.

use askama::Template;
use botyard_shards::records::Language;

use crate::domain::appliance::effective::Effective;
use crate::error::{AppError, AppResult};

/// The reseller's brand as mails show it.
#[derive(Clone, Debug)]
pub struct Branding {
    pub name: String,
    /// `#rrggbb` of the header line and the button, and the button's text colour.
    pub accent: String,
    pub ink: String,
    /// Absolute, so mail readers can fetch it.
    pub logo_url: Option<String>,
    /// Where links point, without a trailing `/`.
    pub base_url: String,
}

impl Branding {
    pub fn of(e: &Effective) -> Branding {
        let accent = e
            .brand
            .accent
            .unwrap_or(crate::domain::appliance::effective::Rgb(0x0b, 0x5c, 0xad));
        Branding {
            name: e.brand.name.clone(),
            accent: accent.hex(),
            ink: accent.ink().hex(),
            logo_url: e.brand.logo.as_ref().map(|l| {
                format!(
                    "{}/console/brand/logo?v={}",
                    e.base_url,
                    l.etag.trim_matches('"')
                )
            }),
            base_url: e.base_url.clone(),
        }
    }
}

/// A button and the link it opens.
#[derive(Clone, Debug)]
pub struct Action {
    pub label: String,
    pub url: String,
}

/// What a mail says, in one language.
#[derive(Clone, Debug, Default)]
pub struct Letter {
    pub subject: String,
    /// The line mail readers show after the subject.
    pub preheader: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub action: Option<Action>,
    /// Small print after the button: expiry, "if this was not you".
    pub after: Vec<String>,
    /// A marketing mail's own body (already cleaned), with its text version.
    pub body_html: Option<String>,
    pub body_text: Option<String>,
    /// Shows the link to the notification preferences.
    pub manage: bool,
    pub unsubscribe_url: Option<String>,
}

/// A letter laid out: what goes into the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct Html<'a> {
    lang: &'a str,
    subject: &'a str,
    preheader: &'a str,
    brand: &'a str,
    accent: &'a str,
    ink: &'a str,
    logo_url: Option<&'a str>,
    greeting: &'a str,
    paragraphs: &'a [String],
    body_html: Option<&'a str>,
    action: Option<&'a Action>,
    link_hint: &'a str,
    after: &'a [String],
    footer: String,
    manage_url: Option<String>,
    manage_label: &'a str,
    unsubscribe_url: Option<&'a str>,
    unsubscribe_label: &'a str,
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct Text<'a> {
    brand: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    body_text: Option<&'a str>,
    action: Option<&'a Action>,
    after: &'a [String],
    footer: String,
    manage_url: Option<String>,
    manage_label: &'a str,
    unsubscribe_url: Option<&'a str>,
    unsubscribe_label: &'a str,
}

/// `en` or `tr` text.
pub fn pick<'a>(lang: Language, en: &'a str, tr: &'a str) -> &'a str {
    match lang {
        Language::En => en,
        Language::Tr => tr,
    }
}

/// Lays a letter out in both forms.
pub fn render(l: &Letter, b: &Branding, lang: Language) -> AppResult<Rendered> {
    let footer = match lang {
        Language::En => format!("You receive this mail because you use {}.", b.name),
        Language::Tr => format!("Bu e-postayı {} kullandığınız için alıyorsunuz.", b.name),
    };
    let manage_url = l
        .manage
        .then(|| format!("{}/console/account#notices", b.base_url));
    let manage_label = pick(lang, "Notification settings", "Bildirim ayarları");
    let unsubscribe_label = pick(lang, "Unsubscribe", "Abonelikten çık");
    let html = Html {
        lang: pick(lang, "en", "tr"),
        subject: &l.subject,
        preheader: &l.preheader,
        brand: &b.name,
        accent: &b.accent,
        ink: &b.ink,
        logo_url: b.logo_url.as_deref(),
        greeting: &l.greeting,
        paragraphs: &l.paragraphs,
        body_html: l.body_html.as_deref(),
        action: l.action.as_ref(),
        link_hint: pick(
            lang,
            "If the button does not work, copy this link into your browser:",
            "Düğme çalışmazsa bu bağlantıyı tarayıcınıza kopyalayın:",
        ),
        after: &l.after,
        footer: footer.clone(),
        manage_url: manage_url.clone(),
        manage_label,
        unsubscribe_url: l.unsubscribe_url.as_deref(),
        unsubscribe_label,
    }
    .render()
    .map_err(|e| AppError::Internal(format!("mail layout: {e}")))?;
    let text = Text {
        brand: &b.name,
        greeting: &l.greeting,
        paragraphs: &l.paragraphs,
        body_text: l.body_text.as_deref(),
        action: l.action.as_ref(),
        after: &l.after,
        footer,
        manage_url,
        manage_label,
        unsubscribe_url: l.unsubscribe_url.as_deref(),
        unsubscribe_label,
    }
    .render()
    .map_err(|e| AppError::Internal(format!("mail layout: {e}")))?;
    Ok(Rendered {
        subject: l.subject.clone(),
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Branding {
        Branding {
            name: "Kuşyuvası <Bot>".into(),
            accent: "#0b5cad".into(),
            ink: "#ffffff".into(),
            logo_url: None,
            base_url: "https://bots.example.com".into(),
        }
    }

    #[test]
    fn both_forms_carry_the_words_and_html_is_escaped() {
        let l = Letter {
            subject: "Şifrenizi sıfırlayın".into(),
            greeting: "Merhaba,".into(),
            paragraphs: vec!["<script>alert(1)</script> ığüşöç".into()],
            action: Some(Action {
                label: "Yeni şifre".into(),
                url: "https://bots.example.com/console/reset?t=a&b=c".into(),
            }),
            manage: true,
            ..Letter::default()
        };
        let r = render(&l, &brand(), Language::Tr).unwrap();
        assert!(r.html.contains("script&#62;alert(1)"), "{}", r.html);
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("ığüşöç") && r.text.contains("ığüşöç"));
        assert!(
            r.text.contains("<script>alert(1)</script>"),
            "text is not HTML"
        );
        assert!(
            r.text
                .contains("https://bots.example.com/console/reset?t=a&b=c")
        );
        assert!(r.html.contains("Kuşyuvası &#60;Bot&#62;") && !r.html.contains("<Bot>"));
        assert!(
            r.text
                .contains("Bildirim ayarları: https://bots.example.com/console/account#notices")
        );
        assert!(r.html.contains("lang=\"tr\""));
    }
}
