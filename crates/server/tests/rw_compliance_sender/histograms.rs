//! Go's `histograms_test.go`. Its scrape data are classic histograms in the text format
//! (which cannot carry a native histogram), so the cases check the classic series, as
//! upstream's checks accept; none needs native histograms.

use crate::helpers::{
    extract_histogram_count, extract_histogram_sum, extract_labels, find_histogram_data, may, must,
    should,
};
use crate::run_test_case;

/// Go: TestHistogramEncoding/native_histogram_structure (MUST)
#[test]
fn native_histogram_structure() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_count 10\n\
                       test_histogram_sum 25.5\n\
                       test_histogram_bucket{le=\"1\"} 2\n\
                       test_histogram_bucket{le=\"5\"} 7\n\
                       test_histogram_bucket{le=\"+Inf\"} 10\n";
    run_test_case(scrape_data, "test_histogram_count", |req| {
        let (classic_found, native) = find_histogram_data(req, "test_histogram");
        must(
            classic_found || native.is_some(),
            "Histogram data must be present (either as count/sum/bucket or native format)",
        );
    });
}

const COUNT_AND_SUM: &str = "# TYPE test_histogram histogram\n\
                             test_histogram_count 100\n\
                             test_histogram_sum 250.5\n\
                             test_histogram_bucket{le=\"+Inf\"} 100\n";

/// Go: TestHistogramEncoding/histogram_count_present (MUST)
#[test]
fn histogram_count_present() {
    run_test_case(COUNT_AND_SUM, "test_histogram_count", |req| {
        let count = extract_histogram_count(req, "test_histogram");
        may(
            count.is_some(),
            "Histogram count should be present in some form",
        );
        if let Some(count) = count {
            must(
                count == 100.0,
                format!("Histogram count value must be correct, got {count}"),
            );
        }
    });
}

/// Go: TestHistogramEncoding/histogram_sum_present (MUST)
#[test]
fn histogram_sum_present() {
    run_test_case(COUNT_AND_SUM, "test_histogram_sum", |req| {
        let sum = extract_histogram_sum(req, "test_histogram");
        may(
            sum.is_some(),
            "Histogram sum should be present in some form",
        );
        if let Some(sum) = sum {
            must(
                sum == 250.5,
                format!("Histogram sum value must be correct, got {sum}"),
            );
        }
    });
}

/// Go: TestHistogramEncoding/histogram_buckets_ordered (SHOULD)
#[test]
fn histogram_buckets_ordered() {
    let scrape_data = "# TYPE request_duration histogram\n\
                       request_duration_bucket{le=\"0.1\"} 10\n\
                       request_duration_bucket{le=\"0.5\"} 50\n\
                       request_duration_bucket{le=\"1.0\"} 100\n\
                       request_duration_bucket{le=\"5.0\"} 200\n\
                       request_duration_bucket{le=\"+Inf\"} 250\n\
                       request_duration_sum 500.0\n\
                       request_duration_count 250\n";
    run_test_case(scrape_data, "request_duration_bucket", |req| {
        let request = req.v2();
        let found_native = request.timeseries.iter().any(|ts| {
            extract_labels(ts, &request.symbols)
                .get("__name__")
                .map(String::as_str)
                == Some("request_duration")
                && !ts.histograms.is_empty()
        });
        may(
            found_native || !request.timeseries.is_empty(),
            "Histogram data should be present",
        );
    });
}

/// The check of the native-histogram cases whose scrape data has no buckets: a native
/// histogram, or else any series.
fn native_or_any(scrape_data: &str) {
    run_test_case(scrape_data, "test_histogram_count", |req| {
        let request = req.v2();
        let native = request
            .timeseries
            .iter()
            .find(|ts| !ts.histograms.is_empty());
        may(
            native.is_some() || !request.timeseries.is_empty(),
            "Histogram may be in native or classic format",
        );
    });
}

/// Go: TestHistogramEncoding/histogram_positive_buckets (MAY)
#[test]
fn histogram_positive_buckets() {
    let scrape_data = "# TYPE test_native_histogram histogram\n\
                       test_native_histogram_count 100\n\
                       test_native_histogram_sum 250.0\n";
    run_test_case(scrape_data, "test_native_histogram_count", |req| {
        let request = req.v2();
        let native = request
            .timeseries
            .iter()
            .find(|ts| !ts.histograms.is_empty());
        if let Some(ts) = native {
            may(
                !ts.histograms[0].positive_spans.is_empty(),
                "Native histogram may have positive buckets",
            );
        }
        may(
            native.is_some() || !request.timeseries.is_empty(),
            "Histogram may be in native or classic format",
        );
    });
}

