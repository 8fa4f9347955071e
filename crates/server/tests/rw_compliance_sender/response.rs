//! Go's `response_test.go`: what the sender makes of the receiver's answers. Upstream's
//! checks are that a request arrived in an 8 s run; beyond upstream, each case asserts what
//! the sender does with the answer: a 2xx is a success (the batch is not sent again and
//! the sender stays on 2.0), a 4xx is not retried, an error body is logged as is.

use std::time::{Duration, Instant};

use crate::helpers::{
    may, must, resent_samples, should, CapturedRequest, Level, MockReceiver, MockReceiverResponse,
    Sender, SenderSettings,
};
use crate::start_sender;

const SCRAPE_DATA: &str = "test_metric 42\n";

/// The requests of a sender answered with `response`, once three batches of the target's
/// series were sent (time enough for a retry of the first, 30 ms after it), and the
/// sender.
fn three_batches(
    scrape_data: &str,
    response: MockReceiverResponse,
) -> (Vec<CapturedRequest>, Sender) {
    let receiver = MockReceiver::new();
    receiver.set_response(response);
    let (_target, sender) = start_sender(scrape_data, &receiver.url(), &SenderSettings::default());
    let first_metric = scrape_data
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .and_then(|l| l.split(['{', ' ']).next())
        .unwrap()
        .to_string();
    let requests = receiver.wait_for(
        Duration::from_secs(30),
        &sender,
        "three batches",
        |requests| {
            let batches = requests
                .iter()
                .filter(|r| r.metric_names().contains(&first_metric))
                .count();
            (batches >= 3).then(|| requests.to_vec())
        },
    );
    (requests, sender)
}

/// Beyond upstream: nothing was sent twice, and (after a 2xx) all in 2.0.
#[track_caller]
fn check_accepted_as_success(requests: &[CapturedRequest], level: Level) {
    let resent = resent_samples(requests);
    level.check(
        resent.is_empty(),
        format!("a 2xx is a success, yet samples were sent again: {resent:?}"),
    );
    level.check(
        requests.iter().all(|r| r.version().starts_with("2.0")),
        "a 2xx with -Written headers keeps the sender on 2.0",
    );
}

/// Go: TestResponseProcessing/ignore_response_body_on_success (SHOULD)
#[test]
fn ignore_response_body_on_success() {
    let mut response = MockReceiverResponse::written(204, 1);
    // Go's server does not send it (a 204 has no body); neither does the mock.
    response.body = "This body should be ignored".into();
    let (requests, _sender) = three_batches(SCRAPE_DATA, response);
    should(!requests.is_empty(), "Should receive at least one request");
    check_accepted_as_success(&requests, Level::Should);
}

/// Go: TestResponseProcessing/process_written_count_headers (MAY)
#[test]
fn process_written_count_headers() {
    let scrape_data = "# Multiple samples\n\
                       test_counter_total{label=\"a\"} 100\n\
                       test_counter_total{label=\"b\"} 200\n\
                       test_gauge{label=\"c\"} 50\n";
    let (requests, _sender) = three_batches(scrape_data, MockReceiverResponse::written(204, 3));
    may(!requests.is_empty(), "Should receive at least one request");
    check_accepted_as_success(&requests, Level::May);
}

/// Go: TestResponseProcessing/handle_partial_write_response (SHOULD)
#[test]
fn handle_partial_write_response() {
    // Go's mock sets the -Written headers on 2xx answers only, so this 400 has none.
    let mut response = MockReceiverResponse::status(400, "Rejected 1 sample");
    response.samples_written = 2;
    let (requests, _sender) = three_batches(
        "# Multiple samples\nsample_1 1\nsample_2 2\nsample_3 3\n",
        response,
    );
    should(!requests.is_empty(), "Should receive at least one request");
    let resent = resent_samples(&requests);
    should(
        resent.is_empty(),
        format!("a 400 is not retried, yet resent {resent:?}"),
    );
}

/// Go: TestResponseProcessing/handle_missing_written_headers (SHOULD)
#[test]
fn handle_missing_written_headers() {
    let (requests, sender) = three_batches(
        SCRAPE_DATA,
        MockReceiverResponse::status(400, "Bad request"),
    );
    should(
        !requests.is_empty(),
        "Should receive request even with error",
    );
    // Beyond upstream: nothing is counted as written (all failed), nothing retried.
    let resent = resent_samples(&requests);
    should(
        resent.is_empty(),
        format!("a 400 is not retried, yet resent {resent:?}"),
    );
    // (Polled: a request in flight is counted as sent and not yet as failed.)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = sender.queue_metrics(&[
            "prometheus_remote_storage_samples_total",
            "prometheus_remote_storage_samples_failed_total",
        ]);
        let (sent, failed) = (counts[0], counts[1]);
        if failed.is_some_and(|f| f > 0.0) && failed == sent {
            break;
        }
        should(
            Instant::now() < deadline,
            format!("Sender should assume 0 written: samples {sent:?}, failed {failed:?}"),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Go: TestResponseProcessing/log_error_messages_verbatim (MUST)
#[test]
fn log_error_messages_verbatim() {
    let body = "Error: Invalid label name '__invalid__'";
    let (requests, sender) = three_batches(SCRAPE_DATA, MockReceiverResponse::status(400, body));
    must(!requests.is_empty(), "Should receive request");
    // Beyond upstream (which cannot see the sender's log): the body is in it, as is.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sender.log().contains(body) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    must(
        sender.log().contains(body),
        format!(
            "Sender must log error messages verbatim; log:\n{}",
            sender.log_tail()
        ),
    );
}

/// Go: TestResponseProcessing/handle_large_error_body (SHOULD)
#[test]
fn handle_large_error_body() {
    let large_error = format!(
        "Error details: {}",
        "detailed error information; ".repeat(1000)
    );
    let (requests, mut sender) =
        three_batches(SCRAPE_DATA, MockReceiverResponse::status(400, &large_error));
    should(!requests.is_empty(), "Should handle large error bodies");
    let resent = resent_samples(&requests);
    should(
        resent.is_empty(),
        format!("a 400 is not retried, yet resent {resent:?}"),
    );
    should(sender.is_running(), "the sender keeps running");
}

/// Go: TestResponseProcessing/handle_204_no_content (MUST)
#[test]
fn handle_204_no_content() {
    let (requests, _sender) = three_batches(SCRAPE_DATA, MockReceiverResponse::written(204, 1));
    must(
        !requests.is_empty(),
        "Should successfully send to 204 endpoint",
    );
    check_accepted_as_success(&requests, Level::Must);
}

/// Go: TestResponseProcessing/handle_200_ok (MUST)
#[test]
fn handle_200_ok() {
    let mut response = MockReceiverResponse::written(200, 1);
    response.body = "OK".into();
    let (requests, _sender) = three_batches(SCRAPE_DATA, response);
    must(
        !requests.is_empty(),
        "Should successfully send to 200 endpoint",
    );
    check_accepted_as_success(&requests, Level::Must);
}

/// Go: TestContentTypeNegotiation (SHOULD)
#[test]
fn test_content_type_negotiation() {
    let (requests, _sender) = three_batches(SCRAPE_DATA, MockReceiverResponse::written(204, 1));
    should(!requests.is_empty(), "Should send at least one request");
    should(
        requests[0]
            .header("Content-Type")
            .contains("application/x-protobuf"),
        "Should use protobuf content-type",
    );
}
