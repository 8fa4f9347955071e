//! The errors of a rule file, printed as upstream prints them (promtool prints each one on
//! its own line, so scripts and people match on these texts).

use std::fmt;

use goyaml::go_quote;

/// One problem with a rule file. A file can have many: upstream reports every group's
/// and every rule's problems at once.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RuleFileError {
    /// The file, when read with [`parse_file`](crate::parse_file): printed first, as
    /// upstream's `ParseFile` prefixes every error with it.
    pub file: Option<String>,
    pub kind: ErrorKind,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    /// The file could not be read (Go's wording: `open x: no such file or directory`).
    #[error("{0}")]
    Read(String),
    /// Larger than [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES): not read at all.
    #[error("rule file is larger than the {limit} bytes promethium reads")]
    TooLarge { limit: u64 },
    /// The YAML could not be decoded (syntax, wrong types, unknown or repeated keys), in
    /// yaml.v3's words: `yaml: unmarshal errors:\n  line 8: field annotation not found
    /// in type rulefmt.Rule`.
    #[error("{0}")]
    Yaml(String),
    /// A group's name or labels are invalid; the text is upstream's, with the position
    /// where upstream gives one (`0:0: Groupname must not be empty`).
    #[error("{0}")]
    Group(String),
    /// A rule is invalid (boxed: it is much larger than the other kinds).
    #[error("{0}")]
    Rule(Box<RuleError>),
    /// A worker thread to parse the expressions on could not be started.
    #[error("cannot check the rules' expressions: {0}")]
    Thread(String),
}

/// Where a YAML node starts: 1-based line and column, or `0:0` for a node the file does
/// not have (upstream prints the zero `yaml.Node` as `0:0`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A problem with one rule (upstream's `rulefmt.Error`):
/// `4:17: 5:16: group "g", rule 1, "Hello": only one of 'record' and 'alert' must be set`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub group: String,
    /// 1-based index of the rule in its group.
    pub rule: usize,
    /// The alert's or recording rule's name ("" when it has neither).
    pub rule_name: String,
    /// The node the problem is about, and a second one for problems about two.
    pub position: Option<Position>,
    pub other_position: Option<Position>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(position) = self.position {
            write!(f, "{position}: ")?;
            if let Some(other) = self.other_position {
                write!(f, "{other}: ")?;
            }
        }
        write!(
            f,
            "group {}, rule {}, {}: {}",
            go_quote(&self.group),
            self.rule,
            go_quote(&self.rule_name),
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_error(position: Option<Position>, other: Option<Position>) -> RuleError {
        RuleError {
            group: "some group".into(),
            rule: 1,
            rule_name: "some rule name".into(),
            position,
            other_position: other,
            message: "some error".into(),
        }
    }

    /// Upstream's TestError cases.
    #[test]
    fn rule_errors_print_as_upstream() {
        let at = |line, column| Some(Position { line, column });
        assert_eq!(
            rule_error(at(10, 20), at(11, 21)).to_string(),
            r#"10:20: 11:21: group "some group", rule 1, "some rule name": some error"#
        );
        assert_eq!(
            rule_error(at(10, 20), None).to_string(),
            r#"10:20: group "some group", rule 1, "some rule name": some error"#
        );
        assert_eq!(
            rule_error(None, None).to_string(),
            r#"group "some group", rule 1, "some rule name": some error"#
        );
        let in_file = RuleFileError {
            file: Some("r.yml".into()),
            kind: ErrorKind::Rule(Box::new(rule_error(None, None))),
        };
        assert_eq!(
            in_file.to_string(),
            r#"r.yml: group "some group", rule 1, "some rule name": some error"#
        );
    }
}
