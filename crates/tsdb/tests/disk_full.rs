//! A full disk loses nothing that was acknowledged and keeps nothing that was refused: on
//! a 2 MiB tmpfs this test mounts itself, appends run until the WAL write fails with
//! ENOSPC, a filler file is deleted, appends go on, and after a restart the database
//! holds exactly the samples whose append returned `Ok`.
//!
//! Needs root (to mount); skipped with a message otherwise. The tmpfs is unmounted at
//! the end, also when the test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use model::{Labels, MatchOp, Matcher};
use tsdb::{Db, DbError};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A tmpfs mounted for the test; unmounted when dropped (also while a failed test unwinds).
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs failed: {status}");
        Tmpfs {
            path: dir.path().to_path_buf(),
            _dir: dir,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(&self.path).status();
        if !matches!(status, Ok(s) if s.success()) {
            // Something still holds it (a failed test's open file): detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

fn series(name: &str, i: usize) -> Labels {
    Labels::from_pairs([("__name__", name.to_string()), ("i", i.to_string())])
}

type Stored = BTreeMap<Labels, Vec<(i64, f64)>>;

/// Everything the database holds for names starting with `m_`.
fn everything(db: &Db) -> Stored {
    let m = Matcher::new(MatchOp::Regex, "__name__", "m_.*").unwrap();
    db.select(&[m], i64::MIN / 2, i64::MAX / 2)
        .into_iter()
        .map(|s| {
            let mut samples = s.samples;
            samples.sort_by_key(|p| p.0);
            (s.labels, samples)
        })
        .collect()
}

/// One batch at time `t`: 40 existing series, plus a series new in this batch.
fn batch(t: i64, new: usize) -> Vec<(Labels, i64, f64)> {
    let mut out: Vec<_> = (0..40)
        .map(|i| (series("m_old", i), t, (t as f64) * 1.5 + i as f64))
        .collect();
    out.push((series("m_new", new), t, t as f64));
    out
}

fn record(acked: &mut Stored, samples: &[(Labels, i64, f64)]) {
    for (l, t, v) in samples {
        acked.entry(l.clone()).or_default().push((*t, *v));
    }
}

#[test]
fn a_full_disk_loses_nothing_acknowledged_and_keeps_nothing_refused() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a tmpfs needs root (run the tests as root, as CI does)");
        return;
    }
    let fs = Tmpfs::mount("2m");
    let data = fs.path.join("data");
    let filler = fs.path.join("filler");
    std::fs::write(&filler, vec![7u8; 1 << 20]).unwrap();

    let db = Db::open(&data).unwrap();
    let mut acked: Stored = BTreeMap::new();
    let mut refused: Vec<Vec<(Labels, i64, f64)>> = Vec::new();
    let mut t = 0i64;
    let mut new = 0usize;
    // Fill the disk: append until the WAL write fails, then a few more (still full).
    while refused.len() < 5 {
        t += 1;
        new += 1;
        let samples = batch(t, new);
        match db.append(&samples) {
            Ok(r) => {
                assert_eq!(r.appended, samples.len());
                record(&mut acked, &samples);
            }
            Err(e) => {
                assert!(
                    matches!(&e, DbError::WalWrite(io) if io.raw_os_error() == Some(28)),
                    "expected ENOSPC, got {e}"
                );
                refused.push(samples);
            }
        }
        assert!(t < 1_000_000, "the disk never filled");
    }
    assert!(acked.len() > 40, "some appends must have succeeded first");
    assert!(db.append_failure().is_some());
    assert_eq!(
        db.stats.wal_writes_failed.load(Ordering::Relaxed),
        refused.len() as u64
    );
    // Refused samples are not in memory either; acknowledged ones are all there.
    same(&everything(&db), &acked, "while the disk is full");

    // Space returns: appends work again without a restart, including to series that were
    // created by refused appends (their series record must reach the WAL first).
    std::fs::remove_file(&filler).unwrap();
    for samples in &refused {
        let again: Vec<_> = samples
            .iter()
            .map(|(l, old_t, v)| (l.clone(), old_t + 1_000_000, *v))
            .collect();
        db.append(&again).unwrap();
        record(&mut acked, &again);
    }
    // The run of failures ends once writes have worked for a few seconds.
    assert!(db.append_failure().is_some());
    std::thread::sleep(std::time::Duration::from_millis(5100));
    for _ in 0..20 {
        t += 1;
        new += 1;
        let samples = batch(t + 2_000_000, new);
        db.append(&samples).unwrap();
        record(&mut acked, &samples);
    }
    assert_eq!(db.append_failure(), None);
    same(&everything(&db), &acked, "after space returned");
    drop(db);

    let db = Db::open(&data).unwrap();
    assert_eq!(
        db.replay_report().damage,
        Vec::new(),
        "the WAL holds no torn record"
    );
    same(&everything(&db), &acked, "after a restart");
    drop(db);
    assert_no_open_files(&fs.path);
}

/// Fails with the first few differences (the full maps are too large to print).
fn same(got: &Stored, want: &Stored, when: &str) {
    let mut diffs = Vec::new();
    for labels in got.keys().chain(want.keys()) {
        let (g, w) = (got.get(labels), want.get(labels));
        if g != w && diffs.len() < 5 {
            let missing: Vec<_> = w
                .into_iter()
                .flatten()
                .filter(|p| !g.is_some_and(|g| g.contains(p)))
                .take(3)
                .collect();
            let extra: Vec<_> = g
                .into_iter()
                .flatten()
                .filter(|p| !w.is_some_and(|w| w.contains(p)))
                .take(3)
                .collect();
            diffs.push(format!("{labels:?}: missing {missing:?}, extra {extra:?}"));
        }
    }
    assert!(diffs.is_empty(), "{when}: {}", diffs.join("\n"));
}

/// The database closed everything (so the tmpfs can be unmounted).
fn assert_no_open_files(path: &Path) {
    let me = std::fs::read_dir("/proc/self/fd").unwrap();
    for fd in me.flatten() {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            assert!(
                !target.starts_with(path),
                "still open: {}",
                target.display()
            );
        }
    }
}
