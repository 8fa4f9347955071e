//! A hand-written PromQL parser (precedence climbing) with Prometheus 3.x syntax:
//! duration expressions, `anchored`/`smoothed`, `fill()` modifiers, quoted UTF-8 names,
//! and Prometheus's type checks and error texts with `line:column` positions.
//!
//! Every later step walks the tree recursively (type checks, printing, evaluation, even
//! dropping it), so the parser refuses a tree deeper than [`MAX_DEPTH`]: the stack all of
//! them need is then bounded (see [`STACK_SIZE`]).

mod check;
mod duration;
mod modifiers;
mod selector;

use std::fmt;

use model::{MatchOp, Matcher};

use crate::ast::*;
use crate::functions;
use crate::lexer::{lex, Tok, Token};

/// The deepest tree a query may make. Every nesting counts: parentheses, unary and
/// binary operators (a flat `a + b + c` is a tree as deep as it has terms, because
/// PromQL's operators are left-associative), function calls, aggregations, duration
/// expressions, and subqueries (three levels each: evaluation may wrap a subquery and its
/// expression in step-invariant nodes). Hand-written queries nest a few dozen levels;
/// this leaves room for generated ones, such as a sum of a few thousand terms, while
/// keeping the stack every recursive walk needs well within [`STACK_SIZE`].
pub const MAX_DEPTH: usize = 4096;

/// The stack a thread needs to parse, check, print, evaluate and drop the deepest query
/// [`MAX_DEPTH`] allows, with a margin of more than two (the tests parse, print, evaluate
/// and drop such queries on half of it): threads that handle queries must have at least
/// this much; the server sizes its runtime's threads with it. The deepest path costs
/// about 2.3 KiB a level in an optimised build and 11 KiB in an unoptimised one (whose
/// frames are much larger), hence two sizes. Only the pages a query touches become
/// resident.
pub const STACK_SIZE: usize = if cfg!(debug_assertions) {
    128 << 20
} else {
    32 << 20
};

/// A parse or type-check error, printed as Prometheus prints them:
/// `1:5: parse error: unexpected ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: PosRange,
    pub msg: String,
    /// `line:column` of `pos.start` in the query.
    pub line_col: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: parse error: {}", self.line_col, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// The message of a query refused for its depth.
pub fn too_deep_message() -> String {
    format!("query is nested too deeply (more than {MAX_DEPTH} levels)")
}

/// Parses and type-checks a PromQL expression.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = lex(input).map_err(|e| ParseError {
        line_col: e.pos.start_line_col(input),
        pos: e.pos,
        msg: e.msg,
    })?;
    let mut p = Parser {
        input,
        tokens,
        i: 0,
        depth: 0,
    };
    let expr = p.parse_root()?;
    check::check(&expr).map_err(|(pos, msg)| ParseError {
        line_col: pos.start_line_col(input),
        pos,
        msg,
    })?;
    Ok(expr)
}

/// Parses a series selector such as `up{job="x"}` (the `match[]` parameter).
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let expr = parse(input)?;
    match expr.kind {
        ExprKind::Vector(vs) => Ok(vs.matchers),
        _ => Err(ParseError {
            line_col: expr.pos.start_line_col(input),
            pos: expr.pos,
            msg: "expected vector selector".into(),
        }),
    }
}

type PResult<T> = Result<T, ParseError>;

/// An expression and the height of its tree (a leaf is 1), so that nodes are refused as
/// soon as they would make the tree deeper than [`MAX_DEPTH`], before anything deeper
/// exists.
type Node = (Expr, usize);

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    i: usize,
    /// How many nested parse calls are running (bounds the parser's own recursion, which
    /// can be deeper than the tree: `- - - 1` folds into one number).
    depth: usize,
}

/// A binary expression node (out of line: its temporaries are large, and the parser's
/// recursive path should not carry them).
#[inline(never)]
fn binary_node(
    op: BinaryOp,
    lhs: Expr,
    rhs: Expr,
    mut matching: Option<VectorMatching>,
    return_bool: bool,
    pos: PosRange,
) -> Expr {
    if op.is_set() {
        let m = matching.get_or_insert_with(VectorMatching::default);
        if m.card == Cardinality::OneToOne {
            m.card = Cardinality::ManyToMany;
        }
    }
    Expr::new(
        ExprKind::Binary(Box::new(BinaryExpr {
            op,
            lhs,
            rhs,
            matching,
            return_bool,
        })),
        pos,
    )
}

