//! A subscription's life as a pure state machine, driven by the clock passed in:
//! `trialing` → `active` → `past_due` (the grace, everything works) → `suspended` (workers
//! stopped, data kept, the tenant can pay) → `cancelled` (at the period's end, when asked).
//! A payment makes it `active` for the days it bought from wherever it stood. Each step says
//! when the subscription must be looked at next (`due_at`), which is what makes the renewal
//! job exact across restarts: it acts on what is due, once, and moves the due time on.

use botyard_shards::ids::PlanId;
use botyard_shards::records::{SubStateRec, SubscriptionRec};

pub const DAY: i64 = 86_400;
/// The period a payment buys when it says nothing else (Telegram's Stars subscriptions are
/// 30 days).
pub const PERIOD_DAYS: u32 = 30;

/// How the reseller runs subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Seconds of grace after an unpaid period before suspension.
    pub grace_secs: i64,
    /// Seconds a cancelled tenant's data is kept after its period, then deleted.
    pub retention_secs: i64,
}

/// One step: the state it goes to and why (a stable code, for the history and notices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: Option<SubStateRec>,
    pub to: SubStateRec,
    pub reason: &'static str,
}

/// When the renewal job must look at a subscription next; `None` while it waits for a person
/// (a payment, or nothing more at all).
pub fn due_at(s: &SubscriptionRec) -> Option<i64> {
    match s.state {
        SubStateRec::Trialing | SubStateRec::Active => Some(s.period_end),
        SubStateRec::PastDue => s.grace_until,
        SubStateRec::Suspended => None,
        // When its data is deleted.
        SubStateRec::Cancelled => s.grace_until,
    }
}

fn settle(s: &mut SubscriptionRec, now: i64) {
    s.due_at = due_at(s);
    s.updated_at = now;
}

