//! Command-line flags: every flag of Prometheus 3.14 with its name, kingpin syntax
//! (`--flag value`, `--flag=value`, `--flag`, `--no-flag`, `--flag=false`), default and
//! meaning, plus the 2.x flags that service files still pass.
//!
//! - here: the flags promethium acts on, parsing, and what the server takes from them;
//! - [`pending`]: flags of features promethium does not have yet (accepted, validated,
//!   listed, and a warning at start when set to something that would matter);
//! - [`deprecated`]: flags Prometheus 3 removed (and Debian's own), accepted with a warning;
//! - [`startup`]: checks Prometheus makes before starting, and the start-up log lines;
//! - [`status`]: the values `/api/v1/status/flags` reports, and `--write-documentation`;
//! - [`values`]: the value syntaxes (durations, sizes, kingpin's numbers and booleans).

mod deprecated;
mod pending;
mod startup;
mod status;
mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

pub use deprecated::DeprecatedFlags;
pub use pending::PendingFlags;

/// The remote-write messages a receiver can accept.
pub const REMOTE_WRITE_MESSAGES: [&str; 2] =
    ["prometheus.WriteRequest", "io.prometheus.write.v2.Request"];
pub use status::documentation;

/// The Promethium monitoring server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "promethium",
    disable_version_flag = true,
    about = "The Promethium monitoring server (Prometheus-compatible)"
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

    /// Enable automatic configuration file reloading. See also --config.auto-reload-interval.
    #[arg(long = "config.auto-reload", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub config_auto_reload: bool,

    /// Specifies the interval for checking and automatically reloading the Prometheus
    /// configuration file upon detecting changes. Only used when --config.auto-reload is set.
    #[arg(long = "config.auto-reload-interval", default_value = "30s", value_name = "DURATION", value_parser = values::duration)]
    pub config_auto_reload_interval: Duration,

    /// Address to listen on for UI, API, and telemetry. Can be repeated.
    #[arg(
        long = "web.listen-address",
        default_value = "0.0.0.0:9090",
        value_name = "ADDRESS"
    )]
    pub listen_addresses: Vec<String>,

    /// [EXPERIMENTAL] Path to configuration file that can enable TLS or authentication.
    #[arg(long = "web.config.file", default_value = "", value_name = "PATH")]
    pub web_config_file: String,

    /// Maximum duration before timing out read of the request, and closing idle
    /// connections. (promethium: a request with a body must be answered within it;
    /// request headers must arrive within 10s, or within it if less.)
    #[arg(long = "web.read-timeout", default_value = "5m", value_name = "DURATION", value_parser = values::duration)]
    pub web_read_timeout: Duration,

    /// Maximum number of simultaneous connections across all listeners (0: no limit).
    /// (promethium: one client address, or IPv6 /64, gets at most half of them, so that
    /// it cannot lock others out; behind a reverse proxy, that is the proxy's share.)
    #[arg(long = "web.max-connections", default_value = "512", value_name = "N", value_parser = values::int)]
    pub max_connections: i64,

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
    #[arg(long = "web.enable-lifecycle", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub enable_lifecycle: bool,

    /// Serve /-/healthy and /-/ready without credentials (for load-balancer and Kubernetes
    /// probes), even when the web config requires basic auth. (promethium only)
    #[arg(long = "web.health-without-auth", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub health_without_auth: bool,

    /// Base path for metrics storage. Use with server mode only.
    #[arg(
        long = "storage.tsdb.path",
        default_value = "data/",
        value_name = "PATH"
    )]
    pub tsdb_path: String,

    /// [DEPRECATED] How long to retain samples in storage. If neither this flag nor
    /// "storage.tsdb.retention.size" is set, the retention time defaults to 15d. Units
    /// Supported: y, w, d, h, m, s, ms. Use with server mode only.
    #[arg(long = "storage.tsdb.retention.time", value_name = "DURATION", value_parser = values::duration)]
    pub retention_time: Option<Duration>,

    /// [DEPRECATED] Maximum number of bytes that can be stored for blocks. A unit is
    /// required, supported units: B, KB, MB, GB, TB, PB, EB. Ex: "512MB". Based on
    /// powers-of-2, so 1KB is 1024B. Use with server mode only.
    #[arg(long = "storage.tsdb.retention.size", value_name = "SIZE", value_parser = values::bytes)]
    pub retention_size: Option<i64>,

    /// Minimum duration of a data block before being persisted. For use in testing.
    #[arg(long = "storage.tsdb.min-block-duration", hide = true, default_value = "2h", value_name = "DURATION", value_parser = values::duration)]
    pub min_block_duration: Duration,

    /// Maximum duration compacted blocks may span. For use in testing. (Defaults to 10% of
    /// the retention period.)
    #[arg(long = "storage.tsdb.max-block-duration", hide = true, value_name = "DURATION", value_parser = values::duration)]
    pub max_block_duration: Option<Duration>,

    /// The maximum lookback duration for retrieving metrics during expression evaluations
    /// and federation. Use with server mode only.
    #[arg(long = "query.lookback-delta", default_value = "5m", value_name = "DURATION", value_parser = values::duration)]
    pub query_lookback_delta: Duration,

    /// Maximum time a query may take before being aborted. Use with server mode only.
    #[arg(long = "query.timeout", default_value = "2m", value_name = "DURATION", value_parser = values::duration)]
    pub query_timeout: Duration,

    /// Maximum number of queries executed concurrently. Use with server mode only.
    #[arg(long = "query.max-concurrency", default_value = "20", value_name = "N", value_parser = values::int)]
    pub query_max_concurrency: i64,

    /// Maximum number of samples a single query can load into memory. Note that queries
    /// will fail if they try to load more samples than this into memory, so this also
    /// limits the number of samples a query can return. Use with server mode only.
    #[arg(long = "query.max-samples", default_value = "50000000", value_name = "N", value_parser = values::int)]
    pub query_max_samples: i64,

    /// Memory all running queries may hold together, as a share of the machine's (or
    /// container's) memory or a size (`8GB`); 0: no limit. A query that would go over it
    /// fails with 503 and may be retried when others end. (promethium only)
    #[arg(long = "query.max-memory", default_value = "50%", value_name = "SIZE", value_parser = values::memory_size)]
    pub query_max_memory: values::MemorySize,

    /// Memory one query may hold, as a share of memory or a size; 0: no limit. A query
    /// over it fails with 422. (promethium only)
    #[arg(long = "query.max-memory-per-query", default_value = "25%", value_name = "SIZE", value_parser = values::memory_size)]
    pub query_max_memory_per_query: values::MemorySize,

    /// Comma separated feature names to enable. Can be repeated. promethium acts on
    /// promql-delayed-name-removal, st-storage and use-start-timestamps (and the deprecated
    /// auto-reload-config); the other Prometheus features are accepted with a warning.
    #[arg(long = "enable-feature", value_name = "FEATURE", value_delimiter = ',')]
    pub enable_feature: Vec<String>,

    /// Only log messages with the given severity or above. One of: [debug, info, warn, error]
    #[arg(long = "log.level", default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,

    /// Output format of log messages. One of: [logfmt, json]
    #[arg(long = "log.format", default_value = "logfmt", value_parser = ["logfmt", "json"])]
    pub log_format: String,

    /// Generate command line documentation. Internal use.
    #[arg(long = "write-documentation", hide = true)]
    pub write_documentation: bool,

    /// Max time to tolerate prometheus outage for restoring "for" state of alert. Use with
    /// server mode only.
    #[arg(long = "rules.alert.for-outage-tolerance", default_value = "1h", value_name = "DURATION", value_parser = values::duration)]
    pub rules_alert_for_outage_tolerance: Duration,

    /// Minimum duration between alert and restored "for" state. Use with server mode only.
    #[arg(long = "rules.alert.for-grace-period", default_value = "10m", value_name = "DURATION", value_parser = values::duration)]
    pub rules_alert_for_grace_period: Duration,

    /// Minimum amount of time to wait before resending an alert to Alertmanager. Use with
    /// server mode only.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m", value_name = "DURATION", value_parser = values::duration)]
    pub rules_alert_resend_delay: Duration,

    /// Global concurrency limit for independent rules that can run concurrently (with
    /// --enable-feature=concurrent-rule-eval). When set, "query.max-concurrency" may need to
    /// be adjusted accordingly. Use with server mode only.
    #[arg(long = "rules.max-concurrent-evals", default_value = "4", value_name = "N", value_parser = values::int)]
    pub rules_max_concurrent_evals: i64,

    /// The capacity of the queue for pending Alertmanager notifications. Use with server
    /// mode only.
    #[arg(long = "alertmanager.notification-queue-capacity", default_value = "10000", value_name = "N", value_parser = values::int)]
    pub alertmanager_notification_queue_capacity: i64,

    /// The maximum number of notifications per batch to send to the Alertmanager. Use with
    /// server mode only.
    #[arg(long = "alertmanager.notification-batch-size", default_value = "256", value_name = "N", value_parser = values::int)]
    pub alertmanager_notification_batch_size: i64,

    /// Send any outstanding Alertmanager notifications when shutting down. Use with server
    /// mode only.
    #[arg(long = "alertmanager.drain-notification-queue-on-shutdown", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub alertmanager_drain_notification_queue_on_shutdown: bool,

    /// Enable API endpoint accepting remote write requests.
    #[arg(long = "web.enable-remote-write-receiver", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub web_enable_remote_write_receiver: bool,

    /// Enable API endpoint accepting OTLP write requests.
    #[arg(long = "web.enable-otlp-receiver", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub web_enable_otlp_receiver: bool,

    /// List of the remote write protobuf messages to accept when receiving the remote
    /// writes. Supported values: prometheus.WriteRequest, io.prometheus.write.v2.Request.
    /// Can be repeated.
    #[arg(long = "web.remote-write-receiver.accepted-protobuf-messages", action = ArgAction::Append, default_values = REMOTE_WRITE_MESSAGES, value_parser = REMOTE_WRITE_MESSAGES, value_name = "MESSAGE")]
    pub web_remote_write_messages: Vec<String>,

    /// How long to wait flushing sample on shutdown or config reload.
    #[arg(long = "storage.remote.flush-deadline", default_value = "1m", value_name = "DURATION", value_parser = values::duration)]
    pub storage_remote_flush_deadline: Duration,

    /// The most WAL a remote-write queue that is behind (its receiver down or slow) keeps
    /// on disk for itself; past it the oldest samples are given up, logged and counted in
    /// promethium_remote_storage_samples_given_up_total. 0: no limit. (promethium only)
    #[arg(long = "storage.remote.max-held-wal-size", default_value = "10GB", value_name = "SIZE", value_parser = values::bytes)]
    pub storage_remote_max_held_wal_size: i64,

    /// The oldest WAL a remote-write queue that is behind keeps for itself; older samples
    /// are given up as above. 0: no limit. (promethium only)
    #[arg(long = "storage.remote.max-held-wal-age", default_value = "1d", value_name = "DURATION", value_parser = values::duration)]
    pub storage_remote_max_held_wal_age: Duration,

    /// Maximum overall number of samples to return via the remote read interface, in a
    /// single query. 0 means no limit. Use with server mode only.
    #[arg(long = "storage.remote.read-sample-limit", default_value = "5e7", value_name = "N", value_parser = values::int)]
    pub storage_remote_read_sample_limit: i64,

    /// Maximum number of concurrent remote read calls. 0 means no limit. Use with server
    /// mode only.
    #[arg(long = "storage.remote.read-concurrent-limit", default_value = "10", value_name = "N", value_parser = values::int)]
    pub storage_remote_read_concurrent_limit: i64,

    /// Maximum number of bytes in a single frame for streaming remote read response types
    /// before marshalling. Use with server mode only.
    #[arg(long = "storage.remote.read-max-bytes-in-frame", default_value = "1048576", value_name = "N", value_parser = values::int)]
    pub storage_remote_read_max_bytes_in_frame: i64,

    #[command(flatten)]
    pub pending: PendingFlags,

    #[command(flatten)]
    pub deprecated: DeprecatedFlags,

    /// The flags given on the command line (long names), as opposed to defaults.
    #[arg(skip)]
    pub explicit: BTreeSet<String>,
}

