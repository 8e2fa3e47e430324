//! The notices: what each says in Turkish and English, who receives it, and how it enters the
//! outbox in the transaction of what caused it. Security and billing notices always go;
//! the others follow each account's preferences (off, or held for an hourly digest).

use botyard_shards::Recipient;
use botyard_shards::ids::{AccountId, TenantId};
use botyard_shards::records::{AlertRec, DigestItemRec, Language, MailRec, MailStateRec, Role};
use botyard_shards::{CatalogTx, WriteTransaction};

use super::letter::{Action, Branding, Letter, pick, render};
use crate::error::{AppError, AppResult};

/// Where a Telegram row goes: `telegram:<account id>`.
pub const TELEGRAM_PREFIX: &str = "telegram:";

/// What a notice is about, which decides whether a person may turn it off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Sign-in, password and address: always sent, never held.
    Security,
    /// Payments and the subscription: always sent, never held.
    Billing,
    /// Sessions, workers, campaigns: may be turned off or held for the digest.
    Bot,
}

/// Every notice kind people can see in their preferences, with its category.
pub const KINDS: &[(&str, Category)] = &[
    ("account.invitation", Category::Security),
    ("account.password_reset", Category::Security),
    ("account.email_change", Category::Security),
    ("account.email_changed", Category::Security),
    ("account.new_device", Category::Security),
    ("billing.trial_ending", Category::Billing),
    ("billing.payment_received", Category::Billing),
    ("billing.renewal_failed", Category::Billing),
    ("billing.grace_ending", Category::Billing),
    ("billing.suspended", Category::Billing),
    ("billing.cancelled", Category::Billing),
    ("billing.deletion_warning", Category::Billing),
    ("bot.session_revoked", Category::Bot),
    ("bot.worker_quarantined", Category::Bot),
    ("bot.campaign_paused", Category::Bot),
    ("bot.flood_wait", Category::Bot),
    ("bot.removed_from_group", Category::Bot),
    ("bot.posts_failing", Category::Bot),
    ("admin.alert", Category::Security),
    ("admin.support_request", Category::Security),
    ("account.support_answer", Category::Security),
];

/// Whether people may turn `kind` off.
pub fn optional(kind: &str) -> bool {
    KINDS
        .iter()
        .any(|(k, c)| *k == kind && matches!(c, Category::Bot))
}

/// A notice with what it needs to say.
#[derive(Clone, Debug)]
pub enum Notice {
    Test,
    Invitation {
        tenant: String,
        role: Role,
        link: String,
        hours: i64,
    },
    PasswordReset {
        link: String,
        minutes: i64,
    },
    EmailChange {
        new_email: String,
        link: String,
        hours: i64,
    },
    EmailChanged {
        new_email: String,
    },
    NewDevice {
        when: String,
        address: String,
        agent: String,
    },
    TrialEnding {
        tenant: String,
        date: String,
    },
    PaymentReceived {
        tenant: String,
        amount: String,
        invoice: String,
    },
    RenewalFailed {
        tenant: String,
        date: String,
    },
    GraceEnding {
        tenant: String,
        date: String,
    },
    Suspended {
        tenant: String,
    },
    Cancelled {
        tenant: String,
        data_until: String,
    },
    DeletionWarning {
        tenant: String,
        date: String,
    },
    /// A bot-status notice from an alert about the tenant.
    BotStatus {
        tenant: String,
        alert: AlertRec,
    },
    /// An alert as admins read it.
    AdminAlert {
        tenant: Option<String>,
        alert: AlertRec,
    },
    /// A tenant opened or added to a support request (to admins).
    SupportRequest {
        tenant: String,
        subject: String,
        excerpt: String,
        link: String,
    },
    /// The reseller answered a support request (to the person who opened it).
    SupportAnswer {
        subject: String,
        excerpt: String,
        link: String,
    },
}

