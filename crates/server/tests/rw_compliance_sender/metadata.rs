//! Go's `metadata_test.go`: per-series metadata (type, help, unit) of 2.0 requests.
//!
//! Upstream's checks pass whenever any series arrives (`foundMetadata ||
//! len(req.Request.Timeseries) > 0`); beyond upstream, each case also asserts what its
//! description says the sender SHOULD (or MAY) send, as Prometheus does.

use std::collections::BTreeMap;

use crate::helpers::v2::{Metadata, MetricType};
use crate::helpers::{extract_labels, may, must, should, CapturedRequest};
use crate::run_test_case;

/// The metadata of the first series named `metric_name`, and the help and unit texts.
fn metadata_of(req: &CapturedRequest, metric_name: &str) -> Option<(Metadata, String, String)> {
    let request = req.v2();
    request.timeseries.iter().find_map(|ts| {
        let labels = extract_labels(ts, &request.symbols);
        (labels.get("__name__").map(String::as_str) == Some(metric_name)).then(|| {
            let m = ts.metadata();
            let text = |r: u32| request.symbols.get(r as usize).cloned().unwrap_or_default();
            (m.clone(), text(m.help_ref), text(m.unit_ref))
        })
    })
}

/// Go's validator of the `metadata_type_*` cases, and beyond upstream: `metric_name` has
/// the type.
fn check_type(req: &CapturedRequest, metric_names: &[&str], want: MetricType) {
    let request = req.v2();
    let mut found_metadata = false;
    for ts in &request.timeseries {
        let labels = extract_labels(ts, &request.symbols);
        let name = labels.get("__name__").map_or("", String::as_str);
        if metric_names.contains(&name) {
            let m = ts.metadata();
            if m.r#type != MetricType::Unspecified as i32 {
                should(
                    m.r#type == want as i32,
                    format!(
                        "{name} should have {want:?} type in metadata, got {}",
                        m.r#type
                    ),
                );
                found_metadata = true;
            }
            break;
        }
    }
    should(
        found_metadata || !request.timeseries.is_empty(),
        "Metadata should be present for typed metrics",
    );
    // Beyond upstream.
    let (m, _, _) = metadata_of(req, metric_names[0]).expect("the series is in the request");
    should(
        m.r#type == want as i32,
        format!(
            "{} should have {want:?} type in metadata, got {m:?}",
            metric_names[0]
        ),
    );
}

/// Go: TestMetadataEncoding/metadata_type_counter (SHOULD)
#[test]
fn metadata_type_counter() {
    let scrape_data = "# HELP http_requests_total Total HTTP requests\n\
                       # TYPE http_requests_total counter\n\
                       http_requests_total 100\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        check_type(req, &["http_requests_total"], MetricType::Counter);
    });
}

/// Go: TestMetadataEncoding/metadata_type_gauge (SHOULD)
#[test]
fn metadata_type_gauge() {
    let scrape_data = "# HELP memory_usage_bytes Current memory usage\n\
                       # TYPE memory_usage_bytes gauge\n\
                       memory_usage_bytes 1048576\n";
    run_test_case(scrape_data, "memory_usage_bytes", |req| {
        check_type(req, &["memory_usage_bytes"], MetricType::Gauge);
    });
}

/// Go: TestMetadataEncoding/metadata_type_histogram (SHOULD)
#[test]
fn metadata_type_histogram() {
    let scrape_data = "# HELP request_duration_seconds Request duration\n\
                       # TYPE request_duration_seconds histogram\n\
                       request_duration_seconds_bucket{le=\"+Inf\"} 100\n\
                       request_duration_seconds_sum 50.0\n\
                       request_duration_seconds_count 100\n";
    run_test_case(scrape_data, "request_duration_seconds_count", |req| {
        // Prometheus gives a family's `_count`, `_sum` and `_bucket` series its metadata.
        check_type(
            req,
            &["request_duration_seconds_count", "request_duration_seconds"],
            MetricType::Histogram,
        );
    });
}

