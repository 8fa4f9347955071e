//! Host functions and host objects: argument checking and conversion as Go's reflection does
//! it, error wrapping, state, replacement of builtins, methods with arguments.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gotemplate::{
    ArgKind, ArgType, ErrorKind, Func, FuncMap, HostValue, Signature, Template, Value,
};

#[derive(Debug)]
struct Clock {
    ms: i64,
}

#[derive(Debug)]
struct Span {
    ms: i64,
}

impl HostValue for Span {
    fn go_type_name(&self) -> String {
        "*time.Duration".to_string()
    }
}

impl HostValue for Clock {
    fn go_type_name(&self) -> String {
        "*time.Time".to_string()
    }

    fn field(&self, name: &str) -> Option<Value> {
        (name == "Ms").then_some(Value::Int(self.ms))
    }

    fn method(&self, name: &str) -> Option<Signature> {
        Some(match name {
            "Plus" => Signature::new(vec![ArgType::Named("time.Duration", ArgKind::Int)]),
            "Label" => Signature::new(vec![ArgType::String]),
            "Ms2" | "Fail" => Signature::new(vec![]),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match name {
            "Plus" => {
                let d = match &args[0] {
                    Value::Int(n) => *n,
                    v => v.host_ref::<Span>().ok_or("not a duration")?.ms,
                };
                Ok(Value::host(Clock { ms: self.ms + d }))
            }
            "Label" => Ok(Value::from(format!(
                "{}@{}",
                args[0].as_str().unwrap_or(""),
                self.ms
            ))),
            "Ms2" => Ok(Value::Int(self.ms * 2)),
            _ => Err("boom".to_string()),
        }
    }

    fn string(&self) -> Option<String> {
        Some(format!("clock({})", self.ms))
    }
}

fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.add("double", vec![ArgType::Int], |a| match a[0] {
        Value::Int(i) => Ok(Value::Int(i * 2)),
        _ => Err("not an int".to_string()),
    });
    f.add("half", vec![ArgType::Float], |a| match a[0] {
        Value::Float(x) => Ok(Value::Float(x / 2.0)),
        _ => Err("not a float".to_string()),
    });
    f.add("flag", vec![ArgType::Bool], |a| {
        Ok(Value::from(format!("{:?}", a[0])))
    });
    f.add("fail", vec![], |_| Err("it failed".to_string()));
    f.add("boom", vec![], |_| panic!("kaboom"));
    f.add("show", vec![ArgType::Any], |a| {
        Ok(Value::from(format!("{:?}", a[0])))
    });
    f.add(
        "first",
        vec![ArgType::Named("template.queryResult", ArgKind::Slice)],
        |a| Ok(Value::from(format!("{:?}", a[0]))),
    );
    f.insert(
        "join",
        Func::new(Signature::variadic(vec![], ArgType::String), |a| {
            Ok(Value::from(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ))
        }),
    );
    f.insert(
        "prefixed",
        Func::new(
            Signature::variadic(vec![ArgType::String], ArgType::Any),
            |a| {
                Ok(Value::from(format!(
                    "{}{}",
                    a[0].as_str().unwrap_or(""),
                    a.len() - 1
                )))
            },
        ),
    );
    f.add("clock", vec![], |_| Ok(Value::host(Clock { ms: 1000 })));
    f.add("span", vec![], |_| Ok(Value::host(Span { ms: 5 })));
    f
}

fn run(text: &str, data: &Value) -> Result<String, String> {
    let t = Template::new("t")
        .funcs(&funcs())
        .parse(text)
        .map_err(|e| e.to_string())?;
    t.execute(data).map_err(|e| e.to_string())
}

#[test]
fn typed_parameters() {
    let d = Value::map([
        ("N", Value::Int(5)),
        ("F", Value::Float(2.5)),
        ("S", Value::from("s")),
    ]);
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("{{ double 21 }} {{ double .N }} {{ 4 | double }} {{ half 3 }} {{ half .F }}", Ok("42 10 8 1.5 1.25")),
        ("{{ double \"x\" }}", Err("template: t:1:10: executing \"t\" at <\"x\">: expected integer; found \"x\"")),
        ("{{ double 1.5 }}", Err("template: t:1:10: executing \"t\" at <1.5>: expected integer; found 1.5")),
        ("{{ double .F }}", Err("template: t:1:10: executing \"t\" at <.F>: wrong type for value; expected int; got float64")),
        ("{{ double nil }}", Err("template: t:1:10: executing \"t\" at <nil>: cannot assign nil to int")),
        ("{{ double .Nope }}", Err("template: t:1:10: executing \"t\" at <.Nope>: invalid value; expected int")),
        ("{{ double }}", Err("template: t:1:3: executing \"t\" at <double>: wrong number of args for double: want 1 got 0")),
        ("{{ double 1 2 }}", Err("template: t:1:3: executing \"t\" at <double>: wrong number of args for double: want 1 got 2")),
        ("{{ 1 | double 2 }}", Err("template: t:1:7: executing \"t\" at <double>: wrong number of args for double: want 1 got 2")),
        ("{{ flag true }}", Ok("Bool(true)")),
        ("{{ flag 1 }}", Err("template: t:1:8: executing \"t\" at <1>: expected bool; found 1")),
        ("{{ show .Nope }} {{ show nil }} {{ show 1.0 }} {{ show .S }}", Ok("Nil Nil Float(1.0) String(\"s\")")),
        ("{{ first nil }}", Ok("Nil")),
        ("{{ first 1 }}", Err("template: t:1:9: executing \"t\" at <1>: can't handle 1 for arg of type template.queryResult")),
        ("{{ first .S }}", Err("template: t:1:9: executing \"t\" at <.S>: wrong type for value; expected template.queryResult; got string")),
        ("{{ join }}|{{ join \"a\" \"b\" }}|{{ \"c\" | join \"a\" }}", Ok("|a,b|a,c")),
        ("{{ join 1 }}", Err("template: t:1:8: executing \"t\" at <1>: expected string; found 1")),
        ("{{ prefixed \"n\" 1 2 3 }} {{ 4 | prefixed \"m\" }}", Ok("n3 m1")),
        ("{{ prefixed }}", Err("template: t:1:3: executing \"t\" at <prefixed>: wrong number of args for prefixed: want at least 1 got 0")),
        ("{{ fail }}", Err("template: t:1:3: executing \"t\" at <fail>: error calling fail: it failed")),
        ("{{ 1 | show | fail }}", Err("template: t:1:14: executing \"t\" at <fail>: wrong number of args for fail: want 0 got 1")),
        ("{{ boom }}", Err("template: t:1:3: executing \"t\" at <boom>: error calling boom: kaboom")),
        ("{{ (fail).X }}", Err("template: t:1:4: executing \"t\" at <fail>: error calling fail: it failed")),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text, &d);
        let want = want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn host_objects() {
    let d = Value::map([
        ("Clock", Value::host(Clock { ms: 1000 })),
        ("S", Value::from("s")),
    ]);
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("{{ .Clock.Ms }} {{ .Clock.Ms2 }} {{ .Clock.Label \"x\" }} {{ \"y\" | .Clock.Label }}", Ok("1000 2000 x@1000 y@1000")),
        ("{{ (.Clock.Plus 5).Ms }} {{ (.Clock.Plus span).Ms }} {{ (span | clock.Plus).Ms }}", Ok("1005 1005 1005")),
        ("{{ . }}", Ok("map[Clock:clock(1000) S:s]")),
        ("{{ .Clock }}|{{ printf \"%v|%s|%q|%T|%5.3s\" .Clock .Clock .Clock .Clock .Clock }}", Ok("clock(1000)|clock(1000)|clock(1000)|\"clock(1000)\"|*time.Time|  clo")),
        ("{{ if .Clock }}t{{ end }} {{ eq .Clock .Clock }} {{ eq clock clock }}", Ok("t true false")),
        ("{{ .Clock.Label }}", Err("template: t:1:9: executing \"t\" at <.Clock.Label>: wrong number of args for Label: want 1 got 0")),
        ("{{ .Clock.Label 1 }}", Err("template: t:1:16: executing \"t\" at <1>: expected string; found 1")),
        ("{{ .Clock.Ms2 1 }}", Err("template: t:1:9: executing \"t\" at <.Clock.Ms2>: wrong number of args for Ms2: want 0 got 1")),
        ("{{ .Clock.Plus \"x\" }}", Err("template: t:1:15: executing \"t\" at <\"x\">: expected integer; found \"x\"")),
        ("{{ .Clock.Plus .S }}", Err("template: t:1:15: executing \"t\" at <.S>: wrong type for value; expected time.Duration; got string")),
        ("{{ .Clock.Nope }}", Err("template: t:1:9: executing \"t\" at <.Clock.Nope>: can't evaluate field Nope in type interface {}")),
        ("{{ clock.Nope }}", Err("template: t:1:3: executing \"t\" at <clock>: can't evaluate field Nope in type *time.Time")),
        ("{{ .Clock.Ms 1 }}", Err("template: t:1:9: executing \"t\" at <.Clock.Ms>: Ms has arguments but cannot be invoked as function")),
        ("{{ .Clock.Fail }}", Err("template: t:1:9: executing \"t\" at <.Clock.Fail>: error calling Fail: boom")),
        ("{{ len .Clock }}", Err("template: t:1:3: executing \"t\" at <len .Clock>: error calling len: len of type *time.Time")),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = run(text, &d);
        let want = want.map(str::to_string).map_err(str::to_string);
        if got != want {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn functions_are_checked_at_parse_time() {
    let err = Template::new("t").parse("{{ double 1 }}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert_eq!(
        err.to_string(),
        "template: t:1: function \"double\" not defined"
    );
}

#[test]
fn functions_capture_state_and_can_be_replaced_after_parsing() {
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let mut f = FuncMap::new();
    f.add("count", vec![], move |_| {
        Ok(Value::Int(c.fetch_add(1, Ordering::SeqCst) as i64 + 1))
    });
    let t = Template::new("t")
        .funcs(&f)
        .parse("{{ count }}{{ count }}")
        .unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "12");
    assert_eq!(counter.load(Ordering::SeqCst), 2);

    // Same parse tree, new implementations (Go's Funcs after Parse).
    let mut g = FuncMap::new();
    g.add("count", vec![], |_| Ok(Value::from("x")));
    let t2 = t.clone().funcs(&g);
    assert_eq!(t2.execute(&Value::Nil).unwrap(), "xx");
    assert_eq!(t.execute(&Value::Nil).unwrap(), "34");
}

#[test]
fn host_functions_replace_builtins_and_keywords() {
    let mut f = FuncMap::new();
    f.add("len", vec![ArgType::Any], |_| Ok(Value::Int(42)));
    f.add("and", vec![ArgType::Any, ArgType::Any], |a| {
        Ok(Value::from(format!("{:?}", a)))
    });
    f.add("break", vec![], |_| Ok(Value::from("not a keyword")));
    let t = Template::new("t")
        .funcs(&f)
        .parse("{{ len \"x\" }} {{ and 0 1 }} {{ break }} {{ range 2 }}{{ break }}{{ end }}")
        .unwrap();
    assert_eq!(
        t.execute(&Value::Nil).unwrap(),
        "42 [Int(0), Int(1)] not a keyword not a keywordnot a keyword"
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Value>();
    assert_send_sync::<FuncMap>();
    let t = Template::new("t")
        .funcs(&funcs())
        .parse("{{ double . }}")
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || t.execute(&Value::Int(i)).unwrap())
        })
        .collect();
    let got: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec!["0", "2", "4", "6"]);
}
