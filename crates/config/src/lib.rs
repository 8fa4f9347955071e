//! prometheus.yml (`--config.file`) as Prometheus 3 reads it: every section and key, the
//! same defaults, the same checks in the same order, and upstream's error texts, so that
//! `pmtool check config` gives the verdict `promtool check config` gives. YAML is decoded
//! with Go yaml.v2's rules by the `goyaml` crate (nulls, anchors, merge keys, YAML 1.1
//! scalars, strict unknown/duplicate keys). Relative file paths are resolved against the
//! file's directory.
//!
//! This crate only reads and checks; what the server can act on is decided by its users
//! (see [`Config::unsupported`]).

mod alerting;
mod global;
mod http;
mod relabel;
mod remote;
mod scrape;
pub mod sd;
mod storage;
mod tracing;
mod values;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

pub use alerting::{AlertingConfig, AlertmanagerApiVersion, AlertmanagerConfig};
pub use global::{GlobalConfig, RuntimeConfig, ValidationScheme};
pub use http::{
    canonical_header_key, Authorization, BasicAuth, Header, HttpClientConfig, OAuth2, ProxyConfig,
    TlsConfig, TlsVersion,
};
pub use relabel::{RelabelAction, RelabelConfig};
pub use remote::{QueueConfig, RemoteReadConfig, RemoteWriteConfig};
pub use scrape::{
    Params, ScrapeConfig, ScrapeProtocol, DEFAULT_SCRAPE_PROTOCOLS, PROTO_FIRST_SCRAPE_PROTOCOLS,
    SCRAPE_PROTOCOL_NAMES,
};
pub use sd::{FileSdConfig, SdConfigs, TargetGroup};
pub use storage::{ExemplarsConfig, RetentionConfig, StorageConfig, TsdbConfig};
pub use tracing::{OtlpConfig, TracingConfig};
pub use values::{AnchoredRegex, ByteSize, GoUrl, LabelName, PromDuration, Secret};

/// Largest configuration file read (a bound on untrusted input; real files are kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Why a configuration file cannot be used. `Display` is what `check config` prints.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{0}")]
    Read(String),
    /// The file's content is not a valid configuration (YAML, keys, values, checks).
    #[error("parsing YAML file {file}: {message}")]
    Parse { file: String, message: String },
    /// Something the configuration refers to is wrong (a scrape config file, a missing
    /// file); the message names it.
    #[error("{0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Config {
    /// Set on [`Config::self_scrape`]: the built-in default, used when there is no file.
    #[serde(skip)]
    pub builtin: bool,
    pub global: GlobalConfig,
    #[serde(skip_serializing_if = "is_default_runtime")]
    pub runtime: RuntimeConfig,
    #[serde(skip_serializing_if = "is_empty_alerting")]
    pub alerting: AlertingConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rule_files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scrape_config_files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scrape_configs: Vec<ScrapeConfig>,
    pub storage: StorageConfig,
    #[serde(skip_serializing_if = "is_unset_tracing")]
    pub tracing: TracingConfig,
    #[serde(rename = "remote_write", skip_serializing_if = "Vec::is_empty")]
    pub remote_write: Vec<RemoteWriteConfig>,
    #[serde(rename = "remote_read", skip_serializing_if = "Vec::is_empty")]
    pub remote_read: Vec<RemoteReadConfig>,
    pub otlp: OtlpConfig,
}

fn is_default_runtime(r: &RuntimeConfig) -> bool {
    *r == RuntimeConfig::defaults()
}

fn is_empty_alerting(a: &AlertingConfig) -> bool {
    *a == AlertingConfig::default()
}

fn is_unset_tracing(t: &TracingConfig) -> bool {
    !t.is_set()
}

goyaml::fields!(Config as "config.plain" {
    "global" => global,
    "runtime" => runtime,
    "alerting" => alerting,
    "rule_files" => rule_files,
    "scrape_config_files" => scrape_config_files,
    "scrape_configs" => scrape_configs,
    "storage" => storage,
    "tracing" => tracing,
    "remote_write" => remote_write,
    "remote_read" => remote_read,
    "otlp" => otlp,
});