/// Go: TestMetadataEncoding/metadata_type_summary (SHOULD)
#[test]
fn metadata_type_summary() {
    let scrape_data = "# HELP rpc_duration_seconds RPC duration\n\
                       # TYPE rpc_duration_seconds summary\n\
                       rpc_duration_seconds{quantile=\"0.5\"} 0.05\n\
                       rpc_duration_seconds{quantile=\"0.9\"} 0.1\n\
                       rpc_duration_seconds_sum 100.0\n\
                       rpc_duration_seconds_count 1000\n";
    run_test_case(scrape_data, "rpc_duration_seconds", |req| {
        check_type(req, &["rpc_duration_seconds"], MetricType::Summary);
    });
}

/// Go's validator of the cases about help texts: if `metric_name` has a help reference,
/// `check` it; beyond upstream, it must have one.
fn check_help(req: &CapturedRequest, metric_name: &str, check: impl Fn(&str)) {
    let request = req.v2();
    let mut found_help = false;
    for ts in &request.timeseries {
        let labels = extract_labels(ts, &request.symbols);
        if labels.get("__name__").map(String::as_str) == Some(metric_name) {
            let m = ts.metadata();
            if m.help_ref != 0 {
                check(&request.symbols[m.help_ref as usize]);
                found_help = true;
            }
            break;
        }
    }
    should(
        found_help || !request.timeseries.is_empty(),
        "HELP text should be present in metadata",
    );
    // Beyond upstream.
    should(
        found_help,
        format!("{metric_name} should have a HELP text in its metadata"),
    );
}

/// Go: TestMetadataEncoding/metadata_help_text (SHOULD)
#[test]
fn metadata_help_text() {
    let scrape_data = "# HELP http_requests_total The total number of HTTP requests\n\
                       # TYPE http_requests_total counter\n\
                       http_requests_total 100\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        check_help(req, "http_requests_total", |help| {
            should(!help.is_empty(), "HELP text should be present in metadata");
            should(
                help.contains("HTTP requests"),
                "HELP text should contain meaningful description",
            );
        });
    });
}

/// Go: TestMetadataEncoding/metadata_unit (MAY)
#[test]
fn metadata_unit() {
    let scrape_data = "# HELP memory_usage_bytes Memory usage\n\
                       # TYPE memory_usage_bytes gauge\n\
                       # UNIT memory_usage_bytes bytes\n\
                       memory_usage_bytes 1048576\n";
    run_test_case(scrape_data, "memory_usage_bytes", |req| {
        let request = req.v2();
        let mut found_unit = false;
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) == Some("memory_usage_bytes") {
                let m = ts.metadata();
                if m.unit_ref != 0 {
                    may(
                        !request.symbols[m.unit_ref as usize].is_empty(),
                        "UNIT may be present in metadata",
                    );
                    found_unit = true;
                }
                break;
            }
        }
        may(
            found_unit || !request.timeseries.is_empty(),
            "UNIT may be present in metadata",
        );
        // Beyond upstream: the type and help, which the text format carries. (`# UNIT` is
        // OpenMetrics only: the text format 0.0.4 the target serves has no unit, and
        // Prometheus's text parser skips the line.)
        let (m, help, _) = metadata_of(req, "memory_usage_bytes").expect("the series");
        may(
            m.r#type == MetricType::Gauge as i32 && help == "Memory usage",
            format!("metadata of memory_usage_bytes: {m:?}, help {help:?}"),
        );
    });
}

/// Go: TestMetadataEncoding/metadata_help_with_newlines (SHOULD)
#[test]
fn metadata_help_with_newlines() {
    // As upstream notes, the text format has no multi-line HELP: this is two HELP lines.
    let scrape_data = "# HELP multiline_metric This is a help text\n\
                       # HELP multiline_metric that spans multiple lines\n\
                       # TYPE multiline_metric gauge\n\
                       multiline_metric 42\n";
    run_test_case(scrape_data, "multiline_metric", |req| {
        check_help(req, "multiline_metric", |help| {
            should(!help.is_empty(), "HELP text should be present");
        });
    });
}

