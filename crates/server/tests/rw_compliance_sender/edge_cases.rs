//! Go's `edge_cases_test.go`. Some of its scrape data is built with Go's
//! `string(rune(48 + i))`, which is a digit only for `i` < 10: it is rebuilt here the same
//! way (`go_rune`), so the text is upstream's byte for byte, invalid lines included.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::helpers::{extract_labels, must, recommended, should};
use crate::run_test_case;

/// Go's `string(rune(n))`: the character, or U+FFFD when `n` is not one.
fn go_rune(n: i64) -> char {
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Go: TestEdgeCases/empty_scrape (SHOULD)
#[test]
fn empty_scrape() {
    // No series from the target: the request validated is the one with its `up`.
    run_test_case("# No metrics\n", "up", |req| {
        should(req.message.is_ok(), "Sender handled empty scrape");
    });
}

/// Go: TestEdgeCases/huge_label_values (SHOULD)
#[test]
fn huge_label_values() {
    let large_value = "x".repeat(10000);
    let scrape_data = format!("test_metric{{large_label=\"{large_value}\"}} 42\n");
    run_test_case(&scrape_data, "test_metric", |req| {
        let request = req.v2();
        let mut found_large = false;
        for ts in &request.timeseries {
            for value in extract_labels(ts, &request.symbols).values() {
                if value.len() > 5000 {
                    found_large = true;
                    should(value.len() >= 5000, "Large label value should be preserved");
                    break;
                }
            }
        }
        should(
            found_large || request.timeseries.is_empty(),
            "Large label values should be handled",
        );
        // Beyond upstream: preserved whole.
        let (_, labels) = crate::helpers::require_timeseries_by_metric_name(req, "test_metric");
        should(
            labels.get("large_label") == Some(&large_value),
            "the 10000-byte label value should arrive whole",
        );
    });
}

/// Go: TestEdgeCases/unicode_in_labels (MUST)
#[test]
fn unicode_in_labels() {
    let scrape_data = "test_metric{emoji=\"🚀\",chinese=\"测试\",arabic=\"مرحبا\",vietnamese=\"tôi yêu việt nam\"} 42\n";
    run_test_case(scrape_data, "test_metric", |req| {
        let request = req.v2();
        let mut found_unicode = false;
        for ts in &request.timeseries {
            for value in extract_labels(ts, &request.symbols).values() {
                if !value.is_ascii() {
                    found_unicode = true;
                    must(!value.is_empty(), "Unicode value must be preserved");
                }
            }
        }
        should(
            found_unicode || !request.timeseries.is_empty(),
            "Unicode characters should be preserved",
        );
        // Beyond upstream: each value as scraped.
        let (_, labels) = crate::helpers::require_timeseries_by_metric_name(req, "test_metric");
        for (name, value) in [
            ("emoji", "🚀"),
            ("chinese", "测试"),
            ("arabic", "مرحبا"),
            ("vietnamese", "tôi yêu việt nam"),
        ] {
            must(
                labels.get(name).map(String::as_str) == Some(value),
                format!("Unicode value must be preserved: {name} in {labels:?}"),
            );
        }
    });
}

/// Go: TestEdgeCases/many_timeseries (RECOMMENDED)
#[test]
#[ignore = "upstream's scrape data is not valid exposition text (line 11 is `metric_00: :`, \
            Go's string(rune(48+i)) past '9'), so the scrape fails as in Prometheus and the \
            request holds the 5 report series, fewer than the 10 expected"]
fn many_timeseries() {
    let mut scrape_data = String::new();
    for i in 0..100 {
        // Go: strings.Repeat("0", 3-len(string(rune(i/100)))): "00".
        let pad = "0".repeat(3 - go_rune(i / 100).len_utf8());
        scrape_data.push_str(&format!(
            "metric_{pad}{} {}\n",
            go_rune(48 + i),
            go_rune(48 + i)
        ));
    }
    run_test_case(&scrape_data, "up", |req| {
        let series = req.v2().timeseries.len();
        recommended(
            series >= 10,
            format!("Should handle multiple timeseries efficiently, got {series}"),
        );
        recommended(!req.v2().symbols.is_empty(), "Symbol table should be used");
    });
}

/// Go: TestEdgeCases/high_cardinality (RECOMMENDED)
#[test]
#[ignore = "upstream's scrape data is not valid exposition text (the value of line 11 is `:`, \
            Go's string(rune(48+i)) past '9'), so the scrape fails as in Prometheus and the \
            request holds the 5 report series, fewer than the 20 expected"]
fn high_cardinality() {
    let mut scrape_data = String::new();
    for i in 0..50 {
        scrape_data.push_str(&format!(
            "http_requests{{path=\"/api/v1/endpoint_{}{}\",method=\"GET\"}} {}\n",
            go_rune(48 + i / 10),
            go_rune(48 + i % 10),
            go_rune(48 + i)
        ));
    }
    run_test_case(&scrape_data, "up", |req| {
        let series = req.v2().timeseries.len();
        recommended(
            series >= 20,
            format!("Should handle high cardinality metrics, got {series}"),
        );
        let unique: BTreeSet<&String> = req.v2().symbols.iter().filter(|s| !s.is_empty()).collect();
        recommended(
            !unique.is_empty(),
            "Symbol table should deduplicate in high cardinality",
        );
    });
}

/// Go: TestEdgeCases/very_long_metric_name (SHOULD)
#[test]
fn very_long_metric_name() {
    let long_name = format!("metric_{}", "very_long_name_".repeat(50));
    run_test_case(&format!("{long_name} 42\n"), &long_name, |req| {
        let found_long_name = req.metric_names().iter().any(|n| n.len() > 100);
        should(
            found_long_name || !req.v2().timeseries.is_empty(),
            "Long metric names should be handled",
        );
        // Beyond upstream: the name arrived whole (waiting for it ensures that).
        should(found_long_name, "Long metric names should be handled");
    });
}

/// Go: TestEdgeCases/special_float_combinations (MUST)
#[test]
fn special_float_combinations() {
    let scrape_data = "special_values{type=\"nan\"} NaN\n\
                       special_values{type=\"inf\"} +Inf\n\
                       special_values{type=\"ninf\"} -Inf\n\
                       special_values{type=\"zero\"} 0\n\
                       special_values{type=\"negative\"} -123.45\n";
    run_test_case(scrape_data, "special_values", |req| {
        let request = req.v2();
        let mut found = BTreeSet::new();
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) != Some("special_values") {
                continue;
            }
            let Some(sample) = ts.samples.first() else {
                continue;
            };
            let v = sample.value;
            let kind = labels.get("type").map_or("", String::as_str);
            let ok = match kind {
                "nan" => v.is_nan(),
                "inf" => v == f64::INFINITY,
                "ninf" => v == f64::NEG_INFINITY,
                "zero" => v == 0.0,
                "negative" => v < 0.0,
                _ => false,
            };
            if ok {
                found.insert(kind.to_string());
            }
        }
        must(!found.is_empty(), "Should handle special float values");
        // Beyond upstream (which logs which were found): all five.
        must(
            found.len() == 5,
            format!("all five special values must be encoded, got {found:?}"),
        );
    });
}

