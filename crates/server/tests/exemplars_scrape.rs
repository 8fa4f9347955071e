//! Exemplars scraped end to end (`--enable-feature=exemplar-storage`): a target written
//! here serves OpenMetrics text (a counter and a classic histogram with exemplars, one
//! without a timestamp) and the protobuf exposition (a counter, and a native histogram
//! whose exemplars are listed). Promethium and Debian's Prometheus 2.42 scrape both every
//! second, and `/api/v1/query_exemplars` answers the same JSON from both for the
//! exemplars with timestamps. An exemplar without one takes its scrape's time and is
//! stored once however often it is scraped again. The native histogram's exemplars (ours
//! only: 2.42 predates them) are stored with their times; after a restart (WAL replay)
//! everything is still there, and the `prometheus_tsdb_exemplar_*` metrics count it.

mod common;

use std::io::{Read, Write};
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
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(double, tag = "2")]
    value: f64,
    #[prost(message, optional, tag = "3")]
    timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Counter {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(message, optional, tag = "2")]
    exemplar: Option<Exemplar>,
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
    #[prost(sint32, tag = "5")]
    schema: i32,
    #[prost(double, tag = "6")]
    zero_threshold: f64,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "13")]
    positive_delta: Vec<i64>,
    #[prost(message, repeated, tag = "16")]
    exemplars: Vec<Exemplar>,
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

/// How long the target's values and exemplars stay put (both servers scrape each step
/// about twice).
const STEP_MS: i64 = 2000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The OpenMetrics body at `step`: exemplars stamped with the step's start, except the
/// `le="1.0"` bucket's, which has none.
fn openmetrics_at(step: i64) -> String {
    let k = step % 10_000;
    let at = step * STEP_MS;
    let ts = format!("{}.{:03}", at / 1000, at % 1000);
    format!(
        "# TYPE http_requests counter\n\
         http_requests_total{{path=\"/a\"}} {k} # {{trace_id=\"t{k}\",span_id=\"s{k}\"}} 1.5 {ts}\n\
         # TYPE rpc_seconds histogram\n\
         rpc_seconds_bucket{{le=\"0.1\"}} {k} # {{trace_id=\"b{k}\"}} 0.05 {ts}\n\
         rpc_seconds_bucket{{le=\"1.0\"}} {} # {{trace_id=\"untimed{}\"}} 0.5\n\
         rpc_seconds_bucket{{le=\"+Inf\"}} {}\n\
         rpc_seconds_sum {}\n\
         rpc_seconds_count {}\n\
         # EOF\n",
        2 * k,
        k / 3,
        2 * k,
        k as f64 * 0.3,
        2 * k
    )
}

