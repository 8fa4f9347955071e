//! Exemplars: a labelled value (typically a trace id) attached to a sample of a series,
//! with Prometheus's ordering and equality.

use crate::Labels;

/// The most characters (Unicode scalar values) an exemplar's label names and values may
/// have together, as the OpenMetrics specification and Prometheus limit them.
pub const MAX_LABEL_SET_CHARS: usize = 128;

/// One exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    /// Milliseconds since the epoch; the scrape's time when the exposition gave none.
    pub timestamp_ms: i64,
    /// Whether the timestamp came with the exemplar (an exemplar scraped again without one
    /// is the same exemplar, not a new one).
    pub has_timestamp: bool,
}

impl Exemplar {
    /// Prometheus's `Exemplar.Equals`: same labels and value, and the same timestamp when
    /// either has one of its own.
    pub fn same_as(&self, other: &Exemplar) -> bool {
        if self.labels != other.labels {
            return false;
        }
        if (self.has_timestamp || other.has_timestamp) && self.timestamp_ms != other.timestamp_ms {
            return false;
        }
        self.value == other.value
    }

    /// The characters of the label set (names and values), to check against
    /// [`MAX_LABEL_SET_CHARS`].
    pub fn label_chars(&self) -> usize {
        self.labels
            .iter()
            .map(|l| l.name.chars().count() + l.value.chars().count())
            .sum()
    }
}

/// Prometheus's `exemplar.Compare`: by time, then value, then labels.
pub fn compare(a: &Exemplar, b: &Exemplar) -> std::cmp::Ordering {
    a.timestamp_ms
        .cmp(&b.timestamp_ms)
        .then(
            a.value
                .partial_cmp(&b.value)
                .unwrap_or(std::cmp::Ordering::Equal),
        )
        .then_with(|| a.labels.cmp(&b.labels))
}
