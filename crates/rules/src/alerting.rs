//! Alerting rules (upstream's `rules/alerting.go`): the alert state machine, the `ALERTS`
//! and `ALERTS_FOR_STATE` series, the restore of `for` state, and which alerts to send.
//!
//! Times are milliseconds since the epoch. Upstream keeps nanoseconds, which only shows in
//! the sub-millisecond digits of `activeAt` in its API: every decision (state changes,
//! sample timestamps, `ALERTS_FOR_STATE` values) comes out the same in milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use model::{Labels, MatchOp, Matcher, METRIC_NAME};

use crate::group::RuleStatus;
use crate::storage::Env;
use crate::template::{expansion_error, TemplateData};

/// The metric name of the synthetic alert series.
pub const ALERT_METRIC_NAME: &str = "ALERTS";
/// The metric name of the series keeping each alert's `ActiveAt` (in seconds).
pub const ALERT_FOR_STATE_METRIC_NAME: &str = "ALERTS_FOR_STATE";
/// The label holding an alert's state in `ALERTS`.
pub const ALERT_STATE_LABEL: &str = "alertstate";
/// The label holding the alert's name.
pub const ALERT_NAME_LABEL: &str = "alertname";
/// How long a resolved alert is kept (and sent again) after it resolved (upstream's
/// `resolvedRetention`).
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// Upstream's `ErrDuplicateAlertLabelSet`.
pub const ERR_DUPLICATE_ALERT_LABELSET: &str =
    "vector contains metrics with the same labelset after applying alert labels";

/// The state of an alert, or (as [`AlertingRule::state`]) the highest state of a rule's
/// alerts; `Unknown` is a rule not evaluated yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Unknown,
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    /// Upstream's names (`alertstate` label values, API `state` fields).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Unknown => "unknown",
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule: pending, firing, or resolved and kept for
/// [`RESOLVED_RETENTION`].
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub state: AlertState,
    /// The sample's labels without `__name__`, the rule's labels (expanded), `alertname`.
    pub labels: Labels,
    /// Expanded; an annotation that expands to nothing is kept, empty.
    pub annotations: BTreeMap<String, String>,
    /// The expression's value at the last evaluation that returned this alert.
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: Option<i64>,
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Upstream's `needsSending`: never while pending; at once when resolved since the
    /// last send; else when the last send is more than `resend_delay` ago.
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if let Some(resolved) = self.resolved_at {
            if self.last_sent_at.is_none_or(|sent| resolved > sent) {
                return true;
            }
        }
        self.last_sent_at
            .is_none_or(|sent| sent.saturating_add(resend_delay_ms) < ts)
    }
}

/// What a notifier posts to Alertmanager for one alert (before it adds external labels and
/// relabels): Prometheus's `notifier.Alert`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingAlert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    /// The time the alert fired (`None` is Go's zero time, `0001-01-01T00:00:00Z`).
    pub starts_at: Option<i64>,
    /// When resolved, the time it resolved; else the send time plus four times the larger
    /// of the resend delay and the group interval.
    pub ends_at: i64,
    /// `<external URL>/graph?g0.expr=<expr>&g0.tab=1`.
    pub generator_url: String,
}

/// An alerting rule of a running group, with its alerts.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    name: String,
    expr: promql::Expr,
    expr_text: String,
    hold_ms: i64,
    keep_firing_for_ms: i64,
    /// Group labels overridden by the rule's, unexpanded (templates).
    labels: BTreeMap<String, String>,
    /// `labels` as a label set (empty values left out), the base of the `ALERTS` series.
    base_labels: Labels,
    annotations: BTreeMap<String, String>,
    /// Whether the `for` state was restored (or needs none): until then no `ALERTS` or
    /// `ALERTS_FOR_STATE` samples are written, as upstream does.
    restored: bool,
    active: BTreeMap<Labels, Alert>,
    pub(crate) status: RuleStatus,
}

