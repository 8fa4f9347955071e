//! Native histogram model against upstream's `model/histogram` test cases (its
//! `TestHistogramString`, `TestHistogramValidation`, `TestHistogramToFloat`): the same
//! inputs give the same texts, verdicts and error messages.

// Upstream's test values, not approximations of constants (a sum of -3.1415).
#![allow(clippy::approx_constant)]

use model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span, CUSTOM_BUCKETS_SCHEMA};

fn spans(v: &[(i32, u32)]) -> Vec<Span> {
    v.iter().map(|&(o, l)| Span::new(o, l)).collect()
}

#[test]
fn histograms_print_as_upstream() {
    let cases = [
        (Histogram::default(), "{count:0, sum:0}"),
        (
            Histogram {
                count: 9,
                sum: -3.1415,
                zero_count: 12,
                zero_threshold: 0.001,
                negative_spans: spans(&[(0, 5), (1, 1)]),
                negative_buckets: vec![1, 2, -2, 1, -1, 0],
                ..Default::default()
            },
            "{count:9, sum:-3.1415, [-64,-32):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, [-1,-0.5):1, [-0.001,0.001]:12}",
        ),
        (
            Histogram {
                count: 19,
                sum: 2.7,
                positive_spans: spans(&[(0, 4), (0, 0), (0, 3)]),
                positive_buckets: vec![1, 2, -2, 1, -1, 0, 0],
                negative_spans: spans(&[(0, 5), (1, 0), (0, 1)]),
                negative_buckets: vec![1, 2, -2, 1, -1, 0],
                ..Default::default()
            },
            "{count:19, sum:2.7, [-64,-32):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, [-1,-0.5):1, (0.5,1]:1, (1,2]:3, (2,4]:1, (4,8]:2, (8,16]:1, (16,32]:1, (32,64]:1}",
        ),
        (
            Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 19,
                sum: 2.7,
                positive_spans: spans(&[(0, 4), (0, 0), (0, 3)]),
                positive_buckets: vec![1, 2, -2, 1, -1, 0, 0],
                custom_values: vec![1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 50.0],
                ..Default::default()
            },
            "{count:19, sum:2.7, [-Inf,1]:1, (1,2]:3, (2,5]:1, (5,10]:2, (10,15]:1, (15,20]:1, (20,25]:1}",
        ),
    ];
    for (h, want) in cases {
        assert_eq!(h.to_string(), want);
        // The float form prints the same (its counts are whole numbers here).
        assert_eq!(h.to_float().to_string(), want);
    }
}

