//! What Prometheus checks about its flags before starting (and how it fails: a message on
//! stderr and an exit status), and the start-up log lines about flags: features enabled,
//! deprecated flags, and flags that have no effect in promethium yet.

use super::{deprecated, pending, Flags};

/// A reason not to start: the message for stderr and the exit status Prometheus uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u8,
    pub message: String,
}

/// One start-up log line about the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub warn: bool,
    pub message: String,
    /// The `option` field of `--enable-feature` lines.
    pub option: Option<String>,
}

impl Notice {
    fn warn(message: impl Into<String>) -> Self {
        Self {
            warn: true,
            message: message.into(),
            option: None,
        }
    }

    fn info(message: impl Into<String>) -> Self {
        Self {
            warn: false,
            message: message.into(),
            option: None,
        }
    }

    fn feature(warn: bool, message: &str, option: &str) -> Self {
        Self {
            warn,
            message: message.into(),
            option: Some(option.into()),
        }
    }
}

/// Features promethium acts on, with Prometheus's log line.
const ACTING_FEATURES: &[(&str, &str)] = &[
    (
        "promql-delayed-name-removal",
        "Experimental PromQL delayed name removal enabled.",
    ),
    (
        "concurrent-rule-eval",
        "Experimental concurrent rule evaluation enabled.",
    ),
    (
        "exemplar-storage",
        "Experimental in-memory exemplar storage enabled",
    ),
    (
        "st-storage",
        "Experimental start timestamp storage enabled.",
    ),
    (
        "use-start-timestamps",
        "Experimental usage of start timestamps in PromQL engine is enabled.",
    ),
    (
        "otlp-native-delta-ingestion",
        "Enabling native ingestion of delta OTLP metrics, storing the raw sample values without conversion. WARNING: Delta support is in an early stage of development. The ingestion and querying process is likely to change over time.",
    ),
];

/// The other features Prometheus 3.14 knows (its `--enable-feature` list and the hidden
/// `fast-startup`): accepted, with a warning that they have no effect yet.
pub const PENDING_FEATURES: &[&str] = &[
    "created-timestamp-zero-ingestion",
    "delayed-compaction",
    "extra-scrape-metrics",
    "fast-startup",
    "histograms-st-encoding",
    "memory-snapshot-on-shutdown",
    "metadata-wal-records",
    "old-ui",
    "otlp-deltatocumulative",
    "promql-binop-fill-modifiers",
    "promql-experimental-functions",
    "promql-extended-range-selectors",
    "promql-per-step-stats",
    "search-api",
    "st-synthesis",
    "type-and-unit-labels",
    "use-uncached-io",
    "xor2-encoding",
];

/// Feature names Prometheus 3.14 still recognizes but ignores, with its log line.
const NO_OP_FEATURES: &[(&str, &str)] = &[
    (
        "promql-duration-expr",
        "This option for --enable-feature is now permanently enabled and therefore a no-op.",
    ),
    (
        "ooo-native-histograms",
        "This option for --enable-feature is now permanently enabled and therefore a no-op.",
    ),
    (
        "native-histograms",
        "This option for --enable-feature is a no-op. To scrape native histograms, set the scrape_native_histograms scrape config setting to true.",
    ),
];

/// Every feature name Prometheus 3.14 knows.
#[cfg(test)]
pub fn known_features() -> impl Iterator<Item = &'static str> {
    ACTING_FEATURES
        .iter()
        .map(|(f, _)| *f)
        .chain(PENDING_FEATURES.iter().copied())
        .chain(NO_OP_FEATURES.iter().map(|(f, _)| *f))
        .chain(["auto-reload-config"])
}

/// Whether a flag may only be used in server mode (Prometheus's `serverOnlyFlag`).
fn server_only(flag: &str) -> bool {
    flag.starts_with("storage.tsdb.")
        || flag.starts_with("storage.remote.read-")
        || flag.starts_with("rules.")
        || flag.starts_with("query.")
        || flag.starts_with("alertmanager.notification-")
        || flag == "alertmanager.drain-notification-queue-on-shutdown"
        || flag == "web.search.max-limit"
}

/// Whether a flag may only be used in agent mode (Prometheus's `agentOnlyFlag`).
fn agent_only(flag: &str) -> bool {
    flag.starts_with("storage.agent.")
}

/// Go's `%q` of a list of strings: `["--a" "--b"]`.
fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

