//! PromQL for Promethium: a parser for Prometheus 3.x syntax (with positions, for errors
//! and annotations), a printer, and an evaluator over the TSDB that gives Prometheus's
//! answers.
//!
//! ```no_run
//! # fn demo(db: &tsdb::Db) -> Result<(), promql::QueryError> {
//! let engine = promql::Engine::new(promql::EngineOptions::default());
//! let result = engine.instant(db, "sum by (job) (rate(http_requests_total[5m]))", 1_700_000_000_000)?;
//! println!("{:?}", result.value);
//! # Ok(()) }
//! ```

mod aggregate;
pub mod ast;
mod eval;
mod funcs;
pub mod functions;
mod histogram;
mod histogram_sum;
mod info;
mod lexer;
mod memory;
mod native_histogram;
mod numeric;
mod par;
pub mod parser;
mod printer;
pub mod series_notation;
mod value;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{Labels, Matcher};

pub use ast::{Expr, ValueType};
pub use memory::MemoryBudget;
pub use model::float::format_go_f as format_float_f;
pub use parser::{parse, parse_selector, ParseError, MAX_DEPTH, STACK_SIZE};
pub use printer::{format_duration, format_expr, prettify};
pub use value::{Annotation, AnnotationKind, QueryResult, QueryStats, Sample, Series, Value};

use ast::*;
use eval::{Ctx, Ev, Val};

/// What a select found: the series, and a warning for each thing the result lacks (e.g.
/// a damaged block left out), which the evaluator passes on as the query's warnings so
/// that an incomplete answer does not look complete.
pub type Selected = (Vec<tsdb::SeriesData>, Vec<String>);

/// Where the engine reads samples from.
pub trait Storage: Sync {
    /// Series matching all matchers with their samples in `[mint, maxt]`, in any order.
    /// `admit` is asked about each series (its labels and number of samples) as it is
    /// loaded, and the first `false` ends the select: the evaluator charges its memory
    /// budget this way, so that a select too big for the budget stops before all of it
    /// is in memory.
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused>;

    /// Like `select`, keeping only each series' last sample in the range (what every
    /// instant vector selector asks). Not defaulted to `select`: a wrapper that passed it
    /// on that way would load whole lookback windows for each series, which once made
    /// instant queries over many series several times slower. A storage with nothing
    /// better can say so with [`keep_last`].
    fn select_last(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused>;
}

/// A select's series cut down to their last sample each (for `Storage::select_last`).
pub fn keep_last(selected: Result<Selected, tsdb::Refused>) -> Result<Selected, tsdb::Refused> {
    let (mut all, warnings) = selected?;
    for s in &mut all {
        s.keep_last();
    }
    Ok((all, warnings))
}

impl Storage for tsdb::Db {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused> {
        tsdb::Db::select_admitted(self, matchers, mint, maxt, admit)
    }

    fn select_last(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused> {
        tsdb::Db::select_last_admitted(self, matchers, mint, maxt, admit)
    }
}

/// Why a query failed while being prepared or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("query timed out in expression evaluation")]
    Timeout,
    #[error("query was canceled in expression evaluation")]
    Canceled,
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// Over the memory one query may use (`--query.max-memory-per-query`), in bytes.
    #[error("query processing would use more than {} of memory, the most one query may use (--query.max-memory-per-query)", memory::show_bytes(*.0))]
    QueryMemory(u64),
    /// The queries running now hold all the memory queries may use together
    /// (`--query.max-memory`), in bytes: this one may run once they end.
    #[error("queries running now use the {} of memory that queries may use together (--query.max-memory); try again when they finish", memory::show_bytes(*.0))]
    TotalMemory(u64),
    /// An error while evaluating (Prometheus's `execution` error type).
    #[error("{0}")]
    Execution(String),
    /// The query cannot run as asked (Prometheus's `bad_data` error type).
    #[error("{0}")]
    BadQuery(String),
}

/// A failed query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// Engine settings (Prometheus's `--query.*` flags).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`).
    pub lookback_delta_ms: i64,
    /// Most samples one query may hold (`--query.max-samples`).
    pub max_samples: usize,
    /// Longest a query may run (`--query.timeout`).
    pub timeout: Option<Duration>,
    /// Step of subqueries that give none.
    pub subquery_step_ms: i64,
    /// Keep `__name__` until the end of the query instead of dropping it at each function
    /// or operator (Prometheus's `--enable-feature=promql-delayed-name-removal`; off by
    /// default as in Prometheus, on in its test engine).
    pub delayed_name_removal: bool,
    /// Use samples' start timestamps in `rate`, `increase`, `irate`, `resets` and
    /// `start_timestamp` (Prometheus's `--enable-feature=use-start-timestamps`; off by
    /// default, on in its test engine).
    pub use_start_timestamps: bool,
    /// Bytes one query may hold (0: no limit; see [`MemoryBudget`]).
    pub max_query_memory: u64,
    /// Bytes all running queries may hold together (0: no limit).
    pub max_total_memory: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            subquery_step_ms: 60_000,
            delayed_name_removal: false,
            use_start_timestamps: false,
            max_query_memory: 0,
            max_total_memory: 0,
        }
    }
}