/// The command with kingpin's extra help flags.
fn command() -> clap::Command {
    Flags::command()
        .arg(
            clap::Arg::new("help-long")
                .long("help-long")
                .hide(true)
                .action(ArgAction::Help),
        )
        .arg(
            clap::Arg::new("help-man")
                .long("help-man")
                .hide(true)
                .action(ArgAction::Help),
        )
}

/// Parses the process's arguments; on an error prints it with the usage and exits with
/// status 2, as Prometheus does.
pub fn parse() -> Flags {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// Parses arguments (the first is the program name) with kingpin's syntax.
pub fn try_parse_from<I, T>(args: I) -> Result<Flags, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let command = command();
    let args = negated_booleans(&command, args.into_iter().map(Into::into).collect());
    let matches = command.clone().try_get_matches_from(args)?;
    let mut flags = Flags::from_arg_matches(&matches)?;
    flags.explicit = command
        .get_arguments()
        .filter(|arg| {
            matches!(
                matches.value_source(arg.get_id().as_str()),
                Some(ValueSource::CommandLine)
            )
        })
        .filter_map(|arg| arg.get_long().map(str::to_string))
        .collect();
    Ok(flags)
}

/// Whether an argument is one of kingpin's booleans (`--flag`, `--flag=false`): those
/// are declared with the value name `BOOL`.
fn is_boolean(arg: &clap::Arg) -> bool {
    arg.get_value_names()
        .is_some_and(|names| names.len() == 1 && names[0] == "BOOL")
}

