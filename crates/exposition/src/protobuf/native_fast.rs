//! The common case of a scrape with native histograms, decoded by hand: a histogram family
//! every metric of which has native buckets and no exemplars, taken native only (no
//! classic series). The message is read in place, each histogram's buckets go straight
//! into the model's vectors (sized once), and nothing else is built: prost's decoding of
//! the same family into owned messages was most of a native histogram scrape's CPU.
//!
//! Anything else (another metric type, a histogram without native buckets, exemplars,
//! another sub-message, a field that appears twice where prost would merge, a wire type
//! or value prost would refuse) gives `None`, and the family goes through prost, which
//! then decides: both paths give the same result, which the tests and the
//! `protobuf_exposition` fuzz target check.

use model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};

use super::messages::{GAUGE_HISTOGRAM, HISTOGRAM};
use super::NativeHistogramSample;

/// The header of a family the fast path took (its samples went to the caller's list).
pub(super) struct NativeFamily<'a> {
    pub name: &'a str,
    pub help: &'a str,
}

/// A protobuf reader over one message.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// A varint as prost reads it: at most ten bytes, the tenth at most 1.
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        // Most are one byte: keys, lengths, small bucket deltas.
        let first = *self.buf.get(self.pos)?;
        if first < 0x80 {
            self.pos += 1;
            return Some(u64::from(first));
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// A field's number and wire type (prost refuses field 0 and keys past `u32`).
    fn key(&mut self) -> Option<(u32, u8)> {
        let key = self.varint()?;
        let key = u32::try_from(key).ok()?;
        let field = key >> 3;
        if field == 0 {
            return None;
        }
        Some((field, (key & 7) as u8))
    }

    fn fixed64(&mut self) -> Option<u64> {
        let end = self.pos.checked_add(8)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn double(&mut self, wire: u8) -> Option<f64> {
        (wire == FIXED64).then_some(())?;
        self.fixed64().map(f64::from_bits)
    }

    fn uint(&mut self, wire: u8) -> Option<u64> {
        (wire == VARINT).then_some(())?;
        self.varint()
    }

    /// Skips an unknown field (groups, which prost also takes, are left to it).
    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            VARINT => self.varint().map(|_| ()),
            FIXED64 => self.fixed64().map(|_| ()),
            LEN => self.bytes().map(|_| ()),
            FIXED32 => {
                let end = self.pos.checked_add(4)?;
                self.buf.get(self.pos..end)?;
                self.pos = end;
                Some(())
            }
            _ => None,
        }
    }
}

