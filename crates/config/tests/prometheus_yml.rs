//! prometheus.yml as users write it: defaults, strictness with positions, Prometheus's checks.

use std::path::Path;
use std::time::Duration;

use promconfig::{Config, ConfigError, RelabelAction};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "prometheus.yml", Path::new("/etc/prometheus"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

const TYPICAL: &str = r#"# A typical file, as distributions ship it.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
  external_labels:
    monitor: 'example'

alerting:
  alertmanagers:
  - static_configs:
    - targets: ['localhost:9093']

rule_files:
  - "first_rules.yml"

scrape_configs:
  - job_name: 'prometheus'
    scrape_interval: 5s
    scrape_timeout: 5s
    static_configs:
      - targets: ['localhost:9090']

  - job_name: node
    static_configs:
      - targets: ['localhost:9100']
        labels:
          env: prod
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*):9100'
        target_label: host
        replacement: '$1'
      - action: LabelDrop
        regex: tmp_.*
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    basic_auth:
      username: prom
      password_file: secrets/node.pass
    tls_config:
      ca_file: ca.pem
      insecure_skip_verify: false
    body_size_limit: 10MB
    sample_limit: 5000
"#;

#[test]
fn a_typical_file_with_defaults_filled() {
    let c = parse(TYPICAL).unwrap();
    assert_eq!(c.global.scrape_interval.0, Duration::from_secs(15));
    assert_eq!(c.global.scrape_timeout.0, Duration::from_secs(10));
    assert_eq!(c.global.external_labels["monitor"], "example");
    assert_eq!(
        c.features(),
        vec![
            "scrape_configs[prometheus].static_configs",
            "scrape_configs[node].static_configs",
            "alerting",
            "rule_files"
        ]
    );
    assert_eq!(c.rule_files, vec!["/etc/prometheus/first_rules.yml"]);
    let prom = &c.scrape_configs[0];
    assert_eq!(
        (prom.interval(), prom.timeout()),
        (Duration::from_secs(5), Duration::from_secs(5))
    );
    assert_eq!(
        (prom.metrics_path.as_str(), prom.scheme.as_str()),
        ("/metrics", "http")
    );
    assert!(prom.honor_timestamps && !prom.honor_labels && prom.enable_compression);
    assert_eq!(
        prom.scrape_protocols
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        [
            "OpenMetricsText1.0.0",
            "OpenMetricsText0.0.1",
            "PrometheusText1.0.0",
            "PrometheusText0.0.4"
        ]
    );
    let node = &c.scrape_configs[1];
    assert_eq!(
        (node.interval(), node.timeout()),
        (Duration::from_secs(15), Duration::from_secs(10))
    );
    let group = node.sd.static_configs[0].as_ref().unwrap();
    assert_eq!(group.labels[&promconfig::LabelName("env".into())], "prod");
    assert_eq!(node.relabel_configs[0].action, RelabelAction::Replace);
    assert!(node.relabel_configs[0].regex.regex().is_match("host:9100"));
    assert_eq!(node.relabel_configs[1].action, RelabelAction::LabelDrop);
    assert_eq!(node.metric_relabel_configs[0].action, RelabelAction::Drop);
    let auth = node.http.basic_auth.as_ref().unwrap();
    assert_eq!(auth.password_file, "/etc/prometheus/secrets/node.pass");
    assert_eq!(node.http.tls_config.ca_file, "/etc/prometheus/ca.pem");
    assert_eq!(node.body_size_limit.0, 10 << 20);
    assert_eq!(node.sample_limit, 5000);
}

#[test]
fn empty_file_is_all_defaults() {
    let c = parse("").unwrap();
    assert!(c.scrape_configs.is_empty());
    assert_eq!(c.global.evaluation_interval.0, Duration::from_secs(60));
}

