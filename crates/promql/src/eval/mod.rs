//! The evaluator. Like Prometheus, every node is evaluated over all steps of the query at
//! once and yields series of `(step time, value)` points; an instant query is a range
//! query with one step. Per-series work (selectors, range functions, element-wise
//! functions) runs series by series; per-step work (aggregations, vector matching) walks
//! the steps with the matching keys computed once per series, not once per step.

use std::cell::{Cell, RefCell};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use model::histogram::FloatHistogram;
use model::{Label, Labels, MatchOp, Matcher};

use crate::ast::*;
use crate::funcs;
use crate::value::Annotation;
use crate::{EvalError, Storage};

mod binary;
mod limits;
mod selectors;

/// A series during evaluation: labels, whether its metric name is to be dropped at the
/// end (Prometheus's delayed name removal), and its points at step times.
#[derive(Debug, Clone)]
pub(crate) struct SeriesV {
    pub labels: Labels,
    pub drop_name: bool,
    /// Float points, in time order.
    pub points: Vec<(i64, f64)>,
    /// Native histogram points, in time order (at other times than the floats: a series
    /// has one sample per time, of either kind).
    pub hists: Vec<(i64, FloatHistogram)>,
}

/// The value of a node over all steps.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    Vector(Vec<SeriesV>),
    /// Raw samples (only as an instant query's result).
    Matrix(Vec<SeriesV>),
    String(String),
}

/// What an instant vector selector gives per step: the sample's value, its timestamp
/// (for `timestamp()`), or its start timestamp (for `start_timestamp()`), in seconds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectorValue {
    Value,
    Timestamp,
    StartTimestamp,
    /// The timestamp of an info series' float sample (a histogram sample is an error).
    InfoTimestamp,
}

/// State shared by the evaluator and its sub-evaluators (subqueries).
pub(crate) struct Ctx<'a> {
    pub storage: &'a dyn Storage,
    pub lookback: i64,
    pub max_samples: usize,
    pub subquery_step: i64,
    pub delayed_name_removal: bool,
    pub use_start_timestamps: bool,
    /// Whether selectors evaluated now feed only `histogram_count`/`_sum`/`_avg` (no
    /// subquery, quantile or trim in between): their histograms' unknown reset hints are
    /// then worked out sample by sample, as upstream's `HistogramStatsIterator` does.
    pub stats_decoding: Cell<bool>,
    pub deadline: Option<Instant>,
    pub cancel: Option<&'a AtomicBool>,
    pub annotations: RefCell<Vec<Annotation>>,
    pub samples_loaded: Cell<u64>,
    pub peak_samples: Cell<u64>,
    /// Set when the engine stops: every running query ends (see [`limits`]).
    pub stop: &'a AtomicBool,
    /// Work done since the last look at the clock (see [`Ctx::tick`]).
    pub work: Cell<usize>,
    /// This query's share of the engine's memory budget.
    pub memory: crate::memory::Reservation<'a>,
}

/// Evaluates over `[start, end]` every `interval` ms.
pub(crate) struct Ev<'a, 'c> {
    pub ctx: &'a Ctx<'c>,
    pub start: i64,
    pub end: i64,
    pub interval: i64,
}

pub(crate) type EvResult<T> = Result<T, EvalError>;

fn exec(msg: impl Into<String>) -> EvalError {
    EvalError::Execution(msg.into())
}

/// The metadata labels removed together with the metric name.
pub(crate) fn is_metadata_label(name: &str) -> bool {
    matches!(name, "__name__" | "__type__" | "__unit__")
}

impl<'a, 'c> Ev<'a, 'c> {
    /// Runs `f` with selectors in stats decoding mode (`on`) or not, restoring the mode
    /// after.
    pub fn with_stats_decoding<T>(&self, on: bool, f: impl FnOnce() -> T) -> T {
        let before = self.ctx.stats_decoding.replace(on);
        let out = f();
        self.ctx.stats_decoding.set(before);
        out
    }

    pub fn steps(&self) -> impl Iterator<Item = i64> {
        let (start, end, interval) = (self.start, self.end, self.interval.max(1));
        (0..)
            .map(move |i: i64| start + i * interval)
            .take_while(move |t| *t <= end)
    }

