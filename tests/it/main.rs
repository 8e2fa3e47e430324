//! The appliance's integration tests, one module per area, in one test binary: every
//! integration-test file links the whole appliance, and as sixteen binaries they took 6.5 GB
//! of disk and most of the link time.

mod common;

mod api_auth;
mod api_campaigns;
mod api_rules;
mod api_sessions;
mod api_stats;
mod api_telegram;
mod api_templates;
mod api_tenants;
mod backup;
mod bad_input;
mod billing;
mod binary;
mod bundle;
mod console;
mod console_e2e;
mod deploy;
mod help;
pub mod https;
mod isolation;
mod mail;
mod metrics_health;
mod migrate;
mod miniapp;
mod miniapp_e2e;
mod pg;
mod proxies;
mod roles;
mod rules_telegram;
mod sandbox;
mod session_import;
mod signup;
mod signup_e2e;
mod stars;
mod storefront;
mod supervisor;
mod support;
mod telegram_grammers;
mod tidy;
