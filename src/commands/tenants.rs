//! `botyard tenants move | export | import`.

use std::path::{Path, PathBuf};

use botyard_shards::ids::TenantId;
use botyard_shards::records::TenantStatus;

use crate::commands::admin_client::{self as client, ClientError};
use crate::config::Config;
use crate::domain::backup::Passphrase;
use crate::http::admin_socket::{
    ExportMade, ExportRequest, ImportDone, ImportRequest, MoveRequest,
};
use crate::http::tenant_routes::MovedOut;

/// Moves a tenant through the running server.
pub async fn move_to(config: &Config, tenant: u64, shard: u32) -> Result<String, String> {
    let m: MovedOut = client::post(
        &config.data_dir,
        &format!("/v1/tenants/{tenant}/move"),
        &MoveRequest { shard },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "tenant {tenant} moved from shard {} to shard {}: {} rows, its writes paused {} ms, {} ms in all\n",
        m.from, m.to, m.rows, m.paused_ms, m.took_ms
    ))
}

/// The transfer passphrase from `--passphrase-file`, else `BOTYARD_BUNDLE_PASSPHRASE`.
pub fn passphrase(file: Option<&Path>) -> Result<Passphrase, String> {
    let raw = match file {
        Some(f) => std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        None => std::env::var("BOTYARD_BUNDLE_PASSPHRASE").map_err(|_| {
            "a bundle is sealed with a transfer passphrase: give --passphrase-file or BOTYARD_BUNDLE_PASSPHRASE"
                .to_string()
        })?,
    };
    Passphrase::new(&raw).map_err(|e| e.to_string())
}

fn absolute(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// Writes a tenant's bundle through the running server, or from the store when it is stopped.
pub async fn export(
    config: &Config,
    tenant: u64,
    to: &Path,
    pass: Passphrase,
) -> Result<String, String> {
    let req = ExportRequest {
        to: absolute(to)?,
        passphrase: pass.expose().to_string(),
    };
    let path = format!("/v1/tenants/{tenant}/export");
    let made: ExportMade = match client::post(&config.data_dir, &path, &req).await {
        Ok(m) => m,
        Err(ClientError::NotRunning(_)) => {
            let config = config.clone();
            tokio::task::spawn_blocking(move || {
                export_offline(&config, TenantId(tenant), &req.to, &pass)
            })
            .await
            .map_err(|e| e.to_string())??
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(format!(
        "tenant {tenant} written to {}: {} rows, {} media files, {} bytes\n  {} sessions released here; the tenant stays suspended until you delete it\n  import it on the other appliance with: botyard tenants import FILE\n",
        made.file.display(),
        made.rows,
        made.media,
        made.bytes,
        made.sessions_released
    ))
}

fn export_offline(
    config: &Config,
    tenant: TenantId,
    to: &Path,
    pass: &Passphrase,
) -> Result<ExportMade, String> {
    let (store, keyring) = super::open_store(config)?;
    let now = jiff::Timestamp::now().as_second();
    let scope = store
        .system_admin()
        .tenant(tenant)
        .map_err(|_| format!("there is no tenant {}", tenant.0))?;
    if scope.status() != TenantStatus::Suspended {
        crate::domain::tenancy::set_status(&scope, TenantStatus::Suspended, now)
            .map_err(|e| e.to_string())?;
    }
    let media = config.data_dir.join("media");
    let (made, released) =
        crate::domain::tenant_moves::hand_over(&store, &keyring, &media, tenant, pass, to, now)
            .map_err(|e| e.to_string())?;
    Ok(ExportMade {
        file: made.path,
        bytes: made.bytes,
        rows: made.rows,
        media: made.media,
        sessions_released: released,
    })
}

/// Imports a bundle through the running server, or into the store when it is stopped.
pub async fn import(config: &Config, file: &Path, pass: Passphrase) -> Result<String, String> {
    let req = ImportRequest {
        from: absolute(file)?,
        passphrase: pass.expose().to_string(),
    };
    let done: ImportDone = match client::post(&config.data_dir, "/v1/tenants/import", &req).await {
        Ok(d) => d,
        Err(ClientError::NotRunning(_)) => {
            let config = config.clone();
            tokio::task::spawn_blocking(move || -> Result<ImportDone, String> {
                let (store, keyring) = super::open_store(&config)?;
                let media = config.data_dir.join("media");
                let now = jiff::Timestamp::now().as_second();
                crate::domain::bundle::import(&store, &keyring, &media, &req.from, &pass, now)
                    .map(ImportDone::from)
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())??
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(format!(
        "imported \"{}\" (tenant {} there) as tenant {}: {} rows, {} media files, {} members{}\n",
        done.name,
        done.source_id,
        done.tenant,
        done.rows,
        done.media,
        done.members,
        if done.active {
            "; its worker starts with its sessions"
        } else {
            "; it stays suspended as it was"
        }
    ))
}
