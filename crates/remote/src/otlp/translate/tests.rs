//! Upstream's unit tests of the translation, ported case for case where they test mapping
//! rules (names, labels, values, timestamps, errors, warnings): Prometheus's
//! `helper_test.go` (`createAttributes`, summaries, histograms, `convertTimeStamp`),
//! `number_data_points_test.go`, `metrics_to_prw_test.go` (`TestTemporality`, the
//! warnings and `target_info` cases of `TestFromMetrics`) and `write_otlp_handler_test.go`
//! (the series of each translation strategy). Native histogram expectations become counts
//! of rejected points: promethium cannot store them yet.

use super::*;
use crate::otlp::proto::*;

const NOW_NS: u64 = 1_700_000_000_123_456_789;

fn lbls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue::string(key, value)
}

fn scope_metrics(metrics: Vec<Metric>) -> ScopeMetrics {
    ScopeMetrics {
        scope: None,
        metrics,
        schema_url: String::new(),
    }
}

fn request(resources: Vec<(Vec<KeyValue>, Vec<ScopeMetrics>)>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: resources
            .into_iter()
            .map(|(attributes, scope_metrics)| ResourceMetrics {
                resource: Some(Resource { attributes }),
                scope_metrics,
            })
            .collect(),
    }
}

/// One resource (without attributes, so without `target_info`) and one scope.
fn single(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    request(vec![(vec![], vec![scope_metrics(metrics)])])
}

fn metric(name: &str, data: MetricData) -> Metric {
    Metric {
        name: name.into(),
        description: String::new(),
        unit: String::new(),
        data: Some(data),
    }
}

fn number_point(t_ns: u64, value: NumberValue, attributes: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: 0,
        time_unix_nano: t_ns,
        value: Some(value),
        exemplars: vec![],
        flags: 0,
    }
}

fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        MetricData::Gauge(Gauge {
            data_points: points,
        }),
    )
}

fn sum(name: &str, temporality: i32, monotonic: bool, points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        MetricData::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality,
            is_monotonic: monotonic,
        }),
    )
}

/// The samples as (labels, t, v, st), for comparing.
fn samples(t: &Translation) -> Vec<(Labels, i64, f64, i64)> {
    t.samples
        .iter()
        .zip(&t.start_timestamps)
        .map(|((l, t, v), st)| (l.clone(), *t, *v, *st))
        .collect()
}

fn warning_messages(t: &Translation) -> Vec<&str> {
    t.warnings.iter().map(|w| w.message.as_str()).collect()
}

fn default_scope() -> ScopeMetrics {
    ScopeMetrics {
        scope: Some(InstrumentationScope {
            name: "test-scope".into(),
            version: "1.0.0".into(),
            attributes: vec![kv("attr1", "value1"), kv("attr2", "value2")],
        }),
        metrics: vec![],
        schema_url: "https://schema.com".into(),
    }
}

const SCOPE_LABELS: [(&str, &str); 5] = [
    ("otel_scope_attr1", "value1"),
    ("otel_scope_attr2", "value2"),
    ("otel_scope_name", "test-scope"),
    ("otel_scope_schema_url", "https://schema.com"),
    ("otel_scope_version", "1.0.0"),
];

fn with_scope(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    pairs.iter().copied().chain(SCOPE_LABELS).collect()
}

fn promote(all: bool, attributes: &[&str]) -> Option<PromoteResourceAttributes> {
    Some(PromoteResourceAttributes {
        promote_all: all,
        attributes: attributes.iter().map(|a| a.to_string()).collect(),
    })
}