impl Notice {
    /// The kind's stable code.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Test => "admin.test",
            Notice::Invitation { .. } => "account.invitation",
            Notice::PasswordReset { .. } => "account.password_reset",
            Notice::EmailChange { .. } => "account.email_change",
            Notice::EmailChanged { .. } => "account.email_changed",
            Notice::NewDevice { .. } => "account.new_device",
            Notice::TrialEnding { .. } => "billing.trial_ending",
            Notice::PaymentReceived { .. } => "billing.payment_received",
            Notice::RenewalFailed { .. } => "billing.renewal_failed",
            Notice::GraceEnding { .. } => "billing.grace_ending",
            Notice::Suspended { .. } => "billing.suspended",
            Notice::Cancelled { .. } => "billing.cancelled",
            Notice::DeletionWarning { .. } => "billing.deletion_warning",
            Notice::BotStatus { alert, .. } => bot_kind(&alert.kind),
            Notice::AdminAlert { .. } => "admin.alert",
            Notice::SupportRequest { .. } => "admin.support_request",
            Notice::SupportAnswer { .. } => "account.support_answer",
        }
    }

    /// What it says in `lang`, with links under `base`.
    pub fn letter(&self, lang: Language, base: &str, brand: &str) -> Letter {
        let t = |en: &str, tr: &str| pick(lang, en, tr).to_string();
        let hello = t("Hello,", "Merhaba,");
        let billing = format!("{base}/console/billing");
        let mut l = Letter {
            greeting: hello,
            ..Letter::default()
        };
        match self {
            Notice::Test => {
                l.subject = t("Test mail from {b}", "{b} deneme e-postası").replace("{b}", brand);
                l.paragraphs = vec![t(
                    "This is the test mail you asked for. Mail from this server reaches you: notices, invoices and alerts will too.",
                    "İstediğiniz deneme e-postası budur. Bu sunucudan gelen e-postalar size ulaşıyor: bildirimler, faturalar ve uyarılar da ulaşacak.",
                )];
            }
            Notice::Invitation {
                tenant,
                role,
                link,
                hours,
            } => {
                let role = match (role, lang) {
                    (Role::Owner, Language::En) => "an owner",
                    (Role::Owner, Language::Tr) => "sahip",
                    (Role::Editor, Language::En) => "an editor",
                    (Role::Editor, Language::Tr) => "düzenleyici",
                    (Role::Viewer, Language::En) => "a viewer",
                    (Role::Viewer, Language::Tr) => "izleyici",
                };
                l.subject =
                    t("You are invited to {t}", "{t} sizi davet ediyor").replace("{t}", tenant);
                l.paragraphs = vec![match lang {
                    Language::En => format!(
                        "You are invited to manage the Telegram bots of {tenant} on {brand}, as {role}."
                    ),
                    Language::Tr => format!(
                        "{brand} üzerinde {tenant} Telegram botlarını yönetmeye {role} olarak davet edildiniz."
                    ),
                }];
                l.action = Some(Action {
                    label: t("Accept the invitation", "Daveti kabul et"),
                    url: link.clone(),
                });
                l.after = vec![
                    t(
                        "The link works once and for {h} hours.",
                        "Bağlantı bir kez ve {h} saat boyunca çalışır.",
                    )
                    .replace("{h}", &hours.to_string()),
                    t(
                        "If you did not expect this, ignore this mail.",
                        "Bunu beklemiyorsanız bu e-postayı dikkate almayın.",
                    ),
                ];
            }
            Notice::PasswordReset { link, minutes } => {
                l.subject = t("Reset your password", "Şifrenizi sıfırlayın");
                l.paragraphs = vec![t(
                    "Someone asked to reset the password of your account. Choose a new one with the button below.",
                    "Hesabınızın şifresini sıfırlamak için bir istek yapıldı. Aşağıdaki düğmeyle yeni bir şifre belirleyin.",
                )];
                l.action = Some(Action {
                    label: t("Choose a new password", "Yeni şifre belirle"),
                    url: link.clone(),
                });
                l.after = vec![
                    t(
                        "The link works once and for {m} minutes.",
                        "Bağlantı bir kez ve {m} dakika boyunca çalışır.",
                    )
                    .replace("{m}", &minutes.to_string()),
                    t(
                        "If it was not you, ignore this mail: your password stays as it is.",
                        "Bu siz değilseniz bu e-postayı dikkate almayın: şifreniz değişmez.",
                    ),
                ];
            }
            Notice::EmailChange {
                new_email,
                link,
                hours,
            } => {
                l.subject = t(
                    "Confirm your new email address",
                    "Yeni e-posta adresinizi onaylayın",
                );
                l.paragraphs = vec![
                    t(
                        "Confirm that {e} is the new address of your account.",
                        "{e} adresinin hesabınızın yeni adresi olduğunu onaylayın.",
                    )
                    .replace("{e}", new_email),
                ];
                l.action = Some(Action {
                    label: t("Confirm the address", "Adresi onayla"),
                    url: link.clone(),
                });
                l.after = vec![t(
                    "The link works once and for {h} hours. Until then you sign in with your old address.",
                    "Bağlantı bir kez ve {h} saat boyunca çalışır. O zamana kadar eski adresinizle giriş yaparsınız.",
                )
                .replace("{h}", &hours.to_string())];
            }
            Notice::EmailChanged { new_email } => {
                l.subject = t(
                    "Your email address was changed",
                    "E-posta adresiniz değiştirildi",
                );
                l.paragraphs = vec![t(
                    "Your account now signs in with {e}. Mail will no longer come to this address.",
                    "Hesabınız artık {e} ile giriş yapıyor. E-postalar bundan sonra bu adrese gelmeyecek.",
                )
                .replace("{e}", new_email)];
                l.after = vec![t(
                    "If it was not you, tell your administrator at once.",
                    "Bu siz değilseniz hemen yöneticinize bildirin.",
                )];
            }
            Notice::NewDevice {
                when,
                address,
                agent,
            } => {
                l.subject = t(
                    "New sign-in to your account",
                    "Hesabınıza yeni bir cihazdan giriş yapıldı",
                );
                l.paragraphs = vec![
                    t(
                        "Your account was signed in to from a device it had not used before.",
                        "Hesabınıza daha önce kullanılmamış bir cihazdan giriş yapıldı.",
                    ),
                    format!(
                        "{}: {when} · {}: {address} · {}: {agent}",
                        t("When", "Zaman"),
                        t("Address", "Adres"),
                        t("Browser", "Tarayıcı")
                    ),
                ];
                l.action = Some(Action {
                    label: t("Review your account", "Hesabınızı gözden geçirin"),
                    url: format!("{base}/console/account"),
                });
                l.after = vec![t(
                    "If it was you, there is nothing to do. If not, change your password now: that signs every other device out.",
                    "Bu sizseniz yapmanız gereken bir şey yok. Değilse şifrenizi hemen değiştirin: bu diğer tüm cihazlardaki oturumları kapatır.",
                )];
            }
            Notice::TrialEnding { tenant, date } => {
                l.subject = t(
                    "Your trial of {t} ends on {d}",
                    "{t} deneme süreniz {d} tarihinde bitiyor",
                )
                .replace("{t}", tenant)
                .replace("{d}", date);
                l.paragraphs = vec![t(
                    "Your free trial ends in three days. Pay for your plan to keep your campaigns running without a pause.",
                    "Ücretsiz deneme süreniz üç gün içinde bitiyor. Kampanyalarınızın aksamadan sürmesi için planınızın ödemesini yapın.",
                )];
                l.action = Some(Action {
                    label: t("Choose and pay", "Plan seç ve öde"),
                    url: billing,
                });
            }
            Notice::PaymentReceived {
                tenant,
                amount,
                invoice,
            } => {
                l.subject =
                    t("Payment received: {a}", "Ödemeniz alındı: {a}").replace("{a}", amount);
                l.paragraphs = vec![t(
                    "Thank you: we received {a} for {t}. Invoice {i} is attached to this mail.",
                    "Teşekkürler: {t} için {a} ödemenizi aldık. {i} numaralı fatura bu e-postanın ekindedir.",
                )
                .replace("{a}", amount)
                .replace("{t}", tenant)
                .replace("{i}", invoice)];
                l.action = Some(Action {
                    label: t("Your invoices", "Faturalarınız"),
                    url: billing,
                });
            }
            Notice::RenewalFailed { tenant, date } => {
                l.subject = t(
                    "The renewal of {t} was not paid",
                    "{t} yenileme ödemesi alınamadı",
                )
                .replace("{t}", tenant);
                l.paragraphs = vec![t(
                    "Your subscription's period ended without a payment. Everything keeps working until {d}; pay before then to avoid a suspension.",
                    "Aboneliğinizin dönemi ödeme alınmadan bitti. {d} tarihine kadar her şey çalışmaya devam eder; askıya alınmamak için bu tarihten önce ödeyin.",
                )
                .replace("{d}", date)];
                l.action = Some(Action {
                    label: t("Pay now", "Şimdi öde"),
                    url: billing,
                });
            }
            Notice::GraceEnding { tenant, date } => {
                l.subject = t(
                    "{t} will be suspended on {d}",
                    "{t} {d} tarihinde askıya alınacak",
                )
                .replace("{t}", tenant)
                .replace("{d}", date);
                l.paragraphs = vec![t(
                    "Your grace period ends soon. Without a payment your campaigns stop and your sessions go offline on {d}.",
                    "Ek süreniz yakında bitiyor. Ödeme yapılmazsa {d} tarihinde kampanyalarınız durur ve oturumlarınız çevrimdışı olur.",
                )
                .replace("{d}", date)];
                l.action = Some(Action {
                    label: t("Pay now", "Şimdi öde"),
                    url: billing,
                });
            }
            Notice::Suspended { tenant } => {
                l.subject = t("{t} is suspended", "{t} askıya alındı").replace("{t}", tenant);
                l.paragraphs = vec![t(
                    "Your subscription was not paid, so your campaigns are stopped and your sessions are offline. Your data is kept: pay to continue where you left off.",
                    "Aboneliğiniz ödenmediği için kampanyalarınız durduruldu ve oturumlarınız çevrimdışı. Verileriniz saklanıyor: kaldığınız yerden devam etmek için ödeme yapın.",
                )];
                l.action = Some(Action {
                    label: t("Pay and resume", "Öde ve devam et"),
                    url: billing,
                });
            }
            Notice::Cancelled { tenant, data_until } => {
                l.subject = t("{t} is cancelled", "{t} iptal edildi").replace("{t}", tenant);
                l.paragraphs = vec![t(
                    "Your subscription has ended. Your data is kept until {d}, then deleted for good. Pay before then to come back with everything as it was.",
                    "Aboneliğiniz sona erdi. Verileriniz {d} tarihine kadar saklanır, sonra kalıcı olarak silinir. Her şeyi olduğu gibi geri almak için bu tarihten önce ödeme yapın.",
                )
                .replace("{d}", data_until)];
                l.action = Some(Action {
                    label: t("Resubscribe", "Yeniden abone ol"),
                    url: billing,
                });
            }
            Notice::DeletionWarning { tenant, date } => {
                l.subject = t(
                    "The data of {t} will be deleted on {d}",
                    "{t} verileri {d} tarihinde silinecek",
                )
                .replace("{t}", tenant)
                .replace("{d}", date);
                l.paragraphs = vec![t(
                    "Your templates, campaigns, statistics and sessions will be deleted for good on {d}. This cannot be undone.",
                    "Şablonlarınız, kampanyalarınız, istatistikleriniz ve oturumlarınız {d} tarihinde kalıcı olarak silinecek. Bu geri alınamaz.",
                )
                .replace("{d}", date)];
                l.action = Some(Action {
                    label: t("Keep my data", "Verilerimi koru"),
                    url: billing,
                });
            }
            Notice::BotStatus { tenant, alert } => {
                let (subject, what, todo, page) = bot_words(&alert.kind, lang);
                l.subject = format!("{tenant}: {subject}");
                l.paragraphs = vec![
                    format!("{what} ({}: {})", alert.subject, alert.detail),
                    todo.to_string(),
                ];
                l.action = Some(Action {
                    label: t("Open the console", "Konsolu aç"),
                    url: format!("{base}/console/{page}"),
                });
                l.manage = true;
            }
            Notice::AdminAlert { tenant, alert } => {
                let who = tenant
                    .as_deref()
                    .map(|n| format!("{n}: "))
                    .unwrap_or_default();
                l.subject = format!("[{}] {who}{}", alert.kind, alert.subject);
                l.paragraphs = vec![
                    t("The server raised an alert:", "Sunucu bir uyarı verdi:"),
                    format!("{who}{} — {}", alert.subject, alert.detail),
                    t(
                        "It stays open until someone acknowledges it in the console.",
                        "Biri konsolda onaylayana kadar açık kalır.",
                    ),
                ];
                l.action = Some(Action {
                    label: t("See the alerts", "Uyarıları gör"),
                    url: format!("{base}/console/admin#alerts"),
                });
            }
            Notice::SupportRequest {
                tenant,
                subject,
                excerpt,
                link,
            } => {
                l.subject = t(
                    "Support: {t} wrote about \"{s}\"",
                    "Destek: {t}, \"{s}\" hakkında yazdı",
                )
                .replace("{t}", tenant)
                .replace("{s}", subject);
                l.paragraphs = vec![
                    t("{t} wrote:", "{t} şunu yazdı:").replace("{t}", tenant),
                    excerpt.clone(),
                ];
                l.action = Some(Action {
                    label: t("Read and answer", "Oku ve yanıtla"),
                    url: link.clone(),
                });
            }
            Notice::SupportAnswer {
                subject,
                excerpt,
                link,
            } => {
                l.subject = t("Answer to your request \"{s}\"", "\"{s}\" talebinize yanıt")
                    .replace("{s}", subject);
                l.paragraphs = vec![
                    t("{b} support answered:", "{b} destek ekibi yanıtladı:").replace("{b}", brand),
                    excerpt.clone(),
                ];
                l.action = Some(Action {
                    label: t("Read the whole answer", "Yanıtın tamamını okuyun"),
                    url: link.clone(),
                });
                l.after = vec![t(
                    "Answer there if something is still unclear; the request stays open until it is resolved.",
                    "Hâlâ belirsiz bir şey varsa oradan yanıtlayın; talep çözülene kadar açık kalır.",
                )];
            }
        }
        l.preheader = l.paragraphs.first().cloned().unwrap_or_default();
        l
    }
}

