//! Table definitions. Each carries its key and value types; keys of tenant data start with
//! `TenantId` so one range covers a tenant.

use redb::TableDefinition;

use crate::ids::{
    AccountId, AlertId, ApiKeyId, AuditId, CampaignId, ChatId, Day, FamilyId, InvitationId,
    InvoiceId, MailingId, MediaId, OutboxId, PaymentId, PlanId, ReportId, RuleId, SecretId,
    TemplateId, TenantId, TicketId,
};
use crate::record::Rec;
use crate::records::{
    AccountPrefsRec, AccountRec, AccountTokenRec, AlertRec, ApiKeyRec, AuditRec, BillingProfileRec,
    BrowserSessionRec, CampaignRec, DeliveryRec, DigestItemRec, FamilyRec, GroupRec, InvitationRec,
    InviteCodeRec, InvoiceRec, MailRec, MailingRec, MediaRec, NoticePrefsRec, PaymentRec,
    PlanPriceRec, PlanRec, RefreshRec, ReportRec, RuleHitRec, RuleRec, RunRec, SessionRec,
    SettingsRec, SignupRec, SubEventRec, SubscriptionRec, TelegramLinkRec, TemplateRec,
    TemplateVersionRec, TenantRec, TgUserRec, TicketMessageRec, TicketRec, VariablesRec,
};

