//! The local admin socket, `<data>/admin.sock`: how `botyard` commands on the server's own
//! machine reach the running server (a backup, a tenant move), since only the server opens
//! the store. Only the server's own user, or root, may talk to it: the data folder is private,
//! the socket is 0600, and each peer's user id is checked when it connects. Requests here have
//! no time limit, so a command can wait for a long backup. The client is
//! `commands::admin_client`.

use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::{UnixListener, UnixStream};

use crate::domain::backup::{Passphrase, schedule};
use crate::error::AppResult;
use crate::state::Shared;

pub const SOCKET: &str = "admin.sock";

/// Where a data folder's admin socket is.
pub fn path(data: &Path) -> PathBuf {
    data.join(SOCKET)
}

/// Binds the socket, replacing a stale one a crash left (the store's lock already proved no
/// other server runs on this folder).
pub fn bind(data: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let p = path(data);
    match std::fs::remove_file(&p) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let l = UnixListener::bind(&p)?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// Accepts only peers running as this process's user or as root.
struct SameUser {
    inner: UnixListener,
    uid: u32,
}

impl axum::serve::Listener for SameUser {
    type Io = UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((s, a)) => match s.peer_cred() {
                    Ok(c) if c.uid() == self.uid || c.uid() == 0 => return (s, a),
                    Ok(c) => tracing::warn!(uid = c.uid(), "admin socket: another user refused"),
                    Err(e) => tracing::warn!(error = %e, "admin socket: peer unknown, refused"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Serves the socket until `stop`, then removes it.
pub async fn serve(st: Shared, listener: UnixListener, stop: tokio::sync::oneshot::Receiver<()>) {
    let p = path(&st.config.data_dir);
    let l = SameUser {
        inner: listener,
        uid: rustix::process::geteuid().as_raw(),
    };
    let app = router(st);
    let r = axum::serve(l, app)
        .with_graceful_shutdown(async move {
            let _ = stop.await;
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "admin socket stopped");
    }
    let _ = std::fs::remove_file(p);
}

fn router(st: Shared) -> Router {
    Router::new()
        .route("/v1/backups", post(backup))
        .route("/v1/tenants/{id}/move", post(move_tenant))
        .route("/v1/tenants/{id}/export", post(export_tenant))
        .route("/v1/tenants/import", post(import_tenant))
        .route("/v1/admin/reset-password", post(reset_password))
        .route("/v1/admin/create", post(create_admin))
        .with_state(st)
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// A folder other than the configured one (no retention applies there).
    pub to: Option<PathBuf>,
    /// Carry the master key, sealed with this passphrase.
    pub passphrase: Option<String>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct BackupMade {
    pub file: PathBuf,
    pub bytes: u64,
    pub seconds: f64,
    pub rows: u64,
    pub files: usize,
    pub media: usize,
    pub sealed: bool,
}

async fn backup(
    State(st): State<Shared>,
    Json(b): Json<BackupRequest>,
) -> AppResult<Json<BackupMade>> {
    let seal = b.passphrase.as_deref().map(Passphrase::new).transpose()?;
    let sealed = seal.is_some();
    let made = schedule::run_now(&st, seal, b.to).await?;
    Ok(Json(BackupMade {
        bytes: made.bytes,
        seconds: made.secs,
        rows: made.manifest.total_rows(),
        files: made.manifest.files.len(),
        media: made.manifest.media.len(),
        file: made.path,
        sealed,
    }))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub shard: u32,
}

async fn move_tenant(
    State(st): State<Shared>,
    UrlPath(id): UrlPath<u64>,
    Json(b): Json<MoveRequest>,
) -> AppResult<Json<crate::http::tenant_routes::MovedOut>> {
    let scope = st
        .store
        .system_admin()
        .tenant(botyard_shards::ids::TenantId(id))
        .map_err(|_| crate::error::AppError::NotFound("tenant"))?;
    let moved = crate::domain::tenant_moves::move_tenant(&st, None, scope, b.shard).await?;
    Ok(Json(moved.into()))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The bundle file to write (absolute; it must not exist).
    pub to: PathBuf,
    pub passphrase: String,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct ExportMade {
    pub file: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    pub media: usize,
    pub sessions_released: usize,
}

async fn export_tenant(
    State(st): State<Shared>,
    UrlPath(id): UrlPath<u64>,
    Json(b): Json<ExportRequest>,
) -> AppResult<Json<ExportMade>> {
    let pass = Passphrase::new(&b.passphrase)?;
    if !b.to.is_absolute() {
        return Err(crate::error::AppError::invalid(
            "to",
            "give an absolute path",
        ));
    }
    let tenant = botyard_shards::ids::TenantId(id);
    st.store
        .system_admin()
        .tenant(tenant)
        .map_err(|_| crate::error::AppError::NotFound("tenant"))?;
    let (made, released) =
        crate::domain::tenant_moves::export_tenant(&st, tenant, pass, b.to).await?;
    Ok(Json(ExportMade {
        file: made.path,
        bytes: made.bytes,
        rows: made.rows,
        media: made.media,
        sessions_released: released,
    }))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The bundle file to read (absolute).
    pub from: PathBuf,
    pub passphrase: String,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct ImportDone {
    pub tenant: u64,
    pub name: String,
    pub source_id: u64,
    pub rows: u64,
    pub media: usize,
    pub members: usize,
    pub active: bool,
}

impl From<crate::domain::bundle::Imported> for ImportDone {
    fn from(d: crate::domain::bundle::Imported) -> Self {
        ImportDone {
            tenant: d.tenant.0,
            name: d.name,
            source_id: d.source_id,
            rows: d.rows,
            media: d.media,
            members: d.members,
            active: d.status == botyard_shards::records::TenantStatus::Active,
        }
    }
}

async fn import_tenant(
    State(st): State<Shared>,
    Json(b): Json<ImportRequest>,
) -> AppResult<Json<ImportDone>> {
    let pass = Passphrase::new(&b.passphrase)?;
    if !b.from.is_absolute() {
        return Err(crate::error::AppError::invalid(
            "from",
            "give an absolute path",
        ));
    }
    let done = crate::domain::tenant_moves::import_tenant(&st, b.from, pass).await?;
    Ok(Json(done.into()))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    pub email: String,
    /// The new password; without one a one-time link is made instead.
    pub password: Option<String>,
}

async fn new_password(
    st: &Shared,
    password: Option<String>,
) -> AppResult<crate::domain::admin_recovery::NewPassword> {
    use crate::domain::admin_recovery::NewPassword;
    Ok(match password {
        Some(pw) => NewPassword::Hash(
            crate::domain::auth::hash_new_password(st, "password", crate::config::Secret::new(pw))
                .await?,
        ),
        None => NewPassword::Link,
    })
}

async fn reset_password(
    State(st): State<Shared>,
    Json(b): Json<RecoveryRequest>,
) -> AppResult<Json<crate::domain::admin_recovery::Recovered>> {
    let how = new_password(&st, b.password).await?;
    let (now, base) = (st.now(), st.base_url());
    let store = st.store.clone();
    let done = crate::state::blocking(move || {
        crate::domain::admin_recovery::reset_password(&store, &b.email, how, now, &base)
    })
    .await?;
    Ok(Json(done))
}

async fn create_admin(
    State(st): State<Shared>,
    Json(b): Json<RecoveryRequest>,
) -> AppResult<Json<crate::domain::admin_recovery::Recovered>> {
    use crate::domain::admin_recovery::NewPassword;
    let (hash, with_link) = match new_password(&st, b.password).await? {
        NewPassword::Hash(h) => (h, false),
        NewPassword::Link => {
            let secret = crate::security::crypto::random_token();
            (
                st.hashes.hash(crate::config::Secret::new(secret)).await?,
                true,
            )
        }
    };
    let (now, base) = (st.now(), st.base_url());
    let store = st.store.clone();
    let done = crate::state::blocking(move || {
        crate::domain::admin_recovery::create_admin(&store, &b.email, hash, with_link, now, &base)
    })
    .await?;
    Ok(Json(done))
}
