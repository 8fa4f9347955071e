//! Promethium's time-series database (`--storage.tsdb.path`).
//!
//! Recent samples live in the head (memory: XOR chunks per series, an inverted index),
//! made durable by a write-ahead log that is replayed at start-up (a torn tail is cut,
//! corruption skipped and reported, never fatal). An append whose WAL write fails (a full
//! disk) is taken back whole (`append`). Every block range (2 h by default) of data is cut
//! from the head into an immutable persisted block; blocks are merged into larger ones (×3
//! per level) and deleted by retention time or size. A lock file stops two servers,
//! Promethium or Prometheus, sharing a directory, and a directory in Prometheus's formats
//! is refused untouched (`open`, `dirformat`, `lock`). Queries see blocks and head as one.
//!
//! Samples older than their series' newest are refused unless an out-of-order time window
//! is set ([`Db::set_out_of_order_time_window`]): then those within it are kept in an
//! out-of-order head (`ooo`) and reach blocks when the head is cut (`maintain`).

mod agent;
mod append;
mod append_exemplars;
mod append_histograms;
mod backfill;
mod block;
mod by_ref;
mod chunk;
mod compact;
mod dirformat;
mod exemplars;
mod head;
mod head_chunks;
mod lock;
mod maintain;
mod ooo;
mod open;
mod select;
mod varint;
pub mod wal;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use model::Labels;

pub use agent::AgentOptions;
pub use append_exemplars::ExemplarResult;
pub use backfill::{list_blocks, write_blocks};
pub use block::{is_block_dir_name, new_ulid, read_meta, Block, BlockMeta, BlockStats};
pub use chunk::histogram::{
    Appended, CounterResetHeader, FloatHistogramChunk, FloatHistogramIter, HistogramChunk,
    HistogramIter,
};
pub use chunk::{packed, Encoding, SampleBuf, XorChunk, XorIter, SAMPLES_PER_CHUNK};
pub use dirformat::crc32c;
pub use exemplars::{ExemplarError, ExemplarStats, SeriesExemplars};
pub use head::{HeadStats, Rejection};
pub use open::UnreadableBlock;
pub use select::{Admit, Refused, SeriesData};
pub use wal::{DamageKind, ReplayReport, WalDamage};

/// Two hours, the default block range.
pub const DEFAULT_BLOCK_MS: i64 = 2 * 3600 * 1000;

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "another process holds the lock on {} (is another server, Promethium or Prometheus, using this data directory?){also}",
        path.display()
    )]
    Locked { path: PathBuf, also: String },
    /// The directory holds Prometheus's data, which this database does not read; nothing
    /// in it was changed.
    #[error(
        "{} is a Prometheus data directory, which Promethium cannot read: {found}. Nothing in it was changed; start Promethium with another --storage.tsdb.path (Prometheus and Promethium cannot share one)",
        dir.display()
    )]
    PrometheusData { dir: PathBuf, found: String },
    /// A WAL write failed (e.g. the disk is full): nothing of the append was stored.
    #[error("writing the WAL: {0} (nothing of this append was stored)")]
    WalWrite(#[source] std::io::Error),
    /// A scrape's histogram is invalid: nothing of the batch was stored.
    #[error("invalid native histogram: {0}")]
    InvalidHistogram(#[source] model::histogram::HistogramError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DbError {
    let context = context.into();
    move |source| DbError::Io { context, source }
}

/// How the database cuts, merges and deletes blocks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Blocks older than this (measured from the newest block's end) are deleted; 0 keeps
    /// everything.
    pub retention_ms: i64,
    /// Oldest blocks are deleted while blocks and WAL together exceed this; 0: no limit.
    pub retention_bytes: u64,
    /// The block range: the head is cut into blocks of this span.
    pub min_block_ms: i64,
    /// Compaction does not make blocks larger than this.
    pub max_block_ms: i64,
    /// Agent mode (`--agent`): a WAL-only store (see `agent`).
    pub agent: Option<AgentOptions>,
    /// Exemplars kept in memory (`--enable-feature=exemplar-storage` with
    /// `storage.exemplars.max_exemplars`); 0: none are stored.
    pub max_exemplars: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self::with_retention(15 * 24 * 3600 * 1000, 0)
    }
}

