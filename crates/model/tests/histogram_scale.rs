//! Scaling float histograms against upstream's `TestFloatHistogramMul` and
//! `TestFloatHistogramDiv` tables (`model/histogram/float_histogram_test.go`), converted
//! from the Go literals by `scripts/dev/go_histogram_tables.py`; results compared field by
//! field as upstream does.

// Upstream's values, not approximations of constants (a factor of 3.1415).
#![allow(clippy::approx_constant)]

use model::histogram::{CounterResetHint, FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

type Case = (&'static str, FloatHistogram, f64, FloatHistogram);

fn mul_cases() -> Vec<Case> {
    vec![
        (
            "zero value",
            FloatHistogram::default(),
            3.1415,
            FloatHistogram::default(),
        ),
        (
            "zero multiplier",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
            0.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 0.0,
                count: 0.0,
                sum: 0.0,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![0.0, 0.0, 0.0, 0.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![0.0, 0.0, 0.0, 0.0],
                ..Default::default()
            },
        ),
        (
            "no-op",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
            1.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
        ),
        (
            "double",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
            2.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 11.0,
                count: (3493.3 * 2.0),
                sum: (2349209.324 * 2.0),
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![2.0, 6.6, 8.4, 0.2],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![6.2, 6.0, (1.234e5 * 2.0), 2000.0],
                ..Default::default()
            },
        ),
        (
            "triple",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 11.0,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.0, 1.0, 5.0, 6.0],
                ..Default::default()
            },
            3.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 33.0,
                count: 90.0,
                sum: 69.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![3.0, 0.0, 9.0, 12.0, 21.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![9.0, 3.0, 15.0, 18.0],
                ..Default::default()
            },
        ),
        (
            "negation",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 11.0,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.0, 1.0, 5.0, 6.0],
                ..Default::default()
            },
            -1.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: -11.0,
                count: -30.0,
                sum: -23.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![-1.0, 0.0, -3.0, -4.0, -7.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![-3.0, -1.0, -5.0, -6.0],
                counter_reset_hint: CounterResetHint::Gauge,
                ..Default::default()
            },
        ),
        (
            "negative multiplier",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 11.0,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.0, 1.0, 5.0, 6.0],
                ..Default::default()
            },
            -2.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: -22.0,
                count: -60.0,
                sum: -46.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![-2.0, 0.0, -6.0, -8.0, -14.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![-6.0, -2.0, -10.0, -12.0],
                counter_reset_hint: CounterResetHint::Gauge,
                ..Default::default()
            },
        ),
        (
            "no-op with custom buckets",
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(0, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                custom_values: vec![1.0, 2.0, 3.0],
                ..Default::default()
            },
            1.0,
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(0, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                custom_values: vec![1.0, 2.0, 3.0],
                ..Default::default()
            },
        ),
        (
            "triple with custom buckets",
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(0, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                custom_values: vec![1.0, 2.0, 3.0, 4.0],
                ..Default::default()
            },
            3.0,
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 90.0,
                sum: 69.0,
                positive_spans: vec![Span::new(0, 2), Span::new(1, 3)],
                positive_buckets: vec![3.0, 0.0, 9.0, 12.0, 21.0],
                custom_values: vec![1.0, 2.0, 3.0, 4.0],
                ..Default::default()
            },
        ),
    ]
}