/// Per-query settings beyond the time range.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions<'a> {
    /// Overrides the engine's lookback delta.
    pub lookback_delta_ms: Option<i64>,
    /// Overrides the engine's timeout when shorter.
    pub timeout: Option<Duration>,
    /// Set to cancel the query (e.g. when the client went away).
    pub cancel: Option<&'a AtomicBool>,
}

/// The PromQL engine.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
    running: Arc<AtomicUsize>,
    /// Set by [`Engine::stop`]: queries running then end, later ones are refused.
    stopped: Arc<AtomicBool>,
    /// What running queries hold together, shared by the clones.
    memory: Arc<MemoryBudget>,
}

/// Counts a query in [`Engine::queries`] while it lives (see [`Engine::track_query`]).
#[derive(Debug)]
pub struct QueryGuard(Arc<AtomicUsize>);

impl Drop for QueryGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Self {
            memory: Arc::new(MemoryBudget::new(opts.max_total_memory)),
            opts,
            running: Arc::default(),
            stopped: Arc::default(),
        }
    }

    /// Ends every query running on this engine or its clones (they fail as canceled
    /// within milliseconds) and refuses later ones: for a graceful shutdown, which
    /// would otherwise wait for the longest query to finish.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// What the running queries hold now, by the budget's estimate (for a metric).
    pub fn memory(&self) -> Arc<MemoryBudget> {
        Arc::clone(&self.memory)
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// The number of queries waiting or being evaluated now, as the callers of
    /// [`Engine::track_query`] count them (Prometheus's `prometheus_engine_queries`); shared
    /// by the clones of this engine.
    pub fn queries(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.running)
    }

    /// Counts one query in [`Engine::queries`] until the guard is dropped: take it before
    /// queueing for a slot, and keep it until evaluation ends.
    pub fn track_query(&self) -> QueryGuard {
        self.running.fetch_add(1, Ordering::Relaxed);
        QueryGuard(Arc::clone(&self.running))
    }

    /// Runs an instant query at `t` (ms).
    pub fn instant(
        &self,
        storage: &dyn Storage,
        query: &str,
        t: i64,
    ) -> Result<QueryResult, QueryError> {
        let expr = parse(query)?;
        Ok(self.exec(storage, &expr, query, t, t, 0, &QueryOptions::default())?)
    }

    /// Runs a range query over `[start, end]` every `step` ms.
    pub fn range(
        &self,
        storage: &dyn Storage,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        let expr = parse(query)?;
        Ok(self.exec(
            storage,
            &expr,
            query,
            start,
            end,
            step,
            &QueryOptions::default(),
        )?)
    }

    /// Runs a parsed query; `step == 0` means an instant query at `start`.
    #[allow(clippy::too_many_arguments)]
    pub fn exec(
        &self,
        storage: &dyn Storage,
        expr: &Expr,
        _query: &str,
        start: i64,
        end: i64,
        step: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, EvalError> {
        let range_query = step > 0;
        if range_query {
            if end < start {
                return Err(EvalError::BadQuery(
                    "end timestamp must not be before start time".into(),
                ));
            }
            match expr.value_type() {
                ValueType::Scalar | ValueType::Vector => {}
                t => {
                    return Err(EvalError::BadQuery(format!(
                        "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                        t.document_name()
                    )))
                }
            }
        }
        let (end, step) = if range_query { (end, step) } else { (start, 0) };
        if self.stopped.load(Ordering::Relaxed) {
            return Err(EvalError::Canceled);
        }
        let mut expr = expr.clone();
        preprocess(&mut expr, start, end, step)?;
        let timeout = match (self.opts.timeout, qopts.timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let ctx = Ctx {
            storage,
            lookback: qopts
                .lookback_delta_ms
                .unwrap_or(self.opts.lookback_delta_ms),
            max_samples: self.opts.max_samples,
            subquery_step: self.opts.subquery_step_ms,
            delayed_name_removal: self.opts.delayed_name_removal,
            use_start_timestamps: self.opts.use_start_timestamps,
            stats_decoding: Default::default(),
            deadline: timeout.map(|t| Instant::now() + t),
            cancel: qopts.cancel,
            annotations: Default::default(),
            samples_loaded: Default::default(),
            peak_samples: Default::default(),
            stop: &self.stopped,
            work: Default::default(),
            memory: memory::Reservation::new(&self.memory, self.opts.max_query_memory),
        };
        let ev = Ev {
            ctx: &ctx,
            start,
            end,
            interval: if range_query { step } else { 1 },
        };
        // Whatever the query, its result holds a value per step.
        ctx.check_size(ev.num_steps(), 1)?;
        let val = ev.eval(&expr)?;
        let value = match val {
            Val::Scalar(v) => {
                if range_query {
                    Value::Matrix(vec![Series {
                        labels: Labels::default(),
                        points: ev.steps().zip(v).collect(),
                        histograms: Vec::new(),
                    }])
                } else {
                    Value::Scalar {
                        t: start,
                        v: v.first().copied().unwrap_or(f64::NAN),
                    }
                }
            }
            Val::String(s) => Value::String { t: start, s },
            Val::Vector(series) => {
                let series = eval::finish_series(series)?;
                if range_query {
                    sorted_matrix(series)
                } else {
                    let mut series = series;
                    // Storage returns series in no particular order; answer in label order
                    // (as Prometheus does for selectors) unless the query orders its result.
                    if !orders_result(&expr) {
                        series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    }
                    Value::Vector(
                        series
                            .into_iter()
                            .filter_map(|mut s| {
                                if let Some(p) = s.points.first() {
                                    return Some(Sample {
                                        labels: s.labels,
                                        t: start,
                                        v: p.1,
                                        h: None,
                                    });
                                }
                                let h = s.hists.pop()?.1;
                                Some(Sample {
                                    labels: s.labels,
                                    t: start,
                                    v: 0.0,
                                    h: Some(h),
                                })
                            })
                            .collect(),
                    )
                }
            }
            Val::Matrix(series) => sorted_matrix(eval::finish_series(series)?),
        };
        let annotations = ctx.annotations.into_inner();
        Ok(QueryResult {
            value,
            annotations,
            stats: QueryStats {
                samples_loaded: ctx.samples_loaded.get(),
                peak_samples: ctx.peak_samples.get(),
            },
        })
    }
}

/// A matrix result, its series sorted by labels as Prometheus returns them.
fn sorted_matrix(series: Vec<eval::SeriesV>) -> Value {
    let mut m: Vec<Series> = series
        .into_iter()
        .map(|s| Series {
            labels: s.labels,
            points: s.points,
            histograms: s.hists,
        })
        .collect();
    m.sort_by(|a, b| a.labels.cmp(&b.labels));
    Value::Matrix(m)
}

/// Whether the outermost operation of the query decides the order of its result.
fn orders_result(expr: &Expr) -> bool {
    match &expr.unwrap_parens().kind {
        ExprKind::Call(c) => matches!(
            c.func.name,
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
        ),
        ExprKind::Aggregate(a) => matches!(a.op, AggregateOp::Topk | AggregateOp::Bottomk),
        _ => false,
    }
}

/// Adds `@ t` to every selector and subquery without one (outermost subquery first),
/// as Prometheus's test runner does to check that results do not depend on the step.
pub fn pin_at(expr: &mut Expr, t: i64) {
    match &mut expr.kind {
        ExprKind::Vector(vs) => {
            if vs.at.is_none() {
                vs.at = Some(AtModifier::Time(t));
            }
        }
        ExprKind::Matrix(ms) => {
            if ms.selector.at.is_none() {
                ms.selector.at = Some(AtModifier::Time(t));
            }
        }
        ExprKind::Subquery(sq) => {
            if sq.at.is_none() {
                sq.at = Some(AtModifier::Time(t));
            }
        }
        ExprKind::Paren(e) | ExprKind::Unary(_, e) | ExprKind::StepInvariant(e) => pin_at(e, t),
        ExprKind::Binary(b) => {
            pin_at(&mut b.lhs, t);
            pin_at(&mut b.rhs, t);
        }
        ExprKind::Aggregate(a) => {
            pin_at(&mut a.expr, t);
            if let Some(p) = &mut a.param {
                pin_at(p, t);
            }
        }
        ExprKind::Call(c) => c.args.iter_mut().for_each(|a| pin_at(a, t)),
        ExprKind::Number { .. } | ExprKind::String(_) => {}
    }
}

/// Whether the expression calls a function whose value depends on the evaluation time
/// itself (Prometheus skips the `@` re-runs for those).
pub fn uses_at_unsafe_function(expr: &Expr) -> bool {
    let mut found = false;
    walk(expr, &mut |e| {
        if let ExprKind::Call(c) = &e.kind {
            if functions::at_modifier_unsafe(c.func.name)
                || matches!(c.func.name, "start" | "end" | "range" | "step")
            {
                found = true;
            }
        }
    });
    found
}

/// Every instant vector selector of the expression, those inside range selectors and
/// subqueries included, in the order upstream's `parser.Inspect` visits them.
pub fn vector_selectors(expr: &Expr) -> Vec<&ast::VectorSelector> {
    fn visit<'e>(e: &'e Expr, out: &mut Vec<&'e ast::VectorSelector>) {
        match &e.kind {
            ExprKind::Vector(v) => out.push(v),
            ExprKind::Matrix(m) => out.push(&m.selector),
            ExprKind::Paren(inner) | ExprKind::Unary(_, inner) | ExprKind::StepInvariant(inner) => {
                visit(inner, out)
            }
            ExprKind::Binary(b) => {
                visit(&b.lhs, out);
                visit(&b.rhs, out);
            }
            ExprKind::Aggregate(a) => {
                if let Some(p) = &a.param {
                    visit(p, out);
                }
                visit(&a.expr, out);
            }
            ExprKind::Call(c) => c.args.iter().for_each(|a| visit(a, out)),
            ExprKind::Subquery(s) => visit(&s.expr, out),
            ExprKind::Number { .. } | ExprKind::String(_) => {}
        }
    }
    let mut out = Vec::new();
    visit(expr, &mut out);
    out
}

