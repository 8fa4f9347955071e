//! The functions of Prometheus' template `FuncMap` (`template/template.go`), with Go's
//! signatures, so that argument checks and error texts are Go's.
//!
//! The functions that depend on an expansion (`query`, `now`, `pathPrefix`,
//! `externalURL`) are made by [`context_funcs`]; the others, by [`static_funcs`], once.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use gotemplate::{query_escape, ArgKind, ArgType, Func, FuncMap, Signature, Struct, Value};

use super::humanize::{
    convert_to_float, humanize, humanize1024, humanize_duration, humanize_percentage,
    humanize_timestamp, to_duration, to_time,
};

const QUERY_RESULT: ArgType = ArgType::Named("template.queryResult", ArgKind::Slice);
const SAMPLE: ArgType = ArgType::Named("*template.sample", ArgKind::Pointer);
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// A query's sample as templates see it: a `*template.sample`.
pub fn sample(labels: BTreeMap<String, String>, value: f64) -> Value {
    Value::struct_ptr(
        Struct::new("template.sample")
            .field("Labels", Value::Labels(Arc::new(labels)))
            .iface_field("Value", Value::Float(value)),
    )
}

/// A `template.queryResult`.
pub fn query_result(samples: Vec<Value>) -> Value {
    Value::typed_list("template.queryResult", samples)
}

fn sample_labels(s: &Value) -> Result<Option<&BTreeMap<String, String>>, String> {
    match s {
        Value::StructPtr(st) | Value::Struct(st) => Ok(match st.get("Labels") {
            Some(Value::Labels(m)) => Some(m),
            _ => None,
        }),
        _ => Err(NIL_DEREF.to_string()),
    }
}

fn label_of(s: &Value, name: &str) -> Result<String, String> {
    Ok(sample_labels(s)?
        .and_then(|m| m.get(name).cloned())
        .unwrap_or_default())
}

fn str_arg(a: &[Value], i: usize) -> &str {
    a.get(i).and_then(Value::as_str).unwrap_or_default()
}

fn float_fn(
    f: fn(f64) -> Result<Value, String>,
) -> impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static {
    move |a| f(convert_to_float(&a[0])?)
}

/// Go's `strings.ToUpper` / `ToLower`: per-rune simple case mapping (no `ß` to `SS`).
fn map_case(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if upper {
            let mut it = c.to_uppercase();
            match (it.next(), it.next()) {
                (Some(u), None) => out.push(u),
                _ => out.push(c),
            }
        } else {
            out.push(c.to_lowercase().next().unwrap_or(c));
        }
    }
    out
}

/// `cases.Title(language.AmericanEnglish, cases.NoLower)`: the first letter of each
/// word in title case, the rest as it is. As Prometheus 2.42's build does it: a word is a
/// run of letters, digits, marks and `_` (so `3rd` stays, `foo_bar` is one word), and
/// anything else, `'` and `.` included, ends it (`don't` gives `Don'T`). A letter whose
/// title case is more than one character (`ß`) stays as it is.
pub fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        let wordy = c.is_alphanumeric() || c == '_' || is_mark(c);
        if wordy && !in_word && c.is_alphabetic() {
            out.push(title_char(c));
        } else {
            out.push(c);
        }
        in_word = wordy;
    }
    out
}

/// A character's title case (simple mapping).
fn title_char(c: char) -> char {
    match c {
        '\u{1c4}'..='\u{1c6}' => '\u{1c5}',
        '\u{1c7}'..='\u{1c9}' => '\u{1c8}',
        '\u{1ca}'..='\u{1cc}' => '\u{1cb}',
        '\u{1f1}'..='\u{1f3}' => '\u{1f2}',
        _ => {
            let mut it = c.to_uppercase();
            match (it.next(), it.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        }
    }
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x300..=0x36f | 0x1ab0..=0x1aff | 0x1dc0..=0x1dff | 0x20d0..=0x20ff | 0xfe20..=0xfe2f)
}

/// Go's `net.SplitHostPort`.
pub fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k);
    if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 == hp.len() || end + 1 != i {
            return None;
        }
        host = &hp[1..end];
        (j, k) = (1, end + 1);
    } else {
        host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        (j, k) = (0, 0);
    }
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