/// `TestPrometheusConverter_createAttributes`.
#[test]
fn create_attributes() {
    let resource = vec![
        kv("service.name", "service name"),
        kv("service.instance.id", "service ID"),
        kv("existent-attr", "resource value"),
        kv("metric-attr", "resource value"),
        kv("job", "resource value"),
        kv("instance", "resource value"),
    ];
    let attrs = vec![
        kv("metric-attr", "metric value"),
        kv("metric-attr-other", "metric value other"),
    ];
    let resource_underscores = vec![
        kv("service.name", "service name"),
        kv("service.instance.id", "service ID"),
        kv("_private", "private value"),
        kv("__reserved__", "reserved value"),
        kv("label___multi", "multi value"),
    ];
    let attrs_underscores = vec![
        kv("_metric_private", "private metric"),
        kv("metric___multi", "multi metric"),
    ];
    let no_scope = ScopeMetrics {
        scope: Some(InstrumentationScope::default()),
        metrics: vec![],
        schema_url: String::new(),
    };
    let base = [
        ("__name__", "test_metric"),
        ("instance", "service ID"),
        ("job", "service name"),
    ];
    let plus = |more: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        base.iter().copied().chain(more.iter().copied()).collect()
    };
    let metric_attrs = [
        ("metric_attr", "metric value"),
        ("metric_attr_other", "metric value other"),
    ];

    struct Case<'a> {
        name: &'a str,
        resource: &'a [KeyValue],
        attrs: &'a [KeyValue],
        scope: &'a ScopeMetrics,
        promote: Option<PromoteResourceAttributes>,
        promote_scope: bool,
        ignore: &'a [&'a str],
        underscore_sanitization: bool,
        preserve_multiple_underscores: bool,
        want: Vec<(&'a str, &'a str)>,
        collisions: Vec<&'a str>,
    }
    let scope = default_scope();
    let case = |name| Case {
        name,
        resource: &resource,
        attrs: &attrs,
        scope: &no_scope,
        promote: promote(false, &[]),
        promote_scope: false,
        ignore: &[],
        underscore_sanitization: false,
        preserve_multiple_underscores: false,
        want: vec![],
        collisions: vec![],
    };
    let colliding = [kv("a.b", "1"), kv("a_b", "2")];
    let triple = [kv("a-b", "1"), kv("a.b", "2"), kv("a_b", "3")];
    let two_groups = [
        kv("a.b", "1"),
        kv("a_b", "2"),
        kv("c.d", "3"),
        kv("c_d", "4"),
    ];
    let with_unrelated = [kv("a.b", "1"), kv("a_b", "2"), kv("unrelated", "9")];
    let collision_ab = "OTLP data point attributes \"a.b\", \"a_b\" collide as label \"a_b\" after name sanitization, values are concatenated with ';'";
    let cases = vec![
        Case {
            scope: &scope,
            want: plus(&metric_attrs),
            ..case("Successful conversion without resource attribute promotion and without scope promotion")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            want: with_scope(&plus(&metric_attrs)),
            ..case("Successful conversion without resource attribute promotion and with scope promotion")
        },
        Case {
            promote_scope: true,
            want: plus(&metric_attrs),
            ..case("Successful conversion without resource attribute promotion and with scope promotion, but without scope")
        },
        Case {
            ignore: &["metric-attr-other"],
            want: plus(&[("metric_attr", "metric value")]),
            ..case("Successful conversion with some attributes ignored")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            ignore: &["metric-attr-other"],
            want: with_scope(&plus(&[("metric_attr", "metric value")])),
            ..case("Successful conversion with some attributes ignored and with scope promotion")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            promote: promote(false, &["non-existent-attr", "existent-attr"]),
            want: with_scope(&plus(&[
                ("metric_attr", "metric value"),
                ("metric_attr_other", "metric value other"),
                ("existent_attr", "resource value"),
            ])),
            ..case("Successful conversion with resource attribute promotion and with scope promotion")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            promote: promote(
                false,
                &["non-existent-attr", "existent-attr", "metric-attr", "job", "instance"],
            ),
            want: with_scope(&plus(&[
                ("existent_attr", "resource value"),
                ("metric_attr", "metric value"),
                ("metric_attr_other", "metric value other"),
            ])),
            ..case("Successful conversion with resource attribute promotion and with scope promotion, conflicting resource attributes are ignored")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            promote: promote(false, &["existent-attr", "existent-attr"]),
            want: with_scope(&plus(&[
                ("existent_attr", "resource value"),
                ("metric_attr", "metric value"),
                ("metric_attr_other", "metric value other"),
            ])),
            ..case("Successful conversion with resource attribute promotion and with scope promotion, attributes are only promoted once")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            promote: promote(true, &[]),
            want: with_scope(&plus(&[
                ("existent_attr", "resource value"),
                ("metric_attr", "metric value"),
                ("metric_attr_other", "metric value other"),
                ("service_name", "service name"),
                ("service_instance_id", "service ID"),
            ])),
            ..case("Successful conversion promoting all resource attributes and with scope promotion")
        },
        Case {
            scope: &scope,
            promote_scope: true,
            promote: promote(true, &["service.instance.id"]),
            want: with_scope(&plus(&[
                ("existent_attr", "resource value"),
                ("metric_attr", "metric value"),
                ("metric_attr_other", "metric value other"),
                ("service_name", "service name"),
            ])),
            ..case("Successful conversion promoting all resource attributes and with scope promotion, ignoring 'service.instance.id'")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["_private"]),
            underscore_sanitization: true,
            preserve_multiple_underscores: true,
            want: plus(&[
                ("key_private", "private value"),
                ("key_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ]),
            ..case("Underscore sanitization enabled - prepends key_ to labels starting with single _")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["_private"]),
            preserve_multiple_underscores: true,
            want: plus(&[
                ("_private", "private value"),
                ("_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ]),
            ..case("Underscore sanitization disabled - keeps labels with _ as-is")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["label___multi"]),
            preserve_multiple_underscores: true,
            want: plus(&[
                ("label___multi", "multi value"),
                ("_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ]),
            ..case("Multiple underscores preserved - keeps consecutive underscores")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["label___multi"]),
            want: plus(&[
                ("label_multi", "multi value"),
                ("_metric_private", "private metric"),
                ("metric_multi", "multi metric"),
            ]),
            ..case("Multiple underscores collapsed - collapses to single underscore")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["_private", "label___multi"]),
            underscore_sanitization: true,
            preserve_multiple_underscores: true,
            want: plus(&[
                ("key_private", "private value"),
                ("label___multi", "multi value"),
                ("key_metric_private", "private metric"),
                ("metric___multi", "multi metric"),
            ]),
            ..case("Both sanitization options enabled")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["_private", "label___multi"]),
            want: plus(&[
                ("_private", "private value"),
                ("label_multi", "multi value"),
                ("_metric_private", "private metric"),
                ("metric_multi", "multi metric"),
            ]),
            ..case("Both sanitization options disabled")
        },
        Case {
            resource: &resource_underscores,
            attrs: &attrs_underscores,
            promote: promote(false, &["__reserved__"]),
            underscore_sanitization: true,
            want: plus(&[
                ("__reserved__", "reserved value"),
                ("key_metric_private", "private metric"),
                ("metric_multi", "multi metric"),
            ]),
            ..case("Reserved labels (starting with __) are never modified")
        },
        Case {
            ignore: &["__name__"],
            want: plus(&metric_attrs),
            ..case("__name__ attribute is filtered when passed in ignoreAttrs")
        },
        Case {
            attrs: &colliding,
            want: plus(&[("a_b", "1;2")]),
            collisions: vec![collision_ab],
            ..case("Attributes colliding after sanitization are concatenated and recorded as a warning")
        },
        Case {
            attrs: &triple,
            want: plus(&[("a_b", "1;2;3")]),
            collisions: vec!["OTLP data point attributes \"a-b\", \"a.b\", \"a_b\" collide as label \"a_b\" after name sanitization, values are concatenated with ';'"],
            ..case("Three colliding attributes report all names in concatenation order")
        },
        Case {
            attrs: &two_groups,
            want: plus(&[("a_b", "1;2"), ("c_d", "3;4")]),
            collisions: vec![
                collision_ab,
                "OTLP data point attributes \"c.d\", \"c_d\" collide as label \"c_d\" after name sanitization, values are concatenated with ';'",
            ],
            ..case("Multiple independent collision groups each produce a distinct warning")
        },
        Case {
            attrs: &with_unrelated,
            want: plus(&[("a_b", "1;2"), ("unrelated", "9")]),
            collisions: vec![collision_ab],
            ..case("Attributes not participating in a collision are excluded from the warning")
        },
    ];
    assert_eq!(cases.len(), 22);
    for c in cases {
        let settings = Settings {
            promote_resource_attributes: c.promote.clone(),
            promote_scope_metadata: c.promote_scope,
            label_name_underscore_sanitization: c.underscore_sanitization,
            label_name_preserve_multiple_underscores: c.preserve_multiple_underscores,
            ..Settings::default()
        };
        let mut converter = Converter::new(&settings);
        converter.set_resource_context(c.resource).unwrap();
        converter.set_scope_context(c.scope).unwrap();
        let got = converter
            .labels(c.attrs, c.ignore, true, &[("__name__", "test_metric")])
            .unwrap()
            .build();
        assert_eq!(got, lbls(&c.want), "{}", c.name);
        let collisions: Vec<&str> = converter
            .collision_warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(collisions, c.collisions, "{}", c.name);
    }
}

/// `__name__ attribute in OTLP data is filtered`.
#[test]
fn name_attribute_is_filtered() {
    let t = translate(
        &request(vec![(
            vec![
                kv("service.name", "test-service"),
                kv("service.instance.id", "test-instance"),
            ],
            vec![scope_metrics(vec![gauge(
                "correct_metric_name",
                vec![number_point(
                    NOW_NS,
                    NumberValue::AsInt(1),
                    vec![
                        kv("__name__", "wrong_metric_name"),
                        kv("other_attr", "value"),
                    ],
                )],
            )])],
        )]),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(
        t.samples[0].0,
        lbls(&[
            ("__name__", "correct_metric_name"),
            ("instance", "test-instance"),
            ("job", "test-service"),
            ("other_attr", "value"),
        ])
    );
}

/// `Test_convertTimeStamp`.
#[test]
fn convert_timestamp() {
    assert_eq!(ms(0), 0);
    assert_eq!(ms(1_000_000), 1);
    assert_eq!(ms(1_000_000_000), 1000);
}

/// `TestPrometheusConverter_addGaugeNumberDataPoints` and `_addSumNumberDataPoints`.
#[test]
fn number_data_points() {
    let t_ms = ms(NOW_NS);
    let cumulative = AGGREGATION_TEMPORALITY_CUMULATIVE;
    // (case, metric, scope promotion, expected labels, value, start timestamp)
    type Case = (
        &'static str,
        Metric,
        bool,
        Vec<(&'static str, &'static str)>,
        f64,
        i64,
    );
    let cases: Vec<Case> = vec![
        (
            "gauge without scope promotion",
            gauge(
                "test",
                vec![number_point(NOW_NS, NumberValue::AsInt(1), vec![])],
            ),
            false,
            vec![("__name__", "test")],
            1.0,
            0,
        ),
        (
            "gauge with scope promotion",
            gauge(
                "test",
                vec![number_point(NOW_NS, NumberValue::AsInt(1), vec![])],
            ),
            true,
            with_scope(&[("__name__", "test")]),
            1.0,
            0,
        ),
        (
            "sum without scope promotion",
            sum(
                "test",
                cumulative,
                false,
                vec![number_point(NOW_NS, NumberValue::AsInt(1), vec![])],
            ),
            false,
            vec![("__name__", "test")],
            1.0,
            0,
        ),
        (
            "sum with scope promotion",
            sum(
                "test",
                cumulative,
                false,
                vec![number_point(NOW_NS, NumberValue::AsInt(1), vec![])],
            ),
            true,
            with_scope(&[("__name__", "test")]),
            1.0,
            0,
        ),
        (
            "monotonic cumulative sum with start timestamp and without scope promotion",
            sum(
                "test_sum",
                cumulative,
                true,
                vec![NumberDataPoint {
                    start_time_unix_nano: NOW_NS,
                    ..number_point(NOW_NS, NumberValue::AsDouble(1.0), vec![])
                }],
            ),
            false,
            vec![("__name__", "test_sum")],
            1.0,
            t_ms,
        ),
        (
            "monotonic cumulative sum with no start time and without scope promotion",
            sum(
                "test_sum",
                cumulative,
                true,
                vec![NumberDataPoint {
                    value: None,
                    ..number_point(NOW_NS, NumberValue::AsInt(0), vec![])
                }],
            ),
            false,
            vec![("__name__", "test_sum")],
            0.0,
            0,
        ),
        (
            "non-monotonic cumulative sum with start time and without scope promotion",
            sum(
                "test_sum",
                cumulative,
                false,
                vec![NumberDataPoint {
                    value: None,
                    ..number_point(NOW_NS, NumberValue::AsInt(0), vec![])
                }],
            ),
            false,
            vec![("__name__", "test_sum")],
            0.0,
            0,
        ),
    ];
    for (name, m, promote_scope, want, value, st) in cases {
        let settings = Settings {
            promote_scope_metadata: promote_scope,
            ..Settings::default()
        };
        let mut sm = default_scope();
        sm.metrics = vec![m];
        let t = translate(&request(vec![(vec![], vec![sm])]), &settings).unwrap();
        assert!(t.errors.is_empty(), "{name}: {:?}", t.errors);
        assert_eq!(samples(&t), vec![(lbls(&want), t_ms, value, st)], "{name}");
    }
}

/// `TestPrometheusConverter_AddSummaryDataPoints`.
#[test]
fn summary_data_points() {
    let t_ms = ms(NOW_NS);
    let point = |start: u64| SummaryDataPoint {
        attributes: vec![],
        start_time_unix_nano: start,
        time_unix_nano: NOW_NS,
        count: 0,
        sum: 0.0,
        quantile_values: vec![],
        flags: 0,
    };
    let with_quantiles = SummaryDataPoint {
        count: 50,
        sum: 100.0,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 30.0,
            },
            ValueAtQuantile {
                quantile: 0.9,
                value: 40.0,
            },
        ],
        ..point(0)
    };
    // (case, point, scope promotion, expected series: labels, value, start timestamp)
    type Series = (Vec<(&'static str, &'static str)>, f64, i64);
    type Case = (&'static str, SummaryDataPoint, bool, Vec<Series>);
    let cases: Vec<Case> = vec![
        (
            "summary with start time and without scope promotion",
            point(NOW_NS),
            false,
            vec![
                (vec![("__name__", "test_summary_sum")], 0.0, t_ms),
                (vec![("__name__", "test_summary_count")], 0.0, t_ms),
            ],
        ),
        (
            "summary with start time and with scope promotion",
            point(NOW_NS),
            true,
            vec![
                (with_scope(&[("__name__", "test_summary_sum")]), 0.0, t_ms),
                (with_scope(&[("__name__", "test_summary_count")]), 0.0, t_ms),
            ],
        ),
        (
            "summary without start time and without scope promotion",
            point(0),
            false,
            vec![
                (vec![("__name__", "test_summary_sum")], 0.0, 0),
                (vec![("__name__", "test_summary_count")], 0.0, 0),
            ],
        ),
        (
            "summary without start time and without scope promotion and some quantiles",
            with_quantiles,
            false,
            vec![
                (vec![("__name__", "test_summary_sum")], 100.0, 0),
                (vec![("__name__", "test_summary_count")], 50.0, 0),
                (
                    vec![("__name__", "test_summary"), ("quantile", "0.5")],
                    30.0,
                    0,
                ),
                (
                    vec![("__name__", "test_summary"), ("quantile", "0.9")],
                    40.0,
                    0,
                ),
            ],
        ),
    ];
    for (name, p, promote_scope, want) in cases {
        let settings = Settings {
            promote_scope_metadata: promote_scope,
            ..Settings::default()
        };
        let mut sm = default_scope();
        sm.metrics = vec![metric(
            "test_summary",
            MetricData::Summary(Summary {
                data_points: vec![p],
            }),
        )];
        let t = translate(&request(vec![(vec![], vec![sm])]), &settings).unwrap();
        let want: Vec<_> = want
            .into_iter()
            .map(|(l, v, st)| (lbls(&l), t_ms, v, st))
            .collect();
        assert_eq!(samples(&t), want, "{name}");
    }
}

/// `TestPrometheusConverter_AddHistogramDataPoints`: a point without a sum has no `_sum`.
#[test]
fn histogram_data_points() {
    let t_ms = ms(NOW_NS);
    let point = |start: u64| HistogramDataPoint {
        attributes: vec![],
        start_time_unix_nano: start,
        time_unix_nano: NOW_NS,
        count: 0,
        sum: None,
        bucket_counts: vec![],
        explicit_bounds: vec![],
        exemplars: vec![],
        flags: 0,
    };
    let cases = vec![
        (
            "histogram with start time and without scope promotion",
            point(NOW_NS),
            false,
            t_ms,
        ),
        (
            "histogram with start time and with scope promotion",
            point(NOW_NS),
            true,
            t_ms,
        ),
        ("histogram without start time", point(0), false, 0),
    ];
    for (name, p, promote_scope, st) in cases {
        let settings = Settings {
            promote_scope_metadata: promote_scope,
            ..Settings::default()
        };
        let mut sm = default_scope();
        sm.metrics = vec![metric(
            "test_hist",
            MetricData::Histogram(Histogram {
                data_points: vec![p],
                aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
            }),
        )];
        let t = translate(&request(vec![(vec![], vec![sm])]), &settings).unwrap();
        let scoped = |pairs: &[(&'static str, &'static str)]| {
            if promote_scope {
                lbls(&with_scope(pairs))
            } else {
                lbls(pairs)
            }
        };
        assert_eq!(
            samples(&t),
            vec![
                (scoped(&[("__name__", "test_hist_count")]), t_ms, 0.0, st),
                (
                    scoped(&[("__name__", "test_hist_bucket"), ("le", "+Inf")]),
                    t_ms,
                    0.0,
                    st
                ),
            ],
            "{name}"
        );
    }
}

/// `TestTemporality`'s inputs.
fn temporality_sum(name: &str, temporality: i32) -> Metric {
    sum(
        name,
        temporality,
        true,
        vec![number_point(
            100_000_000_000,
            NumberValue::AsDouble(5.0),
            vec![kv("test_label", "test_value")],
        )],
    )
}

fn temporality_exponential(name: &str, temporality: i32) -> Metric {
    metric(
        name,
        MetricData::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: vec![kv("test_label", "test_value")],
                time_unix_nano: 100_000_000_000,
                scale: 0,
                ..Default::default()
            }],
            aggregation_temporality: temporality,
        }),
    )
}

