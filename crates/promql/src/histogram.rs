//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction`: over classic
//! histograms (bucket series with an `le` label) and native histogram samples alike
//! (`native_histogram` computes the latter).

use std::collections::HashMap;

use model::Labels;

use crate::ast::{Call, ExprKind, PosRange};
use crate::eval::{Ev, EvResult, SeriesV, StepCursor, Val};
use crate::native_histogram::NanNote;
use crate::value::AnnotationKind;
use crate::EvalError;
use model::float::format_go_g as format_go_float;

#[derive(Clone, Copy)]
struct Bucket {
    upper: f64,
    count: f64,
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Sorts, merges equal bounds, and forces the counts to be monotonic; returns whether a
/// real (not rounding-sized) decrease was fixed.
fn prepare(buckets: &mut Vec<Bucket>) -> bool {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    *buckets = merged;
    let mut forced = false;
    if buckets.is_empty() {
        return false;
    }
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Prometheus's `BucketQuantile`.
fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !buckets.last().is_some_and(|b| b.upper == f64::INFINITY) {
        return (f64::NAN, false);
    }
    let forced = prepare(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let n = buckets.len();
    let b = buckets[..n - 1].partition_point(|bk| bk.count < rank);
    if b == n - 1 {
        return (buckets[n - 2].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Prometheus's `BucketFraction`.
fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !buckets.last().is_some_and(|b| b.upper == f64::INFINITY) {
        return f64::NAN;
    }
    prepare(buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in buckets.iter().enumerate() {
        let lower_bound = if i > 0 {
            buckets[i - 1].upper
        } else if b.upper > 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let upper_bound = b.upper;
        let interp =
            |v: f64| rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound);
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = if lower_bound.is_infinite() || upper_bound.is_infinite() {
                if upper_bound.is_infinite() {
                    rank
                } else {
                    b.count
                }
            } else {
                interp(lower)
            };
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = if lower_bound.is_infinite() || upper_bound.is_infinite() {
                if upper_bound.is_infinite() {
                    rank
                } else {
                    b.count
                }
            } else {
                interp(upper)
            };
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

pub(crate) fn classic(ev: &Ev, c: &Call, _pos: PosRange) -> EvResult<Val> {
    let name = c.func.name;
    let steps: Vec<i64> = ev.steps().collect();
    let (vec_idx, vec_pos) = match name {
        "histogram_quantile" => (1, c.args[1].pos),
        "histogram_fraction" => (2, c.args[2].pos),
        _ => (0, c.args[0].pos),
    };
    let mut scalars: Vec<Vec<f64>> = Vec::new();
    let mut quantile_label = String::new();
    match name {
        "histogram_quantile" => scalars.push(ev.eval_scalar(&c.args[0])?),
        "histogram_fraction" => {
            scalars.push(ev.eval_scalar(&c.args[0])?);
            scalars.push(ev.eval_scalar(&c.args[1])?);
        }
        _ => {
            quantile_label = match ev.eval(&c.args[1])? {
                Val::String(s) => s,
                _ => return Err(EvalError::Execution("expected string".into())),
            };
            for a in &c.args[2..] {
                scalars.push(ev.eval_scalar(a)?);
            }
        }
    }
    // Quantile parameter warnings, per step.
    if name != "histogram_fraction" {
        for (qi, qs) in scalars.iter().enumerate() {
            for q in qs {
                if q.is_nan() || *q < 0.0 || *q > 1.0 {
                    let qpos = if name == "histogram_quantile" {
                        c.args[0].pos
                    } else {
                        c.args[2 + qi].pos
                    };
                    ev.ctx.annotate(
                        AnnotationKind::Warning,
                        format!(
                            "quantile value should be between 0 and 1, got {}",
                            format_go_float(*q)
                        ),
                        qpos,
                    );
                }
            }
        }
    }
    let _ = matches!(c.args[vec_idx].kind, ExprKind::Vector(_));
    // The buckets are needed: no stats decoding below.
    let input = ev.with_stats_decoding(false, || ev.eval_vector(&c.args[vec_idx]))?;
    // Group the bucket series by their labels without `le`.
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut members: Vec<(Labels, Vec<(usize, f64)>)> = Vec::new();
    let mut series_bound: Vec<Option<(usize, f64)>> = Vec::with_capacity(input.len());
    for s in &input {
        // Only float samples are buckets (histogram samples are taken on their own).
        if s.points.is_empty() {
            series_bound.push(None);
            continue;
        }
        let le = s.labels.get("le").unwrap_or("");
        let bound = parse_go_float(le);
        let Some(bound) = bound else {
            let metric = s
                .labels
                .metric_name()
                .map(|n| format!(" for metric name {n:?}"))
                .unwrap_or_default();
            ev.ctx.annotate(
                AnnotationKind::Warning,
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {le:?}{metric}"
                ),
                vec_pos,
            );
            series_bound.push(None);
            continue;
        };
        let mut b = s.labels.to_builder();
        b.delete("le");
        let key = b.build();
        let n = members.len();
        let g = *groups.entry(key.clone()).or_insert_with(|| {
            members.push((key, Vec::new()));
            n
        });
        series_bound.push(Some((g, bound)));
    }
    let ngroups = members.len();
    let nq = if name == "histogram_quantiles" {
        scalars.len()
    } else {
        1
    };
    let mut out_points: Vec<Vec<Vec<(i64, f64)>>> = vec![vec![Vec::new(); nq]; ngroups];
    let mut cursors = StepCursor::new(input.len());
    let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); ngroups];
    // Native histograms: per input series and quantile, the points computed.
    let mut native_points: Vec<Vec<Vec<(i64, f64)>>> = vec![Vec::new(); input.len()];
    let mut native_next = vec![0usize; input.len()];
    let has_native = input.iter().any(|s| !s.hists.is_empty());
    let metric_of = |labels: &Labels| {
        if ev.ctx.delayed_name_removal {
            labels
                .metric_name()
                .map(|n| format!(" for metric name {n:?}"))
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    for (si, &ts) in steps.iter().enumerate() {
        ev.ctx.tick(1 + input.len())?;
        for b in buckets.iter_mut() {
            b.clear();
        }
        for (i, v) in cursors.at(&input, ts) {
            if let Some((g, upper)) = series_bound[i] {
                buckets[g].push(Bucket { upper, count: v });
            }
        }
        if has_native {
            for (i, s) in input.iter().enumerate() {
                let next = &mut native_next[i];
                while *next < s.hists.len() && s.hists[*next].0 < ts {
                    *next += 1;
                }
                let Some((_, h)) = s.hists.get(*next).filter(|(t, _)| *t == ts) else {
                    continue;
                };
                // Classic buckets and a native histogram of the same series at one
                // step: neither is evaluated.
                if let Some(&g) = groups.get(&s.labels) {
                    if !buckets[g].is_empty() {
                        ev.ctx.annotate(
                            AnnotationKind::Warning,
                            format!(
                                "vector contains a mix of classic and native histograms{}",
                                metric_of(&s.labels)
                            ),
                            vec_pos,
                        );
                        buckets[g].clear();
                        continue;
                    }
                }
                if native_points[i].is_empty() {
                    native_points[i] = vec![Vec::new(); nq];
                }
                for qi in 0..nq {
                    let (value, note) = if name == "histogram_fraction" {
                        crate::native_histogram::fraction(scalars[0][si], scalars[1][si], h)
                    } else {
                        crate::native_histogram::quantile(scalars[qi][si], h)
                    };
                    let text = match note {
                        NanNote::None => None,
                        NanNote::NanResult => Some("input to histogram_quantile has NaN observations, result is NaN"),
                        NanNote::Skewed => Some("input to histogram_quantile has NaN observations, result is skewed higher"),
                        NanNote::Excluded => Some("input to histogram_fraction has NaN observations, which are excluded from all fractions"),
                    };
                    if let Some(text) = text {
                        ev.ctx.annotate(
                            AnnotationKind::Info,
                            format!("{text}{}", metric_of(&s.labels)),
                            vec_pos,
                        );
                    }
                    native_points[i][qi].push((ts, value));
                }
            }
        }
        for g in 0..ngroups {
            if buckets[g].is_empty() {
                continue;
            }
            for qi in 0..nq {
                let mut bs = buckets[g].clone();
                let value = if name == "histogram_fraction" {
                    bucket_fraction(scalars[0][si], scalars[1][si], &mut bs)
                } else {
                    let q = scalars[qi][si];
                    let (v, forced) = bucket_quantile(q, &mut bs);
                    if forced {
                        let metric = members[g]
                            .0
                            .metric_name()
                            .map(|n| format!(" for metric name {n:?}"))
                            .unwrap_or_default();
                        ev.ctx.annotate(
                            AnnotationKind::Info,
                            format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile){metric}"),
                            vec_pos,
                        );
                    }
                    v
                };
                out_points[g][qi].push((ts, value));
            }
        }
    }
    let mut out = Vec::new();
    let with_quantile = |labels: &Labels, qi: usize| {
        if name != "histogram_quantiles" {
            return labels.clone();
        }
        let q = scalars[qi].first().copied().unwrap_or(f64::NAN);
        let mut b = labels.to_builder();
        let mut text = model::float::format_go_f(q);
        if q.is_finite() && !text.contains('.') {
            text.push_str(".0");
        }
        b.set(quantile_label.clone(), text);
        b.build()
    };
    for (i, per_q) in native_points.into_iter().enumerate() {
        for (qi, points) in per_q.into_iter().enumerate() {
            if points.is_empty() {
                continue;
            }
            out.push(SeriesV {
                labels: with_quantile(&input[i].labels, qi),
                drop_name: true,
                points,
                hists: Vec::new(),
            });
        }
    }
    for ((labels, _), per_q) in members.into_iter().zip(out_points) {
        for (qi, points) in per_q.into_iter().enumerate() {
            if points.is_empty() {
                continue;
            }
            let labels = with_quantile(&labels, qi);
            out.push(SeriesV {
                labels,
                drop_name: true,
                points,
                hists: Vec::new(),
            });
        }
    }
    Ok(Val::Vector(out))
}

/// Go's `strconv.ParseFloat` for bucket bounds (`+Inf`, `Inf`, `NaN`, decimals, hex).
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}
