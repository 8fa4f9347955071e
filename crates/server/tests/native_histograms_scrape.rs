//! Native histograms scraped end to end: a target written here serves the protobuf
//! exposition (a counter histogram, a gauge histogram and a float counter), scraped every
//! second by us (`scrape_native_histograms: true`) and by Debian's Prometheus 2.42
//! (`--enable-feature=native-histograms`). Both ask for protobuf first, and
//! `histogram_count`, `histogram_sum` and `histogram_quantile(0.9, rate(...[1m]))` agree
//! between the two. A second job of ours applies `native_histogram_bucket_limit` (the
//! resolution drops, the count stays) and `always_scrape_classic_histograms`. And
//! Prometheus federates our histograms (`/federate` in protobuf, native buckets) and holds
//! the same ones.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

#[derive(Clone, PartialEq, prost::Message)]
struct LabelPair {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Counter {
    #[prost(double, tag = "1")]
    value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Bucket {
    #[prost(uint64, tag = "1")]
    cumulative_count: u64,
    #[prost(double, tag = "2")]
    upper_bound: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BucketSpan {
    #[prost(sint32, tag = "1")]
    offset: i32,
    #[prost(uint32, tag = "2")]
    length: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Histogram {
    #[prost(uint64, tag = "1")]
    sample_count: u64,
    #[prost(double, tag = "2")]
    sample_sum: f64,
    #[prost(message, repeated, tag = "3")]
    bucket: Vec<Bucket>,
    #[prost(sint32, tag = "5")]
    schema: i32,
    #[prost(double, tag = "6")]
    zero_threshold: f64,
    #[prost(uint64, tag = "7")]
    zero_count: u64,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "13")]
    positive_delta: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Metric {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(message, optional, tag = "3")]
    counter: Option<Counter>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MetricFamily {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    help: String,
    #[prost(int32, tag = "3")]
    kind: i32,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
}

const COUNTER: i32 = 0;
const HISTOGRAM: i32 = 4;
const GAUGE_HISTOGRAM: i32 = 5;

/// How long the target's values stay put: both servers scrape every second, so at 3.5 s
/// into a step both have stored that step's values.
const STEP_MS: i64 = 5000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Counts to positive deltas.
fn deltas(counts: &[u64]) -> Vec<i64> {
    let mut prev = 0i64;
    counts
        .iter()
        .map(|&c| {
            let d = c as i64 - prev;
            prev = c as i64;
            d
        })
        .collect()
}

/// The body at `step`. The counter histogram's buckets (schema 0: (1,2], (2,4], (4,8],
/// (8,16]) grow in proportion 3:3:3:1, so any rate of it has its 0.9 quantile on the
/// boundary 8 whatever the scrape times; the gauge histogram goes up and down and moves
/// its buckets. An `invalid` body's counter histogram has a count its buckets do not add
/// up to.
fn body_at(step: i64, invalid: bool) -> Vec<u8> {
    let k = (step % 1000 + 1) as u64;
    let counter_counts = [3 * k, 3 * k, 3 * k, k];
    let counter = Histogram {
        sample_count: 10 * k + u64::from(invalid),
        sample_sum: 55.5 * k as f64,
        schema: 0,
        zero_threshold: 2f64.powi(-128),
        positive_span: vec![BucketSpan {
            offset: 1,
            length: 4,
        }],
        positive_delta: deltas(&counter_counts),
        // Classic buckets as well, as client libraries expose both.
        bucket: [2.0, 4.0, 8.0, 16.0]
            .iter()
            .zip([3, 6, 9, 10])
            .map(|(&upper_bound, c)| Bucket {
                cumulative_count: c * k,
                upper_bound,
            })
            .collect(),
        ..Histogram::default()
    };
    let swing = (step % 4) as u64;
    let gauge_counts = [1 + swing, 4, 2 * swing + 1];
    let gauge = Histogram {
        sample_count: gauge_counts.iter().sum::<u64>() + swing,
        sample_sum: 100.0 - 7.25 * swing as f64,
        schema: 1,
        zero_threshold: 0.001,
        zero_count: swing,
        positive_span: vec![BucketSpan {
            offset: -(swing as i32),
            length: 3,
        }],
        positive_delta: deltas(&gauge_counts),
        ..Histogram::default()
    };
    let label = |name: &str, value: &str| LabelPair {
        name: name.into(),
        value: value.into(),
    };
    let families = [
        MetricFamily {
            name: "rpc_duration_seconds".into(),
            help: "RPC latency.".into(),
            kind: HISTOGRAM,
            metric: vec![Metric {
                label: vec![label("service", "api")],
                histogram: Some(counter),
                ..Metric::default()
            }],
        },
        MetricFamily {
            name: "queue_size_bytes".into(),
            help: "Queue sizes now.".into(),
            kind: GAUGE_HISTOGRAM,
            metric: vec![Metric {
                histogram: Some(gauge),
                ..Metric::default()
            }],
        },
        MetricFamily {
            name: "requests_total".into(),
            help: String::new(),
            kind: COUNTER,
            metric: vec![Metric {
                counter: Some(Counter {
                    value: 7.0 * k as f64,
                }),
                ..Metric::default()
            }],
        },
    ];
    let mut out = Vec::new();
    for f in &families {
        prost::Message::encode_length_delimited(f, &mut out).unwrap();
    }
    out
}

/// The target: every request gets the body of the current step (an invalid one on
/// `/invalid`); the Accept headers seen are kept.
fn start_target() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&accepts);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request);
            if let Some(accept) = text.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("accept").then(|| value.trim())
            }) {
                seen.lock().unwrap().push(accept.to_string());
            }
            let invalid = text.starts_with("GET /invalid ");
            let body = body_at(now_ms() / STEP_MS, invalid);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (port, accepts)
}

