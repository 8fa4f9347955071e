//! Go's `metric_test.go`: float samples, with the special values (NaN, ±Inf, the stale
//! marker), in odd label sets, and several in one request.

use crate::helpers::*;

/// A request of these samples, expecting `written_samples` written.
fn samples_case(
    samples: Vec<SampleWithLabels>,
    written_samples: usize,
) -> (RequestOpts, ExpectedAnswer) {
    let opts = RequestOpts {
        samples,
        ..Default::default()
    };
    (opts, written().samples(written_samples))
}

/// Go's `TestSingleMetric` table for one value: `TestSingleMetric/<value>/<case>`.
macro_rules! single_metric_cases {
    ($value:expr) => {
        use super::*;

        // simple_metric, simple_metric_returns_204
        compliance_test!(simple_metric, simple_metric_returns_204, succeeds:
            samples_case(vec![sample(basic_metric("up"), $value)], 1));

        // simple_metric_with_multiple_labels(_returns_204)
        compliance_test!(
            simple_metric_with_multiple_labels,
            simple_metric_with_multiple_labels_returns_204,
            succeeds: samples_case(vec![sample(test_job_instance_labels(), $value)], 1)
        );

        // simple_metric_with_newlines(_returns_204)
        compliance_test!(
            simple_metric_with_newlines,
            simple_metric_with_newlines_returns_204,
            succeeds: samples_case(
                vec![sample(
                    labels(&[
                        ("__name__", "up"),
                        ("job", "test\njob\n"),
                        ("instance", "localhost:9090"),
                    ]),
                    $value,
                )],
                1,
            )
        );

        // simple_metric_with_dots(_returns_204)
        compliance_test!(
            simple_metric_with_dots,
            simple_metric_with_dots_returns_204,
            succeeds: samples_case(
                vec![sample(
                    labels(&[
                        ("__name__", "resource.cpu.usage"),
                        ("job.name", "testjob"),
                        ("instance.name", "localhost:9090"),
                    ]),
                    $value,
                )],
                1,
            )
        );

        // simple_metric_with_spaces(_returns_204)
        compliance_test!(
            simple_metric_with_spaces,
            simple_metric_with_spaces_returns_204,
            succeeds: samples_case(
                vec![sample(
                    labels(&[
                        ("__name__", "resource cpu usage"),
                        ("job name", "testjob"),
                        ("instance name", "localhost:9090"),
                    ]),
                    $value,
                )],
                1,
            )
        );

        // simple_metric_without_name_label
        compliance_test!(simple_metric_without_name_label, fails: samples_case(
            vec![sample(
                labels(&[("job", "testjob"), ("instance", "localhost:9090")]),
                $value,
            )],
            1,
        ));

        // empty_metric
        compliance_test!(empty_metric, fails: samples_case(vec![sample(labels(&[]), $value)], 1));
    };
}

/// TestSingleMetric: one sample of each value in each label set.
mod test_single_metric {
    use super::*;

    // TestSingleMetric/1.0
    mod value_1_0 {
        single_metric_cases!(1.0);
    }

    // TestSingleMetric/StaleNaN
    mod stale_nan {
        single_metric_cases!(STALE_NAN);
    }

    // TestSingleMetric/NaN
    mod nan {
        single_metric_cases!(NORMAL_NAN);
    }

    // TestSingleMetric/Inf
    mod inf {
        single_metric_cases!(f64::INFINITY);
    }

    // TestSingleMetric/-Inf
    mod minus_inf {
        single_metric_cases!(f64::NEG_INFINITY);
    }
}

/// Go's sample of a counter created an hour ago.
fn counter_created_an_hour_ago() -> (RequestOpts, ExpectedAnswer) {
    let counter = SampleWithLabels {
        created_offset_ms: Some(-3_600_000),
        ..sample(
            labels(&[("__name__", "http_requests_total"), ("job", "api")]),
            100.0,
        )
    };
    samples_case(vec![counter], 1)
}

// TestCounterWithCreatedTimestamp (SHOULD): a counter with its created (start) timestamp.
// Go: TestCounterWithCreatedTimestamp/#00 and TestCounterWithCreatedTimestamp/_returns_204.
compliance_test!(
    test_counter_with_created_timestamp,
    test_counter_with_created_timestamp_returns_204,
    succeeds: counter_created_an_hour_ago()
);

/// Go's `TestMultipleMetrics` table for one value: `TestMultipleMetrics/<value>/<case>`.
macro_rules! multiple_metrics_cases {
    ($value:expr) => {
        use super::*;

        fn up_of(instances: &[&str], with_name: &[bool]) -> Vec<SampleWithLabels> {
            instances
                .iter()
                .zip(with_name)
                .map(|(instance, with_name)| {
                    let mut series = labels(&[("job", "testjob"), ("instance", instance)]);
                    if *with_name {
                        series.insert(0, ("__name__".into(), "up".into()));
                    }
                    sample(series, $value)
                })
                .collect()
        }

        const INSTANCES: [&str; 4] = [
            "localhost:9090",
            "localhost:9091",
            "localhost:9092",
            "localhost:9093",
        ];

        // multiple_metrics(_returns_204)
        compliance_test!(multiple_metrics, multiple_metrics_returns_204, succeeds:
            samples_case(up_of(&INSTANCES, &[true; 4]), 4));

        // multiple_metrics,_without_name_label
        compliance_test!(multiple_metrics_without_name_label, fails:
            samples_case(up_of(&INSTANCES, &[false; 4]), 0));

        // multiple_metrics,_1_without_name_label
        compliance_test!(multiple_metrics_1_without_name_label, fails:
            samples_case(up_of(&INSTANCES, &[false, true, true, true]), 3));
    };
}

/// TestMultipleMetrics (SHOULD): four samples in one request, all, none or three of them
/// valid (a partial write).
mod test_multiple_metrics {
    use super::*;

    // TestMultipleMetrics/1.0
    mod value_1_0 {
        multiple_metrics_cases!(1.0);
    }

    // TestMultipleMetrics/StaleNaN
    mod stale_nan {
        multiple_metrics_cases!(STALE_NAN);
    }

    // TestMultipleMetrics/NaN
    mod nan {
        multiple_metrics_cases!(NORMAL_NAN);
    }

    // TestMultipleMetrics/Inf
    mod inf {
        multiple_metrics_cases!(f64::INFINITY);
    }

    // TestMultipleMetrics/-Inf
    mod minus_inf {
        multiple_metrics_cases!(f64::NEG_INFINITY);
    }
}
