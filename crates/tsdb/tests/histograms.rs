//! Native histograms through the database: appended, checked, read back from the head,
//! after a restart (WAL replay, checkpoints), from blocks cut from the head and compacted,
//! and series that change between floats and histograms. Block ranges are shrunk to
//! seconds so that hours of data fit in a test.

use model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};
use model::{Labels, MatchOp, Matcher};
use tsdb::{Db, Options};

const S: i64 = 1000;

fn opts(block: i64) -> Options {
    Options {
        retention_ms: 0,
        retention_bytes: 0,
        min_block_ms: block,
        max_block_ms: block * 9,
        agent: None,
        max_exemplars: 0,
    }
}

fn labels(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name.to_string()), ("job", "test".to_string())])
}

/// A counter histogram at step `i`: buckets grow, one more bucket every 50 steps.
fn int_at(i: i64) -> Histogram {
    let n = 3 + (i / 50) as usize;
    let counts: Vec<u64> = (0..n).map(|k| (i as u64 + 1) * (k as u64 + 1)).collect();
    let mut prev = 0i64;
    let deltas = counts
        .iter()
        .map(|&c| {
            let d = c as i64 - prev;
            prev = c as i64;
            d
        })
        .collect();
    Histogram {
        schema: 1,
        zero_threshold: 0.001,
        zero_count: i as u64,
        count: i as u64 + counts.iter().sum::<u64>(),
        sum: i as f64 * 2.5,
        positive_spans: vec![Span::new(0, n as u32)],
        positive_buckets: deltas,
        ..Histogram::default()
    }
}

fn float_at(i: i64) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: 0,
        count: 3.5 + i as f64,
        sum: -1.25 * i as f64,
        zero_count: 0.5,
        positive_spans: vec![Span::new(-1, 2)],
        positive_buckets: vec![1.0, 2.0 + i as f64],
        ..FloatHistogram::default()
    }
}

fn select(db: &Db, name: &str) -> tsdb::SeriesData {
    let m = Matcher::new(MatchOp::Equal, "__name__", name).unwrap();
    let mut found = db.select(&[m], i64::MIN, i64::MAX);
    assert_eq!(found.len(), 1, "{name}");
    found.remove(0)
}

/// What reads must give back for each series, as float histograms (buckets compared
/// without the empty ones a recoded chunk adds).
fn check(db: &Db, upto: i64, context: &str) {
    let ints = select(db, "ints");
    assert_eq!(ints.histograms.len() as i64, upto, "{context}: ints");
    for (i, (t, h)) in ints.histograms.iter().enumerate() {
        let want = int_at(i as i64).to_float();
        assert_eq!(*t, i as i64 * S, "{context}");
        assert_eq!(nonzero(h), nonzero(&want), "{context}: ints at {t}");
        assert_eq!(
            (h.count, h.sum, h.zero_count),
            (want.count, want.sum, want.zero_count)
        );
    }
    assert!(ints.samples.is_empty());
    let floats = select(db, "floats");
    assert_eq!(floats.histograms.len() as i64, upto, "{context}: floats");
    for (i, (_, h)) in floats.histograms.iter().enumerate() {
        assert!(
            h.equals(&float_at(i as i64)),
            "{context}: floats at {i}: {h:?}"
        );
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    }
    // A series that switches: floats below half-way, histograms after.
    let mixed = select(db, "mixed");
    let half = upto / 2;
    assert_eq!(mixed.samples.len() as i64, half, "{context}: mixed floats");
    assert_eq!(
        mixed.histograms.len() as i64,
        upto - half,
        "{context}: mixed histograms"
    );
    assert_eq!(mixed.histograms[0].0, half * S);
}

fn nonzero(h: &FloatHistogram) -> Vec<(i32, f64)> {
    h.positive_bucket_iter()
        .filter(|b| b.count != 0.0)
        .map(|b| (b.index, b.count))
        .collect()
}

fn fill(db: &Db, from: i64, to: i64, half: i64) {
    for i in from..to {
        let t = i * S;
        let r = db
            .append_histograms(&[
                (labels("ints"), t, HistogramValue::Int(int_at(i))),
                (labels("floats"), t, HistogramValue::Float(float_at(i))),
            ])
            .unwrap();
        assert_eq!(r.appended, 2, "at {i}: {r:?}");
        if i < half {
            db.append(&[(labels("mixed"), t, i as f64)]).unwrap();
        } else {
            db.append_histograms(&[(labels("mixed"), t, HistogramValue::Int(int_at(i)))])
                .unwrap();
        }
    }
}