fn temporality_explicit(name: &str, temporality: i32) -> Metric {
    metric(
        name,
        MetricData::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![kv("test_label", "test_value")],
                start_time_unix_nano: 0,
                time_unix_nano: 100_000_000_000,
                count: 20,
                sum: Some(30.0),
                bucket_counts: vec![10, 10, 0],
                explicit_bounds: vec![1.0, 2.0],
                exemplars: vec![],
                flags: 0,
            }],
            aggregation_temporality: temporality,
        }),
    )
}

fn float_series(name: &str) -> Vec<(Labels, i64, f64, i64)> {
    vec![(
        lbls(&[("__name__", name), ("test_label", "test_value")]),
        100_000,
        5.0,
        0,
    )]
}

fn classic_series(name: &str) -> Vec<(Labels, i64, f64, i64)> {
    let s = |n: String, le: Option<&str>, v: f64| {
        let mut pairs = vec![("__name__", n.as_str()), ("test_label", "test_value")];
        if let Some(le) = le {
            pairs.push(("le", le));
        }
        (lbls(&pairs), 100_000, v, 0)
    };
    vec![
        s(format!("{name}_sum"), None, 30.0),
        s(format!("{name}_count"), None, 20.0),
        s(format!("{name}_bucket"), Some("1"), 10.0),
        s(format!("{name}_bucket"), Some("2"), 20.0),
        s(format!("{name}_bucket"), Some("+Inf"), 20.0),
    ]
}

