//! Selectors and subqueries: where samples come from.

use model::{Labels, Matcher};

use super::{exec, Ev, EvResult, RangeSource, SelectorValue, SeriesV, Val};
use crate::ast::*;
use crate::funcs;
use crate::value::{Annotation, AnnotationKind};
use crate::EvalError;

impl Ev<'_, '_> {
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> EvResult<Vec<tsdb::SeriesData>> {
        self.ctx.check_interrupt()?;
        let data = self
            .select_within_budget(|admit| self.ctx.storage.select(matchers, mint, maxt, admit))?;
        self.ctx.check_interrupt()?;
        Ok(data)
    }

    /// Runs a select that charges the query's memory budget series by series as storage
    /// loads them (so that one too big for the budget stops early), passes its warnings
    /// on and counts its samples.
    fn select_within_budget(
        &self,
        select: impl FnOnce(
            &tsdb::Admit<'_>,
        ) -> Result<(Vec<tsdb::SeriesData>, Vec<String>), tsdb::Refused>,
    ) -> EvResult<Vec<tsdb::SeriesData>> {
        let memory = &self.ctx.memory;
        let refusal = std::sync::Mutex::new(None);
        let admit = |labels: &Labels, samples: usize| match memory
            .loaded(crate::memory::series_bytes(labels, samples))
        {
            Ok(()) => true,
            Err(e) => {
                *refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                false
            }
        };
        let (data, warnings) = match select(&admit) {
            Ok(found) => found,
            Err(tsdb::Refused) => {
                let refusal = refusal.into_inner().unwrap_or_else(|p| p.into_inner());
                return Err(refusal.unwrap_or(EvalError::TotalMemory(0)));
            }
        };
        self.pass_on_storage_warnings(warnings);
        let samples: usize = data.iter().map(|s| s.len()).sum();
        self.ctx
            .samples_loaded
            .set(self.ctx.samples_loaded.get().saturating_add(samples as u64));
        // Start timestamps, where there are any, were not in the series' estimate.
        let starts: usize = data.iter().map(|s| s.starts.len()).sum();
        memory.loaded(starts as u64 * 8)?;
        Ok(data)
    }

    /// Adds storage's warnings to the query's, each once however many selects said it (a
    /// damaged block is named once per query, not once per selector or subquery step).
    fn pass_on_storage_warnings(&self, warnings: Vec<String>) {
        if warnings.is_empty() {
            return;
        }
        let mut list = self.ctx.annotations.borrow_mut();
        for msg in warnings {
            if !list.iter().any(|a| a.from_storage && a.msg == msg) {
                list.push(Annotation {
                    kind: AnnotationKind::Warning,
                    msg,
                    pos: PosRange::default(),
                    from_storage: true,
                });
            }
        }
    }

    /// An instant vector selector at every step, with lookback; `timestamps` makes each
    /// value the selected sample's own time in seconds (for `timestamp()`).
    pub fn eval_vector_selector(
        &self,
        vs: &VectorSelector,
        value: SelectorValue,
        pos: PosRange,
    ) -> EvResult<Vec<SeriesV>> {
        self.eval_vector_selector_clipped(vs, value, None, pos)
    }