fn is_kw(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.tokens[(self.i + n).min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.tokens.len() - 1 {
            self.i += 1;
        }
        t
    }

    #[cold]
    #[inline(never)]
    fn err<T>(&self, pos: PosRange, msg: impl Into<String>) -> PResult<T> {
        Err(self.error(pos, msg))
    }

    #[cold]
    #[inline(never)]
    fn error(&self, pos: PosRange, msg: impl Into<String>) -> ParseError {
        ParseError {
            line_col: pos.start_line_col(self.input),
            pos,
            msg: msg.into(),
        }
    }

    /// One more nested parse call; refused past [`MAX_DEPTH`]. Pair with [`Self::leave`].
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(self.peek().pos, too_deep_message());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Refuses a node that would make the tree deeper than [`MAX_DEPTH`].
    fn check_height(&self, height: usize, pos: PosRange) -> PResult<()> {
        if height > MAX_DEPTH {
            return self.err(pos, too_deep_message());
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn unexpected<T>(&self, context: &str, expected: &str) -> PResult<T> {
        let t = self.peek();
        let mut msg = format!("unexpected {}", t.tok.describe());
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.err(t.pos, msg)
    }

    fn expect(&mut self, tok: Tok, context: &str) -> PResult<Token> {
        if self.peek().tok == tok {
            Ok(self.next())
        } else {
            self.unexpected(context, &tok.describe())
        }
    }

    fn parse_root(&mut self) -> PResult<Expr> {
        if self.peek().tok == Tok::Eof {
            return self.err(self.peek().pos, "no expression found in input");
        }
        let (e, _) = self.parse_expr(0)?;
        if self.peek().tok != Tok::Eof {
            return self.unexpected("", "");
        }
        Ok(e)
    }

    fn binary_op(&self) -> Option<BinaryOp> {
        Some(match &self.peek().tok {
            Tok::Add => BinaryOp::Add,
            Tok::Sub => BinaryOp::Sub,
            Tok::Mul => BinaryOp::Mul,
            Tok::Div => BinaryOp::Div,
            Tok::Mod => BinaryOp::Mod,
            Tok::Pow => BinaryOp::Pow,
            Tok::Eqlc => BinaryOp::Eql,
            Tok::Neq => BinaryOp::Neq,
            Tok::Gtr => BinaryOp::Gtr,
            Tok::Lss => BinaryOp::Lss,
            Tok::Gte => BinaryOp::Gte,
            Tok::Lte => BinaryOp::Lte,
            Tok::TrimUpper => BinaryOp::TrimUpper,
            Tok::TrimLower => BinaryOp::TrimLower,
            t if is_kw(t, "and") => BinaryOp::And,
            t if is_kw(t, "or") => BinaryOp::Or,
            t if is_kw(t, "unless") => BinaryOp::Unless,
            t if is_kw(t, "atan2") => BinaryOp::Atan2,
            _ => return None,
        })
    }

    fn parse_expr(&mut self, min_prec: u8) -> PResult<Node> {
        self.enter()?;
        let node = self.parse_expr_inner(min_prec);
        self.leave();
        node
    }

    fn parse_expr_inner(&mut self, min_prec: u8) -> PResult<Node> {
        let (mut lhs, mut lh) = self.parse_unary()?;
        while let Some(op) = self.binary_op() {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            let op_pos = self.next().pos;
            let mut return_bool = false;
            if is_kw(&self.peek().tok, "bool") {
                self.next();
                return_bool = true;
            }
            let matching = self.parse_matching()?;
            // `^` is right-associative, everything else left.
            let next_min = if op == BinaryOp::Pow { prec } else { prec + 1 };
            if self.peek().tok == Tok::Eof {
                return self.err(self.peek().pos, "unexpected end of input");
            }
            let (rhs, rh) = self.parse_expr(next_min)?;
            // A flat `1 + 1 + ...` deepens the tree here, in a loop rather than by
            // recursion, so its height is checked for every term.
            lh = 1 + lh.max(rh);
            self.check_height(lh, op_pos)?;
            let pos = PosRange::new(lhs.pos.start, rhs.pos.end);
            lhs = binary_node(op, lhs, rhs, matching, return_bool, pos);
        }
        Ok((lhs, lh))
    }

    fn parse_unary(&mut self) -> PResult<Node> {
        match self.peek().tok {
            Tok::Sub | Tok::Add => self.parse_sign(),
            _ => {
                let primary = self.parse_primary()?;
                self.parse_postfix(primary)
            }
        }
    }

    /// `-x`/`+x`; a sign in front of a number folds into it.
    #[inline(never)]
    fn parse_sign(&mut self) -> PResult<Node> {
        let t = self.next();
        let neg = t.tok == Tok::Sub;
        let (operand, h) = self.parse_expr(BinaryOp::Pow.precedence())?;
        let pos = PosRange::new(t.pos.start, operand.pos.end);
        if let ExprKind::Number { value, duration } = operand.kind {
            let value = if neg { -value } else { value };
            return Ok((Expr::new(ExprKind::Number { value, duration }, pos), 1));
        }
        self.check_height(h + 1, t.pos)?;
        let op = if neg { UnaryOp::Neg } else { UnaryOp::Pos };
        Ok((
            Expr::new(ExprKind::Unary(op, Box::new(operand)), pos),
            h + 1,
        ))
    }

    /// Dispatches on the first token; the work is in small functions so that the frames
    /// on the recursive path (parentheses, calls) stay small.
    fn parse_primary(&mut self) -> PResult<Node> {
        let t = self.peek().clone();
        let leaf = |kind| Ok((Expr::new(kind, t.pos), 1));
        match t.tok {
            Tok::Number(value) => {
                self.next();
                leaf(ExprKind::Number {
                    value,
                    duration: false,
                })
            }
            Tok::Duration(ms) => {
                self.next();
                leaf(ExprKind::Number {
                    value: ms as f64 / 1000.0,
                    duration: true,
                })
            }
            Tok::Str(s) => {
                self.next();
                leaf(ExprKind::String(s))
            }
            Tok::LParen => self.parse_paren(t.pos),
            Tok::LBrace => {
                let (matchers, end) = self.parse_matchers(None)?;
                let e = self.vector_selector(None, matchers, PosRange::new(t.pos.start, end))?;
                Ok((e, 1))
            }
            Tok::Ident(name) => self.parse_ident(name, t.pos),
            Tok::Eof => self.err(t.pos, "unexpected end of input"),
            _ => self.unexpected("", ""),
        }
    }

    #[inline(never)]
    fn parse_paren(&mut self, open: PosRange) -> PResult<Node> {
        self.next();
        let (inner, h) = self.parse_expr(0)?;
        let close = self.expect(Tok::RParen, "paren expression")?;
        self.check_height(h + 1, open)?;
        Ok((
            Expr::new(
                ExprKind::Paren(Box::new(inner)),
                PosRange::new(open.start, close.pos.end),
            ),
            h + 1,
        ))
    }

    /// An aggregation, a function call or a selector starting with a name.
    #[inline(never)]
    fn parse_ident(&mut self, name: String, pos: PosRange) -> PResult<Node> {
        let next = self.peek_at(1).tok.clone();
        if let Some(op) = AggregateOp::from_name(&name) {
            if next == Tok::LParen || is_kw(&next, "by") || is_kw(&next, "without") {
                return self.parse_aggregate(op, pos);
            }
        }
        if next == Tok::LParen {
            return self.parse_call(&name, pos);
        }
        for kw in [
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
            "bool",
            "offset",
            "and",
            "or",
            "unless",
            "atan2",
        ] {
            if name.eq_ignore_ascii_case(kw) {
                return self.unexpected("", "");
            }
        }
        self.parse_named_selector(name, pos)
    }

    /// `name` or `name{...}`.
    #[inline(never)]
    fn parse_named_selector(&mut self, name: String, pos: PosRange) -> PResult<Node> {
        self.next();
        let e = if self.peek().tok == Tok::LBrace {
            let (matchers, end) = self.parse_matchers(Some(&name))?;
            self.vector_selector(Some(name), matchers, PosRange::new(pos.start, end))?
        } else {
            let m = Matcher::new(MatchOp::Equal, model::METRIC_NAME, name.clone())
                .map_err(|e| self.error(pos, e))?;
            self.vector_selector(Some(name), vec![m], pos)?
        };
        Ok((e, 1))
    }

    #[inline(never)]
    fn parse_aggregate(&mut self, op: AggregateOp, start: PosRange) -> PResult<Node> {
        self.next();
        let mut grouping = Vec::new();
        let mut without = false;
        let mut grouped = false;
        let tok = self.peek().tok.clone();
        if is_kw(&tok, "by") || is_kw(&tok, "without") {
            self.next();
            without = is_kw(&tok, "without");
            grouped = true;
            grouping = self.parse_label_list()?;
        }
        let (mut args, end, h) = self.parse_call_args("aggregation")?;
        let tok = self.peek().tok.clone();
        if !grouped && (is_kw(&tok, "by") || is_kw(&tok, "without")) {
            self.next();
            without = is_kw(&tok, "without");
            grouped = true;
            grouping = self.parse_label_list()?;
        }
        let pos = PosRange::new(start.start, self.tokens[self.i - 1].pos.end.max(end));
        let want = if op.has_param() { 2 } else { 1 };
        if args.is_empty() {
            return self.err(pos, "no arguments for aggregate expression provided");
        }
        if args.len() != want {
            return self.err(
                pos,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
            );
        }
        let Some(expr) = args.pop() else {
            return self.err(pos, "no arguments for aggregate expression provided");
        };
        let param = args.pop();
        self.check_height(h + 1, start)?;
        Ok((
            Expr::new(
                ExprKind::Aggregate(Box::new(AggregateExpr {
                    op,
                    expr,
                    param,
                    grouping,
                    without,
                    grouped,
                })),
                pos,
            ),
            h + 1,
        ))
    }

    /// `( expr, expr, ... )`, trailing comma allowed; returns the arguments, the end and
    /// the height of the highest argument.
    #[inline(never)]
    fn parse_call_args(&mut self, context: &str) -> PResult<(Vec<Expr>, usize, usize)> {
        self.expect(Tok::LParen, context)?;
        let mut args = Vec::new();
        let mut height = 0;
        loop {
            if self.peek().tok == Tok::RParen {
                let t = self.next();
                return Ok((args, t.pos.end, height));
            }
            let (arg, h) = self.parse_expr(0)?;
            height = height.max(h);
            args.push(arg);
            match self.peek().tok {
                Tok::Comma => {
                    self.next();
                }
                Tok::RParen => {}
                _ => {
                    let ctx = if context == "aggregation" {
                        "aggregation"
                    } else {
                        "function call"
                    };
                    return self.unexpected(ctx, "\",\" or \")\"");
                }
            }
        }
    }

    #[inline(never)]
    fn parse_call(&mut self, name: &str, start: PosRange) -> PResult<Node> {
        let Some(func) = functions::lookup(name) else {
            return self.err(start, format!("unknown function with name {name:?}"));
        };
        self.next();
        let (args, end, h) = if func.name == "info" {
            self.parse_info_args()?
        } else {
            self.parse_call_args("function call")?
        };
        self.check_height(h + 1, start)?;
        let pos = PosRange::new(start.start, end);
        Ok((
            Expr::new(ExprKind::Call(Box::new(Call { func, args })), pos),
            h + 1,
        ))
    }

    /// `info(v, {data matchers})`: the second argument may match only empty values.
    #[inline(never)]
    fn parse_info_args(&mut self) -> PResult<(Vec<Expr>, usize, usize)> {
        self.expect(Tok::LParen, "function call")?;
        let (first, mut height) = self.parse_expr(0)?;
        let mut args = vec![first];
        if self.peek().tok == Tok::Comma {
            self.next();
            if self.peek().tok != Tok::RParen {
                let t = self.peek().clone();
                let name = match &t.tok {
                    Tok::Ident(n) if self.peek_at(1).tok == Tok::LBrace => {
                        self.next();
                        Some(n.clone())
                    }
                    _ => None,
                };
                if self.peek().tok == Tok::LBrace {
                    let (matchers, end) = self.parse_matchers(name.as_deref())?;
                    args.push(Expr::new(
                        ExprKind::Vector(Box::new(VectorSelector {
                            name,
                            matchers,
                            offset: None,
                            at: None,
                            mode: RangeMode::Plain,
                        })),
                        PosRange::new(t.pos.start, end),
                    ));
                } else {
                    let (arg, h) = self.parse_expr(0)?;
                    height = height.max(h);
                    args.push(arg);
                }
                if self.peek().tok == Tok::Comma {
                    self.next();
                }
            }
        }
        let close = self.expect(Tok::RParen, "function call")?;
        Ok((args, close.pos.end, height))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn ok(q: &str) -> Expr {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    #[test]
    fn precedence() {
        let e = ok("-2 ^ 2");
        assert!(matches!(e.kind, ExprKind::Unary(UnaryOp::Neg, _)));
        let e = ok("vector(1) + 2 * 3 > bool 4 or vector(1)");
        let ExprKind::Binary(b) = e.kind else {
            panic!()
        };
        assert_eq!(b.op, BinaryOp::Or);
        let e = ok("2 ^ 3 ^ 2");
        let ExprKind::Binary(b) = e.kind else {
            panic!()
        };
        assert!(matches!(b.rhs.kind, ExprKind::Binary(_)));
    }

    #[test]
    fn selectors_and_modifiers() {
        ok(r#"foo{a="b", "c.d"=~"x.*",}[5m] offset -1m @ start()"#);
        ok(r#"{"my.metric", a="b"}"#);
        ok("rate(foo[5m:1m] @ 100 offset 5m)");
        ok("increase(metric[1m] anchored)");
        ok("metric smoothed");
        ok("changes(http_requests[24m+((1.5*2m)+2m)])");
        ok("metric1_total offset -min_of(step(), 1s)+8000");
        ok("sum without (a) (foo) / on (b) group_left (c) bar");
        ok("SUM BY (group) (x)");
        ok("a + fill_left(5) fill_right(7) b");
        ok(r#"info(metric, {data=~".*"})"#);
        ok("sum(x) by (a)");
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("rate(foo)").unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        let e = parse("{}").unwrap_err();
        assert!(e.msg.contains("at least one non-empty matcher"), "{e}");
        let e = parse("nosuch(x)").unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:1: parse error: unknown function with name \"nosuch\""
        );
        assert!(parse("1 > 2").is_err());
        assert!(parse("foo and 1").is_err());
        assert!(parse("").is_err());
    }
}
