//! Bit streams, and the number and value codes Prometheus's chunk encodings share:
//! varints, the "varbit" prefix codes of histogram chunks, and Gorilla's XOR value code.

/// Bits written most significant first, appended to a byte vector, exactly as Go's
/// `bstream` lays them out (chunk bytes must be Prometheus's, byte for byte): a write of a
/// whole number of bytes that starts on a byte boundary leaves an empty byte after them
/// (Go's `writeByte` appends the next byte as it fills one), which the next write fills,
/// and which stays, zero, at the end of a chunk that ends there.
#[derive(Debug, Clone, Default)]
pub(super) struct BitWriter {
    pub(super) bytes: Vec<u8>,
    /// Bits still free in the last byte: 0 means the next bit starts a new byte, 8 that
    /// the last byte is the empty one Go's `writeByte` leaves.
    free: u8,
    /// Grows by half of what is there (histogram chunks: a kilobyte each, a few
    /// thousand open at once) rather than by a quarter (float chunks: a hundred bytes or
    /// so, up to millions open).
    large: bool,
}

impl BitWriter {
    /// A writer for a large stream (a histogram chunk): `capacity` bytes to begin with,
    /// grown by half.
    pub(super) fn large(capacity: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(capacity),
            free: 0,
            large: true,
        }
    }

    #[inline]
    pub(super) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the low `count` bits of `value`, most significant first.
    #[inline]
    pub(super) fn write_bits(&mut self, value: u64, count: u8) {
        // A bucket's few bits often fit the last byte with room to spare: no byte is
        // completed, so Go's empty byte cannot follow.
        if count == 0 {
            return;
        }
        if count < self.free {
            if let Some(last) = self.bytes.last_mut() {
                // count < free <= 8: at most 7 bits.
                let bits = (value & ((1u64 << count) - 1)) as u8;
                *last |= bits << (self.free - count);
                self.free -= count;
                return;
            }
        }
        if (1..=56).contains(&count) && self.write_word(value, count) {
            return;
        }
        self.write_bits_spanning(value, count);
    }

    /// Writes 1 to 56 bits as one big-endian word stored where the last byte begins (its
    /// used bits, then the new ones), when the buffer has room for the word; false (and
    /// nothing written) when it has not. A histogram chunk's writer makes the room; a
    /// float chunk's is not grown early for it (see `reserve`).
    #[inline]
    fn write_word(&mut self, value: u64, count: u8) -> bool {
        let len = self.bytes.len();
        // The byte the next bit goes to: the last one while it has free bits (all 8 in
        // Go's empty byte), else a new one.
        let (start, used) = match self.free {
            0 => (len, 0),
            free => (len.saturating_sub(1), 8 - free),
        };
        if self.bytes.capacity() < start + 8 {
            if !self.large {
                return false;
            }
            self.reserve(8);
        }
        let end_bit = u32::from(used) + u32::from(count);
        let mut word = value & ((1u64 << count) - 1);
        // used + count <= 63: the shift is at least 1.
        word <<= 64 - end_bit;
        if used > 0 {
            word |= u64::from(self.bytes[start]) << 56;
        }
        let mut new_len = start + end_bit.div_ceil(8) as usize;
        self.free = match end_bit % 8 {
            0 => 0,
            rem => 8 - rem as u8,
        };
        // Go's `writeByte` leaves an empty byte after whole bytes written from a
        // byte boundary (the word's next byte, zero).
        if used == 0 && count.is_multiple_of(8) {
            new_len += 1;
            self.free = 8;
        }
        self.bytes.truncate(start);
        // Within capacity: one 8-byte store, then cut to the bytes written.
        self.bytes.extend_from_slice(&word.to_be_bytes());
        self.bytes.truncate(new_len);
        true
    }

    /// [`BitWriter::write_bits`] for bits that fill the last byte or go past it.
    fn write_bits_spanning(&mut self, value: u64, count: u8) {
        let mut n = count.min(64);
        if n == 0 {
            return;
        }
        // Go writes whole bytes with `writeByte` and the rest bit by bit: whole bytes from a
        // byte boundary end with an empty byte after them.
        let empty_byte_after = n.is_multiple_of(8) && (self.free == 0 || self.free == 8);
        let mut v = if n == 64 {
            value
        } else {
            value & ((1u64 << n) - 1)
        };
        if self.free > 0 {
            let take = n.min(self.free);
            if let Some(last) = self.bytes.last_mut() {
                *last |= ((v >> (n - take)) as u8) << (self.free - take);
            }
            self.free -= take;
            n -= take;
            if n > 0 {
                v &= (1u64 << n) - 1;
            }
        }
        if n > 0 {
            let whole = usize::from(n / 8);
            let partial = n % 8;
            let total = whole + usize::from(partial > 0);
            self.reserve(total + 1);
            let aligned = (v << (64 - u32::from(n))).to_be_bytes();
            let len = self.bytes.len();
            if self.bytes.capacity() - len >= aligned.len() {
                // A fixed-size copy is one store; one of `total` bytes a call to memcpy.
                self.bytes.extend_from_slice(&aligned);
                self.bytes.truncate(len + total);
            } else {
                self.bytes.extend_from_slice(&aligned[..total]);
            }
            self.free = if partial > 0 { 8 - partial } else { 0 };
        }
        if empty_byte_after {
            self.reserve(1);
            self.bytes.push(0);
            self.free = 8;
        }
    }

    /// Room for `more` bytes, grown by small steps, not doubling: a head holds one open
    /// chunk per series (a million of them), and doubling would leave a third of that
    /// memory unused. A quarter of what is there bounds the copies of a kilobyte
    /// histogram chunk.
    fn reserve(&mut self, more: usize) {
        if self.bytes.len() + more > self.bytes.capacity() {
            let step = if self.large {
                (self.bytes.len() / 2).max(64)
            } else if self.bytes.is_empty() {
                48
            } else {
                (self.bytes.len() / 4).max(32)
            };
            self.bytes.reserve_exact(step.max(more));
        }
    }

    pub(super) fn write_byte(&mut self, byte: u8) {
        self.write_bits(u64::from(byte), 8);
    }
}

