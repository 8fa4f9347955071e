//! prometheus.yml (`--config.file`): parsed strictly (unknown and duplicate keys are
//! errors with their line and column), defaults filled in, and validated with Prometheus's
//! rules and messages. Relative file paths are resolved against the file's directory.

mod relabel;
mod values;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

pub use relabel::{RelabelAction, RelabelConfig};
pub use values::{AnchoredRegex, ByteSize, LabelName, PromDuration};

/// Why a configuration file cannot be used. `Display` is what `check config` prints.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{0}")]
    Read(String),
    /// YAML syntax, an unknown or repeated key, or a value of the wrong kind.
    #[error("parsing YAML file {file}: {message}")]
    Parse { file: String, message: String },
    /// The values do not fit together.
    #[error("{0}")]
    Invalid(String),
}

/// The names `scrape_protocols` accepts, in Prometheus's default order of preference.
pub const SCRAPE_PROTOCOLS: [&str; 5] = [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
    "PrometheusProto",
];

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Set on [`Config::self_scrape`]: the built-in default, used when there is no file.
    #[serde(skip)]
    pub builtin: bool,
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Accepted for compatibility; rule evaluation is not implemented yet.
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Accepted for compatibility; these take effect when their features land.
    #[serde(default)]
    pub scrape_config_files: Vec<String>,
    #[serde(default, skip_serializing)]
    alerting: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    remote_write: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    remote_read: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    storage: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    tracing: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    runtime: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    otlp: Option<IgnoredAny>,
}

/// `global`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    pub scrape_interval: PromDuration,
    pub scrape_timeout: PromDuration,
    pub evaluation_interval: PromDuration,
    pub rule_query_offset: Option<PromDuration>,
    pub external_labels: BTreeMap<String, String>,
    pub scrape_protocols: Option<Vec<String>>,
    pub query_log_file: Option<String>,
    pub scrape_failure_log_file: Option<String>,
    pub body_size_limit: ByteSize,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub target_limit: u64,
    pub keep_dropped_targets: u64,
    pub metric_name_validation_scheme: Option<String>,
    pub metric_name_escaping_scheme: Option<String>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            scrape_interval: PromDuration(Duration::from_secs(60)),
            scrape_timeout: PromDuration(Duration::from_secs(10)),
            evaluation_interval: PromDuration(Duration::from_secs(60)),
            rule_query_offset: None,
            external_labels: BTreeMap::new(),
            scrape_protocols: None,
            query_log_file: None,
            scrape_failure_log_file: None,
            body_size_limit: ByteSize(0),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            target_limit: 0,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
        }
    }
}

/// One `scrape_configs` entry. After [`Config::load`]/[`Config::parse`], every `Option`
/// that has a default is `Some`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub scrape_interval: Option<PromDuration>,
    pub scrape_timeout: Option<PromDuration>,
    pub scrape_protocols: Option<Vec<String>>,
    pub fallback_scrape_protocol: Option<String>,
    #[serde(default = "default_true")]
    pub enable_compression: bool,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub honor_labels: bool,
    #[serde(default = "default_true")]
    pub honor_timestamps: bool,
    #[serde(default)]
    pub track_timestamps_staleness: bool,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls_config: Option<TlsConfig>,
    pub proxy_url: Option<String>,
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    pub sample_limit: Option<u64>,
    pub label_limit: Option<u64>,
    pub label_name_length_limit: Option<u64>,
    pub label_value_length_limit: Option<u64>,
    pub target_limit: Option<u64>,
    pub body_size_limit: Option<ByteSize>,
    pub keep_dropped_targets: Option<u64>,
    #[serde(default, skip_serializing)]
    kubernetes_sd_configs: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    dns_sd_configs: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    consul_sd_configs: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    http_sd_configs: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    ec2_sd_configs: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    docker_sd_configs: Option<IgnoredAny>,
}

/// Secrets are shown as `<secret>`, as Prometheus shows them.
fn secret<S: serde::Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str("<secret>"),
        None => s.serialize_none(),
    }
}

fn default_true() -> bool {
    true
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

fn default_scheme() -> String {
    "http".into()
}

/// `static_configs` entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    pub files: Vec<String>,
    #[serde(default = "default_file_sd_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_file_sd_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(300))
}

/// `basic_auth` of a scrape config.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    pub username_file: Option<String>,
    #[serde(serialize_with = "secret")]
    pub password: Option<String>,
    pub password_file: Option<String>,
}

