//! The protobuf exposition (`application/vnd.google.protobuf;
//! proto=io.prometheus.client.MetricFamily;encoding=delimited`, scrape protocol
//! `PrometheusProto`): length-delimited `MetricFamily` messages of client_model's
//! metrics.proto, turned into the equivalent Prometheus text exposition (format 1.0.0,
//! so UTF-8 names survive) for the text parser. Classic histograms become `_bucket`
//! (with the `+Inf` bucket added when absent), `_sum` and `_count` series, summaries
//! `quantile` series, `_sum` and `_count`, as Prometheus's protobuf parser yields them;
//! `le` and `quantile` values are written in OpenMetrics' float form, as Prometheus
//! writes them. With native histograms on ([`ProtobufOptions`]), a histogram that has
//! native buckets comes out as a native histogram sample instead (its classic series too
//! when asked for). Exemplars come out beside the text, by sample number
//! ([`DecodedProtobuf`]). `messages` holds the prost messages, `encode` writes families
//! (federation).

use std::fmt::Write;

use model::float::format_openmetrics_float;
use model::histogram::HistogramValue;

mod encode;
mod messages;
mod native_fast;

pub use encode::*;
use messages::*;

/// Largest single `MetricFamily` message accepted (the whole body is bounded by the
/// scrape's body size limit already; this bounds one allocation).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// What to make of protobuf histograms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtobufOptions {
    /// Histograms with native buckets become native histogram samples
    /// (`scrape_native_histograms`).
    pub native_histograms: bool,
    /// Their classic series are kept too (`always_scrape_classic_histograms`).
    pub classic_too: bool,
    /// Room reserved up front for this many native histogram samples (a scrape passes
    /// the count of the target's last one), instead of growing the list by doubling.
    pub histograms_hint: usize,
}

/// A native histogram sample of a protobuf body.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogramSample {
    /// The family's name, shared by its samples.
    pub name: std::sync::Arc<str>,
    /// The labels in the order written (the metric name not among them).
    pub labels: crate::LabelPairs,
    pub timestamp_ms: Option<i64>,
    pub value: HistogramValue,
    /// Its exemplars (only those with a timestamp, as Prometheus keeps them), sorted by
    /// [`model::exemplar::compare`].
    pub exemplars: Vec<model::Exemplar>,
}

/// A decoded protobuf body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedProtobuf {
    /// The Prometheus text (1.0.0) its float samples stand for.
    pub text: String,
    /// Native histogram samples (with `native_histograms`).
    pub histograms: Vec<NativeHistogramSample>,
    /// Exemplars of the text's samples: (sample number in the text, counted from 0, the
    /// exemplar). One without a timestamp of its own has `has_timestamp` false and gets
    /// the sample's time when stored.
    pub exemplars: Vec<(usize, model::Exemplar)>,
}

/// The text being written and the number of samples in it.
struct TextOut {
    text: String,
    samples: usize,
}

/// How much larger than the protobuf body its text may grow: a real exposition grows two
/// to four times (labels repeated on every bucket line); a hostile one (many empty
/// buckets under long labels) could grow ten thousand times.
pub const MAX_TEXT_GROWTH: usize = 16;

/// Decodes a delimited protobuf body into the Prometheus text format (1.0.0). The error
/// says which message (counted from 1) could not be read and why. The text may be at
/// most [`MAX_TEXT_GROWTH`] times the body (and at least 16 MiB).
pub fn protobuf_to_text(body: &[u8]) -> Result<String, String> {
    decode_protobuf(body, ProtobufOptions::default()).map(|d| d.text)
}

/// Decodes a delimited protobuf body into the text it stands for, its exemplars and, with
/// native histograms on, the native histogram samples (see [`protobuf_to_text`]).
pub fn decode_protobuf(body: &[u8], opts: ProtobufOptions) -> Result<DecodedProtobuf, String> {
    decode_with(body, opts, true)
}

