//! Prometheus' number formatting functions: `humanize`, `humanize1024`,
//! `humanizeDuration`, `humanizePercentage`, `humanizeTimestamp` (the last two from
//! prometheus/common's `helpers/templates`), with `ConvertToFloat` and `FloatToTime`.

use gotemplate::go::{parse_float, sprintf};
use gotemplate::Value;

use super::time::{go_f64_to_i64, time_string, GoDuration, GoTime};

/// prometheus/common's `ConvertToFloat`: float64, string (`strconv.ParseFloat`), the
/// integer types and `time.Duration` (in seconds); anything else is refused.
pub fn convert_to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::String(s) => parse_float(s),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        Value::Host(_) => match v.host_ref::<GoDuration>() {
            Some(d) if !d.ptr => Ok(d.ns as f64 / 1e9),
            _ => Err(format!("can't convert {} to float", v.go_type())),
        },
        Value::Nil => Err("can't convert <nil> to float".to_string()),
        other => Err(format!("can't convert {} to float", other.go_type())),
    }
}

/// Why [`float_to_time`] gives no time.
pub enum TimeError {
    NanOrInf,
    Overflow(String),
}

impl TimeError {
    pub fn message(&self) -> String {
        match self {
            TimeError::NanOrInf => "value is NaN or Inf".to_string(),
            TimeError::Overflow(m) => m.clone(),
        }
    }
}

/// `FloatToTime`: seconds to a time, truncated to milliseconds (through
/// `model.TimeFromUnixNano`), in nanoseconds since the epoch.
pub fn float_to_time(v: f64) -> Result<i128, TimeError> {
    if v.is_nan() || v.is_infinite() {
        return Err(TimeError::NanOrInf);
    }
    let ts = v * 1e9;
    // Go compares with `math.MaxInt64` and `math.MinInt64`, both +-2^63 as floats.
    if !(i64::MIN as f64..=i64::MAX as f64).contains(&ts) {
        return Err(TimeError::Overflow(sprintf(
            "%v cannot be represented as a nanoseconds timestamp since it overflows int64",
            &[Value::Float(v)],
        )));
    }
    let ns = go_f64_to_i64(ts);
    Ok(i128::from(ns / 1_000_000) * 1_000_000)
}

fn g4(v: f64, suffix: &str) -> String {
    sprintf("%.4g%s", &[Value::Float(v), Value::from(suffix)])
}

/// `humanize`: SI prefixes, 4 significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v, "");
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    g4(v, prefix)
}

/// `humanize1024`: binary prefixes.
pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v, "");
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    g4(v, prefix)
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with SI prefixes below a second.
pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v, "");
    }
    if v == 0.0 {
        return g4(v, "s");
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = go_f64_to_i64(v);
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}", g4(v, "s"))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    sprintf("%.4g%ss", &[Value::Float(v), Value::from(prefix)])
}

/// `humanizePercentage`.
pub fn humanize_percentage(v: f64) -> String {
    g4(v * 100.0, "%")
}

/// `humanizeTimestamp`: seconds as Go prints a `*time.Time` in UTC.
pub fn humanize_timestamp(v: f64) -> Result<String, String> {
    match float_to_time(v) {
        Ok(ns) => Ok(time_string(ns)),
        Err(TimeError::NanOrInf) => Ok(g4(v, "")),
        Err(e) => Err(e.message()),
    }
}

/// `toTime`'s value.
pub fn to_time(v: f64) -> Result<Value, String> {
    float_to_time(v)
        .map(|ns| Value::host(GoTime { ns, ptr: true }))
        .map_err(|e| e.message())
}

/// `toDuration`'s value: `time.Duration(v * float64(time.Second))`.
pub fn to_duration(v: f64) -> Value {
    Value::host(GoDuration {
        ns: go_f64_to_i64(v * 1e9),
        ptr: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_table() {
        for (v, s) in [
            (0.0, "0"),
            (1.0, "1"),
            (999.0, "999"),
            (1000.0, "1k"),
            (1234567.0, "1.235M"),
            (-1234567.0, "-1.235M"),
            (0.12, "120m"),
            (0.000_001_5, "1.5u"),
            (1e30, "1e+06Y"),
            (1e-30, "1e-06y"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(humanize(v), s, "{v}");
        }
        for (v, s) in [
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.12, "0.12"),
            (1024.0, "1ki"),
            (1048576.0, "1Mi"),
            (1234567.0, "1.177Mi"),
            (-2048.0, "-2ki"),
        ] {
            assert_eq!(humanize1024(v), s, "{v}");
        }
        for (v, s) in [
            (0.0, "0s"),
            (1.0, "1s"),
            (59.5, "59.5s"),
            (60.0, "1m 0s"),
            (3600.0, "1h 0m 0s"),
            (90061.0, "1d 1h 1m 1s"),
            (-1.5, "-1.5s"),
            (0.1, "100ms"),
            (0.0001, "100us"),
            (-0.002, "-2ms"),
        ] {
            assert_eq!(humanize_duration(v), s, "{v}");
        }
        for (v, s) in [
            (0.0, "0%"),
            (0.5, "50%"),
            (-0.22222, "-22.22%"),
            (1.23456, "123.5%"),
        ] {
            assert_eq!(humanize_percentage(v), s, "{v}");
        }
        assert_eq!(
            humanize_timestamp(1435065584.128).unwrap(),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(humanize_timestamp(f64::NEG_INFINITY).unwrap(), "-Inf");
    }

    #[test]
    fn float_to_time_bounds() {
        assert_eq!(
            float_to_time(1657155181.0).ok(),
            Some(1_657_155_181_000_000_000)
        );
        assert!(float_to_time(1.797_693_134_862_315_7e300).is_err());
        assert!(float_to_time(-1.797_693_134_862_315_7e300).is_err());
    }

    #[test]
    fn conversions() {
        assert_eq!(convert_to_float(&Value::from("0x1p4")), Ok(16.0));
        assert_eq!(
            convert_to_float(&Value::from("-Inf")),
            Ok(f64::NEG_INFINITY)
        );
        assert_eq!(
            convert_to_float(&Value::Bool(true)),
            Err("can't convert bool to float".to_string())
        );
        assert_eq!(
            convert_to_float(&Value::labels([("a", "b")])),
            Err("can't convert map[string]string to float".to_string())
        );
    }
}
