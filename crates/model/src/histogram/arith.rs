//! Float histogram arithmetic as PromQL needs it (`native_histograms.md`, "Binary
//! operators" and "Compatibility between histograms"): scaling, and adding or subtracting
//! histograms after making them compatible: the lower schema of the two, the larger zero
//! threshold (widened until it meets a populated bucket's boundary, the buckets inside
//! moving into the zero bucket), and for custom buckets the bounds both share.
//!
//! Sums keep every bucket position either side had (empty ones included); callers compact.

use super::buckets::{exponential_bound, span_indices};
use super::{is_exponential_schema, CounterResetHint, FloatHistogram, HistogramError, Span};

/// What adding or subtracting noticed, for the annotations PromQL adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Combined {
    /// One side said `CounterReset`, the other `NotCounterReset`.
    pub counter_reset_collision: bool,
    /// Custom bucket bounds differed and were reduced to the shared ones.
    pub custom_bounds_reconciled: bool,
}

impl FloatHistogram {
    /// Scales every count and the sum; a negative factor makes a gauge histogram.
    pub fn mul(&mut self, factor: f64) {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        self.positive_buckets.iter_mut().for_each(|b| *b *= factor);
        self.negative_buckets.iter_mut().for_each(|b| *b *= factor);
        if factor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
    }

    /// Divides every count and the sum. By zero: the buckets go, and the zero bucket, count
    /// and sum become ±Inf or NaN. A negative divisor makes a gauge histogram.
    pub fn div(&mut self, divisor: f64) {
        self.zero_count /= divisor;
        self.count /= divisor;
        self.sum /= divisor;
        if divisor == 0.0 {
            self.positive_spans.clear();
            self.negative_spans.clear();
            self.positive_buckets.clear();
            self.negative_buckets.clear();
            return;
        }
        self.positive_buckets.iter_mut().for_each(|b| *b /= divisor);
        self.negative_buckets.iter_mut().for_each(|b| *b /= divisor);
        if divisor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
    }

