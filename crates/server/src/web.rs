//! The HTTP endpoints: telemetry, health, lifecycle, status API and the UI entry points.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::flags::Flags;
use crate::metrics::ServerMetrics;

/// What the handlers share.
pub struct AppState {
    pub flags: Flags,
    pub metrics: Arc<ServerMetrics>,
    pub started: SystemTime,
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub web_config: webconfig::WebConfigHandle,
    pub config: Arc<crate::reload::ConfigState>,
    pub rules: Arc<crate::rule_manager::RuleManager>,
    pub db: Arc<tsdb::Db>,
    /// One permit per remote read request allowed to run at once
    /// (`--storage.remote.read-concurrent-limit`).
    pub remote_read_slots: Arc<tokio::sync::Semaphore>,
    /// The remote-write queues, for their status.
    pub remote_write: Arc<remote::WriteStorage>,
}

type Shared = State<Arc<AppState>>;

/// All routes, under the route prefix.
pub fn router(state: Arc<AppState>, api: Router) -> Router {
    let prefix = state.flags.route_prefix();
    let routes = api
        .merge(
            Router::new()
                .route("/", get(root_redirect))
                .route("/metrics", get(metrics))
                .route("/-/healthy", get(healthy))
                .route("/-/ready", get(ready))
                .route("/-/reload", post(reload).put(reload))
                .route("/-/quit", post(quit).put(quit))
                .route("/federate", get(crate::federate::federate))
                .route(
                    "/api/v1/write",
                    post(crate::remote_write::write).layer(axum::extract::DefaultBodyLimit::max(
                        crate::remote_write::MAX_BODY_BYTES,
                    )),
                )
                .route(
                    "/api/v1/otlp/v1/metrics",
                    post(crate::otlp::write).layer(axum::extract::DefaultBodyLimit::max(
                        crate::otlp::MAX_BODY_BYTES,
                    )),
                )
                .route(
                    "/api/v1/read",
                    post(crate::remote_read::read).layer(axum::extract::DefaultBodyLimit::max(
                        remote::read::codec::MAX_READ_REQUEST_BYTES,
                    )),
                )
                .route("/api/v1/rules", get(crate::rules_api::rules))
                .route("/api/v1/alerts", get(crate::rules_api::alerts))
                .route(
                    "/api/v1/alertmanagers",
                    get(crate::rules_api::alertmanagers),
                )
                .route("/api/v1/status/buildinfo", get(buildinfo))
                .route(
                    "/api/v1/status/remote_write",
                    get(crate::remote_metrics::status),
                )
                .route("/api/v1/status/flags", get(flags))
                .route("/api/v1/status/runtimeinfo", get(runtimeinfo))
                .route("/api/v1/status/config", get(status_config))
                .route("/assets/{*file}", get(crate::ui::asset))
                .with_state(Arc::clone(&state)),
        )
        .fallback(not_found);
    let routes = crate::ui::PAGES.iter().fold(routes, |r, page| {
        r.route(page, get(crate::ui::page).with_state(Arc::clone(&state)))
    });
    let app = if prefix.is_empty() {
        routes
    } else {
        let target = format!("{prefix}/");
        let query = format!("{prefix}/query");
        Router::new()
            .route("/", get(move || async move { found(&target) }))
            .route(
                &format!("{prefix}/"),
                get(move || async move { found(&query) }),
            )
            .nest(&prefix, routes)
            .fallback(not_found)
    };
    let app = if state.flags.agent() {
        let prefix = prefix.clone();
        app.layer(axum::middleware::from_fn(move |request, next| {
            crate::agent::refuse_unavailable(prefix.clone(), request, next)
        }))
    } else {
        app
    };
    app.layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

/// A `302 Found` redirect, as Go's `http.Redirect` with `StatusFound` sends.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn root_redirect(State(state): Shared) -> Response {
    found(&format!("{}/query", state.flags.route_prefix()))
}

/// Prometheus's exposition format, or OpenMetrics when the scraper asks for it.
async fn metrics(State(state): Shared, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let openmetrics = accept.contains("application/openmetrics-text");
    match state.metrics.encode(openmetrics) {
        Ok(body) => {
            let content_type = if openmetrics {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            } else {
                "text/plain; version=0.0.4; charset=utf-8"
            };
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
                body,
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "error encoding metrics\n",
        )
            .into_response(),
    }
}

async fn healthy() -> &'static str {
    "Prometheus Server is Healthy.\n"
}

/// Ready, unless storage appends are failing (a full disk): scraped samples are then not
/// being stored, and a load balancer or orchestrator should know.
async fn ready(State(state): Shared) -> Response {
    match state.metrics.storage.append_failure() {
        None => "Prometheus Server is Ready.\n".into_response(),
        Some(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Service Unavailable: storage appends are failing: {e}\n"),
        )
            .into_response(),
    }
}

async fn reload(State(state): Shared) -> Response {
    if !state.flags.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
    }
    // The web config reloads by itself once a change has settled; a file that cannot be
    // used is reported here as upstream's reload reports a bad prometheus.yml (the
    // previous web config stays in force meanwhile).
    let _ = state.web_config.current();
    let web = match state.web_config.last_reload_error() {
        Some(e) => Err(e),
        None => Ok(()),
    };
    let config = state.config.reload();
    match (config, web) {
        (Ok(()), Ok(_)) => StatusCode::OK.into_response(),
        (Err(e), _) | (_, Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

async fn quit(State(state): Shared) -> Response {
    if !state.flags.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
    }
    let _ = state.shutdown.send(true);
    (StatusCode::OK, "Requesting termination... Goodbye!\n").into_response()
}

fn success(data: Value) -> Json<Value> {
    Json(json!({"status": "success", "data": data}))
}

async fn buildinfo() -> Json<Value> {
    use crate::build::*;
    success(json!({
        "version": VERSION,
        "revision": REVISION,
        "branch": BRANCH,
        "buildUser": BUILD_USER,
        "buildDate": BUILD_DATE,
        "goVersion": RUSTC_VERSION,
    }))
}

async fn status_config(State(state): Shared) -> Json<Value> {
    success(json!({"yaml": state.config.current().to_yaml()}))
}

async fn flags(State(state): Shared) -> Json<Value> {
    success(json!(state.flags.as_map()))
}

async fn runtimeinfo(State(state): Shared) -> Json<Value> {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let threads = procfs::process::Process::myself()
        .and_then(|p| p.stat())
        .map(|s| s.num_threads)
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (reload_ok, last_config) = state.config.outcome();
    let (time, bytes) = state.config.retention();
    let retention = crate::flags::retention_text(time, bytes);
    success(json!({
        "startTime": crate::rfc3339(state.started),
        "CWD": cwd,
        "hostname": hostname,
        "serverTime": crate::rfc3339(SystemTime::now()),
        "reloadConfigSuccess": reload_ok,
        "lastConfigTime": crate::rfc3339(last_config),
        "corruptionCount": 0,
        "goroutineCount": threads,
        "GOMAXPROCS": cores,
        "GOMEMLIMIT": i64::MAX,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": retention,
    }))
}
