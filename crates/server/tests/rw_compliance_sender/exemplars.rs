//! Go's `exemplars_test.go`: exemplars of 2.0 requests, scraped from OpenMetrics text.
//!
//! Upstream's checks run over whatever exemplars arrived, so with none they pass; beyond
//! upstream, each case also asserts that the scraped exemplar arrived (the sender is
//! configured with `send_exemplars: true` and runs with `--enable-feature=exemplar-storage`,
//! as upstream's Prometheus does).

use std::collections::BTreeMap;

use crate::helpers::{extract_exemplar_labels, may, must, v2, CapturedRequest};
use crate::run_test_case;

/// Every exemplar of the request with its labels.
fn exemplars(req: &CapturedRequest) -> Vec<(&v2::Exemplar, BTreeMap<String, String>)> {
    let request = req.v2();
    request
        .timeseries
        .iter()
        .flat_map(|ts| ts.exemplars.iter())
        .map(|ex| (ex, extract_exemplar_labels(ex, &request.symbols)))
        .collect()
}

/// Beyond upstream: an exemplar with `label`=`value` arrived.
#[track_caller]
fn require_exemplar(req: &CapturedRequest, label: &str, value: &str) {
    let all = exemplars(req);
    may(
        all.iter()
            .any(|(_, labels)| labels.get(label).map(String::as_str) == Some(value)),
        format!(
            "an exemplar with {label}={value:?} (got {} exemplars)",
            all.len()
        ),
    );
}

/// Go: TestExemplarEncoding/exemplar_with_trace_id (MAY)
#[test]
fn exemplar_with_trace_id() {
    let scrape_data = "# TYPE http_request_duration_seconds histogram\n\
                       http_request_duration_seconds_bucket{le=\"0.1\"} 50 # {trace_id=\"abc123xyz\"} 0.05 1234567890.123\n\
                       http_request_duration_seconds_bucket{le=\"+Inf\"} 100\n\
                       http_request_duration_seconds_sum 10.5\n\
                       http_request_duration_seconds_count 100\n";
    run_test_case(scrape_data, "http_request_duration_seconds_bucket", |req| {
        let request = req.v2();
        let mut found_exemplar = false;
        for ts in &request.timeseries {
            if let Some(ex) = ts.exemplars.first() {
                found_exemplar = true;
                let labels = extract_exemplar_labels(ex, &request.symbols);
                may(
                    labels.get("trace_id").is_some_and(|v| !v.is_empty()),
                    "Exemplar may include trace_id label",
                );
                break;
            }
        }
        may(
            found_exemplar || !request.timeseries.is_empty(),
            "Exemplars may be present if supported by sender",
        );
        require_exemplar(req, "trace_id", "abc123xyz");
    });
}

/// Go: TestExemplarEncoding/exemplar_with_span_id (MAY)
#[test]
fn exemplar_with_span_id() {
    let scrape_data = "# TYPE http_requests_total counter\n\
                       http_requests_total 1000 # {trace_id=\"abc123\",span_id=\"def456\"} 999 1234567890.5\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        let mut found_span_id = false;
        for (_, labels) in exemplars(req) {
            if let Some(span_id) = labels.get("span_id") {
                found_span_id = true;
                may(!span_id.is_empty(), "Exemplar may include span_id label");
                break;
            }
        }
        may(
            found_span_id || !req.v2().timeseries.is_empty(),
            "Exemplar may include span_id if supported",
        );
        require_exemplar(req, "span_id", "def456");
    });
}

/// Go: TestExemplarEncoding/exemplar_value_valid (MUST)
#[test]
fn exemplar_value_valid() {
    let scrape_data = "# TYPE test_counter counter\n\
                       test_counter 100 # {trace_id=\"test123\"} 99.5 1234567890.0\n";
    run_test_case(scrape_data, "test_counter", |req| {
        // Go's check is that the value is not nil, which a float never is.
        require_exemplar(req, "trace_id", "test123");
        for (ex, _) in exemplars(req) {
            must(
                ex.value == 99.5,
                format!("Exemplar value, got {}", ex.value),
            );
        }
    });
}

/// Go: TestExemplarEncoding/exemplar_timestamp_valid (MUST)
#[test]
fn exemplar_timestamp_valid() {
    let scrape_data = "# TYPE test_counter counter\n\
                       test_counter 100 # {trace_id=\"test123\"} 99 1234567890.123\n";
    run_test_case(scrape_data, "test_counter", |req| {
        for (ex, _) in exemplars(req) {
            must(ex.timestamp > 0, "Exemplar timestamp must be positive");
            must(
                ex.timestamp > 1_000_000_000_000,
                "Exemplar timestamp should be in milliseconds",
            );
        }
        require_exemplar(req, "trace_id", "test123");
    });
}

/// Go: TestExemplarEncoding/exemplar_labels_valid_refs (MUST)
#[test]
fn exemplar_labels_valid_refs() {
    let scrape_data = "# TYPE test_metric counter\n\
                       test_metric 100 # {trace_id=\"xyz\"} 99 1234567890.0\n";
    run_test_case(scrape_data, "test_metric", |req| {
        let symbols = &req.v2().symbols;
        for (ex, _) in exemplars(req) {
            for (i, r) in ex.labels_refs.iter().enumerate() {
                must(
                    (*r as usize) < symbols.len(),
                    format!(
                        "Exemplar label ref[{i}] = {r} must be valid symbol index (table size: {})",
                        symbols.len()
                    ),
                );
            }
        }
        require_exemplar(req, "trace_id", "xyz");
    });
}

