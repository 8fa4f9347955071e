//! Go's `histograms_test.go`: native histograms (with exemplars) written, and the refusal
//! upstream expects (a count that does not add up) checked.

use crate::helpers::*;

/// Positive, negative and zero buckets.
const ALL_BUCKETS: Buckets = Buckets {
    positive: true,
    negative: true,
    zero: true,
    custom: false,
    bad_count: false,
};

/// One histogram sample, expected written.
fn histogram_case(series: LabelPairs, histogram: HistogramV2) -> (RequestOpts, ExpectedAnswer) {
    let opts = RequestOpts {
        histograms: vec![histogram_sample(series, histogram)],
        ..Default::default()
    };
    (opts, written().histograms(1))
}

/// TestHistograms (MUST): exponential and custom buckets, and a count that does not add up.
mod test_histograms {
    use super::*;

    // TestHistograms/basic_histogram(_returns_204)
    compliance_test!(
        basic_histogram,
        basic_histogram_returns_204,
        succeeds: histogram_case(basic_metric("test_histogram"), histogram(1.0, ALL_BUCKETS))
    );

    // TestHistograms/custom_buckets_histogram(_returns_204)
    compliance_test!(
        custom_buckets_histogram,
        custom_buckets_histogram_returns_204,
        succeeds: histogram_case(
            basic_metric("test_histogram"),
            histogram(
                1.0,
                Buckets {
                    positive: true,
                    custom: true,
                    ..Default::default()
                },
            ),
        )
    );

    // TestHistograms/positive_only_histogram(_returns_204)
    compliance_test!(
        positive_only_histogram,
        positive_only_histogram_returns_204,
        succeeds: histogram_case(
            labels(&[("__name__", "test_histogram"), ("job", "test")]),
            histogram(
                1.0,
                Buckets {
                    positive: true,
                    zero: true,
                    ..Default::default()
                },
            ),
        )
    );

    // TestHistograms/negative_only_histogram(_returns_204)
    compliance_test!(
        negative_only_histogram,
        negative_only_histogram_returns_204,
        succeeds: histogram_case(
            labels(&[("__name__", "test_histogram"), ("instance", "localhost")]),
            histogram(
                1.0,
                Buckets {
                    negative: true,
                    ..Default::default()
                },
            ),
        )
    );

    // TestHistograms/minimal_histogram(_returns_204)
    compliance_test!(
        minimal_histogram,
        minimal_histogram_returns_204,
        succeeds: histogram_case(
            basic_metric("minimal_hist"),
            histogram(
                1.0,
                Buckets {
                    zero: true,
                    ..Default::default()
                },
            ),
        )
    );

    // TestHistograms/bad_count_histogram: refused (today every native histogram is; the
    // check of the count comes with issue 14).
    compliance_test!(bad_count_histogram, fails: histogram_case(
        basic_metric("minimal_hist"),
        histogram(
            1.0,
            Buckets {
                positive: true,
                bad_count: true,
                ..Default::default()
            },
        ),
    ));
}

// TestHistogramWithCreatedTimestamp (SHOULD): a histogram with its created (start)
// timestamp. Go: TestHistogramWithCreatedTimestamp/#00 and /_returns_204.
compliance_test!(
    test_histogram_with_created_timestamp,
    test_histogram_with_created_timestamp_returns_204,
    succeeds: {
        let hist = HistogramWithLabels {
            created_offset_ms: Some(-30 * 60_000),
            ..histogram_sample(
                labels(&[("__name__", "request_duration_seconds"), ("job", "api")]),
                histogram(1.5, ALL_BUCKETS),
            )
        };
        let opts = RequestOpts {
            histograms: vec![hist],
            ..Default::default()
        };
        (opts, written().histograms(1))
    }
);

// TestMultipleHistograms: two histograms in one request. Go: TestMultipleHistograms/#00 and
// /_returns_204.
compliance_test!(
    test_multiple_histograms,
    test_multiple_histograms_returns_204,
    succeeds: {
        let opts = RequestOpts {
            histograms: vec![
                histogram_sample(
                    labels(&[("__name__", "hist1"), ("job", "test")]),
                    histogram(
                        10.5,
                        Buckets {
                            positive: true,
                            zero: true,
                            ..Default::default()
                        },
                    ),
                ),
                histogram_sample(
                    labels(&[("__name__", "hist2"), ("job", "test")]),
                    histogram(
                        5.2,
                        Buckets {
                            negative: true,
                            ..Default::default()
                        },
                    ),
                ),
            ],
            ..Default::default()
        };
        (opts, written().histograms(2))
    }
);

