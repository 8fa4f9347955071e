//! Engine settings on a real TSDB: delayed name removal, limits, cancellation.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use model::Labels;
use promql::{Engine, EngineOptions, EvalError, QueryError, QueryOptions, Value};

fn db_with_counters(dir: &std::path::Path) -> tsdb::Db {
    let db = tsdb::Db::open(dir).unwrap();
    let mut samples = Vec::new();
    for t in 0..20 {
        for name in ["a_total", "b_total"] {
            let labels = Labels::from_pairs([("__name__", name), ("job", "x")]);
            samples.push((labels, t * 15_000, (t * 10) as f64));
        }
    }
    db.append(&samples).unwrap();
    db
}

fn engine(delayed: bool, max_samples: usize) -> Engine {
    Engine::new(EngineOptions {
        delayed_name_removal: delayed,
        max_samples,
        ..EngineOptions::default()
    })
}

#[test]
fn name_removal_eager_by_default_delayed_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_counters(dir.path());
    let q = r#"sum(rate({__name__=~".+_total"}[1m]))"#;
    // As Prometheus by default: rate drops the names, the two series collide.
    let err = engine(false, 1_000_000)
        .instant(&db, q, 200_000)
        .unwrap_err();
    assert_eq!(
        err,
        QueryError::Eval(EvalError::Execution(
            "vector cannot contain metrics with the same labelset".into()
        ))
    );
    // With delayed removal the names survive until the sum.
    let res = engine(true, 1_000_000).instant(&db, q, 200_000).unwrap();
    match res.value {
        Value::Vector(v) => {
            assert_eq!(v.len(), 1);
            assert!((v[0].v - 2.0 * 10.0 / 15.0).abs() < 1e-9, "{}", v[0].v);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn limits_end_queries_with_prometheus_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_counters(dir.path());
    let err = engine(false, 5)
        .instant(&db, "sum_over_time(a_total[10m])", 200_000)
        .unwrap_err();
    assert_eq!(err, QueryError::Eval(EvalError::TooManySamples));
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );

    let e = engine(false, 1_000_000);
    let expr = promql::parse("a_total").unwrap();
    let timed_out = e.exec(
        &db,
        &expr,
        "a_total",
        200_000,
        200_000,
        0,
        &QueryOptions {
            timeout: Some(Duration::ZERO),
            ..Default::default()
        },
    );
    assert_eq!(timed_out.unwrap_err(), EvalError::Timeout);

    let cancel = AtomicBool::new(true);
    let canceled = e.exec(
        &db,
        &expr,
        "a_total",
        200_000,
        200_000,
        0,
        &QueryOptions {
            cancel: Some(&cancel),
            ..Default::default()
        },
    );
    assert_eq!(canceled.unwrap_err(), EvalError::Canceled);
}

#[test]
fn start_timestamps_are_used_only_when_asked() {
    // A delta series: every minute a sample of 60 that covers the minute before it.
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path()).unwrap();
    let labels = Labels::from_pairs([("__name__", "requests_total"), ("job", "x")]);
    let samples: Vec<(Labels, i64, f64)> = (1..=10)
        .map(|m| (labels.clone(), m * 60_000, 60.0))
        .collect();
    let starts: Vec<i64> = (1..=10).map(|m| (m - 1) * 60_000).collect();
    db.append_batch_with_starts(&[], &[], &samples, &starts)
        .unwrap();
    let value = |use_starts: bool, q: &str| -> Vec<f64> {
        let e = Engine::new(EngineOptions {
            use_start_timestamps: use_starts,
            ..EngineOptions::default()
        });
        match e.instant(&db, q, 600_000).unwrap().value {
            Value::Vector(v) => v.iter().map(|s| s.v).collect(),
            other => panic!("{other:?}"),
        }
    };
    // Off (Prometheus's default): a flat counter, nothing increased.
    assert_eq!(value(false, "increase(requests_total[5m])"), vec![0.0]);
    assert_eq!(
        value(false, "start_timestamp(requests_total)"),
        Vec::<f64>::new()
    );
    // On: every sample is a reset (its start is the previous sample), 60 a minute.
    let on = value(true, "increase(requests_total[5m])");
    assert!((on[0] - 300.0).abs() < 1e-9, "{on:?}");
    assert_eq!(value(true, "resets(requests_total[5m])"), vec![4.0]);
    assert_eq!(value(true, "irate(requests_total[5m])"), vec![1.0]);
    assert_eq!(value(true, "start_timestamp(requests_total)"), vec![540.0]);
    // Through a subquery the start timestamps are gone.
    assert_eq!(value(true, "increase(requests_total[5m:1m])"), vec![0.0]);
}
