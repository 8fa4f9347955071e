//! `pmtool check rules` as a user runs it, against promtool's output and exit codes
//! (`checkRules` in upstream's cmd/promtool/main.go) on upstream's test files.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn pmtool() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pmtool"));
    command.current_dir(conformance_dir());
    command
}

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/rules")
}

fn run(args: &[&str]) -> Output {
    pmtool().args(args).output().expect("pmtool runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn good_file() {
    let out = run(&["check", "rules", "promtool/rules.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Checking promtool/rules.yml\n  SUCCESS: 5 rules found\n\n"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn bad_file_then_good_file() {
    let out = run(&[
        "check",
        "rules",
        "rulefmt/record_and_alert.bad.yaml",
        "promtool/rules.yml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // No blank line after a failed file: promtool goes on to the next one at once.
    assert_eq!(
        text(&out.stdout),
        "Checking rulefmt/record_and_alert.bad.yaml\nChecking promtool/rules.yml\n  SUCCESS: 5 rules found\n\n"
    );
    assert_eq!(
        text(&out.stderr),
        "  FAILED:\nrulefmt/record_and_alert.bad.yaml: 4:17: 5:16: group \"yolo\", rule 1, \"Hello\": only one of 'record' and 'alert' must be set\n"
    );
}

#[test]
fn decode_errors_are_printed_as_upstream() {
    let out = run(&["check", "rules", "rulefmt/bad_field.bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "  FAILED:\nrulefmt/bad_field.bad.yaml: yaml: unmarshal errors:\n  line 8: field annotation not found in type rulefmt.Rule\n"
    );
}

#[test]
fn unknown_fields_can_be_allowed() {
    let strict = run(&["check", "rules", "promtool/rules_extrafields.yml"]);
    assert_eq!(strict.status.code(), Some(1));
    let lenient = run(&[
        "check",
        "rules",
        "--ignore-unknown-fields",
        "promtool/rules_extrafields.yml",
    ]);
    assert_eq!(lenient.status.code(), Some(0), "{}", text(&lenient.stderr));
    assert!(text(&lenient.stdout).contains("  SUCCESS: 5 rules found\n"));
}

#[test]
fn duplicate_rules_lint() {
    let report = "  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: HighRequestLatency\nLabel(s):\n\tseverity: page\nMight cause inconsistency while recording expressions\n";
    // A lint failure alone exits 0, or 3 with --lint-fatal.
    let out = run(&["check", "rules", "promtool/prometheus-rules.lint.yml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), report);
    assert_eq!(
        text(&out.stdout),
        "Checking promtool/prometheus-rules.lint.yml\n\n"
    );
    let fatal = run(&[
        "check",
        "rules",
        "--lint-fatal",
        "promtool/prometheus-rules.lint.yml",
    ]);
    assert_eq!(fatal.status.code(), Some(3));
    let off = run(&[
        "check",
        "rules",
        "--lint=none",
        "promtool/prometheus-rules.lint.yml",
    ]);
    assert_eq!(off.status.code(), Some(0));
    assert!(text(&off.stdout).contains("  SUCCESS: 2 rules found\n"));
    let unknown = run(&[
        "check",
        "rules",
        "--lint=nope",
        "promtool/prometheus-rules.lint.yml",
    ]);
    assert!(text(&unknown.stdout).starts_with("WARNING: unknown lint option: \"nope\"\n"));
}

#[test]
fn standard_input() {
    let mut child = pmtool()
        .args(["check", "rules"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pmtool runs");
    let rules = std::fs::read(conformance_dir().join("rulefmt/noexpr.bad.yaml")).expect("file");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&rules)
        .expect("write");
    let out = child.wait_with_output().expect("pmtool ends");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Checking standard input\n");
    // No file name: upstream's Parse, not ParseFile.
    assert_eq!(
        text(&out.stderr),
        "  FAILED:\n0:0: group \"yolo\", rule 1, \"ylo\": field 'expr' must be set in rule\n"
    );
}

#[test]
fn missing_file_is_an_argument_error() {
    let out = run(&["check", "rules", "no-such-file.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "pmtool: error: path 'no-such-file.yml' does not exist, try --help\n"
    );
}

/// `check config` checks the rule files it names as `check rules` does (Prometheus 3's
/// `CheckConfig` calls the same `checkRules`), with the duplicate-rules lint of `--lint`.
#[test]
fn check_config_checks_its_rule_files() {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "promtool/rules.yml",
        "promtool/rules_duplicates.yml",
        "rulefmt/record_and_alert.bad.yaml",
    ] {
        let name = file.rsplit('/').next().unwrap();
        std::fs::copy(conformance_dir().join(file), dir.path().join(name)).unwrap();
    }
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "rule_files:\n  - rules.yml\n  - rules_duplicates.yml\n",
    )
    .unwrap();
    let check = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pmtool"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("pmtool runs")
    };
    let out = check(&["check", "config", "prometheus.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "Checking rules.yml\n  SUCCESS: 5 rules found\n\nChecking rules_duplicates.yml\n"
        ),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("lint error 1 duplicate rule(s) found."));
    let out = check(&[
        "check",
        "config",
        "--lint=duplicate-rules",
        "--lint-fatal",
        "prometheus.yml",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let out = check(&["check", "config", "--lint=none", "prometheus.yml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");

    std::fs::write(&config, "rule_files:\n  - record_and_alert.bad.yaml\n").unwrap();
    let out = check(&["check", "config", "prometheus.yml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("  FAILED:\n"),
        "{}",
        text(&out.stderr)
    );
    // --syntax-only does not look at rule files.
    let out = check(&["check", "config", "--syntax-only", "prometheus.yml"]);
    assert_eq!(out.status.code(), Some(0));
}
