//! Moving a tenant to another shard of this appliance while it runs (the store does the work,
//! see `botyard_shards::moves`): refused while another move runs; recorded in the audit log.

use botyard_shards::TenantScope;
use botyard_shards::ids::AccountId;
use botyard_shards::moves::Moved;
use botyard_shards::records::AuditRec;

use crate::domain::bundle;
use crate::error::AppResult;
use crate::state::{AppState, blocking};

/// Moves the scope's tenant to shard `to`, off the async workers.
pub async fn move_tenant(
    st: &std::sync::Arc<AppState>,
    actor: Option<AccountId>,
    scope: TenantScope,
    to: u32,
) -> AppResult<Moved> {
    let st2 = st.clone();
    blocking(move || move_now(&st2, actor, &scope, to)).await
}

/// Moves the scope's tenant to shard `to` (blocking: the copy runs here).
pub fn move_now(
    st: &AppState,
    actor: Option<AccountId>,
    scope: &TenantScope,
    to: u32,
) -> AppResult<Moved> {
    let tenant = scope.tenant_id();
    let moved = st.store.move_tenant(tenant, to)?;
    tracing::info!(
        tenant_id = tenant.0,
        from = moved.from,
        to = moved.to,
        rows = moved.rows,
        paused_ms = moved.paused.as_millis() as u64,
        took_ms = moved.took.as_millis() as u64,
        "tenant moved"
    );
    let detail = format!(
        "shard {} → {}: {} rows, writes paused {} ms",
        moved.from,
        moved.to,
        moved.rows,
        moved.paused.as_millis()
    );
    scope.catalog_write(|c| {
        c.audit(&AuditRec {
            at: st.now(),
            actor,
            tenant: Some(tenant),
            action: "tenant.moved".into(),
            detail,
        })
    })?;
    Ok(moved)
}

/// Writes a tenant's bundle for another appliance. Its worker is stopped first (the tenant is
/// suspended); once the bundle is on disk the tenant's sessions are released here, so only the
/// appliance that imports it holds their auth keys. The tenant stays, suspended, until an
/// admin deletes it.
pub async fn export_tenant(
    st: &std::sync::Arc<AppState>,
    tenant: botyard_shards::ids::TenantId,
    pass: crate::domain::backup::Passphrase,
    to: std::path::PathBuf,
) -> AppResult<(bundle::Exported, usize)> {
    use botyard_shards::records::TenantStatus;
    let scope = st.store.system_admin().tenant(tenant)?;
    let was = scope.status();
    let now = st.now();
    if was != TenantStatus::Suspended {
        let s = st.store.system_admin().tenant(tenant)?;
        blocking(move || crate::domain::tenancy::set_status(&s, TenantStatus::Suspended, now))
            .await?;
    }
    crate::domain::tenant_workers::reconcile(st, tenant).await?;
    let st2 = st.clone();
    let r = blocking(move || {
        let media = crate::domain::tenant_workers::media_root(&st2);
        hand_over(&st2.store, &st2.keyring, &media, tenant, &pass, &to, now)
    })
    .await;
    if r.is_err() && was == TenantStatus::Active {
        // Nothing left: the tenant runs again as before.
        let s = st.store.system_admin().tenant(tenant)?;
        blocking(move || crate::domain::tenancy::set_status(&s, TenantStatus::Active, now)).await?;
        crate::domain::tenant_workers::reconcile(st, tenant).await?;
    }
    r
}

/// Imports a tenant's bundle as a new tenant and starts its worker when it was running.
pub async fn import_tenant(
    st: &std::sync::Arc<AppState>,
    from: std::path::PathBuf,
    pass: crate::domain::backup::Passphrase,
) -> AppResult<bundle::Imported> {
    let st2 = st.clone();
    let done = blocking(move || -> AppResult<bundle::Imported> {
        let media = crate::domain::tenant_workers::media_root(&st2);
        Ok(bundle::import(
            &st2.store,
            &st2.keyring,
            &media,
            &from,
            &pass,
            st2.now(),
        )?)
    })
    .await?;
    tracing::info!(
        tenant_id = done.tenant.0,
        source_id = done.source_id,
        rows = done.rows,
        "tenant imported"
    );
    crate::domain::tenant_workers::reconcile(st, done.tenant).await?;
    Ok(done)
}

/// Writes the bundle, then releases the tenant's sessions and records it (blocking; the
/// tenant's worker must be stopped already). Returns the bundle and the sessions released.
pub fn hand_over(
    store: &botyard_shards::Store,
    keyring: &crate::security::crypto::Keyring,
    media_root: &std::path::Path,
    tenant: botyard_shards::ids::TenantId,
    pass: &crate::domain::backup::Passphrase,
    to: &std::path::Path,
    now: i64,
) -> AppResult<(bundle::Exported, usize)> {
    let made = bundle::export(store, keyring, media_root, tenant, pass, to, now)?;
    let scope = store.system_admin().tenant(tenant)?;
    let sessions = scope.shard_read()?.sessions()?;
    for (id, _) in &sessions {
        crate::domain::tenant_workers::disconnect(&scope, *id, now)?;
    }
    scope.catalog_write(|c| {
        c.audit(&AuditRec {
            at: now,
            actor: None,
            tenant: Some(tenant),
            action: "tenant.exported".into(),
            detail: format!(
                "bundle {}: {} rows; {} sessions released",
                made.path.display(),
                made.rows,
                sessions.len()
            ),
        })
    })?;
    tracing::info!(
        tenant_id = tenant.0,
        rows = made.rows,
        sessions = sessions.len(),
        "tenant exported"
    );
    Ok((made, sessions.len()))
}
