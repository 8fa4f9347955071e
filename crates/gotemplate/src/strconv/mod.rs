//! The parts of Go's `strconv` that templates reach: quoting and unquoting (string and
//! character literals, `%q`, error messages) and integer parsing with Go's base-prefix and
//! underscore rules (number literals); floats are in `float.rs`.

use crate::unicode::is_print;

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Quoting.

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    let printable = if ascii_only {
        c.is_ascii() && is_print(c)
    } else {
        is_print(c)
    };
    if printable {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        _ => {
            let u = c as u32;
            let (prefix, width) = if u < 0x20 || u == 0x7f {
                ("\\x", 2)
            } else if u < 0x10000 {
                ("\\u", 4)
            } else {
                ("\\U", 8)
            };
            out.push_str(prefix);
            for shift in (0..width).rev() {
                out.push(LOWER_HEX[((u >> (shift * 4)) & 0xf) as usize] as char);
            }
        }
    }
}

fn quote_with(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// `strconv.Quote`: a double-quoted Go string literal, non-printable runes escaped.
pub fn quote(s: &str) -> String {
    quote_with(s, false)
}

/// `strconv.QuoteToASCII` (`%+q`).
pub(crate) fn quote_ascii(s: &str) -> String {
    quote_with(s, true)
}

/// `strconv.QuoteRune` / `QuoteRuneToASCII` (`%q` of an integer). Invalid code points print
/// as U+FFFD, as in Go.
pub(crate) fn quote_rune(r: u64, ascii_only: bool) -> String {
    let c = u32::try_from(r)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}');
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// `strconv.CanBackquote` (`%#q`).
pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '\u{feff}' && c != '`' && c != '\u{7f}' && (c >= ' ' || c == '\t'))
}

// ---------------------------------------------------------------------------------------------
// Unquoting.

