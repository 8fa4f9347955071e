//! Opening a data directory: refusing one that is not ours, the lock, blocks, WAL replay.
//!
//! The order matters. Nothing is created, cut or deleted until the directory has been
//! looked at (`dirformat`): a lock someone holds is reported first (with what the
//! directory holds), then a directory in Prometheus's formats is refused with every byte
//! as it was; only then is the lock file created, leftovers removed and the WAL's torn
//! tail cut.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::by_ref::ByRef;
use crate::lock::{DirLock, Existing};
use crate::wal::DamageKind;
use crate::{
    dirformat, head, head_chunks, io, is_block_dir_name, lock, read_meta, wal, AppendStats, Block,
    Db, DbError, Options, ReplayReport,
};

/// Samples decoded before they are applied to the head in parallel during replay.
const REPLAY_BATCH: usize = 1 << 20;
/// Series created from one hand-over during replay.
const REPLAY_SERIES_BATCH: usize = 1 << 14;
/// Batches the WAL reader may decode ahead of the thread applying them (with the one being
/// applied, some 100 MB of samples at most).
const REPLAY_BATCHES_AHEAD: usize = 2;

impl Db {
    /// Opens (creating if needed) `dir`, takes its lock, loads its blocks and replays the
    /// WAL. A directory holding Prometheus's data is refused untouched
    /// ([`DbError::PrometheusData`]).
    pub fn open_with(dir: &Path, opts: Options) -> Result<Self, DbError> {
        let held = match DirLock::existing(dir)? {
            Existing::Taken(lock) => Some(lock),
            Existing::None => None,
            Existing::Held(path) => {
                // Say whose it may be: reading only, the lock is not ours.
                let also = match dirformat::inspect(dir) {
                    Ok(f) if f.is_prometheus() => {
                        format!("; the directory holds Prometheus's data ({})", f.describe())
                    }
                    _ => String::new(),
                };
                return Err(DbError::Locked { path, also });
            }
        };
        let findings = dirformat::inspect(dir).map_err(io(format!("reading {}", dir.display())))?;
        if findings.is_prometheus() {
            return Err(DbError::PrometheusData {
                dir: dir.to_path_buf(),
                found: findings.describe(),
            });
        }
        if !findings.hints.is_empty() {
            tracing::warn!(dir = %dir.display(), found = %findings.describe(), "this data directory holds Promethium's data and also files a Prometheus leaves (was one started on it?); they are left alone");
        }
        fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let lock_file = match held {
            Some(lock) => lock,
            None => match DirLock::create(dir)? {
                Existing::Taken(lock) => lock,
                Existing::Held(path) => {
                    return Err(DbError::Locked {
                        path,
                        also: String::new(),
                    })
                }
                Existing::None => {
                    return Err(DbError::Locked {
                        path: dir.join("lock"),
                        also: String::new(),
                    })
                }
            },
        };
        lock::guard_against_prometheus(dir);
        let (blocks, unreadable) = open_blocks(dir)?;
        let wal_dir = dir.join("wal");
        let mut head = head::Head::new(opts.min_block_ms);
        head.keep_samples = opts.agent.is_none();
        if let Some(newest) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.min_valid_t = newest;
        }
        let spill_dir = dir.join("head_chunks_spill");
        let mut recovered = Default::default();
        if head.keep_samples {
            match head_chunks::ChunkDisk::recover(&spill_dir, head.min_valid_t) {
                Ok((disk, chains)) => {
                    head.spill_to(Arc::new(disk));
                    recovered = chains;
                }
                Err(e) => {
                    tracing::warn!(dir = %spill_dir.display(), err = %e, "cannot use this directory for full head chunks; keeping them in memory (replay rebuilds them from the WAL)")
                }
            }
        }
        let mut exemplars = crate::exemplars::ExemplarStore::new(opts.max_exemplars);
        let replay = replay_into(&mut head, &mut exemplars, &wal_dir, recovered)?;
        report_damage(&replay);
        let mut writer = wal::WalWriter::open(&wal_dir)
            .map_err(io(format!("opening the WAL in {}", wal_dir.display())))?;
        if replay.last_segment_corrupt() {
            // Appends go behind the damage, not after it: the damaged bytes stay as they
            // are for whoever wants to look, and every later replay finds the new
            // records at the start of a segment.
            writer.cut_now().map_err(io(format!(
                "starting a WAL segment in {}",
                wal_dir.display()
            )))?;
        }
        let stats = AppendStats::default();
        stats
            .wal_corruptions
            .store(replay.corruptions() as u64, Ordering::Relaxed);
        let (opts_retention_ms, opts_retention_bytes) = (opts.retention_ms, opts.retention_bytes);
        Ok(Self {
            dir: dir.to_path_buf(),
            _lock: lock_file,
            opts,
            head: RwLock::new(head),
            exemplars: RwLock::new(exemplars),
            wal: Mutex::new(writer),
            unlogged_series: Mutex::new(Vec::new()),
            wal_failing: AtomicBool::new(false),
            wal_error: Mutex::new(None),
            failures_at_burst_start: AtomicU64::new(0),
            blocks: RwLock::new(blocks),
            unreadable,
            maintenance: Mutex::new(()),
            stats,
            replay,
            ooo_window_ms: AtomicI64::new(0),
            retention_ms: AtomicI64::new(opts_retention_ms),
            retention_bytes: AtomicU64::new(opts_retention_bytes),
            wal_holds: Mutex::new(Default::default()),
            wal_expiries: Mutex::new(Default::default()),
            agent_last_truncation: AtomicI64::new(0),
        })
    }
}

