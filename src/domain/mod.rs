//! The product's use cases, one module per capability: plain functions over scoped store
//! handles (`TenantScope`, `AdminScope`), called by the thin handlers in `http/` and by the
//! runtime. Tenant data is reached only through a scope, so a use case cannot touch another
//! tenant's rows.

pub mod admin_recovery;
pub mod alerts;
pub mod appliance;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod browser_sessions;
pub mod bundle;
pub mod campaigns;
pub mod demo;
pub mod export;
pub mod groups;
pub mod imports;
pub mod launch;
pub mod logins;
pub mod mail;
pub mod media;
pub mod names;
pub mod overview;
pub mod platform_bot;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod signup;
pub mod stats;
pub mod storefront;
pub mod support;
pub mod telegram_link;
pub mod templates;
pub mod tenancy;
pub mod tenant_moves;
pub mod tenant_workers;
pub mod webapp_auth;
