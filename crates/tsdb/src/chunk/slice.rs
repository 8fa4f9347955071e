//! Re-encoding: histogram samples as chunks, and the part of a chunk inside a time range
//! as chunks of the same encoding (a head chunk that reaches past a block boundary,
//! overlapping blocks merged).

use model::histogram::HistogramValue;

use super::histogram::{
    Appended, FloatHistogramChunk, FloatHistogramIter, HistogramChunk, HistogramIter,
};
use super::{Encoding, XorChunk, XorIter};

/// An encoded chunk: first and last sample time, encoding, bytes.
pub type Encoded = (i64, i64, Encoding, Vec<u8>);

/// Histograms per chunk at most when re-encoding (as a float chunk's 120: re-encoded
/// chunks need not match the head's byte-sized ones).
const HISTOGRAMS_PER_CHUNK: u16 = 120;

/// Histogram samples (sorted by time) as chunks: integer ones in encoding 2, float ones in
/// 3, a new chunk where the kind changes, where the encoder cuts (a counter reset) and every
/// [`HISTOGRAMS_PER_CHUNK`] samples.
pub fn encode_histograms(samples: impl IntoIterator<Item = (i64, HistogramValue)>) -> Vec<Encoded> {
    enum Open {
        Int(HistogramChunk),
        Float(FloatHistogramChunk),
    }
    let mut out = Vec::new();
    let mut open: Option<(i64, i64, Open)> = None;
    let finish = |open: Option<(i64, i64, Open)>, out: &mut Vec<Encoded>| {
        if let Some((first, last, c)) = open {
            out.push(match c {
                Open::Int(c) => (first, last, Encoding::Histogram, c.bytes()),
                Open::Float(c) => (first, last, Encoding::FloatHistogram, c.bytes()),
            });
        }
    };
    for (t, h) in samples {
        let fits = match (&open, &h) {
            (Some((_, _, Open::Int(c))), HistogramValue::Int(_)) => c.len() < HISTOGRAMS_PER_CHUNK,
            (Some((_, _, Open::Float(c))), HistogramValue::Float(_)) => {
                c.len() < HISTOGRAMS_PER_CHUNK
            }
            _ => false,
        };
        if !fits {
            finish(open.take(), &mut out);
            open = Some((
                t,
                t,
                match h {
                    HistogramValue::Int(_) => Open::Int(HistogramChunk::new()),
                    HistogramValue::Float(_) => Open::Float(FloatHistogramChunk::new()),
                },
            ));
        }
        let Some((first, last, chunk)) = open.as_mut() else {
            continue;
        };
        let cut = match (chunk, &h) {
            (Open::Int(c), HistogramValue::Int(h)) => match c.append(t, h, None) {
                Appended::InPlace => None,
                Appended::Recoded(n) => {
                    *c = n;
                    None
                }
                Appended::Cut(n) => Some(Open::Int(n)),
            },
            (Open::Float(c), HistogramValue::Float(h)) => match c.append(t, h, None) {
                Appended::InPlace => None,
                Appended::Recoded(n) => {
                    *c = n;
                    None
                }
                Appended::Cut(n) => Some(Open::Float(n)),
            },
            _ => None,
        };
        match cut {
            Some(next) => {
                finish(open.take(), &mut out);
                open = Some((t, t, next));
            }
            None => {
                *last = t;
                let _ = first;
            }
        }
    }
    finish(open, &mut out);
    out
}

/// The samples of a chunk with `mint <= t < maxt`, as chunks of its encoding (none if it
/// has none there or does not decode).
pub fn chunk_range(encoding: Encoding, bytes: &[u8], mint: i64, maxt: i64) -> Vec<Encoded> {
    let inside = |t: i64| t >= mint && t < maxt;
    match encoding {
        Encoding::Xor | Encoding::XorWithStarts => {
            let mut chunk = XorChunk::like(bytes);
            let (mut first, mut last) = (i64::MAX, i64::MIN);
            if let Some(mut iter) = XorIter::from_bytes(bytes) {
                while let Some((t, v, st)) = iter.next_st() {
                    if inside(t) {
                        first = first.min(t);
                        last = t;
                        chunk.append_st(t, v, st);
                    }
                }
            }
            if chunk.is_empty() {
                return Vec::new();
            }
            let bytes = chunk.bytes();
            vec![(first, last, Encoding::of_float_chunk(&bytes), bytes)]
        }
        Encoding::Histogram => encode_histograms(
            HistogramIter::from_bytes(bytes)
                .into_iter()
                .flatten()
                .filter(|(t, _)| inside(*t))
                .map(|(t, h)| (t, HistogramValue::Int(h))),
        ),
        Encoding::FloatHistogram => encode_histograms(
            FloatHistogramIter::from_bytes(bytes)
                .into_iter()
                .flatten()
                .filter(|(t, _)| inside(*t))
                .map(|(t, h)| (t, HistogramValue::Float(h))),
        ),
    }
}