/// Go: TestExemplarEncoding/exemplar_custom_labels (MAY)
#[test]
fn exemplar_custom_labels() {
    let scrape_data = "# TYPE test_counter counter\n\
                       test_counter 50 # {user_id=\"user123\",request_id=\"req456\"} 49 1234567890.0\n";
    run_test_case(scrape_data, "test_counter", |req| {
        let mut found_custom = false;
        for (_, labels) in exemplars(req) {
            if let Some((key, value)) = labels
                .iter()
                .find(|(k, _)| *k != "trace_id" && *k != "span_id")
            {
                found_custom = true;
                may(
                    !value.is_empty(),
                    format!("Custom exemplar labels may be used: {key}"),
                );
            }
        }
        may(
            found_custom || !req.v2().timeseries.is_empty(),
            "Custom exemplar labels may be present",
        );
        require_exemplar(req, "request_id", "req456");
    });
}

/// Go: TestExemplarEncoding/exemplar_on_histogram (MAY)
#[test]
fn exemplar_on_histogram() {
    let scrape_data = "# TYPE request_duration histogram\n\
                       request_duration_bucket{le=\"0.1\"} 10 # {trace_id=\"hist123\"} 0.05 1234567890.0\n\
                       request_duration_bucket{le=\"+Inf\"} 100\n\
                       request_duration_sum 50.0\n\
                       request_duration_count 100\n";
    run_test_case(scrape_data, "request_duration_bucket", |req| {
        let request = req.v2();
        let found = request.timeseries.iter().any(|ts| {
            let labels = crate::helpers::extract_labels(ts, &request.symbols);
            let name = labels.get("__name__").map_or("", String::as_str);
            (name == "request_duration_bucket" || name == "request_duration")
                && !ts.exemplars.is_empty()
        });
        may(
            found || !request.timeseries.is_empty(),
            "Histogram exemplars may be present",
        );
        // Beyond upstream.
        may(found, "Exemplars may be attached to histogram buckets");
    });
}

/// Go: TestExemplarEncoding/exemplar_labels_even_length (MUST)
#[test]
fn exemplar_labels_even_length() {
    let scrape_data = "# TYPE test_counter counter\n\
                       test_counter 100 # {trace_id=\"test\"} 99 1234567890.0\n";
    run_test_case(scrape_data, "test_counter", |req| {
        for (ex, _) in exemplars(req) {
            must(
                ex.labels_refs.len() % 2 == 0,
                format!(
                    "Exemplar label refs length must be even (key-value pairs), got: {}",
                    ex.labels_refs.len()
                ),
            );
        }
        require_exemplar(req, "trace_id", "test");
    });
}

/// Go: TestExemplarEncoding/multiple_exemplars_per_series (MAY)
#[test]
fn multiple_exemplars_per_series() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_bucket{le=\"0.1\"} 10 # {trace_id=\"ex1\"} 0.05 1234567890.0\n\
                       test_histogram_bucket{le=\"0.5\"} 50 # {trace_id=\"ex2\"} 0.3 1234567891.0\n\
                       test_histogram_bucket{le=\"+Inf\"} 100\n\
                       test_histogram_sum 50.0\n\
                       test_histogram_count 100\n";
    run_test_case(scrape_data, "test_histogram_bucket", |req| {
        let request = req.v2();
        let found_multiple = request.timeseries.iter().any(|ts| ts.exemplars.len() > 1);
        may(
            found_multiple || !request.timeseries.is_empty(),
            "Multiple exemplars may be present",
        );
        // Beyond upstream: both exemplars arrived. (They are on different buckets, so
        // different series: a series has more than one only across scrapes.)
        require_exemplar(req, "trace_id", "ex1");
        require_exemplar(req, "trace_id", "ex2");
    });
}

/// Beyond upstream: exemplars are sent only with `send_exemplars: true` (the default is
/// false). Two queues read the same WAL over several scrapes; only the one asking for
/// exemplars sends them.
#[test]
fn exemplars_stay_home_without_send_exemplars() {
    use crate::helpers::{sender_config, MockReceiver, MockScrapeTarget, Sender, SenderSettings};
    use std::time::Duration;
    let scrape_data = "# TYPE http_requests_total counter\n\
                       http_requests_total 1000 # {trace_id=\"abc123\"} 1 1234567890.5\n";
    let with = MockReceiver::new();
    let without = MockReceiver::new();
    let target = MockScrapeTarget::new(scrape_data);
    let config = sender_config(&target.host_port(), &with.url(), &SenderSettings::default());
    let second = format!(
        "  - url: \"{}\"\n    name: no_exemplars\n    protobuf_message: io.prometheus.write.v2.Request\n    queue_config: {{batch_send_deadline: 100ms}}\n",
        without.url()
    );
    let config = config.replacen("scrape_configs:", &format!("{second}scrape_configs:"), 1);
    let sender = Sender::start_with_config(&config);
    with.wait_for(
        Duration::from_secs(30),
        &sender,
        "an exemplar",
        |requests| requests.iter().find(|r| !exemplars(r).is_empty()).cloned(),
    );
    let requests = without.wait_for(
        Duration::from_secs(30),
        &sender,
        "three requests with http_requests_total",
        |requests| {
            let n = requests
                .iter()
                .filter(|r| r.metric_names().iter().any(|n| n == "http_requests_total"))
                .count();
            (n >= 3).then(|| requests.to_vec())
        },
    );
    let sent: usize = requests.iter().map(|r| exemplars(r).len()).sum();
    assert_eq!(sent, 0, "exemplars sent without send_exemplars");
}
