//! Go's `fallback_test.go`: a receiver that answers the first 2.0 request with 415 and
//! then succeeds; the sender SHOULD fall back to 1.0.
//!
//! Upstream's handler never actually answers 415: it records the request (which counts
//! it) before asking whether it is the first (`requestCount == 0`), so no fallback
//! happens and its cases log "No fallback detected" and pass. Here the first request does
//! get the 415 the cases are about, and beyond upstream each case asserts the fallback it
//! describes (upstream only logs when it is missing). The 10 to 15 s sleeps are polls.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::{
    must, resent_samples, should, CapturedRequest, MockReceiver, MockReceiverResponse,
    SenderSettings,
};
use crate::start_sender;

const SCRAPE_DATA: &str = "test_metric 42\n";

/// The requests of a sender whose first 2.0 request got a 415, once `done` holds.
fn run_fallback(
    return_415_first: bool,
    done: impl Fn(&[CapturedRequest]) -> bool,
) -> Vec<CapturedRequest> {
    let receiver = MockReceiver::new();
    receiver.set_response(MockReceiverResponse::written(204, 1));
    receiver.set_responder(Arc::new(move |request: &CapturedRequest| {
        (return_415_first && request.index == 0 && request.version().starts_with("2.0"))
            .then(|| MockReceiverResponse::status(415, "RW 2.0 not supported, please use RW 1.0"))
    }));
    let (_target, sender) = start_sender(SCRAPE_DATA, &receiver.url(), &SenderSettings::default());
    receiver.wait_for(
        Duration::from_secs(30),
        &sender,
        "the requests the case is about",
        |requests| done(requests).then(|| requests.to_vec()),
    )
}

fn versions(requests: &[CapturedRequest]) -> Vec<String> {
    requests.iter().map(|r| r.version().to_string()).collect()
}

fn is_v1(version: &str) -> bool {
    version.starts_with("0.1") || version.is_empty()
}

/// Go: TestFallbackBehavior/fallback_on_415_unsupported_media_type (SHOULD)
#[test]
fn fallback_on_415_unsupported_media_type() {
    let requests = run_fallback(true, |r| r.len() >= 2);
    let versions = versions(&requests);
    should(
        versions.len() >= 2,
        "Should see multiple requests for fallback validation",
    );
    should(
        versions[0].starts_with("2.0"),
        format!("the first request should be 2.0: {versions:?}"),
    );
    should(
        versions[1..].iter().any(|v| is_v1(v)),
        format!("Sender should fall back from RW 2.0 to RW 1.0 after 415: {versions:?}"),
    );
}

/// Go: TestFallbackBehavior/retry_with_different_version (SHOULD)
#[test]
fn retry_with_different_version() {
    let requests = run_fallback(true, |r| r.len() >= 2);
    let versions = versions(&requests);
    let change = versions
        .windows(2)
        .position(|pair| pair[0].starts_with("2.0") && is_v1(&pair[1]));
    should(
        change.is_some(),
        format!("Version should change from 2.0 to 0.1.0: {versions:?}"),
    );
    // Beyond upstream: what is sent in 1.0 is the refused batch (a retry, not new data).
    let refused = requests[0].sample_keys();
    let retried = requests[change.unwrap() + 1].sample_keys();
    should(
        refused.iter().all(|k| retried.contains(k)),
        "the 1.0 request should carry the samples the 415 refused",
    );
}

/// Go: TestFallbackBehavior/fallback_header_changes (MUST)
#[test]
fn fallback_header_changes() {
    let requests = run_fallback(true, |r| r.len() >= 2);
    let first = requests[0].header("Content-Type");
    let changed = requests[1..]
        .iter()
        .map(|r| r.header("Content-Type"))
        .find(|later| *later != first);
    // Beyond upstream (which logs when there is no change): there is one, to 1.0's type.
    must(
        changed.is_some(),
        format!("Content-Type should change on fallback (stayed {first:?})"),
    );
    must(
        changed == Some("application/x-protobuf"),
        format!("the 1.0 Content-Type after fallback, got {changed:?}"),
    );
}

/// Go: TestFallbackBehavior/accept_success_after_fallback (SHOULD)
#[test]
fn accept_success_after_fallback() {
    let requests = run_fallback(true, |r| r.len() >= 4);
    should(
        !requests.is_empty(),
        "Should receive requests after fallback",
    );
    // Beyond upstream: after the 1.0 resend of the refused batch is accepted, nothing is
    // sent again (each later request holds new samples).
    let resent = resent_samples(&requests[1..]);
    should(
        resent.is_empty(),
        format!("a success after fallback should be accepted, yet resent: {resent:?}"),
    );
}

/// Go: TestFallbackBehavior/persistent_fallback_choice (SHOULD)
#[test]
fn persistent_fallback_choice() {
    let requests = run_fallback(true, |r| r.len() >= 5);
    let versions = versions(&requests);
    let fallback_version = versions[1..].iter().find(|v| **v != versions[0]);
    // Beyond upstream: there is a fallback to check.
    should(
        fallback_version.is_some(),
        format!("no fallback observed: {versions:?}"),
    );
    let fallback_version = fallback_version.unwrap();
    let consistent = versions[2..]
        .iter()
        .all(|v| v == fallback_version || *v == versions[0]);
    should(
        consistent,
        format!("Sender should consistently use fallback version: {versions:?}"),
    );
    // Beyond upstream: 2.0 is not tried again.
    should(
        versions[1..].iter().all(|v| v == fallback_version),
        format!("Sender should remember the fallback: {versions:?}"),
    );
}

/// Go: TestNoFallbackOn2xx (MUST)
#[test]
fn test_no_fallback_on_2xx() {
    let requests = run_fallback(false, |r| r.len() >= 4);
    let versions = versions(&requests);
    for v in &versions {
        must(
            *v == versions[0],
            format!("Version should not change on successful responses: {versions:?}"),
        );
    }
    // Beyond upstream: that version is 2.0.
    must(
        versions[0].starts_with("2.0"),
        format!("a 2.0 sender: {versions:?}"),
    );
}
