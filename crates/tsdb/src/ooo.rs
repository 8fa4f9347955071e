//! The out-of-order head: samples older than their series' newest sample, accepted when
//! they are within the out-of-order time window of the head's newest sample
//! (Prometheus's `storage.tsdb.out_of_order_time_window`).
//!
//! Why apart from the series' chunks: those are append-only XOR chunks, cut at block
//! boundaries, and the hot scrape path only ever compares a sample with the series'
//! newest. Late samples land anywhere in the window, so they are kept here, per series,
//! sorted: a few recent inserts uncompressed, the rest in XOR chunks that do not overlap
//! each other (a late sample typically lands near the others, so merging the buffer in
//! re-encodes one or two chunks). Series without late samples have no entry and pay
//! nothing; the map is consulted only when it is not empty.
//!
//! Durability: accepted samples are logged as out-of-order WAL records (types 5 and 6)
//! before they are acknowledged, and replayed here. They reach blocks when the head is
//! cut: samples inside the cut range are merged into the block being cut, older ones
//! (older than the newest block) are written as blocks of their own per block range,
//! which the compaction planner merges with the blocks they overlap.
//!
//! Flush markers: a cut copies the samples below its boundary when it starts and drops
//! them from here when its blocks are written, while late samples below the boundary may
//! keep arriving in between (they stay for the next cut). The WAL says which samples a
//! cut took with two markers: "started below T" (logged, and the WAL segment cut, in the
//! same critical section as the copy) and "done below T". Replay repeats what happened:
//! at a start marker it notes the samples below T it holds, at the matching done marker
//! it drops exactly those; a start without a done (a crash or a failed write) drops
//! nothing. Checkpoints fold only segments logged before the latest cut started, so they
//! drop out-of-order samples below its boundary (all in blocks) and the markers.

use std::io;
use std::path::Path;

use model::Labels;
use rustc_hash::FxHashMap;

use crate::block::{BlockMeta, BlockWriter};
use crate::chunk::{SampleBuf, XorChunk, XorIter, SAMPLES_PER_CHUNK};
use crate::head::{Head, Rejection};

/// A sample: timestamp, value, start timestamp (0: none).
pub(crate) type Sample = (i64, f64, i64);

/// Inserts kept uncompressed before they are merged into a series' chunks (Prometheus's
/// default `out_of_order_cap_max`).
const BUFFER: usize = 32;

/// A compressed run of a series' out-of-order samples.
struct OooChunk {
    min_t: i64,
    max_t: i64,
    /// Samples held, so that a cut that took them all drops the chunk undecoded.
    len: usize,
    bytes: Box<[u8]>,
}

impl OooChunk {
    fn decode_into(&self, out: &mut Vec<Sample>) {
        if let Some(mut iter) = XorIter::from_bytes(&self.bytes) {
            while let Some(s) = iter.next_st() {
                out.push(s);
            }
        }
    }

    fn decode(&self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(usize::from(SAMPLES_PER_CHUNK));
        self.decode_into(&mut out);
        out
    }
}

/// Encodes sorted samples as XOR chunks of at most 120 samples: (min t, max t, bytes).
/// A chunk stores start timestamps only when one of its samples has one.
pub(crate) fn encode(samples: &[Sample]) -> Vec<(i64, i64, Vec<u8>)> {
    samples
        .chunks(usize::from(SAMPLES_PER_CHUNK))
        .filter_map(|part| {
            let (first, last) = (part.first()?, part.last()?);
            let mut chunk = if part.iter().any(|s| s.2 != 0) {
                XorChunk::with_starts()
            } else {
                XorChunk::new()
            };
            for &(t, v, st) in part {
                chunk.append_st(t, v, st);
            }
            Some((first.0, last.0, chunk.bytes()))
        })
        .collect()
}

/// Sorted samples as the fewest chunks of at most 120 samples, of even sizes (121
/// samples: 61 and 60), for chunks that will take more inserts.
fn even_chunks(samples: &[Sample]) -> Vec<OooChunk> {
    let per_chunk = usize::from(SAMPLES_PER_CHUNK);
    let parts = samples.len().div_ceil(per_chunk).max(1);
    chunks_of(samples, samples.len().div_ceil(parts))
}

/// Chunks of at most `per_chunk` samples each.
fn chunks_of(samples: &[Sample], per_chunk: usize) -> Vec<OooChunk> {
    samples
        .chunks(per_chunk.max(1))
        .flat_map(|part| {
            encode(part)
                .into_iter()
                .map(move |(min_t, max_t, bytes)| OooChunk {
                    min_t,
                    max_t,
                    len: part.len(),
                    bytes: bytes.into_boxed_slice(),
                })
        })
        .collect()
}

