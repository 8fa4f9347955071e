//! Parsing of the Prometheus exposition formats a scrape returns: the text format 0.0.4,
//! its UTF-8 successor 1.0.0 (quoted names inside braces), and OpenMetrics 1.0 text.
//!
//! The parser borrows from the input: names, label values and help texts are
//! `Cow::Borrowed` unless they contain escapes. Every error carries the line and column
//! where the input stopped making sense, for a target's `lastError`.
//!
//! Both grammars accept exactly what Prometheus's own parsers (`model/textparse`) accept.
//! The text format is lenient (blanks between any tokens, optional commas between labels,
//! no final newline needed, unsigned integer millisecond timestamps). OpenMetrics is
//! lexically strict (single spaces, `# EOF`) but, like Prometheus, checks no family
//! structure: metadata may repeat or interleave and sample names need no type suffix, so
//! `# TYPE foo_total counter` with `foo_total` samples parses. Metadata entries come out
//! as written; a caller keeping metadata per name takes them as they come.
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

mod label_pairs;
mod parser;
mod protobuf;
mod value;

pub use label_pairs::LabelPairs;
pub use parser::{Entry, Exemplar, Parser, Sample};
pub use protobuf::{
    classic_buckets, decode_protobuf, decode_protobuf_with_prost_only, encode_histogram_family,
    encode_untyped_family, protobuf_to_text, DecodedProtobuf, HistogramFamilySample,
    NativeHistogramSample, ProtobufOptions, UntypedSample, MAX_MESSAGE_BYTES,
};
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

    /// Whether a `Content-Type` is the delimited protobuf exposition
    /// (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
    /// encoding=delimited`), which [`protobuf_to_text`] turns into the text format.
    pub fn is_protobuf(content_type: &str) -> bool {
        let mut parts = content_type
            .split(';')
            .map(|p| p.trim().to_ascii_lowercase());
        if parts.next().as_deref() != Some("application/vnd.google.protobuf") {
            return false;
        }
        let params: Vec<String> = parts.collect();
        params
            .iter()
            .any(|p| p == "proto=io.prometheus.client.metricfamily")
            && params.iter().any(|p| p == "encoding=delimited")
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

    /// The type a `# TYPE` line names: exactly one of the format's words, nothing around it.
    fn parse(word: &[u8], format: Format) -> Option<MetricType> {
        Some(match (word, format) {
            (b"counter", _) => MetricType::Counter,
            (b"gauge", _) => MetricType::Gauge,
            (b"histogram", _) => MetricType::Histogram,
            (b"summary", _) => MetricType::Summary,
            (b"untyped", Format::PrometheusText) => MetricType::Unknown,
            (b"unknown", Format::OpenMetrics) => MetricType::Unknown,
            (b"gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            (b"info", Format::OpenMetrics) => MetricType::Info,
            (b"stateset", Format::OpenMetrics) => MetricType::StateSet,
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
