//! Out-of-order ingestion (`storage.tsdb.out_of_order_time_window`) on real files: samples
//! inside the window are stored and queried with the in-order ones, samples outside are
//! refused and counted as before, and every stored sample survives WAL replay,
//! checkpoints, head cuts (into the block being cut, or blocks of their own when older
//! than the newest block) and compaction, exactly once. Block ranges are seconds long.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use model::{Labels, MatchOp, Matcher};
use tsdb::{wal::Record, Db, Options};

const S: i64 = 1000;

fn opts() -> Options {
    Options {
        retention_ms: 0,
        retention_bytes: 0,
        min_block_ms: 10 * S,
        max_block_ms: 90 * S,
        agent: None,
        max_exemplars: 0,
    }
}

fn labels(name: &str) -> Labels {
    Labels::from_pairs([("__name__", "late_metric"), ("s", name)])
}

fn all_matcher() -> Matcher {
    Matcher::new(MatchOp::Equal, "__name__", "late_metric").unwrap()
}

/// What the database should hold: per series, time → value.
type Model = BTreeMap<String, BTreeMap<i64, f64>>;

fn open(dir: &std::path::Path, window_s: u64) -> Db {
    let db = Db::open_with(dir, opts()).unwrap();
    db.set_out_of_order_time_window(Duration::from_secs(window_s));
    db
}

/// Appends one sample, expecting it to be stored (`late`: out of order).
fn put(db: &Db, model: &mut Model, name: &str, t: i64, v: f64, late: bool) {
    let r = db.append(&[(labels(name), t, v)]).unwrap();
    assert_eq!(
        (r.appended, r.out_of_order_appended),
        (1, usize::from(late)),
        "{name} at {t}: {r:?}"
    );
    model.entry(name.to_string()).or_default().insert(t, v);
}

/// In-order samples every second in `[from, to)` for each series.
fn fill(db: &Db, model: &mut Model, names: &[&str], from: i64, to: i64) {
    for t in (from..to).step_by(S as usize) {
        for name in names {
            put(db, model, name, t, t as f64 / 1000.0, false);
        }
    }
}

fn check(db: &Db, model: &Model, when: &str) {
    let mut got: Vec<(String, Vec<(i64, f64)>)> = db
        .select(&[all_matcher()], i64::MIN, i64::MAX)
        .into_iter()
        .map(|s| (s.labels.get("s").unwrap().to_string(), s.samples))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let want: Vec<(String, Vec<(i64, f64)>)> = model
        .iter()
        .map(|(name, samples)| {
            (
                name.clone(),
                samples.iter().map(|(t, v)| (*t, *v)).collect(),
            )
        })
        .collect();
    assert_eq!(got, want, "{when}");
}

/// Blocks do not overlap and hold every sample below the newest block's end once.
fn check_blocks(db: &Db, model: &Model, when: &str) {
    let metas = db.blocks();
    for pair in metas.windows(2) {
        assert!(
            pair[0].max_time <= pair[1].min_time,
            "{when}: overlapping blocks left {metas:?}"
        );
    }
    let end = metas.iter().map(|m| m.max_time).max().unwrap_or(i64::MIN);
    let in_blocks: u64 = metas.iter().map(|m| m.stats.num_samples).sum();
    let expected = model
        .values()
        .map(|s| s.range(..end).count() as u64)
        .sum::<u64>();
    assert_eq!(in_blocks, expected, "{when}: samples in blocks");
}

