//! A hand-written PromQL parser (precedence climbing) with Prometheus 3.x syntax:
//! duration expressions, `anchored`/`smoothed`, `fill()` modifiers, quoted UTF-8 names,
//! and Prometheus's type checks and error texts with `line:column` positions.

use std::fmt;

use model::{MatchOp, Matcher};

use crate::ast::*;
use crate::functions;
use crate::lexer::{lex, Tok, Token};

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
    };
    let expr = p.parse_root()?;
    check(&expr).map_err(|(pos, msg)| ParseError {
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

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    i: usize,
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

    fn err<T>(&self, pos: PosRange, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            line_col: pos.start_line_col(self.input),
            pos,
            msg: msg.into(),
        })
    }

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
        let e = self.parse_expr(0)?;
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

    fn parse_expr(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut lhs = self.parse_unary()?;
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
            let rhs = self.parse_expr(next_min)?;
            let pos = PosRange::new(lhs.pos.start, rhs.pos.end);
            let mut matching = matching;
            if op.is_set() {
                let m = matching.get_or_insert_with(VectorMatching::default);
                if m.card == Cardinality::OneToOne {
                    m.card = Cardinality::ManyToMany;
                }
            }
            let _ = op_pos;
            lhs = Expr::new(
                ExprKind::Binary(Box::new(BinaryExpr {
                    op,
                    lhs,
                    rhs,
                    matching,
                    return_bool,
                })),
                pos,
            );
        }
        Ok(lhs)
    }

    /// `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)`, `fill*(...)`.
    fn parse_matching(&mut self) -> PResult<Option<VectorMatching>> {
        let mut m = VectorMatching::default();
        let mut any = false;
        let tok = self.peek().tok.clone();
        if is_kw(&tok, "on") || is_kw(&tok, "ignoring") {
            self.next();
            m.on = is_kw(&tok, "on");
            m.explicit = true;
            m.labels = self.parse_label_list()?;
            any = true;
            let tok = self.peek().tok.clone();
            if is_kw(&tok, "group_left") || is_kw(&tok, "group_right") {
                self.next();
                m.card = if is_kw(&tok, "group_left") {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                if self.peek().tok == Tok::LParen {
                    m.include = self.parse_label_list()?;
                }
            }
        } else if is_kw(&tok, "group_left") || is_kw(&tok, "group_right") {
            return self.unexpected("", "");
        }
        loop {
            let tok = self.peek().tok.clone();
            let which = if is_kw(&tok, "fill") {
                0
            } else if is_kw(&tok, "fill_left") {
                1
            } else if is_kw(&tok, "fill_right") {
                2
            } else {
                break;
            };
            if self.peek_at(1).tok != Tok::LParen {
                break;
            }
            self.next();
            self.next();
            let value = self.parse_signed_number("fill modifier")?;
            self.expect(Tok::RParen, "fill modifier")?;
            match which {
                0 => {
                    m.fill_left = Some(value);
                    m.fill_right = Some(value);
                }
                1 => m.fill_left = Some(value),
                _ => m.fill_right = Some(value),
            }
            any = true;
        }
        Ok(any.then_some(m))
    }

    fn parse_signed_number(&mut self, context: &str) -> PResult<f64> {
        let mut sign = 1.0;
        loop {
            match self.peek().tok {
                Tok::Sub => {
                    self.next();
                    sign = -sign;
                }
                Tok::Add => {
                    self.next();
                }
                _ => break,
            }
        }
        match self.peek().tok {
            Tok::Number(n) => {
                self.next();
                Ok(sign * n)
            }
            Tok::Duration(ms) => {
                self.next();
                Ok(sign * ms as f64 / 1000.0)
            }
            _ => self.unexpected(context, "number"),
        }
    }

    /// `(a, b, "c")`: label names in grouping and matching clauses.
    fn parse_label_list(&mut self) -> PResult<Vec<String>> {
        self.expect(Tok::LParen, "grouping opts")?;
        let mut out = Vec::new();
        loop {
            match self.peek().tok.clone() {
                Tok::RParen => {
                    self.next();
                    return Ok(out);
                }
                Tok::Ident(s) => {
                    if s.contains(':') {
                        return self.unexpected("grouping opts", "label");
                    }
                    self.next();
                    out.push(s);
                }
                Tok::Str(s) => {
                    self.next();
                    out.push(s);
                }
                _ => return self.unexpected("grouping opts", "label"),
            }
            match self.peek().tok {
                Tok::Comma => {
                    self.next();
                }
                Tok::RParen => {}
                _ => return self.unexpected("grouping opts", "\",\" or \")\""),
            }
        }
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        match self.peek().tok {
            Tok::Sub | Tok::Add => {
                let t = self.next();
                let neg = t.tok == Tok::Sub;
                let operand = self.parse_expr(BinaryOp::Pow.precedence())?;
                let pos = PosRange::new(t.pos.start, operand.pos.end);
                if let ExprKind::Number { value, duration } = operand.kind {
                    let value = if neg { -value } else { value };
                    return Ok(Expr::new(ExprKind::Number { value, duration }, pos));
                }
                Ok(Expr::new(
                    ExprKind::Unary(
                        if neg { UnaryOp::Neg } else { UnaryOp::Pos },
                        Box::new(operand),
                    ),
                    pos,
                ))
            }
            _ => {
                let primary = self.parse_primary()?;
                self.parse_postfix(primary)
            }
        }
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Number(n) => {
                self.next();
                Ok(Expr::new(
                    ExprKind::Number {
                        value: n,
                        duration: false,
                    },
                    t.pos,
                ))
            }
            Tok::Duration(ms) => {
                self.next();
                Ok(Expr::new(
                    ExprKind::Number {
                        value: ms as f64 / 1000.0,
                        duration: true,
                    },
                    t.pos,
                ))
            }
            Tok::Str(s) => {
                self.next();
                Ok(Expr::new(ExprKind::String(s), t.pos))
            }
            Tok::LParen => {
                self.next();
                let inner = self.parse_expr(0)?;
                let close = self.expect(Tok::RParen, "paren expression")?;
                Ok(Expr::new(
                    ExprKind::Paren(Box::new(inner)),
                    PosRange::new(t.pos.start, close.pos.end),
                ))
            }
            Tok::LBrace => {
                let (matchers, end) = self.parse_matchers(None)?;
                self.vector_selector(None, matchers, PosRange::new(t.pos.start, end))
            }
            Tok::Ident(ref name) => {
                let name = name.clone();
                let next = self.peek_at(1).tok.clone();
                if let Some(op) = AggregateOp::from_name(&name) {
                    if next == Tok::LParen || is_kw(&next, "by") || is_kw(&next, "without") {
                        return self.parse_aggregate(op, t.pos);
                    }
                }
                if next == Tok::LParen {
                    return self.parse_call(&name, t.pos);
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
                self.next();
                if self.peek().tok == Tok::LBrace {
                    let (matchers, end) = self.parse_matchers(Some(&name))?;
                    self.vector_selector(Some(name), matchers, PosRange::new(t.pos.start, end))
                } else {
                    let m = Matcher::new(MatchOp::Equal, model::METRIC_NAME, name.clone())
                        .map_err(|e| self.err::<()>(t.pos, e).unwrap_err())?;
                    self.vector_selector(Some(name), vec![m], t.pos)
                }
            }
            Tok::Eof => self.err(t.pos, "unexpected end of input"),
            _ => self.unexpected("", ""),
        }
    }

    fn vector_selector(
        &self,
        name: Option<String>,
        matchers: Vec<Matcher>,
        pos: PosRange,
    ) -> PResult<Expr> {
        if !matchers.iter().any(|m| !m.matches_empty()) {
            return self.err(
                pos,
                "vector selector must contain at least one non-empty matcher",
            );
        }
        Ok(Expr::new(
            ExprKind::Vector(Box::new(VectorSelector {
                name,
                matchers,
                offset: None,
                at: None,
                mode: RangeMode::Plain,
            })),
            pos,
        ))
    }

    /// `{a="b", "c"=~"d", "metric"}`; returns the matchers (a name matcher first when a
    /// metric name was written before the braces) and the end offset.
    fn parse_matchers(&mut self, name: Option<&str>) -> PResult<(Vec<Matcher>, usize)> {
        let open = self.expect(Tok::LBrace, "label matching")?;
        let _ = open;
        let mut matchers = Vec::new();
        let mut metric_name: Option<String> = name.map(str::to_string);
        if let Some(n) = name {
            matchers.push(
                Matcher::new(MatchOp::Equal, model::METRIC_NAME, n).map_err(|e| ParseError {
                    line_col: String::new(),
                    pos: PosRange::default(),
                    msg: e,
                })?,
            );
        }
        loop {
            let t = self.peek().clone();
            let label = match &t.tok {
                Tok::RBrace => {
                    self.next();
                    return Ok((matchers, t.pos.end));
                }
                Tok::Ident(s) => s.clone(),
                Tok::Str(s) => s.clone(),
                _ => return self.unexpected("label matching", "label matching"),
            };
            self.next();
            let op = match self.peek().tok {
                Tok::Assign => MatchOp::Equal,
                Tok::Neq => MatchOp::NotEqual,
                Tok::EqlRegex => MatchOp::Regex,
                Tok::NeqRegex => MatchOp::NotRegex,
                Tok::Comma | Tok::RBrace if matches!(t.tok, Tok::Str(_)) => {
                    // A lone quoted string is the metric name (`{"my.metric"}`).
                    if let Some(existing) = &metric_name {
                        return self.err(
                            t.pos,
                            format!("metric name must not be set twice: {existing:?} or {label:?}"),
                        );
                    }
                    metric_name = Some(label.clone());
                    matchers.push(
                        Matcher::new(MatchOp::Equal, model::METRIC_NAME, label)
                            .map_err(|e| self.err::<()>(t.pos, e).unwrap_err())?,
                    );
                    if self.peek().tok == Tok::Comma {
                        self.next();
                    }
                    continue;
                }
                _ => return self.unexpected("label matching", "label matching operator"),
            };
            self.next();
            let vt = self.peek().clone();
            let Tok::Str(value) = vt.tok else {
                return self.unexpected("label matching", "string");
            };
            self.next();
            let m = Matcher::new(op, label.clone(), value).map_err(|e| {
                self.err::<()>(PosRange::new(t.pos.start, vt.pos.end), e)
                    .unwrap_err()
            })?;
            if label == model::METRIC_NAME && op == MatchOp::Equal {
                if let Some(existing) = &metric_name {
                    if name.is_some() {
                        return self.err(
                            PosRange::new(t.pos.start, vt.pos.end),
                            format!(
                                "metric name must not be set twice: {existing:?} or {:?}",
                                m.value
                            ),
                        );
                    }
                }
            }
            matchers.push(m);
            match self.peek().tok {
                Tok::Comma => {
                    self.next();
                }
                Tok::RBrace => {}
                _ => return self.unexpected("label matching", "\",\" or \"}\""),
            }
        }
    }

    fn parse_aggregate(&mut self, op: AggregateOp, start: PosRange) -> PResult<Expr> {
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
        let (mut args, end) = self.parse_call_args("aggregation")?;
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
        let expr = args.pop().expect("checked length");
        let param = args.pop();
        Ok(Expr::new(
            ExprKind::Aggregate(Box::new(AggregateExpr {
                op,
                expr,
                param,
                grouping,
                without,
                grouped,
            })),
            pos,
        ))
    }

    /// `( expr, expr, ... )`, trailing comma allowed; returns the arguments and the end.
    fn parse_call_args(&mut self, context: &str) -> PResult<(Vec<Expr>, usize)> {
        self.expect(Tok::LParen, context)?;
        let mut args = Vec::new();
        loop {
            if self.peek().tok == Tok::RParen {
                let t = self.next();
                return Ok((args, t.pos.end));
            }
            args.push(self.parse_expr(0)?);
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

    fn parse_call(&mut self, name: &str, start: PosRange) -> PResult<Expr> {
        let Some(func) = functions::lookup(name) else {
            return self.err(start, format!("unknown function with name {name:?}"));
        };
        self.next();
        let args = if func.name == "info" {
            self.parse_info_args()?
        } else {
            self.parse_call_args("function call")?
        };
        let pos = PosRange::new(start.start, args.1);
        Ok(Expr::new(
            ExprKind::Call(Box::new(Call { func, args: args.0 })),
            pos,
        ))
    }

    /// `info(v, {data matchers})`: the second argument may match only empty values.
    fn parse_info_args(&mut self) -> PResult<(Vec<Expr>, usize)> {
        self.expect(Tok::LParen, "function call")?;
        let mut args = vec![self.parse_expr(0)?];
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
                    args.push(self.parse_expr(0)?);
                }
                if self.peek().tok == Tok::Comma {
                    self.next();
                }
            }
        }
        let close = self.expect(Tok::RParen, "function call")?;
        Ok((args, close.pos.end))
    }

    fn parse_postfix(&mut self, mut expr: Expr) -> PResult<Expr> {
        loop {
            let t = self.peek().clone();
            match &t.tok {
                Tok::LBracket => expr = self.parse_range_or_subquery(expr)?,
                Tok::At => {
                    self.next();
                    let at = self.parse_at()?;
                    let end = self.tokens[self.i - 1].pos.end;
                    expr = self.set_at(expr, at, t.pos, end)?;
                }
                tok if is_kw(tok, "offset") => {
                    self.next();
                    let d = self.parse_offset_duration()?;
                    let end = self.tokens[self.i - 1].pos.end;
                    expr = self.set_offset(expr, d, t.pos, end)?;
                }
                tok if is_kw(tok, "anchored") || is_kw(tok, "smoothed") => {
                    let mode = if is_kw(tok, "anchored") {
                        RangeMode::Anchored
                    } else {
                        RangeMode::Smoothed
                    };
                    // Only a modifier when it follows a selector; otherwise it is a name.
                    let end = t.pos.end;
                    match &mut expr.kind {
                        ExprKind::Matrix(ms) if ms.mode == RangeMode::Plain => ms.mode = mode,
                        ExprKind::Vector(vs)
                            if vs.mode == RangeMode::Plain && mode == RangeMode::Smoothed =>
                        {
                            vs.mode = mode
                        }
                        ExprKind::Vector(_) => {
                            return self.err(
                                t.pos,
                                "anchored modifier is only allowed on range vector selectors",
                            )
                        }
                        _ => return self.unexpected("", ""),
                    }
                    self.next();
                    expr.pos.end = end;
                }
                _ => return Ok(expr),
            }
        }
    }

    fn parse_range_or_subquery(&mut self, expr: Expr) -> PResult<Expr> {
        let open = self.next();
        let range = self.parse_duration_expr("range")?;
        if self.peek().tok == Tok::Colon {
            self.next();
            let step = if self.peek().tok == Tok::RBracket {
                None
            } else {
                Some(self.parse_duration_expr("subquery step")?)
            };
            let close = self.expect(Tok::RBracket, "subquery selector")?;
            let pos = PosRange::new(expr.pos.start, close.pos.end);
            return Ok(Expr::new(
                ExprKind::Subquery(Box::new(SubqueryExpr {
                    expr,
                    range,
                    step,
                    offset: None,
                    at: None,
                })),
                pos,
            ));
        }
        let close = self.expect(Tok::RBracket, "matrix selector")?;
        let pos = PosRange::new(expr.pos.start, close.pos.end);
        match expr.kind {
            ExprKind::Vector(vs) => {
                if vs.offset.is_some() {
                    return self.err(open.pos, "no offset modifiers allowed before range");
                }
                if vs.at.is_some() {
                    return self.err(open.pos, "no @ modifiers allowed before range");
                }
                Ok(Expr::new(
                    ExprKind::Matrix(Box::new(MatrixSelector {
                        selector: *vs,
                        range,
                        mode: RangeMode::Plain,
                    })),
                    pos,
                ))
            }
            _ => self.err(
                PosRange::new(expr.pos.start, close.pos.end),
                "ranges only allowed for vector selectors",
            ),
        }
    }

    fn parse_at(&mut self) -> PResult<AtModifier> {
        let t = self.peek().clone();
        let tok = t.tok.clone();
        if (is_kw(&tok, "start") || is_kw(&tok, "end")) && self.peek_at(1).tok == Tok::LParen {
            self.next();
            self.next();
            self.expect(Tok::RParen, "@ modifier")?;
            return Ok(if is_kw(&tok, "start") {
                AtModifier::Start
            } else {
                AtModifier::End
            });
        }
        let v = self.parse_signed_number("@")?;
        if !v.is_finite() {
            return self.err(
                t.pos,
                format!("timestamp out of bounds for @ modifier: {v}"),
            );
        }
        let ms = (v * 1000.0).round();
        if ms.abs() > 9.2e18 {
            return self.err(
                t.pos,
                format!("timestamp out of bounds for @ modifier: {v}"),
            );
        }
        Ok(AtModifier::Time(ms as i64))
    }

    fn set_at(&self, mut expr: Expr, at: AtModifier, pos: PosRange, end: usize) -> PResult<Expr> {
        let slot = match &mut expr.kind {
            ExprKind::Vector(vs) => &mut vs.at,
            ExprKind::Matrix(ms) => &mut ms.selector.at,
            ExprKind::Subquery(sq) => &mut sq.at,
            _ => {
                return self.err(
                    pos,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                )
            }
        };
        if slot.is_some() {
            return self.err(pos, "@ <timestamp> may not be set multiple times");
        }
        *slot = Some(at);
        expr.pos.end = end;
        Ok(expr)
    }

    fn set_offset(
        &self,
        mut expr: Expr,
        d: DurationExpr,
        pos: PosRange,
        end: usize,
    ) -> PResult<Expr> {
        let slot = match &mut expr.kind {
            ExprKind::Vector(vs) => &mut vs.offset,
            ExprKind::Matrix(ms) => &mut ms.selector.offset,
            ExprKind::Subquery(sq) => &mut sq.offset,
            _ => {
                return self.err(
                    pos,
                    "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                )
            }
        };
        if slot.is_some() {
            return self.err(pos, "offset may not be set multiple times");
        }
        *slot = Some(d);
        expr.pos.end = end;
        Ok(expr)
    }

    /// The duration after `offset`: a signed literal, a parenthesised duration expression,
    /// or a duration function; arithmetic needs parentheses (`offset 1m + 2` adds to the
    /// selected value).
    fn parse_offset_duration(&mut self) -> PResult<DurationExpr> {
        match self.peek().tok {
            Tok::Sub => {
                self.next();
                Ok(DurationExpr::Neg(Box::new(self.parse_offset_duration()?)))
            }
            Tok::Add => {
                self.next();
                Ok(DurationExpr::Pos(Box::new(self.parse_offset_duration()?)))
            }
            _ => self.parse_duration_atom("offset"),
        }
    }

    /// A full duration expression (inside `[...]`).
    fn parse_duration_expr(&mut self, context: &str) -> PResult<DurationExpr> {
        self.parse_duration_binary(0, context)
    }

    fn duration_op(&self) -> Option<(DurationOp, u8)> {
        Some(match self.peek().tok {
            Tok::Add => (DurationOp::Add, 4),
            Tok::Sub => (DurationOp::Sub, 4),
            Tok::Mul => (DurationOp::Mul, 5),
            Tok::Div => (DurationOp::Div, 5),
            Tok::Mod => (DurationOp::Mod, 5),
            Tok::Pow => (DurationOp::Pow, 6),
            _ => return None,
        })
    }

    fn parse_duration_binary(&mut self, min_prec: u8, context: &str) -> PResult<DurationExpr> {
        let mut lhs = self.parse_duration_unary(context)?;
        while let Some((op, prec)) = self.duration_op() {
            if prec < min_prec {
                break;
            }
            self.next();
            let next_min = if op == DurationOp::Pow {
                prec
            } else {
                prec + 1
            };
            let rhs = self.parse_duration_binary(next_min, context)?;
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn parse_duration_unary(&mut self, context: &str) -> PResult<DurationExpr> {
        match self.peek().tok {
            Tok::Sub => {
                self.next();
                Ok(DurationExpr::Neg(Box::new(
                    self.parse_duration_binary(6, context)?,
                )))
            }
            Tok::Add => {
                self.next();
                Ok(DurationExpr::Pos(Box::new(
                    self.parse_duration_binary(6, context)?,
                )))
            }
            _ => self.parse_duration_atom(context),
        }
    }

    fn parse_duration_atom(&mut self, context: &str) -> PResult<DurationExpr> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Duration(ms) => {
                self.next();
                Ok(DurationExpr::Duration(*ms))
            }
            Tok::Number(n) => {
                self.next();
                Ok(DurationExpr::Number(*n))
            }
            Tok::LParen => {
                self.next();
                let inner = self.parse_duration_expr(context)?;
                self.expect(Tok::RParen, "duration expression")?;
                Ok(DurationExpr::Paren(Box::new(inner)))
            }
            Tok::Ident(name) if self.peek_at(1).tok == Tok::LParen => {
                let lower = name.to_ascii_lowercase();
                match lower.as_str() {
                    "step" | "range" => {
                        self.next();
                        self.next();
                        self.expect(Tok::RParen, "duration expression")?;
                        Ok(if lower == "step" {
                            DurationExpr::Step
                        } else {
                            DurationExpr::Range
                        })
                    }
                    "min_of" | "max_of" => {
                        self.next();
                        self.next();
                        let a = self.parse_duration_expr(context)?;
                        self.expect(Tok::Comma, "duration expression")?;
                        let b = self.parse_duration_expr(context)?;
                        self.expect(Tok::RParen, "duration expression")?;
                        Ok(if lower == "min_of" {
                            DurationExpr::Min(Box::new(a), Box::new(b))
                        } else {
                            DurationExpr::Max(Box::new(a), Box::new(b))
                        })
                    }
                    _ => self.unexpected(context, "duration"),
                }
            }
            _ => self.unexpected(context, "duration"),
        }
    }
}

