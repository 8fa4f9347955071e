//! Floats written as Prometheus writes them: Go's `strconv.FormatFloat` forms and
//! OpenMetrics' canonical form (used for `le` and `quantile` label values).

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest digits, exponent form below 1e-4
/// or from 1e6 on (`0.1`, `1e+06`, `1e-05`), `NaN`, `+Inf`, `-Inf`.
pub fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent.
pub fn format_go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Prometheus's `FormatOpenMetricsFloat`: Go's `%g`, with `.0` added to integers
/// (`1.0`, `0.5`, `1e+06`, `+Inf`).
pub fn format_openmetrics_float(v: f64) -> String {
    let text = format_go_g(v);
    if v.is_finite() && !text.contains(['e', '.']) {
        return format!("{text}.0");
    }
    text
}

/// Neumaier-compensated summation step (Prometheus's `kahansum.Inc`): `sum + inc`, with
/// the rounding error added to the compensation `c` (reset when the sum is infinite).
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_forms() {
        assert_eq!(format_go_g(1e6), "1e+06");
        assert_eq!(format_go_g(123456.0), "123456");
        assert_eq!(format_go_g(0.0001), "0.0001");
        assert_eq!(format_go_g(0.00001), "1e-05");
        assert_eq!(format_go_f(1e21), "1000000000000000000000");
        assert_eq!(format_openmetrics_float(1.0), "1.0");
        assert_eq!(format_openmetrics_float(0.0), "0.0");
        assert_eq!(format_openmetrics_float(0.25), "0.25");
        assert_eq!(format_openmetrics_float(1e6), "1e+06");
        assert_eq!(format_openmetrics_float(10.0), "10.0");
        assert_eq!(format_openmetrics_float(f64::INFINITY), "+Inf");
    }
}