/// [`decode_protobuf`] without the hand-written path for native histogram families: every
/// family through prost. For tests and the fuzz target, which check that both agree.
#[doc(hidden)]
pub fn decode_protobuf_with_prost_only(
    body: &[u8],
    opts: ProtobufOptions,
) -> Result<DecodedProtobuf, String> {
    decode_with(body, opts, false)
}

fn decode_with(
    mut body: &[u8],
    opts: ProtobufOptions,
    fast: bool,
) -> Result<DecodedProtobuf, String> {
    let max = body.len().saturating_mul(MAX_TEXT_GROWTH).max(16 << 20);
    let mut out = TextOut {
        text: String::with_capacity(body.len() * 2),
        samples: 0,
    };
    // Bounded by the body: a native histogram takes a few bytes of it at least.
    let mut natives = Vec::with_capacity(opts.histograms_hint.min(body.len() / 4));
    let mut exemplars = Vec::new();
    let mut index = 0;
    while !body.is_empty() {
        index += 1;
        let len = prost::encoding::decode_varint(&mut body)
            .map_err(|e| format!("protobuf message {index}: invalid length: {e}"))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > MAX_MESSAGE_BYTES || len > body.len() {
            return Err(format!(
                "protobuf message {index}: length {len} exceeds the {} bytes left",
                body.len()
            ));
        }
        let (message, rest) = body.split_at(len);
        body = rest;
        if fast && opts.native_histograms && !opts.classic_too {
            if let Some(family) = native_fast::decode(message, &mut natives) {
                write_header(&mut out, family.name, family.help, "histogram");
                continue;
            }
        }
        let family = <MetricFamily as prost::Message>::decode(message)
            .map_err(|e| format!("protobuf message {index}: {e}"))?;
        write_family(&mut out, &mut natives, &mut exemplars, family, max, opts)
            .map_err(|e| format!("protobuf message {index}: {e}"))?;
    }
    Ok(DecodedProtobuf {
        text: out.text,
        histograms: natives,
        exemplars,
    })
}

/// A native histogram's exemplars: its own list when it has one, else its buckets'; only
/// those with a timestamp (Prometheus drops the others), sorted.
fn native_exemplars(h: &Histogram) -> Vec<model::Exemplar> {
    let listed: Vec<&Exemplar> = if h.exemplars.is_empty() {
        h.bucket
            .iter()
            .filter_map(|b| b.exemplar.as_ref())
            .collect()
    } else {
        h.exemplars.iter().collect()
    };
    let mut out: Vec<model::Exemplar> = listed
        .into_iter()
        .filter(|e| e.timestamp.is_some())
        .map(|e| e.to_model(0))
        .collect();
    out.sort_by(model::exemplar::compare);
    out
}

