//! Value types of prometheus.yml that validate while they are read, so that a bad value is
//! reported with its line and column: durations, byte sizes, regexes, label names.

use std::fmt;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::{Serialize, Serializer};

/// A Prometheus duration (`1h30m`, `15s`, `500ms`, `2d`, `1w`, `1y`, or `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PromDuration(pub Duration);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    /// Parses Prometheus's duration syntax: units in decreasing order, each at most once.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "0" {
            return Ok(Self(Duration::ZERO));
        }
        let invalid = || format!("not a valid duration string: {text:?}");
        if text.is_empty() {
            return Err(invalid());
        }
        let mut rest = text;
        let mut total: u64 = 0;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            // "ms" must be tried before "m".
            let found = UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .filter(|(_, (unit, _))| {
                    rest.starts_with(unit) && !(*unit == "m" && rest.starts_with("ms"))
                })
                .map(|(i, (unit, ms))| (i, unit.len(), *ms))
                .next();
            let Some((index, len, unit_ms)) = found else {
                return Err(invalid());
            };
            total = number
                .checked_mul(unit_ms)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("duration out of range: {text:?}"))?;
            rest = &rest[len..];
            next_unit = index + 1;
        }
        Ok(Self(Duration::from_millis(total)))
    }
}

impl fmt::Display for PromDuration {
    /// As Prometheus prints durations: `1h30m`, `15s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, unit_ms) in UNITS {
            // Prometheus only uses y and w when they divide the duration exactly.
            if (unit == "y" || unit == "w") && !ms.is_multiple_of(unit_ms) {
                continue;
            }
            if ms >= unit_ms {
                write!(f, "{}{unit}", ms / unit_ms)?;
                ms %= unit_ms;
            }
        }
        Ok(())
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl Decode for PromDuration {
    /// model.Duration's `UnmarshalYAML`: a string in Prometheus's duration syntax.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = PromDuration::parse(&text).map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "model.Duration".into()
    }
}

/// A size in bytes: `0`, `512`, `10KB`, `1MiB`, … (base 2, as Prometheus's `Base2Bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let invalid = || {
            format!("invalid size {text:?}: use a number with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
        };
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = text[..digits].parse().map_err(|_| invalid())?;
        let shift = match &text[digits..] {
            "" | "B" => 0,
            "KB" | "KiB" => 10,
            "MB" | "MiB" => 20,
            "GB" | "GiB" => 30,
            "TB" | "TiB" => 40,
            "PB" | "PiB" => 50,
            "EB" | "EiB" => 60,
            _ => return Err(invalid()),
        };
        number
            .checked_mul(1u64 << shift)
            .map(ByteSize)
            .ok_or_else(|| format!("size out of range: {text:?}"))
    }
}

impl ByteSize {
    /// alecthomas/units's `ParseBase2Bytes`, with its errors: `0`, or numbers each with a
    /// unit (`B`, `KB`/`KiB`, … `EB`/`EiB`, all powers of 1024), e.g. `1.5MB`, `1GB512MB`.
    pub fn parse_base2(text: &str) -> Result<i64, String> {
        if text == "0" {
            return Ok(0);
        }
        let invalid = || format!("units: invalid {text}");
        let (negative, mut rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total = 0f64;
        while !rest.is_empty() {
            let number_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let number = &rest[..number_end];
            if number.is_empty() || number == "." {
                return Err(invalid());
            }
            let value: f64 = number.parse().map_err(|_| invalid())?;
            rest = &rest[number_end..];
            let unit_end = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = &rest[..unit_end];
            let shift = match unit {
                "B" => 0,
                "KB" | "KiB" => 10,
                "MB" | "MiB" => 20,
                "GB" | "GiB" => 30,
                "TB" | "TiB" => 40,
                "PB" | "PiB" => 50,
                "EB" | "EiB" => 60,
                _ => return Err(format!("units: unknown unit {unit} in {text}")),
            };
            rest = &rest[unit_end..];
            total += value * (1u64 << shift) as f64;
        }
        if total >= i64::MAX as f64 {
            return Err(format!("units: overflow in {text}"));
        }
        Ok(if negative {
            -(total as i64)
        } else {
            total as i64
        })
    }
}

impl std::fmt::Display for ByteSize {
    /// As units.Base2Bytes prints: the largest exact unit (`10MiB`, `0B`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut value = self.0;
        let mut unit = 0;
        while value != 0 && value.is_multiple_of(1024) && unit < units.len() - 1 {
            value /= 1024;
            unit += 1;
        }
        write!(f, "{value}{}", units[unit])
    }
}