/// Go: TestMetadataEncoding/metadata_help_with_special_chars (SHOULD)
#[test]
fn metadata_help_with_special_chars() {
    let scrape_data = "# HELP special_metric This help contains \"quotes\" and \\backslashes\\\n\
                       # TYPE special_metric counter\n\
                       special_metric 100\n";
    run_test_case(scrape_data, "special_metric", |req| {
        check_help(req, "special_metric", |help| {
            should(
                !help.is_empty(),
                "HELP text with special characters should be preserved",
            );
            // Beyond upstream: as Prometheus's text parser reads it (only `\\` and `\n` are
            // escapes in a HELP text; other backslashes stay).
            should(
                help == "This help contains \"quotes\" and \\backslashes\\",
                format!("HELP text with special characters should be preserved, got {help:?}"),
            );
        });
    });
}

/// Go: TestMetadataEncoding/metadata_help_refs_valid (MUST)
#[test]
fn metadata_help_refs_valid() {
    let scrape_data = "# HELP test_metric Test metric description\n\
                       # TYPE test_metric counter\n\
                       test_metric 42\n";
    run_test_case(scrape_data, "test_metric", |req| {
        let request = req.v2();
        for ts in &request.timeseries {
            let m = ts.metadata();
            if m.help_ref != 0 {
                must(
                    (m.help_ref as usize) < request.symbols.len(),
                    "HelpRef must point to valid symbol index",
                );
            }
            if m.unit_ref != 0 {
                must(
                    (m.unit_ref as usize) < request.symbols.len(),
                    "UnitRef must point to valid symbol index",
                );
            }
        }
        // Beyond upstream: there is a reference to check.
        let (_, help, _) = metadata_of(req, "test_metric").expect("the series");
        should(
            help == "Test metric description",
            format!("test_metric's HELP text, got {help:?}"),
        );
    });
}

/// Go: TestMetadataEncoding/metadata_consistent_across_series (SHOULD)
#[test]
fn metadata_consistent_across_series() {
    let scrape_data = "# HELP http_requests_total Total HTTP requests\n\
                       # TYPE http_requests_total counter\n\
                       http_requests_total{method=\"GET\"} 100\n\
                       http_requests_total{method=\"POST\"} 50\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        let request = req.v2();
        let mut first: BTreeMap<String, Metadata> = BTreeMap::new();
        let mut series = 0;
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            let name = labels.get("__name__").cloned().unwrap_or_default();
            if name != "http_requests_total" {
                continue;
            }
            series += 1;
            let m = ts.metadata();
            match first.get(&name) {
                Some(existing) => {
                    should(
                        existing.r#type == m.r#type,
                        "Metadata type should be consistent for same metric family",
                    );
                    should(
                        existing.help_ref == m.help_ref,
                        "Metadata help should be consistent for same metric family",
                    );
                }
                None => {
                    first.insert(name, m);
                }
            }
        }
        // Beyond upstream: both series, with the family's metadata (not consistently none).
        should(
            series == 2,
            format!("both series in one request, got {series}"),
        );
        let m = first
            .get("http_requests_total")
            .cloned()
            .unwrap_or_default();
        should(
            m.r#type == MetricType::Counter as i32 && m.help_ref != 0,
            format!("the family's metadata should be sent, got {m:?}"),
        );
    });
}

/// Go: TestMetadataEncoding/metadata_empty_help_allowed (MAY)
#[test]
fn metadata_empty_help_allowed() {
    let scrape_data = "# TYPE no_help_metric counter\nno_help_metric 42\n";
    run_test_case(scrape_data, "no_help_metric", |req| {
        // Go's `int(HelpRef) >= 0` and "found or any series" hold for any request that has
        // the series, which waiting for it ensures.
        let (m, help, _) = metadata_of(req, "no_help_metric").expect("the series");
        may(true, "Metrics without HELP are allowed");
        // Beyond upstream: the type is sent without a help text (reference 0).
        may(
            m.r#type == MetricType::Counter as i32 && m.help_ref == 0 && help.is_empty(),
            format!("a type without a help text, got {m:?}"),
        );
    });
}
