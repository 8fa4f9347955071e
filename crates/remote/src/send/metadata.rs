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

/// Metric metadata by family name, for 2.0 series: refreshed from the source at most every
/// ten seconds, looked up for each series name (a family's `_bucket`, `_count`, `_sum`,
/// `_total` and `_created` series share its metadata, as in the scrape cache).
pub(crate) struct MetadataLookup {
    source: Arc<dyn MetadataSource>,
    held: std::sync::RwLock<(Option<std::time::Instant>, Arc<FamilyMap>)>,
}

/// `family name -> (type, help, unit)`.
pub(crate) type FamilyMap = rustc_hash::FxHashMap<String, (i32, String, String)>;

const REFRESH: Duration = Duration::from_secs(10);

impl MetadataLookup {
    pub fn new(source: Arc<dyn MetadataSource>) -> Self {
        Self {
            source,
            held: std::sync::RwLock::new((None, Arc::default())),
        }
    }

    /// The current map (refreshed when older than ten seconds).
    pub fn families(&self) -> Arc<FamilyMap> {
        {
            let held = self.held.read().unwrap_or_else(|p| p.into_inner());
            if held.0.is_some_and(|at| at.elapsed() < REFRESH) {
                return Arc::clone(&held.1);
            }
        }
        let map: FamilyMap = self
            .source
            .metric_metadata()
            .into_iter()
            .map(|(name, kind, help, unit)| (name, (metric_type(&kind), help, unit)))
            .collect();
        let map = Arc::new(map);
        *self.held.write().unwrap_or_else(|p| p.into_inner()) =
            (Some(std::time::Instant::now()), Arc::clone(&map));
        map
    }
}

/// The metadata of a series name: its own family's, else that of the family it is a
/// sample of.
pub(crate) fn lookup<'a>(families: &'a FamilyMap, name: &str) -> Option<&'a (i32, String, String)> {
    if let Some(m) = families.get(name) {
        return Some(m);
    }
    for suffix in [
        "_bucket", "_count", "_sum", "_total", "_created", "_gcount", "_gsum", "_info",
    ] {
        if let Some(family) = name.strip_suffix(suffix) {
            if let Some(m) = families.get(family) {
                return Some(m);
            }
        }
    }
    None
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
    let body = crate::compress(&request.encode_to_vec());
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
