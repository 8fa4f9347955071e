//! Go's `strconv.ParseFloat` and `strconv.FormatFloat`.
//!
//! Decimal digit generation is delegated to Rust's formatter, which, like Go's, produces the
//! shortest round-tripping digits for "shortest" and correctly rounded (ties to even) digits
//! for a fixed precision; the layout around the digits follows Go's `formatDigits`.

use super::{quote, underscore_ok, NumError};

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Go's `special`: `inf`, `infinity` (optionally signed) and `nan`, any case.
fn parse_special(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (sign, body) = match lower.as_bytes().first() {
        Some(b'+') => (1.0, &lower[1..]),
        Some(b'-') => (-1.0, &lower[1..]),
        _ => {
            if lower == "nan" {
                return Some(f64::NAN);
            }
            (1.0, lower.as_str())
        }
    };
    (body == "inf" || body == "infinity").then_some(sign * f64::INFINITY)
}

fn parse_hex_float(s: &str) -> Result<f64, NumError> {
    let (neg, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = &rest[2..]; // "0x"
    let (mantissa, exp) = rest.split_once(['p', 'P']).ok_or(NumError::Syntax)?;
    let exp: i32 = match exp.parse::<i64>() {
        Ok(e) => e.clamp(-100_000, 100_000) as i32,
        Err(_) => return Err(NumError::Syntax),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(NumError::Syntax);
    }
    let mut value = 0.0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16).ok_or(NumError::Syntax)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16).ok_or(NumError::Syntax)?) * scale;
        scale /= 16.0;
    }
    let v = value * 2f64.powi(exp);
    if v.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(if neg { -v } else { v })
}

/// `strconv.ParseFloat(s, 64)` (decimal and hexadecimal forms, underscores, `Inf`/`NaN`).
/// Hexadecimal mantissas are accumulated in a float, a rounding difference only for more than
/// 13 hex digits.
pub(crate) fn parse_float_raw(s: &str) -> Result<f64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    if let Some(v) = parse_special(s) {
        return Ok(v);
    }
    let unsigned = s.trim_start_matches(['+', '-']);
    if s.len() - unsigned.len() > 1 {
        return Err(NumError::Syntax);
    }
    let is_hex = unsigned.len() > 2
        && unsigned.as_bytes()[0] == b'0'
        && unsigned.as_bytes()[1] | 0x20 == b'x';
    let allowed = |c: char| {
        c.is_ascii_digit()
            || matches!(c, '.' | '_' | '+' | '-')
            || if is_hex {
                c.is_ascii_hexdigit() || matches!(c, 'x' | 'X' | 'p' | 'P')
            } else {
                matches!(c, 'e' | 'E')
            }
    };
    if !unsigned.chars().all(allowed) {
        return Err(NumError::Syntax);
    }
    let cleaned;
    let s = if s.contains('_') {
        if !underscore_ok(s) {
            return Err(NumError::Syntax);
        }
        cleaned = s.replace('_', "");
        cleaned.as_str()
    } else {
        s
    };
    if is_hex {
        return parse_hex_float(s);
    }
    let v: f64 = s.parse().map_err(|_| NumError::Syntax)?;
    if v.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(v)
}

/// `strconv.ParseFloat(s, 64)` with Go's error text, e.g.
/// `strconv.ParseFloat: parsing "one": invalid syntax`.
pub fn parse_float(s: &str) -> Result<f64, String> {
    parse_float_raw(s)
        .map_err(|e| format!("strconv.ParseFloat: parsing {}: {}", quote(s), e.text()))
}

// ---------------------------------------------------------------------------------------------
// Float formatting.

/// A decimal digit string with no leading or trailing zeros (empty for zero) and the position
/// of the decimal point: Go's `decimalSlice`.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Significant digits Rust is asked for at most: an f64 never has more than 767 of them, and
/// Rust refuses precisions above 65535; Go's layout pads the rest with zeros.
const MAX_DIGITS: usize = 1100;

fn digits_from_exp(s: &str) -> Digits {
    // `{:e}` / `{:.Ne}` of a non-negative number: "d.ddde[-]x".
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { d, dp: 0 };
    }
    Digits { d, dp: exp + 1 }
}

