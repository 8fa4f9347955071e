//! Variable-length integers as Go's `encoding/binary` writes them (seven bits a byte,
//! low first), and zigzag for signed ones: the WAL's records, the block index, the spill
//! files' chunk lists and our chunk encodings all use them.

/// Appends `v` as an unsigned varint.
#[inline]
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded (small magnitudes of either sign take few bytes).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// Reads an unsigned varint at `*pos` and moves past it; `None` when it is cut short or
/// longer than ten bytes.
///
/// One byte, inline: most of what replay decodes are one-byte varints (ref and time
/// deltas within a scrape's record), and the whole loop is too large to be inlined.
#[inline(always)]
pub(crate) fn read_uvarint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    match buf.get(*pos) {
        Some(&byte) if byte < 0x80 => {
            *pos += 1;
            Some(u64::from(byte))
        }
        _ => read_long_uvarint(buf, pos),
    }
}

#[inline(never)]
fn read_long_uvarint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Reads a zigzag varint at `*pos` (see [`read_uvarint`]).
#[inline]
pub(crate) fn read_varint(buf: &[u8], pos: &mut usize) -> Option<i64> {
    read_uvarint(buf, pos).map(unzigzag)
}

/// The bytes [`put_uvarint`] writes for `v`.
#[inline]
pub(crate) fn uvarint_len(v: u64) -> usize {
    ((64 - v.leading_zeros()).max(1) as usize).div_ceil(7)
}

#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(crate) fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_their_length_is_what_is_written() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(out.len(), uvarint_len(v), "{v}");
            let mut pos = 0;
            assert_eq!(read_uvarint(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
            // Cut short: none.
            assert_eq!(read_uvarint(&out[..out.len() - 1], &mut 0), None);
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(read_varint(&out, &mut 0), Some(v));
        }
        // Eleven continuation bytes are no varint.
        assert_eq!(read_uvarint(&[0xff; 11], &mut 0), None);
    }
}
