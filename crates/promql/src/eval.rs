//! The evaluator. Like Prometheus, every node is evaluated over all steps of the query at
//! once and yields series of `(step time, value)` points; an instant query is a range
//! query with one step. Per-series work (selectors, range functions, element-wise
//! functions) runs series by series; per-step work (aggregations, vector matching) walks
//! the steps with the matching keys computed once per series, not once per step.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use model::{Label, Labels, MatchOp, Matcher};

use crate::ast::*;
use crate::funcs;
use crate::value::{Annotation, AnnotationKind};
use crate::{EvalError, Storage};

/// A series during evaluation: labels, whether its metric name is to be dropped at the
/// end (Prometheus's delayed name removal), and its points at step times.
#[derive(Debug, Clone)]
pub(crate) struct SeriesV {
    pub labels: Labels,
    pub drop_name: bool,
    pub points: Vec<(i64, f64)>,
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
}

/// State shared by the evaluator and its sub-evaluators (subqueries).
pub(crate) struct Ctx<'a> {
    pub storage: &'a dyn Storage,
    pub lookback: i64,
    pub max_samples: usize,
    pub subquery_step: i64,
    pub delayed_name_removal: bool,
    pub use_start_timestamps: bool,
    pub deadline: Option<Instant>,
    pub cancel: Option<&'a AtomicBool>,
    pub annotations: RefCell<Vec<Annotation>>,
    pub samples_loaded: Cell<u64>,
    pub peak_samples: Cell<u64>,
}

impl Ctx<'_> {
    pub fn annotate(&self, kind: AnnotationKind, msg: String, pos: PosRange) {
        let mut list = self.annotations.borrow_mut();
        // Keyed by text: a repeated message keeps the position of its last occurrence.
        if let Some(existing) = list.iter_mut().find(|a| a.kind == kind && a.msg == msg) {
            existing.pos = pos;
        } else {
            list.push(Annotation { kind, msg, pos });
        }
    }

    /// The query's deadline and cancel flag, to check from worker threads.
    pub fn interrupt(&self) -> Interrupt<'_> {
        Interrupt {
            deadline: self.deadline,
            cancel: self.cancel,
        }
    }

    pub fn check_interrupt(&self) -> Result<(), EvalError> {
        if let Some(c) = self.cancel {
            if c.load(Ordering::Relaxed) {
                return Err(EvalError::Canceled);
            }
        }
        if let Some(d) = self.deadline {
            if Instant::now() >= d {
                return Err(EvalError::Timeout);
            }
        }
        Ok(())
    }

    /// Checks that `n` samples held at once stay within the query's limit.
    pub fn count_samples(&self, n: usize) -> Result<(), EvalError> {
        if n > self.max_samples {
            return Err(EvalError::TooManySamples);
        }
        if n as u64 > self.peak_samples.get() {
            self.peak_samples.set(n as u64);
        }
        Ok(())
    }
}

/// A query's deadline and cancel flag (shareable between threads, unlike [`Ctx`]).
#[derive(Clone, Copy)]
pub(crate) struct Interrupt<'a> {
    deadline: Option<Instant>,
    cancel: Option<&'a AtomicBool>,
}

