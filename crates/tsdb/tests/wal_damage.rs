//! Damage in the middle of the WAL: replay skips exactly the damaged bytes, keeps every
//! valid record after them (in the same segment and in later ones), says what was lost,
//! and tells corruption from a crash's torn tail.

use std::path::{Path, PathBuf};

use model::{Labels, MatchOp, Matcher};
use tsdb::{DamageKind, Db};

fn series(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", "node")])
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchOp::Equal, name, value).unwrap()
}

fn segment(dir: &Path, n: u64) -> PathBuf {
    dir.join("wal").join(format!("{n:08}"))
}

/// The start offsets of the records of a segment (our framing: u32 LE length, u32 CRC).
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= bytes.len() {
        out.push(pos);
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    out
}

/// A database with series `a` holding samples at 0..n (one append each: one samples
/// record each, after the series record).
fn write_samples(dir: &Path, range: std::ops::Range<i64>) {
    let db = Db::open(dir).unwrap();
    for i in range {
        db.append(&[(series("a"), i, i as f64)]).unwrap();
    }
}

/// Opens the database without its spill files, whose recovered chunks would hold samples
/// the damaged WAL lost: these tests are about what the WAL alone gives back.
fn open_wal_only(dir: &Path) -> Db {
    let spill = dir.join("head_chunks_spill");
    if spill.exists() {
        std::fs::remove_dir_all(spill).unwrap();
    }
    Db::open(dir).unwrap()
}

fn times(db: &Db, name: &str) -> Vec<i64> {
    db.select(&[eq("__name__", name)], 0, i64::MAX)
        .first()
        .map(|s| s.samples.iter().map(|p| p.0).collect())
        .unwrap_or_default()
}

#[test]
fn a_corrupt_record_costs_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..100);
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let offsets = record_offsets(&bytes);
    // Record 0 is the series record; record 51 holds the sample at t=50: a bit of its
    // value flips.
    let at = offsets[51];
    bytes[offsets[52] - 1] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let db = open_wal_only(dir.path());
    let report = db.replay_report().clone();
    assert_eq!(report.repaired_at, None, "corruption is not a torn tail");
    assert_eq!(report.corruptions(), 1);
    assert_eq!(
        db.stats
            .wal_corruptions
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let d = &report.damage[0];
    assert_eq!(d.kind, DamageKind::Corrupt);
    assert_eq!((d.segment, d.offset), (0, at as u64));
    assert_eq!(d.bytes, (offsets[52] - at) as u64);
    assert_eq!(d.records, Some(1));
    assert_eq!((d.time_before, d.time_after), (Some(49), Some(51)));
    let content = d
        .content
        .as_ref()
        .expect("the damaged record still decodes");
    assert_eq!((content.samples, content.sample_series), (1, 1));
    assert_eq!((content.min_t, content.max_t), (Some(50), Some(50)));
    let text = d.to_string();
    assert!(
        text.contains("1 records") && text.contains("[50, 50]"),
        "{text}"
    );
    let expected: Vec<i64> = (0..100).filter(|t| *t != 50).collect();
    assert_eq!(times(&db, "a"), expected);
    // The damaged bytes stay; appends go to a new segment, and a restart keeps both.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    for i in 100..110 {
        db.append(&[(series("a"), i, i as f64)]).unwrap();
    }
    drop(db);
    assert!(segment(dir.path(), 1).exists());
    let db = open_wal_only(dir.path());
    assert_eq!(db.replay_report().corruptions(), 1);
    assert_eq!(db.replay_report().damage[0].segment, 0);
    let expected: Vec<i64> = (0..110).filter(|t| *t != 50).collect();
    assert_eq!(times(&db, "a"), expected);
}

#[test]
fn a_broken_length_field_is_resynchronized() {
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..100);
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let offsets = record_offsets(&bytes);
    // Record 31 (t=30) claims 1000 bytes: its end no longer points at a record.
    bytes[offsets[31]..offsets[31] + 4].copy_from_slice(&1000u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let db = open_wal_only(dir.path());
    let report = db.replay_report();
    assert_eq!(report.corruptions(), 1);
    assert_eq!(report.damage[0].offset, offsets[31] as u64);
    assert_eq!(report.damage[0].bytes, (offsets[32] - offsets[31]) as u64);
    let expected: Vec<i64> = (0..100).filter(|t| *t != 30).collect();
    assert_eq!(times(&db, "a"), expected);
}

#[test]
fn a_lost_series_record_is_reported_with_its_samples() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        for i in 0..20 {
            db.append(&[(series("a"), i, 1.0), (series("b"), i, 2.0)])
                .unwrap();
        }
    }
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    // Record 0 is the series record for both: one letter of a label value changes.
    let at = bytes.windows(4).position(|w| w == b"node").unwrap();
    assert!(at < record_offsets(&bytes)[1]);
    bytes[at] = b'm';
    std::fs::write(&path, &bytes).unwrap();
    let db = Db::open(dir.path()).unwrap();
    let report = db.replay_report();
    assert_eq!(report.corruptions(), 1);
    assert_eq!(report.damage[0].content.as_ref().map(|c| c.series), Some(2));
    assert_eq!(report.orphan_samples, 40);
    assert_eq!(report.orphan_series, 2);
    assert!(times(&db, "a").is_empty());
}

