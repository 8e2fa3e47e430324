//! A worker's life: start it (spawn, sandbox, first frame), keep it running with backoff
//! and jitter, quarantine it when it keeps crashing, and stop it.

use super::*;

impl Supervisor {
    pub(super) async fn keep_running(
        self: Arc<Self>,
        key: WorkerKey,
        sessions: Vec<SessionSpec>,
        media_dir: Option<PathBuf>,
        status: Arc<watch::Sender<WorkerStatus>>,
        mut ctl: Control,
    ) {
        let mut crashes: VecDeque<Instant> = VecDeque::new();
        let mut backoff = self.cfg.backoff_min;
        loop {
            status.send_modify(|s| s.state = WorkerState::Starting);
            let started = Instant::now();
            let end = self
                .run_once(key, &sessions, media_dir.as_deref(), &status, &mut ctl)
                .await;
            status.send_modify(|s| {
                s.pid = None;
                s.last_exit = Some(end.to_string());
                // The logins this process held died with it.
                s.logins = lost_logins(&s.logins);
            });
            if matches!(end, RunEnd::Stopped) || *ctl.stop.borrow() {
                status.send_modify(|s| s.state = WorkerState::Stopped);
                return;
            }
            tracing::warn!(reason = %end, "worker ended; restarting");
            let now = Instant::now();
            crashes.push_back(now);
            while crashes
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.cfg.crash_window)
            {
                crashes.pop_front();
            }
            if started.elapsed() > self.cfg.backoff_max {
                backoff = self.cfg.backoff_min;
            }
            if crashes.len() > self.cfg.crash_limit {
                tracing::error!(
                    crashes = crashes.len(),
                    "worker quarantined after repeated crashes"
                );
                self.record_alert(
                    key,
                    crate::domain::alerts::WORKER_QUARANTINED,
                    format!("worker {key}"),
                    format!(
                        "{} crashes within {} s; last: {}",
                        crashes.len(),
                        self.cfg.crash_window.as_secs(),
                        status.borrow().last_exit.clone().unwrap_or_default()
                    ),
                )
                .await;
                // Shown once the alert is durable.
                status.send_modify(|s| s.state = WorkerState::Quarantined);
                tokio::select! {
                    _ = ctl.stop.changed() => { status.send_modify(|s| s.state = WorkerState::Stopped); return; }
                    _ = ctl.release.recv() => { crashes.clear(); backoff = self.cfg.backoff_min; }
                }
            } else {
                status.send_modify(|s| s.state = WorkerState::Backoff);
                let jitter = rand::random_range(0.0..0.25) * backoff.as_secs_f64();
                let wait = backoff + Duration::from_secs_f64(jitter);
                tokio::select! {
                    _ = ctl.stop.changed() => { status.send_modify(|s| s.state = WorkerState::Stopped); return; }
                    _ = tokio::time::sleep(wait) => {}
                }
                backoff = (backoff * 2).min(self.cfg.backoff_max);
            }
            status.send_modify(|s| s.restarts += 1);
        }
    }

    /// One life of a worker process.
    pub(super) async fn run_once(
        &self,
        key: WorkerKey,
        sessions: &[SessionSpec],
        media_dir: Option<&std::path::Path>,
        status: &Arc<watch::Sender<WorkerStatus>>,
        ctl: &mut Control,
    ) -> RunEnd {
        tokio::select! {
            _ = self.limiter.acquire() => {}
            _ = ctl.stop.changed() => return RunEnd::Stopped,
        }
        let memory_mb = status.borrow().memory_limit_mb;
        let opts = crate::worker::sandbox::spawn::SpawnOptions {
            data_limit: memory_mb.map(|mb| u64::from(mb) * 1024 * 1024),
            run_as: self.cfg.run_as,
        };
        let (mut child, sock) =
            match crate::worker::sandbox::spawn::spawn_worker(&self.cfg.exe, media_dir, opts) {
                Ok(c) => c,
                Err(e) => return RunEnd::Failed(format!("cannot start worker: {e}")),
            };
        let pid = child.id();
        // Into its capped cgroup before it hears its configuration (and so before it holds
        // any session).
        let cgroup = match (&self.cfg.cgroup, pid) {
            (Some(cg), Some(pid)) => {
                let limit = status.borrow().memory_limit_mb;
                match cg.place(&key.to_string(), pid, limit) {
                    Ok(()) => Some((cg.clone(), cg.oom_kills(&key.to_string()))),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot place the worker in its cgroup; the memory watchdog applies");
                        None
                    }
                }
            }
            _ => None,
        };
        status.send_modify(|s| {
            s.memory_enforcement = s.memory_limit_mb.map(|_| {
                if cgroup.is_some() {
                    MemoryEnforcement::Cgroup
                } else {
                    MemoryEnforcement::Watchdog
                }
            })
        });
        let mut result = self
            .talk(key, sessions, media_dir, status, ctl, sock, pid)
            .await;
        // However it ended, the process is gone before this returns.
        match &result {
            RunEnd::Stopped => {
                if tokio::time::timeout(self.cfg.stop_deadline, child.wait())
                    .await
                    .is_err()
                {
                    tracing::warn!("worker did not stop in time; killing it");
                    let _ = child.kill().await;
                }
            }
            RunEnd::Failed(why) => {
                // A worker that died by itself (a signal, an exit) is described by how it
                // ended, not by the broken connection that followed.
                match tokio::time::timeout(EXIT_GRACE, child.wait()).await {
                    Ok(Ok(exit)) => {
                        if let Some(how) = describe_exit(exit, memory_mb) {
                            // A lost connection is the death's echo; another reason stays beside it.
                            let echo = [
                                "bad frame",
                                "worker closed",
                                "worker connection",
                                "sending init",
                            ]
                            .iter()
                            .any(|p| why.starts_with(p));
                            result =
                                RunEnd::Failed(if echo { how } else { format!("{how}; {why}") });
                        }
                    }
                    _ => {
                        let _ = child.kill().await;
                    }
                }
            }
        }
        let _ = child.wait().await;
        if let Some((cg, kills_before)) = cgroup {
            let name = key.to_string();
            if cg.oom_kills(&name) > kills_before
                && let RunEnd::Failed(why) = &mut result
            {
                *why = format!("killed by the kernel over its memory.max ({why})");
            }
            cg.remove(&name);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn talk(
        &self,
        key: WorkerKey,
        sessions: &[SessionSpec],
        media_dir: Option<&std::path::Path>,
        status: &Arc<watch::Sender<WorkerStatus>>,
        ctl: &mut Control,
        sock: tokio::net::UnixStream,
        pid: Option<u32>,
    ) -> RunEnd {
        let (r, w) = sock.into_split();
        let mut writer = FrameWriter::new(w);
        let rules = self.rules_of(key).await;
        let init = WorkerInit {
            protocol: PROTOCOL_VERSION,
            tenant: key.tenant().map_or(0, |t| t.0),
            media_dir: media_dir.map(|p| p.display().to_string()),
            connect_ports: self.cfg.connect_ports.clone(),
            sandbox_require: self.cfg.sandbox_require,
            batch_max_events: self.cfg.batch_max_events,
            batch_max_ms: self.cfg.batch_max_ms,
            max_unacked_batches: 8,
            sessions: sessions.to_vec(),
            telegram: lock(&self.telegram).clone(),
            pacing_bot: self.cfg.delivery.bot.clone(),
            pacing_user: self.cfg.delivery.user.clone(),
            flood_wait_max_secs: self.cfg.delivery.flood_wait_max_secs,
            rules,
        };
        if let Err(e) = writer.send(&ToWorker::Init(Box::new(init))).await {
            return RunEnd::Failed(format!("sending init: {e}"));
        }
        let (mut in_rx, reader_task) = FrameReader::new(r).spawn::<FromWorker>();
        let result = self
            .converse(key, status, ctl, &mut writer, &mut in_rx, pid)
            .await;
        reader_task.abort();
        result
    }
}
