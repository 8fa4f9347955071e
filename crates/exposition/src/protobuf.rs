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
//! when asked for); exemplars are not kept.

use std::fmt::Write;

use model::float::format_openmetrics_float;
use model::histogram::HistogramValue;

/// Largest single `MetricFamily` message accepted (the whole body is bounded by the
/// scrape's body size limit already; this bounds one allocation).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

#[derive(Clone, PartialEq, prost::Message)]
struct LabelPair {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Gauge {
    #[prost(double, tag = "1")]
    value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Counter {
    #[prost(double, tag = "1")]
    value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Quantile {
    #[prost(double, tag = "1")]
    quantile: f64,
    #[prost(double, tag = "2")]
    value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(uint64, tag = "1")]
    sample_count: u64,
    #[prost(double, tag = "2")]
    sample_sum: f64,
    #[prost(message, repeated, tag = "3")]
    quantile: Vec<Quantile>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Untyped {
    /// proto2's optional field: written even when zero, so that a negative zero keeps its
    /// sign on the way out (federation), as Go writes it.
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Bucket {
    #[prost(uint64, tag = "1")]
    cumulative_count: u64,
    #[prost(double, tag = "4")]
    cumulative_count_float: f64,
    #[prost(double, tag = "2")]
    upper_bound: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BucketSpan {
    #[prost(sint32, tag = "1")]
    offset: i32,
    #[prost(uint32, tag = "2")]
    length: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Histogram {
    #[prost(uint64, tag = "1")]
    sample_count: u64,
    #[prost(double, tag = "4")]
    sample_count_float: f64,
    #[prost(double, tag = "2")]
    sample_sum: f64,
    #[prost(message, repeated, tag = "3")]
    bucket: Vec<Bucket>,
    #[prost(sint32, tag = "5")]
    schema: i32,
    #[prost(double, tag = "6")]
    zero_threshold: f64,
    #[prost(uint64, tag = "7")]
    zero_count: u64,
    #[prost(double, tag = "8")]
    zero_count_float: f64,
    #[prost(message, repeated, tag = "9")]
    negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "10")]
    negative_delta: Vec<i64>,
    #[prost(double, repeated, tag = "11")]
    negative_count: Vec<f64>,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "13")]
    positive_delta: Vec<i64>,
    #[prost(double, repeated, tag = "14")]
    positive_count: Vec<f64>,
}

impl Histogram {
    /// Whether it has native buckets (upstream's `isNativeHistogram`).
    fn is_native(&self) -> bool {
        !self.positive_span.is_empty()
            || !self.negative_span.is_empty()
            || self.zero_threshold > 0.0
            || self.zero_count > 0
            || self.zero_count_float > 0.0
    }

