//! `pmtool test rules` against upstream's verdicts: the cases of `TestRulesUnitTest` and
//! `TestRulesUnitTestRun` (cmd/promtool/unittest_test.go, kept in
//! shared/conformance/rules/upstream_unittest_test.go.txt) are read from the Go source and
//! run through the binary on upstream's test data, and each exit code must be upstream's.
//! The cases where pmtool differs are listed in [`KNOWN_DEVIATIONS`], by name, and are
//! checked to still differ (so that the list is kept honest).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/rules")
}

fn pmtool(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pmtool"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run pmtool")
}

/// Upstream cases pmtool does not give upstream's verdict for, with the reason.
const KNOWN_DEVIATIONS: &[(&str, &str)] = &[
    (
        "Passing Unit Tests",
        "unittest.yml has native histogram input series, which pmtool cannot store; the \
         rest of the file passes (see `unittest_without_histograms`)",
    ),
    (
        "Disabled feature (@ modifier)",
        "upstream calls RulesUnitTest with the `@` modifier disabled, which promtool's \
         command line never does (it enables it); pmtool's engine always has it",
    ),
    (
        "Disabled feature (negative offset)",
        "upstream calls RulesUnitTest with negative offsets disabled, which promtool's \
         command line never does (it enables them); pmtool's engine always has them",
    ),
];

#[derive(Debug)]
struct Case {
    name: String,
    files: Vec<String>,
    run: Vec<String>,
    ignore_unknown_fields: bool,
    want: i32,
}

