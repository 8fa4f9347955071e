//! The append path: samples checked and applied to the head, then logged, all under the
//! head's write lock; a batch whose WAL write fails is taken back whole.
//!
//! Why all or nothing: an append that returned an error must leave nothing behind, in
//! memory (queries would show samples a restart loses) or in the WAL (a restart would bring
//! back samples the caller was told were not stored). The writer rolls its file back
//! (`wal::writer`) and the head its samples (`head::rollback`). A run of failures (a full
//! disk) is logged once and counted, [`Db::append_failure`] says appends fail, and
//! writes that succeed for a few seconds end it: nothing needs a restart when space
//! returns.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use model::Labels;

use crate::{head, lock, wal, AppendResult, BatchResult, Db, DbError, Rejection};

/// A run of WAL write failures ends when writes have succeeded for this long without a
/// failure. On a full disk, a small write can still fit in the last page the segment has
/// while larger ones fail: one run, not a failure and a recovery per scrape (readiness
/// would flap, and every flap would be logged).
const QUIET: Duration = Duration::from_secs(5);

impl Db {
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
        let max_t_before = head.max_t;
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
        result.new_series = new_series.len();
        // Series created by batches whose write failed go first: later samples of theirs
        // refer to them (those the head has dropped since are not logged at all).
        let mut unlogged = lock(&self.unlogged_series);
        unlogged.retain(|(r, _)| head.contains(*r));
        if !unlogged.is_empty() || !new_series.is_empty() {
            let mut series = std::mem::take(&mut *unlogged);
            series.append(&mut new_series);
            records.push(wal::Record::Series(series));
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
        let s = &self.stats;
        s.series_created
            .fetch_add(result.new_series as u64, Ordering::Relaxed);
        if let Err(e) = logged {
            self.take_back(&mut head, records, &mut unlogged, max_t_before);
            drop(unlogged);
            drop(head);
            self.wal_write_failed(&e);
            return Err(DbError::WalWrite(e));
        }
        drop(unlogged);
        drop(head);
        if self.wal_failing.load(Ordering::Relaxed) {
            self.wal_write_succeeded();
        }
        self.count_appended(result);
        Ok(out)
    }

    /// Adds a written batch's outcome to the head's counters (samples appended, and
    /// refused as out of order, out of bounds or duplicates).
    pub(crate) fn count_appended(&self, result: &AppendResult) {
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
    }

    /// Undoes a batch whose WAL write failed (the head's write lock still held): its
    /// samples leave the head, its new series stay (callers may hold their refs) and are
    /// logged with the next batch that is written.
    fn take_back(
        &self,
        head: &mut head::Head,
        records: Vec<wal::Record>,
        unlogged: &mut Vec<(u64, Labels)>,
        max_t_before: i64,
    ) {
        let mut in_order: Vec<(u64, i64)> = Vec::new();
        let mut late: Vec<(u64, i64)> = Vec::new();
        for record in records {
            match record {
                wal::Record::Series(series) => *unlogged = series,
                wal::Record::OooSamples(samples) => {
                    late.extend(samples.iter().map(|&(r, t, _, _)| (r, t)))
                }
                wal::Record::OooFlush { .. } => {}
                samples => in_order.extend(
                    (0..samples.sample_count())
                        .filter_map(|j| samples.sample(j))
                        .map(|(r, t, _, _)| (r, t)),
                ),
            }
        }
        head.roll_back(in_order.into_iter(), late.into_iter(), max_t_before);
    }

    /// Counts a failed WAL write; the first of a run of failures is logged (and marks
    /// the database as failing appends until writes succeed again).
    pub(crate) fn wal_write_failed(&self, e: &std::io::Error) {
        self.stats.wal_writes_failed.fetch_add(1, Ordering::Relaxed);
        *lock(&self.wal_error) = Some((format!("writing the WAL: {e}"), Instant::now()));
        if !self.wal_failing.swap(true, Ordering::Relaxed) {
            self.failures_at_burst_start.store(
                self.stats.wal_writes_failed.load(Ordering::Relaxed) - 1,
                Ordering::Relaxed,
            );
            tracing::error!(dir = %self.dir.display(), err = %e, "writing the WAL failed: appends are refused and nothing of them is stored until a write succeeds again (retried with every append; not ready meanwhile)");
        }
    }

    /// Ends a run of failed WAL writes once no write has failed for [`QUIET`].
    pub(crate) fn wal_write_succeeded(&self) {
        let mut error = lock(&self.wal_error);
        if error.as_ref().is_some_and(|(_, at)| at.elapsed() < QUIET) {
            return;
        }
        if self.wal_failing.swap(false, Ordering::Relaxed) {
            *error = None;
            let failed = self.stats.wal_writes_failed.load(Ordering::Relaxed)
                - self.failures_at_burst_start.load(Ordering::Relaxed);
            tracing::info!(dir = %self.dir.display(), failed_appends = failed, "writing the WAL works again: appends are stored");
        }
    }

    /// Why appends are failing now (the last WAL write error), or `None` while they
    /// work. A server reports itself not ready meanwhile: its data is not being stored.
    pub fn append_failure(&self) -> Option<String> {
        if !self.wal_failing.load(Ordering::Relaxed) {
            return None;
        }
        lock(&self.wal_error).as_ref().map(|(e, _)| e.clone())
    }
}
