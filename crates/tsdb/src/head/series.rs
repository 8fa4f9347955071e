//! One series in the head: its closed chunks (spilled to files or in memory) and the open
//! chunk samples are appended to, with what reads them back.

use std::borrow::Cow;
use std::sync::Arc;

use model::histogram::HistogramValue;

use super::closed::{ClosedChunks, SpillTo};
use crate::chunk::histogram::{Appended, FloatHistogramChunk, HistogramChunk};
use crate::chunk::{slice, Encoding, Newest, SampleBuf, XorChunk, XorIter};
use crate::head_chunks::{ChunkDisk, DiskRef};

/// A float chunk is cut at this many samples: a quarter of Prometheus's 120. Only the open
/// chunk is in memory (the closed ones are spill file records that cost a series nothing:
/// see `head_chunks`), so the smaller it is cut, the less a series holds: at most 32
/// samples, about 110 bytes of random values, where 120 took up to 560 bytes with the
/// buffer's growth. Blocks do not keep this size: their writer packs runs of chunks.
pub(crate) const HEAD_SAMPLES_PER_CHUNK: u16 = 32;

/// A histogram chunk is cut once it holds this many bytes (and at least
/// [`MIN_HISTOGRAMS_PER_CHUNK`] samples): histograms vary too much in size for a fixed
/// sample count (Prometheus's `TargetBytesPerHistogramChunk`).
const HISTOGRAM_CHUNK_BYTES: usize = 1024;
/// Fewer samples than this never make a histogram chunk full, however large they are.
const MIN_HISTOGRAMS_PER_CHUNK: u16 = 10;

/// The open chunk of a series whose newest samples are histograms, with their start
/// timestamps once any sample of the chunk had one.
#[derive(Debug, Clone)]
pub(crate) struct OpenHistogram {
    chunk: HistChunk,
    /// The first sample's time.
    min_t: i64,
    /// Empty while no sample of the chunk had a start timestamp; else one per sample.
    starts: Vec<i64>,
}

#[derive(Debug, Clone)]
enum HistChunk {
    Int(HistogramChunk),
    Float(FloatHistogramChunk),
}

impl OpenHistogram {
    fn for_value(h: &HistogramValue, min_t: i64) -> Self {
        let chunk = match h {
            HistogramValue::Int(_) => HistChunk::Int(HistogramChunk::new()),
            HistogramValue::Float(_) => HistChunk::Float(FloatHistogramChunk::new()),
        };
        Self {
            chunk,
            min_t,
            starts: Vec::new(),
        }
    }

    fn same_kind(&self, h: &HistogramValue) -> bool {
        matches!(
            (&self.chunk, h),
            (HistChunk::Int(_), HistogramValue::Int(_))
                | (HistChunk::Float(_), HistogramValue::Float(_))
        )
    }

    pub(crate) fn encoding(&self) -> Encoding {
        let plain = match self.chunk {
            HistChunk::Int(_) => Encoding::Histogram,
            HistChunk::Float(_) => Encoding::FloatHistogram,
        };
        if self.starts.is_empty() {
            plain
        } else {
            plain.with_starts()
        }
    }

    pub(crate) fn len(&self) -> u16 {
        match &self.chunk {
            HistChunk::Int(c) => c.len(),
            HistChunk::Float(c) => c.len(),
        }
    }

    fn size(&self) -> usize {
        match &self.chunk {
            HistChunk::Int(c) => c.size(),
            HistChunk::Float(c) => c.size(),
        }
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let plain = match &self.chunk {
            HistChunk::Int(c) => c.bytes(),
            HistChunk::Float(c) => c.bytes(),
        };
        if self.starts.is_empty() {
            plain
        } else {
            crate::chunk::histogram::starts::join(&plain, &self.starts)
        }
    }

    fn last_timestamp(&self) -> i64 {
        match &self.chunk {
            HistChunk::Int(c) => c.last_timestamp(),
            HistChunk::Float(c) => c.last_timestamp(),
        }
    }