    pub fn num_steps(&self) -> usize {
        if self.end < self.start {
            return 0;
        }
        let n = (i128::from(self.end) - i128::from(self.start)) / i128::from(self.interval.max(1));
        usize::try_from(n + 1).unwrap_or(usize::MAX)
    }

    fn sub(&self, start: i64, end: i64, interval: i64) -> Ev<'a, 'c> {
        Ev {
            ctx: self.ctx,
            start,
            end,
            interval,
        }
    }

    /// Evaluates a node over all steps. This is the evaluator's recursion: every arm that
    /// does more than recurse lives in a function of its own, so that each level of a
    /// deeply nested query costs little stack (see `parser::STACK_SIZE`).
    pub fn eval(&self, e: &Expr) -> EvResult<Val> {
        self.ctx.check_interrupt()?;
        let val = match &e.kind {
            ExprKind::Number { value, .. } => self.number(*value)?,
            ExprKind::String(s) => Val::String(s.clone()),
            ExprKind::Paren(inner) => self.eval(inner)?,
            ExprKind::StepInvariant(inner) => self.eval_step_invariant(inner)?,
            ExprKind::Unary(op, inner) => self.eval_unary(*op, inner)?,
            ExprKind::Binary(b) => self.eval_binary(b, e.pos)?,
            ExprKind::Aggregate(a) => self.eval_aggregate(a, e.pos)?,
            ExprKind::Call(c) => funcs::call(self, c, e.pos)?,
            ExprKind::Vector(vs) => self.eval_selector_value(vs, e.pos)?,
            ExprKind::Matrix(ms) => Val::Matrix(self.eval_matrix_raw(ms)?),
            ExprKind::Subquery(sq) => self.eval_subquery_value(sq)?,
        };
        self.finish_node(val)
    }

    fn number(&self, value: f64) -> EvResult<Val> {
        self.ctx.check_size(self.num_steps(), 1)?;
        Ok(Val::Scalar(vec![value; self.num_steps()]))
    }

    #[inline(never)]
    fn eval_selector_value(&self, vs: &VectorSelector, pos: PosRange) -> EvResult<Val> {
        Ok(Val::Vector(self.eval_vector_selector(
            vs,
            SelectorValue::Value,
            pos,
        )?))
    }

    #[inline(never)]
    fn eval_unary(&self, op: UnaryOp, inner: &Expr) -> EvResult<Val> {
        let v = self.eval(inner)?;
        Ok(match (op, v) {
            (UnaryOp::Pos, v) => v,
            (UnaryOp::Neg, Val::Scalar(mut s)) => {
                s.iter_mut().for_each(|v| *v = -*v);
                Val::Scalar(s)
            }
            (UnaryOp::Neg, Val::Vector(mut series)) => {
                for s in &mut series {
                    s.points.iter_mut().for_each(|p| p.1 = -p.1);
                    s.hists.iter_mut().for_each(|p| p.1.mul(-1.0));
                    s.drop_name = true;
                }
                Val::Vector(series)
            }
            (_, other) => other,
        })
    }

    /// A subquery as a value (an instant query's range vector result).
    #[inline(never)]
    fn eval_subquery_value(&self, sq: &SubqueryExpr) -> EvResult<Val> {
        let (series, range, off, at) = self.eval_subquery(sq)?;
        let t = at.unwrap_or(self.end) - off;
        let out = series
            .into_iter()
            .filter_map(|mut s| {
                s.points.retain(|(pt, _)| *pt > t - range && *pt <= t);
                s.hists.retain(|(pt, _)| *pt > t - range && *pt <= t);
                (!s.points.is_empty() || !s.hists.is_empty()).then_some(s)
            })
            .collect();
        Ok(Val::Matrix(out))
    }

    /// Drops names where an operation dropped them (without delayed name removal), and
    /// counts the node's samples against the limit, whatever the type of its value.
    #[inline(never)]
    fn finish_node(&self, val: Val) -> EvResult<Val> {
        let val = match val {
            // Without delayed name removal, names go as soon as an operation drops them,
            // and series that then share labels at a step are an error right there.
            Val::Vector(series)
                if !self.ctx.delayed_name_removal && series.iter().any(|s| s.drop_name) =>
            {
                Val::Vector(finish_series(series)?)
            }
            other => other,
        };
        let n = match &val {
            Val::Vector(series) | Val::Matrix(series) => {
                series.iter().map(|s| s.points.len() + s.hists.len()).sum()
            }
            Val::Scalar(values) => values.len(),
            Val::String(_) => 0,
        };
        self.ctx.count_samples(n)?;
        Ok(val)
    }