/// `authorization` of a scrape config.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(rename = "type", default = "default_auth_type")]
    pub kind: String,
    #[serde(serialize_with = "secret")]
    pub credentials: Option<String>,
    pub credentials_file: Option<String>,
}

fn default_auth_type() -> String {
    "Bearer".into()
}

/// An HTTP client configuration file (`promtool --http.config.file`): how to reach a
/// server that needs authentication or TLS.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    #[serde(serialize_with = "secret")]
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
    pub tls_config: Option<TlsConfig>,
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    #[serde(default = "default_true")]
    pub enable_http2: bool,
}

impl HttpClientConfig {
    /// Reads and checks a client configuration file; relative file names in it are
    /// resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::Read(format!("open {}: {}", path.display(), io_reason(&e)))
        })?;
        let mut c: HttpClientConfig = if text.trim().is_empty() {
            HttpClientConfig {
                follow_redirects: true,
                enable_http2: true,
                ..Default::default()
            }
        } else {
            serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
                file: path.display().to_string(),
                message: e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_string(),
            })?
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        let invalid = |m: &str| ConfigError::Parse {
            file: path.display().to_string(),
            message: m.to_string(),
        };
        let auth_kinds = [
            c.basic_auth.is_some(),
            c.authorization.is_some(),
            c.bearer_token.is_some() || c.bearer_token_file.is_some(),
        ];
        if auth_kinds.iter().filter(|x| **x).count() > 1 {
            return Err(invalid(
                "at most one of basic_auth, authorization and bearer_token & bearer_token_file must be configured",
            ));
        }
        if let Some(b) = &mut c.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err(invalid(
                    "at most one of basic_auth password & password_file must be configured",
                ));
            }
            for f in [&mut b.password_file, &mut b.username_file]
                .into_iter()
                .flatten()
            {
                *f = join(dir, f);
            }
        }
        if let Some(f) = &mut c.bearer_token_file {
            *f = join(dir, f);
        }
        if let Some(a) = &mut c.authorization {
            if let Some(f) = &mut a.credentials_file {
                *f = join(dir, f);
            }
        }
        if let Some(t) = &mut c.tls_config {
            for f in [&mut t.ca_file, &mut t.cert_file, &mut t.key_file]
                .into_iter()
                .flatten()
            {
                *f = join(dir, f);
            }
        }
        Ok(c)
    }
}

fn join(dir: &Path, file: &str) -> String {
    if file.is_empty() || Path::new(file).is_absolute() {
        file.to_string()
    } else {
        dir.join(file).display().to_string()
    }
}