/// The notice kind a tenant reads for an alert kind.
fn bot_kind(alert: &str) -> &'static str {
    use crate::domain::alerts as a;
    match alert {
        a::SESSION_REVOKED => "bot.session_revoked",
        a::WORKER_QUARANTINED => "bot.worker_quarantined",
        a::CAMPAIGN_PAUSED => "bot.campaign_paused",
        a::FLOOD_WAIT => "bot.flood_wait",
        a::GROUP_REMOVED => "bot.removed_from_group",
        a::POSTS_FAILING => "bot.posts_failing",
        _ => "admin.alert",
    }
}

/// A bot-status alert in words: subject, what happened, what to do, the console page.
fn bot_words(
    alert: &str,
    lang: Language,
) -> (&'static str, &'static str, &'static str, &'static str) {
    use crate::domain::alerts as a;
    let (en, tr) = match alert {
        a::SESSION_REVOKED => (
            (
                "a session was logged out",
                "Telegram no longer accepts one of your sessions: it was logged out or its access was revoked.",
                "Connect it again from Sessions (a new bot token, or a new login for a user account). Campaigns that use it are waiting.",
                "sessions",
            ),
            (
                "bir oturum kapatıldı",
                "Telegram oturumlarınızdan birini artık kabul etmiyor: oturum kapatıldı ya da erişimi iptal edildi.",
                "Oturumlar sayfasından yeniden bağlayın (bir bot için yeni token, kullanıcı hesabı için yeni giriş). Onu kullanan kampanyalar bekliyor.",
                "sessions",
            ),
        ),
        a::WORKER_QUARANTINED => (
            (
                "your bots are stopped",
                "The process that runs your sessions failed again and again, so the server stopped restarting it.",
                "Check Sessions for a session in error and the log for the reason; when it is fixed, start it again from the console.",
                "sessions",
            ),
            (
                "botlarınız durduruldu",
                "Oturumlarınızı çalıştıran süreç tekrar tekrar hata verdi, bu yüzden sunucu onu yeniden başlatmayı bıraktı.",
                "Oturumlar sayfasında hatalı bir oturum ve günlükte nedenini arayın; düzeldiğinde konsoldan yeniden başlatın.",
                "sessions",
            ),
        ),
        a::CAMPAIGN_PAUSED => (
            (
                "a campaign was paused",
                "The server paused a campaign because its posts kept failing.",
                "Open the campaign to read the reason (the bot may have lost its rights in a group, or the group is gone), fix it, and resume the campaign.",
                "campaigns",
            ),
            (
                "bir kampanya duraklatıldı",
                "Gönderileri sürekli başarısız olduğu için sunucu bir kampanyayı duraklattı.",
                "Nedenini görmek için kampanyayı açın (bot bir grupta yetkisini kaybetmiş ya da grup silinmiş olabilir), sorunu giderin ve kampanyayı sürdürün.",
                "campaigns",
            ),
        ),
        a::FLOOD_WAIT => (
            (
                "Telegram asked a session to wait",
                "Telegram limited one of your sessions for sending too fast (a long flood wait). It sends nothing until the wait ends.",
                "Nothing is lost: posts go when the wait is over. If it happens often, space your campaigns out or lower how many groups one session posts to.",
                "sessions",
            ),
            (
                "Telegram bir oturumu bekletiyor",
                "Telegram çok hızlı gönderdiği için oturumlarınızdan birini sınırladı (uzun bir flood bekleme). Bekleme bitene kadar hiçbir şey göndermez.",
                "Hiçbir şey kaybolmaz: gönderiler bekleme bitince gider. Sık oluyorsa kampanyalarınızın aralığını açın ya da bir oturumun gönderdiği grup sayısını azaltın.",
                "sessions",
            ),
        ),
        a::GROUP_REMOVED => (
            (
                "a session left a group",
                "One of your sessions is no longer in a group it posted to: it was removed, or the group was deleted.",
                "Add the bot or account to the group again, or take the group out of your campaigns.",
                "groups",
            ),
            (
                "bir oturum gruptan çıkarıldı",
                "Oturumlarınızdan biri artık gönderi yaptığı bir grupta değil: çıkarıldı ya da grup silindi.",
                "Botu veya hesabı gruba yeniden ekleyin ya da grubu kampanyalarınızdan çıkarın.",
                "groups",
            ),
        ),
        a::POSTS_FAILING => (
            (
                "posts are failing",
                "Half or more of your campaign posts failed in the last hour.",
                "Open a campaign's runs to read why (the bot's rights, a group gone, a template Telegram refuses) and fix it; the campaigns keep trying meanwhile.",
                "campaigns",
            ),
            (
                "gönderiler başarısız oluyor",
                "Son bir saatte kampanya gönderilerinizin yarısı ya da fazlası başarısız oldu.",
                "Nedenini görmek için bir kampanyanın çalışmalarını açın (botun yetkileri, silinmiş bir grup, Telegram'ın reddettiği bir şablon) ve sorunu giderin; kampanyalar bu arada denemeye devam eder.",
                "campaigns",
            ),
        ),
        _ => (
            (
                "an alert",
                "The server raised an alert.",
                "Open the console to see it.",
                "home",
            ),
            (
                "bir uyarı",
                "Sunucu bir uyarı verdi.",
                "Görmek için konsolu açın.",
                "home",
            ),
        ),
    };
    match lang {
        Language::En => en,
        Language::Tr => tr,
    }
}

