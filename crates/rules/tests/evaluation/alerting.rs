//! Alerting rules (upstream's alerting_test.go and the alerting parts of manager_test.go).

use std::sync::Arc;
use std::time::Duration;

use model::Labels;
use rules::{
    AlertState, AlertingRule, EvalOptions, Group, GroupRule, RuleHealth,
    ERR_DUPLICATE_ALERT_LABELSET,
};

use crate::common::*;

const T0: i64 = 1_600_000_000_000;

fn alerting(g: &Group, i: usize) -> &AlertingRule {
    match &g.rules()[i] {
        GroupRule::Alerting(r) => r,
        GroupRule::Recording(_) => panic!("rule {i} is a recording rule"),
    }
}

fn load_http_requests(t: &TestDb, inst0: &[f64], inst1: &[f64]) {
    for (instance, values) in [("0", inst0), ("1", inst1)] {
        let values: Vec<_> = values.iter().map(|&v| Some(v)).collect();
        t.load(
            &[
                ("__name__", "http_requests"),
                ("job", "app-server"),
                ("instance", instance),
                ("group", "canary"),
                ("severity", "overwrite-me"),
            ],
            T0,
            5 * MIN,
            &values,
        );
    }
}

fn low_rate_group(query_offset_s: i64, should_restore: bool) -> Group {
    group(
        &format!(
            "groups:\n- name: default\n  interval: 1s\n  query_offset: {query_offset_s}s\n  rules:\n  - alert: HTTPRequestRateLow\n    expr: 'http_requests{{group=\"canary\", job=\"app-server\"}} < 100'\n    for: 1m\n    labels: {{severity: critical}}\n"
        ),
        opts(),
        should_restore,
    )
}

fn alert_labels(instance: &str, state: Option<&str>, name: &str) -> Labels {
    let mut l = vec![
        ("__name__", name),
        ("alertname", "HTTPRequestRateLow"),
        ("group", "canary"),
        ("instance", instance),
        ("job", "app-server"),
        ("severity", "critical"),
    ];
    if let Some(s) = state {
        l.push(("alertstate", s));
    }
    labels(&l)
}

#[test]
fn pending_firing_resolved_and_the_alerts_series() {
    // Upstream's TestAlertingRule and TestForStateAddSamples, with and without a query
    // offset (samples are written at the offset time, ActiveAt is the evaluation time).
    for offset in [0, MIN] {
        let t = TestDb::new();
        load_http_requests(
            &t,
            &[75., 85., 95., 105., 105., 95., 85.],
            &[80., 90., 100., 110., 120., 130., 140.],
        );
        let mut g = low_rate_group(offset / SEC, false);
        let pending = |i| alert_labels(i, Some("pending"), "ALERTS");
        let firing = |i| alert_labels(i, Some("firing"), "ALERTS");
        let for_state = |i| alert_labels(i, None, "ALERTS_FOR_STATE");
        let first = (T0 + offset) / 1000;
        let again = (T0 + 25 * MIN + offset) / 1000;
        type Expect = (Vec<Labels>, Vec<(Labels, i64)>);
        let steps: Vec<Expect> = vec![
            (
                vec![pending("0"), pending("1")],
                vec![(for_state("0"), first), (for_state("1"), first)],
            ),
            (
                vec![firing("0"), firing("1")],
                vec![(for_state("0"), first), (for_state("1"), first)],
            ),
            (vec![firing("0")], vec![(for_state("0"), first)]),
            (vec![], vec![]),
            (vec![], vec![]),
            (vec![pending("0")], vec![(for_state("0"), again)]),
            (vec![firing("0")], vec![(for_state("0"), again)]),
        ];
        for (k, (alerts, for_states)) in steps.into_iter().enumerate() {
            let at = T0 + k as i64 * 5 * MIN;
            g.eval(&t.env(), at + offset);
            assert_eq!(
                t.present_at("ALERTS", at),
                alerts,
                "offset {offset}, step {k}"
            );
            let got: Vec<_> = t
                .series("ALERTS_FOR_STATE", at, at)
                .into_iter()
                .filter(|(_, s)| !model::is_stale_nan(s[0].1))
                .map(|(l, s)| (l, s[0].1 as i64))
                .collect();
            assert_eq!(got, for_states, "offset {offset}, step {k}");
            for a in alerting(&g, 0).active_alerts() {
                assert_eq!(a.labels.get("__name__"), None);
            }
        }
        // A series leaving a state is marked stale once, at that evaluation's sample time.
        let pending0 = t
            .series("ALERTS", 0, i64::MAX)
            .into_iter()
            .find(|(l, _)| *l == pending("0"))
            .unwrap()
            .1;
        let times: Vec<(i64, bool)> = pending0
            .iter()
            .map(|&(ts, v)| ((ts - T0) / MIN, model::is_stale_nan(v)))
            .collect();
        assert_eq!(
            times,
            [(0, false), (5, true), (25, false), (30, true)],
            "offset {offset}"
        );
    }
}

