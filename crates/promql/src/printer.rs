//! Prints expressions back as PromQL, in Prometheus's canonical form (`String()`), and
//! the multi-line form of `/api/v1/format_query` (`Pretty()`).

use std::collections::HashMap;
use std::fmt::Write;

use model::{MatchOp, Matcher};

use crate::ast::*;
use model::float::{format_go_f as format_float_f, format_go_g as format_go_float};

/// A duration in Prometheus's notation: `1m30s`, `2w`, `-5m`, `0s`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    let units: [(u64, &str, bool); 7] = [
        (365 * 24 * 3600 * 1000, "y", true),
        (7 * 24 * 3600 * 1000, "w", true),
        (24 * 3600 * 1000, "d", false),
        (3600 * 1000, "h", false),
        (60 * 1000, "m", false),
        (1000, "s", false),
        (1, "ms", false),
    ];
    for (size, name, exact_only) in units {
        if exact_only && !rest.is_multiple_of(size) {
            continue;
        }
        let n = rest / size;
        if n > 0 {
            let _ = write!(out, "{n}{name}");
            rest -= n * size;
        }
    }
    out
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (0xF780..=0xF7FF).contains(&(c as u32)) => {
                // A byte of invalid UTF-8 from a Go-style escape (see the lexer).
                let _ = write!(out, "\\x{:02x}", c as u32 - 0xF700);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_legacy_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn label_name(s: &str) -> String {
    if is_legacy_name(s) {
        s.to_string()
    } else {
        go_quote(s)
    }
}

fn matcher_string(m: &Matcher) -> String {
    let op = match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex => "=~",
        MatchOp::NotRegex => "!~",
    };
    format!("{}{op}{}", label_name(&m.name), go_quote(&m.value))
}

fn duration_expr(d: &DurationExpr) -> String {
    match d {
        DurationExpr::Duration(ms) => format_duration(*ms),
        DurationExpr::Number(n) => format_float_f(*n),
        DurationExpr::Neg(e) => format!("-{}", duration_expr(e)),
        DurationExpr::Pos(e) => duration_expr(e),
        DurationExpr::Paren(e) => format!("({})", duration_expr(e)),
        DurationExpr::Binary(op, a, b) => {
            let o = match op {
                DurationOp::Add => "+",
                DurationOp::Sub => "-",
                DurationOp::Mul => "*",
                DurationOp::Div => "/",
                DurationOp::Mod => "%",
                DurationOp::Pow => "^",
            };
            format!("{} {o} {}", duration_expr(a), duration_expr(b))
        }
        DurationExpr::Step => "step()".into(),
        DurationExpr::Range => "range()".into(),
        DurationExpr::Min(a, b) => format!("min_of({}, {})", duration_expr(a), duration_expr(b)),
        DurationExpr::Max(a, b) => format!("max_of({}, {})", duration_expr(a), duration_expr(b)),
    }
}

/// A literal range/step prints as a duration (`[1800]` prints as `[30m]`).
fn range_string(d: &DurationExpr) -> String {
    match d {
        DurationExpr::Number(n) => format_duration((n * 1000.0) as i64),
        DurationExpr::Neg(inner) if inner.is_literal() => {
            format_duration(-((inner.seconds(0, 0) * 1000.0) as i64))
        }
        other => duration_expr(other),
    }
}

fn offset_string(d: &DurationExpr) -> String {
    match d {
        DurationExpr::Duration(_) | DurationExpr::Number(_) => {
            format!(" offset {}", range_string(d))
        }
        DurationExpr::Neg(inner) if inner.is_literal() => format!(" offset {}", range_string(d)),
        DurationExpr::Pos(inner) => offset_string(inner),
        other => format!(" offset {}", duration_expr(other)),
    }
}

fn at_string(at: &Option<AtModifier>) -> String {
    match at {
        None => String::new(),
        Some(AtModifier::Start) => " @ start()".into(),
        Some(AtModifier::End) => " @ end()".into(),
        Some(AtModifier::Time(t)) => format!(" @ {:.3}", *t as f64 / 1000.0),
    }
}

