//! What the two histogram chunk encodings share: the 3-byte header, the layout written
//! before the first sample (zero threshold, schema, spans, custom bounds), and the
//! bookkeeping for a sample whose buckets differ from the chunk's ("inserts": empty
//! buckets added so that both cover the same buckets).

use model::histogram::{is_custom_buckets_schema, CounterResetHint, Span};

use crate::chunk::bits::{write_varbit_int, write_varbit_uint, BitReader, BitWriter};

/// The third byte of a histogram chunk: what is known about a counter reset at its first
/// sample (top two bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterResetHeader {
    #[default]
    Unknown,
    CounterReset,
    NotCounterReset,
    Gauge,
}

impl CounterResetHeader {
    pub fn byte(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::CounterReset => 0b1000_0000,
            Self::NotCounterReset => 0b0100_0000,
            Self::Gauge => 0b1100_0000,
        }
    }

    pub fn from_byte(b: u8) -> Self {
        match b & 0b1100_0000 {
            0b1000_0000 => Self::CounterReset,
            0b0100_0000 => Self::NotCounterReset,
            0b1100_0000 => Self::Gauge,
            _ => Self::Unknown,
        }
    }

    pub fn from_hint(hint: CounterResetHint) -> Self {
        match hint {
            CounterResetHint::CounterReset => Self::CounterReset,
            CounterResetHint::NotCounterReset => Self::NotCounterReset,
            CounterResetHint::Gauge => Self::Gauge,
            CounterResetHint::Unknown => Self::Unknown,
        }
    }

    /// The hint a reader gives the `index`th sample (0-based) of a chunk with this header.
    /// Only gauges and samples after the first are certain: the chunk before may be gone,
    /// or may have come later (out of order, backfill), so the first sample's header is not
    /// trusted.
    pub fn hint_at(self, index: usize) -> CounterResetHint {
        if self == Self::Gauge {
            CounterResetHint::Gauge
        } else if index > 0 {
            CounterResetHint::NotCounterReset
        } else {
            CounterResetHint::Unknown
        }
    }
}

/// Bytes before a histogram chunk's bit stream: 2 of sample count, 1 of header.
pub const HEADER_SIZE: usize = 3;

/// A histogram chunk's layout: everything but the counts, fixed for the whole chunk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub schema: i32,
    pub zero_threshold: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub custom_values: Vec<f64>,
}

impl Layout {
    pub fn write(&self, w: &mut BitWriter) {
        write_zero_threshold(w, self.zero_threshold);
        write_varbit_int(w, i64::from(self.schema));
        write_spans(w, &self.positive_spans);
        write_spans(w, &self.negative_spans);
        if is_custom_buckets_schema(self.schema) {
            write_varbit_uint(w, self.custom_values.len() as u64);
            for &bound in &self.custom_values {
                write_custom_bound(w, bound);
            }
        }
    }

    /// Reads a layout; `None` if the stream ends or a count is beyond what a chunk can
    /// hold (a damaged chunk must not make the reader allocate without bound).
    pub fn read(r: &mut BitReader<'_>) -> Option<Self> {
        let zero_threshold = read_zero_threshold(r)?;
        let schema = i32::try_from(r.read_varbit_int()?).ok()?;
        let positive_spans = read_spans(r)?;
        let negative_spans = read_spans(r)?;
        let mut custom_values = Vec::new();
        if is_custom_buckets_schema(schema) {
            let n = r.read_varbit_uint()?;
            if n > MAX_LAYOUT_ITEMS {
                return None;
            }
            for _ in 0..n {
                custom_values.push(read_custom_bound(r)?);
            }
        }
        Some(Self {
            schema,
            zero_threshold,
            positive_spans,
            negative_spans,
            custom_values,
        })
    }
}

/// Most spans, buckets or custom bounds a chunk's layout may announce. Chunks hold at most
/// a few KiB, each item takes at least one bit; anything beyond is damage.
const MAX_LAYOUT_ITEMS: u64 = 1 << 16;

/// The number of buckets spans describe.
pub fn count_buckets(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.length as usize).sum()
}

/// Total buckets a layout may have, summed over spans (as for [`MAX_LAYOUT_ITEMS`]).
pub fn plausible_bucket_count(spans: &[Span]) -> bool {
    spans.iter().map(|s| u64::from(s.length)).sum::<u64>() <= MAX_LAYOUT_ITEMS
}

