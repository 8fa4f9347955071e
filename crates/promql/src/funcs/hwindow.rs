//! Range functions over a window that holds native histogram samples (with or without
//! floats), as upstream's functions treat them: `rate`/`increase`/`delta` and
//! `irate`/`idelta` give histograms, `sum_`/`avg_over_time` add them up, `count_`,
//! `last_`/`first_`, `ts_of_*`, `present_over_time`, `changes` and `resets` count both
//! kinds, and the float-only functions ignore histograms with an info.

use model::histogram::{CounterResetHint, FloatHistogram, HistogramError};

use super::range::RangeFn;
use super::window::is_start_reset;
use crate::histogram_sum::KahanHist;
use crate::value::AnnotationKind;

/// A window's result.
pub(super) enum Out {
    Float(f64),
    Hist(FloatHistogram),
}

/// Annotations a window gave: kind and text (the query adds the position).
pub(super) type Notes = Vec<(AnnotationKind, String)>;

fn mixed(metric: &str) -> (AnnotationKind, String) {
    (
        AnnotationKind::Warning,
        format!("encountered a mix of histograms and floats for metric name {metric:?}"),
    )
}

fn ignored(metric: &str) -> (AnnotationKind, String) {
    (
        AnnotationKind::Info,
        format!("ignored histograms in a range containing both floats and histograms for metric name {metric:?}"),
    )
}

fn mixed_schemas(metric: &str) -> (AnnotationKind, String) {
    (
        AnnotationKind::Warning,
        format!("vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"),
    )
}

fn not_counter(metric: &str) -> (AnnotationKind, String) {
    (
        AnnotationKind::Warning,
        format!("this native histogram metric is not a counter: {metric:?}"),
    )
}

fn not_gauge(metric: &str) -> (AnnotationKind, String) {
    (
        AnnotationKind::Warning,
        format!("this native histogram metric is not a gauge: {metric:?}"),
    )
}

fn reconciled(operation: &str) -> (AnnotationKind, String) {
    (
        AnnotationKind::Info,
        format!("mismatched custom buckets were reconciled during {operation}"),
    )
}

/// The value of range function `f` over a window of floats `w` and histograms `hw` (`hw`
/// not empty), `(rs, re]`; `hsts` are the histograms' start timestamps (empty: none).
#[allow(clippy::too_many_arguments)]
pub(super) fn hist_window_value(
    f: Option<RangeFn>,
    w: &[(i64, f64)],
    hw: &[(i64, FloatHistogram)],
    hsts: &[i64],
    rs: i64,
    re: i64,
    range: i64,
    metric: &str,
    notes: &mut Notes,
) -> Option<Out> {
    let f = f?;
    match f {
        RangeFn::Rate | RangeFn::Increase | RangeFn::Delta => {
            if !w.is_empty() {
                notes.push(mixed(metric));
                return None;
            }
            let counter = f != RangeFn::Delta;
            extrapolated_histogram_rate(
                hw,
                if counter { hsts } else { &[] },
                rs,
                re,
                range,
                counter,
                f == RangeFn::Rate,
                metric,
                notes,
            )
            .map(Out::Hist)
        }
        RangeFn::Irate | RangeFn::Idelta => {
            instant_value(w, hw, hsts, f == RangeFn::Irate, metric, notes)
        }
        RangeFn::SumOverTime | RangeFn::AvgOverTime => {
            if !w.is_empty() {
                notes.push(mixed(metric));
                return None;
            }
            sum_histograms(hw, f == RangeFn::AvgOverTime, metric, notes).map(Out::Hist)
        }
        RangeFn::CountOverTime => Some(Out::Float((w.len() + hw.len()) as f64)),
        RangeFn::PresentOverTime => Some(Out::Float(1.0)),
        RangeFn::LastOverTime => {
            let h = &hw[hw.len() - 1];
            match w.last() {
                Some(&(t, v)) if h.0 < t => Some(Out::Float(v)),
                _ => Some(Out::Hist(h.1.clone())),
            }
        }
        RangeFn::FirstOverTime => {
            let h = &hw[0];
            match w.first() {
                Some(&(t, v)) if t < h.0 => Some(Out::Float(v)),
                _ => Some(Out::Hist(h.1.clone())),
            }
        }
        RangeFn::TsOfLastOverTime => {
            let t = w
                .last()
                .map_or(hw[hw.len() - 1].0, |p| p.0.max(hw[hw.len() - 1].0));
            Some(Out::Float(t as f64 / 1000.0))
        }
        RangeFn::TsOfFirstOverTime => {
            let t = w.first().map_or(hw[0].0, |p| p.0.min(hw[0].0));
            Some(Out::Float(t as f64 / 1000.0))
        }
        RangeFn::Changes | RangeFn::Resets => Some(Out::Float(changes_or_resets(
            w,
            hw,
            hsts,
            f == RangeFn::Changes,
        ))),
        // Float-only functions: histograms are ignored (with an info when they were beside
        // floats that gave a value).
        RangeFn::Deriv | RangeFn::PredictLinear => {
            if w.is_empty() {
                return None;
            }
            notes.push(ignored(metric));
            None
        }
        _ => {
            if !w.is_empty() {
                notes.push(ignored(metric));
            }
            None
        }
    }
}

