//! PromQL tokens. Keywords are not told apart here: the parser decides from context
//! (case-insensitively) whether an identifier is `by`, `offset`, `sum`, ...

use crate::ast::PosRange;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Number(f64),
    /// A duration literal in milliseconds.
    Duration(i64),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    Assign,
    EqlRegex,
    NeqRegex,
    Neq,
    Eqlc,
    Lss,
    Gtr,
    Lte,
    Gte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    TrimUpper,
    TrimLower,
    Eof,
}

impl Tok {
    /// How the token is named in "unexpected ..." errors (Prometheus's item descriptions).
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier {s:?}"),
            Tok::Number(_) => "number".into(),
            Tok::Duration(_) => "duration".into(),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBrace => "\"{\"".into(),
            Tok::RBrace => "\"}\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Colon => "\":\"".into(),
            Tok::At => "\"@\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::EqlRegex => "\"=~\"".into(),
            Tok::NeqRegex => "\"!~\"".into(),
            Tok::Neq => "\"!=\"".into(),
            Tok::Eqlc => "\"==\"".into(),
            Tok::Lss => "\"<\"".into(),
            Tok::Gtr => "\">\"".into(),
            Tok::Lte => "\"<=\"".into(),
            Tok::Gte => "\">=\"".into(),
            Tok::Add => "\"+\"".into(),
            Tok::Sub => "\"-\"".into(),
            Tok::Mul => "\"*\"".into(),
            Tok::Div => "\"/\"".into(),
            Tok::Mod => "\"%\"".into(),
            Tok::Pow => "\"^\"".into(),
            Tok::TrimUpper => "\"</\"".into(),
            Tok::TrimLower => "\">/\"".into(),
            Tok::Eof => "end of input".into(),
        }
    }
}

/// A token and where it is.
#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub pos: PosRange,
}

/// A lexing failure: position and message.
#[derive(Debug, Clone)]
pub struct LexError {
    pub pos: PosRange,
    pub msg: String,
}

/// Splits a query into tokens.
pub fn lex(input: &str) -> Result<Vec<Token>, LexError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Inside `[...]` a colon separates range and step and never starts a name.
    let mut bracket_depth = 0usize;
    let mut brace_depth = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok: Tok, len: usize| Token {
            tok,
            pos: PosRange::new(start, start + len),
        };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => out.push(single(Tok::LParen, 1)),
            b')' => out.push(single(Tok::RParen, 1)),
            b'{' => {
                brace_depth += 1;
                out.push(single(Tok::LBrace, 1))
            }
            b'}' => {
                brace_depth = brace_depth.saturating_sub(1);
                out.push(single(Tok::RBrace, 1))
            }
            b'[' => {
                bracket_depth += 1;
                out.push(single(Tok::LBracket, 1))
            }
            b']' => {
                bracket_depth = bracket_depth.saturating_sub(1);
                out.push(single(Tok::RBracket, 1))
            }
            b',' => out.push(single(Tok::Comma, 1)),
            b'@' => out.push(single(Tok::At, 1)),
            b'+' => out.push(single(Tok::Add, 1)),
            b'-' => out.push(single(Tok::Sub, 1)),
            b'*' => out.push(single(Tok::Mul, 1)),
            b'%' => out.push(single(Tok::Mod, 1)),
            b'^' => out.push(single(Tok::Pow, 1)),
            b'/' => out.push(single(Tok::Div, 1)),
            b'=' => match bytes.get(i + 1) {
                Some(b'=') => {
                    out.push(single(Tok::Eqlc, 2));
                    i += 2;
                    continue;
                }
                Some(b'~') => {
                    out.push(single(Tok::EqlRegex, 2));
                    i += 2;
                    continue;
                }
                _ => out.push(single(Tok::Assign, 1)),
            },
            b'!' => match bytes.get(i + 1) {
                Some(b'=') => {
                    out.push(single(Tok::Neq, 2));
                    i += 2;
                    continue;
                }
                Some(b'~') => {
                    out.push(single(Tok::NeqRegex, 2));
                    i += 2;
                    continue;
                }
                _ => {
                    return Err(LexError {
                        pos: PosRange::new(i, i + 1),
                        msg: "unexpected character after '!': ".to_string()
                            + &char_at(input, i + 1),
                    })
                }
            },
            b'<' => match bytes.get(i + 1) {
                Some(b'=') => {
                    out.push(single(Tok::Lte, 2));
                    i += 2;
                    continue;
                }
                Some(b'/') => {
                    out.push(single(Tok::TrimUpper, 2));
                    i += 2;
                    continue;
                }
                _ => out.push(single(Tok::Lss, 1)),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => {
                    out.push(single(Tok::Gte, 2));
                    i += 2;
                    continue;
                }
                Some(b'/') => {
                    out.push(single(Tok::TrimLower, 2));
                    i += 2;
                    continue;
                }
                _ => out.push(single(Tok::Gtr, 1)),
            },
            b':' if bracket_depth > 0 && brace_depth == 0 => out.push(single(Tok::Colon, 1)),
            b'"' | b'\'' | b'`' => {
                let (value, end) = lex_string(input, i)?;
                out.push(Token {
                    tok: Tok::Str(value),
                    pos: PosRange::new(start, end),
                });
                i = end;
                continue;
            }
            b'0'..=b'9' | b'.' => {
                let (tok, end) = lex_number_or_duration(input, i)?;
                out.push(Token {
                    tok,
                    pos: PosRange::new(start, end),
                });
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let colon_ok = bracket_depth == 0 || brace_depth > 0;
                let mut end = i;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || bytes[end] == b'_'
                        || (bytes[end] == b':' && colon_ok))
                {
                    end += 1;
                }
                let word = &input[i..end];
                let tok = if word.eq_ignore_ascii_case("inf") {
                    Tok::Number(f64::INFINITY)
                } else if word.eq_ignore_ascii_case("nan") {
                    Tok::Number(f64::NAN)
                } else {
                    Tok::Ident(word.to_string())
                };
                out.push(Token {
                    tok,
                    pos: PosRange::new(start, end),
                });
                i = end;
                continue;
            }
            _ => {
                return Err(LexError {
                    pos: PosRange::new(i, i + 1),
                    msg: format!("unexpected character: {}", char_at(input, i)),
                })
            }
        }
        i += 1;
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: PosRange::new(input.len(), input.len()),
    });
    Ok(out)
}

