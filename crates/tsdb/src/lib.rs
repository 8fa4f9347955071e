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
mod block;
mod chunk;
mod compact;
mod dirformat;
mod head;
mod head_chunks;
mod lock;
mod maintain;
mod ooo;
mod open;
pub mod wal;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use model::{Labels, Matcher};

pub use agent::AgentOptions;
pub use block::{is_block_dir_name, new_ulid, read_meta, Block, BlockMeta, BlockStats};
pub use chunk::{SampleBuf, XorChunk, XorIter, SAMPLES_PER_CHUNK};
pub use dirformat::crc32c;
pub use head::{HeadStats, Rejection};
pub use open::UnreadableBlock;
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

/// One series and its samples in a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
    /// The samples' start timestamps: empty when none has one, else one per sample (0:
    /// none).
    pub starts: Vec<i64>,
}

impl SeriesData {
    fn new(labels: Labels, buf: SampleBuf) -> Self {
        Self {
            labels,
            samples: buf.points,
            starts: buf.starts,
        }
    }

    /// The labels, and the samples with their start timestamps as one buffer.
    pub fn into_parts(self) -> (Labels, SampleBuf) {
        (
            self.labels,
            SampleBuf {
                points: self.samples,
                starts: self.starts,
            },
        )
    }

    /// Applies `f` to the samples as one buffer (samples and start timestamps stay aligned).
    fn with_buf(&mut self, f: impl FnOnce(&mut SampleBuf)) {
        let mut buf = SampleBuf {
            points: std::mem::take(&mut self.samples),
            starts: std::mem::take(&mut self.starts),
        };
        f(&mut buf);
        (self.samples, self.starts) = (buf.points, buf.starts);
    }

    /// Keeps only the last sample.
    pub fn keep_last(&mut self) {
        self.with_buf(SampleBuf::keep_last);
    }

