//! Exemplar storage (`--enable-feature=exemplar-storage`): a fixed number of exemplars
//! (`storage.exemplars.max_exemplars`) in a circular buffer shared by all series; the
//! newest exemplar overwrites the oldest. Each series' exemplars are a list through the
//! buffer, sorted by time, so a query walks only its series. As Prometheus's
//! `CircularExemplarStorage`:
//! - an exemplar equal to its series' newest (same labels and value, same timestamp when
//!   either has one) is a repeat and is not stored again;
//! - an exemplar older than its series' newest is refused as out of order, unless it is
//!   within the out-of-order time window (then it is put in its place, by time);
//! - label sets of more than 128 characters are refused.
//!
//! Appends are logged to the WAL (record `10`) by [`crate::Db::append_exemplars`] and
//! replayed at start-up; the buffer can be resized on a configuration reload, keeping the
//! newest exemplars.

use std::collections::HashMap;

use model::exemplar::MAX_LABEL_SET_CHARS;
use model::{Exemplar, Labels, Matcher};

/// No entry (end of a series' list).
const NONE: usize = usize::MAX;

/// Why an exemplar was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExemplarError {
    #[error("exemplar storage is disabled (or its size is 0)")]
    Disabled,
    #[error("out of order exemplar")]
    OutOfOrder,
    #[error("exemplar label set is longer than {MAX_LABEL_SET_CHARS} UTF-8 characters")]
    LabelSetTooLong,
}

/// The exemplars of one series, as a query returns them (oldest first).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesExemplars {
    pub series: Labels,
    pub exemplars: Vec<Exemplar>,
}

/// Counts for `prometheus_tsdb_exemplar_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExemplarStats {
    pub appended_total: u64,
    pub out_of_order_total: u64,
    pub in_storage: usize,
    pub series_in_storage: usize,
    pub max_exemplars: usize,
    /// The oldest stored exemplar's time (ms), 0 when there is none.
    pub oldest_timestamp_ms: i64,
}

struct Entry {
    exemplar: Exemplar,
    /// Index into `series`; `NONE` marks a free entry.
    series: usize,
    prev: usize,
    next: usize,
}

struct SeriesList {
    labels: Labels,
    oldest: usize,
    newest: usize,
}

/// The circular buffer and its per-series index.
pub struct ExemplarStore {
    /// Filled up to `max` entries, then reused from `next` round.
    entries: Vec<Entry>,
    max: usize,
    next: usize,
    series: Vec<SeriesList>,
    free_series: Vec<usize>,
    index: HashMap<Labels, usize>,
    ooo_window_ms: i64,
    appended_total: u64,
    out_of_order_total: u64,
}

