//! Upstream's rule files and verdicts: every file of ../shared/conformance/rules/rulefmt
//! against the verdicts of upstream's `rulefmt_test.go` (read from
//! `upstream_rulefmt_test.go.txt`, so a changed table changes the test), the inline
//! cases of that test file, and the promtool and rule manager test files with the
//! verdicts upstream's `cmd/promtool/main_test.go` and `rules/manager_test.go` give
//! them.

use std::path::{Path, PathBuf};

use rules::{parse_bytes, parse_file, parse_file_with, NameValidation, ParseOptions};

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/rules")
}

fn upstream_test_source() -> String {
    std::fs::read_to_string(conformance_dir().join("upstream_rulefmt_test.go.txt"))
        .expect("upstream_rulefmt_test.go.txt")
}

/// The body of `func NAME(` up to the next top-level `func`.
fn go_func<'a>(source: &'a str, name: &str) -> &'a str {
    let start = source
        .find(&format!("func {name}("))
        .unwrap_or_else(|| panic!("{name} not in the upstream test"));
    let body = &source[start..];
    let end = body[1..].find("\nfunc ").map_or(body.len(), |i| i + 1);
    &body[..end]
}

/// A Go interpreted string literal's value (the escapes the test file uses).
fn go_unquote(literal: &str) -> String {
    let inner = literal
        .trim()
        .trim_end_matches(',')
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a Go string literal: {literal}"));
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn scheme_of(go: &str) -> NameValidation {
    if go.contains("LegacyValidation") {
        NameValidation::Legacy
    } else {
        NameValidation::Utf8
    }
}

/// A file with upstream's verdict: `None` must parse, `Some(text)`: the first error
/// must contain the text (upstream's `require.ErrorContains(errs[0], errMsg)`).
struct Case {
    file: String,
    scheme: NameValidation,
    error: Option<String>,
}

/// The verdicts of TestParseFileSuccess(WithAliases) and TestParseFileFailure.
fn upstream_file_cases(source: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let successes = [
        go_func(source, "TestParseFileSuccess"),
        go_func(source, "TestParseFileSuccessWithAliases"),
    ];
    for line in successes.iter().flat_map(|body| body.lines()) {
        if let Some(at) = line.find("ParseFile(\"testdata/") {
            let rest = &line[at + "ParseFile(\"testdata/".len()..];
            let file = rest.split('"').next().unwrap_or_default().to_string();
            cases.push(Case {
                file,
                scheme: scheme_of(rest),
                error: None,
            });
        }
    }
    let failures = go_func(source, "TestParseFileFailure");
    for block in failures.split("\t\t{\n").skip(1) {
        let field = |name: &str| {
            block
                .lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(name))
                .map(str::to_string)
        };
        let (Some(file), Some(error)) = (field("filename:"), field("errMsg:")) else {
            continue;
        };
        cases.push(Case {
            file: go_unquote(&file),
            scheme: field("nameValidationScheme:").map_or(NameValidation::Utf8, |s| scheme_of(&s)),
            error: Some(go_unquote(&error)),
        });
    }
    cases
}

/// Checks one file against its verdict; a difference is described.
fn check(path: &Path, scheme: NameValidation, want_error: Option<&str>) -> Option<String> {
    let options = ParseOptions {
        name_validation: scheme,
        ..ParseOptions::default()
    };
    let name = path.display();
    match (parse_file_with(path, &options), want_error) {
        (Ok(_), None) => None,
        (Err(errors), None) => Some(format!("{name}: refused: {}", errors[0])),
        (Ok(_), Some(want)) => Some(format!("{name}: accepted, want {want:?}")),
        (Err(errors), Some(want)) => {
            let first = errors[0].to_string();
            (!first.contains(want)).then(|| format!("{name}: got {first:?}\n    want {want:?}"))
        }
    }
}

