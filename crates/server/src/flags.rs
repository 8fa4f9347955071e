//! Command-line flags, with Prometheus's names and defaults.

use std::collections::BTreeMap;

use clap::Parser;

/// The Promethium monitoring server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "promethium",
    disable_version_flag = true,
    about = "The Promethium monitoring server"
)]
pub struct Flags {
    /// Show application version.
    #[arg(long = "version")]
    pub version: bool,

    /// Prometheus configuration file path.
    #[arg(
        long = "config.file",
        default_value = "prometheus.yml",
        value_name = "PATH"
    )]
    pub config_file: String,

    /// Address to listen on for UI, API, and telemetry. Can be repeated.
    #[arg(
        long = "web.listen-address",
        default_value = "0.0.0.0:9090",
        value_name = "ADDRESS"
    )]
    pub listen_addresses: Vec<String>,

    /// Path to configuration file that can enable TLS or authentication.
    #[arg(long = "web.config.file", default_value = "", value_name = "PATH")]
    pub web_config_file: String,

    /// The URL under which Prometheus is externally reachable (for example, if Prometheus
    /// is served via a reverse proxy). Used for generating relative and absolute links
    /// back to Prometheus itself. If the URL has a path portion, it will be used to
    /// prefix all HTTP endpoints served by Prometheus. If omitted, relevant URL
    /// components will be derived automatically.
    #[arg(long = "web.external-url", default_value = "", value_name = "URL")]
    pub external_url: String,

    /// Prefix for the internal routes of web endpoints. Defaults to path of --web.external-url.
    #[arg(long = "web.route-prefix", value_name = "PATH")]
    pub route_prefix: Option<String>,

    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL")]
    pub enable_lifecycle: bool,

    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL")]
    pub enable_admin_api: bool,

    /// Serve /-/healthy and /-/ready without credentials (for load-balancer and Kubernetes
    /// probes), even when the web config requires basic auth.
    #[arg(long = "web.health-without-auth", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL")]
    pub health_without_auth: bool,

    /// Maximum number of simultaneous connections across all listeners.
    #[arg(long = "web.max-connections", default_value_t = 512, value_name = "N")]
    pub max_connections: usize,

    /// Base path for metrics storage.
    #[arg(
        long = "storage.tsdb.path",
        default_value = "data/",
        value_name = "PATH"
    )]
    pub tsdb_path: String,

    /// How long to retain samples in storage. If neither this flag nor
    /// "storage.tsdb.retention.size" is set, the retention time defaults to 15d. Units
    /// supported: y, w, d, h, m, s, ms.
    #[arg(long = "storage.tsdb.retention.time", value_name = "DURATION", value_parser = parse_duration)]
    pub retention_time: Option<std::time::Duration>,

    /// Maximum number of bytes that can be stored for blocks. A unit is required,
    /// supported units: B, KB, MB, GB, TB, PB, EB. Ex: "512MB". Based on powers-of-2, so
    /// 1KB is 1024B.
    #[arg(long = "storage.tsdb.retention.size", value_name = "SIZE", value_parser = parse_size)]
    pub retention_size: Option<u64>,

    /// Minimum duration of a data block before being persisted (the block range).
    /// For use in testing.
    #[arg(long = "storage.tsdb.min-block-duration", hide = true, default_value = "2h", value_parser = parse_duration)]
    pub min_block_duration: std::time::Duration,

    /// Maximum duration compacted blocks may span (default: 10% of the retention period,
    /// at most 31d). For use in testing.
    #[arg(long = "storage.tsdb.max-block-duration", hide = true, value_name = "DURATION", value_parser = parse_duration)]
    pub max_block_duration: Option<std::time::Duration>,

    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m", value_name = "DURATION", value_parser = parse_duration)]
    pub query_timeout: std::time::Duration,

    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value_t = 20, value_name = "N")]
    pub query_max_concurrency: usize,

    /// Maximum number of samples a single query can load into memory. Note that queries
    /// will fail if they try to load more samples than this into memory, so this also
    /// limits the number of samples a query can return.
    #[arg(
        long = "query.max-samples",
        default_value_t = 50_000_000,
        value_name = "N"
    )]
    pub query_max_samples: usize,

    /// The maximum lookback duration for retrieving metrics during expression evaluations
    /// and federation.
    #[arg(long = "query.lookback-delta", default_value = "5m", value_name = "DURATION", value_parser = parse_duration)]
    pub query_lookback_delta: std::time::Duration,

    /// Comma separated feature names to enable. Valid options: promql-delayed-name-removal,
    /// st-storage, use-start-timestamps.
    /// Other Prometheus feature names are accepted and ignored with a warning.
    #[arg(long = "enable-feature", value_name = "FEATURE", value_delimiter = ',')]
    pub enable_feature: Vec<String>,

    /// Only log messages with the given severity or above. One of: [debug, info, warn, error]
    #[arg(long = "log.level", default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,

    /// Output format of log messages. One of: [logfmt, json]
    #[arg(long = "log.format", default_value = "logfmt", value_parser = ["logfmt", "json"])]
    pub log_format: String,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    promconfig::PromDuration::parse(text).map(|d| d.0)
}

