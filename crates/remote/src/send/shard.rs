//! One shard: gathers the samples of its series into batches (`max_samples_per_send`, or
//! whatever is there after `batch_send_deadline`) and sends each until it is written or
//! dropped, retrying recoverable failures with a jittered exponential backoff from
//! `min_backoff` to `max_backoff` (or the answer's `Retry-After`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};

use super::client::{StoreClient, StoreError};
use super::encode::{encode_v1, encode_v2, QueuedSample};
use super::ledger::Ledger;
use super::metrics::{Counters, DropReason};
use super::now_ms;
use crate::MessageType;

/// What a shard needs, shared by the queue's shards.
pub(crate) struct ShardContext {
    pub client: StoreClient,
    pub counters: Arc<Counters>,
    pub ledger: Arc<Mutex<Ledger>>,
    pub max_samples_per_send: usize,
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// 0: no limit.
    pub sample_age_limit: Duration,
    /// Whether the entry asks for 2.0 (1.0 is sent after a 415 whatever this says).
    pub v2: bool,
    /// Set when the queue must stop now: batches still unsent stay unsettled, and are
    /// read again from the WAL next time.
    pub hard_stop: watch::Receiver<bool>,
    /// Samples of WAL segments below this one are given up (the queue held too much).
    pub give_up_below: Arc<std::sync::atomic::AtomicU64>,
    pub remote_name: String,
    /// Metric metadata for 2.0 series (`metadata_config.send`).
    pub metadata: Option<super::metadata::MetadataLookup>,
    /// `failed_request_logging`: failed 2.0 requests are logged at debug level.
    pub failed_request_logging: bool,
}

impl ShardContext {
    fn settle(&self, batch: &[QueuedSample]) {
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .settle(batch.iter().map(|s| s.record));
        self.counters
            .pending
            .fetch_sub(batch.len() as u64, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        *self.hard_stop.borrow()
    }

    fn set_error(&self, error: Option<String>) {
        *self
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = error;
    }
}

/// Runs a shard until its channel closes (then sends what it holds) or a hard stop. Samples
/// come in runs (a WAL record's samples of this shard's series); `room` holds the shard's
/// free capacity in samples (`queue_config.capacity`), given back as samples are taken.
pub(crate) async fn run(
    ctx: Arc<ShardContext>,
    mut rx: mpsc::UnboundedReceiver<Vec<QueuedSample>>,
    room: Arc<tokio::sync::Semaphore>,
) {
    let mut batch: Vec<QueuedSample> = Vec::with_capacity(ctx.max_samples_per_send);
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut hard_stop = ctx.hard_stop.clone();
    loop {
        let next = match deadline {
            Some(d) => tokio::select! {
                s = rx.recv() => Some(s),
                _ = tokio::time::sleep_until(d) => None,
                _ = hard_stop.wait_for(|s| *s) => return,
            },
            None => tokio::select! {
                s = rx.recv() => Some(s),
                _ = hard_stop.wait_for(|s| *s) => return,
            },
        };
        match next {
            Some(Some(run)) => {
                room.add_permits(run.len());
                for sample in run {
                    if batch.is_empty() {
                        deadline = Some(tokio::time::Instant::now() + ctx.batch_send_deadline);
                    }
                    batch.push(sample);
                    if batch.len() >= ctx.max_samples_per_send {
                        send(&ctx, std::mem::take(&mut batch)).await;
                        deadline = None;
                    }
                }
            }
            Some(None) => {
                if !batch.is_empty() {
                    send(&ctx, batch).await;
                }
                return;
            }
            None => {
                if !batch.is_empty() {
                    send(&ctx, std::mem::take(&mut batch)).await;
                }
                deadline = None;
            }
        }
    }
}

/// Drops the samples older than the age limit (counted, settled).
fn drop_too_old(ctx: &ShardContext, batch: &mut Vec<QueuedSample>) {
    if ctx.sample_age_limit.is_zero() {
        return;
    }
    let oldest = now_ms() - ctx.sample_age_limit.as_millis() as i64;
    if batch.iter().all(|s| s.t >= oldest) {
        return;
    }
    let (keep, old): (Vec<_>, Vec<_>) = std::mem::take(batch)
        .into_iter()
        .partition(|s| s.t >= oldest);
    ctx.counters.dropped(DropReason::TooOld, old.len());
    ctx.settle(&old);
    *batch = keep;
}

/// A pseudo-random factor in [0.5, 1): the backoff's jitter, so that shards and servers
/// that failed together do not all retry at the same moment.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    0.5 + (h.finish() >> 11) as f64 / (1u64 << 53) as f64 * 0.5
}