/// `^[^*]*(\*[^/]*)?$`: rule and scrape config file patterns may glob the last element.
fn valid_file_pattern(path: &str) -> bool {
    match path.find('*') {
        None => true,
        Some(i) => !path[i + 1..].contains(['*', '/']),
    }
}

impl Decode for Config {
    /// Prometheus's `Config.UnmarshalYAML`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.global.is_zero() {
            self.global = GlobalConfig::defaults();
        }
        if self.runtime == RuntimeConfig::default() {
            self.runtime = RuntimeConfig::defaults();
        }
        // Without a retention section the flags' retention applies (Prometheus sets its
        // default from them): see `Config::with_default_retention`.
        self.storage.tsdb.get_or_insert_with(TsdbConfig::default);
        for rf in &self.rule_files {
            if !valid_file_pattern(rf) {
                return Err(Fatal(format!(
                    "invalid rule file path {}",
                    goyaml::go_quote(rf)
                )));
            }
        }
        for sf in &self.scrape_config_files {
            if !valid_file_pattern(sf) {
                return Err(Fatal(format!(
                    "invalid scrape config file path {}",
                    goyaml::go_quote(sf)
                )));
            }
        }
        let mut jobs = std::collections::HashSet::new();
        for job in &mut self.scrape_configs {
            if job.is_null() {
                return Err(Fatal::new("empty or null scrape config section"));
            }
            job.validate(&self.global).map_err(Fatal)?;
            if !jobs.insert(job.job_name.clone()) {
                return Err(Fatal(format!(
                    "found multiple scrape configs with job name {}",
                    goyaml::go_quote(&job.job_name)
                )));
            }
        }
        let legacy = self.global.metric_name_validation_scheme.is_legacy();
        self.alerting.validate(legacy).map_err(Fatal)?;
        let mut names = std::collections::HashSet::new();
        for rw in &self.remote_write {
            if rw.is_null() {
                return Err(Fatal::new("empty or null remote write config section"));
            }
            if !rw.name.is_empty() && !names.insert(rw.name.clone()) {
                return Err(Fatal(format!(
                    "found multiple remote write configs with job name {}",
                    goyaml::go_quote(&rw.name)
                )));
            }
            rw.validate(legacy).map_err(Fatal)?;
        }
        let mut names = std::collections::HashSet::new();
        for rr in &self.remote_read {
            if rr.is_null() {
                return Err(Fatal::new("empty or null remote read config section"));
            }
            if !rr.name.is_empty() && !names.insert(rr.name.clone()) {
                return Err(Fatal(format!(
                    "found multiple remote read configs with job name {}",
                    goyaml::go_quote(&rr.name)
                )));
            }
        }
        Ok(true)
    }
    fn go_type() -> String {
        "config.Config".into()
    }
}

/// The scrape configs of a `scrape_config_files` file.
#[derive(Default)]
struct ScrapeConfigsFile {
    scrape_configs: Vec<ScrapeConfig>,
}
goyaml::fields!(ScrapeConfigsFile as "config.ScrapeConfigs" { "scrape_configs" => scrape_configs });
goyaml::plain!(ScrapeConfigsFile);

impl Config {
    /// Prometheus's `DefaultConfig`.
    pub fn defaults() -> Self {
        Self {
            global: GlobalConfig::defaults(),
            runtime: RuntimeConfig::defaults(),
            otlp: OtlpConfig::defaults(),
            ..Self::default()
        }
    }

