//! `botyard tenants move ID --shard N`.

use crate::commands::admin_client;
use crate::config::Config;
use crate::http::admin_socket::MoveRequest;
use crate::http::tenant_routes::MovedOut;

/// Moves a tenant through the running server.
pub async fn move_to(config: &Config, tenant: u64, shard: u32) -> Result<String, String> {
    let m: MovedOut = admin_client::post(
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
