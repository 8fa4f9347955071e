//! The receiving side's negotiation and decoding, on requests built with the protobuf
//! messages as a sender builds them.

use prost::Message;
use remote::proto;
use remote::{decode_v1, decode_v2, decompress, negotiate, MessageType, Refused};

const BOTH: &[MessageType] = &[MessageType::V1, MessageType::V2];
const NOW: i64 = 1_700_000_000_000;

fn label(name: &str, value: &str) -> proto::Label {
    proto::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn sample(t: i64, v: f64) -> proto::Sample {
    proto::Sample {
        value: v,
        timestamp: t,
    }
}

#[test]
fn content_type_and_encoding_pick_the_message_or_refuse_with_415() {
    let ok = |enc: Option<&str>, ct: Option<&str>| negotiate(enc, ct, BOTH);
    assert_eq!(ok(None, None), Ok(MessageType::V1));
    assert_eq!(
        ok(Some("snappy"), Some("application/x-protobuf")),
        Ok(MessageType::V1)
    );
    assert_eq!(
        ok(
            Some("snappy"),
            Some("application/x-protobuf;proto=prometheus.WriteRequest")
        ),
        Ok(MessageType::V1)
    );
    assert_eq!(
        ok(
            Some("snappy"),
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request")
        ),
        Ok(MessageType::V2)
    );
    for (enc, ct) in [
        (Some("gzip"), None),
        (Some("deflate"), None),
        (None, Some("application/json")),
        (None, Some("image/png")),
        (
            None,
            Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
        ),
        (None, Some("application/x-protobuf;proto")),
    ] {
        let refused = ok(enc, ct).unwrap_err();
        assert_eq!(refused.status(), 415, "{enc:?} {ct:?}: {refused}");
    }
    assert_eq!(
        ok(Some("gzip"), None).unwrap_err().to_string(),
        "gzip encoding (compression) is not accepted by this server; only snappy is acceptable"
    );
    // A server that takes only 1.0.
    let only_v1 = negotiate(
        None,
        Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
        &[MessageType::V1],
    )
    .unwrap_err();
    assert_eq!(
        only_v1.to_string(),
        "io.prometheus.write.v2.Request protobuf message is not accepted by this server; only accepts prometheus.WriteRequest"
    );
}

#[test]
fn bodies_that_do_not_decompress_or_decode_are_bad_requests() {
    let req = proto::WriteRequest {
        timeseries: vec![proto::TimeSeries {
            labels: vec![label("__name__", "up")],
            samples: vec![sample(NOW, 1.0)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    assert_eq!(decompress(&body, 1 << 20).unwrap(), req.encode_to_vec());
    assert!(matches!(decompress(&body, 4), Err(Refused::TooLarge(_))));
    body[0] = b'0';
    assert_eq!(decompress(&body, 1 << 20).unwrap_err().status(), 400);
    assert_eq!(
        decode_v1(&[0xff, 0xff, 0xff], NOW).unwrap_err().status(),
        400
    );
}

#[test]
fn v1_series_with_invalid_labels_are_skipped_and_counted() {
    let req = proto::WriteRequest {
        timeseries: vec![
            proto::TimeSeries {
                labels: vec![label("job", "a"), label("__name__", "up")],
                samples: vec![sample(NOW - 1000, 1.0), sample(NOW, 0.0)],
                ..Default::default()
            },
            // No name, a duplicated label name: both skipped.
            proto::TimeSeries {
                labels: vec![label("job", "a")],
                samples: vec![sample(NOW, 1.0)],
                ..Default::default()
            },
            proto::TimeSeries {
                labels: vec![label("__name__", "x"), label("a", "1"), label("a", "2")],
                samples: vec![sample(NOW, 1.0), sample(NOW + 1, 2.0)],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let batch = decode_v1(&req.encode_to_vec(), NOW).unwrap();
    let up = model::Labels::from_pairs([("__name__", "up"), ("job", "a")]);
    assert_eq!(
        batch.samples,
        vec![(up.clone(), NOW - 1000, 1.0), (up, NOW, 0.0)]
    );
    assert_eq!(batch.invalid_label_samples, 3);
    // 1.0 reports no error for them (upstream logs them).
    assert!(batch.errors.is_empty());
}

#[test]
fn v2_labels_come_from_the_symbols_table_and_bad_series_are_errors() {
    let req = proto::RequestV2 {
        symbols: ["", "__name__", "up", "job", "a", "x"]
            .map(String::from)
            .to_vec(),
        timeseries: vec![
            proto::TimeSeriesV2 {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![proto::SampleV2 {
                    value: 1.0,
                    timestamp: NOW,
                    start_timestamp: 0,
                }],
                ..Default::default()
            },
            // A reference outside the table.
            proto::TimeSeriesV2 {
                labels_refs: vec![1, 99],
                samples: vec![proto::SampleV2 {
                    value: 1.0,
                    timestamp: NOW,
                    start_timestamp: 0,
                }],
                ..Default::default()
            },
            // No samples at all.
            proto::TimeSeriesV2 {
                labels_refs: vec![1, 5],
                ..Default::default()
            },
            // Too far in the future, and a native histogram (kept).
            proto::TimeSeriesV2 {
                labels_refs: vec![1, 5],
                samples: vec![proto::SampleV2 {
                    value: 1.0,
                    timestamp: NOW + 11 * 60 * 1000,
                    start_timestamp: 0,
                }],
                histograms: vec![proto::Histogram {
                    timestamp: NOW,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    };
    let batch = decode_v2(&req.encode_to_vec(), NOW).unwrap();
    assert_eq!(
        batch.samples,
        vec![(
            model::Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            NOW,
            1.0
        )]
    );
    assert_eq!(batch.invalid_label_samples, 1);
    assert_eq!((batch.refused_samples, batch.histograms.len()), (1, 1));
    assert_eq!(batch.histograms[0].1, NOW);
    assert_eq!(batch.errors.len(), 3, "{:?}", batch.errors);
    assert!(batch.errors[0].contains("outside of symbols table"));
    assert!(batch.errors[1].starts_with("TimeSeries must contain at least one sample"));
    assert!(batch.errors[2].contains("too far in the future"));
}

#[test]
fn exemplars_are_decoded_with_their_series() {
    // An exemplar with a reference outside the table is an error (a 400), the others are
    // appended with their series.
    let req = proto::RequestV2 {
        symbols: ["", "__name__", "up", "trace_id", "abc"]
            .map(String::from)
            .to_vec(),
        timeseries: vec![proto::TimeSeriesV2 {
            labels_refs: vec![1, 2],
            samples: vec![proto::SampleV2 {
                value: 1.0,
                timestamp: NOW,
                start_timestamp: 0,
            }],
            exemplars: vec![
                proto::ExemplarV2 {
                    labels_refs: vec![3, 4],
                    value: 1.0,
                    timestamp: NOW,
                },
                proto::ExemplarV2 {
                    labels_refs: vec![3, 99],
                    value: 1.0,
                    timestamp: NOW,
                },
            ],
            ..Default::default()
        }],
    };
    let batch = decode_v2(&req.encode_to_vec(), NOW).unwrap();
    assert_eq!(batch.samples.len(), 1);
    assert_eq!(batch.exemplars.len(), 1);
    let (series, e) = &batch.exemplars[0];
    assert_eq!(series.get("__name__"), Some("up"));
    assert_eq!(e.labels.get("trace_id"), Some("abc"));
    assert_eq!((e.value, e.timestamp_ms, e.has_timestamp), (1.0, NOW, true));
    assert_eq!(batch.errors.len(), 1, "{:?}", batch.errors);
    assert!(batch.errors[0].contains("outside of symbols table"));

    // 1.0 the same; a timestamp of 0 is none.
    let req = proto::WriteRequest {
        timeseries: vec![proto::TimeSeries {
            labels: vec![label("__name__", "up")],
            samples: vec![sample(NOW, 1.0)],
            exemplars: vec![proto::Exemplar {
                labels: vec![label("trace_id", "abc")],
                value: 2.0,
                timestamp: 0,
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let batch = decode_v1(&req.encode_to_vec(), NOW).unwrap();
    assert_eq!((batch.samples.len(), batch.exemplars.len()), (1, 1));
    let (_, e) = &batch.exemplars[0];
    assert_eq!((e.value, e.has_timestamp), (2.0, false));
    assert!(batch.errors.is_empty(), "{:?}", batch.errors);
}