/// Merges two sorted runs; on equal timestamps only `a`'s sample is kept.
fn merge(a: &[Sample], b: &[Sample]) -> Vec<Sample> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.0.cmp(&y.0) {
            std::cmp::Ordering::Less => {
                out.push(*x);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(*y);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(*x);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(a.get(i..).unwrap_or(&[]));
    out.extend_from_slice(b.get(j..).unwrap_or(&[]));
    out
}

/// One series' out-of-order samples.
#[derive(Default)]
pub(crate) struct OooSeries {
    /// Sorted by time, not overlapping each other.
    chunks: Vec<OooChunk>,
    /// Recent inserts, sorted by time, at most [`BUFFER`]; no timestamp is in both.
    buf: Vec<Sample>,
}

impl OooSeries {
    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.buf.is_empty()
    }

    pub fn min_t(&self) -> Option<i64> {
        let chunk = self.chunks.first().map(|c| c.min_t);
        let buf = self.buf.first().map(|s| s.0);
        chunk.into_iter().chain(buf).min()
    }

    pub fn max_t(&self) -> Option<i64> {
        let chunk = self.chunks.last().map(|c| c.max_t);
        let buf = self.buf.last().map(|s| s.0);
        chunk.into_iter().chain(buf).max()
    }

    /// The value held for `t`, if any.
    fn value_at(&self, t: i64) -> Option<f64> {
        if let Ok(i) = self.buf.binary_search_by_key(&t, |s| s.0) {
            return self.buf.get(i).map(|s| s.1);
        }
        let i = self.chunks.partition_point(|c| c.max_t < t);
        let c = self.chunks.get(i).filter(|c| c.min_t <= t)?;
        let samples = c.decode();
        let j = samples.binary_search_by_key(&t, |s| s.0).ok()?;
        samples.get(j).map(|s| s.1)
    }

    /// Inserts a sample. `Ok(false)`: the same sample is there already; a different value
    /// at the same time is a [`Rejection::Duplicate`].
    fn insert(&mut self, t: i64, v: f64, st: i64) -> Result<bool, Rejection> {
        if let Some(old) = self.value_at(t) {
            return if old.to_bits() == v.to_bits() {
                Ok(false)
            } else {
                Err(Rejection::Duplicate)
            };
        }
        let at = self.buf.partition_point(|s| s.0 < t);
        self.buf.insert(at, (t, v, st));
        if self.buf.len() >= BUFFER {
            self.compact();
        }
        Ok(true)
    }

    /// Merges the buffer into the chunks, each buffered sample into the one chunk it
    /// belongs to: the chunk whose span holds it or, in a gap, the chunk before the gap
    /// (the first chunk for a sample before them all). So a compaction re-encodes at most
    /// [`BUFFER`] chunks whatever the series holds: merging the buffer's whole time span
    /// instead re-encoded every chunk of a series whose late samples come in random order
    /// (N²/32 work under the head's write lock). A chunk that grows past 120 samples is
    /// split evenly, so later inserts near it fit without a split of their own.
    fn compact(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        if self.chunks.is_empty() {
            self.chunks = even_chunks(&buf);
            return;
        }
        // (chunk index, its buffered samples); the buffer is sorted, so indices ascend.
        let mut groups: Vec<(usize, Vec<Sample>)> = Vec::new();
        for sample in buf {
            let i = self.chunks.partition_point(|c| c.max_t < sample.0);
            let dest = match self.chunks.get(i) {
                Some(c) if c.min_t <= sample.0 => i,
                _ => i.saturating_sub(1),
            };
            match groups.last_mut() {
                Some((d, samples)) if *d == dest => samples.push(sample),
                _ => groups.push((dest, vec![sample])),
            }
        }
        // From the last group, so that splitting a chunk leaves earlier indices valid.
        for (dest, samples) in groups.into_iter().rev() {
            let Some(chunk) = self.chunks.get(dest) else {
                continue;
            };
            let merged = merge(&chunk.decode(), &samples);
            self.chunks.splice(dest..=dest, even_chunks(&merged));
        }
    }

    /// Every sample with `mint <= t <= maxt`, sorted.
    fn samples(&self, mint: i64, maxt: i64) -> Vec<Sample> {
        let mut from_chunks = Vec::new();
        let first = self.chunks.partition_point(|c| c.max_t < mint);
        for c in self.chunks.get(first..).unwrap_or(&[]) {
            if c.min_t > maxt {
                break;
            }
            c.decode_into(&mut from_chunks);
        }
        from_chunks.retain(|s| s.0 >= mint && s.0 <= maxt);
        let lo = self.buf.partition_point(|s| s.0 < mint);
        let hi = self.buf.partition_point(|s| s.0 <= maxt).max(lo);
        merge(&from_chunks, self.buf.get(lo..hi).unwrap_or(&[]))
    }

    /// The newest sample with `mint <= t <= maxt`.
    fn last_in(&self, mint: i64, maxt: i64) -> Option<Sample> {
        let in_buf = self
            .buf
            .partition_point(|s| s.0 <= maxt)
            .checked_sub(1)
            .and_then(|i| self.buf.get(i).copied());
        let end = self.chunks.partition_point(|c| c.min_t <= maxt);
        let in_chunks = end
            .checked_sub(1)
            .and_then(|i| self.chunks.get(i))
            .and_then(|c| c.decode().into_iter().take_while(|s| s.0 <= maxt).last());
        let best = match (in_buf, in_chunks) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        best.filter(|s| s.0 >= mint)
    }

    /// Every sample below `below`, sorted.
    fn before(&self, below: i64) -> Vec<Sample> {
        self.samples(i64::MIN, below.saturating_sub(1))
    }

    /// Removes the samples at these timestamps (sorted). Chunks the cut took whole are
    /// dropped and chunks it did not touch kept, both without decoding (a cut usually
    /// takes whole chunks, and this runs under the head's write lock); only a chunk
    /// partly taken is re-encoded.
    fn remove(&mut self, times: &[i64]) {
        // A taken sample is in the buffer or in the one chunk whose span holds it; counted
        // against chunks, the buffer's would make a chunk look taken whole when it also
        // holds a sample that came later.
        let all_times = times;
        let in_buf = |t: &i64| self.buf.binary_search_by_key(t, |s| s.0).is_ok();
        let times: Vec<i64> = times.iter().copied().filter(|t| !in_buf(t)).collect();
        let times = times.as_slice();
        let in_span = |lo: i64, hi: i64| {
            let from = times.partition_point(|t| *t < lo);
            let to = times.partition_point(|t| *t <= hi).max(from);
            times.get(from..to).unwrap_or(&[])
        };
        let mut kept = Vec::with_capacity(self.chunks.len());
        for chunk in std::mem::take(&mut self.chunks) {
            let taken = in_span(chunk.min_t, chunk.max_t);
            if taken.is_empty() {
                kept.push(chunk);
            } else if taken.len() < chunk.len {
                let mut rest = chunk.decode();
                rest.retain(|s| taken.binary_search(&s.0).is_err());
                kept.extend(chunks_of(&rest, usize::from(SAMPLES_PER_CHUNK)));
            }
        }
        self.chunks = kept;
        self.buf.retain(|s| all_times.binary_search(&s.0).is_err());
    }
}

