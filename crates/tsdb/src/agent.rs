//! Agent mode (`--agent`): a WAL-only store, as Prometheus's agent. Appends are logged and
//! ordered per series as in server mode, but series keep only their newest sample (no
//! chunks, no blocks, nothing to query); the WAL is what remote-write queues send from.
//! Every `truncate_every`, series without a sample for `min_time` are dropped and the WAL
//! segments before the oldest one a queue still holds (and at least `min_time` old) are
//! folded into a checkpoint of series only. How long a queue may hold segments is bounded by
//! its own limits (the server caps them at `max_time`).

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{io, lock, wal, Db, DbError, MaintenanceReport};

/// Agent mode's retention settings (`--storage.agent.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOptions {
    /// `--storage.agent.retention.min-time`: data younger than this is kept.
    pub min_time: Duration,
    /// `--storage.agent.retention.max-time`: data older than this is not kept for anyone.
    pub max_time: Duration,
    /// `--storage.agent.wal-truncate-frequency`.
    pub truncate_every: Duration,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            min_time: Duration::from_secs(5 * 60),
            max_time: Duration::from_secs(4 * 3600),
            truncate_every: Duration::from_secs(2 * 3600),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Db {
    /// Agent mode's maintenance: once per `truncate_every`, drops stale series and folds
    /// the WAL (see the module docs).
    pub(crate) fn agent_truncate(
        &self,
        agent: &AgentOptions,
        report: &mut MaintenanceReport,
    ) -> Result<(), DbError> {
        let now = now_ms();
        let every = agent.truncate_every.as_millis() as i64;
        let last = self.agent_last_truncation.load(Ordering::Relaxed);
        if last != 0 && now - last < every {
            return Ok(());
        }
        self.agent_last_truncation.store(now, Ordering::Relaxed);
        let stale_before = now - agent.min_time.as_millis() as i64;
        // Series without a sample for min_time go (their records stay in checkpoints
        // while segments that may hold their samples exist).
        let removed = {
            let mut head = self.head.write().unwrap_or_else(|p| p.into_inner());
            let floor = head.min_valid_t;
            let removed = head.truncate(stale_before);
            // The agent takes samples of any age for new series, as Prometheus's does.
            head.min_valid_t = floor;
            removed
        };
        self.stats
            .series_removed
            .fetch_add(removed.len() as u64, Ordering::Relaxed);
        let current = {
            let mut w = lock(&self.wal);
            let segment = w.segment();
            let mut expiries = lock(&self.wal_expiries);
            for r in &removed {
                expiries.insert(*r, segment);
            }
            // Everything logged so far is in complete segments from here on.
            w.cut_now().map_err(io("starting a WAL segment"))?
        };
        // Segments written within min_time stay.
        let wal_dir = self.wal_dir();
        let recent = wal::segment_numbers(&wal_dir)
            .map_err(io(format!("listing {}", wal_dir.display())))?
            .into_iter()
            .find(|n| {
                std::fs::metadata(wal_dir.join(format!("{n:08}")))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| SystemTime::now().duration_since(m).ok())
                    .is_some_and(|age| age < agent.min_time)
            })
            .unwrap_or(current);
        // No samples survive a checkpoint: what is folded was sent, or given up.
        report.checkpoint = self.truncate_wal(i64::MAX, recent.min(current))?;
        Ok(())
    }
}