fn write_family(
    out: &mut TextOut,
    natives: &mut Vec<NativeHistogramSample>,
    exemplars: &mut Vec<(usize, model::Exemplar)>,
    family: MetricFamily,
    max: usize,
    opts: ProtobufOptions,
) -> Result<(), String> {
    if family.name.is_empty() {
        return Err("metric family without a name".into());
    }
    let name = &family.name;
    let kind = match family.kind {
        COUNTER => "counter",
        GAUGE => "gauge",
        SUMMARY => "summary",
        UNTYPED => "untyped",
        // The text format has no gauge histogram; its classic series are the same.
        HISTOGRAM | GAUGE_HISTOGRAM => "histogram",
        other => return Err(format!("unknown metric type {other}")),
    };
    write_header(out, name, &family.help, kind);
    let too_large = |out: &TextOut| {
        (out.text.len() > max).then(|| {
            format!("the body expands to more than {max} bytes of samples (labels repeated on too many lines)")
        })
    };
    // Shared by the family's native histogram samples.
    let shared_name: std::sync::Arc<str> = std::sync::Arc::from(name.as_str());
    for mut metric in family.metric {
        if let Some(e) = too_large(out) {
            return Err(e);
        }
        let ts = metric.timestamp_ms;
        match family.kind {
            COUNTER => {
                let v = metric.counter.as_ref().map_or(f64::NAN, |c| c.value);
                sample(out, name, "", &metric.label, None, v, ts);
                if let Some(e) = metric.counter.as_ref().and_then(|c| c.exemplar.as_ref()) {
                    exemplars.push((out.samples - 1, e.to_model(ts)));
                }
            }
            GAUGE => {
                let v = metric.gauge.as_ref().map_or(f64::NAN, |g| g.value);
                sample(out, name, "", &metric.label, None, v, ts);
            }
            UNTYPED => {
                let v = metric
                    .untyped
                    .as_ref()
                    .map_or(f64::NAN, |u| u.value.unwrap_or(0.0));
                sample(out, name, "", &metric.label, None, v, ts);
            }
            SUMMARY => {
                let s = metric.summary.clone().unwrap_or_default();
                for q in &s.quantile {
                    if let Some(e) = too_large(out) {
                        return Err(e);
                    }
                    let extra = ("quantile", format_openmetrics_float(q.quantile));
                    sample(out, name, "", &metric.label, Some(&extra), q.value, ts);
                }
                sample(out, name, "_sum", &metric.label, None, s.sample_sum, ts);
                sample(
                    out,
                    name,
                    "_count",
                    &metric.label,
                    None,
                    s.sample_count as f64,
                    ts,
                );
            }
            _ => {
                let mut h = metric.histogram.take().unwrap_or_default();
                if opts.native_histograms && h.is_native() {
                    let gauge = family.kind == GAUGE_HISTOGRAM;
                    let classic_too = opts.classic_too && !h.bucket.is_empty();
                    // The common case, native only: the decoded message moves into the
                    // sample; the classic series need copies of what they share.
                    let labels = crate::LabelPairs::from_pairs(
                        metric
                            .label
                            .iter()
                            .map(|l| (l.name.as_str(), l.value.as_str())),
                    );
                    let native = if classic_too {
                        h.clone()
                    } else {
                        std::mem::take(&mut h)
                    };
                    natives.push(NativeHistogramSample {
                        name: std::sync::Arc::clone(&shared_name),
                        labels,
                        timestamp_ms: (ts != 0).then_some(ts),
                        exemplars: native_exemplars(&native),
                        value: native.into_native(gauge),
                    });
                    if !classic_too {
                        continue;
                    }
                }
                let count = if h.sample_count_float > 0.0 {
                    h.sample_count_float
                } else {
                    h.sample_count as f64
                };
                let mut saw_inf = false;
                for b in &h.bucket {
                    if let Some(e) = too_large(out) {
                        return Err(e);
                    }
                    saw_inf |= b.upper_bound == f64::INFINITY;
                    let value = if b.cumulative_count_float > 0.0 {
                        b.cumulative_count_float
                    } else {
                        b.cumulative_count as f64
                    };
                    let extra = ("le", format_openmetrics_float(b.upper_bound));
                    sample(out, name, "_bucket", &metric.label, Some(&extra), value, ts);
                    if let Some(e) = &b.exemplar {
                        exemplars.push((out.samples - 1, e.to_model(ts)));
                    }
                }
                if !saw_inf {
                    let extra = ("le", "+Inf".to_string());
                    sample(out, name, "_bucket", &metric.label, Some(&extra), count, ts);
                }
                sample(out, name, "_sum", &metric.label, None, h.sample_sum, ts);
                sample(out, name, "_count", &metric.label, None, count, ts);
            }
        }
    }
    Ok(())
}

/// A family's `# HELP` (when it has one) and `# TYPE` lines.
fn write_header(out: &mut TextOut, name: &str, help: &str, kind: &str) {
    if !help.is_empty() {
        let _ = writeln!(
            out.text,
            "# HELP {} {}",
            quoted_name(name),
            escape_help(help)
        );
    }
    let _ = writeln!(out.text, "# TYPE {} {kind}", quoted_name(name));
}

