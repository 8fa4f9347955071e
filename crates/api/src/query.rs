//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query` and
//! `/api/v1/parse_query`: the PromQL endpoints, with Prometheus's parameters, limits,
//! JSON encoding (values as strings, `NaN`/`+Inf`, timestamps in seconds) and error types.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use model::Labels;
use promql::{QueryError, QueryOptions, Value};

use crate::{get_param, params, ApiError, Shared};

/// Most points a range query may return per series (Prometheus's limit).
const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Sets a flag when dropped: the handler's future is dropped when the client goes away,
/// which cancels the query running on a blocking thread.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Escapes a JSON string as Go's encoder does (with `<`, `>` and `&` escaped too).
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A sample value as Prometheus writes it: a JSON string, shortest decimal form, with an
/// exponent below 1e-6 and from 1e21 on.
pub(crate) fn json_float(out: &mut String, v: f64) {
    out.push('"');
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v != 0.0 && (v.abs() < 1e-6 || v.abs() >= 1e21) {
        let e = format!("{v:e}");
        let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mant}e{sign}{:02}", exp.abs());
    } else {
        let _ = write!(out, "{v}");
    }
    out.push('"');
}

/// A native histogram as Prometheus writes it (`jsonutil.MarshalHistogram`): count, sum,
/// and the non-empty buckets from the lowest, each `[boundary rule, lower, upper, count]`
/// (rule 0: `(l,u]`, 1: `[l,u)`, 2: `(l,u)`, 3: `[l,u]`).
pub(crate) fn json_histogram(out: &mut String, h: &model::histogram::FloatHistogram) {
    out.push_str("{\"count\":");
    json_float(out, h.count);
    out.push_str(",\"sum\":");
    json_float(out, h.sum);
    let mut first = true;
    for b in h.all_buckets() {
        if b.count == 0.0 {
            continue;
        }
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let rule = match (b.lower_inclusive, b.upper_inclusive) {
            (true, true) => 3,
            (true, false) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        let _ = write!(out, "[{rule},");
        json_float(out, b.lower);
        out.push(',');
        json_float(out, b.upper);
        out.push(',');
        json_float(out, b.count);
        out.push(']');
    }
    if !first {
        out.push(']');
    }
    out.push('}');
}

/// A timestamp in seconds with up to three decimals, as a JSON number.
pub(crate) fn json_time(out: &mut String, ms: i64) {
    let (sign, abs) = if ms < 0 {
        ("-", -(ms as i128))
    } else {
        ("", ms as i128)
    };
    let frac = abs % 1000;
    if frac == 0 {
        let _ = write!(out, "{sign}{}", abs / 1000);
    } else {
        let _ = write!(out, "{sign}{}.{frac:03}", abs / 1000);
    }
}

pub(crate) fn json_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, &l.name);
        out.push(':');
        json_string(out, &l.value);
    }
    out.push('}');
}

