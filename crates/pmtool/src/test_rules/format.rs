//! Go's renderings that promtool's failure reports are made of.

use std::time::Duration;

use model::Labels;
use promconfig::PromDuration;

/// Prometheus's `model.Duration` text (`1d`, `4m59s`, `0s`) of `ms` milliseconds.
pub fn model_duration(ms: i64) -> String {
    PromDuration(Duration::from_millis(ms.max(0) as u64)).to_string()
}

/// Go's `time.Duration.String()` of `ms` milliseconds (`0s`, `500ms`, `1m0s`,
/// `2m59.999s`, `1h0m0s`).
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let d = ms.unsigned_abs();
    if d < 1000 {
        return format!("{sign}{d}ms");
    }
    let h = d / 3_600_000;
    let m = d / 60_000 % 60;
    let s = d / 1000 % 60;
    let frac = d % 1000;
    let mut secs = s.to_string();
    if frac > 0 {
        let f = format!("{frac:03}");
        secs.push('.');
        secs.push_str(f.trim_end_matches('0'));
    }
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{sign}{m}m{secs}s")
    } else {
        format!("{sign}{secs}s")
    }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `3E+00`, `1.5E-07`, `+Inf`, `NaN`.
pub fn format_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let s = format!("{v:E}");
    let (mantissa, exp) = s.split_once('E').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", exp.abs())
}

/// promtool's `indentLines`: every line but the first prefixed with `indent`.
pub fn indent_lines(lines: &str, indent: &str) -> String {
    lines
        .split('\n')
        .enumerate()
        .map(|(i, l)| {
            if i > 0 {
                format!("{indent}{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An alert as a unit test sees it (`labelAndAnnotation`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelsAndAnnotations {
    pub labels: Labels,
    pub annotations: Labels,
}

/// `labelsAndAnnotations.String()`.
pub fn alerts_string(alerts: &[LabelsAndAnnotations]) -> String {
    if alerts.is_empty() {
        return "[]".to_string();
    }
    let one = |a: &LabelsAndAnnotations| {
        indent_lines(
            &format!("\nLabels:{}\nAnnotations:{}", a.labels, a.annotations),
            "  ",
        )
    };
    let mut s = format!("[\n0:{}", one(&alerts[0]));
    for (i, a) in alerts[1..].iter().enumerate() {
        s.push_str(&format!(",\n{}:{}", i + 1, one(a)));
    }
    s.push_str("\n]");
    s
}

/// A sample of a `promql_expr_test` (`parsedSample`).
#[derive(Debug, Clone)]
pub struct ParsedSample {
    pub labels: Labels,
    pub value: f64,
    /// The histogram's test-language text; empty for a float sample.
    pub histogram: String,
}

impl std::fmt::Display for ParsedSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.histogram.is_empty() {
            write!(f, "{} {}", self.labels, format_float_e(self.value))
        } else {
            write!(f, "{} {}", self.labels, self.histogram)
        }
    }
}

/// `parsedSamplesString`.
pub fn samples_string(samples: &[ParsedSample]) -> String {
    if samples.is_empty() {
        return "nil".to_string();
    }
    samples
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_texts() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(179_999), "2m59.999s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(1_500), "1.5s");
        assert_eq!(format_float_e(3.0), "3E+00");
        assert_eq!(format_float_e(60.0), "6E+01");
        assert_eq!(format_float_e(1.5e-7), "1.5E-07");
        assert_eq!(format_float_e(2.9999999999999996), "2.9999999999999996E+00");
        assert_eq!(format_float_e(1e100), "1E+100");
        assert_eq!(model_duration(86_400_000), "1d");
        assert_eq!(model_duration(0), "0s");
    }
}