fn digits_from_fixed(s: &str) -> Digits {
    // `{:.N}` of a non-negative number: "iii.fff".
    let (int_part, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut d: Vec<u8> = int_part.bytes().chain(frac.bytes()).collect();
    let mut dp = int_part.len() as i32;
    let lead = d.iter().take_while(|&&c| c == b'0').count();
    d.drain(..lead);
    dp -= lead as i32;
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        dp = 0;
    }
    Digits { d, dp }
}

fn fmt_e(out: &mut String, d: &Digits, prec: i32, fmt: char) {
    out.push(d.d.first().map_or('0', |&c| c as char));
    if prec > 0 {
        out.push('.');
        let prec = prec as usize;
        let m = d.d.len().min(prec + 1);
        for &c in d.d.iter().take(m).skip(1) {
            out.push(c as char);
        }
        for _ in m.max(1)..=prec {
            out.push('0');
        }
    }
    out.push(fmt);
    let mut exp = if d.d.is_empty() { 0 } else { d.dp - 1 };
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, d: &Digits, prec: i32) {
    if d.dp > 0 {
        let dp = d.dp as usize;
        let m = d.d.len().min(dp);
        out.extend(d.d[..m].iter().map(|&c| c as char));
        out.extend(std::iter::repeat_n('0', dp - m));
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 && (j as usize) < d.d.len() {
                d.d[j as usize] as char
            } else {
                '0'
            };
            out.push(c);
        }
    }
}

fn fmt_b(out: &mut String, bits: u64) {
    let (mant, exp) = mant_exp(bits);
    out.push_str(&mant.to_string());
    out.push('p');
    let exp = exp - 52;
    if exp >= 0 {
        out.push('+');
    }
    out.push_str(&exp.to_string());
}

/// Mantissa with the implicit bit and unbiased exponent of a finite f64 (Go's FormatFloat).
fn mant_exp(bits: u64) -> (u64, i32) {
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    (mant, exp - 1023)
}

/// Go's `fmtX`: `%x` of a float, `-0x1.yyyyp±dd`.
fn fmt_x(out: &mut String, bits: u64, prec: i32, fmt: char) {
    let (mut mant, mut exp) = mant_exp(bits);
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex = if fmt == 'X' { UPPER_HEX } else { LOWER_HEX };
    out.push('0');
    out.push(fmt);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if fmt == 'X' { 'P' } else { 'p' });
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

