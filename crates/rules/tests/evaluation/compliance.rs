//! The four cases of the alert generator compliance specification
//! (shared/spec/alerting/), end to end from the rule file to an Alertmanager: the rules of
//! `alert_generator_rules.yaml`, the samples each case remote-writes (15 s apart) written
//! straight into the TSDB, the group run by `rules::run` on a fake clock (30 s interval,
//! `for` state restore as at start), and every evaluation's alerts handed to the real
//! notifier ([`notifier::Manager`], configured from a `promconfig` alerting section with a
//! static target and one external label), which POSTs them over HTTP to a stand-in
//! Alertmanager on 127.0.0.1 ([`crate::alertmanager_standin`]). The fake clock waits
//! (at most 5 s of real time, else the test fails) until the stand-in has them.
//!
//! Checked after every evaluation: the alerts and their states, values and annotations
//! (what `/api/v1/alerts` would list), the `ALERTS` series at the evaluation time, and the
//! alerts the stand-in received for that evaluation, as Alertmanager decodes them:
//! labels (the alert's plus the external label the notifier adds), rendered annotations,
//! `startsAt` = FiredAt, `endsAt` = ResolvedAt or evaluation time + 4 × max(resend delay,
//! interval), both RFC3339 with milliseconds, and a `generatorURL` that parses and
//! carries the rule's expression. Also: only firing and resolved alerts are ever sent,
//! never pending ones, and nothing arrives between evaluations.
//!
//! What is left out here: the `/api/v1/rules` and `/api/v1/alerts` JSON, covered by
//! `crates/server/tests/rules.rs` against the real binary; remote write (samples go into
//! the TSDB directly); and real time: the spec's test remote-writes its samples as time
//! goes, 15 s apart, about 40 minutes for the longest case, so time is simulated here
//! and only the HTTP sends run in real time (the whole file takes seconds).
//!
//! The times are those the cases expect (an alert pending at the first evaluation at or
//! after its sample crosses the threshold, and so on), so the spec's tolerances of one
//! group interval hold by construction. Annotations are expanded by the real Go template
//! expander ([`rules::GoTemplates`]), so the `template_test` and `template_query_test`
//! annotations (`humanize`, `query`, `sortByLabel`, `title`, ...) are checked too.
//!
//! Two differences from the spec's wording, both following Prometheus: a firing alert is
//! re-sent when the last send is *more* than the resend delay ago, so with a 1m delay and
//! a 30 s interval the resends come every 90 s (the spec's "first multiple of the
//! interval at or above the delay" would be 60 s; its test tolerates Prometheus); and a
//! firing alert's `endsAt` counts from the evaluation that sends it, not from `StartsAt`
//! as the spec's payload section words it (its test, `expected_alert.go`, also expects
//! the time of sending plus the delta).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Query;
use axum::http::Uri;
use model::Labels;
use rules::{run, AlertState, GroupRule, OutgoingAlert};

use crate::alertmanager_standin::{ReceivedAlert, StandIn};
use crate::common::*;

const Z: i64 = 1_700_000_000_000;
const RW: i64 = 15 * SEC;
const GROUP_INTERVAL: i64 = 30 * SEC;
/// Prometheus's rule: resend once the last send is more than 1m ago, at 30 s slots.
const RESEND_EVERY: i64 = 90 * SEC;
/// `--web.external-url`: generator URLs are absolute, as the server makes them.
const EXTERNAL_URL: &str = "http://promethium.test:9090";
/// `global.external_labels`, which the notifier (not the rules) adds to every alert.
const EXTERNAL_LABEL: (&str, &str) = ("monitor", "compliance");
/// Real time the sends of one evaluation may take to arrive.
const SEND_WAIT: Duration = Duration::from_secs(5);

/// The spec's `sampleSlice`: "V" is a value, "AxB" adds A B times.
fn sample_slice(notation: &[&str]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut val = 0.0;
    for v in notation {
        match v.split_once('x') {
            Some((a, b)) => {
                let (a, b): (f64, usize) = (a.parse().unwrap(), b.parse().unwrap());
                for _ in 0..b {
                    val += a;
                    out.push(val);
                }
            }
            None => {
                val = v.parse().unwrap();
                out.push(val);
            }
        }
    }
    out
}