/// Reads bits most significant first. Up to 64 upcoming bits sit left-aligned in `buf`,
/// refilled from the bytes a word at a time, so a read is a shift, not a loop per bit.
pub(super) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Next byte of `bytes` not yet in `buf`.
    pos: usize,
    buf: u64,
    /// Valid bits in `buf`.
    valid: u32,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            buf: 0,
            valid: 0,
        }
    }

    /// Tops `buf` up to at least 57 bits when the bytes allow.
    #[inline]
    fn refill(&mut self) {
        if let Some(word) = self
            .bytes
            .get(self.pos..)
            .and_then(|r| r.first_chunk::<8>())
        {
            let word = u64::from_be_bytes(*word);
            let take = (64 - self.valid) / 8;
            if take > 0 {
                // `take` whole bytes fit below the valid bits.
                let bits = take * 8;
                let incoming = if bits == 64 {
                    word
                } else {
                    word >> (64 - bits)
                };
                self.buf |= incoming << (64 - self.valid - bits);
                self.valid += bits;
                self.pos += take as usize;
            }
        } else {
            while self.valid <= 56 {
                let Some(&b) = self.bytes.get(self.pos) else {
                    break;
                };
                self.buf |= u64::from(b) << (56 - self.valid);
                self.valid += 8;
                self.pos += 1;
            }
        }
    }

    #[inline]
    pub(super) fn read_bit(&mut self) -> Option<bool> {
        if self.valid == 0 {
            self.refill();
            if self.valid == 0 {
                return None;
            }
        }
        let bit = self.buf >> 63 == 1;
        self.buf <<= 1;
        self.valid -= 1;
        Some(bit)
    }

    /// `count` bits (at most 64), most significant first.
    #[inline]
    pub(super) fn read_bits(&mut self, count: u8) -> Option<u64> {
        let n = u32::from(count);
        if n == 0 {
            return Some(0);
        }
        if n > 64 {
            return None;
        }
        if self.valid < n {
            self.refill();
        }
        if self.valid >= n {
            let v = self.buf >> (64 - n);
            self.buf = if n == 64 { 0 } else { self.buf << n };
            self.valid -= n;
            return Some(v);
        }
        // More than the buffer holds after a refill (a 64-bit read not byte aligned):
        // take what is there, then the rest.
        let first = self.valid;
        if first == 0 {
            return None;
        }
        let high = self.buf >> (64 - first);
        self.buf = 0;
        self.valid = 0;
        let low = self.read_bits((n - first) as u8)?;
        Some((high << (n - first)) | low)
    }

    pub(super) fn read_uvarint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.read_bits(8)? as u8;
            value |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    pub(super) fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

pub(super) fn write_uvarint(w: &mut BitWriter, mut v: u64) {
    while v >= 0x80 {
        w.write_byte((v as u8) | 0x80);
        v >>= 7;
    }
    w.write_byte(v as u8);
}

