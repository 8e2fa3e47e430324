//! Stored record layouts. These are the file format, kept apart from the API types: changing
//! one means a new `VERSION` and an `upgrade` arm, never an edit in place.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, ChatId, FamilyId, PlanId, SecretId, TenantId};
use crate::record::Record;

/// A member's role inside one tenant: an owner runs it (sessions, members, keys, settings),
/// an editor manages its content and campaigns, a viewer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Owner,
    /// Was `Member` (same stored value): members only ever read.
    Viewer,
    Editor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TenantStatus {
    Active,
    Suspended,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRec {
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: i64,
    pub password_changed_at: i64,
}
impl Record for AccountRec {
    const TAG: u8 = 1;
    const VERSION: u8 = 1;
    const NAME: &'static str = "account";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRec {
    pub name: String,
    pub status: TenantStatus,
    pub plan: Option<PlanId>,
    pub created_at: i64,
    pub updated_at: i64,
}
impl Record for TenantRec {
    const TAG: u8 = 2;
    const VERSION: u8 = 1;
    const NAME: &'static str = "tenant";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    pub sessions: u32,
    pub groups: u32,
    pub templates: u32,
    pub campaigns: u32,
    pub sends_per_day: u32,
    pub retention_days: u32,
    pub worker_memory_mb: u32,
    /// Largest media file a template may carry, in MiB.
    pub media_mb: u32,
    /// Incoming Telegram events per second the tenant's worker may feed the store; the rest
    /// are dropped and counted.
    pub events_per_sec: u32,
    /// Shortest time between two runs of one campaign, in minutes, whatever the schedule.
    pub min_interval_mins: u32,
}

/// What a plan grants by default where an older record did not say.
pub const DEFAULT_MEDIA_MB: u32 = 10;
pub const DEFAULT_EVENTS_PER_SEC: u32 = 200;
pub const DEFAULT_MIN_INTERVAL_MINS: u32 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRec {
    pub name: String,
    pub limits: PlanLimits,
    pub created_at: i64,
    pub updated_at: i64,
}
impl Record for PlanRec {
    const TAG: u8 = 3;
    const VERSION: u8 = 3;
    const NAME: &'static str = "plan";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self, crate::CodecError> {
        // v1 had no media size, v2 no event budget or minimum interval. postcard writes fields
        // in order, so v2's limits read as v1's followed by the media size.
        #[derive(Deserialize)]
        struct LimitsV1 {
            sessions: u32,
            groups: u32,
            templates: u32,
            campaigns: u32,
            sends_per_day: u32,
            retention_days: u32,
            worker_memory_mb: u32,
        }
        #[derive(Deserialize)]
        struct LimitsV2 {
            v1: LimitsV1,
            media_mb: u32,
        }
        #[derive(Deserialize)]
        struct PlanV<L> {
            name: String,
            limits: L,
            created_at: i64,
            updated_at: i64,
        }
        fn decode<T: for<'a> Deserialize<'a>>(body: &[u8]) -> Result<T, crate::CodecError> {
            postcard::from_bytes(body).map_err(|e| crate::CodecError::Decode {
                record: PlanRec::NAME,
                reason: e.to_string(),
            })
        }
        let p: PlanV<LimitsV2> = match version {
            1 => {
                let p: PlanV<LimitsV1> = decode(body)?;
                PlanV {
                    name: p.name,
                    limits: LimitsV2 {
                        v1: p.limits,
                        media_mb: DEFAULT_MEDIA_MB,
                    },
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                }
            }
            2 => decode(body)?,
            _ => {
                return Err(crate::CodecError::UnknownVersion {
                    record: Self::NAME,
                    version,
                });
            }
        };
        let l = p.limits.v1;
        Ok(PlanRec {
            name: p.name,
            limits: PlanLimits {
                sessions: l.sessions,
                groups: l.groups,
                templates: l.templates,
                campaigns: l.campaigns,
                sends_per_day: l.sends_per_day,
                retention_days: l.retention_days,
                worker_memory_mb: l.worker_memory_mb,
                media_mb: p.limits.media_mb,
                events_per_sec: DEFAULT_EVENTS_PER_SEC,
                min_interval_mins: DEFAULT_MIN_INTERVAL_MINS,
            },
            created_at: p.created_at,
            updated_at: p.updated_at,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRec {
    pub family: FamilyId,
    pub account: AccountId,
    pub expires_at: i64,
    /// Set when the token was exchanged; presenting it again is reuse.
    pub used: bool,
}
impl Record for RefreshRec {
    const TAG: u8 = 4;
    const VERSION: u8 = 1;
    const NAME: &'static str = "refresh_token";
}

/// How an account wants to read the console.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPrefsRec {
    /// `en` or `tr`; empty until chosen (the browser's `Accept-Language` decides).
    pub language: String,
    /// An IANA zone name; empty for UTC.
    pub time_zone: String,
}
impl Record for AccountPrefsRec {
    const TAG: u8 = 23;
    const VERSION: u8 = 1;
    const NAME: &'static str = "account_prefs";
}

/// A login from a browser (the console): its cookie token is stored as its SHA-256 only,
/// and it lives as long as its family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSessionRec {
    pub family: FamilyId,
    pub account: AccountId,
    pub created_at: i64,
    /// The browser's `User-Agent`, cut short, to recognise the session in a list.
    pub user_agent: String,
    pub ip: String,
}
impl Record for BrowserSessionRec {
    const TAG: u8 = 22;
    const VERSION: u8 = 1;
    const NAME: &'static str = "browser_session";
}

/// What a plan costs and how it is sold. Money is integer minor units (Stars are whole).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPriceRec {
    /// Telegram Stars per 30 days.
    pub stars: u32,
    /// The price for a manual payment, in minor units of `currency` (kuruş for TRY); 0: none.
    pub minor: u64,
    /// ISO 4217 code of `minor` (`TRY`, `EUR`…); empty without a manual price.
    pub currency: String,
    /// Days of free trial a new tenant gets on this plan; 0: none.
    pub trial_days: u32,
    /// Whether tenants may choose it themselves.
    pub offered: bool,
    pub updated_at: i64,
}
impl Record for PlanPriceRec {
    const TAG: u8 = 25;
    const VERSION: u8 = 1;
    const NAME: &'static str = "plan price";
}

/// Where a tenant's subscription stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubStateRec {
    Trialing,
    Active,
    /// The period ended unpaid: everything works until `grace_until`.
    PastDue,
    /// The grace ended: workers stopped, campaigns paused, data kept; the tenant can pay.
    Suspended,
    Cancelled,
}

