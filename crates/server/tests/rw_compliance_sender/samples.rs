//! Go's `samples_test.go`: float sample values and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::helpers::{
    find_timeseries_by_metric_name, may, must, require_timeseries_by_metric_name, should,
};
use crate::{run_sender_test, run_test_case, SenderTestScenario};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Checks the first sample of `metric_name`'s series.
fn first_value(scrape_data: &str, metric_name: &str, check: impl FnOnce(f64)) {
    run_test_case(scrape_data, metric_name, |req| {
        must(
            !req.v2().timeseries.is_empty(),
            "Request must contain timeseries",
        );
        let (ts, _) = require_timeseries_by_metric_name(req, metric_name);
        must(!ts.samples.is_empty(), "Timeseries must contain samples");
        check(ts.samples[0].value);
    });
}

/// Go: TestSampleEncoding/float_value_encoding (MUST)
#[test]
fn float_value_encoding() {
    first_value("test_metric 123.45\n", "test_metric", |v| {
        must(
            v == 123.45,
            format!("Sample value must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/integer_value_encoding (MUST)
#[test]
fn integer_value_encoding() {
    first_value("test_counter_total 42\n", "test_counter_total", |v| {
        must(
            v == 42.0,
            format!("Integer value must be encoded as float, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/zero_value_encoding (MUST)
#[test]
fn zero_value_encoding() {
    first_value("test_gauge 0\n", "test_gauge", |v| {
        must(
            v == 0.0,
            format!("Zero value must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/negative_value_encoding (MUST)
#[test]
fn negative_value_encoding() {
    first_value("temperature_celsius -15.5\n", "temperature_celsius", |v| {
        must(
            v == -15.5,
            format!("Negative value must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/positive_infinity_encoding (MUST)
#[test]
fn positive_infinity_encoding() {
    first_value("test_gauge +Inf\n", "test_gauge", |v| {
        must(
            v == f64::INFINITY,
            format!("Positive infinity must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/negative_infinity_encoding (MUST)
#[test]
fn negative_infinity_encoding() {
    first_value("test_gauge -Inf\n", "test_gauge", |v| {
        must(
            v == f64::NEG_INFINITY,
            format!("Negative infinity must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/nan_encoding (MUST)
#[test]
fn nan_encoding() {
    first_value("test_gauge NaN\n", "test_gauge", |v| {
        must(
            v.is_nan(),
            format!("NaN must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/timestamp_milliseconds_format (MUST)
#[test]
fn timestamp_milliseconds_format() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        let (ts, _) = require_timeseries_by_metric_name(req, "test_metric");
        must(!ts.samples.is_empty(), "Timeseries must contain samples");
        let timestamp = ts.samples[0].timestamp;
        must(
            timestamp > 1_000_000_000_000,
            "Timestamp should be in milliseconds, not seconds",
        );
        must(
            timestamp < 10_000_000_000_000_000,
            "Timestamp should be in milliseconds, not nanoseconds",
        );
    });
}

/// Go: TestSampleEncoding/timestamp_recent (SHOULD)
#[test]
fn timestamp_recent() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        let (ts, _) = require_timeseries_by_metric_name(req, "test_metric");
        must(!ts.samples.is_empty(), "Timeseries must contain samples");
        let diff = (now_ms() - ts.samples[0].timestamp).abs();
        should(
            diff < 5 * 60 * 1000,
            format!("Timestamp should be recent (within 5 minutes), diff: {diff}ms"),
        );
    });
}

/// Go: TestSampleEncoding/multiple_samples_same_series (MAY)
#[test]
fn multiple_samples_same_series() {
    run_test_case("test_counter_total 100\n", "test_counter_total", |req| {
        let found = find_timeseries_by_metric_name(req, "test_counter_total");
        if let Some((ts, _)) = &found {
            may(!ts.samples.is_empty(), "Timeseries may contain samples");
        }
        may(found.is_some(), "test_counter_total may be present");
    });
}

/// Go: TestSampleEncoding/large_float_values (MUST)
#[test]
fn large_float_values() {
    first_value("test_large 1.7976931348623157e+308\n", "test_large", |v| {
        must(
            v > 1e307,
            format!("Large float value must be correctly encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/small_float_values (MUST)
#[test]
fn small_float_values() {
    first_value("test_small 2.2250738585072014e-308\n", "test_small", |v| {
        must(
            v < 1e-307,
            format!("Small float value must be correctly encoded, got {v}"),
        );
        must(
            v > 0.0,
            format!("Small float value must be positive, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/scientific_notation (MUST)
#[test]
fn scientific_notation() {
    first_value("test_scientific 1.23e-4\n", "test_scientific", |v| {
        must(
            (v - 0.000123).abs() <= 0.0000001,
            format!("Scientific notation value must be correctly parsed and encoded, got {v}"),
        );
    });
}

/// Go: TestSampleEncoding/precision_preservation (SHOULD)
#[test]
fn precision_preservation() {
    first_value(
        "test_precision 0.123456789012345\n",
        "test_precision",
        |v| {
            // Beyond upstream (which checks only that a sample is there): the value is the
            // float64 nearest the text, bit for bit.
            should(
                v == 0.123456789012345,
                format!("float precision should be preserved, got {v:e}"),
            );
        },
    );
}

/// Go: TestSampleEncoding/job_instance_labels_present (SHOULD)
#[test]
fn job_instance_labels_present() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        let (_, labels) = require_timeseries_by_metric_name(req, "test_metric");
        should(
            labels.get("job").is_some_and(|v| !v.is_empty()),
            "Sample should include 'job' label",
        );
        should(
            labels.get("instance").is_some_and(|v| !v.is_empty()),
            "Sample should include 'instance' label",
        );
    });
}

/// Go: TestSampleOrdering (MUST)
#[test]
fn test_sample_ordering() {
    let scrape_data = "# Multiple metrics\nmetric_a 1\nmetric_b 2\nmetric_c 3\n";
    // Beyond upstream: a batch deadline of several scrape intervals, so that series hold
    // more than one sample and the order among them is checked at all.
    let mut scenario = SenderTestScenario::new(scrape_data, "metric_a");
    scenario.settings.batch_send_deadline = "2500ms";
    run_sender_test(scenario, |req| {
        let mut longest = 0;
        for ts in &req.v2().timeseries {
            longest = longest.max(ts.samples.len());
            for pair in ts.samples.windows(2) {
                must(
                    pair[0].timestamp <= pair[1].timestamp,
                    "Samples within a timeseries must be ordered by timestamp",
                );
            }
        }
        must(
            longest >= 2,
            format!("a series with several samples (longest: {longest})"),
        );
    });
}
