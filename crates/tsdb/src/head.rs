//! The head: recent samples in memory, as XOR chunks per series, with an inverted index
//! (label name → value → series refs).
//!
//! Memory is what limits how many series one server holds, so label strings are interned
//! once in a symbol table and a series keeps only symbol ids; the label-set lookup is a
//! hash map of 64-bit hashes (randomly keyed, so a target cannot aim collisions at it)
//! rather than a map keyed by full label sets.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use rustc_hash::FxBuildHasher;
use std::sync::Arc;

use model::histogram::HistogramValue;
use model::{Label, Labels, Matcher};

use crate::chunk::{Newest, SampleBuf, XorChunk};
use crate::head_chunks::ChunkDisk;
use crate::ooo::OooHead;
pub(crate) use crate::open::Orphans;
use closed::SpillTo;

mod closed;
mod cut;
mod recovered;
mod rollback;
mod series;

pub(crate) use series::{HeadChunk, MemSeries};

/// Hashes a key that is a keyed hash already (label-set hashes): its bits as they are.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Interned label names and values.
#[derive(Default)]
pub(crate) struct Symbols {
    strings: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Symbols {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as u32;
        let shared: Arc<str> = Arc::from(s);
        self.strings.push(shared.clone());
        self.ids.insert(shared, id);
        id
    }

    fn lookup(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    pub fn get(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    /// A copy of the table that stays valid after the head lock is released. Ids are only
    /// reassigned by `compact_symbols` at head truncation, which runs in the same
    /// maintenance pass after any snapshot taken for a block is written.
    pub fn snapshot(&self) -> Vec<Arc<str>> {
        self.strings.clone()
    }
}

/// Why one sample was not appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Older than the series' newest sample.
    OutOfOrder,
    /// Same timestamp as the newest sample, different value.
    Duplicate,
    /// Older than the head's lower bound (that time range is already in a block).
    OutOfBounds,
}

/// Cardinality statistics of the head.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeadStats {
    pub num_series: usize,
    pub num_label_pairs: usize,
    /// Distinct label strings held (names and values).
    pub num_symbols: usize,
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

pub(crate) struct Head {
    symbols: Symbols,
    series: Vec<Option<Box<MemSeries>>>,
    by_hash: HashMap<u64, u64, BuildHasherDefault<PassThrough>>,
    /// Refs whose label hash equals that of an earlier series (rare).
    collisions: HashMap<u64, Vec<u64>>,
    /// Keyed by our own symbol ids, so a fast non-keyed hash is safe here. The refs are
    /// stored as u32 (half the memory of a million series' lists): a ref is an index into
    /// `series`, which would need 32 GiB before a ref outgrew them.
    postings: HashMap<u32, HashMap<u32, Vec<u32>, FxBuildHasher>, FxBuildHasher>,
    hasher: RandomState,
    live: usize,
    /// Chunks do not cross multiples of this (the block range), in ms.
    pub chunk_range: i64,
    /// Samples older than this are in blocks already: out of bounds.
    pub min_valid_t: i64,
    /// The newest timestamp appended.
    pub max_t: i64,
    /// Where full chunks go (none: they stay in memory).
    disk: Option<Arc<ChunkDisk>>,
    /// Samples accepted out of order (see `ooo`).
    pub(crate) ooo: OooHead,
    /// During replay, by ref − 1: the end of the series' recovered chain of spilled chunks
    /// (see `head/recovered`), so that replay skips the samples it holds without touching
    /// the series (one cache miss a sample at a million series); empty otherwise.
    pub(crate) replay_skip: Vec<i64>,
    /// False in agent mode, where the head only orders appends (the WAL is the data and
    /// nothing is queried): a series keeps its labels and its newest timestamp and value
    /// bits, no chunk, and no label index (postings) is built.
    pub keep_samples: bool,
}

impl Head {
    pub fn new(chunk_range: i64) -> Self {
        Self {
            symbols: Symbols::default(),
            series: Vec::new(),
            by_hash: HashMap::default(),
            collisions: HashMap::new(),
            postings: HashMap::default(),
            hasher: RandomState::new(),
            live: 0,
            chunk_range: chunk_range.max(1),
            min_valid_t: i64::MIN,
            max_t: i64::MIN,
            disk: None,
            ooo: OooHead::default(),
            replay_skip: Vec::new(),
            keep_samples: true,
        }
    }

