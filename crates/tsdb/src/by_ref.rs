//! A table indexed by series ref, for start-up's per-series bookkeeping (the spill files'
//! scan, the recovered chains, the samples replay drops).
//!
//! Refs are handed out in order and a scrape's series are created together, so a file of
//! records or a WAL record visits refs in runs: an array keeps those visits in order in
//! memory, where a hash map puts each one behind a cache miss (the scan of a million
//! series' spill files spent most of its time in hash probes). The array is in pages,
//! allocated when a ref in their range is first set, so refs spread by churn (a long-lived
//! head's refs may run far past its live series) cost only the pages they touch.

const PAGE_BITS: u32 = 12;
const PAGE: usize = 1 << PAGE_BITS;
/// Refs above this are not kept (the head's postings hold refs as u32).
const MAX_REF: u64 = u32::MAX as u64;

/// Values of `T` by series ref, `T::default()` where none was set.
pub(crate) struct ByRef<T> {
    pages: Vec<Option<Box<[T]>>>,
}

impl<T> Default for ByRef<T> {
    fn default() -> Self {
        Self { pages: Vec::new() }
    }
}

impl<T: Copy + Default> ByRef<T> {
    #[inline]
    fn place(r: u64) -> Option<(usize, usize)> {
        if r == 0 || r > MAX_REF {
            return None;
        }
        let i = (r - 1) as usize;
        Some((i >> PAGE_BITS, i & (PAGE - 1)))
    }

    /// The value of ref `r` (`None`: never set, or not a ref this table keeps).
    #[inline]
    pub fn get(&self, r: u64) -> Option<&T> {
        let (page, slot) = Self::place(r)?;
        self.pages.get(page)?.as_ref().map(|p| &p[slot])
    }

    /// The value of ref `r` to change, if its page exists.
    #[inline]
    pub fn get_mut(&mut self, r: u64) -> Option<&mut T> {
        let (page, slot) = Self::place(r)?;
        self.pages.get_mut(page)?.as_mut().map(|p| &mut p[slot])
    }

    /// The value of ref `r` to set, its page allocated if needed; `None` for refs the table
    /// does not keep (0, or above u32).
    #[inline]
    pub fn slot(&mut self, r: u64) -> Option<&mut T> {
        let (page, slot) = Self::place(r)?;
        if self.pages.len() <= page {
            self.pages.resize_with(page + 1, || None);
        }
        let page = self.pages[page].get_or_insert_with(|| vec![T::default(); PAGE].into());
        Some(&mut page[slot])
    }

    /// Whether no ref was ever set.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Every ref of an allocated page with its value, in ref order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.pages
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .flat_map(|(i, p)| {
                p.iter()
                    .enumerate()
                    .map(move |(j, v)| (((i << PAGE_BITS) + j) as u64 + 1, v))
            })
    }
}

impl<T: Copy> ByRef<Option<T>> {
    /// The refs that hold a value, with it, in ref order.
    pub fn present(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        self.iter().filter_map(|(r, v)| v.map(|v| (r, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_far_apart_cost_only_their_pages() {
        let mut t: ByRef<u32> = ByRef::default();
        assert_eq!(t.get(5), None);
        *t.slot(5).unwrap() = 7;
        *t.slot(40_000_000).unwrap() = 9;
        assert!(t.slot(0).is_none() && t.slot(u64::from(u32::MAX) + 1).is_none());
        assert_eq!(
            (t.get(5), t.get(6), t.get(40_000_000)),
            (Some(&7), Some(&0), Some(&9))
        );
        assert_eq!(t.get(40_000_000 - PAGE as u64 * 2), None);
        assert_eq!(t.pages.iter().filter(|p| p.is_some()).count(), 2);
        let set: Vec<(u64, u32)> = t
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(r, v)| (r, *v))
            .collect();
        assert_eq!(set, [(5, 7), (40_000_000, 9)]);
        *t.get_mut(5).unwrap() += 1;
        assert_eq!(t.get(5), Some(&8));
        let mut o: ByRef<Option<u32>> = ByRef::default();
        assert!(o.is_empty());
        *o.slot(3).unwrap() = Some(1);
        assert!(!o.is_empty());
        assert_eq!(o.present().collect::<Vec<_>>(), [(3, 1)]);
    }
}
