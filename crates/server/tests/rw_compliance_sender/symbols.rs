//! Go's `symbols_test.go`: the 2.0 symbol table.

use std::collections::HashMap;

use crate::helpers::{must, recommended};
use crate::run_test_case;

/// Go: TestSymbolTable/empty_string_at_index_zero (MUST)
#[test]
fn empty_string_at_index_zero() {
    run_test_case("test_metric 42\n", "test_metric", |req| {
        let symbols = &req.v2().symbols;
        must(!symbols.is_empty(), "Symbol table must not be empty");
        must(
            symbols[0].is_empty(),
            format!(
                "Symbol at index 0 must be empty string, got: {:?}",
                symbols[0]
            ),
        );
    });
}

/// Go: TestSymbolTable/string_deduplication (RECOMMENDED)
#[test]
fn string_deduplication() {
    let scrape_data = "# Multiple metrics with same label keys/values\n\
                       test_metric{foo=\"bar\",baz=\"qux\"} 1\n\
                       test_metric{foo=\"bar\",baz=\"qux\"} 2\n\
                       another_metric{foo=\"bar\"} 3\n";
    run_test_case(scrape_data, "another_metric", |req| {
        let symbols = &req.v2().symbols;
        must(!symbols.is_empty(), "Symbol table must not be empty");
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, symbol) in symbols.iter().enumerate() {
            if symbol.is_empty() {
                continue;
            }
            if let Some(previous) = seen.insert(symbol, i) {
                recommended(
                    false,
                    format!("Duplicate string {symbol:?} found at indices {previous} and {i} (deduplication is a performance recommended)"),
                );
            }
        }
    });
}

/// Go: TestSymbolTable/labels_refs_valid_indices (MUST)
#[test]
fn labels_refs_valid_indices() {
    run_test_case("test_metric{label=\"value\"} 42\n", "test_metric", |req| {
        let request = req.v2();
        must(
            !request.timeseries.is_empty(),
            "Request must contain at least one timeseries",
        );
        for (ts_index, ts) in request.timeseries.iter().enumerate() {
            for (ref_index, r) in ts.labels_refs.iter().enumerate() {
                must(
                    (*r as usize) < request.symbols.len(),
                    format!(
                        "Timeseries[{ts_index}].LabelsRefs[{ref_index}] = {r} points outside symbol table (size: {})",
                        request.symbols.len()
                    ),
                );
            }
        }
    });
}

/// Go: TestSymbolTable/labels_refs_even_length (MUST)
#[test]
fn labels_refs_even_length() {
    run_test_case("test_metric{label=\"value\"} 42\n", "test_metric", |req| {
        let request = req.v2();
        must(
            !request.timeseries.is_empty(),
            "Request must contain at least one timeseries",
        );
        for (ts_index, ts) in request.timeseries.iter().enumerate() {
            must(
                ts.labels_refs.len() % 2 == 0,
                format!(
                    "Timeseries[{ts_index}].LabelsRefs has odd length {} (must be even for key-value pairs)",
                    ts.labels_refs.len()
                ),
            );
        }
    });
}

/// Go: TestSymbolTableEfficiency (RECOMMENDED)
#[test]
fn test_symbol_table_efficiency() {
    let scrape_data = "# Multiple series with shared labels\n\
                       http_requests_total{method=\"GET\",status=\"200\",handler=\"/api/v1\"} 100\n\
                       http_requests_total{method=\"POST\",status=\"200\",handler=\"/api/v1\"} 50\n\
                       http_requests_total{method=\"GET\",status=\"404\",handler=\"/api/v1\"} 10\n\
                       http_requests_total{method=\"GET\",status=\"200\",handler=\"/api/v2\"} 75\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        let unique_count = req.v2().symbols.iter().filter(|s| !s.is_empty()).count();
        recommended(
            unique_count <= 30,
            format!("Symbol table should be efficiently deduplicated (found {unique_count} unique symbols)"),
        );
    });
}
