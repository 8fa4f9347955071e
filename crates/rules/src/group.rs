//! A running rule group (upstream's `rules/group.go`): its rules evaluated in order at one
//! timestamp, each rule's output appended before the next rule runs, staleness markers for
//! series a rule stopped producing, the restore of alerts' `for` state, and the numbers
//! upstream exports about groups and rules.

use crate::recording::RuleSamples;
use crate::Rejected;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use model::Labels;

use crate::alerting::{duration_ms, AlertingRule, OutgoingAlert};
use crate::concurrency::{self, ConcurrencyLimit};
use crate::recording::RecordingRule;
use crate::schedule;
use crate::storage::Env;
use crate::RuleGroup;

/// Settings shared by all groups (upstream's `ManagerOptions`, the global configuration and
/// the `--rules.*` flags).
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// `global.evaluation_interval`: the interval of groups that set none.
    pub default_interval: Duration,
    /// `global.rule_query_offset`: the query offset of groups that set none.
    pub default_query_offset: Duration,
    /// `--rules.alert.resend-delay`.
    pub resend_delay: Duration,
    /// `--rules.alert.for-outage-tolerance`.
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period`.
    pub for_grace_period: Duration,
    /// `global.external_labels`, for templates (`$externalLabels`).
    pub external_labels: Labels,
    /// `--web.external-url`, for templates and generator URLs.
    pub external_url: String,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(60),
            default_query_offset: Duration::ZERO,
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            external_labels: Labels::default(),
            external_url: String::new(),
        }
    }
}

/// A rule's health after its last evaluation (the API's `health`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleHealth {
    #[default]
    Unknown,
    Good,
    Bad,
}

impl RuleHealth {
    /// `unknown`, `ok`, `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleHealth::Unknown => "unknown",
            RuleHealth::Good => "ok",
            RuleHealth::Bad => "err",
        }
    }
}

/// How a rule's last evaluation went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStatus {
    pub health: RuleHealth,
    pub last_error: Option<String>,
    /// Wall-clock start of the last evaluation (the API's `lastEvaluation`).
    pub last_evaluation: Option<SystemTime>,
    /// How long it took (`evaluationTime`).
    pub evaluation_duration: Duration,
}

impl RuleStatus {
    fn fail(&mut self, error: String) {
        self.health = RuleHealth::Bad;
        self.last_error = Some(error);
    }
}

/// A rule of a running group.
#[derive(Debug, Clone)]
pub enum GroupRule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl GroupRule {
    /// The alert name or recorded metric name.
    pub fn name(&self) -> &str {
        match self {
            GroupRule::Recording(r) => r.name(),
            GroupRule::Alerting(r) => r.name(),
        }
    }

    /// The rule's labels (the group's overridden by its own), unexpanded.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        match self {
            GroupRule::Recording(r) => r.labels(),
            GroupRule::Alerting(r) => r.labels(),
        }
    }

    pub fn status(&self) -> &RuleStatus {
        match self {
            GroupRule::Recording(r) => &r.status,
            GroupRule::Alerting(r) => &r.status,
        }
    }

    fn status_mut(&mut self) -> &mut RuleStatus {
        match self {
            GroupRule::Recording(r) => &mut r.status,
            GroupRule::Alerting(r) => &mut r.status,
        }
    }

    /// Upstream's `nameAndLabels`: how rules are matched across a reload.
    fn identity(&self) -> String {
        format!("{}{:?}", self.name(), self.labels())
    }

    /// What makes two rules the same for a reload (upstream compares their YAML).
    fn definition(&self) -> String {
        match self {
            GroupRule::Recording(r) => {
                format!("record {} {} {:?}", r.name(), r.query(), r.labels())
            }
            GroupRule::Alerting(r) => format!(
                "alert {} {} {:?} {:?} {:?} {:?}",
                r.name(),
                r.query(),
                r.hold_duration(),
                r.keep_firing_for(),
                r.labels(),
                r.annotations()
            ),
        }
    }
}