/// A subscription begun at `now` in `state`, its period ending at `period_end`.
fn fresh(
    plan: PlanId,
    state: SubStateRec,
    stars: u32,
    period_end: i64,
    now: i64,
) -> SubscriptionRec {
    SubscriptionRec {
        plan,
        state,
        period_start: now,
        period_end,
        stars,
        cancel_at_period_end: false,
        next_plan: None,
        grace_until: None,
        due_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// A new subscription on `plan` with `trial_days` free, or `None` when the plan has no trial.
pub fn start_trial(plan: PlanId, stars: u32, trial_days: u32, now: i64) -> Option<SubscriptionRec> {
    if trial_days == 0 {
        return None;
    }
    let mut s = fresh(
        plan,
        SubStateRec::Trialing,
        stars,
        now + i64::from(trial_days) * DAY,
        now,
    );
    settle(&mut s, now);
    Some(s)
}

/// What time does to `s` at `now`: the step it takes, if one is due (at most one; the job asks
/// again until nothing is due).
pub fn tick(s: &mut SubscriptionRec, now: i64, p: Policy) -> Option<Step> {
    let from = s.state;
    let (to, reason) = match s.state {
        SubStateRec::Trialing | SubStateRec::Active if now >= s.period_end => {
            if s.cancel_at_period_end {
                // Kept for the retention time (the tenant can still pay), then deleted: the
                // renewal job deletes what is due (see `deletion_due`).
                s.grace_until = Some(s.period_end + p.retention_secs);
                (SubStateRec::Cancelled, "cancelled_at_period_end")
            } else {
                s.grace_until = Some(s.period_end + p.grace_secs);
                let reason = if from == SubStateRec::Trialing {
                    "trial_ended"
                } else {
                    "renewal_due"
                };
                (SubStateRec::PastDue, reason)
            }
        }
        SubStateRec::PastDue if s.grace_until.is_none_or(|g| now >= g) => {
            (SubStateRec::Suspended, "grace_ended")
        }
        _ => return None,
    };
    s.state = to;
    settle(s, now);
    Some(Step {
        from: Some(from),
        to,
        reason,
    })
}

/// A cancelled subscription whose data must now be deleted.
pub fn deletion_due(s: &SubscriptionRec, now: i64) -> bool {
    s.state == SubStateRec::Cancelled && s.grace_until.is_some_and(|d| now >= d)
}

/// The plan a renewal pays for: a downgrade asked for, else the current one.
pub fn renewal_plan(s: &SubscriptionRec) -> PlanId {
    s.next_plan.unwrap_or(s.plan)
}

/// A payment of `days` on `plan` at `stars` per period, at `now`: the subscription is active
/// until the end of what it had paid (or now, if that has passed) plus `days`, on `plan` (a
/// downgrade waiting for the renewal is the caller's `plan`: see [`renewal_plan`]).
pub fn pay(s: &mut SubscriptionRec, plan: PlanId, stars: u32, days: u32, now: i64) -> Step {
    let from = s.state;
    let paid_through = if from == SubStateRec::Active {
        s.period_end.max(now)
    } else {
        now
    };
    if from != SubStateRec::Active || s.period_end <= now {
        s.period_start = paid_through;
    }
    s.period_end = paid_through + i64::from(days) * DAY;
    s.plan = plan;
    s.next_plan = None;
    s.stars = stars;
    s.state = SubStateRec::Active;
    s.grace_until = None;
    s.cancel_at_period_end = false;
    settle(s, now);
    Step {
        from: Some(from),
        to: SubStateRec::Active,
        reason: "payment",
    }
}

/// A paid upgrade: the new plan at once and a new period from now (the unused part of the old
/// one was credited in its price: see `proration`).
pub fn upgrade(s: &mut SubscriptionRec, plan: PlanId, stars: u32, days: u32, now: i64) -> Step {
    let from = s.state;
    s.plan = plan;
    s.next_plan = None;
    s.stars = stars;
    s.period_start = now;
    s.period_end = now + i64::from(days) * DAY;
    s.state = SubStateRec::Active;
    s.grace_until = None;
    s.cancel_at_period_end = false;
    settle(s, now);
    Step {
        from: Some(from),
        to: SubStateRec::Active,
        reason: "upgrade_paid",
    }
}

/// A payment of `days` given back: the period it bought is taken off what is paid (never
/// before now); the renewal job then moves the subscription on as for any unpaid period.
pub fn refunded(s: &mut SubscriptionRec, days: u32, now: i64) {
    if matches!(s.state, SubStateRec::Active | SubStateRec::Trialing) {
        s.period_end = (s.period_end - i64::from(days) * DAY).max(now);
        settle(s, now);
    }
}

/// Free days given (a referral's reward): added to the period of a live subscription; a past
/// due one whose new end is still ahead is active again. `None`, changing nothing, for a
/// subscription that is suspended or cancelled.
pub fn gift(s: &mut SubscriptionRec, days: u32, now: i64) -> Option<Step> {
    let from = s.state;
    match from {
        SubStateRec::Trialing | SubStateRec::Active => {}
        SubStateRec::PastDue => {
            if s.period_end + i64::from(days) * DAY <= now {
                return None;
            }
            s.state = SubStateRec::Active;
            s.grace_until = None;
        }
        SubStateRec::Suspended | SubStateRec::Cancelled => return None,
    }
    s.period_end += i64::from(days) * DAY;
    settle(s, now);
    Some(Step {
        from: Some(from),
        to: s.state,
        reason: "referral_reward",
    })
}

/// A subscription started by its first payment.
pub fn first_payment(plan: PlanId, stars: u32, days: u32, now: i64) -> (SubscriptionRec, Step) {
    let mut s = fresh(plan, SubStateRec::Active, stars, now, now);
    let mut step = pay(&mut s, plan, stars, days, now);
    step.from = None;
    (s, step)
}

/// The tenant asks to stop: it runs to the end of what was paid (or the trial), then ends.
pub fn cancel(s: &mut SubscriptionRec, now: i64) -> Result<(), &'static str> {
    match s.state {
        SubStateRec::Trialing | SubStateRec::Active => {
            s.cancel_at_period_end = true;
            settle(s, now);
            Ok(())
        }
        _ => Err("only a trial or an active subscription can be cancelled"),
    }
}

/// The tenant changes their mind before the period ends.
pub fn resume(s: &mut SubscriptionRec, now: i64) -> Result<(), &'static str> {
    if !s.cancel_at_period_end || now >= s.period_end {
        return Err("the subscription is not set to end");
    }
    s.cancel_at_period_end = false;
    settle(s, now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;
    const P: Policy = Policy {
        grace_secs: 3 * DAY,
        retention_secs: 30 * DAY,
    };

    fn run(s: &mut SubscriptionRec, until: i64) -> Vec<(&'static str, SubStateRec)> {
        let mut out = Vec::new();
        while let Some(at) = s.due_at.filter(|d| *d <= until) {
            let step = tick(s, at, P).expect("a due subscription steps");
            out.push((step.reason, step.to));
        }
        out
    }

    #[test]
    fn a_trial_unpaid_goes_past_due_then_suspended_on_time() {
        let mut s = start_trial(PlanId(1), 250, 14, T0).unwrap();
        assert_eq!(s.due_at, Some(T0 + 14 * DAY));
        assert_eq!(
            tick(&mut s, T0 + 14 * DAY - 1, P),
            None,
            "not before its time"
        );
        let steps = run(&mut s, T0 + 30 * DAY);
        assert_eq!(
            steps,
            [
                ("trial_ended", SubStateRec::PastDue),
                ("grace_ended", SubStateRec::Suspended)
            ]
        );
        assert_eq!(
            s.due_at, None,
            "a suspended subscription waits for a payment"
        );
        assert!(start_trial(PlanId(1), 250, 0, T0).is_none());
    }

    #[test]
    fn a_payment_extends_from_the_paid_end_or_from_now() {
        let mut s = start_trial(PlanId(1), 250, 7, T0).unwrap();
        // Paid during the trial: 30 days from now.
        pay(&mut s, PlanId(1), 250, 30, T0 + DAY);
        assert_eq!(
            (s.state, s.period_end),
            (SubStateRec::Active, T0 + 31 * DAY)
        );
        // Renewed early: added to what was paid.
        pay(&mut s, PlanId(1), 250, 30, T0 + 20 * DAY);
        assert_eq!(s.period_end, T0 + 61 * DAY);
        // Lapsed, then paid in the grace: 30 days from the payment.
        run(&mut s, T0 + 62 * DAY);
        assert_eq!(s.state, SubStateRec::PastDue);
        assert_eq!(s.grace_until, Some(T0 + 64 * DAY));
        let step = pay(&mut s, PlanId(1), 300, 30, T0 + 62 * DAY);
        assert_eq!(step.from, Some(SubStateRec::PastDue));
        assert_eq!(
            (s.period_start, s.period_end, s.stars, s.grace_until),
            (T0 + 62 * DAY, T0 + 92 * DAY, 300, None)
        );
        // Suspended, then paid: active again from the payment.
        run(&mut s, T0 + 200 * DAY);
        assert_eq!(s.state, SubStateRec::Suspended);
        pay(&mut s, PlanId(1), 300, 30, T0 + 300 * DAY);
        assert_eq!(
            (s.state, s.period_end, s.due_at),
            (SubStateRec::Active, T0 + 330 * DAY, Some(T0 + 330 * DAY))
        );
    }

    #[test]
    fn a_cancelled_subscription_ends_with_its_period_unless_resumed() {
        let (mut s, first) = first_payment(PlanId(2), 500, 30, T0);
        assert_eq!((first.from, first.to), (None, SubStateRec::Active));
        cancel(&mut s, T0 + DAY).unwrap();
        resume(&mut s, T0 + 2 * DAY).unwrap();
        assert!(!s.cancel_at_period_end);
        cancel(&mut s, T0 + 3 * DAY).unwrap();
        let steps = run(&mut s, T0 + 45 * DAY);
        assert_eq!(steps, [("cancelled_at_period_end", SubStateRec::Cancelled)]);
        assert!(resume(&mut s, T0 + 46 * DAY).is_err());
        assert!(cancel(&mut s, T0 + 46 * DAY).is_err());
        // Its data goes 30 days after the period ended, not before.
        assert_eq!(
            (s.grace_until, s.due_at),
            (Some(T0 + 60 * DAY), Some(T0 + 60 * DAY))
        );
        assert!(!deletion_due(&s, T0 + 60 * DAY - 1));
        assert!(deletion_due(&s, T0 + 60 * DAY));
        assert_eq!(tick(&mut s, T0 + 61 * DAY, P), None);
    }

    #[test]
    fn a_downgrade_waits_for_the_renewal() {
        let (mut s, _) = first_payment(PlanId(3), 900, 30, T0);
        s.next_plan = Some(PlanId(1));
        assert_eq!(renewal_plan(&s), PlanId(1));
        let next = renewal_plan(&s);
        pay(&mut s, next, 250, 30, T0 + 29 * DAY);
        assert_eq!((s.plan, s.next_plan, s.stars), (PlanId(1), None, 250));
    }

    #[test]
    fn the_job_never_steps_twice_for_one_due_time() {
        let mut s = start_trial(PlanId(1), 250, 1, T0).unwrap();
        let at = s.due_at.unwrap();
        assert!(tick(&mut s, at, P).is_some());
        // Asked again at the same moment (a restart), nothing more happens until the grace.
        assert_eq!(tick(&mut s, at, P), None);
        assert_eq!(s.due_at, Some(at + 3 * DAY));
    }
}
