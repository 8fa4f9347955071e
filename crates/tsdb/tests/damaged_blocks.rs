//! A damaged block never makes a result look complete: selects over its range come with
//! a warning naming it, whether it failed to read now or was left out at open.

use std::path::{Path, PathBuf};

use model::{Labels, MatchOp, Matcher};
use tsdb::Db;

const HOUR: i64 = 3600 * 1000;

fn up() -> Matcher {
    Matcher::new(MatchOp::Equal, "__name__", "up").unwrap()
}

/// One 2 h block of `up` at 0..2h, one sample a minute; returns its directory.
fn one_block(dir: &Path) -> PathBuf {
    let samples: Vec<(i64, f64)> = (0..120).map(|i| (i * 60_000, i as f64)).collect();
    let series = vec![(Labels::from_pairs([("__name__", "up")]), samples)];
    let metas = tsdb::write_blocks(dir, &series, 2 * HOUR).unwrap();
    dir.join(&metas[0].ulid)
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_block_that_fails_to_read_is_named_in_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let block = one_block(dir.path());
    let ulid = block.file_name().unwrap().to_string_lossy().into_owned();
    {
        let db = Db::open(dir.path()).unwrap();
        let (found, warnings) = db.select_with_warnings(&[up()], 0, 2 * HOUR);
        assert_eq!(found[0].samples.len(), 120);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
    // A chunk's bytes change after the header: its checksum fails when it is read.
    flip(&block.join("chunks/000001"), 20);
    let db = Db::open(dir.path()).unwrap();
    let (found, warnings) = db.select_with_warnings(&[up()], 0, 2 * HOUR);
    assert!(found.is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&ulid), "{}", warnings[0]);
    assert!(
        warnings[0].contains("missing from this result"),
        "{}",
        warnings[0]
    );
    let (_, last) = db.select_last_with_warnings(&[up()], 0, 2 * HOUR);
    assert_eq!(last, warnings);
}

#[test]
fn a_block_left_out_at_open_is_named_for_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let block = one_block(dir.path());
    // The index's checksum fails: the block cannot be opened at all.
    flip(&block.join("index"), 12);
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.unreadable_blocks().len(), 1);
    assert_eq!(db.unreadable_blocks()[0].range, Some((0, 2 * HOUR)));
    let ulid = block.file_name().unwrap().to_string_lossy().into_owned();
    let (_, warnings) = db.select_with_warnings(&[up()], HOUR, 3 * HOUR);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("block {ulid} ([0, 7200000) ms) cannot be read")),
        "{}",
        warnings[0]
    );
    // Listing series over its range says so too: its series may be missing.
    let (_, series_warnings) = db.series_with_warnings(&[up()], HOUR, 3 * HOUR);
    assert_eq!(series_warnings, warnings);
    // Outside its range nothing is missing.
    let (_, warnings) = db.select_last_with_warnings(&[up()], 3 * HOUR, 4 * HOUR);
    assert!(warnings.is_empty(), "{warnings:?}");
    // It is left in place.
    assert!(block.join("index").exists());
}
