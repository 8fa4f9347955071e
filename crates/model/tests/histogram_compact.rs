//! Compaction of float histograms against upstream's `TestFloatHistogramCompact` table
//! (`model/histogram/float_histogram_test.go`), converted from the Go literals by
//! `scripts/dev/go_histogram_tables.py`: the same spans and buckets out, and a valid
//! histogram stays valid.

use model::histogram::{FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

fn cases() -> Vec<(&'static str, FloatHistogram, u32, FloatHistogram)> {
    vec![
        (
            "empty histogram",
            FloatHistogram::default(),
            0,
            FloatHistogram::default(),
        ),
        (
            "nothing should happen",
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(2, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1], negative_spans: vec![Span::new(3, 2), Span::new(3, 2)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0], ..Default::default() },
        ),
        (
            "eliminate zero offsets",
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(0, 3), Span::new(0, 1)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(0, 2), Span::new(2, 1), Span::new(0, 1)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 5)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 4), Span::new(2, 2)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "eliminate zero length",
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(2, 0), Span::new(3, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(0, 0), Span::new(2, 0), Span::new(1, 4)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(5, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 4)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "eliminate multiple zero length spans",
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(2, 0), Span::new(2, 0), Span::new(2, 0), Span::new(3, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(9, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], ..Default::default() },
        ),
        (
            "cut empty buckets at start or end",
            FloatHistogram { positive_spans: vec![Span::new(-4, 4), Span::new(5, 3)], positive_buckets: vec![0.0, 0.0, 1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0, 0.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(5, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 4)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "cut empty buckets at start and end",
            FloatHistogram { positive_spans: vec![Span::new(-4, 4), Span::new(5, 6)], positive_buckets: vec![0.0, 0.0, 1.0, 3.3, 4.2, 0.1, 3.3, 0.0, 0.0, 0.0], negative_spans: vec![Span::new(-2, 4), Span::new(3, 5)], negative_buckets: vec![0.0, 0.0, 3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0, 0.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(5, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 4)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "cut empty buckets in the middle",
            FloatHistogram { positive_spans: vec![Span::new(5, 4)], positive_buckets: vec![1.0, 3.0, 0.0, 2.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(5, 2), Span::new(1, 1)], positive_buckets: vec![1.0, 3.0, 2.0], ..Default::default() },
        ),
        (
            "cut empty buckets at start or end of spans, even in the middle",
            FloatHistogram { positive_spans: vec![Span::new(-4, 6), Span::new(3, 6)], positive_buckets: vec![0.0, 0.0, 1.0, 3.3, 0.0, 0.0, 4.2, 0.1, 3.3, 0.0, 0.0, 0.0], negative_spans: vec![Span::new(0, 2), Span::new(2, 6)], negative_buckets: vec![3.1, 3.0, 0.0, 1.234e5, 1000.0, 3.0, 4.0, 0.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(5, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 4)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "cut empty buckets at start and end - also merge spans due to maxEmptyBuckets",
            FloatHistogram { positive_spans: vec![Span::new(-4, 4), Span::new(5, 3)], positive_buckets: vec![0.0, 0.0, 1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0, 0.0], ..Default::default() },
            10,
            FloatHistogram { positive_spans: vec![Span::new(-2, 10)], positive_buckets: vec![1.0, 3.3, 0.0, 0.0, 0.0, 0.0, 0.0, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 9)], negative_buckets: vec![3.1, 3.0, 0.0, 0.0, 0.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "cut empty buckets from the middle of a span",
            FloatHistogram { positive_spans: vec![Span::new(-4, 6), Span::new(3, 3)], positive_buckets: vec![0.0, 0.0, 1.0, 0.0, 0.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(2, 1), Span::new(3, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 2), Span::new(1, 2)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "cut out a span containing only empty buckets",
            FloatHistogram { positive_spans: vec![Span::new(-4, 3), Span::new(2, 2), Span::new(3, 4)], positive_buckets: vec![0.0, 0.0, 1.0, 0.0, 0.0, 3.3, 4.2, 0.1, 3.3], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(7, 4)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], ..Default::default() },
        ),
        (
            "cut empty buckets from the middle of a span, avoiding none due to maxEmptyBuckets",
            FloatHistogram { positive_spans: vec![Span::new(-2, 4)], positive_buckets: vec![1.0, 0.0, 0.0, 3.3], ..Default::default() },
            1,
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(2, 1)], positive_buckets: vec![1.0, 3.3], ..Default::default() },
        ),
        (
            "cut empty buckets and merge spans due to maxEmptyBuckets",
            FloatHistogram { positive_spans: vec![Span::new(-2, 4), Span::new(3, 1)], positive_buckets: vec![1.0, 0.0, 0.0, 3.3, 4.2], ..Default::default() },
            1,
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(2, 1), Span::new(3, 1)], positive_buckets: vec![1.0, 3.3, 4.2], ..Default::default() },
        ),
        (
            "cut empty buckets from the middle of a span, avoiding some due to maxEmptyBuckets",
            FloatHistogram { positive_spans: vec![Span::new(-4, 6), Span::new(3, 3), Span::new(10, 2)], positive_buckets: vec![0.0, 0.0, 1.0, 0.0, 0.0, 3.3, 4.2, 0.1, 3.3, 2.0, 3.0], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
            1,
            FloatHistogram { positive_spans: vec![Span::new(-2, 1), Span::new(2, 1), Span::new(3, 3), Span::new(10, 2)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3, 2.0, 3.0], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "avoiding all cutting of empty buckets from the middle of a chunk due to maxEmptyBuckets",
            FloatHistogram { positive_spans: vec![Span::new(-4, 6), Span::new(3, 3)], positive_buckets: vec![0.0, 0.0, 1.0, 0.0, 0.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
            2,
            FloatHistogram { positive_spans: vec![Span::new(-2, 4), Span::new(3, 3)], positive_buckets: vec![1.0, 0.0, 0.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "everything merged into one span due to maxEmptyBuckets",
            FloatHistogram { positive_spans: vec![Span::new(-4, 6), Span::new(3, 3)], positive_buckets: vec![0.0, 0.0, 1.0, 0.0, 0.0, 3.3, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 2), Span::new(3, 5)], negative_buckets: vec![3.1, 3.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
            3,
            FloatHistogram { positive_spans: vec![Span::new(-2, 10)], positive_buckets: vec![1.0, 0.0, 0.0, 3.3, 0.0, 0.0, 0.0, 4.2, 0.1, 3.3], negative_spans: vec![Span::new(0, 10)], negative_buckets: vec![3.1, 3.0, 0.0, 0.0, 0.0, 1.234e5, 1000.0, 0.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "more than one span merged in the same pass",
            FloatHistogram { positive_spans: vec![Span::new(-2, 2), Span::new(2, 2), Span::new(2, 2)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3, 2.0], negative_spans: vec![Span::new(0, 1), Span::new(1, 1), Span::new(1, 1)], negative_buckets: vec![3.1, 1000.0, 4.0], ..Default::default() },
            3,
            FloatHistogram { positive_spans: vec![Span::new(-2, 10)], positive_buckets: vec![1.0, 3.3, 0.0, 0.0, 4.2, 0.1, 0.0, 0.0, 3.3, 2.0], negative_spans: vec![Span::new(0, 5)], negative_buckets: vec![3.1, 0.0, 1000.0, 0.0, 4.0], ..Default::default() },
        ),
        (
            "only empty buckets and maxEmptyBuckets greater zero",
            FloatHistogram { positive_spans: vec![Span::new(-4, 6), Span::new(3, 3)], positive_buckets: vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], negative_spans: vec![Span::new(0, 7)], negative_buckets: vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], ..Default::default() },
            3,
            FloatHistogram { positive_spans: vec![], positive_buckets: vec![], negative_spans: vec![], negative_buckets: vec![], ..Default::default() },
        ),
        (
            "multiple spans of only empty buckets",
            FloatHistogram { positive_spans: vec![Span::new(-10, 2), Span::new(2, 1), Span::new(3, 3)], positive_buckets: vec![0.0, 0.0, 0.0, 0.0, 2.0, 3.0], negative_spans: vec![Span::new(-10, 2), Span::new(2, 1), Span::new(3, 3)], negative_buckets: vec![2.0, 3.0, 0.0, 0.0, 0.0, 0.0], ..Default::default() },
            0,
            FloatHistogram { positive_spans: vec![Span::new(-1, 2)], positive_buckets: vec![2.0, 3.0], negative_spans: vec![Span::new(-10, 2)], negative_buckets: vec![2.0, 3.0], ..Default::default() },
        ),
        (
            "nothing should happen with custom buckets",
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 1), Span::new(2, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1], custom_values: vec![1.0, 2.0, 3.0], ..Default::default() },
            0,
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 1), Span::new(2, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1], custom_values: vec![1.0, 2.0, 3.0], ..Default::default() },
        ),
        (
            "eliminate zero offsets with custom buckets",
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 1), Span::new(0, 3), Span::new(0, 1)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], custom_values: vec![1.0, 2.0, 3.0, 4.0], ..Default::default() },
            0,
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 5)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], custom_values: vec![1.0, 2.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "eliminate multiple zero length spans with custom buckets",
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 2), Span::new(2, 0), Span::new(2, 0), Span::new(2, 0), Span::new(3, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], custom_values: vec![1.0, 2.0, 3.0, 4.0], ..Default::default() },
            0,
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 2), Span::new(9, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], custom_values: vec![1.0, 2.0, 3.0, 4.0], ..Default::default() },
        ),
        (
            "cut empty buckets at start and end with custom buckets",
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(0, 4), Span::new(5, 6)], positive_buckets: vec![0.0, 0.0, 1.0, 3.3, 4.2, 0.1, 3.3, 0.0, 0.0, 0.0], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() },
            0,
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, positive_spans: vec![Span::new(2, 2), Span::new(5, 3)], positive_buckets: vec![1.0, 3.3, 4.2, 0.1, 3.3], custom_values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], ..Default::default() },
        ),
    ]
}

#[test]
fn compaction_is_upstream_s() {
    let mut wrong = Vec::new();
    for (name, mut h, max_empty_buckets, expected) in cases() {
        let was_valid = h.validate().is_ok();
        h.compact(max_empty_buckets);
        if h != expected {
            wrong.push(format!(
                "{name}:\n  got      {h:?}\n  expected {expected:?}"
            ));
        }
        if was_valid && h.validate().is_err() {
            wrong.push(format!("{name}: compaction made it invalid"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
