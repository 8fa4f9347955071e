//! The series notation of Prometheus's PromQL test language (`promqltest`), as its `load`
//! blocks and promtool's rule unit tests (`input_series`) write it: a series description
//! (`metric{a="b"}`) and values such as `1 2 3`, `a+bxN` / `a-bxN` (N+1 values from `a`
//! in steps of `b`), `axN`, `_` and `_xN` (no sample), `stale` (a staleness marker).
//! Native histogram literals: `{{schema:1 sum:5 count:4 z_bucket:1 z_bucket_w:0.001
//! buckets:[1 2] offset:0 n_buckets:[1] n_offset:1 counter_reset_hint:gauge
//! custom_values:[1 2]}}` (absolute bucket counts, one span each side), `{{h}}xN`, and
//! `{{a}}+{{b}}xN` / `{{a}}-{{b}}xN` (N+1 histograms from `a` in steps of `b`).

use model::histogram::{CounterResetHint, FloatHistogram, Span};
use model::Labels;

/// Longest histogram literal read (a test file's line, not a service's input; bounded so
/// that a broken file cannot make a runner allocate without limit).
const MAX_HISTOGRAM_LITERAL: usize = 1 << 16;

/// A Prometheus duration in ms (`5m`, `1h30m`, `0`, `-1m`).
pub fn duration_ms(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body == "0" {
        return Some(0);
    }
    let mut total = 0i64;
    let b = body.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return None;
    }
    while i < b.len() {
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if st == i {
            return None;
        }
        let n: i64 = body[st..i].parse().ok()?;
        let rest = &body[i..];
        let (unit, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.as_bytes().first()? {
                b's' => (1000, 1),
                b'm' => (60_000, 1),
                b'h' => (3_600_000, 1),
                b'd' => (86_400_000, 1),
                b'w' => (604_800_000, 1),
                b'y' => (31_536_000_000, 1),
                _ => return None,
            }
        };
        total += n * unit;
        i += len;
    }
    Some(if neg { -total } else { total })
}

/// A number as the test language reads it (Go's ParseInt base 0, then ParseFloat; also a
/// duration in seconds).
pub fn number(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()? as f64
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()? as f64
    } else if let Some(bn) = lower.strip_prefix("0b") {
        i64::from_str_radix(bn, 2).ok()? as f64
    } else if let Ok(v) = lower.parse::<f64>() {
        v
    } else if let Some(ms) = duration_ms(body) {
        ms as f64 / 1000.0
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

/// One value of a series line.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Value(f64),
    Stale,
    Omitted,
    Histogram(Box<FloatHistogram>),
}

