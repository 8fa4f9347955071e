//! The Prometheus HTTP API v1 endpoints over storage, the PromQL engine and scraping:
//! `query`, `query_range`, `format_query`, `parse_query`, `series`, `labels`,
//! `label/<name>/values`, `query_exemplars`, `targets`, `scrape_pools`, metadata and status, with
//! Prometheus's JSON envelope and error types.

mod exemplars;
mod form;
mod query;
mod tree;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use model::{Labels, Matcher};
use serde_json::{json, Map, Value};

/// What the endpoints read.
pub struct ApiState {
    pub db: Arc<tsdb::Db>,
    pub scrape: Arc<scrape::Manager>,
    pub engine: promql::Engine,
    /// One permit per query allowed to run at once (`--query.max-concurrency`).
    pub query_slots: Arc<tokio::sync::Semaphore>,
    /// `global.query_log_file`: where every query is logged, if anywhere.
    pub query_log: Arc<QueryLog>,
    /// The `remote_read` endpoints queried beside local storage.
    pub remote_read: Arc<remote::read::ReadStorage>,
}

/// The query log file in force (reopened on every configuration load, as Prometheus
/// does, so that rotated files are followed).
#[derive(Debug, Default)]
pub struct QueryLog {
    file: std::sync::RwLock<Option<Arc<scrape::JsonLogFile>>>,
}

impl QueryLog {
    /// Opens `path` (closing any previous file); an empty path turns the log off.
    pub fn set_file(&self, path: &str) -> Result<(), String> {
        let file = if path.is_empty() {
            None
        } else {
            Some(Arc::new(scrape::JsonLogFile::open(path)?))
        };
        *self.file.write().unwrap_or_else(|p| p.into_inner()) = file;
        Ok(())
    }

    fn current(&self) -> Option<Arc<scrape::JsonLogFile>> {
        self.file.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ApiState {
    /// State with a query engine and at most `max_concurrency` queries running at once.
    pub fn new(
        db: Arc<tsdb::Db>,
        scrape: Arc<scrape::Manager>,
        engine: promql::Engine,
        max_concurrency: usize,
        remote_read: Arc<remote::read::ReadStorage>,
    ) -> Self {
        Self {
            db,
            scrape,
            engine,
            query_slots: Arc::new(tokio::sync::Semaphore::new(max_concurrency.max(1))),
            query_log: Arc::new(QueryLog::default()),
            remote_read,
        }
    }
}

/// The routes, relative to the server's route prefix.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(query::parse_query).post(query::parse_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(exemplars::query_exemplars).post(exemplars::query_exemplars),
        )
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/targets", get(targets))
        .route("/api/v1/scrape_pools", get(scrape_pools))
        .route("/api/v1/status/service_discovery", get(service_discovery))
        .route("/api/v1/targets/metadata", get(targets_metadata))
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/status/tsdb", get(tsdb_status))
        .route("/api/v1/status/walreplay", get(wal_replay))
        .with_state(state)
}

type Shared = State<Arc<ApiState>>;

/// An API error: its type, as Prometheus names it, and message.
struct ApiError {
    kind: &'static str,
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: "bad_data",
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = String::from("{\"status\":\"error\",\"errorType\":");
        query::json_string(&mut body, self.kind);
        body.push_str(",\"error\":");
        query::json_string(&mut body, &self.message);
        body.push('}');
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

fn success(data: Value, warnings: Vec<String>) -> Response {
    let mut body = Map::new();
    body.insert("status".into(), json!("success"));
    body.insert("data".into(), data);
    if !warnings.is_empty() {
        body.insert("warnings".into(), json!(warnings));
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        Value::Object(body).to_string(),
    )
        .into_response()
}

fn labels_json(labels: &Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|l| (l.name.clone(), json!(l.value)))
            .collect(),
    )
}

/// The parameters of a GET query string and, for POST, a form body.
fn params(method: &Method, query: Option<String>, body: &Bytes) -> Vec<(String, String)> {
    let mut out = form::parse(query.as_deref().unwrap_or(""));
    if method == Method::POST {
        out.extend(form::parse(&String::from_utf8_lossy(body)));
    }
    out
}

