//! Scrape pools: one per job, its targets discovered from `static_configs`,
//! `file_sd_configs` (re-read when the files change) and the mechanisms of the
//! `discovery` crate (their updates applied as they come), one loop per target.

use crate::file_sd;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Labels;
use promconfig::{Config, ScrapeConfig, TargetGroup};

use crate::scrape_loop::{ScrapeLoop, Target, TargetStatus};

struct RunningTarget {
    /// Shared with the target's loop.
    target: Arc<Target>,
    status: Arc<Mutex<TargetStatus>>,
    forced_error: Arc<Mutex<Option<String>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Where a pool's scrape failures are logged (`scrape_failure_log_file`), shared with its
/// loops so that a reload can reopen the file under running targets.
pub type FailureLogSlot = Arc<Mutex<Option<Arc<crate::JsonLogFile>>>>;

struct Pool {
    job: Arc<ScrapeConfig>,
    failure_log: FailureLogSlot,
    /// Whether this pool is the built-in self-scrape (served by the local source).
    builtin: bool,
    targets: BTreeMap<Labels, RunningTarget>,
    /// Targets dropped by relabeling: at most `keep_dropped_targets` of them kept (all
    /// when 0), and how many there were.
    dropped: Vec<Labels>,
    dropped_count: usize,
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// The job's other discovery mechanisms (stopped when dropped), the task applying
    /// their updates, and the groups of their last update with their targets resolved.
    discovery: Option<discovery::Set>,
    discovery_watcher: Option<tokio::task::JoinHandle<()>>,
    discovered: Vec<Arc<GroupTargets>>,
}

/// A discovered target resolved against its job.
enum Resolution {
    /// To scrape: the target as its loop and the API see it (shared with the loop).
    Keep(Arc<Target>),
    /// Dropped by relabeling (its labels before relabeling), or one that cannot be
    /// scraped (its labels as discovered).
    Dropped(Labels),
}

impl Resolution {
    fn of(job: &ScrapeConfig, discovered: &Labels) -> Self {
        match crate::target::resolve(job, discovered) {
            Ok((Some((labels, meta)), pre)) => {
                Self::Keep(Arc::new(Target::new(labels, pre, &meta)))
            }
            Ok((None, pre)) => Self::Dropped(pre),
            Err(e) => {
                tracing::warn!(job = %job.job_name, err = %e, "dropping a target");
                Self::Dropped(discovered.clone())
            }
        }
    }
}

/// One discovered group's targets, resolved once per version of the group: an update
/// resolves only the targets of the groups that changed (the others are the same `Arc`).
struct GroupTargets {
    group: Arc<discovery::Group>,
    targets: Vec<Resolution>,
}

impl GroupTargets {
    fn resolve(job: &ScrapeConfig, group: &Arc<discovery::Group>) -> Self {
        let targets = discovery::targets_of(std::slice::from_ref(group))
            .iter()
            .map(|labels| Resolution::of(job, labels))
            .collect();
        Self {
            group: Arc::clone(group),
            targets,
        }
    }
}

/// A target as the targets API reports it.
#[derive(Debug, Clone)]
pub struct ActiveTarget {
    pub scrape_pool: String,
    pub discovered_labels: Labels,
    pub labels: Labels,
    pub status: TargetStatus,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Runs every job's targets against one database.
pub struct Manager {
    db: Arc<tsdb::Db>,
    pools: Mutex<BTreeMap<String, Pool>>,
    local: Mutex<Option<LocalSource>>,
    start_timestamps: std::sync::atomic::AtomicBool,
    timestamp_tolerance_ms: std::sync::atomic::AtomicI64,
    target_limit_exceeded: std::sync::atomic::AtomicU64,
}

/// Produces a scrape body in-process: `(Content-Type, body)`.
pub type LocalSource = Arc<dyn Fn() -> (String, Vec<u8>) + Send + Sync>;

impl Manager {
    pub fn new(db: Arc<tsdb::Db>) -> Arc<Self> {
        Arc::new(Self {
            db,
            pools: Mutex::new(BTreeMap::new()),
            local: Mutex::new(None),
            start_timestamps: std::sync::atomic::AtomicBool::new(false),
            timestamp_tolerance_ms: std::sync::atomic::AtomicI64::new(
                crate::align::DEFAULT_TIMESTAMP_TOLERANCE_MS,
            ),
            target_limit_exceeded: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Store OpenMetrics `_created` times as start timestamps of the samples of targets
    /// started from now on (`--enable-feature=st-storage`).
    pub fn set_store_start_timestamps(&self, on: bool) {
        self.start_timestamps
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Align scrape timestamps to the schedule within this tolerance, for targets started
    /// from now on (`--scrape.adjust-timestamps`, `--scrape.timestamp-tolerance`; `None` or
    /// zero: never). On by default with 2 ms, as in Prometheus.
    pub fn set_timestamp_tolerance(&self, tolerance: Option<std::time::Duration>) {
        let ms = tolerance.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.timestamp_tolerance_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How the built-in default configuration scrapes this server: in-process, so that it
    /// works whatever the web config demands (credentials, TLS) of HTTP clients.
    pub fn set_local_source(&self, source: LocalSource) {
        *self.local.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Pool>> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the running pools match `config`: unchanged jobs keep running, changed ones
    /// restart, removed ones stop (their series get staleness markers).
    pub fn apply(self: &Arc<Self>, config: &Config) {
        let mut pools = self.lock();
        let wanted: HashMap<&str, &ScrapeConfig> = config
            .scrape_configs
            .iter()
            .map(|j| (j.job_name.as_str(), j))
            .collect();
        let stale: Vec<String> = pools
            .iter()
            .filter(|(name, pool)| {
                pool.builtin != config.builtin
                    || wanted
                        .get(name.as_str())
                        .is_none_or(|job| !same_job(job, &pool.job))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(pool) = pools.remove(&name) {
                stop_pool(pool);
            }
        }
        for job in &config.scrape_configs {
            if pools.contains_key(&job.job_name) {
                continue;
            }
            let job = Arc::new(job.clone());
            let mut pool = Pool {
                job: Arc::clone(&job),
                failure_log: Arc::new(Mutex::new(None)),
                builtin: config.builtin,
                targets: BTreeMap::new(),
                dropped: Vec::new(),
                dropped_count: 0,
                watcher: None,
                discovery: None,
                discovery_watcher: None,
                discovered: Vec::new(),
            };
            // Fingerprint before reading, so that a change after this point is noticed.
            let files = file_sd::fingerprint(&job.sd);
            let groups = discover(&job);
            self.sync_targets(&mut pool, &groups);
            if !job.sd.file_sd_configs.is_empty() {
                pool.watcher = Some(tokio::spawn(watch_files(
                    Arc::downgrade(self),
                    Arc::clone(&job),
                    files,
                )));
            }
            if discovery::has_discoverers(&job.sd) {
                let (set, updates) = discovery::Set::start(
                    &job.job_name,
                    discovery::discoverers(&job.sd, &job.job_name),
                    DISCOVERY_UPDATE_PERIOD,
                );
                pool.discovery = Some(set);
                pool.discovery_watcher = Some(tokio::spawn(watch_discovery(
                    Arc::downgrade(self),
                    Arc::clone(&job),
                    updates,
                )));
            }
            pools.insert(job.job_name.clone(), pool);
        }
        // Every load reopens the failure logs (as Prometheus does), so rotated files are
        // followed; pools naming the same file share it.
        let mut opened: HashMap<&str, Arc<crate::JsonLogFile>> = HashMap::new();
        for pool in pools.values() {
            let path = pool.job.scrape_failure_log_file.as_str();
            let log = if path.is_empty() {
                None
            } else if let Some(log) = opened.get(path) {
                Some(Arc::clone(log))
            } else {
                match crate::JsonLogFile::open(path) {
                    Ok(log) => {
                        let log = Arc::new(log);
                        opened.insert(path, Arc::clone(&log));
                        Some(log)
                    }
                    Err(e) => {
                        tracing::error!(job = %pool.job.job_name, err = %e, "scrape failure log");
                        None
                    }
                }
            };
            *pool.failure_log.lock().unwrap_or_else(|p| p.into_inner()) = log;
        }
    }

    /// Re-syncs the pool's targets with `statics` (static and file targets, resolved
    /// now) and the discovered ones it holds (resolved when their group changed).
    fn sync_targets(&self, pool: &mut Pool, statics: &[Labels]) {
        let job = Arc::clone(&pool.job);
        let statics: Vec<Resolution> = statics.iter().map(|l| Resolution::of(&job, l)).collect();
        // Taken out while the pool changes, put back after: not copied (a cluster's worth).
        let discovered = std::mem::take(&mut pool.discovered);
        let all = statics
            .iter()
            .chain(discovered.iter().flat_map(|g| g.targets.iter()));
        self.sync_resolved(pool, all);
        pool.discovered = discovered;
    }

    fn sync_resolved<'a>(&self, pool: &mut Pool, resolved: impl Iterator<Item = &'a Resolution>) {
        let job = Arc::clone(&pool.job);
        let client = match crate::client::build_client(&job) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(job = %job.job_name, err = %e.0, "cannot scrape this job");
                return;
            }
        };
        // The first target with given labels wins, as in Prometheus.
        let mut wanted: BTreeMap<&Labels, &Arc<Target>> = BTreeMap::new();
        pool.dropped.clear();
        pool.dropped_count = 0;
        let keep_dropped = job.keep_dropped_targets as usize;
        for r in resolved {
            let dropped = match r {
                Resolution::Keep(target) => {
                    wanted.entry(&target.labels).or_insert(target);
                    continue;
                }
                Resolution::Dropped(labels) => labels,
            };
            pool.dropped_count += 1;
            if keep_dropped == 0 || pool.dropped.len() < keep_dropped {
                pool.dropped.push(dropped.clone());
            }
        }
        let gone: Vec<Labels> = pool
            .targets
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(t) = pool.targets.remove(&key) {
                let _ = t.stop.send(true);
            }
        }
        for (key, target) in wanted {
            if pool.targets.contains_key(key) {
                continue;
            }
            let target = Arc::clone(target);
            let mut scrape = ScrapeLoop::new(
                Arc::clone(&job),
                client.clone(),
                Arc::clone(&target),
                Arc::clone(&self.db),
            );
            if pool.builtin {
                scrape.local = self.local.lock().unwrap_or_else(|p| p.into_inner()).clone();
            }
            scrape.start_timestamps = self
                .start_timestamps
                .load(std::sync::atomic::Ordering::Relaxed);
            scrape.timestamp_tolerance_ms = self
                .timestamp_tolerance_ms
                .load(std::sync::atomic::Ordering::Relaxed);
            scrape.failure_log = Arc::clone(&pool.failure_log);
            let status = Arc::clone(&scrape.status);
            let forced_error = Arc::clone(&scrape.forced_error);
            let (stop, stop_rx) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(scrape.run(stop_rx));
            pool.targets.insert(
                key.clone(),
                RunningTarget {
                    target,
                    status,
                    forced_error,
                    stop,
                    task,
                },
            );
        }
        // target_limit: over it, every target of the pool fails with Prometheus's error
        // (no scrape is made) until the pool is back under it.
        let limit = job.target_limit as usize;
        let forced = (limit > 0 && pool.targets.len() > limit).then(|| {
            self.target_limit_exceeded
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                pool.targets.len()
            )
        });
        for t in pool.targets.values() {
            *t.forced_error.lock().unwrap_or_else(|p| p.into_inner()) = forced.clone();
        }
    }

    /// How many times a pool was found over its `target_limit`
    /// (`prometheus_target_scrape_pool_exceeded_target_limit_total`).
    pub fn target_limit_exceeded_total(&self) -> u64 {
        self.target_limit_exceeded
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every running target.
    pub fn active_targets(&self) -> Vec<ActiveTarget> {
        let pools = self.lock();
        let mut out = Vec::new();
        for (name, pool) in pools.iter() {
            for t in pool.targets.values() {
                out.push(ActiveTarget {
                    scrape_pool: name.clone(),
                    discovered_labels: t.target.discovered.clone(),
                    labels: t.target.labels.clone(),
                    status: t.status.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                    interval: pool.job.interval(),
                    timeout: pool.job.timeout(),
                });
            }
        }
        out
    }

    /// How many targets relabeling dropped, per pool (all of them, also those not kept
    /// because of `keep_dropped_targets`).
    pub fn dropped_target_counts(&self) -> BTreeMap<String, usize> {
        self.lock()
            .iter()
            .map(|(name, pool)| (name.clone(), pool.dropped_count))
            .collect()
    }

    /// Targets dropped by relabeling, per pool, with their discovered labels (at most
    /// `keep_dropped_targets` per pool when that is set).
    pub fn dropped_targets(&self) -> Vec<(String, Labels)> {
        let pools = self.lock();
        pools
            .iter()
            .flat_map(|(name, pool)| pool.dropped.iter().map(move |l| (name.clone(), l.clone())))
            .collect()
    }

    /// The job names of the running pools.
    pub fn scrape_pools(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Stops every loop and waits for their staleness markers (at shutdown).
    pub async fn stop(&self) {
        let pools: Vec<Pool> = std::mem::take(&mut *self.lock()).into_values().collect();
        let mut tasks = Vec::new();
        for mut pool in pools {
            if let Some(w) = pool.watcher.take() {
                w.abort();
            }
            if let Some(w) = pool.discovery_watcher.take() {
                w.abort();
            }
            pool.discovery = None;
            for (_, t) in std::mem::take(&mut pool.targets) {
                let _ = t.stop.send(true);
                tasks.push(t.task);
            }
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

fn stop_pool(mut pool: Pool) {
    if let Some(w) = pool.watcher.take() {
        w.abort();
    }
    if let Some(w) = pool.discovery_watcher.take() {
        w.abort();
    }
    pool.discovery = None;
    for (_, t) in std::mem::take(&mut pool.targets) {
        let _ = t.stop.send(true);
    }
}

/// Whether two job configs are the same (then its targets keep running across a reload).
/// Compared by value: secrets (which print as `<secret>`) count too, so a changed password
/// restarts the job.
fn same_job(a: &ScrapeConfig, b: &ScrapeConfig) -> bool {
    a == b
}

/// The discovered label sets of a job: `__address__` plus group labels. A file that
/// cannot be read or parsed is logged and contributes no targets.
fn discover(job: &ScrapeConfig) -> Vec<Labels> {
    let mut out = Vec::new();
    for group in job.sd.static_configs.iter().flatten() {
        add_group(&mut out, group, None);
    }
    for sd in job.sd.file_sd_configs.iter().flatten() {
        for pattern in &sd.files {
            for path in file_sd::expand(pattern) {
                match file_sd::read_groups(&path) {
                    Ok(groups) => {
                        for g in &groups {
                            add_group(&mut out, g, Some(&path));
                        }
                    }
                    Err(e) => tracing::error!(file = %path, err = %e, "file service discovery"),
                }
            }
        }
    }
    out
}

fn add_group(out: &mut Vec<Labels>, group: &TargetGroup, file: Option<&str>) {
    for address in &group.targets {
        let mut pairs: Vec<(String, String)> = group
            .labels
            .iter()
            .map(|(k, v)| (k.0.clone(), v.clone()))
            .collect();
        pairs.push(("__address__".into(), address.clone()));
        if let Some(f) = file {
            pairs.push(("__meta_filepath".into(), f.to_string()));
        }
        out.push(Labels::from_pairs(pairs));
    }
}

/// Re-discovers a file SD job when its files change (checked every second) and at least
/// every `refresh_interval`.
async fn watch_files(
    manager: std::sync::Weak<Manager>,
    job: Arc<ScrapeConfig>,
    initial: file_sd::Fingerprint,
) {
    let refresh = job
        .sd
        .file_sd_configs
        .iter()
        .flatten()
        .map(|c| c.refresh_interval.0)
        .min()
        .unwrap_or(Duration::from_secs(300));
    let mut last = initial;
    let mut last_refresh = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = file_sd::fingerprint(&job.sd);
        if now == last && last_refresh.elapsed() < refresh {
            continue;
        }
        last = now;
        last_refresh = tokio::time::Instant::now();
        let Some(manager) = manager.upgrade() else {
            return;
        };
        let targets = discover(&job);
        let mut pools = manager.lock();
        let Some(pool) = pools.get_mut(&job.job_name) else {
            return;
        };
        manager.sync_targets(pool, &targets);
    }
}

/// The groups' resolved targets: those of a group that did not change (the same `Arc`)
/// taken from `held`, the others resolved now.
fn reuse_or_resolve(
    job: &ScrapeConfig,
    held: Vec<Arc<GroupTargets>>,
    groups: &[Arc<discovery::Group>],
) -> Vec<Arc<GroupTargets>> {
    let mut held: HashMap<*const discovery::Group, Arc<GroupTargets>> = held
        .into_iter()
        .map(|g| (Arc::as_ptr(&g.group), g))
        .collect();
    groups
        .iter()
        .map(|g| {
            held.remove(&Arc::as_ptr(g))
                .unwrap_or_else(|| Arc::new(GroupTargets::resolve(job, g)))
        })
        .collect()
}

/// How often, at most, a job's targets change for its discovery mechanisms' updates
/// (Prometheus's discovery manager sends at most every 5 s).
pub const DISCOVERY_UPDATE_PERIOD: Duration = Duration::from_secs(5);

/// Applies a job's discovery updates to its pool as they come: its static and file
/// targets with the discovered ones. The targets last known stay while a mechanism fails.
async fn watch_discovery(
    manager: std::sync::Weak<Manager>,
    job: Arc<ScrapeConfig>,
    mut updates: tokio::sync::watch::Receiver<Option<Vec<Arc<discovery::Group>>>>,
) {
    while updates.changed().await.is_ok() {
        let groups = match &*updates.borrow_and_update() {
            Some(groups) => groups.clone(),
            None => continue,
        };
        let Some(manager) = manager.upgrade() else {
            return;
        };
        let targets = discover(&job);
        let mut pools = manager.lock();
        let Some(pool) = pools.get_mut(&job.job_name) else {
            return;
        };
        pool.discovered = reuse_or_resolve(&job, std::mem::take(&mut pool.discovered), &groups);
        manager.sync_targets(pool, &targets);
    }
}