/// The samples below a cut's boundary, copied from the out-of-order head when the cut
/// started (see the module docs).
pub(crate) struct Flush {
    pub below: i64,
    /// Sorted by labels; samples sorted by time.
    pub series: Vec<FlushedSeries>,
}

pub(crate) struct FlushedSeries {
    pub r: u64,
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

impl FlushedSeries {
    /// The samples with `mint <= t < maxt`.
    pub fn range(&self, mint: i64, maxt: i64) -> &[Sample] {
        let lo = self.samples.partition_point(|s| s.0 < mint);
        let hi = self.samples.partition_point(|s| s.0 < maxt).max(lo);
        self.samples.get(lo..hi).unwrap_or(&[])
    }
}

/// The timestamps of each series' samples that a cut took (by series ref).
type Taken = Vec<(u64, Vec<i64>)>;

/// Every series' out-of-order samples, by series ref.
#[derive(Default)]
pub(crate) struct OooHead {
    series: FxHashMap<u64, OooSeries>,
    /// Replay only: the boundary of the last flush-started marker read, and the
    /// timestamps below it that each series held then.
    replay_started: Option<(i64, Taken)>,
}

impl OooHead {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Whether series `r` has out-of-order samples.
    #[inline]
    pub fn contains(&self, r: u64) -> bool {
        !self.series.is_empty() && self.series.contains_key(&r)
    }

