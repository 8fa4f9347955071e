//! The notifier's metrics as plain values, for the server to expose under upstream's names.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream's histogram buckets (`prometheus_notifications_latency_histogram_seconds`).
pub const LATENCY_BUCKETS: [f64; 4] = [0.01, 0.1, 1.0, 10.0];
/// Upstream's summary objectives (`prometheus_notifications_latency_seconds`).
pub const LATENCY_QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];
/// The summary's window (client_golang's default `MaxAge`).
const SUMMARY_WINDOW: Duration = Duration::from_secs(600);
/// At most this many observations kept for the quantiles.
const SUMMARY_MAX_SAMPLES: usize = 4096;

/// The whole notifier at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotifierMetrics {
    /// `prometheus_notifications_queue_capacity`.
    pub queue_capacity: u64,
    /// `prometheus_notifications_alertmanagers_discovered`: active Alertmanagers over all sets.
    pub alertmanagers_discovered: u64,
    /// One entry per Alertmanager URL (loops of several sets for the same URL summed, as
    /// upstream's metric vectors add them up under one label value).
    pub alertmanagers: Vec<AlertmanagerMetrics>,
}

/// The series of one `alertmanager` label value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertmanagerMetrics {
    /// The `alertmanager` label: the URL alerts are posted to.
    pub alertmanager: String,
    /// `prometheus_notifications_sent_total`.
    pub sent_total: u64,
    /// `prometheus_notifications_errors_total`: alerts in batches that failed.
    pub errors_total: u64,
    /// `prometheus_notifications_dropped_total`: alerts pushed out of a full queue, in
    /// failed batches, or left undrained at shutdown.
    pub dropped_total: u64,
    /// `prometheus_notifications_queue_length`.
    pub queue_length: u64,
    /// `prometheus_notifications_latency_seconds` (summary) and
    /// `prometheus_notifications_latency_histogram_seconds` (histogram) of successful sends.
    pub latency: Latency,
}

/// Latency of successful sends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub sum_seconds: f64,
    /// `(quantile, seconds)` for [`LATENCY_QUANTILES`] over the last ten minutes (NaN
    /// when there was no send), as the summary reports them.
    pub quantiles: Vec<(f64, f64)>,
    /// Cumulative `(upper bound, count)` for [`LATENCY_BUCKETS`] (`+Inf` is `count`).
    pub buckets: Vec<(f64, u64)>,
}

/// Counters of one send loop.
#[derive(Default)]
pub(crate) struct LoopMetrics {
    pub sent: AtomicU64,
    pub errors: AtomicU64,
    pub dropped: AtomicU64,
    pub queue_length: AtomicU64,
    latency: Mutex<LatencyState>,
}

#[derive(Default)]
struct LatencyState {
    count: u64,
    sum: f64,
    buckets: [u64; LATENCY_BUCKETS.len()],
    recent: VecDeque<(Instant, f64)>,
}

impl LoopMetrics {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn observe(&self, seconds: f64) {
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        l.count += 1;
        l.sum += seconds;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                l.buckets[i] += 1;
            }
        }
        let now = Instant::now();
        l.recent.push_back((now, seconds));
        while l.recent.len() > SUMMARY_MAX_SAMPLES
            || l.recent
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > SUMMARY_WINDOW)
        {
            l.recent.pop_front();
        }
    }

    /// Adds this loop's values into `out`.
    pub fn add_to(&self, out: &mut AlertmanagerMetrics) {
        out.sent_total += self.sent.load(Ordering::Relaxed);
        out.errors_total += self.errors.load(Ordering::Relaxed);
        out.dropped_total += self.dropped.load(Ordering::Relaxed);
        out.queue_length += self.queue_length.load(Ordering::Relaxed);
        let l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        out.latency.count += l.count;
        out.latency.sum_seconds += l.sum;
        if out.latency.buckets.is_empty() {
            out.latency.buckets = LATENCY_BUCKETS.iter().map(|b| (*b, 0)).collect();
        }
        for (slot, n) in out.latency.buckets.iter_mut().zip(l.buckets) {
            slot.1 += n;
        }
        let now = Instant::now();
        let mut values: Vec<f64> = l
            .recent
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= SUMMARY_WINDOW)
            .map(|(_, v)| *v)
            .collect();
        values.sort_by(f64::total_cmp);
        out.latency.quantiles = LATENCY_QUANTILES
            .iter()
            .map(|q| {
                if values.is_empty() {
                    return (*q, f64::NAN);
                }
                let idx = ((*q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
                (*q, values[idx])
            })
            .collect();
    }
}
