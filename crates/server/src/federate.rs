//! `GET /federate` as Prometheus serves it (web/federate.go): the latest sample of every
//! series matching a `match[]` selector within the lookback delta, staleness markers left
//! out, grouped by metric name as untyped families, with the external labels (and an empty
//! `instance`) added where the series lacks them; in the text format or, when the client
//! asks for it, the delimited protobuf exposition. Native histograms go out as histogram
//! (or gauge histogram) families: in protobuf with their native buckets, and those with
//! custom buckets (NHCB) as classic histograms in either format; the text format cannot
//! carry other native histograms, so they are left out of it, as upstream does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use model::histogram::{CounterResetHint, FloatHistogram};
use model::Labels;

use crate::web::AppState;

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const PROTO_DELIMITED: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The exposition format of the answer, as client_golang's `expfmt.Negotiate` picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    ProtoDelimited,
}

pub async fn federate(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut matcher_sets = Vec::new();
    for (k, text) in crate::rules_api::params(query) {
        if k != "match[]" {
            continue;
        }
        match promql::parse_selector(&text) {
            Ok(m) => matcher_sets.push(m),
            Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        }
    }
    let format = negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let now = crate::now_ms();
    let lookback = state.flags.query_lookback_delta.as_millis() as i64;
    let external = state.config.current().global.external_labels.clone();
    let db = Arc::clone(&state.db);
    let warnings = state.metrics.federation_warnings.clone();
    // Reading the head and blocks is blocking work.
    let body = tokio::task::spawn_blocking(move || {
        let (latest, warned) = latest_samples(&db, &matcher_sets, now - lookback, now);
        if !warned.is_empty() {
            tracing::debug!(warnings = ?warned, "Federation select returned warnings");
            warnings.inc_by(warned.len() as u64);
        }
        encode(&latest, &external, format)
    })
    .await;
    match body {
        Ok(body) => {
            let content_type = match format {
                Format::Text => TEXT,
                Format::ProtoDelimited => PROTO_DELIMITED,
            };
            let mut response = body.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(e) => {
            state.metrics.federation_errors.inc();
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

/// A federated sample's value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Float(f64),
    Histogram(FloatHistogram),
}

impl Value {
    fn is_stale(&self) -> bool {
        match self {
            Value::Float(v) => model::is_stale_nan(*v),
            Value::Histogram(h) => model::is_stale_nan(h.sum),
        }
    }

    /// The family kind it belongs to: untyped, histogram or gauge histogram.
    fn kind(&self) -> FamilyKind {
        match self {
            Value::Float(_) => FamilyKind::Untyped,
            Value::Histogram(h) if h.counter_reset_hint == CounterResetHint::Gauge => {
                FamilyKind::GaugeHistogram
            }
            Value::Histogram(_) => FamilyKind::Histogram,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FamilyKind {
    Untyped,
    Histogram,
    GaugeHistogram,
}

/// The latest sample in `[mint, maxt]` of every series any of the selectors matches (each
/// series once), staleness markers left out: the exposition formats cannot carry them; and
/// the storage's warnings (blocks whose data is missing from the answer).
fn latest_samples(
    db: &tsdb::Db,
    matcher_sets: &[Vec<model::Matcher>],
    mint: i64,
    maxt: i64,
) -> (Vec<(Labels, i64, Value)>, Vec<String>) {
    let mut latest: BTreeMap<Labels, (i64, Value)> = BTreeMap::new();
    let mut warnings = Vec::new();
    for matchers in matcher_sets {
        let (selected, warned) = db.select_last_with_warnings(matchers, mint, maxt);
        warnings.extend(warned);
        for series in selected {
            let float = series.samples.last().map(|&(t, v)| (t, Value::Float(v)));
            let hist = series
                .histograms
                .last()
                .map(|(t, h)| (*t, Value::Histogram(h.clone())));
            let newest = match (float, hist) {
                (Some(f), Some(h)) => Some(if h.0 > f.0 { h } else { f }),
                (f, h) => f.or(h),
            };
            if let Some(newest) = newest {
                latest.insert(series.labels, newest);
            }
        }
    }
    let mut out: Vec<_> = latest
        .into_iter()
        .filter(|(_, (_, v))| !v.is_stale())
        .map(|(l, (t, v))| (l, t, v))
        .collect();
    // By metric name only (the series of a name stay in label order).
    out.sort_by(|a, b| a.0.get("__name__").cmp(&b.0.get("__name__")));
    (out, warnings)
}

/// The families of `samples` (sorted by name) in `format`. A series's labels keep their
/// order, without the name and empty values; then every external label it does not have,
/// by name, `instance` among them (empty unless an external label sets it), as upstream.
fn encode(
    samples: &[(Labels, i64, Value)],
    external: &BTreeMap<String, String>,
    format: Format,
) -> Vec<u8> {
    let mut external = external.clone();
    external.entry("instance".into()).or_default();
    let mut text = String::new();
    let mut proto = Vec::new();
    // A new family starts where the name or the kind changes (upstream bends the
    // exposition rules the same way: Prometheus reads repeated names fine).
    let mut family: Option<Family> = None;
    let flush = |family: Option<Family>, text: &mut String, proto: &mut Vec<u8>| {
        let Some(family) = family else {
            return;
        };
        match (format, family.samples) {
            (Format::Text, Samples::Untyped(s)) => write_text_family(text, &family.name, &s),
            (Format::ProtoDelimited, Samples::Untyped(s)) => {
                exposition::encode_untyped_family(proto, &family.name, &s)
            }
            (Format::Text, Samples::Histogram(s)) => {
                write_text_histograms(text, &family.name, family.kind, &s)
            }
            (Format::ProtoDelimited, Samples::Histogram(s)) => exposition::encode_histogram_family(
                proto,
                &family.name,
                family.kind == FamilyKind::GaugeHistogram,
                &s,
            ),
        }
    };
    for (series, t, v) in samples {
        let Some(name) = series.get("__name__").filter(|n| !n.is_empty()) else {
            tracing::warn!(metric = %series, "Ignoring nameless metric during federation");
            continue;
        };
        if let Value::Histogram(h) = v {
            if format == Format::Text && !h.uses_custom_buckets() {
                // The text format has no native buckets.
                continue;
            }
        }
        let mut labels: Vec<(String, String)> = series
            .iter()
            .filter(|l| l.name != "__name__" && !l.value.is_empty())
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        for (k, v) in &external {
            if !labels.iter().any(|(name, _)| name == k) {
                labels.push((k.clone(), v.clone()));
            }
        }
        let kind = v.kind();
        let same = family
            .as_ref()
            .is_some_and(|f| f.name == name && f.kind == kind);
        if !same {
            flush(family.take(), &mut text, &mut proto);
            family = Some(Family {
                name: name.to_string(),
                kind,
                samples: match kind {
                    FamilyKind::Untyped => Samples::Untyped(Vec::new()),
                    _ => Samples::Histogram(Vec::new()),
                },
            });
        }
        match (family.as_mut().map(|f| &mut f.samples), v) {
            (Some(Samples::Untyped(list)), Value::Float(v)) => {
                list.push(exposition::UntypedSample {
                    labels,
                    value: *v,
                    timestamp_ms: *t,
                })
            }
            (Some(Samples::Histogram(list)), Value::Histogram(h)) => {
                list.push(exposition::HistogramFamilySample {
                    labels,
                    value: h.clone(),
                    timestamp_ms: *t,
                })
            }
            _ => {}
        }
    }
    flush(family.take(), &mut text, &mut proto);
    match format {
        Format::Text => text.into_bytes(),
        Format::ProtoDelimited => proto,
    }
}

/// A family being gathered.
struct Family {
    name: String,
    kind: FamilyKind,
    samples: Samples,
}

enum Samples {
    Untyped(Vec<exposition::UntypedSample>),
    Histogram(Vec<exposition::HistogramFamilySample>),
}

/// Custom bucket histograms in the text format 0.0.4 as expfmt writes classic histograms:
/// a `_bucket` line per bound and `+Inf`, then `_sum` and `_count`.
fn write_text_histograms(
    out: &mut String,
    name: &str,
    kind: FamilyKind,
    samples: &[exposition::HistogramFamilySample],
) {
    use std::fmt::Write;
    let kind = if kind == FamilyKind::GaugeHistogram {
        "gaugehistogram"
    } else {
        "histogram"
    };
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let line = |out: &mut String,
                suffix: &str,
                labels: &[(String, String)],
                le: Option<f64>,
                v: f64,
                t: i64| {
        out.push_str(name);
        out.push_str(suffix);
        let le = le.map(|b| ("le".to_string(), expfmt_float(b)));
        let all: Vec<&(String, String)> = labels.iter().chain(le.iter()).collect();
        if !all.is_empty() {
            out.push('{');
            for (i, (k, v)) in all.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", crate::metrics::escape(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {} {t}", expfmt_float(v));
    };
    for s in samples {
        let h = &s.value;
        for (le, cumulative) in exposition::classic_buckets(h) {
            line(
                out,
                "_bucket",
                &s.labels,
                Some(le),
                cumulative,
                s.timestamp_ms,
            );
        }
        line(
            out,
            "_bucket",
            &s.labels,
            Some(f64::INFINITY),
            h.count,
            s.timestamp_ms,
        );
        line(out, "_sum", &s.labels, None, h.sum, s.timestamp_ms);
        line(out, "_count", &s.labels, None, h.count, s.timestamp_ms);
    }
}

/// One family in the text format 0.0.4 as expfmt writes an untyped family without help.
fn write_text_family(out: &mut String, name: &str, samples: &[exposition::UntypedSample]) {
    use std::fmt::Write;
    let _ = writeln!(out, "# TYPE {name} untyped");
    for s in samples {
        out.push_str(name);
        if !s.labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in s.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", crate::metrics::escape(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {} {}", expfmt_float(s.value), s.timestamp_ms);
    }
}

/// expfmt's `writeFloat`: `1`, `0` (also for -0), `-1`, `NaN`, `+Inf`, `-Inf`, else Go's
/// shortest `%g`.
fn expfmt_float(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    model::float::format_go_g(v)
}

/// client_golang's `expfmt.Negotiate`: the first acceptable type by quality (more specific
/// first among equals): the delimited protobuf exposition, or text 0.0.4; text otherwise.
/// (Prometheus also offers protobuf's text forms, which only Go tools read; they are
/// answered with the text format here.)
fn negotiate(accept: &str) -> Format {
    let mut entries: Vec<(f64, Format)> = Vec::new();
    for part in accept.split(',') {
        let mut pieces = part.split(';').map(str::trim);
        let media = pieces.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0;
        let mut params = BTreeMap::new();
        for p in pieces {
            if let Some((k, v)) = p.split_once('=') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse().unwrap_or(0.0);
                } else {
                    params.insert(k, v.to_string());
                }
            }
        }
        let format = if media == "application/vnd.google.protobuf"
            && params.get("proto").map(String::as_str) == Some("io.prometheus.client.MetricFamily")
            && params.get("encoding").map(String::as_str) == Some("delimited")
        {
            Some(Format::ProtoDelimited)
        } else if media == "text/plain"
            && matches!(
                params.get("version").map(String::as_str),
                None | Some("0.0.4")
            )
        {
            Some(Format::Text)
        } else {
            None
        };
        if let Some(f) = format {
            entries.push((q, f));
        }
    }
    // Highest quality first; among equals, the order of the header (a stable sort). Only
    // concrete types match, so goautoneg's preference for specific types changes nothing.
    entries.sort_by(|a, b| b.0.total_cmp(&a.0));
    entries
        .into_iter()
        .find(|(q, _)| *q > 0.0)
        .map_or(Format::Text, |(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_expfmt() {
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("text/plain"), Format::Text);
        assert_eq!(negotiate(PROTO_DELIMITED), Format::ProtoDelimited);
        // Prometheus 2.42's scrape Accept header: protobuf is not in it.
        assert_eq!(
            negotiate("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Format::Text
        );
        // Prometheus 3.x with scrape_protocols preferring protobuf.
        assert_eq!(
            negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3"),
            Format::ProtoDelimited
        );
        assert_eq!(
            negotiate("text/plain;version=0.0.4;q=0.9,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5"),
            Format::Text
        );
    }

    #[test]
    fn families_carry_external_labels_and_an_empty_instance() {
        let l = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs.iter().copied());
        let samples = vec![
            (
                l(&[("__name__", "a"), ("job", "j")]),
                1000,
                Value::Float(1.5),
            ),
            (
                l(&[("__name__", "a"), ("instance", "h:1"), ("job", "j")]),
                2000,
                Value::Float(2.0),
            ),
            (
                l(&[("__name__", "b"), ("zone", "")]),
                3000,
                Value::Float(f64::INFINITY),
            ),
        ];
        let external = BTreeMap::from([("dc".to_string(), "x\"y".to_string())]);
        let text = String::from_utf8(encode(&samples, &external, Format::Text)).unwrap();
        assert_eq!(
            text,
            "# TYPE a untyped\n\
             a{job=\"j\",dc=\"x\\\"y\",instance=\"\"} 1.5 1000\n\
             a{instance=\"h:1\",job=\"j\",dc=\"x\\\"y\"} 2 2000\n\
             # TYPE b untyped\n\
             b{dc=\"x\\\"y\",instance=\"\"} +Inf 3000\n"
        );
        // The same in the protobuf exposition reads back as the same samples.
        let proto = encode(&samples, &external, Format::ProtoDelimited);
        let back = exposition::protobuf_to_text(&proto).unwrap();
        assert!(
            back.contains("a{job=\"j\",dc=\"x\\\"y\",instance=\"\"} 1.5 1000"),
            "{back}"
        );
        assert!(
            back.contains("b{dc=\"x\\\"y\",instance=\"\"} +Inf 3000"),
            "{back}"
        );
    }

    #[test]
    fn histograms_go_out_as_histogram_families() {
        use model::histogram::Span;
        let l = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs.iter().copied());
        let native = FloatHistogram {
            schema: 1,
            count: 5.0,
            sum: 9.5,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![Span::new(0, 2)],
            positive_buckets: vec![3.0, 1.0],
            ..FloatHistogram::default()
        };
        let gauge = FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            ..native.clone()
        };
        let nhcb = FloatHistogram {
            schema: model::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 6.0,
            sum: 3.0,
            positive_spans: vec![Span::new(0, 1), Span::new(1, 1)],
            positive_buckets: vec![2.0, 4.0],
            custom_values: vec![0.5, 1.0, 2.0],
            ..FloatHistogram::default()
        };
        let samples = vec![
            (
                l(&[("__name__", "c"), ("job", "j")]),
                1000,
                Value::Float(1.0),
            ),
            (
                l(&[("__name__", "h"), ("job", "j")]),
                2000,
                Value::Histogram(native.clone()),
            ),
            (
                l(&[("__name__", "h"), ("job", "k")]),
                2000,
                Value::Histogram(gauge),
            ),
            (
                l(&[("__name__", "n"), ("job", "j")]),
                3000,
                Value::Histogram(nhcb),
            ),
        ];
        let external = BTreeMap::new();
        // Text: the native histograms are left out, the NHCB is a classic histogram.
        let text = String::from_utf8(encode(&samples, &external, Format::Text)).unwrap();
        assert_eq!(
            text,
            "# TYPE c untyped\n\
             c{job=\"j\",instance=\"\"} 1 1000\n\
             # TYPE n histogram\n\
             n_bucket{job=\"j\",instance=\"\",le=\"0.5\"} 2 3000\n\
             n_bucket{job=\"j\",instance=\"\",le=\"1\"} 2 3000\n\
             n_bucket{job=\"j\",instance=\"\",le=\"2\"} 6 3000\n\
             n_bucket{job=\"j\",instance=\"\",le=\"+Inf\"} 6 3000\n\
             n_sum{job=\"j\",instance=\"\"} 3 3000\n\
             n_count{job=\"j\",instance=\"\"} 6 3000\n"
        );
        // Protobuf: native buckets, a counter and a gauge family, read back as they were.
        let proto = encode(&samples, &external, Format::ProtoDelimited);
        let opts = exposition::ProtobufOptions {
            native_histograms: true,
            classic_too: false,
            ..exposition::ProtobufOptions::default()
        };
        let exposition::DecodedProtobuf {
            text: back,
            histograms: natives,
            ..
        } = exposition::decode_protobuf(&proto, opts).unwrap();
        assert_eq!(natives.len(), 2, "{natives:?}");
        let model::histogram::HistogramValue::Float(got) = &natives[0].value else {
            panic!("float counts")
        };
        assert_eq!(got, &native);
        let model::histogram::HistogramValue::Float(got) = &natives[1].value else {
            panic!("float counts")
        };
        assert_eq!(got.counter_reset_hint, CounterResetHint::Gauge);
        assert_eq!(natives[0].timestamp_ms, Some(2000));
        assert!(
            back.contains("n_bucket{job=\"j\",instance=\"\",le=\"2.0\"} 6 3000"),
            "{back}"
        );
        assert!(back.contains("c{job=\"j\",instance=\"\"} 1 1000"), "{back}");
    }
}