fn walk(expr: &Expr, f: &mut impl FnMut(&Expr)) {
    f(expr);
    match &expr.kind {
        ExprKind::Paren(e) | ExprKind::Unary(_, e) | ExprKind::StepInvariant(e) => walk(e, f),
        ExprKind::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        ExprKind::Aggregate(a) => {
            walk(&a.expr, f);
            if let Some(p) = &a.param {
                walk(p, f);
            }
        }
        ExprKind::Call(c) => c.args.iter().for_each(|a| walk(a, f)),
        ExprKind::Subquery(s) => walk(&s.expr, f),
        _ => {}
    }
}

fn resolve_duration(
    d: &mut DurationExpr,
    step: i64,
    range: i64,
    positive: bool,
) -> Result<(), EvalError> {
    if let DurationExpr::Duration(ms) = d {
        if positive && *ms <= 0 {
            return Err(EvalError::BadQuery(
                "duration must be greater than 0".into(),
            ));
        }
        return Ok(());
    }
    let secs = d.seconds(step, range);
    if !secs.is_finite() {
        return Err(EvalError::BadQuery("duration is NaN or infinite".into()));
    }
    if positive && secs <= 0.0 {
        return Err(EvalError::BadQuery(
            "duration must be greater than 0".into(),
        ));
    }
    if secs.abs() > 9.223_372_036e9 {
        return Err(EvalError::BadQuery("duration is out of range".into()));
    }
    *d = DurationExpr::Duration((secs * 1000.0) as i64);
    Ok(())
}

