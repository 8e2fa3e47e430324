//! `botyard serve --demo`: a demo tenant whose sessions run on the simulator, so a newcomer
//! sees groups filling up and counters moving without a Telegram account.

use botyard_shards::ids::TenantId;
use botyard_shards::records::{Language, ParseMode, Role};

use crate::config::Secret;
use crate::domain::tenancy::{self, SettingsInput};
use crate::error::AppResult;
use crate::state::{Shared, blocking};
use crate::worker::telegram::sim::SimConfig;

pub const TENANT_NAME: &str = "Botyard Demo";
pub const OWNER_EMAIL: &str = "demo@botyard.invalid";
/// The simulated Telegram user the demo owner is linked to.
pub const DEMO_TELEGRAM_USER: i64 = 4_000_000_001;

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
/// Seconds after start-up of the demo campaign's first run.
const FIRST_RUN_AFTER_SECS: i64 = 15;

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
    let password = crate::security::crypto::random_token();
    let hash =
        crate::domain::auth::hash_new_password(st, "password", Secret::new(password.clone()))
            .await?;
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
        let owner = tenancy::add_member(&scope, OWNER_EMAIL.into(), Some(hash), Role::Owner, now)?;
        // With the simulated platform bot, "send a test to me" works in the demo too: the
        // owner is linked to a simulated Telegram user.
        if st2.appliance().platform_bot_token.is_none() {
            let link = botyard_shards::records::TelegramLinkRec {
                user_id: DEMO_TELEGRAM_USER,
                access_hash: 1,
                first_name: "Demo".into(),
                username: None,
                linked_at: now,
            };
            st2.store
                .catalog_write(|c| c.link_telegram(owner.account, &link))?;
        }
        crate::domain::tenant_workers::connect_sim(
            &st2,
            &scope,
            "Demo bot",
            &sim_config(now),
            now,
        )?;
        Ok(id)
    })
    .await?;
    let events = backfill(st, tenant, st.now()).await?;
    tracing::info!(
        tenant_id = tenant.0,
        events,
        "demo tenant created with a month of history"
    );
    Ok(Demo {
        tenant,
        password: Some(Secret::new(password)),
    })
}

/// Days of history a new demo tenant starts with.
pub const BACKFILL_DAYS: i64 = 30;
/// Simulated seconds between two events of the history (before the day/night shape).
const BACKFILL_STEP_SECS: u32 = 40;

/// Share (per cent) of the history's events kept in each local hour: quiet nights, busy
/// afternoons and evenings, as shop groups are.
fn hour_weight(hour: u8) -> u64 {
    match hour {
        0..=6 => 5,
        7..=9 => 35,
        10..=11 => 60,
        12..=21 => 100,
        _ => 40,
    }
}

/// Writes `BACKFILL_DAYS` of simulated traffic before `now` into the demo tenant's
/// statistics, from the live session's seed (the same groups and people), then makes a
/// report of the last week, so the dashboard, statistics and reports are not empty on the
/// first visit. Returns the number of events written.
pub async fn backfill(st: &Shared, tenant: TenantId, now: i64) -> AppResult<u64> {
    let Some(ingest) = st.ingest.clone() else {
        return Ok(0);
    };
    let zone = jiff::tz::TimeZone::get("Europe/Istanbul").unwrap_or(jiff::tz::TimeZone::UTC);
    let mut sim = crate::worker::telegram::sim::Sim::new(SimConfig {
        start_at: now - BACKFILL_DAYS * 86_400,
        step_secs: BACKFILL_STEP_SECS,
        ..sim_config(now)
    });
    let mut written = 0u64;
    let mut chunk = Vec::with_capacity(2_000);
    loop {
        let event = sim.generate();
        let done = event.as_ref().is_none_or(|e| e.at() >= now);
        if let Some(e) = event.filter(|e| e.at() < now) {
            let (_, hour) = crate::runtime::ingestion::day_hour(&zone, e.at());
            // The same keep-or-drop for the same second on every run.
            if (e.at().unsigned_abs().wrapping_mul(2_654_435_761) >> 7) % 100 < hour_weight(hour) {
                chunk.push(e);
            }
        }
        if chunk.len() == chunk.capacity() || (done && !chunk.is_empty()) {
            written += chunk.len() as u64;
            let batch = crate::runtime::ingestion::to_batch(tenant, &zone, &chunk);
            ingest
                .submit_batch(tenant, batch)
                .await
                .map_err(|e| crate::error::AppError::Internal(format!("demo history: {e}")))?;
            chunk.clear();
        }
        if done {
            break;
        }
    }
    let st2 = st.clone();
    blocking(move || {
        let scope = st2.store.supervisor_scope(tenant)?;
        let today = crate::domain::stats::today(&zone, now);
        if let Some(week) = crate::domain::stats::report::last_period(
            crate::domain::stats::report::Every::Weekly,
            today,
        ) {
            crate::domain::stats::report::make(&scope, week, now, false)?;
        }
        Ok(())
    })
    .await?;
    Ok(written)
}