fn unhex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// `strconv.UnquoteChar`: decodes the first (possibly escaped) character of `s`, a literal
/// quoted with `quote`. Returns the value, whether it is a code point (as opposed to a raw byte
/// from `\x`/octal), and the rest of `s`. `Err(())` is Go's `invalid syntax`.
pub(crate) fn unquote_char(s: &str, quote: u8) -> Result<(u32, bool, &str), ()> {
    let b = s.as_bytes();
    let &first = b.first().ok_or(())?;
    if first == quote && (quote == b'\'' || quote == b'"') {
        return Err(());
    }
    if first >= 0x80 {
        let c = s.chars().next().ok_or(())?;
        return Ok((c as u32, true, &s[c.len_utf8()..]));
    }
    if first != b'\\' {
        return Ok((u32::from(first), false, &s[1..]));
    }
    let &c = b.get(1).ok_or(())?;
    if !c.is_ascii() {
        // No escape starts with a non-ASCII character (and `s[2..]` would split it).
        return Err(());
    }
    let rest = &s[2..];
    let simple = |v: u8| Ok((u32::from(v), false, rest));
    match c {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(0xc),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(0xb),
        b'\\' => simple(b'\\'),
        b'\'' | b'"' if c == quote => simple(c),
        b'x' | b'u' | b'U' => {
            let n = match c {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = rest.as_bytes().get(..n).ok_or(())?;
            let mut v: u32 = 0;
            for &d in digits {
                v = (v << 4) | unhex(d).ok_or(())?;
            }
            if c == b'x' {
                return Ok((v, false, &rest[n..]));
            }
            char::from_u32(v).ok_or(())?;
            Ok((v, true, &rest[n..]))
        }
        b'0'..=b'7' => {
            let digits = rest.as_bytes().get(..2).ok_or(())?;
            let mut v = u32::from(c - b'0');
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(());
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            if v > 255 {
                return Err(());
            }
            Ok((v, false, &rest[2..]))
        }
        _ => Err(()),
    }
}

/// `strconv.Unquote` for `"..."`, `` `...` `` and `'...'` literals. Raw bytes produced by `\x`
/// or octal escapes that do not form UTF-8 are decoded lossily (Rust strings are UTF-8).
pub(crate) fn unquote(s: &str) -> Result<String, ()> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return Err(());
    }
    let quote = b[0];
    let inner = &s[1..s.len() - 1];
    match quote {
        b'`' => {
            if inner.contains('`') {
                return Err(());
            }
            Ok(inner.chars().filter(|&c| c != '\r').collect())
        }
        b'"' | b'\'' => {
            let mut buf: Vec<u8> = Vec::with_capacity(inner.len());
            let mut rest = inner;
            let mut count = 0;
            while !rest.is_empty() {
                if rest.as_bytes()[0] == b'\n' {
                    return Err(());
                }
                let (v, code_point, tail) = unquote_char(rest, quote)?;
                rest = tail;
                if code_point {
                    let c = char::from_u32(v).ok_or(())?;
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                } else {
                    buf.push(v as u8);
                }
                count += 1;
            }
            if quote == b'\'' && count != 1 {
                return Err(());
            }
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        _ => Err(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Number parsing.

/// Why a number did not parse (`strconv.ErrSyntax` / `strconv.ErrRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    Syntax,
    Range,
}

impl NumError {
    pub(super) fn text(self) -> &'static str {
        match self {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        }
    }
}

/// Go's `underscoreOK`: underscores only between digits, or after a base prefix.
pub(super) fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(&(b'+' | b'-')) = b.first() {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, 0, 64)`.
pub(crate) fn parse_uint(s0: &str) -> Result<u64, NumError> {
    let mut s = s0.as_bytes();
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let mut base = 10u64;
    if s[0] == b'0' {
        if s.len() >= 3 && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
            base = match s[1] | 0x20 {
                b'b' => 2,
                b'o' => 8,
                _ => 16,
            };
            s = &s[2..];
        } else {
            base = 8;
            s = &s[1..];
        }
    }
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in s {
        if c == b'_' {
            underscores = true;
            continue;
        }
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u64::from((c | 0x20) - b'a') + 10,
            _ => return Err(NumError::Syntax),
        };
        if d >= base {
            return Err(NumError::Syntax);
        }
        n = n
            .checked_mul(base)
            .and_then(|n| n.checked_add(d))
            .ok_or(NumError::Range)?;
    }
    if underscores && !underscore_ok(s0) {
        return Err(NumError::Syntax);
    }
    Ok(n)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_int(s: &str) -> Result<i64, NumError> {
    let (neg, digits) = match s.as_bytes().first() {
        None => return Err(NumError::Syntax),
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        Some(_) => (false, s),
    };
    let u = parse_uint(digits)?;
    if neg {
        if u > 1 << 63 {
            return Err(NumError::Range);
        }
        Ok((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).map_err(|_| NumError::Range)
    }
}

mod float;

pub(crate) use float::parse_float_raw;
pub use float::{format_float, parse_float};

#[cfg(test)]
#[allow(clippy::approx_constant)] // Go's own test values
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n\t\u{7}\u{0}"), r#""a\"b\\c\n\t\a\x00""#);
        assert_eq!(
            quote("é\u{a0}\u{1F600}\u{7f}"),
            "\"é\\u00a0\u{1F600}\\x7f\""
        );
        assert_eq!(quote_ascii("é\u{1F600}"), r#""\u00e9\U0001f600""#);
        assert_eq!(quote_rune(97, false), "'a'");
        assert_eq!(quote_rune(39, false), r"'\''");
        assert_eq!(quote_rune(0x11_0000, false), "'\u{fffd}'");
        assert!(can_backquote("a b\tc") && !can_backquote("a`b") && !can_backquote("a\nb"));
    }

    #[test]
    fn unquoting() {
        assert_eq!(
            unquote(r#""a\tb\u00e9\x41\101""#),
            Ok("a\tbéAA".to_string())
        );
        assert_eq!(unquote("`a\\n\r`"), Ok("a\\n".to_string()));
        assert_eq!(unquote(r"'\''"), Ok("'".to_string()));
        assert_eq!(unquote(r#""\'""#), Err(()));
        assert_eq!(unquote(r#""\q""#), Err(()));
        assert_eq!(unquote("'ab'"), Err(()));
        assert_eq!(unquote_char(r"\n'", b'\''), Ok((10, false, "'")));
        assert_eq!(unquote_char("日'", b'\''), Ok((0x65e5, true, "'")));
        // A backslash before a multi-byte character (found by the go_template fuzz target).
        assert_eq!(unquote("\"\\\u{e9}\""), Err(()));
        assert_eq!(unquote_char("\\\u{e9}", b'"'), Err(()));
    }

    #[test]
    fn integers() {
        assert_eq!(parse_uint("0x1F"), Ok(31));
        assert_eq!(parse_uint("0o17"), Ok(15));
        assert_eq!(parse_uint("017"), Ok(15));
        assert_eq!(parse_uint("0b101"), Ok(5));
        assert_eq!(parse_uint("1_000"), Ok(1000));
        assert_eq!(parse_uint("0x_1F"), Ok(31));
        assert_eq!(parse_uint("1__0"), Err(NumError::Syntax));
        assert_eq!(parse_uint("089"), Err(NumError::Syntax));
        assert_eq!(parse_uint("-1"), Err(NumError::Syntax));
        assert_eq!(parse_uint("18446744073709551616"), Err(NumError::Range));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_int("+0x10"), Ok(16));
        assert_eq!(parse_int("-0"), Ok(0));
    }
}