/// Parses one histogram literal `{{...}}` (keys in any order, all optional).
pub fn parse_histogram(text: &str) -> Result<FloatHistogram, String> {
    if text.len() > MAX_HISTOGRAM_LITERAL {
        return Err("histogram literal too long".into());
    }
    let inner = text
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .ok_or_else(|| format!("bad histogram {text}"))?;
    let mut h = FloatHistogram::default();
    let (mut buckets, mut offset, mut n_buckets, mut n_offset) =
        (Vec::new(), 0i32, Vec::new(), 0i32);
    let mut rest = inner.trim();
    let mut seen: Vec<&str> = Vec::new();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once(':')
            .ok_or_else(|| format!("bad histogram item in {text}"))?;
        let key = key.trim();
        if seen.contains(&key) {
            return Err(format!("duplicate key {key:?} in {text}"));
        }
        seen.push(key);
        let after = after.trim_start();
        let (value, next) = if after.starts_with('[') {
            let end = after
                .find(']')
                .ok_or_else(|| format!("unclosed list in {text}"))?;
            (&after[..=end], &after[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        rest = next.trim_start();
        let num =
            |v: &str| number(v).ok_or_else(|| format!("bad number {v:?} for {key} in {text}"));
        let list = |v: &str| -> Result<Vec<f64>, String> {
            let body = v
                .strip_prefix('[')
                .and_then(|b| b.strip_suffix(']'))
                .ok_or_else(|| format!("{key} needs a list in {text}"))?;
            body.split_whitespace().map(num).collect()
        };
        let int = |v: &str| -> Result<i32, String> {
            let f = num(v)?;
            if f.fract() != 0.0 || f.abs() > f64::from(i32::MAX) {
                return Err(format!("{key} must be an integer in {text}"));
            }
            Ok(f as i32)
        };
        match key {
            "schema" => h.schema = int(value)?,
            "sum" => h.sum = num(value)?,
            "count" => h.count = num(value)?,
            "z_bucket" => h.zero_count = num(value)?,
            "z_bucket_w" => h.zero_threshold = num(value)?,
            "custom_values" => h.custom_values = list(value)?,
            "buckets" => buckets = list(value)?,
            "offset" => offset = int(value)?,
            "n_buckets" => n_buckets = list(value)?,
            "n_offset" => n_offset = int(value)?,
            "counter_reset_hint" => {
                h.counter_reset_hint = match value {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("bad counter_reset_hint {other:?} in {text}")),
                }
            }
            other => return Err(format!("unknown histogram key {other:?} in {text}")),
        }
    }
    if !buckets.is_empty() {
        h.positive_spans = vec![Span::new(offset, buckets.len() as u32)];
        h.positive_buckets = buckets;
    }
    if !n_buckets.is_empty() {
        h.negative_spans = vec![Span::new(n_offset, n_buckets.len() as u32)];
        h.negative_buckets = n_buckets;
    }
    Ok(h)
}

/// Expands a histogram item: `{{h}}`, `{{h}}xN`, `{{a}}+{{b}}xN`, `{{a}}-{{b}}xN`.
fn expand_histograms(tok: &str) -> Result<Vec<FloatHistogram>, String> {
    let (body, times) = match tok.rsplit_once("}}x") {
        Some((b, n)) => (
            format!("{b}}}}}"),
            n.parse::<usize>().map_err(|_| format!("bad item {tok}"))?,
        ),
        None => (tok.to_string(), 0),
    };
    // `{{a}}+{{b}}` or `{{a}}-{{b}}`.
    let (base, step) = match body.find("}}+{{").or_else(|| body.find("}}-{{")) {
        Some(i) => {
            let sign = &body[i + 2..i + 3];
            (&body[..i + 2], Some((sign == "-", &body[i + 3..])))
        }
        None => (body.as_str(), None),
    };
    let base = parse_histogram(base)?;
    let Some((negative, step)) = step else {
        return Ok(vec![base; times + 1]);
    };
    let step = parse_histogram(step)?;
    let mut out = Vec::with_capacity(times + 1);
    let mut cur = base;
    out.push(cur.clone());
    for _ in 0..times {
        if cur.schema > step.schema {
            return Err(format!(
                "error combining histograms: cannot merge from schema {} to {}",
                step.schema, cur.schema
            ));
        }
        let mut next = cur.clone();
        let combined = if negative {
            next.sub(&step)
        } else {
            next.add(&step)
        };
        combined.map_err(|e| format!("error combining histograms: {e}"))?;
        out.push(next.clone());
        cur = next;
    }
    Ok(out)
}

/// The whitespace-separated items of a values text (a `{{...}}` literal is one item).
pub fn split_items(s: &str) -> Vec<String> {
    // Histogram literals `{{...}}` contain spaces.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c)
            }
            '}' => {
                depth -= 1;
                cur.push(c)
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The values of a series line, expanded (`1+2x3` is four values).
pub fn expand_items(text: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for tok in split_items(text) {
        if tok.starts_with("{{") {
            out.extend(
                expand_histograms(&tok)?
                    .into_iter()
                    .map(|h| Item::Histogram(Box::new(h))),
            );
            continue;
        }
        if tok == "stale" {
            out.push(Item::Stale);
            continue;
        }
        if tok == "_" {
            out.push(Item::Omitted);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad item {tok}"))?;
            out.extend(std::iter::repeat_n(Item::Omitted, n));
            continue;
        }
        // `axN` wins over a hex number: `0x59` is 0 repeated.
        let repeat = tok.rsplit_once('x').filter(|(h, n)| {
            !h.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        });
        if repeat.is_none() {
            if let Some(v) = number(&tok) {
                out.push(Item::Value(v));
                continue;
            }
        }
        // a+bxN, a-bxN, axN
        let (head, count) = repeat.ok_or_else(|| format!("bad item {tok}"))?;
        let n: usize = count.parse().map_err(|_| format!("bad item {tok}"))?;
        let bytes = head.as_bytes();
        let mut split = None;
        for i in 1..bytes.len() {
            if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
                split = Some(i);
            }
        }
        let (a, b) = match split {
            Some(i) => {
                let a = number(&head[..i]).ok_or_else(|| format!("bad item {tok}"))?;
                let b = number(&head[i + 1..]).ok_or_else(|| format!("bad item {tok}"))?;
                (a, if bytes[i] == b'-' { -b } else { b })
            }
            None => (number(head).ok_or_else(|| format!("bad item {tok}"))?, 0.0),
        };
        let mut v = a;
        for _ in 0..=n {
            out.push(Item::Value(v));
            v += b;
        }
    }
    Ok(out)
}

/// A signed duration of the test language (`-1m`, `+30s`, `0`, `-59999ms`, `1m30s`), in ms.
pub fn signed_duration(text: &str) -> Result<i64, String> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    let mut total = 0i64;
    let mut digits = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("bad duration {text:?}"))?;
        digits.clear();
        total += n * match unit.as_str() {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return Err(format!("bad duration {text:?}")),
        };
    }
    if !digits.is_empty() || rest.is_empty() {
        return Err(format!("bad duration {text:?}"));
    }
    Ok(sign * total)
}

