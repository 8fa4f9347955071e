//! What may follow an expression: `[range]`, `[range:step]`, `@ t`, `offset d`,
//! `anchored`/`smoothed`.

use super::{is_kw, Node, PResult, Parser};
use crate::ast::*;
use crate::lexer::Tok;

impl Parser<'_> {
    /// Ranges, subqueries and modifiers after an expression; `x[1m:][1m:]...` deepens the
    /// tree in this loop, so heights are checked here too.
    #[inline(never)]
    pub(super) fn parse_postfix(&mut self, (mut expr, mut height): Node) -> PResult<Node> {
        loop {
            let t = self.peek().clone();
            match &t.tok {
                Tok::LBracket => (expr, height) = self.parse_range_or_subquery(expr, height)?,
                Tok::At => {
                    self.next();
                    let at = self.parse_at()?;
                    let end = self.tokens[self.i - 1].pos.end;
                    expr = self.set_at(expr, at, t.pos, end)?;
                }
                tok if is_kw(tok, "offset") => {
                    self.next();
                    let (d, dh) = self.parse_offset_duration()?;
                    height = height.max(dh + 1);
                    self.check_height(height, t.pos)?;
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
                _ => return Ok((expr, height)),
            }
        }
    }

    #[inline(never)]
    pub(super) fn parse_range_or_subquery(&mut self, expr: Expr, height: usize) -> PResult<Node> {
        let open = self.next();
        let (range, rh) = self.parse_duration_expr("range")?;
        if self.peek().tok == Tok::Colon {
            self.next();
            let (step, sh) = if self.peek().tok == Tok::RBracket {
                (None, 0)
            } else {
                let (d, h) = self.parse_duration_expr("subquery step")?;
                (Some(d), h)
            };
            let close = self.expect(Tok::RBracket, "subquery selector")?;
            // Evaluation may wrap the inner expression and the subquery itself in a
            // step-invariant node: counted here, so that the evaluator's tree is never
            // deeper than the parser allowed (but for one wrapper at the root).
            let height = 3 + height.max(rh).max(sh);
            self.check_height(height, open.pos)?;
            let pos = PosRange::new(expr.pos.start, close.pos.end);
            return Ok((
                Expr::new(
                    ExprKind::Subquery(Box::new(SubqueryExpr {
                        expr,
                        range,
                        step,
                        offset: None,
                        at: None,
                    })),
                    pos,
                ),
                height,
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
                let height = height.max(1 + rh);
                self.check_height(height, open.pos)?;
                Ok((
                    Expr::new(
                        ExprKind::Matrix(Box::new(MatrixSelector {
                            selector: *vs,
                            range,
                            mode: RangeMode::Plain,
                        })),
                        pos,
                    ),
                    height,
                ))
            }
            _ => self.err(
                PosRange::new(expr.pos.start, close.pos.end),
                "ranges only allowed for vector selectors",
            ),
        }
    }

    #[inline(never)]
    pub(super) fn parse_at(&mut self) -> PResult<AtModifier> {
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

    #[inline(never)]
    pub(super) fn set_at(
        &self,
        mut expr: Expr,
        at: AtModifier,
        pos: PosRange,
        end: usize,
    ) -> PResult<Expr> {
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

    #[inline(never)]
    pub(super) fn set_offset(
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
}