#[test]
fn histograms_survive_head_wal_blocks_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let steps = 200;
    {
        let db = Db::open_with(dir.path(), opts(20 * S)).unwrap();
        fill(&db, 0, steps, steps / 2);
        check(&db, steps, "head");
        // The newest sample of each kind.
        let m = Matcher::new(MatchOp::Equal, "job", "test").unwrap();
        let last = db.select_last(&[m], 0, i64::MAX);
        assert_eq!(last.len(), 3);
        assert!(last
            .iter()
            .all(|s| s.histograms.len() == 1 && s.samples.is_empty()));
    }
    // Replayed from the WAL.
    let db = Db::open_with(dir.path(), opts(20 * S)).unwrap();
    check(&db, steps, "after restart");
    // Cut into blocks (200 s of data, 20 s blocks), the WAL checkpointed, and restarted.
    let report = db.maintain().unwrap();
    assert!(report.head_blocks.len() >= 5, "{report:?}");
    let samples: u64 = db.blocks().iter().map(|b| b.stats.num_samples).sum();
    assert!(samples > 0);
    check(&db, steps, "blocks and head");
    // More maintenance compacts the blocks.
    db.maintain().unwrap();
    check(&db, steps, "compacted");
    drop(db);
    let db = Db::open_with(dir.path(), opts(20 * S)).unwrap();
    check(&db, steps, "restarted with blocks");
}

#[test]
fn histograms_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let h = HistogramValue::Int(int_at(5));
    let r = db
        .append_histograms(&[(labels("x"), 10 * S, h.clone())])
        .unwrap();
    assert_eq!((r.appended, r.new_series), (1, 1));
    // An identical repeat is ignored, a different histogram at the same time is a
    // duplicate, an older one out of order.
    let r = db
        .append_histograms(&[(labels("x"), 10 * S, h.clone())])
        .unwrap();
    assert_eq!(r.appended + r.duplicates, 0, "{r:?}");
    let other = HistogramValue::Int(int_at(6));
    let r = db
        .append_histograms(&[(labels("x"), 10 * S, other.clone())])
        .unwrap();
    assert_eq!(r.duplicates, 1);
    let r = db
        .append_histograms(&[(labels("x"), 5 * S, other)])
        .unwrap();
    assert_eq!(r.out_of_order, 1);
    // An invalid histogram (its count is less than its buckets hold) is refused.
    let mut bad = int_at(7);
    bad.count = 1;
    let r = db
        .append_histograms(&[(labels("x"), 20 * S, HistogramValue::Int(bad))])
        .unwrap();
    assert_eq!(r.invalid_histograms, 1);
    assert_eq!(select(&db, "x").histograms.len(), 1);
}

/// The start timestamp of histogram step `i`: a cumulative series that restarts every 70
/// steps (the start is the restart's time), with none known for the first 10 steps.
fn start_at(i: i64) -> i64 {
    if i < 10 {
        0
    } else {
        (i / 70) * 70 * S + 1
    }
}

fn check_starts(db: &Db, upto: i64, context: &str) {
    let s = select(db, "with_starts");
    assert_eq!(s.histograms.len(), upto as usize, "{context}");
    assert_eq!(s.hist_starts.len(), upto as usize, "{context}");
    for (i, (&st, (t, h))) in s.hist_starts.iter().zip(&s.histograms).enumerate() {
        assert_eq!(*t, i as i64 * S, "{context}");
        assert_eq!(st, start_at(i as i64), "{context}: start of sample {i}");
        assert_eq!(h.count, int_at(i as i64).count as f64, "{context}");
    }
    // The newest sample carries its start too.
    let m = Matcher::new(MatchOp::Equal, "__name__", "with_starts").unwrap();
    let last = db.select_last(&[m], 0, i64::MAX);
    assert_eq!(last[0].hist_starts, vec![start_at(upto - 1)], "{context}");
}

#[test]
fn start_timestamps_of_histograms_survive_head_wal_blocks_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let steps = 200;
    {
        let db = Db::open_with(dir.path(), opts(20 * S)).unwrap();
        for i in 0..steps {
            let batch = [(labels("with_starts"), i * S, HistogramValue::Int(int_at(i)))];
            let r = db
                .append_histogram_batch_with_starts(&[], &batch, &[], &[start_at(i)])
                .unwrap();
            assert_eq!(r.result.appended, 1);
        }
        check_starts(&db, steps, "head");
    }
    let db = Db::open_with(dir.path(), opts(20 * S)).unwrap();
    check_starts(&db, steps, "after restart");
    db.maintain().unwrap();
    check_starts(&db, steps, "blocks and head");
    db.maintain().unwrap();
    check_starts(&db, steps, "compacted");
    drop(db);
    let db = Db::open_with(dir.path(), opts(20 * S)).unwrap();
    check_starts(&db, steps, "restarted with blocks");
}