    /// Appends `h` (of this chunk's kind) with its start timestamp `st` (0: none); `prev`
    /// is the chunk before, when this one was just started. The outcome says whether the
    /// chunk was replaced or a new one cut.
    fn append(
        &mut self,
        t: i64,
        h: &HistogramValue,
        st: i64,
        prev: Option<&Self>,
    ) -> Appended<Self> {
        let appended = match (&mut self.chunk, h) {
            (HistChunk::Int(c), HistogramValue::Int(h)) => {
                let prev = match prev.map(|p| &p.chunk) {
                    Some(HistChunk::Int(p)) => Some(p),
                    _ => None,
                };
                match c.append(t, h, prev) {
                    Appended::InPlace => Appended::InPlace,
                    Appended::Recoded(c) => Appended::Recoded(HistChunk::Int(c)),
                    Appended::Cut(c) => Appended::Cut(HistChunk::Int(c)),
                }
            }
            (HistChunk::Float(c), HistogramValue::Float(h)) => {
                let prev = match prev.map(|p| &p.chunk) {
                    Some(HistChunk::Float(p)) => Some(p),
                    _ => None,
                };
                match c.append(t, h, prev) {
                    Appended::InPlace => Appended::InPlace,
                    Appended::Recoded(c) => Appended::Recoded(HistChunk::Float(c)),
                    Appended::Cut(c) => Appended::Cut(HistChunk::Float(c)),
                }
            }
            // The caller cuts a new chunk when the kind changes.
            _ => return Appended::InPlace,
        };
        let with_st = |mut starts: Vec<i64>, before: usize| {
            if st != 0 || !starts.is_empty() {
                starts.resize(before, 0);
                starts.push(st);
            }
            starts
        };
        match appended {
            Appended::InPlace => {
                let before = usize::from(self.len()).saturating_sub(1);
                self.starts = with_st(std::mem::take(&mut self.starts), before);
                Appended::InPlace
            }
            Appended::Recoded(chunk) => {
                let mut next = Self {
                    chunk,
                    min_t: self.min_t,
                    starts: std::mem::take(&mut self.starts),
                };
                let before = usize::from(next.len()).saturating_sub(1);
                next.starts = with_st(next.starts, before);
                Appended::Recoded(next)
            }
            Appended::Cut(chunk) => {
                // A series that had start timestamps keeps chunks that can store them.
                let had = !self.starts.is_empty();
                Appended::Cut(Self {
                    chunk,
                    min_t: t,
                    starts: if st != 0 || had { vec![st] } else { Vec::new() },
                })
            }
        }
    }
}

/// What identifies a sample's value for the duplicate check: its bits for a float, a hash
/// for a histogram (an identical repeat is ignored, a different one at the same time is a
/// duplicate).
pub(crate) fn histogram_identity(h: &HistogramValue) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    // Lengths first, so that different splits of the same values differ; no allocation.
    let spans = |s: &[model::histogram::Span], hasher: &mut rustc_hash::FxHasher| {
        s.len().hash(hasher);
        for span in s {
            (span.offset, span.length).hash(hasher);
        }
    };
    let floats = |v: &[f64], hasher: &mut rustc_hash::FxHasher| {
        v.len().hash(hasher);
        for x in v {
            x.to_bits().hash(hasher);
        }
    };
    match h {
        HistogramValue::Int(h) => {
            0u8.hash(&mut hasher);
            (
                h.schema,
                h.zero_threshold.to_bits(),
                h.zero_count,
                h.count,
                h.sum.to_bits(),
            )
                .hash(&mut hasher);
            spans(&h.positive_spans, &mut hasher);
            spans(&h.negative_spans, &mut hasher);
            (&h.positive_buckets, &h.negative_buckets).hash(&mut hasher);
            floats(&h.custom_values, &mut hasher);
        }
        HistogramValue::Float(h) => {
            1u8.hash(&mut hasher);
            (
                h.schema,
                h.zero_threshold.to_bits(),
                h.zero_count.to_bits(),
                h.count.to_bits(),
                h.sum.to_bits(),
            )
                .hash(&mut hasher);
            spans(&h.positive_spans, &mut hasher);
            spans(&h.negative_spans, &mut hasher);
            floats(&h.positive_buckets, &mut hasher);
            floats(&h.negative_buckets, &mut hasher);
            floats(&h.custom_values, &mut hasher);
        }
    }
    hasher.finish()
}