impl Options {
    /// Prometheus's defaults for a retention: 2 h blocks, merged up to a tenth of the
    /// retention time (at most 31 days).
    pub fn with_retention(retention_ms: i64, retention_bytes: u64) -> Self {
        let cap = 31 * 24 * 3600 * 1000;
        let max = if retention_ms > 0 {
            (retention_ms / 10).min(cap)
        } else {
            cap
        };
        Self {
            retention_ms,
            retention_bytes,
            min_block_ms: DEFAULT_BLOCK_MS,
            max_block_ms: max.max(DEFAULT_BLOCK_MS),
            agent: None,
            max_exemplars: 0,
        }
    }
}

/// Counts of what appends and maintenance did, for metrics.
#[derive(Debug, Default)]
pub struct AppendStats {
    /// Every sample stored, out-of-order ones included (as Prometheus counts
    /// `prometheus_tsdb_head_samples_appended_total`).
    pub samples_appended: AtomicU64,
    /// Samples refused for being older than their series' newest sample (and, with an
    /// out-of-order window, older than the window too).
    pub out_of_order: AtomicU64,
    /// Samples stored out of order, within the out-of-order window
    /// (`prometheus_tsdb_head_out_of_order_samples_appended_total`).
    pub out_of_order_appended: AtomicU64,
    pub out_of_bounds: AtomicU64,
    pub duplicates: AtomicU64,
    pub series_created: AtomicU64,
    pub series_removed: AtomicU64,
    pub head_truncations: AtomicU64,
    pub compactions: AtomicU64,
    pub compactions_failed: AtomicU64,
    pub blocks_deleted_by_retention: AtomicU64,
    pub checkpoints: AtomicU64,
    /// Appends refused because their WAL write failed
    /// (`prometheus_tsdb_wal_writes_failed_total`).
    pub wal_writes_failed: AtomicU64,
    /// Damaged spans the WAL replay at open skipped, torn tail not counted
    /// (`prometheus_tsdb_wal_corruptions_total`).
    pub wal_corruptions: AtomicU64,
}

/// The outcome of one append batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Samples stored, out-of-order ones included.
    pub appended: usize,
    /// Of `appended`, those stored out of order.
    pub out_of_order_appended: usize,
    /// Samples refused as out of order.
    pub out_of_order: usize,
    pub out_of_bounds: usize,
    pub duplicates: usize,
    pub new_series: usize,
    /// Native histograms refused as invalid (bad spans, counts that do not add up…).
    pub invalid_histograms: usize,
}

/// The outcome of [`Db::append_batch`].
#[derive(Debug, Default, Clone)]
pub struct BatchResult {
    pub result: AppendResult,
    /// The series ref of each `by_labels` sample, for the caller's cache.
    pub refs: Vec<u64>,
    /// Indices of `by_ref` samples whose series is no longer in the head (nothing was
    /// stored for them: append them again by labels).
    pub unknown: Vec<usize>,
}

/// What one [`Db::maintain`] pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MaintenanceReport {
    /// Blocks cut from the head.
    pub head_blocks: Vec<BlockMeta>,
    /// Blocks made by merging others.
    pub compacted: Vec<BlockMeta>,
    /// ULIDs of blocks deleted by retention.
    pub deleted: Vec<String>,
    pub checkpoint: Option<wal::CheckpointReport>,
}

