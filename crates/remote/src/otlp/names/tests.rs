//! Upstream's unit tests of the name rules, ported case for case: otlptranslator v1.0.0's
//! `metric_namer_test.go` (`TestMetricNamer_Build`, with its `UnitNamer` checks) and
//! `label_namer_test.go`.

use super::*;
use MetricKind::*;

struct Case {
    name: &'static str,
    namespace: &'static str,
    suffixes: bool,
    utf8: bool,
    metric: &'static str,
    unit: &'static str,
    kind: MetricKind,
    want: &'static str,
    want_unit: &'static str,
    want_error: &'static str,
}

#[rustfmt::skip]
const METRIC_NAMER_CASES: &[Case] = &[
    Case { name: "simple metric name without suffixes", namespace: "", suffixes: false, utf8: false, metric: "simple_metric", unit: "", kind: Gauge, want: "simple_metric", want_unit: "", want_error: "" },
    Case { name: "metric with special characters replaced", namespace: "", suffixes: false, utf8: false, metric: "metric@with#special$chars", unit: "", kind: Gauge, want: "metric_with_special_chars", want_unit: "", want_error: "" },
    Case { name: "metric starting with digit gets underscore prefix", namespace: "", suffixes: false, utf8: false, metric: "123metric", unit: "", kind: Gauge, want: "_123metric", want_unit: "", want_error: "" },
    Case { name: "metric with namespace without suffixes", namespace: "test_namespace", suffixes: false, utf8: false, metric: "simple_metric", unit: "", kind: Gauge, want: "test_namespace_simple_metric", want_unit: "", want_error: "" },
    Case { name: "empty metric name without suffixes", namespace: "", suffixes: false, utf8: false, metric: "", unit: "", kind: Gauge, want: "", want_unit: "", want_error: "normalization for metric \"\" resulted in empty name" },
    Case { name: "metric with multiple consecutive special chars", namespace: "", suffixes: false, utf8: false, metric: "metric@@##$$name", unit: "", kind: Gauge, want: "metric_name", want_unit: "", want_error: "" },
    Case { name: "metric name with only special characters", namespace: "", suffixes: false, utf8: false, metric: "@#$%", unit: "", kind: Gauge, want: "", want_unit: "", want_error: "normalization for metric \"@#$%\" resulted in empty name" },
    Case { name: "metric name with only special characters", namespace: "", suffixes: false, utf8: false, metric: "@_#_$_%", unit: "", kind: Gauge, want: "", want_unit: "", want_error: "normalization for metric \"@_#_$_%\" resulted in invalid name \"_____\"" },
    Case { name: "namespace with special characters", namespace: "test@namespace!!??", suffixes: false, utf8: false, metric: "metric", unit: "", kind: Gauge, want: "test_namespace_metric", want_unit: "", want_error: "" },
    Case { name: "counter metric with total suffix", namespace: "", suffixes: true, utf8: false, metric: "requests", unit: "", kind: MonotonicCounter, want: "requests_total", want_unit: "", want_error: "" },
    Case { name: "gauge with unit 1 gets ratio suffix", namespace: "", suffixes: true, utf8: false, metric: "cpu_usage", unit: "1", kind: Gauge, want: "cpu_usage_ratio", want_unit: "", want_error: "" },
    Case { name: "counter with unit 1 does not get ratio suffix", namespace: "", suffixes: true, utf8: false, metric: "items", unit: "1", kind: MonotonicCounter, want: "items_total", want_unit: "", want_error: "" },
    Case { name: "metric with time unit", namespace: "", suffixes: true, utf8: false, metric: "response_time", unit: "ms", kind: Gauge, want: "response_time_milliseconds", want_unit: "milliseconds", want_error: "" },
    Case { name: "metric with bytes unit", namespace: "", suffixes: true, utf8: false, metric: "memory_usage", unit: "By", kind: Gauge, want: "memory_usage_bytes", want_unit: "bytes", want_error: "" },
    Case { name: "metric with per unit", namespace: "", suffixes: true, utf8: false, metric: "requests", unit: "1/s", kind: Gauge, want: "requests_per_second", want_unit: "per_second", want_error: "" },
    Case { name: "metric with complex per unit", namespace: "", suffixes: true, utf8: false, metric: "throughput", unit: "By/s", kind: Gauge, want: "throughput_bytes_per_second", want_unit: "bytes_per_second", want_error: "" },
    Case { name: "metric with unknown unit", namespace: "", suffixes: true, utf8: false, metric: "custom_metric", unit: "custom_unit", kind: Gauge, want: "custom_metric_custom_unit", want_unit: "custom_unit", want_error: "" },
    Case { name: "metric with unit containing braces is ignored", namespace: "", suffixes: true, utf8: false, metric: "custom_metric", unit: "{custom}", kind: Gauge, want: "custom_metric", want_unit: "", want_error: "" },
    Case { name: "metric with per unit containing braces is ignored", namespace: "", suffixes: true, utf8: false, metric: "custom_metric", unit: "By/{custom}", kind: Gauge, want: "custom_metric_bytes", want_unit: "bytes", want_error: "" },
    Case { name: "metric name already contains total suffix", namespace: "", suffixes: true, utf8: false, metric: "requests_total", unit: "", kind: MonotonicCounter, want: "requests_total", want_unit: "", want_error: "" },
    Case { name: "metric name already contains ratio suffix", namespace: "", suffixes: true, utf8: false, metric: "cpu_usage_ratio", unit: "1", kind: Gauge, want: "cpu_usage_ratio", want_unit: "", want_error: "" },
    Case { name: "metric name already contains unit suffix", namespace: "", suffixes: true, utf8: false, metric: "response_time_seconds", unit: "s", kind: Gauge, want: "response_time_seconds", want_unit: "seconds", want_error: "" },
    Case { name: "metric name already contains total suffix with UTF8Allowed", namespace: "", suffixes: true, utf8: true, metric: "requests_total", unit: "", kind: MonotonicCounter, want: "requests_total", want_unit: "", want_error: "" },
    Case { name: "metric name already contains ratio suffix with UTF8Allowed", namespace: "", suffixes: true, utf8: true, metric: "cpu_usage_ratio", unit: "1", kind: Gauge, want: "cpu_usage_ratio", want_unit: "", want_error: "" },
    Case { name: "metric name already contains unit suffix with UTF8Allowed", namespace: "", suffixes: true, utf8: true, metric: "response_time_seconds", unit: "s", kind: Gauge, want: "response_time_seconds", want_unit: "seconds", want_error: "" },
    Case { name: "metric name already contains type and unit suffix with UTF8Allowed", namespace: "", suffixes: true, utf8: true, metric: "cpu_seconds_total", unit: "s", kind: MonotonicCounter, want: "cpu_seconds_total", want_unit: "seconds", want_error: "" },
    Case { name: "reproduction case for opentelemetry-collector metrics", namespace: "", suffixes: true, utf8: true, metric: "otelcol_process_cpu_seconds", unit: "s", kind: MonotonicCounter, want: "otelcol_process_cpu_seconds_total", want_unit: "seconds", want_error: "" },
    Case { name: "metric with namespace and suffixes", namespace: "app", suffixes: true, utf8: false, metric: "requests", unit: "1/s", kind: MonotonicCounter, want: "app_requests_per_second_total", want_unit: "per_second", want_error: "" },
    Case { name: "metric starting with digit with namespace and suffixes", namespace: "app", suffixes: true, utf8: false, metric: "123_requests", unit: "", kind: MonotonicCounter, want: "app_123_requests_total", want_unit: "", want_error: "" },
    Case { name: "metric with only underscores (escaped)", namespace: "", suffixes: false, utf8: false, metric: "___", unit: "", kind: Gauge, want: "___", want_unit: "", want_error: "" },
    Case { name: "metric with only underscores (utf8)", namespace: "", suffixes: false, utf8: true, metric: "___", unit: "", kind: Gauge, want: "___", want_unit: "", want_error: "" },
    Case { name: "metric with multiple underscores normalized", namespace: "", suffixes: true, utf8: false, metric: "metric__with__multiple__underscores", unit: "unit__multiple__underscores", kind: Gauge, want: "metric_with_multiple_underscores_unit_multiple_underscores", want_unit: "unit_multiple_underscores", want_error: "" },
    Case { name: "metric with special chars in unit", namespace: "", suffixes: true, utf8: false, metric: "custom_metric", unit: "unit@with#special/chars", kind: Gauge, want: "custom_metric_unit_with_special_per_chars", want_unit: "unit_with_special_per_chars", want_error: "" },
    Case { name: "metric name with only special characters", namespace: "", suffixes: true, utf8: false, metric: "@#$%", unit: "", kind: Gauge, want: "", want_unit: "", want_error: "normalization for metric \"@#$%\" resulted in empty name" },
    Case { name: "utf8 metric without suffixes", namespace: "", suffixes: false, utf8: true, metric: "métric_with_ñ_chars", unit: "", kind: Gauge, want: "métric_with_ñ_chars", want_unit: "", want_error: "" },
    Case { name: "utf8 metric with namespace without suffixes", namespace: "test_namespace", suffixes: false, utf8: true, metric: "métric_with_ñ_chars", unit: "", kind: Gauge, want: "test_namespace_métric_with_ñ_chars", want_unit: "", want_error: "" },
    Case { name: "utf8 counter metric with total suffix", namespace: "", suffixes: true, utf8: true, metric: "requêsts", unit: "", kind: MonotonicCounter, want: "requêsts_total", want_unit: "", want_error: "" },
    Case { name: "utf8 gauge with unit 1 gets ratio suffix", namespace: "", suffixes: true, utf8: true, metric: "cpu_usagé", unit: "1", kind: Gauge, want: "cpu_usagé_ratio", want_unit: "", want_error: "" },
    Case { name: "utf8 metric with time unit", namespace: "", suffixes: true, utf8: true, metric: "respønse_time", unit: "ms", kind: Gauge, want: "respønse_time_milliseconds", want_unit: "milliseconds", want_error: "" },
    Case { name: "utf8 metric with per unit", namespace: "", suffixes: true, utf8: true, metric: "requêsts", unit: "1/s", kind: Gauge, want: "requêsts_per_second", want_unit: "per_second", want_error: "" },
    Case { name: "utf8 metric with namespace and suffixes", namespace: "ñamespace", suffixes: true, utf8: true, metric: "requêsts", unit: "1/s", kind: MonotonicCounter, want: "ñamespace_requêsts_per_second_total", want_unit: "per_second", want_error: "" },
    Case { name: "metric name with only special characters", namespace: "", suffixes: true, utf8: true, metric: "@#$%", unit: "", kind: MonotonicCounter, want: "@#$%_total", want_unit: "", want_error: "" },
    Case { name: "namespace with special characters", namespace: "test@namespace", suffixes: true, utf8: true, metric: "metric", unit: "", kind: MonotonicCounter, want: "test@namespace_metric_total", want_unit: "", want_error: "" },
    Case { name: "histogram metric type", namespace: "", suffixes: true, utf8: false, metric: "request_duration", unit: "s", kind: Histogram, want: "request_duration_seconds", want_unit: "seconds", want_error: "" },
    Case { name: "exponential histogram metric type", namespace: "", suffixes: true, utf8: false, metric: "request_size", unit: "By", kind: ExponentialHistogram, want: "request_size_bytes", want_unit: "bytes", want_error: "" },
    Case { name: "summary metric type", namespace: "", suffixes: true, utf8: false, metric: "response_time", unit: "ms", kind: Summary, want: "response_time_milliseconds", want_unit: "milliseconds", want_error: "" },
    Case { name: "non-monotonic counter metric type", namespace: "", suffixes: true, utf8: false, metric: "active_connections", unit: "", kind: NonMonotonicCounter, want: "active_connections", want_unit: "", want_error: "" },
    Case { name: "unknown metric type", namespace: "", suffixes: true, utf8: false, metric: "unknown_metric", unit: "", kind: Unknown, want: "unknown_metric", want_unit: "", want_error: "" },
    Case { name: "metric with days unit", namespace: "", suffixes: true, utf8: false, metric: "uptime", unit: "d", kind: Gauge, want: "uptime_days", want_unit: "days", want_error: "" },
    Case { name: "metric with hours unit", namespace: "", suffixes: true, utf8: false, metric: "duration", unit: "h", kind: Gauge, want: "duration_hours", want_unit: "hours", want_error: "" },
    Case { name: "metric with minutes unit", namespace: "", suffixes: true, utf8: false, metric: "timeout", unit: "min", kind: Gauge, want: "timeout_minutes", want_unit: "minutes", want_error: "" },
    Case { name: "metric with microseconds unit", namespace: "", suffixes: true, utf8: false, metric: "latency", unit: "us", kind: Gauge, want: "latency_microseconds", want_unit: "microseconds", want_error: "" },
    Case { name: "metric with nanoseconds unit", namespace: "", suffixes: true, utf8: false, metric: "precision_time", unit: "ns", kind: Gauge, want: "precision_time_nanoseconds", want_unit: "nanoseconds", want_error: "" },
    Case { name: "metric with kibibytes unit", namespace: "", suffixes: true, utf8: false, metric: "cache_size", unit: "KiBy", kind: Gauge, want: "cache_size_kibibytes", want_unit: "kibibytes", want_error: "" },
    Case { name: "metric with mebibytes unit", namespace: "", suffixes: true, utf8: false, metric: "memory", unit: "MiBy", kind: Gauge, want: "memory_mebibytes", want_unit: "mebibytes", want_error: "" },
    Case { name: "metric with gibibytes unit", namespace: "", suffixes: true, utf8: false, metric: "storage", unit: "GiBy", kind: Gauge, want: "storage_gibibytes", want_unit: "gibibytes", want_error: "" },
    Case { name: "metric with tibibytes unit", namespace: "", suffixes: true, utf8: false, metric: "capacity", unit: "TiBy", kind: Gauge, want: "capacity_tibibytes", want_unit: "tibibytes", want_error: "" },
    Case { name: "metric with kilobytes unit", namespace: "", suffixes: true, utf8: false, metric: "transfer", unit: "KBy", kind: Gauge, want: "transfer_kilobytes", want_unit: "kilobytes", want_error: "" },
    Case { name: "metric with megabytes unit", namespace: "", suffixes: true, utf8: false, metric: "download", unit: "MBy", kind: Gauge, want: "download_megabytes", want_unit: "megabytes", want_error: "" },
    Case { name: "metric with gigabytes unit", namespace: "", suffixes: true, utf8: false, metric: "backup", unit: "GBy", kind: Gauge, want: "backup_gigabytes", want_unit: "gigabytes", want_error: "" },
    Case { name: "metric with terabytes unit", namespace: "", suffixes: true, utf8: false, metric: "archive", unit: "TBy", kind: Gauge, want: "archive_terabytes", want_unit: "terabytes", want_error: "" },
    Case { name: "metric with meters unit", namespace: "", suffixes: true, utf8: false, metric: "distance", unit: "m", kind: Gauge, want: "distance_meters", want_unit: "meters", want_error: "" },
    Case { name: "metric with volts unit", namespace: "", suffixes: true, utf8: false, metric: "voltage", unit: "V", kind: Gauge, want: "voltage_volts", want_unit: "volts", want_error: "" },
    Case { name: "metric with amperes unit", namespace: "", suffixes: true, utf8: false, metric: "current", unit: "A", kind: Gauge, want: "current_amperes", want_unit: "amperes", want_error: "" },
    Case { name: "metric with joules unit", namespace: "", suffixes: true, utf8: false, metric: "energy", unit: "J", kind: Gauge, want: "energy_joules", want_unit: "joules", want_error: "" },
    Case { name: "metric with watts unit", namespace: "", suffixes: true, utf8: false, metric: "power", unit: "W", kind: Gauge, want: "power_watts", want_unit: "watts", want_error: "" },
    Case { name: "metric with grams unit", namespace: "", suffixes: true, utf8: false, metric: "weight", unit: "g", kind: Gauge, want: "weight_grams", want_unit: "grams", want_error: "" },
    Case { name: "metric with celsius unit", namespace: "", suffixes: true, utf8: false, metric: "temperature", unit: "Cel", kind: Gauge, want: "temperature_celsius", want_unit: "celsius", want_error: "" },
    Case { name: "metric with hertz unit", namespace: "", suffixes: true, utf8: false, metric: "frequency", unit: "Hz", kind: Gauge, want: "frequency_hertz", want_unit: "hertz", want_error: "" },
    Case { name: "metric with percent unit", namespace: "", suffixes: true, utf8: false, metric: "cpu_usage", unit: "%", kind: Gauge, want: "cpu_usage_percent", want_unit: "percent", want_error: "" },
    Case { name: "metric with per minute unit", namespace: "", suffixes: true, utf8: false, metric: "requests", unit: "1/m", kind: Gauge, want: "requests_per_minute", want_unit: "per_minute", want_error: "" },
    Case { name: "metric with per hour unit", namespace: "", suffixes: true, utf8: false, metric: "events", unit: "1/h", kind: Gauge, want: "events_per_hour", want_unit: "per_hour", want_error: "" },
    Case { name: "metric with per day unit", namespace: "", suffixes: true, utf8: false, metric: "transactions", unit: "1/d", kind: Gauge, want: "transactions_per_day", want_unit: "per_day", want_error: "" },
    Case { name: "metric with per week unit", namespace: "", suffixes: true, utf8: false, metric: "reports", unit: "1/w", kind: Gauge, want: "reports_per_week", want_unit: "per_week", want_error: "" },
    Case { name: "metric with per month unit", namespace: "", suffixes: true, utf8: false, metric: "invoices", unit: "1/mo", kind: Gauge, want: "invoices_per_month", want_unit: "per_month", want_error: "" },
    Case { name: "metric with per year unit", namespace: "", suffixes: true, utf8: false, metric: "renewals", unit: "1/y", kind: Gauge, want: "renewals_per_year", want_unit: "per_year", want_error: "" },
    Case { name: "metric with unknown per unit", namespace: "", suffixes: true, utf8: false, metric: "custom", unit: "1/custom_unit", kind: Gauge, want: "custom_per_custom_unit", want_unit: "per_custom_unit", want_error: "" },
    Case { name: "metric with empty per unit", namespace: "", suffixes: true, utf8: false, metric: "metric", unit: "By/", kind: Gauge, want: "metric_bytes", want_unit: "bytes", want_error: "" },
    Case { name: "metric with whitespace in unit", namespace: "", suffixes: true, utf8: false, metric: "metric", unit: " By / s ", kind: Gauge, want: "metric_bytes_per_second", want_unit: "bytes_per_second", want_error: "" },
    Case { name: "metric with only slash in unit", namespace: "", suffixes: true, utf8: false, metric: "metric", unit: "/", kind: Gauge, want: "metric", want_unit: "", want_error: "" },
    Case { name: "http.request.duration/Prometheus-style", namespace: "", suffixes: true, utf8: false, metric: "http.request.duration", unit: "ms", kind: Histogram, want: "http_request_duration_milliseconds", want_unit: "milliseconds", want_error: "" },
    Case { name: "http.request.duration/OTel-style", namespace: "", suffixes: false, utf8: true, metric: "http.request.duration", unit: "ms", kind: Histogram, want: "http.request.duration", want_unit: "milliseconds", want_error: "" },
    Case { name: "http.requests/Prometheus-style", namespace: "", suffixes: true, utf8: false, metric: "http.requests", unit: "1", kind: MonotonicCounter, want: "http_requests_total", want_unit: "", want_error: "" },
    Case { name: "http.requests/OTel-style", namespace: "", suffixes: false, utf8: true, metric: "http.requests", unit: "1", kind: MonotonicCounter, want: "http.requests", want_unit: "", want_error: "" },
];

