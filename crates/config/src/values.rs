//! Value types of prometheus.yml that validate while they are read, so that a bad value is
//! reported with its line and column: durations, byte sizes, regexes, label names.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PromDuration::parse(&text).map_err(serde::de::Error::custom)
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

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
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
                "invalid regular expression {source:?}: {}",
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

impl Default for AnchoredRegex {
    fn default() -> Self {
        // "(.*)" always compiles.
        Self::new("(.*)").unwrap_or_else(|_| unreachable!("the default relabel regex compiles"))
    }
}

impl Serialize for AnchoredRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for AnchoredRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AnchoredRegex::new(&text).map_err(serde::de::Error::custom)
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

impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Err(serde::de::Error::custom("label name must not be empty"));
        }
        Ok(LabelName(text))
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
