//! Agent mode: series keep only their newest sample, appends are ordered per series as in
//! server mode, the WAL holds everything, and truncation keeps the segments a reader holds
//! while folding the rest into a checkpoint of series only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::{Labels, MatchOp, Matcher};
use tsdb::{AgentOptions, Db, Options};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn agent(dir: &std::path::Path) -> Db {
    let opts = Options {
        agent: Some(AgentOptions {
            min_time: Duration::ZERO,
            max_time: Duration::from_secs(3600),
            truncate_every: Duration::ZERO,
        }),
        max_exemplars: 0,
        ..Options::default()
    };
    Db::open_with(dir, opts).unwrap()
}

fn series(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name)])
}

fn segments(dir: &std::path::Path) -> Vec<u64> {
    tsdb::wal::segment_numbers(&dir.join("wal")).unwrap()
}

#[test]
fn only_the_newest_sample_is_held_and_order_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = agent(dir.path());
    let t = now_ms();
    for i in 0..500 {
        db.append(&[(series("a"), t + i, i as f64)]).unwrap();
    }
    // The head keeps one series with its newest timestamp, and nothing to select: no
    // samples and no label index (the agent answers no queries).
    assert_eq!(db.num_series(), 1);
    assert_eq!(db.head_max_time(), t + 499);
    let all = db.select(
        &[Matcher::new(MatchOp::Equal, "__name__", "a").unwrap()],
        i64::MIN,
        i64::MAX,
    );
    assert!(all.is_empty());
    // Older than the newest: refused as out of order, as Prometheus's agent does; the
    // newest again with the same value is a duplicate, with another value refused.
    let r = db.append(&[(series("a"), t, 0.0)]).unwrap();
    assert_eq!((r.appended, r.out_of_order), (0, 1));
    let r = db.append(&[(series("a"), t + 499, 499.0)]).unwrap();
    assert_eq!((r.appended, r.out_of_order, r.duplicates), (0, 0, 0));
    let r = db.append(&[(series("a"), t + 499, 1.0)]).unwrap();
    assert_eq!((r.appended, r.duplicates), (0, 1));
    let r = db.append(&[(series("a"), t + 500, 500.0)]).unwrap();
    assert_eq!(r.appended, 1);
    assert_eq!(db.head_max_time(), t + 500);
    // Everything is in the WAL: a reader from the start sees all 500 samples.
    let mut seen = 0;
    let mut tail = tsdb::wal::WalTail::new(&dir.path().join("wal"), Default::default());
    tail.read(usize::MAX, |record, _| seen += record.sample_count())
        .unwrap();
    assert_eq!(seen, 501);
}

#[test]
fn truncation_keeps_held_segments_and_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = agent(dir.path());
    let t = now_ms();
    db.append(&[(series("a"), t, 1.0)]).unwrap();
    // Each maintenance pass cuts a segment; hold the first.
    db.hold_wal("reader", Some(0));
    for i in 1..6 {
        db.append(&[(series("a"), t + i, 1.0)]).unwrap();
        db.maintain().unwrap();
    }
    assert_eq!(segments(dir.path())[0], 0, "the held segment is kept");
    db.hold_wal("reader", None);
    for i in 6..10 {
        db.append(&[(series("a"), t + i, 1.0)]).unwrap();
        db.maintain().unwrap();
    }
    let left = segments(dir.path());
    assert!(left[0] > 0 && left.len() < 6, "{left:?}");
    // The series survives in the checkpoint: a restart knows it.
    drop(db);
    let db = agent(dir.path());
    assert_eq!(db.num_series(), 1);
}