impl Serialize for ByteSize {
    /// As Prometheus's `Base2Bytes` prints: the largest exact unit (`10MiB`, `0B`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut value = self.0;
        let mut unit = 0;
        while value != 0 && value.is_multiple_of(1024) && unit < units.len() - 1 {
            value /= 1024;
            unit += 1;
        }
        s.serialize_str(&format!("{value}{}", units[unit]))
    }
}

impl Decode for ByteSize {
    /// units.Base2Bytes's `UnmarshalText`: a number with a unit (`100` alone is refused,
    /// as upstream refuses it).
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let Some(bytes) = d.scalar_bytes(node)? else {
            d.type_error(node, "units.Base2Bytes");
            return Ok(false);
        };
        let text = String::from_utf8_lossy(&bytes);
        // A negative limit means no limit, as 0 does.
        *self = ByteSize(ByteSize::parse_base2(&text).map_err(Fatal)?.max(0) as u64);
        Ok(true)
    }
    fn go_type() -> String {
        "units.Base2Bytes".into()
    }
}

/// A regular expression, anchored at both ends with `.` matching newlines, as Prometheus
/// compiles relabeling regexes (`^(?s:EXPR)$`).
#[derive(Clone)]
pub struct AnchoredRegex {
    source: String,
    regex: regex::Regex,
}

impl AnchoredRegex {
    pub fn new(source: &str) -> Result<Self, String> {
        let regex = regex::Regex::new(&format!("^(?s:{source})$")).map_err(|e| {
            format!(
                "error parsing regexp: {}: `{source}`",
                last_line(&e.to_string())
            )
        })?;
        Ok(Self {
            source: source.to_string(),
            regex,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }
}

/// The regex crate's message is several lines (pattern, caret, reason): keep the reason.
fn last_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_string()
}

impl fmt::Debug for AnchoredRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnchoredRegex({:?})", self.source)
    }
}

impl PartialEq for AnchoredRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl AnchoredRegex {
    /// `(.*)`, the default relabeling regex.
    pub fn match_all() -> Self {
        // "(.*)" always compiles.
        Self::new("(.*)").unwrap_or_else(|_| unreachable!("the default relabel regex compiles"))
    }
}

impl Default for AnchoredRegex {
    /// The zero value: the empty expression (matches only the empty string).
    fn default() -> Self {
        Self::new("").unwrap_or_else(|_| unreachable!("the empty regex compiles"))
    }
}

impl Serialize for AnchoredRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl Decode for AnchoredRegex {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = AnchoredRegex::new(&text).map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "relabel.Regexp".into()
    }
}

/// A label name: non-empty UTF-8 (Prometheus 3's default validation scheme).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LabelName(pub String);

impl LabelName {
    /// Whether the name also fits the legacy `[a-zA-Z_][a-zA-Z0-9_]*` pattern.
    pub fn is_legacy(name: &str) -> bool {
        let mut bytes = name.bytes();
        matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }
}

impl Serialize for LabelName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Decode for LabelName {
    /// model.LabelName's `UnmarshalYAML`: non-empty, valid UTF-8.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let Some(bytes) = d.scalar_bytes(node)? else {
            d.type_error(node, "string");
            return Ok(false);
        };
        match String::from_utf8(bytes) {
            Ok(name) if !name.is_empty() => {
                self.0 = name;
                Ok(true)
            }
            Ok(name) => Err(Fatal(format!(
                "{} is not a valid label name",
                goyaml::go_quote(&name)
            ))),
            Err(e) => Err(Fatal(format!(
                "{} is not a valid label name",
                goyaml::go_quote_bytes(e.as_bytes())
            ))),
        }
    }
    fn go_type() -> String {
        "model.LabelName".into()
    }
}