    /// The native histogram (float when its counts are floats).
    fn into_native(self, gauge: bool) -> HistogramValue {
        use model::histogram::{CounterResetHint, FloatHistogram, Histogram as IntHistogram, Span};
        let hint = if gauge {
            CounterResetHint::Gauge
        } else {
            CounterResetHint::Unknown
        };
        let spans = |s: &[BucketSpan]| -> Vec<Span> {
            s.iter().map(|s| Span::new(s.offset, s.length)).collect()
        };
        if self.sample_count_float > 0.0 || self.zero_count_float > 0.0 {
            return HistogramValue::Float(FloatHistogram {
                counter_reset_hint: hint,
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count: self.zero_count_float,
                count: self.sample_count_float,
                sum: self.sample_sum,
                positive_spans: spans(&self.positive_span),
                negative_spans: spans(&self.negative_span),
                positive_buckets: self.positive_count,
                negative_buckets: self.negative_count,
                custom_values: Vec::new(),
            });
        }
        HistogramValue::Int(IntHistogram {
            counter_reset_hint: hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.sample_count,
            sum: self.sample_sum,
            positive_spans: spans(&self.positive_span),
            negative_spans: spans(&self.negative_span),
            positive_buckets: self.positive_delta,
            negative_buckets: self.negative_delta,
            custom_values: Vec::new(),
        })
    }
}

/// What to make of protobuf histograms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtobufOptions {
    /// Histograms with native buckets become native histogram samples
    /// (`scrape_native_histograms`).
    pub native_histograms: bool,
    /// Their classic series are kept too (`always_scrape_classic_histograms`).
    pub classic_too: bool,
}

/// A native histogram sample of a protobuf body.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogramSample {
    /// The family's name, shared by its samples.
    pub name: std::sync::Arc<str>,
    /// The labels in the order written (the metric name not among them).
    pub labels: Vec<(String, String)>,
    pub timestamp_ms: Option<i64>,
    pub value: HistogramValue,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Metric {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    gauge: Option<Gauge>,
    #[prost(message, optional, tag = "3")]
    counter: Option<Counter>,
    #[prost(message, optional, tag = "4")]
    summary: Option<Summary>,
    #[prost(message, optional, tag = "5")]
    untyped: Option<Untyped>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<Histogram>,
    #[prost(int64, tag = "6")]
    timestamp_ms: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MetricFamily {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    help: String,
    #[prost(int32, tag = "3")]
    kind: i32,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
    #[prost(string, tag = "5")]
    unit: String,
}

/// One untyped sample of [`encode_untyped_family`]: labels in the order to write them (the
/// metric name not among them), value and timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct UntypedSample {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: i64,
}

/// Appends one `MetricFamily` of untyped samples to `out`, length-delimited as the
/// protobuf exposition (`encoding=delimited`) carries it: what federation answers.
pub fn encode_untyped_family(out: &mut Vec<u8>, name: &str, samples: &[UntypedSample]) {
    let family = MetricFamily {
        name: name.to_string(),
        kind: UNTYPED,
        metric: samples
            .iter()
            .map(|s| Metric {
                label: s
                    .labels
                    .iter()
                    .map(|(name, value)| LabelPair {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                untyped: Some(Untyped {
                    value: Some(s.value),
                }),
                timestamp_ms: s.timestamp_ms,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    // Writing to a Vec cannot fail.
    let _ = prost::Message::encode_length_delimited(&family, out);
}

/// One histogram sample of [`encode_histogram_family`]: labels in the order to write them
/// (the metric name not among them), the histogram and its timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramFamilySample {
    pub labels: Vec<(String, String)>,
    pub value: model::histogram::FloatHistogram,
    pub timestamp_ms: i64,
}

/// Appends one histogram `MetricFamily` (a gauge histogram with `gauge`) to `out`,
/// length-delimited, as federation answers native histograms: standard schemas with their
/// native buckets (float counts), custom bucket histograms (NHCB) as classic buckets.
pub fn encode_histogram_family(
    out: &mut Vec<u8>,
    name: &str,
    gauge: bool,
    samples: &[HistogramFamilySample],
) {
    let family = MetricFamily {
        name: name.to_string(),
        kind: if gauge { GAUGE_HISTOGRAM } else { HISTOGRAM },
        metric: samples
            .iter()
            .map(|s| Metric {
                label: s
                    .labels
                    .iter()
                    .map(|(name, value)| LabelPair {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                histogram: Some(histogram_message(&s.value)),
                timestamp_ms: s.timestamp_ms,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    // Writing to a Vec cannot fail.
    let _ = prost::Message::encode_length_delimited(&family, out);
}

/// Upstream's `makeNativeHistogram`, or `makeClassicHistogram` for custom buckets.
fn histogram_message(h: &model::histogram::FloatHistogram) -> Histogram {
    let spans = |spans: &[model::histogram::Span]| -> Vec<BucketSpan> {
        spans
            .iter()
            .map(|s| BucketSpan {
                offset: s.offset,
                length: s.length,
            })
            .collect()
    };
    if h.uses_custom_buckets() {
        return Histogram {
            sample_count_float: h.count,
            sample_sum: h.sum,
            bucket: classic_buckets(h)
                .into_iter()
                .map(|(upper_bound, cumulative)| Bucket {
                    cumulative_count: 0,
                    cumulative_count_float: cumulative,
                    upper_bound,
                })
                .collect(),
            ..Histogram::default()
        };
    }
    Histogram {
        sample_count_float: h.count,
        sample_sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count_float: h.zero_count,
        negative_span: spans(&h.negative_spans),
        negative_count: h.negative_buckets.clone(),
        positive_span: spans(&h.positive_spans),
        positive_count: h.positive_buckets.clone(),
        ..Histogram::default()
    }
}

/// A custom bucket histogram's classic buckets: (upper bound, cumulative count) for every
/// custom bound, the `+Inf` bucket left for the reader to add from the count.
pub fn classic_buckets(h: &model::histogram::FloatHistogram) -> Vec<(f64, f64)> {
    let mut counts = vec![0.0; h.custom_values.len()];
    let mut index: i64 = 0;
    let mut next = h.positive_buckets.iter();
    for span in &h.positive_spans {
        index += i64::from(span.offset);
        for _ in 0..span.length {
            let c = next.next().copied().unwrap_or(0.0);
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| counts.get_mut(i)) {
                *slot = c;
            }
            index += 1;
        }
    }
    let mut cumulative = 0.0;
    h.custom_values
        .iter()
        .zip(counts)
        .map(|(&le, c)| {
            cumulative += c;
            (le, cumulative)
        })
        .collect()
}

const COUNTER: i32 = 0;
const GAUGE: i32 = 1;
const SUMMARY: i32 = 2;
const UNTYPED: i32 = 3;
const HISTOGRAM: i32 = 4;
const GAUGE_HISTOGRAM: i32 = 5;

/// How much larger than the protobuf body its text may grow: a real exposition grows two
/// to four times (labels repeated on every bucket line); a hostile one (many empty
/// buckets under long labels) could grow ten thousand times.
pub const MAX_TEXT_GROWTH: usize = 16;

/// Decodes a delimited protobuf body into the Prometheus text format (1.0.0). The error
/// says which message (counted from 1) could not be read and why. The text may be at
/// most [`MAX_TEXT_GROWTH`] times the body (and at least 16 MiB).
pub fn protobuf_to_text(body: &[u8]) -> Result<String, String> {
    decode_protobuf(body, ProtobufOptions::default()).map(|(text, _)| text)
}

/// Decodes a delimited protobuf body into the text it stands for and, with native
/// histograms on, the native histogram samples (see [`protobuf_to_text`]).
pub fn decode_protobuf(
    mut body: &[u8],
    opts: ProtobufOptions,
) -> Result<(String, Vec<NativeHistogramSample>), String> {
    let max = body.len().saturating_mul(MAX_TEXT_GROWTH).max(16 << 20);
    let mut out = String::with_capacity(body.len() * 2);
    let mut natives = Vec::new();
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
        let family = <MetricFamily as prost::Message>::decode(message)
            .map_err(|e| format!("protobuf message {index}: {e}"))?;
        write_family(&mut out, &mut natives, family, max, opts)
            .map_err(|e| format!("protobuf message {index}: {e}"))?;
    }
    Ok((out, natives))
}

fn write_family(
    out: &mut String,
    natives: &mut Vec<NativeHistogramSample>,
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
    if !family.help.is_empty() {
        let _ = writeln!(
            out,
            "# HELP {} {}",
            quoted_name(name),
            escape_help(&family.help)
        );
    }
    let _ = writeln!(out, "# TYPE {} {kind}", quoted_name(name));
    let too_large = |out: &String| {
        (out.len() > max).then(|| {
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
                    let (native, labels) = if classic_too {
                        let labels = metric
                            .label
                            .iter()
                            .map(|l| (l.name.clone(), l.value.clone()))
                            .collect();
                        (h.clone(), labels)
                    } else {
                        let labels = std::mem::take(&mut metric.label)
                            .into_iter()
                            .map(|l| (l.name, l.value))
                            .collect();
                        (std::mem::take(&mut h), labels)
                    };
                    natives.push(NativeHistogramSample {
                        name: std::sync::Arc::clone(&shared_name),
                        labels,
                        timestamp_ms: (ts != 0).then_some(ts),
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

/// One sample line: `name{labels} value [timestamp]`, names quoted inside the braces
/// when they are not legacy names (text format 1.0.0).
fn sample(
    out: &mut String,
    family: &str,
    suffix: &str,
    labels: &[LabelPair],
    extra: Option<&(&str, String)>,
    value: f64,
    timestamp_ms: i64,
) {
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
                    counter: Some(Counter { value: 7.0 }),
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
                    }],
                    ..Histogram::default()
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        };
        let body = delimited(&[family]);
        // Off: the classic series only.
        let (text, natives) = decode_protobuf(&body, ProtobufOptions::default()).unwrap();
        assert!(natives.is_empty());
        assert!(
            text.contains("rpc_seconds_bucket{svc=\"a\",le=\"1.0\"} 2"),
            "{text}"
        );
        // On: the native histogram, and no classic series.
        let on = ProtobufOptions {
            native_histograms: true,
            classic_too: false,
        };
        let (text, natives) = decode_protobuf(&body, on).unwrap();
        assert_eq!(natives.len(), 1);
        assert!(!text.contains("rpc_seconds_bucket"), "{text}");
        let HistogramValue::Int(h) = &natives[0].value else {
            panic!("an integer histogram")
        };
        assert_eq!((h.count, h.zero_count, h.sum), (5, 1, 2.5));
        assert_eq!(h.positive_buckets, vec![1, 2]);
        assert_eq!(
            natives[0].labels,
            vec![("svc".to_string(), "a".to_string())]
        );
        // Both.
        let both = ProtobufOptions {
            native_histograms: true,
            classic_too: true,
        };
        let (text, natives) = decode_protobuf(&body, both).unwrap();
        assert_eq!(natives.len(), 1);
        assert!(text.contains("rpc_seconds_count{svc=\"a\"} 5"), "{text}");
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