    /// Moves full chunks to files from now on.
    pub fn spill_to(&mut self, disk: Arc<ChunkDisk>) {
        self.disk = Some(disk);
    }

    /// The spill files, for reading the bytes of spilled chunks.
    pub fn disk(&self) -> Option<Arc<ChunkDisk>> {
        self.disk.clone()
    }

    /// Series `r`'s samples in `[mint, maxt]`, out-of-order ones merged in.
    pub fn samples_of(&self, r: u64, s: &MemSeries, mint: i64, maxt: i64) -> SampleBuf {
        let mut out = s.samples(mint, maxt, self.disk.as_deref());
        if !self.ooo.is_empty() {
            self.merge_out_of_order(r, mint, maxt, &mut out);
        }
        out
    }

    /// Series `r`'s newest sample in `[mint, maxt]`, out-of-order ones included.
    pub fn last_sample_of(&self, r: u64, s: &MemSeries, mint: i64, maxt: i64) -> Option<Newest> {
        let last = s.last_sample(mint, maxt, self.disk.as_deref());
        if self.ooo.is_empty() {
            return last;
        }
        let late = self
            .ooo
            .last_in(r, mint, maxt)
            .map(|(t, v, st)| Newest::Float(t, v, st));
        match (last, late) {
            (Some(a), Some(b)) if b.t() > a.t() => Some(b),
            (a, b) => a.or(b),
        }
    }

    /// Whether series `r` has a sample in `[mint, maxt]` (by chunk and out-of-order
    /// time spans).
    pub fn has_samples_in(&self, r: u64, s: &MemSeries, mint: i64, maxt: i64) -> bool {
        (s.max_t >= mint && s.starts_at_or_before(maxt, self.disk.as_deref()))
            || self
                .ooo
                .span(r)
                .is_some_and(|(min, max)| min <= maxt && max >= mint)
    }

    fn hash_pairs<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
        let mut h = self.hasher.build_hasher();
        for (n, v) in pairs {
            h.write(n.as_bytes());
            h.write_u8(0xff);
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }

    fn hash_labels(&self, labels: &Labels) -> u64 {
        self.hash_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }

    fn hash_ids(&self, ids: &[u32]) -> u64 {
        self.hash_pairs(
            ids.chunks_exact(2)
                .map(|p| (self.symbols.get(p[0]), self.symbols.get(p[1]))),
        )
    }

    fn same_labels(&self, ids: &[u32], labels: &Labels) -> bool {
        ids.len() == labels.len() * 2
            && ids
                .chunks_exact(2)
                .zip(labels.iter())
                .all(|(p, l)| self.symbols.get(p[0]) == l.name && self.symbols.get(p[1]) == l.value)
    }

    fn lookup_hashed(&self, labels: &Labels, h: u64) -> Option<u64> {
        let matches = |r: &u64| {
            self.series(*r)
                .is_some_and(|s| self.same_labels(&s.labels, labels))
        };
        if let Some(r) = self.by_hash.get(&h).filter(|r| matches(r)) {
            return Some(*r);
        }
        self.collisions
            .get(&h)
            .and_then(|refs| refs.iter().find(|r| matches(r)).copied())
    }

    /// The ref of a series, if the head has it.
    pub fn lookup(&self, labels: &Labels) -> Option<u64> {
        self.lookup_hashed(labels, self.hash_labels(labels))
    }

    /// The ref of a series, creating it if needed (`true` when new).
    pub fn get_or_create(&mut self, labels: &Labels) -> (u64, bool) {
        let h = self.hash_labels(labels);
        if let Some(r) = self.lookup_hashed(labels, h) {
            return (r, false);
        }
        let r = self.next_ref();
        self.insert_hashed(r, labels, h);
        (r, true)
    }

