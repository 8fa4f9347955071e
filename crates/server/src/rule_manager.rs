//! The rule manager (Prometheus's `rules.Manager`): the groups of the `rule_files` in
//! force, each evaluated on its own thread at its interval, their alerts sent to the
//! notifier. Every configuration load goes through [`RuleManager::prepare`] (read and
//! validate every file: a bad one fails the load, the running groups stay) and then
//! [`RuleManager::commit`] (start new groups, keep unchanged ones running, carry the state
//! of changed ones over, stop removed ones, their series marked stale two intervals later).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// The `--rules.*` flags and `--web.external-url`: settings of every group besides the
/// global configuration's.
#[derive(Debug, Clone)]
pub struct RuleFlags {
    pub resend_delay: Duration,
    pub outage_tolerance: Duration,
    pub for_grace_period: Duration,
    pub external_url: String,
    /// `--rules.max-concurrent-evals` when `--enable-feature=concurrent-rule-eval` is on:
    /// independent rules of a group are evaluated at the same time on these slots.
    pub concurrent_evals: Option<usize>,
}

/// What the group threads evaluate with.
struct Shared {
    /// Group and rule evaluation times, for the summaries.
    durations: Mutex<Durations>,
    db: Arc<tsdb::Db>,
    /// What rules query: local storage and the `remote_read` endpoints.
    storage: remote::read::Fanout,
    engine: promql::Engine,
    notifier: Arc<notifier::Manager>,
    expander: rules::GoTemplates,
    /// Shared by every group.
    concurrency: Option<rules::ConcurrencyLimit>,
}

/// A group running on its thread; `snapshot` is a copy taken after every evaluation, for
/// the API and `/metrics`.
struct Running {
    snapshot: Arc<RwLock<rules::Group>>,
    clock: Arc<rules::SystemClock>,
    thread: Option<JoinHandle<rules::Group>>,
}

impl Running {
    /// Stops the thread (after the evaluation in progress) and returns the group.
    fn stop(mut self) -> rules::Group {
        self.clock.stop();
        let last = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_else(|| read(&self.snapshot).clone());
        last
    }
}

fn read(g: &RwLock<rules::Group>) -> std::sync::RwLockReadGuard<'_, rules::Group> {
    g.read().unwrap_or_else(|p| p.into_inner())
}

/// Groups read from the rule files of a configuration, not running yet.
pub struct Prepared {
    groups: Vec<rules::Group>,
}

/// Group key: file and name, as upstream's `GroupKey` (`<file>;<name>`).
type Key = (String, String);

pub struct RuleManager {
    shared: Arc<Shared>,
    flags: RuleFlags,
    /// In file order, then group order.
    groups: Mutex<Vec<(Key, Running)>>,
    /// Whether groups were loaded once (the first load restores `for` state).
    loaded: std::sync::atomic::AtomicBool,
    /// Stopped at shutdown: ends the waits before removed groups' staleness markers.
    shutdown: Arc<rules::SystemClock>,
}

impl RuleManager {
    pub fn new(
        db: Arc<tsdb::Db>,
        remote_read: Arc<remote::read::ReadStorage>,
        engine: promql::Engine,
        notifier: Arc<notifier::Manager>,
        flags: RuleFlags,
    ) -> Arc<Self> {
        Arc::new(Self {
            shared: Arc::new(Shared {
                durations: Mutex::new(Durations::default()),
                storage: remote::read::Fanout {
                    local: Arc::clone(&db),
                    remote: remote_read,
                },
                db,
                engine,
                notifier,
                expander: rules::GoTemplates::new(),
                concurrency: flags.concurrent_evals.map(rules::ConcurrencyLimit::new),
            }),
            flags,
            groups: Mutex::new(Vec::new()),
            loaded: std::sync::atomic::AtomicBool::new(false),
            shutdown: Arc::new(rules::SystemClock::new()),
        })
    }

    /// The notifier alerts are sent to.
    pub fn notifier(&self) -> &Arc<notifier::Manager> {
        &self.shared.notifier
    }

