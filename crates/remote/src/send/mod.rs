//! The sending side of remote write: one queue per `remote_write` entry, reading the WAL
//! (not a copy in memory) from a position kept on disk, so that what was appended is
//! sent, in order per series, across restarts and receiver outages.
//!
//! - `queue`: the reading thread, series labels, the ledger's position, holding WAL
//!   segments and giving them up past the limits, resharding;
//! - `shard`: batching and sending with retries;
//! - `client`: one HTTP request and what its answer means;
//! - `encode`: 1.0 and 2.0 request bodies;
//! - `ledger`: the settled position and its file;
//! - `metrics`: counters, rates and the shard calculation.

mod client;
mod encode;
mod ledger;
mod metadata;
mod metrics;
mod queue;
mod shard;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Labels;
use promconfig::RemoteWriteConfig;
use tsdb::wal::WalPosition;

pub use metadata::MetadataSource;
pub use metrics::{QueueMetrics, SEND_DURATION_BUCKETS};

/// The wall clock in ms (sample ages are measured against it).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What the queues need of the storage: its WAL and the head's series.
pub trait WalSource: Send + Sync + 'static {
    fn wal_dir(&self) -> PathBuf;
    /// Where the next record will be written.
    fn wal_end(&self) -> WalPosition;
    /// Keeps segments from `from_segment` on for `holder` (`None`: released).
    fn hold_wal(&self, holder: &str, from_segment: Option<u64>);
    /// The labels of a series still in the head.
    fn series_labels(&self, r: u64) -> Option<Labels>;
    /// The newest timestamp appended (ms; `i64::MIN` when none): how far behind a queue is.
    fn highest_appended_ms(&self) -> i64;
}

impl WalSource for tsdb::Db {
    fn wal_dir(&self) -> PathBuf {
        tsdb::Db::wal_dir(self)
    }
    fn wal_end(&self) -> WalPosition {
        tsdb::Db::wal_end(self)
    }
    fn hold_wal(&self, holder: &str, from_segment: Option<u64>) {
        tsdb::Db::hold_wal(self, holder, from_segment)
    }
    fn series_labels(&self, r: u64) -> Option<Labels> {
        tsdb::Db::series_labels(self, r)
    }
    fn highest_appended_ms(&self) -> i64 {
        tsdb::Db::head_max_time(self)
    }
}

/// Server-wide settings of the queues.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// How long queues may take to send what they hold at shutdown or when removed
    /// (`--storage.remote.flush-deadline`).
    pub flush_deadline: Duration,
    /// A queue behind by more WAL than this gives up its oldest segments (0: no limit).
    pub max_held_bytes: u64,
    /// Or by segments older than this (0: no limit).
    pub max_held_age: Duration,
    /// The `User-Agent` of requests.
    pub user_agent: String,
}

/// Why a `remote_write` entry cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("remote_write {name}: {reason}")]
pub struct ConfigError {
    /// The entry's name, or its URL.
    pub name: String,
    pub reason: String,
}

/// The remote-write queues.
pub struct WriteStorage {
    wal: Arc<dyn WalSource>,
    /// Metric metadata for `metadata_config`.
    metadata: Arc<dyn MetadataSource>,
    /// Where the queues keep their positions.
    state_dir: PathBuf,
    opts: SendOptions,
    runtime: tokio::runtime::Handle,
    queues: Mutex<Vec<queue::Queue>>,
}