/// Counters and gauges of one group, named after upstream's metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupMetrics {
    /// `prometheus_rule_group_iterations_total`: scheduled evaluations, missed included.
    pub iterations_total: u64,
    /// `prometheus_rule_group_iterations_missed_total`.
    pub iterations_missed: u64,
    /// `prometheus_rule_evaluations_total`: rule evaluations.
    pub evaluations_total: u64,
    /// `prometheus_rule_evaluation_failures_total`.
    pub evaluation_failures: u64,
    /// `prometheus_rule_group_last_duration_seconds`.
    pub last_duration: Duration,
    /// `prometheus_rule_group_last_rule_duration_sum_seconds`.
    pub last_rule_duration_sum: Duration,
    /// `prometheus_rule_group_last_evaluation_samples`.
    pub last_evaluation_samples: u64,
    /// `prometheus_rule_group_last_evaluation_timestamp_seconds` (wall clock of the start).
    pub last_evaluation: Option<SystemTime>,
    /// `prometheus_rule_group_last_restore_duration_seconds`.
    pub last_restore_duration: Option<Duration>,
}

/// What one evaluation of a group produced besides samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalReport {
    /// Alerts to send to Alertmanager now, rule after rule.
    pub alerts: Vec<OutgoingAlert>,
    /// Each rule's evaluation time, in rule order (for
    /// `prometheus_rule_evaluation_duration_seconds`).
    pub rule_durations: Vec<Duration>,
    /// The whole evaluation (`prometheus_rule_group_duration_seconds`).
    pub duration: Duration,
    /// Samples the rules returned.
    pub samples: usize,
}

/// A group of rules, evaluated in order at one interval.
#[derive(Debug, Clone)]
pub struct Group {
    name: String,
    file: String,
    interval: Duration,
    query_offset: Option<Duration>,
    limit: i64,
    rules: Vec<GroupRule>,
    /// Per rule: the series it wrote at its last successful evaluation.
    series_in_previous_eval: Vec<HashSet<Labels>>,
    /// The rules in batches whose rules may be evaluated at the same time (when the
    /// [`Env`] has a [`ConcurrencyLimit`]).
    batches: Vec<Vec<usize>>,
    /// Series of rules removed by a reload, to be marked stale at the next evaluation.
    stale_series: Vec<Labels>,
    should_restore: bool,
    opts: Arc<EvalOptions>,
    metrics: GroupMetrics,
    last_eval_timestamp: Option<i64>,
}

