//! The database on real files in temp dirs: appends, queries, restarts, torn WALs (corrupt
//! ones: `wal_damage.rs`), the lock file, and a writer killed with SIGKILL mid-stream.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use model::{Labels, MatchOp, Matcher};
use tsdb::Db;

fn series(name: &str, instance: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("instance", instance), ("job", "node")])
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchOp::Equal, name, value).unwrap()
}

fn wal_segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn append_select_and_reject() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let up_a = series("up", "a:9100");
    let up_b = series("up", "b:9100");
    let r = db
        .append(&[
            (up_a.clone(), 1000, 1.0),
            (up_b.clone(), 1000, 0.0),
            (up_a.clone(), 2000, 1.0),
        ])
        .unwrap();
    assert_eq!((r.appended, r.new_series), (3, 2));
    // Older: out of order. Same time, other value: duplicate. Same time, same value: fine.
    let r = db
        .append(&[
            (up_a.clone(), 1500, 5.0),
            (up_a.clone(), 2000, 7.0),
            (up_a.clone(), 2000, 1.0),
        ])
        .unwrap();
    assert_eq!((r.appended, r.out_of_order, r.duplicates), (0, 1, 1));
    let all = db.select(&[eq("__name__", "up")], 0, 10_000);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].labels, up_a);
    assert_eq!(all[0].samples, vec![(1000, 1.0), (2000, 1.0)]);
    let b = db.select(&[eq("instance", "b:9100")], 0, 10_000);
    assert_eq!(b[0].samples, vec![(1000, 0.0)]);
    let regex = Matcher::new(MatchOp::Regex, "instance", "a:.*").unwrap();
    assert_eq!(
        db.select(&[regex], 1500, 2500)[0].samples,
        vec![(2000, 1.0)]
    );
    assert_eq!(db.label_names(), vec!["__name__", "instance", "job"]);
    assert_eq!(db.label_values("instance"), vec!["a:9100", "b:9100"]);
    assert_eq!(db.series(&[eq("job", "node")], 0, 500).len(), 0);
    assert_eq!(db.series(&[eq("job", "node")], 0, 5000).len(), 2);
}

#[test]
fn many_chunks_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let s = series("counter", "x");
    for i in 0..1000 {
        db.append(&[(s.clone(), i * 15_000, i as f64)]).unwrap();
    }
    let got = db.select(&[eq("__name__", "counter")], 0, i64::MAX);
    assert_eq!(got[0].samples.len(), 1000);
    assert_eq!(got[0].samples[999], (999 * 15_000, 999.0));
    let middle = db.select(&[eq("__name__", "counter")], 300 * 15_000, 310 * 15_000);
    assert_eq!(middle[0].samples.len(), 11);
}

#[test]
fn restart_replays_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        for i in 0..500 {
            db.append(&[
                (series("a", "1"), i, i as f64),
                (series("b", "2"), i, -(i as f64)),
            ])
            .unwrap();
        }
        db.sync().unwrap();
    }
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.replay_report().repaired_at, None);
    assert_eq!(db.num_series(), 2);
    assert_eq!(
        db.select(&[eq("__name__", "b")], 0, 1000)[0].samples.len(),
        500
    );
    // New series continue after the replayed refs, and appends continue the series.
    db.append(&[(series("c", "3"), 1, 1.0), (series("a", "1"), 500, 500.0)])
        .unwrap();
    assert_eq!(db.next_series_ref(), 4);
    drop(db);
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(
        db.select(&[eq("__name__", "a")], 0, 1000)[0].samples.len(),
        501
    );
}

#[test]
fn torn_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        for i in 0..100 {
            db.append(&[(series("a", "1"), i, i as f64)]).unwrap();
        }
    }
    let segment = wal_segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&segment).unwrap().len();
    // Power loss in the middle of the last record.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let db = Db::open(dir.path()).unwrap();
    assert!(db.replay_report().repaired_at.is_some());
    // A torn tail is what a crash leaves, not corruption.
    assert_eq!(db.replay_report().corruptions(), 0);
    assert_eq!(
        db.replay_report().damage[0].kind,
        tsdb::DamageKind::TornTail
    );
    let samples = &db.select(&[eq("__name__", "a")], 0, 1000)[0].samples;
    assert_eq!(samples.len(), 99);
    assert_eq!(samples[98], (98, 98.0));
    // The cut is permanent: appending after it and reopening is clean.
    db.append(&[(series("a", "1"), 100, 100.0)]).unwrap();
    drop(db);
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.replay_report().repaired_at, None);
    assert_eq!(
        db.select(&[eq("__name__", "a")], 0, 1000)[0].samples.len(),
        100
    );
}

