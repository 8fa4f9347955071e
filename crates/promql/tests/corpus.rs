//! Runs Prometheus's PromQL test corpus (`../shared/conformance/promqltest/*.test`)
//! against our engine over the real TSDB in a temporary directory, with the checks of
//! upstream's runner: expectations, the implicit `@` re-runs and the range-mode
//! cross-check. Evals that cannot pass yet are listed, each with a reason, in
//! `tests/corpus-skips.txt`; a listed eval that passes fails the run too, so the list
//! stays true.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use model::histogram::{FloatHistogram, HistogramValue};
use model::Labels;
use promql::{Engine, EngineOptions, QueryOptions, Value};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/promqltest")
}

use promql::series_notation::{
    duration_ms, expand_items, expand_start_offsets, number, parse_labels, split_series_line, Item,
};

fn almost_equal(a: f64, b: f64) -> bool {
    let a_stale = model::is_stale_nan(a);
    let b_stale = model::is_stale_nan(b);
    if a_stale || b_stale {
        return a_stale && b_stale;
    }
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let eps = 1e-6;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

#[derive(Debug, Default, Clone)]
struct Expect {
    fail: Option<(String, String)>,
    fail_any: bool,
    warn: Vec<(String, String)>,
    info: Vec<(String, String)>,
    warn_any: bool,
    info_any: bool,
    no_warn: bool,
    no_info: bool,
    ordered: bool,
    range_vector: Option<(i64, i64, i64)>,
    string: Option<String>,
    scalar: Option<f64>,
    series: Vec<(Labels, Vec<Item>)>,
    histogram: bool,
}

#[derive(Debug, Clone)]
struct Eval {
    line: usize,
    query: String,
    instant_at: Option<i64>,
    range: Option<(i64, i64, i64)>,
    expect: Expect,
}

struct Runner {
    engine: Engine,
    dir: tempfile::TempDir,
    db: Option<tsdb::Db>,
    generation: usize,
    /// Whether the data loaded since the last `clear` has native histograms.
    has_histograms: bool,
    /// Series with histogram samples.
    histogram_series: Vec<Labels>,
}

impl Runner {
    fn db(&mut self) -> &tsdb::Db {
        if self.db.is_none() {
            self.generation += 1;
            let path = self.dir.path().join(format!("db{}", self.generation));
            self.db = Some(tsdb::Db::open(&path).expect("open test TSDB"));
        }
        self.db.as_ref().expect("just opened")
    }

    fn clear(&mut self) {
        self.db = None;
        self.has_histograms = false;
        self.histogram_series.clear();
    }

    fn load(&mut self, interval: i64, nhcb: bool, lines: &[(usize, String)]) -> Result<(), String> {
        if nhcb {
            self.has_histograms = true;
        }
        // A later line for the same series replaces an earlier one, as upstream.
        let mut per_series: BTreeMap<Labels, Vec<(i64, f64, i64)>> = BTreeMap::new();
        let mut per_series_h: BTreeMap<Labels, Vec<(i64, FloatHistogram, i64)>> = BTreeMap::new();
        // An `@st` line: its series and start-time offsets, for the sample line after it.
        let mut pending_starts: Option<(Labels, Vec<Option<i64>>)> = None;
        for (_, line) in lines {
            let (desc, values) = split_series_line(line);
            let st_line = if let Some(d) = desc.strip_suffix("@st") {
                Some((d, values))
            } else {
                values.strip_prefix("@st").map(|v| (desc, v.trim()))
            };
            if let Some((d, v)) = st_line {
                if pending_starts.is_some() {
                    return Err("@st line has no following sample line".into());
                }
                pending_starts = Some((parse_labels(d)?, expand_start_offsets(v)?));
                continue;
            }
            let labels = parse_labels(desc)?;
            let items = expand_items(values)?;
            let offsets = match pending_starts.take() {
                Some((l, _)) if l != labels => {
                    return Err("@st metric does not match the following sample line metric".into())
                }
                Some((_, o)) if o.len() != items.len() => {
                    return Err(format!(
                        "@st line has {} values but sample line has {}",
                        o.len(),
                        items.len()
                    ))
                }
                Some((_, o)) => o,
                None => Vec::new(),
            };
            let mut series = Vec::new();
            let mut hists = Vec::new();
            for (k, item) in items.into_iter().enumerate() {
                let t = k as i64 * interval;
                // ST = T + offset; none given: 0 (unknown).
                let st = offsets.get(k).copied().flatten().map_or(0, |o| t + o);
                match item {
                    Item::Value(v) => series.push((t, v, st)),
                    Item::Stale => series.push((t, model::stale_nan(), st)),
                    Item::Histogram(h) => {
                        self.has_histograms = true;
                        if !self.histogram_series.contains(&labels) {
                            self.histogram_series.push(labels.clone());
                        }
                        hists.push((t, *h, st));
                    }
                    Item::Omitted => {}
                }
            }
            if nhcb {
                if let Some(name) = labels.metric_name() {
                    for suffix in ["_bucket", "_sum", "_count"] {
                        if let Some(base) = name.strip_suffix(suffix) {
                            let mut b = labels.to_builder();
                            b.set(model::METRIC_NAME, base);
                            b.delete("le");
                            self.histogram_series.push(b.build());
                        }
                    }
                }
            }
            per_series_h.insert(labels.clone(), hists);
            per_series.insert(labels, series);
        }
        if pending_starts.is_some() {
            return Err("@st line has no following sample line".into());
        }
        if nhcb {
            // load_with_nhcb also stores each classic histogram family as a native
            // histogram with custom buckets under the base name (upstream's
            // appendCustomHistogram).
            for (labels, hs) in classic_as_nhcb(&per_series)? {
                per_series_h
                    .entry(labels)
                    .or_default()
                    .extend(hs.into_iter().map(|(t, h)| (t, h, 0)));
            }
        }
        let mut samples: Vec<(Labels, i64, f64, i64)> = per_series
            .into_iter()
            .flat_map(|(l, pts)| pts.into_iter().map(move |(t, v, st)| (l.clone(), t, v, st)))
            .collect();
        samples.sort_by_key(|s| s.1);
        let mut histograms: Vec<(Labels, i64, HistogramValue, i64)> = per_series_h
            .into_iter()
            .flat_map(|(l, hs)| {
                hs.into_iter()
                    .map(move |(t, h, st)| (l.clone(), t, HistogramValue::Float(h), st))
            })
            .collect();
        histograms.sort_by_key(|s| s.1);
        let db = self.db();
        // In time order across both kinds (a series may have floats and histograms): the
        // floats up to each histogram time, then the histograms at that time.
        let mut floats = samples.as_slice();
        let mut hists = histograms.as_slice();
        while !floats.is_empty() || !hists.is_empty() {
            let until = hists.first().map_or(i64::MAX, |h| h.1);
            let n = floats.partition_point(|s| s.1 <= until);
            let (now, later) = floats.split_at(n);
            floats = later;
            if !now.is_empty() {
                let starts: Vec<i64> = now.iter().map(|s| s.3).collect();
                let plain: Vec<(Labels, i64, f64)> =
                    now.iter().map(|(l, t, v, _)| (l.clone(), *t, *v)).collect();
                db.append_batch_with_starts(&[], &[], &plain, &starts)
                    .map_err(|e| format!("append: {e}"))?;
            }
            let m = hists.partition_point(|h| h.1 <= until);
            let (now, later) = hists.split_at(m);
            hists = later;
            if !now.is_empty() {
                let starts: Vec<i64> = now.iter().map(|s| s.3).collect();
                let plain: Vec<(Labels, i64, HistogramValue)> = now
                    .iter()
                    .map(|(l, t, h, _)| (l.clone(), *t, h.clone()))
                    .collect();
                let r = db
                    .append_histogram_batch_with_starts(&[], &plain, &[], &starts)
                    .map_err(|e| format!("append: {e}"))?
                    .result;
                if r.invalid_histograms > 0 {
                    return Err(format!(
                        "{} invalid histograms in the load",
                        r.invalid_histograms
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A series' histogram samples: (time, histogram).
type HistogramPoints = Vec<(i64, FloatHistogram)>;

/// The classic histogram families among `series`, as native histograms with custom
/// buckets: per family (labels without `le`, base name), one per time.
fn classic_as_nhcb(
    series: &BTreeMap<Labels, Vec<(i64, f64, i64)>>,
) -> Result<Vec<(Labels, HistogramPoints)>, String> {
    use model::histogram::nhcb::{classic_part, ClassicHistogram, ClassicPart, Converted};
    let mut families: BTreeMap<Labels, BTreeMap<i64, ClassicHistogram>> = BTreeMap::new();
    for (labels, points) in series {
        let Some((part, base)) = labels.metric_name().and_then(classic_part) else {
            continue;
        };
        let le = if part == ClassicPart::Bucket {
            match labels.get("le").map(str::parse::<f64>) {
                Some(Ok(le)) if !le.is_nan() => Some(le),
                Some(_) => continue,
                None => return Err(format!("expected bucket label in metric {labels}")),
            }
        } else {
            None
        };
        let mut b = labels.to_builder();
        b.set(model::METRIC_NAME, base);
        b.delete("le");
        let family = families.entry(b.build()).or_default();
        for &(t, v, _) in points {
            let h = family.entry(t).or_default();
            match part {
                ClassicPart::Bucket => h.set_bucket(le.unwrap_or(f64::NAN), v),
                ClassicPart::Count => h.set_count(v),
                ClassicPart::Sum => h.set_sum(v),
            }
        }
    }
    let mut out = Vec::new();
    for (labels, by_time) in families {
        let mut hs = Vec::new();
        for (t, h) in by_time {
            let h = match h.convert().map_err(|e| e.to_string())? {
                Converted::Int(h) => {
                    h.validate().map_err(|e| e.to_string())?;
                    h.to_float()
                }
                Converted::Float(h) => h,
            };
            h.validate().map_err(|e| e.to_string())?;
            hs.push((t, h));
        }
        out.push((labels, hs));
    }
    Ok(out)
}

fn check_annotations(e: &Expect, res: &promql::QueryResult) -> Result<(), String> {
    let warns: Vec<String> = res
        .annotations
        .iter()
        .filter(|a| a.kind == promql::AnnotationKind::Warning)
        .map(|a| a.text())
        .collect();
    let infos: Vec<String> = res
        .annotations
        .iter()
        .filter(|a| a.kind == promql::AnnotationKind::Info)
        .map(|a| a.text())
        .collect();
    let matches = |(kind, text): &(String, String), actual: &str| -> bool {
        match kind.as_str() {
            "msg" => actual == text,
            "regex" => regex::Regex::new(text)
                .map(|r| r.is_match(actual))
                .unwrap_or(false),
            _ => true,
        }
    };
    for (list, expected, any, none, what) in [
        (&warns, &e.warn, e.warn_any, e.no_warn, "warning"),
        (&infos, &e.info, e.info_any, e.no_info, "info"),
    ] {
        if none && !list.is_empty() {
            return Err(format!("unexpected {what}s: {list:?}"));
        }
        if any || !expected.is_empty() {
            if list.is_empty() {
                return Err(format!("expected a {what}, got none"));
            }
            for a in list {
                if !expected.is_empty() && !expected.iter().any(|x| matches(x, a)) {
                    return Err(format!("unexpected {what} {a:?}"));
                }
            }
            for x in expected {
                if !list.iter().any(|a| matches(x, a)) {
                    return Err(format!("expected {what} {x:?} not found in {list:?}"));
                }
            }
        }
    }
    Ok(())
}

fn compare(ev: &Eval, value: &Value, at: i64) -> Result<(), String> {
    let e = &ev.expect;
    if let Some(s) = &e.string {
        return match value {
            Value::String { s: got, .. } if got == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {other:?}")),
        };
    }
    if let Some(x) = e.scalar {
        return match value {
            Value::Scalar { v, .. } if almost_equal(*v, x) => Ok(()),
            other => Err(format!("expected scalar {x}, got {other:?}")),
        };
    }
    let (start, step) = if let Some((s, _, st)) = ev.range {
        (s, st)
    } else if let Some((s, _, st)) = e.range_vector {
        (s, st)
    } else {
        (at, 0)
    };
    match value {
        Value::Matrix(m) if ev.range.is_some() || e.range_vector.is_some() => {
            if m.windows(2).any(|w| w[0].labels > w[1].labels) {
                return Err("matrix not sorted by labels".into());
            }
            let mut expected: BTreeMap<Labels, &Vec<Item>> = BTreeMap::new();
            for (l, items) in &e.series {
                expected.insert(l.clone(), items);
            }
            if m.len() != expected.len() {
                return Err(format!(
                    "expected {} series, got {}: {:?}",
                    expected.len(),
                    m.len(),
                    m.iter().map(|s| s.labels.to_string()).collect::<Vec<_>>()
                ));
            }
            for s in m {
                let Some(items) = expected.get(&s.labels) else {
                    return Err(format!("unexpected series {}", s.labels));
                };
                let want: Vec<(i64, f64)> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(k, it)| match it {
                        Item::Value(v) => Some((start + k as i64 * step, *v)),
                        Item::Stale => Some((start + k as i64 * step, model::stale_nan())),
                        _ => None,
                    })
                    .collect();
                if want.len() != s.points.len()
                    || want
                        .iter()
                        .zip(&s.points)
                        .any(|(w, g)| w.0 != g.0 || !almost_equal(w.1, g.1))
                {
                    return Err(format!(
                        "series {}: expected {want:?}, got {:?}",
                        s.labels, s.points
                    ));
                }
                let want_h: Vec<(i64, &FloatHistogram)> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(k, it)| match it {
                        Item::Histogram(h) => Some((start + k as i64 * step, &**h)),
                        _ => None,
                    })
                    .collect();
                if want_h.len() != s.histograms.len()
                    || want_h
                        .iter()
                        .zip(&s.histograms)
                        .any(|(w, g)| w.0 != g.0 || !histograms_equal(w.1, &g.1))
                {
                    return Err(format!(
                        "series {}: expected histograms {want_h:?}, got {:?}",
                        s.labels, s.histograms
                    ));
                }
            }
            Ok(())
        }
        Value::Vector(v) if ev.range.is_none() && e.range_vector.is_none() => {
            if e.ordered {
                if v.len() != e.series.len() {
                    return Err(format!(
                        "expected {} samples, got {}",
                        e.series.len(),
                        v.len()
                    ));
                }
                for (i, (s, (l, items))) in v.iter().zip(&e.series).enumerate() {
                    if &s.labels != l {
                        return Err(format!("position {i}: expected {l}, got {}", s.labels));
                    }
                    if !sample_matches(items.first(), s) {
                        return Err(format!("{l}: expected {items:?}, got {}", show(s)));
                    }
                }
                return Ok(());
            }
            let mut expected: HashMap<&Labels, &Vec<Item>> = HashMap::new();
            for (l, items) in &e.series {
                expected.insert(l, items);
            }
            if v.len() != expected.len() {
                return Err(format!(
                    "expected {} samples, got {}: {:?}",
                    expected.len(),
                    v.len(),
                    v.iter()
                        .map(|s| format!("{} {}", s.labels, show(s)))
                        .collect::<Vec<_>>()
                ));
            }
            for s in v {
                let Some(items) = expected.get(&s.labels) else {
                    return Err(format!("unexpected sample {} {}", s.labels, show(s)));
                };
                if !sample_matches(items.first(), s) {
                    return Err(format!("{}: expected {items:?}, got {}", s.labels, show(s)));
                }
            }
            Ok(())
        }
        Value::Scalar { v, .. } => Err(format!("unexpected scalar {v}")),
        other => Err(format!(
            "unexpected result type {}: {other:?}",
            other.type_name()
        )),
    }
}

/// Whether a vector sample is the expected item: a float as a float, a histogram as a
/// histogram.
fn sample_matches(want: Option<&Item>, got: &promql::Sample) -> bool {
    match (want, &got.h) {
        (Some(Item::Value(x)), None) => almost_equal(*x, got.v),
        (Some(Item::Histogram(w)), Some(h)) => histograms_equal(w, h),
        _ => false,
    }
}

fn show(s: &promql::Sample) -> String {
    match &s.h {
        Some(h) => format!("{h:?}"),
        None => s.v.to_string(),
    }
}

/// Upstream's comparison of native histograms: both compacted, then schema, counts, sum,
/// zero bucket, custom bounds, spans and buckets (floats with the runner's epsilon); the
/// counter reset hint only when the expectation states one.
fn histograms_equal(want: &FloatHistogram, got: &FloatHistogram) -> bool {
    let (mut w, mut g) = (want.clone(), got.clone());
    w.compact(0);
    g.compact(0);
    let floats = |a: &[f64], b: &[f64]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| almost_equal(*x, *y))
    };
    w.schema == g.schema
        && almost_equal(w.count, g.count)
        && almost_equal(w.sum, g.sum)
        && almost_equal(w.zero_threshold, g.zero_threshold)
        && almost_equal(w.zero_count, g.zero_count)
        && floats(&w.custom_values, &g.custom_values)
        && model::histogram::spans_match(&w.positive_spans, &g.positive_spans)
        && model::histogram::spans_match(&w.negative_spans, &g.negative_spans)
        && floats(&w.positive_buckets, &g.positive_buckets)
        && floats(&w.negative_buckets, &g.negative_buckets)
        && (w.counter_reset_hint == model::histogram::CounterResetHint::Unknown
            || w.counter_reset_hint == g.counter_reset_hint)
}

fn fail_matches(expected: &Option<(String, String)>, err: &str) -> Result<(), String> {
    match expected {
        None => Ok(()),
        Some((kind, text)) => {
            let ok = match kind.as_str() {
                "msg" => err == text,
                "regex" => regex::Regex::new(text)
                    .map(|r| r.is_match(err))
                    .unwrap_or(false),
                _ => true,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("error {err:?} does not match {kind}:{text}"))
            }
        }
    }
}

fn run_eval(r: &mut Runner, ev: &Eval) -> Result<(), String> {
    let expr = promql::parse(&ev.query).map_err(|e| format!("parse: {e}"))?;
    let expect_fail = ev.expect.fail_any;
    let engine = r.engine.clone();
    let db = r.db();
    let exec = |expr: &promql::Expr, s: i64, e: i64, step: i64| {
        engine.exec(db, expr, &ev.query, s, e, step, &QueryOptions::default())
    };
    if let Some((s, e, step)) = ev.range {
        let res = exec(&expr, s, e, step);
        return match (res, expect_fail) {
            (Err(err), true) => fail_matches(&ev.expect.fail, &err.to_string()),
            (Err(err), false) => Err(format!("unexpected error: {err}")),
            (Ok(_), true) => Err("expected an error".into()),
            (Ok(res), false) => {
                check_annotations(&ev.expect, &res)?;
                compare(ev, &res.value, s)
            }
        };
    }
    let t = ev.instant_at.unwrap_or(0);
    // The query as written, then pinned with `@` at other evaluation times.
    let mut cases: Vec<(promql::Expr, i64)> = vec![(expr.clone(), t)];
    if !promql::uses_at_unsafe_function(&expr) {
        let mut pinned = expr.clone();
        promql::pin_at(&mut pinned, t);
        let times: Vec<i64> = if t == 0 {
            vec![-1000, 0, 1000]
        } else {
            vec![-10 * t, 0, t / 5, t, 10 * t]
        };
        for at in times {
            cases.push((pinned.clone(), at));
        }
    }
    let skip_range = ev.expect.ordered
        || ev.expect.range_vector.is_some()
        || ev.expect.string.is_some()
        || regex::Regex::new(r"(start|end|range|step)\(\)")
            .map(|re| re.is_match(&ev.query))
            .unwrap_or(false);
    for (i, (case, at)) in cases.iter().enumerate() {
        let label = if i == 0 {
            String::new()
        } else {
            format!(" (pinned @{t}ms, evaluated at {at}ms)")
        };
        let res = exec(case, *at, *at, 0);
        match (res, expect_fail) {
            (Err(err), true) => {
                fail_matches(&ev.expect.fail, &err.to_string())
                    .map_err(|e| format!("{e}{label}"))?;
                continue;
            }
            (Err(err), false) => return Err(format!("unexpected error: {err}{label}")),
            (Ok(_), true) => return Err(format!("expected an error{label}")),
            (Ok(res), false) => {
                check_annotations(&ev.expect, &res).map_err(|e| format!("{e}{label}"))?;
                compare(ev, &res.value, *at).map_err(|e| format!("{e}{label}"))?;
            }
        }
        if skip_range {
            continue;
        }
        let res = exec(case, at - 60_000, at + 60_000, 60_000)
            .map_err(|e| format!("range mode: unexpected error: {e}{label}"))?;
        let value =
            match res.value {
                Value::Matrix(m) => {
                    if m.windows(2).any(|w| w[0].labels > w[1].labels) {
                        return Err(format!("range mode: matrix not sorted{label}"));
                    }
                    if ev.expect.scalar.is_some() {
                        let v = m
                            .first()
                            .and_then(|s| s.points.iter().find(|p| p.0 == *at))
                            .map(|p| p.1)
                            .unwrap_or(f64::NAN);
                        Value::Scalar { t: *at, v }
                    } else {
                        Value::Vector(
                            m.into_iter()
                                .filter_map(|s| {
                                    let float = s.points.iter().find(|p| p.0 == *at).map(|p| {
                                        promql::Sample {
                                            labels: s.labels.clone(),
                                            t: *at,
                                            v: p.1,
                                            h: None,
                                        }
                                    });
                                    float.or_else(|| {
                                        s.histograms.iter().find(|p| p.0 == *at).map(|p| {
                                            promql::Sample {
                                                labels: s.labels.clone(),
                                                t: *at,
                                                v: 0.0,
                                                h: Some(p.1.clone()),
                                            }
                                        })
                                    })
                                })
                                .collect(),
                        )
                    }
                }
                other => other,
            };
        let mut unordered = ev.clone();
        unordered.expect.ordered = false;
        compare(&unordered, &value, *at).map_err(|e| format!("range mode: {e}{label}"))?;
    }
    Ok(())
}

fn parse_expect_line(e: &mut Expect, line: &str) -> Result<bool, String> {
    let rest = line.trim_start_matches("expect").trim();
    if let Some(r) = rest.strip_prefix("range vector") {
        let parts: Vec<&str> = r.split_whitespace().collect();
        if parts.len() == 6 && parts[0] == "from" && parts[2] == "to" && parts[4] == "step" {
            let d = |s: &str| duration_ms(s).ok_or_else(|| format!("bad duration {s}"));
            e.range_vector = Some((d(parts[1])?, d(parts[3])?, d(parts[5])?));
            return Ok(false);
        }
        return Err(format!("bad expect line {line}"));
    }
    if let Some(r) = rest.strip_prefix("string") {
        let r = r.trim();
        let s = if r.starts_with('`') {
            r.trim_matches('`').to_string()
        } else {
            serde_unquote(r)?
        };
        e.string = Some(s);
        return Ok(false);
    }
    let (kind, tail) = match rest.split_once(char::is_whitespace) {
        Some((k, t)) => (k, t.trim()),
        None => (rest, ""),
    };
    let matcher = if tail.is_empty() {
        None
    } else {
        let (mk, text) = tail
            .split_once(':')
            .ok_or_else(|| format!("bad expect line {line}"))?;
        Some((mk.trim().to_string(), text.trim().to_string()))
    };
    match kind {
        "fail" => {
            e.fail_any = true;
            e.fail = matcher;
        }
        "warn" => match matcher {
            Some(m) => e.warn.push(m),
            None => e.warn_any = true,
        },
        "info" => match matcher {
            Some(m) => e.info.push(m),
            None => e.info_any = true,
        },
        "no_warn" => e.no_warn = true,
        "no_info" => e.no_info = true,
        "ordered" => e.ordered = true,
        _ => return Err(format!("bad expect line {line}")),
    }
    Ok(false)
}

fn serde_unquote(s: &str) -> Result<String, String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .ok_or_else(|| format!("bad string {s}"))?;
    Ok(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// Parses a file into commands: `Load(interval, lines)`, `Clear`, `Eval`.
enum Cmd {
    Load(i64, bool, Vec<(usize, String)>),
    Clear,
    Eval(Box<Eval>),
}

fn parse_file(text: &str) -> Result<Vec<Cmd>, String> {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    let eval_instant = regex::Regex::new(
        r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$",
    )
    .map_err(|e| e.to_string())?;
    let eval_range = regex::Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
    )
    .map_err(|e| e.to_string())?;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_empty() {
            i += 1;
            continue;
        }
        let lineno = i + 1;
        let first = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if first == "clear" {
            cmds.push(Cmd::Clear);
            i += 1;
            continue;
        }
        if first.starts_with("load") {
            let interval_text = line
                .split_whitespace()
                .nth(1)
                .ok_or("load without interval")?;
            let interval =
                duration_ms(interval_text).ok_or_else(|| format!("line {lineno}: bad interval"))?;
            i += 1;
            let mut body = Vec::new();
            while i < lines.len() && !lines[i].is_empty() {
                body.push((i + 1, lines[i].clone()));
                i += 1;
            }
            cmds.push(Cmd::Load(
                interval,
                first.starts_with("load_with_nhcb"),
                body,
            ));
            continue;
        }
        if first.starts_with("eval") {
            let mut ev = Eval {
                line: lineno,
                query: String::new(),
                instant_at: None,
                range: None,
                expect: Expect::default(),
            };
            let legacy;
            if let Some(c) = eval_instant.captures(line) {
                legacy = c.get(1).map(|m| m.as_str().to_string());
                ev.instant_at = Some(match c.get(2) {
                    Some(m) => {
                        duration_ms(m.as_str()).ok_or_else(|| format!("line {lineno}: bad time"))?
                    }
                    None => 0,
                });
                ev.query = c[3].to_string();
            } else if let Some(c) = eval_range.captures(line) {
                legacy = c.get(1).map(|m| m.as_str().to_string());
                let d = |s: &str| {
                    duration_ms(s).ok_or_else(|| format!("line {lineno}: bad duration {s}"))
                };
                ev.range = Some((d(&c[2])?, d(&c[3])?, d(&c[4])?));
                ev.query = c[5].to_string();
            } else {
                return Err(format!("line {lineno}: bad eval line"));
            }
            match legacy.as_deref() {
                Some("fail") => ev.expect.fail_any = true,
                Some("warn") => ev.expect.warn_any = true,
                Some("info") => ev.expect.info_any = true,
                Some("ordered") => ev.expect.ordered = true,
                _ => {}
            }
            i += 1;
            while i < lines.len() && !lines[i].is_empty() {
                let body = &lines[i];
                i += 1;
                if body.split_whitespace().next() == Some("expect") {
                    parse_expect_line(&mut ev.expect, body)?;
                    continue;
                }
                if let Some(msg) = body.strip_prefix("expected_fail_message") {
                    ev.expect.fail = Some(("msg".into(), msg.trim().to_string()));
                    break;
                }
                if let Some(re) = body.strip_prefix("expected_fail_regexp") {
                    ev.expect.fail = Some(("regex".into(), re.trim().to_string()));
                    break;
                }
                if let Some(v) = number(body) {
                    ev.expect.scalar = Some(v);
                    break;
                }
                let (desc, values) = split_series_line(body);
                if values.contains("{{") {
                    ev.expect.histogram = true;
                }
                let labels = parse_labels(desc).map_err(|e| format!("line {}: {e}", i))?;
                let items = expand_items(values).map_err(|e| format!("line {}: {e}", i))?;
                ev.expect.series.push((labels, items));
            }
            cmds.push(Cmd::Eval(Box::new(ev)));
            continue;
        }
        return Err(format!("line {lineno}: invalid command {first:?}"));
    }
    Ok(cmds)
}

/// Whether any selector of the query selects a series that has histogram samples.
fn touches_histograms(r: &Runner, query: &str) -> bool {
    let Ok(expr) = promql::parse(query) else {
        return false;
    };
    let mut selectors: Vec<Vec<model::Matcher>> = Vec::new();
    collect_selectors(&expr, &mut selectors);
    selectors.iter().any(|ms| {
        r.histogram_series
            .iter()
            .any(|l| ms.iter().all(|m| m.matches_labels(l)))
    })
}

fn collect_selectors(e: &promql::Expr, out: &mut Vec<Vec<model::Matcher>>) {
    use promql::ast::ExprKind as K;
    match &e.kind {
        K::Vector(vs) => out.push(vs.matchers.clone()),
        K::Matrix(ms) => out.push(ms.selector.matchers.clone()),
        K::Subquery(sq) => collect_selectors(&sq.expr, out),
        K::Paren(i) | K::Unary(_, i) | K::StepInvariant(i) => collect_selectors(i, out),
        K::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        K::Aggregate(a) => {
            collect_selectors(&a.expr, out);
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
        }
        K::Call(c) => c.args.iter().for_each(|a| collect_selectors(a, out)),
        K::Number { .. } | K::String(_) => {}
    }
}

/// `file:line reason` entries of evals allowed to fail for now.
fn skip_list() -> BTreeMap<(String, usize), String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-skips.txt"),
    )
    .unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((loc, reason)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if let Some((file, n)) = loc.rsplit_once(':') {
            if let Ok(n) = n.parse() {
                out.insert((file.to_string(), n), reason.trim().to_string());
            }
        }
    }
    out
}