fn write_spans(w: &mut BitWriter, spans: &[Span]) {
    write_varbit_uint(w, spans.len() as u64);
    for s in spans {
        write_varbit_uint(w, u64::from(s.length));
        write_varbit_int(w, i64::from(s.offset));
    }
}

fn read_spans(r: &mut BitReader<'_>) -> Option<Vec<Span>> {
    let n = r.read_varbit_uint()?;
    if n > MAX_LAYOUT_ITEMS {
        return None;
    }
    let mut spans = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let length = u32::try_from(r.read_varbit_uint()?).ok()?;
        let offset = i32::try_from(r.read_varbit_int()?).ok()?;
        spans.push(Span { offset, length });
    }
    plausible_bucket_count(&spans).then_some(spans)
}

/// The zero threshold in one byte when it is 0 (byte 0) or a power of two from 2^-243 to
/// 2^10 (its binary exponent + 243, as Go's `Frexp` gives it); otherwise byte 255 and the
/// 8 bytes of the float.
fn write_zero_threshold(w: &mut BitWriter, threshold: f64) {
    if threshold == 0.0 {
        w.write_byte(0);
        return;
    }
    match power_of_two_exponent(threshold) {
        Some(exp) if (-242..=11).contains(&exp) => w.write_byte((exp + 243) as u8),
        _ => {
            w.write_byte(255);
            w.write_bits(threshold.to_bits(), 64);
        }
    }
}

fn read_zero_threshold(r: &mut BitReader<'_>) -> Option<f64> {
    match r.read_bits(8)? as u8 {
        0 => Some(0.0),
        255 => Some(f64::from_bits(r.read_bits(64)?)),
        // 0.5 × 2^(b - 243) = 2^(b - 244): always a normal float, built from its exponent.
        b => Some(f64::from_bits(((i64::from(b) - 244 + 1023) as u64) << 52)),
    }
}

/// `Some(e)` when `x` is exactly `0.5 × 2^e` (Go's `Frexp` giving a fraction of 0.5).
fn power_of_two_exponent(x: f64) -> Option<i32> {
    if !x.is_finite() || x <= 0.0 {
        return None;
    }
    let bits = x.to_bits();
    let mantissa = bits & ((1u64 << 52) - 1);
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: a power of two when one bit is set.
        if mantissa.count_ones() != 1 {
            return None;
        }
        // value = mantissa × 2^-1074 = 0.5 × 2^(log2(mantissa) - 1073)
        return Some(mantissa.trailing_zeros() as i32 - 1073);
    }
    (mantissa == 0).then_some(biased - 1022)
}

/// A custom bucket bound: multiples of 0.001 from 0 to 33554.43 as `bound × 1000 + 1` in
/// the unsigned varbit code (at most 4 bytes), anything else as a 0 bit and the 8 bytes of
/// the float.
fn write_custom_bound(w: &mut BitWriter, bound: f64) {
    let scaled = bound * 1000.0;
    if !(0.0..=33_554_430.0).contains(&scaled) || !whole_when_multiplied(bound) {
        w.write_bit(false);
        w.write_bits(bound.to_bits(), 64);
        return;
    }
    write_varbit_uint(w, scaled.round() as u64 + 1);
}

/// Upstream's `isWholeWhenMultiplied`: `bound` survives a round trip through thousandths.
fn whole_when_multiplied(bound: f64) -> bool {
    let thousandths = (bound * 1000.0).round() as u64;
    bound == thousandths as f64 / 1000.0
}

fn read_custom_bound(r: &mut BitReader<'_>) -> Option<f64> {
    match r.read_varbit_uint()? {
        0 => Some(f64::from_bits(r.read_bits(64)?)),
        n => Some((n - 1) as f64 / 1000.0),
    }
}

/// The global bucket indexes spans cover, lowest first.
pub fn bucket_indexes(spans: &[Span]) -> impl Iterator<Item = i64> + '_ {
    let mut next = 0i64;
    spans.iter().enumerate().flat_map(move |(i, s)| {
        // The first span's offset is its first index; later ones count from the end of
        // the previous span.
        let start = if i == 0 {
            i64::from(s.offset)
        } else {
            next + i64::from(s.offset)
        };
        next = start + i64::from(s.length);
        start..next
    })
}

