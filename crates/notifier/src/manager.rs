//! The notification manager: Alertmanager sets built from the configuration, alerts
//! relabeled and queued to every Alertmanager of every set, metrics, shutdown.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use model::Labels;
use promconfig::{AlertmanagerConfig, Config, RelabelConfig};

use crate::alert::{relabel_alerts, Alert};
use crate::discovery;
use crate::metrics::{AlertmanagerMetrics, NotifierMetrics};
use crate::send_loop::SendLoop;

/// The manager's settings (command-line flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `--alertmanager.notification-queue-capacity` (10000): queued alerts per Alertmanager.
    pub queue_capacity: usize,
    /// `--alertmanager.notification-batch-size` (256): alerts per request.
    pub max_batch_size: usize,
    /// `--alertmanager.drain-notification-queue-on-shutdown` (true).
    pub drain_on_shutdown: bool,
    /// How long [`Manager::stop`] may drain in all (`None`: until the queues are empty,
    /// each batch bounded by its set's timeout, as upstream).
    pub drain_deadline: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            max_batch_size: 256,
            drain_on_shutdown: true,
            drain_deadline: None,
        }
    }
}

/// The Alertmanagers `/api/v1/alertmanagers` lists: URLs alerts are posted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertmanagerList {
    pub active: Vec<String>,
    pub dropped: Vec<String>,
}

/// One `alertmanagers` entry at work.
struct AmSet {
    cfg: Arc<AlertmanagerConfig>,
    client: reqwest::Client,
    inner: Mutex<SetInner>,
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The entry's discovery mechanisms (other than static and file) while it runs, and
    /// the task taking their groups.
    discovery: Mutex<Option<(::discovery::Set, tokio::task::JoinHandle<()>)>>,
    /// The groups those mechanisms found last.
    discovered: Mutex<Vec<Arc<::discovery::Group>>>,
}

#[derive(Default)]
struct SetInner {
    active: Vec<Labels>,
    dropped: Vec<Labels>,
    loops: BTreeMap<String, SendLoop>,
}

impl AmSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, SetInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Upstream's `alertmanagerSet.sync`: new Alertmanagers get a send loop, vanished ones
    /// have theirs stopped (drained in the background as upstream drains them).
    fn sync(&self, opts: &Options) {
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        let discovered = self
            .discovered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let from_static_and_files = discovery::groups(&self.cfg)
            .into_iter()
            .map(|(group, file)| discovery::from_group(&group, file.as_deref(), &self.cfg));
        let from_mechanisms = discovered
            .iter()
            .map(|group| discovery::from_discovered(group, &self.cfg));
        for result in from_static_and_files.chain(from_mechanisms) {
            match result {
                Ok((a, d)) => {
                    active.extend(a);
                    dropped.extend(d);
                }
                Err(e) => tracing::error!(err = %e, "Creating discovered Alertmanagers failed"),
            }
        }
        let mut inner = self.lock();
        let mut seen = std::collections::HashSet::new();
        active.retain(|l| seen.insert(discovery::url_of(l)));
        for url in &seen {
            if !inner.loops.contains_key(url) {
                let l = SendLoop::start(
                    url.clone(),
                    Arc::clone(&self.cfg),
                    self.client.clone(),
                    opts.queue_capacity,
                    opts.max_batch_size,
                );
                inner.loops.insert(url.clone(), l);
            }
        }
        let gone: Vec<String> = inner
            .loops
            .keys()
            .filter(|u| !seen.contains(*u))
            .cloned()
            .collect();
        for url in gone {
            if let Some(l) = inner.loops.remove(&url) {
                tokio::spawn(l.shutdown(opts.drain_on_shutdown, None));
            }
        }
        inner.active = active;
        inner.dropped = dropped;
    }

    fn stop_watcher(&self) {
        if let Some((_set, task)) = self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
        if let Some(w) = self
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            w.abort();
        }
    }

    fn take_loops(&self) -> Vec<SendLoop> {
        std::mem::take(&mut self.lock().loops)
            .into_values()
            .collect()
    }
}

/// What [`Manager::apply_config`] does for one entry.
enum Planned {
    /// The entry did not change: its running set carries on.
    Keep(Arc<AmSet>),
    New(Arc<AlertmanagerConfig>),
}

struct State {
    external_labels: Labels,
    relabel: Vec<RelabelConfig>,
    /// Keyed `config-<index>` as upstream.
    sets: BTreeMap<String, Arc<AmSet>>,
}

/// Sends alerts to every Alertmanager of the configuration.
pub struct Manager {
    opts: Options,
    state: Mutex<State>,
    stopping: AtomicBool,
}