impl Group {
    /// A group of `file` as read from it. `should_restore`: the alerts' `for` state is to
    /// be restored from `ALERTS_FOR_STATE` (a group loaded at start); until
    /// [`Group::restore_for_state`] ran, its alerting rules write no `ALERTS` series.
    pub fn new(
        file: &str,
        spec: &RuleGroup,
        opts: Arc<EvalOptions>,
        should_restore: bool,
    ) -> Result<Self, String> {
        let interval = if spec.interval.is_zero() {
            opts.default_interval
        } else {
            spec.interval
        };
        if duration_ms(interval) <= 0 {
            return Err(format!(
                "group {:?}: the evaluation interval must be at least 1ms",
                spec.name
            ));
        }
        let mut rules = Vec::with_capacity(spec.rules.len());
        for r in &spec.rules {
            let mut labels = spec.labels.clone();
            labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            let rule = if r.is_alerting() {
                GroupRule::Alerting(
                    AlertingRule::new(
                        &r.alert,
                        &r.expr,
                        r.for_duration,
                        r.keep_firing_for,
                        labels,
                        r.annotations.clone(),
                        !should_restore,
                    )
                    .map_err(|e| format!("{file}: {e}"))?,
                )
            } else {
                GroupRule::Recording(
                    RecordingRule::new(&r.record, &r.expr, labels)
                        .map_err(|e| format!("{file}: {e}"))?,
                )
            };
            rules.push(rule);
        }
        Ok(Self {
            name: spec.name.clone(),
            file: file.to_string(),
            interval,
            query_offset: spec.query_offset,
            limit: spec.limit,
            series_in_previous_eval: vec![HashSet::new(); rules.len()],
            batches: concurrency::batches(&rules),
            rules,
            stale_series: Vec::new(),
            should_restore,
            opts,
            metrics: GroupMetrics::default(),
            last_eval_timestamp: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// The group's `query_offset`, else the global one.
    pub fn query_offset(&self) -> Duration {
        self.query_offset.unwrap_or(self.opts.default_query_offset)
    }

    pub fn rules(&self) -> &[GroupRule] {
        &self.rules
    }

    pub fn options(&self) -> &EvalOptions {
        &self.opts
    }

    pub fn metrics(&self) -> &GroupMetrics {
        &self.metrics
    }

    /// The time slot of the last evaluation, in ms.
    pub fn last_eval_timestamp(&self) -> Option<i64> {
        self.last_eval_timestamp
    }

    /// Whether the `for` state still waits to be restored.
    pub fn should_restore(&self) -> bool {
        self.should_restore
    }

    /// Upstream's `EvalTimestamp`: the latest evaluation slot at or before `now_ms`. Each
    /// group's slots are offset from the interval's multiples by a hash of its file and
    /// name, so that groups spread over the interval.
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        schedule::eval_timestamp(&self.file, &self.name, self.interval, now_ms)
    }

    /// Counts evaluations skipped because the previous one ran too long.
    pub fn record_missed(&mut self, missed: u64) {
        self.metrics.iterations_missed += missed;
        self.metrics.iterations_total += missed;
    }

    /// One evaluation at the slot `ts` (ms): every rule in order, each one's output
    /// appended before the next runs; with a [`ConcurrencyLimit`] in `env`, the rules of a
    /// batch that depend on no other rule of it run at the same time on free slots.
    /// Returns the alerts to send and the timings.
    pub fn eval(&mut self, env: &Env<'_>, ts: i64) -> EvalReport {
        self.metrics.iterations_total += 1;
        let wall_start = SystemTime::now();
        let start = Instant::now();
        let ctx = RuleContext {
            ts,
            offset: duration_ms(self.query_offset()),
            limit: self.limit,
            interval: self.interval,
            opts: &self.opts,
        };
        let mut outcomes: Vec<Option<RuleOutcome>> = Vec::with_capacity(self.rules.len());
        outcomes.resize_with(self.rules.len(), || None);
        let mut slots: Vec<(usize, &mut GroupRule, &mut HashSet<Labels>)> = self
            .rules
            .iter_mut()
            .zip(self.series_in_previous_eval.iter_mut())
            .enumerate()
            .map(|(i, (rule, previous))| (i, rule, previous))
            .collect();
        match env.concurrency {
            Some(limit) => {
                // Batches take rules out of `slots` by index.
                let mut taken: Vec<Option<(&mut GroupRule, &mut HashSet<Labels>)>> = slots
                    .drain(..)
                    .map(|(_, rule, previous)| Some((rule, previous)))
                    .collect();
                for batch in &self.batches {
                    let jobs: Vec<_> = batch
                        .iter()
                        .filter_map(|&i| taken.get_mut(i)?.take().map(|(r, p)| (i, r, p)))
                        .collect();
                    for (i, outcome) in eval_batch(env, &ctx, limit, jobs) {
                        outcomes[i] = Some(outcome);
                    }
                }
            }
            None => {
                for (i, rule, previous) in slots {
                    outcomes[i] = Some(eval_rule(env, &ctx, rule, previous));
                }
            }
        }
        let mut report = EvalReport::default();
        for outcome in outcomes.into_iter().flatten() {
            self.metrics.evaluations_total += 1;
            self.metrics.evaluation_failures += outcome.failures;
            report.samples += outcome.samples;
            report.alerts.extend(outcome.alerts);
            report.rule_durations.push(outcome.took);
        }
        self.metrics.last_evaluation_samples = report.samples as u64;
        self.cleanup_stale_series(env, ts - ctx.offset);

        report.duration = start.elapsed();
        self.metrics.last_rule_duration_sum = report.rule_durations.iter().sum();
        self.metrics.last_duration = report.duration;
        self.metrics.last_evaluation = Some(wall_start);
        self.last_eval_timestamp = Some(ts);
        report
    }

    /// Staleness markers for the series of rules a reload removed.
    fn cleanup_stale_series(&mut self, env: &Env<'_>, t: i64) {
        if self.stale_series.is_empty() {
            return;
        }
        let markers: Vec<_> = self
            .stale_series
            .iter()
            .map(|l| (l.clone(), t, model::stale_nan()))
            .collect();
        if env.appender.append(&markers).is_ok() {
            self.stale_series.clear();
        }
    }

    /// Upstream's `RestoreForState` at `now_ms` (wall clock): alerts active before a
    /// restart get their `ActiveAt` back from the last `ALERTS_FOR_STATE` sample within
    /// the outage tolerance, moved by the downtime. Upstream runs it after the group's
    /// second evaluation; from then on the `ALERTS` series are written.
    pub fn restore_for_state(&mut self, env: &Env<'_>, now_ms: i64) {
        let start = Instant::now();
        let (tolerance, grace) = (self.opts.outage_tolerance, self.opts.for_grace_period);
        for rule in &mut self.rules {
            if let GroupRule::Alerting(r) = rule {
                r.restore_for_state(env, now_ms, tolerance, grace);
            }
        }
        self.should_restore = false;
        self.metrics.last_restore_duration = Some(start.elapsed());
    }

    /// Staleness markers for every series the group's rules wrote at their last
    /// evaluation, at `t` (the wall clock when the group stopped) less the query offset:
    /// for a group removed by a reload. Upstream writes them two intervals after the group
    /// stopped (giving a renamed group time to write the series), unless the server is
    /// stopping.
    pub fn mark_all_stale(&mut self, env: &Env<'_>, t: i64) -> Result<(), String> {
        let t = t - duration_ms(self.query_offset());
        let mut markers: Vec<_> = self
            .stale_series
            .drain(..)
            .map(|l| (l, t, model::stale_nan()))
            .collect();
        for set in &mut self.series_in_previous_eval {
            markers.extend(set.drain().map(|l| (l, t, model::stale_nan())));
        }
        env.appender.append(&markers).map(|_| ())
    }

    /// Upstream's `Equals`: same name, file, interval, limit, query offset and rules
    /// (a reload keeps such a group running as it is).
    pub fn same_definition(&self, other: &Group) -> bool {
        self.name == other.name
            && self.file == other.file
            && self.interval == other.interval
            && self.limit == other.limit
            && self.query_offset == other.query_offset
            && self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(&other.rules)
                .all(|(a, b)| a.definition() == b.definition())
    }

    /// Upstream's `CopyState`, for a reload that replaces `from`: rules are matched by
    /// name and labels (duplicates in order); matched ones keep their previous output
    /// (for staleness) and alerts, unmatched old ones have their series marked stale at
    /// this group's next evaluation.
    pub fn copy_state_from(&mut self, from: &Group) {
        self.metrics.last_duration = from.metrics.last_duration;
        self.metrics.last_evaluation = from.metrics.last_evaluation;
        let mut by_identity: HashMap<String, VecDeque<usize>> = HashMap::new();
        for (fi, rule) in from.rules.iter().enumerate() {
            by_identity
                .entry(rule.identity())
                .or_default()
                .push_back(fi);
        }
        for (i, rule) in self.rules.iter_mut().enumerate() {
            let Some(fi) = by_identity
                .get_mut(&rule.identity())
                .and_then(VecDeque::pop_front)
            else {
                continue;
            };
            self.series_in_previous_eval[i] = from.series_in_previous_eval[fi].clone();
            if let (GroupRule::Alerting(to), GroupRule::Alerting(old)) = (rule, &from.rules[fi]) {
                to.take_alerts(old);
            }
        }
        self.stale_series = from.stale_series.clone();
        for indexes in by_identity.values() {
            for &fi in indexes {
                self.stale_series
                    .extend(from.series_in_previous_eval[fi].iter().cloned());
            }
        }
    }
}

/// What every rule of one group evaluation shares.
struct RuleContext<'a> {
    ts: i64,
    offset: i64,
    limit: i64,
    interval: Duration,
    opts: &'a EvalOptions,
}

/// One rule's evaluation, for the group's metrics and report.
struct RuleOutcome {
    samples: usize,
    alerts: Vec<OutgoingAlert>,
    failures: u64,
    took: Duration,
}

/// Evaluates a batch's rules: with more than one, as many at the same time as `limit` has
/// free slots (each on a thread of its own), the rest on this thread; returns when all are
/// done (upstream waits for a batch before the next).
fn eval_batch<'r>(
    env: &Env<'_>,
    ctx: &RuleContext<'_>,
    limit: &ConcurrencyLimit,
    jobs: Vec<(usize, &'r mut GroupRule, &'r mut HashSet<Labels>)>,
) -> Vec<(usize, RuleOutcome)> {
    let helpers = if jobs.len() > 1 {
        limit.try_acquire(jobs.len() - 1)
    } else {
        0
    };
    if helpers == 0 {
        return jobs
            .into_iter()
            .map(|(i, rule, previous)| (i, eval_rule(env, ctx, rule, previous)))
            .collect();
    }
    let queue = std::sync::Mutex::new(std::collections::VecDeque::from(jobs));
    let done = std::sync::Mutex::new(Vec::new());
    let work = || loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let Some((i, rule, previous)) = job else {
            return;
        };
        let outcome = eval_rule(env, ctx, rule, previous);
        done.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((i, outcome));
    };
    let started = std::thread::scope(|scope| {
        let mut started = 0;
        for _ in 0..helpers {
            let spawned = std::thread::Builder::new()
                .name("rule eval".into())
                .stack_size(promql::STACK_SIZE)
                .spawn_scoped(scope, work);
            if spawned.is_ok() {
                started += 1;
            }
        }
        // Slots of helpers that could not start are not held.
        limit.release(helpers - started);
        work();
        started
    });
    // Every helper has returned (the scope joined them).
    limit.release(started);
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done
}