fn summary_series(name: &str) -> Vec<(Labels, i64, f64, i64)> {
    let s = |n: String, q: Option<&str>, v: f64| {
        let mut pairs = vec![("__name__", n.as_str()), ("test_label", "test_value")];
        if let Some(q) = q {
            pairs.push(("quantile", q));
        }
        (lbls(&pairs), 100_000, v, 0)
    };
    vec![
        s(format!("{name}_sum"), None, 18.0),
        s(format!("{name}_count"), None, 9.0),
        s(name.to_string(), Some("0.5"), 2.0),
    ]
}

/// `TestTemporality` (the NHCB cases need native histograms and are left out; native
/// histogram samples are counted as rejected points).
#[test]
fn temporality() {
    const DELTA: i32 = AGGREGATION_TEMPORALITY_DELTA;
    const CUMULATIVE: i32 = AGGREGATION_TEMPORALITY_CUMULATIVE;
    const UNSPECIFIED: i32 = AGGREGATION_TEMPORALITY_UNSPECIFIED;
    let summary = metric(
        "test_summary_1",
        MetricData::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: vec![kv("test_label", "test_value")],
                start_time_unix_nano: 0,
                time_unix_nano: 100_000_000_000,
                count: 9,
                sum: 18.0,
                quantile_values: vec![ValueAtQuantile {
                    quantile: 0.5,
                    value: 2.0,
                }],
                flags: 0,
            }],
        }),
    );
    let gauge_1 = gauge(
        "test_gauge_1",
        vec![number_point(
            100_000_000_000,
            NumberValue::AsDouble(5.0),
            vec![kv("test_label", "test_value")],
        )],
    );
    let empty = Metric {
        data: None,
        ..gauge("test_empty", vec![])
    };
    // (case, delta allowed, input, expected series, native histogram points, error)
    type Case = (
        &'static str,
        bool,
        Vec<Metric>,
        Vec<(Labels, i64, f64, i64)>,
        usize,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "all cumulative when delta not allowed",
            false,
            vec![
                temporality_sum("test_metric_1", CUMULATIVE),
                temporality_sum("test_metric_2", CUMULATIVE),
            ],
            [float_series("test_metric_1"), float_series("test_metric_2")].concat(),
            0,
            "",
        ),
        (
            "all delta when allowed",
            true,
            vec![
                temporality_sum("test_metric_1", DELTA),
                temporality_sum("test_metric_2", DELTA),
            ],
            [float_series("test_metric_1"), float_series("test_metric_2")].concat(),
            0,
            "",
        ),
        (
            "mixed temporality when delta allowed",
            true,
            vec![
                temporality_sum("test_metric_1", DELTA),
                temporality_sum("test_metric_2", CUMULATIVE),
            ],
            [float_series("test_metric_1"), float_series("test_metric_2")].concat(),
            0,
            "",
        ),
        (
            "delta rejected when not allowed",
            false,
            vec![
                temporality_sum("test_metric_1", CUMULATIVE),
                temporality_sum("test_metric_2", DELTA),
            ],
            float_series("test_metric_1"),
            0,
            "invalid temporality and type combination for metric \"test_metric_2\"",
        ),
        (
            "unspecified temporality not allowed",
            true,
            vec![
                temporality_sum("test_metric_1", CUMULATIVE),
                temporality_sum("test_metric_2", UNSPECIFIED),
            ],
            float_series("test_metric_1"),
            0,
            "invalid temporality and type combination for metric \"test_metric_2\"",
        ),
        (
            "cumulative histogram",
            false,
            vec![temporality_exponential("test_histogram", CUMULATIVE)],
            vec![],
            1,
            "",
        ),
        (
            "delta histogram when allowed",
            true,
            vec![
                temporality_exponential("test_histogram_1", DELTA),
                temporality_exponential("test_histogram_2", CUMULATIVE),
            ],
            vec![],
            2,
            "",
        ),
        (
            "delta histogram when not allowed",
            false,
            vec![
                temporality_exponential("test_histogram_1", DELTA),
                temporality_exponential("test_histogram_2", CUMULATIVE),
            ],
            vec![],
            1,
            "invalid temporality and type combination for metric \"test_histogram_1\"",
        ),
        (
            "delta histogram with buckets and convertToNHCB=false when not allowed",
            false,
            vec![
                temporality_explicit("test_histogram_1", DELTA),
                temporality_explicit("test_histogram_2", CUMULATIVE),
            ],
            classic_series("test_histogram_2"),
            0,
            "invalid temporality and type combination for metric \"test_histogram_1\"",
        ),
        (
            "delta histogram with buckets and convertToNHCB=false when allowed",
            true,
            vec![
                temporality_explicit("test_histogram_1", DELTA),
                temporality_explicit("test_histogram_2", CUMULATIVE),
            ],
            [
                classic_series("test_histogram_1"),
                classic_series("test_histogram_2"),
            ]
            .concat(),
            0,
            "",
        ),
        (
            "summary does not have temporality",
            false,
            vec![summary],
            summary_series("test_summary_1"),
            0,
            "",
        ),
        (
            "gauge does not have temporality",
            false,
            vec![gauge_1],
            float_series("test_gauge_1"),
            0,
            "",
        ),
        (
            "empty metric type errors",
            false,
            vec![empty],
            vec![],
            0,
            "could not get aggregation temporality for test_empty as it has unsupported metric type Empty",
        ),
    ];
    for (name, allow_delta, metrics, want, native, error) in cases {
        let settings = Settings {
            allow_delta_temporality: allow_delta,
            ..Settings::default()
        };
        let t = translate(&single(metrics), &settings).unwrap();
        assert_eq!(samples(&t), want, "{name}");
        assert_eq!(t.histograms.len(), native, "{name}");
        let want_errors: Vec<&str> = if error.is_empty() {
            vec![]
        } else {
            vec![error]
        };
        assert_eq!(t.errors, want_errors, "{name}");
    }
}

