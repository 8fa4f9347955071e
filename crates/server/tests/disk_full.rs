//! A full disk under a running server: appends fail cleanly and visibly (the target shows
//! the error, `/-/ready` answers 503, a counter and one log line say so), nothing is
//! stored meanwhile, and when space returns it recovers without a restart; after a
//! restart every sample it held is still there.
//!
//! The data directory is on a 4 MiB tmpfs the test mounts (needs root; skipped with a
//! message otherwise) and unmounts at the end, also when it fails.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

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

/// A tmpfs mounted for the test; unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs: {status}");
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.0).status();
        if !matches!(ok, Ok(s) if s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Fills the file system holding `path` until a write fails.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0x5au8; 16 << 10];
    while f.write_all(&block).and_then(|()| f.flush()).is_ok() {}
    // The last, partial block may have left a few bytes: take them too.
    while f.write_all(&[0x5a]).is_ok() {}
}

fn metric(server: &Server, name: &str) -> Option<f64> {
    server
        .get("/metrics", &[])
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
}

/// The timestamps (ms) of `up{job="self"}` over the last hour.
fn up_times(server: &Server) -> Vec<i64> {
    let path = format!("/api/v1/query?query={}", urlencode(r#"up{job="self"}[1h]"#));
    let v: serde_json::Value = serde_json::from_str(&server.get(&path, &[]).text()).unwrap();
    v["data"]["result"][0]["values"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_full_disk_fails_appends_visibly_and_loses_nothing() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a tmpfs needs root (run the tests as root, as CI does)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _fs = Tmpfs::mount(&dir.path().join("mnt"), "4m");
    let data = dir.path().join("mnt/data");
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 200ms\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    )
    .unwrap();
    let args = [format!("--storage.tsdb.path={}", data.display())];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_on(dir.path(), port, &args);
    server.wait_until("a few scrapes", Duration::from_secs(20), || {
        up_times(&server).len() >= 5
    });

    // The disk fills.
    let filler = dir.path().join("mnt/filler");
    fill(&filler);
    server.wait_until("/-/ready 503", Duration::from_secs(20), || {
        server.get("/-/ready", &[]).status == 503
    });
    let ready = server.get("/-/ready", &[]).text();
    assert!(ready.contains("No space left on device"), "{ready}");
    assert_eq!(server.get("/-/healthy", &[]).status, 200);
    // The scrape fails with the storage's error. (Its `up` 0 may still be stored: a
    // small write can fit in the page the WAL segment already has.)
    server.wait_until("the target's error", Duration::from_secs(20), || {
        server
            .get("/api/v1/targets", &[])
            .text()
            .contains("appending to storage: writing the WAL: No space left on device")
    });
    // Nothing of a failed scrape is stored.
    let scraped = || {
        let path = format!(
            "/api/v1/query?query={}",
            urlencode("count_over_time(prometheus_build_info[1h])")
        );
        let v: serde_json::Value =
            serde_json::from_str(&server.get(&path, &[]).text()).unwrap_or_default();
        v["data"]["result"][0]["value"][1].clone()
    };
    let before = scraped();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        scraped(),
        before,
        "scraped samples stored while the disk is full"
    );
    let failures = metric(&server, "prometheus_tsdb_wal_writes_failed_total").unwrap_or(0.0);
    assert!(failures >= 3.0, "{failures}");
    let during = up_times(&server);

    // Space returns: no restart needed.
    std::fs::remove_file(&filler).unwrap();
    server.wait_until("/-/ready 200", Duration::from_secs(20), || {
        server.get("/-/ready", &[]).status == 200
    });
    server.wait_until("new samples", Duration::from_secs(20), || {
        up_times(&server).len() >= during.len() + 5
    });
    let log = server.log_text();
    assert!(log.contains("writing the WAL works again"), "{log}");
    assert_eq!(
        log.matches("writing the WAL failed").count(),
        1,
        "one line per run of failures: {log}"
    );
    let held = up_times(&server);
    let last = *held.last().unwrap();
    drop(server); // SIGKILL: what was acknowledged is in the WAL.

    let server = Server::start_on(dir.path(), port, &args);
    server.wait_until("replay", Duration::from_secs(20), || {
        server.get("/-/ready", &[]).status == 200
    });
    let after: Vec<i64> = up_times(&server)
        .into_iter()
        .filter(|t| *t <= last)
        .collect();
    assert_eq!(after, held, "samples lost across the restart");
    let log = server.log_text();
    assert!(
        !log.contains("torn tail") && !log.contains("corruption"),
        "{log}"
    );
}
