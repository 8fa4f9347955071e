//! Start timestamps kept per sample through everything the database does to samples:
//! head chunks, the WAL (replay and checkpoints), blocks cut from the head, and merged
//! blocks. Series without start timestamps stay plain. Block ranges are seconds long.

use model::{Labels, MatchOp, Matcher};
use tsdb::{Db, Options};

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

fn labels(kind: &str) -> Labels {
    Labels::from_pairs([("__name__", "requests_total"), ("kind", kind)])
}

/// The start timestamp each kind of series gives the sample at `t` (0: none).
fn start_of(kind: &str, t: i64) -> i64 {
    match kind {
        // A counter that restarted every 25 s.
        "cumulative" => t - t.rem_euclid(25 * S) - 1,
        // Delta samples: each covers the time since the previous one.
        "delta" => t - S,
        // Known for some samples only.
        "sometimes" if (t / S) % 3 == 0 => t - 500,
        _ => 0,
    }
}

const KINDS: [&str; 4] = ["cumulative", "delta", "sometimes", "plain"];

fn fill(db: &Db, from: i64, to: i64) {
    for t in (from..to).step_by(S as usize) {
        let batch: Vec<(Labels, i64, f64)> = KINDS
            .iter()
            .map(|k| (labels(k), t, (t / S) as f64))
            .collect();
        let starts: Vec<i64> = KINDS.iter().map(|k| start_of(k, t)).collect();
        let r = db
            .append_batch_with_starts(&[], &[], &batch, &starts)
            .unwrap();
        assert_eq!(r.result.appended, KINDS.len());
    }
}

fn check(db: &Db, to: i64, when: &str) {
    let m = Matcher::new(MatchOp::Equal, "__name__", "requests_total").unwrap();
    let mut got = db.select(std::slice::from_ref(&m), i64::MIN, i64::MAX);
    got.sort_by(|a, b| a.labels.cmp(&b.labels));
    assert_eq!(got.len(), KINDS.len(), "{when}");
    for s in &got {
        let kind = s.labels.get("kind").unwrap();
        let times: Vec<i64> = (0..to).step_by(S as usize).collect();
        assert_eq!(
            s.samples.iter().map(|p| p.0).collect::<Vec<_>>(),
            times,
            "{when}: {kind}"
        );
        let want: Vec<i64> = times.iter().map(|t| start_of(kind, *t)).collect();
        if kind == "plain" {
            assert!(s.starts.is_empty(), "{when}: plain series has no starts");
        } else {
            assert_eq!(s.starts, want, "{when}: {kind}");
        }
    }
    // The last sample alone, as an instant selector reads it.
    let last = db.select_last(&[m], to - 5 * S, to);
    for s in last {
        let kind = s.labels.get("kind").unwrap();
        assert_eq!(s.samples, vec![(to - S, ((to - S) / S) as f64)]);
        let st = start_of(kind, to - S);
        assert_eq!(
            s.starts,
            if st == 0 { vec![] } else { vec![st] },
            "{when}: last {kind}"
        );
    }
}

#[test]
fn start_timestamps_survive_wal_blocks_compaction_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open_with(dir.path(), opts()).unwrap();
        fill(&db, 0, 5 * S);
        check(&db, 5 * S, "head only");
        for k in 0..8 {
            fill(&db, 5 * S + k * 10 * S, 5 * S + (k + 1) * 10 * S);
            db.maintain().unwrap();
        }
        assert!(!db.blocks().is_empty());
        check(&db, 85 * S, "blocks, merged blocks and head");
        // Block metadata counts samples, not the chunk header's start-timestamp flag.
        let blocks = db.blocks();
        let covered = blocks.iter().map(|b| b.max_time).max().unwrap();
        let counted: u64 = blocks.iter().map(|b| b.stats.num_samples).sum();
        assert_eq!(counted, (covered / S) as u64 * KINDS.len() as u64);
        db.sync().unwrap();
    }
    // Replayed from a checkpoint (mixed plain and start-timestamp records) and segments.
    let db = Db::open_with(dir.path(), opts()).unwrap();
    assert!(db.replay_report().checkpoint.is_some());
    check(&db, 85 * S, "after restart");
    fill(&db, 85 * S, 90 * S);
    check(&db, 90 * S, "appending after restart");
}

#[test]
fn a_series_that_gains_start_timestamps_keeps_its_earlier_samples() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let l = labels("late");
    for t in 0..10 {
        db.append(&[(l.clone(), t * S, t as f64)]).unwrap();
    }
    for t in 10..20 {
        db.append_batch_with_starts(&[], &[], &[(l.clone(), t * S, t as f64)], &[5 * S])
            .unwrap();
    }
    let got = db.select(
        &[Matcher::new(MatchOp::Equal, "kind", "late").unwrap()],
        0,
        100 * S,
    );
    assert_eq!(got[0].samples.len(), 20);
    let want: Vec<i64> = (0..20).map(|t| if t < 10 { 0 } else { 5 * S }).collect();
    assert_eq!(got[0].starts, want);
    drop(db);
    let db = Db::open(dir.path()).unwrap();
    let got = db.select(
        &[Matcher::new(MatchOp::Equal, "kind", "late").unwrap()],
        0,
        100 * S,
    );
    assert_eq!(got[0].starts, want, "after replay");
}
