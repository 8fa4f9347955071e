//! What Prometheus 3.14 accepts and refuses, as data: the inputs of upstream's
//! `promparse_test.go` and `openmetricsparse_test.go` (with upstream's verdict on each),
//! real-world bodies upstream takes that we used to refuse, and the lexical rules of both
//! formats that upstream's lexers (`promlex.l`, `openmetricslex.l`) imply.
//!
//! Refusals name the line the error is on: one error ends the whole scrape, so the line is
//! what a target's `lastError` should point at.

use std::borrow::Cow;

use exposition::{Entry, Format, MetricType, ParseError, Parser, Sample};

use Format::{OpenMetrics as Om, PrometheusText as Text};

/// Parses `input`, and checks that a parser with deferred labels, asked for each
/// sample's labels, gives the same entries or the same error.
fn parse(input: &[u8], format: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    let full: Result<Vec<Entry<'_>>, ParseError> = Parser::new(input, format).collect();
    // Compared as printed: a NaN value is not equal to itself.
    let shown = |r: &Result<Vec<Entry<'_>>, ParseError>| match r {
        Ok(entries) => entries.iter().map(|e| format!("{e:?}")).collect(),
        Err(e) => vec![format!("{e:?}")],
    };
    let (expected, deferred) = (shown(&full), shown(&parse_deferred(input, format)));
    let differ = expected.iter().zip(&deferred).find(|(a, b)| a != b);
    assert!(
        expected.len() == deferred.len() && differ.is_none(),
        "{format:?} {:?}: deferred labels parse differently: {differ:?} ({} vs {} entries)",
        String::from_utf8_lossy(input),
        expected.len(),
        deferred.len()
    );
    full
}

fn parse_deferred(input: &[u8], format: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    let mut parser = Parser::new(input, format);
    parser.defer_labels();
    let mut entries = Vec::new();
    while let Some(entry) = parser.next() {
        let mut entry = entry?;
        if let Entry::Sample(sample) = &mut entry {
            parser.parse_labels(sample)?;
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn samples(input: &[u8], format: Format) -> Vec<Sample<'_>> {
    parse(input, format)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)))
        .into_iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn labels<'a>(s: &'a Sample<'a>) -> Vec<(&'a str, &'a str)> {
    s.labels
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect()
}