/// A secret string (a password, a token): shown as `<secret>` when the configuration is
/// printed, never in clear.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "<secret>"
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "<secret>" })
    }
}

impl Decode for Secret {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        d.decode(node, &mut self.0)
    }
    fn go_type() -> String {
        "config.plain".into()
    }
}

/// A URL as Go's `net/url.Parse` reads it (lenient: `host:port` alone parses, with the
/// host as its scheme), keeping the text as written.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GoUrl {
    pub raw: String,
    pub scheme: String,
    /// The user name and password of `user:pass@host`, if any.
    pub user: Option<(String, Option<String>)>,
    /// `host` or `host:port` (IPv6 in brackets).
    pub host: String,
    pub path: String,
    pub raw_query: String,
    /// Set for `scheme:opaque` URLs (no `//`).
    pub opaque: String,
}

impl fmt::Debug for GoUrl {
    /// The URL with its password hidden, as everywhere it is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoUrl({:?})", self.redacted())
    }
}

impl GoUrl {
    /// Go's `url.Parse`, with its error texts (`parse "…": missing protocol scheme`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let fail = |why: &str| format!("parse {}: {why}", goyaml::go_quote(raw));
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(fail("net/url: invalid control character in URL"));
        }
        let mut url = GoUrl {
            raw: raw.to_string(),
            ..GoUrl::default()
        };
        let without_fragment = raw.split('#').next().unwrap_or("");
        if without_fragment == "*" {
            url.path = "*".into();
            return Ok(url);
        }
        let mut rest = without_fragment;
        // The scheme: a letter, then letters, digits, + - . up to a colon.
        for (i, c) in rest.char_indices() {
            if c.is_ascii_alphabetic() {
                continue;
            }
            if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
                if i == 0 {
                    break;
                }
                continue;
            }
            if c == ':' {
                if i == 0 {
                    return Err(fail("missing protocol scheme"));
                }
                url.scheme = rest[..i].to_ascii_lowercase();
                rest = &rest[i + 1..];
            }
            break;
        }
        if let Some((before, query)) = rest.split_once('?') {
            url.raw_query = query.to_string();
            rest = before;
        }
        if !rest.starts_with('/') && !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        if url.scheme.is_empty() {
            let first_segment = rest.split('/').next().unwrap_or("");
            if first_segment.contains(':') {
                return Err(fail("first path segment in URL cannot contain colon"));
            }
        }
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/').unwrap_or(after.len());
            let mut authority = &after[..end];
            rest = &after[end..];
            if let Some(at) = authority.rfind('@') {
                let userinfo = &authority[..at];
                authority = &authority[at + 1..];
                url.user = Some(match userinfo.split_once(':') {
                    Some((u, p)) => (u.to_string(), Some(p.to_string())),
                    None => (userinfo.to_string(), None),
                });
            }
            url.host = parse_host(authority).map_err(|e| fail(&e))?;
        }
        url.path = rest.to_string();
        Ok(url)
    }

    /// The host without its port (and without IPv6 brackets).
    pub fn hostname(&self) -> &str {
        let host = self.host.as_str();
        if let Some(inner) = host.strip_prefix('[') {
            return inner.split(']').next().unwrap_or("");
        }
        match host.rfind(':') {
            Some(i) => &host[..i],
            None => host,
        }
    }

    /// The port after the host, if any.
    pub fn port(&self) -> Option<&str> {
        let host = self.host.as_str();
        let after = match host.rfind(']') {
            Some(i) => &host[i + 1..],
            None => host,
        };
        after.rfind(':').map(|i| &after[i + 1..])
    }

    /// The URL as Go prints it with the password replaced by `xxxxx`.
    pub fn redacted(&self) -> String {
        match &self.user {
            Some((user, Some(_))) => {
                let query = if self.raw_query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", self.raw_query)
                };
                format!(
                    "{}://{user}:xxxxx@{}{}{query}",
                    self.scheme, self.host, self.path
                )
            }
            _ => self.raw.clone(),
        }
    }
}

