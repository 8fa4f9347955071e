//! `pmtool check metrics`, as Prometheus 3.14's `promtool check metrics`: read a metrics
//! exposition in the Prometheus text format from standard input, lint it with the rules of
//! client_golang's `promlint` (1.24) and optionally print its cardinality per metric family.
//!
//! promtool reads the input with client_golang's `expfmt.TextParser`, which builds metric
//! families and is stricter than the scrape parser: `# HELP` and `# TYPE` come at most
//! once per family and `# TYPE` before its samples, label names appear once per sample,
//! `le` and `quantile` must be numbers in histograms and summaries, every line ends with a
//! newline, and so on. The lines are read here by our own [`exposition::Parser`]; what
//! `expfmt` refuses beyond it is checked on top ([`FamilyReader`]), with `expfmt`'s words.
//!
//! Output, as promtool's: each lint problem on stderr as `<metric> <text>`, sorted by
//! metric then text; with `--extended` the cardinality table on stdout. Exit code 3 when
//! there are lint problems, 1 when the input does not parse, 0 otherwise.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::ExitCode;

use exposition::MetricType;

mod expfmt;
mod promlint;

use expfmt::{read_families, NameScheme};
use promlint::lint_families;

/// promtool's `lintErrExitCode`.
const LINT_ERROR_EXIT: u8 = 3;

/// `promtool check metrics [--extended] [--lint=all|none]`.
pub fn run(extended: bool, lint: &str) -> ExitCode {
    let linting = lint != "none";
    if !extended && !linting {
        eprintln!("error: at least one of --extended or linting must be enabled");
        eprintln!(
            "Use --extended for cardinality analysis, or remove --lint=none to enable linting"
        );
        return ExitCode::FAILURE;
    }
    let mut input = Vec::new();
    let read = std::io::stdin().lock().read_to_end(&mut input);
    // promlint decodes with the legacy name rules (its text format carries no
    // `escaping=allow-utf-8`); the cardinality pass parses with UTF-8 names allowed. What
    // passes the former passes the latter, so one reading serves both.
    let scheme = if linting {
        NameScheme::Legacy
    } else {
        NameScheme::Utf8
    };
    let families = read
        .map_err(|e| format!("read /dev/stdin: {e}"))
        .and_then(|_| read_families(&input, scheme));
    let families = match families {
        Ok(families) => families,
        Err(e) if linting => {
            eprintln!("error while linting: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error while parsing text to metric families: {e}");
            return ExitCode::FAILURE;
        }
    };

    let problems = if linting {
        lint_families(&families)
    } else {
        Vec::new()
    };
    let mut stderr = std::io::stderr().lock();
    for p in &problems {
        let _ = writeln!(stderr, "{} {}", p.metric, p.text);
    }
    if extended {
        let _ = std::io::stdout().write_all(cardinality_table(&families).as_bytes());
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(LINT_ERROR_EXIT)
    }
}

// ---- Metric families, as expfmt's TextParser builds them ---------------------------------

/// A family's type, as `dto.MetricType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
    GaugeHistogram,
}

impl Kind {
    fn from_exposition(t: MetricType) -> Kind {
        match t {
            MetricType::Counter => Kind::Counter,
            MetricType::Gauge => Kind::Gauge,
            MetricType::Histogram => Kind::Histogram,
            MetricType::GaugeHistogram => Kind::GaugeHistogram,
            MetricType::Summary => Kind::Summary,
            // Info and stateset are OpenMetrics words; the text format has neither.
            MetricType::Unknown | MetricType::Info | MetricType::StateSet => Kind::Untyped,
        }
    }

    /// `strings.ToLower(dto.MetricType.String())`.
    fn lower_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
            Kind::Histogram => "histogram",
            Kind::GaugeHistogram => "gauge_histogram",
        }
    }

    /// Histograms and gauge histograms gather `_bucket`, `_sum` and `_count` lines.
    fn is_histogram_like(self) -> bool {
        matches!(self, Kind::Histogram | Kind::GaugeHistogram)
    }
}

/// One `dto.Metric`: its labels as written (without a summary's `quantile` or a
/// histogram's `le`), and how many quantiles or buckets it gathered.
#[derive(Debug)]
struct Metric {
    labels: Vec<(String, String)>,
    buckets: usize,
    quantiles: usize,
}

/// One `dto.MetricFamily`.
#[derive(Debug)]
struct Family {
    name: String,
    has_help: bool,
    kind: Option<Kind>,
    metrics: Vec<Metric>,
    /// Summaries and histograms: the metric of each label set (sorted), as expfmt's
    /// label signature finds it.
    by_labels: HashMap<Vec<(String, String)>, usize>,
}

impl Family {
    fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::Untyped)
    }
}

/// The series of a family: one per metric, times the buckets or quantiles of its first
/// metric plus `_sum` and `_count` for histograms and summaries.
fn cardinality(family: &Family) -> usize {
    let n = family.metrics.len();
    match family.kind() {
        Kind::Histogram => n * (2 + family.metrics.first().map_or(0, |m| m.buckets)),
        Kind::Summary => n * (2 + family.metrics.first().map_or(0, |m| m.quantiles)),
        _ => n,
    }
}

/// promtool's table, as Go's `tabwriter` (minimum width 4, padding 4, blanks) lays it out:
/// families by cardinality, highest first (promtool leaves ties in Go's map order; here
/// they go by name), then the total.
fn cardinality_table(families: &[Family]) -> String {
    let mut stats: Vec<(&str, usize)> = families
        .iter()
        .map(|f| (f.name.as_str(), cardinality(f)))
        .collect();
    stats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let total: usize = stats.iter().map(|(_, c)| c).sum();
    let mut rows = vec![[
        "Metric".to_string(),
        "Cardinality".to_string(),
        "Percentage".to_string(),
    ]];
    for (name, count) in &stats {
        let percentage = *count as f64 / total as f64;
        rows.push([
            name.to_string(),
            count.to_string(),
            format!("{:.2}%", percentage * 100.0),
        ]);
    }
    rows.push(["Total".to_string(), total.to_string(), "100%".to_string()]);
    tabwriter(&rows)
}

/// Go's `tabwriter.NewWriter(w, 4, 4, 4, ' ', tabwriter.TabIndent)` on rows of cells that
/// each end with a tab: every column as wide as its widest cell (in characters) plus 4,
/// at least 4.
fn tabwriter(rows: &[[String; 3]]) -> String {
    const MIN_WIDTH: usize = 4;
    const PADDING: usize = 4;
    let mut widths = [MIN_WIDTH; 3];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count() + PADDING);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (width, cell) in widths.iter().zip(row) {
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        out.push('\n');
    }
    out
}