impl AlertingRule {
    /// A rule `name` firing for the results of `expr` once they lasted `hold` (`for`).
    /// `restored: false` holds back the `ALERTS` series until [`crate::Group`] restored
    /// the `for` state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        expr: &str,
        hold: Duration,
        keep_firing_for: Duration,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        restored: bool,
    ) -> Result<Self, String> {
        Ok(Self {
            name: name.to_string(),
            expr: promql::parse(expr).map_err(|e| e.to_string())?,
            expr_text: expr.to_string(),
            hold_ms: duration_ms(hold),
            keep_firing_for_ms: duration_ms(keep_firing_for),
            base_labels: Labels::from_pairs(labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
            labels,
            annotations,
            restored,
            active: BTreeMap::new(),
            status: RuleStatus::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression as upstream prints it.
    pub fn query(&self) -> String {
        promql::format_expr(&self.expr)
    }

    pub fn expr_text(&self) -> &str {
        &self.expr_text
    }

    /// The parsed expression.
    pub(crate) fn expr(&self) -> &promql::Expr {
        &self.expr
    }

    /// `for`.
    pub fn hold_duration(&self) -> Duration {
        Duration::from_millis(self.hold_ms as u64)
    }

    pub fn keep_firing_for(&self) -> Duration {
        Duration::from_millis(self.keep_firing_for_ms as u64)
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    pub fn status(&self) -> &RuleStatus {
        &self.status
    }

    pub fn restored(&self) -> bool {
        self.restored
    }

    /// Every alert held: pending, firing, and resolved ones kept for resending.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// Pending and firing alerts (upstream's `ActiveAlerts`, what the API lists).
    pub fn active_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active.values().filter(|a| a.resolved_at.is_none())
    }

    /// The highest state of the rule's alerts; `Unknown` before the first evaluation.
    pub fn state(&self) -> AlertState {
        if self.status.last_evaluation.is_none() {
            return AlertState::Unknown;
        }
        self.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
            .max(AlertState::Inactive)
    }

    /// Upstream's `AlertingRule.Eval`: alerts from the query at `ts - query_offset`, their
    /// states moved on to `ts`, and the `ALERTS` and `ALERTS_FOR_STATE` samples to write.
    pub(crate) fn eval(
        &mut self,
        env: &Env<'_>,
        ts: i64,
        query_offset_ms: i64,
        limit: i64,
        external_labels: &Labels,
        external_url: &str,
    ) -> Result<Vec<(Labels, i64, f64)>, String> {
        let res = env.query(&self.expr, &self.expr_text, ts - query_offset_ms)?;
        let query = |q: &str| env.query_text(q, ts);
        let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
        for sample in &res {
            let data = TemplateData {
                rule_name: &self.name,
                labels: &sample.labels,
                value: sample.v,
                external_labels,
                external_url,
                eval_time_ms: ts,
                query: &query,
            };
            let expand = |text: &str| {
                env.expander
                    .expand(text, &data)
                    .unwrap_or_else(|e| expansion_error(&e))
            };
            let mut b = sample.labels.to_builder();
            b.delete(METRIC_NAME);
            for (name, value) in &self.labels {
                b.set(name.as_str(), expand(value));
            }
            b.set(ALERT_NAME_LABEL, self.name.as_str());
            let annotations = self
                .annotations
                .iter()
                .map(|(name, value)| (name.clone(), expand(value)))
                .collect();
            let labels = b.build();
            if fresh.contains_key(&labels) {
                return Err(ERR_DUPLICATE_ALERT_LABELSET.to_string());
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    state: AlertState::Pending,
                    labels,
                    annotations,
                    value: sample.v,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: None,
                    keep_firing_since: None,
                },
            );
        }

        let returned: HashMap<Labels, ()> = fresh.keys().map(|l| (l.clone(), ())).collect();
        for (labels, alert) in fresh {
            match self.active.get_mut(&labels) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = alert.value;
                    old.annotations = alert.annotations;
                }
                _ => {
                    self.active.insert(labels, alert);
                }
            }
        }

        let (hold, keep_firing_for, restored) =
            (self.hold_ms, self.keep_firing_for_ms, self.restored);
        let retention = duration_ms(RESOLVED_RETENTION);
        let sample_ts = ts - query_offset_ms;
        let mut num_active = 0usize;
        let mut out = Vec::new();
        let (name, base) = (&self.name, &self.base_labels);
        self.active.retain(|labels, a| {
            if returned.contains_key(labels) {
                a.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && keep_firing_for > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < keep_firing_for;
                }
                // A resolved alert is kept for the retention period, to be sent again.
                if a.state == AlertState::Pending
                    || a.resolved_at.is_some_and(|r| ts - r > retention)
                {
                    return false;
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    return true;
                }
            }
            num_active += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= hold {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            // `for` grew on reload beyond the time the alert has been active.
            if a.state == AlertState::Firing && ts - a.active_at < hold {
                a.state = AlertState::Pending;
                a.fired_at = None;
                a.last_sent_at = None;
                a.keep_firing_since = None;
            }
            if restored {
                out.push(alert_sample(name, base, a, sample_ts));
                out.push(for_state_sample(
                    name,
                    base,
                    Some(a),
                    sample_ts,
                    a.active_at.div_euclid(1000) as f64,
                ));
            }
            true
        });

        if limit > 0 && num_active as i64 > limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {num_active} alerts"
            ));
        }
        Ok(out)
    }

    /// The alerts to send to Alertmanager now (upstream's `sendAlerts`, called after each
    /// successful evaluation): firing ones when they first fire and then once the last
    /// send is more than `resend_delay` ago, resolved ones when they resolve and then as
    /// often until they are dropped. Marks them sent at `now`.
    pub fn alerts_to_send(
        &mut self,
        now: i64,
        resend_delay: Duration,
        interval: Duration,
        external_url: &str,
    ) -> Vec<OutgoingAlert> {
        let resend_delay_ms = duration_ms(resend_delay);
        // Valid for two failed evaluations or sends more.
        let delta = resend_delay_ms.max(duration_ms(interval));
        let mut out = Vec::new();
        let mut generator_url = None;
        for a in self.active.values_mut() {
            if !a.needs_sending(now, resend_delay_ms) {
                continue;
            }
            a.last_sent_at = Some(now);
            let valid_until = now.saturating_add(delta.saturating_mul(4));
            a.valid_until = Some(valid_until);
            let url = generator_url.get_or_insert_with(|| {
                format!(
                    "{external_url}{}",
                    table_link_for_expression(&promql::format_expr(&self.expr))
                )
            });
            out.push(OutgoingAlert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: a.fired_at,
                ends_at: a.resolved_at.unwrap_or(valid_until),
                generator_url: url.clone(),
            });
        }
        out
    }

    /// Upstream's `RestoreForState` for this rule, at `now`: each alert found in
    /// `ALERTS_FOR_STATE` within the outage tolerance gets its `ActiveAt` back, moved
    /// later by the downtime (or to fire no sooner than the grace period from now).
    pub(crate) fn restore_for_state(
        &mut self,
        env: &Env<'_>,
        now: i64,
        outage_tolerance: Duration,
        grace_period: Duration,
    ) {
        let grace = duration_ms(grace_period);
        let hold = self.hold_ms;
        // A `for` shorter than the grace period: waiting it out again is sooner.
        if hold < grace || self.active.is_empty() {
            self.restored = true;
            return;
        }
        let mint = now - duration_ms(outage_tolerance);
        let found = match env
            .storage
            .select_last(&self.for_state_matchers(), mint, now, &|_, _| true)
        {
            Ok((series, _)) => series,
            Err(_) => Vec::new(),
        };
        let mut last_by_labels = HashMap::with_capacity(found.len());
        for s in found {
            if let Some(&(t, v)) = s.samples.last() {
                let key = s.labels.retain(|l| l.name != METRIC_NAME);
                last_by_labels.insert(key, (t, v));
            }
        }
        for a in self.active.values_mut() {
            let Some(&(t, v)) = last_by_labels.get(&a.labels) else {
                continue;
            };
            if model::is_stale_nan(v) || !v.is_finite() {
                continue; // Not active when the server stopped.
            }
            // Second precision, as upstream: `time.Unix(t/1000, 0)`, `time.Unix(int64(v), 0)`.
            let down_at = t / 1000 * 1000;
            let mut restored_active_at = (v as i64).saturating_mul(1000);
            let remaining = hold - (down_at - restored_active_at);
            if remaining <= 0 {
                // It was firing: it fires again at the next evaluation if still active.
            } else if remaining < grace {
                restored_active_at = now + grace - hold;
            } else {
                restored_active_at += now - down_at;
            }
            a.active_at = restored_active_at;
        }
        self.restored = true;
    }

    /// Matchers for this rule's `ALERTS_FOR_STATE` series: its name and its labels, but
    /// those with template text (their values differ from alert to alert).
    fn for_state_matchers(&self) -> Vec<Matcher> {
        let sample = for_state_sample(&self.name, &self.base_labels, None, 0, 0.0).0;
        sample
            .iter()
            .filter(|l| !l.value.contains("{{"))
            .filter_map(|l| Matcher::new(MatchOp::Equal, l.name.as_str(), l.value.as_str()).ok())
            .collect()
    }

    /// Moves the alerts of `from` (the same rule before a reload) into this one.
    pub(crate) fn take_alerts(&mut self, from: &AlertingRule) {
        for (labels, alert) in &from.active {
            self.active.insert(labels.clone(), alert.clone());
        }
    }
}

