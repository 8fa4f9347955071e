//! `/api/v1/query_exemplars`: the exemplars of the series an expression selects, between
//! `start` and `end`, as Prometheus answers (series sorted by labels, exemplars oldest
//! first; 204 No Content for an expression without selectors, as Prometheus answers an
//! endpoint that has no data).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};

use crate::query::{json_float, json_labels, json_time};
use crate::{get_param, params, time_param, ApiError, ApiState};

pub(crate) async fn query_exemplars(
    State(state): State<Arc<ApiState>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(&method, query, &body);
    answer(&state, &p).unwrap_or_else(IntoResponse::into_response)
}

fn answer(state: &ApiState, p: &[(String, String)]) -> Result<Response, ApiError> {
    let start = time_param(p, "start", model::time::MIN_TIME_MS)?;
    let end = time_param(p, "end", model::time::MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    let expr = promql::parse(get_param(p, "query").unwrap_or(""))
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    let matcher_sets: Vec<Vec<model::Matcher>> = promql::vector_selectors(&expr)
        .into_iter()
        .map(|s| s.matchers.clone())
        .collect();
    if matcher_sets.is_empty() {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let mut body = String::from("{\"status\":\"success\",\"data\":");
    body.push('[');
    for (i, series) in state
        .db
        .select_exemplars(start, end, &matcher_sets)
        .iter()
        .enumerate()
    {
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"seriesLabels\":");
        json_labels(&mut body, &series.series);
        body.push_str(",\"exemplars\":[");
        for (j, e) in series.exemplars.iter().enumerate() {
            if j > 0 {
                body.push(',');
            }
            body.push_str("{\"labels\":");
            json_labels(&mut body, &e.labels);
            body.push_str(",\"value\":");
            json_float(&mut body, e.value);
            body.push_str(",\"timestamp\":");
            json_time(&mut body, e.timestamp_ms);
            body.push('}');
        }
        body.push_str("]}");
    }
    body.push(']');
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