/// One alert's life: pending from `active`, firing from `fired`, resolved at `resolved`.
#[derive(Debug, Clone, Copy)]
struct Period {
    active: i64,
    fired: Option<i64>,
    resolved: i64,
}

struct Expected {
    rule: &'static str,
    labels: Labels,
    periods: Vec<Period>,
    /// The series whose latest sample is the alert's value.
    source: Vec<f64>,
    /// Annotations expected on every alert (those that do not change over time).
    annotations: Vec<(&'static str, String)>,
}

struct Observed {
    ts: i64,
    alerts: Vec<(String, rules::Alert)>,
    alerts_series: Vec<Labels>,
    /// What the stand-in received for this evaluation, in arrival order.
    sent: Vec<Sent>,
}

/// One alert as Alertmanager got it, its wire format already checked ([`decode_sent`]).
#[derive(Debug, Clone)]
struct Sent {
    /// Without the external label (checked present).
    labels: Labels,
    starts_at: i64,
    ends_at: i64,
    received: ReceivedAlert,
}

/// The server's conversion (`crates/server/src/rule_manager.rs`).
fn to_notifier(a: OutgoingAlert) -> notifier::Alert {
    notifier::Alert::new(
        a.labels,
        a.annotations,
        a.starts_at,
        Some(a.ends_at),
        a.generator_url,
    )
}

fn spec_rules() -> rules::RuleGroups {
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/alerting/alert_generator_rules.yaml"
    ))
    .unwrap();
    rules::parse_bytes(file.as_bytes()).unwrap()
}

/// Runs the case's group from the rule file over its samples until `end` (relative),
/// sending each evaluation's alerts through the notifier to the stand-in.
fn simulate(group_name: &str, series: Vec<(Labels, Vec<f64>)>, end: i64) -> Vec<Observed> {
    let t = TestDb::new();
    for (l, values) in &series {
        let samples: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (l.clone(), Z + i as i64 * RW, v))
            .collect();
        t.db.append(&samples).unwrap();
    }
    let groups = spec_rules();
    assert_eq!(groups.groups.len(), 4);
    let spec = groups.groups.iter().find(|g| g.name == group_name).unwrap();
    assert_eq!(spec.interval.as_millis() as i64, GROUP_INTERVAL);
    let opts = Arc::new(rules::EvalOptions {
        external_url: EXTERNAL_URL.to_string(),
        ..rules::EvalOptions::default()
    });
    let mut g = rules::Group::new("alert_generator_rules.yaml", spec, opts, true).unwrap();

    // The notifier's send loops and the stand-in run on this runtime; the group runs on
    // the test thread, which blocks (in real time) while the sends travel.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let standin = rt.block_on(StandIn::start());
    let config = promconfig::Config::parse(
        &format!(
            "global:\n  external_labels:\n    {}: {}\n\
             alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{}']\n",
            EXTERNAL_LABEL.0, EXTERNAL_LABEL.1, standin.addr
        ),
        "prometheus.yml",
        std::path::Path::new("."),
    )
    .unwrap();
    let manager = notifier::Manager::new(notifier::Options::default());
    manager.apply_config(&config).unwrap();

    let clock = FakeClock::new(Z, Z + end);
    let templates = rules::GoTemplates::new();
    let env = t.env_with(&templates);
    let mut observed = Vec::new();
    let mut queued_total = 0;
    run(&mut g, &env, &clock, |g, report| {
        let ts = g.last_eval_timestamp().unwrap();
        let rel = (ts - Z) / 1000;
        // The previous evaluation's sends all arrived and were tagged with it; anything
        // more would have come between evaluations.
        assert_eq!(
            standin.alert_count(),
            queued_total,
            "alerts arrived between evaluations, before {rel}s"
        );
        let mut alerts = Vec::new();
        for r in g.rules() {
            if let GroupRule::Alerting(r) = r {
                alerts.extend(r.alerts().map(|a| (r.name().to_string(), a.clone())));
            }
        }
        // As the server's rule manager does after every evaluation.
        standin.set_sending(Some(ts));
        queued_total += report.alerts.len();
        manager.send(report.alerts.into_iter().map(to_notifier).collect());
        standin.wait_for(queued_total, SEND_WAIT, &format!("sends of {rel}s"));
        standin.set_sending(None);
        observed.push(Observed {
            ts,
            alerts,
            alerts_series: t.present_at("ALERTS", ts),
            sent: Vec::new(),
        });
    });
    // A late or repeated request would arrive now, untagged.
    std::thread::sleep(Duration::from_millis(100));
    let m = manager.metrics();
    assert_eq!(m.alertmanagers_discovered, 1);
    assert_eq!(m.alertmanagers.len(), 1);
    let am = &m.alertmanagers[0];
    assert_eq!(
        am.alertmanager,
        format!("http://{}/api/v2/alerts", standin.addr)
    );
    assert_eq!(
        (am.sent_total, am.errors_total, am.dropped_total),
        (queued_total as u64, 0, 0),
        "notifier metrics"
    );
    rt.block_on(manager.stop());

    let (received, unexpected) = standin.received();
    assert!(unexpected.is_empty(), "unexpected requests: {unexpected:?}");
    assert_eq!(received.len(), queued_total, "alerts received in all");
    let mut last = i64::MIN;
    for r in received {
        let eval = r
            .eval
            .unwrap_or_else(|| panic!("arrived between evaluations: {r:?}"));
        assert!(eval >= last, "arrival out of evaluation order: {r:?}");
        last = eval;
        let o = observed
            .iter_mut()
            .find(|o| o.ts == eval)
            .expect("tagged with an evaluation");
        o.sent.push(decode_sent(r));
    }
    observed
}

