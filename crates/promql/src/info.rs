//! `info(v, {data matchers})`: enrich series with the data labels of info metrics
//! (`target_info` by default) that share their identifying labels (`instance`, `job`).

use std::collections::{BTreeMap, HashMap, HashSet};

use model::{Labels, MatchOp, Matcher};

use crate::ast::{Call, Expr, ExprKind, VectorSelector};
use crate::eval::{Ev, EvResult, SeriesV, StepCursor, Val};
use crate::funcs::regex_any_of;
use crate::EvalError;

const IDENTIFYING: [&str; 2] = ["instance", "job"];

fn first_selector(e: &Expr) -> Option<&VectorSelector> {
    match &e.kind {
        ExprKind::Vector(vs) => Some(vs),
        ExprKind::Matrix(ms) => Some(&ms.selector),
        ExprKind::Paren(i) | ExprKind::Unary(_, i) | ExprKind::StepInvariant(i) => {
            first_selector(i)
        }
        ExprKind::Binary(b) => first_selector(&b.lhs).or_else(|| first_selector(&b.rhs)),
        ExprKind::Aggregate(a) => first_selector(&a.expr),
        ExprKind::Call(c) => c.args.iter().find_map(first_selector),
        ExprKind::Subquery(s) => first_selector(&s.expr),
        _ => None,
    }
}

/// The `__name__` matchers to select info metrics with.
fn effective_name_matchers(name_matchers: &[Matcher]) -> EvResult<Vec<Matcher>> {
    let positive = name_matchers
        .iter()
        .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Regex));
    let to_err = |e: String| EvalError::Execution(e);
    if positive {
        Ok(name_matchers.to_vec())
    } else if !name_matchers.is_empty() {
        let mut v =
            vec![Matcher::new(MatchOp::Regex, model::METRIC_NAME, ".+_info").map_err(to_err)?];
        v.extend(name_matchers.iter().cloned());
        Ok(v)
    } else {
        Ok(vec![Matcher::new(
            MatchOp::Equal,
            model::METRIC_NAME,
            "target_info",
        )
        .map_err(to_err)?])
    }
}