fn parse_size(text: &str) -> Result<u64, String> {
    promconfig::ByteSize::parse(text).map(|b| b.0)
}

impl Flags {
    /// Storage options from the retention and block flags, with Prometheus's defaults.
    pub fn tsdb_options(&self) -> tsdb::Options {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let size = self.retention_size.unwrap_or(0);
        let time = match self.retention_time {
            Some(d) => ms(d),
            None if size > 0 => 0,
            None => 15 * 24 * 3600 * 1000,
        };
        let mut opts = tsdb::Options::with_retention(time, size);
        opts.min_block_ms = ms(self.min_block_duration).max(1);
        opts.max_block_ms = match self.max_block_duration {
            Some(d) => ms(d),
            None => opts.max_block_ms,
        }
        .max(opts.min_block_ms);
        opts
    }

    /// The retention as `/api/v1/status/runtimeinfo` reports it: `15d`, `512MiB`, `30d or 1GiB`.
    pub fn storage_retention(&self) -> String {
        let opts = self.tsdb_options();
        let mut parts = Vec::new();
        if opts.retention_ms > 0 {
            let ms = u64::try_from(opts.retention_ms).unwrap_or(u64::MAX);
            parts.push(promconfig::PromDuration(std::time::Duration::from_millis(ms)).to_string());
        }
        if opts.retention_bytes > 0 {
            parts.push(base2_bytes(opts.retention_bytes));
        }
        parts.join(" or ")
    }

    /// PromQL engine settings from the `--query.*` flags.
    pub fn engine_options(&self) -> promql::EngineOptions {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        promql::EngineOptions {
            lookback_delta_ms: ms(self.query_lookback_delta).max(1),
            max_samples: self.query_max_samples,
            timeout: Some(self.query_timeout).filter(|d| !d.is_zero()),
            subquery_step_ms: 60_000,
            delayed_name_removal: self.feature_enabled("promql-delayed-name-removal"),
            use_start_timestamps: self.feature_enabled("use-start-timestamps"),
        }
    }

