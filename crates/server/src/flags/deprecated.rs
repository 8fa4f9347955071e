//! Flags that Prometheus 2.x took and Prometheus 3 no longer does, and those of Debian's
//! Prometheus 2.x packaging: a service file written for them still starts promethium,
//! with a deprecation warning for each one given. `--storage.tsdb.retention` still sets
//! the retention time, as in 2.x; the others have no effect. They are hidden from
//! `--help` and, as in Prometheus 3, not listed in `/api/v1/status/flags`.

use std::time::Duration;

use clap::{ArgAction, Args};

use super::values;

#[derive(Args, Debug, Clone, Default)]
pub struct DeprecatedFlags {
    /// [DEPRECATED] How long to retain samples in storage. This flag has been deprecated,
    /// use "storage.tsdb.retention.time" instead. (Prometheus 2.x)
    #[arg(long = "storage.tsdb.retention", hide = true, value_name = "DURATION", value_parser = values::duration)]
    pub storage_tsdb_retention: Option<Duration>,

    /// [DEPRECATED] This flag has no effect. Overlapping blocks are enabled by default now.
    /// (Prometheus 2.x)
    #[arg(long = "storage.tsdb.allow-overlapping-blocks", hide = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_tsdb_allow_overlapping_blocks: bool,

    /// [DEPRECATED] This flag has no effect. (Prometheus 2.x)
    #[arg(long = "alertmanager.timeout", hide = true, value_name = "DURATION")]
    pub alertmanager_timeout: Option<String>,

    /// [DEPRECATED] Maximum number of exemplars to store in in-memory exemplar storage;
    /// now storage.exemplars.max_exemplars in the configuration file. (Prometheus 2.26-2.28)
    #[arg(long = "storage.exemplars.exemplars-limit", hide = true, value_name = "N", value_parser = values::int)]
    pub storage_exemplars_exemplars_limit: Option<i64>,

    /// [DEPRECATED] Method for escaping legacy invalid names when sending to Prometheus that
    /// does not support UTF-8; now metric_name_escaping_scheme in the configuration file.
    /// (Prometheus 2.55)
    #[arg(long = "scrape.name-escaping-scheme", hide = true, value_parser = ["allow-utf-8", "underscores", "dots", "values"])]
    pub scrape_name_escaping_scheme: Option<String>,

    /// [DEBIAN] Path to static asset/templates directory. (Debian's Prometheus 2.x)
    #[arg(long = "web.local-assets", hide = true, value_name = "PATH")]
    pub web_local_assets: Option<String>,

    /// [DEBIAN] Create a lockfile in data directory. Use with server mode only. (Debian's
    /// Prometheus 2.x; Prometheus has --storage.tsdb.no-lockfile instead.)
    #[arg(long = "storage.tsdb.use-lockfile", hide = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_tsdb_use_lockfile: bool,

    /// [DEBIAN] Create a lockfile in data directory. Use with agent mode only. (Debian's
    /// Prometheus 2.x; Prometheus has --storage.agent.no-lockfile instead.)
    #[arg(long = "storage.agent.use-lockfile", hide = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_agent_use_lockfile: bool,
}

/// Every deprecated flag, with the warning logged when it is given.
pub const DEPRECATED: &[(&str, &str)] = &[
    (
        "storage.tsdb.retention",
        "'storage.tsdb.retention' flag is deprecated use 'storage.tsdb.retention.time' instead. (Prometheus 3 removed it; promethium still applies it when --storage.tsdb.retention.time is not set.)",
    ),
    (
        "storage.tsdb.allow-overlapping-blocks",
        "The flag --storage.tsdb.allow-overlapping-blocks has no effect (overlapping blocks are always allowed) and was removed in Prometheus 3.0.",
    ),
    (
        "alertmanager.timeout",
        "The flag --alertmanager.timeout has no effect and was removed in Prometheus 3.0.",
    ),
    (
        "storage.exemplars.exemplars-limit",
        "The flag --storage.exemplars.exemplars-limit has no effect and was removed in Prometheus 2.29: set storage.exemplars.max_exemplars in the configuration file instead.",
    ),
    (
        "scrape.name-escaping-scheme",
        "The flag --scrape.name-escaping-scheme has no effect and was removed in Prometheus 3.0: set metric_name_escaping_scheme in the configuration file instead.",
    ),
    (
        "web.local-assets",
        "The flag --web.local-assets of Debian's Prometheus 2.x has no effect: promethium serves its built-in web UI.",
    ),
    (
        "storage.tsdb.use-lockfile",
        "The flag --storage.tsdb.use-lockfile of Debian's Prometheus 2.x is deprecated (Prometheus 3 has --storage.tsdb.no-lockfile); promethium does not create a lock file, so it has no effect.",
    ),
    (
        "storage.agent.use-lockfile",
        "The flag --storage.agent.use-lockfile of Debian's Prometheus 2.x is deprecated (Prometheus 3 has --storage.agent.no-lockfile); promethium does not create a lock file, so it has no effect.",
    ),
];