/// The `[]string{"a", "b"}` after `key:` in `block`.
fn string_list(block: &str, key: &str) -> Vec<String> {
    let re = regex::Regex::new(&format!(r"\b{key}:\s*\[\]string\{{([^}}]*)\}}")).unwrap();
    let Some(c) = re.captures(block) else {
        return Vec::new();
    };
    regex::Regex::new(r#""([^"]*)""#)
        .unwrap()
        .captures_iter(&c[1])
        .map(|m| m[1].to_string())
        .collect()
}

/// The table cases of the two upstream tests.
fn upstream_cases() -> Vec<Case> {
    let src = std::fs::read_to_string(conformance_dir().join("upstream_unittest_test.go.txt"))
        .expect("read upstream_unittest_test.go.txt");
    let name_re = regex::Regex::new(r#"(?m)^\t\t\{\n\t\t\tname:\s*"([^"]*)","#).unwrap();
    let want_re = regex::Regex::new(r"\bwant:\s*(\d+)").unwrap();
    let starts: Vec<(usize, String)> = name_re
        .captures_iter(&src)
        .map(|c| (c.get(0).unwrap().start(), c[1].to_string()))
        .collect();
    let mut cases = Vec::new();
    for (i, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(src.len(), |s| s.0);
        let block = &src[*start..end];
        // The case ends at its `want`.
        let want = want_re.captures(block).expect("case has a want");
        let block = &block[..want.get(0).unwrap().end()];
        cases.push(Case {
            name: name.clone(),
            files: string_list(block, "files"),
            run: string_list(block, "run"),
            ignore_unknown_fields: block.contains("ignoreUnknownFields: true"),
            want: want[1].parse().unwrap(),
        });
    }
    cases
}

fn run_case(case: &Case, dir: &Path) -> Output {
    let mut args: Vec<String> = vec!["test".into(), "rules".into()];
    for r in &case.run {
        args.push("--run".into());
        args.push(r.clone());
    }
    if case.ignore_unknown_fields {
        args.push("--ignore-unknown-fields".into());
    }
    args.extend(case.files.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    pmtool(&args, dir)
}

#[test]
fn upstream_unit_test_verdicts() {
    // Upstream's paths are `./testdata/X`; the files are in `promtool/`, so run from a
    // directory where `testdata` is that directory.
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        conformance_dir().join("promtool").canonicalize().unwrap(),
        tmp.path().join("testdata"),
    )
    .unwrap();
    let cases = upstream_cases();
    assert!(
        cases.len() >= 20,
        "read only {} upstream cases",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut agreed = 0;
    for case in &cases {
        assert!(!case.files.is_empty(), "{case:?} has no files");
        let out = run_case(case, tmp.path());
        let code = out.status.code().expect("exit code");
        let deviation = KNOWN_DEVIATIONS.iter().find(|(n, _)| *n == case.name);
        match (code == case.want, deviation) {
            (true, None) => agreed += 1,
            (false, Some(_)) => {}
            (true, Some((_, why))) => failures.push(format!(
                "{:?} is listed as a known deviation ({why}) but now gives upstream's exit code {code}: take it off the list",
                case.name
            )),
            (false, None) => failures.push(format!(
                "{:?}: exit code {code}, upstream {}\nstdout:\n{}\nstderr:\n{}",
                case.name,
                case.want,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
    for (name, _) in KNOWN_DEVIATIONS {
        assert!(
            cases.iter().any(|c| c.name == *name),
            "known deviation {name:?} is not an upstream case"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(agreed + KNOWN_DEVIATIONS.len(), cases.len());
    eprintln!(
        "{agreed} of {} upstream cases agree; {} known deviations",
        cases.len(),
        KNOWN_DEVIATIONS.len()
    );
}

/// upstream's unittest.yml without its native histogram series and tests passes.
#[test]
fn unittest_without_histograms() {
    let src = conformance_dir().join("promtool");
    let text = std::fs::read_to_string(src.join("unittest.yml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    let mut dropped = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("      - series: test_histogram") {
            // The series line and its values line.
            i += 2;
            dropped += 1;
            continue;
        }
        if l.starts_with("      - expr: test_histogram") {
            // expr, eval_time, exp_samples, labels, histogram.
            i += 5;
            dropped += 1;
            continue;
        }
        kept.push(l);
        i += 1;
    }
    assert_eq!(dropped, 6, "unittest.yml changed shape");
    assert!(!kept.iter().any(|l| l.contains("{{")));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("unittest.yml"), kept.join("\n")).unwrap();
    std::fs::copy(src.join("rules.yml"), tmp.path().join("rules.yml")).unwrap();
    let out = pmtool(&["test", "rules", "unittest.yml"], tmp.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "  SUCCESS\n\n");
}

/// promtool's failure report, word for word, for upstream's failing.yml.
#[test]
fn failure_report_text() {
    let dir = conformance_dir().join("promtool");
    let out = pmtool(&["test", "rules", "failing.yml"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected_start = "  FAILED:
    name: Failing test,
    alertname: Test, time: 0s, 
        exp:[
            0:
              Labels:{alertname=\"Test\"}
              Annotations:{}
            ], 
        got:[]
    expr: \"test\", time: 0s,
        exp: {__name__=\"test\"} 1E+00
        got: {__name__=\"test\"} 0E+00
";
    assert!(
        stderr.starts_with(expected_start),
        "stderr:\n{stderr}\nexpected to start with:\n{expected_start}"
    );
    // Annotations are expanded as Go templates (`{{ $labels.instance }}`).
    assert!(
        stderr.contains(
            "Annotations:{description=\" of job test has been down for more than 5 minutes.\", summary=\"Instance  down\"}"
        ),
        "{stderr}"
    );
    // Each error is followed by a blank line on stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("\n"), "{stdout:?}");
}

/// A missing alertname, a repeated group in `group_eval_order`, an unknown field, and
/// a rule evaluation error are reported as upstream reports them.
#[test]
fn file_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).unwrap();
    write(
        "rules.yml",
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n",
    );
    write(
        "noname.yml",
        "rule_files: [rules.yml]\ntests:\n- name: t\n  alert_rule_test:\n  - eval_time: 5m\n",
    );
    write(
        "order.yml",
        "rule_files: [rules.yml]\ngroup_eval_order: [g, g]\ntests: []\n",
    );
    write("unknown.yml", "rule_files: [rules.yml]\nfoo: 1\n");
    write(
        "noglob.yml",
        "rule_files: ['nothing*.yml']\ntests:\n- promql_expr_test:\n  - expr: vector(1)\n    exp_samples:\n    - value: 1\n",
    );
    let err = |file: &str| {
        let out = pmtool(&["test", "rules", file], tmp.path());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        err("noname.yml"),
        (
            Some(1),
            "  FAILED:\nan item under alert_rule_test misses required attribute alertname at eval_time 5m (in TestGroup t)\n".to_string()
        )
    );
    assert_eq!(
        err("order.yml"),
        (
            Some(1),
            "  FAILED:\ngroup name repeated in evaluation order: g\n".to_string()
        )
    );
    assert_eq!(
        err("unknown.yml"),
        (
            Some(1),
            "  FAILED:\nyaml: unmarshal errors:\n  line 2: field foo not found in type main.unitTestFile\n".to_string()
        )
    );
    assert_eq!(
        err("noglob.yml"),
        (
            Some(0),
            "  WARNING: no file match pattern nothing*.yml\n".to_string()
        )
    );
}