/// Go: TestHistogramEncoding/histogram_negative_buckets (MAY)
#[test]
fn histogram_negative_buckets() {
    native_or_any(
        "# TYPE test_histogram histogram\ntest_histogram_count 50\ntest_histogram_sum -25.0\n",
    );
}

/// Go: TestHistogramEncoding/histogram_zero_bucket (MAY)
#[test]
fn histogram_zero_bucket() {
    native_or_any(
        "# TYPE test_histogram histogram\ntest_histogram_count 10\ntest_histogram_sum 0.0\n",
    );
}

/// Go: TestHistogramEncoding/histogram_schema (MUST)
#[test]
fn histogram_schema() {
    // Go's check is that the histogram message is not nil, which a decoded one never is.
    native_or_any(
        "# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 500.0\n",
    );
}

/// Go: TestHistogramEncoding/histogram_timestamp (MUST)
#[test]
fn histogram_timestamp() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_count 100\n\
                       test_histogram_sum 250.0\n\
                       test_histogram_bucket{le=\"+Inf\"} 100\n";
    run_test_case(scrape_data, "test_histogram_count", |req| {
        let request = req.v2();
        let mut found_timestamp = false;
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) == Some("test_histogram_count")
                && !ts.samples.is_empty()
            {
                must(
                    ts.samples[0].timestamp > 0,
                    "Histogram timestamp must be valid",
                );
                found_timestamp = true;
                break;
            }
            if !ts.histograms.is_empty() {
                must(
                    ts.histograms[0].timestamp > 0,
                    "Native histogram timestamp must be valid",
                );
                found_timestamp = true;
                break;
            }
        }
        must(found_timestamp, "Histogram must have valid timestamp");
    });
}

/// Go: TestHistogramEncoding/histogram_no_mixed_with_samples (MUST)
#[test]
fn histogram_no_mixed_with_samples() {
    let scrape_data =
        "# TYPE test_histogram histogram\ntest_histogram_count 100\ntest_histogram_sum 250.0\n";
    run_test_case(scrape_data, "test_histogram_count", |req| {
        for ts in &req.v2().timeseries {
            must(
                ts.samples.is_empty() || ts.histograms.is_empty(),
                "Timeseries must not contain both samples and histograms",
            );
        }
    });
}

/// Go: TestHistogramEncoding/histogram_empty_buckets (SHOULD)
#[test]
fn histogram_empty_buckets() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_count 0\n\
                       test_histogram_sum 0\n\
                       test_histogram_bucket{le=\"+Inf\"} 0\n";
    run_test_case(scrape_data, "test_histogram_count", |req| {
        let request = req.v2();
        let mut found_empty = false;
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) == Some("test_histogram_count")
                && !ts.samples.is_empty()
            {
                should(
                    ts.samples[0].value == 0.0,
                    "Empty histogram count should be 0",
                );
                found_empty = true;
                break;
            }
        }
        should(
            found_empty || !request.timeseries.is_empty(),
            "Empty histogram should be handled correctly",
        );
    });
}

/// Go: TestHistogramEncoding/histogram_large_counts (MUST)
#[test]
fn histogram_large_counts() {
    let scrape_data = "# TYPE test_histogram histogram\n\
                       test_histogram_count 1000000000\n\
                       test_histogram_sum 5000000000.0\n\
                       test_histogram_bucket{le=\"+Inf\"} 1000000000\n";
    run_test_case(scrape_data, "test_histogram_count", |req| {
        let request = req.v2();
        let mut found_large = false;
        for ts in &request.timeseries {
            let labels = extract_labels(ts, &request.symbols);
            if labels.get("__name__").map(String::as_str) == Some("test_histogram_count")
                && !ts.samples.is_empty()
            {
                must(
                    ts.samples[0].value == 1e9,
                    "Large histogram count must be correctly encoded",
                );
                found_large = true;
                break;
            }
        }
        may(
            found_large || !request.timeseries.is_empty(),
            "Large histogram counts should be handled",
        );
    });
}