fn resolve_at(at: &mut Option<AtModifier>, start: i64, end: i64) {
    match at {
        Some(AtModifier::Start) => *at = Some(AtModifier::Time(start)),
        Some(AtModifier::End) => *at = Some(AtModifier::Time(end)),
        _ => {}
    }
}

/// Resolves duration expressions, `@ start()`/`@ end()` and the `start()`-like
/// functions, then wraps step-invariant subtrees (Prometheus's `PreprocessExpr`).
fn preprocess(expr: &mut Expr, start: i64, end: i64, step: i64) -> Result<(), EvalError> {
    resolve(expr, start, end, step)?;
    if wrap_step_invariant(expr) {
        wrap(expr);
    }
    Ok(())
}

fn resolve(expr: &mut Expr, start: i64, end: i64, step: i64) -> Result<(), EvalError> {
    let range = end - start;
    match &mut expr.kind {
        ExprKind::Vector(vs) => {
            if let Some(o) = &mut vs.offset {
                resolve_duration(o, step, range, false)?;
            }
            resolve_at(&mut vs.at, start, end);
        }
        ExprKind::Matrix(ms) => {
            resolve_duration(&mut ms.range, step, range, true)?;
            if let Some(o) = &mut ms.selector.offset {
                resolve_duration(o, step, range, false)?;
            }
            resolve_at(&mut ms.selector.at, start, end);
        }
        ExprKind::Subquery(sq) => {
            resolve_duration(&mut sq.range, step, range, true)?;
            if let Some(s) = &mut sq.step {
                resolve_duration(s, step, range, true)?;
            }
            if let Some(o) = &mut sq.offset {
                resolve_duration(o, step, range, false)?;
            }
            resolve_at(&mut sq.at, start, end);
            resolve(&mut sq.expr, start, end, step)?;
        }
        ExprKind::Call(c) => {
            let value = match c.func.name {
                "start" => Some(start as f64 / 1000.0),
                "end" => Some(end as f64 / 1000.0),
                "range" => Some(range as f64 / 1000.0),
                "step" => Some(if start != end {
                    step as f64 / 1000.0
                } else {
                    0.0
                }),
                _ => None,
            };
            if let Some(v) = value {
                expr.kind = ExprKind::Number {
                    value: v,
                    duration: false,
                };
                return Ok(());
            }
            for a in &mut c.args {
                resolve(a, start, end, step)?;
            }
        }
        ExprKind::Paren(e) | ExprKind::Unary(_, e) | ExprKind::StepInvariant(e) => {
            resolve(e, start, end, step)?
        }
        ExprKind::Binary(b) => {
            resolve(&mut b.lhs, start, end, step)?;
            resolve(&mut b.rhs, start, end, step)?;
        }
        ExprKind::Aggregate(a) => {
            resolve(&mut a.expr, start, end, step)?;
            if let Some(p) = &mut a.param {
                resolve(p, start, end, step)?;
            }
        }
        ExprKind::Number { .. } | ExprKind::String(_) => {}
    }
    Ok(())
}