fn mode_string(m: RangeMode) -> &'static str {
    match m {
        RangeMode::Plain => "",
        RangeMode::Anchored => " anchored",
        RangeMode::Smoothed => " smoothed",
    }
}

fn selector_base(vs: &VectorSelector) -> String {
    let mut out = String::new();
    let name = vs.name.as_deref().unwrap_or("");
    out.push_str(name);
    let mut ms: Vec<String> = vs
        .matchers
        .iter()
        .filter(|m| {
            !(m.name == model::METRIC_NAME
                && m.op == MatchOp::Equal
                && m.value == name
                && !name.is_empty())
        })
        .map(matcher_string)
        .collect();
    if !ms.is_empty() || name.is_empty() {
        ms.sort();
        let _ = write!(out, "{{{}}}", ms.join(","));
    }
    out
}

fn matching_string(b: &BinaryExpr) -> String {
    let Some(m) = &b.matching else {
        return String::new();
    };
    let mut out = String::new();
    let grouped = matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany);
    if !m.labels.is_empty() || m.on || grouped {
        let labels: Vec<String> = m.labels.iter().map(|l| label_name(l)).collect();
        let kw = if m.on { "on" } else { "ignoring" };
        if m.on || !m.labels.is_empty() || grouped {
            let _ = write!(out, " {kw} ({})", labels.join(", "));
        }
        if grouped {
            let kw = if m.card == Cardinality::ManyToOne {
                "group_left"
            } else {
                "group_right"
            };
            let inc: Vec<String> = m.include.iter().map(|l| label_name(l)).collect();
            let _ = write!(out, " {kw} ({})", inc.join(", "));
        }
    }
    match (m.fill_left, m.fill_right) {
        (Some(l), Some(r)) if l.to_bits() == r.to_bits() || (l.is_nan() && r.is_nan()) => {
            let _ = write!(out, " fill ({})", format_go_float(l));
        }
        (l, r) => {
            if let Some(l) = l {
                let _ = write!(out, " fill_left ({})", format_go_float(l));
            }
            if let Some(r) = r {
                let _ = write!(out, " fill_right ({})", format_go_float(r));
            }
        }
    }
    out
}

fn aggregate_prefix(a: &AggregateExpr) -> String {
    let mut out = a.op.name().to_string();
    let labels: Vec<String> = a.grouping.iter().map(|l| label_name(l)).collect();
    if a.without {
        let _ = write!(out, " without ({}) ", labels.join(", "));
    } else if !a.grouping.is_empty() {
        let _ = write!(out, " by ({}) ", labels.join(", "));
    }
    out
}

/// The canonical one-line form of an expression.
pub fn format_expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

/// The length of the one-line form of every node, measured in one walk (asking each
/// node in turn would cost the depth of the tree for each of them).
type Widths = HashMap<*const Expr, usize>;

/// Measures `e` and its subtrees into `widths`; returns the length of `e`'s one-line
/// form (what [`format_expr`] gives).
fn measure(e: &Expr, widths: &mut Widths) -> usize {
    let width = match &e.kind {
        ExprKind::Paren(inner) => 2 + measure(inner, widths),
        ExprKind::StepInvariant(inner) => measure(inner, widths),
        ExprKind::Unary(_, inner) => 1 + measure(inner, widths),
        ExprKind::Binary(b) => {
            measure(&b.lhs, widths) + binary_operator(b).len() + measure(&b.rhs, widths)
        }
        ExprKind::Aggregate(a) => {
            let param = match &a.param {
                Some(p) => measure(p, widths) + 2,
                None => 0,
            };
            aggregate_prefix(a).len() + 2 + param + measure(&a.expr, widths)
        }
        ExprKind::Call(c) => {
            let mut width = c.func.name.len() + 2 + 2 * c.args.len().saturating_sub(1);
            for arg in &c.args {
                width += measure(arg, widths);
            }
            width
        }
        ExprKind::Subquery(sq) => measure(&sq.expr, widths) + subquery_suffix(sq).len(),
        _ => leaf_string(e).len(),
    };
    widths.insert(e as *const Expr, width);
    width
}

