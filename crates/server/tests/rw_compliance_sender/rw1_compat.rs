//! Go's `rw1_compat_test.go`: remote write 1.0. Upstream runs its sender in 2.0 and each
//! case skips itself on a 2.0 request ("RW 1.0 tests are informational"); here the sender
//! is configured for 1.0 (`protobuf_message: prometheus.WriteRequest`), so the cases check
//! 1.0 requests, and beyond upstream they check their content.

use std::time::Duration;

use crate::helpers::{may, must, should, v1, CapturedRequest, MockReceiver, SenderSettings};
use crate::{run_sender_test, start_sender, SenderTestScenario};

/// A 1.0 sender's request holding `metric_name`.
fn run_v1(scrape_data: &str, metric_name: &str, validator: impl FnOnce(&CapturedRequest)) {
    let mut scenario = SenderTestScenario::new(scrape_data, metric_name);
    scenario.settings = SenderSettings::v1();
    run_sender_test(scenario, validator);
}

fn series<'a>(request: &'a v1::WriteRequest, metric_name: &str) -> Option<&'a v1::TimeSeries> {
    request
        .timeseries
        .iter()
        .find(|ts| ts.label("__name__") == Some(metric_name))
}

/// Go: TestRemoteWrite1Compatibility/rw1_version_header (SHOULD)
#[test]
fn rw1_version_header() {
    run_v1("test_metric 42\n", "test_metric", |req| {
        let version = req.version();
        should(
            version.starts_with("0.1") || version.is_empty(),
            format!("RW 1.0 version header, got {version:?}"),
        );
        // Beyond upstream: the 1.0 spec's value.
        should(
            version == "0.1.0",
            format!("version 0.1.0, got {version:?}"),
        );
    });
}

/// Go: TestRemoteWrite1Compatibility/rw1_content_type (SHOULD)
#[test]
fn rw1_content_type() {
    run_v1("test_metric 42\n", "test_metric", |req| {
        let content_type = req.header("Content-Type");
        should(
            content_type.contains("application/x-protobuf"),
            "RW 1.0 should use protobuf content-type",
        );
        // Upstream logs a warning for this.
        should(
            !content_type.contains("proto=io.prometheus.write.v2"),
            format!("RW 1.0 should not use v2 proto parameter: {content_type}"),
        );
    });
}

/// Go: TestRemoteWrite1Compatibility/rw1_samples_encoding (MUST)
#[test]
fn rw1_samples_encoding() {
    run_v1("test_counter_total 100\n", "test_counter_total", |req| {
        must(req.message.is_ok(), "Request should be parseable");
        // Beyond upstream: the sample.
        let ts = series(req.v1(), "test_counter_total").expect("the series");
        must(
            ts.samples
                .first()
                .is_some_and(|s| s.value == 100.0 && s.timestamp > 1_000_000_000_000),
            format!(
                "test_counter_total 100 at a millisecond timestamp, got {:?}",
                ts.samples
            ),
        );
    });
}

/// Go: TestRemoteWrite1Compatibility/rw1_labels_encoding (MUST)
#[test]
fn rw1_labels_encoding() {
    run_v1("test_metric{label=\"value\"} 42", "test_metric", |req| {
        must(req.message.is_ok(), "Request should contain label data");
        // Beyond upstream: the labels, sorted, with the target's.
        let ts = series(req.v1(), "test_metric").expect("the series");
        must(
            ts.label("label") == Some("value"),
            format!("label=\"value\": {:?}", ts.labels),
        );
        must(
            ts.label("job") == Some("test"),
            format!("job=\"test\": {:?}", ts.labels),
        );
        must(
            ts.labels.windows(2).all(|pair| pair[0].name < pair[1].name),
            format!("labels sorted by name: {:?}", ts.labels),
        );
    });
}

/// Go: TestRemoteWrite1Compatibility/rw1_no_native_histograms (MUST)
#[test]
fn rw1_no_native_histograms() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_count 100\n\
                       test_histogram_sum 250.0\n\
                       test_histogram_bucket{le=\"+Inf\"} 100\n";
    run_v1(scrape_data, "test_histogram_count", |req| {
        for ts in &req.v1().timeseries {
            must(
                ts.histograms.is_empty(),
                "RW 1.0 should not use native histogram encoding",
            );
        }
    });
}

/// Go: TestRemoteWrite1Compatibility/rw1_no_start_timestamp (MUST)
#[test]
fn rw1_no_start_timestamp() {
    run_v1(
        "# TYPE test_counter counter\ntest_counter_total 100\n",
        "test_counter_total",
        |req| {
            // A 1.0 sample has no field 3 (2.0's start_timestamp); decoding reads it if sent.
            for ts in &req.v1().timeseries {
                for sample in &ts.samples {
                    should(
                        sample.not_in_v1 == 0,
                        "RW 1.0 should not use start_timestamp field in samples",
                    );
                }
            }
        },
    );
}

/// Go: TestRemoteWrite1Compatibility/rw1_metadata_handling (MAY)
#[test]
fn rw1_metadata_handling() {
    let scrape_data = "# HELP test_metric Test metric description\n\
                       # TYPE test_metric counter\n\
                       test_metric 42\n";
    // Beyond upstream (whose check is that a request arrived): 1.0 sends metadata in
    // `WriteRequest.metadata`, every `metadata_config.send_interval` (1 s here).
    let receiver = MockReceiver::new();
    let settings = SenderSettings {
        metadata_send_interval: "1s",
        ..SenderSettings::v1()
    };
    let (_target, sender) = start_sender(scrape_data, &receiver.url(), &settings);
    let metadata = receiver.wait_for(
        Duration::from_secs(20),
        &sender,
        "1.0 metadata of test_metric",
        |requests| {
            requests.iter().find_map(|r| match &r.message {
                Ok(crate::helpers::WriteMessage::V1(w)) => w
                    .metadata
                    .iter()
                    .find(|m| m.metric_family_name == "test_metric")
                    .cloned(),
                _ => None,
            })
        },
    );
    may(
        metadata.r#type == 1 && metadata.help == "Test metric description",
        format!("test_metric's metadata: a counter with its help, got {metadata:?}"),
    );
}

/// Go: TestRemoteWrite1Compatibility/rw1_symbol_table_not_used (MUST)
#[test]
fn rw1_symbol_table_not_used() {
    let scrape_data = "http_requests{method=\"GET\",status=\"200\"} 100\n\
                       http_requests{method=\"POST\",status=\"200\"} 50\n";
    run_v1(scrape_data, "http_requests", |req| {
        may(req.message.is_ok(), "RW 1.0 format validated");
        // Beyond upstream: the labels are inline strings in each series.
        let methods: Vec<&str> = req
            .v1()
            .timeseries
            .iter()
            .filter(|ts| ts.label("__name__") == Some("http_requests"))
            .filter_map(|ts| ts.label("method"))
            .collect();
        must(
            methods.contains(&"GET") && methods.contains(&"POST"),
            format!("both series with their labels inline, got methods {methods:?}"),
        );
    });
}

/// Go: TestRemoteWrite1Configuration (SHOULD)
#[test]
fn test_remote_write1_configuration() {
    run_v1("test_metric 42\n", "test_metric", |req| {
        let version = req.version();
        should(!version.is_empty(), "Version header should be present");
        // Beyond upstream (which logs the mode it sees): configured for 1.0, it sends 1.0.
        should(
            version.starts_with("0.1"),
            format!("Sender configured for RW 1.0 should send 0.1.0, got {version:?}"),
        );
    });
}