/// `schema_version`, `kind`, `shard_index`, `shard_count`: present in every file.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub mod catalog {
    use super::*;

    pub const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences");
    pub const ACCOUNTS: TableDefinition<AccountId, Rec<AccountRec>> =
        TableDefinition::new("accounts");
    /// Lower-cased email → account.
    pub const ACCOUNT_EMAILS: TableDefinition<&str, AccountId> =
        TableDefinition::new("account_emails");
    /// (tenant, account) → role, see [`crate::records::Role`] as u8.
    pub const MEMBERS: TableDefinition<(TenantId, AccountId), u8> = TableDefinition::new("members");
    /// Reverse index of `MEMBERS`.
    pub const ACCOUNT_TENANTS: TableDefinition<(AccountId, TenantId), u8> =
        TableDefinition::new("account_tenants");
    pub const TENANTS: TableDefinition<TenantId, Rec<TenantRec>> = TableDefinition::new("tenants");
    /// Tenant → shard index. A table, not a hash, so tenants can move.
    pub const PLACEMENT: TableDefinition<TenantId, u32> = TableDefinition::new("placement");
    /// Shard index → number of tenants placed there.
    pub const SHARD_LOAD: TableDefinition<u32, u64> = TableDefinition::new("shard_load");
    pub const PLANS: TableDefinition<PlanId, Rec<PlanRec>> = TableDefinition::new("plans");
    /// SHA-256 of a refresh token → its record.
    pub const REFRESH_TOKENS: TableDefinition<[u8; 32], Rec<RefreshRec>> =
        TableDefinition::new("refresh_tokens");
    pub const FAMILIES: TableDefinition<FamilyId, Rec<FamilyRec>> =
        TableDefinition::new("token_families");
    /// (family, token hash): lets a family's tokens be deleted together.
    pub const FAMILY_TOKENS: TableDefinition<(FamilyId, [u8; 32]), ()> =
        TableDefinition::new("family_tokens");
    pub const ACCOUNT_FAMILIES: TableDefinition<(AccountId, FamilyId), ()> =
        TableDefinition::new("account_families");
    pub const API_KEYS: TableDefinition<ApiKeyId, Rec<ApiKeyRec>> =
        TableDefinition::new("api_keys");
    /// SHA-256 of an API key → key id.
    pub const API_KEY_HASHES: TableDefinition<[u8; 32], ApiKeyId> =
        TableDefinition::new("api_key_hashes");
    pub const TENANT_API_KEYS: TableDefinition<(TenantId, ApiKeyId), ()> =
        TableDefinition::new("tenant_api_keys");
    /// Named secrets of the appliance, sealed with the master key.
    pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
    /// SHA-256 of a one-time setup token → expiry (unix seconds).
    pub const SETUP_TOKENS: TableDefinition<[u8; 32], i64> = TableDefinition::new("setup_tokens");
    pub const AUDIT: TableDefinition<AuditId, Rec<AuditRec>> = TableDefinition::new("audit");
    /// Account → the Telegram user it is linked to.
    pub const TELEGRAM_LINKS: TableDefinition<AccountId, Rec<TelegramLinkRec>> =
        TableDefinition::new("telegram_links");
    /// Telegram user → the one account linked to it.
    pub const TELEGRAM_LINK_USERS: TableDefinition<i64, AccountId> =
        TableDefinition::new("telegram_link_users");
    /// An imported session's auth key id (MTProto's: the key's SHA-1, low 64 bits) → the one
    /// session that owns it. Two clients on one key get it revoked by Telegram.
    pub const SESSION_KEYS: TableDefinition<u64, (TenantId, SecretId)> =
        TableDefinition::new("session_keys");
    /// The reverse: a session → its key id, to release it when the session goes.
    pub const SESSION_KEY_OWNERS: TableDefinition<(TenantId, SecretId), u64> =
        TableDefinition::new("session_key_owners");
    /// Pending invitations by id.
    pub const INVITATIONS: TableDefinition<InvitationId, Rec<InvitationRec>> =
        TableDefinition::new("invitations");
    /// An invitation's link token hash → the invitation.
    pub const INVITATION_HASHES: TableDefinition<[u8; 32], InvitationId> =
        TableDefinition::new("invitation_hashes");
    /// A tenant's pending invitations.
    pub const TENANT_INVITATIONS: TableDefinition<(TenantId, InvitationId), ()> =
        TableDefinition::new("tenant_invitations");
    /// SHA-256 of a browser session's cookie token → the session (a login family signed in
    /// from a browser).
    pub const BROWSER_SESSIONS: TableDefinition<[u8; 32], Rec<BrowserSessionRec>> =
        TableDefinition::new("browser_sessions");
    /// A family's browser session, so revoking the family removes it.
    pub const FAMILY_BROWSER: TableDefinition<FamilyId, [u8; 32]> =
        TableDefinition::new("family_browser");
    /// An account's preferences in the console (language, time zone).
    pub const ACCOUNT_PREFS: TableDefinition<AccountId, Rec<AccountPrefsRec>> =
        TableDefinition::new("account_prefs");
    pub const ALERTS: TableDefinition<AlertId, Rec<AlertRec>> = TableDefinition::new("alerts");
    /// `kind|tenant|subject` of each open alert → the alert, so one thing raises one alert
    /// until a person acknowledges it.
    pub const OPEN_ALERTS: TableDefinition<&str, AlertId> = TableDefinition::new("open_alerts");
    /// A plan's price; a plan without one is not for sale.
    pub const PLAN_PRICES: TableDefinition<PlanId, Rec<PlanPriceRec>> =
        TableDefinition::new("plan_prices");
    pub const SUBSCRIPTIONS: TableDefinition<TenantId, Rec<SubscriptionRec>> =
        TableDefinition::new("subscriptions");
    /// `(due_at, tenant)` of every subscription the renewal job must look at.
    pub const SUBSCRIPTIONS_DUE: TableDefinition<(i64, TenantId), ()> =
        TableDefinition::new("subscriptions_due");
    /// `(tenant, sequence)` → a step of its subscription.
    pub const SUBSCRIPTION_EVENTS: TableDefinition<(TenantId, u64), Rec<SubEventRec>> =
        TableDefinition::new("subscription_events");
    pub const PAYMENTS: TableDefinition<PaymentId, Rec<PaymentRec>> =
        TableDefinition::new("payments");
    /// `provider:charge id` → the payment: a charge is credited once.
    pub const PAYMENT_CHARGES: TableDefinition<&str, PaymentId> =
        TableDefinition::new("payment_charges");
    pub const INVOICES: TableDefinition<InvoiceId, Rec<InvoiceRec>> =
        TableDefinition::new("invoices");
    /// `(tenant, invoice)` of each tenant's invoices.
    pub const TENANT_INVOICES: TableDefinition<(TenantId, InvoiceId), ()> =
        TableDefinition::new("tenant_invoices");
    /// `(tenant, payment)` of each tenant's payments.
    pub const TENANT_PAYMENTS: TableDefinition<(TenantId, PaymentId), ()> =
        TableDefinition::new("tenant_payments");
    /// Mails to send and sent, by the order they were written.
    pub const OUTBOX: TableDefinition<OutboxId, Rec<MailRec>> = TableDefinition::new("outbox");
    /// `(next attempt, mail)` of every queued mail.
    pub const OUTBOX_DUE: TableDefinition<(i64, OutboxId), ()> = TableDefinition::new("outbox_due");
    /// Each account's notice preferences (defaults when absent).
    pub const NOTICE_PREFS: TableDefinition<AccountId, Rec<NoticePrefsRec>> =
        TableDefinition::new("notice_prefs");
    /// How far a notice source has been turned into mail (`alerts` → the last alert id).
    pub const NOTICE_CURSORS: TableDefinition<&str, u64> = TableDefinition::new("notice_cursors");
    /// Notices waiting for an account's hourly digest, in the order they came.
    pub const DIGEST: TableDefinition<(AccountId, u64), Rec<DigestItemRec>> =
        TableDefinition::new("digest");
    /// `(account, device)` → when it last signed in: a new device gets a notice.
    pub const KNOWN_DEVICES: TableDefinition<(AccountId, [u8; 16]), i64> =
        TableDefinition::new("known_devices");
    /// One-time mailed links (password reset, email change) by their token's SHA-256.
    pub const ACCOUNT_TOKENS: TableDefinition<&[u8; 32], Rec<AccountTokenRec>> =
        TableDefinition::new("account_tokens");
    /// Marketing mails, drafts and sent.
    pub const MAILINGS: TableDefinition<MailingId, Rec<MailingRec>> =
        TableDefinition::new("mailings");
    /// Each tenant's details for its invoices.
    pub const BILLING_PROFILES: TableDefinition<TenantId, Rec<BillingProfileRec>> =
        TableDefinition::new("billing_profiles");
    /// Beta invite codes by their text (upper case).
    pub const INVITE_CODES: TableDefinition<&str, Rec<InviteCodeRec>> =
        TableDefinition::new("invite_codes");
    /// Tenants that signed themselves up, with how.
    pub const SIGNUPS: TableDefinition<TenantId, Rec<SignupRec>> = TableDefinition::new("signups");
    /// A tenant's referral code → the tenant, and back.
    pub const REFERRAL_CODES: TableDefinition<&str, TenantId> =
        TableDefinition::new("referral_codes");
    pub const TENANT_REFERRAL: TableDefinition<TenantId, &str> =
        TableDefinition::new("tenant_referral");
    /// Support requests and feedback.
    pub const TICKETS: TableDefinition<TicketId, Rec<TicketRec>> = TableDefinition::new("tickets");
    pub const TENANT_TICKETS: TableDefinition<(TenantId, TicketId), ()> =
        TableDefinition::new("tenant_tickets");
    /// `(ticket, number)` → one message, in the order written.
    pub const TICKET_MESSAGES: TableDefinition<(TicketId, u32), Rec<TicketMessageRec>> =
        TableDefinition::new("ticket_messages");
    /// The bytes of a message's attachment.
    pub const TICKET_FILES: TableDefinition<(TicketId, u32), &[u8]> =
        TableDefinition::new("ticket_files");
}