fn get_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn time_param(params: &[(String, String)], name: &str, default: i64) -> Result<i64, ApiError> {
    match get_param(params, name) {
        None | Some("") => Ok(default),
        Some(text) => model::time::parse_api_time(text).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter {name:?}: cannot parse {text:?} to a valid timestamp"
            ))
        }),
    }
}

fn limit_param(params: &[(String, String)]) -> Result<usize, ApiError> {
    match get_param(params, "limit") {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n as usize)
            .ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"limit\": cannot parse {text:?}"
                ))
            }),
    }
}

/// Parses the `match[]` selectors.
fn selectors(params: &[(String, String)]) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut out = Vec::new();
    for (_, text) in params.iter().filter(|(k, _)| k == "match[]") {
        let matchers = promql::parse_selector(text)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}")))?;
        out.push(matchers);
    }
    Ok(out)
}

/// The parameters shared by `series`, `labels` and `label/<name>/values`.
struct RangeQuery {
    selectors: Vec<Vec<Matcher>>,
    start: i64,
    end: i64,
    limit: usize,
}

fn range_query(p: &[(String, String)]) -> Result<RangeQuery, ApiError> {
    Ok(RangeQuery {
        selectors: selectors(p)?,
        start: time_param(p, "start", model::time::MIN_TIME_MS)?,
        end: time_param(p, "end", model::time::MAX_TIME_MS)?,
        limit: limit_param(p)?,
    })
}

/// Series matching any selector in the range, deduplicated and sorted, with a warning
/// (once) for each block whose series may be missing from them (e.g. a damaged block).
fn matching_series(
    db: &tsdb::Db,
    selectors: &[Vec<Matcher>],
    start: i64,
    end: i64,
) -> (Vec<Labels>, Vec<String>) {
    let mut set = BTreeSet::new();
    let mut warnings = Vec::new();
    for matchers in selectors {
        let (found, said) = db.series_with_warnings(matchers, start, end);
        set.extend(found);
        add_once(&mut warnings, said);
    }
    (set.into_iter().collect(), warnings)
}

/// Appends the warnings not yet in `warnings`.
fn add_once(warnings: &mut Vec<String>, more: Vec<String>) {
    for w in more {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
}

fn truncate<T>(items: &mut Vec<T>, limit: usize, warnings: &mut Vec<String>) {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        warnings.push("results truncated due to limit".into());
    }
}

