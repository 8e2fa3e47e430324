//! One running worker's conversation: the select loop over its frames, heartbeats, commands
//! and jobs, one arm per message.

use super::*;

impl Supervisor {
    pub(super) async fn converse(
        &self,
        key: WorkerKey,
        status: &Arc<watch::Sender<WorkerStatus>>,
        ctl: &mut Control,
        writer: &mut FrameWriter<tokio::net::unix::OwnedWriteHalf>,
        in_rx: &mut mpsc::Receiver<Result<FromWorker, FrameError>>,
        pid: Option<u32>,
    ) -> RunEnd {
        // The first frame says whether the worker runs, and with which sandbox.
        let first =
            tokio::time::timeout(self.cfg.heartbeat * self.cfg.heartbeat_misses, in_rx.recv())
                .await;
        match first {
            Ok(Some(Ok(FromWorker::Ready {
                protocol,
                pid: wpid,
                sandbox,
            }))) if protocol == PROTOCOL_VERSION => {
                let missing = sandbox.missing();
                if !missing.is_empty() {
                    let names: Vec<&str> = missing.iter().map(|l| l.layer.name()).collect();
                    tracing::warn!(
                        "the worker's sandbox lacks {} on this kernel (see `botyard sandbox-check`)",
                        names.join(", ")
                    );
                }
                status.send_modify(|s| {
                    s.state = WorkerState::Running;
                    s.pid = pid.or(Some(wpid));
                    s.started_at = Some(self.now());
                    s.sandbox = Some(*sandbox);
                });
            }
            Ok(Some(Ok(FromWorker::Refused { reason }))) => {
                return RunEnd::Failed(format!("worker refused: {reason}"));
            }
            Ok(Some(Ok(other))) => {
                return RunEnd::Failed(format!("worker spoke out of turn: {}", other.name()));
            }
            Ok(Some(Err(e))) => return RunEnd::Failed(format!("bad frame from worker: {e}")),
            Ok(None) => return RunEnd::Failed("worker closed the connection".into()),
            Err(_) => return RunEnd::Failed("worker did not report ready in time".into()),
        }
        match pid {
            Some(pid) => tracing::info!(pid, "worker running"),
            None => tracing::info!("worker running"),
        }
        // Jobs queued while no worker ran are pending in the store too: hand the store's.
        while ctl.jobs.try_recv().is_ok() {}
        if let Some(tenant) = key.tenant() {
            let jobs = self.pending_jobs(tenant).await;
            if let Err(e) = self.hand_jobs(writer, status, jobs).await {
                return RunEnd::Failed(format!("worker connection: {e}"));
            }
        }

        let mut beat = tokio::time::interval(self.cfg.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut nonce = 0u64;
        let mut last_ack = Instant::now();
        let mut expected_batch = 1u64;
        let mut monitor = tokio::time::interval(self.cfg.monitor_every);
        monitor.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Delivery results, committed together (a result lost in a crash leaves its delivery
        // pending: it is handed out again and Telegram refuses the repeat).
        let mut results: Vec<(
            botyard_shards::DeliveryKey,
            crate::worker::ipc::messages::DeliveryOutcome,
        )> = Vec::new();
        let mut budget = status
            .borrow()
            .events_per_sec
            .map(|r| crate::runtime::ingestion::Budget::new(r, Instant::now()));
        let mut dropping = false;
        // Sessions whose kind (bot or user) was checked against their first sign-in this run.
        let mut kinds_known: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let mut results_tick = tokio::time::interval(RESULTS_EVERY);
        results_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = results_tick.tick(), if !results.is_empty() => {
                    if let Some(tenant) = key.tenant() {
                        self.settle_results(tenant, status, &mut results).await;
                    }
                }
                _ = ctl.stop.changed() => {
                    if let Some(tenant) = key.tenant() {
                        self.settle_results(tenant, status, &mut results).await;
                    }
                    let _ = writer.send(&ToWorker::Stop).await;
                    // Store what the worker flushes on its way out.
                    let deadline = tokio::time::sleep(self.cfg.stop_deadline);
                    tokio::pin!(deadline);
                    loop {
                        tokio::select! {
                            _ = &mut deadline => break,
                            m = in_rx.recv() => match m {
                                Some(Ok(FromWorker::Events { batch, session: _, events })) if batch == expected_batch => {
                                    if self.store_events(key, status, &events).await.is_ok() {
                                        expected_batch += 1;
                                    }
                                }
                                Some(Ok(FromWorker::Stopped)) | None | Some(Err(_)) => break,
                                Some(Ok(_)) => {}
                            }
                        }
                    }
                    return RunEnd::Stopped;
                }
                Some(jobs) = ctl.jobs.recv() => {
                    if let Err(e) = self.hand_jobs(writer, status, jobs).await {
                        return RunEnd::Failed(format!("worker connection: {e}"));
                    }
                }
                Some(cmd) = ctl.commands.recv() => {
                    if let Err(e) = writer.send(&cmd).await {
                        return RunEnd::Failed(format!("worker connection: {e}"));
                    }
                }
                _ = monitor.tick() => {
                    let Some(u) = pid.and_then(|p| sample(p, self.now())) else { continue };
                    // The kernel enforces the cap when the worker is in a capped cgroup.
                    let limit = {
                        let s = status.borrow();
                        s.memory_limit_mb.filter(|_| s.memory_enforcement == Some(MemoryEnforcement::Watchdog))
                    };
                    status.send_modify(|s| {
                        if s.usage.len() >= HISTORY {
                            s.usage.pop_front();
                        }
                        s.usage.push_back(u);
                    });
                    if let Some(mb) = limit.filter(|mb| u.anon_kb > u64::from(*mb) * 1024) {
                        tracing::warn!(anon_kb = u.anon_kb, limit_mb = mb, "worker over its memory limit; restarting");
                        return RunEnd::Failed(format!("memory limit: {} KiB anonymous memory over {mb} MiB", u.anon_kb));
                    }
                }
                _ = beat.tick() => {
                    if last_ack.elapsed() > self.cfg.heartbeat * self.cfg.heartbeat_misses {
                        return RunEnd::Failed("missed heartbeats".into());
                    }
                    nonce += 1;
                    if let Err(e) = writer.send(&ToWorker::Heartbeat { nonce }).await {
                        return RunEnd::Failed(format!("worker connection: {e}"));
                    }
                }
                m = in_rx.recv() => match m {
                    Some(Ok(FromWorker::HeartbeatAck { nonce: n })) => {
                        if n == nonce {
                            last_ack = Instant::now();
                        }
                    }
                    Some(Ok(FromWorker::Session { session, state })) => {
                        tracing::info!(session, "session {session}: {state}");
                        if let SessionState::FloodWait { until } = &state
                            && until - self.now() >= crate::domain::alerts::LONG_FLOOD_WAIT_SECS
                        {
                            let mins = (until - self.now()) / 60;
                            self.record_alert(key, crate::domain::alerts::FLOOD_WAIT, format!("session {session}"), format!("Telegram asked it to wait {mins} minutes")).await;
                        }
                        let newly_revoked = state == SessionState::Revoked
                            && lock(&self.revoked_alerted).insert((key, session));
                        if newly_revoked {
                            // The bot-status event the notifications will send; durable
                            // before the API shows the state.
                            self.record_alert(key, crate::domain::alerts::SESSION_REVOKED, format!("session {session}"), "Telegram no longer accepts its auth key".into()).await;
                        }
                        if let (SessionState::Online { me }, Some(tenant)) = (&state, key.tenant())
                            && kinds_known.insert(session)
                        {
                            let (store, keyring, is_bot) = (self.store.clone(), self.keyring.clone(), me.is_bot);
                            let r = tokio::task::spawn_blocking(move || {
                                crate::domain::sessions::store_kind(&store, &keyring, tenant, botyard_shards::ids::SecretId(session), is_bot)
                            }).await;
                            match r {
                                Ok(Ok(true)) => tracing::info!(session, is_bot, "session {session} signed in as a {}", if is_bot { "bot" } else { "user account" }),
                                Ok(Ok(false)) => {}
                                Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store the session's kind"),
                                Err(e) => tracing::error!(error = %e, "session kind task failed"),
                            }
                        }
                        status.send_modify(|s| { s.sessions.insert(session, state); });
                    }
                    Some(Ok(FromWorker::CallDone { call, result })) => self.call_done(call, result),
                    Some(Ok(FromWorker::RuleHits { session, hits })) => {
                        if hits.len() > crate::worker::ipc::messages::RULE_HITS_MAX {
                            return RunEnd::Failed(format!("{} rule actions in one frame, over the limit", hits.len()));
                        }
                        let Some(tenant) = key.tenant() else { continue };
                        let (store, now) = (self.store.clone(), self.now());
                        let r = tokio::task::spawn_blocking(move || {
                            crate::domain::rules::record_hits(&store, tenant, session, &hits, now)
                        }).await;
                        match r {
                            Ok(Ok(paused)) => {
                                for p in &paused {
                                    self.record_alert(key, crate::domain::alerts::RULE_PAUSED, format!("rule {}", p.rule), format!("“{}”: {}", p.name, p.reason)).await;
                                }
                                if !paused.is_empty() {
                                    // The worker runs the rules without the paused ones.
                                    self.push_rules(tenant).await;
                                }
                            }
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store rule actions"),
                            Err(e) => tracing::error!(error = %e, "rule actions task failed"),
                        }
                    }
                    Some(Ok(FromWorker::Dialogs { session, dialogs })) => {
                        // The platform bot's chats are not a tenant's groups.
                        let Some(tenant) = key.tenant() else { continue };
                        let store = self.store.clone();
                        let n = dialogs.len();
                        let now = self.now();
                        let stored = tokio::task::spawn_blocking(move || {
                            crate::domain::groups::store_dialogs(&store, tenant, session, &dialogs, now)
                        })
                        .await;
                        match stored {
                            Ok(Ok(out)) => {
                                tracing::info!(session, dialogs = n, added = out.added, updated = out.updated, gone = out.gone, "dialogs refreshed");
                                // A group automation used is gone: someone should know why.
                                for (chat, title) in out.lost {
                                    self.record_alert(key, crate::domain::alerts::GROUP_REMOVED, format!("group {}", chat.0), format!("session {session} is no longer in “{title}”")).await;
                                }
                                // Rules follow the groups and the session's rights in them.
                                self.push_rules(tenant).await;
                            }
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store dialogs"),
                            Err(e) => tracing::error!(error = %e, "dialog task failed"),
                        }
                        status.send_modify(|s| { s.dialogs_reported += 1; });
                    }
                    Some(Ok(FromWorker::Events { batch, session: _, events })) => {
                        if batch != expected_batch {
                            return RunEnd::Failed(format!("event batch {batch} out of order, expected {expected_batch}"));
                        }
                        if events.len() > self.cfg.batch_max_events as usize {
                            return RunEnd::Failed(format!("event batch of {} is over the limit", events.len()));
                        }
                        // Over the plan's budget, the newest events of the batch are dropped
                        // (and the batch acknowledged): a flood costs the host no more.
                        let keep = budget.as_mut().map_or(events.len(), |b| b.take(events.len(), Instant::now()));
                        let dropped = events.len() - keep;
                        if dropped > 0 {
                            status.send_modify(|s| s.events_dropped += dropped as u64);
                            if !dropping {
                                tracing::warn!(dropped, limit = status.borrow().events_per_sec, "more Telegram events than the plan allows per second; the excess is not counted");
                            }
                        }
                        dropping = dropped > 0;
                        let stored = if keep > 0 { self.store_events(key, status, &events[..keep]).await } else { Ok(()) };
                        match stored {
                            Ok(()) => {
                                expected_batch += 1;
                                if let Err(e) = writer.send(&ToWorker::EventsAck { batch }).await {
                                    return RunEnd::Failed(format!("worker connection: {e}"));
                                }
                            }
                            // Not durable, so not acknowledged: the worker keeps the batch; a
                            // restart loses only what it had not sent.
                            Err(e) => return RunEnd::Failed(format!("storing events: {e}")),
                        }
                    }
                    Some(Ok(FromWorker::SessionMoved { session, dc_id, addr, auth_key, user_id })) => {
                        let auth_key = auth_key.0;
                        let Some(tenant) = key.tenant() else {
                            self.store_platform_moved(dc_id, addr, auth_key, user_id).await;
                            continue;
                        };
                        let (store, keyring) = (self.store.clone(), self.keyring.clone());
                        let r = tokio::task::spawn_blocking(move || {
                            let at = crate::domain::sessions::SignedIn { dc_id, addr, auth_key: &auth_key, user_id };
                            crate::domain::sessions::store_moved(&store, &keyring, tenant, botyard_shards::ids::SecretId(session), &at)
                        }).await;
                        match r {
                            Ok(Ok(_)) => tracing::info!(session, dc_id, "session key and datacenter stored"),
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store the session's key"),
                            Err(e) => tracing::error!(error = %e, "session key task failed"),
                        }
                    }
                    Some(Ok(FromWorker::SessionSync { session, state })) => {
                        if !state.within_limits() {
                            return RunEnd::Failed(format!("session {session} sent an update state over the limits"));
                        }
                        let (store, keyring) = (self.store.clone(), self.keyring.clone());
                        let r = tokio::task::spawn_blocking(move || match key.tenant() {
                            Some(tenant) => crate::domain::sessions::store_sync(&store, &keyring, tenant, botyard_shards::ids::SecretId(session), &state),
                            None => crate::domain::sessions::store_platform_sync(&store, &keyring, &state),
                        }).await;
                        match r {
                            Ok(Ok(_)) => {
                                tracing::debug!(session, "session update state stored");
                                status.send_modify(|s| s.syncs_stored += 1);
                            }
                            Ok(Err(e)) => tracing::error!(session, error = %e, "cannot store the session's update state"),
                            Err(e) => tracing::error!(error = %e, "update state task failed"),
                        }
                    }
                    Some(Ok(FromWorker::Login { login, state })) => {
                        // Only logins the API started: a worker cannot make up its own.
                        status.send_modify(|s| {
                            if let Some(p) = s.logins.get_mut(&login) {
                                p.state = state;
                            }
                        });
                    }
                    Some(Ok(FromWorker::Delivered { campaign, run, chat_id, outcome })) => {
                        let Some(tenant) = key.tenant() else {
                            // Only posts someone waits for: a worker cannot make up its own.
                            if let Some(tx) = lock(&self.direct).remove(&(campaign, run, chat_id)) {
                                let _ = tx.send(outcome);
                            }
                            continue;
                        };
                        let key3 = (botyard_shards::ids::CampaignId(campaign), run, botyard_shards::ids::ChatId(chat_id));
                        results.push((key3, outcome));
                        if results.len() >= RESULTS_PER_COMMIT {
                            self.settle_results(tenant, status, &mut results).await;
                        }
                    }
                    Some(Ok(FromWorker::LoggedOut { session, result })) => {
                        status.send_modify(|s| {
                            // Answers are only kept for sessions someone asked about.
                            if s.logouts.len() < 64 {
                                s.logouts.insert(session, result);
                            }
                        });
                    }
                    Some(Ok(FromWorker::Ready { .. } | FromWorker::Refused { .. })) => {
                        return RunEnd::Failed("worker sent a second greeting".into());
                    }
                    Some(Ok(FromWorker::Stopped)) => return RunEnd::Failed("worker stopped on its own".into()),
                    Some(Err(e)) => return RunEnd::Failed(format!("bad frame from worker: {e}")),
                    None => return RunEnd::Failed("worker closed the connection".into()),
                }
            }
        }
    }
}
