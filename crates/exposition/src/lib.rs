//! Parsing of the Prometheus exposition formats a scrape returns: the text format 0.0.4,
//! its UTF-8 successor 1.0.0 (quoted names inside braces), and OpenMetrics 1.0 text.
//!
//! The parser borrows from the input: names, label values and help texts are
//! `Cow::Borrowed` unless they contain escapes. Every error carries the line and column
//! where the input stopped making sense, for a target's `lastError`.
//!
//! ```
//! use exposition::{Entry, Format, Parser};
//! let body = "# TYPE up gauge\nup{job=\"node\"} 1 1700000000000\n";
//! let mut samples = 0;
//! for entry in Parser::new(body.as_bytes(), Format::PrometheusText) {
//!     if let Entry::Sample(s) = entry.unwrap() {
//!         assert_eq!((s.name.as_ref(), s.value, s.timestamp_ms), ("up", 1.0, Some(1_700_000_000_000)));
//!         samples += 1;
//!     }
//! }
//! assert_eq!(samples, 1);
//! ```

mod parser;
mod value;

pub use parser::{Entry, Exemplar, Parser, Sample};
pub use value::parse_float;

use std::borrow::Cow;
use std::fmt;

/// Which grammar to parse with, chosen from the response's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4` and `version=1.0.0`.
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0` (and 0.0.1).
    OpenMetrics,
}

impl Format {
    /// The format for a `Content-Type` header value; `None` for types this crate does not
    /// parse (including protobuf and a missing or malformed header).
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let media = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "text/plain" => Some(Format::PrometheusText),
            "application/openmetrics-text" => Some(Format::OpenMetrics),
            _ => None,
        }
    }
}

/// A metric family's type, as declared by `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `untyped` (text format) or `unknown` (OpenMetrics), and families without a TYPE.
    Unknown,
}

impl MetricType {
    /// The name Prometheus's metadata API uses for this type.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    fn parse(word: &str, format: Format) -> Option<MetricType> {
        Some(match (word, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::PrometheusText) => MetricType::Unknown,
            ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }
}

/// Where and why parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes).
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A label name and value.
pub type Label<'a> = (Cow<'a, str>, Cow<'a, str>);
