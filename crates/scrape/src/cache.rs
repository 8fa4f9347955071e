//! The scrape cache: series text as a target writes it → storage ref.
//!
//! A target repeats the same series, in the same order, every scrape. So labels are built,
//! relabeled and looked up in storage once per series, not once per sample per scrape; and
//! the cache keeps its entries in the order of the last scrape, so that a scrape like the
//! last one is a sequential walk through memory (compare the next slot's key, move on)
//! with no hash-table probe at all. Only when the order changes is the index consulted
//! and the order rebuilt.
//!
//! A key is two 64-bit hashes of the series text: a randomly keyed SipHash and a fast
//! FxHash. Equal keys mean equal text unless 128 bits collide, which a target cannot aim
//! for without the secret key; in exchange the cache keeps no copies of the text.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// The ref of a series that metric relabeling drops.
const DROPPED: u64 = 0;

/// 32 bytes: the key as two words (a `u128` would align the slot to 16 and make it 48).
#[derive(Clone, Copy, Debug)]
struct Slot {
    key: [u64; 2],
    series_ref: u64,
    /// The scrape that last saw it (scrapes counted modulo 2^32: only equality matters).
    seen: u32,
    /// Whether it gets a staleness marker when it vanishes.
    tracked: bool,
}

fn split(key: u128) -> [u64; 2] {
    [key as u64, (key >> 64) as u64]
}

fn join(key: [u64; 2]) -> u128 {
    u128::from(key[0]) | (u128::from(key[1]) << 64)
}

/// Keys are uniform hashes already: the table uses their low bits as they are.
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
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// Where a series of this scrape is in the new order.
#[derive(Clone, Copy)]
enum Seen {
    /// A slot of the previous order.
    Old(usize),
    /// The n-th new series of this scrape.
    New(usize),
}

/// What the cache says about a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Known: append by this ref.
    Hit(u64),
    /// Known to be dropped by metric relabeling.
    Dropped,
    /// Not known: build its labels, then call [`SeriesCache::add`] or
    /// [`SeriesCache::add_dropped`].
    Miss,
}

pub(crate) struct SeriesCache {
    hasher: RandomState,
    /// In the order of the last successful scrape.
    slots: Vec<Slot>,
    /// Key → place in `slots`, built only when a scrape departs from the last one's order
    /// (a target that repeats its order, the usual case, never needs it), and dropped when
    /// the order is rebuilt.
    index: Option<HashMap<u128, u32, BuildHasherDefault<PassThrough>>>,
    iteration: u32,
    cursor: usize,
    /// Every lookup so far hit the slot after the previous one, from the first.
    in_order: bool,
    /// This scrape's order, kept once it departs from the previous one.
    order: Vec<Seen>,
    /// New series of this scrape: key, tracked, dropped.
    new: Vec<(u128, bool, bool)>,
}

impl SeriesCache {
    pub fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            slots: Vec::new(),
            index: None,
            iteration: 0,
            cursor: 0,
            in_order: true,
            order: Vec::new(),
            new: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The key of a series text.
    pub fn key(&self, series: &[u8]) -> u128 {
        let check = rustc_hash::FxBuildHasher.hash_one(series);
        (u128::from(check) << 64) | u128::from(self.hasher.hash_one(series))
    }

    /// The key of a series given in parts (a name and its label pairs), hashed as one
    /// text with each part ended by a byte UTF-8 never has, so parts cannot run together.
    pub fn key_of_parts(&self, parts: &[&[u8]]) -> u128 {
        let mut secret = self.hasher.build_hasher();
        let mut check = rustc_hash::FxHasher::default();
        for part in parts {
            secret.write(part);
            secret.write_u8(0xff);
            check.write(part);
            check.write_u8(0xff);
        }
        (u128::from(check.finish()) << 64) | u128::from(secret.finish())
    }

    /// Starts a scrape.
    pub fn begin(&mut self) {
        self.iteration = self.iteration.wrapping_add(1);
        self.cursor = 0;
        self.in_order = true;
        self.order.clear();
        self.new.clear();
    }

    fn depart(&mut self) {
        if self.in_order {
            self.in_order = false;
            self.order.extend((0..self.cursor).map(Seen::Old));
        }
    }