/// Go: TestEdgeCases/zero_timestamp (SHOULD)
#[test]
fn zero_timestamp() {
    // A sample at 1970 is out of the head's bounds and not stored (as in Prometheus): the
    // request validated is the one with the scrape's `up`.
    run_test_case("test_metric 42 0\n", "up", |req| {
        for ts in &req.v2().timeseries {
            if let Some(sample) = ts.samples.first() {
                should(sample.timestamp >= 0, "Timestamp should be non-negative");
            }
        }
    });
}

/// Go: TestEdgeCases/future_timestamp (SHOULD)
#[test]
fn future_timestamp() {
    let future_s = now_ms() / 1000 + 24 * 3600;
    // Go's `string(rune(future))` of a number past the last code point: "\uFFFD", so the
    // line is invalid and the scrape fails; the request validated has the scrape's `up`.
    let scrape_data = format!("test_metric 42 {}\n", go_rune(future_s));
    run_test_case(&scrape_data, "up", |req| {
        let now = now_ms();
        for ts in &req.v2().timeseries {
            if let Some(sample) = ts.samples.first() {
                if sample.timestamp > now {
                    should(
                        sample.timestamp - now >= 0,
                        "Future timestamp should be handled",
                    );
                }
            }
        }
    });
}

/// Go: TestEdgeCases/metric_name_with_colons (MUST)
#[test]
fn metric_name_with_colons() {
    run_test_case(
        "http:request:duration:seconds 0.5\n",
        "http:request:duration:seconds",
        |req| {
            let found_colon = req.metric_names().iter().any(|n| n.contains(':'));
            must(
                found_colon || !req.v2().timeseries.is_empty(),
                "Metric names with colons are valid and must be handled",
            );
            // Beyond upstream: the name arrived (waiting for it ensures that).
            must(found_colon, "Metric name with colons must be preserved");
        },
    );
}

