//! Float histograms: counts as floats, buckets as absolute counts. PromQL works on these
//! only (integer histograms are converted when read); recording rules store them.

use std::fmt;

use super::buckets::{bucket_at, span_indices, Bucket};
use super::compact::compact_absolute;
use super::validate::{check_custom_bounds, check_custom_layout, check_spans, HistogramError};
use super::{is_custom_buckets_schema, is_exponential_schema, spans_match, CounterResetHint, Span};
use crate::float::format_go_g;

/// A float native histogram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    /// Absolute counts.
    pub positive_buckets: Vec<f64>,
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets (schema -53 only).
    pub custom_values: Vec<f64>,
}

impl FloatHistogram {
    pub fn uses_custom_buckets(&self) -> bool {
        is_custom_buckets_schema(self.schema)
    }

    /// The positive buckets (all buckets, for custom buckets), empty ones included, lowest
    /// first.
    pub fn positive_bucket_iter(&self) -> impl Iterator<Item = Bucket<f64>> + '_ {
        span_indices(&self.positive_spans)
            .zip(&self.positive_buckets)
            .map(|(index, count)| bucket_at(index, *count, self.schema, &self.custom_values, true))
    }

    /// The negative buckets, from the one nearest zero outwards.
    pub fn negative_bucket_iter(&self) -> impl Iterator<Item = Bucket<f64>> + '_ {
        span_indices(&self.negative_spans)
            .zip(&self.negative_buckets)
            .map(|(index, count)| bucket_at(index, *count, self.schema, &[], false))
    }

    /// Every bucket from the lowest up: negative buckets, the zero bucket when it has
    /// observations, positive buckets (upstream's `AllBucketIterator`). A negative or
    /// positive bucket reaching into the zero bucket ends at the zero threshold. Reversed,
    /// this is upstream's `AllReverseBucketIterator`.
    pub fn all_buckets(&self) -> Vec<Bucket<f64>> {
        let threshold = self.zero_threshold;
        let clamp = |mut b: Bucket<f64>| {
            if b.upper < 0.0 && b.upper > -threshold {
                b.upper = -threshold;
            } else if b.lower > 0.0 && b.lower < threshold {
                b.lower = threshold;
            }
            b
        };
        let mut out: Vec<Bucket<f64>> = self.negative_bucket_iter().map(clamp).collect();
        out.reverse();
        if self.zero_count > 0.0 {
            out.push(self.zero_bucket());
        }
        out.extend(self.positive_bucket_iter().map(clamp));
        out
    }

    /// The zero bucket, `[-threshold, threshold]`.
    pub fn zero_bucket(&self) -> Bucket<f64> {
        Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        }
    }

    /// Upstream's `Equals`: the same schema, counts and sum (bit for bit: NaN equals NaN,
    /// as stored), zero bucket, custom values, and buckets with matching spans (empty
    /// spans aside); the counter reset hint does not count.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        self.schema == other.schema
            && self.zero_threshold == other.zero_threshold
            && self.zero_count.to_bits() == other.zero_count.to_bits()
            && self.count.to_bits() == other.count.to_bits()
            && self.sum.to_bits() == other.sum.to_bits()
            && (!self.uses_custom_buckets() || self.custom_values == other.custom_values)
            && spans_match(&self.positive_spans, &other.positive_spans)
            && bits_equal(&self.positive_buckets, &other.positive_buckets)
            && spans_match(&self.negative_spans, &other.negative_spans)
            && bits_equal(&self.negative_buckets, &other.negative_buckets)
    }

    /// Drops empty buckets and merges spans across gaps of at most `max_empty_buckets`.
    pub fn compact(&mut self, max_empty_buckets: u32) {
        let (spans, buckets) = compact_absolute(
            &self.positive_spans,
            &self.positive_buckets,
            max_empty_buckets,
        );
        (self.positive_spans, self.positive_buckets) = (spans, buckets);
        let (spans, buckets) = compact_absolute(
            &self.negative_spans,
            &self.negative_buckets,
            max_empty_buckets,
        );
        (self.negative_spans, self.negative_buckets) = (spans, buckets);
    }

    /// Upstream's `Validate`, in its order and with its words. The count is not checked
    /// against the buckets: float arithmetic makes them differ slightly.
    pub fn validate(&self) -> Result<(), HistogramError> {
        if self.uses_custom_buckets() {
            check_custom_bounds(
                &self.custom_values,
                &self.positive_spans,
                self.positive_buckets.len(),
            )?;
            check_custom_layout(
                self.zero_count != 0.0,
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
            check_absolute("negative side", &self.negative_buckets)?;
            if self.zero_count < 0.0 {
                return Err(HistogramError::NegativeZeroCount {
                    count: format_go_g(self.zero_count),
                });
            }
            if !self.custom_values.is_empty() {
                return Err(HistogramError::ExponentialSchemaCustomBounds);
            }
        } else {
            return Err(HistogramError::InvalidSchema(self.schema));
        }
        if self.count < 0.0 {
            return Err(HistogramError::NegativeCount {
                count: format_go_g(self.count),
            });
        }
        check_absolute("positive side", &self.positive_buckets)
    }
}

fn bits_equal(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn check_absolute(side: &'static str, counts: &[f64]) -> Result<(), HistogramError> {
    match counts.iter().position(|c| *c < 0.0) {
        Some(i) => Err(HistogramError::NegativeBucketCount {
            side,
            number: i + 1,
            count: format_go_g(counts[i]),
        }),
        None => Ok(()),
    }
}

impl fmt::Display for FloatHistogram {
    /// Upstream's `String`: `{count:5, sum:12.5, [-2,-1):1, [-0.001,0.001]:2, (1,2]:2}`,
    /// non-empty buckets only, negative ones from the lowest. The text `count_values` and
    /// template expansion show for a histogram.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{count:{}, sum:{}",
            format_go_g(self.count),
            format_go_g(self.sum)
        )?;
        let negative: Vec<Bucket<f64>> = self
            .negative_bucket_iter()
            .filter(|b| b.count != 0.0)
            .collect();
        for b in negative.iter().rev() {
            write!(f, ", {b}")?;
        }
        if self.zero_count != 0.0 {
            write!(f, ", {}", self.zero_bucket())?;
        }
        for b in self.positive_bucket_iter().filter(|b| b.count != 0.0) {
            write!(f, ", {b}")?;
        }
        f.write_str("}")
    }
}