impl Flags {
    /// The checks Prometheus makes before starting, with its messages and exit statuses.
    pub fn validate(&self) -> Result<(), Refusal> {
        let refuse = |status: u8, message: String| Err(Refusal { status, message });
        let p = &self.pending;
        let mut seen: Vec<&str> = Vec::new();
        for m in &self.web_remote_write_messages {
            if seen.contains(&m.as_str()) {
                return refuse(
                    2,
                    format!(
                        "Error parsing command line arguments: duplicated {m} flag value, got [{}] already",
                        seen.join(" ")
                    ),
                );
            }
            seen.push(m);
        }
        if self.feature_enabled("otlp-deltatocumulative")
            && self.feature_enabled("otlp-native-delta-ingestion")
        {
            return refuse(1, "Error parsing feature list: cannot enable otlp-deltatocumulative and otlp-native-delta-ingestion features at the same time".into());
        }
        if p.web_search_max_limit < 0 {
            return refuse(
                1,
                format!(
                    "--web.search.max-limit must be non-negative; got {} (use 0 to disable the cap)",
                    p.web_search_max_limit
                ),
            );
        }
        let given = |only: fn(&str) -> bool| -> Vec<String> {
            self.explicit
                .iter()
                .filter(|f| only(f))
                .map(|f| format!("--{f}"))
                .collect()
        };
        if p.agent {
            let wrong = given(server_only);
            if !wrong.is_empty() {
                return refuse(
                    3,
                    format!(
                        "The following flag(s) can not be used in agent mode: {}",
                        go_quoted_list(&wrong)
                    ),
                );
            }
        } else {
            let wrong = given(agent_only);
            if !wrong.is_empty() {
                return refuse(
                    3,
                    format!(
                        "The following flag(s) can only be used in agent mode: {}",
                        go_quoted_list(&wrong)
                    ),
                );
            }
        }
        if p.agent && p.storage_agent_checkpoint_batch_size <= 0 {
            return refuse(
                1,
                "--storage.agent.checkpoint-batch-size must be greater than 0.".into(),
            );
        }
        if !(p.auto_gomemlimit_ratio > 0.0 && p.auto_gomemlimit_ratio <= 1.0) {
            return refuse(
                1,
                "--auto-gomemlimit.ratio must be greater than 0 and less than or equal to 1."
                    .into(),
            );
        }
        if let Err(e) = promconfig::AnchoredRegex::new(&p.web_cors_origin) {
            return refuse(
                2,
                format!(
                    "could not compile CORS regex string {:?}: {e}",
                    p.web_cors_origin
                ),
            );
        }
        Ok(())
    }

    /// The start-up log lines about the flags given.
    pub fn notices(&self) -> Vec<Notice> {
        let mut out = Vec::new();
        for feature in self.features() {
            if let Some((_, message)) = ACTING_FEATURES.iter().find(|(f, _)| *f == feature) {
                out.push(Notice::info(*message));
            } else if feature == "auto-reload-config" {
                out.push(Notice::feature(
                    true,
                    "This option for --enable-feature is deprecated. Use --config.auto-reload instead.",
                    feature,
                ));
            } else if let Some((_, message)) = NO_OP_FEATURES.iter().find(|(f, _)| *f == feature) {
                out.push(Notice::feature(true, message, feature));
            } else if PENDING_FEATURES.contains(&feature) {
                out.push(Notice::feature(
                    true,
                    "This option for --enable-feature has no effect in promethium yet.",
                    feature,
                ));
            } else {
                out.push(Notice::feature(
                    true,
                    "Unknown option for --enable-feature",
                    feature,
                ));
            }
        }
        if let Some(interval) = self.auto_reload() {
            out.push(Notice::info(format!(
                "Automatic configuration file reloading enabled (interval {})",
                super::values::show_duration(interval)
            )));
        }
        for (flag, message) in deprecated::DEPRECATED {
            if self.given(flag) {
                out.push(Notice::warn(*message));
            }
        }
        for flag in pending::GO_RUNTIME {
            if self.given(flag) {
                out.push(Notice::info(format!(
                    "--{flag} is a Go runtime setting: accepted for compatibility, it has no meaning for promethium."
                )));
            }
        }
        let values = self.as_map();
        let defaults = super::try_parse_from(["promethium"])
            .map(|d| d.as_map())
            .unwrap_or_default();
        let pending_flags = pending::names();
        for flag in self.explicit.iter().filter(|f| pending_flags.contains(f)) {
            let Some(reason) = pending::reason(flag) else {
                continue;
            };
            if values.get(flag.as_str()) != defaults.get(flag.as_str()) {
                out.push(Notice::warn(format!(
                    "--{flag} has no effect yet: {reason}."
                )));
            }
        }
        out
    }

    /// Logs [`Self::notices`].
    pub fn log_notices(&self) {
        for notice in self.notices() {
            match (notice.warn, &notice.option) {
                (true, Some(option)) => tracing::warn!(option = %option, "{}", notice.message),
                (true, None) => tracing::warn!("{}", notice.message),
                (false, Some(option)) => tracing::info!(option = %option, "{}", notice.message),
                (false, None) => tracing::info!("{}", notice.message),
            }
        }
    }
}
