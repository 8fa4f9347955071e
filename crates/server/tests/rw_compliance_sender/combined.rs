//! Go's `combined_test.go`: metadata, exemplars and several metric types together.

use std::collections::BTreeSet;

use crate::helpers::v2::MetricType;
use crate::helpers::{extract_exemplar_labels, extract_labels, may, must, recommended, should};
use crate::run_test_case;

/// Go: TestCombinedFeatures/samples_with_metadata (SHOULD)
#[test]
fn samples_with_metadata() {
    let scrape_data = "# HELP http_requests_total Total HTTP requests received\n\
                       # TYPE http_requests_total counter\n\
                       http_requests_total{method=\"GET\",status=\"200\"} 1000\n\
                       http_requests_total{method=\"POST\",status=\"201\"} 500\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        let request = req.v2();
        let (mut found_metric, mut found_with_metadata) = (false, false);
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) != Some("http_requests_total") {
                continue;
            }
            found_metric = true;
            should(!ts.samples.is_empty(), "Counter should have samples");
            let m = ts.metadata();
            if m.r#type != MetricType::Unspecified as i32 {
                should(
                    m.r#type == MetricType::Counter as i32,
                    "Metadata type should match metric type",
                );
                found_with_metadata = true;
            }
            if m.help_ref != 0 {
                should(
                    request.symbols[m.help_ref as usize].contains("HTTP requests"),
                    "Help text should be meaningful",
                );
            }
        }
        assert!(found_metric, "Expected to find http_requests_total metric");
        should(
            found_with_metadata,
            "Metadata should be present with samples",
        );
    });
}

/// Go: TestCombinedFeatures/samples_with_exemplars (MAY)
#[test]
fn samples_with_exemplars() {
    let scrape_data = "# TYPE request_count counter\n\
                       request_count 1000 # {trace_id=\"abc123\",span_id=\"def456\"} 999 1234567890.123\n";
    run_test_case(scrape_data, "request_count", |req| {
        let request = req.v2();
        let (mut found_metric, mut found_exemplar) = (false, false);
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) == Some("request_count") {
                found_metric = true;
                if let Some(ex) = ts.exemplars.first() {
                    found_exemplar = true;
                    let _ = extract_exemplar_labels(ex, &request.symbols);
                }
            }
        }
        assert!(found_metric, "Expected to find request_count metric");
        may(found_exemplar, "Exemplars present");
    });
}

/// Go: TestCombinedFeatures/histogram_with_metadata_and_exemplars (MAY)
#[test]
fn histogram_with_metadata_and_exemplars() {
    let scrape_data = "# HELP request_duration_seconds Request duration in seconds\n\
                       # TYPE request_duration_seconds histogram\n\
                       request_duration_seconds_bucket{le=\"0.1\"} 100 # {trace_id=\"hist123\"} 0.05 1234567890.0\n\
                       request_duration_seconds_bucket{le=\"0.5\"} 250\n\
                       request_duration_seconds_bucket{le=\"1.0\"} 500\n\
                       request_duration_seconds_bucket{le=\"+Inf\"} 1000\n\
                       request_duration_seconds_sum 450.5\n\
                       request_duration_seconds_count 1000\n";
    run_test_case(scrape_data, "request_duration_seconds_bucket", |req| {
        let request = req.v2();
        let (mut found_data, mut found_metadata, mut found_exemplar) = (false, false, false);
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            let name = labels.get("__name__").map_or("", String::as_str);
            if [
                "request_duration_seconds_count",
                "request_duration_seconds_bucket",
                "request_duration_seconds",
            ]
            .contains(&name)
            {
                found_data = true;
                if ts.metadata().r#type != MetricType::Unspecified as i32 {
                    found_metadata = true;
                }
                if !ts.exemplars.is_empty() {
                    found_exemplar = true;
                }
            }
        }
        assert!(found_data, "Expected histogram data but none was found");
        may(found_metadata, "Histogram metadata present");
        may(found_exemplar, "Histogram exemplars present");
    });
}

/// Go: TestCombinedFeatures/multiple_metric_types (MUST)
#[test]
fn multiple_metric_types() {
    let scrape_data = "# TYPE process_cpu_seconds_total counter\n\
                       process_cpu_seconds_total 123.45\n\
                       \n\
                       # TYPE process_memory_bytes gauge\n\
                       process_memory_bytes 1048576\n\
                       \n\
                       # TYPE request_duration_seconds histogram\n\
                       request_duration_seconds_bucket{le=\"+Inf\"} 100\n\
                       request_duration_seconds_sum 50.0\n\
                       request_duration_seconds_count 100\n";
    run_test_case(scrape_data, "process_cpu_seconds_total", |req| {
        let mut types = BTreeSet::new();
        for name in req.metric_names() {
            match name.as_str() {
                "process_cpu_seconds_total" => types.insert("counter"),
                "process_memory_bytes" => types.insert("gauge"),
                "request_duration_seconds_count" | "request_duration_seconds" => {
                    types.insert("histogram")
                }
                _ => false,
            };
        }
        must(!types.is_empty(), "Request must contain metrics");
        // Beyond upstream (which logs the types found): all three, in one request.
        must(
            types.len() == 3,
            format!("all three metric types in the request, got {types:?}"),
        );
    });
}

