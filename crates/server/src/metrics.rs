//! The server's own metrics (`/metrics`): process, build, HTTP and authentication.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::build;

/// `code` and `handler` labels, allocation-free on the request path.
type CodeHandler = ([(&'static str, u16); 1], [(&'static str, &'static str); 1]);
type HandlerOnly = [(&'static str, &'static str); 1];

/// Metrics updated by the web server.
pub struct ServerMetrics {
    registry: Registry,
    http_requests: Family<CodeHandler, Counter>,
    http_duration: Family<HandlerOnly, Histogram>,
    auth_failures: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// `prometheus_ready`: 1 once the server serves requests.
    pub ready: Gauge,
    /// The storage, for `/-/ready` (not ready while its appends fail).
    pub storage: Arc<tsdb::Db>,
    /// Rule groups and the notifier, exposed as text (summaries, per-group families).
    rules: Arc<crate::rule_manager::RuleManager>,
    /// `prometheus_api_remote_write_invalid_labels_samples_total`.
    pub remote_write_invalid_labels: Counter,
    /// The remote-write queues, exposed as text.
    remote_write: Arc<remote::WriteStorage>,
    /// `prometheus_api_otlp_translation_warnings_total`, by category.
    pub otlp_translation_warnings: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// `prometheus_web_federation_errors_total` and `_warnings_total`.
    pub federation_errors: Counter,
    pub federation_warnings: Counter,
}

impl ServerMetrics {
    pub fn new(
        config: &crate::reload::ConfigState,
        db: Arc<tsdb::Db>,
        engine: EngineGauges,
        connections_refused: Arc<std::sync::atomic::AtomicU64>,
        rules: Arc<crate::rule_manager::RuleManager>,
        remote_write: Arc<remote::WriteStorage>,
    ) -> Arc<Self> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(TsdbCollector(Arc::clone(&db))));
        registry.register_collector(Box::new(engine));
        registry.register_collector(Box::new(ListenerCounters {
            refused: connections_refused,
        }));
        registry.register_collector(Box::new(ScrapeCounters(config.scrape_manager())));
        Self::register_config_gauges(&mut registry, config);
        let build_info = Family::<Vec<(&'static str, String)>, Gauge>::default();
        build_info
            .get_or_create(&vec![
                ("version", build::VERSION.to_string()),
                ("revision", build::REVISION.to_string()),
                ("branch", build::BRANCH.to_string()),
                ("rustversion", build::RUSTC_VERSION.to_string()),
                ("goos", std::env::consts::OS.to_string()),
                ("goarch", std::env::consts::ARCH.to_string()),
            ])
            .set(1);
        registry.register(
            "prometheus_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, and the Rust version from which promethium was built",
            build_info,
        );
        let http_requests = Family::<CodeHandler, Counter>::default();
        registry.register(
            "prometheus_http_requests",
            "Counter of HTTP requests",
            http_requests.clone(),
        );
        let http_duration = Family::<HandlerOnly, Histogram>::new_with_constructor(|| {
            Histogram::new([0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0])
        });
        registry.register(
            "prometheus_http_request_duration_seconds",
            "Histogram of latencies for HTTP requests",
            http_duration.clone(),
        );
        let auth_failures = Family::<Vec<(&'static str, &'static str)>, Counter>::default();
        for reason in webconfig::AuthFailure::ALL {
            let _ = auth_failures.get_or_create(&vec![("reason", reason.as_str())]);
        }
        registry.register(
            "prometheus_http_auth_failures",
            "Requests refused by the web configuration (basic auth, rate limit, bcrypt queue), by reason",
            auth_failures.clone(),
        );
        let ready = Gauge::default();
        registry.register("prometheus_ready", "Whether Prometheus startup was fully completed and the server is ready for normal operation.", ready.clone());
        registry.register_collector(Box::new(ProcessCollector));
        let remote_write_invalid_labels = Counter::default();
        registry.register(
            "prometheus_api_remote_write_invalid_labels_samples",
            "The total number of received remote write samples and histogram samples which were rejected due to invalid labels.",
            remote_write_invalid_labels.clone(),
        );
        let otlp_translation_warnings =
            Family::<Vec<(&'static str, &'static str)>, Counter>::default();
        registry.register(
            "prometheus_api_otlp_translation_warnings",
            "The total number of warnings produced while translating OTLP metrics to the Prometheus model, by category.",
            otlp_translation_warnings.clone(),
        );
        let federation_errors = Counter::default();
        registry.register(
            "prometheus_web_federation_errors",
            "Total number of errors that occurred while sending federation responses.",
            federation_errors.clone(),
        );
        let federation_warnings = Counter::default();
        registry.register(
            "prometheus_web_federation_warnings",
            "Total number of warnings that occurred while sending federation responses.",
            federation_warnings.clone(),
        );
        Arc::new(Self {
            registry,
            http_requests,
            http_duration,
            auth_failures,
            ready,
            storage: db,
            rules,
            remote_write,
            remote_write_invalid_labels,
            otlp_translation_warnings,
            federation_errors,
            federation_warnings,
        })
    }

    /// Registers the configuration reload gauges (they live with the configuration state).
    pub fn register_config_gauges(registry: &mut Registry, config: &crate::reload::ConfigState) {
        registry.register(
            "prometheus_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful",
            config.last_reload_successful.clone(),
        );
        registry.register(
            "prometheus_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload",
            config.last_reload_success_timestamp.clone(),
        );
    }

    pub fn auth_failure(&self, reason: webconfig::AuthFailure) {
        self.auth_failures
            .get_or_create(&vec![("reason", reason.as_str())])
            .inc();
    }

    fn observe(&self, handler: &'static str, code: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&([("code", code)], [("handler", handler)]))
            .inc();
        self.http_duration
            .get_or_create(&[("handler", handler)])
            .observe(seconds);
    }

    /// The exposition in the Prometheus text format 0.0.4 or OpenMetrics 1.0.0.
    pub fn encode(&self, openmetrics: bool) -> Result<String, fmt::Error> {
        let mut out = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        }
        let mut extra = rule_and_notifier_text(&self.rules, openmetrics);
        extra.push_str(&crate::remote_metrics::text(
            &self.remote_write,
            openmetrics,
        ));
        extra.push_str(&discovery_text(openmetrics));
        match out.strip_suffix("# EOF\n") {
            Some(head) if openmetrics => out = format!("{head}{extra}# EOF\n"),
            _ => out.push_str(&extra),
        }
        Ok(out)
    }
}

/// `(labels, name suffix, value)` of one exposed sample.
type Sample = (String, &'static str, f64);

/// A label value in the exposition formats.
pub(crate) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value as Go's exposition writes it.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Writes one family: `# HELP`, `# TYPE` and `(labels, suffix, value)` samples. Counters
/// are named without `_total` in OpenMetrics' TYPE line.
pub(crate) fn family(
    out: &mut String,
    openmetrics: bool,
    name: &str,
    kind: &str,
    help: &str,
    samples: &[(String, &str, f64)],
) {
    use std::fmt::Write;
    let described = if openmetrics && kind == "counter" {
        name.strip_suffix("_total").unwrap_or(name)
    } else {
        name
    };
    let _ = writeln!(out, "# HELP {described} {help}");
    let _ = writeln!(out, "# TYPE {described} {kind}");
    for (labels, suffix, v) in samples {
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}{suffix}{labels} {}", value(*v));
    }
}

/// Service discovery's `prometheus_sd_*` families.
fn discovery_text(openmetrics: bool) -> String {
    let samples = discovery::metrics_snapshot();
    let mut out = String::new();
    let mut i = 0;
    while let Some(first) = samples.get(i) {
        let end = samples[i..]
            .iter()
            .position(|s| s.family != first.family)
            .map_or(samples.len(), |n| i + n);
        let rows: Vec<(String, &str, f64)> = samples[i..end]
            .iter()
            .map(|s| {
                let labels = s
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect::<Vec<_>>()
                    .join(",");
                (labels, &s.name[s.family.len()..], s.value)
            })
            .collect();
        family(
            &mut out,
            openmetrics,
            first.family,
            first.kind,
            first.help,
            &rows,
        );
        i = end;
    }
    out
}

/// The rule groups' metrics (labelled `rule_group="<file>;<name>"`, as upstream) and the
/// notifier's, read from their live values.
fn rule_and_notifier_text(rules: &crate::rule_manager::RuleManager, openmetrics: bool) -> String {
    let mut out = String::new();
    let groups = rules.groups();
    let per_group = |f: &dyn Fn(&rules::Group) -> f64| -> Vec<(String, &'static str, f64)> {
        groups
            .iter()
            .map(|g| {
                (
                    format!(
                        "rule_group=\"{}\"",
                        escape(&format!("{};{}", g.file(), g.name()))
                    ),
                    "",
                    f(g),
                )
            })
            .collect()
    };
    let secs = |t: Option<std::time::SystemTime>| {
        t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let [group_summary, rule_summary] = rules.duration_summaries();
    for (name, help, s) in [
        (
            "prometheus_rule_evaluation_duration_seconds",
            "The duration for a rule to execute.",
            rule_summary,
        ),
        (
            "prometheus_rule_group_duration_seconds",
            "The duration of rule group evaluations.",
            group_summary,
        ),
    ] {
        let mut samples: Vec<(String, &str, f64)> = s
            .quantiles
            .iter()
            .map(|(q, v)| (format!("quantile=\"{q}\""), "", *v))
            .collect();
        samples.push((String::new(), "_sum", s.sum));
        samples.push((String::new(), "_count", s.count as f64));
        family(&mut out, openmetrics, name, "summary", help, &samples);
    }
    let families: [(&str, &str, &str, Vec<Sample>); 10] = [
        (
            "prometheus_rule_evaluation_failures_total",
            "counter",
            "The total number of rule evaluation failures.",
            per_group(&|g| g.metrics().evaluation_failures as f64),
        ),
        (
            "prometheus_rule_evaluations_total",
            "counter",
            "The total number of rule evaluations.",
            per_group(&|g| g.metrics().evaluations_total as f64),
        ),
        (
            "prometheus_rule_group_interval_seconds",
            "gauge",
            "The interval of a rule group.",
            per_group(&|g| g.interval().as_secs_f64()),
        ),
        (
            "prometheus_rule_group_iterations_missed_total",
            "counter",
            "The total number of rule group evaluations missed due to slow rule group evaluation.",
            per_group(&|g| g.metrics().iterations_missed as f64),
        ),
        (
            "prometheus_rule_group_iterations_total",
            "counter",
            "The total number of scheduled rule group evaluations, whether executed or missed.",
            per_group(&|g| g.metrics().iterations_total as f64),
        ),
        (
            "prometheus_rule_group_last_duration_seconds",
            "gauge",
            "The duration of the last rule group evaluation.",
            per_group(&|g| g.metrics().last_duration.as_secs_f64()),
        ),
        (
            "prometheus_rule_group_last_evaluation_samples",
            "gauge",
            "The number of samples returned during the last rule group evaluation.",
            per_group(&|g| g.metrics().last_evaluation_samples as f64),
        ),
        (
            "prometheus_rule_group_last_evaluation_timestamp_seconds",
            "gauge",
            "The timestamp of the last rule group evaluation in seconds.",
            per_group(&|g| secs(g.metrics().last_evaluation)),
        ),
        (
            "prometheus_rule_group_last_rule_duration_sum_seconds",
            "gauge",
            "The sum of time in seconds it took to evaluate each rule in the group regardless of concurrency.",
            per_group(&|g| g.metrics().last_rule_duration_sum.as_secs_f64()),
        ),
        (
            "prometheus_rule_group_rules",
            "gauge",
            "The number of rules.",
            per_group(&|g| g.rules().len() as f64),
        ),
    ];
    for (name, kind, help, samples) in &families {
        family(&mut out, openmetrics, name, kind, help, samples);
    }

    let n = rules.notifier().metrics();
    let am =
        |f: &dyn Fn(&notifier::AlertmanagerMetrics) -> f64| -> Vec<(String, &'static str, f64)> {
            n.alertmanagers
                .iter()
                .map(|a| {
                    (
                        format!("alertmanager=\"{}\"", escape(&a.alertmanager)),
                        "",
                        f(a),
                    )
                })
                .collect()
        };
    family(
        &mut out,
        openmetrics,
        "prometheus_notifications_alertmanagers_discovered",
        "gauge",
        "The number of alertmanagers discovered and active.",
        &[(String::new(), "", n.alertmanagers_discovered as f64)],
    );
    for (name, kind, help, samples) in [
        (
            "prometheus_notifications_dropped_total",
            "counter",
            "Total number of alerts dropped due to errors when sending to Alertmanager.",
            am(&|a| a.dropped_total as f64),
        ),
        (
            "prometheus_notifications_errors_total",
            "counter",
            "Total number of sent alerts affected by errors.",
            am(&|a| a.errors_total as f64),
        ),
        (
            "prometheus_notifications_sent_total",
            "counter",
            "Total number of alerts sent.",
            am(&|a| a.sent_total as f64),
        ),
        (
            "prometheus_notifications_queue_length",
            "gauge",
            "The number of alert notifications in the queue.",
            am(&|a| a.queue_length as f64),
        ),
    ] {
        family(&mut out, openmetrics, name, kind, help, &samples);
    }
    family(
        &mut out,
        openmetrics,
        "prometheus_notifications_queue_capacity",
        "gauge",
        "The capacity of the alert notifications queue.",
        &[(String::new(), "", n.queue_capacity as f64)],
    );
    let mut latency = Vec::new();
    for a in &n.alertmanagers {
        let l = format!("alertmanager=\"{}\"", escape(&a.alertmanager));
        for (q, v) in &a.latency.quantiles {
            latency.push((format!("{l},quantile=\"{q}\""), "", *v));
        }
        latency.push((l.clone(), "_sum", a.latency.sum_seconds));
        latency.push((l, "_count", a.latency.count as f64));
    }
    family(
        &mut out,
        openmetrics,
        "prometheus_notifications_latency_seconds",
        "summary",
        "Latency quantiles for sending alert notifications.",
        &latency,
    );
    out
}

/// The storage's counters, read at each scrape.
struct TsdbCollector(Arc<tsdb::Db>);

impl std::fmt::Debug for TsdbCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TsdbCollector({})", self.0.dir().display())
    }
}