#[test]
fn unknown_keys_and_bad_values_as_yaml_v2_reports_them() {
    let e = err("global:\n  scrape_interval: 15s\n  scrape_intervall: 1m\n");
    assert_eq!(
        e,
        "parsing YAML file prometheus.yml: yaml: unmarshal errors:\n  line 3: field scrape_intervall not found in type config.plain"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    scrape_interval: 15x\n");
    assert!(e.contains("not a valid duration string: \"15x\""), "{e}");
    let e = err("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '('\n        target_label: x\n");
    assert!(e.contains("error parsing regexp"), "{e}");
    let e =
        err("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: explode\n");
    assert!(e.contains("unknown relabel action \"explode\""), "{e}");
    let e = err("scrape_configs:\n  - job_name: a\n    job_name: b\n");
    assert!(
        e.contains("line 3: field job_name already set in type config.ScrapeConfig"),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    body_size_limit: 10 parsecs\n");
    assert!(e.contains("units: "), "{e}");
    let e = err("global: [1, 2]\n");
    assert!(
        e.contains("line 1: cannot unmarshal !!seq into config.plain"),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    sample_limit: lots\n");
    assert!(
        e.contains("line 3: cannot unmarshal !!str `lots` into uint64"),
        "{e}"
    );
}

/// The prometheus.yml that ships with Prometheus: lists left empty with only comments
/// under them are YAML nulls, which Go reads as empty lists.
pub const UPSTREAM_PROMETHEUS_YML: &str = r#"# my global config
global:
  scrape_interval: 15s # Set the scrape interval to every 15 seconds. Default is every 1 minute.
  evaluation_interval: 15s # Evaluate rules every 15 seconds. The default is every 1 minute.
  # scrape_timeout is set to the global default (10s).

# Alertmanager configuration
alerting:
  alertmanagers:
    - static_configs:
        - targets:
          # - alertmanager:9093

# Load rules once and periodically evaluate them according to the global 'evaluation_interval'.
rule_files:
  # - "first_rules.yml"
  # - "second_rules.yml"

# A scrape configuration containing exactly one endpoint to scrape:
# Here it's Prometheus itself.
scrape_configs:
  # The job name is added as a label `job=<job_name>` to any timeseries scraped from this config.
  - job_name: "prometheus"

    # metrics_path defaults to '/metrics'
    # scheme defaults to 'http'.

    static_configs:
      - targets: ["localhost:9090"]
       # The label name is added as a label `app=<label_name>` to any timeseries scraped from this config.
        labels:
          app: "prometheus"
"#;

#[test]
fn prometheus_shipped_config_and_nulls() {
    let c = parse(UPSTREAM_PROMETHEUS_YML).unwrap();
    assert!(c.rule_files.is_empty());
    let am = &c.alerting.alertmanagers[0];
    assert!(am.sd.static_configs[0].as_ref().unwrap().targets.is_empty());
    assert_eq!(c.scrape_configs[0].interval(), Duration::from_secs(15));
    // Every list or map left empty is null, and null is the zero value.
    let c = parse("scrape_configs:\n  - job_name: x\n    static_configs:\n      - targets:\n        labels:\n    relabel_configs:\n").unwrap();
    assert!(c.scrape_configs[0].relabel_configs.is_empty());
    let e = err("scrape_configs:\n  -\n");
    assert!(e.contains("empty or null scrape config section"), "{e}");
}

#[test]
fn anchors_and_merge_keys() {
    let c = parse("x-defaults: &d {scrape_interval: 5s}\n").unwrap_err();
    assert!(c.to_string().contains("field x-defaults not found"), "{c}");
    let c = parse(
        "scrape_configs:\n  - &base\n    job_name: a\n    scrape_interval: 5s\n  - <<: *base\n    job_name: b\n",
    )
    .unwrap();
    assert_eq!(c.scrape_configs[1].job_name, "b");
    assert_eq!(c.scrape_configs[1].interval(), Duration::from_secs(5));
}

#[test]
fn short_global_interval_shortens_the_default_timeout() {
    for (interval, expected) in [("5s", 5), ("1s", 1), ("15s", 10)] {
        let c = parse(&format!(
            "global:\n  scrape_interval: {interval}\nscrape_configs:\n  - job_name: a\n"
        ))
        .unwrap();
        assert_eq!(
            c.global.scrape_timeout.0,
            Duration::from_secs(expected),
            "{interval}"
        );
        assert_eq!(
            c.scrape_configs[0].timeout(),
            Duration::from_secs(expected),
            "{interval}"
        );
    }
}

#[test]
fn prometheus_checks_with_its_messages() {
    let cases = [
        ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "found multiple scrape configs with job name \"a\""),
        ("scrape_configs:\n  - job_name: ''\n", "job_name is empty"),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
            "scrape timeout greater than scrape interval for scrape config with job name \"a\"",
        ),
        ("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n", "global scrape timeout greater than scrape interval"),
        (
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [x]\n",
            "relabel configuration for replace action requires 'target_label' value",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: t\n",
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: labeldrop\n        regex: x\n        target_label: y\n",
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: keepequal\n        source_labels: [a]\n        target_label: b\n        regex: x\n",
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n      password: p\n      password_file: f\n",
            "at most one of basic_auth password, password_file & password_ref must be configured",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    authorization:\n      type: Basic\n      credentials: x\n",
            "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: ['targets/*.txt']\n",
            "path name \"targets/*.txt\" is not valid for file discovery",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusText0.0.4, Carrier-Pigeon]\n",
            "unknown scrape protocol Carrier-Pigeon",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pods\n",
            "role",
        ),
    ];
    for (text, message) in cases {
        let e = err(text);
        assert!(e.contains(message), "{text:?}\n  got: {e}");
    }
}