/// A full chunk that is no longer appended to: on disk (see `head_chunks`) or, if it
/// could not be written there, in memory (shared, so that writing a block can take it
/// without copying or holding the lock).
#[derive(Clone, Debug)]
pub(crate) struct HeadChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub encoding: Encoding,
    pub data: ChunkData,
}

#[derive(Clone, Debug)]
pub(crate) enum ChunkData {
    Memory(Arc<[u8]>),
    Disk(DiskRef),
}

impl HeadChunk {
    /// The chunk's bytes (read back from disk if spilled).
    pub fn bytes(&self, disk: Option<&ChunkDisk>) -> std::io::Result<Cow<'_, [u8]>> {
        match &self.data {
            ChunkData::Memory(bytes) => Ok(Cow::Borrowed(bytes)),
            ChunkData::Disk(r) => match disk {
                Some(d) => d.read(*r).map(Cow::Owned),
                None => Err(std::io::Error::other("spilled chunk without its files")),
            },
        }
    }
}

pub(crate) struct MemSeries {
    /// Symbol ids: name, value, name, value, … in label-name order.
    pub(super) labels: Box<[u32]>,
    pub(super) closed: ClosedChunks,
    /// The open float chunk (empty while the newest samples are histograms).
    pub(super) open: XorChunk,
    /// The open histogram chunk, while the newest samples are histograms (boxed: most
    /// series never have one).
    pub(super) open_hist: Option<Box<OpenHistogram>>,
    /// The newest timestamp and value bits, for order and duplicate checks.
    pub max_t: i64,
    pub(super) last_bits: u64,
}

impl MemSeries {
    pub(super) fn new(labels: Box<[u32]>) -> Self {
        Self {
            labels,
            closed: ClosedChunks::default(),
            open: XorChunk::new(),
            open_hist: None,
            max_t: i64::MIN,
            last_bits: 0,
        }
    }

    /// Closes the open chunk (of either kind), if it has samples.
    pub(super) fn close_open(&mut self, to: SpillTo<'_>) {
        if let Some(hist) = self.open_hist.take() {
            if hist.len() > 0 {
                let (min_t, max_t) = (hist.min_t, hist.last_timestamp());
                self.closed
                    .push(hist.encoding(), hist.bytes(), min_t, max_t, to);
            }
            return;
        }
        if self.open.is_empty() {
            return;
        }
        // A series that had start timestamps keeps chunks that can store them.
        let next = if self.open.has_starts() {
            XorChunk::with_starts()
        } else {
            XorChunk::new()
        };
        let full = std::mem::replace(&mut self.open, next);
        let min_t = full.first_timestamp().unwrap_or(i64::MIN);
        let max_t = full.last_timestamp();
        let bytes = full.bytes();
        self.closed
            .push(Encoding::of_float_chunk(&bytes), bytes, min_t, max_t, to);
    }

    /// The open chunk's first sample's time (`i64::MIN` without one): read from the chunk
    /// rather than stored beside it, which would cost a million series 8 MB.
    pub(super) fn open_min_t(&self) -> i64 {
        if let Some(t) = self.open.first_timestamp() {
            return t;
        }
        self.open_hist
            .as_ref()
            .filter(|h| h.len() > 0)
            .map_or(i64::MIN, |h| h.min_t)
    }

    /// The open chunk is closed before a sample at or after this time, so that no chunk
    /// crosses a block boundary (computed, not stored: a million series would hold 8 MB of
    /// it). Float appends compute it from the open chunk's last sample ([`range_end`]).
    pub(super) fn open_until(&self, chunk_range: i64) -> i64 {
        range_end(self.open_min_t(), chunk_range)
    }