    /// Like [`Self::eval_vector_selector`], seeing only samples in `clip` (`info()` sees
    /// its info series only within the time range of its base selector).
    pub fn eval_vector_selector_clipped(
        &self,
        vs: &VectorSelector,
        value: SelectorValue,
        clip: Option<(i64, i64)>,
        pos: PosRange,
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
        // One evaluation time: only each series' last sample matters (except for stats
        // decoding, which compares each histogram with the one before).
        let stats = self.ctx.stats_decoding.get();
        let single = first_ref == last_ref && !smoothed && clip.is_none() && !stats;
        let mut data = if single {
            self.ctx.check_interrupt()?;
            self.select_within_budget(|admit| {
                self.ctx
                    .storage
                    .select_last(&vs.matchers, first_ref - lb + 1, maxt, admit)
            })?
        } else {
            self.select(&vs.matchers, first_ref - lb + 1, maxt)?
        };
        if stats {
            for s in &mut data {
                detect_reset_hints(&mut s.histograms);
            }
        }
        if let Some((from, to)) = clip {
            for s in &mut data {
                s.retain(|(t, _)| *t >= from && *t <= to);
                retain_histograms(&mut s.histograms, &mut s.hist_starts, |(t, _)| {
                    *t >= from && *t <= to
                });
            }
        }
        let mut out = Vec::with_capacity(data.len());
        let mut held = 0usize;
        for s in data {
            self.ctx.tick(1)?;
            let mut points = Vec::new();
            let mut hists = Vec::new();
            if smoothed {
                let samples: Vec<(i64, f64)> = s
                    .samples
                    .iter()
                    .copied()
                    .filter(|(_, v)| !model::is_stale_nan(*v))
                    .collect();
                let histograms: Vec<&(i64, model::histogram::FloatHistogram)> = s
                    .histograms
                    .iter()
                    .filter(|(_, h)| !model::is_stale_nan(h.sum))
                    .collect();
                let metric = s.labels.metric_name().unwrap_or("");
                for ts in self.steps() {
                    self.ctx.tick(1)?;
                    let rt = at.unwrap_or(ts) - off;
                    let in_window = |t: i64| t > rt - lb && t <= rt + lb;
                    let hlo = histograms.partition_point(|p| p.0 <= rt - lb);
                    let hhi = histograms.partition_point(|p| p.0 <= rt + lb);
                    let hw = &histograms[hlo..hhi];
                    if hw.is_empty() {
                        if let Some(v) = funcs::smoothed_value(&samples, rt, lb) {
                            points.push((ts, v));
                        }
                        continue;
                    }
                    if samples.iter().any(|p| in_window(p.0)) {
                        self.ctx.annotate(
                            AnnotationKind::Warning,
                            format!("encountered a mix of histograms and floats for metric name {metric:?}"),
                            pos,
                        );
                        continue;
                    }
                    if let Some(h) = self.smoothed_histogram(hw, rt, metric, pos) {
                        hists.push((ts, h));
                    }
                }
            } else {
                let (mut idx, mut hidx) = (0, 0);
                for ts in self.steps() {
                    // One series over a long subquery has billions of steps.
                    self.ctx.tick(1)?;
                    let rt = at.unwrap_or(ts) - off;
                    while idx < s.samples.len() && s.samples[idx].0 <= rt {
                        idx += 1;
                    }
                    while hidx < s.histograms.len() && s.histograms[hidx].0 <= rt {
                        hidx += 1;
                    }
                    // The newest sample of either kind.
                    let float = idx.checked_sub(1).map(|i| s.samples[i]);
                    let hist = hidx.checked_sub(1).map(|i| &s.histograms[i]);
                    let newest_is_float = match (float, hist) {
                        (Some((tf, _)), Some((th, _))) => tf > *th,
                        (f, _) => f.is_some(),
                    };
                    match (float, hist) {
                        (Some((t, v)), _)
                            if newest_is_float && t > rt - lb && !model::is_stale_nan(v) =>
                        {
                            points.push((
                                ts,
                                match value {
                                    SelectorValue::Value => v,
                                    SelectorValue::Timestamp | SelectorValue::InfoTimestamp => {
                                        t as f64 / 1000.0
                                    }
                                    SelectorValue::StartTimestamp => {
                                        s.starts.get(idx - 1).copied().unwrap_or(0) as f64 / 1000.0
                                    }
                                },
                            ));
                        }
                        (_, Some((t, h)))
                            if !newest_is_float && *t > rt - lb && !model::is_stale_nan(h.sum) =>
                        {
                            match value {
                                SelectorValue::Value => hists.push((ts, h.clone())),
                                SelectorValue::Timestamp => points.push((ts, *t as f64 / 1000.0)),
                                SelectorValue::StartTimestamp => points.push((
                                    ts,
                                    s.hist_starts.get(hidx - 1).copied().unwrap_or(0) as f64
                                        / 1000.0,
                                )),
                                SelectorValue::InfoTimestamp => {
                                    return Err(exec("info sample should be float"))
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            if !points.is_empty() || !hists.is_empty() {
                // Counted as the result grows, so that it stops at the limit.
                held += points.len() + hists.len();
                self.ctx.count_samples(held)?;
                out.push(SeriesV {
                    labels: s.labels,
                    drop_name: false,
                    points,
                    hists,
                });
            }
        }
        Ok(out)
    }

    /// A `smoothed` selector's histogram at `rt` from the samples around it (upstream's
    /// smoothed vector selector): the sample at `rt`, else interpolated between the two
    /// around it, else the one before (its reset hint dropped).
    fn smoothed_histogram(
        &self,
        hw: &[&(i64, model::histogram::FloatHistogram)],
        rt: i64,
        metric: &str,
        pos: PosRange,
    ) -> Option<model::histogram::FloatHistogram> {
        use model::histogram::CounterResetHint;
        let i = hw.partition_point(|p| p.0 < rt);
        if i < hw.len() && hw[i].0 == rt {
            return Some(hw[i].1.clone());
        }
        let prev = hw.get(i.checked_sub(1)?)?;
        let Some(next) = hw.get(i) else {
            let mut h = prev.1.clone();
            h.counter_reset_hint = CounterResetHint::Unknown;
            return Some(h);
        };
        let schemas_warning = || {
            self.ctx.annotate(
                AnnotationKind::Warning,
                format!("vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"),
                pos,
            )
        };
        if prev.1.uses_custom_buckets() != next.1.uses_custom_buckets() {
            schemas_warning();
            return None;
        }
        let gauge =
            |h: &model::histogram::FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
        let counter = !gauge(&prev.1) || !gauge(&next.1);
        let mut notes = Vec::new();
        let h = funcs::interpolate_histograms(
            (prev.0, &prev.1),
            (next.0, &next.1),
            rt,
            counter,
            &mut notes,
        );
        for (kind, text) in notes {
            self.ctx.annotate(kind, text, pos);
        }
        match h {
            Ok(h) => Some(h),
            Err(_) => {
                schemas_warning();
                None
            }
        }
    }

    /// A range selector as a query result: the raw samples of its window at the end.
    pub(super) fn eval_matrix_raw(&self, ms: &MatrixSelector) -> EvResult<Vec<SeriesV>> {
        let src = self.range_source_selector(ms, false)?;
        let t = self.end;
        let mut out = Vec::new();
        let mut held = 0usize;
        for s in src.series {
            self.ctx.tick(s.points.len())?;
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
            let hists: Vec<(i64, model::histogram::FloatHistogram)> = s
                .hists
                .into_iter()
                .filter(|(pt, _)| *pt > rs && *pt <= we)
                .collect();
            if !pts.is_empty() || !hists.is_empty() {
                // A range vector returned by an instant query holds its samples too.
                held += pts.len() + hists.len();
                self.ctx.count_samples(held)?;
                out.push(SeriesV {
                    labels: s.labels,
                    drop_name: false,
                    points: pts,
                    hists,
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
        let mut data = self.select(&vs.matchers, mint, maxt)?;
        if self.ctx.stats_decoding.get() {
            for s in &mut data {
                detect_reset_hints(&mut s.histograms);
            }
        }
        let mut starts = Vec::new();
        let mut hist_starts = Vec::new();
        let series = data
            .into_iter()
            .map(|s| {
                self.ctx.tick(s.samples.len())?;
                let (labels, mut buf) = s.into_parts();
                if !with_starts {
                    buf.starts.clear();
                    buf.hist_starts.clear();
                }
                // Staleness markers are not samples of a range.
                buf.retain(|(_, v)| !model::is_stale_nan(*v));
                retain_histograms(&mut buf.histograms, &mut buf.hist_starts, |(_, h)| {
                    !model::is_stale_nan(h.sum)
                });
                if with_starts {
                    starts.push(buf.starts);
                    hist_starts.push(buf.hist_starts);
                }
                Ok(SeriesV {
                    labels,
                    drop_name: false,
                    points: buf.points,
                    hists: buf.histograms,
                })
            })
            .collect::<EvResult<_>>()?;
        Ok(RangeSource {
            series,
            starts,
            hist_starts,
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
            // Refused before evaluating: the inner expression is evaluated at every
            // step, and anything it gives holds a sample per step (`[300y:1s]` is ten
            // billion). Only an inner expression that selects nothing at all would get
            // away with it (Prometheus would then answer, after walking every step).
            self.ctx.check_size(sub.num_steps(), 1)?;
            // Reset detection needs the buckets: no stats decoding inside a subquery.
            match self.with_stats_decoding(false, || sub.eval(&sq.expr))? {
                Val::Vector(v) => v,
                Val::Scalar(values) => vec![SeriesV {
                    labels: Labels::default(),
                    drop_name: false,
                    points: sub.steps().zip(values).collect(),
                    hists: Vec::new(),
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
                let (mut series, range, offset, at) = self.eval_subquery(sq)?;
                // A subquery's histograms are not consecutive samples: their reset hints
                // say nothing about each other (upstream sets them to unknown).
                use model::histogram::CounterResetHint::{CounterReset, NotCounterReset, Unknown};
                for s in &mut series {
                    for (_, h) in &mut s.hists {
                        if matches!(h.counter_reset_hint, CounterReset | NotCounterReset) {
                            h.counter_reset_hint = Unknown;
                        }
                    }
                }
                Ok(RangeSource {
                    series,
                    starts: Vec::new(),
                    hist_starts: Vec::new(),
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
}

/// Upstream's `HistogramStatsIterator` hints: a histogram whose reset hint is unknown gets
/// `CounterReset` or `NotCounterReset` by comparison with the histogram before it (the
/// first one loaded stays unknown; stale markers are skipped).
fn detect_reset_hints(histograms: &mut [(i64, model::histogram::FloatHistogram)]) {
    use model::histogram::CounterResetHint;
    let mut last: Option<usize> = None;
    for i in 0..histograms.len() {
        if model::is_stale_nan(histograms[i].1.sum) {
            continue;
        }
        if histograms[i].1.counter_reset_hint == CounterResetHint::Unknown {
            if let Some(j) = last {
                let reset = histograms[i].1.detect_reset(&histograms[j].1);
                histograms[i].1.counter_reset_hint = if reset {
                    CounterResetHint::CounterReset
                } else {
                    CounterResetHint::NotCounterReset
                };
            }
        }
        last = Some(i);
    }
}

/// Keeps the histograms `keep` accepts, and their start timestamps with them (`starts`:
/// empty, or one per histogram).
fn retain_histograms(
    histograms: &mut Vec<(i64, model::histogram::FloatHistogram)>,
    starts: &mut Vec<i64>,
    mut keep: impl FnMut(&(i64, model::histogram::FloatHistogram)) -> bool,
) {
    if starts.is_empty() {
        histograms.retain(keep);
        return;
    }
    let mut kept_starts = Vec::with_capacity(starts.len());
    let mut i = 0;
    histograms.retain(|h| {
        let k = keep(h);
        if k {
            kept_starts.push(starts.get(i).copied().unwrap_or(0));
        }
        i += 1;
        k
    });
    *starts = kept_starts;
}
