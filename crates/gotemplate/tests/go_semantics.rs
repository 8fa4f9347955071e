//! Go `text/template` semantics, template by template: expected output or Go's exact error
//! text. Cases without host functions were cross-checked against a Go-tested port of
//! text/template; the rest follow Go's source (exec.go, funcs.go, fmt).

use gotemplate::{MissingKey, Struct, Template, Value};

type Want = Result<&'static str, &'static str>;

fn data() -> Value {
    Value::map([
        (
            "List",
            Value::list(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        ),
        ("Empty", Value::list(vec![])),
        ("S", Value::from("str")),
        ("N", Value::Int(5)),
        ("F", Value::Float(2.5)),
        (
            "M",
            Value::map([
                ("b", Value::Int(2)),
                ("a", Value::from("x")),
                ("z", Value::Nil),
            ]),
        ),
        ("T", Value::Bool(true)),
        ("Nil", Value::Nil),
        (
            "St",
            Value::structure(
                Struct::new("main.T")
                    .field("A", Value::Int(1))
                    .field("B", Value::from("b"))
                    .field("low", Value::Int(3))
                    .field("Iface", Value::Nil),
            ),
        ),
        (
            "Nested",
            Value::list(vec![
                Value::list(vec![Value::from("a"), Value::from("b")]),
                Value::map([("k", Value::from("v"))]),
            ]),
        ),
        (
            "Labels",
            Value::labels([("job", "node"), ("instance", "host:9100")]),
        ),
        (
            "Floats",
            Value::typed_list(
                "[]float64",
                vec![0.0, 1.0, 1234567.0, 0.12]
                    .into_iter()
                    .map(Value::Float)
                    .collect(),
            ),
        ),
        ("U", Value::Uint(u64::MAX)),
        (
            "Ptr",
            Value::struct_ptr(Struct::new("main.P").field("X", Value::Int(1))),
        ),
    ])
}

fn run(text: &str, data: &Value, mk: MissingKey) -> Result<String, String> {
    let t = Template::new("test")
        .missing_key(mk)
        .parse(text)
        .map_err(|e| e.to_string())?;
    t.execute(data).map_err(|e| e.to_string())
}

/// Runs every case, reporting all mismatches at once.
fn check(cases: &[(&str, Want)], data: &Value, mk: MissingKey) {
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text, data, mk);
        let want = want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn text_trimming_and_comments() {
    check(
        &[
            ("plain text", Ok("plain text")),
            ("", Ok("")),
            (
                "x  {{- 1 -}}  y{{/* c */}}z {{- /* c2 */ -}} w",
                Ok("x1yzw"),
            ),
            ("a\n\t {{- \"b\" -}} \n c", Ok("abc")),
            ("{{- /* only a comment */ -}}", Ok("")),
            ("{{/* multi\nline */}}ok", Ok("ok")),
            ("{{-3}}", Ok("-3")),
            ("a {{ 1 }} b", Ok("a 1 b")),
        ],
        &Value::Nil,
        MissingKey::Invalid,
    );
}

#[test]
fn constants() {
    check(
        &[
            ("{{ 1 }}", Ok("1")),
            ("{{ 1e3 }} {{ 1e6 }} {{ 3.0 }} {{ 0.1 }} {{ printf \"%T %T\" 1e3 3 }}", Ok("1000 1e+06 3 0.1 float64 int")),
            (
                "{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ 'a' }} {{ -5 }} {{ +5 }} {{ 0xE }} {{ -0x1e }}",
                Ok("31 15 15 5 1000 97 -5 5 14 -30"),
            ),
            ("{{ 0x1.8p1 }} {{ .5 }} {{ 1_000.5 }} {{ -0.0 }} {{ 1e100 }} {{ 123456789.0 }}", Ok("3 0.5 1000.5 -0 1e+100 1.23456789e+08")),
            ("{{ 1.5 }} {{ 100000.0 }} {{ 1000000.0 }} {{ 0.00001 }} {{ 0.0001 }}", Ok("1.5 100000 1e+06 1e-05 0.0001")),
            ("{{ \"a\\tb\" }}|{{ `raw\\n` }}|{{ \"\\u00e9\\x41\" }}", Ok("a\tb|raw\\n|éA")),
            ("{{ '\\n' }} {{ '\\x41' }} {{ 'é' }}", Ok("10 65 233")),
            ("{{ true }} {{ false }}", Ok("true false")),
            ("{{ \"<b>\" }}", Ok("<b>")),
            ("{{ nil }}", Err("template: test:1:3: executing \"test\" at <nil>: nil is not a command")),
            (
                "{{ 9223372036854775808 }}",
                Err("template: test:1:3: executing \"test\" at <9223372036854775808>: 9223372036854775808 overflows int"),
            ),
            ("{{ 1e400 }}", Err("template: test:1: illegal number syntax: \"1e400\"")),
            ("{{ 089 }}", Err("template: test:1: integer overflow: \"089\"")),
            ("{{ 'ab' }}", Err("template: test:1: malformed character constant: 'ab'")),
            ("{{ \"\\q\" }}", Err("template: test:1: invalid syntax")),
            ("{{ 1i }}", Err("template: test:1: complex constant 1i is not supported")),
        ],
        &Value::Nil,
        MissingKey::Invalid,
    );
}

#[test]
fn parse_errors() {
    check(
        &[
            ("{{", Err("template: test:1: unclosed action")),
            (
                "{{\u{a0}}}",
                Err("template: test:1: unrecognized character in action: U+00A0"),
            ),
            (
                "{{ nosuch 1 }}",
                Err("template: test:1: function \"nosuch\" not defined"),
            ),
            (
                "{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}",
                Err("template: test:1: undefined variable \"$y\""),
            ),
            (
                "{{/* a */ x}}",
                Err("template: test:1: comment ends before closing delimiter"),
            ),
            ("{{ else }}", Err("template: test:1: unexpected {{else}}")),
            ("{{ end }}", Err("template: test:1: unexpected {{end}}")),
            ("{{ if 1 }}", Err("template: test:1: unexpected EOF")),
            (
                "{{ .X | 1 }}",
                Err("template: test:1: non executable command in pipeline stage 2"),
            ),
            (
                "{{ $x := }}",
                Err("template: test:1: missing value for command"),
            ),
            (
                "{{ range $i, $e, $f := . }}{{ end }}",
                Err("template: test:1: too many declarations in range"),
            ),
            (
                "{{ range $i, 1 }}{{ end }}",
                Err("template: test:1: range can only initialize variables"),
            ),
            ("{{ (1 }}", Err("template: test:1: unclosed left paren")),
            ("{{ 1) }}", Err("template: test:1: unexpected right paren")),
            (
                "{{ \"a }}",
                Err("template: test:1: unterminated quoted string"),
            ),
            (
                "{{ .S@ }}",
                Err("template: test:1: bad character U+0040 '@'"),
            ),
            (
                "{{ true.X }}",
                Err("template: test:1: unexpected . after term \"true\""),
            ),
            (
                "{{ $x := 1 }}{{ define \"t\" }}{{ $x }}{{ end }}",
                Err("template: test:1: undefined variable \"$x\""),
            ),
            (
                "{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}",
                Err("template: test:1: template: multiple definition of template \"a\""),
            ),
            (
                "{{ define \"x\" }}{{ break }}{{ end }}",
                Err("template: test:1: {{break}} outside {{range}}"),
            ),
            (
                "{{ range .List }}{{ define \"y\" }}{{ end }}{{ end }}",
                Err("template: test:1: unexpected <define> in command"),
            ),
            (
                "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
                Err("template: test:1: expected end; found {{else}}"),
            ),
            (
                "{{ with 1 }}{{ else if 2 }}{{ end }}",
                Err("template: test:1: unexpected <if> in input"),
            ),
            (
                "{{ template }}",
                Err("template: test:1: unexpected \"}}\" in template clause"),
            ),
            (
                "{{ block \"b\" }}{{ end }}",
                Err("template: test:1: missing value for block clause"),
            ),
            (
                "a\n{{ if 1 }}\n{{ .X \n\"oops }}",
                Err("template: test:4: unterminated quoted string in action started at test:3"),
            ),
            (
                "{{ if 1 }}\n\n{{ end\n x }}",
                Err("template: test:4: unexpected \"x\" in end"),
            ),
            (
                "{{ .X\n.Y\n",
                Err("template: test:3: unclosed action started at test:1"),
            ),
        ],
        &Value::Nil,
        MissingKey::Invalid,
    );
}

#[test]
fn variables_and_control_flow() {
    check(
        &[
            ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", Ok("2")),
            ("{{ $x := 1 }}{{ $x := 2 }}{{ $x }}", Ok("2")),
            ("{{ $.N }} {{ $.List }}", Ok("5 [1 2 3]")),
            ("{{ with 1 }}{{ $.S }}{{ . }}{{ end }}", Ok("str1")),
            ("{{ range $i, $e := .List }}{{ $i }}={{ $e }};{{ end }}", Ok("0=1;1=2;2=3;")),
            ("{{ range .Empty }}x{{ else }}none{{ end }}", Ok("none")),
            ("{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 3 }}{{ $i }}{{ end }}|{{ range -2 }}x{{ else }}neg{{ end }}", Ok("012|012|neg")),
            (
                "{{ range $i, $e := 3 }}{{ end }}",
                Err("template: test:1:19: executing \"test\" at <3>: can't use 3 to iterate over more than one variable"),
            ),
            ("{{ range $k, $v := .M }}{{ $k }}={{ $v }} {{ end }}", Ok("a=x b=2 z=<no value> ")),
            ("{{ range $k, $v := .Labels }}{{ $k }}={{ $v }};{{ end }}", Ok("instance=host:9100;job=node;")),
            (
                "{{ range .List }}{{ if eq . 3 }}{{ break }}{{ end }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
                Ok("2"),
            ),
            ("{{ range .List }}{{ range .. }}{{ end }}{{ end }}", Err("template: test:1: unexpected <.> in operand")),
            ("{{ $x := 0 }}{{ range $x = .List }}{{ end }}{{ $x }}", Ok("3")),
            ("{{ $n := 0 }}{{ range .List }}{{ $n = . }}{{ end }}{{ $n }}", Ok("3")),
            ("{{ with .Missing }}x{{ else }}y{{ end }}|{{ with $v := 5 }}{{ $v }}{{ end }}|{{ with 0 }}a{{ else with 2 }}{{ . }}{{ end }}", Ok("y|5|2")),
            ("{{ if eq .N 1 }}one{{ else if eq .N 5 }}five{{ else }}many{{ end }}", Ok("five")),
            (
                "{{ if \"\" }}a{{ end }}{{ if 0 }}b{{ end }}{{ if 0.0 }}c{{ end }}{{ if .Empty }}d{{ end }}{{ if .M }}e{{ end }}{{ if .St }}f{{ end }}{{ if .Nil }}g{{ end }}{{ if .List }}h{{ end }}{{ if .Ptr }}i{{ end }}",
                Ok("efhi"),
            ),
            ("{{ range .Nil }}a{{ else }}b{{ end }}|{{ range .N }}{{ . }}{{ end }}", Ok("b|01234")),
            ("{{ range .S }}{{ . }}{{ end }}", Err("template: test:1:9: executing \"test\" at <.S>: range can't iterate over str")),
            ("{{ range .Floats }}{{ . }}:{{ end }}", Ok("0:1:1.234567e+06:0.12:")),
        ],
        &data(),
        MissingKey::Invalid,
    );
}

#[test]
fn fields_and_missing_keys() {
    let d = data();
    let common: &[(&str, Want)] = &[
        ("{{ .St.A }} {{ .St.B }} {{ .St }} {{ .St.Iface }}", Ok("1 b {1 b 3 <nil>} <no value>")),
        ("{{ .Labels.job }} {{ index .Labels \"instance\" }} [{{ index .Labels \"nope\" }}]", Ok("node host:9100 []")),
        ("{{ .Ptr.X }} {{ .Ptr }} {{ print .Ptr }} {{ printf \"%T\" .Ptr }}", Ok("1 {1} &{1} *main.P")),
        (
            "{{ .Ptr.Y }}",
            Err("template: test:1:7: executing \"test\" at <.Ptr.Y>: can't evaluate field Y in type interface {}"),
        ),
        (
            "{{ .St.Missing }}",
            Err("template: test:1:6: executing \"test\" at <.St.Missing>: can't evaluate field Missing in type interface {}"),
        ),
        (
            "{{ .St.low }}",
            Err("template: test:1:6: executing \"test\" at <.St.low>: low is an unexported field of struct type interface {}"),
        ),
        (
            "{{ .St.Iface.X }}",
            Err("template: test:1:6: executing \"test\" at <.St.Iface.X>: nil pointer evaluating interface {}.X"),
        ),
        ("{{ .N.X }}", Err("template: test:1:5: executing \"test\" at <.N.X>: can't evaluate field X in type interface {}")),
        ("{{ range .Floats }}{{ .X }}{{ end }}", Err("template: test:1:22: executing \"test\" at <.X>: can't evaluate field X in type float64")),
        ("{{ range .List }}{{ .X }}{{ end }}", Err("template: test:1:20: executing \"test\" at <.X>: can't evaluate field X in type interface {}")),
        ("{{ .Labels.job.x }}", Err("template: test:1:10: executing \"test\" at <.Labels.job.x>: can't evaluate field x in type string")),
        ("{{ .M.a 1 }}", Err("template: test:1:5: executing \"test\" at <.M.a>: a is not a method but has arguments")),
        ("{{ .St.A 1 }}", Err("template: test:1:6: executing \"test\" at <.St.A>: A has arguments but cannot be invoked as function")),
        ("{{ (.M).a }} {{ (index .Nested 1).k }}", Ok("x v")),
        ("{{ (1).X }}", Err("template: test:1:4: executing \"test\" at <1>: can't evaluate field X in type int")),
    ];
    check(common, &d, MissingKey::Invalid);
    check(common, &d, MissingKey::Zero);
    check(
        &[
            ("{{ .Foo }}", Ok("<no value>")),
            (
                "{{ .M.nope }}|{{ .M.z }}|{{ .M.a }}",
                Ok("<no value>|<no value>|x"),
            ),
            ("[{{ .Labels.nope }}]", Ok("[<no value>]")),
            ("{{ .M.nope.x }}", Ok("<no value>")),
        ],
        &d,
        MissingKey::Invalid,
    );
    check(
        &[
            ("{{ .M.nope }}|{{ .M.z }}", Ok("<no value>|<no value>")),
            ("[{{ .Labels.nope }}]", Ok("[]")),
            (
                "{{ .M.nope.x }}",
                Err("template: test:1:5: executing \"test\" at <.M.nope.x>: nil pointer evaluating interface {}.x"),
            ),
        ],
        &d,
        MissingKey::Zero,
    );
    check(
        &[
            ("{{ .M.nope }}", Err("template: test:1:5: executing \"test\" at <.M.nope>: map has no entry for key \"nope\"")),
            ("{{ .Labels.nope }}", Err("template: test:1:10: executing \"test\" at <.Labels.nope>: map has no entry for key \"nope\"")),
        ],
        &d,
        MissingKey::Error,
    );
    check(
        &[("{{ .Foo }}", Ok("<no value>"))],
        &Value::Nil,
        MissingKey::Zero,
    );
    check(
        &[("{{ .Foo }}", Err("template: test:1:3: executing \"test\" at <.Foo>: nil data; no entry for key \"Foo\""))],
        &Value::Nil,
        MissingKey::Error,
    );
    check(
        &[
            ("{{ .Foo }}", Err("template: test:1:3: executing \"test\" at <.Foo>: can't evaluate field Foo in type int")),
            ("a\nb {{ .X.Y }}", Err("template: test:2:7: executing \"test\" at <.X.Y>: can't evaluate field X in type int")),
            ("{{ . }}", Ok("7")),
        ],
        &Value::Int(7),
        MissingKey::Invalid,
    );
}

#[test]
fn comparisons_and_logic() {
    check(
        &[
            ("{{ eq 1 2 3 1 }} {{ lt 1.5 2.0 }} {{ not 0 }} {{ and 1 0 }} {{ or 0 \"\" \"x\" }} {{ ne \"a\" \"b\" }}", Ok("true true true 0 x true")),
            ("{{ ge 2 1 }} {{ gt 1 2 }} {{ le 1 1 }} {{ ge \"b\" \"a\" }} {{ ne 1 1 }}", Ok("true false true true false")),
            ("{{ eq .F 2.5 }} {{ lt .N 10 }} {{ eq .Labels.job \"node\" }}", Ok("true true true")),
            ("{{ eq .U 1 }} {{ lt 1 .U }} {{ eq .Nil nil }} {{ eq .Nil 1 }} {{ eq .Missing 1 }}", Ok("false true true false false")),
            ("{{ and 0 (index .List 10) }} {{ or 1 (index .List 10) }} {{ \"a\" | and }} {{ 0 | or }}", Ok("0 1 a 0")),
            (
                "{{ eq \"a\" 1 }}",
                Err("template: test:1:3: executing \"test\" at <eq \"a\" 1>: error calling eq: incompatible types for comparison: string and int"),
            ),
            (
                "{{ lt 1 2.0 }}",
                Err("template: test:1:3: executing \"test\" at <lt 1 2.0>: error calling lt: incompatible types for comparison: int and float64"),
            ),
            (
                "{{ lt true false }}",
                Err("template: test:1:3: executing \"test\" at <lt true false>: error calling lt: invalid type for comparison"),
            ),
            (
                "{{ eq .Labels .Labels }}",
                Err("template: test:1:3: executing \"test\" at <eq .Labels .Labels>: error calling eq: non-comparable type map[instance:host:9100 job:node]: map[string]string"),
            ),
            (
                "{{ and }}",
                Err("template: test:1:3: executing \"test\" at <and>: wrong number of args for and: want at least 1 got 0"),
            ),
            ("{{ not 1 2 }}", Err("template: test:1:3: executing \"test\" at <not>: wrong number of args for not: want 1 got 2")),
        ],
        &data(),
        MissingKey::Invalid,
    );
}

#[test]
fn index_slice_len() {
    check(
        &[
            (
                "{{ index .M \"a\" }} {{ index .List 2 }} {{ index .Nested 0 1 }} {{ index .Nested 1 \"k\" }} {{ index .M \"nope\" }}",
                Ok("x 3 b v <no value>"),
            ),
            ("{{ len .List }} {{ len \"héllo\" }} {{ len .M }} {{ len .Labels }} {{ len .Floats }}", Ok("3 6 3 2 4")),
            ("{{ slice \"hello\" 1 3 }} {{ slice .List 1 }} {{ slice \"hello\" }} {{ slice .List 0 1 2 }}", Ok("el [2 3] hello [1]")),
            ("{{ index \"abc\" 1 }}", Ok("98")),
            (
                "{{ index .List 10 }}",
                Err("template: test:1:3: executing \"test\" at <index .List 10>: error calling index: index out of range: 10"),
            ),
            (
                "{{ index .List 3 }}",
                Err("template: test:1:3: executing \"test\" at <index .List 3>: error calling index: reflect: slice index out of range"),
            ),
            (
                "{{ index .M 1 }}",
                Err("template: test:1:3: executing \"test\" at <index .M 1>: error calling index: value has type int; should be string"),
            ),
            (
                "{{ index nil 1 }}",
                Err("template: test:1:3: executing \"test\" at <index nil 1>: error calling index: index of untyped nil"),
            ),
            (
                "{{ slice \"hello\" 3 1 }}",
                Err("template: test:1:3: executing \"test\" at <slice \"hello\" 3 1>: error calling slice: invalid slice index: 3 > 1"),
            ),
            ("{{ len 3 }}", Err("template: test:1:3: executing \"test\" at <len 3>: error calling len: len of type int")),
            ("{{ len .Nil }}", Err("template: test:1:3: executing \"test\" at <len .Nil>: error calling len: len of nil pointer")),
            ("{{ 1 | len }}", Err("template: test:1:7: executing \"test\" at <len>: error calling len: len of type int")),
            ("{{ len }}", Err("template: test:1:3: executing \"test\" at <len>: wrong number of args for len: want 1 got 0")),
        ],
        &data(),
        MissingKey::Invalid,
    );
}

#[test]
fn printing() {
    check(
        &[
            (
                "{{ . }}",
                Ok("map[Empty:[] F:2.5 Floats:[0 1 1.234567e+06 0.12] Labels:map[instance:host:9100 job:node] List:[1 2 3] M:map[a:x b:2 z:<nil>] N:5 Nested:[[a b] map[k:v]] Nil:<nil> Ptr:0xc000010000 S:str St:{1 b 3 <nil>} T:true U:18446744073709551615]"),
            ),
            ("{{ .List }} {{ .M }} {{ .Labels }}", Ok("[1 2 3] map[a:x b:2 z:<nil>] map[instance:host:9100 job:node]")),
            ("{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"a\" }}|{{ print }}|{{ print nil 1 }}", Ok("1 2ab3|1 a\n||<nil> 1")),
            (
                "{{ printf \"%.2f|%5.1f|%-5d|%05d|%x|%X|%o|%e|%g|%q|%v|%s\" 0.4567 3.14159 42 42 255 255 8 1234.5678 0.000012345 \"a\\\"b\" 1.0 \"node\" }}",
                Ok("0.46|  3.1|42   |00042|ff|FF|10|1.234568e+03|1.2345e-05|\"a\\\"b\"|1|node"),
            ),
            ("{{ printf \"%d\" 3.5 }}", Ok("%!d(float64=3.5)")),
            ("{{ printf \"%d %d\" 1 }}|{{ printf \"%d\" 1 2 }}|{{ printf \"%!\" }}|{{ printf \"%\" }}", Ok("1 %!d(MISSING)|1%!(EXTRA int=2)|%!!(MISSING)|%!(NOVERB)")),
            ("{{ printf \"%v %+v %T\" .St .St .St }}", Ok("{1 b 3 <nil>} {A:1 B:b low:3 Iface:<nil>} main.T")),
            ("{{ printf \"%#v\" .St }}", Ok("main.T{A:1, B:\"b\", low:3, Iface:interface {}(nil)}")),
            ("{{ printf \"%q %#v\" .Labels .Labels }}", Ok("map[\"instance\":\"host:9100\" \"job\":\"node\"] map[string]string{\"instance\":\"host:9100\", \"job\":\"node\"}")),
            ("{{ printf \"%v|%d|%s\" .List .List .List }}", Ok("[1 2 3]|[1 2 3]|[%!s(int=1) %!s(int=2) %!s(int=3)]")),
            ("{{ printf \"%5t|%-8v|%08.3f|%+d|%x\" true \"ab\" -3.14159 5 \"hi\" }}", Ok(" true|ab      |-003.142|+5|6869")),
            ("{{ printf \"%[2]d %[1]d\" 1 2 }} {{ printf \"%*d|%-*d\" 4 1 3 2 }}", Ok("2 1    1|2  ")),
            ("{{ printf \"%c %U %#U %q\" 65 65 9786 9786 }}", Ok("A U+0041 U+263A '☺' '☺'")),
            ("{{ printf \"%T %x %d\" .U .U .U }}", Ok("uint64 ffffffffffffffff 18446744073709551615")),
            ("{{ printf \"%T\" .Floats }} {{ printf \"%.1f\" .Floats }}", Ok("[]float64 [0.0 1.0 1234567.0 0.1]")),
            ("{{ printf \"%x %.3x %b\" 3.5 1.0 1.0 }}", Ok("0x1.cp+01 0x1.000p+00 4503599627370496p-52")),
            ("{{ \"x\" | printf \"%s-%s\" \"a\" }} {{ 3 | printf \"%d\" }} {{ .N | printf \"%d%s\" }}", Ok("a-x 3 5%!s(MISSING)")),
            ("{{ .St.Iface | printf \"%v\" }} {{ printf \"%v\" .Missing }} {{ print .Missing }}", Ok("<nil> <nil> <nil>")),
            ("{{ $x := .Missing }}{{ $x }}|{{ $v := index .M \"z\" }}{{ $v }}", Ok("<no value>|<no value>")),
            ("{{ html \"<a&b>\\\"'\" }} {{ js \"it's<\\u2028\" }} {{ urlquery \"a b&c\" }}", Ok("&lt;a&amp;b&gt;&#34;&#39; it\\'s\\u003C\\u2028 a+b%26c")),
            ("{{ html .Missing }}|{{ html 1 2 }}|{{ urlquery .List }}|{{ js .Nil }}", Ok("&lt;no value&gt;|1 2|%5B1+2+3%5D|\\u003Cno value\\u003E")),
            ("{{ printf 1 }}", Err("template: test:1:10: executing \"test\" at <1>: expected string; found 1")),
            ("{{ printf .N }}", Err("template: test:1:10: executing \"test\" at <.N>: wrong type for value; expected string; got int")),
            ("{{ printf nil }}", Err("template: test:1:10: executing \"test\" at <nil>: cannot assign nil to string")),
            ("{{ 1 2 }}", Err("template: test:1:3: executing \"test\" at <1>: can't give argument to non-function 1")),
            ("{{ call 1 }}", Err("template: test:1:3: executing \"test\" at <call 1>: error calling call: non-function 1 of type int")),
            ("{{ call .Nil }}", Err("template: test:1:3: executing \"test\" at <call .Nil>: error calling call: call of nil")),
        ],
        &data(),
        MissingKey::Invalid,
    );
}

#[test]
fn associated_templates() {
    check(
        &[
            ("{{ define \"T\" }}[{{ . }}]{{ end }}{{ template \"T\" 5 }}{{ template \"T\" }}{{ template \"T\" .N }}", Ok("[5][<no value>][5]")),
            ("{{ block \"b\" . }}default{{ end }}", Ok("default")),
            ("{{ define \"a\" }}1{{ end }}{{ define \"a\" }} {{ end }}{{ template \"a\" }}", Ok("1")),
            ("{{ define \"v\" }}{{ $ }}{{ end }}{{ $x := 1 }}{{ template \"v\" $x }}", Ok("1")),
            (
                "{{ template \"nope\" }}",
                Err("template: test:1:12: executing \"test\" at <{{template \"nope\"}}>: template \"nope\" not defined"),
            ),
            (
                "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}",
                Err("template: test:1:25: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (100)"),
            ),
            (
                "{{ define \"e\" }}\n{{ .X }}{{ end }}{{ template \"e\" 1 }}",
                Err("template: test:2:3: executing \"e\" at <.X>: can't evaluate field X in type int"),
            ),
        ],
        &data(),
        MissingKey::Invalid,
    );

    // A later parse redefines a block; an empty body does not replace a definition.
    let t = Template::new("page")
        .parse("<{{ block \"b\" . }}default{{ end }}>")
        .unwrap()
        .parse("{{ define \"b\" }}override{{ end }}")
        .unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "<override>");
    assert_eq!(
        t.defined_templates(),
        vec!["b".to_string(), "page".to_string()]
    );
    assert_eq!(t.execute_template("b", &Value::Nil).unwrap(), "override");
    assert_eq!(
        t.execute_template("nope", &Value::Nil)
            .unwrap_err()
            .to_string(),
        "template: no template \"nope\" associated with template \"page\""
    );
    let only_defs = Template::new("x")
        .parse("{{ define \"y\" }}Y{{ end }}")
        .unwrap();
    assert_eq!(only_defs.execute(&Value::Nil).unwrap(), "");
    assert_eq!(
        Template::new("never")
            .execute(&Value::Nil)
            .unwrap_err()
            .to_string(),
        "template: never: \"never\" is an incomplete or empty template"
    );
}