impl Collector for TsdbCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &self.0.stats;
        encode_gauge(
            &mut encoder,
            "prometheus_tsdb_head_series",
            "Total number of series in the head block.",
            self.0.num_series() as f64,
        )?;
        let (blocks_bytes, wal_bytes) = self.0.disk_usage();
        encode_gauge(
            &mut encoder,
            "prometheus_tsdb_blocks_loaded",
            "Number of currently loaded data blocks",
            self.0.blocks().len() as f64,
        )?;
        encode_gauge(
            &mut encoder,
            "prometheus_tsdb_storage_blocks_bytes",
            "The number of bytes that are currently used for local storage by all blocks.",
            blocks_bytes as f64,
        )?;
        encode_gauge(
            &mut encoder,
            "prometheus_tsdb_wal_storage_size_bytes",
            "Size of the write log directory.",
            wal_bytes as f64,
        )?;
        for (name, help, value) in [
            ("prometheus_tsdb_head_samples_appended", "Total number of appended samples.", &stats.samples_appended),
            ("prometheus_tsdb_head_series_created", "Total number of series created in the head", &stats.series_created),
            ("prometheus_tsdb_out_of_order_samples", "Total number of out of order samples ingestion failed attempts.", &stats.out_of_order),
            ("prometheus_tsdb_head_out_of_order_samples_appended", "Total number of appended out of order samples.", &stats.out_of_order_appended),
            ("prometheus_tsdb_duplicate_samples", "Samples rejected for having the timestamp of the series' newest sample with another value.", &stats.duplicates),
            ("prometheus_tsdb_out_of_bound_samples", "Total number of out of bound samples ingestion failed attempts.", &stats.out_of_bounds),
            ("prometheus_tsdb_head_series_removed", "Total number of series removed in the head", &stats.series_removed),
            ("prometheus_tsdb_head_truncations", "Total number of head truncations attempted.", &stats.head_truncations),
            ("prometheus_tsdb_compactions", "Total number of block merges (head cuts are counted as truncations).", &stats.compactions),
            ("prometheus_tsdb_compactions_failed", "Total number of maintenance passes that failed.", &stats.compactions_failed),
            ("prometheus_tsdb_checkpoint_creations", "Total number of WAL checkpoints created.", &stats.checkpoints),
            ("prometheus_tsdb_retention_deletions", "Blocks deleted because of the retention time or size.", &stats.blocks_deleted_by_retention),
            ("prometheus_tsdb_wal_writes_failed", "Total number of write log writes that have failed.", &stats.wal_writes_failed),
            ("prometheus_tsdb_wal_corruptions", "Total number of WAL corruptions.", &stats.wal_corruptions),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value.load(Relaxed)).encode(metric)?;
        }
        let ex = self.0.exemplar_stats();
        for (name, help, value) in [
            (
                "prometheus_tsdb_exemplar_exemplars_appended",
                "Total number of appended exemplars.",
                ex.appended_total,
            ),
            (
                "prometheus_tsdb_exemplar_out_of_order_exemplars",
                "Total number of out of order exemplar ingestion failed attempts.",
                ex.out_of_order_total,
            ),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(metric)?;
        }
        for (name, help, value) in [
            (
                "prometheus_tsdb_exemplar_exemplars_in_storage",
                "Number of exemplars currently in circular storage.",
                ex.in_storage as f64,
            ),
            (
                "prometheus_tsdb_exemplar_series_with_exemplars_in_storage",
                "Number of series with exemplars currently in circular storage.",
                ex.series_in_storage as f64,
            ),
            (
                "prometheus_tsdb_exemplar_last_exemplars_timestamp_seconds",
                "The timestamp of the oldest exemplar stored in circular storage.",
                ex.oldest_timestamp_ms as f64 / 1000.0,
            ),
            (
                "prometheus_tsdb_exemplar_max_exemplars",
                "Total number of exemplars the exemplar storage can store, resizeable.",
                ex.max_exemplars as f64,
            ),
        ] {
            encode_gauge(&mut encoder, name, help, value)?;
        }
        Ok(())
    }
}

