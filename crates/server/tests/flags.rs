//! A service file written for Prometheus (3.14, or Debian's 2.42 with its removed and
//! Debian-only flags) starts promethium; every Prometheus flag is listed by
//! `/api/v1/status/flags`; `--config.auto-reload` reloads a changed configuration file.
//! (Parsing each flag is unit-tested in `src/flags/tests.rs`.)

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn prometheus_service_flags_start_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--config.file=prometheus.yml",
            "--config.auto-reload",
            "--config.auto-reload-interval=1s",
            // Debian's Prometheus 2.x: removed and Debian-only flags.
            "--storage.tsdb.retention=30d",
            "--web.local-assets=/usr/share/prometheus/web/",
            "--storage.tsdb.use-lockfile",
            "--web.console.templates=/etc/prometheus/consoles",
            // Prometheus 3 flags of features promethium has not yet, and Go's.
            "--web.enable-remote-write-receiver",
            "--rules.alert.resend-delay=1m",
            "--no-auto-gomaxprocs",
            "--enable-feature=exemplar-storage,promql-at-modifier",
        ],
    );
    let flags: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/status/flags", &[]).body).unwrap();
    let data = &flags["data"];
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/prometheus-flags.md"
    ))
    .unwrap();
    let names: Vec<&str> = spec
        .lines()
        .filter(|l| l.starts_with("| <code"))
        .filter_map(|l| l.split(">--").nth(1)?.split('<').next())
        .filter(|n| *n != "help" && *n != "version")
        .collect();
    assert_eq!(names.len(), 57);
    for name in names {
        assert!(data[name].is_string(), "--{name} not listed: {data}");
    }
    assert_eq!(data["storage.tsdb.retention.time"], "30d");
    assert_eq!(data["auto-gomaxprocs"], "false");
    assert_eq!(
        data["enable-feature"],
        "exemplar-storage,promql-at-modifier"
    );
    let runtime: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/status/runtimeinfo", &[]).body).unwrap();
    assert_eq!(runtime["data"]["storageRetention"], "30d");

    let log = server.log_text();
    for expected in [
        "'storage.tsdb.retention' flag is deprecated",
        "--web.local-assets",
        "--storage.tsdb.use-lockfile",
        "--web.console.templates has no effect yet",
        "Go runtime setting",
        "option=promql-at-modifier",
    ] {
        assert!(log.contains(expected), "{expected:?} not in {log}");
    }
    // Flags that act are not warned about.
    assert!(!log.contains("--rules.alert.resend-delay"), "{log}");
    assert!(!log.contains("--web.enable-remote-write-receiver"), "{log}");

    // --config.auto-reload: the changed file is loaded within a few intervals.
    std::fs::write(&config, "global:\n  scrape_interval: 42s\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let yaml = server.get("/api/v1/status/config", &[]).text();
        if yaml.contains("scrape_interval: 42s") {
            break;
        }
        assert!(Instant::now() < deadline, "{yaml}\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server
        .log_text()
        .contains("Configuration file change detected"));
}

#[test]
fn flag_errors_name_the_flag() {
    let out = std::process::Command::new(promethium_bin())
        .arg("--query.timeout=5x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--query.timeout") && err.contains("5x"),
        "{err}"
    );
    // An agent-only flag in server mode is refused as Prometheus refuses it.
    let out = std::process::Command::new(promethium_bin())
        .arg("--storage.agent.path=x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--storage.agent.path"));
}