/// Runs a table: `None` means upstream accepts the input, `Some(line)` that it refuses it
/// (and we must too, at that line).
fn check(cases: &[(&[u8], Format, Option<usize>)]) {
    let mut wrong = Vec::new();
    for (input, format, verdict) in cases {
        let shown = String::from_utf8_lossy(input);
        match (parse(input, *format), verdict) {
            (Ok(_), None) => {}
            (Err(e), Some(line)) if e.line == *line => {}
            (Ok(_), Some(line)) => wrong.push(format!(
                "{format:?} {shown:?}: accepted, upstream refuses (line {line})"
            )),
            (Err(e), Some(line)) => wrong.push(format!(
                "{format:?} {shown:?}: refused at line {}, expected line {line}: {e}",
                e.line
            )),
            (Err(e), None) => wrong.push(format!(
                "{format:?} {shown:?}: refused, upstream accepts: {e}"
            )),
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// `TestPromParse`'s input (upstream appends the NUL-byte lines and no final newline).
const PROM_PARSE: &str = concat!(
    r##"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# 	TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
go_gc_duration_seconds{quantile="0.8", a="b"} 8.3835e-05
go_gc_duration_seconds{ quantile="0.9", a="b"} 8.3835e-05
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/",le="1"} 423
prometheus_http_request_duration_seconds_bucket{handler="/",le="2"} 1423
prometheus_http_request_duration_seconds_bucket{handler="/",le="+Inf"} 1423
prometheus_http_request_duration_seconds_sum{handler="/"} 2000
prometheus_http_request_duration_seconds_count{handler="/"} 1423
# Hrandom comment starting with prefix of HELP
#
wind_speed{A="2",c="3"} 12345
# comment with escaped \n newline
# comment with escaped \ escape character
# HELP nohelp1
"##,
    "# HELP nohelp2 \n",
    r##"go_gc_duration_seconds{ quantile="1.0", a="b" } 8.3835e-05
go_gc_duration_seconds { quantile="1.0", a="b" } 8.3835e-05
go_gc_duration_seconds { quantile= "1.0", a= "b", } 8.3835e-05
go_gc_duration_seconds { quantile = "1.0", a = "b" } 8.3835e-05
go_gc_duration_seconds { quantile = "2.0" a = "b" } 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b="c"}	1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33  	123123
# TYPE some_counter_total counter
# HELP some_counter_total Help after type.
some_counter_total 12
# HELP nohelp3
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore="foo"} 1
testmetric{label="\"bar\""} 1
testmetric{le="10"} 1
# HELP type_and_unit_test1 Type specified in metadata overrides.
# TYPE type_and_unit_test1 gauge
type_and_unit_test1{__type__="counter"} 123
# HELP type_and_unit_test2 Type specified in label.
type_and_unit_test2{__type__="counter"} 123"##,
    "\n# HELP metric foo\x00bar",
    "\nnull_byte_metric{a=\"abc\x00\"} 1"
);

/// `TestOpenMetricsParse`'s input.
const OM_PARSE: &str = concat!(
    r##"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
# UNIT go_gc_duration_seconds seconds
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25"} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
"##,
    "# HELP nohelp1 \n",
    r##"# HELP help2 escape \ \n \\ \" \x chars
"##,
    "# UNIT nounit \n",
    r##"go_gc_duration_seconds{quantile="1.0",a="b"} 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b="c"} 1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33 123.123
# TYPE hh histogram
hh_bucket{le="+Inf"} 1
# TYPE gh gaugehistogram
gh_bucket{le="+Inf"} 1
# TYPE hhh histogram
hhh_bucket{le="+Inf"} 1 # {id="histogram-bucket-test"} 4
hhh_count 1 # {id="histogram-count-test"} 4
# TYPE ggh gaugehistogram
ggh_bucket{le="+Inf"} 1 # {id="gaugehistogram-bucket-test",xx="yy"} 4 123.123
ggh_count 1 # {id="gaugehistogram-count-test",xx="yy"} 4 123.123
# TYPE smr_seconds summary
smr_seconds_count 2.0 # {id="summary-count-test"} 1 123.321
smr_seconds_sum 42.0 # {id="summary-sum-test"} 1 123.321
# TYPE ii info
ii{foo="bar"} 1
# TYPE ss stateset
ss{ss="foo"} 1
ss{ss="bar"} 0
ss{A="a"} 0
# TYPE un unknown
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore="foo"} 1
testmetric{label="\"bar\""} 1
# HELP foo Counter with and without labels to certify ST is parsed for both cases
# TYPE foo counter
foo_total 17.0 1520879607.789 # {id="counter-test"} 5
foo_created 1520872607.123
foo_total{a="b"} 17.0 1520879607.789 # {id="counter-test"} 5
foo_created{a="b"} 1520872607.123
foo_total{le="c"} 21.0
foo_created{le="c"} 1520872621.123
foo_total{le="1"} 10.0
# HELP bar Summary with ST at the end, making sure we find ST even if it's multiple lines a far
# TYPE bar summary
bar_count 17.0
bar_sum 324789.3
bar{quantile="0.95"} 123.7
bar{quantile="0.99"} 150.0
bar_created 1520872608.124
# HELP baz Histogram with the same objective as above's summary
# TYPE baz histogram
baz_bucket{le="0.0"} 0
baz_bucket{le="+Inf"} 17
baz_count 17
baz_sum 324789.3
baz_created 1520872609.125
# HELP fizz_created Gauge which shouldn't be parsed as ST
# TYPE fizz_created gauge
fizz_created 17.0
# HELP something Histogram with _created between buckets and summary
# TYPE something histogram
something_count 18
something_sum 324789.4
something_created 1520430001
something_bucket{le="0.0"} 1
something_bucket{le="1"} 2
something_bucket{le="+Inf"} 18
# HELP yum Summary with _created between sum and quantiles
# TYPE yum summary
yum_count 20
yum_sum 324789.5
yum_created 1520430003
yum{quantile="0.95"} 123.7
yum{quantile="0.99"} 150.0
# HELP foobar Summary with _created as the first line
# TYPE foobar summary
foobar_count 21
foobar_created 1520430004
foobar_sum 324789.6
foobar{quantile="0.95"} 123.8
foobar{quantile="0.99"} 150.1
# HELP nansum Summary with NaN value
# TYPE nansum summary
nansum_count 0
nansum_sum 0.0
nansum{quantile="0.95"} nan
nansum{quantile="0.99"} NaN"##,
    "\n# HELP metric foo\x00bar",
    "\nnull_byte_metric{a=\"abc\x00\"} 1",
    "\n# EOF\n"
);

/// `TestUTF8PromParse`'s input.
const PROM_UTF8: &str = r##"# HELP "go.gc_duration_seconds" A summary of the GC invocation durations.
# 	TYPE "go.gc_duration_seconds" summary
{"go.gc_duration_seconds",quantile="0"} 4.9351e-05
{"go.gc_duration_seconds",quantile="0.25",} 7.424100000000001e-05
{"go.gc_duration_seconds",quantile="0.5",a="b"} 8.3835e-05
{"go.gc_duration_seconds",quantile="0.8", a="b"} 8.3835e-05
{"go.gc_duration_seconds", quantile="0.9", a="b"} 8.3835e-05
{"go.gc_duration_seconds", quantile="1.0", a="b" } 8.3835e-05
{ "go.gc_duration_seconds", quantile="1.0", a="b" } 8.3835e-05
{ "go.gc_duration_seconds", quantile= "1.0", a= "b", } 8.3835e-05
{ "go.gc_duration_seconds", quantile = "1.0", a = "b" } 8.3835e-05
{"go.gc_duration_seconds_count"} 99
{"Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}","strange©™\n'quoted' \"name\""="6"} 10.0"##;

