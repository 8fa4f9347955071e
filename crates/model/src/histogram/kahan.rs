//! Compensated (Kahan–Neumaier) summation of float histograms, as upstream's `KahanAdd`:
//! the sum and a compensation histogram laid out alike, every count, bucket and the sum
//! added with its rounding error kept, so that large values cancelling out leave the
//! small ones intact. PromQL's `sum`, `avg`, `sum_over_time` and `avg_over_time` use it.

use std::collections::BTreeMap;

use super::arith::{add_to_shared_bounds, from_indexed, indexed, intersect_bounds, merged_at};
use super::{Combined, FloatHistogram, HistogramError};
use crate::float::kahan_inc;

/// A histogram sum with its compensation.
#[derive(Debug, Clone)]
pub struct KahanSum {
    sum: FloatHistogram,
    comp: FloatHistogram,
}

impl KahanSum {
    /// A sum starting at `first`.
    pub fn new(first: &FloatHistogram) -> Self {
        let comp = FloatHistogram {
            schema: first.schema,
            zero_threshold: first.zero_threshold,
            custom_values: first.custom_values.clone(),
            ..FloatHistogram::default()
        };
        Self {
            sum: first.clone(),
            comp,
        }
    }

    /// The sum so far (without its compensation).
    pub fn partial(&self) -> &FloatHistogram {
        &self.sum
    }

    /// Scales the sum and its compensation.
    pub fn mul(&mut self, factor: f64) {
        self.sum.mul(factor);
        self.comp.mul(factor);
    }

    pub fn div(&mut self, divisor: f64) {
        self.sum.div(divisor);
        self.comp.div(divisor);
    }

    /// The compensated sum.
    pub fn result(mut self) -> FloatHistogram {
        let hint = self.sum.counter_reset_hint;
        self.comp.counter_reset_hint = hint;
        // Same layout and schema: this cannot fail.
        let _ = self.sum.add(&self.comp);
        self.sum.counter_reset_hint = hint;
        self.sum
    }

    /// Adds `other` (upstream's `KahanAdd`).
    pub fn add(&mut self, other: &FloatHistogram) -> Result<Combined, HistogramError> {
        if self.sum.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchemas);
        }
        let mut outcome = Combined {
            counter_reset_collision: self.sum.adjust_counter_reset(other),
            ..Default::default()
        };
        let (s, c) = (&mut self.sum, &mut self.comp);
        (s.count, c.count) = kahan_inc(other.count, s.count, c.count);
        (s.sum, c.sum) = kahan_inc(other.sum, s.sum, c.sum);
        if s.uses_custom_buckets() {
            let theirs = if s.custom_values == other.custom_values {
                indexed(&other.positive_spans, &other.positive_buckets)
            } else {
                outcome.custom_bounds_reconciled = true;
                let shared = intersect_bounds(&s.custom_values, &other.custom_values);
                // The sum and its compensation move to the shared bounds first.
                for h in [&mut *s, &mut *c] {
                    let mut totals = vec![0.0; shared.len() + 1];
                    add_to_shared_bounds(
                        &mut totals,
                        &h.positive_spans,
                        &h.positive_buckets,
                        &h.custom_values,
                        &shared,
                        1.0,
                    );
                    (h.positive_spans, h.positive_buckets) =
                        from_indexed(totals.into_iter().enumerate().map(|(i, v)| (i as i32, v)));
                    h.custom_values = shared.clone();
                }
                let mut totals = vec![0.0; shared.len() + 1];
                add_to_shared_bounds(
                    &mut totals,
                    &other.positive_spans,
                    &other.positive_buckets,
                    &other.custom_values,
                    &shared,
                    1.0,
                );
                totals
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (i as i32, v))
                    .collect()
            };
            add_buckets(s, c, true, theirs);
            return Ok(outcome);
        }
        // The zero buckets made equally wide: the sum's buckets now inside it move into it
        // (the compensation's too, into its zero count).
        let other_zero = s.reconcile_zero_buckets(other);
        let widened = FloatHistogram {
            zero_threshold: s.zero_threshold,
            ..FloatHistogram::default()
        };
        c.reconcile_zero_buckets(&widened);
        (s.zero_count, c.zero_count) = kahan_inc(other_zero, s.zero_count, c.zero_count);
        if other.schema < s.schema {
            s.reduce_resolution(other.schema);
            c.reduce_resolution(other.schema);
        }
        let (schema, threshold) = (s.schema, Some(s.zero_threshold));
        let positive = merged_at(
            &other.positive_spans,
            &other.positive_buckets,
            other.schema,
            schema,
            threshold,
        );
        let negative = merged_at(
            &other.negative_spans,
            &other.negative_buckets,
            other.schema,
            schema,
            threshold,
        );
        add_buckets(s, c, true, positive);
        add_buckets(s, c, false, negative);
        Ok(outcome)
    }
}

/// Adds (index, count) buckets into one side of the sum and its compensation, both laid
/// out again over the union of their buckets.
fn add_buckets(
    s: &mut FloatHistogram,
    c: &mut FloatHistogram,
    positive: bool,
    theirs: Vec<(i32, f64)>,
) {
    let (s_spans, s_buckets, c_spans, c_buckets) = if positive {
        (
            &s.positive_spans,
            &s.positive_buckets,
            &c.positive_spans,
            &c.positive_buckets,
        )
    } else {
        (
            &s.negative_spans,
            &s.negative_buckets,
            &c.negative_spans,
            &c.negative_buckets,
        )
    };
    let mut all: BTreeMap<i32, (f64, f64)> = BTreeMap::new();
    for (i, v) in indexed(s_spans, s_buckets) {
        all.entry(i).or_default().0 += v;
    }
    for (i, v) in indexed(c_spans, c_buckets) {
        all.entry(i).or_default().1 += v;
    }
    for (i, v) in theirs {
        let e = all.entry(i).or_default();
        *e = kahan_inc(v, e.0, e.1);
    }
    let (spans, sums) = from_indexed(all.iter().map(|(i, (v, _))| (*i, *v)));
    let (_, comps) = from_indexed(all.iter().map(|(i, (_, c))| (*i, *c)));
    if positive {
        (s.positive_spans, s.positive_buckets) = (spans.clone(), sums);
        (c.positive_spans, c.positive_buckets) = (spans, comps);
    } else {
        (s.negative_spans, s.negative_buckets) = (spans.clone(), sums);
        (c.negative_spans, c.negative_buckets) = (spans, comps);
    }
}
