//! Go's `labels_test.go`: label names, values and their order.

use crate::helpers::{extract_labels, is_sorted, may, must, should};
use crate::run_test_case;

/// Whether `name` matches `^[a-zA-Z_:][a-zA-Z0-9_:]*$` (with `colons`) or
/// `^[a-zA-Z_][a-zA-Z0-9_]*$`.
fn legacy_name(name: &str, colons: bool) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (colons && c == ':')
            || (!first && c.is_ascii_digit())
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| ok(c, true)) && chars.all(|c| ok(c, false))
}

/// Go: TestLabelValidation/label_lexicographic_ordering (MUST)
#[test]
fn label_lexicographic_ordering() {
    run_test_case(
        "test_metric{aaa=\"1\",bbb=\"2\",zzz=\"3\"} 42\n",
        "test_metric",
        |req| {
            let request = req.v2();
            for ts in &request.timeseries {
                let labels = extract_labels(ts, &request.symbols);
                if labels.get("__name__").map(String::as_str) == Some("test_metric") {
                    must(
                        is_sorted(&request.symbols, &ts.labels_refs),
                        "Labels must be sorted in lexicographic order",
                    );
                    break;
                }
            }
            // Beyond upstream: every series, not just the first test_metric.
            for ts in &request.timeseries {
                must(
                    is_sorted(&request.symbols, &ts.labels_refs),
                    format!(
                        "Labels must be sorted: {:?}",
                        extract_labels(ts, &request.symbols)
                    ),
                );
            }
        },
    );
}

/// Go: TestLabelValidation/metric_name_label_present (MUST)
#[test]
fn metric_name_label_present() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        let request = req.v2();
        must(
            !request.timeseries.is_empty(),
            "Request must contain timeseries",
        );
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            must(
                labels.get("__name__").is_some_and(|n| !n.is_empty()),
                "Timeseries must include __name__ label",
            );
        }
    });
}

/// Go: TestLabelValidation/metric_name_format_valid (MUST)
#[test]
fn metric_name_format_valid() {
    run_test_case(
        "valid_metric_name:subsystem_total 42\n",
        "valid_metric_name:subsystem_total",
        |req| {
            let request = req.v2();
            for ts in &request.timeseries {
                let labels = extract_labels(ts, &request.symbols);
                let name = labels.get("__name__").map_or("", String::as_str);
                must(!name.is_empty(), "Metric name must not be empty");
                must(
                    legacy_name(name, true),
                    format!("Metric name must match regex [a-zA-Z_:][a-zA-Z0-9_:]*, got: {name}"),
                );
            }
        },
    );
}

/// Go: TestLabelValidation/label_name_format_valid (MUST)
#[test]
fn label_name_format_valid() {
    run_test_case(
        "test_metric{valid_label=\"value\",another_1=\"val2\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            for ts in &request.timeseries {
                for name in extract_labels(ts, &request.symbols).keys() {
                    if name.is_empty() {
                        continue;
                    }
                    must(
                        legacy_name(name, false) || name == "__name__",
                        format!("Label name must match regex [a-zA-Z_][a-zA-Z0-9_]*, got: {name}"),
                    );
                }
            }
        },
    );
}

/// Go: TestLabelValidation/no_duplicate_label_names (MUST)
#[test]
fn no_duplicate_label_names() {
    run_test_case(
        "test_metric{foo=\"bar\",baz=\"qux\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            for ts in &request.timeseries {
                let labels = extract_labels(ts, &request.symbols);
                must(
                    ts.labels_refs.len() / 2 == labels.len(),
                    "No duplicate label names allowed",
                );
            }
        },
    );
}

/// Go: TestLabelValidation/label_names_not_empty (MUST)
#[test]
fn label_names_not_empty() {
    run_test_case("test_metric{label=\"value\"} 42", "test_metric", |req| {
        let request = req.v2();
        for ts in &request.timeseries {
            for pair in ts.labels_refs.chunks(2) {
                must(
                    !request.symbols[pair[0] as usize].is_empty(),
                    "Label names must not be empty",
                );
            }
        }
    });
}

/// Go: TestLabelValidation/label_values_may_be_empty (MAY)
#[test]
fn label_values_may_be_empty() {
    run_test_case("test_metric{empty=\"\"} 42", "test_metric", |req| {
        let request = req.v2();
        for ts in &request.timeseries {
            for pair in ts.labels_refs.chunks_exact(2) {
                // Go's `len(labelValue) >= 0`: the reference resolves.
                may(
                    request.symbols.get(pair[1] as usize).is_some(),
                    "Label values may be empty",
                );
            }
        }
    });
}

