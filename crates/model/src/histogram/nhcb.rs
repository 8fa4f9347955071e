//! Classic histograms (`_bucket{le}`, `_count`, `_sum` series) as native histograms with
//! custom buckets (NHCB, schema -53), as upstream's `convertnhcb` builds them: the
//! cumulative bucket counts of one family at one time, in any order, become a histogram
//! whose custom bounds are the `le` values.

use super::{FloatHistogram, Histogram, Span, CUSTOM_BUCKETS_SCHEMA};

/// Why a classic histogram does not convert.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NhcbError {
    #[error("bucket boundary must not be NaN")]
    NanBucket,
    #[error("bucket count must be non-negative: le={le}, count={count}")]
    NegativeBucketCount { le: f64, count: f64 },
    #[error("count must be non-negative: count={0}")]
    NegativeCount(f64),
    #[error("count is not cumulative: {0} < {1}")]
    NotCumulative(f64, f64),
    #[error("count is not cumulative: {0} > {1}")]
    NotCumulativeAbove(f64, f64),
    #[error("count mismatch: count={count} != le={le} count={bucket}")]
    CountMismatch { count: f64, le: f64, bucket: f64 },
}

/// The classic histogram of one family at one time, as its series come.
#[derive(Debug, Clone, Default)]
pub struct ClassicHistogram {
    /// `(le, cumulative count)`, ascending by `le`.
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
    error: Option<NhcbError>,
}

/// A converted histogram: integer when every count is whole, else float.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    Int(Histogram),
    Float(FloatHistogram),
}

impl ClassicHistogram {
    /// Sets the cumulative count of the bucket `le` (a second value for a bound already
    /// set is ignored).
    pub fn set_bucket(&mut self, le: f64, count: f64) {
        if self.error.is_some() {
            return;
        }
        if le.is_nan() {
            self.error = Some(NhcbError::NanBucket);
            return;
        }
        if count < 0.0 {
            self.error = Some(NhcbError::NegativeBucketCount { le, count });
            return;
        }
        let at = self.buckets.partition_point(|b| b.0 < le);
        if self.buckets.get(at).is_some_and(|b| b.0 == le) {
            return;
        }
        if at > 0 && count < self.buckets[at - 1].1 {
            self.error = Some(NhcbError::NotCumulative(count, self.buckets[at - 1].1));
            return;
        }
        if let Some(next) = self.buckets.get(at) {
            if count > next.1 {
                self.error = Some(NhcbError::NotCumulativeAbove(count, next.1));
                return;
            }
        }
        self.buckets.insert(at, (le, count));
    }

    pub fn set_count(&mut self, count: f64) {
        if self.error.is_some() {
            return;
        }
        if count < 0.0 {
            self.error = Some(NhcbError::NegativeCount(count));
            return;
        }
        self.count = Some(count);
    }

    pub fn set_sum(&mut self, sum: f64) {
        if self.error.is_none() {
            self.sum = sum;
        }
    }

    /// The native histogram (upstream's `TempHistogram.Convert`): a `+Inf` bucket added
    /// with the count when missing; the count taken from the highest bucket when not set.
    pub fn convert(&self) -> Result<Converted, NhcbError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut buckets = self.buckets.clone();
        let count = match (self.count, buckets.last()) {
            (Some(c), _) => c,
            (None, Some(b)) => b.1,
            (None, None) => 0.0,
        };
        if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
            buckets.push((f64::INFINITY, count));
        }
        let whole = |v: f64| v == v.round();
        let custom_values: Vec<f64> = buckets
            .iter()
            .filter(|b| b.0 != f64::INFINITY)
            .map(|b| b.0)
            .collect();
        let spans = vec![Span::new(0, buckets.len() as u32)];
        let last = buckets[buckets.len() - 1];
        let mismatch = NhcbError::CountMismatch {
            count,
            le: last.0,
            bucket: last.1,
        };
        if buckets.iter().all(|b| whole(b.1)) && whole(count) {
            let (mut prev_count, mut prev_delta) = (0i64, 0i64);
            let positive_buckets = buckets
                .iter()
                .map(|b| {
                    let delta = b.1 as i64 - prev_count;
                    let out = delta - prev_delta;
                    prev_count = b.1 as i64;
                    prev_delta = delta;
                    out
                })
                .collect();
            if count.round() as u64 != last.1 as u64 {
                return Err(mismatch);
            }
            let mut h = Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: count.round() as u64,
                sum: self.sum,
                positive_spans: spans,
                positive_buckets,
                custom_values,
                ..Histogram::default()
            };
            h.compact(2);
            return Ok(Converted::Int(h));
        }
        let mut prev = 0.0;
        let positive_buckets = buckets
            .iter()
            .map(|b| {
                let v = b.1 - prev;
                prev = b.1;
                v
            })
            .collect();
        if count != last.1 {
            return Err(mismatch);
        }
        let mut h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum,
            positive_spans: spans,
            positive_buckets,
            custom_values,
            ..FloatHistogram::default()
        };
        h.compact(0);
        Ok(Converted::Float(h))
    }
}

/// The suffix of a classic histogram series' name, and the family's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicPart {
    Bucket,
    Sum,
    Count,
}

/// Which part of a classic histogram a metric name is, and its family name.
pub fn classic_part(name: &str) -> Option<(ClassicPart, &str)> {
    if let Some(base) = name.strip_suffix("_bucket") {
        return Some((ClassicPart::Bucket, base));
    }
    if let Some(base) = name.strip_suffix("_sum") {
        return Some((ClassicPart::Sum, base));
    }
    name.strip_suffix("_count")
        .map(|base| (ClassicPart::Count, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_in_any_order_become_custom_buckets() {
        let mut c = ClassicHistogram::default();
        c.set_bucket(1.0, 3.0);
        c.set_bucket(f64::INFINITY, 10.0);
        c.set_bucket(0.5, 1.0);
        c.set_count(10.0);
        c.set_sum(7.5);
        let Converted::Int(h) = c.convert().unwrap() else {
            panic!("integer counts give an integer histogram")
        };
        assert_eq!(h.custom_values, vec![0.5, 1.0]);
        assert_eq!(h.count, 10);
        let f = h.to_float();
        assert_eq!(f.positive_buckets, vec![1.0, 2.0, 7.0]);
        // Not cumulative.
        let mut bad = ClassicHistogram::default();
        bad.set_bucket(1.0, 3.0);
        bad.set_bucket(2.0, 2.0);
        assert!(bad.convert().is_err());
        // Fractional counts give a float histogram; no +Inf bucket: the count.
        let mut f = ClassicHistogram::default();
        f.set_bucket(1.0, 0.5);
        f.set_count(2.5);
        let Converted::Float(h) = f.convert().unwrap() else {
            panic!("float counts give a float histogram")
        };
        assert_eq!(h.positive_buckets, vec![0.5, 2.0]);
    }
}
