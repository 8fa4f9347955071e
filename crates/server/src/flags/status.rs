//! `/api/v1/status/flags`: every Prometheus 3.14 flag (hidden ones too, as Prometheus lists
//! them) with its value as Prometheus prints it, after the adjustments Prometheus makes
//! at start (retention and block range defaults, route prefix, auto-reload interval).
//! And `--write-documentation`, the flags as a Markdown table.

use std::collections::BTreeMap;
use std::time::Duration;

use super::values::{show_bytes, show_duration, show_float, show_go_duration};
use super::Flags;

impl Flags {
    /// Flag values as `/api/v1/status/flags` reports them.
    pub fn as_map(&self) -> BTreeMap<&'static str, String> {
        let p = &self.pending;
        let d = |d: Duration| show_duration(d);
        let ms = |ms: i64| show_duration(Duration::from_millis(ms.max(0) as u64));
        let b = |v: bool| v.to_string();
        let reload_interval = match self.auto_reload() {
            Some(interval) => interval,
            None => self.config_auto_reload_interval,
        };
        let retention_time = match self.retention_time_flag() {
            Some(t) => d(t),
            None => ms(self.retention_ms()),
        };
        BTreeMap::from([
            ("config.file", self.config_file.clone()),
            ("config.auto-reload", b(self.config_auto_reload)),
            ("config.auto-reload-interval", d(reload_interval)),
            ("web.listen-address", self.listen_addresses.join(",")),
            ("auto-gomaxprocs", b(p.auto_gomaxprocs)),
            ("auto-gomemlimit", b(p.auto_gomemlimit)),
            ("auto-gomemlimit.ratio", show_float(p.auto_gomemlimit_ratio)),
            (
                "auto-gomemlimit.refresh-interval",
                d(p.auto_gomemlimit_refresh_interval),
            ),
            ("web.config.file", self.web_config_file.clone()),
            ("web.read-timeout", d(self.web_read_timeout)),
            ("web.max-connections", self.max_connections.to_string()),
            (
                "web.max-notifications-subscribers",
                p.web_max_notifications_subscribers.to_string(),
            ),
            ("web.external-url", self.external_url.clone()),
            (
                "web.route-prefix",
                format!("/{}", self.route_prefix().trim_start_matches('/')),
            ),
            ("web.user-assets", p.web_user_assets.clone()),
            ("web.enable-lifecycle", b(self.enable_lifecycle)),
            ("web.enable-admin-api", b(p.web_enable_admin_api)),
            ("web.health-without-auth", b(self.health_without_auth)),
            (
                "web.enable-remote-write-receiver",
                b(self.web_enable_remote_write_receiver),
            ),
            (
                "web.remote-write-receiver.accepted-protobuf-messages",
                self.web_remote_write_messages.join(","),
            ),
            ("web.enable-otlp-receiver", b(self.web_enable_otlp_receiver)),
            ("web.console.templates", p.web_console_templates.clone()),
            ("web.console.libraries", p.web_console_libraries.clone()),
            ("web.page-title", p.web_page_title.clone()),
            ("web.cors.origin", p.web_cors_origin.clone()),
            ("storage.tsdb.path", self.tsdb_path.clone()),
            (
                "storage.tsdb.min-block-duration",
                d(self.min_block_duration),
            ),
            ("storage.tsdb.max-block-duration", ms(self.max_block_ms())),
            (
                "storage.tsdb.max-block-chunk-segment-size",
                show_bytes(p.storage_tsdb_max_block_chunk_segment_size.unwrap_or(0)),
            ),
            (
                "storage.tsdb.wal-segment-size",
                show_bytes(p.storage_tsdb_wal_segment_size.unwrap_or(0)),
            ),
            ("storage.tsdb.retention.time", retention_time),
            (
                "storage.tsdb.retention.size",
                show_bytes(self.retention_size.unwrap_or(0)),
            ),
            ("storage.tsdb.no-lockfile", b(p.storage_tsdb_no_lockfile)),
            (
                "storage.tsdb.allow-overlapping-compaction",
                b(p.storage_tsdb_allow_overlapping_compaction),
            ),
            (
                "storage.tsdb.wal-compression",
                b(p.storage_tsdb_wal_compression),
            ),
            (
                "storage.tsdb.wal-compression-type",
                p.storage_tsdb_wal_compression_type.clone(),
            ),
            (
                "storage.tsdb.head-chunks-write-queue-size",
                p.storage_tsdb_head_chunks_write_queue_size.to_string(),
            ),
            (
                "storage.tsdb.samples-per-chunk",
                p.storage_tsdb_samples_per_chunk.to_string(),
            ),
            (
                "storage.tsdb.delayed-compaction.max-percent",
                p.storage_tsdb_delayed_compaction_max_percent.to_string(),
            ),
            (
                "storage.tsdb.delay-compact-file.path",
                p.storage_tsdb_delay_compact_file_path.clone(),
            ),
            (
                "storage.tsdb.block-reload-interval",
                d(p.storage_tsdb_block_reload_interval
                    .max(Duration::from_secs(1))),
            ),
            ("storage.agent.path", p.storage_agent_path.clone()),
            (
                "storage.agent.wal-segment-size",
                show_bytes(p.storage_agent_wal_segment_size.unwrap_or(0)),
            ),
            (
                "storage.agent.wal-compression",
                b(p.storage_agent_wal_compression),
            ),
            (
                "storage.agent.wal-compression-type",
                p.storage_agent_wal_compression_type.clone(),
            ),
            (
                "storage.agent.wal-truncate-frequency",
                d(p.storage_agent_wal_truncate_frequency.unwrap_or_default()),
            ),
            (
                "storage.agent.retention.min-time",
                d(p.storage_agent_retention_min_time),
            ),
            (
                "storage.agent.retention.max-time",
                d(p.storage_agent_retention_max_time),
            ),
            (
                "storage.agent.checkpoint-from-in-memory-series",
                b(p.storage_agent_checkpoint_from_in_memory_series),
            ),
            (
                "storage.agent.checkpoint-batch-size",
                p.storage_agent_checkpoint_batch_size.to_string(),
            ),
            ("storage.agent.no-lockfile", b(p.storage_agent_no_lockfile)),
            (
                "storage.remote.flush-deadline",
                d(self.storage_remote_flush_deadline),
            ),
            (
                "storage.remote.max-held-wal-size",
                show_bytes(self.storage_remote_max_held_wal_size),
            ),
            (
                "storage.remote.max-held-wal-age",
                d(self.storage_remote_max_held_wal_age),
            ),
            (
                "storage.remote.read-sample-limit",
                self.storage_remote_read_sample_limit.to_string(),
            ),
            (
                "storage.remote.read-concurrent-limit",
                self.storage_remote_read_concurrent_limit.to_string(),
            ),
            (
                "storage.remote.read-max-bytes-in-frame",
                self.storage_remote_read_max_bytes_in_frame.to_string(),
            ),
            ("web.search.max-limit", p.web_search_max_limit.to_string()),
            (
                "rules.alert.for-outage-tolerance",
                d(self.rules_alert_for_outage_tolerance),
            ),
            (
                "rules.alert.for-grace-period",
                d(self.rules_alert_for_grace_period),
            ),
            ("rules.alert.resend-delay", d(self.rules_alert_resend_delay)),
            (
                "rules.max-concurrent-evals",
                self.rules_max_concurrent_evals.to_string(),
            ),
            ("scrape.adjust-timestamps", b(p.scrape_adjust_timestamps)),
            (
                "scrape.timestamp-tolerance",
                show_go_duration(p.scrape_timestamp_tolerance),
            ),
            (
                "scrape.discovery-reload-interval",
                d(p.scrape_discovery_reload_interval),
            ),
            (
                "alertmanager.notification-queue-capacity",
                self.alertmanager_notification_queue_capacity.to_string(),
            ),
            (
                "alertmanager.notification-batch-size",
                self.alertmanager_notification_batch_size.to_string(),
            ),
            (
                "alertmanager.drain-notification-queue-on-shutdown",
                b(self.alertmanager_drain_notification_queue_on_shutdown),
            ),
            ("query.lookback-delta", d(self.query_lookback_delta)),
            ("query.timeout", d(self.query_timeout)),
            (
                "query.max-concurrency",
                self.query_max_concurrency.to_string(),
            ),
            ("query.max-samples", self.query_max_samples.to_string()),
            ("query.max-memory", self.query_max_memory.to_string()),
            (
                "query.max-memory-per-query",
                self.query_max_memory_per_query.to_string(),
            ),
            ("enable-feature", self.enable_feature.join(",")),
            ("agent", b(p.agent)),
            ("log.level", self.log_level.clone()),
            ("log.format", self.log_format.clone()),
            ("write-documentation", b(self.write_documentation)),
        ])
    }
}

/// The visible flags as a Markdown table, as `prometheus --write-documentation` prints them.
pub fn documentation() -> String {
    let mut command = super::command();
    command.build();
    let mut out = String::from("---\ntitle: promethium\n---\n\n");
    out.push_str(
        &command
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default(),
    );
    out.push_str("\n\n\n## Flags\n\n| Flag | Description | Default |\n| --- | --- | --- |\n");
    let code = |text: &str| format!("<code class=\"text-nowrap\">{text}</code>");
    let visible = command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_long() != Some("help-long"));
    for arg in visible {
        let Some(long) = arg.get_long() else { continue };
        let mut name = match arg.get_short() {
            Some(short) => format!(
                "{}, {}",
                code(&format!("-{short}")),
                code(&format!("--{long}"))
            ),
            None => code(&format!("--{long}")),
        };
        if matches!(arg.get_action(), clap::ArgAction::Append) {
            name.push_str(&format!(" {}", code("...")));
        }
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string().replace('\n', " ").replace('|', "\\|"))
            .unwrap_or_default();
        let default = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(",");
        let default = if default.is_empty() {
            String::new()
        } else {
            format!("`{default}`")
        };
        out.push_str(&format!("| {name} | {help} | {default} |\n"));
    }
    out
}
