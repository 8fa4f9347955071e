use model::histogram::FloatHistogram;

use super::histogram::{FloatHistogramIter, HistogramIter};
use super::{Encoding, XorIter};

thread_local! {
    /// A whole packed chunk, decoded before its samples in a range are copied out.
    static PACKED_SCRATCH: std::cell::RefCell<Vec<(i64, f64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The scratch buffer's room kept between chunks (a packed chunk holds at most
/// `u16::MAX` samples; more than this is given back after use).
const PACKED_SCRATCH_KEPT: usize = 4096;

/// How many of a chunk's `count` samples, first and last at `chunk_times`, fall in
/// `[mint, maxt]` if they are evenly spaced, plus one for rounding; never more than
/// `count`. Scrapes space samples evenly, so this is the room a range needs; when it
/// is short the buffer grows as usual.
fn expected_in_range(count: usize, chunk_times: (i64, i64), mint: i64, maxt: i64) -> usize {
    let (first, last) = chunk_times;
    let (lo, hi) = (first.max(mint), last.min(maxt));
    if hi < lo {
        return 0;
    }
    if last <= first || (lo == first && hi == last) {
        return count;
    }
    // In floats: the times may be any i64s (a span of the whole line overflows one).
    let share = (hi as f64 - lo as f64) / (last as f64 - first as f64);
    ((count as f64 * share).ceil() as usize + 1).min(count)
}

/// How many float samples an encoded chunk holds (0 for a histogram chunk), from its
/// header.
pub fn float_sample_count(encoding: Encoding, bytes: &[u8]) -> usize {
    usize::from(match encoding {
        Encoding::Xor | Encoding::XorWithStarts => super::sample_count(bytes),
        Encoding::Packed => super::packed::sample_count(bytes),
        _ => 0,
    })
}

/// A series' newest sample in a range.
#[derive(Debug, Clone, PartialEq)]
pub enum Newest {
    /// Time, value, start timestamp (0: none).
    Float(i64, f64, i64),
    /// Time, histogram, start timestamp (0: none).
    Histogram(i64, FloatHistogram, i64),
}

impl Newest {
    pub fn t(&self) -> i64 {
        match self {
            Self::Float(t, _, _) | Self::Histogram(t, _, _) => *t,
        }
    }
}

/// Decoded samples in time order, with their start timestamps when any chunk had them,
/// and histogram samples (as float histograms, as queries take them) in time order of
/// their own.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SampleBuf {
    pub points: Vec<(i64, f64)>,
    /// Empty when no sample has a start timestamp; otherwise one per point (0: none).
    pub starts: Vec<i64>,
    pub histograms: Vec<(i64, FloatHistogram)>,
    /// Empty when no histogram sample has a start timestamp; otherwise one per histogram.
    pub hist_starts: Vec<i64>,
}

impl SampleBuf {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.histograms.is_empty()
    }

    /// Samples of both kinds.
    pub fn len(&self) -> usize {
        self.points.len() + self.histograms.len()
    }

    /// Makes room for the float samples expected in `[mint, maxt]` from chunks about to
    /// be appended, each given by its float sample count ([`float_sample_count`]) and
    /// first and last sample times: one allocation for a series' window instead of one
    /// growth per chunk.
    pub fn reserve_for(
        &mut self,
        chunks: impl IntoIterator<Item = (usize, (i64, i64))>,
        mint: i64,
        maxt: i64,
    ) {
        let expected: usize = chunks
            .into_iter()
            .map(|(count, chunk_times)| expected_in_range(count, chunk_times, mint, maxt))
            .sum();
        self.points.reserve(expected);
    }

    /// Appends the samples with `mint <= t <= maxt` of a chunk of any encoding; `false`
    /// if the chunk failed to decode (what came before the damage is kept). Room for
    /// them is the caller's to make ([`SampleBuf::reserve_for`]): a chunk's whole count
    /// would hold the room of 120 samples per series for a one-minute window of a
    /// two-hour chunk until the query ends.
    pub fn extend_from_encoded(
        &mut self,
        encoding: Encoding,
        bytes: &[u8],
        mint: i64,
        maxt: i64,
    ) -> bool {
        // A histogram chunk with start timestamps: the plain chunk, one start per sample.
        let Some((encoding, bytes, starts)) = encoding.split_starts(bytes) else {
            return false;
        };
        let start = |i: usize| starts.get(i).copied().unwrap_or(0);
        match encoding {
            Encoding::Xor | Encoding::XorWithStarts => match XorIter::from_bytes(bytes) {
                Some(iter) => {
                    self.extend_from_chunk(iter, mint, maxt);
                    true
                }
                None => false,
            },
            Encoding::Packed => {
                // The chunk decodes whole, into a scratch buffer kept by the thread, and
                // only its samples in the range (they are in time order) are kept.
                PACKED_SCRATCH.with_borrow_mut(|scratch| {
                    scratch.clear();
                    let decoded = super::packed::decode_into(bytes, scratch).is_some();
                    let end = scratch.partition_point(|(t, _)| *t <= maxt);
                    let first = scratch[..end].partition_point(|(t, _)| *t < mint);
                    self.points.extend_from_slice(&scratch[first..end]);
                    if !self.starts.is_empty() {
                        self.starts.resize(self.points.len(), 0);
                    }
                    if scratch.capacity() > PACKED_SCRATCH_KEPT {
                        *scratch = Vec::new();
                    }
                    decoded
                })
            }
            Encoding::Histogram => {
                let Some(mut iter) = HistogramIter::from_bytes(bytes) else {
                    return false;
                };
                for (i, (t, h)) in iter.by_ref().enumerate() {
                    if t > maxt {
                        return true;
                    }
                    if t >= mint {
                        let mut f = h.to_float();
                        super::histogram::reduce_reserved_schema(&mut f);
                        self.push_histogram(t, f, start(i));
                    }
                }
                !iter.failed()
            }
            Encoding::FloatHistogram => {
                let Some(mut iter) = FloatHistogramIter::from_bytes(bytes) else {
                    return false;
                };
                for (i, (t, h)) in iter.by_ref().enumerate() {
                    if t > maxt {
                        return true;
                    }
                    if t >= mint {
                        self.push_histogram(t, h, start(i));
                    }
                }
                !iter.failed()
            }
            // `split_starts` gives plain encodings only.
            Encoding::HistogramWithStarts | Encoding::FloatHistogramWithStarts => false,
        }
    }

    /// Appends one histogram sample with its start timestamp (0: none), as [`Self::push`]
    /// a float.
    fn push_histogram(&mut self, t: i64, h: FloatHistogram, st: i64) {
        if st != 0 && self.hist_starts.len() < self.histograms.len() {
            self.hist_starts.resize(self.histograms.len(), 0);
        }
        self.histograms.push((t, h));
        if !self.hist_starts.is_empty() || st != 0 {
            self.hist_starts.push(st);
        }
    }

    /// The start timestamp of histogram `i` (0: none).
    pub fn hist_start(&self, i: usize) -> i64 {
        self.hist_starts.get(i).copied().unwrap_or(0)
    }

    /// Appends one sample.
    pub fn push(&mut self, t: i64, v: f64, st: i64) {
        if st != 0 && self.starts.len() < self.points.len() {
            self.starts.resize(self.points.len(), 0);
        }
        self.points.push((t, v));
        if !self.starts.is_empty() || st != 0 {
            self.starts.push(st);
        }
    }

    /// Appends a chunk's samples with `mint <= t <= maxt` (chunks are in time order, so
    /// decoding stops past `maxt`).
    pub fn extend_from_chunk(&mut self, mut iter: XorIter<'_>, mint: i64, maxt: i64) {
        if !iter.has_starts() {
            let before = self.points.len();
            self.points.extend(
                iter.skip_while(|(t, _)| *t < mint)
                    .take_while(|(t, _)| *t <= maxt),
            );
            if !self.starts.is_empty() {
                self.starts
                    .resize(self.starts.len() + self.points.len() - before, 0);
            }
            return;
        }
        while let Some((t, v, st)) = iter.next_st() {
            if t > maxt {
                break;
            }
            if t >= mint {
                self.push(t, v, st);
            }
        }
    }

    /// Appends another buffer's samples.
    pub fn append(&mut self, mut other: SampleBuf) {
        if !other.hist_starts.is_empty() || !self.hist_starts.is_empty() {
            self.hist_starts.resize(self.histograms.len(), 0);
            other.hist_starts.resize(other.histograms.len(), 0);
            self.hist_starts.append(&mut other.hist_starts);
        }
        self.histograms.append(&mut other.histograms);
        if other.starts.is_empty() && self.starts.is_empty() {
            self.points.append(&mut other.points);
            return;
        }
        self.starts.resize(self.points.len(), 0);
        other.starts.resize(other.points.len(), 0);
        self.points.append(&mut other.points);
        self.starts.append(&mut other.starts);
    }

    /// Sorts by time and keeps the first of samples sharing a timestamp.
    pub fn sort_dedup(&mut self) {
        if self.histograms.windows(2).any(|w| w[1].0 <= w[0].0) {
            if self.hist_starts.is_empty() {
                self.histograms.sort_by_key(|(t, _)| *t);
                self.histograms.dedup_by_key(|(t, _)| *t);
            } else {
                let mut all: Vec<((i64, FloatHistogram), i64)> = self
                    .histograms
                    .drain(..)
                    .zip(self.hist_starts.drain(..))
                    .collect();
                all.sort_by_key(|((t, _), _)| *t);
                all.dedup_by_key(|((t, _), _)| *t);
                (self.histograms, self.hist_starts) = all.into_iter().unzip();
            }
        }
        if !self.points.windows(2).any(|w| w[1].0 <= w[0].0) {
            return;
        }
        if self.starts.is_empty() {
            self.points.sort_by_key(|(t, _)| *t);
            self.points.dedup_by_key(|(t, _)| *t);
            return;
        }
        let mut all: Vec<((i64, f64), i64)> =
            self.points.drain(..).zip(self.starts.drain(..)).collect();
        all.sort_by_key(|((t, _), _)| *t);
        all.dedup_by_key(|((t, _), _)| *t);
        (self.points, self.starts) = all.into_iter().unzip();
    }

    /// Keeps only the last sample (of either kind).
    pub fn keep_last(&mut self) {
        let last_float = self.points.last().map(|p| p.0);
        match self.histograms.last().map(|h| h.0) {
            Some(th) if last_float.is_none_or(|tf| th > tf) => {
                self.points.clear();
                self.starts.clear();
                let keep = self.histograms.len() - 1;
                self.histograms.drain(..keep);
                if !self.hist_starts.is_empty() {
                    self.hist_starts.drain(..keep);
                }
                return;
            }
            _ => {
                self.histograms.clear();
                self.hist_starts.clear();
            }
        }
        let keep = self.points.len().saturating_sub(1);
        self.points.drain(..keep);
        if !self.starts.is_empty() {
            self.starts.drain(..keep);
        }
    }

    /// Keeps the samples whose point passes `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&(i64, f64)) -> bool) {
        if self.starts.is_empty() {
            self.points.retain(keep);
            return;
        }
        let mut i = 0;
        let starts = &mut self.starts;
        let mut kept_starts = Vec::with_capacity(starts.len());
        self.points.retain(|p| {
            let k = keep(p);
            if k {
                kept_starts.push(starts.get(i).copied().unwrap_or(0));
            }
            i += 1;
            k
        });
        *starts = kept_starts;
    }

    /// The start timestamp of point `i` (0: none).
    pub fn start(&self, i: usize) -> i64 {
        self.starts.get(i).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{packed, XorChunk};

    /// 120 samples 15 s apart, as a two-hour block chunk holds them.
    fn block_samples() -> Vec<(i64, f64)> {
        (0..120).map(|i| (i * 15_000, i as f64 * 1.5)).collect()
    }

    #[test]
    fn expected_share_of_a_chunk_in_a_range() {
        let times = (0, 119 * 15_000);
        assert_eq!(expected_in_range(120, times, i64::MIN, i64::MAX), 120);
        assert_eq!(expected_in_range(120, times, 0, 119 * 15_000), 120);
        assert_eq!(expected_in_range(120, times, 200 * 15_000, 300 * 15_000), 0);
        // One minute of the middle: four samples, five with the rounding.
        let minute = expected_in_range(120, times, 60 * 15_000 - 59_999, 60 * 15_000);
        assert!((4..=6).contains(&minute), "{minute}");
        // A chunk of one sample, and a span of the whole i64 line.
        assert_eq!(expected_in_range(1, (7, 7), 0, 10), 1);
        assert!(expected_in_range(120, (i64::MIN, i64::MAX), 0, 1_000) <= 2);
    }

    #[test]
    fn a_window_of_a_chunk_keeps_its_samples_and_room_for_about_them() {
        let samples = block_samples();
        let times = (samples[0].0, samples[samples.len() - 1].0);
        let (mint, maxt) = (60 * 15_000 - 59_999, 60 * 15_000);
        let want: Vec<(i64, f64)> = samples
            .iter()
            .copied()
            .filter(|(t, _)| (mint..=maxt).contains(t))
            .collect();
        assert_eq!(want.len(), 4);

        let mut xor = XorChunk::new();
        for &(t, v) in &samples {
            xor.append(t, v);
        }
        let packed = packed::encode(&samples).expect("packs");
        for (encoding, bytes) in [(Encoding::Xor, xor.bytes()), (Encoding::Packed, packed)] {
            let mut buf = SampleBuf::default();
            buf.reserve_for([(float_sample_count(encoding, &bytes), times)], mint, maxt);
            assert!(buf.extend_from_encoded(encoding, &bytes, mint, maxt));
            assert_eq!(buf.points, want, "{encoding:?}");
            assert!(
                buf.points.capacity() <= 8,
                "{encoding:?}: room for {}",
                buf.points.capacity()
            );
            // The whole chunk, after the window: appended in order.
            assert!(buf.extend_from_encoded(encoding, &bytes, maxt + 1, i64::MAX));
            assert_eq!(buf.points.len(), 4 + 59, "{encoding:?}");
        }
    }

    #[test]
    fn a_damaged_packed_chunk_keeps_what_decoded_in_the_range() {
        let samples = block_samples();
        let bytes = packed::encode(&samples).expect("packs");
        let mut whole = Vec::new();
        packed::decode_into(&bytes, &mut whole).expect("decodes");
        for cut in [bytes.len() / 2, bytes.len() - 1] {
            let mut partial = Vec::new();
            let decoded = packed::decode_into(&bytes[..cut], &mut partial).is_some();
            let mut buf = SampleBuf::default();
            let ok = buf.extend_from_encoded(Encoding::Packed, &bytes[..cut], 30_000, i64::MAX);
            assert_eq!(ok, decoded);
            let want: Vec<(i64, f64)> = partial.into_iter().filter(|(t, _)| *t >= 30_000).collect();
            assert_eq!(buf.points, want);
        }
    }
}
