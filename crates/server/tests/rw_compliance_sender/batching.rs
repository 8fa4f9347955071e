//! Go's `batching_test.go`: how series are put into requests.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::helpers::{may, recommended};
use crate::run_test_case;

/// Go: TestBatchingBehavior/multiple_series_per_request (RECOMMENDED)
#[test]
fn multiple_series_per_request() {
    let scrape_data = "# Multiple metrics to batch\n\
                       http_requests_total{method=\"GET\",status=\"200\"} 1000\n\
                       http_requests_total{method=\"POST\",status=\"200\"} 500\n\
                       http_requests_total{method=\"GET\",status=\"404\"} 50\n\
                       cpu_usage_percent 45.2\n\
                       memory_usage_bytes 1048576\n\
                       disk_io_bytes_total 1000000\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        let names = req.metric_names();
        let unique: BTreeSet<&String> = names.iter().collect();
        recommended(
            names.len() >= 3,
            format!(
                "Sender should batch multiple series, got {} series",
                names.len()
            ),
        );
        recommended(
            unique.len() >= 2,
            format!(
                "Sender should batch different metrics, got {} unique metrics",
                unique.len()
            ),
        );
    });
}

/// Go: TestBatchingBehavior/batch_size_reasonable (RECOMMENDED)
#[test]
fn batch_size_reasonable() {
    let mut scrape_data = String::from("# Large scrape to test batch size handling\n");
    for i in 0..12000 {
        writeln!(scrape_data, "metric{{label=\"{i}\"}} 1").unwrap();
    }
    run_test_case(&scrape_data, "metric", |req| {
        let series = req.v2().timeseries.len();
        recommended(series >= 1, "Request should contain at least one series");
        recommended(
            series <= 10000,
            format!("Batch size should be reasonable (less than 10k series), got {series}"),
        );
    });
}

/// Go: TestBatchingBehavior/handles_varying_cardinality (RECOMMENDED)
#[test]
fn handles_varying_cardinality() {
    let scrape_data = "# High cardinality metrics\n\
                       api_calls{endpoint=\"/users\",method=\"GET\",region=\"us-east\",status=\"200\"} 100\n\
                       api_calls{endpoint=\"/users\",method=\"POST\",region=\"us-east\",status=\"201\"} 50\n\
                       api_calls{endpoint=\"/posts\",method=\"GET\",region=\"us-west\",status=\"200\"} 200\n\
                       api_calls{endpoint=\"/posts\",method=\"DELETE\",region=\"eu-west\",status=\"204\"} 10\n\
                       api_calls{endpoint=\"/comments\",method=\"GET\",region=\"ap-south\",status=\"200\"} 500\n\
                       low_cardinality_metric 42\n";
    run_test_case(scrape_data, "api_calls", |req| {
        let request = req.v2();
        let unique: BTreeSet<&String> = request.symbols.iter().filter(|s| !s.is_empty()).collect();
        recommended(!unique.is_empty(), "Symbol table should deduplicate");
        recommended(
            request.timeseries.len() >= 2,
            "Should handle mixed cardinality metrics",
        );
    });
}

/// Go: TestBatchingBehavior/efficient_symbol_reuse (RECOMMENDED)
#[test]
fn efficient_symbol_reuse() {
    let scrape_data = "# Metrics with shared labels\n\
                       http_requests{service=\"api\",method=\"GET\"} 100\n\
                       http_requests{service=\"api\",method=\"POST\"} 50\n\
                       http_requests{service=\"web\",method=\"GET\"} 200\n\
                       http_duration{service=\"api\",method=\"GET\"} 0.5\n\
                       http_duration{service=\"api\",method=\"POST\"} 0.3\n";
    run_test_case(scrape_data, "http_requests", |req| {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for symbol in &req.v2().symbols {
            *counts.entry(symbol).or_default() += 1;
        }
        for (symbol, count) in counts {
            if !symbol.is_empty() {
                recommended(
                    count == 1,
                    format!("Symbol {symbol:?} should appear only once in table, got {count}"),
                );
            }
        }
    });
}

/// Go: TestBatchingBehavior/metadata_batching (RECOMMENDED)
#[test]
fn metadata_batching() {
    let scrape_data = "# HELP http_requests_total Total HTTP requests\n\
                       # TYPE http_requests_total counter\n\
                       http_requests_total{method=\"GET\"} 1000\n\
                       http_requests_total{method=\"POST\"} 500\n\
                       \n\
                       # HELP memory_usage_bytes Current memory usage\n\
                       # TYPE memory_usage_bytes gauge\n\
                       memory_usage_bytes 1048576\n";
    run_test_case(scrape_data, "http_requests_total", |req| {
        // Go counts the series with and without metadata, and only logs the counts.
        recommended(
            req.v2().timeseries.len() >= 2,
            "Should batch multiple series",
        );
    });
}

/// Go: TestConcurrentRequests (MAY)
#[test]
fn test_concurrent_requests() {
    let scrape_data =
        "# Multiple metrics\nmetric_1 1\nmetric_2 2\nmetric_3 3\nmetric_4 4\nmetric_5 5\n";
    run_test_case(scrape_data, "metric_1", |req| {
        may(req.message.is_ok(), "At least one request should be sent");
    });
}