#[test]
fn rule_state_is_the_highest_alert_state() {
    let t = TestDb::new();
    load_http_requests(&t, &[75., 85., 105.], &[105., 105., 105.]);
    let mut g = low_rate_group(0, false);
    assert_eq!(alerting(&g, 0).state(), AlertState::Unknown);
    let states: Vec<_> = (0..3)
        .map(|k| {
            g.eval(&t.env(), T0 + k * 5 * MIN);
            alerting(&g, 0).state()
        })
        .collect();
    // Resolved alerts are kept but inactive.
    assert_eq!(
        states,
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Inactive
        ]
    );
    assert_eq!(alerting(&g, 0).alerts().count(), 1);
    assert_eq!(alerting(&g, 0).active_alerts().count(), 0);
}

fn keep_firing_group() -> Group {
    group(
        "groups:\n- name: g\n  rules:\n  - alert: HTTPRequestRateHigh\n    expr: http_requests > 50\n    for: 1m\n    keep_firing_for: 1m\n",
        opts(),
        false,
    )
}

#[test]
fn keep_firing_for() {
    // Upstream's TestKeepFiringFor: firing is kept one minute after the expression stops
    // returning the alert.
    let t = TestDb::new();
    let values = [75., 85., 70., 70., 10., 10., 10., 10., 10., 10.];
    let values: Vec<_> = values.iter().map(|&v| Some(v)).collect();
    t.load(
        &[
            ("__name__", "http_requests"),
            ("job", "app-server"),
            ("instance", "0"),
        ],
        T0,
        MIN,
        &values,
    );
    let mut g = keep_firing_group();
    let mut states = Vec::new();
    for k in 0..6 {
        let at = T0 + k * MIN;
        g.eval(&t.env(), at);
        let present = t.present_at("ALERTS", at);
        states.push(
            present
                .first()
                .and_then(|l| l.get("alertstate"))
                .map(str::to_string),
        );
        if k == 4 {
            let a = alerting(&g, 0).active_alerts().next().unwrap();
            assert_eq!(a.keep_firing_since, Some(at));
            assert_eq!(a.value, 70.0, "the value of the last result");
        }
    }
    let expect = |s: &str| Some(s.to_string());
    assert_eq!(
        states,
        [
            expect("pending"),
            expect("firing"),
            expect("firing"),
            expect("firing"),
            expect("firing"),
            None
        ]
    );
    let a = alerting(&g, 0).alerts().next().unwrap();
    assert_eq!(a.resolved_at, Some(T0 + 5 * MIN));
}

#[test]
fn pending_alerts_are_not_kept_firing() {
    // Upstream's TestPendingAndKeepFiringFor.
    let t = TestDb::new();
    let values: Vec<_> = [75.].into_iter().chain([10.; 10]).map(Some).collect();
    t.load(
        &[
            ("__name__", "http_requests"),
            ("job", "app-server"),
            ("instance", "0"),
        ],
        T0,
        MIN,
        &values,
    );
    let mut g = keep_firing_group();
    g.eval(&t.env(), T0);
    assert_eq!(t.present_at("ALERTS", T0).len(), 1);
    assert_eq!(t.present_at("ALERTS_FOR_STATE", T0).len(), 1);
    g.eval(&t.env(), T0 + MIN);
    assert!(t.present_at("ALERTS", T0 + MIN).is_empty());
    assert_eq!(
        alerting(&g, 0).alerts().count(),
        0,
        "a pending alert is dropped at once"
    );
}

