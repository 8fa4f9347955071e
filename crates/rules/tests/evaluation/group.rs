//! Groups: rule order, evaluation slots, the run loop, reloads.

use std::collections::HashSet;
use std::time::Duration;

use rules::{eval_timestamp, run, RuleHealth};

use crate::common::*;

const T0: i64 = 1_600_000_000_000;

#[test]
fn a_rule_sees_what_earlier_rules_of_its_group_wrote_in_the_same_evaluation() {
    let t = TestDb::new();
    t.load(&[("__name__", "x")], T0, MIN, &[Some(1.0)]);
    let in_order = "groups:\n- name: g\n  rules:\n  - record: r1\n    expr: x * 2\n  - record: r2\n    expr: r1 + 1\n";
    let mut g = group(in_order, opts(), false);
    g.eval(&t.env(), T0);
    assert_eq!(
        t.series("r2", T0, T0),
        vec![(labels(&[("__name__", "r2")]), vec![(T0, 3.0)])]
    );

    // The other way round, the second rule's output is not there yet when the first runs.
    let t = TestDb::new();
    t.load(&[("__name__", "x")], T0, MIN, &[Some(1.0)]);
    let reversed = "groups:\n- name: g\n  rules:\n  - record: r2\n    expr: r1 + 1\n  - record: r1\n    expr: x * 2\n";
    let mut g = group(reversed, opts(), false);
    g.eval(&t.env(), T0);
    assert!(t.series("r2", T0, T0).is_empty());
    assert_eq!(t.series("r1", T0, T0).len(), 1);
}

#[test]
fn metrics_count_iterations_evaluations_and_samples() {
    let t = TestDb::new();
    t.load(
        &[("__name__", "x"), ("i", "1")],
        T0,
        MIN,
        &[Some(1.0), Some(1.0)],
    );
    t.load(
        &[("__name__", "x"), ("i", "2")],
        T0,
        MIN,
        &[Some(1.0), Some(1.0)],
    );
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: a\n    expr: x\n  - record: b\n    expr: sum(x)\n",
        opts(),
        false,
    );
    let report = g.eval(&t.env(), T0);
    assert_eq!(report.samples, 3);
    assert_eq!(report.rule_durations.len(), 2);
    g.eval(&t.env(), T0 + MIN);
    let m = g.metrics();
    assert_eq!(
        (
            m.iterations_total,
            m.evaluations_total,
            m.evaluation_failures
        ),
        (2, 4, 0)
    );
    assert_eq!(m.last_evaluation_samples, 3);
    assert!(m.last_evaluation.is_some());
    assert!(m.last_rule_duration_sum <= m.last_duration);
    assert_eq!(g.last_eval_timestamp(), Some(T0 + MIN));
    for r in g.rules() {
        assert_eq!(r.status().health, RuleHealth::Good);
        assert!(r.status().last_evaluation.is_some());
    }
}

#[test]
fn query_offset_defaults_to_the_global_one() {
    // Upstream's TestGroup_QueryOffset.
    let yaml = "groups:\n- name: group1\n  query_offset: 2m\n  rules: []\n- name: group2\n  query_offset: 0s\n  rules: []\n- name: group3\n  rules: []\n";
    let groups = rules::parse_bytes(yaml.as_bytes()).unwrap();
    let o = std::sync::Arc::new(rules::EvalOptions {
        default_query_offset: Duration::from_secs(60),
        ..Default::default()
    });
    let offsets: Vec<_> = groups
        .groups
        .iter()
        .map(|spec| {
            rules::Group::new("f", spec, o.clone(), false)
                .unwrap()
                .query_offset()
        })
        .collect();
    assert_eq!(
        offsets,
        [
            Duration::from_secs(120),
            Duration::ZERO,
            Duration::from_secs(60)
        ]
    );
}