/// A tenant's one subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRec {
    pub plan: PlanId,
    pub state: SubStateRec,
    /// The period paid (or the trial): `[start, end)`, Unix seconds.
    pub period_start: i64,
    pub period_end: i64,
    /// Stars per 30 days, fixed when the period began: a plan's new price applies at renewal.
    pub stars: u32,
    /// Ends at `period_end` rather than renewing.
    pub cancel_at_period_end: bool,
    /// A downgrade, taken at the next renewal.
    pub next_plan: Option<PlanId>,
    /// While past due: when the grace ends.
    pub grace_until: Option<i64>,
    /// When the renewal job looks at it next (kept in an index with the record).
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}
impl Record for SubscriptionRec {
    const TAG: u8 = 26;
    const VERSION: u8 = 1;
    const NAME: &'static str = "subscription";
}

/// One step of a subscription's life, kept for the tenant to read and for notices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubEventRec {
    pub at: i64,
    pub from: Option<SubStateRec>,
    pub to: SubStateRec,
    pub plan: PlanId,
    /// Why: `trial_started`, `payment`, `renewal_due`, `grace_ended`, …
    pub reason: String,
}
impl Record for SubEventRec {
    const TAG: u8 = 27;
    const VERSION: u8 = 1;
    const NAME: &'static str = "subscription event";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentProviderRec {
    /// Telegram Stars through the platform bot.
    Stars,
    /// A bank transfer recorded by an admin.
    Manual,
}

/// Who paid in Telegram: what it takes to refund them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerRec {
    pub user_id: i64,
    pub access_hash: i64,
}

/// A payment given back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRec {
    pub at: i64,
    pub by: Option<AccountId>,
    /// The credit note issued for it (`CN-2026-000001`).
    pub credit_note: String,
}

/// A payment credited to a tenant's subscription; unique by its provider's charge id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRec {
    pub tenant: TenantId,
    pub provider: PaymentProviderRec,
    /// Minor units of `currency` (whole Stars for `XTR`).
    pub amount: u64,
    pub currency: String,
    /// The provider's id of the charge (Telegram's charge id; for a transfer, its reference).
    pub charge_id: String,
    pub plan: PlanId,
    /// Days of service it bought.
    pub days: u32,
    pub paid_at: i64,
    pub recorded_at: i64,
    pub recorded_by: Option<AccountId>,
    /// The Telegram user who paid in Stars.
    pub payer: Option<PayerRec>,
    /// Set once it was given back.
    pub refund: Option<RefundRec>,
    /// Why it was not credited and is due back (its tenant was deleted), for the admin.
    pub flag: Option<String>,
}
impl Record for PaymentRec {
    const TAG: u8 = 28;
    const VERSION: u8 = 2;
    const NAME: &'static str = "payment";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self, crate::error::CodecError> {
        #[derive(Deserialize)]
        struct V1 {
            tenant: TenantId,
            provider: PaymentProviderRec,
            amount: u64,
            currency: String,
            charge_id: String,
            plan: PlanId,
            days: u32,
            paid_at: i64,
            recorded_at: i64,
            recorded_by: Option<AccountId>,
        }
        let v: V1 = crate::record::decode_old(Self::NAME, version, 1, body)?;
        Ok(PaymentRec {
            tenant: v.tenant,
            provider: v.provider,
            amount: v.amount,
            currency: v.currency,
            charge_id: v.charge_id,
            plan: v.plan,
            days: v.days,
            paid_at: v.paid_at,
            recorded_at: v.recorded_at,
            recorded_by: v.recorded_by,
            payer: None,
            refund: None,
            flag: None,
        })
    }
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineRec {
    pub description: String,
    pub quantity: u32,
    /// Gross (tax included), minor units.
    pub amount: u64,
}