    /// Reads every rule file `config` names (its globs expanded; relative paths were
    /// resolved against the configuration file's directory when it was loaded) and builds
    /// their groups. Errors are logged one by one and returned as upstream words the
    /// failed update.
    pub fn prepare(&self, config: &promconfig::Config) -> Result<Prepared, String> {
        let g = &config.global;
        let opts = Arc::new(rules::EvalOptions {
            default_interval: g.evaluation_interval.0,
            default_query_offset: g.rule_query_offset.0,
            resend_delay: self.flags.resend_delay,
            outage_tolerance: self.flags.outage_tolerance,
            for_grace_period: self.flags.for_grace_period,
            external_labels: model::Labels::from_pairs(
                g.external_labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            external_url: self.flags.external_url.clone(),
        });
        let should_restore = !self.loaded.load(std::sync::atomic::Ordering::SeqCst);
        let mut errors = Vec::new();
        let mut groups = Vec::new();
        for pattern in &config.rule_files {
            for path in promconfig::glob(pattern) {
                let file = path.display().to_string();
                match rules::parse_file_with(&path, &rules::ParseOptions::default()) {
                    Ok(parsed) => {
                        if parsed.ignored_documents {
                            tracing::warn!(file = %file, "{}", rules::MULTIPLE_DOCUMENTS_WARNING);
                        }
                        for spec in &parsed.groups {
                            match rules::Group::new(&file, spec, Arc::clone(&opts), should_restore)
                            {
                                Ok(group) => groups.push(group),
                                Err(e) => errors.push(e),
                            }
                        }
                    }
                    Err(errs) => errors.extend(errs.iter().map(ToString::to_string)),
                }
            }
        }
        if errors.is_empty() {
            return Ok(Prepared { groups });
        }
        for e in &errors {
            tracing::error!(err = %e, "loading groups failed");
        }
        // Upstream's words for a failed update; at start there is no previous set.
        let what = if should_restore {
            "error loading rules"
        } else {
            "error loading rules, previous rule set restored"
        };
        Err(format!("{what}: {}", errors.join("; ")))
    }

    /// Puts prepared groups in force: a group whose definition is unchanged keeps running
    /// as it is; a changed one takes over its predecessor's state (alerts, series for
    /// staleness); removed groups stop and their series are marked stale at once.
    pub fn commit(&self, prepared: Prepared) {
        self.loaded.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut running = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let mut old: BTreeMap<Key, Running> = std::mem::take(&mut *running).into_iter().collect();
        let mut next = Vec::with_capacity(prepared.groups.len());
        for mut group in prepared.groups {
            let key = (group.file().to_string(), group.name().to_string());
            if let Some(previous) = old.remove(&key) {
                if read(&previous.snapshot).same_definition(&group) {
                    next.push((key, previous));
                    continue;
                }
                let last = previous.stop();
                group.copy_state_from(&last);
            }
            next.push((key, self.start(group)));
        }
        for ((file, name), removed) in old {
            let mut group = removed.stop();
            // As upstream: the series of a removed group are marked stale two intervals
            // after it stopped (a group renamed or moved gets time to write them), unless
            // the server stops first.
            let stopped_at = crate::now_ms();
            let wait = 2 * group.interval().as_millis() as i64;
            let (shared, shutdown) = (Arc::clone(&self.shared), Arc::clone(&self.shutdown));
            let spawned = std::thread::Builder::new()
                .name("rules stale".into())
                .spawn(move || {
                    use rules::Clock;
                    if !shutdown.sleep_until(stopped_at + wait) {
                        return;
                    }
                    if let Err(e) = group.mark_all_stale(&env(&shared), crate::now_ms()) {
                        tracing::warn!(file = %file, group = %name, err = %e, "marking the series of a removed rule group stale");
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(err = %e, "cannot start the thread marking a removed group's series stale");
            }
        }
        *running = next;
    }

    fn start(&self, group: rules::Group) -> Running {
        let snapshot = Arc::new(RwLock::new(group.clone()));
        let clock = Arc::new(rules::SystemClock::new());
        let (shared, snap, clk) = (
            Arc::clone(&self.shared),
            Arc::clone(&snapshot),
            Arc::clone(&clock),
        );
        let name = format!("rules {}", group.name());
        let thread = std::thread::Builder::new()
            .name(name.chars().take(15).collect())
            .stack_size(promql::STACK_SIZE)
            .spawn(move || {
                let mut group = group;
                let env = env(&shared);
                rules::run(&mut group, &env, &*clk, |g, report| {
                    shared
                        .durations
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .observe(report.duration, &report.rule_durations);
                    if !report.alerts.is_empty() {
                        shared
                            .notifier
                            .send(report.alerts.into_iter().map(to_notifier).collect());
                    }
                    *snap.write().unwrap_or_else(|p| p.into_inner()) = g.clone();
                });
                group
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(err = %e, "cannot start a rule group's thread");
                None
            }
        };
        Running {
            snapshot,
            clock,
            thread,
        }
    }

    /// Copies of the running groups, in file and group order.
    pub fn groups(&self) -> Vec<rules::Group> {
        self.groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(_, r)| read(&r.snapshot).clone())
            .collect()
    }

    /// Stops every group (the evaluation in progress finishes first).
    pub fn stop(&self) {
        self.shutdown.stop();
        let running = std::mem::take(&mut *self.groups.lock().unwrap_or_else(|p| p.into_inner()));
        for (_, r) in &running {
            r.clock.stop();
        }
        for (_, r) in running {
            r.stop();
        }
    }

    /// The summaries `prometheus_rule_group_duration_seconds` and
    /// `prometheus_rule_evaluation_duration_seconds`: `(quantiles, sum, count)` each.
    pub fn duration_summaries(&self) -> [Summary; 2] {
        let d = self
            .shared
            .durations
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        [d.group.summary(), d.rule.summary()]
    }
}

/// Upstream's objectives for the rule duration summaries.
pub const QUANTILES: [f64; 5] = [0.01, 0.05, 0.5, 0.9, 0.99];
/// The window quantiles are computed over (client_golang's default `MaxAge`).
const WINDOW: Duration = Duration::from_secs(600);
/// At most this many observations kept for the quantiles.
const MAX_KEPT: usize = 4096;

/// A summary at one moment: `(quantile, value)` pairs (NaN without observations), sum and
/// count, in seconds.
pub struct Summary {
    pub quantiles: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: u64,
}

#[derive(Default)]
struct Durations {
    group: Observed,
    rule: Observed,
}

impl Durations {
    fn observe(&mut self, group: Duration, rules: &[Duration]) {
        self.group.observe(group);
        for &r in rules {
            self.rule.observe(r);
        }
    }
}

#[derive(Default)]
struct Observed {
    count: u64,
    sum: f64,
    recent: std::collections::VecDeque<(std::time::Instant, f64)>,
}

impl Observed {
    fn observe(&mut self, d: Duration) {
        let v = d.as_secs_f64();
        self.count += 1;
        self.sum += v;
        let now = std::time::Instant::now();
        self.recent.push_back((now, v));
        while self.recent.len() > MAX_KEPT
            || self
                .recent
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
        {
            self.recent.pop_front();
        }
    }

    fn summary(&self) -> Summary {
        let now = std::time::Instant::now();
        let mut values: Vec<f64> = self
            .recent
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= WINDOW)
            .map(|(_, v)| *v)
            .collect();
        values.sort_by(f64::total_cmp);
        let quantiles = QUANTILES
            .iter()
            .map(|&q| {
                let v = if values.is_empty() {
                    f64::NAN
                } else {
                    let i = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
                    values[i - 1]
                };
                (q, v)
            })
            .collect();
        Summary {
            quantiles,
            sum: self.sum,
            count: self.count,
        }
    }
}

fn env(shared: &Shared) -> rules::Env<'_> {
    rules::Env {
        engine: &shared.engine,
        storage: &shared.storage,
        appender: &*shared.db,
        expander: &shared.expander,
        cancel: None,
        concurrency: shared.concurrency.as_ref(),
    }
}

fn to_notifier(a: rules::OutgoingAlert) -> notifier::Alert {
    notifier::Alert::new(
        a.labels,
        a.annotations,
        a.starts_at,
        Some(a.ends_at),
        a.generator_url,
    )
}