#[test]
fn timeout_defaults_to_the_interval_when_shorter() {
    let c = parse("scrape_configs:\n  - job_name: fast\n    scrape_interval: 5s\n").unwrap();
    assert_eq!(c.scrape_configs[0].timeout(), Duration::from_secs(5));
}

#[test]
fn self_scrape_default() {
    let c = Config::self_scrape("localhost:9090");
    let job = &c.scrape_configs[0];
    assert_eq!(job.job_name, "prometheus");
    assert_eq!(job.interval(), Duration::from_secs(15));
    assert_eq!(
        job.sd.static_configs[0].as_ref().unwrap().targets,
        vec!["localhost:9090"]
    );
}

#[test]
fn missing_file_reads_like_go() {
    let e = Config::load(Path::new("/nonexistent/prometheus.yml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "open /nonexistent/prometheus.yml: no such file or directory"
    );
}

#[test]
fn rendered_config_hides_secrets_and_parses_back() {
    let c = parse(TYPICAL).unwrap();
    let mut with_secret = c.clone();
    let auth = with_secret.scrape_configs[1]
        .http
        .basic_auth
        .as_mut()
        .unwrap();
    auth.password = promconfig::Secret("hunter2".into());
    auth.password_file.clear();
    let yaml = with_secret.to_yaml();
    assert!(!yaml.contains("hunter2"), "{yaml}");
    assert!(yaml.contains("<secret>"), "{yaml}");
    assert!(yaml.contains("scrape_interval: 15s"), "{yaml}");
    assert!(yaml.contains("metrics_path: /metrics"), "{yaml}");
    assert!(yaml.contains("body_size_limit: 10MiB"), "{yaml}");
    let back = Config::parse(&c.to_yaml(), "rendered.yml", Path::new("/"))
        .unwrap_or_else(|e| panic!("{e}\n{}", c.to_yaml()));
    assert_eq!(back.scrape_configs.len(), 2);
    assert_eq!(
        back.scrape_configs[1].relabel_configs[1].action,
        RelabelAction::LabelDrop
    );
}
