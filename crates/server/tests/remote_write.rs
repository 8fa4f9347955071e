//! The remote-write receiver with the real binary: Debian's Prometheus 2.42 sends to it
//! (`remote_write`, 1.0) and the samples stored are the samples sent; 2.0 requests built
//! here get the answers and `-Written` headers of the 2.0 spec; the receiver is off unless
//! enabled, and refuses what it does not take.

mod common;

use std::time::{Duration, Instant};

use common::*;
use remote::proto;

fn v2_request(series: Vec<proto::TimeSeriesV2>, symbols: &[&str]) -> Vec<u8> {
    let req = proto::RequestV2 {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries: series,
    };
    snappy_protobuf(&req)
}

fn v2_sample(t: i64, v: f64) -> proto::SampleV2 {
    proto::SampleV2 {
        value: v,
        timestamp: t,
        start_timestamp: 0,
    }
}

#[test]
fn prometheus_remote_writes_to_us_and_we_store_what_it_sent() {
    let dir = tempfile::tempdir().unwrap();
    let ours = start_remote_write_receiver(dir.path());
    let port = free_port();
    let theirs = Peer::prometheus(
        dir.path(),
        port,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n  - url: http://127.0.0.1:{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n",
            ours.addr.port()
        ),
        None,
        &[],
    );
    // Once Prometheus has a few seconds of its own metrics, fix a moment and wait until we
    // have what it has up to then: every sample of every series of its job, no more, no
    // less (a lost sample never lets the counts meet; the sender may lag on a busy machine).
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let instance = format!("127.0.0.1:{}", theirs.port);
    let up = format!("count_over_time(up{{instance=\"{instance}\"}}[10m])");
    let up = up.as_str();
    let all = format!("sum(count_over_time({{instance=\"{instance}\"}}[10m]))");
    let deadline = Instant::now() + Duration::from_secs(60);
    let at = loop {
        let at = now() - 1.0;
        if query_value(theirs.port, up, at).is_some_and(|n| n >= 5.0) {
            break at;
        }
        assert!(Instant::now() < deadline, "Prometheus scraped nothing");
        std::thread::sleep(Duration::from_millis(250));
    };
    for q in [up, all.as_str()] {
        let sent = query_value(theirs.port, q, at);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mine = query_value(ours.addr.port(), q, at);
            if mine == sent {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{q} at {at}: ours {mine:?}, sent {sent:?}: {}",
                ours.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    assert_eq!(
        query_value(
            theirs.port,
            "sum(prometheus_remote_storage_samples_failed_total) + sum(prometheus_remote_storage_samples_dropped_total)",
            now()
        ),
        Some(0.0)
    );
}

#[test]
fn remote_write_2_answers_as_the_spec_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--web.enable-remote-write-receiver"]);
    let port = server.addr.port();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let headers = [
        ("Content-Type", REMOTE_WRITE_V2_CONTENT_TYPE),
        ("Content-Encoding", "snappy"),
    ];

    // All written: 204 and the counts.
    let body = v2_request(
        vec![proto::TimeSeriesV2 {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2_sample(now - 2000, 1.0), v2_sample(now - 1000, 2.0)],
            ..Default::default()
        }],
        &["", "__name__", "rw_test", "job", "a"],
    );
    let reply = post_remote_write(&server, &headers, &body);
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        Some("2")
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-histograms-written"),
        Some("0")
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-exemplars-written"),
        Some("0")
    );
    // The latest sample again, same value: not an error (as Prometheus's head; resending the
    // older one is out of order there and here).
    let again = v2_request(
        vec![proto::TimeSeriesV2 {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2_sample(now - 1000, 2.0)],
            ..Default::default()
        }],
        &["", "__name__", "rw_test", "job", "a"],
    );
    let reply = post_remote_write(&server, &headers, &again);
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        Some("1")
    );
    assert_eq!(post_remote_write(&server, &headers, &body).status, 400);
    let count = query_value(port, "count_over_time(rw_test[1m])", now as f64 / 1000.0);
    assert_eq!(count, Some(2.0));

    // A partial write: the valid series is written, 400 names what was not.
    let body = v2_request(
        vec![
            proto::TimeSeriesV2 {
                labels_refs: vec![1, 2],
                samples: vec![v2_sample(now, 3.0)],
                ..Default::default()
            },
            proto::TimeSeriesV2 {
                labels_refs: vec![3, 4],
                samples: vec![v2_sample(now, 1.0)],
                ..Default::default()
            },
        ],
        &["", "__name__", "rw_partial", "job", "a"],
    );
    let reply = post_remote_write(&server, &headers, &body);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("invalid metric name or labels"),
        "{}",
        reply.text()
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        Some("1")
    );
    let metrics = server.get("/metrics", &[]).text();
    assert!(
        metrics.contains("\nprometheus_api_remote_write_invalid_labels_samples_total 1\n"),
        "{metrics}"
    );
    // An out-of-order sample is refused (400, not retried), the rest kept.
    let body = v2_request(
        vec![proto::TimeSeriesV2 {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2_sample(now - 60_000, 9.0)],
            ..Default::default()
        }],
        &["", "__name__", "rw_test", "job", "a"],
    );
    let reply = post_remote_write(&server, &headers, &body);
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.text().contains("out of order sample"),
        "{}",
        reply.text()
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        Some("0")
    );

    // Refused before decoding: 415 for an encoding or type it does not take.
    let reply = post_remote_write(
        &server,
        &[
            ("Content-Type", REMOTE_WRITE_V2_CONTENT_TYPE),
            ("Content-Encoding", "gzip"),
        ],
        &body,
    );
    assert_eq!(reply.status, 415);
    let reply = post_remote_write(&server, &[("Content-Type", "application/json")], &body);
    assert_eq!(reply.status, 415);
    // A body that is not snappy: 400.
    assert_eq!(
        post_remote_write(&server, &headers, b"\xff\xff\xff\xff").status,
        400
    );
    drop(server);

    // Only 1.0 accepted: a 2.0 request gets 415.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--web.enable-remote-write-receiver",
            "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
        ],
    );
    let reply = post_remote_write(&server, &headers, &body);
    assert_eq!(reply.status, 415, "{}", reply.text());
    drop(server);

    // Off unless enabled, as Prometheus: 404 with the flag to set.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let reply = post_remote_write(&server, &headers, &body);
    assert_eq!(reply.status, 404);
    assert!(reply.text().contains("--web.enable-remote-write-receiver"));
}
