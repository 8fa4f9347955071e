//! Float histogram chunks (encoding 3), as Prometheus writes them.
//!
//! After the 3-byte header, the first sample writes the layout, its timestamp (varbit),
//! and its count, zero count, sum and every bucket's absolute count as 64 raw bits. Later
//! samples write the timestamp's delta of delta, then each of those values XOR-coded
//! against its own previous value (each with its own leading/trailing-zero window). A
//! stale marker stops after the sum.

use model::histogram::{FloatHistogram, Span};
use model::is_stale_nan;

use super::layout::{count_buckets, CounterResetHeader, Insert, Layout, HEADER_SIZE};
use super::{Appended, Encoding, Sample};
use crate::chunk::bits::{write_varbit_int, write_xor, BitReader, BitWriter};

/// A value XOR-coded against its previous one, with its zero window.
#[derive(Debug, Clone, Copy)]
struct XorValue {
    bits: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorValue {
    fn default() -> Self {
        Self {
            bits: 0,
            leading: 0xff,
            trailing: 0,
        }
    }
}

impl XorValue {
    fn starting_at(v: f64) -> Self {
        Self {
            bits: v.to_bits(),
            ..Self::default()
        }
    }

    fn write(&mut self, w: &mut BitWriter, v: f64) {
        write_xor(
            w,
            v.to_bits(),
            self.bits,
            &mut self.leading,
            &mut self.trailing,
        );
        self.bits = v.to_bits();
    }

    fn read(&mut self, r: &mut BitReader<'_>) -> Option<()> {
        self.bits = r.read_xor(self.bits, &mut self.leading, &mut self.trailing)?;
        Some(())
    }

    fn value(self) -> f64 {
        f64::from_bits(self.bits)
    }
}

/// A float histogram chunk being appended to.
#[derive(Debug, Clone, Default)]
pub struct FloatHistogramChunk {
    stream: BitWriter,
    count: u16,
    header: CounterResetHeader,
    layout: Layout,
    t: i64,
    t_delta: i64,
    cnt: XorValue,
    zero_cnt: XorValue,
    sum: XorValue,
    positive: Vec<XorValue>,
    negative: Vec<XorValue>,
}

impl FloatHistogramChunk {
    pub fn new() -> Self {
        Self {
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
    pub fn append(&mut self, t: i64, h: &FloatHistogram, prev: Option<&Self>) -> Appended<Self> {
        super::append(self, t, h, prev)
    }

    /// Encodes one sample (upstream's `appendFloatHistogram`).
    fn encode_sample(&mut self, t: i64, h: &FloatHistogram) {
        let stale;
        let h = if is_stale_nan(h.sum) {
            stale = FloatHistogram {
                sum: h.sum,
                ..FloatHistogram::default()
            };
            &stale
        } else {
            h
        };
        let w = &mut self.stream;
        let mut t_delta = 0;
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
            self.positive = (0..np)
                .map(|i| XorValue::starting_at(h.positive_buckets.get(i).copied().unwrap_or(0.0)))
                .collect();
            self.negative = (0..nn)
                .map(|i| XorValue::starting_at(h.negative_buckets.get(i).copied().unwrap_or(0.0)))
                .collect();
            write_varbit_int(w, t);
            for v in [h.count, h.zero_count, h.sum]
                .into_iter()
                .chain(h.positive_buckets.iter().copied())
                .chain(h.negative_buckets.iter().copied())
            {
                w.write_bits(v.to_bits(), 64);
            }
            self.cnt.bits = h.count.to_bits();
            self.zero_cnt.bits = h.zero_count.to_bits();
            self.sum.bits = h.sum.to_bits();
        } else {
            t_delta = t.wrapping_sub(self.t);
            write_varbit_int(w, t_delta.wrapping_sub(self.t_delta));
            self.cnt.write(w, h.count);
            self.zero_cnt.write(w, h.zero_count);
            self.sum.write(w, h.sum);
            for (x, &v) in self.positive.iter_mut().zip(&h.positive_buckets) {
                x.write(w, v);
            }
            for (x, &v) in self.negative.iter_mut().zip(&h.negative_buckets) {
                x.write(w, v);
            }
        }
        self.t = t;
        self.t_delta = t_delta;
        self.count += 1;
    }
}

impl Encoding for FloatHistogramChunk {
    type Sample = FloatHistogram;

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
        (self.cnt.value(), self.zero_cnt.value(), self.sum.value())
    }
    fn last_counts(&self) -> (Vec<f64>, Vec<f64>) {
        (
            self.positive.iter().map(|x| x.value()).collect(),
            self.negative.iter().map(|x| x.value()).collect(),
        )
    }
    fn write_sample(&mut self, t: i64, h: &FloatHistogram) {
        self.encode_sample(t, h);
    }
    fn recode(&self, positive: &[Insert], negative: &[Insert], spans: (&[Span], &[Span])) -> Self {
        let bytes = self.bytes();
        let mut out = Self::new();
        if let Some(iter) = FloatHistogramIter::from_bytes(&bytes) {
            for (t, mut old) in iter {
                old.set_spans(spans.0.to_vec(), spans.1.to_vec());
                old.insert_buckets(positive, negative);
                out.encode_sample(t, &old);
            }
        }
        out.header = self.header;
        out
    }
    /// Upstream's float chunks record only "reset" or "not reset" after a previous chunk.
    fn header_after(found: CounterResetHeader) -> CounterResetHeader {
        if found == CounterResetHeader::CounterReset {
            found
        } else {
            CounterResetHeader::NotCounterReset
        }
    }
    /// … and only "reset" or "unknown" on a cut.
    fn header_of_cut(found: CounterResetHeader) -> CounterResetHeader {
        if found == CounterResetHeader::CounterReset {
            found
        } else {
            CounterResetHeader::Unknown
        }
    }
}

/// Iterator over an encoded float histogram chunk.
pub struct FloatHistogramIter<'a> {
    reader: BitReader<'a>,
    total: u16,
    read: u16,
    header: CounterResetHeader,
    layout: Layout,
    t: i64,
    t_delta: i64,
    cnt: XorValue,
    zero_cnt: XorValue,
    sum: XorValue,
    positive: Vec<XorValue>,
    negative: Vec<XorValue>,
    failed: bool,
}