    /// Adds `other` to this histogram.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<Combined, HistogramError> {
        self.combine(other, 1.0)
    }

    /// Subtracts `other` from this histogram. The hint combines as for `add`; PromQL marks
    /// a difference as a gauge itself, as upstream's engine does.
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<Combined, HistogramError> {
        self.combine(other, -1.0)
    }

    fn combine(&mut self, other: &FloatHistogram, sign: f64) -> Result<Combined, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchemas);
        }
        let mut outcome = Combined {
            counter_reset_collision: self.adjust_counter_reset(other),
            ..Default::default()
        };
        self.count += sign * other.count;
        self.sum += sign * other.sum;
        if self.uses_custom_buckets() {
            if self.custom_values == other.custom_values {
                let theirs = indexed(&other.positive_spans, &other.positive_buckets);
                self.merge_positive(theirs, sign);
            } else {
                outcome.custom_bounds_reconciled = true;
                let shared = intersect_bounds(&self.custom_values, &other.custom_values);
                let mut totals = vec![0.0; shared.len() + 1];
                for (h, sign) in [(&*self, 1.0), (other, sign)] {
                    add_to_shared_bounds(
                        &mut totals,
                        &h.positive_spans,
                        &h.positive_buckets,
                        &h.custom_values,
                        &shared,
                        sign,
                    );
                }
                let populated = totals
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0.0)
                    .map(|(i, c)| (i as i32, *c));
                (self.positive_spans, self.positive_buckets) = from_indexed(populated);
                self.custom_values = shared;
            }
            return Ok(outcome);
        }
        let other_zero = self.reconcile_zero_buckets(other);
        self.zero_count += sign * other_zero;
        // The lower of the two schemas.
        if other.schema < self.schema {
            self.reduce_resolution(other.schema);
        }
        // Their buckets now inside the zero bucket were counted into it.
        let (schema, threshold) = (self.schema, Some(self.zero_threshold));
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
        self.merge_positive(positive, sign);
        let mine = indexed(&self.negative_spans, &self.negative_buckets);
        (self.negative_spans, self.negative_buckets) = merge(mine, negative, sign);
        Ok(outcome)
    }

    fn merge_positive(&mut self, theirs: Vec<(i32, f64)>, sign: f64) {
        let mine = indexed(&self.positive_spans, &self.positive_buckets);
        (self.positive_spans, self.positive_buckets) = merge(mine, theirs, sign);
    }

    /// Upstream's rules for the hint of a sum: equal hints stay, a gauge makes a gauge,
    /// unknown wins otherwise, and `CounterReset` against `NotCounterReset` is a collision
    /// (the hint becomes unknown).
    pub(super) fn adjust_counter_reset(&mut self, other: &FloatHistogram) -> bool {
        use CounterResetHint::*;
        match (self.counter_reset_hint, other.counter_reset_hint) {
            (a, b) if a == b => false,
            (Gauge, _) => false,
            (_, Gauge) => {
                self.counter_reset_hint = Gauge;
                false
            }
            (Unknown, _) => false,
            (_, Unknown) => {
                self.counter_reset_hint = Unknown;
                false
            }
            _ => {
                self.counter_reset_hint = Unknown;
                true
            }
        }
    }

    /// Lowers the resolution to `target` (a lower standard schema), merging buckets.
    pub fn reduce_resolution(&mut self, target: i32) {
        if self.uses_custom_buckets() || target >= self.schema {
            return;
        }
        for (spans, buckets) in [
            (&mut self.positive_spans, &mut self.positive_buckets),
            (&mut self.negative_spans, &mut self.negative_buckets),
        ] {
            let merged = merged_at(spans, buckets, self.schema, target, None);
            (*spans, *buckets) = from_indexed(merged.into_iter());
        }
        self.schema = target;
    }

    /// Makes the zero buckets of this histogram and `other` equally wide (the wider one,
    /// widened further past populated buckets it would cut); returns `other`'s zero count
    /// at that width. This histogram's buckets inside its new zero bucket are moved into it.
    pub(super) fn reconcile_zero_buckets(&mut self, other: &FloatHistogram) -> f64 {
        let mut other_zero = other.zero_count;
        let mut other_threshold = other.zero_threshold;
        while other_threshold != self.zero_threshold {
            if self.zero_threshold > other_threshold {
                (other_zero, other_threshold) = other.zero_count_for_threshold(self.zero_threshold);
            }
            if other_threshold > self.zero_threshold {
                (self.zero_count, self.zero_threshold) =
                    self.zero_count_for_threshold(other_threshold);
                self.clear_buckets_in_zero_bucket();
            }
        }
        other_zero
    }

    /// The zero count with the zero bucket widened to `threshold`, and the threshold,
    /// raised to the edge of a populated bucket it would otherwise cut.
    pub(super) fn zero_count_for_threshold(&self, threshold: f64) -> (f64, f64) {
        let mut threshold = threshold;
        if threshold == self.zero_threshold {
            return (self.zero_count, threshold);
        }
        'widen: loop {
            let mut zero = self.zero_count;
            for b in self.positive_bucket_iter() {
                if b.lower >= threshold {
                    break;
                }
                zero += b.count;
                if b.upper > threshold {
                    if b.count != 0.0 {
                        threshold = b.upper;
                    }
                    break;
                }
            }
            for b in self.negative_bucket_iter() {
                if b.upper <= -threshold {
                    break;
                }
                zero += b.count;
                if b.lower < -threshold {
                    if b.count != 0.0 {
                        threshold = -b.lower;
                        continue 'widen;
                    }
                    break;
                }
            }
            return (zero, threshold);
        }
    }

    /// Drops the buckets that lie inside the zero bucket (their counts are in it).
    fn clear_buckets_in_zero_bucket(&mut self) {
        let threshold = self.zero_threshold;
        let inside: Vec<bool> = self
            .positive_bucket_iter()
            .map(|b| b.lower < threshold)
            .collect();
        for (count, inside) in self.positive_buckets.iter_mut().zip(inside) {
            if inside {
                *count = 0.0;
            }
        }
        let inside: Vec<bool> = self
            .negative_bucket_iter()
            .map(|b| b.upper > -threshold)
            .collect();
        for (count, inside) in self.negative_buckets.iter_mut().zip(inside) {
            if inside {
                *count = 0.0;
            }
        }
        self.compact(0);
    }
}

/// Upstream's `targetIdx`: a bucket's index at a lower schema.
fn target_index(index: i32, from: i32, to: i32) -> i32 {
    if from <= to {
        return index;
    }
    ((index - 1) >> (from - to).min(31)) + 1
}

