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
    assert_eq!(c.inactive_sections(), vec!["rule_files", "alerting"]);
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
        prom.scrape_protocols.as_deref().unwrap(),
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
    assert_eq!(node.static_configs[0].labels["env"], "prod");
    assert_eq!(node.relabel_configs[0].action, RelabelAction::Replace);
    assert!(node.relabel_configs[0].regex.regex().is_match("host:9100"));
    assert_eq!(node.relabel_configs[1].action, RelabelAction::LabelDrop);
    assert_eq!(node.metric_relabel_configs[0].action, RelabelAction::Drop);
    let auth = node.basic_auth.as_ref().unwrap();
    assert_eq!(
        auth.password_file.as_deref(),
        Some("/etc/prometheus/secrets/node.pass")
    );
    assert_eq!(
        node.tls_config.as_ref().unwrap().ca_file.as_deref(),
        Some("/etc/prometheus/ca.pem")
    );
    assert_eq!(node.body_size_limit.unwrap().0, 10 << 20);
    assert_eq!(node.sample_limit, Some(5000));
}

#[test]
fn empty_file_is_all_defaults() {
    let c = parse("").unwrap();
    assert!(c.scrape_configs.is_empty());
    assert_eq!(c.global.evaluation_interval.0, Duration::from_secs(60));
}

#[test]
fn unknown_keys_and_bad_values_name_line_and_field() {
    let e = err("global:\n  scrape_interval: 15s\n  scrape_intervall: 1m\n");
    assert!(
        e.starts_with(
            "parsing YAML file prometheus.yml: line 3 column 3: unknown field `scrape_intervall`"
        ),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    scrape_interval: 15x\n");
    assert!(
        e.contains("line 3") && e.contains("not a valid duration string: \"15x\""),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '('\n        target_label: x\n");
    assert!(
        e.contains("line 4") && e.contains("invalid regular expression \"(\""),
        "{e}"
    );
    let e =
        err("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: explode\n");
    assert!(
        e.contains("line 4") && e.contains("unknown relabel action \"explode\""),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    job_name: b\n");
    assert!(e.contains("line 3") && e.contains("duplicate"), "{e}");
    let e = err("scrape_configs:\n  - job_name: a\n    body_size_limit: 10 parsecs\n");
    assert!(e.contains("line 3") && e.contains("invalid size"), "{e}");
    let e = err("global: [1, 2]\n");
    assert!(e.contains("line 1"), "{e}");
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
            "at most one of basic_auth password & password_file must be configured",
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
        ("scrape_configs:\n  - job_name: a\n    scheme: ftp\n", "unknown scheme \"ftp\""),
        (
            "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n",
            "kubernetes_sd_configs is not supported by promethium yet",
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
    assert_eq!(job.static_configs[0].targets, vec!["localhost:9090"]);
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
    with_secret.scrape_configs[1]
        .basic_auth
        .as_mut()
        .unwrap()
        .password = Some("hunter2".into());
    with_secret.scrape_configs[1]
        .basic_auth
        .as_mut()
        .unwrap()
        .password_file = None;
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
