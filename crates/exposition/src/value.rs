//! Sample values: Go's `strconv.ParseFloat` syntax (which the text format uses) and
//! OpenMetrics' case-insensitive infinities and NaN.

/// Parses a sample value: decimal or exponent notation, `NaN`, `+Inf`, `-Inf`, `Inf`
/// (any case; `infinity` too), and Go's hexadecimal floats (`0x1p-2`).
pub fn parse_float(text: &str) -> Option<f64> {
    // Fast path for the commonest values, counters: up to 15 digits are exact in an f64.
    let bytes = text.as_bytes();
    if !bytes.is_empty() && bytes.len() <= 15 && bytes.iter().all(u8::is_ascii_digit) {
        let n = bytes.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        return Some(n as f64);
    }
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    let (sign, body) = match text.as_bytes()[0] {
        b'+' => (1.0, &text[1..]),
        b'-' => (-1.0, &text[1..]),
        _ => (1.0, text),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    if body.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X")) {
        return parse_hex_float(&body[2..]).map(|v| sign * v);
    }
    // Rust's grammar is Go's minus underscores and hex, both excluded here, and plus
    // "inf"/"nan" spellings, handled above; reject the letters Rust would otherwise accept.
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
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// `[0-9a-f]*(.[0-9a-f]*)?p[+-]?[0-9]+` after the `0x`.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = match text.find(['p', 'P']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

#[cfg(test)]
mod tests {
    use super::parse_float;

    #[test]
    fn go_and_openmetrics_spellings() {
        assert_eq!(parse_float("1"), Some(1.0));
        assert_eq!(parse_float("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("1."), Some(1.0));
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("Infinity"), Some(f64::INFINITY));
        assert!(parse_float("NaN").unwrap().is_nan());
        assert!(parse_float("nan").unwrap().is_nan());
        assert_eq!(parse_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_float("0x10"), Some(16.0));
        for bad in [
            "", "abc", "1_000", "1e", "--1", "+", "0x", "1.2.3", "in", "1 2",
        ] {
            assert_eq!(parse_float(bad), None, "{bad}");
        }
    }
}
