//! Agent mode (`--agent`): scrapes and remote-writes from a WAL-only store at
//! `--storage.agent.path`, refuses the query side as Prometheus's agent does, and refuses
//! configuration sections an agent cannot act on.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn an_agent_scrapes_and_forwards_and_serves_no_queries() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = start_remote_write_receiver(dir.path());
    let port = free_port();
    std::fs::write(
        dir.path().join("agent.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels: {{agent: a1}}\n\
             scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n  - url: http://{}/api/v1/write\n    queue_config: {{batch_send_deadline: 200ms}}\n",
            receiver.addr
        ),
    )
    .unwrap();
    let agent = Server::start_on(
        dir.path(),
        port,
        &[
            "--agent",
            "--config.file=agent.yml",
            "--storage.agent.path=agent-data",
        ],
    );
    // What the agent scraped arrives at the receiver.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = query_value(
            receiver.addr.port(),
            "count(up{job=\"self\", agent=\"a1\"})",
            now_s(),
        );
        if n == Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nothing forwarded\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(dir.path().join("agent-data/wal").is_dir());
    assert!(!dir.path().join("data").exists());
    // The query side answers as Prometheus's agent does.
    for path in [
        "/api/v1/query?query=up",
        "/api/v1/query_range?query=up&start=0&end=1&step=1",
        "/api/v1/labels",
        "/api/v1/label/job/values",
        "/api/v1/series?match[]=up",
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/status/tsdb",
    ] {
        let reply = agent.get(path, &[]);
        assert_eq!(reply.status, 422, "{path}");
        assert_eq!(
            reply.text(),
            r#"{"status":"error","errorType":"execution","error":"unavailable with Prometheus Agent"}"#
        );
    }
    assert_eq!(agent.get("/federate?match[]=up", &[]).status, 500);
    // The rest is served.
    let targets = agent.get("/api/v1/targets", &[]);
    assert_eq!(targets.status, 200);
    assert!(
        targets.text().contains("\"health\":\"up\""),
        "{}",
        targets.text()
    );
    assert_eq!(agent.get("/api/v1/status/flags", &[]).status, 200);
    let metrics = agent.get("/metrics", &[]).text();
    assert!(metrics.contains("prometheus_remote_storage_samples_total{"));
}

#[test]
fn sections_an_agent_cannot_act_on_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (section, text) in [
        ("rule_files", "rule_files: [r.yml]\n"),
        (
            "alerting",
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:1']\n",
        ),
        (
            "remote_read",
            "remote_read:\n  - url: http://127.0.0.1:1/api/v1/read\n",
        ),
    ] {
        std::fs::write(dir.path().join("agent.yml"), text).unwrap();
        let out = std::process::Command::new(promethium_bin())
            .current_dir(dir.path())
            .args([
                "--agent",
                "--config.file=agent.yml",
                &format!("--web.listen-address=127.0.0.1:{}", free_port()),
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{section}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("field {section} is not allowed in agent mode")),
            "{section}: {err}"
        );
    }
}
