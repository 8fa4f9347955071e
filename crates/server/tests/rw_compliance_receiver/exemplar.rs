//! Go's `exemplar_test.go`: exemplars on the samples of their series, written and read back
//! with `/api/v1/query_exemplars`; the refusals upstream expects are checked.

use crate::helpers::*;
use crate::run_request;

/// A sample and an exemplar of its series, both of `value`.
fn sample_with_exemplar(
    series: LabelPairs,
    exemplar_labels: LabelPairs,
    value: f64,
) -> (RequestOpts, ExpectedAnswer) {
    let opts = RequestOpts {
        samples: vec![sample(series.clone(), value)],
        exemplars: vec![exemplar(series, exemplar_labels, value)],
        ..Default::default()
    };
    (opts, written().samples(1).exemplars(1))
}

/// TestExemplars (MUST): exemplars with and without labels, trace IDs and odd characters.
mod test_exemplars {
    use super::*;

    // TestExemplars/basic_exemplar(_returns_204)
    compliance_test!(
        basic_exemplar,
        basic_exemplar_returns_204,
        succeeds: sample_with_exemplar(
            labels(&[("__name__", "http_requests_total"), ("job", "api")]),
            trace_exemplar("abc123def456"),
            1.0,
        )
    );

    // TestExemplars/exemplar_with_span_id(_returns_204)
    compliance_test!(
        exemplar_with_span_id,
        exemplar_with_span_id_returns_204,
        succeeds: sample_with_exemplar(
            labels(&[("__name__", "request_duration_seconds"), ("method", "GET")]),
            labels(&[("trace_id", "xyz789"), ("span_id", "span123")]),
            0.125,
        )
    );

    // TestExemplars/exemplar_without_trace_id(_returns_204)
    compliance_test!(
        exemplar_without_trace_id,
        exemplar_without_trace_id_returns_204,
        succeeds: sample_with_exemplar(
            labels(&[("__name__", "cpu_usage"), ("instance", "host1")]),
            labels(&[("user_id", "user123")]),
            0.85,
        )
    );

    // TestExemplars/exemplar_with_multiple_labels(_returns_204)
    compliance_test!(
        exemplar_with_multiple_labels,
        exemplar_with_multiple_labels_returns_204,
        succeeds: sample_with_exemplar(
            labels(&[("__name__", "request_latency"), ("service", "auth")]),
            labels(&[("trace_id", "trace456"), ("user", "admin"), ("endpoint", "/login")]),
            0.05,
        )
    );

    // TestExemplars/exemplar_no_labels(_returns_204)
    compliance_test!(
        exemplar_no_labels,
        exemplar_no_labels_returns_204,
        succeeds: sample_with_exemplar(basic_metric("simple_counter"), labels(&[]), 1.0)
    );

    // TestExemplars/exemplar_with_special_chars(_returns_204)
    compliance_test!(
        exemplar_with_special_chars,
        exemplar_with_special_chars_returns_204,
        succeeds: sample_with_exemplar(
            basic_metric("test_metric"),
            trace_exemplar("trace-with-dashes_and_underscores.123"),
            42.0,
        )
    );

    // TestExemplars/exemplar_with_unicode(_returns_204)
    compliance_test!(
        exemplar_with_unicode,
        exemplar_with_unicode_returns_204,
        succeeds: sample_with_exemplar(
            labels(&[("__name__", "unicode_test"), ("region", "🌍")]),
            trace_exemplar("unicode_trace_测试"),
            100.0,
        )
    );
}

// TestExemplarWithCreatedTimestamp (SHOULD): an exemplar on a counter with its created
// (start) timestamp. Go: TestExemplarWithCreatedTimestamp/#00 and /_returns_204.
compliance_test!(
    test_exemplar_with_created_timestamp,
    test_exemplar_with_created_timestamp_returns_204,
    succeeds: {
        let series = labels(&[("__name__", "http_requests_total"), ("job", "api")]);
        let counter = SampleWithLabels {
            created_offset_ms: Some(-2 * 3_600_000),
            ..sample(series.clone(), 250.0)
        };
        let opts = RequestOpts {
            samples: vec![counter],
            exemplars: vec![exemplar(
                series,
                labels(&[("trace_id", "abc123"), ("span_id", "span456")]),
                250.0,
            )],
            ..Default::default()
        };
        (opts, written().samples(1).exemplars(1))
    }
);

