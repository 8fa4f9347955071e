//! Integer histogram chunks (encoding 2), as Prometheus writes them.
//!
//! After the 3-byte header, the first sample writes the layout, then its timestamp (varbit),
//! count and zero count (unsigned varbit), the sum (64 raw bits) and each bucket's delta
//! (varbit). Later samples write the delta of delta of the timestamp, the count and the
//! zero count, the sum XOR-coded, and each bucket's delta of delta. A stale marker writes
//! only the timestamp, zero count changes and the sum.
//!
//! A sample whose buckets differ from the chunk's is made to fit: buckets the chunk lacks
//! are added to every sample already in it (the chunk is recoded), buckets the sample
//! lacks are added to it as empty. A counter histogram that lost a bucket with counts, or
//! whose counts went down, starts a new chunk marked as a counter reset.

use model::histogram::{Histogram, Span};
use model::is_stale_nan;

use super::layout::{count_buckets, CounterResetHeader, Insert, Layout, HEADER_SIZE};
use super::{absolute, Appended, Encoding, Sample};
use crate::chunk::bits::{write_varbit_int, write_varbit_uint, write_xor, BitReader, BitWriter};

/// An integer histogram chunk being appended to.
#[derive(Debug, Clone, Default)]
pub struct HistogramChunk {
    stream: BitWriter,
    count: u16,
    header: CounterResetHeader,
    layout: Layout,
    t: i64,
    cnt: u64,
    zero_cnt: u64,
    t_delta: i64,
    cnt_delta: i64,
    zero_cnt_delta: i64,
    /// The last sample's buckets (deltas between buckets), and their change since the
    /// sample before.
    positive: Vec<i64>,
    negative: Vec<i64>,
    positive_change: Vec<i64>,
    negative_change: Vec<i64>,
    sum: f64,
    leading: u8,
    trailing: u8,
}

impl HistogramChunk {
    pub fn new() -> Self {
        Self {
            leading: 0xff,
            stream: BitWriter::large(super::CHUNK_START_BYTES),
            ..Self::default()
        }
    }

    pub fn len(&self) -> u16 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn last_timestamp(&self) -> i64 {
        self.t
    }

    pub fn header(&self) -> CounterResetHeader {
        self.header
    }

    /// Bytes held, for memory accounting and chunk sizing.
    pub fn size(&self) -> usize {
        HEADER_SIZE + self.stream.bytes.len()
    }

    /// The encoded chunk: count, header byte, bit stream.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.push(self.header.byte());
        out.extend_from_slice(&self.stream.bytes);
        out
    }

    /// Appends a histogram; timestamps must increase (the caller checks order). `prev` is
    /// the series' previous chunk, asked about a counter reset when this one is empty.
    pub fn append(&mut self, t: i64, h: &Histogram, prev: Option<&Self>) -> Appended<Self> {
        super::append(self, t, h, prev)
    }

    /// Encodes one sample (upstream's `appendHistogram`).
    fn encode_sample(&mut self, t: i64, h: &Histogram) {
        let stale;
        let h = if is_stale_nan(h.sum) {
            stale = Histogram {
                sum: h.sum,
                ..Histogram::default()
            };
            &stale
        } else {
            h
        };
        let w = &mut self.stream;
        let (mut t_delta, mut cnt_delta, mut zero_cnt_delta) = (0, 0, 0);
        if self.count == 0 {
            self.layout = Layout {
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                positive_spans: h.positive_spans.clone(),
                negative_spans: h.negative_spans.clone(),
                custom_values: h.custom_values.clone(),
            };
            self.layout.write(w);
            let np = count_buckets(&h.positive_spans);
            let nn = count_buckets(&h.negative_spans);
            self.positive = vec![0; np];
            self.positive_change = vec![0; np];
            self.negative = vec![0; nn];
            self.negative_change = vec![0; nn];
            write_varbit_int(w, t);
            write_varbit_uint(w, h.count);
            write_varbit_uint(w, h.zero_count);
            w.write_bits(h.sum.to_bits(), 64);
            for &b in h.positive_buckets.iter().chain(&h.negative_buckets) {
                write_varbit_int(w, b);
            }
        } else {
            t_delta = t.wrapping_sub(self.t);
            cnt_delta = (h.count as i64).wrapping_sub(self.cnt as i64);
            zero_cnt_delta = (h.zero_count as i64).wrapping_sub(self.zero_cnt as i64);
            let (mut cnt_dod, mut zero_cnt_dod) = (
                cnt_delta.wrapping_sub(self.cnt_delta),
                zero_cnt_delta.wrapping_sub(self.zero_cnt_delta),
            );
            if is_stale_nan(h.sum) {
                (cnt_dod, zero_cnt_dod) = (0, 0);
            }
            write_varbit_int(w, t_delta.wrapping_sub(self.t_delta));
            write_varbit_int(w, cnt_dod);
            write_varbit_int(w, zero_cnt_dod);
            write_xor(
                w,
                h.sum.to_bits(),
                self.sum.to_bits(),
                &mut self.leading,
                &mut self.trailing,
            );
            for (i, &b) in h
                .positive_buckets
                .iter()
                .enumerate()
                .take(self.positive.len())
            {
                let delta = b.wrapping_sub(self.positive[i]);
                write_varbit_int(w, delta.wrapping_sub(self.positive_change[i]));
                self.positive_change[i] = delta;
            }
            for (i, &b) in h
                .negative_buckets
                .iter()
                .enumerate()
                .take(self.negative.len())
            {
                let delta = b.wrapping_sub(self.negative[i]);
                write_varbit_int(w, delta.wrapping_sub(self.negative_change[i]));
                self.negative_change[i] = delta;
            }
        }
        self.t = t;
        self.cnt = h.count;
        self.zero_cnt = h.zero_count;
        self.t_delta = t_delta;
        self.cnt_delta = cnt_delta;
        self.zero_cnt_delta = zero_cnt_delta;
        copy_prefix(&mut self.positive, &h.positive_buckets);
        copy_prefix(&mut self.negative, &h.negative_buckets);
        self.sum = h.sum;
        self.count += 1;
    }
}

