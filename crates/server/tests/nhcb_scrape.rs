//! `convert_classic_histograms_to_nhcb: true`: a target written here serves a classic
//! histogram in the text format; we store
//! each label set as one native histogram with custom buckets under the family's name,
//! with the classic series too only with `always_scrape_classic_histograms`.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;

const BODY: &str = "# HELP rpc_seconds RPC latency.\n\
# TYPE rpc_seconds histogram\n\
rpc_seconds_bucket{path=\"/a\",le=\"0.1\"} 2\n\
rpc_seconds_bucket{path=\"/a\",le=\"1\"} 5\n\
rpc_seconds_bucket{path=\"/a\",le=\"+Inf\"} 6\n\
rpc_seconds_sum{path=\"/a\"} 3.5\n\
rpc_seconds_count{path=\"/a\"} 6\n\
# TYPE up_total counter\n\
up_total 1\n";

fn start_target() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                BODY.len()
            );
        }
    });
    port
}

#[test]
fn classic_histograms_become_native_histograms_with_custom_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let target = start_target();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: nhcb\n    convert_classic_histograms_to_nhcb: true\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n  - job_name: both\n    convert_classic_histograms_to_nhcb: true\n    always_scrape_classic_histograms: true\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
        ),
    )
    .unwrap();
    let server = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let port = server.addr.port();
    // Both jobs scraped (each at its own offset in the interval).
    let deadline = Instant::now() + Duration::from_secs(20);
    let (h, at) = loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let both = query_value(port, "rpc_seconds_count{job=\"both\"}", now);
        if let Some(r) = instant_query(port, "rpc_seconds{job=\"nhcb\"}", &now.to_string()) {
            if r.as_array().is_some_and(|a| !a.is_empty()) && both.is_some() {
                break (r, now);
            }
        }
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(h[0]["metric"]["path"], "/a", "{h}");
    // Custom buckets: (-Inf, 0.1], (0.1, 1], (1, +Inf].
    assert_eq!(
        h[0]["histogram"][1],
        serde_json::json!({"count": "6", "sum": "3.5", "buckets": [
            [3, "-Inf", "0.1", "2"],
            [0, "0.1", "1", "3"],
            [0, "1", "+Inf", "1"]
        ]}),
        "{h}"
    );
    let value = |q: &str| query_value(port, q, at);
    // The classic series: only where asked for.
    assert_eq!(value("rpc_seconds_count{job=\"nhcb\"}"), None);
    assert_eq!(value("rpc_seconds_count{job=\"both\"}"), Some(6.0));
    assert_eq!(value("histogram_sum(rpc_seconds{job=\"both\"})"), Some(3.5));
    // Other families are untouched.
    assert_eq!(value("up_total{job=\"nhcb\"}"), Some(1.0));
    // The quantile interpolates within the custom bounds: rank 3 of 6 is in (0.1, 1].
    let median = value("histogram_quantile(0.5, rpc_seconds{job=\"nhcb\"})").unwrap();
    assert!(median > 0.1 && median <= 1.0, "{median}");
}
