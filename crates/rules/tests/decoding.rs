//! yaml.v3's decoding rules and upstream's validation, case by case, with the exact texts
//! upstream prints (worked out from `model/rulefmt/rulefmt.go` and go-yaml v3's
//! `decode.go`).

use std::time::Duration;

use rules::{parse_bytes, parse_bytes_with, ErrorKind, NameValidation, ParseOptions, RuleGroups};

fn errors(text: &str) -> Vec<String> {
    errors_with(text, &ParseOptions::default())
}

fn errors_with(text: &str, options: &ParseOptions) -> Vec<String> {
    match parse_bytes_with(text.as_bytes(), options) {
        Ok(groups) => panic!("accepted: {groups:?}\n{text}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn ok(text: &str) -> RuleGroups {
    parse_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("refused: {e:?}\n{text}"))
}

/// Both of upstream's decodes report a type error, each naming its own Go type.
#[test]
fn type_errors_come_from_both_decodes() {
    let unmarshal = |line: &str| format!("yaml: unmarshal errors:\n  {line}");
    assert_eq!(
        errors("groups:\n- name: a\n  limit: abc\n"),
        vec![
            unmarshal("line 3: cannot unmarshal !!str `abc` into int"),
            unmarshal("line 3: cannot unmarshal !!str `abc` into int"),
        ]
    );
    assert_eq!(
        errors("just some text\n"),
        vec![
            unmarshal("line 1: cannot unmarshal !!str `just so...` into rulefmt.RuleGroups"),
            unmarshal("line 1: cannot unmarshal !!str `just so...` into rulefmt.ruleGroups"),
        ]
    );
    assert_eq!(
        errors("groups: {a: 1}\n"),
        vec![
            unmarshal("line 1: cannot unmarshal !!map into []rulefmt.RuleGroup"),
            unmarshal("line 1: cannot unmarshal !!map into []rulefmt.RuleGroupNode"),
        ]
    );
    // yaml.v3 reads `yes` as a string (yaml.v2 as a bool).
    assert_eq!(
        errors("groups:\n- name: a\n  limit: yes\n")[0],
        unmarshal("line 3: cannot unmarshal !!str `yes` into int")
    );
    // The second decode's `expr` is a yaml.Node, which takes anything: one error only.
    assert_eq!(
        errors("groups:\n- name: a\n  rules:\n  - record: r\n    expr: [1]\n"),
        vec![unmarshal("line 5: cannot unmarshal !!seq into string")]
    );
    assert_eq!(
        errors("groups:\n- name: a\n  labels: [x]\n")[0],
        unmarshal("line 3: cannot unmarshal !!seq into map[string]string")
    );
}

#[test]
fn unknown_fields_are_refused_unless_allowed() {
    let text = "groups:\n- name: a\n  owner: me\n  rules:\n  - record: r\n    expr: up\n    note: x\nextra: 1\n";
    assert_eq!(
        errors(text),
        vec!["yaml: unmarshal errors:\n  line 3: field owner not found in type rulefmt.RuleGroup\n  line 7: field note not found in type rulefmt.Rule\n  line 8: field extra not found in type rulefmt.RuleGroups"]
    );
    let lenient = ParseOptions {
        ignore_unknown_fields: true,
        ..ParseOptions::default()
    };
    let groups = parse_bytes_with(text.as_bytes(), &lenient).expect("unknown fields allowed");
    assert_eq!(groups.groups[0].rules[0].record, "r");
}

#[test]
fn repeated_keys_are_refused_in_every_mapping() {
    assert_eq!(
        errors("groups:\n- name: a\n  name: b\n"),
        vec![
            "yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined at line 2",
            "yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined at line 2",
        ]
    );
    let labels = errors("groups:\n- name: a\n  labels:\n    x: 1\n    x: 2\n    x: 3\n");
    assert_eq!(
        labels[0],
        "yaml: unmarshal errors:\n  line 5: mapping key \"x\" already defined at line 4\n  line 6: mapping key \"x\" already defined at line 4\n  line 6: mapping key \"x\" already defined at line 5"
    );
}

/// n copies of a key give n²/2 errors in yaml.v3; here they stop at a bound.
#[test]
fn repeated_key_errors_are_bounded() {
    let text = format!(
        "groups:\n- name: a\n  labels:\n{}",
        "    x: 1\n".repeat(3000)
    );
    let started = std::time::Instant::now();
    let errors = errors(&text);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(errors.len(), 2);
    let lines = errors[0].lines().count();
    assert_eq!(
        lines,
        1 + MAX_DECODE_ERRORS + 1,
        "header, errors, and the note"
    );
    assert!(errors[0].ends_with("too many errors: only the first 10000 are shown"));
}

/// The bound on decoding errors (`decode::MAX_DECODE_ERRORS`).
const MAX_DECODE_ERRORS: usize = 10_000;

#[test]
fn durations_and_numbers() {
    let groups = ok("groups:\n- name: a\n  interval: 1m30s\n  query_offset: 0s\n  limit: 1.9\n  rules:\n  - alert: A\n    expr: up\n    for: 5m\n    keep_firing_for: 1h\n- name: b\n  query_offset: ~\n  limit: 0x10\n");
    let (a, b) = (&groups.groups[0], &groups.groups[1]);
    assert_eq!(a.interval, Duration::from_secs(90));
    assert_eq!(a.query_offset, Some(Duration::ZERO));
    assert_eq!(a.limit, 1);
    assert_eq!(a.rules[0].for_duration, Duration::from_secs(300));
    assert_eq!(a.rules[0].keep_firing_for, Duration::from_secs(3600));
    assert_eq!(b.query_offset, None);
    assert_eq!(b.limit, 16);
    // model.Duration's own error stops each decode: reported once per decode, verbatim.
    assert_eq!(
        errors("groups:\n- name: a\n  interval: 5x\n"),
        vec![
            "not a valid duration string: \"5x\"",
            "not a valid duration string: \"5x\""
        ]
    );
}

#[test]
fn nulls_leave_values_unset_and_drop_list_items() {
    let groups = ok("groups: [~, {name: a, rules: [~, {record: r, expr: up, labels: {x: ~}}]}]\n");
    assert_eq!(groups.groups.len(), 1);
    let rule = &groups.groups[0].rules[0];
    assert_eq!(rule.labels["x"], "");
    assert_eq!(ok("").groups.len(), 0);
    assert_eq!(ok("# nothing\n").groups.len(), 0);
    assert_eq!(ok("groups:\n").groups.len(), 0);
}

#[test]
fn merges_apply_after_the_mapping_and_never_override_it() {
    let text = "base: &base {alert: Base, expr: up, labels: {a: '1', b: '2'}}\ngroups:\n- name: g\n  rules:\n  - <<: *base\n    alert: Mine\n    labels:\n      <<: {b: x, c: '3'}\n      a: '9'\n";
    // `base` is not a field of RuleGroups: only with unknown fields allowed.
    let lenient = ParseOptions {
        ignore_unknown_fields: true,
        ..ParseOptions::default()
    };
    let groups = parse_bytes_with(text.as_bytes(), &lenient).expect("merges");
    let rule = &groups.groups[0].rules[0];
    assert_eq!(rule.alert, "Mine");
    assert_eq!(rule.expr, "up");
    let labels: Vec<_> = rule
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(labels, vec!["a=9", "b=x", "c=3"]);
    let bad = errors("groups:\n- <<: 3\n  name: a\n");
    assert_eq!(
        bad,
        vec![
            "yaml: map merge requires map or sequence of maps as the value",
            "yaml: map merge requires map or sequence of maps as the value"
        ]
    );
}

#[test]
fn group_errors() {
    assert_eq!(
        errors(
            "groups:\n- name: ''\n- name: a\n- name: a\n  labels:\n    __name__: x\n    '': y\n"
        ),
        vec![
            "0:0: Groupname must not be empty",
            "0:0: groupname: \"a\" is repeated in the same file",
            "invalid label name: ",
            "invalid label name: __name__",
        ]
    );
    // Upstream's group node is only filled from a key named `node`.
    let lenient = ParseOptions {
        ignore_unknown_fields: true,
        ..ParseOptions::default()
    };
    assert_eq!(
        errors_with("groups:\n- name: ''\n  node: here\n", &lenient),
        vec!["3:9: Groupname must not be empty"]
    );
}

#[test]
fn rule_errors_in_upstreams_order() {
    let text = "groups:\n- name: g\n  rules:\n  - record: 'a b'\n    expr: up\n    for: 1m\n    annotations: {x: y, '': z}\n    labels: {__name__: n, ok: v}\n  - alert: A\n    record: r\n  - alert: ''\n    record: ''\n    expr: 'rate(up)'\n";
    assert_eq!(
        errors(text),
        vec![
            "4:13: group \"g\", rule 1, \"a b\": invalid field 'annotations' in recording rule",
            "4:13: group \"g\", rule 1, \"a b\": invalid field 'for' in recording rule",
            "group \"g\", rule 1, \"a b\": invalid label name: __name__",
            "group \"g\", rule 1, \"a b\": invalid annotation name: ",
            "10:13: 9:12: group \"g\", rule 2, \"A\": only one of 'record' and 'alert' must be set",
            "0:0: group \"g\", rule 2, \"A\": field 'expr' must be set in rule",
            "12:13: 11:12: group \"g\", rule 3, \"\": one of 'record' or 'alert' must be set",
            "13:11: group \"g\", rule 3, \"\": could not parse expression: 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ]
    );
}

#[test]
fn legacy_names() {
    let legacy = ParseOptions {
        name_validation: NameValidation::Legacy,
        ..ParseOptions::default()
    };
    let text = "groups:\n- name: g\n  labels: {a-b: x}\n  rules:\n  - record: 'a-b:c'\n    expr: up\n    labels: {ok: v, b.c: w}\n";
    assert_eq!(
        errors_with(text, &legacy),
        vec![
            "invalid label name: a-b",
            "5:13: group \"g\", rule 1, \"a-b:c\": invalid recording rule name: a-b:c",
            "group \"g\", rule 1, \"a-b:c\": invalid label name: b.c",
        ]
    );
    assert!(parse_bytes(text.as_bytes()).is_ok(), "valid UTF-8 names");
}

/// Go strings can hold any bytes: `!!binary` data that is not UTF-8 makes an invalid
/// label value.
#[test]
fn binary_label_values_that_are_not_utf8() {
    let text = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    labels: {a: !!binary /w==}\n";
    assert_eq!(
        errors(text),
        vec!["group \"g\", rule 1, \"r\": invalid label value: \u{fffd}"]
    );
}

#[test]
fn text_that_is_not_yaml() {
    let bad_utf8 = parse_bytes(b"groups: [\xff]\n").expect_err("not UTF-8");
    assert_eq!(bad_utf8.len(), 2);
    assert_eq!(bad_utf8[0].to_string(), "yaml: invalid leading UTF-8 octet");
    let syntax = errors("groups: [\n");
    assert_eq!(syntax.len(), 2);
    assert!(syntax[0].starts_with("yaml: line "), "{syntax:?}");
    assert_eq!(syntax[0], syntax[1]);
}

#[test]
fn following_documents_are_ignored() {
    let groups = ok("groups: [{name: a}]\n---\ngroups: [{name: b}, {name: b}]\n---\n: : bad\n");
    assert_eq!(groups.groups.len(), 1);
    assert!(groups.ignored_documents);
    assert!(!ok("groups: [{name: a}]\n").ignored_documents);
}

#[test]
fn inputs_are_bounded() {
    let big = vec![b' '; rules::MAX_FILE_BYTES as usize + 1];
    let refused = parse_bytes(&big).expect_err("too large");
    assert!(matches!(refused[0].kind, ErrorKind::TooLarge { .. }));
    let deep = format!("groups: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_bytes(deep.as_bytes()).is_err());
    let mut aliases = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        aliases.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(parse_bytes(aliases.as_bytes()).is_err());
}

/// The deepest expressions the parser takes need more stack than a test thread has;
/// the expressions are parsed on a thread of their own.
#[test]
fn deep_expressions_do_not_overflow_the_stack() {
    let rule = |depth: usize| {
        format!(
            "groups:\n- name: g\n  rules:\n  - record: r\n    expr: '{}1{}'\n",
            "(".repeat(depth),
            ")".repeat(depth)
        )
    };
    ok(&rule(promql::MAX_DEPTH - 10));
    let too_deep = errors(&rule(promql::MAX_DEPTH * 2));
    assert!(too_deep[0].contains("nested too deeply"), "{too_deep:?}");
}
