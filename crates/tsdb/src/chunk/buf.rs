use model::histogram::FloatHistogram;

use super::histogram::{FloatHistogramIter, HistogramIter};
use super::{Encoding, XorIter};

/// A series' newest sample in a range.
#[derive(Debug, Clone, PartialEq)]
pub enum Newest {
    /// Time, value, start timestamp (0: none).
    Float(i64, f64, i64),
    Histogram(i64, FloatHistogram),
}

impl Newest {
    pub fn t(&self) -> i64 {
        match self {
            Self::Float(t, _, _) | Self::Histogram(t, _) => *t,
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
}

impl SampleBuf {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.histograms.is_empty()
    }

    /// Samples of both kinds.
    pub fn len(&self) -> usize {
        self.points.len() + self.histograms.len()
    }

    /// Appends the samples with `mint <= t <= maxt` of a chunk of any encoding; `false`
    /// if the chunk failed to decode (what came before the damage is kept).
    pub fn extend_from_encoded(
        &mut self,
        encoding: Encoding,
        bytes: &[u8],
        mint: i64,
        maxt: i64,
    ) -> bool {
        match encoding {
            Encoding::Xor | Encoding::XorWithStarts => match XorIter::from_bytes(bytes) {
                Some(iter) => {
                    self.extend_from_chunk(iter, mint, maxt);
                    true
                }
                None => false,
            },
            Encoding::Histogram => {
                let Some(mut iter) = HistogramIter::from_bytes(bytes) else {
                    return false;
                };
                for (t, h) in iter.by_ref() {
                    if t > maxt {
                        return true;
                    }
                    if t >= mint {
                        let mut f = h.to_float();
                        super::histogram::reduce_reserved_schema(&mut f);
                        self.histograms.push((t, f));
                    }
                }
                !iter.failed()
            }
            Encoding::FloatHistogram => {
                let Some(mut iter) = FloatHistogramIter::from_bytes(bytes) else {
                    return false;
                };
                for (t, h) in iter.by_ref() {
                    if t > maxt {
                        return true;
                    }
                    if t >= mint {
                        self.histograms.push((t, h));
                    }
                }
                !iter.failed()
            }
        }
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
            self.points.reserve(iter.remaining());
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
            self.histograms.sort_by_key(|(t, _)| *t);
            self.histograms.dedup_by_key(|(t, _)| *t);
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
                return;
            }
            _ => self.histograms.clear(),
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