/// Samples replay could not place: no series record for their ref was read.
#[derive(Debug, Default)]
pub(crate) struct Orphans {
    pub samples: u64,
    pub refs: rustc_hash::FxHashSet<u64>,
}

impl Orphans {
    pub fn add(&mut self, r: u64) {
        self.samples += 1;
        self.refs.insert(r);
    }

    pub fn merge(&mut self, other: Orphans) {
        self.samples += other.samples;
        self.refs.extend(other.refs);
    }
}

/// Replays the WAL into the head: series are created as their records come; samples are
/// applied in batches on every core (each core owning a range of series, so order per
/// series holds) while a reader thread reads, checks and decodes segments.
///
/// A series given a chain of spilled chunks recovered from an earlier run (`recovered`)
/// takes it when its series record is read, before any of its samples: those up to the
/// chain's end are held already, and the reader drops them ([`HeldByChains`]).
fn replay_into(
    head: &mut head::Head,
    exemplars: &mut crate::exemplars::ExemplarStore,
    wal_dir: &Path,
    mut recovered: head_chunks::RecoveredChains,
) -> Result<ReplayReport, DbError> {
    let mut attached: Vec<u64> = Vec::new();
    let mut held = HeldByChains::new(&recovered);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let (mut series_time, mut samples_time) = (Duration::ZERO, Duration::ZERO);
    let mut orphans = head::Orphans::default();
    let mut apply = |head: &mut head::Head, record: Replayed, orphans: &mut head::Orphans| {
        let record = match record {
            Replayed::Series(series, hashes) => {
                let started = Instant::now();
                for ((r, labels), h) in series.into_iter().zip(hashes) {
                    head.insert_with_hash(r, &labels, h);
                    if let Some(slot) = recovered.get_mut(r) {
                        if slot.is_some_and(|chain| head.attach_spilled(r, &chain)) {
                            attached.push(r);
                            *slot = None;
                        }
                    }
                }
                series_time += started.elapsed();
                return;
            }
            Replayed::Samples(batch) => {
                let started = Instant::now();
                head.append_many(&batch, threads, orphans);
                samples_time += started.elapsed();
                return;
            }
            Replayed::Other(record) => record,
        };
        match record {
            // Out-of-order records go to the out-of-order head, in log order (they and
            // the flush markers are rare: no batching).
            wal::Record::OooSamples(samples) => head.replay_out_of_order(&samples, orphans),
            wal::Record::OooFlush { below, done } => head.ooo.replay_marker(below, done),
            // Taken as they were when logged: those refused then (out of order, too long)
            // are refused again; those of series gone are dropped.
            wal::Record::Exemplars(logged) => {
                if exemplars.max() == 0 {
                    return;
                }
                for (r, e) in logged {
                    if let Some(labels) = head.series(r).map(|s| head.labels_of(s)) {
                        let _ = exemplars.add(&labels, e);
                    }
                }
            }
            // Histograms are appended in log order after the float samples batched before
            // them (a series may change from one to the other).
            wal::Record::Histograms(samples) => {
                let started = Instant::now();
                for (r, t, h, st) in samples {
                    if !head.contains(r) {
                        orphans.add(r);
                        continue;
                    }
                    head.append_histogram(r, t, &h, st);
                }
                samples_time += started.elapsed();
            }
            // Float samples come batched (above).
            _ => {}
        }
    };
    let replayed = std::thread::scope(|scope| {
        // Batches, not records, so that the reader decodes the next batch while this
        // thread applies one (it would stop at a bound in records long before a batch's
        // worth of them), and the batches waiting hold a few million samples at most.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Replayed>(REPLAY_BATCHES_AHEAD);
        let dir = wal_dir.to_path_buf();
        let held = &mut held;
        let hasher = head.label_hasher();
        let reader = scope.spawn(move || {
            let mut batcher = Batcher::new(tx);
            let read = wal::replay(&dir, |mut record| match record {
                // Hashed here, off the thread that creates the series.
                wal::Record::Series(series) => batcher.add_series(series, &hasher),
                wal::Record::Samples(_) | wal::Record::SamplesWithStarts(_) => {
                    if held.drop_from(&mut record) {
                        batcher.add_samples(record);
                    }
                }
                other => batcher.add_other(other),
            });
            batcher.flush();
            read
        });
        for replayed in rx {
            apply(head, replayed, &mut orphans);
        }
        reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the WAL reader thread panicked")))
    });
    let mut replay = replayed.map_err(io(format!("replaying the WAL in {}", wal_dir.display())))?;
    head.ooo.replay_finished();
    head.settle_spilled(&attached);
    // Chains of series the WAL no longer has (or already had samples for) are not the
    // head's: no longer counted as its chunks. The samples of theirs the reader dropped
    // had no series to go to: counted as such, as they would have been without the chain.
    let disk = head.disk();
    for (r, chain) in recovered.present() {
        if let Some(disk) = &disk {
            disk.forget_chain(chain.newest);
        }
        let dropped = held.dropped(r);
        if dropped > 0 && !head.contains(r) {
            orphans.samples += u64::from(dropped);
            orphans.refs.insert(r);
        }
    }
    tracing::debug!(
        ?series_time,
        ?samples_time,
        "WAL replay: time creating series and appending samples (the rest is reading and decoding)"
    );
    replay.recovered_chains = attached.len();
    replay.orphan_samples = orphans.samples;
    replay.orphan_series = orphans.refs.len();
    Ok(replay)
}

