//! Posting campaign messages: waiting for the pacer, then one post (delete the previous one,
//! attach the media, pin), its failure told as a code.

use super::*;

/// What a session needs to post campaign messages.
pub(super) struct Sending {
    pub(super) jobs: mpsc::UnboundedReceiver<SendJob>,
    pub(super) pacing_bot: crate::worker::pacing::Pacing,
    pub(super) pacing_user: crate::worker::pacing::Pacing,
    pub(super) flood_wait_max_secs: u32,
    pub(super) media: std::sync::Arc<Option<cap_std::fs::Dir>>,
    /// The tenant's group rules, as the worker started with them.
    pub(super) rules: std::sync::Arc<crate::worker::rules::RuleSet>,
}

pub(super) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Waits until the pacer lets the next queued post go.
pub(super) async fn send_wait(pacer: &Pacer, queue: &VecDeque<SendJob>) {
    let now = now_ms() as u64;
    let at = match pacer.pick(queue.iter().map(|j| j.chat_id), now) {
        Ok(_) => return,
        Err(t) => t,
    };
    tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await;
}

pub(super) enum Posted {
    Done(DeliveryOutcome),
    /// Not sent; try again after the waits Telegram asked for.
    Again {
        flood_secs: Option<u32>,
        slow_secs: Option<u32>,
        net: bool,
    },
}

/// Sends one campaign post: deletes the previous one, attaches the media, pins the new one.
pub(super) async fn post<P: TelegramPort>(
    port: &mut P,
    job: &SendJob,
    sending: &Sending,
) -> Posted {
    let failed = |code: FailureCode| {
        Posted::Done(DeliveryOutcome::Failed {
            code,
            at_ms: now_ms(),
        })
    };
    if let Some(old) = job.delete_message
        && let Err(e) = port.delete_message(job.chat_id, old).await
    {
        tracing::debug!(chat_id = job.chat_id, error = %e, "previous post not deleted");
    }
    let media = match &job.media {
        Some(m) => {
            let bytes = match sending.media.as_ref() {
                Some(dir) => dir.read(&m.file).ok(),
                None => None,
            };
            match bytes {
                Some(b) => Some((m.clone(), b)),
                None => return failed(FailureCode::MediaMissing),
            }
        }
        None => None,
    };
    let msg = OutgoingMessage {
        chat_id: job.chat_id,
        text: job.text.clone(),
        random_id: job.random_id,
        silent: job.silent,
        markup: Some(job.markup),
        buttons: job.buttons.clone(),
        media,
        access_hash: job.access_hash,
        reply_to: job.reply_to,
    };
    match port.send(msg).await {
        Ok(sent) => {
            if job.pin
                && let Err(e) = port.pin_message(job.chat_id, sent.message_id).await
            {
                tracing::debug!(chat_id = job.chat_id, error = %e, "post not pinned");
            }
            Posted::Done(DeliveryOutcome::Sent {
                message_id: sent.message_id,
                at_ms: now_ms(),
            })
        }
        Err(PortError::FloodWait(s)) if s <= sending.flood_wait_max_secs => Posted::Again {
            flood_secs: Some(s),
            slow_secs: None,
            net: false,
        },
        Err(PortError::FloodWait(_)) => failed(FailureCode::FloodWait),
        Err(PortError::SlowMode(s)) => Posted::Again {
            flood_secs: None,
            slow_secs: Some(s.max(1)),
            net: false,
        },
        Err(PortError::Network(_)) => Posted::Again {
            flood_secs: None,
            slow_secs: None,
            net: true,
        },
        Err(PortError::Forbidden(_)) => failed(FailureCode::Forbidden),
        Err(PortError::ChatNotFound(_)) => failed(FailureCode::ChatNotFound),
        Err(PortError::Revoked) => failed(FailureCode::Revoked),
        Err(PortError::Rejected(_)) => failed(FailureCode::Rejected),
        Err(PortError::PasswordNeeded | PortError::Other(_)) => failed(FailureCode::Error),
    }
}