/// `strconv.FormatFloat(f, fmt, prec, 64)` for `fmt` in `b e E f g G x X`; `prec < 0` asks for
/// the shortest representation that round-trips.
pub fn format_float(f: f64, fmt: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-Inf" } else { "+Inf" }.to_string();
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    let a = f.abs();
    match fmt {
        'b' => {
            fmt_b(&mut out, a.to_bits());
            return out;
        }
        'x' | 'X' => {
            fmt_x(&mut out, a.to_bits(), prec, fmt);
            return out;
        }
        'e' | 'E' | 'f' | 'g' | 'G' => {}
        other => return format!("%{other}"),
    }
    let shortest = prec < 0;
    let mut prec = prec;
    let digits = if shortest {
        let d = if a == 0.0 {
            Digits { d: vec![], dp: 0 }
        } else {
            digits_from_exp(&format!("{a:e}"))
        };
        let nd = d.d.len() as i32;
        prec = match fmt {
            'e' | 'E' => (nd - 1).max(0),
            'f' => (nd - d.dp).max(0),
            _ => nd,
        };
        d
    } else if fmt == 'f' {
        digits_from_fixed(&format!("{:.*}", (prec as usize).min(MAX_DIGITS), a))
    } else {
        let n = match fmt {
            'e' | 'E' => prec as usize + 1,
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                prec as usize
            }
        };
        digits_from_exp(&format!("{:.*e}", n.min(MAX_DIGITS) - 1, a))
    };
    match fmt {
        'e' | 'E' => fmt_e(&mut out, &digits, prec, fmt),
        'f' => fmt_f(&mut out, &digits, prec),
        _ => {
            let nd = digits.d.len() as i32;
            let mut eprec = prec;
            if eprec > nd && nd >= digits.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = digits.dp - 1;
            let e = if fmt == 'G' { 'E' } else { 'e' };
            if exp < -4 || exp >= eprec {
                fmt_e(&mut out, &digits, prec.min(nd) - 1, e);
            } else {
                let p = if prec > digits.dp { nd } else { prec };
                fmt_f(&mut out, &digits, (p - digits.dp).max(0));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // Go's own test values
mod tests {
    use super::*;

    #[test]
    fn floats_parse() {
        assert_eq!(parse_float_raw("1.5e3"), Ok(1500.0));
        assert_eq!(parse_float_raw(".5"), Ok(0.5));
        assert_eq!(parse_float_raw("1_000.5"), Ok(1000.5));
        assert_eq!(parse_float_raw("0x1.8p1"), Ok(3.0));
        assert_eq!(parse_float_raw("-Inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_float_raw("NaN").unwrap().is_nan());
        assert_eq!(parse_float_raw("+NaN"), Err(NumError::Syntax));
        assert_eq!(parse_float_raw("1e400"), Err(NumError::Range));
        assert_eq!(parse_float_raw("1e"), Err(NumError::Syntax));
        assert_eq!(parse_float_raw("0x1.8"), Err(NumError::Syntax));
        assert_eq!(
            parse_float("one"),
            Err("strconv.ParseFloat: parsing \"one\": invalid syntax".to_string())
        );
    }

    #[test]
    fn format_shortest() {
        let g = |f: f64| format_float(f, 'g', -1);
        assert_eq!(g(0.0), "0");
        assert_eq!(g(-0.0), "-0");
        assert_eq!(g(1.0), "1");
        assert_eq!(g(100000.0), "100000");
        assert_eq!(g(1e6), "1e+06");
        assert_eq!(g(1234567.0), "1.234567e+06");
        assert_eq!(g(1353755652.0), "1.353755652e+09");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(g(1e21), "1e+21");
        assert_eq!(g(1e100), "1e+100");
        assert_eq!(g(5e-324), "5e-324");
        assert_eq!(g(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(g(f64::NAN), "NaN");
        assert_eq!(g(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(1e6, 'e', -1), "1e+06");
        assert_eq!(format_float(1.5, 'f', -1), "1.5");
        assert_eq!(format_float(1e21, 'f', -1), "1000000000000000000000");
    }

    #[test]
    fn format_precision() {
        assert_eq!(format_float(3.14159, 'f', 2), "3.14");
        assert_eq!(format_float(0.125, 'f', 2), "0.12");
        assert_eq!(format_float(2.5, 'f', 0), "2");
        assert_eq!(format_float(-0.001, 'f', 2), "-0.00");
        assert_eq!(format_float(1234.5678, 'e', 6), "1.234568e+03");
        assert_eq!(format_float(0.0, 'e', 3), "0.000e+00");
        assert_eq!(format_float(1.0, 'E', 0), "1E+00");
        assert_eq!(format_float(1234567.0, 'g', 4), "1.235e+06");
        assert_eq!(format_float(0.12, 'g', 4), "0.12");
        assert_eq!(format_float(120.0, 'g', 4), "120");
        assert_eq!(format_float(1.0, 'g', 4), "1");
        assert_eq!(format_float(100000.0, 'g', 4), "1e+05");
        assert_eq!(format_float(0.000012345, 'g', 3), "1.23e-05");
        assert_eq!(format_float(123.0, 'g', 0), "1e+02");
        assert_eq!(format_float(1.0, 'f', 1200).len(), 1202);
    }

    #[test]
    fn format_binary_and_hex() {
        assert_eq!(format_float(1.0, 'b', -1), "4503599627370496p-52");
        assert_eq!(format_float(1.0, 'x', -1), "0x1p+00");
        assert_eq!(format_float(3.0, 'x', -1), "0x1.8p+01");
        assert_eq!(format_float(-0.5, 'X', -1), "-0X1P-01");
        assert_eq!(format_float(1.0, 'x', 2), "0x1.00p+00");
        assert_eq!(format_float(0.0, 'x', -1), "0x0p+00");
    }
}