/// `num` empty buckets to add before the bucket at position `pos` of a bucket list (or at
/// its end); `bucket_index` is the global index of the first of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Insert {
    pub pos: usize,
    pub num: usize,
    pub bucket_index: i64,
}

/// The bucket values a chunk keeps: integer deltas (integer histograms) or absolute
/// floats.
pub trait BucketValue:
    Copy + Default + std::ops::Add<Output = Self> + std::ops::Neg<Output = Self>
{
}
impl BucketValue for i64 {}
impl BucketValue for f64 {}

/// `values` with the empty buckets `inserts` describe added. With `deltas`, values are
/// deltas to the previous bucket, and the inserted buckets and the one after them are
/// adjusted so that every bucket keeps its count.
pub fn insert_buckets<V: BucketValue>(values: &[V], inserts: &[Insert], deltas: bool) -> Vec<V> {
    let added: usize = inserts.iter().map(|i| i.num).sum();
    let mut out = Vec::with_capacity(values.len() + added);
    let mut running = V::default();
    let mut next = 0;
    for (i, &d) in values.iter().enumerate() {
        if next >= inserts.len() || inserts[next].pos != i {
            out.push(d);
            running = running + d;
            continue;
        }
        let mut first = true;
        while next < inserts.len() && inserts[next].pos == i {
            // The first inserted bucket brings the running count to zero.
            out.push(if deltas && first {
                -running
            } else {
                V::default()
            });
            first = false;
            out.extend(std::iter::repeat_n(V::default(), inserts[next].num - 1));
            next += 1;
        }
        // Back from zero to this bucket's count.
        out.push(if deltas { d + running } else { d });
        running = running + d;
    }
    for ins in &inserts[next..] {
        out.push(if deltas { -running } else { V::default() });
        out.extend(std::iter::repeat_n(V::default(), ins.num - 1));
        running = V::default();
    }
    out
}

/// Builds spans bucket by bucket from ascending global indexes.
#[derive(Default)]
struct SpanBuilder {
    spans: Vec<Span>,
    last: i64,
}

impl SpanBuilder {
    fn add(&mut self, index: i64) {
        let offset = index - self.last - 1;
        match self.spans.last_mut() {
            Some(last) if offset == 0 => last.length += 1,
            _ => {
                let offset = if self.spans.is_empty() {
                    offset + 1
                } else {
                    offset
                };
                self.spans.push(Span {
                    offset: offset as i32,
                    length: 1,
                });
            }
        }
        self.last = index;
    }
}

/// For two span lists whose buckets may each lack some of the other's: the inserts that
/// give `a` the buckets only `b` has ("forward"), those that give `b` the buckets only
/// `a` has ("backward"), and the merged spans. Gauge histograms append this way: their
/// buckets come and go without meaning a reset.
pub fn expand_spans_both_ways(a: &[Span], b: &[Span]) -> (Vec<Insert>, Vec<Insert>, Vec<Span>) {
    let mut ai = bucket_indexes(a).peekable();
    let mut bi = bucket_indexes(b).peekable();
    let (mut forward, mut backward) = (Vec::new(), Vec::new());
    let mut merged = SpanBuilder::default();
    let (mut f, mut bk) = (Insert::default(), Insert::default());
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (Some(x), Some(y)) if x == y => {
                flush(&mut forward, &mut f);
                flush(&mut backward, &mut bk);
                merged.add(x);
                ai.next();
                bi.next();
                f.pos += 1;
                bk.pos += 1;
            }
            (Some(x), Some(y)) if x < y => {
                bk.num += 1;
                flush(&mut forward, &mut f);
                merged.add(x);
                f.pos += 1;
                ai.next();
            }
            (Some(_), Some(y)) => {
                f.num += 1;
                flush(&mut backward, &mut bk);
                merged.add(y);
                bk.pos += 1;
                bi.next();
            }
            (Some(x), None) => {
                bk.num += 1;
                merged.add(x);
                ai.next();
            }
            (None, Some(y)) => {
                f.num += 1;
                merged.add(y);
                bi.next();
            }
            (None, None) => {
                flush(&mut forward, &mut f);
                flush(&mut backward, &mut bk);
                return (forward, backward, merged.spans);
            }
        }
    }
}

/// Ends a run of inserts at the current position, if there is one.
fn flush(inserts: &mut Vec<Insert>, current: &mut Insert) {
    if current.num > 0 {
        inserts.push(*current);
        current.num = 0;
    }
}