/// What the WAL reader hands to replay, in log order: series (with their label sets'
/// hashes, [`head::Head::label_hasher`], taken on the reader's thread) and float samples,
/// each gathered from consecutive records, and any other record as it is.
enum Replayed {
    Series(Vec<(u64, model::Labels)>, Vec<u64>),
    Samples(Vec<wal::Record>),
    Other(wal::Record),
}

/// Gathers consecutive records of one kind into [`Replayed`] batches for the replaying
/// thread: one hand-over per batch, not per record, and samples in batches large enough to
/// share among cores.
struct Batcher {
    tx: std::sync::mpsc::SyncSender<Replayed>,
    series: Vec<(u64, model::Labels)>,
    hashes: Vec<u64>,
    samples: Vec<wal::Record>,
    sample_count: usize,
}

impl Batcher {
    fn new(tx: std::sync::mpsc::SyncSender<Replayed>) -> Self {
        Self {
            tx,
            series: Vec::new(),
            hashes: Vec::new(),
            samples: Vec::new(),
            sample_count: 0,
        }
    }

    /// Samples gathered before a series record go on gathering: none of them is the new
    /// series' (a series is logged before its samples).
    fn add_series(&mut self, series: Vec<(u64, model::Labels)>, hasher: &head::LabelHasher) {
        self.hashes
            .extend(series.iter().map(|(_, l)| hasher.hash(l)));
        self.series.extend(series);
        if self.series.len() >= REPLAY_SERIES_BATCH {
            self.flush_series();
        }
    }