    /// Evaluates an expression that must yield an instant vector.
    pub fn eval_vector(&self, e: &Expr) -> EvResult<Vec<SeriesV>> {
        match self.eval(e)? {
            Val::Vector(v) => Ok(v),
            Val::Scalar(_) => Err(exec("expected instant vector, got scalar")),
            _ => Err(exec("expected instant vector")),
        }
    }

    pub fn eval_scalar(&self, e: &Expr) -> EvResult<Vec<f64>> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(exec("expected scalar")),
        }
    }

    #[inline(never)]
    fn eval_step_invariant(&self, inner: &Expr) -> EvResult<Val> {
        if let ExprKind::Number { .. } | ExprKind::String(_) = inner.kind {
            return self.eval(inner);
        }
        if self.start == self.end {
            return self.eval(inner);
        }
        let once = self
            .sub(self.start, self.start, self.interval)
            .eval(inner)?;
        // The one value is copied to every step: refused before that when too many.
        let series = match &once {
            Val::Vector(series) => series.len(),
            _ => 1,
        };
        self.ctx.check_size(self.num_steps(), series)?;
        let steps: Vec<i64> = self.steps().collect();
        Ok(match once {
            Val::Scalar(v) => {
                Val::Scalar(vec![v.first().copied().unwrap_or(f64::NAN); steps.len()])
            }
            Val::Vector(series) => Val::Vector(
                series
                    .into_iter()
                    .map(|mut s| {
                        let v = s.points.first().map(|p| p.1);
                        s.points = match v {
                            Some(v) => steps.iter().map(|t| (*t, v)).collect(),
                            None => Vec::new(),
                        };
                        let h = s.hists.pop().map(|p| p.1);
                        s.hists = match h {
                            Some(h) => steps.iter().map(|t| (*t, h.clone())).collect(),
                            None => Vec::new(),
                        };
                        s
                    })
                    .filter(|s| !s.points.is_empty() || !s.hists.is_empty())
                    .collect(),
            ),
            other => other,
        })
    }

    fn offset_ms(d: &Option<DurationExpr>) -> i64 {
        match d {
            Some(DurationExpr::Duration(ms)) => *ms,
            Some(other) => other.millis(0, 0),
            None => 0,
        }
    }

    fn at_ms(at: &Option<AtModifier>) -> Option<i64> {
        match at {
            Some(AtModifier::Time(t)) => Some(*t),
            // Resolved before evaluation; kept total for safety.
            _ => None,
        }
    }

    // ---------------------------------------------------------------------------------
    // Aggregations

    #[inline(never)]
    fn eval_aggregate(&self, a: &AggregateExpr, pos: PosRange) -> EvResult<Val> {
        let param_scalar = match (&a.param, a.op) {
            (Some(p), op) if op != AggregateOp::CountValues => Some(self.eval_scalar(p)?),
            _ => None,
        };
        let param_string = match (&a.param, a.op) {
            (Some(p), AggregateOp::CountValues) => match self.eval(p)? {
                Val::String(s) => Some(s),
                _ => return Err(exec("expected string parameter")),
            },
            _ => None,
        };
        let input = self.eval_vector(&a.expr)?;
        let param_pos = a.param.as_ref().map(|p| p.pos).unwrap_or(pos);
        crate::aggregate::aggregate(self, a, input, param_scalar, param_string, (param_pos, pos))
    }
}

/// Walks many series' points step by step. Each series' points are in time order on the
/// evaluation's steps, so one position per series moves forward as the steps go by.
pub(crate) struct StepCursor(Vec<usize>);

impl StepCursor {
    pub fn new(series: usize) -> Self {
        Self(vec![0; series])
    }

