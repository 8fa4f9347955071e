//! Recording rules (upstream's recording_test.go and the recording parts of
//! manager_test.go).

use rules::{RuleHealth, ERR_DUPLICATE_RECORDING_LABELSET};

use crate::common::*;

const T0: i64 = 1_600_000_000_000;

fn load_metric(t: &TestDb) {
    t.load(
        &[("__name__", "metric"), ("label_a", "1"), ("label_b", "3")],
        T0,
        MIN,
        &[Some(1.0)],
    );
    t.load(
        &[("__name__", "metric"), ("label_a", "2"), ("label_b", "4")],
        T0,
        MIN,
        &[Some(10.0)],
    );
}

fn recorded(t: &TestDb, name: &str, at: i64) -> Vec<(Vec<(String, String)>, f64)> {
    t.series(name, at, at)
        .into_iter()
        .map(|(l, s)| {
            let pairs = l
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            (pairs, s[0].1)
        })
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = p
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

/// A query, the rule's labels (YAML), the labels they change in the output (an empty
/// value: removed), and the factor on the input values.
type Scenario = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    f64,
);

#[test]
fn output_is_renamed_and_relabelled() {
    // Upstream's TestRuleEval scenarios (with a group label added, which the rule's labels
    // override), and a label removed by an empty rule label.
    let scenarios: &[Scenario] = &[
        ("sort(metric)", "{}", &[], 1.0),
        (
            "sort(metric)",
            "{extra_from_rule: foo}",
            &[("extra_from_rule", "foo")],
            1.0,
        ),
        (
            "sort(metric)",
            "{label_a: from_rule}",
            &[("label_a", "from_rule")],
            1.0,
        ),
        ("sort(metric + metric)", "{}", &[], 2.0),
        ("sort(metric)", "{label_b: ''}", &[("label_b", "")], 1.0),
    ];
    for (expr, rule_labels, changes, factor) in scenarios {
        let t = TestDb::new();
        load_metric(&t);
        let yaml = format!(
            "groups:\n- name: g\n  labels: {{group_label: g, extra_from_rule: from_group}}\n  rules:\n  - record: test_rule\n    expr: '{expr}'\n    labels: {rule_labels}\n"
        );
        let mut g = group(&yaml, opts(), false);
        g.eval(&t.env(), T0);
        assert_eq!(
            g.rules()[0].status().health,
            RuleHealth::Good,
            "{expr} {rule_labels}"
        );
        let mut expected: Vec<_> = [("1", "3", 1.0), ("2", "4", 10.0)]
            .into_iter()
            .map(|(a, b, v)| {
                let mut l = labels(&[
                    ("__name__", "test_rule"),
                    ("group_label", "g"),
                    ("extra_from_rule", "from_group"),
                    ("label_a", a),
                    ("label_b", b),
                ])
                .to_builder();
                for (name, value) in changes.iter() {
                    l.set(*name, *value);
                }
                let pairs: Vec<(String, String)> = l
                    .build()
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                (pairs, v * factor)
            })
            .collect();
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            recorded(&t, "test_rule", T0),
            expected,
            "{expr} with {rule_labels}"
        );
    }
}

#[test]
fn scalar_result_is_one_sample_without_other_labels() {
    let t = TestDb::new();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: two\n    expr: 1 + 1\n",
        opts(),
        false,
    );
    g.eval(&t.env(), T0);
    assert_eq!(
        recorded(&t, "two", T0),
        vec![(pairs(&[("__name__", "two")]), 2.0)]
    );
}

#[test]
fn duplicate_output_labelset_is_an_error() {
    let t = TestDb::new();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: foo\n    expr: 'vector(0) or label_replace(vector(0),\"test\",\"x\",\"\",\"\")'\n    labels: {test: test}\n",
        opts(),
        false,
    );
    g.eval(&t.env(), T0);
    let status = g.rules()[0].status();
    assert_eq!(status.health, RuleHealth::Bad);
    assert_eq!(
        status.last_error.as_deref(),
        Some(ERR_DUPLICATE_RECORDING_LABELSET)
    );
    assert_eq!(g.metrics().evaluation_failures, 1);
    assert!(t.series("foo", 0, i64::MAX).is_empty(), "nothing written");
}

