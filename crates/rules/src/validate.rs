//! Upstream's `RuleGroups.Validate` and `Rule.Validate`: the checks on decoded groups and
//! rules, in upstream's order and words.
//!
//! Upstream walks labels and annotations in Go's random map order; here they come in
//! name order, so the same file always gives the same errors in the same order.
//!
//! Upstream's `testTemplateParsing` (an alerting rule's labels and annotations parsed as
//! Go `text/template`s) is [`crate::expand::parse_check`].

use std::collections::{BTreeMap, HashSet};

use crate::decode::{Decoded, RulePositions};
use crate::{ErrorKind, NameValidation, Position, Rule, RuleError, RuleFileError};

const METRIC_NAME_LABEL: &str = "__name__";

/// Every problem of the file's groups and rules.
pub(crate) fn validate(decoded: &Decoded, scheme: NameValidation) -> Vec<RuleFileError> {
    let names = Names {
        scheme,
        not_utf8: &decoded.not_utf8,
    };
    let expr_errors = match parse_expressions(decoded) {
        Ok(errors) => errors,
        Err(e) => {
            return vec![RuleFileError {
                file: None,
                kind: ErrorKind::Thread(e),
            }]
        }
    };
    let mut expr_errors = expr_errors.into_iter();
    let mut errors = Vec::new();
    let group_error = |message: String| RuleFileError {
        file: None,
        kind: ErrorKind::Group(message),
    };
    let mut seen: HashSet<&str> = HashSet::new();
    for decoded_group in &decoded.groups {
        let group = &decoded_group.group;
        let at = decoded_group.position;
        if group.name.is_empty() {
            errors.push(group_error(format!("{at}: Groupname must not be empty")));
        }
        if !seen.insert(&group.name) {
            errors.push(group_error(format!(
                "{at}: groupname: \"{}\" is repeated in the same file",
                group.name
            )));
        }
        for message in names.label_problems(&group.labels) {
            errors.push(group_error(message));
        }
        for (index, rule) in group.rules.iter().enumerate() {
            let positions = decoded_group.rules.get(index).copied().unwrap_or_default();
            let expr_error = expr_errors.next().flatten();
            for (message, position, other_position) in
                rule_problems(rule, &positions, expr_error, &names)
            {
                errors.push(RuleFileError {
                    file: None,
                    kind: ErrorKind::Rule(Box::new(RuleError {
                        group: group.name.clone(),
                        rule: index + 1,
                        rule_name: rule.name().to_string(),
                        position,
                        other_position,
                        message,
                    })),
                });
            }
        }
    }
    errors
}

/// Upstream's `Rule.Validate`: each problem with the node(s) it is about.
fn rule_problems(
    rule: &Rule,
    at: &RulePositions,
    expr_error: Option<String>,
    names: &Names,
) -> Vec<(String, Option<Position>, Option<Position>)> {
    let mut problems = Vec::new();
    let mut problem = |message: String, position: Option<Position>, other: Option<Position>| {
        problems.push((message, position, other));
    };
    let (record, alert) = (Some(at.record), Some(at.alert));
    if !rule.record.is_empty() && !rule.alert.is_empty() {
        problem(
            "only one of 'record' and 'alert' must be set".into(),
            record,
            alert,
        );
    }
    if rule.record.is_empty() && rule.alert.is_empty() {
        problem(
            "one of 'record' or 'alert' must be set".into(),
            record,
            alert,
        );
    }
    if rule.expr.is_empty() {
        problem(
            "field 'expr' must be set in rule".into(),
            Some(at.expr),
            None,
        );
    } else if let Some(e) = expr_error {
        problem(
            format!("could not parse expression: {e}"),
            Some(at.expr),
            None,
        );
    }
    if !rule.record.is_empty() {
        if !rule.annotations.is_empty() {
            problem(
                "invalid field 'annotations' in recording rule".into(),
                record,
                None,
            );
        }
        if !rule.for_duration.is_zero() {
            problem("invalid field 'for' in recording rule".into(), record, None);
        }
        if !rule.keep_firing_for.is_zero() {
            problem(
                "invalid field 'keep_firing_for' in recording rule".into(),
                record,
                None,
            );
        }
        if !names.is_valid_metric_name(&rule.record) {
            problem(
                format!("invalid recording rule name: {}", rule.record),
                record,
                None,
            );
        }
        // A valid UTF-8 name, but most likely a selector pasted into the name.
        if rule.record.contains(['{', '}']) {
            problem(
                format!(
                    "braces present in the recording rule name; should it be in expr?: {}",
                    rule.record
                ),
                record,
                None,
            );
        }
    }
    for message in names.label_problems(&rule.labels) {
        problem(message, None, None);
    }
    for name in rule.annotations.keys() {
        if !names.is_valid_label_name(name) {
            problem(format!("invalid annotation name: {name}"), None, None);
        }
    }
    for message in template_problems(rule) {
        problem(message, None, None);
    }
    problems
}

/// Upstream's `testTemplateParsing`: an alerting rule's labels, then annotations, parsed
/// as its templates are when they are expanded (with the variables and functions), but
/// not executed.
fn template_problems(rule: &Rule) -> Vec<String> {
    if rule.alert.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (what, texts) in [("label", &rule.labels), ("annotation", &rule.annotations)] {
        for (name, text) in texts {
            if let Err(e) = crate::expand::parse_check(&rule.alert, text) {
                problems.push(format!("{what} {}: {e}", gotemplate::go::quote(name)));
            }
        }
    }
    problems
}