/// An open database directory.
pub struct Db {
    dir: PathBuf,
    _lock: lock::DirLock,
    opts: Options,
    head: RwLock<head::Head>,
    /// Exemplars (see `exemplars`); taken before the WAL's lock when both are.
    exemplars: RwLock<exemplars::ExemplarStore>,
    wal: Mutex<wal::WalWriter>,
    /// Series created by appends whose WAL write failed: logged before anything else by
    /// the next write (see `append`).
    unlogged_series: Mutex<Vec<(u64, Labels)>>,
    /// Set from a failed WAL write until writes succeed again (see `append`), with the
    /// last error and its time.
    wal_failing: AtomicBool,
    wal_error: Mutex<Option<(String, std::time::Instant)>>,
    /// `stats.wal_writes_failed` when the current run of failures began.
    failures_at_burst_start: AtomicU64,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Blocks left out at open (see [`UnreadableBlock`]).
    unreadable: Vec<UnreadableBlock>,
    /// One maintenance pass at a time.
    maintenance: Mutex<()>,
    pub stats: AppendStats,
    replay: ReplayReport,
    /// The out-of-order time window in ms (0: out-of-order samples are refused).
    ooo_window_ms: AtomicI64,
    /// Retention by time (ms, 0: none) and size (bytes, 0: none): from the options at open,
    /// changed at run time by [`Db::set_retention`] (prometheus.yml's
    /// `storage.tsdb.retention`, reloadable).
    retention_ms: AtomicI64,
    retention_bytes: AtomicU64,
    /// WAL readers' oldest needed segment, by reader name (see [`Db::hold_wal`]).
    wal_holds: Mutex<BTreeMap<String, u64>>,
    /// Series removed from the head, with the WAL segment written when they were: their
    /// records are kept in checkpoints until that segment is folded too.
    wal_expiries: Mutex<rustc_hash::FxHashMap<u64, u64>>,
    /// Agent mode: when the WAL was last truncated (ms, 0: not yet).
    agent_last_truncation: AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Db {
    /// Opens (creating if needed) `dir` with the default options.
    pub fn open(dir: &Path) -> Result<Self, DbError> {
        Self::open_with(dir, Options::default())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the WAL replay at open found.
    pub fn replay_report(&self) -> &ReplayReport {
        &self.replay
    }

    /// Appends samples (label set, timestamp ms, value). Each is logged to the WAL before it
    /// is visible; out-of-order (beyond the out-of-order time window), out-of-bounds and
    /// conflicting duplicate samples are rejected and counted.
    pub fn append(&self, samples: &[(Labels, i64, f64)]) -> Result<AppendResult, DbError> {
        Ok(self.append_batch(&[], samples)?.result)
    }

    /// Appends samples of series known by ref (from an earlier batch's
    /// [`BatchResult::refs`]) and of series known by labels, in one WAL write.
    ///
    /// Samples are checked and applied to the head, and logged, while the head's write lock
    /// is held, so no reader sees them before `Ok` is returned; once `Ok` is returned they
    /// are in the WAL. If the WAL write fails, [`DbError::WalWrite`] is returned and nothing
    /// of the batch is kept: not in the WAL, not in memory (its new series stay, and are
    /// logged with the next write).
    pub fn append_batch(
        &self,
        by_ref: &[(u64, i64, f64)],
        by_labels: &[(Labels, i64, f64)],
    ) -> Result<BatchResult, DbError> {
        self.append_batch_with_starts(by_ref, &[], by_labels, &[])
    }

    fn blocks_snapshot(&self) -> Vec<Arc<Block>> {
        self.blocks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The persisted blocks, oldest first.
    pub fn blocks(&self) -> Vec<BlockMeta> {
        self.blocks_snapshot()
            .iter()
            .map(|b| b.meta().clone())
            .collect()
    }

    /// Bytes on disk of the blocks and of the WAL.
    pub fn disk_usage(&self) -> (u64, u64) {
        let blocks = self.blocks_snapshot().iter().map(|b| b.size()).sum();
        (blocks, block::dir_size(&self.dir.join("wal")))
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Sets the out-of-order time window (prometheus.yml's
    /// `storage.tsdb.out_of_order_time_window`; call it after opening and on every
    /// reload). A sample older than its series' newest sample is then stored, not
    /// refused, if it is not older than the head's newest sample minus `window`, even
    /// when it is older than the newest block (its range then gets a block of its own at
    /// the next head cut, merged with the blocks it overlaps by compaction). Zero, the
    /// default, refuses every such sample as before. Takes effect for the next append;
    /// samples already stored stay whatever the window becomes.
    pub fn set_out_of_order_time_window(&self, window: Duration) {
        let ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self.ooo_window_ms.store(ms, Ordering::Relaxed);
    }

    /// Sets the retention: blocks whose data ends more than `time` before the newest
    /// block's are deleted, and the oldest blocks while blocks and WAL together exceed
    /// `bytes` (zero turns either off). Applied at the next maintenance pass.
    pub fn set_retention(&self, time: Duration, bytes: u64) {
        let ms = i64::try_from(time.as_millis()).unwrap_or(i64::MAX);
        self.retention_ms.store(ms, Ordering::Relaxed);
        self.retention_bytes.store(bytes, Ordering::Relaxed);
    }

    /// The retention limits in ms and bytes, for the maintenance pass.
    pub(crate) fn retention_limits(&self) -> (i64, u64) {
        (
            self.retention_ms.load(Ordering::Relaxed),
            self.retention_bytes.load(Ordering::Relaxed),
        )
    }

    /// The retention in force: `(time, bytes)`, zero meaning none.
    pub fn retention(&self) -> (Duration, u64) {
        let ms = self.retention_ms.load(Ordering::Relaxed);
        (
            Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
            self.retention_bytes.load(Ordering::Relaxed),
        )
    }

    /// The out-of-order time window (zero: out-of-order samples are refused).
    pub fn out_of_order_time_window(&self) -> Duration {
        let ms = self.ooo_window_ms.load(Ordering::Relaxed);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// What `/api/v1/status/tsdb` reports about the head: counts, time range, and the top
    /// `limit` metric names, label names and label pairs by series count.
    pub fn head_stats(&self, limit: usize) -> HeadStats {
        self.head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .stats(limit)
    }

    /// Number of series in the head.
    pub fn num_series(&self) -> usize {
        self.head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .num_series()
    }

    /// Flushes and fsyncs the WAL (at shutdown).
    pub fn sync(&self) -> Result<(), DbError> {
        lock(&self.wal).sync().map_err(io("syncing the WAL"))
    }

    /// The end of the WAL: where the next record will be written.
    pub fn wal_end(&self) -> wal::WalPosition {
        let wal = lock(&self.wal);
        wal::WalPosition {
            segment: wal.segment(),
            offset: wal.segment_size(),
        }
    }

    /// The time of the oldest sample held (blocks and head), if any.
    pub fn start_time(&self) -> Option<i64> {
        let blocks = self
            .blocks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|b| b.meta().min_time)
            .min();
        let head = self
            .head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .min_time();
        match (blocks, head) {
            (Some(b), Some(h)) => Some(b.min(h)),
            (b, h) => b.or(h),
        }
    }

    /// The newest sample timestamp appended to the head (ms; `i64::MIN` when none).
    pub fn head_max_time(&self) -> i64 {
        self.head.read().unwrap_or_else(|p| p.into_inner()).max_t
    }

    /// The labels of the head's series `r`, if it is still there.
    pub fn series_labels(&self, r: u64) -> Option<Labels> {
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        head.series(r).map(|s| head.labels_of(s))
    }

    /// The WAL directory.
    pub fn wal_dir(&self) -> PathBuf {
        self.dir.join("wal")
    }

    /// Keeps the WAL segments from `from_segment` on out of checkpoints (so on disk) for
    /// the reader `holder` (`None`: the reader is gone). The reader bounds what it holds.
    pub fn hold_wal(&self, holder: &str, from_segment: Option<u64>) {
        let mut holds = lock(&self.wal_holds);
        match from_segment {
            Some(segment) => {
                holds.insert(holder.to_string(), segment);
            }
            None => {
                holds.remove(holder);
            }
        }
    }

    /// The oldest segment any WAL reader holds.
    pub(crate) fn wal_hold(&self) -> Option<u64> {
        lock(&self.wal_holds).values().min().copied()
    }

    /// The next series ref (for tests of replay).
    #[doc(hidden)]
    pub fn next_series_ref(&self) -> u64 {
        self.head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .next_ref()
    }
}