    fn add_samples(&mut self, record: wal::Record) {
        self.flush_series();
        self.sample_count += record.sample_count();
        self.samples.push(record);
        if self.sample_count >= REPLAY_BATCH {
            self.flush_samples();
        }
    }

    /// Series gathered so far go first (the record may be of them). Float samples gathered
    /// so far go first only before histograms, which a series may switch to and from; the
    /// rest (exemplars, out-of-order samples and markers, logged beside a scrape's samples)
    /// do not read in-order chunks, and cutting a batch at each would share out one
    /// scrape's samples at a time.
    fn add_other(&mut self, record: wal::Record) {
        self.flush_series();
        if matches!(record, wal::Record::Histograms(_)) {
            self.flush_samples();
        }
        self.send(Replayed::Other(record));
    }

    fn flush(&mut self) {
        self.flush_series();
        self.flush_samples();
    }

    fn flush_series(&mut self) {
        if !self.series.is_empty() {
            let series = std::mem::take(&mut self.series);
            let hashes = std::mem::take(&mut self.hashes);
            self.send(Replayed::Series(series, hashes));
        }
    }

    fn flush_samples(&mut self) {
        if !self.samples.is_empty() {
            self.sample_count = 0;
            let batch = std::mem::take(&mut self.samples);
            self.send(Replayed::Samples(batch));
        }
    }

    fn send(&self, replayed: Replayed) {
        // The receiver only goes away if the replaying thread panicked.
        let _ = self.tx.send(replayed);
    }
}

/// The samples replay need not apply, dropped by the WAL reader as it decodes them: those
/// up to the end of their series' recovered chain of spilled chunks. Most of a long WAL
/// is such samples after a restart; dropped here, the threads that apply samples (each of
/// which walks every sample to find its own) see only the rest.
///
/// A series that takes its chain would skip those samples anyway (they are not newer than
/// its newest); the drop only spares the work. Per ref, what was dropped is counted, for
/// the one case where it matters: a chain whose series never comes (its record lost to
/// damage), whose samples are then reported as without a series.
struct HeldByChains {
    /// By ref: the chain's end and the samples dropped (`i64::MIN`: no chain). Pages only
    /// where `recovered` has chains: empty without any.
    by_ref: ByRef<(i64, u32)>,
}

impl HeldByChains {
    fn new(recovered: &head_chunks::RecoveredChains) -> Self {
        let mut by_ref = ByRef::default();
        // Every ref of the pages, as a default of 0 would hold samples up to time 0.
        for (r, chain) in recovered.iter() {
            if let Some(slot) = by_ref.slot(r) {
                *slot = (chain.map_or(i64::MIN, |c| c.max_t), 0);
            }
        }
        Self { by_ref }
    }

    /// Drops the held samples of a samples record; `false` when nothing is left of it.
    fn drop_from(&mut self, record: &mut wal::Record) -> bool {
        if self.by_ref.is_empty() {
            return true;
        }
        let by_ref = &mut self.by_ref;
        let mut held = |r: u64, t: i64| match by_ref.get_mut(r) {
            Some((end, dropped)) if t <= *end => {
                *dropped = dropped.saturating_add(1);
                true
            }
            _ => false,
        };
        match record {
            wal::Record::Samples(samples) => {
                samples.retain(|s| !held(s.0, s.1));
                !samples.is_empty()
            }
            wal::Record::SamplesWithStarts(samples) => {
                samples.retain(|s| !held(s.0, s.1));
                !samples.is_empty()
            }
            _ => true,
        }
    }