/// `TestOpenMetricsParse_UTF8`'s input.
const OM_UTF8: &str = r##"# HELP "go.gc_duration_seconds" A summary of the GC invocation durations.
# TYPE "go.gc_duration_seconds" summary
# UNIT "go.gc_duration_seconds" seconds
{"go.gc_duration_seconds",quantile="0"} 4.9351e-05
{"go.gc_duration_seconds",quantile="0.25"} 7.424100000000001e-05
{"go.gc_duration_seconds_created"} 1520872607.123
{"go.gc_duration_seconds",quantile="0.5",a="b"} 8.3835e-05
{"http.status",q="0.9",a="b"} 8.3835e-05
{"http.status",q="0.9",a="b"} 8.3835e-05
{q="0.9","http.status",a="b"} 8.3835e-05
{"go.gc_duration_seconds_sum"} 0.004304266
{"Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}","strange©™\n'quoted' \"name\""="6"} 10.0
quotedexemplar_count 1 # {"id.thing"="histogram-count-test"} 4
quotedexemplar2_count 1 # {"id.thing"="histogram-count-test",other="hello"} 4
# EOF
"##;

/// The bug this file started from: exporters in the wild name the counter family after
/// its samples, `_total` included. Prometheus takes it; so must we, in both formats.
#[test]
fn counter_family_named_with_total() {
    let body = b"# HELP foo_total Requests served.\n\
        # TYPE foo_total counter\n\
        # UNIT foo_total total\n\
        foo_total 17 1520879607.789\n\
        foo_total{code=\"500\"} 3 # {trace_id=\"abc\"} 1\n\
        foo_total_created 1520430000.123\n\
        # EOF\n";
    let entries = parse(body, Om).unwrap();
    assert_eq!(
        entries[1],
        Entry::Type {
            name: Cow::Borrowed("foo_total"),
            kind: MetricType::Counter
        }
    );
    assert_eq!(
        entries[2],
        Entry::Unit {
            name: Cow::Borrowed("foo_total"),
            unit: Cow::Borrowed("total")
        }
    );
    let s = samples(body, Om);
    let names: Vec<&str> = s.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["foo_total", "foo_total", "foo_total_created"]);
    assert_eq!(s[0].timestamp_ms, Some(1_520_879_607_789));
    assert_eq!(labels(&s[1]), [("code", "500")]);
    assert_eq!(s[1].exemplar.as_ref().unwrap().value, 1.0);

    let text = b"# HELP foo_total Requests served.\n# TYPE foo_total counter\nfoo_total 17\n";
    assert_eq!(samples(text, Text)[0].name, "foo_total");
    // Bare counter samples (no suffix at all) are fine too.
    assert_eq!(samples(b"# TYPE c counter\nc 1\n# EOF\n", Om)[0].name, "c");
}

#[test]
fn upstream_prom_parse_input() {
    let entries = parse(PROM_PARSE.as_bytes(), Text).unwrap();
    let helps: Vec<(&str, &str)> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Help { name, text } => Some((name.as_ref(), text.as_ref())),
            _ => None,
        })
        .collect();
    assert_eq!(
        helps,
        [
            (
                "go_gc_duration_seconds",
                "A summary of the GC invocation durations."
            ),
            (
                "prometheus_http_request_duration_seconds",
                "Histogram of latencies for HTTP requests."
            ),
            ("nohelp1", ""),
            ("nohelp2", ""),
            (
                "go_goroutines",
                "Number of goroutines that currently exist."
            ),
            ("some_counter_total", "Help after type."),
            ("nohelp3", ""),
            (
                "type_and_unit_test1",
                "Type specified in metadata overrides."
            ),
            ("type_and_unit_test2", "Type specified in label."),
            ("metric", "foo\0bar"),
        ]
    );
    let types: Vec<(&str, MetricType)> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Type { name, kind } => Some((name.as_ref(), *kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        types,
        [
            ("go_gc_duration_seconds", MetricType::Summary),
            (
                "prometheus_http_request_duration_seconds",
                MetricType::Histogram
            ),
            ("go_goroutines", MetricType::Gauge),
            ("some_counter_total", MetricType::Counter),
            ("type_and_unit_test1", MetricType::Gauge),
        ]
    );
    let s = samples(PROM_PARSE.as_bytes(), Text);
    assert_eq!(s.len(), 27);
    assert_eq!(labels(&s[4]), [("quantile", "0.9"), ("a", "b")]);
    // Blanks around the braces, the `=` and the value; no comma between labels.
    assert_eq!(
        s[11].series,
        br#"go_gc_duration_seconds{ quantile="1.0", a="b" }"#
    );
    assert_eq!(labels(&s[15]), [("quantile", "2.0"), ("a", "b")]);
    assert_eq!(s[16].name, "go_gc_duration_seconds_count");
    assert_eq!(s[17].name, "some:aggregate:rate5m");
    assert_eq!((s[18].value, s[18].timestamp_ms), (33.0, Some(123_123)));
    assert_eq!(labels(&s[22]), [("label", "\"bar\"")]);
    assert_eq!(labels(&s[26]), [("a", "abc\0")]);
}

