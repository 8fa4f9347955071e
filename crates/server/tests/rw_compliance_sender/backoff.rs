//! Go's `backoff_test.go`: the delays between retries of a batch the receiver keeps
//! refusing with a 5xx. Go's `TimestampTrackingReceiver` is the `at` of each captured
//! request. A shard sends one batch at a time, so every request in these cases is the
//! first batch again until it is written.

use std::time::Duration;

use crate::helpers::{
    may, must, should, CapturedRequest, MockReceiver, MockReceiverResponse, SenderSettings,
};
use crate::start_sender;

const SCRAPE_DATA: &str = "test_metric 42\n";

/// The sender's requests to a receiver answering `response`, once `n` arrived.
fn requests_until(
    n: usize,
    response: MockReceiverResponse,
    settings: &SenderSettings,
) -> Vec<CapturedRequest> {
    let receiver = MockReceiver::new();
    receiver.set_response(response);
    let (_target, sender) = start_sender(SCRAPE_DATA, &receiver.url(), settings);
    receiver.wait_for_requests(&sender, n, Duration::from_secs(30))
}

fn intervals(requests: &[CapturedRequest]) -> Vec<Duration> {
    requests
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect()
}

/// Go: TestBackoffBehavior/exponential_backoff_on_retries (SHOULD)
#[test]
fn exponential_backoff_on_retries() {
    // Six requests from 100 ms doubling stay below `max_backoff`, where the jitter (a
    // factor in [0.5, 1) of the backoff) would make one delay up to half the last; upstream
    // runs Prometheus, which does not jitter, for 20 s and reaches its maximum. (From 100 ms
    // rather than Prometheus's 30 ms: a few milliseconds of scheduling noise on a loaded
    // machine do not turn the first ratios.)
    let settings = SenderSettings {
        min_backoff: "100ms",
        ..SenderSettings::default()
    };
    let requests = requests_until(
        6,
        MockReceiverResponse::status(503, "Service unavailable"),
        &settings,
    );
    let intervals = intervals(&requests);
    should(
        requests.len() >= 3,
        "Need at least 3 requests to validate backoff pattern",
    );
    for pair in intervals.windows(2) {
        let ratio = pair[1].as_secs_f64() / pair[0].as_secs_f64();
        should(
            ratio >= 0.8,
            format!("Backoff intervals should increase or stay similar (exponential), got ratio {ratio:.2} in {intervals:?}"),
        );
    }
    // Beyond upstream: the delays grow (the last is well above the first).
    should(
        intervals[intervals.len() - 1] >= intervals[0] * 4,
        format!("Backoff intervals should grow exponentially: {intervals:?}"),
    );
}

/// Go: TestBackoffBehavior/backoff_required (MUST)
#[test]
fn backoff_required() {
    let requests = requests_until(
        5,
        MockReceiverResponse::status(503, "Service unavailable"),
        &SenderSettings::default(),
    );
    must(requests.len() >= 2, "Sender must retry on 5xx errors");
    for (i, interval) in intervals(&requests).iter().enumerate() {
        must(
            *interval >= Duration::from_millis(1),
            format!(
                "Sender MUST implement backoff between all retry attempts, interval {} was: {interval:?}",
                i + 1
            ),
        );
    }
    // Beyond upstream: the requests are retries (the same samples again).
    let first = requests[0].sample_keys();
    must(
        requests[1..].iter().all(|r| r.sample_keys() == first),
        "every request is the refused batch again",
    );
}

/// Go: TestBackoffBehavior/backoff_max_delay (SHOULD)
#[test]
fn backoff_max_delay() {
    // Beyond upstream: a `max_backoff` reached within the case, and honoured (upstream
    // checks that no delay exceeds 60 s; Prometheus's default maximum is 5 s).
    let settings = SenderSettings {
        min_backoff: "50ms",
        max_backoff: "400ms",
        ..SenderSettings::default()
    };
    let requests = requests_until(
        10,
        MockReceiverResponse::status(502, "Bad gateway"),
        &settings,
    );
    for interval in intervals(&requests) {
        should(
            interval <= Duration::from_secs(60),
            format!("Backoff interval too large: {interval:?} > 60s"),
        );
        should(
            interval <= Duration::from_millis(400 + 600),
            format!("Backoff interval past max_backoff (400ms): {interval:?}"),
        );
    }
}

/// Go: TestBackoffBehavior/backoff_with_jitter (RECOMMENDED; "Sender MAY add jitter")
#[test]
fn backoff_with_jitter() {
    let settings = SenderSettings {
        min_backoff: "100ms",
        max_backoff: "10s",
        ..SenderSettings::default()
    };
    let requests = requests_until(
        6,
        MockReceiverResponse::status(503, "Service unavailable"),
        &settings,
    );
    may(
        requests.len() >= 3,
        "Jitter validation requires multiple retries",
    );
    let intervals = intervals(&requests);
    may(
        !intervals.is_empty(),
        "Intervals should exist for jitter analysis",
    );
    // Beyond upstream (which logs the intervals): promethium jitters, so some delay is
    // clearly shorter than the plain doubling 100 ms, 200 ms, 400 ms... (each delay is the
    // backoff times a factor in [0.5, 1): five of them all above 0.9 happen once in 3000).
    let jittered = intervals
        .iter()
        .enumerate()
        .any(|(i, d)| d.as_secs_f64() < 0.9 * 0.1 * f64::from(1u32 << i));
    may(
        jittered,
        format!("Backoff delays should be jittered: {intervals:?}"),
    );
}