/// `empty data points are surfaced as warnings`.
#[test]
fn empty_data_points_are_warnings() {
    let cumulative = AGGREGATION_TEMPORALITY_CUMULATIVE;
    for data in [
        MetricData::Gauge(Gauge::default()),
        MetricData::Sum(Sum {
            aggregation_temporality: cumulative,
            ..Sum::default()
        }),
        MetricData::Histogram(Histogram {
            aggregation_temporality: cumulative,
            ..Histogram::default()
        }),
        MetricData::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: cumulative,
            ..ExponentialHistogram::default()
        }),
        MetricData::Summary(Summary::default()),
    ] {
        let t = translate(
            &single(vec![metric("test_empty", data)]),
            &Settings::default(),
        )
        .unwrap();
        assert!(t.errors.is_empty());
        assert_eq!(
            t.warnings,
            vec![Warning {
                category: WarningCategory::EmptyDataPoints,
                message: "empty data points. test_empty is dropped".into(),
            }]
        );
    }
}

fn gauge_with_attributes(attributes: Vec<Vec<KeyValue>>) -> Metric {
    gauge(
        "test_gauge",
        attributes
            .into_iter()
            .enumerate()
            .map(|(i, a)| number_point(NOW_NS, NumberValue::AsInt(i as i64), a))
            .collect(),
    )
}