#[test]
fn garbage_wal_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("wal")).unwrap();
    let mut state = 7u64;
    for n in 0..50u32 {
        let mut junk = Vec::new();
        for _ in 0..(n * 37 % 500) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            junk.push(state as u8);
        }
        std::fs::write(dir.path().join("wal").join("00000000"), &junk).unwrap();
        let db = Db::open(dir.path()).unwrap();
        drop(db);
    }
}

#[test]
fn one_server_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Db::open(dir.path()).unwrap();
    let second = Db::open(dir.path());
    let err = match second {
        Ok(_) => panic!("two opens of one directory"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("another process holds the lock"), "{err}");
}

/// The child side of `sigkill_keeps_every_acknowledged_sample`: appends forever, printing
/// each timestamp once its append has returned.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("PROMETHIUM_TSDB_CHILD_DIR") else {
        return;
    };
    let db = Db::open(Path::new(&dir)).unwrap();
    let labels = series("kill", "child");
    for t in 0.. {
        let batch: Vec<_> = (0..10)
            .map(|i| (series("other", &i.to_string()), t, t as f64))
            .collect();
        db.append(&batch).unwrap();
        db.append(&[(labels.clone(), t, t as f64)]).unwrap();
        println!("acked {t}");
    }
}

#[test]
fn sigkill_keeps_every_acknowledged_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env("PROMETHIUM_TSDB_CHILD_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut last_acked = -1i64;
    while last_acked < 2000 {
        let line = lines.next().expect("child output").unwrap();
        if let Some(t) = line.strip_prefix("acked ") {
            last_acked = t.parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let got = db.select(&[eq("__name__", "kill")], 0, i64::MAX);
    let samples = &got[0].samples;
    assert!(
        samples.len() as i64 > last_acked,
        "{} < {}",
        samples.len(),
        last_acked + 1
    );
    for (i, (t, v)) in samples.iter().enumerate() {
        assert_eq!((*t, *v), (i as i64, i as f64), "no gaps, no duplicates");
    }
}

#[test]
fn replay_gives_each_of_thousands_of_series_its_samples_in_order() {
    // 5,000 series (refs across several of replay's stripes), created over three "scrapes"
    // so that series records and samples alternate in the WAL; 40 samples each (a chunk
    // spilled and recovered, then 8 from the WAL). A restart without the spill files
    // replays every sample from the WAL alone.
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let labels: Vec<Labels> = (0..5000)
        .map(|i| series(&format!("m{}", i % 7), &format!("host-{i}")))
        .collect();
    {
        let db = Db::open(dir.path()).unwrap();
        for step in 0..40i64 {
            let alive = match step {
                0 => 1000,
                1 => 3000,
                _ => 5000,
            };
            let batch: Vec<(Labels, i64, f64)> = labels[..alive]
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), step * 1000, (i as i64 * 100 + step) as f64))
                .collect();
            db.append(&batch).unwrap();
        }
    }
    for entry in walk(dir.path()) {
        let to = copy.path().join(entry.strip_prefix(dir.path()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    std::fs::remove_dir_all(copy.path().join("head_chunks_spill")).unwrap();
    for (path, recovered) in [(dir.path(), true), (copy.path(), false)] {
        let db = Db::open(path).unwrap();
        let report = db.replay_report();
        assert_eq!(report.recovered_chains > 0, recovered);
        assert_eq!(report.orphan_samples, 0);
        let got = db.select(
            &[Matcher::new(MatchOp::Regex, "__name__", "m.*").unwrap()],
            0,
            i64::MAX,
        );
        assert_eq!(got.len(), 5000);
        for s in &got {
            let host = s.labels.get("instance").unwrap();
            let i: i64 = host.trim_start_matches("host-").parse().unwrap();
            let first = match i {
                0..1000 => 0,
                1000..3000 => 1,
                _ => 2,
            };
            let want: Vec<(i64, f64)> = (first..40)
                .map(|step| (step * 1000, (i * 100 + step) as f64))
                .collect();
            let have: Vec<(i64, f64)> = s.samples.iter().map(|p| (p.0, p.1)).collect();
            assert_eq!(have, want, "{host} (spill files kept: {recovered})");
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.file_name().is_some_and(|n| n != "lock") {
            out.push(path);
        }
    }
    out
}
