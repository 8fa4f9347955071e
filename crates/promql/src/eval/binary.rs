//! Binary operators: scalar/scalar, vector/scalar, set operators and vector matching.

use std::collections::HashMap;

use model::histogram::FloatHistogram;
use model::Labels;

use super::{exec, Ev, EvResult, SeriesV, Val};
use crate::ast::*;
use crate::value::AnnotationKind;
use crate::EvalError;

impl Ev<'_, '_> {
    /// On the evaluator's recursive path: kept out of line so that `eval`'s own frame
    /// stays small.
    #[inline(never)]
    pub(super) fn eval_binary(&self, b: &BinaryExpr, pos: PosRange) -> EvResult<Val> {
        let (lhs, rhs) = if matches!(b.op, BinaryOp::TrimUpper | BinaryOp::TrimLower) {
            // Trimming needs the buckets: no stats decoding below.
            self.with_stats_decoding(false, || {
                Ok::<_, EvalError>((self.eval(&b.lhs)?, self.eval(&b.rhs)?))
            })?
        } else {
            (self.eval(&b.lhs)?, self.eval(&b.rhs)?)
        };
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
                Ok(Val::Vector(self.vector_scalar(b, v, &s, false, pos)?))
            }
            (Val::Scalar(s), Val::Vector(v)) => {
                Ok(Val::Vector(self.vector_scalar(b, v, &s, true, pos)?))
            }
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
        pos: PosRange,
    ) -> EvResult<Vec<SeriesV>> {
        let arithmetic = changes_metric_schema(b.op);
        let mut out = Vec::with_capacity(series.len());
        for mut s in series {
            self.ctx.tick(1 + s.points.len())?;
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
            let mut hists = Vec::new();
            for (t, h) in std::mem::take(&mut s.hists) {
                let sv = scalar[self.step_index(t)];
                let (l, r) = if swap {
                    (Operand::F(sv), Operand::H(&h))
                } else {
                    (Operand::H(&h), Operand::F(sv))
                };
                let (value, keep) = match elem_binop(b.op, l, r) {
                    Ok((value, keep, info)) => {
                        if let Some((kind, text)) = info {
                            self.ctx.annotate(kind, text, pos);
                        }
                        (value, keep)
                    }
                    Err((kind, text)) => {
                        self.ctx.annotate(kind, text, pos);
                        continue;
                    }
                };
                if b.return_bool {
                    points.push((t, if keep { 1.0 } else { 0.0 }));
                } else if keep {
                    match value {
                        Computed::F(v) => points.push((t, v)),
                        Computed::H(h) => hists.push((t, h)),
                    }
                }
            }
            if points.is_empty() && hists.is_empty() {
                continue;
            }
            if !hists.is_empty() && points.windows(2).any(|w| w[1].0 < w[0].0) {
                points.sort_by_key(|p| p.0);
            }
            s.points = points;
            s.hists = hists;
            if arithmetic || b.return_bool {
                s.drop_name = true;
            }
            out.push(s);
        }
        Ok(out)
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
        let empty = |s: &SeriesV| SeriesV {
            labels: s.labels.clone(),
            drop_name: s.drop_name,
            points: Vec::new(),
            hists: Vec::new(),
        };
        let mut lout: Vec<SeriesV> = lhs.iter().map(empty).collect();
        let mut rout: Vec<SeriesV> = rhs.iter().map(empty).collect();
        let mut lcur = SampleCursor::new(lhs.len());
        let mut rcur = SampleCursor::new(rhs.len());
        let mut seen_l = vec![u32::MAX; nsig];
        let mut seen_r = vec![u32::MAX; nsig];
        for (si, &ts) in steps.iter().enumerate() {
            // Each step looks at every series of both sides.
            self.ctx.tick(1 + lhs.len() + rhs.len())?;
            let stamp = si as u32;
            let lhere = lcur.at(&lhs, ts);
            for &(i, _) in &lhere {
                seen_l[lsig[i] as usize] = stamp;
            }
            let rhere = rcur.at(&rhs, ts);
            for &(i, _) in &rhere {
                seen_r[rsig[i] as usize] = stamp;
            }
            match b.op {
                BinaryOp::And => {
                    for (i, v) in lhere {
                        if seen_r[lsig[i] as usize] == stamp {
                            push_sample(&mut lout[i], ts, v);
                        }
                    }
                }
                BinaryOp::Unless => {
                    for (i, v) in lhere {
                        if seen_r[lsig[i] as usize] != stamp {
                            push_sample(&mut lout[i], ts, v);
                        }
                    }
                }
                _ => {
                    for (i, v) in lhere {
                        push_sample(&mut lout[i], ts, v);
                    }
                    for (i, v) in rhere {
                        if seen_l[rsig[i] as usize] != stamp {
                            push_sample(&mut rout[i], ts, v);
                        }
                    }
                }
            }
        }
        Ok(lout
            .into_iter()
            .chain(rout)
            .filter(|s| !s.points.is_empty() || !s.hists.is_empty())
            .collect())
    }

    fn vector_vector(
        &self,
        b: &BinaryExpr,
        lhs: Vec<SeriesV>,
        rhs: Vec<SeriesV>,
        pos: PosRange,
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
        let mut mcur = SampleCursor::new(many.len());
        let mut ocur = SampleCursor::new(one.len());
        let mut one_at: Vec<(u32, usize, Operand<'_>)> = vec![(u32::MAX, 0, Operand::F(0.0)); nsig];
        let mut matched: Vec<u32> = vec![u32::MAX; nsig];
        let mut inserted: Vec<(u32, Vec<usize>)> = vec![(u32::MAX, Vec::new()); nsig];
        let arithmetic = changes_metric_schema(b.op);
        let steps: Vec<i64> = self.steps().collect();
        for (si, &ts) in steps.iter().enumerate() {
            // Each step looks at every series of both sides.
            self.ctx.tick(1 + many.len() + one.len())?;
            let stamp = si as u32;
            let many_here = mcur.at(&many, ts);
            let one_here = ocur.at(&one, ts);
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
                            many_v: Operand<'_>,
                            one_v: Operand<'_>,
                            sig: usize,
                            out: &mut Vec<SeriesV>|
             -> EvResult<()> {
                let (l, r) = if swapped {
                    (one_v, many_v)
                } else {
                    (many_v, one_v)
                };
                let (mut value, keep) = match elem_binop(b.op, l, r) {
                    Ok((value, keep, info)) => {
                        if let Some((kind, text)) = info {
                            self.ctx.annotate(kind, text, pos);
                        }
                        (value, keep)
                    }
                    Err((kind, text)) => {
                        self.ctx.annotate(kind, text, pos);
                        return Ok(());
                    }
                };
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
                    value = Computed::F(if keep { 1.0 } else { 0.0 });
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
                                hists: Vec::new(),
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
                if series.points.last().is_some_and(|p| p.0 == ts)
                    || series.hists.last().is_some_and(|p| p.0 == ts)
                {
                    return Err(exec("vector cannot contain metrics with the same labelset"));
                }
                match value {
                    Computed::F(v) => series.points.push((ts, v)),
                    Computed::H(h) => series.hists.push((ts, h)),
                }
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
                        Operand::F(fv),
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
                        Operand::F(fv),
                        v,
                        sig as usize,
                        &mut out,
                    )?;
                }
            }
        }
        let _ = arithmetic;
        out.retain(|s| !s.points.is_empty() || !s.hists.is_empty());
        Ok(out)
    }
}