/// An invoice, or a credit note giving a payment back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceKindRec {
    Invoice,
    CreditNote,
}

/// An invoice for a payment, numbered without gaps per reseller and year (`2026-000001`;
/// credit notes `CN-2026-000001`): the number is taken from a counter in the same transaction
/// that stores the invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRec {
    pub number: String,
    pub tenant: TenantId,
    pub payment: u64,
    pub issued_at: i64,
    pub currency: String,
    pub lines: Vec<InvoiceLineRec>,
    /// Tax rate in basis points (2000 = 20 %).
    pub tax_rate_bp: u32,
    /// Minor units: `net + tax = total`, the total being what was paid.
    pub net: u64,
    pub tax: u64,
    pub total: u64,
    /// The seller and the buyer as they were named when it was issued.
    pub seller: String,
    pub buyer: String,
    /// The payment's reference (a transfer's, or Telegram's charge id).
    pub reference: String,
    pub kind: InvoiceKindRec,
    /// A credit note: the invoice it corrects.
    pub corrects: Option<String>,
    /// The seller's and the buyer's legal details, a line each (address, tax office and
    /// number), as they were when it was issued.
    pub seller_lines: Vec<String>,
    pub buyer_lines: Vec<String>,
    /// The language it is written in.
    pub language: Language,
}
impl Record for InvoiceRec {
    const TAG: u8 = 29;
    const VERSION: u8 = 2;
    const NAME: &'static str = "invoice";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self, crate::error::CodecError> {
        #[derive(Deserialize)]
        struct V1 {
            number: String,
            tenant: TenantId,
            payment: u64,
            issued_at: i64,
            currency: String,
            lines: Vec<InvoiceLineRec>,
            tax_rate_bp: u32,
            net: u64,
            tax: u64,
            total: u64,
            seller: String,
            buyer: String,
            reference: String,
        }
        let v: V1 = crate::record::decode_old(Self::NAME, version, 1, body)?;
        Ok(InvoiceRec {
            number: v.number,
            tenant: v.tenant,
            payment: v.payment,
            issued_at: v.issued_at,
            currency: v.currency,
            lines: v.lines,
            tax_rate_bp: v.tax_rate_bp,
            net: v.net,
            tax: v.tax,
            total: v.total,
            seller: v.seller,
            buyer: v.buyer,
            reference: v.reference,
            kind: InvoiceKindRec::Invoice,
            corrects: None,
            seller_lines: Vec::new(),
            buyer_lines: Vec::new(),
            language: Language::En,
        })
    }
}

/// A tenant's details for its invoices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingProfileRec {
    /// The name invoices are made out to; the tenant's name when empty.
    pub legal_name: String,
    pub address: String,
    pub tax_office: String,
    pub tax_number: String,
    pub email: String,
    pub updated_at: i64,
}
impl Record for BillingProfileRec {
    const TAG: u8 = 30;
    const VERSION: u8 = 1;
    const NAME: &'static str = "billing profile";
}

/// Where a mail of the outbox stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailStateRec {
    /// Waiting for its next attempt (`next_at`).
    Queued,
    /// The server took it.
    Sent { at: i64 },
    /// Refused for good (a 5xx), or out of retries: the server's answer.
    Failed { at: i64, reason: String },
}

/// A mail, written in the transaction of what causes it and sent afterwards. Its `message_id`
/// is fixed when it is written, so a crash between sending and marking it sent makes a second
/// delivery a receiver can recognise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRec {
    /// What it is (`account.invitation`, `billing.payment_received`, …): the notice kind.
    pub kind: String,
    /// An email address, or `telegram:<account id>` for a message through the platform bot
    /// to the Telegram user that account linked.
    pub to: String,
    pub tenant: Option<TenantId>,
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An invoice or credit note whose PDF goes with it.
    pub invoice: Option<u64>,
    /// `<…@…>`, set when it is written.
    pub message_id: String,
    pub state: MailStateRec,
    pub attempts: u32,
    /// When it is tried next, while queued.
    pub next_at: i64,
    pub created_at: i64,
    /// The last temporary failure, while queued.
    pub last_error: Option<String>,
    /// A mail sent to a list (marketing): the one-click unsubscribe URL for its
    /// `List-Unsubscribe` header (RFC 8058).
    pub unsubscribe: Option<String>,
}
impl Record for MailRec {
    const TAG: u8 = 31;
    const VERSION: u8 = 2;
    const NAME: &'static str = "mail";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self, crate::error::CodecError> {
        #[derive(Deserialize)]
        struct V1 {
            kind: String,
            to: String,
            tenant: Option<TenantId>,
            language: Language,
            subject: String,
            text: String,
            html: String,
            invoice: Option<u64>,
            message_id: String,
            state: MailStateRec,
            attempts: u32,
            next_at: i64,
            created_at: i64,
            last_error: Option<String>,
        }
        let v: V1 = crate::record::decode_old(Self::NAME, version, 1, body)?;
        Ok(MailRec {
            kind: v.kind,
            to: v.to,
            tenant: v.tenant,
            language: v.language,
            subject: v.subject,
            text: v.text,
            html: v.html,
            invoice: v.invoice,
            message_id: v.message_id,
            state: v.state,
            attempts: v.attempts,
            next_at: v.next_at,
            created_at: v.created_at,
            last_error: v.last_error,
            unsubscribe: None,
        })
    }
}