/// `tls_config` of a scrape config.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca: Option<String>,
    pub ca_file: Option<String>,
    pub cert: Option<String>,
    pub cert_file: Option<String>,
    #[serde(serialize_with = "secret")]
    pub key: Option<String>,
    pub key_file: Option<String>,
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::Read(format!("open {}: {}", path.display(), io_reason(&e)))
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Self::parse(&text, &path.display().to_string(), dir)
    }

    /// Parses and validates YAML text; `file` names it in errors, `dir` anchors relative paths.
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
                file: file.to_string(),
                message: e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_string(),
            })?
        };
        config.finish(dir)?;
        Ok(config)
    }

    /// Prometheus's built-in behaviour when no configuration file exists: scrape itself.
    pub fn self_scrape(target: &str) -> Self {
        let mut config = Config {
            builtin: true,
            ..Config::default()
        };
        config.global.scrape_interval = PromDuration(Duration::from_secs(15));
        config.scrape_configs.push(ScrapeConfig {
            static_configs: vec![StaticConfig {
                targets: vec![target.to_string()],
                labels: BTreeMap::new(),
            }],
            ..ScrapeConfig::named("prometheus")
        });
        // Cannot fail: every value is a valid default.
        let _ = config.finish(Path::new(""));
        config
    }

    fn finish(&mut self, dir: &Path) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let global = self.global.clone();
        if global.scrape_timeout > global.scrape_interval {
            return invalid("global scrape timeout greater than scrape interval".into());
        }
        for name in global.external_labels.keys() {
            if name.is_empty() {
                return invalid("external label name must not be empty".into());
            }
        }
        if let Some(protocols) = &global.scrape_protocols {
            check_protocols(protocols)?;
        }
        let mut jobs = HashSet::new();
        for job in &mut self.scrape_configs {
            let name = job.job_name.clone();
            if name.is_empty() {
                return invalid("job_name is empty".into());
            }
            if !jobs.insert(name.clone()) {
                return invalid(format!(
                    "found multiple scrape configs with job name {name:?}"
                ));
            }
            let context = |m: &str| format!("{m} for scrape config with job name {name:?}");
            for (field, present) in [
                ("kubernetes_sd_configs", job.kubernetes_sd_configs.is_some()),
                ("dns_sd_configs", job.dns_sd_configs.is_some()),
                ("consul_sd_configs", job.consul_sd_configs.is_some()),
                ("http_sd_configs", job.http_sd_configs.is_some()),
                ("ec2_sd_configs", job.ec2_sd_configs.is_some()),
                ("docker_sd_configs", job.docker_sd_configs.is_some()),
            ] {
                if present {
                    return invalid(context(&format!(
                        "{field} is not supported by promethium yet (use static_configs or file_sd_configs)"
                    )));
                }
            }
            let interval = *job.scrape_interval.get_or_insert(global.scrape_interval);
            let timeout = match job.scrape_timeout {
                Some(t) => t,
                None => global.scrape_timeout.min(interval),
            };
            job.scrape_timeout = Some(timeout);
            if timeout > interval {
                return invalid(format!(
                    "scrape timeout greater than scrape interval for scrape config with job name {name:?}"
                ));
            }
            if let Some(protocols) = &job.scrape_protocols {
                check_protocols(protocols)?;
            } else {
                job.scrape_protocols = Some(global.scrape_protocols.clone().unwrap_or_else(|| {
                    SCRAPE_PROTOCOLS[..4]
                        .iter()
                        .map(|s| s.to_string())
                        .collect()
                }));
            }
            if let Some(fallback) = &job.fallback_scrape_protocol {
                if !SCRAPE_PROTOCOLS.contains(&fallback.as_str()) {
                    return invalid(context(&format!(
                        "unknown fallback_scrape_protocol {fallback:?}"
                    )));
                }
            }
            if job.scheme != "http" && job.scheme != "https" {
                return invalid(context(&format!(
                    "unknown scheme {:?}: use http or https",
                    job.scheme
                )));
            }
            if !job.metrics_path.starts_with('/') {
                return invalid(context(&format!(
                    "metrics_path {:?} must start with '/'",
                    job.metrics_path
                )));
            }
            job.sample_limit.get_or_insert(global.sample_limit);
            job.label_limit.get_or_insert(global.label_limit);
            job.label_name_length_limit
                .get_or_insert(global.label_name_length_limit);
            job.label_value_length_limit
                .get_or_insert(global.label_value_length_limit);
            job.target_limit.get_or_insert(global.target_limit);
            job.body_size_limit.get_or_insert(global.body_size_limit);
            job.keep_dropped_targets
                .get_or_insert(global.keep_dropped_targets);
            if let Some(auth) = &mut job.basic_auth {
                if auth.password.is_some() && auth.password_file.is_some() {
                    return invalid(context(
                        "at most one of basic_auth password & password_file must be configured",
                    ));
                }
                if !auth.username.is_empty() && auth.username_file.is_some() {
                    return invalid(context(
                        "at most one of basic_auth username & username_file must be configured",
                    ));
                }
                resolve(dir, &mut auth.password_file);
                resolve(dir, &mut auth.username_file);
            }
            if let Some(auth) = &mut job.authorization {
                if job.basic_auth.is_some() {
                    return invalid(context("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"));
                }
                if auth.kind.eq_ignore_ascii_case("basic") {
                    return invalid(context(
                        "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                    ));
                }
                if auth.credentials.is_some() && auth.credentials_file.is_some() {
                    return invalid(context("at most one of authorization credentials & credentials_file must be configured"));
                }
                resolve(dir, &mut auth.credentials_file);
            }
            if let Some(tls) = &mut job.tls_config {
                for (inline, file, what) in [
                    (&tls.ca, &tls.ca_file, "ca"),
                    (&tls.cert, &tls.cert_file, "cert"),
                    (&tls.key, &tls.key_file, "key"),
                ] {
                    if inline.is_some() && file.is_some() {
                        return invalid(context(&format!(
                            "at most one of {what} and {what}_file must be configured"
                        )));
                    }
                }
                if tls.cert.is_some() != tls.key.is_some()
                    && tls.cert_file.is_none()
                    && tls.key_file.is_none()
                {
                    return invalid(context(
                        "exactly one of key or cert is given: configure both or neither",
                    ));
                }
                if tls.cert_file.is_some() != tls.key_file.is_some()
                    && tls.cert.is_none()
                    && tls.key.is_none()
                {
                    return invalid(context(
                        "exactly one of key_file or cert_file is given: configure both or neither",
                    ));
                }
                resolve(dir, &mut tls.ca_file);
                resolve(dir, &mut tls.cert_file);
                resolve(dir, &mut tls.key_file);
            }
            for sd in &mut job.file_sd_configs {
                for pattern in &mut sd.files {
                    if !valid_file_sd_pattern(pattern) {
                        return invalid(format!(
                            "path name {pattern:?} is not valid for file discovery"
                        ));
                    }
                    let mut p = Some(pattern.clone());
                    resolve(dir, &mut p);
                    *pattern = p.unwrap_or_default();
                }
            }
            for (i, rc) in job
                .relabel_configs
                .iter()
                .chain(&job.metric_relabel_configs)
                .enumerate()
            {
                rc.validate().map_err(|e| {
                    ConfigError::Invalid(context(&format!("relabel config #{}: {e}", i + 1)))
                })?;
            }
        }
        for path in self
            .rule_files
            .iter_mut()
            .chain(self.scrape_config_files.iter_mut())
        {
            let mut p = Some(path.clone());
            resolve(dir, &mut p);
            *path = p.unwrap_or_default();
        }
        Ok(())
    }
}