#[test]
fn evaluation_slots_are_stable_per_group_and_spread_across_groups() {
    let minute = Duration::from_secs(60);
    // One group: the same offset within the interval whenever it is asked.
    let offset = |file: &str, name: &str, now: i64| {
        let ts = eval_timestamp(file, name, minute, now);
        assert!(ts <= now && now - ts < 60_000, "{ts} for {now}");
        ts.rem_euclid(60_000)
    };
    let first = offset("rules.yml", "example", T0);
    for now in [T0 + 1, T0 + 17_123, T0 + 3_600_000, T0 + 86_400_007] {
        assert_eq!(offset("rules.yml", "example", now), first);
    }
    // Many groups: spread over the interval (as by a hash), not all in one slot.
    let offsets: Vec<i64> = (0..200)
        .map(|i| offset("rules.yml", &format!("group{i}"), T0))
        .collect();
    let distinct: HashSet<_> = offsets.iter().collect();
    assert!(distinct.len() > 190, "{} distinct offsets", distinct.len());
    for quarter in 0..4 {
        let n = offsets.iter().filter(|&&o| o / 15_000 == quarter).count();
        assert!((20..=80).contains(&n), "{n} groups in quarter {quarter}");
    }
    // The file is part of the hash too.
    assert_ne!(
        offset("a.yml", "example", T0),
        offset("b.yml", "example", T0)
    );
    // And the group carries it.
    let g = group("groups:\n- name: example\n  rules: []\n", opts(), false);
    assert_eq!(
        g.eval_timestamp(T0 + 5),
        eval_timestamp("rules.yml", "example", minute, T0 + 5)
    );
}

#[test]
fn run_evaluates_at_the_groups_slots_and_counts_missed_ones() {
    let t = TestDb::new();
    t.load(&[("__name__", "x")], T0, MIN, &[Some(1.0); 20]);
    let mut g = group(
        "groups:\n- name: g\n  interval: 1m\n  rules:\n  - record: y\n    expr: x\n",
        opts(),
        false,
    );
    let slot = g.eval_timestamp(T0);
    let clock = FakeClock::new(T0, T0 + 10 * MIN);
    let mut evaluated = Vec::new();
    run(&mut g, &t.env(), &clock, |g, _| {
        evaluated.push(g.last_eval_timestamp().unwrap());
        if evaluated.len() == 3 {
            // The third evaluation takes 2.5 intervals: the next two slots are missed.
            clock.lag_next.set(150_000);
        }
    });
    let expected: Vec<i64> = [1, 2, 3, 6, 7, 8, 9, 10]
        .iter()
        .map(|k| slot + k * MIN)
        .filter(|&ts| ts <= T0 + 10 * MIN)
        .collect();
    assert_eq!(evaluated, expected);
    assert_eq!(g.metrics().iterations_missed, 2);
    assert_eq!(g.metrics().iterations_total, expected.len() as u64 + 2);
    // Each evaluation wrote at its slot.
    let ys: Vec<i64> = t.series("y", 0, i64::MAX)[0]
        .1
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(ys, expected);
}

#[test]
fn run_restores_for_state_after_the_second_evaluation() {
    let t = TestDb::new();
    t.load(&[("__name__", "x")], T0, MIN, &[Some(1.0); 10]);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 10m\n",
        opts(),
        true,
    );
    let clock = FakeClock::new(T0, T0 + 5 * MIN);
    let mut seen = Vec::new();
    run(&mut g, &t.env(), &clock, |g, _| {
        let ts = g.last_eval_timestamp().unwrap();
        seen.push((g.should_restore(), t.present_at("ALERTS", ts).len()));
    });
    // Until the restore (after the second evaluation) no ALERTS are written.
    assert_eq!(seen[..3], [(true, 0), (true, 0), (false, 1)]);
    assert!(g.metrics().last_restore_duration.is_some());
}

#[test]
fn reload_keeps_matching_rules_state_and_stales_removed_rules_series() {
    // Upstream's TestCopyState / TestDeletedRuleMarkedStale.
    let t = TestDb::new();
    t.load(
        &[("__name__", "x")],
        T0,
        MIN,
        &[Some(1.0), Some(1.0), Some(1.0)],
    );
    let old_yaml = "groups:\n- name: g\n  rules:\n  - record: kept\n    expr: x\n  - record: removed\n    expr: x\n  - alert: A\n    expr: x > 0\n    for: 5m\n";
    let mut old = group(old_yaml, opts(), false);
    old.eval(&t.env(), T0);
    assert!(old.same_definition(&group(old_yaml, opts(), false)));

    let new_yaml = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 5m\n  - record: kept\n    expr: x\n";
    let mut new = group(new_yaml, opts(), false);
    assert!(!new.same_definition(&old));
    new.copy_state_from(&old);
    new.eval(&t.env(), T0 + MIN);

    // The alert kept its ActiveAt; the removed rule's series got a staleness marker.
    let rules::GroupRule::Alerting(a) = &new.rules()[0] else {
        panic!()
    };
    assert_eq!(a.active_alerts().next().unwrap().active_at, T0);
    let removed = &t.series("removed", 0, i64::MAX)[0].1;
    assert_eq!(removed.len(), 2);
    assert!(model::is_stale_nan(removed[1].1) && removed[1].0 == T0 + MIN);
    let kept = &t.series("kept", 0, i64::MAX)[0].1;
    assert_eq!(kept, &vec![(T0, 1.0), (T0 + MIN, 1.0)]);
}

