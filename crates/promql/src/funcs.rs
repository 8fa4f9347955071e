//! PromQL functions: range functions over windows of samples, element-wise functions,
//! and the ones that build new series (`vector`, `absent`, `histogram_quantile`, ...).

use std::cmp::Ordering;
use std::collections::HashMap;

use model::time::{civil_from_days, days_from_civil};
use model::{Labels, MatchOp, Matcher};

use crate::ast::*;
use crate::eval::{absent_labels, Ev, EvResult, RangeSource, SelectorValue, SeriesV, Val};
use crate::value::AnnotationKind;
use crate::EvalError;

fn exec(msg: impl Into<String>) -> EvalError {
    EvalError::Execution(msg.into())
}

/// Neumaier-compensated summation step (Prometheus's `kahanSumInc`).
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

pub use model::float::format_go_f as format_float_f;
pub(crate) use model::float::format_go_g as format_go_float;

/// Prometheus's `quantile`: linear interpolation between the closest ranks; NaN sorts
/// first.
pub(crate) fn quantile_of(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// The mean with Kahan summation, falling back to an incremental mean on overflow.
fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut iter = values;
    let first = iter.next()?;
    let (mut sum, mut count, mut m, mut c, mut incremental) = (first, 1.0, 0.0, 0.0, false);
    for v in iter {
        count += 1.0;
        if !incremental {
            let (s2, c2) = kahan_inc(v, sum, c);
            if !s2.is_infinite() {
                sum = s2;
                c = c2;
                continue;
            }
            incremental = true;
            m = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        let (m2, c2) = kahan_inc(v / count, q * m, q * c);
        m = m2;
        c = c2;
    }
    Some(if incremental {
        m + c
    } else {
        sum / count + c / count
    })
}

fn variance(samples: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, v) in samples {
        count += 1.0;
        let delta = v - (mean + c_mean);
        let (m2, cm2) = kahan_inc(delta / count, mean, c_mean);
        mean = m2;
        c_mean = cm2;
        let (a2, ca2) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
        aux = a2;
        c_aux = ca2;
    }
    (aux + c_aux) / count
}

