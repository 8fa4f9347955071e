//! Flags of Prometheus 3.14 whose feature promethium does not have yet (or, for the Go
//! runtime flags, never will), and agent mode's (most of which act: `reason` says which do
//! not): parsed and validated like Prometheus's, listed in
//! `/api/v1/status/flags`, and when one is set to a value that would change what the server
//! does, a warning at start names it (see [`reason`]). Nothing here refuses to start.

use std::time::Duration;

use clap::{ArgAction, Args};

use super::values;

/// Why a flag of this group has no effect yet, for the start-up warning; `None` for flags
/// whose every value matches what promethium does (so no warning is due).
pub fn reason(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "web.max-notifications-subscribers" => "promethium has no notifications API yet",
        "web.user-assets" => "promethium does not serve /user yet",
        "web.enable-admin-api" => {
            "promethium has no admin API (snapshot, delete_series, clean_tombstones) yet"
        }
        "web.console.templates" | "web.console.libraries" => {
            "promethium does not serve consoles yet"
        }
        "web.page-title" => "the web UI's title cannot be changed yet",
        "web.cors.origin" => "the API sends no CORS headers yet",
        "web.search.max-limit" => "promethium has no search API yet",
        // promethium never creates a lock file, which is what these ask for.
        "storage.tsdb.no-lockfile" | "storage.agent.no-lockfile" => return None,
        // Both act: scrape timestamps are aligned to the schedule within the tolerance, as
        // Prometheus does (`scrape::Manager::set_timestamp_tolerance`).
        "scrape.adjust-timestamps" | "scrape.timestamp-tolerance" => return None,
        "scrape.discovery-reload-interval" => {
            "target updates are not throttled by this interval yet"
        }
        // Agent mode acts (see `Flags::tsdb_options`); these of its flags act with it.
        "agent"
        | "storage.agent.path"
        | "storage.agent.retention.min-time"
        | "storage.agent.retention.max-time"
        | "storage.agent.wal-truncate-frequency" => return None,
        // promethium's WAL always compresses records with Snappy when that makes them
        // smaller, which is what the default asks for.
        "storage.agent.wal-compression-type" => return None,
        f if f.starts_with("storage.tsdb.") => {
            "promethium's storage does not have this setting yet"
        }
        "storage.agent.wal-compression" => {
            "promethium's agent WAL is always compressed with Snappy"
        }
        "storage.agent.wal-segment-size" => "promethium's WAL segments are 128 MiB",
        f if f.starts_with("storage.agent.") => {
            "promethium's agent mode does not have this setting yet"
        }
        f if f.starts_with("rules.") => "promethium does not have this rule setting yet",
        f if f.starts_with("alertmanager.") => {
            "promethium's notifier does not have this setting yet"
        }
        _ => return None,
    })
}