/// The collision warnings of `TestFromMetrics`.
#[test]
fn collisions_are_warnings() {
    let ab = "OTLP data point attributes \"a.b\", \"a_b\" collide as label \"a_b\" after name sanitization, values are concatenated with ';'";
    // attribute collision is surfaced as a warning
    let t = translate(
        &single(vec![gauge_with_attributes(vec![vec![
            kv("a.b", "x"),
            kv("a_b", "y"),
        ]])]),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(warning_messages(&t), vec![ab]);
    assert_eq!(t.warnings[0].category, WarningCategory::LabelNameCollision);
    // resource attribute collision is surfaced as a warning
    let t = translate(
        &request(vec![(
            vec![kv("k8s.pod.name", "foo"), kv("k8s_pod_name", "bar")],
            vec![scope_metrics(vec![gauge_with_attributes(vec![vec![]])])],
        )]),
        &Settings::default(),
    )
    .unwrap();
    assert!(warning_messages(&t).contains(&"OTLP resource attributes \"k8s.pod.name\", \"k8s_pod_name\" collide as label \"k8s_pod_name\" after name sanitization, values are concatenated with ';'"));
    // repeated collision across data points is recorded once
    let t = translate(
        &single(vec![gauge_with_attributes(vec![
            vec![kv("a.b", "x"), kv("a_b", "y")],
            vec![kv("a.b", "x"), kv("a_b", "z")],
        ])]),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(warning_messages(&t), vec![ab]);
    // no collision warning when UTF-8 is allowed
    let utf8 = Settings {
        allow_utf8: true,
        ..Settings::default()
    };
    let t = translate(
        &single(vec![gauge_with_attributes(vec![vec![
            kv("a.b", "x"),
            kv("a_b", "y"),
        ]])]),
        &utf8,
    )
    .unwrap();
    assert!(t.warnings.is_empty());
    assert_eq!(t.samples[0].0.get("a.b"), Some("x"));
}

const LOOKBACK_MS: i64 = 5 * 60 * 1000;
const LOOKBACK_NS: u64 = LOOKBACK_MS as u64 * 1_000_000;

fn service(namespace: bool) -> Vec<KeyValue> {
    let mut attrs = vec![
        kv("service.name", "test-service"),
        kv("service.instance.id", "id1234"),
    ];
    if namespace {
        attrs.push(kv("service.namespace", "test-namespace"));
    }
    attrs
}

/// `generateAttributes(m, prefix, n)`: `<prefix>-name-<i>` = `value-<i>`.
fn generated(prefix: &str, n: usize) -> Vec<KeyValue> {
    (1..=n)
        .map(|i| kv(&format!("{prefix}-name-{i}"), &format!("value-{i}")))
        .collect()
}

fn target_info_samples(t: &Translation) -> Vec<(Labels, i64, f64, i64)> {
    samples(t)
        .into_iter()
        .filter(|s| s.0.metric_name() == Some("target_info"))
        .collect()
}

/// `target_info's samples starts at the earliest metric sample timestamp and ends at the
/// latest sample timestamp of the corresponding resource, with one sample every lookback
/// delta/2 timestamps between`.
#[test]
fn target_info_spans_the_resource_points() {
    let mut resource = generated("resource", 5);
    resource.extend(service(true));
    let metrics = (1..=3)
        .map(|i| {
            let mut m = gauge(
                &format!("gauge-{i}"),
                (0..6)
                    .map(|k| {
                        number_point(
                            NOW_NS + k * LOOKBACK_NS / 4,
                            NumberValue::AsDouble(1.23),
                            generated("series", 2),
                        )
                    })
                    .collect(),
            );
            m.unit = "unit".into();
            m.description = "gauge".into();
            m
        })
        .collect();
    let settings = Settings {
        lookback_delta_ms: LOOKBACK_MS,
        ..Settings::default()
    };
    let t = translate(
        &request(vec![(resource, vec![scope_metrics(metrics)])]),
        &settings,
    )
    .unwrap();
    assert!(t.errors.is_empty() && t.warnings.is_empty());
    assert_eq!(t.samples.len(), 22);
    let info = lbls(&[
        ("__name__", "target_info"),
        ("instance", "id1234"),
        ("job", "test-namespace/test-service"),
        ("resource_name_1", "value-1"),
        ("resource_name_2", "value-2"),
        ("resource_name_3", "value-3"),
        ("resource_name_4", "value-4"),
        ("resource_name_5", "value-5"),
    ]);
    let at = |offset_ns: u64| (info.clone(), ms(NOW_NS + offset_ns), 1.0, 0);
    assert_eq!(
        samples(&t)[18..].to_vec(),
        vec![
            at(0),
            at(LOOKBACK_NS / 2),
            at(LOOKBACK_NS),
            at(LOOKBACK_NS + LOOKBACK_NS / 4),
        ]
    );
    // The series themselves: escaped names, the points' attributes, job and instance.
    assert_eq!(
        t.samples[0].0,
        lbls(&[
            ("__name__", "gauge_1"),
            ("instance", "id1234"),
            ("job", "test-namespace/test-service"),
            ("series_name_1", "value-1"),
            ("series_name_2", "value-2"),
        ])
    );
}

/// `target_info deduplication across multiple resources with same labels`.
#[test]
fn target_info_is_written_once_for_equal_resources() {
    let resource = || {
        let mut r = generated("resource", 3);
        r.extend(service(true));
        r
    };
    let metrics = || {
        vec![scope_metrics(vec![gauge(
            "gauge-1",
            vec![
                number_point(NOW_NS, NumberValue::AsDouble(1.23), generated("series", 1)),
                number_point(
                    NOW_NS + LOOKBACK_NS / 2,
                    NumberValue::AsDouble(2.34),
                    generated("series", 1),
                ),
            ],
        )])]
    };
    let settings = Settings {
        lookback_delta_ms: LOOKBACK_MS,
        ..Settings::default()
    };
    let t = translate(
        &request(vec![(resource(), metrics()), (resource(), metrics())]),
        &settings,
    )
    .unwrap();
    let info = lbls(&[
        ("__name__", "target_info"),
        ("instance", "id1234"),
        ("job", "test-namespace/test-service"),
        ("resource_name_1", "value-1"),
        ("resource_name_2", "value-2"),
        ("resource_name_3", "value-3"),
    ]);
    assert_eq!(
        target_info_samples(&t),
        vec![
            (info.clone(), ms(NOW_NS), 1.0, 0),
            (info, ms(NOW_NS + LOOKBACK_NS / 2), 1.0, 0),
        ]
    );
}

/// `target_info should not include scope labels when PromoteScopeMetadata is enabled`,
/// `... should include promoted resource attributes`, and `... when
/// KeepIdentifyingResourceAttributes is enabled`.
#[test]
fn target_info_labels() {
    let one_gauge = || {
        vec![gauge(
            "test_gauge",
            vec![number_point(NOW_NS, NumberValue::AsDouble(1.0), vec![])],
        )]
    };
    let mut resource = vec![
        kv("service.name", "test-service"),
        kv("service.instance.id", "instance-1"),
    ];
    resource.extend(generated("resource", 2));
    let scoped = ScopeMetrics {
        scope: Some(InstrumentationScope {
            name: "my-scope".into(),
            version: "1.0.0".into(),
            attributes: vec![kv("scope-attr", "scope-value")],
        }),
        metrics: one_gauge(),
        schema_url: String::new(),
    };
    let settings = Settings {
        promote_scope_metadata: true,
        lookback_delta_ms: LOOKBACK_MS,
        ..Settings::default()
    };
    let t = translate(&request(vec![(resource, vec![scoped])]), &settings).unwrap();
    assert!(t.errors.is_empty() && t.warnings.is_empty());
    let info = target_info_samples(&t);
    assert!(!info.is_empty());
    for (l, ..) in &info {
        assert!(l.iter().all(|l| !l.name.starts_with("otel_scope_")), "{l}");
    }
    assert_eq!(
        t.samples[0].0,
        lbls(&[
            ("__name__", "test_gauge"),
            ("instance", "instance-1"),
            ("job", "test-service"),
            ("otel_scope_name", "my-scope"),
            ("otel_scope_scope_attr", "scope-value"),
            ("otel_scope_version", "1.0.0"),
        ])
    );

    for keep_identifying in [false, true] {
        let resource = vec![
            kv("service.name", "test-service"),
            kv("service.namespace", "test-namespace"),
            kv("service.instance.id", "instance-1"),
            kv("custom.promoted.attr", "promoted-value"),
            kv("another.resource.attr", "another-value"),
        ];
        let settings = Settings {
            promote_resource_attributes: promote(false, &["custom.promoted.attr"]),
            keep_identifying_resource_attributes: keep_identifying,
            lookback_delta_ms: LOOKBACK_MS,
            ..Settings::default()
        };
        let t = translate(
            &request(vec![(resource, vec![scope_metrics(one_gauge())])]),
            &settings,
        )
        .unwrap();
        let mut want = vec![
            ("__name__", "target_info"),
            ("another_resource_attr", "another-value"),
            ("custom_promoted_attr", "promoted-value"),
            ("instance", "instance-1"),
            ("job", "test-namespace/test-service"),
        ];
        if keep_identifying {
            want.extend([
                ("service_instance_id", "instance-1"),
                ("service_name", "test-service"),
                ("service_namespace", "test-namespace"),
            ]);
        }
        assert_eq!(
            target_info_samples(&t),
            vec![(lbls(&want), ms(NOW_NS), 1.0, 0)]
        );
        assert_eq!(
            t.samples[0].0.get("custom_promoted_attr"),
            Some("promoted-value")
        );
    }
}

/// `TestOTLPWriteHandler`'s request (a counter, a gauge, a histogram and an exponential
/// histogram of unit `By`, resource `service.name`, `service.instance.id`, `host.name`,
/// attribute `foo.bar`) under each translation strategy: the series' labels in order.
#[test]
fn translation_strategies() {
    let ts = NOW_NS;
    let st = NOW_NS - 1_000_000;
    let attrs = || vec![kv("foo.bar", "baz")];
    let with_unit = |mut m: Metric| {
        m.unit = "By".into();
        m
    };
    let counter = sum(
        "test.counter",
        AGGREGATION_TEMPORALITY_CUMULATIVE,
        true,
        vec![NumberDataPoint {
            start_time_unix_nano: st,
            ..number_point(ts, NumberValue::AsDouble(10.0), attrs())
        }],
    );
    let gauge_metric = gauge(
        "test.gauge",
        vec![NumberDataPoint {
            start_time_unix_nano: st,
            ..number_point(ts, NumberValue::AsDouble(10.0), attrs())
        }],
    );
    let histogram = metric(
        "test.histogram",
        MetricData::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: attrs(),
                start_time_unix_nano: st,
                time_unix_nano: ts,
                count: 12,
                sum: Some(30.0),
                bucket_counts: vec![2, 2, 2, 2, 2, 2],
                explicit_bounds: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
                exemplars: vec![],
                flags: 0,
            }],
            aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
        }),
    );
    let exponential = metric(
        "test.exponential.histogram",
        MetricData::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: attrs(),
                time_unix_nano: ts,
                scale: 2,
                ..Default::default()
            }],
            aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
        }),
    );
    let req = request(vec![(
        vec![
            kv("service.name", "test-service"),
            kv("service.instance.id", "test-instance"),
            kv("host.name", "test-host"),
        ],
        vec![scope_metrics(
            [counter, gauge_metric, histogram, exponential]
                .into_iter()
                .map(with_unit)
                .collect(),
        )],
    )]);
    // Values and start timestamps as upstream expects them (exponential histogram aside).
    let values = [10.0, 10.0, 30.0, 12.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 12.0];
    for (strategy, names, attribute, host) in [
        (
            "NoTranslation",
            ["test.counter", "test.gauge", "test.histogram"],
            "foo.bar",
            "host.name",
        ),
        (
            "UnderscoreEscapingWithSuffixes",
            [
                "test_counter_bytes_total",
                "test_gauge_bytes",
                "test_histogram_bytes",
            ],
            "foo_bar",
            "host_name",
        ),
        (
            "UnderscoreEscapingWithoutSuffixes",
            ["test_counter", "test_gauge", "test_histogram"],
            "foo_bar",
            "host_name",
        ),
        (
            "NoUTF8EscapingWithSuffixes",
            [
                "test.counter_bytes_total",
                "test.gauge_bytes",
                "test.histogram_bytes",
            ],
            "foo.bar",
            "host.name",
        ),
    ] {
        let config = promconfig::OtlpConfig {
            translation_strategy: strategy.into(),
            ..promconfig::OtlpConfig::defaults()
        };
        let t = translate(&req, &Settings::from_config(&config, false, LOOKBACK_MS)).unwrap();
        assert!(t.errors.is_empty(), "{strategy}: {:?}", t.errors);
        assert_eq!(t.histograms.len(), 1, "{strategy}");
        let series = |name: String, le: Option<&str>| {
            let mut pairs = vec![
                ("__name__", name),
                (attribute, "baz".to_string()),
                ("instance", "test-instance".to_string()),
                ("job", "test-service".to_string()),
            ];
            if let Some(le) = le {
                pairs.push(("le", le.to_string()));
            }
            Labels::from_pairs(pairs)
        };
        let h = names[2];
        let mut want: Vec<Labels> = vec![
            series(names[0].into(), None),
            series(names[1].into(), None),
            series(format!("{h}_sum"), None),
            series(format!("{h}_count"), None),
        ];
        for le in ["0", "1", "2", "3", "4", "5", "+Inf"] {
            want.push(series(format!("{h}_bucket"), Some(le)));
        }
        want.push(lbls(&[
            ("__name__", "target_info"),
            (host, "test-host"),
            ("instance", "test-instance"),
            ("job", "test-service"),
        ]));
        let got: Vec<Labels> = t.samples.iter().map(|s| s.0.clone()).collect();
        assert_eq!(got, want, "{strategy}");
        for (i, v) in values.iter().enumerate() {
            assert_eq!(t.samples[i].1, ms(ts), "{strategy}");
            assert_eq!(t.samples[i].2, *v, "{strategy} sample {i}");
            assert_eq!(t.start_timestamps[i], ms(st), "{strategy} sample {i}");
        }
        assert_eq!(t.samples[11].2, 1.0);
        assert_eq!(t.start_timestamps[11], 0);
    }
}