    /// Appends a native histogram sample; without `keep`, only its time and identity are
    /// held (agent mode). A change between floats and histograms, or between integer and
    /// float histograms, starts a new chunk, as does a full one (by bytes), the block
    /// boundary, or what the chunk encoding cannot take (a counter reset, a new schema).
    pub(super) fn append_histogram(
        &mut self,
        t: i64,
        h: &HistogramValue,
        st: i64,
        chunk_range: i64,
        to: SpillTo<'_>,
        keep: bool,
    ) {
        self.max_t = t;
        self.last_bits = histogram_identity(h);
        if !keep {
            return;
        }
        if !self.open.is_empty() {
            self.close_open(to);
        }
        let mut prev = None;
        if let Some(open) = &self.open_hist {
            let full =
                open.size() >= HISTOGRAM_CHUNK_BYTES && open.len() >= MIN_HISTOGRAMS_PER_CHUNK;
            let past_boundary = t >= self.open_until(chunk_range);
            if !open.same_kind(h) || full || past_boundary || open.len() == u16::MAX {
                let same_kind = open.same_kind(h);
                let old = self.open_hist.take();
                if let Some(old) = &old {
                    let (min_t, max_t) = (old.min_t, old.last_timestamp());
                    self.closed
                        .push(old.encoding(), old.bytes(), min_t, max_t, to);
                }
                // The chunk before tells the new one whether there was a counter reset.
                prev = old.filter(|_| same_kind);
            }
        }
        let open = match &mut self.open_hist {
            Some(open) => open,
            None => self
                .open_hist
                .insert(Box::new(OpenHistogram::for_value(h, t))),
        };
        match open.append(t, h, st, prev.as_deref()) {
            Appended::InPlace => {}
            Appended::Recoded(c) => **open = c,
            Appended::Cut(c) => {
                let old = std::mem::replace(&mut **open, c);
                let (min_t, max_t) = (old.min_t, old.last_timestamp());
                self.closed
                    .push(old.encoding(), old.bytes(), min_t, max_t, to);
            }
        }
    }

    /// Appends a sample with its start timestamp (0: none). A series' first start
    /// timestamp cuts the open chunk: from then on its chunks store them.
    /// Appends a sample; without `keep`, only the newest sample is held (agent mode: the
    /// WAL is the data, the head only orders appends).
    pub(super) fn append(
        &mut self,
        t: i64,
        v: f64,
        st: i64,
        chunk_range: i64,
        to: SpillTo<'_>,
        keep: bool,
    ) {
        if !keep {
            // The order and duplicate checks need only these two; nothing reads samples.
            self.max_t = t;
            self.last_bits = v.to_bits();
            return;
        }
        if let Some(kind) = self.open_hist.as_ref().map(|h| h.encoding()) {
            if model::is_stale_nan(v) {
                // A staleness marker of a histogram series is a histogram stale marker,
                // as upstream's head turns it into: the chunk goes on.
                let marker = if kind == Encoding::Histogram {
                    HistogramValue::Int(model::histogram::Histogram {
                        sum: v,
                        ..Default::default()
                    })
                } else {
                    HistogramValue::Float(model::histogram::FloatHistogram {
                        sum: v,
                        ..Default::default()
                    })
                };
                self.append_histogram(t, &marker, 0, chunk_range, to, keep);
                self.last_bits = v.to_bits();
                return;
            }
            self.close_open(to);
        }
        if !self.open.is_empty()
            && (self.open.len() >= HEAD_SAMPLES_PER_CHUNK
                || t >= range_end(self.open.last_timestamp(), chunk_range)
                || (st != 0 && !self.open.has_starts()))
        {
            self.close_open(to);
        }
        if self.open.is_empty() && st != 0 && !self.open.has_starts() {
            self.open = XorChunk::with_starts();
        }
        self.open.append_st(t, v, st);
        self.max_t = t;
        self.last_bits = v.to_bits();
    }

