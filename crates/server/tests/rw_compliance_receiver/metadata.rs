//! Go's `metadata_test.go`: metadata (type, help, unit) sent with the samples or histograms
//! it describes; we take it and do not keep it (as Prometheus without its metadata WAL
//! records), which is what the spec asks of the answer.

use crate::helpers::*;
use crate::run_request;

/// Go's `TestMetadata` case: the metadata and one sample of its metric, or one histogram for
/// histogram metadata.
fn metadata_case(
    series: LabelPairs,
    metric_type: MetricType,
    help: &str,
    unit: &str,
) -> (RequestOpts, ExpectedAnswer) {
    let mut opts = RequestOpts {
        metadata: vec![metadata(series.clone(), metric_type, help, unit)],
        ..Default::default()
    };
    if metric_type == MetricType::Histogram {
        let buckets = Buckets {
            positive: true,
            negative: true,
            zero: true,
            ..Default::default()
        };
        opts.histograms = vec![histogram_sample(series, histogram(1.0, buckets))];
        (opts, written().histograms(1))
    } else {
        opts.samples = vec![sample(series, 1.0)];
        (opts, written().samples(1))
    }
}

/// TestMetadata (MUST): each metric type, with and without help and unit.
mod test_metadata {
    use super::*;

    // TestMetadata/counter_metadata(_returns_204)
    compliance_test!(counter_metadata, counter_metadata_returns_204, succeeds: metadata_case(
        basic_metric("http_requests_total"),
        MetricType::Counter,
        "Total number of HTTP requests",
        "requests",
    ));

    // TestMetadata/gauge_metadata(_returns_204)
    compliance_test!(gauge_metadata, gauge_metadata_returns_204, succeeds: metadata_case(
        basic_metric("cpu_usage_percent"),
        MetricType::Gauge,
        "Current CPU usage percentage",
        "percent",
    ));

    // TestMetadata/histogram_metadata(_returns_204)
    compliance_test!(
        histogram_metadata,
        histogram_metadata_returns_204,
        succeeds: metadata_case(
            basic_metric("request_duration_seconds"),
            MetricType::Histogram,
            "Request duration in seconds",
            "seconds",
        )
    );

    // TestMetadata/metadata_no_help_no_unit(_returns_204)
    compliance_test!(
        metadata_no_help_no_unit,
        metadata_no_help_no_unit_returns_204,
        succeeds: metadata_case(basic_metric("simple_counter"), MetricType::Counter, "", "")
    );

    // TestMetadata/metadata_with_special_chars(_returns_204)
    compliance_test!(
        metadata_with_special_chars,
        metadata_with_special_chars_returns_204,
        succeeds: metadata_case(
            labels(&[("__name__", "test_metric"), ("job", "test")]),
            MetricType::Gauge,
            "Test metric with\nnewlines and \"quotes\"",
            "bytes/sec",
        )
    );

    // TestMetadata/unspecified_metadata_type(_returns_204)
    compliance_test!(
        unspecified_metadata_type,
        unspecified_metadata_type_returns_204,
        succeeds: metadata_case(
            basic_metric("unknown_metric"),
            MetricType::Unspecified,
            "Unknown metric type",
            "",
        )
    );

    // TestMetadata/info_metadata_type(_returns_204)
    compliance_test!(
        info_metadata_type,
        info_metadata_type_returns_204,
        succeeds: metadata_case(
            basic_metric("build_info"),
            MetricType::Info,
            "Build information",
            "",
        )
    );

    // TestMetadata/stateset_metadata_type(_returns_204)
    compliance_test!(
        stateset_metadata_type,
        stateset_metadata_type_returns_204,
        succeeds: metadata_case(
            basic_metric("node_state"),
            MetricType::StateSet,
            "Node state information",
            "",
        )
    );

    // TestMetadata/summary_metadata_type(_returns_204)
    compliance_test!(
        summary_metadata_type,
        summary_metadata_type_returns_204,
        succeeds: metadata_case(
            basic_metric("request_latency_summary"),
            MetricType::Summary,
            "Request latency summary",
            "seconds",
        )
    );

    // TestMetadata/gauge_histogram_metadata_type(_returns_204): a float sample with gauge
    // histogram metadata (Go adds a histogram for histogram metadata only).
    compliance_test!(
        gauge_histogram_metadata_type,
        gauge_histogram_metadata_type_returns_204,
        succeeds: metadata_case(
            basic_metric("temperature_histogram"),
            MetricType::GaugeHistogram,
            "Temperature distribution gauge histogram",
            "celsius",
        )
    );
}