fn wrap(e: &mut Expr) {
    if matches!(
        e.kind,
        ExprKind::Number { .. } | ExprKind::String(_) | ExprKind::StepInvariant(_)
    ) {
        return;
    }
    let inner = std::mem::replace(
        e,
        Expr::new(
            ExprKind::Number {
                value: 0.0,
                duration: false,
            },
            e.pos,
        ),
    );
    let pos = inner.pos;
    *e = Expr::new(ExprKind::StepInvariant(Box::new(inner)), pos);
}

/// Returns whether the subtree is step-invariant; wraps invariant children of variant
/// nodes.
fn wrap_step_invariant(expr: &mut Expr) -> bool {
    match &mut expr.kind {
        ExprKind::Vector(vs) => vs.at.is_some(),
        ExprKind::Matrix(ms) => ms.selector.at.is_some(),
        ExprKind::Number { .. } | ExprKind::String(_) => true,
        ExprKind::StepInvariant(_) => true,
        ExprKind::Paren(e) | ExprKind::Unary(_, e) => wrap_step_invariant(e),
        ExprKind::Aggregate(a) => {
            let inner = wrap_step_invariant(&mut a.expr);
            let param = match &mut a.param {
                Some(p) => wrap_step_invariant(p),
                None => true,
            };
            if inner && param {
                return true;
            }
            if inner {
                wrap(&mut a.expr);
            }
            false
        }
        ExprKind::Binary(b) => {
            let l = wrap_step_invariant(&mut b.lhs);
            let r = wrap_step_invariant(&mut b.rhs);
            if l && r {
                return true;
            }
            if l {
                wrap(&mut b.lhs);
            }
            if r {
                wrap(&mut b.rhs);
            }
            false
        }
        ExprKind::Call(c) => {
            let mut all = !functions::at_modifier_unsafe(c.func.name);
            let flags: Vec<bool> = c.args.iter_mut().map(wrap_step_invariant).collect();
            all = all && flags.iter().all(|f| *f);
            if all {
                return true;
            }
            for (a, f) in c.args.iter_mut().zip(flags) {
                if f {
                    wrap(a);
                }
            }
            false
        }
        ExprKind::Subquery(sq) => {
            if wrap_step_invariant(&mut sq.expr) {
                wrap(&mut sq.expr);
            }
            sq.at.is_some()
        }
    }
}
