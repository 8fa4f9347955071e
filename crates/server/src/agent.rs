//! Agent mode's web side: what Prometheus's agent does not serve. The query API, labels
//! and series, rules and alerts, TSDB status and the admin API answer 422
//! `unavailable with Prometheus Agent` (upstream's `wrapAgent`); federation and remote
//! read, which read local storage, answer 500 as upstream's WAL-only storage does.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// API paths (under the route prefix) upstream wraps with `wrapAgent`.
fn unavailable(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/query_exemplars",
        "/api/v1/format_query",
        "/api/v1/parse_query",
        "/api/v1/labels",
        "/api/v1/series",
        "/api/v1/alertmanagers",
        "/api/v1/status/tsdb",
        "/api/v1/status/tsdb/blocks",
        "/api/v1/alerts",
        "/api/v1/rules",
    ];
    EXACT.contains(&path)
        || path.starts_with("/api/v1/admin/")
        || (path.starts_with("/api/v1/label/") && path.ends_with("/values"))
}

/// Refuses what an agent does not serve; `prefix` is the route prefix.
pub async fn refuse_unavailable(prefix: String, request: Request, next: Next) -> Response {
    let path = request
        .uri()
        .path()
        .strip_prefix(prefix.as_str())
        .unwrap_or(request.uri().path())
        .to_string();
    if unavailable(&path) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"error","errorType":"execution","error":"unavailable with Prometheus Agent"}"#,
        )
            .into_response();
    }
    if path == "/federate" || path == "/api/v1/read" {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "unsupported operation with WAL-only storage\n",
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_side_is_unavailable_and_the_rest_is_served() {
        for p in [
            "/api/v1/query",
            "/api/v1/label/job/values",
            "/api/v1/admin/tsdb/snapshot",
            "/api/v1/rules",
        ] {
            assert!(unavailable(p), "{p}");
        }
        for p in [
            "/api/v1/targets",
            "/api/v1/metadata",
            "/api/v1/status/config",
            "/api/v1/write",
            "/metrics",
        ] {
            assert!(!unavailable(p), "{p}");
        }
    }
}
