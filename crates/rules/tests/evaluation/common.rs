//! Test scaffolding: a real TSDB in a temporary directory, the real PromQL engine, groups
//! read from rule-file YAML, and a toy template expander.

use std::cell::Cell;
use std::sync::Arc;

use model::{Labels, MatchOp, Matcher};
use rules::{Clock, Env, EvalOptions, Expander, Group, NoTemplates};

pub const SEC: i64 = 1000;
pub const MIN: i64 = 60 * SEC;

pub struct TestDb {
    pub db: tsdb::Db,
    pub engine: promql::Engine,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = tsdb::Db::open(dir.path()).expect("open db");
        Self {
            db,
            engine: promql::Engine::new(promql::EngineOptions::default()),
            _dir: dir,
        }
    }

    /// Closes the database and opens it again from its directory (a restart).
    pub fn reopen(self) -> Self {
        let TestDb { db, engine, _dir } = self;
        drop(db);
        let db = tsdb::Db::open(_dir.path()).expect("reopen db");
        Self { db, engine, _dir }
    }

    pub fn env(&self) -> Env<'_> {
        self.env_with(&NoTemplates)
    }

    pub fn env_with<'a>(&'a self, expander: &'a dyn Expander) -> Env<'a> {
        Env {
            engine: &self.engine,
            storage: &self.db,
            appender: &self.db,
            expander,
            cancel: None,
            concurrency: None,
        }
    }

    /// Appends `values` for the series `labels`, one every `step` ms from `start`
    /// (`None` leaves a gap; `Some(stale)` writes a staleness marker).
    pub fn load(&self, labels: &[(&str, &str)], start: i64, step: i64, values: &[Option<f64>]) {
        let labels = Labels::from_pairs(labels.iter().copied());
        let samples: Vec<_> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (labels.clone(), start + i as i64 * step, v)))
            .collect();
        let r = self.db.append(&samples).expect("append");
        assert_eq!(r.appended, samples.len(), "test data refused");
    }

    /// Upstream's limit tests' data: `metric{label="1"}` and `metric{label="2"}`, both 1 at
    /// `t`.
    pub fn with_two_metric_series(t: i64) -> Self {
        let db = Self::new();
        for label in ["1", "2"] {
            db.load(
                &[("__name__", "metric"), ("label", label)],
                t,
                MIN,
                &[Some(1.0)],
            );
        }
        db
    }

    /// Every sample of the series named `name` in `[mint, maxt]`, by label set (staleness
    /// markers included, as `NaN`s that [`model::is_stale_nan`] recognises).
    pub fn series(&self, name: &str, mint: i64, maxt: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let m = Matcher::new(MatchOp::Equal, "__name__", name).unwrap();
        let mut out: Vec<_> = self
            .db
            .select(&[m], mint, maxt)
            .into_iter()
            .map(|s| (s.labels, s.samples))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The label sets of the series named `name` with a sample (not a staleness marker)
    /// at exactly `t`.
    pub fn present_at(&self, name: &str, t: i64) -> Vec<Labels> {
        self.series(name, t, t)
            .into_iter()
            .filter(|(_, samples)| {
                samples
                    .iter()
                    .any(|&(st, v)| st == t && !model::is_stale_nan(v))
            })
            .map(|(l, _)| l)
            .collect()
    }
}

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

pub fn opts() -> Arc<EvalOptions> {
    Arc::new(EvalOptions::default())
}

/// The first group of a rule file.
pub fn group(yaml: &str, opts: Arc<EvalOptions>, should_restore: bool) -> Group {
    let groups = rules::parse_bytes(yaml.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"));
    Group::new("rules.yml", &groups.groups[0], opts, should_restore).expect("group")
}

/// A clock for `rules::run`: sleeping moves time to the deadline (plus any lag set for the
/// next sleep); stops once a deadline passes `end`.
pub struct FakeClock {
    pub now: Cell<i64>,
    pub end: i64,
    pub lag_next: Cell<i64>,
}

impl FakeClock {
    pub fn new(now: i64, end: i64) -> Self {
        Self {
            now: Cell::new(now),
            end,
            lag_next: Cell::new(0),
        }
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.now.get()
    }

    fn sleep_until(&self, deadline_ms: i64) -> bool {
        if deadline_ms > self.end {
            return false;
        }
        let lag = self.lag_next.replace(0);
        self.now.set(self.now.get().max(deadline_ms) + lag);
        true
    }
}