/// The long names of this group's flags.
pub fn names() -> Vec<String> {
    PendingFlags::augment_args(clap::Command::new("pending"))
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

/// Go runtime flags: accepted, with no meaning for a Rust binary.
pub const GO_RUNTIME: &[&str] = &[
    "auto-gomaxprocs",
    "auto-gomemlimit",
    "auto-gomemlimit.ratio",
    "auto-gomemlimit.refresh-interval",
];

#[derive(Args, Debug, Clone)]
pub struct PendingFlags {
    /// Automatically set GOMAXPROCS to match Linux container CPU quota. (Go runtime
    /// setting: accepted, no meaning for promethium.)
    #[arg(long = "auto-gomaxprocs", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub auto_gomaxprocs: bool,

    /// Automatically set GOMEMLIMIT to match Linux container or system memory limit. (Go
    /// runtime setting: accepted, no meaning for promethium.)
    #[arg(long = "auto-gomemlimit", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub auto_gomemlimit: bool,

    /// The ratio of reserved GOMEMLIMIT memory to the detected maximum container or system
    /// memory. (Go runtime setting: accepted, no meaning for promethium.)
    #[arg(long = "auto-gomemlimit.ratio", default_value = "0.9", value_name = "RATIO", value_parser = values::float)]
    pub auto_gomemlimit_ratio: f64,

    /// Interval at which to re-detect the container or system memory limit and update
    /// GOMEMLIMIT accordingly. Set to 0 to detect the limit only once at startup. Only used
    /// when --auto-gomemlimit is set. (Go runtime setting: accepted, no meaning for promethium.)
    #[arg(long = "auto-gomemlimit.refresh-interval", default_value = "0s", value_name = "DURATION", value_parser = values::duration)]
    pub auto_gomemlimit_refresh_interval: Duration,

    /// Limits the maximum number of subscribers that can concurrently receive live
    /// notifications. (No notifications API in promethium yet.)
    #[arg(long = "web.max-notifications-subscribers", default_value = "16", value_name = "N", value_parser = values::int)]
    pub web_max_notifications_subscribers: i64,

    /// Path to static asset directory, available at /user. (Not served by promethium yet.)
    #[arg(long = "web.user-assets", default_value = "", value_name = "PATH")]
    pub web_user_assets: String,

    /// Enable API endpoints for admin control actions. (No admin API in promethium yet.)
    #[arg(long = "web.enable-admin-api", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub web_enable_admin_api: bool,

    /// Path to the console template directory, available at /consoles. (Not served by
    /// promethium yet.)
    #[arg(
        long = "web.console.templates",
        default_value = "consoles",
        value_name = "PATH"
    )]
    pub web_console_templates: String,

    /// Path to the console library directory. (Not used by promethium yet.)
    #[arg(
        long = "web.console.libraries",
        default_value = "console_libraries",
        value_name = "PATH"
    )]
    pub web_console_libraries: String,

    /// Document title of Prometheus instance. (Not used by promethium's UI yet.)
    #[arg(
        long = "web.page-title",
        default_value = "Prometheus Time Series Collection and Processing Server",
        value_name = "TITLE"
    )]
    pub web_page_title: String,

    /// Regex for CORS origin. It is fully anchored. Example:
    /// 'https?://(domain1|domain2)\.com' (Validated; no CORS headers in promethium yet.)
    #[arg(long = "web.cors.origin", default_value = ".*", value_name = "REGEX")]
    pub web_cors_origin: String,

    /// Do not create lockfile in data directory. Use with server mode only. (promethium
    /// never creates one.)
    #[arg(long = "storage.tsdb.no-lockfile", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_tsdb_no_lockfile: bool,

    /// The maximum size for a single chunk segment in a block. Example: 512MB
    #[arg(long = "storage.tsdb.max-block-chunk-segment-size", hide = true, value_name = "SIZE", value_parser = values::bytes)]
    pub storage_tsdb_max_block_chunk_segment_size: Option<i64>,

    /// Size at which to split the tsdb WAL segment files. Example: 100MB
    #[arg(long = "storage.tsdb.wal-segment-size", hide = true, value_name = "SIZE", value_parser = values::bytes)]
    pub storage_tsdb_wal_segment_size: Option<i64>,

    /// Allow compaction of overlapping blocks.
    #[arg(long = "storage.tsdb.allow-overlapping-compaction", hide = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_tsdb_allow_overlapping_compaction: bool,

    /// Compress the tsdb WAL. If false, the --storage.tsdb.wal-compression-type flag is ignored.
    #[arg(long = "storage.tsdb.wal-compression", hide = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_tsdb_wal_compression: bool,

    /// Compression algorithm for the tsdb WAL, used when --storage.tsdb.wal-compression is true.
    #[arg(long = "storage.tsdb.wal-compression-type", hide = true, default_value = "snappy", value_parser = ["snappy", "zstd"])]
    pub storage_tsdb_wal_compression_type: String,

    /// Size of the queue through which head chunks are written to the disk to be m-mapped,
    /// 0 disables the queue completely. Experimental. Use with server mode only.
    #[arg(long = "storage.tsdb.head-chunks-write-queue-size", default_value = "0", value_name = "N", value_parser = values::int)]
    pub storage_tsdb_head_chunks_write_queue_size: i64,

    /// Target number of samples per chunk.
    #[arg(long = "storage.tsdb.samples-per-chunk", hide = true, default_value = "120", value_name = "N", value_parser = values::int)]
    pub storage_tsdb_samples_per_chunk: i64,

    /// Upper limit for the random compaction delay, as a percentage of the head chunk range.
    #[arg(long = "storage.tsdb.delayed-compaction.max-percent", hide = true, default_value = "10", value_name = "N", value_parser = values::int)]
    pub storage_tsdb_delayed_compaction_max_percent: i64,

    /// Path to a JSON file with uploaded TSDB blocks e.g. Thanos shipper meta file. If set
    /// TSDB will only compact 1 level blocks that are marked as uploaded in that file. Use
    /// with server mode only. (Not in promethium yet.)
    #[arg(
        long = "storage.tsdb.delay-compact-file.path",
        default_value = "",
        value_name = "PATH"
    )]
    pub storage_tsdb_delay_compact_file_path: String,

    /// Interval at which to check for new or removed blocks in storage.
    #[arg(long = "storage.tsdb.block-reload-interval", hide = true, default_value = "1m", value_name = "DURATION", value_parser = values::duration)]
    pub storage_tsdb_block_reload_interval: Duration,

    /// Base path for metrics storage. Use with agent mode only.
    #[arg(
        long = "storage.agent.path",
        default_value = "data-agent/",
        value_name = "PATH"
    )]
    pub storage_agent_path: String,

    /// Size at which to split WAL segment files. Example: 100MB
    #[arg(long = "storage.agent.wal-segment-size", hide = true, value_name = "SIZE", value_parser = values::bytes)]
    pub storage_agent_wal_segment_size: Option<i64>,

    /// Compress the agent WAL. If false, the --storage.agent.wal-compression-type flag is
    /// ignored. Use with agent mode only.
    #[arg(long = "storage.agent.wal-compression", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_agent_wal_compression: bool,

    /// Compression algorithm for the agent WAL, used when --storage.agent.wal-compression is true.
    #[arg(long = "storage.agent.wal-compression-type", hide = true, default_value = "snappy", value_parser = ["snappy", "zstd"])]
    pub storage_agent_wal_compression_type: String,

    /// The frequency at which to truncate the WAL and remove old data.
    #[arg(long = "storage.agent.wal-truncate-frequency", hide = true, value_name = "DURATION", value_parser = values::duration)]
    pub storage_agent_wal_truncate_frequency: Option<Duration>,

    /// Minimum age samples may be before being considered for deletion when the WAL is
    /// truncated Use with agent mode only.
    #[arg(long = "storage.agent.retention.min-time", default_value = "5m", value_name = "DURATION", value_parser = values::duration)]
    pub storage_agent_retention_min_time: Duration,

    /// Maximum age samples may be before being forcibly deleted when the WAL is truncated
    /// Use with agent mode only.
    #[arg(long = "storage.agent.retention.max-time", default_value = "4h", value_name = "DURATION", value_parser = values::duration)]
    pub storage_agent_retention_max_time: Duration,

    /// Use only in-memory series data when building a checkpoint. Use with agent mode only.
    #[arg(long = "storage.agent.checkpoint-from-in-memory-series", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_agent_checkpoint_from_in_memory_series: bool,

    /// Size of a single WAL log entry chunk to be flushed. Has no effect without
    /// --storage.agent.checkpoint-from-in-memory-series flag. Use with agent mode only.
    #[arg(long = "storage.agent.checkpoint-batch-size", default_value = "1000", value_name = "N", value_parser = values::int)]
    pub storage_agent_checkpoint_batch_size: i64,

    /// Do not create lockfile in data directory. Use with agent mode only.
    #[arg(long = "storage.agent.no-lockfile", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub storage_agent_no_lockfile: bool,

    /// Hard upper bound on the "limit" query parameter accepted by the experimental search
    /// API (--enable-feature=search-api). 0 disables the cap. Use with server mode only.
    #[arg(long = "web.search.max-limit", default_value = "10000", value_name = "N", value_parser = values::int)]
    pub web_search_max_limit: i64,

    /// Adjust scrape timestamps by up to `scrape.timestamp-tolerance` to align them to the
    /// intended schedule. Experimental.
    #[arg(long = "scrape.adjust-timestamps", hide = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = values::boolean, value_name = "BOOL")]
    pub scrape_adjust_timestamps: bool,

    /// Timestamp tolerance. Experimental.
    #[arg(long = "scrape.timestamp-tolerance", hide = true, default_value = "2ms", value_name = "DURATION", value_parser = values::go_duration)]
    pub scrape_timestamp_tolerance: i64,

    /// Interval used by scrape manager to throttle target groups updates.
    #[arg(long = "scrape.discovery-reload-interval", hide = true, default_value = "5s", value_name = "DURATION", value_parser = values::duration)]
    pub scrape_discovery_reload_interval: Duration,

    /// Run Prometheus in 'Agent mode'.
    #[arg(long = "agent", action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = values::boolean, value_name = "BOOL")]
    pub agent: bool,
}
