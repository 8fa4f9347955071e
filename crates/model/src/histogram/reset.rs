//! Counter reset detection between two histograms (`native_histograms.md`, "Counter reset
//! considerations"): a stored hint decides; otherwise a drop in the count, a change that is
//! not a compatible resolution reduction (a higher schema, a narrower zero bucket, a zero
//! bucket that would cut a populated bucket), or a drop in any bucket, the zero bucket
//! included (a bucket that disappears dropped to zero). The sum does not count.

use super::arith::{add_to_shared_bounds, intersect_bounds, merged_at};
use super::{CounterResetHint, FloatHistogram, Span};

impl FloatHistogram {
    /// Whether the counter was reset between `previous` and this histogram.
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset => return false,
            _ => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() {
            if !previous.uses_custom_buckets() {
                return true;
            }
            if self.custom_values != previous.custom_values {
                return self.reset_across_custom_bounds(previous);
            }
        }
        if self.schema > previous.schema || self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let (previous_zero, threshold) = previous.zero_count_for_threshold(self.zero_threshold);
        if threshold != self.zero_threshold || self.zero_count < previous_zero {
            return true;
        }
        let side_reset = |positive: bool| {
            let now = self.merged_buckets(positive, self.zero_threshold, self.schema);
            let before = previous.merged_buckets(positive, self.zero_threshold, self.schema);
            bucket_dropped(&now, &before)
        };
        side_reset(true) || side_reset(false)
    }

    /// The buckets of one side at `schema` (not above this histogram's), neighbours merged,
    /// leaving out the leading buckets that end at or below `start` (inside a zero bucket
    /// that wide).
    fn merged_buckets(&self, positive: bool, start: f64, schema: i32) -> Vec<(i32, f64)> {
        let (spans, buckets): (&[Span], &[f64]) = if positive {
            (&self.positive_spans, &self.positive_buckets)
        } else {
            (&self.negative_spans, &self.negative_buckets)
        };
        // A zero bucket of width 0 leaves every bucket in (upstream's iterator starts
        // there), unlike a sum's, which drops buckets whose bound underflowed to 0.
        merged_at(
            spans,
            buckets,
            self.schema,
            schema,
            (start != 0.0).then_some(start),
        )
    }

    /// Custom buckets with different bounds: compared over the bounds both have, each
    /// side's buckets summed up to each shared bound.
    fn reset_across_custom_bounds(&self, previous: &FloatHistogram) -> bool {
        let shared = intersect_bounds(&self.custom_values, &previous.custom_values);
        let totals = |h: &FloatHistogram| {
            let mut totals = vec![0.0; shared.len() + 1];
            add_to_shared_bounds(
                &mut totals,
                &h.positive_spans,
                &h.positive_buckets,
                &h.custom_values,
                &shared,
                1.0,
            );
            totals
        };
        let (now, before) = (totals(self), totals(previous));
        now.iter().zip(&before).any(|(n, b)| n < b)
    }
}

/// Whether a bucket of `before` is gone (and held something) or smaller in `now`; both
/// ordered by index.
fn bucket_dropped(now: &[(i32, f64)], before: &[(i32, f64)]) -> bool {
    let mut now = now.iter().peekable();
    for &(index, count) in before {
        while now.next_if(|&&(i, _)| i < index).is_some() {}
        match now.peek() {
            Some(&&(i, c)) if i == index => {
                if c < count {
                    return true;
                }
            }
            _ => {
                if count != 0.0 {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fh(schema: i32, count: f64, spans: &[(i32, u32)], buckets: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema,
            count,
            positive_spans: spans.iter().map(|&(o, l)| Span::new(o, l)).collect(),
            positive_buckets: buckets.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn growth_is_no_reset_and_a_drop_anywhere_is() {
        let before = fh(0, 3.0, &[(0, 2)], &[1.0, 2.0]);
        assert!(!fh(0, 5.0, &[(0, 3)], &[1.0, 3.0, 1.0]).detect_reset(&before));
        // Bucket 1 fell although the count grew.
        assert!(fh(0, 5.0, &[(0, 3)], &[4.0, 1.0, 0.0]).detect_reset(&before));
        // Bucket 0 disappeared.
        assert!(fh(0, 5.0, &[(1, 1)], &[5.0]).detect_reset(&before));
        // The count fell.
        assert!(fh(0, 2.0, &[(0, 2)], &[1.0, 2.0]).detect_reset(&before));
        // The sum does not count.
        let mut after = fh(0, 3.0, &[(0, 2)], &[1.0, 2.0]);
        after.sum = -10.0;
        assert!(!after.detect_reset(&before));
    }

    #[test]
    fn hints_decide_and_resolution_changes_are_judged() {
        let before = fh(1, 3.0, &[(1, 2)], &[1.0, 2.0]);
        let mut after = fh(0, 3.0, &[(1, 1)], &[3.0]);
        // Schema 1 buckets 1 and 2 merge into schema 0's bucket 1: no reset.
        assert!(!after.detect_reset(&before));
        after.counter_reset_hint = CounterResetHint::CounterReset;
        assert!(after.detect_reset(&before));
        // A higher schema than before is a reset.
        assert!(fh(2, 3.0, &[(2, 1)], &[3.0]).detect_reset(&before));
    }

    #[test]
    fn custom_bounds_compare_over_the_shared_ones() {
        let before = FloatHistogram {
            custom_values: vec![1.0, 2.0, 5.0],
            ..fh(-53, 6.0, &[(0, 3)], &[1.0, 2.0, 3.0])
        };
        // Shared bounds 2 and 5: (-Inf,2] 3 → 3, (2,5] 3 → 4.
        let after = FloatHistogram {
            custom_values: vec![2.0, 5.0],
            ..fh(-53, 7.0, &[(0, 2)], &[3.0, 4.0])
        };
        assert!(!after.detect_reset(&before));
        let dropped = FloatHistogram {
            custom_values: vec![2.0, 5.0],
            ..fh(-53, 7.0, &[(0, 2)], &[2.0, 5.0])
        };
        assert!(dropped.detect_reset(&before));
    }
}
