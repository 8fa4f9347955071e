//! Aggregation operators. Group keys are computed once per input series; the steps are
//! then walked with one accumulator per group.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use model::Labels;

use crate::ast::{AggregateExpr, AggregateOp, PosRange};
use model::histogram::{CounterResetHint, FloatHistogram, HistogramError};

use crate::eval::{Ev, EvResult, HistCursor, SeriesV, StepCursor, Val};
use crate::histogram_sum::KahanHist;
use crate::numeric::{kahan_inc, nan_last, quantile_of};
use crate::value::AnnotationKind;
use crate::EvalError;
use model::float::{format_go_f as format_float_f, format_go_g as format_go_float};

/// The labels a series contributes to its group.
fn group_labels(labels: &Labels, grouping: &[String], without: bool) -> Labels {
    Labels::from_sorted(
        labels
            .iter()
            .filter(|l| {
                let listed = grouping.contains(&l.name);
                if without {
                    !listed && l.name != model::METRIC_NAME
                } else {
                    listed
                }
            })
            .cloned()
            .collect(),
    )
}

/// A group's histograms at one step, for `sum` and `avg` (upstream's
/// `groupedAggregation` histogram fields).
#[derive(Clone, Default)]
struct HistAcc {
    seen: bool,
    sum: Option<KahanHist>,
    incompatible: bool,
    reset_seen: bool,
    not_reset_seen: bool,
}

impl HistAcc {
    fn add(&mut self, h: &FloatHistogram, avg: bool) -> Result<bool, HistogramError> {
        match h.counter_reset_hint {
            CounterResetHint::CounterReset => self.reset_seen = true,
            CounterResetHint::NotCounterReset => self.not_reset_seen = true,
            _ => {}
        }
        match &mut self.sum {
            None => {
                self.sum = Some(KahanHist::new(h));
                Ok(false)
            }
            Some(acc) => acc.add(h, avg),
        }
    }
}