fn linear_regression(samples: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = samples[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in samples.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// Whether a sample's start timestamp says its counter restarted since the previous
/// sample (Prometheus's `isStartTimestampReset`).
fn is_start_reset(prev_st: i64, prev_t: i64, st: i64, t: i64) -> bool {
    // Unset, invalid (after T), or OTel's "unknown start" (equal to T).
    if st == 0 || st >= t || st < prev_t {
        return false;
    }
    if st > prev_t {
        return true;
    }
    // The start is the previous sample: a delta point, unless the previous start was
    // unknown (a cumulative series with unknown start) or invalid.
    prev_st <= prev_t && prev_st != 0 && prev_st != prev_t
}

/// Whether a sample's start lies before the previous sample without being the same
/// start (its interval overlaps the previous one's).
fn start_overlaps(prev_st: i64, prev_t: i64, st: i64) -> bool {
    st != 0 && st < prev_t && st != prev_st
}

/// Whether samples `i-1` and `i` of a window are a counter reset: a drop in value, or a
/// start timestamp saying so (`sts` empty: none known).
fn is_reset(w: &[(i64, f64)], sts: &[i64], i: usize) -> bool {
    w[i].1 < w[i - 1].1
        || (!sts.is_empty() && is_start_reset(sts[i - 1], w[i - 1].0, sts[i], w[i].0))
}

/// `rate`, `increase` and `delta` with Prometheus's extrapolation to the window edges.
/// For counters, `sts` (empty or one per sample) are the samples' start timestamps: they
/// mark resets, and a first sample that started inside the window is counted from zero at
/// its start instead of extrapolating (so a single sample can give a result).
fn extrapolated_rate(
    w: &[(i64, f64)],
    sts: &[i64],
    rs: i64,
    re: i64,
    range: i64,
    counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let n = w.len();
    if n == 0 {
        return None;
    }
    let sts = if counter { sts } else { &[] };
    let (first_t, first_v) = w[0];
    let (last_t, last_v) = w[n - 1];
    let mut result = last_v - first_v;
    if counter {
        for i in 1..n {
            if is_reset(w, sts, i) {
                result += w[i - 1].1;
            }
        }
    }
    let mut to_start = (first_t - rs) as f64 / 1000.0;
    let mut to_end = (re - last_t) as f64 / 1000.0;
    let mut sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = if n > 1 { sampled / (n - 1) as f64 } else { 0.0 };
    let threshold = avg * 1.1;
    match sts.first() {
        // The range start is exclusive: a start on it is outside.
        Some(&st0) if st0 != 0 && st0 > rs && st0 < first_t => {
            to_start = 0.0;
            sampled = (last_t - st0) as f64 / 1000.0;
            result += first_v;
        }
        _ if n == 1 => return None,
        _ => {
            if to_start >= threshold {
                to_start = avg / 2.0;
            }
            if counter && result > 0.0 && first_v >= 0.0 {
                let to_zero = sampled * (first_v / result);
                if to_zero < to_start {
                    to_start = to_zero;
                }
            }
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if is_rate {
        factor /= range as f64 / 1000.0;
    }
    Some(result * factor)
}

fn interpolate(p1: (i64, f64), p2: (i64, f64), t: i64, counter: bool) -> f64 {
    let (mut y1, y2) = (p1.1, p2.1);
    if counter && y2 < y1 {
        y1 = 0.0;
    }
    y1 + (y2 - y1) * (t - p1.0) as f64 / (p2.0 - p1.0) as f64
}

/// Indices of the left and right boundary samples for `anchored`/`smoothed` windows over
/// `f` (samples in `(rs - lookback, re (+ lookback)]`).
fn extended_bounds(f: &[(i64, f64)], rs: i64, re: i64, smoothed: bool) -> Option<(usize, usize)> {
    let n = f.len();
    if n == 0 {
        return None;
    }
    let k = (0..n - 1).find(|&i| f[i].0 > rs).unwrap_or(n - 1);
    let first = k.saturating_sub(1);
    let first = if k == 0 { 0 } else { first };
    let mut last = n - 1;
    if smoothed {
        last = (0..n - 1).find(|&i| f[i].0 >= re).unwrap_or(n - 1);
    }
    if f[last].0 <= rs {
        return None;
    }
    if smoothed && f[first].0 > re {
        return None;
    }
    Some((first, last))
}

fn extended_rate(
    f: &[(i64, f64)],
    rs: i64,
    re: i64,
    range: i64,
    mode: RangeMode,
    counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let smoothed = mode == RangeMode::Smoothed;
    let (first, last) = extended_bounds(f, rs, re, smoothed)?;
    let left = if smoothed && f[first].0 < rs && first + 1 < f.len() {
        interpolate(f[first], f[first + 1], rs, counter)
    } else {
        f[first].1
    };
    let right = if smoothed && last > 0 && f[last].0 > re {
        interpolate(f[last - 1], f[last], re, counter)
    } else {
        f[last].1
    };
    let mut res = right - left;
    if counter {
        let i0 = first + usize::from(f[first].0 <= rs);
        let i1 = last as i64 - i64::from(f[last].0 >= re);
        let mut prev = left;
        let mut corr = 0.0;
        if i1 >= i0 as i64 {
            for &(_, v) in &f[i0..=(i1 as usize)] {
                if v < prev {
                    corr += prev;
                }
                prev = v;
            }
        }
        if right < prev {
            corr += prev;
        }
        res += corr;
    }
    if is_rate {
        res /= range as f64 / 1000.0;
    }
    Some(res)
}

/// The points of a top-level `anchored`/`smoothed` range selector: synthetic values at
/// both window edges around the samples inside.
pub(crate) fn extended_points(
    all: &[(i64, f64)],
    rs: i64,
    re: i64,
    mode: RangeMode,
) -> Vec<(i64, f64)> {
    let lb_lo = all.partition_point(|p| p.0 <= rs - 300_000 * 1000);
    let f = &all[lb_lo..];
    let smoothed = mode == RangeMode::Smoothed;
    let Some((mut first, mut last)) = extended_bounds(f, rs, re, smoothed) else {
        return Vec::new();
    };
    let left = if smoothed && f[first].0 < rs && first + 1 < f.len() {
        interpolate(f[first], f[first + 1], rs, false)
    } else {
        f[first].1
    };
    let right = if smoothed && last > 0 && f[last].0 > re {
        interpolate(f[last - 1], f[last], re, false)
    } else {
        f[last].1
    };
    if f[first].0 <= rs {
        first += 1;
    }
    if f[last].0 >= re {
        if last == 0 {
            return vec![(rs, left), (re, right)];
        }
        last -= 1;
    }
    let mut out = vec![(rs, left)];
    if first <= last {
        out.extend_from_slice(&f[first..=last]);
    }
    out.push((re, right));
    out
}

/// The value of a `smoothed` instant selector at `t`.
pub(crate) fn smoothed_value(samples: &[(i64, f64)], t: i64, lookback: i64) -> Option<f64> {
    let lo = samples.partition_point(|p| p.0 <= t - lookback);
    let hi = samples.partition_point(|p| p.0 <= t + lookback);
    let w = &samples[lo..hi];
    let i = w.partition_point(|p| p.0 < t);
    if i < w.len() && w[i].0 == t {
        return Some(w[i].1);
    }
    match (i.checked_sub(1).map(|j| w[j]), w.get(i)) {
        (Some(prev), Some(next)) => Some(interpolate(prev, *next, t, false)),
        (Some(prev), None) => Some(prev.1),
        _ => None,
    }
}

fn changes_count(w: &[(i64, f64)]) -> f64 {
    let mut n = 0.0;
    for pair in w.windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        if a != b && !(a.is_nan() && b.is_nan()) {
            n += 1.0;
        }
    }
    n
}

fn resets_count(w: &[(i64, f64)], sts: &[i64]) -> f64 {
    (1..w.len()).filter(|i| is_reset(w, sts, *i)).count() as f64
}

fn double_exponential_smoothing(w: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, w[0].1);
    let mut b = w[1].1 - w[0].1;
    for (i, &(_, v)) in w.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

const ANCHORED_OK: &[&str] = &["changes", "delta", "increase", "rate", "resets"];
const SMOOTHED_OK: &[&str] = &["delta", "increase", "rate"];

/// Evaluates a function call.
pub(crate) fn call(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
    let name = c.func.name;
    if c.args.iter().any(|a| a.value_type() == ValueType::Matrix) {
        return range_function(ev, c, pos);
    }
    let steps: Vec<i64> = ev.steps().collect();
    match name {
        "time" => Ok(Val::Scalar(
            steps.iter().map(|t| *t as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; steps.len()])),
        "vector" => {
            let s = ev.eval_scalar(&c.args[0])?;
            Ok(Val::Vector(vec![SeriesV {
                labels: Labels::default(),
                drop_name: false,
                points: steps.iter().copied().zip(s).collect(),
            }]))
        }
        "scalar" => {
            let v = ev.eval_vector(&c.args[0])?;
            let mut out = vec![f64::NAN; steps.len()];
            let mut count = vec![0u32; steps.len()];
            for s in &v {
                for &(t, val) in &s.points {
                    let i = ((t - ev.start) / ev.interval.max(1)) as usize;
                    count[i] += 1;
                    out[i] = val;
                }
            }
            for (o, n) in out.iter_mut().zip(count) {
                if n != 1 {
                    *o = f64::NAN;
                }
            }
            Ok(Val::Scalar(out))
        }
        "min_of" | "max_of" => {
            let a = ev.eval_scalar(&c.args[0])?;
            let b = ev.eval_scalar(&c.args[1])?;
            Ok(Val::Scalar(
                a.iter()
                    .zip(b.iter())
                    .map(|(x, y)| {
                        if name == "min_of" {
                            go_min(*x, *y)
                        } else {
                            go_max(*x, *y)
                        }
                    })
                    .collect(),
            ))
        }
        "absent" => {
            let v = ev.eval_vector(&c.args[0])?;
            let mut present = vec![false; steps.len()];
            for s in &v {
                for &(t, _) in &s.points {
                    present[((t - ev.start) / ev.interval.max(1)) as usize] = true;
                }
            }
            let labels = match &c.args[0].unwrap_parens().kind {
                ExprKind::Vector(vs) => absent_labels(&vs.matchers),
                _ => Labels::default(),
            };
            let points: Vec<(i64, f64)> = steps
                .iter()
                .zip(present)
                .filter(|(_, p)| !p)
                .map(|(t, _)| (*t, 1.0))
                .collect();
            Ok(Val::Vector(if points.is_empty() {
                Vec::new()
            } else {
                vec![SeriesV {
                    labels,
                    drop_name: false,
                    points,
                }]
            }))
        }
        "timestamp" => {
            let series = match &c.args[0].unwrap_parens().kind {
                ExprKind::Vector(vs) => ev.eval_vector_selector(vs, SelectorValue::Timestamp)?,
                _ => {
                    let mut v = ev.eval_vector(&c.args[0])?;
                    for s in &mut v {
                        s.points.iter_mut().for_each(|p| p.1 = p.0 as f64 / 1000.0);
                    }
                    v
                }
            };
            Ok(Val::Vector(
                series
                    .into_iter()
                    .map(|mut s| {
                        s.drop_name = true;
                        s
                    })
                    .collect(),
            ))
        }
        // Only a selector's samples have start timestamps (and only when they are used):
        // any other argument gives nothing.
        "start_timestamp" => Ok(Val::Vector(match &c.args[0].unwrap_parens().kind {
            ExprKind::Vector(vs) if ev.ctx.use_start_timestamps => ev
                .eval_vector_selector(vs, SelectorValue::StartTimestamp)?
                .into_iter()
                .map(|mut s| {
                    s.drop_name = true;
                    s
                })
                .collect(),
            _ => Vec::new(),
        })),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => sort(ev, c, pos),
        "label_replace" => label_replace(ev, c),
        "label_join" => label_join(ev, c),
        "histogram_quantile" | "histogram_fraction" | "histogram_quantiles" => {
            crate::histogram::classic(ev, c, pos)
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            // Float samples are not histograms: nothing to report.
            let _ = ev.eval_vector(&c.args[0])?;
            Ok(Val::Vector(Vec::new()))
        }
        "info" => crate::info::info(ev, c),
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => {
            let input = if c.args.is_empty() {
                vec![SeriesV {
                    labels: Labels::default(),
                    drop_name: false,
                    points: steps.iter().map(|t| (*t, *t as f64 / 1000.0)).collect(),
                }]
            } else {
                ev.eval_vector(&c.args[0])?
            };
            Ok(Val::Vector(map_values(input, |v, _| {
                Some(date_part(name, v))
            })))
        }
        "round" => {
            let input = ev.eval_vector(&c.args[0])?;
            let to = match c.args.get(1) {
                Some(a) => ev.eval_scalar(a)?,
                None => vec![1.0; steps.len()],
            };
            let start = ev.start;
            let iv = ev.interval.max(1);
            Ok(Val::Vector(map_values(input, |v, t| {
                let inv = 1.0 / to[((t - start) / iv) as usize];
                Some((v * inv + 0.5).floor() / inv)
            })))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let input = ev.eval_vector(&c.args[0])?;
            let a = ev.eval_scalar(&c.args[1])?;
            let b = match c.args.get(2) {
                Some(e) => ev.eval_scalar(e)?,
                None => Vec::new(),
            };
            let start = ev.start;
            let iv = ev.interval.max(1);
            Ok(Val::Vector(map_values(input, |v, t| {
                let i = ((t - start) / iv) as usize;
                match name {
                    "clamp" => {
                        let (lo, hi) = (a[i], b[i]);
                        if hi < lo {
                            None
                        } else {
                            Some(go_max(lo, go_min(hi, v)))
                        }
                    }
                    "clamp_min" => Some(go_max(a[i], v)),
                    _ => Some(go_min(a[i], v)),
                }
            })))
        }
        _ => {
            let input = ev.eval_vector(&c.args[0])?;
            let f: fn(f64) -> f64 = match name {
                "abs" => f64::abs,
                "ceil" => f64::ceil,
                "floor" => f64::floor,
                "exp" => f64::exp,
                "sqrt" => f64::sqrt,
                "ln" => f64::ln,
                "log2" => f64::log2,
                "log10" => f64::log10,
                "sgn" => |v: f64| {
                    if v > 0.0 {
                        1.0
                    } else if v < 0.0 {
                        -1.0
                    } else {
                        v
                    }
                },
                "acos" => f64::acos,
                "acosh" => f64::acosh,
                "asin" => f64::asin,
                "asinh" => f64::asinh,
                "atan" => f64::atan,
                "atanh" => f64::atanh,
                "cos" => f64::cos,
                "cosh" => f64::cosh,
                "sin" => f64::sin,
                "sinh" => f64::sinh,
                "tan" => f64::tan,
                "tanh" => f64::tanh,
                "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
                "rad" => |v: f64| v * std::f64::consts::PI / 180.0,
                other => return Err(exec(format!("function {other:?} is not implemented"))),
            };
            Ok(Val::Vector(map_values(input, |v, _| Some(f(v)))))
        }
    }
}

/// Go's `math.Max`: NaN wins, +Inf wins over NaN.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a > 0.0 || b.is_infinite() && b > 0.0 {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    a.max(b)
}

/// Go's `math.Min`: NaN wins, -Inf wins over NaN.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a < 0.0 || b.is_infinite() && b < 0.0 {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    a.min(b)
}

/// Maps every point; the results lose their metric name.
fn map_values(input: Vec<SeriesV>, mut f: impl FnMut(f64, i64) -> Option<f64>) -> Vec<SeriesV> {
    input
        .into_iter()
        .filter_map(|mut s| {
            s.points = s
                .points
                .iter()
                .filter_map(|&(t, v)| f(v, t).map(|nv| (t, nv)))
                .collect();
            s.drop_name = true;
            (!s.points.is_empty()).then_some(s)
        })
        .collect()
}

fn date_part(name: &str, v: f64) -> f64 {
    let secs = v as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let m = i64::from(m);
    match name {
        "hour" => (rem / 3600) as f64,
        "minute" => ((rem % 3600) / 60) as f64,
        "month" => m as f64,
        "year" => y as f64,
        "day_of_month" => d as f64,
        "day_of_week" => ((days + 4).rem_euclid(7)) as f64,
        "day_of_year" => (days - days_from_civil(y, 1, 1) + 1) as f64,
        "days_in_month" => {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as f64
        }
        _ => f64::NAN,
    }
}

fn range_function(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
    let name = c.func.name;
    let midx = c
        .args
        .iter()
        .position(|a| a.value_type() == ValueType::Matrix)
        .unwrap_or(0);
    let marg = &c.args[midx];
    if let ExprKind::Matrix(ms) = &marg.unwrap_parens().kind {
        match ms.mode {
            RangeMode::Anchored if !ANCHORED_OK.contains(&name) => {
                return Err(exec(format!(
                    "anchored modifier can only be used with: {} - not with {name}",
                    ANCHORED_OK.join(", ")
                )))
            }
            RangeMode::Smoothed if !SMOOTHED_OK.contains(&name) => {
                return Err(exec(format!(
                    "smoothed modifier can only be used with: {} - not with {name}",
                    SMOOTHED_OK.join(", ")
                )))
            }
            _ => {}
        }
    }
    let mut scalars: Vec<Option<Vec<f64>>> = Vec::new();
    for (i, a) in c.args.iter().enumerate() {
        scalars.push(if i == midx {
            None
        } else {
            Some(ev.eval_scalar(a)?)
        });
    }
    let scalar_arg = |i: usize, si: usize| -> f64 {
        scalars
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|s| s[si])
            .unwrap_or(f64::NAN)
    };
    if name == "double_exponential_smoothing" {
        for si in 0..ev.num_steps() {
            let (sf, tf) = (scalar_arg(1, si), scalar_arg(2, si));
            if sf <= 0.0 || sf >= 1.0 || sf.is_nan() {
                return Err(exec(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                )));
            }
            if tf <= 0.0 || tf >= 1.0 || tf.is_nan() {
                return Err(exec(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                )));
            }
        }
    }
    // Start timestamps serve plain windows only (anchored and smoothed ones ignore them, as
    // upstream's extended range functions do).
    let plain_window = !matches!(
        &marg.unwrap_parens().kind,
        ExprKind::Matrix(ms) if ms.mode != RangeMode::Plain
    );
    let with_starts = ev.ctx.use_start_timestamps
        && plain_window
        && matches!(name, "rate" | "increase" | "irate" | "resets");
    let src: RangeSource = ev.range_source(marg, with_starts)?;
    let steps: Vec<i64> = ev.steps().collect();
    let keeps_name = matches!(name, "last_over_time" | "first_over_time");
    let range_fn = RangeFn::from_name(name);
    let is_quantile = range_fn == Some(RangeFn::QuantileOverTime);
    let is_absent = name == "absent_over_time";
    let counter_fn = matches!(name, "rate" | "increase");
    let lookback = ev.ctx.lookback;
    let interrupt = ev.ctx.interrupt();
    let max_samples = ev.ctx.max_samples;
    let (range, offset, at, mode) = (src.range, src.offset, src.at, src.mode);
    // Each series is independent: evaluated on all cores when there are many.
    let eval_series = |(s, starts): (SeriesV, Vec<i64>)| -> EvResult<SeriesOutcome> {
        interrupt.check()?;
        let samples = &s.points;
        let mut outcome = SeriesOutcome::default();
        let mut points = Vec::with_capacity(steps.len().min(samples.len() + 1));
        // Overlapping starts, counted once per series: `overlaps[i]` pairs among the first
        // `i` samples, so a window asks in constant time.
        let overlaps: Vec<usize> =
            if counter_fn && !starts.is_empty() && starts.len() == samples.len() {
                std::iter::once(0)
                    .chain((0..samples.len()).scan(0, |n, i| {
                        if i > 0 && start_overlaps(starts[i - 1], samples[i - 1].0, starts[i]) {
                            *n += 1;
                        }
                        Some(*n)
                    }))
                    .collect()
            } else {
                Vec::new()
            };
        let (mut lo, mut hi) = (0usize, 0usize);
        let mut work = 0usize;
        for (si, &ts) in steps.iter().enumerate() {
            let we = at.unwrap_or(ts) - offset;
            let rs = we - range;
            while hi < samples.len() && samples[hi].0 <= we {
                hi += 1;
            }
            while lo < hi && samples[lo].0 <= rs {
                lo += 1;
            }
            if lo > hi {
                lo = hi;
            }
            let w = &samples[lo..hi];
            let sts = starts.get(lo..hi).unwrap_or(&[]);
            // Pairs inside the window: those ending at samples lo+1 ..= hi-1.
            if outcome.start_overlap.is_none()
                && hi > lo + 1
                && overlaps
                    .get(hi)
                    .zip(overlaps.get(lo + 1))
                    .is_some_and(|(a, b)| a > b)
            {
                outcome.start_overlap = Some(s.labels.metric_name().unwrap_or("").to_string());
            }
            if w.len() > max_samples {
                return Err(EvalError::TooManySamples);
            }
            // Checked by work done, not by steps: one step's window can hold millions
            // of samples.
            work += w.len() + 16;
            if work >= 1 << 16 {
                work = 0;
                interrupt.check()?;
            }
            let value = if mode != RangeMode::Plain {
                // The extended window: from a lookback before the range start.
                let elo = samples.partition_point(|p| p.0 <= rs - lookback);
                let ehi = if mode == RangeMode::Smoothed {
                    samples.partition_point(|p| p.0 <= we + lookback)
                } else {
                    hi
                };
                let f = &samples[elo..ehi];
                match range_fn {
                    Some(RangeFn::Rate) => extended_rate(f, rs, we, range, mode, true, true),
                    Some(RangeFn::Increase) => extended_rate(f, rs, we, range, mode, true, false),
                    Some(RangeFn::Delta) => extended_rate(f, rs, we, range, mode, false, false),
                    Some(k @ (RangeFn::Changes | RangeFn::Resets)) => {
                        if w.is_empty() {
                            None
                        } else {
                            let anchor = f.partition_point(|p| p.0 <= rs);
                            let seq = &f[anchor.saturating_sub(1)..];
                            Some(if k == RangeFn::Changes {
                                changes_count(seq)
                            } else {
                                resets_count(seq, &[])
                            })
                        }
                    }
                    _ => None,
                }
            } else {
                window_value(range_fn, w, sts, rs, we, range, ts, |i| scalar_arg(i, si))
            };
            if is_quantile && !w.is_empty() && outcome.bad_quantile.is_none() {
                let q = scalar_arg(0, si);
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    outcome.bad_quantile = Some(q);
                }
            }
            if is_absent {
                if !w.is_empty() {
                    outcome.present_steps.push(si);
                }
                continue;
            }
            if let Some(v) = value {
                points.push((ts, v));
            }
        }
        if points.is_empty() {
            return Ok(outcome);
        }
        if counter_fn {
            if let Some(metric) = s.labels.metric_name() {
                if !(metric.ends_with("_total")
                    || metric.ends_with("_sum")
                    || metric.ends_with("_count")
                    || metric.ends_with("_bucket"))
                {
                    outcome.not_a_counter = Some(metric.to_string());
                }
            }
        }
        outcome.series = Some(SeriesV {
            labels: s.labels,
            drop_name: if keeps_name { s.drop_name } else { true },
            points,
        });
        Ok(outcome)
    };
    let mut starts = src.starts.into_iter();
    let items: Vec<(SeriesV, Vec<i64>)> = src
        .series
        .into_iter()
        .map(|s| (s, starts.next().unwrap_or_default()))
        .collect();
    let outcomes = crate::par::map(items, steps.len(), eval_series);
    let mut out = Vec::with_capacity(outcomes.len());
    let mut present = if is_absent {
        vec![false; steps.len()]
    } else {
        Vec::new()
    };
    let mut held = 0usize;
    let mut quantile_warned = false;
    for outcome in outcomes {
        let outcome = outcome?;
        if let (Some(q), false) = (outcome.bad_quantile, quantile_warned) {
            quantile_warned = true;
            ev.ctx.annotate(
                AnnotationKind::Warning,
                format!(
                    "quantile value should be between 0 and 1, got {}",
                    format_go_float(q)
                ),
                c.args[0].pos,
            );
        }
        if let Some(metric) = outcome.start_overlap {
            ev.ctx.annotate(
                AnnotationKind::Warning,
                format!(
                    "sample has start time that overlaps with previous sample timestamp for metric {metric:?}"
                ),
                marg.pos,
            );
        }
        if let Some(metric) = outcome.not_a_counter {
            let apos = if src.from_selector {
                marg.pos
            } else {
                PosRange::new(0, 0)
            };
            ev.ctx.annotate(
                AnnotationKind::Info,
                format!(
                    "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {metric:?}"
                ),
                apos,
            );
        }
        for si in outcome.present_steps {
            present[si] = true;
        }
        if let Some(series) = outcome.series {
            held += series.points.len();
            if held > max_samples {
                return Err(EvalError::TooManySamples);
            }
            out.push(series);
        }
    }
    if name == "absent_over_time" {
        let labels = match &marg.unwrap_parens().kind {
            ExprKind::Matrix(ms) => absent_labels(&ms.selector.matchers),
            _ => Labels::default(),
        };
        let points: Vec<(i64, f64)> = steps
            .iter()
            .zip(present)
            .filter(|(_, p)| !p)
            .map(|(t, _)| (*t, 1.0))
            .collect();
        return Ok(Val::Vector(if points.is_empty() {
            Vec::new()
        } else {
            vec![SeriesV {
                labels,
                drop_name: false,
                points,
            }]
        }));
    }
    let _ = pos;
    Ok(Val::Vector(out))
}

