//! Issue 11, finding 6: a corrupt record in the middle of the WAL dropped the rest of its
//! segment, logged as a torn tail and counted nowhere. Against the real server: scrape for
//! a while, stop, flip a byte inside one record in the middle of the WAL, start again: the
//! server answers, keeps every sample but that record's, counts the corruption
//! (`prometheus_tsdb_wal_corruptions`) and says what was lost, and the WAL is left as it
//! was (the damaged bytes stay on disk).

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// Series the exporter serves, each scrape.
const SERIES: usize = 20;

/// An exporter on loopback serving `SERIES` gauges; stops with the test process.
fn exporter() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let body: String = (0..SERIES)
            .map(|i| format!("wal_test_gauge{{i=\"{i}\"}} {i}\n"))
            .collect();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// One number from an instant query (0 when the result is empty).
fn number(server: &Server, query: &str) -> f64 {
    let path = format!("/api/v1/query?query={}", urlencode(query));
    let reply = server.get(&path, &[]);
    assert_eq!(reply.status, 200, "{query}: {}", reply.text());
    let value: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    value["data"]["result"][0]["value"][1]
        .as_str()
        .map_or(0.0, |v| v.parse().unwrap())
}

fn metric(server: &Server, name: &str) -> f64 {
    let text = server.get("/metrics", &[]).text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// The start offsets of a segment's records (our framing: u32 LE length, u32 CRC, data).
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

fn wal_segment(data: &Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(data.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    segments.sort();
    segments.into_iter().next().expect("a WAL segment")
}

#[test]
fn a_corrupt_wal_record_costs_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let port = exporter();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "scrape_configs:\n  - job_name: exporter\n    scrape_interval: 200ms\n    scrape_timeout: 200ms\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let args = ["--config.file=prometheus.yml", "--storage.tsdb.path=data"];
    let scraped = "sum(count_over_time(wal_test_gauge[1h]))";
    // Every sample, the report series (`up`, `scrape_duration_seconds`, …) included: a
    // scrape's samples and its report are two records.
    let total = [
        "wal_test_gauge",
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ]
    .map(|m| format!("sum(count_over_time({m}[1h]))"))
    .join(" + ");
    let total = total.as_str();
    let newest = "max(timestamp(wal_test_gauge))";
    let server = Server::start(dir.path(), &args);
    let deadline = Instant::now() + Duration::from_secs(20);
    while number(&server, scraped) < (30 * SERIES) as f64 {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stop scraping by stopping the server; what it holds now is what the WAL holds.
    let before = number(&server, total);
    let newest_before = number(&server, newest);
    drop(server);

    let data = dir.path().join("data");
    let segment = wal_segment(&data);
    let mut bytes = std::fs::read(&segment).unwrap();
    let offsets = record_offsets(&bytes);
    assert!(offsets.len() > 20, "{} records", offsets.len());
    // A record in the middle (a scrape's samples: the series records come first): one
    // bit of its data flips.
    let victim = offsets.len() / 2;
    let end = offsets[victim + 1];
    bytes[end - 1] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();
    // Without the spill files, whose full chunks would give the lost samples back: this is
    // about what the WAL alone loses.
    std::fs::remove_dir_all(data.join("head_chunks_spill")).unwrap();

    // Started without the exporter's job: nothing new is scraped.
    std::fs::write(dir.path().join("prometheus.yml"), "scrape_configs: []\n").unwrap();
    let server = Server::start(dir.path(), &args);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get("/-/ready", &[]).status != 200 {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.get("/-/healthy", &[]).status, 200);
    let after = number(&server, total);
    // One record lost at most (a scrape's samples, one per series, or its five report
    // samples), and every record after it kept.
    assert!(
        after < before && after >= before - SERIES as f64,
        "{before} samples before, {after} after: {}",
        server.log_text()
    );
    assert_eq!(number(&server, "count(wal_test_gauge)"), SERIES as f64);
    assert_eq!(number(&server, newest), newest_before);
    assert_eq!(
        metric(&server, "prometheus_tsdb_wal_corruptions_total"),
        1.0
    );
    let log = server.log_text();
    assert!(log.contains("WAL corruption"), "{log}");
    assert!(!log.contains("torn tail"), "{log}");
    // The damaged bytes are left on disk as they were.
    drop(server);
    assert_eq!(std::fs::read(&segment).unwrap()[..bytes.len()], bytes[..]);
}