/// Something wrong that a person should see and acknowledge: a quarantined worker, a revoked
/// session, a campaign paused by the server, a disk nearly full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRec {
    pub at: i64,
    /// The stable code of what happened (`worker.quarantined`, `session.revoked`, …).
    pub kind: String,
    pub tenant: Option<TenantId>,
    /// What it is about within the tenant (`session 4`, `campaign 7`, `shard 1`): one open
    /// alert per kind, tenant and subject.
    pub subject: String,
    pub detail: String,
    pub acked_at: Option<i64>,
    pub acked_by: Option<AccountId>,
}
impl Record for AlertRec {
    const TAG: u8 = 24;
    const VERSION: u8 = 1;
    const NAME: &'static str = "alert";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyRec {
    pub account: AccountId,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}
impl Record for FamilyRec {
    const TAG: u8 = 5;
    const VERSION: u8 = 1;
    const NAME: &'static str = "token_family";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRec {
    pub tenant: TenantId,
    pub role: Role,
    pub name: String,
    /// First characters of the key, shown so people can tell keys apart.
    pub prefix: String,
    pub hash: [u8; 32],
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
impl Record for ApiKeyRec {
    const TAG: u8 = 6;
    const VERSION: u8 = 1;
    const NAME: &'static str = "api_key";
}

/// An invitation to join a tenant with a role, redeemed once with its secret link token
/// (stored as its SHA-256 only) by whoever holds the email's account or creates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRec {
    pub tenant: TenantId,
    pub email: String,
    pub role: Role,
    pub hash: [u8; 32],
    pub created_by: Option<AccountId>,
    pub created_at: i64,
    pub expires_at: i64,
}
impl Record for InvitationRec {
    const TAG: u8 = 21;
    const VERSION: u8 = 1;
    const NAME: &'static str = "invitation";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRec {
    pub at: i64,
    pub actor: Option<AccountId>,
    pub tenant: Option<TenantId>,
    pub action: String,
    pub detail: String,
}
impl Record for AuditRec {
    const TAG: u8 = 7;
    const VERSION: u8 = 1;
    const NAME: &'static str = "audit";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Language {
    En,
    Tr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParseMode {
    Markdown,
    Html,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendDefaults {
    pub parse_mode: ParseMode,
    pub silent: bool,
    pub disable_link_preview: bool,
    pub protect_content: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRec {
    pub time_zone: String,
    pub language: Language,
    pub display_name: String,
    pub send: SendDefaults,
    pub updated_at: i64,
}
impl Record for SettingsRec {
    const TAG: u8 = 8;
    const VERSION: u8 = 1;
    const NAME: &'static str = "tenant_settings";
}

impl SettingsRec {
    /// What a tenant has before anyone saved settings.
    pub fn defaults(display_name: &str) -> Self {
        SettingsRec {
            time_zone: "UTC".into(),
            language: Language::En,
            display_name: display_name.into(),
            send: SendDefaults {
                parse_mode: ParseMode::Markdown,
                silent: false,
                disable_link_preview: false,
                protect_content: false,
            },
            updated_at: 0,
        }
    }
}

/// A Telegram user seen in a tenant's chats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TgUserRec {
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub messages: u64,
}
impl Record for TgUserRec {
    const TAG: u8 = 9;
    const VERSION: u8 = 1;
    const NAME: &'static str = "telegram_user";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKindRec {
    Sim,
    Bot,
    User,
}

/// A Telegram session of a tenant. Its secret material (token, auth key, simulator setup) is
/// sealed in `tenant_secrets` under the same id, never here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRec {
    pub label: String,
    pub kind: SessionKindRec,
    pub created_at: i64,
}
impl Record for SessionRec {
    const TAG: u8 = 10;
    const VERSION: u8 = 1;
    const NAME: &'static str = "session";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupKindRec {
    Group,
    Supergroup,
    Channel,
}

/// A chat one of the tenant's sessions is in, as last discovered from its dialogs, plus the
/// tenant's own choices about it (automation on or off, tags).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRec {
    /// The session that posts here; its report gives the facts below.
    pub session: u64,
    pub title: String,
    pub kind: GroupKindRec,
    pub members: u32,
    pub can_post: bool,
    pub is_admin: bool,
    pub slow_mode_secs: u32,
    /// Still among the session's dialogs at the last refresh.
    pub present: bool,
    /// Chosen by the tenant for automation.
    pub enabled: bool,
    pub tags: Vec<String>,
    pub discovered_at: i64,
    pub updated_at: i64,
    /// Every session that lists this chat; it is gone only when none does.
    pub seen_by: Vec<u64>,
    /// What each session that is an admin here may do (the rules check it).
    pub admin_of: Vec<AdminOfRec>,
}

