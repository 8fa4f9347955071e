//! Functions over range vectors (`rate`, `*_over_time`, ...): one window per step and
//! series, series spread over the cores.

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use model::float::format_go_g as format_go_float;

use super::hwindow::{
    anchored_changes_or_resets, extended_histogram_rate, floats_despite_histograms,
    hist_window_value, Notes, Out,
};
use super::*;

const ANCHORED_OK: &[&str] = &["changes", "delta", "increase", "rate", "resets"];
const SMOOTHED_OK: &[&str] = &["delta", "increase", "rate"];
pub(super) fn range_function(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
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
    // The points of every series so far, shared by the threads: a query stops at the
    // limit while its results are built, not after.
    let held_total = AtomicUsize::new(0);
    let (range, offset, at, mode) = (src.range, src.offset, src.at, src.mode);
    // Each series is independent: evaluated on all cores when there are many.
    let eval_series =
        |(s, starts, hstarts): (SeriesV, Vec<i64>, Vec<i64>)| -> EvResult<SeriesOutcome> {
            interrupt.check()?;
            let samples = &s.points;
            let mut outcome = SeriesOutcome::default();
            let mut points = Vec::with_capacity(steps.len().min(samples.len() + 1));
            let hists = &s.hists;
            let mut hpoints: Vec<(i64, model::histogram::FloatHistogram)> = Vec::new();
            let (mut hlo, mut hhi) = (0usize, 0usize);
            let metric_name = s.labels.metric_name();
            let metric = metric_name.unwrap_or("");
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
            let mut ticker = interrupt.ticker();
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
                while hhi < hists.len() && hists[hhi].0 <= we {
                    hhi += 1;
                }
                while hlo < hhi && hists[hlo].0 <= rs {
                    hlo += 1;
                }
                if hlo > hhi {
                    hlo = hhi;
                }
                let hw = &hists[hlo..hhi];
                let hsts = if counter_fn || name == "irate" || name == "resets" {
                    hstarts.get(hlo..hhi).unwrap_or(&[])
                } else {
                    &[]
                };
                if !hw.is_empty() && mode == RangeMode::Plain {
                    ticker.tick(hw.len() + w.len() + 1)?;
                    if is_absent {
                        outcome.present_steps.push(si);
                        continue;
                    }
                    if is_quantile && outcome.bad_quantile.is_none() {
                        let q = scalar_arg(0, si);
                        if q.is_nan() || !(0.0..=1.0).contains(&q) {
                            outcome.bad_quantile = Some(q);
                        }
                    }
                    if floats_despite_histograms(range_fn) && !w.is_empty() {
                        if let Some(v) =
                            window_value(range_fn, w, sts, rs, we, range, ts, |i| scalar_arg(i, si))
                        {
                            points.push((ts, v));
                        }
                        let mut notes = Vec::new();
                        hist_window_value(range_fn, w, hw, hsts, rs, we, range, metric, &mut notes);
                        outcome.notes.extend(notes);
                        continue;
                    }
                    match hist_window_value(
                        range_fn,
                        w,
                        hw,
                        hsts,
                        rs,
                        we,
                        range,
                        metric,
                        &mut outcome.notes,
                    ) {
                        Some(Out::Float(v)) => points.push((ts, v)),
                        Some(Out::Hist(h)) => hpoints.push((ts, h)),
                        None => {}
                    }
                    continue;
                }
                // Pairs inside the window: those ending at samples lo+1 ..= hi-1.
                if outcome.start_overlap.is_none()
                    && hi > lo + 1
                    && overlaps
                        .get(hi)
                        .zip(overlaps.get(lo + 1))
                        .is_some_and(|(a, b)| a > b)
                {
                    outcome.start_overlap = Some(metric.to_string());
                }
                if w.len() > max_samples {
                    return Err(EvalError::TooManySamples);
                }
                // Checked by work done, not by steps: one step's window can hold millions
                // of samples.
                ticker.tick(w.len() + 1)?;
                if mode != RangeMode::Plain && !hists.is_empty() {
                    // The extended window of histograms.
                    let helo = hists.partition_point(|p| p.0 <= rs - lookback);
                    let hehi = if mode == RangeMode::Smoothed {
                        hists.partition_point(|p| p.0 <= we + lookback)
                    } else {
                        hhi
                    };
                    let fh = &hists[helo..hehi];
                    if !fh.is_empty() {
                        ticker.tick(fh.len() + 1)?;
                        let elo = samples.partition_point(|p| p.0 <= rs - lookback);
                        let ehi = if mode == RangeMode::Smoothed {
                            samples.partition_point(|p| p.0 <= we + lookback)
                        } else {
                            hi
                        };
                        let f = &samples[elo..ehi];
                        let smoothed = mode == RangeMode::Smoothed;
                        let out = match range_fn {
                            Some(RangeFn::Rate | RangeFn::Increase | RangeFn::Delta)
                                if !f.is_empty() =>
                            {
                                outcome.notes.push((
                                AnnotationKind::Warning,
                                format!("encountered a mix of histograms and floats for metric name {metric:?}"),
                            ));
                                None
                            }
                            Some(k @ (RangeFn::Rate | RangeFn::Increase | RangeFn::Delta)) => {
                                extended_histogram_rate(
                                    fh,
                                    rs,
                                    we,
                                    range,
                                    smoothed,
                                    k != RangeFn::Delta,
                                    k == RangeFn::Rate,
                                    metric,
                                    &mut outcome.notes,
                                )
                                .map(Out::Hist)
                            }
                            Some(k @ (RangeFn::Changes | RangeFn::Resets)) => {
                                anchored_changes_or_resets(f, fh, rs, k == RangeFn::Changes)
                                    .map(Out::Float)
                            }
                            _ => None,
                        };
                        match out {
                            Some(Out::Float(v)) => points.push((ts, v)),
                            Some(Out::Hist(h)) => hpoints.push((ts, h)),
                            None => {}
                        }
                        continue;
                    }
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
                        Some(RangeFn::Increase) => {
                            extended_rate(f, rs, we, range, mode, true, false)
                        }
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
            if points.is_empty() && hpoints.is_empty() {
                return Ok(outcome);
            }
            if counter_fn
                && !points.is_empty()
                && metric_name.is_some()
                && !(metric.ends_with("_total")
                    || metric.ends_with("_sum")
                    || metric.ends_with("_count")
                    || metric.ends_with("_bucket"))
            {
                outcome.not_a_counter = Some(metric.to_string());
            }
            let n = points.len() + hpoints.len();
            let held = held_total.fetch_add(n, AtomicOrdering::Relaxed) + n;
            if held > max_samples {
                return Err(EvalError::TooManySamples);
            }
            outcome.series = Some(SeriesV {
                labels: s.labels,
                drop_name: if keeps_name { s.drop_name } else { true },
                points,
                hists: hpoints,
            });
            Ok(outcome)
        };
    let mut starts = src.starts.into_iter();
    let mut hist_starts = src.hist_starts.into_iter();
    let items: Vec<(SeriesV, Vec<i64>, Vec<i64>)> = src
        .series
        .into_iter()
        .map(|s| {
            (
                s,
                starts.next().unwrap_or_default(),
                hist_starts.next().unwrap_or_default(),
            )
        })
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
        for (kind, text) in outcome.notes {
            ev.ctx.annotate(kind, text, marg.pos);
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
            held += series.points.len() + series.hists.len();
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
                hists: Vec::new(),
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
    /// Annotations of windows with histograms.
    notes: Notes,
}

/// The value of a range function over one plain window `(rs, re]`.
/// A range function, resolved once per call instead of by name for every window.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeFn {
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
