//! Prometheus' `template/template_test.go`, `TestTemplateExpansion`: every text-mode case,
//! expected outputs and error texts copied from it, through [`rules::expand::Expansion`]
//! (upstream's `NewTemplateExpander(...).Expand()`), with its query result, data,
//! options, time (1353755652000) and external URL (`http://testhost:9090/path/prefix`).
//!
//! Not ported: the `html: true` cases (`ExpandHTML`, HTML escaping and `tmpl`, which
//! this crate does not have) and the two native-histogram cases.

use gotemplate::{ExecLimits, Value};
use model::Labels;
use rules::expand::{Context, Expansion};

struct Case {
    text: &'static str,
    input: Value,
    options: Option<Vec<&'static str>>,
    query: Vec<promql::Sample>,
    want: Result<&'static str, &'static str>,
}

fn case(text: &'static str, want: &'static str) -> Case {
    Case {
        text,
        input: Value::Nil,
        options: None,
        query: Vec::new(),
        want: Ok(want),
    }
}

fn fails(text: &'static str, err: &'static str) -> Case {
    Case {
        want: Err(err),
        ..case(text, "")
    }
}

impl Case {
    fn input(mut self, v: Value) -> Self {
        self.input = v;
        self
    }
    fn query(mut self, samples: &[(&[(&str, &str)], f64)]) -> Self {
        self.query = samples
            .iter()
            .map(|(l, v)| promql::Sample {
                labels: Labels::from_pairs(l.iter().copied()),
                t: 0,
                v: *v,
                h: None,
            })
            .collect();
        self
    }
    fn options(mut self, o: &[&'static str]) -> Self {
        self.options = Some(o.to_vec());
        self
    }
}

fn list<T: Copy>(ty: &str, v: &[T], f: impl Fn(T) -> Value) -> Value {
    Value::typed_list(ty, v.iter().map(|&x| f(x)).collect())
}
fn floats(v: &[f64]) -> Value {
    list("[]float64", v, Value::Float)
}
fn strings(v: &[&str]) -> Value {
    list("[]string", v, Value::from)
}
fn ints(v: &[i64]) -> Value {
    list("[]int64", v, Value::Int)
}
fn uints(v: &[u64]) -> Value {
    list("[]uint64", v, Value::Uint)
}

fn expand(c: &Case) -> Result<String, String> {
    let context = Context {
        timestamp_ms: 1353755652000,
        external_url: "http://testhost:9090/path/prefix".to_string(),
    };
    let samples = c.query.clone();
    let query = move |_: &str| Ok(samples.clone());
    Expansion {
        name: "test",
        text: c.text,
        data: &c.input,
        context: &context,
        query: &query,
        options: c.options.as_deref(),
        limits: ExecLimits::default(),
    }
    .expand()
}

const METRIC_A: &[(&str, &str)] = &[("__name__", "metric"), ("instance", "a")];

#[test]
fn template_test_go() {
    let cases = vec![
        case("plain text", "plain text"),
        case("{{ 1 }}", "1"),
        fails("{{\u{a0}}}", "error parsing template test: template: test:1: unrecognized character in action: U+00A0"),
        case("{{ \"<b>\" }}", "<b>"),
        case("{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}", "1 2"),
        case("{{ query \"1.5\" | first | value }}", "1.5").query(&[(&[], 1.5)]),
        case("{{ query \"metric{instance='a'}\" | first | value }}", "11").query(&[(METRIC_A, 11.0)]),
        case("{{ query \"metric{instance='a'}\" | first | label \"instance\" }}", "a").query(&[(METRIC_A, 11.0)]),
        case("{{ query \"metric{__value__='a'}\" | first | strvalue }}", "a")
            .query(&[(&[("__name__", "metric"), ("__value__", "a")], 11.0)]),
        case("{{ query \"metric{instance='a'}\" | first | label \"foo\" }}", "").query(&[(METRIC_A, 11.0)]),
        case("{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", "").query(&[(METRIC_A, 11.0)]),
        case("{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}", "a:11: b:21: ")
            .query(&[(&[("__name__", "metric"), ("instance", "b")], 21.0), (METRIC_A, 11.0)]),
        case("{{ \"foo.example.com\" | stripPort }}", "foo.example.com"),
        case("{{ \"foo.example.com:12345\" | stripPort }}", "foo.example.com"),
        case("{{ \"192.0.2.1\" | stripPort }}", "192.0.2.1"),
        case("{{ \"192.0.2.1:12345\" | stripPort }}", "192.0.2.1"),
        case("{{ \"2001:0DB8::1\" | stripPort }}", "2001:0DB8::1"),
        case("{{ \"[2001:0DB8::1]:12345\" | stripPort }}", "2001:0DB8::1"),
        case("{{ \"[2001:0DB8::1]::12345\" | stripPort }}", "[2001:0DB8::1]::12345"),
        case("{{ .Foo }}", "<no value>"),
        case("{{ .Foo }}", "<no value>").options(&[]),
        fails("{{ .Foo }}", "error executing template test: template: test:1:3: executing \"test\" at <.Foo>: nil data; no entry for key \"Foo\"")
            .options(&["missingkey=error"]),
        fails("{{", "error parsing template test: template: test:1: unclosed action"),
        fails("{{ query \"missing\" | first }}", "error executing template test: template: test:1:21: executing \"test\" at <first>: error calling first: first() called on vector with no elements"),
        fails("{{ (query \"missing\").banana }}", "error executing template test: template: test:1:10: executing \"test\" at <\"missing\">: can't evaluate field banana in type template.queryResult"),
        case("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", "xa"),
        case("{{ range . }}{{ humanize . }}:{{ end }}", "0:1:1.235M:120m:").input(floats(&[0.0, 1.0, 1234567.0, 0.12])),
        case("{{ range . }}{{ humanize . }}:{{ end }}", "0:1:1.235M:120m:").input(strings(&["0.0", "1.0", "1234567.0", ".12"])),
        fails("{{ humanize \"one\" }}", "error executing template test: template: test:1:3: executing \"test\" at <humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax"),
        case("{{ range . }}{{ humanize . }}:{{ end }}", "0:-1:1:1.235M:9.223E:").input(ints(&[0, -1, 1, 1234567, i64::MAX])),
        case("{{ range . }}{{ humanize . }}:{{ end }}", "0:1:1.235M:18.45E:").input(uints(&[0, 1, 1234567, u64::MAX])),
        case("{{ range . }}{{ humanize1024 . }}:{{ end }}", "0:1:1Mi:0.12:").input(floats(&[0.0, 1.0, 1048576.0, 0.12])),
        case("{{ range . }}{{ humanize1024 . }}:{{ end }}", "0:1:1Mi:0.12:").input(strings(&["0.0", "1.0", "1048576.0", ".12"])),
        fails("{{ humanize1024 \"one\" }}", "error executing template test: template: test:1:3: executing \"test\" at <humanize1024 \"one\">: error calling humanize1024: strconv.ParseFloat: parsing \"one\": invalid syntax"),
        case("{{ range . }}{{ humanize1024 . }}:{{ end }}", "0:-1:1:1.177Mi:8Ei:").input(ints(&[0, -1, 1, 1234567, i64::MAX])),
        case("{{ range . }}{{ humanize1024 . }}:{{ end }}", "0:1:1.177Mi:16Ei:").input(uints(&[0, 1, 1234567, u64::MAX])),
        case("{{ range . }}{{ humanizeDuration . }}:{{ end }}", "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:")
            .input(floats(&[0.0, 1.0, 60.0, 3600.0, 86400.0, 86400.0 + 3600.0, -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0), 899.99])),
        case("{{ range . }}{{ humanizeDuration . }}:{{ end }}", "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:").input(strings(&["0", "1", "60", "3600", "86400"])),
        case("{{ range . }}{{ humanizeDuration . }}:{{ end }}", "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:")
            .input(floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])),
        case("{{ range . }}{{ humanizeDuration . }}:{{ end }}", "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:")
            .input(strings(&[".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"])),
        fails("{{ humanizeDuration \"one\" }}", "error executing template test: template: test:1:3: executing \"test\" at <humanizeDuration \"one\">: error calling humanizeDuration: strconv.ParseFloat: parsing \"one\": invalid syntax"),
        case("{{ range . }}{{ humanizeDuration . }}:{{ end }}", "0s:-1s:1s:14d 6h 56m 7s:").input(list("[]int", &[0, -1, 1, 1234567], Value::Int)),
        case("{{ range . }}{{ humanizeDuration . }}:{{ end }}", "0s:1s:14d 6h 56m 7s:").input(list("[]uint", &[0, 1, 1234567], Value::Uint)),
        case("{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}", "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:")
            .input(floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN])),
        case("{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}", "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:")
            .input(strings(&["+Inf", "-Inf", "NaN"])),
        case("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}", "-22.22%:0%:12.35%:123.5%"),
        case("{{ range . }}{{ humanizePercentage . }}:{{ end }}", "0%:-100%:100%:1.235e+08%:9.223e+20%:").input(ints(&[0, -1, 1, 1234567, i64::MAX])),
        case("{{ range . }}{{ humanizePercentage . }}:{{ end }}", "0%:100%:1.235e+08%:1.845e+21%:").input(uints(&[0, 1, 1234567, u64::MAX])),
        case("{{ \"-0.22222\" | humanizePercentage }}:{{ \"0.0\" | humanizePercentage }}:{{ \"0.1234567\" | humanizePercentage }}:{{ \"1.23456\" | humanizePercentage }}", "-22.22%:0%:12.35%:123.5%"),
        fails("{{ \"one\" | humanizePercentage }}", "error executing template test: template: test:1:11: executing \"test\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"),
        case("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:")
            .input(ints(&[0, -1, 1, 1234567, 9223372036])),
        case("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", "1970-01-01 00:00:00 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:")
            .input(uints(&[0, 1, 1234567, 9223372036])),
        fails("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", "error executing template test: template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64")
            .input(ints(&[i64::MIN, i64::MAX])),
        fails("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", "error executing template test: template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: 1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since it overflows int64")
            .input(uints(&[u64::MAX])),
        case("{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"),
        case("{{ \"1435065584.128\" | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"),
        case("{{ (1435065584.128 | toTime).Format \"2006\" }}", "2015"),
        case("{{ (\"1435065584.128\" | toTime).Format \"2006\" }}", "2015"),
        case("{{ (1800 | toDuration).String }}", "30m0s"),
        case("{{ (\"1800\" | toDuration).String }}", "30m0s"),
        case("{{ now }}", "1.353755652e+09"),
        case("{{ (now | toTime).Format \"Mon Jan 2 15:04:05 2006\" }}", "Sat Nov 24 11:14:12 2012"),
        case("{{ (\"-30m\" | parseDuration | toDuration | (now | toTime).Add).UnixMilli }}", "1353753852000"),
        case("{{ \"aa bb CC\" | title }}", "Aa Bb CC"),
        case("{{ \"aa bb CC\" | toUpper }}", "AA BB CC"),
        case("{{ \"aA bB CC\" | toLower }}", "aa bb cc"),
        case("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}", "true false"),
        case("{{ graphLink \"up\" }}", "/graph?g0.expr=up&g0.tab=0"),
        case("{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"),
        case("{{ pathPrefix }}", "/path/prefix"),
        case("{{ externalURL }}", "http://testhost:9090/path/prefix"),
        case("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", "3720.01"),
        case("{{ printf \"%0.2f\" (parseDuration \"-1h2m10ms\") }}", "-3720.01"),
        case("{{ \"foo.example.com\" | stripDomain }}", "foo"),
        case("{{ \"foo.example.com:12345\" | stripDomain }}", "foo:12345"),
        case("{{ \"192.0.2.1\" | stripDomain }}", "192.0.2.1"),
        case("{{ \"192.0.2.1:12345\" | stripDomain }}", "192.0.2.1:12345"),
        case("{{ \"2001:0DB8::1\" | stripDomain }}", "2001:0DB8::1"),
        case("{{ \"[2001:0DB8::1]:12345\" | stripDomain }}", "[2001:0DB8::1]:12345"),
        case("{{ \"[2001:0DB8::1]::12345\" | stripDomain }}", "[2001:0DB8::1]::12345"),
    ];
    let n = cases.len();
    let mut failures = Vec::new();
    for c in &cases {
        let got = expand(c);
        let want = c.want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!("{:?}\n   got  {got:?}\n   want {want:?}", c.text));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// More of the functions, beyond upstream's cases (expected values from Go's behaviour).