    /// Samples with `mint <= t <= maxt`.
    pub fn samples(&self, mint: i64, maxt: i64, disk: Option<&ChunkDisk>) -> SampleBuf {
        let mut out = SampleBuf::default();
        // A record that cannot be read is logged by the walk; the newer chunks still count.
        let (reaching, _) = self.closed.reaching(mint, disk);
        let mut closed = Vec::with_capacity(reaching.len());
        for c in reaching.iter().filter(|c| c.min_t <= maxt) {
            match c.bytes(disk) {
                Ok(bytes) => closed.push((c, bytes)),
                Err(e) => {
                    tracing::error!(err = %e, "reading a head chunk back failed; its samples are left out");
                }
            }
        }
        let open_in_range = self.max_t >= mint && self.open_min_t() <= maxt;
        let open_floats = if open_in_range {
            usize::from(self.open.len())
        } else {
            0
        };
        out.reserve_for(
            closed
                .iter()
                .map(|(c, bytes)| {
                    let count = crate::chunk::float_sample_count(c.encoding, bytes);
                    (count, (c.min_t, c.max_t))
                })
                .chain(std::iter::once((
                    open_floats,
                    (self.open_min_t(), self.max_t),
                ))),
            mint,
            maxt,
        );
        for (c, bytes) in &closed {
            out.extend_from_encoded(c.encoding, bytes, mint, maxt);
        }
        if open_in_range {
            if !self.open.is_empty() {
                out.extend_from_chunk(self.open.iter(), mint, maxt);
            } else if let Some(h) = &self.open_hist {
                out.extend_from_encoded(h.encoding(), &h.bytes(), mint, maxt);
            }
        }
        out
    }

    /// The last sample with `mint <= t <= maxt` (with its start timestamp, for a float),
    /// decoding only the chunks it can be in (an instant selector needs nothing else).
    pub fn last_sample(&self, mint: i64, maxt: i64, disk: Option<&ChunkDisk>) -> Option<Newest> {
        if self.open_min_t() <= maxt && self.max_t >= mint {
            let last = if !self.open.is_empty() {
                last_float(self.open.iter(), mint, maxt)
            } else if let Some(h) = &self.open_hist {
                last_in(h.encoding(), &h.bytes(), mint, maxt)
            } else {
                None
            };
            if last.is_some() {
                return last;
            }
        }
        for c in self.closed.newest_first(disk) {
            if c.min_t > maxt {
                continue;
            }
            if c.max_t < mint {
                return None;
            }
            let bytes = match c.bytes(disk) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(err = %e, "reading a head chunk back failed; its samples are left out");
                    continue;
                }
            };
            let last = last_in(c.encoding, &bytes, mint, maxt);
            if last.is_some() {
                return last;
            }
        }
        None
    }

    /// The series' oldest sample time when it holds its oldest chunk in memory; `None`
    /// when that is in a spill chain (the spill files' own bound covers those) or without
    /// chunks.
    pub fn min_t_unless_spilled(&self) -> Option<i64> {
        match self.closed {
            ClosedChunks::Chain(_) => None,
            ClosedChunks::List(_) => self
                .closed
                .list_min_t()
                .or(self.has_chunks().then(|| self.open_min_t())),
        }
    }

    /// Whether the series' first sample is at or before `t`.
    pub fn starts_at_or_before(&self, t: i64, disk: Option<&ChunkDisk>) -> bool {
        if self.open_has_samples() && self.open_min_t() <= t {
            return true;
        }
        self.closed.starts_at_or_before(t, disk)
    }

    /// Whether the open chunk (of either kind) holds a sample.
    fn open_has_samples(&self) -> bool {
        !self.open.is_empty() || self.open_hist.as_ref().is_some_and(|h| h.len() > 0)
    }

    /// Whether the series holds any chunk (cheaper than counting them).
    pub(super) fn has_chunks(&self) -> bool {
        !self.closed.is_empty() || self.open_has_samples()
    }

    /// The chunks held in memory (the spilled ones the spill files count).
    pub(super) fn chunks_in_memory(&self) -> usize {
        self.closed.in_memory() + usize::from(self.open_has_samples())
    }

    /// Whether `max_t` and `last_bits` are a sample the next one is checked against: with
    /// samples kept, while the series has a chunk; in agent mode, once it had a sample.
    pub(super) fn has_newest(&self, keep_samples: bool) -> bool {
        if keep_samples {
            self.has_chunks()
        } else {
            self.max_t != i64::MIN
        }
    }

    /// The chunks holding samples in `[mint, maxt)`, whole: a chunk that reaches outside
    /// the range (only possible when the block range changed between runs) is re-encoded
    /// with just the samples inside. An error when a spilled chunk cannot be read: a block
    /// written without it would lose its samples once the head is truncated.
    pub(super) fn chunks_in(
        &self,
        mint: i64,
        maxt: i64,
        disk: Option<&ChunkDisk>,
    ) -> std::io::Result<Vec<HeadChunk>> {
        let mut out = Vec::new();
        let open = if let Some(h) = self.open_hist.as_ref().filter(|h| h.len() > 0) {
            Some(HeadChunk {
                min_t: self.open_min_t(),
                max_t: self.max_t,
                encoding: h.encoding(),
                data: ChunkData::Memory(Arc::from(h.bytes())),
            })
        } else {
            (!self.open.is_empty()).then(|| {
                let bytes = self.open.bytes();
                HeadChunk {
                    min_t: self.open_min_t(),
                    max_t: self.max_t,
                    encoding: Encoding::of_float_chunk(&bytes),
                    data: ChunkData::Memory(Arc::from(bytes)),
                }
            })
        };
        let closed = self.closed.oldest_first_from(mint, disk)?;
        for c in closed.into_iter().chain(open) {
            if c.max_t < mint || c.min_t >= maxt {
                continue;
            }
            if c.min_t >= mint && c.max_t < maxt {
                out.push(c);
                continue;
            }
            let bytes = c.bytes(disk)?;
            for (min_t, max_t, encoding, bytes) in
                slice::chunk_range(c.encoding, &bytes, mint, maxt)
            {
                out.push(HeadChunk {
                    min_t,
                    max_t,
                    encoding,
                    data: ChunkData::Memory(Arc::from(bytes)),
                });
            }
        }
        Ok(out)
    }
}