#[test]
fn limit() {
    // Upstream's TestAlertingRuleLimit.
    for (limit, err) in [
        (0, None),
        (-1, None),
        (2, None),
        (1, Some("exceeded limit of 1 with 2 alerts")),
    ] {
        let t = TestDb::with_two_metric_series(T0);
        let mut g = group(
            &format!("groups:\n- name: g\n  limit: {limit}\n  rules:\n  - alert: foo\n    expr: metric > 0\n    for: 1m\n    labels: {{test: test}}\n"),
            opts(),
            false,
        );
        g.eval(&t.env(), T0);
        let r = alerting(&g, 0);
        assert_eq!(r.status().last_error.as_deref(), err, "limit {limit}");
        let expected = if err.is_some() { 0 } else { 2 };
        assert_eq!(
            r.alerts().count(),
            expected,
            "limit {limit}: alerts dropped"
        );
        assert_eq!(t.present_at("ALERTS", T0).len(), expected, "limit {limit}");
    }
}

#[test]
fn duplicate_alert_labelset_is_an_error() {
    // Upstream's TestAlertingRuleDuplicate.
    let t = TestDb::new();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: foo\n    expr: 'vector(0) or label_replace(vector(0),\"test\",\"x\",\"\",\"\")'\n    for: 1m\n    labels: {test: test}\n",
        opts(),
        false,
    );
    let report = g.eval(&t.env(), T0);
    let r = alerting(&g, 0);
    assert_eq!(r.status().health, RuleHealth::Bad);
    assert_eq!(
        r.status().last_error.as_deref(),
        Some(ERR_DUPLICATE_ALERT_LABELSET)
    );
    assert!(report.alerts.is_empty());
    assert!(t.series("ALERTS", 0, i64::MAX).is_empty());
}

#[test]
fn alerts_to_send_on_fire_resend_and_resolve() {
    // Upstream's TestNotify: resend delay 2s, interval 1s.
    let t = TestDb::new();
    t.load(
        &[("__name__", "a")],
        1000,
        1000,
        &[Some(2.0), Some(3.0), None, None, Some(3.0), Some(0.0)],
    );
    let o = EvalOptions {
        resend_delay: Duration::from_secs(2),
        external_url: "http://prom.example:9090".to_string(),
        ..EvalOptions::default()
    };
    let mut g = group(
        "groups:\n- name: alert\n  interval: 1s\n  rules:\n  - alert: aTooHigh\n    expr: a > 1\n",
        Arc::new(o),
        false,
    );
    let sent = |at: i64, g: &mut Group| g.eval(&t.env(), at).alerts;

    let first = sent(1000, &mut g);
    assert_eq!(first.len(), 1, "sent at once");
    let a = &first[0];
    assert_eq!(a.labels, labels(&[("alertname", "aTooHigh")]));
    assert_eq!(a.starts_at, Some(1000), "startsAt is when it fired");
    assert_eq!(
        a.ends_at,
        1000 + 4 * 2000,
        "4 × max(resend delay, interval)"
    );
    assert_eq!(
        a.generator_url,
        "http://prom.example:9090/graph?g0.expr=a+%3E+1&g0.tab=1"
    );
    assert!(sent(2000, &mut g).is_empty(), "not sent again 1s later");
    let resent = sent(5000, &mut g);
    assert_eq!(resent.len(), 1, "sent again after the resend delay");
    assert_eq!(resent[0].ends_at, 5000 + 8000);
    let resolved = sent(6000, &mut g);
    assert_eq!(resolved.len(), 1, "the resolution is sent at once");
    assert_eq!(
        (resolved[0].starts_at, resolved[0].ends_at),
        (Some(1000), 6000)
    );
}