/// Checks preferences a person sent: only kinds that can be turned off may be muted.
pub fn prefs(
    muted: Vec<String>,
    digest: bool,
    marketing: bool,
    now: i64,
) -> AppResult<botyard_shards::records::NoticePrefsRec> {
    let mut muted = muted;
    muted.sort();
    muted.dedup();
    if let Some(k) = muted.iter().find(|k| !optional(k)) {
        return Err(AppError::Invalid {
            code: "notice.not_optional",
            field: "muted".into(),
            message: format!(
                "`{k}` cannot be turned off: only bot-status and plan-limit notices can (security and billing notices always go)"
            ),
        });
    }
    Ok(botyard_shards::records::NoticePrefsRec {
        muted,
        digest,
        marketing,
        updated_at: now,
    })
}

/// Saves an account's preferences; a change of marketing consent is audited.
pub fn save_prefs(
    store: &botyard_shards::Store,
    account: AccountId,
    r: &botyard_shards::records::NoticePrefsRec,
    now: i64,
) -> AppResult<()> {
    store.catalog_write(|c| -> AppResult<()> {
        let before = c.notice_prefs(account)?;
        c.set_notice_prefs(account, r)?;
        if before.marketing != r.marketing {
            c.audit(&botyard_shards::records::AuditRec {
                at: now,
                actor: Some(account),
                tenant: None,
                action: if r.marketing {
                    "marketing.opt_in"
                } else {
                    "marketing.opt_out"
                }
                .into(),
                detail: String::new(),
            })?;
        }
        Ok(())
    })
}

