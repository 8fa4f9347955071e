//! Taking back an append batch whose WAL write failed.
//!
//! A batch's samples go into the head before the WAL write (the checks that decide which
//! samples are stored need the head as each earlier sample of the batch left it), under
//! the head's write lock, which is held until the write returns. If the write fails, the
//! batch's samples are removed again before the lock is released: no query ever saw them,
//! and none is kept in memory that a restart would not bring back. The cost is paid only
//! on failure; the append path does no extra work for it.

use rustc_hash::FxHashMap;

use super::{ChunkDisk, Head, MemSeries, SpillTo};
use model::histogram::HistogramValue;

use crate::chunk::histogram::{FloatHistogramIter, HistogramIter};
use crate::chunk::{Encoding, XorChunk, XorIter};

impl Head {
    /// Removes what one batch appended: `in_order` as `(ref, t)` in append order,
    /// `late` the out-of-order samples as `(ref, t)`; `max_t_before` is the head's newest
    /// time before the batch.
    pub(crate) fn roll_back(
        &mut self,
        in_order: impl Iterator<Item = (u64, i64)>,
        late: impl Iterator<Item = (u64, i64)>,
        max_t_before: i64,
    ) {
        // In-order appends only ever add samples newer than a series' newest, so a
        // series' samples from the batch are exactly those from its first one on.
        let mut first: FxHashMap<u64, i64> = FxHashMap::default();
        for (r, t) in in_order {
            first.entry(r).or_insert(t);
        }
        let range = self.chunk_range;
        let disk = self.disk.clone();
        for (r, from) in first {
            if let Some(Some(s)) = (r as usize)
                .checked_sub(1)
                .and_then(|i| self.series.get_mut(i))
                .map(Option::as_deref_mut)
            {
                s.truncate_from(
                    from,
                    range,
                    SpillTo {
                        disk: disk.as_deref(),
                        series: r,
                    },
                );
            }
        }
        let mut taken: FxHashMap<u64, Vec<i64>> = FxHashMap::default();
        for (r, t) in late {
            taken.entry(r).or_default().push(t);
        }
        if !taken.is_empty() {
            self.ooo
                .remove_taken(taken.into_iter().map(|(r, mut times)| {
                    times.sort_unstable();
                    (r, times)
                }));
        }
        self.max_t = max_t_before;
    }
}

/// The samples of a chunk before `from`, in a chunk of the same kind.
fn keep_before(bytes: &[u8], from: i64) -> Option<XorChunk> {
    let mut kept = XorChunk::like(bytes);
    let mut iter = XorIter::from_bytes(bytes)?;
    while let Some((t, v, st)) = iter.next_st() {
        if t >= from {
            break;
        }
        kept.append_st(t, v, st);
    }
    Some(kept)
}

impl MemSeries {
    /// Drops every sample at or after `from` (all of them came from the batch being
    /// taken back, so they are in the open chunk and in chunks the batch closed).
    fn truncate_from(&mut self, from: i64, chunk_range: i64, to: SpillTo<'_>) {
        let disk = to.disk;
        let histograms_involved = self.open_hist.is_some()
            || self
                .closed
                .newest_first(disk)
                .take_while(|c| c.max_t >= from)
                .any(|c| c.encoding.is_histogram());
        if histograms_involved {
            self.truncate_mixed_from(from, chunk_range, to);
            return;
        }
        if !self.open.is_empty() && self.max_t >= from {
            let bytes = self.open.bytes();
            self.open = if self.open_min_t() < from {
                keep_before(&bytes, from).unwrap_or_else(|| XorChunk::like(&bytes))
            } else {
                XorChunk::like(&bytes)
            };
        }
        // Chunks the batch filled and closed: the one that was open before the batch
        // becomes the open chunk again, with its older samples.
        while self.open.is_empty() {
            let Some(last) = self.closed.last(disk) else {
                break;
            };
            if last.max_t < from {
                break;
            }
            let Some(c) = self.closed.pop(disk) else {
                break;
            };
            if c.min_t >= from {
                continue;
            }
            match c.bytes(disk) {
                Ok(bytes) => {
                    if let Some(kept) = keep_before(&bytes, from) {
                        self.open = kept;
                    }
                }
                Err(e) => {
                    // Only a spill file that cannot be read back: the chunk's older
                    // samples go with it (logged; queries would have missed them too).
                    tracing::error!(err = %e, "reading a head chunk back to take back a failed append failed; its older samples are dropped");
                }
            }
            break;
        }
        self.refresh_last(disk);
    }

