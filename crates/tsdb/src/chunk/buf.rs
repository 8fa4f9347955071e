use super::XorIter;

/// Decoded samples in time order, with their start timestamps when any chunk had them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SampleBuf {
    pub points: Vec<(i64, f64)>,
    /// Empty when no sample has a start timestamp; otherwise one per point (0: none).
    pub starts: Vec<i64>,
}

impl SampleBuf {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn len(&self) -> usize {
        self.points.len()
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

    /// Keeps only the last sample.
    pub fn keep_last(&mut self) {
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