impl<'a> FloatHistogramIter<'a> {
    /// Iterates a chunk as [`FloatHistogramChunk::bytes`] wrote it; `None` if it is too
    /// short.
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
            t_delta: 0,
            cnt: XorValue::default(),
            zero_cnt: XorValue::default(),
            sum: XorValue::default(),
            positive: Vec::new(),
            negative: Vec::new(),
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
            // The windows start at 0, as upstream's reader has them: the second sample's
            // codes always carry their own.
            let raw = |r: &mut BitReader<'_>| -> Option<XorValue> {
                Some(XorValue {
                    bits: r.read_bits(64)?,
                    leading: 0,
                    trailing: 0,
                })
            };
            self.cnt = raw(r)?;
            self.zero_cnt = raw(r)?;
            self.sum = raw(r)?;
            self.positive = Vec::with_capacity(np.min(4096));
            for _ in 0..np {
                self.positive.push(raw(r)?);
            }
            self.negative = Vec::with_capacity(nn.min(4096));
            for _ in 0..nn {
                self.negative.push(raw(r)?);
            }
            return Some(());
        }
        self.t_delta = self.t_delta.wrapping_add(r.read_varbit_int()?);
        self.t = self.t.wrapping_add(self.t_delta);
        self.cnt.read(r)?;
        self.zero_cnt.read(r)?;
        self.sum.read(r)?;
        if is_stale_nan(self.sum.value()) {
            return Some(());
        }
        for x in self.positive.iter_mut().chain(self.negative.iter_mut()) {
            x.read(r)?;
        }
        Some(())
    }

    fn current(&self) -> FloatHistogram {
        if is_stale_nan(self.sum.value()) {
            return FloatHistogram {
                sum: self.sum.value(),
                ..FloatHistogram::default()
            };
        }
        let mut h = FloatHistogram {
            counter_reset_hint: self.header.hint_at(usize::from(self.read) - 1),
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.zero_cnt.value(),
            count: self.cnt.value(),
            sum: self.sum.value(),
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: self.positive.iter().map(|x| x.value()).collect(),
            negative_buckets: self.negative.iter().map(|x| x.value()).collect(),
            custom_values: self.layout.custom_values.clone(),
        };
        reduce_reserved_schema(&mut h);
        h
    }
}

/// A histogram of a reserved schema above 8, as a reader takes it: at schema 8.
pub(crate) fn reduce_reserved_schema(h: &mut FloatHistogram) {
    if h.schema > model::histogram::EXPONENTIAL_SCHEMA_MAX
        && h.schema <= model::histogram::EXPONENTIAL_SCHEMA_MAX_RESERVED
    {
        h.reduce_resolution(model::histogram::EXPONENTIAL_SCHEMA_MAX);
    }
}

impl Iterator for FloatHistogramIter<'_> {
    type Item = (i64, FloatHistogram);

    fn next(&mut self) -> Option<(i64, FloatHistogram)> {
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