pub(super) fn write_varint(w: &mut BitWriter, v: i64) {
    write_uvarint(w, ((v << 1) ^ (v >> 63)) as u64);
}

/// Whether `v` fits the `bits`-bit two's-complement field of Prometheus's codes (whose
/// range is shifted by one: -(2^(bits-1))+1 ..= 2^(bits-1)).
pub(super) fn fits(v: i64, bits: u8) -> bool {
    let min = -(1i64 << (bits - 1)) + 1;
    let max = 1i64 << (bits - 1);
    v >= min && v <= max
}

pub(super) fn sign_extend(v: u64, bits: u8) -> i64 {
    // Matches Prometheus: values above 2^(bits-1) are negative.
    if v > (1u64 << (bits - 1)) {
        (v as i64) - (1i64 << bits)
    } else {
        v as i64
    }
}

/// The payload widths of the varbit codes, by prefix length: prefix `0` is the value 0,
/// `10` + 3 bits, `110` + 6, … `11111110` + 56, `11111111` + 64.
const VARBIT_WIDTHS: [u8; 8] = [3, 6, 9, 12, 18, 25, 56, 64];

/// Writes a signed integer in the varbit code of histogram chunks (upstream's
/// `putVarbitInt`): small values, the usual deltas of deltas, take few bits.
pub(super) fn write_varbit_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &width) in VARBIT_WIDTHS.iter().enumerate() {
        if width == 64 || fits(v, width) {
            // `i + 1` ones then a zero, except the last code's 8 ones.
            let ones = i as u8 + 1;
            let prefix = if ones == 8 {
                0xff
            } else {
                (1u64 << (ones + 1)) - 2
            };
            write_prefixed(w, prefix, ones.min(7) + 1, v as u64, width);
            return;
        }
    }
}

/// A varbit prefix and its value, in one write when they fit 64 bits together.
#[inline]
fn write_prefixed(w: &mut BitWriter, prefix: u64, prefix_bits: u8, value: u64, width: u8) {
    if u32::from(prefix_bits) + u32::from(width) <= 64 {
        let value = if width == 64 {
            value
        } else {
            value & ((1u64 << width) - 1)
        };
        w.write_bits((prefix << width) | value, prefix_bits + width);
    } else {
        w.write_bits(prefix, prefix_bits);
        w.write_bits(value, width);
    }
}

/// Writes an unsigned integer in the varbit code (upstream's `putVarbitUint`).
pub(super) fn write_varbit_uint(w: &mut BitWriter, v: u64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    let needed = 64 - v.leading_zeros() as u8;
    for (i, &width) in VARBIT_WIDTHS.iter().enumerate() {
        if needed <= width {
            let ones = i as u8 + 1;
            let prefix = if ones == 8 {
                0xff
            } else {
                (1u64 << (ones + 1)) - 2
            };
            write_prefixed(w, prefix, ones.min(7) + 1, v, width);
            return;
        }
    }
}

impl BitReader<'_> {
    /// The payload width announced by a varbit prefix (0 for the value 0).
    fn read_varbit_width(&mut self) -> Option<u8> {
        let mut ones = 0usize;
        while ones < 8 && self.read_bit()? {
            ones += 1;
        }
        Some(if ones == 0 {
            0
        } else {
            VARBIT_WIDTHS[ones - 1]
        })
    }

    /// Reads an integer written by [`write_varbit_int`].
    pub(super) fn read_varbit_int(&mut self) -> Option<i64> {
        match self.read_varbit_width()? {
            0 => Some(0),
            64 => Some(self.read_bits(64)? as i64),
            width => Some(sign_extend(self.read_bits(width)?, width)),
        }
    }

    /// Reads an integer written by [`write_varbit_uint`].
    pub(super) fn read_varbit_uint(&mut self) -> Option<u64> {
        match self.read_varbit_width()? {
            0 => Some(0),
            width => self.read_bits(width),
        }
    }

    /// Reads a value written by [`write_xor`] over the previous value `prev` (bits).
    #[inline]
    pub(super) fn read_xor(
        &mut self,
        prev: u64,
        leading: &mut u8,
        trailing: &mut u8,
    ) -> Option<u64> {
        if !self.read_bit()? {
            return Some(prev);
        }
        if self.read_bit()? {
            *leading = self.read_bits(5)? as u8;
            let mut significant = self.read_bits(6)? as u8;
            if significant == 0 {
                significant = 64;
            }
            *trailing = 64u8.checked_sub(leading.checked_add(significant)?)?;
        }
        let significant = 64u8.checked_sub(leading.checked_add(*trailing)?)?;
        let bits = self.read_bits(significant)?;
        Some(prev ^ bits.checked_shl(u32::from(*trailing)).unwrap_or(0))
    }
}

