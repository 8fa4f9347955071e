//! A queue's metrics as plain values, for the server to expose under upstream's names
//! (`prometheus_remote_storage_*`, labelled `remote_name` and `url`), and the rates the
//! shard count is computed from.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upstream's `sent_batch_duration_seconds` buckets (client_golang's defaults and more).
pub const SEND_DURATION_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0,
];

/// Why samples read from the WAL were not sent (`samples_dropped_total`'s `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// `write_relabel_configs` dropped the series.
    DroppedSeries,
    /// Older than `sample_age_limit`.
    TooOld,
    /// No series record for the sample's reference.
    UnknownSeries,
}

impl DropReason {
    pub fn label(self) -> &'static str {
        match self {
            DropReason::DroppedSeries => "dropped_series",
            DropReason::TooOld => "too_old",
            DropReason::UnknownSeries => "unintentionally_dropped_series",
        }
    }
}

/// One queue at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueMetrics {
    /// `remote_name`: the entry's `name`, or a hash of its settings.
    pub remote_name: String,
    /// `url`.
    pub url: String,
    /// The protobuf message sent now (2.0 until a receiver answered 415).
    pub protobuf_message: &'static str,
    /// Samples read from the WAL (`prometheus_remote_storage_samples_in_total`, summed).
    pub samples_in_total: u64,
    /// Samples the receiver took (for the status page; upstream has no such counter).
    pub samples_written: u64,
    pub samples_total: u64,
    pub samples_failed_total: u64,
    pub samples_retried_total: u64,
    /// Per [`DropReason`] label.
    pub samples_dropped_total: Vec<(&'static str, u64)>,
    pub samples_pending: u64,
    pub enqueue_retries_total: u64,
    pub bytes_total: u64,
    pub highest_timestamp_seconds: f64,
    pub highest_sent_timestamp_seconds: f64,
    pub shard_capacity: u64,
    pub shards: u64,
    pub shards_min: u64,
    pub shards_max: u64,
    pub shards_desired: f64,
    pub max_samples_per_send: u64,
    /// Cumulative `(upper bound, count)` of [`SEND_DURATION_BUCKETS`]; `+Inf` is `count`.
    pub sent_batch_duration_buckets: Vec<(f64, u64)>,
    pub sent_batch_duration_sum: f64,
    pub sent_batch_duration_count: u64,
    /// Samples given up because the queue held more WAL than allowed
    /// (`promethium_remote_storage_samples_given_up_total`).
    pub samples_given_up_total: u64,
    /// Bytes of WAL this queue keeps on disk (`promethium_remote_storage_wal_held_bytes`).
    pub wal_held_bytes: u64,
    /// The last error, if the last send failed: for the status page.
    pub last_error: Option<String>,
    pub metadata_total: u64,
    pub metadata_failed_total: u64,
    pub metadata_retried_total: u64,
    pub metadata_bytes_total: u64,
}

/// Live counters of one queue.
#[derive(Default)]
pub(crate) struct Counters {
    pub samples: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub dropped: [AtomicU64; 3],
    pub pending: AtomicU64,
    pub enqueue_retries: AtomicU64,
    pub bytes: AtomicU64,
    /// Highest timestamp read (ms), and sent.
    pub highest_read_ms: AtomicI64,
    pub highest_sent_ms: AtomicI64,
    pub shards: AtomicU64,
    /// Desired shards × 1000.
    pub shards_desired_milli: AtomicU64,
    pub given_up: AtomicU64,
    pub wal_held_bytes: AtomicU64,
    /// Samples read from the WAL (for the shard calculation), and sent successfully.
    pub read: AtomicU64,
    pub sent: AtomicU64,
    /// Nanoseconds spent in successful sends.
    pub send_nanos: AtomicU64,
    pub durations: Mutex<Durations>,
    pub last_error: Mutex<Option<String>>,
    /// Whether 1.0 is sent instead of 2.0 (after a 415).
    pub fell_back: std::sync::atomic::AtomicBool,
    /// Metadata entries sent (per attempt), failed, retried, and bytes sent.
    pub metadata: AtomicU64,
    pub metadata_failed: AtomicU64,
    pub metadata_retried: AtomicU64,
    pub metadata_bytes: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Durations {
    pub buckets: [u64; SEND_DURATION_BUCKETS.len()],
    pub sum: f64,
    pub count: u64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn dropped(&self, reason: DropReason, n: usize) {
        let i = match reason {
            DropReason::DroppedSeries => 0,
            DropReason::TooOld => 1,
            DropReason::UnknownSeries => 2,
        };
        Self::add(&self.dropped[i], n);
    }

    pub fn observe_send(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let mut d = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        for (i, bound) in SEND_DURATION_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                d.buckets[i] += 1;
            }
        }
        d.sum += seconds;
        d.count += 1;
    }

    pub fn raise(max: &AtomicI64, t: i64) {
        max.fetch_max(t, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> QueueMetrics {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let secs = |c: &AtomicI64| {
            let ms = c.load(Ordering::Relaxed);
            if ms == i64::MIN || ms <= 0 {
                0.0
            } else {
                (ms / 1000) as f64
            }
        };
        let d = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        QueueMetrics {
            samples_in_total: load(&self.read),
            samples_written: load(&self.sent),
            samples_total: load(&self.samples),
            samples_failed_total: load(&self.failed),
            samples_retried_total: load(&self.retried),
            samples_dropped_total: [
                DropReason::DroppedSeries,
                DropReason::TooOld,
                DropReason::UnknownSeries,
            ]
            .iter()
            .zip(&self.dropped)
            .map(|(r, c)| (r.label(), load(c)))
            .collect(),
            samples_pending: load(&self.pending),
            enqueue_retries_total: load(&self.enqueue_retries),
            bytes_total: load(&self.bytes),
            highest_timestamp_seconds: secs(&self.highest_read_ms),
            highest_sent_timestamp_seconds: secs(&self.highest_sent_ms),
            shards: load(&self.shards),
            shards_desired: load(&self.shards_desired_milli) as f64 / 1000.0,
            sent_batch_duration_buckets: SEND_DURATION_BUCKETS
                .iter()
                .zip(d.buckets)
                .map(|(b, n)| (*b, n))
                .collect(),
            sent_batch_duration_sum: d.sum,
            sent_batch_duration_count: d.count,
            samples_given_up_total: load(&self.given_up),
            metadata_total: load(&self.metadata),
            metadata_failed_total: load(&self.metadata_failed),
            metadata_retried_total: load(&self.metadata_retried),
            metadata_bytes_total: load(&self.metadata_bytes),
            wal_held_bytes: load(&self.wal_held_bytes),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            ..QueueMetrics::default()
        }
    }
}

/// An exponentially weighted rate, ticked at a fixed interval (upstream's `ewmaRate`:
/// α 0.2, the first tick taken as is).
pub(crate) struct EwmaRate {
    interval: Duration,
    last_total: u64,
    rate: f64,
    initialized: bool,
}

impl EwmaRate {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_total: 0,
            rate: 0.0,
            initialized: false,
        }
    }

    /// Takes the counter's current total; returns the rate per second.
    pub fn tick(&mut self, total: u64) -> f64 {
        let instant = total.saturating_sub(self.last_total) as f64 / self.interval.as_secs_f64();
        self.last_total = total;
        if self.initialized {
            self.rate += 0.2 * (instant - self.rate);
        } else if total > 0 {
            self.rate = instant;
            self.initialized = true;
        }
        self.rate
    }
}