/// Go's `copy`: as many as both hold.
fn copy_prefix<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
}

impl Encoding for HistogramChunk {
    type Sample = Histogram;

    fn new() -> Self {
        Self::new()
    }
    fn count(&self) -> u16 {
        self.count
    }
    fn header(&self) -> CounterResetHeader {
        self.header
    }
    fn set_header(&mut self, header: CounterResetHeader) {
        self.header = header;
    }
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn last_totals(&self) -> (f64, f64, f64) {
        (self.cnt as f64, self.zero_cnt as f64, self.sum)
    }
    fn last_counts(&self) -> (Vec<f64>, Vec<f64>) {
        (absolute(&self.positive), absolute(&self.negative))
    }
    fn bucket_went_down(&self, h: &Histogram) -> bool {
        // Running sums of both delta lists, without building the counts.
        let went_down = |old: &[i64], new: &[i64]| {
            let (mut a, mut b) = (0i64, 0i64);
            old.iter().zip(new).any(|(x, y)| {
                a = a.wrapping_add(*x);
                b = b.wrapping_add(*y);
                b < a
            })
        };
        went_down(&self.positive, &h.positive_buckets)
            || went_down(&self.negative, &h.negative_buckets)
    }
    fn write_sample(&mut self, t: i64, h: &Histogram) {
        self.encode_sample(t, h);
    }
    fn recode(&self, positive: &[Insert], negative: &[Insert], spans: (&[Span], &[Span])) -> Self {
        let bytes = self.bytes();
        let mut out = Self::new();
        if let Some(iter) = HistogramIter::from_bytes(&bytes) {
            for (t, mut old) in iter {
                old.set_spans(spans.0.to_vec(), spans.1.to_vec());
                old.insert_buckets(positive, negative);
                out.encode_sample(t, &old);
            }
        }
        out.header = self.header;
        out
    }
    fn header_after(found: CounterResetHeader) -> CounterResetHeader {
        found
    }
    fn header_of_cut(found: CounterResetHeader) -> CounterResetHeader {
        found
    }
}

/// Iterator over an encoded integer histogram chunk.
pub struct HistogramIter<'a> {
    reader: BitReader<'a>,
    total: u16,
    read: u16,
    header: CounterResetHeader,
    layout: Layout,
    t: i64,
    cnt: u64,
    zero_cnt: u64,
    t_delta: i64,
    cnt_delta: i64,
    zero_cnt_delta: i64,
    positive: Vec<i64>,
    negative: Vec<i64>,
    positive_change: Vec<i64>,
    negative_change: Vec<i64>,
    sum: f64,
    leading: u8,
    trailing: u8,
    failed: bool,
}