/// The last float sample of a chunk with `mint <= t <= maxt`.
fn last_float(mut iter: XorIter<'_>, mint: i64, maxt: i64) -> Option<Newest> {
    let mut last = None;
    while let Some(s) = iter.next_st() {
        if s.0 > maxt {
            break;
        }
        last = Some(s);
    }
    last.filter(|s| s.0 >= mint)
        .map(|(t, v, st)| Newest::Float(t, v, st))
}

/// The last sample of an encoded chunk with `mint <= t <= maxt`.
fn last_in(encoding: Encoding, bytes: &[u8], mint: i64, maxt: i64) -> Option<Newest> {
    if !encoding.is_histogram() {
        return last_float(XorIter::from_bytes(bytes)?, mint, maxt);
    }
    let mut buf = SampleBuf::default();
    buf.extend_from_encoded(encoding, bytes, mint, maxt);
    let st = buf.hist_start(buf.histograms.len().saturating_sub(1));
    buf.histograms
        .pop()
        .map(|(t, h)| Newest::Histogram(t, h, st))
}

/// The end of the chunk range `t` is in: a chunk holding `t` is closed before a sample at
/// or after it. An open chunk never crosses one, so its last sample (in its struct) gives
/// the same end as its first (at the start of its bytes, one more cache miss per append).
fn range_end(t: i64, chunk_range: i64) -> i64 {
    t.div_euclid(chunk_range)
        .saturating_add(1)
        .saturating_mul(chunk_range)
}

#[cfg(test)]
mod size_tests {
    /// Every series in the head is one boxed `MemSeries`: the allocator rounds 129 to 160
    /// bytes up to 160, so one field more costs a million series 32 MB, not 8.
    #[test]
    fn a_series_fits_the_allocators_128_byte_class() {
        assert!(std::mem::size_of::<super::MemSeries>() <= 128);
    }
}