#[test]
fn more_functions() {
    let cases = vec![
        case("{{ reReplaceAll \"(a)(b)\" \"$1x|${1}x|$2$$|$\" \"abab\" }}", "|ax|b$|$|ax|b$|$"),
        case("{{ reReplaceAll \"(?P<host>[^:]+):(\\\\d+)\" \"$host\" \"h:1 g:2\" }}", "h g"),
        case("{{ urlQueryEscape \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9"),
        case("{{ graphLink \"rate(x[5m]) > 1\" }}", "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0"),
        case("{{ \"hello world-wide\" | title }}", "Hello World-Wide"),
        case("{{ safeHtml \"<b>\" }}", "<b>"),
        case("{{ (1 | toTime) }}", "1970-01-01 00:00:01 +0000 UTC"),
        case("{{ (90061.5 | toDuration) }}", "25h1m1.5s"),
        case("{{ toDuration 0.0000015 }}", "1.5\u{b5}s"),
        case("{{ (1435065584.128 | toTime).Format \"2006-01-02T15:04:05.000Z07:00 Monday\" }}", "2015-06-23T13:19:44.128Z Tuesday"),
        case("{{ (1435065584 | toTime).Unix }} {{ (1435065584 | toTime).Year }}", "1435065584 2015"),
        fails("{{ humanizeDuration (toDuration 90) }}", "error executing template test: template: test:1:3: executing \"test\" at <humanizeDuration (toDuration 90)>: error calling humanizeDuration: can't convert *time.Duration to float"),
        fails("{{ humanize . }}", "error executing template test: template: test:1:3: executing \"test\" at <humanize .>: error calling humanize: can't convert []string to float").input(strings(&["a"])),
        fails("{{ parseDuration \"5x\" }}", "error executing template test: template: test:1:3: executing \"test\" at <parseDuration \"5x\">: error calling parseDuration: not a valid duration string: \"5x\""),
        fails("{{ toTime \"NaN\" }}", "error executing template test: template: test:1:3: executing \"test\" at <toTime \"NaN\">: error calling toTime: value is NaN or Inf"),
        fails("{{ label \"a\" nil }}", "error executing template test: template: test:1:3: executing \"test\" at <label \"a\" nil>: error calling label: runtime error: invalid memory address or nil pointer dereference"),
        fails("{{ tmpl \"a\" . }}", "error parsing template test: template: test:1: function \"tmpl\" not defined"),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let got = expand(c);
        let want = c.want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!("{:?}\n   got  {got:?}\n   want {want:?}", c.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn regexp_errors() {
    assert_eq!(
        expand(&fails("{{ match \"(\" \"x\" }}", "")),
        Err("error executing template test: template: test:1:3: executing \"test\" at <match \"(\" \"x\">: error calling match: error parsing regexp: missing closing ): `(`".to_string())
    );
    assert_eq!(
        expand(&fails("{{ reReplaceAll \"a)\" \"\" \"\" }}", "")),
        Err("error executing template test: template: test:1:3: executing \"test\" at <reReplaceAll \"a)\" \"\" \"\">: error calling reReplaceAll: regexp: Compile(`a)`): error parsing regexp: unexpected ): `a)`".to_string())
    );
    // Go's texts (from Go's regexp/syntax tests and Prometheus 2.42).
    for (pattern, want) in [
        ("[", "missing closing ]: `[`"),
        ("a[b-", "missing closing ]: `[b-`"),
        ("*", "missing argument to repetition operator: `*`"),
        ("+?", "missing argument to repetition operator: `+?`"),
        ("\\q", "invalid escape sequence: `\\q`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("a{2,1}", "invalid repeat count: `{2,1}`"),
        ("a\\", "trailing backslash at end of expression: ``"),
    ] {
        let text = format!("{{{{ match `{pattern}` \"\" }}}}");
        let got = expand(&fails(Box::leak(text.into_boxed_str()), ""));
        let err = got.expect_err(pattern);
        assert!(
            err.ends_with(&format!(
                "error calling match: error parsing regexp: {want}"
            )),
            "{pattern}: {err}"
        );
    }
}

/// Annotations of an alert on `up{instance="h.example.com:9100",job="node"} == 0`, with
/// the outputs Prometheus 2.42's `promtool test rules` printed for them (Debian's build).
#[test]
fn alert_annotations_as_promtool_2_42_renders_them() {
    use rules::Expander;
    let cases: &[(&str, &str)] = &[
        (
            "{{ \"hello wORLD-foo_bar don't 3rd x.y o'neil élan ßa ǆa\" | title }}",
            "Hello WORLD-Foo_bar Don'T 3rd X.Y O'Neil Élan ßa ǅa",
        ),
        (
            "{{ \"straße ǆ ﬁ\" | toUpper }}|{{ \"İSTANBUL Σ\" | toLower }}",
            "STRAßE Ǆ ﬁ|istanbul σ",
        ),
        (
            "{{ reReplaceAll \"(a)(b)?\" \"[$1|${2}|$2x|$$|$]\" \"abaxa\" }}|{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}|{{ reReplaceAll \"\" \"-\" \"añb\" }}",
            "[a|b||$|$][a|||$|$]x[a|||$|$]|-b-c-|-a-ñ-b-",
        ),
        (
            "{{ humanize 0.000000000000000000000000001 }}|{{ humanize 1e27 }}|{{ humanize -0.5 }}|{{ humanize1024 -5000 }}|{{ humanizeDuration 0.0000000000001 }}|{{ humanizeDuration -86400.5 }}|{{ humanizePercentage \"1e-9\" }}",
            "0.001y|1000Y|-500m|-4.883ki|100fs|-1d 0h 0m 0s|1e-07%",
        ),
        (
            "{{ (1435065584.128 | toTime).Format \"Mon Monday Jan January 1 01 2 02 _2 15 3 03 4 04 5 05 06 2006 PM pm MST -0700 -07:00 Z07:00 Z0700 .000 .999 ,000 .9 002 __2 Janx Monx\" }}",
            "Tue Tuesday Jun June 6 06 23 23 23 13 1 01 19 19 44 44 15 2015 PM pm UTC +0000 +00:00 Z Z .128 .128 ,128 .1 174 174 Janx Monx",
        ),
        (
            "{{ (1435065584.128 | toTime) }}|{{ (-1.5 | toTime) }}",
            "2015-06-23 13:19:44.128 +0000 UTC|1969-12-31 23:59:58.5 +0000 UTC",
        ),
        (
            "{{ \"a.b.c:80\" | stripDomain }}|{{ \"[::1]\" | stripPort }}|{{ \":80\" | stripPort }}|{{ \"x:\" | stripDomain }}",
            "a:80|[::1]||x",
        ),
        (
            "{{ $value }}|{{ $labels }}|{{ . }}|{{ printf \"%v %T\" $value $value }}|{{ 1e21 }}|{{ 0.000001 }}",
            "0|map[__name__:up instance:h.example.com:9100 job:node]|{map[__name__:up instance:h.example.com:9100 job:node] map[]  0}|0 float64|1e+21|1e-06",
        ),
        (
            "{{ match \"^a$\" \"a\\nb\" }}|{{ reReplaceAll \"(?i)A\" \"x\" \"aA\" }}|{{ reReplaceAll \"(?P<n>b)\" \"<$n>\" \"abc\" }}",
            "false|xx|a<b>c",
        ),
    ];
    let labels = Labels::from_pairs([
        ("__name__", "up"),
        ("instance", "h.example.com:9100"),
        ("job", "node"),
    ]);
    let empty = Labels::default();
    let query = |_: &str| Ok(Vec::new());
    let data = rules::TemplateData {
        rule_name: "A",
        labels: &labels,
        value: 0.0,
        external_labels: &empty,
        external_url: "",
        eval_time_ms: 60_000,
        query: &query,
    };
    let expander = rules::GoTemplates::new();
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = expander.expand(text, &data);
        if got.as_deref() != Ok(*want) {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
