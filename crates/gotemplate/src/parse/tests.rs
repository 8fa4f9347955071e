//! Parser tests: Go's error texts, printing of parse trees, the nesting limit.

use super::parse;

fn builtin(name: &str) -> bool {
    matches!(name, "printf" | "len" | "index")
}

fn parse_err(src: &str) -> String {
    match parse("t", src, &builtin, 100) {
        Ok(_) => String::new(),
        Err(e) => e,
    }
}

fn round_trip(src: &str) -> String {
    let trees = parse("t", src, &builtin, 100).unwrap();
    trees[0].root.to_string()
}

#[test]
fn prints_like_go() {
    assert_eq!(
        round_trip("a{{if .X}}b{{else if $}}c{{end}}{{range $i, $e := .L}}{{$i}}{{end}}"),
        "a{{if .X}}b{{else}}{{if $}}c{{end}}{{end}}{{range $i, $e := .L}}{{$i}}{{end}}"
    );
    assert_eq!(
        round_trip("{{ $x := (printf \"%d\" 1).Foo | len }}{{template `x` .A.B}}"),
        "{{$x := (printf \"%d\" 1).Foo | len}}{{template \"x\" .A.B}}"
    );
    assert_eq!(
        round_trip("{{with $x := 1}}{{$x = 2}}{{end}}"),
        "{{with $x := 1}}{{$x = 2}}{{end}}"
    );
}

#[test]
fn error_messages() {
    assert_eq!(parse_err("{{if .X}}"), "template: t:1: unexpected EOF");
    assert_eq!(
        parse_err("{{$x}}"),
        "template: t:1: undefined variable \"$x\""
    );
    assert_eq!(
        parse_err("{{nope}}"),
        "template: t:1: function \"nope\" not defined"
    );
    assert_eq!(
        parse_err("{{.S | 1}}"),
        "template: t:1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        parse_err("{{089}}"),
        "template: t:1: integer overflow: \"089\""
    );
    assert_eq!(
        parse_err("{{1x}}"),
        "template: t:1: bad number syntax: \"1x\""
    );
    assert_eq!(parse_err("{{end}}"), "template: t:1: unexpected {{end}}");
    assert_eq!(parse_err("{{else}}"), "template: t:1: unexpected {{else}}");
    assert_eq!(
        parse_err("{{}}"),
        "template: t:1: missing value for command"
    );
    assert_eq!(
        parse_err("{{break}}"),
        "template: t:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        parse_err("{{range .}}{{else}}{{continue}}{{end}}"),
        "template: t:1: {{continue}} outside {{range}}"
    );
    assert_eq!(
        parse_err("{{true.Foo}}"),
        "template: t:1: unexpected . after term \"true\""
    );
    assert_eq!(
        parse_err("{{1.Foo}}"),
        "template: t:1: bad number syntax: \"1.F\""
    );
    assert_eq!(
        parse_err("{{$x, $y := 1}}"),
        "template: t:1: too many declarations in command"
    );
    assert_eq!(
        parse_err("{{range $x, 1}}{{end}}"),
        "template: t:1: range can only initialize variables"
    );
    assert_eq!(
        parse_err("{{template .}}"),
        "template: t:1: unexpected <.> in template clause"
    );
    assert_eq!(
        parse_err("{{template .X}}"),
        "template: t:1: unexpected \".X\" in template clause"
    );
    assert_eq!(
        parse_err("{{\n.X\n"),
        "template: t:3: unclosed action started at t:1"
    );
    assert_eq!(
        parse_err("{{.X \"a\n}}"),
        "template: t:1: unterminated quoted string"
    );
    assert_eq!(
        parse_err("{{if .X}}\n\n{{end\n x}}"),
        "template: t:4: unexpected \"x\" in end"
    );
    assert_eq!(
        parse_err("{{define \"a\"}}1{{end}}{{define \"a\"}}2{{end}}"),
        "template: t:1: template: multiple definition of template \"a\""
    );
    assert_eq!(
        parse_err("{{1i}}"),
        "template: t:1: complex constant 1i is not supported"
    );
    assert_eq!(
        parse_err("{{'ab'}}"),
        "template: t:1: malformed character constant: 'ab'"
    );
    assert_eq!(
        parse_err("{{with .X}}{{else}}{{else}}{{end}}"),
        "template: t:1: expected end; found {{else}}"
    );
    assert_eq!(
        parse_err("{{block \"b\" .}}{{else}}{{end}}"),
        "template: t:1: unexpected {{else}} in block clause"
    );
}

#[test]
fn depth_limit() {
    let deep = format!("{}x{}", "{{if 1}}".repeat(5), "{{end}}".repeat(5));
    assert!(parse("t", &deep, &builtin, 5).is_ok());
    assert_eq!(
        parse("t", &deep, &builtin, 4).unwrap_err(),
        "template: t:1: nesting too deep: more than 4 levels of actions and parentheses (limit max_nesting_depth)"
    );
    let parens = format!("{{{{{}1{}}}}}", "(".repeat(5), ")".repeat(5));
    assert!(parse("t", &parens, &builtin, 5).is_ok());
    assert!(parse("t", &parens, &builtin, 4).is_err());
}

#[test]
fn trees_and_blocks() {
    let trees = parse(
        "t",
        "a{{define \"x\"}}X{{end}}{{block \"b\" .}}B{{end}}",
        &builtin,
        100,
    )
    .unwrap();
    let names: Vec<&str> = trees.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["t", "x", "b"]);
    assert_eq!(trees[0].root.to_string(), "a{{template \"b\" .}}");
}