fn parse_host(host: &str) -> Result<String, String> {
    if let Some(inner) = host.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &inner[close + 1..];
        if !port.is_empty() && !valid_port(port) {
            return Err(format!(
                "invalid port {} after host",
                goyaml::go_quote(port)
            ));
        }
        return Ok(host.to_string());
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_port(port) {
            return Err(format!(
                "invalid port {} after host",
                goyaml::go_quote(port)
            ));
        }
    }
    for c in host.chars() {
        let ok = c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:%".contains(c) || (c as u32) >= 0x80;
        if !ok {
            return Err(format!(
                "invalid character {} in host name",
                goyaml::go_quote(&c.to_string())
            ));
        }
    }
    Ok(host.to_string())
}

/// `:` followed by digits only (or nothing).
fn valid_port(port: &str) -> bool {
    port.strip_prefix(':')
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

impl Serialize for GoUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl Decode for GoUrl {
    /// common/config's `URL.UnmarshalYAML`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = GoUrl::parse(&text).map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "config.URL".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = |t: &str| PromDuration::parse(t).map(|d| d.0.as_millis() as u64);
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("15s"), Ok(15_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("1m500ms"), Ok(60_500));
        assert_eq!(ms("2d"), Ok(172_800_000));
        assert_eq!(ms("1y"), Ok(31_536_000_000));
        for bad in ["", "1", "1x", "1s1h", "1h1h", "-1s", "1.5s", "s", "1m 1s"] {
            assert!(ms(bad).is_err(), "{bad}");
        }
        for (text, shown) in [
            ("15s", "15s"),
            ("90s", "1m30s"),
            ("0", "0s"),
            ("2w", "2w"),
            ("8d", "8d"),
            ("1500ms", "1s500ms"),
        ] {
            assert_eq!(PromDuration::parse(text).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn go_urls() {
        let u = GoUrl::parse("https://user:pw@example.com:8443/path?x=1").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.hostname(), "example.com");
        assert_eq!(u.port(), Some("8443"));
        assert_eq!(u.path, "/path");
        assert_eq!(u.redacted(), "https://user:xxxxx@example.com:8443/path?x=1");
        let u = GoUrl::parse("localhost:1234").unwrap();
        assert_eq!(u.scheme, "localhost");
        assert_eq!(u.host, "");
        assert!(GoUrl::parse("://x")
            .unwrap_err()
            .contains("missing protocol scheme"));
        assert!(GoUrl::parse("http://a b/")
            .unwrap_err()
            .contains("invalid character"));
        assert!(GoUrl::parse("http://a:x/")
            .unwrap_err()
            .contains("invalid port"));
    }

    #[test]
    fn base2_sizes() {
        assert_eq!(ByteSize::parse_base2("0"), Ok(0));
        assert_eq!(ByteSize::parse_base2("1KB"), Ok(1024));
        assert_eq!(ByteSize::parse_base2("1.5MiB"), Ok(1536 * 1024));
        assert_eq!(ByteSize::parse_base2("-1GB"), Ok(-(1 << 30)));
        assert_eq!(
            ByteSize::parse_base2("100").unwrap_err(),
            "units: unknown unit  in 100"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("0"), Ok(ByteSize(0)));
        assert_eq!(ByteSize::parse("10KB"), Ok(ByteSize(10 * 1024)));
        assert_eq!(ByteSize::parse("1MiB"), Ok(ByteSize(1 << 20)));
        assert!(ByteSize::parse("1 MB").is_err());
        assert!(ByteSize::parse("MB").is_err());
    }

    #[test]
    fn regexes_are_anchored_and_dotall() {
        let r = AnchoredRegex::new("foo.*").unwrap();
        assert!(r.regex().is_match("foo\nbar"));
        assert!(!r.regex().is_match("xfoo"));
        assert!(AnchoredRegex::new("(").is_err());
    }
}
