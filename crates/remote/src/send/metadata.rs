//! `metadata_config` for 1.0 queues: every `send_interval`, the metric metadata the
//! scrape targets reported (type, help, unit per metric family) is sent in
//! `WriteRequest.metadata` batches of at most `max_samples_per_send`, retried like
//! samples, as Prometheus's metadata watcher does. (2.0 carries metadata with each series
//! instead; see `encode`.)

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::sync::watch;

use super::client::StoreError;
use super::metrics::Counters;
use super::shard::ShardContext;
use crate::proto;
use crate::MessageType;

/// Where metric metadata comes from: the scrape targets' latest reports.
pub trait MetadataSource: Send + Sync + 'static {
    /// `(family name, type, help, unit)` of every metric family a target reported, each
    /// once; `type` as the exposition names it (`counter`, `gauge`, ...).
    fn metric_metadata(&self) -> Vec<(String, String, String, String)>;
}

impl MetadataSource for scrape::Manager {
    fn metric_metadata(&self) -> Vec<(String, String, String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        for target in self.active_targets() {
            for (name, m) in target.status.metadata {
                seen.insert((name, m.kind, m.help, m.unit));
            }
        }
        seen.into_iter().collect()
    }
}

/// The protobuf `MetricType` of an exposition type.
pub(crate) fn metric_type(kind: &str) -> i32 {
    match kind {
        "counter" => 1,
        "gauge" => 2,
        "histogram" => 3,
        "gaugehistogram" => 4,
        "summary" => 5,
        "info" => 6,
        "stateset" => 7,
        _ => 0,
    }
}

/// Sends the metadata every `interval` until `stop` is set.
pub(crate) async fn run(
    ctx: Arc<ShardContext>,
    source: Arc<dyn MetadataSource>,
    interval: Duration,
    max_per_send: usize,
    mut stop: watch::Receiver<bool>,
) {
    let interval = interval.max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let all: Vec<proto::MetricMetadata> = source
            .metric_metadata()
            .into_iter()
            .map(|(name, kind, help, unit)| proto::MetricMetadata {
                r#type: metric_type(&kind),
                metric_family_name: name,
                help,
                unit,
            })
            .collect();
        for batch in all.chunks(max_per_send.max(1)) {
            if !send(&ctx, batch, &mut stop).await {
                return;
            }
        }
    }
}

/// Sends one batch until written or dropped; false when the queue stopped.
async fn send(
    ctx: &ShardContext,
    batch: &[proto::MetricMetadata],
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let request = proto::WriteRequest {
        timeseries: Vec::new(),
        metadata: batch.to_vec(),
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap_or_default();
    let counters = &ctx.counters;
    let mut backoff = ctx.min_backoff;
    let mut attempt = 0;
    loop {
        Counters::add(&counters.metadata, batch.len());
        let result = tokio::select! {
            r = ctx.client.store(body.clone(), MessageType::V1, attempt) => r,
            _ = stop.wait_for(|s| *s) => return false,
        };
        match result {
            Ok(_) => {
                Counters::add(&counters.metadata_bytes, body.len());
                return true;
            }
            Err(StoreError::Recoverable {
                message,
                retry_after,
            }) => {
                Counters::add(&counters.metadata_retried, batch.len());
                tracing::warn!(remote_name = %ctx.remote_name, url = %ctx.client.shown_url(), err = %message, "failed to send metadata, retrying");
                let wait = retry_after.filter(|d| !d.is_zero()).unwrap_or(backoff);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return false,
                }
                backoff = (backoff * 2).min(ctx.max_backoff);
                attempt += 1;
            }
            Err(StoreError::Permanent(message) | StoreError::UnsupportedMediaType(message)) => {
                counters
                    .metadata_failed
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(remote_name = %ctx.remote_name, url = %ctx.client.shown_url(), err = %message, "non-recoverable error sending metadata; dropped");
                return true;
            }
        }
    }
}
