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
///
/// Each sample comes with its start timestamp (0: none); a chunk where any sample has one
/// is written with them (encodings 0x82 and 0x83).
pub fn encode_histograms(
    samples: impl IntoIterator<Item = (i64, HistogramValue, i64)>,
) -> Vec<Encoded> {
    let mut starts: Vec<(i64, i64)> = Vec::new();
    let plain = samples.into_iter().map(|(t, h, st)| {
        starts.push((t, st));
        (t, h)
    });
    let mut chunks = encode_plain_histograms(plain);
    if starts.iter().all(|(_, st)| *st == 0) {
        return chunks;
    }
    // Samples are in time order, one per timestamp: a chunk's are those between its
    // first and last.
    for (first, last, encoding, bytes) in &mut chunks {
        let lo = starts.partition_point(|(t, _)| t < first);
        let hi = starts.partition_point(|(t, _)| t <= last);
        let mine: Vec<i64> = starts[lo..hi].iter().map(|(_, st)| *st).collect();
        if mine.iter().any(|&st| st != 0) {
            *bytes = super::histogram::starts::join(bytes, &mine);
            *encoding = encoding.with_starts();
        }
    }
    chunks
}

fn encode_plain_histograms(
    samples: impl IntoIterator<Item = (i64, HistogramValue)>,
) -> Vec<Encoded> {
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
        Encoding::Packed => {
            // Sliced chunks go back into the head or a new block: as XOR, which the block
            // writer packs again.
            let mut chunk = XorChunk::new();
            let (mut first, mut last) = (i64::MAX, i64::MIN);
            for (t, v, _) in super::decode_floats(encoding, bytes).unwrap_or_default() {
                if inside(t) {
                    first = first.min(t);
                    last = t;
                    chunk.append(t, v);
                }
            }
            if chunk.is_empty() {
                return Vec::new();
            }
            vec![(first, last, Encoding::Xor, chunk.bytes())]
        }
        histogram => {
            let Some((plain, bytes, starts)) = histogram.split_starts(bytes) else {
                return Vec::new();
            };
            let st = |i: usize| starts.get(i).copied().unwrap_or(0);
            if plain == Encoding::Histogram {
                encode_histograms(
                    HistogramIter::from_bytes(bytes)
                        .into_iter()
                        .flatten()
                        .enumerate()
                        .filter(|(_, (t, _))| inside(*t))
                        .map(|(i, (t, h))| (t, HistogramValue::Int(h), st(i))),
                )
            } else {
                encode_histograms(
                    FloatHistogramIter::from_bytes(bytes)
                        .into_iter()
                        .flatten()
                        .enumerate()
                        .filter(|(_, (t, _))| inside(*t))
                        .map(|(i, (t, h))| (t, HistogramValue::Float(h), st(i))),
                )
            }
        }
    }
}