#[test]
fn promql_corpus() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let only = std::env::var("PROMQL_TEST_FILE").ok();
    let verbose = std::env::var("PROMQL_TEST_VERBOSE").is_ok();
    // PROMQL_TEST_IGNORE_SKIPS: run as if the skip list were empty (to see every failure).
    let skips = if std::env::var("PROMQL_TEST_IGNORE_SKIPS").is_ok() {
        BTreeMap::new()
    } else {
        skip_list()
    };
    let mut unexpected: Vec<String> = Vec::new();
    let mut stale_skips: Vec<String> = Vec::new();
    let (mut total_pass, mut total_fail, mut total_skip) = (0, 0, 0);
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cmds = match parse_file(&text) {
            Ok(c) => c,
            Err(e) => {
                unexpected.push(format!("{name}: cannot parse the file: {e}"));
                continue;
            }
        };
        let mut runner = Runner {
            engine: Engine::new(EngineOptions {
                lookback_delta_ms: 5 * 60 * 1000,
                max_samples: 10_000_000,
                timeout: None,
                subquery_step_ms: 60_000,
                // Upstream's test engine runs with delayed name removal and start
                // timestamps in use.
                delayed_name_removal: true,
                use_start_timestamps: true,
                ..EngineOptions::default()
            }),
            dir: tempfile::tempdir().expect("temp dir"),
            db: None,
            generation: 0,
            has_histograms: false,
            histogram_series: Vec::new(),
        };
        let (mut pass, mut fail, mut skipped) = (0, 0, 0);
        for cmd in cmds {
            match cmd {
                Cmd::Clear => runner.clear(),
                Cmd::Load(interval, nhcb, lines) => {
                    if let Err(e) = runner.load(interval, nhcb, &lines) {
                        unexpected.push(format!(
                            "{name}:{}: load failed: {e}",
                            lines.first().map(|l| l.0).unwrap_or(0)
                        ));
                    }
                }
                Cmd::Eval(ev) => {
                    let result = run_eval(&mut runner, &ev);
                    let key = (name.clone(), ev.line);
                    match (result, skips.get(&key)) {
                        (Ok(()), None) => pass += 1,
                        (Ok(()), Some(_)) => {
                            pass += 1;
                            stale_skips.push(format!(
                                "{name}:{} passes but is listed as skipped",
                                ev.line
                            ));
                        }
                        (Err(_), Some(_)) => skipped += 1,
                        (Err(e), None) => {
                            fail += 1;
                            if verbose {
                                let why = if ev.expect.histogram {
                                    "native histograms: the expected result has histogram samples"
                                } else if touches_histograms(&runner, &ev.query) {
                                    "native histograms: the query selects series with histogram samples"
                                } else {
                                    "FLOAT"
                                };
                                eprintln!("FAIL {name}:{} {why} | {}\n    {e}", ev.line, ev.query);
                            }
                            unexpected.push(format!("{name}:{}: {} -- {e}", ev.line, ev.query));
                        }
                    }
                }
            }
        }
        println!("{name}: {pass} passed, {fail} failed, {skipped} skipped");
        total_pass += pass;
        total_fail += fail;
        total_skip += skipped;
    }
    println!("total: {total_pass} passed, {total_fail} failed, {total_skip} skipped");
    let mut problems = unexpected;
    problems.extend(stale_skips);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
