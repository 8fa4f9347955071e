//! Promethium's time-series database (`--storage.tsdb.path`).
//!
//! Recent samples live in the head (memory: XOR chunks per series, an inverted index),
//! made durable by a write-ahead log that is replayed at start-up (a torn or corrupt tail
//! is cut, never fatal). Every block range (2 h by default) of data is cut from the head
//! into an immutable persisted block; blocks are merged into larger ones (×3 per level)
//! and deleted by retention time or size. A lock file stops two servers sharing a
//! directory. Queries see blocks and head as one.
//!
//! Samples older than their series' newest are refused unless an out-of-order time window
//! is set ([`Db::set_out_of_order_time_window`]): then those within it are kept in an
//! out-of-order head (`ooo`) and reach blocks when the head is cut (`maintain`).

mod block;
mod chunk;
mod compact;
mod head;
mod head_chunks;
mod maintain;
mod ooo;
pub mod wal;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use model::{Labels, Matcher};

pub use block::{is_block_dir_name, new_ulid, read_meta, Block, BlockMeta, BlockStats};
pub use chunk::{SampleBuf, XorChunk, XorIter};
pub use head::{HeadStats, Rejection};
pub use wal::ReplayReport;

/// Samples decoded before they are applied to the head in parallel during replay.
const REPLAY_BATCH: usize = 1 << 20;

/// Two hours, the default block range.
pub const DEFAULT_BLOCK_MS: i64 = 2 * 3600 * 1000;

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "another process holds the lock on {0} (is another server using this data directory?)"
    )]
    Locked(PathBuf),
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

