//! OTLP metrics to Prometheus samples, as Prometheus 3's OTLP translator
//! (`storage/remote/otlptranslator/prometheusremotewrite`, `FromMetrics`) maps them:
//! `job` from `service.namespace`/`service.name`, `instance` from `service.instance.id`,
//! promoted resource attributes and scope metadata as labels, attribute names sanitized
//! (values of colliding names joined with `;`), gauges and sums as one series each,
//! explicit-bucket histograms as classic `_bucket{le}`/`_sum`/`_count` series, summaries as
//! `quantile` series plus `_sum`/`_count`, `NoRecordedValue` points as staleness markers,
//! and a `target_info` series per resource spanning its points' times.
//!
//! Exemplars of sums, classic histogram buckets (by value) and exponential histograms come
//! out with their series (upstream's `getPromExemplars`: `trace_id`, `span_id` and the
//! filtered attributes when they fit in 128 characters); the caller stores them when the
//! exemplar storage is on.

use std::collections::{HashMap, HashSet};

use model::{Labels, LabelsBuilder};

use super::names::{go_quote, LabelNamer, MetricKind, MetricNamer};
use super::proto::{self, KeyValue, Metric, MetricData};
use super::value_text::as_string;

/// The most label text (plus a per-label and per-sample allowance) one request may turn
/// into. A histogram point repeats its labels once per bucket, so a small body can ask
/// for very many large series; past this, the request is refused (413) rather than
/// translated.
pub const MAX_TRANSLATED_BYTES: usize = 512 << 20;

/// The most `target_info` samples one resource gets. Upstream writes one every half
/// lookback delta from the resource's earliest point to its latest, so a point stamped
/// near 1970 would ask for millions; only the newest of those grid points are written
/// (10,000 half-lookbacks is 17 days at the default 5m, far beyond what the head takes).
pub const MAX_TARGET_INFO_SAMPLES: i64 = 10_000;

/// Upstream's lookback delta when none is given.
const DEFAULT_LOOKBACK_DELTA_MS: i64 = 5 * 60 * 1000;

/// Resource attributes that make `job` and `instance` (and are left out of `target_info`).
const IDENTIFYING_ATTRIBUTES: [&str; 3] =
    ["service.namespace", "service.name", "service.instance.id"];

/// Attribute names never taken from data points: the metric name is set separately.
const RESERVED_LABEL_NAMES: [&str; 1] = [model::METRIC_NAME];

/// Which resource attributes become labels of every series (prometheus.yml's
/// `promote_resource_attributes`, or all but `ignore_resource_attributes` with
/// `promote_all_resource_attributes`).
#[derive(Debug, Clone, Default)]
pub struct PromoteResourceAttributes {
    pub promote_all: bool,
    /// The attributes promoted, or with `promote_all` the ones not promoted.
    pub attributes: HashSet<String>,
}

impl PromoteResourceAttributes {
    fn promotes(&self, attribute: &str) -> bool {
        self.attributes.contains(attribute) != self.promote_all
    }
}

/// How to translate (upstream's `Settings`). `Default` is upstream's zero value, which its
/// unit tests use: names escaped, no suffixes, nothing promoted.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// A prefix for every metric name (not set by the OTLP endpoint).
    pub namespace: String,
    pub add_metric_suffixes: bool,
    pub allow_utf8: bool,
    /// `None`: no resource attribute is promoted.
    pub promote_resource_attributes: Option<PromoteResourceAttributes>,
    pub keep_identifying_resource_attributes: bool,
    /// Delta sums and histograms taken as they are (`otlp-native-delta-ingestion`); else
    /// they are errors.
    pub allow_delta_temporality: bool,
    /// The query lookback delta, which spaces `target_info` samples (0: 5 minutes).
    pub lookback_delta_ms: i64,
    pub promote_scope_metadata: bool,
    pub label_name_underscore_sanitization: bool,
    pub label_name_preserve_multiple_underscores: bool,
}

