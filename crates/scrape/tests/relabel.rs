//! Relabeling and target labels, with cases from Prometheus's own relabel tests.

use std::path::Path;

use model::Labels;
use promconfig::{Config, RelabelConfig, ScrapeConfig};

fn job(extra: &str) -> ScrapeConfig {
    let yaml = format!("scrape_configs:\n  - job_name: test\n{extra}");
    let config =
        Config::parse(&yaml, "test.yml", Path::new("")).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    config.scrape_configs[0].clone()
}

fn steps(yaml: &str) -> Vec<RelabelConfig> {
    let indented: String = yaml.lines().map(|l| format!("      {l}\n")).collect();
    job(&format!("    relabel_configs:\n{indented}")).relabel_configs
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn run(input: &[(&str, &str)], yaml: &str) -> Option<Labels> {
    scrape::relabel(&labels(input), &steps(yaml))
}

const ABC: &[(&str, &str)] = &[("a", "foo"), ("b", "bar"), ("c", "baz")];

#[test]
fn replace() {
    let out = run(
        ABC,
        "- source_labels: [a]\n  regex: f(.*)\n  target_label: d\n  replacement: ch${1}-ch${1}\n",
    );
    assert_eq!(out.unwrap().get("d"), Some("choo-choo"));
    let out = run(ABC, "- source_labels: [a, b]\n  regex: f(.*);(.*)r\n  target_label: a\n  replacement: b${1}${2}m\n");
    assert_eq!(out.unwrap().get("a"), Some("boobam"));
    // No match: nothing changes.
    let out = run(
        ABC,
        "- source_labels: [a]\n  regex: nomatch\n  target_label: d\n",
    );
    assert_eq!(out.unwrap(), labels(ABC));
    // Targets from captures; an empty replacement deletes.
    let out = run(
        ABC,
        "- source_labels: [a]\n  regex: (f)(.*)\n  target_label: ${1}${2}\n  replacement: x\n",
    );
    assert_eq!(out.unwrap().get("foo"), Some("x"));
    let out = run(
        ABC,
        "- source_labels: [a]\n  regex: (.*)\n  target_label: b\n  replacement: ''\n",
    );
    assert_eq!(out.unwrap().get("b"), None);
    // Go's template rule: $1x names group "1x", which does not exist.
    let out = run(
        ABC,
        "- source_labels: [a]\n  regex: (.*)\n  target_label: d\n  replacement: $1x\n",
    );
    assert_eq!(out.unwrap().get("d"), None);
    // The fast path: a constant value for a label.
    let out = run(ABC, "- target_label: env\n  replacement: prod\n");
    assert_eq!(out.unwrap().get("env"), Some("prod"));
}

#[test]
fn keep_and_drop() {
    assert!(run(
        ABC,
        "- source_labels: [a]\n  regex: .*o.*\n  action: drop\n"
    )
    .is_none());
    assert!(run(
        ABC,
        "- source_labels: [a]\n  regex: .*x.*\n  action: drop\n"
    )
    .is_some());
    assert!(run(
        ABC,
        "- source_labels: [c]\n  regex: no-match\n  action: keep\n"
    )
    .is_none());
    assert!(run(ABC, "- source_labels: [c]\n  regex: ba.\n  action: keep\n").is_some());
    // Anchored: "ba" alone does not match "baz".
    assert!(run(ABC, "- source_labels: [c]\n  regex: ba\n  action: keep\n").is_none());
    // A missing label is the empty string.
    assert!(run(ABC, "- source_labels: [zzz]\n  regex: ''\n  action: keep\n").is_some());
}

#[test]
fn keepequal_and_dropequal() {
    let same = &[("a", "x"), ("b", "x")];
    assert!(run(
        same,
        "- source_labels: [a]\n  target_label: b\n  action: keepequal\n"
    )
    .is_some());
    assert!(run(
        ABC,
        "- source_labels: [a]\n  target_label: b\n  action: keepequal\n"
    )
    .is_none());
    assert!(run(
        same,
        "- source_labels: [a]\n  target_label: b\n  action: dropequal\n"
    )
    .is_none());
    assert!(run(
        ABC,
        "- source_labels: [a]\n  target_label: b\n  action: dropequal\n"
    )
    .is_some());
}

#[test]
fn hashmod_matches_prometheus() {
    let out = run(
        ABC,
        "- source_labels: [c]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n",
    );
    assert_eq!(out.unwrap().get("d"), Some("976"));
}

#[test]
fn label_map_drop_keep() {
    let input = &[("a", "foo"), ("b1", "bar"), ("b2", "baz")];
    let out = run(
        input,
        "- regex: (b.*)\n  replacement: bar_${1}\n  action: labelmap\n",
    )
    .unwrap();
    assert_eq!(
        (out.get("bar_b1"), out.get("bar_b2"), out.get("b1")),
        (Some("bar"), Some("baz"), Some("bar"))
    );
    let out = run(input, "- regex: b.*\n  action: labeldrop\n").unwrap();
    assert_eq!(out, labels(&[("a", "foo")]));
    let out = run(input, "- regex: b.*\n  action: labelkeep\n").unwrap();
    assert_eq!(out, labels(&[("b1", "bar"), ("b2", "baz")]));
    // Dropping every label drops the series.
    assert!(run(input, "- regex: .*\n  action: labeldrop\n").is_none());
}

#[test]
fn lower_and_upper_case() {
    let input = &[("a", "FooBar")];
    let out = run(input, "- source_labels: [a]\n  target_label: lower\n  action: lowercase\n- source_labels: [a]\n  target_label: upper\n  action: uppercase\n").unwrap();
    assert_eq!(
        (out.get("lower"), out.get("upper")),
        (Some("foobar"), Some("FOOBAR"))
    );
}

#[test]
fn target_labels_like_populate_labels() {
    let job = job("    params:\n      module: [http_2xx]\n    relabel_configs:\n      - source_labels: [__address__]\n        regex: (.*):9100\n        target_label: host\n");
    let discovered = labels(&[("__address__", "node1:9100"), ("env", "prod")]);
    let (target, pre) = scrape::target_labels(&job, &discovered).unwrap();
    let target = target.unwrap();
    assert_eq!(target.get("job"), Some("test"));
    assert_eq!(target.get("instance"), Some("node1:9100"));
    assert_eq!(target.get("host"), Some("node1"));
    assert_eq!(target.get("env"), Some("prod"));
    assert_eq!(target.get("__address__"), None, "__ labels are removed");
    assert_eq!(pre.get("__param_module"), Some("http_2xx"));
    assert_eq!(pre.get("__scrape_interval__"), Some("1m"));
    assert_eq!(pre.get("__metrics_path__"), Some("/metrics"));
    assert_eq!(pre.get("__scheme__"), Some("http"));

    let dropping = job_with_drop();
    let (none, _) = scrape::target_labels(&dropping, &discovered).unwrap();
    assert!(none.is_none());

    let bad = labels(&[("__address__", "http://node1:9100/metrics")]);
    let err = scrape::target_labels(&job, &bad).unwrap_err();
    assert!(err.to_string().contains("is not a valid hostname"), "{err}");
}

fn job_with_drop() -> ScrapeConfig {
    job("    relabel_configs:\n      - source_labels: [env]\n        regex: prod\n        action: drop\n")
}