pub mod shard {
    use super::*;

    pub const SETTINGS: TableDefinition<TenantId, Rec<SettingsRec>> =
        TableDefinition::new("tenant_settings");
    /// Per-tenant secrets (session material …), sealed with the master key.
    pub const SECRETS: TableDefinition<(TenantId, SecretId), &[u8]> =
        TableDefinition::new("tenant_secrets");
    /// High-rate counters written by the ingest writer: (tenant, chat, day, metric) → count.
    pub const COUNTERS: TableDefinition<(TenantId, ChatId, Day, u8), u64> =
        TableDefinition::new("counters");
    /// Messages per (tenant, chat, day, Telegram user id).
    pub const USER_DAYS: TableDefinition<(TenantId, ChatId, Day, i64), u64> =
        TableDefinition::new("user_days");
    /// Telegram sessions per tenant; the id is also the `SecretId` of their sealed material.
    pub const SESSIONS: TableDefinition<(TenantId, SecretId), Rec<SessionRec>> =
        TableDefinition::new("sessions");
    /// Telegram users seen per tenant.
    pub const TG_USERS: TableDefinition<(TenantId, i64), Rec<TgUserRec>> =
        TableDefinition::new("telegram_users");
    /// Chats the tenant's sessions are in.
    pub const GROUPS: TableDefinition<(TenantId, ChatId), Rec<GroupRec>> =
        TableDefinition::new("groups");