    /// Series `r`'s samples with `mint <= t <= maxt`, sorted (empty if none).
    pub fn samples(&self, r: u64, mint: i64, maxt: i64) -> Vec<Sample> {
        if self.series.is_empty() {
            return Vec::new();
        }
        self.series
            .get(&r)
            .map_or_else(Vec::new, |s| s.samples(mint, maxt))
    }

    /// Series `r`'s newest sample with `mint <= t <= maxt`.
    pub fn last_in(&self, r: u64, mint: i64, maxt: i64) -> Option<Sample> {
        if self.series.is_empty() {
            return None;
        }
        self.series.get(&r)?.last_in(mint, maxt)
    }

    /// The time span of series `r`'s samples.
    pub fn span(&self, r: u64) -> Option<(i64, i64)> {
        if self.series.is_empty() {
            return None;
        }
        let s = self.series.get(&r)?;
        Some((s.min_t()?, s.max_t()?))
    }

    fn insert(&mut self, r: u64, t: i64, v: f64, st: i64) -> Result<bool, Rejection> {
        self.series.entry(r).or_default().insert(t, v, st)
    }

    /// Each series' samples below `below`, by ref.
    fn before(&self, below: i64) -> Vec<(u64, Vec<Sample>)> {
        let mut out: Vec<(u64, Vec<Sample>)> = self
            .series
            .iter()
            .map(|(r, s)| (*r, s.before(below)))
            .filter(|(_, samples)| !samples.is_empty())
            .collect();
        out.sort_unstable_by_key(|(r, _)| *r);
        out
    }

    /// Drops the samples a cut took (those it copied: samples that arrived below the
    /// boundary since stay for the next cut).
    pub(crate) fn remove_taken<'a>(&mut self, taken: impl Iterator<Item = (u64, Vec<i64>)> + 'a) {
        for (r, times) in taken {
            let Some(s) = self.series.get_mut(&r) else {
                continue;
            };
            s.remove(&times);
            if s.is_empty() {
                self.series.remove(&r);
            }
        }
    }

    /// Drops the samples of a finished cut.
    pub fn remove_flushed(&mut self, flush: &Flush) {
        self.remove_taken(
            flush
                .series
                .iter()
                .map(|s| (s.r, s.samples.iter().map(|x| x.0).collect())),
        );
    }

    /// Applies a flush marker read from the WAL (see the module docs).
    pub fn replay_marker(&mut self, below: i64, done: bool) {
        if !done {
            let held = self
                .before(below)
                .into_iter()
                .map(|(r, samples)| (r, samples.into_iter().map(|s| s.0).collect()))
                .collect();
            self.replay_started = Some((below, held));
            return;
        }
        match self.replay_started.take() {
            Some((started, held)) if started == below => self.remove_taken(held.into_iter()),
            // A done marker whose start was folded into a checkpoint: the checkpoint
            // kept none of those samples.
            other => self.replay_started = other,
        }
    }

    /// Ends replay: a flush that started and never finished took nothing.
    pub fn replay_finished(&mut self) {
        self.replay_started = None;
    }
}

impl Head {
    /// Tries a sample that the in-order checks refused (`refused`: out of order, or out
    /// of bounds) as an out-of-order sample: accepted when it is not older than the
    /// head's newest sample minus `window_ms`. `Ok(false)`: that exact sample is stored
    /// already. Off the hot path: in-order samples never come here.
    #[cold]
    pub fn append_out_of_order(
        &mut self,
        r: u64,
        (t, v, st): Sample,
        window_ms: i64,
        refused: Rejection,
    ) -> Result<bool, Rejection> {
        // An empty head has no newest sample to measure the window from (as in
        // Prometheus, whose head max time is then the minimum).
        if window_ms <= 0 || self.max_t == i64::MIN || t < self.max_t.saturating_sub(window_ms) {
            return Err(refused);
        }
        let Some(s) = self.series(r) else {
            return Err(refused);
        };
        // A timestamp the series' chunks hold already: same value, nothing to do; another
        // value, a conflicting duplicate. (So a series never has two samples at one time,
        // and queries and blocks need not choose.)
        if t <= s.max_t {
            let disk = self.disk();
            let held = s.samples(t, t, disk.as_deref());
            if let Some((_, old)) = held.points.first() {
                return if old.to_bits() == v.to_bits() {
                    Ok(false)
                } else {
                    Err(Rejection::Duplicate)
                };
            }
        }
        self.ooo.insert(r, t, v, st)
    }