/// The buckets of a list laid out for schema `from`, at schema `to` (not above `from`):
/// (index, count) in order, neighbours that merge summed. With `start`, the leading buckets
/// that end at or below it (inside a zero bucket that wide) are left out.
pub(super) fn merged_at(
    spans: &[Span],
    buckets: &[f64],
    from: i32,
    to: i32,
    start: Option<f64>,
) -> Vec<(i32, f64)> {
    let mut out: Vec<(i32, f64)> = Vec::with_capacity(buckets.len());
    for (index, count) in indexed(spans, buckets) {
        push_summed(&mut out, target_index(index, from, to), count);
    }
    if let Some(start) = start.filter(|_| is_exponential_schema(to)) {
        let inside = out
            .iter()
            .take_while(|(index, _)| exponential_bound(*index, to) <= start)
            .count();
        out.drain(..inside);
    }
    out
}

/// Adds `sign` times each custom bucket of a list (bounds `bounds`) to the bucket of the
/// `shared` bounds it falls in (`totals` has one more entry, the overflow bucket).
pub(super) fn add_to_shared_bounds(
    totals: &mut [f64],
    spans: &[Span],
    buckets: &[f64],
    bounds: &[f64],
    shared: &[f64],
    sign: f64,
) {
    for (index, count) in indexed(spans, buckets) {
        totals[custom_target(index, bounds, shared)] += sign * count;
    }
}

/// (index, count) of each bucket of a list, in order.
pub(super) fn indexed(spans: &[Span], buckets: &[f64]) -> Vec<(i32, f64)> {
    span_indices(spans).zip(buckets.iter().copied()).collect()
}

/// Appends a bucket, adding to the last one when it has the same index (indices come in
/// order).
fn push_summed(out: &mut Vec<(i32, f64)>, index: i32, count: f64) {
    match out.last_mut() {
        Some((last, total)) if *last == index => *total += count,
        _ => out.push((index, count)),
    }
}

/// The union of two ordered bucket lists, `b` scaled by `sign`.
fn merge(a: Vec<(i32, f64)>, b: Vec<(i32, f64)>, sign: f64) -> (Vec<Span>, Vec<f64>) {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (Some((ia, ca)), Some((ib, cb))) if ia == ib => {
                out.push((ia, ca + sign * cb));
                a.next();
                b.next();
            }
            (Some((ia, ca)), Some((ib, _))) if ia < ib => {
                out.push((ia, ca));
                a.next();
            }
            (_, Some((ib, cb))) => {
                out.push((ib, sign * cb));
                b.next();
            }
            (Some(x), None) => {
                out.push(x);
                a.next();
            }
            (None, None) => break,
        }
    }
    from_indexed(out.into_iter())
}

/// Spans and counts for ordered (index, count) pairs: adjacent indices share a span.
pub(super) fn from_indexed(pairs: impl Iterator<Item = (i32, f64)>) -> (Vec<Span>, Vec<f64>) {
    let (mut spans, mut counts) = (Vec::<Span>::new(), Vec::new());
    let mut last: Option<i32> = None;
    for (index, count) in pairs {
        match (last, spans.last_mut()) {
            (Some(prev), Some(span)) if index == prev + 1 => span.length += 1,
            (Some(prev), _) => spans.push(Span::new(index - prev - 1, 1)),
            (None, _) => spans.push(Span::new(index, 1)),
        }
        counts.push(count);
        last = Some(index);
    }
    (spans, counts)
}

