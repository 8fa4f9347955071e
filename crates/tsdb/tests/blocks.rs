//! Persisted blocks on real files: cutting the head into blocks, WAL checkpoints,
//! compaction, retention, restarts, and damaged blocks. Block ranges are shrunk to
//! seconds so that hours of data fit in a test.

use std::path::Path;

use model::{Labels, MatchOp, Matcher};
use tsdb::{Db, Options};

const S: i64 = 1000;

fn opts(block: i64, retention: i64) -> Options {
    Options {
        retention_ms: retention,
        retention_bytes: 0,
        min_block_ms: block,
        max_block_ms: block * 9,
        agent: None,
        max_exemplars: 0,
    }
}

fn series(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "bench_metric".to_string()),
        ("instance", format!("host-{}", i % 3)),
        ("series", i.to_string()),
    ])
}

/// Every series and sample, sorted by labels (`select` answers in no particular order).
fn all(db: &Db) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let m = Matcher::new(MatchOp::Equal, "__name__", "bench_metric").unwrap();
    let mut out: Vec<_> = db
        .select(&[m], i64::MIN, i64::MAX)
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Appends one sample per series every `step` ms in `[from, to)`, values from the time.
fn fill(db: &Db, n: usize, from: i64, to: i64, step: i64) {
    let mut t = from;
    while t < to {
        let batch: Vec<(Labels, i64, f64)> = (0..n)
            .map(|i| (series(i), t, (t / step) as f64 + i as f64 * 0.5))
            .collect();
        db.append(&batch).unwrap();
        t += step;
    }
}

fn expected(n: usize, from: i64, to: i64, step: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out: Vec<(Labels, Vec<(i64, f64)>)> = (0..n)
        .map(|i| {
            let samples = (from..to)
                .step_by(step as usize)
                .map(|t| (t, (t / step) as f64 + i as f64 * 0.5))
                .collect();
            (series(i), samples)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn block_dirs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| tsdb::is_block_dir_name(n))
        .collect();
    v.sort();
    v
}

#[test]
fn head_is_cut_into_blocks_and_data_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let n = 20;
    {
        let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
        // 0..35 s of data: the head spans more than 1.5 block ranges twice over.
        fill(&db, n, 0, 35 * S, 500);
        let report = db.maintain().unwrap();
        assert_eq!(report.head_blocks.len(), 2, "{report:?}");
        assert_eq!(report.head_blocks[0].min_time, 0);
        assert_eq!(report.head_blocks[0].max_time, 10 * S);
        assert_eq!(report.head_blocks[0].stats.num_series, n as u64);
        assert_eq!(report.head_blocks[0].stats.num_samples, (n * 20) as u64);
        assert!(report.checkpoint.is_some() || db.blocks().len() == 2);
        // Reads see blocks and head as one.
        assert_eq!(all(&db), expected(n, 0, 35 * S, 500));
        // Samples older than the head's lower bound are refused (they belong to a block).
        let r = db.append(&[(series(0), 5 * S + 1, 1.0)]).unwrap();
        assert_eq!(r.out_of_bounds, 1);
        assert_eq!(block_dirs(dir.path()).len(), 2);
    }
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    assert_eq!(db.blocks().len(), 2);
    assert_eq!(all(&db), expected(n, 0, 35 * S, 500), "after restart");
    // Label queries span blocks and head.
    assert_eq!(db.label_values("instance"), ["host-0", "host-1", "host-2"]);
    assert!(db.label_names().contains(&"series".to_string()));
    let one = Matcher::new(MatchOp::Equal, "series", "7").unwrap();
    assert_eq!(db.series(std::slice::from_ref(&one), 0, 5 * S).len(), 1);
    assert_eq!(
        db.select(&[one], 0, 999)[0].samples,
        vec![(0, 3.5), (500, 4.5)]
    );
}

