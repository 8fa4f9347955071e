//! Truncating the head after a block cut: chunks now in a block are dropped, series left
//! without samples are removed from every table, and label strings no series uses any
//! more are given back.

use std::collections::HashSet;

use super::{Head, Symbols, XorChunk};

impl Head {
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
}