#[test]
fn metric_namer_build() {
    assert_eq!(METRIC_NAMER_CASES.len(), 84);
    for c in METRIC_NAMER_CASES {
        let namer = MetricNamer {
            namespace: c.namespace.into(),
            with_suffixes: c.suffixes,
            utf8_allowed: c.utf8,
        };
        let got = namer.build(c.metric, c.unit, c.kind);
        if c.want_error.is_empty() {
            assert_eq!(got.as_deref(), Ok(c.want), "{}", c.name);
        } else {
            assert_eq!(got, Err(c.want_error.to_string()), "{}", c.name);
            assert_eq!(c.want, "", "{}", c.name);
        }
        // Upstream checks the unit namer against the same cases when suffixes are on, and
        // that the metric name holds the unit name.
        if c.suffixes {
            let unit = UnitNamer {
                utf8_allowed: c.utf8,
            }
            .build(c.unit);
            assert_eq!(unit, c.want_unit, "unit of {}", c.name);
            assert!(got.unwrap_or_default().contains(&unit), "{}", c.name);
        }
    }
}

/// `labelTestCases`: (label, escaped, escaped with runs of underscores kept; "" = same).
const LABEL_CASES: &[(&str, &str, &str)] = &[
    ("label:with:colons", "label_with_colons", ""),
    ("LabelWithCapitalLetters", "LabelWithCapitalLetters", ""),
    ("label!with&special$chars)", "label_with_special_chars_", ""),
    (
        "label_with_foreign_characters_字符",
        "label_with_foreign_characters_",
        "label_with_foreign_characters___",
    ),
    ("label.with.dots", "label_with_dots", ""),
    ("123label", "key_123label", ""),
    (
        "_label_starting_with_underscore",
        "_label_starting_with_underscore",
        "",
    ),
    (
        "__label_starting_with_2underscores",
        "_label_starting_with_2underscores",
        "__label_starting_with_2underscores",
    ),
    ("ようこそ", "", ""),
    (
        "label__with__double__underscores",
        "label_with_double_underscores",
        "label__with__double__underscores",
    ),
    (
        "label.name__with&&special##chars",
        "label_name_with_special_chars",
        "label_name__with__special__chars",
    ),
    (
        "__reserved__label__name__",
        "__reserved_label_name__",
        "__reserved__label__name__",
    ),
    (
        "trailing_underscores___",
        "trailing_underscores_",
        "trailing_underscores___",
    ),
];

