//! What a block cut reads from the head: every series' label set, copied out flat so that
//! they are put in order without holding the head's lock, and then each series' chunks in
//! the cut's range, fetched a batch of series at a time.
//!
//! A cut used to copy every series' chunk references at once: 48 bytes per chunk, which at
//! a million series and 32-sample chunks is half a gigabyte per half hour of head (two
//! gigabytes for Prometheus's default two-hour blocks), all held until the block was
//! written. Fetched per batch, only the label sets (a few dozen bytes per series, in two
//! allocations for all of them) live for the whole cut.

use std::sync::Arc;

use super::{Head, HeadChunk};

/// One series' place in [`LabelSets`].
struct Entry {
    r: u64,
    start: usize,
    len: usize,
}

/// The label sets of the head's series at one moment, as symbol ids with the symbol table
/// they refer to (ids stay valid after the lock is released: see `Symbols::snapshot`).
pub(crate) struct LabelSets {
    symbols: Vec<Arc<str>>,
    ids: Vec<u32>,
    entries: Vec<Entry>,
}

impl LabelSets {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The text of a symbol id ("" for an id the table lacks).
    pub fn text(&self, id: u32) -> &str {
        symbol_text(&self.symbols, id)
    }

    /// The `i`-th series: its ref, and its labels as ids (name, value, name, value, …).
    pub fn get(&self, i: usize) -> Option<(u64, &[u32])> {
        let e = self.entries.get(i)?;
        Some((e.r, self.ids.get(e.start..e.start + e.len)?))
    }

    /// Puts the series in label-set order (compared as text, as blocks hold them).
    pub fn sort(&mut self) {
        let (symbols, ids) = (&self.symbols, &self.ids);
        let pairs = |e: &Entry| {
            ids[e.start..e.start + e.len]
                .chunks_exact(2)
                .map(|p| (symbol_text(symbols, p[0]), symbol_text(symbols, p[1])))
        };
        self.entries.sort_unstable_by(|a, b| pairs(a).cmp(pairs(b)));
    }
}

fn symbol_text(symbols: &[Arc<str>], id: u32) -> &str {
    symbols.get(id as usize).map_or("", |s| s)
}

impl Head {
    /// Every live series' label set (see [`LabelSets`]).
    pub fn label_sets(&self) -> LabelSets {
        let mut ids = Vec::with_capacity(self.live * 8);
        let mut entries = Vec::with_capacity(self.live);
        for (index, s) in self.series.iter().enumerate() {
            let Some(s) = s.as_deref() else { continue };
            entries.push(Entry {
                r: index as u64 + 1,
                start: ids.len(),
                len: s.labels.len(),
            });
            ids.extend_from_slice(&s.labels);
        }
        LabelSets {
            symbols: self.symbols.snapshot(),
            ids,
            entries,
        }
    }

    /// Series `r`'s chunks holding samples in `[mint, maxt)` (none when it is gone); an
    /// error when a spilled chunk cannot be read (see `MemSeries::chunks_in`).
    pub fn chunks_of(&self, r: u64, mint: i64, maxt: i64) -> std::io::Result<Vec<HeadChunk>> {
        match self.series(r) {
            Some(s) => s.chunks_in(mint, maxt, self.disk.as_deref()),
            None => Ok(Vec::new()),
        }
    }
}
