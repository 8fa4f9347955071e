//! Functions of each sample's value (`abs`, `round`, `clamp`, ...), of none (`time`,
//! `pi`), and the conversions between scalars and vectors.

use super::*;

#[inline(never)]
pub(crate) fn constant(ev: &Ev, c: &Call) -> EvResult<Val> {
    Ok(Val::Scalar(if c.func.name == "time" {
        ev.steps().map(|t| t as f64 / 1000.0).collect()
    } else {
        vec![std::f64::consts::PI; ev.num_steps()]
    }))
}

#[inline(never)]
pub(crate) fn vector(ev: &Ev, c: &Call) -> EvResult<Val> {
    let s = ev.eval_scalar(&c.args[0])?;
    Ok(Val::Vector(vec![SeriesV {
        labels: Labels::default(),
        drop_name: false,
        points: ev.steps().zip(s).collect(),
        hists: Vec::new(),
    }]))
}

#[inline(never)]
pub(crate) fn scalar(ev: &Ev, c: &Call) -> EvResult<Val> {
    let v = ev.eval_vector(&c.args[0])?;
    let steps = ev.num_steps();
    let mut out = vec![f64::NAN; steps];
    let mut count = vec![0u32; steps];
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

#[inline(never)]
pub(crate) fn min_max_of(ev: &Ev, c: &Call) -> EvResult<Val> {
    let a = ev.eval_scalar(&c.args[0])?;
    let b = ev.eval_scalar(&c.args[1])?;
    let min = c.func.name == "min_of";
    Ok(Val::Scalar(
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| if min { go_min(*x, *y) } else { go_max(*x, *y) })
            .collect(),
    ))
}

/// `histogram_count`, `_sum`, `_avg`, `_stddev`, `_stdvar`: a float from each histogram
/// sample; float samples are left out.
#[inline(never)]
pub(crate) fn native_histogram(ev: &Ev, c: &Call) -> EvResult<Val> {
    let stats = matches!(
        c.func.name,
        "histogram_count" | "histogram_sum" | "histogram_avg"
    );
    let input = if stats {
        ev.with_stats_decoding(true, || ev.eval_vector(&c.args[0]))?
    } else {
        ev.eval_vector(&c.args[0])?
    };
    let f: fn(&model::histogram::FloatHistogram) -> f64 = match c.func.name {
        "histogram_count" => |h| h.count,
        "histogram_sum" => |h| h.sum,
        "histogram_avg" => |h| h.sum / h.count,
        "histogram_stddev" => |h| crate::native_histogram::variance(h).sqrt(),
        _ => crate::native_histogram::variance,
    };
    Ok(Val::Vector(
        input
            .into_iter()
            .filter_map(|mut s| {
                s.points = s.hists.iter().map(|(t, h)| (*t, f(h))).collect();
                s.hists = Vec::new();
                s.drop_name = true;
                (!s.points.is_empty()).then_some(s)
            })
            .collect(),
    ))
}

#[inline(never)]
pub(crate) fn round(ev: &Ev, c: &Call) -> EvResult<Val> {
    let input = ev.eval_vector(&c.args[0])?;
    let to = match c.args.get(1) {
        Some(a) => ev.eval_scalar(a)?,
        None => vec![1.0; ev.num_steps()],
    };
    let start = ev.start;
    let iv = ev.interval.max(1);
    Ok(Val::Vector(map_values(input, |v, t| {
        let inv = 1.0 / to[((t - start) / iv) as usize];
        Some((v * inv + 0.5).floor() / inv)
    })))
}

#[inline(never)]
pub(crate) fn clamp(ev: &Ev, c: &Call) -> EvResult<Val> {
    let input = ev.eval_vector(&c.args[0])?;
    let a = ev.eval_scalar(&c.args[1])?;
    let b = match c.args.get(2) {
        Some(e) => ev.eval_scalar(e)?,
        None => Vec::new(),
    };
    let start = ev.start;
    let iv = ev.interval.max(1);
    let name = c.func.name;
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

/// The element-wise math functions (`abs`, `ln`, `sin`, ...).
#[inline(never)]
pub(crate) fn math(ev: &Ev, c: &Call) -> EvResult<Val> {
    let f: fn(f64) -> f64 = match c.func.name {
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
    let input = ev.eval_vector(&c.args[0])?;
    Ok(Val::Vector(map_values(input, |v, _| Some(f(v)))))
}

/// Maps every point; the results lose their metric name.
pub(crate) fn map_values(
    input: Vec<SeriesV>,
    mut f: impl FnMut(f64, i64) -> Option<f64>,
) -> Vec<SeriesV> {
    input
        .into_iter()
        .filter_map(|mut s| {
            s.points = s
                .points
                .iter()
                .filter_map(|&(t, v)| f(v, t).map(|nv| (t, nv)))
                .collect();
            // Functions of float values leave histogram samples out, as upstream's do.
            s.hists = Vec::new();
            s.drop_name = true;
            (!s.points.is_empty()).then_some(s)
        })
        .collect()
}