pub const DEMO_TAG: &str = "demo";
pub const CAMPAIGN_NAME: &str = "Günlük indirim";

/// Once the demo bot's groups are listed: turns them on for automation with the `demo` tag
/// and sets up a template and an active hourly campaign (09:00–21:00 in Istanbul), so the
/// newcomer sees posts delivered and reported. Does nothing when the demo already has
/// campaigns.
pub async fn prepare_campaign(st: Shared, tenant: TenantId) -> AppResult<()> {
    let Some(mut rx) = st.supervisor.watch(tenant) else {
        return Ok(());
    };
    if rx.wait_for(|s| s.dialogs_reported >= 1).await.is_err() {
        return Ok(());
    }
    let st2 = st.clone();
    let set_up = blocking(move || {
        let now = st2.now();
        let scope = st2.store.supervisor_scope(tenant)?;
        if !scope.shard_read()?.campaigns()?.is_empty() {
            return Ok(None);
        }
        let groups = scope.shard_read()?.groups()?;
        for (chat, g) in &groups {
            if g.can_post {
                crate::domain::groups::update(
                    &scope,
                    None,
                    *chat,
                    crate::domain::groups::GroupPatch {
                        enabled: Some(true),
                        tags: Some(vec![DEMO_TAG.into()]),
                    },
                    now,
                )?;
            }
        }
        let (template, _, _) = crate::domain::templates::create(
            &scope,
            None,
            "Kahve indirimi",
            crate::domain::templates::Content {
                body: "☕ **{group.title}**: bugün ({date}) saat {time} itibarıyla tüm filtre kahvelerde %20 indirim! — _{tenant.name}_".into(),
                format: crate::domain::templates::TemplateFormat::Markdown,
                buttons: vec![vec![crate::domain::templates::Button {
                    label: "Menü".into(),
                    url: "https://example.com/menu".into(),
                }]],
                media: None,
            },
            now,
            None,
        )?;
        let session = scope
            .shard_read()?
            .sessions()?
            .first()
            .map(|(id, _)| id.0)
            .unwrap_or(1);
        let (id, _) = crate::domain::campaigns::create(
            &scope,
            None,
            crate::domain::campaigns::Input {
                name: CAMPAIGN_NAME.into(),
                template,
                version: None,
                chats: Vec::new(),
                tags: vec![DEMO_TAG.into()],
                session: Some(session),
                schedule: botyard_shards::records::ScheduleRec::Every { minutes: 60 },
                window: Some(botyard_shards::records::WindowRec {
                    start_min: 9 * 60,
                    end_min: 21 * 60,
                    days: 0x7f,
                }),
                starts_on: None,
                ends_on: None,
                jitter_secs: 120,
                delete_previous: true,
                pin: false,
                // The demo's groups arrive with its worker's first listing, tagged then.
                force: true,
            },
            now,
        )?;
        let settings = tenancy::settings(&scope)?;
        crate::domain::campaigns::activate(&scope, &settings, id, now)?;
        // The first run comes at once (once the simulated groups are listed), not at the
        // next hour: a visitor sees posts and delivery reports right away.
        let first = now + FIRST_RUN_AFTER_SECS;
        scope.shard_write(|s| -> crate::error::AppResult<()> {
            if let Some(mut rec) = s.campaign(id)? {
                rec.next_run = Some(first);
                s.put_campaign(id, &rec)?;
            }
            Ok(())
        })?;
        Ok(Some((id, Some(first))))
    })
    .await?;
    if let Some((id, next)) = set_up {
        st.scheduler.set(tenant, id, next);
        tracing::info!(tenant_id = tenant.0, "demo campaign set up");
    }
    Ok(())
}