fn char_at(input: &str, i: usize) -> String {
    match input.get(i..).and_then(|s| s.chars().next()) {
        Some(c) => format!("{c:?}"),
        None => "end of input".into(),
    }
}

/// A quoted string starting at `start`; returns its value and the index after it.
fn lex_string(input: &str, start: usize) -> Result<(String, usize), LexError> {
    let bytes = input.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    if quote == b'`' {
        while i < bytes.len() && bytes[i] != b'`' {
            i += 1;
        }
        if i >= bytes.len() {
            return Err(LexError {
                pos: PosRange::new(start, input.len()),
                msg: "unterminated raw string".into(),
            });
        }
        return Ok((input[start + 1..i].to_string(), i + 1));
    }
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => break,
            c if c == quote => {
                let raw = &input[start..=i];
                let value = unquote(raw).map_err(|msg| LexError {
                    pos: PosRange::new(start, i + 1),
                    msg,
                })?;
                return Ok((value, i + 1));
            }
            _ => i += 1,
        }
    }
    Err(LexError {
        pos: PosRange::new(start, input.len()),
        msg: "unterminated quoted string".into(),
    })
}

/// First code point of the range that carries bytes of invalid UTF-8 in strings: Go
/// strings may hold any bytes (`"\xff"`), ours are UTF-8, so byte `b` becomes
/// `U+F700 + b` and is printed back as `\xNN`; such strings are never valid label names.
pub(crate) const INVALID_BYTE_BASE: u32 = 0xF700;

/// Go's `strconv.Unquote` for `"..."` and `'...'` strings (single quotes may hold any
/// text in PromQL).
pub fn unquote(raw: &str) -> Result<String, String> {
    let inner = &raw[1..raw.len() - 1];
    let quote = raw.as_bytes()[0] as char;
    let mut bytes: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    let push_char = |bytes: &mut Vec<u8>, c: char| {
        let mut buf = [0u8; 4];
        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            push_char(&mut bytes, c);
            continue;
        }
        let Some(e) = chars.next() else {
            return Err("invalid syntax".into());
        };
        match e {
            'a' => bytes.push(0x07),
            'b' => bytes.push(0x08),
            'f' => bytes.push(0x0c),
            'n' => bytes.push(b'\n'),
            'r' => bytes.push(b'\r'),
            't' => bytes.push(b'\t'),
            'v' => bytes.push(0x0b),
            '\\' => bytes.push(b'\\'),
            '"' | '\'' if e == quote => push_char(&mut bytes, e),
            '"' | '\'' => return Err(format!("unknown escape sequence '\\{e}'")),
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..len).filter_map(|_| chars.next()).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .map_err(|_| format!("invalid escape sequence '\\{e}{hex}'"))?;
                if e == 'x' {
                    bytes.push(code as u8);
                } else {
                    push_char(
                        &mut bytes,
                        char::from_u32(code)
                            .ok_or_else(|| format!("invalid unicode code point '\\{e}{hex}'"))?,
                    );
                }
            }
            '0'..='7' => {
                let mut code = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.next().and_then(|c| c.to_digit(8)) {
                        Some(d) => code = code * 8 + d,
                        None => return Err("invalid octal escape".into()),
                    }
                }
                if code > 0xff {
                    return Err("invalid octal escape".into());
                }
                bytes.push(code as u8);
            }
            other => return Err(format!("unknown escape sequence '\\{other}'")),
        }
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push(char::from_u32(INVALID_BYTE_BASE + *b as u32).unwrap_or('\u{fffd}'));
        }
    }
    Ok(out)
}

