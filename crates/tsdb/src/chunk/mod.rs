//! Chunk encodings: how a run of one series' samples is compressed, in Prometheus's
//! formats (`tsdb-chunks-format.md`), so that blocks and head chunks are read and written
//! byte for byte as Prometheus does.
//!
//! - `bits`: bit streams and the shared number and value codes;
//! - `xor`: float samples (encoding 1, plus our start-timestamp variant);
//! - `histogram`: integer and float histograms (encodings 2 and 3);
//! - `buf`: decoded float samples as queries take them.

mod bits;
mod buf;
pub mod histogram;
mod xor;

pub use buf::SampleBuf;
pub use xor::{has_starts, sample_count, XorChunk, XorIter, SAMPLES_PER_CHUNK};
