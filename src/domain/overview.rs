//! The appliance at a glance for the admin's dashboard: tenants by status and the data
//! folder's files by size. Both cost a scan (every tenant row, every media file), so the
//! answer is kept for a couple of seconds and shared by every dashboard asking meanwhile;
//! what changes by the second (workers, event rate) comes live from the supervisor instead.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use botyard_shards::Store;

use crate::error::AppResult;

/// How long an overview is served before it is computed again.
const FRESH_FOR: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Overview {
    pub tenants_active: u64,
    pub tenants_suspended: u64,
    /// `(path inside the data folder, bytes)`: the catalog, each shard, then all media.
    pub files: Vec<(String, u64)>,
    /// Campaign posts sent and failed today (UTC).
    pub posts_today: (u64, u64),
}

#[derive(Default)]
pub struct Cache(Mutex<Option<(Instant, Arc<Overview>)>>);

/// The overview, at most [`FRESH_FOR`] old.
pub fn get(
    cache: &Cache,
    store: &Store,
    data_dir: &std::path::Path,
    now: i64,
) -> AppResult<Arc<Overview>> {
    {
        let g = cache.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, o)) = g.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(o.clone());
        }
    }
    let (tenants_active, tenants_suspended) = store.catalog_read()?.tenant_count_by_status()?;
    let o = Arc::new(Overview {
        tenants_active,
        tenants_suspended,
        files: disk_usage(data_dir),
        posts_today: store.posts_on(botyard_shards::ids::Day::utc(now))?,
    });
    *cache.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), o.clone()));
    Ok(o)
}

/// Sizes of the store's files and, summed, of the media folder.
fn disk_usage(data: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut walk = vec![(data.to_path_buf(), String::new())];
    let mut media = 0u64;
    while let Some((dir, prefix)) = walk.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if md.is_dir() {
                // Logs are not the store's; they rotate by themselves.
                if name != "logs" {
                    walk.push((e.path(), format!("{name}/")));
                }
            } else if name.starts_with("media/") {
                media += md.len();
            } else if name.ends_with(".redb") {
                out.push((name, md.len()));
            }
        }
    }
    out.sort();
    out.push(("media/".into(), media));
    out
}