#[test]
fn window_accepts_late_samples_and_refuses_older_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), opts()).unwrap();
    let mut model = Model::new();
    fill(&db, &mut model, &["a"], 10 * S, 21 * S);
    // No window (the default): refused and counted as before.
    let r = db.append(&[(labels("a"), 15_500, 1.0)]).unwrap();
    assert_eq!((r.appended, r.out_of_order), (0, 1));
    assert_eq!(db.out_of_order_time_window(), Duration::ZERO);

    db.set_out_of_order_time_window(Duration::from_secs(8));
    assert_eq!(db.out_of_order_time_window(), Duration::from_secs(8));
    // The head's newest sample is at 20 s: 12 s and later are inside the window.
    put(&db, &mut model, "a", 15_500, 15.25, true);
    put(&db, &mut model, "a", 12_000 + 1, 12.5, true);
    let r = db.append(&[(labels("a"), 11_500, 1.0)]).unwrap();
    assert_eq!((r.appended, r.out_of_order), (0, 1), "outside the window");
    // Repeats: the same sample is ignored, another value at its time refused as a
    // duplicate, against out-of-order samples and in-order ones alike.
    let r = db
        .append(&[
            (labels("a"), 15_500, 15.25),
            (labels("a"), 15_500, 7.0),
            (labels("a"), 14_000, 14.0),
            (labels("a"), 14_000, 7.0),
        ])
        .unwrap();
    assert_eq!((r.appended, r.duplicates, r.out_of_order), (0, 2, 0));
    // A new series' first sample is in order whatever its time.
    put(&db, &mut model, "b", 13 * S, 1.0, false);
    put(&db, &mut model, "b", 12 * S, 2.0, true);
    check(&db, &model, "head");
    // An instant lookup sees a late sample newer than the in-order ones before it.
    let last = db.select_last(&[all_matcher()], 15_000, 15_700);
    let a = last.iter().find(|s| s.labels == labels("a")).unwrap();
    assert_eq!(a.samples, vec![(15_500, 15.25)]);
    // Counters: two refused as out of order, three late samples stored.
    assert_eq!(db.stats.out_of_order.load(Ordering::Relaxed), 2);
    assert_eq!(db.stats.out_of_order_appended.load(Ordering::Relaxed), 3);
    assert_eq!(db.stats.duplicates.load(Ordering::Relaxed), 2);

    // The window changes at run time: back to 0 refuses again, a larger one accepts more.
    db.set_out_of_order_time_window(Duration::ZERO);
    let r = db.append(&[(labels("a"), 16_500, 1.0)]).unwrap();
    assert_eq!((r.appended, r.out_of_order), (0, 1));
    db.set_out_of_order_time_window(Duration::from_secs(60));
    put(&db, &mut model, "a", 10_500, 10.25, true);
    check(&db, &model, "after window changes");
    drop(db);
    let db = open(dir.path(), 0);
    check(&db, &model, "after restart");
}

#[test]
fn late_samples_survive_restart_cuts_checkpoints_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    // "gap" has no in-order samples in [10, 30): its late samples there make it a
    // series with only late samples in that block.
    let steady = ["a", "b"];
    {
        let db = open(dir.path(), 20);
        fill(&db, &mut model, &steady, 0, 35 * S);
        fill(&db, &mut model, &["gap"], 0, 10 * S);
        fill(&db, &mut model, &["gap"], 30 * S, 35 * S);
        for k in 15..34 {
            put(&db, &mut model, "a", k * S + 500, k as f64 + 0.25, true);
        }
        put(&db, &mut model, "gap", 15_500, 15.25, true);
        put(&db, &mut model, "gap", 25_500, 25.25, true);
        check(&db, &model, "head");
    }
    let db = open(dir.path(), 20);
    check(&db, &model, "after WAL replay");

    // The head spans 35 s: [0, 10) and [10, 20) are cut, late samples merged into the
    // second; those at 20 s and later stay in the head.
    let report = db.maintain().unwrap();
    assert_eq!(report.head_blocks.len(), 2, "{report:?}");
    assert_eq!(report.head_blocks[1].min_time, 10 * S);
    assert_eq!(report.head_blocks[1].stats.num_series, 3);
    check(&db, &model, "after the cut");
    check_blocks(&db, &model, "after the cut");

    // Older than the newest block (ends at 20 s) but inside the window (from 14 s).
    put(&db, &mut model, "b", 17_500, 17.25, true);
    put(&db, &mut model, "gap", 16_500, 16.25, true);
    // A timestamp a block holds already (blocks are not read on append): stored, but the
    // block written first keeps its sample, in queries and once the blocks are merged.
    let r = db.append(&[(labels("b"), 17 * S, 99.0)]).unwrap();
    assert_eq!(r.out_of_order_appended, 1);
    let r = db.append(&[(labels("b"), 13_500, 1.0)]).unwrap();
    assert_eq!(
        r.out_of_bounds, 1,
        "older than the window and the newest block"
    );
    check(&db, &model, "late samples below the newest block");
    drop(db);
    let db = open(dir.path(), 20);
    check(&db, &model, "after restart with flush markers in the WAL");

    // Many more cuts: late samples below the newest block get blocks of their own that
    // compaction merges; segments are folded into checkpoints along the way.
    for k in 4..9 {
        let end = db.blocks().iter().map(|m| m.max_time).max().unwrap();
        put(&db, &mut model, "gap", end - 2_750, k as f64, true);
        let (from, to) = (k * 10 * S, (k + 1) * 10 * S);
        fill(&db, &mut model, &steady, from - 5 * S, to - 5 * S);
        fill(&db, &mut model, &["gap"], from - 5 * S, to - 5 * S);
        put(&db, &mut model, "a", to - 12_500, 0.5, true);
        let report = db.maintain().unwrap();
        // A block of the late sample's range, overlapping the one already there, then
        // the cut block; the two overlapping blocks are merged.
        assert_eq!(report.head_blocks.len(), 2, "{report:?}");
        assert_eq!(report.head_blocks[0].max_time, end);
        // (The first pass also takes the three late samples put after the first cut.)
        let late = if k == 4 { 4 } else { 1 };
        assert_eq!(report.head_blocks[0].stats.num_samples, late);
        assert!(
            report.compacted.iter().any(|m| m.max_time >= end),
            "{report:?}"
        );
        check(&db, &model, &format!("after maintenance pass {k}"));
        check_blocks(&db, &model, &format!("after maintenance pass {k}"));
    }
    assert!(db.stats.checkpoints.load(Ordering::Relaxed) > 0);
    assert!(db
        .blocks()
        .iter()
        .any(|m| m.compaction.level > 1 && m.compaction.sources.len() > 1));
    drop(db);
    let db = open(dir.path(), 20);
    assert!(db.replay_report().checkpoint.is_some());
    check(&db, &model, "after restart from a checkpoint");
    check_blocks(&db, &model, "after restart from a checkpoint");
    // And once more through a cut after that restart.
    fill(&db, &mut model, &steady, 85 * S, 100 * S);
    db.maintain().unwrap();
    check(&db, &model, "after the last cut");
    check_blocks(&db, &model, "after the last cut");
}