#[derive(Clone, Default)]
struct Acc {
    seen: bool,
    value: f64,
    comp: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

pub(crate) fn aggregate(
    ev: &Ev,
    a: &AggregateExpr,
    input: Vec<SeriesV>,
    param: Option<Vec<f64>>,
    label_param: Option<String>,
    (param_pos, agg_pos): (PosRange, PosRange),
) -> EvResult<Val> {
    let steps: Vec<i64> = ev.steps().collect();
    // Group of each series.
    let mut group_index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, bool)> = Vec::new();
    let group_of: Vec<usize> = input
        .iter()
        .map(|s| {
            let key = group_labels(&s.labels, &a.grouping, a.without);
            let n = groups.len();
            let g = *group_index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, false));
                n
            });
            groups[g].1 |= s.drop_name;
            g
        })
        .collect();

    match a.op {
        AggregateOp::Quantile => {
            if let Some(p) = &param {
                if p.iter().any(|v| v.is_nan()) {
                    ev.ctx.annotate(
                        AnnotationKind::Warning,
                        "quantile value should be between 0 and 1, got NaN".into(),
                        param_pos,
                    );
                } else {
                    let max = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let min = p.iter().cloned().fold(f64::INFINITY, f64::min);
                    if max > 1.0 {
                        ev.ctx.annotate(
                            AnnotationKind::Warning,
                            format!(
                                "quantile value should be between 0 and 1, got {}",
                                format_go_float(max)
                            ),
                            param_pos,
                        );
                    }
                    if min < 0.0 {
                        ev.ctx.annotate(
                            AnnotationKind::Warning,
                            format!(
                                "quantile value should be between 0 and 1, got {}",
                                format_go_float(min)
                            ),
                            param_pos,
                        );
                    }
                }
            }
        }
        AggregateOp::LimitRatio => {
            if let Some(p) = &param {
                if p.iter().any(|v| v.is_nan()) {
                    return Err(EvalError::Execution("Ratio value is NaN".into()));
                }
                let max = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let min = p.iter().cloned().fold(f64::INFINITY, f64::min);
                if max > 1.0 {
                    ev.ctx.annotate(
                        AnnotationKind::Warning,
                        format!(
                            "ratio value should be between -1 and 1, got {}, capping to 1",
                            format_go_float(max)
                        ),
                        param_pos,
                    );
                }
                if min < -1.0 {
                    ev.ctx.annotate(
                        AnnotationKind::Warning,
                        format!(
                            "ratio value should be between -1 and 1, got {}, capping to -1",
                            format_go_float(min)
                        ),
                        param_pos,
                    );
                }
            }
        }
        AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk
            if param.as_ref().is_some_and(|p| p.iter().any(|v| v.is_nan())) =>
        {
            return Err(EvalError::Execution("Parameter value is NaN".into()));
        }
        _ => {}
    }

    match a.op {
        AggregateOp::Topk | AggregateOp::Bottomk => {
            // Ties go to the series first in label order, as with Prometheus's heap over
            // label-sorted input.
            let mut order: Vec<usize> = (0..input.len()).collect();
            order.sort_by(|x, y| input[*x].labels.cmp(&input[*y].labels));
            let sorted_groups: Vec<usize> = order.iter().map(|i| group_of[*i]).collect();
            let mut slots: Vec<Option<SeriesV>> = input.into_iter().map(Some).collect();
            let sorted: Vec<SeriesV> = order.iter().filter_map(|i| slots[*i].take()).collect();
            return select_k(
                ev,
                a,
                sorted,
                &sorted_groups,
                groups.len(),
                param.unwrap_or_default(),
                &steps,
                agg_pos,
            );
        }
        AggregateOp::Limitk | AggregateOp::LimitRatio => {
            return select_k(
                ev,
                a,
                input,
                &group_of,
                groups.len(),
                param.unwrap_or_default(),
                &steps,
                agg_pos,
            );
        }
        AggregateOp::CountValues => {
            return count_values(
                ev,
                a,
                input,
                &group_of,
                &groups,
                label_param.unwrap_or_default(),
                &steps,
            );
        }
        _ => {}
    }

    let ngroups = groups.len();
    let mut out: Vec<Vec<(i64, f64)>> = vec![Vec::new(); ngroups];
    let mut hout: Vec<Vec<(i64, FloatHistogram)>> = vec![Vec::new(); ngroups];
    let mut cursors = StepCursor::new(input.len());
    let mut hcursors = HistCursor::new(input.len());
    let has_hists = input.iter().any(|s| !s.hists.is_empty());
    let mut haccs: Vec<HistAcc> = if has_hists {
        vec![HistAcc::default(); ngroups]
    } else {
        Vec::new()
    };
    let mut htouched: Vec<usize> = Vec::new();
    let expr_pos = a.expr.pos;
    let op_name = format!("{:?}", a.op).to_lowercase();
    let mut accs: Vec<Acc> = vec![Acc::default(); ngroups];
    let mut values: Vec<Vec<f64>> = if a.op == AggregateOp::Quantile {
        vec![Vec::new(); ngroups]
    } else {
        Vec::new()
    };
    let mut touched: Vec<usize> = Vec::new();
    for (si, &ts) in steps.iter().enumerate() {
        // Each step looks at every input series.
        ev.ctx.tick(1 + input.len())?;
        touched.clear();
        for (i, v) in cursors.at(&input, ts) {
            let g = group_of[i];
            let acc = &mut accs[g];
            if !acc.seen {
                *acc = Acc {
                    seen: true,
                    ..Acc::default()
                };
                touched.push(g);
                if a.op == AggregateOp::Quantile {
                    values[g].clear();
                }
                match a.op {
                    AggregateOp::Sum | AggregateOp::Min | AggregateOp::Max => acc.value = v,
                    AggregateOp::Avg => {
                        acc.value = v;
                        acc.count = 1.0;
                    }
                    AggregateOp::Count | AggregateOp::Group => acc.count = 1.0,
                    AggregateOp::Stddev | AggregateOp::Stdvar => {
                        // Welford from zero, so a lone NaN or Inf gives NaN.
                        acc.count = 1.0;
                        acc.mean = v;
                        acc.value = if v.is_finite() { 0.0 } else { f64::NAN };
                    }
                    AggregateOp::Quantile => values[g].push(v),
                    _ => {}
                }
                continue;
            }
            match a.op {
                AggregateOp::Sum => {
                    let (s2, c2) = kahan_inc(v, acc.value, acc.comp);
                    acc.value = s2;
                    acc.comp = c2;
                }
                AggregateOp::Avg => {
                    acc.count += 1.0;
                    if !acc.incremental {
                        let (s2, c2) = kahan_inc(v, acc.value, acc.comp);
                        if !s2.is_infinite() {
                            acc.value = s2;
                            acc.comp = c2;
                            continue;
                        }
                        // The sum would overflow: continue with an incremental mean.
                        acc.incremental = true;
                        acc.mean = acc.value / (acc.count - 1.0);
                        acc.comp /= acc.count - 1.0;
                    }
                    if acc.mean.is_infinite() {
                        if v.is_infinite() && (acc.mean > 0.0) == (v > 0.0) {
                            continue;
                        }
                        if !v.is_infinite() && !v.is_nan() {
                            continue;
                        }
                    }
                    let q = (acc.count - 1.0) / acc.count;
                    let (m2, c2) = kahan_inc(v / acc.count, q * acc.mean, q * acc.comp);
                    acc.mean = m2;
                    acc.comp = c2;
                }
                AggregateOp::Count | AggregateOp::Group => acc.count += 1.0,
                AggregateOp::Min if acc.value > v || acc.value.is_nan() => acc.value = v,
                AggregateOp::Max if acc.value < v || acc.value.is_nan() => acc.value = v,
                AggregateOp::Stddev | AggregateOp::Stdvar => {
                    acc.count += 1.0;
                    let delta = v - (acc.mean + acc.comp);
                    let (m2, c2) = kahan_inc(delta / acc.count, acc.mean, acc.comp);
                    acc.mean = m2;
                    acc.comp = c2;
                    acc.value += delta * (v - (acc.mean + acc.comp));
                }
                AggregateOp::Quantile => values[a_group(g)].push(v),
                _ => {}
            }
        }
        if has_hists {
            htouched.clear();
            for (i, h) in hcursors.at(&input, ts) {
                let g = group_of[i];
                match a.op {
                    AggregateOp::Sum | AggregateOp::Avg => {
                        let hacc = &mut haccs[g];
                        if !hacc.seen {
                            *hacc = HistAcc {
                                seen: true,
                                ..HistAcc::default()
                            };
                            htouched.push(g);
                        }
                        if hacc.incompatible {
                            continue;
                        }
                        match hacc.add(h, a.op == AggregateOp::Avg) {
                            Ok(true) => ev.ctx.annotate(
                                AnnotationKind::Info,
                                "mismatched custom buckets were reconciled during aggregation"
                                    .into(),
                                expr_pos,
                            ),
                            Ok(false) => {}
                            Err(_) => {
                                hacc.incompatible = true;
                                let metric = input[i].labels.metric_name().unwrap_or("");
                                ev.ctx.annotate(
                                    AnnotationKind::Warning,
                                    format!("vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"),
                                    expr_pos,
                                );
                            }
                        }
                    }
                    AggregateOp::Count | AggregateOp::Group => {
                        let acc = &mut accs[g];
                        if !acc.seen {
                            *acc = Acc {
                                seen: true,
                                ..Acc::default()
                            };
                            touched.push(g);
                        }
                        acc.count += 1.0;
                    }
                    AggregateOp::Min
                    | AggregateOp::Max
                    | AggregateOp::Stddev
                    | AggregateOp::Stdvar
                    | AggregateOp::Quantile => ev.ctx.annotate(
                        AnnotationKind::Info,
                        format!("ignored histogram in {op_name} aggregation"),
                        expr_pos,
                    ),
                    _ => {}
                }
            }
            for &g in &htouched {
                let hacc = &mut haccs[g];
                hacc.seen = false;
                let float_too = accs[g].seen;
                if float_too {
                    // Floats and histograms in one group: neither is the result.
                    ev.ctx.annotate(
                        AnnotationKind::Warning,
                        "encountered a mix of histograms and floats for aggregation".into(),
                        expr_pos,
                    );
                    accs[g].seen = false;
                    continue;
                }
                if hacc.reset_seen && hacc.not_reset_seen {
                    ev.ctx.annotate(
                        AnnotationKind::Warning,
                        "conflicting counter resets during histogram aggregation".into(),
                        expr_pos,
                    );
                }
                if hacc.incompatible {
                    continue;
                }
                if let Some(acc) = hacc.sum.take() {
                    hout[g].push((ts, acc.result(a.op == AggregateOp::Avg)));
                }
            }
        }
        for &g in &touched {
            if !accs[g].seen {
                continue;
            }
            let acc = &mut accs[g];
            let v = match a.op {
                AggregateOp::Sum => acc.value + acc.comp,
                AggregateOp::Avg => {
                    if acc.incremental {
                        acc.mean + acc.comp
                    } else {
                        acc.value / acc.count + acc.comp / acc.count
                    }
                }
                AggregateOp::Count => acc.count,
                AggregateOp::Group => 1.0,
                AggregateOp::Min | AggregateOp::Max => acc.value,
                AggregateOp::Stdvar => acc.value / acc.count,
                AggregateOp::Stddev => (acc.value / acc.count).sqrt(),
                AggregateOp::Quantile => {
                    let q = param.as_ref().map(|p| p[si]).unwrap_or(f64::NAN);
                    quantile_of(q, &mut values[g])
                }
                _ => f64::NAN,
            };
            acc.seen = false;
            out[g].push((ts, v));
        }
    }
    let series = groups
        .into_iter()
        .zip(out)
        .zip(hout)
        .filter(|((_, pts), hists)| !pts.is_empty() || !hists.is_empty())
        .map(|(((labels, drop_name), points), hists)| SeriesV {
            labels,
            drop_name,
            points,
            hists,
        })
        .collect();
    Ok(Val::Vector(series))
}