#[test]
fn wal_checkpoint_keeps_everything_the_head_needs() {
    let dir = tempfile::tempdir().unwrap();
    let n = 5;
    {
        let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
        // Several maintenance passes, each after more data: segments are cut each time,
        // and older ones are folded into checkpoints.
        for k in 0..8 {
            fill(&db, n, k * 10 * S, (k + 1) * 10 * S, 1000);
            db.maintain().unwrap();
        }
        assert!(
            db.stats
                .checkpoints
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
        db.sync().unwrap();
    }
    let wal = std::fs::read_dir(dir.path().join("wal")).unwrap();
    let names: Vec<String> = wal
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("checkpoint.")),
        "{names:?}"
    );
    assert!(!names.contains(&"00000000".to_string()), "{names:?}");
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    assert!(db.replay_report().checkpoint.is_some());
    // No sample lost or duplicated across blocks, checkpoint and segments.
    assert_eq!(all(&db), expected(n, 0, 80 * S, 1000));
    // Appends continue after the replayed head.
    db.append(&[(series(0), 80 * S, 1.0)]).unwrap();
}

#[test]
fn blocks_are_compacted_and_data_stays_equal() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10;
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    fill(&db, n, 0, 75 * S, 1000);
    let report = db.maintain().unwrap();
    // 6 blocks of 10 s were cut; [0, 30) was merged into one 30 s block (level 2), and so
    // was [30, 60) once a newer block existed.
    assert!(!report.compacted.is_empty(), "{report:?}");
    let metas = db.blocks();
    assert_eq!(metas[0].min_time, 0);
    assert_eq!(metas[0].max_time, 30 * S);
    assert_eq!(metas[0].compaction.level, 2);
    assert_eq!(metas[0].compaction.sources.len(), 3);
    assert_eq!(metas[0].stats.num_samples, (n * 30) as u64);
    // Merged inputs are gone from disk; the listing matches.
    assert_eq!(block_dirs(dir.path()).len(), metas.len());
    assert_eq!(tsdb::list_blocks(dir.path()).unwrap().len(), metas.len());
    assert_eq!(all(&db), expected(n, 0, 75 * S, 1000));
    drop(db);
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    assert_eq!(all(&db), expected(n, 0, 75 * S, 1000));
}

#[test]
fn retention_deletes_only_blocks_older_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let n = 4;
    // Keep 25 s: measured from the newest block's end, as Prometheus does.
    let db = Db::open_with(
        dir.path(),
        Options {
            max_block_ms: 10 * S,
            agent: None,
            ..opts(10 * S, 25 * S)
        },
    )
    .unwrap();
    fill(&db, n, 0, 65 * S, 1000);
    let report = db.maintain().unwrap();
    // Blocks [0,10) … [40,50) were cut (the head keeps [50, 65)); the newest ends at
    // 50 s, so [0,10) and [10,20) (ending more than 25 s before it) are deleted and
    // [20,30) (20 s before) stays.
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    let metas = db.blocks();
    assert_eq!(metas.first().unwrap().min_time, 20 * S);
    let data = all(&db);
    for (_, samples) in &data {
        assert_eq!(samples.first().unwrap().0, 20 * S);
        assert_eq!(samples.last().unwrap().0, 64 * S);
    }
    assert_eq!(data, expected(n, 20 * S, 65 * S, 1000));
}

#[test]
fn retention_changed_at_run_time_applies_at_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    // Opened with no retention at all (as with the flags off), then given 25 s by a
    // configuration reload.
    let db = Db::open_with(
        dir.path(),
        Options {
            max_block_ms: 10 * S,
            agent: None,
            ..opts(10 * S, 0)
        },
    )
    .unwrap();
    fill(&db, 2, 0, 65 * S, 1000);
    assert!(db.maintain().unwrap().deleted.is_empty());
    assert_eq!(db.blocks().first().unwrap().min_time, 0);
    db.set_retention(std::time::Duration::from_secs(25), 0);
    assert_eq!(db.retention(), (std::time::Duration::from_secs(25), 0));
    let report = db.maintain().unwrap();
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    assert_eq!(db.blocks().first().unwrap().min_time, 20 * S);
}