impl Config {
    /// The configuration in force as YAML, defaults filled in and secrets hidden (for
    /// `/api/v1/status/config`).
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self)
            .unwrap_or_else(|e| format!("# cannot render the configuration: {e}\n"))
    }

    /// Sections present in the file that promethium accepts but does not act on yet, so
    /// that the server can say so instead of silently ignoring them.
    pub fn inactive_sections(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (name, present) in [
            ("rule_files", !self.rule_files.is_empty()),
            ("scrape_config_files", !self.scrape_config_files.is_empty()),
            ("alerting", self.alerting.is_some()),
            ("remote_write", self.remote_write.is_some()),
            ("remote_read", self.remote_read.is_some()),
            ("storage", self.storage.is_some()),
            ("tracing", self.tracing.is_some()),
            ("runtime", self.runtime.is_some()),
            ("otlp", self.otlp.is_some()),
        ] {
            if present {
                out.push(name);
            }
        }
        out
    }
}

impl ScrapeConfig {
    /// A job with every default, as if written as just `job_name: NAME`.
    pub fn named(name: &str) -> Self {
        let yaml = format!("job_name: {name:?}\n");
        // A job with only a name always parses.
        serde_saphyr::from_str(&yaml).unwrap_or_else(|_| unreachable!("a bare job parses"))
    }

    /// The scrape interval (always set after loading).
    pub fn interval(&self) -> Duration {
        self.scrape_interval.unwrap_or_default().0
    }

    /// The scrape timeout (always set after loading).
    pub fn timeout(&self) -> Duration {
        self.scrape_timeout.unwrap_or_default().0
    }
}

fn check_protocols(protocols: &[String]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for p in protocols {
        if !SCRAPE_PROTOCOLS.contains(&p.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "unknown scrape protocol {p}, supported: [{}]",
                SCRAPE_PROTOCOLS.join(" ")
            )));
        }
        if !seen.insert(p) {
            return Err(ConfigError::Invalid(format!(
                "duplicated protocol in scrape_protocols, got {protocols:?}"
            )));
        }
    }
    Ok(())
}

/// File SD patterns: a path with at most a `*` in the last element, ending in .json/.yml/.yaml.
fn valid_file_sd_pattern(pattern: &str) -> bool {
    let lower = pattern.to_ascii_lowercase();
    let ext_ok = [".json", ".yml", ".yaml"]
        .iter()
        .any(|e| lower.ends_with(e));
    let star_ok = match pattern.find('*') {
        None => true,
        Some(i) => !pattern[i + 1..].contains(['*', '/']),
    };
    ext_ok && star_ok
}

fn resolve(dir: &Path, path: &mut Option<String>) {
    if let Some(p) = path {
        if !p.is_empty() && !Path::new(p.as_str()).is_absolute() {
            *p = PathBuf::from(dir).join(&*p).display().to_string();
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