impl Interrupt<'_> {
    pub fn check(&self) -> Result<(), EvalError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(EvalError::Canceled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(EvalError::Timeout);
        }
        Ok(())
    }
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
    pub fn steps(&self) -> impl Iterator<Item = i64> {
        let (start, end, interval) = (self.start, self.end, self.interval.max(1));
        (0..)
            .map(move |i: i64| start + i * interval)
            .take_while(move |t| *t <= end)
    }

    pub fn num_steps(&self) -> usize {
        ((self.end - self.start) / self.interval.max(1) + 1).max(0) as usize
    }

    fn sub(&self, start: i64, end: i64, interval: i64) -> Ev<'a, 'c> {
        Ev {
            ctx: self.ctx,
            start,
            end,
            interval,
        }
    }

    pub fn eval(&self, e: &Expr) -> EvResult<Val> {
        self.ctx.check_interrupt()?;
        let val = match &e.kind {
            ExprKind::Number { value, .. } => Val::Scalar(vec![*value; self.num_steps()]),
            ExprKind::String(s) => Val::String(s.clone()),
            ExprKind::Paren(inner) => self.eval(inner)?,
            ExprKind::StepInvariant(inner) => self.eval_step_invariant(inner)?,
            ExprKind::Unary(op, inner) => {
                let v = self.eval(inner)?;
                match (op, v) {
                    (UnaryOp::Pos, v) => v,
                    (UnaryOp::Neg, Val::Scalar(mut s)) => {
                        s.iter_mut().for_each(|v| *v = -*v);
                        Val::Scalar(s)
                    }
                    (UnaryOp::Neg, Val::Vector(mut series)) => {
                        for s in &mut series {
                            s.points.iter_mut().for_each(|p| p.1 = -p.1);
                            s.drop_name = true;
                        }
                        Val::Vector(series)
                    }
                    (_, other) => other,
                }
            }
            ExprKind::Binary(b) => self.eval_binary(b, e.pos)?,
            ExprKind::Aggregate(a) => self.eval_aggregate(a, e.pos)?,
            ExprKind::Call(c) => self.eval_call(c, e.pos)?,
            ExprKind::Vector(vs) => {
                Val::Vector(self.eval_vector_selector(vs, SelectorValue::Value)?)
            }
            ExprKind::Matrix(ms) => Val::Matrix(self.eval_matrix_raw(ms)?),
            ExprKind::Subquery(sq) => {
                let (series, range, off, at) = self.eval_subquery(sq)?;
                let t = at.unwrap_or(self.end) - off;
                let out = series
                    .into_iter()
                    .filter_map(|mut s| {
                        s.points.retain(|(pt, _)| *pt > t - range && *pt <= t);
                        (!s.points.is_empty()).then_some(s)
                    })
                    .collect();
                Val::Matrix(out)
            }
        };
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
        if let Val::Vector(series) = &val {
            let n: usize = series.iter().map(|s| s.points.len()).sum();
            self.ctx.count_samples(n)?;
        }
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
                        s
                    })
                    .filter(|s| !s.points.is_empty())
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

    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> EvResult<Vec<tsdb::SeriesData>> {
        self.ctx.check_interrupt()?;
        let data = self.ctx.storage.select(matchers, mint, maxt);
        let n: usize = data.iter().map(|s| s.samples.len()).sum();
        self.ctx
            .samples_loaded
            .set(self.ctx.samples_loaded.get().saturating_add(n as u64));
        self.ctx.check_interrupt()?;
        Ok(data)
    }

    /// An instant vector selector at every step, with lookback; `timestamps` makes each
    /// value the selected sample's own time in seconds (for `timestamp()`).
    pub fn eval_vector_selector(
        &self,
        vs: &VectorSelector,
        value: SelectorValue,
    ) -> EvResult<Vec<SeriesV>> {
        self.eval_vector_selector_clipped(vs, value, None)
    }

    /// Like [`Self::eval_vector_selector`], seeing only samples in `clip` (`info()` sees
    /// its info series only within the time range of its base selector).
    pub fn eval_vector_selector_clipped(
        &self,
        vs: &VectorSelector,
        value: SelectorValue,
        clip: Option<(i64, i64)>,
    ) -> EvResult<Vec<SeriesV>> {
        let off = Self::offset_ms(&vs.offset);
        let at = Self::at_ms(&vs.at);
        let lb = self.ctx.lookback;
        let smoothed = vs.mode == RangeMode::Smoothed && value == SelectorValue::Value;
        let (first_ref, last_ref) = match at {
            Some(t) => (t - off, t - off),
            None => (self.start - off, self.end - off),
        };
        let maxt = if smoothed { last_ref + lb } else { last_ref };
        // One evaluation time: only each series' last sample matters.
        let single = first_ref == last_ref && !smoothed && clip.is_none();
        let mut data = if single {
            self.ctx.check_interrupt()?;
            let data = self
                .ctx
                .storage
                .select_last(&vs.matchers, first_ref - lb + 1, maxt);
            self.ctx.samples_loaded.set(
                self.ctx
                    .samples_loaded
                    .get()
                    .saturating_add(data.len() as u64),
            );
            data
        } else {
            self.select(&vs.matchers, first_ref - lb + 1, maxt)?
        };
        if let Some((from, to)) = clip {
            for s in &mut data {
                s.retain(|(t, _)| *t >= from && *t <= to);
            }
        }
        let mut out = Vec::with_capacity(data.len());
        for (i, s) in data.into_iter().enumerate() {
            if i % 256 == 0 {
                self.ctx.check_interrupt()?;
            }
            let mut points = Vec::new();
            if smoothed {
                let samples: Vec<(i64, f64)> = s
                    .samples
                    .iter()
                    .copied()
                    .filter(|(_, v)| !model::is_stale_nan(*v))
                    .collect();
                for ts in self.steps() {
                    let rt = at.unwrap_or(ts) - off;
                    if let Some(v) = funcs::smoothed_value(&samples, rt, lb) {
                        points.push((ts, v));
                    }
                }
            } else {
                let mut idx = 0;
                for ts in self.steps() {
                    let rt = at.unwrap_or(ts) - off;
                    while idx < s.samples.len() && s.samples[idx].0 <= rt {
                        idx += 1;
                    }
                    if idx == 0 {
                        continue;
                    }
                    let (t, v) = s.samples[idx - 1];
                    if t > rt - lb && !model::is_stale_nan(v) {
                        points.push((
                            ts,
                            match value {
                                SelectorValue::Value => v,
                                SelectorValue::Timestamp => t as f64 / 1000.0,
                                SelectorValue::StartTimestamp => {
                                    s.starts.get(idx - 1).copied().unwrap_or(0) as f64 / 1000.0
                                }
                            },
                        ));
                    }
                }
            }
            if !points.is_empty() {
                out.push(SeriesV {
                    labels: s.labels,
                    drop_name: false,
                    points,
                });
            }
        }
        Ok(out)
    }

    /// A range selector as a query result: the raw samples of its window at the end.
    fn eval_matrix_raw(&self, ms: &MatrixSelector) -> EvResult<Vec<SeriesV>> {
        let src = self.range_source_selector(ms, false)?;
        let t = self.end;
        let mut out = Vec::new();
        for s in src.series {
            let we = src.at.unwrap_or(t) - src.offset;
            let rs = we - src.range;
            let pts: Vec<(i64, f64)> = match src.mode {
                RangeMode::Plain => s
                    .points
                    .iter()
                    .copied()
                    .filter(|(pt, _)| *pt > rs && *pt <= we)
                    .collect(),
                mode => funcs::extended_points(&s.points, rs, we, mode),
            };
            if !pts.is_empty() {
                out.push(SeriesV {
                    labels: s.labels,
                    drop_name: false,
                    points: pts,
                });
            }
        }
        Ok(out)
    }

    /// Fetches the samples a range selector needs for every step.
    /// A range selector's series; with `with_starts`, their samples' start timestamps too.
    pub fn range_source_selector(
        &self,
        ms: &MatrixSelector,
        with_starts: bool,
    ) -> EvResult<RangeSource> {
        let vs = &ms.selector;
        let off = Self::offset_ms(&vs.offset);
        let at = Self::at_ms(&vs.at);
        let range = match &ms.range {
            DurationExpr::Duration(r) => *r,
            other => other.millis(0, 0),
        };
        let lb = self.ctx.lookback;
        let (first_end, last_end) = match at {
            Some(t) => (t - off, t - off),
            None => (self.start - off, self.end - off),
        };
        let mut mint = first_end - range + 1;
        let mut maxt = last_end;
        match ms.mode {
            RangeMode::Anchored => mint -= lb,
            RangeMode::Smoothed => {
                mint -= lb;
                maxt += lb;
            }
            RangeMode::Plain => {}
        }
        let data = self.select(&vs.matchers, mint, maxt)?;
        let mut starts = Vec::new();
        let series = data
            .into_iter()
            .map(|s| {
                let (labels, mut buf) = s.into_parts();
                if !with_starts {
                    buf.starts.clear();
                }
                // Staleness markers are not samples of a range.
                buf.retain(|(_, v)| !model::is_stale_nan(*v));
                if with_starts {
                    starts.push(buf.starts);
                }
                SeriesV {
                    labels,
                    drop_name: false,
                    points: buf.points,
                }
            })
            .collect();
        Ok(RangeSource {
            series,
            starts,
            range,
            offset: off,
            at,
            mode: ms.mode,
            from_selector: true,
        })
    }

    /// Evaluates a subquery's inner expression over its own aligned steps; returns the
    /// series and the subquery's range, offset and `@` time.
    pub fn eval_subquery(
        &self,
        sq: &SubqueryExpr,
    ) -> EvResult<(Vec<SeriesV>, i64, i64, Option<i64>)> {
        let off = Self::offset_ms(&sq.offset);
        let range = match &sq.range {
            DurationExpr::Duration(r) => *r,
            other => other.millis(0, 0),
        };
        let step = match &sq.step {
            Some(DurationExpr::Duration(s)) => *s,
            Some(other) => other.millis(0, 0),
            None => self.ctx.subquery_step,
        }
        .max(1);
        let at = Self::at_ms(&sq.at);
        let (os, oe) = match at {
            Some(t) => (t, t),
            None => (self.start, self.end),
        };
        let lower = os - off - range;
        // Go's integer division truncates toward zero, as Rust's does.
        let mut inner_start = step * (lower / step);
        if inner_start <= lower {
            inner_start += step;
        }
        let inner_end = oe - off;
        let sub = self.sub(inner_start, inner_end, step);
        let series = if inner_start > inner_end {
            Vec::new()
        } else {
            match sub.eval(&sq.expr)? {
                Val::Vector(v) => v,
                Val::Scalar(values) => vec![SeriesV {
                    labels: Labels::default(),
                    drop_name: false,
                    points: sub.steps().zip(values).collect(),
                }],
                _ => Vec::new(),
            }
        };
        Ok((series, range, off, at))
    }

    /// The range-vector argument of a function, from a selector or a subquery.
    /// A range function's argument; with `with_starts`, a selector's samples come with
    /// their start timestamps (a subquery has none: it cuts their propagation).
    pub fn range_source(&self, e: &Expr, with_starts: bool) -> EvResult<RangeSource> {
        match &e.unwrap_parens().kind {
            ExprKind::Matrix(ms) => self.range_source_selector(ms, with_starts),
            ExprKind::Subquery(sq) => {
                let (series, range, offset, at) = self.eval_subquery(sq)?;
                Ok(RangeSource {
                    series,
                    starts: Vec::new(),
                    range,
                    offset,
                    at,
                    mode: RangeMode::Plain,
                    from_selector: false,
                })
            }
            _ => Err(exec("expected range vector")),
        }
    }

    // ---------------------------------------------------------------------------------
    // Binary operators

    fn eval_binary(&self, b: &BinaryExpr, pos: PosRange) -> EvResult<Val> {
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(r.iter())
                    .map(|(a, c)| {
                        let (v, keep) = scalar_op(b.op, *a, *c);
                        if b.op.is_comparison() {
                            if keep {
                                1.0
                            } else {
                                0.0
                            }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(v), Val::Scalar(s)) => {
                Ok(Val::Vector(self.vector_scalar(b, v, &s, false)))
            }
            (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(self.vector_scalar(b, v, &s, true))),
            (Val::Vector(l), Val::Vector(r)) => {
                if b.op.is_set() {
                    Ok(Val::Vector(self.set_op(b, l, r)?))
                } else {
                    Ok(Val::Vector(self.vector_vector(b, l, r, pos)?))
                }
            }
            _ => Err(exec("invalid operands of binary expression")),
        }
    }

    fn step_index(&self, t: i64) -> usize {
        ((t - self.start) / self.interval.max(1)) as usize
    }

    fn vector_scalar(
        &self,
        b: &BinaryExpr,
        series: Vec<SeriesV>,
        scalar: &[f64],
        swap: bool,
    ) -> Vec<SeriesV> {
        let arithmetic = !b.op.is_comparison();
        let mut out = Vec::with_capacity(series.len());
        for mut s in series {
            let mut points = Vec::with_capacity(s.points.len());
            for &(t, v) in &s.points {
                let sv = scalar[self.step_index(t)];
                let (l, r) = if swap { (sv, v) } else { (v, sv) };
                let (mut value, keep) = scalar_op(b.op, l, r);
                if b.op.is_comparison() {
                    // The vector's value is kept even when the scalar is on the left.
                    value = v;
                }
                if b.return_bool {
                    points.push((t, if keep { 1.0 } else { 0.0 }));
                } else if keep {
                    points.push((t, value));
                }
            }
            if points.is_empty() {
                continue;
            }
            s.points = points;
            if arithmetic || b.return_bool {
                s.drop_name = true;
            }
            out.push(s);
        }
        out
    }

    fn set_op(
        &self,
        b: &BinaryExpr,
        lhs: Vec<SeriesV>,
        rhs: Vec<SeriesV>,
    ) -> EvResult<Vec<SeriesV>> {
        let m = b.matching.clone().unwrap_or_default();
        let mut sig_ids: HashMap<Labels, u32> = HashMap::new();
        let mut sig_of = |l: &Labels| {
            let key = match_labels(l, m.on, &m.labels);
            let n = sig_ids.len() as u32;
            *sig_ids.entry(key).or_insert(n)
        };
        let lsig: Vec<u32> = lhs.iter().map(|s| sig_of(&s.labels)).collect();
        let rsig: Vec<u32> = rhs.iter().map(|s| sig_of(&s.labels)).collect();
        let nsig = sig_ids.len();
        let steps: Vec<i64> = self.steps().collect();
        // Per step, which signatures each side has, via time-indexed cursors.
        let mut lpoints: Vec<Vec<(i64, f64)>> = vec![Vec::new(); lhs.len()];
        let mut rpoints: Vec<Vec<(i64, f64)>> = vec![Vec::new(); rhs.len()];
        let mut lcur = StepCursor::new(lhs.len());
        let mut rcur = StepCursor::new(rhs.len());
        let mut seen_l = vec![u32::MAX; nsig];
        let mut seen_r = vec![u32::MAX; nsig];
        for (si, &ts) in steps.iter().enumerate() {
            if si % 256 == 255 {
                self.ctx.check_interrupt()?;
            }
            let stamp = si as u32;
            let lhere: Vec<(usize, f64)> = lcur.at(&lhs, ts).collect();
            for &(i, _) in &lhere {
                seen_l[lsig[i] as usize] = stamp;
            }
            let rhere: Vec<(usize, f64)> = rcur.at(&rhs, ts).collect();
            for &(i, _) in &rhere {
                seen_r[rsig[i] as usize] = stamp;
            }
            match b.op {
                BinaryOp::And => {
                    for (i, v) in lhere {
                        if seen_r[lsig[i] as usize] == stamp {
                            lpoints[i].push((ts, v));
                        }
                    }
                }
                BinaryOp::Unless => {
                    for (i, v) in lhere {
                        if seen_r[lsig[i] as usize] != stamp {
                            lpoints[i].push((ts, v));
                        }
                    }
                }
                _ => {
                    for (i, v) in lhere {
                        lpoints[i].push((ts, v));
                    }
                    for (i, v) in rhere {
                        if seen_l[rsig[i] as usize] != stamp {
                            rpoints[i].push((ts, v));
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (s, pts) in lhs
            .into_iter()
            .zip(lpoints)
            .chain(rhs.into_iter().zip(rpoints))
        {
            if !pts.is_empty() {
                out.push(SeriesV {
                    labels: s.labels,
                    drop_name: s.drop_name,
                    points: pts,
                });
            }
        }
        Ok(out)
    }

    fn vector_vector(
        &self,
        b: &BinaryExpr,
        lhs: Vec<SeriesV>,
        rhs: Vec<SeriesV>,
        _pos: PosRange,
    ) -> EvResult<Vec<SeriesV>> {
        let m = b.matching.clone().unwrap_or_default();
        let swapped = m.card == Cardinality::OneToMany;
        // "many" side first; the "one" side is indexed by signature.
        let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
        // Fill values as Prometheus applies them after swapping (see fill-modifier.test).
        let (fill_many_missing, fill_one_missing) = (m.fill_left, m.fill_right);
        let mut sig_ids: HashMap<Labels, u32> = HashMap::new();
        let mut sig_labels: Vec<Labels> = Vec::new();
        let mut sig_of = |l: &Labels| {
            let key = match_labels(l, m.on, &m.labels);
            if let Some(id) = sig_ids.get(&key) {
                return *id;
            }
            let n = sig_labels.len() as u32;
            sig_labels.push(key.clone());
            sig_ids.insert(key, n);
            n
        };
        let many_sig: Vec<u32> = many.iter().map(|s| sig_of(&s.labels)).collect();
        let one_sig: Vec<u32> = one.iter().map(|s| sig_of(&s.labels)).collect();
        let nsig = sig_labels.len();

        let mut out: Vec<SeriesV> = Vec::new();
        let mut out_index: HashMap<Labels, usize> = HashMap::new();
        // (many index or u32::MAX for a filled side, one index or u32::MAX) -> output.
        let mut pair_out: HashMap<(u32, u32), usize> = HashMap::new();
        let mut mcur = StepCursor::new(many.len());
        let mut ocur = StepCursor::new(one.len());
        let mut one_at: Vec<(u32, usize, f64)> = vec![(u32::MAX, 0, 0.0); nsig];
        let mut matched: Vec<u32> = vec![u32::MAX; nsig];
        let mut inserted: Vec<(u32, Vec<usize>)> = vec![(u32::MAX, Vec::new()); nsig];
        let arithmetic = !b.op.is_comparison();
        let steps: Vec<i64> = self.steps().collect();
        for (si, &ts) in steps.iter().enumerate() {
            if si % 256 == 255 {
                self.ctx.check_interrupt()?;
            }
            let stamp = si as u32;
            let many_here: Vec<(usize, f64)> = mcur.at(&many, ts).collect();
            let one_here: Vec<(usize, f64)> = ocur.at(&one, ts).collect();
            if many_here.is_empty() && one_here.is_empty() {
                continue;
            }
            let any_fill = m.fill_left.is_some() || m.fill_right.is_some();
            if (many_here.is_empty() || one_here.is_empty()) && !any_fill {
                continue;
            }
            for &(i, v) in &one_here {
                let sig = one_sig[i] as usize;
                if one_at[sig].0 == stamp {
                    let side = if swapped { "left" } else { "right" };
                    let prev = &one[one_at[sig].1];
                    return Err(exec(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        sig_labels[sig], one[i].labels, prev.labels
                    )));
                }
                one_at[sig] = (stamp, i, v);
            }
            let mut emit = |many_idx: u32,
                            one_idx: u32,
                            many_labels: &Labels,
                            one_labels: &Labels,
                            many_v: f64,
                            one_v: f64,
                            sig: usize,
                            out: &mut Vec<SeriesV>|
             -> EvResult<()> {
                let (l, r) = if swapped {
                    (one_v, many_v)
                } else {
                    (many_v, one_v)
                };
                let (mut value, keep) = scalar_op(b.op, l, r);
                // One-to-one matches are counted before comparisons filter, so two
                // series for one match group fail even if a comparison drops them.
                if m.card == Cardinality::OneToOne {
                    if matched[sig] == stamp {
                        return Err(exec(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                        ));
                    }
                    matched[sig] = stamp;
                }
                if b.return_bool {
                    value = if keep { 1.0 } else { 0.0 };
                } else if !keep {
                    return Ok(());
                }
                let idx = match pair_out.get(&(many_idx, one_idx)) {
                    Some(i) => *i,
                    None => {
                        let labels = result_metric(many_labels, one_labels, b.op, &m);
                        let i = *out_index.entry(labels.clone()).or_insert_with(|| {
                            out.push(SeriesV {
                                labels,
                                drop_name: b.return_bool,
                                points: Vec::new(),
                            });
                            out.len() - 1
                        });
                        pair_out.insert((many_idx, one_idx), i);
                        i
                    }
                };
                if m.card != Cardinality::OneToOne {
                    let ins = &mut inserted[sig];
                    if ins.0 != stamp {
                        ins.0 = stamp;
                        ins.1.clear();
                    }
                    if ins.1.contains(&idx) {
                        return Err(exec(
                            "multiple matches for labels: grouping labels must ensure unique matches",
                        ));
                    }
                    ins.1.push(idx);
                }
                let series = &mut out[idx];
                if series.points.last().is_some_and(|p| p.0 == ts) {
                    return Err(exec("vector cannot contain metrics with the same labelset"));
                }
                series.points.push((ts, value));
                Ok(())
            };
            let mut one_matched: Vec<u32> = Vec::new();
            for &(i, v) in &many_here {
                let sig = many_sig[i] as usize;
                if one_at[sig].0 == stamp {
                    let (_, oi, ov) = one_at[sig];
                    one_matched.push(sig as u32);
                    emit(
                        i as u32,
                        oi as u32,
                        &many[i].labels,
                        &one[oi].labels,
                        v,
                        ov,
                        sig,
                        &mut out,
                    )?;
                } else if let Some(fv) = fill_one_missing {
                    let synth = sig_labels[sig].clone();
                    emit(
                        i as u32,
                        u32::MAX - sig as u32,
                        &many[i].labels,
                        &synth,
                        v,
                        fv,
                        sig,
                        &mut out,
                    )?;
                }
            }
            if let Some(fv) = fill_many_missing {
                one_matched.sort_unstable();
                for &(i, v) in &one_here {
                    let sig = one_sig[i];
                    if one_matched.binary_search(&sig).is_ok() {
                        continue;
                    }
                    let synth = sig_labels[sig as usize].clone();
                    emit(
                        u32::MAX - sig,
                        i as u32,
                        &synth,
                        &one[i].labels,
                        fv,
                        v,
                        sig as usize,
                        &mut out,
                    )?;
                }
            }
        }
        let _ = arithmetic;
        out.retain(|s| !s.points.is_empty());
        Ok(out)
    }

    // ---------------------------------------------------------------------------------
    // Aggregations

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
        crate::aggregate::aggregate(self, a, input, param_scalar, param_string, param_pos)
    }

    // ---------------------------------------------------------------------------------
    // Functions

    fn eval_call(&self, c: &Call, pos: PosRange) -> EvResult<Val> {
        funcs::call(self, c, pos)
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

/// A range function's input: series with all samples its windows need.
pub(crate) struct RangeSource {
    pub series: Vec<SeriesV>,
    /// Empty, or per series its samples' start timestamps (each empty when it has none).
    pub starts: Vec<Vec<i64>>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
    pub mode: RangeMode,
    /// Whether the samples came from a selector (not a subquery).
    pub from_selector: bool,
}

/// Prometheus's `vectorElemBinop` for floats: the value and whether to keep it.
pub(crate) fn scalar_op(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        // Float operands of the histogram trim operators leave nothing.
        BinaryOp::TrimUpper | BinaryOp::TrimLower => (l, false),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => (l, true),
    }
}

/// The labels used for vector matching: only `on` labels, or all but the `ignoring`
/// labels and the metric name.
pub(crate) fn match_labels(labels: &Labels, on: bool, names: &[String]) -> Labels {
    Labels::from_sorted(
        labels
            .iter()
            .filter(|l| {
                if on {
                    names.contains(&l.name)
                } else {
                    l.name != model::METRIC_NAME && !names.contains(&l.name)
                }
            })
            .cloned()
            .collect(),
    )
}

/// The labels of a vector/vector operation's result (Prometheus's `resultMetric`).
fn result_metric(many: &Labels, one: &Labels, op: BinaryOp, m: &VectorMatching) -> Labels {
    let mut b = many.to_builder();
    if !op.is_comparison() {
        b.delete(model::METRIC_NAME);
        b.delete("__type__");
        b.delete("__unit__");
    }
    if m.card == Cardinality::OneToOne {
        if m.on {
            b.retain(|l| m.labels.contains(&l.name));
        } else {
            for n in &m.labels {
                b.delete(n);
            }
        }
    }
    for n in &m.include {
        match one.get(n) {
            Some(v) => b.set(n.clone(), v.to_string()),
            None => b.delete(n),
        }
    }
    b.build()
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
    // Label-set hash -> indices in `out` with that hash (collisions compared in full).
    let mut index: HashMap<u64, Vec<usize>, rustc_hash::FxBuildHasher> = HashMap::default();
    let mut needs_sort = Vec::new();
    for mut s in series {
        if s.drop_name {
            s.labels = std::mem::take(&mut s.labels).retain(|l| !is_metadata_label(&l.name));
            s.drop_name = false;
        }
        let slots = index.entry(hasher.hash_one(&s.labels)).or_default();
        match slots.iter().find(|i| out[**i].labels == s.labels) {
            Some(&i) => {
                out[i].points.extend(s.points);
                needs_sort.push(i);
            }
            None => {
                slots.push(out.len());
                out.push(s);
            }
        }
    }
    for i in needs_sort {
        let pts = &mut out[i].points;
        pts.sort_by_key(|p| p.0);
        if pts.windows(2).any(|w| w[0].0 == w[1].0) {
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
