//! The data model shared by scraping, storage and queries: label sets, samples and native
//! histograms.

pub mod exemplar;
pub mod float;
pub mod histogram;
mod labels;
pub mod time;

pub use exemplar::Exemplar;
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};

/// One value of one series at one time (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub timestamp_ms: i64,
    pub value: f64,
}

/// The NaN bit pattern Prometheus writes as a staleness marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether a value is the staleness marker (not merely any NaN).
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// The staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

mod matcher;
pub use matcher::{MatchOp, Matcher};