/// What every notice written now needs: the brand, where links point, and the domain of
/// Message-IDs.
#[derive(Clone, Debug)]
pub struct MailCtx {
    pub brand: Branding,
    pub domain: String,
    pub now: i64,
}

impl MailCtx {
    /// A rendered mail row to `to`.
    pub fn row(
        &self,
        notice: &Notice,
        to: &str,
        tenant: Option<TenantId>,
        lang: Language,
    ) -> AppResult<MailRec> {
        let letter = notice.letter(lang, &self.brand.base_url, &self.brand.name);
        let r = render(&letter, &self.brand, lang)?;
        Ok(queued(notice.kind().into(), to, tenant, lang, r, self.now))
    }

    /// A Telegram row to an account: the subject and the text part.
    pub fn telegram_row(
        &self,
        notice: &Notice,
        account: AccountId,
        lang: Language,
    ) -> AppResult<MailRec> {
        let mut r = self.row(
            notice,
            &format!("{TELEGRAM_PREFIX}{}", account.0),
            None,
            lang,
        )?;
        let letter = notice.letter(lang, &self.brand.base_url, &self.brand.name);
        let mut text = format!(
            "⚠️ {}\n\n{}",
            letter.subject,
            letter.paragraphs.join("\n\n")
        );
        if let Some(a) = letter.action {
            text.push_str(&format!("\n\n{}: {}", a.label, a.url));
        }
        r.text = text;
        r.html = String::new();
        Ok(r)
    }
}

