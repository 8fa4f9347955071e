//! The checks a histogram must pass to be stored (upstream's `Validate`), with upstream's
//! error texts: spans agree with the bucket lists, no negative bucket, the count is the
//! buckets' total (at least the total when the sum is NaN, since NaN observations are in no
//! bucket), and custom buckets only with schema -53, strictly increasing and finite.

use super::{Span, CUSTOM_BUCKETS_SCHEMA, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN};

/// Go's `%f`: six decimals, `+Inf`, `-Inf`, `NaN`.
fn go_f6(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        f64::INFINITY => "+Inf".into(),
        f64::NEG_INFINITY => "-Inf".into(),
        v => format!("{v:.6}"),
    }
}

/// Why a histogram is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramError {
    #[error("{side}: span number {number} with offset {offset}: histogram has a span whose offset is negative")]
    SpanNegativeOffset {
        side: &'static str,
        number: usize,
        offset: i32,
    },
    #[error("{side}: spans need {spans} buckets, have {buckets} buckets: histogram spans specify different number of buckets than provided")]
    SpansBucketsMismatch {
        side: &'static str,
        spans: usize,
        buckets: usize,
    },
    #[error("{side}: bucket number {number} has observation count of {count}: histogram has a bucket whose observation count is negative")]
    NegativeBucketCount {
        side: &'static str,
        number: usize,
        count: String,
    },
    #[error("{found} observations found in buckets, but the Count field is {count}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)")]
    CountMismatch { found: String, count: String },
    #[error("{found} observations found in buckets, but the Count field is {count}: histogram's observation count should be at least the number of observations found in the buckets")]
    CountNotBigEnough { found: String, count: String },
    #[error("observation count is  {count}: histogram's observation count is negative")]
    NegativeCount { count: String },
    #[error("zero bucket has observation count of {count}: histogram has a bucket whose observation count is negative")]
    NegativeZeroCount { count: String },
    #[error("histogram has an invalid schema, which must be between {EXPONENTIAL_SCHEMA_MIN} and {EXPONENTIAL_SCHEMA_MAX} for exponential buckets, or {CUSTOM_BUCKETS_SCHEMA} for custom buckets, got schema {0}")]
    InvalidSchema(i32),
    #[error("custom buckets: histogram custom bounds must not be NaN")]
    CustomBoundsNaN,
    #[error("custom buckets: previous bound is {previous} and current is {current}: histogram custom bounds must be in strictly increasing order")]
    CustomBoundsNotIncreasing { previous: String, current: String },
    #[error("custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite")]
    CustomBoundsInfinite,
    #[error("custom buckets: only {bounds} custom bounds defined which is insufficient to cover total span length of {span_length}: histogram custom bounds are too few")]
    CustomBoundsTooFew { bounds: usize, span_length: i64 },
    #[error("custom buckets: must have zero count of 0")]
    CustomBucketsZeroCount,
    #[error("custom buckets: must have zero threshold of 0")]
    CustomBucketsZeroThreshold,
    #[error("custom buckets: must not have negative spans")]
    CustomBucketsNegativeSpans,
    #[error("custom buckets: must not have negative buckets")]
    CustomBucketsNegativeBuckets,
    #[error("histogram with exponential schema must not have custom bounds")]
    ExponentialSchemaCustomBounds,
    #[error("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas")]
    IncompatibleSchemas,
}

pub(crate) fn check_spans(
    side: &'static str,
    spans: &[Span],
    buckets: usize,
) -> Result<(), HistogramError> {
    let mut total = 0usize;
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                side,
                number: n + 1,
                offset: span.offset,
            });
        }
        total += span.length as usize;
    }
    if total != buckets {
        return Err(HistogramError::SpansBucketsMismatch {
            side,
            spans: total,
            buckets,
        });
    }
    Ok(())
}

/// What custom buckets must not have: a zero bucket (`has_zero_count`, a threshold) or a
/// negative side.
pub(crate) fn check_custom_layout(
    has_zero_count: bool,
    zero_threshold: f64,
    negative_spans: &[Span],
    negative_buckets: usize,
) -> Result<(), HistogramError> {
    if has_zero_count {
        return Err(HistogramError::CustomBucketsZeroCount);
    }
    if zero_threshold != 0.0 {
        return Err(HistogramError::CustomBucketsZeroThreshold);
    }
    if !negative_spans.is_empty() {
        return Err(HistogramError::CustomBucketsNegativeSpans);
    }
    if negative_buckets > 0 {
        return Err(HistogramError::CustomBucketsNegativeBuckets);
    }
    Ok(())
}

pub(crate) fn check_custom_bounds(
    bounds: &[f64],
    spans: &[Span],
    buckets: usize,
) -> Result<(), HistogramError> {
    let mut previous = f64::NEG_INFINITY;
    for (i, &current) in bounds.iter().enumerate() {
        if current.is_nan() {
            return Err(HistogramError::CustomBoundsNaN);
        }
        if i > 0 && current <= previous {
            return Err(HistogramError::CustomBoundsNotIncreasing {
                previous: go_f6(previous),
                current: go_f6(current),
            });
        }
        previous = current;
    }
    if previous == f64::INFINITY {
        return Err(HistogramError::CustomBoundsInfinite);
    }
    let (mut total, mut span_length) = (0usize, 0i64);
    for (n, span) in spans.iter().enumerate() {
        if span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                side: "custom buckets",
                number: n + 1,
                offset: span.offset,
            });
        }
        total += span.length as usize;
        span_length += i64::from(span.length) + i64::from(span.offset);
    }
    if total != buckets {
        return Err(HistogramError::SpansBucketsMismatch {
            side: "custom buckets",
            spans: total,
            buckets,
        });
    }
    if (bounds.len() as i64 + 1) < span_length {
        return Err(HistogramError::CustomBoundsTooFew {
            bounds: bounds.len(),
            span_length,
        });
    }
    Ok(())
}
