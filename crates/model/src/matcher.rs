//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's semantics: regexes are fully
//! anchored with `.` matching newlines, and an absent label is the empty string.

use std::fmt;

use crate::Labels;

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// One label matcher.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<regex::Regex>,
}

impl Matcher {
    /// A matcher; fails only for an invalid regular expression.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, String> {
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?,
            ),
            _ => None,
        };
        Ok(Self {
            name: name.into(),
            op,
            value,
            regex,
        })
    }

    /// Whether a label value (empty when absent) matches.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(r)) => r.is_match(value),
            (MatchOp::NotRegex, Some(r)) => !r.is_match(value),
            _ => false,
        }
    }

    /// Whether a label set matches.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    /// Whether the empty value matches (then series without the label match too).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{op}{:?}", self.name, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantics() {
        let l = Labels::from_pairs([("job", "node"), ("path", "a\nb")]);
        assert!(Matcher::new(MatchOp::Equal, "job", "node")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::Regex, "job", "no.*")
            .unwrap()
            .matches_labels(&l));
        assert!(!Matcher::new(MatchOp::Regex, "job", "no")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::Regex, "path", "a.b")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::Equal, "missing", "")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::NotRegex, "job", "x|y")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::Regex, "job", "(").is_err());
        assert_eq!(
            Matcher::new(MatchOp::NotEqual, "a", "b")
                .unwrap()
                .to_string(),
            "a!=\"b\""
        );
    }
}