/// Go's `Format("2006-01-02T15:04:05.000Z07:00")` in UTC, written out here from the
/// civil calendar rather than with the notifier's own formatter.
fn rfc3339_ms(ms: i64) -> String {
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// The wire-level checks of one received alert: both times RFC3339 with milliseconds in
/// UTC, the external label added (and only it), a generator URL that parses, points at
/// the external URL's graph page and carries the rule's expression as Prometheus prints
/// it.
fn decode_sent(r: ReceivedAlert) -> Sent {
    // The formatter above against a date known independently (`date -u -d @1700000000`).
    assert_eq!(rfc3339_ms(Z), "2023-11-14T22:13:20.000Z");
    let time = |s: &str| {
        let ms = model::time::parse_api_time(s).unwrap_or_else(|| panic!("bad time {s}"));
        assert_eq!(rfc3339_ms(ms), s, "not RFC3339 with ms in UTC");
        ms
    };
    let (starts_at, ends_at) = (time(&r.starts_at), time(&r.ends_at));
    let mut labels = r.labels.clone();
    assert_eq!(
        labels.remove(EXTERNAL_LABEL.0).as_deref(),
        Some(EXTERNAL_LABEL.1),
        "external label: {r:?}"
    );
    let labels = Labels::from_pairs(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let alertname = labels.get("alertname").expect("alertname").to_string();

    let uri: Uri = r
        .generator_url
        .parse()
        .unwrap_or_else(|e| panic!("generatorURL {:?}: {e}", r.generator_url));
    assert_eq!(
        format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map_or("", |a| a.as_str()),
            uri.path()
        ),
        format!("{EXTERNAL_URL}/graph"),
        "{}",
        r.generator_url
    );
    let Query(query): Query<Vec<(String, String)>> = Query::try_from_uri(&uri).unwrap();
    let groups = spec_rules();
    let rule = groups
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .find(|x| x.alert == alertname)
        .expect("a rule of the file");
    let printed = promql::format_expr(&promql::parse(&rule.expr).unwrap());
    assert_eq!(
        query,
        [
            ("g0.expr".to_string(), printed),
            ("g0.tab".to_string(), "1".to_string())
        ],
        "{}",
        r.generator_url
    );
    Sent {
        labels,
        starts_at,
        ends_at,
        received: r,
    }
}

fn metric(group: &str, alert: &str) -> Labels {
    labels(&[
        ("__name__", "alert_generator_test_suite"),
        ("rulegroup", group),
        ("alertname", alert),
    ])
}

fn with_variant(l: Labels, variant: &str) -> Labels {
    let mut b = l.to_builder();
    b.set("variant", variant);
    b.build()
}

/// The first evaluation at or after sample `index`.
fn first_eval(obs: &[Observed], index: i64) -> i64 {
    let t = Z + index * RW;
    obs.iter()
        .map(|o| o.ts)
        .find(|&ts| ts >= t)
        .expect("evaluated after the sample")
}

fn value_at(source: &[f64], ts: i64) -> f64 {
    let i = ((ts - Z) / RW) as usize;
    source[i.min(source.len() - 1)]
}

/// Checks every evaluation against the expected alert lives: states, values, ActiveAt,
/// annotations, `ALERTS`, and the sends (first on firing, then every 90 s; resolved on
/// resolving, then every 90 s for 15 minutes or until the alert is active again).
fn check(obs: &[Observed], expected: &[Expected]) {
    assert!(obs.len() > 10);
    for o in obs {
        let rel = (o.ts - Z) as f64 / 1000.0;
        let mut want_active = Vec::new();
        let mut want_series = Vec::new();
        let mut want_sent = Vec::new();
        for e in expected {
            for (pi, p) in e.periods.iter().enumerate() {
                let next_active = e.periods.get(pi + 1).map_or(i64::MAX, |n| n.active);
                if (p.active..p.resolved).contains(&o.ts) {
                    let state = match p.fired {
                        Some(f) if o.ts >= f => AlertState::Firing,
                        _ => AlertState::Pending,
                    };
                    want_active.push((
                        e.rule,
                        e.labels.clone(),
                        state,
                        p.active,
                        value_at(&e.source, o.ts),
                    ));
                    let mut b = e.labels.to_builder();
                    b.set("__name__", "ALERTS");
                    b.set("alertstate", state.as_str());
                    want_series.push(b.build());
                    if let Some(f) = p.fired {
                        if o.ts >= f && (o.ts - f) % RESEND_EVERY == 0 {
                            want_sent.push((e.labels.clone(), f, o.ts + 4 * 60_000));
                        }
                    }
                } else if o.ts >= p.resolved
                    && o.ts < next_active
                    && o.ts - p.resolved <= 15 * MIN
                    && p.fired.is_some()
                    && (o.ts - p.resolved) % RESEND_EVERY == 0
                {
                    want_sent.push((e.labels.clone(), p.fired.unwrap(), p.resolved));
                }
            }
        }
        let got_active: Vec<_> = o
            .alerts
            .iter()
            .filter(|(_, a)| a.resolved_at.is_none())
            .map(|(r, a)| {
                let e = expected.iter().find(|e| e.rule == r).unwrap();
                for (k, v) in &e.annotations {
                    assert_eq!(
                        a.annotations.get(*k),
                        Some(v),
                        "at {rel}s: {r} annotation {k}"
                    );
                }
                (e.rule, a.labels.clone(), a.state, a.active_at, a.value)
            })
            .collect();
        let mut got_active = got_active;
        got_active.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        want_active.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        assert_eq!(got_active, want_active, "alerts at {rel}s");
        want_series.sort();
        assert_eq!(o.alerts_series, want_series, "ALERTS at {rel}s");
        let got_sent: Vec<_> = o
            .sent
            .iter()
            .map(|a| {
                // The spec: only firing and inactive (resolved) alerts go to Alertmanager,
                // with the annotations the alert has after this evaluation.
                let (rule, held) = o
                    .alerts
                    .iter()
                    .find(|(_, h)| h.labels == a.labels)
                    .unwrap_or_else(|| panic!("at {rel}s: sent an alert not held: {a:?}"));
                assert!(
                    held.state == AlertState::Firing
                        || (held.state != AlertState::Pending && held.resolved_at.is_some()),
                    "at {rel}s: sent a {:?} alert: {a:?}",
                    held.state
                );
                assert!(held.fired_at.is_some(), "at {rel}s: never fired: {a:?}");
                assert_eq!(
                    a.received.annotations.as_ref(),
                    Some(&held.annotations),
                    "at {rel}s: annotations sent"
                );
                let e = expected.iter().find(|e| e.rule == rule).unwrap();
                for (k, v) in &e.annotations {
                    assert_eq!(held.annotations.get(*k), Some(v), "at {rel}s: sent {k}");
                }
                (a.labels.clone(), a.starts_at, a.ends_at)
            })
            .collect();
        let mut got_sorted = got_sent.clone();
        got_sorted.sort();
        want_sent.sort();
        assert_eq!(got_sorted, want_sent, "sent at {rel}s");
    }
    // Every expected life was seen (the evaluations cover them).
    for e in expected {
        for p in &e.periods {
            assert!(
                obs.iter().any(|o| o.ts == p.active),
                "{} active at {}",
                e.rule,
                p.active
            );
        }
    }
}

fn alert_labels(pairs: &[(&str, &str)]) -> Labels {
    labels(pairs)
}

/// Windows the spec allows for a transition at sample `index`: within one group interval.
fn assert_within_spec(at: i64, index: i64, what: &str) {
    let t = Z + index * RW;
    assert!(
        (t..t + GROUP_INTERVAL).contains(&at),
        "{what} at {} s, spec: {} s",
        (at - Z) / 1000,
        index * 15
    );
}

#[test]
fn pending_and_firing_and_resolved() {
    let group = "PendingAndFiringAndResolved";
    let alert = "PendingAndFiringAndResolved_SimpleAlert";
    let values = sample_slice(&[
        "3", "5", "0x2", "9", "0x3", "11", "0x12", "15", "0x11", "0x20", "19", "0x15", "9", "0x19",
        "15", "0x24", "0x20", "8", "0x15",
    ]);
    assert_eq!(values.len(), 150);
    let obs = simulate(
        group,
        vec![(metric(group, alert), values.clone())],
        150 * RW + 20 * MIN,
    );
    let six_m = 6 * MIN;
    let (a1, a2) = (first_eval(&obs, 8), first_eval(&obs, 89));
    let periods = vec![
        Period {
            active: a1,
            fired: Some(a1 + six_m),
            resolved: first_eval(&obs, 69),
        },
        Period {
            active: a2,
            fired: Some(a2 + six_m),
            resolved: first_eval(&obs, 134),
        },
    ];
    assert_within_spec(a1 + six_m, 32, "first firing");
    assert_within_spec(a2 + six_m, 113, "second firing");
    // The summary follows the value: 11, then 15 (still pending), 19 (firing), 15.
    let obs_values: Vec<String> = obs
        .iter()
        .filter_map(|o| o.alerts.iter().find(|(_, a)| a.resolved_at.is_none()))
        .map(|(_, a)| a.annotations["summary"].clone())
        .collect();
    let mut distinct = obs_values.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        [
            "The value is 11 11",
            "The value is 15 15",
            "The value is 19 19",
            "The value is 15 15"
        ]
    );
    check(
        &obs,
        &[Expected {
            rule: "PendingAndFiringAndResolved_SimpleAlert",
            labels: alert_labels(&[("alertname", alert), ("foo", "bar"), ("rulegroup", group)]),
            periods,
            source: values,
            annotations: vec![("description", "SimpleAlert is firing".to_string())],
        }],
    );
    // Resolved alerts were sent again while the alert was inactive, and the new alert's
    // sends start over at its own firing.
    let resolved_sends = obs
        .iter()
        .flat_map(|o| &o.sent)
        .filter(|a| a.ends_at == first_eval(&obs, 69))
        .count();
    assert!(resolved_sends >= 3, "{resolved_sends}");
}