fn strip_port(hp: &str) -> String {
    split_host_port(hp).map_or(hp, |(h, _)| h).to_string()
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or_default();
    if port.is_empty() {
        host.to_string()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's `regexp.Compile` error text: `error parsing regexp: CODE: `EXPR``, with Go's
/// words and culprit for the mistakes Go and the `regex` crate both refuse (other errors
/// keep the `regex` crate's words).
fn compile(pattern: &str) -> Result<regex::Regex, String> {
    use regex_syntax::ast::ErrorKind as K;
    if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(pattern) {
        let (start, end) = (e.span().start.offset, e.span().end.offset);
        let at = |from: usize, to: usize| pattern.get(from..to).unwrap_or(pattern);
        let (code, expr) = match e.kind() {
            K::GroupUnclosed => ("missing closing )", pattern),
            K::GroupUnopened => ("unexpected )", pattern),
            K::ClassUnclosed => ("missing closing ]", at(start, pattern.len())),
            K::RepetitionMissing => (
                "missing argument to repetition operator",
                at(start, repetition_end(pattern, start)),
            ),
            K::EscapeUnrecognized => ("invalid escape sequence", at(start, end)),
            K::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
            K::ClassRangeInvalid => ("invalid character class range", at(start, end)),
            K::RepetitionCountInvalid => ("invalid repeat count", at(start, end)),
            _ => ("", ""),
        };
        if !code.is_empty() {
            return Err(format!("error parsing regexp: {code}: `{expr}`"));
        }
    }
    regex::Regex::new(pattern).map_err(|e| {
        let detail = match &e {
            regex::Error::Syntax(s) => s
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(s)
                .to_string(),
            other => other.to_string(),
        };
        format!("error parsing regexp: {detail}: `{pattern}`")
    })
}

/// The end of the repetition operator (`*`, `+?`, `{2,3}`) at `start`.
fn repetition_end(pattern: &str, start: usize) -> usize {
    let rest = pattern.get(start..).unwrap_or_default();
    let len = match rest.as_bytes().first() {
        Some(b'{') => rest.find('}').map_or(rest.len(), |i| i + 1),
        _ => rest.chars().next().map_or(0, char::len_utf8),
    };
    let len = len + usize::from(rest[len..].starts_with('?'));
    start + len
}

/// Go's `Regexp.Expand` of a replacement: `$1`, `$name`, `${name}`, `$$`. A name is the
/// longest run of letters, digits and `_` (`$1x` is the group named `1x`), a number
/// without leading zeros names a group by index, an unknown group is empty, and a
/// malformed reference is kept as text.
pub fn expand_replacement(
    out: &mut String,
    template: &str,
    re: &regex::Regex,
    caps: &regex::Captures<'_>,
) {
    let mut t = template;
    while let Some(pos) = t.find('$') {
        out.push_str(&t[..pos]);
        t = &t[pos + 1..];
        if let Some(rest) = t.strip_prefix('$') {
            out.push('$');
            t = rest;
            continue;
        }
        let (brace, s) = match t.strip_prefix('{') {
            Some(s) => (true, s),
            None => (false, t),
        };
        let len: usize = s
            .chars()
            .take_while(|c| c.is_alphabetic() || c.is_numeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        let closed = !brace || s[len..].starts_with('}');
        if len == 0 || !closed {
            out.push('$');
            continue;
        }
        let name = &s[..len];
        t = &s[len + usize::from(brace)..];
        let all_digits = name.bytes().all(|b| b.is_ascii_digit());
        let num = if all_digits && !(name.starts_with('0') && name.len() > 1) && name.len() <= 9 {
            name.parse::<usize>().ok()
        } else {
            None
        };
        let m = match num {
            Some(n) => caps.get(n),
            None => re
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(m) = m {
            out.push_str(m.as_str());
        }
    }
    out.push_str(t);
}

/// The longest string `reReplaceAll` builds (as the template engine's default output
/// limit): a short template can otherwise ask for a replacement per byte of a long text.
const MAX_REPLACED_BYTES: usize = 16 << 20;

thread_local! {
    /// The last regular expression compiled on this thread: templates call `match` and
    /// `reReplaceAll` in loops with the same pattern.
    static LAST_REGEX: std::cell::RefCell<Option<(String, regex::Regex)>> =
        const { std::cell::RefCell::new(None) };
}

/// [`compile`], through a one-entry cache.
fn compile_cached(pattern: &str) -> Result<regex::Regex, String> {
    let cached = LAST_REGEX.with_borrow(|last| {
        last.as_ref()
            .filter(|(p, _)| p == pattern)
            .map(|(_, re)| re.clone())
    });
    if let Some(re) = cached {
        return Ok(re);
    }
    let re = compile(pattern)?;
    LAST_REGEX.with_borrow_mut(|last| *last = Some((pattern.to_string(), re.clone())));
    Ok(re)
}

fn re_replace_all(pattern: &str, repl: &str, text: &str) -> Result<String, String> {
    let re = compile_cached(pattern)
        .map_err(|e| format!("regexp: Compile({}): {e}", go_quote_for_compile(pattern)))?;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let m = caps.get(0).expect("group 0");
        out.push_str(&text[last..m.start()]);
        expand_replacement(&mut out, repl, &re, &caps);
        last = m.end();
        if out.len() > MAX_REPLACED_BYTES {
            return Err(format!(
                "reReplaceAll: result longer than {MAX_REPLACED_BYTES} bytes"
            ));
        }
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// `regexp.MustCompile`'s `quote`: backquoted when it can be, else `strconv.Quote`.
fn go_quote_for_compile(s: &str) -> String {
    let can_backquote = s
        .chars()
        .all(|c| c != '`' && c != '\u{feff}' && (c == '\t' || !c.is_control()));
    if can_backquote {
        format!("`{s}`")
    } else {
        gotemplate::go::quote(s)
    }
}

fn link(expr: &str, tab: u8) -> String {
    format!("/graph?g0.expr={}&g0.tab={tab}", query_escape(expr))
}

/// Prometheus' `model.ParseDurationAllowNegative`, in seconds.
fn parse_duration(d: &str) -> Result<f64, String> {
    let (neg, text) = match d.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, d),
    };
    let ms = promconfig::PromDuration::parse(text)?.0.as_millis();
    if ms > (i64::MAX / 1_000_000) as u128 {
        return Err(format!(
            "duration out of range: {}",
            gotemplate::go::quote(text)
        ));
    }
    let secs = (ms as i64 * 1_000_000) as f64 / 1e9;
    Ok(if neg { -secs } else { secs })
}

/// The functions that do not depend on an expansion's context.
pub fn static_funcs() -> &'static FuncMap {
    static FUNCS: OnceLock<FuncMap> = OnceLock::new();
    FUNCS.get_or_init(build_static)
}

fn build_static() -> FuncMap {
    use ArgType::{Any, String as Str};
    let mut f = FuncMap::new();
    f.add("first", vec![QUERY_RESULT], |a| match &a[0] {
        Value::List(l) if !l.items().is_empty() => Ok(l.items()[0].clone()),
        _ => Err("first() called on vector with no elements".to_string()),
    });
    f.add("label", vec![Str, SAMPLE], |a| {
        label_of(&a[1], str_arg(a, 0)).map(Value::String)
    });
    f.add("value", vec![SAMPLE], |a| match &a[0] {
        Value::StructPtr(s) | Value::Struct(s) => Ok(s.get("Value").cloned().unwrap_or(Value::Nil)),
        _ => Err(NIL_DEREF.to_string()),
    });
    f.add("strvalue", vec![SAMPLE], |a| {
        label_of(&a[0], "__value__").map(Value::String)
    });
    f.insert(
        "args",
        Func::new(Signature::variadic(vec![], Any), |a| {
            Ok(Value::map(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (format!("arg{i}"), v.clone())),
            ))
        }),
    );
    f.add("reReplaceAll", vec![Str, Str, Str], |a| {
        re_replace_all(str_arg(a, 0), str_arg(a, 1), str_arg(a, 2)).map(Value::String)
    });
    f.add("safeHtml", vec![Str], |a| Ok(Value::from(str_arg(a, 0))));
    f.add("match", vec![Str, Str], |a| {
        Ok(Value::Bool(
            compile_cached(str_arg(a, 0))?.is_match(str_arg(a, 1)),
        ))
    });
    f.add("title", vec![Str], |a| {
        Ok(Value::String(title(str_arg(a, 0))))
    });
    f.add("toUpper", vec![Str], |a| {
        Ok(Value::String(map_case(str_arg(a, 0), true)))
    });
    f.add("toLower", vec![Str], |a| {
        Ok(Value::String(map_case(str_arg(a, 0), false)))
    });
    f.add("graphLink", vec![Str], |a| {
        Ok(Value::String(link(str_arg(a, 0), 0)))
    });
    f.add("tableLink", vec![Str], |a| {
        Ok(Value::String(link(str_arg(a, 0), 1)))
    });
    f.add("sortByLabel", vec![Str, QUERY_RESULT], |a| {
        let by = str_arg(a, 0);
        let items = match &a[1] {
            Value::List(l) => l.items().to_vec(),
            _ => Vec::new(),
        };
        // Go's `Less` dereferences the samples: a nil one panics once there are two.
        if items.len() >= 2 && items.iter().any(|s| matches!(s, Value::Nil)) {
            return Err(NIL_DEREF.to_string());
        }
        let mut keyed: Vec<(String, Value)> = items
            .into_iter()
            .map(|s| (label_of(&s, by).unwrap_or_default(), s))
            .collect();
        keyed.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(query_result(keyed.into_iter().map(|(_, s)| s).collect()))
    });
    f.add("stripPort", vec![Str], |a| {
        Ok(Value::String(strip_port(str_arg(a, 0))))
    });
    f.add("stripDomain", vec![Str], |a| {
        Ok(Value::String(strip_domain(str_arg(a, 0))))
    });
    f.add(
        "humanize",
        vec![Any],
        float_fn(|v| Ok(Value::String(humanize(v)))),
    );
    f.add(
        "humanize1024",
        vec![Any],
        float_fn(|v| Ok(Value::String(humanize1024(v)))),
    );
    f.add(
        "humanizeDuration",
        vec![Any],
        float_fn(|v| Ok(Value::String(humanize_duration(v)))),
    );
    f.add(
        "humanizePercentage",
        vec![Any],
        float_fn(|v| Ok(Value::String(humanize_percentage(v)))),
    );
    f.add(
        "humanizeTimestamp",
        vec![Any],
        float_fn(|v| humanize_timestamp(v).map(Value::String)),
    );
    f.add("toTime", vec![Any], float_fn(to_time));
    f.add("toDuration", vec![Any], float_fn(|v| Ok(to_duration(v))));
    f.add("parseDuration", vec![Str], |a| {
        parse_duration(str_arg(a, 0)).map(Value::Float)
    });
    f.add("urlQueryEscape", vec![Str], |a| {
        Ok(Value::String(query_escape(str_arg(a, 0))))
    });
    f
}

/// What the context-dependent functions see.
pub struct Context {
    /// The evaluation time, ms since the epoch (`now`).
    pub timestamp_ms: i64,
    /// `--web.external-url` (`externalURL`; its path is `pathPrefix`).
    pub external_url: String,
}

/// The path of a URL (Go's `url.URL.Path`, unescaped).
fn url_path(u: &str) -> String {
    let rest = match u.find("://") {
        Some(i) => {
            let after = &u[i + 3..];
            match after.find(['/', '?', '#']) {
                Some(j) => &after[j..],
                None => "",
            }
        }
        None => u,
    };
    let path = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    percent_decode(path)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `now`, `pathPrefix`, `externalURL` and `query` (whose work `query` hands to `run`).
pub fn context_funcs(
    ctx: &Context,
    query: impl Fn(&str) -> Result<Value, String> + Send + Sync + 'static,
) -> FuncMap {
    let mut f = FuncMap::new();
    let now = ctx.timestamp_ms as f64 / 1000.0;
    f.add("now", vec![], move |_| Ok(Value::Float(now)));
    let path = url_path(&ctx.external_url);
    f.add("pathPrefix", vec![], move |_| {
        Ok(Value::String(path.clone()))
    });
    let url = ctx.external_url.clone();
    f.add("externalURL", vec![], move |_| {
        Ok(Value::String(url.clone()))
    });
    f.add("query", vec![ArgType::String], move |a| {
        query(str_arg(a, 0))
    });
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_expansion() {
        let re = regex::Regex::new("(?P<first>a)(b)").unwrap();
        let caps = re.captures("ab").unwrap();
        let ex = |t: &str| {
            let mut s = String::new();
            expand_replacement(&mut s, t, &re, &caps);
            s
        };
        assert_eq!(ex("x$1"), "xa");
        assert_eq!(ex("$1x"), "");
        assert_eq!(ex("${1}x"), "ax");
        assert_eq!(ex("$first-$2"), "a-b");
        assert_eq!(ex("$$1"), "$1");
        assert_eq!(ex("$"), "$");
        assert_eq!(ex("${1"), "${1");
        assert_eq!(ex("$01"), "");
        assert_eq!(ex("$-"), "$-");
        assert_eq!(ex("$9"), "");
    }

    #[test]
    fn host_ports() {
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("a:b:c"), "a:b:c");
        assert_eq!(strip_domain("foo.bar:80"), "foo:80");
        assert_eq!(strip_domain("[foo.bar]:80"), "foo:80");
        assert_eq!(strip_domain("[a:b.c]:80"), "[a:b]:80");
        assert_eq!(strip_domain(""), "");
    }

    #[test]
    fn titles() {
        assert_eq!(title("aa bb CC"), "Aa Bb CC");
        assert_eq!(title("hello wORLD-foo_bar"), "Hello WORLD-Foo_bar");
        assert_eq!(title("don't 3rd x.y"), "Don'T 3rd X.Y");
        assert_eq!(title("ßa ǆa élan"), "ßa ǅa Élan");
    }

    #[test]
    fn paths_and_durations() {
        assert_eq!(url_path("http://testhost:9090/path/prefix"), "/path/prefix");
        assert_eq!(url_path("http://h/a%20b?x#y"), "/a b");
        assert_eq!(url_path("http://h"), "");
        assert_eq!(url_path(""), "");
        assert_eq!(parse_duration("-30m"), Ok(-1800.0));
        assert_eq!(parse_duration("1h2m10ms"), Ok(3720.01));
        assert!(parse_duration("x").is_err());
    }
}
