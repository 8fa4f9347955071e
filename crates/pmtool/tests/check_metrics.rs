//! `pmtool check metrics` through the binary: every promlint rule (cases from client_golang's
//! promlint tests), expfmt's refusals, `--extended` and `--lint=none`, and the same inputs
//! through Debian's promtool 2.42 where 2.42 and 3.14 agree.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `binary check metrics ARGS` with `input` on stdin.
fn run(binary: &str, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(binary)
        .args(["check", "metrics"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {binary}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    // A run that needs no input (a usage error) may exit before reading it: the broken
    // pipe is then expected, and what the tool answered is still what is checked.
    match stdin.write_all(input.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.expect("write stdin"),
    }
    drop(stdin);
    child.wait_with_output().expect("wait")
}

fn pmtool(args: &[&str], input: &str) -> Output {
    run(env!("CARGO_BIN_EXE_pmtool"), args, input)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One input and what promtool 3.14 answers: stderr and exit code.
struct Case {
    name: &'static str,
    input: &'static str,
    stderr: &'static str,
    code: i32,
    /// Why Debian's promtool 2.42 (client_golang 1.14, common 0.39) answers otherwise, if it
    /// does; such cases are left out of the comparison with it.
    differs_in_2_42: Option<&'static str>,
}

const fn case(name: &'static str, input: &'static str, stderr: &'static str, code: i32) -> Case {
    Case {
        name,
        input,
        stderr,
        code,
        differs_in_2_42: None,
    }
}

const fn differs(mut case: Case, why: &'static str) -> Case {
    case.differs_in_2_42 = Some(why);
    case
}

const TSDB_HISTOGRAM_WITH_QUANTILE: &str = r#"
# HELP tsdb_compaction_duration Duration of compaction runs.
# TYPE tsdb_compaction_duration histogram
tsdb_compaction_duration_bucket{le="0.005",quantile="0.01"} 0
tsdb_compaction_duration_bucket{le="0.01",quantile="0.01"} 0
tsdb_compaction_duration_bucket{le="0.025",quantile="0.01"} 0
tsdb_compaction_duration_bucket{le="0.05",quantile="0.01"} 0
tsdb_compaction_duration_bucket{le="0.1",quantile="0.01"} 0
tsdb_compaction_duration_bucket{le="0.25",quantile="0.01"} 0
tsdb_compaction_duration_bucket{le="0.5",quantile="0.01"} 57
tsdb_compaction_duration_bucket{le="1",quantile="0.01"} 68
tsdb_compaction_duration_bucket{le="2.5",quantile="0.01"} 69
tsdb_compaction_duration_bucket{le="5",quantile="0.01"} 69
tsdb_compaction_duration_bucket{le="10",quantile="0.01"} 69
tsdb_compaction_duration_bucket{le="+Inf",quantile="0.01"} 69
tsdb_compaction_duration_sum 28.740810936000006
tsdb_compaction_duration_count 69
"#;

const TSDB_HISTOGRAM_OK: &str = r#"
# HELP tsdb_compaction_duration Duration of compaction runs.
# TYPE tsdb_compaction_duration histogram
tsdb_compaction_duration_bucket{le="0.005"} 0
tsdb_compaction_duration_bucket{le="0.01"} 0
tsdb_compaction_duration_bucket{le="0.025"} 0
tsdb_compaction_duration_bucket{le="0.05"} 0
tsdb_compaction_duration_bucket{le="0.1"} 0
tsdb_compaction_duration_bucket{le="0.25"} 0
tsdb_compaction_duration_bucket{le="0.5"} 57
tsdb_compaction_duration_bucket{le="1"} 68
tsdb_compaction_duration_bucket{le="2.5"} 69
tsdb_compaction_duration_bucket{le="5"} 69
tsdb_compaction_duration_bucket{le="10"} 69
tsdb_compaction_duration_bucket{le="+Inf"} 69
tsdb_compaction_duration_sum 28.740810936000006
tsdb_compaction_duration_count 69
"#;

const GC_SUMMARY_WITH_LE: &str = r#"
# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0",le="0.01"} 4.2365e-05
go_gc_duration_seconds{quantile="0.25",le="0.01"} 8.1492e-05
go_gc_duration_seconds{quantile="0.5",le="0.01"} 0.000100656
go_gc_duration_seconds{quantile="0.75",le="0.01"} 0.000113913
go_gc_duration_seconds{quantile="1",le="0.01"} 0.021754305
go_gc_duration_seconds_sum 1.769429004
go_gc_duration_seconds_count 5962
"#;

const GC_SUMMARY_OK: &str = r#"
# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.2365e-05
go_gc_duration_seconds{quantile="0.25"} 8.1492e-05
go_gc_duration_seconds{quantile="0.5"} 0.000100656
go_gc_duration_seconds{quantile="0.75"} 0.000113913
go_gc_duration_seconds{quantile="1"} 0.021754305
go_gc_duration_seconds_sum 1.769429004
go_gc_duration_seconds_count 5962
"#;

/// Every base unit of promlint's table (and `moles`, which it does not know).
const BASE_UNITS: &str = "
# HELP x_amperes Test metric.
# TYPE x_amperes untyped
x_amperes 10
# HELP x_bytes Test metric.
# TYPE x_bytes untyped
x_bytes 10
# HELP x_grams Test metric.
# TYPE x_grams untyped
x_grams 10
# HELP x_celsius Test metric.
# TYPE x_celsius untyped
x_celsius 10
# HELP x_meters Test metric.
# TYPE x_meters untyped
x_meters 10
# HELP x_metres Test metric.
# TYPE x_metres untyped
x_metres 10
# HELP x_moles Test metric.
# TYPE x_moles untyped
x_moles 10
# HELP x_seconds Test metric.
# TYPE x_seconds untyped
x_seconds 10
# HELP x_joules Test metric.
# TYPE x_joules untyped
x_joules 10
# HELP x_kelvin Test metric.
# TYPE x_kelvin untyped
x_kelvin 10
";

/// promlint's bad units, one family each (in no particular order: the output is sorted).
const OTHER_UNITS: &str = "
# HELP x_milliamperes Test metric.
x_milliamperes 10
# HELP x_gigabytes Test metric.
x_gigabytes 10
# HELP x_kilograms Test metric.
x_kilograms 10
# HELP x_nanocelsius Test metric.
x_nanocelsius 10
# HELP x_kilometers Test metric.
x_kilometers 10
# HELP x_picometers Test metric.
x_picometers 10
# HELP x_microseconds Test metric.
x_microseconds 10
# HELP x_minutes Test metric.
x_minutes 10
# HELP x_hours Test metric.
x_hours 10
# HELP x_days Test metric.
x_days 10
# HELP x_kelvins Test metric.
x_kelvins 10
# HELP thermometers_fahrenheit Test metric.
thermometers_fahrenheit 10
# HELP thermometers_rankine Test metric.
thermometers_rankine 10
# HELP x_inches Test metric.
x_inches 10
# HELP x_yards Test metric.
x_yards 10
# HELP x_miles Test metric.
x_miles 10
# HELP x_bits Test metric.
x_bits 10
# HELP x_calories Test metric.
x_calories 10
# HELP x_pounds Test metric.
x_pounds 10
# HELP x_ounces Test metric.
x_ounces 10
";

const OTHER_UNITS_PROBLEMS: &str = r#"thermometers_fahrenheit use base unit "celsius" instead of "fahrenheit"
thermometers_rankine use base unit "celsius" instead of "rankine"
x_bits use base unit "bytes" instead of "bits"
x_calories use base unit "joules" instead of "calories"
x_days use base unit "seconds" instead of "days"
x_gigabytes use base unit "bytes" instead of "gigabytes"
x_hours use base unit "seconds" instead of "hours"
x_inches use base unit "meters" instead of "inches"
x_kelvins use base unit "kelvin" instead of "kelvins"
x_kilograms use base unit "grams" instead of "kilograms"
x_kilometers use base unit "meters" instead of "kilometers"
x_microseconds use base unit "seconds" instead of "microseconds"
x_miles use base unit "meters" instead of "miles"
x_milliamperes use base unit "amperes" instead of "milliamperes"
x_minutes use base unit "seconds" instead of "minutes"
x_nanocelsius use base unit "celsius" instead of "nanocelsius"
x_ounces use base unit "grams" instead of "ounces"
x_picometers use base unit "meters" instead of "picometers"
x_pounds use base unit "grams" instead of "pounds"
x_yards use base unit "meters" instead of "yards"
"#;

/// promlint's abbreviated units, one gauge each.
const ABBREVIATIONS: &str = "
# HELP instance_memory_limit_b Test metric.
# TYPE instance_memory_limit_b gauge
instance_memory_limit_b 10
# HELP instance_memory_limit_kb Test metric.
# TYPE instance_memory_limit_kb gauge
instance_memory_limit_kb 10
# HELP instance_memory_limit_mb Test metric.
# TYPE instance_memory_limit_mb gauge
instance_memory_limit_mb 10
# HELP instance_memory_limit_MB Test metric.
# TYPE instance_memory_limit_MB gauge
instance_memory_limit_MB 10
# HELP instance_memory_limit_gb Test metric.
# TYPE instance_memory_limit_gb gauge
instance_memory_limit_gb 10
# HELP instance_memory_limit_tb Test metric.
# TYPE instance_memory_limit_tb gauge
instance_memory_limit_tb 10
# HELP instance_memory_limit_pb Test metric.
# TYPE instance_memory_limit_pb gauge
instance_memory_limit_pb 10
# HELP request_duration_s Test metric.
# TYPE request_duration_s gauge
request_duration_s 10
# HELP request_duration_ms Test metric.
# TYPE request_duration_ms gauge
request_duration_ms 10
# HELP request_duration_us Test metric.
# TYPE request_duration_us gauge
request_duration_us 10
# HELP request_duration_ns Test metric.
# TYPE request_duration_ns gauge
request_duration_ns 10
# HELP request_duration_sec Test metric.
# TYPE request_duration_sec gauge
request_duration_sec 10
# HELP request_sec_duration Test metric.
# TYPE request_sec_duration gauge
request_sec_duration 10
# HELP request_duration_m Test metric.
# TYPE request_duration_m gauge
request_duration_m 10
# HELP request_duration_h Test metric.
# TYPE request_duration_h gauge
request_duration_h 10
# HELP request_duration_d Test metric.
# TYPE request_duration_d gauge
request_duration_d 10
";

const ABBREVIATIONS_PROBLEMS: &str =
    "instance_memory_limit_MB metric names should not contain abbreviated units
instance_memory_limit_b metric names should not contain abbreviated units
instance_memory_limit_gb metric names should not contain abbreviated units
instance_memory_limit_kb metric names should not contain abbreviated units
instance_memory_limit_mb metric names should not contain abbreviated units
instance_memory_limit_pb metric names should not contain abbreviated units
instance_memory_limit_tb metric names should not contain abbreviated units
request_duration_d metric names should not contain abbreviated units
request_duration_h metric names should not contain abbreviated units
request_duration_m metric names should not contain abbreviated units
request_duration_ms metric names should not contain abbreviated units
request_duration_ns metric names should not contain abbreviated units
request_duration_s metric names should not contain abbreviated units
request_duration_sec metric names should not contain abbreviated units
request_duration_us metric names should not contain abbreviated units
request_sec_duration metric names should not contain abbreviated units
";

const CASES: &[Case] = &[
    // ---- LintHelp
    case(
        "no help",
        "\n# TYPE go_goroutines gauge\ngo_goroutines 24\n",
        "go_goroutines no help text\n",
        3,
    ),
    case(
        "empty help",
        "\n# HELP go_goroutines\n# TYPE go_goroutines gauge\ngo_goroutines 24\n",
        "go_goroutines no help text\n",
        3,
    ),
    case(
        "help of blanks only",
        "# HELP go_goroutines \t \ngo_goroutines 24\n",
        "go_goroutines no help text\n",
        3,
    ),
    case(
        "no help and empty help",
        "\n# HELP go_goroutines\n# TYPE go_goroutines gauge\ngo_goroutines 24\n# TYPE go_threads gauge\ngo_threads 10\n",
        "go_goroutines no help text\ngo_threads no help text\n",
        3,
    ),
    case(
        "help OK",
        "\n# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 24\n",
        "",
        0,
    ),
    case(
        "metadata without samples is no family",
        "# HELP lonely_total Nothing follows.\n# TYPE lonely_total counter\n# TYPE other gauge\n",
        "",
        0,
    ),
    // ---- LintMetricUnits
    case("base units", BASE_UNITS, "", 0),
    case("other units", OTHER_UNITS, OTHER_UNITS_PROBLEMS, 3),
    differs(
        case(
            "the first unit of the name counts",
            "# HELP x_milliseconds_hours Test metric.\nx_milliseconds_hours 1\n",
            "x_milliseconds_hours use base unit \"seconds\" instead of \"milliseconds\"\n",
            3,
        ),
        "client_golang 1.14 takes whichever unit its map iteration meets first",
    ),
    // ---- LintCounter
    case(
        "counter without _total suffix",
        "\n# HELP x_bytes Test metric.\n# TYPE x_bytes counter\nx_bytes 10\n",
        "x_bytes counter metrics should have \"_total\" suffix\n",
        3,
    ),
    case(
        "gauge with _total suffix",
        "\n# HELP x_bytes_total Test metric.\n# TYPE x_bytes_total gauge\nx_bytes_total 10\n",
        "x_bytes_total non-counter metrics should not have \"_total\" suffix\n",
        3,
    ),
    case(
        "counter with _total suffix",
        "\n# HELP x_bytes_total Test metric.\n# TYPE x_bytes_total counter\nx_bytes_total 10\n",
        "",
        0,
    ),
    case(
        "gauge without _total suffix",
        "\n# HELP x_bytes Test metric.\n# TYPE x_bytes gauge\nx_bytes 10\n",
        "",
        0,
    ),
    case(
        "untyped with _total suffix",
        "\n# HELP x_bytes_total Test metric.\n# TYPE x_bytes_total untyped\nx_bytes_total 10\n",
        "",
        0,
    ),
    case(
        "untyped without _total suffix",
        "\n# HELP x_bytes Test metric.\n# TYPE x_bytes untyped\nx_bytes 10\n",
        "",
        0,
    ),
    // ---- LintHistogramSummaryReserved
    case(
        "gauge with _bucket suffix",
        "\n# HELP x_bytes_bucket Test metric.\n# TYPE x_bytes_bucket gauge\nx_bytes_bucket 10\n",
        "x_bytes_bucket non-histogram metrics should not have \"_bucket\" suffix\n",
        3,
    ),
    case(
        "gauge with _count suffix",
        "\n# HELP x_bytes_count Test metric.\n# TYPE x_bytes_count gauge\nx_bytes_count 10\n",
        "x_bytes_count non-histogram and non-summary metrics should not have \"_count\" suffix\n",
        3,
    ),
    case(
        "gauge with _sum suffix",
        "\n# HELP x_bytes_sum Test metric.\n# TYPE x_bytes_sum gauge\nx_bytes_sum 10\n",
        "x_bytes_sum non-histogram and non-summary metrics should not have \"_sum\" suffix\n",
        3,
    ),
    case(
        "untyped _bucket, _count and _sum are fine",
        "# HELP x_bucket Test.\nx_bucket 1\n# HELP x_count Test.\nx_count 1\n# HELP x_sum Test.\nx_sum 1\n",
        "",
        0,
    ),
    case(
        "gauge with le label",
        "\n# HELP x_bytes Test metric.\n# TYPE x_bytes gauge\nx_bytes{le=\"1\"} 10\n",
        "x_bytes non-histogram metrics should not have \"le\" label\n",
        3,
    ),
    case(
        "gauge with quantile label",
        "\n# HELP x_bytes Test metric.\n# TYPE x_bytes gauge\nx_bytes{quantile=\"1\"} 10\n",
        "x_bytes non-summary metrics should not have \"quantile\" label\n",
        3,
    ),
    case(
        "one problem per metric with the label",
        "# HELP x_bytes Test metric.\n# TYPE x_bytes gauge\nx_bytes{le=\"1\"} 10\nx_bytes{le=\"2\"} 10\n",
        "x_bytes non-histogram metrics should not have \"le\" label\nx_bytes non-histogram metrics should not have \"le\" label\n",
        3,
    ),
    case(
        "histogram with quantile label",
        TSDB_HISTOGRAM_WITH_QUANTILE,
        "tsdb_compaction_duration non-summary metrics should not have \"quantile\" label\n",
        3,
    ),
    case(
        "summary with le label",
        GC_SUMMARY_WITH_LE,
        "go_gc_duration_seconds non-histogram metrics should not have \"le\" label\n",
        3,
    ),
    case("histogram OK", TSDB_HISTOGRAM_OK, "", 0),
    case("summary OK", GC_SUMMARY_OK, "", 0),
    // ---- LintMetricTypeInName
    case(
        "counter with _counter suffix",
        "\n# HELP http_requests_counter Test metric.\n# TYPE http_requests_counter counter\nhttp_requests_counter 10\n",
        "http_requests_counter counter metrics should have \"_total\" suffix\nhttp_requests_counter metric name should not include type 'counter'\n",
        3,
    ),
    case(
        "gauge with _gauge suffix",
        "\n# HELP instance_memory_limit_bytes_gauge Test metric.\n# TYPE instance_memory_limit_bytes_gauge gauge\ninstance_memory_limit_bytes_gauge 10\n",
        "instance_memory_limit_bytes_gauge metric name should not include type 'gauge'\n",
        3,
    ),
    case(
        "summary with _summary suffix",
        "\n# HELP request_duration_seconds_summary Test metric.\n# TYPE request_duration_seconds_summary summary\nrequest_duration_seconds_summary 10\n",
        "request_duration_seconds_summary metric name should not include type 'summary'\n",
        3,
    ),
    case(
        "histogram with _histogram suffix",
        "\n# HELP request_duration_seconds_histogram Test metric.\n# TYPE request_duration_seconds_histogram histogram\nrequest_duration_seconds_histogram 10\n",
        "request_duration_seconds_histogram metric name should not include type 'histogram'\n",
        3,
    ),
    case(
        "histogram with _HISTOGRAM suffix",
        "\n# HELP request_duration_seconds_HISTOGRAM Test metric.\n# TYPE request_duration_seconds_HISTOGRAM histogram\nrequest_duration_seconds_HISTOGRAM 10\n",
        "request_duration_seconds_HISTOGRAM metric name should not include type 'histogram'\n",
        3,
    ),
    case(
        "gauge with _gauge_ inside",
        "\n# HELP instance_memory_limit_gauge_bytes Test metric.\n# TYPE instance_memory_limit_gauge_bytes gauge\ninstance_memory_limit_gauge_bytes 10\n",
        "instance_memory_limit_gauge_bytes metric name should not include type 'gauge'\n",
        3,
    ),
    differs(
        case(
            "untyped families are not checked",
            "# HELP x_gauge Test metric.\nx_gauge 1\n",
            "",
            0,
        ),
        "client_golang 1.14 looks for every type name in every family",
    ),
    // ---- LintReservedChars
    case(
        "colons",
        "\n# HELP request_duration::_seconds Test metric.\n# TYPE request_duration::_seconds histogram\nrequest_duration::_seconds 10\n",
        "request_duration::_seconds metric names should not contain ':'\n",
        3,
    ),
    // ---- LintCamelCase
    case(
        "camelCase metric name",
        "\n# HELP requestDuration_seconds Test metric.\n# TYPE requestDuration_seconds histogram\nrequestDuration_seconds 10\n",
        "requestDuration_seconds metric names should be written in 'snake_case' not 'camelCase'\n",
        3,
    ),
    case(
        "camelCase label name",
        "\n# HELP request_duration_seconds Test metric.\n# TYPE request_duration_seconds histogram\nrequest_duration_seconds{httpService=\"foo\"} 10\n",
        "request_duration_seconds label names should be written in 'snake_case' not 'camelCase'\n",
        3,
    ),
    case(
        "one problem per camelCase label",
        "requestDuration_seconds{httpService=\"foo\",fooBar=\"1\"} 1\n",
        "requestDuration_seconds label names should be written in 'snake_case' not 'camelCase'\nrequestDuration_seconds label names should be written in 'snake_case' not 'camelCase'\nrequestDuration_seconds metric names should be written in 'snake_case' not 'camelCase'\nrequestDuration_seconds no help text\n",
        3,
    ),
    // ---- LintUnitAbbreviations
    case("abbreviated units", ABBREVIATIONS, ABBREVIATIONS_PROBLEMS, 3),
    case(
        "one problem per abbreviation",
        "# HELP request_duration_s_ms Test metric.\n# TYPE request_duration_s_ms gauge\nrequest_duration_s_ms 1\n",
        "request_duration_s_ms metric names should not contain abbreviated units\nrequest_duration_s_ms metric names should not contain abbreviated units\n",
        3,
    ),
    // ---- LintDuplicateMetric
    differs(
        case(
            "metric not unique",
            "\n# HELP not_unique_total the helptext\n# TYPE not_unique_total counter\nnot_unique_total{bar=\"abc\", spam=\"xyz\"} 1\nnot_unique_total{bar=\"abc\", spam=\"xyz\"} 2\n",
            "not_unique_total metric not unique\n",
            3,
        ),
        "client_golang 1.14 has no LintDuplicateMetric",
    ),
    differs(
        case(
            "one problem per repeated metric; label order matters",
            "# HELP a Test.\na{x=\"1\",y=\"2\"} 1\na{x=\"1\",y=\"2\"} 1\na{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\na 1\na{} 1\n",
            "a metric not unique\na metric not unique\na metric not unique\n",
            3,
        ),
        "client_golang 1.14 has no LintDuplicateMetric",
    ),
    // ---- Sorting across families and rules
    case(
        "sorted by metric, then text",
        "zeta_total 1\n# HELP alpha Test.\n# TYPE alpha counter\nalpha{le=\"1\"} 1\n",
        "alpha counter metrics should have \"_total\" suffix\nalpha non-histogram metrics should not have \"le\" label\nzeta_total no help text\n",
        3,
    ),
    case(
        "summary and histogram lines gather in their family",
        "# HELP s Test.\n# TYPE s summary\ns_sum 1\ns_count 1\n# HELP h Test.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "",
        0,
    ),
    // ---- Input expfmt refuses
    case(
        "empty input",
        "",
        "",
        0,
    ),
    case(
        "blank lines and comments",
        "\n  \n# a comment\n\t# another\n",
        "",
        0,
    ),
    case(
        "no newline at the end",
        "# HELP foo Test.\nfoo 1",
        "error while linting: text format parsing error in line 2: unexpected end of input stream\n",
        1,
    ),
    case(
        "second HELP",
        "# HELP foo x\n# HELP foo y\nfoo 1\n",
        "error while linting: text format parsing error in line 2: second HELP line for metric name \"foo\"\n",
        1,
    ),
    case(
        "TYPE after samples",
        "foo 1\n# TYPE foo gauge\n",
        "error while linting: text format parsing error in line 2: second TYPE line for metric name \"foo\", or TYPE reported after samples\n",
        1,
    ),
    case(
        "duplicate label names",
        "foo{a=\"1\",a=\"2\"} 1\n",
        "error while linting: text format parsing error in line 1: duplicate label names for metric \"foo\"\n",
        1,
    ),
    case(
        "__name__ label",
        "foo{__name__=\"x\"} 1\n",
        "error while linting: text format parsing error in line 1: label name \"__name__\" is reserved\n",
        1,
    ),
    case(
        "unknown escape in a label value",
        "# HELP foo x\nfoo{a=\"\\t\"} 1\n",
        "error while linting: text format parsing error in line 2: invalid escape sequence '\\t'\n",
        1,
    ),
    case(
        "unknown escape in a help text",
        "# HELP foo a\\tb\nfoo 1\n",
        "error while linting: text format parsing error in line 1: invalid escape sequence '\\t'\n",
        1,
    ),
    case(
        "labels without a comma",
        "foo{a=\"1\" b=\"2\"} 1\n",
        "error while linting: text format parsing error in line 1: unexpected end of label value \"1\"\n",
        1,
    ),
    case(
        "blanks after the value",
        "# HELP foo x\n# TYPE foo gauge\nfoo 1 \n",
        "error while linting: text format parsing error in line 3: expected integer as timestamp, got \"\"\n",
        1,
    ),
    case(
        "blanks after the timestamp",
        "foo 1 2 \n",
        "error while linting: text format parsing error in line 1: spurious string after timestamp: \" \"\n",
        1,
    ),
    case(
        "le not a number",
        "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
        "error while linting: text format parsing error in line 2: expected float as value for 'le' label, got \"x\"\n",
        1,
    ),
    case(
        "quantile not a number",
        "# TYPE s summary\ns{quantile=\"a\"} 1\n",
        "error while linting: text format parsing error in line 2: expected float as value for 'quantile' label, got \"a\"\n",
        1,
    ),
    case(
        "name not followed by a blank in a comment",
        "# HELP foo-bar x\n",
        "error while linting: text format parsing error in line 1: invalid metric name in comment\n",
        1,
    ),
    differs(
        case(
            "negative bucket",
            "# TYPE h histogram\nh_bucket{le=\"1\"} -1.5\n",
            "error while linting: text format parsing error in line 2: negative bucket population for histogram \"h\"\n",
            1,
        ),
        "common 0.39 takes negative buckets",
    ),
    differs(
        case(
            "negative count",
            "# TYPE h histogram\nh_count -1\n",
            "error while linting: text format parsing error in line 2: negative count for histogram \"h\"\n",
            1,
        ),
        "common 0.39 takes negative counts",
    ),
    differs(
        case(
            "UTF-8 metric name while linting",
            "{\"my.metric\",a=\"1\"} 1\n",
            "error while linting: text format parsing error in line 1: invalid metric name \"my.metric\"\n",
            1,
        ),
        "common 0.39 reads no quoted names",
    ),
    differs(
        case(
            "quoted legacy names",
            "# HELP \"foo_total\" Test.\n# TYPE foo_total counter\n{\"foo_total\",\"a\"=\"1\"} 1\n",
            "",
            0,
        ),
        "common 0.39 reads no quoted names",
    ),
];

#[test]
fn every_rule_and_refusal() {
    let mut wrong = Vec::new();
    for c in CASES {
        let out = pmtool(&[], c.input);
        let (stderr, code) = (text(&out.stderr), out.status.code());
        if stderr != c.stderr || code != Some(c.code) {
            wrong.push(format!(
                "{}: got {code:?} {stderr:?}, want {} {:?}",
                c.name, c.code, c.stderr
            ));
        }
        if !out.stdout.is_empty() {
            wrong.push(format!("{}: stdout {:?}", c.name, text(&out.stdout)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn parse_errors_of_our_parser_keep_expfmt_form() {
    // A value that is not a number: the message is our parser's, in expfmt's frame.
    let out = pmtool(&[], "foo bar\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error while linting: text format parsing error in line 1: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Every family type, no lint problem: counter 2 series, histogram 2 × (3 buckets + 2),
/// summary 1 × (2 quantiles + 2), gauge 1, untyped 3.
const CLEAN: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200"} 10
http_requests_total{code="500"} 1
# HELP request_duration_seconds Request durations.
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{handler="a",le="0.1"} 1
request_duration_seconds_bucket{handler="a",le="1"} 2
request_duration_seconds_bucket{handler="a",le="+Inf"} 3
request_duration_seconds_sum{handler="a"} 1.5
request_duration_seconds_count{handler="a"} 3
request_duration_seconds_bucket{handler="b",le="0.1"} 0
request_duration_seconds_bucket{handler="b",le="1"} 0
request_duration_seconds_bucket{handler="b",le="+Inf"} 1
request_duration_seconds_sum{handler="b"} 2
request_duration_seconds_count{handler="b"} 1
# HELP gc_duration_seconds GC pauses.
# TYPE gc_duration_seconds summary
gc_duration_seconds{quantile="0.5"} 0.001
gc_duration_seconds{quantile="0.9"} 0.002
gc_duration_seconds_sum 0.5
gc_duration_seconds_count 300
# HELP up Whether the target is up.
# TYPE up gauge
up 1
# HELP node_info Node facts.
node_info{os="linux"} 1
node_info{os="darwin"} 1
node_info{os="windows"} 1
"#;

const CLEAN_TABLE: &str = "\
Metric                      Cardinality    Percentage    
request_duration_seconds    10             50.00%        
gc_duration_seconds         4              20.00%        
node_info                   3              15.00%        
http_requests_total         2              10.00%        
up                          1              5.00%         
Total                       20             100%          
";

#[test]
fn extended_prints_the_cardinality_table() {
    let out = pmtool(&["--extended"], CLEAN);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), CLEAN_TABLE);
    assert_eq!(out.status.code(), Some(0));

    // Lint problems and the table both, exit code 3 (3.14 prints the table anyway).
    let out = pmtool(&["--extended"], "a_total 1\na_total{x=\"1\"} 1\n");
    assert_eq!(text(&out.stderr), "a_total no help text\n");
    assert_eq!(
        text(&out.stdout),
        "Metric     Cardinality    Percentage    \n\
         a_total    2              100.00%       \n\
         Total      2              100%          \n"
    );
    assert_eq!(out.status.code(), Some(3));

    // Nothing at all: the header and a zero total.
    let out = pmtool(&["--extended"], "");
    assert_eq!(
        text(&out.stdout),
        "Metric    Cardinality    Percentage    \nTotal     0              100%          \n"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn lint_none_needs_extended() {
    for args in [&["--lint=none"][..], &["--lint", "none"][..]] {
        let out = pmtool(args, CLEAN);
        assert_eq!(
            text(&out.stderr),
            "error: at least one of --extended or linting must be enabled\n\
             Use --extended for cardinality analysis, or remove --lint=none to enable linting\n"
        );
        assert_eq!(text(&out.stdout), "");
        assert_eq!(out.status.code(), Some(1));
    }
}

#[test]
fn lint_none_with_extended_only_counts() {
    // No lint problems reported, UTF-8 names allowed (the cardinality pass takes them).
    let input = "{\"my.metric\",a=\"1\"} 1\n{\"my.metric\",a=\"2\"} 1\ncamelCase 1\n";
    let out = pmtool(&["--extended", "--lint=none"], input);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        text(&out.stdout),
        "Metric       Cardinality    Percentage    \n\
         my.metric    2              66.67%        \n\
         camelCase    1              33.33%        \n\
         Total        3              100%          \n"
    );
    assert_eq!(out.status.code(), Some(0));

    let out = pmtool(&["--extended", "--lint=none"], "foo 1\nfoo 1 \n");
    assert_eq!(
        text(&out.stderr),
        "error while parsing text to metric families: text format parsing error in line 2: expected integer as timestamp, got \"\"\n"
    );
    assert_eq!(text(&out.stdout), "");
    assert_eq!(out.status.code(), Some(1));

    // Any other --lint value lints, as promtool's.
    let out = pmtool(&["--lint=whatever"], "foo 1\n");
    assert_eq!(text(&out.stderr), "foo no help text\n");
    assert_eq!(out.status.code(), Some(3));
}

/// Debian's promtool 2.42, if it is installed.
fn promtool_2_42() -> Option<&'static str> {
    const PROMTOOL: &str = "/usr/bin/promtool";
    if !Path::new(PROMTOOL).exists() {
        eprintln!("not compared with promtool: {PROMTOOL} is not installed");
        return None;
    }
    let version = Command::new(PROMTOOL).arg("--version").output().ok()?;
    let version = text(&version.stdout) + &text(&version.stderr);
    if !version.contains("version 2.42.") {
        eprintln!("not compared with promtool: {PROMTOOL} is not 2.42: {version}");
        return None;
    }
    Some(PROMTOOL)
}

/// The same inputs through promtool 2.42: same stderr and exit code, for every case where
/// 2.42 and 3.14 agree. Left out (see `differs_in_2_42` on each): duplicate metrics
/// (client_golang 1.14 has no LintDuplicateMetric), type names in untyped families (1.14
/// checks every type in every family), names with two units (1.14 picks one in map order),
/// negative histogram counts and buckets and quoted names (common 0.39 takes the former
/// and reads none of the latter). `--lint` does not exist in 2.42, and 2.42 prints no
/// `--extended` table when there are lint problems: only a clean input is compared there.
#[test]
fn same_as_promtool_2_42_where_versions_agree() {
    let Some(promtool) = promtool_2_42() else {
        return;
    };
    let mut wrong = Vec::new();
    let mut compared = 0;
    for c in CASES.iter().filter(|c| c.differs_in_2_42.is_none()) {
        let theirs = run(promtool, &[], c.input);
        let ours = pmtool(&[], c.input);
        compared += 1;
        if text(&theirs.stderr) != text(&ours.stderr) || theirs.status.code() != ours.status.code()
        {
            wrong.push(format!(
                "{}: promtool {:?} {:?}, pmtool {:?} {:?}",
                c.name,
                theirs.status.code(),
                text(&theirs.stderr),
                ours.status.code(),
                text(&ours.stderr)
            ));
        }
    }
    assert!(compared > 40, "{compared} cases compared");

    let theirs = run(promtool, &["--extended"], CLEAN);
    let ours = pmtool(&["--extended"], CLEAN);
    if (
        text(&theirs.stdout),
        text(&theirs.stderr),
        theirs.status.code(),
    ) != (text(&ours.stdout), text(&ours.stderr), ours.status.code())
    {
        wrong.push(format!(
            "--extended: promtool {:?} {:?}, pmtool {:?} {:?}",
            text(&theirs.stdout),
            theirs.status.code(),
            text(&ours.stdout),
            ours.status.code()
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