/// The listeners' counters, read at each scrape.
#[derive(Debug)]
struct ListenerCounters {
    /// Connections refused for their address's cap (see `webconfig::ServeOptions`).
    refused: Arc<std::sync::atomic::AtomicU64>,
}

impl Collector for ListenerCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let metric = encoder.encode_descriptor(
            "promethium_http_connections_refused",
            "Connections closed at once because their client address held its share of --web.max-connections.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.refused.load(std::sync::atomic::Ordering::Relaxed)).encode(metric)
    }
}

/// The query engine's gauges, read at each scrape.
#[derive(Debug)]
pub struct EngineGauges {
    /// Queries waiting or being evaluated now.
    pub running: Arc<std::sync::atomic::AtomicUsize>,
    /// `--query.max-concurrency`.
    pub max_concurrency: usize,
    /// What running queries hold of `--query.max-memory`.
    pub memory: Arc<promql::MemoryBudget>,
}

impl Collector for EngineGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        encode_gauge(
            &mut encoder,
            "prometheus_engine_queries",
            "The current number of queries being executed or waiting.",
            self.running.load(std::sync::atomic::Ordering::Relaxed) as f64,
        )?;
        encode_gauge(
            &mut encoder,
            "prometheus_engine_queries_concurrent_max",
            "The max number of concurrent queries.",
            self.max_concurrency as f64,
        )?;
        encode_gauge(
            &mut encoder,
            "promethium_query_memory_reserved_bytes",
            "Memory reserved by the queries running now, by the engine's estimate (limited by --query.max-memory).",
            self.memory.reserved() as f64,
        )
    }
}

