//! Query results and annotations.

use model::histogram::FloatHistogram;
use model::Labels;

use crate::ast::PosRange;

/// One series of a range result (or of an instant query's range-vector result).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// `(timestamp ms, value)`, ascending.
    pub points: Vec<(i64, f64)>,
    /// `(timestamp ms, native histogram)`, ascending.
    pub histograms: Vec<(i64, FloatHistogram)>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    /// The value, when the sample is a float (`h` is `None`).
    pub v: f64,
    /// The value, when the sample is a native histogram.
    pub h: Option<FloatHistogram>,
}

/// A query's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, s: String },
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Value {
    /// The API's `resultType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Whether an annotation is a warning or an info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationKind {
    Warning,
    Info,
}

/// A warning or info about a query, with the position of the expression it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub kind: AnnotationKind,
    /// The text without prefix and position, e.g. `metric might not be a counter, ...`.
    pub msg: String,
    pub pos: PosRange,
    /// Said by storage, not by PromQL (e.g. a damaged block is missing from the result):
    /// about no expression, so shown as is, without prefix or position, as Prometheus
    /// shows storage warnings.
    pub from_storage: bool,
}

impl Annotation {
    /// `PromQL warning: <msg>` / `PromQL info: <msg>`; a storage warning's bare text.
    pub fn text(&self) -> String {
        if self.from_storage {
            return self.msg.clone();
        }
        let prefix = match self.kind {
            AnnotationKind::Warning => "PromQL warning: ",
            AnnotationKind::Info => "PromQL info: ",
        };
        format!("{prefix}{}", self.msg)
    }

    /// The text with the ` (line:col)` position suffix, as the HTTP API reports it.
    pub fn text_with_position(&self, query: &str) -> String {
        if self.from_storage {
            return self.text();
        }
        format!("{} ({})", self.text(), self.pos.start_line_col(query))
    }
}

/// Counters of one query's work.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    /// Samples read from storage.
    pub samples_loaded: u64,
    /// The largest number of samples held by one step of the evaluation.
    pub peak_samples: u64,
}

/// A finished query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    pub annotations: Vec<Annotation>,
    pub stats: QueryStats,
}