/// Whether the float-only function `f` still computes over the window's floats when it
/// also holds histograms (the histograms ignored, with an info).
pub(super) fn floats_despite_histograms(f: Option<RangeFn>) -> bool {
    matches!(
        f,
        Some(
            RangeFn::MinOverTime
                | RangeFn::MaxOverTime
                | RangeFn::TsOfMinOverTime
                | RangeFn::TsOfMaxOverTime
                | RangeFn::StddevOverTime
                | RangeFn::StdvarOverTime
                | RangeFn::QuantileOverTime
                | RangeFn::MadOverTime
                | RangeFn::Deriv
                | RangeFn::PredictLinear
                | RangeFn::DoubleExponentialSmoothing
        )
    )
}

/// `changes` or `resets` over floats and histograms in time order: a change of kind
/// counts as a change and as a reset.
/// A histogram's start timestamp saying it restarted counts as a reset too (`hsts`: the
/// histograms' start timestamps, or empty).
fn changes_or_resets(
    w: &[(i64, f64)],
    hw: &[(i64, FloatHistogram)],
    hsts: &[i64],
    changes: bool,
) -> f64 {
    enum S<'a> {
        F(f64),
        H(&'a FloatHistogram, i64),
    }
    let mut merged: Vec<(i64, S<'_>)> = w.iter().map(|&(t, v)| (t, S::F(v))).collect();
    merged.extend(
        hw.iter()
            .enumerate()
            .map(|(i, (t, h))| (*t, S::H(h, hsts.get(i).copied().unwrap_or(0)))),
    );
    merged.sort_by_key(|(t, _)| *t);
    let mut n = 0;
    for pair in merged.windows(2) {
        let counted = match (&pair[0].1, &pair[1].1) {
            (S::F(a), S::F(b)) => {
                if changes {
                    a != b && !(a.is_nan() && b.is_nan())
                } else {
                    b < a
                }
            }
            (S::H(a, st_a), S::H(b, st_b)) => {
                if changes {
                    !b.equals(a)
                } else {
                    b.detect_reset(a) || is_start_reset(*st_a, pair[0].0, *st_b, pair[1].0)
                }
            }
            _ => true,
        };
        n += usize::from(counted);
    }
    n as f64
}

/// `irate`/`idelta`: from the last two samples of either kind.
fn instant_value(
    w: &[(i64, f64)],
    hw: &[(i64, FloatHistogram)],
    hsts: &[i64],
    rate: bool,
    metric: &str,
    notes: &mut Notes,
) -> Option<Out> {
    if w.len() + hw.len() < 2 {
        return None;
    }
    enum S<'a> {
        F(f64),
        H(&'a FloatHistogram),
    }
    let mut last: Vec<(i64, S<'_>)> = w[w.len().saturating_sub(2)..]
        .iter()
        .map(|&(t, v)| (t, S::F(v)))
        .collect();
    last.extend(
        hw[hw.len().saturating_sub(2)..]
            .iter()
            .map(|(t, h)| (*t, S::H(h))),
    );
    last.sort_by_key(|(t, _)| *t);
    let n = last.len();
    let (t0, s0) = &last[n - 2];
    let (t1, s1) = &last[n - 1];
    let interval = t1 - t0;
    if interval == 0 {
        return None;
    }
    let secs = interval as f64 / 1000.0;
    match (s0, s1) {
        (S::F(a), S::F(b)) => {
            let v = if rate && b < a { *b } else { b - a };
            Some(Out::Float(if rate { v / secs } else { v }))
        }
        (S::H(a), S::H(b)) => {
            let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
            if rate && (gauge(a) || gauge(b)) {
                notes.push(not_counter(metric));
            }
            if !rate && (!gauge(a) || !gauge(b)) {
                notes.push(not_gauge(metric));
            }
            let mut out = (*b).clone();
            // The last two histograms' start timestamps may say the counter restarted.
            let n = hw.len();
            let start_reset = rate
                && n >= 2
                && hsts.len() == n
                && is_start_reset(hsts[n - 2], hw[n - 2].0, hsts[n - 1], hw[n - 1].0);
            if !rate || !(start_reset || b.detect_reset(a)) {
                match out.sub(a) {
                    Err(HistogramError::IncompatibleSchemas) => {
                        notes.push(mixed_schemas(metric));
                        return None;
                    }
                    Ok(c) if c.custom_bounds_reconciled => notes.push(reconciled("subtraction")),
                    _ => {}
                }
            }
            out.counter_reset_hint = CounterResetHint::Gauge;
            out.compact(0);
            if rate {
                out.div(secs);
            }
            Some(Out::Hist(out))
        }
        _ => {
            notes.push(mixed(metric));
            None
        }
    }
}

/// `sum_over_time` or `avg_over_time` of histograms.
fn sum_histograms(
    hw: &[(i64, FloatHistogram)],
    avg: bool,
    metric: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let (mut reset_seen, mut not_reset_seen, mut reconciled_seen) = (false, false, false);
    let mut track = |h: &FloatHistogram| match h.counter_reset_hint {
        CounterResetHint::CounterReset => reset_seen = true,
        CounterResetHint::NotCounterReset => not_reset_seen = true,
        _ => {}
    };
    track(&hw[0].1);
    let mut acc = KahanHist::new(&hw[0].1);
    for (_, h) in &hw[1..] {
        track(h);
        match acc.add(h, avg) {
            Err(_) => {
                notes.push(mixed_schemas(metric));
                return None;
            }
            Ok(true) => reconciled_seen = true,
            Ok(false) => {}
        }
    }
    if reset_seen && not_reset_seen {
        notes.push((
            AnnotationKind::Warning,
            "conflicting counter resets during histogram aggregation".to_string(),
        ));
    }
    if reconciled_seen {
        notes.push(reconciled("aggregation"));
    }
    Some(acc.result(avg))
}

/// `rate`, `increase` (`counter`) or `delta` of a window of histograms, extrapolated to
/// the window's edges as for floats (upstream's `extrapolatedRate` with `histogramRate`).
#[allow(clippy::too_many_arguments)]
fn extrapolated_histogram_rate(
    hw: &[(i64, FloatHistogram)],
    hsts: &[i64],
    rs: i64,
    re: i64,
    range: i64,
    counter: bool,
    rate: bool,
    metric: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let hsts = if hsts.len() == hw.len() { hsts } else { &[] };
    // A first sample whose counter started inside the window (the range start is
    // exclusive) counts from zero at its start instead of extrapolating: then even a
    // single sample gives a result.
    let started_inside = counter
        && hsts
            .first()
            .is_some_and(|&st0| st0 != 0 && st0 > rs && st0 < hw[0].0);
    if hw.is_empty() || (hw.len() < 2 && !started_inside) {
        return None;
    }
    let mut result = if hw.len() > 1 {
        Some(histogram_rate(hw, hsts, counter, metric, notes)?)
    } else {
        None
    };
    let (first_t, last_t) = (hw[0].0, hw[hw.len() - 1].0);
    let n_minus_one = (hw.len() - 1) as f64;
    let mut duration_to_start = (first_t - rs) as f64 / 1000.0;
    let mut duration_to_end = (re - last_t) as f64 / 1000.0;
    let mut sampled = (last_t - first_t) as f64 / 1000.0;
    let average = if hw.len() > 1 {
        sampled / n_minus_one
    } else {
        0.0
    };
    let threshold = average * 1.1;
    if started_inside {
        duration_to_start = 0.0;
        sampled = (last_t - hsts[0]) as f64 / 1000.0;
        match &mut result {
            None => {
                let mut first = hw[0].1.clone();
                first.counter_reset_hint = CounterResetHint::Gauge;
                result = Some(first);
            }
            Some(r) => match r.add(&hw[0].1) {
                Err(HistogramError::IncompatibleSchemas) => {
                    notes.push(mixed_schemas(metric));
                    return None;
                }
                Ok(c) if c.custom_bounds_reconciled => notes.push(reconciled("addition")),
                _ => {}
            },
        }
    }
    let mut result = result?;
    if !started_inside && duration_to_start >= threshold {
        duration_to_start = average / 2.0;
    }
    if !started_inside && counter && result.count > 0.0 && hw[0].1.count >= 0.0 {
        let to_zero = sampled * (hw[0].1.count / result.count);
        if to_zero < duration_to_start {
            duration_to_start = to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + duration_to_start + duration_to_end) / sampled
    } else {
        1.0
    };
    if rate {
        factor /= range as f64 / 1000.0;
    }
    result.mul(factor);
    Some(result)
}

/// Upstream's `histogramRate`: the last histogram minus the first (at the lowest schema
/// of the window), with every counter reset's histogram added back.
fn histogram_rate(
    points: &[(i64, FloatHistogram)],
    starts: &[i64],
    counter: bool,
    metric: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let mut prev = points[0].1.clone();
    let last = &points[points.len() - 1].1;
    let mut custom = prev.uses_custom_buckets();
    let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    if counter && (gauge(&prev) || gauge(last)) {
        notes.push(not_counter(metric));
    }
    // A reset between the first two: the first is left out (its layout does not matter).
    if counter {
        let second = &points[1].1;
        let start_reset =
            starts.len() > 1 && is_start_reset(starts[0], points[0].0, starts[1], points[1].0);
        if start_reset || second.detect_reset(&prev) {
            prev = FloatHistogram {
                schema: second.schema,
                custom_values: second.custom_values.clone(),
                ..FloatHistogram::default()
            };
            custom = second.uses_custom_buckets();
        }
    }
    if last.uses_custom_buckets() != custom {
        notes.push(mixed_schemas(metric));
        return None;
    }
    let mut min_schema = last.schema.min(prev.schema);
    for (_, curr) in &points[1..points.len() - 1] {
        if !counter {
            continue;
        }
        if gauge(curr) {
            notes.push(not_counter(metric));
        }
        min_schema = min_schema.min(curr.schema);
        if curr.uses_custom_buckets() != custom {
            notes.push(mixed_schemas(metric));
            return None;
        }
    }
    let mut h = last.clone();
    h.reduce_resolution(min_schema);
    match h.sub(&prev) {
        Err(HistogramError::IncompatibleSchemas) => {
            notes.push(mixed_schemas(metric));
            return None;
        }
        Ok(c) if c.custom_bounds_reconciled => notes.push(reconciled("subtraction")),
        _ => {}
    }
    if counter {
        let mut prev = &prev;
        for (i, (t, curr)) in points[1..].iter().enumerate() {
            let start_reset =
                i + 1 < starts.len() && is_start_reset(starts[i], points[i].0, starts[i + 1], *t);
            if start_reset || curr.detect_reset(prev) {
                match h.add(prev) {
                    Err(HistogramError::IncompatibleSchemas) => {
                        notes.push(mixed_schemas(metric));
                        return None;
                    }
                    Ok(c) if c.custom_bounds_reconciled => notes.push(reconciled("addition")),
                    _ => {}
                }
            }
            prev = curr;
        }
    } else if !gauge(&points[0].1) || !gauge(last) {
        notes.push(not_gauge(metric));
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact(0);
    Some(h)
}

/// Upstream's `interpolateHistograms`: the histogram at `t` between two samples, linearly
/// (for a counter reset between them, from zero to the second).
pub(crate) fn interpolate_histograms(
    (t1, h1): (i64, &FloatHistogram),
    (t2, h2): (i64, &FloatHistogram),
    t: i64,
    counter: bool,
    notes: &mut Notes,
) -> Result<FloatHistogram, HistogramError> {
    if t == t1 {
        return Ok(h1.clone());
    }
    if t == t2 {
        return Ok(h2.clone());
    }
    let fraction = (t - t1) as f64 / (t2 - t1) as f64;
    let mut result = h2.clone();
    if counter && h2.detect_reset(h1) {
        result.mul(fraction);
        return Ok(result);
    }
    if result.sub(h1)?.custom_bounds_reconciled {
        notes.push(reconciled("subtraction"));
    }
    result.mul(fraction);
    if result.add(h1)?.custom_bounds_reconciled {
        notes.push(reconciled("addition"));
    }
    Ok(result)
}

/// The first and last sample an `anchored`/`smoothed` window uses (upstream's searches
/// in `extendedRate`): the last sample at or before the range start, and (smoothed) the
/// first at or after its end.
fn extended_indexes(times: &[i64], rs: i64, re: i64, smoothed: bool) -> Option<(usize, usize)> {
    let n = times.len();
    if n == 0 {
        return None;
    }
    let k = (0..n - 1).find(|&i| times[i] > rs).unwrap_or(n - 1);
    let first = k.saturating_sub(1);
    let mut last = n - 1;
    if smoothed {
        last = (0..n - 1).find(|&i| times[i] >= re).unwrap_or(n - 1);
    }
    if times[last] <= rs || (smoothed && times[first] > re) {
        return None;
    }
    Some((first, last))
}

/// `rate`, `increase` or `delta` over an `anchored` or `smoothed` window of histograms
/// (upstream's `extendedHistogramRate`).
#[allow(clippy::too_many_arguments)]
pub(super) fn extended_histogram_rate(
    h: &[(i64, FloatHistogram)],
    rs: i64,
    re: i64,
    range: i64,
    smoothed: bool,
    counter: bool,
    rate: bool,
    metric: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let times: Vec<i64> = h.iter().map(|p| p.0).collect();
    let (first, last) = extended_indexes(&times, rs, re, smoothed)?;
    let custom = h[first].1.uses_custom_buckets();
    for (_, p) in &h[first..=last] {
        if p.uses_custom_buckets() != custom {
            notes.push(mixed_schemas(metric));
            return None;
        }
        if counter && p.counter_reset_hint == CounterResetHint::Gauge {
            notes.push(not_counter(metric));
        }
    }
    let pick = |i: usize, j: usize, at: i64, notes: &mut Notes| {
        interpolate_histograms((h[i].0, &h[i].1), (h[j].0, &h[j].1), at, counter, notes)
    };
    let left = if smoothed && h[first].0 < rs && first + 1 < h.len() {
        pick(first, first + 1, rs, notes)
    } else {
        Ok(h[first].1.clone())
    };
    let right = if smoothed && last > 0 && h[last].0 > re {
        pick(last - 1, last, re, notes)
    } else {
        Ok(h[last].1.clone())
    };
    let (Ok(left), Ok(right)) = (left, right) else {
        notes.push(mixed_schemas(metric));
        return None;
    };
    let gauge = |x: &FloatHistogram| x.counter_reset_hint == CounterResetHint::Gauge;
    if !counter && (!gauge(&left) || !gauge(&right)) {
        notes.push(not_gauge(metric));
    }
    let mut result = right.clone();
    match result.sub(&left) {
        Err(_) => {
            notes.push(mixed_schemas(metric));
            return None;
        }
        Ok(c) if c.custom_bounds_reconciled => notes.push(reconciled("subtraction")),
        Ok(_) => {}
    }
    if counter {
        // Every reset's histogram added back (upstream's `correctForCounterResetsHistogram`).
        let mut from = first + 1;
        let mut prev = &left;
        if smoothed
            && h[first].0 < rs
            && first + 1 < h.len()
            && h[first + 1].1.detect_reset(&h[first].1)
        {
            prev = &h[first + 1].1;
            from += 1;
        }
        let mut correction: Option<FloatHistogram> = None;
        let mut add = |x: &FloatHistogram, notes: &mut Notes| -> bool {
            match &mut correction {
                None => {
                    correction = Some(x.clone());
                    true
                }
                Some(c) => match c.add(x) {
                    Err(_) => {
                        notes.push(mixed_schemas(metric));
                        false
                    }
                    Ok(r) => {
                        if r.custom_bounds_reconciled {
                            notes.push(reconciled("addition"));
                        }
                        true
                    }
                },
            }
        };
        if from <= last {
            for (_, p) in &h[from..last] {
                if p.detect_reset(prev) && !add(prev, notes) {
                    return None;
                }
                prev = p;
            }
            if right.detect_reset(prev) && !add(prev, notes) {
                return None;
            }
        }
        if let Some(c) = correction {
            match result.add(&c) {
                Err(_) => {
                    notes.push(mixed_schemas(metric));
                    return None;
                }
                Ok(r) if r.custom_bounds_reconciled => notes.push(reconciled("addition")),
                Ok(_) => {}
            }
        }
    }
    if rate {
        result.div(range as f64 / 1000.0);
    }
    result.counter_reset_hint = CounterResetHint::Gauge;
    result.compact(0);
    Some(result)
}

/// `changes` or `resets` over an anchored window of floats and histograms: the newest
/// sample at or before the range start, then every sample after it.
pub(super) fn anchored_changes_or_resets(
    floats: &[(i64, f64)],
    hists: &[(i64, FloatHistogram)],
    rs: i64,
    changes: bool,
) -> Option<f64> {
    let fa = floats.partition_point(|p| p.0 <= rs);
    let ha = hists.partition_point(|p| p.0 <= rs);
    if fa == floats.len() && ha == hists.len() {
        // Nothing strictly after the range start.
        return None;
    }
    // The anchor: the newest sample at or before the start, of either kind.
    let (f_from, h_from) = match (fa.checked_sub(1), ha.checked_sub(1)) {
        (Some(i), Some(j)) if floats[i].0 >= hists[j].0 => (i, ha),
        (Some(_), Some(j)) => (fa, j),
        (Some(i), None) => (i, ha),
        (None, Some(j)) => (fa, j),
        (None, None) => (fa, ha),
    };
    Some(changes_or_resets(
        &floats[f_from..],
        &hists[h_from..],
        &[],
        changes,
    ))
}
