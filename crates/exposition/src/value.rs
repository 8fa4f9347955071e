//! Sample values and OpenMetrics timestamps, spelled as Prometheus's parsers accept them:
//! Go's `strconv.ParseFloat` without hexadecimal floats and underscores.

/// Parses a sample value the way Prometheus's text and OpenMetrics parsers do: decimal or
/// exponent notation (`1`, `-1.5e3`, `.5`, `1.`), `Inf`/`Infinity` with an optional sign
/// and `NaN` without one (any case). Hexadecimal floats (`0x1p-3`), underscores and values
/// beyond the range of an `f64` (`1e400`) are refused, as Prometheus refuses them.
pub fn parse_float(text: &str) -> Option<f64> {
    // Fast path for the commonest values, counters: up to 15 digits are exact in an f64.
    let bytes = text.as_bytes();
    if !bytes.is_empty() && bytes.len() <= 15 && bytes.iter().all(u8::is_ascii_digit) {
        let n = bytes.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        return Some(n as f64);
    }
    // NaN takes no sign in Go (`+NaN` is a syntax error); infinities do.
    if text.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    let (sign, body) = match bytes.first()? {
        b'+' => (1.0, &text[1..]),
        b'-' => (-1.0, &text[1..]),
        _ => (1.0, text),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    // Rust's decimal grammar is Go's once hexadecimal, underscores and the spelled-out
    // specials (handled above) are excluded: refuse every other letter.
    let starts_well = body
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if !starts_well
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let value = body.parse::<f64>().ok()?;
    // Go reports overflow as an error (ErrRange); underflow to zero is fine.
    value.is_finite().then_some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::parse_float;

    #[test]
    fn go_spellings() {
        assert_eq!(parse_float("1"), Some(1.0));
        assert_eq!(parse_float("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("+.5"), Some(0.5));
        assert_eq!(parse_float("1."), Some(1.0));
        assert_eq!(parse_float("1.e2"), Some(100.0));
        assert_eq!(parse_float("1E+2"), Some(100.0));
        assert_eq!(parse_float("007"), Some(7.0));
        assert_eq!(parse_float("1e-400"), Some(0.0));
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_float("-INFINITY"), Some(f64::NEG_INFINITY));
        assert!(parse_float("NaN").unwrap().is_nan());
        assert!(parse_float("nan").unwrap().is_nan());
        let long = format!("0.{}1", "0".repeat(100));
        assert_eq!(parse_float(&long), Some(1e-101));
        for bad in [
            "", "abc", "1_000", "1e", "--1", "+", "-", "0x", "0x10", "0x1p-2", "0x1P-3", "1.2.3",
            "in", "infin", "1 2", "+NaN", "-nan", "1e400", "-1e400", ".", "e5", "true", "1\t2",
            "1z",
        ] {
            assert_eq!(parse_float(bad), None, "{bad}");
        }
    }
}
