//! The exposition formats as scrapes deliver them, valid and broken.

use std::borrow::Cow;

use exposition::{Entry, Format, MetricType, ParseError, Parser, Sample};

fn parse(input: &str, format: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    Parser::new(input.as_bytes(), format).collect()
}

fn samples(input: &str, format: Format) -> Vec<Sample<'_>> {
    parse(input, format)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn error(input: &str, format: Format) -> ParseError {
    match parse(input, format) {
        Ok(entries) => panic!("parsed without error: {entries:?}"),
        Err(e) => e,
    }
}

fn labels<'a>(s: &'a Sample<'a>) -> Vec<(&'a str, &'a str)> {
    s.labels
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect()
}

const TEXT: &str = r#"# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric (Prometheus refuses the negative timestamp of the format's documentation):
something_weird{problem="division by zero"} +Inf 3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
	indented_metric{a="b",} 1
"#;

#[test]
fn the_text_format_example() {
    let entries = parse(TEXT, Format::PrometheusText).unwrap();
    assert_eq!(
        entries[0],
        Entry::Help {
            name: Cow::Borrowed("http_requests_total"),
            text: Cow::Borrowed("The total number of HTTP requests.")
        }
    );
    assert_eq!(
        entries[1],
        Entry::Type {
            name: Cow::Borrowed("http_requests_total"),
            kind: MetricType::Counter
        }
    );
    let s = samples(TEXT, Format::PrometheusText);
    assert_eq!(s.len(), 10);
    assert_eq!(labels(&s[0]), vec![("method", "post"), ("code", "200")]);
    assert_eq!(
        (s[0].value, s[0].timestamp_ms),
        (1027.0, Some(1_395_066_363_000))
    );
    assert_eq!(s[1].value, 3.0);
    assert_eq!(
        labels(&s[2]),
        vec![
            ("path", "C:\\DIR\\FILE.TXT"),
            ("error", "Cannot find file:\n\"FILE.TXT\"")
        ]
    );
    assert!(
        matches!(s[2].labels[0].1, Cow::Owned(_)),
        "escaped values are unescaped copies"
    );
    assert!(
        matches!(s[0].labels[0].1, Cow::Borrowed(_)),
        "plain values borrow the input"
    );
    assert_eq!((s[3].value, s[3].timestamp_ms), (12.47, None));
    assert_eq!(
        (s[4].value, s[4].timestamp_ms),
        (f64::INFINITY, Some(3_982_045))
    );
    assert_eq!(s[6].name, "http_request_duration_seconds_bucket");
    assert_eq!(labels(&s[9]), vec![("a", "b")]);
}

#[test]
fn utf8_names_in_text_1_0_0() {
    let body = "# HELP \"my.dotted.metric\" help\n# TYPE \"my.dotted.metric\" gauge\n{\"my.dotted.metric\", \"error.message\"=\"Not Found\", code=\"404\"} 3\n";
    let entries = parse(body, Format::PrometheusText).unwrap();
    assert!(
        matches!(&entries[1], Entry::Type { name, kind: MetricType::Gauge } if name == "my.dotted.metric")
    );
    let s = samples(body, Format::PrometheusText);
    assert_eq!(s[0].name, "my.dotted.metric");
    assert_eq!(
        labels(&s[0]),
        vec![("error.message", "Not Found"), ("code", "404")]
    );
}

#[test]
fn help_escapes_and_comments() {
    let body =
        "# HELP a line\\nbreak and \\\\ slash \\q\n# just a comment\n#HELP not_help x\na 1\n";
    let entries = parse(body, Format::PrometheusText).unwrap();
    assert_eq!(
        entries[0],
        Entry::Help {
            name: Cow::Borrowed("a"),
            text: Cow::Owned("line\nbreak and \\ slash \\q".into())
        }
    );
    assert_eq!(entries.len(), 2);
}

#[test]
fn text_format_errors_name_the_place() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("a 1\nb{x=\"1\" 2\n", 2, 9, "expected a label name or '}'"),
        ("a x\n", 1, 3, "invalid sample value \"x\""),
        ("a 1 1.5\n", 1, 6, "unexpected \".5\" after the timestamp"),
        (
            "a 1 -5\n",
            1,
            5,
            "expected a timestamp (integer milliseconds)",
        ),
        ("a 1 2 3\n", 1, 7, "unexpected \"3\""),
        ("a{b=c} 1\n", 1, 5, "expected a quoted label value"),
        // Label values may span lines in the text format, so this one runs to the end.
        ("a{b=\"c} 1\n", 2, 1, "unterminated quoted string"),
        ("a{1b=\"c\"} 1\n", 1, 3, "expected a label name"),
        ("a\n", 1, 2, "expected a value after the metric"),
        ("a 1\r\n", 1, 3, "invalid sample value \"1\\r\""),
        ("# TYPE a countr\n", 1, 10, "invalid metric type \"countr\""),
        (
            "a{} 1 # {x=\"y\"} 1\n",
            1,
            7,
            "expected a timestamp (integer milliseconds) or a line break, not \"#\"",
        ),
        ("1a 1\n", 1, 1, "expected a metric name"),
        ("{} 1\n", 1, 1, "metric name not set"),
    ];
    for (input, line, column, message) in cases {
        let e = error(input, Format::PrometheusText);
        assert!(e.message.contains(message), "{input:?}: {e}");
        assert_eq!((e.line, e.column), (*line, *column), "{input:?}: {e}");
    }
}

