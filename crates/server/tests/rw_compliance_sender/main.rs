//! Upstream's remote-write sender compliance suite (prometheus/compliance,
//! `remotewrite/sender/*_test.go`), ported: one module per Go file, one `#[test]` per Go
//! case (table entry or `t.Run` name; a Go test function without a table is its own case),
//! named as in Go and with the Go name and RFC level in a comment. Each case starts a
//! scrape target serving the case's exposition text, a mock receiver, and a promethium of
//! its own that scrapes the target every second and remote-writes to the receiver; the
//! receiver's recorded requests are then checked as the Go validator checks them.
//!
//! How this differs from upstream, and why:
//!
//! - Upstream runs Prometheus for a fixed time (5 to 20 s) and validates the *last* request.
//!   Here the receiver is polled until the request the case is about arrives (the first one
//!   holding the series its scrape data defines, or `up` when it defines none), and that
//!   request is validated; cases about a sequence of requests (retries, backoff, fallback)
//!   poll until the sequence is long enough. The batch deadline is 200 ms instead of
//!   Prometheus's default 5 s, so a scrape is sent within a fraction of a second.
//! - Upstream's `should`, `may` and `recommended` fail the test like `must` (`t.Errorf`);
//!   they assert here too. Where upstream only logs what a SHOULD/MAY case is about (or its
//!   check passes whenever any series arrives) and promethium is meant to do it, the case
//!   asserts it as well, marked "Beyond upstream" in the code: e.g. that a 5xx is retried
//!   (the same samples sent again), that a 4xx is not (no sample sent twice: counting
//!   requests, as upstream does, also counts the requests of later scrapes), that a 415
//!   makes the sender fall back to 1.0, that metadata and exemplars are present.
//! - Upstream's RW 1.0 cases run the sender in 2.0 and skip themselves when they see a 2.0
//!   request; here the sender is configured for 1.0 (`prometheus.WriteRequest`) so they
//!   check 1.0 requests.
//! - The sender runs with `--enable-feature=exemplar-storage` and `send_exemplars: true`.
//! - Cases that cannot pass are `#[ignore]`d with the reason (upstream's scrape data is
//!   not valid exposition text); `cargo test -p promethium-server --test rw_compliance_sender --
//!   --ignored` shows how they fail today.
//!
//! The cases mostly wait on timers (the first scrape comes up to a second after start);
//! `-- --test-threads=8` runs them several times faster than the default of one thread per
//! core.
//!
//! This file is Go's `main_test.go` (`runSenderTest`, `runAutoTargetWithCustomReceiver`).

#[path = "../common/mod.rs"]
mod common;

mod helpers;

mod backoff;
mod batching;
mod combined;
mod edge_cases;
mod error_handling;
mod exemplars;
mod fallback;
mod histograms;
mod labels;
mod metadata;
mod protocol;
mod response;
mod retry;
mod rw1_compat;
mod samples;
mod symbols;
mod timestamps;

use helpers::{
    CapturedRequest, MockReceiver, MockReceiverResponse, MockScrapeTarget, Sender, SenderSettings,
};

/// Go's `SenderTestScenario`.
pub struct SenderTestScenario<'a> {
    pub scrape_data: &'a str,
    /// Status 0 is 204, as in Go.
    pub receiver_response: MockReceiverResponse,
    pub settings: SenderSettings,
    /// The request validated is the first holding a series of this name.
    pub awaited_metric: &'a str,
}

impl<'a> SenderTestScenario<'a> {
    pub fn new(scrape_data: &'a str, awaited_metric: &'a str) -> Self {
        Self {
            scrape_data,
            receiver_response: MockReceiverResponse::default(),
            settings: SenderSettings::default(),
            awaited_metric,
        }
    }
}

/// Go's `runSenderTest`: a sender scraping `scrape_data` and writing to a mock receiver;
/// `validator` gets the request holding `awaited_metric`.
pub fn run_sender_test(mut scenario: SenderTestScenario, validator: impl FnOnce(&CapturedRequest)) {
    let receiver = MockReceiver::new();
    if scenario.receiver_response.status_code == 0 {
        scenario.receiver_response.status_code = 204;
    }
    receiver.set_response(scenario.receiver_response);
    let target = MockScrapeTarget::new(scenario.scrape_data);
    let sender = Sender::start(&target, &receiver.url(), &scenario.settings);
    let request = receiver.wait_for_metric(&sender, scenario.awaited_metric);
    validator(&request);
}

/// One entry of Go's `runTestCases`: the default scenario for `scrape_data`.
pub fn run_test_case(
    scrape_data: &str,
    awaited_metric: &str,
    validator: impl FnOnce(&CapturedRequest),
) {
    run_sender_test(
        SenderTestScenario::new(scrape_data, awaited_metric),
        validator,
    );
}

/// Go's `runAutoTargetWithCustomReceiver`: a sender scraping `scrape_data` and writing to
/// `receiver_url`; the caller watches the receiver.
pub fn start_sender(
    scrape_data: &str,
    receiver_url: &str,
    settings: &SenderSettings,
) -> (MockScrapeTarget, Sender) {
    let target = MockScrapeTarget::new(scrape_data);
    let sender = Sender::start(&target, receiver_url, settings);
    (target, sender)
}