impl<'a> HistogramIter<'a> {
    /// Iterates a chunk as [`HistogramChunk::bytes`] wrote it; `None` if it is too short.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        let (count, rest) = bytes.split_first_chunk::<2>()?;
        let (&flags, stream) = rest.split_first()?;
        Some(Self {
            reader: BitReader::new(stream),
            total: u16::from_be_bytes(*count),
            read: 0,
            header: CounterResetHeader::from_byte(flags),
            layout: Layout::default(),
            t: 0,
            cnt: 0,
            zero_cnt: 0,
            t_delta: 0,
            cnt_delta: 0,
            zero_cnt_delta: 0,
            positive: Vec::new(),
            negative: Vec::new(),
            positive_change: Vec::new(),
            negative_change: Vec::new(),
            sum: 0.0,
            leading: 0,
            trailing: 0,
            failed: false,
        })
    }

    pub fn header(&self) -> CounterResetHeader {
        self.header
    }

    /// Samples not yet read.
    pub fn remaining(&self) -> usize {
        usize::from(self.total - self.read)
    }

    /// Whether the stream ended early or held something impossible (a damaged chunk).
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn read_sample(&mut self) -> Option<()> {
        let r = &mut self.reader;
        if self.read == 0 {
            self.layout = Layout::read(r)?;
            if !model::histogram::is_known_schema(self.layout.schema) {
                return None;
            }
            let np = count_buckets(&self.layout.positive_spans);
            let nn = count_buckets(&self.layout.negative_spans);
            self.t = r.read_varbit_int()?;
            self.cnt = r.read_varbit_uint()?;
            self.zero_cnt = r.read_varbit_uint()?;
            self.sum = f64::from_bits(r.read_bits(64)?);
            self.positive = Vec::with_capacity(np.min(4096));
            for _ in 0..np {
                self.positive.push(r.read_varbit_int()?);
            }
            self.negative = Vec::with_capacity(nn.min(4096));
            for _ in 0..nn {
                self.negative.push(r.read_varbit_int()?);
            }
            self.positive_change = vec![0; np];
            self.negative_change = vec![0; nn];
            return Some(());
        }
        self.t_delta = self.t_delta.wrapping_add(r.read_varbit_int()?);
        self.t = self.t.wrapping_add(self.t_delta);
        self.cnt_delta = self.cnt_delta.wrapping_add(r.read_varbit_int()?);
        self.cnt = (self.cnt as i64).wrapping_add(self.cnt_delta) as u64;
        self.zero_cnt_delta = self.zero_cnt_delta.wrapping_add(r.read_varbit_int()?);
        self.zero_cnt = (self.zero_cnt as i64).wrapping_add(self.zero_cnt_delta) as u64;
        self.sum = f64::from_bits(r.read_xor(
            self.sum.to_bits(),
            &mut self.leading,
            &mut self.trailing,
        )?);
        if is_stale_nan(self.sum) {
            return Some(());
        }
        for (b, change) in self.positive.iter_mut().zip(&mut self.positive_change) {
            *change = change.wrapping_add(r.read_varbit_int()?);
            *b = b.wrapping_add(*change);
        }
        for (b, change) in self.negative.iter_mut().zip(&mut self.negative_change) {
            *change = change.wrapping_add(r.read_varbit_int()?);
            *b = b.wrapping_add(*change);
        }
        Some(())
    }

    fn current(&self) -> Histogram {
        if is_stale_nan(self.sum) {
            return Histogram {
                sum: self.sum,
                ..Histogram::default()
            };
        }
        Histogram {
            counter_reset_hint: self.header.hint_at(usize::from(self.read) - 1),
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.zero_cnt,
            count: self.cnt,
            sum: self.sum,
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: self.positive.clone(),
            negative_buckets: self.negative.clone(),
            custom_values: self.layout.custom_values.clone(),
        }
    }
}

impl Iterator for HistogramIter<'_> {
    type Item = (i64, Histogram);

    fn next(&mut self) -> Option<(i64, Histogram)> {
        if self.read >= self.total || self.failed {
            return None;
        }
        if self.read_sample().is_none() {
            self.failed = true;
            return None;
        }
        self.read += 1;
        Some((self.t, self.current()))
    }
}