/// The bounds two custom-bucket histograms share.
pub(super) fn intersect_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The bucket of the shared bounds that custom bucket `index` (of `bounds`) falls in: the
/// first shared bound at or above its upper bound, else the overflow bucket.
fn custom_target(index: i32, bounds: &[f64], shared: &[f64]) -> usize {
    let Some(upper) = usize::try_from(index).ok().and_then(|i| bounds.get(i)) else {
        return shared.len();
    };
    shared.partition_point(|s| s < upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fh(schema: i32, spans: &[(i32, u32)], buckets: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema,
            count: buckets.iter().sum(),
            positive_spans: spans.iter().map(|&(o, l)| Span::new(o, l)).collect(),
            positive_buckets: buckets.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn adding_aligns_schemas_and_keeps_every_position() {
        // Schema 1 buckets 1 and 2 both fall into schema 0's bucket 1.
        let mut a = fh(0, &[(0, 2)], &[1.0, 2.0]);
        let b = fh(1, &[(1, 2)], &[3.0, 4.0]);
        a.add(&b).unwrap();
        assert_eq!(a.schema, 0);
        assert_eq!(a.positive_spans, vec![Span::new(0, 2)]);
        assert_eq!(a.positive_buckets, vec![1.0, 9.0]);
        assert_eq!(a.count, 10.0);
        // The higher schema on the left is reduced first.
        let mut b = fh(1, &[(1, 2)], &[3.0, 4.0]);
        b.add(&fh(0, &[(0, 2)], &[1.0, 2.0])).unwrap();
        assert_eq!(b.schema, 0);
        assert_eq!(b.positive_buckets, vec![1.0, 9.0]);
    }

    #[test]
    fn subtracting_inserts_negative_buckets() {
        let mut a = fh(0, &[(0, 1), (2, 1)], &[5.0, 5.0]);
        a.counter_reset_hint = CounterResetHint::NotCounterReset;
        a.sub(&fh(0, &[(1, 1)], &[2.0])).unwrap();
        assert_eq!(a.counter_reset_hint, CounterResetHint::Unknown);
        assert_eq!(a.positive_spans, vec![Span::new(0, 2), Span::new(1, 1)]);
        assert_eq!(a.positive_buckets, vec![5.0, -2.0, 5.0]);
    }

    #[test]
    fn wider_zero_buckets_take_the_buckets_inside() {
        let mut a = FloatHistogram {
            zero_threshold: 0.5,
            zero_count: 1.0,
            ..fh(0, &[(0, 2)], &[1.0, 2.0])
        };
        // Buckets (0.25,0.5] and (0.5,1] of b: the first is inside a's zero bucket.
        let b = fh(0, &[(-1, 2)], &[3.0, 4.0]);
        a.add(&b).unwrap();
        assert_eq!(a.zero_threshold, 0.5);
        assert_eq!(a.zero_count, 4.0);
        assert_eq!(a.positive_buckets, vec![5.0, 2.0]);
    }

    #[test]
    fn custom_bounds_reduce_to_the_shared_ones() {
        let mut a = FloatHistogram {
            custom_values: vec![1.0, 2.0, 5.0],
            ..fh(-53, &[(0, 4)], &[1.0, 2.0, 3.0, 4.0])
        };
        let b = FloatHistogram {
            custom_values: vec![2.0, 5.0, 10.0],
            ..fh(-53, &[(0, 4)], &[10.0, 20.0, 30.0, 40.0])
        };
        let outcome = a.add(&b).unwrap();
        assert!(outcome.custom_bounds_reconciled);
        assert_eq!(a.custom_values, vec![2.0, 5.0]);
        // (-Inf,2]: 1+2+10, (2,5]: 3+20, (5,+Inf]: 4+30+40.
        assert_eq!(a.positive_buckets, vec![13.0, 23.0, 74.0]);
        assert_eq!(a.positive_spans, vec![Span::new(0, 3)]);
    }

    #[test]
    fn hints_combine_as_upstream() {
        use CounterResetHint::*;
        for (a, b, want, collision) in [
            (CounterReset, CounterReset, CounterReset, false),
            (Gauge, CounterReset, Gauge, false),
            (NotCounterReset, Gauge, Gauge, false),
            (Unknown, CounterReset, Unknown, false),
            (CounterReset, Unknown, Unknown, false),
            (CounterReset, NotCounterReset, Unknown, true),
        ] {
            let mut x = fh(0, &[], &[]);
            x.counter_reset_hint = a;
            let mut y = fh(0, &[], &[]);
            y.counter_reset_hint = b;
            let outcome = x.add(&y).unwrap();
            assert_eq!(
                (x.counter_reset_hint, outcome.counter_reset_collision),
                (want, collision)
            );
        }
    }

    #[test]
    fn mixing_custom_and_standard_buckets_is_refused() {
        let mut a = fh(0, &[], &[]);
        let b = fh(-53, &[], &[]);
        assert_eq!(a.add(&b), Err(HistogramError::IncompatibleSchemas));
    }

    #[test]
    fn division_by_zero_drops_the_buckets() {
        let mut a = FloatHistogram {
            zero_count: 1.0,
            sum: -3.0,
            ..fh(0, &[(0, 1)], &[2.0])
        };
        a.div(0.0);
        assert!(a.positive_buckets.is_empty() && a.positive_spans.is_empty());
        assert_eq!(
            (a.zero_count, a.count, a.sum),
            (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY)
        );
    }
}
