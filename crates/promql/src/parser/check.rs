//! Prometheus's type checks (`checkAST`), with its error texts.
//!
//! The walk returns each node's type as it goes, so every node is visited once (asking
//! `Expr::value_type` at every node would walk a long `1+1+…` chain again at each
//! level). The recursive function only dispatches; the checks with their messages live
//! in helpers that are not inlined, so one level of nesting costs little stack.

use crate::ast::*;

pub(super) type CheckError = (PosRange, String);

/// Checks the tree and returns the expression's type (the same as `value_type`).
pub(super) fn check(e: &Expr) -> Result<ValueType, CheckError> {
    match &e.kind {
        ExprKind::Number { .. } => Ok(ValueType::Scalar),
        ExprKind::String(_) => Ok(ValueType::String),
        ExprKind::Paren(inner) | ExprKind::StepInvariant(inner) => check(inner),
        ExprKind::Unary(_, inner) => {
            let t = check(inner)?;
            unary(e, t)
        }
        ExprKind::Binary(b) => {
            let lt = check(&b.lhs)?;
            let rt = check(&b.rhs)?;
            binary(e, b, lt, rt)
        }
        ExprKind::Aggregate(a) => {
            let t = check(&a.expr)?;
            aggregate_expr(e, a, t)?;
            if let Some(p) = &a.param {
                let pt = check(p)?;
                aggregate_param(a, p, pt)?;
            }
            Ok(ValueType::Vector)
        }
        ExprKind::Call(c) => {
            call_arity(e, c)?;
            for (i, arg) in c.args.iter().enumerate() {
                let t = check(arg)?;
                call_arg(c, i, arg, t)?;
            }
            Ok(c.func.return_type)
        }
        ExprKind::Vector(_) => Ok(ValueType::Vector),
        ExprKind::Matrix(_) => Ok(ValueType::Matrix),
        ExprKind::Subquery(sq) => {
            let t = check(&sq.expr)?;
            subquery(e, t)
        }
    }
}

#[inline(never)]
fn unary(e: &Expr, t: ValueType) -> Result<ValueType, CheckError> {
    match t {
        ValueType::Scalar | ValueType::Vector => Ok(t),
        t => Err((
            e.pos,
            format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                t.document_name()
            ),
        )),
    }
}

#[inline(never)]
fn binary(e: &Expr, b: &BinaryExpr, lt: ValueType, rt: ValueType) -> Result<ValueType, CheckError> {
    let fail = |msg: String| Err((e.pos, msg));
    if b.return_bool && !b.op.is_comparison() {
        return fail("bool modifier can only be used on comparison operators".into());
    }
    if b.op.is_comparison() && !b.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar
    {
        return fail("comparisons between scalars must use BOOL modifier".into());
    }
    for (side, t) in [(&b.lhs, lt), (&b.rhs, rt)] {
        if !matches!(t, ValueType::Scalar | ValueType::Vector) {
            return Err((
                side.pos,
                "binary expression must contain only scalar and instant vector types".into(),
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
    Ok(if lt == ValueType::Scalar && rt == ValueType::Scalar {
        ValueType::Scalar
    } else {
        ValueType::Vector
    })
}

#[inline(never)]
fn aggregate_expr(e: &Expr, _a: &AggregateExpr, t: ValueType) -> Result<(), CheckError> {
    if t != ValueType::Vector {
        return Err((
            e.pos,
            format!(
                "expected type instant vector in aggregation expression, got {}",
                t.document_name()
            ),
        ));
    }
    Ok(())
}

#[inline(never)]
fn aggregate_param(a: &AggregateExpr, p: &Expr, t: ValueType) -> Result<(), CheckError> {
    let want = if a.op == AggregateOp::CountValues {
        ValueType::String
    } else {
        ValueType::Scalar
    };
    if t != want {
        return Err((
            p.pos,
            format!(
                "expected type {} in aggregation parameter, got {}",
                want.document_name(),
                t.document_name()
            ),
        ));
    }
    Ok(())
}

#[inline(never)]
fn call_arity(e: &Expr, c: &Call) -> Result<(), CheckError> {
    let f = c.func;
    let nargs = f.arg_types.len();
    let fail = |msg: String| Err((e.pos, msg));
    if f.variadic == 0 {
        if nargs != c.args.len() {
            return fail(format!(
                "expected {nargs} argument(s) in call to {:?}, got {}",
                f.name,
                c.args.len()
            ));
        }
    } else {
        let min = nargs.saturating_sub(1);
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
    Ok(())
}

#[inline(never)]
fn call_arg(c: &Call, i: usize, arg: &Expr, got: ValueType) -> Result<(), CheckError> {
    let f = c.func;
    let nargs = f.arg_types.len();
    let Some(&want) = f.arg_types.get(i.min(nargs.saturating_sub(1))) else {
        return Ok(());
    };
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
    Ok(())
}

#[inline(never)]
fn subquery(e: &Expr, t: ValueType) -> Result<ValueType, CheckError> {
    if t != ValueType::Vector {
        return Err((
            e.pos,
            format!(
                "subquery is only allowed on instant vector, got {} instead",
                t.name()
            ),
        ));
    }
    Ok(ValueType::Matrix)
}
