//! Runs write their deliveries as pending first; each settles once; a run with nothing left
//! pending is done; another tenant sees none of it.

use crate::common;

use botyard_shards::ids::{ChatId, Day, SecretId, TemplateId};
use botyard_shards::records::*;
use common::{admin, create_tenant, open};

fn campaign() -> CampaignRec {
    CampaignRec {
        name: "Cuma".into(),
        template: TemplateId(1),
        version: None,
        chats: vec![ChatId(-1), ChatId(-2)],
        tags: Vec::new(),
        session: SecretId(1),
        schedule: ScheduleRec::Every { minutes: 60 },
        window: None,
        starts_on: None,
        ends_on: None,
        jitter_secs: 0,
        delete_previous: false,
        pin: false,
        state: CampaignStateRec::Active,
        anchor: 0,
        next_run: Some(3_600),
        runs: 0,
        last_posts: Vec::new(),
        created_at: 0,
        updated_at: 0,
    }
}

fn run() -> RunRec {
    RunRec {
        due_at: 3_600,
        started_at: 3_600,
        finished_at: None,
        status: RunStatusRec::Running,
        template: TemplateId(1),
        version: 1,
        session: SecretId(1),
        manual: false,
        targets: 2,
        sent: 0,
        failed: 0,
        skipped: 0,
    }
}

#[test]
fn deliveries_settle_once_and_finish_their_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let a = admin(&store, "root@example.com");
    let t = create_tenant(&store, &a, "Kahve");
    let other = create_tenant(&store, &a, "Simit");

    let c = t.shard_write(|s| s.insert_campaign(&campaign())).unwrap();
    t.shard_write(|s| s.start_run(c, 1, &run(), &[ChatId(-1), ChatId(-2)], 3_600))
        .unwrap();
    assert_eq!(
        t.shard_read().unwrap().pending_deliveries().unwrap(),
        vec![(c, 1, ChatId(-2)), (c, 1, ChatId(-1))]
    );
    assert!(
        other
            .shard_read()
            .unwrap()
            .pending_deliveries()
            .unwrap()
            .is_empty()
    );

    let sent = DeliveryStateRec::Sent {
        message_id: 10,
        at_ms: 3_601_000,
    };
    let r = t
        .shard_write(|s| s.settle_delivery((c, 1, ChatId(-1)), sent.clone(), 3_601))
        .unwrap()
        .unwrap();
    assert_eq!((r.sent, r.status.clone()), (1, RunStatusRec::Running));
    // A repeated result changes nothing.
    assert!(
        t.shard_write(|s| s.settle_delivery((c, 1, ChatId(-1)), sent.clone(), 3_602))
            .unwrap()
            .is_none()
    );
    let failed = DeliveryStateRec::Failed {
        code: "forbidden".into(),
        at_ms: 3_602_000,
    };
    let r = t
        .shard_write(|s| s.settle_delivery((c, 1, ChatId(-2)), failed, 3_602))
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.sent, r.failed, r.status, r.finished_at),
        (1, 1, RunStatusRec::Done, Some(3_602))
    );
    let rd = t.shard_read().unwrap();
    assert!(rd.pending_deliveries().unwrap().is_empty());
    assert_eq!(rd.deliveries(c, 1).unwrap().len(), 2);
    assert_eq!(
        rd.delivery((c, 1, ChatId(-1))).unwrap().unwrap().state,
        sent
    );
    drop(rd);

    assert_eq!(t.shard_write(|s| s.add_sends(Day(5), 2)).unwrap(), 2);
    assert_eq!(t.shard_write(|s| s.add_sends(Day(5), 3)).unwrap(), 5);
    assert_eq!(other.shard_read().unwrap().sends_on(Day(5)).unwrap(), 0);

    // Deleting the campaign takes its runs and deliveries; its id is not given out again.
    assert!(t.shard_write(|s| s.delete_campaign(c)).unwrap());
    let rd = t.shard_read().unwrap();
    assert!(rd.runs(c, 10).unwrap().is_empty());
    assert!(rd.deliveries(c, 1).unwrap().is_empty());
    drop(rd);
    let next = t.shard_write(|s| s.insert_campaign(&campaign())).unwrap();
    assert_eq!(next.0, c.0 + 1);
}

#[test]
fn a_version_1_plan_gets_the_default_media_limit() {
    use botyard_shards::Record;
    // Version 1's limits had no `media_mb`.
    #[derive(serde::Serialize)]
    struct V1 {
        name: String,
        limits: [u32; 7],
        created_at: i64,
        updated_at: i64,
    }
    let body = postcard::to_allocvec(&V1 {
        name: "Başlangıç".into(),
        limits: [2, 20, 50, 10, 500, 90, 128],
        created_at: 1,
        updated_at: 2,
    })
    .unwrap();
    let p = PlanRec::upgrade(1, &body).unwrap();
    assert_eq!(p.name, "Başlangıç");
    assert_eq!(
        (
            p.limits.sends_per_day,
            p.limits.worker_memory_mb,
            p.limits.media_mb
        ),
        (500, 128, DEFAULT_MEDIA_MB)
    );
}

#[test]
fn a_version_2_plan_gets_the_default_event_budget_and_interval() {
    use botyard_shards::Record;
    use botyard_shards::records::{DEFAULT_EVENTS_PER_SEC, DEFAULT_MIN_INTERVAL_MINS};
    // Version 2 added `media_mb`, not the event budget or the minimum interval.
    #[derive(serde::Serialize)]
    struct V2 {
        name: String,
        limits: [u32; 8],
        created_at: i64,
        updated_at: i64,
    }
    let body = postcard::to_allocvec(&V2 {
        name: "Pro".into(),
        limits: [2, 20, 50, 10, 500, 90, 128, 25],
        created_at: 1,
        updated_at: 2,
    })
    .unwrap();
    let p = PlanRec::upgrade(2, &body).unwrap();
    assert_eq!(
        (
            p.limits.media_mb,
            p.limits.events_per_sec,
            p.limits.min_interval_mins
        ),
        (25, DEFAULT_EVENTS_PER_SEC, DEFAULT_MIN_INTERVAL_MINS)
    );
    assert!(
        PlanRec::upgrade(3, &body).is_err(),
        "3 is current, not an upgrade"
    );
}
