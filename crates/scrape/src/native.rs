//! Native histograms of a scrape (protobuf bodies with `scrape_native_histograms`): labels
//! as for floats (target labels, `metric_relabel_configs`, label limits), the job's
//! `native_histogram_bucket_limit` and `native_histogram_min_bucket_factor` applied by
//! lowering the resolution, appended as histogram samples; series the previous scrape had
//! and this one has not get staleness markers.

use std::collections::HashMap;

use exposition::NativeHistogramSample;
use model::histogram::{FloatHistogram, Histogram, HistogramValue, EXPONENTIAL_SCHEMA_MIN};
use model::Labels;
use promconfig::ScrapeConfig;

/// The error of a histogram over `native_histogram_bucket_limit` that cannot be brought
/// under it (upstream's `errBucketLimit`).
pub(crate) const BUCKET_LIMIT_ERROR: &str = "histogram bucket limit exceeded";

/// The highest schema a `native_histogram_min_bucket_factor` allows (upstream's
/// `pickSchema`).
fn max_schema(min_bucket_factor: f64) -> i32 {
    let factor = if min_bucket_factor <= 1.0 {
        1.00271
    } else {
        min_bucket_factor
    };
    let floor = (-(factor.log2().log2())).floor();
    if floor >= f64::from(model::histogram::EXPONENTIAL_SCHEMA_MAX) {
        model::histogram::EXPONENTIAL_SCHEMA_MAX
    } else if floor <= f64::from(EXPONENTIAL_SCHEMA_MIN) {
        EXPONENTIAL_SCHEMA_MIN
    } else {
        floor as i32
    }
}

/// Back to an integer histogram (counts that were integers stay integers when buckets
/// merge).
fn to_int(f: &FloatHistogram, hint_from: &Histogram) -> Histogram {
    let deltas = |counts: &[f64]| {
        let mut prev = 0i64;
        counts
            .iter()
            .map(|&c| {
                let c = c as i64;
                let d = c - prev;
                prev = c;
                d
            })
            .collect()
    };
    Histogram {
        counter_reset_hint: hint_from.counter_reset_hint,
        schema: f.schema,
        zero_threshold: f.zero_threshold,
        zero_count: f.zero_count as u64,
        count: hint_from.count,
        sum: f.sum,
        positive_spans: f.positive_spans.clone(),
        negative_spans: f.negative_spans.clone(),
        positive_buckets: deltas(&f.positive_buckets),
        negative_buckets: deltas(&f.negative_buckets),
        custom_values: f.custom_values.clone(),
    }
}

/// Applies the job's bucket limit and minimum bucket factor by lowering the resolution;
/// `Err` when the limit cannot be met.
pub(crate) fn apply_limits(
    job: &ScrapeConfig,
    value: HistogramValue,
) -> Result<HistogramValue, String> {
    // Spans that do not match the buckets would make the resolution change read past
    // them: such a histogram is refused first, naming what is wrong.
    let valid = match &value {
        HistogramValue::Int(h) => h.validate(),
        HistogramValue::Float(f) => f.validate(),
    };
    valid.map_err(|e| format!("invalid native histogram: {e}"))?;
    let limit = job.native_histogram_bucket_limit as usize;
    let max = if job.native_histogram_min_bucket_factor > 1.0 {
        max_schema(job.native_histogram_min_bucket_factor)
    } else {
        model::histogram::EXPONENTIAL_SCHEMA_MAX
    };
    let (mut f, int) = match &value {
        HistogramValue::Int(h) => (h.to_float(), Some(h)),
        HistogramValue::Float(f) => (f.clone(), None),
    };
    let buckets = |f: &FloatHistogram| f.positive_buckets.len() + f.negative_buckets.len();
    let over_limit = limit > 0 && buckets(&f) > limit;
    let over_schema = f.schema > max && !f.uses_custom_buckets();
    if !over_limit && !over_schema {
        return Ok(value);
    }
    if over_schema {
        f.reduce_resolution(max);
    }
    if limit > 0 {
        if buckets(&f) > limit && f.uses_custom_buckets() {
            return Err(BUCKET_LIMIT_ERROR.into());
        }
        while buckets(&f) > limit {
            if f.schema <= EXPONENTIAL_SCHEMA_MIN {
                return Err(BUCKET_LIMIT_ERROR.into());
            }
            let lower = f.schema - 1;
            f.reduce_resolution(lower);
        }
    }
    Ok(match int {
        Some(h) => HistogramValue::Int(to_int(&f, h)),
        None => HistogramValue::Float(f),
    })
}

/// The histogram series of the last successful scrape (labels → storage ref), for
/// staleness markers.
#[derive(Default)]
pub(crate) struct HistogramSeries {
    last: HashMap<Labels, u64>,
}

impl HistogramSeries {
    /// Records this scrape's series; returns the refs of those that are gone.
    pub fn finish(&mut self, now: HashMap<Labels, u64>) -> Vec<u64> {
        let gone = self
            .last
            .iter()
            .filter(|(l, _)| !now.contains_key(*l))
            .map(|(_, r)| *r)
            .collect();
        self.last = now;
        gone
    }

    /// Every series of the last scrape (the target went away); forgotten.
    pub fn end_all(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.last).into_values().collect()
    }
}

/// A protobuf native histogram's labels: its own, then the metric name.
pub(crate) fn sample_labels(s: &NativeHistogramSample) -> impl Iterator<Item = (&str, &str)> {
    s.labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(std::iter::once(("__name__", s.name.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_pick_schemas_as_upstream() {
        assert_eq!(max_schema(1.1), 2);
        assert_eq!(max_schema(2.0), 0);
        assert_eq!(max_schema(4.0), -1);
        assert_eq!(max_schema(1.0), 8);
        assert_eq!(max_schema(1e9), -4);
    }
}