#[test]
fn pending_and_resolved_always_inactive() {
    let group = "PendingAndResolved_AlwaysInactive";
    let pending = "PendingAndResolved_AlwaysInactive_PendingAlert";
    let inactive = "PendingAndResolved_AlwaysInactive_InactiveAlert";
    let values = sample_slice(&["3", "5", "0x2", "9", "0x3", "11", "0x10", "9"]);
    let obs = simulate(
        group,
        vec![
            (metric(group, pending), values.clone()),
            (metric(group, inactive), values.clone()),
        ],
        (values.len() as i64 + 40) * RW,
    );
    check(
        &obs,
        &[Expected {
            rule: pending,
            labels: alert_labels(&[("alertname", pending), ("foo", "bar"), ("rulegroup", group)]),
            periods: vec![Period {
                active: first_eval(&obs, 8),
                fired: None,
                resolved: first_eval(&obs, 19),
            }],
            source: values,
            annotations: vec![("description", "SimpleAlert is firing".to_string())],
        }],
    );
    assert!(
        obs.iter().all(|o| o.sent.is_empty()),
        "nothing is ever sent"
    );
}

#[test]
fn zero_for_and_small_for() {
    let group = "ZeroFor_SmallFor";
    let zero = "ZeroFor_SmallFor_ZeroFor";
    let small = "ZeroFor_SmallFor_SmallFor";
    let values = sample_slice(&[
        "3", "5", "0x2", "9", "0x3", "15", "0x12", "9", "0x71", "11", "0x12", "9",
    ]);
    let mut series = vec![
        (metric(group, zero), values.clone()),
        (metric(group, small), values.clone()),
    ];
    let ids = ["101", "102", "103"];
    for (i, id) in ids.iter().enumerate() {
        let i = i as i64 + 1;
        let v = sample_slice(&[&i.to_string(), "0x27", &(2 * i).to_string(), "0x200"]);
        series.push((
            labels(&[
                ("__name__", "alert_generator_test_suite"),
                ("rulegroup", group),
                ("for", "template"),
                ("id", id),
            ]),
            v,
        ));
    }
    let obs = simulate(group, series, (values.len() as i64 + 20) * RW);
    let (a1, a2) = (first_eval(&obs, 8), first_eval(&obs, 93));
    let r1 = first_eval(&obs, 21);
    assert!(
        a2 - r1 > 15 * MIN,
        "the resolved alert was dropped before it fires again"
    );
    check(
        &obs,
        &[
            Expected {
                rule: zero,
                labels: alert_labels(&[("alertname", zero), ("foo", "bar"), ("rulegroup", group)]),
                // Zero `for`: firing at once, no pending.
                periods: vec![
                    Period {
                        active: a1,
                        fired: Some(a1),
                        resolved: r1,
                    },
                    Period {
                        active: a2,
                        fired: Some(a2),
                        resolved: first_eval(&obs, 106),
                    },
                ],
                source: values.clone(),
                annotations: vec![
                    ("description", "This should immediately fire".to_string()),
                    (
                        "template_test",
                        "1.049M 1Mi 2m 15s 95.9% 2022-01-25 12:36:43 +0000 UTC".to_string(),
                    ),
                ],
            },
            Expected {
                rule: small,
                labels: alert_labels(&[
                    ("alertname", small),
                    ("ba_dum", "tss"),
                    ("rulegroup", group),
                ]),
                // `for` 15s, below the interval: firing at the next evaluation.
                periods: vec![Period {
                    active: a1,
                    fired: Some(a1 + GROUP_INTERVAL),
                    resolved: r1,
                }],
                source: values,
                annotations: vec![
                    (
                        "description",
                        "This should fire after an interval".to_string(),
                    ),
                    (
                        "template_test",
                        "This Part IS TESTING the strings. ::1 127.0.0.1. 7815. replaced text. ."
                            .to_string(),
                    ),
                ],
            },
        ],
    );
    // `template_query_test` queries the `for="template"` series at the evaluation time:
    // their values are 1, 2, 3 in the first life and 2, 4, 6 in the second.
    let query_test = |ts: i64| {
        let o = obs.iter().find(|o| o.ts == ts).unwrap();
        let (_, a) = o.alerts.iter().find(|(r, _)| r == zero).unwrap();
        a.annotations["template_query_test"].clone()
    };
    assert_eq!(
        query_test(a1),
        "Args are: foo bar 99. first_id:101,101:1,102:2,103:3,"
    );
    assert_eq!(
        query_test(a2),
        "Args are: foo bar 99. first_id:101,101:2,102:4,103:6,"
    );
    let (first_zero, first_small) = (
        obs.iter()
            .find(|o| {
                o.sent
                    .iter()
                    .any(|a| a.labels.get("alertname") == Some(zero))
            })
            .unwrap()
            .ts,
        obs.iter()
            .find(|o| {
                o.sent
                    .iter()
                    .any(|a| a.labels.get("alertname") == Some(small))
            })
            .unwrap()
            .ts,
    );
    assert_within_spec(first_zero, 8, "zero for sent");
    assert_eq!(
        first_small,
        first_zero + GROUP_INTERVAL,
        "small for: sent at the second evaluation"
    );
}