#[test]
fn invalid_utf8_is_located() {
    let e = Parser::new(b"a 1\nb{x=\"\xff\"} 1\n", Format::PrometheusText)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (2, 6, "invalid UTF-8")
    );
}

#[test]
fn parsing_stops_at_the_first_error() {
    let mut parser = Parser::new(b"a 1\nb x\nc 1\n", Format::PrometheusText);
    assert!(parser.next().unwrap().is_ok());
    assert!(parser.next().unwrap().is_err());
    assert!(parser.next().is_none());
}

const OPENMETRICS: &str = r#"# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69 1520879607.789
# TYPE foo counter
foo_total 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created 1520430000.123
# TYPE hist histogram
hist_bucket{le="0.5"} 1 # {trace_id="a"} 0.2 1520879607.1
hist_bucket{le="+Inf"} 2
hist_count 2
hist_sum 1.5
# TYPE build info
build_info{version="1.0"} 1
# EOF
"#;

#[test]
fn the_openmetrics_example() {
    let entries = parse(OPENMETRICS, Format::OpenMetrics).unwrap();
    assert!(matches!(&entries[1], Entry::Unit { unit, .. } if unit == "seconds"));
    let s = samples(OPENMETRICS, Format::OpenMetrics);
    assert_eq!(s.len(), 11);
    assert_eq!(s[3].timestamp_ms, Some(1_520_879_607_789));
    let exemplar = s[4].exemplar.as_ref().unwrap();
    assert_eq!(exemplar.value, 0.67);
    assert_eq!(exemplar.labels[0].1, "KOO5S4vxi0o");
    assert_eq!(
        s[6].exemplar.as_ref().unwrap().timestamp_ms,
        Some(1_520_879_607_100)
    );
    // Without the trailing newline after # EOF is fine too.
    let trimmed = OPENMETRICS.trim_end_matches('\n');
    assert_eq!(samples(trimmed, Format::OpenMetrics).len(), 11);
}

#[test]
fn openmetrics_rules() {
    let cases: &[(&str, &str)] = &[
        ("a 1\n", "data does not end with # EOF"),
        ("a 1\n# EOF\nb 1\n", "unexpected data after # EOF"),
        (
            "# comment\n# EOF\n",
            "only # TYPE, # UNIT, # HELP and # EOF",
        ),
        ("a 1\n\n# EOF\n", "empty lines are not allowed"),
        (
            "# TYPE a_seconds gauge\n# UNIT a_seconds bytes\n# EOF\n",
            "unit \"bytes\" is not a suffix",
        ),
        (
            "# TYPE a untyped\n# EOF\n",
            "invalid metric type \"untyped\"",
        ),
        ("a 1 notatime\n# EOF\n", "invalid timestamp"),
    ];
    for (input, message) in cases {
        let e = error(input, Format::OpenMetrics);
        assert!(e.message.contains(message), "{input:?}: {e}");
    }
}

#[test]
fn content_types_choose_the_parser() {
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4; charset=utf-8"),
        Some(Format::PrometheusText)
    );
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Some(Format::OpenMetrics)
    );
    assert_eq!(
        Format::from_content_type("Text/Plain"),
        Some(Format::PrometheusText)
    );
    assert_eq!(
        Format::from_content_type(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"
        ),
        None
    );
    assert_eq!(Format::from_content_type(""), None);
}

#[test]
fn large_body_parses_quickly() {
    let mut body = String::new();
    for family in 0..100 {
        body.push_str(&format!("# HELP m{family} help\n# TYPE m{family} gauge\n"));
        for series in 0..100 {
            body.push_str(&format!(
                "m{family}{{instance=\"i{series}\",job=\"j\"}} {series}.5\n"
            ));
        }
    }
    let started = std::time::Instant::now();
    let count = samples(&body, Format::PrometheusText).len();
    assert_eq!(count, 10_000);
    // Debug builds are slow; this only guards against accidental quadratic behaviour.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn mutated_bodies_never_panic() {
    // xorshift64*, deterministic.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let alphabet = b" \t\n\r#{}\",=\\_:.-+eE0123456789abcxyzTYPEHELPUNITEOF\xff\xc3";
    for original in [TEXT, OPENMETRICS] {
        for _ in 0..3000 {
            let mut body = original.as_bytes().to_vec();
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % (body.len() + 1);
                match next() % 3 {
                    0 if at < body.len() => {
                        body.remove(at);
                    }
                    1 => body.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                    _ => body.truncate(at),
                }
            }
            for format in [Format::PrometheusText, Format::OpenMetrics] {
                for entry in Parser::new(&body, format) {
                    if entry.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

#[test]
fn a_recycled_label_list_takes_the_next_samples_labels() {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let body = "a{x=\"1\",y=\"2\",z=\"3\"} 1\nb{w=\"4\"} 2\nc 3\n# EOF\n";
        let mut parser = Parser::new(body.as_bytes(), format);
        let Some(Ok(Entry::Sample(first))) = parser.next() else {
            panic!("no first sample");
        };
        assert_eq!(labels(&first), [("x", "1"), ("y", "2"), ("z", "3")]);
        let list = first.labels.as_ptr();
        parser.recycle(first.labels);
        let Some(Ok(Entry::Sample(second))) = parser.next() else {
            panic!("no second sample");
        };
        assert_eq!(labels(&second), [("w", "4")]);
        assert_eq!(
            second.labels.as_ptr(),
            list,
            "{format:?}: the list is reused"
        );
        parser.recycle(second.labels);
        let Some(Ok(Entry::Sample(third))) = parser.next() else {
            panic!("no third sample");
        };
        assert!(third.labels.is_empty());
    }
}
