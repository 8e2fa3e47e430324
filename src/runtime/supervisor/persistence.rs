//! What a worker reports that must last: events to the shard writers, delivery results,
//! pending jobs, the platform bot's moves, and alerts in the audit log.

use super::*;

impl Supervisor {
    /// Stores delivery results in one shard transaction.
    pub(super) async fn settle_results(
        &self,
        tenant: TenantId,
        status: &Arc<watch::Sender<WorkerStatus>>,
        results: &mut Vec<(
            botyard_shards::DeliveryKey,
            crate::worker::ipc::messages::DeliveryOutcome,
        )>,
    ) {
        if results.is_empty() {
            return;
        }
        let batch = std::mem::take(results);
        let store = self.store.clone();
        let now = self.now();
        let failed = batch
            .iter()
            .filter(|(_, o)| {
                matches!(
                    o,
                    crate::worker::ipc::messages::DeliveryOutcome::Failed { .. }
                )
            })
            .count();
        let tripped = lock(&self.failure_windows)
            .entry(tenant)
            .or_default()
            .record(now, (batch.len() - failed) as u32, failed as u32);
        if let Some(detail) = tripped {
            tracing::warn!(%detail, "a tenant's posts are failing");
            self.record_alert(
                WorkerKey::Tenant(tenant),
                crate::domain::alerts::POSTS_FAILING,
                "campaign posts".into(),
                detail,
            )
            .await;
        }
        let r = tokio::task::spawn_blocking(move || {
            let scope = store.supervisor_scope(tenant)?;
            let at = now;
            let (settled, paused) = scope.shard_write(|s| {
                let mut settled = 0u64;
                let mut paused = Vec::new();
                for (key, outcome) in &batch {
                    // None: not pending (a repeat after a restart, or a stranger's key).
                    if let Some(done) =
                        crate::domain::campaigns::runs::settle(s, *key, outcome, at)?
                    {
                        settled += 1;
                        if let Some(code) = done.paused {
                            tracing::warn!(campaign = key.0.0, code, "campaign paused");
                            paused.push((key.0.0, code));
                        }
                    }
                }
                Ok::<_, crate::error::AppError>((settled, paused))
            })?;
            // The campaign is paused already; an alert failing to save is only logged.
            for (campaign, code) in paused {
                let subject = format!("campaign {campaign}");
                let raised = crate::domain::alerts::raise(
                    &store,
                    now,
                    crate::domain::alerts::CAMPAIGN_PAUSED,
                    Some(tenant),
                    &subject,
                    code,
                );
                if let Err(e) = raised {
                    tracing::error!(error = %e, "cannot record the alert");
                }
            }
            Ok::<_, crate::error::AppError>(settled)
        })
        .await;
        match r {
            Ok(Ok(n)) => status.send_modify(|s| s.deliveries_settled += n),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot store delivery results"),
            Err(e) => tracing::error!(error = %e, "delivery result task failed"),
        }
    }

    /// Hands campaign posts to the worker, in frames well under the size limit.
    pub(super) async fn hand_jobs(
        &self,
        writer: &mut FrameWriter<tokio::net::unix::OwnedWriteHalf>,
        status: &Arc<watch::Sender<WorkerStatus>>,
        jobs: Vec<SendJob>,
    ) -> Result<(), FrameError> {
        let n = jobs.len() as u64;
        for chunk in jobs.chunks(JOBS_PER_FRAME) {
            writer
                .send(&ToWorker::Send {
                    jobs: chunk.to_vec(),
                })
                .await?;
        }
        if n > 0 {
            status.send_modify(|s| s.jobs_handed += n);
        }
        Ok(())
    }

