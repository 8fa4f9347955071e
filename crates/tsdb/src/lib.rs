//! Promethium's time-series database (`--storage.tsdb.path`).
//!
//! So far: the head (recent samples in memory as XOR chunks, with an inverted index), the
//! write-ahead log it is rebuilt from at start-up (a torn or corrupt tail is cut, never
//! fatal), and a lock file so that two servers cannot share a directory. Persisted blocks,
//! compaction and retention come next.

mod chunk;
mod head;
pub mod wal;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use model::{Labels, Matcher};

pub use chunk::{XorChunk, XorIter};
pub use head::{HeadStats, Rejection};
pub use wal::ReplayReport;

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

/// Counts of what appends did, for metrics.
#[derive(Debug, Default)]
pub struct AppendStats {
    pub samples_appended: AtomicU64,
    pub out_of_order: AtomicU64,
    pub duplicates: AtomicU64,
    pub series_created: AtomicU64,
}

/// The outcome of one append batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub appended: usize,
    pub out_of_order: usize,
    pub duplicates: usize,
    pub new_series: usize,
}

/// One series and its samples in a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// An open database directory.
pub struct Db {
    dir: PathBuf,
    _lock: File,
    head: RwLock<head::Head>,
    wal: Mutex<wal::WalWriter>,
    pub stats: AppendStats,
    replay: ReplayReport,
}

impl Db {
    /// Opens (creating if needed) `dir`, takes its lock, and replays the WAL.
    pub fn open(dir: &Path) -> Result<Self, DbError> {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(format!("opening {}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(DbError::Locked(lock_path)),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io(format!("locking {}", lock_path.display()))(e))
            }
        }
        let wal_dir = dir.join("wal");
        let mut head = head::Head::default();
        let replay = wal::replay(&wal_dir, |record| match record {
            wal::Record::Series(series) => {
                for (r, labels) in series {
                    head.insert(r, labels);
                }
            }
            wal::Record::Samples(samples) => {
                for (r, t, v) in samples {
                    head.append(r, t, v);
                }
            }
        })
        .map_err(io(format!("replaying the WAL in {}", wal_dir.display())))?;
        if let Some((segment, offset)) = replay.repaired_at {
            tracing::warn!(
                segment,
                offset,
                "WAL had a torn or corrupt tail (e.g. after a crash or power loss): cut it there, everything before is kept"
            );
        }
        let writer = wal::WalWriter::open(&wal_dir)
            .map_err(io(format!("opening the WAL in {}", wal_dir.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            head: RwLock::new(head),
            wal: Mutex::new(writer),
            stats: AppendStats::default(),
            replay,
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
    /// is visible; out-of-order and conflicting duplicate samples are rejected and counted.
    pub fn append(&self, samples: &[(Labels, i64, f64)]) -> Result<AppendResult, DbError> {
        let mut result = AppendResult::default();
        let mut head = self.head.write().unwrap_or_else(|p| p.into_inner());
        let mut new_series = Vec::new();
        let mut accepted = Vec::with_capacity(samples.len());
        let mut pending: HashMap<u64, (i64, u64)> = HashMap::new();
        for (labels, t, v) in samples {
            let (r, created) = head.get_or_create(labels);
            if created {
                new_series.push((r, labels.clone()));
            }
            match head.check(r, *t, *v, pending.get(&r).copied()) {
                Ok(true) => {
                    pending.insert(r, (*t, v.to_bits()));
                    accepted.push((r, *t, *v));
                }
                Ok(false) => {}
                Err(Rejection::OutOfOrder) => result.out_of_order += 1,
                Err(Rejection::Duplicate) => result.duplicates += 1,
            }
        }
        let mut records = Vec::with_capacity(2);
        if !new_series.is_empty() {
            result.new_series = new_series.len();
            records.push(wal::Record::Series(new_series));
        }
        if !accepted.is_empty() {
            records.push(wal::Record::Samples(accepted.clone()));
        }
        if !records.is_empty() {
            self.wal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .log(&records)
                .map_err(io("writing the WAL"))?;
        }
        for (r, t, v) in accepted {
            if head.append(r, t, v) {
                result.appended += 1;
            }
        }
        drop(head);
        let s = &self.stats;
        s.samples_appended
            .fetch_add(result.appended as u64, Ordering::Relaxed);
        s.out_of_order
            .fetch_add(result.out_of_order as u64, Ordering::Relaxed);
        s.duplicates
            .fetch_add(result.duplicates as u64, Ordering::Relaxed);
        s.series_created
            .fetch_add(result.new_series as u64, Ordering::Relaxed);
        Ok(result)
    }

    /// Series matching every matcher with their samples in `[mint, maxt]`; series with no
    /// sample in the range are left out.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<SeriesData> = head
            .select_refs(matchers)
            .into_iter()
            .filter_map(|r| {
                let s = head.series(r)?;
                let samples = s.samples(mint, maxt);
                (!samples.is_empty()).then(|| SeriesData {
                    labels: s.labels.clone(),
                    samples,
                })
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Label sets of the series matching every matcher that have samples in the range.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Labels> = head
            .select_refs(matchers)
            .into_iter()
            .filter_map(|r| head.series(r))
            .filter(|s| s.min_t().is_some_and(|min| min <= maxt) && s.max_t >= mint)
            .map(|s| s.labels.clone())
            .collect();
        out.sort();
        out
    }

    /// Every label name in the head, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .label_names()
    }

    /// Every value of a label in the head, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.head
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .label_values(name)
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
        self.wal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sync()
            .map_err(io("syncing the WAL"))
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
