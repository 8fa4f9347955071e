//! Evaluating a group's independent rules at the same time, as Prometheus does with
//! `--enable-feature=concurrent-rule-eval`: which rules of a group depend on each other
//! (upstream's `buildDependencyMap`), the batches that follow from it (upstream's
//! `SplitGroupIntoBatches`), and the server-wide limit on rules evaluated concurrently
//! (`--rules.max-concurrent-evals`).

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::group::GroupRule;

/// The server-wide count of rule evaluations that may run besides the groups' own threads
/// (upstream's weighted semaphore; a rule that gets no slot is evaluated on its group's
/// thread, in turn).
#[derive(Debug)]
pub struct ConcurrencyLimit {
    free: Mutex<usize>,
}

impl ConcurrencyLimit {
    /// `slots` concurrent evaluations (upstream's `--rules.max-concurrent-evals`, default 4).
    pub fn new(slots: usize) -> Self {
        Self {
            free: Mutex::new(slots),
        }
    }

    /// Takes up to `wanted` slots without waiting; returns how many it took.
    pub(crate) fn try_acquire(&self, wanted: usize) -> usize {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let n = wanted.min(*free);
        *free -= n;
        n
    }

    pub(crate) fn release(&self, n: usize) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += n;
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        *self.free.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const ALERTS: &str = "ALERTS";
const ALERTS_FOR_STATE: &str = "ALERTS_FOR_STATE";

/// For each rule, `(has no dependencies, has no dependents)` within its group; `None` when
/// some selector has no metric name, so nothing can be said (upstream then evaluates every
/// rule in order).
fn analyse(rules: &[GroupRule]) -> Option<Vec<(bool, bool)>> {
    let n = rules.len();
    let mut depends_on: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut dependents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    if n > 1 {
        for (i, rule) in rules.iter().enumerate() {
            let expr = match rule {
                GroupRule::Recording(r) => r.expr(),
                GroupRule::Alerting(r) => r.expr(),
            };
            for vs in promql::vector_selectors(expr) {
                let name_matcher = match &vs.name {
                    Some(name) => model::Matcher::new(model::MatchOp::Equal, "__name__", name).ok(),
                    None => vs.matchers.iter().find(|m| m.name == "__name__").cloned(),
                };
                // A selector without a name could read any rule's output.
                let name_matcher = name_matcher?;
                let reads_alerts =
                    name_matcher.matches(ALERTS) || name_matcher.matches(ALERTS_FOR_STATE);
                let alertname = reads_alerts
                    .then(|| vs.matchers.iter().find(|m| m.name == "alertname"))
                    .flatten();
                // Only earlier rules are dependencies: later ones may be read, but the
                // order of a group does not promise their output of this evaluation.
                for (j, other) in rules.iter().enumerate().take(i) {
                    let depends = name_matcher.matches(other.name())
                        || (reads_alerts
                            && matches!(other, GroupRule::Alerting(_))
                            && alertname.is_none_or(|m| m.matches(other.name())));
                    if depends {
                        depends_on[i].insert(j);
                        dependents[j].insert(i);
                    }
                }
            }
        }
    }
    Some(
        (0..n)
            .map(|i| (depends_on[i].is_empty(), dependents[i].is_empty()))
            .collect(),
    )
}

/// The group's rules in batches to evaluate one after the other, the rules of a batch at
/// the same time: first every rule that depends on none, then one by one the rules that
/// depend on some and are depended on, then every rule no other depends on.
pub(crate) fn batches(rules: &[GroupRule]) -> Vec<Vec<usize>> {
    let Some(deps) = analyse(rules) else {
        return (0..rules.len()).map(|i| vec![i]).collect();
    };
    let mut independent = Vec::new();
    let mut chained = Vec::new();
    let mut last = Vec::new();
    for (i, &(no_dependencies, no_dependents)) in deps.iter().enumerate() {
        if no_dependencies {
            independent.push(i);
        } else if !no_dependents {
            chained.push(vec![i]);
        } else {
            last.push(i);
        }
    }
    let mut out = Vec::new();
    if !independent.is_empty() {
        out.push(independent);
    }
    out.extend(chained);
    if !last.is_empty() {
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn record(name: &str, expr: &str) -> GroupRule {
        GroupRule::Recording(crate::RecordingRule::new(name, expr, BTreeMap::new()).unwrap())
    }

    fn alert(name: &str, expr: &str) -> GroupRule {
        GroupRule::Alerting(
            crate::AlertingRule::new(
                name,
                expr,
                std::time::Duration::ZERO,
                std::time::Duration::ZERO,
                BTreeMap::new(),
                BTreeMap::new(),
                true,
            )
            .unwrap(),
        )
    }

    #[test]
    fn independent_rules_share_a_batch() {
        let rules = [
            record("a", "sum(x)"),
            record("b", "sum(y)"),
            record("c", "rate(a[5m])"),
            record("d", "c * 2"),
            alert("E", "d > 1"),
            record("f", "count(ALERTS{alertname=\"E\"})"),
        ];
        // a, b: no dependencies. c: reads a, read by d. d: reads c, read by E. E: reads d,
        // read by f. f: reads E's ALERTS, read by none.
        assert_eq!(
            batches(&rules),
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]
        );
        let rules = [
            record("a", "sum(x)"),
            record("b", "a + 1"),
            record("c", "a + 2"),
        ];
        assert_eq!(batches(&rules), vec![vec![0], vec![1, 2]]);
    }

    #[test]
    fn a_selector_without_a_name_makes_the_group_sequential() {
        let rules = [
            record("a", "sum(x)"),
            record("b", "sum({job=\"j\"})"),
            record("c", "sum(z)"),
        ];
        assert_eq!(batches(&rules), vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn alerts_selectors_depend_on_matching_alerting_rules() {
        let rules = [
            alert("A", "x > 1"),
            alert("B", "y > 1"),
            record("r", "count(ALERTS{alertname=\"B\"})"),
            record("all", "count(ALERTS_FOR_STATE)"),
            // A regex name matcher that matches "a2" (an earlier rule's name).
            record("a2", "sum(q)"),
            record("re", "sum({__name__=~\"a.\"})"),
        ];
        // A, B, a2: no dependencies; r, all, re: dependents of some, read by none.
        assert_eq!(batches(&rules), vec![vec![0, 1, 4], vec![2, 3, 5]]);
        let one = [record("only", "sum(only)")];
        assert_eq!(batches(&one), vec![vec![0]]);
    }

    #[test]
    fn the_limit_hands_out_what_it_has() {
        let limit = ConcurrencyLimit::new(3);
        assert_eq!(limit.try_acquire(2), 2);
        assert_eq!(limit.try_acquire(5), 1);
        assert_eq!(limit.try_acquire(1), 0);
        limit.release(3);
        assert_eq!(limit.available(), 3);
    }
}
