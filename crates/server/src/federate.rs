//! `GET /federate` as Prometheus serves it (web/federate.go): the latest sample of every
//! series matching a `match[]` selector within the lookback delta, staleness markers left
//! out, grouped by metric name as untyped families, with the external labels (and an empty
//! `instance`) added where the series lacks them; in the text format or, when the client
//! asks for it, the delimited protobuf exposition.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// The latest sample in `[mint, maxt]` of every series any of the selectors matches (each
/// series once), staleness markers left out: the exposition formats cannot carry them; and
/// the storage's warnings (blocks whose data is missing from the answer).
fn latest_samples(
    db: &tsdb::Db,
    matcher_sets: &[Vec<model::Matcher>],
    mint: i64,
    maxt: i64,
) -> (Vec<(Labels, i64, f64)>, Vec<String>) {
    let mut latest: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
    let mut warnings = Vec::new();
    for matchers in matcher_sets {
        let (selected, warned) = db.select_last_with_warnings(matchers, mint, maxt);
        warnings.extend(warned);
        for series in selected {
            if let Some(&(t, v)) = series.samples.last() {
                latest.insert(series.labels, (t, v));
            }
        }
    }
    let mut out: Vec<_> = latest
        .into_iter()
        .filter(|(_, (_, v))| !model::is_stale_nan(*v))
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
    samples: &[(Labels, i64, f64)],
    external: &BTreeMap<String, String>,
    format: Format,
) -> Vec<u8> {
    let mut external = external.clone();
    external.entry("instance".into()).or_default();
    let mut text = String::new();
    let mut proto = Vec::new();
    let mut family: Option<(String, Vec<exposition::UntypedSample>)> = None;
    let flush = |family: Option<(String, Vec<exposition::UntypedSample>)>,
                 text: &mut String,
                 proto: &mut Vec<u8>| {
        let Some((name, samples)) = family else {
            return;
        };
        match format {
            Format::Text => write_text_family(text, &name, &samples),
            Format::ProtoDelimited => exposition::encode_untyped_family(proto, &name, &samples),
        }
    };
    for (series, t, v) in samples {
        let Some(name) = series.get("__name__").filter(|n| !n.is_empty()) else {
            tracing::warn!(metric = %series, "Ignoring nameless metric during federation");
            continue;
        };
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
        let sample = exposition::UntypedSample {
            labels,
            value: *v,
            timestamp_ms: *t,
        };
        match &mut family {
            Some((current, list)) if current == name => list.push(sample),
            _ => {
                flush(family.take(), &mut text, &mut proto);
                family = Some((name.to_string(), vec![sample]));
            }
        }
    }
    flush(family.take(), &mut text, &mut proto);
    match format {
        Format::Text => text.into_bytes(),
        Format::ProtoDelimited => proto,
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
            (l(&[("__name__", "a"), ("job", "j")]), 1000, 1.5),
            (
                l(&[("__name__", "a"), ("instance", "h:1"), ("job", "j")]),
                2000,
                2.0,
            ),
            (l(&[("__name__", "b"), ("zone", "")]), 3000, f64::INFINITY),
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
}