    /// The place of a key in `slots`, from the index (built now if it is not there).
    fn find(&mut self, key: u128) -> Option<usize> {
        let slots = &self.slots;
        let index = self.index.get_or_insert_with(|| {
            let mut index =
                HashMap::with_capacity_and_hasher(slots.len(), BuildHasherDefault::default());
            for (p, slot) in slots.iter().enumerate() {
                index.entry(join(slot.key)).or_insert(p as u32);
            }
            index
        });
        index.get(&key).map(|&p| p as usize)
    }

    /// Looks a series up; `tracked`: whether it would get a staleness marker.
    pub fn lookup(&mut self, key: u128, tracked: bool) -> Lookup {
        let position = match self.slots.get(self.cursor) {
            Some(slot) if self.in_order && slot.key == split(key) => Some(self.cursor),
            _ => {
                self.depart();
                self.find(key)
            }
        };
        let Some(p) = position else {
            return Lookup::Miss;
        };
        if !self.in_order {
            self.order.push(Seen::Old(p));
        }
        self.cursor = p + 1;
        let slot = &mut self.slots[p];
        slot.seen = self.iteration;
        slot.tracked = tracked;
        if slot.series_ref == DROPPED {
            Lookup::Dropped
        } else {
            Lookup::Hit(slot.series_ref)
        }
    }

    /// Records a new series (its ref comes in [`SeriesCache::finish`]).
    pub fn add(&mut self, key: u128, tracked: bool) {
        self.push_new(key, tracked, false);
    }

    /// Records a new series that metric relabeling drops.
    pub fn add_dropped(&mut self, key: u128) {
        self.push_new(key, false, true);
    }

    fn push_new(&mut self, key: u128, tracked: bool, dropped: bool) {
        self.depart();
        self.order.push(Seen::New(self.new.len()));
        self.new.push((key, tracked, dropped));
    }

    /// Ends a successful scrape: `refs` are the storage refs of the series added with
    /// [`SeriesCache::add`], in order. Returns the refs of tracked series the previous
    /// scrape had and this one has not (they get staleness markers).
    pub fn finish(&mut self, refs: &[u64]) -> Vec<u64> {
        if self.in_order && self.cursor == self.slots.len() {
            return Vec::new();
        }
        let iteration = self.iteration;
        let vanished: Vec<u64> = self
            .slots
            .iter()
            .filter(|s| s.seen != iteration && s.tracked && s.series_ref != DROPPED)
            .map(|s| s.series_ref)
            .collect();
        self.depart();
        let mut refs = refs.iter();
        let new_refs: Vec<u64> = self
            .new
            .iter()
            .map(|(_, _, dropped)| {
                if *dropped {
                    DROPPED
                } else {
                    refs.next().copied().unwrap_or(DROPPED)
                }
            })
            .collect();
        let mut slots = Vec::with_capacity(self.order.len());
        let mut placed: HashMap<u128, (), BuildHasherDefault<PassThrough>> =
            HashMap::with_capacity_and_hasher(self.order.len(), BuildHasherDefault::default());
        for seen in &self.order {
            let slot = match *seen {
                Seen::Old(p) => self.slots[p],
                Seen::New(n) => {
                    let (key, tracked, _) = self.new[n];
                    Slot {
                        key: split(key),
                        series_ref: new_refs[n],
                        seen: iteration,
                        tracked,
                    }
                }
            };
            // A series written twice in one scrape keeps its first place.
            if placed.insert(join(slot.key), ()).is_none() {
                slots.push(slot);
            }
        }
        slots.shrink_to_fit();
        self.slots = slots;
        // Places changed: the index is built again when next needed. The scratch lists
        // are let go too, as they hold an entry per series of the target.
        self.index = None;
        self.order = Vec::new();
        self.new = Vec::new();
        vanished
    }

    /// A failed scrape (or the end of the target): the refs of every tracked series of the
    /// last successful scrape; they are not reported again until seen again.
    pub fn end_all(&mut self) -> Vec<u64> {
        let mut out = Vec::new();
        for s in &mut self.slots {
            if s.tracked && s.series_ref != DROPPED {
                out.push(s.series_ref);
            }
            s.tracked = false;
        }
        self.order.clear();
        self.new.clear();
        out
    }

