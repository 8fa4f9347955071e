//! Functions over instant vectors and scalars (`abs`, `vector`, `label_replace`, ...),
//! and the dispatch of every call. Each group of functions has its own function, so
//! that a nested call like `abs(abs(...))` only keeps a small frame per level on the
//! stack.

use super::*;

/// Evaluates a function call: only dispatches, so that its own frame stays small.
pub(crate) fn call(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
    if c.args.iter().any(|a| a.value_type() == ValueType::Matrix) {
        return range_function(ev, c, pos);
    }
    match c.func.name {
        "time" | "pi" => constant(ev, c),
        "vector" => vector(ev, c),
        "scalar" => scalar(ev, c),
        "min_of" | "max_of" => min_max_of(ev, c),
        "absent" => absent(ev, c),
        "timestamp" | "start_timestamp" => timestamps(ev, c),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => sort(ev, c, pos),
        "label_replace" => label_replace(ev, c),
        "label_join" => label_join(ev, c),
        "histogram_quantile" | "histogram_fraction" | "histogram_quantiles" => {
            crate::histogram::classic(ev, c, pos)
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => native_histogram(ev, c),
        "info" => crate::info::info(ev, c),
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => date(ev, c),
        "round" => round(ev, c),
        "clamp" | "clamp_min" | "clamp_max" => clamp(ev, c),
        _ => math(ev, c),
    }
}

#[inline(never)]
fn constant(ev: &Ev, c: &Call) -> EvResult<Val> {
    Ok(Val::Scalar(if c.func.name == "time" {
        ev.steps().map(|t| t as f64 / 1000.0).collect()
    } else {
        vec![std::f64::consts::PI; ev.num_steps()]
    }))
}

#[inline(never)]
fn vector(ev: &Ev, c: &Call) -> EvResult<Val> {
    let s = ev.eval_scalar(&c.args[0])?;
    Ok(Val::Vector(vec![SeriesV {
        labels: Labels::default(),
        drop_name: false,
        points: ev.steps().zip(s).collect(),
    }]))
}

#[inline(never)]
fn scalar(ev: &Ev, c: &Call) -> EvResult<Val> {
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
fn min_max_of(ev: &Ev, c: &Call) -> EvResult<Val> {
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

#[inline(never)]
fn absent(ev: &Ev, c: &Call) -> EvResult<Val> {
    let v = ev.eval_vector(&c.args[0])?;
    let mut present = vec![false; ev.num_steps()];
    for s in &v {
        for &(t, _) in &s.points {
            present[((t - ev.start) / ev.interval.max(1)) as usize] = true;
        }
    }
    let labels = match &c.args[0].unwrap_parens().kind {
        ExprKind::Vector(vs) => absent_labels(&vs.matchers),
        _ => Labels::default(),
    };
    let points: Vec<(i64, f64)> = ev
        .steps()
        .zip(present)
        .filter(|(_, p)| !p)
        .map(|(t, _)| (t, 1.0))
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

/// `timestamp()` and `start_timestamp()`.
#[inline(never)]
fn timestamps(ev: &Ev, c: &Call) -> EvResult<Val> {
    let arg = &c.args[0];
    let series = if c.func.name == "timestamp" {
        match &arg.unwrap_parens().kind {
            ExprKind::Vector(vs) => ev.eval_vector_selector(vs, SelectorValue::Timestamp)?,
            _ => {
                let mut v = ev.eval_vector(arg)?;
                for s in &mut v {
                    s.points.iter_mut().for_each(|p| p.1 = p.0 as f64 / 1000.0);
                }
                v
            }
        }
    } else {
        // Only a selector's samples have start timestamps (and only when they are
        // used): any other argument gives nothing.
        match &arg.unwrap_parens().kind {
            ExprKind::Vector(vs) if ev.ctx.use_start_timestamps => {
                ev.eval_vector_selector(vs, SelectorValue::StartTimestamp)?
            }
            _ => Vec::new(),
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

#[inline(never)]
fn native_histogram(ev: &Ev, c: &Call) -> EvResult<Val> {
    // Float samples are not histograms: nothing to report.
    let _ = ev.eval_vector(&c.args[0])?;
    Ok(Val::Vector(Vec::new()))
}

#[inline(never)]
fn date(ev: &Ev, c: &Call) -> EvResult<Val> {
    let input = match c.args.first() {
        None => vec![SeriesV {
            labels: Labels::default(),
            drop_name: false,
            points: ev.steps().map(|t| (t, t as f64 / 1000.0)).collect(),
        }],
        Some(arg) => ev.eval_vector(arg)?,
    };
    let name = c.func.name;
    Ok(Val::Vector(map_values(input, |v, _| {
        Some(date_part(name, v))
    })))
}

#[inline(never)]
fn round(ev: &Ev, c: &Call) -> EvResult<Val> {
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
fn clamp(ev: &Ev, c: &Call) -> EvResult<Val> {
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
fn math(ev: &Ev, c: &Call) -> EvResult<Val> {
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
