//! Go's `error_handling_test.go`: receivers that fail in various ways. Upstream's checks
//! are `should(t, true, ...)` after running Prometheus for 8 s, i.e. that the run did not
//! fail; beyond upstream, each case asserts that promethium is still running and what it
//! does about the failure (retries, falls back, or moves on to the next batch).

use std::time::{Duration, Instant};

use crate::helpers::{must, should, BareReceiver, HttpAnswer, Sender, SenderSettings};
use crate::{common, start_sender};

const SCRAPE_DATA: &str = "test_metric 42\n";

fn answer(status: u16, body: &[u8]) -> HttpAnswer {
    HttpAnswer {
        status,
        body: body.to_vec(),
        ..HttpAnswer::default()
    }
}

#[track_caller]
fn assert_running(sender: &mut Sender) {
    should(
        sender.is_running(),
        format!(
            "the sender should keep running; log:\n{}",
            sender.log_tail()
        ),
    );
}

/// Polls a queue metric until it passes `min`.
#[track_caller]
fn wait_for_metric_above(sender: &Sender, name: &str, min: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = sender.queue_metric(name);
        if value.is_some_and(|v| v > min) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} stayed {value:?}; log:\n{}",
            sender.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A 2xx without `X-Prometheus-Remote-Write-*-Written` headers to a 2.0 request: the
/// sender goes on, and per the 2.0 spec ("Senders SHOULD assume 415 [...] when [...]
/// receiving 2xx HTTP status code, but none of the X-Prometheus-Remote-Write-*-Written
/// response headers") speaks 1.0 from then on.
fn two_xx_without_written_headers(answer: HttpAnswer) {
    let receiver = BareReceiver::new(answer);
    let (_target, mut sender) =
        start_sender(SCRAPE_DATA, &receiver.url(), &SenderSettings::default());
    receiver.wait_for(
        &sender,
        "a 1.0 request after the 2.0 ones, then more",
        |versions| {
            versions.first().is_some_and(|v| v.starts_with("2.0"))
                && versions.iter().filter(|v| v.starts_with("0.1")).count() >= 2
        },
    );
    assert_running(&mut sender);
}

/// Go: TestErrorHandling/handle_connection_refused (SHOULD)
#[test]
fn handle_connection_refused() {
    // Go closes its server before the run; a port nothing listens on is the same.
    let url = format!("http://127.0.0.1:{}/api/v1/write", common::free_port());
    let target = crate::helpers::MockScrapeTarget::new(SCRAPE_DATA);
    let mut sender = Sender::start(&target, &url, &SenderSettings::default());
    // Beyond upstream: a refused connection is retried.
    wait_for_metric_above(
        &sender,
        "prometheus_remote_storage_samples_retried_total",
        0.0,
    );
    assert_running(&mut sender);
}

/// Go: TestErrorHandling/handle_timeout (SHOULD)
#[test]
fn handle_timeout() {
    // Go's handler sleeps 30 s; Prometheus's `remote_timeout` is 30 s too, so upstream's
    // 8 s run sees one request hang. Beyond upstream: with a 1 s `remote_timeout` the
    // sender gives up on the request and retries it.
    let receiver = BareReceiver::new(HttpAnswer {
        status: 204,
        delay: Duration::from_secs(30),
        ..HttpAnswer::default()
    });
    let settings = SenderSettings {
        remote_timeout: "1s",
        ..SenderSettings::default()
    };
    let (_target, mut sender) = start_sender(SCRAPE_DATA, &receiver.url(), &settings);
    receiver.wait_for(&sender, "a request retried after the timeout", |versions| {
        versions.len() >= 2
    });
    wait_for_metric_above(
        &sender,
        "prometheus_remote_storage_samples_retried_total",
        0.0,
    );
    assert_running(&mut sender);
}

/// Go: TestErrorHandling/handle_partial_write (SHOULD)
#[test]
fn handle_partial_write() {
    two_xx_without_written_headers(answer(200, b"partial"));
}

/// Go: TestErrorHandling/handle_malformed_response (SHOULD)
#[test]
fn handle_malformed_response() {
    two_xx_without_written_headers(answer(200, b"Not valid response headers\r\n"));
}

/// Go: TestErrorHandling/sender_continues_after_errors (MUST)
#[test]
fn sender_continues_after_errors() {
    let receiver = BareReceiver::new(answer(500, b"Internal server error"));
    let (_target, mut sender) =
        start_sender(SCRAPE_DATA, &receiver.url(), &SenderSettings::default());
    // Beyond upstream: it keeps trying.
    receiver.wait_for(&sender, "the sender to keep retrying", |versions| {
        versions.len() >= 5
    });
    must(
        sender.is_running(),
        format!(
            "Sender must continue running after errors; log:\n{}",
            sender.log_tail()
        ),
    );
}

/// Go: TestErrorHandling/handle_invalid_status_code (SHOULD)
#[test]
fn handle_invalid_status_code() {
    let receiver = BareReceiver::new(answer(999, b""));
    let (_target, mut sender) =
        start_sender(SCRAPE_DATA, &receiver.url(), &SenderSettings::default());
    // Beyond upstream: not a 5xx, so not retried: dropped, and later batches are sent.
    receiver.wait_for(&sender, "later batches", |versions| versions.len() >= 3);
    wait_for_metric_above(
        &sender,
        "prometheus_remote_storage_samples_failed_total",
        0.0,
    );
    assert_running(&mut sender);
}

/// Go: TestErrorHandling/handle_empty_response (SHOULD)
#[test]
fn handle_empty_response() {
    two_xx_without_written_headers(answer(200, b""));
}

/// Go: TestErrorHandling/handle_large_error_response (SHOULD)
#[test]
fn handle_large_error_response() {
    let receiver = BareReceiver::new(answer(400, &vec![b'x'; 1024 * 1024]));
    let (_target, mut sender) =
        start_sender(SCRAPE_DATA, &receiver.url(), &SenderSettings::default());
    // Beyond upstream: the batch is dropped (a 4xx), later ones are sent, and the error
    // logged is the start of the body, not a megabyte.
    receiver.wait_for(&sender, "later batches", |versions| versions.len() >= 3);
    assert_running(&mut sender);
    let log = sender.log();
    should(log.contains("xxxxxxxx"), "the error body should be logged");
    should(
        log.len() < 256 * 1024,
        format!(
            "the logged error bodies should be bounded, the log has {} bytes",
            log.len()
        ),
    );
}

/// Go's TestNetworkErrors: a sender writing to `url` keeps running.
fn network_error(url: &str) -> Sender {
    let target = crate::helpers::MockScrapeTarget::new(SCRAPE_DATA);
    let settings = SenderSettings {
        remote_timeout: "2s",
        ..SenderSettings::default()
    };
    let mut sender = Sender::start(&target, url, &settings);
    // Beyond upstream: the failure is a network error, retried.
    wait_for_metric_above(
        &sender,
        "prometheus_remote_storage_samples_retried_total",
        0.0,
    );
    assert_running(&mut sender);
    sender
}

/// Go: TestNetworkErrors/dns_resolution_failure (SHOULD)
#[test]
fn dns_resolution_failure() {
    network_error("http://nonexistent.invalid.domain:9999/api/v1/write");
}

/// Go: TestNetworkErrors/invalid_url_scheme (SHOULD)
#[test]
fn invalid_url_scheme() {
    network_error("invalid://localhost:9999");
}
