//! The query storage that joins local data and remote reads, on a real TSDB.

use std::sync::{Arc, Mutex};

use model::{Labels, MatchOp, Matcher};
use promql::Storage;

/// Two series with 20 samples each, 15 s apart.
fn db_with_series(dir: &std::path::Path) -> tsdb::Db {
    let db = tsdb::Db::open(dir).unwrap();
    let mut samples = Vec::new();
    for t in 0..20 {
        for job in ["a", "b"] {
            let labels = Labels::from_pairs([("__name__", "up"), ("job", job)]);
            samples.push((labels, t * 15_000, t as f64));
        }
    }
    db.append(&samples).unwrap();
    db
}

#[test]
fn select_last_without_remote_reads_loads_one_sample_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fanout = remote::read::Fanout {
        local: Arc::new(db_with_series(dir.path())),
        remote: Arc::new(remote::read::ReadStorage::new(runtime.handle().clone())),
    };
    let matchers = [Matcher::new(MatchOp::Equal, "__name__", "up").unwrap()];
    let admitted = Mutex::new(Vec::new());
    let admit = |_: &Labels, samples: usize| {
        admitted.lock().unwrap().push(samples);
        true
    };
    let (found, warnings) = fanout
        .select_last(&matchers, 0, 19 * 15_000, &admit)
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut newest: Vec<_> = found.iter().map(|s| s.samples.clone()).collect();
    newest.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(newest, vec![vec![(285_000, 19.0)]; 2]);
    // What the query's memory budget was charged: the newest sample of each series,
    // not the 20 a whole select loads.
    assert_eq!(*admitted.lock().unwrap(), vec![1, 1]);

    // The whole select still loads every sample.
    admitted.lock().unwrap().clear();
    let (found, _) = fanout.select(&matchers, 0, 19 * 15_000, &admit).unwrap();
    assert_eq!(found.iter().map(|s| s.samples.len()).sum::<usize>(), 40);
    assert_eq!(*admitted.lock().unwrap(), vec![20, 20]);
}