pub(super) fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or("localhost");
    if host.is_empty() {
        "localhost".into()
    } else {
        host.to_string()
    }
}

/// The language an account reads, else `fallback`.
pub fn language_of(pref: &str, fallback: Language) -> Language {
    match pref {
        "tr" => Language::Tr,
        "en" => Language::En,
        _ => fallback,
    }
}

/// How a notice reaches one person.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Now,
    Digest,
    Muted,
}

/// Whether a person gets `kind` now, in their digest, or not at all.
pub fn route(kind: &str, r: &Recipient) -> Route {
    if !optional(kind) {
        Route::Now
    } else if r.prefs.muted.iter().any(|m| m == kind) {
        Route::Muted
    } else if r.prefs.digest {
        Route::Digest
    } else {
        Route::Now
    }
}

/// The rows a notice to `people` makes (digest items are held in `c`).
pub fn to_people(
    c: &mut CatalogTx<WriteTransaction>,
    ctx: &MailCtx,
    notice: &Notice,
    people: &[Recipient],
    tenant: Option<TenantId>,
    fallback: Language,
) -> AppResult<Vec<MailRec>> {
    let mut rows = Vec::new();
    for p in people {
        let lang = language_of(&p.language, fallback);
        match route(notice.kind(), p) {
            Route::Muted => {}
            Route::Now => rows.push(ctx.row(notice, &p.email, tenant, lang)?),
            Route::Digest => {
                let l = notice.letter(lang, &ctx.brand.base_url, &ctx.brand.name);
                c.hold_for_digest(
                    p.account,
                    &DigestItemRec {
                        at: ctx.now,
                        kind: notice.kind().into(),
                        tenant,
                        title: l.subject,
                        text: l.paragraphs.join(" "),
                    },
                )?;
            }
        }
    }
    Ok(rows)
}

