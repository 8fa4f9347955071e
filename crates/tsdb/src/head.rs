//! The head: recent samples in memory, as XOR chunks per series, with an inverted index
//! (label name → value → series refs).

use std::collections::{BTreeMap, HashMap};

use model::{Labels, Matcher};

use crate::chunk::{XorChunk, XorIter, SAMPLES_PER_CHUNK};

/// A full chunk that is no longer appended to.
struct ClosedChunk {
    min_t: i64,
    max_t: i64,
    bytes: Box<[u8]>,
}

pub(crate) struct MemSeries {
    pub labels: Labels,
    closed: Vec<ClosedChunk>,
    open: XorChunk,
    open_min_t: i64,
    /// The newest timestamp and value bits, for order and duplicate checks.
    pub max_t: i64,
    last_bits: u64,
}

impl MemSeries {
    fn new(labels: Labels) -> Self {
        Self {
            labels,
            closed: Vec::new(),
            open: XorChunk::new(),
            open_min_t: i64::MIN,
            max_t: i64::MIN,
            last_bits: 0,
        }
    }

    fn append(&mut self, t: i64, v: f64) {
        if self.open.len() >= SAMPLES_PER_CHUNK {
            let full = std::mem::replace(&mut self.open, XorChunk::new());
            self.closed.push(ClosedChunk {
                min_t: self.open_min_t,
                max_t: full.last_timestamp(),
                bytes: full.bytes().into_boxed_slice(),
            });
        }
        if self.open.is_empty() {
            self.open_min_t = t;
        }
        self.open.append(t, v);
        self.max_t = t;
        self.last_bits = v.to_bits();
    }

    /// Samples with `mint <= t <= maxt`.
    pub fn samples(&self, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        for c in &self.closed {
            if c.max_t < mint || c.min_t > maxt {
                continue;
            }
            if let Some(iter) = XorIter::from_bytes(&c.bytes) {
                out.extend(iter.filter(|(t, _)| *t >= mint && *t <= maxt));
            }
        }
        if !self.open.is_empty() && self.max_t >= mint && self.open_min_t <= maxt {
            out.extend(self.open.iter().filter(|(t, _)| *t >= mint && *t <= maxt));
        }
        out
    }

    pub fn min_t(&self) -> Option<i64> {
        self.closed
            .first()
            .map(|c| c.min_t)
            .or((!self.open.is_empty()).then_some(self.open_min_t))
    }

    fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(!self.open.is_empty())
    }
}

/// Why one sample was not appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Older than the series' newest sample.
    OutOfOrder,
    /// Same timestamp as the newest sample, different value.
    Duplicate,
}

/// Cardinality statistics of the head.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeadStats {
    pub num_series: usize,
    pub num_label_pairs: usize,
    pub chunk_count: usize,
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
    pub series_count_by_metric_name: Vec<(String, usize)>,
    pub label_value_count_by_label_name: Vec<(String, usize)>,
    pub memory_in_bytes_by_label_name: Vec<(String, usize)>,
    pub series_count_by_label_value_pair: Vec<(String, usize)>,
}

fn top(mut items: Vec<(String, usize)>, limit: usize) -> Vec<(String, usize)> {
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(limit);
    items
}

#[derive(Default)]
pub(crate) struct Head {
    series: Vec<Option<MemSeries>>,
    by_labels: HashMap<Labels, u64>,
    postings: BTreeMap<String, BTreeMap<String, Vec<u64>>>,
}

impl Head {
    /// The ref of a series, creating it if needed (`true` when new).
    pub fn get_or_create(&mut self, labels: &Labels) -> (u64, bool) {
        if let Some(r) = self.by_labels.get(labels) {
            return (*r, false);
        }
        let r = self.series.len() as u64 + 1;
        self.insert(r, labels.clone());
        (r, true)
    }

    /// Creates a series with a given ref (WAL replay).
    pub fn insert(&mut self, r: u64, labels: Labels) {
        if self.by_labels.contains_key(&labels) {
            return;
        }
        let index = (r - 1) as usize;
        if self.series.len() <= index {
            self.series.resize_with(index + 1, || None);
        }
        for l in labels.iter() {
            self.postings
                .entry(l.name.clone())
                .or_default()
                .entry(l.value.clone())
                .or_default()
                .push(r);
        }
        self.by_labels.insert(labels.clone(), r);
        self.series[index] = Some(MemSeries::new(labels));
    }

    fn get_mut(&mut self, r: u64) -> Option<&mut MemSeries> {
        self.series.get_mut((r as usize).checked_sub(1)?)?.as_mut()
    }