/// What promethium adds to upstream's cases: staleness, the bounds of output and
/// `target_info`, errors that stop one metric only, and prometheus.yml's defaults.
#[test]
fn stale_points_and_limits() {
    // NoRecordedValue: every series of the point gets the staleness marker.
    let stale = NumberDataPoint {
        flags: FLAG_NO_RECORDED_VALUE,
        ..number_point(NOW_NS, NumberValue::AsDouble(3.0), vec![])
    };
    let stale_histogram = HistogramDataPoint {
        attributes: vec![],
        start_time_unix_nano: 0,
        time_unix_nano: NOW_NS,
        count: 2,
        sum: Some(1.0),
        bucket_counts: vec![1, 1],
        explicit_bounds: vec![0.5],
        exemplars: vec![],
        flags: FLAG_NO_RECORDED_VALUE,
    };
    let t = translate(
        &single(vec![
            gauge("g", vec![stale]),
            metric(
                "h",
                MetricData::Histogram(Histogram {
                    data_points: vec![stale_histogram],
                    aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
                }),
            ),
        ]),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(t.samples.len(), 5);
    assert!(t.samples.iter().all(|s| model::is_stale_nan(s.2)));

    // A point stamped at 0 beside one stamped now: only the newest target_info grid
    // points are written.
    let mut resource = service(false);
    resource.push(kv("extra", "x"));
    let t = translate(
        &request(vec![(
            resource,
            vec![scope_metrics(vec![gauge(
                "g",
                vec![
                    number_point(0, NumberValue::AsInt(1), vec![]),
                    number_point(NOW_NS, NumberValue::AsInt(1), vec![]),
                ],
            )])],
        )]),
        &Settings::default(),
    )
    .unwrap();
    let info = target_info_samples(&t);
    assert_eq!(info.len() as i64, MAX_TARGET_INFO_SAMPLES);
    assert_eq!(info.last().map(|s| s.1), Some(ms(NOW_NS)));
    assert!(info.windows(2).all(|w| w[1].1 > w[0].1));

    // A histogram asking for more series text than the limit is refused whole.
    let huge_value = "x".repeat(1 << 20);
    let bounds: Vec<f64> = (0..1000).map(f64::from).collect();
    let big = metric(
        "h",
        MetricData::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![kv("big", &huge_value)],
                start_time_unix_nano: 0,
                time_unix_nano: NOW_NS,
                count: 0,
                sum: None,
                bucket_counts: vec![0; 1000],
                explicit_bounds: bounds,
                exemplars: vec![],
                flags: 0,
            }],
            aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
        }),
    );
    assert_eq!(
        translate(&single(vec![big]), &Settings::default()).unwrap_err(),
        TooLarge
    );

    // A label name that cannot be made fails its metric; the next metric is translated.
    let t = translate(
        &single(vec![
            gauge(
                "bad",
                vec![number_point(
                    NOW_NS,
                    NumberValue::AsInt(1),
                    vec![kv("ようこそ", "v")],
                )],
            ),
            gauge(
                "good",
                vec![number_point(NOW_NS, NumberValue::AsInt(1), vec![])],
            ),
        ]),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(
        t.errors,
        vec!["normalization for label name \"ようこそ\" resulted in invalid name \"_\""]
    );
    assert_eq!(t.samples.len(), 1);
    assert_eq!(t.samples[0].0.metric_name(), Some("good"));

    // prometheus.yml's defaults: escaping with suffixes, `key` before a leading `_`,
    // runs of underscores kept.
    let config = promconfig::OtlpConfig::defaults();
    let t = translate(
        &single(vec![gauge(
            "memory.usage",
            vec![number_point(
                NOW_NS,
                NumberValue::AsInt(1),
                vec![kv("_private", "p"), kv("a__b", "c")],
            )],
        )]),
        &Settings::from_config(&config, false, 0),
    )
    .unwrap();
    assert_eq!(
        t.samples[0].0,
        lbls(&[
            ("__name__", "memory_usage"),
            ("a__b", "c"),
            ("key_private", "p")
        ])
    );
}

