//! A query's cost is bounded before the work is done: sizes known in advance (steps ×
//! series) are refused over `max_samples` before anything is allocated, every kind of
//! result counts against it, and the deadline and cancellation are checked while one
//! series is walked over billions of steps.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use model::Labels;
use promql::{Engine, EngineOptions, EvalError, QueryError, QueryOptions};

fn db(dir: &std::path::Path) -> tsdb::Db {
    let db = tsdb::Db::open(dir).unwrap();
    let labels = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
    let samples: Vec<_> = (0..2_000)
        .map(|i| (labels.clone(), i * 1_000, 1.0))
        .collect();
    db.append(&samples).unwrap();
    db
}

fn engine(max_samples: usize) -> Engine {
    Engine::new(EngineOptions {
        max_samples,
        timeout: None,
        ..EngineOptions::default()
    })
}

fn exec(e: &Engine, db: &tsdb::Db, q: &str, t: i64, opts: &QueryOptions) -> Result<(), EvalError> {
    let expr = promql::parse(q).unwrap();
    e.exec(db, &expr, q, t, t, 0, opts).map(|_| ())
}

#[test]
fn subqueries_too_large_are_refused_before_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let e = engine(50_000_000);
    let started = Instant::now();
    // Ten billion steps: this grew to 24 GB before.
    for q in [
        "count_over_time(vector(1)[300y:1s])",
        "count_over_time(up[1000y:1s])",
        "vector(1)[300y:1s]",
        "sum_over_time(max_over_time(vector(1)[1d:1s])[300y:1d])",
    ] {
        let err = exec(&e, &db, q, 2_000_000, &QueryOptions::default()).unwrap_err();
        assert_eq!(err, EvalError::TooManySamples, "{q}");
        assert_eq!(
            err.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Within the limit, the same shape answers.
    exec(
        &e,
        &db,
        "count_over_time(vector(1)[1d:1s])",
        2_000_000,
        &Default::default(),
    )
    .unwrap();
}

#[test]
fn every_result_type_counts_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let e = engine(1_000);
    let run = |q: &str| exec(&e, &db, q, 2_000_000, &QueryOptions::default());
    // A range vector returned by an instant query (1,800 samples).
    assert_eq!(run("up[30m]"), Err(EvalError::TooManySamples));
    assert_eq!(run("up[10m]"), Ok(()));
    // A subquery's range vector.
    assert_eq!(run("up[30m:1s]"), Err(EvalError::TooManySamples));
    // Scalars and vectors of a range query (2,001 steps).
    let expr = promql::parse("1").unwrap();
    let scalar = e.exec(&db, &expr, "1", 0, 2_000_000, 1_000, &Default::default());
    assert_eq!(scalar.unwrap_err(), EvalError::TooManySamples);
    let expr = promql::parse("up").unwrap();
    let vector = e.exec(&db, &expr, "up", 0, 2_000_000, 1_000, &Default::default());
    assert_eq!(vector.unwrap_err(), EvalError::TooManySamples);
    // A step-invariant value copied to every step.
    let expr = promql::parse("up @ 100").unwrap();
    let pinned = e.exec(
        &db,
        &expr,
        "up @ 100",
        0,
        2_000_000,
        1_000,
        &Default::default(),
    );
    assert_eq!(pinned.unwrap_err(), EvalError::TooManySamples);
}

/// One series over a long subquery: the timeout was checked only every 256 series, so
/// never; now within milliseconds of the deadline.
#[test]
fn one_series_over_billions_of_steps_stops_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let e = engine(usize::MAX);
    let q = "count_over_time(up[1000y:1s])";
    let started = Instant::now();
    let opts = QueryOptions {
        timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    assert_eq!(exec(&e, &db, q, 2_000_000, &opts), Err(EvalError::Timeout));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn cancellation_and_stop_end_a_running_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let e = engine(usize::MAX);
    let q = "count_over_time(up[1000y:1s])";
    // The client goes away.
    let cancel = AtomicBool::new(false);
    std::thread::scope(|s| {
        let running = s.spawn(|| {
            let opts = QueryOptions {
                cancel: Some(&cancel),
                ..Default::default()
            };
            let started = Instant::now();
            (exec(&e, &db, q, 2_000_000, &opts), started)
        });
        std::thread::sleep(Duration::from_millis(200));
        cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        let stopped = Instant::now();
        let (result, _) = running.join().unwrap();
        assert_eq!(result, Err(EvalError::Canceled));
        assert!(stopped.elapsed() < Duration::from_secs(1));
    });
    // The server shuts down: running queries end, later ones are refused.
    std::thread::scope(|s| {
        let running = s.spawn(|| exec(&e, &db, q, 2_000_000, &Default::default()));
        std::thread::sleep(Duration::from_millis(200));
        e.stop();
        let stopped = Instant::now();
        assert_eq!(running.join().unwrap(), Err(EvalError::Canceled));
        assert!(stopped.elapsed() < Duration::from_secs(1));
    });
    assert_eq!(
        e.instant(&db, "up", 1_000),
        Err(QueryError::Eval(EvalError::Canceled))
    );
}

/// What a select loads counts against the memory budgets, series by series as storage
/// loads them: a select too big for the query's budget stops early, and the memory is
/// returned when the query ends, however it ends.
#[test]
fn loaded_samples_count_against_the_memory_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let db = tsdb::Db::open(dir.path()).unwrap();
    let mut samples = Vec::new();
    for series in 0..1_000 {
        let labels = Labels::from_pairs([("__name__", "m"), ("i", &series.to_string())]);
        for t in 0..100 {
            samples.push((labels.clone(), t * 1_000, 1.0));
        }
    }
    db.append(&samples).unwrap();
    // 100,000 samples: 1.6 MB of points and 1,000 label sets.
    let e = Engine::new(EngineOptions {
        max_query_memory: 1 << 20,
        max_total_memory: 4 << 20,
        ..EngineOptions::default()
    });
    let opts = QueryOptions::default();
    let refused = exec(&e, &db, "count_over_time(m[2m])", 100_000, &opts);
    assert_eq!(refused, Err(EvalError::QueryMemory(1 << 20)));
    assert_eq!(e.memory().reserved(), 0);
    assert_eq!(
        exec(
            &e,
            &db,
            "count_over_time(m{i=~\"1..\"}[2m])",
            100_000,
            &opts
        ),
        Ok(())
    );
    assert_eq!(e.memory().reserved(), 0);

    // The total: a budget smaller than one query's needs refuses it as "try later".
    let e = Engine::new(EngineOptions {
        max_query_memory: 0,
        max_total_memory: 1 << 20,
        ..EngineOptions::default()
    });
    let refused = exec(&e, &db, "m[2m]", 100_000, &opts);
    assert_eq!(refused, Err(EvalError::TotalMemory(1 << 20)));
    assert_eq!(e.memory().reserved(), 0);
    let message = EvalError::TotalMemory(1 << 20).to_string();
    assert!(
        message.contains("1.0 MiB") && message.contains("--query.max-memory"),
        "{message}"
    );
}