/// The samples of series at step times, floats and histograms alike (call `at` with
/// increasing times).
struct SampleCursor {
    floats: Vec<usize>,
    hists: Vec<usize>,
}

impl SampleCursor {
    fn new(n: usize) -> Self {
        Self {
            floats: vec![0; n],
            hists: vec![0; n],
        }
    }

    fn at<'a>(&mut self, series: &'a [SeriesV], ts: i64) -> Vec<(usize, Operand<'a>)> {
        let mut out = Vec::new();
        for (i, s) in series.iter().enumerate() {
            let f = &mut self.floats[i];
            if let Some(&(t, v)) = s.points.get(*f) {
                if t == ts {
                    *f += 1;
                    out.push((i, Operand::F(v)));
                    continue;
                }
            }
            let h = &mut self.hists[i];
            if let Some((t, hv)) = s.hists.get(*h) {
                if *t == ts {
                    *h += 1;
                    out.push((i, Operand::H(hv)));
                }
            }
        }
        out
    }
}

/// Pushes a sample to a series' floats or histograms.
fn push_sample(s: &mut SeriesV, ts: i64, v: Operand<'_>) {
    match v {
        Operand::F(v) => s.points.push((ts, v)),
        Operand::H(h) => s.hists.push((ts, h.clone())),
    }
}