/// Name checks under one validation scheme.
struct Names<'a> {
    scheme: NameValidation,
    /// Texts that stand for bytes that are not UTF-8 (see `Decoded::not_utf8`).
    not_utf8: &'a HashSet<String>,
}

impl Names<'_> {
    fn is_utf8(&self, text: &str) -> bool {
        !self.not_utf8.contains(text)
    }

    fn is_valid_label_name(&self, name: &str) -> bool {
        match self.scheme {
            NameValidation::Utf8 => !name.is_empty() && self.is_utf8(name),
            NameValidation::Legacy => is_legacy_name(name, false),
        }
    }

    fn is_valid_metric_name(&self, name: &str) -> bool {
        match self.scheme {
            NameValidation::Utf8 => !name.is_empty() && self.is_utf8(name),
            NameValidation::Legacy => is_legacy_name(name, true),
        }
    }

    /// A group's or rule's labels: valid names other than `__name__`, UTF-8 values.
    fn label_problems(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, value) in labels {
            if !self.is_valid_label_name(name) || name == METRIC_NAME_LABEL {
                problems.push(format!("invalid label name: {name}"));
            }
            if !self.is_utf8(value) {
                problems.push(format!("invalid label value: {value}"));
            }
        }
        problems
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, with `:` also allowed for metric names.
fn is_legacy_name(name: &str, colons: bool) -> bool {
    let allowed = |b: u8| b.is_ascii_alphabetic() || b == b'_' || (colons && b == b':');
    let mut bytes = name.bytes();
    bytes.next().is_some_and(allowed) && bytes.all(|b| allowed(b) || b.is_ascii_digit())
}

/// Expressions no longer than this are parsed on the caller's thread. The parser goes at
/// most one level deeper per byte of an expression (a level needs a token), and at about
/// 11 KiB a level in an unoptimised build this is under 0.7 MiB of stack, within the 2 MiB
/// a Rust thread gets by default (a test below checks the worst shapes on 512 KiB).
const INLINE_EXPR_BYTES: usize = 64;

/// The parse error of every rule's expression, in file order (`None`: it parses, or it
/// is empty). The parser needs [`promql::STACK_SIZE`] of stack for the deepest
/// expression it accepts, more than a caller's thread may have, so the expressions
/// longer than [`INLINE_EXPR_BYTES`] are parsed on a thread of that size.
fn parse_expressions(decoded: &Decoded) -> Result<Vec<Option<String>>, String> {
    let exprs: Vec<&str> = decoded
        .groups
        .iter()
        .flat_map(|g| g.group.rules.iter().map(|r| r.expr.as_str()))
        .collect();
    let mut errors: Vec<Option<String>> = exprs
        .iter()
        .map(|expr| match expr.len() <= INLINE_EXPR_BYTES {
            true => parse_error(expr),
            false => None,
        })
        .collect();
    let long: Vec<(usize, &str)> = exprs
        .iter()
        .enumerate()
        .filter(|(_, expr)| expr.len() > INLINE_EXPR_BYTES)
        .map(|(i, expr)| (i, *expr))
        .collect();
    if long.is_empty() {
        return Ok(errors);
    }
    let parse_long = || {
        long.iter()
            .map(|&(i, expr)| (i, parse_error(expr)))
            .collect::<Vec<_>>()
    };
    let long_errors: Vec<(usize, Option<String>)> = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("rule-exprs".into())
            .stack_size(promql::STACK_SIZE)
            .spawn_scoped(scope, parse_long)
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        match worker.join() {
            Ok(errors) => Ok::<_, String>(errors),
            // The parser does not panic on any input (it is fuzzed); if it ever did, the
            // panic is the caller's to see, as it would be without the thread.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    for (i, error) in long_errors {
        errors[i] = error;
    }
    Ok(errors)
}

fn parse_error(expr: &str) -> Option<String> {
    if expr.is_empty() {
        return None;
    }
    promql::parse(expr).err().map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names() {
        assert!(is_legacy_name("ins_tance", false));
        assert!(!is_legacy_name("ins-tance", false));
        assert!(!is_legacy_name("a:b", false));
        assert!(is_legacy_name("job:up:sum", true));
        assert!(!is_legacy_name("1a", true));
        assert!(!is_legacy_name("", false));
    }

    /// The deepest shapes an expression of [`INLINE_EXPR_BYTES`] can take parse (or fail)
    /// on a quarter of a default thread's stack, in the unoptimised build the tests use.
    #[test]
    fn short_expressions_fit_a_small_stack() {
        let n = INLINE_EXPR_BYTES;
        let nest = |open: &str, inner: &str, close: &str| {
            let k = (n - inner.len()) / (open.len() + close.len());
            format!("{}{inner}{}", open.repeat(k), close.repeat(k))
        };
        let shapes = vec![
            nest("(", "1", ")"),
            nest("-", "1", ""),
            nest("-(", "1", ")"),
            nest("", "1", "+1"),
            nest("", "1", "^1"),
            nest("", "x", "[1m:]"),
            nest("abs(", "1", ")"),
            nest("sum(", "x", ")"),
            nest("(", "", ""),
            nest("rate(x[", "1s", "])"),
            nest("x[(", "1s", ")]"),
            nest("1 and on() ", "1", ""),
            nest("", "x", " offset 1s"),
        ];
        let worker = std::thread::Builder::new()
            .stack_size(512 << 10)
            .spawn(move || {
                for shape in &shapes {
                    assert!(shape.len() <= n, "{shape}");
                    let _ = parse_error(shape);
                }
            })
            .expect("thread");
        assert!(worker.join().is_ok());
    }
}