/// The protobuf body at `step`: a counter with an exemplar, and a native histogram with
/// two exemplars (listed newest first: they are stored oldest first).
fn protobuf_at(step: i64) -> Vec<u8> {
    let k = step % 10_000;
    let at = step * STEP_MS;
    let ts = |ms: i64| {
        Some(Timestamp {
            seconds: ms / 1000,
            nanos: (ms % 1000) as i32 * 1_000_000,
        })
    };
    let exemplar = |trace: String, value: f64, ms: i64| Exemplar {
        label: vec![LabelPair {
            name: "trace_id".into(),
            value: trace,
        }],
        value,
        timestamp: ts(ms),
    };
    let families = [
        MetricFamily {
            name: "jobs_total".into(),
            help: String::new(),
            kind: 0,
            metric: vec![Metric {
                counter: Some(Counter {
                    value: k as f64,
                    exemplar: Some(exemplar(format!("p{k}"), 2.5, at)),
                }),
                ..Metric::default()
            }],
        },
        MetricFamily {
            name: "latency_seconds".into(),
            help: String::new(),
            kind: 4,
            metric: vec![Metric {
                histogram: Some(Histogram {
                    sample_count: 2 * k as u64,
                    sample_sum: k as f64,
                    schema: 0,
                    zero_threshold: 2f64.powi(-128),
                    positive_span: vec![BucketSpan {
                        offset: 0,
                        length: 2,
                    }],
                    positive_delta: vec![k, 0],
                    exemplars: vec![
                        exemplar(format!("n{k}b"), 1.5, at + 500),
                        exemplar(format!("n{k}a"), 0.75, at),
                    ],
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

/// The target: `/om` and `/proto` serve the current step's bodies.
fn start_target() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
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
            let step = now_ms() / STEP_MS;
            let (content_type, body) = if request.starts_with(b"GET /proto") {
                (
                    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
                    protobuf_at(step),
                )
            } else {
                (
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    openmetrics_at(step).into_bytes(),
                )
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

fn get(port: u16, path: &str) -> Reply {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    send_request(addr, "GET", path, &[], &[], &|| String::new())
}

/// `/api/v1/query_exemplars`'s `data` for `query` between `start` and `end` (ms).
fn exemplars(port: u16, query: &str, start: i64, end: i64) -> serde_json::Value {
    let path = format!(
        "/api/v1/query_exemplars?query={}&start={}.{:03}&end={}.{:03}",
        urlencode(query),
        start / 1000,
        start % 1000,
        end / 1000,
        end % 1000
    );
    let reply = get(port, &path);
    let answer: serde_json::Value = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("{port}{path}: {e}: {} {:?}", reply.status, reply.headers));
    assert_eq!(answer["status"], "success", "{path}: {answer}");
    answer["data"].clone()
}

/// Every exemplar's label `name` in an answer, in order.
fn label_values(data: &serde_json::Value, name: &str) -> Vec<String> {
    data.as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["labels"][name].as_str().map(str::to_string))
        .collect()
}

#[test]
fn exemplars_scraped_agree_with_prometheus_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let target = start_target();
    let jobs = format!(
        "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: om\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n    metrics_path: /om\n  - job_name: proto\n    metrics_path: /proto\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
    );
    let prometheus = Peer::prometheus(
        dir.path(),
        free_port(),
        &jobs,
        None,
        &["--enable-feature=exemplar-storage,native-histograms"],
    )
    .wait_listening();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("{jobs}    scrape_native_histograms: true\n"),
    )
    .unwrap();
    let port = free_port();
    let args = [
        "--config.file=prometheus.yml",
        "--enable-feature=exemplar-storage",
    ];
    let ours = Server::start_on(dir.path(), port, &args);

    // Four whole steps once both scrape (Prometheus's first scrape comes a few seconds
    // after it listens), compared once both are past them.
    let first = now_ms() / STEP_MS + 4;
    let last = first + 3;
    let (start, end) = (first * STEP_MS, last * STEP_MS);
    let wait = (last + 2) * STEP_MS - now_ms();
    if wait > 0 {
        std::thread::sleep(Duration::from_millis(wait as u64));
    }
    let timed = [
        "http_requests_total",
        "rpc_seconds_bucket{le=\"0.1\"}",
        "jobs_total",
        "{__name__=~\"http_requests_total|jobs_total\"}",
    ];
    let mut answers = Vec::new();
    for q in timed {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (theirs, mine) = loop {
            let theirs = exemplars(prometheus.port, q, start, end);
            let mine = exemplars(port, q, start, end);
            if theirs == mine || Instant::now() > deadline {
                break (theirs, mine);
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        let stored = label_values(&theirs, "trace_id").len();
        assert!(
            stored >= 4,
            "Prometheus has {stored} exemplars for {q}: {theirs}; its log: {}",
            prometheus.log_text()
        );
        assert_eq!(mine, theirs, "{q}; our log: {}", ours.log_text());
        answers.push(mine);
    }
    // One exemplar per step and series: four steps of the counter, with both labels.
    assert_eq!(
        label_values(&answers[0], "trace_id"),
        (first..=last)
            .map(|s| format!("t{}", s % 10_000))
            .collect::<Vec<_>>()
    );
    assert_eq!(label_values(&answers[0], "span_id").len(), 4);

    // Without a timestamp: the scrape's time, stored once per step however often scraped.
    let untimed = exemplars(port, "rpc_seconds_bucket{le=\"1.0\"}", 0, now_ms());
    let traces = label_values(&untimed, "trace_id");
    let mut distinct = traces.clone();
    distinct.dedup();
    assert_eq!(traces, distinct, "a repeated exemplar was stored again");
    assert!(traces.len() >= 2, "{untimed}");
    let series = &untimed[0]["exemplars"];
    for e in series.as_array().unwrap() {
        let t = (e["timestamp"].as_f64().unwrap() * 1000.0).round() as i64;
        let trace = e["labels"]["trace_id"].as_str().unwrap();
        let k: i64 = trace.trim_start_matches("untimed").parse().unwrap();
        // The step it was scraped in: its value is the step's number / 3.
        assert_eq!(k, (t / STEP_MS % 10_000) / 3, "{e}");
    }

    // Native histogram exemplars (ours only), oldest first.
    let native = exemplars(port, "latency_seconds", start, end + 999);
    let traces = label_values(&native, "trace_id");
    let want: Vec<String> = (first..=last)
        .flat_map(|s| {
            let k = s % 10_000;
            [format!("n{k}a"), format!("n{k}b")]
        })
        .collect();
    assert_eq!(traces, want, "{native}");
    // An expression's selectors all count; one without any has no exemplars at all.
    let sum = exemplars(
        port,
        "sum(rate(jobs_total[1m])) / sum(rate(http_requests_total[1m]))",
        start,
        end,
    );
    assert_eq!(sum.as_array().map(Vec::len), Some(2), "{sum}");
    for p in [port, prometheus.port] {
        let none = get(p, "/api/v1/query_exemplars?query=1%2B1");
        assert_eq!((none.status, none.body.len()), (204, 0));
    }
    // Bad input is refused as Prometheus refuses it.
    let bad = get(port, "/api/v1/query_exemplars?query=up&start=10&end=5");
    assert_eq!(bad.status, 400);
    assert!(bad
        .text()
        .contains("end timestamp must not be before start timestamp"));

    // The metrics count them.
    let metrics = get(port, "/metrics").text();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} not in /metrics"))
    };
    assert!(value("prometheus_tsdb_exemplar_exemplars_appended_total") >= 16.0);
    assert_eq!(value("prometheus_tsdb_exemplar_max_exemplars"), 100_000.0);
    assert!(value("prometheus_tsdb_exemplar_series_with_exemplars_in_storage") >= 5.0);

    // A restart replays them from the WAL.
    let before: Vec<serde_json::Value> = timed
        .iter()
        .map(|q| exemplars(port, q, start, end))
        .collect();
    drop(ours);
    let ours = Server::start_on(dir.path(), port, &args);
    for (q, before) in timed.iter().zip(&before) {
        assert_eq!(
            &exemplars(port, q, start, end),
            before,
            "{q} after a restart; our log: {}",
            ours.log_text()
        );
    }
    assert_eq!(
        label_values(
            &exemplars(port, "latency_seconds", start, end + 999),
            "trace_id"
        ),
        want
    );
}