    fn dropped(&self, r: u64) -> u32 {
        self.by_ref.get(r).map_or(0, |h| h.1)
    }
}

/// Logs what replay found damaged: a torn tail as the usual aftermath of a crash, and
/// everything else in one line that says what was lost.
fn report_damage(replay: &ReplayReport) {
    for d in &replay.damage {
        if d.kind == DamageKind::TornTail {
            tracing::warn!(
                segment = d.segment,
                offset = d.offset,
                bytes = d.bytes,
                "WAL had a torn tail (an incomplete last record, e.g. after a crash or power loss): cut it there, everything before is kept"
            );
        }
    }
    let corrupt: Vec<String> = replay
        .damage
        .iter()
        .filter(|d| d.kind == DamageKind::Corrupt)
        .map(|d| d.to_string())
        .collect();
    if corrupt.is_empty() && replay.orphan_samples == 0 {
        return;
    }
    tracing::error!(
        corrupt_spans = corrupt.len(),
        damage = %corrupt.join("; "),
        samples_without_series = replay.orphan_samples,
        series_without_record = replay.orphan_series,
        "WAL corruption: the damaged bytes were skipped (left on disk) and every valid record after them kept; samples whose series record was in them are dropped"
    );
}

/// A block left out at open because it could not be read (left in place, never deleted:
/// it may be recoverable). Kept so that queries over its time range can say what their
/// result lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableBlock {
    pub dir: PathBuf,
    /// Its time range from `meta.json`, when that file still reads.
    pub range: Option<(i64, i64)>,
    pub error: String,
}

impl Db {
    /// The blocks left out at open because they could not be read.
    pub fn unreadable_blocks(&self) -> &[UnreadableBlock] {
        &self.unreadable
    }

    /// A warning for each unreadable block whose data may lie in `[mint, maxt]` (every one
    /// whose range is unknown).
    pub fn unreadable_blocks_in(&self, mint: i64, maxt: i64) -> Vec<String> {
        self.unreadable
            .iter()
            .filter(|b| b.range.is_none_or(|(lo, hi)| hi > mint && lo <= maxt))
            .map(|b| {
                let range = b
                    .range
                    .map_or_else(String::new, |(lo, hi)| format!(" ([{lo}, {hi}) ms)"));
                // Named by its ULID, as blocks are everywhere else; the error says where.
                let ulid = b.dir.file_name().map_or_else(
                    || b.dir.to_string_lossy(),
                    |name| name.to_string_lossy(),
                );
                format!(
                    "block {ulid}{range} cannot be read ({}) and is not served; its samples are missing from this result",
                    b.error
                )
            })
            .collect()
    }
}

/// Opens every block in `dir`, oldest first. Leftovers of an interrupted creation or
/// deletion are removed; a block that cannot be read is reported and left in place
/// (never deleted: it may be recoverable), and the server runs without it.
fn open_blocks(dir: &Path) -> Result<(Vec<Arc<Block>>, Vec<UnreadableBlock>), DbError> {
    let mut blocks = Vec::new();
    let mut unreadable = Vec::new();
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
                tracing::error!(block = %path.display(), err = %e, "cannot read this block: left in place and not served");
                unreadable.push(UnreadableBlock {
                    range: read_meta(&path).ok().map(|m| (m.min_time, m.max_time)),
                    dir: path,
                    error: e.to_string(),
                });
            }
        }
    }
    sort_blocks(&mut blocks);
    unreadable.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok((blocks, unreadable))
}

/// Orders blocks by time range (what the compaction planner needs), then by ULID, so that
/// the order does not depend on the order of directory entries.
pub(crate) fn sort_blocks(blocks: &mut [Arc<Block>]) {
    blocks.sort_by(|a, b| {
        let (a, b) = (a.meta(), b.meta());
        (a.min_time, a.max_time, &a.ulid).cmp(&(b.min_time, b.max_time, &b.ulid))
    });
}