/// Evaluates one rule at `ctx.ts`: its query, its alerts' states, its output appended with
/// staleness markers for the series it no longer returns.
fn eval_rule(
    env: &Env<'_>,
    ctx: &RuleContext<'_>,
    rule: &mut GroupRule,
    previous: &mut HashSet<Labels>,
) -> RuleOutcome {
    let rule_wall = SystemTime::now();
    let rule_start = Instant::now();
    let mut outcome = RuleOutcome {
        samples: 0,
        alerts: Vec::new(),
        failures: 0,
        took: Duration::ZERO,
    };
    append_rule_output(env, ctx, rule, previous, &mut outcome);
    outcome.took = rule_start.elapsed();
    let status = rule.status_mut();
    status.evaluation_duration = outcome.took;
    status.last_evaluation = Some(rule_wall);
    outcome
}

fn append_rule_output(
    env: &Env<'_>,
    ctx: &RuleContext<'_>,
    rule: &mut GroupRule,
    previous: &mut HashSet<Labels>,
    outcome: &mut RuleOutcome,
) {
    let (ts, offset) = (ctx.ts, ctx.offset);
    let result = match rule {
        GroupRule::Recording(r) => r.eval(env, ts, offset, ctx.limit),
        GroupRule::Alerting(r) => r
            .eval(
                env,
                ts,
                offset,
                ctx.limit,
                &ctx.opts.external_labels,
                &ctx.opts.external_url,
            )
            .map(|floats| RuleSamples {
                floats,
                histograms: Vec::new(),
            }),
    };
    let vector = match result {
        Ok(v) => v,
        Err(e) => {
            rule.status_mut().fail(e);
            outcome.failures += 1;
            return;
        }
    };
    let status = rule.status_mut();
    status.health = RuleHealth::Good;
    status.last_error = None;
    outcome.samples += vector.len();
    if let GroupRule::Alerting(r) = rule {
        outcome.alerts.extend(r.alerts_to_send(
            ts,
            ctx.opts.resend_delay,
            ctx.interval,
            &ctx.opts.external_url,
        ));
    }

    let appended = env.appender.append(&vector.floats).and_then(|floats| {
        if vector.histograms.is_empty() {
            return Ok(floats);
        }
        env.appender
            .append_histograms(&vector.histograms)
            .map(|h| Rejected {
                out_of_order: floats.out_of_order + h.out_of_order,
                duplicates: floats.duplicates + h.duplicates,
                out_of_bounds: floats.out_of_bounds + h.out_of_bounds,
            })
    });
    match appended {
        Ok(rejected) => {
            if let Some(e) = rejected.error_text() {
                rule.status_mut().fail(e.to_string());
            }
        }
        Err(e) => {
            rule.status_mut().fail(e);
            outcome.failures += 1;
            return;
        }
    }
    let returned: HashSet<Labels> = vector
        .floats
        .into_iter()
        .map(|(l, _, _)| l)
        .chain(vector.histograms.into_iter().map(|(l, _, _)| l))
        .collect();
    let stale: Vec<(Labels, i64, f64)> = previous
        .iter()
        .filter(|l| !returned.contains(*l))
        .map(|l| (l.clone(), ts - offset, model::stale_nan()))
        .collect();
    // Refused markers are expected (another rule may write the series now).
    if !stale.is_empty() {
        if let Err(e) = env.appender.append(&stale) {
            rule.status_mut().fail(e);
            outcome.failures += 1;
            return;
        }
    }
    *previous = returned;
}
