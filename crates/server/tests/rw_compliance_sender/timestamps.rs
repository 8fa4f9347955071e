//! Go's `timestamps_test.go`: sample and start timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::helpers::{extract_labels, may, must, should};
use crate::{run_sender_test, run_test_case, SenderTestScenario};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Go: TestTimestampEncoding/timestamp_int64_milliseconds (MUST)
#[test]
fn timestamp_int64_milliseconds() {
    run_test_case("test_counter_total 42\n", "test_counter_total", |req| {
        let request = req.v2();
        must(
            !request.timeseries.is_empty(),
            "Request must contain timeseries",
        );
        if let Some(ts) = request.timeseries.iter().find(|ts| !ts.samples.is_empty()) {
            let timestamp = ts.samples[0].timestamp;
            must(
                timestamp > 1_000_000_000_000,
                "Timestamp should be in milliseconds, not seconds",
            );
            must(
                timestamp < 10_000_000_000_000_000,
                "Timestamp should be in milliseconds, not nanoseconds",
            );
        }
    });
}

/// Go: TestTimestampEncoding/timestamp_ordering_within_series (MUST)
#[test]
fn timestamp_ordering_within_series() {
    let scrape_data = "# Multiple metrics over time\nmetric_a 1\nmetric_b 2\nmetric_c 3\n";
    // Beyond upstream: a batch deadline of several scrape intervals, so that series hold
    // more than one sample and their order is checked at all.
    let mut scenario = SenderTestScenario::new(scrape_data, "metric_a");
    scenario.settings.batch_send_deadline = "2500ms";
    run_sender_test(scenario, |req| {
        let mut longest = 0;
        for ts in &req.v2().timeseries {
            longest = longest.max(ts.samples.len());
            for pair in ts.samples.windows(2) {
                must(
                    pair[0].timestamp <= pair[1].timestamp,
                    "Samples within timeseries must be ordered by timestamp (oldest first)",
                );
            }
            for pair in ts.histograms.windows(2) {
                must(
                    pair[0].timestamp <= pair[1].timestamp,
                    "Histograms within timeseries must be ordered by timestamp (oldest first)",
                );
            }
        }
        must(
            longest >= 2,
            format!("a series with several samples (longest: {longest})"),
        );
    });
}

/// Go: TestTimestampEncoding/start_timestamp_for_counters (MAY)
#[test]
fn start_timestamp_for_counters() {
    run_test_case(
        "# TYPE test_counter counter\ntest_counter_total 100\n",
        "test_counter_total",
        |req| {
            let request = req.v2();
            for ts in &request.timeseries {
                if extract_labels(ts, &request.symbols)
                    .get("__name__")
                    .map(String::as_str)
                    == Some("test_counter_total")
                {
                    if let Some(sample) = ts.samples.first().filter(|s| s.start_timestamp != 0) {
                        may(
                            sample.start_timestamp > 0,
                            "Start timestamp may be present for counters",
                        );
                        may(
                            sample.start_timestamp > 1_000_000_000_000,
                            "Start timestamp should be in milliseconds",
                        );
                    }
                    break;
                }
            }
        },
    );
}

/// Go: TestTimestampEncoding/start_timestamp_for_histograms (MAY)
#[test]
fn start_timestamp_for_histograms() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_count 100\n\
                       test_histogram_sum 250.0\n\
                       test_histogram_bucket{le=\"+Inf\"} 100\n";
    run_test_case(scrape_data, "test_histogram_count", |req| {
        let request = req.v2();
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            let name = labels.get("__name__").map_or("", String::as_str);
            if name == "test_histogram_count" || name == "test_histogram" {
                if let Some(sample) = ts.samples.first().filter(|s| s.start_timestamp != 0) {
                    may(
                        sample.start_timestamp > 0,
                        "Start timestamp may be present for histogram samples",
                    );
                }
                break;
            }
        }
    });
}

/// Go: TestTimestampEncoding/start_timestamp_zero_handling (SHOULD)
#[test]
fn start_timestamp_zero_handling() {
    run_test_case(
        "# TYPE test_counter counter\ntest_counter_total 50\n",
        "test_counter_total",
        |req| {
            for ts in &req.v2().timeseries {
                for sample in &ts.samples {
                    if sample.start_timestamp != 0 {
                        should(
                            sample.start_timestamp > 1_000_000_000_000,
                            "Non-zero start timestamp should be valid milliseconds",
                        );
                    }
                }
            }
        },
    );
}

/// Go: TestTimestampEncoding/timestamp_precision (SHOULD)
#[test]
fn timestamp_precision() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        if let Some(ts) = req.v2().timeseries.iter().find(|ts| !ts.samples.is_empty()) {
            let diff = (now_ms() - ts.samples[0].timestamp).abs();
            should(
                diff < 10 * 60 * 1000,
                "Timestamp should be within 10 minutes of current time for fresh scrape",
            );
        }
    });
}

/// Go: TestTimestampEncoding/timestamp_future_values (SHOULD)
#[test]
fn timestamp_future_values() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        let now = now_ms();
        if let Some(ts) = req.v2().timeseries.iter().find(|ts| !ts.samples.is_empty()) {
            let timestamp = ts.samples[0].timestamp;
            if timestamp > now {
                should(
                    timestamp - now < 5 * 60 * 1000,
                    "Future timestamps should not be too far ahead (max 5 min)",
                );
            }
        }
    });
}

/// Go: TestTimestampEncoding/start_timestamp_before_sample_timestamp (SHOULD)
#[test]
fn start_timestamp_before_sample_timestamp() {
    run_test_case(
        "# TYPE test_counter counter\ntest_counter_total 100\n",
        "test_counter_total",
        |req| {
            for ts in &req.v2().timeseries {
                for sample in &ts.samples {
                    if sample.start_timestamp != 0 {
                        should(
                            sample.start_timestamp <= sample.timestamp,
                            "Start timestamp should be before or equal to sample timestamp",
                        );
                    }
                }
            }
        },
    );
}
