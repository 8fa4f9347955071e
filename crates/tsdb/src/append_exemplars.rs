//! Appending exemplars: checked against the exemplar storage, logged to the WAL, then
//! stored, under the storage's lock so that the log's order is the storage's order (a
//! replay takes them again in the same order, with the same checks, and ends with the
//! same exemplars). Queries ([`Db::select_exemplars`]) read the storage.

use model::{Exemplar, Labels, Matcher};

use crate::exemplars::{ExemplarError, ExemplarStats, SeriesExemplars};
use crate::{lock, wal, Db, DbError};

/// The outcome of [`Db::append_exemplars`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExemplarResult {
    /// Exemplars stored.
    pub appended: usize,
    /// Repeats of exemplars already stored (and exemplars of unknown series, or any
    /// while the storage is off): nothing to store, and not an error.
    pub ignored: usize,
    /// Refused: older than their series' newest exemplar (beyond the out-of-order window).
    pub out_of_order: usize,
    /// Refused: a label set longer than 128 characters.
    pub too_long: usize,
}

impl Db {
    /// Whether exemplars are stored (the storage's size is above 0).
    pub fn exemplars_enabled(&self) -> bool {
        self.exemplars
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .max()
            > 0
    }

    /// Appends exemplars of head series known by ref, in order (an exemplar older than
    /// the one before it for the same series is refused as out of order: sort them by
    /// [`model::exemplar::compare`] first). Nothing is stored if the WAL write fails.
    pub fn append_exemplars(
        &self,
        exemplars: Vec<(u64, Exemplar)>,
    ) -> Result<ExemplarResult, DbError> {
        let mut result = ExemplarResult::default();
        if exemplars.is_empty() || !self.exemplars_enabled() {
            result.ignored = exemplars.len();
            return Ok(result);
        }
        let with_labels: Vec<(u64, Labels, Exemplar)> = {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            exemplars
                .into_iter()
                .filter_map(|(r, e)| {
                    let labels = head.series(r).map(|s| head.labels_of(s));
                    if labels.is_none() {
                        result.ignored += 1;
                    }
                    labels.map(|l| (r, l, e))
                })
                .collect()
        };
        let mut store = self.exemplars.write().unwrap_or_else(|p| p.into_inner());
        store.set_out_of_order_window(
            self.ooo_window_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let mut accepted: Vec<(u64, Labels, Exemplar)> = Vec::with_capacity(with_labels.len());
        for (r, labels, e) in with_labels {
            match store.validate(&labels, &e) {
                Ok(true) => accepted.push((r, labels, e)),
                Ok(false) => result.ignored += 1,
                Err(ExemplarError::OutOfOrder) => result.out_of_order += 1,
                Err(ExemplarError::LabelSetTooLong) => result.too_long += 1,
                Err(ExemplarError::Disabled) => result.ignored += 1,
            }
        }
        store.count_out_of_order(result.out_of_order);
        if accepted.is_empty() {
            return Ok(result);
        }
        let record =
            wal::Record::Exemplars(accepted.iter().map(|(r, _, e)| (*r, e.clone())).collect());
        if let Err(e) = lock(&self.wal).log(&[record]) {
            drop(store);
            self.wal_write_failed(&e);
            return Err(DbError::WalWrite(e));
        }
        for (_, labels, e) in accepted {
            // Checked once against the storage before the batch; one before it in the
            // batch for the same series may still make it a repeat or out of order.
            match store.add(&labels, e) {
                Ok(true) => result.appended += 1,
                Ok(false) => result.ignored += 1,
                Err(ExemplarError::OutOfOrder) => result.out_of_order += 1,
                Err(_) => result.ignored += 1,
            }
        }
        Ok(result)
    }

    /// [`Db::append_exemplars`] for series known by labels (exemplars of series the head
    /// does not have are ignored, as Prometheus's head ignores them).
    pub fn append_exemplars_by_labels(
        &self,
        exemplars: Vec<(Labels, Exemplar)>,
    ) -> Result<ExemplarResult, DbError> {
        if exemplars.is_empty() || !self.exemplars_enabled() {
            return Ok(ExemplarResult {
                ignored: exemplars.len(),
                ..ExemplarResult::default()
            });
        }
        let mut unknown = 0;
        let by_ref: Vec<(u64, Exemplar)> = {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            exemplars
                .into_iter()
                .filter_map(|(labels, e)| {
                    let r = head.lookup(&labels);
                    if r.is_none() {
                        unknown += 1;
                    }
                    r.map(|r| (r, e))
                })
                .collect()
        };
        let mut result = self.append_exemplars(by_ref)?;
        result.ignored += unknown;
        Ok(result)
    }

    /// The exemplars between `start` and `end` (ms, inclusive) of the series matching
    /// any of the matcher sets, sorted by series.
    pub fn select_exemplars(
        &self,
        start: i64,
        end: i64,
        matcher_sets: &[Vec<Matcher>],
    ) -> Vec<SeriesExemplars> {
        self.exemplars
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .select(start, end, matcher_sets)
    }

    /// Changes how many exemplars are kept (a configuration reload's
    /// `storage.exemplars.max_exemplars`); the newest stay. 0 drops them all and stores
    /// no more.
    pub fn resize_exemplars(&self, max: usize) {
        let mut store = self.exemplars.write().unwrap_or_else(|p| p.into_inner());
        if store.max() != max {
            let kept = store.resize(max);
            tracing::info!(max_exemplars = max, kept, "exemplar storage resized");
        }
    }

    /// Counts for the `prometheus_tsdb_exemplar_*` metrics.
    pub fn exemplar_stats(&self) -> ExemplarStats {
        self.exemplars
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .stats()
    }
}