    /// Reads, parses and validates `path` (Prometheus's `LoadFile`).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Self::parse(&text, &path.display().to_string(), dir)
    }

    /// Parses and validates YAML text; `file` names it in errors, `dir` anchors relative
    /// paths (Prometheus's `Load` plus `SetDirectory`).
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Self, ConfigError> {
        let mut config = Self::defaults();
        goyaml::from_str(text, &mut config).map_err(|message| ConfigError::Parse {
            file: file.to_string(),
            message,
        })?;
        config.storage.tsdb.get_or_insert_with(TsdbConfig::default);
        config.global.expand_external_labels();
        let strategy = config.otlp.translation_strategy.as_str();
        let invalid = |message: String| ConfigError::Parse {
            file: file.to_string(),
            message,
        };
        match strategy {
            "" | "UnderscoreEscapingWithSuffixes" | "UnderscoreEscapingWithoutSuffixes" => {}
            "NoTranslation" | "NoUTF8EscapingWithSuffixes" => {
                if config.global.metric_name_validation_scheme.is_legacy() {
                    return Err(invalid(format!(
                        "OTLP translation strategy {} is not allowed when UTF8 is disabled",
                        goyaml::go_quote(strategy)
                    )));
                }
            }
            _ => {
                return Err(invalid(format!(
                    "unsupported OTLP translation strategy {}",
                    goyaml::go_quote(strategy)
                )))
            }
        }
        config.set_directory(dir);
        Ok(config)
    }

    /// Fills `storage.tsdb.retention` from the flags when the file has no retention
    /// section (Prometheus makes the flags the default of that section): the result is
    /// the retention in force.
    pub fn with_default_retention(mut self, time: Duration, size: u64) -> Self {
        let tsdb = self.storage.tsdb.get_or_insert_with(TsdbConfig::default);
        tsdb.retention.get_or_insert(RetentionConfig {
            time: PromDuration(time),
            size: ByteSize(size),
            percentage: 0.0,
        });
        self
    }

    /// The retention in force: `(time, size)` from `storage.tsdb.retention`, if the file
    /// (or [`Config::with_default_retention`]) set one.
    pub fn retention(&self) -> Option<(Duration, u64)> {
        let r = self.storage.tsdb.as_ref()?.retention.as_ref()?;
        Some((r.time.0, r.size.0))
    }

    /// Prometheus's built-in behaviour when no configuration file exists: scrape itself.
    pub fn self_scrape(target: &str) -> Self {
        let mut config = Config {
            builtin: true,
            ..Config::defaults()
        };
        config.global.scrape_interval = PromDuration(Duration::from_secs(15));
        let mut job = ScrapeConfig::defaults();
        job.job_name = "prometheus".into();
        job.sd.static_configs.push(Some(TargetGroup {
            targets: vec![target.to_string()],
            labels: Default::default(),
        }));
        // A bare job against a valid global section always validates.
        let _ = job.validate(&config.global);
        config.scrape_configs.push(job);
        config
    }

    fn set_directory(&mut self, dir: &Path) {
        self.global.set_directory(dir);
        self.alerting.set_directory(dir);
        self.tracing.set_directory(dir);
        for file in self
            .rule_files
            .iter_mut()
            .chain(&mut self.scrape_config_files)
        {
            join_dir(dir, file);
        }
        for job in &mut self.scrape_configs {
            job.set_directory(dir);
        }
        for rw in &mut self.remote_write {
            rw.set_directory(dir);
        }
        for rr in &mut self.remote_read {
            rr.set_directory(dir);
        }
    }

    /// Every scrape config: the file's own, then those of `scrape_config_files` (globs
    /// expanded, files read now), validated against `global` (Prometheus's
    /// `GetScrapeConfigs`, with its errors).
    pub fn all_scrape_configs(&self) -> Result<Vec<ScrapeConfig>, ConfigError> {
        let mut out = self.scrape_configs.clone();
        let mut origin: HashMap<String, String> = self
            .scrape_configs
            .iter()
            .map(|j| (j.job_name.clone(), "main config file".to_string()))
            .collect();
        for pattern in &self.scrape_config_files {
            for file in glob_files(pattern)? {
                let shown = absolute(&file);
                let file_error = |message: String| {
                    ConfigError::Invalid(format!("{}: {message}", goyaml::go_quote(&shown)))
                };
                let text = read_bounded(&file).map_err(|e| file_error(e.to_string()))?;
                let mut parsed = ScrapeConfigsFile::default();
                goyaml::from_str(&text, &mut parsed).map_err(file_error)?;
                let dir = file.parent().unwrap_or(Path::new(""));
                for mut job in parsed.scrape_configs {
                    if job.is_null() {
                        return Err(file_error("empty or null scrape config section".into()));
                    }
                    job.validate(&self.global).map_err(file_error)?;
                    if let Some(first) = origin.get(&job.job_name) {
                        return Err(file_error(format!(
                            "found multiple scrape configs with job name {}, first found in {first}",
                            goyaml::go_quote(&job.job_name)
                        )));
                    }
                    origin.insert(job.job_name.clone(), goyaml::go_quote(&shown));
                    job.set_directory(dir);
                    out.push(job);
                }
            }
        }
        Ok(out)
    }

    /// The configuration in force as YAML, defaults filled in and secrets hidden (for
    /// `/api/v1/status/config`).
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self)
            .unwrap_or_else(|e| format!("# cannot render the configuration: {e}\n"))
    }

    /// The features used by this configuration that `supported` does not cover, each
    /// with the section that asks for it: service discovery mechanisms and top-level
    /// sections. The server refuses to start on these rather than ignore them.
    pub fn features(&self) -> Vec<String> {
        let mut out = Vec::new();
        for job in &self.scrape_configs {
            for key in job.sd.configured() {
                out.push(format!("scrape_configs[{}].{key}", job.job_name));
            }
        }
        for (name, present) in [
            ("alerting", !self.alerting.alertmanagers.is_empty()),
            ("rule_files", !self.rule_files.is_empty()),
            ("remote_write", !self.remote_write.is_empty()),
            ("remote_read", !self.remote_read.is_empty()),
            ("tracing", self.tracing.is_set()),
        ] {
            if present {
                out.push(name.to_string());
            }
        }
        out
    }
}