    /// Replays out-of-order samples from the WAL (no window check: they were accepted
    /// when logged). Samples of unknown series are dropped, as in-order ones are.
    pub fn replay_out_of_order(
        &mut self,
        samples: &[(u64, i64, f64, i64)],
        orphans: &mut crate::head::Orphans,
    ) {
        for &(r, t, v, st) in samples {
            if self.contains(r) {
                // A repeat of a sample held already is what the log may contain after a
                // flush that never finished; nothing to do.
                let _ = self.ooo.insert(r, t, v, st);
            } else {
                orphans.add(r);
            }
        }
    }

    /// Copies the out-of-order samples below `below` with their series' labels, sorted
    /// by labels, for a cut.
    pub fn ooo_flush(&self, below: i64) -> Flush {
        let mut series: Vec<FlushedSeries> = self
            .ooo
            .before(below)
            .into_iter()
            .filter_map(|(r, samples)| {
                Some(FlushedSeries {
                    r,
                    labels: self.labels_of(self.series(r)?),
                    samples,
                })
            })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Flush { below, series }
    }

    /// Series `r`'s samples in `[mint, maxt]` from its chunks and its out-of-order
    /// samples, merged (a series' chunks win a tie, which appends never let happen).
    pub fn merge_out_of_order(&self, r: u64, mint: i64, maxt: i64, into: &mut SampleBuf) {
        let late = self.ooo.samples(r, mint, maxt);
        if late.is_empty() {
            return;
        }
        let mut extra = SampleBuf::default();
        for (t, v, st) in late {
            extra.push(t, v, st);
        }
        into.append(extra);
        into.sort_dedup();
    }
}