/// kingpin's `--no-flag` for a boolean `--flag`, given to clap as `--flag=false`.
fn negated_booleans(
    command: &clap::Command,
    args: Vec<std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest_are_values = false;
    for (i, arg) in args.into_iter().enumerate() {
        let text = arg.to_str().unwrap_or("");
        if i == 0 || rest_are_values {
            out.push(arg);
            continue;
        }
        if text == "--" {
            rest_are_values = true;
            out.push(arg);
            continue;
        }
        let negated = text.strip_prefix("--no-").filter(|name| {
            command
                .get_arguments()
                .any(|a| a.get_long() == Some(*name) && is_boolean(a))
        });
        match negated {
            Some(name) => out.push(format!("--{name}=false").into()),
            None => out.push(arg),
        }
    }
    out
}

const DAY_MS: i64 = 24 * 3600 * 1000;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Flags {
    /// Whether a flag (long name) was given on the command line.
    pub fn given(&self, name: &str) -> bool {
        self.explicit.contains(name)
    }

    /// The retention time asked for: `--storage.tsdb.retention.time`, else the 2.x
    /// `--storage.tsdb.retention` (the newer flag wins, as in 2.x). Zero is "not set".
    pub fn retention_time_flag(&self) -> Option<Duration> {
        self.retention_time
            .filter(|d| !d.is_zero())
            .or(self.deprecated.storage_tsdb_retention)
            .filter(|d| !d.is_zero())
    }

    /// The retention in force, in ms: the time flag; else 15d unless a size is set.
    pub fn retention_ms(&self) -> i64 {
        match self.retention_time_flag() {
            Some(d) => millis(d),
            None if self.retention_bytes() > 0 => 0,
            None => 15 * DAY_MS,
        }
    }

    fn retention_bytes(&self) -> u64 {
        self.retention_size.unwrap_or(0).max(0) as u64
    }

    /// `--storage.tsdb.max-block-duration`, else a tenth of the retention time, at most 31d.
    pub fn max_block_ms(&self) -> i64 {
        match self.max_block_duration {
            Some(d) => millis(d),
            None => {
                let cap = 31 * DAY_MS;
                match self.retention_ms() {
                    0 => cap,
                    r => (r / 10).min(cap),
                }
            }
        }
    }

    /// Storage options from the retention and block flags, with Prometheus's defaults.
    pub fn tsdb_options(&self) -> tsdb::Options {
        let mut opts = tsdb::Options::with_retention(self.retention_ms(), self.retention_bytes());
        // Sized again by the configuration file's `storage.exemplars` once it is loaded.
        if self.feature_enabled("exemplar-storage") && !self.pending.agent {
            opts.max_exemplars = crate::reload::DEFAULT_MAX_EXEMPLARS;
        }
        opts.min_block_ms = millis(self.min_block_duration).max(1);
        opts.max_block_ms = self.max_block_ms().max(opts.min_block_ms);
        if self.pending.agent {
            opts.agent = Some(tsdb::AgentOptions {
                min_time: self.pending.storage_agent_retention_min_time,
                max_time: self.pending.storage_agent_retention_max_time,
                truncate_every: self
                    .pending
                    .storage_agent_wal_truncate_frequency
                    .filter(|d| !d.is_zero())
                    .unwrap_or(Duration::from_secs(2 * 3600)),
            });
        }
        opts
    }

    /// `--agent`.
    pub fn agent(&self) -> bool {
        self.pending.agent
    }

    /// Where the TSDB lives: `--storage.tsdb.path`, or `--storage.agent.path` with `--agent`.
    pub fn storage_path(&self) -> &str {
        if self.pending.agent {
            &self.pending.storage_agent_path
        } else {
            &self.tsdb_path
        }
    }

    /// The retention the flags give: `(time, bytes)` (prometheus.yml's
    /// `storage.tsdb.retention` overrides it).
    pub fn flag_retention(&self) -> (Duration, u64) {
        let opts = self.tsdb_options();
        let ms = u64::try_from(opts.retention_ms).unwrap_or(0);
        (Duration::from_millis(ms), opts.retention_bytes)
    }

    /// The flags' retention as `/api/v1/status/runtimeinfo` shows it.
    #[cfg(test)]
    pub fn storage_retention(&self) -> String {
        let (time, bytes) = self.flag_retention();
        retention_text(time, bytes)
    }

    /// The notifier's settings from the `--alertmanager.*` flags.
    pub fn notifier_options(&self) -> notifier::Options {
        notifier::Options {
            queue_capacity: self.alertmanager_notification_queue_capacity.max(0) as usize,
            max_batch_size: self.alertmanager_notification_batch_size.max(1) as usize,
            drain_on_shutdown: self.alertmanager_drain_notification_queue_on_shutdown,
            drain_deadline: None,
        }
    }

    /// The remote-write queues' settings from the `--storage.remote.*` flags.
    pub fn remote_write_options(&self) -> remote::SendOptions {
        remote::SendOptions {
            flush_deadline: self.storage_remote_flush_deadline,
            max_held_bytes: self.storage_remote_max_held_wal_size.max(0) as u64,
            // An agent keeps nothing past --storage.agent.retention.max-time.
            max_held_age: if self.pending.agent {
                match self.storage_remote_max_held_wal_age {
                    d if d.is_zero() => self.pending.storage_agent_retention_max_time,
                    d => d.min(self.pending.storage_agent_retention_max_time),
                }
            } else {
                self.storage_remote_max_held_wal_age
            },
            user_agent: format!("Promethium/{}", crate::build::VERSION),
        }
    }

    /// The rule manager's settings from the `--rules.alert.*` flags and the external URL.
    pub fn rule_flags(&self) -> crate::rule_manager::RuleFlags {
        crate::rule_manager::RuleFlags {
            resend_delay: self.rules_alert_resend_delay,
            outage_tolerance: self.rules_alert_for_outage_tolerance,
            for_grace_period: self.rules_alert_for_grace_period,
            external_url: self.external_url(),
            // Upstream's semaphore of `--rules.max-concurrent-evals` slots; none at or
            // below zero.
            concurrent_evals: self
                .feature_enabled("concurrent-rule-eval")
                .then(|| self.rules_max_concurrent_evals.max(0) as usize),
        }
    }

    /// `--web.external-url`, else Prometheus's default `http://<hostname>:<port>`, without
    /// a trailing `/` (as Prometheus's `computeExternalURL`).
    pub fn external_url(&self) -> String {
        let url = if self.external_url.is_empty() {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "localhost".to_string());
            let port = self
                .listen_addresses
                .first()
                .and_then(|a| a.rsplit_once(':'))
                .map(|(_, p)| p.to_string())
                .unwrap_or_else(|| "9090".to_string());
            format!("http://{host}:{port}")
        } else {
            self.external_url.clone()
        };
        url.trim_end_matches('/').to_string()
    }

    /// PromQL engine settings from the `--query.*` flags.
    pub fn engine_options(&self) -> promql::EngineOptions {
        promql::EngineOptions {
            lookback_delta_ms: millis(self.query_lookback_delta).max(1),
            max_samples: self.query_max_samples.max(0) as usize,
            timeout: Some(self.query_timeout).filter(|d| !d.is_zero()),
            subquery_step_ms: 60_000,
            delayed_name_removal: self.feature_enabled("promql-delayed-name-removal"),
            use_start_timestamps: self.feature_enabled("use-start-timestamps"),
            max_query_memory: self
                .query_max_memory_per_query
                .resolve(values::machine_memory()),
            max_total_memory: self.query_max_memory.resolve(values::machine_memory()),
        }
    }

    /// Queries run at once (`--query.max-concurrency`, at least 1).
    pub fn query_concurrency(&self) -> usize {
        self.query_max_concurrency.max(1) as usize
    }

    /// Connections served at once (`--web.max-connections`; 0 or less: no limit).
    pub fn connection_limit(&self) -> usize {
        match self.max_connections {
            n if n <= 0 => tokio::sync::Semaphore::MAX_PERMITS,
            n => usize::try_from(n).unwrap_or(tokio::sync::Semaphore::MAX_PERMITS),
        }
    }

    /// `--web.read-timeout` as the listeners apply it (0: none).
    pub fn read_timeout(&self) -> Option<Duration> {
        Some(self.web_read_timeout).filter(|d| !d.is_zero())
    }

    /// Whether the configuration file is checked for changes, and how often (at least 1s).
    pub fn auto_reload(&self) -> Option<Duration> {
        (self.config_auto_reload || self.feature_enabled("auto-reload-config"))
            .then(|| self.config_auto_reload_interval.max(Duration::from_secs(1)))
    }

    /// Whether `--enable-feature` names a feature.
    pub fn feature_enabled(&self, name: &str) -> bool {
        self.features().any(|f| f == name)
    }

    /// The feature names given to `--enable-feature` (each comma-separated item, trimmed).
    pub fn features(&self) -> impl Iterator<Item = &str> {
        self.enable_feature
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
    }

    /// The route prefix: `--web.route-prefix`, else the external URL's path; always starts
    /// with `/` and has no trailing `/` (except the root itself, given as "").
    pub fn route_prefix(&self) -> String {
        let raw = match &self.route_prefix {
            Some(p) => p.clone(),
            None => external_url_path(&self.external_url),
        };
        let trimmed = raw.trim_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
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

/// A retention as `/api/v1/status/runtimeinfo` shows it: `15d`, `512MiB`, `15d or 512MiB`.
pub fn retention_text(time: Duration, bytes: u64) -> String {
    let mut parts = Vec::new();
    if !time.is_zero() {
        parts.push(values::show_duration(time));
    }
    if bytes > 0 {
        parts.push(values::show_bytes(bytes as i64));
    }
    parts.join(" or ")
}
