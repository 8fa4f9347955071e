//! The prometheus.yml in force, and reloading it (SIGHUP, `POST /-/reload`): a new file
//! that does not load is refused and the old configuration stays.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use prometheus_client::metrics::gauge::Gauge;

/// The loaded configuration and the outcome of the last (re)load.
pub struct ConfigState {
    path: PathBuf,
    self_target: String,
    current: RwLock<Arc<promconfig::Config>>,
    scrape: Arc<scrape::Manager>,
    outcome: RwLock<(bool, SystemTime)>,
    pub last_reload_successful: Gauge,
    pub last_reload_success_timestamp: Gauge,
}

impl ConfigState {
    /// Loads `path`; when it does not exist, Prometheus's built-in default (this server
    /// scraping itself) is used instead.
    pub fn load(
        path: PathBuf,
        self_target: &str,
        scrape: Arc<scrape::Manager>,
    ) -> anyhow::Result<Self> {
        let config = read(&path, self_target).map_err(|e| {
            anyhow::anyhow!(
                "error loading config (--config.file={}): {e}",
                path.display()
            )
        })?;
        let state = Self {
            path,
            self_target: self_target.to_string(),
            current: RwLock::new(Arc::new(config)),
            scrape,
            outcome: RwLock::new((true, SystemTime::now())),
            last_reload_successful: Gauge::default(),
            last_reload_success_timestamp: Gauge::default(),
        };
        state.record(true);
        state.scrape.apply(&state.current());
        Ok(state)
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
        match read(&self.path, &self.self_target) {
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

/// Loads the file, or the built-in default when there is no file, and says what of it is
/// not acted on yet.
fn read(
    path: &std::path::Path,
    self_target: &str,
) -> Result<promconfig::Config, promconfig::ConfigError> {
    let config = if path.exists() {
        let config = promconfig::Config::load(path)?;
        tracing::info!(file = %path.display(), jobs = config.scrape_configs.len(), "Loaded configuration file");
        config
    } else {
        tracing::warn!(
            file = %path.display(),
            "configuration file not found: using the built-in default, job \"prometheus\" scraping {self_target} every 15s"
        );
        promconfig::Config::self_scrape(self_target)
    };
    announce(&config);
    Ok(config)
}

/// Says what of the configuration is not acted on yet.
fn announce(config: &promconfig::Config) {
    let inactive = config.inactive_sections();
    if !inactive.is_empty() {
        tracing::warn!(sections = ?inactive, "these configuration sections are accepted but not acted on yet");
    }
}