/// The scrape manager's counters, read at each scrape.
struct ScrapeCounters(Arc<scrape::Manager>);

impl fmt::Debug for ScrapeCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScrapeCounters")
    }
}

impl Collector for ScrapeCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let metric = encoder.encode_descriptor(
            "prometheus_target_scrape_pool_exceeded_target_limit",
            "Total number of times scrape pools hit the target limit, during sync or config reload.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.0.target_limit_exceeded_total()).encode(metric)
    }
}

/// `process_*` metrics read from /proc at each scrape, as Go's process collector does.
#[derive(Debug)]
struct ProcessCollector;

fn encode_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        use procfs::process::Process;
        use procfs::WithCurrentSystemInfo;
        let Ok(me) = Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            let cpu = (stat.utime + stat.stime) as f64 / ticks;
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                MetricType::Counter,
            )?;
            ConstCounter::new(cpu).encode(metric)?;
            encode_gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stat.vsize as f64,
            )?;
            encode_gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                stat.rss_bytes().get() as f64,
            )?;
            if let Ok(boot) = procfs::boot_time_secs() {
                encode_gauge(
                    &mut encoder,
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds",
                    boot as f64 + stat.starttime as f64 / ticks,
                )?;
            }
            encode_gauge(
                &mut encoder,
                "process_threads",
                "Number of OS threads in the process.",
                stat.num_threads as f64,
            )?;
        }
        if let Ok(fds) = me.fd_count() {
            encode_gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                fds as f64,
            )?;
        }
        if let Ok(limits) = me.limits() {
            if let procfs::process::LimitValue::Value(v) = limits.max_open_files.soft_limit {
                encode_gauge(
                    &mut encoder,
                    "process_max_fds",
                    "Maximum number of open file descriptors.",
                    v as f64,
                )?;
            }
        }
        Ok(())
    }
}