#[test]
fn an_incomplete_record_ending_an_earlier_segment_is_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..10);
    // What a failed write leaves when it cannot be cut back: part of a record, then a
    // new segment.
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&500u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(segment(dir.path(), 1), b"").unwrap();
    write_samples(dir.path(), 10..20);
    let db = Db::open(dir.path()).unwrap();
    let report = db.replay_report();
    assert_eq!(report.repaired_at, None);
    assert_eq!(report.corruptions(), 1);
    assert_eq!(report.damage[0].segment, 0);
    assert_eq!(report.damage[0].time_before, Some(9));
    assert_eq!(report.damage[0].time_after, Some(10));
    assert_eq!(times(&db, "a"), (0..20).collect::<Vec<_>>());
    // Nothing was cut: the earlier segment is as it was.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_zero_filled_tail_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..10);
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let good = bytes.len() as u64;
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&path, &bytes).unwrap();
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.replay_report().repaired_at, Some((0, good)));
    assert_eq!(db.replay_report().corruptions(), 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good);
    assert_eq!(times(&db, "a"), (0..10).collect::<Vec<_>>());
}

#[test]
fn a_checkpoint_survives_damage_in_the_segment_it_folds() {
    // Damage is skipped the same way when a checkpoint reads the segments: the records
    // after it are folded in, not dropped.
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..100);
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let offsets = record_offsets(&bytes);
    bytes[offsets[11] + 9] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let report = tsdb::wal::checkpoint(&dir.path().join("wal"), 0, |_| true, 0).unwrap();
    assert_eq!(report.samples_kept, 99);
}

#[test]
fn a_segment_larger_than_a_read_is_read_whole_and_damage_deep_in_it_is_placed_exactly() {
    // Segments are read a few MiB at a time: records straddle those reads, and damage
    // found after several of them is still reported at its offset in the file.
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<Labels> = (0..1000).map(|i| series(&format!("s{i}"))).collect();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let appends = 1500i64;
    {
        let db = Db::open(dir.path()).unwrap();
        for t in 0..appends {
            // Values that neither delta coding nor Snappy shrink much.
            let batch: Vec<(Labels, i64, f64)> = names
                .iter()
                .map(|l| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (l.clone(), t, f64::from_bits(x >> 2))
                })
                .collect();
            db.append(&batch).unwrap();
        }
    }
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() > 12 << 20,
        "the segment must span several reads: {} bytes",
        bytes.len()
    );
    let offsets = record_offsets(&bytes);
    // The record holding the samples at some t well past the first reads: a bit flips.
    let victim = offsets
        .iter()
        .position(|o| *o > 9 << 20)
        .expect("a record past 9 MiB");
    let at = offsets[victim];
    bytes[offsets[victim + 1] - 1] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let db = open_wal_only(dir.path());
    let report = db.replay_report();
    assert_eq!(report.corruptions(), 1);
    assert_eq!(report.damage[0].offset, at as u64);
    assert_eq!(report.damage[0].bytes, (offsets[victim + 1] - at) as u64);
    let lost = report.damage[0].content.as_ref().unwrap().min_t.unwrap();
    for name in ["s0", "s999"] {
        let expected: Vec<i64> = (0..appends).filter(|t| *t != lost).collect();
        assert_eq!(times(&db, name), expected, "{name}");
    }
}

#[test]
fn spilled_chunks_give_back_what_a_cut_off_wal_lost_and_the_newest_value_with_them() {
    // 40 samples: the first 32 fill a chunk, spilled when the 33rd came; the WAL is then
    // cut off after the 32nd sample's record (as if the rest were never written).
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..40);
    let path = segment(dir.path(), 0);
    let bytes = std::fs::read(&path).unwrap();
    let offsets = record_offsets(&bytes);
    std::fs::write(&path, &bytes[..offsets[1 + 32]]).unwrap();
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.replay_report().recovered_chains, 1);
    assert_eq!(times(&db, "a"), (0..32).collect::<Vec<_>>());
    // No WAL sample came after the chunk: the newest value is read from it, so a repeat
    // of the newest sample is told from a conflicting one.
    let same = db.append(&[(series("a"), 31, 31.0)]).unwrap();
    assert_eq!((same.appended, same.duplicates), (0, 0));
    let other = db.append(&[(series("a"), 31, 5.0)]).unwrap();
    assert_eq!(other.duplicates, 1);
}

#[test]
fn samples_held_by_a_chain_whose_series_record_is_lost_are_reported_as_without_series() {
    // 40 samples: the first 32 are in a spilled chunk. The series record (record 0) is
    // damaged: the chain has no series to go to, and each of the 40 samples (those the
    // WAL reader dropped as held by the chain and the 8 after it) is counted as without
    // one, as they would be without the spill files.
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), 0..40);
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let offsets = record_offsets(&bytes);
    bytes[offsets[1] - 1] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let db = Db::open(dir.path()).unwrap();
    let report = db.replay_report().clone();
    assert_eq!(report.corruptions(), 1);
    assert_eq!(report.recovered_chains, 0);
    assert_eq!((report.orphan_samples, report.orphan_series), (40, 1));
    assert!(times(&db, "a").is_empty());
}
