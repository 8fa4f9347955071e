//! Service discovery through the server binary, next to Debian's Prometheus 2.42 with the
//! same `http_sd_configs`: the same targets, discovered labels and relabeled labels in
//! `/api/v1/targets`, and the `prometheus_sd_*` families in `/metrics`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::Peer;
use common::{free_port, send_request, Server};

/// An HTTP SD endpoint on loopback serving `body` as JSON to every request.
fn sd_endpoint(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// The active targets' (discoveredLabels, labels), sorted, from `/api/v1/targets`.
fn targets(port: u16) -> Vec<(serde_json::Value, serde_json::Value)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let reply = send_request(addr, "GET", "/api/v1/targets", &[], b"", &|| String::new());
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&reply.text()) else {
        return Vec::new();
    };
    let mut out: Vec<(serde_json::Value, serde_json::Value)> = json["data"]["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (t["discoveredLabels"].clone(), t["labels"].clone()))
        .collect();
    out.sort_by_key(|(d, _)| d.to_string());
    out
}

fn metric(port: u16, line_start: &str) -> Option<f64> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let text = send_request(addr, "GET", "/metrics", &[], b"", &|| String::new()).text();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn http_sd_targets_match_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (free_port(), free_port());
    let sd = sd_endpoint(format!(
        r#"[{{"targets": ["127.0.0.1:{a}"], "labels": {{"__meta_rack": "r1", "team": "db"}}}},
            {{"targets": ["127.0.0.1:{b}", "localhost:{b}"], "labels": {{"__meta_rack": "r2"}}}}]"#
    ));
    let config = format!(
        "global: {{scrape_interval: 1s, scrape_timeout: 500ms}}\nscrape_configs:\n  - job_name: sd\n    http_sd_configs:\n      - url: http://127.0.0.1:{sd}/targets\n        refresh_interval: 1s\n    relabel_configs:\n      - source_labels: [__meta_rack]\n        target_label: rack\n      - source_labels: [__address__]\n        regex: 'localhost:.*'\n        action: drop\n"
    );
    let theirs_port = free_port();
    let _prometheus =
        Peer::prometheus(dir.path(), theirs_port, &config, None, &[]).wait_listening();
    std::fs::write(dir.path().join("prometheus.yml"), &config).unwrap();
    let ours = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let ours_port = ours.addr.port();

    let deadline = Instant::now() + Duration::from_secs(60);
    let (mine, theirs) = loop {
        let (mine, theirs) = (targets(ours_port), targets(theirs_port));
        if mine.len() == 2 && theirs.len() == 2 {
            break (mine, theirs);
        }
        assert!(
            Instant::now() < deadline,
            "targets: ours {mine:?}, Prometheus {theirs:?}\n{}",
            ours.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(mine, theirs);
    // Sorted by their discovered labels, whose order follows the random ports: found by rack.
    let r1 = mine
        .iter()
        .find(|(_, l)| l["rack"] == "r1")
        .expect("the rack r1 target");
    assert_eq!(r1.1["team"], "db");
    assert_eq!(r1.0["__meta_url"], format!("http://127.0.0.1:{sd}/targets"));
    assert!(mine.iter().any(|(_, l)| l["rack"] == "r2"));
    for port in [ours_port, theirs_port] {
        assert_eq!(
            metric(
                port,
                "prometheus_sd_discovered_targets{config=\"sd\",name=\"scrape\"}"
            ),
            Some(3.0),
            "port {port}"
        );
        assert_eq!(metric(port, "prometheus_sd_http_failures_total"), Some(0.0));
        // Both discovery managers' series, as Prometheus registers them at start.
        for line in [
            "prometheus_sd_failed_configs{name=\"notify\"}",
            "prometheus_sd_failed_configs{name=\"scrape\"}",
        ] {
            assert_eq!(metric(port, line), Some(0.0), "port {port}: {line}");
        }
    }
}
