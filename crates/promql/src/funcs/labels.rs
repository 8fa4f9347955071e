//! Functions of labels: `absent`, the sorts (natural order for `sort_by_label`),
//! `label_replace` and `label_join`.

use super::*;

#[inline(never)]
pub(crate) fn absent(ev: &Ev, c: &Call) -> EvResult<Val> {
    let v = ev.eval_vector(&c.args[0])?;
    let mut present = vec![false; ev.num_steps()];
    for s in &v {
        for t in s
            .points
            .iter()
            .map(|p| p.0)
            .chain(s.hists.iter().map(|p| p.0))
        {
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
            hists: Vec::new(),
        }]
    }))
}

/// Natural ordering of label values (digit runs compare as numbers).
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
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

pub(crate) fn sort(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
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
    if matches!(name, "sort" | "sort_desc") {
        // Histogram samples are left out (upstream's `filterFloats`).
        for s in &mut input {
            s.hists.clear();
        }
        input.retain(|s| !s.points.is_empty());
    }
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

pub(crate) fn string_arg(ev: &Ev, e: &Expr) -> EvResult<String> {
    match ev.eval(e)? {
        Val::String(s) => Ok(s),
        _ => Err(exec("expected string argument")),
    }
}

/// Merges series whose labels became equal (label_replace/label_join), failing when two
/// of them have a point at the same step.
pub(crate) fn merge_same_labels(series: Vec<SeriesV>) -> EvResult<Vec<SeriesV>> {
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

pub(crate) fn label_replace(ev: &Ev, c: &Call) -> EvResult<Val> {
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

pub(crate) fn label_join(ev: &Ev, c: &Call) -> EvResult<Val> {
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