/// A session that is an admin of a chat, and its rights there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOfRec {
    pub session: u64,
    pub delete_messages: bool,
    pub ban_users: bool,
}

impl GroupRec {
    /// Whether `session` is an admin here, as its last listing said.
    pub fn is_admin_for(&self, session: u64) -> bool {
        self.admin_of.iter().any(|a| a.session == session)
    }

    /// (delete messages, ban users) for `session`.
    pub fn rights_of(&self, session: u64) -> (bool, bool) {
        self.admin_of
            .iter()
            .find(|a| a.session == session)
            .map_or((false, false), |a| (a.delete_messages, a.ban_users))
    }
}

/// Version 2 of [`GroupRec`], before `admin_of`.
#[derive(Deserialize)]
struct GroupRecV2 {
    session: u64,
    title: String,
    kind: GroupKindRec,
    members: u32,
    can_post: bool,
    is_admin: bool,
    slow_mode_secs: u32,
    present: bool,
    enabled: bool,
    tags: Vec<String>,
    discovered_at: i64,
    updated_at: i64,
    seen_by: Vec<u64>,
}

/// Version 1 of [`GroupRec`], before `seen_by`.
#[derive(Deserialize)]
struct GroupRecV1 {
    session: u64,
    title: String,
    kind: GroupKindRec,
    members: u32,
    can_post: bool,
    is_admin: bool,
    slow_mode_secs: u32,
    present: bool,
    enabled: bool,
    tags: Vec<String>,
    discovered_at: i64,
    updated_at: i64,
}

impl Record for GroupRec {
    const TAG: u8 = 11;
    const VERSION: u8 = 3;
    const NAME: &'static str = "group";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self, crate::CodecError> {
        // Rights are learned again at the next listing of the session's dialogs.
        if version == 2 {
            let v2: GroupRecV2 = crate::record::decode_old(Self::NAME, version, 2, body)?;
            return Ok(GroupRec {
                session: v2.session,
                title: v2.title,
                kind: v2.kind,
                members: v2.members,
                can_post: v2.can_post,
                is_admin: v2.is_admin,
                slow_mode_secs: v2.slow_mode_secs,
                present: v2.present,
                enabled: v2.enabled,
                tags: v2.tags,
                discovered_at: v2.discovered_at,
                updated_at: v2.updated_at,
                seen_by: v2.seen_by,
                admin_of: Vec::new(),
            });
        }
        let v1: GroupRecV1 = crate::record::decode_old(Self::NAME, version, 1, body)?;
        Ok(GroupRec {
            admin_of: Vec::new(),
            seen_by: if v1.present {
                vec![v1.session]
            } else {
                Vec::new()
            },
            session: v1.session,
            title: v1.title,
            kind: v1.kind,
            members: v1.members,
            can_post: v1.can_post,
            is_admin: v1.is_admin,
            slow_mode_secs: v1.slow_mode_secs,
            present: v1.present,
            enabled: v1.enabled,
            tags: v1.tags,
            discovered_at: v1.discovered_at,
            updated_at: v1.updated_at,
        })
    }
}

/// How a template's body is marked up, as Telegram renders it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateFormatRec {
    Markdown,
    Html,
}

/// An inline URL button under a post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonRec {
    pub label: String,
    pub url: String,
}

/// A message template: its name and which version is the latest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRec {
    pub name: String,
    pub latest: u32,
    pub created_at: i64,
    pub updated_at: i64,
}
impl Record for TemplateRec {
    const TAG: u8 = 12;
    const VERSION: u8 = 1;
    const NAME: &'static str = "template";
}

/// One saved version of a template; an edit adds a version and never changes one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateVersionRec {
    pub body: String,
    pub format: TemplateFormatRec,
    /// Rows of buttons.
    pub buttons: Vec<Vec<ButtonRec>>,
    pub created_at: i64,
    /// The account that saved it (none for API keys and the system).
    pub author: Option<u64>,
    /// The photo, video or document sent with the text (which is then its caption).
    pub media: Option<crate::ids::MediaId>,
}
impl Record for TemplateVersionRec {
    const TAG: u8 = 13;
    const VERSION: u8 = 1;
    const NAME: &'static str = "template_version";
}