#[test]
fn resolved_alerts_are_resent_for_fifteen_minutes_then_dropped() {
    let t = TestDb::new();
    let values: Vec<_> = (0..40)
        .map(|k| Some(if k < 3 { 1.0 } else { 0.0 }))
        .collect();
    t.load(&[("__name__", "x")], T0, MIN, &values);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: X\n    expr: x > 0\n",
        opts(),
        false,
    );
    let mut sends = Vec::new();
    for k in 0..20 {
        let report = g.eval(&t.env(), T0 + k * MIN);
        for a in report.alerts {
            sends.push((k, a.ends_at == T0 + 3 * MIN));
        }
        let kept = alerting(&g, 0).alerts().count();
        // Resolved at minute 3: kept while now - resolvedAt <= 15m.
        assert_eq!(kept, usize::from(k <= 18), "minute {k}");
    }
    // Firing: sent at 0 and after more than the resend delay (1m) at the 1m interval: 2.
    // Resolved at 3: sent then and every 2 minutes until dropped.
    let resolved: Vec<i64> = sends.iter().filter(|s| s.1).map(|s| s.0).collect();
    let firing: Vec<i64> = sends.iter().filter(|s| !s.1).map(|s| s.0).collect();
    assert_eq!(firing, [0, 2]);
    assert_eq!(resolved, [3, 5, 7, 9, 11, 13, 15, 17]);
}

#[test]
fn a_resolved_alert_is_replaced_by_a_new_one_with_the_same_labels() {
    let t = TestDb::new();
    let values: Vec<_> = [1.0, 0.0, 1.0].into_iter().map(Some).collect();
    t.load(&[("__name__", "x")], T0, MIN, &values);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: X\n    expr: x > 0\n",
        opts(),
        false,
    );
    g.eval(&t.env(), T0);
    g.eval(&t.env(), T0 + MIN);
    let resolved = alerting(&g, 0).alerts().next().unwrap().clone();
    assert_eq!(
        (resolved.state, resolved.resolved_at),
        (AlertState::Inactive, Some(T0 + MIN))
    );
    let report = g.eval(&t.env(), T0 + 2 * MIN);
    let alerts: Vec<_> = alerting(&g, 0).alerts().collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].state, AlertState::Firing);
    assert_eq!(
        (alerts[0].active_at, alerts[0].fired_at),
        (T0 + 2 * MIN, Some(T0 + 2 * MIN))
    );
    assert_eq!(alerts[0].resolved_at, None);
    assert_eq!(report.alerts.len(), 1);
    assert_eq!(report.alerts[0].starts_at, Some(T0 + 2 * MIN));
}

#[test]
fn labels_and_annotations_go_through_the_expander() {
    let t = TestDb::new();
    t.load(
        &[("__name__", "x"), ("instance", "i1"), ("job", "j")],
        T0,
        MIN,
        &[Some(11.0), Some(12.5)],
    );
    t.load(&[("__name__", "other")], T0, MIN, &[Some(7.0), Some(8.0)]);
    let mut g = group(
        "groups:\n- name: g\n  labels: {team: '{{$labels.job}}-team'}\n  rules:\n  - alert: X\n    expr: x > 10\n    for: 5m\n    labels:\n      instance: '{{$labels.nothing}}'\n      alertname: ignored\n    annotations:\n      summary: 'value {{$value}} of {{ .Labels.instance }}'\n      broken: '{{ humanize \"x\" }}'\n      empty: ''\n      queried: '{{ query \"other\" | first | value }}'\n      down: '{{ $labels.instance }} is down ({{ $value | humanize }})'\n",
        opts(),
        false,
    );
    let templates = rules::GoTemplates::new();
    for k in 0..2 {
        g.eval(&t.env_with(&templates), T0 + k * MIN);
    }
    let r = alerting(&g, 0);
    let a = r.active_alerts().next().unwrap();
    // `alertname` is the rule's; a label expanding to nothing is removed.
    assert_eq!(
        a.labels,
        labels(&[("alertname", "X"), ("job", "j"), ("team", "j-team")])
    );
    let broken = format!(
        "<error expanding template: error executing template __alert_X: template: __alert_X:1:{}: executing \"__alert_X\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax>",
        rules::expand::ALERT_TEMPLATE_DEFS.len() + 3
    );
    let ann: Vec<(&str, &str)> = a
        .annotations
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        ann,
        [
            ("broken", broken.as_str()),
            ("down", "i1 is down (12.5)"),
            ("empty", ""),
            ("queried", "8"),
            ("summary", "value 12.5 of i1"),
        ],
        "annotations are those of the latest evaluation"
    );
    assert_eq!(a.value, 12.5);
    // Upstream builds the ALERTS labels from the rule's labels as written, then the
    // alert's: a label the template removed stays there unexpanded.
    assert_eq!(
        t.present_at("ALERTS", T0 + MIN),
        vec![labels(&[
            ("__name__", "ALERTS"),
            ("alertname", "X"),
            ("alertstate", "pending"),
            ("instance", "{{$labels.nothing}}"),
            ("job", "j"),
            ("team", "j-team"),
        ])]
    );
}