impl Manager {
    pub fn new(opts: Options) -> Arc<Self> {
        Arc::new(Self {
            opts,
            state: Mutex::new(State {
                external_labels: Labels::default(),
                relabel: Vec::new(),
                sets: BTreeMap::new(),
            }),
            stopping: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Upstream's `ApplyConfig` (call it inside a tokio runtime): external labels and
    /// `alert_relabel_configs` taken over, one set per `alertmanagers` entry. A set whose
    /// entry did not change keeps its Alertmanagers and queues; the loops of sets that
    /// went away are stopped (drained if draining on shutdown). On error nothing changes.
    pub fn apply_config(self: &Arc<Self>, config: &Config) -> Result<(), String> {
        let mut built: Vec<(String, Planned)> = Vec::new();
        {
            let state = self.lock();
            let mut reusable: Vec<&Arc<AmSet>> = state.sets.values().collect();
            for (i, cfg) in config.alerting.alertmanagers.iter().enumerate() {
                check_supported(cfg)?;
                let key = format!("config-{i}");
                match reusable.iter().position(|s| *s.cfg == *cfg) {
                    Some(pos) => built.push((key, Planned::Keep(Arc::clone(reusable.remove(pos))))),
                    None => built.push((key, Planned::New(Arc::new(cfg.clone())))),
                }
            }
        }
        let mut sets = BTreeMap::new();
        let mut fresh = Vec::new();
        for (key, set) in built {
            let set = match set {
                Planned::Keep(old) => old,
                Planned::New(cfg) => {
                    let client = httpclient::build_http_client(&cfg.http).map_err(|e| e.0)?;
                    let set = Arc::new(AmSet {
                        cfg,
                        client,
                        inner: Mutex::new(SetInner::default()),
                        watcher: Mutex::new(None),
                        discovery: Mutex::new(None),
                        discovered: Mutex::new(Vec::new()),
                    });
                    fresh.push((key.clone(), Arc::clone(&set)));
                    set
                }
            };
            sets.insert(key, set);
        }
        for (name, set) in &fresh {
            set.sync(&self.opts);
            if ::discovery::has_discoverers(&set.cfg.sd) {
                // `config-<i>`, as Prometheus names an alerting discovery in its metrics.
                let (handle, updates) = ::discovery::Set::start_for(
                    "notify",
                    name,
                    ::discovery::discoverers_for("notify", &set.cfg.sd, name),
                    DISCOVERY_UPDATE_PERIOD,
                );
                let task = tokio::spawn(take_discovered(
                    Arc::downgrade(set),
                    self.opts.clone(),
                    updates,
                ));
                *set.discovery.lock().unwrap_or_else(|p| p.into_inner()) = Some((handle, task));
            }
            if !set.cfg.sd.file_sd_configs.is_empty() {
                let task = tokio::spawn(watch_files(
                    Arc::downgrade(set),
                    self.opts.clone(),
                    scrape::file_sd::fingerprint(&set.cfg.sd),
                ));
                *set.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
            }
        }
        let mut state = self.lock();
        state.external_labels = Labels::from_pairs(
            config
                .global
                .external_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        state.relabel = config.alerting.alert_relabel_configs.clone();
        let old = std::mem::replace(&mut state.sets, sets);
        drop(state);
        for set in old.into_values() {
            if self.lock().sets.values().any(|s| Arc::ptr_eq(s, &set)) {
                continue;
            }
            set.stop_watcher();
            for l in set.take_loops() {
                tokio::spawn(l.shutdown(self.opts.drain_on_shutdown, None));
            }
        }
        Ok(())
    }

    /// Upstream's `Send`: external labels added, `alert_relabel_configs` applied, then per
    /// set its own `alert_relabel_configs`, and the alerts queued for each of its
    /// Alertmanagers. Ignored once stopping.
    pub fn send(&self, alerts: Vec<Alert>) {
        if self.stopping.load(Ordering::SeqCst) || alerts.is_empty() {
            return;
        }
        let state = self.lock();
        let alerts = relabel_alerts(&state.relabel, &state.external_labels, &alerts);
        if alerts.is_empty() {
            return;
        }
        for set in state.sets.values() {
            let own;
            let alerts = if set.cfg.alert_relabel_configs.is_empty() {
                &alerts
            } else {
                own = relabel_alerts(&set.cfg.alert_relabel_configs, &Labels::default(), &alerts);
                if own.is_empty() {
                    continue;
                }
                &own
            };
            for l in set.lock().loops.values() {
                l.shared.add(alerts);
            }
        }
    }

    /// Active and dropped Alertmanagers over all sets, in configuration order.
    pub fn alertmanagers(&self) -> AlertmanagerList {
        let sets: Vec<Arc<AmSet>> = self.lock().sets.values().cloned().collect();
        let mut out = AlertmanagerList::default();
        for set in sets {
            let inner = set.lock();
            out.active
                .extend(inner.active.iter().map(discovery::url_of));
            out.dropped
                .extend(inner.dropped.iter().map(discovery::url_of));
        }
        out
    }

    /// The notifier's metrics now.
    pub fn metrics(&self) -> NotifierMetrics {
        let sets: Vec<Arc<AmSet>> = self.lock().sets.values().cloned().collect();
        let mut per_url: BTreeMap<String, AlertmanagerMetrics> = BTreeMap::new();
        let mut discovered = 0;
        for set in sets {
            let inner = set.lock();
            discovered += inner.active.len() as u64;
            for (url, l) in &inner.loops {
                let m = per_url
                    .entry(url.clone())
                    .or_insert_with(|| AlertmanagerMetrics {
                        alertmanager: url.clone(),
                        ..Default::default()
                    });
                l.shared.metrics.add_to(m);
            }
        }
        NotifierMetrics {
            queue_capacity: self.opts.queue_capacity as u64,
            alertmanagers_discovered: discovered,
            alertmanagers: per_url.into_values().collect(),
        }
    }

    /// Stops accepting alerts and stops every loop, draining the queues first when
    /// `drain_on_shutdown` (within `drain_deadline`); returns when all are done.
    pub async fn stop(&self) {
        tracing::info!("Stopping notification manager...");
        self.stopping.store(true, Ordering::SeqCst);
        let sets: Vec<Arc<AmSet>> = std::mem::take(&mut self.lock().sets)
            .into_values()
            .collect();
        let deadline = self.opts.drain_deadline.map(|d| Instant::now() + d);
        let mut tasks = tokio::task::JoinSet::new();
        for set in sets {
            set.stop_watcher();
            for l in set.take_loops() {
                tasks.spawn(l.shutdown(self.opts.drain_on_shutdown, deadline));
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// How often discovered Alertmanagers are taken over at most (Prometheus's discovery
/// manager sends every 5 s).
const DISCOVERY_UPDATE_PERIOD: Duration = Duration::from_secs(5);

/// Takes the groups a set's mechanisms find, re-syncing its Alertmanagers on each list.
async fn take_discovered(
    set: Weak<AmSet>,
    opts: Options,
    mut updates: tokio::sync::watch::Receiver<Option<Vec<Arc<::discovery::Group>>>>,
) {
    while updates.changed().await.is_ok() {
        let groups = updates.borrow_and_update().clone().unwrap_or_default();
        let Some(set) = set.upgrade() else {
            return;
        };
        *set.discovered.lock().unwrap_or_else(|p| p.into_inner()) = groups;
        set.sync(&opts);
    }
}

/// What this server cannot do for an `alertmanagers` entry is refused, not ignored.
fn check_supported(cfg: &AlertmanagerConfig) -> Result<(), String> {
    if cfg.api_version.0 != "v2" {
        return Err(format!(
            "expected Alertmanager api version to be one of [v2] but got {}",
            cfg.api_version.0
        ));
    }
    if cfg.sigv4.is_some() {
        return Err("alertmanager config: sigv4 is not supported by promethium yet".into());
    }
    if let Some(oauth2) = &cfg.http.oauth2 {
        httpclient::check_oauth2(oauth2).map_err(|e| format!("alertmanager config: {e}"))?;
    }
    let other: Vec<&str> = cfg
        .sd
        .configured()
        .into_iter()
        .filter(|k| {
            !matches!(*k, "static_configs" | "file_sd_configs")
                && !::discovery::MECHANISMS.contains(k)
        })
        .collect();
    if !other.is_empty() {
        return Err(format!(
            "alertmanager config: {} not supported by promethium yet (static_configs, file_sd_configs, {} are)",
            other.join(", "),
            ::discovery::MECHANISMS.join(", ")
        ));
    }
    ::discovery::check(&cfg.sd).map_err(|e| format!("alertmanager config: {e}"))?;
    Ok(())
}

/// Re-reads a set's file SD files when they change (checked every second) and at least
/// every `refresh_interval`.
async fn watch_files(set: Weak<AmSet>, opts: Options, initial: scrape::file_sd::Fingerprint) {
    let refresh = match set.upgrade() {
        Some(s) => s
            .cfg
            .sd
            .file_sd_configs
            .iter()
            .flatten()
            .map(|c| c.refresh_interval.0)
            .min()
            .unwrap_or(Duration::from_secs(300)),
        None => return,
    };
    let mut last = initial;
    let mut last_refresh = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(set) = set.upgrade() else {
            return;
        };
        let now = scrape::file_sd::fingerprint(&set.cfg.sd);
        if now == last && last_refresh.elapsed() < refresh {
            continue;
        }
        last = now;
        last_refresh = tokio::time::Instant::now();
        set.sync(&opts);
    }
}
