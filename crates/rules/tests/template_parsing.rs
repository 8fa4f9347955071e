//! Upstream's `testTemplateParsing` at load time: an alerting rule's labels and
//! annotations must parse as the Go templates they are expanded as, with promtool's
//! error texts.

use std::path::Path;
use std::process::Command;

const RULES_BAD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/rules/promtool/rules-bad.yml"
);

fn errors(yaml: &str) -> Vec<String> {
    match rules::parse_bytes(yaml.as_bytes()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn alert(labels: &str, annotations: &str) -> String {
    format!(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    labels:\n{labels}    annotations:\n{annotations}"
    )
}

#[test]
fn bad_templates_are_refused_with_upstreams_words() {
    assert_eq!(
        errors(&alert(
            "      severity: '{{$this_is_wrong}}'\n",
            "      a: '{{$labels.quantile * 100}}'\n      b: '{{ nosuchfunc }}'\n      c: '{{ humanize $value }} {{ query \"up\" | first | value }}'\n"
        )),
        [
            "group \"g\", rule 1, \"A\": label \"severity\": template: __alert_A:1: undefined variable \"$this_is_wrong\"",
            "group \"g\", rule 1, \"A\": annotation \"a\": template: __alert_A:1: unexpected \"*\" in operand",
            "group \"g\", rule 1, \"A\": annotation \"b\": template: __alert_A:1: function \"nosuchfunc\" not defined",
        ]
    );
    // Only alerting rules' templates are parsed; execution errors wait for evaluation.
    assert!(errors(&alert(
        "",
        "      x: '{{ humanize \"x\" }}{{ .Nope.Deeper }}'\n"
    ))
    .is_empty());
    assert!(errors(
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    labels:\n      x: '{{'\n"
    )
    .is_empty());
    // `tmpl` exists only for console templates (HTML mode) upstream.
    assert_eq!(
        errors(&alert("", "      x: '{{ tmpl \"a\" . }}'\n")),
        ["group \"g\", rule 1, \"A\": annotation \"x\": template: __alert_A:1: function \"tmpl\" not defined"]
    );
}

/// `promtool check rules rules-bad.yml` prints, on stderr, `  FAILED:` and this line (the
/// same in Prometheus 2.42 and 3.x; 2.42 also prints an empty line on stdout).
#[test]
fn rules_bad_yml_as_promtool_reports_it() {
    let got: Vec<String> = rules::parse_file(Path::new(RULES_BAD))
        .expect_err("refused")
        .iter()
        .map(ToString::to_string)
        .collect();
    let want = format!(
        "{RULES_BAD}: group \"alerts\", rule 1, \"InstanceDown\": annotation \"summary\": template: __alert_InstanceDown:1: undefined variable \"$label\""
    );
    assert_eq!(got, std::slice::from_ref(&want));
    let promtool = Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        eprintln!("no {}: not compared with promtool", promtool.display());
        return;
    }
    let out = Command::new(promtool)
        .args(["check", "rules", RULES_BAD])
        .output()
        .expect("promtool runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("  FAILED:\n{want}\n")
    );
}