#[test]
fn upstream_utf8_inputs() {
    let s = samples(PROM_UTF8.as_bytes(), Text);
    assert_eq!(s.len(), 11);
    assert_eq!(s[0].name, "go.gc_duration_seconds");
    assert_eq!(labels(&s[8]), [("quantile", "1.0"), ("a", "b")]);
    assert_eq!(
        s[10].name,
        "Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}"
    );
    assert_eq!(labels(&s[10]), [("strange©™\n'quoted' \"name\"", "6")]);

    let entries = parse(OM_UTF8.as_bytes(), Om).unwrap();
    assert!(
        matches!(&entries[2], Entry::Unit { name, unit } if name == "go.gc_duration_seconds" && unit == "seconds")
    );
    let s = samples(OM_UTF8.as_bytes(), Om);
    // Upstream's expectation leaves out the `_created` line only because it asks its
    // parser to skip those.
    assert_eq!(s.len(), 11);
    // The quoted metric name may stand anywhere in the label set.
    assert_eq!(s[6].name, "http.status");
    assert_eq!(labels(&s[6]), [("q", "0.9"), ("a", "b")]);
    let exemplar = s[10].exemplar.as_ref().unwrap();
    assert_eq!(
        exemplar
            .labels
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect::<Vec<_>>(),
        [("id.thing", "histogram-count-test"), ("other", "hello")]
    );
}

#[test]
fn upstream_openmetrics_parse_input() {
    let entries = parse(OM_PARSE.as_bytes(), Om).unwrap();
    let find_help = |wanted: &str| {
        entries.iter().find_map(|e| match e {
            Entry::Help { name, text } if name == wanted => Some(text.to_string()),
            _ => None,
        })
    };
    assert_eq!(find_help("nohelp1").as_deref(), Some(""));
    assert_eq!(
        find_help("help2").as_deref(),
        Some("escape \\ \n \\ \" \\x chars")
    );
    assert_eq!(find_help("metric").as_deref(), Some("foo\0bar"));
    assert!(entries
        .iter()
        .any(|e| matches!(e, Entry::Unit { name, unit } if name == "nounit" && unit.is_empty())));
    let s = samples(OM_PARSE.as_bytes(), Om);
    let by_name = |name: &str| s.iter().find(|s| s.name == name).unwrap();
    assert_eq!(by_name("go_goroutines").timestamp_ms, Some(123_123));
    // Exemplars on `_count` and `_sum` samples, with and without a timestamp.
    let count = by_name("hhh_count").exemplar.as_ref().unwrap();
    assert_eq!((count.value, count.timestamp_ms), (4.0, None));
    let gauge_histogram = by_name("ggh_count").exemplar.as_ref().unwrap();
    assert_eq!(gauge_histogram.timestamp_ms, Some(123_123));
    assert_eq!(
        by_name("smr_seconds_sum")
            .exemplar
            .as_ref()
            .unwrap()
            .timestamp_ms,
        Some(123_321)
    );
    let foo = by_name("foo_total");
    assert_eq!(
        (foo.value, foo.timestamp_ms),
        (17.0, Some(1_520_879_607_789))
    );
    assert!(s
        .iter()
        .filter(|s| s.name == "nansum")
        .all(|s| s.value.is_nan()));
    assert_eq!(labels(s.last().unwrap()), [("a", "abc\0")]);
}

