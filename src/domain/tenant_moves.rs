//! Moving a tenant to another shard of this appliance while it runs (the store does the work,
//! see `botyard_shards::moves`): refused while another move runs; recorded in the audit log.

use botyard_shards::TenantScope;
use botyard_shards::ids::AccountId;
use botyard_shards::moves::Moved;
use botyard_shards::records::AuditRec;

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