type CheckResult = Result<(), (PosRange, String)>;

/// Prometheus's type checks (`checkAST`).
fn check(e: &Expr) -> CheckResult {
    let fail = |msg: String| Err((e.pos, msg));
    match &e.kind {
        ExprKind::Number { .. } | ExprKind::String(_) => Ok(()),
        ExprKind::Paren(inner) | ExprKind::StepInvariant(inner) => check(inner),
        ExprKind::Unary(_, inner) => {
            check(inner)?;
            match inner.value_type() {
                ValueType::Scalar | ValueType::Vector => Ok(()),
                t => fail(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                    t.document_name()
                )),
            }
        }
        ExprKind::Binary(b) => {
            check(&b.lhs)?;
            check(&b.rhs)?;
            let (lt, rt) = (b.lhs.value_type(), b.rhs.value_type());
            if b.return_bool && !b.op.is_comparison() {
                return fail("bool modifier can only be used on comparison operators".into());
            }
            if b.op.is_comparison()
                && !b.return_bool
                && lt == ValueType::Scalar
                && rt == ValueType::Scalar
            {
                return fail("comparisons between scalars must use BOOL modifier".into());
            }
            for (side, t) in [(&b.lhs, lt), (&b.rhs, rt)] {
                if !matches!(t, ValueType::Scalar | ValueType::Vector) {
                    return Err((
                        side.pos,
                        "binary expression must contain only scalar and instant vector types"
                            .into(),
                    ));
                }
            }
            if b.op.is_set() && (lt == ValueType::Scalar || rt == ValueType::Scalar) {
                return fail(format!(
                    "set operator {:?} not allowed in binary scalar expression",
                    b.op.text()
                ));
            }
            if let Some(m) = &b.matching {
                let has_matching = m.explicit || !m.include.is_empty();
                if has_matching && (lt != ValueType::Vector || rt != ValueType::Vector) {
                    return fail("vector matching only allowed between instant vectors".into());
                }
                if (m.fill_left.is_some() || m.fill_right.is_some())
                    && (lt != ValueType::Vector || rt != ValueType::Vector)
                {
                    return fail("filling only allowed between instant vectors".into());
                }
                if b.op.is_set() {
                    if matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany) {
                        return fail(format!(
                            "no grouping allowed for {:?} operation",
                            b.op.text()
                        ));
                    }
                    if m.fill_left.is_some() || m.fill_right.is_some() {
                        return fail(format!(
                            "filling not allowed for {:?} operation",
                            b.op.text()
                        ));
                    }
                }
                if m.on {
                    for l in &m.include {
                        if m.labels.contains(l) {
                            return fail(format!(
                                "label {l:?} must not occur in ON and GROUP clause at once"
                            ));
                        }
                    }
                }
            }
            Ok(())
        }
        ExprKind::Aggregate(a) => {
            check(&a.expr)?;
            if a.expr.value_type() != ValueType::Vector {
                return fail(format!(
                    "expected type instant vector in aggregation expression, got {}",
                    a.expr.value_type().document_name()
                ));
            }
            if let Some(p) = &a.param {
                check(p)?;
                let want = if a.op == AggregateOp::CountValues {
                    ValueType::String
                } else {
                    ValueType::Scalar
                };
                if p.value_type() != want {
                    return Err((
                        p.pos,
                        format!(
                            "expected type {} in aggregation parameter, got {}",
                            want.document_name(),
                            p.value_type().document_name()
                        ),
                    ));
                }
            }
            Ok(())
        }
        ExprKind::Call(c) => {
            let f = c.func;
            let nargs = f.arg_types.len();
            if f.variadic == 0 {
                if nargs != c.args.len() {
                    return fail(format!(
                        "expected {nargs} argument(s) in call to {:?}, got {}",
                        f.name,
                        c.args.len()
                    ));
                }
            } else {
                let min = nargs - 1;
                if min > c.args.len() {
                    return fail(format!(
                        "expected at least {min} argument(s) in call to {:?}, got {}",
                        f.name,
                        c.args.len()
                    ));
                }
                let max = min as i64 + f.variadic as i64;
                if f.variadic > 0 && (c.args.len() as i64) > max {
                    return fail(format!(
                        "expected at most {max} argument(s) in call to {:?}, got {}",
                        f.name,
                        c.args.len()
                    ));
                }
            }
            for (i, arg) in c.args.iter().enumerate() {
                check(arg)?;
                let want = f.arg_types[i.min(nargs.saturating_sub(1))];
                let got = arg.value_type();
                if got != want {
                    return Err((
                        arg.pos,
                        format!(
                            "expected type {} in call to function {:?}, got {}",
                            want.document_name(),
                            f.name,
                            got.document_name()
                        ),
                    ));
                }
            }
            Ok(())
        }
        ExprKind::Vector(_) | ExprKind::Matrix(_) => Ok(()),
        ExprKind::Subquery(sq) => {
            check(&sq.expr)?;
            if sq.expr.value_type() != ValueType::Vector {
                return fail(format!(
                    "subquery is only allowed on instant vector, got {} instead",
                    sq.expr.value_type().name()
                ));
            }
            Ok(())
        }
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