async fn series(
    State(state): Shared,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(&method, query, &body);
    let result = (|| -> Result<Response, ApiError> {
        let q = range_query(&p)?;
        if q.selectors.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let (mut found, mut warnings) = matching_series(&state.db, &q.selectors, q.start, q.end);
        truncate(&mut found, q.limit, &mut warnings);
        Ok(success(
            Value::Array(found.iter().map(labels_json).collect()),
            warnings,
        ))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn labels(
    State(state): Shared,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(&method, query, &body);
    let result = (|| -> Result<Response, ApiError> {
        let q = range_query(&p)?;
        // Without a range, the range is all time: any damaged block is named.
        let (mut names, mut warnings): (Vec<String>, _) = if q.selectors.is_empty() {
            (
                state.db.label_names_in(q.start, q.end),
                state.db.unreadable_blocks_in(q.start, q.end),
            )
        } else {
            let (series, warnings) = matching_series(&state.db, &q.selectors, q.start, q.end);
            let set: BTreeSet<String> = series
                .iter()
                .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
                .collect();
            (set.into_iter().collect(), warnings)
        };
        truncate(&mut names, q.limit, &mut warnings);
        Ok(success(json!(names), warnings))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn label_values(
    State(state): Shared,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let p = form::parse(query.as_deref().unwrap_or(""));
    let result = (|| -> Result<Response, ApiError> {
        // Names that are not legacy ones arrive in the "U__" escaped form.
        let name = form::unescape_label_name(&name)
            .ok_or_else(|| ApiError::bad_data(format!("invalid label name: {name:?}")))?;
        let q = range_query(&p)?;
        let (mut values, mut warnings): (Vec<String>, _) = if q.selectors.is_empty() {
            (
                state.db.label_values_in(&name, q.start, q.end),
                state.db.unreadable_blocks_in(q.start, q.end),
            )
        } else {
            let (series, warnings) = matching_series(&state.db, &q.selectors, q.start, q.end);
            let set: BTreeSet<String> = series
                .iter()
                .filter_map(|l| l.get(&name).map(str::to_string))
                .collect();
            (set.into_iter().collect(), warnings)
        };
        truncate(&mut values, q.limit, &mut warnings);
        Ok(success(json!(values), warnings))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn targets(State(state): Shared, RawQuery(query): RawQuery) -> Response {
    let p = form::parse(query.as_deref().unwrap_or(""));
    let wanted_state = get_param(&p, "state").unwrap_or("any").to_ascii_lowercase();
    let pool_filter = get_param(&p, "scrapePool").filter(|s| !s.is_empty());
    let in_pool = |pool: &str| pool_filter.is_none_or(|f| f == pool);
    let mut data = Map::new();
    if wanted_state == "any" || wanted_state == "active" {
        let active: Vec<Value> = state
            .scrape
            .active_targets()
            .into_iter()
            .filter(|t| in_pool(&t.scrape_pool))
            .map(|t| {
                let s = &t.status;
                json!({
                    "discoveredLabels": labels_json(&t.discovered_labels),
                    "labels": labels_json(&t.labels),
                    "scrapePool": t.scrape_pool,
                    "scrapeUrl": s.scrape_url,
                    "globalUrl": s.scrape_url,
                    "lastError": s.last_error,
                    "lastScrape": s.last_scrape.map(|at| {
                        let ms = at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
                        model::time::format_rfc3339_ms(ms)
                    }).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                    "lastScrapeDuration": s.last_duration.as_secs_f64(),
                    "health": s.health,
                    "scrapeInterval": promconfig::PromDuration(t.interval).to_string(),
                    "scrapeTimeout": promconfig::PromDuration(t.timeout).to_string(),
                })
            })
            .collect();
        data.insert("activeTargets".into(), Value::Array(active));
    }
    if wanted_state == "any" || wanted_state == "dropped" {
        let dropped_all = state.scrape.dropped_targets();
        let counts: Map<String, Value> = state
            .scrape
            .dropped_target_counts()
            .into_iter()
            .map(|(pool, n)| (pool, json!(n)))
            .collect();
        let dropped: Vec<Value> = dropped_all
            .iter()
            .filter(|(pool, _)| in_pool(pool))
            .map(|(pool, labels)| json!({"discoveredLabels": labels_json(labels), "scrapePool": pool}))
            .collect();
        data.insert("droppedTargets".into(), Value::Array(dropped));
        data.insert("droppedTargetCounts".into(), Value::Object(counts));
    }
    success(Value::Object(data), Vec::new())
}

async fn scrape_pools(State(state): Shared) -> Response {
    success(
        json!({"scrapePools": state.scrape.scrape_pools()}),
        Vec::new(),
    )
}

/// `/api/v1/status/service_discovery` (Promethium's own; Prometheus has no such
/// endpoint): every running discovery mechanism by job, with the calls failing now and
/// since when. The targets last discovered stay in force while they fail; this is what
/// the Service discovery page shows about it.
async fn service_discovery() -> Response {
    let data: Vec<Value> = discovery::health_snapshot()
        .into_iter()
        .map(|m| {
            let failures: Vec<Value> = m
                .failures
                .iter()
                .map(|f| {
                    let ms = f
                        .since
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or(0);
                    json!({"what": f.what, "error": f.error,
                        "since": model::time::format_rfc3339_ms(ms)})
                })
                .collect();
            json!({"job": m.job, "mechanism": m.mechanism, "failures": failures})
        })
        .collect();
    success(json!(data), Vec::new())
}

fn optional_limit(params: &[(String, String)], name: &str) -> Result<Option<usize>, ApiError> {
    match get_param(params, name) {
        None | Some("") => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n < 0 => Ok(None),
            Ok(n) => Ok(Some(n as usize)),
            Err(_) => Err(ApiError::bad_data(format!(
                "invalid parameter {name:?}: cannot parse {text:?}"
            ))),
        },
    }
}

/// `/api/v1/targets/metadata`: per target, what its last scrape said about its metrics.
async fn targets_metadata(State(state): Shared, RawQuery(query): RawQuery) -> Response {
    let p = form::parse(query.as_deref().unwrap_or(""));
    let result = (|| -> Result<Response, ApiError> {
        let target_matchers: Vec<Matcher> =
            match get_param(&p, "match_target").filter(|s| !s.is_empty()) {
                Some(text) => promql::parse_selector(text).map_err(|e| {
                    ApiError::bad_data(format!("invalid parameter \"match_target\": {e}"))
                })?,
                None => Vec::new(),
            };
        let metric = get_param(&p, "metric").filter(|s| !s.is_empty());
        let limit = optional_limit(&p, "limit")?;
        let mut out = Vec::new();
        for t in state.scrape.active_targets() {
            if !target_matchers.iter().all(|m| m.matches_labels(&t.labels)) {
                continue;
            }
            for (name, meta) in &t.status.metadata {
                if metric.is_some_and(|m| m != name) {
                    continue;
                }
                out.push(json!({
                    "target": labels_json(&t.labels),
                    "metric": name,
                    "type": meta.kind,
                    "help": meta.help,
                    "unit": meta.unit,
                }));
            }
        }
        if let Some(limit) = limit {
            out.truncate(limit);
        }
        Ok(success(Value::Array(out), Vec::new()))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/metadata`: per metric name, the distinct metadata its targets reported.
async fn metadata(State(state): Shared, RawQuery(query): RawQuery) -> Response {
    let p = form::parse(query.as_deref().unwrap_or(""));
    let result = (|| -> Result<Response, ApiError> {
        let metric = get_param(&p, "metric").filter(|s| !s.is_empty());
        let limit = optional_limit(&p, "limit")?;
        let per_metric = optional_limit(&p, "limit_per_metric")?;
        let mut by_name: std::collections::BTreeMap<String, Vec<scrape::MetricMetadata>> =
            Default::default();
        for t in state.scrape.active_targets() {
            for (name, meta) in t.status.metadata {
                if metric.is_some_and(|m| m != name) {
                    continue;
                }
                let list = by_name.entry(name).or_default();
                if !list.contains(&meta) {
                    list.push(meta);
                }
            }
        }
        let mut data = Map::new();
        for (name, list) in by_name {
            if limit.is_some_and(|l| data.len() >= l) {
                break;
            }
            let entries: Vec<Value> = list
                .iter()
                .take(per_metric.unwrap_or(usize::MAX))
                .map(|m| json!({"type": m.kind, "help": m.help, "unit": m.unit}))
                .collect();
            data.insert(name, Value::Array(entries));
        }
        Ok(success(Value::Object(data), Vec::new()))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/status/tsdb`: head cardinality (limit default 10, at most 10000).
async fn tsdb_status(State(state): Shared, RawQuery(query): RawQuery) -> Response {
    let p = form::parse(query.as_deref().unwrap_or(""));
    let limit = match get_param(&p, "limit") {
        None | Some("") => 10,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return ApiError::bad_data("limit must be a positive number <= 10000")
                    .into_response()
            }
        },
    };
    let stats = state.db.head_stats(limit);
    let list = |items: &[(String, usize)]| -> Value {
        Value::Array(
            items
                .iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect(),
        )
    };
    success(
        json!({
            "headStats": {
                "numSeries": stats.num_series,
                "numLabelPairs": stats.num_label_pairs,
                "chunkCount": stats.chunk_count,
                "minTime": stats.min_time.unwrap_or(i64::MAX),
                "maxTime": stats.max_time.unwrap_or(i64::MIN),
            },
            "seriesCountByMetricName": list(&stats.series_count_by_metric_name),
            "labelValueCountByLabelName": list(&stats.label_value_count_by_label_name),
            "memoryInBytesByLabelName": list(&stats.memory_in_bytes_by_label_name),
            "seriesCountByLabelValuePair": list(&stats.series_count_by_label_value_pair),
        }),
        Vec::new(),
    )
}

/// `/api/v1/status/walreplay`: the segments replayed at start-up.
async fn wal_replay(State(state): Shared) -> Response {
    let r = state.db.replay_report();
    success(
        json!({"min": r.first_segment, "max": r.last_segment, "current": r.last_segment}),
        Vec::new(),
    )
}
