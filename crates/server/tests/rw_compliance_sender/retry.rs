//! Go's `retry_test.go`: which error answers are retried.
//!
//! Upstream counts the requests of an 8 s run of Prometheus (whose 5 s batch deadline
//! makes one or two batches): at most 2 means "not retried". With a scrape a second and a
//! 200 ms deadline a new batch leaves every second, so here a retry is what it is: a
//! request carrying samples an earlier one carried. Beyond upstream, the retried cases
//! assert that the retry happens (upstream checks that one request arrived).

use std::time::Duration;

use crate::helpers::{
    may, must, resent_samples, should, CapturedRequest, Level, MockReceiver, MockReceiverResponse,
    Sender, SenderSettings,
};
use crate::start_sender;

const SCRAPE_DATA: &str = "test_metric 42\n";

fn start(
    response: MockReceiverResponse,
) -> (MockReceiver, crate::helpers::MockScrapeTarget, Sender) {
    let receiver = MockReceiver::new();
    receiver.set_response(response);
    let (target, sender) = start_sender(SCRAPE_DATA, &receiver.url(), &SenderSettings::default());
    (receiver, target, sender)
}

/// The requests once three batches were sent, none of them again.
fn not_retried(status: u16, body: &str) -> Vec<CapturedRequest> {
    let (receiver, _target, sender) = start(MockReceiverResponse::status(status, body));
    // Three batches: a retry of the first (after 30 ms) would have come before the third.
    let requests = receiver.wait_for(
        Duration::from_secs(30),
        &sender,
        "three batches",
        |requests| {
            let batches = requests
                .iter()
                .filter(|r| r.metric_names().iter().any(|n| n == "test_metric"))
                .count();
            (batches >= 3).then(|| requests.to_vec())
        },
    );
    requests
}

/// The requests once the first batch was sent again.
fn retried(status: u16, body: &str, headers: &[(&str, &str)]) -> Vec<CapturedRequest> {
    let mut response = MockReceiverResponse::status(status, body);
    response.headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (receiver, _target, sender) = start(response);
    receiver.wait_for(
        Duration::from_secs(30),
        &sender,
        "the first batch sent again",
        |requests| (!resent_samples(requests).is_empty()).then(|| requests.to_vec()),
    )
}

/// Go's check of the no-retry cases, and what it is about.
#[track_caller]
fn check_not_retried(requests: &[CapturedRequest], status: u16, level: Level) {
    let resent = resent_samples(requests);
    level.check(
        resent.is_empty(),
        format!("Sender should not retry on {status}, yet resent {resent:?}"),
    );
    level.check(
        requests
            .iter()
            .all(|r| r.header("Retry-Attempt").is_empty()),
        format!("no request after a {status} is a retry (Retry-Attempt)"),
    );
}

/// Go: TestRetryBehavior/no_retry_on_400 (MUST)
#[test]
fn no_retry_on_400() {
    check_not_retried(&not_retried(400, "Bad request"), 400, Level::Must);
}

/// Go: TestRetryBehavior/no_retry_on_401 (MUST)
#[test]
fn no_retry_on_401() {
    check_not_retried(&not_retried(401, "Unauthorized"), 401, Level::Must);
}

/// Go: TestRetryBehavior/no_retry_on_404 (MUST)
#[test]
fn no_retry_on_404() {
    check_not_retried(&not_retried(404, "Not found"), 404, Level::Must);
}

/// Go: TestRetryBehavior/may_retry_on_429 (MAY)
#[test]
fn may_retry_on_429() {
    // The sender is configured with `retry_on_http_429: true`, as upstream's Prometheus is.
    let requests = retried(429, "Too many requests", &[("Retry-After", "1")]);
    may(
        !requests.is_empty(),
        "Sender may retry on 429 Too Many Requests",
    );
    // Beyond upstream: the retry waited for Retry-After (1 s), not the 30 ms backoff.
    let first = requests[0].sample_keys();
    let retry = requests[1..]
        .iter()
        .find(|r| r.sample_keys().iter().any(|k| first.contains(k)))
        .expect("a retry");
    let waited = retry.at.duration_since(requests[0].at);
    may(
        waited >= Duration::from_millis(900),
        format!("the retry should honour Retry-After: 1, came after {waited:?}"),
    );
}

/// Go: TestRetryBehavior/retry_on_500 (MUST)
#[test]
fn retry_on_500() {
    let requests = retried(500, "Internal server error", &[]);
    must(
        !requests.is_empty(),
        "Sender should attempt request on 500 Internal Server Error",
    );
}

/// Go: TestRetryBehavior/retry_on_503 (MUST)
#[test]
fn retry_on_503() {
    let requests = retried(503, "Service unavailable", &[]);
    must(
        !requests.is_empty(),
        "Sender should attempt request on 503 Service Unavailable",
    );
}

/// Go: TestRetryBehavior/retry_on_502 (SHOULD)
#[test]
fn retry_on_502() {
    let requests = retried(502, "Bad gateway", &[]);
    should(
        !requests.is_empty(),
        "Sender should retry on 502 Bad Gateway",
    );
}

/// Go: TestRetryBehavior/retry_on_504 (SHOULD)
#[test]
fn retry_on_504() {
    let requests = retried(504, "Gateway timeout", &[]);
    should(
        !requests.is_empty(),
        "Sender should retry on 504 Gateway Timeout",
    );
}

/// Go: TestRetryBehavior/no_retry_on_413 (SHOULD)
#[test]
fn no_retry_on_413() {
    check_not_retried(&not_retried(413, "Payload too large"), 413, Level::Should);
}
