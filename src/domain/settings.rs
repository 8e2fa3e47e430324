//! Saving a tenant's settings and what follows from them at once: campaigns scheduled in the
//! tenant's zone move with it, and the worker counts events in the new zone's days. The API
//! and the console both save through here.

use botyard_shards::TenantScope;
use botyard_shards::records::SettingsRec;

use crate::domain::tenancy::{self, SettingsInput};
use crate::error::AppResult;
use crate::state::{Shared, blocking};

pub async fn save(st: &Shared, scope: TenantScope, input: SettingsInput) -> AppResult<SettingsRec> {
    let now = st.now();
    let tenant = scope.tenant_id();
    let (rec, moved) = blocking(move || {
        let before = tenancy::settings(&scope)?.time_zone;
        let rec = tenancy::save_settings(&scope, input, now)?;
        let moved = if before != rec.time_zone {
            crate::domain::campaigns::reschedule_all(&scope, &rec, now)?
        } else {
            Vec::new()
        };
        Ok((rec, moved))
    })
    .await?;
    for (id, next) in moved {
        st.scheduler.set(tenant, id, next);
    }
    st.supervisor.set_zone(tenant, tenancy::zone(&rec));
    // What rules say in groups is in the tenant's language, under its name.
    st.supervisor.push_rules(tenant).await;
    Ok(rec)
}