/// For appending a counter histogram with buckets `b_values` over `b` to a chunk whose
/// last histogram has `a_values` over `a` (absolute counts, as `count_at` gives them):
/// the inserts that give `a` the buckets only `b` has, and those that give `b` the
/// buckets only `a` has (allowed only where `a`'s count is 0). `None` when a bucket's
/// count went down, or a bucket with counts disappeared: a counter reset.
pub fn expand_counter_spans(
    a: &[Span],
    b: &[Span],
    a_count: impl Fn(usize) -> f64,
    b_count: impl Fn(usize) -> f64,
) -> Option<(Vec<Insert>, Vec<Insert>)> {
    let mut ai = bucket_indexes(a).peekable();
    let mut bi = bucket_indexes(b).peekable();
    let (mut a_inserts, mut b_inserts) = (Vec::new(), Vec::new());
    let (mut a_ins, mut b_ins) = (Insert::default(), Insert::default());
    let (mut a_pos, mut b_pos) = (0usize, 0usize);

    // Adds the bucket at global index `index` to a run of inserts, starting a new run if it
    // does not continue the current one.
    fn add(inserts: &mut Vec<Insert>, ins: &mut Insert, index: i64) {
        if ins.num == 0 {
            ins.bucket_index = index;
        } else if ins.bucket_index + ins.num as i64 != index {
            inserts.push(*ins);
            ins.num = 0;
            ins.bucket_index = index;
        }
        ins.num += 1;
    }

    loop {
        let (a_next, b_next) = (ai.peek().copied(), bi.peek().copied());
        let only_a = match (a_next, b_next) {
            (Some(x), Some(y)) => x < y,
            (Some(_), None) => true,
            _ => false,
        };
        match (a_next, b_next) {
            (Some(x), Some(y)) if x == y => {
                if a_count(a_pos) > b_count(b_pos) {
                    return None;
                }
                flush(&mut a_inserts, &mut a_ins);
                ai.next();
                a_pos += 1;
                a_ins.pos += 1;
                flush(&mut b_inserts, &mut b_ins);
                bi.next();
                b_pos += 1;
                b_ins.pos += 1;
            }
            (Some(x), _) if only_a => {
                // `b` lacks a bucket of `a`: fine only if it was empty.
                if a_count(a_pos) != 0.0 {
                    return None;
                }
                add(&mut b_inserts, &mut b_ins, x);
                flush(&mut a_inserts, &mut a_ins);
                ai.next();
                a_pos += 1;
                a_ins.pos += 1;
            }
            (_, Some(y)) => {
                add(&mut a_inserts, &mut a_ins, y);
                flush(&mut b_inserts, &mut b_ins);
                bi.next();
                b_pos += 1;
                b_ins.pos += 1;
            }
            (Some(_), None) | (None, None) => {
                // `(Some, None)` is `only_a`, handled above.
                flush(&mut a_inserts, &mut a_ins);
                flush(&mut b_inserts, &mut b_ins);
                return Some((a_inserts, b_inserts));
            }
        }
    }
}