    /// Features we act on (`--enable-feature`).
    pub const KNOWN_FEATURES: &'static [&'static str] = &[
        "promql-delayed-name-removal",
        "st-storage",
        "use-start-timestamps",
    ];

    pub fn feature_enabled(&self, name: &str) -> bool {
        self.enable_feature.iter().any(|f| f.trim() == name)
    }

    /// The route prefix: `--web.route-prefix`, else the external URL's path; always starts
    /// with `/` and has no trailing `/` (except the root itself, given as "").
    pub fn route_prefix(&self) -> String {
        let raw = match &self.route_prefix {
            Some(p) => p.clone(),
            None => external_url_path(&self.external_url),
        };
        let trimmed = raw.trim_end_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        }
    }

    /// Flag values as `/api/v1/status/flags` reports them.
    pub fn as_map(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("config.file", self.config_file.clone()),
            ("web.listen-address", self.listen_addresses.join(",")),
            ("web.config.file", self.web_config_file.clone()),
            ("web.external-url", self.external_url.clone()),
            ("web.route-prefix", self.route_prefix().if_empty("/")),
            ("web.enable-lifecycle", self.enable_lifecycle.to_string()),
            ("web.enable-admin-api", self.enable_admin_api.to_string()),
            (
                "web.health-without-auth",
                self.health_without_auth.to_string(),
            ),
            ("web.max-connections", self.max_connections.to_string()),
            ("storage.tsdb.path", self.tsdb_path.clone()),
            (
                "storage.tsdb.retention.time",
                self.retention_time
                    .map(|d| promconfig::PromDuration(d).to_string())
                    .unwrap_or_else(|| "0s".into()),
            ),
            (
                "storage.tsdb.retention.size",
                self.retention_size.unwrap_or(0).to_string() + "B",
            ),
            (
                "storage.tsdb.min-block-duration",
                promconfig::PromDuration(self.min_block_duration).to_string(),
            ),
            (
                "query.timeout",
                promconfig::PromDuration(self.query_timeout).to_string(),
            ),
            (
                "query.max-concurrency",
                self.query_max_concurrency.to_string(),
            ),
            ("query.max-samples", self.query_max_samples.to_string()),
            (
                "query.lookback-delta",
                promconfig::PromDuration(self.query_lookback_delta).to_string(),
            ),
            ("enable-feature", self.enable_feature.join(",")),
            ("log.level", self.log_level.clone()),
            ("log.format", self.log_format.clone()),
        ])
    }
}

trait IfEmpty {
    fn if_empty(self, default: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, default: &str) -> String {
        if self.is_empty() {
            default.to_string()
        } else {
            self
        }
    }
}

/// The path of an absolute URL such as `http://host:9090/prom/`, or "" when there is none.
fn external_url_path(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else {
        return String::new();
    };
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("").to_string(),
        None => String::new(),
    }
}

/// Bytes as Go's `units.Base2Bytes` prints them: `512MiB`, `1GiB512MiB`, `100B`.
fn base2_bytes(mut n: u64) -> String {
    const UNITS: [(&str, u64); 6] = [
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ];
    let mut out = String::new();
    for (unit, size) in UNITS {
        if n >= size {
            out.push_str(&format!("{}{unit}", n / size));
            n %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0B");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
        Flags::try_parse_from(std::iter::once("promethium").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_prometheus() {
        let f = parse(&[]).unwrap();
        assert_eq!(f.listen_addresses, vec!["0.0.0.0:9090"]);
        assert_eq!(f.config_file, "prometheus.yml");
        assert_eq!(f.tsdb_path, "data/");
        assert!(!f.enable_lifecycle);
        assert_eq!(f.route_prefix(), "");
    }

    #[test]
    fn kingpin_style_values() {
        let f = parse(&[
            "--web.enable-lifecycle",
            "--web.config.file=web.yml",
            "--web.listen-address=:1",
            "--web.listen-address",
            "127.0.0.1:2",
        ])
        .unwrap();
        assert!(f.enable_lifecycle);
        assert_eq!(f.web_config_file, "web.yml");
        assert_eq!(f.listen_addresses, vec![":1", "127.0.0.1:2"]);
        let g = parse(&["--web.enable-lifecycle=false"]).unwrap();
        assert!(!g.enable_lifecycle);
        assert!(parse(&["--web.no-such-flag"]).is_err());
    }

    #[test]
    fn route_prefix_from_external_url() {
        let f = parse(&["--web.external-url=https://example.com/prom/"]).unwrap();
        assert_eq!(f.route_prefix(), "/prom");
        let g = parse(&[
            "--web.external-url=https://example.com/prom/",
            "--web.route-prefix=/",
        ])
        .unwrap();
        assert_eq!(g.route_prefix(), "");
    }
}
