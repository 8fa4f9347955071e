//! Prometheus' uses of text/template: the cases of `template/template_test.go` (expected
//! outputs and errors copied from it, without the `error parsing/executing template test: `
//! prefix Prometheus' `Expand` adds) and alerting-rule templates built as `rules/alerting.go`
//! builds them. The template functions here are minimal stand-ins with Prometheus' Go
//! signatures, enough to drive the engine; the real ones are the next step's work.

use std::sync::Arc;

use gotemplate::go::{parse_float, sprintf};
use gotemplate::{ArgKind, ArgType, Func, FuncMap, HostValue, Signature, Struct, Template, Value};

/// `*time.Time` (or `time.Time` once `Add` returned one), nanoseconds since the epoch.
#[derive(Debug)]
struct Time {
    ns: i64,
    ptr: bool,
}

/// `*time.Duration`.
#[derive(Debug)]
struct Duration {
    ns: i64,
}

fn year_of(ns: i64) -> i64 {
    // Howard Hinnant's civil_from_days.
    let z = ns.div_euclid(86_400_000_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    yoe + era * 400 + i64::from(mp >= 10)
}

impl HostValue for Time {
    fn go_type_name(&self) -> String {
        if self.ptr { "*time.Time" } else { "time.Time" }.to_string()
    }

    fn method(&self, name: &str) -> Option<Signature> {
        Some(match name {
            "Format" => Signature::new(vec![ArgType::String]),
            "Add" => Signature::new(vec![ArgType::Named("time.Duration", ArgKind::Int)]),
            "UnixMilli" => Signature::new(vec![]),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match name {
            "Format" if args[0].as_str() == Some("2006") => {
                Ok(Value::from(year_of(self.ns).to_string()))
            }
            "Add" => {
                let d = match &args[0] {
                    Value::Int(n) => *n,
                    v => v.host_ref::<Duration>().ok_or("not a duration")?.ns,
                };
                Ok(Value::host(Time {
                    ns: self.ns + d,
                    ptr: false,
                }))
            }
            "UnixMilli" => Ok(Value::Int(self.ns.div_euclid(1_000_000))),
            _ => Err(format!("{name}: not supported by this stand-in")),
        }
    }
}

impl Duration {
    fn go_string(&self) -> String {
        let s = self.ns / 1_000_000_000;
        let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
        match (h, m) {
            (0, 0) => format!("{s}s"),
            (0, _) => format!("{m}m{s}s"),
            _ => format!("{h}h{m}m{s}s"),
        }
    }
}

impl HostValue for Duration {
    fn go_type_name(&self) -> String {
        "*time.Duration".to_string()
    }

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "String").then(|| Signature::new(vec![]))
    }

    fn call_method(&self, _name: &str, _args: &[Value]) -> Result<Value, String> {
        Ok(Value::from(self.go_string()))
    }

    fn string(&self) -> Option<String> {
        Some(self.go_string())
    }
}

/// Prometheus' `ConvertToFloat`.
fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        Value::String(s) => parse_float(s),
        other => Err(format!("can't convert {} to float", other.go_type())),
    }
}