/// `spans` with the buckets of `inserts` (by their global indexes) added.
pub fn adjust_for_inserts(spans: &[Span], inserts: &[Insert]) -> Vec<Span> {
    if inserts.is_empty() {
        return spans.to_vec();
    }
    let mut added = inserts
        .iter()
        .flat_map(|ins| (0..ins.num as i64).map(move |k| ins.bucket_index + k))
        .peekable();
    let mut existing = bucket_indexes(spans).peekable();
    let mut merged = SpanBuilder::default();
    loop {
        match (existing.peek().copied(), added.peek().copied()) {
            (Some(e), Some(a)) if a < e => {
                merged.add(a);
                added.next();
            }
            (Some(e), _) => {
                merged.add(e);
                existing.next();
            }
            (None, Some(a)) => {
                merged.add(a);
                added.next();
            }
            (None, None) => return merged.spans,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[(i32, u32)]) -> Vec<Span> {
        list.iter().map(|&(o, l)| Span::new(o, l)).collect()
    }

    #[test]
    fn zero_thresholds_take_one_byte_when_powers_of_two() {
        for (threshold, bytes) in [
            (0.0, 1),
            (2f64.powi(-128), 1),
            (1e-128, 9),
            (2f64.powi(-243), 1),
            (2f64.powi(-244), 9),
            (1024.0, 1),
            (2048.0, 9),
            (0.001, 9),
        ] {
            let mut w = BitWriter::default();
            write_zero_threshold(&mut w, threshold);
            // Plus the empty byte Go's writer leaves after whole bytes.
            assert_eq!(w.bytes.len(), bytes + 1, "{threshold}");
            assert_eq!(w.bytes.last(), Some(&0), "{threshold}");
            let back = read_zero_threshold(&mut BitReader::new(&w.bytes)).unwrap();
            assert_eq!(back.to_bits(), threshold.to_bits());
        }
        // The default threshold is byte 116, as upstream documents.
        let mut w = BitWriter::default();
        write_zero_threshold(&mut w, 2f64.powi(-128));
        assert_eq!(w.bytes, [116, 0]);
    }

    #[test]
    fn custom_bounds_round_trip() {
        let layout = Layout {
            schema: -53,
            zero_threshold: 0.0,
            positive_spans: spans(&[(0, 4)]),
            negative_spans: vec![],
            custom_values: vec![
                0.005,
                1.0,
                2.5,
                33554.43,
                33554.431,
                -1.0,
                0.1 + 0.2,
                f64::INFINITY,
            ],
        };
        let mut w = BitWriter::default();
        layout.write(&mut w);
        let back = Layout::read(&mut BitReader::new(&w.bytes)).unwrap();
        assert_eq!(back, layout);
    }

    #[test]
    fn inserts_keep_delta_counts() {
        // Buckets 0,1 with counts 2,3 (deltas 2,1); insert one bucket before position 1
        // and two at the end.
        let inserts = [
            Insert {
                pos: 1,
                num: 1,
                bucket_index: 1,
            },
            Insert {
                pos: 2,
                num: 2,
                bucket_index: 3,
            },
        ];
        let out = insert_buckets(&[2i64, 1], &inserts, true);
        // Counts 2,0,3,0,0.
        assert_eq!(out, vec![2, -2, 3, -3, 0]);
        let abs = insert_buckets(&[2.0, 3.0], &inserts, false);
        assert_eq!(abs, vec![2.0, 0.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn expanding_both_ways_merges_spans() {
        // a covers 0,1 and 5; b covers 1,2 and 5,6.
        let a = spans(&[(0, 2), (3, 1)]);
        let b = spans(&[(1, 2), (2, 2)]);
        let (forward, backward, merged) = expand_spans_both_ways(&a, &b);
        assert_eq!(merged, spans(&[(0, 3), (2, 2)]));
        assert_eq!(
            forward,
            vec![
                Insert {
                    pos: 2,
                    num: 1,
                    bucket_index: 0
                },
                Insert {
                    pos: 3,
                    num: 1,
                    bucket_index: 0
                }
            ]
        );
        assert_eq!(
            backward,
            vec![Insert {
                pos: 0,
                num: 1,
                bucket_index: 0
            }]
        );
        assert_eq!(
            adjust_for_inserts(
                &a,
                &[Insert {
                    pos: 2,
                    num: 1,
                    bucket_index: 2
                }]
            ),
            spans(&[(0, 3), (2, 1)])
        );
    }

    #[test]
    fn counter_spans_refuse_lost_or_lower_buckets() {
        let a = spans(&[(0, 2)]);
        let b = spans(&[(0, 3)]);
        let counts_a = [1.0, 2.0];
        let counts_b = [1.0, 2.0, 5.0];
        let (fwd, back) = expand_counter_spans(&a, &b, |i| counts_a[i], |i| counts_b[i]).unwrap();
        assert_eq!(
            fwd,
            vec![Insert {
                pos: 2,
                num: 1,
                bucket_index: 2
            }]
        );
        assert!(back.is_empty());
        // A bucket that went down is a reset.
        assert!(expand_counter_spans(&a, &a, |i| counts_a[i], |_| 0.5).is_none());
        // A bucket with counts that vanished is a reset; an empty one is not.
        assert!(expand_counter_spans(&b, &a, |i| counts_b[i], |i| counts_a[i]).is_none());
        let (fwd, back) =
            expand_counter_spans(&b, &a, |i| [1.0, 2.0, 0.0][i], |i| counts_a[i]).unwrap();
        assert!(fwd.is_empty());
        assert_eq!(
            back,
            vec![Insert {
                pos: 2,
                num: 1,
                bucket_index: 2
            }]
        );
    }
}
