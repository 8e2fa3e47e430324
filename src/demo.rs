//! `botyard serve --demo`: a demo tenant whose sessions run on the simulator, so a newcomer
//! sees groups filling up and counters moving without a Telegram account.

use botyard_shards::ids::TenantId;
use botyard_shards::records::{Language, ParseMode, Role};

use crate::config::Secret;
use crate::error::AppResult;
use crate::state::{Shared, blocking};
use crate::telegram::sim::SimConfig;
use crate::tenancy::{self, SettingsInput};

pub const TENANT_NAME: &str = "Botyard Demo";
pub const OWNER_EMAIL: &str = "demo@botyard.invalid";

/// The demo tenant, and the owner's password when it was created just now.
#[derive(Clone, Debug)]
pub struct Demo {
    pub tenant: TenantId,
    /// Shown once, on the console; masked in debug output.
    pub password: Option<Secret>,
}

/// What the demo's simulated bot sees: a few busy Istanbul shop groups.
pub fn sim_config(now: i64) -> SimConfig {
    SimConfig {
        seed: 2026,
        groups: 6,
        members_per_group: 300,
        events_per_sec: 5.0,
        start_at: now,
        ..SimConfig::default()
    }
}

/// Finds the demo tenant or creates it with an owner, Turkish settings and a simulated
/// session. Idempotent: a restart with `--demo` reuses what exists.
pub async fn ensure(st: &Shared) -> AppResult<Demo> {
    let st2 = st.clone();
    let found = blocking(move || {
        let page = st2
            .store
            .system_admin()
            .list_tenants(None, 50, Some(TENANT_NAME))?;
        Ok(page
            .items
            .into_iter()
            .find(|(_, r)| r.name == TENANT_NAME)
            .map(|(id, _)| id))
    })
    .await?;
    if let Some(tenant) = found {
        return Ok(Demo {
            tenant,
            password: None,
        });
    }
    let password = crate::crypto::random_token();
    let hash =
        crate::auth::hash_new_password(st, "password", Secret::new(password.clone())).await?;
    let st2 = st.clone();
    let tenant = blocking(move || {
        let now = st2.now();
        let admin = st2.store.system_admin();
        let (id, _) = tenancy::create_tenant(&admin, TENANT_NAME, None, now)?;
        let scope = admin.tenant(id)?;
        tenancy::save_settings(
            &scope,
            SettingsInput {
                time_zone: "Europe/Istanbul".into(),
                language: Language::Tr,
                display_name: "Demo Kafe".into(),
                parse_mode: ParseMode::Markdown,
                silent: false,
                disable_link_preview: false,
                protect_content: false,
            },
            now,
        )?;
        tenancy::add_member(&scope, OWNER_EMAIL.into(), Some(hash), Role::Owner, now)?;
        crate::workers::connect_sim(&st2, &scope, "Demo bot", &sim_config(now), now)?;
        Ok(id)
    })
    .await?;
    tracing::info!(tenant_id = tenant.0, "demo tenant created");
    Ok(Demo {
        tenant,
        password: Some(Secret::new(password)),
    })
}
