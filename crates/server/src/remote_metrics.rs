//! The remote-write queues' metrics under upstream's names (`prometheus_remote_storage_*`,
//! labelled `remote_name` and `url`), promethium's own about the WAL they hold, and
//! `GET /api/v1/status/remote_write` (promethium's: Prometheus has no such endpoint), which
//! the UI's status page shows.

use crate::metrics::{escape, family};

/// `(labels, name suffix, value)` of one exposed sample.
type Sample = (String, &'static str, f64);

/// The families of every queue, as exposition text.
pub fn text(storage: &remote::WriteStorage, openmetrics: bool) -> String {
    let mut out = String::new();
    let queues = storage.metrics();
    let labels = |q: &remote::QueueMetrics| {
        format!(
            "remote_name=\"{}\",url=\"{}\"",
            escape(&q.remote_name),
            escape(&q.url)
        )
    };
    let per_queue = |f: &dyn Fn(&remote::QueueMetrics) -> f64| -> Vec<Sample> {
        queues.iter().map(|q| (labels(q), "", f(q))).collect()
    };
    let samples_in: u64 = queues.iter().map(|q| q.samples_in_total).sum();
    family(
        &mut out,
        openmetrics,
        "prometheus_remote_storage_samples_in_total",
        "counter",
        "Samples in to remote storage, compare to samples out for queue managers.",
        &[(String::new(), "", samples_in as f64)],
    );
    // As Prometheus: the newest sample appended, whatever the queues have read.
    let highest_in = storage.highest_appended_seconds();
    family(
        &mut out,
        openmetrics,
        "prometheus_remote_storage_highest_timestamp_in_seconds",
        "gauge",
        "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.",
        &[(String::new(), "", highest_in)],
    );
    if queues.is_empty() {
        return out;
    }
    let families: [(&str, &str, &str, Vec<Sample>); 16] = [
        (
            "prometheus_remote_storage_samples_total",
            "counter",
            "Total number of samples sent to remote storage.",
            per_queue(&|q| q.samples_total as f64),
        ),
        (
            "prometheus_remote_storage_samples_failed_total",
            "counter",
            "Total number of samples which failed on send to remote storage, non-recoverable errors.",
            per_queue(&|q| q.samples_failed_total as f64),
        ),
        (
            "prometheus_remote_storage_samples_retried_total",
            "counter",
            "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.",
            per_queue(&|q| q.samples_retried_total as f64),
        ),
        (
            "prometheus_remote_storage_samples_dropped_total",
            "counter",
            "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.",
            queues
                .iter()
                .flat_map(|q| {
                    q.samples_dropped_total.iter().map(move |(reason, n)| {
                        (format!("{},reason=\"{reason}\"", labels(q)), "", *n as f64)
                    })
                })
                .collect(),
        ),
        (
            "prometheus_remote_storage_samples_pending",
            "gauge",
            "The number of samples pending in the queues shards to be sent to the remote storage.",
            per_queue(&|q| q.samples_pending as f64),
        ),
        (
            "prometheus_remote_storage_enqueue_retries_total",
            "counter",
            "Total number of times enqueue has failed because a shards queue was full.",
            per_queue(&|q| q.enqueue_retries_total as f64),
        ),
        (
            "prometheus_remote_storage_bytes_total",
            "counter",
            "The total number of bytes of data (not metadata) sent by the queue after compression.",
            per_queue(&|q| q.bytes_total as f64),
        ),
        (
            "prometheus_remote_storage_queue_highest_timestamp_seconds",
            "gauge",
            "Highest timestamp that was enqueued, in seconds since epoch. Initialized to 0 when no data has been received yet.",
            per_queue(&|q| q.highest_timestamp_seconds),
        ),
        (
            "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
            "gauge",
            "Highest timestamp successfully sent by this queue, in seconds since epoch. Initialized to 0 when no data has been sent yet.",
            per_queue(&|q| q.highest_sent_timestamp_seconds),
        ),
        (
            "prometheus_remote_storage_shard_capacity",
            "gauge",
            "The capacity of each shard of the queue used for parallel sending to the remote storage.",
            per_queue(&|q| q.shard_capacity as f64),
        ),
        (
            "prometheus_remote_storage_shards",
            "gauge",
            "The number of shards used for parallel sending to the remote storage.",
            per_queue(&|q| q.shards as f64),
        ),
        (
            "prometheus_remote_storage_shards_max",
            "gauge",
            "The maximum number of shards that the queue is allowed to run.",
            per_queue(&|q| q.shards_max as f64),
        ),
        (
            "prometheus_remote_storage_shards_min",
            "gauge",
            "The minimum number of shards that the queue is allowed to run.",
            per_queue(&|q| q.shards_min as f64),
        ),
        (
            "prometheus_remote_storage_shards_desired",
            "gauge",
            "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.",
            per_queue(&|q| q.shards_desired),
        ),
        (
            "prometheus_remote_storage_max_samples_per_send",
            "gauge",
            "The maximum number of samples to be sent, in a single request, to the remote storage.",
            per_queue(&|q| q.max_samples_per_send as f64),
        ),
        (
            "promethium_remote_storage_samples_given_up_total",
            "counter",
            "Samples a remote-write queue gave up because it was behind by more WAL than --storage.remote.max-held-wal-size or -age allow.",
            per_queue(&|q| q.samples_given_up_total as f64),
        ),
    ];
    for (name, kind, help, samples) in &families {
        family(&mut out, openmetrics, name, kind, help, samples);
    }
    for (name, kind, help, samples) in [
        (
            "prometheus_remote_storage_metadata_total",
            "counter",
            "Total number of metadata entries sent to remote storage.",
            per_queue(&|q| q.metadata_total as f64),
        ),
        (
            "prometheus_remote_storage_metadata_failed_total",
            "counter",
            "Total number of metadata entries which failed on send to remote storage, non-recoverable errors.",
            per_queue(&|q| q.metadata_failed_total as f64),
        ),
        (
            "prometheus_remote_storage_metadata_retried_total",
            "counter",
            "Total number of metadata entries which failed on send to remote storage but were retried because the send error was recoverable.",
            per_queue(&|q| q.metadata_retried_total as f64),
        ),
        (
            "prometheus_remote_storage_metadata_bytes_total",
            "counter",
            "The total number of bytes of metadata sent by the queue after compression.",
            per_queue(&|q| q.metadata_bytes_total as f64),
        ),
    ] {
        family(&mut out, openmetrics, name, kind, help, &samples);
    }
    family(
        &mut out,
        openmetrics,
        "promethium_remote_storage_wal_held_bytes",
        "gauge",
        "Bytes of WAL segments kept on disk for a remote-write queue that has not sent them yet.",
        &per_queue(&|q| q.wal_held_bytes as f64),
    );
    let mut durations = Vec::new();
    for q in &queues {
        let l = labels(q);
        for (bound, n) in &q.sent_batch_duration_buckets {
            durations.push((format!("{l},le=\"{bound}\""), "_bucket", *n as f64));
        }
        durations.push((
            format!("{l},le=\"+Inf\""),
            "_bucket",
            q.sent_batch_duration_count as f64,
        ));
        durations.push((l.clone(), "_sum", q.sent_batch_duration_sum));
        durations.push((l, "_count", q.sent_batch_duration_count as f64));
    }
    family(
        &mut out,
        openmetrics,
        "prometheus_remote_storage_sent_batch_duration_seconds",
        "histogram",
        "Duration of send calls to the remote storage.",
        &durations,
    );
    out
}

/// `GET /api/v1/status/remote_write`: one entry per queue.
pub async fn status(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::web::AppState>>,
) -> axum::Json<serde_json::Value> {
    let appended = state.remote_write.highest_appended_seconds();
    let queues: Vec<serde_json::Value> = state
        .remote_write
        .metrics()
        .iter()
        .map(|q| {
            let dropped: u64 = q.samples_dropped_total.iter().map(|(_, n)| n).sum();
            // Behind the newest sample appended; unknown (null) until something was sent.
            let lag = (q.highest_sent_timestamp_seconds > 0.0)
                .then(|| (appended - q.highest_sent_timestamp_seconds).max(0.0));
            serde_json::json!({
                "remoteName": q.remote_name,
                "url": q.url,
                "protobufMessage": q.protobuf_message,
                "shards": q.shards,
                "shardsDesired": q.shards_desired,
                "shardsMin": q.shards_min,
                "shardsMax": q.shards_max,
                "samplesSent": q.samples_written,
                "samplesPending": q.samples_pending,
                "samplesFailed": q.samples_failed_total,
                "samplesRetried": q.samples_retried_total,
                "samplesDropped": dropped,
                "samplesGivenUp": q.samples_given_up_total,
                "highestTimestampSeconds": q.highest_timestamp_seconds,
                "highestSentTimestampSeconds": q.highest_sent_timestamp_seconds,
                "lagSeconds": lag,
                "walHeldBytes": q.wal_held_bytes,
                "lastError": q.last_error,
            })
        })
        .collect();
    axum::Json(serde_json::json!({"status": "success", "data": {"queues": queues}}))
}