fn zigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Decodes a `MetricFamily` message when the fast path applies, appending its samples to
/// `out` (which is left as it was when it does not).
pub(super) fn decode<'a>(
    message: &'a [u8],
    out: &mut Vec<NativeHistogramSample>,
) -> Option<NativeFamily<'a>> {
    let mut r = Reader::new(message);
    let (mut name, mut help, mut kind) = ("", "", 0i32);
    let mut metrics = Vec::new();
    while !r.done() {
        match r.key()? {
            (1, LEN) => name = r.string()?,
            (2, LEN) => help = r.string()?,
            (3, VARINT) => kind = r.varint()? as i32,
            (4, LEN) => metrics.push(r.bytes()?),
            (5, LEN) => {
                r.string()?;
            }
            (1..=5, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    if name.is_empty() || (kind != HISTOGRAM && kind != GAUGE_HISTOGRAM) {
        return None;
    }
    let gauge = kind == GAUGE_HISTOGRAM;
    let before = out.len();
    out.reserve(metrics.len());
    let shared_name: std::sync::Arc<str> = std::sync::Arc::from(name);
    for m in metrics {
        let Some((labels, ts, value)) = metric(m, gauge) else {
            out.truncate(before);
            return None;
        };
        out.push(NativeHistogramSample {
            name: std::sync::Arc::clone(&shared_name),
            labels,
            timestamp_ms: (ts != 0).then_some(ts),
            value,
            exemplars: Vec::new(),
        });
    }
    Some(NativeFamily { name, help })
}

fn metric(message: &[u8], gauge: bool) -> Option<(crate::LabelPairs, i64, HistogramValue)> {
    let mut r = Reader::new(message);
    // Names and values take at most the metric's bytes, plus their length prefixes.
    let mut labels =
        crate::label_pairs::LabelPairsBuilder::with_capacity(message.len().min(1024) + 16);
    let mut timestamp_ms = 0i64;
    let mut histogram = None;
    while !r.done() {
        match r.key()? {
            (1, LEN) => {
                let (name, value) = label(r.bytes()?)?;
                labels.push(name, value);
            }
            (6, VARINT) => timestamp_ms = r.varint()? as i64,
            // A second histogram would be merged into the first by prost.
            (7, LEN) if histogram.is_none() => histogram = Some(r.bytes()?),
            // Other values in a histogram family: prost's to decode.
            (1..=7, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    let value = native(histogram?, gauge)?;
    Some((labels.finish(), timestamp_ms, value))
}

fn label(message: &[u8]) -> Option<(&str, &str)> {
    let mut r = Reader::new(message);
    let (mut name, mut value) = ("", "");
    while !r.done() {
        match r.key()? {
            (1, LEN) => name = r.string()?,
            (2, LEN) => value = r.string()?,
            (1 | 2, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some((name, value))
}

fn spans(out: &mut Vec<Span>, message: &[u8]) -> Option<()> {
    if out.capacity() == 0 {
        // Most histograms have one or two spans.
        out.reserve_exact(2);
    }
    let mut r = Reader::new(message);
    let (mut offset, mut length) = (0i32, 0u32);
    while !r.done() {
        match r.key()? {
            (1, VARINT) => offset = zigzag32(r.varint()?),
            (2, VARINT) => length = r.varint()? as u32,
            (1 | 2, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    out.push(Span::new(offset, length));
    Some(())
}

/// Repeated `sint64`, packed or not.
fn deltas(out: &mut Vec<i64>, r: &mut Reader<'_>, wire: u8) -> Option<()> {
    match wire {
        VARINT => out.push(zigzag64(r.varint()?)),
        LEN => {
            let packed = r.bytes()?;
            out.reserve(packed.iter().filter(|b| **b < 0x80).count());
            let mut p = Reader::new(packed);
            while !p.done() {
                out.push(zigzag64(p.varint()?));
            }
        }
        _ => return None,
    }
    Some(())
}

/// Repeated `double`, packed or not.
fn counts(out: &mut Vec<f64>, r: &mut Reader<'_>, wire: u8) -> Option<()> {
    match wire {
        FIXED64 => out.push(f64::from_bits(r.fixed64()?)),
        LEN => {
            let packed = r.bytes()?;
            if packed.len() % 8 != 0 {
                return None;
            }
            out.extend(
                packed
                    .chunks_exact(8)
                    .filter_map(|c| c.try_into().ok().map(u64::from_le_bytes))
                    .map(f64::from_bits),
            );
        }
        _ => return None,
    }
    Some(())
}

/// A `Histogram` message with native buckets as the model's histogram (what
/// `messages::Histogram::into_native` makes of it).
fn native(message: &[u8], gauge: bool) -> Option<HistogramValue> {
    let mut r = Reader::new(message);
    let (mut count, mut count_float, mut sum) = (0u64, 0f64, 0f64);
    let (mut schema, mut zero_threshold) = (0i32, 0f64);
    let (mut zero_count, mut zero_count_float) = (0u64, 0f64);
    let (mut positive_spans, mut negative_spans) = (Vec::new(), Vec::new());
    let (mut positive_deltas, mut negative_deltas) = (Vec::new(), Vec::new());
    let (mut positive_counts, mut negative_counts) = (Vec::new(), Vec::new());
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => count = r.uint(wire)?,
            2 => sum = r.double(wire)?,
            3 if wire == LEN => bucket_checked(r.bytes()?)?,
            4 => count_float = r.double(wire)?,
            5 => schema = zigzag32(r.uint(wire)?),
            6 => zero_threshold = r.double(wire)?,
            7 => zero_count = r.uint(wire)?,
            8 => zero_count_float = r.double(wire)?,
            9 if wire == LEN => spans(&mut negative_spans, r.bytes()?)?,
            10 => deltas(&mut negative_deltas, &mut r, wire)?,
            11 => counts(&mut negative_counts, &mut r, wire)?,
            12 if wire == LEN => spans(&mut positive_spans, r.bytes()?)?,
            13 => deltas(&mut positive_deltas, &mut r, wire)?,
            14 => counts(&mut positive_counts, &mut r, wire)?,
            // Exemplars, and wrong wire types of the fields above: prost's to handle.
            3 | 9 | 12 | 16 => return None,
            _ => r.skip(wire)?,
        }
    }
    let is_native = !positive_spans.is_empty()
        || !negative_spans.is_empty()
        || zero_threshold > 0.0
        || zero_count > 0
        || zero_count_float > 0.0;
    if !is_native {
        return None;
    }
    let counter_reset_hint = if gauge {
        CounterResetHint::Gauge
    } else {
        CounterResetHint::Unknown
    };
    if count_float > 0.0 || zero_count_float > 0.0 {
        return Some(HistogramValue::Float(FloatHistogram {
            counter_reset_hint,
            schema,
            zero_threshold,
            zero_count: zero_count_float,
            count: count_float,
            sum,
            positive_spans,
            negative_spans,
            positive_buckets: positive_counts,
            negative_buckets: negative_counts,
            custom_values: Vec::new(),
        }));
    }
    Some(HistogramValue::Int(Histogram {
        counter_reset_hint,
        schema,
        zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets: positive_deltas,
        negative_buckets: negative_deltas,
        custom_values: Vec::new(),
    }))
}

/// A classic bucket beside native ones: its fields are checked as prost would decode
/// them; one with an exemplar goes the slow way.
fn bucket_checked(message: &[u8]) -> Option<()> {
    let mut r = Reader::new(message);
    while !r.done() {
        match r.key()? {
            (1, VARINT) => {
                r.varint()?;
            }
            (2 | 4, FIXED64) => {
                r.fixed64()?;
            }
            (1..=4, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some(())
}
