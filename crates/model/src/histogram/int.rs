//! Integer histograms: counts as integers, buckets as deltas to the previous bucket of
//! their list (the first one absolute), as exposed by client libraries and stored.

use std::fmt;

use super::buckets::{bucket_at, span_indices, Bucket};
use super::compact::{absolute_to_deltas, compact_absolute, deltas_to_absolute};
use super::validate::{check_custom_bounds, check_custom_layout, check_spans, HistogramError};
use super::{
    is_custom_buckets_schema, is_exponential_schema, spans_match, CounterResetHint, FloatHistogram,
    Span,
};
use crate::float::format_go_g;

/// An integer native histogram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub count: u64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    /// Deltas: each bucket's count minus the previous bucket's in this list.
    pub positive_buckets: Vec<i64>,
    pub negative_buckets: Vec<i64>,
    /// Upper bounds of the custom buckets (schema -53 only).
    pub custom_values: Vec<f64>,
}

impl Histogram {
    pub fn uses_custom_buckets(&self) -> bool {
        is_custom_buckets_schema(self.schema)
    }

    /// The positive buckets (all buckets, for custom buckets) with absolute counts, empty
    /// ones included, lowest first.
    pub fn positive_bucket_iter(&self) -> impl Iterator<Item = Bucket<u64>> + '_ {
        self.bucket_iter(&self.positive_spans, &self.positive_buckets, true)
    }

    /// The negative buckets with absolute counts, from the one nearest zero outwards.
    pub fn negative_bucket_iter(&self) -> impl Iterator<Item = Bucket<u64>> + '_ {
        self.bucket_iter(&self.negative_spans, &self.negative_buckets, false)
    }

    fn bucket_iter<'a>(
        &'a self,
        spans: &'a [Span],
        deltas: &'a [i64],
        positive: bool,
    ) -> impl Iterator<Item = Bucket<u64>> + 'a {
        let mut current = 0i64;
        span_indices(spans).zip(deltas).map(move |(index, delta)| {
            current = current.wrapping_add(*delta);
            bucket_at(
                index,
                current as u64,
                self.schema,
                &self.custom_values,
                positive,
            )
        })
    }

    /// The zero bucket, `[-threshold, threshold]`.
    pub fn zero_bucket(&self) -> Bucket<u64> {
        Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        }
    }

    /// As a float histogram (what queries work on).
    pub fn to_float(&self) -> FloatHistogram {
        let absolute = |deltas: &[i64]| -> Vec<f64> {
            let mut current = 0f64;
            deltas
                .iter()
                .map(|d| {
                    current += *d as f64;
                    current
                })
                .collect()
        };
        let custom = self.uses_custom_buckets();
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: if custom { 0.0 } else { self.zero_threshold },
            zero_count: if custom { 0.0 } else { self.zero_count as f64 },
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: if custom {
                Vec::new()
            } else {
                self.negative_spans.clone()
            },
            positive_buckets: absolute(&self.positive_buckets),
            negative_buckets: if custom {
                Vec::new()
            } else {
                absolute(&self.negative_buckets)
            },
            custom_values: if custom {
                self.custom_values.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Upstream's `Equals`: the same schema, counts, sum (bit for bit: NaN equals NaN),
    /// zero bucket, custom values, and buckets with matching spans (empty spans aside);
    /// the counter reset hint does not count.
    pub fn equals(&self, other: &Histogram) -> bool {
        self.schema == other.schema
            && self.count == other.count
            && self.sum.to_bits() == other.sum.to_bits()
            && (!self.uses_custom_buckets() || self.custom_values == other.custom_values)
            && self.zero_threshold == other.zero_threshold
            && self.zero_count == other.zero_count
            && spans_match(&self.negative_spans, &other.negative_spans)
            && self.negative_buckets == other.negative_buckets
            && spans_match(&self.positive_spans, &other.positive_spans)
            && self.positive_buckets == other.positive_buckets
    }

    /// Drops empty buckets and merges spans across gaps of at most `max_empty_buckets`.
    pub fn compact(&mut self, max_empty_buckets: u32) {
        for (spans, deltas) in [
            (&mut self.positive_spans, &mut self.positive_buckets),
            (&mut self.negative_spans, &mut self.negative_buckets),
        ] {
            let (s, counts) =
                compact_absolute(spans, &deltas_to_absolute(deltas), max_empty_buckets);
            *spans = s;
            *deltas = absolute_to_deltas(&counts);
        }
    }

    /// Upstream's `Validate`, in its order and with its words.
    pub fn validate(&self) -> Result<(), HistogramError> {
        let mut negative_total = 0u64;
        if self.uses_custom_buckets() {
            check_custom_bounds(
                &self.custom_values,
                &self.positive_spans,
                self.positive_buckets.len(),
            )?;
            check_custom_layout(
                self.zero_count != 0,
                self.zero_threshold,
                &self.negative_spans,
                self.negative_buckets.len(),
            )?;
        } else if is_exponential_schema(self.schema) {
            check_spans(
                "positive side",
                &self.positive_spans,
                self.positive_buckets.len(),
            )?;
            check_spans(
                "negative side",
                &self.negative_spans,
                self.negative_buckets.len(),
            )?;
            negative_total = delta_total("negative side", &self.negative_buckets)?;
            if !self.custom_values.is_empty() {
                return Err(HistogramError::ExponentialSchemaCustomBounds);
            }
        } else {
            return Err(HistogramError::InvalidSchema(self.schema));
        }
        let positive_total = delta_total("positive side", &self.positive_buckets)?;
        let found = negative_total
            .wrapping_add(positive_total)
            .wrapping_add(self.zero_count);
        if self.sum.is_nan() {
            if found > self.count {
                return Err(HistogramError::CountNotBigEnough {
                    found: found.to_string(),
                    count: self.count.to_string(),
                });
            }
        } else if found != self.count {
            return Err(HistogramError::CountMismatch {
                found: found.to_string(),
                count: self.count.to_string(),
            });
        }
        Ok(())
    }
}

/// The total of a delta-encoded bucket list; a negative bucket is an error.
fn delta_total(side: &'static str, deltas: &[i64]) -> Result<u64, HistogramError> {
    let (mut current, mut total) = (0i64, 0u64);
    for (i, d) in deltas.iter().enumerate() {
        current = current.wrapping_add(*d);
        if current < 0 {
            return Err(HistogramError::NegativeBucketCount {
                side,
                number: i + 1,
                count: current.to_string(),
            });
        }
        total = total.wrapping_add(current as u64);
    }
    Ok(total)
}

impl fmt::Display for Histogram {
    /// Upstream's `String`: `{count:5, sum:12.5, [-2,-1):1, [-0.001,0.001]:2, (1,2]:2}`,
    /// non-empty buckets only, negative ones from the lowest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{count:{}, sum:{}", self.count, format_go_g(self.sum))?;
        let negative: Vec<Bucket<u64>> = self
            .negative_bucket_iter()
            .filter(|b| b.count != 0)
            .collect();
        for b in negative.iter().rev() {
            write!(f, ", {b}")?;
        }
        if self.zero_count != 0 {
            write!(f, ", {}", self.zero_bucket())?;
        }
        for b in self.positive_bucket_iter().filter(|b| b.count != 0) {
            write!(f, ", {b}")?;
        }
        f.write_str("}")
    }
}
