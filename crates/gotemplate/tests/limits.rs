//! Limits for untrusted templates: every limit stops the template with an error that names
//! it, before the process runs out of stack, memory or time.

use gotemplate::{ErrorKind, ExecLimits, ParseLimits, Template, Value};

fn exec(text: &str, limits: ExecLimits) -> Result<String, gotemplate::Error> {
    Template::new("test")
        .exec_limits(limits)
        .parse(text)?
        .execute(&Value::Nil)
}

#[test]
fn defaults() {
    let l = ExecLimits::default();
    assert_eq!(
        (
            l.max_template_depth,
            l.max_output_bytes,
            l.max_steps,
            l.max_stack_bytes
        ),
        (100, 16 << 20, 5_000_000, 512 << 10)
    );
    assert_eq!(ParseLimits::default().max_nesting_depth, 100);
}

#[test]
fn output_size() {
    let limits = ExecLimits {
        max_output_bytes: 100,
        ..Default::default()
    };
    let err = exec("{{ range 1000 }}x{{ end }}", limits.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.to_string(),
        "template: test:1:16: executing \"test\" at <x>: exceeded maximum output size (limit max_output_bytes=100)"
    );
    assert_eq!(
        exec("{{ range 100 }}x{{ end }}", limits.clone())
            .unwrap()
            .len(),
        100
    );
    // A function may not build a string larger than the output limit either.
    let err = exec("{{ $s := printf \"%1000d\" 1 }}", limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: test:1:9: executing \"test\" at <printf \"%1000d\" 1>: a value of 1000 bytes exceeds the maximum output size (limit max_output_bytes=100)"
    );
}

#[test]
fn steps() {
    let limits = ExecLimits {
        max_steps: 10_000,
        ..Default::default()
    };
    let err = exec("{{ range 100000000 }}{{ end }}done", limits.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(
        err.to_string()
            .ends_with("exceeded maximum number of execution steps (limit max_steps=10000)"),
        "{err}"
    );
    // Large strings are charged by size: 20 strings of 100 kB cost 31250 steps.
    let err = exec(
        "{{ range 20 }}{{ $s := printf \"%100000d\" 1 }}{{ end }}",
        limits.clone(),
    )
    .unwrap_err();
    assert!(
        err.to_string().ends_with("(limit max_steps=10000)"),
        "{err}"
    );
    assert_eq!(exec("{{ range 1000 }}{{ end }}ok", limits).unwrap(), "ok");
    // The default budget stops a runaway range.
    let err = exec("{{ range 100000000 }}{{ end }}", ExecLimits::default()).unwrap_err();
    assert!(
        err.to_string().ends_with("(limit max_steps=5000000)"),
        "{err}"
    );
}

#[test]
fn template_depth() {
    let recursive = "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}";
    let err = exec(recursive, ExecLimits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(
        err.to_string(),
        "template: test:1:25: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (100)"
    );
    let err = exec(
        recursive,
        ExecLimits {
            max_template_depth: 5,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err
        .to_string()
        .ends_with("exceeded maximum template depth (5)"));
    let counted = "{{define \"c\"}}{{if lt . 5}}{{.}}{{template \"c\" (len (printf \"x%*s\" . \"\"))}}{{end}}{{end}}{{template \"c\" 0}}";
    assert_eq!(exec(counted, ExecLimits::default()).unwrap(), "01234");
}

fn nested_ifs(n: usize) -> String {
    format!("{}x{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n))
}

fn nested_parens(n: usize) -> String {
    format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n))
}

#[test]
fn nesting_depth_is_refused_when_parsing() {
    assert_eq!(exec(&nested_ifs(100), ExecLimits::default()).unwrap(), "x");
    assert_eq!(
        exec(&nested_parens(100), ExecLimits::default()).unwrap(),
        "1"
    );
    for text in [nested_ifs(101), nested_parens(101)] {
        let err = exec(&text, ExecLimits::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert_eq!(
            err.to_string(),
            "template: test:1: nesting too deep: more than 100 levels of actions and parentheses (limit max_nesting_depth)"
        );
    }
    let t = Template::new("t").parse_limits(ParseLimits {
        max_nesting_depth: 3,
    });
    assert!(t.clone().parse(&nested_ifs(3)).is_ok());
    assert!(t
        .parse("{{ if 1 }}{{ with 2 }}{{ range 3 }}{{ (1) }}{{ end }}{{ end }}{{ end }}")
        .is_err());
}

#[test]
fn deep_templates_on_a_small_stack() {
    // Templates far deeper than the limit are refused without recursing into them, and the
    // deepest accepted ones parse and run, on a thread with a 1 MiB stack.
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            for text in [nested_ifs(100_000), nested_parens(100_000)] {
                let err = exec(&text, ExecLimits::default()).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Parse);
            }
            let unclosed = "{{if 1}}".repeat(100_000);
            assert_eq!(
                exec(&unclosed, ExecLimits::default()).unwrap_err().kind(),
                ErrorKind::Parse
            );
            assert_eq!(exec(&nested_ifs(100), ExecLimits::default()).unwrap(), "x");
            assert_eq!(
                exec(&nested_parens(100), ExecLimits::default()).unwrap(),
                "1"
            );
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn execution_stack_guard() {
    // Deep template recursion with each level nesting actions: the stack guard stops it
    // before the thread's stack runs out, whatever the template depth limit says.
    let body = format!(
        "{}{{{{template \"r\" .}}}}{}",
        "{{if 1}}".repeat(50),
        "{{end}}".repeat(50)
    );
    let text = format!("{{{{define \"r\"}}}}{body}{{{{end}}}}{{{{template \"r\" .}}}}");
    let handle = std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || {
            let limits = ExecLimits {
                max_template_depth: 100_000,
                ..Default::default()
            };
            exec(&text, limits)
        })
        .unwrap();
    let err = handle.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(
        err.to_string().ends_with(
            "exceeded maximum nesting depth of execution (limit max_stack_bytes=524288)"
        ),
        "{err}"
    );
}

#[test]
fn unlimited() {
    let t = Template::new("t")
        .exec_limits(ExecLimits::unlimited())
        .parse("{{ range 10 }}{{ . }}{{ end }}")
        .unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "0123456789");
}