#[inline]
fn a_group(g: usize) -> usize {
    g
}

/// A stable 64-bit hash of a label set, for `limit_ratio`'s sampling.
fn labels_hash(labels: &Labels) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for l in labels.iter() {
        l.name.hash(&mut h);
        l.value.hash(&mut h);
    }
    h.finish()
}

/// `topk`, `bottomk` (histograms ignored, with an info), `limitk`, `limit_ratio` (which
/// keep histograms as they keep floats).
#[allow(clippy::too_many_arguments)]
fn select_k(
    ev: &Ev,
    a: &AggregateExpr,
    input: Vec<SeriesV>,
    group_of: &[usize],
    ngroups: usize,
    param: Vec<f64>,
    steps: &[i64],
    agg_pos: PosRange,
) -> EvResult<Val> {
    let mut out_points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); input.len()];
    let mut out_hists: Vec<Vec<(i64, FloatHistogram)>> = vec![Vec::new(); input.len()];
    let mut cursors = StepCursor::new(input.len());
    let mut hpos = vec![0usize; input.len()];
    let has_hists = input.iter().any(|s| !s.hists.is_empty());
    let ranks = matches!(a.op, AggregateOp::Topk | AggregateOp::Bottomk);
    // (series, value, index of its histogram at this step when the sample is one).
    let mut members: Vec<Vec<(usize, f64, Option<usize>)>> = vec![Vec::new(); ngroups];
    // For instant queries the output order matters: groups in order of appearance, then
    // rank within the group.
    let mut order: Vec<usize> = Vec::new();
    let ratio_offsets: Vec<f64> = if a.op == AggregateOp::LimitRatio {
        input
            .iter()
            .map(|s| labels_hash(&s.labels) as f64 / u64::MAX as f64)
            .collect()
    } else {
        Vec::new()
    };
    for (si, &ts) in steps.iter().enumerate() {
        // Each step looks at every input series.
        ev.ctx.tick(1 + input.len())?;
        for m in members.iter_mut() {
            m.clear();
        }
        for (i, v) in cursors.at(&input, ts) {
            members[group_of[i]].push((i, v, None));
        }
        if has_hists {
            for (i, s) in input.iter().enumerate() {
                let p = &mut hpos[i];
                while *p < s.hists.len() && s.hists[*p].0 < ts {
                    *p += 1;
                }
                if s.hists.get(*p).is_some_and(|h| h.0 == ts) {
                    if ranks {
                        ev.ctx.annotate(
                            AnnotationKind::Info,
                            format!(
                                "ignored histogram in {} aggregation",
                                format!("{:?}", a.op).to_lowercase()
                            ),
                            agg_pos,
                        );
                    } else {
                        members[group_of[i]].push((i, 0.0, Some(*p)));
                    }
                }
            }
            if !ranks {
                // Series order, floats and histograms alike.
                for m in members.iter_mut() {
                    m.sort_by_key(|x| x.0);
                }
            }
        }
        let p = param.get(si).copied().unwrap_or(f64::NAN);
        match a.op {
            AggregateOp::LimitRatio => {
                let ratio = p.clamp(-1.0, 1.0);
                for m in &members {
                    for &(i, v, h) in m {
                        let off = ratio_offsets[i];
                        let keep = if ratio >= 0.0 {
                            off < ratio
                        } else {
                            off >= 1.0 + ratio
                        };
                        if keep {
                            match h {
                                Some(hi) => out_hists[i].push((ts, input[i].hists[hi].1.clone())),
                                None => out_points[i].push((ts, v)),
                            }
                            if si == 0 {
                                order.push(i);
                            }
                        }
                    }
                }
            }
            _ => {
                if p.is_nan() {
                    return Err(EvalError::Execution("Parameter value is NaN".into()));
                }
                let k = if p >= 9.2e18 {
                    usize::MAX
                } else if p < 1.0 {
                    0
                } else {
                    p as usize
                };
                if k == 0 {
                    continue;
                }
                for m in members.iter_mut() {
                    if m.is_empty() {
                        continue;
                    }
                    match a.op {
                        AggregateOp::Topk => m.sort_by(|x, y| nan_last(x.1, y.1, true)),
                        AggregateOp::Bottomk => m.sort_by(|x, y| nan_last(x.1, y.1, false)),
                        _ => {}
                    }
                    for &(i, v, h) in m.iter().take(k) {
                        match h {
                            Some(hi) => out_hists[i].push((ts, input[i].hists[hi].1.clone())),
                            None => out_points[i].push((ts, v)),
                        }
                        if si == 0 {
                            order.push(i);
                        }
                    }
                }
            }
        }
    }
    let _ = ev;
    let mut input: Vec<Option<SeriesV>> = input.into_iter().map(Some).collect();
    let mut out = Vec::new();
    if steps.len() == 1 {
        for i in order {
            if let Some(mut s) = input[i].take() {
                s.points = std::mem::take(&mut out_points[i]);
                s.hists = std::mem::take(&mut out_hists[i]);
                out.push(s);
            }
        }
    } else {
        for (i, slot) in input.iter_mut().enumerate() {
            if out_points[i].is_empty() && out_hists[i].is_empty() {
                continue;
            }
            if let Some(mut s) = slot.take() {
                s.points = std::mem::take(&mut out_points[i]);
                s.hists = std::mem::take(&mut out_hists[i]);
                out.push(s);
            }
        }
    }
    Ok(Val::Vector(out))
}

