//! `promethium-bench rules` and `rules-compare`, for the rule benchmark (`scripts/bench-rules`).
//!
//! `rules` writes the rule file: one recording rule per (family, zone) of the query
//! benchmark's data set (`bench_metric_<f>_total` counters for even f, `bench_metric_<f>`
//! gauges for odd f, ten zones), i.e. 100 families x 10 zones = 1,000 rules, each reading the
//! `targets x series / zones` series of one family in one zone (1,000 at full scale). Ten
//! kinds of expression per metric type (sum, avg, max, min, count, quantile, stddev, by
//! instance, without series, rate, increase, irate, *_over_time), rotated so that every
//! family and every zone gets all of them. The rules are split into groups of equal size,
//! each group holding whole families.
//!
//! `rules-compare` compares the recorded series two servers returned for the same range
//! selector (JSON of `/api/v1/query`, a matrix), pairing samples whose evaluations read data
//! up to grid points a whole number of periods apart (the targets' `--live-period-ticks`):
//! the live data repeats with that period, so such evaluations read identical inputs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context};
use serde_json::Value;

pub struct GenOptions {
    pub families: u32,
    pub zones: u32,
    pub groups: u32,
    pub targets: u32,
    pub series: u32,
    pub interval: String,
}

/// (record name suffix, expression with `M` for the selector, outputs: true = one per target)
const COUNTER_KINDS: [(&str, &str, bool); 10] = [
    ("rate1m:sum", "sum(rate(M[1m]))", false),
    (
        "rate1m:sum_by_instance",
        "sum by (instance) (rate(M[1m]))",
        true,
    ),
    (
        "rate1m:sum_without_series",
        "sum without (series) (rate(M[1m]))",
        true,
    ),
    (
        "rate1m:max_by_instance",
        "max by (instance) (rate(M[1m]))",
        true,
    ),
    ("increase2m:avg", "avg(increase(M[2m]))", false),
    (
        "increase2m:sum_by_instance",
        "sum by (instance) (increase(M[2m]))",
        true,
    ),
    ("rate1m:count_above", "sum(rate(M[1m]) > bool 0.33)", false),
    (
        "rate1m:min_by_instance",
        "min by (instance) (rate(M[1m]))",
        true,
    ),
    (
        "irate1m:sum_by_instance",
        "sum by (instance) (irate(M[1m]))",
        true,
    ),
    ("rate1m:stddev", "stddev(rate(M[1m]))", false),
];

const GAUGE_KINDS: [(&str, &str, bool); 10] = [
    ("avg", "avg(M)", false),
    ("max_by_instance", "max by (instance) (M)", true),
    ("min_without_series", "min without (series) (M)", true),
    ("count_above", "sum(M > bool 500)", false),
    (
        "avg_over_time2m:avg_by_instance",
        "avg by (instance) (avg_over_time(M[2m]))",
        true,
    ),
    ("max_over_time1m:max", "max(max_over_time(M[1m]))", false),
    ("sum_by_instance", "sum by (instance) (M)", true),
    ("p90", "quantile(0.9, M)", false),
    (
        "min_over_time2m:avg_by_instance",
        "avg by (instance) (min_over_time(M[2m]))",
        true,
    ),
    ("count_by_instance", "count by (instance) (M)", true),
];

/// Returns the YAML and the number of series all rules together output.
pub fn generate(o: &GenOptions) -> anyhow::Result<(String, u64)> {
    if o.families == 0 || o.zones == 0 || o.groups == 0 || !o.families.is_multiple_of(o.groups) {
        bail!("--families must be a positive multiple of --groups");
    }
    let per_group = o.families / o.groups;
    let mut out = String::from("groups:\n");
    let mut outputs = 0u64;
    for g in 0..o.groups {
        let _ = writeln!(
            out,
            "  - name: bench-{g}\n    interval: {}\n    rules:",
            o.interval
        );
        for f in g * per_group..(g + 1) * per_group {
            for z in 0..o.zones {
                let counter = f % 2 == 0;
                let (kinds, metric) = if counter {
                    (&COUNTER_KINDS, format!("bench_metric_{f}_total"))
                } else {
                    (&GAUGE_KINDS, format!("bench_metric_{f}"))
                };
                let (suffix, expr, per_target) = kinds[((f / 2 + z) % 10) as usize];
                let selector = format!("{metric}{{zone=\"z{z}\"}}");
                let _ = writeln!(
                    out,
                    "      - record: bench:metric_{f}_z{z}:{suffix}\n        expr: '{}'",
                    expr.replace('M', &selector)
                );
                // A zone holds series s with s % zones == z.
                let in_zone = (o.series + o.zones - 1 - z) / o.zones;
                if in_zone > 0 {
                    outputs += if per_target { u64::from(o.targets) } else { 1 };
                }
            }
        }
    }
    Ok((out, outputs))
}

