//! Whether a backup runs now and how the last one ended, for the console and the API. Also
//! the one-at-a-time rule: a backup runs only while it holds the [`Running`] guard.

use std::sync::{Arc, Mutex};

/// How the last backup ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Made {
        at: i64,
        name: String,
        bytes: u64,
        rows: u64,
        secs: f64,
    },
    Failed {
        at: i64,
        error: String,
    },
}

#[derive(Default)]
pub struct Status {
    inner: Mutex<Inner>,
}

#[derive(Default, Clone)]
struct Inner {
    running_since: Option<i64>,
    last: Option<Outcome>,
}

/// Held while a backup runs (it can be handed to the task that runs it); dropping it marks
/// the run over.
pub struct Running {
    status: Arc<Status>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut g) = self.status.inner.lock() {
            g.running_since = None;
        }
    }
}

impl Running {
    /// Records how the run ended.
    pub fn finish(self, outcome: Outcome) {
        if let Ok(mut g) = self.status.inner.lock() {
            g.last = Some(outcome);
        }
    }
}

impl Status {
    /// Starts a run, unless one is running.
    pub fn begin(self: &Arc<Self>, now: i64) -> Option<Running> {
        let mut g = self.inner.lock().ok()?;
        if g.running_since.is_some() {
            return None;
        }
        g.running_since = Some(now);
        Some(Running {
            status: self.clone(),
        })
    }

    /// Since when a backup runs, and how the last one ended.
    pub fn read(&self) -> (Option<i64>, Option<Outcome>) {
        self.inner
            .lock()
            .map(|g| (g.running_since, g.last.clone()))
            .unwrap_or((None, None))
    }
}