/// A tenant's own template variables, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariablesRec {
    pub vars: Vec<(String, String)>,
    pub updated_at: i64,
}
impl Record for VariablesRec {
    const TAG: u8 = 14;
    const VERSION: u8 = 1;
    const NAME: &'static str = "tenant_variables";
}

/// What kind of file a template carries, as Telegram sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaKindRec {
    Photo,
    Video,
    Document,
}

/// A file uploaded into the tenant's media folder (stored as `m<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRec {
    pub kind: MediaKindRec,
    /// Sniffed from the bytes, not taken from the uploader.
    pub mime: String,
    pub size: u64,
    /// The uploader's file name, shown to recipients of a document.
    pub name: String,
    pub created_at: i64,
}
impl Record for MediaRec {
    const TAG: u8 = 15;
    const VERSION: u8 = 1;
    const NAME: &'static str = "media";
}

/// When a campaign runs, read in the tenant's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleRec {
    /// Once, at a civil date-time (`2026-12-01T09:00`).
    Once { at: String },
    /// Every so many minutes.
    Every { minutes: u32 },
    /// A five-field cron expression.
    Cron { expr: String },
}

/// Hours of the day (minutes since midnight, end exclusive) and weekdays (bit 0 = Monday)
/// in which a campaign may post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRec {
    pub start_min: u16,
    pub end_min: u16,
    pub days: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignStateRec {
    /// Saved, never activated.
    Draft,
    Active,
    /// By the tenant (`code` "campaign.paused") or automatically, with the reason.
    Paused {
        code: String,
        reason: String,
    },
    /// A one-off that ran, or past its end date.
    Finished,
}

/// A campaign: which template goes to which groups, from which session, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRec {
    pub name: String,
    pub template: crate::ids::TemplateId,
    /// A pinned template version; none means the latest at send time.
    pub version: Option<u32>,
    pub chats: Vec<ChatId>,
    /// Groups carrying any of these tags, resolved at each run.
    pub tags: Vec<String>,
    pub session: SecretId,
    pub schedule: ScheduleRec,
    pub window: Option<WindowRec>,
    /// Civil dates (`2026-12-01`), inclusive, in the tenant's zone.
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    /// Each run starts up to this many seconds late, at random.
    pub jitter_secs: u32,
    /// Delete the campaign's previous post in a group before posting again.
    pub delete_previous: bool,
    pub pin: bool,
    pub state: CampaignStateRec,
    /// When it was last activated (where "every N minutes" counts from).
    pub anchor: i64,
    /// Unix seconds of the next run, jitter included; none when not scheduled.
    pub next_run: Option<i64>,
    /// Runs so far (the last run's number).
    pub runs: u32,
    /// The message each group got from the last run, for auto-delete.
    pub last_posts: Vec<(ChatId, i64)>,
    pub created_at: i64,
    pub updated_at: i64,
}
impl Record for CampaignRec {
    const TAG: u8 = 16;
    const VERSION: u8 = 1;
    const NAME: &'static str = "campaign";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatusRec {
    /// Deliveries are still pending.
    Running,
    Done,
    /// Not run at all (missed while the server was down, outside the window, over the day's
    /// sends …).
    Skipped {
        code: String,
    },
}

/// One run of a campaign, with its tallies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRec {
    pub due_at: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub status: RunStatusRec,
    /// The template and version it sent, and the session that sent it, as they were when it
    /// started (a later edit of the campaign does not change what a resend posts).
    pub template: crate::ids::TemplateId,
    pub version: u32,
    pub session: SecretId,
    /// Started by "run now" rather than the schedule.
    pub manual: bool,
    pub targets: u32,
    pub sent: u32,
    pub failed: u32,
    pub skipped: u32,
}
impl Record for RunRec {
    const TAG: u8 = 17;
    const VERSION: u8 = 1;
    const NAME: &'static str = "campaign_run";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStateRec {
    /// Written before the send is handed to the worker.
    Pending,
    /// `message_id` is 0 when Telegram only confirmed the random id had been used.
    Sent {
        message_id: i64,
        at_ms: i64,
    },
    Failed {
        code: String,
        at_ms: i64,
    },
    Skipped {
        code: String,
    },
}

/// One post of one run to one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRec {
    pub state: DeliveryStateRec,
    pub created_at: i64,
}
impl Record for DeliveryRec {
    const TAG: u8 = 18;
    const VERSION: u8 = 1;
    const NAME: &'static str = "delivery";
}

/// The Telegram user an account is linked to (by `/start <code>` with the platform bot), so
/// the platform bot can write to them: test posts, later notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramLinkRec {
    pub user_id: i64,
    /// What the platform bot needs to write to the user.
    pub access_hash: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub linked_at: i64,
}
impl Record for TelegramLinkRec {
    const TAG: u8 = 19;
    const VERSION: u8 = 1;
    const NAME: &'static str = "telegram_link";
}