fn count_values(
    ev: &Ev,
    a: &AggregateExpr,
    input: Vec<SeriesV>,
    group_of: &[usize],
    groups: &[(Labels, bool)],
    label: String,
    steps: &[i64],
) -> EvResult<Val> {
    if !valid_label_name(&label) {
        return Err(EvalError::Execution(format!(
            "invalid label name {}",
            crate::printer::go_quote(&label)
        )));
    }
    let _ = a;
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<SeriesV> = Vec::new();
    let mut cursors = StepCursor::new(input.len());
    let mut hcursors = HistCursor::new(input.len());
    for &ts in steps {
        ev.ctx.tick(1 + input.len())?;
        let mut counts: Vec<(usize, f64)> = Vec::new();
        // A histogram's value is its text form, as upstream's `String`.
        let mut here: Vec<(usize, String)> = cursors
            .at(&input, ts)
            .map(|(i, v)| (i, format_float_f(v)))
            .collect();
        here.extend(hcursors.at(&input, ts).map(|(i, h)| (i, h.to_string())));
        here.sort_by_key(|x| x.0);
        for (i, text) in here {
            let mut b = groups[group_of[i]].0.to_builder();
            b.set(label.clone(), text);
            let labels = b.build();
            let idx = *index.entry(labels.clone()).or_insert_with(|| {
                out.push(SeriesV {
                    labels,
                    drop_name: false,
                    points: Vec::new(),
                    hists: Vec::new(),
                });
                out.len() - 1
            });
            match counts.iter_mut().find(|(o, _)| *o == idx) {
                Some(c) => c.1 += 1.0,
                None => counts.push((idx, 1.0)),
            }
        }
        for (idx, c) in counts {
            out[idx].points.push((ts, c));
        }
    }
    Ok(Val::Vector(out))
}

/// Whether a label name is valid: any non-empty UTF-8 text in 3.x (strings holding bytes
/// of invalid UTF-8 are not).
pub(crate) fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| (0xF780..=0xF7FF).contains(&(c as u32)))
}
