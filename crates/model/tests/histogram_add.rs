//! Adding and subtracting float histograms against upstream's `TestFloatHistogramAdd` and
//! `TestFloatHistogramSub` tables (`model/histogram/float_histogram_test.go`), converted
//! from the Go literals by `scripts/dev/go_histogram_tables.py`: both operand orders,
//! results compared after compaction as upstream compares them, errors and annotation
//! flags as upstream expects.

// Upstream's values, not approximations of constants.
#![allow(clippy::approx_constant)]

use model::histogram::{CounterResetHint, FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

struct Case {
    name: &'static str,
    in1: FloatHistogram,
    in2: FloatHistogram,
    expected: Option<FloatHistogram>,
    err: &'static str,
    collision: bool,
    reconciled: bool,
}

fn add_cases() -> Vec<Case> {
    vec![
        Case {
            name: "same bucket layout",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 5.0, 7.0, 13.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![4.0, 2.0, 9.0, 10.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "same bucket layout, defined differently",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(1, 1), Span::new(0, 2)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(-2, 2), Span::new(1, 2), Span::new(0, 1)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(3, 7)], negative_buckets: vec![1.0, 1.0, 0.0, 0.0, 0.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 2), Span::new(1, 1), Span::new(0, 2)], positive_buckets: vec![1.0, 0.0, 5.0, 7.0, 13.0], negative_spans: vec![Span::new(3, 5), Span::new(0, 2)], negative_buckets: vec![4.0, 2.0, 0.0, 0.0, 0.0, 9.0, 10.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "non-overlapping spans",
            in1: FloatHistogram { zero_threshold: 0.001, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.001, zero_count: 8.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(0, 2), Span::new(3, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(-9, 2), Span::new(3, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.001, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 4), Span::new(0, 6)], positive_buckets: vec![1.0, 0.0, 5.0, 4.0, 3.0, 4.0, 7.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(-9, 2), Span::new(3, 2), Span::new(5, 2), Span::new(3, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0, 3.0, 1.0, 5.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "non-overlapping spans inverted order",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(0, 2), Span::new(3, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(-6, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 2), Span::new(0, 5), Span::new(0, 3)], positive_buckets: vec![1.0, 0.0, 5.0, 4.0, 3.0, 4.0, 7.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(-6, 2), Span::new(1, 2), Span::new(4, 2), Span::new(3, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0, 3.0, 1.0, 5.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "overlapping spans",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(-1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 4), Span::new(0, 4)], positive_buckets: vec![1.0, 5.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "overlapping spans inverted order",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(-1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![1.0, 5.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "schema change",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, schema: 0, positive_spans: vec![Span::new(-1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, schema: 1, positive_spans: vec![Span::new(-4, 3), Span::new(5, 5)], positive_buckets: vec![1.0, 0.0, 0.0, 3.0, 2.0, 2.0, 3.0, 4.0], negative_spans: vec![Span::new(6, 3), Span::new(6, 4)], negative_buckets: vec![3.0, 0.5, 0.5, 2.0, 3.0, 2.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 19.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![1.0, 5.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "larger zero bucket in first histogram",
            in1: FloatHistogram { zero_threshold: 1.0, zero_count: 17.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(1, 2), Span::new(0, 3)], positive_buckets: vec![2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 1.0, zero_count: 29.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(1, 2), Span::new(0, 3)], positive_buckets: vec![2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "larger zero bucket in second histogram",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 1.0, zero_count: 17.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(1, 2), Span::new(0, 3)], positive_buckets: vec![2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 1.0, zero_count: 29.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(1, 5)], positive_buckets: vec![2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "larger zero threshold in first histogram ends up inside a populated bucket of second histogram",
            in1: FloatHistogram { zero_threshold: 0.2, zero_count: 17.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(1, 2), Span::new(0, 3)], positive_buckets: vec![2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.25, zero_count: 29.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-1, 1), Span::new(1, 5)], positive_buckets: vec![0.0, 2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "larger zero threshold in second histogram ends up inside a populated bucket of first histogram",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, positive_spans: vec![Span::new(-2, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.2, zero_count: 17.0, count: 21.0, sum: 1.234, positive_spans: vec![Span::new(1, 2), Span::new(0, 3)], positive_buckets: vec![2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.25, zero_count: 29.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(1, 5)], positive_buckets: vec![2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "schema change combined with larger zero bucket in second histogram",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 1.234, schema: 0, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![2.0, 5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.25, zero_count: 12.0, count: 30.0, sum: 2.345, schema: 1, positive_spans: vec![Span::new(-3, 2), Span::new(5, 5)], positive_buckets: vec![1.0, 0.0, 3.0, 2.0, 2.0, 3.0, 4.0], negative_spans: vec![Span::new(6, 3), Span::new(6, 4)], negative_buckets: vec![3.0, 0.5, 0.5, 2.0, 3.0, 2.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.25, zero_count: 22.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-1, 7)], positive_buckets: vec![6.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "schema change combined with larger zero bucket in first histogram",
            in1: FloatHistogram { zero_threshold: 0.25, zero_count: 8.0, count: 21.0, sum: 1.234, schema: 0, positive_spans: vec![Span::new(-1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], negative_spans: vec![Span::new(4, 2), Span::new(1, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 2.345, schema: 1, positive_spans: vec![Span::new(-4, 3), Span::new(5, 5)], positive_buckets: vec![1.0, 0.0, 0.0, 3.0, 2.0, 2.0, 3.0, 4.0], negative_spans: vec![Span::new(6, 3), Span::new(6, 4)], negative_buckets: vec![3.0, 0.5, 0.5, 2.0, 3.0, 2.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.25, zero_count: 20.0, count: 51.0, sum: 3.579, positive_spans: vec![Span::new(-1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![3.0, 2.0, 1.0, 4.0, 9.0, 6.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "same custom bucket layout",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 2.345, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 11.0, sum: 1.234, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 26.0, sum: 3.579, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 5.0, 7.0, 13.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "same custom bucket layout, defined differently",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 2.345, positive_spans: vec![Span::new(0, 2), Span::new(1, 1), Span::new(0, 2)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 11.0, sum: 1.234, positive_spans: vec![Span::new(0, 2), Span::new(1, 2), Span::new(0, 1)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 26.0, sum: 3.579, positive_spans: vec![Span::new(0, 2), Span::new(1, 1), Span::new(0, 2)], positive_buckets: vec![1.0, 0.0, 5.0, 7.0, 13.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "non-overlapping spans with custom buckets",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 2.345, positive_spans: vec![Span::new(0, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 20.0, sum: 1.234, positive_spans: vec![Span::new(2, 2), Span::new(3, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 35.0, sum: 3.579, positive_spans: vec![Span::new(0, 4), Span::new(0, 6)], positive_buckets: vec![1.0, 0.0, 5.0, 4.0, 3.0, 4.0, 7.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "non-overlapping spans inverted order with custom buckets",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 20.0, sum: 1.234, positive_spans: vec![Span::new(2, 2), Span::new(3, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 2.345, positive_spans: vec![Span::new(0, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 35.0, sum: 3.579, positive_spans: vec![Span::new(0, 4), Span::new(0, 6)], positive_buckets: vec![1.0, 0.0, 5.0, 4.0, 3.0, 4.0, 7.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "overlapping spans with custom buckets",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 2.345, positive_spans: vec![Span::new(0, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 27.0, sum: 1.234, positive_spans: vec![Span::new(1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 42.0, sum: 3.579, positive_spans: vec![Span::new(0, 4), Span::new(0, 4)], positive_buckets: vec![1.0, 5.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "overlapping spans inverted order with custom buckets",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 27.0, sum: 1.234, positive_spans: vec![Span::new(1, 4), Span::new(0, 3)], positive_buckets: vec![5.0, 4.0, 2.0, 3.0, 6.0, 2.0, 5.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 2.345, positive_spans: vec![Span::new(0, 2), Span::new(2, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 42.0, sum: 3.579, positive_spans: vec![Span::new(0, 4), Span::new(0, 4)], positive_buckets: vec![1.0, 5.0, 4.0, 2.0, 6.0, 10.0, 9.0, 5.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "custom buckets with partial intersection",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 10.0, sum: 100.0, positive_spans: vec![Span::new(0, 3)], positive_buckets: vec![2.0, 3.0, 5.0], custom_values: vec![1.0, 2.5], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 8.0, sum: 80.0, positive_spans: vec![Span::new(0, 4)], positive_buckets: vec![1.0, 2.0, 3.0, 2.0], custom_values: vec![1.0, 2.0, 3.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 18.0, sum: 180.0, positive_spans: vec![Span::new(0, 2)], positive_buckets: vec![3.0, 15.0], custom_values: vec![1.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: true,
        },
        Case {
            name: "different custom bucket layout - intersection and rollup",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 6.0, sum: 2.345, positive_spans: vec![Span::new(0, 1), Span::new(1, 1)], positive_buckets: vec![1.0, 5.0], custom_values: vec![2.0, 4.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 220.0, sum: 1.234, positive_spans: vec![Span::new(0, 2), Span::new(1, 1), Span::new(0, 2)], positive_buckets: vec![10.0, 20.0, 40.0, 50.0, 100.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 226.0, sum: 3.579, positive_spans: vec![Span::new(0, 3)], positive_buckets: vec![((1.0 + 10.0) + 20.0), 40.0, ((5.0 + 50.0) + 100.0)], custom_values: vec![2.0, 4.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: true,
        },
        Case {
            name: "custom buckets with no common boundaries except +Inf",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 3.0, sum: 50.0, positive_spans: vec![Span::new(0, 2)], positive_buckets: vec![1.0, 2.0], custom_values: vec![1.5], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 30.0, sum: 40.0, positive_spans: vec![Span::new(0, 2)], positive_buckets: vec![10.0, 20.0], custom_values: vec![2.5], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 33.0, sum: 90.0, positive_spans: vec![Span::new(0, 1)], positive_buckets: vec![(((1.0 + 2.0) + 10.0) + 20.0)], custom_values: vec![], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: true,
        },
        Case {
            name: "mix exponential and custom buckets histograms",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 59.0, sum: 1.234, schema: 0, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![2.0, 5.0, 4.0, 2.0, 3.0, 6.0, 7.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![4.0, 10.0, 1.0, 4.0, 14.0, 7.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 11.0, sum: 12.0, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            expected: None,
            err: "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "warn on counter reset hint collision",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, counter_reset_hint: CounterResetHint::CounterReset, ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, counter_reset_hint: CounterResetHint::NotCounterReset, ..Default::default() },
            expected: None,
            err: "",
            collision: true,
            reconciled: false,
        },
    ]
}

fn sub_cases() -> Vec<Case> {
    vec![
        Case {
            name: "same bucket layout",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 11.0, count: 30.0, sum: 23.0, positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.0, 1.0, 5.0, 6.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 21.0, sum: 12.0, positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![1.0, 1.0, 4.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 3.0, count: 9.0, sum: 11.0, positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 1.0, 1.0, 1.0], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![2.0, 0.0, 1.0, 2.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "schema change",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 59.0, sum: 1.234, schema: 0, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![2.0, 5.0, 4.0, 2.0, 3.0, 6.0, 7.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![4.0, 10.0, 1.0, 4.0, 14.0, 7.0], ..Default::default() },
            in2: FloatHistogram { zero_threshold: 0.01, zero_count: 2.0, count: 19.0, sum: 0.345, schema: 1, positive_spans: vec![Span::new(-4, 3), Span::new(5, 5)], positive_buckets: vec![1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 3.0, 4.0], negative_spans: vec![Span::new(6, 3), Span::new(6, 4)], negative_buckets: vec![3.0, 0.5, 0.5, 2.0, 3.0, 2.0, 4.0], ..Default::default() },
            expected: Some(FloatHistogram { zero_threshold: 0.01, zero_count: 6.0, count: 40.0, sum: 0.889, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![1.0, 5.0, 4.0, 2.0, 2.0, 2.0, 0.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![1.0, 9.0, 1.0, 4.0, 9.0, 1.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "same custom bucket layout",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 15.0, sum: 23.0, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 11.0, sum: 12.0, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 4.0, sum: 11.0, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![1.0, 0.0, 1.0, 1.0, 1.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], ..Default::default() }),
            err: "",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "different custom bucket layout - with intersection and rollup",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 220.0, sum: 9.9, positive_spans: vec![Span::new(0, 2), Span::new(1, 1), Span::new(0, 2)], positive_buckets: vec![10.0, 20.0, 40.0, 50.0, 100.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0], counter_reset_hint: CounterResetHint::Gauge, ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 6.0, sum: 4.4, positive_spans: vec![Span::new(0, 1), Span::new(1, 1)], positive_buckets: vec![1.0, 5.0], custom_values: vec![2.0, 4.0], counter_reset_hint: CounterResetHint::Gauge, ..Default::default() },
            expected: Some(FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 214.0, sum: 5.5, positive_spans: vec![Span::new(0, 3)], positive_buckets: vec![((10.0 + 20.0) - 1.0), 40.0, ((50.0 + 100.0) - 5.0)], custom_values: vec![2.0, 4.0], counter_reset_hint: CounterResetHint::Gauge, ..Default::default() }),
            err: "",
            collision: false,
            reconciled: true,
        },
        Case {
            name: "mix exponential and custom buckets histograms",
            in1: FloatHistogram { zero_threshold: 0.01, zero_count: 8.0, count: 59.0, sum: 1.234, schema: 0, positive_spans: vec![Span::new(-2, 5), Span::new(0, 3)], positive_buckets: vec![2.0, 5.0, 4.0, 2.0, 3.0, 6.0, 7.0, 5.0], negative_spans: vec![Span::new(3, 3), Span::new(1, 3)], negative_buckets: vec![4.0, 10.0, 1.0, 4.0, 14.0, 7.0], ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, count: 11.0, sum: 12.0, positive_spans: vec![Span::new(0, 2), Span::new(1, 3)], positive_buckets: vec![0.0, 0.0, 2.0, 3.0, 6.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], ..Default::default() },
            expected: None,
            err: "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas",
            collision: false,
            reconciled: false,
        },
        Case {
            name: "warn on counter reset hint collision",
            in1: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, counter_reset_hint: CounterResetHint::CounterReset, ..Default::default() },
            in2: FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, counter_reset_hint: CounterResetHint::NotCounterReset, ..Default::default() },
            expected: None,
            err: "",
            collision: true,
            reconciled: false,
        },
    ]
}

/// Upstream's `testHistogramAdd`/`testFloatHistogramSub`: `a op b`, checked against
/// `expected`; problems collected rather than stopping at the first.
fn check(
    name: &str,
    a: &FloatHistogram,
    b: &FloatHistogram,
    expected: Option<&FloatHistogram>,
    case: &Case,
    subtract: bool,
    wrong: &mut Vec<String>,
) {
    assert_eq!(a.validate(), Ok(()), "{name}: a");
    assert_eq!(b.validate(), Ok(()), "{name}: b");
    let mut result = a.clone();
    let outcome = if subtract {
        result.sub(b)
    } else {
        result.add(b)
    };
    match (&outcome, case.err) {
        (Err(e), want) if e.to_string() == want => {}
        (Ok(_), "") => {}
        (got, want) => wrong.push(format!("{name}: {got:?}, expected error {want:?}")),
    }
    if let Some(expected) = expected {
        let mut expected = expected.clone();
        expected.compact(0);
        result.compact(0);
        if result != expected {
            wrong.push(format!(
                "{name}:\n  got      {result:?}\n  expected {expected:?}"
            ));
        }
        if let Ok(outcome) = outcome {
            if (
                outcome.counter_reset_collision,
                outcome.custom_bounds_reconciled,
            ) != (case.collision, case.reconciled)
            {
                wrong.push(format!("{name}: flags {outcome:?}"));
            }
        }
    }
}

#[test]
fn sums_are_upstream_s() {
    let mut wrong = Vec::new();
    let cases = add_cases();
    assert!(cases.len() >= 20, "{}", cases.len());
    for case in &cases {
        let expected = case.expected.as_ref();
        check(
            case.name, &case.in1, &case.in2, expected, case, false, &mut wrong,
        );
        let name = format!("{} (swapped)", case.name);
        check(
            &name, &case.in2, &case.in1, expected, case, false, &mut wrong,
        );
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn differences_are_upstream_s() {
    let mut wrong = Vec::new();
    for case in &sub_cases() {
        check(
            case.name,
            &case.in1,
            &case.in2,
            case.expected.as_ref(),
            case,
            true,
            &mut wrong,
        );
        // b - a is -(a - b), with the hint kept.
        let negated = case.expected.as_ref().map(|e| {
            let mut n = e.clone();
            n.mul(-1.0);
            n.counter_reset_hint = e.counter_reset_hint;
            n
        });
        let name = format!("{} (swapped)", case.name);
        check(
            &name,
            &case.in2,
            &case.in1,
            negated.as_ref(),
            case,
            true,
            &mut wrong,
        );
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
