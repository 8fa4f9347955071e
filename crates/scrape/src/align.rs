//! Scrape timestamp alignment, as Prometheus does it by default.

/// Prometheus's default `--scrape.timestamp-tolerance`.
pub const DEFAULT_TIMESTAMP_TOLERANCE_MS: i64 = 2;

/// Prometheus's scrape timestamp alignment (`scrape.adjust-timestamps`, upstream issue
/// 7846): a scrape that starts at most `tolerance` (and at most 1 % of the interval) after
/// its slot on the schedule is stored at the slot's time, so that a target's timestamps
/// are exactly one interval apart and every chunk stores their deltas of deltas as zeros.
/// `slot` moves on by whole intervals (ticks may have been skipped).
pub(crate) fn aligned_time(now: i64, slot: &mut i64, interval: i64, tolerance: i64) -> i64 {
    let tolerance = tolerance.min(interval / 100);
    if interval > 0 {
        while now.saturating_sub(*slot) >= interval {
            *slot = slot.saturating_add(interval);
        }
    }
    if now.saturating_sub(*slot) <= tolerance {
        *slot
    } else {
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_near_the_schedule_take_the_slots_time() {
        let mut slot = 1_000;
        // 5 s interval: the tolerance is 2 ms (1 % would be 50).
        assert_eq!(aligned_time(1_000, &mut slot, 5_000, 2), 1_000);
        assert_eq!(aligned_time(6_002, &mut slot, 5_000, 2), 6_000);
        assert_eq!(slot, 6_000);
        // Too late for the tolerance: the real time, and the slot still moves on.
        assert_eq!(aligned_time(11_003, &mut slot, 5_000, 2), 11_003);
        assert_eq!(slot, 11_000);
        // A skipped tick: the slot catches up by whole intervals.
        assert_eq!(aligned_time(26_001, &mut slot, 5_000, 2), 26_000);
        // Before the next slot (a timer firing early): not within the tolerance of the
        // slot it is in, as upstream's.
        assert_eq!(aligned_time(30_999, &mut slot, 5_000, 2), 30_999);
        // 100 ms interval: 1 % is 1 ms, smaller than the 2 ms asked for.
        let mut slot = 0;
        assert_eq!(aligned_time(102, &mut slot, 100, 2), 102);
        assert_eq!(aligned_time(201, &mut slot, 100, 2), 200);
    }
}