// TestCounterMetadataWithCreatedTimestamp (SHOULD): a counter with metadata and its created
// (start) timestamp. Go: TestCounterMetadataWithCreatedTimestamp/#00 and /_returns_204.
compliance_test!(
    test_counter_metadata_with_created_timestamp,
    test_counter_metadata_with_created_timestamp_returns_204,
    succeeds: {
        let counter = SampleWithLabels {
            created_offset_ms: Some(-3_600_000),
            ..sample(labels(&[("__name__", "http_requests_total"), ("job", "api")]), 150.0)
        };
        let opts = RequestOpts {
            samples: vec![counter],
            metadata: vec![metadata(
                basic_metric("http_requests_total"),
                MetricType::Counter,
                "Total HTTP requests",
                "requests",
            )],
            ..Default::default()
        };
        (opts, written().samples(1))
    }
);

// TestMetadataWithSamples: metadata sent with its samples. Go: TestMetadataWithSamples/#00
// and /_returns_204.
compliance_test!(
    test_metadata_with_samples,
    test_metadata_with_samples_returns_204,
    succeeds: {
        let opts = RequestOpts {
            samples: vec![sample(
                labels(&[("__name__", "http_requests_total"), ("job", "test")]),
                42.0,
            )],
            metadata: vec![metadata(
                basic_metric("http_requests_total"),
                MetricType::Counter,
                "Total HTTP requests",
                "requests",
            )],
            ..Default::default()
        };
        (opts, written().samples(1))
    }
);

// TestMultipleMetadata: three samples, each with its metadata. Go: TestMultipleMetadata/#00
// and /_returns_204.
compliance_test!(
    test_multiple_metadata,
    test_multiple_metadata_returns_204,
    succeeds: {
        let disk = labels(&[("__name__", "disk_usage"), ("device", "sda1")]);
        let opts = RequestOpts {
            samples: vec![
                sample(basic_metric("cpu_usage"), 85.5),
                sample(basic_metric("memory_usage"), 4_096_000_000.0),
                sample(disk.clone(), 75.2),
            ],
            metadata: vec![
                metadata(
                    basic_metric("cpu_usage"),
                    MetricType::Gauge,
                    "CPU usage percentage",
                    "percent",
                ),
                metadata(
                    basic_metric("memory_usage"),
                    MetricType::Gauge,
                    "Memory usage in bytes",
                    "bytes",
                ),
                metadata(disk, MetricType::Gauge, "Disk usage percentage", "percent"),
            ],
            ..Default::default()
        };
        (opts, written().samples(3))
    }
);

// TestMetadataWithComplexLabels: histogram metadata with six labels. Go:
// TestMetadataWithComplexLabels/#00 and /_returns_204.
compliance_test!(
    test_metadata_with_complex_labels,
    test_metadata_with_complex_labels_returns_204,
    succeeds: {
        let series = labels(&[
            ("__name__", "http_request_duration_seconds"),
            ("job", "api-server"),
            ("instance", "localhost:8080"),
            ("method", "GET"),
            ("status", "200"),
            ("endpoint", "/api/v1/users"),
        ]);
        let buckets = Buckets {
            positive: true,
            negative: true,
            zero: true,
            ..Default::default()
        };
        let opts = RequestOpts {
            histograms: vec![histogram_sample(series.clone(), histogram(0.250, buckets))],
            metadata: vec![metadata(
                series,
                MetricType::Histogram,
                "HTTP request duration in seconds",
                "seconds",
            )],
            ..Default::default()
        };
        (opts, written().histograms(1))
    }
);

/// TestMetadataValidation (SHOULD): metadata of a series without a metric name is refused
/// with it, with a name taken.
mod test_metadata_validation {
    use super::*;

    fn check(series: LabelPairs, metric_type: MetricType, success: bool, unsafe_request: bool) {
        let opts = RequestOpts {
            metadata: vec![metadata(series.clone(), metric_type, "Test help", "unit")],
            samples: vec![sample(series, 1.0)],
            unsafe_request,
            ..Default::default()
        };
        run_request(
            &generate_request(&opts),
            &written().samples(1).success(success),
        );
    }

    // TestMetadataValidation/metadata_without_name_label
    #[test]
    fn metadata_without_name_label() {
        check(
            labels(&[("job", "test")]),
            MetricType::Counter,
            false,
            false,
        );
    }

    // TestMetadataValidation/metadata_with_empty_name (unsafe: Go would otherwise leave out
    // metadata of an empty name)
    #[test]
    fn metadata_with_empty_name() {
        check(labels(&[("__name__", "")]), MetricType::Gauge, false, true);
    }

    // TestMetadataValidation/metadata_with_valid_name
    #[test]
    fn metadata_with_valid_name() {
        check(
            basic_metric("valid_metric_name"),
            MetricType::Counter,
            true,
            false,
        );
    }
}
