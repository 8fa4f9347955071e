//! Chunk encodings: how a run of one series' samples is compressed, in Prometheus's
//! formats (`tsdb-chunks-format.md`), so that blocks and head chunks are read and written
//! byte for byte as Prometheus does.
//!
//! - `bits`: bit streams and the shared number and value codes;
//! - `xor`: float samples (encoding 1, plus our start-timestamp variant);
//! - `histogram`: integer and float histograms (encodings 2 and 3, and our 0x82 and 0x83
//!   with start timestamps);
//! - `packed`: floats as bit-packed scaled integers (our 0x84), in persisted blocks only;
//! - `buf`: decoded samples as queries take them;
//! - `slice`: re-encoding histograms, and the part of a chunk inside a time range.

mod bits;
mod buf;
pub mod histogram;
pub mod packed;
pub(crate) mod slice;
mod xor;

pub use buf::{float_sample_count, Newest, SampleBuf};
pub use xor::{has_starts, sample_count, XorChunk, XorIter, SAMPLES_PER_CHUNK};

/// A chunk's encoding: the byte before its data in a block's chunk segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Floats (Prometheus's 1).
    Xor,
    /// Floats with start timestamps (our 0x81; see `xor`).
    XorWithStarts,
    /// Integer histograms (Prometheus's 2).
    Histogram,
    /// Float histograms (Prometheus's 3).
    FloatHistogram,
    /// Integer histograms with start timestamps (our 0x82; see `histogram::starts`).
    HistogramWithStarts,
    /// Float histograms with start timestamps (our 0x83).
    FloatHistogramWithStarts,
    /// Floats as bit-packed scaled integers (our 0x84; see `packed`). Block writers turn
    /// runs of plain XOR chunks into these when that is smaller.
    Packed,
}

impl Encoding {
    pub fn byte(self) -> u8 {
        match self {
            Self::Xor => 1,
            Self::XorWithStarts => 0x81,
            Self::Histogram => 2,
            Self::FloatHistogram => 3,
            Self::HistogramWithStarts => 0x82,
            Self::FloatHistogramWithStarts => 0x83,
            Self::Packed => 0x84,
        }
    }

    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Xor),
            0x81 => Some(Self::XorWithStarts),
            2 => Some(Self::Histogram),
            3 => Some(Self::FloatHistogram),
            0x82 => Some(Self::HistogramWithStarts),
            0x83 => Some(Self::FloatHistogramWithStarts),
            0x84 => Some(Self::Packed),
            _ => None,
        }
    }

    /// The encoding of float chunk bytes (with or without start timestamps).
    pub fn of_float_chunk(bytes: &[u8]) -> Self {
        if has_starts(bytes) {
            Self::XorWithStarts
        } else {
            Self::Xor
        }
    }

    /// The number of samples in chunk bytes of this encoding (0 if too short to say).
    pub fn sample_count(self, bytes: &[u8]) -> u16 {
        let bytes = if self.has_histogram_starts() {
            histogram::starts::histogram_part(bytes).unwrap_or(&[])
        } else {
            bytes
        };
        match (self, bytes) {
            (Self::Xor | Self::XorWithStarts, _) => sample_count(bytes),
            (Self::Packed, _) => packed::sample_count(bytes),
            (_, [a, b, ..]) => u16::from_be_bytes([*a, *b]),
            _ => 0,
        }
    }

    pub fn is_histogram(self) -> bool {
        matches!(
            self,
            Self::Histogram
                | Self::FloatHistogram
                | Self::HistogramWithStarts
                | Self::FloatHistogramWithStarts
        )
    }

    /// A histogram encoding that also holds start timestamps.
    pub fn has_histogram_starts(self) -> bool {
        matches!(
            self,
            Self::HistogramWithStarts | Self::FloatHistogramWithStarts
        )
    }

    /// Splits chunk bytes of a histogram encoding into the plain histogram encoding, its
    /// bytes, and the start timestamps (empty for a plain one); `None` when cut short.
    pub fn split_starts(self, bytes: &[u8]) -> Option<(Encoding, &[u8], Vec<i64>)> {
        match self {
            Self::HistogramWithStarts => {
                let (h, st) = histogram::starts::split(bytes)?;
                Some((Self::Histogram, h, st))
            }
            Self::FloatHistogramWithStarts => {
                let (h, st) = histogram::starts::split(bytes)?;
                Some((Self::FloatHistogram, h, st))
            }
            other => Some((other, bytes, Vec::new())),
        }
    }

    /// Whether chunks of this encoding hold float samples.
    pub fn is_float(self) -> bool {
        matches!(self, Self::Xor | Self::XorWithStarts | Self::Packed)
    }

    /// The encoding holding start timestamps too, for a histogram encoding.
    pub fn with_starts(self) -> Self {
        match self {
            Self::Histogram => Self::HistogramWithStarts,
            Self::FloatHistogram => Self::FloatHistogramWithStarts,
            other => other,
        }
    }
}

/// The samples of a float chunk of any float encoding, as (time, value, start timestamp
/// (0: none)); `None` for a histogram encoding or bytes that do not decode.
pub(crate) fn decode_floats(encoding: Encoding, bytes: &[u8]) -> Option<Vec<(i64, f64, i64)>> {
    match encoding {
        Encoding::Xor | Encoding::XorWithStarts => {
            let mut iter = XorIter::from_bytes(bytes)?;
            let mut out = Vec::with_capacity(iter.remaining());
            while let Some(sample) = iter.next_st() {
                out.push(sample);
            }
            Some(out)
        }
        Encoding::Packed => {
            let mut out = Vec::new();
            packed::decode_into(bytes, &mut out)?;
            Some(out.into_iter().map(|(t, v)| (t, v, 0)).collect())
        }
        _ => None,
    }
}