#[test]
fn limit() {
    // Upstream's TestRecordingRuleLimit.
    for (limit, err) in [
        (0, None),
        (-1, None),
        (2, None),
        (1, Some("exceeded limit of 1 with 2 series")),
    ] {
        let t = TestDb::with_two_metric_series(T0);
        let yaml = format!(
            "groups:\n- name: g\n  limit: {limit}\n  rules:\n  - record: foo\n    expr: metric > 0\n    labels: {{test: test}}\n"
        );
        let mut g = group(&yaml, opts(), false);
        g.eval(&t.env(), T0);
        assert_eq!(
            g.rules()[0].status().last_error.as_deref(),
            err,
            "limit {limit}"
        );
        let written = t.present_at("foo", T0).len();
        assert_eq!(written, if err.is_some() { 0 } else { 2 }, "limit {limit}");
    }
}

#[test]
fn series_gone_from_the_output_get_staleness_markers() {
    // Upstream's TestStaleness: `a` has two samples, then goes stale; so must `a_plus_one`,
    // also with a query offset (samples are written at the offset time).
    for offset in [0, MIN] {
        let t = TestDb::new();
        t.load(
            &[("__name__", "a")],
            T0,
            SEC,
            &[Some(1.0), Some(2.0), Some(model::stale_nan())],
        );
        let yaml = format!(
            "groups:\n- name: g\n  interval: 1s\n  query_offset: {}s\n  rules:\n  - record: a_plus_one\n    expr: a + 1\n",
            offset / SEC
        );
        let mut g = group(&yaml, opts(), false);
        for i in 0..3 {
            g.eval(&t.env(), T0 + i * SEC + offset);
        }
        let series = t.series("a_plus_one", 0, i64::MAX);
        assert_eq!(series.len(), 1, "offset {offset}");
        let samples = &series[0].1;
        assert_eq!(samples.len(), 3, "offset {offset}: {samples:?}");
        assert_eq!(
            &samples[..2],
            &[(T0, 2.0), (T0 + SEC, 3.0)],
            "offset {offset}"
        );
        assert_eq!(samples[2].0, T0 + 2 * SEC);
        assert!(
            model::is_stale_nan(samples[2].1),
            "offset {offset}: {samples:?}"
        );
    }
}

#[test]
fn only_the_vanished_series_is_staled() {
    let t = TestDb::new();
    t.load(
        &[("__name__", "x"), ("i", "1")],
        T0,
        MIN,
        &[Some(1.0), Some(1.0), Some(1.0)],
    );
    t.load(
        &[("__name__", "x"), ("i", "2")],
        T0,
        MIN,
        &[Some(1.0), Some(model::stale_nan())],
    );
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: y\n    expr: x\n",
        opts(),
        false,
    );
    for i in 0..3 {
        g.eval(&t.env(), T0 + i * MIN);
    }
    let series = t.series("y", 0, i64::MAX);
    let one = &series[0].1;
    let two = &series[1].1;
    assert_eq!(series[0].0.get("i"), Some("1"));
    assert_eq!(one.len(), 3);
    assert!(one.iter().all(|s| !model::is_stale_nan(s.1)), "{one:?}");
    assert_eq!(two.len(), 2, "one marker, not one per evaluation: {two:?}");
    assert!(model::is_stale_nan(two[1].1) && two[1].0 == T0 + MIN);
}

#[test]
fn a_failed_evaluation_writes_no_staleness_markers() {
    // A query that fails keeps the previous output: no markers (upstream returns before
    // its staleness loop).
    let t = TestDb::new();
    t.load(
        &[("__name__", "x"), ("i", "1")],
        T0,
        MIN,
        &[Some(1.0), Some(1.0)],
    );
    let mut g = group(
        "groups:\n- name: g\n  limit: 1\n  rules:\n  - record: y\n    expr: x\n",
        opts(),
        false,
    );
    g.eval(&t.env(), T0);
    t.load(
        &[("__name__", "x"), ("i", "2")],
        T0 + MIN,
        MIN,
        &[Some(1.0)],
    );
    g.eval(&t.env(), T0 + MIN);
    assert_eq!(
        g.rules()[0].status().last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    let series = t.series("y", 0, i64::MAX);
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].1, vec![(T0, 1.0)]);
}