/// A statistics report: the summary of a period as an HTML document with its charts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRec {
    /// The period, in the tenant's local days, both included.
    pub from: crate::ids::Day,
    pub to: crate::ids::Day,
    pub created_at: i64,
    /// Made by the schedule, or asked for.
    pub scheduled: bool,
    pub html: String,
}
impl Record for ReportRec {
    const TAG: u8 = 20;
    const VERSION: u8 = 1;
    const NAME: &'static str = "report";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{decode, encode};

    /// A value written by an older layout: `[tag, version, postcard body]`.
    fn old<T: Serialize>(tag: u8, version: u8, body: &T) -> Vec<u8> {
        let mut out = vec![tag, version];
        out.extend(postcard::to_allocvec(body).unwrap());
        out
    }

    #[test]
    fn payments_and_invoices_of_the_first_layout_still_read() {
        // v1 of a payment: no payer, refund or flag.
        let v1 = (
            TenantId(4),
            PaymentProviderRec::Manual,
            49_900u64,
            "TRY".to_string(),
            "4:EFT-1".to_string(),
            PlanId(2),
            30u32,
            1_700_000_000i64,
            1_700_000_100i64,
            Some(AccountId(1)),
        );
        let p: PaymentRec = decode(&old(PaymentRec::TAG, 1, &v1)).unwrap();
        assert_eq!(
            (
                p.tenant,
                p.amount,
                p.charge_id.as_str(),
                &p.payer,
                &p.refund,
                &p.flag
            ),
            (TenantId(4), 49_900, "4:EFT-1", &None, &None, &None)
        );
        assert_eq!(decode::<PaymentRec>(&encode(&p).unwrap()).unwrap(), p);
        // v1 of an invoice: an invoice, in English, without legal lines.
        let v1 = (
            "2026-000001".to_string(),
            TenantId(4),
            7u64,
            1_700_000_100i64,
            "TRY".to_string(),
            vec![InvoiceLineRec {
                description: "Esnaf · 30 days".into(),
                quantity: 1,
                amount: 49_900,
            }],
            2000u32,
            41_583u64,
            8_317u64,
            49_900u64,
            "botyard".to_string(),
            "Ece".to_string(),
            "EFT-1".to_string(),
        );
        let i: InvoiceRec = decode(&old(InvoiceRec::TAG, 1, &v1)).unwrap();
        assert_eq!(
            (i.number.as_str(), i.total, i.kind, i.language, i.corrects),
            (
                "2026-000001",
                49_900,
                InvoiceKindRec::Invoice,
                Language::En,
                None
            )
        );
        // A layout this build does not know is an error, not a guess.
        assert!(decode::<InvoiceRec>(&old(InvoiceRec::TAG, 9, &v1)).is_err());
    }
}

/// How an account wants its notices: kinds turned off (security and billing notices cannot
/// be), an hourly digest instead of one mail each, and consent to the reseller's news.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticePrefsRec {
    /// Notice kinds (`bot.session_revoked`, …) not to send.
    pub muted: Vec<String>,
    pub digest: bool,
    /// Opted in to marketing mail.
    pub marketing: bool,
    pub updated_at: i64,
}
impl Record for NoticePrefsRec {
    const TAG: u8 = 32;
    const VERSION: u8 = 1;
    const NAME: &'static str = "notice_prefs";
}

/// A notice held for an account's hourly digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestItemRec {
    pub at: i64,
    pub kind: String,
    pub tenant: Option<TenantId>,
    /// One line: the notice's subject.
    pub title: String,
    /// What it says, as plain text.
    pub text: String,
}
impl Record for DigestItemRec {
    const TAG: u8 = 33;
    const VERSION: u8 = 1;
    const NAME: &'static str = "digest_item";
}

/// What a one-time link sent by mail does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountTokenKind {
    /// Set a new password.
    PasswordReset,
    /// Make `new_email` the account's address (the link went to it).
    EmailChange { new_email: String },
}

/// A one-time link's token, stored by its SHA-256 only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTokenRec {
    pub account: AccountId,
    pub kind: AccountTokenKind,
    pub created_at: i64,
    pub expires_at: i64,
}
impl Record for AccountTokenRec {
    const TAG: u8 = 34;
    const VERSION: u8 = 1;
    const NAME: &'static str = "account_token";
}

/// Which tenants' owners a marketing mail goes to (each set filter must match).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailingFilterRec {
    pub plan: Option<PlanId>,
    pub status: Option<TenantStatus>,
    pub language: Option<Language>,
}

/// A marketing mail the reseller writes: a draft until sent, then the range of outbox rows it
/// made (its progress is theirs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailingRec {
    pub subject: String,
    /// The body as the reseller wrote it (HTML), with `{tenant.name}`, `{plan.name}`, `{email}`.
    pub html: String,
    pub filter: MailingFilterRec,
    pub created_by: AccountId,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// The outbox rows it made, `first..=last`, and how many.
    pub first_mail: Option<u64>,
    pub last_mail: Option<u64>,
    pub recipients: u32,
}
impl Record for MailingRec {
    const TAG: u8 = 35;
    const VERSION: u8 = 1;
    const NAME: &'static str = "mailing";
}