/// The offsets of an `@st` line (`_`, `_xN`, `d`, `dxN`, `d+dxN`, `d-dxN`); `None` where
/// a sample has no start timestamp.
pub fn expand_start_offsets(text: &str) -> Result<Vec<Option<i64>>, String> {
    let mut out = Vec::new();
    for tok in split_items(text) {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad @st item {tok}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        let Some((head, count)) = tok
            .rsplit_once('x')
            .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        else {
            out.push(Some(signed_duration(&tok)?));
            continue;
        };
        let n: i64 = count.parse().map_err(|_| format!("bad @st item {tok}"))?;
        // The step's sign separates it from the start (which may have its own sign).
        let split = head
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map(|(i, _)| i);
        let (start, step) = match split {
            Some(i) => (signed_duration(&head[..i])?, signed_duration(&head[i..])?),
            None => (signed_duration(head)?, 0),
        };
        out.extend((0..=n).map(|k| Some(start + k * step)));
    }
    Ok(out)
}

/// Splits `metric{a="b c"} 1 2` into the series part and the values part.
pub fn split_series_line(line: &str) -> (&str, &str) {
    let b = line.as_bytes();
    let mut i = 0;
    let mut in_str: Option<u8> = None;
    let mut depth = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = in_str {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                in_str = None;
            }
        } else {
            match c {
                b'"' | b'\'' | b'`' => in_str = Some(c),
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return (&line[..=i], line[i + 1..].trim());
                    }
                }
                c if c.is_ascii_whitespace() && depth == 0 => {
                    return (&line[..i], line[i..].trim());
                }
                _ => {}
            }
        }
        i += 1;
    }
    (line, "")
}

/// The labels of a series description (`metric{a="b"}`, `{a="b"}`, `{}`).
pub fn parse_labels(desc: &str) -> Result<Labels, String> {
    let d = desc.trim();
    if d == "{}" {
        return Ok(Labels::default());
    }
    let matchers = crate::parse_selector(d).map_err(|e| format!("{desc}: {e}"))?;
    Ok(Labels::from_pairs(
        matchers.into_iter().map(|m| (m.name, m.value)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Option<f64>> {
        expand_items(text)
            .unwrap()
            .into_iter()
            .map(|i| match i {
                Item::Value(v) => Some(v),
                Item::Stale => Some(-0.0),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn expands_the_notation() {
        assert_eq!(values("1+1x2"), [Some(1.0), Some(2.0), Some(3.0)]);
        assert_eq!(
            values("5-2x1 _x2 1x1"),
            [Some(5.0), Some(3.0), None, None, Some(1.0), Some(1.0)]
        );
        assert_eq!(values("0 _ stale"), [Some(0.0), None, Some(-0.0)]);
        assert!(expand_items("1+x").is_err());
        let (desc, rest) = split_series_line(r#"up{a="b c"} 1 2"#);
        assert_eq!((desc, rest), (r#"up{a="b c"}"#, "1 2"));
        let labels = parse_labels(desc).unwrap();
        assert_eq!(labels.to_string(), r#"{__name__="up", a="b c"}"#);
        assert!(parse_labels(r#"up{a="b""#).is_err());
    }
}