/// Series key (sorted labels, name included) -> samples (ms, value).
type Matrix = BTreeMap<String, Vec<(i64, f64)>>;

fn parse_matrix(path: &str) -> anyhow::Result<Matrix> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
    if v["status"] != "success" {
        bail!("{path}: query failed: {text:.300}");
    }
    let mut m = Matrix::new();
    for s in v["data"]["result"].as_array().context("no result array")? {
        let labels: BTreeMap<String, String> = s["metric"]
            .as_object()
            .context("metric")?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut samples = Vec::new();
        for p in s["values"].as_array().context("values")? {
            let t = p[0].as_f64().context("timestamp")?;
            let val: f64 = p[1].as_str().context("value")?.parse().context("value")?;
            samples.push(((t * 1000.0).round() as i64, val));
        }
        m.insert(key, samples);
    }
    Ok(m)
}

fn same(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Prints the comparison; returns Err when outputs differ or nothing could be compared.
///
/// A sample evaluated at `t` read the data up to grid point `t / tick_ms`; two evaluations
/// whose grid points are a whole number of periods apart read identical inputs, whatever
/// their offsets within the tick (every window of the rules spans whole ticks, so even
/// `rate`'s extrapolation comes out the same: the gaps at both ends stay under 1.1 ticks).
pub fn compare(ours: &str, theirs: &str, tick_ms: i64, period_ticks: i64) -> anyhow::Result<()> {
    let a = parse_matrix(ours)?;
    let b = parse_matrix(theirs)?;
    let only_ours = a.keys().filter(|k| !b.contains_key(*k)).count();
    let only_theirs = b.keys().filter(|k| !a.contains_key(*k)).count();
    let (mut pairs, mut differ, mut max_rel) = (0u64, 0u64, 0f64);
    let mut example = String::new();
    let mut compared_series = 0u64;
    let mut phases = (BTreeMap::new(), BTreeMap::new());
    for (key, sa) in &a {
        let Some(sb) = b.get(key) else { continue };
        let mut any = false;
        for &(tb, vb) in sb {
            *phases.1.entry(tb.rem_euclid(tick_ms)).or_insert(0u64) += 1;
            for &(ta, va) in sa {
                let (ga, gb) = (ta.div_euclid(tick_ms), tb.div_euclid(tick_ms));
                if (gb - ga).rem_euclid(period_ticks) != 0 {
                    continue;
                }
                any = true;
                pairs += 1;
                if !same(va, vb) {
                    differ += 1;
                    let rel = (va - vb).abs() / va.abs().max(vb.abs()).max(f64::MIN_POSITIVE);
                    if rel > max_rel || example.is_empty() {
                        max_rel = max_rel.max(rel);
                        example = format!("{{{key}}} at {ta} ms: {va} (ours) vs at {tb} ms: {vb}");
                    }
                }
            }
        }
        for &(ta, _) in sa {
            *phases.0.entry(ta.rem_euclid(tick_ms)).or_insert(0u64) += 1;
        }
        if any {
            compared_series += 1;
        }
    }
    let show = |m: &BTreeMap<i64, u64>| {
        m.keys()
            .map(|ms| format!("{:.3}", *ms as f64 / 1000.0))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "# evaluation offsets within each {} s (compared groups): promethium {} s, prometheus {} s",
        tick_ms as f64 / 1000.0,
        show(&phases.0),
        show(&phases.1)
    );
    println!(
        "# outputs: {} recorded series on promethium, {} on prometheus ({} only on promethium, {} only on prometheus); {} series compared, {} sample pairs reading the same data, {} differ",
        a.len(),
        b.len(),
        only_ours,
        only_theirs,
        compared_series,
        pairs,
        differ
    );
    if differ > 0 {
        println!("# largest relative difference {max_rel:e}, e.g. {example}");
        bail!("outputs differ");
    }
    if only_ours + only_theirs > 0 {
        bail!("the servers recorded different series");
    }
    if pairs == 0 {
        bail!("no evaluations of the two servers read the same data");
    }
    println!("# outputs: equal (relative tolerance 1e-9)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousand_rules_in_ten_groups() {
        let (yaml, outputs) = generate(&GenOptions {
            families: 100,
            zones: 10,
            groups: 10,
            targets: 100,
            series: 100,
            interval: "15s".into(),
        })
        .unwrap();
        assert_eq!(yaml.matches("- record:").count(), 1000);
        assert_eq!(yaml.matches("- name: bench-").count(), 10);
        assert!(yaml.contains("expr: 'sum(rate(bench_metric_0_total{zone=\"z0\"}[1m]))'"));
        // Per family, 6 rules output one series per target and 4 a single series.
        assert_eq!(outputs, 100 * (6 * 100 + 4));
    }
}
