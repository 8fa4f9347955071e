//! The histogram samples record (type `8`): `uvarint count`, then per sample `uvarint ref`,
//! zigzag `varint timestamp`, a kind byte (0 integer, 1 float) and the histogram: hint
//! byte (0 unknown, 1 reset, 2 no reset, 3 gauge), zigzag schema, `f64` zero threshold,
//! zero count and count (`uvarint` each for integers, `f64` for floats), `f64` sum, positive
//! then negative spans (`uvarint n`, then zigzag offset and `uvarint` length each),
//! positive then negative buckets (`uvarint n`, then zigzag deltas or `f64` counts), custom
//! bounds (`uvarint n`, `f64` each). Floats are little-endian bits. Type `9` is the same
//! with each sample's start timestamp after its histogram (zigzag `varint`; 0: none).
//! Writers use `9` only when a sample of the record has a start timestamp.
//!
//! Every count read is checked against the bytes left (each item takes at least one), so a
//! damaged record cannot make replay allocate without bound.

use model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};

use crate::varint::{put_uvarint, read_uvarint, unzigzag, zigzag};

/// About the bytes [`encode`] writes for one sample, generous for the usual histogram
/// (refs, times and counts of a few bytes, bucket deltas and span fields of one or two), so
/// that a record is written without growing; an unusual one only makes it grow.
pub(super) fn estimated_len(h: &HistogramValue) -> usize {
    // ref, timestamp, kind, hint, schema, zero threshold, zero count, count, sum, start,
    // and the five list lengths.
    const FIXED: usize = 5 + 7 + 1 + 1 + 1 + 8 + 4 + 5 + 8 + 7 + 5;
    let (spans, buckets, custom) = match h {
        HistogramValue::Int(h) => (
            h.positive_spans.len() + h.negative_spans.len(),
            (h.positive_buckets.len() + h.negative_buckets.len()) * 2,
            h.custom_values.len(),
        ),
        HistogramValue::Float(h) => (
            h.positive_spans.len() + h.negative_spans.len(),
            (h.positive_buckets.len() + h.negative_buckets.len()) * 8,
            h.custom_values.len(),
        ),
    };
    FIXED + spans * 4 + buckets + custom * 8
}

pub(super) fn encode<'a>(
    out: &mut Vec<u8>,
    samples: impl ExactSizeIterator<Item = (u64, i64, &'a HistogramValue, i64)>,
    with_starts: bool,
) {
    put_uvarint(out, samples.len() as u64);
    for (r, t, h, st) in samples {
        put_uvarint(out, r);
        put_uvarint(out, zigzag(t));
        match h {
            HistogramValue::Int(h) => {
                out.push(0);
                out.push(hint_byte(h.counter_reset_hint));
                put_uvarint(out, zigzag(i64::from(h.schema)));
                put_f64(out, h.zero_threshold);
                put_uvarint(out, h.zero_count);
                put_uvarint(out, h.count);
                put_f64(out, h.sum);
                put_spans(out, &h.positive_spans);
                put_spans(out, &h.negative_spans);
                for buckets in [&h.positive_buckets, &h.negative_buckets] {
                    put_uvarint(out, buckets.len() as u64);
                    for &b in buckets {
                        put_uvarint(out, zigzag(b));
                    }
                }
                put_floats(out, &h.custom_values);
            }
            HistogramValue::Float(h) => {
                out.push(1);
                out.push(hint_byte(h.counter_reset_hint));
                put_uvarint(out, zigzag(i64::from(h.schema)));
                put_f64(out, h.zero_threshold);
                put_f64(out, h.zero_count);
                put_f64(out, h.count);
                put_f64(out, h.sum);
                put_spans(out, &h.positive_spans);
                put_spans(out, &h.negative_spans);
                put_floats(out, &h.positive_buckets);
                put_floats(out, &h.negative_buckets);
                put_floats(out, &h.custom_values);
            }
        }
        if with_starts {
            put_uvarint(out, zigzag(st));
        }
    }
}