/// A beta invite code: sign-ups need one while the appliance is in beta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteCodeRec {
    /// What the reseller noted (who it was for).
    pub note: String,
    pub max_uses: u32,
    pub uses: u32,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<AccountId>,
    pub disabled: bool,
}
impl Record for InviteCodeRec {
    const TAG: u8 = 36;
    const VERSION: u8 = 1;
    const NAME: &'static str = "invite_code";
}

/// How a tenant signed itself up through the platform bot: who, with which invite code, and
/// which tenant's referral link brought it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupRec {
    pub at: i64,
    pub account: AccountId,
    pub telegram_user: i64,
    pub invite: Option<String>,
    pub referrer: Option<TenantId>,
    /// Days given to the referrer when this tenant first paid (0 until then).
    pub reward_days: u32,
    pub rewarded_at: Option<i64>,
}
impl Record for SignupRec {
    const TAG: u8 = 37;
    const VERSION: u8 = 1;
    const NAME: &'static str = "signup";
}

/// A support request, or feedback sent from the Mini-App.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketKindRec {
    Support,
    Feedback,
}

/// Where a support request stands: `Open` waits for the reseller, `Waiting` for the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStateRec {
    Open,
    Waiting,
    Resolved,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRec {
    pub tenant: TenantId,
    pub kind: TicketKindRec,
    pub subject: String,
    pub state: TicketStateRec,
    pub opened_by: Option<AccountId>,
    /// The tenant's context when it was opened (plan, sessions, the screen it came from).
    pub context: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub messages: u32,
}
impl Record for TicketRec {
    const TAG: u8 = 38;
    const VERSION: u8 = 1;
    const NAME: &'static str = "ticket";
}

/// A file attached to a support message (its bytes are kept apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRec {
    pub name: String,
    pub mime: String,
    pub size: u32,
}

/// One message of a support request, kept as written: the request's audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMessageRec {
    pub at: i64,
    pub author: Option<AccountId>,
    /// Written by the reseller's staff rather than the tenant.
    pub staff: bool,
    pub body: String,
    pub attachment: Option<AttachmentRec>,
}
impl Record for TicketMessageRec {
    const TAG: u8 = 39;
    const VERSION: u8 = 1;
    const NAME: &'static str = "ticket_message";
}

/// What a rule does to a member, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PenaltyRec {
    Delete,
    Warn,
    Mute { secs: u32 },
    Kick,
}

/// Warnings a rule says, and what the `limit`-th does (0: never escalates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarnRec {
    pub limit: u32,
    pub then: PenaltyRec,
}

/// A rule's kind and settings. Replies name the tenant's templates (rendered when the rules
/// go to the worker).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleKindRec {
    Welcome {
        template: u64,
        delete_after_secs: u32,
        gap_secs: u32,
    },
    Goodbye {
        template: u64,
        delete_after_secs: u32,
    },
    AutoReply {
        keywords: Vec<String>,
        pattern: Option<String>,
        template: u64,
        chat_cooldown_secs: u32,
        user_cooldown_secs: u32,
    },
    AntiFlood {
        messages: u32,
        window_secs: u32,
        penalty: PenaltyRec,
        warn: Option<WarnRec>,
    },
    Filter {
        links: bool,
        invites: bool,
        channel_forwards: bool,
        words: Vec<String>,
        warn: Option<WarnRec>,
    },
    Captcha {
        /// None: the built-in question in the tenant's language.
        template: Option<u64>,
        timeout_secs: u32,
    },
}

/// A group automation rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRec {
    pub name: String,
    /// The session that acts.
    pub session: u64,
    /// Chosen groups …
    pub chats: Vec<i64>,
    /// … and every group with this tag.
    pub tag: Option<String>,
    pub dry_run: bool,
    pub enabled: bool,
    /// Why Telegram refused its last action, when that paused it.
    pub paused: Option<String>,
    pub allow_users: Vec<i64>,
    pub kind: RuleKindRec,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Record for RuleRec {
    const TAG: u8 = 40;
    const VERSION: u8 = 1;
    const NAME: &'static str = "rule";
}

/// What a rule did (or, in a dry run, would have done).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHitRec {
    pub rule: u64,
    pub chat: i64,
    pub user: Option<i64>,
    pub message: Option<i64>,
    /// `welcomed`, `replied`, `deleted`, `warned`, `muted`, `kicked`, `captcha_sent`, …
    pub kind: String,
    pub dry_run: bool,
    pub at: i64,
    pub detail: String,
}

impl Record for RuleHitRec {
    const TAG: u8 = 41;
    const VERSION: u8 = 1;
    const NAME: &'static str = "rule_hit";
}