#[test]
fn build_label() {
    for (label, sanitized, multiple) in LABEL_CASES {
        let escape = LabelNamer::default();
        assert_eq!(
            escape.build(label).unwrap_or_default(),
            *sanitized,
            "{label}"
        );
        let preserve = LabelNamer {
            preserve_multiple_underscores: true,
            ..LabelNamer::default()
        };
        let want = if multiple.is_empty() {
            sanitized
        } else {
            multiple
        };
        assert_eq!(preserve.build(label).unwrap_or_default(), *want, "{label}");
    }
}

#[test]
fn build_label_utf8_allowed() {
    let namer = LabelNamer {
        utf8_allowed: true,
        ..LabelNamer::default()
    };
    for (label, _, _) in LABEL_CASES {
        assert_eq!(namer.build(label).as_deref(), Ok(*label));
    }
}

#[test]
fn build_label_underscores() {
    for (label, sanitized, with_key) in [
        ("regular label", "regular_label", "regular_label"),
        ("123label", "key_123label", "key_123label"),
        (
            "_label_starting_with_underscore",
            "_label_starting_with_underscore",
            "key_label_starting_with_underscore",
        ),
    ] {
        let mut namer = LabelNamer::default();
        assert_eq!(namer.build(label).as_deref(), Ok(sanitized));
        namer.underscore_sanitization = true;
        assert_eq!(namer.build(label).as_deref(), Ok(with_key));
    }
}

#[test]
fn build_label_errors() {
    // (label, an error when escaping, an error when UTF-8 is allowed)
    for (label, escape_error, utf8_error) in [
        ("", true, true),
        ("__", true, true),
        ("ようこそ", true, false),
    ] {
        if escape_error {
            assert!(LabelNamer::default().build(label).is_err(), "{label}");
        }
        if utf8_error {
            let namer = LabelNamer {
                utf8_allowed: true,
                ..LabelNamer::default()
            };
            assert!(namer.build(label).is_err(), "{label}");
        }
    }
    assert_eq!(
        LabelNamer::default().build("ようこそ"),
        Err("normalization for label name \"ようこそ\" resulted in invalid name \"_\"".into())
    );
}