impl Settings {
    /// The settings of prometheus.yml's `otlp` section, as Prometheus's OTLP handler makes
    /// them.
    pub fn from_config(
        otlp: &promconfig::OtlpConfig,
        allow_delta_temporality: bool,
        lookback_delta_ms: i64,
    ) -> Self {
        // Upstream's `ShouldEscape`/`ShouldAddSuffixes`: unknown or empty strategies
        // neither escape nor add suffixes.
        let (escape, suffixes) = match otlp.translation_strategy.as_str() {
            "UnderscoreEscapingWithSuffixes" => (true, true),
            "UnderscoreEscapingWithoutSuffixes" => (true, false),
            "NoUTF8EscapingWithSuffixes" => (false, true),
            _ => (false, false),
        };
        let listed = if otlp.promote_all_resource_attributes {
            &otlp.ignore_resource_attributes
        } else {
            &otlp.promote_resource_attributes
        };
        Settings {
            namespace: String::new(),
            add_metric_suffixes: suffixes,
            allow_utf8: !escape,
            promote_resource_attributes: Some(PromoteResourceAttributes {
                promote_all: otlp.promote_all_resource_attributes,
                attributes: listed.iter().cloned().collect(),
            }),
            keep_identifying_resource_attributes: otlp.keep_identifying_resource_attributes,
            allow_delta_temporality,
            lookback_delta_ms,
            promote_scope_metadata: otlp.promote_scope_metadata,
            label_name_underscore_sanitization: otlp.label_name_underscore_sanitization,
            label_name_preserve_multiple_underscores: otlp.label_name_preserve_multiple_underscores,
        }
    }
}

/// Upstream's warning categories (`prometheus_api_otlp_translation_warnings_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningCategory {
    EmptyDataPoints,
    LabelNameCollision,
}

impl WarningCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCategory::EmptyDataPoints => "empty_data_points",
            WarningCategory::LabelNameCollision => "label_name_collision",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub category: WarningCategory,
    pub message: String,
}

/// What a request translates to.
#[derive(Debug, Clone, Default)]
pub struct Translation {
    /// Float samples (labels, ms, value) in request order, `target_info` after each
    /// resource's metrics.
    pub samples: Vec<(Labels, i64, f64)>,
    /// Each sample's start timestamp in ms (0: none), parallel to `samples`.
    pub start_timestamps: Vec<i64>,
    /// Translation errors in upstream's words. Prometheus appends nothing of a request with
    /// any (its appender is rolled back) and answers 500 with them, one a line.
    pub errors: Vec<String>,
    /// What upstream logs and counts; the request is not refused for these.
    pub warnings: Vec<Warning>,
    /// Exponential histogram points as native histograms (labels, ms, histogram), in
    /// request order.
    pub histograms: Vec<(Labels, i64, model::histogram::HistogramValue)>,
    /// Each histogram's start timestamp in ms (0: none), parallel to `histograms`.
    pub histogram_start_timestamps: Vec<i64>,
    /// Exemplars with their series' labels, in request order.
    pub exemplars: Vec<(Labels, model::Exemplar)>,
}

/// The request's series would take more memory than [`MAX_TRANSLATED_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the request's series would take more than {MAX_TRANSLATED_BYTES} bytes of labels")]
pub struct TooLarge;

/// Why a metric's translation stopped.
enum Failure {
    /// An error for the answer; translation goes on with the next metric.
    Error(String),
    /// The whole request is too large.
    TooLarge,
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Error(e)
    }
}

/// Translates a request (upstream's `FromMetrics`).
pub fn translate(
    request: &proto::ExportMetricsServiceRequest,
    settings: &Settings,
) -> Result<Translation, TooLarge> {
    let mut converter = Converter::new(settings);
    let namer = MetricNamer {
        namespace: settings.namespace.clone(),
        with_suffixes: settings.add_metric_suffixes,
        utf8_allowed: settings.allow_utf8,
    };
    for resource_metrics in &request.resource_metrics {
        let resource_attributes = resource_metrics
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or(&[]);
        if let Err(e) = converter.set_resource_context(resource_attributes) {
            converter.out.errors.push(e);
            continue;
        }
        // The span of the resource's points, for `target_info`.
        let mut earliest = u64::MAX;
        let mut latest = 0u64;
        for scope_metrics in &resource_metrics.scope_metrics {
            if let Err(e) = converter.set_scope_context(scope_metrics) {
                converter.out.errors.push(e);
                continue;
            }
            for metric in &scope_metrics.metrics {
                for t in point_times(metric) {
                    earliest = earliest.min(t);
                    latest = latest.max(t);
                }
                match converter.metric(metric, &namer) {
                    Ok(()) => {}
                    Err(Failure::Error(e)) => converter.out.errors.push(e),
                    Err(Failure::TooLarge) => return Err(TooLarge),
                }
            }
        }
        if earliest < u64::MAX {
            match converter.target_info(resource_attributes, earliest, latest) {
                Ok(()) => {}
                Err(Failure::Error(e)) => converter.out.errors.push(e),
                Err(Failure::TooLarge) => return Err(TooLarge),
            }
        }
    }
    let mut out = converter.out;
    out.warnings.extend(converter.collision_warnings);
    Ok(out)
}

