//! Upstream's remote-write 2.0 receiver compliance suite (prometheus/compliance,
//! `remotewrite/receiver/*_test.go`), ported: one module per Go file, one `#[test]` per Go
//! subtest, named as Go names it in snake case (`TestSingleMetric/NaN/simple_metric_returns_204`
//! is `metric::test_single_metric::nan::simple_metric_returns_204`), with the same request and
//! the same checks of the answer. Each test starts a server of its own (about 0.1 s), so the
//! requests keep upstream's metric names and timestamps without meeting another test's.
//!
//! Two checks go beyond upstream's `validateResponse`. Upstream lets any case pass on a 400
//! (its README: "the suite tolerates both 200 and 400 series HTTP responses [...] You should
//! review the detailed test output to judge compliance"); here that review is the test: a
//! case upstream expects to succeed fails on a 4xx. And after a 2xx, every float sample sent
//! is read back with `/api/v1/query` (a stale marker, which queries do not return, with
//! `/api/v1/series`).
//!
//! After a 2xx, every exemplar sent is read back with `/api/v1/query_exemplars` too (the
//! receiver runs with `--enable-feature=exemplar-storage`).
//!
//! Cases that cannot pass yet are `#[ignore]`d with the reason;
//! `cargo test --test rw_compliance_receiver -- --ignored` shows how they fail today.
//!
//! This file is Go's `main_test.go` (`runRequest`, against a server of our own rather than
//! the receivers of upstream's `config.yml`).

#[path = "../common/mod.rs"]
mod common;

#[macro_use]
mod helpers;

mod combined;
mod exemplar;
mod histograms;
mod metadata;
mod metric;
mod request;
mod rw1_compat;

use std::collections::BTreeMap;

use common::Server;
use helpers::{metric_name, validate_response, ExpectedAnswer, HttpRequest, SentSample, STALE_NAN};

/// Go's `runRequest` against a new server of ours: sends the request, checks the answer, and
/// after a success reads every float sample sent back.
pub fn run_request(request: &HttpRequest, expected: &ExpectedAnswer) {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_remote_write_receiver(dir.path());
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let reply = common::post_remote_write(&server, &headers, &request.body);
    validate_response(expected, &reply);
    if reply.status / 100 == 2 {
        assert_stored(&server, &request.float_samples);
        assert_exemplars_stored(&server, &request.exemplars);
    }
}

/// Each exemplar sent is answered by `/api/v1/query_exemplars` for its series, with its
/// labels, value and time.
fn assert_exemplars_stored(
    server: &Server,
    exemplars: &[(helpers::LabelPairs, helpers::LabelPairs, f64, i64)],
) {
    for (series, labels, value, timestamp_ms) in exemplars {
        let want_series: BTreeMap<String, String> = series.iter().cloned().collect();
        let want_labels: BTreeMap<String, String> = labels.iter().cloned().collect();
        let selector = format!(
            "{{__name__={}}}",
            serde_json::Value::from(metric_name(series))
        );
        let reply = server.get(
            &format!(
                "/api/v1/query_exemplars?query={}&start=0&end=99999999999",
                common::urlencode(&selector)
            ),
            &[],
        );
        let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        let found = answer["data"].as_array().is_some_and(|all| {
            all.iter()
                .filter(|s| answered_labels(&s["seriesLabels"]) == want_series)
                .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
                .any(|e| {
                    answered_labels(&e["labels"]) == want_labels
                        && e["value"]
                            .as_str()
                            .and_then(|v| v.parse::<f64>().ok())
                            .is_some_and(|v| v == *value || (v.is_nan() && value.is_nan()))
                        && e["timestamp"].as_f64().map(|t| (t * 1000.0).round() as i64)
                            == Some(*timestamp_ms)
                })
        });
        assert!(
            found,
            "exemplar {want_labels:?} {value} at {timestamp_ms} of {want_series:?} not in {answer}"
        );
    }
}

/// An API time parameter for a millisecond timestamp, exactly (no float rounding).
fn api_time(timestamp_ms: i64) -> String {
    format!(
        "{}.{:03}",
        timestamp_ms.div_euclid(1000),
        timestamp_ms.rem_euclid(1000)
    )
}

/// A series' labels as the HTTP API answers them.
fn answered_labels(metric: &serde_json::Value) -> BTreeMap<String, String> {
    metric
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().into()))
                .collect()
        })
        .unwrap_or_default()
}

/// Each sample is queryable at its timestamp, with its labels and value.
fn assert_stored(server: &Server, samples: &[SentSample]) {
    for s in samples {
        let want: BTreeMap<String, String> = s.labels.iter().cloned().collect();
        // A JSON string is a PromQL string (the same escapes).
        let selector = format!(
            "{{__name__={}}}",
            serde_json::Value::from(metric_name(&s.labels))
        );
        let time = api_time(s.timestamp_ms);
        if s.value.to_bits() == STALE_NAN.to_bits() {
            // A stale marker ends its series: queries return nothing, the series API lists it.
            let reply = server.get(
                &format!(
                    "/api/v1/series?match[]={}&start={time}&end={time}",
                    common::urlencode(&selector)
                ),
                &[],
            );
            let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
            let listed = answer["data"]
                .as_array()
                .is_some_and(|series| series.iter().any(|m| answered_labels(m) == want));
            assert!(listed, "{want:?} at {time} not in {answer}");
            continue;
        }
        let result = common::instant_query(server.addr.port(), &selector, &time)
            .unwrap_or_else(|| panic!("{selector} at {time}: no answer"));
        let found = result
            .as_array()
            .and_then(|series| {
                series
                    .iter()
                    .find(|r| answered_labels(&r["metric"]) == want)
            })
            .unwrap_or_else(|| panic!("{want:?} at {time} not in {result}"));
        let value: f64 = found["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no value in {found}"));
        let same = value == s.value || (value.is_nan() && s.value.is_nan());
        assert!(same, "{want:?} at {time}: {value}, sent {}", s.value);
    }
}