pub(super) fn decode(
    buf: &[u8],
    pos: &mut usize,
    count: usize,
    with_starts: bool,
) -> Option<Vec<(u64, i64, HistogramValue, i64)>> {
    let mut out = Vec::with_capacity(count.min(buf.len()));
    for _ in 0..count {
        let r = read_uvarint(buf, pos)?;
        let t = unzigzag(read_uvarint(buf, pos)?);
        let kind = byte(buf, pos)?;
        let hint = hint_from_byte(byte(buf, pos)?)?;
        let schema = i32::try_from(unzigzag(read_uvarint(buf, pos)?)).ok()?;
        let zero_threshold = get_f64(buf, pos)?;
        let h = match kind {
            0 => {
                let zero_count = read_uvarint(buf, pos)?;
                let count = read_uvarint(buf, pos)?;
                let sum = get_f64(buf, pos)?;
                let positive_spans = get_spans(buf, pos)?;
                let negative_spans = get_spans(buf, pos)?;
                let positive_buckets = get_deltas(buf, pos)?;
                let negative_buckets = get_deltas(buf, pos)?;
                let custom_values = get_floats(buf, pos)?;
                HistogramValue::Int(Histogram {
                    counter_reset_hint: hint,
                    schema,
                    zero_threshold,
                    zero_count,
                    count,
                    sum,
                    positive_spans,
                    negative_spans,
                    positive_buckets,
                    negative_buckets,
                    custom_values,
                })
            }
            1 => {
                let zero_count = get_f64(buf, pos)?;
                let count = get_f64(buf, pos)?;
                let sum = get_f64(buf, pos)?;
                let positive_spans = get_spans(buf, pos)?;
                let negative_spans = get_spans(buf, pos)?;
                let positive_buckets = get_floats(buf, pos)?;
                let negative_buckets = get_floats(buf, pos)?;
                let custom_values = get_floats(buf, pos)?;
                HistogramValue::Float(FloatHistogram {
                    counter_reset_hint: hint,
                    schema,
                    zero_threshold,
                    zero_count,
                    count,
                    sum,
                    positive_spans,
                    negative_spans,
                    positive_buckets,
                    negative_buckets,
                    custom_values,
                })
            }
            _ => return None,
        };
        let st = if with_starts {
            unzigzag(read_uvarint(buf, pos)?)
        } else {
            0
        };
        out.push((r, t, h, st));
    }
    Some(out)
}

fn hint_byte(hint: CounterResetHint) -> u8 {
    match hint {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_from_byte(b: u8) -> Option<CounterResetHint> {
    Some(match b {
        0 => CounterResetHint::Unknown,
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => return None,
    })
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn put_floats(out: &mut Vec<u8>, values: &[f64]) {
    put_uvarint(out, values.len() as u64);
    for &v in values {
        put_f64(out, v);
    }
}

fn put_spans(out: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_uvarint(out, zigzag(i64::from(s.offset)));
        put_uvarint(out, u64::from(s.length));
    }
}

fn byte(buf: &[u8], pos: &mut usize) -> Option<u8> {
    let b = *buf.get(*pos)?;
    *pos += 1;
    Some(b)
}

fn get_f64(buf: &[u8], pos: &mut usize) -> Option<f64> {
    let bytes = buf.get(*pos..*pos + 8)?;
    *pos += 8;
    Some(f64::from_bits(u64::from_le_bytes(bytes.try_into().ok()?)))
}

/// A count of items that each take at least one byte: no more than the bytes left.
fn count(buf: &[u8], pos: &mut usize) -> Option<usize> {
    let n = usize::try_from(read_uvarint(buf, pos)?).ok()?;
    (n <= buf.len().saturating_sub(*pos)).then_some(n)
}

fn get_floats(buf: &[u8], pos: &mut usize) -> Option<Vec<f64>> {
    let n = count(buf, pos)?;
    (0..n).map(|_| get_f64(buf, pos)).collect()
}

fn get_deltas(buf: &[u8], pos: &mut usize) -> Option<Vec<i64>> {
    let n = count(buf, pos)?;
    (0..n)
        .map(|_| read_uvarint(buf, pos).map(unzigzag))
        .collect()
}

fn get_spans(buf: &[u8], pos: &mut usize) -> Option<Vec<Span>> {
    let n = count(buf, pos)?;
    (0..n)
        .map(|_| {
            let offset = i32::try_from(unzigzag(read_uvarint(buf, pos)?)).ok()?;
            let length = u32::try_from(read_uvarint(buf, pos)?).ok()?;
            Some(Span { offset, length })
        })
        .collect()
}