/// Upstream's validation table: (name, histogram, error or "", whether the float form is
/// checked too).
fn validation_cases() -> Vec<(&'static str, Histogram, &'static str, bool)> {
    let nhcb = |spans_: &[(i32, u32)], buckets: &[i64], custom: &[f64]| Histogram {
        count: 5,
        sum: 19.4,
        schema: CUSTOM_BUCKETS_SCHEMA,
        positive_spans: spans(spans_),
        positive_buckets: buckets.to_vec(),
        custom_values: custom.to_vec(),
        ..Default::default()
    };
    vec![
        (
            "valid histogram",
            Histogram {
                count: 12,
                zero_count: 2,
                zero_threshold: 0.001,
                sum: 19.4,
                schema: 1,
                positive_spans: spans(&[(0, 2), (1, 2)]),
                positive_buckets: vec![1, 1, -1, 0],
                negative_spans: spans(&[(0, 2), (1, 2)]),
                negative_buckets: vec![1, 1, -1, 0],
                ..Default::default()
            },
            "",
            true,
        ),
        (
            "valid histogram with NaN observations",
            Histogram {
                zero_count: 2,
                count: 4,
                sum: f64::NAN,
                positive_spans: spans(&[(0, 1)]),
                positive_buckets: vec![1],
                ..Default::default()
            },
            "",
            true,
        ),
        (
            "count above the buckets' total without NaN",
            Histogram {
                zero_count: 2,
                count: 4,
                sum: 333.0,
                positive_spans: spans(&[(0, 1)]),
                positive_buckets: vec![1],
                ..Default::default()
            },
            "3 observations found in buckets, but the Count field is 4: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
            false,
        ),
        (
            "too few negative buckets",
            Histogram {
                negative_spans: spans(&[(0, 1)]),
                ..Default::default()
            },
            "negative side: spans need 1 buckets, have 0 buckets: histogram spans specify different number of buckets than provided",
            true,
        ),
        (
            "too many positive buckets",
            Histogram {
                positive_spans: spans(&[(0, 1)]),
                positive_buckets: vec![1, 2],
                ..Default::default()
            },
            "positive side: spans need 1 buckets, have 2 buckets: histogram spans specify different number of buckets than provided",
            true,
        ),
        (
            "negative span with a negative offset",
            Histogram {
                negative_spans: spans(&[(-1, 1), (-1, 1)]),
                negative_buckets: vec![1, 2],
                ..Default::default()
            },
            "negative side: span number 2 with offset -1: histogram has a span whose offset is negative",
            true,
        ),
        (
            "negative bucket with a negative count",
            Histogram {
                negative_spans: spans(&[(-1, 1)]),
                negative_buckets: vec![-1],
                ..Default::default()
            },
            "negative side: bucket number 1 has observation count of -1: histogram has a bucket whose observation count is negative",
            true,
        ),
        (
            "positive bucket with a negative count",
            Histogram {
                positive_spans: spans(&[(-1, 1)]),
                positive_buckets: vec![-1],
                ..Default::default()
            },
            "positive side: bucket number 1 has observation count of -1: histogram has a bucket whose observation count is negative",
            true,
        ),
        (
            "zero bucket not in the count",
            Histogram {
                count: 2,
                zero_count: 1,
                negative_spans: spans(&[(-1, 1)]),
                positive_spans: spans(&[(-1, 1)]),
                negative_buckets: vec![1],
                positive_buckets: vec![1],
                ..Default::default()
            },
            "3 observations found in buckets, but the Count field is 2: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
            false,
        ),
        (
            "exponential histogram with the custom buckets schema",
            Histogram {
                count: 12,
                zero_count: 2,
                zero_threshold: 0.001,
                sum: 19.4,
                schema: CUSTOM_BUCKETS_SCHEMA,
                positive_spans: spans(&[(0, 2), (1, 2)]),
                positive_buckets: vec![1, 1, -1, 0],
                negative_spans: spans(&[(0, 2), (1, 2)]),
                negative_buckets: vec![1, 1, -1, 0],
                ..Default::default()
            },
            "custom buckets: only 0 custom bounds defined which is insufficient to cover total span length of 5: histogram custom bounds are too few",
            true,
        ),
        (
            "custom bounds with an exponential schema",
            Histogram {
                count: 5,
                sum: 19.4,
                positive_spans: spans(&[(0, 2), (1, 2)]),
                positive_buckets: vec![1, 1, -1, 0],
                custom_values: vec![1.0, 2.0, 3.0, 4.0],
                ..Default::default()
            },
            "histogram with exponential schema must not have custom bounds",
            false,
        ),
        (
            "custom buckets with a zero bucket",
            Histogram {
                count: 12,
                zero_count: 2,
                zero_threshold: 0.001,
                sum: 19.4,
                schema: CUSTOM_BUCKETS_SCHEMA,
                positive_spans: spans(&[(0, 2), (1, 2)]),
                positive_buckets: vec![1, 1, -1, 0],
                negative_spans: spans(&[(0, 2), (1, 2)]),
                negative_buckets: vec![1, 1, -1, 0],
                custom_values: vec![1.0, 2.0, 3.0, 4.0],
                ..Default::default()
            },
            "custom buckets: must have zero count of 0",
            false,
        ),
        (
            "custom buckets, negative offset in the first span",
            nhcb(&[(-1, 2), (1, 2)], &[1, 1, -1, 0], &[1.0, 2.0, 3.0, 4.0]),
            "custom buckets: span number 1 with offset -1: histogram has a span whose offset is negative",
            true,
        ),
        (
            "custom buckets, negative offset in a later span",
            nhcb(&[(0, 2), (-1, 2)], &[1, 1, -1, 0], &[1.0, 2.0, 3.0, 4.0]),
            "custom buckets: span number 2 with offset -1: histogram has a span whose offset is negative",
            true,
        ),
        (
            "custom buckets, spans and buckets disagree",
            nhcb(&[(0, 2), (1, 2)], &[1, 1, -1], &[1.0, 2.0, 3.0, 4.0]),
            "custom buckets: spans need 4 buckets, have 3 buckets: histogram spans specify different number of buckets than provided",
            true,
        ),
        (
            "custom buckets, too few bounds",
            nhcb(&[(0, 2), (1, 2)], &[1, 1, -1, 0], &[1.0, 2.0, 3.0]),
            "custom buckets: only 3 custom bounds defined which is insufficient to cover total span length of 5: histogram custom bounds are too few",
            true,
        ),
        (
            "valid custom buckets",
            nhcb(&[(0, 2), (1, 2)], &[1, 1, -1, 0], &[1.0, 2.0, 3.0, 4.0]),
            "",
            true,
        ),
        (
            "valid custom buckets with extra bounds",
            nhcb(
                &[(0, 2), (1, 2)],
                &[1, 1, -1, 0],
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            ),
            "",
            true,
        ),
        (
            "custom bounds not increasing",
            Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                custom_values: vec![0.0, 0.0],
                ..Default::default()
            },
            "custom buckets: previous bound is 0.000000 and current is 0.000000: histogram custom bounds must be in strictly increasing order",
            true,
        ),
        (
            "custom bounds with +Inf",
            Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                custom_values: vec![1.0, f64::INFINITY],
                ..Default::default()
            },
            "custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite",
            true,
        ),
        (
            "custom bounds with -Inf",
            Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                custom_values: vec![f64::NEG_INFINITY, 1.0],
                ..Default::default()
            },
            "",
            true,
        ),
        (
            "custom bounds with NaN",
            Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                custom_values: vec![1.0, f64::NAN, 3.0],
                ..Default::default()
            },
            "custom buckets: histogram custom bounds must not be NaN",
            true,
        ),
        (
            "schema too high",
            Histogram {
                schema: 10,
                ..Default::default()
            },
            "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 10",
            true,
        ),
        (
            "schema too low",
            Histogram {
                schema: -10,
                ..Default::default()
            },
            "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema -10",
            true,
        ),
    ]
}