    /// Keeps the samples whose point passes `keep`.
    pub fn retain(&mut self, keep: impl FnMut(&(i64, f64)) -> bool) {
        self.with_buf(|b| b.retain(keep));
    }
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

/// Maps series refs to results on all cores when there are many (decoding chunks and
/// building label sets is per-series work), keeping the refs' order.
fn par_map_refs<T: Send>(refs: &[u64], f: impl Fn(u64) -> Option<T> + Sync) -> Vec<T> {
    const PER_THREAD: usize = 2048;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(refs.len() / PER_THREAD)
        .max(1);
    if threads == 1 {
        return refs.iter().filter_map(|r| f(*r)).collect();
    }
    let chunk = refs.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = refs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().filter_map(|r| f(*r)).collect::<Vec<T>>()))
            .collect();
        let mut out = Vec::with_capacity(refs.len());
        for p in parts {
            // A panic in a worker is a bug; surface it here rather than lose its series.
            match p.join() {
                Ok(v) => out.extend(v),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}

/// Asked about each series a select loads (its labels and number of samples): `false`
/// stops the select (see [`Db::select_admitted`]).
pub type Admit<'a> = dyn Fn(&Labels, usize) -> bool + Sync + 'a;

/// A select stopped because its [`Admit`] refused a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// An open database directory.
pub struct Db {
    dir: PathBuf,
    _lock: lock::DirLock,
    opts: Options,
    head: RwLock<head::Head>,
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

    /// Series matching every matcher with their samples in `[mint, maxt]`, from blocks and
    /// head, in no particular order; series with no sample in the range are left out.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        self.select_with_warnings(matchers, mint, maxt).0
    }

    /// Like [`Db::select`], with a warning for every block whose data the result lacks:
    /// one that failed to read now, or one left out at open as unreadable (see
    /// [`Db::unreadable_blocks_in`]). A query should pass them on: a result that silently
    /// misses a block's samples looks complete.
    pub fn select_with_warnings(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> (Vec<SeriesData>, Vec<String>) {
        // Admitting everything, it is never refused.
        self.select_admitted(matchers, mint, maxt, &|_, _| true)
            .unwrap_or_default()
    }

    /// Like [`Db::select_with_warnings`], asking `admit` about each series as it is
    /// loaded (its labels and number of samples): the first `false` stops the select and
    /// drops what it loaded, so a query over its memory budget ends before the rest is
    /// loaded. `admit` may be called from several threads at once.
    pub fn select_admitted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &Admit<'_>,
    ) -> Result<(Vec<SeriesData>, Vec<String>), Refused> {
        let mut warnings = self.unreadable_blocks_in(mint, maxt);
        let mut blocks: Vec<Arc<Block>> = self
            .blocks_snapshot()
            .into_iter()
            .filter(|b| b.meta().max_time > mint && b.meta().min_time <= maxt)
            .collect();
        // On a timestamp two blocks hold, the one written first wins (as in merges).
        blocks.sort_by(|a, b| block::first_written(a.meta()).cmp(block::first_written(b.meta())));
        if blocks.is_empty() {
            // Only the head holds the range: its series are distinct, nothing to merge.
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            let refs = head.select_refs(matchers);
            let refused = std::sync::atomic::AtomicBool::new(false);
            let found = par_map_refs(&refs, |r| {
                if refused.load(std::sync::atomic::Ordering::Relaxed) {
                    return None;
                }
                let s = head.series(r)?;
                let samples = head.samples_of(r, s, mint, maxt);
                if samples.is_empty() {
                    return None;
                }
                let labels = head.labels_of(s);
                if !admit(&labels, samples.len()) {
                    refused.store(true, std::sync::atomic::Ordering::Relaxed);
                    return None;
                }
                Some(SeriesData::new(labels, samples))
            });
            if refused.into_inner() {
                return Err(Refused);
            }
            return Ok((found, warnings));
        }
        let mut merged: BTreeMap<Labels, SampleBuf> = BTreeMap::new();
        for block in blocks {
            let found = block.select(matchers, mint, maxt).and_then(|series| {
                series
                    .into_iter()
                    .map(|s| Ok((block.samples(&s, mint, maxt)?, s.labels)))
                    .collect::<std::io::Result<Vec<_>>>()
            });
            match found {
                Ok(found) => {
                    for (samples, labels) in found {
                        if !admit(&labels, samples.len()) {
                            return Err(Refused);
                        }
                        merged.entry(labels).or_default().append(samples);
                    }
                }
                Err(e) => {
                    tracing::error!(block = %block.dir().display(), err = %e, "reading a block failed; its data is left out of this query");
                    let m = block.meta();
                    warnings.push(format!(
                        "block {} ([{}, {}) ms) could not be read ({e}); its samples are missing from this result",
                        m.ulid, m.min_time, m.max_time
                    ));
                }
            }
        }
        {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            for r in head.select_refs(matchers) {
                let Some(s) = head.series(r) else { continue };
                let samples = head.samples_of(r, s, mint, maxt);
                if !samples.is_empty() {
                    let labels = head.labels_of(s);
                    if !admit(&labels, samples.len()) {
                        return Err(Refused);
                    }
                    merged.entry(labels).or_default().append(samples);
                }
            }
        }
        let found = merged
            .into_iter()
            .filter_map(|(labels, mut samples)| {
                // Block and head may both hold a stretch while a block is being cut.
                samples.sort_dedup();
                (!samples.is_empty()).then(|| SeriesData::new(labels, samples))
            })
            .collect();
        Ok((found, warnings))
    }

    /// Like [`Db::select`], but only each series' last sample in `[mint, maxt]` (what an
    /// instant selector needs): from the head, only the chunk holding it is decoded.
    pub fn select_last(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        self.select_last_with_warnings(matchers, mint, maxt).0
    }

    /// Like [`Db::select_last`], with the warnings of [`Db::select_with_warnings`].
    pub fn select_last_with_warnings(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> (Vec<SeriesData>, Vec<String>) {
        // Admitting everything, it is never refused.
        self.select_last_admitted(matchers, mint, maxt, &|_, _| true)
            .unwrap_or_default()
    }

    /// Like [`Db::select_last_with_warnings`], asking `admit` about each series as
    /// [`Db::select_admitted`] does.
    pub fn select_last_admitted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &Admit<'_>,
    ) -> Result<(Vec<SeriesData>, Vec<String>), Refused> {
        let overlaps_blocks = self
            .blocks_snapshot()
            .iter()
            .any(|b| b.meta().max_time > mint && b.meta().min_time <= maxt);
        if overlaps_blocks {
            let (mut all, warnings) = self.select_admitted(matchers, mint, maxt, admit)?;
            for s in &mut all {
                s.keep_last();
            }
            return Ok((all, warnings));
        }
        let warnings = self.unreadable_blocks_in(mint, maxt);
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        let refs = head.select_refs(matchers);
        let refused = std::sync::atomic::AtomicBool::new(false);
        let found = par_map_refs(&refs, |r| {
            if refused.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let s = head.series(r)?;
            let (t, v, st) = head.last_sample_of(r, s, mint, maxt)?;
            let labels = head.labels_of(s);
            if !admit(&labels, 1) {
                refused.store(true, std::sync::atomic::Ordering::Relaxed);
                return None;
            }
            Some(SeriesData {
                labels,
                samples: vec![(t, v)],
                starts: if st == 0 { Vec::new() } else { vec![st] },
            })
        });
        if refused.into_inner() {
            return Err(Refused);
        }
        Ok((found, warnings))
    }

    /// Label sets of the series matching every matcher that have samples in the range.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.series_with_warnings(matchers, mint, maxt).0
    }

    /// Like [`Db::series`], with a warning for every block whose series the result may
    /// lack: one whose index failed to read now, or one left out at open as unreadable.
    pub fn series_with_warnings(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> (Vec<Labels>, Vec<String>) {
        let mut warnings = self.unreadable_blocks_in(mint, maxt);
        let mut out = std::collections::BTreeSet::new();
        for block in self.blocks_snapshot() {
            match block.select(matchers, mint, maxt) {
                Ok(found) => out.extend(found.into_iter().map(|s| s.labels)),
                Err(e) => {
                    tracing::error!(block = %block.dir().display(), err = %e, "reading a block failed; its series are left out");
                    let m = block.meta();
                    warnings.push(format!(
                        "block {} ([{}, {}) ms) could not be read ({e}); its series are missing from this result",
                        m.ulid, m.min_time, m.max_time
                    ));
                }
            }
        }
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        for r in head.select_refs(matchers) {
            if let Some(s) = head.series(r) {
                if head.has_samples_in(r, s, mint, maxt) {
                    out.insert(head.labels_of(s));
                }
            }
        }
        (out.into_iter().collect(), warnings)
    }

    /// Every label name in blocks and head, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.label_names_in(model::time::MIN_TIME_MS, model::time::MAX_TIME_MS)
    }

    /// Every value of a label in blocks and head, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.label_values_in(name, model::time::MIN_TIME_MS, model::time::MAX_TIME_MS)
    }

    /// Label names of the series with samples in [mint, maxt], sorted. Blocks count whole
    /// (any block overlapping the range), as in Prometheus; head series count one by one.
    pub fn label_names_in(&self, mint: i64, maxt: i64) -> Vec<String> {
        self.merged_strings(
            mint,
            maxt,
            |h| h.label_names_in(mint, maxt),
            Block::label_names,
        )
    }

    /// Values of a label in [mint, maxt], sorted; the same granularity as `label_names_in`.
    pub fn label_values_in(&self, name: &str, mint: i64, maxt: i64) -> Vec<String> {
        self.merged_strings(
            mint,
            maxt,
            |h| h.label_values_in(name, mint, maxt),
            |b| b.label_values(name),
        )
    }

    /// The head's strings and those of the blocks overlapping [mint, maxt], sorted, once.
    fn merged_strings(
        &self,
        mint: i64,
        maxt: i64,
        from_head: impl FnOnce(&head::Head) -> Vec<String>,
        from_block: impl Fn(&Block) -> Vec<String>,
    ) -> Vec<String> {
        let mut out: std::collections::BTreeSet<String> =
            from_head(&self.head.read().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        for block in self.blocks_overlapping(mint, maxt) {
            out.extend(from_block(&block));
        }
        out.into_iter().collect()
    }

    /// Blocks holding samples in [mint, maxt] (a block's max_time is exclusive).
    fn blocks_overlapping(&self, mint: i64, maxt: i64) -> Vec<Arc<Block>> {
        self.blocks_snapshot()
            .into_iter()
            .filter(|b| b.meta().max_time > mint && b.meta().min_time <= maxt)
            .collect()
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

/// Writes blocks from samples (backfill, as `promtool tsdb create-blocks-from` does): one
/// block per aligned `block_ms` window that has samples. `series` must be sorted by
/// labels, each with samples sorted by time. Returns the blocks written.
pub fn write_blocks(
    dir: &Path,
    series: &[(Labels, Vec<(i64, f64)>)],
    block_ms: i64,
) -> Result<Vec<BlockMeta>, DbError> {
    let block_ms = block_ms.max(1);
    let mut windows: BTreeMap<i64, ()> = BTreeMap::new();
    for (_, samples) in series {
        for (t, _) in samples {
            windows.insert(t.div_euclid(block_ms), ());
        }
    }
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let mut out = Vec::new();
    for window in windows.keys() {
        let (mint, maxt) = (window * block_ms, (window + 1) * block_ms);
        let context = format!("writing a block for [{mint}, {maxt}) in {}", dir.display());
        let mut writer = block::BlockWriter::create(dir, mint, maxt).map_err(io(&context))?;
        for (labels, samples) in series {
            let start = samples.partition_point(|(t, _)| *t < mint);
            let end = samples.partition_point(|(t, _)| *t < maxt);
            if start == end {
                continue;
            }
            let encoded = block::encode_chunks(&samples[start..end], &[]);
            let refs: Vec<(i64, i64, &[u8])> = encoded
                .iter()
                .map(|(a, b, bytes)| (*a, *b, bytes.as_slice()))
                .collect();
            writer.add_series(labels, &refs).map_err(io(&context))?;
        }
        if let Some(meta) = writer.finish(1, Vec::new()).map_err(io(&context))? {
            out.push(meta);
        }
    }
    Ok(out)
}

/// The blocks in a data directory, oldest first, read from their `meta.json` (for
/// `pmtool tsdb list`; takes no lock, reads nothing else).
pub fn list_blocks(dir: &Path) -> Result<Vec<(BlockMeta, u64)>, DbError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io(format!("reading {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_block_dir_name(&name) || !entry.path().is_dir() {
            continue;
        }
        let meta = read_meta(&entry.path())
            .map_err(io(format!("reading {}/meta.json", entry.path().display())))?;
        out.push((meta, block::dir_size(&entry.path())));
    }
    out.sort_by_key(|(m, _)| (m.min_time, m.max_time));
    Ok(out)
}
