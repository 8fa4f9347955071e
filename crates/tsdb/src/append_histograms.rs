//! Appending native histogram samples: checked (valid, in order, in bounds, not a
//! conflicting duplicate), applied to the head and logged as one histogram record, all or
//! nothing as float appends are (`append`). Histograms are only taken in order: the
//! out-of-order head holds floats.

use std::borrow::Borrow;
use std::sync::atomic::Ordering;

use model::histogram::HistogramValue;
use model::Labels;

use crate::{lock, wal, AppendResult, BatchResult, Db, DbError, Rejection};

impl Db {
    /// Appends histogram samples by series ref (`by_ref`, refs from earlier batches) and
    /// by labels (`by_labels`, creating series as needed), like [`Db::append_batch`].
    pub fn append_histogram_batch(
        &self,
        by_ref: &[(u64, i64, HistogramValue)],
        by_labels: &[(Labels, i64, HistogramValue)],
    ) -> Result<BatchResult, DbError> {
        self.append_histogram_batch_with_starts(by_ref, by_labels, &[], &[])
    }

    /// A scrape's histograms, as [`Db::append_histogram_batch`] but all or nothing on an
    /// invalid histogram: the first one fails the batch ([`DbError::InvalidHistogram`])
    /// before anything is appended, as an invalid histogram fails a scrape. Each histogram
    /// is validated once, before the head is locked.
    pub fn append_scraped_histograms(
        &self,
        by_ref: &[(u64, i64, &HistogramValue)],
        by_labels: &[(Labels, i64, &HistogramValue)],
    ) -> Result<BatchResult, DbError> {
        let values = by_ref
            .iter()
            .map(|s| s.2)
            .chain(by_labels.iter().map(|s| s.2));
        for h in values {
            h.validate().map_err(DbError::InvalidHistogram)?;
        }
        self.append_histograms_checked(by_ref, by_labels, &[], &[], true)
    }

    /// [`Db::append_histogram_batch`] with each sample's start timestamp (0: none;
    /// `by_ref_starts` and `by_labels_starts` empty, or one per sample).
    pub fn append_histogram_batch_with_starts(
        &self,
        by_ref: &[(u64, i64, HistogramValue)],
        by_labels: &[(Labels, i64, HistogramValue)],
        by_ref_starts: &[i64],
        by_labels_starts: &[i64],
    ) -> Result<BatchResult, DbError> {
        self.append_histograms_checked(by_ref, by_labels, by_ref_starts, by_labels_starts, false)
    }

    /// The append; `validated`: every histogram was validated already (invalid ones are
    /// otherwise counted in `invalid_histograms` and skipped).
    fn append_histograms_checked<'a, H: Borrow<HistogramValue>>(
        &self,
        by_ref: &'a [(u64, i64, H)],
        by_labels: &'a [(Labels, i64, H)],
        by_ref_starts: &[i64],
        by_labels_starts: &[i64],
        validated: bool,
    ) -> Result<BatchResult, DbError> {
        let mut out = BatchResult::default();
        let result = &mut out.result;
        let mut head = self.head.write().unwrap_or_else(|p| p.into_inner());
        let max_t_before = head.max_t;
        let mut new_series = Vec::new();
        // Borrowed from the caller's samples: the WAL record is encoded from them.
        let mut accepted: Vec<(u64, i64, &HistogramValue, i64)> =
            Vec::with_capacity(by_ref.len() + by_labels.len());
        let apply = |head: &mut crate::head::Head,
                     r: u64,
                     t: i64,
                     h: &'a HistogramValue,
                     st: i64,
                     result: &mut AppendResult,
                     accepted: &mut Vec<(u64, i64, &'a HistogramValue, i64)>| {
            // A stale marker is only its sum.
            let valid = if validated || model::is_stale_nan(h.sum()) {
                Ok(())
            } else {
                h.validate()
            };
            if valid.is_err() {
                result.invalid_histograms += 1;
                return;
            }
            match head.check_histogram(r, t, h) {
                Ok(true) => {
                    head.append_histogram(r, t, h, st);
                    result.appended += 1;
                    accepted.push((r, t, h, st));
                }
                Ok(false) => {}
                Err(Rejection::OutOfOrder) => result.out_of_order += 1,
                Err(Rejection::OutOfBounds) => result.out_of_bounds += 1,
                Err(Rejection::Duplicate) => result.duplicates += 1,
            }
        };
        for (i, (r, t, h)) in by_ref.iter().enumerate() {
            if !head.contains(*r) {
                out.unknown.push(i);
                continue;
            }
            let st = by_ref_starts.get(i).copied().unwrap_or(0);
            apply(&mut head, *r, *t, h.borrow(), st, result, &mut accepted);
        }
        out.refs.reserve(by_labels.len());
        for (i, (labels, t, h)) in by_labels.iter().enumerate() {
            let (r, created) = head.get_or_create(labels);
            if created {
                new_series.push((r, labels.clone()));
            }
            out.refs.push(r);
            let st = by_labels_starts.get(i).copied().unwrap_or(0);
            apply(&mut head, r, *t, h.borrow(), st, result, &mut accepted);
        }
        result.new_series = new_series.len();
        let mut records = Vec::with_capacity(2);
        let mut unlogged = lock(&self.unlogged_series);
        unlogged.retain(|(r, _)| head.contains(*r));
        if !unlogged.is_empty() || !new_series.is_empty() {
            let mut series = std::mem::take(&mut *unlogged);
            series.append(&mut new_series);
            records.push(wal::Record::Series(series));
        }
        let taken_back: Vec<(u64, i64)> = accepted.iter().map(|(r, t, _, _)| (*r, *t)).collect();
        if !accepted.is_empty() {
            records.push(wal::Record::Encoded(wal::encode_histograms(
                accepted.iter().copied(),
            )));
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
            if let Some(wal::Record::Series(series)) = records.into_iter().next() {
                *unlogged = series;
            }
            head.roll_back(taken_back.into_iter(), std::iter::empty(), max_t_before);
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

    /// Appends histogram samples by labels.
    pub fn append_histograms(
        &self,
        samples: &[(Labels, i64, HistogramValue)],
    ) -> Result<AppendResult, DbError> {
        self.append_histogram_batch(&[], samples).map(|b| b.result)
    }
}