#[test]
fn firing_alert_goes_back_to_pending_when_for_grows() {
    // Upstream's TestFiringAlertResetToPendingOnHoldDurationIncrease, through a reload.
    let t = TestDb::new();
    t.load(&[("__name__", "x")], T0, MIN, &[Some(1.0); 10]);
    let yaml = |f: &str| {
        format!("groups:\n- name: g\n  rules:\n  - alert: X\n    expr: x > 0\n    for: {f}\n")
    };
    let mut old = group(&yaml("1m"), opts(), false);
    old.eval(&t.env(), T0);
    old.eval(&t.env(), T0 + MIN);
    assert_eq!(alerting(&old, 0).state(), AlertState::Firing);
    let mut new = group(&yaml("5m"), opts(), false);
    new.copy_state_from(&old);
    let report = new.eval(&t.env(), T0 + 2 * MIN);
    let a = alerting(&new, 0).active_alerts().next().unwrap();
    assert_eq!(
        (a.state, a.fired_at, a.last_sent_at),
        (AlertState::Pending, None, None)
    );
    assert!(report.alerts.is_empty());
    new.eval(&t.env(), T0 + 5 * MIN);
    assert_eq!(alerting(&new, 0).state(), AlertState::Firing);
}

/// Upstream's TestForStateRestore: `for` 25m, outage tolerance 30m, grace period 10m.
#[test]
fn for_state_restore() {
    for offset in [0, MIN] {
        let t = TestDb::new();
        load_http_requests(
            &t,
            &[75., 85., 50., 0., 0., 25., 0., 0., 40., 0., 120.],
            &[125., 90., 60., 0., 0., 25., 0., 0., 40., 0., 130.],
        );
        let o = Arc::new(EvalOptions {
            outage_tolerance: Duration::from_secs(30 * 60),
            for_grace_period: Duration::from_secs(10 * 60),
            ..EvalOptions::default()
        });
        let yaml = |offset_s: i64| {
            format!(
            "groups:\n- name: default\n  interval: 1s\n  query_offset: {offset_s}s\n  rules:\n  - alert: HTTPRequestRateLow\n    expr: 'http_requests{{group=\"canary\", job=\"app-server\"}} < 100'\n    for: 25m\n    labels: {{severity: critical}}\n"
        )
        };
        // Before "going down".
        let mut original = group(&yaml(0), o.clone(), false);
        for at in [T0, T0 + 5 * MIN] {
            original.eval(&t.env(), at);
        }
        let active_before: Vec<(Labels, i64)> = alerting(&original, 0)
            .active_alerts()
            .map(|a| (a.labels.clone(), a.active_at))
            .collect();
        assert_eq!(active_before.len(), 2);

        let restart = |at: i64| {
            let mut g = group(&yaml(offset / SEC), o.clone(), true);
            g.eval(&t.env(), at);
            assert!(!alerting(&g, 0).restored());
            g.restore_for_state(&t.env(), at);
            assert!(alerting(&g, 0).restored());
            assert!(!g.should_restore());
            alerting(&g, 0)
                .active_alerts()
                .map(|a| (a.labels.clone(), a.active_at))
                .collect::<Vec<_>>()
        };

        // Normal restore: ActiveAt moved by the 10 minutes down (and the query offset).
        let restore_at = T0 + 15 * MIN + offset;
        let got = restart(restore_at);
        let moved: Vec<_> = active_before
            .iter()
            .map(|(l, a)| (l.clone(), a + 10 * MIN + offset))
            .collect();
        assert_eq!(got, moved, "offset {offset}: normal restore");

        // Beyond the outage tolerance: nothing restored, the alerts start anew.
        let restore_at = T0 + 40 * MIN + offset;
        let got = restart(restore_at);
        assert_eq!(got.len(), 2);
        assert!(
            got.iter().all(|(_, a)| *a == restore_at),
            "offset {offset}: {got:?}"
        );

        // No active alerts.
        assert!(restart(T0 + 50 * MIN + offset).is_empty());

        // Close to firing: the grace period applies.
        for at in [T0 + 10 * MIN, T0 + 15 * MIN, T0 + 20 * MIN] {
            original.eval(&t.env(), at);
        }
        let restore_at = T0 + 25 * MIN + offset;
        let got = restart(restore_at);
        assert_eq!(got.len(), 2);
        for (l, active_at) in got {
            assert_eq!(
                active_at + 25 * MIN - restore_at,
                10 * MIN,
                "offset {offset}: {l}"
            );
        }
    }
}