/// Go: TestLabelValidation/reserved_label_prefix (SHOULD)
#[test]
fn reserved_label_prefix() {
    run_test_case("test_metric{normal=\"value\"} 42", "test_metric", |req| {
        let request = req.v2();
        for ts in &request.timeseries {
            for name in extract_labels(ts, &request.symbols).keys() {
                if name == "__name__" {
                    continue;
                }
                should(
                    !name.starts_with("__"),
                    format!("Labels with __ prefix should be reserved, found: {name}"),
                );
            }
        }
    });
}

/// Go: TestLabelValidation/unicode_in_label_values (MUST)
#[test]
fn unicode_in_label_values() {
    run_test_case(
        "test_metric{emoji=\"🚀\",chinese=\"测试\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            let mut found_unicode = false;
            for ts in &request.timeseries {
                for value in extract_labels(ts, &request.symbols).values() {
                    if !value.is_ascii() {
                        found_unicode = true;
                        must(!value.is_empty(), "Unicode values must be preserved");
                    }
                }
            }
            may(
                found_unicode || !request.timeseries.is_empty(),
                "Unicode characters may be present in labels",
            );
            // Beyond upstream: the values arrive as scraped.
            let (_, labels) = crate::helpers::require_timeseries_by_metric_name(req, "test_metric");
            must(
                labels.get("emoji").map(String::as_str) == Some("🚀")
                    && labels.get("chinese").map(String::as_str) == Some("测试"),
                format!("Unicode values must be preserved: {labels:?}"),
            );
        },
    );
}

/// Go: TestLabelValidation/special_chars_in_label_values (MUST)
#[test]
fn special_chars_in_label_values() {
    run_test_case(
        "test_metric{path=\"/api/v1/users\",query=\"foo=bar&baz=qux\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            let mut found_special = false;
            for ts in &request.timeseries {
                for (key, value) in extract_labels(ts, &request.symbols) {
                    if key == "path" || key == "query" {
                        must(!value.is_empty(), "Special characters must be preserved");
                        found_special = true;
                    }
                }
            }
            should(
                found_special || !request.timeseries.is_empty(),
                "Special characters should be handled correctly",
            );
            // Beyond upstream: the values arrive as scraped.
            let (_, labels) = crate::helpers::require_timeseries_by_metric_name(req, "test_metric");
            must(
                labels.get("path").map(String::as_str) == Some("/api/v1/users")
                    && labels.get("query").map(String::as_str) == Some("foo=bar&baz=qux"),
                format!("Special characters must be preserved: {labels:?}"),
            );
        },
    );
}

/// Go: TestLabelValidation/very_long_label_names (SHOULD)
#[test]
fn very_long_label_names() {
    run_test_case(
        "test_metric{very_long_label_name_that_exceeds_normal_length_but_is_still_valid=\"value\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            let mut found = false;
            for ts in &request.timeseries {
                for name in extract_labels(ts, &request.symbols).keys() {
                    if name.len() > 50 {
                        should(!name.is_empty(), "Long label names should be handled");
                        found = true;
                    }
                }
            }
            // Beyond upstream (which only logs it): the long name arrived.
            should(found, "Long label names should be handled");
        },
    );
}

/// Go: TestLabelValidation/very_long_label_values (SHOULD)
#[test]
fn very_long_label_values() {
    run_test_case(
        "test_metric{description=\"This is a very long label value that contains a lot of text to test how senders handle long strings in label values which might be common in real-world scenarios\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            let mut found = false;
            for ts in &request.timeseries {
                for value in extract_labels(ts, &request.symbols).values() {
                    if value.len() > 100 {
                        should(!value.is_empty(), "Long label values should be handled");
                        found = true;
                    }
                }
            }
            // Beyond upstream (which only logs it): the long value arrived.
            should(found, "Long label values should be handled");
        },
    );
}

/// Go: TestLabelValidation/many_labels_per_series (SHOULD)
#[test]
fn many_labels_per_series() {
    run_test_case(
        "test_metric{l1=\"v1\",l2=\"v2\",l3=\"v3\",l4=\"v4\",l5=\"v5\",l6=\"v6\",l7=\"v7\",l8=\"v8\",l9=\"v9\",l10=\"v10\"} 42",
        "test_metric",
        |req| {
            let request = req.v2();
            let mut found = false;
            for ts in &request.timeseries {
                let labels = extract_labels(ts, &request.symbols);
                if labels.len() > 5 {
                    should(labels.len() >= 5, "Sender should handle timeseries with many labels");
                    found = true;
                }
            }
            // Beyond upstream (which only logs it): the series with 13 labels arrived.
            should(found, "Sender should handle timeseries with many labels");
        },
    );
}
