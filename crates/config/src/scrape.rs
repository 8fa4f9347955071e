//! `scrape_configs` entries: what to scrape, how, and with which limits, as Prometheus's
//! `ScrapeConfig` reads and validates them (defaults from `global`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::global::{GlobalConfig, ProtocolList, ValidationScheme};
use crate::http::HttpClientConfig;
use crate::relabel::RelabelConfig;
use crate::sd::SdConfigs;
use crate::values::{ByteSize, PromDuration};

/// A scrape protocol name (`scrape_protocols`, `fallback_scrape_protocol`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ScrapeProtocol(pub String);

/// The names Prometheus knows, sorted as its error messages list them.
pub const SCRAPE_PROTOCOL_NAMES: [&str; 5] = [
    "OpenMetricsText0.0.1",
    "OpenMetricsText1.0.0",
    "PrometheusProto",
    "PrometheusText0.0.4",
    "PrometheusText1.0.0",
];

/// Prometheus's default negotiation order.
pub const DEFAULT_SCRAPE_PROTOCOLS: [&str; 4] = [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

/// The order used when native histograms are scraped: protobuf first.
pub const PROTO_FIRST_SCRAPE_PROTOCOLS: [&str; 5] = [
    "PrometheusProto",
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

impl ScrapeProtocol {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Accept` header media type of this protocol.
    pub fn header(&self) -> Option<&'static str> {
        Some(match self.0.as_str() {
            "PrometheusProto" => "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            "PrometheusText0.0.4" => "text/plain;version=0.0.4",
            "PrometheusText1.0.0" => "text/plain;version=1.0.0",
            "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
            "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0",
            _ => return None,
        })
    }

    fn validate(&self) -> Result<(), String> {
        if self.header().is_none() {
            return Err(format!(
                "unknown scrape protocol {}, supported: [{}]",
                self.0,
                SCRAPE_PROTOCOL_NAMES.join(" ")
            ));
        }
        Ok(())
    }
}

impl Decode for ScrapeProtocol {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        d.decode(node, &mut self.0)
    }
    fn go_type() -> String {
        "config.ScrapeProtocol".into()
    }
}

/// Prometheus's `validateAcceptScrapeProtocols`.
pub(crate) fn validate_protocols(protocols: &[ScrapeProtocol]) -> Result<(), String> {
    if protocols.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    let mut seen = Vec::new();
    for p in protocols {
        let lower = p.0.to_lowercase();
        if seen.contains(&lower) {
            let list: Vec<&str> = protocols.iter().map(|p| p.0.as_str()).collect();
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                list.join(" ")
            ));
        }
        p.validate().map_err(|e| format!("scrape_protocols: {e}"))?;
        seen.push(lower);
    }
    Ok(())
}

/// `params`: query parameters, each with one or more values (Go's `url.Values`).
pub type Params = BTreeMap<String, Vec<String>>;

/// One `scrape_configs` entry. `Default` is the zero value (a `null` entry);
/// [`ScrapeConfig::defaults`] has Prometheus's `DefaultScrapeConfig`. After
/// [`crate::Config::load`], every setting inherited from `global` is filled in.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: Params,
    pub scrape_interval: PromDuration,
    pub scrape_timeout: PromDuration,
    pub scrape_protocols: Vec<ScrapeProtocol>,
    #[serde(skip)]
    scrape_protocols_raw: ProtocolList,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_native_histograms: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub always_scrape_classic_histograms: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    pub metrics_path: String,
    pub scheme: String,
    pub enable_compression: bool,
    pub body_size_limit: ByteSize,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub native_histogram_bucket_limit: u64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub native_histogram_min_bucket_factor: f64,
    pub keep_dropped_targets: u64,
    pub metric_name_validation_scheme: ValidationScheme,
    pub metric_name_escaping_scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_scrape_metrics: Option<bool>,
    #[serde(flatten)]
    pub sd: SdConfigs,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

goyaml::fields!(ScrapeConfig as "config.ScrapeConfig" {
    "job_name" => job_name,
    "honor_labels" => honor_labels,
    "honor_timestamps" => honor_timestamps,
    "track_timestamps_staleness" => track_timestamps_staleness,
    "params" => params,
    "scrape_interval" => scrape_interval,
    "scrape_timeout" => scrape_timeout,
    "scrape_protocols" => scrape_protocols_raw,
    "fallback_scrape_protocol" => fallback_scrape_protocol,
    "scrape_native_histograms" => scrape_native_histograms,
    "always_scrape_classic_histograms" => always_scrape_classic_histograms,
    "convert_classic_histograms_to_nhcb" => convert_classic_histograms_to_nhcb,
    "scrape_failure_log_file" => scrape_failure_log_file,
    "metrics_path" => metrics_path,
    "scheme" => scheme,
    "enable_compression" => enable_compression,
    "body_size_limit" => body_size_limit,
    "sample_limit" => sample_limit,
    "target_limit" => target_limit,
    "label_limit" => label_limit,
    "label_name_length_limit" => label_name_length_limit,
    "label_value_length_limit" => label_value_length_limit,
    "native_histogram_bucket_limit" => native_histogram_bucket_limit,
    "native_histogram_min_bucket_factor" => native_histogram_min_bucket_factor,
    "keep_dropped_targets" => keep_dropped_targets,
    "metric_name_validation_scheme" => metric_name_validation_scheme,
    "metric_name_escaping_scheme" => metric_name_escaping_scheme,
    "extra_scrape_metrics" => extra_scrape_metrics,
    "relabel_configs" => relabel_configs,
    "metric_relabel_configs" => metric_relabel_configs,
} inline sd, http);

impl Decode for ScrapeConfig {
    /// Prometheus's `ScrapeConfig.UnmarshalYAML` (the checks that need no `global`).
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.sd.check_entries()?;
        if self.job_name.is_empty() {
            return Err(Fatal::new("job_name is empty"));
        }
        self.http.validate()?;
        if self.relabel_configs.is_empty() {
            check_static_targets(&self.sd)?;
        }
        if self.relabel_configs.iter().any(RelabelConfig::is_null) {
            return Err(Fatal::new(
                "empty or null target relabeling rule in scrape config",
            ));
        }
        if self
            .metric_relabel_configs
            .iter()
            .any(RelabelConfig::is_null)
        {
            return Err(Fatal::new(
                "empty or null metric relabeling rule in scrape config",
            ));
        }
        Ok(true)
    }
    fn go_type() -> String {
        "config.ScrapeConfig".into()
    }
}

/// Prometheus's `checkStaticTargets`: a URL is not a target address.
pub(crate) fn check_static_targets(sd: &SdConfigs) -> Result<(), Fatal> {
    for group in sd.static_configs.iter().flatten() {
        for target in &group.targets {
            if target.contains('/') {
                return Err(Fatal(format!(
                    "{} is not a valid hostname",
                    goyaml::go_quote(target)
                )));
            }
        }
    }
    Ok(())
}

const ESCAPING_SCHEMES: [&str; 4] = ["allow-utf-8", "underscores", "dots", "values"];

impl ScrapeConfig {
    /// Prometheus's `DefaultScrapeConfig`.
    pub fn defaults() -> Self {
        Self {
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            honor_timestamps: true,
            enable_compression: true,
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// A job with every default, as if written as just `job_name: NAME`, validated
    /// against the default `global`.
    pub fn named(name: &str) -> Self {
        let mut job = Self::defaults();
        job.job_name = name.to_string();
        // A bare job against the default global section always validates.
        let _ = job.validate(&GlobalConfig::defaults());
        job
    }

    /// Whether this entry was `null` in the file.
    pub fn is_null(&self) -> bool {
        *self == Self::default()
    }

    /// Prometheus's `ScrapeConfig.Validate`: inherits from `global` and checks what
    /// needs it.
    pub fn validate(&mut self, global: &GlobalConfig) -> Result<(), String> {
        let name = goyaml::go_quote(&self.job_name);
        if self.scrape_interval.0.is_zero() {
            self.scrape_interval = global.scrape_interval;
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {name}"
            ));
        }
        if self.scrape_timeout.0.is_zero() {
            self.scrape_timeout = global.scrape_timeout.min(self.scrape_interval);
        }
        if self.body_size_limit.0 == 0 {
            self.body_size_limit = global.body_size_limit;
        }
        for (local, inherited) in [
            (&mut self.sample_limit, global.sample_limit),
            (&mut self.target_limit, global.target_limit),
            (&mut self.label_limit, global.label_limit),
            (
                &mut self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            (
                &mut self.label_value_length_limit,
                global.label_value_length_limit,
            ),
            (&mut self.keep_dropped_targets, global.keep_dropped_targets),
        ] {
            if *local == 0 {
                *local = inherited;
            }
        }
        if self.scrape_failure_log_file.is_empty() {
            self.scrape_failure_log_file = global.scrape_failure_log_file.clone();
        }
        if self.scrape_native_histograms.is_none() {
            self.scrape_native_histograms = global.scrape_native_histograms;
        }
        if self.extra_scrape_metrics.is_none() {
            self.extra_scrape_metrics = global.extra_scrape_metrics;
        }
        let protocols = match self.scrape_protocols_raw.0.clone() {
            Some(list) => list,
            None if global.scrape_protocols_set => global.scrape_protocols.clone(),
            None if self.scrape_native_histograms == Some(true) => PROTO_FIRST_SCRAPE_PROTOCOLS
                .iter()
                .map(|p| ScrapeProtocol(p.to_string()))
                .collect(),
            None => DEFAULT_SCRAPE_PROTOCOLS
                .iter()
                .map(|p| ScrapeProtocol(p.to_string()))
                .collect(),
        };
        validate_protocols(&protocols)
            .map_err(|e| format!("{e} for scrape config with job name {name}"))?;
        self.scrape_protocols = protocols;
        if let Some(fallback) = &self.fallback_scrape_protocol {
            if !fallback.0.is_empty() {
                fallback.validate().map_err(|e| {
                    format!("invalid fallback_scrape_protocol for scrape config with job name {name}: {e}")
                })?;
            } else {
                self.fallback_scrape_protocol = None;
            }
        }
        let local_unset = self.metric_name_validation_scheme == ValidationScheme::Unset;
        if local_unset {
            self.metric_name_validation_scheme = global.metric_name_validation_scheme;
        }
        let global_escaping = match global.metric_name_escaping_scheme.as_str() {
            "" if global.metric_name_validation_scheme.is_legacy() => "underscores".to_string(),
            "" => "allow-utf-8".to_string(),
            s if ESCAPING_SCHEMES.contains(&s) => s.to_string(),
            s => {
                return Err(format!(
                    "unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                    goyaml::go_quote(s)
                ))
            }
        };
        if self.metric_name_escaping_scheme.is_empty() {
            self.metric_name_escaping_scheme = if local_unset {
                global_escaping
            } else if self.metric_name_validation_scheme.is_legacy() {
                "underscores".into()
            } else {
                "allow-utf-8".into()
            };
        }
        match self.metric_name_escaping_scheme.as_str() {
            "allow-utf-8" => {
                if self.metric_name_validation_scheme != ValidationScheme::Utf8 {
                    return Err(
                        "utf8 metric names requested but validation scheme is not set to UTF8"
                            .into(),
                    );
                }
            }
            "underscores" | "dots" | "values" => {}
            other => {
                return Err(format!(
                    "unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                    goyaml::go_quote(other)
                ))
            }
        }
        if self.convert_classic_histograms_to_nhcb.is_none() {
            self.convert_classic_histograms_to_nhcb =
                Some(global.convert_classic_histograms_to_nhcb);
        }
        if self.always_scrape_classic_histograms.is_none() {
            self.always_scrape_classic_histograms = Some(global.always_scrape_classic_histograms);
        }
        let legacy = self.metric_name_validation_scheme.is_legacy();
        for rc in self
            .relabel_configs
            .iter()
            .chain(&self.metric_relabel_configs)
        {
            rc.validate(legacy)?;
        }
        Ok(())
    }

    pub fn set_directory(&mut self, dir: &Path) {
        self.sd.set_directory(dir);
        self.http.set_directory(dir);
        crate::join_dir(dir, &mut self.scrape_failure_log_file);
    }

    /// The scrape interval.
    pub fn interval(&self) -> Duration {
        self.scrape_interval.0
    }

    /// The scrape timeout.
    pub fn timeout(&self) -> Duration {
        self.scrape_timeout.0
    }
}