#[test]
fn a_restart_delays_firing_by_the_time_down() {
    // A real restart: the database is closed and opened again (WAL replay), a new group
    // evaluates twice and restores. `for` 30m (more than the 10m grace period).
    let t = TestDb::new();
    let values: Vec<_> = (0..120).map(|_| Some(1.0)).collect();
    t.load(&[("__name__", "x")], T0, MIN, &values);
    let yaml = "groups:\n- name: g\n  rules:\n  - alert: X\n    expr: x > 0\n    for: 30m\n";
    let mut before = group(yaml, opts(), true);
    before.eval(&t.env(), T0);
    before.eval(&t.env(), T0 + MIN);
    before.restore_for_state(&t.env(), T0 + MIN);
    for k in 2..=10 {
        before.eval(&t.env(), T0 + k * MIN);
    }
    assert_eq!(
        alerting(&before, 0)
            .active_alerts()
            .next()
            .unwrap()
            .active_at,
        T0
    );
    drop(before);

    // Down from minute 10 to 15; restored after the evaluations at 15 and 16.
    let t = t.reopen();
    let mut after = group(yaml, opts(), true);
    after.eval(&t.env(), T0 + 15 * MIN);
    after.eval(&t.env(), T0 + 16 * MIN);
    after.restore_for_state(&t.env(), T0 + 16 * MIN);
    // Last ALERTS_FOR_STATE at 10: ActiveAt 0 + (16 - 10).
    assert_eq!(
        alerting(&after, 0)
            .active_alerts()
            .next()
            .unwrap()
            .active_at,
        T0 + 6 * MIN
    );
    let mut fired = None;
    for k in 17..50 {
        let report = after.eval(&t.env(), T0 + k * MIN);
        if !report.alerts.is_empty() && fired.is_none() {
            fired = Some(k);
        }
        let state = t.present_at("ALERTS", T0 + k * MIN)[0]
            .get("alertstate")
            .unwrap()
            .to_string();
        assert_eq!(
            state,
            if k < 36 { "pending" } else { "firing" },
            "minute {k}"
        );
        let for_state = t.present_at("ALERTS_FOR_STATE", T0 + k * MIN);
        assert_eq!(for_state.len(), 1);
    }
    assert_eq!(fired, Some(36), "30m after the restored ActiveAt");
}