#[test]
fn options() {
    assert_eq!(
        Template::new("t")
            .option("missingkey=bogus")
            .unwrap_err()
            .to_string(),
        "unrecognized option: missingkey=bogus"
    );
    assert_eq!(
        Template::new("t").option("").unwrap_err().to_string(),
        "empty option string"
    );
    let t = Template::new("t")
        .option("missingkey=error")
        .unwrap()
        .option("missingkey=default")
        .unwrap();
    assert_eq!(
        t.parse("{{ .x }}")
            .unwrap()
            .execute(&Value::map([("y", Value::Int(1))]))
            .unwrap(),
        "<no value>"
    );
}

#[test]
fn associated_files() {
    // What Prometheus' console templates do with their libraries (`ParseFiles`).
    let t = Template::new("console")
        .parse("{{ template \"head\" . }}|{{ template \"lib.html\" }}")
        .unwrap()
        .parse_associated("lib.html", "L{{ define \"head\" }}H{{ . }}{{ end }}")
        .unwrap();
    assert_eq!(t.execute(&Value::Int(1)).unwrap(), "H1|L");
    let err = Template::new("console")
        .parse_associated("lib.html", "\n{{ .X")
        .unwrap_err();
    assert_eq!(err.to_string(), "template: lib.html:2: unclosed action");
    let t = Template::new("console")
        .parse_associated("lib.html", "{{ define \"f\" }}{{ .X }}{{ end }}")
        .unwrap()
        .parse("{{ template \"f\" 1 }}")
        .unwrap();
    assert_eq!(
        t.execute(&Value::Nil).unwrap_err().to_string(),
        "template: lib.html:1:19: executing \"f\" at <.X>: can't evaluate field X in type int"
    );
}