/// The chunks of one series for a block: its head chunks with out-of-order samples merged
/// in (decoded, merged, re-encoded; the head chunks win a tie).
pub(crate) fn merge_chunks(
    chunks: &[(i64, i64, std::borrow::Cow<'_, [u8]>)],
    late: &[Sample],
) -> Vec<(i64, i64, Vec<u8>)> {
    let mut samples = Vec::new();
    for (_, _, bytes) in chunks {
        if let Some(mut iter) = XorIter::from_bytes(bytes) {
            while let Some(s) = iter.next_st() {
                samples.push(s);
            }
        }
    }
    encode(&merge(&samples, late))
}

/// Writes the out-of-order samples below `before` as blocks of their own, one per aligned
/// `range` window that has samples (they overlap blocks written earlier; the compaction
/// planner merges overlapping blocks first).
pub(crate) fn write_old_blocks(
    dir: &Path,
    flush: &Flush,
    before: i64,
    range: i64,
) -> io::Result<Vec<BlockMeta>> {
    let range = range.max(1);
    // Per window, the series (in label order, as the flush is) and their samples there.
    let mut windows: std::collections::BTreeMap<i64, Vec<(&Labels, &[Sample])>> =
        std::collections::BTreeMap::new();
    for s in &flush.series {
        let mut rest = s.range(i64::MIN, before);
        while let Some(first) = rest.first() {
            let window = first.0.div_euclid(range);
            let end = window.saturating_add(1).saturating_mul(range);
            let n = rest.partition_point(|x| x.0 < end);
            let (part, tail) = rest.split_at(n);
            windows.entry(window).or_default().push((&s.labels, part));
            rest = tail;
        }
    }
    let mut out = Vec::new();
    for (window, series) in windows {
        let mint = window.saturating_mul(range);
        let mut writer = BlockWriter::create(dir, mint, mint.saturating_add(range))?;
        for (labels, samples) in series {
            let encoded = encode(samples);
            let refs: Vec<(i64, i64, &[u8])> = encoded
                .iter()
                .map(|(a, b, bytes)| (*a, *b, bytes.as_slice()))
                .collect();
            writer.add_series(labels, &refs)?;
        }
        if let Some(meta) = writer.finish(1, Vec::new())? {
            out.push(meta);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(s: &OooSeries) -> Vec<i64> {
        s.samples(i64::MIN, i64::MAX).iter().map(|x| x.0).collect()
    }

    #[test]
    fn series_stays_sorted_and_deduplicated_through_compaction() {
        let mut s = OooSeries::default();
        // Three interleaved passes over 0..300: chunks are merged and split repeatedly.
        for pass in 0..3 {
            for i in (pass..300).step_by(3) {
                assert_eq!(s.insert(i * 10, i as f64, 0), Ok(true));
            }
        }
        assert_eq!(times(&s), (0..300).map(|i| i * 10).collect::<Vec<_>>());
        assert!(s.buf.len() < BUFFER);
        assert!(s.chunks.windows(2).all(|w| w[0].max_t < w[1].min_t));
        // Repeats: same value ignored, another value refused, in chunks and in the buffer.
        assert_eq!(s.insert(50, 5.0, 0), Ok(false));
        assert_eq!(s.insert(50, 6.0, 0), Err(Rejection::Duplicate));
        assert_eq!(s.insert(5, 1.0, 0), Ok(true));
        assert_eq!(s.insert(5, 2.0, 0), Err(Rejection::Duplicate));
        assert_eq!(s.last_in(0, 2995), Some((2990, 299.0, 0)));
        assert_eq!(s.last_in(0, 7), Some((5, 1.0, 0)));
        assert_eq!(s.last_in(6, 9), None);
        assert_eq!(s.samples(15, 30).len(), 2);
        // Removing what a cut took keeps the rest.
        let taken: Vec<i64> = s.before(1000).iter().map(|x| x.0).collect();
        assert_eq!(taken.len(), 101);
        s.remove(&taken);
        assert_eq!(s.min_t(), Some(1000));
        assert_eq!(times(&s).len(), 200);
    }

    #[test]
    fn random_order_inserts_touch_few_chunks() {
        // A late sample per step of a 20,000-step window, in a scrambled order (a
        // multiplicative permutation of 0..n).
        let n: i64 = 20_000;
        let mut s = OooSeries::default();
        for i in 0..n {
            let t = (i * 7_919) % n;
            assert_eq!(s.insert(t * 1000, t as f64, 0), Ok(true));
        }
        let got = s.samples(i64::MIN, i64::MAX);
        assert_eq!(got.len(), n as usize);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, x)| x.0 == i as i64 * 1000 && x.1 == i as f64));
        assert!(s.chunks.windows(2).all(|w| w[0].max_t < w[1].min_t));
        // Chunks split evenly stay at least half full on average (not 120 + 1 + 1...).
        let chunks = s.chunks.len() as i64;
        assert!(chunks <= 2 * n / 120 + 2, "{chunks} chunks for {n} samples");
    }

    #[test]
    fn removing_a_cut_keeps_samples_that_came_after_it() {
        let mut s = OooSeries::default();
        for t in [10, 30] {
            s.insert(t, 1.0, 0).unwrap();
        }
        s.compact();
        s.insert(20, 2.0, 0).unwrap();
        // The cut copies 10, 20 (buffered) and 30; then 25 arrives and is compacted into
        // the chunk with 10 and 30, which then holds as many samples as the cut took in
        // its span.
        let taken: Vec<i64> = s.before(100).iter().map(|x| x.0).collect();
        assert_eq!(taken, vec![10, 20, 30]);
        s.insert(25, 2.5, 0).unwrap();
        let buffered: Vec<Sample> = s.buf.iter().copied().filter(|x| x.0 != 20).collect();
        s.buf.retain(|x| x.0 == 20);
        let merged: Vec<Sample> = merge(&s.chunks[0].decode(), &buffered);
        s.chunks = chunks_of(&merged, 120);
        s.remove(&taken);
        assert_eq!(times(&s), vec![25]);
    }

    #[test]
    fn start_timestamps_are_kept() {
        let mut s = OooSeries::default();
        for i in (0..100).rev() {
            let st = if i % 2 == 0 { i * 10 - 5 } else { 0 };
            assert_eq!(s.insert(i * 10, 1.0, st), Ok(true));
        }
        let got = s.samples(i64::MIN, i64::MAX);
        assert_eq!(got.len(), 100);
        assert_eq!(got[2], (20, 1.0, 15));
        assert_eq!(got[3], (30, 1.0, 0));
    }

    #[test]
    fn replay_markers_drop_only_what_the_cut_took() {
        let mut head = OooHead::default();
        head.insert(1, 10, 1.0, 0).unwrap();
        head.insert(1, 30, 3.0, 0).unwrap();
        head.replay_marker(20, false);
        // Arrived below the boundary after the cut started: kept.
        head.insert(1, 15, 1.5, 0).unwrap();
        head.replay_marker(20, true);
        assert_eq!(
            head.samples(1, i64::MIN, i64::MAX),
            vec![(15, 1.5, 0), (30, 3.0, 0)]
        );
        // A start with no done takes nothing.
        head.replay_marker(40, false);
        head.replay_finished();
        head.replay_marker(40, true);
        assert_eq!(head.samples(1, i64::MIN, i64::MAX).len(), 2);
    }
}