impl ExemplarStore {
    /// A store for at most `max` exemplars (0: none are stored).
    pub fn new(max: usize) -> Self {
        Self {
            entries: Vec::new(),
            max,
            next: 0,
            series: Vec::new(),
            free_series: Vec::new(),
            index: HashMap::new(),
            ooo_window_ms: 0,
            appended_total: 0,
            out_of_order_total: 0,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Exemplars up to this much older than their series' newest are still taken (the
    /// out-of-order time window).
    pub fn set_out_of_order_window(&mut self, ms: i64) {
        self.ooo_window_ms = ms.max(0);
    }

    /// Checks an exemplar without storing it: `Ok(false)` for a repeat of the series'
    /// newest exemplar (nothing to store).
    pub fn validate(&self, series: &Labels, e: &Exemplar) -> Result<bool, ExemplarError> {
        self.check(self.index.get(series).copied(), e)
    }

    fn check(&self, list: Option<usize>, e: &Exemplar) -> Result<bool, ExemplarError> {
        if self.max == 0 {
            return Err(ExemplarError::Disabled);
        }
        if e.label_chars() > MAX_LABEL_SET_CHARS {
            return Err(ExemplarError::LabelSetTooLong);
        }
        let Some(list) = list else {
            return Ok(true);
        };
        let newest = &self.entries[self.series[list].newest].exemplar;
        if newest.same_as(e) {
            return Ok(false);
        }
        let out_of_order = (e.timestamp_ms < newest.timestamp_ms
            && e.timestamp_ms <= newest.timestamp_ms - self.ooo_window_ms)
            || (e.timestamp_ms == newest.timestamp_ms && e.value < newest.value)
            || (e.timestamp_ms == newest.timestamp_ms
                && e.value == newest.value
                && e.labels < newest.labels);
        if out_of_order {
            return Err(ExemplarError::OutOfOrder);
        }
        Ok(true)
    }

    /// Counts exemplars refused as out of order by [`ExemplarStore::validate`].
    pub fn count_out_of_order(&mut self, n: usize) {
        self.out_of_order_total += n as u64;
    }

    /// Stores an exemplar of `series`: `Ok(true)` if stored, `Ok(false)` if it repeats
    /// one already stored.
    pub fn add(&mut self, series: &Labels, e: Exemplar) -> Result<bool, ExemplarError> {
        let list = self.index.get(series).copied();
        match self.check(list, &e) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(ExemplarError::OutOfOrder) => {
                self.out_of_order_total += 1;
                return Err(ExemplarError::OutOfOrder);
            }
            Err(err) => return Err(err),
        }
        if let Some(list) = list {
            let s = &self.series[list];
            let (oldest, newest) = (
                self.entries[s.oldest].exemplar.timestamp_ms,
                self.entries[s.newest].exemplar.timestamp_ms,
            );
            if e.timestamp_ms >= oldest && e.timestamp_ms < newest {
                // Within the window: one already stored at the same time wins.
                let at = self.insertion_point(list, e.timestamp_ms);
                if self.entries[at].exemplar.timestamp_ms == e.timestamp_ms {
                    return Ok(false);
                }
            }
        }
        self.insert(series, e);
        self.appended_total += 1;
        Ok(true)
    }

    /// Puts an exemplar in the buffer (checks done), evicting the oldest when full, and
    /// links it into its series' list by time.
    fn insert(&mut self, series: &Labels, e: Exemplar) {
        if self.max == 0 {
            return;
        }
        let slot = if self.entries.len() < self.max {
            self.entries.push(Entry {
                exemplar: e,
                series: NONE,
                prev: NONE,
                next: NONE,
            });
            self.entries.len() - 1
        } else {
            let slot = self.next;
            self.unlink(slot);
            self.entries[slot].exemplar = e;
            slot
        };
        self.next = (slot + 1) % self.max;
        let list = match self.index.get(series) {
            Some(&list) => list,
            None => {
                let list = SeriesList {
                    labels: series.clone(),
                    oldest: slot,
                    newest: slot,
                };
                let id = match self.free_series.pop() {
                    Some(id) => {
                        self.series[id] = list;
                        id
                    }
                    None => {
                        self.series.push(list);
                        self.series.len() - 1
                    }
                };
                self.index.insert(series.clone(), id);
                let entry = &mut self.entries[slot];
                entry.series = id;
                entry.prev = NONE;
                entry.next = NONE;
                return;
            }
        };
        self.entries[slot].series = list;
        let t = self.entries[slot].exemplar.timestamp_ms;
        let (oldest, newest) = (self.series[list].oldest, self.series[list].newest);
        if t >= self.entries[newest].exemplar.timestamp_ms {
            self.entries[newest].next = slot;
            self.entries[slot].prev = newest;
            self.entries[slot].next = NONE;
            self.series[list].newest = slot;
        } else if t < self.entries[oldest].exemplar.timestamp_ms {
            self.entries[oldest].prev = slot;
            self.entries[slot].prev = NONE;
            self.entries[slot].next = oldest;
            self.series[list].oldest = slot;
        } else {
            let after = self.insertion_point(list, t);
            let before = self.entries[after].next;
            self.entries[slot].prev = after;
            self.entries[slot].next = before;
            self.entries[after].next = slot;
            if before != NONE {
                self.entries[before].prev = slot;
            }
        }
    }

    /// The newest entry of `list` at or before `t` (its oldest if none is).
    fn insertion_point(&self, list: usize, t: i64) -> usize {
        let mut i = self.series[list].newest;
        while i != NONE {
            if self.entries[i].exemplar.timestamp_ms <= t {
                return i;
            }
            i = self.entries[i].prev;
        }
        self.series[list].oldest
    }

    /// Takes an occupied entry out of its series' list (dropping the series when it was
    /// its last exemplar).
    fn unlink(&mut self, slot: usize) {
        let (list, prev, next) = {
            let e = &self.entries[slot];
            (e.series, e.prev, e.next)
        };
        if list == NONE {
            return;
        }
        if prev != NONE {
            self.entries[prev].next = next;
        } else {
            self.series[list].oldest = next;
        }
        if next != NONE {
            self.entries[next].prev = prev;
        } else {
            self.series[list].newest = prev;
        }
        self.entries[slot].series = NONE;
        if self.series[list].oldest == NONE {
            let labels = std::mem::take(&mut self.series[list].labels);
            self.index.remove(&labels);
            self.free_series.push(list);
        }
    }

    /// The exemplars between `start` and `end` (inclusive) of the series matching any of
    /// the matcher sets, sorted by series labels.
    pub fn select(
        &self,
        start: i64,
        end: i64,
        matcher_sets: &[Vec<Matcher>],
    ) -> Vec<SeriesExemplars> {
        let mut out = Vec::new();
        for &list in self.index.values() {
            let s = &self.series[list];
            if self.entries[s.oldest].exemplar.timestamp_ms > end
                || self.entries[s.newest].exemplar.timestamp_ms < start
            {
                continue;
            }
            let matches = matcher_sets
                .iter()
                .any(|set| set.iter().all(|m| m.matches_labels(&s.labels)));
            if !matches {
                continue;
            }
            let mut exemplars = Vec::new();
            let mut i = s.oldest;
            while i != NONE {
                let e = &self.entries[i].exemplar;
                if e.timestamp_ms > end {
                    break;
                }
                if e.timestamp_ms >= start {
                    exemplars.push(e.clone());
                }
                i = self.entries[i].next;
            }
            if !exemplars.is_empty() {
                out.push(SeriesExemplars {
                    series: s.labels.clone(),
                    exemplars,
                });
            }
        }
        out.sort_by(|a, b| a.series.cmp(&b.series));
        out
    }

    /// Changes the number of exemplars kept; the newest stay. Returns how many were kept.
    pub fn resize(&mut self, max: usize) -> usize {
        if max == self.max {
            return self.entries.len();
        }
        // Oldest first: from `next` round when the buffer has wrapped.
        let mut old = std::mem::take(&mut self.entries);
        let wrapped = old.len() == self.max && self.max > 0;
        if wrapped {
            old.rotate_left(self.next);
        }
        let series = std::mem::take(&mut self.series);
        self.free_series.clear();
        self.index.clear();
        self.next = 0;
        self.max = max;
        let skip = old.len().saturating_sub(max);
        let mut kept = 0;
        for entry in old.into_iter().skip(skip) {
            if entry.series == NONE {
                continue;
            }
            let labels = &series[entry.series].labels;
            self.insert(labels, entry.exemplar);
            kept += 1;
        }
        kept
    }

    /// Every entry of the buffer holds an exemplar (a slot is only emptied to be filled
    /// again at once), so the counts follow from its length, and the oldest stored is the
    /// one `next` overwrites once the buffer is full, else the first.
    pub fn stats(&self) -> ExemplarStats {
        let full = self.entries.len() == self.max;
        let oldest = self.entries.get(if full { self.next } else { 0 });
        ExemplarStats {
            appended_total: self.appended_total,
            out_of_order_total: self.out_of_order_total,
            in_storage: self.entries.len(),
            series_in_storage: self.index.len(),
            max_exemplars: self.max,
            oldest_timestamp_ms: oldest.map_or(0, |e| e.exemplar.timestamp_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::MatchOp;

    fn series(name: &str) -> Labels {
        Labels::from_pairs([("__name__", name)])
    }

    fn ex(trace: &str, value: f64, t: i64) -> Exemplar {
        Exemplar {
            labels: Labels::from_pairs([("trace_id", trace)]),
            value,
            timestamp_ms: t,
            has_timestamp: true,
        }
    }

    fn all(store: &ExemplarStore) -> Vec<SeriesExemplars> {
        let any = vec![vec![
            Matcher::new(MatchOp::NotEqual, "__name__", "").unwrap()
        ]];
        store.select(i64::MIN, i64::MAX, &any)
    }

    fn times(store: &ExemplarStore, name: &str) -> Vec<i64> {
        all(store)
            .into_iter()
            .filter(|s| s.series == series(name))
            .flat_map(|s| s.exemplars.into_iter().map(|e| e.timestamp_ms))
            .collect()
    }

    #[test]
    fn repeats_are_not_stored_and_older_ones_are_refused() {
        let mut s = ExemplarStore::new(10);
        let a = series("a");
        assert_eq!(s.add(&a, ex("1", 1.0, 100)), Ok(true));
        assert_eq!(s.add(&a, ex("1", 1.0, 100)), Ok(false));
        // Without timestamps, the same labels and value are the same exemplar.
        let mut untimed = ex("2", 2.0, 200);
        untimed.has_timestamp = false;
        assert_eq!(s.add(&a, untimed.clone()), Ok(true));
        untimed.timestamp_ms = 300;
        assert_eq!(s.add(&a, untimed), Ok(false));
        assert_eq!(s.add(&a, ex("3", 3.0, 150)), Err(ExemplarError::OutOfOrder));
        assert_eq!(s.stats().out_of_order_total, 1);
        let long = "x".repeat(MAX_LABEL_SET_CHARS);
        assert_eq!(
            s.add(&a, ex(&long, 1.0, 400)),
            Err(ExemplarError::LabelSetTooLong)
        );
        assert_eq!(times(&s, "a"), vec![100, 200]);
        assert_eq!(
            ExemplarStore::new(0).add(&a, ex("1", 1.0, 1)),
            Err(ExemplarError::Disabled)
        );
    }

    #[test]
    fn the_window_takes_late_exemplars_in_their_place() {
        let mut s = ExemplarStore::new(10);
        s.set_out_of_order_window(100);
        let a = series("a");
        for t in [100, 200, 300] {
            s.add(&a, ex(&t.to_string(), 1.0, t)).unwrap();
        }
        assert_eq!(s.add(&a, ex("x", 2.0, 250)), Ok(true));
        // One at the same time is already there.
        assert_eq!(s.add(&a, ex("y", 2.0, 250)), Ok(false));
        assert_eq!(s.add(&a, ex("z", 2.0, 199)), Err(ExemplarError::OutOfOrder));
        assert_eq!(times(&s, "a"), vec![100, 200, 250, 300]);
    }

    #[test]
    fn a_full_buffer_overwrites_the_oldest_and_drops_empty_series() {
        let mut s = ExemplarStore::new(3);
        s.add(&series("a"), ex("1", 1.0, 1)).unwrap();
        s.add(&series("b"), ex("2", 1.0, 2)).unwrap();
        s.add(&series("b"), ex("3", 1.0, 3)).unwrap();
        s.add(&series("b"), ex("4", 1.0, 4)).unwrap();
        assert_eq!(times(&s, "a"), Vec::<i64>::new());
        assert_eq!(times(&s, "b"), vec![2, 3, 4]);
        assert_eq!(s.stats().series_in_storage, 1);
        s.add(&series("a"), ex("5", 1.0, 5)).unwrap();
        assert_eq!(times(&s, "b"), vec![3, 4]);
        assert_eq!(times(&s, "a"), vec![5]);
        assert_eq!(s.stats().in_storage, 3);
        assert_eq!(s.stats().oldest_timestamp_ms, 3);
    }

    #[test]
    fn select_filters_by_time_and_matchers() {
        let mut s = ExemplarStore::new(10);
        for t in 1..=5 {
            s.add(&series("a"), ex("a", t as f64, t * 10)).unwrap();
            s.add(&series("b"), ex("b", t as f64, t * 10)).unwrap();
        }
        let only_a = vec![vec![Matcher::new(MatchOp::Equal, "__name__", "a").unwrap()]];
        let got = s.select(20, 40, &only_a);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0]
                .exemplars
                .iter()
                .map(|e| e.timestamp_ms)
                .collect::<Vec<_>>(),
            vec![20, 30, 40]
        );
        let both = vec![
            vec![Matcher::new(MatchOp::Equal, "__name__", "b").unwrap()],
            vec![Matcher::new(MatchOp::Equal, "__name__", "a").unwrap()],
        ];
        let got = s.select(50, 60, &both);
        assert_eq!(
            got.iter().map(|s| s.series.clone()).collect::<Vec<_>>(),
            vec![series("a"), series("b")]
        );
        assert!(s.select(60, 70, &both).is_empty());
    }

    #[test]
    fn resizing_keeps_the_newest() {
        let mut s = ExemplarStore::new(4);
        for t in 1..=6 {
            s.add(&series(if t % 2 == 0 { "a" } else { "b" }), ex("x", 1.0, t))
                .unwrap();
        }
        assert_eq!(s.resize(2), 2);
        assert_eq!(times(&s, "a"), vec![6]);
        assert_eq!(times(&s, "b"), vec![5]);
        assert_eq!(s.resize(8), 2);
        for t in 7..=12 {
            s.add(&series("a"), ex("y", 1.0, t)).unwrap();
        }
        assert_eq!(times(&s, "a"), vec![6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(s.resize(0), 0);
        assert!(all(&s).is_empty());
    }
}