/// Gorilla's value code: `0` for the same value; else `1`, then `0` and the XOR's
/// meaningful bits inside the previous leading/trailing-zero window when they fit it, or
/// `1`, 5 bits of leading zeros (at most 31), 6 bits of length (64 written as 0) and the
/// bits. `leading` is 0xff before the first window.
#[inline]
pub(super) fn write_xor(
    w: &mut BitWriter,
    bits: u64,
    prev: u64,
    leading: &mut u8,
    trailing: &mut u8,
) {
    let xor = bits ^ prev;
    if xor == 0 {
        w.write_bit(false);
        return;
    }
    w.write_bit(true);
    let new_leading = (xor.leading_zeros() as u8).min(31);
    let new_trailing = xor.trailing_zeros() as u8;
    if *leading != 0xff && new_leading >= *leading && new_trailing >= *trailing {
        w.write_bit(false);
        w.write_bits(xor >> *trailing, 64 - *leading - *trailing);
        return;
    }
    *leading = new_leading;
    *trailing = new_trailing;
    w.write_bit(true);
    w.write_bits(u64::from(new_leading), 5);
    let significant = 64 - new_leading - new_trailing;
    w.write_bits(u64::from(significant & 63), 6);
    w.write_bits(xor >> new_trailing, significant);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `bstream`: `writeByte` on a byte boundary leaves an empty byte after the one
    /// it fills; bits written one by one do not.
    #[test]
    fn whole_bytes_on_a_boundary_leave_an_empty_byte_as_go_does() {
        let mut w = BitWriter::default();
        w.write_byte(0xab);
        assert_eq!(w.bytes, [0xab, 0]);
        w.write_bits(0b101, 3);
        assert_eq!(w.bytes, [0xab, 0b1010_0000]);
        // Off a boundary: no empty byte.
        w.write_byte(0xff);
        assert_eq!(w.bytes, [0xab, 0b1011_1111, 0b1110_0000]);
        // Bits that end on a boundary: none either.
        w.write_bits(0b11111, 5);
        assert_eq!(w.bytes, [0xab, 0b1011_1111, 0xff]);
        w.write_bits(0x1234, 16);
        assert_eq!(w.bytes, [0xab, 0b1011_1111, 0xff, 0x12, 0x34, 0]);
    }

    /// Go's `bstream`, transcribed as its writes work, as the reference for every path of
    /// [`BitWriter::write_bits`].
    #[derive(Default)]
    struct GoBstream {
        stream: Vec<u8>,
        count: u8,
    }

    impl GoBstream {
        fn write_bit(&mut self, bit: bool) {
            if self.count == 0 {
                self.stream.push(0);
                self.count = 8;
            }
            let i = self.stream.len() - 1;
            if bit {
                self.stream[i] |= 1 << (self.count - 1);
            }
            self.count -= 1;
        }

        fn write_byte(&mut self, byte: u8) {
            if self.count == 0 {
                self.stream.push(0);
                self.count = 8;
            }
            let i = self.stream.len() - 1;
            self.stream[i] |= byte.checked_shr(u32::from(8 - self.count)).unwrap_or(0);
            self.stream
                .push(byte.checked_shl(u32::from(self.count)).unwrap_or(0));
        }

        fn write_bits(&mut self, value: u64, mut count: u8) {
            let mut u = value.checked_shl(64 - u32::from(count)).unwrap_or(0);
            while count >= 8 {
                self.write_byte((u >> 56) as u8);
                u <<= 8;
                count -= 8;
            }
            while count > 0 {
                self.write_bit(u >> 63 == 1);
                u <<= 1;
                count -= 1;
            }
        }
    }

    #[test]
    fn every_write_lays_out_bytes_as_go_bstream_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..200 {
            let mut ours = if round % 2 == 0 {
                BitWriter::default()
            } else {
                BitWriter::large(16)
            };
            let mut go = GoBstream::default();
            for _ in 0..300 {
                // Mostly short writes, as bucket codes are, with whole bytes and words.
                let count = match next() % 8 {
                    0 => 8,
                    1 => 64,
                    2 => 16,
                    _ => (next() % 65) as u8,
                };
                let value = next();
                ours.write_bits(value, count);
                go.write_bits(value, count);
                assert_eq!(ours.bytes, go.stream, "after writing {count} bits");
            }
        }
    }
}
