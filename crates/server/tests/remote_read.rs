//! Remote read with the real peer: Debian's Prometheus 2.42 reads from our `/api/v1/read`
//! and answers queries over our data as we do; our `remote_read` reads Prometheus's data
//! and answers as it does; both response types, the sample limit and external labels, by
//! requests built here.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use prost::Message;
use remote::proto;
use remote::read::codec;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The raw samples of a range selector at `at`, per series (labels JSON, values JSON).
fn raw(port: u16, selector: &str, at: f64) -> Vec<(String, String)> {
    let result = instant_query(port, selector, &at.to_string()).unwrap_or_default();
    let mut out: Vec<(String, String)> = result
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| (s["metric"].to_string(), s["values"].to_string()))
        .collect();
    out.sort();
    out
}

#[test]
fn prometheus_reads_our_data_and_we_read_prometheus_data() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (free_port(), free_port());
    // We scrape ourselves and read Prometheus; Prometheus scrapes itself and reads us.
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    site: ours\n\
             scrape_configs:\n  - job_name: ours\n    static_configs:\n      - targets: ['127.0.0.1:{ours}']\n\
             remote_read:\n  - url: http://127.0.0.1:{theirs}/api/v1/read\n    read_recent: true\n    filter_external_labels: false\n"
        ),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), ours, &["--config.file=prometheus.yml"]);
    let prometheus = Peer::prometheus(
        dir.path(),
        theirs,
        &format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    site: theirs\n\
             scrape_configs:\n  - job_name: theirs\n    static_configs:\n      - targets: ['127.0.0.1:{theirs}']\n\
             remote_read:\n  - url: http://127.0.0.1:{ours}/api/v1/read\n    read_recent: true\n    filter_external_labels: false\n"
        ),
        None,
        &[],
    )
    .wait_listening();
    // Prometheus scrapes for the first time about five seconds after it starts.
    std::thread::sleep(Duration::from_secs(10));
    let at = (now_s() - 1.0).floor();
    // Prometheus answers over our data as we do (our external label added by our
    // endpoint). Without filter_external_labels: false each side would ask the other
    // for series carrying its own external label, which neither stores.
    let ours_up = raw(ours, "up{job=\"ours\"}[4s]", at);
    assert!(!ours_up.is_empty(), "{}", server.log_text());
    let via_prometheus = raw(theirs, "up{job=\"ours\"}[4s]", at);
    assert_eq!(
        via_prometheus.len(),
        1,
        "prometheus read our series: {via_prometheus:?} {:?}\n{}",
        instant_query(theirs, "up{job=\"ours\"}[4s]", &at.to_string()),
        std::fs::read_to_string(&prometheus.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains("level=info"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        via_prometheus[0].0.contains("\"site\":\"ours\""),
        "{via_prometheus:?}"
    );
    assert_eq!(via_prometheus[0].1, ours_up[0].1, "same samples");
    // Many series and samples: counts agree.
    let count =
        |port: u16, q: &str| query_value(port, q, at).unwrap_or_else(|| panic!("{q} on {port}"));
    // (Prometheus's read endpoint also answers from its own remote_read, so what we read
    // from it holds our series again, with our external label: ours are those without.)
    assert_eq!(
        count(theirs, "count({job=\"ours\"})"),
        count(ours, "count({job=\"ours\", site=\"\"})")
    );
    // And we read theirs: the same samples as Prometheus holds.
    let theirs_up = raw(theirs, "up{job=\"theirs\"}[4s]", at);
    assert!(!theirs_up.is_empty());
    let via_us = raw(ours, "up{job=\"theirs\"}[4s]", at);
    assert_eq!(via_us.len(), 1, "{via_us:?}\n{}", server.log_text());
    assert_eq!(via_us[0].1, theirs_up[0].1, "same samples");
    assert_eq!(
        count(ours, "count({job=\"theirs\"})"),
        count(theirs, "count({job=\"theirs\"})")
    );
}

fn post_read(port: u16, request: &proto::ReadRequest) -> Reply {
    let body = codec::encode_read_request(request);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/v1/read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse(&raw)
}

fn query(matchers: Vec<proto::LabelMatcher>, start: i64, end: i64) -> proto::Query {
    proto::Query {
        start_timestamp_ms: start,
        end_timestamp_ms: end,
        matchers,
        hints: None,
    }
}

fn eq(name: &str, value: &str) -> proto::LabelMatcher {
    proto::LabelMatcher {
        r#type: 0,
        name: name.into(),
        value: value.into(),
    }
}

#[test]
fn both_response_types_external_labels_and_the_sample_limit() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    site: a\n\
             scrape_configs:\n  - job_name: src\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let server = Server::start_on(
        dir.path(),
        port,
        &[
            "--config.file=prometheus.yml",
            "--storage.remote.read-sample-limit=20",
            "--storage.remote.read-max-bytes-in-frame=200",
        ],
    );
    std::thread::sleep(Duration::from_secs(6));
    // In the past: both answers below see the same samples.
    let end = (now_s() * 1000.0) as i64 - 2000;
    let start = end - 60_000;
    // SAMPLES: the external label is matched (local series lack it) and added.
    let reply = post_read(
        port,
        &proto::ReadRequest {
            queries: vec![query(
                vec![eq("__name__", "up"), eq("site", "a")],
                start,
                end,
            )],
            accepted_response_types: vec![],
        },
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-encoding"), Some("snappy"));
    let response = codec::decode_samples_response(&reply.body, 1 << 20).unwrap();
    let series = &response.results[0].timeseries;
    assert_eq!(series.len(), 1);
    let labels: Vec<(&str, &str)> = series[0]
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect();
    assert!(
        labels.contains(&("site", "a")) && labels.contains(&("job", "src")),
        "{labels:?}"
    );
    assert!(series[0].samples.len() >= 3);
    // A different value of the external label matches nothing.
    let reply = post_read(
        port,
        &proto::ReadRequest {
            queries: vec![query(
                vec![eq("__name__", "up"), eq("site", "b")],
                start,
                end,
            )],
            accepted_response_types: vec![proto::RESPONSE_SAMPLES],
        },
    );
    let response = codec::decode_samples_response(&reply.body, 1 << 20).unwrap();
    assert!(response.results[0].timeseries.is_empty());
    // Over the sample limit: 400 with upstream's words.
    let reply = post_read(
        port,
        &proto::ReadRequest {
            queries: vec![query(vec![eq("job", "src")], start, end)],
            accepted_response_types: vec![proto::RESPONSE_SAMPLES],
        },
    );
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("exceeded sample limit (20)"),
        "{}",
        reply.text()
    );
    // STREAMED_XOR_CHUNKS: frames of at most about 200 bytes, two queries told apart by
    // their index, samples equal to the SAMPLES answer.
    let reply = post_read(
        port,
        &proto::ReadRequest {
            queries: vec![
                query(vec![eq("__name__", "up")], start, end),
                query(vec![eq("__name__", "scrape_samples_scraped")], start, end),
            ],
            accepted_response_types: vec![proto::RESPONSE_STREAMED_XOR_CHUNKS],
        },
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
    );
    let frames = codec::read_frames(&reply.body).unwrap();
    assert!(frames.len() >= 2);
    let indexes: Vec<i64> = frames.iter().map(|f| f.query_index).collect();
    assert!(indexes.contains(&0) && indexes.contains(&1), "{indexes:?}");
    for f in &frames {
        assert!(f.encoded_len() < 600, "frame of {} bytes", f.encoded_len());
        assert_eq!(f.chunked_series.len(), 1);
    }
    let up: Vec<(i64, f64)> = frames
        .iter()
        .filter(|f| f.query_index == 0)
        .flat_map(|f| codec::chunk_samples(&f.chunked_series[0].chunks, start, end).unwrap())
        .collect();
    assert_eq!(
        up,
        series[0]
            .samples
            .iter()
            .map(|s| (s.timestamp, s.value))
            .collect::<Vec<_>>()
    );
    // Garbage: 400.
    let reply = server.request_with_body("POST", "/api/v1/read", &[], b"not snappy");
    assert_eq!(reply.status, 400);
}
