//! When groups run: upstream's evaluation slots (`Group.EvalTimestamp`, offset by a hash of
//! the group's file and name), and its run loop (first evaluation one slot ahead, the
//! `for` state restored after the second, missed slots counted and skipped), over a
//! [`Clock`] so that tests need not sleep.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::alerting::duration_ms;
use crate::group::{EvalReport, Group};
use crate::storage::Env;

/// Upstream's group hash: xxHash64 of the label set `{file="<file>", name="<name>"}` in
/// its `stringlabels` encoding (the default since Prometheus 3.5: each name and value
/// preceded by its length, one byte below 255, else 255 and three bytes little-endian).
pub fn group_hash(file: &str, name: &str) -> u64 {
    let mut data = Vec::with_capacity(file.len() + name.len() + 16);
    for s in ["file", file, "name", name] {
        let n = s.len();
        if n < 255 {
            data.push(n as u8);
        } else {
            data.extend_from_slice(&[255, n as u8, (n >> 8) as u8, (n >> 16) as u8]);
        }
        data.extend_from_slice(s.as_bytes());
    }
    xxh64(&data, 0)
}

/// Upstream's `EvalTimestamp` for a group: the latest of its slots at or before `now_ms`.
/// The slots are the interval's multiples moved later by `hash % interval` nanoseconds;
/// returned in ms (rounded down, as upstream turns times into sample timestamps).
pub fn eval_timestamp(file: &str, name: &str, interval: Duration, now_ms: i64) -> i64 {
    let interval_ns = interval.as_nanos().max(1);
    let offset = (group_hash(file, name) as u128 % interval_ns) as i128;
    let interval_ns = interval_ns as i128;
    let adjusted = now_ms as i128 * 1_000_000 - offset;
    // Go's `%` keeps the dividend's sign, like Rust's.
    let next = adjusted - adjusted % interval_ns + offset;
    next.div_euclid(1_000_000) as i64
}

/// Time for [`run`]: the wall clock, or a test's.
pub trait Clock {
    /// Now, in ms since the epoch.
    fn now_ms(&self) -> i64;
    /// Waits until `deadline_ms` (at once if it passed); `false`: stop running.
    fn sleep_until(&self, deadline_ms: i64) -> bool;
}

/// The wall clock, with a [`SystemClock::stop`] that wakes and ends every [`run`] using it.
#[derive(Debug, Default)]
pub struct SystemClock {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl SystemClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, duration_ms)
    }

    fn sleep_until(&self, deadline_ms: i64) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *stopped {
                return false;
            }
            let left = deadline_ms - self.now_ms();
            if left <= 0 {
                return true;
            }
            stopped = self
                .wake
                .wait_timeout(stopped, Duration::from_millis(left as u64))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Upstream's `Group.run`: waits for the group's next slot and evaluates there, then at
/// every slot after; when the group is to restore `for` state, restores it after the
/// second evaluation (the first may lack data recording rules have not yet written). A
/// slot passed while an evaluation ran long is skipped and counted as missed.
/// `after_eval` gets each evaluation's report (alerts to send). Returns when the clock
/// says stop.
pub fn run(
    group: &mut Group,
    env: &Env<'_>,
    clock: &dyn Clock,
    mut after_eval: impl FnMut(&Group, EvalReport),
) {
    let interval = duration_ms(group.interval()).max(1);
    let mut ts = group.eval_timestamp(clock.now_ms()) + interval;
    if !clock.sleep_until(ts) {
        return;
    }
    let report = group.eval(env, ts);
    after_eval(group, report);
    let mut restore = group.should_restore();
    loop {
        if !clock.sleep_until(ts + interval) {
            return;
        }
        let missed = ((clock.now_ms() - ts) / interval - 1).max(0);
        if missed > 0 {
            group.record_missed(missed as u64);
        }
        ts += (missed + 1) * interval;
        let report = group.eval(env, ts);
        after_eval(group, report);
        if restore {
            group.restore_for_state(env, clock.now_ms());
            restore = false;
        }
    }
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge_round(acc: u64, val: u64) -> u64 {
    (acc ^ round(0, val)).wrapping_mul(P1).wrapping_add(P4)
}

fn read_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]))
}

/// XXH64 (what Go's `cespare/xxhash.Sum64` computes, with seed 0).
pub(crate) fn xxh64(data: &[u8], seed: u64) -> u64 {
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while rest.len() >= 32 {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, read_u64(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for acc in v {
            h = merge_round(h, acc);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(data.len() as u64);
    while rest.len() >= 8 {
        h ^= round(0, read_u64(rest));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let k = u32::from_le_bytes(rest[..4].try_into().unwrap_or([0; 4])) as u64;
        h ^= k.wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h ^= (b as u64).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_known_values() {
        // Reference values from xxhsum (xxHash 0.8.1).
        assert_eq!(xxh64(b"", 0), 0xef46_db37_51d8_e999);
        assert_eq!(xxh64(b"abc", 0), 0x44bc_2cf5_ad77_0999);
        assert_eq!(
            xxh64(b"The quick brown fox jumps over the lazy dog", 0),
            0x0b24_2d36_1fda_71bc
        );
        let s63 = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ!";
        assert_eq!(xxh64(s63, 0), 0xdc02_79ff_690e_8490);
        assert_eq!(xxh64(b"1234567", 0), 0xd3a4_6e91_0828_9359);
    }

    #[test]
    fn group_hash_is_upstreams_labels_hash() {
        // xxhsum of "\x04file\x09rules.yml\x04name\x07example", the stringlabels bytes.
        assert_eq!(group_hash("rules.yml", "example"), 0x25b5_f761_f844_4e2d);
        assert_eq!(group_hash("", "default"), 0x659f_6998_4754_4b35);
    }

    #[test]
    fn eval_timestamp_is_the_preceding_slot() {
        let minute = Duration::from_secs(60);
        // hash % 60s = 50.337076781 s.
        let now = 1_700_000_000_123;
        let ts = eval_timestamp("rules.yml", "example", minute, now);
        assert_eq!(ts, 1_699_999_970_337);
        assert!(ts <= now && now - ts < 60_000);
        // Every time within one slot maps to the slot, the next slot one interval on. The
        // slot itself is at ...337.076781 ms: its whole millisecond is still before it.
        assert_eq!(
            eval_timestamp("rules.yml", "example", minute, ts),
            ts - 60_000
        );
        assert_eq!(eval_timestamp("rules.yml", "example", minute, ts + 1), ts);
        assert_eq!(
            eval_timestamp("rules.yml", "example", minute, ts + 60_000),
            ts
        );
        assert_eq!(
            eval_timestamp("rules.yml", "example", minute, ts + 60_001),
            ts + 60_000
        );
    }
}