/// Sends one batch until it is written, dropped, given up or the queue stops hard.
async fn send(ctx: &ShardContext, mut batch: Vec<QueuedSample>) {
    drop_too_old(ctx, &mut batch);
    if batch.is_empty() {
        return;
    }
    let n = batch.len();
    let mut kind = if ctx.v2 && !ctx.counters.fell_back.load(Ordering::Relaxed) {
        MessageType::V2
    } else {
        MessageType::V1
    };
    let encode = |kind: MessageType, batch: &[QueuedSample]| match kind {
        MessageType::V1 => encode_v1(batch),
        MessageType::V2 => {
            let families = ctx.metadata.as_ref().map(|m| m.families());
            encode_v2(batch, families.as_deref())
        }
    };
    let mut body = encode(kind, &batch);
    let mut backoff = ctx.min_backoff;
    let mut attempt = 0u32;
    let mut hard_stop = ctx.hard_stop.clone();
    loop {
        if ctx.stopped() {
            // Unsettled: the next start reads these samples again.
            ctx.counters.pending.fetch_sub(n as u64, Ordering::Relaxed);
            return;
        }
        Counters::add(&ctx.counters.samples, n);
        let started = Instant::now();
        let result = tokio::select! {
            r = ctx.client.store(body.bytes.clone(), kind, attempt) => r,
            _ = hard_stop.wait_for(|s| *s) => continue,
        };
        let took = started.elapsed();
        match result {
            Ok(written) => {
                if kind == MessageType::V2 && !written.confirmed {
                    // A 2xx without the 2.0 counts: a 1.0 receiver that did not look at
                    // the content type, so it cannot have read the request. Speak 1.0.
                    fall_back(
                        ctx,
                        "a 2xx answer without X-Prometheus-Remote-Write-*-Written headers",
                    );
                    kind = MessageType::V1;
                    body = encode(kind, &batch);
                    continue;
                }
                ctx.counters.observe_send(took);
                Counters::add(&ctx.counters.bytes, body.bytes.len());
                Counters::raise(&ctx.counters.highest_sent_ms, body.highest);
                Counters::add(&ctx.counters.send_nanos, took.as_nanos() as usize);
                let accepted = if kind == MessageType::V2 {
                    (written.samples as usize).min(n)
                } else {
                    n
                };
                Counters::add(&ctx.counters.sent, accepted);
                if accepted < n {
                    // A partial write: the rest was refused for good.
                    Counters::add(&ctx.counters.failed, n - accepted);
                    let message = format!(
                        "the receiver wrote {accepted} of {n} samples (X-Prometheus-Remote-Write-Samples-Written)"
                    );
                    tracing::warn!(remote_name = %ctx.remote_name, url = %ctx.client.shown_url(), "{message}");
                    ctx.set_error(Some(message));
                } else {
                    ctx.set_error(None);
                }
                ctx.settle(&batch);
                return;
            }
            Err(StoreError::UnsupportedMediaType(message)) => {
                log_failed_request(ctx, kind, &batch, &message);
                fall_back(ctx, &message);
                kind = MessageType::V1;
                body = encode(kind, &batch);
            }
            Err(StoreError::Permanent(message)) => {
                log_failed_request(ctx, kind, &batch, &message);
                Counters::add(&ctx.counters.failed, n);
                tracing::error!(remote_name = %ctx.remote_name, url = %ctx.client.shown_url(), samples = n, err = %message, "non-recoverable error sending samples to remote storage; dropped");
                ctx.set_error(Some(message));
                ctx.settle(&batch);
                return;
            }
            Err(StoreError::Recoverable {
                message,
                retry_after,
            }) => {
                log_failed_request(ctx, kind, &batch, &message);
                Counters::add(&ctx.counters.retried, n);
                let below = ctx.give_up_below.load(Ordering::Relaxed);
                if batch.iter().all(|s| s.segment < below) {
                    Counters::add(&ctx.counters.given_up, n);
                    ctx.settle(&batch);
                    return;
                }
                let wait = retry_after
                    .filter(|d| !d.is_zero())
                    .unwrap_or_else(|| backoff.mul_f64(jitter()));
                tracing::warn!(remote_name = %ctx.remote_name, url = %ctx.client.shown_url(), err = %message, retry_in = ?wait, "failed to send batch, retrying");
                ctx.set_error(Some(message));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = hard_stop.wait_for(|s| *s) => {}
                }
                backoff = (backoff * 2).min(ctx.max_backoff);
                attempt += 1;
                // Samples may have aged past the limit while waiting.
                let before = batch.len();
                drop_too_old(ctx, &mut batch);
                if batch.is_empty() {
                    return;
                }
                if batch.len() != before {
                    return Box::pin(send(ctx, batch)).await;
                }
            }
        }
    }
}

/// With `failed_request_logging`, a failed 2.0 request at debug level: what it held (its
/// series and samples, not the whole body).
fn log_failed_request(ctx: &ShardContext, kind: MessageType, batch: &[QueuedSample], err: &str) {
    if !ctx.failed_request_logging || kind != MessageType::V2 {
        return;
    }
    let series: std::collections::BTreeSet<String> = batch
        .iter()
        .take(1000)
        .map(|s| s.series.describe())
        .collect();
    let first: Vec<&str> = series.iter().take(10).map(String::as_str).collect();
    tracing::debug!(
        remote_name = %ctx.remote_name,
        url = %ctx.client.shown_url(),
        samples = batch.len(),
        series = series.len(),
        first_series = %first.join(" "),
        err = %err,
        "Failed to send remote write v2 request"
    );
}

fn fall_back(ctx: &ShardContext, why: &str) {
    if !ctx.counters.fell_back.swap(true, Ordering::Relaxed) {
        tracing::warn!(remote_name = %ctx.remote_name, url = %ctx.client.shown_url(), reason = %why, "the receiver does not take remote write 2.0; sending 1.0 (prometheus.WriteRequest) from now on");
    }
}