/// Counts every HTTP request by handler and status code, including the 401s and 429s
/// answered by the web configuration layer (this layer sits outside it).
#[derive(Clone)]
pub struct HttpMetricsLayer {
    pub metrics: Arc<ServerMetrics>,
    pub route_prefix: Arc<str>,
}

impl<S> tower::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    layer: HttpMetricsLayer,
}

impl<S, B, R> tower::Service<http::Request<B>> for HttpMetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let handler = handler_label(request.uri().path(), &self.layer.route_prefix);
        let metrics = Arc::clone(&self.layer.metrics);
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            if let Ok(response) = &result {
                metrics.observe(
                    handler,
                    response.status().as_u16(),
                    started.elapsed().as_secs_f64(),
                );
            }
            result
        })
    }
}

/// The route a path belongs to, from a fixed set so that label values stay bounded.
pub fn handler_label(path: &str, prefix: &str) -> &'static str {
    let path = path.strip_prefix(prefix).unwrap_or(path);
    const ROUTES: &[&str] = &[
        "/metrics",
        "/-/healthy",
        "/-/ready",
        "/-/reload",
        "/-/quit",
        "/api/v1/status/buildinfo",
        "/api/v1/status/flags",
        "/api/v1/status/runtimeinfo",
        "/api/v1/status/config",
        "/api/v1/status/tsdb",
        "/api/v1/status/walreplay",
        "/api/v1/series",
        "/api/v1/labels",
        "/api/v1/targets",
        "/api/v1/targets/metadata",
        "/api/v1/metadata",
        "/api/v1/scrape_pools",
        "/api/v1/status/service_discovery",
        "/",
        "/favicon.ico",
    ];
    if let Some(route) = ROUTES.iter().chain(crate::ui::PAGES).find(|r| **r == path) {
        return route;
    }
    if path.starts_with("/assets/") {
        "/assets/*"
    } else if path.starts_with("/api/v1/label/") && path.ends_with("/values") {
        "/api/v1/label/:name/values"
    } else if path.starts_with("/api/v1/") {
        "/api/v1/*"
    } else {
        "other"
    }
}