#[test]
fn a_removed_group_marks_all_its_series_stale() {
    let t = TestDb::new();
    t.load(&[("__name__", "x")], T0, MIN, &[Some(1.0)]);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: y\n    expr: x\n  - alert: A\n    expr: x > 0\n",
        opts(),
        false,
    );
    g.eval(&t.env(), T0);
    g.mark_all_stale(&t.env(), T0 + 2 * MIN).unwrap();
    for name in ["y", "ALERTS", "ALERTS_FOR_STATE"] {
        let s = &t.series(name, 0, i64::MAX)[0].1;
        assert_eq!(s.len(), 2, "{name}");
        assert!(model::is_stale_nan(s[1].1), "{name}");
    }
}

/// Storage that holds every select for a while and records how many ran at once.
struct Overlapping<'a> {
    db: &'a tsdb::Db,
    active: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl Overlapping<'_> {
    /// Runs a select after holding it for 40 ms, counted as running meanwhile.
    fn held<T>(&self, select: impl FnOnce() -> T) -> T {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.active.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        std::thread::sleep(Duration::from_millis(40));
        let selected = select();
        self.active.fetch_sub(1, SeqCst);
        selected
    }
}

impl promql::Storage for Overlapping<'_> {
    fn select(
        &self,
        matchers: &[model::Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<promql::Selected, tsdb::Refused> {
        self.held(|| promql::Storage::select(self.db, matchers, mint, maxt, admit))
    }

    fn select_last(
        &self,
        matchers: &[model::Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<promql::Selected, tsdb::Refused> {
        self.held(|| promql::Storage::select_last(self.db, matchers, mint, maxt, admit))
    }
}

#[test]
fn independent_rules_run_at_the_same_time_on_the_limits_slots() {
    // a, b, c depend on no rule (one batch, at the same time); d reads all three, after.
    let yaml = "groups:\n- name: g\n  rules:\n  - record: a\n    expr: sum(x)\n  - record: b\n    expr: sum(y)\n  - record: c\n    expr: sum(z)\n  - record: d\n    expr: a + b + c\n";
    let run_with = |slots: Option<usize>| {
        let t = TestDb::new();
        for (name, v) in [("x", 1.0), ("y", 10.0), ("z", 100.0)] {
            t.load(&[("__name__", name)], T0, MIN, &[Some(v)]);
        }
        let storage = Overlapping {
            db: &t.db,
            active: Default::default(),
            most: Default::default(),
        };
        let limit = slots.map(rules::ConcurrencyLimit::new);
        let env = rules::Env {
            storage: &storage,
            concurrency: limit.as_ref(),
            ..t.env()
        };
        let mut g = group(yaml, opts(), false);
        let report = g.eval(&env, T0);
        // Every slot is given back.
        if let (Some(limit), Some(slots)) = (&limit, slots) {
            assert_eq!(limit.available(), slots);
        }
        assert_eq!(report.rule_durations.len(), 4);
        assert_eq!(g.metrics().evaluations_total, 4);
        for r in g.rules() {
            assert_eq!(r.status().health, RuleHealth::Good, "{}", r.name());
        }
        let d = t.series("d", T0, T0);
        let most = storage.most.load(std::sync::atomic::Ordering::SeqCst);
        (d, most)
    };
    let want = vec![(labels(&[("__name__", "d")]), vec![(T0, 111.0)])];
    // Without the feature, and with no free slot: one rule at a time.
    assert_eq!(run_with(None), (want.clone(), 1));
    assert_eq!(run_with(Some(0)), (want.clone(), 1));
    // One slot: the group's thread and one helper.
    assert_eq!(run_with(Some(1)), (want.clone(), 2));
    // Four slots: the batch's three rules at once, and d still sees their output.
    assert_eq!(run_with(Some(4)), (want, 3));
}