#[test]
fn checkpoint_keeps_late_samples_the_head_still_needs() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    {
        let db = open(dir.path(), 200);
        fill(&db, &mut model, &["a"], 0, 100 * S);
        // Late samples in every block range: each cut then logs flush markers, so the
        // WAL has segments to fold while late samples above the cuts are still needed.
        for k in 0..10 {
            put(&db, &mut model, "a", k * 10 * S + 5_500, k as f64, true);
        }
        put(&db, &mut model, "a", 98_500, 0.5, true);
        let report = db.maintain().unwrap();
        assert_eq!(report.head_blocks.len(), 9, "{report:?}");
        let checkpoint = report.checkpoint.expect("a checkpoint");
        assert!(checkpoint.ooo_samples_kept > 0, "{checkpoint:?}");
        check(&db, &model, "after the cuts");
        check_blocks(&db, &model, "after the cuts");
    }
    let db = open(dir.path(), 200);
    assert!(db.replay_report().checkpoint.is_some());
    check(&db, &model, "after restart from the checkpoint");
    check_blocks(&db, &model, "after restart from the checkpoint");
}

#[test]
fn late_samples_a_block_holds_are_not_replayed_into_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    {
        let db = open(dir.path(), 20);
        fill(&db, &mut model, &["a"], 0, 35 * S);
        db.maintain().unwrap();
        fill(&db, &mut model, &["a"], 35 * S, 45 * S);
        put(&db, &mut model, "a", 25_500, 25.25, true);
        put(&db, &mut model, "a", 24_500, 24.25, true);
        // [20, 30) is cut with the two late samples; the WAL segment holding them is not
        // folded into a checkpoint yet, so replay meets them, then the flush markers.
        let report = db.maintain().unwrap();
        assert_eq!(report.head_blocks.len(), 1, "{report:?}");
        assert_eq!(report.head_blocks[0].stats.num_samples, 12);
    }
    let db = open(dir.path(), 20);
    check(&db, &model, "after restart");
    fill(&db, &mut model, &["a"], 45 * S, 55 * S);
    // Had replay put them back in the head, this cut would write them again.
    let report = db.maintain().unwrap();
    assert_eq!(report.head_blocks.len(), 1, "{report:?}");
    assert_eq!(report.head_blocks[0].min_time, 30 * S);
    check(&db, &model, "after the next cut");
    check_blocks(&db, &model, "after the next cut");
}

#[test]
fn out_of_order_records_round_trip() {
    for samples in [
        vec![(7, 1000, 1.5, 0), (3, 900, -2.0, 0)],
        vec![(7, 1000, 1.5, 400), (3, 900, -2.0, 0)],
    ] {
        let record = Record::OooSamples(samples);
        let mut buf = Vec::new();
        record.encode(&mut buf);
        assert_eq!(Record::decode(&buf), Some(record));
    }
    for done in [false, true] {
        let record = Record::OooFlush { below: -5, done };
        let mut buf = Vec::new();
        record.encode(&mut buf);
        assert_eq!(buf[0], 7);
        assert_eq!(Record::decode(&buf), Some(record));
    }
}