#[test]
fn validation_verdicts_and_messages_are_upstream_s() {
    for (name, h, want, check_float) in validation_cases() {
        let got = h
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(got, want, "{name}");
        if check_float {
            let got = h
                .to_float()
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(got, want, "{name} (float)");
        }
    }
}

#[test]
fn float_histograms_refuse_negative_counts() {
    let h = FloatHistogram {
        count: -1.0,
        ..Default::default()
    };
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "observation count is  -1: histogram's observation count is negative"
    );
    let h = FloatHistogram {
        zero_count: -2.5,
        ..Default::default()
    };
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "zero bucket has observation count of -2.5: histogram has a bucket whose observation count is negative"
    );
}

#[test]
fn to_float_makes_counts_absolute() {
    let h = Histogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: 0,
        count: 21,
        sum: 1234.5,
        zero_threshold: 0.001,
        zero_count: 5,
        positive_spans: spans(&[(0, 4), (0, 0), (3, 3)]),
        positive_buckets: vec![1, 2, -2, 1, -1, 0, 0],
        negative_spans: spans(&[(0, 5), (1, 0), (0, 1)]),
        negative_buckets: vec![1, 2, -2, 1, -1, 0],
        ..Default::default()
    };
    let f = h.to_float();
    assert_eq!(f.counter_reset_hint, CounterResetHint::Gauge);
    assert_eq!((f.count, f.zero_count, f.sum), (21.0, 5.0, 1234.5));
    assert_eq!(f.positive_buckets, vec![1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
    assert_eq!(f.negative_buckets, vec![1.0, 3.0, 1.0, 2.0, 1.0, 1.0]);
    assert_eq!(f.positive_spans, h.positive_spans);
    // Custom buckets lose any zero bucket and negative side.
    let nhcb = Histogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        zero_count: 3,
        zero_threshold: 1.0,
        negative_spans: spans(&[(0, 1)]),
        negative_buckets: vec![1],
        positive_spans: spans(&[(0, 2)]),
        positive_buckets: vec![2, 1],
        custom_values: vec![1.0, 2.0],
        ..Default::default()
    };
    let f = nhcb.to_float();
    assert_eq!((f.zero_count, f.zero_threshold), (0.0, 0.0));
    assert!(f.negative_spans.is_empty() && f.negative_buckets.is_empty());
    assert_eq!(f.positive_buckets, vec![2.0, 3.0]);
    assert_eq!(f.custom_values, vec![1.0, 2.0]);
}

#[test]
fn equality_ignores_the_hint_and_empty_spans() {
    let a = Histogram {
        count: 3,
        sum: f64::NAN,
        positive_spans: spans(&[(0, 1), (2, 0), (1, 1)]),
        positive_buckets: vec![1, 1],
        ..Default::default()
    };
    let mut b = a.clone();
    b.positive_spans = spans(&[(0, 1), (3, 1)]);
    b.counter_reset_hint = CounterResetHint::CounterReset;
    assert!(a.equals(&b));
    assert!(a.to_float().equals(&b.to_float()));
    b.positive_buckets = vec![1, 2];
    assert!(!a.equals(&b));
}

#[test]
fn compaction_of_integer_histograms_keeps_deltas_right() {
    let mut h = Histogram {
        positive_spans: spans(&[(-2, 8)]),
        // Absolute: 3 5 0 0 1 0 3 2.
        positive_buckets: vec![3, 2, -5, 0, 1, -1, 3, -1],
        ..Default::default()
    };
    h.compact(0);
    assert_eq!(h.positive_spans, spans(&[(-2, 2), (2, 1), (1, 2)]));
    assert_eq!(h.positive_buckets, vec![3, 2, -4, 2, -1]);
    h.compact(1);
    assert_eq!(h.positive_spans, spans(&[(-2, 2), (2, 4)]));
    assert_eq!(h.positive_buckets, vec![3, 2, -4, -1, 3, -1]);
}
