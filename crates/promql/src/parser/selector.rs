//! Selectors and the label lists of grouping and vector matching: `{a="b"}`,
//! `on(...)`, `group_left(...)`, `fill(...)`. None of this recurses into expressions, so
//! these functions are kept out of line: the frames on the parser's recursive path stay
//! small.

use model::{MatchOp, Matcher};

use super::{is_kw, PResult, ParseError, Parser};
use crate::ast::*;
use crate::lexer::Tok;

impl Parser<'_> {
    /// `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)`, `fill*(...)`.
    #[inline(never)]
    pub(super) fn parse_matching(&mut self) -> PResult<Option<VectorMatching>> {
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

    #[inline(never)]
    pub(super) fn parse_signed_number(&mut self, context: &str) -> PResult<f64> {
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
    #[inline(never)]
    pub(super) fn parse_label_list(&mut self) -> PResult<Vec<String>> {
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

    #[inline(never)]
    pub(super) fn vector_selector(
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
    #[inline(never)]
    pub(super) fn parse_matchers(&mut self, name: Option<&str>) -> PResult<(Vec<Matcher>, usize)> {
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
                            .map_err(|e| self.error(t.pos, e))?,
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
            let m = Matcher::new(op, label.clone(), value)
                .map_err(|e| self.error(PosRange::new(t.pos.start, vt.pos.end), e))?;
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
}
