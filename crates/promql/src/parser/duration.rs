//! Duration expressions: `offset` durations and the range and step inside `[...]`
//! (`[5m+1s]`, `offset -min_of(step(), 1s)`). They nest like expressions, so they count
//! towards the query's depth limit too.

use super::{PResult, Parser};
use crate::ast::{DurationExpr, DurationOp};
use crate::lexer::Tok;

/// A duration expression and the height of its tree.
pub(super) type Duration = (DurationExpr, usize);

impl Parser<'_> {
    /// The duration after `offset`: a signed literal, a parenthesised duration expression,
    /// or a duration function; arithmetic needs parentheses (`offset 1m + 2` adds to the
    /// selected value).
    pub(super) fn parse_offset_duration(&mut self) -> PResult<Duration> {
        self.enter()?;
        let d = self.parse_offset_duration_inner();
        self.leave();
        d
    }

    fn parse_offset_duration_inner(&mut self) -> PResult<Duration> {
        let neg = match self.peek().tok {
            Tok::Sub => true,
            Tok::Add => false,
            _ => return self.parse_duration_atom("offset"),
        };
        let t = self.next();
        let (inner, h) = self.parse_offset_duration()?;
        self.check_height(h + 1, t.pos)?;
        let inner = Box::new(inner);
        Ok((
            if neg {
                DurationExpr::Neg(inner)
            } else {
                DurationExpr::Pos(inner)
            },
            h + 1,
        ))
    }

    /// A full duration expression (inside `[...]`).
    pub(super) fn parse_duration_expr(&mut self, context: &str) -> PResult<Duration> {
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

    fn parse_duration_binary(&mut self, min_prec: u8, context: &str) -> PResult<Duration> {
        self.enter()?;
        let d = self.parse_duration_binary_inner(min_prec, context);
        self.leave();
        d
    }

    fn parse_duration_binary_inner(&mut self, min_prec: u8, context: &str) -> PResult<Duration> {
        let (mut lhs, mut lh) = self.parse_duration_unary(context)?;
        while let Some((op, prec)) = self.duration_op() {
            if prec < min_prec {
                break;
            }
            let op_pos = self.next().pos;
            let next_min = if op == DurationOp::Pow {
                prec
            } else {
                prec + 1
            };
            let (rhs, rh) = self.parse_duration_binary(next_min, context)?;
            // A long `1m+1m+...` grows the tree here without recursing: checked per term.
            lh = 1 + lh.max(rh);
            self.check_height(lh, op_pos)?;
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, lh))
    }

    fn parse_duration_unary(&mut self, context: &str) -> PResult<Duration> {
        let neg = match self.peek().tok {
            Tok::Sub => true,
            Tok::Add => false,
            _ => return self.parse_duration_atom(context),
        };
        let t = self.next();
        let (inner, h) = self.parse_duration_binary(6, context)?;
        self.check_height(h + 1, t.pos)?;
        let inner = Box::new(inner);
        Ok((
            if neg {
                DurationExpr::Neg(inner)
            } else {
                DurationExpr::Pos(inner)
            },
            h + 1,
        ))
    }

    fn parse_duration_atom(&mut self, context: &str) -> PResult<Duration> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Duration(ms) => {
                self.next();
                Ok((DurationExpr::Duration(*ms), 1))
            }
            Tok::Number(n) => {
                self.next();
                Ok((DurationExpr::Number(*n), 1))
            }
            Tok::LParen => {
                self.next();
                let (inner, h) = self.parse_duration_expr(context)?;
                self.expect(Tok::RParen, "duration expression")?;
                self.check_height(h + 1, t.pos)?;
                Ok((DurationExpr::Paren(Box::new(inner)), h + 1))
            }
            Tok::Ident(name) if self.peek_at(1).tok == Tok::LParen => {
                let lower = name.to_ascii_lowercase();
                match lower.as_str() {
                    "step" | "range" => {
                        self.next();
                        self.next();
                        self.expect(Tok::RParen, "duration expression")?;
                        Ok((
                            if lower == "step" {
                                DurationExpr::Step
                            } else {
                                DurationExpr::Range
                            },
                            1,
                        ))
                    }
                    "min_of" | "max_of" => {
                        self.next();
                        self.next();
                        let (a, ah) = self.parse_duration_expr(context)?;
                        self.expect(Tok::Comma, "duration expression")?;
                        let (b, bh) = self.parse_duration_expr(context)?;
                        self.expect(Tok::RParen, "duration expression")?;
                        let h = 1 + ah.max(bh);
                        self.check_height(h, t.pos)?;
                        let (a, b) = (Box::new(a), Box::new(b));
                        Ok((
                            if lower == "min_of" {
                                DurationExpr::Min(a, b)
                            } else {
                                DurationExpr::Max(a, b)
                            },
                            h,
                        ))
                    }
                    _ => self.unexpected(context, "duration"),
                }
            }
            _ => self.unexpected(context, "duration"),
        }
    }
}
