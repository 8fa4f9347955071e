//! The prometheus.yml in force, and reloading it (SIGHUP, `POST /-/reload`): a new file
//! that does not load is refused and the old configuration stays.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::gauge::Gauge;

/// What a configuration is applied to, besides the scrape manager.
pub struct Appliers {
    pub scrape: Arc<scrape::Manager>,
    /// `global.query_log_file`.
    pub query_log: Arc<api::QueryLog>,
    /// `storage.tsdb.out_of_order_time_window` and `storage.tsdb.retention`.
    pub db: Arc<tsdb::Db>,
    /// The retention the flags give (time, bytes): the default of `storage.tsdb.retention`.
    pub flag_retention: (Duration, u64),
    /// `rule_files` and, through its notifier, `alerting`.
    pub rules: Arc<crate::rule_manager::RuleManager>,
    /// `remote_write`.
    pub remote_write: Arc<remote::WriteStorage>,
    /// `remote_read`.
    pub remote_read: Arc<remote::read::ReadStorage>,
    /// `--agent`: rule files, alerting and remote read are refused, as Prometheus's agent
    /// refuses them.
    pub agent: bool,
    /// `--enable-feature=exemplar-storage`: `storage.exemplars.max_exemplars` sizes the
    /// exemplar storage (100000 when the file does not say).
    pub exemplar_storage: bool,
}

/// Prometheus's `DefaultExemplarsConfig`.
pub const DEFAULT_MAX_EXEMPLARS: usize = 100_000;

/// Prometheus's retention when neither time nor size is set.
const DEFAULT_RETENTION: Duration = Duration::from_secs(15 * 24 * 3600);

/// The loaded configuration and the outcome of the last (re)load.
pub struct ConfigState {
    path: PathBuf,
    self_target: String,
    current: RwLock<Arc<promconfig::Config>>,
    scrape: Arc<scrape::Manager>,
    appliers: Appliers,
    outcome: RwLock<(bool, SystemTime)>,
    /// One (re)load at a time: SIGHUP, `/-/reload` and auto-reload may race, and the
    /// file read last must be the one in force.
    reloading: std::sync::Mutex<()>,
    pub last_reload_successful: Gauge,
    pub last_reload_success_timestamp: Gauge,
}

impl ConfigState {
    /// Loads `path`; when it does not exist, Prometheus's built-in default (this server
    /// scraping itself) is used instead.
    pub fn load(path: PathBuf, self_target: &str, appliers: Appliers) -> anyhow::Result<Self> {
        let loaded =
            read(&path, self_target, appliers.agent).and_then(|config| apply(&appliers, config));
        let config = loaded.map_err(|e| {
            anyhow::anyhow!(
                "error loading config (--config.file={}): {e}",
                path.display()
            )
        })?;
        let state = Self {
            path,
            self_target: self_target.to_string(),
            current: RwLock::new(Arc::new(config)),
            scrape: Arc::clone(&appliers.scrape),
            appliers,
            outcome: RwLock::new((true, SystemTime::now())),
            reloading: std::sync::Mutex::new(()),
            last_reload_successful: Gauge::default(),
            last_reload_success_timestamp: Gauge::default(),
        };
        state.record(true);
        state.scrape.apply(&state.current());
        Ok(state)
    }

    /// The retention in force (the file's, else the flags'): `(time, bytes)`.
    pub fn retention(&self) -> (Duration, u64) {
        self.appliers.db.retention()
    }

    /// The scrape manager this configuration drives.
    pub fn scrape_manager(&self) -> Arc<scrape::Manager> {
        Arc::clone(&self.scrape)
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<promconfig::Config> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the last reload succeeded, and when the configuration in force was loaded.
    pub fn outcome(&self) -> (bool, SystemTime) {
        *self.outcome.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the file. On error the configuration in force is kept.
    pub fn reload(&self) -> Result<(), String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let loaded = read(&self.path, &self.self_target, self.appliers.agent)
            .and_then(|config| apply(&self.appliers, config));
        match loaded {
            Ok(config) => {
                let config = Arc::new(config);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&config);
                self.scrape.apply(&config);
                self.record(true);
                tracing::info!(file = %self.path.display(), "Completed loading of configuration file");
                Ok(())
            }
            Err(e) => {
                self.record(false);
                tracing::error!(file = %self.path.display(), err = %e, "Error reloading config: keeping the configuration in force");
                Err(e.to_string())
            }
        }
    }

