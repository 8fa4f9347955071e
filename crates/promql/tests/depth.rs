//! The nesting limit: queries as deep as `MAX_DEPTH` allows parse, print, parse again,
//! evaluate and drop on half the stack the server's query threads have (so the limit is
//! safe with a margin of two); one level more is refused with an error naming the
//! limit; far deeper input (100,000 levels, as Prometheus survives) is refused quickly,
//! without ever building a deeper tree. Everything runs on half of `STACK_SIZE`, the
//! stack the library asks of the threads it parses and evaluates on.

use std::time::{Duration, Instant};

use model::Labels;
use promql::{Engine, EngineOptions, MAX_DEPTH, STACK_SIZE};

/// A query of each kind of nesting whose tree is exactly `depth` levels deep.
fn nested(kind: &str, depth: usize) -> String {
    let d = depth;
    match kind {
        // `(` × n around a number: n + 1 levels.
        "parens" => format!("{}1{}", "(".repeat(d - 1), ")".repeat(d - 1)),
        // A flat sum of n terms: n levels (the operators are left-associative).
        "flat_sum" => format!("1{}", " + 1".repeat(d - 1)),
        // `^` is right-associative: the same depth nests to the right.
        "power_chain" => format!("{}1", "1 ^ ".repeat(d - 1)),
        "flat_or" => format!("up{}", " or up".repeat(d - 1)),
        // `abs(` × n around `vector(1)` (2 levels).
        "calls" => format!("{}vector(1){}", "abs(".repeat(d - 2), ")".repeat(d - 2)),
        "aggregations" => format!("{}up{}", "sum(".repeat(d - 1), ")".repeat(d - 1)),
        "label_replace" => format!(
            "{}up{}",
            "label_replace(".repeat(d - 1),
            r#", "a", "$1", "job", "(.*)")"#.repeat(d - 1)
        ),
        // `-(` × n: a unary minus and a paren per step.
        "negations" => format!("{}up{}", "-(".repeat((d - 1) / 2), ")".repeat((d - 1) / 2)),
        // Each `max_over_time((…)[1m:])` is a call, a subquery (3) and a paren: 5 levels.
        "subqueries" => {
            let n = (d - 1) / 5;
            format!("{}up{}", "max_over_time((".repeat(n), ")[1m:])".repeat(n))
        }
        // Pinned with `@`, subqueries and their expressions get step-invariant wrappers
        // when evaluated (counted by the parser).
        "pinned_subqueries" => {
            let n = (d - 1) / 5;
            format!(
                "{}up{}",
                "max_over_time((".repeat(n),
                ")[1m:] @ 300)".repeat(n)
            )
        }
        // A duration expression is part of the tree too: `x[1m+1m+…]`.
        "duration_sum" => format!("rate(up[1m{}])", " + 1m".repeat(d - 3)),
        _ => unreachable!("{kind}"),
    }
}

const KINDS: &[&str] = &[
    "parens",
    "flat_sum",
    "power_chain",
    "flat_or",
    "calls",
    "aggregations",
    "label_replace",
    "negations",
    "subqueries",
    "pinned_subqueries",
    "duration_sum",
];

/// Runs `f` on a thread with half the stack the server gives its query threads.
fn on_half_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(STACK_SIZE / 2)
            .spawn_scoped(s, f)
            .expect("thread")
            .join()
            .expect("no panic")
    })
}

fn db(dir: &std::path::Path) -> tsdb::Db {
    let db = tsdb::Db::open(dir).unwrap();
    let samples: Vec<_> = (0..40)
        .map(|i| {
            (
                Labels::from_pairs([("__name__", "up"), ("job", "a")]),
                i * 15_000,
                1.0,
            )
        })
        .collect();
    db.append(&samples).unwrap();
    db
}

