//! Histogram chunks with start timestamps (our encodings 0x82 and 0x83, as 0x81 is for
//! floats): a histogram chunk of Prometheus's encoding 2 or 3, then one start timestamp
//! per sample. Layout: `uvarint` length of the histogram chunk, its bytes unchanged, then
//! per sample the zigzag `varint` of its start timestamp minus the previous sample's (the
//! first minus 0; a start timestamp of 0 is "none"). Start timestamps barely change along
//! a cumulative series, so most take one byte.

use crate::varint::{put_uvarint, put_varint, read_uvarint, read_varint};

/// Histogram chunk bytes followed by `starts` (one per sample of the chunk).
pub(crate) fn join(histogram: &[u8], starts: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(histogram.len() + starts.len() * 2 + 4);
    put_uvarint(&mut out, histogram.len() as u64);
    out.extend_from_slice(histogram);
    let mut prev = 0i64;
    for &st in starts {
        put_varint(&mut out, st.wrapping_sub(prev));
        prev = st;
    }
    out
}

/// The histogram chunk bytes and the start timestamps of [`join`]'s output; `None` when
/// the bytes are cut short.
pub(crate) fn split(bytes: &[u8]) -> Option<(&[u8], Vec<i64>)> {
    let mut pos = 0;
    let len = usize::try_from(read_uvarint(bytes, &mut pos)?).ok()?;
    let (histogram, tail) = bytes[pos..].split_at_checked(len)?;
    if len < 2 {
        return None;
    }
    let mut at = 0;
    let count = u16::from_be_bytes([histogram[0], histogram[1]]) as usize;
    let mut starts = Vec::with_capacity(count);
    let mut prev = 0i64;
    for _ in 0..count {
        prev = prev.wrapping_add(read_varint(tail, &mut at)?);
        starts.push(prev);
    }
    Some((histogram, starts))
}

/// The histogram chunk inside [`join`]'s output (for its sample count and header).
pub(crate) fn histogram_part(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    let len = usize::try_from(read_uvarint(bytes, &mut pos)?).ok()?;
    bytes.get(pos..)?.get(..len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_round_trip_after_the_histogram_bytes() {
        // A fake chunk with a sample count of 3 in its header.
        let chunk = [0u8, 3, 0x40, 9, 9, 9];
        let starts = [1_700_000_000_000, 0, 1_700_000_060_000];
        let joined = join(&chunk, &starts);
        let (h, st) = split(&joined).unwrap();
        assert_eq!(h, &chunk);
        assert_eq!(st, starts);
        assert_eq!(histogram_part(&joined).unwrap(), &chunk);
        // Cut short: none.
        assert!(split(&joined[..joined.len() - 1]).is_none());
        assert!(split(&[]).is_none());
    }
}