fn values(port: u16, q: &str, at: f64) -> Vec<(String, f64)> {
    let Some(result) = instant_query(port, q, &at.to_string()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, f64)> = result
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let v = s["value"][1].as_str()?.parse().ok()?;
            Some((s["metric"].to_string(), v))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn native_histograms_scraped_agree_with_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let (target, accepts) = start_target();
    let port = free_port();
    let prometheus = Peer::prometheus(
        dir.path(),
        free_port(),
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: nh\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n    params: {{'match[]': ['{{job=\"nh\"}}']}}\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n    metric_relabel_configs: [{{target_label: job, replacement: fed}}]\n"
        ),
        None,
        &["--enable-feature=native-histograms"],
    )
    .wait_listening();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: nh\n    scrape_native_histograms: true\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n  - job_name: limited\n    scrape_native_histograms: true\n    native_histogram_bucket_limit: 2\n    always_scrape_classic_histograms: true\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n  - job_name: invalid\n    scrape_native_histograms: true\n    metrics_path: /invalid\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
        ),
    )
    .unwrap();
    let ours = Server::start_on(dir.path(), port, &["--config.file=prometheus.yml"]);

    // Both servers must have scraped before the step ahead of the first compared one
    // begins: Prometheus hands out discovered targets only every 5 s, so its first
    // scrape can come a step later than ours.
    let deadline = Instant::now() + Duration::from_secs(30);
    while [prometheus.port, port]
        .iter()
        .any(|p| values(*p, "up{job=\"nh\"}", now_ms() as f64 / 1000.0).is_empty())
    {
        assert!(
            Instant::now() < deadline,
            "no scrape of the target within 30 s; Prometheus log: {}; ours: {}",
            prometheus.log_text(),
            ours.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Three steps, each compared 3.5 s into it, once there is a minute's rate to take
    // (the first step needs an earlier one in its window).
    let first = now_ms() / STEP_MS + 2;
    let mut compared = 0;
    let mut last_at = 0.0;
    for step in first..first + 3 {
        let at_ms = step * STEP_MS + 3500;
        let wait = at_ms + 500 - now_ms();
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait as u64));
        }
        let at = at_ms as f64 / 1000.0;
        last_at = at;
        for q in [
            "histogram_count(rpc_duration_seconds{job=\"nh\"})",
            "histogram_sum(rpc_duration_seconds{job=\"nh\"})",
            "histogram_quantile(0.9, rate(rpc_duration_seconds{job=\"nh\"}[1m]))",
            "histogram_quantile(0.9, rpc_duration_seconds{job=\"nh\"})",
            "histogram_count(queue_size_bytes{job=\"nh\"})",
            "histogram_sum(queue_size_bytes{job=\"nh\"})",
            "requests_total{job=\"nh\"}",
        ] {
            let deadline = Instant::now() + Duration::from_secs(10);
            let (theirs, mine) = loop {
                let theirs = values(prometheus.port, q, at);
                let mine = values(port, q, at);
                if !theirs.is_empty() && !mine.is_empty() || Instant::now() > deadline {
                    break (theirs, mine);
                }
                std::thread::sleep(Duration::from_millis(200));
            };
            assert!(
                !theirs.is_empty(),
                "Prometheus has no answer to {q} at {at}; its log: {}",
                prometheus.log_text()
            );
            let same = theirs.len() == mine.len()
                && theirs
                    .iter()
                    .zip(&mine)
                    .all(|(t, m)| t.0 == m.0 && close(t.1, m.1));
            assert!(
                same,
                "{q} at {at}: Prometheus {theirs:?}, ours {mine:?}; our log: {}",
                ours.log_text()
            );
            compared += 1;
        }
        // The proportional buckets put the 0.9 quantile on a boundary.
        let q = values(
            port,
            "histogram_quantile(0.9, rate(rpc_duration_seconds{job=\"nh\"}[1m]))",
            at,
        );
        assert!(close(q[0].1, 8.0), "{q:?}");
    }
    assert_eq!(compared, 21);

    // Both asked for protobuf first.
    let accepts = accepts.lock().unwrap().clone();
    assert!(accepts.len() >= 4, "{accepts:?}");
    for a in &accepts {
        assert!(
            a.starts_with("application/vnd.google.protobuf"),
            "Accept: {a}"
        );
    }

    // The limited job: two buckets at most (schema 0 → -1 → -2 ...), the same count, and
    // the classic series kept.
    let at = last_at;
    let raw = instant_query(
        port,
        "rpc_duration_seconds{job=\"limited\"}",
        &at.to_string(),
    )
    .unwrap();
    let h = &raw[0]["histogram"][1];
    let buckets = h["buckets"].as_array().unwrap();
    assert!(buckets.len() <= 2, "{h}");
    let count: f64 = h["count"].as_str().unwrap().parse().unwrap();
    let native_count = values(
        port,
        "histogram_count(rpc_duration_seconds{job=\"nh\"})",
        at,
    );
    assert!(close(count, native_count[0].1), "{h} vs {native_count:?}");
    let classic = values(port, "rpc_duration_seconds_count{job=\"limited\"}", at);
    assert_eq!(classic.len(), 1, "{classic:?}");
    let no_classic = values(port, "rpc_duration_seconds_count{job=\"nh\"}", at);
    assert!(no_classic.is_empty(), "{no_classic:?}");

    // A body with an invalid histogram fails its scrape, naming what is wrong, and
    // nothing of it is stored (not its float counter either), as in Prometheus.
    let up = values(port, "up{job=\"invalid\"}", at);
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0].1, 0.0, "{up:?}");
    let stored = values(port, "{job=\"invalid\", __name__!~\"up|scrape_.*\"}", at);
    assert!(stored.is_empty(), "{stored:?}");
    let targets: serde_json::Value =
        serde_json::from_slice(&ours.get("/api/v1/targets", &[]).body).unwrap();
    let error = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["job"] == "invalid")
        .map(|t| t["lastError"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert!(
        error.contains("invalid native histogram") && error.contains("count"),
        "lastError: {error:?}"
    );

    // Federated: Prometheus holds our histograms, counter and gauge, as we hold them.
    for (theirs, mine) in [
        (
            "histogram_count(rpc_duration_seconds{job=\"fed\"})",
            "histogram_count(rpc_duration_seconds{job=\"nh\"})",
        ),
        (
            "histogram_sum(queue_size_bytes{job=\"fed\"})",
            "histogram_sum(queue_size_bytes{job=\"nh\"})",
        ),
        (
            "histogram_count(queue_size_bytes{job=\"fed\"})",
            "histogram_count(queue_size_bytes{job=\"nh\"})",
        ),
    ] {
        let want = values(port, mine, at);
        let got = values(prometheus.port, theirs, at);
        assert!(
            !want.is_empty() && got.len() == want.len() && close(got[0].1, want[0].1),
            "{theirs}: Prometheus {got:?}, ours {want:?}; its log: {}",
            prometheus.log_text()
        );
    }
}
