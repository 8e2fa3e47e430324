//! The appliance's own settings an admin changes in the console: the platform bot, the Telegram
//! application, the public URL and the branding. They are stored sealed in the catalog and
//! applied at once. A key set in `botyard.toml` or the environment wins and shows as locked in
//! the console, which never silently overrides the configuration file (DESIGN.md).

pub mod effective;

pub use effective::*;

use std::sync::Arc;

use botyard_shards::ids::AccountId;

use crate::error::{AppError, AppResult};
use crate::security::keys::catalog_aad;
use crate::state::{Shared, blocking};

/// Saves the settings and applies them: links use the new URL and pages the new brand at
/// once; workers started from now on use the new Telegram app; a new platform bot token
/// restarts the platform bot.
pub async fn save(st: &Shared, actor: AccountId, input: Input) -> AppResult<Changed> {
    let _one_at_a_time = st.appliance_save.lock().await;
    let locked = st.appliance().locked;
    let (store, keyring) = (st.store.clone(), st.keyring.clone());
    let now = st.now();
    let (next, what) = blocking(move || {
        let (current, _) = load(&store, &keyring)?;
        let next = validate(&input, &current, locked)?;
        let what = changed(&current, &next);
        if what != Changed::default() {
            let sealed = seal_settings(&keyring, &next)?;
            let names = [
                (what.platform_bot, "platform_bot_token"),
                (what.telegram, "telegram"),
                (what.public_url, "public_url"),
                (what.brand, "brand"),
            ]
            .iter()
            .filter(|(c, _)| *c)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",");
            store.catalog_write(|c| {
                c.put_secret(SETTINGS, &sealed)?;
                c.audit(&audit(actor, now, "appliance.settings", names))?;
                Ok::<_, AppError>(())
            })?;
        }
        Ok((next, what))
    })
    .await?;
    apply(st, &next, st.appliance().brand.logo.clone(), &what).await;
    Ok(what)
}

async fn apply(st: &Shared, next: &Stored, logo: Option<Arc<Logo>>, what: &Changed) {
    let eff = Effective::build(&st.config, &st.bound_url, next, logo);
    if what.telegram {
        let app = eff
            .telegram
            .as_ref()
            .map(|(id, hash)| telegram_app(&st.config, *id, hash));
        st.supervisor.set_telegram_app(app);
    }
    if what.platform_bot {
        st.supervisor.set_platform_token(
            eff.platform_bot_token
                .as_ref()
                .map(|t| zeroize::Zeroizing::new(t.expose().to_string())),
        );
    }
    st.set_appliance(eff);
    if what.platform_bot {
        if !crate::domain::tenant_workers::start_platform(st).await {
            st.supervisor
                .stop(crate::runtime::supervisor::WorkerKey::Platform)
                .await;
        }
        tracing::info!("platform bot changed in the console; its worker restarted");
    }
}

/// Saves the seller's legal details printed on invoices from now on.
pub async fn save_seller(st: &Shared, actor: AccountId, seller: Seller) -> AppResult<()> {
    let _one_at_a_time = st.appliance_save.lock().await;
    let (store, keyring) = (st.store.clone(), st.keyring.clone());
    let now = st.now();
    let next = blocking(move || {
        let (mut next, _) = load(&store, &keyring)?;
        next.seller = seller;
        let sealed = seal_settings(&keyring, &next)?;
        store.catalog_write(|c| {
            c.put_secret(SETTINGS, &sealed)?;
            c.audit(&audit(actor, now, "appliance.seller", String::new()))?;
            Ok::<_, AppError>(())
        })?;
        Ok(next)
    })
    .await?;
    let what = Changed {
        seller: true,
        ..Changed::default()
    };
    apply(st, &next, st.appliance().brand.logo.clone(), &what).await;
    Ok(())
}