    /// Creates a series with a given ref (also used by WAL replay).
    pub fn insert(&mut self, r: u64, labels: &Labels) {
        let h = self.hash_labels(labels);
        if r == 0 || self.series(r).is_some() || self.lookup_hashed(labels, h).is_some() {
            return;
        }
        self.insert_hashed(r, labels, h);
    }

    fn insert_hashed(&mut self, r: u64, labels: &Labels, h: u64) {
        let index = (r - 1) as usize;
        if self.series.len() <= index {
            self.series.resize_with(index + 1, || None);
        }
        let mut ids = Vec::with_capacity(labels.len() * 2);
        for l in labels.iter() {
            let name = self.symbols.intern(&l.name);
            let value = self.symbols.intern(&l.value);
            ids.push(name);
            ids.push(value);
            if !self.keep_samples {
                continue;
            }
            let Ok(r) = u32::try_from(r) else {
                continue;
            };
            let list = self
                .postings
                .entry(name)
                .or_default()
                .entry(value)
                .or_default();
            match list.last() {
                Some(last) if *last > r => {
                    let at = list.partition_point(|x| *x < r);
                    list.insert(at, r);
                }
                _ => list.push(r),
            }
        }
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collisions.entry(h).or_default().push(r)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(r);
            }
        }
        self.series[index] = Some(Box::new(MemSeries::new(ids.into_boxed_slice())));
        self.live += 1;
    }

    /// Asks the CPU to start loading what appending to series `r` will touch: `deep`
    /// means its open chunk's tail (the series itself must have been prefetched earlier),
    /// otherwise the series. Appends walk a million series in ref order, and these loads
    /// are what they would otherwise wait for.
    #[inline]
    pub fn prefetch(&self, r: u64, deep: bool) {
        let Some(Some(s)) = self.series.get((r as usize).wrapping_sub(1)) else {
            return;
        };
        let address: *const u8 = if deep {
            s.open.tail_ptr()
        } else {
            (&**s as *const MemSeries).cast()
        };
        prefetch(address);
    }

    /// Whether a series with this ref exists.
    pub fn contains(&self, r: u64) -> bool {
        self.series(r).is_some()
    }

    /// Checks a histogram sample against the series' newest one. `Ok(false)`: an
    /// identical repeat. Histograms are only taken in order (the out-of-order head holds
    /// floats).
    pub fn check_histogram(&self, r: u64, t: i64, h: &HistogramValue) -> Result<bool, Rejection> {
        if t < self.min_valid_t {
            return Err(Rejection::OutOfBounds);
        }
        let Some(s) = self.series(r) else {
            return Ok(true);
        };
        if !s.has_newest(self.keep_samples) || t > s.max_t {
            return Ok(true);
        }
        if t == s.max_t {
            return if series::histogram_identity(h) == s.last_bits {
                Ok(false)
            } else {
                Err(Rejection::Duplicate)
            };
        }
        Err(Rejection::OutOfOrder)
    }

    /// Appends a checked histogram sample with its start timestamp (0: none), or, in
    /// replay, skips one that is not newer or is out of bounds.
    pub fn append_histogram(&mut self, r: u64, t: i64, h: &HistogramValue, st: i64) -> bool {
        if t < self.min_valid_t {
            return false;
        }
        let range = self.chunk_range;
        let disk = self.disk.as_deref();
        let keep = self.keep_samples;
        let Some(Some(s)) = (r as usize)
            .checked_sub(1)
            .and_then(|i| self.series.get_mut(i))
            .map(Option::as_deref_mut)
        else {
            return false;
        };
        if s.has_newest(keep) && t <= s.max_t {
            return false;
        }
        s.append_histogram(t, h, st, range, SpillTo { disk, series: r }, keep);
        self.max_t = self.max_t.max(t);
        true
    }

    /// Checks a sample against the series' newest one. `Ok(false)`: an identical repeat.
    pub fn check(&self, r: u64, t: i64, v: f64) -> Result<bool, Rejection> {
        if t < self.min_valid_t {
            return Err(Rejection::OutOfBounds);
        }
        let Some(s) = self.series(r) else {
            return Ok(true);
        };
        // A sample the out-of-order head already holds at this time (accepted while a
        // cut had raised the lower bound, before a crash lowered it again) must not be
        // written a second time with another value in order. Free unless the series has
        // out-of-order samples.
        if self.ooo.contains(r) {
            if let Some((_, held, _)) = self.ooo.last_in(r, t, t) {
                return if held.to_bits() == v.to_bits() {
                    Ok(false)
                } else {
                    Err(Rejection::Duplicate)
                };
            }
        }
        if !s.has_newest(self.keep_samples) {
            return Ok(true);
        }
        let (max_t, last_bits) = (s.max_t, s.last_bits);
        if t > max_t {
            Ok(true)
        } else if t == max_t {
            if v.to_bits() == last_bits {
                Ok(false)
            } else {
                Err(Rejection::Duplicate)
            }
        } else {
            Err(Rejection::OutOfOrder)
        }
    }

    /// Appends a checked sample (or, in replay, skips one that is not newer or is out of
    /// bounds).
    pub fn append(&mut self, r: u64, t: i64, v: f64, st: i64) -> bool {
        if t < self.min_valid_t {
            return false;
        }
        let range = self.chunk_range;
        let disk = self.disk.as_deref();
        let Some(Some(s)) = (r as usize)
            .checked_sub(1)
            .and_then(|i| self.series.get_mut(i))
            .map(Option::as_deref_mut)
        else {
            return false;
        };
        if s.has_newest(self.keep_samples) && t <= s.max_t {
            return false;
        }
        s.append(
            t,
            v,
            st,
            range,
            SpillTo { disk, series: r },
            self.keep_samples,
        );
        self.max_t = self.max_t.max(t);
        true
    }

    /// Appends many samples (WAL replay: samples records, with or without start
    /// timestamps) on several threads: each thread owns a contiguous range of series, so
    /// every series still sees its samples in log order. Samples that are not newer than
    /// their series' newest, or out of bounds, are skipped; samples of refs no series has
    /// (their series record was lost to damage) are skipped and go to `orphans`.
    pub fn append_many(
        &mut self,
        records: &[crate::wal::Record],
        threads: usize,
        orphans: &mut Orphans,
    ) -> usize {
        if records.is_empty() {
            return 0;
        }
        if self.series.is_empty() {
            // No part to own them: every sample is an orphan.
            for record in records {
                (0..record.sample_count())
                    .filter_map(|j| record.sample(j))
                    .for_each(|s| orphans.add(s.0));
            }
            return 0;
        }
        let min_valid = self.min_valid_t;
        let range = self.chunk_range;
        let total = self.series.len();
        let per_part = total.div_ceil(threads.max(1)).max(1);
        let disk = self.disk.as_deref();
        let keep = self.keep_samples;
        let skip = self.replay_skip.as_slice();
        // Held by a recovered chain (checked before the series is touched).
        let held = |r: u64, t: i64| {
            (r as usize)
                .checked_sub(1)
                .and_then(|i| skip.get(i))
                .is_some_and(|end| t <= *end)
        };
        let results: Vec<(usize, i64, Orphans)> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .series
                .chunks_mut(per_part)
                .enumerate()
                .map(|(i, part)| {
                    let offset = i * per_part;
                    scope.spawn(move || {
                        let (mut appended, mut max_t) = (0usize, i64::MIN);
                        let mut orphans = Orphans::default();
                        let len = part.len();
                        let own =
                            |r: u64| (r as usize).checked_sub(1 + offset).filter(|i| *i < len);
                        for record in records {
                            for j in 0..record.sample_count() {
                                // Start loading what a few samples ahead will touch (see
                                // `Head::prefetch`).
                                if let Some(Some(Some(s))) = record
                                    .sample(j + 16)
                                    .filter(|a| !held(a.0, a.1))
                                    .and_then(|a| own(a.0))
                                    .map(|i| part.get(i))
                                {
                                    prefetch((&**s as *const MemSeries).cast());
                                }
                                if let Some(Some(Some(s))) = record
                                    .sample(j + 8)
                                    .filter(|a| !held(a.0, a.1))
                                    .and_then(|a| own(a.0))
                                    .map(|i| part.get(i))
                                {
                                    prefetch(s.open.tail_ptr());
                                }
                                let Some((r, t, v, st)) = record.sample(j) else {
                                    continue;
                                };
                                let Some(index) = own(r) else {
                                    // Refs beyond every series are the first part's to count.
                                    if i == 0 && (r == 0 || r as usize > total) {
                                        orphans.add(r);
                                    }
                                    continue;
                                };
                                if held(r, t) {
                                    continue;
                                }
                                let Some(Some(s)) = part.get_mut(index) else {
                                    orphans.add(r);
                                    continue;
                                };
                                if t < min_valid || (s.has_newest(keep) && t <= s.max_t) {
                                    continue;
                                }
                                s.append(t, v, st, range, SpillTo { disk, series: r }, keep);
                                appended += 1;
                                max_t = max_t.max(t);
                            }
                        }
                        (appended, max_t, orphans)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((0, i64::MIN, Orphans::default())))
                .collect()
        });
        let mut total = 0;
        for (appended, max_t, lost) in results {
            total += appended;
            self.max_t = self.max_t.max(max_t);
            orphans.merge(lost);
        }
        total
    }

    pub fn next_ref(&self) -> u64 {
        self.series.len() as u64 + 1
    }

    pub fn num_series(&self) -> usize {
        self.live
    }

    /// The oldest sample time in the head (a scan: for maintenance, not per request).
    pub fn min_time(&self) -> Option<i64> {
        let spilled = self.disk.as_ref().and_then(|d| d.oldest_min_t());
        self.series
            .iter()
            .flatten()
            .filter_map(|s| s.min_t_unless_spilled())
            .chain(spilled)
            .min()
    }

    /// The refs of the series with this (name, value) pair, sorted.
    fn postings_for(&self, name: &str, value: &str) -> &[u32] {
        let (Some(n), Some(v)) = (self.symbols.lookup(name), self.symbols.lookup(value)) else {
            return &[];
        };
        self.postings
            .get(&n)
            .and_then(|values| values.get(&v))
            .map_or(&[], Vec::as_slice)
    }

    /// The sorted union of the postings of every value of `m.name` that `m` matches.
    fn postings_matching(&self, m: &Matcher) -> Vec<u64> {
        if m.op == model::MatchOp::Equal {
            return widen(self.postings_for(&m.name, &m.value));
        }
        let Some(values) = self
            .symbols
            .lookup(&m.name)
            .and_then(|n| self.postings.get(&n))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (v, refs) in values {
            if m.matches(self.symbols.get(*v)) {
                out.extend(refs.iter().map(|&r| u64::from(r)));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Series refs matching every matcher, in ref order.
    pub fn select_refs(&self, matchers: &[Matcher]) -> Vec<u64> {
        // Matchers that cannot match the empty value select from the index; the rest
        // filter the candidates.
        let mut candidates: Option<Vec<u64>> = None;
        for m in matchers.iter().filter(|m| !m.matches_empty()) {
            let list = self.postings_matching(m);
            candidates = Some(match candidates {
                None => list,
                Some(c) => intersect(&c, &list),
            });
        }
        let mut candidates = candidates.unwrap_or_else(|| {
            (1..=self.series.len() as u64)
                .filter(|r| self.contains(*r))
                .collect()
        });
        // Postings are exact for the matchers they came from: only the others (those that
        // match the empty value, e.g. `a!="x"`) are checked against each series.
        let rest: Vec<&Matcher> = matchers.iter().filter(|m| m.matches_empty()).collect();
        if rest.is_empty() {
            candidates.retain(|r| self.series(*r).is_some());
            return candidates;
        }
        candidates
            .into_iter()
            .filter(|r| {
                self.series(*r).is_some_and(|s| {
                    rest.iter().all(|m| {
                        let value = s
                            .labels
                            .chunks_exact(2)
                            .find(|p| self.symbols.get(p[0]) == m.name)
                            .map_or("", |p| self.symbols.get(p[1]));
                        m.matches(value)
                    })
                })
            })
            .collect()
    }

    pub fn series(&self, r: u64) -> Option<&MemSeries> {
        self.series.get((r as usize).checked_sub(1)?)?.as_deref()
    }

    fn series_mut(&mut self, r: u64) -> Option<&mut MemSeries> {
        self.series
            .get_mut((r as usize).checked_sub(1)?)?
            .as_deref_mut()
    }

    /// The label set of a series.
    pub fn labels_of(&self, s: &MemSeries) -> Labels {
        Labels::from_sorted(
            s.labels
                .chunks_exact(2)
                .map(|p| Label {
                    name: self.symbols.get(p[0]).to_string(),
                    value: self.symbols.get(p[1]).to_string(),
                })
                .collect(),
        )
    }

    /// Drops every chunk that ends before `t` (it is in a block now) and the series left
    /// without chunks or out-of-order samples; samples before `t` are refused from now on
    /// (unless out of order within the window). Returns the refs of the series removed.
    pub fn truncate(&mut self, t: i64) -> Vec<u64> {
        let removed = self.truncate_series(t);
        if let Some(disk) = &self.disk {
            disk.truncate_before(t);
        }
        removed
    }

    fn truncate_series(&mut self, t: i64) -> Vec<u64> {
        self.min_valid_t = self.min_valid_t.max(t);
        let mut removed = HashSet::new();
        for (index, slot) in self.series.iter_mut().enumerate() {
            let Some(s) = slot else { continue };
            s.closed.truncate_before(t, self.disk.as_deref());
            if !s.open.is_empty() && s.max_t < t {
                s.open = XorChunk::new();
            }
            let r = index as u64 + 1;
            let has_samples = if self.keep_samples {
                s.has_chunks()
            } else {
                s.max_t >= t
            };
            if !has_samples && !self.ooo.contains(r) {
                removed.insert(r);
            }
        }
        if removed.is_empty() {
            return Vec::new();
        }
        let mut affected: HashSet<(u32, u32)> = HashSet::new();
        for r in &removed {
            let Some(s) = self
                .series
                .get_mut((*r - 1) as usize)
                .and_then(Option::take)
            else {
                continue;
            };
            for p in s.labels.chunks_exact(2) {
                affected.insert((p[0], p[1]));
            }
            let h = self.hash_ids(&s.labels);
            if self.by_hash.get(&h) == Some(r) {
                self.by_hash.remove(&h);
                if let Some(list) = self.collisions.get_mut(&h) {
                    if let Some(next) = list.pop() {
                        self.by_hash.insert(h, next);
                    }
                    if list.is_empty() {
                        self.collisions.remove(&h);
                    }
                }
            } else if let Some(list) = self.collisions.get_mut(&h) {
                list.retain(|x| x != r);
                if list.is_empty() {
                    self.collisions.remove(&h);
                }
            }
            self.live -= 1;
        }
        for (n, v) in affected {
            if let Some(values) = self.postings.get_mut(&n) {
                if let Some(list) = values.get_mut(&v) {
                    list.retain(|r| !removed.contains(&u64::from(*r)));
                    if list.is_empty() {
                        values.remove(&v);
                    }
                }
                if values.is_empty() {
                    self.postings.remove(&n);
                }
            }
        }
        self.compact_symbols();
        removed.into_iter().collect()
    }

    /// Drops the label strings no series uses any more (series churn away: pods, build
    /// ids), once they are at least half the table: every id is remapped.
    fn compact_symbols(&mut self) {
        let mut used = vec![false; self.symbols.strings.len()];
        for s in self.series.iter().flatten() {
            for id in s.labels.iter() {
                if let Some(u) = used.get_mut(*id as usize) {
                    *u = true;
                }
            }
        }
        let live = used.iter().filter(|u| **u).count();
        if live * 2 > used.len() {
            return;
        }
        let mut remap = vec![u32::MAX; used.len()];
        let mut symbols = Symbols::default();
        for (old, keep) in used.iter().enumerate() {
            if *keep {
                remap[old] = symbols.intern(&self.symbols.strings[old]);
            }
        }
        let map = |id: u32| remap.get(id as usize).copied().unwrap_or(u32::MAX);
        for s in self.series.iter_mut().flatten() {
            for id in s.labels.iter_mut() {
                *id = map(*id);
            }
        }
        let postings = std::mem::take(&mut self.postings);
        for (name, values) in postings {
            let values = values.into_iter().map(|(v, refs)| (map(v), refs)).collect();
            self.postings.insert(map(name), values);
        }
        self.symbols = symbols;
    }

    pub fn stats(&self, limit: usize) -> HeadStats {
        let mut stats = HeadStats {
            num_series: self.live,
            num_symbols: self.symbols.strings.len(),
            ..HeadStats::default()
        };
        for s in self.series.iter().flatten() {
            stats.chunk_count += s.chunks_in_memory();
            if s.has_chunks() {
                stats.max_time = Some(stats.max_time.map_or(s.max_t, |m: i64| m.max(s.max_t)));
            }
        }
        if let Some(disk) = &self.disk {
            stats.chunk_count += disk.live_records();
        }
        stats.min_time = self.min_time();
        let mut by_name = Vec::new();
        let mut values_per_name = Vec::new();
        let mut bytes_per_name = Vec::new();
        let mut pairs = Vec::new();
        for (name, values) in &self.postings {
            let name = self.symbols.get(*name);
            stats.num_label_pairs += values.len();
            values_per_name.push((name.to_string(), values.len()));
            let bytes: usize = values
                .iter()
                .map(|(v, refs)| self.symbols.get(*v).len() * refs.len())
                .sum();
            bytes_per_name.push((name.to_string(), bytes));
            for (value, refs) in values {
                let value = self.symbols.get(*value);
                pairs.push((format!("{name}={value}"), refs.len()));
                if name == model::METRIC_NAME {
                    by_name.push((value.to_string(), refs.len()));
                }
            }
        }
        stats.series_count_by_metric_name = top(by_name, limit);
        stats.label_value_count_by_label_name = top(values_per_name, limit);
        stats.memory_in_bytes_by_label_name = top(bytes_per_name, limit);
        stats.series_count_by_label_value_pair = top(pairs, limit);
        stats
    }

    /// Whether any of these series has a sample in [mint, maxt].
    fn any_in_range(&self, refs: &[u32], mint: i64, maxt: i64) -> bool {
        refs.iter().any(|&r| {
            let r = u64::from(r);
            self.series(r)
                .is_some_and(|s| self.has_samples_in(r, s, mint, maxt))
        })
    }

    /// Label names of the series with samples in [mint, maxt], sorted. An unbounded range
    /// reads the index alone.
    pub fn label_names_in(&self, mint: i64, maxt: i64) -> Vec<String> {
        let all = unbounded(mint, maxt);
        let mut out: Vec<String> = self
            .postings
            .iter()
            .filter(|(_, values)| {
                all || values
                    .values()
                    .any(|refs| self.any_in_range(refs, mint, maxt))
            })
            .map(|(n, _)| self.symbols.get(*n).to_string())
            .collect();
        out.sort_unstable();
        out
    }

    /// Values of a label among the series with samples in [mint, maxt], sorted. An
    /// unbounded range reads the index alone.
    pub fn label_values_in(&self, name: &str, mint: i64, maxt: i64) -> Vec<String> {
        let all = unbounded(mint, maxt);
        let mut out: Vec<String> = self
            .symbols
            .lookup(name)
            .and_then(|n| self.postings.get(&n))
            .map(|values| {
                values
                    .iter()
                    .filter(|(_, refs)| all || self.any_in_range(refs, mint, maxt))
                    .map(|(v, _)| self.symbols.get(*v).to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.sort_unstable();
        out
    }
}

/// Whether [mint, maxt] is every time there is (no need to look at samples).
fn unbounded(mint: i64, maxt: i64) -> bool {
    mint <= model::time::MIN_TIME_MS && maxt >= model::time::MAX_TIME_MS
}

/// Postings refs as the u64 refs the rest of the storage uses.
fn widen(refs: &[u32]) -> Vec<u64> {
    refs.iter().map(|&r| u64::from(r)).collect()
}

pub(crate) fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[inline]
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint with no architectural effect; it never faults, even
    // for an invalid address, and reads nothing into the program.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
