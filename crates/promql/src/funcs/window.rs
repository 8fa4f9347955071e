//! What range functions compute over one window of samples: rate extrapolation (with
//! start timestamps), `anchored`/`smoothed` windows, changes, resets and smoothing. Plain
//! functions of sample slices; the selectors' `anchored`/`smoothed` modifiers use them
//! too.

use super::*;

/// Whether a sample's start timestamp says its counter restarted since the previous
/// sample (Prometheus's `isStartTimestampReset`).
pub(crate) fn is_start_reset(prev_st: i64, prev_t: i64, st: i64, t: i64) -> bool {
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
pub(crate) fn start_overlaps(prev_st: i64, prev_t: i64, st: i64) -> bool {
    st != 0 && st < prev_t && st != prev_st
}

/// Whether samples `i-1` and `i` of a window are a counter reset: a drop in value, or a
/// start timestamp saying so (`sts` empty: none known).
#[inline]
pub(crate) fn is_reset(w: &[(i64, f64)], sts: &[i64], i: usize) -> bool {
    w[i].1 < w[i - 1].1
        || (!sts.is_empty() && is_start_reset(sts[i - 1], w[i - 1].0, sts[i], w[i].0))
}

/// `rate`, `increase` and `delta` with Prometheus's extrapolation to the window edges.
/// For counters, `sts` (empty or one per sample) are the samples' start timestamps: they
/// mark resets, and a first sample that started inside the window is counted from zero at
/// its start instead of extrapolating (so a single sample can give a result).
pub(crate) fn extrapolated_rate(
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
    if counter && sts.is_empty() {
        // The common case (no start timestamps), without the per-sample check for them.
        for pair in w.windows(2) {
            if pair[1].1 < pair[0].1 {
                result += pair[0].1;
            }
        }
    } else if counter {
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

pub(crate) fn interpolate(p1: (i64, f64), p2: (i64, f64), t: i64, counter: bool) -> f64 {
    let (mut y1, y2) = (p1.1, p2.1);
    if counter && y2 < y1 {
        y1 = 0.0;
    }
    y1 + (y2 - y1) * (t - p1.0) as f64 / (p2.0 - p1.0) as f64
}

/// Indices of the left and right boundary samples for `anchored`/`smoothed` windows over
/// `f` (samples in `(rs - lookback, re (+ lookback)]`).
pub(crate) fn extended_bounds(
    f: &[(i64, f64)],
    rs: i64,
    re: i64,
    smoothed: bool,
) -> Option<(usize, usize)> {
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

pub(crate) fn extended_rate(
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

pub(crate) fn changes_count(w: &[(i64, f64)]) -> f64 {
    let mut n = 0.0;
    for pair in w.windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        if a != b && !(a.is_nan() && b.is_nan()) {
            n += 1.0;
        }
    }
    n
}

pub(crate) fn resets_count(w: &[(i64, f64)], sts: &[i64]) -> f64 {
    (1..w.len()).filter(|i| is_reset(w, sts, *i)).count() as f64
}

pub(crate) fn double_exponential_smoothing(w: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
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