#[test]
fn query_errors_make_the_rule_unhealthy_and_count_as_failures() {
    let t = TestDb::new();
    t.load(&[("__name__", "a"), ("i", "1")], T0, MIN, &[Some(1.0)]);
    t.load(&[("__name__", "a"), ("i", "2")], T0, MIN, &[Some(1.0)]);
    t.load(&[("__name__", "b")], T0, MIN, &[Some(1.0)]);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: ok\n    expr: b\n  - record: bad\n    expr: b + on() a\n",
        opts(),
        false,
    );
    g.eval(&t.env(), T0);
    let (ok, bad) = (g.rules()[0].status(), g.rules()[1].status());
    assert_eq!(ok.health, RuleHealth::Good);
    assert_eq!(bad.health, RuleHealth::Bad);
    let err = bad.last_error.clone().unwrap();
    assert!(err.contains("many-to-many matching not allowed"), "{err}");
    assert_eq!(g.metrics().evaluations_total, 2);
    assert_eq!(g.metrics().evaluation_failures, 1);
    assert!(bad.last_evaluation.is_some());
}

#[test]
fn health_follows_append_failures() {
    // Upstream's TestRuleHealthUpdates: evaluating in the past again makes the samples
    // out of order.
    let t = TestDb::new();
    t.load(&[("__name__", "a")], T0, SEC, &[Some(1.0), Some(2.0)]);
    let mut g = group(
        "groups:\n- name: g\n  interval: 1s\n  rules:\n  - record: a_plus_one\n    expr: a + 1\n",
        opts(),
        false,
    );
    assert_eq!(g.rules()[0].status().health, RuleHealth::Unknown);
    assert_eq!(g.rules()[0].status().last_error, None);
    g.eval(&t.env(), T0);
    g.eval(&t.env(), T0 + SEC);
    assert_eq!(g.rules()[0].status().health, RuleHealth::Good);
    assert_eq!(g.rules()[0].status().last_error, None);
    g.eval(&t.env(), T0);
    assert_eq!(g.rules()[0].status().health, RuleHealth::Bad);
    assert_eq!(
        g.rules()[0].status().last_error.as_deref(),
        Some("out of order sample")
    );
}

/// A rule whose query gives native histograms records histograms (not floats), and they
/// go stale like float results.
#[test]
fn histogram_results_are_recorded_as_histograms() {
    use model::histogram::{FloatHistogram, HistogramValue, Span};
    let t = TestDb::new();
    let h = FloatHistogram {
        count: 6.0,
        sum: 12.5,
        positive_spans: vec![Span::new(0, 2)],
        positive_buckets: vec![2.0, 4.0],
        ..FloatHistogram::default()
    };
    t.db.append_histograms(&[(
        labels(&[("__name__", "latency"), ("job", "a")]),
        T0,
        HistogramValue::Float(h.clone()),
    )])
    .unwrap();
    let yaml = "groups:\n- name: g\n  rules:\n  - record: job:latency:doubled\n    expr: last_over_time(latency[1m])\n";
    let mut g = group(yaml, opts(), false);
    g.eval(&t.env(), T0);
    assert_eq!(g.rules()[0].status().health, rules::RuleHealth::Good);
    let m = model::Matcher::new(model::MatchOp::Equal, "__name__", "job:latency:doubled").unwrap();
    let found = t.db.select(&[m], T0, T0);
    assert_eq!(found.len(), 1);
    assert!(found[0].samples.is_empty(), "{:?}", found[0].samples);
    assert!(
        found[0].histograms[0].1.equals(&h),
        "{:?}",
        found[0].histograms
    );
}