#[test]
fn size_retention_deletes_oldest_blocks_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(
        dir.path(),
        Options {
            max_block_ms: 10 * S,
            agent: None,
            ..opts(10 * S, 0)
        },
    )
    .unwrap();
    fill(&db, 50, 0, 45 * S, 1000);
    db.maintain().unwrap();
    let (blocks_bytes, wal_bytes) = db.disk_usage();
    let count = db.blocks().len();
    assert!(count >= 3);
    drop(db);
    // Room for the WAL and about one and a half blocks.
    let limit = wal_bytes + blocks_bytes / count as u64 * 3 / 2;
    let db = Db::open_with(
        dir.path(),
        Options {
            retention_bytes: limit,
            max_block_ms: 10 * S,
            agent: None,
            ..opts(10 * S, 0)
        },
    )
    .unwrap();
    let report = db.maintain().unwrap();
    assert_eq!(report.deleted.len(), count - 1, "{report:?}");
    let newest = db.blocks();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].max_time, (count as i64) * 10 * S);
}

#[test]
fn a_damaged_block_is_skipped_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
        fill(&db, 3, 0, 25 * S, 1000);
        db.maintain().unwrap();
        assert_eq!(db.blocks().len(), 1);
    }
    let block = block_dirs(dir.path()).pop().unwrap();
    let index = dir.path().join(&block).join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&index, bytes).unwrap();
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    assert!(db.blocks().is_empty());
    assert!(dir.path().join(&block).exists(), "never deleted");
    // The head's data is still served.
    assert!(!all(&db).is_empty());
}

#[test]
fn backfill_writes_aligned_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<(Labels, Vec<(i64, f64)>)> = expected(3, 0, 7200 * S * 2 + 60 * S, 15 * S);
    let metas = tsdb::write_blocks(dir.path(), &data, tsdb::DEFAULT_BLOCK_MS).unwrap();
    assert_eq!(metas.len(), 3);
    assert_eq!(metas[1].min_time, 7200 * S);
    assert_eq!(metas[1].max_time, 2 * 7200 * S);
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(all(&db), data);
}

#[test]
fn full_head_chunks_live_on_disk_until_their_block_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("head_chunks_spill");
    let files = || std::fs::read_dir(&spill).unwrap().count();
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    // 12 s of samples every 50 ms: chunks fill (120 samples) and are cut at 10 s.
    fill(&db, 30, 0, 12 * S, 50);
    assert!(files() > 0, "full chunks were moved out of memory");
    // Reads see them.
    assert_eq!(all(&db), expected(30, 0, 12 * S, 50));
    // More data, a block cut: the head drops what the block has, and the spill files
    // holding only that go too (the file being written stays).
    fill(&db, 30, 12 * S, 40 * S, 50);
    db.maintain().unwrap();
    assert_eq!(all(&db), expected(30, 0, 40 * S, 50));
    drop(db);
    // A restart takes the spilled chunks back and replays only the rest of the WAL.
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    assert_eq!(all(&db), expected(30, 0, 40 * S, 50));
    assert_eq!(db.replay_report().recovered_chains, 30);
}

#[test]
fn spilled_chunks_come_back_at_each_restart_and_damage_only_costs_replay_time() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("head_chunks_spill");
    let open = || Db::open_with(dir.path(), opts(100 * S, 0)).unwrap();
    {
        // 180 samples a series: one full chunk spilled, the rest in the open chunk.
        let db = open();
        fill(&db, 30, 0, 9 * S, 50);
    }
    {
        let db = open();
        assert_eq!(db.replay_report().recovered_chains, 30);
        assert_eq!(all(&db), expected(30, 0, 9 * S, 50));
        // Appends go on after the recovered chunks; the next restart takes all back.
        fill(&db, 30, 9 * S, 30 * S, 50);
        // An identical repeat of the newest sample is accepted, another value is not.
        let last = 30 * S - 50;
        let newest = (last / 50) as f64;
        assert!(db.append(&[(series(0), last, newest)]).is_ok());
        let refused = db.append(&[(series(0), last, newest + 1.0)]).unwrap();
        assert_eq!(refused.duplicates, 1);
    }
    {
        let db = open();
        assert_eq!(db.replay_report().recovered_chains, 30);
        assert_eq!(all(&db), expected(30, 0, 30 * S, 50));
    }
    // A flipped bit in every spill file: the chains it breaks are rebuilt from the WAL.
    let mut files: Vec<_> = std::fs::read_dir(&spill)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    for path in &files {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(path, bytes).unwrap();
    }
    let db = open();
    assert!(db.replay_report().recovered_chains < 30);
    assert_eq!(all(&db), expected(30, 0, 30 * S, 50));
}