/// The times of a metric's points (ns).
fn point_times(metric: &Metric) -> Vec<u64> {
    match &metric.data {
        Some(MetricData::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(MetricData::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(MetricData::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(MetricData::ExponentialHistogram(h)) => {
            h.data_points.iter().map(|p| p.time_unix_nano).collect()
        }
        Some(MetricData::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        None => Vec::new(),
    }
}

/// OTLP's nanoseconds to Prometheus's milliseconds (upstream's `convertTimeStamp`).
fn ms(ns: u64) -> i64 {
    (ns as i64) / 1_000_000
}

/// The most characters an exemplar's labels take with its filtered attributes (upstream's
/// `maxExemplarRunes`): past it, only `trace_id` and `span_id` are kept.
const MAX_EXEMPLAR_CHARS: usize = 128;

/// Upstream's `getPromExemplars`: `trace_id` and `span_id` in hex (when not all zeros),
/// the filtered attributes as they are (when everything fits in
/// [`MAX_EXEMPLAR_CHARS`]), the time in ms (none when 0).
fn prom_exemplars(exemplars: &[proto::Exemplar]) -> Result<Vec<model::Exemplar>, String> {
    let mut out = Vec::with_capacity(exemplars.len());
    for e in exemplars {
        let value = match e.value {
            Some(proto::ExemplarValue::AsDouble(d)) => d,
            Some(proto::ExemplarValue::AsInt(i)) => i as f64,
            None => return Err("unsupported exemplar value type: Empty".into()),
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut chars = 0;
        for (key, id) in [("trace_id", &e.trace_id), ("span_id", &e.span_id)] {
            if id.iter().any(|b| *b != 0) {
                let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
                chars += key.len() + hex.len();
                pairs.push((key.to_string(), hex));
            }
        }
        let attributes: Vec<(String, String)> = e
            .filtered_attributes
            .iter()
            .map(|kv| {
                let value = as_string(kv.value.as_ref());
                (kv.key.clone(), value)
            })
            .collect();
        chars += attributes
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum::<usize>();
        if chars <= MAX_EXEMPLAR_CHARS {
            pairs.extend(attributes);
        }
        let timestamp_ms = ms(e.time_unix_nano);
        out.push(model::Exemplar {
            labels: Labels::from_pairs(pairs),
            value,
            timestamp_ms,
            has_timestamp: timestamp_ms != 0,
        });
    }
    Ok(out)
}

/// The value of a point, or the staleness marker for a point flagged as having none.
fn point_value(value: f64, flags: u32) -> f64 {
    if flags & proto::FLAG_NO_RECORDED_VALUE != 0 {
        model::stale_nan()
    } else {
        value
    }
}

/// The label-making state of one request: the current resource's and scope's labels,
/// which name collisions were reported, which `target_info` samples were written.
struct Converter<'s> {
    settings: &'s Settings,
    label_namer: LabelNamer,
    label_names: HashMap<String, String>,
    job: String,
    instance: String,
    promoted: Labels,
    /// The current scope's labels, when scope metadata is promoted and the scope has a name.
    scope: Option<Labels>,
    /// Which attributes are being turned into labels, for collision warnings.
    collision_source: &'static str,
    reported_collisions: HashSet<String>,
    collision_warnings: Vec<Warning>,
    /// The `target_info` samples written, by labels: their times.
    seen_target_info: HashMap<Labels, HashSet<i64>>,
    translated_bytes: usize,
    out: Translation,
}

impl<'s> Converter<'s> {
    fn new(settings: &'s Settings) -> Self {
        Converter {
            settings,
            label_namer: LabelNamer {
                utf8_allowed: settings.allow_utf8,
                underscore_sanitization: settings.label_name_underscore_sanitization,
                preserve_multiple_underscores: settings.label_name_preserve_multiple_underscores,
            },
            label_names: HashMap::new(),
            job: String::new(),
            instance: String::new(),
            promoted: Labels::default(),
            scope: None,
            collision_source: "data point",
            reported_collisions: HashSet::new(),
            collision_warnings: Vec::new(),
            seen_target_info: HashMap::new(),
            translated_bytes: 0,
            out: Translation::default(),
        }
    }

    /// A sanitized label name, remembered for the rest of the request.
    fn label_name(&mut self, attribute: &str) -> Result<String, String> {
        if let Some(name) = self.label_names.get(attribute) {
            return Ok(name.clone());
        }
        let name = self.label_namer.build(attribute)?;
        self.label_names.insert(attribute.to_string(), name.clone());
        Ok(name)
    }

    fn set_resource_context(&mut self, attributes: &[KeyValue]) -> Result<(), String> {
        let first = |key: &str| attributes.iter().find(|kv| kv.key == key);
        self.job = match first("service.name") {
            Some(name) => {
                let name = as_string(name.value.as_ref());
                match first("service.namespace") {
                    Some(ns) => format!("{}/{name}", as_string(ns.value.as_ref())),
                    None => name,
                }
            }
            None => String::new(),
        };
        self.instance = first("service.instance.id")
            .map(|kv| as_string(kv.value.as_ref()))
            .unwrap_or_default();
        self.promoted = Labels::default();
        self.scope = None;
        if let Some(promote) = &self.settings.promote_resource_attributes {
            let mut promoted = LabelsBuilder::default();
            for kv in attributes.iter().filter(|kv| promote.promotes(&kv.key)) {
                let name = self.label_name(&kv.key)?;
                promoted.set(name, as_string(kv.value.as_ref()));
            }
            self.promoted = promoted.build();
        }
        Ok(())
    }

    fn set_scope_context(&mut self, scope_metrics: &proto::ScopeMetrics) -> Result<(), String> {
        self.scope = None;
        let Some(scope) = scope_metrics.scope.as_ref() else {
            return Ok(());
        };
        if !self.settings.promote_scope_metadata || scope.name.is_empty() {
            return Ok(());
        }
        let mut labels = LabelsBuilder::default();
        for kv in &scope.attributes {
            let name = self.label_name(&format!("otel_scope_{}", kv.key))?;
            labels.set(name, as_string(kv.value.as_ref()));
        }
        labels.set("otel_scope_name", scope.name.clone());
        labels.set("otel_scope_version", scope.version.clone());
        labels.set("otel_scope_schema_url", scope_metrics.schema_url.clone());
        self.scope = Some(labels.build());
        Ok(())
    }

    /// A series' labels from its attributes (upstream's `createAttributes`): attribute
    /// names sanitized (unless UTF-8 is allowed) with colliding names' values joined by `;`
    /// in name order, then promoted resource attributes where the point has none, `job`
    /// and `instance`, the scope's labels, and `extras` (the metric name) last.
    fn labels(
        &mut self,
        attributes: &[KeyValue],
        ignored: &[&str],
        with_promoted_and_scope: bool,
        extras: &[(&str, &str)],
    ) -> Result<LabelsBuilder, String> {
        let mut pairs: Vec<(&str, String)> = attributes
            .iter()
            .filter(|kv| !ignored.contains(&kv.key.as_str()))
            .map(|kv| (kv.key.as_str(), as_string(kv.value.as_ref())))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut builder = LabelsBuilder::default();
        if self.settings.allow_utf8 {
            // Names are kept as written; an empty one cannot be stored or queried, so it
            // is left out (upstream would keep it).
            for (key, value) in pairs.into_iter().filter(|(k, _)| !k.is_empty()) {
                builder.set(key, value);
            }
        } else {
            let names = pairs
                .iter()
                .map(|(key, _)| self.label_name(key))
                .collect::<Result<Vec<_>, _>>()?;
            for (name, (_, value)) in names.iter().zip(&pairs) {
                match builder.get(name) {
                    Some(existing) => {
                        let joined = format!("{existing};{value}");
                        self.report_collision(&pairs, &names, name);
                        builder.set(name.clone(), joined);
                    }
                    None => builder.set(name.clone(), value.clone()),
                }
            }
        }
        if with_promoted_and_scope && self.settings.promote_resource_attributes.is_some() {
            for l in self.promoted.iter() {
                if builder.get(&l.name).is_none() {
                    builder.set(l.name.clone(), l.value.clone());
                }
            }
        }
        if !self.job.is_empty() {
            builder.set("job", self.job.clone());
        }
        if !self.instance.is_empty() {
            builder.set("instance", self.instance.clone());
        }
        if with_promoted_and_scope {
            if let Some(scope) = &self.scope {
                for l in scope.iter() {
                    builder.set(l.name.clone(), l.value.clone());
                }
            }
        }
        for (name, value) in extras {
            // Reserved `__x__` names are kept; others are sanitized like attributes.
            let reserved = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
            let name = if reserved {
                name.to_string()
            } else {
                self.label_name(name)?
            };
            builder.set(name, *value);
        }
        Ok(builder)
    }

    /// Reports, once per label name and request, which attributes collided into it.
    fn report_collision(&mut self, pairs: &[(&str, String)], names: &[String], name: &str) {
        if !self.reported_collisions.insert(name.to_string()) {
            return;
        }
        let keys: Vec<String> = pairs
            .iter()
            .zip(names)
            .filter(|(_, n)| *n == name)
            .map(|((key, _), _)| go_quote(key))
            .collect();
        self.collision_warnings.push(Warning {
            category: WarningCategory::LabelNameCollision,
            message: format!(
                "OTLP {} attributes {} collide as label {} after name sanitization, values are concatenated with ';'",
                self.collision_source,
                keys.join(", "),
                go_quote(name)
            ),
        });
    }

    /// Counts `bytes` against [`MAX_TRANSLATED_BYTES`].
    fn charge(&mut self, bytes: usize) -> Result<(), Failure> {
        self.translated_bytes = self.translated_bytes.saturating_add(bytes);
        if self.translated_bytes > MAX_TRANSLATED_BYTES {
            return Err(Failure::TooLarge);
        }
        Ok(())
    }

    fn push(&mut self, labels: Labels, t: i64, v: f64, st: i64) -> Result<(), Failure> {
        // What the sample's labels take in memory, roughly: text plus two string headers.
        const LABEL_OVERHEAD: usize = 48;
        const SAMPLE_OVERHEAD: usize = 64;
        self.charge(
            SAMPLE_OVERHEAD
                + labels
                    .iter()
                    .map(|l| l.name.len() + l.value.len() + LABEL_OVERHEAD)
                    .sum::<usize>(),
        )?;
        self.out.samples.push((labels, t, v));
        self.out.start_timestamps.push(st);
        Ok(())
    }

    fn push_histogram(
        &mut self,
        labels: Labels,
        t: i64,
        h: model::histogram::Histogram,
        st: i64,
    ) -> Result<(), Failure> {
        const LABEL_OVERHEAD: usize = 48;
        const HISTOGRAM_OVERHEAD: usize = 160;
        self.charge(
            HISTOGRAM_OVERHEAD
                + 8 * (h.positive_buckets.len() + h.negative_buckets.len())
                + labels
                    .iter()
                    .map(|l| l.name.len() + l.value.len() + LABEL_OVERHEAD)
                    .sum::<usize>(),
        )?;
        self.out
            .histograms
            .push((labels, t, model::histogram::HistogramValue::Int(h)));
        self.out.histogram_start_timestamps.push(st);
        Ok(())
    }

    fn warn_empty(&mut self, metric: &Metric) {
        self.out.warnings.push(Warning {
            category: WarningCategory::EmptyDataPoints,
            message: format!("empty data points. {} is dropped", metric.name),
        });
    }

    fn metric(&mut self, metric: &Metric, namer: &MetricNamer) -> Result<(), Failure> {
        let Some(data) = &metric.data else {
            return Err(Failure::Error(format!(
                "could not get aggregation temporality for {} as it has unsupported metric type Empty",
                metric.name
            )));
        };
        let (temporality, kind) = match data {
            MetricData::Gauge(_) => (None, MetricKind::Gauge),
            MetricData::Sum(s) if s.is_monotonic => (
                Some(s.aggregation_temporality),
                MetricKind::MonotonicCounter,
            ),
            MetricData::Sum(s) => (
                Some(s.aggregation_temporality),
                MetricKind::NonMonotonicCounter,
            ),
            MetricData::Histogram(h) => (Some(h.aggregation_temporality), MetricKind::Histogram),
            MetricData::ExponentialHistogram(h) => (
                Some(h.aggregation_temporality),
                MetricKind::ExponentialHistogram,
            ),
            MetricData::Summary(_) => (None, MetricKind::Summary),
        };
        if let Some(t) = temporality {
            let allowed = t == proto::AGGREGATION_TEMPORALITY_CUMULATIVE
                || (self.settings.allow_delta_temporality
                    && t == proto::AGGREGATION_TEMPORALITY_DELTA);
            if !allowed {
                return Err(Failure::Error(format!(
                    "invalid temporality and type combination for metric {}",
                    go_quote(&metric.name)
                )));
            }
        }
        let name = namer.build(&metric.name, &metric.unit, kind)?;
        match data {
            MetricData::Gauge(proto::Gauge { data_points })
            | MetricData::Sum(proto::Sum { data_points, .. }) => {
                if data_points.is_empty() {
                    self.warn_empty(metric);
                }
                // Upstream keeps the exemplars of sums, not of gauges.
                let sum = matches!(data, MetricData::Sum(_));
                for p in data_points {
                    let labels = self
                        .labels(
                            &p.attributes,
                            &RESERVED_LABEL_NAMES,
                            true,
                            &[(model::METRIC_NAME, &name)],
                        )?
                        .build();
                    let value = match p.value {
                        Some(proto::NumberValue::AsInt(i)) => i as f64,
                        Some(proto::NumberValue::AsDouble(d)) => d,
                        None => 0.0,
                    };
                    if sum && !p.exemplars.is_empty() {
                        let exemplars = prom_exemplars(&p.exemplars)?;
                        self.out
                            .exemplars
                            .extend(exemplars.into_iter().map(|e| (labels.clone(), e)));
                    }
                    self.push(
                        labels,
                        ms(p.time_unix_nano),
                        point_value(value, p.flags),
                        ms(p.start_time_unix_nano),
                    )?;
                }
            }
            MetricData::Histogram(h) => {
                if h.data_points.is_empty() {
                    self.warn_empty(metric);
                }
                for p in &h.data_points {
                    self.histogram_point(p, &name)?;
                }
            }
            MetricData::ExponentialHistogram(h) => {
                if h.data_points.is_empty() {
                    self.warn_empty(metric);
                }
                let delta = h.aggregation_temporality == proto::AGGREGATION_TEMPORALITY_DELTA;
                for p in &h.data_points {
                    let histogram = exponential_to_native(p, delta)?;
                    let labels = self
                        .labels(
                            &p.attributes,
                            &RESERVED_LABEL_NAMES,
                            true,
                            &[(model::METRIC_NAME, &name)],
                        )?
                        .build();
                    if !p.exemplars.is_empty() {
                        let exemplars = prom_exemplars(&p.exemplars)?;
                        self.out
                            .exemplars
                            .extend(exemplars.into_iter().map(|e| (labels.clone(), e)));
                    }
                    self.push_histogram(
                        labels,
                        ms(p.time_unix_nano),
                        histogram,
                        ms(p.start_time_unix_nano),
                    )?;
                }
            }
            MetricData::Summary(s) => {
                if s.data_points.is_empty() {
                    self.warn_empty(metric);
                }
                for p in &s.data_points {
                    self.summary_point(p, &name)?;
                }
            }
        }
        Ok(())
    }

    /// One explicit-bucket point as classic histogram series: `_sum` (when the point has
    /// a sum), `_count`, then cumulative `_bucket{le}` series and `le="+Inf"` (the count).
    fn histogram_point(
        &mut self,
        p: &proto::HistogramDataPoint,
        name: &str,
    ) -> Result<(), Failure> {
        let t = ms(p.time_unix_nano);
        let st = ms(p.start_time_unix_nano);
        let base = self.labels(&p.attributes, &RESERVED_LABEL_NAMES, true, &[])?;
        if let Some(sum) = p.sum {
            let labels = named(&base, &format!("{name}_sum"), None);
            self.push(labels, t, point_value(sum, p.flags), st)?;
        }
        let count = point_value(p.count as f64, p.flags);
        self.push(named(&base, &format!("{name}_count"), None), t, count, st)?;
        let bucket_name = format!("{name}_bucket");
        // Each exemplar goes with the first bucket whose bound is at least its value,
        // walking both in order as upstream does (it takes them as sorted); the rest with
        // `+Inf`.
        let mut exemplars = prom_exemplars(&p.exemplars)?.into_iter().peekable();
        let mut cumulative = 0u64;
        for (bound, n) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
            cumulative = cumulative.wrapping_add(*n);
            let le = model::float::format_go_f(*bound);
            let labels = named(&base, &bucket_name, Some(("le", le)));
            while let Some(e) = exemplars.next_if(|e| e.value <= *bound) {
                self.out.exemplars.push((labels.clone(), e));
            }
            self.push(labels, t, point_value(cumulative as f64, p.flags), st)?;
        }
        let labels = named(&base, &bucket_name, Some(("le", "+Inf".into())));
        self.out
            .exemplars
            .extend(exemplars.map(|e| (labels.clone(), e)));
        self.push(labels, t, count, st)
    }

    /// One summary point: `_sum`, `_count`, and a `quantile` series per quantile.
    fn summary_point(&mut self, p: &proto::SummaryDataPoint, name: &str) -> Result<(), Failure> {
        let t = ms(p.time_unix_nano);
        let st = ms(p.start_time_unix_nano);
        let base = self.labels(&p.attributes, &RESERVED_LABEL_NAMES, true, &[])?;
        let sum = named(&base, &format!("{name}_sum"), None);
        self.push(sum, t, point_value(p.sum, p.flags), st)?;
        let count = named(&base, &format!("{name}_count"), None);
        self.push(count, t, point_value(p.count as f64, p.flags), st)?;
        for q in &p.quantile_values {
            let quantile = model::float::format_go_f(q.quantile);
            let labels = named(&base, name, Some(("quantile", quantile)));
            self.push(labels, t, point_value(q.value, p.flags), st)?;
        }
        Ok(())
    }

    /// `target_info`: the resource's attributes (less the identifying ones, unless kept)
    /// with `job`/`instance`, value 1, from the earliest point's time to the latest, every
    /// half lookback delta and at the latest; nothing when the resource has no other
    /// attributes or neither `job` nor `instance`. Equal samples of several resources are
    /// written once.
    fn target_info(
        &mut self,
        attributes: &[KeyValue],
        earliest_ns: u64,
        latest_ns: u64,
    ) -> Result<(), Failure> {
        let identifying_present = IDENTIFYING_ATTRIBUTES
            .iter()
            .filter(|a| attributes.iter().any(|kv| kv.key == **a))
            .count();
        if attributes.len() == identifying_present {
            return Ok(());
        }
        let name = if self.settings.namespace.is_empty() {
            "target_info".to_string()
        } else {
            format!("{}_target_info", self.settings.namespace)
        };
        let ignored: &[&str] = if self.settings.keep_identifying_resource_attributes {
            &[]
        } else {
            &IDENTIFYING_ATTRIBUTES
        };
        self.collision_source = "resource";
        let labels = self.labels(attributes, ignored, false, &[(model::METRIC_NAME, &name)]);
        self.collision_source = "data point";
        let labels = labels?.build();
        if labels.get("job").is_none() && labels.get("instance").is_none() {
            return Ok(());
        }
        let lookback_ms = match self.settings.lookback_delta_ms {
            0 => DEFAULT_LOOKBACK_DELTA_MS,
            l => l,
        };
        let interval_ns = (lookback_ms.saturating_mul(1_000_000) / 2).max(1);
        // As Go's time.Unix(0, int64(ns)).
        let (earliest, latest) = (earliest_ns as i64, latest_ns as i64);
        // At most steps + 1 grid points lie before `latest`; keep the newest
        // MAX_TARGET_INFO_SAMPLES - 1 of them, so that with the last sample there are at
        // most MAX_TARGET_INFO_SAMPLES.
        let steps = (i128::from(latest) - i128::from(earliest)) / i128::from(interval_ns);
        let skipped = (steps + 2 - i128::from(MAX_TARGET_INFO_SAMPLES)).max(0);
        let mut times = Vec::new();
        let mut t = i128::from(earliest) + skipped * i128::from(interval_ns);
        while t < i128::from(latest) {
            // In range: earliest <= t < latest.
            times.push(floor_ms(t as i64));
            t += i128::from(interval_ns);
        }
        times.push(floor_ms(latest));
        // Every grid point costs, written or not: a request repeating one resource many
        // times writes its samples once but must not get its grid walked for free.
        self.charge(times.len() * TARGET_INFO_POINT_COST)?;
        let seen = self.seen_target_info.entry(labels.clone()).or_default();
        times.retain(|t| seen.insert(*t));
        for t in times {
            self.push(labels.clone(), t, 1.0, 0)?;
        }
        Ok(())
    }
}

/// What looking at one `target_info` grid point is charged against
/// [`MAX_TRANSLATED_BYTES`], besides the sample it may become.
const TARGET_INFO_POINT_COST: usize = 16;

/// Go's `Time.UnixMilli` of a time in ns: rounded down.
fn floor_ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000)
}

/// `base` with the metric name and one more label (upstream's `addLabels`).
fn named(base: &LabelsBuilder, name: &str, extra: Option<(&str, String)>) -> Labels {
    let mut builder = base.clone();
    if let Some((label, value)) = extra {
        builder.set(label, value);
    }
    builder.set(model::METRIC_NAME, name);
    builder.build()
}

#[cfg(test)]
mod tests;

/// The most buckets an exponential histogram point may have on one side (a point over it
/// is an error rather than memory spent on it).
const MAX_EXPONENTIAL_BUCKETS: usize = 1 << 16;

/// An exponential histogram point as a native histogram (upstream's
/// `exponentialToNativeHistogram`): the scale is the schema (above 8, buckets are merged
/// down to 8; below -4, an error), OTLP's bucket `i`, (base^i, base^(i+1)], is
/// Prometheus's `i + 1`; the zero threshold is Prometheus's default; delta points are gauge
/// histograms; a point without a recorded value is a staleness marker.
fn exponential_to_native(
    p: &proto::ExponentialHistogramDataPoint,
    delta: bool,
) -> Result<model::histogram::Histogram, String> {
    use model::histogram::{
        CounterResetHint, Histogram, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN,
    };
    let mut scale = p.scale;
    if scale < EXPONENTIAL_SCHEMA_MIN {
        return Err(format!(
            "cannot convert exponential to native histogram. Scale must be >= {EXPONENTIAL_SCHEMA_MIN}, was {scale}"
        ));
    }
    let mut scale_down = 0;
    if scale > EXPONENTIAL_SCHEMA_MAX {
        scale_down = scale - EXPONENTIAL_SCHEMA_MAX;
        scale = EXPONENTIAL_SCHEMA_MAX;
    }
    let side = |b: &Option<proto::Buckets>| -> Result<_, String> {
        let Some(b) = b else {
            return Ok((Vec::new(), Vec::new()));
        };
        if b.bucket_counts.len() > MAX_EXPONENTIAL_BUCKETS {
            return Err(format!(
                "exponential histogram data point has {} buckets, more than {MAX_EXPONENTIAL_BUCKETS}",
                b.bucket_counts.len()
            ));
        }
        Ok(convert_buckets_layout(
            &b.bucket_counts,
            b.offset,
            scale_down,
        ))
    };
    let (positive_spans, positive_buckets) = side(&p.positive)?;
    let (negative_spans, negative_buckets) = side(&p.negative)?;
    let mut h = Histogram {
        counter_reset_hint: if delta {
            CounterResetHint::Gauge
        } else {
            CounterResetHint::Unknown
        },
        schema: scale,
        zero_threshold: 1e-128,
        zero_count: p.zero_count,
        positive_spans,
        positive_buckets,
        negative_spans,
        negative_buckets,
        ..Histogram::default()
    };
    if p.flags & proto::FLAG_NO_RECORDED_VALUE != 0 {
        h.sum = model::stale_nan();
        h.count = model::stale_nan().to_bits();
    } else {
        h.sum = p.sum.unwrap_or(0.0);
        h.count = p.count;
    }
    Ok(h)
}

/// OTLP bucket counts from `offset` as Prometheus spans and deltas (upstream's
/// `convertBucketsLayout` with `adjustOffset`): indexes shifted by one, `scale_down`
/// halvings merging neighbours, gaps of up to two empty buckets filled in, longer ones
/// starting a new span.
fn convert_buckets_layout(
    counts: &[u64],
    offset: i32,
    scale_down: i32,
) -> (Vec<model::histogram::Span>, Vec<i64>) {
    use model::histogram::Span;
    /// Spans and deltas as they are built.
    struct Layout {
        spans: Vec<Span>,
        deltas: Vec<i64>,
        prev: i64,
    }
    impl Layout {
        fn append(&mut self, count: i64) {
            if let Some(last) = self.spans.last_mut() {
                last.length += 1;
            }
            self.deltas.push(count.wrapping_sub(self.prev));
            self.prev = count;
        }
        /// Up to two empty buckets are written out; a longer gap starts a new span.
        fn gap(&mut self, gap: i32) {
            if gap > 2 {
                self.spans.push(Span::new(gap, 0));
            } else {
                for _ in 0..gap.max(0) {
                    self.append(0);
                }
            }
        }
    }
    if counts.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut layout = Layout {
        spans: vec![Span::new((offset >> scale_down) + 1, 0)],
        deltas: Vec::with_capacity(counts.len()),
        prev: 0,
    };
    let mut bucket_idx = (offset >> scale_down) + 1;
    let mut count = 0i64;
    for (i, &c) in counts.iter().enumerate() {
        let next_idx = ((i as i32).wrapping_add(offset) >> scale_down) + 1;
        if bucket_idx == next_idx {
            count = count.wrapping_add(c as i64);
            continue;
        }
        if count == 0 {
            count = c as i64;
            continue;
        }
        layout.gap(next_idx - bucket_idx - 1);
        layout.append(count);
        count = c as i64;
        bucket_idx = next_idx;
    }
    layout.gap((((counts.len() as i32).wrapping_add(offset) - 1) >> scale_down) + 1 - bucket_idx);
    layout.append(count);
    (layout.spans, layout.deltas)
}