// TestEmptyHistogram: a histogram without buckets. Go: TestEmptyHistogram/#00 and
// /_returns_204.
compliance_test!(
    test_empty_histogram,
    test_empty_histogram_returns_204,
    succeeds: histogram_case(basic_metric("empty_hist"), histogram(0.0, Buckets::default()))
);

// TestHistogramWithMetadata. Go: TestHistogramWithMetadata/#00 and /_returns_204.
compliance_test!(
    test_histogram_with_metadata,
    test_histogram_with_metadata_returns_204,
    succeeds: {
        let (mut opts, expected) = histogram_case(
            labels(&[("__name__", "request_duration_seconds"), ("job", "api")]),
            histogram(2.5, ALL_BUCKETS),
        );
        opts.metadata = vec![metadata(
            basic_metric("request_duration_seconds"),
            MetricType::Histogram,
            "HTTP request duration in seconds",
            "seconds",
        )];
        (opts, expected)
    }
);

// TestHistogramWithExemplar. Go: TestHistogramWithExemplar/#00 and /_returns_204.
compliance_test!(
    test_histogram_with_exemplar,
    test_histogram_with_exemplar_returns_204,
    succeeds: {
        let series = labels(&[("__name__", "http_request_duration_seconds"), ("method", "GET")]);
        let buckets = Buckets {
            positive: true,
            zero: true,
            ..Default::default()
        };
        let (mut opts, expected) = histogram_case(series.clone(), histogram(1.23, buckets));
        opts.exemplars = vec![exemplar(
            series,
            labels(&[("trace_id", "abc123def456"), ("span_id", "span789")]),
            1.23,
        )];
        (opts, expected.exemplars(1))
    }
);

// TestHistogramWithMetadataAndExemplar. Go: TestHistogramWithMetadataAndExemplar/#00 and
// /_returns_204.
compliance_test!(
    test_histogram_with_metadata_and_exemplar,
    test_histogram_with_metadata_and_exemplar_returns_204,
    succeeds: {
        let series = labels(&[("__name__", "response_size_bytes"), ("service", "upload")]);
        let (mut opts, expected) =
            histogram_case(series.clone(), histogram(10_485_760.0, ALL_BUCKETS));
        opts.metadata = vec![metadata(
            basic_metric("response_size_bytes"),
            MetricType::Histogram,
            "HTTP response size in bytes",
            "bytes",
        )];
        opts.exemplars = vec![exemplar(
            series,
            labels(&[("trace_id", "large_upload_trace"), ("user_id", "user456")]),
            10_485_760.0,
        )];
        (opts, expected.exemplars(1))
    }
);

// TestMultipleHistogramsWithMetadata. Go: TestMultipleHistogramsWithMetadata/#00 and
// /_returns_204.
compliance_test!(
    test_multiple_histograms_with_metadata,
    test_multiple_histograms_with_metadata_returns_204,
    succeeds: {
        let opts = RequestOpts {
            histograms: vec![
                histogram_sample(
                    labels(&[("__name__", "cpu_usage_histogram"), ("instance", "server1")]),
                    histogram(
                        0.75,
                        Buckets {
                            positive: true,
                            zero: true,
                            ..Default::default()
                        },
                    ),
                ),
                histogram_sample(
                    labels(&[("__name__", "memory_usage_histogram"), ("instance", "server1")]),
                    histogram(
                        8_589_934_592.0,
                        Buckets {
                            positive: true,
                            negative: true,
                            ..Default::default()
                        },
                    ),
                ),
            ],
            metadata: vec![
                metadata(
                    basic_metric("cpu_usage_histogram"),
                    MetricType::Histogram,
                    "CPU usage distribution",
                    "ratio",
                ),
                metadata(
                    basic_metric("memory_usage_histogram"),
                    MetricType::Histogram,
                    "Memory usage distribution",
                    "bytes",
                ),
            ],
            ..Default::default()
        };
        (opts, written().histograms(2))
    }
);
