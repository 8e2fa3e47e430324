//! Changing plan in the middle of a paid period, in whole Stars and without floating point.
//!
//! An upgrade takes effect at once: the unused part of the current period is credited at the
//! price the tenant paid, rounded **down** to a whole Star (the reseller keeps less than one
//! Star), and the new plan's full period price less that credit is charged; the new period
//! starts at the upgrade. A downgrade waits for the period's end, so it is never prorated.

/// What an upgrade at `now` costs: `(credit, charge)`, in Stars.
pub fn upgrade(
    paid_stars: u32,
    new_stars: u32,
    period_start: i64,
    period_end: i64,
    now: i64,
) -> (u32, u32) {
    let length = (period_end - period_start).max(1);
    let unused = (period_end - now).clamp(0, length);
    // u32 × i64 fits in i128 with room to spare.
    let credit = i128::from(paid_stars) * i128::from(unused) / i128::from(length);
    let credit = u32::try_from(credit).unwrap_or(paid_stars).min(paid_stars);
    (credit, new_stars.saturating_sub(credit))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn the_unused_part_is_credited_rounded_down() {
        // Half of a 300-Star month left: 150 back, the 900-Star plan costs 750.
        assert_eq!(upgrade(300, 900, 0, 30 * DAY, 15 * DAY), (150, 750));
        // A third of 100 Stars is 33.3…: 33 credited.
        assert_eq!(upgrade(100, 500, 0, 30 * DAY, 20 * DAY), (33, 467));
        // At the very start all is credited; at or after the end nothing.
        assert_eq!(upgrade(300, 900, 0, 30 * DAY, 0), (300, 600));
        assert_eq!(upgrade(300, 900, 0, 30 * DAY, 30 * DAY), (0, 900));
        assert_eq!(upgrade(300, 900, 0, 30 * DAY, 40 * DAY), (0, 900));
        // A credit never makes the charge negative.
        assert_eq!(upgrade(900, 300, 0, 30 * DAY, 0), (900, 0));
        // Huge prices do not overflow.
        assert_eq!(
            upgrade(u32::MAX, u32::MAX, 0, 30 * DAY, 15 * DAY),
            (u32::MAX / 2, u32::MAX - u32::MAX / 2)
        );
    }
}