    /// Checks a sample against the series' newest one, as if `pending_max` (samples of this
    /// batch not yet applied) were already in.
    pub fn check(
        &self,
        r: u64,
        t: i64,
        v: f64,
        pending: Option<(i64, u64)>,
    ) -> Result<bool, Rejection> {
        let Some(s) = self
            .series
            .get((r as usize).wrapping_sub(1))
            .and_then(Option::as_ref)
        else {
            return Ok(true);
        };
        let (max_t, last_bits) = pending.unwrap_or((s.max_t, s.last_bits));
        if s.open.is_empty() && s.closed.is_empty() && pending.is_none() {
            return Ok(true);
        }
        if t > max_t {
            Ok(true)
        } else if t == max_t {
            if v.to_bits() == last_bits {
                Ok(false) // an identical repeat: accepted, nothing to store
            } else {
                Err(Rejection::Duplicate)
            }
        } else {
            Err(Rejection::OutOfOrder)
        }
    }

    /// Appends a checked sample (or, in replay, skips one that is not newer).
    pub fn append(&mut self, r: u64, t: i64, v: f64) -> bool {
        let Some(s) = self.get_mut(r) else {
            return false;
        };
        if s.chunk_count() > 0 && t <= s.max_t {
            return false;
        }
        s.append(t, v);
        true
    }

    pub fn next_ref(&self) -> u64 {
        self.series.len() as u64 + 1
    }

    pub fn num_series(&self) -> usize {
        self.by_labels.len()
    }

    /// Series refs matching every matcher, in ref order.
    pub fn select_refs(&self, matchers: &[Matcher]) -> Vec<u64> {
        // Start from the smallest posting list of an equality matcher that cannot match
        // the empty value; otherwise from every series.
        let mut candidates: Option<Vec<u64>> = None;
        for m in matchers {
            if m.op == model::MatchOp::Equal && !m.matches_empty() {
                let list = self
                    .postings
                    .get(&m.name)
                    .and_then(|values| values.get(&m.value))
                    .cloned()
                    .unwrap_or_default();
                if candidates.as_ref().is_none_or(|c| list.len() < c.len()) {
                    candidates = Some(list);
                }
            }
        }
        let candidates = candidates.unwrap_or_else(|| {
            (1..=self.series.len() as u64)
                .filter(|r| self.series[(*r - 1) as usize].is_some())
                .collect()
        });
        candidates
            .into_iter()
            .filter(|r| {
                self.series[(*r - 1) as usize]
                    .as_ref()
                    .is_some_and(|s| matchers.iter().all(|m| m.matches_labels(&s.labels)))
            })
            .collect()
    }

    pub fn series(&self, r: u64) -> Option<&MemSeries> {
        self.series.get((r as usize).checked_sub(1)?)?.as_ref()
    }

    pub fn stats(&self, limit: usize) -> HeadStats {
        let mut stats = HeadStats {
            num_series: self.by_labels.len(),
            ..HeadStats::default()
        };
        for s in self.series.iter().flatten() {
            stats.chunk_count += s.chunk_count();
            if let Some(min) = s.min_t() {
                stats.min_time = Some(stats.min_time.map_or(min, |m: i64| m.min(min)));
                stats.max_time = Some(stats.max_time.map_or(s.max_t, |m: i64| m.max(s.max_t)));
            }
        }
        let mut by_name = Vec::new();
        let mut values_per_name = Vec::new();
        let mut bytes_per_name = Vec::new();
        let mut pairs = Vec::new();
        for (name, values) in &self.postings {
            stats.num_label_pairs += values.len();
            values_per_name.push((name.clone(), values.len()));
            let bytes: usize = values.iter().map(|(v, refs)| v.len() * refs.len()).sum();
            bytes_per_name.push((name.clone(), bytes));
            for (value, refs) in values {
                pairs.push((format!("{name}={value}"), refs.len()));
                if name == model::METRIC_NAME {
                    by_name.push((value.clone(), refs.len()));
                }
            }
        }
        stats.series_count_by_metric_name = top(by_name, limit);
        stats.label_value_count_by_label_name = top(values_per_name, limit);
        stats.memory_in_bytes_by_label_name = top(bytes_per_name, limit);
        stats.series_count_by_label_value_pair = top(pairs, limit);
        stats
    }

    /// Every label name, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.postings.keys().cloned().collect()
    }

    /// Every value of a label, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.postings
            .get(name)
            .map(|values| values.keys().cloned().collect())
            .unwrap_or_default()
    }
}