/// The rows of a notice to a tenant's owners (billing: always sent, never held).
pub fn owner_rows(
    ctx: &MailCtx,
    notice: &Notice,
    people: &[Recipient],
    tenant: TenantId,
    fallback: Language,
) -> AppResult<Vec<MailRec>> {
    people
        .iter()
        .filter(|p| p.role == Some(Role::Owner))
        .map(|p| {
            ctx.row(
                notice,
                &p.email,
                Some(tenant),
                language_of(&p.language, fallback),
            )
        })
        .collect()
}

/// Queues `rows` in `c`.
pub fn enqueue(
    c: &mut CatalogTx<WriteTransaction>,
    ctx: &MailCtx,
    rows: Vec<MailRec>,
) -> AppResult<()> {
    for r in rows {
        if r.tenant.is_some() {
            // Tenant rows go through the tenant's or billing's own queueing.
            return Err(AppError::Internal(
                "a tenant's mail queued without its scope".into(),
            ));
        }
        c.enqueue_account_mail(r, &ctx.domain)?;
    }
    Ok(())
}

/// One mail for many notices.
pub fn digest_row(
    ctx: &MailCtx,
    to: &str,
    lang: Language,
    items: &[DigestItemRec],
) -> AppResult<MailRec> {
    let t = |en: &str, tr: &str| pick(lang, en, tr).to_string();
    let letter = Letter {
        subject: t(
            "{n} notices from the last hour",
            "Son bir saatten {n} bildirim",
        )
        .replace("{n}", &items.len().to_string()),
        preheader: items.first().map(|i| i.title.clone()).unwrap_or_default(),
        greeting: t("Hello,", "Merhaba,"),
        paragraphs: items
            .iter()
            .map(|i| {
                format!(
                    "{} {} — {}",
                    crate::clock::rfc3339(i.at).get(11..16).unwrap_or(""),
                    i.title,
                    i.text
                )
            })
            .collect(),
        action: Some(Action {
            label: t("Open the console", "Konsolu aç"),
            url: format!("{}/console", ctx.brand.base_url),
        }),
        after: vec![t(
            "You get these together because you chose an hourly digest.",
            "Saatlik özet seçtiğiniz için bunları bir arada alıyorsunuz.",
        )],
        manage: true,
        ..Letter::default()
    };
    let r = render(&letter, &ctx.brand, lang)?;
    Ok(queued("digest".into(), to, None, lang, r, ctx.now))
}

