//! The server's recent log lines, kept in memory for the console: the last few thousand
//! (every tenant's and the server's own, at INFO and above), searchable, and followed live by
//! whoever watches. Standard error (the journal under systemd) keeps the full log; this is
//! the window onto it an admin reads in a browser.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tracing::Level;

/// Lines kept.
const KEEP: usize = 5_000;

#[derive(Debug)]
pub struct Entry {
    /// RFC 3339 time, to the millisecond.
    pub time: String,
    pub level: Level,
    /// The tenant the line belongs to, if any.
    pub tenant: Option<u64>,
    pub message: String,
}

impl Entry {
    /// Whether it passes a filter: at least `min` severe, of `tenant` when one is given, and
    /// containing `needle` (already folded with `search_fold`) when one is given.
    pub fn matches(&self, min: Level, tenant: Option<u64>, needle: &str) -> bool {
        // tracing orders levels by verbosity: ERROR < WARN < INFO.
        self.level <= min
            && tenant.is_none_or(|t| self.tenant == Some(t))
            && (needle.is_empty() || botyard_shards::search_fold(&self.message).contains(needle))
    }
}

pub struct RecentLog {
    lines: Mutex<VecDeque<Arc<Entry>>>,
    live: broadcast::Sender<Arc<Entry>>,
}

impl Default for RecentLog {
    fn default() -> Self {
        RecentLog {
            lines: Mutex::new(VecDeque::with_capacity(256)),
            live: broadcast::channel(1024).0,
        }
    }
}

impl RecentLog {
    pub fn push(&self, e: Entry) {
        let e = Arc::new(e);
        {
            let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            if lines.len() >= KEEP {
                lines.pop_front();
            }
            lines.push_back(e.clone());
        }
        // Nobody watching is fine.
        let _ = self.live.send(e);
    }

    /// The newest `limit` lines passing the filter, oldest first.
    pub fn tail(
        &self,
        min: Level,
        tenant: Option<u64>,
        contains: &str,
        limit: usize,
    ) -> Vec<Arc<Entry>> {
        let needle = botyard_shards::search_fold(contains);
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Arc<Entry>> = lines
            .iter()
            .rev()
            .filter(|e| e.matches(min, tenant, &needle))
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Lines from now on.
    pub fn follow(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(level: Level, tenant: Option<u64>, m: &str) -> Entry {
        Entry {
            time: "t".into(),
            level,
            tenant,
            message: m.into(),
        }
    }

    #[test]
    fn keeps_the_newest_lines_and_filters_by_level_tenant_and_text() {
        let r = RecentLog::default();
        let mut rx = r.follow();
        for i in 0..KEEP + 10 {
            r.push(e(Level::INFO, None, &format!("line {i}")));
        }
        r.push(e(Level::WARN, Some(7), "Kahve DÜKKANI slow"));
        r.push(e(Level::ERROR, Some(8), "eight failed"));
        let all = r.tail(Level::INFO, None, "", 10_000);
        assert_eq!(all.len(), KEEP);
        assert!(all[0].message != "line 0", "the oldest went");
        let warn = r.tail(Level::WARN, None, "", 100);
        assert_eq!(warn.len(), 2);
        assert_eq!(r.tail(Level::INFO, Some(7), "", 100).len(), 1);
        assert_eq!(r.tail(Level::INFO, None, "dükkanı", 100).len(), 1);
        // A follower that fell behind is told how much it missed, then goes on.
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        assert!(rx.try_recv().is_ok());
    }
}