/// An open database directory.
pub struct Db {
    dir: PathBuf,
    _lock: File,
    opts: Options,
    head: RwLock<head::Head>,
    wal: Mutex<wal::WalWriter>,
    blocks: RwLock<Vec<Arc<Block>>>,
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
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Db {
    /// Opens (creating if needed) `dir` with the default options.
    pub fn open(dir: &Path) -> Result<Self, DbError> {
        Self::open_with(dir, Options::default())
    }

    /// Opens (creating if needed) `dir`, takes its lock, loads its blocks and replays the
    /// WAL.
    pub fn open_with(dir: &Path, opts: Options) -> Result<Self, DbError> {
        fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let lock_path = dir.join("lock");
        let lock_file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(format!("opening {}", lock_path.display())))?;
        // A lock can outlive its holder by a moment: a child process forked by anyone in
        // this process holds a copy of the descriptor until it execs. So a held lock is
        // retried for a second before it counts as another server's.
        let mut attempts = 0;
        loop {
            match lock_file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if attempts < 20 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(DbError::Locked(lock_path)),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io(format!("locking {}", lock_path.display()))(e))
                }
            }
        }
        let blocks = open_blocks(dir)?;
        let wal_dir = dir.join("wal");
        let mut head = head::Head::new(opts.min_block_ms);
        let spill_dir = dir.join("head_chunks_spill");
        match head_chunks::ChunkDisk::open(&spill_dir) {
            Ok(disk) => head.spill_to(Arc::new(disk)),
            Err(e) => {
                tracing::warn!(dir = %spill_dir.display(), err = %e, "cannot use this directory for full head chunks; keeping them in memory")
            }
        }
        if let Some(newest) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.min_valid_t = newest;
        }
        // Series are created as their records come; samples are applied in batches on
        // every core (each core owning a range of series, so order per series holds).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let mut batch: Vec<wal::Record> = Vec::new();
        let mut batched = 0usize;
        let (mut series_time, mut samples_time) = (Duration::ZERO, Duration::ZERO);
        // A reader thread reads, checks and decodes segments while this one applies.
        let mut apply = |record: wal::Record| match record {
            wal::Record::Series(series) => {
                let started = Instant::now();
                for (r, labels) in series {
                    head.insert(r, &labels);
                }
                series_time += started.elapsed();
            }
            // Out-of-order records go to the out-of-order head, in log order (they and the
            // flush markers are rare: no batching).
            wal::Record::OooSamples(samples) => head.replay_out_of_order(&samples),
            wal::Record::OooFlush { below, done } => head.ooo.replay_marker(below, done),
            samples => {
                batched += samples.sample_count();
                batch.push(samples);
                if batched >= REPLAY_BATCH {
                    let started = Instant::now();
                    head.append_many(&batch, threads);
                    samples_time += started.elapsed();
                    batch.clear();
                    batched = 0;
                }
            }
        };
        let replayed = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<wal::Record>(256);
            let dir = wal_dir.clone();
            let reader = scope.spawn(move || {
                wal::replay(&dir, |record| {
                    // The receiver only goes away if this thread's caller panicked.
                    let _ = tx.send(record);
                })
            });
            for record in rx {
                apply(record);
            }
            reader
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the WAL reader thread panicked")))
        });
        let replay = replayed.map_err(io(format!("replaying the WAL in {}", wal_dir.display())))?;
        let started = Instant::now();
        head.append_many(&batch, threads);
        head.ooo.replay_finished();
        samples_time += started.elapsed();
        drop(batch);
        tracing::debug!(?series_time, ?samples_time, "WAL replay: time creating series and appending samples (the rest is reading and decoding)");
        if let Some((segment, offset)) = replay.repaired_at {
            tracing::warn!(
                segment,
                offset,
                "WAL had a torn or corrupt tail (e.g. after a crash or power loss): cut it there, everything before is kept"
            );
        }
        let writer = wal::WalWriter::open(&wal_dir)
            .map_err(io(format!("opening the WAL in {}", wal_dir.display())))?;
        let (opts_retention_ms, opts_retention_bytes) = (opts.retention_ms, opts.retention_bytes);
        Ok(Self {
            dir: dir.to_path_buf(),
            _lock: lock_file,
            opts,
            head: RwLock::new(head),
            wal: Mutex::new(writer),
            blocks: RwLock::new(blocks),
            maintenance: Mutex::new(()),
            stats: AppendStats::default(),
            replay,
            ooo_window_ms: AtomicI64::new(0),
            retention_ms: AtomicI64::new(opts_retention_ms),
            retention_bytes: AtomicU64::new(opts_retention_bytes),
        })
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
    /// are in the WAL. (If the WAL write fails, the error is returned and the samples stay
    /// in memory only.)
    pub fn append_batch(
        &self,
        by_ref: &[(u64, i64, f64)],
        by_labels: &[(Labels, i64, f64)],
    ) -> Result<BatchResult, DbError> {
        self.append_batch_with_starts(by_ref, &[], by_labels, &[])
    }

    /// Like [`Db::append_batch`], with each sample's start timestamp (the time its
    /// counter started counting; 0: unknown) in `by_ref_starts` and `by_labels_starts`,
    /// parallel to the samples. An empty slice means none of those samples has one.
    pub fn append_batch_with_starts(
        &self,
        by_ref: &[(u64, i64, f64)],
        by_ref_starts: &[i64],
        by_labels: &[(Labels, i64, f64)],
        by_labels_starts: &[i64],
    ) -> Result<BatchResult, DbError> {
        let mut out = BatchResult::default();
        let result = &mut out.result;
        let mut head = self.head.write().unwrap_or_else(|p| p.into_inner());
        let mut new_series = Vec::new();
        let mut accepted = Vec::with_capacity(by_ref.len() + by_labels.len());
        let with_starts = by_ref_starts
            .iter()
            .chain(by_labels_starts)
            .any(|st| *st != 0);
        let mut accepted_starts = Vec::new();
        // Samples accepted out of order (ref, t, v, st): logged as their own record.
        let mut accepted_late: Vec<(u64, i64, f64, i64)> = Vec::new();
        let mut apply = |head: &mut head::Head,
                         r: u64,
                         t: i64,
                         v: f64,
                         st: i64,
                         result: &mut AppendResult,
                         accepted: &mut Vec<(u64, i64, f64)>| {
            let refused = match head.check(r, t, v) {
                Ok(true) => {
                    head.append(r, t, v, st);
                    result.appended += 1;
                    accepted.push((r, t, v));
                    if with_starts {
                        accepted_starts.push(st);
                    }
                    return;
                }
                Ok(false) => return,
                Err(Rejection::Duplicate) => Rejection::Duplicate,
                // Only refused samples look at the window: in-order ones pay nothing.
                Err(refused) => {
                    let window = self.ooo_window_ms.load(Ordering::Relaxed);
                    match head.append_out_of_order(r, (t, v, st), window, refused) {
                        Ok(true) => {
                            result.appended += 1;
                            result.out_of_order_appended += 1;
                            accepted_late.push((r, t, v, st));
                            return;
                        }
                        Ok(false) => return,
                        Err(e) => e,
                    }
                }
            };
            match refused {
                Rejection::OutOfOrder => result.out_of_order += 1,
                Rejection::OutOfBounds => result.out_of_bounds += 1,
                Rejection::Duplicate => result.duplicates += 1,
            }
        };
        for (i, (r, t, v)) in by_ref.iter().enumerate() {
            if let Some((ahead, _, _)) = by_ref.get(i + 16) {
                head.prefetch(*ahead, false);
            }
            if let Some((ahead, _, _)) = by_ref.get(i + 8) {
                head.prefetch(*ahead, true);
            }
            if !head.contains(*r) {
                out.unknown.push(i);
                continue;
            }
            let st = by_ref_starts.get(i).copied().unwrap_or(0);
            apply(&mut head, *r, *t, *v, st, result, &mut accepted);
        }
        out.refs.reserve(by_labels.len());
        for (i, (labels, t, v)) in by_labels.iter().enumerate() {
            let (r, created) = head.get_or_create(labels);
            if created {
                new_series.push((r, labels.clone()));
            }
            out.refs.push(r);
            let st = by_labels_starts.get(i).copied().unwrap_or(0);
            apply(&mut head, r, *t, *v, st, result, &mut accepted);
        }
        let mut records = Vec::with_capacity(3);
        if !new_series.is_empty() {
            result.new_series = new_series.len();
            records.push(wal::Record::Series(new_series));
        }
        if !accepted.is_empty() {
            records.push(if with_starts {
                wal::Record::SamplesWithStarts(
                    accepted
                        .into_iter()
                        .zip(accepted_starts)
                        .map(|((r, t, v), st)| (r, t, v, st))
                        .collect(),
                )
            } else {
                wal::Record::Samples(accepted)
            });
        }
        if !accepted_late.is_empty() {
            records.push(wal::Record::OooSamples(accepted_late));
        }
        let logged = if records.is_empty() {
            Ok(())
        } else {
            lock(&self.wal).log(&records)
        };
        drop(head);
        let s = &self.stats;
        s.samples_appended
            .fetch_add(result.appended as u64, Ordering::Relaxed);
        s.out_of_order
            .fetch_add(result.out_of_order as u64, Ordering::Relaxed);
        if result.out_of_order_appended > 0 {
            s.out_of_order_appended
                .fetch_add(result.out_of_order_appended as u64, Ordering::Relaxed);
        }
        s.out_of_bounds
            .fetch_add(result.out_of_bounds as u64, Ordering::Relaxed);
        s.duplicates
            .fetch_add(result.duplicates as u64, Ordering::Relaxed);
        s.series_created
            .fetch_add(result.new_series as u64, Ordering::Relaxed);
        logged.map_err(io("writing the WAL"))?;
        Ok(out)
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
            return par_map_refs(&refs, |r| {
                let s = head.series(r)?;
                let samples = head.samples_of(r, s, mint, maxt);
                (!samples.is_empty()).then(|| SeriesData::new(head.labels_of(s), samples))
            });
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
                        merged.entry(labels).or_default().append(samples);
                    }
                }
                Err(e) => {
                    tracing::error!(block = %block.dir().display(), err = %e, "reading a block failed; its data is left out of this query")
                }
            }
        }
        {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            for r in head.select_refs(matchers) {
                let Some(s) = head.series(r) else { continue };
                let samples = head.samples_of(r, s, mint, maxt);
                if !samples.is_empty() {
                    merged.entry(head.labels_of(s)).or_default().append(samples);
                }
            }
        }
        merged
            .into_iter()
            .filter_map(|(labels, mut samples)| {
                // Block and head may both hold a stretch while a block is being cut.
                samples.sort_dedup();
                (!samples.is_empty()).then(|| SeriesData::new(labels, samples))
            })
            .collect()
    }

    /// Like [`Db::select`], but only each series' last sample in `[mint, maxt]` (what an
    /// instant selector needs): from the head, only the chunk holding it is decoded.
    pub fn select_last(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        let overlaps_blocks = self
            .blocks_snapshot()
            .iter()
            .any(|b| b.meta().max_time > mint && b.meta().min_time <= maxt);
        if overlaps_blocks {
            let mut all = self.select(matchers, mint, maxt);
            for s in &mut all {
                s.keep_last();
            }
            return all;
        }
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        let refs = head.select_refs(matchers);
        par_map_refs(&refs, |r| {
            let s = head.series(r)?;
            let (t, v, st) = head.last_sample_of(r, s, mint, maxt)?;
            Some(SeriesData {
                labels: head.labels_of(s),
                samples: vec![(t, v)],
                starts: if st == 0 { Vec::new() } else { vec![st] },
            })
        })
    }

    /// Label sets of the series matching every matcher that have samples in the range.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let mut out = std::collections::BTreeSet::new();
        for block in self.blocks_snapshot() {
            match block.select(matchers, mint, maxt) {
                Ok(found) => out.extend(found.into_iter().map(|s| s.labels)),
                Err(e) => {
                    tracing::error!(block = %block.dir().display(), err = %e, "reading a block failed; its series are left out")
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
        out.into_iter().collect()
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

    /// The next series ref (for tests of replay).
    #[doc(hidden)]
    pub fn next_series_ref(&self) -> u64 {
        self.head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .next_ref()
    }
}

/// Opens every block in `dir`, oldest first. Leftovers of an interrupted creation or
/// deletion are removed; a block that cannot be read is reported and left in place
/// (never deleted: it may be recoverable), and the server runs without it.
fn open_blocks(dir: &Path) -> Result<Vec<Arc<Block>>, DbError> {
    let mut blocks = Vec::new();
    let entries = fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io(format!("reading {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.ends_with(".tmp-for-creation") || name.ends_with(".tmp-for-deletion") {
            if let Err(e) = fs::remove_dir_all(&path) {
                tracing::warn!(dir = %path.display(), err = %e, "could not remove a leftover temporary block");
            }
            continue;
        }
        if !is_block_dir_name(&name) || !path.is_dir() {
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                tracing::error!(block = %path.display(), err = %e, "cannot read this block: left in place and not served")
            }
        }
    }
    sort_blocks(&mut blocks);
    Ok(blocks)
}

/// Orders blocks by time range (what the compaction planner needs), then by ULID, so that
/// the order does not depend on the order of directory entries.
fn sort_blocks(blocks: &mut [Arc<Block>]) {
    blocks.sort_by(|a, b| {
        let (a, b) = (a.meta(), b.meta());
        (a.min_time, a.max_time, &a.ulid).cmp(&(b.min_time, b.max_time, &b.ulid))
    });
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
