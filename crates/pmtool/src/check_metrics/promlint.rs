//! client_golang's `promlint` (1.24) rules, one function each, in its order.

use goyaml::go_quote;

use super::{Family, Kind};

/// One promlint problem: the metric family's name and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub(super) metric: String,
    pub(super) text: String,
}

/// A promlint validation: the texts of the problems it finds in one family.
type Validation = fn(&Family) -> Vec<String>;

/// promlint's `defaultValidations`, in its order.
const VALIDATIONS: [Validation; 9] = [
    lint_help,
    lint_metric_units,
    lint_counter,
    lint_histogram_summary_reserved,
    lint_metric_type_in_name,
    lint_reserved_chars,
    lint_camel_case,
    lint_unit_abbreviations,
    lint_duplicate_metric,
];

/// promlint's `Lint`: every validation on every family, then a stable sort by metric and
/// text (repeated problems stay).
pub(super) fn lint_families(families: &[Family]) -> Vec<Problem> {
    let mut problems: Vec<Problem> = families
        .iter()
        .flat_map(|family| {
            VALIDATIONS.iter().flat_map(move |validation| {
                validation(family).into_iter().map(|text| Problem {
                    metric: family.name.clone(),
                    text,
                })
            })
        })
        .collect();
    problems.sort_by(|a, b| a.metric.cmp(&b.metric).then_with(|| a.text.cmp(&b.text)));
    problems
}

/// `LintHelp`: every family has a help text.
fn lint_help(family: &Family) -> Vec<String> {
    if family.has_help {
        Vec::new()
    } else {
        vec!["no help text".to_string()]
    }
}

/// Base units: a unit to the base unit it should be expressed in (promlint's `units`).
const UNITS: [(&str, &str); 24] = [
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

/// promlint's `unitPrefixes`, in its order.
const UNIT_PREFIXES: [&str; 18] = [
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

/// promlint's `unitAbbreviations`, in its order.
const UNIT_ABBREVIATIONS: [&str; 14] = [
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];

fn base_unit(unit: &str) -> Option<&'static str> {
    UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, base)| *base)
}

/// promlint's `metricUnits`: the first `_`-separated part of the name that is a unit, bare
/// or after one of the prefixes, and its base unit.
fn metric_unit(name: &str) -> Option<(&str, &'static str)> {
    name.split('_').find_map(|part| {
        base_unit(part).map(|base| (part, base)).or_else(|| {
            UNIT_PREFIXES.iter().find_map(|prefix| {
                let rest = part.strip_prefix(prefix)?;
                base_unit(rest).map(|base| (part, base))
            })
        })
    })
}

/// `LintMetricUnits`: a unit in the name is a base unit.
fn lint_metric_units(family: &Family) -> Vec<String> {
    match metric_unit(&family.name) {
        Some((unit, base)) if unit != base => {
            vec![format!(
                "use base unit {} instead of {}",
                go_quote(base),
                go_quote(unit)
            )]
        }
        _ => Vec::new(),
    }
}

/// `LintCounter`: counters end in `_total`, and only counters (and untyped families) do.
fn lint_counter(family: &Family) -> Vec<String> {
    let kind = family.kind();
    let total = family.name.ends_with("_total");
    if kind == Kind::Counter && !total {
        vec![r#"counter metrics should have "_total" suffix"#.to_string()]
    } else if kind != Kind::Untyped && kind != Kind::Counter && total {
        vec![r#"non-counter metrics should not have "_total" suffix"#.to_string()]
    } else {
        Vec::new()
    }
}

/// `LintHistogramSummaryReserved`: the `_bucket`, `_count` and `_sum` suffixes and the
/// `le` and `quantile` labels are for histograms and summaries (untyped families are not
/// checked).
fn lint_histogram_summary_reserved(family: &Family) -> Vec<String> {
    let kind = family.kind();
    if kind == Kind::Untyped {
        return Vec::new();
    }
    let histogram = kind == Kind::Histogram;
    let summary = kind == Kind::Summary;
    let name = &family.name;
    let mut problems = Vec::new();
    if !histogram && name.ends_with("_bucket") {
        problems.push(r#"non-histogram metrics should not have "_bucket" suffix"#.to_string());
    }
    if !histogram && !summary && name.ends_with("_count") {
        problems.push(
            r#"non-histogram and non-summary metrics should not have "_count" suffix"#.to_string(),
        );
    }
    if !histogram && !summary && name.ends_with("_sum") {
        problems.push(
            r#"non-histogram and non-summary metrics should not have "_sum" suffix"#.to_string(),
        );
    }
    for metric in &family.metrics {
        for (label, _) in &metric.labels {
            if !histogram && label == "le" {
                problems.push(r#"non-histogram metrics should not have "le" label"#.to_string());
            }
            if !summary && label == "quantile" {
                problems
                    .push(r#"non-summary metrics should not have "quantile" label"#.to_string());
            }
        }
    }
    problems
}

/// `LintMetricTypeInName`: a typed family's name does not hold its type as a word.
fn lint_metric_type_in_name(family: &Family) -> Vec<String> {
    let kind = family.kind();
    if kind == Kind::Untyped {
        return Vec::new();
    }
    let name = family.name.to_lowercase();
    let type_name = kind.lower_name();
    if name.contains(&format!("_{type_name}_")) || name.ends_with(&format!("_{type_name}")) {
        vec![format!("metric name should not include type '{type_name}'")]
    } else {
        Vec::new()
    }
}

/// `LintReservedChars`: colons are for recording rules.
fn lint_reserved_chars(family: &Family) -> Vec<String> {
    if family.name.contains(':') {
        vec!["metric names should not contain ':'".to_string()]
    } else {
        Vec::new()
    }
}

/// promlint's `camelCase` regexp, `[a-z][A-Z]`.
fn has_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// `LintCamelCase`: metric and label names are snake_case (one problem per offending
/// label of every metric).
fn lint_camel_case(family: &Family) -> Vec<String> {
    let mut problems = Vec::new();
    if has_camel_case(&family.name) {
        problems.push("metric names should be written in 'snake_case' not 'camelCase'".to_string());
    }
    for metric in &family.metrics {
        for (label, _) in &metric.labels {
            if has_camel_case(label) {
                problems.push(
                    "label names should be written in 'snake_case' not 'camelCase'".to_string(),
                );
            }
        }
    }
    problems
}

/// `LintUnitAbbreviations`: no abbreviated unit as a word of the name (one problem per
/// abbreviation found).
fn lint_unit_abbreviations(family: &Family) -> Vec<String> {
    let name = family.name.to_lowercase();
    UNIT_ABBREVIATIONS
        .iter()
        .filter(|a| name.contains(&format!("_{a}_")) || name.ends_with(&format!("_{a}")))
        .map(|_| "metric names should not contain abbreviated units".to_string())
        .collect()
}

/// `LintDuplicateMetric`: no two metrics of a family have the same labels in the same
/// order (one problem per metric that a later one repeats).
fn lint_duplicate_metric(family: &Family) -> Vec<String> {
    let metrics = &family.metrics;
    (0..metrics.len())
        .filter(|&i| {
            metrics[i + 1..]
                .iter()
                .any(|m| m.labels == metrics[i].labels)
        })
        .map(|_| "metric not unique".to_string())
        .collect()
}

// ---- --extended ---------------------------------------------------------------------------