/// Writes the one-line form of `e`, appending to one buffer (a long `a + b + …` costs
/// its length, not its length times its depth). Only structure is handled here; leaves
/// and modifiers are formatted out of line, so one level of nesting costs little stack.
fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Paren(inner) => {
            out.push('(');
            write_expr(out, inner);
            out.push(')')
        }
        ExprKind::StepInvariant(inner) => write_expr(out, inner),
        ExprKind::Unary(op, inner) => {
            out.push_str(if *op == UnaryOp::Neg { "-" } else { "+" });
            write_expr(out, inner)
        }
        ExprKind::Binary(b) => {
            write_expr(out, &b.lhs);
            out.push_str(&binary_operator(b));
            write_expr(out, &b.rhs)
        }
        ExprKind::Aggregate(a) => {
            out.push_str(&aggregate_prefix(a));
            out.push('(');
            if let Some(p) = &a.param {
                write_expr(out, p);
                out.push_str(", ");
            }
            write_expr(out, &a.expr);
            out.push(')')
        }
        ExprKind::Call(c) => {
            out.push_str(c.func.name);
            out.push('(');
            for (i, arg) in c.args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, arg);
            }
            out.push(')')
        }
        ExprKind::Subquery(sq) => {
            write_expr(out, &sq.expr);
            out.push_str(&subquery_suffix(sq))
        }
        _ => out.push_str(&leaf_string(e)),
    }
}

/// ` op bool on (…) ` between the operands of a binary expression.
#[inline(never)]
fn binary_operator(b: &BinaryExpr) -> String {
    let bool_s = if b.return_bool { " bool" } else { "" };
    format!(" {}{bool_s}{} ", b.op.text(), matching_string(b))
}

/// `[range:step] @ t offset d` after a subquery's expression.
#[inline(never)]
fn subquery_suffix(sq: &SubqueryExpr) -> String {
    let step = sq.step.as_ref().map(range_string).unwrap_or_default();
    let mut out = format!("[{}:{step}]", range_string(&sq.range));
    out.push_str(&at_string(&sq.at));
    if let Some(o) = &sq.offset {
        out.push_str(&offset_string(o));
    }
    out
}

/// Numbers, strings and selectors.
#[inline(never)]
fn leaf_string(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number {
            value,
            duration: true,
        } if value.is_finite() => {
            // Go's model.Duration text, in whole milliseconds.
            let ms = (value.abs() * 1000.0) as i64;
            let sign = if *value < 0.0 { "-" } else { "" };
            format!("{sign}{}", format_duration(ms))
        }
        ExprKind::Number { value, .. } => format_float_f(*value),
        ExprKind::String(s) => go_quote(s),
        ExprKind::Vector(vs) => {
            let mut out = selector_base(vs);
            out.push_str(&at_string(&vs.at));
            out.push_str(mode_string(vs.mode));
            if let Some(o) = &vs.offset {
                out.push_str(&offset_string(o));
            }
            out
        }
        ExprKind::Matrix(ms) => {
            let mut out = selector_base(&ms.selector);
            let _ = write!(out, "[{}]", range_string(&ms.range));
            out.push_str(mode_string(ms.mode));
            out.push_str(&at_string(&ms.selector.at));
            if let Some(o) = &ms.selector.offset {
                out.push_str(&offset_string(o));
            }
            out
        }
        // Not leaves: written by `write_expr`.
        _ => String::new(),
    }
}