#[test]
fn new_alerts_and_order_check() {
    let group = "NewAlerts_OrderCheck";
    let r1 = "NewAlerts_OrderCheck_Rule1";
    let r2 = "NewAlerts_OrderCheck_Rule2";
    let one = sample_slice(&["1", "0x7", "11", "0x64", "9", "0x20"]);
    let two = sample_slice(&["1", "0x31", "11", "0x32", "9", "0x20"]);
    let l1 = with_variant(metric(group, r1), "one");
    let l2 = with_variant(metric(group, r1), "two");
    let end = one.len().max(two.len()) as i64 * RW + 5 * MIN;
    let obs = simulate(group, vec![(l1, one.clone()), (l2, two.clone())], end);
    let three_m = 3 * MIN;
    let (a11, a12) = (first_eval(&obs, 8), first_eval(&obs, 32));
    let (f12, res12) = (a12 + three_m, first_eval(&obs, 65));
    assert_within_spec(f12, 44, "variant two firing");
    let r2_labels = alert_labels(&[
        ("alertname", r2),
        ("alertstate", "firing"),
        ("ba_dum", "tss"),
        ("foo", "baz"),
        ("rulegroup", group),
    ]);
    check(
        &obs,
        &[
            Expected {
                rule: r1,
                labels: alert_labels(&[
                    ("alertname", r1),
                    ("foo", "bar"),
                    ("rulegroup", group),
                    ("variant", "one"),
                ]),
                periods: vec![Period {
                    active: a11,
                    fired: Some(a11 + three_m),
                    resolved: first_eval(&obs, 73),
                }],
                source: one,
                annotations: vec![(
                    "description",
                    "This should produce more alerts later".to_string(),
                )],
            },
            Expected {
                rule: r1,
                labels: alert_labels(&[
                    ("alertname", r1),
                    ("foo", "bar"),
                    ("rulegroup", group),
                    ("variant", "two"),
                ]),
                periods: vec![Period {
                    active: a12,
                    fired: Some(f12),
                    resolved: res12,
                }],
                source: two,
                annotations: vec![(
                    "description",
                    "This should produce more alerts later".to_string(),
                )],
            },
            Expected {
                rule: r2,
                labels: r2_labels,
                // Rule 2 reads rule 1's ALERTS of the same evaluation: it fires (no `for`)
                // in the evaluation where variant two fires, and resolves with it.
                periods: vec![Period {
                    active: f12,
                    fired: Some(f12),
                    resolved: res12,
                }],
                source: vec![2.0; 200],
                annotations: vec![(
                    "description",
                    format!("Based on ALERTS. Old alertname was {r1}. foo was bar."),
                )],
            },
        ],
    );
}

#[test]
fn check_catches_a_wrong_expectation() {
    // The checker itself can fail: the same run against a life off by one evaluation.
    let group = "PendingAndResolved_AlwaysInactive";
    let pending = "PendingAndResolved_AlwaysInactive_PendingAlert";
    let values = sample_slice(&["3", "5", "0x2", "9", "0x3", "11", "0x10", "9"]);
    let obs = simulate(
        group,
        vec![(metric(group, pending), values.clone())],
        40 * RW,
    );
    let wrong = Expected {
        rule: pending,
        labels: alert_labels(&[("alertname", pending), ("foo", "bar"), ("rulegroup", group)]),
        periods: vec![Period {
            active: first_eval(&obs, 8) + GROUP_INTERVAL,
            fired: None,
            resolved: first_eval(&obs, 19),
        }],
        source: values,
        annotations: vec![],
    };
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&obs, &[wrong])));
    assert!(caught.is_err());
}