    fn record(&self, success: bool) {
        let mut outcome = self.outcome.write().unwrap_or_else(|p| p.into_inner());
        outcome.0 = success;
        self.last_reload_successful.set(i64::from(success));
        if success {
            outcome.1 = SystemTime::now();
            let secs = outcome
                .1
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            self.last_reload_success_timestamp.set(secs);
        }
    }
}

/// Applies what a loaded configuration sets outside scraping: the rule files (all read
/// first: a bad one fails the load with nothing changed), the Alertmanagers, the query log
/// (reopened on every load, as Prometheus does, for log rotation), the out-of-order window
/// and the retention (the file's `storage.tsdb.retention`, else the flags'). Returns the
/// configuration with the retention in force filled in.
fn apply(
    appliers: &Appliers,
    config: promconfig::Config,
) -> Result<promconfig::Config, promconfig::ConfigError> {
    let prepared = appliers
        .rules
        .prepare(&config)
        .map_err(promconfig::ConfigError::Invalid)?;
    appliers
        .rules
        .notifier()
        .apply_config(&config)
        .map_err(promconfig::ConfigError::Invalid)?;
    appliers
        .query_log
        .set_file(&config.global.query_log_file)
        .map_err(promconfig::ConfigError::Invalid)?;
    let (time, bytes) = appliers.flag_retention;
    let config = config.with_default_retention(time, bytes);
    let (mut time, bytes) = config.retention().unwrap_or((time, bytes));
    if time.is_zero() && bytes == 0 {
        time = DEFAULT_RETENTION;
    }
    if appliers.db.retention() != (time, bytes) {
        tracing::info!(duration = %promconfig::PromDuration(time), size = bytes, "TSDB retention updated");
        appliers.db.set_retention(time, bytes);
    }
    appliers
        .db
        .set_out_of_order_time_window(config.storage.out_of_order_time_window());
    if appliers.exemplar_storage {
        let max = config
            .storage
            .exemplars
            .as_ref()
            .map_or(DEFAULT_MAX_EXEMPLARS, |e| {
                usize::try_from(e.max_exemplars).unwrap_or(0)
            });
        appliers.db.resize_exemplars(max);
    }
    let external_labels = model::Labels::from_pairs(
        config
            .global
            .external_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    appliers
        .remote_write
        .apply_config(&config.remote_write, &external_labels)
        .map_err(|e| promconfig::ConfigError::Invalid(e.to_string()))?;
    appliers
        .remote_read
        .apply_config(&config.remote_read, &external_labels)
        .map_err(|e| promconfig::ConfigError::Invalid(e.to_string()))?;
    appliers.rules.commit(prepared);
    Ok(config)
}

/// Loads the file (with its `scrape_config_files`), or the built-in default when there
/// is no file, and refuses what this server cannot act on yet.
fn read(
    path: &std::path::Path,
    self_target: &str,
    agent: bool,
) -> Result<promconfig::Config, promconfig::ConfigError> {
    let config = if path.exists() {
        let mut config = promconfig::Config::load(path)?;
        config.scrape_configs = config.all_scrape_configs()?;
        tracing::info!(file = %path.display(), jobs = config.scrape_configs.len(), "Loaded configuration file");
        config
    } else {
        tracing::warn!(
            file = %path.display(),
            "configuration file not found: using the built-in default, job \"prometheus\" scraping {self_target} every 15s"
        );
        promconfig::Config::self_scrape(self_target)
    };
    if agent {
        // Prometheus's `LoadFile` in agent mode, with its words.
        let refused = if !config.alerting.alertmanagers.is_empty()
            || !config.alerting.alert_relabel_configs.is_empty()
        {
            Some("field alerting is not allowed in agent mode")
        } else if !config.rule_files.is_empty() {
            Some("field rule_files is not allowed in agent mode")
        } else if !config.remote_read.is_empty() {
            Some("field remote_read is not allowed in agent mode")
        } else {
            None
        };
        if let Some(message) = refused {
            return Err(promconfig::ConfigError::Invalid(message.into()));
        }
    }
    check_supported(&config).map_err(promconfig::ConfigError::Invalid)?;
    Ok(config)
}

/// The settings of a valid configuration that this server cannot act on yet. Starting
/// anyway would ignore them silently, so the configuration is refused with what to use
/// instead. (What the notifier cannot do for an `alerting.alertmanagers` entry, such as
/// service discovery other than static and file, it refuses when the entry is applied.)
pub fn check_supported(config: &promconfig::Config) -> Result<(), String> {
    for job in &config.scrape_configs {
        let name = &job.job_name;
        // What Prometheus fails a reload on when it builds the job's client: unreadable
        // CA or certificate files, unusable TLS versions, proxies it cannot speak to.
        if let Err(e) = scrape::build_client(job) {
            return Err(format!("scrape config with job name {name:?}: {}", e.0));
        }
        if !job.scrape_failure_log_file.is_empty() {
            scrape::JsonLogFile::open(&job.scrape_failure_log_file)
                .map_err(|e| format!("scrape config with job name {name:?}: {e}"))?;
        }
        for key in job.sd.configured() {
            if !matches!(key, "static_configs" | "file_sd_configs")
                && !discovery::MECHANISMS.contains(&key)
            {
                return Err(format!(
                    "scrape config with job name {name:?}: {key} is not supported by promethium yet; list the targets in static_configs, have a tool write them to files read by file_sd_configs, or serve them for http_sd_configs"
                ));
            }
        }
        // As Prometheus fails a reload on a discovery whose client cannot be built.
        discovery::check(&job.sd)
            .map_err(|e| format!("scrape config with job name {name:?}: {e}"))?;
        if let Some(oauth2) = &job.http.oauth2 {
            httpclient::check_oauth2(oauth2)
                .map_err(|e| format!("scrape config with job name {name:?}: {e}"))?;
        }
        let tls = &job.http.tls_config;
        let refs = [
            (
                &job.http
                    .basic_auth
                    .as_ref()
                    .map(|b| b.username_ref.clone())
                    .unwrap_or_default(),
                "basic_auth.username_ref",
            ),
            (
                &job.http
                    .basic_auth
                    .as_ref()
                    .map(|b| b.password_ref.clone())
                    .unwrap_or_default(),
                "basic_auth.password_ref",
            ),
            (
                &job.http
                    .authorization
                    .as_ref()
                    .map(|a| a.credentials_ref.clone())
                    .unwrap_or_default(),
                "authorization.credentials_ref",
            ),
            (&tls.ca_ref, "tls_config.ca_ref"),
            (&tls.cert_ref, "tls_config.cert_ref"),
            (&tls.key_ref, "tls_config.key_ref"),
        ];
        for (value, key) in refs {
            if !value.is_empty() {
                return Err(format!(
                    "scrape config with job name {name:?}: {key} needs a secret manager, which promethium does not have; use the _file form"
                ));
            }
        }
    }
    remote::WriteStorage::check(&config.remote_write).map_err(|e| e.to_string())?;
    for rw in &config.remote_write {
        if let Err(e) = httpclient::build_http_client(&rw.http) {
            return Err(format!("remote_write {}: {}", rw.name(), e.0));
        }
    }
    for rr in &config.remote_read {
        let name = if rr.name.is_empty() { "" } else { &rr.name };
        if let Some(oauth2) = &rr.http.oauth2 {
            httpclient::check_oauth2(oauth2).map_err(|e| format!("remote_read {name}: {e}"))?;
        }
        if let Err(e) = httpclient::build_http_client(&rr.http) {
            return Err(format!("remote_read {name}: {}", e.0));
        }
    }
    if config.otlp.convert_histograms_to_nhcb {
        return Err("otlp.convert_histograms_to_nhcb: native histograms are not supported by promethium yet; leave it off (OTLP histograms are stored as classic _bucket/_sum/_count series)".into());
    }
    if config.tracing.is_set() {
        return Err("tracing: sending traces is not supported by promethium yet; remove the tracing section".into());
    }
    if let Some(tsdb) = &config.storage.tsdb {
        if tsdb.retention.as_ref().is_some_and(|r| r.percentage > 0.0) {
            return Err("storage.tsdb.retention.percentage: retention by share of the disk is not supported by promethium yet; use retention.size".into());
        }
        if tsdb.chunk_encoding.floats == "xor2" {
            return Err("storage.tsdb.chunk_encoding.floats: xor2 chunks are not supported by promethium yet; use xor (its own chunks are XOR-encoded) or leave the setting out".into());
        }
        if tsdb.stale_series_compaction_threshold > 0.0 {
            return Err("storage.tsdb.stale_series_compaction_threshold: early compaction of stale series is not supported by promethium yet; leave the setting out".into());
        }
    }
    Ok(())
}