    /// The tenant's pending deliveries as jobs; those that can no longer be sent are failed.
    pub(super) async fn pending_jobs(&self, tenant: TenantId) -> Vec<SendJob> {
        let store = self.store.clone();
        let now = self.now();
        let r = tokio::task::spawn_blocking(move || {
            let scope = store.supervisor_scope(tenant)?;
            let settings = crate::domain::tenancy::settings(&scope)?;
            let at = now;
            let crate::domain::campaigns::runs::Pending { jobs, dead } =
                crate::domain::campaigns::runs::pending(&scope.shard_read()?, &settings, at)?;
            if !dead.is_empty() {
                scope.shard_write(|s| {
                    for (key, code) in &dead {
                        let outcome = crate::worker::ipc::messages::DeliveryOutcome::Failed {
                            code: *code,
                            at_ms: at * 1000,
                        };
                        crate::domain::campaigns::runs::settle(s, *key, &outcome, at)?;
                    }
                    Ok::<_, crate::error::AppError>(())
                })?;
            }
            Ok::<_, crate::error::AppError>(jobs)
        })
        .await;
        match r {
            Ok(Ok(jobs)) => jobs,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot load pending deliveries");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, "pending deliveries task failed");
                Vec::new()
            }
        }
    }

    /// Stores where the platform bot signed in, so a restart does not sign in again.
    pub(super) async fn store_platform_moved(
        &self,
        dc_id: i32,
        addr: std::net::SocketAddr,
        auth_key: zeroize::Zeroizing<Vec<u8>>,
        user_id: i64,
    ) {
        let Some(token) = lock(&self.platform_bot_token).clone() else {
            return;
        };
        let (store, keyring) = (self.store.clone(), self.keyring.clone());
        let r = tokio::task::spawn_blocking(move || {
            let at = crate::domain::sessions::SignedIn {
                dc_id,
                addr,
                auth_key: &auth_key,
                user_id,
            };
            crate::domain::sessions::store_platform_bot(&store, &keyring, &token, &at)
        })
        .await;
        if !matches!(r, Ok(Ok(()))) {
            tracing::error!("cannot store the platform bot's key");
        }
    }

    /// The tenant's rules as its worker runs them (none when the store cannot say).
    pub(super) async fn rules_of(&self, key: WorkerKey) -> crate::worker::rules::RuleSet {
        let Some(tenant) = key.tenant() else {
            return crate::worker::rules::RuleSet::default();
        };
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || crate::domain::rules::worker_set(&store, tenant))
            .await
        {
            Ok(Ok(set)) => set,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the tenant's rules; the worker runs none");
                crate::worker::rules::RuleSet::default()
            }
            Err(e) => {
                tracing::error!(error = %e, "rules task failed");
                crate::worker::rules::RuleSet::default()
            }
        }
    }

    /// A durable alert (and its audit entry), for admins and the notifications to come.
    pub(super) async fn record_alert(
        &self,
        key: WorkerKey,
        kind: &'static str,
        subject: String,
        detail: String,
    ) {
        let store = self.store.clone();
        let now = self.now();
        let r = tokio::task::spawn_blocking(move || {
            crate::domain::alerts::raise(&store, now, kind, key.tenant(), &subject, &detail)
        })
        .await;
        if !matches!(r, Ok(Ok(_))) {
            tracing::error!(kind, "cannot record the alert");
        }
    }

    pub(super) async fn store_events(
        &self,
        key: WorkerKey,
        status: &Arc<watch::Sender<WorkerStatus>>,
        events: &[crate::worker::telegram::IncomingEvent],
    ) -> Result<(), botyard_shards::ingest::IngestError> {
        let Some(tenant) = key.tenant() else {
            // The platform bot's traffic is not a tenant's statistics; its commands (account
            // links) go to the inbox, or are dropped when it is full.
            let inbox = lock(&self.platform_inbox).clone();
            let stars = lock(&self.stars_inbox).clone();
            for e in events {
                match StarsReport::from_event(e) {
                    Some(StarsReport::Precheckout(q)) => {
                        // Unanswered, Telegram refuses the payment itself after 10 s.
                        if stars
                            .as_ref()
                            .is_none_or(|tx| tx.try_send(StarsEvent::Precheckout(q)).is_err())
                        {
                            tracing::warn!(
                                "pre-checkout query dropped: nobody listens or the inbox is full"
                            );
                        }
                        continue;
                    }
                    Some(StarsReport::Paid(p)) => {
                        // Durable before the batch is acknowledged: otherwise the worker's
                        // restart brings the payment again (credited once by its charge id).
                        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                        let sent = match &stars {
                            Some(tx) => tx.send(StarsEvent::Paid(p, done_tx)).await.is_ok(),
                            None => false,
                        };
                        if !(sent && done_rx.await.unwrap_or(false)) {
                            return Err(botyard_shards::ingest::IngestError::Commit(
                                "the payment was not recorded".into(),
                            ));
                        }
                        continue;
                    }
                    Some(StarsReport::Bad) => {
                        tracing::warn!(
                            "a payment event out of bounds from the platform bot's worker was dropped"
                        );
                        continue;
                    }
                    None => {}
                }
                let Some(cmd) = BotCommand::from_event(e) else {
                    continue;
                };
                if cmd.command == "pay" {
                    if stars
                        .as_ref()
                        .is_none_or(|tx| tx.try_send(StarsEvent::Pay(cmd)).is_err())
                    {
                        tracing::warn!("platform bot command dropped: inbox full");
                    }
                    continue;
                }
                if let Some(tx) = &inbox
                    && tx.try_send(cmd).is_err()
                {
                    tracing::warn!("platform bot command dropped: inbox full");
                }
            }
            status.send_modify(|s| s.events_stored += events.len() as u64);
            return Ok(());
        };
        // Events name chats, never tenants: the tenant is the worker's, so a worker cannot
        // write into another tenant's rows.
        let zone = self.zone(tenant).await;
        let batch = ingestion::to_batch(tenant, &zone, events);
        if !batch.is_empty() {
            self.ingest.submit_batch(tenant, batch).await?;
        }
        // Counted as soon as they are committed: a stop while the chat changes below are
        // written must not leave stored events uncounted.
        status.send_modify(|s| s.events_stored += events.len() as u64);
        let changes = ingestion::chat_changes(events);
        if !changes.is_empty() {
            let store = self.store.clone();
            let now = self.now();
            let r = tokio::task::spawn_blocking(move || {
                crate::domain::groups::store_chat_changes(&store, tenant, &changes, now)
            })
            .await;
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "cannot store chat changes")
                }
                Err(e) => {
                    tracing::error!(error = %e, "chat change task failed")
                }
            }
        }
        Ok(())
    }
}