/// Upstream's `TestConvertBucketsLayout` cases (zero offset, offset 1, positive offset),
/// each at scale-downs 0, 1 and 2.
#[test]
fn exponential_bucket_layouts_as_upstream() {
    use model::histogram::Span;
    /// Per scale-down: the spans and deltas wanted.
    type Layouts = Vec<(i32, Vec<Span>, Vec<i64>)>;
    let cases: Vec<(i32, Vec<u64>, Layouts)> = vec![
        (
            0,
            vec![4, 3, 2, 1],
            vec![
                (0, vec![Span::new(1, 4)], vec![4, -1, -1, -1]),
                (1, vec![Span::new(1, 2)], vec![7, -4]),
                (2, vec![Span::new(1, 1)], vec![10]),
            ],
        ),
        (
            1,
            vec![4, 3, 2, 1],
            vec![
                (0, vec![Span::new(2, 4)], vec![4, -1, -1, -1]),
                (1, vec![Span::new(1, 3)], vec![4, 1, -4]),
                (2, vec![Span::new(1, 2)], vec![9, -8]),
            ],
        ),
        (
            4,
            vec![4, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![
                (
                    0,
                    vec![Span::new(5, 4), Span::new(12, 1)],
                    vec![4, -2, -2, 2, -1],
                ),
                (1, vec![Span::new(3, 2), Span::new(6, 1)], vec![6, -4, -1]),
            ],
        ),
    ];
    for (offset, counts, layouts) in cases {
        for (scale_down, spans, deltas) in layouts {
            assert_eq!(
                super::convert_buckets_layout(&counts, offset, scale_down),
                (spans, deltas),
                "offset {offset}, scale down {scale_down}"
            );
        }
    }
}

#[test]
fn exponential_points_become_native_histograms() {
    let point = ExponentialHistogramDataPoint {
        count: 11,
        sum: Some(7.5),
        scale: 10,
        zero_count: 1,
        positive: Some(crate::otlp::proto::Buckets {
            offset: 0,
            bucket_counts: vec![4, 3, 2, 1],
        }),
        ..Default::default()
    };
    // Scale 10 is brought down to 8 (four buckets merge into one).
    let h = super::exponential_to_native(&point, false).unwrap();
    assert_eq!(h.schema, 8);
    assert_eq!(h.positive_spans, vec![model::histogram::Span::new(1, 1)]);
    assert_eq!(h.positive_buckets, vec![10]);
    assert_eq!((h.count, h.zero_count, h.sum), (11, 1, 7.5));
    assert_eq!(
        h.counter_reset_hint,
        model::histogram::CounterResetHint::Unknown
    );
    assert!(h.validate().is_ok());
    // Delta temporality: a gauge histogram. No recorded value: a staleness marker.
    let delta = super::exponential_to_native(&point, true).unwrap();
    assert_eq!(
        delta.counter_reset_hint,
        model::histogram::CounterResetHint::Gauge
    );
    let stale = ExponentialHistogramDataPoint {
        flags: 1,
        ..point.clone()
    };
    assert!(model::is_stale_nan(
        super::exponential_to_native(&stale, false).unwrap().sum
    ));
    // Below scale -4: upstream's error.
    let coarse = ExponentialHistogramDataPoint { scale: -5, ..point };
    assert_eq!(
        super::exponential_to_native(&coarse, false).unwrap_err(),
        "cannot convert exponential to native histogram. Scale must be >= -4, was -5"
    );
}

/// Upstream's `getPromExemplars` (`TestGetPromExemplars`): ids in hex when not zero, the
/// filtered attributes only while everything fits in 128 characters, no timestamp for 0,
/// and a value-less exemplar an error.
#[test]
fn exemplars_as_upstream_makes_them() {
    let exemplar = |attributes: Vec<KeyValue>, t: u64, value: Option<ExemplarValue>| Exemplar {
        filtered_attributes: attributes,
        time_unix_nano: t,
        value,
        span_id: vec![0x0a; 8],
        trace_id: vec![0; 16],
    };
    let got = prom_exemplars(&[
        exemplar(
            vec![kv("user", "u1")],
            NOW_NS,
            Some(ExemplarValue::AsInt(7)),
        ),
        exemplar(
            vec![kv("big", &"x".repeat(120))],
            0,
            Some(ExemplarValue::AsDouble(0.5)),
        ),
    ])
    .unwrap();
    assert_eq!(
        got[0],
        model::Exemplar {
            labels: lbls(&[("span_id", "0a0a0a0a0a0a0a0a"), ("user", "u1")]),
            value: 7.0,
            timestamp_ms: (NOW_NS / 1_000_000) as i64,
            has_timestamp: true,
        }
    );
    // 16 + 7 + 3 + 120 characters: over 128, so the attribute is left out.
    assert_eq!(got[1].labels, lbls(&[("span_id", "0a0a0a0a0a0a0a0a")]));
    assert!(!got[1].has_timestamp);
    assert_eq!(
        prom_exemplars(&[exemplar(vec![], NOW_NS, None)]),
        Err("unsupported exemplar value type: Empty".to_string())
    );
}

/// A classic histogram's exemplars go with the first bucket whose bound holds them, the
/// rest with `+Inf`; a sum's with its series; a gauge's nowhere.
#[test]
fn exemplars_go_with_their_series() {
    let exemplar = |v: f64| Exemplar {
        value: Some(ExemplarValue::AsDouble(v)),
        time_unix_nano: NOW_NS,
        trace_id: vec![1; 16],
        ..Default::default()
    };
    let mut histogram = temporality_explicit("h", AGGREGATION_TEMPORALITY_CUMULATIVE);
    if let Some(MetricData::Histogram(h)) = &mut histogram.data {
        h.data_points[0].exemplars =
            vec![exemplar(0.5), exemplar(1.0), exemplar(1.5), exemplar(9.0)];
    }
    let number = |v: f64| NumberDataPoint {
        time_unix_nano: NOW_NS,
        value: Some(NumberValue::AsDouble(1.0)),
        exemplars: vec![exemplar(v)],
        ..Default::default()
    };
    let sum = metric(
        "s",
        MetricData::Sum(Sum {
            data_points: vec![number(3.0)],
            aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
            is_monotonic: true,
        }),
    );
    let gauge = metric(
        "g",
        MetricData::Gauge(Gauge {
            data_points: vec![number(4.0)],
        }),
    );
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![histogram, sum, gauge],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let out = translate(&request, &Settings::default()).unwrap();
    let got: Vec<(String, String, f64)> = out
        .exemplars
        .iter()
        .map(|(labels, e)| {
            (
                labels.metric_name().unwrap_or("").to_string(),
                labels.get("le").unwrap_or("").to_string(),
                e.value,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("h_bucket".into(), "1".into(), 0.5),
            ("h_bucket".into(), "1".into(), 1.0),
            ("h_bucket".into(), "2".into(), 1.5),
            ("h_bucket".into(), "+Inf".into(), 9.0),
            ("s".into(), String::new(), 3.0),
        ]
    );
}