pub(crate) fn info(ev: &Ev, c: &Call) -> EvResult<Val> {
    let base = ev.eval_vector(&c.args[0])?;
    let data_arg: Vec<Matcher> = match c.args.get(1).map(|a| &a.kind) {
        Some(ExprKind::Vector(vs)) => vs.matchers.clone(),
        _ => Vec::new(),
    };
    let name_matchers: Vec<Matcher> = data_arg
        .iter()
        .filter(|m| m.name == model::METRIC_NAME)
        .cloned()
        .collect();
    let mut data_matchers: BTreeMap<String, Vec<Matcher>> = BTreeMap::new();
    for m in data_arg.iter().filter(|m| m.name != model::METRIC_NAME) {
        data_matchers
            .entry(m.name.clone())
            .or_default()
            .push(m.clone());
    }
    let eff = effective_name_matchers(&name_matchers)?;
    let ignored: Vec<bool> = base
        .iter()
        .map(|s| {
            s.labels.metric_name().is_some() && eff.iter().all(|m| m.matches_labels(&s.labels))
        })
        .collect();
    // Identifying label values of the series to enrich.
    let mut id_values: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (s, ign) in base.iter().zip(&ignored) {
        if *ign {
            continue;
        }
        for l in IDENTIFYING {
            if let Some(v) = s.labels.get(l) {
                let vals = id_values.entry(l).or_default();
                if !vals.iter().any(|x| x == v) {
                    vals.push(v.to_string());
                }
            }
        }
    }
    // Info series evaluated at every step, valued with their samples' own timestamps.
    let mut info_series: Vec<SeriesV> = Vec::new();
    if !id_values.is_empty() {
        let mut matchers: Vec<Matcher> = Vec::new();
        for (l, vals) in &id_values {
            if let Some(m) = regex_any_of(l, vals) {
                matchers.push(m);
            }
        }
        matchers.extend(data_matchers.values().flatten().cloned());
        matchers.extend(eff.iter().cloned());
        let (at, off) = match first_selector(&c.args[0]) {
            Some(vs) => (
                match vs.at {
                    Some(crate::ast::AtModifier::Time(t)) => Some(t),
                    _ => None,
                },
                match &vs.offset {
                    Some(crate::ast::DurationExpr::Duration(ms)) => *ms,
                    _ => 0,
                },
            ),
            None => (None, 0),
        };
        let vs = VectorSelector {
            name: None,
            matchers,
            offset: None,
            at: None,
            mode: Default::default(),
        };
        let visible_from = at.unwrap_or(ev.start) - (ev.ctx.lookback - 1) - off;
        let visible_to = at.unwrap_or(ev.end) - off;
        // Samples outside the base selector's time range are not visible.
        info_series = ev.eval_vector_selector_clipped(
            &vs,
            crate::eval::SelectorValue::InfoTimestamp,
            Some((visible_from, visible_to)),
            c.args[0].pos,
        )?;
    }
    let steps: Vec<i64> = ev.steps().collect();
    let mut out: Vec<SeriesV> = Vec::new();
    let mut out_index: HashMap<Labels, usize> = HashMap::new();
    let mut bcur = StepCursor::new(base.len());
    let mut icur = StepCursor::new(info_series.len());
    for &ts in &steps {
        ev.ctx.tick(1 + base.len() + info_series.len())?;
        // Info samples at this step keyed by (name, identifying labels); newest wins.
        let mut by_sig: HashMap<Labels, (usize, f64)> = HashMap::new();
        for (i, sample_ts) in icur.at(&info_series, ts) {
            let s = &info_series[i];
            let sig = info_sig(&s.labels, s.labels.metric_name().unwrap_or(""));
            match by_sig.get(&sig) {
                Some(&(j, prev_ts)) if prev_ts == sample_ts => {
                    return Err(EvalError::Execution(format!(
                        "found duplicate series for info metric: existing {} @ {}, new {} @ {}",
                        info_series[j].labels,
                        (prev_ts * 1000.0) as i64,
                        s.labels,
                        (sample_ts * 1000.0) as i64
                    )));
                }
                Some(&(_, prev_ts)) if prev_ts > sample_ts => {}
                _ => {
                    by_sig.insert(sig, (i, sample_ts));
                }
            }
        }
        let info_names: HashSet<&str> = by_sig
            .values()
            .filter_map(|(i, _)| info_series[*i].labels.metric_name())
            .collect();
        for (bi, v) in bcur.at(&base, ts) {
            let b = &base[bi];
            let labels = if ignored[bi] {
                Some(b.labels.clone())
            } else {
                let mut add: BTreeMap<String, String> = BTreeMap::new();
                let mut matched = false;
                for name in &info_names {
                    let sig = info_sig(&b.labels, name);
                    let Some(&(ii, _)) = by_sig.get(&sig) else {
                        continue;
                    };
                    matched = true;
                    for l in info_series[ii].labels.iter() {
                        if l.name == model::METRIC_NAME {
                            continue;
                        }
                        if !data_matchers.is_empty() && !data_matchers.contains_key(&l.name) {
                            continue;
                        }
                        if let Some(existing) = add.get(&l.name) {
                            if *existing != l.value {
                                return Err(EvalError::Execution(format!(
                                    "conflicting label: {}",
                                    l.name
                                )));
                            }
                        }
                        if b.labels.get(&l.name).is_some() {
                            continue;
                        }
                        add.insert(l.name.clone(), l.value.clone());
                    }
                }
                if !matched && data_matchers.values().flatten().any(|m| !m.matches_empty()) {
                    None
                } else {
                    let mut lb = b.labels.to_builder();
                    for (n, val) in add {
                        lb.set(n, val);
                    }
                    Some(lb.build())
                }
            };
            let Some(labels) = labels else { continue };
            let idx = *out_index.entry(labels.clone()).or_insert_with(|| {
                out.push(SeriesV {
                    labels,
                    drop_name: b.drop_name,
                    points: Vec::new(),
                    hists: Vec::new(),
                });
                out.len() - 1
            });
            if out[idx].points.last().is_some_and(|p| p.0 == ts) {
                return Err(EvalError::Execution(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
            out[idx].points.push((ts, v));
        }
    }
    Ok(Val::Vector(out))
}

fn info_sig(labels: &Labels, info_name: &str) -> Labels {
    let mut pairs = vec![(model::METRIC_NAME.to_string(), info_name.to_string())];
    for l in IDENTIFYING {
        if let Some(v) = labels.get(l) {
            pairs.push((l.to_string(), v.to_string()));
        }
    }
    Labels::from_pairs(pairs)
}