    /// Per-tenant id sequences: (tenant, kind) → last id given out (ids are never reused).
    pub const TENANT_SEQ: TableDefinition<(TenantId, u8), u64> = TableDefinition::new("tenant_seq");
    pub const TEMPLATES: TableDefinition<(TenantId, TemplateId), Rec<TemplateRec>> =
        TableDefinition::new("templates");
    /// (tenant, template, version) → that version.
    pub const TEMPLATE_VERSIONS: TableDefinition<
        (TenantId, TemplateId, u32),
        Rec<TemplateVersionRec>,
    > = TableDefinition::new("template_versions");
    pub const VARIABLES: TableDefinition<TenantId, Rec<VariablesRec>> =
        TableDefinition::new("tenant_variables");
    /// Files in the tenant's media folder.
    pub const MEDIA: TableDefinition<(TenantId, MediaId), Rec<MediaRec>> =
        TableDefinition::new("media");
    pub const CAMPAIGNS: TableDefinition<(TenantId, CampaignId), Rec<CampaignRec>> =
        TableDefinition::new("campaigns");
    /// (tenant, campaign, run number) → that run.
    pub const RUNS: TableDefinition<(TenantId, CampaignId, u32), Rec<RunRec>> =
        TableDefinition::new("campaign_runs");
    /// (tenant, campaign, run, chat) → that post.
    pub const DELIVERIES: TableDefinition<(TenantId, CampaignId, u32, ChatId), Rec<DeliveryRec>> =
        TableDefinition::new("deliveries");
    /// The deliveries still pending, so a restarted worker is handed exactly those.
    pub const PENDING: TableDefinition<(TenantId, CampaignId, u32, ChatId), ()> =
        TableDefinition::new("pending_deliveries");
    /// What changed, for the PostgreSQL export: (tenant, part, day) → the shard's change
    /// sequence when it last changed (see [`crate::changes`]).
    pub const CHANGES: TableDefinition<(TenantId, u8, Day), u64> = TableDefinition::new("changes");
    /// Campaign posts handed out per (tenant, day in UTC), for the plan's daily limit.
    pub const SENDS: TableDefinition<(TenantId, Day), u64> = TableDefinition::new("sends_per_day");
    /// A chat's member count per (tenant, chat, day in the tenant's zone): the day's last.
    pub const MEMBER_COUNTS: TableDefinition<(TenantId, ChatId, Day), u32> =
        TableDefinition::new("member_counts");
    /// Statistics reports per tenant.
    pub const REPORTS: TableDefinition<(TenantId, ReportId), Rec<ReportRec>> =
        TableDefinition::new("reports");
    /// Campaign posts sent and failed on each UTC day, every tenant of the shard together
    /// (the admin's dashboard adds the shards up).
    pub const POSTS_BY_DAY: TableDefinition<Day, (u64, u64)> = TableDefinition::new("posts_by_day");
    /// Group automation rules.
    pub const RULES: TableDefinition<(TenantId, RuleId), Rec<RuleRec>> =
        TableDefinition::new("rules");
    /// (tenant, sequence) → what a rule did, oldest first; the newest [`crate::RULE_LOG_KEPT`]
    /// are kept.
    pub const RULE_LOG: TableDefinition<(TenantId, u64), Rec<RuleHitRec>> =
        TableDefinition::new("rule_log");
    /// (tenant, chat, Telegram user) → warnings counted by the rules.
    pub const WARNINGS: TableDefinition<(TenantId, ChatId, i64), u32> =
        TableDefinition::new("rule_warnings");
}