/// How many of this process's memory maps are of files under `dir`.
fn maps_under(dir: &Path) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let dir = dir.to_string_lossy();
    maps.lines().filter(|l| l.contains(&*dir)).count()
}

#[test]
fn a_cut_reads_every_batch_of_series_and_leaves_no_spill_file_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("head_chunks_spill");
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    // More series than a cut fetches at once (1,024), with chunks spilled to files.
    let n = 2_500;
    fill(&db, n, 0, 12 * S, 250);
    // Reading spilled chunks back maps their files...
    assert_eq!(all(&db), expected(n, 0, 12 * S, 250));
    assert!(
        maps_under(&spill) > 0,
        "queries read spilled chunks through maps"
    );
    fill(&db, n, 12 * S, 40 * S, 250);
    let report = db.maintain().unwrap();
    // ...and after a maintenance pass (three cuts here) none stays mapped: the pages read
    // no longer count as resident memory.
    assert_eq!(maps_under(&spill), 0);
    assert_eq!(report.head_blocks.len(), 3, "{report:?}");
    for block in &report.head_blocks {
        assert_eq!(block.stats.num_series, n as u64);
        assert_eq!(block.stats.num_samples, (n * 40) as u64);
    }
    assert_eq!(all(&db), expected(n, 0, 40 * S, 250));
}

#[test]
fn churned_label_values_are_forgotten_after_their_block_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), opts(10 * S, 0)).unwrap();
    // "pods" that live for one block range each, with unique names.
    for k in 0..5i64 {
        let batch_series: Vec<Labels> = (0..50)
            .map(|i| {
                Labels::from_pairs([
                    ("__name__", "up".to_string()),
                    ("pod", format!("pod-{k}-{i}")),
                ])
            })
            .collect();
        let mut t = k * 10 * S;
        while t < (k + 1) * 10 * S {
            let batch: Vec<(Labels, i64, f64)> =
                batch_series.iter().map(|l| (l.clone(), t, 1.0)).collect();
            db.append(&batch).unwrap();
            t += S;
        }
        db.maintain().unwrap();
    }
    // The head holds only the newest pods; the old ones are in blocks, where queries still
    // find them.
    let stats = db.head_stats(10);
    let head_pods = &stats.label_value_count_by_label_name;
    let pods = head_pods.iter().find(|(n, _)| n == "pod").unwrap().1;
    assert!(pods <= 100, "{head_pods:?}");
    // The strings of pods gone from the head are gone from its symbol table too.
    assert!(
        stats.num_symbols <= pods + 10,
        "{} symbols for {pods} pods",
        stats.num_symbols
    );
    let values = db.label_values("pod");
    assert_eq!(values.len(), 250);
    let m = Matcher::new(MatchOp::Equal, "pod", "pod-0-7").unwrap();
    assert_eq!(db.select(&[m], 0, i64::MAX)[0].samples.len(), 10);
    // New series after the symbol table was compacted resolve correctly.
    db.append(&[(
        Labels::from_pairs([("__name__", "up"), ("pod", "pod-new")]),
        60 * S,
        2.0,
    )])
    .unwrap();
    let m = Matcher::new(MatchOp::Equal, "pod", "pod-new").unwrap();
    assert_eq!(db.select(&[m], 0, i64::MAX)[0].samples, vec![(60 * S, 2.0)]);
    let m = Matcher::new(MatchOp::Equal, "pod", "pod-4-3").unwrap();
    assert_eq!(
        db.select(&[m], 0, i64::MAX)[0].labels.get("pod"),
        Some("pod-4-3")
    );
}