/// A laid-out mail as a new outbox row, first tried at `at`.
pub fn queued(
    kind: String,
    to: &str,
    tenant: Option<TenantId>,
    language: Language,
    r: super::letter::Rendered,
    at: i64,
) -> MailRec {
    MailRec {
        kind,
        to: to.into(),
        tenant,
        language,
        subject: r.subject,
        text: r.text,
        html: r.html,
        invoice: None,
        message_id: String::new(),
        state: MailStateRec::Queued,
        attempts: 0,
        next_at: at,
        created_at: at,
        last_error: None,
        unsubscribe: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botyard_shards::records::NoticePrefsRec;

    fn person(prefs: NoticePrefsRec) -> Recipient {
        Recipient {
            account: AccountId(1),
            email: "a@example.com".into(),
            role: Some(Role::Owner),
            language: "tr".into(),
            prefs,
        }
    }

    #[test]
    fn security_and_billing_always_go_others_follow_preferences() {
        let muted = person(NoticePrefsRec {
            muted: vec!["bot.session_revoked".into(), "billing.suspended".into()],
            ..NoticePrefsRec::default()
        });
        assert_eq!(route("bot.session_revoked", &muted), Route::Muted);
        assert_eq!(
            route("billing.suspended", &muted),
            Route::Now,
            "billing cannot be muted"
        );
        let digest = person(NoticePrefsRec {
            digest: true,
            ..NoticePrefsRec::default()
        });
        assert_eq!(route("bot.campaign_paused", &digest), Route::Digest);
        assert_eq!(route("account.password_reset", &digest), Route::Now);
    }

    #[test]
    fn every_notice_reads_in_both_languages() {
        let alert = AlertRec {
            at: 0,
            kind: crate::domain::alerts::CAMPAIGN_PAUSED.into(),
            tenant: None,
            subject: "campaign 7".into(),
            detail: "forbidden".into(),
            acked_at: None,
            acked_by: None,
        };
        let all = [
            Notice::Test,
            Notice::Invitation {
                tenant: "Çiçekçi".into(),
                role: Role::Editor,
                link: "L".into(),
                hours: 72,
            },
            Notice::PasswordReset {
                link: "L".into(),
                minutes: 30,
            },
            Notice::EmailChange {
                new_email: "n@example.com".into(),
                link: "L".into(),
                hours: 24,
            },
            Notice::EmailChanged {
                new_email: "n@example.com".into(),
            },
            Notice::NewDevice {
                when: "w".into(),
                address: "a".into(),
                agent: "g".into(),
            },
            Notice::TrialEnding {
                tenant: "T".into(),
                date: "d".into(),
            },
            Notice::PaymentReceived {
                tenant: "T".into(),
                amount: "1".into(),
                invoice: "I".into(),
            },
            Notice::RenewalFailed {
                tenant: "T".into(),
                date: "d".into(),
            },
            Notice::GraceEnding {
                tenant: "T".into(),
                date: "d".into(),
            },
            Notice::Suspended { tenant: "T".into() },
            Notice::Cancelled {
                tenant: "T".into(),
                data_until: "d".into(),
            },
            Notice::DeletionWarning {
                tenant: "T".into(),
                date: "d".into(),
            },
            Notice::BotStatus {
                tenant: "T".into(),
                alert: alert.clone(),
            },
            Notice::AdminAlert {
                tenant: Some("T".into()),
                alert,
            },
            Notice::SupportRequest {
                tenant: "T".into(),
                subject: "s".into(),
                excerpt: "e".into(),
                link: "l".into(),
            },
            Notice::SupportAnswer {
                subject: "s".into(),
                excerpt: "e".into(),
                link: "l".into(),
            },
        ];
        for n in &all {
            let en = n.letter(Language::En, "https://b.example", "Yard");
            let tr = n.letter(Language::Tr, "https://b.example", "Yard");
            assert!(
                !en.subject.is_empty() && !en.paragraphs.is_empty(),
                "{}",
                n.kind()
            );
            if n.kind() != "admin.alert" {
                // An admin alert's subject is its code and names.
                assert_ne!(en.subject, tr.subject, "{} is not translated", n.kind());
            }
            assert_ne!(
                en.paragraphs,
                tr.paragraphs,
                "{} is not translated",
                n.kind()
            );
            assert!(
                n.kind() == "admin.test" || KINDS.iter().any(|(k, _)| *k == n.kind()),
                "{} is not listed",
                n.kind()
            );
        }
    }
}