/// Go's `filepath.Glob` for patterns with wildcards in the last path element (what rule
/// and scrape config file patterns allow): matching files in sorted order; a pattern
/// without wildcards matches itself if it exists.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    glob_files(pattern).unwrap_or_default()
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let path = Path::new(pattern);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    if !name.contains(['*', '?', '[']) {
        return Ok(if path.exists() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        });
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) => return Ok(Vec::new()),
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| glob_match(name, n)))
        .map(|e| dir.join(e.file_name()))
        .collect();
    out.sort();
    Ok(out)
}

/// Shell-style matching of one path element: `*`, `?` and `[...]` classes.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(end) = p.iter().position(|c| *c == ']') else {
                    return false;
                };
                let Some(c) = n.first() else { return false };
                let class = &p[1..end];
                let (negated, class) = match class.first() {
                    Some('^') | Some('!') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= *c && *c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == *c;
                        i += 1;
                    }
                }
                hit != negated && go(&p[end + 1..], &n[1..])
            }
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Reads a configuration file of at most [`MAX_CONFIG_BYTES`].
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    let read_error = |e: std::io::Error| {
        ConfigError::Read(format!("open {}: {}", path.display(), io_reason(&e)))
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Read(format!(
            "{}: the file is {} bytes, more than the {} a configuration may have",
            path.display(),
            meta.len(),
            MAX_CONFIG_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    String::from_utf8(bytes).map_err(|_| ConfigError::Parse {
        file: path.display().to_string(),
        message: "yaml: invalid leading UTF-8 octet".into(),
    })
}

impl HttpClientConfig {
    /// Reads and checks an HTTP client configuration file (`--http.config.file`);
    /// relative file names in it are resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path)?;
        let mut config = HttpClientConfig::default();
        if goyaml::parse(&text).ok().flatten().is_none() {
            config = HttpClientConfig::defaults();
        }
        goyaml::from_str(&text, &mut config).map_err(|message| ConfigError::Parse {
            file: path.display().to_string(),
            message,
        })?;
        config.set_directory(path.parent().unwrap_or(Path::new("")));
        Ok(config)
    }
}

/// Go's `config.JoinDir`: a relative, non-empty path is joined with `dir`.
pub fn join_dir(dir: &Path, path: &mut String) {
    if !path.is_empty() && !Path::new(path.as_str()).is_absolute() {
        *path = dir.join(&*path).display().to_string();
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