/// `ALERTS{alertstate="..."} 1` for an alert: the rule's labels as written, overridden by
/// the alert's, then the fixed ones.
fn alert_sample(name: &str, base: &Labels, a: &Alert, ts: i64) -> (Labels, i64, f64) {
    let mut b = base.to_builder();
    for l in a.labels.iter() {
        b.set(l.name.as_str(), l.value.as_str());
    }
    b.set(METRIC_NAME, ALERT_METRIC_NAME);
    b.set(ALERT_NAME_LABEL, name);
    b.set(ALERT_STATE_LABEL, a.state.as_str());
    (b.build(), ts, 1.0)
}

/// `ALERTS_FOR_STATE` for an alert (or, without one, the labels all of the rule's have).
fn for_state_sample(
    name: &str,
    base: &Labels,
    alert: Option<&Alert>,
    ts: i64,
    v: f64,
) -> (Labels, i64, f64) {
    let mut b = base.to_builder();
    if let Some(a) = alert {
        for l in a.labels.iter() {
            b.set(l.name.as_str(), l.value.as_str());
        }
    }
    b.set(METRIC_NAME, ALERT_FOR_STATE_METRIC_NAME);
    b.set(ALERT_NAME_LABEL, name);
    (b.build(), ts, v)
}

/// Upstream's `strutil.TableLinkForExpression`.
pub(crate) fn table_link_for_expression(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

/// Go's `url.QueryEscape`: unreserved bytes as they are, space as `+`, the rest `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_is_gos() {
        assert_eq!(
            table_link_for_expression(r#"up{job="a b"} > 0.5"#),
            "/graph?g0.expr=up%7Bjob%3D%22a+b%22%7D+%3E+0.5&g0.tab=1"
        );
        assert_eq!(query_escape("a~b-c_d.é"), "a~b-c_d.%C3%A9");
    }

    #[test]
    fn needs_sending_follows_upstream() {
        let mut a = Alert {
            state: AlertState::Pending,
            labels: Labels::default(),
            annotations: BTreeMap::new(),
            value: 1.0,
            active_at: 0,
            fired_at: None,
            resolved_at: None,
            last_sent_at: None,
            valid_until: None,
            keep_firing_since: None,
        };
        assert!(!a.needs_sending(0, 60_000), "pending alerts are never sent");
        a.state = AlertState::Firing;
        assert!(a.needs_sending(0, 60_000), "never sent: send");
        a.last_sent_at = Some(0);
        assert!(
            !a.needs_sending(60_000, 60_000),
            "resend only after the delay"
        );
        assert!(a.needs_sending(60_001, 60_000));
        a.state = AlertState::Inactive;
        a.resolved_at = Some(30_000);
        assert!(
            a.needs_sending(30_000, 60_000),
            "resolved since the last send"
        );
        a.last_sent_at = Some(30_000);
        assert!(!a.needs_sending(31_000, 60_000));
    }
}