    /// `truncate_from` where histogram chunks are among those to cut: every chunk that
    /// reaches `from` is decoded, dropped, and its samples before `from` appended again.
    fn truncate_mixed_from(&mut self, from: i64, chunk_range: i64, to: SpillTo<'_>) {
        let disk = to.disk;
        enum Kept {
            Float(f64, i64),
            Histogram(HistogramValue, i64),
        }
        let mut reopened: Vec<(Encoding, Vec<u8>)> = Vec::new();
        if let Some(h) = self.open_hist.take() {
            reopened.push((h.encoding(), h.bytes()));
        } else if !self.open.is_empty() {
            let bytes = self.open.bytes();
            self.open = XorChunk::like(&bytes);
            reopened.push((Encoding::of_float_chunk(&bytes), bytes));
        }
        while self.closed.last(disk).is_some_and(|c| c.max_t >= from) {
            let Some(c) = self.closed.pop(disk) else {
                break;
            };
            match c.bytes(disk) {
                Ok(bytes) => reopened.push((c.encoding, bytes.into_owned())),
                Err(e) => {
                    tracing::error!(err = %e, "reading a head chunk back to take back a failed append failed; its older samples are dropped");
                }
            }
        }
        let mut kept: Vec<(i64, Kept)> = Vec::new();
        for (encoding, bytes) in reopened.iter().rev() {
            match encoding {
                Encoding::Xor | Encoding::XorWithStarts | Encoding::Packed => {
                    for (t, v, st) in
                        crate::chunk::decode_floats(*encoding, bytes).unwrap_or_default()
                    {
                        kept.push((t, Kept::Float(v, st)));
                    }
                }
                histogram => {
                    let Some((plain, bytes, starts)) = histogram.split_starts(bytes) else {
                        continue;
                    };
                    let st = |i: usize| starts.get(i).copied().unwrap_or(0);
                    if plain == Encoding::Histogram {
                        for (i, (t, h)) in HistogramIter::from_bytes(bytes)
                            .into_iter()
                            .flatten()
                            .enumerate()
                        {
                            kept.push((t, Kept::Histogram(HistogramValue::Int(h), st(i))));
                        }
                    } else {
                        for (i, (t, h)) in FloatHistogramIter::from_bytes(bytes)
                            .into_iter()
                            .flatten()
                            .enumerate()
                        {
                            kept.push((t, Kept::Histogram(HistogramValue::Float(h), st(i))));
                        }
                    }
                }
            }
        }
        kept.retain(|(t, _)| *t < from);
        self.refresh_last(disk);
        for (t, sample) in kept {
            match sample {
                Kept::Float(v, st) => self.append(t, v, st, chunk_range, to, true),
                Kept::Histogram(h, st) => self.append_histogram(t, &h, st, chunk_range, to, true),
            }
        }
        if self.open.is_empty() && self.open_hist.is_none() {
            self.refresh_last(disk);
        }
    }

