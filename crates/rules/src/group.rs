//! A running rule group (upstream's `rules/group.go`): its rules evaluated in order at one
//! timestamp, each rule's output appended before the next rule runs, staleness markers for
//! series a rule stopped producing, the restore of alerts' `for` state, and the numbers
//! upstream exports about groups and rules.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use model::Labels;

use crate::alerting::{duration_ms, AlertingRule, OutgoingAlert};
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
    /// appended before the next runs. Returns the alerts to send and the timings.
    pub fn eval(&mut self, env: &Env<'_>, ts: i64) -> EvalReport {
        self.metrics.iterations_total += 1;
        let wall_start = SystemTime::now();
        let start = Instant::now();
        let offset = duration_ms(self.query_offset());
        let opts = Arc::clone(&self.opts);
        let mut report = EvalReport::default();
        for i in 0..self.rules.len() {
            let rule_wall = SystemTime::now();
            let rule_start = Instant::now();
            self.eval_rule(env, i, ts, offset, &opts, &mut report);
            let took = rule_start.elapsed();
            let status = self.rules[i].status_mut();
            status.evaluation_duration = took;
            status.last_evaluation = Some(rule_wall);
            report.rule_durations.push(took);
        }
        self.metrics.last_evaluation_samples = report.samples as u64;
        self.cleanup_stale_series(env, ts - offset);

        report.duration = start.elapsed();
        self.metrics.last_rule_duration_sum = report.rule_durations.iter().sum();
        self.metrics.last_duration = report.duration;
        self.metrics.last_evaluation = Some(wall_start);
        self.last_eval_timestamp = Some(ts);
        report
    }

    fn eval_rule(
        &mut self,
        env: &Env<'_>,
        i: usize,
        ts: i64,
        offset: i64,
        opts: &EvalOptions,
        report: &mut EvalReport,
    ) {
        self.metrics.evaluations_total += 1;
        let limit = self.limit;
        let result = match &mut self.rules[i] {
            GroupRule::Recording(r) => r.eval(env, ts, offset, limit),
            GroupRule::Alerting(r) => r.eval(
                env,
                ts,
                offset,
                limit,
                &opts.external_labels,
                &opts.external_url,
            ),
        };
        let vector = match result {
            Ok(v) => v,
            Err(e) => {
                self.rules[i].status_mut().fail(e);
                self.metrics.evaluation_failures += 1;
                return;
            }
        };
        let status = self.rules[i].status_mut();
        status.health = RuleHealth::Good;
        status.last_error = None;
        report.samples += vector.len();
        if let GroupRule::Alerting(r) = &mut self.rules[i] {
            report.alerts.extend(r.alerts_to_send(
                ts,
                opts.resend_delay,
                self.interval,
                &opts.external_url,
            ));
        }

        match env.appender.append(&vector) {
            Ok(rejected) => {
                if let Some(e) = rejected.error_text() {
                    self.rules[i].status_mut().fail(e.to_string());
                }
            }
            Err(e) => {
                self.rules[i].status_mut().fail(e);
                self.metrics.evaluation_failures += 1;
                return;
            }
        }
        let returned: HashSet<Labels> = vector.into_iter().map(|(l, _, _)| l).collect();
        let stale: Vec<(Labels, i64, f64)> = self.series_in_previous_eval[i]
            .iter()
            .filter(|l| !returned.contains(*l))
            .map(|l| (l.clone(), ts - offset, model::stale_nan()))
            .collect();
        // Refused markers are expected (another rule may write the series now).
        if !stale.is_empty() {
            if let Err(e) = env.appender.append(&stale) {
                self.rules[i].status_mut().fail(e);
                self.metrics.evaluation_failures += 1;
                return;
            }
        }
        self.series_in_previous_eval[i] = returned;
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