/// Go: TestCombinedFeatures/high_cardinality_labels (RECOMMENDED)
#[test]
fn high_cardinality_labels() {
    let scrape_data = "# TYPE http_requests_total counter\n\
                       http_requests_total{method=\"GET\",path=\"/api/v1/users\",status=\"200\"} 100\n\
                       http_requests_total{method=\"GET\",path=\"/api/v1/posts\",status=\"200\"} 200\n\
                       http_requests_total{method=\"POST\",path=\"/api/v1/users\",status=\"201\"} 50\n\
                       http_requests_total{method=\"POST\",path=\"/api/v1/posts\",status=\"201\"} 75\n\
                       http_requests_total{method=\"GET\",path=\"/api/v1/comments\",status=\"200\"} 300\n\
                       http_requests_total{method=\"DELETE\",path=\"/api/v1/users\",status=\"204\"} 10\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        let unique: BTreeSet<&String> = req.v2().symbols.iter().filter(|s| !s.is_empty()).collect();
        recommended(
            !unique.is_empty(),
            "Symbol table should contain unique symbols",
        );
        let series = req
            .metric_names()
            .iter()
            .filter(|n| *n == "http_requests_total")
            .count();
        recommended(
            series >= 6,
            "High cardinality metrics should have multiple series",
        );
    });
}

/// Go: TestCombinedFeatures/complete_metric_family (MUST)
#[test]
fn complete_metric_family() {
    let scrape_data = "# HELP api_request_duration_seconds API request duration\n\
                       # TYPE api_request_duration_seconds histogram\n\
                       api_request_duration_seconds_bucket{le=\"0.1\"} 50\n\
                       api_request_duration_seconds_bucket{le=\"0.5\"} 150\n\
                       api_request_duration_seconds_bucket{le=\"1.0\"} 250\n\
                       api_request_duration_seconds_bucket{le=\"+Inf\"} 300\n\
                       api_request_duration_seconds_sum 200.5\n\
                       api_request_duration_seconds_count 300\n";
    run_test_case(scrape_data, "api_request_duration_seconds_count", |req| {
        let request = req.v2();
        let found_count = request.timeseries.iter().any(|ts| {
            let labels = extract_labels(ts, &request.symbols);
            let name = labels.get("__name__").map_or("", String::as_str);
            name == "api_request_duration_seconds_count"
                || (name == "api_request_duration_seconds" && !ts.histograms.is_empty())
        });
        must(
            found_count || !request.timeseries.is_empty(),
            "Histogram family must include count",
        );
        // Beyond upstream (whose check passes on any series): the whole family, together.
        let names = req.metric_names();
        for part in ["_count", "_sum", "_bucket"] {
            must(
                names.contains(&format!("api_request_duration_seconds{part}")),
                format!("the family's {part} series must be sent with its _count: {names:?}"),
            );
        }
        let buckets = names
            .iter()
            .filter(|n| *n == "api_request_duration_seconds_bucket")
            .count();
        must(buckets == 4, format!("all 4 buckets, got {buckets}"));
    });
}

/// Go: TestCombinedFeatures/mixed_labels_and_metadata (SHOULD)
#[test]
fn mixed_labels_and_metadata() {
    let scrape_data = "# HELP api_calls_total Total API calls with detailed labels\n\
                       # TYPE api_calls_total counter\n\
                       api_calls_total{service=\"auth\",method=\"POST\",endpoint=\"/login\",region=\"us-east\",status=\"200\"} 1000\n\
                       api_calls_total{service=\"auth\",method=\"POST\",endpoint=\"/logout\",region=\"us-east\",status=\"200\"} 500\n\
                       api_calls_total{service=\"users\",method=\"GET\",endpoint=\"/profile\",region=\"eu-west\",status=\"200\"} 2000\n";
    run_test_case(scrape_data, "api_calls_total", |req| {
        let request = req.v2();
        let mut series_count = 0;
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) != Some("api_calls_total") {
                continue;
            }
            series_count += 1;
            for name in ["service", "method", "endpoint"] {
                should(
                    labels.get(name).is_some_and(|v| !v.is_empty()),
                    format!("{name} label should be present"),
                );
            }
        }
        should(
            series_count >= 3,
            "Should have multiple series with different label combinations",
        );
    });
}

/// Go: TestCombinedFeatures/real_world_scenario (MUST)
#[test]
fn real_world_scenario() {
    let scrape_data = "# Realistic scrape output with multiple metric types\n\
                       # TYPE up gauge\n\
                       up 1\n\
                       \n\
                       # TYPE process_cpu_seconds_total counter\n\
                       process_cpu_seconds_total 45.67\n\
                       \n\
                       # TYPE go_memstats_alloc_bytes gauge\n\
                       go_memstats_alloc_bytes 2097152\n\
                       \n\
                       # TYPE http_request_duration_seconds histogram\n\
                       http_request_duration_seconds_bucket{le=\"0.05\"} 100\n\
                       http_request_duration_seconds_bucket{le=\"0.1\"} 200\n\
                       http_request_duration_seconds_bucket{le=\"0.5\"} 450\n\
                       http_request_duration_seconds_bucket{le=\"1.0\"} 480\n\
                       http_request_duration_seconds_bucket{le=\"+Inf\"} 500\n\
                       http_request_duration_seconds_sum 125.5\n\
                       http_request_duration_seconds_count 500\n\
                       \n\
                       # TYPE http_requests_total counter\n\
                       http_requests_total{method=\"GET\",code=\"200\"} 5000\n\
                       http_requests_total{method=\"POST\",code=\"201\"} 1000\n";
    run_test_case(scrape_data, "process_cpu_seconds_total", |req| {
        let request = req.v2();
        let mut names = BTreeSet::new();
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            let name = labels.get("__name__").cloned().unwrap_or_default();
            must(!name.is_empty(), "Each timeseries must have __name__");
            must(
                ts.samples.is_empty() || ts.histograms.is_empty(),
                "Timeseries must not mix samples and histograms",
            );
            names.insert(name);
        }
        must(!names.is_empty(), "Request must contain metrics");
        must(
            names.len() >= 3,
            format!("Real-world scenario should have multiple distinct metrics, got {names:?}"),
        );
    });
}
