//! Exemplars through the database: appended by series ref, refused when out of order,
//! queried by matchers and time, kept across restarts (WAL replay, checkpoints), resized,
//! and not stored at all while the storage is off.

use model::{Exemplar, Labels, MatchOp, Matcher};
use tsdb::{Db, Options};

const S: i64 = 1000;

fn opts(max_exemplars: usize) -> Options {
    Options {
        retention_ms: 0,
        retention_bytes: 0,
        min_block_ms: 10 * S,
        max_block_ms: 90 * S,
        agent: None,
        max_exemplars,
    }
}

fn series(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "requests_total".to_string()),
        ("i", i.to_string()),
    ])
}

fn ex(trace: &str, value: f64, t: i64) -> Exemplar {
    Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]),
        value,
        timestamp_ms: t,
        has_timestamp: true,
    }
}

fn any() -> Vec<Vec<Matcher>> {
    vec![vec![Matcher::new(
        MatchOp::Equal,
        "__name__",
        "requests_total",
    )
    .unwrap()]]
}

/// Every exemplar stored: (series index label, trace id, time).
fn stored(db: &Db) -> Vec<(String, String, i64)> {
    db.select_exemplars(i64::MIN, i64::MAX, &any())
        .into_iter()
        .flat_map(|s| {
            let i = s.series.get("i").unwrap_or("").to_string();
            s.exemplars.into_iter().map(move |e| {
                (
                    i.clone(),
                    e.labels.get("trace_id").unwrap_or("").to_string(),
                    e.timestamp_ms,
                )
            })
        })
        .collect()
}

/// Samples and one exemplar per series every second from `from` to `to`.
fn fill(db: &Db, refs: &mut Vec<u64>, n: usize, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        if refs.is_empty() {
            let samples: Vec<_> = (0..n).map(|i| (series(i), t, 1.0)).collect();
            *refs = db.append_batch(&[], &samples).unwrap().refs;
        } else {
            let samples: Vec<_> = refs.iter().map(|r| (*r, t, 1.0)).collect();
            db.append_batch(&samples, &[]).unwrap();
        }
        let exemplars = refs
            .iter()
            .map(|r| (*r, ex(&format!("t{t}"), 1.0, t)))
            .collect();
        let r = db.append_exemplars(exemplars).unwrap();
        assert_eq!(r.appended, n);
        t += S;
    }
}

#[test]
fn exemplars_are_stored_checked_and_queried() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), opts(100)).unwrap();
    assert!(db.exemplars_enabled());
    let refs = db
        .append_batch(&[], &[(series(0), 10, 1.0), (series(1), 10, 1.0)])
        .unwrap()
        .refs;
    let r = db
        .append_exemplars(vec![
            (refs[0], ex("a", 1.0, 10)),
            (refs[0], ex("b", 2.0, 20)),
            (refs[1], ex("c", 3.0, 10)),
            // A repeat, and an unknown series.
            (refs[1], ex("c", 3.0, 10)),
            (999, ex("d", 1.0, 10)),
        ])
        .unwrap();
    assert_eq!((r.appended, r.ignored), (3, 2));
    let r = db
        .append_exemplars(vec![(refs[0], ex("e", 1.0, 15))])
        .unwrap();
    assert_eq!(r.out_of_order, 1);
    let long = "x".repeat(200);
    assert_eq!(
        db.append_exemplars(vec![(refs[0], ex(&long, 1.0, 30))])
            .unwrap()
            .too_long,
        1
    );
    assert_eq!(
        stored(&db),
        vec![
            ("0".into(), "a".into(), 10),
            ("0".into(), "b".into(), 20),
            ("1".into(), "c".into(), 10)
        ]
    );
    let only_one = vec![vec![Matcher::new(MatchOp::Equal, "i", "1").unwrap()]];
    assert_eq!(db.select_exemplars(0, 100, &only_one).len(), 1);
    assert!(db.select_exemplars(11, 19, &any()).is_empty());
    let stats = db.exemplar_stats();
    assert_eq!((stats.appended_total, stats.out_of_order_total), (3, 1));
    assert_eq!((stats.in_storage, stats.series_in_storage), (3, 2));
}

#[test]
fn exemplars_survive_restarts_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3;
    let before;
    {
        let db = Db::open_with(dir.path(), opts(1000)).unwrap();
        let mut refs = Vec::new();
        for k in 0..6 {
            fill(&db, &mut refs, n, k * 10 * S, (k + 1) * 10 * S);
            db.maintain().unwrap();
        }
        assert!(
            db.stats
                .checkpoints
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
        before = stored(&db);
        db.sync().unwrap();
    }
    let db = Db::open_with(dir.path(), opts(1000)).unwrap();
    assert!(db.replay_report().checkpoint.is_some());
    let after = stored(&db);
    // Exemplars older than the head are dropped with the segments that held them, as
    // Prometheus's checkpoints drop them; every one the head's time range covers is back.
    let head_min = db.head_stats(1).min_time.unwrap_or(i64::MAX);
    let expected: Vec<_> = before.iter().filter(|e| e.2 >= head_min).cloned().collect();
    assert!(!expected.is_empty());
    for e in &expected {
        assert!(after.contains(e), "{e:?} lost: {after:?}");
    }
    assert!(after.iter().all(|e| before.contains(e)));
}

#[test]
fn resizing_keeps_the_newest_and_zero_turns_storage_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), opts(10)).unwrap();
    let mut refs = Vec::new();
    fill(&db, &mut refs, 2, 0, 10 * S);
    assert_eq!(stored(&db).len(), 10);
    db.resize_exemplars(4);
    let kept = stored(&db);
    assert_eq!(kept.len(), 4);
    assert!(kept.iter().all(|e| e.2 >= 8 * S), "{kept:?}");
    db.resize_exemplars(0);
    assert!(!db.exemplars_enabled());
    assert!(stored(&db).is_empty());
    let r = db
        .append_exemplars(vec![(refs[0], ex("z", 1.0, 20 * S))])
        .unwrap();
    assert_eq!((r.appended, r.ignored), (0, 1));
}

#[test]
fn nothing_is_stored_while_the_storage_is_off() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open_with(dir.path(), opts(0)).unwrap();
        let refs = db.append_batch(&[], &[(series(0), 10, 1.0)]).unwrap().refs;
        let r = db
            .append_exemplars(vec![(refs[0], ex("a", 1.0, 10))])
            .unwrap();
        assert_eq!((r.appended, r.ignored), (0, 1));
        db.sync().unwrap();
    }
    // Turned on later: nothing was logged while it was off.
    let db = Db::open_with(dir.path(), opts(10)).unwrap();
    assert!(stored(&db).is_empty());
}