/// What evaluating one series of a range function gave.
#[derive(Default)]
struct SeriesOutcome {
    series: Option<SeriesV>,
    /// Steps whose window held samples (for `absent_over_time`).
    present_steps: Vec<usize>,
    /// The first out-of-range quantile seen with samples.
    bad_quantile: Option<f64>,
    /// The series' metric name, when a counter function met a name that is not a counter's.
    not_a_counter: Option<String>,
    /// The series' metric name, when a sample's start overlapped the previous sample.
    start_overlap: Option<String>,
}

/// The value of a range function over one plain window `(rs, re]`.
/// A range function, resolved once per call instead of by name for every window.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Changes,
    Resets,
    Deriv,
    PredictLinear,
    DoubleExponentialSmoothing,
    AvgOverTime,
    SumOverTime,
    CountOverTime,
    MinOverTime,
    MaxOverTime,
    TsOfMinOverTime,
    TsOfMaxOverTime,
    StddevOverTime,
    StdvarOverTime,
    LastOverTime,
    FirstOverTime,
    TsOfLastOverTime,
    TsOfFirstOverTime,
    PresentOverTime,
    QuantileOverTime,
    MadOverTime,
}

impl RangeFn {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => RangeFn::Rate,
            "increase" => RangeFn::Increase,
            "delta" => RangeFn::Delta,
            "irate" => RangeFn::Irate,
            "idelta" => RangeFn::Idelta,
            "changes" => RangeFn::Changes,
            "resets" => RangeFn::Resets,
            "deriv" => RangeFn::Deriv,
            "predict_linear" => RangeFn::PredictLinear,
            "double_exponential_smoothing" => RangeFn::DoubleExponentialSmoothing,
            "avg_over_time" => RangeFn::AvgOverTime,
            "sum_over_time" => RangeFn::SumOverTime,
            "count_over_time" => RangeFn::CountOverTime,
            "min_over_time" => RangeFn::MinOverTime,
            "max_over_time" => RangeFn::MaxOverTime,
            "ts_of_min_over_time" => RangeFn::TsOfMinOverTime,
            "ts_of_max_over_time" => RangeFn::TsOfMaxOverTime,
            "stddev_over_time" => RangeFn::StddevOverTime,
            "stdvar_over_time" => RangeFn::StdvarOverTime,
            "last_over_time" => RangeFn::LastOverTime,
            "first_over_time" => RangeFn::FirstOverTime,
            "ts_of_last_over_time" => RangeFn::TsOfLastOverTime,
            "ts_of_first_over_time" => RangeFn::TsOfFirstOverTime,
            "present_over_time" => RangeFn::PresentOverTime,
            "quantile_over_time" => RangeFn::QuantileOverTime,
            "mad_over_time" => RangeFn::MadOverTime,
            _ => return None,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn window_value(
    f: Option<RangeFn>,
    w: &[(i64, f64)],
    sts: &[i64],
    rs: i64,
    re: i64,
    range: i64,
    ts: i64,
    arg: impl Fn(usize) -> f64,
) -> Option<f64> {
    if w.is_empty() {
        return None;
    }
    let f = f?;
    Some(match f {
        RangeFn::Rate => return extrapolated_rate(w, sts, rs, re, range, true, true),
        RangeFn::Increase => return extrapolated_rate(w, sts, rs, re, range, true, false),
        RangeFn::Delta => return extrapolated_rate(w, &[], rs, re, range, false, false),
        RangeFn::Irate | RangeFn::Idelta => {
            if w.len() < 2 {
                return None;
            }
            let n = w.len();
            let (t1, v1) = w[n - 2];
            let (t2, v2) = w[n - 1];
            let mut res = if f == RangeFn::Irate
                && is_reset(&w[n - 2..], sts.get(n - 2..).unwrap_or(&[]), 1)
            {
                v2
            } else {
                v2 - v1
            };
            let interval = t2 - t1;
            if interval == 0 {
                return None;
            }
            if f == RangeFn::Irate {
                res /= interval as f64 / 1000.0;
            }
            res
        }
        RangeFn::Changes => changes_count(w),
        RangeFn::Resets => resets_count(w, sts),
        RangeFn::Deriv => {
            if w.len() < 2 {
                return None;
            }
            linear_regression(w, w[0].0).0
        }
        RangeFn::PredictLinear => {
            if w.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(w, ts);
            slope * arg(1) + intercept
        }
        RangeFn::DoubleExponentialSmoothing => {
            return double_exponential_smoothing(w, arg(1), arg(2))
        }
        RangeFn::AvgOverTime => mean(w.iter().map(|p| p.1))?,
        RangeFn::SumOverTime => {
            let (mut s, mut c) = (0.0, 0.0);
            for &(_, v) in w {
                (s, c) = kahan_inc(v, s, c);
            }
            s + c
        }
        RangeFn::CountOverTime => w.len() as f64,
        RangeFn::MinOverTime => {
            w.iter()
                .map(|p| p.1)
                .fold(f64::NAN, |m, v| if v < m || m.is_nan() { v } else { m })
        }
        RangeFn::MaxOverTime => {
            w.iter()
                .map(|p| p.1)
                .fold(f64::NAN, |m, v| if v > m || m.is_nan() { v } else { m })
        }
        RangeFn::TsOfMinOverTime | RangeFn::TsOfMaxOverTime => {
            let max = f == RangeFn::TsOfMaxOverTime;
            let mut best = w[0];
            for &p in &w[1..] {
                let better = if max { p.1 >= best.1 } else { p.1 <= best.1 };
                if better || best.1.is_nan() {
                    best = p;
                }
            }
            best.0 as f64 / 1000.0
        }
        RangeFn::StddevOverTime => variance(w).sqrt(),
        RangeFn::StdvarOverTime => variance(w),
        RangeFn::LastOverTime => w[w.len() - 1].1,
        RangeFn::FirstOverTime => w[0].1,
        RangeFn::TsOfLastOverTime => w[w.len() - 1].0 as f64 / 1000.0,
        RangeFn::TsOfFirstOverTime => w[0].0 as f64 / 1000.0,
        RangeFn::PresentOverTime => 1.0,
        RangeFn::QuantileOverTime => {
            let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
            quantile_of(arg(0), &mut vals)
        }
        RangeFn::MadOverTime => {
            if w.iter().any(|p| p.1.is_nan()) {
                return Some(f64::NAN);
            }
            let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
            let median = quantile_of(0.5, &mut vals);
            let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
            quantile_of(0.5, &mut dev)
        }
    })
}

/// Natural ordering of label values (digit runs compare as numbers).
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if ab[i] != bb[j] {
                return ab[i].cmp(&bb[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

fn sort(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
    let name = c.func.name;
    if ev.start != ev.end {
        ev.ctx.annotate(
            AnnotationKind::Warning,
            "sort is ineffective for range queries since results are always ordered by labels"
                .into(),
            pos,
        );
    }
    let mut input = ev.eval_vector(&c.args[0])?;
    let mut labels: Vec<String> = Vec::new();
    for a in &c.args[1..] {
        match ev.eval(a)? {
            Val::String(s) => labels.push(s),
            _ => return Err(exec("expected string argument")),
        }
    }
    let value = |s: &SeriesV| s.points.first().map(|p| p.1).unwrap_or(f64::NAN);
    match name {
        "sort" => input.sort_by(|a, b| nan_last(value(a), value(b), false)),
        "sort_desc" => input.sort_by(|a, b| nan_last(value(a), value(b), true)),
        _ => {
            let desc = name == "sort_by_label_desc";
            input.sort_by(|a, b| {
                for l in &labels {
                    let (x, y) = (a.labels.get(l).unwrap_or(""), b.labels.get(l).unwrap_or(""));
                    if x == y {
                        continue;
                    }
                    let ord = natural_cmp(x, y);
                    return if desc { ord.reverse() } else { ord };
                }
                let ord = a.labels.cmp(&b.labels);
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
        }
    }
    Ok(Val::Vector(input))
}

/// Orders values ascending (or descending), NaN last either way.
pub(crate) fn nan_last(a: f64, b: f64, desc: bool) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
    }
}

fn string_arg(ev: &Ev, e: &Expr) -> EvResult<String> {
    match ev.eval(e)? {
        Val::String(s) => Ok(s),
        _ => Err(exec("expected string argument")),
    }
}

/// Merges series whose labels became equal (label_replace/label_join), failing when two
/// of them have a point at the same step.
fn merge_same_labels(series: Vec<SeriesV>) -> EvResult<Vec<SeriesV>> {
    let mut out: Vec<SeriesV> = Vec::with_capacity(series.len());
    let mut index: HashMap<(Labels, bool), usize> = HashMap::new();
    let mut resort = Vec::new();
    for s in series {
        let key = (s.labels.clone(), s.drop_name);
        match index.get(&key) {
            Some(&i) => {
                out[i].points.extend(s.points);
                resort.push(i);
            }
            None => {
                index.insert(key, out.len());
                out.push(s);
            }
        }
    }
    for i in resort {
        out[i].points.sort_by_key(|p| p.0);
        if out[i].points.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(exec("vector cannot contain metrics with the same labelset"));
        }
    }
    Ok(out)
}

fn label_replace(ev: &Ev, c: &Call) -> EvResult<Val> {
    let input = ev.eval_vector(&c.args[0])?;
    let dst = string_arg(ev, &c.args[1])?;
    let repl = string_arg(ev, &c.args[2])?;
    let src = string_arg(ev, &c.args[3])?;
    let re_text = string_arg(ev, &c.args[4])?;
    let re = regex::Regex::new(&format!("^(?s:{re_text})$")).map_err(|e| {
        exec(format!(
            "invalid regular expression in label_replace(): {e}"
        ))
    })?;
    if !crate::aggregate::valid_label_name(&dst) {
        return Err(exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(input.len());
    for mut s in input {
        let value = s.labels.get(&src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&value) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            let mut b = s.labels.to_builder();
            b.set(dst.clone(), res);
            s.labels = b.build();
            if dst == model::METRIC_NAME {
                s.drop_name = false;
            }
        }
        out.push(s);
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

fn label_join(ev: &Ev, c: &Call) -> EvResult<Val> {
    let input = ev.eval_vector(&c.args[0])?;
    let dst = string_arg(ev, &c.args[1])?;
    let sep = string_arg(ev, &c.args[2])?;
    let mut srcs = Vec::new();
    for a in &c.args[3..] {
        srcs.push(string_arg(ev, a)?);
    }
    if !crate::aggregate::valid_label_name(&dst) {
        return Err(exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(input.len());
    for mut s in input {
        let joined = srcs
            .iter()
            .map(|l| s.labels.get(l).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        let mut b = s.labels.to_builder();
        b.set(dst.clone(), joined);
        s.labels = b.build();
        if dst == model::METRIC_NAME {
            s.drop_name = false;
        }
        out.push(s);
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

/// Matchers that select a label's value among a set (for `info`).
pub(crate) fn regex_any_of(name: &str, values: &[String]) -> Option<Matcher> {
    let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
    Matcher::new(MatchOp::Regex, name, alternatives.join("|")).ok()
}