    /// The series (index, value) with a point at `ts`; call with increasing `ts`.
    pub fn at<'a>(
        &'a mut self,
        series: &'a [SeriesV],
        ts: i64,
    ) -> impl Iterator<Item = (usize, f64)> + 'a {
        series
            .iter()
            .zip(self.0.iter_mut())
            .enumerate()
            .filter_map(move |(i, (s, pos))| {
                let &(t, v) = s.points.get(*pos)?;
                (t == ts).then(|| {
                    *pos += 1;
                    (i, v)
                })
            })
    }
}

/// Like [`StepCursor`], over the series' histogram points.
pub(crate) struct HistCursor(Vec<usize>);

impl HistCursor {
    pub fn new(series: usize) -> Self {
        Self(vec![0; series])
    }

    /// The series (index, histogram) with a histogram point at `ts`; call with increasing
    /// `ts`.
    pub fn at<'a>(
        &'a mut self,
        series: &'a [SeriesV],
        ts: i64,
    ) -> impl Iterator<Item = (usize, &'a FloatHistogram)> + 'a {
        series
            .iter()
            .zip(self.0.iter_mut())
            .enumerate()
            .filter_map(move |(i, (s, pos))| {
                let (t, h) = s.hists.get(*pos)?;
                (*t == ts).then(|| {
                    *pos += 1;
                    (i, h)
                })
            })
    }
}

/// A range function's input: series with all samples its windows need.
pub(crate) struct RangeSource {
    pub series: Vec<SeriesV>,
    /// Empty, or per series its samples' start timestamps (each empty when it has none).
    pub starts: Vec<Vec<i64>>,
    /// The same for its histogram samples.
    pub hist_starts: Vec<Vec<i64>>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
    pub mode: RangeMode,
    /// Whether the samples came from a selector (not a subquery).
    pub from_selector: bool,
}

/// Applies delayed name removal and merges series that end up with equal labels; two
/// points at one step for the same labels are an error.
pub(crate) fn finish_series(series: Vec<SeriesV>) -> EvResult<Vec<SeriesV>> {
    use std::hash::BuildHasher;
    if !series.iter().any(|s| s.drop_name) {
        return Ok(series);
    }
    let hasher = rustc_hash::FxBuildHasher;
    let mut out: Vec<SeriesV> = Vec::with_capacity(series.len());
    // Indices into `out`, by label set (no allocation per series: a query can end with
    // hundreds of thousands).
    let mut index: hashbrown::HashTable<usize> = hashbrown::HashTable::with_capacity(series.len());
    let mut needs_sort = Vec::new();
    for mut s in series {
        if s.drop_name {
            s.labels = std::mem::take(&mut s.labels).retain(|l| !is_metadata_label(&l.name));
            s.drop_name = false;
        }
        let hash = hasher.hash_one(&s.labels);
        match index.find(hash, |&i| out[i].labels == s.labels) {
            Some(&i) => {
                out[i].points.extend(s.points);
                out[i].hists.extend(s.hists);
                needs_sort.push(i);
            }
            None => {
                index.insert_unique(hash, out.len(), |&i| hasher.hash_one(&out[i].labels));
                out.push(s);
            }
        }
    }
    for i in needs_sort {
        let s = &mut out[i];
        s.points.sort_by_key(|p| p.0);
        s.hists.sort_by_key(|p| p.0);
        let mut times: Vec<i64> = s.points.iter().map(|p| p.0).collect();
        times.extend(s.hists.iter().map(|p| p.0));
        times.sort_unstable();
        if times.windows(2).any(|w| w[0] == w[1]) {
            return Err(exec("vector cannot contain metrics with the same labelset"));
        }
    }
    Ok(out)
}

/// Labels for `absent()`/`absent_over_time()`: the selector's equality matchers, unless
/// a name is matched twice or by another kind of matcher.
pub(crate) fn absent_labels(matchers: &[Matcher]) -> Labels {
    let mut pairs: Vec<Label> = Vec::new();
    let mut dup: Vec<String> = Vec::new();
    for m in matchers {
        if m.name == model::METRIC_NAME {
            continue;
        }
        if m.op != MatchOp::Equal || pairs.iter().any(|l| l.name == m.name) {
            dup.push(m.name.clone());
            continue;
        }
        pairs.push(Label {
            name: m.name.clone(),
            value: m.value.clone(),
        });
    }
    pairs.retain(|l| !dup.contains(&l.name));
    Labels::from_pairs(pairs.into_iter().map(|l| (l.name, l.value)))
}
