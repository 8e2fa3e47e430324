//! Tenant use cases: tenants, members, API keys, settings, plans. Plain functions over the
//! store, called by thin handlers.

use botyard_shards::ids::{AccountId, ApiKeyId, InvitationId, PlanId, TenantId};
use botyard_shards::records::{
    AccountRec, ApiKeyRec, AuditRec, InvitationRec, Language, ParseMode, PlanLimits, PlanRec, Role,
    SendDefaults, SettingsRec, TenantRec, TenantStatus,
};
use botyard_shards::{AdminScope, StoreError, TenantScope};

use crate::error::{AppError, AppResult};
use crate::security::crypto::{random_token, sha256};
use crate::security::tokens::API_KEY_PREFIX;

pub const NAME_MAX: usize = 100;

/// Trims and checks a display name: 1 to 100 characters, no control characters.
pub fn clean_name(field: &str, name: &str) -> AppResult<String> {
    let n = name.trim();
    let count = n.chars().count();
    if count == 0 {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if count > NAME_MAX {
        return Err(AppError::invalid(
            field,
            format!("must have at most {NAME_MAX} characters, has {count}"),
        ));
    }
    if n.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    crate::domain::names::check_visible(field, n)?;
    Ok(n.to_string())
}

fn audit(
    c: &mut botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
    now: i64,
    actor: Option<AccountId>,
    tenant: Option<TenantId>,
    action: &str,
    detail: String,
) -> Result<(), StoreError> {
    c.audit(&AuditRec {
        at: now,
        actor,
        tenant,
        action: action.into(),
        detail,
    })
    .map(|_| ())
}

/// The one error for a plan id that names no plan.
pub fn unknown_plan(p: PlanId) -> AppError {
    AppError::Invalid {
        code: "plan.unknown",
        field: "plan_id".into(),
        message: format!("plan {p} does not exist"),
    }
}

fn check_plan_exists(
    c: &botyard_shards::CatalogTx<botyard_shards::WriteTransaction>,
    plan: Option<PlanId>,
) -> AppResult<()> {
    if let Some(p) = plan
        && c.plan(p)?.is_none()
    {
        return Err(unknown_plan(p));
    }
    Ok(())
}

pub fn create_tenant(
    admin: &AdminScope<'_>,
    name: &str,
    plan: Option<PlanId>,
    now: i64,
) -> AppResult<(TenantId, TenantRec)> {
    let name = clean_name("name", name)?;
    if let Some(p) = plan
        && admin.plan(p)?.is_none()
    {
        return Err(unknown_plan(p));
    }
    let rec = TenantRec {
        name,
        status: TenantStatus::Active,
        plan,
        created_at: now,
        updated_at: now,
    };
    let scope = admin.create_tenant(&rec)?;
    let id = scope.tenant_id();
    let actor = admin.actor();
    scope.catalog_write(|c| audit(c, now, actor, Some(id), "tenant.created", String::new()))?;
    tracing::info!(
        tenant_id = id.0,
        shard = scope.shard_index(),
        "tenant created"
    );
    Ok((id, rec))
}

/// Admin edits of a tenant: name and plan.
pub fn update_tenant(
    scope: &TenantScope,
    name: Option<&str>,
    plan: Option<Option<PlanId>>,
    now: i64,
) -> AppResult<TenantRec> {
    let name = name.map(|n| clean_name("name", n)).transpose()?;
    let actor = scope.actor();
    let id = scope.tenant_id();
    scope.catalog_write(|c| -> AppResult<TenantRec> {
        let mut t = c.tenant()?;
        if let Some(n) = name {
            t.name = n;
        }
        if let Some(p) = plan {
            check_plan_exists(c, p)?;
            t.plan = p;
        }
        t.updated_at = now;
        c.put_tenant(&t)?;
        audit(c, now, actor, Some(id), "tenant.updated", String::new())?;
        Ok(t)
    })
}

pub fn set_status(scope: &TenantScope, status: TenantStatus, now: i64) -> AppResult<TenantRec> {
    let actor = scope.actor();
    let id = scope.tenant_id();
    let t = scope.catalog_write(|c| -> AppResult<TenantRec> {
        let mut t = c.tenant()?;
        t.status = status;
        t.updated_at = now;
        c.put_tenant(&t)?;
        let action = match status {
            TenantStatus::Active => "tenant.resumed",
            TenantStatus::Suspended => "tenant.suspended",
        };
        audit(c, now, actor, Some(id), action, String::new())?;
        Ok(t)
    })?;
    tracing::info!(tenant_id = id.0, ?status, "tenant status changed");
    Ok(t)
}

pub fn delete_tenant(admin: &AdminScope<'_>, id: TenantId, now: i64) -> AppResult<()> {
    admin.delete_tenant(id)?;
    let actor = admin.actor();
    admin.catalog_write(|c| {
        audit(
            c,
            now,
            actor,
            None,
            "tenant.deleted",
            format!("tenant {id}"),
        )
    })?;
    tracing::info!(tenant = id.0, "tenant deleted");
    Ok(())
}

pub struct MemberView {
    pub account: AccountId,
    pub email: String,
    pub role: Role,
}

pub fn members(scope: &TenantScope) -> AppResult<Vec<MemberView>> {
    let c = scope.catalog_read()?;
    let mut out = Vec::new();
    for (account, role) in c.members()? {
        if let Some(a) = c.account(account)? {
            out.push(MemberView {
                account,
                email: a.email,
                role,
            });
        }
    }
    Ok(out)
}

/// Only admins add members directly.
pub fn require_direct_add(scope: &TenantScope) -> AppResult<()> {
    if scope.access() == botyard_shards::Access::Admin {
        return Ok(());
    }
    Err(AppError::Forbidden {
        code: "member.invite_instead",
        message: "owners add people by invitation: POST /api/v1/tenants/{id}/invitations",
    })
}

/// A pending invitation, with its link token when it was just made (shown once).
pub struct Invitation {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: i64,
    pub token: Option<String>,
}

fn invitation_view(id: InvitationId, r: InvitationRec, token: Option<String>) -> Invitation {
    Invitation {
        id,
        email: r.email,
        role: r.role,
        created_at: r.created_at,
        expires_at: r.expires_at,
        token,
    }
}

/// Invites `email` to the tenant with `role`. The answer is the same whether or not the
/// address has an account (only whoever redeems the link learns that); an earlier pending
/// invitation for the same address is replaced.
pub fn invite(
    scope: &TenantScope,
    email: String,
    role: Role,
    mail: &crate::domain::mail::notices::MailCtx,
    ttl_secs: i64,
) -> AppResult<Invitation> {
    let now = mail.now;
    let token = random_token();
    let fallback = settings(scope)?.language;
    let notice = crate::domain::mail::notices::Notice::Invitation {
        tenant: scope.record().name.clone(),
        role,
        link: format!("{}/console/invite?token={token}", mail.brand.base_url),
        hours: ttl_secs / 3600,
    };
    let rec = InvitationRec {
        tenant: scope.tenant_id(),
        email,
        role,
        hash: sha256(token.as_bytes()),
        created_by: scope.actor(),
        created_at: now,
        expires_at: now + ttl_secs,
    };
    let (actor, tenant) = (scope.actor(), scope.tenant_id());
    scope.catalog_write(|c| -> AppResult<Invitation> {
        // Members are listed to whoever may invite, so this says nothing new.
        if let Some((account, _)) = c.account_by_email(&rec.email)?
            && c.member_role(account)?.is_some()
        {
            return Err(AppError::Conflict {
                code: "member.exists",
                message: "this account is already a member of the tenant".into(),
            });
        }
        for (id, old) in c.invitations()? {
            if old.email == rec.email {
                c.remove_invitation(id)?;
            }
        }
        let id = c.insert_invitation(rec.clone())?;
        // The invitee reads it in their own language when they have an account.
        let lang = match c.account_by_email(&rec.email)? {
            Some((a, _)) => {
                crate::domain::mail::notices::language_of(&c.account_prefs(a)?.language, fallback)
            }
            None => fallback,
        };
        let row = mail.row(&notice, &rec.email, Some(tenant), lang)?;
        c.enqueue_mail(row, &mail.domain)?;
        audit(
            c,
            now,
            actor,
            Some(tenant),
            "member.invited",
            format!("invitation {id} as {:?}", rec.role),
        )?;
        Ok(invitation_view(id, rec, Some(token)))
    })
}

/// The tenant's pending invitations, expired ones included (they show as expired).
pub fn invitations(scope: &TenantScope) -> AppResult<Vec<Invitation>> {
    Ok(scope
        .catalog_read()?
        .invitations()?
        .into_iter()
        .map(|(id, r)| invitation_view(id, r, None))
        .collect())
}

/// Withdraws a pending invitation: its link stops working.
pub fn withdraw_invitation(scope: &TenantScope, id: InvitationId, now: i64) -> AppResult<()> {
    let (actor, tenant) = (scope.actor(), scope.tenant_id());
    scope.catalog_write(|c| -> AppResult<()> {
        if !c.remove_invitation(id)? {
            return Err(AppError::NotFound("invitation"));
        }
        audit(
            c,
            now,
            actor,
            Some(tenant),
            "member.invitation_withdrawn",
            format!("invitation {id}"),
        )?;
        Ok(())
    })
}

/// Adds a member directly (admins only: they see every account anyway). A new email creates
/// an account with the given (checked, hashed) password. Owners invite instead, so that
/// adding someone never tells them whether an address has an account.
pub fn add_member(
    scope: &TenantScope,
    email: String,
    password_hash: Option<String>,
    role: Role,
    now: i64,
) -> AppResult<MemberView> {
    let actor = scope.actor();
    let id = scope.tenant_id();
    require_direct_add(scope)?;
    scope.catalog_write(|c| -> AppResult<MemberView> {
        let account = match c.account_by_email(&email)? {
            Some((account, _)) => {
                if c.member_role(account)?.is_some() {
                    return Err(AppError::Conflict {
                        code: "member.exists",
                        message: "this account is already a member of the tenant".into(),
                    });
                }
                account
            }
            None => {
                let hash = password_hash.ok_or_else(|| AppError::Invalid {
                    code: "validation.missing_field",
                    field: "password".into(),
                    message: "a new account needs a password".into(),
                })?;
                c.insert_account(&AccountRec {
                    email: email.clone(),
                    password_hash: hash,
                    is_admin: false,
                    created_at: now,
                    password_changed_at: now,
                })?
            }
        };
        c.set_member(account, role)?;
        audit(
            c,
            now,
            actor,
            Some(id),
            "member.added",
            format!("account {account}"),
        )?;
        Ok(MemberView {
            account,
            email,
            role,
        })
    })
}

fn owners(c: &botyard_shards::TenantCatalog<botyard_shards::WriteTransaction>) -> AppResult<usize> {
    Ok(c.members()?
        .iter()
        .filter(|(_, r)| *r == Role::Owner)
        .count())
}

pub fn set_member_role(
    scope: &TenantScope,
    account: AccountId,
    role: Role,
    now: i64,
) -> AppResult<MemberView> {
    let actor = scope.actor();
    let id = scope.tenant_id();
    scope.catalog_write(|c| -> AppResult<MemberView> {
        let current = c
            .member_role(account)?
            .ok_or(AppError::NotFound("member"))?;
        if current == Role::Owner && role != Role::Owner && owners(c)? <= 1 {
            return Err(AppError::Conflict {
                code: "member.last_owner",
                message: "a tenant keeps at least one owner".into(),
            });
        }
        c.set_member(account, role)?;
        let email = c.account(account)?.map(|a| a.email).unwrap_or_default();
        audit(
            c,
            now,
            actor,
            Some(id),
            "member.role_changed",
            format!("account {account}"),
        )?;
        Ok(MemberView {
            account,
            email,
            role,
        })
    })
}

pub fn remove_member(scope: &TenantScope, account: AccountId, now: i64) -> AppResult<()> {
    let actor = scope.actor();
    let id = scope.tenant_id();
    scope.catalog_write(|c| -> AppResult<()> {
        let current = c
            .member_role(account)?
            .ok_or(AppError::NotFound("member"))?;
        if current == Role::Owner && owners(c)? <= 1 {
            return Err(AppError::Conflict {
                code: "member.last_owner",
                message: "a tenant keeps at least one owner".into(),
            });
        }
        let (_, deleted) = c.remove_member(account)?;
        // Logins of the removed account end, so its access to this tenant ends now.
        c.revoke_account_families(account)?;
        audit(
            c,
            now,
            actor,
            Some(id),
            "member.removed",
            if deleted {
                format!("account {account}, in no other tenant, deleted")
            } else {
                format!("account {account}")
            },
        )?;
        Ok(())
    })
}

pub struct NewApiKey {
    pub id: ApiKeyId,
    pub key: String,
    pub rec: ApiKeyRec,
}

pub fn create_api_key(
    scope: &TenantScope,
    name: &str,
    role: Role,
    now: i64,
) -> AppResult<NewApiKey> {
    let name = clean_name("name", name)?;
    let key = format!("{API_KEY_PREFIX}{}", random_token());
    let rec = ApiKeyRec {
        tenant: scope.tenant_id(),
        role,
        name,
        prefix: key.chars().take(10).collect(),
        hash: sha256(key.as_bytes()),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    let actor = scope.actor();
    let tid = scope.tenant_id();
    let r2 = rec.clone();
    let id = scope.catalog_write(|c| -> AppResult<ApiKeyId> {
        let id = c.insert_api_key(r2)?;
        audit(
            c,
            now,
            actor,
            Some(tid),
            "api_key.created",
            format!("key {id}"),
        )?;
        Ok(id)
    })?;
    Ok(NewApiKey { id, key, rec })
}

pub fn revoke_api_key(scope: &TenantScope, id: ApiKeyId, now: i64) -> AppResult<()> {
    let actor = scope.actor();
    let tid = scope.tenant_id();
    scope.catalog_write(|c| -> AppResult<()> {
        c.revoke_api_key(id, now).map_err(|e| match e {
            StoreError::NotFound => AppError::NotFound("api key"),
            e => e.into(),
        })?;
        audit(
            c,
            now,
            actor,
            Some(tid),
            "api_key.revoked",
            format!("key {id}"),
        )?;
        Ok(())
    })
}

/// The tenant's settings, defaults where none were saved.
pub fn settings(scope: &TenantScope) -> AppResult<SettingsRec> {
    if let Some(s) = scope.shard_read()?.settings()? {
        return Ok(s);
    }
    let name = scope.catalog_read()?.tenant()?.name;
    Ok(SettingsRec::defaults(&name))
}

/// The tenant's time zone (UTC if its name is unknown to this build).
pub fn zone(settings: &SettingsRec) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Checks an IANA time zone name against the bundled database (not the host's).
pub fn valid_time_zone(name: &str) -> bool {
    use std::sync::LazyLock;
    static TZDB: LazyLock<jiff::tz::TimeZoneDatabase> =
        LazyLock::new(jiff::tz::TimeZoneDatabase::bundled);
    name.len() <= 64 && TZDB.get(name).is_ok_and(|tz| tz.iana_name() == Some(name))
}

pub struct SettingsInput {
    pub time_zone: String,
    pub language: Language,
    pub display_name: String,
    pub parse_mode: ParseMode,
    pub silent: bool,
    pub disable_link_preview: bool,
    pub protect_content: bool,
}

pub fn save_settings(
    scope: &TenantScope,
    input: SettingsInput,
    now: i64,
) -> AppResult<SettingsRec> {
    if !valid_time_zone(&input.time_zone) {
        return Err(AppError::Invalid {
            code: "settings.time_zone",
            field: "time_zone".into(),
            message: format!(
                "`{}` is not an IANA time zone name (e.g. Europe/Istanbul)",
                input.time_zone.chars().take(64).collect::<String>()
            ),
        });
    }
    let rec = SettingsRec {
        time_zone: input.time_zone,
        language: input.language,
        display_name: clean_name("display_name", &input.display_name)?,
        send: SendDefaults {
            parse_mode: input.parse_mode,
            silent: input.silent,
            disable_link_preview: input.disable_link_preview,
            protect_content: input.protect_content,
        },
        updated_at: now,
    };
    scope.shard_write(|s| s.put_settings(&rec))?;
    tracing::info!(tenant_id = scope.tenant_id().0, "settings saved");
    Ok(rec)
}

pub fn validate_limits(l: &PlanLimits) -> AppResult<()> {
    if l.retention_days == 0 || l.retention_days > 3660 {
        return Err(AppError::invalid(
            "limits.retention_days",
            "must be between 1 and 3660",
        ));
    }
    if l.worker_memory_mb < 16 || l.worker_memory_mb > 65_536 {
        return Err(AppError::invalid(
            "limits.worker_memory_mb",
            "must be between 16 and 65536",
        ));
    }
    if l.media_mb == 0 || l.media_mb > 2_000 {
        return Err(AppError::invalid(
            "limits.media_mb",
            "must be between 1 and 2000 (Telegram's limit for bots is lower: 50)",
        ));
    }
    if l.events_per_sec == 0 || l.events_per_sec > 10_000 {
        return Err(AppError::invalid(
            "limits.events_per_sec",
            "must be between 1 and 10000",
        ));
    }
    if l.min_interval_mins == 0 || l.min_interval_mins > 1440 {
        return Err(AppError::invalid(
            "limits.min_interval_mins",
            "must be between 1 and 1440 minutes",
        ));
    }
    Ok(())
}

pub fn create_plan(
    admin: &AdminScope<'_>,
    name: &str,
    limits: PlanLimits,
    now: i64,
) -> AppResult<(PlanId, PlanRec)> {
    let name = clean_name("name", name)?;
    validate_limits(&limits)?;
    let rec = PlanRec {
        name,
        limits,
        created_at: now,
        updated_at: now,
    };
    let id = admin.catalog_write(|c| c.insert_plan(&rec))?;
    Ok((id, rec))
}

pub fn update_plan(
    admin: &AdminScope<'_>,
    id: PlanId,
    name: &str,
    limits: PlanLimits,
    now: i64,
) -> AppResult<PlanRec> {
    let name = clean_name("name", name)?;
    validate_limits(&limits)?;
    admin.catalog_write(|c| -> AppResult<PlanRec> {
        let mut p = c.plan(id)?.ok_or(AppError::NotFound("plan"))?;
        p.name = name;
        p.limits = limits;
        p.updated_at = now;
        c.update_plan(id, &p)?;
        Ok(p)
    })
}

pub fn delete_plan(admin: &AdminScope<'_>, id: PlanId) -> AppResult<()> {
    admin.catalog_write(|c| {
        c.delete_plan(id).map_err(|e| match e {
            StoreError::NotFound => AppError::NotFound("plan"),
            StoreError::Conflict(_) => AppError::Conflict {
                code: "plan.in_use",
                message: "tenants are on this plan; move them first".into(),
            },
            e => e.into(),
        })
    })
}

/// One of the limits of a tenant's plan (`pick`), or none when it has no plan.
pub fn plan_limit(
    store: &botyard_shards::Store,
    plan: Option<PlanId>,
    pick: fn(&botyard_shards::records::PlanLimits) -> u32,
) -> AppResult<Option<u32>> {
    Ok(match plan {
        Some(p) => store.catalog_read()?.plan(p)?.map(|p| pick(&p.limits)),
        None => None,
    })
}
