//! A data directory in Prometheus's formats is refused at open with every byte and every
//! name as it was; ours is not mistaken for one. (With Debian's Prometheus writing the
//! directory: the server's `tests/prometheus_dir.rs`.)

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use tsdb::{Db, DbError};

/// Every file and directory under `dir` with its bytes (directories: `None`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                out.insert(path.clone(), None);
                todo.push(path);
            } else {
                out.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0x82F6_3B78 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A WAL segment as Prometheus writes it: one full record (type 1) in a 32 KiB page.
fn prometheus_segment() -> Vec<u8> {
    let payload = b"\x01\x02\x00\x08__name__\x02up";
    let mut out = vec![1u8];
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(&crc32c(payload).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn refused(dir: &Path) -> String {
    match Db::open(dir) {
        Ok(_) => panic!("a Prometheus directory was opened"),
        Err(e @ DbError::PrometheusData { .. }) => e.to_string(),
        Err(e) => panic!("refused for another reason: {e}"),
    }
}

#[test]
fn a_prometheus_wal_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("wal")).unwrap();
    std::fs::create_dir_all(data.join("chunks_head")).unwrap();
    std::fs::write(data.join("wal/00000000"), prometheus_segment()).unwrap();
    std::fs::write(data.join("wal/00000001"), b"").unwrap();
    std::fs::write(data.join("queries.active"), [0u8; 64]).unwrap();
    let before = snapshot(&data);
    let err = refused(&data);
    assert!(err.contains(&data.display().to_string()), "{err}");
    assert!(
        err.contains("wal/00000000 is a WAL segment in Prometheus's format"),
        "{err}"
    );
    assert!(err.contains("chunks_head/"), "{err}");
    assert!(err.contains("Nothing in it was changed"), "{err}");
    assert_eq!(
        snapshot(&data),
        before,
        "nothing created, changed or removed"
    );
}

#[test]
fn a_prometheus_block_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let block = data.join("01HGW0AAAAAAAAAAAAAAAAAAAA");
    std::fs::create_dir_all(block.join("chunks")).unwrap();
    let mut index = 0xBAAA_D700u32.to_be_bytes().to_vec();
    index.extend_from_slice(&[2, 0, 0, 0]);
    std::fs::write(block.join("index"), index).unwrap();
    std::fs::write(
        block.join("meta.json"),
        b"{\"ulid\":\"01HGW0AAAAAAAAAAAAAAAAAAAA\",\"version\":1}",
    )
    .unwrap();
    // A leftover Prometheus would clean up, and we would have too.
    std::fs::create_dir_all(data.join("01HGW0BBBBBBBBBBBBBBBBBBBB.tmp-for-creation")).unwrap();
    let before = snapshot(data);
    let err = refused(data);
    assert!(
        err.contains("index is a Prometheus block index (magic 0xBAAAD700)"),
        "{err}"
    );
    assert_eq!(snapshot(data), before);
}

#[test]
fn prometheus_names_alone_are_refused_when_nothing_of_ours_is_there() {
    // A Prometheus that has just started: an empty WAL segment, an empty chunks_head/,
    // its query log.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("wal")).unwrap();
    std::fs::write(dir.path().join("wal/00000000"), b"").unwrap();
    std::fs::create_dir_all(dir.path().join("chunks_head")).unwrap();
    std::fs::write(dir.path().join("queries.active"), [0u8; 16]).unwrap();
    let before = snapshot(dir.path());
    refused(dir.path());
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn our_directory_with_a_prometheus_leftover_still_opens() {
    // A Prometheus started on our directory by an older version (no guard then) leaves
    // its query log before it fails: our data is still ours.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        let labels = model::Labels::from_pairs([("__name__", "up")]);
        db.append(&[(labels, 1, 1.0)]).unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("queries.active")).unwrap();
    std::fs::write(dir.path().join("queries.active"), [0u8; 16]).unwrap();
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.num_series(), 1);
}

#[test]
fn open_leaves_a_guard_that_stops_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    drop(Db::open(dir.path()).unwrap());
    let guard = dir.path().join("queries.active");
    assert!(
        guard.is_dir(),
        "Prometheus needs a file of this name: a directory stops it"
    );
    assert!(guard.join("PROMETHIUM-README.txt").exists());
    // And it is not taken for Prometheus's.
    drop(Db::open(dir.path()).unwrap());
}

#[test]
fn a_held_lock_is_reported_first_and_names_prometheus_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("wal")).unwrap();
    std::fs::write(dir.path().join("wal/00000000"), prometheus_segment()).unwrap();
    // Prometheus's lock: flock on <dir>/lock (a second open file description conflicts
    // within one process too).
    let theirs = File::create(dir.path().join("lock")).unwrap();
    theirs.try_lock().unwrap();
    let before = snapshot(dir.path());
    let err = match Db::open(dir.path()) {
        Ok(_) => panic!("opened a locked directory"),
        Err(e @ DbError::Locked { .. }) => e.to_string(),
        Err(e) => panic!("refused for another reason: {e}"),
    };
    assert!(err.contains("another process holds the lock"), "{err}");
    assert!(err.contains("Prometheus's data"), "{err}");
    assert_eq!(snapshot(dir.path()), before);
    drop(theirs);
    // Unlocked, it is still Prometheus's.
    refused(dir.path());
}