    /// Sets `max_t` and `last_bits` from the newest sample held.
    pub(super) fn refresh_last(&mut self, disk: Option<&ChunkDisk>) {
        if let Some(c) = self.closed.last(disk).filter(|c| c.encoding.is_histogram()) {
            if self.open.is_empty() && self.open_hist.is_none() {
                let last = c.bytes(disk).ok().and_then(|bytes| {
                    let (plain, bytes, _) = c.encoding.split_starts(&bytes)?;
                    match plain {
                        Encoding::Histogram => HistogramIter::from_bytes(bytes)?
                            .last()
                            .map(|(t, h)| (t, HistogramValue::Int(h))),
                        _ => FloatHistogramIter::from_bytes(bytes)?
                            .last()
                            .map(|(t, h)| (t, HistogramValue::Float(h))),
                    }
                });
                (self.max_t, self.last_bits) = match last {
                    Some((t, h)) => (t, super::series::histogram_identity(&h)),
                    None => (c.max_t, 0),
                };
                return;
            }
        }
        let last_of = |iter: Option<XorIter<'_>>| {
            let mut last = None;
            if let Some(mut iter) = iter {
                while let Some((t, v, _)) = iter.next_st() {
                    last = Some((t, v));
                }
            }
            last
        };
        let last = if !self.open.is_empty() {
            last_of(Some(self.open.iter()))
        } else if let Some(c) = self.closed.last(disk) {
            match c.bytes(disk) {
                Ok(bytes) => last_of(XorIter::from_bytes(&bytes)),
                // The time is known; the value only serves to tell an identical repeat
                // from a conflicting one.
                Err(_) => Some((c.max_t, f64::NAN)),
            }
        } else {
            None
        };
        (self.max_t, self.last_bits) = match last {
            Some((t, v)) => (t, v.to_bits()),
            None => (i64::MIN, 0),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::Labels;

    use super::super::Head;
    use crate::head_chunks::ChunkDisk;

    fn all(head: &Head, r: u64) -> Vec<(i64, f64)> {
        let s = head.series(r).unwrap();
        head.samples_of(r, s, i64::MIN, i64::MAX).points
    }

    /// Appends `times` as a batch would, then takes them back: the series must be as
    /// before, and take further appends as before.
    fn round_trip(
        head: &mut Head,
        r: u64,
        before: std::ops::Range<i64>,
        batch: std::ops::Range<i64>,
    ) {
        for t in before.clone() {
            assert_eq!(head.check(r, t, t as f64), Ok(true));
            head.append(r, t, t as f64, 0);
        }
        let kept = all(head, r);
        let max_before = head.max_t;
        for t in batch.clone() {
            assert_eq!(head.check(r, t, t as f64), Ok(true));
            head.append(r, t, t as f64, 0);
        }
        head.roll_back(
            batch.clone().map(|t| (r, t)),
            std::iter::empty(),
            max_before,
        );
        assert_eq!(all(head, r), kept);
        assert_eq!(head.max_t, max_before);
        if let Some(last) = before.clone().last() {
            // The newest sample is known again: an identical repeat, a conflicting one.
            assert_eq!(head.check(r, last, last as f64), Ok(false));
            assert!(head.check(r, last, -1.0).is_err());
        }
        for t in batch.clone() {
            head.append(r, t, t as f64, 0);
        }
        let mut want = kept;
        want.extend(batch.map(|t| (t, t as f64)));
        assert_eq!(all(head, r), want);
    }

    #[test]
    fn a_batch_that_closed_chunks_is_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        for spill in [false, true] {
            let mut head = Head::new(1_000_000);
            if spill {
                head.spill_to(Arc::new(
                    ChunkDisk::open(&dir.path().join("spill")).unwrap(),
                ));
            }
            let mut r = |name: &str| head_ref(&mut head, name);
            let (a, b, c, d) = (r("a"), r("b"), r("c"), r("d"));
            // Within the open chunk; closing it (120 samples); closing several; a new series.
            round_trip(&mut head, a, 0..100, 100..110);
            round_trip(&mut head, b, 0..115, 115..130);
            round_trip(&mut head, c, 0..50, 50..400);
            round_trip(&mut head, d, 0..0, 0..10);
        }
    }

    #[test]
    fn a_batch_crossing_a_block_boundary_is_taken_back() {
        let mut head = Head::new(100);
        let r = head_ref(&mut head, "a");
        round_trip(&mut head, r, 0..90, 90..150);
    }

    #[test]
    fn late_samples_are_taken_back() {
        let mut head = Head::new(1_000_000);
        let r = head_ref(&mut head, "a");
        for t in 100..110 {
            head.append(r, t, 1.0, 0);
        }
        let before = head.max_t;
        for t in [50, 60] {
            assert_eq!(
                head.append_out_of_order(r, (t, 2.0, 0), 1000, crate::Rejection::OutOfOrder),
                Ok(true)
            );
        }
        head.roll_back(std::iter::empty(), [(r, 50), (r, 60)].into_iter(), before);
        assert_eq!(all(&head, r).len(), 10);
        assert!(!head.ooo.contains(r));
    }

    fn head_ref(head: &mut Head, name: &str) -> u64 {
        head.get_or_create(&Labels::from_pairs([("__name__", name)]))
            .0
    }
}