#[test]
fn queries_at_the_limit_work_on_half_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let engine = Engine::new(EngineOptions::default());
    on_half_stack(|| {
        for kind in KINDS {
            let query = nested(kind, MAX_DEPTH);
            let expr = promql::parse(&query).unwrap_or_else(|e| panic!("{kind}: {e}"));
            // Printed and prettified, it parses back to the same query.
            let printed = promql::format_expr(&expr);
            let again = promql::parse(&printed).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(promql::format_expr(&again), printed, "{kind}");
            // The pretty form indents every level (its size grows with the square of the
            // depth): printed at the limit, parsed back at a smaller depth.
            assert!(!promql::prettify(&expr).is_empty());
            let shallow = promql::parse(&nested(kind, 300)).unwrap();
            let pretty = promql::prettify(&shallow);
            let from_pretty = promql::parse(&pretty).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(
                promql::format_expr(&from_pretty),
                promql::format_expr(&shallow),
                "{kind}"
            );
            drop(again);
            // Evaluated as an instant and as a range query.
            for (start, end, step) in [(300_000, 300_000, 0), (180_000, 300_000, 60_000)] {
                let result = engine.exec(&db, &expr, &query, start, end, step, &Default::default());
                if let Err(e) = result {
                    panic!("{kind} from {start} to {end}: {e}");
                }
            }
            // The deepest tree drops without overflowing the stack.
            drop(expr);
        }
    });
}

#[test]
fn one_level_more_is_refused_naming_the_limit() {
    on_half_stack(one_level_more);
}

fn one_level_more() {
    for kind in KINDS {
        let query = nested(kind, MAX_DEPTH + 5);
        let err = promql::parse(&query).expect_err(kind);
        assert_eq!(
            err.msg,
            format!("query is nested too deeply (more than {MAX_DEPTH} levels)"),
            "{kind}"
        );
        assert!(err
            .to_string()
            .contains("parse error: query is nested too deeply"));
    }
    // Exactly one level over the limit.
    let err = promql::parse(&nested("flat_sum", MAX_DEPTH + 1)).unwrap_err();
    assert!(err.msg.contains("nested too deeply"), "{err}");
    promql::parse(&nested("flat_sum", MAX_DEPTH)).unwrap();
    // Signs fold into the number they stand before, but the parser still recurses
    // once for each.
    let signs = format!("{}1", "- ".repeat(MAX_DEPTH + 1));
    assert!(promql::parse(&signs)
        .unwrap_err()
        .msg
        .contains("too deeply"));
    let signs = format!("{}1", "- ".repeat(MAX_DEPTH - 2));
    assert!(promql::parse(&signs).is_ok());
}

/// What the issue found taking the server down, and a hundred times more: refused in
/// linear time (the parser never holds a tree deeper than the limit, so nothing deeper
/// is ever dropped either).
#[test]
fn hostile_nesting_is_refused_quickly() {
    let n = 100_000;
    let queries = [
        format!("{}1", "-".repeat(n)),
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}1", "(".repeat(n)),
        format!("{}vector(1){}", "abs(".repeat(n), ")".repeat(n)),
        format!("1{}", "+1".repeat(n)),
        format!("1{}", "+1".repeat(n)) + ")",
        format!("{}1", "1^".repeat(n)),
        format!("up[1m{}]", "+1m".repeat(n)),
        format!("up offset {}1m", "-".repeat(n)),
        format!("up offset {}1m{}", "-(".repeat(n), ")".repeat(n)),
        format!("{}up", "sum(".repeat(n)),
    ];
    let started = Instant::now();
    on_half_stack(|| {
        for q in &queries {
            let err = promql::parse(q).expect_err("refused");
            assert!(err.msg.contains("nested too deeply"), "{err}");
        }
    });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// `match[]` selectors go through the same parser.
#[test]
fn selectors_are_refused_too() {
    let q = format!("{}up{}", "(".repeat(50_000), ")".repeat(50_000));
    let err = on_half_stack(|| promql::parse_selector(&q).unwrap_err());
    assert!(err.msg.contains("nested too deeply"), "{err}");
}