impl WriteStorage {
    pub fn new(
        wal: Arc<dyn WalSource>,
        metadata: Arc<dyn MetadataSource>,
        state_dir: PathBuf,
        opts: SendOptions,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            wal,
            metadata,
            state_dir,
            opts,
            runtime,
            queues: Mutex::new(Vec::new()),
        }
    }

    /// Checks the entries without changing anything: what promethium cannot do is
    /// refused here, at start and on reload, rather than accepted and ignored.
    pub fn check(configs: &[RemoteWriteConfig]) -> Result<(), ConfigError> {
        for (i, cfg) in configs.iter().enumerate() {
            // Prometheus's rule and words: identical entries would send everything twice.
            if configs[..i].contains(cfg) {
                return Err(ConfigError {
                    name: display_name(cfg),
                    reason: format!(
                        "duplicate remote write configs are not allowed, found duplicate for URL: {}",
                        cfg.url.as_ref().map(|u| u.redacted()).unwrap_or_default()
                    ),
                });
            }
        }
        for cfg in configs {
            let name = display_name(cfg);
            let refuse = |what: &str| {
                ConfigError {
                name: name.clone(),
                reason: format!("{what} authentication is not supported by promethium; use basic_auth, authorization or oauth2 (or a proxy that adds credentials)"),
            }
            };
            if cfg.sigv4.is_some() {
                return Err(refuse("sigv4 (AWS)"));
            }
            if cfg.azuread.is_some() {
                return Err(refuse("azuread"));
            }
            if cfg.google_iam.is_some() {
                return Err(refuse("google_iam"));
            }
            if let Some(oauth2) = &cfg.http.oauth2 {
                httpclient::check_oauth2(oauth2).map_err(|reason| ConfigError {
                    name: name.clone(),
                    reason,
                })?;
            }
            if cfg.round_robin_dns {
                return Err(ConfigError {
                    name: name.clone(),
                    reason: "round_robin_dns is not supported by promethium yet; leave it off (each request resolves the host anew)".into(),
                });
            }
        }
        Ok(())
    }

    /// Runs the queues of `configs`: unchanged entries keep their queue; changed ones
    /// restart from their kept position; removed ones send what they hold (within the
    /// flush deadline, in the background) and forget their position.
    pub fn apply_config(
        &self,
        configs: &[RemoteWriteConfig],
        external_labels: &Labels,
    ) -> Result<(), ConfigError> {
        Self::check(configs)?;
        let mut unnamed_per_url: std::collections::HashMap<String, usize> = Default::default();
        let wanted: Vec<(String, String, String, &RemoteWriteConfig)> = configs
            .iter()
            .map(|cfg| {
                let config_key = format!("{:016x}", fnv(&format!("{cfg:?}{external_labels:?}")));
                let url = cfg.url.as_ref().map(|u| u.raw.clone()).unwrap_or_default();
                let position_key = if cfg.name.is_empty() {
                    // Unnamed entries for the same URL (with different settings) are told
                    // apart by their order.
                    let n = unnamed_per_url.entry(url.clone()).or_default();
                    *n += 1;
                    match *n {
                        1 => format!("url-{:016x}", fnv(&url)),
                        n => format!("url-{:016x}-{n}", fnv(&url)),
                    }
                } else {
                    format!("name-{}", sanitize(&cfg.name))
                };
                let remote_name = if cfg.name.is_empty() {
                    config_key[..6].to_string()
                } else {
                    cfg.name.clone()
                };
                (config_key, position_key, remote_name, cfg)
            })
            .collect();
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let mut keep = Vec::new();
        let mut retire = Vec::new();
        for q in queues.drain(..) {
            if wanted.iter().any(|w| w.0 == q.config_key) {
                keep.push(q);
            } else {
                retire.push(q);
            }
        }
        // Retired queues first: a changed entry's new queue starts from the position the
        // old one settled at.
        let deadline = self.opts.flush_deadline;
        let mut released = Vec::new();
        for q in retire {
            let reused = wanted.iter().any(|w| w.1 == q.position_key);
            let name = q.remote_name.clone();
            let position_key = q.position_key.clone();
            if reused {
                // Stopped now (briefly: what it holds is read again by its successor).
                q.stop(Duration::ZERO);
            } else {
                released.push((position_key, name));
                std::thread::spawn(move || q.stop(deadline));
            }
        }
        for (position_key, _) in &released {
            let _ = std::fs::remove_file(self.state_dir.join(format!("{position_key}.position")));
            self.wal
                .hold_wal(&format!("remote_write/{position_key}"), None);
        }
        for (config_key, position_key, remote_name, cfg) in wanted {
            if keep.iter().any(|q| q.config_key == config_key) {
                continue;
            }
            let q = queue::Queue::start(
                cfg,
                external_labels,
                config_key,
                position_key,
                remote_name,
                Arc::clone(&self.wal),
                Arc::clone(&self.metadata),
                self.state_dir.clone(),
                &self.opts,
                self.runtime.clone(),
            )
            .map_err(|reason| ConfigError {
                name: display_name(cfg),
                reason,
            })?;
            keep.push(q);
        }
        *queues = keep;
        Ok(())
    }

    /// The newest timestamp appended to the storage, in seconds (0 when none):
    /// `prometheus_remote_storage_highest_timestamp_in_seconds`, what queues are behind.
    pub fn highest_appended_seconds(&self) -> f64 {
        match self.wal.highest_appended_ms() {
            i64::MIN => 0.0,
            ms => (ms / 1000) as f64,
        }
    }

    /// Every queue's metrics.
    pub fn metrics(&self) -> Vec<QueueMetrics> {
        self.queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(queue::Queue::metrics)
            .collect()
    }

    /// Stops every queue, giving each the flush deadline to send what it holds. Blocks.
    pub fn stop(&self) {
        let queues: Vec<_> = self
            .queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        let deadline = self.opts.flush_deadline;
        let handles: Vec<_> = queues
            .into_iter()
            .map(|q| std::thread::spawn(move || q.stop(deadline)))
            .collect();
        for h in handles {
            let _ = h.join();
        }
    }
}

fn display_name(cfg: &RemoteWriteConfig) -> String {
    if cfg.name.is_empty() {
        cfg.url.as_ref().map(|u| u.redacted()).unwrap_or_default()
    } else {
        cfg.name.clone()
    }
}

/// FNV-1a: a stable hash for file names and `remote_name`.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A name usable as a file name: other characters become `_` (with a hash when any did).
fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean == name {
        clean
    } else {
        format!("{clean}-{:08x}", fnv(name) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> RemoteWriteConfig {
        RemoteWriteConfig {
            url: Some(promconfig::GoUrl::parse(url).unwrap()),
            ..RemoteWriteConfig::defaults()
        }
    }

    #[test]
    fn identical_entries_and_cloud_signing_are_refused() {
        let a = entry("http://127.0.0.1:1/api/v1/write");
        let err = WriteStorage::check(&[a.clone(), a.clone()]).unwrap_err();
        assert!(err
            .reason
            .starts_with("duplicate remote write configs are not allowed"));
        let mut other = a.clone();
        other.queue_config.max_shards = 3;
        assert!(WriteStorage::check(&[a.clone(), other]).is_ok());
        let mut signed = a.clone();
        signed.sigv4 = Some(Default::default());
        assert!(WriteStorage::check(&[signed])
            .unwrap_err()
            .reason
            .contains("sigv4"));
        let mut rr = a;
        rr.round_robin_dns = true;
        assert!(WriteStorage::check(&[rr])
            .unwrap_err()
            .reason
            .contains("round_robin_dns"));
    }

    #[test]
    fn names_become_file_names() {
        assert_eq!(sanitize("prod-eu_1"), "prod-eu_1");
        let odd = sanitize("a/../b c");
        assert!(odd.starts_with("a____b_c-") && !odd.contains('/'), "{odd}");
    }
}