#[test]
fn upstream_prom_parse_errors_and_nul_bytes() {
    check(&[
        // TestPromParseErrors: every input is refused.
        (b"a", Text, Some(1)),
        (b"a{b='c'} 1\n", Text, Some(1)),
        (b"a{b=\n", Text, Some(1)),
        (b"a{\xff=\"foo\"} 1\n", Text, Some(1)),
        (b"a{b=\"\xff\"} 1\n", Text, Some(1)),
        (br#"{"a", "b = "c"}"#, Text, Some(1)),
        (br#"{"a",b\nc="d"} 1"#, Text, Some(1)),
        (b"a true\n", Text, Some(1)),
        (b"something_weird{problem=\"", Text, Some(1)),
        (b"empty_label_name{=\"\"} 0", Text, Some(1)),
        (b"{A}0", Text, Some(1)),
        (b"foo 1_2\n", Text, Some(1)),
        (b"foo 0x1p-3\n", Text, Some(1)),
        (b"foo 0x1P-3\n", Text, Some(1)),
        (b"foo 0 1_2\n", Text, Some(1)),
        (br#"{a="ok"} 1"#, Text, Some(1)),
        (b"# TYPE #\n#EOF\n", Text, Some(1)),
        (b"# HELP #\n#EOF\n", Text, Some(1)),
        // TestPromNullByteHandling.
        (b"null_byte_metric{a=\"abc\x00\"} 1", Text, None),
        (b"a{b=\"\x00ss\"} 1\n", Text, None),
        (b"a{b=\"\x00\"} 1\n", Text, None),
        (b"a{b=\x00\"ssss\"} 1\n", Text, Some(1)),
        (b"a{b=\"\x00", Text, Some(1)),
        (b"a{b\x00=\"hiih\"}\t1", Text, Some(1)),
        (b"a\x00{b=\"ddd\"} 1", Text, Some(1)),
        (b"a 0 1\x00", Text, Some(1)),
    ]);
}

#[test]
fn upstream_openmetrics_parse_errors_and_nul_bytes() {
    check(&[
        // TestOpenMetricsParseErrors; the first two are its happy cases.
        (b"# EOF", Om, None),
        (b"# EOF\n", Om, None),
        (b"", Om, Some(1)),
        (b"\n", Om, Some(1)),
        (b"metric", Om, Some(1)),
        (b"metric 1", Om, Some(1)),
        (b"metric 1\n", Om, Some(2)),
        (b"metric_total 1 # {aa=\"bb\"} 4", Om, Some(1)),
        (b"a\n#EOF\n", Om, Some(1)),
        (b"\n\n#EOF\n", Om, Some(1)),
        (b" a 1\n#EOF\n", Om, Some(1)),
        (b"9\n#EOF\n", Om, Some(1)),
        (b"# TYPE u untyped\n#EOF\n", Om, Some(1)),
        (b"# TYPE c counter \n#EOF\n", Om, Some(1)),
        (b"#  TYPE c counter\n#EOF\n", Om, Some(1)),
        (b"# TYPE \n#EOF\n", Om, Some(1)),
        (b"# TYPE m\n#EOF\n", Om, Some(1)),
        (b"# UNIT metric suffix\n#EOF\n", Om, Some(1)),
        (b"# UNIT metricsuffix suffix\n#EOF\n", Om, Some(1)),
        (b"# UNIT m suffix\n#EOF\n", Om, Some(1)),
        (b"# UNIT \n#EOF\n", Om, Some(1)),
        (b"# UNIT m\n#EOF\n", Om, Some(1)),
        (b"# HELP \n#EOF\n", Om, Some(1)),
        (b"# HELP m\n#EOF\n", Om, Some(1)),
        (b"a\t1\n#EOF\n", Om, Some(1)),
        (b"a 1\t2\n#EOF\n", Om, Some(1)),
        (b"a 1 2 \n#EOF\n", Om, Some(1)),
        (b"a 1 2 #\n#EOF\n", Om, Some(1)),
        (b"a 1 1z\n#EOF\n", Om, Some(1)),
        (b" # EOF\n", Om, Some(1)),
        (b"# EOF\na 1", Om, Some(2)),
        (b"# EOF\n\n", Om, Some(2)),
        (b"# EOFa 1", Om, Some(1)),
        (b"#\tTYPE c counter\n", Om, Some(1)),
        (b"# TYPE c  counter\n", Om, Some(1)),
        (b"a 1 1 1\n# EOF\n", Om, Some(1)),
        (b"a{b='c'} 1\n# EOF\n", Om, Some(1)),
        (b"a{,b=\"c\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b=\"c\"d=\"e\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b=\"c\",,d=\"e\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b=\n# EOF\n", Om, Some(1)),
        (b"a{\xff=\"foo\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b=\"\xff\"} 1\n# EOF\n", Om, Some(1)),
        (b"{\"a\",\"b = \"c\"}\n# EOF\n", Om, Some(1)),
        (b"{\"a\",b\\nc=\"d\"} 1\n# EOF\n", Om, Some(1)),
        (b"a true\n", Om, Some(1)),
        (b"something_weird{problem=\"\n# EOF\n", Om, Some(1)),
        (b"empty_label_name{=\"\"} 0\n# EOF\n", Om, Some(1)),
        (b"{A}0\n# EOF\n", Om, Some(1)),
        (b"foo 1_2\n\n# EOF\n", Om, Some(1)),
        (b"foo 0x1p-3\n\n# EOF\n", Om, Some(1)),
        (b"foo 0x1P-3\n\n# EOF\n", Om, Some(1)),
        (b"foo 0 1_2\n\n# EOF\n", Om, Some(1)),
        (b"custom_metric_total 1 # {aa=bb}\n# EOF\n", Om, Some(1)),
        (b"custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n", Om, Some(1)),
        (br#"custom_metric_total 1 # {aa="bb"}"#, Om, Some(1)),
        (br#"custom_metric_total 1 # {bb}"#, Om, Some(1)),
        (br#"custom_metric_total 1 # {bb, a="dd"}"#, Om, Some(1)),
        (
            br#"custom_metric_total 1 # {aa="bb",,cc="dd"} 1"#,
            Om,
            Some(1),
        ),
        (br#"custom_metric_total 1 # {aa="bb"} 1_2"#, Om, Some(1)),
        (br#"custom_metric_total 1 # {aa="bb"} 0x1p-3"#, Om, Some(1)),
        (br#"custom_metric_total 1 # {aa="bb"} true"#, Om, Some(1)),
        (br#"custom_metric_total 1 # {aa="bb",cc=}"#, Om, Some(1)),
        (br#"custom_metric_total 1 # {aa=\"\xff\"} 9.0"#, Om, Some(1)),
        (br#"{b="c",} 1"#, Om, Some(1)),
        (b"a 1 NaN", Om, Some(1)),
        (b"a 1 -Inf", Om, Some(1)),
        (b"a 1 Inf", Om, Some(1)),
        (
            b"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 NaN",
            Om,
            Some(2),
        ),
        (
            b"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 -Inf",
            Om,
            Some(2),
        ),
        // TestOMNullByteHandling: NUL is fine in label values and help, nowhere else.
        (b"null_byte_metric{a=\"abc\x00\"} 1\n# EOF\n", Om, None),
        (b"a{b=\"\x00ss\"} 1\n# EOF\n", Om, None),
        (b"a{b=\"\x00\"} 1\n# EOF\n", Om, None),
        (b"a{b=\"\x00\"} 1\n# EOF", Om, None),
        (b"a{b=\x00\"ssss\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b=\"\x00", Om, Some(1)),
        (b"a{b\x00=\"hiih\"}\t1", Om, Some(1)),
        (b"a\x00{b=\"ddd\"} 1", Om, Some(1)),
        (b"#", Om, Some(1)),
        (b"# H", Om, Some(1)),
        (b"custom_metric_total 1 # {b=\x00\"ssss\"} 1\n", Om, Some(1)),
        (b"custom_metric_total 1 # {b=\"\x00ss\"} 1\n", Om, Some(1)),
    ]);
}

/// Upstream's `TestSTParseFailures` bodies (`_created` before the samples, counters
/// without metadata): Prometheus parses both.
#[test]
fn upstream_created_series_bodies() {
    check(&[
        (
            b"# HELP thing histogram with _created as first line\n\
              # TYPE thing histogram\n\
              thing_created 1520872607.123\n\
              thing_count 17\n\
              thing_sum 324789.3\n\
              thing_bucket{le=\"0.0\"} 0\n\
              thing_bucket{le=\"+Inf\"} 17\n\
              # HELP thing_c counter with _created as first line\n\
              # TYPE thing_c counter\n\
              thing_c_created 1520872607.123\n\
              thing_c_total 14123.232\n\
              # EOF\n",
            Om,
            None,
        ),
        (
            b"foo_total 17.0\n\
              foo_created 1520872607.123\n\
              foo_total{a=\"b\"} 17.0\n\
              foo_created{a=\"b\"} 1520872608.123\n\
              # EOF\n",
            Om,
            None,
        ),
    ]);
}

/// Prometheus's OpenMetrics parser checks no family structure: everything here used to be
/// refused by us and is accepted upstream.
#[test]
fn openmetrics_family_structure_is_not_enforced() {
    check(&[
        // Metadata repeated, in any order, after samples, for names without samples.
        (b"# TYPE a gauge\n# TYPE a gauge\n# EOF\n", Om, None),
        (
            b"# HELP a x\n# HELP a y\n# UNIT a_s s\n# UNIT a_s s\n# EOF\n",
            Om,
            None,
        ),
        (b"a 1\n# TYPE a gauge\n# HELP a late\n# EOF\n", Om, None),
        // Interleaved families.
        (
            b"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n",
            Om,
            None,
        ),
        (b"a 1\nb 1\na 2\n# EOF\n", Om, None),
        // Sample names that are not the family's: no suffix, wrong suffix, other names.
        (
            b"# TYPE c counter\nc 1\nc_sum 2\nother 3\n# EOF\n",
            Om,
            None,
        ),
        (b"# TYPE h histogram\nh 1\nh_total 2\n# EOF\n", Om, None),
        (b"# TYPE i info\ni 1\n# EOF\n", Om, None),
        // Exemplars on any sample, of any length.
        (b"# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n", Om, None),
        (
            b"# TYPE s summary\ns_count 1 # {} 1\ns{quantile=\"0.5\"} 1 # {a=\"b\"} 1 2\n# EOF\n",
            Om,
            None,
        ),
    ]);
    let long = format!(
        "# TYPE c counter\nc_total 1 # {{trace=\"{}\"}} 1\n# EOF\n",
        "x".repeat(500)
    );
    check(&[(long.as_bytes(), Om, None)]);
}

/// OpenMetrics' lexer wants single spaces and nothing else between tokens; and a unit is a
/// suffix after an underscore.
#[test]
fn openmetrics_lexical_rules() {
    check(&[
        (b"a  1\n# EOF\n", Om, Some(1)),
        (b"a 1  2\n# EOF\n", Om, Some(1)),
        (b"a 1 \n# EOF\n", Om, Some(1)),
        (b"a{b=\"c\", d=\"e\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{ b=\"c\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b = \"c\"} 1\n# EOF\n", Om, Some(1)),
        (b"a {b=\"c\"} 1\n# EOF\n", Om, Some(1)),
        (b"a{b=\"c\"}1\n# EOF\n", Om, Some(1)),
        (b"a{b=\"c\",} 1\n# EOF\n", Om, None),
        (b"a 1 #  {b=\"c\"} 1\n# EOF\n", Om, Some(1)),
        (b"a 1 # {b=\"c\"}  1\n# EOF\n", Om, Some(1)),
        (b"a 1 # {b=\"c\"} 1 2 3\n# EOF\n", Om, Some(1)),
        (b"a 1 # {\"name\"} 1\n# EOF\n", Om, Some(1)),
        (b"a 1 # {b=\"c\"} 1 2 # {d=\"e\"} 3\n# EOF\n", Om, Some(1)),
        (b"# HELP  a x\n# EOF\n", Om, Some(1)),
        (b"# HELP a\tx\n# EOF\n", Om, Some(1)),
        (b"#HELP a x\n# EOF\n", Om, Some(1)),
        (b"# comment\n# EOF\n", Om, Some(1)),
        (b"# EOF \n", Om, Some(1)),
        (b"a 1\r\n# EOF\n", Om, Some(1)),
        (b"a 1\n# TYPE a gauge", Om, Some(2)),
        // Help text keeps its blanks; only the one separating space goes.
        (b"# HELP a  two spaces \n# EOF\n", Om, None),
        // Units: after an underscore, shorter than the name.
        (b"# UNIT a_bytes bytes\n# EOF\n", Om, None),
        (b"# UNIT abytes bytes\n# EOF\n", Om, Some(1)),
        (b"# UNIT bytes bytes\n# EOF\n", Om, Some(1)),
        (b"# UNIT \"a.b_bytes\" bytes\n# EOF\n", Om, None),
        // Quoted names may span lines in OpenMetrics too; label values may not.
        (b"{\"a\nb\"} 1\n# EOF\n", Om, None),
        (b"a{\"b\nc\"=\"d\"} 1\n# EOF\n", Om, None),
        (b"a{b=\"c\nd\"} 1\n# EOF\n", Om, Some(1)),
        (b"a 1 # {\"b\nc\"=\"d\"} 1\n# EOF\n", Om, Some(1)),
        // Two metric names.
        (b"a{\"b\"} 1\n# EOF\n", Om, Some(1)),
        (b"{\"a\",\"b\"} 1\n# EOF\n", Om, Some(1)),
        // Invalid UTF-8 in a label value.
        (b"a 1\na{b=\"\xc3\x28\"} 1\n# EOF\n", Om, Some(2)),
    ]);
    let body = b"# HELP a  two spaces \n# EOF\n";
    assert!(
        matches!(&parse(body, Om).unwrap()[0], Entry::Help { text, .. } if text == " two spaces ")
    );
}

/// The text format's lexer is lenient where OpenMetrics is strict.
#[test]
fn text_format_lexical_rules() {
    check(&[
        // No newline at the end; blank, indented and whitespace-only lines.
        (b"a 1", Text, None),
        (b"# HELP a x", Text, None),
        (b"\n\n  \t\n a 1 \n\n", Text, None),
        (b"", Text, None),
        // Blanks anywhere between tokens, also between name and braces.
        (b"a {b=\"c\"} 1\n", Text, None),
        (b"a{ b = \"c\" , d=\"e\" , } 1 \t 2\n", Text, None),
        (b"a\t1\n", Text, None),
        // No comma needed between labels; one at most.
        (b"a{b=\"c\" d=\"e\"} 1\n", Text, None),
        (b"a{b=\"c\",,d=\"e\"} 1\n", Text, Some(1)),
        (b"a{,} 1\n", Text, Some(1)),
        // The value may follow the label set (or a name's last character) directly.
        (b"a{b=\"c\"}1\n", Text, None),
        (b"a-1\n", Text, None),
        // A quoted metric name anywhere in the braces, but only once.
        (b"{a=\"b\", \"name\"} 1\n", Text, None),
        (b"a{\"name\"} 1\n", Text, Some(1)),
        // Label values and quoted names may span lines; a backslash may not end one.
        (b"a{b=\"c\nd\"} 1\nb 2\n", Text, None),
        (b"# HELP \"a\nb\" x\n", Text, None),
        (b"a{b=\"c\\\nd\"} 1\n", Text, Some(1)),
        // Timestamps: unsigned integer milliseconds within i64.
        (b"a 1 -1\n", Text, Some(1)),
        (b"a 1 +1\n", Text, Some(1)),
        (b"a 1 1.5\n", Text, Some(1)),
        (b"a 1 1e3\n", Text, Some(1)),
        (b"a 1 9223372036854775807\n", Text, None),
        (b"a 1 9223372036854775808\n", Text, Some(1)),
        // Comments: anything, invalid UTF-8 included; HELP/TYPE need a blank after.
        (
            b"#\n#x\n# comment \xff\xfe\n#HELP a\n# HELP\n# TYPE\n# UNIT a s\na 1\n",
            Text,
            None,
        ),
        (b"# HELP \n", Text, Some(1)),
        // The byte after the name goes, whatever it is: what is left must be UTF-8.
        (b"# HELP a\xff\n", Text, None),
        ("# HELP aé\n".as_bytes(), Text, Some(1)),
        (b"#comment\x00{{{\n\xff\n", Text, None),
        (b"# comment\x00\n{{{\n", Text, Some(2)),
        (b"# TYPE a counter \n", Text, Some(1)),
        (b"# TYPE a  counter\n", Text, Some(1)),
        (b"# TYPE a\tcounter\n", Text, None),
        (b"# TYPE a unknown\n", Text, Some(1)),
        (b"# TYPE a gaugehistogram\n", Text, Some(1)),
        (b"# EOF\na 1\n", Text, None),
        // No exemplars, no carriage returns.
        (b"a 1 # {b=\"c\"} 1\n", Text, Some(1)),
        (b"a 1\r\n", Text, Some(1)),
        // A NUL byte where a line starts ends the input, as upstream's lexer has it.
        (b"a 1\n\x00garbage \xff{\n", Text, None),
        (b"a 1\n# \x00garbage\n{{{\n", Text, None),
        // Invalid UTF-8 where it is used.
        (b"a 1\nb{c=\"\xff\"} 1\n", Text, Some(2)),
        (b"a 1\n\xff 1\n", Text, Some(2)),
    ]);
    // What the lenient spellings mean.
    let s = samples(b"a{ b = \"c\" , d=\"e\" , } 1 \t 2\n", Text);
    assert_eq!(labels(&s[0]), [("b", "c"), ("d", "e")]);
    assert_eq!((s[0].value, s[0].timestamp_ms), (1.0, Some(2)));
    let s = samples(b"a-1\n", Text);
    assert_eq!((s[0].name.as_ref(), s[0].value), ("a", -1.0));
    let s = samples(b"{a=\"b\", \"name\"} 1\n", Text);
    assert_eq!(
        (s[0].name.as_ref(), labels(&s[0])),
        ("name", vec![("a", "b")])
    );
    let s = samples(b"a{b=\"c\nd\"} 1\nb 2\n", Text);
    assert_eq!(labels(&s[0]), [("b", "c\nd")]);
    assert_eq!(samples(b"a 1\n\x00b 2\n", Text).len(), 1);
    let entries = parse(b"# TYPE a\tcounter\n# HELP a  two \\\"spaces\\\" \n", Text).unwrap();
    assert!(matches!(
        &entries[0],
        Entry::Type {
            kind: MetricType::Counter,
            ..
        }
    ));
    assert!(matches!(&entries[1], Entry::Help { text, .. } if text == " two \\\"spaces\\\" "));
    // Errors after a multi-line label value point at the right line.
    let e = parse(b"a{b=\"c\nd\"} x\n", Text).unwrap_err();
    assert_eq!((e.line, e.column), (2, 5), "{e}");
}

/// Sample values, exemplar values and OpenMetrics timestamps: Go's `ParseFloat` less
/// hexadecimal and underscores.
#[test]
fn values_and_timestamps() {
    for (value, expected) in [
        ("1", 1.0),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("+Inf", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("Infinity", f64::INFINITY),
        ("1e-400", 0.0),
    ] {
        for (body, format) in [
            (format!("a {value}\n"), Text),
            (format!("a {value}\n# EOF\n"), Om),
            (format!("a_total 1 # {{}} {value}\n# EOF\n"), Om),
        ] {
            let s = samples(body.as_bytes(), format);
            let got = s[0].exemplar.as_ref().map_or(s[0].value, |e| e.value);
            assert_eq!(got, expected, "{body:?}");
        }
    }
    for value in ["nan", "NaN", "NAN"] {
        assert!(samples(format!("a {value}\n").as_bytes(), Text)[0]
            .value
            .is_nan());
    }
    for value in [
        "+NaN", "-nan", "0x10", "0x1p3", "1_0", "1e400", "-1e400", "1e", "one",
    ] {
        for (body, format) in [
            (format!("a {value}\n"), Text),
            (format!("a {value}\n# EOF\n"), Om),
            (format!("a 1 {value}\n# EOF\n"), Om),
            (format!("a 1 # {{}} {value}\n# EOF\n"), Om),
        ] {
            check(&[(body.as_bytes(), format, Some(1))]);
        }
    }
    // OpenMetrics timestamps are seconds, truncated (not rounded) to milliseconds.
    let s = samples(b"a 1 1.9999\nb 1 -1.5\nc 1 1e3 # {} 1 0.0015\n# EOF\n", Om);
    assert_eq!(s[0].timestamp_ms, Some(1999));
    assert_eq!(s[1].timestamp_ms, Some(-1500));
    assert_eq!(s[2].timestamp_ms, Some(1_000_000));
    assert_eq!(s[2].exemplar.as_ref().unwrap().timestamp_ms, Some(1));
}