    /// Forgets the series with these refs (storage no longer has them).
    pub fn forget(&mut self, gone: &[u64]) {
        self.slots.retain(|s| !gone.contains(&s.series_ref));
        self.index = None;
    }

    /// Points the series with this key at a new ref (storage no longer had the old one;
    /// the series was appended again by labels).
    pub fn relink(&mut self, key: u128, series_ref: u64) {
        if let Some(slot) = self.find(key).and_then(|p| self.slots.get_mut(p)) {
            slot.series_ref = series_ref;
        }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.index = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(
        cache: &mut SeriesCache,
        series: &[&str],
        next_ref: &mut u64,
    ) -> (Vec<Lookup>, Vec<u64>) {
        cache.begin();
        let mut seen = Vec::new();
        let mut added = 0;
        for s in series {
            let key = cache.key(s.as_bytes());
            let l = cache.lookup(key, true);
            if l == Lookup::Miss {
                if s.starts_with("drop") {
                    cache.add_dropped(key);
                } else {
                    cache.add(key, true);
                    added += 1;
                }
            }
            seen.push(l);
        }
        let refs: Vec<u64> = (0..added).map(|i| *next_ref + i).collect();
        *next_ref += added;
        let gone = cache.finish(&refs);
        (seen, gone)
    }

    #[test]
    fn a_slot_is_32_bytes() {
        // A slot per series of every target: 48 bytes with a `u128` key.
        assert_eq!(std::mem::size_of::<Slot>(), 32);
    }

    #[test]
    fn a_target_in_the_same_order_needs_no_index() {
        let mut cache = SeriesCache::new();
        let mut next = 1;
        scrape(&mut cache, &["a", "b", "c"], &mut next);
        assert!(cache.index.is_none());
        scrape(&mut cache, &["a", "b", "c"], &mut next);
        assert!(cache.index.is_none());
        // A departure builds it; the new order drops it again.
        cache.begin();
        let key = cache.key(b"c");
        assert_eq!(cache.lookup(key, true), Lookup::Hit(3));
        assert!(cache.index.is_some());
        cache.finish(&[]);
        assert!(cache.index.is_none());
    }

    #[test]
    fn follows_the_target_as_it_changes() {
        let mut cache = SeriesCache::new();
        let mut next = 1;
        let (first, gone) = scrape(&mut cache, &["a", "b", "drop_c", "d"], &mut next);
        assert!(first.iter().all(|l| *l == Lookup::Miss));
        assert!(gone.is_empty());
        // Same order: all hits, in place.
        let (second, gone) = scrape(&mut cache, &["a", "b", "drop_c", "d"], &mut next);
        assert_eq!(
            second,
            [
                Lookup::Hit(1),
                Lookup::Hit(2),
                Lookup::Dropped,
                Lookup::Hit(3)
            ]
        );
        assert!(gone.is_empty());
        // Reordered, one new, one gone.
        let (third, gone) = scrape(&mut cache, &["d", "e", "a"], &mut next);
        assert_eq!(third, [Lookup::Hit(3), Lookup::Miss, Lookup::Hit(1)]);
        assert_eq!(gone, [2]);
        assert_eq!(cache.len(), 3);
        // The new order sticks.
        let (fourth, gone) = scrape(&mut cache, &["d", "e", "a"], &mut next);
        assert_eq!(fourth, [Lookup::Hit(3), Lookup::Hit(4), Lookup::Hit(1)]);
        assert!(gone.is_empty());
        // A failed scrape ends everything once.
        cache.begin();
        let mut all = cache.end_all();
        all.sort();
        assert_eq!(all, [1, 3, 4]);
        let (_, gone) = scrape(&mut cache, &["d"], &mut next);
        assert!(gone.is_empty(), "already ended: {gone:?}");
        // Forgotten refs are looked up again.
        cache.forget(&[3]);
        let (fifth, _) = scrape(&mut cache, &["d"], &mut next);
        assert_eq!(fifth, [Lookup::Miss]);
    }
}