fn humanize(v: f64, base: f64, big: &[&str], small: &[&str]) -> String {
    let mut v = v;
    if v == 0.0 || v.is_nan() || v.is_infinite() || (base == 1024.0 && v.abs() <= 1.0) {
        return sprintf("%.4g", &[Value::Float(v)]);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in big {
            if v.abs() < base {
                break;
            }
            prefix = p;
            v /= base;
        }
    } else {
        for p in small {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    sprintf("%.4g%s", &[Value::Float(v), Value::from(prefix)])
}

type Sample = (Vec<(&'static str, &'static str)>, f64);

/// Template, data, query result, expected output or error.
type Case = (
    &'static str,
    Value,
    Vec<Sample>,
    Result<&'static str, &'static str>,
);

fn sample(labels: &[(&str, &str)], v: f64) -> Value {
    Value::struct_ptr(
        Struct::new("template.sample")
            .field("Labels", Value::labels(labels.iter().copied()))
            .iface_field("Value", Value::Float(v)),
    )
}

fn label_of(s: &Value, name: &str) -> String {
    match s {
        Value::StructPtr(st) => match st.get("Labels") {
            Some(Value::Labels(m)) => m.get(name).cloned().unwrap_or_default(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// Stand-ins for Prometheus' functions, with Prometheus' Go signatures.
fn prom_funcs(vector: Vec<Sample>) -> FuncMap {
    use ArgType::{Any, String as Str};
    let result = ArgType::Named("template.queryResult", ArgKind::Slice);
    let sample_t = ArgType::Named("*template.sample", ArgKind::Pointer);
    let vector = Arc::new(vector);
    let mut f = FuncMap::new();
    f.add("query", vec![Str], move |_| {
        let items = vector.iter().map(|(l, v)| sample(l, *v)).collect();
        Ok(Value::typed_list("template.queryResult", items))
    });
    f.add("first", vec![result.clone()], |a| match &a[0] {
        Value::List(l) if !l.items().is_empty() => Ok(l.items()[0].clone()),
        _ => Err("first() called on vector with no elements".to_string()),
    });
    f.add("label", vec![Str, sample_t.clone()], |a| {
        Ok(Value::from(label_of(&a[1], a[0].as_str().unwrap_or(""))))
    });
    f.add("value", vec![sample_t], |a| match &a[0] {
        Value::StructPtr(s) => Ok(s.get("Value").cloned().unwrap_or(Value::Nil)),
        _ => Ok(Value::Nil),
    });
    f.insert(
        "args",
        Func::new(Signature::variadic(vec![], Any), |a| {
            Ok(Value::map(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (format!("arg{i}"), v.clone())),
            ))
        }),
    );
    f.add("sortByLabel", vec![Str, result], |a| {
        let by = a[0].as_str().unwrap_or("").to_string();
        let mut items = match &a[1] {
            Value::List(l) => l.items().to_vec(),
            _ => vec![],
        };
        items.sort_by_key(|s| label_of(s, &by));
        Ok(Value::typed_list("template.queryResult", items))
    });
    let big = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
    let small = ["m", "u", "n", "p", "f", "a", "z", "y"];
    f.add("humanize", vec![Any], move |a| {
        Ok(Value::from(humanize(
            to_float(&a[0])?,
            1000.0,
            &big,
            &small,
        )))
    });
    let big1024 = ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];
    f.add("humanize1024", vec![Any], move |a| {
        Ok(Value::from(humanize(
            to_float(&a[0])?,
            1024.0,
            &big1024,
            &[],
        )))
    });
    f.add("humanizePercentage", vec![Any], |a| {
        Ok(Value::from(sprintf(
            "%.4g%%",
            &[Value::Float(to_float(&a[0])? * 100.0)],
        )))
    });
    f.add("humanizeTimestamp", vec![Any], |a| {
        let v = to_float(&a[0])?;
        let ts = v * 1e9;
        if ts > i64::MAX as f64 || ts < i64::MIN as f64 {
            return Err(sprintf(
                "%v cannot be represented as a nanoseconds timestamp since it overflows int64",
                &[Value::Float(v)],
            ));
        }
        Err("formatting times is not supported by this stand-in".to_string())
    });
    f.add("toTime", vec![Any], |a| {
        Ok(Value::host(Time {
            ns: (to_float(&a[0])? * 1e9) as i64,
            ptr: true,
        }))
    });
    f.add("toDuration", vec![Any], |a| {
        Ok(Value::host(Duration {
            ns: (to_float(&a[0])? * 1e9) as i64,
        }))
    });
    f.add("now", vec![], |_| {
        Ok(Value::Float(1353755652000.0 / 1000.0))
    });
    f.add("parseDuration", vec![Str], |a| match a[0].as_str() {
        Some("1h2m10ms") => Ok(Value::Float(3720.01)),
        Some("-1h2m10ms") => Ok(Value::Float(-3720.01)),
        Some("-30m") => Ok(Value::Float(-1800.0)),
        _ => Err("not a valid duration string".to_string()),
    });
    f.add("toUpper", vec![Str], |a| {
        Ok(Value::from(a[0].as_str().unwrap_or("").to_uppercase()))
    });
    f.add("toLower", vec![Str], |a| {
        Ok(Value::from(a[0].as_str().unwrap_or("").to_lowercase()))
    });
    f.add("pathPrefix", vec![], |_| Ok(Value::from("/path/prefix")));
    f.add("externalURL", vec![], |_| {
        Ok(Value::from("http://testhost:9090/path/prefix"))
    });
    f
}

/// Prometheus' `Expander.Expand` with its default option, minus its error prefixes.
fn expand(text: &str, data: Value, vector: Vec<Sample>) -> Result<String, String> {
    let t = Template::new("test")
        .funcs(&prom_funcs(vector))
        .option("missingkey=zero")
        .map_err(|e| e.to_string())?
        .parse(text)
        .map_err(|e| e.to_string())?;
    t.execute(&data).map_err(|e| e.to_string())
}

fn floats(v: &[f64]) -> Value {
    Value::typed_list("[]float64", v.iter().map(|&f| Value::Float(f)).collect())
}

fn strings(v: &[&str]) -> Value {
    Value::typed_list("[]string", v.iter().map(|&s| Value::from(s)).collect())
}

fn ints(v: &[i64]) -> Value {
    Value::typed_list("[]int64", v.iter().map(|&i| Value::Int(i)).collect())
}

fn uints(v: &[u64]) -> Value {
    Value::typed_list("[]uint64", v.iter().map(|&u| Value::Uint(u)).collect())
}

#[test]
fn template_test_go_expansions() {
    let metric_a = || vec![(vec![("__name__", "metric"), ("instance", "a")], 11.0)];
    let cases: Vec<Case> = vec![
        ("plain text", Value::Nil, vec![], Ok("plain text")),
        ("{{ 1 }}", Value::Nil, vec![], Ok("1")),
        ("{{\u{a0}}}", Value::Nil, vec![], Err("template: test:1: unrecognized character in action: U+00A0")),
        ("{{ \"<b>\" }}", Value::Nil, vec![], Ok("<b>")),
        ("{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}", Value::Nil, vec![], Ok("1 2")),
        ("{{ query \"1.5\" | first | value }}", Value::Nil, vec![(vec![], 1.5)], Ok("1.5")),
        ("{{ query \"metric{instance='a'}\" | first | value }}", Value::Nil, metric_a(), Ok("11")),
        ("{{ query \"metric{instance='a'}\" | first | label \"instance\" }}", Value::Nil, metric_a(), Ok("a")),
        ("{{ query \"metric{instance='a'}\" | first | label \"foo\" }}", Value::Nil, metric_a(), Ok("")),
        ("{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", Value::Nil, metric_a(), Ok("")),
        (
            "{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}",
            Value::Nil,
            vec![
                (vec![("__name__", "metric"), ("instance", "b")], 21.0),
                (vec![("__name__", "metric"), ("instance", "a")], 11.0),
            ],
            Ok("a:11: b:21: "),
        ),
        ("{{ .Foo }}", Value::Nil, vec![], Ok("<no value>")),
        ("{{", Value::Nil, vec![], Err("template: test:1: unclosed action")),
        (
            "{{ query \"missing\" | first }}",
            Value::Nil,
            vec![],
            Err("template: test:1:21: executing \"test\" at <first>: error calling first: first() called on vector with no elements"),
        ),
        (
            "{{ (query \"missing\").banana }}",
            Value::Nil,
            vec![],
            Err("template: test:1:10: executing \"test\" at <\"missing\">: can't evaluate field banana in type template.queryResult"),
        ),
        ("{{ range . }}{{ humanize . }}:{{ end }}", floats(&[0.0, 1.0, 1234567.0, 0.12]), vec![], Ok("0:1:1.235M:120m:")),
        ("{{ range . }}{{ humanize . }}:{{ end }}", strings(&["0.0", "1.0", "1234567.0", ".12"]), vec![], Ok("0:1:1.235M:120m:")),
        (
            "{{ humanize \"one\" }}",
            Value::Nil,
            vec![],
            Err("template: test:1:3: executing \"test\" at <humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax"),
        ),
        ("{{ range . }}{{ humanize . }}:{{ end }}", ints(&[0, -1, 1, 1234567, i64::MAX]), vec![], Ok("0:-1:1:1.235M:9.223E:")),
        ("{{ range . }}{{ humanize . }}:{{ end }}", uints(&[0, 1, 1234567, u64::MAX]), vec![], Ok("0:1:1.235M:18.45E:")),
        ("{{ range . }}{{ humanize1024 . }}:{{ end }}", floats(&[0.0, 1.0, 1048576.0, 0.12]), vec![], Ok("0:1:1Mi:0.12:")),
        ("{{ range . }}{{ humanize1024 . }}:{{ end }}", ints(&[0, -1, 1, 1234567, i64::MAX]), vec![], Ok("0:-1:1:1.177Mi:8Ei:")),
        ("{{ range . }}{{ humanize1024 . }}:{{ end }}", uints(&[0, 1, 1234567, u64::MAX]), vec![], Ok("0:1:1.177Mi:16Ei:")),
        (
            "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ end }}",
            floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN]),
            vec![],
            Ok("+Inf:+Inf:-Inf:-Inf:NaN:NaN:"),
        ),
        (
            "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
            Value::Nil,
            vec![],
            Ok("-22.22%:0%:12.35%:123.5%"),
        ),
        ("{{ range . }}{{ humanizePercentage . }}:{{ end }}", ints(&[0, -1, 1, 1234567, i64::MAX]), vec![], Ok("0%:-100%:100%:1.235e+08%:9.223e+20%:")),
        ("{{ range . }}{{ humanizePercentage . }}:{{ end }}", uints(&[0, 1, 1234567, u64::MAX]), vec![], Ok("0%:100%:1.235e+08%:1.845e+21%:")),
        (
            "{{ \"-0.22222\" | humanizePercentage }}:{{ \"0.0\" | humanizePercentage }}:{{ \"0.1234567\" | humanizePercentage }}:{{ \"1.23456\" | humanizePercentage }}",
            Value::Nil,
            vec![],
            Ok("-22.22%:0%:12.35%:123.5%"),
        ),
        (
            "{{ \"one\" | humanizePercentage }}",
            Value::Nil,
            vec![],
            Err("template: test:1:11: executing \"test\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"),
        ),
        (
            "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
            ints(&[i64::MIN, i64::MAX]),
            vec![],
            Err("template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"),
        ),
        (
            "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
            uints(&[u64::MAX]),
            vec![],
            Err("template: test:1:16: executing \"test\" at <humanizeTimestamp .>: error calling humanizeTimestamp: 1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since it overflows int64"),
        ),
        ("{{ (1435065584.128 | toTime).Format \"2006\" }}", Value::Nil, vec![], Ok("2015")),
        ("{{ (\"1435065584.128\" | toTime).Format \"2006\" }}", Value::Nil, vec![], Ok("2015")),
        ("{{ (1800 | toDuration).String }}", Value::Nil, vec![], Ok("30m0s")),
        ("{{ (\"1800\" | toDuration).String }}", Value::Nil, vec![], Ok("30m0s")),
        ("{{ now }}", Value::Nil, vec![], Ok("1.353755652e+09")),
        ("{{ (\"-30m\" | parseDuration | toDuration | (now | toTime).Add).UnixMilli }}", Value::Nil, vec![], Ok("1353753852000")),
        ("{{ \"aa bb CC\" | toUpper }}", Value::Nil, vec![], Ok("AA BB CC")),
        ("{{ \"aA bB CC\" | toLower }}", Value::Nil, vec![], Ok("aa bb cc")),
        ("{{ pathPrefix }}", Value::Nil, vec![], Ok("/path/prefix")),
        ("{{ externalURL }}", Value::Nil, vec![], Ok("http://testhost:9090/path/prefix")),
        ("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", Value::Nil, vec![], Ok("3720.01")),
        ("{{ printf \"%0.2f\" (parseDuration \"-1h2m10ms\") }}", Value::Nil, vec![], Ok("-3720.01")),
    ];
    let mut failures = Vec::new();
    let n = cases.len();
    for (text, data, vector, want) in cases {
        let got = expand(text, data, vector);
        let want = want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn missing_key_options_as_prometheus_passes_them() {
    let run = |opt: Option<&str>| {
        let mut t = Template::new("test");
        if let Some(o) = opt {
            t = t.option(o).unwrap();
        }
        t.parse("{{ .Foo }}")
            .unwrap()
            .execute(&Value::Nil)
            .map_err(|e| e.to_string())
    };
    assert_eq!(run(Some("missingkey=zero")), Ok("<no value>".to_string()));
    assert_eq!(run(None), Ok("<no value>".to_string()));
    assert_eq!(
        run(Some("missingkey=error")),
        Err(
            "template: test:1:3: executing \"test\" at <.Foo>: nil data; no entry for key \"Foo\""
                .to_string()
        )
    );
}

const DEFS: &str =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";
const ALERT_TYPE: &str =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

/// `template.AlertTemplateData`.
fn alert_data(value: f64) -> Value {
    Value::structure(
        Struct::new(ALERT_TYPE)
            .field(
                "Labels",
                Value::labels([("instance", "host:9100"), ("job", "node")]),
            )
            .field("ExternalLabels", Value::labels([("cluster", "eu1")]))
            .field("ExternalURL", Value::from("http://prom:9090"))
            .iface_field("Value", Value::Float(value)),
    )
}

/// An alert label or annotation as `rules/alerting.go` expands it.
fn expand_alert(text: &str, value: f64, vector: Vec<Sample>) -> Result<String, String> {
    let t = Template::new("__alert_HighLoad")
        .funcs(&prom_funcs(vector))
        .option("missingkey=zero")
        .map_err(|e| e.to_string())?
        .parse(&format!("{DEFS}{text}"))
        .map_err(|e| e.to_string())?;
    t.execute(&alert_data(value)).map_err(|e| e.to_string())
}

#[test]
fn alerting_rule_templates() {
    let ok = |text: &str, value: f64| expand_alert(text, value, vec![]).unwrap();
    assert_eq!(
        ok("{{ $labels.instance }} is {{ $value }}", 1234567.0),
        "host:9100 is 1.234567e+06"
    );
    assert_eq!(ok("{{ $value }}|{{ .Value }}", 1e6), "1e+06|1e+06");
    assert_eq!(ok("{{ $value }}|{{ .Value }}", 100.0), "100|100");
    assert_eq!(ok("[{{ $labels.nope }}]", 1.0), "[]");
    assert_eq!(
        ok(
            "{{ $value | humanize }} {{ humanizePercentage $value }}",
            0.4567
        ),
        "456.7m 45.67%"
    );
    assert_eq!(ok("{{ printf \"%.2f\" $value }}", 0.4567), "0.46");
    assert_eq!(ok("{{ $labels }}", 1.0), "map[instance:host:9100 job:node]");
    assert_eq!(
        ok("{{ $externalLabels.cluster }} {{ $externalURL }}", 1.0),
        "eu1 http://prom:9090"
    );
    assert_eq!(
        ok("{{ if gt $value 0.5 }}high{{ else }}low{{ end }}", 0.7),
        "high"
    );
    assert_eq!(ok("{{ $value }} {{ $value }}", f64::NAN), "NaN NaN");
    assert_eq!(ok("{{ $value }}", f64::NEG_INFINITY), "-Inf");
    assert_eq!(
        ok("{{ . }}", 2.0),
        "{map[instance:host:9100 job:node] map[cluster:eu1] http://prom:9090 2}"
    );
    assert_eq!(
        expand_alert(
            "{{ range query \"up\" }}{{ .Labels.job }} {{ .Value }};{{ end }}",
            1.0,
            vec![(vec![("job", "a")], 1.0), (vec![("job", "b")], 0.0)]
        ),
        Ok("a 1;b 0;".to_string())
    );
    let col = DEFS.len() + 3;
    assert_eq!(
        expand_alert("{{ .Missing }}", 1.0, vec![]),
        Err(format!(
            "template: __alert_HighLoad:1:{col}: executing \"__alert_HighLoad\" at <.Missing>: can't evaluate field Missing in type {ALERT_TYPE}"
        ))
    );
    assert_eq!(
        expand_alert("{{ $value.X }}", 1.0, vec![]),
        Err(format!(
            "template: __alert_HighLoad:1:{}: executing \"__alert_HighLoad\" at <$value.X>: can't evaluate field X in type float64",
            DEFS.len() + 9
        ))
    );
    assert_eq!(
        expand_alert("{{ .Value.X }}", 1.0, vec![]),
        Err(format!(
            "template: __alert_HighLoad:1:{}: executing \"__alert_HighLoad\" at <.Value.X>: can't evaluate field X in type interface {{}}",
            DEFS.len() + 9
        ))
    );
    assert_eq!(
        expand_alert("{{ $label.foo }}", 1.0, vec![]),
        Err("template: __alert_HighLoad:1: undefined variable \"$label\"".to_string())
    );
    assert_eq!(
        expand_alert("{{ humanize }}", 1.0, vec![]),
        Err(format!(
            "template: __alert_HighLoad:1:{col}: executing \"__alert_HighLoad\" at <humanize>: wrong number of args for humanize: want 1 got 0"
        ))
    );
    assert_eq!(
        expand_alert("{{ label 1 . }}", 1.0, vec![]),
        Err(format!(
            "template: __alert_HighLoad:1:{}: executing \"__alert_HighLoad\" at <1>: expected string; found 1",
            DEFS.len() + 9
        ))
    );
    assert_eq!(
        expand_alert("{{ label \"job\" . }}", 1.0, vec![]),
        Err(format!(
            "template: __alert_HighLoad:1:{}: executing \"__alert_HighLoad\" at <.>: wrong type for value; expected *template.sample; got {ALERT_TYPE}",
            DEFS.len() + 15
        ))
    );
}