#[test]
fn rulefmt_files_get_upstreams_verdicts() {
    let dir = conformance_dir().join("rulefmt");
    let cases = upstream_file_cases(&upstream_test_source());
    let mut compared = 0;
    let mut failures = Vec::new();
    for case in &cases {
        compared += 1;
        failures.extend(check(
            &dir.join(&case.file),
            case.scheme,
            case.error.as_deref(),
        ));
    }
    // Every file of the directory has a verdict: a new upstream file cannot go unchecked.
    for entry in std::fs::read_dir(&dir).expect("rulefmt directory") {
        let file = entry.expect("directory entry").file_name();
        let file = file.to_string_lossy();
        if !cases.iter().any(|c| c.file == file) {
            failures.push(format!("{file}: no verdict in the upstream test"));
        }
    }
    // 4 good files, 11 bad ones in upstream's tables today.
    assert!(
        compared >= 15,
        "only {compared} cases read from the upstream test"
    );
    assert!(
        failures.is_empty(),
        "{} of {compared} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("rulefmt: {compared} files compared with upstream's verdicts");
}

/// Upstream's TestParseFileSuccessWithAliases: anchors, aliases and `<<` merges.
#[test]
fn aliases_and_merges_decode_as_upstream() {
    let path = conformance_dir().join("rulefmt/test_aliases.yaml");
    let groups = parse_file(&path).unwrap_or_else(|e| panic!("{:?}", e));
    let expr = "sum without(instance) (rate(errors_total[5m]))\n/\nsum without(instance) (rate(requests_total[5m]))\n";
    assert_eq!(groups.groups.len(), 2);
    for group in &groups.groups {
        let rules = &group.rules;
        assert_eq!(rules[0].alert, "HighAlert");
        assert_eq!(rules[0].labels["severity"], "critical");
        assert_eq!(
            rules[0].annotations["description"],
            "stuff's happening with {{ $.labels.service }}"
        );
        assert_eq!(rules[1].record, "new_metric");
        assert_eq!(rules[2].alert, "HighAlert");
        assert_eq!(rules[2].labels["severity"], "critical");
        assert_eq!(
            rules[2].annotations["description"],
            "stuff's happening with {{ $.labels.service }}"
        );
        // The merged mapping gives everything but the key the rule sets itself.
        assert_eq!(rules[3].alert, "HighAlert2");
        assert_eq!(rules[3].labels["severity"], "critical");
        assert_eq!(rules[3].for_duration.as_secs(), 300);
        for rule in rules {
            assert_eq!(rule.expr, expr);
        }
    }
}

/// The rule file texts written inside upstream's test functions, between backquotes.
fn raw_strings(body: &str) -> Vec<&str> {
    body.split('`').skip(1).step_by(2).collect()
}

#[test]
fn upstream_inline_cases() {
    let source = upstream_test_source();
    let mut compared = 0;

    // TestTemplateParsing: the files meant to pass pass, the others fail, for their
    // templates only.
    let templates = go_func(&source, "TestTemplateParsing");
    let mut template_failures = 0;
    let rule_strings = templates
        .split("ruleString: `")
        .skip(1)
        .map(|s| s.split('`').next().unwrap_or_default());
    for (text, verdict) in rule_strings.zip(templates.split("shouldPass:").skip(1)) {
        compared += 1;
        match (
            verdict.trim_start().starts_with("true"),
            parse_bytes(text.as_bytes()),
        ) {
            (true, Ok(_)) => {}
            (true, Err(e)) => panic!("refused {text}: {e:?}"),
            (false, Ok(_)) => panic!("accepted {text}"),
            (false, Err(errors)) => {
                template_failures += 1;
                for e in &errors {
                    let message = e.to_string();
                    assert!(
                        message.contains(": template: __alert_InstanceDown:1"),
                        "{message}"
                    );
                }
            }
        }
    }
    assert_eq!(
        template_failures, 3,
        "template-only failures in TestTemplateParsing"
    );

    // TestUniqueErrorNodes: one error per bad expression, each at its own node.
    let unique = raw_strings(go_func(&source, "TestUniqueErrorNodes"));
    let errors = parse_bytes(unique[0].as_bytes()).expect_err("two bad expressions");
    compared += 1;
    assert_eq!(errors.len(), 2, "{errors:?}");
    let positions: Vec<_> = errors
        .iter()
        .map(|e| match &e.kind {
            rules::ErrorKind::Rule(r) => r.position,
            other => panic!("not a rule error: {other:?}"),
        })
        .collect();
    assert_ne!(positions[0], positions[1]);
    assert_eq!(errors[0].to_string().split(": group").next(), Some("6:11"));

    // TestMultiDocParse: the first document is read, a following one noted.
    let multi = go_func(&source, "TestMultiDocParse");
    let texts = raw_strings(multi);
    assert_eq!(texts.len(), 3, "valid, multi and multiEmpty");
    for (text, more) in texts.iter().zip([false, true, true]) {
        compared += 1;
        let groups = parse_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(groups.groups.len(), 1, "{text}");
        assert_eq!(groups.ignored_documents, more, "{text}");
    }
    assert!(compared >= 9);
    eprintln!("inline cases: {compared} compared");
}

/// promtool's and the rule manager's test files, with the verdicts upstream's tests give
/// them (`cmd/promtool/main_test.go`, `cmd/promtool/unittest_test.go`,
/// `rules/manager_test.go`).
#[test]
fn promtool_and_manager_rule_files() {
    let dir = conformance_dir();
    let cases: &[(&str, Option<&str>)] = &[
        // TestCheckRules "rules-good", TestCheckDuplicates.
        ("promtool/rules.yml", None),
        ("promtool/rules_duplicates.yml", None),
        // BenchmarkCheckDuplicates: parses without errors.
        ("promtool/rules_large.yml", None),
        // TestCheckRules "rules-lint-fatal": valid, only the lint fails.
        ("promtool/prometheus-rules.lint.yml", None),
        // TestRulesUnitTest "Bad rules (error evaluating)": the file itself is valid.
        ("promtool/bad-rules-error.yml", None),
        // TestRulesUnitTest "Bad rules (syntax error)".
        (
            "promtool/bad-rules-syntax.yml",
            Some("could not parse expression: 1:7: parse error:"),
        ),
        // TestRulesUnitTestRun "extra fields": refused unless --ignore-unknown-fields.
        (
            "promtool/rules_extrafields.yml",
            Some("field namespace not found in type rulefmt.RuleGroup"),
        ),
        // TestParseFiles: every fixture loads but this one.
        (
            "fixtures/invalid_rules.yaml",
            Some("field unexpected_field not found in type rulefmt.Rule"),
        ),
    ];
    let mut compared = 0;
    let mut failures = Vec::new();
    for (file, want) in cases {
        compared += 1;
        failures.extend(check(&dir.join(file), NameValidation::Utf8, *want));
    }
    for entry in std::fs::read_dir(dir.join("fixtures")).expect("fixtures directory") {
        let path = entry.expect("directory entry").path();
        if path.ends_with("invalid_rules.yaml") {
            continue;
        }
        compared += 1;
        failures.extend(check(&path, NameValidation::Utf8, None));
    }
    // TestRulesUnitTestRun "extra fields": accepted with --ignore-unknown-fields.
    let lenient = ParseOptions {
        ignore_unknown_fields: true,
        ..ParseOptions::default()
    };
    compared += 1;
    if let Err(e) = parse_file_with(&dir.join("promtool/rules_extrafields.yml"), &lenient) {
        failures.push(format!(
            "rules_extrafields.yml with unknown fields allowed: {e:?}"
        ));
    }
    assert!(compared >= 20, "{compared}");
    assert!(
        failures.is_empty(),
        "{} of {compared} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("promtool and fixtures: {compared} files compared");
}

/// promtool's TestCheckDuplicates and the lint-fatal file.
#[test]
fn duplicate_rules_as_promtool_finds_them() {
    let dir = conformance_dir();
    let none = parse_file(&dir.join("promtool/rules.yml")).expect("rules.yml");
    assert!(none.duplicate_rules().is_empty());
    assert_eq!(none.rule_count(), 5);
    let dups = parse_file(&dir.join("promtool/rules_duplicates.yml")).expect("duplicates");
    let found = dups.duplicate_rules();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].metric, "job:test:count_over_time1m");
    assert!(found[0].labels.is_empty());
    let lint = parse_file(&dir.join("promtool/prometheus-rules.lint.yml")).expect("lint file");
    let found = lint.duplicate_rules();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].metric, "HighRequestLatency");
    assert_eq!(found[0].labels, vec![("severity".into(), "page".into())]);
}