fn json_value(out: &mut String, value: &Value, limit: usize) -> bool {
    let mut truncated = false;
    out.push_str("{\"resultType\":");
    json_string(out, value.type_name());
    out.push_str(",\"result\":");
    match value {
        Value::Scalar { t, v } => {
            out.push('[');
            json_time(out, *t);
            out.push(',');
            json_float(out, *v);
            out.push(']');
        }
        Value::String { t, s } => {
            out.push('[');
            json_time(out, *t);
            out.push(',');
            json_string(out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if limit > 0 && i >= limit {
                    truncated = true;
                    break;
                }
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                json_labels(out, &s.labels);
                match &s.h {
                    Some(h) => {
                        out.push_str(",\"histogram\":[");
                        json_time(out, s.t);
                        out.push(',');
                        json_histogram(out, h);
                    }
                    None => {
                        out.push_str(",\"value\":[");
                        json_time(out, s.t);
                        out.push(',');
                        json_float(out, s.v);
                    }
                }
                out.push_str("]}");
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if limit > 0 && i >= limit {
                    truncated = true;
                    break;
                }
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                json_labels(out, &s.labels);
                // Each list only when the series has points of its kind, as upstream.
                if !s.points.is_empty() || s.histograms.is_empty() {
                    out.push_str(",\"values\":[");
                    for (j, (t, v)) in s.points.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        out.push('[');
                        json_time(out, *t);
                        out.push(',');
                        json_float(out, *v);
                        out.push(']');
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":[");
                    for (j, (t, h)) in s.histograms.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        out.push('[');
                        json_time(out, *t);
                        out.push(',');
                        json_histogram(out, h);
                        out.push(']');
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
    truncated
}

/// A duration parameter: a float number of seconds or a Prometheus duration.
fn duration_param(text: &str) -> Option<i64> {
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs.abs() < 9.2e15 {
            return Some((secs * 1000.0).round() as i64);
        }
        return None;
    }
    promconfig::PromDuration::parse(text)
        .ok()
        .and_then(|d| i64::try_from(d.0.as_millis()).ok())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct QueryRequest {
    text: String,
    expr: promql::Expr,
    start: i64,
    end: i64,
    step: i64,
    timeout: Option<Duration>,
    lookback: Option<i64>,
    limit: usize,
    stats: Option<String>,
}

fn parse_request(p: &[(String, String)], range: bool) -> Result<QueryRequest, ApiError> {
    let text = get_param(p, "query").unwrap_or("").to_string();
    let expr = promql::parse(&text)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    let (start, end, step) = if range {
        let start = crate::time_param(p, "start", i64::MIN)?;
        let end = crate::time_param(p, "end", i64::MIN)?;
        if get_param(p, "start").unwrap_or("").is_empty() {
            return Err(ApiError::bad_data(
                "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
            ));
        }
        if get_param(p, "end").unwrap_or("").is_empty() {
            return Err(ApiError::bad_data(
                "invalid parameter \"end\": cannot parse \"\" to a valid timestamp",
            ));
        }
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        let step_text = get_param(p, "step").unwrap_or("");
        let step = duration_param(step_text).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"step\": cannot parse {step_text:?} to a valid duration"
            ))
        })?;
        if step <= 0 {
            return Err(ApiError::bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > MAX_POINTS_PER_SERIES {
            return Err(ApiError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        if !matches!(
            expr.value_type(),
            promql::ValueType::Scalar | promql::ValueType::Vector
        ) {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"query\": invalid expression type {:?} for range query, must be Scalar or instant Vector",
                expr.value_type().document_name()
            )));
        }
        (start, end, step)
    } else {
        let t = crate::time_param(p, "time", now_ms())?;
        (t, t, 0)
    };
    let timeout = match get_param(p, "timeout").filter(|s| !s.is_empty()) {
        Some(t) => Some(
            duration_param(t)
                .filter(|ms| *ms > 0)
                .map(|ms| Duration::from_millis(ms as u64))
                .ok_or_else(|| {
                    ApiError::bad_data(format!(
                        "invalid parameter \"timeout\": cannot parse {t:?} to a valid duration"
                    ))
                })?,
        ),
        None => None,
    };
    let lookback = match get_param(p, "lookback_delta").filter(|s| !s.is_empty()) {
        Some(t) => Some(duration_param(t).filter(|ms| *ms > 0).ok_or_else(|| {
            ApiError::bad_data(format!(
                "error parsing lookback delta duration: cannot parse {t:?}"
            ))
        })?),
        None => None,
    };
    Ok(QueryRequest {
        text,
        expr,
        start,
        end,
        step,
        timeout,
        lookback,
        limit: crate::limit_param(p)?,
        stats: get_param(p, "stats")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

fn error_for(e: QueryError) -> ApiError {
    use promql::EvalError as E;
    match e {
        QueryError::Parse(p) => ApiError::bad_data(format!("invalid parameter \"query\": {p}")),
        QueryError::Eval(E::BadQuery(m)) => {
            ApiError::bad_data(format!("invalid parameter \"query\": {m}"))
        }
        QueryError::Eval(e @ E::Timeout) => ApiError {
            kind: "timeout",
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: e.to_string(),
        },
        // Nothing wrong with the query: it can run once the queries holding the memory end.
        QueryError::Eval(e @ E::TotalMemory(_)) => ApiError {
            kind: "unavailable",
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: e.to_string(),
        },
        QueryError::Eval(e @ E::Canceled) => ApiError {
            kind: "canceled",
            status: StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            message: e.to_string(),
        },
        QueryError::Eval(e) => ApiError {
            kind: "execution",
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: e.to_string(),
        },
    }
}

/// Who asked, for the query log's `httpRequest`.
pub(crate) struct Origin {
    pub client_ip: String,
    pub method: String,
    pub path: String,
}

impl Origin {
    fn new(
        method: &Method,
        uri: &axum::extract::OriginalUri,
        peer: Option<&webconfig::PeerAddr>,
    ) -> Self {
        Self {
            client_ip: peer.map(|p| p.0.ip().to_string()).unwrap_or_default(),
            method: method.to_string(),
            path: uri.0.path().to_string(),
        }
    }
}

/// Times and counts of one query, as the stats object and the query log report them.
struct QueryTimings {
    queue: Duration,
    eval: Duration,
    samples: u64,
    peak: u64,
}

/// Writes the query log record (`query_log_file`) of one query, as Prometheus's engine
/// logs it: params, error, stats, span and trace IDs (zero: no tracing), httpRequest.
fn log_query(
    state: &crate::ApiState,
    origin: &Origin,
    req: &QueryRequest,
    range: bool,
    error: Option<&str>,
    timings: &QueryTimings,
) {
    let Some(log) = state.query_log.current() else {
        return;
    };
    let date = |ms: i64| scrape::json_string(&model::time::format_rfc3339_ms(ms));
    let params = format!(
        "{{\"end\":{},\"query\":{},\"start\":{},\"step\":{}}}",
        date(req.end),
        scrape::json_string(&req.text),
        date(req.start),
        if range { req.step / 1000 } else { 0 }
    );
    let secs = |d: Duration| d.as_secs_f64();
    let stats = format!(
        "{{\"timings\":{{\"evalTotalTime\":{},\"resultSortTime\":0,\"queryPreparationTime\":0,\"innerEvalTime\":{},\"execQueueTime\":{},\"execTotalTime\":{}}},\"samples\":{{\"totalQueryableSamples\":{},\"peakSamples\":{}}}}}",
        secs(timings.eval),
        secs(timings.eval),
        secs(timings.queue),
        secs(timings.eval + timings.queue),
        timings.samples,
        timings.peak
    );
    let http = format!(
        "{{\"clientIP\":{},\"method\":{},\"path\":{}}}",
        scrape::json_string(&origin.client_ip),
        scrape::json_string(&origin.method),
        scrape::json_string(&origin.path)
    );
    let mut fields = vec![("params", params)];
    if let Some(e) = error {
        fields.push(("error", scrape::json_string(e)));
    }
    fields.push(("stats", stats));
    fields.push(("spanID", scrape::json_string("0000000000000000")));
    fields.push((
        "traceID",
        scrape::json_string("00000000000000000000000000000000"),
    ));
    fields.push(("httpRequest", http));
    log.write("INFO", "engine", "promql query logged", &fields);
}

async fn run(
    state: Shared,
    origin: Origin,
    method: Method,
    query: Option<String>,
    body: Bytes,
    range: bool,
) -> Response {
    let p = params(&method, query, &body);
    let req = match parse_request(&p, range) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let State(state) = state;
    let queued = Instant::now();
    // Counted while waiting and while running (until the evaluation itself ends).
    let counted = state.engine.track_query();
    // Bounded concurrency: extra queries wait (and their clients may give up).
    let Ok(permit) = state.query_slots.clone().acquire_owned().await else {
        return ApiError {
            kind: "unavailable",
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "query engine is shutting down".into(),
        }
        .into_response();
    };
    let queue_time = queued.elapsed();
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(Arc::clone(&cancel));
    let st = Arc::clone(&state);
    let started = Instant::now();
    let joined = tokio::task::spawn_blocking(move || {
        // Held by the work itself, not by this handler: a client that goes away drops
        // the handler at once, while the evaluation needs a moment to notice the
        // cancellation; the slot is free only when it has.
        let _permit = permit;
        let _counted = counted;
        let opts = QueryOptions {
            lookback_delta_ms: req.lookback,
            timeout: req.timeout,
            cancel: Some(&cancel),
        };
        let storage = remote::read::Fanout {
            local: Arc::clone(&st.db),
            remote: Arc::clone(&st.remote_read),
        };
        let result = st
            .engine
            .exec(
                &storage, &req.expr, &req.text, req.start, req.end, req.step, &opts,
            )
            .map_err(QueryError::from);
        (req, result)
    })
    .await;
    let (req, result) = match joined {
        Ok(x) => x,
        Err(e) => {
            return ApiError {
                kind: "internal",
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!("query failed: {e}"),
            }
            .into_response()
        }
    };
    let eval_time = started.elapsed();
    let timings = QueryTimings {
        queue: queue_time,
        eval: eval_time,
        samples: result.as_ref().map(|r| r.stats.samples_loaded).unwrap_or(0),
        peak: result.as_ref().map(|r| r.stats.peak_samples).unwrap_or(0),
    };
    let result = match result {
        Ok(r) => {
            log_query(&state, &origin, &req, range, None, &timings);
            r
        }
        Err(e) => {
            let error = error_for(e);
            log_query(&state, &origin, &req, range, Some(&error.message), &timings);
            return error.into_response();
        }
    };
    let mut out = String::with_capacity(256);
    out.push_str("{\"status\":\"success\",\"data\":");
    let mut data = String::new();
    let truncated = json_value(&mut data, &result.value, req.limit);
    if let Some(stats) = &req.stats {
        // Insert the stats object before the closing brace of `data`.
        data.pop();
        let secs = |d: Duration| d.as_secs_f64();
        let _ = write!(
            data,
            ",\"stats\":{{\"timings\":{{\"evalTotalTime\":{},\"resultSortTime\":0,\"queryPreparationTime\":0,\"innerEvalTime\":{},\"execQueueTime\":{},\"execTotalTime\":{}}},\"samples\":{{\"totalQueryableSamples\":{},\"samplesRead\":{},\"peakSamples\":{}}}}}}}",
            secs(eval_time),
            secs(eval_time),
            secs(queue_time),
            secs(eval_time + queue_time),
            result.stats.samples_loaded,
            result.stats.samples_loaded,
            result.stats.peak_samples
        );
        let _ = stats;
    }
    out.push_str(&data);
    let mut warnings: Vec<String> = Vec::new();
    let mut infos: Vec<String> = Vec::new();
    for a in &result.annotations {
        let text = a.text_with_position(&req.text);
        match a.kind {
            promql::AnnotationKind::Warning => warnings.push(text),
            promql::AnnotationKind::Info => infos.push(text),
        }
    }
    if truncated {
        warnings.push("results truncated due to limit".into());
    }
    if let Some(s) = &req.stats {
        if s != "true" && s != "all" {
            warnings.push(format!(
                "value {s:?} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
            ));
        }
    }
    for (key, list, what) in [("warnings", warnings, "warning"), ("infos", infos, "info")] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, ",\"{key}\":[");
        for (i, w) in list.iter().take(10).enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(&mut out, w);
        }
        if list.len() > 10 {
            out.push(',');
            json_string(
                &mut out,
                &format!("{} more {what} annotations omitted", list.len() - 10),
            );
        }
        out.push(']');
    }
    out.push('}');
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

/// `/api/v1/query`.
pub(crate) async fn instant(
    state: Shared,
    method: Method,
    uri: axum::extract::OriginalUri,
    peer: Option<axum::Extension<webconfig::PeerAddr>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let origin = Origin::new(&method, &uri, peer.as_deref());
    run(state, origin, method, q, body, false).await
}

/// `/api/v1/query_range`.
pub(crate) async fn range(
    state: Shared,
    method: Method,
    uri: axum::extract::OriginalUri,
    peer: Option<axum::Extension<webconfig::PeerAddr>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let origin = Origin::new(&method, &uri, peer.as_deref());
    run(state, origin, method, q, body, true).await
}

/// `/api/v1/format_query`.
pub(crate) async fn format_query(method: Method, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let p = params(&method, q, &body);
    let text = get_param(&p, "query").unwrap_or("");
    match promql::parse(text) {
        Ok(expr) => {
            let mut out = String::from("{\"status\":\"success\",\"data\":");
            json_string(&mut out, &promql::prettify(&expr));
            out.push('}');
            ([(header::CONTENT_TYPE, "application/json")], out).into_response()
        }
        Err(e) => ApiError::bad_data(format!("invalid parameter \"query\": {e}")).into_response(),
    }
}

/// `/api/v1/parse_query`: the syntax tree as JSON (for the UI's tree view).
pub(crate) async fn parse_query(method: Method, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let p = params(&method, q, &body);
    let text = get_param(&p, "query").unwrap_or("");
    match promql::parse(text) {
        Ok(expr) => {
            let tree = crate::tree::to_json(&expr);
            let body = serde_json::json!({"status": "success", "data": tree});
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(e) => ApiError::bad_data(format!("invalid parameter \"query\": {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_and_times_as_prometheus_writes_them() {
        let f = |v: f64| {
            let mut s = String::new();
            json_float(&mut s, v);
            s
        };
        assert_eq!(f(1.0), "\"1\"");
        assert_eq!(f(0.1), "\"0.1\"");
        assert_eq!(f(1e-7), "\"1e-07\"");
        assert_eq!(f(1.5e21), "\"1.5e+21\"");
        assert_eq!(f(123456789.0), "\"123456789\"");
        assert_eq!(f(f64::NAN), "\"NaN\"");
        assert_eq!(f(f64::NEG_INFINITY), "\"-Inf\"");
        let t = |ms: i64| {
            let mut s = String::new();
            json_time(&mut s, ms);
            s
        };
        assert_eq!(t(1_435_781_451_781), "1435781451.781");
        assert_eq!(t(1_500), "1.500");
        assert_eq!(t(2_000), "2");
        assert_eq!(t(-1_500), "-1.500");
        let mut s = String::new();
        json_string(&mut s, "a<b>&\"c\"\n");
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\\"c\\\"\\n\"");
    }
}