/// Go: TestEdgeCases/stale_marker (SHOULD)
#[test]
fn stale_marker() {
    // `StaleNaN` is no value of the exposition format: the scrape fails (as in Prometheus),
    // so no test_metric sample exists to check and the request validated has `up`.
    run_test_case("test_metric StaleNaN\n", "up", |req| {
        let request = req.v2();
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) == Some("test_metric") {
                if let Some(sample) = ts.samples.first() {
                    should(sample.value.is_nan(), "StaleNaN should be encoded as NaN");
                }
            }
        }
    });
}

/// Go: TestEdgeCases/mixed_sample_and_histogram_families (MUST)
#[test]
fn mixed_sample_and_histogram_families() {
    let scrape_data = "# Counter\n\
                       requests_total 100\n\
                       \n\
                       # Gauge\n\
                       temperature_celsius 22.5\n\
                       \n\
                       # Histogram\n\
                       response_time_bucket{le=\"0.1\"} 50\n\
                       response_time_bucket{le=\"+Inf\"} 100\n\
                       response_time_sum 10.5\n\
                       response_time_count 100\n\
                       \n\
                       # Summary\n\
                       rpc_duration{quantile=\"0.5\"} 0.05\n\
                       rpc_duration{quantile=\"0.9\"} 0.1\n\
                       rpc_duration_sum 50.0\n\
                       rpc_duration_count 1000\n";
    run_test_case(scrape_data, "requests_total", |req| {
        let mut types = BTreeSet::new();
        for name in req.metric_names() {
            if name == "requests_total" {
                types.insert("counter");
            } else if name == "temperature_celsius" {
                types.insert("gauge");
            } else if name.starts_with("response_time") {
                types.insert("histogram");
            } else if name.starts_with("rpc_duration") {
                types.insert("summary");
            }
        }
        must(
            types.len() >= 2,
            format!("Must handle multiple metric types in same payload, got {types:?}"),
        );
        // Beyond upstream (which logs the types found): all four.
        must(
            types.len() == 4,
            format!("all four metric types, got {types:?}"),
        );
    });
}

/// Go: TestRobustnessUnderLoad (SHOULD)
#[test]
fn test_robustness_under_load() {
    let mut scrape_data = String::new();
    for i in 0..200 {
        scrape_data.push_str(&format!(
            "load_test_metric_{}{}{}{{label=\"value_{}\"}} {}\n",
            go_rune(48 + i / 100),
            go_rune(48 + (i / 10) % 10),
            go_rune(48 + i % 10),
            go_rune(48 + i % 10),
            go_rune(48 + i % 10)
        ));
    }
    run_test_case(&scrape_data, "load_test_metric_000", |req| {
        let series = req.v2().timeseries.len();
        should(series > 0, "Should handle load test data");
        should(
            series >= 50,
            format!("Should batch substantial amount of data, got {series}"),
        );
    });
}
