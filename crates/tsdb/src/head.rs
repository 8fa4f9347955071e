//! The head: recent samples in memory, as XOR chunks per series, with an inverted index
//! (label name → value → series refs).
//!
//! Memory is what limits how many series one server holds, so label strings are interned
//! once in a symbol table and a series keeps only symbol ids; the label-set lookup is a
//! hash map of 64-bit hashes (randomly keyed, so a target cannot aim collisions at it)
//! rather than a map keyed by full label sets.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use rustc_hash::FxBuildHasher;
use std::sync::Arc;

use model::{Label, Labels};

use crate::chunk::{Newest, SampleBuf, XorChunk};
use crate::head_chunks::ChunkDisk;
use crate::ooo::OooHead;
pub(crate) use crate::open::Orphans;
use closed::SpillTo;

mod append;
mod closed;
mod cut;
mod index;
mod recovered;
mod rollback;
mod series;
mod truncate;

pub use index::HeadStats;
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

/// The head's keyed hash of label sets (randomly keyed: a target cannot aim collisions at
/// the label-set table).
#[derive(Clone)]
pub(crate) struct LabelHasher(RandomState);

impl LabelHasher {
    pub fn hash(&self, labels: &Labels) -> u64 {
        self.hash_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }

    fn hash_pairs<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
        let mut h = self.0.build_hasher();
        for (n, v) in pairs {
            h.write(n.as_bytes());
            h.write_u8(0xff);
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }
}

/// Interned label names and values. The table holds ids only (4 bytes a slot, where a
/// map from the string would hold its 16-byte pointer, some 20 MB more for a million
/// series' distinct values) and compares by the strings they index. Keyed hashing: label
/// values come from targets, which must not be able to aim collisions at the table.
pub(crate) struct Symbols {
    strings: Vec<Arc<str>>,
    ids: hashbrown::HashTable<u32>,
    hasher: RandomState,
}

impl Default for Symbols {
    fn default() -> Self {
        Self {
            strings: Vec::new(),
            ids: hashbrown::HashTable::new(),
            hasher: RandomState::new(),
        }
    }
}

impl Symbols {
    fn intern(&mut self, s: &str) -> u32 {
        let hash = self.hasher.hash_one(s);
        let strings = &self.strings;
        if let Some(id) = self.ids.find(hash, |id| &*strings[*id as usize] == s) {
            return *id;
        }
        let id = strings.len() as u32;
        self.strings.push(Arc::from(s));
        let (strings, hasher) = (&self.strings, &self.hasher);
        self.ids
            .insert_unique(hash, id, |id| hasher.hash_one(&*strings[*id as usize]));
        id
    }

    fn lookup(&self, s: &str) -> Option<u32> {
        let strings = &self.strings;
        self.ids
            .find(self.hasher.hash_one(s), |id| &*strings[*id as usize] == s)
            .copied()
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
    hasher: LabelHasher,
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
            hasher: LabelHasher(RandomState::new()),
            live: 0,
            chunk_range: chunk_range.max(1),
            min_valid_t: i64::MIN,
            max_t: i64::MIN,
            disk: None,
            ooo: OooHead::default(),
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

    /// The keyed hash of label sets, for hashing them off the head's lock or thread (WAL
    /// replay's reader hashes the series it decodes).
    pub(crate) fn label_hasher(&self) -> LabelHasher {
        self.hasher.clone()
    }

    fn hash_labels(&self, labels: &Labels) -> u64 {
        self.hasher.hash(labels)
    }

    fn hash_ids(&self, ids: &[u32]) -> u64 {
        self.hasher.hash_pairs(
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

    /// Creates a series with a given ref (WAL replay), its label set's hash by
    /// [`Head::label_hasher`] already taken; nothing when the ref or the label set exists.
    pub(crate) fn insert_with_hash(&mut self, r: u64, labels: &Labels, h: u64) {
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

    /// Whether a series with this ref exists.
    pub fn contains(&self, r: u64) -> bool {
        self.series(r).is_some()
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

    pub fn series(&self, r: u64) -> Option<&MemSeries> {
        self.series.get((r as usize).checked_sub(1)?)?.as_deref()
    }

    fn series_mut(&mut self, r: u64) -> Option<&mut MemSeries> {
        series_slot(&mut self.series, r)
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
}

/// Series `r` of a series table: a function of the table alone, so that an append can hold
/// it while it reads the head's other fields.
fn series_slot(series: &mut [Option<Box<MemSeries>>], r: u64) -> Option<&mut MemSeries> {
    series.get_mut((r as usize).checked_sub(1)?)?.as_deref_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_intern_each_string_once() {
        let mut symbols = Symbols::default();
        // Enough strings for the table to grow (and rehash) several times.
        let strings: Vec<String> = (0..10_000).map(|i| format!("value-{i}")).collect();
        let ids: Vec<u32> = strings.iter().map(|s| symbols.intern(s)).collect();
        assert_eq!(ids, (0..10_000).collect::<Vec<u32>>());
        for (s, id) in strings.iter().zip(&ids) {
            assert_eq!(symbols.intern(s), *id);
            assert_eq!(symbols.lookup(s), Some(*id));
            assert_eq!(symbols.get(*id), s);
        }
        assert_eq!(symbols.lookup("value-10000"), None);
        assert_eq!(symbols.lookup(""), None);
        assert_eq!(symbols.intern(""), 10_000);
    }
}