/// One sample line: `name{labels} value [timestamp]`, names quoted inside the braces
/// when they are not legacy names (text format 1.0.0).
fn sample(
    out: &mut TextOut,
    family: &str,
    suffix: &str,
    labels: &[LabelPair],
    extra: Option<&(&str, String)>,
    value: f64,
    timestamp_ms: i64,
) {
    out.samples += 1;
    let out = &mut out.text;
    let name = format!("{family}{suffix}");
    let legacy = is_legacy_metric_name(&name);
    if legacy {
        out.push_str(&name);
    }
    let pairs = labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .chain(extra.map(|(n, v)| (*n, v.as_str())));
    let mut first = true;
    let mut open = |out: &mut String| {
        out.push(if first { '{' } else { ',' });
        first = false;
    };
    if !legacy {
        open(out);
        out.push('"');
        escape_value(out, &name);
        out.push('"');
    }
    for (n, v) in pairs {
        open(out);
        if is_legacy_label_name(n) {
            out.push_str(n);
        } else {
            out.push('"');
            escape_value(out, n);
            out.push('"');
        }
        out.push_str("=\"");
        escape_value(out, v);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    out.push_str(&model::float::format_go_g(value));
    if timestamp_ms != 0 {
        let _ = write!(out, " {timestamp_ms}");
    }
    out.push('\n');
}

fn quoted_name(name: &str) -> String {
    if is_legacy_metric_name(name) {
        name.to_string()
    } else {
        let mut out = String::from("\"");
        escape_value(&mut out, name);
        out.push('"');
        out
    }
}

fn escape_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn is_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn delimited(families: &[MetricFamily]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in families {
            f.encode_length_delimited(&mut out).unwrap();
        }
        out
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
        pairs
            .iter()
            .map(|(n, v)| LabelPair {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn every_type_as_prometheus_yields_it() {
        let body = delimited(&[
            MetricFamily {
                name: "requests_total".into(),
                help: "Requests.\nAll of them.".into(),
                kind: COUNTER,
                metric: vec![Metric {
                    label: labels(&[("code", "200")]),
                    counter: Some(Counter {
                        value: 7.0,
                        exemplar: None,
                    }),
                    ..Metric::default()
                }],
                unit: String::new(),
            },
            MetricFamily {
                name: "latency_seconds".into(),
                help: String::new(),
                kind: HISTOGRAM,
                metric: vec![Metric {
                    histogram: Some(Histogram {
                        sample_count: 3,
                        sample_count_float: 0.0,
                        sample_sum: 1.5,
                        bucket: vec![Bucket {
                            cumulative_count: 2,
                            cumulative_count_float: 0.0,
                            upper_bound: 1.0,
                            exemplar: None,
                        }],
                        ..Histogram::default()
                    }),
                    timestamp_ms: 1234,
                    ..Metric::default()
                }],
                unit: String::new(),
            },
            MetricFamily {
                name: "rpc.duration".into(),
                help: String::new(),
                kind: SUMMARY,
                metric: vec![Metric {
                    label: labels(&[("service.name", "a")]),
                    summary: Some(Summary {
                        sample_count: 4,
                        sample_sum: 2.0,
                        quantile: vec![Quantile {
                            quantile: 0.5,
                            value: 0.4,
                        }],
                    }),
                    ..Metric::default()
                }],
                unit: String::new(),
            },
        ]);
        let text = protobuf_to_text(&body).unwrap();
        assert_eq!(
            text,
            "# HELP requests_total Requests.\\nAll of them.\n# TYPE requests_total counter\nrequests_total{code=\"200\"} 7\n\
             # TYPE latency_seconds histogram\nlatency_seconds_bucket{le=\"1.0\"} 2 1234\nlatency_seconds_bucket{le=\"+Inf\"} 3 1234\nlatency_seconds_sum 1.5 1234\nlatency_seconds_count 3 1234\n\
             # TYPE \"rpc.duration\" summary\n{\"rpc.duration\",\"service.name\"=\"a\",quantile=\"0.5\"} 0.4\n{\"rpc.duration_sum\",\"service.name\"=\"a\"} 2\n{\"rpc.duration_count\",\"service.name\"=\"a\"} 4\n"
        );
        // The text is what the text parser reads.
        let parsed: Vec<_> = crate::Parser::new(text.as_bytes(), crate::Format::PrometheusText)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert!(parsed.len() > 10);
    }

    #[test]
    fn native_histograms_come_out_as_samples_with_their_classic_series_on_request() {
        let family = MetricFamily {
            name: "rpc_seconds".into(),
            kind: HISTOGRAM,
            metric: vec![Metric {
                label: labels(&[("svc", "a")]),
                histogram: Some(Histogram {
                    sample_count: 5,
                    sample_sum: 2.5,
                    schema: 0,
                    zero_threshold: 1e-128,
                    zero_count: 1,
                    positive_span: vec![BucketSpan {
                        offset: 0,
                        length: 2,
                    }],
                    positive_delta: vec![1, 2],
                    bucket: vec![Bucket {
                        cumulative_count: 2,
                        cumulative_count_float: 0.0,
                        upper_bound: 1.0,
                        exemplar: None,
                    }],
                    ..Histogram::default()
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        };
        let body = delimited(&[family]);
        // Off: the classic series only.
        let DecodedProtobuf {
            text,
            histograms: natives,
            ..
        } = decode_protobuf(&body, ProtobufOptions::default()).unwrap();
        assert!(natives.is_empty());
        assert!(
            text.contains("rpc_seconds_bucket{svc=\"a\",le=\"1.0\"} 2"),
            "{text}"
        );
        // On: the native histogram, and no classic series.
        let on = ProtobufOptions {
            native_histograms: true,
            classic_too: false,
            ..ProtobufOptions::default()
        };
        let DecodedProtobuf {
            text,
            histograms: natives,
            ..
        } = decode_protobuf(&body, on).unwrap();
        assert_eq!(natives.len(), 1);
        assert!(!text.contains("rpc_seconds_bucket"), "{text}");
        let HistogramValue::Int(h) = &natives[0].value else {
            panic!("an integer histogram")
        };
        assert_eq!((h.count, h.zero_count, h.sum), (5, 1, 2.5));
        assert_eq!(h.positive_buckets, vec![1, 2]);
        assert_eq!(
            natives[0].labels.iter().collect::<Vec<_>>(),
            vec![("svc", "a")]
        );
        // Both.
        let both = ProtobufOptions {
            native_histograms: true,
            classic_too: true,
            ..ProtobufOptions::default()
        };
        let DecodedProtobuf {
            text,
            histograms: natives,
            ..
        } = decode_protobuf(&body, both).unwrap();
        assert_eq!(natives.len(), 1);
        assert!(text.contains("rpc_seconds_count{svc=\"a\"} 5"), "{text}");
    }

    /// The hand-written path and prost agree on every family shape, and the fast one is
    /// taken for the common case.
    #[test]
    fn the_fast_path_agrees_with_prost() {
        let span = |offset, length| BucketSpan { offset, length };
        let native = |hist: Histogram| Metric {
            label: labels(&[("service", "api"), ("le_not", "x")]),
            histogram: Some(hist),
            timestamp_ms: 0,
            ..Metric::default()
        };
        let int = Histogram {
            sample_count: 10,
            sample_sum: 12.5,
            schema: 3,
            zero_threshold: 1e-128,
            zero_count: 1,
            positive_span: vec![span(-2, 3), span(4, 1)],
            positive_delta: vec![1, 2, -1, 5],
            negative_span: vec![span(0, 1)],
            negative_delta: vec![1],
            ..Histogram::default()
        };
        let float = Histogram {
            sample_count_float: 4.5,
            zero_count_float: 0.5,
            schema: -1,
            zero_threshold: 0.01,
            positive_span: vec![span(0, 2)],
            positive_count: vec![1.5, 2.5],
            ..Histogram::default()
        };
        let mut with_classic = int.clone();
        with_classic.bucket = vec![Bucket {
            cumulative_count: 3,
            cumulative_count_float: 0.0,
            upper_bound: 1.0,
            exemplar: None,
        }];
        let mut with_exemplar = int.clone();
        with_exemplar.exemplars = vec![exemplar("t", 1.0, Some(5))];
        let classic_only = Histogram {
            sample_count: 1,
            bucket: with_classic.bucket.clone(),
            ..Histogram::default()
        };
        let family = |name: &str, kind, metrics: Vec<Metric>| MetricFamily {
            name: name.into(),
            help: "Help \\ text.".into(),
            kind,
            metric: metrics,
            unit: String::new(),
        };
        let mut stamped = native(int.clone());
        stamped.timestamp_ms = 1_700_000_000_123;
        let families = vec![
            family("a", HISTOGRAM, vec![native(int.clone()), stamped]),
            family("b", GAUGE_HISTOGRAM, vec![native(float.clone())]),
            family("c", HISTOGRAM, vec![native(with_classic)]),
            family("d", HISTOGRAM, vec![native(with_exemplar)]),
            family(
                "e",
                HISTOGRAM,
                vec![native(int.clone()), native(classic_only)],
            ),
            family("f", COUNTER, vec![]),
            family("g", HISTOGRAM, vec![]),
        ];
        let opts = ProtobufOptions {
            native_histograms: true,
            classic_too: false,
            ..ProtobufOptions::default()
        };
        for f in &families {
            let body = delimited(std::slice::from_ref(f));
            assert_eq!(
                decode_protobuf(&body, opts),
                decode_protobuf_with_prost_only(&body, opts),
                "{}",
                f.name
            );
        }
        let body = delimited(&families);
        assert_eq!(
            decode_protobuf(&body, opts),
            decode_protobuf_with_prost_only(&body, opts)
        );
        // Which families the fast path takes.
        for (f, fast) in families
            .iter()
            .zip([true, true, true, false, false, false, true])
        {
            let message = f.encode_to_vec();
            let mut natives = Vec::new();
            let took = native_fast::decode(&message, &mut natives).is_some();
            assert_eq!(took, fast, "{}", f.name);
            assert_eq!(natives.len(), if took { f.metric.len() } else { 0 });
        }
        // Unpacked repeated fields (prost writes them packed) decode the same.
        let mut unpacked = Vec::new();
        prost::encoding::sint64::encode_repeated(13, &[1, 2, 3], &mut unpacked);
        prost::encoding::message::encode_repeated(12, &[span(0, 3)], &mut unpacked);
        prost::encoding::uint64::encode(1, &6, &mut unpacked);
        let mut metric = Vec::new();
        prost::encoding::bytes::encode(7, &unpacked, &mut metric);
        let mut message = Vec::new();
        prost::encoding::string::encode(1, &"u".to_string(), &mut message);
        prost::encoding::int32::encode(3, &HISTOGRAM, &mut message);
        prost::encoding::bytes::encode(4, &metric, &mut message);
        let mut body = Vec::new();
        prost::encoding::encode_varint(message.len() as u64, &mut body);
        body.extend_from_slice(&message);
        let fast = decode_protobuf(&body, opts).unwrap();
        assert_eq!(
            Ok(fast.clone()),
            decode_protobuf_with_prost_only(&body, opts)
        );
        let HistogramValue::Int(h) = &fast.histograms[0].value else {
            panic!("an integer histogram")
        };
        assert_eq!(h.positive_buckets, vec![1, 2, 3]);
    }

    fn exemplar(trace: &str, value: f64, at_ms: Option<i64>) -> Exemplar {
        Exemplar {
            label: labels(&[("trace_id", trace)]),
            value,
            timestamp: at_ms.map(|ms| Timestamp {
                seconds: ms / 1000,
                nanos: (ms % 1000) as i32 * 1_000_000,
            }),
        }
    }

    #[test]
    fn exemplars_come_with_their_sample_numbers() {
        let counter = MetricFamily {
            name: "requests_total".into(),
            kind: COUNTER,
            metric: vec![Metric {
                counter: Some(Counter {
                    value: 7.0,
                    exemplar: Some(exemplar("c", 1.0, None)),
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        };
        let bucket = |le: f64, count: u64, e: Option<Exemplar>| Bucket {
            cumulative_count: count,
            cumulative_count_float: 0.0,
            upper_bound: le,
            exemplar: e,
        };
        let histogram = MetricFamily {
            name: "rpc_seconds".into(),
            kind: HISTOGRAM,
            metric: vec![Metric {
                histogram: Some(Histogram {
                    sample_count: 3,
                    sample_sum: 1.0,
                    schema: 0,
                    zero_threshold: 1e-128,
                    positive_span: vec![BucketSpan {
                        offset: 0,
                        length: 1,
                    }],
                    positive_delta: vec![3],
                    bucket: vec![
                        bucket(0.5, 1, Some(exemplar("b1", 0.2, Some(1500)))),
                        // No timestamp: kept for the classic series, not the native one.
                        bucket(1.0, 3, Some(exemplar("b2", 0.9, None))),
                    ],
                    ..Histogram::default()
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        };
        let body = delimited(&[counter, histogram]);
        let both = ProtobufOptions {
            native_histograms: true,
            classic_too: true,
            ..ProtobufOptions::default()
        };
        let decoded = decode_protobuf(&body, both).unwrap();
        // Samples: requests_total (0), rpc_seconds_bucket le=0.5 (1), le=1.0 (2), +Inf
        // (3), _sum, _count.
        let got: Vec<(usize, &str, bool)> = decoded
            .exemplars
            .iter()
            .map(|(n, e)| (*n, e.labels.get("trace_id").unwrap(), e.has_timestamp))
            .collect();
        assert_eq!(
            got,
            vec![(0, "c", false), (1, "b1", true), (2, "b2", false)]
        );
        assert_eq!(decoded.exemplars[1].1.timestamp_ms, 1500);
        let native = &decoded.histograms[0].exemplars;
        assert_eq!(native.len(), 1);
        assert_eq!((native[0].value, native[0].timestamp_ms), (0.2, 1500));

        // A native histogram's own list wins over its buckets'; untimed ones are dropped.
        let mut h = Histogram {
            schema: 0,
            zero_threshold: 1e-128,
            zero_count: 1,
            sample_count: 1,
            bucket: vec![bucket(1.0, 1, Some(exemplar("b", 1.0, Some(5))))],
            exemplars: vec![
                exemplar("late", 2.0, Some(3000)),
                exemplar("untimed", 2.0, None),
                exemplar("early", 2.0, Some(2000)),
            ],
            ..Histogram::default()
        };
        let natives = native_exemplars(&h);
        let traces: Vec<&str> = natives
            .iter()
            .map(|e| e.labels.get("trace_id").unwrap())
            .collect();
        assert_eq!(traces, vec!["early", "late"]);
        h.exemplars.clear();
        assert_eq!(native_exemplars(&h).len(), 1);
    }

    #[test]
    fn truncated_and_oversized_messages_are_errors() {
        let mut body = delimited(&[MetricFamily {
            name: "a".into(),
            kind: GAUGE,
            ..MetricFamily::default()
        }]);
        body.pop();
        assert!(protobuf_to_text(&body).unwrap_err().contains("message 1"));
        let huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(protobuf_to_text(&huge).unwrap_err().contains("exceeds"));
        assert!(protobuf_to_text(&[]).unwrap().is_empty());
    }

    #[test]
    fn empty_buckets_under_long_labels_cannot_amplify_the_body() {
        let long = "v".repeat(1024);
        let pairs: Vec<(String, String)> =
            (0..64).map(|i| (format!("l{i}"), long.clone())).collect();
        let label = pairs
            .iter()
            .map(|(n, v)| LabelPair {
                name: n.clone(),
                value: v.clone(),
            })
            .collect();
        let body = delimited(&[MetricFamily {
            name: "h".into(),
            kind: HISTOGRAM,
            metric: vec![Metric {
                label,
                histogram: Some(Histogram {
                    bucket: vec![Bucket::default(); 20_000],
                    ..Histogram::default()
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        }]);
        assert!(body.len() < 200_000);
        let err = protobuf_to_text(&body).unwrap_err();
        assert!(err.contains("expands to more than"), "{err}");
    }
}