/// Parses a Prometheus duration (`1h30m`, `5m1ms`, `0`) into milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit_rank = usize::MAX;
    if bytes.is_empty() {
        return None;
    }
    while i < bytes.len() {
        let num_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == num_start {
            return None;
        }
        let n: i64 = text[num_start..i].parse().ok()?;
        let (unit_ms, len, rank) = match &bytes[i..] {
            [b'm', b's', ..] => (1, 2, 0),
            [b'y', ..] => (365 * 24 * 3600 * 1000, 1, 6),
            [b'w', ..] => (7 * 24 * 3600 * 1000, 1, 5),
            [b'd', ..] => (24 * 3600 * 1000, 1, 4),
            [b'h', ..] => (3600 * 1000, 1, 3),
            [b'm', ..] => (60 * 1000, 1, 2),
            [b's', ..] => (1000, 1, 1),
            _ => return None,
        };
        // Units must come largest first, each at most once.
        if rank >= last_unit_rank {
            return None;
        }
        last_unit_rank = rank;
        total = total.checked_add(n.checked_mul(unit_ms)?)?;
        i += len;
    }
    Some(total)
}

fn lex_number_or_duration(input: &str, start: usize) -> Result<(Tok, usize), LexError> {
    let bytes = input.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    // A duration: digits followed by a unit, possibly several.
    let mut end = start;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    // Exponents may carry a sign: 1e+3.
    while end < bytes.len()
        && (bytes[end] == b'+' || bytes[end] == b'-')
        && matches!(bytes[end - 1], b'e' | b'E')
        && !input[start..end].starts_with("0x")
        && !input[start..end].starts_with("0X")
    {
        end += 1;
        while end < bytes.len() && is_word(bytes[end]) {
            end += 1;
        }
    }
    let word = &input[start..end];
    let bad = || LexError {
        pos: PosRange::new(start, end),
        msg: format!("bad number or duration syntax: {word:?}"),
    };
    if let Some(n) = parse_number(word) {
        return Ok((Tok::Number(n), end));
    }
    if let Some(ms) = parse_duration(word) {
        return Ok((Tok::Duration(ms), end));
    }
    Err(bad())
}

/// A PromQL number literal: decimal, exponent, hex (`0x1f`), octal (`0o17`, `017`).
pub fn parse_number(word: &str) -> Option<f64> {
    let lower = word.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    if let Some(oct) = lower.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(|v| v as f64);
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        return i64::from_str_radix(bin, 2).ok().map(|v| v as f64);
    }
    if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit()) {
        // Go's ParseInt with base 0 reads a leading zero as octal.
        return i64::from_str_radix(&lower[1..], 8).ok().map(|v| v as f64);
    }
    let first = lower.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'.') {
        return None;
    }
    if lower
        .bytes()
        .any(|b| !(b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-')))
    {
        return None;
    }
    lower.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("5m1ms"), Some(300_001));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("1m1h"), None);
        assert_eq!(parse_duration("5"), None);
    }

    #[test]
    fn numbers_and_durations() {
        let toks: Vec<Tok> = lex("1e3 0x1F .5 5m 1h30m Inf nan")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect();
        assert_eq!(toks[0], Tok::Number(1000.0));
        assert_eq!(toks[1], Tok::Number(31.0));
        assert_eq!(toks[2], Tok::Number(0.5));
        assert_eq!(toks[3], Tok::Duration(300_000));
        assert_eq!(toks[4], Tok::Duration(5_400_000));
        assert_eq!(toks[5], Tok::Number(f64::INFINITY));
        assert!(matches!(toks[6], Tok::Number(n) if n.is_nan()));
    }

    #[test]
    fn colon_in_brackets() {
        let toks: Vec<Tok> = lex("a:b[5m:step()]")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect();
        assert_eq!(toks[0], Tok::Ident("a:b".into()));
        assert_eq!(toks[3], Tok::Colon);
        assert_eq!(toks[4], Tok::Ident("step".into()));
    }
}