fn indent(out: &mut String, level: usize) {
    // Deep queries indent by thousands of spaces: copied in long runs.
    const SPACES: &str = "                                                                ";
    let mut n = 2 * level;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// The multi-line form Prometheus's `format_query` returns: nodes longer than 100
/// characters are split, children indented by two spaces.
pub fn prettify(e: &Expr) -> String {
    let mut widths = Widths::new();
    measure(e, &mut widths);
    let mut out = String::new();
    pretty(&mut out, e, &widths, 0, true);
    out
}

/// Writes the pretty form of `e` at `level`; `indent_first: false` leaves out the
/// indentation of its first line (after a unary operator).
fn pretty(out: &mut String, e: &Expr, widths: &Widths, level: usize, indent_first: bool) {
    let split = widths.get(&(e as *const Expr)).is_none_or(|w| *w > 100);
    let lead = |out: &mut String| {
        if indent_first {
            indent(out, level);
        }
    };
    match &e.kind {
        ExprKind::Aggregate(a) if split => {
            lead(out);
            out.push_str(&aggregate_prefix(a));
            out.push_str("(\n");
            if let Some(p) = &a.param {
                pretty(out, p, widths, level + 1, true);
                out.push_str(",\n");
            }
            pretty(out, &a.expr, widths, level + 1, true);
            out.push('\n');
            indent(out, level);
            out.push(')');
        }
        ExprKind::Binary(b) if split => {
            pretty(out, &b.lhs, widths, level + 1, indent_first);
            out.push('\n');
            indent(out, level);
            out.push_str(binary_operator(b).trim());
            out.push('\n');
            pretty(out, &b.rhs, widths, level + 1, true);
        }
        ExprKind::Call(c) if split => {
            lead(out);
            out.push_str(c.func.name);
            out.push_str("(\n");
            for (i, arg) in c.args.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                pretty(out, arg, widths, level + 1, true);
            }
            out.push('\n');
            indent(out, level);
            out.push(')');
        }
        ExprKind::Paren(inner) if split => {
            lead(out);
            out.push_str("(\n");
            pretty(out, inner, widths, level + 1, true);
            out.push('\n');
            indent(out, level);
            out.push(')');
        }
        // As Prometheus: a subquery that fits is not indented.
        ExprKind::Subquery(_) if !split => {
            write_expr(out, e);
        }
        ExprKind::Subquery(sq) => {
            pretty(out, &sq.expr, widths, level, indent_first);
            out.push_str(&subquery_suffix(sq));
        }
        ExprKind::Unary(op, inner) => {
            lead(out);
            out.push(if *op == UnaryOp::Neg { '-' } else { '+' });
            pretty(out, inner, widths, level, false);
        }
        ExprKind::StepInvariant(inner) => pretty(out, inner, widths, level, indent_first),
        _ => {
            lead(out);
            write_expr(out, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn canon(q: &str) -> String {
        format_expr(&parse(q).unwrap())
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("a offset 1m @ 10"), "a @ 10.000 offset 1m");
        assert_eq!(canon(r#"foo{b="1",a="2"}"#), r#"foo{a="2",b="1"}"#);
        assert_eq!(canon("sum by (code) (x)"), "sum by (code) (x)");
        assert_eq!(canon("sum(x) by (a)"), "sum by (a) (x)");
        assert_eq!(canon("topk(5, x)"), "topk(5, x)");
        assert_eq!(canon("a - on() c"), "a - on () c");
        assert_eq!(canon("a - ignoring() c"), "a - c");
        assert_eq!(
            canon("a + on(b) group_left fill(-23) c"),
            "a + on (b) group_left () fill (-23) c"
        );
        assert_eq!(canon("foo[1800]"), "foo[30m]");
        assert_eq!(canon("foo[5m:]"), "foo[5m:]");
        assert_eq!(canon("foo offset +(5*2)"), "foo offset (5 * 2)");
        assert_eq!(canon("rate(foo[5m] anchored)"), "rate(foo[5m] anchored)");
        // Numbers written as durations print as durations, as in Prometheus 3.
        assert_eq!(canon("foo > 5m"), "foo > 5m");
        assert_eq!(canon("time() - -1h30m"), "time() - -1h30m");
        assert_eq!(canon("foo > 300"), "foo > 300");
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(8 * 86_400_000), "8d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
    }

    #[test]
    fn pretty_splits_long_nodes() {
        let q = "sum by (job) (rate(http_requests_total_with_a_long_name{job=\"api-server\", handler=\"/api/v1/query\"}[5m]))";
        let p = prettify(&parse(q).unwrap());
        assert!(p.starts_with("sum by (job) (\n  rate("), "{p}");
    }
}
