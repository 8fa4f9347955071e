//! Promethium never touches a Prometheus data directory, and the two never share one:
//! Debian's Prometheus 2.42 writes a real data directory (WAL, head chunks, a block from
//! its own `promtool`), then Promethium is started on it and must refuse with every byte
//! unchanged; a running Prometheus and a running Promethium each refuse the other's
//! directory.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Debian's Prometheus on `data`, scraping itself every second (so it writes its WAL and
/// head chunks); `extra` flags after ours. Does not wait.
fn start_prometheus(dir: &Path, data: &Path, extra: &[&str]) -> Peer {
    let port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    let mut flags = vec!["--storage.tsdb.retention.time=100y"];
    flags.extend_from_slice(extra);
    Peer::prometheus(dir, port, &config, Some(data), &flags)
}

/// SIGTERM, and wait for a clean exit (it flushes its WAL page and closes the head).
fn stop(mut prometheus: Peer) {
    let status = Command::new("kill")
        .args(["-TERM", &prometheus.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = wait_exit(&mut prometheus.child, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("Prometheus did not stop: {}", prometheus.log_text()));
    assert!(
        status.success(),
        "Prometheus: {status}: {}",
        prometheus.log_text()
    );
}

/// Waits up to `within` for a process to exit.
fn wait_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

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

/// What differs between two snapshots, for a readable failure.
fn changes(
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in before {
        match after.get(path) {
            None => out.push(format!("removed {}", path.display())),
            Some(b) if b != bytes => out.push(format!("changed {}", path.display())),
            _ => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        out.push(format!("created {}", path.display()));
    }
    out
}

/// Starts promethium on `data` and expects it to exit with an error; returns its log.
fn promethium_refuses(dir: &Path, data: &Path) -> String {
    let port = free_port();
    let log = dir.join(format!("promethium-{port}.log"));
    let mut child = Command::new(promethium_bin())
        .current_dir(dir)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let status =
        status.unwrap_or_else(|| panic!("promethium started on {}: {text}", data.display()));
    assert!(!status.success(), "promethium exited 0: {text}");
    text
}

/// A block from Prometheus's own promtool (Prometheus's index and chunk formats).
fn promtool_block(dir: &Path, data: &Path) {
    let input = dir.join("data.om");
    std::fs::write(&input, openmetrics_data(30)).unwrap();
    let out = Command::new("/usr/bin/promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(data)
        .output()
        .expect("Debian's promtool is needed: apt-get install prometheus (scripts/test does)");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promethium_refuses_a_prometheus_data_directory_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("prometheus-data");
    promtool_block(dir.path(), &data);
    let prometheus = start_prometheus(
        dir.path(),
        &data,
        &[
            "--storage.tsdb.min-block-duration=1m",
            "--storage.tsdb.max-block-duration=1m",
        ],
    )
    .wait_listening();
    // Scrapes of itself (the first comes after up to 5 s: its scrape manager applies
    // targets every 5 s): hundreds of series, more than a 32 KiB WAL page, so it is
    // written out while it runs.
    let wal = data.join("wal/00000000");
    let deadline = Instant::now() + Duration::from_secs(40);
    while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(
            Instant::now() < deadline,
            "Prometheus wrote no WAL: {}",
            prometheus.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop(prometheus);
    let before = snapshot(&data);
    assert!(data.join("chunks_head").is_dir());

    let log = promethium_refuses(dir.path(), &data);
    assert!(
        log.contains("is a Prometheus data directory, which Promethium cannot read"),
        "{log}"
    );
    assert!(log.contains(&data.display().to_string()), "{log}");
    assert!(
        log.contains("wal/00000000 is a WAL segment in Prometheus's format"),
        "{log}"
    );
    assert!(
        log.contains("index is a Prometheus block index (magic 0xBAAAD700)"),
        "{log}"
    );
    let after = snapshot(&data);
    assert_eq!(changes(&before, &after), Vec::<String>::new());

    // Prometheus still reads its directory afterwards (its WAL was not cut).
    let again = start_prometheus(dir.path(), &data, &[]).wait_listening();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !again.log_text().contains("TSDB started") {
        assert!(Instant::now() < deadline, "{}", again.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = again.log_text();
    assert!(
        !log.contains("attempting repair") && !log.contains("corrupt"),
        "Prometheus had to repair: {log}"
    );
}

#[test]
fn promethium_refuses_a_directory_a_running_prometheus_uses() {
    let dir = tempfile::tempdir().unwrap();
    // With its lock (upstream's default; Debian's needs the flag): refused for the lock,
    // and the message says whose data it is.
    let locked = dir.path().join("locked");
    let mut prometheus =
        start_prometheus(dir.path(), &locked, &["--storage.tsdb.use-lockfile"]).wait_listening();
    std::thread::sleep(Duration::from_millis(1500));
    let before = snapshot(&locked);
    let log = promethium_refuses(dir.path(), &locked);
    assert!(log.contains("another process holds the lock on"), "{log}");
    assert!(
        log.contains("the directory holds Prometheus's data"),
        "{log}"
    );
    let after = snapshot(&locked);
    // Prometheus itself writes meanwhile: only what it may change may differ.
    for change in changes(&before, &after) {
        assert!(
            change.contains("/wal/")
                || change.contains("chunks_head")
                || change.contains("queries.active"),
            "{change}"
        );
    }
    assert!(
        prometheus.child.try_wait().unwrap().is_none(),
        "Prometheus stopped"
    );
    drop(prometheus);

    // Without a lock (Debian's default): refused for what the directory holds.
    let unlocked = dir.path().join("unlocked");
    let _prometheus = start_prometheus(dir.path(), &unlocked, &[]).wait_listening();
    assert!(!unlocked.join("lock").exists());
    let log = promethium_refuses(dir.path(), &unlocked);
    assert!(log.contains("is a Prometheus data directory"), "{log}");
    assert!(
        !unlocked.join("lock").exists(),
        "promethium created a lock file"
    );
    assert!(
        unlocked.join("queries.active").is_file(),
        "promethium replaced Prometheus's query log"
    );
}

#[test]
fn prometheus_refuses_a_directory_promethium_uses() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ours");
    let ours = Server::start(
        dir.path(),
        &[&format!("--storage.tsdb.path={}", data.display())],
    );
    let guard = data.join("queries.active");
    assert!(guard.is_dir(), "no guard directory");

    // Any Prometheus (server mode), locking or not, stops at the guard before it opens
    // its storage.
    let mut prometheus = start_prometheus(dir.path(), &data, &[]);
    let status = wait_exit(&mut prometheus.child, Duration::from_secs(30)).unwrap_or_else(|| {
        panic!(
            "Prometheus runs on our directory: {}",
            prometheus.log_text()
        )
    });
    assert!(!status.success());
    let log = prometheus.log_text();
    assert!(log.contains("queries.active"), "{log}");
    assert!(!log.contains("Opening storage"), "{log}");

    // Without the guard, a locking Prometheus stops at our lock.
    std::fs::remove_dir_all(&guard).unwrap();
    let mut prometheus = start_prometheus(dir.path(), &data, &["--storage.tsdb.use-lockfile"]);
    let status = wait_exit(&mut prometheus.child, Duration::from_secs(30)).unwrap_or_else(|| {
        panic!(
            "Prometheus runs on our directory: {}",
            prometheus.log_text()
        )
    });
    assert!(!status.success());
    let log = prometheus.log_text();
    assert!(log.contains("lock DB directory"), "{log}");
    // We are unharmed.
    assert_eq!(ours.get("/-/healthy", &[]).status, 200);
    assert_eq!(ours.get("/-/ready", &[]).status, 200);
}
