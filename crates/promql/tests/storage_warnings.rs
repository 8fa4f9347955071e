//! Storage's warnings (e.g. a damaged block left out of a select) reach the query's
//! warnings: each once per query however many selects said it, as bare text (no
//! `PromQL warning:` prefix, no position), as Prometheus shows storage warnings.

use model::{Labels, Matcher};
use promql::{AnnotationKind, Engine, EngineOptions, QueryResult, Selected, Storage, Value};

const MINUTE: i64 = 60_000;

/// `up{job="x"}` every 15 s over [0, 60 min); its first half is "in a damaged block":
/// every select overlapping it says so (and its samples are not returned).
struct HalfDamaged;

const WARNING: &str =
    "block 01TESTDAMAGED000000000000 ([0, 1800000) ms) could not be read (bad checksum)";

impl Storage for HalfDamaged {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused> {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
        let damaged = mint < 30 * MINUTE;
        let samples: Vec<(i64, f64)> = (0..240)
            .map(|i| (i * 15_000, 1.0))
            .filter(|(t, _)| *t >= 30 * MINUTE && *t >= mint && *t <= maxt)
            .collect();
        let found = if matchers.iter().all(|m| m.matches_labels(&labels)) && !samples.is_empty() {
            if !admit(&labels, samples.len()) {
                return Err(tsdb::Refused);
            }
            vec![tsdb::SeriesData::floats(labels, samples)]
        } else {
            Vec::new()
        };
        let warnings = if damaged {
            vec![WARNING.to_string()]
        } else {
            Vec::new()
        };
        Ok((found, warnings))
    }

    fn select_last(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused> {
        promql::keep_last(self.select(matchers, mint, maxt, admit))
    }
}

/// The same data with nothing damaged.
struct Healthy;

impl Storage for Healthy {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused> {
        let (found, _) = HalfDamaged.select(matchers, mint, maxt, admit)?;
        Ok((found, Vec::new()))
    }

    fn select_last(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<Selected, tsdb::Refused> {
        promql::keep_last(self.select(matchers, mint, maxt, admit))
    }
}

fn warnings(result: &QueryResult, query: &str) -> Vec<String> {
    result
        .annotations
        .iter()
        .filter(|a| a.kind == AnnotationKind::Warning)
        .map(|a| a.text_with_position(query))
        .collect()
}

#[test]
fn a_storage_warning_is_passed_on_once_as_bare_text() {
    let engine = Engine::new(EngineOptions::default());
    // Two selectors, a range selector and a subquery: many selects, all overlapping the
    // damaged half.
    let query =
        "sum(up) + count(up) + sum(max_over_time(up[10m])) + max(max_over_time(up[20m:1m]))";
    let range = engine
        .range(&HalfDamaged, query, 0, 40 * MINUTE, MINUTE)
        .unwrap();
    assert_eq!(warnings(&range, query), [WARNING]);
    let a = &range.annotations[0];
    assert!(a.from_storage);
    assert_eq!(a.text(), WARNING);
    // The healthy half still answers.
    match &range.value {
        Value::Matrix(m) => assert!(!m.is_empty()),
        other => panic!("{other:?}"),
    }

    // An instant selector (the select-last path) over the damaged half: empty, warned.
    let instant = engine.instant(&HalfDamaged, "up", 10 * MINUTE).unwrap();
    assert_eq!(instant.value, Value::Vector(Vec::new()));
    assert_eq!(warnings(&instant, "up"), [WARNING]);

    // Only the healthy half: nothing to say.
    let clean = engine.instant(&HalfDamaged, "up", 50 * MINUTE).unwrap();
    assert!(clean.annotations.is_empty(), "{:?}", clean.annotations);
}

#[test]
fn a_storage_without_warnings_says_nothing() {
    let engine = Engine::new(EngineOptions::default());
    let result = engine
        .range(
            &Healthy,
            "max_over_time(up[5m]) + up",
            0,
            40 * MINUTE,
            MINUTE,
        )
        .unwrap();
    assert!(result.annotations.is_empty(), "{:?}", result.annotations);
}
