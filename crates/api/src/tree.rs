//! The JSON syntax tree of `/api/v1/parse_query`, in the shape Prometheus's UI reads.

use model::MatchOp;
use promql::ast::*;
use serde_json::{json, Value};

fn duration_ms(d: &Option<DurationExpr>) -> i64 {
    d.as_ref().map(|d| d.millis(0, 0)).unwrap_or(0)
}

fn at_json(at: &Option<AtModifier>) -> (Value, Value) {
    match at {
        None => (Value::Null, Value::Null),
        Some(AtModifier::Time(t)) => (json!(t), Value::Null),
        Some(AtModifier::Start) => (Value::Null, json!("start")),
        Some(AtModifier::End) => (Value::Null, json!("end")),
    }
}

fn matchers_json(vs: &VectorSelector) -> Value {
    Value::Array(
        vs.matchers
            .iter()
            .map(|m| {
                let op = match m.op {
                    MatchOp::Equal => "=",
                    MatchOp::NotEqual => "!=",
                    MatchOp::Regex => "=~",
                    MatchOp::NotRegex => "!~",
                };
                json!({"type": op, "name": m.name, "value": m.value})
            })
            .collect(),
    )
}

/// An object of fields whose values are built already: moved in. (`json!` serializes a
/// `Value` it is given into a copy: at every level of a deep query, a copy of the whole
/// subtree below, which made a 3,200-term sum take seconds.)
fn object(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// The tree of an expression.
pub(crate) fn to_json(e: &Expr) -> Value {
    match &e.kind {
        ExprKind::Number { value, .. } => {
            json!({"type": "numberLiteral", "val": promql::format_float_f(*value)})
        }
        ExprKind::String(s) => json!({"type": "stringLiteral", "val": s}),
        ExprKind::Paren(inner) | ExprKind::StepInvariant(inner) => {
            object(vec![("type", json!("parenExpr")), ("expr", to_json(inner))])
        }
        ExprKind::Unary(op, inner) => object(vec![
            ("type", json!("unaryExpr")),
            ("op", json!(if *op == UnaryOp::Neg { "-" } else { "+" })),
            ("expr", to_json(inner)),
        ]),
        ExprKind::Binary(b) => {
            let matching = b.matching.as_ref().map(|m| {
                let card = match m.card {
                    Cardinality::OneToOne => "one-to-one",
                    Cardinality::ManyToOne => "many-to-one",
                    Cardinality::OneToMany => "one-to-many",
                    Cardinality::ManyToMany => "many-to-many",
                };
                json!({"card": card, "labels": m.labels, "on": m.on, "include": m.include})
            });
            object(vec![
                ("type", json!("binaryExpr")),
                ("op", json!(b.op.text())),
                ("lhs", to_json(&b.lhs)),
                ("rhs", to_json(&b.rhs)),
                ("matching", matching.unwrap_or(Value::Null)),
                ("bool", json!(b.return_bool)),
            ])
        }
        ExprKind::Aggregate(a) => object(vec![
            ("type", json!("aggregation")),
            ("op", json!(a.op.name())),
            ("expr", to_json(&a.expr)),
            (
                "param",
                a.param.as_ref().map(to_json).unwrap_or(Value::Null),
            ),
            ("grouping", json!(a.grouping)),
            ("without", json!(a.without)),
        ]),
        ExprKind::Call(c) => object(vec![
            ("type", json!("call")),
            (
                "func",
                json!({
                    "name": c.func.name,
                    "argTypes": c.func.arg_types.iter().map(|t| t.name()).collect::<Vec<_>>(),
                    "variadic": c.func.variadic,
                    "returnType": c.func.return_type.name(),
                }),
            ),
            ("args", Value::Array(c.args.iter().map(to_json).collect())),
        ]),
        ExprKind::Vector(vs) => {
            let (ts, soe) = at_json(&vs.at);
            json!({
                "type": "vectorSelector",
                "name": vs.name.clone().unwrap_or_default(),
                "matchers": matchers_json(vs),
                "offset": duration_ms(&vs.offset),
                "timestamp": ts,
                "startOrEnd": soe,
            })
        }
        ExprKind::Matrix(ms) => {
            let vs = &ms.selector;
            let (ts, soe) = at_json(&vs.at);
            json!({
                "type": "matrixSelector",
                "name": vs.name.clone().unwrap_or_default(),
                "matchers": matchers_json(vs),
                "range": ms.range.millis(0, 0),
                "offset": duration_ms(&vs.offset),
                "timestamp": ts,
                "startOrEnd": soe,
            })
        }
        ExprKind::Subquery(sq) => {
            let (ts, soe) = at_json(&sq.at);
            object(vec![
                ("type", json!("subquery")),
                ("expr", to_json(&sq.expr)),
                ("range", json!(sq.range.millis(0, 0))),
                ("offset", json!(duration_ms(&sq.offset))),
                (
                    "step",
                    json!(sq.step.as_ref().map(|s| s.millis(0, 0)).unwrap_or(0)),
                ),
                ("timestamp", ts),
                ("startOrEnd", soe),
            ])
        }
    }
}
