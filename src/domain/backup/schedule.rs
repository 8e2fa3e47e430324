//! Backups of the running appliance: one at a time, on demand or daily at `backup.at`, with
//! the folder's retention applied after each.

use std::path::PathBuf;
use std::sync::Arc;

use super::create::{Made, Source};
use super::status::{Outcome, Running};
use super::{BackupError, Passphrase, list, retention};
use crate::state::AppState;

/// A backup that could not be made raises this alert (once, until acknowledged).
pub const BACKUP_FAILED: &str = "backup.failed";

/// Claims the one backup run there may be at a time.
pub fn begin(st: &AppState) -> Result<Running, BackupError> {
    st.backups.begin(st.now()).ok_or(BackupError::Running)
}

/// Makes a backup now (into `dir`, else the configured folder); refused while one runs. The
/// folder's retention applies when the backup went to the configured folder.
pub async fn run_now(
    st: &Arc<AppState>,
    seal: Option<Passphrase>,
    dir: Option<PathBuf>,
) -> Result<Made, BackupError> {
    let run = begin(st)?;
    run_claimed(st, run, seal, dir).await
}

/// Makes the backup `run` claimed.
pub async fn run_claimed(
    st: &Arc<AppState>,
    run: Running,
    seal: Option<Passphrase>,
    dir: Option<PathBuf>,
) -> Result<Made, BackupError> {
    let now = st.now();
    let configured = st.config.backup_dir();
    let dir = dir.unwrap_or_else(|| configured.clone());
    let st2 = st.clone();
    let dir2 = dir.clone();
    let (done, made) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("backup".into())
        .spawn(move || {
            let src = Source {
                store: &st2.store,
                media_root: crate::domain::tenant_workers::media_root(&st2),
                master_key: st2.config.master_key_path(),
                key_id: st2.keyring.primary_id(),
            };
            let _ = done.send(super::create(&src, &dir2, seal.as_ref(), now));
        });
    let lost = |what: String| BackupError::Io {
        path: dir.display().to_string(),
        source: std::io::Error::other(what),
    };
    if let Err(e) = spawned {
        return Err(lost(e.to_string()));
    }
    let made = made
        .await
        .map_err(|_| lost("the backup thread ended early".into()))?;
    let made = match made {
        Ok(m) => m,
        Err(e) => {
            st.metrics.backup("failed");
            run.finish(Outcome::Failed {
                at: now,
                error: e.to_string(),
            });
            return Err(e);
        }
    };
    st.metrics.backup("ok");
    run.finish(Outcome::Made {
        at: now,
        name: made
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bytes: made.bytes,
        rows: made.manifest.total_rows(),
        secs: made.secs,
    });
    tracing::info!(
        file = %made.path.display(),
        bytes = made.bytes,
        rows = made.manifest.total_rows(),
        secs = made.secs,
        "backup made"
    );
    if dir == configured {
        prune(st, &dir);
    }
    Ok(made)
}

/// Removes the backups the retention does not keep.
fn prune(st: &AppState, dir: &std::path::Path) {
    let all = match list(dir) {
        Ok(all) => all,
        Err(e) => {
            tracing::warn!(error = %e, "backups not pruned");
            return;
        }
    };
    let cfg = &st.config.backup;
    for b in retention::to_remove(&all, cfg.keep_daily, cfg.keep_weekly) {
        match std::fs::remove_file(&b.path) {
            Ok(()) => tracing::info!(file = %b.path.display(), "old backup removed"),
            Err(e) => {
                tracing::warn!(file = %b.path.display(), error = %e, "old backup not removed")
            }
        }
    }
}

/// Whether the daily backup is due: past today's time (UTC) and none made since.
pub fn is_due(now: i64, at_minute: u16, newest: Option<i64>) -> bool {
    let today = now.div_euclid(86_400) * 86_400 + i64::from(at_minute) * 60;
    now >= today && newest.is_none_or(|n| n < today)
}

/// The daily backup: a look every `every` until `stop`. A failure raises an alert and is tried
/// again at the next look.
pub async fn daily(
    st: std::sync::Weak<AppState>,
    every: std::time::Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(every) => {}
        }
        let Some(s) = st.upgrade() else { return };
        let Some(at) = s.config.backup.at_minute else {
            continue;
        };
        let newest = list(&s.config.backup_dir())
            .ok()
            .and_then(|l| l.first().map(|b| b.made_at));
        if !is_due(s.now(), at, newest) {
            continue;
        }
        if let Err(e) = run_now(&s, None, None).await {
            if matches!(e, BackupError::Running) {
                continue;
            }
            tracing::warn!(error = %e, "the scheduled backup failed; it is tried again soon");
            let detail = e.to_string();
            let now = s.now();
            let s2 = s.clone();
            let _ = crate::state::blocking(move || {
                crate::domain::alerts::raise(&s2.store, now, BACKUP_FAILED, None, "backup", &detail)
            })
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_a_day_after_its_time() {
        let day = 20_000 * 86_400;
        let at = 3 * 60 + 30;
        assert!(!is_due(day + 3 * 3600, at, None));
        assert!(is_due(day + 4 * 3600, at, None));
        assert!(is_due(day + 4 * 3600, at, Some(day - 3600)));
        assert!(!is_due(day + 4 * 3600, at, Some(day + 3 * 3600 + 1900)));
        // The day after, due again.
        assert!(is_due(
            day + 86_400 + 4 * 3600,
            at,
            Some(day + 3 * 3600 + 1900)
        ));
    }
}
