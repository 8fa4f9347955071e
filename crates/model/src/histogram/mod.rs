//! Native histograms, as Prometheus 3 models them (`native_histograms.md`, "Data model"):
//! a count and a sum of observations, sparse buckets given by a schema and spans (positive
//! and negative), a zero bucket, and for schema -53 custom bucket bounds.
//!
//! - [`Histogram`]: integer histograms, buckets as deltas to the previous bucket (as
//!   exposed and stored);
//! - [`FloatHistogram`]: float histograms, buckets as absolute counts (what PromQL works
//!   on; every integer histogram becomes one when read);
//! - `buckets`: bucket boundaries and iteration over spans; `validate`: the checks a
//!   histogram must pass before it is stored, with upstream's error texts; `compact`:
//!   removing empty buckets and merging spans; `arith`: scaling, adding and subtracting
//!   (schemas, zero buckets and custom bounds made compatible first); `reset`: counter
//!   reset detection between two histograms.

mod arith;
mod bounds;
mod buckets;
mod compact;
mod float;
mod int;
mod kahan;
pub mod nhcb;
mod reset;
mod trim;
mod validate;

pub use arith::Combined;
pub use buckets::{bucket_bound, Bucket, BucketCount};
pub use float::FloatHistogram;
pub use int::Histogram;
pub use kahan::KahanSum;
pub use validate::HistogramError;

/// A native histogram sample as it is appended and logged: integer or float.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramValue {
    Int(Histogram),
    Float(FloatHistogram),
}

impl HistogramValue {
    /// The sum (a stale marker's is the stale NaN).
    pub fn sum(&self) -> f64 {
        match self {
            Self::Int(h) => h.sum,
            Self::Float(h) => h.sum,
        }
    }

    /// Upstream's checks of either kind ([`Histogram::validate`],
    /// [`FloatHistogram::validate`]).
    pub fn validate(&self) -> Result<(), HistogramError> {
        match self {
            Self::Int(h) => h.validate(),
            Self::Float(h) => h.validate(),
        }
    }

    /// As a float histogram (what queries take).
    pub fn to_float(&self) -> FloatHistogram {
        match self {
            Self::Int(h) => h.to_float(),
            Self::Float(h) => h.clone(),
        }
    }
}

/// The highest standard (exponential) schema in use.
pub const EXPONENTIAL_SCHEMA_MAX: i32 = 8;
/// The lowest standard (exponential) schema in use.
pub const EXPONENTIAL_SCHEMA_MIN: i32 = -4;
/// Standard schemas reserved for the future: up to this one, a histogram may be taken
/// after reducing its resolution to [`EXPONENTIAL_SCHEMA_MAX`].
pub const EXPONENTIAL_SCHEMA_MAX_RESERVED: i32 = 52;
/// The lowest reserved standard schema.
pub const EXPONENTIAL_SCHEMA_MIN_RESERVED: i32 = -9;
/// The schema of histograms with custom bucket bounds (NHCB).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Whether `schema` is the custom-buckets schema.
pub fn is_custom_buckets_schema(schema: i32) -> bool {
    schema == CUSTOM_BUCKETS_SCHEMA
}

/// Whether `schema` is a standard schema in use (-4 to 8).
pub fn is_exponential_schema(schema: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&schema)
}

/// Whether `schema` is a standard schema, in use or reserved (-9 to 52).
pub fn is_exponential_schema_reserved(schema: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN_RESERVED..=EXPONENTIAL_SCHEMA_MAX_RESERVED).contains(&schema)
}

/// Whether `schema` can be stored as it is.
pub fn is_valid_schema(schema: i32) -> bool {
    is_custom_buckets_schema(schema) || is_exponential_schema(schema)
}

/// Whether `schema` is known: valid, or a reserved standard schema whose resolution can be
/// reduced to a valid one.
pub fn is_known_schema(schema: i32) -> bool {
    is_custom_buckets_schema(schema) || is_exponential_schema_reserved(schema)
}

/// A run of consecutive buckets: `offset` buckets after the end of the previous span (for
/// the first span: the index of its first bucket), `length` buckets long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

impl Span {
    pub const fn new(offset: i32, length: u32) -> Self {
        Self { offset, length }
    }
}

/// What is known about a counter reset at a histogram: stored in the first byte of a
/// histogram chunk, and the way a querier learns that a histogram is a gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterResetHint {
    /// Not known: whoever needs to know compares with the previous histogram.
    #[default]
    Unknown,
    /// The counter was reset since the previous histogram.
    CounterReset,
    /// It was not.
    NotCounterReset,
    /// A gauge histogram: counter resets do not apply.
    Gauge,
}

/// Whether two span lists are the same once empty spans are dropped (their offsets carried
/// into the next span), as upstream's `spansMatch` compares them. Adjacent spans are not
/// merged: `[{0,2},{0,1}]` and `[{0,3}]` differ.
pub fn spans_match(a: &[Span], b: &[Span]) -> bool {
    without_empty_spans(a).eq(without_empty_spans(b))
}

fn without_empty_spans(spans: &[Span]) -> impl Iterator<Item = (i64, u32)> + '_ {
    let mut carried = 0i64;
    spans.iter().filter_map(move |s| {
        carried += i64::from(s.offset);
        if s.length == 0 {
            return None;
        }
        let offset = std::mem::take(&mut carried);
        Some((offset, s.length))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_match_ignores_empty_spans() {
        let s = |v: &[(i32, u32)]| v.iter().map(|&(o, l)| Span::new(o, l)).collect::<Vec<_>>();
        assert!(spans_match(&[], &[]));
        assert!(!spans_match(&s(&[(0, 2), (0, 1)]), &s(&[(0, 3)])));
        assert!(spans_match(
            &s(&[(-2, 2), (0, 0), (3, 1)]),
            &s(&[(-2, 2), (3, 1)])
        ));
        assert!(spans_match(
            &s(&[(-2, 2), (1, 0), (2, 1)]),
            &s(&[(-2, 2), (3, 1)])
        ));
        assert!(spans_match(&s(&[(1, 0), (2, 3)]), &s(&[(3, 3)])));
        assert!(spans_match(&s(&[(0, 1), (0, 0)]), &s(&[(0, 1)])));
        assert!(!spans_match(&s(&[(0, 2)]), &s(&[(0, 3)])));
        assert!(!spans_match(&s(&[(0, 2), (1, 1)]), &s(&[(0, 3)])));
        assert!(!spans_match(&s(&[(0, 1)]), &s(&[(1, 1)])));
    }
}