/// Inputs of upstream's `calculateDesiredShards`, per second.
pub(crate) struct ShardInputs {
    pub in_rate: f64,
    pub out_rate: f64,
    pub dropped_rate: f64,
    /// Seconds spent sending per second.
    pub out_duration: f64,
    /// Highest read minus highest sent timestamp, seconds.
    pub delay: f64,
}

/// The shard count upstream's rule wants: enough to send the incoming rate plus 5 % of
/// the backlog per second at the observed time per sample; unchanged within ±30 %, no
/// shrinking while more than ten seconds behind; within `[min, max]`. Also returns the
/// unrounded estimate (`shards_desired`).
pub(crate) fn desired_shards(
    current: usize,
    min: usize,
    max: usize,
    x: &ShardInputs,
) -> (usize, f64) {
    if x.out_rate <= 0.0 {
        return (current, current as f64);
    }
    let kept_ratio = x.out_rate / (x.dropped_rate + x.out_rate);
    let pending = x.delay * x.in_rate * kept_ratio;
    let time_per_sample = x.out_duration / x.out_rate;
    let desired = time_per_sample * (x.in_rate * kept_ratio + 0.05 * pending);
    let (lower, upper) = (current as f64 * 0.7, current as f64 * 1.3);
    let rounded = desired.ceil();
    if lower <= rounded && rounded <= upper {
        return (current, desired);
    }
    let mut n = rounded as usize;
    if n < current && x.delay > 10.0 {
        return (current, desired);
    }
    n = n.clamp(min, max);
    (n, desired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_takes_the_first_tick_then_smooths() {
        let mut r = EwmaRate::new(Duration::from_secs(10));
        assert_eq!(r.tick(0), 0.0);
        assert_eq!(r.tick(100), 10.0);
        assert!((r.tick(300) - 12.0).abs() < 1e-9);
    }

    #[test]
    fn shards_follow_the_load_within_bounds() {
        let x = |in_rate: f64, out_duration: f64, delay: f64| ShardInputs {
            in_rate,
            out_rate: in_rate,
            dropped_rate: 0.0,
            out_duration,
            delay,
        };
        // 10 000 samples/s at 0.5 ms each: 5 shards busy.
        assert_eq!(desired_shards(1, 1, 50, &x(10_000.0, 5.0, 0.0)).0, 5);
        // Within 30 %: unchanged.
        assert_eq!(desired_shards(5, 1, 50, &x(10_000.0, 5.5, 0.0)).0, 5);
        // Capped.
        assert_eq!(desired_shards(5, 1, 8, &x(10_000.0, 50.0, 0.0)).0, 8);
        // Not shrinking while behind.
        assert_eq!(desired_shards(10, 1, 50, &x(10_000.0, 1.0, 30.0)).0, 10);
        assert_eq!(desired_shards(10, 2, 50, &x(10_000.0, 1.0, 0.0)).0, 2);
        // Nothing sent: unchanged.
        assert_eq!(desired_shards(3, 1, 50, &x(0.0, 0.0, 0.0)).0, 3);
    }
}