/// One side of an operation on one sample.
#[derive(Clone, Copy)]
pub(crate) enum Operand<'a> {
    F(f64),
    H(&'a FloatHistogram),
}

/// An operation's value on one sample.
pub(crate) enum Computed {
    F(f64),
    H(FloatHistogram),
}

/// An annotation an operation gives: kind and text.
type Note = (AnnotationKind, String);

fn incompatible_types(op: BinaryOp, l: &str, r: &str) -> Note {
    let o = op.text();
    (
        AnnotationKind::Info,
        format!("incompatible sample types encountered for binary operator {o:?}: {l} {o} {r}"),
    )
}

/// Prometheus's `vectorElemBinop` for any mix of floats and histograms: the value, whether
/// to keep it, and an info to add; `Err` drops the sample with an annotation.
pub(crate) fn elem_binop(
    op: BinaryOp,
    l: Operand<'_>,
    r: Operand<'_>,
) -> Result<(Computed, bool, Option<Note>), Note> {
    use AnnotationKind::{Info, Warning};
    match (l, r) {
        (Operand::F(a), Operand::F(b)) => {
            if matches!(op, BinaryOp::TrimUpper | BinaryOp::TrimLower) {
                return Err(incompatible_types(op, "float", "float"));
            }
            let (v, keep) = scalar_op(op, a, b);
            Ok((Computed::F(v), keep, None))
        }
        (Operand::F(a), Operand::H(h)) => match op {
            BinaryOp::Mul => {
                let mut out = h.clone();
                out.mul(a);
                out.compact(0);
                Ok((Computed::H(out), true, None))
            }
            _ => Err(incompatible_types(op, "float", "histogram")),
        },
        (Operand::H(h), Operand::F(b)) => match op {
            BinaryOp::Mul | BinaryOp::Div => {
                let mut out = h.clone();
                if op == BinaryOp::Mul {
                    out.mul(b);
                } else {
                    out.div(b);
                }
                out.compact(0);
                Ok((Computed::H(out), true, None))
            }
            BinaryOp::TrimUpper | BinaryOp::TrimLower => {
                let mut out = h.clone();
                out.trim_buckets(b, op == BinaryOp::TrimUpper);
                Ok((Computed::H(out), true, None))
            }
            _ => Err(incompatible_types(op, "histogram", "float")),
        },
        (Operand::H(a), Operand::H(b)) => match op {
            BinaryOp::Add | BinaryOp::Sub => {
                let mut out = a.clone();
                let (combined, name) = if op == BinaryOp::Add {
                    (out.add(b), "addition")
                } else {
                    (out.sub(b), "subtraction")
                };
                let combined = combined.map_err(|_| {
                    (
                        Warning,
                        format!(
                            "incompatible bucket layout encountered for binary operator {}",
                            op.text()
                        ),
                    )
                })?;
                if op == BinaryOp::Sub {
                    out.counter_reset_hint = model::histogram::CounterResetHint::Gauge;
                }
                if combined.counter_reset_collision {
                    return Err((
                        Warning,
                        format!("conflicting counter resets during histogram {name}"),
                    ));
                }
                out.compact(0);
                let info = combined.custom_bounds_reconciled.then(|| {
                    (
                        Info,
                        format!("mismatched custom buckets were reconciled during {name}"),
                    )
                });
                Ok((Computed::H(out), true, info))
            }
            BinaryOp::Eql | BinaryOp::Neq => {
                let equal = a.equals(b);
                Ok((Computed::H(a.clone()), equal == (op == BinaryOp::Eql), None))
            }
            _ => Err(incompatible_types(op, "histogram", "histogram")),
        },
    }
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

/// Whether the operator's result is no longer the metric (upstream's
/// `changesMetricSchema`): arithmetic drops the name; comparisons and the histogram trims
/// keep it.
fn changes_metric_schema(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Mod
            | BinaryOp::Atan2
    )
}

/// The labels of a vector/vector operation's result (Prometheus's `resultMetric`).
fn result_metric(many: &Labels, one: &Labels, op: BinaryOp, m: &VectorMatching) -> Labels {
    let mut b = many.to_builder();
    if changes_metric_schema(op) {
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