// TestMultipleExemplars: three samples, each with an exemplar. Go: TestMultipleExemplars/#00
// and /_returns_204.
compliance_test!(
    test_multiple_exemplars,
    test_multiple_exemplars_returns_204,
    succeeds: {
        let get = labels(&[("__name__", "request_duration"), ("method", "GET")]);
        let post = labels(&[("__name__", "request_duration"), ("method", "POST")]);
        let errors = labels(&[("__name__", "error_count"), ("service", "payment")]);
        let opts = RequestOpts {
            samples: vec![
                sample(get.clone(), 0.1),
                sample(post.clone(), 0.25),
                sample(errors.clone(), 1.0),
            ],
            exemplars: vec![
                exemplar(get, labels(&[("trace_id", "trace1"), ("span_id", "span1")]), 0.1),
                exemplar(post, labels(&[("trace_id", "trace2"), ("span_id", "span2")]), 0.25),
                exemplar(errors, labels(&[("trace_id", "trace3"), ("user", "test_user")]), 1.0),
            ],
            ..Default::default()
        };
        (opts, written().samples(3).exemplars(3))
    }
);

// TestExemplarTimestamps: three samples of one series an hour ago, a minute ago and now,
// each with an exemplar of its time. Go: TestExemplarTimestamps/#00 and /_returns_204.
compliance_test!(
    test_exemplar_timestamps,
    test_exemplar_timestamps_returns_204,
    succeeds: {
        let series = basic_metric("latency_hist");
        let at = |offset_ms: i64, value: f64, trace_id: &str| {
            let sample = SampleWithLabels {
                offset_ms,
                ..sample(series.clone(), value)
            };
            let exemplar = ExemplarWithLabels {
                offset_ms,
                ..exemplar(series.clone(), trace_exemplar(trace_id), value)
            };
            (sample, exemplar)
        };
        let (samples, exemplars) = [
            at(-3_600_000, 0.05, "old_trace"),
            at(-60_000, 0.15, "recent_trace"),
            at(0, 0.08, "current_trace"),
        ]
        .into_iter()
        .unzip();
        let opts = RequestOpts {
            samples,
            exemplars,
            ..Default::default()
        };
        (opts, written().samples(3).exemplars(3))
    }
);

/// TestExemplarValidation (SHOULD): an exemplar of a series without a metric name is refused
/// with it, with a name taken.
mod test_exemplar_validation {
    use super::*;

    fn check(series: LabelPairs, success: bool) {
        let opts = RequestOpts {
            samples: vec![sample(series.clone(), 1.0)],
            exemplars: vec![exemplar(series, trace_exemplar("test_trace"), 1.0)],
            ..Default::default()
        };
        run_request(
            &generate_request(&opts),
            &written().samples(1).exemplars(1).success(success),
        );
    }

    // TestExemplarValidation/exemplar_without_name_label
    #[test]
    fn exemplar_without_name_label() {
        check(labels(&[("job", "test")]), false);
    }

    // TestExemplarValidation/exemplar_with_empty_name
    #[test]
    fn exemplar_with_empty_name() {
        check(labels(&[("__name__", "")]), false);
    }

    // TestExemplarValidation/exemplar_with_valid_name
    #[test]
    fn exemplar_with_valid_name() {
        check(basic_metric("valid_metric"), true);
    }
}

/// Go's `TestExemplarSpecialValues` case: a sample and its exemplar of one value.
fn special_value(value: f64) -> (RequestOpts, ExpectedAnswer) {
    sample_with_exemplar(
        basic_metric("test_metric"),
        trace_exemplar("special_value_trace"),
        value,
    )
}

/// TestExemplarSpecialValues: exemplars of zero, negative, large, small, NaN and ±Inf values.
mod test_exemplar_special_values {
    use super::*;

    // TestExemplarSpecialValues/zero_value(_returns_204)
    compliance_test!(
        zero_value,
        zero_value_returns_204,
        succeeds: special_value(0.0)
    );

    // TestExemplarSpecialValues/negative_value(_returns_204)
    compliance_test!(
        negative_value,
        negative_value_returns_204,
        succeeds: special_value(-123.456)
    );

    // TestExemplarSpecialValues/large_value(_returns_204)
    compliance_test!(
        large_value,
        large_value_returns_204,
        succeeds: special_value(1e10)
    );

    // TestExemplarSpecialValues/small_value(_returns_204)
    compliance_test!(
        small_value,
        small_value_returns_204,
        succeeds: special_value(1e-10)
    );

    // TestExemplarSpecialValues/nan_value(_returns_204)
    compliance_test!(
        nan_value,
        nan_value_returns_204,
        succeeds: special_value(NORMAL_NAN)
    );

    // TestExemplarSpecialValues/inf_value(_returns_204)
    compliance_test!(
        inf_value,
        inf_value_returns_204,
        succeeds: special_value(f64::INFINITY)
    );

    // TestExemplarSpecialValues/-inf_value(_returns_204)
    compliance_test!(
        minus_inf_value,
        minus_inf_value_returns_204,
        succeeds: special_value(f64::NEG_INFINITY)
    );
}