/// Saves who may sign up through the platform bot, on which plan, and the referral reward.
pub async fn save_signup(st: &Shared, actor: AccountId, policy: SignupPolicy) -> AppResult<()> {
    if policy.reward_days > REWARD_DAYS_MAX {
        return Err(AppError::Invalid {
            code: "signup.reward_days",
            field: "reward_days".into(),
            message: format!("a reward is 0 to {REWARD_DAYS_MAX} days"),
        });
    }
    let _one_at_a_time = st.appliance_save.lock().await;
    let (store, keyring) = (st.store.clone(), st.keyring.clone());
    let now = st.now();
    let next = blocking(move || {
        if let Some(p) = policy.plan
            && store.catalog_read()?.plan(p)?.is_none()
        {
            return Err(AppError::Invalid {
                code: "plan.unknown",
                field: "plan".into(),
                message: format!("plan {p} does not exist"),
            });
        }
        let (mut next, _) = load(&store, &keyring)?;
        let detail = format!(
            "mode={} plan={} reward_days={}",
            policy.mode.code(),
            policy
                .plan
                .map_or_else(|| "cheapest".into(), |p| p.to_string()),
            policy.reward_days
        );
        next.signup = policy;
        let sealed = seal_settings(&keyring, &next)?;
        store.catalog_write(|c| {
            c.put_secret(SETTINGS, &sealed)?;
            c.audit(&audit(actor, now, "appliance.signup", detail))?;
            Ok::<_, AppError>(())
        })?;
        Ok(next)
    })
    .await?;
    apply(
        st,
        &next,
        st.appliance().brand.logo.clone(),
        &Changed::default(),
    )
    .await;
    Ok(())
}

/// Stores a new logo (or removes it with `None`) and shows it at once.
pub async fn set_logo(st: &Shared, actor: AccountId, bytes: Option<Vec<u8>>) -> AppResult<()> {
    let _one_at_a_time = st.appliance_save.lock().await;
    let logo = match bytes {
        Some(b) => Some(Arc::new(logo_of(b)?)),
        None => None,
    };
    let (store, keyring) = (st.store.clone(), st.keyring.clone());
    let now = st.now();
    let for_store = logo.clone();
    let stored = blocking(move || {
        let sealed = match &for_store {
            Some(l) => Some(keyring.seal(&l.bytes, &catalog_aad(LOGO))?),
            None => None,
        };
        store.catalog_write(|c| {
            match &sealed {
                Some(s) => c.put_secret(LOGO, s)?,
                None => c.delete_secret(LOGO)?,
            }
            let what = if sealed.is_some() { "set" } else { "removed" };
            c.audit(&audit(actor, now, "appliance.logo", what.into()))?;
            Ok::<_, AppError>(())
        })?;
        Ok(load(&store, &keyring)?.0)
    })
    .await?;
    let eff = Effective::build(&st.config, &st.bound_url, &stored, logo);
    st.set_appliance(eff);
    Ok(())
}

/// Saves the SMTP server (or forgets it); the sender uses it from its next pass. Refused
/// while the configuration file fixes the server.
pub async fn save_smtp(
    st: &Shared,
    actor: AccountId,
    input: crate::domain::mail::settings::SmtpInput,
) -> AppResult<()> {
    let _one_at_a_time = st.appliance_save.lock().await;
    if st.appliance().mail.as_ref().is_some_and(|m| m.locked) {
        return Err(AppError::Conflict {
            code: "mail.locked",
            message:
                "the configuration file sets the mail server (mail.smtp_host); change it there"
                    .into(),
        });
    }
    let (store, keyring) = (st.store.clone(), st.keyring.clone());
    let now = st.now();
    let next = blocking(move || {
        let (mut next, _) = load(&store, &keyring)?;
        next.smtp = crate::domain::mail::settings::validate(&input, next.smtp.as_ref())?;
        let sealed = seal_settings(&keyring, &next)?;
        let what = if next.smtp.is_some() {
            "set"
        } else {
            "removed"
        };
        store.catalog_write(|c| {
            c.put_secret(SETTINGS, &sealed)?;
            c.audit(&audit(actor, now, "appliance.mail", what.into()))?;
            Ok::<_, AppError>(())
        })?;
        Ok(next)
    })
    .await?;
    let eff = Effective::build(
        &st.config,
        &st.bound_url,
        &next,
        st.appliance().brand.logo.clone(),
    );
    st.set_appliance(eff);
    st.mail_wake.notify_one();
    Ok(())
}