fn div_cases() -> Vec<Case> {
    vec![
        (
            "zero value",
            FloatHistogram::default(),
            3.1415,
            FloatHistogram::default(),
        ),
        (
            "zero divisor",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
            0.0,
            FloatHistogram {
                zero_threshold: 0.01,
                count: f64::INFINITY,
                sum: f64::INFINITY,
                zero_count: f64::INFINITY,
                ..Default::default()
            },
        ),
        (
            "no-op",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
            1.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
        ),
        (
            "half",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 11.0,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.0, 1.0, 5.0, 6.0],
                ..Default::default()
            },
            2.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 15.0,
                sum: 11.5,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![0.5, 0.0, 1.5, 2.0, 3.5],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![1.5, 0.5, 2.5, 3.0],
                ..Default::default()
            },
        ),
        (
            "negation",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 5.5,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0],
                ..Default::default()
            },
            -1.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: -5.5,
                count: -3493.3,
                sum: -2349209.324,
                positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)],
                positive_buckets: vec![-1.0, -3.3, -4.2, -0.1],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![-3.1, -3.0, -1.234e5, -1000.0],
                counter_reset_hint: CounterResetHint::Gauge,
                ..Default::default()
            },
        ),
        (
            "negative half",
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: 11.0,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![3.0, 1.0, 5.0, 6.0],
                ..Default::default()
            },
            -2.0,
            FloatHistogram {
                zero_threshold: 0.01,
                zero_count: -5.5,
                count: -15.0,
                sum: -11.5,
                positive_spans: vec![Span::new(-2, 2), Span::new(1, 3)],
                positive_buckets: vec![-0.5, 0.0, -1.5, -2.0, -3.5],
                negative_spans: vec![Span::new(3, 2), Span::new(3, 2)],
                negative_buckets: vec![-1.5, -0.5, -2.5, -3.0],
                counter_reset_hint: CounterResetHint::Gauge,
                ..Default::default()
            },
        ),
        (
            "no-op with custom buckets",
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(0, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                custom_values: vec![1.0, 2.0, 3.0],
                ..Default::default()
            },
            1.0,
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 3493.3,
                sum: 2349209.324,
                positive_spans: vec![Span::new(0, 1), Span::new(2, 3)],
                positive_buckets: vec![1.0, 3.3, 4.2, 0.1],
                custom_values: vec![1.0, 2.0, 3.0],
                ..Default::default()
            },
        ),
        (
            "half with custom buckets",
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 30.0,
                sum: 23.0,
                positive_spans: vec![Span::new(0, 2), Span::new(1, 3)],
                positive_buckets: vec![1.0, 0.0, 3.0, 4.0, 7.0],
                custom_values: vec![1.0, 2.0, 3.0, 4.0],
                ..Default::default()
            },
            2.0,
            FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 15.0,
                sum: 11.5,
                positive_spans: vec![Span::new(0, 2), Span::new(1, 3)],
                positive_buckets: vec![0.5, 0.0, 1.5, 2.0, 3.5],
                custom_values: vec![1.0, 2.0, 3.0, 4.0],
                ..Default::default()
            },
        ),
    ]
}

/// Equal field by field, floats by `==` as upstream's `require.Equal` compares them (so
/// -0 equals 0), and NaN equal to NaN.
fn same(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let eq = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
    let all = |v: &[f64], w: &[f64]| v.len() == w.len() && v.iter().zip(w).all(|(x, y)| eq(*x, *y));
    a.counter_reset_hint == b.counter_reset_hint
        && a.schema == b.schema
        && eq(a.zero_threshold, b.zero_threshold)
        && eq(a.zero_count, b.zero_count)
        && eq(a.count, b.count)
        && eq(a.sum, b.sum)
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && all(&a.positive_buckets, &b.positive_buckets)
        && all(&a.negative_buckets, &b.negative_buckets)
        && all(&a.custom_values, &b.custom_values)
}

#[test]
fn products_and_quotients_are_upstream_s() {
    let mut wrong = Vec::new();
    let (mul, div) = (mul_cases(), div_cases());
    assert_eq!((mul.len(), div.len()), (9, 8));
    for (name, mut h, factor, expected) in mul {
        h.mul(factor);
        if !same(&h, &expected) {
            wrong.push(format!(
                "mul {name}:\n  got      {h:?}\n  expected {expected:?}"
            ));
        }
    }
    for (name, mut h, divisor, expected) in div {
        h.div(divisor);
        if !same(&h, &expected) {
            wrong.push(format!(
                "div {name}:\n  got      {h:?}\n  expected {expected:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
